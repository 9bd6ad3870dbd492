"""Search arguments: defaults that fit Milvus' limits, and errors naming what the caller set.

A helper's hostile pass (2026-12-03) found a hybrid search with a valid ``k`` refused
because of the store's own default ``fetch_k`` (``4k`` beyond 16384), MMR taking
``fetch_k=0`` or a negative one, and errors naming ``k`` or ``lambda_mult`` where the
caller had set ``fetch_k`` or LlamaIndex's ``mmr_threshold``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import DeterministicFakeEmbedding
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores import VectorStoreQuery
from llama_index.core.vector_stores.types import VectorStoreQueryMode

from milvus_plugins.core import InvalidInputError
from milvus_plugins.langchain import MilvusVectorStore
from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

DIM = 8
ROWS = 30


def _lc(tmp_path: Path, **kwargs: object) -> MilvusVectorStore:
    store = MilvusVectorStore(
        DeterministicFakeEmbedding(size=DIM),
        uri=str(tmp_path / "lc.db"),
        collection_name="docs",
        **kwargs,  # type: ignore[arg-type]
    )
    store.add_documents([Document(f"doc {i}", id=str(i)) for i in range(ROWS)])
    return store


def test_hybrid_search_runs_any_valid_k_with_the_default_candidates(tmp_path: Path) -> None:
    store = _lc(tmp_path, retrieval_mode="hybrid")
    for k in (5000, 16384):  # the default 4k candidates per leg would be beyond 16384
        assert len(store.similarity_search("doc", k=k)) == ROWS
    for bad in (0, -5, 16385):
        with pytest.raises(InvalidInputError, match=f"fetch_k={bad}"):
            store.similarity_search("doc", k=3, fetch_k=bad)
    store.close()


def test_mmr_refuses_candidate_counts_outside_milvus_range_naming_fetch_k(tmp_path: Path) -> None:
    store = _lc(tmp_path)
    assert len(store.max_marginal_relevance_search("doc", k=5000, fetch_k=5000)) == ROWS
    # At most fetch_k (default 20) are answered, as LangChain's InMemoryVectorStore does.
    assert len(store.max_marginal_relevance_search("doc", k=5000)) == 20
    for bad in (0, -5, 20000):
        with pytest.raises(InvalidInputError, match=f"fetch_k={bad}"):
            store.max_marginal_relevance_search("doc", k=3, fetch_k=bad)
    store.close()


def test_llama_mmr_errors_name_llama_index_options(tmp_path: Path) -> None:
    store = LlamaStore(uri=str(tmp_path / "li.db"), collection_name="nodes", dim=DIM)
    store.add(
        [
            TextNode(text=f"n{i}", id_=str(i), embedding=[1.0, *[i / 10] * (DIM - 1)])
            for i in range(ROWS)
        ]
    )

    def mmr(k: int = 3, threshold: float | None = None, **kwargs: object) -> list[str]:
        query = VectorStoreQuery(
            query_embedding=[1.0] * DIM,
            similarity_top_k=k,
            mode=VectorStoreQueryMode.MMR,
            mmr_threshold=threshold,
        )
        return list(store.query(query, **kwargs).ids or [])

    assert len(mmr(k=5000)) == ROWS  # the default prefetch (a factor of k) is capped
    cases: list[tuple[dict[str, object], str]] = [
        ({"threshold": 2.0}, "mmr_threshold=2.0"),
        ({"mmr_threshold": -0.1}, "mmr_threshold=-0.1"),
        ({"mmr_prefetch_k": 0}, "mmr_prefetch_k=0"),
        ({"mmr_prefetch_k": 20000}, "mmr_prefetch_k=20000"),
        ({"mmr_prefetch_factor": -1}, "mmr_prefetch_factor=-1"),
    ]
    for kwargs, message in cases:
        with pytest.raises(InvalidInputError, match=message):
            mmr(**kwargs)  # type: ignore[arg-type]
    assert len(mmr(mmr_prefetch_k=5)) == 3
    store.close()
