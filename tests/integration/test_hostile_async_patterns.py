"""Hostile async usage patterns: how notebooks, web servers and scripts really drive the stores.

A store used by ``asyncio.run`` twice and then synchronously, from two threads each with
its own event loop, created in one loop and used in another, hammered by ``gather`` with
overlapping ids, kept across a closed loop, closed twice, garbage-collected with a client
of a dead loop, and driven by a long sync call in one thread while async calls run in
another. Every call must answer what its sync twin answers (or raise a typed
``milvus_plugins`` error): no hang, no "attached to a different loop", no "Event loop is
closed", no lost or duplicated rows. Every scenario is bounded by a timeout.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import random
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import VectorStoreQuery

from milvus_plugins.core import (
    AsyncMilvusStore,
    CollectionNotFoundError,
    CollectionSpec,
    ConnectionConfig,
    MilvusPluginsError,
    MilvusStore,
    Record,
    RetryPolicy,
    WriteOptions,
)
from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

T = TypeVar("T")
DIM = 4
LIMIT = 60.0  # seconds any one scenario may take before it counts as a hang
BAD_WORDS = ("different loop", "event loop is closed", "attached to a different")


def vec(i: int) -> list[float]:
    """A vector exact in float32, distinct per index."""
    return [1.0, i / 64.0, (i % 8) / 8.0, 0.25]


def recs(ids: range | list[int], value: int = 0, prefix: str = "r") -> list[Record]:
    return [
        Record(id=f"{prefix}{i}", text=f"text {i}", vector=vec(i), metadata={"n": i, "v": value})
        for i in ids
    ]


def make_store(uri: str, name: str = "patterns") -> MilvusStore:
    return MilvusStore(
        CollectionSpec(name=name, dim=DIM),
        connection=ConnectionConfig(uri=uri),
        write=WriteOptions(batch_rows=50),
        retry=RetryPolicy(attempts=2, initial_backoff=0.01),
    )


def run(coro_fn: Callable[[], Awaitable[T]], timeout: float = LIMIT) -> T:
    """``asyncio.run`` of ``coro_fn()`` bounded by ``timeout`` (a hang fails the test)."""

    async def main() -> T:
        return await asyncio.wait_for(coro_fn(), timeout)

    return asyncio.run(main())


def in_thread(fn: Callable[[], T], timeout: float = LIMIT) -> Callable[[], T]:
    """Start ``fn`` in a thread; the returned callable joins it (bounded) and gives its
    result or re-raises its exception."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()

    def join() -> T:
        thread.join(timeout)
        assert not thread.is_alive(), "thread hung"
        if "error" in box:
            raise box["error"]
        return box["value"]  # type: ignore[no-any-return]

    return join


def check_not_loop_error(exc: BaseException) -> None:
    text = str(exc).lower()
    assert not any(word in text for word in BAD_WORDS), f"loop-bound failure: {exc!r}"
    assert isinstance(exc, MilvusPluginsError), f"untyped error: {exc!r}"


def snapshot(store: MilvusStore) -> dict[str, int]:
    rows = store.query()
    ids = [r.id for r in rows]
    assert len(ids) == len(set(ids)), f"duplicated rows: {sorted(ids)}"
    return {r.id: int(r.metadata["v"]) for r in rows}


@pytest.fixture
def store(lite_uri: str) -> Iterator[MilvusStore]:
    opened = make_store(lite_uri)
    yield opened
    opened.close()


@pytest.fixture(params=["lite", pytest.param("server", marks=pytest.mark.server)])
def any_store(request: pytest.FixtureRequest, lite_uri: str, collection_name: str) -> Any:
    if request.param == "lite":
        opened = make_store(lite_uri)
    else:
        server = request.getfixturevalue("milvus_server")
        opened = make_store(server.uri, collection_name)
    yield opened
    try:
        opened.drop()
    finally:
        opened.close()


# -- new loops, old stores ---------------------------------------------------------------


