"""python manage.py backfill --from D --to D: load history and value each weekday of the range."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import CommandError

from portfolio.book.dates import shown_date_error
from portfolio.exceptions import PortfolioError
from portfolio.management.arguments import iso_date
from portfolio.models import RefreshRun
from portfolio.services.refresh import refresh_request

from .refresh import Command as RefreshCommand

MAX_DAYS = 3660


class Command(RefreshCommand):
    help = "Load prices and FX for a date range and value the portfolio on each weekday in it."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", type=iso_date, required=True, help="First date (YYYY-MM-DD).")
        parser.add_argument("--to", dest="end", type=iso_date, required=True, help="Last date (YYYY-MM-DD).")

    def handle(self, *args, **options):
        start, end = options["start"], options["end"]
        if end < start:
            raise CommandError(f"--to {end} is before --from {start}")
        if end > dt.datetime.now(tz=dt.UTC).date():
            raise CommandError(f"--to {end} is in the future")
        if shown_date_error(start):
            raise CommandError(f"--from {start}: {shown_date_error(start)}")
        if (end - start).days > MAX_DAYS:
            raise CommandError(f"the range is longer than {MAX_DAYS} days; split it")
        try:
            run = refresh_request(
                kind=RefreshRun.Kind.BACKFILL,
                trigger=RefreshRun.Trigger.COMMAND,
                as_of=end,
                parameters={"from": start.isoformat(), "to": end.isoformat()},
            )
        except PortfolioError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Backfill #{run.pk}: {start} to {end}")
        self.execute_run(run)
