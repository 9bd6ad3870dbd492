"""``make test``'s thinning of value sweeps on the 2.3.5 server (``MP_SERVER_CASES``, see
tests/conftest.py): checked on the suite's own collection of a real test file."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FILE = "tests/integration/test_missing_partitions.py"  # one sweep (21 values), one not


@functools.cache  # one collection per setting: each is a pytest process (~6 s)
def _collected(server_cases: str | None) -> tuple[str, ...]:
    env = {k: v for k, v in os.environ.items() if k != "MP_SERVER_CASES"}
    if server_cases is not None:
        env["MP_SERVER_CASES"] = server_cases
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", FILE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    return tuple(line for line in out.splitlines() if "::" in line)


def _by_engine(ids: tuple[str, ...]) -> Counter[tuple[str, str]]:
    counts: Counter[tuple[str, str]] = Counter()
    for test_id in ids:
        name, _, params = test_id.partition("[")
        engine = next(
            (e for e in ("lite25", "server", "lite") if e in params.rstrip("]").split("-")), ""
        )
        counts[name.split("::")[-1], engine] += 1
    return counts


def test_a_value_sweep_keeps_its_first_server_case_and_every_lite_case() -> None:
    full, thin = _by_engine(_collected(None)), _by_engine(_collected("1"))
    sweep = "test_a_missing_partition_is_refused_and_nothing_changes"
    assert full[sweep, "server"] >= 5
    assert thin[sweep, "server"] == 1
    assert thin[sweep, "lite"] == full[sweep, "lite"] > 1
    assert thin[sweep, "lite25"] == full[sweep, "lite25"] > 1
    others = {key: n for key, n in full.items() if key[0] != sweep}
    assert others and all(thin[key] == n for key, n in others.items())


def test_every_case_runs_without_the_setting_or_with_all() -> None:
    assert _collected("all") == _collected(None)
