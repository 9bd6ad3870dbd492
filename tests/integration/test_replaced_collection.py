"""A collection replaced behind an open store: dropped and re-created by another client
with another schema, or an alias moved to another collection (a re-index).

The store must notice before it writes or deletes (nothing written into, or deleted
from, a collection it did not open), and its reads must follow the alias with the new
collection's metric, or refuse with a typed error; a collection released by another
client is loaded again by the read that found it released.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding
from llama_index.core.schema import TextNode
from pymilvus import MilvusClient

import milvus_plugins.core.session as session_module
from milvus_plugins.core import (
    READ_CHECK_TTL,
    AsyncMilvusStore,
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    InvalidInputError,
    MilvusOperationError,
    MilvusStore,
    Record,
    SchemaMismatchError,
    point_alias,
    reindex,
)
from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

DIM = 8


def _vector(i: int, dim: int = DIM) -> list[float]:
    # A vector of its own for every i: the cyclic formula used before repeated every 11
    # ids (r3 and r14 were one vector), and tied rows come back in any order.
    rng = random.Random(i)
    return [rng.uniform(0.5, 2.0) for _ in range(dim)]


def _records(n: int, prefix: str = "r") -> list[Record]:
    return [Record(id=f"{prefix}{i}", text=f"text {i}", vector=_vector(i)) for i in range(n)]


def _replace_with_foreign(uri: str, name: str) -> MilvusClient:
    """Another tool drops ``name`` and creates its own collection there, one row 'f1'."""
    raw = MilvusClient(uri=uri)
    raw.drop_collection(name)
    raw.create_collection(name, dimension=DIM, id_type="string", max_length=64)
    raw.insert(name, [{"id": "f1", "vector": _vector(1)}])
    raw.flush(name)
    return raw


def _foreign_rows(raw: MilvusClient, name: str) -> list[str]:
    return sorted(str(r["id"]) for r in raw.query(name, filter='id != ""', output_fields=["id"]))


def _core(uri: str, name: str) -> dict[str, Callable[[], Any]]:
    store = MilvusStore(CollectionSpec(name=name, dim=DIM), connection=ConnectionConfig(uri=uri))
    store.upsert(_records(3))
    return {
        "upsert": lambda: store.upsert(_records(2, "new")),
        "delete ids": lambda: store.delete(ids=["f1"]),
        "search": lambda: store.search(_vector(1), k=3),
    }


def _core_async(uri: str, name: str) -> dict[str, Callable[[], Any]]:
    sync = MilvusStore(CollectionSpec(name=name, dim=DIM), connection=ConnectionConfig(uri=uri))
    sync.upsert(_records(3))
    store = AsyncMilvusStore(sync)
    return {
        "upsert": lambda: asyncio.run(store.upsert(_records(2, "new"))),
        "delete ids": lambda: asyncio.run(store.delete(ids=["f1"])),
    }


def _langchain(uri: str, name: str) -> dict[str, Callable[[], Any]]:
    store = LangChainStore(DeterministicFakeEmbedding(size=DIM), uri=uri, collection_name=name)
    store.add_texts(["a", "b", "c"], ids=["r0", "r1", "r2"])
    return {
        "upsert": lambda: store.add_texts(["new"], ids=["new0"]),
        "delete ids": lambda: store.delete(ids=["f1"]),
    }


def _llama(uri: str, name: str) -> dict[str, Callable[[], Any]]:
    store = LlamaStore(uri=uri, collection_name=name, dim=DIM)
    store.add([TextNode(id_=f"r{i}", text=f"t{i}", embedding=_vector(i)) for i in range(3)])
    return {
        "upsert": lambda: store.add([TextNode(id_="new0", text="n", embedding=_vector(5))]),
        "delete ids": lambda: store.delete_nodes(node_ids=["f1"]),
    }


@pytest.mark.parametrize("entry", [_core, _core_async, _langchain, _llama])
def test_a_collection_replaced_by_another_tool_is_neither_written_nor_deleted(
    uri: str, collection_name: str, entry: Callable[[str, str], dict[str, Callable[[], Any]]]
) -> None:
    calls = entry(uri, collection_name)
    raw = _replace_with_foreign(uri, collection_name)
    try:
        for what in ("upsert", "delete ids"):
            with pytest.raises(SchemaMismatchError, match="has no field 'text'"):
                calls[what]()
            assert _foreign_rows(raw, collection_name) == ["f1"], what
    finally:
        raw.close()


def test_reads_of_a_replaced_collection_are_refused(uri: str, collection_name: str) -> None:
    calls = _core(uri, collection_name)
    calls["search"]()
    raw = _replace_with_foreign(uri, collection_name)
    try:
        time.sleep(READ_CHECK_TTL + 0.1)  # reads trust an open collection this long
        with pytest.raises(SchemaMismatchError):
            calls["search"]()
    finally:
        raw.close()


def test_a_store_without_dim_refuses_vectors_of_another_dimension(
    uri: str, collection_name: str
) -> None:
    connection = ConnectionConfig(uri=uri)
    MilvusStore(CollectionSpec(name=collection_name, dim=16), connection=connection).upsert(
        [Record(id="a", text="a", vector=_vector(1, 16))]
    )
    store = MilvusStore(CollectionSpec(name=collection_name), connection=connection)
    with pytest.raises(InvalidInputError, match=r"8 dimensions.*16-dimensional"):
        store.upsert([Record(id="b", text="b", vector=_vector(2))])
    assert store.count() == 1


@pytest.mark.parametrize("moved_by", ["reindex", "another client"])
def test_a_reader_on_an_alias_follows_it_to_the_new_metric(tmp_path: Any, moved_by: str) -> None:
    connection = ConnectionConfig(uri=str(tmp_path / "m.db"))
    source = MilvusStore(
        CollectionSpec(name="docs_v1", dim=DIM, index="FLAT"), connection=connection
    )
    source.upsert(_records(20))
    point_alias(connection, "docs", "docs_v1")
    # A reader adopting what the alias names follows it; one checking its own spec
    # (COSINE by default) refuses the L2 collection, as a new store of that spec would.
    adopting = MilvusStore(CollectionSpec(name="docs"), connection=connection, open_mode="adopt")
    checking = MilvusStore(CollectionSpec(name="docs", dim=DIM), connection=connection)
    before = [(h.id, h.score) for h in adopting.search(_vector(3), k=5)]
    assert [(h.id, h.score) for h in checking.search(_vector(3), k=5)] == before
    if moved_by == "reindex":
        reindex(connection, "docs", index={"index_type": "FLAT", "metric": "L2"})
    else:
        l2 = MilvusStore(
            CollectionSpec(name="docs_l2", dim=DIM, metric="L2", index="FLAT"),
            connection=connection,
        )
        l2.upsert(_records(20))
        raw = MilvusClient(uri=connection.uri)
        raw.alter_alias("docs_l2", "docs")  # not through this package: no notice
        raw.close()
        time.sleep(READ_CHECK_TTL + 0.1)
    fresh = MilvusStore(CollectionSpec(name="docs"), connection=connection, open_mode="adopt")
    expected = [(h.id, h.score) for h in fresh.search(_vector(3), k=5)]
    assert expected != before  # L2 relevance differs from COSINE's on these vectors
    assert [(h.id, h.score) for h in adopting.search(_vector(3), k=5)] == expected
    with pytest.raises(SchemaMismatchError, match="metric L2 but COSINE"):
        checking.search(_vector(3), k=5)


def test_an_alias_cannot_point_at_an_alias(tmp_path: Any) -> None:
    connection = ConnectionConfig(uri=str(tmp_path / "m.db"))
    MilvusStore(CollectionSpec(name="notes", dim=DIM), connection=connection).upsert(_records(1))
    point_alias(connection, "live", "notes")
    with pytest.raises(ConfigError, match="an alias cannot point at an alias"):
        point_alias(connection, "live_b", "live")
    raw = MilvusClient(uri=connection.uri)
    try:
        assert "live_b" not in raw.list_aliases("notes")["aliases"]
    finally:
        raw.close()


def test_a_read_loads_a_collection_another_client_released(uri: str, collection_name: str) -> None:
    store = MilvusStore(
        CollectionSpec(name=collection_name, dim=DIM), connection=ConnectionConfig(uri=uri)
    )
    store.upsert(_records(3))
    raw = MilvusClient(uri=uri)
    try:
        raw.release_collection(collection_name)
        assert [h.id for h in store.search(_vector(1), k=1)] == ["r1"]
        raw.release_collection(collection_name)
        hits = asyncio.run(AsyncMilvusStore(store).search(_vector(1), k=1))
        assert [h.id for h in hits] == ["r1"]
    finally:
        raw.close()


def _rebuild_index_in_place(uri: str, name: str, metric: str, index_name: str | None) -> None:
    """Another client releases the collection and rebuilds its dense index with
    ``metric`` (same collection and schema; the index renamed when ``index_name``)."""
    raw = MilvusClient(uri=uri)
    raw.release_collection(name)
    raw.drop_index(name, raw.list_indexes(name, field_name="vector")[0])
    params = raw.prepare_index_params()
    params.add_index(
        field_name="vector", index_type="FLAT", metric_type=metric, index_name=index_name or ""
    )
    raw.create_index(name, params)
    raw.load_collection(name)
    raw.close()


@pytest.mark.parametrize("renamed", [False, True])
@pytest.mark.parametrize("open_mode", ["check", "adopt"])
def test_a_read_sees_an_index_rebuilt_in_place(
    uri: str,
    collection_name: str,
    open_mode: str,
    renamed: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A read's index check (every READ_INDEX_CHECK_TTL, shortened here) describes the
    dense index by the name it last saw (one round trip); an index rebuilt in place with
    another metric, under the same name or another, is seen: a checking store raises
    SchemaMismatchError, an adopting one scores by the new metric."""
    monkeypatch.setattr(session_module, "READ_INDEX_CHECK_TTL", READ_CHECK_TTL)
    writer = MilvusStore(
        CollectionSpec(name=collection_name, dim=DIM, index="FLAT"),
        connection=ConnectionConfig(uri=uri),
    )
    writer.upsert(_records(20))
    spec = CollectionSpec(name=collection_name, dim=DIM if open_mode == "check" else None)
    reader = MilvusStore(spec, connection=ConnectionConfig(uri=uri), open_mode=open_mode)
    cosine = reader.search(_vector(3), k=5)
    assert cosine[0].id == "r3"
    _rebuild_index_in_place(uri, collection_name, "L2", "moved_idx" if renamed else None)
    time.sleep(READ_CHECK_TTL + 0.1)
    if open_mode == "check":
        with pytest.raises(SchemaMismatchError, match="metric L2 but COSINE"):
            reader.search(_vector(3), k=5)
    else:
        fresh = MilvusStore(
            CollectionSpec(name=collection_name),
            connection=ConnectionConfig(uri=uri),
            open_mode="adopt",
        )
        expected = [(h.id, h.score) for h in fresh.search(_vector(3), k=5)]
        assert expected != [(h.id, h.score) for h in cosine]
        assert [(h.id, h.score) for h in reader.search(_vector(3), k=5)] == expected
        fresh.close()
    writer.close()
    reader.close()


