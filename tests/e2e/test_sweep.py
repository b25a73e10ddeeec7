"""Every staff page in a real browser at a laptop's width (1440 px) and a phone's (390 px), on the
demo data: nothing scrolls sideways, numeric cells are right-aligned, no code or snake_case name is
shown as text (charts' labels included), no console error, page error or CSP violation, and no
serious or critical accessibility violation found by axe-core. A full-page screenshot of each page
at each width is written to artifacts/screenshots/<page>-<width>.png.

The pages are one table, ``PAGES``: a page is a URL name with its arguments and query; a new page
is a new row.

axe-core comes from npm (package.json's devDependencies, installed by ``make setup-dev``) and is
read from node_modules by the test alone: it is never among the application's static files, and it
is evaluated in the page through the browser's protocol, so the page's CSP is not loosened.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from portfolio import models as m
from portfolio.book.basis import Basis
from portfolio.book.core import EXPOSURE_LEGS
from tests.e2e.conftest import screenshot
from tests.e2e.test_browser import _log_in, _user, demo  # noqa: F401 (demo is a fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("browser")]

AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = {1440: {"width": 1440, "height": 900}, 390: {"width": 390, "height": 844}}
#: Impacts that fail the scan (axe's scale: minor, moderate, serious, critical).
FAILING_IMPACTS = {"serious", "critical"}
#: A snake_case word: letters joined by underscores.
SNAKE = re.compile(r"\b[a-z]+_[a-z_]+\b")
URL = re.compile(r"\b(?:https?|ftp)://\S+|\bwww\.\S+")


def _mp_company() -> tuple:
    return (m.Company.objects.get(name="MP Materials Corp.").pk,)


def _thacker_pass() -> tuple:
    return (m.Project.objects.get(name="Thacker Pass").pk,)


def _mp_agency() -> tuple:
    return (m.Deal.objects.select_related("agency").get(reference="mp-dod-2025").agency.short_name,)


def _latest_run() -> tuple:
    return (m.RefreshRun.objects.order_by("-pk").values_list("pk", flat=True)[0],)


def _published_report() -> tuple:
    """The first published report: the held book of the default date, published by the sweep's
    analyst the first time it is asked for."""
    from django.contrib.auth import get_user_model

    from portfolio.book import default_as_of
    from portfolio.services.reports import report_publish

    report = m.PublishedReport.objects.order_by("pk").first() or report_publish(
        as_of=default_as_of(), book="held", user=get_user_model().objects.get(username="ana")
    )
    return (report.pk,)


#: The sweep's scenario: every kind of shock, on the demo data.
SCENARIO_NAME = "Rare earths slump"


def _scenario() -> tuple:
    """The sweep's scenario, saved by the sweep's analyst the first time it is asked for: NdPr oxide
    at US$60/kg, MP's shares -50 %, Canadian companies' -20 %, every other listing -40 %, the
    Canadian dollar -10 %, volatility +25 % and the Ambler road (which gates Trilogy's warrants)
    two years late."""
    from django.contrib.auth import get_user_model

    from portfolio.services.scenarios import scenario_save

    scenario = m.Scenario.objects.filter(name=SCENARIO_NAME).first()
    if scenario is None:
        road = m.Milestone.objects.get(title="Ambler Access Road construction complete")
        shocks = [
            {"kind": "commodity", "commodity": "ndpr-oxide", "level": "60"},
            {"kind": "share_price", "company": _mp_company()[0], "change_pct": "-50"},
            {"kind": "share_price", "country": "CA", "change_pct": "-20"},
            {"kind": "share_price", "change_pct": "-40"},
            {"kind": "fx", "currency": "CAD", "change_pct": "-10"},
            {"kind": "volatility", "change_pct": "25"},
            {"kind": "delay", "milestone": road.pk, "months": "24"},
        ]
        scenario = scenario_save(
            m.Scenario(name=SCENARIO_NAME, description="A slump of rare-earth prices and shares.", shocks=shocks),
            user=get_user_model().objects.get(username="ana"),
            reason="Saved for the browser sweep",
        )
    return (scenario.pk,)


def _stress_run() -> tuple:
    """The sweep's historical stress run, stored by the sweep's analyst the first time it is asked
    for as the worker stores one: the demo book of the default date on 2022-01-01 to 2024-12-31, 36
    month ends (the demo data holds no prices that far back, so its result is made here: shares
    falling and recovering, NdPr oxide below the floor from mid-2023 to late 2024), the worst in May 2024,
    and a note."""
    from django.contrib.auth import get_user_model

    from portfolio.book import default_as_of

    run = m.ScenarioRun.objects.filter(kind="stress", status="succeeded").order_by("pk").first()
    if run is None:
        days = [dt.date(2022 + i // 12, i % 12 + 1, 1) - dt.timedelta(days=1) for i in range(1, 37)]
        points, losses = [], []
        for i, day in enumerate(days):
            value = Decimal(-2_400_000 * i + 45_000 * i * i)
            floor = Decimal(max(0, 1_800_000 * (min(i, 28) - 17) - 2_500_000 * max(0, i - 28)))
            losses.append((floor - value, day.isoformat()))
            points.append(
                {
                    "on": day.isoformat(),
                    "change": {
                        "value_usd": f"{value:.2f}", "exposure_usd": f"{value + floor:.2f}",
                        "floor_liability_usd": f"{floor:.2f}", "contingent_usd": "0.00",
                    },
                    "loss_usd": f"{floor - value:.2f}",
                    "inputs_moved": 9 if floor else 8,
                }
            )  # fmt: skip
        worst = max(losses)[1]
        result = {
            "as_of": default_as_of().isoformat(), "start": "2022-01-01", "end": "2024-12-31", "points": points,
            "worst": worst,
            "notes": ["USA Rare Earth, Inc.: no close of USAR (NASDAQ) by 2022-01-01; its shares stay as they are."],
        }  # fmt: skip
        run = m.ScenarioRun.objects.create(
            kind="stress", as_of=default_as_of(), start=dt.date(2022, 1, 1), end=dt.date(2024, 12, 31),
            status="succeeded", requested_by=get_user_model().objects.get(username="ana"), result=result,
            finished_at=timezone.now(),
        )  # fmt: skip
    return (run.pk,)


def _sensitivities_run() -> tuple:
    """The sweep's sensitivities run on the default date, worked out (as the worker does) the first
    time it is asked for."""
    from django.contrib.auth import get_user_model

    from portfolio.book import default_as_of
    from portfolio.services.scenario_runs import scenario_run_execute

    run = m.ScenarioRun.objects.filter(kind="sensitivities").order_by("pk").first()
    if run is None:
        run = m.ScenarioRun.objects.create(
            kind="sensitivities", as_of=default_as_of(), requested_by=get_user_model().objects.get(username="ana")
        )
        scenario_run_execute(run_id=run.pk)
    return (run.pk,)


@dataclass(frozen=True)
class Page:
    """A page of the sweep: ``name`` names its screenshots; ``url_name`` and ``args`` (a tuple, or a
    function of the loaded data returning one) find it; ``query`` is appended as it is."""

    name: str
    url_name: str
    args: tuple | Callable[[], tuple] = ()
    query: str = ""
    logged_in: bool = True
    #: The HTTP status the page answers with (the browser reports any 4xx on its console).
    status: int = 200
    #: Texts the page may show although they look like codes (e.g. what the user typed).
    allowed: tuple[str, ...] = field(default=())

    def exists(self) -> bool:
        """Whether the page's URL name resolves with its arguments."""
        try:
            self.url()
        except NoReverseMatch:
            return False
        return True

    def url(self) -> str:
        args = self.args() if callable(self.args) else self.args
        path = reverse(self.url_name, args=args)
        return f"{path}?{self.query}" if self.query else path


# Every staff page, in the order they are visited; extend it with a page's URL name and arguments.
PAGES: list[Page] = [
    Page("login", "login", logged_in=False),
    Page("dashboard", "dashboard"),
    Page("dashboard-past", "dashboard", query="as_of=2026-06-30"),
    Page("dashboard-committed", "dashboard", query="basis=committed"),
    Page("dashboard-ytd", "dashboard", query="change=ytd"),  # the tiles' change over the year to date
    Page("deals", "deals"),
    Page("deals-sorted", "deals", query="sort=-value"),
    Page("deals-filtered", "deals", query="agency=CGF&book=held"),
    Page("deal-mp", "deal", ("mp-dod-2025",)),
    Page("deal-lac", "deal", ("lac-doe-2025",)),  # a loan and its drawings
    Page("companies", "companies"),
    Page("companies-held", "companies", query="held=on"),
    Page("company", "company", _mp_company),
    Page("projects", "projects"),
    Page("project", "project", _thacker_pass),
    Page("agencies", "agencies"),
    Page("agency", "agency", _mp_agency),
    Page("filings", "filings"),
    Page("search", "search", query="q=lithium"),
    Page("milestones", "milestones"),
    Page("milestones-late", "milestones", query="status=late"),
    Page("refresh-runs", "refresh-runs"),
    Page("refresh-run", "refresh-run", _latest_run),
    Page("report", "report"),
    Page("reports", "reports"),
    Page("published-report", "published-report", _published_report),
    Page("password-change", "password_change"),
    Page("password-change-done", "password_change_done"),
    Page("milestone-timeline", "milestone-timeline"),
    Page("changes", "changes"),
    Page("changes-by-commodity", "changes", query="group_by=commodity&start=2025-11-27"),
    # The events of Trilogy's letter of intent: its forecast revised, its long-stop date passed.
    Page("changes-events", "changes", query="start=2026-04-02&end=2026-06-01"),
    Page("scenarios", "scenarios"),
    Page("scenario", "scenario", _scenario),
    Page("scenario-past", "scenario", _scenario, query="as_of=2026-11-24"),
    Page("scenario-new", "scenario-new"),
    Page("scenario-edit", "scenario-edit", _scenario),
    # The tornado of every input of the demo book and the NdPr oxide floor's liability over its price.
    Page("scenario-sensitivities", "scenario-sensitivities"),
    Page("scenario-sensitivities-past", "scenario-sensitivities", query="as_of=2026-11-24"),
    # The historical stress form with the runs asked for, a stress run's path (its chart, its worst
    # day and its 36 days) and a sensitivities run in short.
    Page("scenario-stress", "scenario-stress"),
    Page("scenario-run-stress", "scenario-run", _stress_run),
    Page("scenario-run-sensitivities", "scenario-run", _sensitivities_run),
    Page("not-found", "deal", ("no-such-deal",), status=404),
]


# --- What a page must not show -----------------------------------------------------------------


@cache
def _choice_codes() -> frozenset[str]:
    """Every stored choice value of the portfolio's models that reads as a code (it has an underscore
    or a hyphen between letters), with the book's bases and its legs of exposure (price_floor)."""
    codes: set[str] = set()
    for model in apps.get_app_config("portfolio").get_models():
        for model_field in model._meta.get_fields():
            choices = getattr(model_field, "flatchoices", None)
            for value, _label in choices or ():
                codes.add(str(value))
    for choices in _text_choices():
        codes.update(str(value) for value in choices.values)
    codes.update(str(value) for value in Basis.values)
    codes.update(EXPOSURE_LEGS)
    return frozenset(code for code in codes if re.search(r"[a-z][_-][a-z0-9]", code))


def _text_choices() -> list[type[models.TextChoices]]:
    """The TextChoices classes of the models' modules, fields or not (e.g. instrument kinds)."""
    found: list[type[models.TextChoices]] = []
    for module in (m, *(getattr(m, name) for name in ("deals", "registry", "milestones", "operations", "base"))):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, models.TextChoices) and value is not models.TextChoices:
                found.append(value)
    return found


