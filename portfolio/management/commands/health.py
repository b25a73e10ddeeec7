"""Print the readiness checks (as /readyz does); exit 1 when the database is down, 2 when the broker
or the cache is (degraded), 0 when all answer."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from portfolio.health import DEGRADED, OK, readiness


class Command(BaseCommand):
    help = "Check the database, the task broker, the cache and the age of the last refresh."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, **options):
        report = readiness()
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2))
        else:
            for check in report["checks"]:
                seconds = "" if check["seconds"] is None else f" ({check['seconds']} s)"
                detail = f": {check['detail']}" if check["detail"] else ""
                self.stdout.write(f"{check['name']:<13} {check['state']}{seconds}{detail}")
        if report["status"] != OK:
            down = ", ".join(c["name"] for c in report["checks"] if c["state"] == "down")
            raise CommandError(f"{report['status']}: {down} down", returncode=2 if report["status"] == DEGRADED else 1)
