"""SEC EDGAR submissions (https://data.sec.gov/submissions/CIK##########.json) and XBRL company
facts (https://data.sec.gov/api/xbrl/companyfacts/CIK##########.json), no key needed.

EDGAR asks for a User-Agent naming the organisation and a contact address, and at most 10
requests a second from all machines together; both are enforced here (the rate through the
shared provider gate).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from portfolio.integrations.market_data import http
from portfolio.integrations.market_data.errors import (
    InvalidResponseError,
    PermanentProviderError,
    UnknownSymbolError,
)

NAME = "edgar"
URL = "https://data.sec.gov/submissions/CIK{cik}.json"
FACTS_URL = "https://data.sec.gov/api/xbrl/companyfacts/CIK{cik}.json"
ARCHIVE = "https://www.sec.gov/Archives/edgar/data/{cik}/{accession}/{document}"
#: The cover page's count of common shares outstanding, in shares, as of a date near the filing.
SHARES_FACT = ("dei", "EntityCommonStockSharesOutstanding")
ACCESSION = re.compile(r"^\d{10}-\d{2}-\d{6}$")


@dataclass(frozen=True)
class Filing:
    accession_number: str
    form: str
    filed_on: date
    report_date: date | None
    accepted_at: datetime | None
    primary_document: str
    description: str
    items: str
    url: str


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _datetime(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
    except ValueError:
        return None


def recent_filings(cik: str) -> list[Filing]:
    """The company's recent filings, newest first, as EDGAR lists them."""
    headers = {"User-Agent": http.user_agent(), "Accept": "application/json"}
    response = http.get(NAME, URL.format(cik=cik.zfill(10)), headers=headers)
    if response.status_code == 404:
        raise UnknownSymbolError(NAME, f"no submissions for CIK {cik}")
    payload = http.json_body(NAME, response)
    try:
        recent = payload["filings"]["recent"]
        accessions = recent["accessionNumber"]
        columns = {
            key: recent.get(key) or [""] * len(accessions)
            for key in (
                "form",
                "filingDate",
                "reportDate",
                "acceptanceDateTime",
                "primaryDocument",
                "primaryDocDescription",
                "items",
            )
        }
    except (KeyError, TypeError) as exc:
        raise InvalidResponseError(NAME, "answer has no filings.recent arrays") from exc
    if any(len(values) != len(accessions) for values in columns.values()):
        raise InvalidResponseError(NAME, "the filings arrays differ in length")
    filings = []
    for i, accession in enumerate(accessions):
        filed_on = _date(columns["filingDate"][i])
        if filed_on is None:
            raise InvalidResponseError(NAME, f"filing {accession} has no valid filing date")
        document = columns["primaryDocument"][i] or ""
        filings.append(
            Filing(
                accession_number=accession,
                form=columns["form"][i],
                filed_on=filed_on,
                report_date=_date(columns["reportDate"][i]),
                accepted_at=_datetime(columns["acceptanceDateTime"][i]),
                primary_document=document,
                description=(columns["primaryDocDescription"][i] or "")[:300],
                items=(columns["items"][i] or "")[:120],
                url=ARCHIVE.format(cik=int(cik), accession=accession.replace("-", ""), document=document),
            )
        )
    return sorted(filings, key=lambda f: (f.filed_on, f.accession_number), reverse=True)


@dataclass(frozen=True)
class ShareCountFact:
    """A company's common shares outstanding on a date, as a filing's cover page states it."""

    as_of: date
    shares: int
    accession_number: str
    form: str
    filed_on: date
    url: str  # the filing's index in the EDGAR archive


@dataclass(frozen=True)
class SharesOutstanding:
    """The counts read from the company facts, one per date, newest first, and each entry left
    out with the reason (a count that is not a positive whole number, a date that is not one)."""

    counts: list[ShareCountFact]
    rejected: list[str]


def filing_index_url(cik: str | int, accession_number: str) -> str:
    """The filing's folder in the EDGAR archive, which lists its documents."""
    return ARCHIVE.format(cik=int(cik), accession=accession_number.replace("-", ""), document="")


