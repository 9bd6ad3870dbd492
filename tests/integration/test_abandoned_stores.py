"""Stores dropped without ``close()`` give back their connection, and their Milvus Lite
lease where another store holds the database.

A notebook cell run again builds a new store and drops the old one unclosed. Before, each
such store kept its dedicated pymilvus connection and, on Milvus Lite, its lease on the
database's server for the life of the process (a helper measured 180-340 KB and one lease
more per cell run). Now what a collected store held is closed at the next connect of any
store; a lease whose release would stop its server is kept instead (one per database:
the server runs on, as under raw pymilvus, and nothing is stopped under another user of
the file).
"""

from __future__ import annotations

import asyncio
import gc
import os
from pathlib import Path

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding
from llama_index.core.schema import TextNode
from tests.integration.test_trust_lite import DIM, lite_store, records, vec
from tests.support.milvus_server import MilvusServer

from milvus_plugins.core import (
    AsyncMilvusStore,
    CollectionSpec,
    ConnectionConfig,
    MilvusStore,
    lite,
)
from milvus_plugins.core.lite import lease_count
from milvus_plugins.core.runners import abandoned
from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

CELL_RUNS = 6


def _collected() -> None:
    gc.collect()
    gc.collect()


def _settled() -> None:
    """Close what earlier tests' dropped stores left, so that counts start from here."""
    _collected()
    abandoned.close_pending()


def _pymilvus_dedicated() -> int:
    """How many dedicated connections pymilvus' sync connection manager holds."""
    from pymilvus.client.connection_manager import ConnectionManager

    return len(ConnectionManager.get_instance()._dedicated)


def test_cell_runs_of_a_sync_store_hold_one_lease(tmp_path: Path) -> None:
    uri = str(tmp_path / "cells.db")
    _settled()
    connections = _pymilvus_dedicated()
    for _ in range(CELL_RUNS):
        store = lite_store(uri)  # the cell: a new store each run, never closed
        store.upsert(records("r", 3))
        assert [h.id for h in store.search(vec(1), k=1)] == ["r1"]
        del store
        _collected()
    assert abandoned.pending() == 1  # the last cell's store, until the next connect
    last = lite_store(uri)
    assert last.count() == 3
    assert abandoned.pending() == 0
    assert lease_count(uri) == 1
    assert _pymilvus_dedicated() == connections + 1
    last.close()
    assert lease_count(uri) == 0


def test_a_dropped_store_alone_on_its_database_keeps_it_served(tmp_path: Path) -> None:
    """Its client is closed; its lease, the last on that database, is kept (one)."""
    first, second = str(tmp_path / "first.db"), str(tmp_path / "second.db")
    _settled()
    connections = _pymilvus_dedicated()
    for run in range(3):
        store = lite_store(first)
        store.upsert(records(f"a{run}", 2))
        del store
        _collected()
        other = lite_store(second)
        other.upsert(records("b", 1))  # connects: closes what the dropped store held
        other.close()
        assert abandoned.pending() == 0
        assert lease_count(first) == 1  # kept: giving it back would stop the server
        assert os.path.abspath(first) in abandoned.parked()
        assert _pymilvus_dedicated() == connections
    again = lite_store(first)
    assert again.count() == 6  # the same server: nothing restarted, nothing lost
    assert lease_count(first) == 2
    again.close()
    assert lease_count(first) == 1


def test_cell_runs_of_an_async_store_hold_one_lease(tmp_path: Path) -> None:
    uri = str(tmp_path / "async.db")

    async def cell() -> None:
        astore = AsyncMilvusStore(lite_store(uri))  # never closed
        await astore.upsert(records("r", 3))
        assert [h.id for h in await astore.search(vec(2), k=1)] == ["r2"]

    for _ in range(CELL_RUNS):
        asyncio.run(cell())
        _collected()
    last = lite_store(uri)
    assert last.count() == 3
    assert lease_count(uri) == 1
    last.close()
    assert lease_count(uri) == 0


