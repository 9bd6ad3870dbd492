"""The LlamaIndex store's reads: nodes by id or filter, and queries, sync and async (a mixin).

Each pair of twins resolves its call once and differs only in the awaited store call
and the query embedding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llama_index.core.schema import BaseNode
from llama_index.core.vector_stores.types import (
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryResult,
)

from milvus_plugins.core import Record, checked_methods_of, id_list, order_by_ids
from milvus_plugins.llama_index.access import StoreAccess
from milvus_plugins.llama_index.nodes import record_to_node
from milvus_plugins.llama_index.queries import (
    checked_query,
    node_filter,
    output_fields,
    to_query_result,
)

__all__ = ["NodeReads"]


def _nodes(records: Sequence[Record], node_ids: Sequence[str] | None) -> list[BaseNode]:
    return [record_to_node(r, include_embedding=True) for r in order_by_ids(records, node_ids)]


@checked_methods_of("MilvusVectorStore")
class NodeReads(StoreAccess):
    """``get_nodes`` and ``query``, with their async twins."""

    def _nodes_query(
        self, node_ids: Sequence[str] | None, filters: MetadataFilters | None
    ) -> tuple[list[str] | None, dict[str, Any] | None]:
        """The checked ids and the core ``query`` arguments of :meth:`get_nodes`
        (``None``: no ids asked for, nothing to read); no I/O."""
        ids = None if node_ids is None else id_list(node_ids, "node_ids")
        if ids is not None and not ids:
            return ids, None
        where = node_filter(filters, ids, spec=self._store.spec)
        return ids, {"filter": where, "include_vectors": True, **self._scope({})}

    def get_nodes(
        self,
        node_ids: list[str] | None = None,
        filters: MetadataFilters | None = None,
    ) -> list[BaseNode]:
        """Return nodes by id and/or filters (both: AND; neither: every node).

        Nodes come back with their embeddings, in the order of ``node_ids`` when given
        (missing ids are skipped).

        Raises:
            InvalidInputError: ``node_ids`` is a single string, or holds a non-string or
                ``""``.
        """
        if self._filters_open_first(filters):
            self._store.exists()  # its declared fields decide what the filters mean
        ids, args = self._nodes_query(node_ids, filters)
        if args is None:
            return []
        return _nodes(self._store.query(**args), ids)

    async def aget_nodes(
        self,
        node_ids: list[str] | None = None,
        filters: MetadataFilters | None = None,
    ) -> list[BaseNode]:
        """Async twin of :meth:`get_nodes`."""
        if self._filters_open_first(filters):
            await self.async_store.exists()  # as in get_nodes
        ids, args = self._nodes_query(node_ids, filters)
        if args is None:
            return []
        return _nodes(await self.async_store.query(**args), ids)

    def query(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        """Search in the query's mode; see :func:`plan_query` for the translation.

        ``similarity_top_k`` results (``hybrid_top_k`` for hybrid queries when given; both
        legs then fetch ``sparse_top_k`` candidates each, raised to the result count
        when smaller, default ``max(4k, 20)``), restricted by ``filters``, ``doc_ids``
        and ``node_ids``. Similarities are relevance scores in [0, 1] on one scale in
        every mode (see :mod:`milvus_plugins.core.ranking`; dense: ``max(0, cosine)``,
        keyword: BM25 scaled per query, hybrid: the legs' weighted mean).

        A query with no ``query_str`` and no (or an all-zero) ``query_embedding`` is
        filter-only: it returns up to that many nodes matching the filters through a
        Milvus ``query``, unranked, each with similarity 1.0 (every node satisfies the
        whole query). ``VectorIndexAutoRetriever`` asks such queries for questions that
        are only filters; give it ``default_empty_query_vector=[0.0] * dim`` so that it
        sends a zero vector instead of embedding the empty string.

        ``vector_store_kwargs`` may also hold ``tenant`` and ``milvus_partition_names``
        (replacing the store's for this query). ``output_fields`` names the metadata
        keys each node keeps (its text, id and relationships always come back).
        """
        query = checked_query(query, kwargs)  # before anything is embedded or opened
        keep = output_fields(query)
        if self._opens_first(query):
            self._store.exists()  # an existing collection's keyword field is adopted
            self._note_opened()
        text = query.query_str or ""
        models, (plan, scope) = self._query_models(query, kwargs)
        if models:
            named = {n: m.get_query_embedding(text) for n, m in models.items()}
            plan, scope = self._plan(query, kwargs, named)
        return to_query_result(self._store.run_search(plan, **scope), keep)

    async def aquery(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        """Async twin of :meth:`query`."""
        query = checked_query(query, kwargs)  # as in query
        keep = output_fields(query)
        if self._opens_first(query):
            await self.async_store.exists()  # as in query
            self._note_opened()
        text = query.query_str or ""
        models, (plan, scope) = self._query_models(query, kwargs)
        if models:
            named = {n: await m.aget_query_embedding(text) for n, m in models.items()}
            plan, scope = self._plan(query, kwargs, named)
        return to_query_result(await self.async_store.run_search(plan, **scope), keep)
