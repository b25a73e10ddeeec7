"""python manage.py refresh: run a refresh in the foreground (or queue it), with progress and a summary."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from portfolio.book.dates import has_completed_valuation_run, shown_date_error
from portfolio.exceptions import PortfolioError
from portfolio.integrations.market_data import TransientProviderError
from portfolio.management.arguments import iso_date
from portfolio.models import RefreshRun
from portfolio.services.refresh import refresh_request, refresh_run_execute, refresh_run_fail, refresh_start

ONLY = {
    "fx": RefreshRun.Kind.FX,
    "prices": RefreshRun.Kind.PRICES,
    "valuations": RefreshRun.Kind.VALUATIONS,
    "milestones": RefreshRun.Kind.MILESTONES,
    "filings": RefreshRun.Kind.FILINGS,
}


class Command(BaseCommand):
    help = (
        "Refresh FX rates, prices and valuations (all, or --only one step), or milestone statuses or SEC filings, "
        "for a date, in the foreground."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", type=iso_date, help="Valuation date (YYYY-MM-DD); default today (UTC).")
        parser.add_argument("--only", choices=sorted(ONLY), help="Run one step instead of the whole pipeline.")
        parser.add_argument(
            "--background", action="store_true", help="Queue the run for the Celery worker instead of running it here."
        )
        parser.add_argument(
            "--history",
            type=int,
            metavar="DAYS",
            help="With --background on a new installation (no valuation run has completed): queue a backfill "
            "that values each weekday of the last DAYS days too, so that the charts have a history.",
        )
        parser.add_argument(
            "--trigger",
            choices=[RefreshRun.Trigger.COMMAND, RefreshRun.Trigger.STARTUP],
            default="command",
            help="What asked for the run (recorded with it).",
        )

    def handle(self, *args, **options):
        kind = ONLY.get(options["only"], RefreshRun.Kind.PIPELINE)
        as_of = options["date"]
        if as_of and as_of > dt.datetime.now(tz=dt.UTC).date():
            raise CommandError(f"--date {as_of} is in the future")
        if as_of and shown_date_error(as_of):
            raise CommandError(f"--date {as_of}: {shown_date_error(as_of)}")
        try:
            if options["background"] and options["history"] and not has_completed_valuation_run():
                end = as_of or dt.datetime.now(tz=dt.UTC).date()
                start = end - dt.timedelta(days=options["history"])
                run = refresh_start(
                    kind=RefreshRun.Kind.BACKFILL,
                    trigger=options["trigger"],
                    as_of=end,
                    parameters={"from": start.isoformat(), "to": end.isoformat()},
                )
                self.stdout.write(f"Backfill #{run.pk} ({start} to {end}) queued.")
                return
            if options["background"]:
                run = refresh_start(kind=kind, trigger=options["trigger"], as_of=as_of)
                self.stdout.write(f"Refresh #{run.pk} ({run.get_kind_display().lower()}, {run.as_of}) queued.")
                return
            run = refresh_request(kind=kind, trigger=options["trigger"], as_of=as_of)
        except PortfolioError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Refresh #{run.pk}: {run.get_kind_display().lower()} as of {run.as_of}")
        self.execute_run(run)

    def execute_run(self, run: RefreshRun) -> None:
        """Run in the foreground, then print the summary; a failure becomes a CommandError saying why."""
        name = f"{run.get_kind_display()} #{run.pk}"
        try:
            run = refresh_run_execute(run_id=run.pk, on_progress=self._progress)
        except TransientProviderError as exc:
            # No task will retry a foreground run: record it as failed.
            refresh_run_fail(run_id=run.pk, reason=str(exc))
            raise CommandError(f"{name} failed: {exc}") from exc
        except Exception as exc:
            raise CommandError(f"{name} failed: {type(exc).__name__}: {exc}") from exc
        self._summary(run)

    def _progress(self, run: RefreshRun, step: str, result) -> None:
        width = min(run.progress_total, 30) or 1
        filled = run.progress_done * width // max(run.progress_total, 1)
        bar = "#" * filled + "." * (width - filled) + f" {run.progress_done}/{run.progress_total}"
        if result is None:
            self.stdout.write(f"  [{bar}] {step} ...", ending="\r")
            self.stdout.flush()
        else:
            detail = f"{result.written} written, {result.failed} of {result.total} failed"
            if result.revised:
                detail += f", {result.revised} revised"
            self.stdout.write(f"  [{bar}] {step}: {detail}")

    def _summary(self, run: RefreshRun) -> None:
        label = " (SIMULATED prices)" if run.counts.get("simulated") else ""
        name = f"{run.get_kind_display()} #{run.pk}"
        for error in run.errors[:20]:
            self.stdout.write(
                f"  ! {error['step']} {error['subject']}: {error['provider']} {error['message']}".rstrip()
            )
        if len(run.errors) > 20:
            self.stdout.write(f"  ... and {len(run.errors) - 20} more (see the run in the admin)")
        if run.status == RefreshRun.Status.SUCCEEDED:
            self.stdout.write(self.style.SUCCESS(f"{name} succeeded{label}."))
            return
        raise CommandError(f"{name} {run.get_status_display().lower()}: {run.message}", returncode=2)
