"""Write then read: every read survives every accepted write.

Random records of every portfolio kind (registry, share counts, production figures, deals of every
status, instruments of every kind, cash flows, marks, prices, FX rates, commodity prices, loans and
their events, floors and their payments, guarantees, milestones, weights)
are written through the write services with dates, amounts and text at the edges of what the
models accept. What the services refuse (a ValidationError) was not accepted and is left out.
The refresh's valuation and snapshot steps then store what they can, and every staff page and
every API read must answer without a server error: a figure that cannot be had is "n/a" with a
reason, never a 500.
"""

from __future__ import annotations

import datetime as dt
import traceback
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import TypeVar

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from portfolio import models as m
from portfolio.api.resources import RESOURCES
from portfolio.book import BOOKS, DIMENSIONS
from portfolio.models.base import EARLIEST_DATE, LATEST_DATE, MONEY, PERCENT, PRICE, QUANTITY, RATE, DecimalShape
from portfolio.models.deals import OPTION_KINDS, UNQUOTED_KINDS
from portfolio.services.milestones import milestone_save
from portfolio.services.records import record_create, record_save
from portfolio.services.snapshots import portfolio_snapshot_record
from portfolio.services.valuations import valuations_compute

M = TypeVar("M", bound=models.Model)

TODAY = timezone.now().date()
DAY = dt.timedelta(days=1)
REASON = "Entered by the write-then-read test"
#: Examples per run: about a minute on two cores, with SQLite or PostgreSQL.
EXAMPLES = 20
CURRENCIES = ["USD", "CAD", "AUD", "JPY"]
SOURCES = ["manual", "simulated", "yahoo", "stooq", "boc", "elsewhere"]

# --- Values at the edges of what the models accept ---------------------------------------------


def mostly(accepted: st.SearchStrategy, refused: st.SearchStrategy, *, one_in: int = 20) -> st.SearchStrategy:
    """Values the models accept, and about one in ``one_in`` that they refuse (so that most
    examples still build a portfolio, and the refusals are exercised too)."""
    return st.sampled_from([accepted] * (one_in - 1) + [refused]).flatmap(lambda strategy: strategy)


