"""The filings review queue says when the SEC filings check last ran and what it found: "0 filing
events" alone could mean nothing new was filed or that nothing was ever looked for."""

from __future__ import annotations

import datetime as dt
import re
from http import HTTPStatus

import pytest
from django.urls import reverse

from portfolio import models as m
from portfolio.health import filings_check_last
from tests import factories as f

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:portfolio_filingevent_changelist"
FINISHED = dt.datetime(2026, 11, 27, 14, 3, tzinfo=dt.UTC)


def _run(status=m.RefreshRun.Status.SUCCEEDED, finished_at=FINISHED, **fields):
    """A filings run as the refresh records it: the share counts' step, then the filings step."""
    fields.setdefault(
        "counts",
        {
            "shares": {"total": 14, "failed": 0, "written": 0, "revised": 0},
            "filings": {"total": 14, "failed": 0, "written": 3, "revised": 0},
        },
    )
    fields.setdefault("lock_key", "")
    return f.RefreshRunFactory(
        kind=m.RefreshRun.Kind.FILINGS,
        status=status,
        started_at=finished_at - dt.timedelta(minutes=1) if finished_at else None,
        finished_at=finished_at,
        **fields,
    )


def _note(client) -> str:
    """The check's note above the list, its text on one line."""
    html = client.get(reverse(CHANGELIST)).content.decode()
    section = re.search(r'<section class="filings-check[^"]*".*?</section>', html, re.S)
    assert section, "no note on the filings check"
    return " ".join(re.sub(r"<[^>]+>", " ", section.group(0)).split())


def test_the_list_says_the_check_never_ran(steward_client, django_assert_num_queries):
    """With no check finished, the note says so and how the check runs, rather than leaving
    "0 filing events" to read as "nothing new"."""
    # the session and the user; the two counts; the page; the dates of the hierarchy; the forms to
    # filter by; the latest filings check
    with django_assert_num_queries(9):
        response = steward_client.get(reverse(CHANGELIST))
    assert response.status_code == HTTPStatus.OK
    note = _note(steward_client)
    assert note.startswith("SEC filings check Never ran:")
    assert "manage.py refresh --only filings" in note


def test_the_list_says_when_the_check_last_ran_and_what_it_found(steward_client):
    """The latest finished check's time, its run, and its findings: companies read, new filings."""
    run = _run()
    note = _note(steward_client)
    assert note == (
        f"SEC filings check Last ran 2026-11-27 14:03 UTC ( run #{run.pk} , succeeded): filings of 14 "
        "companies read, 3 new filings recorded for review, no errors."
    )
    html = steward_client.get(reverse(CHANGELIST)).content.decode()
    assert reverse("admin:portfolio_refreshrun_change", args=[run.pk]) in html


def test_a_check_with_errors_names_the_companies_it_could_not_read(steward_client):
    """A partial check counts the companies it could not read and quotes the first errors."""
    _run(
        status=m.RefreshRun.Status.PARTIAL,
        counts={"filings": {"total": 14, "failed": 2, "written": 1, "revised": 0}},
        errors=[
            {"step": "shares", "subject": "Foran Mining", "provider": "sec", "kind": "error", "message": "no facts"},
            {"step": "filings", "subject": "MP Materials Corp. (CIK 0001801368)", "message": "EDGAR answered 503"},
            {"step": "filings", "subject": "Energy Fuels (CIK 0001385849)", "message": "timed out"},
        ],
    )
    note = _note(steward_client)
    assert "succeeded with errors): filings of 14 companies read, 1 new filing recorded for review, 2 companies" in note
    assert "MP Materials Corp. (CIK 0001801368): EDGAR answered 503" in note
    assert "Energy Fuels (CIK 0001385849): timed out" in note
    assert "Foran Mining" not in note  # the share counts' step is not the filings check


def test_a_check_that_failed_before_reading_filings_says_so(steward_client):
    """A run that failed before its filings step recorded anything says it found nothing, and why."""
    _run(status=m.RefreshRun.Status.FAILED, counts={}, message="Failed: OperationalError: database is locked")
    note = _note(steward_client)
    assert "failed): it ended before reading any filings. Failed: OperationalError: database is locked" in note


def test_the_latest_finished_check_is_read_and_refused_or_unfinished_runs_are_passed_over():
    """Of the filings runs, the latest that finished is read; a run refused because another was in
    progress never ran, one still queued or running has not finished, and other kinds of run are
    not the filings check."""
    assert filings_check_last() is None
    earlier = _run(finished_at=FINISHED - dt.timedelta(hours=1))
    latest = _run()
    _run(status=m.RefreshRun.Status.REFUSED, finished_at=FINISHED + dt.timedelta(minutes=5))
    _run(status=m.RefreshRun.Status.QUEUED, finished_at=None, lock_key="filings")
    f.RefreshRunFactory(kind=m.RefreshRun.Kind.PIPELINE, finished_at=FINISHED + dt.timedelta(hours=1))
    check = filings_check_last()
    assert check is not None
    assert (check.run_id, check.finished_at, check.companies, check.recorded, check.failed) == (
        latest.pk,
        FINISHED,
        14,
        3,
        0,
    )
    assert check.run_id != earlier.pk
    assert (check.errors, check.error_count, check.finished_step) == ((), 0, True)
