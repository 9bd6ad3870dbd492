"""The embedding fingerprint: recorded at creation, checked on opening, both adapters.

Two real, different offline embeddings of the same dimension (11): the vocabulary
counter of tests/support/faces.py and LangChain's ``DeterministicFakeEmbedding`` /
LlamaIndex's ``MockEmbedding``. A collection filled with one refuses the other (typed
error, explicit override); collections without a fingerprint open as before.
"""

from __future__ import annotations

import asyncio

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding
from llama_index.core.embeddings import MockEmbedding
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import VectorStoreQuery
from tests.support.faces import DIM, VocabEmbedding, VocabEmbeddings, embed

from milvus_plugins.core import (
    CollectionSpec,
    ConnectionConfig,
    EmbeddingMismatchError,
    MilvusStore,
    Record,
    SchemaMismatchError,
    stored_fingerprint,
)
from milvus_plugins.core.fingerprint import DESCRIPTION_MARK, PROPERTY_KEY
from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

TEXTS = ["cat and dog", "fish in water", "milvus vector database", "train and plane"]


def _langchain(uri: str, name: str, embedding: object, **kwargs: object) -> LangChainStore:
    return LangChainStore(embedding, uri=uri, collection_name=name, **kwargs)  # type: ignore[arg-type]


def test_langchain_records_and_checks_the_model(uri: str, collection_name: str) -> None:
    store = _langchain(uri, collection_name, VocabEmbeddings())
    store.add_texts(TEXTS, ids=[f"t{i}" for i in range(len(TEXTS))])
    description = store.store.client.describe_collection(collection_name)
    recorded = stored_fingerprint(description)
    assert recorded is not None and recorded.dim == DIM
    assert recorded.model == "VocabEmbeddings"
    store.close()

    same = _langchain(uri, collection_name, VocabEmbeddings())
    assert same.similarity_search("cat", k=1)[0].page_content == "cat and dog"
    same.close()

    other = _langchain(uri, collection_name, DeterministicFakeEmbedding(size=DIM))
    with pytest.raises(EmbeddingMismatchError, match="VocabEmbeddings") as caught:
        other.similarity_search("cat", k=1)
    assert "allow_embedding_change=True" in str(caught.value)
    assert isinstance(caught.value, SchemaMismatchError)
    with pytest.raises(EmbeddingMismatchError):
        other.add_texts(["written with the wrong model"])
    other.close()

    async def async_search() -> None:
        wrong = _langchain(uri, collection_name, DeterministicFakeEmbedding(size=DIM))
        try:
            with pytest.raises(EmbeddingMismatchError):
                await wrong.asimilarity_search("cat", k=1)
        finally:
            await wrong.aclose()

    asyncio.run(async_search())

    forced = _langchain(
        uri, collection_name, DeterministicFakeEmbedding(size=DIM), allow_embedding_change=True
    )
    assert len(forced.similarity_search("cat", k=2)) == 2
    assert forced.store.count() == len(TEXTS)  # the refused write wrote nothing
    forced.close()


def test_llama_index_records_and_checks_the_model(uri: str, collection_name: str) -> None:
    store = LlamaStore(uri=uri, collection_name=collection_name, embed_model=VocabEmbedding())
    store.add([TextNode(id_=f"n{i}", text=t, embedding=embed(t)) for i, t in enumerate(TEXTS)])
    store.close()
    query = VectorStoreQuery(query_embedding=embed("fish"), similarity_top_k=1)

    same = LlamaStore(uri=uri, collection_name=collection_name, embed_model=VocabEmbedding())
    assert same.query(query).ids == ["n1"]
    same.close()

    other = LlamaStore(
        uri=uri, collection_name=collection_name, embed_model=MockEmbedding(embed_dim=DIM)
    )
    with pytest.raises(EmbeddingMismatchError, match="VocabEmbedding"):
        other.query(query)

    async def async_query() -> None:
        with pytest.raises(EmbeddingMismatchError):
            await other.aquery(query)

    asyncio.run(async_query())
    other.close()

    forced = LlamaStore(
        uri=uri,
        collection_name=collection_name,
        embed_model=MockEmbedding(embed_dim=DIM),
        allow_embedding_change=True,
    )
    assert forced.query(query).ids == ["n1"]
    forced.close()
    # Without embed_model the store does not know the model: nothing is checked.
    unknown = LlamaStore(uri=uri, collection_name=collection_name)
    assert unknown.query(query).ids == ["n1"]
    unknown.close()


