"""The historical stress page and a scenario run's page.

The stress page asks the worker for a historical stress path (``services.scenario_runs``: a run
only reads, so every role may ask for one) and lists the latest stress runs. A run's page follows
it while it is queued or running (its progress is polled, as a refresh's is) and, once it has
succeeded, shows what the worker stored: a stress path's worst day, its chart and its points; a
scenario's figures or the sensitivities in short, with links to their pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models.fields.json import KT
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from portfolio.book import default_as_of
from portfolio.exceptions import BrokerUnavailableError, ScenarioRunRefusedError
from portfolio.models import ScenarioRun
from portfolio.models.scenarios import MAX_STRESS_DAYS
from portfolio.services.scenario_runs import scenario_run_start

from . import charts
from .params import ISO_DATE_INPUT, refusal_on, shown_date

#: Stress runs listed a page, the latest first.
RUNS_PAGE_SIZE = 25


# --- The form --------------------------------------------------------------------------------------


class StressForm(forms.Form):
    """A historical stress path: its first and last day, and the base date of the book replayed."""

    start = forms.DateField(
        label="Path start",
        widget=ISO_DATE_INPUT,
        error_messages={"required": "Give the path's first day."},
        help_text="The market's first day, e.g. 2022-01-01.",
    )
    end = forms.DateField(
        label="Path end",
        widget=ISO_DATE_INPUT,
        error_messages={"required": "Give the path's last day."},
        help_text="Its last day, at most ten years after the start, e.g. 2024-12-31.",
    )
    as_of = forms.DateField(required=False, label="Base date", widget=ISO_DATE_INPUT)

    def __init__(self, *args, default: date, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        latest = default.isoformat()
        self.fields["as_of"].help_text = f"The held book replayed; blank for the latest valuation date ({latest})."

    def clean_start(self):
        return shown_date(self.cleaned_data.get("start"))

    def clean_end(self):
        return shown_date(self.cleaned_data.get("end"))

    def clean_as_of(self):
        return shown_date(self.cleaned_data.get("as_of"))

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            if not start < end:
                self.add_error("end", "The path ends on or before its start: choose a later end.")
            elif (end - start).days > MAX_STRESS_DAYS:
                self.add_error("end", "A path is at most ten years long: choose a later start or an earlier end.")
        return cleaned


# --- The stress page ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """Why no run was started, and the run concerned (the one already under way, or the one
    recorded as failed)."""

    message: str
    run: int | None


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required("portfolio.view_scenario", raise_exception=True)
def scenario_stress(request: HttpRequest) -> HttpResponse:
    """The historical stress form: a POST asks the worker for the path and leads to the run's page;
    the same path already queued or running is refused (409) naming it; with the task queue down
    the run is recorded as failed (503). Below the form, the stress runs, the latest first."""
    default = default_as_of()
    refusal: Refusal | None = None
    status = 200
    if request.method == "POST":
        form = StressForm(request.POST, default=default)
        if form.is_valid():
            data = form.cleaned_data
            try:
                run = scenario_run_start(
                    kind=ScenarioRun.Kind.STRESS,
                    as_of=data["as_of"] or default,
                    start=data["start"],
                    end=data["end"],
                    user=request.user,
                )
            except ScenarioRunRefusedError as exc:
                refusal, status = Refusal(exc.message, exc.extra.get("run")), 409
            except BrokerUnavailableError as exc:
                refusal, status = Refusal(exc.message, exc.extra.get("run")), 503
            except ValidationError as exc:
                refusal_on(form, exc)
            else:
                messages.success(request, f"Historical stress #{run.pk} queued.")
                return redirect("scenario-run", pk=run.pk)
    else:
        form = StressForm(default=default)
    runs = (
        ScenarioRun.objects.filter(kind=ScenarioRun.Kind.STRESS)
        .select_related("requested_by")
        .defer("result")
        .annotate(worst=KT("result__worst"))
        .order_by("-pk")
    )
    page = Paginator(runs, RUNS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "portfolio/web/scenario_stress.html",
        {"form": form, "refusal": refusal, "page": page, "default": default},
        status=status,
    )


# --- A run's page ---------------------------------------------------------------------------------


class UnreadableResult(ValueError):
    """A stored result that is not what the worker stores (written by other means)."""


def _decimal(value: Any) -> Decimal | None:
    """A stored amount (a decimal string, or null for n/a)."""
    if value is None:
        return None
    if not isinstance(value, str | int):
        raise UnreadableResult(f"{value!r} is not an amount")
    try:
        number = Decimal(value)
    except InvalidOperation as exc:
        raise UnreadableResult(f"{value!r} is not an amount") from exc
    if not number.is_finite():
        raise UnreadableResult(f"{value!r} is not an amount")
    return number


def _date(value: Any) -> date:
    if not isinstance(value, str):
        raise UnreadableResult(f"{value!r} is not a date")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise UnreadableResult(f"{value!r} is not a date") from exc


def _mapping(value: Any, what: str) -> dict:
    if not isinstance(value, dict):
        raise UnreadableResult(f"its {what} is not a mapping")
    return value


def _list(value: Any, what: str) -> list:
    if not isinstance(value, list):
        raise UnreadableResult(f"its {what} is not a list")
    return value


@dataclass(frozen=True)
class Change:
    """The change of the book's figures from its base: value, exposure, price-floor liability and
    contingent amounts (None where n/a)."""

    value: Decimal | None
    exposure: Decimal | None
    floor_liability: Decimal | None
    contingent: Decimal | None

    @classmethod
    def read(cls, stored: Any) -> Change:
        stored = _mapping(stored, "change")
        return cls(
            value=_decimal(stored.get("value_usd")),
            exposure=_decimal(stored.get("exposure_usd")),
            floor_liability=_decimal(stored.get("floor_liability_usd")),
            contingent=_decimal(stored.get("contingent_usd")),
        )


@dataclass(frozen=True)
class StressPoint:
    """A day of the path: the change of the book's figures from its base, the loss (the value lost
    and the floors' liability added), how many inputs the day moved, and whether it is the worst."""

    on: date
    change: Change
    loss: Decimal | None
    inputs_moved: int
    worst: bool

    @property
    def value_size(self) -> Decimal | None:
        """How far the held value moved, whichever way (the page says which)."""
        return None if self.change.value is None else abs(self.change.value)

    @property
    def loss_size(self) -> Decimal | None:
        """The loss, or the gain where it is negative (the page says which)."""
        return None if self.loss is None else abs(self.loss)

    @property
    def floor_size(self) -> Decimal | None:
        """How far the floors' liability moved, whichever way (the page says which)."""
        return None if self.change.floor_liability is None else abs(self.change.floor_liability)


