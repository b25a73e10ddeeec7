"""The scale benchmark (bench/README.md): the portfolio at 100 times today's size on PostgreSQL,
each measure timed as the median of several runs beside its floor, written to bench/results.json.

    .venv/bin/python bench/run.py [--runs 5] [--latency 0.05] [--only dashboard,summary,...]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

os.environ["DJANGO_SETTINGS_MODULE"] = "tracker.settings.local"
os.environ["DJANGO_DEBUG"] = "False"
os.environ.setdefault("LODESTONE_VAR_DIR", str(ROOT / "var" / "bench"))
os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")

AS_OF = date(2026, 11, 27)  # the end of the scale data (generate_scale_data --end)


def _create_database(settings: dict) -> None:
    """Create the benchmark's database when it does not exist yet."""
    import psycopg
    from psycopg import sql

    server = {
        "host": settings["HOST"] or None,
        "port": settings["PORT"] or None,
        "user": settings["USER"] or None,
        "password": settings["PASSWORD"] or None,
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [settings["NAME"]]).fetchone():
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(settings["NAME"])))


def _database_url(scale: float) -> str:
    """The benchmark's database of a scale: lodestone_bench, lodestone_bench_4x, ..."""
    suffix = "" if scale == 1 else f"_{scale:g}x".replace(".", "_")
    return f"postgres://postgres@127.0.0.1:5432/lodestone_bench{suffix}"


def _setup(scale: float) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("The benchmark runs on PostgreSQL: set DATABASE_URL.")
    _create_database(connection.settings_dict)
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    from portfolio.models import Deal

    if not Deal.objects.exists():
        call_command("generate_scale_data", f"--end={AS_OF.isoformat()}", f"--scale={scale:g}")
        _analyze()


def _analyze() -> None:
    """Refresh the planner's statistics after a bulk write (the scale data, a backfill), as
    autovacuum would in time: otherwise the first measures run on plans for empty tables."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


# --- measuring ---------------------------------------------------------------------------------


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _queries(fn: Callable[[], object]) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def _peak_mb(fn: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def _sql_seconds(sql: str, params: dict, *, rollback: bool = False) -> float:
    """The server's own execution time of one statement (EXPLAIN ANALYZE), in seconds."""
    from django.db import connection, transaction

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
            plan = cursor.fetchone()[0]
        if rollback:
            transaction.set_rollback(True)
    plan = plan[0] if isinstance(plan, list) else json.loads(plan)[0]
    return (plan["Planning Time"] + plan["Execution Time"]) / 1000


