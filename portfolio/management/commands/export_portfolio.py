"""python manage.py export_portfolio FILE: write the portfolio's records as an import reads them
(an XLSX workbook with a sheet per kind, or one kind as CSV), or empty templates (--template)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portfolio.spreadsheets.files import csv_bytes, export_rows, xlsx_bytes
from portfolio.spreadsheets.kinds import KIND_BY_NAME, KINDS


class Command(BaseCommand):
    help = (
        "Export portfolio records in the import's format: FILE.xlsx (every kind, or --kind) or FILE.csv (one --kind). "
        "--template writes the columns only."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="A .xlsx or .csv path.")
        parser.add_argument("--kind", action="append", choices=[kind.name for kind in KINDS], help="Kinds to write.")
        parser.add_argument("--template", action="store_true", help="Columns only, no records.")

    def handle(self, *args, **options):
        path: Path = options["file"]
        kinds = [KIND_BY_NAME[name] for name in options["kind"]] if options["kind"] else list(KINDS)
        sheets = [(kind, [] if options["template"] else export_rows(kind)) for kind in kinds]
        if path.suffix.lower() == ".csv":
            if len(kinds) != 1:
                raise CommandError("A CSV file holds one kind: name it with --kind.")
            content = csv_bytes(kinds[0], sheets[0][1])
        elif path.suffix.lower() == ".xlsx":
            content = xlsx_bytes(sheets)
        else:
            raise CommandError("Write a .xlsx or a .csv file.")
        path.write_bytes(content)
        rows = sum(len(rows) for _, rows in sheets)
        self.stdout.write(f"Wrote {rows:,} rows of {len(kinds)} kind{'s' if len(kinds) != 1 else ''} to {path}.")
