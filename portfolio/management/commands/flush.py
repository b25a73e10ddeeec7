"""python manage.py flush: Django's, able to empty a SQLite database that holds published reports.

The database refuses to delete a published report (triggers, migration 0018). Emptying the whole
database is another matter: on PostgreSQL flush truncates the tables, which the row triggers do not
see; SQLite has no TRUNCATE and deletes every row instead. There the triggers that refuse deletes
are set aside while the database is emptied and put back as they were, in one transaction (so they
are back whatever happens). The test suite flushes the database after each test that commits.
"""

from __future__ import annotations

from django.core.management.commands import flush
from django.db import connections, transaction

#: The triggers that refuse deletes are named so (e.g. ``publishedreport_refuse_delete``).
REFUSING_DELETES = "%\\_refuse\\_delete"


class Command(flush.Command):
    def handle(self, **options):
        database = options["database"]
        connection = connections[database]
        if connection.vendor != "sqlite":
            return super().handle(**options)
        if options["interactive"]:
            name = connection.settings_dict["NAME"]
            answer = input(
                f'This will IRREVERSIBLY DESTROY all data in the "{name}" database, published reports included.\n'
                "Type 'yes' to continue, or 'no' to cancel: "
            )
            if answer != "yes":
                self.stdout.write("Flush cancelled.")
                return None
        with transaction.atomic(using=database):
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s ESCAPE '\\'",
                    [REFUSING_DELETES],
                )
                triggers = cursor.fetchall()
                for name, _ in triggers:
                    cursor.execute(f"DROP TRIGGER {connection.ops.quote_name(name)}")
            super().handle(**{**options, "interactive": False})
            with connection.cursor() as cursor:
                for _, sql in triggers:
                    cursor.execute(sql)
        return None
