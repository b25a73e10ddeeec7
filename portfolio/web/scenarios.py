"""The Scenarios pages: the saved scenarios, the form that writes one (through
``services.scenarios``), a scenario run on a date, its figures beside the book's with what each
kind of shock contributed (``book.scenarios``), and the book's sensitivities (each input moved
10 % either way, and each floor commodity's liability over its price); their CSV and XLSX exports."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from portfolio.book import Book, Figures, book_on, default_as_of, one_source
from portfolio.book.dates import shown_date_error
from portfolio.book.exposure import FloorTrail
from portfolio.book.scenarios import (
    FLOOR_CURVE_PRICES,
    SENSITIVITY_MOVE,
    Amounts,
    ScenarioResult,
    Sensitivity,
    floor_curve,
    scenario_figures,
    sensitivities,
)
from portfolio.models import (
    Commodity,
    Company,
    Currency,
    Listing,
    Loan,
    Milestone,
    MilestoneStatus,
    Position,
    Scenario,
    Shock,
    ShockKind,
)
from portfolio.models.scenarios import MAX_SHOCKS, SHOCK_FIELDS, shock_from
from portfolio.services.scenarios import scenario_delete, scenario_save

from . import charts
from .labels import country_name, dimension_labels
from .params import ISO_DATE_INPUT, AsOfForm, as_of_from, refusal_on
from .tables import FORMATS, table_response

SAVE_REASON = "Saved on the Scenarios page"
DELETE_REASON = "Deleted on the Scenarios page"
#: The blank shock rows the form offers beyond those of the scenario (blank rows are ignored).
EXTRA_ROWS = 6
#: The fields of a shock row besides its kind, in the order shown.
SHOCK_INPUTS = ("commodity", "company", "country", "currency", "milestone", "level", "change_pct", "months")
#: The deals named beside each step of the contributions.
CONTRIBUTORS_SHOWN = 3
#: The groupings shown below the deals, with their headings.
GROUPINGS = (("agency", "Agency"), ("company", "Company"), ("instrument", "Instrument kind"))
#: The headline figures: (attribute of the figures, label).
#: MOIC in the exports: to six places, as the API gives ratios.
RATIO_PLACES = Decimal("0.000001")

HEADLINES = (
    ("value", "Held value"),
    ("gain", "Gain to date"),
    ("moic", "MOIC"),
    ("exposure", "Exposure"),
    ("loans_outstanding", "Loans outstanding (in exposure)"),
    ("floor_liability", "Price-floor liability (in exposure)"),
    ("contingent", "Contingent (not in exposure)"),
)


# --- Shocks in words ----------------------------------------------------------------------------


@dataclass
class ShockNames:
    """The names of what shocks refer to (commodities with their price unit, companies, currencies,
    milestones), read in one query a kind of record named, whatever the number of shocks."""

    commodities: dict[str, tuple[str, str]] = field(default_factory=dict)  # code -> (name, price unit)
    companies: dict[int, str] = field(default_factory=dict)
    currencies: dict[str, str] = field(default_factory=dict)
    milestones: dict[int, str] = field(default_factory=dict)

    @classmethod
    def of(cls, shocks: list[Shock]) -> ShockNames:
        names = cls()
        codes = {s.commodity for s in shocks if s.commodity}
        if codes:
            units = Commodity.objects.filter(code__in=codes).values_list("code", "name", "price_unit")
            names.commodities = {code: (name, unit) for code, name, unit in units}
        companies = {s.company for s in shocks if s.company is not None}
        if companies:
            names.companies = dict(Company.objects.filter(pk__in=companies).values_list("pk", "name"))
        currencies = {s.currency for s in shocks if s.currency}
        if currencies:
            names.currencies = dict(Currency.objects.filter(code__in=currencies).values_list("code", "name"))
        milestones = {s.milestone for s in shocks if s.milestone is not None}
        if milestones:
            owners = Milestone.objects.filter(pk__in=milestones).values_list(
                "pk", "title", "project__name", "deal__title"
            )
            names.milestones = {pk: milestone_label(title, project, deal) for pk, title, project, deal in owners}
        return names


def milestone_label(title: str, project: str | None, deal: str | None) -> str:
    """A milestone by its project (or deal) and title: "Thacker Pass: Mechanical completion"."""
    owner = project or deal
    return f"{owner}: {title}" if owner else title


def _plain(number: Decimal) -> str:
    """A number with separators and without trailing zeros: 1,234.5, not 1234.50."""
    return f"{number.normalize():,f}"


def _pct(change: Decimal | None) -> str:
    """A change in per cent, signed: "+10 %", "-40 %"."""
    change = change or Decimal("0")
    return f"{'+' if change > 0 else ''}{_plain(change)} %"


def shock_words(shock: Shock, names: ShockNames) -> str:
    """One shock in words: "NdPr oxide at US$60/kg", "listed shares -40 %"."""
    if shock.kind == ShockKind.COMMODITY:
        name, unit = names.commodities.get(shock.commodity, (f"a commodity not on record ({shock.commodity})", ""))
        if shock.level is not None:
            return f"{name} at US${_plain(shock.level)}{f'/{unit}' if unit else ''}"
        return f"{name} {_pct(shock.change_pct)}"
    if shock.kind == ShockKind.SHARE_PRICE:
        if shock.company is not None:
            company = names.companies.get(shock.company, "a company not on record")
            return f"{company} shares {_pct(shock.change_pct)}"
        if shock.country:
            return f"listed shares of companies in {country_name(shock.country)} {_pct(shock.change_pct)}"
        return f"listed shares {_pct(shock.change_pct)}"
    if shock.kind == ShockKind.FX:
        currency = names.currencies.get(shock.currency)
        named = f"{currency} ({shock.currency})" if currency else shock.currency
        return f"{named} {_pct(shock.change_pct)} against the US dollar"
    if shock.kind == ShockKind.VOLATILITY:
        return f"volatility {_pct(shock.change_pct)}"
    months = shock.months or 0
    milestone = names.milestones.get(shock.milestone or 0, "a milestone not on record")
    return f"{milestone} {abs(months)} month{'' if abs(months) == 1 else 's'} {'later' if months > 0 else 'earlier'}"


def stored_shocks(scenario: Scenario) -> tuple[list[Shock], list[str]]:
    """A scenario's shocks, or none with what is wrong with them (a list stored by other means)."""
    try:
        return scenario.shock_list(), []
    except ValidationError as exc:
        return [], exc.messages


