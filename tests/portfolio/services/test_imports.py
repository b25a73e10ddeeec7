"""Spreadsheet imports: the round trip, all or nothing, idempotence, refused files with the row,
column and reason, CSV and XLSX alike, history under the steward, and a revaluation on commit."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from openpyxl import Workbook

from portfolio import models as m
from portfolio.services.demo_data import demo_data_load
from portfolio.services.imports import import_confirm, import_file
from portfolio.services.records import record_save
from portfolio.spreadsheets.files import csv_bytes, export_rows, xlsx_bytes
from portfolio.spreadsheets.kinds import KIND_BY_NAME, KINDS
from tests import factories as f

pytestmark = pytest.mark.django_db

HISTORY_MODELS = [kind.model for kind in KINDS if hasattr(kind.model, "history")]


def _stamps() -> dict[str, list]:
    """Each kind's rows with the time they were last written."""
    stamps = {}
    for kind in KINDS:
        written = "updated_at" if hasattr(kind.model, "updated_at") else "fetched_at"
        stamps[kind.name] = list(kind.model._default_manager.order_by("pk").values_list("pk", written))
    return stamps


def _history_rows() -> int:
    return sum(model.history.count() for model in HISTORY_MODELS)


def _run(content: bytes, name: str, user, *, dry_run: bool = False, kind: str | None = None) -> m.ImportRun:
    return import_file(content=content, file_name=name, user=user, trigger="command", dry_run=dry_run, kind=kind)


