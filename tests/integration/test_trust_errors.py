"""Trust: a collection dropped behind the store's back, errors that echo user names, and a
connection that is never retried.

* A second, raw ``pymilvus.MilvusClient`` drops the collection: the store (core sync and
  async, both adapters) must notice: ``exists()`` says False, reads are empty, a write
  that hits the gap raises :class:`CollectionNotFoundError` (not a ``WriteError`` that
  promises a re-run completes), and the next write recreates the collection.
* A collection called ``unavailable_docs`` or ``timeout_docs``, and a filter naming a
  field ``unavailable``/``timeout``, must not read as "Milvus is unreachable", and must
  not be retried (retries are counted with ``RetryPolicy.on_retry``, not timed).
* Connecting is never retried, on any route: with nothing but a silent listener behind
  the URI, each route makes one TCP connection and no retry.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import VectorStoreQuery
from pymilvus import MilvusClient

from milvus_plugins.core import (
    AsyncMilvusStore,
    CollectionNotFoundError,
    CollectionSpec,
    ConnectionConfig,
    MilvusConnectionError,
    MilvusOperationError,
    MilvusStore,
    Record,
    RetryPolicy,
)
from milvus_plugins.core.errors import MilvusPluginsError
from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

DIM = 8


class Retries:
    """A retry policy whose retries are counted (fast backoff, four attempts)."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, MilvusPluginsError]] = []
        self.policy = RetryPolicy(
            attempts=4, initial_backoff=0.01, max_backoff=0.02, on_retry=self._record
        )

    def _record(self, number: int, error: MilvusPluginsError) -> None:
        self.seen.append((number, error))


def _vector(i: int) -> list[float]:
    return [float((i * 7 + j) % 5) + 0.1 for j in range(DIM)]


def _records(prefix: str, n: int = 5) -> list[Record]:
    return [Record(id=f"{prefix}{i}", text=f"{prefix} {i}", vector=_vector(i)) for i in range(n)]


def _drop_behind_its_back(uri: str, name: str) -> None:
    other = MilvusClient(uri=uri)
    try:
        assert other.has_collection(name)
        other.drop_collection(name)
        assert not other.has_collection(name)
    finally:
        other.close()


def _core(uri: str, name: str, retries: Retries) -> MilvusStore:
    return MilvusStore(
        CollectionSpec(name=name, dim=DIM),
        connection=ConnectionConfig(uri=uri, timeout=20),
        drop_old=True,
        retry=retries.policy,
    )


@pytest.fixture(params=["unavailable_docs", "timeout_docs"])
def echo_name(request: pytest.FixtureRequest, collection_name: str) -> str:
    """A collection name containing a word the old classifier took for a fault."""
    return f"{request.param}_{collection_name}"


# -- 11/12: dropped by another client -----------------------------------------------------


def test_core_store_forgets_a_collection_dropped_by_another_client(
    backend_uri: str, echo_name: str
) -> None:
    retries = Retries()
    store = _core(backend_uri, echo_name, retries)
    store.upsert(_records("a"))
    assert store.exists() and store.count() == 5

    _drop_behind_its_back(backend_uri, echo_name)
    assert store.exists() is False
    assert store.search(_vector(1), k=3) == []
    store.upsert(_records("b", 3))
    assert store.exists()
    assert sorted(r.id for r in store.query()) == ["b0", "b1", "b2"]
    assert retries.seen == []
    store.close()


def test_core_reads_of_a_dropped_collection_are_empty_without_retries(
    backend_uri: str, echo_name: str
) -> None:
    retries = Retries()
    store = _core(backend_uri, echo_name, retries)
    store.upsert(_records("a"))
    _drop_behind_its_back(backend_uri, echo_name)

    assert store.search(_vector(1), k=3) == []  # the first call after the drop
    assert store.get(["a1"]) == []
    assert store.query() == []
    assert store.count() == 0
    assert retries.seen == []
    store.close()


