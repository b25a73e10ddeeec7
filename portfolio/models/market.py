"""Dated observations from data providers: security prices, FX rates and commodity prices.

Each is unique per series, date and source, so a rerun of a refresh updates rather than
duplicates, and two providers' prints for the same day sit side by side.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from portfolio.sources import SIMULATED as SIMULATED_SOURCE

from .base import PRICE, RATE, DecimalField, check, currency_field, positive
from .registry import Commodity, Listing


class Observation(models.Model):
    """Abstract base of an observation: date, source and when it was fetched."""

    on = models.DateField("date")
    source = models.CharField(max_length=40, help_text="Provider that reported the value, e.g. yahoo, manual.")
    fetched_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True

    @property
    def is_simulated(self) -> bool:
        return self.source == SIMULATED_SOURCE


class SecurityPrice(Observation):
    """A daily close of a listing, in the listing's currency."""

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="prices")
    close = DecimalField(**PRICE)
    open = DecimalField(**PRICE, null=True, blank=True)
    high = DecimalField(**PRICE, null=True, blank=True)
    low = DecimalField(**PRICE, null=True, blank=True)
    volume = models.BigIntegerField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["listing", "-on", "source"]
        constraints = [
            models.UniqueConstraint(
                fields=["listing", "on", "source"],
                name="securityprice_unique_per_day_source",
                violation_error_message="This source already has a price for the listing on that date.",
            ),
            positive("close", "The close", "securityprice"),
            positive("open", "The open", "securityprice", nullable=True),
            positive("high", "The high", "securityprice", nullable=True),
            positive("low", "The low", "securityprice", nullable=True),
            check(
                "securityprice_low_not_above_high",
                Q(low__isnull=True) | Q(high__isnull=True) | Q(low__lte=F("high")),
                "The low cannot be above the high.",
            ),
            check(
                "securityprice_volume_non_negative",
                Q(volume__isnull=True) | Q(volume__gte=0),
                "Volume cannot be negative.",
            ),
        ]
        # The latest close of a listing is read from the unique (listing, on, source) index; the
        # latest from one source, where each provider resumes fetching, from this one.
        indexes = [models.Index(fields=["listing", "source", "-on"], name="securityprice_source_latest")]

    def __str__(self) -> str:
        return f"{self.listing} {self.on} {self.close} ({self.source})"


class FxRate(Observation):
    """Units of ``quote`` currency per one unit of ``base`` (e.g. USD/CAD 1.3650)."""

    base = currency_field(related_name="+")
    quote = currency_field(related_name="+", default="CAD")
    rate = DecimalField(**RATE)

    history = HistoricalRecords()

    class Meta:
        ordering = ["base", "quote", "-on", "source"]
        constraints = [
            models.UniqueConstraint(
                fields=["base", "quote", "on", "source"],
                name="fxrate_unique_per_day_source",
                violation_error_message="This source already has a rate for that pair on that date.",
            ),
            positive("rate", "The rate", "fxrate"),
            check("fxrate_distinct_currencies", ~Q(base=F("quote")), "An FX rate needs two different currencies."),
        ]
        indexes = [models.Index(fields=["base", "quote", "-on"], name="fxrate_latest")]

    def __str__(self) -> str:
        return f"{self.base_id}/{self.quote_id} {self.on} {self.rate} ({self.source})"


class CommodityPrice(Observation):
    """A commodity's price per its price unit, in a currency."""

    commodity = models.ForeignKey(Commodity, on_delete=models.CASCADE, related_name="prices")
    currency = currency_field()
    price = DecimalField(**PRICE)

    history = HistoricalRecords()

    class Meta:
        ordering = ["commodity", "-on", "source"]
        constraints = [
            models.UniqueConstraint(
                fields=["commodity", "on", "source"],
                name="commodityprice_unique_per_day_source",
                violation_error_message="This source already has a price for the commodity on that date.",
            ),
            positive("price", "The price", "commodityprice"),
        ]
        indexes = [models.Index(fields=["commodity", "-on"], name="commodityprice_latest")]

    def __str__(self) -> str:
        return f"{self.commodity} {self.on} {self.price} {self.currency_id} ({self.source})"
