"""Compare the kept figures with a full recomputation; exit 1 on any difference."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from portfolio.book.verify import verify_kept, verify_ledgers
from portfolio.management.arguments import iso_date
from portfolio.services.kept_figures import verify_kept_figures

SHOWN = 20


class Command(BaseCommand):
    help = (
        "Compare the held value series' kept rows with the valuations summed again, by every dimension "
        "(every date, or --date only), and every position's kept ledger with its cash flows at their "
        "rates (every step, or its figures on --date), and the kept figures of the pages' first requests "
        "with the same figures worked out again; exit 1 on any difference."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", type=iso_date, help="one date (YYYY-MM-DD) rather than every date")

    def handle(self, *args, **options):
        values = verify_kept(as_of=options["date"])
        ledgers = verify_ledgers(as_of=options["date"])
        books, book_differences = verify_kept_figures()
        differences = [*values.differences, *ledgers.differences, *book_differences]
        if differences:
            for difference in differences[:SHOWN]:
                self.stderr.write(str(difference))
            more = len(differences) - SHOWN
            if more > 0:
                self.stderr.write(f"... and {more} more")
            raise CommandError(
                f"{len(values.differences)} of {values.compared} kept figures, {len(ledgers.differences)} of "
                f"{ledgers.compared} kept ledgers and {len(book_differences)} of {books} kept books differ from the "
                "recomputation"
            )
        self.stdout.write(
            f"{values.compared} kept figures, {ledgers.compared} kept ledgers and {books} kept books equal their "
            "recomputation."
        )
