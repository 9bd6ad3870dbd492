"""Ids are unique across a collection's tenants: a tenant's write of an id another
tenant's row holds is refused (it would move that row to the writer and replace it).

Found by a hostile pass: two tenants indexing the same public document with LangChain's
``index()`` (content-hash ids) silently took each other's rows, and the first tenant's
record manager then skipped them for good.
"""

from __future__ import annotations

import asyncio

import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.indexing import InMemoryRecordManager, index
from llama_index.core.schema import TextNode

from milvus_plugins.core import (
    AsyncMilvusStore,
    CollectionSpec,
    ConnectionConfig,
    InvalidInputError,
    MilvusStore,
    Record,
    TenantMismatchError,
)
from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore


def _spec(name: str) -> CollectionSpec:
    return CollectionSpec(
        name=name, dim=2, metadata_fields={"tenant": "VARCHAR"}, partition_key="tenant"
    )


def _record(rid: str, text: str) -> Record:
    return Record(id=rid, text=text, vector=[1.0, float(len(text))])


def _state(store: MilvusStore) -> list[tuple[str, str, object]]:
    return sorted((r.id, r.text, r.metadata.get("tenant")) for r in store.query())


def test_a_tenant_cannot_take_over_another_tenants_id(uri: str, collection_name: str) -> None:
    store = MilvusStore(_spec(collection_name), connection=ConnectionConfig(uri=uri))
    if not store.capabilities.partitions:
        pytest.skip("no partition key on this engine (Milvus Lite 2.5.1): no tenants")
    with store:
        store.upsert([_record("shared", "one's"), _record("own1", "one's own")], tenant="t1")
        before = _state(store)
        batch = [_record("fresh", "two's new"), _record("shared", "two's")]
        with pytest.raises(TenantMismatchError, match="ids are unique across the tenants"):
            store.upsert(batch, tenant="t2")
        # A row without a tenant: every row needs the partition key (Lite 3 failed
        # mid-write with a bare "FieldData 'tenant' has 0 rows").
        with pytest.raises(InvalidInputError, match="partition key"):
            store.upsert([_record("fresh", "nobody's")])
        assert _state(store) == before  # nothing written, not even the fresh id
        # The owner rewrites its own row; another tenant's new ids are fine.
        store.upsert([_record("shared", "one's again")], tenant="t1")
        store.upsert([_record("t2:shared", "two's")], tenant="t2")
        assert [r.text for r in store.get(["shared"], tenant="t1")] == ["one's again"]
        assert [r.id for r in store.query(tenant="t2")] == ["t2:shared"]


def test_async_store_refuses_too(lite_uri: str, collection_name: str) -> None:
    sync = MilvusStore(_spec(collection_name), connection=ConnectionConfig(uri=lite_uri))

    async def scenario() -> list[str]:
        store = AsyncMilvusStore(sync)
        try:
            await store.upsert([_record("shared", "one's")], tenant="t1")
            with pytest.raises(TenantMismatchError):
                await store.upsert([_record("shared", "two's")], tenant="t2")
            return [r.text for r in await store.get(["shared"], tenant="t1")]
        finally:
            await store.close()
            sync.close()

    assert asyncio.run(scenario()) == ["one's"]


def test_streamed_write_refuses_before_embedding(lite_uri: str, collection_name: str) -> None:
    embedded: list[str] = []

    class Counting(DeterministicFakeEmbedding):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            embedded.extend(texts)
            return super().embed_documents(texts)

    kwargs = {
        "uri": lite_uri,
        "collection_name": collection_name,
        "metadata_fields": {"tenant": "VARCHAR"},
        "partition_key": "tenant",
    }
    one = LangChainStore(Counting(size=4), tenant="t1", **kwargs)
    two = LangChainStore(Counting(size=4), tenant="t2", **kwargs)
    one.add_documents([Document("public text", id="shared")])
    embedded.clear()
    with pytest.raises(TenantMismatchError):
        two.add_documents([Document("public text", id="shared")])
    assert "public text" not in embedded  # refused before the model ran
    assert [d.page_content for d in one.get_by_ids(["shared"])] == ["public text"]


def test_two_tenants_indexing_the_same_document(lite_uri: str, collection_name: str) -> None:
    """LangChain's index() gives equal content equal ids: the second tenant is refused
    (its record manager records nothing) and the first keeps its rows; a key_encoder
    that includes the tenant lets both hold the document."""
    kwargs = {
        "uri": lite_uri,
        "collection_name": collection_name,
        "metadata_fields": {"tenant": "VARCHAR"},
        "partition_key": "tenant",
    }
    docs = [Document("the same public page", metadata={"source": "p"})]
    acme = LangChainStore(DeterministicFakeEmbedding(size=4), tenant="acme", **kwargs)
    globex = LangChainStore(DeterministicFakeEmbedding(size=4), tenant="globex", **kwargs)
    acme_rm, globex_rm = InMemoryRecordManager("acme"), InMemoryRecordManager("globex")
    acme_rm.create_schema()
    globex_rm.create_schema()
    assert index(docs, acme_rm, acme, cleanup="full", key_encoder="sha256")["num_added"] == 1
    with pytest.raises(TenantMismatchError):
        index(docs, globex_rm, globex, cleanup="full", key_encoder="sha256")
    assert globex_rm.list_keys() == []
    assert len(acme.similarity_search("page", k=5)) == 1

    def tenant_key(tenant: str):  # type: ignore[no-untyped-def]
        return lambda doc: f"{tenant}:{doc.page_content}"

    globex_rm2 = InMemoryRecordManager("globex2")
    globex_rm2.create_schema()
    result = index(docs, globex_rm2, globex, cleanup="full", key_encoder=tenant_key("globex"))
    assert result["num_added"] == 1
    assert len(acme.similarity_search("page", k=5)) == 1
    assert len(globex.similarity_search("page", k=5)) == 1


def test_llama_index_nodes_of_two_tenants(lite_uri: str, collection_name: str) -> None:
    kwargs = {
        "uri": lite_uri,
        "collection_name": collection_name,
        "dim": 2,
        "metadata_fields": {"tenant": "VARCHAR"},
        "partition_key": "tenant",
    }
    acme = LlamaStore(tenant="acme", **kwargs)
    globex = LlamaStore(tenant="globex", **kwargs)
    acme.add([TextNode(id_="report.pdf#0", text="acme's report", embedding=[1.0, 0.0])])
    with pytest.raises(TenantMismatchError):
        globex.add([TextNode(id_="report.pdf#0", text="globex's report", embedding=[0.0, 1.0])])
    assert [n.get_content() for n in acme.get_nodes(["report.pdf#0"])] == ["acme's report"]
    assert globex.get_nodes(["report.pdf#0"]) == []


def test_int_tenant_refuses_a_bool_or_str_in_the_key(lite_uri: str, collection_name: str) -> None:
    spec = CollectionSpec(
        name=collection_name, dim=2, metadata_fields={"org": "INT64"}, partition_key="org"
    )
    with MilvusStore(spec, connection=ConnectionConfig(uri=lite_uri)) as store:
        for value in (True, "1"):
            record = Record(id="x", text="t", vector=[1.0, 0.0], metadata={"org": value})
            with pytest.raises(TenantMismatchError, match="leave 'org' out"):
                store.upsert([record], tenant=1)
        store.upsert([Record(id="y", text="t", vector=[1.0, 0.0], metadata={"org": 1})], tenant=1)
        assert [(r.id, r.metadata["org"]) for r in store.query()] == [("y", 1)]
