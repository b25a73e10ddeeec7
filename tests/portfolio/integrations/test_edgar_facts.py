"""SEC XBRL company facts against stored answers: the cover-page counts of shares outstanding are
read with their dates and filings, and every other answer is a classified error."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import responses

from portfolio.integrations import edgar
from portfolio.integrations import market_data as md

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "edgar"
FACTS = "https://data.sec.gov/api/xbrl/companyfacts/CIK0001801368.json"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


@responses.activate
def test_the_counts_are_read_with_their_dates_and_filings(settings):
    """Each date's count comes with its filing (accession number, form, filing date and the filing's
    index in the archive), newest first; the date a 10-K and its amendment both state is kept once,
    from the amendment; the SEC is told who is calling, at the ten-digit CIK's address."""
    settings.LODESTONE_CONTACT_EMAIL = "ops@agency.example.gov"
    responses.get(FACTS, body=fixture("companyfacts_mp.json"), content_type="application/json")
    facts = edgar.shares_outstanding("1801368")
    assert [(c.as_of, c.shares, c.form) for c in facts.counts] == [
        (dt.date(2025, 10, 31), 176812345, "10-Q"),
        (dt.date(2025, 7, 31), 163887502, "10-Q"),
        (dt.date(2025, 2, 14), 163612004, "10-K/A"),
        (dt.date(2021, 2, 19), 171483914, "10-K"),
    ]
    latest = facts.counts[0]
    assert latest.accession_number == "0001801368-25-000071"
    assert latest.filed_on == dt.date(2025, 11, 6)
    assert latest.url == "https://www.sec.gov/Archives/edgar/data/1801368/000180136825000071/"
    assert facts.counts[2].accession_number == "0001801368-25-000031"
    assert facts.rejected == []
    assert "ops@agency.example.gov" in responses.calls[0].request.headers["User-Agent"]


@responses.activate
def test_entries_that_are_not_counts_are_left_out_and_noted():
    """A count given as text, a negative count, a date that is no date and a count dated after its
    filing are each left out with the reason; the good count beside them is kept."""
    responses.get(FACTS, body=fixture("companyfacts_bad_entries.json"), content_type="application/json")
    facts = edgar.shares_outstanding("0001801368")
    assert [(c.as_of, c.shares) for c in facts.counts] == [(dt.date(2025, 7, 31), 163887502)]
    assert len(facts.rejected) == 4
    text, negative, no_date, after_filing = facts.rejected
    assert "'163612004' is not a whole number of shares" in text
    assert "-163700000 shares is not a positive count" in negative
    assert "'2025-13-01'" in no_date
    assert "is not a date" in no_date
    assert "dated 2025-12-31, after its filing on 2025-11-06" in after_filing


@responses.activate
@pytest.mark.parametrize(
    ("status", "body", "error", "message"),
    [
        (404, fixture("companyfacts_missing.xml"), md.UnknownSymbolError, "no XBRL company facts for CIK"),
        (200, fixture("companyfacts_no_shares_fact.json"), md.PermanentProviderError, "no dei:EntityCommonStock"),
        (200, fixture("companyfacts_garbage.txt"), md.InvalidResponseError, "not JSON"),
        (200, '{"cik": 1801368, "entityName": "MP"}', md.InvalidResponseError, "no facts object"),
        (503, "Service Unavailable", md.TransientProviderError, r"server error \(HTTP 503\)"),
        (429, "Too Many Requests", md.RateLimitedError, "rate limited"),
    ],
)
def test_answers_without_counts_are_classified_errors(status, body, error, message):
    """A CIK without facts (404 with EDGAR's XML error page) and facts without the count are
    permanent errors; a body cut off mid-JSON, JSON of another shape, a server error and a rate
    limit are transient (tried again later)."""
    responses.get(FACTS, body=body, status=status)
    with pytest.raises(error, match=message) as excinfo:
        edgar.shares_outstanding("0001801368")
    assert excinfo.value.retryable == issubclass(error, md.TransientProviderError)
    assert excinfo.value.provider == "edgar"


def test_facts_of_another_company_are_refused():
    """An answer naming another CIK than the one asked for is not read as this company's counts."""
    payload = json.loads(fixture("companyfacts_mp.json"))
    with pytest.raises(md.InvalidResponseError, match="answer is for CIK 1801368, not 0001966983"):
        edgar.shares_from_facts("0001966983", payload)


def test_a_whole_number_written_as_a_decimal_is_a_count():
    """A count written 176812345.0 is the whole number it is; 1.5 shares is not a count."""
    payload = json.loads(fixture("companyfacts_mp.json"))
    entries = payload["facts"]["dei"]["EntityCommonStockSharesOutstanding"]["units"]["shares"]
    entries[-1]["val"] = 176812345.0
    entries[-2]["val"] = 1.5
    facts = edgar.shares_from_facts("0001801368", payload)
    assert facts.counts[0].shares == 176812345
    assert isinstance(facts.counts[0].shares, int)
    assert [c.as_of for c in facts.counts] == [dt.date(2025, 10, 31), dt.date(2025, 2, 14), dt.date(2021, 2, 19)]
    assert facts.rejected == ["entry 0001801368-25-000052 ending 2025-07-31: '1.5' is not a whole number of shares"]
