"""LangChain adapter: text match (``$text_match`` dict filters) and collection properties.

Each scenario runs on every engine: where the engine lacks text match or a property,
the store raises :class:`UnsupportedByServerError` on the write that would create the
collection, before anything is created.
"""

from __future__ import annotations

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding

from milvus_plugins.core import CollectionProperties, UnsupportedByServerError, text_match
from milvus_plugins.langchain import MilvusVectorStore

TEXTS = ["Error code E1234 in billing", "the quick brown fox", "') or true or ('", "cats"]
IDS = ["err", "fox", "hostile", "cats"]


def _store(uri: str, name: str, **kwargs: object) -> MilvusVectorStore:
    return MilvusVectorStore(
        DeterministicFakeEmbedding(size=8),
        uri=uri,
        collection_name=name,
        **kwargs,  # type: ignore[arg-type]
    )


def test_text_match_dict_filter(uri: str, collection_name: str) -> None:
    store = _store(uri, collection_name, text_match=True)
    try:
        if not store.store.capabilities.text_match:
            with pytest.raises(UnsupportedByServerError, match="text match"):
                store.add_texts(TEXTS, ids=IDS)
            assert collection_name not in store.store.list_collections()
            return
        store.add_texts(TEXTS, ids=IDS)
        docs = store.similarity_search("x", k=10, filter={"text": {"$text_match": "E1234 fox"}})
        assert {d.id for d in docs} == {"err", "fox"}
        hostile = {"text": {"$text_match": "') or true or ('"}}
        assert {d.id for d in store.similarity_search("x", k=10, filter=hostile)} == {"hostile"}
        # "cat" is not a word of "cats": a word match, not a substring
        cat = store.similarity_search("x", k=10, filter=text_match("cat"))
        assert cat == []
    finally:
        store.close()


async def test_text_match_dict_filter_async(uri: str, collection_name: str) -> None:
    store = _store(uri, collection_name, text_match=True)
    try:
        if not store.store.capabilities.text_match:
            with pytest.raises(UnsupportedByServerError):
                await store.aadd_texts(TEXTS, ids=IDS)
            return
        await store.aadd_texts(TEXTS, ids=IDS)
        docs = await store.asimilarity_search(
            "x", k=10, filter={"text": {"$text_match": "billing"}}
        )
        assert [d.id for d in docs] == ["err"]
    finally:
        await store.aclose()


def test_collection_properties_reach_the_collection(uri: str, collection_name: str) -> None:
    props = CollectionProperties(num_shards=2, replicas=1)
    store = _store(uri, collection_name, collection_properties=props)
    try:
        store.add_texts(TEXTS, ids=IDS)
        stats = store.store.stats()
        if store.store.capabilities.shards:
            assert stats.properties == {"num_shards": 2, "replicas": 1}
        else:
            assert stats.properties == {}  # Milvus Lite: one shard, no replicas (ignored)
    finally:
        store.close()


async def test_collection_ttl_async(uri: str, collection_name: str) -> None:
    store = _store(uri, collection_name, collection_properties={"ttl_seconds": 86400})
    try:
        if not store.store.capabilities.collection_ttl:
            with pytest.raises(UnsupportedByServerError, match="TTL"):
                await store.aadd_texts(TEXTS, ids=IDS)
            return
        await store.aadd_texts(TEXTS, ids=IDS)
        assert store.store.stats().properties["ttl_seconds"] == 86400
    finally:
        await store.aclose()
