"""Read a process's memory and CPU figures from ``/proc`` (Linux; stdlib only).

Used by the worker (in every system's venv) and by the migration benchmark. A child's
``ru_maxrss`` starts from its parent's resident memory at fork, so peaks are read from
``VmHWM``, which belongs to the process's own address space.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

__all__ = ["CLOCKS", "clocked", "cpu_seconds", "status_kb", "wait_until_idle"]

CLOCKS = ("wall", "cpu", "client")
"""What :func:`clocked` measures: wall clock, this process' CPU, the calling thread's CPU."""


def clocked(run: Callable[..., object], *args: object) -> dict[str, float]:
    """Seconds ``run(*args)`` took on each of :data:`CLOCKS`.

    With Milvus Lite in the process (its server threads share the GIL), ``client`` is the
    caller's share of the work (rows, checks, pymilvus packing) and ``cpu - client`` the
    engine's; CPU times vary less than wall clock on a shared VM.
    """
    wall, cpu, client = time.perf_counter(), time.process_time(), time.thread_time()
    run(*args)
    return {
        "wall": time.perf_counter() - wall,
        "cpu": time.process_time() - cpu,
        "client": time.thread_time() - client,
    }


def status_kb(field: str, pid: int | str = "self") -> int:
    """A ``kB`` field (e.g. ``"VmHWM:"``) of ``/proc/<pid>/status``; 0 where unreadable
    (no ``/proc``, or the process has exited)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith(field):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def cpu_seconds(pid: int | str = "self") -> float:
    """User + system CPU time of a process and its threads (``/proc/<pid>/stat``); 0.0
    where unreadable."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    # After the command name: state is field 3, utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_until_idle(
    pid: int | str = "self",
    *,
    window: float = 1.0,
    busy: float = 0.05,
    timeout: float = 180.0,
) -> float:
    """Wait until a process uses less than ``busy`` of one core over ``window`` seconds.

    Milvus Lite runs in the client process and keeps working after a write returns (it
    seals segments and builds their indexes in background threads). A benchmark that
    starts the next system's timing while the previous one's engine is still busy
    charges that work to the wrong system, and to whichever one happens to come next.
    Returns the seconds waited (``timeout`` at most).
    """
    start = time.perf_counter()
    before = cpu_seconds(pid)
    while True:
        time.sleep(window)
        now = cpu_seconds(pid)
        waited = time.perf_counter() - start
        if now - before < busy * window or waited >= timeout:
            return waited
        before = now
