"""AsyncMilvusStore on real Milvus Lite: the same operations as the sync store, awaited."""

from __future__ import annotations

import asyncio
import math
import random
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymilvus.exceptions import MilvusException

from milvus_plugins.core import (
    RRF,
    AsyncMilvusStore,
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    InvalidInputError,
    MilvusStore,
    Record,
    RetryPolicy,
    Weighted,
    WriteError,
    WriteOptions,
    eq,
    gt,
)

DIM = 8
WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]


def corpus(n: int = 40) -> list[Record]:
    rng = random.Random(1)
    # A length of its own for every text: no two rows tie on BM25 (that needs equal
    # lengths and term counts), so a keyword search has one order, and a sync and an
    # async search cannot break a tie differently.
    lengths = rng.sample(range(2, 2 + n), n)
    return [
        Record(
            id=f"a{i}",
            text=" ".join(rng.choices(WORDS, k=lengths[i])),
            vector=[rng.gauss(0, 1) for _ in range(DIM)],
            metadata={"n": i, "group": i % 4},
        )
        for i in range(n)
    ]


def query_vector(seed: int) -> list[float]:
    rng = random.Random(seed)
    return [rng.gauss(0, 1) for _ in range(DIM)]


@pytest.fixture
async def pair(lite_uri: str) -> AsyncIterator[tuple[MilvusStore, AsyncMilvusStore]]:
    store = MilvusStore(
        CollectionSpec(name="async_docs", dim=DIM, sparse="bm25"),
        connection=ConnectionConfig(uri=lite_uri),
        write=WriteOptions(batch_rows=16),
        retry=RetryPolicy(attempts=3, initial_backoff=0.01),
    )
    async_store = AsyncMilvusStore(store)
    yield store, async_store
    await async_store.close()
    store.close()


async def test_async_upsert_count_get_query_and_delete(
    pair: tuple[MilvusStore, AsyncMilvusStore],
) -> None:
    store, astore = pair
    records = corpus()
    assert await astore.upsert(records) == [r.id for r in records]
    assert await astore.upsert(records) == [r.id for r in records]  # idempotent
    assert await astore.count() == 40
    assert await astore.count(eq("group", 1)) == 10
    got = await astore.get(["a7", "missing", "a3"])
    assert [r.id for r in got] == ["a7", "a3"]
    assert got[0].metadata == {"n": 7, "group": 3}
    page = await astore.query(gt("n", 29), limit=5)
    assert len(page) == 5 and all(int(r.metadata["n"]) > 29 for r in page)
    assert {r.id for r in await astore.query(gt("n", 29))} == {f"a{i}" for i in range(30, 40)}
    assert await astore.delete(ids=["a0", "a1"]) == 2
    await astore.delete(filter=eq("group", 2))
    assert await astore.count() == 40 - 2 - 10
    assert store.count() == 28  # the sync twin sees the same collection


async def test_async_searches_equal_their_sync_twins(
    pair: tuple[MilvusStore, AsyncMilvusStore],
) -> None:
    store, astore = pair
    await astore.upsert(corpus())
    vector = query_vector(5)
    dense = await astore.search(vector, k=5, filter=eq("group", 1))
    assert [h.id for h in dense] == [h.id for h in store.search(vector, k=5, filter=eq("group", 1))]
    assert all(0.0 <= h.score <= 1.0 for h in dense)
    sparse = await astore.sparse_search("gamma delta", k=5)
    assert [h.id for h in sparse] == [h.id for h in store.sparse_search("gamma delta", k=5)]
    for ranker in (RRF(), Weighted(0.3, 0.7)):
        for fusion in ("server", "client"):
            hybrid = await astore.hybrid_search(
                vector, "gamma delta", k=8, ranker=ranker, fusion=fusion
            )
            twin = store.hybrid_search(vector, "gamma delta", k=8, ranker=ranker, fusion=fusion)
            assert [h.id for h in hybrid] == [h.id for h in twin]
            for a, b in zip(hybrid, twin, strict=True):
                assert math.isclose(a.score, b.score, abs_tol=1e-6)
    retrieved = await astore.retrieve(mode="sparse", text="gamma", k=3)
    assert [h.id for h in retrieved] == [
        h.id for h in store.retrieve(mode="sparse", text="gamma", k=3)
    ]
    mmr = await astore.mmr_search(vector, k=3, fetch_k=10)
    assert len(mmr) == 3 and len({h.id for h in mmr}) == 3


