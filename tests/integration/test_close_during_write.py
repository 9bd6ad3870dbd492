"""``close()`` called while another thread or task writes through the same store.

``close()`` closes the connection and the store reconnects when used again. A write in
flight meets the closed connection on its next request: it reconnects and finishes, and
every row is written once. On Milvus Lite, closing the last connection also stops the
database's server; the writer's reconnect used to start a second server while the first
still held the database's lock, and the write failed reporting the database "in use by
this process (a client not made by milvus-plugins)".
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Callable

import pytest

from milvus_plugins.core import (
    AsyncMilvusStore,
    CollectionSpec,
    ConnectionConfig,
    MilvusStore,
    Record,
    WriteOptions,
)

ROWS = 3000
BATCH = 100


def _store(uri: str, name: str) -> MilvusStore:
    return MilvusStore(
        CollectionSpec(name=name, dim=8),
        connection=ConnectionConfig(uri=uri),
        write=WriteOptions(batch_rows=BATCH),
    )


def _records() -> list[Record]:
    """Records without vectors: the store embeds them a batch at a time."""
    return [Record(id=f"r{i}", text=f"text {i}") for i in range(ROWS)]


def _embedder(after: int, reached: threading.Event) -> Callable[[list[str]], list[list[float]]]:
    """A model that signals ``reached`` once it has embedded ``after`` batches (the
    store writes one batch while it embeds the next)."""
    calls = 0

    def embed(texts: list[str]) -> list[list[float]]:
        nonlocal calls
        calls += 1
        if calls == after:
            reached.set()
        rng = random.Random(calls)
        return [[rng.random() + 0.01 for _ in range(8)] for _ in texts]

    return embed


def _assert_every_row_once(uri: str, name: str) -> None:
    fresh = _store(uri, name)
    try:
        assert fresh.count() == ROWS
        got = fresh.get([f"r{i}" for i in range(ROWS)])
        assert sorted(r.id for r in got) == sorted(f"r{i}" for i in range(ROWS))
    finally:
        fresh.close()


@pytest.mark.parametrize("created_by_the_write", [True, False], ids=["insert", "upsert"])
def test_close_from_another_thread_mid_write_loses_and_duplicates_nothing(
    uri: str, collection_name: str, created_by_the_write: bool
) -> None:
    store = _store(uri, collection_name)
    if not created_by_the_write:  # the big write then upserts into an existing collection
        store.ensure_collection(8)
    reached = threading.Event()
    outcome: dict[str, object] = {}

    def write() -> None:
        try:
            outcome["ids"] = store.upsert(_records(), embed=_embedder(5, reached), progress=False)
        except Exception as exc:  # reported below, with its type
            outcome["error"] = exc

    writer = threading.Thread(target=write)
    writer.start()
    assert reached.wait(60)
    store.close()
    writer.join(120)
    assert not writer.is_alive()
    assert "error" not in outcome, repr(outcome.get("error"))
    assert outcome["ids"] == [f"r{i}" for i in range(ROWS)]
    store.close()
    _assert_every_row_once(uri, collection_name)


def test_close_of_the_async_store_mid_write_loses_and_duplicates_nothing(
    uri: str, collection_name: str
) -> None:
    reached = threading.Event()

    async def scenario() -> list[str]:
        store = AsyncMilvusStore(_store(uri, collection_name))
        embed = _embedder(5, reached)

        async def aembed(texts: list[str]) -> list[list[float]]:
            await asyncio.sleep(0)
            return embed(texts)

        write = asyncio.ensure_future(store.upsert(_records(), embed=aembed, progress=False))
        while not reached.is_set():
            await asyncio.sleep(0.005)
        await store.close()
        ids = await write
        await store.close()
        store.sync.close()
        return ids

    assert asyncio.run(scenario()) == [f"r{i}" for i in range(ROWS)]
    _assert_every_row_once(uri, collection_name)