def test_asyncio_run_twice_then_sync_gives_the_sync_answers(store: MilvusStore) -> None:
    astore = AsyncMilvusStore(store)
    assert run(lambda: astore.upsert(recs(range(20)))) == [f"r{i}" for i in range(20)]
    hits = run(lambda: astore.search(vec(3), k=3))
    got = run(lambda: astore.get(["r1", "r2", "nope"]))
    assert run(astore.count) == 20
    assert [h.id for h in hits] == [h.id for h in store.search(vec(3), k=3)]
    assert [r.id for r in got] == [r.id for r in store.get(["r1", "r2", "nope"])]
    assert store.count() == 20
    assert run(lambda: astore.delete(["r0", "r1"])) == 2
    assert store.delete(["r0", "r1"]) == 0
    assert store.count() == 18 and run(astore.count) == 18
    run(astore.close)


def test_store_created_inside_one_loop_is_used_in_another(lite_uri: str) -> None:
    holder: dict[str, AsyncMilvusStore] = {}

    async def first() -> list[str]:
        holder["a"] = AsyncMilvusStore(make_store(lite_uri))
        return await holder["a"].upsert(recs(range(10)))

    assert run(first) == [f"r{i}" for i in range(10)]
    astore = holder["a"]

    async def second() -> tuple[int, list[str]]:
        hits = await astore.search(vec(4), k=2)
        return await astore.count(), [h.id for h in hits]

    count, ids = run(second)
    assert count == 10 and ids[0] == "r4"
    assert astore.sync.count() == 10

    async def leave() -> None:
        async with astore:
            assert await astore.count() == 10

    run(leave)


def test_loop_closed_while_the_store_holds_its_client_then_reused(store: MilvusStore) -> None:
    astore = AsyncMilvusStore(store)
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(asyncio.wait_for(astore.upsert(recs(range(8))), LIMIT))
        assert astore.runner._clients  # the client of that loop is held
    finally:
        loop.close()
    assert run(astore.count) == 8
    assert run(lambda: astore.upsert(recs(range(8, 12)))) == [f"r{i}" for i in range(8, 12)]
    assert store.count() == 12
    run(astore.close)
    run(astore.close)  # twice, from yet another loop
    assert store.count() == 12


def test_garbage_collected_loop_bound_client_raises_nothing(lite_uri: str) -> None:
    problems: list[str] = []
    previous = sys.unraisablehook

    def hook(info: Any) -> None:
        problems.append(f"{info.exc_type.__name__}: {info.exc_value}")

    sys.unraisablehook = hook
    try:
        for _ in range(2):
            sync = make_store(lite_uri)
            astore = AsyncMilvusStore(sync)
            written = run(functools.partial(astore.upsert, recs(range(5))))
            assert written == [f"r{i}" for i in range(5)]
            del astore
            gc.collect()
            sync.close()
            del sync
            gc.collect()
    finally:
        sys.unraisablehook = previous
    assert problems == []
    with make_store(lite_uri) as again:
        assert again.count() == 5


# -- threads, each with its own loop -----------------------------------------------------


def test_two_threads_each_running_its_own_loop_at_once(any_store: MilvusStore) -> None:
    astore = AsyncMilvusStore(any_store)
    any_store.upsert(recs([999]))
    barrier = threading.Barrier(2, timeout=LIMIT)

    def worker(base: int) -> int:
        async def main() -> int:
            barrier.wait()
            for chunk in range(4):
                start = base + chunk * 10
                ids = await astore.upsert(recs(range(start, start + 10), value=base))
                assert ids == [f"r{i}" for i in range(start, start + 10)]
                got = await astore.get(ids)
                assert sorted(r.id for r in got) == sorted(ids)
                hits = await astore.search(vec(999), k=1)
                assert hits[0].id == "r999"
            await astore.close()  # drops the other loop's client too: it must reconnect
            return await astore.count()

        return run(main)

    joins = [in_thread(functools.partial(worker, b)) for b in (0, 100)]
    results = [join() for join in joins]
    assert all(r >= 41 for r in results)
    state = snapshot(any_store)
    assert len(state) == 81
    assert all(state[f"r{i}"] == 0 and state[f"r{100 + i}"] == 100 for i in range(40))