@dataclass(frozen=True)
class StressShown:
    """A stress run's stored result as its page shows it."""

    as_of: date
    start: date
    end: date
    points: list[StressPoint]
    worst: StressPoint | None
    notes: list[str]

    @classmethod
    def read(cls, result: Any) -> StressShown:
        result = _mapping(result, "result")
        worst_on = None if result.get("worst") is None else _date(result["worst"])
        points = []
        for stored in _list(result.get("points"), "points"):
            stored = _mapping(stored, "point")
            moved = stored.get("inputs_moved", 0)
            if not isinstance(moved, int):
                raise UnreadableResult(f"{moved!r} is not a number of inputs")
            on = _date(stored.get("on"))
            points.append(
                StressPoint(
                    on=on,
                    change=Change.read(stored.get("change")),
                    loss=_decimal(stored.get("loss_usd")),
                    inputs_moved=moved,
                    worst=on == worst_on,
                )
            )
        notes = [str(note) for note in _list(result.get("notes", []), "notes")]
        return cls(
            as_of=_date(result.get("as_of")),
            start=_date(result.get("start")),
            end=_date(result.get("end")),
            points=points,
            worst=next((point for point in points if point.worst), None),
            notes=notes,
        )

    @property
    def chart(self) -> dict:
        return charts.stress_path(
            [point.on for point in self.points],
            {
                "Held value": [point.change.value for point in self.points],
                "Exposure": [point.change.exposure for point in self.points],
                "Price-floor liability": [point.change.floor_liability for point in self.points],
            },
            None if self.worst is None else self.worst.on,
        )


