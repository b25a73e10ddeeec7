"""Schemathesis against the running application: every check, valid and invalid data, every phase
(examples, coverage, fuzzing, and the stateful phase's chains of calls: read or create a row, then
read and change it, and create rows that refer to it). Exits non-zero on any failure.

    .venv/bin/python .ci/schemathesis.py [--max-examples N] [--stateful-seconds S] [-- more `schemathesis run` options]

It serves the application with gunicorn on a free port of 127.0.0.1, on a throwaway SQLite
database in a temporary folder (LODESTONE_VAR_DIR; nothing in the working tree is touched) with the
demo data, as an Analyst holding API tokens; then stops the server, says what the stateful phase
created and did with it, and removes the folder. The stateful phase runs on its own, repeating its
chains for a given time (the links it follows are inferred from the answers and stated in the
schema); the logout last, as it ends its token. How many examples, how long the chains, and the
operations where a rule the schema cannot state is allowed are in ``schemathesis.toml``, which the
in-process test (tests/portfolio/api/test_fuzz.py) reads too.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CONFIG = ROOT / "schemathesis.toml"
LOGOUT = "/api/v1/auth/logout/"

# Run in the application's environment: an Analyst with two tokens (one for the run, one for the
# logout, which ends the token it is sent with).
MAKE_USER = """
import json
import django
django.setup()
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from knox.models import AuthToken
from portfolio.services.roles import ANALYST
user = get_user_model().objects.create_user("schemathesis")
user.groups.add(Group.objects.get(name=ANALYST))
print(json.dumps([AuthToken.objects.create(user=user)[1] for _ in range(2)]))
"""


def stateful_summary(report: Path) -> list[str]:
    """From an NDJSON report: the rows the stateful phase created (201), and what it then did with
    them in the same chain (method and status per resource)."""
    item = re.compile(r"/api/v1/([a-z-]+)/([0-9]+)/$")
    created: collections.Counter = collections.Counter()
    then: collections.Counter = collections.Counter()
    seen: set[str] = set()
    for line in report.read_text().splitlines():
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if not finished or finished.get("phase") != "stateful":
            continue
        interactions = sorted((finished.get("recorder") or {}).get("interactions", {}).items(),
                              key=lambda pair: pair[1]["timestamp"])  # fmt: skip
        mine: set[tuple[str, str]] = set()
        for case_id, interaction in interactions:
            request, response = interaction["request"], interaction.get("response")
            if case_id in seen or response is None:
                continue
            seen.add(case_id)
            if request["method"] == "POST" and response["status_code"] == 201:
                location = item.search(response["headers"].get("location", [""])[0])
                if location:
                    mine.add((location[1], location[2]))
                    created[location[1]] += 1
                continue
            target = item.search(request["uri"].split("?")[0])
            # (401: the same request resent without credentials, as the ignored_auth check does.)
            if target and (target[1], target[2]) in mine and response["status_code"] != 401:
                then[(target[1], request["method"], response["status_code"])] += 1
    if not created:
        return ["The stateful phase created no row this time."]
    rows = ", ".join(f"{n} {resource}" for resource, n in sorted(created.items()))
    lines = [f"Created {rows}; then, in the same chain:"]
    lines += [f"  {method} {name}/{{id}}/ -> {status}: {n}" for (name, method, status), n in sorted(then.items())]
    return lines


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _environment(var: Path, port: int) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DATABASE_", "REDIS_", "CELERY_", "DJANGO_", "LODESTONE_", "WEB_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="tracker.settings.local",
        DJANGO_DEBUG="False",  # errors answered as in production, not as debug pages
        LODESTONE_VAR_DIR=str(var),
        DATABASE_URL=f"sqlite:///{var / 'lodestone.sqlite3'}",
        CELERY_BROKER_URL="filesystem://localhost/",  # runs started over the API wait in var/broker/
        WEB_BIND="127.0.0.1",
        PORT=str(port),
        PYTHONUNBUFFERED="1",
    )
    return env


def _run(command: list[str], env: dict[str, str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, env=env, cwd=ROOT, check=True, **kwargs)  # noqa: S603 (fixed commands)


def _wait_until_up(url: str, server: subprocess.Popen, seconds: int = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"The server stopped (exit {server.returncode}) before answering {url}.")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 (http://127.0.0.1)
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise SystemExit(f"The server did not answer {url} within {seconds} s.")


def _stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-examples", type=int, help="Examples per operation and phase (schemathesis.toml's).")
    parser.add_argument("--workers", default="auto", help="Concurrent schemathesis workers (default: one a core).")
    parser.add_argument("--stateful-seconds", type=int, default=60, help="How long the stateful phase runs (60).")
    parser.add_argument("extra", nargs="*", help="More options for `schemathesis run` (after --).")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="lodestone-schemathesis-") as folder:
        var = Path(folder)
        port = _free_port()
        env = _environment(var, port)
        base = f"http://127.0.0.1:{port}"
        print(f"==> A throwaway database with the demo data in {var}")
        _run([sys.executable, "manage.py", "migrate", "--noinput", "--verbosity", "0"], env)
        _run([sys.executable, "manage.py", "load_demo"], env)
        made = _run([sys.executable, "-c", MAKE_USER], env, stdout=subprocess.PIPE)
        run_token, logout_token = json.loads(made.stdout)

        print(f"==> gunicorn on {base} (log: {var / 'server.log'})")
        with open(var / "server.log", "wb") as log:
            server = subprocess.Popen(  # noqa: S603 (fixed command)
                [BIN / "gunicorn", "-c", "python:tracker.gunicorn", "tracker.wsgi"],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        failed = False
        try:
            _wait_until_up(f"{base}/healthz", server)
            common = [
                BIN / "schemathesis",
                "--config-file",
                CONFIG,
                "run",
                f"{base}/api/schema/",
                "--checks",
                "all",
                "--mode",
                "all",
                *(["--max-examples", str(options.max_examples)] if options.max_examples else []),
                "--generation-database",
                ":memory:",
                "--workers",
                options.workers,
                *options.extra,
            ]
            report = var / "report"
            passes = [
                ("every operation but the logout: examples, coverage, fuzzing", run_token,
                 ["--phases", "examples,coverage,fuzzing", "--exclude-path", LOGOUT]),
                (f"the stateful phase: chains of calls, repeated for {options.stateful_seconds} s", run_token,
                 ["--phases", "stateful", "--max-time", str(options.stateful_seconds), "--exclude-path", LOGOUT,
                  "--report", "ndjson", "--report-dir", report]),
                ("the logout, which ends its token, last and with a token of its own", logout_token,
                 ["--phases", "examples,coverage,fuzzing", "--include-path", LOGOUT]),
            ]  # fmt: skip
            for title, token, selection in passes:
                print(f"\n==> schemathesis: {title}", flush=True)
                command = [*common, "--header", f"Authorization: Token {token}", *selection]
                # The working folder is the throwaway one: schemathesis keeps its cache there.
                if subprocess.run(command, env=env, cwd=var).returncode != 0:  # noqa: S603 (fixed command)
                    failed = True
            for events in sorted(report.glob("*.ndjson")):
                print("\n==> What the stateful phase covered\n" + "\n".join(stateful_summary(events)))
        finally:
            _stop(server)
            if failed:
                print(f"\n==> The server's log:\n{(var / 'server.log').read_text(errors='replace')[-20000:]}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