def test_a_server_refuses_one_search_in_the_old_metric(uri: str, collection_name: str) -> None:
    """Within READ_INDEX_CHECK_TTL of an index rebuilt in place, a server refuses the
    search in the old metric (a typed MilvusOperationError naming it) and the next read
    checks at once: a checking store then raises SchemaMismatchError. Milvus Lite 3
    answers in the metric asked (the documented window: its other clients share this
    process)."""
    writer = MilvusStore(
        CollectionSpec(name=collection_name, dim=DIM, index="FLAT"),
        connection=ConnectionConfig(uri=uri),
    )
    writer.upsert(_records(20))
    reader = MilvusStore(
        CollectionSpec(name=collection_name, dim=DIM), connection=ConnectionConfig(uri=uri)
    )
    assert reader.search(_vector(3), k=5)[0].id == "r3"
    _rebuild_index_in_place(uri, collection_name, "L2", None)
    time.sleep(READ_CHECK_TTL + 0.1)  # the schema check runs; the index one is not due
    caps = reader.capabilities
    if caps.is_lite and "lite-3." in caps.version:
        assert reader.search(_vector(3), k=5)[0].id == "r3"
    else:
        with pytest.raises(MilvusOperationError, match="metric type not match"):
            reader.search(_vector(3), k=5)
        with pytest.raises(SchemaMismatchError, match="metric L2 but COSINE"):
            reader.search(_vector(3), k=5)
    writer.close()
    reader.close()
