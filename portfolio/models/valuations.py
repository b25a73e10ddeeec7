"""What a position is worth on a date, and the analysts' manual marks."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from .base import (
    MONEY,
    RATE,
    DecimalField,
    TimeStampedModel,
    URLField,
    check,
    currency_field,
    date_in_range,
    non_negative,
    plausible_event_date,
    positive,
)
from .deals import Position


class FairValueLevel(models.IntegerChoices):
    LEVEL_1 = 1, "Level 1 (quoted price)"
    LEVEL_2 = 2, "Level 2 (model, observable inputs)"
    LEVEL_3 = 3, "Level 3 (unobservable inputs)"


class ValuationMethod(models.TextChoices):
    MARKET = "market", "Quoted price x quantity"
    BLACK_SCHOLES = "black_scholes", "Black-Scholes (never below intrinsic)"
    CONVERTIBLE = "convertible", "Greater of as-converted value and accreted preference"
    COST = "cost", "Cost"
    MANUAL_MARK = "manual_mark", "Manual mark"


class Valuation(TimeStampedModel):
    """The value of a position as of a date, with the trail that produced it.

    ``inputs`` holds every input (price and its source, volatility, rate, FX ...); ``formula``
    states the computation in words and numbers so any figure on a page can be explained.
    """

    position = models.ForeignKey(Position, on_delete=models.CASCADE, related_name="valuations")
    as_of = models.DateField()
    method = models.CharField(max_length=16, choices=ValuationMethod.choices)
    fair_value_level = models.PositiveSmallIntegerField(choices=FairValueLevel.choices)
    inputs = models.JSONField(default=dict, blank=True)
    formula = models.TextField(blank=True)
    currency = currency_field()
    value_local = DecimalField(**MONEY)
    fx_rate_to_usd = DecimalField(**RATE, help_text="USD per one unit of the local currency.")
    value_usd = DecimalField(**MONEY)
    is_contingent = models.BooleanField(default=False, help_text="Exercisable only if a condition is met.")
    is_simulated = models.BooleanField(default=False, help_text="Priced from the simulated provider.")
    refresh_run = models.ForeignKey(
        "portfolio.RefreshRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="valuations"
    )

    class Meta:
        ordering = ["position", "-as_of"]
        constraints = [
            models.UniqueConstraint(
                fields=["position", "as_of"],
                name="valuation_unique_per_position_day",
                violation_error_message="This position already has a valuation on that date.",
            ),
            non_negative("value_local", "A value", "valuation"),
            non_negative("value_usd", "A value", "valuation"),
            positive("fx_rate_to_usd", "The FX rate", "valuation"),
            check(
                "valuation_level_known",
                models.Q(fair_value_level__in=[1, 2, 3]),
                "The fair-value level is 1, 2 or 3.",
            ),
        ]
        # Totals by date (value series, returns) are summed from this index alone on PostgreSQL,
        # without reading the rows, whose inputs and formulas make them wide.
        indexes = [models.Index(fields=["as_of"], include=["value_usd"], name="valuation_as_of_value")]

    #: A stored valuation was written by a refresh (the book computes others on request).
    computed_on_request = False

    def __str__(self) -> str:
        return f"{self.position_id} {self.as_of} {self.value_usd} USD"


class ManualMark(TimeStampedModel):
    """An analyst's value for an unquoted position (private or JV equity), with reason and source."""

    position = models.ForeignKey(Position, on_delete=models.CASCADE, related_name="manual_marks")
    as_of = models.DateField(validators=[plausible_event_date])
    currency = currency_field()
    value = DecimalField(**MONEY, help_text="Value of the whole position.")
    reason = models.TextField(
        help_text="Why this value: a new round, an impairment, ...",
        error_messages={"blank": "Give the reason for the mark."},
    )
    source_url = URLField(max_length=500, blank=True)
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "-as_of"]
        constraints = [
            models.UniqueConstraint(
                fields=["position", "as_of"],
                name="manualmark_unique_per_position_day",
                violation_error_message="This position already has a manual mark on that date.",
            ),
            non_negative("value", "A mark", "manualmark"),
            date_in_range("as_of", "manualmark"),
            check("manualmark_reason_given", ~models.Q(reason=""), "Give the reason for the mark."),
        ]

    def __str__(self) -> str:
        return f"{self.position_id} {self.as_of} {self.value} {self.currency_id}"