def test_core_write_into_a_dropped_collection_raises_not_found_then_recreates(
    backend_uri: str, echo_name: str
) -> None:
    retries = Retries()
    store = _core(backend_uri, echo_name, retries)
    store.upsert(_records("a"))
    _drop_behind_its_back(backend_uri, echo_name)

    with pytest.raises(CollectionNotFoundError) as info:
        store.upsert(_records("b"))
    assert not isinstance(info.value, MilvusConnectionError)
    assert "unreachable" not in str(info.value)
    assert "recreates" in str(info.value)
    assert retries.seen == []  # not taken for a transient fault

    assert store.upsert(_records("b")) == [f"b{i}" for i in range(5)]
    assert store.count() == 5
    store.close()


async def test_async_store_forgets_a_collection_dropped_by_another_client(
    backend_uri: str, echo_name: str
) -> None:
    retries = Retries()
    sync = _core(backend_uri, echo_name, retries)
    store = AsyncMilvusStore(sync)
    await store.upsert(_records("a"))
    assert await store.count() == 5

    _drop_behind_its_back(backend_uri, echo_name)
    assert await store.exists() is False
    assert await store.search(_vector(1), k=3) == []
    assert await store.get(["a1"]) == []
    await store.upsert(_records("b", 2))  # the next write recreates it
    assert sorted(r.id for r in await store.query(limit=10)) == ["b0", "b1"]
    assert retries.seen == []
    await store.close()
    sync.close()


async def test_async_write_into_a_dropped_collection_raises_not_found(
    backend_uri: str, echo_name: str
) -> None:
    retries = Retries()
    sync = _core(backend_uri, echo_name, retries)
    store = AsyncMilvusStore(sync)
    await store.upsert(_records("a"))
    _drop_behind_its_back(backend_uri, echo_name)
    with pytest.raises(CollectionNotFoundError):
        await store.upsert(_records("b"))
    assert retries.seen == []
    await store.upsert(_records("b"))
    assert await store.count() == 5
    await store.close()
    sync.close()


def test_langchain_after_a_drop_by_another_client(backend_uri: str, echo_name: str) -> None:
    store = LangChainStore(
        DeterministicFakeEmbedding(size=DIM),
        connection=ConnectionConfig(uri=backend_uri, timeout=20),
        collection_name=echo_name,
        drop_old=True,
    )
    retries = Retries()
    store.store.retry = retries.policy
    store.add_texts(["one", "two"], ids=["1", "2"])
    _drop_behind_its_back(backend_uri, echo_name)

    assert store.store.exists() is False
    assert store.similarity_search("one", k=2) == []
    assert store.get_by_ids(["1"]) == []
    store.add_texts(["three"], ids=["3"])
    assert [d.id for d in store.similarity_search("three", k=5)] == ["3"]
    assert retries.seen == []
    store.close()


async def test_langchain_async_after_a_drop_by_another_client(
    backend_uri: str, echo_name: str
) -> None:
    store = LangChainStore(
        DeterministicFakeEmbedding(size=DIM),
        connection=ConnectionConfig(uri=backend_uri, timeout=20),
        collection_name=echo_name,
        drop_old=True,
    )
    retries = Retries()
    store.store.retry = retries.policy
    await store.aadd_texts(["one", "two"], ids=["1", "2"])
    _drop_behind_its_back(backend_uri, echo_name)

    with pytest.raises(CollectionNotFoundError):  # the first call after the drop
        await store.aadd_texts(["three"], ids=["3"])
    assert await store.asimilarity_search("one", k=2) == []
    await store.aadd_texts(["three"], ids=["3"])
    assert [d.id for d in await store.asimilarity_search("three", k=5)] == ["3"]
    assert retries.seen == []
    await store.aclose()


def _llama(uri: str, name: str, retries: Retries) -> LlamaStore:
    return LlamaStore(
        uri=uri, collection_name=name, dim=DIM, overwrite=True, timeout=20, retry=retries.policy
    )