def test_sync_and_async_calls_interleaved_from_different_threads(store: MilvusStore) -> None:
    astore = AsyncMilvusStore(store)
    errors: list[BaseException] = []

    def sync_side() -> None:
        for chunk in range(6):
            start = 1000 + chunk * 10
            assert store.upsert(recs(range(start, start + 10), 1)) == [
                f"r{i}" for i in range(start, start + 10)
            ]
            assert len(store.get([f"r{start}"])) == 1
            store.search(vec(start), k=2)

    async def async_side() -> None:
        for chunk in range(6):
            start = chunk * 10
            await astore.upsert(recs(range(start, start + 10), 2))
            assert len(await astore.get([f"r{start}"])) == 1
            await astore.search(vec(start), k=2)
            await astore.count()

    joins = [in_thread(sync_side), in_thread(lambda: run(async_side))]
    for join in joins:
        try:
            join()
        except BaseException as exc:
            errors.append(exc)
    assert errors == []
    state = snapshot(store)
    assert len(state) == 120
    assert {v for k, v in state.items() if int(k[1:]) >= 1000} == {1}
    assert {v for k, v in state.items() if int(k[1:]) < 1000} == {2}
    run(astore.close)


def test_long_sync_write_in_one_thread_while_async_calls_run_in_another(
    store: MilvusStore,
) -> None:
    astore = AsyncMilvusStore(store)
    store.upsert(recs(range(5)))
    started = threading.Event()

    def long_write() -> list[str]:
        started.set()
        return store.upsert(recs(range(100, 2100), 7))

    join_writer = in_thread(long_write)
    assert started.wait(LIMIT)

    async def readers() -> list[int]:
        counts = []
        for _ in range(10):
            assert [r.id for r in await astore.get(["r1", "r2"])] == ["r1", "r2"]
            assert (await astore.search(vec(1), k=1))[0].id == "r1"
            counts.append(await astore.count())
        await astore.upsert(recs(range(5, 10)))
        return counts

    counts = run(readers)
    written = join_writer()
    assert written == [f"r{i}" for i in range(100, 2100)]
    assert counts == sorted(counts) and all(c in (5, 2005) or 5 <= c <= 2005 for c in counts)
    assert store.count() == 2010
    assert len(snapshot(store)) == 2010
    run(astore.close)


def test_async_close_from_one_loop_while_another_loop_is_mid_use(store: MilvusStore) -> None:
    """A web server's shutdown hook closes the store (its loop) while a worker thread's
    loop still serves requests: that loop's calls keep working or raise typed errors."""
    astore = AsyncMilvusStore(store)
    store.upsert(recs(range(10)))
    running, closed = threading.Event(), threading.Event()
    outcomes: list[str] = []

    async def serve() -> None:
        for i in range(40):
            try:
                got = await astore.get([f"r{i % 10}"])
                outcomes.append("ok" if [r.id for r in got] == [f"r{i % 10}"] else "wrong")
            except MilvusPluginsError as exc:
                check_not_loop_error(exc)
                outcomes.append("typed")
            running.set()
            if i == 10:
                await asyncio.to_thread(closed.wait, LIMIT)

    join = in_thread(lambda: run(serve))
    assert running.wait(LIMIT)
    run(astore.close)
    closed.set()
    join()
    assert len(outcomes) == 40 and "wrong" not in outcomes
    assert outcomes[-1] == "ok"  # it reconnects afterwards
    assert run(astore.count) == 10


# -- gather: many concurrent calls on one store ------------------------------------------


