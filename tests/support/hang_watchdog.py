"""A last-resort watchdog for a whole test process: a hang becomes a failure with stacks.

pytest-timeout ends a test that passes its limit by raising in the test's main thread,
which needs that thread to get back to Python; a process stuck elsewhere (a C call that
never returns, a hook or an exit handler outside any test, a worker that never reports)
ran until the CI job's own limit killed every process, with nothing printed to say where
(CI, 2026-12-06: no output for over an hour, the job killed at 5,400 s).

:func:`arm` starts faulthandler's watchdog thread (it runs in C, without the GIL): after
``MILVUS_PLUGINS_TEST_WATCHDOG`` seconds the process writes the stack of every thread to
``<MILVUS_PLUGINS_HANG_DIR>/<role>-<pid>.txt`` and exits with status 1. ``make test``
prints every such file that is not empty and then fails. Unset or ``0``: not armed.
"""

from __future__ import annotations

import faulthandler
import os
from pathlib import Path

WATCHDOG_ENV = "MILVUS_PLUGINS_TEST_WATCHDOG"
HANG_DIR_ENV = "MILVUS_PLUGINS_HANG_DIR"
# The xdist controller outlives its workers' limit by this much, so that a hung worker is
# reported by the worker's own dump and the controller still prints its summary.
CONTROLLER_GRACE_SECONDS = 300.0

_armed: list[object] = []  # the open dump file (kept open for the watchdog thread)


def arm(role: str) -> Path | None:
    """Arm the watchdog of this process; ``role`` names it in the dump file's name.

    Returns the dump file's path, or None when the watchdog is off. A second call is a
    no-op (faulthandler keeps one timer per process).
    """
    if _armed:
        return None
    seconds = float(os.environ.get(WATCHDOG_ENV, "0") or 0)
    if seconds <= 0:
        return None
    if role == "controller":
        seconds += CONTROLLER_GRACE_SECONDS
    directory = Path(os.environ.get(HANG_DIR_ENV, ".test-hangs"))
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{role}-{os.getpid()}.txt"
    handle = path.open("w")  # stays empty unless the watchdog fires
    _armed.append(handle)
    faulthandler.dump_traceback_later(seconds, exit=True, file=handle)
    return path