def _csv(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def _xlsx(sheets: dict[str, list[list]]) -> bytes:
    book = Workbook()
    assert book.active is not None  # a new workbook has one sheet
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _errors(run: m.ImportRun) -> list[tuple]:
    return [(e["sheet"], e["row"], e["column"], e["message"]) for e in run.errors]


@pytest.fixture
def demo(db):
    demo_data_load()


@pytest.fixture
def position(db):
    deal = f.DealFactory(reference="acme-dod-2025")
    listing = f.ListingFactory(company=deal.company, ticker="ACME", exchange="NASDAQ")
    return f.PositionFactory(deal=deal, listing=listing, label="Common shares", quantity=Decimal("1000"))


CASH_FLOWS = (
    "deal,position,kind,occurred_on,amount,currency,quantity,memo",
    "acme-dod-2025,Common shares,investment,2025-07-10,400000000.00,USD,1000,First tranche",
    "acme-dod-2025,Common shares,dividend,2026-03-31,1250000.50,USD,,=Q1 dividend",
)


# --- the round trip and idempotence --------------------------------------------------------------


def test_the_demo_data_exported_and_imported_back_changes_nothing(demo, steward):
    """Every kind of the demo set, as one workbook and as a CSV per kind: all rows unchanged, no
    history row added, no record's updated_at moved."""
    stamps = _stamps()
    history = _history_rows()
    workbook = xlsx_bytes([(kind, export_rows(kind)) for kind in KINDS])

    run = _run(workbook, "demo.xlsx", steward)

    assert run.status == "applied", run.errors
    assert run.total("created") == run.total("updated") == 0
    assert run.total("unchanged") == run.rows == 160
    assert run.counts["positions"] == {"unchanged": m.Position.objects.count()}
    for kind in KINDS:
        rows = export_rows(kind)
        if not rows:
            continue
        again = _run(csv_bytes(kind, rows), f"{kind.name}.csv", steward)
        assert again.status == "applied", again.errors
        assert again.counts[kind.name] == {"unchanged": len(rows)}
    assert _history_rows() == history
    assert _stamps() == stamps


def test_importing_the_same_file_twice_changes_nothing_the_second_time(position, steward):
    """The same file imported twice creates its rows once: the second run finds them unchanged, adds no
    history and records the same file digest."""
    first = _run(_csv(*CASH_FLOWS), "cash-flows.csv", steward)
    assert first.counts == {"cash-flows": {"created": 2}}
    history = m.CashFlow.history.count()

    second = _run(_csv(*CASH_FLOWS), "cash-flows.csv", steward)

    assert second.status == "applied"
    assert second.counts == {"cash-flows": {"unchanged": 2}}
    assert m.CashFlow.objects.count() == 2
    assert m.CashFlow.history.count() == history
    assert second.file_sha256 == first.file_sha256


def test_a_changed_row_updates_only_that_record_and_names_its_columns(position, steward):
    """A file with one amount changed updates that one record and reports its row and the column that
    changed; the other row is unchanged."""
    _run(_csv(*CASH_FLOWS), "cash-flows.csv", steward)
    changed = (*CASH_FLOWS[:2], CASH_FLOWS[2].replace("1250000.50", "1300000.00"))

    run = _run(_csv(*changed), "cash-flows.csv", steward)

    assert run.counts == {"cash-flows": {"unchanged": 1, "updated": 1}}
    [change] = run.changes
    assert (change["sheet"], change["row"], change["action"]) == ("cash-flows", 3, "updated")
    assert change["columns"] == ["amount"]
    assert m.CashFlow.objects.get(kind="dividend").amount == Decimal("1300000.00")


def test_rows_are_written_with_their_types_and_the_formula_guard_removed(position, steward):
    """Cells are stored as dates and decimals, an empty quantity as none; a memo starting with '=' is
    stored as written but exported with the apostrophe that stops a spreadsheet running it, and that
    export imports back unchanged."""
    run = _run(_csv(*CASH_FLOWS), "cash-flows.csv", steward)
    assert run.status == "applied"
    dividend = m.CashFlow.objects.get(kind="dividend")
    assert dividend.occurred_on == date(2026, 3, 31)
    assert dividend.amount == Decimal("1250000.50")
    assert dividend.quantity is None
    assert dividend.memo == "=Q1 dividend"
    exported = csv_bytes(KIND_BY_NAME["cash-flows"], export_rows(KIND_BY_NAME["cash-flows"])).decode("utf-8-sig")
    assert "'=Q1 dividend" in exported  # a spreadsheet must not run it as a formula
    assert _run(exported.encode(), "cash-flows.csv", steward).counts == {"cash-flows": {"unchanged": 2}}


# --- history and the record of the import ----------------------------------------------------------


def test_changes_are_in_the_history_under_the_steward_with_the_import(position, analyst):
    """Each imported record's history names the user and the import run and file; the run records who
    sent which file, its format, rows and digest, and keeps no copy of the file."""
    run = _run(_csv(*CASH_FLOWS), "cash-flows.csv", analyst)

    flow = m.CashFlow.objects.get(kind="investment")
    record = flow.history.latest()
    assert record.history_user == analyst
    assert record.history_change_reason == f"Import #{run.pk}: cash-flows.csv"
    assert flow.recorded_by == analyst
    assert (run.requested_by, run.file_name, run.file_format, run.rows) == (analyst, "cash-flows.csv", "csv", 2)
    assert len(run.file_sha256) == 64
    assert run.content is None  # the file is kept only while a check waits for confirmation


def test_a_long_file_name_still_fits_the_history_reason(position, steward):
    """A file name of over 200 characters is cut to fit the history's 100-character reason rather than
    failing the import."""
    name = "cash-flows " + "x" * 200 + ".csv"
    run = _run(_csv(*CASH_FLOWS), name, steward, kind="cash-flows")
    assert run.status == "applied"
    assert len(m.CashFlow.history.latest().history_change_reason) == 100


def test_a_dry_run_reports_what_would_change_and_writes_nothing(position, steward):
    """A dry run counts what the file would create, writes no record, and is itself recorded as a
    checked run."""
    run = _run(_csv(*CASH_FLOWS), "cash-flows.csv", steward, dry_run=True)

    assert run.status == "checked"
    assert run.counts == {"cash-flows": {"created": 2}}
    assert not m.CashFlow.objects.exists()
    assert m.ImportRun.objects.filter(pk=run.pk, status="checked").exists()


# --- all or nothing ------------------------------------------------------------------------------------


def test_a_workbook_with_one_bad_row_writes_nothing(position, steward):
    """The agencies and deals of the first sheets are valid; one cash flow is not: nothing is kept."""
    book = _xlsx({
        "agencies": [["short_name", "name", "country"], ["DOE-LPO", "Loan Programs Office", "US"]],
        "cash-flows": [
            ["deal", "position", "kind", "occurred_on", "amount", "currency"],
            ["acme-dod-2025", "Common shares", "investment", date(2025, 7, 10), 400, "USD"],
            ["acme-dod-2025", "Common shares", "investment", "2025-13-01", 100, "USD"],
        ],
    })  # fmt: skip
    history = _history_rows()

    run = _run(book, "book.xlsx", steward)

    assert run.status == "refused"
    assert _errors(run) == [("cash-flows", 3, "occurred_on", "'2025-13-01' is not a date of the calendar")]
    assert not m.Agency.objects.filter(short_name="DOE-LPO").exists()
    assert not m.CashFlow.objects.exists()
    assert _history_rows() == history
    assert "nothing was written" in run.message


# --- refused files --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        pytest.param(
            ("deal,position,kind,occured_on,amount,currency", "acme-dod-2025,Common shares,fee,2025-07-10,1,USD"),
            [
                (
                    "cash-flows",
                    1,
                    "occured_on",
                    "unknown column; the columns of cash-flows are "
                    "deal, position, kind, occurred_on, currency, amount, quantity, memo, source_url, "
                    "source_published_on, evidence",
                ),
                ("cash-flows", 1, "occurred_on", "required column missing"),
            ],
            id="misspelt header",
        ),
        pytest.param(
            (
                "deal,position,kind,occurred_on,amount,amount,currency",
                "acme-dod-2025,Common shares,fee,2025-07-10,1,1,USD",
            ),
            [("cash-flows", 1, "amount", "this column appears twice")],
            id="duplicate column",
        ),
        pytest.param(
            ("deal,position,kind,occurred_on,amount,currency", "acme-dod-2025,Common shares,fee,03/04/2025,1,USD"),
            [("cash-flows", 2, "occurred_on", "'03/04/2025' is not a date: write it as YYYY-MM-DD")],
            id="ambiguous date",
        ),
        pytest.param(
            (
                "deal,position,kind,occurred_on,amount,currency",
                'acme-dod-2025,Common shares,fee,2025-07-10,"1,000",USD',
            ),
            [
                (
                    "cash-flows",
                    2,
                    "amount",
                    "'1,000' is not a number: use digits and a point for decimals, without separators",
                )
            ],
            id="thousands separator",
        ),
        pytest.param(
            ("deal,position,kind,occurred_on,amount,currency", "acme-dod-2025,Warrants,fee,2025-07-10,1,USD"),
            [("cash-flows", 2, "position", "deal acme-dod-2025 has no position labelled 'Warrants'")],
            id="unknown position",
        ),
        pytest.param(
            ("deal,position,kind,occurred_on,amount,currency", "acme-2099,Common shares,fee,2025-07-10,1,USD"),
            [("cash-flows", 2, "deal", "no deal with reference 'acme-2099'")],
            id="unknown deal",
        ),
        pytest.param(
            ("deal,position,kind,occurred_on,amount,currency", "acme-dod-2025,Common shares,gift,2025-07-10,1,XYZ"),
            [
                (
                    "cash-flows",
                    2,
                    "kind",
                    "'gift' is not one of investment, fee, exercise, dividend, sale, pik_accrual, conversion, receipt",
                ),
                ("cash-flows", 2, "currency", "'XYZ' is not an ISO 4217 currency code"),
            ],
            id="bad choice and currency",
        ),
        pytest.param(
            (*CASH_FLOWS[:2], CASH_FLOWS[1].replace("First tranche", "Same again")),
            [("cash-flows", 3, "occurred_on", "the same record as row 2 (deal, position, kind, occurred_on)")],
            id="duplicate row",
        ),
    ],
)
def test_refused_cash_flow_files_name_the_row_column_and_reason(position, steward, lines, expected):
    """Each kind of mistake in a cash-flow file (misspelt or repeated column, ambiguous date, thousands
    separator, unknown position or deal, bad choice or currency, repeated row) is refused with its
    row, column and a reason a steward can act on, and nothing is written."""
    run = _run(_csv(*lines), "cash-flows.csv", steward)
    assert run.status == "refused"
    assert _errors(run) == expected
    assert not m.CashFlow.objects.exists()


