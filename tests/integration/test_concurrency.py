"""Many threads and asyncio tasks writing and searching through one store at once.

Every scenario runs on both backends (``backend_uri``: Milvus Lite, then the 2.3.5 server)
with the same assertions: no exception in any worker, exact final counts, every id once,
and search results that are consistent while writes are going on (each hit is a row some
writer wrote, scores are in order, and a row acknowledged before a search is found by
its own vector).

The collection does not exist when the workers start: creating it is part of the race.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding

from milvus_plugins.core import (
    AsyncMilvusStore,
    CollectionSpec,
    ConnectionConfig,
    Hit,
    MilvusStore,
    Record,
)
from milvus_plugins.langchain import MilvusVectorStore as LangChainStore

DIM = 16
THREADS = 8
BATCHES = 25
ROWS_PER_BATCH = 10
SEARCHERS = 3
TASKS = 20
TASK_BATCHES = 3


def report(scenario: str, **figures: object) -> None:
    """Print the observed figures of a scenario (quoted in RELIABILITY.md)."""
    values = " ".join(f"{key}={value}" for key, value in figures.items())
    print(f"\nRELIABILITY {scenario}: {values}")


def vector(key: str) -> list[float]:
    """A distinct pseudo-random unit-ish vector per id."""
    rng = random.Random(key)
    return [rng.uniform(-1.0, 1.0) for _ in range(DIM)]


def batch(worker: int, number: int, rows: int = ROWS_PER_BATCH) -> list[Record]:
    return [
        Record(
            id=f"w{worker}-b{number}-r{row}",
            text=f"worker {worker} batch {number} row {row}",
            vector=vector(f"w{worker}-b{number}-r{row}"),
            metadata={"worker": worker, "batch": number},
        )
        for row in range(rows)
    ]


def backend(uri: str) -> str:
    return "lite" if uri.endswith(".db") else "server"


@pytest.fixture
def store(backend_uri: str, collection_name: str) -> Iterator[MilvusStore]:
    opened = MilvusStore(
        CollectionSpec(name=collection_name, dim=DIM), connection=ConnectionConfig(uri=backend_uri)
    )
    yield opened
    opened.close()


def check_hits(hits: list[Hit], known: set[str], k: int) -> None:
    """Hits are rows somebody wrote, at most ``k``, distinct, best first."""
    ids = [h.id for h in hits]
    assert len(ids) <= k and len(set(ids)) == len(ids)
    assert set(ids) <= known
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)


def test_threads_adding_and_searching_at_once(store: MilvusStore, backend_uri: str) -> None:
    expected = {r.id for w in range(THREADS) for b in range(BATCHES) for r in batch(w, b)}
    acknowledged: list[Record] = []
    ack_lock = threading.Lock()
    writers_done = threading.Event()
    start = threading.Barrier(THREADS + SEARCHERS)
    searches = [0] * SEARCHERS
    own_vector_found = [0] * SEARCHERS

    def write(worker: int) -> None:
        start.wait()
        for number in range(BATCHES):
            records = batch(worker, number)
            assert store.upsert(records) == [r.id for r in records]
            with ack_lock:
                acknowledged.extend(records)

    def search(searcher: int) -> None:
        rng = random.Random(searcher)
        start.wait()
        while not writers_done.is_set() or searches[searcher] < 5:
            with ack_lock:
                target = rng.choice(acknowledged) if acknowledged else None
            if target is None:
                time.sleep(0.01)
                continue
            hits = store.search(target.vector or [], k=5)
            check_hits(hits, expected, 5)
            # Acknowledged before the search began: it must be visible, and it is the
            # nearest row to its own vector.
            assert hits and hits[0].id == target.id
            own_vector_found[searcher] += 1
            searches[searcher] += 1

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=THREADS + SEARCHERS) as pool:
        readers = [pool.submit(search, s) for s in range(SEARCHERS)]
        writers = [pool.submit(write, w) for w in range(THREADS)]
        try:
            for future in writers:
                future.result(timeout=240)  # re-raises a worker's exception here
        finally:
            writers_done.set()  # searchers stop even when a writer failed
            start.abort()  # and nobody waits at the barrier for a thread that died
        for future in readers:
            future.result(timeout=60)
    took = time.monotonic() - started

    total = THREADS * BATCHES * ROWS_PER_BATCH
    assert store.count() == total
    stored = [r.id for r in store.query()]
    assert len(stored) == total and set(stored) == expected
    for worker in range(THREADS):
        assert store.count(f'metadata["worker"] == {worker}') == BATCHES * ROWS_PER_BATCH
    report(
        f"threads_{backend(backend_uri)}",
        writer_threads=THREADS,
        batches_each=BATCHES,
        rows=total,
        search_threads=SEARCHERS,
        searches=sum(searches),
        exceptions=0,
        seconds=round(took, 1),
    )


async def test_asyncio_tasks_adding_and_searching_at_once(
    store: MilvusStore, backend_uri: str
) -> None:
    async_store = AsyncMilvusStore(store)

    async def task(worker: int) -> int:
        found = 0
        for number in range(TASK_BATCHES):
            records = batch(100 + worker, number)
            assert await async_store.upsert(records) == [r.id for r in records]
            probe = records[number % len(records)]
            hits = await async_store.search(probe.vector or [], k=3)
            assert hits and hits[0].id == probe.id
            found += 1
        return found

    started = time.monotonic()
    try:
        found = await asyncio.wait_for(asyncio.gather(*(task(w) for w in range(TASKS))), 240)
    finally:
        await async_store.close()
    took = time.monotonic() - started
    total = TASKS * TASK_BATCHES * ROWS_PER_BATCH
    assert sum(found) == TASKS * TASK_BATCHES
    assert store.count() == total
    stored = [r.id for r in store.query()]
    assert len(stored) == total and len(set(stored)) == total
    report(
        f"asyncio_core_{backend(backend_uri)}",
        tasks=TASKS,
        batches_each=TASK_BATCHES,
        rows=total,
        searches=sum(found),
        exceptions=0,
        seconds=round(took, 1),
    )


async def test_asyncio_tasks_through_the_langchain_adapter(
    backend_uri: str, collection_name: str
) -> None:
    adapter = LangChainStore(
        DeterministicFakeEmbedding(size=DIM),
        connection=ConnectionConfig(uri=backend_uri),
        collection_name=collection_name,
    )

    async def task(worker: int) -> None:
        texts = [f"task {worker} note {i}" for i in range(ROWS_PER_BATCH)]
        ids = [f"t{worker}-{i}" for i in range(ROWS_PER_BATCH)]
        assert await adapter.aadd_texts(texts, [{"task": worker}] * len(texts), ids=ids) == ids
        docs = await adapter.asimilarity_search(texts[0], k=2, filter={"task": worker})
        assert docs and docs[0].id == ids[0]
        assert all(doc.metadata == {"task": worker} for doc in docs)

    started = time.monotonic()
    try:
        await asyncio.wait_for(asyncio.gather(*(task(w) for w in range(TASKS))), 240)
    finally:
        await adapter.aclose()
    took = time.monotonic() - started
    assert adapter.store.count() == TASKS * ROWS_PER_BATCH
    ids = [r.id for r in adapter.store.query()]
    assert len(ids) == len(set(ids)) == TASKS * ROWS_PER_BATCH
    adapter.close()
    report(
        f"asyncio_langchain_{backend(backend_uri)}",
        tasks=TASKS,
        rows=TASKS * ROWS_PER_BATCH,
        exceptions=0,
        seconds=round(took, 1),
    )
