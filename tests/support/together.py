"""Run calls in threads released at the same moment, for race tests."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

JOIN = 120.0
"""Seconds a racing call may take; a thread still alive after them is a hang (a failure)."""


def run_together(calls: Sequence[Callable[[], object]], join: float = JOIN) -> list[object]:
    """Run each call in its own thread, all released by one barrier.

    Returns:
        Each call's result, or the exception it raised, in the order of ``calls``.

    Raises:
        AssertionError: a call was still running after ``join`` seconds.
    """
    barrier = threading.Barrier(len(calls))
    outcomes: list[object] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            outcomes[i] = calls[i]()
        except BaseException as exc:  # returned: the test asserts on it
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(join)
    hung = sum(thread.is_alive() for thread in threads)
    assert not hung, f"{hung} of {len(calls)} racing calls still running after {join} s (hang)"
    return outcomes


def raised(outcomes: Sequence[object]) -> list[BaseException]:
    """The exceptions among ``run_together``'s outcomes."""
    return [o for o in outcomes if isinstance(o, BaseException)]