def test_a_file_naming_an_unknown_ticker_is_refused(position, steward):
    """A price for a ticker and exchange with no listing refuses the file, naming its row, and no price
    is stored, not even the good row's."""
    lines = ("ticker,exchange,on,close", "ACME,NASDAQ,2026-11-20,12.50", "ACMX,NASDAQ,2026-11-20,9.00")
    run = _run(_csv(*lines), "prices.csv", steward)
    assert _errors(run) == [("prices", 3, "ticker", "no listing ACMX:NASDAQ (ticker and exchange)")]
    assert not m.SecurityPrice.objects.exists()


def test_a_negative_quantity_is_refused_under_its_column(position, steward):
    """A negative quantity is refused with the model's own message under the quantity column, and the
    position keeps its quantity."""
    lines = (
        "deal,label,kind,currency,quantity",
        "acme-dod-2025,Common shares,common,USD,-5",
    )
    run = _run(_csv(*lines), "positions.csv", steward)
    assert run.status == "refused"
    assert _errors(run) == [("positions", 2, "quantity", "Quantity must be greater than zero.")]
    position.refresh_from_db()
    assert position.quantity == Decimal("1000")


def test_a_file_in_another_encoding_is_refused_naming_the_line(position, steward):
    """A CSV saved in Windows-1252 is refused as not UTF-8, naming the line and byte, rather than
    imported with its accents garbled."""
    content = "\n".join([*CASH_FLOWS[:2], CASH_FLOWS[2].replace("Q1 dividend", "Dividende versée")]).encode("cp1252")
    run = _run(content, "cash-flows.csv", steward)
    assert run.status == "refused"
    assert run.message.startswith("The file is not UTF-8 text (line 3 has the byte 0xe9)")
    assert not m.CashFlow.objects.exists()


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"\xd0\xcf\x11\xe0rest", "old.xls", "This is an old-format Excel file (.xls)"),
        (b"deal;position;kind\n", "cash-flows.csv", "The columns are separated by semicolons"),
        (b"a,b\n", "notes.csv", "A CSV file holds one kind of record"),
        (b"PK\x03\x04 not really", "book.xlsx", "The file is not a readable .xlsx workbook"),
    ],
)
def test_unreadable_files_are_refused_with_what_to_do(steward, content, name, message):
    """An old .xls file, a semicolon-separated CSV, a CSV whose name is no kind, and a damaged workbook
    are each refused with a message saying what is wrong and what to do."""
    run = _run(content, name, steward)
    assert run.status == "refused"
    assert run.message.startswith(message)


def test_an_unknown_sheet_is_refused_rather_than_skipped(position, steward):
    """A workbook sheet named after no kind is refused, naming the sheet, rather than skipped and its
    rows silently lost; a README sheet is allowed."""
    book = _xlsx({"README": [["anything"]], "cashflows 2025": [["deal"]]})
    run = _run(book, "book.xlsx", steward)
    assert run.status == "refused"
    assert run.errors[0]["sheet"] == "cashflows 2025"
    assert "no kind of record is called" in run.errors[0]["message"]


