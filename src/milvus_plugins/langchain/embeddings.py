"""LangChain embeddings backed by the offline all-MiniLM-L6-v2 model.

:class:`MiniLMEmbeddings` adapts :class:`milvus_plugins.embeddings.MiniLMEmbedder`
(int8 ONNX on onnxruntime; no torch, no download) to LangChain's
:class:`~langchain_core.embeddings.Embeddings` interface.
"""

from __future__ import annotations

from langchain_core.embeddings import Embeddings

from milvus_plugins.embeddings import MiniLMEmbedder

__all__ = ["MiniLMEmbeddings"]


class MiniLMEmbeddings(Embeddings):
    """all-MiniLM-L6-v2 sentence embeddings (384-d, L2-normalised) for LangChain.

    The model is loaded on first use. Documents and queries are embedded the same
    way (the model uses no prefixes). The async methods are LangChain's defaults,
    which run the sync ones in the default executor, so they do not block the event
    loop.

    Example:
        >>> embeddings = MiniLMEmbeddings()
        >>> len(embeddings.embed_query("Does aspirin lower fever?"))
        384

    Args:
        batch_size: Number of texts per model run (ignored when ``embedder`` is given).
        intra_op_num_threads: onnxruntime threads per run; ``None`` picks the number
            of available CPUs, capped at 4 (ignored when ``embedder`` is given).
        embedder: An existing embedder to share, e.g. with a LlamaIndex adapter.
    """

    def __init__(
        self,
        *,
        batch_size: int = 8,
        intra_op_num_threads: int | None = None,
        embedder: MiniLMEmbedder | None = None,
    ) -> None:
        self._embedder = embedder or MiniLMEmbedder(
            batch_size=batch_size, intra_op_num_threads=intra_op_num_threads
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._embedder!r})"

    @property
    def embedder(self) -> MiniLMEmbedder:
        """The wrapped framework-neutral embedder."""
        return self._embedder

    @property
    def dim(self) -> int:
        """Dimension of the embeddings (384)."""
        return self._embedder.dim

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed documents.

        Args:
            texts: The texts to embed.

        Returns:
            One 384-d vector per text, in order.

        Raises:
            milvus_plugins.embeddings.EmbeddingModelUnavailable: If the model cannot
                be loaded.
        """
        vectors: list[list[float]] = self._embedder.embed(texts).tolist()
        return vectors

    def embed_query(self, text: str) -> list[float]:
        """Embed a query.

        Args:
            text: The query text.

        Returns:
            Its 384-d vector.

        Raises:
            milvus_plugins.embeddings.EmbeddingModelUnavailable: If the model cannot
                be loaded.
        """
        vector: list[float] = self._embedder.embed_one(text).tolist()
        return vector
