"""SEC EDGAR submissions (https://data.sec.gov/submissions/CIK##########.json), no key needed.

EDGAR asks for a User-Agent naming the organisation and a contact address, and at most 10
requests a second from all machines together; both are enforced here (the rate through the
shared provider gate).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from portfolio.integrations.market_data import http
from portfolio.integrations.market_data.errors import InvalidResponseError, UnknownSymbolError

NAME = "edgar"
URL = "https://data.sec.gov/submissions/CIK{cik}.json"
ARCHIVE = "https://www.sec.gov/Archives/edgar/data/{cik}/{accession}/{document}"


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