async def test_gather_of_overlapping_writes_reads_and_deletes_is_serialisable(
    any_store: MilvusStore,
) -> None:
    astore = AsyncMilvusStore(any_store)
    pool = list(range(12))  # every writer writes all of these ids, with its own value
    doomed = list(range(500, 530))  # written first; deleted concurrently
    await astore.upsert(recs(pool + doomed, value=-1))
    writers = 40
    rng = random.Random(5)

    async def write(w: int) -> list[str]:
        ids = pool[:]
        rng.shuffle(ids)
        return await astore.upsert(recs(ids, value=w))

    async def read(_: int) -> list[Record]:
        return await astore.get([f"r{i}" for i in pool + doomed])

    async def delete(d: int) -> int:
        return await astore.delete([f"r{i}" for i in doomed[d * 3 : d * 3 + 3]])

    calls: list[Awaitable[Any]] = [write(w) for w in range(writers)]
    calls += [read(i) for i in range(10)] + [delete(d) for d in range(10)]
    order = list(range(len(calls)))
    rng.shuffle(order)
    results = await asyncio.wait_for(asyncio.gather(*(calls[i] for i in order)), LIMIT)
    by_call = dict(zip(order, results, strict=True))
    for w in range(writers):
        assert sorted(by_call[w]) == sorted(f"r{i}" for i in pool)
    for i in range(writers, writers + 10):
        got: list[Record] = by_call[i]
        ids = [r.id for r in got]
        assert len(ids) == len(set(ids)), f"a read saw duplicates: {ids}"
        if any_store.session.connection.is_lite:
            # (Milvus 2.3.5's own upsert is a delete then an insert: a read between the two
            # misses the id on the server, with the sync store too; not checked there.)
            assert {f"r{i}" for i in pool} <= set(ids)
        assert all(r.metadata["v"] in range(-1, writers) for r in got)
    assert sum(by_call[i] for i in range(writers + 10, writers + 20)) == len(doomed)
    state = await asyncio.to_thread(snapshot, any_store)
    assert sorted(state) == sorted(f"r{i}" for i in pool)
    assert set(state.values()) <= set(range(writers))
    assert await astore.count() == len(pool) == any_store.count()
    await astore.close()


# -- close semantics ---------------------------------------------------------------------


async def test_core_double_close_and_use_after_close_reconnects(store: MilvusStore) -> None:
    astore = AsyncMilvusStore(store)
    await astore.upsert(recs(range(6)))
    await astore.close()
    await astore.close()
    store.close()
    store.close()
    assert await asyncio.wait_for(astore.count(), LIMIT) == 6
    assert [r.id for r in await asyncio.wait_for(astore.get(["r2"]), LIMIT)] == ["r2"]
    assert store.count() == 6
    async with astore:
        await astore.upsert(recs(range(6, 8)))
    async with astore:  # re-entered after leaving: reconnects
        assert await asyncio.wait_for(astore.count(), LIMIT) == 8
    assert store.count() == 8


def test_langchain_asyncio_run_twice_then_sync_and_close_twice(lite_uri: str) -> None:
    vs = LangChainStore(
        DeterministicFakeEmbedding(size=DIM), uri=lite_uri, collection_name="lc_patterns"
    )
    texts = [f"note {i}" for i in range(12)]
    ids = [f"d{i}" for i in range(12)]
    metas = [{"n": i} for i in range(12)]
    assert run(lambda: vs.aadd_texts(texts, metas, ids=ids)) == ids
    docs = run(lambda: vs.asimilarity_search("note 3", k=3))
    scored = run(lambda: vs.asimilarity_search_with_score("note 3", k=3))
    mmr = run(lambda: vs.amax_marginal_relevance_search("note 3", k=3, fetch_k=10))
    retrieved = run(lambda: vs.as_retriever(search_kwargs={"k": 2}).ainvoke("note 5"))
    assert [d.id for d in docs] == [d.id for d in vs.similarity_search("note 3", k=3)]
    assert [d.id for d, _ in scored] == [
        d.id for d, _ in vs.similarity_search_with_score("note 3", k=3)
    ]
    assert [d.id for d in mmr] == [
        d.id for d in vs.max_marginal_relevance_search("note 3", k=3, fetch_k=10)
    ]
    assert [d.id for d in retrieved] == [
        d.id for d in vs.as_retriever(search_kwargs={"k": 2}).invoke("note 5")
    ]
    assert run(lambda: vs.adelete(["d0", "d1"])) in (True, None)
    got = run(lambda: vs.aget_by_ids(ids))
    assert sorted(str(d.id) for d in got) == sorted(ids[2:])
    run(vs.aclose)
    run(vs.aclose)
    vs.close()
    vs.close()
    assert len(vs.get_by_ids(ids)) == 10  # reconnects after close
    assert len(run(lambda: vs.aget_by_ids(ids))) == 10
    vs.close()


