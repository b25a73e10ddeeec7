"""python manage.py shell: Django's, importing the models without the audit-history ones."""

from __future__ import annotations

from django.core.management.commands import shell


class Command(shell.Command):
    def get_auto_imports(self):
        """The models django would import, but the history models django-simple-history builds at
        run time: they have no module to import them from (and are reached as ``Model.history``)."""
        return [path for path in super().get_auto_imports() if ".Historical" not in path]
