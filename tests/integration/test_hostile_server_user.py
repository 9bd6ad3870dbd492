"""Code written on Milvus Lite, pointed at a server, met by other clients (RELIABILITY 140).

A helper's hostile pass (2026-12-07) found, each failing on the code before its fix:

* a store whose collection another client dropped and re-created with another tool
  (langchain-milvus, the real package) switched to that tool's layout when it re-opened
  it: its ``clear()`` and ``delete()`` removed the other tool's rows (through an alias
  moved to such a collection too), where ``SchemaMismatchError`` was documented;
* a write refused for a limit of the 2.3.5 server (no nullable fields, 64 KiB JSON) had
  created the collection first;
* of two stores creating one collection at once with other metrics, the loser got a bare
  "CreateIndex failed: at most one distinct index is allowed per field";
* with ``consistency_level="Bounded"``, ``delete(filter=...)`` right after a write
  answered 0 while the server deleted the row.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_milvus import Milvus
from pymilvus import MilvusClient
from tests.support.official_layouts import DIM, hashed_vector

from milvus_plugins.core import (
    CollectionSpec,
    ConnectionConfig,
    InvalidInputError,
    MilvusPluginsError,
    MilvusStore,
    Record,
    SchemaMismatchError,
    eq,
)
from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore


class Hashed(Embeddings):
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [hashed_vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return hashed_vector(text)


def _store(uri: str, name: str, **spec: Any) -> MilvusStore:
    return MilvusStore(
        CollectionSpec(name=name, dim=DIM, **spec), connection=ConnectionConfig(uri=uri)
    )


def _count(client: MilvusClient, name: str) -> int:
    rows = client.query(name, filter="", output_fields=["count(*)"], consistency_level="Strong")
    return int(rows[0]["count(*)"])


def _langchain_collection(uri: str, name: str) -> None:
    """What another team's langchain-milvus code makes under ``name``: one document."""
    made = Milvus(Hashed(), connection_args={"uri": uri}, collection_name=name)
    made.add_documents([Document("theirs", metadata={"source": "s"})], ids=["f1"])


def _clear(uri: str, name: str, store: MilvusStore) -> Any:
    return store.clear()


def _delete_filter(uri: str, name: str, store: MilvusStore) -> Any:
    return store.delete(filter=eq("source", "s"))


def _delete_ids(uri: str, name: str, store: MilvusStore) -> Any:
    return store.delete(ids=["f1"])


CALLS: dict[str, Callable[[str, str, MilvusStore], Any]] = {
    "clear": _clear,
    "delete_filter": _delete_filter,
    "delete_ids": _delete_ids,
}


@pytest.mark.parametrize("call", sorted(CALLS))
def test_a_collection_replaced_by_another_tools_is_not_deleted_from(
    backend_uri: str, call: str
) -> None:
    name = f"repl_{uuid.uuid4().hex[:10]}"
    mine = _store(backend_uri, name)
    mine.upsert([Record(id="a", text="mine", vector=hashed_vector("a"), metadata={"source": "s"})])
    mine.client.drop_collection(name)  # another client's: the store is not told
    _langchain_collection(backend_uri, name)
    client = MilvusClient(uri=backend_uri)
    try:
        with pytest.raises(SchemaMismatchError, match="replaced since this store opened it"):
            CALLS[call](backend_uri, name, mine)
        assert _count(client, name) == 1  # the other tool's row is still there
    finally:
        client.drop_collection(name)
        client.close()
        mine.close()


@pytest.mark.parametrize("adapter", ["langchain", "llama_index"])
def test_the_adapters_do_not_delete_from_another_tools_replacement(
    backend_uri: str, adapter: str
) -> None:
    name = f"repl_{uuid.uuid4().hex[:10]}"
    client = MilvusClient(uri=backend_uri)
    try:
        if adapter == "langchain":
            lc = LangChainStore(
                Hashed(), connection_args={"uri": backend_uri}, collection_name=name
            )
            lc.add_texts(["mine"], ids=["f1"])
            client.drop_collection(name)
            _langchain_collection(backend_uri, name)
            with pytest.raises(SchemaMismatchError):
                lc.delete(ids=["f1"])
        else:
            li = LlamaStore(uri=backend_uri, collection_name=name, dim=DIM)
            from llama_index.core.schema import TextNode

            li.add([TextNode(id_="f1", text="mine", embedding=hashed_vector("mine"))])
            client.drop_collection(name)
            _langchain_collection(backend_uri, name)
            with pytest.raises(SchemaMismatchError):
                li.delete_nodes(node_ids=["f1"])
        assert _count(client, name) == 1
    finally:
        client.drop_collection(name)
        client.close()


