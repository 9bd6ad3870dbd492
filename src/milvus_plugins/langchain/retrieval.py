"""The LangChain store's reads and searches, sync and async (a mixin).

Every search resolves its keyword arguments once (:mod:`.search_calls`); an async twin
differs from its sync method only in the awaited store call and ``aembed_query``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langchain_core.documents import Document

from milvus_plugins.core import Hit, SearchKind, checked_methods_of
from milvus_plugins.core.mmr import check_mmr_options
from milvus_plugins.langchain.access import StoreAccess
from milvus_plugins.langchain.documents import scored, to_document
from milvus_plugins.langchain.search_calls import (
    MMR_KWARGS,
    SEARCH_KWARGS,
    VECTOR_KWARGS,
    SearchCall,
    blank,
)

__all__ = ["DocumentRetrieval"]


def _documents(hits: list[Hit]) -> list[Document]:
    return [to_document(h.record) for h in hits]


@checked_methods_of("MilvusVectorStore")
class DocumentRetrieval(StoreAccess):
    """``get_by_ids`` and the similarity and MMR searches, with their async twins."""

    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        """Return the documents with these ids, in the order given (missing ids skipped).

        Args:
            ids: the ids.

        Returns:
            The documents found, with ``id`` set.
        """
        return [to_document(r) for r in self._store.get(ids)]

    async def aget_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        """Async twin of :meth:`get_by_ids`."""
        return [to_document(r) for r in await self._astore().get(ids)]

    # -- search: the calls of both twins (no I/O) ------------------------------------

    def _vector_call(
        self, embedding: list[float], k: int, kwargs: Mapping[str, Any], method: str
    ) -> tuple[SearchCall, dict[str, Any]]:
        call = self._search_call(k, kwargs, VECTOR_KWARGS, method, SearchKind.DENSE)
        return call, call.search_args(embedding)

    def _mmr_call(self, query: str, k: int, kwargs: Mapping[str, Any], method: str) -> SearchCall:
        """A blank query's call is filter-only; another's is refused before embedding."""
        return self._search_call(
            k, kwargs, MMR_KWARGS, method, None if blank(query) else SearchKind.MMR
        )

    # -- search: sync ------------------------------------------------------------------

    def _hits(
        self, query: str, k: int, kwargs: Mapping[str, Any], method: str, *, scores: bool = True
    ) -> list[Hit]:
        if self._opens_first(kwargs):
            self._store.exists()  # an existing collection's keyword field is adopted
        call = self._search_call(k, kwargs, SEARCH_KWARGS, method)
        vectors = {f: self._model(f).embed_query(query) for f in call.query_fields(query)}
        args = call.retrieve_args(query, vectors, scores=scores)
        return call.keep(self._store.retrieve(**args))

    def similarity_search(self, query: str, k: int = 4, **kwargs: Any) -> list[Document]:
        """Return the ``k`` documents most relevant to ``query`` in the retrieval mode.

        Args:
            query: the query text.
            k: how many documents.
            **kwargs: ``filter``, ``retrieval_mode``, ``score_threshold``,
                ``search_params``, ``vector_field`` (the dense field a dense search
                uses, of a store with several), for hybrid ``ranker`` and ``fetch_k``, and
                grouping: ``group_by`` (the metadata key or field naming the source
                document, e.g. ``"source"``: one best chunk each), ``group_size``,
                ``strict_group_size`` (then ``k`` counts groups; see
                :class:`~milvus_plugins.core.Grouping`), and ``decay`` (a
                :class:`~milvus_plugins.core.Decay` or a dict of its fields: rerank by a
                numeric metadata field, e.g. recency).
                ``tenant`` / ``partition_names`` confine the search.

        Returns:
            The documents, best first.
        """
        # Documents only: no one reads the relevance, so a hybrid search may fuse on the
        # server (one call instead of two; same documents in the same order).
        return _documents(self._hits(query, k, kwargs, "similarity_search", scores=False))

    def similarity_search_with_score(
        self, query: str, k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """Return ``(document, relevance)`` pairs; relevance is in [0, 1], higher is better.

        Args:
            query: the query text.
            k: how many documents.
            **kwargs: as for :meth:`similarity_search`.

        Returns:
            The pairs, best first.
        """
        return scored(self._hits(query, k, kwargs, "similarity_search_with_score"))

    def _similarity_search_with_relevance_scores(
        self, query: str, k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        return self.similarity_search_with_score(query, k, **kwargs)

    def similarity_search_with_relevance_scores(
        self, query: str, k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """Return ``(document, relevance)`` pairs, relevance in [0, 1].

        Unlike LangChain's default, a ``score_threshold`` goes to the search itself: a
        dense search asks Milvus for it as a range search (the same documents as
        filtering the top ``k`` here).
        """
        method = "similarity_search_with_relevance_scores"
        return scored(self._hits(query, k, kwargs, method))

    def _select_relevance_score_fn(self) -> Callable[[float], float]:
        # The core's scores are relevances in [0, 1] already, in every mode.
        return lambda score: score

    def similarity_search_by_vector(
        self, embedding: list[float], k: int = 4, **kwargs: Any
    ) -> list[Document]:
        """Return the ``k`` documents nearest to a query vector (dense search).

        Args:
            embedding: the query vector.
            k: how many documents.
            **kwargs: ``filter``, ``score_threshold``, ``search_params``,
                ``vector_field``, ``group_by``, ``group_size``, ``strict_group_size``,
                ``tenant``, ``partition_names``.

        Returns:
            The documents, best first.
        """
        call, args = self._vector_call(embedding, k, kwargs, "similarity_search_by_vector")
        return _documents(call.keep(self._store.search(**args)))

    def similarity_search_with_score_by_vector(
        self, embedding: list[float], k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """Return ``(document, relevance)`` pairs for a query vector (dense search).

        Args:
            embedding: the query vector.
            k: how many documents.
            **kwargs: ``filter``, ``score_threshold``, ``search_params``,
                ``vector_field``, ``group_by``, ``group_size``, ``strict_group_size``,
                ``tenant``, ``partition_names``.

        Returns:
            The pairs, best first; relevance in [0, 1].
        """
        method = "similarity_search_with_score_by_vector"
        call, args = self._vector_call(embedding, k, kwargs, method)
        return scored(call.keep(self._store.search(**args)))

    def max_marginal_relevance_search(
        self,
        query: str,
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        **kwargs: Any,
    ) -> list[Document]:
        """Return ``k`` documents relevant to ``query`` and diverse among themselves.

        MMR re-ranks ``fetch_k`` dense candidates (in every retrieval mode: diversity is
        measured between embeddings).

        Args:
            query: the query text.
            k: how many documents.
            fetch_k: how many candidates to re-rank.
            lambda_mult: 1 for pure relevance, 0 for maximal diversity.
            **kwargs: ``filter``, ``search_params``, ``vector_field``, ``tenant``,
                ``partition_names``.

        Returns:
            The documents, in MMR order.
        """
        call = self._mmr_call(query, k, kwargs, "max_marginal_relevance_search")
        check_mmr_options(fetch_k, lambda_mult)  # in every case, as fetch_k is elsewhere
        if blank(query):  # nothing to be relevant to, nor diverse from: filter-only
            return _documents(self._store.filtered_hits(**call.filtered_args()))
        vector = self._model(call.vector_field).embed_query(query)
        return self.max_marginal_relevance_search_by_vector(
            vector, k, fetch_k, lambda_mult, **kwargs
        )

    def max_marginal_relevance_search_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        **kwargs: Any,
    ) -> list[Document]:
        """MMR search from a query vector; see :meth:`max_marginal_relevance_search`.

        Args:
            embedding: the query vector.
            k: how many documents.
            fetch_k: how many candidates to re-rank.
            lambda_mult: 1 for pure relevance, 0 for maximal diversity.
            **kwargs: ``filter``, ``search_params``, ``vector_field``, ``tenant``,
                ``partition_names``.

        Returns:
            The documents, in MMR order.
        """
        method = "max_marginal_relevance_search_by_vector"
        call = self._search_call(k, kwargs, MMR_KWARGS, method, SearchKind.MMR)
        return _documents(self._store.mmr_search(**call.mmr_args(embedding, fetch_k, lambda_mult)))

    # -- search: async (the same, awaited) -----------------------------------------------

    async def _ahits(
        self, query: str, k: int, kwargs: Mapping[str, Any], method: str, *, scores: bool = True
    ) -> list[Hit]:
        if self._opens_first(kwargs):
            await self._astore().exists()  # as in _hits
        call = self._search_call(k, kwargs, SEARCH_KWARGS, method)
        vectors = {f: await self._model(f).aembed_query(query) for f in call.query_fields(query)}
        args = call.retrieve_args(query, vectors, scores=scores)
        return call.keep(await self._astore().retrieve(**args))

    async def asimilarity_search(self, query: str, k: int = 4, **kwargs: Any) -> list[Document]:
        """Async twin of :meth:`similarity_search`."""
        return _documents(await self._ahits(query, k, kwargs, "asimilarity_search", scores=False))

    async def asimilarity_search_with_score(
        self, query: str, k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """Async twin of :meth:`similarity_search_with_score`."""
        return scored(await self._ahits(query, k, kwargs, "asimilarity_search_with_score"))

    async def _asimilarity_search_with_relevance_scores(
        self, query: str, k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        return await self.asimilarity_search_with_score(query, k, **kwargs)

    async def asimilarity_search_with_relevance_scores(
        self, query: str, k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """Async twin of :meth:`similarity_search_with_relevance_scores`."""
        method = "asimilarity_search_with_relevance_scores"
        return scored(await self._ahits(query, k, kwargs, method))

    async def asimilarity_search_by_vector(
        self, embedding: list[float], k: int = 4, **kwargs: Any
    ) -> list[Document]:
        """Async twin of :meth:`similarity_search_by_vector`."""
        call, args = self._vector_call(embedding, k, kwargs, "asimilarity_search_by_vector")
        return _documents(call.keep(await self._astore().search(**args)))

    async def asimilarity_search_with_score_by_vector(
        self, embedding: list[float], k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """Async twin of :meth:`similarity_search_with_score_by_vector`."""
        method = "asimilarity_search_with_score_by_vector"
        call, args = self._vector_call(embedding, k, kwargs, method)
        return scored(call.keep(await self._astore().search(**args)))

    async def amax_marginal_relevance_search(
        self,
        query: str,
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        **kwargs: Any,
    ) -> list[Document]:
        """Async twin of :meth:`max_marginal_relevance_search`."""
        call = self._mmr_call(query, k, kwargs, "amax_marginal_relevance_search")
        check_mmr_options(fetch_k, lambda_mult)  # as in max_marginal_relevance_search
        if blank(query):
            return _documents(await self._astore().filtered_hits(**call.filtered_args()))
        vector = await self._model(call.vector_field).aembed_query(query)
        return await self.amax_marginal_relevance_search_by_vector(
            vector, k, fetch_k, lambda_mult, **kwargs
        )

    async def amax_marginal_relevance_search_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        **kwargs: Any,
    ) -> list[Document]:
        """Async twin of :meth:`max_marginal_relevance_search_by_vector`."""
        method = "amax_marginal_relevance_search_by_vector"
        call = self._search_call(k, kwargs, MMR_KWARGS, method, SearchKind.MMR)
        args = call.mmr_args(embedding, fetch_k, lambda_mult)
        return _documents(await self._astore().mmr_search(**args))
