"""Milvus Lite: calls that reach a collection first at the same moment lose nothing.

Milvus Lite 3 opens a collection on its first use after the database is opened, with no
lock, while its server runs several calls at once. Two calls arriving together each
opened their own copy of the collection; rows written through the copy its cache did not
keep were acknowledged and then lost (found by close() racing writes: the next calls of
two threads are the first uses of a restarted server). The store's Lite servers serialize
opening collections (``lite.serialize_catalog``).

To hit the window every time, the real engine's log replay, which runs while a collection
opens, is held so that two concurrent opens interleave the way that lost rows (the engine
is unchanged otherwise), and the calls are released together by a barrier. The race
tests count the opens: one per collection and server start. On the unserialized engine
they opened the collection twice and lost the rows written through the copy it dropped.
The last test checks that the serialization does not make calls on an open collection
wait for another collection's open.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding
from tests.support.together import raised, run_together

from milvus_plugins.core import (
    AsyncMilvusStore,
    CollectionSpec,
    ConnectionConfig,
    MilvusStore,
    Record,
    lite,
)
from milvus_plugins.langchain import MilvusVectorStore as LangChainStore

milvus_lite_collection = pytest.importorskip("milvus_lite.engine.collection")

DIM = 4
GATE = 1.0  # seconds an open waits for a second, concurrent one
LATE = 0.6  # seconds the second of two concurrent opens is held back
JOIN = 60.0


def _records(prefix: str, n: int) -> list[Record]:
    return [
        Record(id=f"{prefix}{i}", text=f"{prefix} {i}", vector=[1.0, 0.5, 0.25, float(i + 1)])
        for i in range(n)
    ]


class _Opens:
    """Counts the real engine's collection opens; once armed, holds concurrent ones.

    Armed, an open waits up to ``GATE`` seconds for a second open of the same moment; if
    one comes, the first goes on at once and the second after ``LATE`` seconds. That is
    the interleaving that lost rows: the first copy is cached and takes a write, then the
    second replaces it in the cache. With opens serialized no second open comes.
    """

    def __init__(self) -> None:
        self.by_dir: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._gate: threading.Barrier | None = None

    def arm(self) -> None:
        self.by_dir.clear()
        self._gate = threading.Barrier(2)

    def wrap(self, replay: Callable[..., Any]) -> Callable[..., Any]:
        def held_replay(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.by_dir[str(kwargs.get("data_dir", args[0] if args else ""))] += 1
                gate = self._gate
            if gate is not None:
                try:
                    late = gate.wait(GATE) == 0
                except threading.BrokenBarrierError:
                    late = False  # alone: nothing to interleave with
                if late:
                    time.sleep(LATE)
            return replay(*args, **kwargs)

        return held_replay

    def once(self) -> bool:
        """Whether the engine opened something, and no collection more than once."""
        return bool(self.by_dir) and max(self.by_dir.values()) == 1


@pytest.fixture
def opens(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Opens]:
    counter = _Opens()
    real = milvus_lite_collection.execute_recovery
    monkeypatch.setattr(milvus_lite_collection, "execute_recovery", counter.wrap(real))
    yield counter


def _existing_database(uri: str, name: str) -> CollectionSpec:
    spec = CollectionSpec(name=name, dim=DIM)
    first = MilvusStore(spec, connection=ConnectionConfig(uri=uri))
    first.upsert(_records("s", 20), progress=False)
    first.close()
    assert lite.lease_count(uri) == 0  # the server stopped: the next use reopens the database
    return spec


def _run_together(*calls: Callable[[], object]) -> list[object]:
    outcomes = run_together(calls, join=JOIN)
    for error in raised(outcomes):
        raise error
    return outcomes


def _ids_in(uri: str, spec: CollectionSpec) -> set[str]:
    again = MilvusStore(spec, connection=ConnectionConfig(uri=uri))
    try:
        return {str(r.id) for r in again.query("", limit=1_000)}
    finally:
        again.close()


@pytest.mark.parametrize("second", ["write", "read"])
def test_two_stores_opening_a_collection_together_lose_nothing(
    lite_uri: str, opens: _Opens, second: str
) -> None:
    spec = _existing_database(lite_uri, f"first_use_{second}")
    opens.arm()
    # Two stores of one application (two request handlers, say), each with its client.
    store, other = (MilvusStore(spec, connection=ConnectionConfig(uri=lite_uri)) for _ in "ab")
    a, b = _records("a", 20), _records("b", 20)
    expected = _records("s", 20) + a + (b if second == "write" else [])

    def second_call() -> object:
        return other.upsert(b, progress=False) if second == "write" else other.count()

    acknowledged, seen = _run_together(lambda: store.upsert(a, progress=False), second_call)
    assert acknowledged == [r.id for r in a]
    if second == "write":
        assert seen == [r.id for r in b]
    else:
        assert seen in (20, 40)  # before or after the write, never something else
    assert store.count() == other.count() == len(expected)
    assert opens.once(), opens.by_dir  # the engine opened each collection once
    other.close()
    store.close()  # the last lease stops the server: the next store reopens from disk
    assert _ids_in(lite_uri, spec) == {r.id for r in expected}


def test_sync_and_async_stores_opening_one_collection_together_lose_nothing(
    lite_uri: str, opens: _Opens
) -> None:
    spec = _existing_database(lite_uri, "sync_async")
    opens.arm()
    sync_store = MilvusStore(spec, connection=ConnectionConfig(uri=lite_uri))
    async_store = AsyncMilvusStore(MilvusStore(spec, connection=ConnectionConfig(uri=lite_uri)))
    a, b = _records("a", 25), _records("b", 25)

    def through_async() -> list[str | int]:
        async def go() -> list[str | int]:
            try:
                return await async_store.upsert(b, progress=False)
            finally:
                await async_store.close()

        return asyncio.run(go())

    _run_together(lambda: sync_store.upsert(a, progress=False), through_async)
    assert sync_store.count() == 70
    assert opens.once(), opens.by_dir  # the engine opened each collection once
    sync_store.close()
    assert _ids_in(lite_uri, spec) == {r.id for r in _records("s", 20) + a + b}


def test_langchain_adds_from_two_threads_on_a_reopened_database_all_persist(
    lite_uri: str, opens: _Opens
) -> None:
    embedding = DeterministicFakeEmbedding(size=DIM)
    first = LangChainStore(embedding, collection_name="lc_first_use", uri=lite_uri)
    first.add_texts(["seed"], ids=["seed"])
    first.close()
    opens.arm()

    def add(prefix: str) -> LangChainStore:
        store = LangChainStore.from_existing_collection(
            embedding, collection_name="lc_first_use", uri=lite_uri
        )
        store.add_texts(
            [f"{prefix} {i}" for i in range(10)], ids=[f"{prefix}{i}" for i in range(10)]
        )
        return store

    stores = _run_together(lambda: add("a"), lambda: add("b"))
    assert opens.once(), opens.by_dir  # the engine opened each collection once
    for store in stores:
        assert isinstance(store, LangChainStore)
        store.close()
    again = LangChainStore.from_existing_collection(
        embedding, collection_name="lc_first_use", uri=lite_uri
    )
    try:
        ids = ["seed"] + [f"a{i}" for i in range(10)] + [f"b{i}" for i in range(10)]
        assert sorted(d.id or "" for d in again.get_by_ids(ids)) == sorted(ids)
    finally:
        again.close()


def test_the_catalog_lock_is_taken_once_per_database_object(lite_uri: str) -> None:
    spec = CollectionSpec(name="wrapped", dim=DIM)
    store = MilvusStore(spec, connection=ConnectionConfig(uri=lite_uri))
    store.count()
    from milvus_lite.server_manager import server_manager_instance

    db = server_manager_instance._servers[os.path.abspath(lite_uri)][1]
    wrapped = db.get_collection
    lite.serialize_catalog(db)  # a second call changes nothing
    assert db.get_collection is wrapped
    store.close()


def test_opening_one_collection_does_not_hold_up_calls_on_an_open_one(
    lite_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("hot", "cold"):
        _existing_database(lite_uri, name)
    opening = threading.Event()
    real = milvus_lite_collection.execute_recovery

    def slow_cold_replay(*args: Any, **kwargs: Any) -> Any:
        if str(kwargs.get("data_dir", args[0] if args else "")).endswith("cold"):
            opening.set()
            try:
                time.sleep(LATE * 3)  # a large collection's log replay, say
            finally:
                opening.clear()
        return real(*args, **kwargs)

    monkeypatch.setattr(milvus_lite_collection, "execute_recovery", slow_cold_replay)
    hot = MilvusStore(
        CollectionSpec(name="hot", dim=DIM), connection=ConnectionConfig(uri=lite_uri)
    )
    cold = MilvusStore(
        CollectionSpec(name="cold", dim=DIM), connection=ConnectionConfig(uri=lite_uri)
    )
    query = [1.0, 0.5, 0.25, 1.0]
    try:
        assert hot.search(query, k=1)  # open before the other one starts opening
        reader = threading.Thread(target=lambda: cold.search(query, k=1))
        reader.start()
        assert opening.wait(JOIN)
        inside = 0  # searches on the open collection begun and answered during the open
        while reader.is_alive():
            began_inside = opening.is_set()
            assert [h.record.id for h in hot.search(query, k=1)] == ["s0"]
            inside += began_inside and opening.is_set()
        reader.join()
        assert inside > 0
    finally:
        cold.close()
        hot.close()
