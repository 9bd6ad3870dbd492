"""Network faults between client and server, and a server that is down at start.

* **Down at start** (no server needed): the URI points at a port that refuses connections,
  or at a "silent" listener that accepts TCP connections and never answers (a hung host).
  Every entry point (core sync and async, both adapters) must raise
  :class:`MilvusConnectionError` within the configured timeout, with a bound of
  ``timeout + 10 s`` asserted (a bound, not a performance target).
* **Faults mid-ingest** (the session server): the client talks to the server through a
  loopback :class:`TcpProxy`, and a :class:`CallTrigger` on the adapter's real
  ``MilvusClient.upsert`` injects the fault when batch ``FAULT_AT`` is sent: a one-off
  connection drop and a short outage are ridden through by the retries (0 lost, exactly N);
  a long outage and a partition (bytes held, nothing answered) end in a
  :class:`WriteError` that partitions the input, and re-running the same ingest after the
  network heals gives exactly N rows.

Each scenario prints a ``RELIABILITY`` line with its figures (run with ``-s``).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import VectorStoreQuery
from tests.support.milvus_server import MilvusServer
from tests.support.tcp_proxy import CallTrigger, ProxyMode, TcpProxy, write_rpcs

from milvus_plugins.core import (
    AsyncMilvusStore,
    CollectionSpec,
    ConnectionConfig,
    MilvusConnectionError,
    MilvusOperationError,
    MilvusPluginsError,
    MilvusStore,
    Record,
    RetryPolicy,
    WriteError,
    WriteOptions,
)
from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

DIM = 8
DOWN_TIMEOUT = 1.0  # seconds: ConnectionConfig.timeout for the down-at-start cases
BOUND = 10.0  # seconds allowed on top of the timeout
N = 10_000
BATCH = 200  # 50 batches
FAULT_AT = 15  # the batch in flight when the fault starts


def report(scenario: str, **figures: object) -> None:
    """Print the observed figures of a scenario (quoted in RELIABILITY.md)."""
    values = " ".join(f"{key}={value}" for key, value in figures.items())
    print(f"\nRELIABILITY {scenario}: {values}")


# -- down at start ---------------------------------------------------------------------


@pytest.fixture(params=["refused", "silent"])
def dead(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """``(kind, uri)`` with no Milvus behind the URI: a refusing port, or a listener that
    accepts connections and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # bound but not listening: connections are refused
    if request.param == "silent":
        sock.listen(64)  # the kernel completes handshakes; nobody ever reads or answers
    try:
        yield request.param, f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


def _connection(uri: str) -> ConnectionConfig:
    return ConnectionConfig(uri=uri, timeout=DOWN_TIMEOUT)


def _record() -> Record:
    return Record(id="a", text="hello", vector=[0.1] * DIM)


def _langchain(uri: str) -> LangChainStore:
    return LangChainStore(
        DeterministicFakeEmbedding(size=DIM), connection=_connection(uri), collection_name="c"
    )


def _llama(uri: str) -> LlamaStore:
    return LlamaStore(uri=uri, collection_name="c", dim=DIM, timeout=DOWN_TIMEOUT)


ENTRY_POINTS: list[tuple[str, Callable[[str], Any]]] = [
    (
        "core upsert",
        lambda uri: MilvusStore(
            CollectionSpec(name="c", dim=DIM), connection=_connection(uri)
        ).upsert([_record()]),
    ),
    (
        "core search",
        lambda uri: MilvusStore(
            CollectionSpec(name="c", dim=DIM), connection=_connection(uri)
        ).search([0.1] * DIM, k=2),
    ),
    ("langchain add_texts", lambda uri: _langchain(uri).add_texts(["hello"])),
    ("langchain similarity_search", lambda uri: _langchain(uri).similarity_search("hi")),
    (
        "llama_index add",
        lambda uri: _llama(uri).add([TextNode(id_="a", text="hello", embedding=[0.1] * DIM)]),
    ),
    (
        "llama_index query",
        lambda uri: _llama(uri).query(
            VectorStoreQuery(query_embedding=[0.1] * DIM, similarity_top_k=2)
        ),
    ),
]


@pytest.mark.parametrize(("entry", "call"), ENTRY_POINTS, ids=[e for e, _ in ENTRY_POINTS])
def test_server_down_at_start_raises_a_connection_error_within_the_timeout(
    dead: tuple[str, str], entry: str, call: Callable[[str], Any]
) -> None:
    kind, dead_uri = dead
    started = time.monotonic()
    with pytest.raises(MilvusConnectionError) as info:
        call(dead_uri)
    took = time.monotonic() - started
    assert took < DOWN_TIMEOUT + BOUND
    assert "unreachable" in str(info.value)
    assert dead_uri.rsplit(":", 1)[1] in str(info.value)  # names the address it tried
    report(f"down_at_start {kind} {entry}", timeout_s=DOWN_TIMEOUT, took_s=f"{took:.2f}")


