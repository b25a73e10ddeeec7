"""Fetch FX rates and prices from the providers and store them, idempotently.

Network calls happen outside any transaction; each batch of results is then written in one
transaction with INSERT ... ON CONFLICT UPDATE, so a rerun for the same dates leaves the same
rows and a failure leaves no half-written batch. A stored value that a provider later revises
is updated and the revision is reported in the run, never overwritten silently.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from typing import NamedTuple, TypeVar

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Min, OuterRef, Subquery
from django.utils import timezone

from portfolio.book.fx import FX_LOOKBACK_DAYS
from portfolio.integrations import market_data as md
from portfolio.models import (
    SIMULATED_SOURCE,
    CashFlow,
    Commodity,
    CommodityPrice,
    FxRate,
    Guarantee,
    Listing,
    Loan,
    Offtake,
    Position,
    PriceFloor,
    PriceStatus,
    SecurityPrice,
)
from portfolio.selectors import listing_provider_order, listings_to_price

from .bulk import copy_upsert
from .kept_ledgers import ledgers_rebuild_for_rates
from .steps import StepResult

logger = logging.getLogger(__name__)
BATCH_SIZE = 50  # listings fetched before one write

P = TypeVar("P")


def _usd_rates(provider: md.FxProvider, *, currency: str, start: date, end: date) -> md.Series:
    return provider.daily_rates("USD", currency, start, end)


def _commodity_prices(provider: md.CommodityProvider, *, code: str, start: date, end: date) -> md.Series:
    return provider.daily_commodity_prices(code, start, end)


def _bars(provider: md.PriceProvider, *, listing: Listing, start: date | None, latest: dict, as_of: date) -> md.Series:
    """A listing's daily bars from ``provider``, from ``start`` or else from where that provider's
    own stored history ends."""
    begin = start or _fetch_start(latest.get((listing.pk, provider.name)), as_of)
    return provider.daily_bars(listing.symbol_for(provider.name), begin, as_of)


def _fetch_with_fallback(
    names: list[str],
    factory: Callable[[str], P],
    call: Callable[[P], md.Series],
    result: StepResult,
    subject: str,
    *,
    require_points: bool = True,
) -> tuple[md.Series | None, bool]:
    """Try providers in order; return the first series and whether any provider called the symbol unknown.

    Every failure is recorded in ``result``; when all providers fail the subject counts as failed
    (and as failed transiently when no provider gave a permanent answer). An empty answer for a
    range that should hold data (``require_points``) counts as that provider's failure.
    """
    unknown = False
    for name in names:
        try:
            provider = factory(name)
            series = md.provider_gate(name).call(partial(call, provider))
        except md.UnknownSymbolError as exc:
            unknown = True
            result.error(subject, exc.detail, provider=name, kind="unknown_symbol")
        except md.RateLimitedError as exc:
            result.error(subject, exc.detail, provider=name, kind="rate_limited")
        except md.TransientProviderError as exc:
            result.error(subject, exc.detail, provider=name, kind="transient")
        except md.PermanentProviderError as exc:
            result.error(subject, exc.detail, provider=name, kind="permanent")
        else:
            for note in series.rejected:
                result.error(subject, f"rejected {note}", provider=name, kind="rejected")
            if require_points and not series.points:
                result.error(subject, "answered with no data for the dates asked", provider=name, kind="transient")
                continue
            return series, unknown
    # Every provider failed for this subject.
    result.failed += 1
    if all(e["kind"] in ("transient", "rate_limited") for e in result.errors if e["subject"] == subject):
        result.transient_failures += 1
    return None, unknown


def _has_weekdays(start: date, end: date, minimum: int = 2) -> bool:
    """Whether [start, end] holds at least ``minimum`` weekdays (markets publish then)."""
    count, day = 0, start
    while day <= end and count < minimum:
        count += day.weekday() < 5
        day += timedelta(days=1)
    return count >= minimum


def _fetch_start(latest: date | None, as_of: date) -> date:
    """Re-read the last few stored days (to catch revisions) or load a history on first use."""
    if latest is None:
        return as_of - timedelta(days=settings.LODESTONE_PRICE_HISTORY_DAYS)
    return min(latest - timedelta(days=3), as_of)


# --- FX -------------------------------------------------------------------------------------


def fx_currencies_needed() -> list[str]:
    """Currencies other than USD that listings, positions, cash flows, marks, loans, floors,
    guarantees or commodity prices use."""
    codes = set(Listing.objects.filter(is_active=True).values_list("currency_id", flat=True))
    codes |= set(Position.objects.values_list("currency_id", flat=True))
    codes |= set(Position.objects.values_list("cash_flows__currency_id", flat=True))
    codes |= set(Position.objects.values_list("manual_marks__currency_id", flat=True))
    codes |= set(Loan.objects.values_list("currency_id", flat=True))
    codes |= set(PriceFloor.objects.values_list("currency_id", flat=True))
    codes |= set(Guarantee.objects.values_list("currency_id", flat=True))
    codes |= set(CommodityPrice.objects.values_list("currency_id", flat=True).distinct())
    return sorted(code for code in codes if code and code != "USD")


def fx_refresh(*, as_of: date, start: date | None = None) -> StepResult:
    """Fetch USD/<ccy> rates up to ``as_of`` for every currency in use and store them.

    Side effects: FxRate rows (one transaction per currency). Idempotent per (pair, day, source).
    """
    result = StepResult("fx")
    order = list(settings.LODESTONE_FX_PROVIDERS)
    for currency in fx_currencies_needed():
        result.total += 1
        subject = f"USD/{currency}"
        stored_range = FxRate.objects.filter(base_id="USD", quote_id=currency).aggregate(
            first=Min("on"), latest=Max("on")
        )
        begin = start or _fetch_start(stored_range["latest"], as_of)
        # Money paid before the stored rates begin (a stake bought years ago) needs the rate of its day.
        first_flow = CashFlow.objects.filter(currency_id=currency).aggregate(on=Min("occurred_on"))["on"]
        if first_flow and first_flow < begin and (stored_range["first"] is None or first_flow < stored_range["first"]):
            begin = first_flow - timedelta(days=FX_LOOKBACK_DAYS)
        series, _ = _fetch_with_fallback(
            order,
            md.fx_provider,
            partial(_usd_rates, currency=currency, start=begin, end=as_of),
            result,
            subject,
            require_points=_has_weekdays(begin, as_of),
        )
        if series is None:
            continue
        rows = [
            FxRate(base_id="USD", quote_id=currency, on=point.on, source=series.provider, rate=point.rate)
            for point in series.points
        ]
        result.simulated |= series.provider == SIMULATED_SOURCE
        stored = FxRate.objects.filter(base_id="USD", quote_id=currency, source=series.provider)
        result.revised += _report_revisions(result, subject, stored, rows, "rate")
        with transaction.atomic():
            FxRate.objects.bulk_create(
                rows,
                update_conflicts=True,
                unique_fields=["base", "quote", "on", "source"],
                update_fields=["rate", "fetched_at"],
                batch_size=1000,
            )
            # Bulk writes send no signals: the ledgers whose flows may take these rates follow here.
            ledgers_rebuild_for_rates((currency, row.on) for row in rows)
        result.written += len(rows)
    return result


def _note_revisions(result: StepResult, subject: str, rows: list, value_field: str, before_of) -> int:
    """Note every new row whose value differs from the stored one (``before_of(row)``, None when
    nothing is stored): a provider revising its history. Returns how many were revised."""
    revised = 0
    for row in rows:
        before = before_of(row)
        after = getattr(row, value_field)
        if before is not None and before != after:
            revised += 1
            result.error(subject, f"{row.on}: {value_field} revised from {before} to {after}", kind="revised")
    return revised


def _report_revisions(result: StepResult, subject: str, existing_qs, rows: list, value_field: str) -> int:
    """Note the revisions among one subject's new rows, against ``existing_qs`` (one query)."""
    if not rows:
        return 0
    days = [row.on for row in rows]
    stored = dict(existing_qs.filter(on__gte=min(days), on__lte=max(days)).values_list("on", value_field))
    return _note_revisions(result, subject, rows, value_field, lambda row: stored.get(row.on))


