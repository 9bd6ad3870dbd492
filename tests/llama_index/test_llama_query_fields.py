"""VectorStoreQuery fields a hostile pass found ignored or read loosely: embedding_field
names the dense field searched (as vector_store_kwargs' vector_field does),
hybrid_top_k=0 is refused like the other top_k fields, and MMR with fewer candidates
than results answers the candidates (as LlamaIndex's own store does)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import VectorStoreQuery
from llama_index.core.vector_stores.types import VectorStoreQueryMode as Mode

from milvus_plugins.core import ConfigError, InvalidInputError
from milvus_plugins.llama_index import MilvusVectorStore

QUERY = [1.0, 1.0, 0.5, 0.1]


class ReversedEmbedding(BaseEmbedding):
    """ "wordK ..." -> [1, 4 - K, 0.5, 0.1]: ranks the nodes unlike their own vectors
    [1, K, 0.5, 0.1], with no ties (MockEmbedding's equal vectors tie, and Milvus then
    answers the tied rows in any order)."""

    def _vector(self, text: str) -> list[float]:
        match = re.search(r"word(\d+)", text)
        k = int(match.group(1)) if match else 0
        return [1.0, 4.0 - k, 0.5, 0.1]

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._vector(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._vector(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._vector(text)


@pytest.fixture
def store(tmp_path: Path) -> MilvusVectorStore:
    store = MilvusVectorStore(
        uri=str(tmp_path / "q.db"),
        collection_name="q",
        dim=4,
        enable_sparse=True,
        vector_fields={"title": ReversedEmbedding()},
    )
    store.add(
        [
            TextNode(id_=f"n{i}", text=f"word{i} common", embedding=[1.0, i, 0.5, 0.1])
            for i in range(5)
        ]
    )
    return store


def test_embedding_field_selects_the_field(store: MilvusVectorStore) -> None:
    by_kwargs = store.query(
        VectorStoreQuery(query_embedding=QUERY, query_str="word3", similarity_top_k=2),
        vector_field="title",
    ).ids
    by_query = store.query(
        VectorStoreQuery(
            query_embedding=QUERY, query_str="word3", similarity_top_k=2, embedding_field="title"
        )
    ).ids
    default = store.query(VectorStoreQuery(query_embedding=QUERY, similarity_top_k=2)).ids
    # the title field is searched with its own model's embedding of query_str
    assert by_query == by_kwargs == ["n3", "n2"]
    assert default == ["n1", "n2"]


def test_unknown_or_conflicting_embedding_field_is_refused(store: MilvusVectorStore) -> None:
    with pytest.raises(ConfigError, match="embedding_field='nope' is not a dense field"):
        store.query(VectorStoreQuery(query_embedding=QUERY, embedding_field="nope"))
    with pytest.raises(InvalidInputError, match="name different fields"):
        store.query(
            VectorStoreQuery(query_embedding=QUERY, embedding_field="title"), vector_field="vector"
        )


def test_hybrid_top_k_zero_is_refused(store: MilvusVectorStore) -> None:
    query = VectorStoreQuery(
        query_embedding=QUERY, query_str="word1", mode=Mode.HYBRID, hybrid_top_k=0
    )
    with pytest.raises(InvalidInputError, match="hybrid_top_k=0"):
        store.query(query)
    for name in ("similarity_top_k", "sparse_top_k"):
        bad = VectorStoreQuery(
            query_embedding=QUERY, query_str="word1", mode=Mode.HYBRID, **{name: 0}
        )
        with pytest.raises(InvalidInputError, match=f"{name}=0"):
            store.query(bad)


def test_mmr_answers_at_most_the_candidates(store: MilvusVectorStore) -> None:
    query = VectorStoreQuery(query_embedding=QUERY, mode=Mode.MMR, similarity_top_k=3)
    assert len(store.query(query, mmr_prefetch_k=1).ids or []) == 1
    assert len(store.query(query, mmr_prefetch_k=5).ids or []) == 3