async def test_concurrent_async_searches(pair: tuple[MilvusStore, AsyncMilvusStore]) -> None:
    _, astore = pair
    await astore.upsert(corpus())
    results = await asyncio.gather(*(astore.search(query_vector(i), k=3) for i in range(8)))
    assert [len(r) for r in results] == [3] * 8


async def test_async_store_creates_the_collection_from_the_first_write(lite_uri: str) -> None:
    store = MilvusStore(CollectionSpec(name="lazy"), connection=ConnectionConfig(uri=lite_uri))
    astore = AsyncMilvusStore(store)
    assert await astore.count() == 0
    assert await astore.search(query_vector(1), k=2) == []
    await astore.upsert(corpus(5))
    assert store.spec.dim == DIM
    assert await astore.count() == 5
    await astore.close()
    store.close()


def _four_row_batches(lite_uri: str, name: str) -> tuple[MilvusStore, AsyncMilvusStore]:
    """A sync store writing four rows a call, and the async store over it."""
    store = MilvusStore(
        CollectionSpec(name=name, dim=DIM),
        connection=ConnectionConfig(uri=lite_uri),
        write=WriteOptions(batch_rows=4),
    )
    return store, AsyncMilvusStore(store)


@pytest.mark.parametrize("model", ["async", "sync"])
async def test_async_streamed_upsert_embeds_the_next_batch_while_writing_this_one(
    lite_uri: str, model: str
) -> None:
    store, astore = _four_row_batches(lite_uri, "streamed")
    started = [threading.Event() for _ in range(3)]
    inserts: list[int] = []
    writer = astore.sync.client  # Lite: async writes go through the sync client, in a thread
    real_insert = writer.insert

    def insert(*args: Any, **kwargs: Any) -> Any:
        batch = len(inserts)
        inserts.append(batch)
        if batch + 1 < len(started):  # the next batch embeds while this one is written
            assert started[batch + 1].wait(timeout=60), "the next batch was not embedding"
        return real_insert(*args, **kwargs)

    def vectors(texts: list[str]) -> list[list[float]]:
        calls = sum(e.is_set() for e in started)
        if calls == len(started):
            raise RuntimeError("model server went away")
        started[calls].set()
        return [query_vector(len(t)) for t in texts]

    async def aembed(texts: list[str]) -> list[list[float]]:
        await asyncio.sleep(0)
        return vectors(texts)

    writer.insert = insert
    plain = [Record(id=f"s{i}", text=f"text {i}") for i in range(14)]
    with pytest.raises(WriteError) as info:
        await astore.upsert(plain, embed=aembed if model == "async" else vectors)
    # Batches 1-3 written (the third while the model failed on the fourth), none after.
    assert inserts == [0, 1, 2]
    assert info.value.written_ids == [f"s{i}" for i in range(12)]
    assert info.value.failed_ids == ["s12", "s13"]
    assert isinstance(info.value.__cause__, RuntimeError)
    writer.insert = real_insert
    assert await astore.count() == 12
    await astore.close()
    store.close()


