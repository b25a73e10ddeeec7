"""python manage.py generate_scale_data: write the deterministic benchmark data set (portfolio.development)."""

from __future__ import annotations

import argparse
import datetime as dt
import math
import time

from django.core.management.base import BaseCommand, CommandError

from portfolio.development.scale_data import ScaleDataError, scale_data_generate, scale_plan
from portfolio.management.arguments import iso_date
from portfolio.models import Deal


def _scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number greater than zero")
    return value


def _years(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is less than 1")
    return value


class Command(BaseCommand):
    help = (
        "Write the deterministic scale data set for benchmarks (at scale 1: 500 companies, 2,000 deals, "
        "5,000 positions, 50,000 cash flows, 20,000 milestones, ten years of daily prices). Refuses a "
        "database that already has deals unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument("--scale", type=_scale, default=1.0, help="Size relative to the benchmark set (1.0).")
        parser.add_argument("--seed", type=int, default=7, help="Seed of the generator: same seed, same rows (7).")
        parser.add_argument("--years", type=_years, default=10, help="Years of daily prices and FX rates (10).")
        parser.add_argument("--end", type=iso_date, help="Last day of the data (YYYY-MM-DD); default today (UTC).")
        parser.add_argument("--force", action="store_true", help="Write even though the database already has deals.")

    def handle(self, *args, **options):
        end = options["end"]
        if end and end > dt.datetime.now(tz=dt.UTC).date():
            raise CommandError(f"--end {end} is in the future")
        deals = Deal.objects.count()
        if deals and not options["force"]:
            raise CommandError(
                f"The database already has {deals} deal{'s' if deals != 1 else ''}: scale data is meant for an "
                "empty database, and nothing was written. Use --force to add it anyway."
            )
        scale, seed, years = options["scale"], options["seed"], options["years"]
        plan = scale_plan(scale, years=years, end=end)
        self.stdout.write(
            f"Generating scale data: scale {scale:g}, seed {seed}, {years} year{'s' if years != 1 else ''} "
            f"to {end or 'today'}; {sum(plan.values()):,} rows in {len(plan)} tables."
        )
        self._started = time.monotonic()
        self._deciles: dict[str, int] = {}
        try:
            counts = scale_data_generate(scale=scale, seed=seed, years=years, end=end, progress=self._progress)
        except (ScaleDataError, ValueError) as exc:
            raise CommandError(f"Scale data not generated: {exc}") from exc
        elapsed = time.monotonic() - self._started
        width = max(len(table) for table in counts)
        self.stdout.write(self.style.SUCCESS(f"Scale data written in {elapsed:.1f} s:"))
        for table, count in counts.items():
            self.stdout.write(f"  {table:<{width}}  {count:>12,}")
        self.stdout.write(f"  {'total':<{width}}  {sum(counts.values()):>12,}")

    def _progress(self, table: str, written: int, planned: int) -> None:
        """One line when a table is done; for a long table, one at each tenth of the way."""
        decile = written * 10 // planned if planned else 10
        if decile == self._deciles.get(table):
            return
        self._deciles[table] = decile
        if written < planned and planned < 100_000:
            return
        elapsed = time.monotonic() - self._started
        self.stdout.write(f"  {elapsed:7.1f} s  {table}: {written:,} of {planned:,}")
