"""The web process's gunicorn settings load, and the Procfile runs the three roles with them."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys

from tests.tracker.test_settings import PRODUCTION_ENV, ROOT, _environment_without_settings


def _config(monkeypatch, **env):
    for name in ("WEB_BIND", "PORT", "WEB_CONCURRENCY", "WEB_TIMEOUT", "WEB_CONTROL_SOCKET", "LODESTONE_VAR_DIR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    import tracker.gunicorn

    return importlib.reload(tracker.gunicorn)


def test_defaults_listen_on_loopback_with_two_workers_per_core(monkeypatch):
    """With nothing set, the web server listens on loopback only, with 2 sync workers per usable core
    plus one, a 60 s timeout and workers recycled after a number of requests."""
    config = _config(monkeypatch)
    assert config.bind == ["127.0.0.1:8000"]
    assert config.workers == len(os.sched_getaffinity(0)) * 2 + 1
    assert config.worker_class == "sync"
    assert config.timeout == 60
    assert config.max_requests > 0


def test_the_environment_sets_address_workers_and_timeout(monkeypatch):
    """WEB_BIND, PORT, WEB_CONCURRENCY and WEB_TIMEOUT override the address, the worker count and the
    timeout."""
    config = _config(monkeypatch, WEB_BIND="0.0.0.0", PORT="9000", WEB_CONCURRENCY="3", WEB_TIMEOUT="30")  # noqa: S104
    assert config.bind == ["0.0.0.0:9000"]
    assert (config.workers, config.timeout) == (3, 30)


def test_each_port_has_its_own_control_socket_in_the_var_folder(monkeypatch, tmp_path):
    """Two servers on one machine never share gunicornc's socket (its default is one per user)."""
    first = _config(monkeypatch, PORT="8000").control_socket
    second = _config(monkeypatch, PORT="8080").control_socket
    assert first == str(ROOT / "var" / "gunicorn-8000.ctl")
    assert second == str(ROOT / "var" / "gunicorn-8080.ctl")
    assert _config(monkeypatch, LODESTONE_VAR_DIR=str(tmp_path)).control_socket == str(tmp_path / "gunicorn-8000.ctl")
    assert _config(monkeypatch, WEB_CONTROL_SOCKET="/run/web.ctl").control_socket == "/run/web.ctl"


def test_gunicorn_accepts_the_settings_and_loads_the_application():
    """gunicorn itself accepts the configuration file and loads the WSGI application under production
    settings."""
    env = {**_environment_without_settings(), **PRODUCTION_ENV, "DJANGO_SETTINGS_MODULE": "tracker.settings.production"}
    gunicorn = str(ROOT / ".venv" / "bin" / "gunicorn") if (ROOT / ".venv" / "bin" / "gunicorn").exists() else None
    command = [gunicorn] if gunicorn else [sys.executable, "-m", "gunicorn"]
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [*command, "--check-config", "-c", "python:tracker.gunicorn", "tracker.wsgi"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_procfile_runs_web_worker_and_beat():
    """The Procfile starts the three roles: gunicorn with the project's configuration, a Celery worker
    and Celery beat."""
    roles = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
    assert roles["web"] == "exec gunicorn -c python:tracker.gunicorn tracker.wsgi"
    assert roles["worker"].startswith("exec celery -A tracker worker")
    assert roles["beat"].startswith("exec celery -A tracker beat")