def _report_price_revisions(result: StepResult, pending: list[tuple[str, list[FetchedClose]]]) -> int:
    """Note the revised closes among a batch's new rows, reading the whole batch's stored closes
    in one query."""
    new = [row for _, rows in pending for row in rows]
    if not new:
        return 0
    days = [row.on for row in new]
    stored = {
        (listing_id, source, on): close
        for listing_id, source, on, close in SecurityPrice.objects.filter(
            listing_id__in={row.listing_id for row in new}, on__gte=min(days), on__lte=max(days)
        ).values_list("listing_id", "source", "on", "close")
    }
    return sum(
        _note_revisions(result, subject, rows, "close", lambda row: stored.get((row.listing_id, row.source, row.on)))
        for subject, rows in pending
    )


# --- Commodity prices -----------------------------------------------------------------------


def commodity_prices_refresh(*, as_of: date, start: date | None = None) -> StepResult:
    """Fetch USD prices up to ``as_of`` for every commodity a price floor or offtake refers to.

    Side effects: CommodityPrice rows (one transaction per commodity). Idempotent.
    """
    result = StepResult("commodities")
    order = list(settings.LODESTONE_COMMODITY_PROVIDERS)
    codes = sorted(
        set(PriceFloor.objects.values_list("commodity__code", flat=True))
        | set(Offtake.objects.exclude(commodity=None).values_list("commodity__code", flat=True))
    )
    commodities = {c.code: c for c in Commodity.objects.filter(code__in=codes)}
    for code in codes:
        result.total += 1
        commodity = commodities[code]
        latest = CommodityPrice.objects.filter(commodity=commodity).aggregate(on=Max("on"))["on"]
        begin = start or _fetch_start(latest, as_of)
        series, _ = _fetch_with_fallback(
            order,
            md.commodity_provider,
            partial(_commodity_prices, code=code, start=begin, end=as_of),
            result,
            code,
            require_points=_has_weekdays(begin, as_of),
        )
        if series is None:
            continue
        result.simulated |= series.provider == SIMULATED_SOURCE
        rows = [
            CommodityPrice(commodity=commodity, on=bar.on, source=series.provider, currency_id="USD", price=bar.close)
            for bar in series.points
        ]
        stored = CommodityPrice.objects.filter(commodity=commodity, source=series.provider)
        result.revised += _report_revisions(result, code, stored, rows, "price")
        with transaction.atomic():
            CommodityPrice.objects.bulk_create(
                rows,
                update_conflicts=True,
                unique_fields=["commodity", "on", "source"],
                update_fields=["price", "currency", "fetched_at"],
                batch_size=1000,
            )
        result.written += len(rows)
    return result