async def test_server_down_at_start_async_paths_raise_within_the_timeout(
    dead: tuple[str, str],
) -> None:
    kind, dead_uri = dead
    core = MilvusStore(CollectionSpec(name="c", dim=DIM), connection=_connection(dead_uri))
    calls: list[tuple[str, Callable[[], Any]]] = [
        ("core async count", lambda: AsyncMilvusStore(core).count()),
        ("langchain aadd_texts", lambda: _langchain(dead_uri).aadd_texts(["hello"])),
        ("langchain asimilarity_search", lambda: _langchain(dead_uri).asimilarity_search("hi")),
        (
            "llama_index aquery",
            lambda: _llama(dead_uri).aquery(
                VectorStoreQuery(query_embedding=[0.1] * DIM, similarity_top_k=2)
            ),
        ),
    ]
    for entry, call in calls:
        started = time.monotonic()
        with pytest.raises(MilvusConnectionError):
            await call()
        took = time.monotonic() - started
        assert took < DOWN_TIMEOUT + BOUND, entry
        report(f"down_at_start {kind} {entry}", timeout_s=DOWN_TIMEOUT, took_s=f"{took:.2f}")


@pytest.mark.server
def test_a_store_never_rides_a_connection_another_client_opened(
    milvus_server: MilvusServer,
) -> None:
    """pymilvus shares one connection per address between the clients of a process. On
    a host that has since hung, a new client reusing an idle shared connection opened by
    another client first probed it (5 s) and recovered it with that client's timeout
    (10 s when none): a store made with ``timeout=1`` took 10-120 s to fail (RELIABILITY
    116). The store's clients connect on a connection of their own, made with its own
    timeout, whoever else is connected to the address."""
    from pymilvus import MilvusClient

    bare = MilvusClient(uri=milvus_server.uri, token=milvus_server.token)
    try:
        bare.list_collections()
        connection = ConnectionConfig(
            uri=milvus_server.uri, token=milvus_server.token, timeout=DOWN_TIMEOUT
        )
        store = MilvusStore(CollectionSpec(name="own_connection", dim=DIM), connection=connection)
        try:
            assert store.count() == 0
            assert store.client._handler is not bare._handler
        finally:
            store.close()
    finally:
        bare.close()


# -- faults mid-ingest, through a loopback proxy ------------------------------------------


@pytest.fixture
def proxy(milvus_server: MilvusServer) -> Iterator[TcpProxy]:
    """A proxy in front of the session server, for one test."""
    with TcpProxy(milvus_server.port) as running:
        yield running


def _texts() -> tuple[list[str], list[dict[str, Any]], list[str]]:
    texts = [f"short note {i}" for i in range(N)]
    metadatas = [{"n": i} for i in range(N)]
    ids = [f"note-{i:05d}" for i in range(N)]
    return texts, metadatas, ids


def _store_through(proxy: TcpProxy, name: str, timeout: float = 10.0) -> LangChainStore:
    store = LangChainStore(
        DeterministicFakeEmbedding(size=DIM),
        connection=ConnectionConfig(uri=proxy.uri, timeout=timeout),
        collection_name=name,
        batch_size=BATCH,
    )
    store.add_texts(["seed"], ids=["note-00000"])  # create the collection before the fault
    return store


def _ids_in(store: MilvusStore) -> list[str]:
    return [record.id for record in store.query()]


def _assert_exactly_n(store: MilvusStore, ids: list[str]) -> None:
    stored = _ids_in(store)
    assert store.count() == len(ids)
    assert len(stored) == len(ids) and set(stored) == set(ids)


def _wait_until_reachable(store: MilvusStore, limit: float = 60.0) -> tuple[int, float]:
    """Count rows as soon as the client reconnects; return (rows, seconds waited)."""
    started = time.monotonic()
    while True:
        try:
            return store.count(), time.monotonic() - started
        except MilvusPluginsError:
            if time.monotonic() - started > limit:
                raise
            time.sleep(0.5)


@pytest.mark.server
@pytest.mark.parametrize("outage", [0.0, 1.0], ids=["drop", "outage_1s"])
def test_short_network_fault_is_ridden_through_without_loss(
    proxy: TcpProxy, collection_name: str, outage: float
) -> None:
    texts, metadatas, ids = _texts()
    store = _store_through(proxy, collection_name)
    if outage:
        trigger = CallTrigger(
            write_rpcs(store.store.client), "Upsert", FAULT_AT, lambda: proxy.outage(outage)
        )
    else:
        trigger = CallTrigger(write_rpcs(store.store.client), "Upsert", FAULT_AT, proxy.drop)
    started = time.monotonic()
    assert store.add_texts(texts, metadatas, ids=ids) == ids
    took = time.monotonic() - started
    assert trigger.fired_at is not None
    assert proxy.resets >= 1  # the fault really cut a live connection
    _assert_exactly_n(store.store, ids)
    store.close()
    report(
        "network_drop" if not outage else f"network_outage_{outage}s",
        n=N,
        batches=N // BATCH,
        fault_at_batch=FAULT_AT,
        connections_reset=proxy.resets,
        upsert_calls=trigger.calls,
        retried_calls=trigger.calls - N // BATCH,
        ingest_s=round(took, 1),
        rows_after=N,
    )


