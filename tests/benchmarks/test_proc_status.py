"""The benchmark's /proc readers: CPU time and the wait for an idle process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.proc_status import cpu_seconds, wait_until_idle  # noqa: E402

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def test_cpu_seconds_grows_with_work_and_is_zero_for_a_missing_process() -> None:
    before = cpu_seconds()
    total = 0
    for i in range(3_000_000):
        total += i
    assert cpu_seconds() > before
    assert cpu_seconds(2**22 + 7) == 0.0  # above the kernel's pid limit: no such process


def test_wait_until_idle_returns_after_one_window_for_a_sleeping_process() -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        wait_until_idle(sleeper.pid, window=0.5)  # past its start-up
        assert wait_until_idle(sleeper.pid, window=0.2, timeout=5.0) < 4.0  # not the timeout
    finally:
        sleeper.kill()
        sleeper.wait()


def test_wait_until_idle_keeps_waiting_while_the_process_computes() -> None:
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        # Any CPU at all in a window counts as busy here (busy=0.001: under one clock tick),
        # so a spinner starved by a loaded machine still looks busy; only the timeout ends it.
        waited = wait_until_idle(spinner.pid, window=0.5, busy=0.001, timeout=1.5)
        assert waited >= 1.5
    finally:
        spinner.kill()
        spinner.wait()
