"""Compare the kept figures with a full recomputation; exit 1 on any difference."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from portfolio.book.verify import verify_kept
from portfolio.management.arguments import iso_date

SHOWN = 20


class Command(BaseCommand):
    help = (
        "Compare the held value series' kept rows with the valuations summed again, by every dimension "
        "(every date, or --date only); exit 1 on any difference."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", type=iso_date, help="one date (YYYY-MM-DD) rather than every date")

    def handle(self, *args, **options):
        result = verify_kept(as_of=options["date"])
        if result.differences:
            for difference in result.differences[:SHOWN]:
                self.stderr.write(str(difference))
            more = len(result.differences) - SHOWN
            if more > 0:
                self.stderr.write(f"... and {more} more")
            raise CommandError(
                f"{len(result.differences)} of {result.compared} kept figures differ from the recomputation"
            )
        self.stdout.write(f"{result.compared} kept figures equal their recomputation.")
