"""LangChain findings of a hostile tester, against real Milvus Lite (nothing mocked).

* D1: ``metric`` applies to an ``index`` that names no metric.
* D4: a store opened on a BM25/hybrid collection with the defaults searches it per call
  with ``retrieval_mode="sparse"`` / ``"hybrid"``.
* D5: ``add_texts`` refuses texts or ids given as a set (nothing embedded or written).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from langchain_core.embeddings import Embeddings
from tests.integration.test_hostile_d_core import (
    EXPECTED_FIRST,
    EXPECTED_FIRST_L2,
    QUERY,
    VECTORS,
    VECTORS_L2,
    index_metrics,
)

from milvus_plugins.core import ConfigError, HnswIndex, InvalidInputError
from milvus_plugins.langchain import MilvusVectorStore

ROWS = {**VECTORS, **VECTORS_L2}


class TableEmbeddings(Embeddings):
    """The vector of each known text (``row <id>``); counts the texts embedded."""

    def __init__(self) -> None:
        self.embedded = 0

    def _embed(self, text: str) -> list[float]:
        found = ROWS.get(text.removeprefix("row "))
        if found is not None:
            return found
        words = re.findall(r"\w+", text.lower())
        return [1.0 + len(words), 0.5, float("alpha" in words), 0.25]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.embedded += len(texts)
        return [self._embed(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._embed(text)


@pytest.mark.parametrize(
    ("metric", "index"), [("L2", "FLAT"), ("L2", HnswIndex()), ("IP", {"index_type": "FLAT"})]
)
def test_metric_applies_to_an_index_without_one(lite_uri: str, metric: str, index: Any) -> None:
    store = MilvusVectorStore(
        TableEmbeddings(), uri=lite_uri, collection_name="m", metric=metric, index=index
    )
    try:
        store.add_texts([f"row {i}" for i in ROWS], ids=list(ROWS))
        kind = "HNSW" if isinstance(index, HnswIndex) else "FLAT"
        assert index_metrics(store.store.client, "m") == [(kind, metric)]
        ids = [d.id for d in store.similarity_search_by_vector(QUERY, k=4)]
        assert next(i for i in ids if i in VECTORS) == EXPECTED_FIRST[metric]
        assert next(i for i in ids if i in VECTORS_L2) == EXPECTED_FIRST_L2[metric]
    finally:
        store.close()


def test_conflicting_metrics_are_refused_at_construction(lite_uri: str) -> None:
    with pytest.raises(ConfigError, match="conflicts with the metric"):
        MilvusVectorStore(
            TableEmbeddings(), uri=lite_uri, metric="L2", index=HnswIndex(metric="IP")
        )


# -- D4 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("use_async", [False, True])
def test_a_default_store_searches_an_existing_hybrid_collection(
    lite_uri: str, use_async: bool
) -> None:
    creator = MilvusVectorStore(
        TableEmbeddings(), uri=lite_uri, collection_name="docs", retrieval_mode="hybrid"
    )
    creator.add_texts(["alpha beta", "gamma delta", "alpha zeta"], ids=["a", "b", "c"])
    creator.close()
    opener = MilvusVectorStore(TableEmbeddings(), uri=lite_uri, collection_name="docs")
    try:
        for mode in ("sparse", "hybrid"):
            if use_async:
                docs = asyncio.run(opener.asimilarity_search("alpha", k=2, retrieval_mode=mode))
            else:
                docs = opener.similarity_search("alpha", k=2, retrieval_mode=mode)
            assert sorted(d.id for d in docs if d.id is not None) == ["a", "c"]
        opener.add_texts(["alpha omega"], ids=["d"])
        docs = opener.similarity_search("omega", k=1, retrieval_mode="sparse")
        assert [d.id for d in docs] == ["d"]
    finally:
        opener.close()


def test_a_dense_collection_still_refuses_keyword_search(lite_uri: str) -> None:
    creator = MilvusVectorStore(TableEmbeddings(), uri=lite_uri, collection_name="dense")
    creator.add_texts(["alpha"], ids=["a"])
    creator.close()
    opener = MilvusVectorStore(TableEmbeddings(), uri=lite_uri, collection_name="dense")
    try:
        with pytest.raises(ConfigError, match="has no sparse field"):
            opener.similarity_search("alpha", retrieval_mode="hybrid")
    finally:
        opener.close()


# -- D5 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("argument", ["texts", "ids"])
@pytest.mark.parametrize("use_async", [False, True])
def test_add_texts_refuses_unordered_texts_and_ids(
    lite_uri: str, argument: str, use_async: bool
) -> None:
    model = TableEmbeddings()
    store = MilvusVectorStore(model, uri=lite_uri, collection_name="s")
    texts: Any = [f"text for {c}" for c in "abcdefgh"]
    ids: Any = list("abcdefgh")
    if argument == "texts":
        texts = set(texts)
    else:
        ids = set(ids)
    try:
        with pytest.raises(InvalidInputError, match=rf"{argument} is a set.*pass a list"):
            if use_async:
                asyncio.run(store.aadd_texts(texts, ids=ids))
            else:
                store.add_texts(texts, ids=ids)
        assert model.embedded == 0
        assert not store.store.exists()
    finally:
        store.close()
