"""Settings come from the environment; production refuses to start without its secrets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import django; django.setup(); from django.conf import settings; print(settings.DEBUG, settings.SECRET_KEY[:4])"
)


SETTINGS_VARIABLES = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "SECRET_KEY", "ALLOWED_HOSTS")


def _environment_without_settings() -> dict[str, str]:
    """This process's environment less every variable the settings read (CI sets several)."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "LODESTONE_")) and k not in SETTINGS_VARIABLES
    }


def _start(settings_module: str, **env: str) -> subprocess.CompletedProcess:
    """Start Django with the given settings in a fresh interpreter, as a server process would."""
    clean = _environment_without_settings()
    clean.update(DJANGO_SETTINGS_MODULE=settings_module, **env)
    return subprocess.run(  # noqa: S603 - fixed interpreter and arguments
        [sys.executable, "-c", PROBE], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60, check=False
    )


PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": "s3cr3t" + "x" * 60,
    "DJANGO_ALLOWED_HOSTS": "lodestone.example.gov",
    "DATABASE_URL": "postgres://lodestone@db.internal:5432/lodestone",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "LODESTONE_TRUSTED_PROXIES": "none",
}


@pytest.mark.parametrize(
    "missing", ["DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "LODESTONE_TRUSTED_PROXIES"]
)
def test_production_without_a_required_variable_fails_loudly(missing):
    """Production refuses to start without each required variable, naming the missing one, rather than
    falling back to an unsafe default."""
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = _start("tracker.settings.production", **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert missing in result.stderr


def test_production_starts_with_its_variables_and_debug_off():
    """Given its variables, production starts with DEBUG off and the secret key from the environment."""
    result = _start("tracker.settings.production", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "s3cr"]


def test_production_accepts_secret_key_as_the_variable_name():
    """SECRET_KEY is read when DJANGO_SECRET_KEY is absent, as many hosting platforms name it."""
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "DJANGO_SECRET_KEY"}
    result = _start("tracker.settings.production", SECRET_KEY="k3y" + "y" * 60, **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "k3yy"]


def test_servers_default_to_production_settings():
    """gunicorn, ASGI servers and Celery started without DJANGO_SETTINGS_MODULE get production settings."""
    for module in ("wsgi", "asgi", "celery"):
        text = (ROOT / "tracker" / f"{module}.py").read_text()
        assert 'setdefault("DJANGO_SETTINGS_MODULE", "tracker.settings.production")' in text


def test_local_settings_create_a_secret_key_once_and_reuse_it(tmp_path):
    """Local settings create a secret key file readable by its owner only and reuse it on the next
    start, so sessions survive a restart; DEBUG is on there."""
    first = _start("tracker.settings.local", LODESTONE_VAR_DIR=str(tmp_path))
    second = _start("tracker.settings.local", LODESTONE_VAR_DIR=str(tmp_path))
    assert first.returncode == 0, first.stderr
    key_file = tmp_path / "secret_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert len(key_file.read_text().strip()) >= 50
    assert first.stdout == second.stdout  # same key prefix: reused, not regenerated
    assert first.stdout.split()[0] == "True"


def test_debug_defaults_to_off():
    """Only local.py turns DEBUG on; the shared settings leave it off unless DJANGO_DEBUG says otherwise."""
    clean = _environment_without_settings()
    result = subprocess.run(
        [sys.executable, "-c", "import tracker.settings.base as base; print(base.DEBUG)"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.stdout.strip() == "False", result.stderr


def test_time_is_utc_and_aware():
    """Times are stored and compared as aware UTC datetimes."""
    assert settings.TIME_ZONE == "UTC"
    assert settings.USE_TZ is True


@pytest.mark.filterwarnings("ignore:A test tried to use socket")
def test_network_is_blocked_in_tests():
    """Tests never reach the network: opening a socket to an outside address fails."""
    import socket

    from pytest_socket import SocketConnectBlockedError

    with pytest.raises(SocketConnectBlockedError):
        socket.create_connection(("93.184.215.14", 80), timeout=1)


def test_production_loads_its_urls_before_static_files_are_collected():
    """Regression: nothing at import time may look up the static manifest, which production only
    has after collectstatic."""
    probe = "import django; django.setup(); from django.urls import reverse; print(reverse('favicon'))"
    env = {**_environment_without_settings(), **PRODUCTION_ENV, "DJANGO_SETTINGS_MODULE": "tracker.settings.production"}
    result = subprocess.run(  # noqa: S603 - fixed interpreter and arguments
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "/favicon.ico"


def test_workers_reserve_no_more_tasks_than_they_have_processes_on_redis():
    """With prefetch disabled, a refresh queued behind a long job goes to an idle process."""
    probe = "import django; django.setup(); from tracker.celery import app; print(app.conf.worker_disable_prefetch)"
    env = {**_environment_without_settings(), **PRODUCTION_ENV, "DJANGO_SETTINGS_MODULE": "tracker.settings.production"}
    result = subprocess.run(  # noqa: S603 - fixed interpreter and arguments
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.stdout.strip() == "True", result.stderr[-2000:]


def test_each_xdist_worker_has_redis_databases_of_its_own():
    """gw0 keeps the configured database numbers and gwN takes them 2N lower, so that CI's cache (14)
    and broker (15) are 12 and 13 for gw1; a number below 0 is refused, not wrapped onto another's."""
    from django.core.exceptions import ImproperlyConfigured

    from tracker.settings.test import redis_url_for_worker

    assert redis_url_for_worker("redis://127.0.0.1:6379/15", "gw0") == "redis://127.0.0.1:6379/15"
    assert redis_url_for_worker("redis://127.0.0.1:6379/15", "gw1") == "redis://127.0.0.1:6379/13"
    assert redis_url_for_worker("redis://127.0.0.1:6379/14", "gw1") == "redis://127.0.0.1:6379/12"
    assert redis_url_for_worker("rediss://:pw@cache:6380/9", "gw3") == "rediss://:pw@cache:6380/3"
    assert redis_url_for_worker("redis://127.0.0.1:6379/15", "") == "redis://127.0.0.1:6379/15"  # no xdist
    assert redis_url_for_worker("memory://", "gw1") == "memory://"
    with pytest.raises(ImproperlyConfigured, match="gw2"):
        redis_url_for_worker("redis://127.0.0.1:6379/3", "gw2")


def test_every_process_collects_garbage_at_the_configured_threshold(tmp_path):
    """A process that starts Django (web, worker, command) takes ``LODESTONE_GC_THRESHOLD`` as the
    collector's first threshold, from the environment, and keeps Python's other two."""
    probe = "import django, gc; django.setup(); print(*gc.get_threshold())"
    clean = _environment_without_settings()
    clean.update(
        DJANGO_SETTINGS_MODULE="tracker.settings.local", LODESTONE_VAR_DIR=str(tmp_path), LODESTONE_GC_THRESHOLD="12345"
    )
    done = subprocess.run(  # noqa: S603 - fixed interpreter and arguments
        [sys.executable, "-c", probe], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split() == ["12345", "10", "10"]