@dataclass(frozen=True)
class ResultShown:
    """A scenario run's stored figures in short: the change of the held book under it."""

    change: Change
    notes: list[str]

    @classmethod
    def read(cls, result: Any) -> ResultShown:
        result = _mapping(result, "result")
        return cls(
            change=Change.read(result.get("change")),
            notes=[str(note) for note in _list(result.get("notes", []), "notes")],
        )


@dataclass(frozen=True)
class Input:
    """An input of the sensitivities with the change of exposure when it moves down and up."""

    label: str
    down: Decimal | None
    up: Decimal | None


@dataclass(frozen=True)
class SensitivitiesShown:
    """A sensitivities run's stored figures in short: how many inputs, the largest ones."""

    move: str
    count: int
    largest: list[Input]
    curves: int

    #: The inputs named on the run's page (the sensitivities' page gives them all).
    NAMED = 3

    @classmethod
    def read(cls, result: Any) -> SensitivitiesShown:
        result = _mapping(result, "result")
        inputs = _list(result.get("inputs"), "inputs")
        largest = []
        for stored in inputs[: cls.NAMED]:
            stored = _mapping(stored, "input")
            down = _mapping(stored.get("down"), "input's move down")
            up = _mapping(stored.get("up"), "input's move up")
            label = str(stored.get("input", ""))
            largest.append(Input(label, _decimal(down.get("exposure_usd")), _decimal(up.get("exposure_usd"))))
        move = _decimal(result.get("move_pct", "10")) or Decimal("10")
        curves = result.get("floor_curves") or {}
        return cls(
            move=f"{move.normalize():f}",
            count=len(inputs),
            largest=largest,
            curves=len(curves) if isinstance(curves, dict) else 0,
        )


def run_title(run: ScenarioRun) -> str:
    """A run by its kind and number: "Historical stress #12", "Sensitivities #3", "Scenario
    “Rare earths slump” #4"."""
    if run.kind == ScenarioRun.Kind.STRESS:
        return f"Historical stress #{run.pk}"
    if run.kind == ScenarioRun.Kind.SENSITIVITIES:
        return f"Sensitivities #{run.pk}"
    name = run.scenario.name if run.scenario is not None else "not on record"
    return f"Scenario “{name}” #{run.pk}"


def _found(run: ScenarioRun) -> tuple[str, Any]:
    """What the page shows of a succeeded run's result (the template's name for it and it), or the
    reason it cannot be read."""
    readers = {
        ScenarioRun.Kind.STRESS: ("stress", StressShown.read),
        ScenarioRun.Kind.RESULT: ("scenario_result", ResultShown.read),
        ScenarioRun.Kind.SENSITIVITIES: ("sensitivities", SensitivitiesShown.read),
    }
    name, read = readers[ScenarioRun.Kind(run.kind)]
    try:
        return name, read(run.result)
    except UnreadableResult as exc:
        return "unreadable", str(exc)


@permission_required("portfolio.view_scenariorun", raise_exception=True)
def scenario_run(request: HttpRequest, pk: int) -> HttpResponse:
    """A scenario run: what it was asked and its status, polled while it is queued or running (an
    htmx request gets the progress alone, and once the run has ended, a refresh of the page); once
    succeeded, what it found; once failed, why."""
    run = get_object_or_404(ScenarioRun.objects.select_related("requested_by", "scenario"), pk=pk)
    context: dict[str, Any] = {"run": run, "title": run_title(run)}
    if request.headers.get("HX-Request"):
        response = render(request, "portfolio/web/_scenario_run_progress.html", context)
        if not run.in_progress:
            response["HX-Refresh"] = "true"  # the page shows what the run found
        return response
    if run.status == ScenarioRun.Status.SUCCEEDED:
        name, found = _found(run)
        context[name] = found
    return render(request, "portfolio/web/scenario_run.html", context)
