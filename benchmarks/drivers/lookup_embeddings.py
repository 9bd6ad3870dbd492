"""LangChain ``Embeddings`` over the harness' precomputed vectors (both LangChain drivers).

Imports only ``langchain_core``, which both our venv and the langchain-milvus venv have.
"""

from __future__ import annotations

from langchain_core.embeddings import Embeddings

from benchmarks.drivers.contract import Lookup

__all__ = ["LookupEmbeddings"]


class LookupEmbeddings(Embeddings):
    """Embeddings read from a precomputed table (zero model cost)."""

    def __init__(self, lookup: Lookup) -> None:
        self.lookup = lookup

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.lookup.many(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.lookup.one(text)
