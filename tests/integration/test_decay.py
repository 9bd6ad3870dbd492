"""Decay ranking on every engine: Milvus' decay reranker where the engine has one (Milvus
Lite 3.2.2), the same formulas on the client elsewhere, and the same results."""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Iterator

import pytest

from milvus_plugins.core import (
    AsyncMilvusStore,
    CollectionSpec,
    ConnectionConfig,
    Decay,
    FlatIndex,
    InvalidInputError,
    MetadataField,
    MilvusStore,
    Record,
    UnsupportedByServerError,
)

DIM = 4
ROWS = 200
QUERY = [1.0, 0.0, 0.0, 0.0]


def _records() -> list[Record]:
    rng = random.Random(7)
    out = []
    for i in range(ROWS):
        angle = rng.uniform(0, 1.2)  # cosines from 1 down to ~0.36: all positive
        v = [math.cos(angle), math.sin(angle) * rng.uniform(-1, 1), rng.uniform(-0.1, 0.1), 0.0]
        ts = rng.randrange(0, 1000)
        out.append(Record(id=f"r{i}", text=f"row {i}", vector=v, metadata={"ts": ts, "age": ts}))
    return out


@pytest.fixture
def store(uri: str, collection_name: str) -> Iterator[MilvusStore]:
    spec = CollectionSpec(
        name=collection_name,
        dim=DIM,
        index=FlatIndex(),
        metadata_fields=[MetadataField(name="ts", type="INT64")],
    )
    s = MilvusStore(spec, connection=ConnectionConfig(uri=uri))
    s.upsert(_records())
    s.flush()
    yield s
    s.close()


DECAYS = [
    {"function": "gauss", "origin": 1000, "scale": 200},
    {"function": "exp", "origin": 1000, "scale": 150, "offset": 50, "decay": 0.3},
    {"function": "linear", "origin": 500, "scale": 900, "decay": 0.2},
]


def test_client_decay_equals_server_decay(store: MilvusStore) -> None:
    for params in DECAYS:
        for k in (3, 8):
            client = store.search(QUERY, k=k, decay=Decay(field="ts", place="client", **params))
            # Independent check: the 10k most similar rows, rescored by hand.
            window = store.search(QUERY, k=10 * k)
            want = sorted(
                window,
                key=lambda h: (
                    -h.score * Decay(field="ts", **params).factor(h.record.metadata["ts"])
                ),
            )[:k]
            assert [h.id for h in client] == [h.id for h in want]
            by_key = store.search(QUERY, k=k, decay=Decay(field="age", **params))
            assert [h.id for h in by_key] == [h.id for h in client]
            auto = store.search(QUERY, k=k, decay=Decay(field="ts", **params))
            assert [h.id for h in auto] == [h.id for h in client], params
            assert [h.score for h in auto] == pytest.approx([h.score for h in client], rel=1e-5)
            if store.capabilities.decay_ranker:
                server = store.search(QUERY, k=k, decay=Decay(field="ts", place="server", **params))
                assert [h.id for h in server] == [h.id for h in client]
            else:
                with pytest.raises(UnsupportedByServerError, match="decay"):
                    store.search(QUERY, k=k, decay=Decay(field="ts", place="server", **params))


def test_recency_decay_moves_newer_rows_up(store: MilvusStore) -> None:
    plain = store.search(QUERY, k=5)
    recent = store.search(QUERY, k=5, decay=Decay(field="ts", origin=1000, scale=100))
    mean = lambda hits: sum(h.record.metadata["ts"] for h in hits) / len(hits)  # noqa: E731
    assert mean(recent) > mean(plain)
    assert all(0.0 <= h.score <= 1.0 for h in recent)


def test_async_decay_and_refusals(store: MilvusStore) -> None:
    decay = Decay(field="ts", origin=1000, scale=100)

    async def run() -> list[str]:
        astore = AsyncMilvusStore(store)
        try:
            return [h.id for h in await astore.search(QUERY, k=4, decay=decay)]
        finally:
            await astore.close()

    assert asyncio.run(run()) == [h.id for h in store.search(QUERY, k=4, decay=decay)]
    with pytest.raises(UnsupportedByServerError, match="decay"):
        store.search(QUERY, k=4, decay=Decay(field="age", origin=0, scale=1, place="server"))
    from milvus_plugins.core import Grouping

    with pytest.raises(InvalidInputError, match="group_by"):
        store.search(QUERY, k=4, decay=decay, grouping=Grouping())
