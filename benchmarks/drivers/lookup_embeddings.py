"""LangChain ``Embeddings`` for both LangChain drivers: the harness' precomputed vectors,
or vectors computed on the fly (the ingest-memory measurement).

Imports only ``langchain_core``, which both our venv and the langchain-milvus venv have.
"""

from __future__ import annotations

from langchain_core.embeddings import Embeddings

from benchmarks.drivers.contract import Lookup, embed_text, embed_texts

__all__ = ["HashEmbeddings", "LookupEmbeddings", "embeddings_for"]


class LookupEmbeddings(Embeddings):
    """Embeddings read from a precomputed table (zero model cost)."""

    def __init__(self, lookup: Lookup) -> None:
        self.lookup = lookup

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.lookup.many(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.lookup.one(text)


class HashEmbeddings(Embeddings):
    """Vectors computed on the fly from the text (see ``contract.embed_text``)."""

    def __init__(self, dim: int) -> None:
        self.dim = dim

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return embed_texts(texts, self.dim)

    def embed_query(self, text: str) -> list[float]:
        return embed_text(text, self.dim)


def embeddings_for(config: dict[str, object], data: object) -> Embeddings:
    """On-the-fly embeddings when ``config["on_the_fly"]``, else the lookup table."""
    if config.get("on_the_fly"):
        return HashEmbeddings(int(config["dim"]))  # type: ignore[call-overload]
    return LookupEmbeddings(Lookup(data.lookup()))  # type: ignore[attr-defined]
