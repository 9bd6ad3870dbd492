"""A tiny run of the engine-split benchmark, so it never rots.

Only structure is checked (every query timed, the engine's part inside the call, the
engine's method given back afterwards), never wall-clock figures.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

pytest.importorskip("langchain_core")
pytest.importorskip("milvus_lite.engine.collection")

from benchmarks.engine_split import split  # noqa: E402


def test_engine_split_times_the_engine_inside_every_call(tmp_path: Path) -> None:
    from milvus_lite.engine.collection import Collection

    before = Collection.search
    result = split(300, 3, ["dense", "hybrid"], ["raw pymilvus", "core"], tmp_path)
    assert Collection.search is before
    assert set(result) == {"dense", "hybrid"}
    for times in result.values():
        assert set(times) == {"raw pymilvus", "core"}
        for parts in times.values():
            assert len(parts["total"]) == len(parts["engine"]) == 3
            for total, engine, outside in zip(
                parts["total"], parts["engine"], parts["outside"], strict=True
            ):
                assert 0 < engine < total
                assert outside == pytest.approx(total - engine)
