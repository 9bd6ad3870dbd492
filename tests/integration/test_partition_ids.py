"""Ids are unique across a collection's partitions: a write of an id that a row in
another partition holds is refused before anything is written or embedded.

Without the check, an upsert into partition ``a`` of an id stored in ``b`` left two
rows with that id on the 2.3.5 server (``a``'s new one and ``b``'s old one; a read of
the whole collection returned either), and on Milvus Lite 3.2.2 moved the row out of
``b`` or, once ``b``'s row was flushed, kept both. A later delete in one partition then
had an id the other partition also held. Milvus Lite 2.5.1 has no partitions.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding
from llama_index.core.schema import TextNode

from milvus_plugins.core import (
    AsyncMilvusStore,
    CollectionSpec,
    ConnectionConfig,
    InvalidInputError,
    MilvusStore,
    PartitionMismatchError,
    Record,
)
from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore


def _record(rid: str, text: str) -> Record:
    return Record(id=rid, text=text, vector=[1.0, float(len(text))])


def _rows(store: MilvusStore, partition: str | None = None) -> list[tuple[str, str]]:
    names = None if partition is None else [partition]
    return sorted((r.id, r.text) for r in store.query(partition_names=names))


def _parted(uri: str, name: str) -> MilvusStore:
    store = MilvusStore(
        CollectionSpec(name=name, dim=2, sparse="none"), connection=ConnectionConfig(uri=uri)
    )
    if not store.capabilities.partitions:
        store.close()
        pytest.skip("no named partitions on this engine (Milvus Lite 2.5.1)")
    store.ensure_collection(2)
    store.create_partition("pa")
    store.create_partition("pb")
    return store


def _state(store: MilvusStore) -> dict[str, list[tuple[str, str]]]:
    return {p: _rows(store, p) for p in ("_default", "pa", "pb")}


def test_an_id_held_by_another_partition_is_refused_and_nothing_changes(
    uri: str, collection_name: str
) -> None:
    with _parted(uri, collection_name) as store:
        store.upsert([_record("x", "in b")], partition_name="pb")
        store.upsert([_record("y", "in a")], partition_name="pa")
        before = _state(store)
        # A fresh id in the same batch is not written either.
        batch = [_record("fresh", "new in a"), _record("x", "to a")]
        with pytest.raises(PartitionMismatchError, match="partition 'pb'") as caught:
            store.upsert(batch, partition_name="pa")
        assert "partition_name='pb'" in str(caught.value)  # the fix it names
        assert isinstance(caught.value, InvalidInputError)
        # Without partition_name a write goes into _default: the same id is refused.
        with pytest.raises(PartitionMismatchError, match="'_default'"):
            store.upsert([_record("x", "to default")])
        assert _state(store) == before
        assert [r.text for r in store.get(["x"])] == ["in b"]
        # The partition that holds an id rewrites it; new ids go anywhere.
        store.upsert([_record("x", "b again")], partition_name="pb")
        store.upsert([_record("fresh", "new in a")], partition_name="pa")
        assert _state(store) == {
            "_default": [],
            "pa": [("fresh", "new in a"), ("y", "in a")],
            "pb": [("x", "b again")],
        }
        assert store.count() == 3


def test_a_streamed_write_is_refused_before_the_model_runs(uri: str, collection_name: str) -> None:
    calls: list[int] = []

    def embed(texts: list[str]) -> list[list[float]]:
        calls.append(len(texts))
        return [[1.0, float(len(t))] for t in texts]

    with _parted(uri, collection_name) as store:
        store.upsert([_record("x", "in b")], partition_name="pb")
        unembedded = [Record(id="n", text="new"), Record(id="x", text="to a")]
        with pytest.raises(PartitionMismatchError):
            store.upsert(unembedded, partition_name="pa", embed=embed)
        assert calls == []
        assert _rows(store) == [("x", "in b")]


def test_ids_checked_across_several_queries(uri: str, collection_name: str) -> None:
    # More ids than one lookup query takes (1,000): the taken one is in the second.
    with _parted(uri, collection_name) as store:
        store.upsert([_record("id1500", "in b")], partition_name="pb")
        batch = [_record(f"id{i}", "new") for i in range(1501)]
        with pytest.raises(PartitionMismatchError, match="'id1500'"):
            store.upsert(batch, partition_name="pa")
        assert store.count() == 1


def test_collections_with_one_partition_do_not_look_ids_up(
    lite_uri: str, collection_name: str
) -> None:
    store = MilvusStore(
        CollectionSpec(name=collection_name, dim=2, sparse="none"),
        connection=ConnectionConfig(uri=lite_uri),
    )
    with store:
        store.upsert([_record("x", "one")])
        client = store.client
        seen: list[str] = []
        for method in ("list_partitions", "query"):
            original = getattr(client, method)

            def counted(*args: Any, _name: str = method, _call: Any = original, **kw: Any) -> Any:
                seen.append(_name)
                return _call(*args, **kw)

            setattr(client, method, counted)
        store.upsert([_record("x", "two"), _record("z", "three")])
        assert seen == []
        store.create_partition("pa")
        with pytest.raises(PartitionMismatchError):
            store.upsert([_record("x", "four")], partition_name="pa")
        assert "list_partitions" in seen
        assert sorted(r.text for r in store.query()) == ["three", "two"]


def test_async_store_refuses_too(lite_uri: str, collection_name: str) -> None:
    sync = _parted(lite_uri, collection_name)

    async def scenario() -> list[str]:
        store = AsyncMilvusStore(sync)
        try:
            await store.upsert([_record("x", "in b")], partition_name="pb")
            with pytest.raises(PartitionMismatchError):
                await store.upsert([_record("x", "to a")], partition_name="pa")
            return [r.text for r in await store.query(partition_names=["pa", "pb"])]
        finally:
            await store.close()
            sync.close()

    assert asyncio.run(scenario()) == ["in b"]


def test_both_adapters_refuse(uri: str, collection_name: str) -> None:
    core = _parted(uri, collection_name)
    with core:
        embeddings = DeterministicFakeEmbedding(size=2)
        lc = LangChainStore(embeddings, uri=uri, collection_name=collection_name, dim=2)
        lc.add_texts(["cat"], ids=["x"], partition_name="pb")
        with pytest.raises(PartitionMismatchError):
            lc.add_texts(["dog"], ids=["x"], partition_name="pa")
        li = LlamaStore(uri=uri, collection_name=collection_name, milvus_partition_names=["pa"])
        node = TextNode(id_="x", text="bird", embedding=[0.5, 0.5])
        with pytest.raises(PartitionMismatchError):
            li.add([node])
        li.add([TextNode(id_="y", text="bird", embedding=[0.5, 0.5])])
        assert _state(core) == {"_default": [], "pa": [("y", "bird")], "pb": [("x", "cat")]}


def test_a_tenant_delete_then_another_tenants_write_keeps_the_row_deleted(
    lite_uri: str, collection_name: str
) -> None:
    # The Lite delete flush covers named partitions only: on Milvus Lite 3.2.2 a
    # partition key's partitions never brought a deleted row back (this test passes
    # without the flush too; it guards leaving those deletes unflushed).
    spec = CollectionSpec(
        name=collection_name,
        dim=2,
        sparse="none",
        metadata_fields={"tenant": "VARCHAR"},
        partition_key="tenant",
    )
    with MilvusStore(spec, connection=ConnectionConfig(uri=lite_uri)) as store:
        for i in range(20):
            rid = f"x{i}"
            store.upsert([_record(rid, "first")], tenant=f"a{i}")
            store.delete([rid], tenant=f"a{i}")
            store.upsert([_record(rid, "second")], tenant=f"b{i}")
            assert [r.id for r in store.query(tenant=f"a{i}")] == []
            assert [(r.id, r.text) for r in store.get([rid])] == [(rid, "second")]