def optional(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(st.none(), strategy)


def days(*edges: dt.date, low: dt.date, high: dt.date, outside: list[dt.date]) -> st.SearchStrategy[dt.date]:
    """The edge days, any day in [low, high], and now and then a day outside it (refused)."""
    beyond = st.one_of(
        st.sampled_from(outside),
        st.dates(min_value=low - 5 * 365 * DAY, max_value=low - DAY),
        st.dates(min_value=high + DAY, max_value=high + 5 * 365 * DAY),
    )
    return mostly(st.one_of(st.sampled_from(edges), st.dates(min_value=low, max_value=high)), beyond)


#: Events (an announcement, an acquisition, a cash flow, a mark, an achievement): 1990 to a year
#: ahead, its first and last days and today, and the days just outside.
event_dates = days(
    EARLIEST_DATE,
    EARLIEST_DATE + DAY,
    TODAY - DAY,
    TODAY,
    TODAY + DAY,
    TODAY + 366 * DAY,
    low=EARLIEST_DATE,
    high=TODAY + 366 * DAY,
    outside=[EARLIEST_DATE - DAY, TODAY + 367 * DAY],
)
#: Terms (an expiry, a long-stop date): 1990 to 2100.
term_dates = days(
    EARLIEST_DATE,
    TODAY,
    LATEST_DATE - DAY,
    LATEST_DATE,
    low=EARLIEST_DATE,
    high=LATEST_DATE,
    outside=[EARLIEST_DATE - DAY, LATEST_DATE + DAY],
)
#: Dates the models take as they come (an observation, a loan's term, a publication): any day,
#: the first and last of the calendar included.
any_dates = st.one_of(term_dates, st.sampled_from([dt.date.min, dt.date.max]), st.dates())


#: Swarm testing: in about half the examples every amount lies at the edges of its column (the
#: smallest or the largest it holds), so that extremes meet (an amount at the top converted at
#: the smallest rate); in the others, anywhere.
at_the_edges = st.shared(st.booleans(), key="amounts at the edges")


def numbers(shape: DecimalShape, *, zero: bool = False) -> st.SearchStrategy[Decimal]:
    """Decimals of a column's shape: the smallest and largest it holds, every power of ten in
    between, and any value; zero where the column takes it. Now and then one it refuses: zero
    where it must be positive, a negative, one with a digit too many."""
    places, digits = shape["decimal_places"], shape["max_digits"]
    step = Decimal(1).scaleb(-places)
    top = Decimal(10) ** (digits - places) - step
    edges = st.sampled_from([step, top, *([Decimal(0)] if zero else [])])
    powers = st.integers(-places, digits - places - 1).map(lambda k: Decimal(1).scaleb(k))
    anywhere = st.one_of(
        st.sampled_from([Decimal(1), (top / 2).quantize(step)]),
        edges,
        powers,
        st.decimals(min_value=step, max_value=top, places=places),
    )
    refused = st.sampled_from([-step, -Decimal(1), top + step, step / 10, *([] if zero else [Decimal(0)])])
    return at_the_edges.flatmap(lambda edge: mostly(edges if edge else anywhere, refused))


money, price, quantity, rate = numbers(MONEY), numbers(PRICE), numbers(QUANTITY), numbers(RATE)
amounts = numbers(MONEY, zero=True)  # a cash flow, a mark, a drawn amount: zero is an amount
strikes = numbers(PRICE, zero=True)  # a strike of zero is a share for nothing
percent = mostly(
    st.one_of(
        st.sampled_from([Decimal(0), Decimal(100), Decimal("0.000001"), Decimal("99.999999")]),
        st.decimals(min_value=0, max_value=100, places=PERCENT["decimal_places"]),
    ),
    st.sampled_from([Decimal("100.000001"), Decimal("-0.000001")]),
)
weight = numbers({"max_digits": 12, "decimal_places": 6})


#: Text a steward could paste: quotes, slashes, markup, spreadsheet formulas, right-to-left marks,
#: control characters, letters of every script, and emoji.
AWKWARD = [
    "'",
    '"',
    "/",
    "a/b",
    "\\",
    "../..",
    "<script>alert(1)</script>",
    "{{ x }}",
    "%s %(x)s",
    "=1+2",
    "-1",
    "@SUM(A1)",
    "\u202eevil",
    "Ünïcödé ©",
    "稀土 лития",
    "🪨⛏️",
    "line\nbreak",
    "\x01\x1f\x7f",
    " ",
]
TEXT = st.characters(codec="utf-8", exclude_characters="\x00")


def texts(*, min_size: int = 0, max_size: int = 80) -> st.SearchStrategy[str]:
    awkward = [t for t in AWKWARD if min_size <= len(t) <= max_size]
    return st.one_of(st.sampled_from(awkward), st.text(TEXT, min_size=min_size, max_size=max_size))


def regex(pattern: str, max_size: int) -> st.SearchStrategy[str]:
    return st.from_regex(pattern, fullmatch=True).filter(lambda s: len(s) <= max_size)


urls = st.sampled_from(
    [
        "https://www.sec.gov/Archives/edgar/data/1801368/0001193125-25-278738.htm",
        "https://example.org/a/b?c='d'&e=\"f\"#g",
        "https://xn--exmple-cua.org/\u00fc/\u4e2d\u6587",
        "http://example.org/" + "a" * 470,
    ]
)
references = regex(r"[-a-zA-Z0-9_]{1,60}", 60)
short_names = mostly(
    st.builds(
        "".join,
        st.lists(
            st.tuples(st.sampled_from(["", ".", "_", "-"]), st.text("abcXYZ019", min_size=1, max_size=6)).map("".join),
            min_size=1,
            max_size=5,
        ),
    )
    .map(lambda name: name.lstrip("._-"))
    .filter(lambda name: 0 < len(name) <= 40),
    st.sampled_from(["DOD-OSC", "a.b_c", "A/B", "x y", "a..b"]),
)
countries = mostly(
    st.one_of(st.sampled_from(["US", "CA", "AU", "KR"]), regex(r"[A-Z]{2}", 2)), st.sampled_from(["us", "USA"])
)
currencies = st.sampled_from(CURRENCIES)
forecast_texts = st.one_of(
    st.sampled_from(
        [
            "",
            "late 2027",
            "Q3 2026",
            "H1 2030",
            "2029-30",
            "mid 1990",
            "1900",
            "2099",
            "by end of 2026",
            "year 26",
            "February 30, 2027",
            "31 December 2099",
            "first half of 2028",
        ]
    ),
    texts(max_size=120),
)


def choices(enum: type[models.Choices]) -> st.SearchStrategy[str]:
    return st.sampled_from([value for value, _ in enum.choices])


# --- Writing ------------------------------------------------------------------------------------


class Writer:
    """Writes records through the services; what they refuse is left out."""

    def __init__(self, draw: Callable, user) -> None:
        self.draw, self.user = draw, user
        self.dates: set[dt.date] = set()

    def _accepted(self, write: Callable[[], M], kind: str) -> M | None:
        """The record ``write`` saved, or None when the service refused it (a ValidationError).
        Each is counted (``pytest --hypothesis-show-statistics`` lists what was accepted)."""
        try:
            record = write()
        except ValidationError as exc:
            event(f"{kind} refused ({', '.join(sorted(getattr(exc, 'error_dict', {})))})")
            return None
        event(f"{kind} accepted")
        for field in record._meta.concrete_fields:
            value = getattr(record, field.attname)
            if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
                self.dates.add(value)
        return record

    def save(self, model: type[M], **data) -> M | None:
        """Create one record through ``record_create`` (many-to-many fields included)."""
        kind = model.__name__
        if model in (m.Deal, m.Position, m.CashFlow, m.Loan, m.LoanEvent):  # every status and kind is counted
            kind += f" {data.get('status') or data.get('kind')}"
        return self._accepted(lambda: record_create(model=model, data=data, user=self.user, reason=REASON), kind)

    def change(self, record: M, **data) -> M | None:
        """Change a saved record through ``record_save``; a refused change leaves it as it was."""

        def write():
            for name, value in data.items():
                setattr(record, name, value)
            return record_save(record, user=self.user, reason=REASON)

        changed = self._accepted(write, f"{type(record).__name__} change")
        if changed is None:
            record.refresh_from_db()
        return changed

    def milestone(self, **data) -> m.Milestone | None:
        return self._accepted(
            lambda: milestone_save(milestone=m.Milestone(**data), user=self.user, note=REASON), "Milestone"
        )

    def pick(self, items: list, *, allow_none: bool = False):
        items = list(items)
        if not items:
            return None
        strategy = st.sampled_from(items)
        return self.draw(optional(strategy) if allow_none else strategy)

    def subset(self, items: Iterable[M]) -> list[M]:
        items = list(items)
        return self.draw(st.lists(st.sampled_from(items), unique=True, max_size=3)) if items else []

    def sourced(self) -> dict:
        """Evidence with its source, or (now and then) a claimed source without its address."""
        evidence = self.draw(choices(m.Evidence))
        blank = self.draw(st.booleans() if evidence == m.Evidence.UNVERIFIED else mostly(st.just(False), st.just(True)))
        return {
            "evidence": evidence,
            "source_url": "" if blank else self.draw(urls),
            "source_published_on": self.draw(optional(any_dates)),
        }

    def known_dates(self) -> st.SearchStrategy[dt.date]:
        """Today and the records' dates so far (a closing, a cash flow): a price or an FX rate of
        one of them is the one the figures of that date read."""
        return st.sampled_from([TODAY, *self.shown_dates()])

    def shown_dates(self) -> list[dt.date]:
        """The records' dates that figures can be shown for (1990 to today)."""
        return sorted(d for d in self.dates if EARLIEST_DATE <= d <= TODAY)


def write_portfolio(w: Writer) -> None:
    draw = w.draw
    agencies: list[m.Agency] = []
    for _ in range(draw(st.integers(1, 2))):
        parent = w.pick(agencies, allow_none=True)
        agency = w.save(
            m.Agency,
            short_name=draw(short_names),
            name=draw(texts(min_size=1, max_size=200)),
            country=draw(countries),
            parent=parent,
            **w.sourced(),
        )
        if agency is not None:
            agencies.append(agency)
            if draw(st.booleans()):
                w.save(
                    m.AgencyAlias,
                    agency=agency,
                    alias=draw(texts(min_size=1, max_size=200)),
                    used_from=draw(optional(any_dates)),
                    used_until=draw(optional(any_dates)),
                )
    companies = []
    for _ in range(draw(st.integers(1, 2))):
        company = w.save(
            m.Company,
            name=draw(texts(min_size=1, max_size=200)),
            country=draw(countries),
            is_public=draw(st.booleans()),
            cik=draw(optional(regex(r"[0-9]{10}", 10))),
            description=draw(texts()),
            **w.sourced(),
        )
        if company is not None:
            companies.append(company)
            for _ in range(draw(st.integers(0, 2))):
                w.save(
                    m.ShareCount,
                    company=company,
                    as_of=draw(st.one_of(w.known_dates(), term_dates)),
                    shares=draw(quantity),
                    is_derived=draw(st.booleans()),
                    origin=draw(choices(m.ShareCountOrigin)),  # the application sets it; either may be stored
                    accession_number=draw(st.sampled_from(["", "0001193125-25-278738"])),
                    notes=draw(texts()),
                    **w.sourced(),
                )
    listings = []
    for company in companies:
        for _ in range(draw(st.integers(0, 2))):
            listing = w.save(
                m.Listing,
                company=company,
                ticker=draw(regex(r"[A-Z0-9.\-]{1,20}", 20)),
                exchange=draw(choices(m.Exchange)),
                currency_id=draw(currencies),
                is_primary=draw(st.booleans()),
                is_active=draw(st.booleans()),
                price_providers=draw(
                    mostly(st.sampled_from(["", "simulated", "yahoo,stooq", "csv"]), st.just("manual"))
                ),
                provider_symbols=draw(mostly(st.sampled_from([{}, {"yahoo": "TMQ.TO"}]), st.just({"yahoo": ""}))),
            )
            if listing is not None:
                listings.append(listing)
    commodities = []
    for _ in range(draw(st.integers(1, 2))):
        commodity = w.save(
            m.Commodity,
            code=draw(regex(r"[-a-zA-Z0-9_]{1,40}", 40)),
            name=draw(texts(min_size=1, max_size=120)),
            group=draw(choices(m.Commodity.Group)),
            price_unit=draw(st.one_of(st.sampled_from(["kg", "t", "lb"]), texts(min_size=1, max_size=20))),
        )
        if commodity is not None:
            commodities.append(commodity)
    projects = []
    for _ in range(draw(st.integers(0, 3))):
        if not companies:
            break
        capacity = draw(optional(quantity))
        project = w.save(
            m.Project,
            company=w.pick(companies),
            name=draw(texts(min_size=1, max_size=200)),
            kind=draw(choices(m.Project.Kind)),
            country=draw(countries),
            region=draw(texts(max_size=100)),
            stage=draw(choices(m.ProjectStage)),
            capacity=capacity,
            capacity_unit="" if capacity is None and draw(st.booleans()) else draw(texts(max_size=40)),
            commodities=w.subset(commodities),
            **w.sourced(),
        )
        if project is not None:
            projects.append(project)
            for commodity in w.subset(project.commodities.all()):
                w.save(m.ProjectCommodityWeight, project=project, commodity=commodity, weight=draw(weight))
            for commodity in w.subset(commodities):
                w.save(
                    m.ProductionFigure,
                    project=project,
                    commodity=commodity,
                    period_start=draw(term_dates),
                    period_end=draw(term_dates),
                    produced_t=draw(optional(amounts)),
                    sold_t=draw(optional(amounts)),
                    notes=draw(texts()),
                    **w.sourced(),
                )
    deals = []
    # A deal of every status, and below an instrument of every kind, in every example.
    for status, _ in m.DealStatus.choices:
        if not (agencies and companies):
            break
        company = w.pick(companies)
        # A deal's own dates in order (announced, signed, closed) most of the time, as they happen.
        announced, signed, closed = sorted(draw(st.lists(event_dates, min_size=3, max_size=3)))
        terms = {"announced_on": announced, "signed_on": signed, "closed_on": closed}
        terms = {name: draw(st.sampled_from([value, value, value, None])) for name, value in terms.items()}
        if draw(st.integers(0, 4)) == 0:
            terms = {name: draw(optional(event_dates)) for name in terms}
        deal = w.save(
            m.Deal,
            reference=draw(references),
            title=draw(texts(min_size=1, max_size=250)),
            agency=w.pick(agencies),
            company=company,
            status=status,
            long_stop_on=draw(optional(term_dates)),
            summary=draw(texts()),
            conditions=draw(texts()),
            projects=w.subset(projects),
            **terms,
            **w.sourced(),
        )
        if deal is None:
            continue
        deals.append(deal)
        for project in w.subset(deal.projects.all()):
            w.save(m.DealProjectWeight, deal=deal, project=project, weight=draw(weight))
        w.save(
            m.DealDocument,
            deal=deal,
            title=draw(texts(min_size=1, max_size=300)),
            url=draw(urls),
            published_on=draw(optional(any_dates)),
            accession_number=draw(mostly(st.sampled_from(["", "0001193125-25-278738"]), st.just("12-34"))),
            evidence=draw(choices(m.Evidence)),
        )
    milestones = []
    for _ in range(draw(st.integers(0, 3))):
        project = w.pick(projects, allow_none=True)
        deal = w.pick(deals, allow_none=project is not None)
        if project is None and deal is None:
            break
        milestone = w.milestone(
            project=project,
            deal=deal,
            kind=draw(choices(m.MilestoneKind)),
            title=draw(texts(min_size=1, max_size=250)),
            sequence=draw(mostly(st.sampled_from([0, 1, 32767]), st.just(32768))),
            forecast_text=draw(forecast_texts),
            achieved_on=draw(st.one_of(st.none(), st.none(), event_dates)),
            status=draw(choices(m.MilestoneStatus)),
            notes=draw(texts()),
            **w.sourced(),
        )
        if milestone is not None:
            milestones.append(milestone)
    positions = []
    for kind, _ in m.InstrumentKind.choices:
        if not deals:
            break
        deal = w.pick(deals)
        own = [listing for listing in listings if listing.company_id == deal.company_id]
        listing = w.pick(own if draw(st.integers(0, 5)) else listings, allow_none=True)
        underlying = "" if listing is not None and draw(st.booleans()) else draw(texts(min_size=1, max_size=200))
        option, convertible = kind in OPTION_KINDS, kind == m.InstrumentKind.CONVERTIBLE_PREFERRED
        position = w.save(
            m.Position,
            deal=deal,
            kind=kind,
            label=draw(texts(min_size=1, max_size=200)),
            listing=listing,
            underlying=underlying,
            currency_id=draw(currencies),
            quantity=draw(optional(quantity) if kind in UNQUOTED_KINDS else quantity),
            acquired_on=draw(st.one_of(st.sampled_from([deal.closed_on, deal.signed_on]), optional(event_dates))),
            strike=draw(strikes if option else optional(strikes)),
            shares_per_warrant=draw(st.one_of(st.just(Decimal(1)), quantity)),
            expires_on=draw(optional(term_dates)),
            exercisable_from=draw(optional(any_dates)),
            exercisability_condition=draw(st.one_of(st.just(""), texts(max_size=300))),
            counterparty=draw(texts(max_size=200)),
            gate_milestone=w.pick(milestones, allow_none=True),
            exercise_probability_pct=draw(optional(percent)),
            stated_value=draw(price if convertible else optional(price)),
            conversion_price=draw(price if convertible else optional(price)),
            pik_rate_pct=draw(optional(percent)),
            ownership_cap_pct=draw(optional(percent)),
            notes=draw(texts()),
            **w.sourced(),
        )
        if position is not None:
            positions.append(position)
    flows, marks = [], []
    for _ in range(draw(st.integers(1, 6))):
        if not positions:
            break
        flow = w.save(
            m.CashFlow,
            position=w.pick(positions),
            kind=draw(choices(m.CashFlowKind)),
            occurred_on=draw(st.one_of(w.known_dates(), event_dates)),
            amount=draw(amounts),
            currency_id=draw(currencies),
            quantity=draw(optional(quantity)),
            memo=draw(texts(max_size=300)),
            **w.sourced(),
        )
        flows += [flow] if flow else []
    for _ in range(draw(st.integers(0, 3))):
        if not positions:
            break
        mark = w.save(
            m.ManualMark,
            position=w.pick(positions),
            as_of=draw(st.one_of(w.known_dates(), event_dates)),
            currency_id=draw(currencies),
            value=draw(amounts),
            reason=draw(texts(min_size=1)),
            source_url=draw(st.one_of(st.just(""), urls)),
        )
        marks += [mark] if mark else []
    # The FX rate of every currency on the days money moved (and today): the rates the ledger
    # and the valuations read, each currency at its own level (from the smallest rate a column
    # holds to the largest), now and then another; and a few rates of any pair on any day.
    money_days = sorted({TODAY} | {flow.occurred_on for flow in flows} | {mark.as_of for mark in marks})
    for quote in CURRENCIES[1:]:
        level = draw(rate)
        for on in money_days:
            rate_of_day = draw(st.one_of(st.just(level), rate))
            w.save(
                m.FxRate, base_id="USD", quote_id=quote, on=on, source=draw(st.sampled_from(SOURCES)), rate=rate_of_day
            )
    for _ in range(draw(st.integers(0, 3))):
        base = draw(st.sampled_from(CURRENCIES))
        w.save(
            m.FxRate,
            base_id=base,
            quote_id=draw(st.sampled_from([c for c in CURRENCIES if c != base] + [base])),
            on=draw(any_dates),
            source=draw(st.sampled_from(SOURCES)),
            rate=draw(rate),
        )
    for _ in range(draw(st.integers(1, 6))):
        if not listings:
            break
        low, high = draw(optional(price)), draw(optional(price))
        w.save(
            m.SecurityPrice,
            listing=w.pick(listings),
            on=draw(st.one_of(w.known_dates(), any_dates)),
            source=draw(st.sampled_from(SOURCES)),
            close=draw(price),
            open=draw(optional(price)),
            high=high,
            low=low,
            volume=draw(optional(mostly(st.sampled_from([0, 1, 2**63 - 1]), st.sampled_from([2**63, -1])))),
        )
    if listings and draw(st.booleans()):
        # A run of daily closes of one source, enough for a volatility (options are valued by it).
        listing, end = w.pick(listings), draw(w.known_dates())
        closes = draw(st.lists(price, min_size=20, max_size=25))
        source = draw(st.sampled_from(["manual", "simulated", "yahoo"]))
        for i, close in enumerate(closes):
            w.save(m.SecurityPrice, listing=listing, on=end - i * DAY, source=source, close=close)
    for _ in range(draw(st.integers(1, 3))):
        if not commodities:
            break
        w.save(
            m.CommodityPrice,
            commodity=w.pick(commodities),
            on=draw(st.one_of(w.known_dates(), any_dates)),
            source=draw(st.sampled_from(SOURCES)),
            currency_id=draw(currencies),
            price=draw(price),
        )
    for _ in range(draw(st.integers(0, 2))):
        if not deals:
            break
        loan = w.save(
            m.Loan,
            deal=w.pick(deals),
            label=draw(texts(min_size=1, max_size=200)),
            status=draw(st.one_of(st.just(m.Loan.Status.COMMITTED), choices(m.Loan.Status))),
            currency_id=draw(currencies),
            principal=draw(money),
            benchmark=draw(texts(max_size=80)),
            spread_bps=draw(optional(numbers({"max_digits": 8, "decimal_places": 2}))),
            fixed_rate_pct=draw(optional(percent)),
            term_years=draw(optional(numbers({"max_digits": 5, "decimal_places": 2}))),
            starts_on=draw(optional(any_dates)),
            matures_on=draw(optional(any_dates)),
            is_secured=draw(st.sampled_from([None, True, False])),
            gate_milestone=w.pick(milestones, allow_none=True),
            notes=draw(texts()),
            **w.sourced(),
        )
        for _ in range(draw(st.integers(0, 3)) if loan is not None else 0):
            w.save(
                m.LoanEvent,
                loan=loan,
                kind=draw(choices(m.LoanEventKind)),
                occurred_on=draw(st.one_of(w.known_dates(), event_dates)),
                amount=draw(money),
                memo=draw(texts(max_size=300)),
                **w.sourced(),
            )
    for _ in range(draw(st.integers(0, 2))):
        if not (deals and commodities):
            break
        floor = w.save(
            m.PriceFloor,
            deal=w.pick(deals),
            commodity=w.pick(commodities),
            currency_id=draw(currencies),
            floor_price=draw(price),
            covers=draw(choices(m.CoveredMeasure)),
            upside_share_pct=draw(optional(percent)),
            starts_on=draw(optional(any_dates)),
            ends_on=draw(optional(any_dates)),
            notes=draw(texts()),
            **w.sourced(),
        )
        for _ in range(draw(st.integers(0, 2)) if floor is not None else 0):
            w.save(
                m.PriceFloorPayment,
                floor=floor,
                period_start=draw(term_dates),
                period_end=draw(term_dates),
                currency_id=draw(currencies),
                amount=draw(amounts),
                notes=draw(texts()),
                **w.sourced(),
            )
    if deals:
        volume = draw(optional(quantity))
        w.save(
            m.Offtake,
            deal=w.pick(deals),
            product=draw(texts(min_size=1, max_size=200)),
            commodity=w.pick(commodities, allow_none=True),
            buyer=draw(texts(min_size=1, max_size=200)),
            volume=volume,
            volume_unit="" if volume is None else draw(texts(min_size=1, max_size=40)),
            share_of_output_pct=draw(optional(percent)),
            pricing_formula=draw(texts()),
            starts_on=draw(optional(any_dates)),
            ends_on=draw(optional(any_dates)),
            **w.sourced(),
        )
        w.save(
            m.Grant,
            deal=w.pick(deals),
            program=draw(texts(min_size=1, max_size=200)),
            currency_id=draw(currencies),
            amount=draw(money),
            awarded_on=draw(optional(any_dates)),
            notes=draw(texts()),
            **w.sourced(),
        )
        w.save(
            m.Guarantee,
            deal=w.pick(deals),
            label=draw(texts(min_size=1, max_size=200)),
            currency_id=draw(currencies),
            amount_per_year=draw(money),
            starts_on=draw(optional(any_dates)),
            ends_on=draw(optional(any_dates)),
            notes=draw(texts()),
            **w.sourced(),
        )
    # Changes: a milestone achieved (its gates open), a deal moving on in its lifecycle.
    if milestones and draw(st.booleans()):
        w.change(w.pick(milestones), achieved_on=draw(event_dates), status=m.MilestoneStatus.ACHIEVED)
    if deals and draw(st.booleans()):
        w.change(w.pick(deals), status=draw(choices(m.DealStatus)), closed_on=draw(optional(event_dates)))


def refresh_valuations(w: Writer) -> dt.date:
    """Store the valuations and the snapshot of today and of a date of the records, as a refresh
    and a backfill would; returns that date."""
    day = w.draw(st.sampled_from(w.shown_dates() or [TODAY]), label="valued date")
    for as_of in sorted({TODAY, day}):
        valuations_compute(as_of=as_of)
        portfolio_snapshot_record(as_of=as_of)
    return day


# --- Reading ------------------------------------------------------------------------------------


def as_of_choices(day: dt.date) -> list[str]:
    """The dates figures are asked for: none (the default), the first and the last shown
    (1990-01-01, today), and a date of the records."""
    return ["", EARLIEST_DATE.isoformat(), TODAY.isoformat(), day.isoformat()]


def page_urls(draw: Callable, day: dt.date) -> list[str]:
    """Every staff page: the dashboard and the report in every book (each as of one of the edge
    dates or a date of the records, drawn), every deal (as of one of its own dates too), company,
    project and agency, the lists, and every export."""
    choose = st.sampled_from(as_of_choices(day))
    dashboard, report = reverse("dashboard"), reverse("report")
    urls = [dashboard, report, f"{dashboard}?as_of={LATEST_DATE}", f"{report}?as_of={EARLIEST_DATE - DAY}"]
    for basis in BOOKS:
        urls.append(f"{dashboard}?basis={basis}&as_of={draw(choose)}")
        urls.append(f"{report}?basis={basis}&as_of={draw(choose)}")
    breakdown = draw(st.sampled_from(["agency", "commodity", "company"]))
    urls.append(f"{dashboard}?breakdown={breakdown}&basis={draw(st.sampled_from(list(BOOKS)))}&as_of={draw(choose)}")
    urls += [reverse("deals"), f"{reverse('deals')}?sort=value", f"{reverse('deals')}?sort=status&status=closed"]
    urls += [reverse("milestones"), f"{reverse('milestones')}?needs_review=on", reverse("refresh-runs")]
    for deal in m.Deal.objects.order_by("pk"):
        own = [d.isoformat() for d in (deal.announced_on, deal.signed_on, deal.closed_on, deal.long_stop_on) if d]
        urls.append(f"{reverse('deal', args=[deal.reference])}?as_of={draw(st.sampled_from(as_of_choices(day) + own))}")
    urls += [reverse("company", args=[pk]) for pk in m.Company.objects.values_list("pk", flat=True)]
    urls += [reverse("project", args=[pk]) for pk in m.Project.objects.values_list("pk", flat=True)]
    urls += [reverse("agency", args=[name]) for name in m.Agency.objects.values_list("short_name", flat=True)]
    urls += [reverse("refresh-run", args=[pk]) for pk in m.RefreshRun.objects.values_list("pk", flat=True)]
    for fmt in ("csv", "xlsx"):
        urls.append(f"{reverse('export-positions', args=[fmt])}?as_of={draw(choose)}")
        urls += [reverse("export-cash-flows", args=[fmt]), reverse("export-milestones", args=[fmt])]
    return urls


def api_urls(draw: Callable, day: dt.date) -> list[str]:
    """Every API read: each resource's list and its latest row, the summary in every book
    and by every dimension, the value series in every book and by every dimension (each as of one
    of the edge dates or a date of the records, drawn), and the projects' progress."""
    urls = []
    served: list[tuple[str, type[models.Model]]] = [(prefix, resource.model) for prefix, resource in RESOURCES.items()]
    served.append(("refresh-runs", m.RefreshRun))
    for prefix, model in served:
        last = model._default_manager.order_by("pk").values_list("pk", flat=True).last()
        urls += [f"/api/v1/{prefix}/", *([f"/api/v1/{prefix}/{last}/"] if last else [])]
    urls.append("/api/v1/deals/?search=%2F%27%22&ordering=-announced_on")
    summary, series = "/api/v1/analytics/summary/", "/api/v1/analytics/value-series/"
    choose = st.sampled_from(as_of_choices(day))
    ten_years_ago = max(TODAY - 3660 * DAY, EARLIEST_DATE)
    ranges = st.sampled_from(
        ["", f"start={EARLIEST_DATE}&end={EARLIEST_DATE}", f"start={ten_years_ago}&end={TODAY}", f"start={day}"]
    )
    for basis in BOOKS:
        urls.append(f"{summary}?basis={basis}&as_of={draw(choose)}")
        urls.append(f"{series}?basis={basis}&{draw(ranges)}")
    for dimension in DIMENSIONS:
        basis = draw(st.sampled_from(list(BOOKS)))
        urls.append(f"{summary}?group_by={dimension}&basis={basis}&as_of={draw(choose)}")
        if dimension != "total":
            interval = draw(st.sampled_from(["day", "week", "month"]))
            urls.append(f"{series}?group_by={dimension}&basis={basis}&interval={interval}&{draw(ranges)}")
    urls += [f"{summary}?as_of={LATEST_DATE}", f"{series}?end={TODAY + DAY}", "/api/v1/analytics/project-progress/"]
    return urls


def read(client: Client, url: str) -> str | None:
    """Why ``url`` failed (a server error, with the exception and where in the project it was
    raised), or None when it answered."""
    response = client.get(url)
    if response.status_code < 500:
        return None
    reason = f"GET {url} answered {response.status_code}"
    exc_info = getattr(response, "exc_info", None)  # the test client's, which the stubs leave out
    if exc_info:
        _, exc, tb = exc_info
        frames: list[traceback.FrameSummary | None] = [
            frame for frame in traceback.extract_tb(tb) if "/portfolio/" in frame.filename
        ] or [None]
        where = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames[-1] else ""
        reason += f": {type(exc).__name__}: {exc}{where}"
    return reason


# --- The test -------------------------------------------------------------------------------------


@pytest.fixture
def reader(steward):
    """The steward (a superuser), logged in once for every example (the session outlives each
    example's rollback); server errors are answered as they would be, 500, not raised."""
    client = Client(raise_request_exception=False)
    client.force_login(steward)
    return steward, client


@pytest.mark.django_db
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    # No shrinking: an example is seconds of writes and requests, and a failure names its URLs,
    # its exception and every value drawn, which reproduce it (the examples are the same each run).
    phases=[Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_every_read_survives_every_accepted_write(reader, data):
    """For portfolios written at random through the write services, with values at the edges of what
    they accept, every staff page and API read answers without a server error."""
    user, client = reader
    cache.clear()  # the figures are computed afresh from this example's records
    with transaction.atomic():
        writer = Writer(data.draw, user)
        write_portfolio(writer)
        day = refresh_valuations(writer)
        assert client.get(reverse("dashboard")).status_code == 200, "the reader is not logged in"
        urls = [*page_urls(data.draw, day), *api_urls(data.draw, day)]
        failures = [reason for url in urls if (reason := read(client, url))]
        transaction.set_rollback(True)  # the next example starts from an empty portfolio
    assert not failures, "\n".join(failures)