# --- CSV and XLSX alike ------------------------------------------------------------------------------------


def test_the_csv_and_the_xlsx_of_the_same_rows_import_the_same_records(position, steward):
    """The same rows as CSV and as a workbook of typed cells give the same counts and the same stored
    records, and each reads back as unchanged after the other."""
    header, *rows = [line.split(",") for line in CASH_FLOWS]
    # Typed cells, and the memo's apostrophe that keeps a spreadsheet from reading it as a formula.
    typed = [[*row[:3], date.fromisoformat(row[3]), float(row[4]), row[5], int(row[6]) if row[6] else None,
              "'" + row[7] if row[7].startswith("=") else row[7]] for row in rows]  # fmt: skip
    book = _xlsx({"cash-flows": [header, *typed]})

    from_csv = _run(_csv(*CASH_FLOWS), "cash-flows.csv", steward, dry_run=True)
    from_xlsx = _run(book, "book.xlsx", steward)
    written = list(m.CashFlow.objects.order_by("kind").values_list("kind", "occurred_on", "amount", "quantity", "memo"))
    m.CashFlow.objects.all().delete()
    _run(_csv(*CASH_FLOWS), "cash-flows.csv", steward)
    from_csv_written = list(
        m.CashFlow.objects.order_by("kind").values_list("kind", "occurred_on", "amount", "quantity", "memo")
    )

    assert from_csv.counts == from_xlsx.counts == {"cash-flows": {"created": 2}}
    assert written == from_csv_written
    assert _run(book, "book.xlsx", steward).counts == {"cash-flows": {"unchanged": 2}}


# --- roles, confirmation, revaluation -------------------------------------------------------------------


def test_a_role_without_write_access_to_a_kind_is_refused_naming_it(position, analyst, viewer):
    """An analyst importing companies is refused naming the kind, and a viewer may not import at all;
    nothing is written."""
    companies = _csv("name,country", "Acme Minerals,US")
    run = _run(companies, "companies.csv", analyst)
    assert (run.status, run.message) == ("refused", "Refused: your role may not add or change companies.")
    run = _run(_csv(*CASH_FLOWS), "cash-flows.csv", viewer)
    assert (run.status, run.message) == ("refused", "Refused: you may not import spreadsheets.")
    assert not m.Company.objects.filter(name="Acme Minerals").exists()
    assert not m.CashFlow.objects.exists()


def _preview(content: bytes, name: str, user) -> m.ImportRun:
    return import_file(content=content, file_name=name, user=user, trigger="admin", dry_run=True,
                       keep_for_confirmation=True)  # fmt: skip


def test_a_preview_is_imported_once_on_confirmation_by_its_steward(position, steward, analyst):
    """A checked file is kept for confirmation and written only when the steward who checked it
    confirms; another user cannot confirm it, and a second confirmation is refused without writing
    twice."""
    preview = _preview(_csv(*CASH_FLOWS), "cash-flows.csv", steward)
    assert (preview.status, bytes(preview.content)) == ("previewed", _csv(*CASH_FLOWS))
    assert not m.CashFlow.objects.exists()

    from portfolio.exceptions import ImportRefusedError

    with pytest.raises(ImportRefusedError, match="checked by another steward"):
        import_confirm(run_id=preview.pk, user=analyst)
    applied = import_confirm(run_id=preview.pk, user=steward)

    assert (applied.pk, applied.status, applied.content) == (preview.pk, "applied", None)
    assert m.CashFlow.objects.count() == 2
    with pytest.raises(ImportRefusedError, match="imported: it cannot be confirmed"):
        import_confirm(run_id=preview.pk, user=steward)
    assert m.CashFlow.objects.count() == 2


def test_a_preview_that_no_longer_holds_is_refused_on_confirmation(position, steward):
    """A checked file is checked again on confirmation: once the position it names has been relabelled,
    the confirmation is refused under the position column and nothing is written."""
    preview = _preview(_csv(*CASH_FLOWS), "cash-flows.csv", steward)
    position.label = "Ordinary shares"
    position.save()

    run = import_confirm(run_id=preview.pk, user=steward)

    assert run.status == "refused"
    assert {e["column"] for e in run.errors} == {"position"}
    assert not m.CashFlow.objects.exists()


def test_an_import_that_changes_positions_requests_a_valuation_refresh(position, steward):
    """An import that changes a position requests a valuation refresh in the steward's name; importing
    it again, with nothing changed, requests none."""
    lines = ("deal,label,kind,currency,quantity", "acme-dod-2025,Common shares,common,USD,2000")
    run = _run(_csv(*lines), "positions.csv", steward)

    assert run.status == "applied"
    assert run.revaluation is not None
    assert (run.revaluation.kind, run.revaluation.trigger, run.revaluation.requested_by) == (
        "valuations", "import", steward
    )  # fmt: skip
    again = _run(_csv(*lines), "positions.csv", steward)
    assert again.counts == {"positions": {"unchanged": 1}}
    assert again.revaluation is None  # nothing changed: nothing to revalue