def _codes() -> set[str]:
    """The codes no page may show as words: the choices' values, commodity codes and deal references."""
    codes = set(_choice_codes())
    codes.update(m.Commodity.objects.values_list("code", flat=True))
    codes.update(m.Deal.objects.values_list("reference", flat=True))
    return codes


def codes_in(text: str, codes: set[str], allowed: tuple[str, ...] = ()) -> list[str]:
    """The codes and snake_case words ``text`` shows as whole words, URLs left out."""
    text = URL.sub(" ", text)
    found = {match.group(0) for match in SNAKE.finditer(text)}
    for code in codes:
        if re.search(rf"(?<![\w-]){re.escape(code)}(?![\w-])", text):
            found.add(code)
    return sorted(code for code in found if code not in allowed)


# --- The checks run in the page ----------------------------------------------------------------

# What sticks out of the viewport and widens the page, the farthest first:
# elements whose parent fits or that are placed absolutely, and text running out of its element;
# none held by a box that scrolls or clips. Each is described by its tag, id, classes and text.
LAYOUT = """() => {
  const width = window.innerWidth;
  const scrollWidth = document.documentElement.scrollWidth;
  const describe = (e, r = e.getBoundingClientRect()) => {
    const names = typeof e.className === "string" ? e.className.trim() : "";
    const cls = names ? "." + names.split(/\\s+/).join(".") : "";
    const text = (e.innerText || e.textContent || "").trim().replace(/\\s+/g, " ").slice(0, 60);
    return `${e.tagName.toLowerCase()}${e.id ? "#" + e.id : ""}${cls} right=${Math.round(r.right)}px "${text}"`;
  };
  const placed = (style) => style.position === "absolute" || style.position === "fixed";
  // Whether a box that scrolls or clips holds the element: an absolutely placed element escapes
  // every box up to its containing block (its nearest positioned ancestor).
  const clipped = (e) => {
    let escaping = placed(getComputedStyle(e));
    for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
      const style = getComputedStyle(a);
      if (escaping && style.position === "static") { continue; }
      if (style.overflowX !== "visible") { return true; }
      escaping = placed(style);
    }
    return false;
  };
  const sticks = (r) => r.right > width + 0.5;
  const out = [];
  if (scrollWidth > width) {
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const node = walker.currentNode;
      if (node.nodeType === Node.TEXT_NODE) {
        const e = node.parentElement;
        if (!node.textContent.trim() || !e) { continue; }
        const range = document.createRange();
        range.selectNodeContents(node);
        const r = range.getBoundingClientRect();
        if (sticks(r) && !sticks(e.getBoundingClientRect()) && getComputedStyle(e).overflowX === "visible"
            && !clipped(e)) {
          out.push({ right: r.right, what: "text of " + describe(e, r) });
        }
      } else {
        const r = node.getBoundingClientRect();
        const parent = node.parentElement.getBoundingClientRect();
        if (sticks(r) && (!sticks(parent) || placed(getComputedStyle(node))) && !clipped(node)) {
          out.push({ right: r.right, what: describe(node, r) });
        }
      }
    }
  }
  // Anything farther right than the page is wide is clipped somewhere after all.
  const widening = out.filter((o) => o.right <= scrollWidth + 1).sort((a, b) => b.right - a.right);
  const wide = [...new Set(widening.map((o) => o.what))].slice(0, 6);
  const visible = (e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== "hidden";
  const misaligned = [...document.querySelectorAll("td.num, th.num")]
    .filter(visible)
    .filter((e) => !["right", "end"].includes(getComputedStyle(e).textAlign))
    .slice(0, 8)
    .map((e) => `${describe(e)} text-align=${getComputedStyle(e).textAlign}`);
  const charts = [...document.querySelectorAll("canvas")].filter((c) => c.chart).flatMap((c) => [
    ...(c.chart.data.labels || []).map(String),
    ...c.chart.data.datasets.map((d) => String(d.label || "")),
  ]);
  return { overflow: scrollWidth - width, wide, misaligned, text: document.body.innerText, charts };
}"""

