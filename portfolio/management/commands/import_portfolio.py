"""python manage.py import_portfolio FILE [--dry-run]: import (or check) a CSV or XLSX file of
portfolio records, with the same report the admin shows; exits non-zero when the file is refused."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from portfolio.models import ImportRun
from portfolio.services.imports import import_file
from portfolio.spreadsheets.kinds import KINDS

REFUSED_EXIT = 1


def report_lines(run: ImportRun) -> list[str]:
    """The report of a check or import, as lines of text."""
    lines = [f"Import #{run.pk} of {run.file_name} ({run.file_format}, {run.rows:,} rows, sha256 {run.file_sha256})"]
    # Only an applied import created anything; a check or a refusal says what it would have done.
    would = "" if run.status == ImportRun.Status.APPLIED else "would have "
    for kind, counts in run.counts.items():
        lines.append(
            f"  {kind:<14} {would}{counts.get('created', 0):,} created, {counts.get('updated', 0):,} updated, "
            f"{counts.get('unchanged', 0):,} unchanged"
        )
    for error in run.errors:
        column = f", column {error['column']}" if error["column"] else ""
        lines.append(f"  {error['sheet']}, row {error['row']}{column}: {error['message']}")
    lines.append(run.message)
    return lines


class Command(BaseCommand):
    help = (
        "Import portfolio records from a CSV file (one kind, named by the file or --kind) or an XLSX workbook "
        "(a sheet per kind), all or nothing, as a user; --dry-run checks and writes nothing. Exits 1 when the "
        "file is refused."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="The .csv or .xlsx file.")
        parser.add_argument("--dry-run", action="store_true", help="Check the file and report; write nothing.")
        parser.add_argument("--kind", choices=[kind.name for kind in KINDS], help="The kind of record of a CSV file.")
        parser.add_argument("--user", required=True, help="User name of the steward the changes are recorded under.")

    def handle(self, *args, **options):
        path: Path = options["file"]
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from None
        user = get_user_model().objects.filter(username=options["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"no active user {options['user']!r}")
        run = import_file(
            content=content,
            file_name=path.name,
            user=user,
            trigger=ImportRun.Trigger.COMMAND,
            dry_run=options["dry_run"],
            kind=options["kind"],
        )
        lines = report_lines(run)
        if run.status == ImportRun.Status.REFUSED:
            self.stderr.write("\n".join(lines))
            raise CommandError(f"Import #{run.pk} refused: nothing was written.", returncode=REFUSED_EXIT)
        self.stdout.write("\n".join(lines))