def test_a_formula_without_a_computed_value_is_refused(position, steward):
    """A workbook written by a program, never opened in a spreadsheet, has formulas but no values:
    reading them as blanks would import wrong figures."""
    book = _xlsx({
        "cash-flows": [
            ["deal", "position", "kind", "occurred_on", "amount", "currency"],
            ["acme-dod-2025", "Common shares", "investment", date(2025, 7, 10), "=200*2", "USD"],
        ]
    })  # fmt: skip
    run = _run(book, "book.xlsx", steward)
    assert _errors(run) == [
        ("cash-flows", 2, "amount", "the cell holds a formula (=200*2) without its value: save the file from a "
         "spreadsheet program, or paste the values")
    ]  # fmt: skip


def test_a_workbook_creates_every_kind_through_the_services_and_names_them_by_natural_key(steward):
    """One record of each kind, each naming the others by natural key (a company by CIK with its
    leading zeros dropped, as a spreadsheet does): all created, the milestone's window and first
    revision computed by the milestone service; importing the workbook again changes nothing."""
    f.CommodityFactory(code="lithium")
    book = _xlsx({
        "agencies": [["short_name", "name", "country"], ["DOE-LPO", "Loan Programs Office", "US"]],
        "companies": [["name", "cik", "country", "is_public"], ["Acme Lithium Corp.", "0001234567", "US", "yes"]],
        "listings": [["ticker", "exchange", "company", "currency", "is_primary"],
                     ["ACLI", "NYSE", 1234567, "USD", "yes"]],
        "projects": [["company", "name", "kind", "country", "stage", "commodities"],
                     ["1234567", "Salt Flat", "mine", "US", "construction", "lithium"]],
        "deals": [["reference", "title", "agency", "company", "status", "projects", "announced_on"],
                  ["acli-doe-2026", "DOE loan and warrants", "DOE-LPO", "Acme Lithium Corp.", "conditional_commitment",
                   "Salt Flat", date(2026, 3, 2)]],
        "milestones": [["company", "project", "deal", "title", "kind", "forecast_text"],
                       ["Acme Lithium Corp.", "Salt Flat", "", "First production", "first_production", "Q3 2027"]],
        "positions": [["deal", "label", "kind", "ticker", "exchange", "currency", "quantity", "strike",
                       "shares_per_warrant", "expires_on", "gate_project", "gate_milestone"],
                      ["acli-doe-2026", "Warrants", "warrant", "ACLI", "NYSE", "USD", 5000000, 0.01, 1,
                       date(2031, 3, 2), "Salt Flat", "First production"]],
        "cash-flows": [["deal", "position", "kind", "occurred_on", "amount", "currency"],
                       ["acli-doe-2026", "Warrants", "investment", date(2026, 3, 2), 0, "USD"]],
        "loans": [["deal", "label", "status", "currency", "principal"],
                  ["acli-doe-2026", "ATVM loan", "committed", "USD", 2260000000]],
        "price-floors": [["deal", "commodity", "currency", "floor_price"], ["acli-doe-2026", "lithium", "USD", 12000]],
        "grants": [["deal", "program", "currency", "amount"], ["acli-doe-2026", "Battery grant", "USD", 50000000]],
        "manual-marks": [["deal", "position", "as_of", "currency", "value", "reason"],
                         ["acli-doe-2026", "Warrants", date(2026, 6, 30), "USD", 1200000, "Broker quote"]],
        "prices": [["ticker", "exchange", "on", "close"], ["ACLI", "NYSE", date(2026, 6, 30), 4.25]],
    })  # fmt: skip

    run = _run(book, "acme.xlsx", steward)

    assert run.status == "applied", run.errors
    assert run.total("created") == run.rows == 13
    deal = m.Deal.objects.get(reference="acli-doe-2026")
    assert (deal.agency.short_name, deal.company.cik) == ("DOE-LPO", "0001234567")
    assert list(deal.projects.values_list("name", flat=True)) == ["Salt Flat"]
    assert list(m.Project.objects.get().commodities.values_list("code", flat=True)) == ["lithium"]
    milestone = m.Milestone.objects.get(title="First production")
    assert (milestone.forecast_start, milestone.forecast_end) == (date(2027, 7, 1), date(2027, 9, 30))
    assert milestone.baseline_text == "Q3 2027"
    assert milestone.revisions.get().recorded_by == steward
    position = m.Position.objects.get(label="Warrants")
    assert (position.listing.ticker, position.strike, position.quantity) == ("ACLI", Decimal("0.01"), 5000000)
    assert position.gate_milestone == milestone
    assert m.ManualMark.objects.get().marked_by == steward
    price = m.SecurityPrice.objects.get()
    assert (price.source, price.close) == ("manual", Decimal("4.25"))
    assert m.Loan.objects.get().principal == Decimal("2260000000")

    again = _run(book, "acme.xlsx", steward)
    assert again.total("unchanged") == 13
    assert again.total("created") == again.total("updated") == 0