# --- Prices ---------------------------------------------------------------------------------


def prices_refresh(
    *,
    as_of: date,
    start: date | None = None,
    listing_ids: list[int] | None = None,
) -> StepResult:
    """Fetch daily closes up to ``as_of`` for every listing that prices a position and store them.

    Listings are grouped by their first provider and fetched in batches; each batch is written in
    one transaction. Each listing falls back to its next provider when one fails. Listings are
    flagged: unknown symbol (no provider knows it), stale (latest good price older than
    LODESTONE_STALE_PRICE_DAYS) or current. Side effects: SecurityPrice rows, Listing status.
    """
    result = StepResult("prices")
    default_order = list(settings.LODESTONE_PRICE_PROVIDERS)
    listings = list(listings_to_price() if listing_ids is None else Listing.objects.filter(pk__in=listing_ids))
    # The latest stored day per listing and source: each provider resumes from its own history.
    sources = sorted({name for listing in listings for name in listing_provider_order(listing, default_order)})
    latest = _latest_stored(listings, sources)
    # Batched per provider: listings whose first provider is the same are fetched together.
    listings.sort(key=lambda listing: (listing_provider_order(listing, default_order)[0], listing.pk))
    for offset in range(0, len(listings), BATCH_SIZE):
        batch = listings[offset : offset + BATCH_SIZE]
        rows: list[FetchedClose] = []
        pending: list[tuple[str, list[FetchedClose]]] = []
        statuses: dict[int, tuple[str, str]] = {}
        fetch = partial(_fetch_listing, default_order=default_order, start=start, latest=latest, as_of=as_of)
        # The batch's requests overlap, as many at once as its first provider allows; each still
        # takes a slot of its provider's rate. Each listing reports into a result of its own, merged
        # in the batch's order, so the run's errors read the same whatever answered first.
        in_flight = md.provider_gate(listing_provider_order(batch[0], default_order)[0]).policy.concurrent_requests
        with ThreadPoolExecutor(max_workers=max(1, min(in_flight, len(batch)))) as pool:
            fetched = list(pool.map(fetch, batch))
        for listing, (series, unknown, part) in zip(batch, fetched, strict=True):
            result.total += 1
            result.failed += part.failed
            result.transient_failures += part.transient_failures
            result.errors.extend(part.errors)
            subject = f"{listing.ticker}:{listing.exchange}"
            if series is None:
                kinds = {e["kind"] for e in part.errors if e["subject"] == subject}
                if unknown and kinds <= {"unknown_symbol", "permanent"}:
                    statuses[listing.pk] = (PriceStatus.UNKNOWN_SYMBOL, "No provider recognises this symbol.")
                continue
            result.simulated |= series.provider == SIMULATED_SOURCE
            new_rows = [
                FetchedClose(listing.pk, bar.on, series.provider, bar.close, bar.open, bar.high, bar.low, bar.volume)
                for bar in series.points
            ]
            pending.append((subject, new_rows))
            rows.extend(new_rows)
        result.revised += _report_price_revisions(result, pending)
        with transaction.atomic():
            _store_prices(rows)
            _update_listing_status(batch, statuses, as_of)
        result.written += len(rows)
    return result


class FetchedClose(NamedTuple):
    """A close as a provider gave it, to be stored as a ``SecurityPrice`` (a plain row: a backfill
    stores a year of closes of every listing). Its first fields are the stored row's key."""

    listing_id: int
    on: date
    source: str
    close: Decimal
    open: Decimal | None
    high: Decimal | None
    low: Decimal | None
    volume: int | None