def _selects(fn: Callable[[], object]) -> list[str]:
    """The reading statements a call sends, as it sent them (the session's save and the like are
    written, not read)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        fn()
    return [q["sql"] for q in ctx.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")]


def _reads_seconds(fn: Callable[[], object]) -> float:
    """The server's own time (EXPLAIN ANALYZE) of every query a call sends, each run again as it was
    sent: the floor of reading what the call reads (the kept rows and ledgers, the date's values,
    its session), as the server takes it."""
    from django.db import connection, transaction

    seconds = 0.0
    for sql in _selects(fn):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
            plan = cursor.fetchone()[0]
        plan = plan[0] if isinstance(plan, list) else json.loads(plan)[0]
        seconds += (plan["Planning Time"] + plan["Execution Time"]) / 1000
    return seconds


def _fetch_seconds(fn: Callable[[], object], *, tries: int = 3) -> float:
    """The client's own time of sending every query a call sends and taking in its rows (a raw
    cursor: rows as the driver gives them, no model or Python figure built), the best of ``tries``:
    the floor of reading what the call reads into the process. ``EXPLAIN ANALYZE`` leaves out what
    the rows cost to send and to take in (a kept ledger's arrays are not even read from storage)."""
    from django.db import connection

    statements = _selects(fn)
    best = None
    for _ in range(tries):
        with connection.cursor() as cursor:
            raw = cursor.cursor  # the driver's own cursor: the statements run as they were sent
            started = time.perf_counter()
            for sql in statements:
                raw.execute(sql)
                raw.fetchall()
            seconds = time.perf_counter() - started
        best = seconds if best is None else min(best, seconds)
    return best or 0.0


def steward_edit() -> None:
    """A real steward's edit through the records service (one position's notes, with its history
    row): like every edit it retires the figures kept in the cache, and once it commits the kept
    figures of the first requests are worked out again (``services.kept_figures``)."""
    from django.contrib.auth.models import User

    from portfolio.models import Position
    from portfolio.services.records import record_save

    position = Position.objects.order_by("pk").first()
    position.notes = f"Checked on {time.strftime('%Y-%m-%d %H:%M:%S')}."
    record_save(position, user=User.objects.get(username="bench"), reason="Notes of a check (benchmark).")


def measure(name: str, fn: Callable[[], object], *, runs: int, floor: Callable[[], float], target: dict) -> dict:
    from django.test.utils import override_settings

    fn()  # warm: connections, compiled templates
    colds, edits = [], []
    with override_settings(LODESTONE_CACHE_FIGURES=False):  # the target is for figures with no cache at all
        for _ in range(runs):  # each the first request after a steward's edit
            edits.append(_timed(steward_edit))  # with the kept figures worked out again once it commits
            colds.append(_timed(fn))
    cold = statistics.median(colds)
    seconds = [_timed(fn) for _ in range(runs)]  # then served from the cache, where it is on
    floor_runs = [floor() for _ in range(runs)]
    median, floor_median = statistics.median(seconds), statistics.median(floor_runs)
    steward_edit()
    with override_settings(LODESTONE_CACHE_FIGURES=False):
        reads = _reads_seconds(fn)  # what a first request after a change reads, as the server takes it
        steward_edit()
        fetched = _fetch_seconds(fn)  # the same, sent and taken in by the client
        cold_queries = _queries(fn)
    fn()  # the cache filled again: the query count beside the median is a served request's
    result = {
        "name": name,
        "runs": runs,
        "median_seconds": round(median, 4),
        "cold_seconds": round(cold, 4),
        "cold_runs_seconds": [round(one, 4) for one in colds],
        "edit_seconds": round(statistics.median(edits), 4),
        "floor_seconds": round(floor_median, 4),
        "ratio": round(median / floor_median, 2) if floor_median else None,
        "cold_reads_floor_seconds": round(reads, 4),
        "cold_reads_ratio": round(cold / reads, 2) if reads else None,
        "cold_fetch_floor_seconds": round(fetched, 4),
        "cold_fetch_ratio": round(cold / fetched, 2) if fetched else None,
        "query_count": _queries(fn),
        "cold_query_count": cold_queries,
        "peak_memory_mb": round(_peak_mb(fn), 1),
        "target": target,
    }
    print(
        f"{name:<22} median {median * 1000:9.1f} ms   cold {cold * 1000:9.1f} ms (the edit before it "
        f"{result['edit_seconds'] * 1000:.0f} ms)   floor {floor_median * 1000:8.1f} ms"
        f"   ratio {result['ratio']!s:>7}   cold over its reads ({reads * 1000:.1f} ms) {result['cold_reads_ratio']}"
        f", over their fetch ({fetched * 1000:.1f} ms) {result['cold_fetch_ratio']}"
        f"   queries {result['query_count']:>4} (after a change {cold_queries})   peak {result['peak_memory_mb']} MB"
    )
    return result


# --- the measures ------------------------------------------------------------------------------

#: The scenario the benchmark runs: NdPr at US$60/kg, every share down 40 %, the Canadian dollar
#: down 10 %, volatility up a fifth.
BENCH_SCENARIO = "Benchmark: NdPr at 60, shares -40 %, CAD -10 %, volatility +20 %"

LATEST_VALUES = """
    SELECT DISTINCT ON (v.position_id) v.position_id, v.value_usd
    FROM portfolio_valuation v WHERE v.as_of <= %(as_of)s ORDER BY v.position_id, v.as_of DESC
"""


def _kinds(sign: int) -> str:
    """The cash-flow kinds of a sign (-1 paid, +1 received) as an SQL list, read from the models'
    CASH_FLOW_SIGN (imported here because the app loads only after ``_setup``)."""
    from portfolio.models import CASH_FLOW_SIGN

    return ", ".join(f"'{kind}'" for kind, kind_sign in CASH_FLOW_SIGN.items() if kind_sign == sign)


def summary_sql() -> str:
    return f"""
    WITH latest AS ({LATEST_VALUES}),
    paid AS (
        SELECT c.position_id,
               SUM(CASE WHEN c.kind IN ({_kinds(-1)}) THEN c.amount ELSE 0 END) AS invested,
               SUM(CASE WHEN c.kind IN ({_kinds(1)}) THEN c.amount ELSE 0 END) AS realised
        FROM portfolio_cashflow c WHERE c.occurred_on <= %(as_of)s GROUP BY c.position_id)
    SELECT d.agency_id, SUM(l.value_usd), SUM(p.invested), SUM(p.realised), COUNT(*)
    FROM portfolio_position pos JOIN portfolio_deal d ON d.id = pos.deal_id
    LEFT JOIN latest l ON l.position_id = pos.id LEFT JOIN paid p ON p.position_id = pos.id
    GROUP BY d.agency_id
"""


SERIES_SQL = """
    SELECT v.as_of, d.agency_id, SUM(v.value_usd)
    FROM portfolio_valuation v JOIN portfolio_position pos ON pos.id = v.position_id
    JOIN portfolio_deal d ON d.id = pos.deal_id
    WHERE v.as_of BETWEEN %(start)s AND %(as_of)s GROUP BY v.as_of, d.agency_id
"""
DEALS_SQL = """
    SELECT d.*, a.short_name, c.name FROM portfolio_deal d
    JOIN portfolio_agency a ON a.id = d.agency_id JOIN portfolio_company c ON c.id = d.company_id
    ORDER BY d.id LIMIT 50
"""


def bridge_sql() -> str:
    """The bridge's raw inputs by agency: the values stored on the year's first and last dates and
    the flows in between."""
    return f"""
    WITH ends AS (
        SELECT d.agency_id,
               SUM(CASE WHEN v.as_of = %(start)s THEN v.value_usd ELSE 0 END) AS opening,
               SUM(CASE WHEN v.as_of = %(as_of)s THEN v.value_usd ELSE 0 END) AS closing
        FROM portfolio_valuation v JOIN portfolio_position pos ON pos.id = v.position_id
        JOIN portfolio_deal d ON d.id = pos.deal_id
        WHERE v.as_of IN (%(start)s, %(as_of)s) GROUP BY d.agency_id),
    moved AS (
        SELECT d.agency_id,
               SUM(CASE WHEN c.kind IN ({_kinds(-1)}) THEN c.amount ELSE 0 END) AS money_in,
               SUM(CASE WHEN c.kind IN ({_kinds(1)}) THEN c.amount ELSE 0 END) AS money_out
        FROM portfolio_cashflow c JOIN portfolio_position pos ON pos.id = c.position_id
        JOIN portfolio_deal d ON d.id = pos.deal_id
        WHERE c.occurred_on > %(start)s AND c.occurred_on <= %(as_of)s GROUP BY d.agency_id)
    SELECT e.agency_id, e.opening, e.closing, m.money_in, m.money_out
    FROM ends e LEFT JOIN moved m ON m.agency_id = e.agency_id
"""


def metrics_sql() -> str:
    return f"""
    WITH latest AS ({LATEST_VALUES})
    SELECT (SELECT SUM(CASE WHEN kind IN ({_kinds(-1)}) THEN -amount
                            WHEN kind IN ({_kinds(1)}) THEN amount ELSE 0 END)
            FROM portfolio_cashflow WHERE occurred_on <= %(as_of)s),
           (SELECT array_agg(occurred_on ORDER BY occurred_on) FROM portfolio_cashflow WHERE occurred_on <= %(as_of)s),
           (SELECT SUM(value_usd) FROM latest)
"""


VALUE_ALL_SQL = """
    INSERT INTO portfolio_valuation (created_at, updated_at, position_id, as_of, method, fair_value_level, inputs,
                                     formula, currency_id, value_local, fx_rate_to_usd, value_usd, is_contingent,
                                     is_simulated)
    SELECT now(), now(), pos.id, day, 'market', 1, '{}'::jsonb, '', 'USD',
           pos.quantity * px.close, 1, pos.quantity * px.close, false, false
    FROM generate_series(%(start)s::date, %(as_of)s::date, interval '1 day') AS day,
         portfolio_position pos
    JOIN LATERAL (SELECT sp.close FROM portfolio_securityprice sp
                  WHERE sp.listing_id = pos.listing_id AND sp.on <= day ORDER BY sp.on DESC LIMIT 1) px ON true
    WHERE extract(isodow FROM day) < 6
    ON CONFLICT (position_id, as_of) DO UPDATE SET value_usd = EXCLUDED.value_usd
"""


IMPORT_MEMO = "benchmark import"


def measure_import(user, per_position: int = 2) -> dict:
    """A steward's CSV of cash flows (``per_position`` new fees for each of 5,000 positions: 10,000
    rows for import_10k, 100,000 for import_100k, the documented maximum): the check (a dry run),
    the import, and the same file imported again (every row unchanged). The rows it created, their
    history and the valuation refresh it requested are removed afterwards."""
    from portfolio.models import CashFlow, Position, RefreshRun
    from portfolio.services.imports import import_file
    from portfolio.services.refresh import refresh_run_fail
    from portfolio.spreadsheets.files import csv_bytes
    from portfolio.spreadsheets.kinds import KIND_BY_NAME

    # New rows only: two fee days of each position that it has no fee on yet, so that removing the
    # rows afterwards leaves the scale data as it was.
    days = [AS_OF - timedelta(days=n) for n in range(2, 12 + 2 * per_position)]
    taken = set(CashFlow.objects.filter(kind="fee", occurred_on__in=days).values_list("position_id", "occurred_on"))
    rows = []
    for p in Position.objects.select_related("deal").order_by("pk")[:5000]:
        free = [day for day in days if (p.pk, day) not in taken][:per_position]
        for day in free:
            rows.append({"deal": p.deal.reference, "position": p.label, "kind": "fee", "occurred_on": day,
                         "amount": Decimal("1250.00"), "currency": p.currency_id, "memo": IMPORT_MEMO})  # fmt: skip
    content = csv_bytes(KIND_BY_NAME["cash-flows"], rows)
    flows_before = CashFlow.objects.count()

    def run(dry_run: bool):
        result = import_file(content=content, file_name="cash-flows.csv", user=user, trigger="command",
                             dry_run=dry_run)  # fmt: skip
        if result.status == "refused":
            raise RuntimeError(f"import refused: {result.message} {result.errors[:3]}")
        if result.total("updated"):
            raise RuntimeError("the benchmark import would change the scale data's cash flows")
        return result

    from django.db import connection

    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with connection.execute_wrapper(count):
        check_seconds = _timed(lambda: run(True))
    query_count = queries
    apply_seconds = _timed(lambda: run(False))
    again_seconds = _timed(lambda: run(False))
    peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before, 0) / 1024
    created = CashFlow.objects.filter(memo=IMPORT_MEMO)
    CashFlow.history.filter(memo=IMPORT_MEMO).delete()
    from django.db import transaction

    from portfolio.services.kept_ledgers import gathered

    with transaction.atomic(), gathered():  # each position's kept ledger rebuilt once, not once a flow
        created.delete()
    if CashFlow.objects.count() != flows_before:
        raise RuntimeError("the benchmark import changed the scale data's cash flows")
    for pending in RefreshRun.objects.filter(trigger="import", status__in=["queued", "running"]):
        refresh_run_fail(run_id=pending.pk, reason="benchmark: not run")
    name = f"import_{len(rows) // 1000}k"
    print(f"{name:22} check {check_seconds:6.1f} s   import {apply_seconds:6.1f} s   "
          f"again (unchanged) {again_seconds:6.1f} s   queries {query_count}   RSS growth {peak:.0f} MB")  # fmt: skip
    return {
        "name": name,
        "runs": 1,
        "rows": len(rows),
        "check_seconds": round(check_seconds, 2),
        "median_seconds": round(apply_seconds, 2),
        "unchanged_again_seconds": round(again_seconds, 2),
        "floor_seconds": None,
        "ratio": None,
        "query_count": query_count,
        "peak_memory_mb": round(peak, 1),  # growth of the process's peak resident size
        "target": {},
    }