def test_cell_runs_of_both_adapters_hold_one_lease_each_store(tmp_path: Path) -> None:
    uri = str(tmp_path / "adapters.db")
    for run in range(CELL_RUNS):
        lang = LangChainStore(DeterministicFakeEmbedding(size=DIM), uri=uri, collection_name="lc")
        lang.add_texts([f"hello {run}"], ids=[f"h{run}"])
        llama = LlamaStore(uri=uri, collection_name="li", dim=DIM)
        llama.add([TextNode(id_=f"n{run}", text="node", embedding=vec(run))])

        async def use(
            lang: LangChainStore = lang, llama: LlamaStore = llama, run: int = run
        ) -> None:
            await lang.aadd_texts(["async"], ids=[f"a{run}"])
            await llama.async_add([TextNode(id_=f"m{run}", text="async", embedding=vec(run))])

        asyncio.run(use())
        del lang, llama, use
        _collected()
    last = lite_store(uri, name="lc")
    assert last.count() == 2 * CELL_RUNS
    assert lease_count(uri) == 1
    last.close()
    assert lease_count(uri) == 0


@pytest.mark.server
def test_cell_runs_on_a_server_hold_one_connection(milvus_server: MilvusServer) -> None:
    _settled()
    connections = _pymilvus_dedicated()
    connection = ConnectionConfig(uri=milvus_server.uri, token=milvus_server.token)
    spec = CollectionSpec(name="abandoned_cells", dim=DIM)
    for _ in range(CELL_RUNS):
        store = MilvusStore(spec, connection=connection)  # never closed
        store.upsert(records("r", 3))
        del store
        _collected()
    last = MilvusStore(spec, connection=connection)
    assert last.count() == 3
    assert _pymilvus_dedicated() == connections + 1
    last.drop()
    last.close()
    assert _pymilvus_dedicated() == connections


def test_a_client_handed_out_stays_open_when_its_store_is_dropped(tmp_path: Path) -> None:
    """``store.client`` (and the LlamaIndex ``client``) may outlive the store object."""
    uri = str(tmp_path / "handed.db")
    store = lite_store(uri)
    store.upsert(records("r", 2))
    client = store.client
    llama = LlamaStore(uri=uri, collection_name="li", dim=DIM)
    llama.add([TextNode(id_="n", text="node", embedding=vec(1))])
    llama_client = llama.client
    del store, llama
    _collected()
    other = lite_store(str(tmp_path / "other.db"))
    other.upsert(records("o", 1))  # connects: closes what dropped stores left
    assert "docs" in client.list_collections()  # still open, its server still running
    assert "li" in llama_client.list_collections()
    assert lease_count(uri) >= 1
    other.close()


def test_a_forked_child_does_not_close_its_parents_dropped_stores(tmp_path: Path) -> None:
    store = lite_store(str(tmp_path / "fork.db"))
    store.upsert(records("r", 1))
    del store
    _collected()
    assert abandoned.pending() >= 1
    pid = os.fork()
    if pid == 0:  # the child: nothing of the parent's to close
        os._exit(0 if abandoned.pending() == 0 else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert abandoned.pending() >= 1  # still the parent's to close
    abandoned.close_pending()


class _InterruptedClose:
    def close(self) -> None:
        raise KeyboardInterrupt


def test_an_interrupt_while_closing_a_dropped_client_still_gives_its_lease_back(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "interrupt.db")
    _settled()
    abandoned._PENDING.append((_InterruptedClose(), lite.acquire(path)))
    assert lease_count(path) == 1
    with pytest.raises(KeyboardInterrupt):
        abandoned.close_pending()
    assert abandoned.pending() == 0
    assert lease_count(path) == 1  # the last lease of its database: kept, not lost
    assert abandoned.parked()[os.path.abspath(path)].path == os.path.abspath(path)