def test_a_workbook_declaring_xml_entities_is_refused_unread(position, steward):
    """A sheet whose XML declares entities (the billion-laughs kind of attack on a parser) is
    refused by defusedxml, which openpyxl uses when it is installed, before anything expands."""
    import zipfile

    from openpyxl.xml import DEFUSEDXML

    assert DEFUSEDXML
    book = _xlsx({"cash-flows": [["deal", "position", "kind", "occurred_on", "amount", "currency"]]})
    source, target = io.BytesIO(book), io.BytesIO()
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                data = data.replace(
                    b"<worksheet", b'<!DOCTYPE worksheet [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><worksheet', 1
                )
            zout.writestr(item, data)
    run = _run(target.getvalue(), "book.xlsx", steward)
    assert run.status == "refused"
    assert run.message.startswith("The file is not a readable .xlsx workbook")
    assert not m.CashFlow.objects.exists()


def test_a_gate_names_a_milestone_of_the_deal_or_of_a_project_of_its_company(position, steward):
    """A position's gate may name a milestone of the deal or of a project of its company; one that names
    a project without that milestone is refused naming the row."""
    project = f.ProjectFactory(company=position.deal.company, name="North Pit")
    f.MilestoneFactory(project=project, deal=None, title="Permit granted")
    f.MilestoneFactory(project=None, deal=position.deal, title="Financing closed")
    lines = (
        "deal,label,kind,currency,underlying,gate_project,gate_milestone",
        "acme-dod-2025,Common shares,common,USD,,North Pit,Permit granted",
        "acme-dod-2025,Private stake,private_equity,USD,Acme Minerals LLC units,,Financing closed",
        "acme-dod-2025,JV units,jv_equity,USD,North Pit JV units,North Pit,Financing closed",
    )
    run = _run(_csv(*lines), "positions.csv", steward)
    assert _errors(run) == [("positions", 4, "gate_milestone", "project North Pit has no milestone titled "
                             "'Financing closed'")]  # fmt: skip
    run = _run(_csv(*lines[:3]), "positions.csv", steward)
    assert run.status == "applied", run.errors
    assert m.Position.objects.get(label="Common shares").gate_milestone.title == "Permit granted"
    assert m.Position.objects.get(label="Private stake").gate_milestone.title == "Financing closed"


def test_a_rule_the_database_enforces_is_reported_like_model_validation(position, steward):
    """Imports leave check and unique constraints to the database (no query per rule per row): a
    row it refuses is reported with the rule's own message, under the first column the rule
    reads, and the rows after it are still checked."""
    lines = (
        "deal,position,kind,occurred_on,amount,currency,evidence,source_url",
        "acme-dod-2025,Common shares,investment,2025-07-10,-5.00,USD,unverified,",
        "acme-dod-2025,Common shares,fee,2025-07-11,5.00,USD,filing,",
        "acme-dod-2025,Common shares,fee,2025-07-12,5.00,USD,unverified,",
    )
    run = _run(_csv(*lines), "cash-flows.csv", steward, dry_run=True)
    assert _errors(run) == [
        ("cash-flows", 2, "amount", "The amount cannot be negative."),
        ("cash-flows", 3, "evidence", "Give the source URL, or mark the record unverified."),
    ]
    assert run.counts == {"cash-flows": {"created": 1}}
    assert not m.CashFlow.objects.exists()


def test_the_database_and_model_validation_refuse_a_record_with_the_same_message(position, steward):
    """A negative amount is refused with the same message whether the model checks it or the database's
    constraint does."""

    def refusal(**checks) -> list[str]:
        flow = m.CashFlow(position=position, kind="fee", occurred_on=date(2025, 7, 10), amount=Decimal("-1"),
                          currency_id="USD")  # fmt: skip
        with pytest.raises(ValidationError) as caught:
            record_save(flow, user=steward, reason="test", **checks)
        return caught.value.messages

    assert refusal() == refusal(constraints_by_database=True) == ["The amount cannot be negative."]


def test_a_deal_status_entered_by_mistake_is_corrected_by_its_column(position, steward):
    """A deals file moving a closed deal back is refused under its status column unless the row
    says status_correction yes; then the deal is saved, and its history says it was a correction.
    An export leaves the column blank, so a file exported and imported back corrects nothing."""
    deal = position.deal
    deal.status, deal.closed_on = "closed", date(2025, 7, 10)
    record_save(deal, user=steward, reason="Closed")
    kind = KIND_BY_NAME["deals"]
    (row,) = export_rows(kind)
    assert "status_correction" in kind.columns
    assert row.get("status_correction") is None

    def deals_file(**changes) -> bytes:
        return csv_bytes(kind, [{**row, **changes}])

    refused = _run(deals_file(status="definitive"), "deals.csv", steward)
    assert [(sheet, number, column) for sheet, number, column, _ in _errors(refused)] == [("deals", 2, "status")]
    assert "status_correction" in _errors(refused)[0][3]
    deal.refresh_from_db()
    assert deal.status == "closed"
    unreadable = _run(deals_file(status="definitive", status_correction="perhaps"), "deals.csv", steward)
    assert [column for _, _, column, _ in _errors(unreadable)] == ["status_correction"]
    corrected = _run(deals_file(status="definitive", status_correction="yes"), "deals.csv", steward)
    assert _errors(corrected) == []
    deal.refresh_from_db()
    assert deal.status == "definitive"
    assert deal.history.first().history_change_reason.endswith("(status corrected)")