def test_langchain_two_threads_each_with_a_loop(lite_uri: str) -> None:
    vs = LangChainStore(DeterministicFakeEmbedding(size=DIM), uri=lite_uri, collection_name="lc2")

    def worker(w: int) -> list[str]:
        async def main() -> list[str]:
            ids = [f"w{w}-{i}" for i in range(10)]
            assert await vs.aadd_texts([f"w{w} t{i}" for i in range(10)], ids=ids) == ids
            docs = await vs.asimilarity_search(f"w{w} t3", k=1)
            assert docs[0].id == f"w{w}-3"
            return sorted(str(d.id) for d in await vs.aget_by_ids(ids))

        return run(main)

    joins = [in_thread(functools.partial(worker, w)) for w in range(2)]
    assert [join() for join in joins] == [sorted(f"w{w}-{i}" for i in range(10)) for w in (0, 1)]
    assert len(vs.get_by_ids([f"w{w}-{i}" for w in (0, 1) for i in range(10)])) == 20
    vs.close()


def llama_nodes(ids: range) -> list[TextNode]:
    return [
        TextNode(id_=f"n{i}", text=f"text {i}", metadata={"n": i}, embedding=vec(i)) for i in ids
    ]


def test_llama_index_asyncio_run_twice_then_sync_and_close(lite_uri: str) -> None:
    vs = LlamaStore(uri=lite_uri, collection_name="li_patterns", dim=DIM)
    assert run(lambda: vs.async_add(llama_nodes(range(10)))) == [f"n{i}" for i in range(10)]
    query = VectorStoreQuery(query_embedding=vec(4), similarity_top_k=3)
    assert run(lambda: vs.aquery(query)).ids == vs.query(query).ids
    got = run(lambda: vs.aget_nodes(node_ids=["n1", "n2"]))
    assert sorted(n.node_id for n in got) == ["n1", "n2"]
    run(lambda: vs.adelete_nodes(["n1"]))
    assert sorted(n.node_id for n in vs.get_nodes(node_ids=["n1", "n2"])) == ["n2"]
    run(vs.aclose)
    run(vs.aclose)
    vs.close()
    assert run(lambda: vs.aquery(query)).ids == vs.query(query).ids
    run(vs.aclear)
    assert vs.get_nodes(node_ids=[f"n{i}" for i in range(10)]) == []
    vs.close()


def test_many_asyncio_runs_without_closing(any_store: MilvusStore) -> None:
    """A script calling ``asyncio.run`` per request, never closing: event loops come and go
    (and Python reuses their ids); each run must answer like the sync store."""
    astore = AsyncMilvusStore(any_store)
    any_store.upsert(recs(range(10)))
    expected = [h.id for h in any_store.search(vec(2), k=3)]
    for i in range(12):
        assert [h.id for h in run(lambda: astore.search(vec(2), k=3))] == expected, i
        assert run(astore.count) == 10
        gc.collect()
    run(astore.close)


def test_sync_close_while_other_threads_write_sync_and_async(store: MilvusStore) -> None:
    """A shutdown path closes the store while a sync thread and an async loop still write:
    each write succeeds or raises a typed error, and no row is lost or duplicated."""
    astore = AsyncMilvusStore(store)
    store.upsert(recs(range(5)))
    stop = threading.Event()
    done: list[list[str]] = []
    failed: list[BaseException] = []

    async def async_writer() -> None:
        k = 0
        while not stop.is_set():
            try:
                done.append(await astore.upsert(recs(range(k * 10, k * 10 + 10))))
            except Exception as exc:
                failed.append(exc)
            k += 1

    def sync_writer() -> None:
        k = 0
        while not stop.is_set():
            start = 5000 + k * 10
            try:
                done.append(store.upsert(recs(range(start, start + 10))))
            except Exception as exc:
                failed.append(exc)
            k += 1

    joins = [in_thread(lambda: run(async_writer)), in_thread(sync_writer)]
    for _ in range(6):
        store.close()
        run(astore.close)
    stop.set()
    for join in joins:
        join()
    for exc in failed:
        check_not_loop_error(exc)
    state = snapshot(store)
    assert {i for ids in done for i in ids} <= set(state)
    assert store.count() == len(state)