def summaries(scenarios: list[Scenario]) -> dict[int, str]:
    """Each scenario's shocks in one line, the names of every scenario read together."""
    shocks = {scenario.pk: stored_shocks(scenario) for scenario in scenarios}
    names = ShockNames.of([shock for listed, _ in shocks.values() for shock in listed])
    lines = {}
    for pk, (listed, problems) in shocks.items():
        if problems:
            lines[pk] = "Its shocks cannot be read: " + " ".join(problems)
        else:
            lines[pk] = "; ".join(shock_words(shock, names) for shock in listed) or "No shocks"
    return lines


# --- The form ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShockChoices:
    """What a shock row offers, read once for every row of the form."""

    commodities: list[tuple[str, str]]
    companies: list[tuple[str, str]]
    currencies: list[tuple[str, str]]
    milestones: list[tuple[str, Any]]

    @classmethod
    def load(cls, named: list[dict]) -> ShockChoices:
        """The commodities, companies, the currencies of listings and positions (and those the
        scenario names), and the milestones not achieved (and those it names), gates first."""
        blank = [("", "—")]
        units = Commodity.objects.values_list("code", "name", "price_unit")
        commodities = [(code, f"{name} (per {unit})") for code, name, unit in units]
        companies = [(str(pk), name) for pk, name in Company.objects.order_by("name").values_list("pk", "name")]
        kept = {str(item.get("currency", "")).upper() for item in named}
        currencies = (
            Currency.objects.filter(
                Q(code__in=Listing.objects.values("currency_id"))
                | Q(code__in=Position.objects.values("currency_id"))
                | Q(code__in=kept)
            )
            .exclude(code="USD")
            .values_list("code", "name")
        )
        kept_milestones = {item["milestone"] for item in named if isinstance(item.get("milestone"), int)}
        gates = Exists(Position.objects.filter(gate_milestone=OuterRef("pk"))) | Exists(
            Loan.objects.filter(gate_milestone=OuterRef("pk"))
        )
        milestones = (
            Milestone.objects.filter(~Q(status=MilestoneStatus.ACHIEVED) | Q(pk__in=kept_milestones))
            .annotate(gates=gates)
            .order_by("project__name", "deal__title", "sequence", "title")
            .values_list("pk", "title", "project__name", "deal__title", "gates")
        )
        gating: list[tuple[str, str]] = []
        others: list[tuple[str, str]] = []
        for pk, title, project, deal, gate in milestones:
            (gating if gate else others).append((str(pk), milestone_label(title, project, deal)))
        return cls(
            commodities=blank + commodities,
            companies=blank + companies,
            currencies=blank + [(code, f"{code}: {name}") for code, name in currencies],
            milestones=[
                *blank,
                *([("Gates an instrument or a loan", gating)] if gating else []),
                *([("Other milestones", others)] if others else []),
            ],
        )


