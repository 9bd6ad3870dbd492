"""A refused keyword names the method the caller called (a helper's parity pass, 2026-12-07).

``add_documents`` and ``upsert`` reported themselves as ``add_texts()``,
``similarity_search_with_relevance_scores`` as ``similarity_search_with_score()`` and
``max_marginal_relevance_search_by_vector`` as ``max_marginal_relevance_search()``; the
async twins likewise.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from milvus_plugins.core import UnexpectedArgumentError
from milvus_plugins.langchain import MilvusVectorStore


class Hashed(Embeddings):
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.embed_query(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        digest = hashlib.sha256(text.encode()).digest()
        return [b / 255.0 + 0.01 for b in digest[:8]]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MilvusVectorStore]:
    made = MilvusVectorStore(Hashed(), uri=str(tmp_path / "m.db"), collection_name="c")
    made.add_texts(["alpha"], ids=["a"])
    yield made
    made.close()


VECTOR = Hashed().embed_query("q")
CALLS: dict[str, Callable[[MilvusVectorStore], Any]] = {
    "add_documents": lambda s: s.add_documents([Document("x")], foo=1),
    "aadd_documents": lambda s: asyncio.run(s.aadd_documents([Document("x")], foo=1)),
    "upsert": lambda s: s.upsert(documents=[Document("x")], foo=1),
    "aupsert": lambda s: asyncio.run(s.aupsert(documents=[Document("x")], foo=1)),
    "similarity_search_with_relevance_scores": lambda s: s.similarity_search_with_relevance_scores(
        "q", foo=1
    ),
    "asimilarity_search_with_relevance_scores": lambda s: asyncio.run(
        s.asimilarity_search_with_relevance_scores("q", foo=1)
    ),
    "max_marginal_relevance_search_by_vector": lambda s: s.max_marginal_relevance_search_by_vector(
        VECTOR, foo=1
    ),
    "amax_marginal_relevance_search_by_vector": lambda s: asyncio.run(
        s.amax_marginal_relevance_search_by_vector(VECTOR, foo=1)
    ),
}


@pytest.mark.parametrize("method", sorted(CALLS))
def test_a_refused_keyword_names_the_method_called(store: MilvusVectorStore, method: str) -> None:
    with pytest.raises(UnexpectedArgumentError) as caught:
        CALLS[method](store)
    assert str(caught.value).startswith(f"{method}() got unexpected keyword argument")
    assert [d.id for d in store.get_by_ids(["a"])] == ["a"]
    assert len(store.similarity_search("alpha", k=10)) == 1  # nothing was written
