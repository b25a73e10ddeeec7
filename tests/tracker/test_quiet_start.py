"""What a newcomer sees at start-up: the shell and the system checks say nothing needless."""

from __future__ import annotations

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_the_shell_imports_the_models_without_complaining(capsys):
    """``manage.py shell`` imports the models quietly: the history models, which have no module to
    import them from, are left out rather than listed as failures."""
    call_command("shell", command="print(Deal.__name__, Position.__name__)")
    out = capsys.readouterr().out
    assert "Deal Position" in out
    assert "could not be automatically imported" not in out


def test_the_system_checks_are_quiet_on_the_embedded_database():
    """The valuations' covering index is a PostgreSQL optimisation: SQLite's warning about it is not
    repeated at every start."""
    from django.core import checks
    from django.db import connection

    shown = {message.id for message in checks.run_checks(databases=["default"]) if not message.is_silenced()}
    assert "models.W040" not in shown
    if connection.vendor == "sqlite":  # raised there, and silenced
        assert "models.W040" in {message.id for message in checks.run_checks(databases=["default"])}
