"""Scenarios: named sets of shocks to the market inputs and the projects' schedules, revalued on a
base date by the book (``portfolio.book.scenarios``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from .base import Currency, TimeStampedModel, check, plausible_date
from .milestones import Milestone
from .registry import Commodity, Company

#: A change is a percentage above -100 (a price or a rate cannot reach zero) and at most this.
MAX_CHANGE_PCT = Decimal("1000")
#: A commodity's level is below this, in US dollars per its price unit.
MAX_LEVEL = Decimal("1e9")
#: A delay moves a milestone by at most this many months, either way.
MAX_DELAY_MONTHS = 240
MAX_SHOCKS = 200
#: The longest path a historical stress replays, in days (ten years; a point a month).
MAX_STRESS_DAYS = 366 * 10


class ShockKind(models.TextChoices):
    COMMODITY = "commodity", "Commodity price"
    SHARE_PRICE = "share_price", "Share prices"
    FX = "fx", "Currency against the US dollar"
    VOLATILITY = "volatility", "Volatility"
    DELAY = "delay", "Project delay"


#: What each kind of shock names and states; the rest of its fields stay empty.
SHOCK_FIELDS: dict[str, tuple[str, ...]] = {
    ShockKind.COMMODITY: ("commodity", "level", "change_pct"),
    ShockKind.SHARE_PRICE: ("company", "country", "change_pct"),
    ShockKind.FX: ("currency", "change_pct"),
    ShockKind.VOLATILITY: ("change_pct",),
    ShockKind.DELAY: ("milestone", "months"),
}


@dataclass(frozen=True)
class Shock:
    """One shock of a scenario.

    - commodity: a commodity (by code) at a ``level`` in US dollars per its price unit, or moved
      by ``change_pct``;
    - share_price: the closes of one company's listings (``company``, an id), of the companies of
      one ``country`` (ISO code), or of every listing (neither), moved by ``change_pct``; the most
      particular shock of a listing applies (company, then country, then all);
    - fx: a ``currency``'s value in US dollars moved by ``change_pct`` (-10: the currency buys 10 %
      fewer dollars);
    - volatility: every listing's volatility moved by ``change_pct`` (of itself, not points);
    - delay: a ``milestone`` (an id) expected ``months`` later than its forecast.
    """

    kind: str
    commodity: str = ""
    company: int | None = None
    country: str = ""
    currency: str = ""
    milestone: int | None = None
    level: Decimal | None = None
    change_pct: Decimal | None = None
    months: int | None = None

    def as_json(self) -> dict[str, Any]:
        """The shock as stored: its kind and the fields it states, amounts as strings."""
        stated = {"kind": self.kind}
        for name in SHOCK_FIELDS[self.kind]:
            value = asdict(self)[name]
            if value not in (None, ""):
                stated[name] = format(value.normalize(), "f") if isinstance(value, Decimal) else value
        return stated

    @property
    def factor(self) -> Decimal:
        """What the shocked figure is multiplied by: 1 + change_pct / 100."""
        return Decimal(1) + (Decimal(0) if self.change_pct is None else self.change_pct) / 100


def _decimal(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValidationError(f"{where}: give a number.")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValidationError(f"{where}: {str(value)[:40]!r} is not a number.") from None
    if not number.is_finite() or abs(number) >= MAX_LEVEL:
        raise ValidationError(f"{where}: give a number below {MAX_LEVEL:,.0f} in size.")
    return number


def _integer(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValidationError(f"{where}: give a whole number.")
    try:
        return int(str(value).strip())
    except ValueError:
        raise ValidationError(f"{where}: {str(value)[:40]!r} is not a whole number.") from None


def shock_from(data: Any, number: int = 1) -> Shock:
    """A shock from its stored (or submitted) form, or a ValidationError saying what is wrong with it."""
    where = f"Shock {number}"
    if not isinstance(data, dict):
        raise ValidationError(f"{where}: give an object with a kind and its fields.")
    kind = data.get("kind")
    if kind not in SHOCK_FIELDS:
        raise ValidationError(f"{where}: the kind must be one of {', '.join(SHOCK_FIELDS)}.")
    allowed = {"kind", *SHOCK_FIELDS[kind]}
    extra = sorted(str(name) for name in set(data) - allowed if data[name] not in (None, ""))
    if extra:
        raise ValidationError(f"{where}: a shock of kind {kind} does not take {', '.join(extra)[:120]}.")
    stated = {name: value for name, value in data.items() if value not in (None, "") and name != "kind"}
    fields: dict[str, Any] = {}
    if "change_pct" in stated:
        change = _decimal(stated["change_pct"], f"{where}, the change (%)")
        if not -100 < change <= MAX_CHANGE_PCT:
            raise ValidationError(f"{where}: the change must be above -100 % and at most {MAX_CHANGE_PCT} %.")
        fields["change_pct"] = change
    if "level" in stated:
        level = _decimal(stated["level"], f"{where}, the level")
        if level <= 0:
            raise ValidationError(f"{where}: the level must be above zero.")
        fields["level"] = level
    for name in ("company", "milestone"):
        if name in stated:
            fields[name] = _integer(stated[name], f"{where}, the {name}")
    for name in ("commodity", "country", "currency"):
        if name in stated:
            if not isinstance(stated[name], str) or len(stated[name]) > 40:
                raise ValidationError(f"{where}: the {name} is a code (text).")
            fields[name] = stated[name].strip()
    if kind == ShockKind.COMMODITY:
        if "commodity" not in fields:
            raise ValidationError(f"{where}: name the commodity (its code).")
        if ("level" in fields) == ("change_pct" in fields):
            raise ValidationError(f"{where}: give the commodity either a level (US$ per unit) or a change (%).")
    elif kind == ShockKind.DELAY:
        if "milestone" not in fields or "months" not in stated:
            raise ValidationError(f"{where}: a delay names its milestone and a number of months.")
        months = _integer(stated["months"], f"{where}, the months")
        if not months or abs(months) > MAX_DELAY_MONTHS:
            raise ValidationError(f"{where}: the months must be non-zero and at most {MAX_DELAY_MONTHS} either way.")
        fields["months"] = months
    else:
        if "change_pct" not in fields:
            raise ValidationError(f"{where}: give the change (%).")
        if kind == ShockKind.FX and "currency" not in fields:
            raise ValidationError(f"{where}: name the currency (its ISO code).")
        if kind == ShockKind.FX and fields["currency"].upper() == "USD":
            raise ValidationError(f"{where}: the US dollar is what the others are measured in; name another.")
        if kind == ShockKind.SHARE_PRICE and "company" in fields and "country" in fields:
            raise ValidationError(f"{where}: a share-price shock names a company, a country or neither, not both.")
    if "currency" in fields:
        fields["currency"] = fields["currency"].upper()
    if "country" in fields:
        fields["country"] = fields["country"].upper()
    return Shock(kind=kind, **fields)


def shocks_from(data: Any) -> list[Shock]:
    """Every shock of a stored (or submitted) list, or one ValidationError listing what is wrong."""
    if not isinstance(data, list):
        raise ValidationError("The shocks are a list.")
    if len(data) > MAX_SHOCKS:
        raise ValidationError(f"A scenario has at most {MAX_SHOCKS} shocks.")
    shocks, errors = [], []
    for number, item in enumerate(data, start=1):
        try:
            shocks.append(shock_from(item, number))
        except ValidationError as exc:
            errors.extend(exc.messages)
    if errors:
        raise ValidationError(errors)
    return shocks


def shocks_overlap(shocks: list[Shock]) -> list[str]:
    """The targets shocked more than once (each may be shocked once)."""
    seen: set[tuple[Any, ...]] = set()
    twice = []
    for shock in shocks:
        target = (shock.kind, shock.commodity, shock.company, shock.country, shock.currency, shock.milestone)
        if target in seen:
            twice.append(shock)
        seen.add(target)
    return [ShockKind(s.kind).label.lower() for s in twice]


class Scenario(TimeStampedModel):
    """A named set of shocks, kept with its author to be run again on any base date."""

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True, max_length=2000)
    base_on = models.DateField(
        null=True,
        blank=True,
        validators=[plausible_date],
        help_text="The date the scenario revalues the book on; empty: the latest valuation date.",
    )
    shocks = models.JSONField(default=list, help_text="The shocks, as listed by the Scenarios page and the API.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def shock_list(self) -> list[Shock]:
        return shocks_from(self.shocks)

    def clean_fields(self, exclude=None) -> None:
        """The shocks read and stored as the model states them (amounts as text), whatever form they
        were given in (numbers, decimals), before the fields are checked: a decimal is not JSON."""
        if not exclude or "shocks" not in exclude:
            try:
                self.shocks = [shock.as_json() for shock in shocks_from(self.shocks)]
            except ValidationError as exc:
                raise ValidationError({"shocks": exc.messages}) from exc
        super().clean_fields(exclude=exclude)

    def clean(self) -> None:
        super().clean()
        shocks = shocks_from(self.shocks)  # as ``clean_fields`` stored them
        twice = shocks_overlap(shocks)
        if twice:
            raise ValidationError({"shocks": f"Each target is shocked once; shocked twice: {', '.join(twice)}."})
        missing = unknown_targets(shocks)
        if missing:
            raise ValidationError({"shocks": missing})


def unknown_targets(shocks: list[Shock]) -> list[str]:
    """What the shocks name that is not on record (a commodity, company, currency or milestone)."""
    missing: list[str] = []

    def absent(name: str, known: set[Any], wanted: set[Any]) -> None:
        missing.extend(f"No {name} {value!r} is on record." for value in sorted(wanted - known, key=str))

    codes = {s.commodity for s in shocks if s.commodity}
    if codes:
        absent("commodity", set(Commodity.objects.filter(code__in=codes).values_list("code", flat=True)), codes)
    companies = {s.company for s in shocks if s.company is not None}
    if companies:
        absent("company", set(Company.objects.filter(pk__in=companies).values_list("pk", flat=True)), companies)
    currencies = {s.currency for s in shocks if s.currency}
    if currencies:
        absent("currency", set(Currency.objects.filter(code__in=currencies).values_list("code", flat=True)), currencies)
    milestones = {s.milestone for s in shocks if s.milestone is not None}
    if milestones:
        absent("milestone", set(Milestone.objects.filter(pk__in=milestones).values_list("pk", flat=True)), milestones)
    return missing


class ScenarioRun(TimeStampedModel):
    """A scenario's figures, the book's sensitivities or a historical stress path, worked out by
    the worker (``services.scenario_runs``): what it was asked, by whom, and what it found."""

    class Kind(models.TextChoices):
        RESULT = "result", "A scenario's figures"
        SENSITIVITIES = "sensitivities", "Sensitivities"
        STRESS = "stress", "Historical stress"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    kind = models.CharField(max_length=16, choices=Kind.choices)
    scenario = models.ForeignKey(
        Scenario, null=True, blank=True, on_delete=models.CASCADE, related_name="runs", help_text="For a result."
    )
    as_of = models.DateField(validators=[plausible_date], help_text="The base date the book is taken on.")
    start = models.DateField(null=True, blank=True, validators=[plausible_date], help_text="A path's first day.")
    end = models.DateField(null=True, blank=True, validators=[plausible_date], help_text="A path's last day.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    worker = models.CharField(max_length=120, blank=True, help_text="The process working on it (host:pid).")
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Times a worker started it.")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True, help_text="What it found, as the API answers it.")
    message = models.TextField(blank=True, help_text="Why it failed.")

    class Meta:
        ordering = ["-id"]
        constraints = [
            check(
                "scenariorun_scenario_for_a_result",
                Q(kind="result", scenario__isnull=False) | (~Q(kind="result") & Q(scenario__isnull=True)),
                "A result's run names its scenario; other runs name none.",
            ),
            check(
                "scenariorun_path_for_a_stress",
                Q(kind="stress", start__isnull=False, end__isnull=False, start__lt=F("end"))
                | (~Q(kind="stress") & Q(start__isnull=True, end__isnull=True)),
                "A stress run's path starts before it ends; other runs have no path.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def in_progress(self) -> bool:
        return self.status in self.ACTIVE

    def clean(self) -> None:
        super().clean()
        if self.start is not None and self.end is not None and (self.end - self.start).days > MAX_STRESS_DAYS:
            raise ValidationError({"end": "A path is at most ten years long."})
