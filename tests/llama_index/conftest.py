"""Fixtures for the LlamaIndex adapter tests: a deterministic keyword embedding."""

from __future__ import annotations

import re
import zlib

import numpy as np
import pytest
from llama_index.core.base.embeddings.base import BaseEmbedding


class KeywordEmbedding(BaseEmbedding):
    """Bag-of-words embedding: each lower-cased word hashes to one axis, then L2-normalised.

    Texts sharing distinctive words are close, so "retrieve the right node" is a real
    test (``MockEmbedding`` gives every text the same vector).
    """

    dim: int = 256

    def _vector(self, text: str) -> list[float]:
        vector = np.full(self.dim, 1e-3)
        for word in re.findall(r"\w+", text.lower()):
            vector[zlib.crc32(word.encode()) % self.dim] += 1.0
        return (vector / np.linalg.norm(vector)).tolist()  # type: ignore[no-any-return]

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._vector(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._vector(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._vector(text)


@pytest.fixture
def embed_model() -> KeywordEmbedding:
    """A fresh deterministic keyword embedding model."""
    return KeywordEmbedding(embed_batch_size=16)
