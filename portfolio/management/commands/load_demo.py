"""python manage.py load_demo: load the published government deals as demo data."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portfolio.models import Deal
from portfolio.services.demo_data import DEMO_DATA_FILE, DemoDataError, demo_data_load


class Command(BaseCommand):
    help = "Load (or update) the public-deals demo data set. Running it again changes nothing."

    def add_arguments(self, parser):
        parser.add_argument("--file", type=Path, default=DEMO_DATA_FILE, help="Data file (YAML).")
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Load only into a database with no deals yet, so that stewards' edits are kept.",
        )

    def handle(self, *args, **options):
        if options["if_empty"] and Deal.objects.exists():
            self.stdout.write("Deals already recorded: demo data not loaded again (the data is kept as it is).")
            return
        try:
            report = demo_data_load(path=options["file"])
        except DemoDataError as exc:
            raise CommandError(f"Demo data not loaded: {exc}") from exc
        summary = report.summary()
        if options["verbosity"] > 1:
            for model_name, actions in summary.items():
                parts = ", ".join(f"{count} {action}" for action, count in sorted(actions.items()))
                self.stdout.write(f"  {model_name}: {parts}")
        counts = {name: sum(actions.values()) for name, actions in summary.items()}
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data loaded: {counts.get('deal', 0)} deals, {counts.get('position', 0)} positions, "
                f"{counts.get('milestone', 0)} milestones (-v 2 lists every kind)."
            )
        )
