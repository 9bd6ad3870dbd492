"""LlamaIndex stores that are not one dense field: sparse-only (``enable_dense=False``) and
named dense fields (``vector_fields={"topic": model}``), on every engine, sync and async."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from llama_index.core import Document, StorageContext, VectorStoreIndex
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import (
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
)

from milvus_plugins.core import (
    ConfigError,
    InvalidInputError,
    UnsupportedByServerError,
    Weighted,
)
from milvus_plugins.llama_index import MilvusVectorStore

DOCUMENTS = [
    Document(
        id_="zebras",
        text="Zebras are striped horses that graze on the African savanna.",
        metadata={"topic": "animals"},
    ),
    Document(
        id_="rockets",
        text="Rockets burn fuel to lift satellites into orbit around the Earth.",
        metadata={"topic": "space"},
    ),
    Document(
        id_="bread",
        text="Sourdough bread rises slowly because wild yeast ferments the flour.",
        metadata={"topic": "food"},
    ),
]


class TopicEmbedding(BaseEmbedding):
    """Counts topic words (the node's embed text includes its metadata): a second model."""

    def _vector(self, text: str) -> list[float]:
        words = re.findall(r"\w+", text.lower())
        return [float(words.count(w)) for w in ("animals", "space", "food")] + [0.1]

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._vector(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._vector(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._vector(text)


def refs(hits: list) -> list[str | None]:  # type: ignore[type-arg]
    return [h.node.ref_doc_id for h in hits]


def build(store: MilvusVectorStore, embed_model: BaseEmbedding) -> VectorStoreIndex:
    return VectorStoreIndex.from_documents(
        DOCUMENTS,
        storage_context=StorageContext.from_defaults(vector_store=store),
        embed_model=embed_model,
    )


def _supported(store: MilvusVectorStore, embed_model: BaseEmbedding, feature: str) -> bool:
    caps = store.store.capabilities
    available, minimum = {
        "BM25 full-text function": (caps.bm25_function, "2.5"),
        "multiple vector fields": (caps.multi_vector, "2.4"),
    }[feature]
    if not available:
        with pytest.raises(UnsupportedByServerError, match=rf"{feature}.*{minimum}"):
            build(store, embed_model)
        assert not store.store.exists()
        return False
    return True


# -- sparse-only -------------------------------------------------------------------------


@pytest.fixture
def sparse_store(uri: str, collection_name: str) -> Iterator[MilvusVectorStore]:
    store = MilvusVectorStore(uri=uri, collection_name=collection_name, enable_dense=False)
    yield store
    store.close()


def test_sparse_only_store_serves_keyword_queries(
    sparse_store: MilvusVectorStore, embed_model: BaseEmbedding
) -> None:
    assert sparse_store.enable_sparse and not sparse_store.enable_dense
    if not _supported(sparse_store, embed_model, "BM25 full-text function"):
        return
    index = build(sparse_store, embed_model)
    for mode in ("text_search", "sparse"):
        hits = index.as_retriever(vector_store_query_mode=mode, similarity_top_k=2).retrieve(
            "sourdough bread"
        )
        assert refs(hits)[0] == "bread"
        assert all(h.score is not None and 0.0 < h.score <= 1.0 for h in hits)
    nodes = sparse_store.get_nodes(
        filters=MetadataFilters(filters=[MetadataFilter(key="topic", value="space")])
    )
    assert [n.ref_doc_id for n in nodes] == ["rockets"] and nodes[0].embedding is None
    only = sparse_store.query(
        VectorStoreQuery(
            query_str="",
            similarity_top_k=5,
            filters=MetadataFilters(filters=[MetadataFilter(key="topic", value="food")]),
        )
    )
    assert [n.ref_doc_id for n in only.nodes] == ["bread"]  # filter-only
    sparse_store.delete("bread")
    keyword = index.as_retriever(vector_store_query_mode="text_search", similarity_top_k=3)
    assert "bread" not in refs(keyword.retrieve("sourdough bread yeast"))


def test_sparse_only_refuses_dense_mmr_and_hybrid_with_the_fix(
    sparse_store: MilvusVectorStore, embed_model: BaseEmbedding
) -> None:
    fix = r"sparse-only \(dense=False\); create the store with enable_dense=True"
    for mode in ("default", "mmr", "hybrid"):
        query = VectorStoreQuery(
            query_embedding=[0.1] * 4, query_str="zebras", similarity_top_k=2, mode=mode
        )
        with pytest.raises(ConfigError, match=fix):
            sparse_store.query(query)
    with pytest.raises(ConfigError, match="needs a sparse field"):
        MilvusVectorStore(collection_name="x", enable_dense=False, enable_sparse=False)
    assert not sparse_store.store.exists()


async def test_sparse_only_async_twins(
    sparse_store: MilvusVectorStore, embed_model: BaseEmbedding
) -> None:
    nodes = [
        TextNode(id_="a", text="striped zebras", embedding=[1.0, 0.0]),
        TextNode(id_="b", text="orbiting rockets", embedding=[0.0, 1.0]),
    ]
    if not sparse_store.store.capabilities.bm25_function:
        with pytest.raises(UnsupportedByServerError, match="BM25 full-text function"):
            await sparse_store.async_add(nodes)
        return
    assert await sparse_store.async_add(nodes) == ["a", "b"]
    result = await sparse_store.aquery(
        VectorStoreQuery(query_str="rockets", similarity_top_k=2, mode="text_search")
    )
    assert result.ids == ["b"]
    await sparse_store.adelete_nodes(["b"])
    assert [n.node_id for n in await sparse_store.aget_nodes(["a", "b"])] == ["a"]
    with pytest.raises(ConfigError, match="sparse-only"):
        await sparse_store.aquery(VectorStoreQuery(query_embedding=[1.0, 0.0], query_str="x"))


# -- named dense fields ------------------------------------------------------------------


def test_named_field_is_filled_by_its_model_and_searched_by_name(
    uri: str, collection_name: str, embed_model: BaseEmbedding
) -> None:
    store = MilvusVectorStore(
        uri=uri, collection_name=collection_name, vector_fields={"topic": TopicEmbedding()}
    )
    try:
        if not _supported(store, embed_model, "multiple vector fields"):
            return
        index = build(store, embed_model)
        topic = index.as_retriever(
            similarity_top_k=1, vector_store_kwargs={"vector_field": "topic"}
        )
        # The question shares no word with the space document's text, only its topic.
        assert refs(topic.retrieve("anything about space?")) == ["rockets"]
        body = index.as_retriever(similarity_top_k=1)
        assert refs(body.retrieve("striped horses")) == ["zebras"]
        hybrid = index.as_retriever(vector_store_query_mode="hybrid", similarity_top_k=3)
        hits = hybrid.retrieve("space rockets orbit")
        assert refs(hits)[0] == "rockets"
        assert all(h.score is not None and 0.0 <= h.score <= 1.0 for h in hits)
        with pytest.raises(ConfigError, match="'nope' is not a dense field"):
            index.as_retriever(vector_store_kwargs={"vector_field": "nope"}).retrieve("x")
        node_id = store.get_nodes(
            filters=MetadataFilters(filters=[MetadataFilter(key="topic", value="food")])
        )[0].node_id
        record = store.store.get([node_id], include_vectors=True)[0]
        assert record.vectors["topic"] == pytest.approx([0.0, 0.0, 1.0, 0.1])
    finally:
        store.close()


def test_three_leg_hybrid_with_bm25_and_its_checks(
    uri: str, collection_name: str, embed_model: BaseEmbedding
) -> None:
    with pytest.raises(ConfigError, match=r"2 weights.*3 legs.*\(vector, topic, sparse\)"):
        MilvusVectorStore(
            uri=uri,
            collection_name=collection_name,
            vector_fields={"topic": TopicEmbedding()},
            enable_sparse=True,
            ranker=Weighted(0.5, 0.5),
        )
    store = MilvusVectorStore(
        uri=uri,
        collection_name=collection_name,
        vector_fields={"topic": TopicEmbedding()},
        enable_sparse=True,
        ranker=Weighted(0.3, 0.2, 0.5),
    )
    try:
        if not _supported(store, embed_model, "multiple vector fields"):
            return
        index = build(store, embed_model)
        hybrid = index.as_retriever(vector_store_query_mode="hybrid", similarity_top_k=3)
        hits = hybrid.retrieve("sourdough yeast")
        assert refs(hits)[0] == "bread"
        assert all(h.score is not None and 0.0 <= h.score <= 1.0 for h in hits)
        with_alpha = index.as_retriever(vector_store_query_mode="hybrid", alpha=0.5)
        with pytest.raises(InvalidInputError, match=r"alpha=0\.5 weighs two legs"):
            with_alpha.retrieve("sourdough")
    finally:
        store.close()


async def test_named_fields_async_twins(
    uri: str, collection_name: str, embed_model: BaseEmbedding
) -> None:
    store = MilvusVectorStore(
        uri=uri, collection_name=collection_name, vector_fields={"topic": TopicEmbedding()}
    )
    nodes = [
        TextNode(
            id_=d.id_,
            text=d.text,
            metadata=d.metadata,
            embedding=embed_model.get_text_embedding(d.text),
        )
        for d in DOCUMENTS
    ]
    try:
        if not store.store.capabilities.multi_vector:
            with pytest.raises(UnsupportedByServerError, match="multiple vector fields"):
                await store.async_add(nodes)
            return
        await store.async_add(nodes)
        query = VectorStoreQuery(
            query_embedding=embed_model.get_query_embedding("food"),
            query_str="food",
            similarity_top_k=1,
        )
        result = await store.aquery(query, vector_field="topic")
        assert result.ids == ["bread"]
        # Both legs rank rockets, zebras, bread with distinct scores (with "satellites
        # space" zebras and bread tied in each leg, so RRF's order of them was any).
        text = "space satellites, space orbit, striped animals"
        hybrid = VectorStoreQuery(
            query_embedding=embed_model.get_query_embedding(text),
            query_str=text,
            similarity_top_k=3,
            mode="hybrid",
        )
        expected = ["rockets", "zebras", "bread"]
        assert (await store.aquery(hybrid)).ids == store.query(hybrid).ids == expected
    finally:
        store.close()