class ScenarioForm(forms.Form):
    name = forms.CharField(max_length=120, label="Name")
    base_on = forms.DateField(
        required=False,
        label="Base date",
        widget=ISO_DATE_INPUT,
        help_text="The date the scenario revalues the book on; empty: the latest valuation date.",
    )
    description = forms.CharField(
        required=False, max_length=2000, label="Description", widget=forms.Textarea(attrs={"rows": 3})
    )

    def clean_base_on(self):
        value = self.cleaned_data.get("base_on")
        error = value and shown_date_error(value)
        if error:
            raise forms.ValidationError(error)
        return value


class ShockForm(forms.Form):
    """One row of shocks: its kind and the fields that kind takes (the others are not read)."""

    kind = forms.ChoiceField(required=False, label="Kind", choices=[("", "—"), *ShockKind.choices])
    commodity = forms.ChoiceField(required=False, label="Commodity")
    company = forms.ChoiceField(required=False, label="Company")
    country = forms.CharField(
        required=False, max_length=2, label="Country (ISO code)", widget=forms.TextInput(attrs={"size": 3})
    )
    currency = forms.ChoiceField(required=False, label="Currency")
    milestone = forms.ChoiceField(required=False, label="Milestone")
    level = forms.DecimalField(required=False, label="Level (US$ per unit)")
    change_pct = forms.DecimalField(required=False, label="Change (%)")
    months = forms.IntegerField(required=False, label="Delay (months)")

    def __init__(self, *args, choices: ShockChoices, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.shock: Shock | None = None
        self.fields["commodity"].choices = choices.commodities  # type: ignore[attr-defined]
        self.fields["company"].choices = choices.companies  # type: ignore[attr-defined]
        self.fields["currency"].choices = choices.currencies  # type: ignore[attr-defined]
        self.fields["milestone"].choices = choices.milestones  # type: ignore[attr-defined]

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        kind = cleaned.get("kind")
        stated = {name: cleaned.get(name) for name in SHOCK_INPUTS if cleaned.get(name) not in (None, "")}
        if not kind:
            if stated:
                raise forms.ValidationError("Choose the kind of shock, or clear the row.")
            return cleaned
        data = {"kind": kind, **{name: stated[name] for name in SHOCK_FIELDS[kind] if name in stated}}
        self.shock = shock_from(data, self.number)
        return cleaned

    @property
    def number(self) -> int:
        """The row's number as the form shows it (from 1)."""
        prefix = self.prefix or ""
        index = prefix.rsplit("-", 1)[-1]
        return int(index) + 1 if index.isdigit() else 1


ShockFormSet = forms.formset_factory(
    ShockForm, extra=EXTRA_ROWS, max_num=MAX_SHOCKS, absolute_max=MAX_SHOCKS + EXTRA_ROWS, validate_max=True
)


def _rows_of(scenario: Scenario) -> list[dict]:
    """The form's rows of a stored scenario: each shock's kind and fields as stored."""
    return [
        {name: value for name, value in item.items() if name == "kind" or name in SHOCK_INPUTS}
        for item in scenario.shocks
        if isinstance(item, dict)
    ]


def _edit(request: HttpRequest, scenario: Scenario) -> HttpResponse:
    """The form of a new or stored scenario: GET shows it, POST saves it (or shows why not)."""
    stored_name = scenario.name  # the heading's, whatever is typed
    named = [item for item in scenario.shocks if isinstance(item, dict)]
    choices = ShockChoices.load(named)
    if request.method == "POST":
        form = ScenarioForm(request.POST)
        formset = ShockFormSet(request.POST, prefix="shock", form_kwargs={"choices": choices})
        if form.is_valid() and formset.is_valid():
            scenario.name = form.cleaned_data["name"]
            scenario.description = form.cleaned_data["description"]
            scenario.base_on = form.cleaned_data["base_on"]
            scenario.shocks = [row.shock.as_json() for row in formset.forms if row.shock is not None]
            try:
                scenario_save(scenario, user=request.user, reason=SAVE_REASON)
            except ValidationError as exc:
                refusal_on(form, exc)
            else:
                messages.success(request, f"Scenario “{scenario.name}” saved.")
                return redirect("scenario", pk=scenario.pk)
    else:
        form = ScenarioForm(
            initial={"name": scenario.name, "description": scenario.description, "base_on": scenario.base_on}
        )
        formset = ShockFormSet(prefix="shock", initial=_rows_of(scenario), form_kwargs={"choices": choices})
    return render(
        request,
        "portfolio/web/scenario_form.html",
        {"scenario": scenario, "stored_name": stored_name, "form": form, "formset": formset},
    )


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required("portfolio.add_scenario", raise_exception=True)
def scenario_new(request: HttpRequest) -> HttpResponse:
    return _edit(request, Scenario())


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required("portfolio.change_scenario", raise_exception=True)
def scenario_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _edit(request, get_object_or_404(Scenario, pk=pk))


@require_POST
@permission_required("portfolio.delete_scenario", raise_exception=True)
def scenario_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    scenario = get_object_or_404(Scenario, pk=pk)
    try:
        scenario_delete(scenario, user=request.user, reason=DELETE_REASON)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("scenario", pk=pk)
    messages.success(request, f"Scenario “{scenario.name}” deleted.")
    return redirect("scenarios")


# --- The pages that read ---------------------------------------------------------------------------


@permission_required("portfolio.view_scenario", raise_exception=True)
def scenarios(request: HttpRequest) -> HttpResponse:
    """The saved scenarios, by name, each with its shocks in one line."""
    rows = list(Scenario.objects.select_related("created_by").order_by("name"))
    lines = summaries(rows)
    return render(
        request,
        "portfolio/web/scenarios.html",
        {"rows": [(scenario, lines[scenario.pk]) for scenario in rows]},
    )


def _headlines(base: Figures, shocked: Figures) -> list[dict]:
    """Each headline figure as it is, under the scenario and its change (None where either is n/a);
    the value's, exposure's, floors' and contingent amounts' change is the scenario's ``change()``."""
    rows = []
    for name, label in HEADLINES:
        before, after = getattr(base, name), getattr(shocked, name)
        change = None if before is None or after is None else after - before
        rows.append({"name": name, "label": label, "base": before, "shocked": after, "change": change})
    return rows


def _size(amount: Decimal | None) -> Decimal:
    return Decimal("-1") if amount is None else abs(amount)


def _contributions(result: ScenarioResult, titles: dict[str, str]) -> list[dict]:
    rows = []
    for step in result.steps:
        moved = [(key, amounts) for key, amounts in step.by_deal.items() if amounts.value]
        moved.sort(key=lambda item: -_size(item[1].value))
        total = step.total
        rows.append(
            {
                "step": step,
                # A change that is n/a (None) is shown too.
                "moved": any(
                    amount != 0 for amount in (total.value, total.exposure, total.floor_liability, total.contingent)
                ),
                "contributors": [
                    {"reference": key, "title": titles.get(key, key), "amount": amounts.value}
                    for key, amounts in moved[:CONTRIBUTORS_SHOWN]
                ],
            }
        )
    return rows


@dataclass(frozen=True)
class GroupRow:
    """A group of a dimension with its figures as they are, under the scenario, and the change."""

    key: str
    label: str
    base: Figures
    shocked: Figures
    change: Amounts


def _groups(result: ScenarioResult, dimension: str, labels: dict[str, str]) -> list[GroupRow]:
    """Each group of ``dimension`` with its base and scenario figures, the largest change first."""
    rows = [
        GroupRow(key, labels.get(key, key), base, shocked, result.change(dimension, key))
        for key, base, shocked in result.pairs(dimension)
    ]
    rows.sort(key=lambda row: (-_size(row.change.value), row.label))
    return rows


def scenario_context(result: ScenarioResult) -> dict:
    """What the scenario's page shows of a run: the headline figures, the steps, the groups."""
    deals = [key for key, _, _ in result.pairs("deal")]
    titles = dimension_labels("deal", deals)
    base_total = result.base["total"].get("total") or Figures()
    total = result.shocked["total"].get("total") or Figures()
    change = result.change()
    return {
        "headlines": _headlines(base_total, total),
        "contributions": _contributions(result, titles),
        "change": change,
        "deals": _groups(result, "deal", titles),
        "groupings": [
            {
                "dimension": dimension,
                "heading": heading,
                "rows": _groups(result, dimension, dimension_labels(dimension, result.shocked[dimension].keys())),
            }
            for dimension, heading in GROUPINGS
            if dimension in result.shocked
        ],
        "floor_trails": [trail.describe() for trail in total.floor_trails],
        "base_unvalued": base_total.unvalued,
        "unvalued": total.unvalued,
        "exposure_gaps": total.exposure_gaps,
        "simulated": base_total.simulated or total.simulated,
    }


def report_scenario(scenario: Scenario, as_of: date) -> dict:
    """A saved scenario as the printable report shows it, run on the report's date: its shocks in
    words and what its page shows of a run (or why its shocks cannot be read)."""
    shocks, problems = stored_shocks(scenario)
    names = ShockNames.of(shocks)
    shown: dict[str, Any] = {"item": scenario, "shocks": [shock_words(s, names) for s in shocks], "problems": problems}
    if not problems:
        with one_source():
            shown.update(scenario_context(scenario_figures(book_on(as_of), shocks)))
    return shown


@dataclass(frozen=True)
class ScenarioRun:
    """A scenario asked for and the date it runs on: ``?as_of=``, else its base date, else the
    latest valuation date; with its shocks, or what is wrong with them."""

    scenario: Scenario
    form: AsOfForm
    default: date
    as_of: date
    shocks: list[Shock]
    problems: list[str]

    @classmethod
    def asked(cls, request: HttpRequest, pk: int) -> ScenarioRun:
        item = get_object_or_404(Scenario.objects.select_related("created_by"), pk=pk)
        default: date = item.base_on or default_as_of()
        form = AsOfForm(request.GET or None, initial={"as_of": default})
        shocks, problems = stored_shocks(item)
        return cls(item, form, default, as_of_from(form, default), shocks, problems)


@permission_required("portfolio.view_scenario", raise_exception=True)
@one_source()  # the book of the date is read once, for the base and the scenario alike
def scenario(request: HttpRequest, pk: int) -> HttpResponse:
    """A scenario run on a date (``?as_of=``; by default its base date, or the latest valuation
    date): its shocks, the figures of the book beside those under the shocks, what each kind of
    shock contributed, by deal and by agency, company and instrument kind."""
    run = ScenarioRun.asked(request, pk)
    names = ShockNames.of(run.shocks)
    context: dict[str, Any] = {
        "scenario": run.scenario,
        "form": run.form,
        "as_of": run.as_of,
        "default": run.default,
        "shocks": [shock_words(shock, names) for shock in run.shocks],
        "problems": run.problems,
        "may_change": request.user.has_perm("portfolio.change_scenario"),
        "may_delete": request.user.has_perm("portfolio.delete_scenario"),
        "export_query": f"as_of={run.as_of.isoformat()}",
    }
    if not run.problems:
        result = scenario_figures(book_on(run.as_of), run.shocks)
        context.update(scenario_context(result))
        context["result"] = result
    return render(request, "portfolio/web/scenario.html", context)


# --- Sensitivities -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FloorCurve:
    """One commodity the held book's price floors pay on: its liability at each price of
    ``FLOOR_CURVE_PRICES``, the day's market price (in US dollars, if it is known in them) and
    each floor with what its liability is computed from on the day."""

    index: int  # from 1, in the page's order
    code: str
    name: str
    unit: str
    points: list[tuple[Decimal, Decimal]]
    market: Decimal | None
    market_on: date | None
    market_simulated: bool
    trails: list[FloorTrail]

    @property
    def chart(self) -> dict:
        return charts.floor_curve(self.name, self.unit, self.points, self.market)

    @property
    def element_id(self) -> str:
        """The id of the chart's data in the page."""
        return f"chart-floor-{self.index}"


def floor_curves(book: Book, total: Figures) -> list[FloorCurve]:
    """Each commodity a price floor of the held book pays on (the floors in ``total``, the book's
    figures, on its date), by name, with its liability over the prices of ``FLOOR_CURVE_PRICES``."""
    commodities = {floor.commodity.name: floor.commodity for floor in book.floors}
    trails: dict[str, list[FloorTrail]] = defaultdict(list)
    for trail in total.floor_trails:
        trails[trail.commodity].append(trail)
    curves = []
    for index, name in enumerate(sorted(trails), start=1):
        commodity = commodities[name]
        price = book.commodity_prices.get(commodity.pk)
        in_dollars = price is not None and price.currency_id == "USD"
        curves.append(
            FloorCurve(
                index=index,
                code=commodity.code,
                name=name,
                unit=commodity.price_unit,
                points=floor_curve(book, commodity.code),
                market=price.price if in_dollars and price is not None else None,
                market_on=price.on if price is not None else None,
                market_simulated=price is not None and price.is_simulated,
                trails=trails[name],
            )
        )
    return curves


@permission_required("portfolio.view_scenario", raise_exception=True)
@one_source()  # the book of the date is read once, for every input's two scenarios and the curves
def scenario_sensitivities(request: HttpRequest) -> HttpResponse:
    """The held book's sensitivities on a date (``?as_of=``, by default the latest valuation date):
    the change of its value and exposure when each input moves 10 % down and up (a tornado chart
    and its table, the largest first), and each floor commodity's liability over its price."""
    default = default_as_of()
    form = AsOfForm(request.GET or None, initial={"as_of": default})
    as_of = as_of_from(form, default)
    book = book_on(as_of)
    total = book.figures_by(["total"], flows=False, twr=False)["total"].get("total") or Figures()
    found = sensitivities(book)
    return render(
        request,
        "portfolio/web/scenario_sensitivities.html",
        {
            "form": form,
            "as_of": as_of,
            "move": _plain(SENSITIVITY_MOVE),
            "sensitivities": found,
            "tornado": charts.tornado(found, SENSITIVITY_MOVE),
            "curves": floor_curves(book, total),
            "unvalued": total.unvalued,
            "simulated": total.simulated,
            "lowest": FLOOR_CURVE_PRICES[0],
            "highest": FLOOR_CURVE_PRICES[-1],
            "export_query": f"as_of={as_of.isoformat()}",
        },
    )


# --- Exports -------------------------------------------------------------------------------------

CENT = Decimal("0.01")
ZERO = Decimal("0")


def _cents(amount: Decimal | None) -> Decimal | None:
    """An amount to the cent, as the other exports give them; None (n/a) stays empty."""
    return None if amount is None else amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _figures(base: Figures, shocked: Figures) -> list[Decimal | None]:
    """A group's value as it is, under the scenario and its change; its gain to date and MOIC,
    its exposure and price-floor liability as it is and under the scenario: amounts to the cent,
    MOIC to six places (as the API's ratios)."""
    change = Amounts.of(shocked).minus(Amounts.of(base))
    moic = [None if g.moic is None else g.moic.quantize(RATIO_PLACES) for g in (base, shocked)]
    amounts = [_cents(amount) for amount in (base.value, shocked.value, change.value, base.gain, shocked.gain)]
    rest = (base.exposure, shocked.exposure, base.floor_liability, shocked.floor_liability)
    return [*amounts, *moic, *(_cents(amount) for amount in rest)]


@permission_required("portfolio.view_scenario", raise_exception=True)
@one_source()
def scenario_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """A scenario run on a date (``?as_of=``, as its page): each held deal's value, gain to date,
    MOIC, exposure and price-floor liability as it is and under the scenario, the change of its value and what each
    kind of shock that is in the scenario contributed to it (``value_change_<kind>_usd``, the
    kinds as the API names them: delay, commodity, price, fx, model); then the whole book's."""
    if fmt not in FORMATS:
        raise Http404("Exports come as csv or xlsx.")
    run = ScenarioRun.asked(request, pk)
    if run.problems:  # its page says why it is not run
        raise Http404("The scenario's shocks cannot be read.")
    result = scenario_figures(book_on(run.as_of), run.shocks)
    headers = [
        "deal", "title", "base_value_usd", "scenario_value_usd", "value_change_usd", "base_gain_usd",
        "scenario_gain_usd", "base_moic", "scenario_moic", "base_exposure_usd", "scenario_exposure_usd",
        "base_floor_liability_usd", "scenario_floor_liability_usd",
        *(f"value_change_{step.kind}_usd" for step in result.steps),
    ]  # fmt: skip
    pairs = result.pairs("deal")
    titles = dimension_labels("deal", [key for key, _, _ in pairs])
    rows: list[list] = []
    for key, base, shocked in pairs:
        steps = [_cents(step.by_deal[key].value if key in step.by_deal else ZERO) for step in result.steps]
        rows.append([key, titles[key], *_figures(base, shocked), *steps])
    base_total = result.base["total"].get("total") or Figures()
    total = result.shocked["total"].get("total") or Figures()
    rows.append(["", "Total", *_figures(base_total, total), *(_cents(step.total.value) for step in result.steps)])
    return table_response(f"scenario-{run.scenario.pk}-{run.as_of}", fmt, headers, rows)


@permission_required("portfolio.view_scenario", raise_exception=True)
@one_source()
def sensitivities_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """The held book's sensitivities on a date (``?as_of=``, by default the latest valuation date):
    each input with the change of the book's value, exposure and price-floor liability when it
    moves 10 % down and up, the largest first."""
    if fmt not in FORMATS:
        raise Http404("Exports come as csv or xlsx.")
    as_of = as_of_from(AsOfForm(request.GET or None), default_as_of())
    found: list[Sensitivity] = sensitivities(book_on(as_of))
    headers = [
        "input", "value_change_down_usd", "value_change_up_usd", "exposure_change_down_usd",
        "exposure_change_up_usd", "floor_liability_change_down_usd", "floor_liability_change_up_usd",
    ]  # fmt: skip
    figures = ("value", "exposure", "floor_liability")
    rows = [
        [s.label, *(_cents(getattr(amounts, name)) for name in figures for amounts in (s.down, s.up))] for s in found
    ]
    return table_response(f"sensitivities-{as_of}", fmt, headers, rows)