def _nodes(prefix: str, n: int) -> list[TextNode]:
    return [
        TextNode(id_=f"{prefix}{i}", text=f"{prefix} {i}", embedding=_vector(i)) for i in range(n)
    ]


def test_llama_index_after_a_drop_by_another_client(backend_uri: str, echo_name: str) -> None:
    retries = Retries()
    store = _llama(backend_uri, echo_name, retries)
    store.add(_nodes("a", 3))
    _drop_behind_its_back(backend_uri, echo_name)

    query = VectorStoreQuery(query_embedding=_vector(1), similarity_top_k=3)
    assert store.query(query).ids == []  # the first call after the drop
    assert store.get_nodes(node_ids=["a1"]) == []
    store.add(_nodes("b", 2))
    assert sorted(n.node_id for n in store.get_nodes()) == ["b0", "b1"]
    assert retries.seen == []
    store.clear()


async def test_llama_index_async_after_a_drop_by_another_client(
    backend_uri: str, echo_name: str
) -> None:
    retries = Retries()
    store = _llama(backend_uri, echo_name, retries)
    await store.async_add(_nodes("a", 3))
    _drop_behind_its_back(backend_uri, echo_name)

    with pytest.raises(CollectionNotFoundError):  # the first call after the drop
        await store.async_add(_nodes("b", 2))
    query = VectorStoreQuery(query_embedding=_vector(1), similarity_top_k=3)
    assert (await store.aquery(query)).ids == []
    assert await store.aget_nodes(node_ids=["a1"]) == []
    await store.async_add(_nodes("b", 2))
    assert sorted(n.node_id for n in await store.aget_nodes()) == ["b0", "b1"]
    assert retries.seen == []
    await store.aclear()


# -- 12: filter errors echo the expression --------------------------------------------------


@pytest.mark.parametrize(
    "expression",
    ["unavailable <<< 3", "timeout <<< 3", 'metadata["timeout"] <<< 3'],
)
def test_a_filter_syntax_error_is_not_a_connection_error_and_is_not_retried(
    backend_uri: str, echo_name: str, expression: str
) -> None:
    retries = Retries()
    store = _core(backend_uri, echo_name, retries)
    store.upsert(_records("a", 2))
    with pytest.raises(MilvusOperationError) as info:
        store.count(expression)
    assert not isinstance(info.value, MilvusConnectionError)
    assert not info.value.retriable
    assert retries.seen == []
    store.drop()
    store.close()


# -- 13: connecting is never retried --------------------------------------------------------


class CountingListener:
    """A loopback port that accepts TCP connections, counts them and never answers.

    gRPC waits on one such connection for the whole connect timeout (the HTTP/2
    handshake never completes), so each connection attempt is exactly one accept.
    """

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._sock.settimeout(0.05)
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self.accepted = 0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            self._held.append(conn)

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for conn in self._held:
            conn.close()
        self._sock.close()


@pytest.fixture(params=["silent", "refused"])
def dead_uri(request: pytest.FixtureRequest) -> Iterator[tuple[str, CountingListener | None]]:
    """A URI with no Milvus: a silent listener (connections counted) or a refusing port."""
    if request.param == "silent":
        listener = CountingListener()
        try:
            yield listener.uri, listener
        finally:
            listener.close()
        return
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", None
    finally:
        sock.close()


TIMEOUT = 1.0


def _sync_routes(uri: str, policy: RetryPolicy) -> dict[str, Callable[[], Any]]:
    def core() -> MilvusStore:
        return MilvusStore(
            CollectionSpec(name="c", dim=DIM),
            connection=ConnectionConfig(uri=uri, timeout=TIMEOUT),
            retry=policy,
        )

    def chain() -> LangChainStore:
        store = LangChainStore(
            DeterministicFakeEmbedding(size=DIM),
            connection=ConnectionConfig(uri=uri, timeout=TIMEOUT),
            collection_name="c",
        )
        store.store.retry = policy
        return store

    def llama() -> LlamaStore:
        return LlamaStore(uri=uri, collection_name="c", dim=DIM, timeout=TIMEOUT, retry=policy)

    query = VectorStoreQuery(query_embedding=_vector(1), similarity_top_k=2)
    return {
        "core count": lambda: core().count(),
        "core drop": lambda: core().drop(),
        "langchain similarity_search": lambda: chain().similarity_search("x"),
        "llama_index clear": lambda: llama().clear(),
        "llama_index query": lambda: llama().query(query),
    }