class KeptValue(models.Model):
    """The held book's stored value on a date for one group of one dimension (the total, a deal, an
    agency, a company, a country, a commodity, a stage, an instrument kind), kept as data changes.

    The value series and the time-weighted returns read these rows (tens a date) rather than summing
    a year of valuations (millions of rows) on every read. Every write that changes what they sum
    updates them in its own transaction: a refresh writing a date's valuations rebuilds that date,
    and a saved or deleted record changes the rows of the deals it touches
    (``portfolio.services.kept``). ``manage.py verify_figures`` compares them with a full
    recomputation from the valuations.
    """

    as_of = models.DateField()
    dimension = models.CharField(max_length=16)
    key = models.CharField(max_length=200)
    # A sum of values each within a money column may pass it: room for a hundred thousand of them.
    value_usd = DecimalField(max_digits=MONEY["max_digits"] + 5, decimal_places=MONEY["decimal_places"])
    positions = models.PositiveIntegerField(help_text="Valuations summed into the value (none: no row).")

    class Meta:
        ordering = ["as_of", "dimension", "key"]
        constraints = [
            models.UniqueConstraint(fields=["dimension", "as_of", "key"], name="keptvalue_unique_per_group_day"),
            check("keptvalue_has_positions", models.Q(positions__gt=0), "A kept value sums at least one valuation."),
        ]
        # A date's rows: replaced whole by the refresh that stores its valuations, read by its snapshot.
        indexes = [models.Index(fields=["as_of"], name="keptvalue_by_day")]

    def __str__(self) -> str:
        return f"{self.as_of} {self.dimension} {self.key}: {self.value_usd} USD"


class KeptLedger(models.Model):
    """A position's cost ledger after each of its cash flows, kept as data changes.

    The row holds, in date order, the ledger after each flow (``portfolio.book.ledger.LedgerStep``:
    paid and received in US dollars at each flow's rate, units acquired and sold, the cost in the
    position's currency, the flows without a rate, and the flow itself in US dollars), so the book of
    any date reads a row a position instead of every flow and its rate: each step's day and flow in
    binary arrays, its totals as exact text (``portfolio.book.ledger.KeptSteps`` reads and writes
    them), so that a book reads every position's row without making objects of every flow. A save or delete of a cash
    flow, of a position (its currency) or of an FX rate rebuilds the rows it bears on, in its own
    transaction; a refresh storing rates does the same for what they cover
    (``portfolio.services.kept_ledgers``). ``manage.py verify_figures`` compares them with the
    flows again. Positions without flows have no row.
    """

    # Not a foreign key: a position's flows are deleted before it, and each rebuilds its row.
    position_id = models.PositiveBigIntegerField(unique=True)
    days = models.BinaryField(help_text="Each step's day: little-endian 32-bit ordinals.")
    flows = models.BinaryField(help_text="Each step's flow in US dollars: little-endian 64-bit floats, NaN for none.")
    totals = models.TextField(
        help_text='Each step\'s totals ("invested|realised|acquired|sold|records|cost|no rate"), joined by ";".'
    )

    class Meta:
        ordering = ["position_id"]

    def __str__(self) -> str:
        count = self.count
        return f"Ledger of position {self.position_id}: {count} flow{'' if count == 1 else 's'}"

    @property
    def count(self) -> int:
        """The number of steps (flows)."""
        return len(self.days) // 4


class GroupingGeneration(models.Model):
    """A number raised by every write that may change how the kept rows group the valuations (a
    deal's agency, company, country, projects, stages, commodities and their weights), in that
    write's transaction: a backfill reads the deals' grouping once and again only when the number
    has moved since (``portfolio.services.kept``). One row."""

    number = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"Grouping generation {self.number}"


class FiguresGeneration(models.Model):
    """A number raised once every transaction that changed what the book's figures are made of has
    committed (``portfolio.figures_cache.figures_changed``): kept figures computed at an older
    number are never read. One row."""

    number = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"Figures generation {self.number}"


class KeptFigures(models.Model):
    """Figures of the book as the pages and the API first ask for them (the dashboard's and the
    summary's on the latest valuation date, the tiles' change, the companies' ownership), worked
    out again once each change has committed, from one snapshot of the data, and stamped with the
    figures' generation they were worked out at (``portfolio.figures_cache.keep``). A read takes
    them only while that generation is the current one; ``manage.py verify_figures`` compares them
    with a recomputation."""

    name = models.CharField(max_length=32, help_text='What the figures are: "book", "groups" or "ownership".')
    key = models.CharField(max_length=400, help_text="What they were asked for with: date, book, dimensions.")
    generation = models.PositiveBigIntegerField()
    payload = models.BinaryField(help_text="The figures, as JSON.")
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["name", "key"]
        constraints = [models.UniqueConstraint(fields=["name", "key"], name="keptfigures_unique_per_key")]
        verbose_name_plural = "kept figures"

    def __str__(self) -> str:
        return f"{self.name} {self.key} (generation {self.generation})"