def shares_outstanding(cik: str) -> SharesOutstanding:
    """The company's shares outstanding by date, from ``dei:EntityCommonStockSharesOutstanding``
    of its XBRL company facts.

    Raises UnknownSymbolError when EDGAR has no company facts for the CIK (HTTP 404),
    PermanentProviderError when the facts carry no count of shares outstanding, and
    InvalidResponseError for an answer that is not company facts (not JSON, another shape,
    another company).
    """
    headers = {"User-Agent": http.user_agent(), "Accept": "application/json"}
    response = http.get(NAME, FACTS_URL.format(cik=cik.zfill(10)), headers=headers, missing_is_answer=True)
    if response.status_code == 404:
        raise UnknownSymbolError(NAME, f"no XBRL company facts for CIK {cik}")
    return shares_from_facts(cik, http.json_body(NAME, response))


def shares_from_facts(cik: str, payload: Any) -> SharesOutstanding:
    """Read the counts of shares outstanding from a company-facts answer (see ``shares_outstanding``).

    An entry whose count is not a positive whole number, whose accession number is malformed, or
    whose dates are not dates (or that is dated after its filing) is left out and noted. Where
    several filings state a count on the same date (a report and its amendment), the latest filed
    is kept.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("facts"), dict):
        raise InvalidResponseError(NAME, "answer has no facts object: not XBRL company facts")
    stated_cik = payload.get("cik")
    if stated_cik is not None and str(stated_cik).lstrip("0") != cik.lstrip("0"):
        raise InvalidResponseError(NAME, f"answer is for CIK {stated_cik}, not {cik}")
    taxonomy, concept = SHARES_FACT
    fact = (payload["facts"].get(taxonomy) or {}).get(concept)
    if fact is None:
        raise PermanentProviderError(NAME, f"the company facts have no {taxonomy}:{concept}")
    entries = fact.get("units", {}).get("shares") if isinstance(fact, dict) else None
    if not isinstance(entries, list):
        raise InvalidResponseError(NAME, f"{taxonomy}:{concept} has no list of counts in shares")
    latest: dict[date, ShareCountFact] = {}
    rejected: list[str] = []
    for entry in entries:
        count = _share_count(cik, entry)
        if isinstance(count, str):
            rejected.append(count)
            continue
        kept = latest.get(count.as_of)
        if kept is None or (count.filed_on, count.accession_number) > (kept.filed_on, kept.accession_number):
            latest[count.as_of] = count
    counts = sorted(latest.values(), key=lambda c: c.as_of, reverse=True)
    return SharesOutstanding(counts=counts, rejected=rejected)


def _share_count(cik: str, entry: Any) -> ShareCountFact | str:
    """One entry of the fact as a count, or why it was left out."""
    if not isinstance(entry, dict):
        return f"entry {str(entry)[:40]!r} is not an object"
    accession = entry.get("accn")
    label = f"entry {str(accession)[:25]} ending {str(entry.get('end'))[:12]}"
    if not isinstance(accession, str) or not ACCESSION.match(accession):
        return f"{label}: accession number {str(accession)[:25]!r} is not one"
    end = _date(entry["end"]) if isinstance(entry.get("end"), str) else None
    filed = _date(entry["filed"]) if isinstance(entry.get("filed"), str) else None
    if end is None or filed is None:
        return f"{label}: end {str(entry.get('end'))[:12]!r} or filed {str(entry.get('filed'))[:12]!r} is not a date"
    if end > filed:
        return f"{label}: the count is dated {end}, after its filing on {filed}"
    value = entry.get("val")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        return f"{label}: {str(value)[:30]!r} is not a whole number of shares"
    if value <= 0:
        return f"{label}: {value} shares is not a positive count"
    return ShareCountFact(
        as_of=end,
        shares=value,
        accession_number=accession,
        form=str(entry.get("form") or "")[:20],
        filed_on=filed,
        url=filing_index_url(cik, accession),
    )
