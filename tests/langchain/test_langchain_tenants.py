"""LangChain: tenants, strict mode, partition names and num_partitions through kwargs."""

from __future__ import annotations

import asyncio

import pytest
from langchain_core.documents import Document
from tests.support.faces import VocabEmbeddings

from milvus_plugins.core import (
    ConfigError,
    RawFilterRefusedError,
    TenantMismatchError,
    TenantRequiredError,
    UnexpectedArgumentError,
    UnsupportedByServerError,
)
from milvus_plugins.langchain import MilvusVectorStore

A, B = 'a" or true or "', "b\\"


class CountingEmbeddings(VocabEmbeddings):
    """Counts how many texts were embedded (a refused call must embed none)."""

    def __init__(self) -> None:
        self.calls = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += len(texts)
        return super().embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        self.calls += 1
        return super().embed_query(text)


def _tenanted(uri: str, **kwargs: object) -> MilvusVectorStore:
    return MilvusVectorStore(
        kwargs.pop("embedding", VocabEmbeddings()),  # type: ignore[arg-type]
        uri=uri,
        collection_name="lc_tenants",
        metadata_fields={"tenant": "VARCHAR"},
        partition_key="tenant",
        sparse="bm25",
        **kwargs,  # type: ignore[arg-type]
    )


def test_tenant_kwargs_scope_writes_searches_retrievers_and_deletes(lite_uri: str) -> None:
    store = _tenanted(lite_uri)
    store.add_texts(["cat dog", "cat fish"], ids=["a1", "a2"], tenant=A)
    store.add_documents([Document(id="b1", page_content="cat car")], tenant=B)
    for mode in ("dense", "sparse", "hybrid"):
        docs = store.similarity_search("cat", k=10, retrieval_mode=mode, tenant=B)
        assert [d.id for d in docs] == ["b1"]
    scored = store.similarity_search_with_score("cat", k=10, tenant=A, filter={"tenant": B})
    assert scored == []  # a filter naming B cannot widen tenant A's scope
    retriever = store.as_retriever(search_kwargs={"k": 10, "tenant": A})
    assert {d.id for d in retriever.invoke("cat")} == {"a1", "a2"}
    mmr = store.max_marginal_relevance_search("cat", k=2, fetch_k=10, tenant=B)
    assert [d.id for d in mmr] == ["b1"]
    by_vector = store.similarity_search_by_vector([1.0] * 11, k=10, tenant=B)
    assert [d.id for d in by_vector] == ["b1"]
    store.delete(["a1", "b1"], tenant=A)
    assert {d.id for d in store.get_by_ids(["a1", "a2", "b1"])} == {"a2", "b1"}
    store.delete(tenant=B)  # "delete all" is the tenant's all
    assert {d.id for d in store.get_by_ids(["a2", "b1"])} == {"a2"}

    async def scenario() -> tuple[list[str | None], list[str | None]]:
        try:
            await store.aadd_texts(["cat"], ids=["b2"], tenant=B)
            docs = await store.asimilarity_search("cat", k=10, retrieval_mode="hybrid", tenant=B)
            await store.adelete(tenant=A)
            rest = await store.aget_by_ids(["a2", "b2"])
            return [d.id for d in docs], [d.id for d in rest]
        finally:
            await store.aclose()

    assert asyncio.run(scenario()) == (["b2"], ["b2"])


def test_store_tenant_is_the_default_of_every_call(lite_uri: str) -> None:
    _tenanted(lite_uri).add_texts(["cat"], ids=["b1"], tenant=B)
    store = _tenanted(lite_uri, tenant=A)
    store.add_texts(["cat"], ids=["a1"])
    assert [d.id for d in store.similarity_search("cat", k=10)] == ["a1"]
    assert [d.id for d in store.get_by_ids(["a1", "b1"])] == ["a1"]
    assert [d.metadata["tenant"] for d in store.get_by_ids(["a1"])] == [A]
    assert [d.id for d in store.similarity_search("cat", k=10, tenant=B)] == ["b1"]


