"""MMR with fetch_k below k answers fetch_k documents, as LangChain's InMemoryVectorStore
does (before, the store fetched k candidates and answered k)."""

from __future__ import annotations

from pathlib import Path

from langchain_core.documents import Document
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.vectorstores import InMemoryVectorStore

from milvus_plugins.langchain import MilvusVectorStore


def test_fetch_k_below_k_matches_in_memory_store(tmp_path: Path) -> None:
    embedding = DeterministicFakeEmbedding(size=8)
    docs = [Document(f"text {i}", id=f"d{i}") for i in range(10)]
    ours = MilvusVectorStore.from_documents(
        docs, embedding, uri=str(tmp_path / "m.db"), collection_name="mmr"
    )
    reference = InMemoryVectorStore.from_documents(docs, embedding)
    for k, fetch_k in ((3, 2), (3, 1), (2, 5)):
        got = ours.max_marginal_relevance_search("text 3", k=k, fetch_k=fetch_k)
        expected = reference.max_marginal_relevance_search("text 3", k=k, fetch_k=fetch_k)
        assert len(got) == len(expected) == min(k, fetch_k)
        if fetch_k <= k:  # every candidate is answered: the fetch_k nearest
            assert {d.id for d in got} == {d.id for d in expected}
