"""Tiny runs of the ingest benchmarks (overlap, profile), so they never rot.

Only structure and exact values are checked (every row lands, the profile's parts add
up to the profiled total), never wall-clock times.
"""

from __future__ import annotations

import cProfile
import pstats
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

pytest.importorskip("langchain_core")
pytest.importorskip("llama_index.core")

from benchmarks.ef_ladder import ladder  # noqa: E402
from benchmarks.overlap import NumpyModel, SleepModel, run_engine  # noqa: E402
from benchmarks.profile_ingest import charged, profile_system, shares  # noqa: E402


def test_overlap_benchmark_ingests_every_text_both_ways(tmp_path: Path) -> None:
    models = {"sleep": SleepModel(0.0), "numpy": NumpyModel(64)}
    rows = run_engine("lite", 300, 1, models, tmp_path / "lite")
    assert [row["model"] for row in rows] == ["(none: write only)", "sleep", "numpy"]
    for row in rows[1:]:
        assert len(row["off"]) == len(row["on"]) == 1  # timed_ingest asserts count() == n


def test_profile_charges_all_time_to_a_part(tmp_path: Path) -> None:
    from benchmarks.dataset import synthetic

    data = synthetic(300, queries=1)
    row = profile_system("core", "benchmarks.drivers.core", data, 300, tmp_path, 0, ())
    assert row["ours"] > 0 and row["milvus"] > 0
    assert row["calls_per_row"] > 0

    profiler = cProfile.Profile()
    profiler.runcall(sorted, [3, 1, 2])
    stats = pstats.Stats(profiler)
    by_function = charged(stats)
    assert sum(shares(by_function).values()) == pytest.approx(sum(by_function.values()))


def test_ef_ladder_measures_every_ef_and_is_exact_with_ef_above_the_row_count(
    tmp_path: Path,
) -> None:
    rows = ladder(300, 5, [16, 512], tmp_path)
    assert [ef for ef, _, _ in rows] == [16, 512]
    assert all(0.0 <= recall <= 1.0 for _, recall, _ in rows)
    assert rows[-1][1] == 1.0
