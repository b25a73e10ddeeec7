"""``make run``'s process manager: honcho, started so that Ctrl-C stops every process cleanly.

- Each process gets 20 seconds to stop before it is killed (honcho's own wait is 5 seconds; the
  worker's warm shutdown on the embedded broker takes about 6).
- The stop signal goes to the process the ``Procfile`` names (each line ``exec``s it), not to its
  whole process group as honcho's does: gunicorn's and Celery's own processes are stopped by their
  parent. A Celery pool process that gets SIGTERM itself dies while the worker still waits on it,
  and the worker's warm shutdown then hangs until it is killed. Only the kill, after the wait,
  goes to the whole group.
- The processes run in a process group of their own that holds the terminal while they run, so
  that Ctrl-C reaches them and honcho, not ``make``, which would otherwise report the interrupt
  as an error of its own. The terminal is handed back when they stop.

Usage: ``python -m tracker.processes start --procfile Procfile``, with honcho's arguments.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys

import honcho.compat
import honcho.manager
from honcho.command import main

STOP_SECONDS = 20


class _StopTheLeader(honcho.compat.ProcessManager):
    """Honcho's signalling, with SIGTERM sent to the started process alone."""

    def terminate(self, pid: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)


def _hold_terminal() -> int | None:
    """Put this process in a group of its own in the terminal's foreground; return the group to
    hand the terminal back to, or None without a terminal."""
    try:
        terminal = os.open("/dev/tty", os.O_RDWR)
    except OSError:
        return None
    try:
        previous = os.tcgetpgrp(terminal)
        os.setpgid(0, 0)
        signal.signal(signal.SIGTTOU, signal.SIG_IGN)  # a background group may not take the terminal
        os.tcsetpgrp(terminal, os.getpgrp())
        return previous
    except OSError:
        return None
    finally:
        os.close(terminal)


def _give_back(group: int | None) -> None:
    if group is None:
        return
    try:
        terminal = os.open("/dev/tty", os.O_RDWR)
    except OSError:
        return
    try:
        os.tcsetpgrp(terminal, group)
    except OSError:
        pass
    finally:
        os.close(terminal)


def run(argv: list[str]) -> int:
    honcho.manager.KILL_WAIT = STOP_SECONDS
    honcho.manager.ProcessManager = _StopTheLeader
    previous = _hold_terminal()
    try:
        code = main(argv)
    except SystemExit as exit:
        code = exit.code if isinstance(exit.code, int) else 1
    finally:
        _give_back(previous)
    # Ctrl-C (or SIGTERM) is how this is meant to end: a clean stop, not a failure.
    return 0 if code in (130, 143) else int(code or 0)


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
