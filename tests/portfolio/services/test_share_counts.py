"""Share counts from SEC XBRL company facts, stored on the database against recorded answers: the
fields and history of each count, idempotence, stewards' counts kept, errors recorded per company,
and the step in the scheduled SEC run."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
import responses
from django.utils import timezone

from portfolio import models as m
from portfolio.services.records import record_save
from portfolio.services.refresh import refresh_request, refresh_run_execute
from portfolio.services.share_counts import share_counts_refresh

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "edgar"
TODAY = dt.date(2026, 11, 28)


def facts_url(cik: str) -> str:
    return f"https://data.sec.gov/api/xbrl/companyfacts/CIK{cik}.json"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def facts_of(name: str, cik: int) -> str:
    """A recorded answer, as EDGAR would give it for another company."""
    payload = json.loads(fixture(name))
    payload["cik"] = cik
    return json.dumps(payload)


def company(name: str, cik: str | None) -> m.Company:
    return m.Company.objects.create(name=name, country="US", cik=cik)


@pytest.fixture
def mp():
    return company("MP Materials Corp.", "0001801368")


def stored(company: m.Company) -> list[tuple]:
    return list(company.share_counts.order_by("as_of").values_list("as_of", "shares", "origin", "accession_number"))


@responses.activate
def test_counts_are_stored_with_their_filing_and_history(mp):
    """Each count of the last five years is stored with its filing as the source (index address,
    filing date, accession number, SEC filing evidence), marked as read from SEC's facts, with a
    history row naming no user and the filing as the reason; the 2021 count is too old to keep."""
    responses.get(facts_url(mp.cik), body=fixture("companyfacts_mp.json"))
    result = share_counts_refresh(as_of=TODAY)
    assert (result.total, result.failed, result.written, result.revised) == (1, 0, 3, 0)
    assert result.errors == []
    sec = m.ShareCountOrigin.SEC_FACTS
    assert stored(mp) == [
        (dt.date(2025, 2, 14), Decimal("163612004"), sec, "0001801368-25-000031"),
        (dt.date(2025, 7, 31), Decimal("163887502"), sec, "0001801368-25-000052"),
        (dt.date(2025, 10, 31), Decimal("176812345"), sec, "0001801368-25-000071"),
    ]
    count = mp.share_counts.get(as_of=dt.date(2025, 10, 31))
    assert count.source_url == "https://www.sec.gov/Archives/edgar/data/1801368/000180136825000071/"
    assert count.source_published_on == dt.date(2025, 11, 6)
    assert count.evidence == m.Evidence.FILING
    assert not count.is_derived
    assert "10-Q" in count.notes
    history = count.history.get()
    assert history.history_user is None
    assert history.history_change_reason == "SEC XBRL company facts: 10-Q 0001801368-25-000071"


@responses.activate
def test_a_second_run_writes_nothing(mp):
    """Reading the same facts again leaves every count as it was: no new row, no save, no history."""
    responses.get(facts_url(mp.cik), body=fixture("companyfacts_mp.json"))
    share_counts_refresh(as_of=TODAY)
    saved = dict(mp.share_counts.values_list("as_of", "updated_at"))
    again = share_counts_refresh(as_of=TODAY)
    assert len(responses.calls) == 2  # asked again: the filings watcher has not checked it today
    assert (again.total, again.failed, again.written, again.revised) == (1, 0, 0, 0)
    assert dict(mp.share_counts.values_list("as_of", "updated_at")) == saved
    assert m.ShareCount.history.count() == 3


@responses.activate
def test_a_stewards_count_on_the_same_date_is_kept(mp, steward):
    """A count a steward entered on a date SEC also states is neither overwritten nor re-sourced;
    the other dates are stored from the facts."""
    record_save(
        m.ShareCount(
            company=mp,
            as_of=dt.date(2025, 10, 31),
            shares=Decimal("177000000"),
            source_url="https://secinvestors.com/fin/0001801368-mp-materials-corp-de",
            evidence=m.Evidence.NEWS,
        ),
        user=steward,
        reason="From an aggregator",
    )
    responses.get(facts_url(mp.cik), body=fixture("companyfacts_mp.json"))
    result = share_counts_refresh(as_of=TODAY)
    assert result.written == 2
    manual = mp.share_counts.get(as_of=dt.date(2025, 10, 31))
    assert (manual.shares, manual.origin, manual.accession_number) == (Decimal("177000000"), "manual", "")
    assert manual.history.count() == 1
    assert mp.share_counts.filter(origin=m.ShareCountOrigin.SEC_FACTS).count() == 2


@responses.activate
def test_a_count_sec_revises_is_updated_and_reported(mp):
    """When SEC's facts state another count for a stored date (an amendment), the stored count is
    updated through the records service, with the amendment as its source, and reported as revised."""
    responses.get(facts_url(mp.cik), body=fixture("companyfacts_mp.json"))
    share_counts_refresh(as_of=TODAY)
    payload = json.loads(fixture("companyfacts_mp.json"))
    entries = payload["facts"]["dei"]["EntityCommonStockSharesOutstanding"]["units"]["shares"]
    entries.append(
        {"end": "2025-07-31", "val": 163900000, "accn": "0001801368-25-000080", "form": "10-Q/A", "filed": "2025-12-01"}
    )
    responses.replace(responses.GET, facts_url(mp.cik), body=json.dumps(payload))
    result = share_counts_refresh(as_of=TODAY)
    assert (result.written, result.revised, result.failed) == (0, 1, 0)
    count = mp.share_counts.get(as_of=dt.date(2025, 7, 31))
    assert (count.shares, count.accession_number) == (Decimal("163900000"), "0001801368-25-000080")
    assert count.source_published_on == dt.date(2025, 12, 1)
    assert count.history.count() == 2
    assert count.history.first().history_change_reason == "SEC XBRL company facts: 10-Q/A 0001801368-25-000080"
    assert [(e["kind"], e["message"]) for e in result.errors] == [
        ("revised", "2025-07-31: shares revised from 163,887,502 to 163,900,000")
    ]


@responses.activate
def test_bad_answers_are_recorded_per_company_and_the_others_go_on():
    """A CIK without facts (404), a garbage body, facts without the count and a server error are each
    a recorded failure of their company; the company after them is still stored, and a company with
    no CIK is not asked."""
    names = {
        "0001966983": ("Lithium Americas Corp.", {"status": 404, "body": fixture("companyfacts_missing.xml")}),
        "0001543418": ("Trilogy Metals Inc.", {"body": fixture("companyfacts_garbage.txt")}),
        "0001970622": ("USA Rare Earth, Inc.", {"body": facts_of("companyfacts_no_shares_fact.json", 1970622)}),
        "0001590715": ("American Resources Corp.", {"status": 503, "body": "Service Unavailable"}),
        "0001801368": ("MP Materials Corp.", {"body": fixture("companyfacts_mp.json")}),
    }
    for cik, (name, answer) in names.items():
        company(name, cik)
        responses.get(facts_url(cik), **answer)
    company("Vulcan Elements", None)
    result = share_counts_refresh(as_of=TODAY)
    assert len(responses.calls) == 5
    assert (result.total, result.failed, result.written) == (5, 4, 3)
    assert result.transient_failures == 0  # a facts outage does not make the SEC run retry
    errors = {e["subject"]: (e["kind"], e["message"]) for e in result.errors}
    assert errors == {
        "Lithium Americas Corp. (CIK 0001966983)": ("permanent", "no XBRL company facts for CIK 0001966983"),
        "Trilogy Metals Inc. (CIK 0001543418)": ("transient", "answered HTTP 200 with a body that is not JSON"),
        "USA Rare Earth, Inc. (CIK 0001970622)": (
            "permanent",
            "the company facts have no dei:EntityCommonStockSharesOutstanding",
        ),
        "American Resources Corp. (CIK 0001590715)": ("transient", "server error (HTTP 503)"),
    }
    assert {e["provider"] for e in result.errors} == {"edgar"}
    assert m.ShareCount.objects.exclude(company__cik="0001801368").count() == 0


@responses.activate
def test_entries_that_are_not_counts_are_noted_and_the_good_one_kept(mp):
    """Entries with a count as text, a negative count, no date or a date after their filing are noted
    as rejected (the company is not failed); the good count beside them is stored."""
    responses.get(facts_url(mp.cik), body=fixture("companyfacts_bad_entries.json"))
    result = share_counts_refresh(as_of=TODAY)
    assert (result.failed, result.written) == (0, 1)
    assert [e["kind"] for e in result.errors] == ["rejected"] * 4
    assert stored(mp) == [
        (dt.date(2025, 7, 31), Decimal("163887502"), m.ShareCountOrigin.SEC_FACTS, "0001801368-25-000052")
    ]


@responses.activate
def test_a_count_the_model_refuses_fails_its_company(mp):
    """A count too large for the table is refused by the model's own rules; the company is failed with
    the reason and its other counts are stored."""
    payload = json.loads(fixture("companyfacts_mp.json"))
    payload["facts"]["dei"]["EntityCommonStockSharesOutstanding"]["units"]["shares"][-1]["val"] = 10**19
    responses.get(facts_url(mp.cik), body=json.dumps(payload))
    result = share_counts_refresh(as_of=TODAY)
    assert (result.failed, result.written) == (1, 2)
    assert result.errors[0]["message"].startswith("the count of 2025-10-31 was refused:")
    assert not mp.share_counts.filter(as_of=dt.date(2025, 10, 31)).exists()


@responses.activate
def test_the_hourly_sec_run_reads_share_counts_once_a_day(mp):
    """The scheduled SEC run reads the share counts before the filings; its next run that day, the
    filings watcher having checked the company, reads the filings only."""
    responses.get(facts_url(mp.cik), body=fixture("companyfacts_mp.json"))
    submissions = re.compile(r"https://data\.sec\.gov/submissions/CIK0001801368\.json")
    responses.get(submissions, body=fixture("submissions_mp.json"))
    today = timezone.now().date()
    first = refresh_run_execute(run_id=refresh_request(kind="filings", trigger="schedule", as_of=today).pk)
    assert first.status == m.RefreshRun.Status.SUCCEEDED
    assert list(first.counts) == ["shares", "filings"]
    assert first.counts["shares"]["written"] == mp.share_counts.count() > 0
    second = refresh_run_execute(run_id=refresh_request(kind="filings", trigger="schedule", as_of=today).pk)
    assert second.counts["shares"]["total"] == 0
    assert second.counts["filings"]["total"] == 1
    assert [c.request.url for c in responses.calls].count(facts_url(mp.cik)) == 1
