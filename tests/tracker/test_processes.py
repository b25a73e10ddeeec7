"""``make run``'s process manager: Ctrl-C stops every process with its own clean shutdown, given
more time than honcho's five seconds, and the stop is not reported as a failure."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _start_then_ctrl_c(tmp_path: Path, procfile_line: str, ready: str) -> tuple[subprocess.Popen, str]:
    """Run the process manager on a one-line Procfile, send it Ctrl-C once a line holding
    ``ready`` is printed (or after 30 s), and return it, ended, with everything it printed."""
    (tmp_path / "Procfile").write_text(procfile_line + "\n")
    manager = subprocess.Popen(  # noqa: S603 - fixed interpreter and arguments
        [sys.executable, "-m", "tracker.processes", "start", "--procfile", str(tmp_path / "Procfile")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert manager.stdout is not None
    deadline = time.monotonic() + 30
    lines = []
    while time.monotonic() < deadline:
        line = manager.stdout.readline()
        lines.append(line)
        if ready in line:
            break
    manager.send_signal(signal.SIGINT)
    output, _ = manager.communicate(timeout=60)
    return manager, "".join(lines) + output


def test_ctrl_c_waits_for_a_slow_clean_stop_and_exits_quietly(tmp_path):
    """Ctrl-C waits for a process that takes 7 seconds to stop after SIGTERM, as the worker's warm
    shutdown does, lets it stop cleanly without SIGKILL, and exits 0."""
    slow = tmp_path / "slow.py"
    slow.write_text(
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *a: (time.sleep(7), print('stopped cleanly', flush=True),"
        " sys.exit(0)))\n"
        "print('ready', flush=True)\n"
        "while True: time.sleep(1)\n"
    )
    manager, text = _start_then_ctrl_c(tmp_path, f"slow: exec {sys.executable} -u {slow}", "ready")
    assert manager.returncode == 0, text
    assert "stopped cleanly" in text
    assert "SIGKILL" not in text


def test_ctrl_c_signals_the_started_process_and_leaves_its_children_to_it(tmp_path):
    """A Celery worker stops its pool processes itself: a pool process that got SIGTERM from the
    process manager too would die under the worker's warm shutdown, which then hangs until killed."""
    parent = tmp_path / "parent.py"
    parent.write_text(
        "import signal, subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-u', '-c', '''\n"
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *a: (print('child got SIGTERM', flush=True), sys.exit(1)))\n"
        "signal.signal(signal.SIGUSR1, lambda *a: (print('child stopped by its parent', flush=True), sys.exit(0)))\n"
        "print('child ready', flush=True)\n"
        "while True: time.sleep(1)\n"
        "'''])\n"
        "def stop(*args):\n"
        "    child.send_signal(signal.SIGUSR1)\n"
        "    sys.exit(child.wait())\n"
        "signal.signal(signal.SIGTERM, stop)\n"
        "while True: time.sleep(1)\n"
    )
    manager, text = _start_then_ctrl_c(tmp_path, f"parent: exec {sys.executable} -u {parent}", "child ready")
    assert "child stopped by its parent" in text, text
    assert "child got SIGTERM" not in text
    assert "parent.1 stopped (rc=0)" in text
    assert manager.returncode == 0


def test_each_procfile_role_replaces_its_shell():
    """The stop signal reaches the named program only if the shell honcho starts it with has handed
    its process over (``exec``); a shell would swallow the signal."""
    roles = [line for line in (ROOT / "Procfile").read_text().splitlines() if line.strip()]
    assert [line.split(":", 1)[0] for line in roles] == ["web", "worker", "beat"]
    for line in roles:
        assert line.split(":", 1)[1].strip().startswith("exec "), line