def test_fingerprint_is_shared_across_adapters(uri: str, collection_name: str) -> None:
    """LangChain's document embedding and LlamaIndex's text embedding of one model agree."""
    store = _langchain(uri, collection_name, VocabEmbeddings())
    store.add_texts(TEXTS)
    store.close()
    query = VectorStoreQuery(query_embedding=embed("milvus"), similarity_top_k=1)
    llama = LlamaStore(uri=uri, collection_name=collection_name, embed_model=VocabEmbedding())
    assert len(llama.query(query).ids) == 1
    llama.close()
    wrong = LlamaStore(
        uri=uri, collection_name=collection_name, embed_model=MockEmbedding(embed_dim=DIM)
    )
    with pytest.raises(EmbeddingMismatchError):
        wrong.query(query)
    wrong.close()


def test_collection_without_fingerprint_opens_as_before(uri: str, collection_name: str) -> None:
    core = MilvusStore(
        CollectionSpec(name=collection_name, dim=DIM), connection=ConnectionConfig(uri=uri)
    )
    core.upsert([Record(id=f"r{i}", text=t, vector=embed(t)) for i, t in enumerate(TEXTS)])
    assert stored_fingerprint(core.client.describe_collection(collection_name)) is None
    core.close()
    for embedding in (VocabEmbeddings(), DeterministicFakeEmbedding(size=DIM)):
        store = _langchain(uri, collection_name, embedding)
        assert len(store.similarity_search("cat", k=2)) == 2
        store.close()


def test_where_each_engine_keeps_the_fingerprint(uri: str, collection_name: str) -> None:
    """Properties where the engine keeps them, the description where it keeps that."""
    store = _langchain(uri, collection_name, VocabEmbeddings())
    store.add_texts(TEXTS)
    description = store.store.client.describe_collection(collection_name)
    version = store.store.capabilities.version
    store.close()
    in_properties = PROPERTY_KEY in (description.get("properties") or {})
    in_description = DESCRIPTION_MARK in (description.get("description") or "")
    assert in_properties or in_description
    if version.startswith("milvus_lite-3"):
        assert in_properties  # Milvus Lite 3.2.2 drops the description
    if version.startswith("v2.3"):
        assert in_properties and in_description


def test_migrate_carries_the_fingerprint_to_the_target(uri: str, collection_name: str) -> None:
    """The copy holds the source model's vectors: a target the migration creates records
    that model, so another model is refused there too (before: no fingerprint, any model
    of the same dimension was accepted; a helper's review). A target recording another
    model is refused before anything is copied."""
    from milvus_plugins.core import migrate, migration_target_spec

    source = _langchain(uri, collection_name, VocabEmbeddings())
    source.add_texts(TEXTS, ids=[f"t{i}" for i in range(len(TEXTS))])
    core = MilvusStore(CollectionSpec(name=collection_name), connection=ConnectionConfig(uri=uri))
    target_name = f"{collection_name}_copy"
    target = MilvusStore(
        migration_target_spec(core, target_name), connection=ConnectionConfig(uri=uri)
    )
    assert migrate(core, target).copied == len(TEXTS)
    with pytest.raises(EmbeddingMismatchError):
        _langchain(uri, target_name, DeterministicFakeEmbedding(size=DIM)).similarity_search("x")
    assert _langchain(uri, target_name, VocabEmbeddings()).similarity_search("cat", k=1)
    # A target filled with another model: refused, nothing copied.
    other_name = f"{collection_name}_other"
    _langchain(uri, other_name, DeterministicFakeEmbedding(size=DIM)).add_texts(["x"], ids=["o"])
    other = MilvusStore(
        migration_target_spec(core, other_name), connection=ConnectionConfig(uri=uri)
    )
    with pytest.raises(EmbeddingMismatchError):
        migrate(core, other)
    kept = _langchain(uri, other_name, DeterministicFakeEmbedding(size=DIM))
    assert [d.id for d in kept.get_by_ids(["o", "t0", "t1"])] == ["o"]
    for store in (core, target, other):
        store.close()