AXE_RUN = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, count: v.nodes.length,
    targets: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
  }));
}"""

# Chromium reports a CSP violation on the console too; the event also names the directive.
CSP_WATCH = """document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"}`);
});"""


@cache
def _axe_source() -> str:
    if not AXE.exists():
        pytest.fail(f"axe-core is not installed at {AXE}: run `make setup-dev` (npm ci)")
    return AXE.read_text(encoding="utf-8")


def axe_violations(page) -> list[str]:
    """The serious and critical violations axe-core finds on the page, each with its rule, help and
    first targets."""
    page.evaluate(_axe_source())
    found = page.evaluate(AXE_RUN)
    return [
        f"axe {v['id']} ({v['impact']}, {v['count']} element(s)): {v['help']}; e.g. {', '.join(v['targets'])}"
        for v in found
        if v["impact"] in FAILING_IMPACTS
    ]


def check_page(page, spec: Page, width: int, codes: set[str]) -> list[str]:
    """Open a page and return what is wrong with it, each line naming the page and the check."""
    url = spec.url()
    response = page.goto(url)
    page.wait_for_load_state("networkidle")
    page.wait_for_function(
        "[...document.querySelectorAll('canvas[data-chart]')].every((c) => c.dataset.drawn === 'true')", timeout=10_000
    )
    where = f"{spec.name} at {width} px ({url})"
    problems: list[str] = []
    if response is None or response.status != spec.status:
        problems.append(f"answered {response and response.status}, not {spec.status}")
    result = page.evaluate(LAYOUT)
    if result["overflow"] > 0:
        problems.append(f"scrolls sideways by {result['overflow']} px, sticking out: " + "; ".join(result["wide"]))
    problems += [f"numeric cell not right-aligned: {cell}" for cell in result["misaligned"]]
    shown = codes_in(result["text"], codes, spec.allowed)
    if shown:
        problems.append(f"codes shown as text: {shown}")
    in_charts = codes_in("\n".join(result["charts"]), codes, spec.allowed)
    if in_charts:
        problems.append(f"codes in the charts' labels: {in_charts}")
    problems += axe_violations(page)
    page.wait_for_load_state("networkidle")
    console = page.console.problems
    if spec.status >= 400:
        console = [p for p in console if f"status of {spec.status}" not in p]
    problems += console
    page.console.problems.clear()
    screenshot(page, f"{spec.name}-{width}")
    return [f"{where}: {problem}" for problem in problems]


@pytest.mark.parametrize("width", list(WIDTHS))
def test_every_staff_page_passes_the_sweep(page, demo, width):  # noqa: F811 (demo is a fixture)
    """At 1440 and 390 px every staff page of the table (the login page logged out, the rest as an
    analyst) fits the width, right-aligns its numeric cells, shows no code or snake_case word, raises
    no console error, page error or CSP violation and has no serious or critical axe violation;
    each is photographed."""
    page.set_viewport_size(WIDTHS[width])
    page.add_init_script(CSP_WATCH)
    _user("Analyst", "ana")
    codes = _codes()
    missing = [spec.name for spec in PAGES if not spec.exists()]
    assert not missing, f"pages of the table whose URL name does not resolve: {missing}"
    problems: list[str] = []
    logged_in = False
    for spec in sorted(PAGES, key=lambda spec: spec.logged_in):
        if spec.logged_in and not logged_in:
            _log_in(page, "ana")
            logged_in = True
        problems += check_page(page, spec, width, codes)
    assert not problems, "\n".join(problems)


def test_the_sweep_finds_codes_and_ignores_urls_and_labels():
    """The text check finds a choice's value, a deal reference and any snake_case word as whole words,
    and leaves alone labels, hyphenated English, URLs and the texts a page may show."""
    codes = {"mp-dod-2025", "call_option", "ndpr-oxide"}
    text = (
        "Call option over another holder's shares · call_option · Ramp-up\n"
        "Deal mp-dod-2025 · https://example.org/a_b/mp-dod-2025 · NdPr oxide · first_production"
    )
    assert codes_in(text, codes) == ["call_option", "first_production", "mp-dod-2025"]
    assert codes_in("mp-dod-20250 xmp-dod-2025", codes) == []
    assert codes_in("lithium_carbonate", codes, allowed=("lithium_carbonate",)) == []


def test_the_sweep_sees_a_wide_page_a_left_aligned_figure_and_an_axe_violation(page):
    """On a page made to fail, the checks run in the browser name the element that widens the page and
    the misaligned numeric cell, and axe-core reports the button without a name."""
    page.set_viewport_size(WIDTHS[390])
    page.set_content(
        "<!DOCTYPE html><html lang='en'><head><title>Made to fail</title></head><body style='margin: 0'><main>"
        "<table><tr><th>Value</th><td class='num' style='text-align: left'>1.5</td></tr></table>"
        "<div id='wide' style='width: 600px'>wide</div><button></button></main></body></html>"
    )
    result = page.evaluate(LAYOUT)
    assert result["overflow"] == 600 - 390
    assert result["wide"][0].startswith("div#wide right=600px")
    assert len(result["misaligned"]) == 1
    assert "text-align=left" in result["misaligned"][0]
    assert any(v.startswith("axe button-name (critical") for v in axe_violations(page))


def test_the_choice_codes_cover_the_models_choices():
    """The codes the sweep looks for include the instrument kinds, deal statuses, milestone kinds and
    statuses, project stages, evidence and loan kinds that contain an underscore or a hyphen."""
    codes = _choice_codes()
    for choices in (
        m.InstrumentKind,
        m.DealStatus,
        m.MilestoneKind,
        m.MilestoneStatus,
        m.ProjectStage,
        m.Evidence,
        m.LoanEventKind,
    ):
        for value in choices.values:
            if re.search(r"[a-z][_-][a-z0-9]", value):
                assert value in codes, (choices.__name__, value)
    assert "price_floor" in codes


def test_axe_is_for_the_tests_only():
    """axe-core is installed for the tests (a devDependency pinned exactly) but the application's
    static files never include it."""
    from django.contrib.staticfiles import finders

    package = json.loads((Path(settings.BASE_DIR) / "package.json").read_text(encoding="utf-8"))
    assert re.fullmatch(r"\d+\.\d+\.\d+", package["devDependencies"]["axe-core"])
    assert "axe-core" not in package.get("dependencies", {})
    served: list[str] = []
    for finder in finders.get_finders():
        served += [path for path, _storage in finder.list([])]
    assert served
    assert not [path for path in served if "axe" in path.lower()]


def _sweep_one(page, spec: Page, width: int) -> list[str]:
    page.set_viewport_size(WIDTHS[width])
    return check_page(page, spec, width, _codes())


def test_search_from_the_header_finds_a_company_a_deal_and_a_project(page, demo):  # noqa: F811
    """An analyst searches from the header for a ticker and finds the company first, follows it, then
    searches for a project's name and a deal's title; a search for nothing says so; the results page
    passes the sweep's checks at both widths."""
    _user("Analyst", "ana")
    page.add_init_script(CSP_WATCH)
    _log_in(page, "ana")
    header = page.get_by_role("search").first
    header.get_by_role("searchbox").fill("MP")
    header.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"/search/\?q=MP"))
    companies = page.locator("#found-companies")
    assert companies.get_by_role("link", name="MP Materials Corp.").is_visible()
    assert page.locator("#found-deals").get_by_role("link").count() >= 1
    companies.get_by_role("link", name="MP Materials Corp.").click()
    page.wait_for_url(re.compile(r"/companies/\d+/$"))
    assert page.get_by_role("heading", name=re.compile("MP Materials")).first.is_visible()

    page.get_by_role("search").first.get_by_role("searchbox").fill("thacker")
    page.get_by_role("search").first.get_by_role("button", name="Search").click()
    page.locator("#found-projects").get_by_role("link", name="Thacker Pass").click()
    page.wait_for_url(re.compile(r"/projects/\d+/$"))

    page.goto(reverse("search") + "?q=no+record+is+called+this")
    assert "Nothing found" in page.get_by_role("status").inner_text()

    problems = []
    for width in WIDTHS:
        problems += _sweep_one(page, Page("search-mp", "search", query="q=MP"), width)
    assert not problems, "\n".join(problems)


