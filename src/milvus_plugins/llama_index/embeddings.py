"""LlamaIndex embedding model backed by the offline all-MiniLM-L6-v2 model.

:class:`MiniLMEmbedding` adapts :class:`milvus_plugins.embeddings.MiniLMEmbedder`
(int8 ONNX on onnxruntime; no torch, no download) to LlamaIndex's
:class:`~llama_index.core.base.embeddings.base.BaseEmbedding`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

from milvus_plugins.embeddings import MODEL_NAME, MiniLMEmbedder

__all__ = ["MiniLMEmbedding"]


class MiniLMEmbedding(BaseEmbedding):
    """all-MiniLM-L6-v2 sentence embeddings (384-d, L2-normalised) for LlamaIndex.

    The model is loaded on first use. Queries and texts are embedded the same way
    (the model uses no prefixes). The async methods run the model in the default
    executor, so they do not block the event loop.

    Example:
        >>> embed_model = MiniLMEmbedding()
        >>> len(embed_model.get_query_embedding("Does aspirin lower fever?"))
        384

    Args:
        embed_batch_size: How many texts LlamaIndex hands over per call; also the
            embedder's batch size unless ``embedder`` is given.
        intra_op_num_threads: onnxruntime threads per run; ``None`` picks the number
            of available CPUs, capped at 4 (ignored when ``embedder`` is given).
        embedder: An existing embedder to share, e.g. with a LangChain adapter.
        **kwargs: Other :class:`BaseEmbedding` fields (``callback_manager``,
            ``num_workers``, ``embeddings_cache``...).
    """

    model_name: str = MODEL_NAME
    _embedder: MiniLMEmbedder = PrivateAttr()

    def __init__(
        self,
        *,
        embed_batch_size: int = 8,
        intra_op_num_threads: int | None = None,
        embedder: MiniLMEmbedder | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("model_name", MODEL_NAME)
        super().__init__(embed_batch_size=embed_batch_size, **kwargs)
        self._embedder = embedder or MiniLMEmbedder(
            batch_size=embed_batch_size, intra_op_num_threads=intra_op_num_threads
        )

    @classmethod
    def class_name(cls) -> str:
        """Name of the class, for LlamaIndex serialisation and instrumentation."""
        return "MiniLMEmbedding"

    @property
    def embedder(self) -> MiniLMEmbedder:
        """The wrapped framework-neutral embedder."""
        return self._embedder

    @property
    def dim(self) -> int:
        """Dimension of the embeddings (384)."""
        return self._embedder.dim

    def _get_query_embedding(self, query: str) -> list[float]:
        """Embed a query."""
        vector: list[float] = self._embedder.embed_one(query).tolist()
        return vector

    def _get_text_embedding(self, text: str) -> list[float]:
        """Embed one text."""
        vector: list[float] = self._embedder.embed_one(text).tolist()
        return vector

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        """Embed texts in batches."""
        vectors: list[list[float]] = self._embedder.embed(texts).tolist()
        return vectors

    async def _aget_query_embedding(self, query: str) -> list[float]:
        """Embed a query in the default executor."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self._get_query_embedding, query)

    async def _aget_text_embedding(self, text: str) -> list[float]:
        """Embed one text in the default executor."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self._get_text_embedding, text)

    async def _aget_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        """Embed texts in batches, in the default executor."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self._get_text_embeddings, texts)