def test_imported_prices_update_their_listings_status_once(position, steward):
    """A stale listing given today's close by an import is current afterwards, as after the
    provider's refresh; a dry run leaves it stale."""
    listing = position.listing
    m.Listing.objects.filter(pk=listing.pk).update(price_status=m.PriceStatus.STALE, last_price_on=None)
    today = date.today().isoformat()
    lines = ("ticker,exchange,on,close", f"ACME,NASDAQ,{today},4.25")
    _run(_csv(*lines), "prices.csv", steward, dry_run=True)
    listing.refresh_from_db()
    assert listing.price_status == m.PriceStatus.STALE
    run = _run(_csv(*lines), "prices.csv", steward)
    assert _errors(run) == []
    listing.refresh_from_db()
    assert (listing.price_status, listing.last_price_on) == (m.PriceStatus.OK, date.today())


# --- dated records: loan drawings, share counts, production figures -----------------------------------


@pytest.fixture
def dated(db):
    """A deal with a loan, and a company (without a CIK) with a project producing NdPr oxide."""
    company = f.CompanyFactory(name="Acme Magnetics Inc.", cik=None, share_count=None)
    deal = f.DealFactory(reference="acme-doe-2026", company=company)
    f.LoanFactory(deal=deal, label="Term loan", principal=Decimal("500000000"))
    project = f.ProjectFactory(company=company, name="Mountain Pass")
    project.commodities.add(f.CommodityFactory(code="ndpr-oxide"))
    return deal


DATED_BOOK = {
    "loan-events": [
        ["deal", "loan", "kind", "occurred_on", "amount", "memo"],
        ["acme-doe-2026", "Term loan", "draw", date(2026, 1, 15), 250000000, "First advance"],
        ["acme-doe-2026", "Term loan", "capitalised_interest", date(2026, 3, 31), 3125000.5, ""],
        ["acme-doe-2026", "Term loan", "repayment", date(2026, 6, 30), 10000000, ""],
    ],
    "share-counts": [
        ["company", "as_of", "shares", "is_derived", "accession_number", "evidence", "source_url"],
        ["Acme Magnetics Inc.", date(2025, 12, 31), 163000000, "no", "0001193125-26-000001", "filing",
         "https://www.sec.gov/a.htm"],
        ["Acme Magnetics Inc.", date(2026, 6, 30), 177500000.5, "yes", "", "unverified", ""],
    ],
    "production-figures": [
        ["company", "project", "commodity", "period_start", "period_end", "produced_t", "sold_t"],
        ["Acme Magnetics Inc.", "Mountain Pass", "ndpr-oxide", date(2026, 1, 1), date(2026, 3, 31), 721, 650.25],
        ["Acme Magnetics Inc.", "Mountain Pass", "NdPr-Oxide", date(2026, 4, 1), date(2026, 6, 30), None, 700],
    ],
}  # fmt: skip


def test_an_analyst_imports_drawings_share_counts_and_production_named_by_natural_key(dated, analyst):
    """A workbook of a loan's drawings, repayment and capitalised interest, a company's share counts and
    a project's quarterly production creates every row, naming the loan by deal and label, the company
    by name, the project by company and name and the commodity by code; each history names the analyst
    and the import, a share count entered so is a steward's, and the loan's events request a
    revaluation. Imported again, nothing changes."""
    book = _xlsx(DATED_BOOK)

    run = _run(book, "dated.xlsx", analyst)

    assert run.status == "applied", run.errors
    assert run.counts == {"loan-events": {"created": 3}, "share-counts": {"created": 2},
                          "production-figures": {"created": 2}}  # fmt: skip
    loan = m.Loan.objects.get(label="Term loan")
    assert list(loan.events.values_list("kind", "amount")) == [
        ("draw", Decimal("250000000")), ("capitalised_interest", Decimal("3125000.5")),
        ("repayment", Decimal("10000000")),
    ]  # fmt: skip
    counts = m.ShareCount.objects.filter(company=dated.company).order_by("as_of")
    assert list(counts.values_list("shares", "is_derived", "origin")) == [
        (Decimal("163000000"), False, "manual"), (Decimal("177500000.5"), True, "manual"),
    ]  # fmt: skip
    figures = m.ProductionFigure.objects.order_by("period_start")
    assert list(figures.values_list("commodity__code", "produced_t", "sold_t")) == [
        ("ndpr-oxide", Decimal("721"), Decimal("650.25")), ("ndpr-oxide", None, Decimal("700")),
    ]  # fmt: skip
    record = loan.events.first().history.get()
    assert (record.history_user, record.history_change_reason) == (analyst, f"Import #{run.pk}: dated.xlsx")
    assert run.revaluation is not None

    again = _run(book, "dated.xlsx", analyst)
    assert again.total("unchanged") == 7
    assert again.total("created") == again.total("updated") == 0
    assert again.revaluation is None


