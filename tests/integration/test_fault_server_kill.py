"""SIGKILL the real Milvus 2.3.5 server in the middle of a large ingest through an adapter.

The module runs its own server (the session server is shared and must not be killed). A
:class:`CallTrigger` around the adapter's real ``MilvusClient.upsert`` forwards every call
and, when batch ``KILL_AT`` is sent, SIGKILLs the server from another thread, so the kill
lands while that batch is in flight. Two behaviours are checked:

* with the default retry policy the ingest fails within a bounded time with a
  :class:`WriteError` whose ``written_ids`` / ``failed_ids`` partition the input; a write
  while the server is down fails the same way with nothing written; after a restart every
  written id is there, and re-running the same ingest gives exactly N rows;
* with a retry policy longer than a restart, the ingest rides through a crash and restart
  without any error and ends with exactly N rows.

Each scenario prints a ``RELIABILITY`` line with its figures (run with ``-s`` to see them);
RELIABILITY.md quotes them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding
from llama_index.core.schema import TextNode
from tests.support.milvus_server import MilvusServer, server_available, wait_for_loaded
from tests.support.tcp_proxy import CallTrigger, write_rpcs

from milvus_plugins.core import (
    ConnectionConfig,
    MilvusConnectionError,
    MilvusOperationError,
    MilvusStore,
    RetryPolicy,
    WriteError,
    WriteOptions,
)
from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

_AVAILABLE, _REASON = server_available()

pytestmark = [
    pytest.mark.server,
    pytest.mark.skipif(not _AVAILABLE, reason=_REASON),
    pytest.mark.timeout(300),
]

N = 20_000
DIM = 8
BATCH = 200  # 100 batches
KILL_AT = 30  # the batch in flight when the server dies
TIMEOUT = 5.0  # seconds per call (ConnectionConfig.timeout)


def report(scenario: str, **figures: object) -> None:
    """Print the observed figures of a scenario (quoted in RELIABILITY.md)."""
    values = " ".join(f"{key}={value}" for key, value in figures.items())
    print(f"\nRELIABILITY {scenario}: {values}")


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MilvusServer]:
    """A server of this module's own, which its tests kill and restart."""
    server = MilvusServer(tmp_path_factory.mktemp("kill-server"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def stored_ids(store: MilvusStore) -> list[str]:
    """Every id in the collection, as a list (duplicates would show up twice)."""
    return [record.id for record in store.query()]


def texts_and_ids() -> tuple[list[str], list[dict[str, Any]], list[str]]:
    texts = [f"short document number {i}" for i in range(N)]
    metadatas = [{"n": i, "group": f"g{i % 10}"} for i in range(N)]
    ids = [f"doc-{i:05d}" for i in range(N)]
    return texts, metadatas, ids


def test_kill_mid_ingest_names_written_ids_and_rerun_completes_exactly(
    own_server: MilvusServer, collection_name: str
) -> None:
    texts, metadatas, ids = texts_and_ids()
    store = LangChainStore(
        DeterministicFakeEmbedding(size=DIM),
        connection=ConnectionConfig(uri=own_server.uri, timeout=TIMEOUT),
        collection_name=collection_name,
        batch_size=BATCH,
    )
    store.add_texts(texts[:1], metadatas[:1], ids=ids[:1])  # create the collection first
    core = store.store
    switch = CallTrigger(write_rpcs(core.client), "Upsert", KILL_AT, own_server.kill)
    started = time.monotonic()
    with pytest.raises(WriteError) as info:
        store.add_texts(texts, metadatas, ids=ids)
    failed_after = time.monotonic()
    error = info.value
    assert switch.fired_at is not None
    since_kill = failed_after - switch.fired_at

    # The error partitions the input, in input order, at a batch boundary.
    written, failed = error.written_ids, error.failed_ids
    assert written + failed == ids
    assert len(written) % BATCH == 0
    assert (KILL_AT - 1) * BATCH <= len(written) <= KILL_AT * BATCH
    assert f"{len(written)} rows written, {len(failed)} not written" in str(error)
    assert collection_name in str(error)
    assert isinstance(error.__cause__, MilvusOperationError) and error.__cause__.retriable
    # Bounded: every attempt of the default policy (4) waits at most the call timeout,
    # plus the backoffs (0.5 + 1 + 2 s, +10% jitter) and some slack for the client.
    policy = core.retry
    assert since_kill < policy.attempts * TIMEOUT + 4.0 + 10.0

    # While the server is down, a new write fails at once and nothing counts as written.
    down_began = time.monotonic()
    with pytest.raises(WriteError) as down:
        store.add_texts(["while down"], ids=["down-1"])
    down_took = time.monotonic() - down_began
    assert down.value.written_ids == [] and down.value.failed_ids == ["down-1"]
    assert isinstance(down.value.__cause__, MilvusConnectionError)
    assert down_took < policy.attempts * TIMEOUT + 4.0 + 10.0

    restart_began = time.monotonic()
    own_server.start()
    healthy = time.monotonic()
    admin = own_server.client()
    try:
        wait_for_loaded(admin, collection_name, timeout=90)
    finally:
        admin.close()
    loaded = time.monotonic()

    before = stored_ids(core)
    assert len(before) == len(set(before))
    assert set(written) <= set(before)  # every acknowledged row survived the SIGKILL
    assert set(before) <= set(ids)
    assert core.count() == len(before)

    rerun_began = time.monotonic()
    assert store.add_texts(texts, metadatas, ids=ids) == ids
    rerun_took = time.monotonic() - rerun_began
    after = stored_ids(core)
    assert core.count() == N
    assert len(after) == N and set(after) == set(ids)
    doc = store.get_by_ids(["doc-12345"])[0]
    assert doc.page_content == texts[12345] and doc.metadata == metadatas[12345]
    store.close()
    report(
        "server_kill_default_retry",
        n=N,
        batches=N // BATCH,
        batch_rows=BATCH,
        killed_during_batch=KILL_AT,
        written_ids=len(written),
        failed_ids=len(failed),
        error_after_kill_s=round(since_kill, 1),
        ingest_until_error_s=round(failed_after - started, 1),
        cause=type(error.__cause__).__name__,
        write_while_down_s=round(down_took, 1),
        restart_to_healthy_s=round(healthy - restart_began, 1),
        healthy_to_loaded_s=round(loaded - healthy, 1),
        rows_after_restart=len(before),
        rerun_s=round(rerun_took, 1),
        rows_after_rerun=len(after),
    )


def test_long_retry_policy_rides_through_a_kill_and_restart(
    own_server: MilvusServer, collection_name: str
) -> None:
    vectors = DeterministicFakeEmbedding(size=DIM).embed_documents([f"node {i}" for i in range(N)])
    nodes = [
        TextNode(id_=f"node-{i:05d}", text=f"node {i}", embedding=vectors[i], metadata={"n": i})
        for i in range(N)
    ]
    # Longer than a restart (~7-9 s): 0.5 + 1 + 2 + 4 * 9 s of backoff over 12 attempts.
    policy = RetryPolicy(attempts=12, initial_backoff=0.5, max_backoff=4.0)
    store = LlamaStore(
        uri=own_server.uri,
        collection_name=collection_name,
        dim=DIM,
        timeout=TIMEOUT,
        write_options=WriteOptions(batch_rows=BATCH),
        retry=policy,
    )
    store.add(nodes[:1])
    restarted: dict[str, float] = {}

    def crash_and_restart() -> None:
        own_server.kill()
        own_server.start()
        restarted["healthy"] = time.monotonic()

    switch = CallTrigger(write_rpcs(store.store.client), "Upsert", KILL_AT, crash_and_restart)
    started = time.monotonic()
    assert store.add(nodes) == [n.node_id for n in nodes]  # no error at all
    finished = time.monotonic()
    assert switch.fired_at is not None and "healthy" in restarted

    admin = own_server.client()
    try:
        wait_for_loaded(admin, collection_name, timeout=90)
    finally:
        admin.close()
    ids = stored_ids(store.store)
    assert store.store.count() == N
    assert len(ids) == N and set(ids) == {n.node_id for n in nodes}
    node = store.get_nodes(node_ids=["node-01234"])[0]
    assert node.get_content() == "node 1234" and node.metadata == {"n": 1234}
    report(
        "server_kill_long_retry",
        n=N,
        batches=N // BATCH,
        killed_during_batch=KILL_AT,
        upsert_calls=switch.calls,
        retried_calls=switch.calls - N // BATCH,
        kill_to_healthy_s=round(restarted["healthy"] - switch.fired_at, 1),
        ingest_s=round(finished - started, 1),
        rows_after=len(ids),
    )