def test_strict_mode_and_mismatches_are_refused_before_embedding(lite_uri: str) -> None:
    embeddings = CountingEmbeddings()
    store = _tenanted(lite_uri, tenant_mode="strict", embedding=embeddings)
    with pytest.raises(TenantRequiredError):
        store.add_texts(["cat"])
    with pytest.raises(TenantRequiredError):
        store.similarity_search("cat")
    with pytest.raises(TenantRequiredError):
        store.delete(["x"])
    with pytest.raises(RawFilterRefusedError):
        store.similarity_search("cat", tenant=A, filter='text like "c%"')
    with pytest.raises(TenantMismatchError):
        store.add_texts(["cat"], metadatas=[{"tenant": B}], tenant=A)
    with pytest.raises(ConfigError, match="routes rows"):
        store.similarity_search("cat", tenant=A, partition_names=["p1"])
    with pytest.raises(UnexpectedArgumentError, match="tenants"):
        store.similarity_search("cat", tenants=[A])
    assert embeddings.calls == 0
    assert not store.store.exists()


def test_partition_names_kwargs(lite_uri: str) -> None:
    store = MilvusVectorStore(VocabEmbeddings(), uri=lite_uri, collection_name="lc_parts", dim=11)
    store.store.ensure_collection(dim=11)
    store.store.create_partition("p1")
    store.store.create_partition("p2")
    store.add_texts(["cat dog"], ids=["x1"], partition_name="p1")
    store.add_texts(["cat car"], ids=["x2"], partition_name="p2")
    docs = store.similarity_search("cat", k=10, partition_names=["p2"])
    assert [d.id for d in docs] == ["x2"]
    store.delete(["x1", "x2"], partition_names=["p1"])
    assert [d.id for d in store.get_by_ids(["x1", "x2"])] == ["x2"]
    with pytest.raises(ConfigError, match="partition_names"):
        store.similarity_search("cat", partition_names=["../p1"])


def test_num_partitions_is_unsupported_on_milvus_lite(lite_uri: str) -> None:
    # Milvus Lite 3.2.2 always hashes a partition key into 16 partitions.
    store = _tenanted(lite_uri, num_partitions=8)
    with pytest.raises(UnsupportedByServerError, match="num_partitions"):
        store.add_texts(["cat"], tenant=A)
    with pytest.raises(ConfigError, match="partition_key"):
        MilvusVectorStore(VocabEmbeddings(), uri=lite_uri, num_partitions=8)


@pytest.mark.parametrize("use_async", [False, True])
def test_the_callers_metadata_dicts_are_written_as_given_and_left_unchanged(
    lite_uri: str, use_async: bool
) -> None:
    """add_texts / add_documents: declared keys, None values, the tenant stamp and numpy
    values change neither the caller's dicts nor what reads back."""
    import copy

    import numpy as np

    store = _tenanted(lite_uri)
    metadatas: list[dict[str, object]] = [
        {"z": 1, "tenant": A, "gone": None, "nested": {"k": [1, 2]}},
        {"nested": {"k": []}, "n": np.int64(7)},
        {},
    ]
    docs = [Document(page_content="cat car", metadata={"a": None, "b": [True]})]
    before = copy.deepcopy(metadatas)
    doc_before = copy.deepcopy(docs[0].metadata)
    if use_async:
        texts = ["cat a", "cat b", "cat c"]
        asyncio.run(store.aadd_texts(texts, metadatas, ids=["m1", "m2", "m3"], tenant=A))
        asyncio.run(store.aadd_documents(docs, ids=["m4"], tenant=A))
    else:
        store.add_texts(["cat a", "cat b", "cat c"], metadatas, ids=["m1", "m2", "m3"], tenant=A)
        store.add_documents(docs, ids=["m4"], tenant=A)
    assert metadatas == before
    assert type(metadatas[1]["n"]) is np.int64  # not converted in the caller's dict
    assert docs[0].metadata == doc_before
    got = {d.id: d.metadata for d in store.get_by_ids(["m1", "m2", "m3", "m4"])}
    assert got == {
        "m1": {"z": 1, "tenant": A, "gone": None, "nested": {"k": [1, 2]}},
        "m2": {"nested": {"k": []}, "n": 7, "tenant": A},
        "m3": {"tenant": A},
        "m4": {"a": None, "b": [True], "tenant": A},
    }
    assert list(got["m1"]) == ["z", "tenant", "gone", "nested"]  # the written key order
    store.close()
