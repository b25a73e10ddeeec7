"""Spreadsheet imports in the admin and on the command line: upload, report, confirm; templates
and current records to download; the command's report and exit status."""

from __future__ import annotations

import io
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from openpyxl import load_workbook

from portfolio import models as m
from portfolio.spreadsheets.kinds import KIND_BY_NAME, KINDS
from tests import factories as f

pytestmark = pytest.mark.django_db

CASH_FLOWS = (
    b"deal,position,kind,occurred_on,amount,currency\n"
    b"acme-dod-2025,Common shares,investment,2025-07-10,400000000.00,USD\n"
)


@pytest.fixture
def position(db):
    deal = f.DealFactory(reference="acme-dod-2025")
    return f.PositionFactory(deal=deal, label="Common shares", quantity=Decimal("1000"))


def _upload(client, content: bytes, name: str = "cash-flows.csv", kind: str = ""):
    return client.post(
        reverse("admin:portfolio_importrun_upload"),
        {"file": SimpleUploadedFile(name, content), "kind": kind},
    )


def test_an_analyst_checks_a_file_reads_the_report_and_confirms_it(position, analyst, analyst_client):
    """An analyst's upload is only checked at first (nothing written, the report counts what would be
    created); confirming it imports the rows in their name and withdraws the confirm button."""
    analyst.is_staff = True
    analyst.save()
    assert analyst_client.get(reverse("admin:portfolio_importrun_upload")).status_code == HTTPStatus.OK

    response = _upload(analyst_client, CASH_FLOWS)

    run = m.ImportRun.objects.get()
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == reverse("admin:portfolio_importrun_change", args=[run.pk])
    assert run.status == "previewed"
    assert not m.CashFlow.objects.exists()
    page = analyst_client.get(response["Location"]).content.decode()
    assert "Confirm: import this file" in page
    assert "<td>1</td><td>0</td><td>0</td>" in page  # cash-flows: 1 created, 0 updated, 0 unchanged

    confirmed = analyst_client.post(reverse("admin:portfolio_importrun_confirm", args=[run.pk]))

    assert confirmed.status_code == HTTPStatus.FOUND
    run.refresh_from_db()
    assert run.status == "applied"
    assert m.CashFlow.objects.get().recorded_by == analyst
    assert "Confirm: import this file" not in analyst_client.get(confirmed["Location"]).content.decode()


def test_a_refused_file_shows_each_error_and_offers_no_confirmation(position, steward_client):
    """A file with a bad date is refused: the report names the sheet, row and column of each error, says
    nothing was written and offers no confirmation."""
    content = CASH_FLOWS.replace(b"2025-07-10", b"10/07/2025")
    response = _upload(steward_client, content)
    page = steward_client.get(response["Location"]).content.decode()
    assert "1 error: nothing was written" in page
    assert "<td>cash-flows</td><td>2</td><td>occurred_on</td>" in page
    assert "Confirm: import this file" not in page


def test_a_viewer_cannot_upload_or_confirm(position, viewer, viewer_client, steward):
    """A viewer, even with staff status, can neither open the upload page, upload a file, nor confirm a
    checked one."""
    viewer.is_staff = True
    viewer.save()
    run = f.ImportRunFactory(status="previewed", requested_by=steward, content=CASH_FLOWS)
    assert viewer_client.get(reverse("admin:portfolio_importrun_upload")).status_code == HTTPStatus.FORBIDDEN
    assert _upload(viewer_client, CASH_FLOWS).status_code == HTTPStatus.FORBIDDEN
    response = viewer_client.post(reverse("admin:portfolio_importrun_confirm", args=[run.pk]))
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert not m.CashFlow.objects.exists()


def test_confirming_needs_a_post(position, steward_client, steward):
    """Confirming an import is refused on a GET, so a link or a prefetch can never apply a file."""
    run = f.ImportRunFactory(status="previewed", requested_by=steward, content=CASH_FLOWS)
    response = steward_client.get(reverse("admin:portfolio_importrun_confirm", args=[run.pk]))
    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED


def test_templates_have_every_kind_and_its_columns(steward_client):
    """The template workbook has a README and a sheet per kind headed by its columns; each kind's CSV
    template is its header row, and an unknown kind is a 404."""
    response = steward_client.get(reverse("admin:portfolio_importrun_template"))
    assert response.status_code == HTTPStatus.OK
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    assert book.sheetnames == ["README", *[kind.name for kind in KINDS]]
    for kind in KINDS:
        assert next(book[kind.name].iter_rows(values_only=True)) == tuple(kind.columns)
    csv = steward_client.get(reverse("admin:portfolio_importrun_template_csv", args=["cash-flows"]))
    assert csv["Content-Disposition"] == 'attachment; filename="cash-flows.csv"'
    assert csv.content.decode("utf-8-sig").splitlines() == [",".join(KIND_BY_NAME["cash-flows"].columns)]
    assert steward_client.get(reverse("admin:portfolio_importrun_template_csv", args=["nope"])).status_code == 404