async def test_async_streamed_upsert_cancelled_mid_write_cancels_the_model_ahead(
    lite_uri: str,
) -> None:
    store, astore = _four_row_batches(lite_uri, "cancelled")
    writer = astore.sync.client
    real_insert = writer.insert
    entered, release, written = threading.Event(), threading.Event(), threading.Event()
    ahead_started = asyncio.Event()
    outcome: list[str] = []

    def insert(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        assert release.wait(timeout=60)  # the first write hangs until the test lets it go
        try:
            return real_insert(*args, **kwargs)
        finally:
            written.set()

    async def aembed(texts: list[str]) -> list[list[float]]:
        if ahead_started.is_set() or outcome:
            raise AssertionError("one batch ahead at most")
        if texts[0] == "text 4":  # the second batch, embedded while the first is written
            ahead_started.set()
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                outcome.append("cancelled")
                raise
        return [query_vector(len(t)) for t in texts]

    writer.insert = insert
    plain = [Record(id=f"s{i}", text=f"text {i}") for i in range(8)]
    task = asyncio.ensure_future(astore.upsert(plain, embed=aembed))
    await asyncio.wait_for(ahead_started.wait(), timeout=60)
    # The next batch's embedding starts before the current batch's write: cancel only
    # once both run (the write in its worker thread).
    assert await asyncio.to_thread(entered.wait, 60)
    task.cancel()
    for _ in range(5):
        await asyncio.sleep(0)
    # The batch in flight is finished before the cancellation is raised (a thread cannot
    # be stopped, and nothing may land after the caller is told): the call waits for it.
    assert not task.done() and not written.is_set()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert written.is_set()
    for _ in range(5):  # the cancellation reaches the model's task on the next turns
        await asyncio.sleep(0)
    assert outcome == ["cancelled"]  # the model does not run on after the call ended
    assert await astore.count() == 4  # the first batch, whole; nothing after it
    writer.insert = real_insert
    await astore.close()
    store.close()


async def test_async_bad_input_is_rejected_before_writing(
    pair: tuple[MilvusStore, AsyncMilvusStore],
) -> None:
    _, astore = pair
    await astore.upsert(corpus(3))
    bad: list[dict[str, Any]] = [
        {"vector": [math.nan] * DIM},
        {"vector": [1.0] * (DIM + 1)},
        {"text": 7},
        {"metadata": {"s": {1}}},
    ]
    for overrides in bad:
        fields: dict[str, Any] = {"id": "bad", "text": "t", "vector": [1.0] * DIM}
        fields.update(overrides)
        with pytest.raises(InvalidInputError):
            await astore.upsert([Record(**fields)])
    with pytest.raises(InvalidInputError):
        await astore.search(query_vector(1), k=0)
    with pytest.raises(ConfigError):
        await astore.delete()
    assert await astore.count() == 3


async def test_async_calls_retry_transient_faults(
    pair: tuple[MilvusStore, AsyncMilvusStore],
) -> None:
    _, astore = pair
    await astore.upsert(corpus(20))
    real_search = astore.client.search
    calls: list[int] = []

    async def flaky_search(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise MilvusException(code=2, message="service unavailable")
        return await real_search(*args, **kwargs)

    astore.client.search = flaky_search
    hits = await astore.search(query_vector(2), k=3)
    assert len(hits) == 3 and len(calls) == 2

    # On Milvus Lite async writes run through the sync client in a worker thread (writes
    # to one Lite database must take turns), so the fault goes where the write happens.
    writer = astore.sync.client if astore.session.connection.is_lite else astore.client
    real_upsert = writer.upsert

    def fail_at_a16(batch: list[dict[str, Any]]) -> None:
        if batch[0]["id"] == "a16":
            raise MilvusException(code=2, message="service unavailable")

    def broken_sync_upsert(*args: Any, **kwargs: Any) -> Any:
        fail_at_a16(args[1])
        return real_upsert(*args, **kwargs)

    async def broken_async_upsert(*args: Any, **kwargs: Any) -> Any:
        fail_at_a16(args[1])
        return await real_upsert(*args, **kwargs)

    is_lite = astore.session.connection.is_lite
    writer.upsert = broken_sync_upsert if is_lite else broken_async_upsert
    with pytest.raises(WriteError) as info:
        await astore.upsert(corpus(40))
    assert info.value.written_ids == [f"a{i}" for i in range(16)]
    assert info.value.failed_ids == [f"a{i}" for i in range(16, 40)]
    writer.upsert = real_upsert
    await astore.upsert(corpus(40))
    assert await astore.count() == 40