def test_the_milestone_timeline_draws_every_milestone_and_filters_by_agency(page, demo):  # noqa: F811
    """The portfolio timeline draws its chart with a row per milestone shown, marks today, and
    filtering by an agency narrows it to that agency's milestones; it passes the sweep's checks at
    both widths, filtered too."""
    _user("Analyst", "ana")
    page.add_init_script(CSP_WATCH)
    _log_in(page, "ana")
    page.goto(reverse("milestone-timeline"))
    page.wait_for_selector("canvas[data-chart][data-drawn='true']")
    assert page.get_by_role("heading", name="Milestone timeline").is_visible()
    drawn = page.evaluate(_CHART_ROWS)
    assert drawn > 0
    today = dt.date.today().isoformat()
    assert today in page.locator("main").inner_text()

    agency = _mp_agency()[0]
    choice = page.get_by_label("Agency")
    options = choice.locator("option").evaluate_all("(os) => os.map((o) => [o.value, o.textContent])")
    choice.select_option(next(value for value, text in options if re.search(rf"\b{re.escape(agency)}\b", text)))
    page.get_by_role("button", name="Filter").click()
    page.wait_for_selector("canvas[data-chart][data-drawn='true']")
    filtered = page.evaluate(_CHART_ROWS)
    assert 0 < filtered < drawn

    problems = []
    for width in WIDTHS:
        problems += _sweep_one(
            page, Page("milestone-timeline-filtered", "milestone-timeline", query=_query(page)), width
        )
    assert not problems, "\n".join(problems)


