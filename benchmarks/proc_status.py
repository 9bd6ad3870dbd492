"""Read a process's memory figures from ``/proc/<pid>/status`` (Linux; stdlib only).

Used by the worker (in every system's venv) and by the migration benchmark. A child's
``ru_maxrss`` starts from its parent's resident memory at fork, so peaks are read from
``VmHWM``, which belongs to the process's own address space.
"""

from __future__ import annotations

__all__ = ["status_kb"]


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