def test_the_current_records_download_imports_back_unchanged(position, steward, steward_client):
    """The current records downloaded and uploaded again change nothing: every row reads as unchanged."""
    response = steward_client.get(reverse("admin:portfolio_importrun_current"))
    upload = _upload(steward_client, response.content, name="lodestone-records.xlsx")
    run = m.ImportRun.objects.get(pk=upload["Location"].rstrip("/").split("/")[-2])
    assert run.status == "previewed", run.errors
    assert run.total("created") == run.total("updated") == 0
    assert run.counts["positions"] == {"unchanged": 1}


def test_the_upload_and_report_pages_hold_no_inline_script_or_style(position, steward_client):
    """The upload and report pages carry no inline script, style or handler, which the content security
    policy would block."""
    response = _upload(steward_client, CASH_FLOWS)
    for url in (reverse("admin:portfolio_importrun_upload"), response["Location"]):
        page = steward_client.get(url).content.decode()
        assert "<script>" not in page
        assert " style=" not in page
        assert " onclick=" not in page


# --- the command ---------------------------------------------------------------------------------


def test_the_command_imports_a_file_and_reports(position, steward, tmp_path, capsys):
    """import_portfolio imports a file, prints its counts per kind and the refresh it queued for the
    valuations."""
    path = tmp_path / "cash-flows.csv"
    path.write_bytes(CASH_FLOWS)
    call_command("import_portfolio", str(path), "--user", "steward")
    out = capsys.readouterr().out
    assert "cash-flows     1 created, 0 updated, 0 unchanged" in out
    assert out.rstrip().endswith("Imported. Valuations are being refreshed (refresh #"
                                 f"{m.RefreshRun.objects.get().pk}).")  # fmt: skip
    assert m.CashFlow.objects.count() == 1


def test_the_command_dry_run_writes_nothing(position, steward, tmp_path, capsys):
    """With --dry-run the command reports what it would create and writes nothing but a checked run."""
    path = tmp_path / "cash-flows.csv"
    path.write_bytes(CASH_FLOWS)
    call_command("import_portfolio", str(path), "--user", "steward", "--dry-run")
    out = capsys.readouterr().out
    assert "cash-flows     would have 1 created, 0 updated, 0 unchanged" in out  # a check creates nothing
    assert "Checked: nothing was written." in out
    assert not m.CashFlow.objects.exists()
    assert m.ImportRun.objects.get().status == "checked"


def test_the_command_exits_non_zero_on_a_refused_file(position, steward, tmp_path, capsys):
    """A refused file makes the command exit 1, naming the kind, row, column and reason on standard
    error, with nothing written."""
    path = tmp_path / "flows.csv"
    path.write_bytes(CASH_FLOWS.replace(b"400000000.00", b"lots"))
    with pytest.raises(CommandError) as excinfo:
        call_command("import_portfolio", str(path), "--user", "steward", "--kind", "cash-flows")
    assert excinfo.value.returncode == 1
    err = capsys.readouterr().err
    assert "cash-flows, row 2, column amount: 'lots' is not a number" in err
    assert not m.CashFlow.objects.exists()


def test_a_refused_report_says_what_would_have_been_done():
    """A file refused after its rows were read (a constraint broken by one row) still reports the
    rows it holds, as what the import would have done, above "nothing was written"."""
    from portfolio.management.commands.import_portfolio import report_lines

    run = m.ImportRun(
        pk=7, file_name="prices.csv", file_format="csv", rows=2, file_sha256="0" * 64, status="refused",
        counts={"prices": {"created": 1}}, errors=[], message="Refused: 1 error; nothing was written.",
    )  # fmt: skip
    assert report_lines(run)[1:] == [
        "  prices         would have 1 created, 0 updated, 0 unchanged",
        "Refused: 1 error; nothing was written.",
    ]


def test_the_command_needs_a_known_user_and_a_readable_file(position, steward, tmp_path):
    """The command refuses an unknown user and a file it cannot read, with a message saying which."""
    path = tmp_path / "cash-flows.csv"
    path.write_bytes(CASH_FLOWS)
    with pytest.raises(CommandError, match="no active user 'nobody'"):
        call_command("import_portfolio", str(path), "--user", "nobody")
    with pytest.raises(CommandError, match="cannot read"):
        call_command("import_portfolio", str(tmp_path / "missing.csv"), "--user", "steward")


def test_export_then_import_on_the_command_line_changes_nothing(position, steward, tmp_path, capsys):
    """export_portfolio's workbook, imported back with import_portfolio, leaves every record unchanged."""
    path = tmp_path / "records.xlsx"
    call_command("export_portfolio", str(path))
    assert "Wrote " in capsys.readouterr().out
    call_command("import_portfolio", str(path), "--user", "steward")
    out = capsys.readouterr().out
    assert "positions      0 created, 0 updated, 1 unchanged" in out
