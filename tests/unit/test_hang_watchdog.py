"""The test processes' hang watchdog (tests/support/hang_watchdog.py) turns a hang into a
failure that says where: a process stuck in C writes its threads' stacks and exits 1."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.support.hang_watchdog import HANG_DIR_ENV, WATCHDOG_ENV

_STUCK = textwrap.dedent(
    """
    import ctypes
    from tests.support.hang_watchdog import arm

    def stuck_in_c():
        ctypes.CDLL(None).sleep(60)  # a C call that never returns to Python in time

    print(arm("gw7"), flush=True)
    stuck_in_c()
    """
)


def _run(tmp_path: Path, seconds: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, WATCHDOG_ENV: seconds, HANG_DIR_ENV: str(tmp_path / "hangs")}
    root = Path(__file__).resolve().parents[2]
    return subprocess.run(
        [sys.executable, "-c", _STUCK],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_process_stuck_in_c_dumps_its_stacks_and_exits_1(tmp_path: Path) -> None:
    done = _run(tmp_path, "1")
    assert done.returncode == 1, done.stderr
    dumps = list((tmp_path / "hangs").glob("gw7-*.txt"))
    assert [str(p) for p in dumps] == [done.stdout.strip()]
    text = dumps[0].read_text()
    assert "Timeout (0:00:01)!" in text
    assert "in stuck_in_c" in text


def test_the_watchdog_is_off_unless_a_limit_is_set(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != WATCHDOG_ENV}
    assert WATCHDOG_ENV not in env
    done = subprocess.run(
        [sys.executable, "-c", "from tests.support.hang_watchdog import arm; print(arm('x'))"],
        env={**env, HANG_DIR_ENV: str(tmp_path / "hangs")},
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "None"
    assert not (tmp_path / "hangs").exists()