def _async_routes(uri: str, policy: RetryPolicy) -> dict[str, Callable[[], Any]]:
    def core() -> AsyncMilvusStore:
        return AsyncMilvusStore(
            MilvusStore(
                CollectionSpec(name="c", dim=DIM),
                connection=ConnectionConfig(uri=uri, timeout=TIMEOUT),
                retry=policy,
            )
        )

    def chain() -> LangChainStore:
        store = LangChainStore(
            DeterministicFakeEmbedding(size=DIM),
            connection=ConnectionConfig(uri=uri, timeout=TIMEOUT),
            collection_name="c",
        )
        store.store.retry = policy
        return store

    def llama() -> LlamaStore:
        return LlamaStore(uri=uri, collection_name="c", dim=DIM, timeout=TIMEOUT, retry=policy)

    query = VectorStoreQuery(query_embedding=_vector(1), similarity_top_k=2)
    return {
        "async core count": lambda: core().count(),
        "async core drop": lambda: core().drop(),
        "langchain asimilarity_search": lambda: chain().asimilarity_search("x"),
        "llama_index aclear": lambda: llama().aclear(),
        "llama_index aquery": lambda: llama().aquery(query),
    }


SYNC_ROUTES = list(_sync_routes("http://127.0.0.1:1", RetryPolicy()))
ASYNC_ROUTES = list(_async_routes("http://127.0.0.1:1", RetryPolicy()))


@pytest.mark.parametrize("route", SYNC_ROUTES)
def test_connecting_is_attempted_once_on_every_sync_route(
    dead_uri: tuple[str, CountingListener | None], route: str
) -> None:
    uri, listener = dead_uri
    retries = Retries()
    with pytest.raises(MilvusConnectionError):
        _sync_routes(uri, retries.policy)[route]()
    assert retries.seen == []
    if listener is not None:
        assert listener.accepted == 1


@pytest.mark.parametrize("route", ASYNC_ROUTES)
async def test_connecting_is_attempted_once_on_every_async_route(
    dead_uri: tuple[str, CountingListener | None], route: str
) -> None:
    uri, listener = dead_uri
    retries = Retries()
    with pytest.raises(MilvusConnectionError):
        await _async_routes(uri, retries.policy)[route]()
    assert retries.seen == []
    if listener is not None:
        await asyncio.sleep(0)
        assert listener.accepted == 1


# -- 16: credentials in the URI ------------------------------------------------------------


async def test_uri_credentials_never_appear_in_connection_errors(
    dead_uri: tuple[str, CountingListener | None],
) -> None:
    uri = dead_uri[0].replace("http://", "http://alice:Pa55w0rdXyz@")
    llama = LlamaStore(uri=uri, collection_name="c", dim=DIM, timeout=TIMEOUT)
    chain = LangChainStore(
        DeterministicFakeEmbedding(size=DIM),
        connection=ConnectionConfig(uri=uri, timeout=TIMEOUT),
        collection_name="c",
    )
    query = VectorStoreQuery(query_embedding=_vector(1), similarity_top_k=2)
    errors: list[BaseException] = []
    for call in (lambda: llama.query(query), lambda: chain.similarity_search("x")):
        with pytest.raises(MilvusConnectionError) as info:
            call()
        errors.append(info.value)
    with pytest.raises(MilvusConnectionError) as ainfo:
        await llama.aquery(query)
    errors.append(ainfo.value)
    texts = [str(e) for e in errors] + [repr(llama), repr(chain), llama.to_json()]
    for text in texts:
        assert "Pa55w0rdXyz" not in text and "alice" not in text, text