_CHART_ROWS = "document.querySelector('canvas[data-chart][data-drawn=\"true\"]').chart.data.labels.length"


def _query(page) -> str:
    return page.url.partition("?")[2]


def test_an_analyst_writes_a_scenario_and_its_pages_pass_the_sweep(page, demo):  # noqa: F811
    """An analyst opens the Scenarios page from the menu, writes a scenario on the form (NdPr oxide
    at US$60/kg, every listing -40 %), is led to its page, which shows the held value under it and
    each step's contribution; a change of -150 % is refused on the form. The scenario pages of the
    table pass the sweep's checks at both widths."""
    _user("Analyst", "ana")
    page.add_init_script(CSP_WATCH)
    _log_in(page, "ana")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Scenarios").click()
    page.wait_for_url(re.compile(r"/scenarios/$"))
    page.get_by_role("link", name="New scenario").click()
    page.wait_for_url(re.compile(r"/scenarios/new/$"))
    page.get_by_label("Name").fill("NdPr at 60")
    first = page.get_by_role("group", name="Shock 1")
    first.get_by_label("Kind").select_option("commodity")
    first.get_by_label("Commodity").select_option("ndpr-oxide")
    first.get_by_label("Level (US$ per unit)").fill("60")
    second = page.get_by_role("group", name="Shock 2")
    second.get_by_label("Kind").select_option("share_price")
    second.get_by_label("Change (%)").fill("-150")
    page.get_by_role("button", name="Save the scenario").click()
    page.wait_for_load_state("networkidle")
    assert "Shock 2: the change must be above -100 %" in page.locator("main").inner_text()
    assert not m.Scenario.objects.filter(name="NdPr at 60").exists()
    page.get_by_role("group", name="Shock 2").get_by_label("Change (%)").fill("-40")
    page.get_by_role("button", name="Save the scenario").click()
    page.wait_for_url(re.compile(r"/scenarios/\d+/$"))
    main = page.locator("main").inner_text()
    assert "NdPr oxide at US$60/kg" in main
    assert "Listed shares -40 %" in main
    assert page.locator("#scenario-steps").get_by_text("Share-price effect").is_visible()
    assert m.Scenario.objects.get(name="NdPr at 60").created_by.username == "ana"

    problems = []
    for spec in [spec for spec in PAGES if spec.name.startswith("scenario")]:
        for width in WIDTHS:
            problems += _sweep_one(page, spec, width)
    assert not problems, "\n".join(problems)