@pytest.mark.parametrize("backend", ["lite", pytest.param("server", marks=pytest.mark.server)])
def test_an_alias_moved_to_another_tools_collection_is_not_cleared(
    request: pytest.FixtureRequest, tmp_path: Any, backend: str
) -> None:
    uri = str(tmp_path / "m.db") if backend == "lite" else request.getfixturevalue("server_uri")
    tag = uuid.uuid4().hex[:10]
    mine, theirs, alias = f"mine_{tag}", f"theirs_{tag}", f"alias_{tag}"
    owner = _store(uri, mine)  # kept open: on Milvus Lite it holds the database
    owner.upsert([Record(id="a", text="mine", vector=hashed_vector("a"))])
    client = MilvusClient(uri=uri)
    try:
        client.create_alias(mine, alias)
        through_alias = _store(uri, alias)
        assert through_alias.count() == 1
        _langchain_collection(uri, theirs)
        client.alter_alias(theirs, alias)  # another client moves it
        with pytest.raises(SchemaMismatchError):
            through_alias.clear()
        assert _count(client, theirs) == 1
        through_alias.close()
    finally:
        client.drop_alias(alias)
        for name in (mine, theirs):
            client.drop_collection(name)
        client.close()
        owner.close()


@pytest.mark.server
@pytest.mark.parametrize("case", ["declared_field_missing", "metadata_json_over_64k"])
def test_a_write_refused_for_a_server_limit_creates_no_collection(
    server_uri: str, case: str
) -> None:
    name = f"refused_{uuid.uuid4().hex[:10]}"
    if case == "declared_field_missing":  # Milvus 2.3.5 has no nullable fields
        store = _store(server_uri, name, metadata_fields={"year": "INT64"})
        record = Record(id="a", text="a", vector=hashed_vector("a"))
    else:
        store = _store(server_uri, name)
        record = Record(id="a", text="a", vector=hashed_vector("a"), metadata={"x": "y" * 70_000})
    client = MilvusClient(uri=server_uri)
    try:
        with pytest.raises(InvalidInputError, match=r"nothing was written|give every record"):
            store.upsert([record])
        assert not client.has_collection(name)  # was: an empty collection left
    finally:
        if client.has_collection(name):
            client.drop_collection(name)
        client.close()
        store.close()


def _creation_race(uri: str, client: MilvusClient) -> str:
    """Two stores create one collection at once, COSINE and IP; the loser's error."""
    name = f"race_{uuid.uuid4().hex[:10]}"
    stores = {m: _store(uri, name, metric=m) for m in ("COSINE", "IP")}
    for store in stores.values():
        store.list_collections()  # connected: both reach the create at once
    barrier = threading.Barrier(2)
    outcome: dict[str, Any] = {}

    def write(metric: str) -> None:
        barrier.wait()
        try:
            outcome[metric] = stores[metric].upsert(
                [Record(id=metric, text="x", vector=hashed_vector(metric))]
            )
        except MilvusPluginsError as exc:
            outcome[metric] = exc

    threads = [threading.Thread(target=write, args=(m,)) for m in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    client.drop_collection(name)
    for store in stores.values():
        store.close()
    errors = [v for v in outcome.values() if isinstance(v, BaseException)]
    assert len(errors) == 1, outcome
    return type(errors[0]).__name__


@pytest.mark.server
def test_the_losing_creator_with_another_metric_gets_a_schema_mismatch(server_uri: str) -> None:
    client = MilvusClient(uri=server_uri)
    try:
        losers = [_creation_race(server_uri, client) for _ in range(3)]
    finally:
        client.close()
    assert losers == ["SchemaMismatchError"] * 3


@pytest.mark.server
def test_a_delete_right_after_a_write_counts_it_at_bounded_consistency(server_uri: str) -> None:
    name = f"bounded_{uuid.uuid4().hex[:10]}"
    store = _store(server_uri, name, consistency_level="Bounded")
    client = MilvusClient(uri=server_uri)
    try:
        record = Record(id="x", text="x", vector=hashed_vector("x"), metadata={"k": 7})
        assert store.upsert([record]) == ["x"]
        assert store.delete(filter=eq("k", 7)) == 1  # was 0, with the row deleted
        assert _count(client, name) == 0
    finally:
        client.drop_collection(name)
        client.close()
        store.close()
