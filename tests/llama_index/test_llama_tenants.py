"""LlamaIndex: tenants, strict mode and ``milvus_partition_names`` through the store's fields
and ``vector_store_kwargs`` / ``add_kwargs`` / ``delete_kwargs``."""

from __future__ import annotations

import asyncio

import pytest
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import (
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
)
from tests.support.faces import embed

from milvus_plugins.core import (
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    MilvusStore,
    Record,
    TenantMismatchError,
    TenantRequiredError,
    UnexpectedArgumentError,
)
from milvus_plugins.llama_index import MilvusVectorStore

A, B = 'a" or true or "', "b\\"


def _node(node_id: str, text: str, **metadata: object) -> TextNode:
    return TextNode(id_=node_id, text=text, embedding=embed(text), metadata=dict(metadata))


def _query(
    text: str, mode: VectorStoreQueryMode = VectorStoreQueryMode.DEFAULT
) -> VectorStoreQuery:
    return VectorStoreQuery(
        query_embedding=embed(text), query_str=text, similarity_top_k=10, mode=mode
    )


def _tenanted(uri: str, **kwargs: object) -> MilvusVectorStore:
    return MilvusVectorStore(
        uri=uri,
        collection_name="li_tenants",
        metadata_fields={"tenant": "VARCHAR"},
        partition_key="tenant",
        enable_sparse=True,
        **kwargs,  # type: ignore[arg-type]
    )


def test_tenant_kwargs_scope_add_query_get_and_delete(lite_uri: str) -> None:
    admin = _tenanted(lite_uri)
    admin.add([_node("a1", "cat dog", ref="r"), _node("a2", "cat")], tenant=A)
    admin.add([_node("b1", "cat", ref="r")], tenant=B)
    for mode in (
        VectorStoreQueryMode.DEFAULT,
        VectorStoreQueryMode.MMR,
        VectorStoreQueryMode.TEXT_SEARCH,
        VectorStoreQueryMode.HYBRID,
    ):
        assert admin.query(_query("cat", mode), tenant=B).ids == ["b1"]
    mine = _tenanted(lite_uri, tenant=A)
    assert {n.node_id for n in mine.get_nodes()} == {"a1", "a2"}
    assert {n.metadata["tenant"] for n in mine.get_nodes()} == {A}
    other = MetadataFilters(filters=[MetadataFilter(key="tenant", value=B)])
    assert mine.get_nodes(filters=other) == []
    assert set(mine.query(_query("cat")).ids or []) == {"a1", "a2"}
    assert mine.query(_query("cat"), tenant=B).ids == ["b1"]
    mine.delete_nodes(node_ids=["a1", "b1"])
    assert {n.node_id for n in admin.get_nodes()} == {"a2", "b1"}
    admin.delete_nodes(node_ids=["b1"], tenant=A)
    assert {n.node_id for n in admin.get_nodes()} == {"a2", "b1"}
    mine.clear()  # the tenant's nodes only: the collection and B's nodes stay
    assert {n.node_id for n in admin.get_nodes()} == {"b1"}

    async def scenario() -> list[str]:
        try:
            await mine.async_add([_node("a3", "cat")])
            result = await mine.aquery(_query("cat", VectorStoreQueryMode.HYBRID))
            await mine.adelete_nodes(node_ids=["a3", "b1"])
            return list(result.ids or [])
        finally:
            await mine.aclose()

    assert asyncio.run(scenario()) == ["a3"]
    assert {n.node_id for n in admin.get_nodes()} == {"b1"}


def test_strict_mode_and_mismatches_are_refused_before_any_io(lite_uri: str) -> None:
    store = _tenanted(lite_uri, tenant_mode="strict")
    with pytest.raises(TenantRequiredError):
        store.add([_node("x", "cat")])
    with pytest.raises(TenantRequiredError):
        store.query(_query("cat"))
    with pytest.raises(TenantRequiredError):
        store.get_nodes()
    with pytest.raises(TenantRequiredError):
        store.clear()
    with pytest.raises(TenantMismatchError):
        store.add([_node("x", "cat", tenant=B)], tenant=A)
    with pytest.raises(UnexpectedArgumentError, match="tenants"):
        store.query(_query("cat"), tenants=[A])
    with pytest.raises(ConfigError, match="routes rows"):
        _tenanted(lite_uri, milvus_partition_names=["p1"])
    assert not store.store.exists()


def test_milvus_partition_names_scope_reads_writes_and_deletes(lite_uri: str) -> None:
    core = MilvusStore(
        CollectionSpec(name="li_parts", dim=11), connection=ConnectionConfig(uri=lite_uri)
    )
    core.ensure_collection(dim=11)
    core.create_partition("p1")
    core.create_partition("p2")
    p1 = MilvusVectorStore(uri=lite_uri, collection_name="li_parts", milvus_partition_names=["p1"])
    p1.add([_node("x1", "cat")])  # into the one named partition
    core.upsert([Record(id="x2", text="cat", vector=embed("cat"))], partition_name="p2")
    assert [n.node_id for n in p1.get_nodes()] == ["x1"]
    assert p1.query(_query("cat")).ids == ["x1"]
    assert p1.query(_query("cat"), milvus_partition_names=["p2"]).ids == ["x2"]
    both = MilvusVectorStore(
        uri=lite_uri, collection_name="li_parts", milvus_partition_names=["p1", "p2"]
    )
    assert set(both.query(_query("cat")).ids or []) == {"x1", "x2"}
    with pytest.raises(ConfigError, match="partition_name"):
        both.add([_node("x3", "cat")])
    both.add([_node("x3", "cat")], partition_name="p2")
    p1.delete_nodes(node_ids=["x1", "x2", "x3"])
    assert {r.id for r in core.query()} == {"x2", "x3"}
    p1.add([_node("x4", "cat")])
    p1.clear()  # the partition's nodes only
    assert {r.id for r in core.query()} == {"x2", "x3"}
    assert p1.to_dict()["milvus_partition_names"] == ["p1"]
    with pytest.raises(ConfigError, match="milvus_partition_names"):
        MilvusVectorStore(uri=lite_uri, collection_name="li_parts", milvus_partition_names=["a/b"])