#: The columns a fetched close writes, in the order of ``FetchedClose`` and then the time it was fetched.
PRICE_COLUMNS = [*FetchedClose._fields, "fetched_at"]


def _store_prices(rows: list[FetchedClose]) -> None:
    """Upsert closes on (listing, date, source): on PostgreSQL copied in (``copy_upsert``), elsewhere
    Django's bulk insert. A day a provider gave twice keeps its last close."""
    latest = list({row[:3]: row for row in rows}.values())
    if transaction.get_connection().vendor != "postgresql":
        SecurityPrice.objects.bulk_create(
            [SecurityPrice(**row._asdict()) for row in latest],
            update_conflicts=True,
            unique_fields=["listing", "on", "source"],
            update_fields=PRICE_COLUMNS[3:],
            batch_size=1000,
        )
        return
    now = timezone.now()
    copy_upsert(
        SecurityPrice,
        columns=PRICE_COLUMNS,
        rows=((*row, now) for row in latest),
        unique=PRICE_COLUMNS[:3],
        update=PRICE_COLUMNS[3:],
    )


def _fetch_listing(
    listing: Listing, *, default_order: list[str], start: date | None, latest: dict, as_of: date
) -> tuple[md.Series | None, bool, StepResult]:
    """One listing's closes from its first provider that answers (run in a worker thread: it reads
    nothing from the database), with what went wrong in a result of its own."""
    part = StepResult("prices")
    order = listing_provider_order(listing, default_order)
    first_begin = start or _fetch_start(latest.get((listing.pk, order[0])), as_of)
    series, unknown = _fetch_with_fallback(
        order,
        md.price_provider,
        partial(_bars, listing=listing, start=start, latest=latest, as_of=as_of),
        part,
        f"{listing.ticker}:{listing.exchange}",
        require_points=_has_weekdays(first_begin, as_of),
    )
    return series, unknown, part


def _latest_stored(listings: list[Listing], sources: list[str]) -> dict[tuple[int, str], date]:
    """The latest stored day of each listing from each of ``sources``, in one query: a subquery per
    source that descends the (listing, source, on) index once per listing, where a MAX grouped by
    listing and source would read every stored close."""
    if not listings or not sources:
        return {}
    latest = {
        f"latest_{index}": Subquery(
            SecurityPrice.objects.filter(listing=OuterRef("pk"), source=name).order_by("-on").values("on")[:1]
        )
        for index, name in enumerate(sources)
    }
    rows = Listing.objects.filter(pk__in=[listing.pk for listing in listings]).annotate(**latest)
    return {
        (pk, source): on
        for pk, *days in rows.values_list("pk", *latest)
        for source, on in zip(sources, days, strict=True)
        if on is not None
    }


def listing_price_status_refresh(*, listing_ids: list[int], as_of: date) -> None:
    """Derive the price status of the given listings on ``as_of`` from the closes stored, whatever
    their source: after a steward enters or removes a price, as after the provider's refresh.

    Side effects: Listing.price_status, price_status_note and last_price_on.
    """
    _update_listing_status(list(Listing.objects.filter(pk__in=listing_ids)), {}, as_of)


def _update_listing_status(batch: list[Listing], statuses: dict[int, tuple[str, str]], as_of: date) -> None:
    # The latest close on or before the date, whatever its source: one descent of the unique
    # (listing, on, source) index per listing.
    last_close = SecurityPrice.objects.filter(listing=OuterRef("pk"), on__lte=as_of).order_by("-on").values("on")[:1]
    last = dict(
        Listing.objects.filter(pk__in=[listing.pk for listing in batch])
        .annotate(last_on=Subquery(last_close))
        .values_list("pk", "last_on")
    )
    threshold = as_of - timedelta(days=settings.LODESTONE_STALE_PRICE_DAYS)
    outcomes: dict[tuple[str, str, date | None], list[int]] = defaultdict(list)
    now = timezone.now()
    for listing in batch:
        last_on = last.get(listing.pk)
        status, note = statuses.get(listing.pk, (None, ""))
        if status is None:
            if last_on is None:
                status, note = PriceStatus.STALE, "No price stored yet."
            elif last_on < threshold:
                status, note = PriceStatus.STALE, f"Latest good price is from {last_on}."
            else:
                status, note = PriceStatus.OK, ""
        listing.price_status, listing.price_status_note, listing.last_price_on = status, note, last_on
        listing.updated_at = now
        outcomes[(status, note, last_on)].append(listing.pk)
    # One UPDATE per distinct outcome (on an ordinary day nearly every listing shares one), at most
    # one per listing of the batch: a CASE per row and field costs more to build than to run.
    for (status, note, last_on), pks in outcomes.items():
        Listing.objects.filter(pk__in=pks).update(
            price_status=status, price_status_note=note, last_price_on=last_on, updated_at=now
        )
