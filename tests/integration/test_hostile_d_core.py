"""Core findings of a hostile tester, against real Milvus Lite (nothing mocked).

* D1: ``CollectionSpec(metric=..., index=...)`` with an index naming no metric builds
  the index with the metric asked for, and search ranks by it.
* D3: ``upsert(records, embed=fn)`` takes a 2-D numpy array ``(len(texts), dim)`` from
  the model (sync and async) and refuses other shapes, naming the shape expected.
* D7: a bad vector in a later chunk of a streamed write is numbered in the call.
* E18: grouping / decay on a field without group values / numbers raise ``ConfigError``.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import numpy as np
import pytest

from milvus_plugins.core import (
    AsyncMilvusStore,
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    Decay,
    Grouping,
    InvalidInputError,
    MilvusStore,
    Record,
    WriteError,
    WriteOptions,
)

DIM = 4
QUERY = [1.0, 0.0, 0.0, 0.0]
# Ranked differently by each metric: COSINE puts "near" first (same direction), IP puts
# "long" first (large dot product), L2 puts "near" first (closest point); "far" is last
# for COSINE and L2 but not for IP.
VECTORS = {
    "long": [10.0, 10.0, 0.0, 0.0],
    "near": [1.0, 0.1, 0.0, 0.0],
}
EXPECTED_FIRST = {"COSINE": "near", "IP": "long", "L2": "near"}
# Separates COSINE from L2: same direction but far away, against close but off-angle.
VECTORS_L2 = {
    "aligned_far": [10.0, 0.0, 0.0, 0.0],
    "close_off_angle": [0.9, 0.3, 0.0, 0.0],
}
EXPECTED_FIRST_L2 = {"COSINE": "aligned_far", "IP": "aligned_far", "L2": "close_off_angle"}


def index_metrics(client: Any, collection: str) -> list[tuple[str, str]]:
    """(index type, metric) of every index of ``collection`` on the vector field."""
    out = []
    for name in client.list_indexes(collection, field_name="vector"):
        described = client.describe_index(collection, name)
        out.append((described["index_type"], described["metric_type"]))
    return out


def _records(vectors: dict[str, list[float]]) -> list[Record]:
    return [Record(id=i, text=f"row {i}", vector=v) for i, v in vectors.items()]


@pytest.mark.parametrize("index", ["FLAT", {"index_type": "HNSW", "M": 8}])
@pytest.mark.parametrize("metric", ["L2", "IP"])
def test_core_index_takes_the_metric_asked_for(lite_uri: str, metric: str, index: Any) -> None:
    spec = CollectionSpec(name="m", dim=DIM, metric=metric, index=index)
    with MilvusStore(spec, connection=ConnectionConfig(uri=lite_uri)) as store:
        store.upsert(_records({**VECTORS, **VECTORS_L2}))
        kind = index if isinstance(index, str) else index["index_type"]
        assert index_metrics(store.client, "m") == [(kind, metric)]
        # Relevance follows the metric: each pair is ranked as that metric ranks it.
        hits = store.search(QUERY, k=4)
        pair = [h.id for h in hits if h.id in VECTORS]
        assert pair[0] == EXPECTED_FIRST[metric]
        pair = [h.id for h in hits if h.id in VECTORS_L2]
        assert pair[0] == EXPECTED_FIRST_L2[metric]


def test_core_conflicting_metrics_raise_before_any_io(lite_uri: str) -> None:
    with pytest.raises(ConfigError, match="conflicts with the metric"):
        CollectionSpec(name="m", dim=DIM, metric="L2", index={"index_type": "FLAT", "metric": "IP"})


# -- D3: a model returning a numpy array -------------------------------------------------


def _embed_array(texts: list[str]) -> np.ndarray:
    return np.array([[1.0, float(len(t)), 0.5, 0.25] for t in texts], dtype=np.float32)


def _texts(n: int) -> list[Record]:
    return [Record(id=f"r{i}", text=f"text number {i}") for i in range(n)]


def test_upsert_takes_a_2d_array_from_the_model(lite_uri: str) -> None:
    spec = CollectionSpec(name="a", dim=DIM)
    with MilvusStore(
        spec, connection=ConnectionConfig(uri=lite_uri), write=WriteOptions(batch_rows=4)
    ) as store:
        ids = store.upsert(_texts(10), embed=_embed_array)
        assert ids == [f"r{i}" for i in range(10)]
        assert store.count() == 10
        got = store.get(["r3"], include_vectors=True)[0].vector
        assert got is not None
        assert np.allclose(got, _embed_array(["text number 3"])[0])


def test_async_upsert_takes_a_2d_array_from_the_model(lite_uri: str) -> None:
    sync = MilvusStore(CollectionSpec(name="a", dim=DIM), connection=ConnectionConfig(uri=lite_uri))

    async def main() -> int:
        store = AsyncMilvusStore(sync)
        try:
            await store.upsert(_texts(10), embed=_embed_array)
            return await store.count()
        finally:
            await store.close()

    try:
        assert asyncio.run(main()) == 10
    finally:
        sync.close()


@pytest.mark.parametrize(
    ("output", "message"),
    [
        (lambda texts: np.ones((len(texts) + 1, DIM)), r"shape \(4, 4\) for 3 texts"),
        (lambda texts: np.ones(len(texts) * DIM), r"shape \(12,\) for 3 texts.*\(3, 4\)"),
        (lambda texts: np.ones((len(texts), DIM, 1)), r"shape \(3, 4, 1\)"),
        (lambda texts: {"a": 1}, r"returned dict for 3 texts; return a list of 3 vectors"),
        (lambda texts: [[1.0] * DIM], r"returned 1 vectors for 3 texts"),
    ],
)
def test_wrong_model_output_is_refused_with_the_shape_expected(
    lite_uri: str, output: Any, message: str
) -> None:
    spec = CollectionSpec(name="a", dim=DIM)
    with MilvusStore(spec, connection=ConnectionConfig(uri=lite_uri)) as store:
        with pytest.raises(InvalidInputError, match=message):
            store.upsert(_texts(3), embed=output)
        assert not store.exists() or store.count() == 0


# -- D7: positions in the call -------------------------------------------------------------


def test_a_bad_vector_in_a_later_chunk_is_numbered_in_the_call(lite_uri: str) -> None:
    spec = CollectionSpec(name="p", dim=DIM)

    def embed(texts: list[str]) -> list[list[float]]:
        out = [[1.0, 0.5, 0.25, float(len(t))] for t in texts]
        if "text number 25" in texts:
            out[texts.index("text number 25")] = [math.nan] * DIM
        return out

    with (
        MilvusStore(
            spec, connection=ConnectionConfig(uri=lite_uri), write=WriteOptions(batch_rows=10)
        ) as store,
        pytest.raises(WriteError, match=r"record 25 \(id='r25'\)"),
    ):
        store.upsert(_texts(40), embed=embed)


# -- E18: grouping and decay fields --------------------------------------------------------


def test_grouping_and_decay_on_fields_without_values_raise(lite_uri: str) -> None:
    spec = CollectionSpec(name="g", dim=DIM, metadata_fields={"year": "INT64"})
    with MilvusStore(spec, connection=ConnectionConfig(uri=lite_uri)) as store:
        store.upsert(
            [
                Record(id=f"r{i}", text=f"row {i}", vector=[1.0, i, 0.5, 0.1], doc_id=f"d{i % 3}")
                for i in range(6)
            ]
        )
        for by in ("text", "vector", "metadata"):
            with pytest.raises(ConfigError, match="holds no value to group by"):
                store.search(QUERY, k=3, grouping=Grouping(by=by))
        for field in ("text", "vector", "id"):
            with pytest.raises(ConfigError, match="holds no number"):
                store.search(QUERY, k=3, decay=Decay(field=field, origin=0, scale=1))
        # Documented uses keep working: groups by doc_id, decay on a declared field.
        assert len(store.search(QUERY, k=3, grouping=Grouping())) == 3
        hits = store.search(QUERY, k=3, decay=Decay(field="year", origin=0, scale=10))
        assert len(hits) == 3
