"""make run's admin account: created once, password from the environment or generated and shown once."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_password_from_environment(monkeypatch, capsys):
    """With DJANGO_SUPERUSER_PASSWORD set, the admin account is created as a superuser with that
    password, which is never printed."""
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a long test password 123")
    call_command("ensure_admin")
    user = get_user_model().objects.get(username="admin")
    assert user.is_superuser
    assert user.check_password("a long test password 123")
    assert "a long test password 123" not in capsys.readouterr().out


def test_generated_password_is_printed_once_and_account_kept(monkeypatch, capsys):
    """Without a password in the environment one is generated and printed once; a second call keeps the
    account and its password and prints no password."""
    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)
    call_command("ensure_admin")
    first = capsys.readouterr().out
    password = first.split("Login: admin / ")[1].split()[0]
    assert get_user_model().objects.get(username="admin").check_password(password)
    call_command("ensure_admin")
    second = capsys.readouterr().out
    assert password not in second
    assert "unchanged" in second
    assert get_user_model().objects.filter(username="admin").count() == 1
