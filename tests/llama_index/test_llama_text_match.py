"""LlamaIndex adapter: ``FilterOperator.TEXT_MATCH`` on the node text, and collection properties.

``TEXT_MATCH`` on the key ``"text"`` is Milvus ``TEXT_MATCH`` (words after analysis);
on a metadata key it stays a substring match (Milvus cannot analyse JSON). Every
scenario runs on every engine; where the engine lacks the feature the store raises
:class:`UnsupportedByServerError`.
"""

from __future__ import annotations

import pytest
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import (
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
)
from tests.llama_index.conftest import KeywordEmbedding

from milvus_plugins.core import UnsupportedByServerError
from milvus_plugins.llama_index import MilvusVectorStore

TEXTS = {
    "err": "Error code E1234 in billing",
    "fox": "the quick brown fox",
    "hostile": "') or true or ('",
    "cats": "concatenated cats",
}


def _nodes(embed: KeywordEmbedding) -> list[TextNode]:
    return [
        TextNode(id_=k, text=t, metadata={"title": f"about {t}"}, embedding=embed._vector(t))
        for k, t in TEXTS.items()
    ]


def _query(embed: KeywordEmbedding, key: str, value: str) -> VectorStoreQuery:
    flt = MetadataFilter(key=key, operator=FilterOperator.TEXT_MATCH, value=value)
    return VectorStoreQuery(
        query_embedding=embed._vector("x"),
        similarity_top_k=10,
        filters=MetadataFilters(filters=[flt]),
    )


def test_text_match_on_the_node_text(
    uri: str, collection_name: str, embed_model: KeywordEmbedding
) -> None:
    store = MilvusVectorStore(uri=uri, collection_name=collection_name, text_match=True)
    try:
        if not store.store.capabilities.text_match:
            with pytest.raises(UnsupportedByServerError, match="text match"):
                store.add(_nodes(embed_model))
            return
        store.add(_nodes(embed_model))
        found = store.query(_query(embed_model, "text", "E1234 FOX"))
        assert set(found.ids or []) == {"err", "fox"}
        hostile = store.query(_query(embed_model, "text", "') or true or ('"))
        assert set(hostile.ids or []) == {"hostile"}
        # a word match: "cat" is not a word of "concatenated cats"
        assert not store.query(_query(embed_model, "text", "cat")).ids
        # on a metadata key TEXT_MATCH stays a substring match
        substring = store.query(_query(embed_model, "title", "cat"))
        assert set(substring.ids or []) == {"cats"}
    finally:
        store.close()


async def test_text_match_on_the_node_text_async(
    uri: str, collection_name: str, embed_model: KeywordEmbedding
) -> None:
    store = MilvusVectorStore(uri=uri, collection_name=collection_name, text_match=True)
    try:
        if not store.store.capabilities.text_match:
            with pytest.raises(UnsupportedByServerError):
                await store.async_add(_nodes(embed_model))
            return
        await store.async_add(_nodes(embed_model))
        found = await store.aquery(_query(embed_model, "text", "billing"))
        assert found.ids == ["err"]
    finally:
        await store.aclose()


def test_text_match_on_a_store_without_it_is_refused(
    lite_uri: str, embed_model: KeywordEmbedding
) -> None:
    store = MilvusVectorStore(uri=lite_uri, collection_name="plain")
    try:
        store.add(_nodes(embed_model))
        with pytest.raises(ValueError, match="text_match=True"):
            store.query(_query(embed_model, "text", "fox"))
    finally:
        store.close()


async def test_collection_properties_async(
    uri: str, collection_name: str, embed_model: KeywordEmbedding
) -> None:
    store = MilvusVectorStore(
        uri=uri,
        collection_name=collection_name,
        collection_properties={"num_shards": 2, "mmap": True},
    )
    try:
        caps = store.store.capabilities
        if not caps.collection_mmap:
            with pytest.raises(UnsupportedByServerError, match="mmap"):
                await store.async_add(_nodes(embed_model))
            return
        await store.async_add(_nodes(embed_model))
        props = store.store.stats().properties
        assert props["mmap"] is True
        assert props.get("num_shards") == (2 if caps.shards else None)
    finally:
        await store.aclose()
