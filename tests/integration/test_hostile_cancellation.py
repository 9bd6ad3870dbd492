"""Hostile cancellation: what a careless developer does with async calls (cancels them).

Every scenario runs on real Milvus Lite. Cancellation is made deterministic with gates:
an async model that awaits an ``asyncio.Event``, or a client method (the one the worker
thread calls) that cancels the caller's task and then waits on a ``threading.Event``.
Each checks that the cancel propagates as ``CancelledError``, that the same store stays
usable (sync and async), that rows are whole and re-runs exact, and that nothing keeps
running (model calls, rows landing) after the caller was told it was cancelled.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.embeddings import Embeddings
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import VectorStoreQuery

from milvus_plugins.core import (
    AsyncMilvusStore,
    CollectionSpec,
    ConnectionConfig,
    MilvusStore,
    Record,
    RetryPolicy,
    WriteOptions,
)
from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

DIM = 4
BATCH = 20
N = 60  # three chunks of BATCH


def vec(text: str) -> list[float]:
    """A vector exact in float32, distinct per text index (``"text 7"`` -> 7)."""
    last = text.split()[-1]
    if not last.isdigit():
        return [0.5, 0.5, 0.5, 0.5]  # e.g. the store's embedding fingerprint probe
    i = int(last)
    return [1.0, i / 64.0, (i % 8) / 8.0, 0.25]


def texts(n: int = N, start: int = 0) -> list[str]:
    return [f"text {i}" for i in range(start, start + n)]


def records(n: int = N, start: int = 0) -> list[Record]:
    return [
        Record(id=f"r{i}", text=f"text {i}", metadata={"n": i, "tag": f"t{i % 3}"})
        for i in range(start, start + n)
    ]


def plain_embed(batch: list[str]) -> list[list[float]]:
    return [vec(t) for t in batch]


def make_store(uri: str) -> MilvusStore:
    return MilvusStore(
        CollectionSpec(name="cancel_docs", dim=DIM),
        connection=ConnectionConfig(uri=uri),
        write=WriteOptions(batch_rows=BATCH),
        retry=RetryPolicy(attempts=2, initial_backoff=0.01),
    )


class GatedModel:
    """An async model; call number ``block`` waits for ``gate`` (or raises ``raises``)."""

    def __init__(self, block: int, raises: BaseException | None = None) -> None:
        self.block = block
        self.raises = raises
        self.calls: list[list[str]] = []
        self.finished = 0
        self.cancelled = 0
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()

    async def embed(self, batch: list[str]) -> list[list[float]]:
        self.calls.append(list(batch))
        if len(self.calls) == self.block:
            self.entered.set()
            if self.raises is not None:
                raise self.raises
            try:
                await self.gate.wait()
            except asyncio.CancelledError:
                self.cancelled += 1
                raise
        await asyncio.sleep(0)
        self.finished += 1
        return plain_embed(batch)


class ThreadGate:
    """Wrap a sync client's write methods: call number ``at`` cancels ``task`` (on its
    loop), then waits (up to ``hold`` s) for ``release`` before doing the real call."""

    def __init__(self, client: Any, methods: tuple[str, ...], at: int, hold: float = 0.5):
        self.at = at
        self.hold = hold
        self.count = 0
        self.done_after_cancel = threading.Event()
        self.release = threading.Event()
        self.task: asyncio.Task[Any] | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        for name in methods:
            setattr(client, name, self._wrap(getattr(client, name)))

    def _wrap(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def method(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            if self.count == self.at and self.task is not None and self.loop is not None:
                self.loop.call_soon_threadsafe(self.task.cancel)
                self.release.wait(self.hold)
                try:
                    return original(*args, **kwargs)
                finally:
                    self.done_after_cancel.set()
            return original(*args, **kwargs)

        return method

    def arm(self, task: asyncio.Task[Any]) -> None:
        self.task = task
        self.loop = asyncio.get_running_loop()


async def rows_reach(astore: AsyncMilvusStore, rows: int, deadline: float = 20.0) -> None:
    """Wait until ``rows`` rows are readable (a write step has finished): the cancel
    then lands at a known point, not in a race with the worker thread."""
    end = time.monotonic() + deadline
    while (await astore.count()) < rows:
        assert time.monotonic() < end, f"{rows} rows never became readable"
        await asyncio.sleep(0.02)


async def settle(seconds: float = 0.4) -> None:
    """Let anything still running in the background finish (or show itself)."""
    await asyncio.sleep(seconds)


def check_rows(got: list[Record], start: int, stop: int) -> None:
    """``got`` holds exactly r<start>..r<stop-1>, whole: text, metadata and vector."""
    by_id = {r.id: r for r in got}
    assert sorted(by_id) == sorted(f"r{i}" for i in range(start, stop))
    assert len(got) == stop - start  # no duplicates
    for i in range(start, stop):
        row = by_id[f"r{i}"]
        assert row.text == f"text {i}"
        assert row.metadata == {"n": i, "tag": f"t{i % 3}"}
        assert row.vector is not None
        assert [float(x) for x in row.vector] == vec(row.text)


async def all_rows(astore: AsyncMilvusStore) -> list[Record]:
    return await astore.query(include_vectors=True)


async def store_still_works(store: MilvusStore, astore: AsyncMilvusStore, base: int) -> None:
    """The same store objects: async and sync writes, reads, searches and deletes."""
    assert await astore.count() == base
    await astore.upsert(records(2, start=500), embed=plain_embed)
    hits = await astore.search(vec("text 500"), k=1)
    assert [h.record.id for h in hits] == ["r500"]
    got = await astore.get(["r500", "r501"], include_vectors=True)
    check_rows(got, 500, 502)
    assert await astore.delete(ids=["r500", "r501"]) == 2
    assert await astore.count() == base
    store.upsert(records(2, start=600), embed=plain_embed)
    assert [h.record.id for h in store.search(vec("text 601"), k=1)] == ["r601"]
    check_rows(store.get(["r600", "r601"], include_vectors=True), 600, 602)
    assert store.delete(ids=["r600", "r601"]) == 2
    assert store.count() == base


def fresh_count(uri: str) -> int:
    other = make_store(uri)
    try:
        return other.count()
    finally:
        other.close()


@pytest.fixture
async def pair(lite_uri: str) -> Any:
    store = make_store(lite_uri)
    astore = AsyncMilvusStore(store)
    yield store, astore
    await astore.close()
    store.close()


# -- core async streamed upsert -----------------------------------------------------


async def test_cancel_while_next_chunk_is_embedded_ahead(pair: Any, lite_uri: str) -> None:
    store, astore = pair
    model = GatedModel(block=2)
    task = asyncio.ensure_future(astore.upsert(records(), embed=model.embed))
    await asyncio.wait_for(model.entered.wait(), 20)
    await rows_reach(astore, BATCH)  # chunk 1 written; the call waits for chunk 2
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()
    await settle()
    # The ahead embedding was cancelled with the call, and no later chunk was embedded.
    assert len(model.calls) == 2 and model.finished == 1 and model.cancelled == 1
    # Chunk 1 was written (whole), chunk 2 never: nothing lands after a second wait.
    check_rows(await all_rows(astore), 0, BATCH)
    await settle()
    assert await astore.count() == BATCH
    # The same add re-run gives exactly the rows asked for.
    assert await astore.upsert(records(), embed=plain_embed) == [f"r{i}" for i in range(N)]
    check_rows(await all_rows(astore), 0, N)
    await store_still_works(store, astore, N)
    assert fresh_count(lite_uri) == N


async def test_wait_for_timeout_with_a_slow_async_model(pair: Any) -> None:
    store, astore = pair
    calls: list[int] = []

    async def slow(batch: list[str]) -> list[list[float]]:
        calls.append(len(batch))
        if len(calls) >= 2:
            await asyncio.sleep(30)
        return plain_embed(batch)

    await astore.ensure_collection()  # the deadline covers the write, not the creation
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(astore.upsert(records(), embed=slow), timeout=2.0)
    made = len(calls)
    await settle()
    assert len(calls) == made == 2  # no chunk embedded after the timeout
    assert await astore.count() == BATCH
    check_rows(await all_rows(astore), 0, BATCH)
    assert await astore.upsert(records(), embed=plain_embed) == [f"r{i}" for i in range(N)]
    check_rows(await all_rows(astore), 0, N)
    await store_still_works(store, astore, N)


async def test_cancel_during_the_first_embedding_creates_nothing(pair: Any) -> None:
    store, astore = pair
    model = GatedModel(block=1)
    task = asyncio.ensure_future(astore.upsert(records(), embed=model.embed))
    await asyncio.wait_for(model.entered.wait(), 20)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await settle()
    assert len(model.calls) == 1 and model.cancelled == 1
    assert await astore.exists() is False  # nothing was created for a cancelled call
    assert store.exists() is False
    assert await astore.upsert(records(), embed=plain_embed) == [f"r{i}" for i in range(N)]
    check_rows(await all_rows(astore), 0, N)
    await store_still_works(store, astore, N)


async def test_model_raising_cancelled_error_itself(pair: Any) -> None:
    store, astore = pair
    model = GatedModel(block=2, raises=asyncio.CancelledError())
    task = asyncio.ensure_future(astore.upsert(records(), embed=model.embed))
    with pytest.raises(asyncio.CancelledError):
        await task
    await settle()
    assert len(model.calls) == 2  # the third chunk is never embedded
    check_rows(await all_rows(astore), 0, BATCH)
    assert await astore.upsert(records(), embed=plain_embed) == [f"r{i}" for i in range(N)]
    check_rows(await all_rows(astore), 0, N)
    await store_still_works(store, astore, N)


class Abort(BaseException):
    """A KeyboardInterrupt-like BaseException (not an Exception)."""


async def test_async_model_raising_a_base_exception(pair: Any) -> None:
    store, astore = pair
    model = GatedModel(block=3, raises=Abort("stop"))
    with pytest.raises(Abort):  # as itself: not wrapped in a WriteError
        await astore.upsert(records(), embed=model.embed)
    await settle()
    assert len(model.calls) == 3
    check_rows(await all_rows(astore), 0, 2 * BATCH)
    assert await astore.upsert(records(), embed=plain_embed) == [f"r{i}" for i in range(N)]
    check_rows(await all_rows(astore), 0, N)
    await store_still_works(store, astore, N)


def test_sync_model_raising_keyboard_interrupt_in_the_embed_ahead_worker(
    pair: Any, lite_uri: str
) -> None:
    store, astore = pair
    calls: list[str] = []
    lock = threading.Lock()

    def model(batch: list[str]) -> list[list[float]]:
        with lock:
            calls.append(threading.current_thread().name)
            number = len(calls)
        if number == 2:  # chunk 2: embedded ahead, in a worker thread
            raise KeyboardInterrupt
        time.sleep(0.05)
        return plain_embed(batch)

    with pytest.raises(KeyboardInterrupt):
        store.upsert(records(), embed=model)
    assert calls[1].startswith("milvus-embed")  # it did run in the embed-ahead worker
    time.sleep(0.4)
    assert len(calls) == 2
    check_rows(store.query(include_vectors=True), 0, BATCH)
    assert store.upsert(records(), embed=plain_embed) == [f"r{i}" for i in range(N)]
    check_rows(store.query(include_vectors=True), 0, N)
    asyncio.run(_works_on_a_new_loop(store, astore))
    assert fresh_count(lite_uri) == N


async def _works_on_a_new_loop(store: MilvusStore, astore: AsyncMilvusStore) -> None:
    await store_still_works(store, astore, N)
    await astore.close()


def test_sync_write_interrupted_while_the_next_chunk_embeds_ahead(pair: Any) -> None:
    store, _ = pair
    calls: list[int] = []
    release = threading.Event()

    def model(batch: list[str]) -> list[list[float]]:
        calls.append(len(batch))
        if len(calls) == 3:
            release.wait(3)  # chunk 3, embedded ahead while chunk 2 is written
        return plain_embed(batch)

    client = store.runner.client
    original = client.insert
    count = [0]

    def insert(*args: Any, **kwargs: Any) -> Any:
        count[0] += 1
        if count[0] == 2:
            raise KeyboardInterrupt  # Ctrl-C while chunk 2 is written
        return original(*args, **kwargs)

    client.insert = insert
    with pytest.raises(KeyboardInterrupt):
        store.upsert(records(), embed=model)
    release.set()
    time.sleep(0.4)
    assert len(calls) == 3  # the worker finished its chunk, and started no other
    del client.insert
    check_rows(store.query(include_vectors=True), 0, BATCH)
    assert store.upsert(records(), embed=plain_embed) == [f"r{i}" for i in range(N)]
    check_rows(store.query(include_vectors=True), 0, N)


# -- rows landing after the caller was told "cancelled" -------------------------------


# DEFECT (fixed): a write batch in its worker thread landed after the caller got CancelledError
async def test_no_rows_land_after_cancelled_error(pair: Any) -> None:
    store, astore = pair
    await astore.count()  # connect first
    gate = ThreadGate(store.runner.client, ("insert", "upsert"), at=2)
    task = asyncio.ensure_future(astore.upsert(records(), embed=plain_embed))
    gate.arm(task)
    with pytest.raises(asyncio.CancelledError):
        await task
    seen = await astore.count()
    gate.release.set()
    await asyncio.to_thread(gate.done_after_cancel.wait, 5)
    await settle()
    assert await astore.count() == seen  # nothing lands after the caller was told


async def test_cancelled_mid_write_lands_at_most_the_batch_in_flight(pair: Any) -> None:
    store, astore = pair
    await astore.count()
    gate = ThreadGate(store.runner.client, ("insert", "upsert"), at=2)
    task = asyncio.ensure_future(astore.upsert(records(), embed=plain_embed))
    gate.arm(task)
    with pytest.raises(asyncio.CancelledError):
        await task
    gate.release.set()
    await asyncio.to_thread(gate.done_after_cancel.wait, 5)
    await settle()
    assert gate.count == 2  # no third batch was ever sent
    got = await all_rows(astore)
    assert len(got) in (BATCH, 2 * BATCH)  # the cancelled batch: whole or absent
    check_rows(got, 0, len(got))
    await astore.upsert(records(), embed=plain_embed)
    check_rows(await all_rows(astore), 0, N)
    await store_still_works(store, astore, N)


async def test_cancelled_delete_is_all_or_nothing_and_rerun_is_exact(pair: Any) -> None:
    store, astore = pair
    await astore.upsert(records(), embed=plain_embed)
    gate = ThreadGate(store.runner.client, ("delete",), at=1)
    doomed = [f"r{i}" for i in range(10)]
    task = asyncio.ensure_future(astore.delete(ids=doomed))
    gate.arm(task)
    with pytest.raises(asyncio.CancelledError):
        await task
    gate.release.set()
    await asyncio.to_thread(gate.done_after_cancel.wait, 5)
    await settle()
    left = await astore.count()
    assert left in (N, N - 10)
    assert await astore.delete(ids=doomed) == left - (N - 10)
    check_rows(await all_rows(astore), 10, N)
    await store_still_works(store, astore, N - 10)


async def test_cancelled_search_leaves_the_store_usable(pair: Any) -> None:
    store, astore = pair
    await astore.upsert(records(), embed=plain_embed)
    client = astore.client
    original = client.search
    entered, gate = asyncio.Event(), asyncio.Event()

    async def search(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        await gate.wait()
        return await original(*args, **kwargs)

    client.search = search
    task = asyncio.ensure_future(astore.search(vec("text 7"), k=3))
    await asyncio.wait_for(entered.wait(), 20)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    del client.search
    hits = await astore.search(vec("text 7"), k=1)
    assert [h.record.id for h in hits] == ["r7"]
    check_rows(await all_rows(astore), 0, N)
    await store_still_works(store, astore, N)


async def test_wait_for_on_two_concurrent_writes_keeps_ids_unique(pair: Any) -> None:
    store, astore = pair
    model = GatedModel(block=2)
    first = asyncio.ensure_future(astore.upsert(records(), embed=model.embed))
    await asyncio.wait_for(model.entered.wait(), 20)
    await rows_reach(astore, BATCH)
    # Another write of the same ids, while the first is stuck, then the first is cancelled.
    second = asyncio.ensure_future(astore.upsert(records(), embed=plain_embed))
    await asyncio.sleep(0.05)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await second == [f"r{i}" for i in range(N)]
    await settle()
    check_rows(await all_rows(astore), 0, N)
    await store_still_works(store, astore, N)


# -- event loop hygiene ------------------------------------------------------------------


def _run_clean(main: Callable[[], Any]) -> list[str]:
    """Run ``main()`` in its own loop; answer every loop error and RuntimeWarning."""
    problems: list[str] = []

    async def wrapped() -> None:
        asyncio.get_running_loop().set_exception_handler(
            lambda loop, ctx: problems.append(str(ctx.get("message")))
        )
        await main()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        asyncio.run(wrapped())
        gc.collect()
    problems += [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    return problems


@pytest.mark.parametrize("kind", ["async-model", "sync-model", "raises-cancelled"])
def test_cancelled_streamed_write_leaves_no_pending_task_or_coroutine(
    lite_uri: str, kind: str
) -> None:
    store = make_store(lite_uri)
    sync_calls: list[int] = []
    sync_gate = threading.Event()

    def sync_model(batch: list[str]) -> list[list[float]]:
        sync_calls.append(len(batch))
        if len(sync_calls) == 2:
            sync_gate.wait(3)
        return plain_embed(batch)

    async def main() -> None:
        astore = AsyncMilvusStore(store)
        if kind == "sync-model":
            task = asyncio.ensure_future(astore.upsert(records(), embed=sync_model))
            await rows_reach(astore, BATCH)
            task.cancel()
        elif kind == "raises-cancelled":
            model = GatedModel(block=2, raises=asyncio.CancelledError())
            task = asyncio.ensure_future(astore.upsert(records(), embed=model.embed))
        else:
            model = GatedModel(block=2)
            task = asyncio.ensure_future(astore.upsert(records(), embed=model.embed))
            await rows_reach(astore, BATCH)
            task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        sync_gate.set()
        await settle()
        assert len(sync_calls) <= 2
        await astore.close()

    problems = _run_clean(main)
    assert problems == []
    assert store.count() == BATCH
    check_rows(store.query(include_vectors=True), 0, BATCH)
    store.close()


# -- LangChain -----------------------------------------------------------------------------


class GatedLangChain(Embeddings):
    """A LangChain model whose async calls can be held (and counted)."""

    def __init__(self, block_docs: int = 0, block_query: bool = False) -> None:
        self.block_docs = block_docs
        self.block_query = block_query
        self.doc_calls = 0
        self.query_calls = 0
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return plain_embed(texts)

    def embed_query(self, text: str) -> list[float]:
        return vec(text)

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts[0].startswith("text "):
            return plain_embed(texts)  # the store's fingerprint probe: not counted
        self.doc_calls += 1
        if self.doc_calls == self.block_docs:
            self.entered.set()
            await self.gate.wait()
        return plain_embed(texts)

    async def aembed_query(self, text: str) -> list[float]:
        self.query_calls += 1
        if self.block_query:
            self.entered.set()
            await self.gate.wait()
        return vec(text)


def lc_store(uri: str, model: Embeddings) -> LangChainStore:
    return LangChainStore(model, uri=uri, collection_name="lc_cancel", batch_size=BATCH)


async def lc_ids(vs: LangChainStore) -> list[str]:
    docs = await vs.aget_by_ids([f"r{i}" for i in range(N)])
    for doc in docs:
        i = int(str(doc.id)[1:])
        assert doc.page_content == f"text {i}"
        assert doc.metadata == {"n": i}
    return sorted(str(d.id) for d in docs)


def lc_args(start: int = 0, n: int = N) -> dict[str, Any]:
    return {
        "texts": texts(n, start),
        "metadatas": [{"n": i} for i in range(start, start + n)],
        "ids": [f"r{i}" for i in range(start, start + n)],
    }


async def test_langchain_aadd_texts_cancelled_mid_stream(lite_uri: str) -> None:
    model = GatedLangChain(block_docs=2)
    vs = lc_store(lite_uri, model)
    task = asyncio.ensure_future(vs.aadd_texts(**lc_args()))
    await asyncio.wait_for(model.entered.wait(), 20)
    await rows_reach(vs._astore(), BATCH)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await settle()
    assert model.doc_calls == 2
    assert await lc_ids(vs) == sorted(f"r{i}" for i in range(BATCH))
    model.block_docs = 0
    assert await vs.aadd_texts(**lc_args()) == [f"r{i}" for i in range(N)]
    assert await lc_ids(vs) == sorted(f"r{i}" for i in range(N))
    # sync on the same object
    assert vs.add_texts(["text 900"], ids=["r900"]) == ["r900"]
    assert [d.id for d in vs.similarity_search("text 900", k=1)] == ["r900"]
    assert vs.delete(["r900"]) is True
    assert len(vs.get_by_ids([f"r{i}" for i in range(N)] + ["r900"])) == N


async def test_langchain_wait_for_with_a_slow_sync_model(lite_uri: str) -> None:
    calls: list[int] = []

    class Slow(GatedLangChain):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            if not texts[0].startswith("text "):
                return plain_embed(texts)  # the fingerprint probe
            calls.append(len(texts))
            time.sleep(0.4)
            return plain_embed(texts)

        async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
            return await asyncio.to_thread(self.embed_documents, texts)

    vs = lc_store(lite_uri, Slow())
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(vs.aadd_texts(**lc_args()), timeout=0.6)
    made = len(calls)
    await settle(1.0)  # the model call already running may finish; none may start
    assert len(calls) == made
    got = await lc_ids(vs)
    assert len(got) % BATCH == 0
    assert await vs.aadd_texts(**lc_args()) == [f"r{i}" for i in range(N)]
    assert await lc_ids(vs) == sorted(f"r{i}" for i in range(N))


@pytest.mark.parametrize("method", ["asimilarity_search", "amax_marginal_relevance_search"])
async def test_langchain_cancelled_searches(lite_uri: str, method: str) -> None:
    model = GatedLangChain()
    vs = lc_store(lite_uri, model)
    await vs.aadd_texts(**lc_args())
    model.block_query = True
    task = asyncio.ensure_future(getattr(vs, method)("text 5", k=2))
    await asyncio.wait_for(model.entered.wait(), 20)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    model.block_query = False
    docs = await getattr(vs, method)("text 5", k=1)
    assert [d.id for d in docs] == ["r5"]
    assert [d.id for d in vs.similarity_search("text 6", k=1)] == ["r6"]
    assert await lc_ids(vs) == sorted(f"r{i}" for i in range(N))


async def test_langchain_adelete_cancelled(lite_uri: str) -> None:
    vs = lc_store(lite_uri, GatedLangChain())
    await vs.aadd_texts(**lc_args())
    gate = ThreadGate(vs._store.runner.client, ("delete",), at=1)
    task = asyncio.ensure_future(vs.adelete([f"r{i}" for i in range(5)]))
    gate.arm(task)
    with pytest.raises(asyncio.CancelledError):
        await task
    gate.release.set()
    await asyncio.to_thread(gate.done_after_cancel.wait, 5)
    await settle()
    left = await lc_ids(vs)
    assert left in (
        sorted(f"r{i}" for i in range(N)),
        sorted(f"r{i}" for i in range(5, N)),
    )
    assert await vs.adelete([f"r{i}" for i in range(5)]) is True
    assert await lc_ids(vs) == sorted(f"r{i}" for i in range(5, N))


# -- LlamaIndex ------------------------------------------------------------------------------


def nodes(n: int = N, start: int = 0) -> list[TextNode]:
    return [
        TextNode(
            id_=f"r{i}",
            text=f"text {i}",
            metadata={"n": i},
            embedding=vec(f"text {i}"),
        )
        for i in range(start, start + n)
    ]


def llama_store(uri: str) -> LlamaStore:
    return LlamaStore(
        uri=uri,
        collection_name="li_cancel",
        dim=DIM,
        write_options=WriteOptions(batch_rows=BATCH),
    )


async def llama_ids(vs: LlamaStore) -> list[str]:
    got = await vs.aget_nodes(node_ids=[f"r{i}" for i in range(N)])
    for node in got:
        i = int(node.node_id[1:])
        assert node.get_content() == f"text {i}"
        assert node.metadata == {"n": i}
    return sorted(n.node_id for n in got)


async def test_llama_async_add_cancelled_mid_write(lite_uri: str) -> None:
    vs = llama_store(lite_uri)
    await vs.async_add(nodes(1, start=999))
    gate = ThreadGate(vs._store.runner.client, ("insert", "upsert"), at=2)
    task = asyncio.ensure_future(vs.async_add(nodes()))
    gate.arm(task)
    with pytest.raises(asyncio.CancelledError):
        await task
    gate.release.set()
    await asyncio.to_thread(gate.done_after_cancel.wait, 5)
    await settle()
    assert gate.count == 2
    got = await llama_ids(vs)
    assert len(got) in (BATCH, 2 * BATCH)
    assert await vs.async_add(nodes()) == [f"r{i}" for i in range(N)]
    assert await llama_ids(vs) == sorted(f"r{i}" for i in range(N))
    result = await vs.aquery(VectorStoreQuery(query_embedding=vec("text 3"), similarity_top_k=1))
    assert result.ids == ["r3"]
    vs.delete_nodes(["r999"])
    assert vs._store.count() == N


async def test_llama_aquery_and_adelete_nodes_cancelled(lite_uri: str) -> None:
    vs = llama_store(lite_uri)
    await vs.async_add(nodes())
    client = vs.async_store.client
    original = client.search
    entered, hold = asyncio.Event(), asyncio.Event()

    async def search(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        await hold.wait()
        return await original(*args, **kwargs)

    client.search = search
    query = VectorStoreQuery(query_embedding=vec("text 3"), similarity_top_k=1)
    task = asyncio.ensure_future(vs.aquery(query))
    await asyncio.wait_for(entered.wait(), 20)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    del client.search
    assert (await vs.aquery(query)).ids == ["r3"]

    gate = ThreadGate(vs._store.runner.client, ("delete",), at=1)
    task = asyncio.ensure_future(vs.adelete_nodes([f"r{i}" for i in range(4)]))
    gate.arm(task)
    with pytest.raises(asyncio.CancelledError):
        await task
    gate.release.set()
    await asyncio.to_thread(gate.done_after_cancel.wait, 5)
    await settle()
    assert len(await llama_ids(vs)) in (N, N - 4)
    await vs.adelete_nodes([f"r{i}" for i in range(4)])
    assert await llama_ids(vs) == sorted(f"r{i}" for i in range(4, N))
    assert vs.query(query).ids[0] not in {"r0", "r1", "r2", "r3"}


async def test_rows_written_before_a_cancel_survive_closing_and_reopening(lite_uri: str) -> None:
    store = make_store(lite_uri)
    astore = AsyncMilvusStore(store)
    model = GatedModel(block=2)
    task = asyncio.ensure_future(astore.upsert(records(), embed=model.embed))
    await asyncio.wait_for(model.entered.wait(), 20)
    await rows_reach(astore, BATCH)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await settle()
    await astore.close()  # closed without a flush of the cancelled write
    store.close()
    reopened = make_store(lite_uri)
    try:
        check_rows(reopened.query(include_vectors=True), 0, BATCH)
    finally:
        reopened.close()


async def test_write_right_after_a_cancel_during_collection_creation(pair: Any) -> None:
    store, astore = pair
    await astore.exists()  # connected; nothing created
    gate = ThreadGate(store.runner.client, ("create_collection",), at=1, hold=0.5)
    task = asyncio.ensure_future(astore.upsert(records(), embed=plain_embed))
    gate.arm(task)
    with pytest.raises(asyncio.CancelledError):
        await task
    # The creation is still running in its thread: the next write must not trip on it.
    assert await astore.upsert(records(), embed=plain_embed) == [f"r{i}" for i in range(N)]
    await asyncio.to_thread(gate.done_after_cancel.wait, 5)
    await settle()
    check_rows(await all_rows(astore), 0, N)
    await store_still_works(store, astore, N)