@pytest.mark.server
def test_long_outage_raises_write_error_and_rerun_completes(
    proxy: TcpProxy, collection_name: str
) -> None:
    texts, metadatas, ids = _texts()
    store = _store_through(proxy, collection_name, timeout=5.0)
    trigger = CallTrigger(
        write_rpcs(store.store.client), "Upsert", FAULT_AT, lambda: proxy.set_mode(ProxyMode.REFUSE)
    )
    with pytest.raises(WriteError) as info:
        store.add_texts(texts, metadatas, ids=ids)
    failed_at = time.monotonic()
    assert trigger.fired_at is not None
    since_fault = failed_at - trigger.fired_at
    written, failed = info.value.written_ids, info.value.failed_ids
    assert written + failed == ids
    assert (FAULT_AT - 1) * BATCH <= len(written) <= FAULT_AT * BATCH
    assert f"{len(written)} rows written, {len(failed)} not written" in str(info.value)
    assert isinstance(info.value.__cause__, MilvusConnectionError)
    policy = store.store.retry
    assert since_fault < policy.attempts * 5.0 + 4.0 + BOUND

    proxy.set_mode(ProxyMode.FORWARD)
    rows, recovered_in = _wait_until_reachable(store.store)
    before = set(_ids_in(store.store))
    assert set(written) <= before <= set(ids)
    assert rows == len(before)
    assert store.add_texts(texts, metadatas, ids=ids) == ids
    _assert_exactly_n(store.store, ids)
    store.close()
    report(
        "network_long_outage",
        n=N,
        batches=N // BATCH,
        fault_at_batch=FAULT_AT,
        written_ids=len(written),
        failed_ids=len(failed),
        error_after_fault_s=round(since_fault, 1),
        reconnect_after_heal_s=round(recovered_in, 1),
        rows_before_rerun=rows,
        rows_after_rerun=N,
    )


@pytest.mark.server
def test_partition_hits_the_call_deadline_and_rerun_completes(
    proxy: TcpProxy, collection_name: str
) -> None:
    """Bytes are held, nothing is answered: only the per-call deadline ends the wait."""
    timeout = 3.0
    policy = RetryPolicy(attempts=2, initial_backoff=0.5)
    vectors = DeterministicFakeEmbedding(size=DIM).embed_documents([f"n{i}" for i in range(N)])
    nodes = [
        TextNode(id_=f"node-{i:05d}", text=f"n{i}", embedding=vectors[i], metadata={"n": i})
        for i in range(N)
    ]
    ids = [node.node_id for node in nodes]
    store = LlamaStore(
        uri=proxy.uri,
        collection_name=collection_name,
        dim=DIM,
        timeout=timeout,
        write_options=WriteOptions(batch_rows=BATCH),
        retry=policy,
    )
    store.add(nodes[:1])
    trigger = CallTrigger(
        write_rpcs(store.store.client),
        "Upsert",
        FAULT_AT,
        lambda: proxy.set_mode(ProxyMode.BLACKHOLE),
    )
    with pytest.raises(WriteError) as info:
        store.add(nodes)
    assert trigger.fired_at is not None
    since_fault = time.monotonic() - trigger.fired_at
    written, failed = info.value.written_ids, info.value.failed_ids
    assert written + failed == ids
    assert isinstance(info.value.__cause__, MilvusOperationError)
    assert info.value.__cause__.retriable
    assert since_fault < policy.attempts * timeout + 1.0 + BOUND

    proxy.set_mode(ProxyMode.FORWARD)
    _, recovered_in = _wait_until_reachable(store.store)
    before = set(_ids_in(store.store))
    # A request held by the partition may still reach the server once it heals: ids
    # reported as failed can turn out written ("not certainly written"), never the reverse.
    assert set(written) <= before <= set(ids)
    assert store.add(nodes) == ids
    _assert_exactly_n(store.store, ids)
    report(
        "network_partition",
        n=N,
        batches=N // BATCH,
        fault_at_batch=FAULT_AT,
        call_timeout_s=timeout,
        attempts=policy.attempts,
        written_ids=len(written),
        failed_ids=len(failed),
        error_after_fault_s=round(since_fault, 1),
        cause=type(info.value.__cause__).__name__,
        reconnect_after_heal_s=round(recovered_in, 1),
        rows_before_rerun=len(before),
        failed_but_present=len(before - set(written)),
        rows_after_rerun=N,
    )