async def test_llama_index_gather_of_adds_queries_and_deletes(lite_uri: str) -> None:
    vs = LlamaStore(uri=lite_uri, collection_name="li_gather", dim=DIM)
    await vs.async_add(llama_nodes(range(40)))
    query = VectorStoreQuery(query_embedding=vec(7), similarity_top_k=1)
    calls: list[Awaitable[Any]] = [vs.async_add(llama_nodes(range(i, 40, 8))) for i in range(8)]
    calls += [vs.aquery(query) for _ in range(8)]
    calls += [vs.aget_nodes(node_ids=[f"n{i}" for i in range(40)]) for _ in range(4)]
    calls += [vs.adelete_nodes([f"n{i}"]) for i in range(30, 40)]
    results = await asyncio.wait_for(asyncio.gather(*calls), LIMIT)
    for result in results[8:16]:
        assert result.ids in (["n7"],)
    for got in results[16:20]:
        ids = [n.node_id for n in got]
        assert len(ids) == len(set(ids)) and {f"n{i}" for i in range(30)} <= set(ids)
    # each deleted id may have been re-added by a later add (serial order), never twice
    final = await vs.aget_nodes(node_ids=[f"n{i}" for i in range(40)])
    ids = [n.node_id for n in final]
    assert len(ids) == len(set(ids)) and {f"n{i}" for i in range(30)} <= set(ids)
    assert vs._store.count() == len(ids)
    await vs.aclose()


# -- defects -----------------------------------------------------------------------------


# DEFECT (fixed): two concurrent clear() each reported every row deleted (count, then delete,
# not in one write turn): gather(clear(), clear()) on 10 rows returned [10, 10]; expected sum 10
async def test_concurrent_clears_count_each_row_once(store: MilvusStore) -> None:
    astore = AsyncMilvusStore(store)
    await astore.upsert(recs(range(10)))
    assert await astore.delete(["nope"]) == 0  # warm: connected, collection open
    sums = []
    for _ in range(5):  # one round may happen to run the two one after the other
        await astore.upsert(recs(range(10)))
        counts = await asyncio.wait_for(asyncio.gather(astore.clear(), astore.clear()), LIMIT)
        assert await astore.count() == 0
        sums.append(sum(counts))
    await astore.close()
    assert sums == [10] * 5


# DEFECT (fixed): on Milvus Lite a drop() concurrent with a multi-batch upsert() ran inside
# a batch: the upsert raised WriteError "WAL already closed" (and the store could stay broken);
# now the drop takes a write's turn: it lands between batches, and the upsert then says that
# the collection is gone (CollectionNotFoundError: its rows went with it), or completes.
async def test_drop_concurrent_with_an_upsert_is_serialised_on_lite(store: MilvusStore) -> None:
    astore = AsyncMilvusStore(store)
    await astore.upsert(recs(range(3)))
    assert await astore.count() == 3
    outcome = await asyncio.wait_for(
        asyncio.gather(astore.upsert(recs(range(300))), astore.drop(), return_exceptions=True),
        LIMIT,
    )
    written, dropped = outcome
    assert dropped is None, dropped
    assert not isinstance(written, BaseException) or isinstance(written, CollectionNotFoundError), (
        written
    )
    assert store.count() in (0, 300) or isinstance(written, CollectionNotFoundError)
    # The store stays usable: the next write recreates the collection when it is gone.
    await astore.upsert(recs(range(5)))
    assert store.count() in (5, 300)
    await astore.close()