def test_the_sensitivities_draw_a_bar_an_input_and_the_floor_curve(page, demo):  # noqa: F811
    """From the Scenarios page an analyst opens the sensitivities: the tornado draws a row for each
    input of the table beneath, largest first, and the NdPr oxide floor's curve its 13 prices with
    the market price marked; the CSV export downloads the table's inputs in the same order."""
    _user("Analyst", "ana")
    page.add_init_script(CSP_WATCH)
    _log_in(page, "ana")
    page.goto(reverse("scenarios"))
    page.get_by_role("link", name="Sensitivities").click()
    page.wait_for_url(re.compile(r"/scenarios/sensitivities/$"))
    page.wait_for_selector("canvas[data-chart='tornado'][data-drawn='true']")
    inputs = page.locator("#sensitivities tbody tr td:first-child").all_inner_texts()
    assert inputs, "the demo book has inputs"
    drawn = page.evaluate("document.querySelector('canvas[data-chart=\"tornado\"]').chart.data.labels")
    assert drawn == inputs
    curve = page.evaluate(
        "(() => { const c = document.querySelector('canvas[data-chart=\"floor-1\"]').chart;"
        " return [c.data.datasets[0].data.length, c.options.plugins.marker.at]; })()"
    )
    assert curve[0] == 13
    assert curve[1] is not None
    assert page.get_by_role("heading", name="NdPr oxide").is_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").click()
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert [row[0] for row in rows[1:]] == inputs