def _growth(report: dict) -> list[dict]:
    """How each measure's median and first request after a change grow from scale 1 to each other
    scale point (the later time over the earlier), beside how the data grew."""
    base = {m["name"]: m for m in report.get("measures", [])}
    growth = []
    for scale, point in sorted(report.get("scale_points", {}).items(), key=lambda item: float(item[0])):
        positions = point["data"]["positions"] / max(report.get("data", {}).get("positions", 0), 1)
        for measure in point["measures"]:
            first = base.get(measure["name"])
            if first is None:
                continue
            row = {"name": measure["name"], "scale": float(scale), "positions_factor": round(positions, 2)}
            if first.get("cpu_model") != measure.get("cpu_model"):  # times of two machines say nothing of growth
                row["note"] = "the two points were measured on different machines: measure both again on one"
                growth.append(row)
                continue
            for field in ("median_seconds", "cold_seconds"):
                if first.get(field) and measure.get(field) is not None:
                    row[field.replace("_seconds", "_factor")] = round(measure[field] / first[field], 2)
            growth.append(row)
    return growth


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds the local provider takes per request")
    parser.add_argument("--only", default="", help="comma-separated measure names")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results.json"))
    parser.add_argument(
        "--scale", type=float, default=1.0,
        help="the data's size relative to the benchmark set (its own database); other than 1, the results "
        "go to the file's scale points, with their growth from scale 1",
    )  # fmt: skip
    args = parser.parse_args()
    only = set(filter(None, args.only.split(",")))
    os.environ.setdefault("DATABASE_URL", _database_url(args.scale))
    # A cache of its own for each scale point: figures cached from one database are never read for another.
    os.environ.setdefault("REDIS_URL", f"redis://127.0.0.1:6379/{12 if args.scale == 1 else 11}")
    _setup(args.scale)

    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings

    from bench.provider import serve, waiting_on
    from portfolio.book import book_on
    from portfolio.integrations.market_data import provider_gate
    from portfolio.models import Listing, Position
    from portfolio.services.refresh import refresh_request, refresh_run_execute

    user, _ = User.objects.get_or_create(username="bench")
    user.groups.add(Group.objects.get(name="Analyst"))
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)

    def get(url: str) -> Callable[[], None]:
        def call() -> None:
            response = client.get(url)
            if response.status_code != 200:
                raise RuntimeError(f"{url} answered {response.status_code}")
            _ = response.content

        return call

    def write_report() -> None:
        """Write what has been measured so far (a long measure interrupted leaves the others)."""
        with connection.cursor() as cursor:
            cursor.execute("SELECT version()")
            pg_version = cursor.fetchone()[0].split(",")[0]
        from portfolio.models import CashFlow, Deal, SecurityPrice, Valuation

        data = {
            "deals": Deal.objects.count(),
            "positions": Position.objects.count(),
            "cash_flows": CashFlow.objects.count(),
            "prices": SecurityPrice.objects.count(),
            "valuations": Valuation.objects.count(),
        }
        report = json.loads(Path(args.out).read_text()) if Path(args.out).exists() else {}
        if args.scale != 1:
            report.setdefault("scale_points", {})[f"{args.scale:g}"] = {"data": data, "measures": results}
            report["growth"] = _growth(report)
            Path(args.out).write_text(json.dumps(report, indent=2, default=str) + "\n")
            return
        report = {
            **report,
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": {
                "cpus": os.cpu_count(),
                "cpu_model": _cpu_model(),
                "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
                "platform": platform.platform(),
                "python": platform.python_version(),
                "postgresql": pg_version,
            },
            "data": data,
            "latency_seconds_per_provider_request": args.latency,
            "measures": results,
        }
        report["growth"] = _growth(report)
        Path(args.out).write_text(json.dumps(report, indent=2, default=str) + "\n")

    params = {"as_of": AS_OF, "start": AS_OF - timedelta(days=365)}
    trivial = get("/healthz")
    # A run of some measures (--only) keeps the others' last results, each with its own date.
    previous = Path(args.out)
    results: list[dict] = []
    if only and previous.exists():
        kept = json.loads(previous.read_text())
        if args.scale != 1:
            kept = kept.get("scale_points", {}).get(f"{args.scale:g}", {"measures": []})
        results = kept["measures"]

    def _append(result: dict) -> None:
        result["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        result["cpu_model"] = _cpu_model()  # the growth between scale points compares one machine's times
        results[:] = [kept for kept in results if kept["name"] != result["name"]] + [result]
        write_report()

    def wanted(name: str) -> bool:
        return not only or name in only

    page_target = {"max_median_seconds": 0.3, "max_ratio": 3}
    if wanted("dashboard"):
        _append(measure("dashboard", get(f"/?as_of={AS_OF}"), runs=args.runs,
                               floor=lambda: _sql_seconds(summary_sql(), params), target=page_target))  # fmt: skip
    if wanted("summary_api"):
        url = f"/api/v1/analytics/summary/?as_of={AS_OF}&group_by=agency"
        _append(measure("summary_api", get(url), runs=args.runs,
                               floor=lambda: _sql_seconds(summary_sql(), params), target=page_target))  # fmt: skip
    if wanted("value_series_api"):
        url = f"/api/v1/analytics/value-series/?start={params['start']}&end={AS_OF}&group_by=agency&interval=day"
        _append(measure("value_series_api", get(url), runs=args.runs,
                               floor=lambda: _sql_seconds(SERIES_SQL, params), target={}))  # fmt: skip
    if wanted("deals_api"):
        _append(measure("deals_api", get("/api/v1/deals/"), runs=args.runs,
                               floor=lambda: _sql_seconds(DEALS_SQL, params), target={}))  # fmt: skip
    if wanted("metrics"):
        _append(measure("metrics", lambda: book_on(AS_OF).figures("total"), runs=args.runs,
                               floor=lambda: _sql_seconds(metrics_sql(), params),
                               target={"max_median_seconds": 1.0}))  # fmt: skip
    bridge_params = {**params, "start": AS_OF - timedelta(days=364)}  # a weekday with stored values
    for name, group_by, limit in (("bridge_year", "total", 1.0), ("bridge_year_by_agency", "agency", 2.0)):
        if wanted(name):
            url = f"/api/v1/analytics/bridge/?start={bridge_params['start']}&end={AS_OF}&group_by={group_by}"
            _append(measure(name, get(url), runs=args.runs, floor=lambda: _sql_seconds(bridge_sql(), bridge_params),
                            target={"max_median_seconds": limit}))  # fmt: skip
    if wanted("verify_figures"):
        from portfolio.book.verify import verify_kept, verify_ledgers
        from portfolio.services.kept_figures import verify_kept_figures

        started = time.perf_counter()
        verification, ledgers = verify_kept(), verify_ledgers()
        books, book_differences = verify_kept_figures()
        seconds = time.perf_counter() - started
        differences = [*verification.differences, *ledgers.differences, *book_differences]
        if differences or not books:
            raise RuntimeError(f"verify_figures: {len(differences)} kept figures, ledgers or books differ "
                               f"({books} books kept), e.g. {differences[:1]}")  # fmt: skip
        _append({
            "name": "verify_figures", "runs": 1, "median_seconds": round(seconds, 2),
            "compared": verification.compared, "ledgers_compared": ledgers.compared, "books_compared": books,
            "differences": 0, "floor_seconds": None, "ratio": None, "query_count": None, "peak_memory_mb": None,
            "target": {},
        })  # fmt: skip
        print(f"verify_figures         {seconds:7.1f} s   {verification.compared} kept figures, "
              f"{ledgers.compared} kept ledgers and {books} kept books equal their recomputation")  # fmt: skip
    if wanted("scenario") or wanted("sensitivities"):
        from portfolio.models import Scenario
        from portfolio.services.scenarios import scenario_save

        scenario = Scenario.objects.filter(name=BENCH_SCENARIO).first() or scenario_save(
            Scenario(name=BENCH_SCENARIO, shocks=[
                {"kind": "commodity", "commodity": "scale-ndpr-oxide", "level": "60"},
                {"kind": "share_price", "change_pct": "-40"},
                {"kind": "fx", "currency": "CAD", "change_pct": "-10"},
                {"kind": "volatility", "change_pct": "20"},
            ]),
            user=user, reason="The benchmark's scenario",
        )  # fmt: skip
        if wanted("scenario"):  # every listed position valued twice, the book summed after each kind of shock
            url = f"/api/v1/scenarios/{scenario.pk}/result/?as_of={AS_OF}"
            _append(measure("scenario", get(url), runs=args.runs,
                            floor=lambda: _sql_seconds(metrics_sql(), params),
                            target={"max_median_seconds": 2.0}))  # fmt: skip
        if wanted("sensitivities"):  # every company's share price, each commodity and currency, volatility
            url = f"/api/v1/scenarios/sensitivities/?as_of={AS_OF}"
            _append(measure("sensitivities", get(url), runs=max(args.runs // 2, 1),
                            floor=lambda: _sql_seconds(metrics_sql(), params),
                            target={"max_median_seconds": 10.0}))  # fmt: skip
    if wanted("trivial_view"):
        _append(measure("trivial_view", trivial, runs=args.runs, floor=lambda: 0.0, target={}))

    if wanted("import_10k"):
        _append(measure_import(user))
    if "import_100k" in only:  # about half an hour: asked for by name only
        _append(measure_import(user, per_position=20))

    if wanted("refresh") or wanted("backfill"):
        server, stats = serve(args.latency)
        url = f"http://127.0.0.1:{server.server_address[1]}/v8/finance/chart/{{symbol}}"
        Listing.objects.update(price_providers="yahoo")
        with override_settings(LODESTONE_YAHOO_CHART_URL=url, LODESTONE_PROVIDER_GATES={
                "yahoo": {"calls_per_second": 1000}, "simulated": {"calls_per_second": 1000}}):  # fmt: skip

            def refresh() -> None:
                run = refresh_request(kind="pipeline", trigger="command", as_of=AS_OF)
                run = refresh_run_execute(run_id=run.pk)
                if run.status != "succeeded":
                    raise RuntimeError(f"refresh {run.status}: {run.message}")

            if wanted("refresh"):
                refresh()  # the first fetch loads each listing's history; later ones the last days
                before = (stats.requests, stats.delay_seconds)
                runs = max(args.runs // 2, 1)
                with waiting_on(server.server_address[1]) as waited:
                    seconds = [_timed(refresh) for _ in range(runs)]
                latency = (stats.delay_seconds - before[1]) / runs
                wait = waited.seconds / runs
                in_flight = provider_gate("yahoo").policy.concurrent_requests
                requests_per_run = (stats.requests - before[0]) // runs
                # What the provider itself needs: every request's latency, as many at once as allowed.
                nominal = requests_per_run * args.latency / in_flight
                floor_seconds = _sql_seconds(VALUE_ALL_SQL, {**params, "start": AS_OF}, rollback=True)
                median = statistics.median(seconds)
                env = {**os.environ, "LODESTONE_YAHOO_CHART_URL": url}
                usage_before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
                subprocess.run(  # noqa: S603 - fixed arguments: a worker-like process for its peak memory
                    [sys.executable, "manage.py", "refresh", "--date", AS_OF.isoformat()],
                    cwd=ROOT, env=env, check=True, capture_output=True,
                )  # fmt: skip
                peak_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
                result = {
                    "name": "refresh",
                    "runs": runs,
                    "median_seconds": round(median, 3),
                    "provider_requests": requests_per_run,
                    "provider_concurrent_requests": in_flight,
                    "provider_latency_seconds": round(latency, 3),
                    "provider_nominal_seconds": round(nominal, 3),
                    "provider_wait_seconds": round(wait, 3),
                    "beyond_provider_seconds": round(median - wait, 3),
                    "floor_seconds": round(floor_seconds, 4),
                    "ratio": round((median - wait) / floor_seconds, 2),
                    "query_count": _queries(refresh),
                    "peak_memory_mb": round(max(peak_rss, usage_before) / 1024, 1),
                    "positions": Position.objects.count(),
                    "target": {"max_beyond_provider_seconds": 5, "max_peak_memory_mb": 500},
                }
                _append(result)
                print(
                    f"refresh                median {median:7.2f} s (waiting on the provider {wait:.2f} s; its nominal "
                    f"time {nominal:.2f} s: {requests_per_run} requests, {in_flight} at once)   floor "
                    f"{floor_seconds:.2f} s   queries {result['query_count']}   peak RSS {result['peak_memory_mb']} MB"
                )

            if wanted("backfill"):

                def backfill() -> None:
                    run = refresh_request(kind="backfill", trigger="command", as_of=AS_OF,
                                          parameters={"from": (AS_OF - timedelta(days=365)).isoformat()})  # fmt: skip
                    run = refresh_run_execute(run_id=run.pk)
                    if run.status not in ("succeeded", "partial"):
                        raise RuntimeError(f"backfill {run.status}: {run.message}")

                before = stats.requests
                with waiting_on(server.server_address[1]) as waited:
                    seconds = _timed(backfill)
                _analyze()
                floor_seconds = _sql_seconds(VALUE_ALL_SQL, params, rollback=True)
                # The year's closes come from the provider first (a request a listing): its wait is
                # counted apart, as the refresh's is; the floor is the valuations' statements alone.
                beyond = seconds - waited.seconds
                _append({
                    "name": "backfill_one_year", "runs": 1, "median_seconds": round(seconds, 2),
                    "provider_requests": stats.requests - before, "provider_wait_seconds": round(waited.seconds, 2),
                    "beyond_provider_seconds": round(beyond, 2), "floor_seconds": round(floor_seconds, 2),
                    "ratio": round(beyond / floor_seconds, 2), "query_count": None, "peak_memory_mb": None,
                    "target": {"max_ratio": 3},
                })  # fmt: skip
                print(
                    f"backfill_one_year      {seconds:7.1f} s (waiting on the provider {waited.seconds:.1f} s)   "
                    f"floor {floor_seconds:.1f} s   ratio {beyond / floor_seconds:.2f}"
                )
        server.shutdown()

    write_report()
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