def test_the_dated_kinds_export_and_import_back_unchanged(dated, steward):
    """What the import wrote exports in the shape it reads: each kind's CSV imports back unchanged."""
    _run(_xlsx(DATED_BOOK), "dated.xlsx", steward)
    for name in ("loan-events", "share-counts", "production-figures"):
        kind = KIND_BY_NAME[name]
        rows = export_rows(kind)
        assert rows, name
        again = _run(csv_bytes(kind, rows), f"{name}.csv", steward)
        assert again.counts == {name: {"unchanged": len(rows)}}, again.errors
    (row,) = [r for r in export_rows(KIND_BY_NAME["loan-events"]) if r["kind"] == "repayment"]
    assert (row["deal"], row["loan"]) == ("acme-doe-2026", "Term loan")


@pytest.mark.parametrize(
    ("name", "lines", "expected"),
    [
        pytest.param(
            "loan-events",
            ("deal,loan,kind,occurred_on,amount", "acme-doe-2026,Bridge loan,draw,2026-01-15,5"),
            [("loan-events", 2, "loan", "deal acme-doe-2026 has no loan labelled 'Bridge loan'")],
            id="unknown loan",
        ),
        pytest.param(
            "loan-events",
            ("deal,loan,kind,occurred_on,amount", "acme-doe-2026,Term loan,drawdown,2026-01-15,0"),
            [("loan-events", 2, "kind", "'drawdown' is not one of draw, repayment, capitalised_interest")],
            id="unknown kind",
        ),
        pytest.param(
            "loan-events",
            ("deal,loan,kind,occurred_on,amount", "acme-doe-2026,Term loan,repayment,2026-01-15,0"),
            [("loan-events", 2, "amount", "The amount must be greater than zero.")],
            id="nothing repaid",
        ),
        pytest.param(
            "share-counts",
            ("company,as_of,shares,origin", "Acme Magnetics Inc.,2026-06-30,100,sec_company_facts"),
            [
                (
                    "share-counts",
                    1,
                    "origin",
                    "unknown column; the columns of share-counts are company, as_of, shares, is_derived, "
                    "accession_number, notes, source_url, source_published_on, evidence",
                )
            ],
            id="origin is not a column",
        ),
        pytest.param(
            "share-counts",
            ("company,as_of,shares", "Acme Magnetic Inc.,2026-06-30,100"),
            [
                (
                    "share-counts",
                    2,
                    "company",
                    "no company named 'Acme Magnetic Inc.' (name it by its CIK, or exactly as registered)",
                )
            ],
            id="misspelt company",
        ),
        pytest.param(
            "production-figures",
            (
                "company,project,commodity,period_start,period_end,produced_t,sold_t",
                "Acme Magnetics Inc.,Mountain Pass,ndpr-oxide,2026-01-01,2026-03-31,,",
            ),
            [("production-figures", 2, "produced_t", "Give the volume produced, sold, or both.")],
            id="no volume",
        ),
        pytest.param(
            "production-figures",
            (
                "company,project,commodity,period_start,period_end,produced_t",
                "Acme Magnetics Inc.,Mountain Pas,ndpr-oxide,2026-01-01,2026-03-31,10",
                "Acme Magnetics Inc.,Mountain Pass,ndpr-oxide,2026-04-01,2026-03-31,10",
            ),
            [
                ("production-figures", 2, "project", "Acme Magnetics Inc. has no project named 'Mountain Pas'"),
                ("production-figures", 3, "period_end", "A period cannot end before it starts."),
            ],
            id="unknown project and a backwards period",
        ),
    ],
)
def test_refused_dated_files_name_the_row_column_and_reason(dated, steward, name, lines, expected):
    """A drawing of a loan the deal does not have, a kind that is not one, a repayment of nothing, an
    origin column (the application sets it), a misspelt company, a figure without a volume, a project
    the company does not have and a period ending before it starts are refused with the row, the column
    and the reason, and nothing is written."""
    run = _run(_csv(*lines), f"{name}.csv", steward)
    assert run.status == "refused"
    assert _errors(run) == expected
    assert not m.LoanEvent.objects.exists()
    assert not m.ShareCount.objects.exists()
    assert not m.ProductionFigure.objects.exists()


def test_the_template_describes_the_dated_kinds_columns(db):
    """The template workbook's README names what each column of the new kinds holds: the loan by its
    deal and label, the company, project and commodity named, the kinds of event, and dates."""
    from openpyxl import load_workbook

    kinds = [KIND_BY_NAME[name] for name in ("loan-events", "share-counts", "production-figures")]
    book = load_workbook(io.BytesIO(xlsx_bytes([(kind, []) for kind in kinds])), read_only=True)
    guide = {(row[0], row[1]): (row[2], row[3]) for row in book["README"].iter_rows(min_row=2, values_only=True)}
    assert guide["loan-events", "loan"] == ("key", "names the loan (deal, loan)")
    assert guide["loan-events", "kind"] == ("key", "one of: draw, repayment, capitalised_interest")
    assert guide["loan-events", "amount"] == ("required", "a number, with a point for decimals and no separators")
    assert guide["share-counts", "company"] == ("key", "names the company (company)")
    assert guide["share-counts", "is_derived"] == (None, "yes or no")
    assert guide["production-figures", "project"] == ("key", "names the project (company, project)")
    assert guide["production-figures", "commodity"] == ("key", "names the commodity (commodity)")
    assert guide["production-figures", "period_end"] == ("required", "a date, YYYY-MM-DD")
    assert ("share-counts", "origin") not in guide
