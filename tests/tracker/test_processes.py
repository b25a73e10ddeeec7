"""``make run``'s process manager: Ctrl-C stops every process with its own clean shutdown, given
more time than honcho's five seconds, and the stop is not reported as a failure."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_ctrl_c_waits_for_a_slow_clean_stop_and_exits_quietly(tmp_path):
    # A process that takes 7 seconds to stop after SIGTERM, as the worker's warm shutdown does.
    slow = tmp_path / "slow.py"
    slow.write_text(
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *a: (time.sleep(7), print('stopped cleanly', flush=True),"
        " sys.exit(0)))\n"
        "print('ready', flush=True)\n"
        "while True: time.sleep(1)\n"
    )
    (tmp_path / "Procfile").write_text(f"slow: {sys.executable} -u {slow}\n")
    manager = subprocess.Popen(  # noqa: S603 - fixed interpreter and arguments
        [sys.executable, "-m", "tracker.processes", "start", "--procfile", str(tmp_path / "Procfile")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    lines = []
    while time.monotonic() < deadline:
        line = manager.stdout.readline()
        lines.append(line)
        if "ready" in line:
            break
    manager.send_signal(signal.SIGINT)
    output, _ = manager.communicate(timeout=60)
    text = "".join(lines) + output
    assert manager.returncode == 0, text
    assert "stopped cleanly" in text
    assert "SIGKILL" not in text
