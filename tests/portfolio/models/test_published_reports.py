"""A published report never changes: the model refuses to save or delete one again, and the
database (triggers, on SQLite and PostgreSQL alike) refuses every UPDATE and DELETE of a report's
row, including those the ORM sends without calling ``save`` or ``delete``. Whatever database the
suite runs on (SQLite here, PostgreSQL in CI), these tests run against it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from portfolio import models as m
from portfolio.exceptions import ReportFrozenError
from tests import factories as f

pytestmark = pytest.mark.django_db
TABLE = "portfolio_publishedreport"
TRIGGERS = {"publishedreport_refuse_update", "publishedreport_refuse_delete"}


def _as_stored(report: m.PublishedReport) -> tuple:
    row = m.PublishedReport.objects.values_list("as_of", "figures", "html", "content_hash").get(pk=report.pk)
    return tuple(row)


def _triggers() -> set[str]:
    """The triggers on the reports' table, as the database lists them."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [TABLE])
        else:
            cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal", [TABLE])
        return {name for (name,) in cursor.fetchall()}


def test_the_database_holds_the_triggers_that_refuse_changes():
    """Both triggers exist (a later migration that rebuilds the table on SQLite would drop them)."""
    assert _triggers() == TRIGGERS


@pytest.mark.parametrize("digest", ["A" * 64, "0" * 63, "g" * 64])
def test_a_hash_that_is_not_sha256_hex_is_refused_by_validation_and_by_the_database(digest):
    """A content hash is 64 lowercase hexadecimal digits: model validation says so, and the
    database's check refuses a row stored without validation; nothing is stored."""
    report = f.PublishedReportFactory.build(published_by=f.UserFactory(), content_hash=digest)
    with pytest.raises(ValidationError) as refused:
        report.full_clean()
    assert "A content hash is 64 lowercase hexadecimal digits (SHA-256)." in refused.value.messages
    with pytest.raises(IntegrityError, match="publishedreport_hash_is_sha256_hex"), transaction.atomic():
        report.save()
    assert not m.PublishedReport.objects.exists()


def test_saving_a_published_report_again_is_refused():
    """``save`` on a stored report raises ReportFrozenError naming it; the row is as it was."""
    report = f.PublishedReportFactory()
    before = _as_stored(report)
    report.html = "<h1>Restated</h1>"
    with pytest.raises(ReportFrozenError, match=rf"Report #{report.pk} is published: it cannot be changed"):
        report.save()
    assert _as_stored(report) == before


def test_a_new_report_cannot_take_the_number_of_a_published_one():
    """A new instance given a published report's number is inserted, never updated: the database
    refuses the duplicate number and the published row is as it was."""
    report = f.PublishedReportFactory()
    before = _as_stored(report)
    impostor = f.PublishedReportFactory.build(pk=report.pk, published_by=report.published_by, html="<h1>Other</h1>")
    with pytest.raises(IntegrityError), transaction.atomic():
        impostor.save()
    assert _as_stored(report) == before


def test_queryset_update_which_bypasses_save_is_refused_by_the_database():
    """``QuerySet.update()`` sends an UPDATE without calling ``save``: the trigger refuses it."""
    report = f.PublishedReportFactory()
    before = _as_stored(report)
    with pytest.raises(IntegrityError, match="cannot be changed"), transaction.atomic():
        m.PublishedReport.objects.filter(pk=report.pk).update(html="<h1>Restated</h1>")
    with pytest.raises(IntegrityError, match="cannot be changed"), transaction.atomic():
        m.PublishedReport.objects.filter(pk=report.pk).update(as_of=dt.date(2026, 1, 1))
    assert _as_stored(report) == before


def test_deleting_a_published_report_is_refused_by_the_model_and_by_the_database():
    """``delete`` on the report raises ReportFrozenError; a queryset's delete (which does not call
    the model's) is refused by the trigger. The report is still there."""
    report = f.PublishedReportFactory()
    with pytest.raises(ReportFrozenError, match="cannot be deleted"):
        report.delete()
    with pytest.raises(IntegrityError, match="cannot be deleted"), transaction.atomic():
        m.PublishedReport.objects.filter(pk=report.pk).delete()
    assert m.PublishedReport.objects.filter(pk=report.pk).exists()


def test_plain_sql_is_refused_too():
    """The refusal is the database's own: an UPDATE or DELETE written in SQL fails as well."""
    report = f.PublishedReportFactory()
    before = _as_stored(report)
    for sql in (
        "UPDATE portfolio_publishedreport SET html = 'x' WHERE id = %s",
        "DELETE FROM portfolio_publishedreport WHERE id = %s",
    ):
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [report.pk])
    assert _as_stored(report) == before


def test_the_publisher_cannot_be_deleted_while_their_reports_stand():
    """A report names its publisher: the account is protected, not emptied from the report."""
    from django.db.models import ProtectedError

    report = f.PublishedReportFactory()
    with pytest.raises(ProtectedError):
        report.published_by.delete()
    assert m.PublishedReport.objects.get(pk=report.pk).published_by_id == report.published_by_id


@pytest.mark.django_db(transaction=True)
def test_emptying_the_whole_database_takes_the_reports_and_keeps_the_triggers():
    """flush (what the test suite does after each test that commits) empties the reports' table on
    either database, and the triggers are there afterwards: a report published after it is as
    unchangeable as before."""
    f.PublishedReportFactory()
    call_command("flush", interactive=False, verbosity=0)
    assert not m.PublishedReport.objects.exists()
    assert _triggers() == TRIGGERS
    report = f.PublishedReportFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        m.PublishedReport.objects.filter(pk=report.pk).update(html="<h1>Restated</h1>")
