"""Grouping through both adapters, sync and async: LangChain kwargs and ``search_kwargs``,
LlamaIndex ``vector_store_kwargs`` (the core's grouping itself: test_grouping.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.documents import Document
from llama_index.core import VectorStoreIndex
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores.types import VectorStoreQuery, VectorStoreQueryMode
from tests.support.faces import VocabEmbedding, VocabEmbeddings, embed

from milvus_plugins.core import ConfigError, UnexpectedArgumentError
from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

# Three chunks of the "cats" paper all beat the best chunk of the others for "cat", and
# no two chunks score alike ("cat cat fish" tied "cat cat dog": either could be second).
CHUNKS = [
    ("cats", 0, "cat cat cat"),
    ("cats", 1, "cat cat dog"),
    ("cats", 2, "cat cat fish fish"),
    ("dogs", 0, "cat dog dog"),
    ("dogs", 1, "dog dog"),
    ("cars", 0, "cat car car car"),
    ("cars", 1, "car train"),
]


def _docs() -> list[Document]:
    return [
        Document(id=f"{src}-{i}", page_content=text, metadata={"source": src, "part": i})
        for src, i, text in CHUNKS
    ]


def test_langchain_groups_by_a_metadata_key(lite_uri: str) -> None:
    store = LangChainStore(VocabEmbeddings(), uri=lite_uri, collection_name="lc_grouping")
    try:
        store.add_documents(_docs())
        plain = store.similarity_search("cat", k=3)
        assert {d.metadata["source"] for d in plain} == {"cats"}
        grouped = store.similarity_search("cat", k=3, group_by="source")
        assert [d.metadata["source"] for d in grouped] == ["cats", "dogs", "cars"]
        two = store.similarity_search_with_score("cat", k=2, group_by="source", group_size=2)
        assert [d.id for d, _ in two] == ["cats-0", "cats-1", "dogs-0", "dogs-1"]
        by_vector = store.similarity_search_by_vector(embed("cat"), k=3, group_by="source")
        assert [d.metadata["source"] for d in by_vector] == ["cats", "dogs", "cars"]
        retriever = store.as_retriever(search_kwargs={"k": 3, "group_by": "source"})
        assert [d.metadata["source"] for d in retriever.invoke("cat")] == [
            "cats",
            "dogs",
            "cars",
        ]

        async def run() -> list[str]:
            docs = await store.asimilarity_search("cat", k=3, group_by="source")
            found = [d.metadata["source"] for d in docs]
            await store.aclose()
            return found

        assert asyncio.run(run()) == ["cats", "dogs", "cars"]
        with pytest.raises(ConfigError, match="group_by"):
            store.similarity_search("cat", k=3, group_by=True)
        with pytest.raises(ConfigError, match="group_size"):
            store.similarity_search("cat", k=3, group_by="source", group_size=0)
        with pytest.raises(UnexpectedArgumentError):
            store.similarity_search("cat", k=3, group_bye="source")
    finally:
        store.close()


def _nodes() -> list[TextNode]:
    return [
        TextNode(
            id_=f"{src}-{i}",
            text=text,
            embedding=embed(text),
            metadata={"part": i},
            relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=src)},
        )
        for src, i, text in CHUNKS
    ]


def _query(**kwargs: Any) -> VectorStoreQuery:
    return VectorStoreQuery(query_embedding=embed("cat"), similarity_top_k=3, **kwargs)


def test_llama_index_groups_by_source_document(lite_uri: str) -> None:
    store = LlamaStore(uri=lite_uri, collection_name="li_grouping", dim=len(embed("")))
    try:
        store.add(_nodes())
        plain = store.query(_query())
        assert [n.ref_doc_id for n in plain.nodes or []] == ["cats"] * 3
        grouped = store.query(_query(), group_by=True)
        assert [n.ref_doc_id for n in grouped.nodes or []] == ["cats", "dogs", "cars"]
        two = store.query(_query(), group_size=2, strict_group_size=True)
        assert two.ids == ["cats-0", "cats-1", "dogs-0", "dogs-1", "cars-0", "cars-1"]
        index = VectorStoreIndex.from_vector_store(store, embed_model=VocabEmbedding())
        retriever = index.as_retriever(similarity_top_k=3, vector_store_kwargs={"group_by": True})
        assert [n.node.ref_doc_id for n in retriever.retrieve("cat")] == ["cats", "dogs", "cars"]

        async def run() -> list[str | None]:
            result = await store.aquery(_query(), group_by=True)
            await store.aclose()
            return [n.ref_doc_id for n in result.nodes or []]

        assert asyncio.run(run()) == ["cats", "dogs", "cars"]
        mmr = _query(mode=VectorStoreQueryMode.MMR)
        with pytest.raises(ValueError, match="group_by"):
            store.query(mmr, group_by=True)
    finally:
        store.close()
