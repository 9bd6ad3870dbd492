"""autotune on Milvus Lite: picks the smallest knob reaching the target, honestly."""

from __future__ import annotations

import numpy as np
import pytest

from milvus_plugins.core import (
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    FlatIndex,
    HnswIndex,
    IvfFlatIndex,
    MilvusStore,
    Record,
)
from milvus_plugins.core.autotune import autotune, exact_neighbours
from milvus_plugins.core.types import MetricType

DIM = 16


def _data(n: int = 600, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((12, DIM))
    vectors = centres[rng.integers(0, 12, n)] + 0.4 * rng.standard_normal((n, DIM))
    queries = vectors[rng.integers(0, n, 30)] + 0.2 * rng.standard_normal((30, DIM))
    return vectors.astype(np.float32), queries.astype(np.float32)


def _store(uri: str, index: object, vectors: np.ndarray) -> MilvusStore:
    store = MilvusStore(
        CollectionSpec(name="tune", dim=DIM, index=index),  # type: ignore[arg-type]
        connection=ConnectionConfig(uri=uri),
        drop_old=True,
    )
    store.upsert(
        [Record(id=f"r{i}", text=f"row {i}", vector=v) for i, v in enumerate(vectors)],
        progress=False,
    )
    return store


def test_exact_neighbours_matches_a_sort() -> None:
    vectors, queries = _data(50)
    ids = [f"r{i}" for i in range(50)]
    got = exact_neighbours(vectors, ids, queries, 5, MetricType.L2)
    d = ((queries[:, None, :] - vectors[None, :, :]) ** 2).sum(-1)
    want = [[ids[i] for i in row[:5]] for row in np.argsort(d, axis=1)]
    assert got == want


def test_ivf_choice_is_the_smallest_nprobe_reaching_the_target(lite_uri: str) -> None:
    vectors, queries = _data()
    store = _store(lite_uri, IvfFlatIndex(nlist=32, nprobe=1), vectors)
    full = autotune(store, queries, target_recall=0.9, stop_at_target=False)
    chosen = autotune(store, queries, target_recall=0.9, warmup=0)
    assert full.knob == chosen.knob == "nprobe"
    assert chosen.reached and chosen.recall >= 0.9
    # The smallest nprobe of its own sweep that reaches the target (two sweeps are not
    # compared: Milvus Lite builds the index in the background, so a sweep that starts
    # before the build finishes sees exact results at every nprobe).
    assert chosen.table[-1].value == chosen.value
    assert all(p.recall < 0.9 for p in chosen.table[:-1])
    assert [p.value for p in chosen.table] == [p.value for p in full.table][: len(chosen.table)]
    assert full.table[-1].value == 32 and full.table[-1].recall == pytest.approx(1.0)
    assert chosen.search_params == {"nprobe": chosen.value}
    store.close()


def test_hnsw_tunes_ef_and_reports_the_table(lite_uri: str) -> None:
    vectors, queries = _data()
    store = _store(lite_uri, HnswIndex(M=8, ef_construction=64), vectors)
    result = autotune(store, queries, target_recall=0.95, values=[10, 20, 40, 80, 160])
    assert result.knob == "ef"
    assert result.reached
    values = [p.value for p in result.table if p.value is not None]
    assert values == sorted(values) and len(values) == len(result.table)
    assert result.table[-1].value == result.value  # stopped at the first value reaching it
    store.close()


def test_flat_has_no_knob_and_perfect_recall(lite_uri: str) -> None:
    vectors, queries = _data(200)
    store = _store(lite_uri, FlatIndex(metric="L2"), vectors)
    result = autotune(store, queries)
    assert result.knob is None and result.value is None
    assert result.recall == pytest.approx(1.0)
    assert result.search_params == {}
    store.close()


def test_unreachable_target_returns_the_largest_value_tried(lite_uri: str) -> None:
    vectors, queries = _data()
    store = _store(lite_uri, IvfFlatIndex(nlist=32), vectors)
    result = autotune(store, queries, target_recall=1.0, values=[1, 2])
    assert not result.reached
    assert result.value == 2
    store.close()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target_recall": 0.0}, "target_recall"),
        ({"target_recall": 1.5}, "target_recall"),
        ({"k": 0}, "k="),
        ({"values": [0, 4]}, "values"),
        ({"ground_truth": [["r1"]]}, "ground_truth"),
    ],
)
def test_bad_arguments_raise_config_error(
    lite_uri: str, kwargs: dict[str, object], message: str
) -> None:
    vectors, queries = _data(100)
    store = _store(lite_uri, IvfFlatIndex(nlist=8), vectors)
    with pytest.raises(ConfigError, match=message):
        autotune(store, queries, **kwargs)  # type: ignore[arg-type]
    store.close()
