"""The data operations of a store: writes, reads and searches, each built once."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from milvus_plugins.core.arguments import as_list
from milvus_plugins.core.decay import Decay
from milvus_plugins.core.facade.collection import CollectionOperations, Tenant
from milvus_plugins.core.filters import Filter, filter_arg
from milvus_plugins.core.grouping import Grouping
from milvus_plugins.core.indexes import flat_search_knobs
from milvus_plugins.core.ops import deletes, reads, search, writes
from milvus_plugins.core.ops.calls import Op, map_op, or_empty
from milvus_plugins.core.ops.fusion import Fusion
from milvus_plugins.core.ops.search import SearchKind, SearchRequest, plan_retrieval
from milvus_plugins.core.ops.writes import WriteMode
from milvus_plugins.core.ranking import Ranker
from milvus_plugins.core.records import Record
from milvus_plugins.core.requests import SparseQuery
from milvus_plugins.core.results import Hit
from milvus_plugins.core.types import RetrievalMode

__all__ = ["FilterLike", "StoreOperations"]

FilterLike = Filter | str | None


class StoreOperations(CollectionOperations):
    """Every public operation of a store, built from its arguments (no I/O).

    Every data method (reads, searches, writes, deletes) takes ``tenant=`` and
    ``partition_names=`` (writes: ``partition_name=``) to confine that call; both are
    checked before any I/O.
    """

    # -- writes -----------------------------------------------------------------------

    def upsert(
        self,
        records: Sequence[Record],
        *,
        mode: WriteMode | str = WriteMode.AUTO,
        progress: bool | None = None,
        batch_rows: int | None = None,
        partition_name: str | None = None,
        tenant: Tenant | None = None,
        embed: Callable[[list[str]], Any] | None = None,
    ) -> Op[list[str]]:
        """Write records in batches (by id by default: re-runs never duplicate).

        Args:
            records: the records; all are validated before the first batch is sent
                (before the first text is embedded, with ``embed``).
            mode: ``"auto"`` (default: by id; sent as plain inserts into a collection
                this call created, as upserts otherwise), ``"upsert"`` (always
                upserts) or ``"insert"`` (faster, duplicates possible).
            progress: force the progress bar on or off (default: TTY and large writes).
            batch_rows: maximum rows per request for this call (default: the store's
                :class:`WriteOptions`).
            partition_name: the partition to write into (it must exist; not with a
                partition key).
            tenant: stamp this tenant into the partition-key field (default: the
                store's); a record naming another tenant is refused.
            embed: a streamed write: the records come without vectors and this
                function (``texts -> vectors``, e.g. ``embed_documents``; the async
                store also takes a coroutine function; a sync one runs in a worker
                thread there, so one that needs the running event loop is a
                ``ConfigError``) embeds them one chunk of ``batch_rows`` at a time. The next
                chunk is embedded while the current one is written (at most one
                ahead; ``WriteOptions(overlap=False)`` turns that off), so memory
                stays bounded by two chunks and the progress bar moves while the
                model runs. Each record's ``vector`` is set while its chunk is
                written and reset to ``None`` after.

        Returns:
            The ids written, in input order.

        Raises:
            InvalidInputError: a bad record (nothing embedded or written), or a bad
                first chunk of vectors from ``embed`` (nothing written).
            TenantMismatchError: a record names another tenant (nothing written).
            TenantRequiredError: strict tenant mode and no tenant.
            WriteError: a batch failed after retries, or ``embed`` failed after some
                rows were written; lists written and unwritten ids.
            CollectionNotFoundError: the collection was dropped (by another client)
                during the write; the next write recreates it.
        """
        ctx = self.scoped_context(tenant, partition_name=partition_name)
        return writes.upsert_op(ctx, records, mode, progress, batch_rows, embed)

    def check_write(
        self,
        records: Sequence[Record],
        *,
        partition_name: str | None = None,
        tenant: Tenant | None = None,
    ) -> Op[None]:
        """Refuse, before you embed ``records`` yourself, what :meth:`upsert` would refuse
        without their vectors; nothing is written or created.

        The checks of :meth:`validate_before_embedding`, and those that read the
        collection: an existing collection is opened (another tool's layout, a schema
        that does not fit), and an id that another tenant's row or a row in another
        partition holds is refused. :meth:`upsert` checks it all again.

        Raises:
            InvalidInputError: a bad record, or a partition that does not exist.
            PartitionMismatchError: an id stored in another partition.
            TenantMismatchError: an id or a record of another tenant.
            TenantRequiredError: strict tenant mode and no tenant.
            ForeignLayoutError, SchemaMismatchError: the collection does not take
                this package's rows.
        """
        ctx = self.scoped_context(tenant, partition_name=partition_name)
        return writes.check_write_op(ctx, records)

    def delete(
        self,
        ids: Sequence[str] | None = None,
        filter: FilterLike = None,
        *,
        partition_names: Sequence[str] | None = None,
        tenant: Tenant | None = None,
    ) -> Op[int]:
        """Delete by ids, by filter, or both (then a row must match both), in scope.

        With a tenant (the call's or the store's) only that tenant's rows are deleted;
        with ``partition_names`` only rows in those partitions.

        A filter that matches every row by its structure (``and_()``, a blank string
        ...) is refused: :meth:`clear` is the one way to delete every row. A raw
        expression string that always holds (``"1 == 1"``) cannot be recognised; raw
        strings are the caller's responsibility.

        Returns:
            The number of rows the delete selected, counted just before it ran (an id
            that holds no row counts 0, one named twice counts once; the engines'
            own figure is the number of keys they were sent).

        Raises:
            ConfigError: neither ids nor filter given.
            InvalidInputError: bad ids, or a filter that matches every row.
            FilterError: a filter that cannot be compiled.
        """
        return deletes.delete_op(self.scoped_context(tenant, partition_names), ids, filter)

    def clear(
        self, *, partition_names: Sequence[str] | None = None, tenant: Tenant | None = None
    ) -> Op[int]:
        """Delete every row of the scope, keeping the collection (schema, indexes, settings).

        With a tenant (the call's or the store's) only that tenant's rows go; with
        ``partition_names`` only the rows in those partitions.

        Returns:
            The number of rows deleted (counted as :meth:`delete` counts them).
        """
        return deletes.clear_op(self.scoped_context(tenant, partition_names))

    def reset(self) -> Op[bool]:
        """Empty the collection: drop it where this store created it (and it is still the
        one it created), so that the next write makes it again (with the next model's
        dimension); otherwise delete every row and keep it (a collection the store found
        keeps the schema, settings and layout it was made with; one an alias names is
        never dropped). A store with a tenant deletes only its rows.

        Raises:
            TenantRequiredError: strict tenant mode and no tenant.

        Returns:
            Whether the collection was dropped.
        """
        if self.tenancy.tenant is not None or self.tenancy.strict:
            return map_op(self.clear(), lambda _: False)
        return deletes.reset_op(self.op_context())

    # -- reads ------------------------------------------------------------------------

    def get(
        self,
        ids: Sequence[str],
        *,
        include_vectors: bool = False,
        partition_names: Sequence[str] | None = None,
        tenant: Tenant | None = None,
    ) -> Op[list[Record]]:
        """Return the records with these ids, in the order given (missing ids skipped).

        Raises:
            InvalidInputError: ``ids`` is a single string, or holds a non-string or ``""``.
        """
        op = reads.get_op(self.scoped_context(tenant, partition_names), ids, include_vectors)
        return or_empty(op, list)

    def query(
        self,
        filter: FilterLike = None,
        *,
        limit: int | None = None,
        offset: int = 0,
        include_vectors: bool = False,
        partition_names: Sequence[str] | None = None,
        tenant: Tenant | None = None,
    ) -> Op[list[Record]]:
        """Return records matching ``filter`` (all when ``None``), paging past 16,384 rows.

        Without ``limit``, every matching row after the first ``offset`` is returned.

        Raises:
            InvalidInputError: ``limit`` is not a positive integer, ``offset`` is not a
                non-negative integer, or ``offset + limit`` exceeds Milvus' 16,384.
        """
        ctx = self.scoped_context(tenant, partition_names)
        return or_empty(
            reads.query_op(ctx, filter_arg(filter), limit, offset, include_vectors), list
        )

    def count(
        self,
        filter: FilterLike = None,
        *,
        partition_names: Sequence[str] | None = None,
        tenant: Tenant | None = None,
    ) -> Op[int]:
        """Number of rows of the scope matching ``filter`` (all its rows when ``None``)."""
        ctx = self.scoped_context(tenant, partition_names)
        return or_empty(reads.count_op(ctx, filter_arg(filter)), int)

    # -- searches ---------------------------------------------------------------------

    def search(
        self,
        vector: Sequence[float],
        *,
        k: int = 4,
        filter: FilterLike = None,
        search_params: Mapping[str, Any] | None = None,
        include_vectors: bool = False,
        grouping: Grouping | None = None,
        score_threshold: float | None = None,
        decay: Decay | None = None,
        field: str | None = None,
        partition_names: Sequence[str] | None = None,
        tenant: Tenant | None = None,
    ) -> Op[list[Hit]]:
        """Dense similarity search: the ``k`` nearest records, best first.

        With ``grouping`` (:class:`Grouping`): the ``k`` best groups (by default source
        documents: one best chunk per document), on the server or grouped here. With
        ``score_threshold`` (a relevance in [0, 1]): only hits at least that relevant,
        asked of Milvus as a range search (``radius``, converted exactly from the
        relevance formula; see :mod:`milvus_plugins.core.range_search`). Explicit
        ``radius`` / ``range_filter`` knobs in ``search_params`` (raw distances) are
        accepted too. With ``decay`` (:class:`Decay`): candidates reranked by a numeric
        field's distance from an origin (e.g. recency), by Milvus' decay reranker where
        the engine has one, else here with the same formulas.

        ``field`` names the dense field searched: ``None`` is the canonical ``vector``,
        or one of the spec's ``vector_fields``.

        Raises:
            ConfigError: a sparse-only collection (``dense=False``: use
                :meth:`sparse_search`), or no dense field called ``field``.
        """
        if grouping is None and score_threshold is None and decay is None:
            many = self.search_many(
                [vector],
                k=k,
                filter=filter,
                search_params=search_params,
                include_vectors=include_vectors,
                field=field,
                partition_names=partition_names,
                tenant=tenant,
            )
            return map_op(many, lambda hits: hits[0])
        request = SearchRequest(
            kind=SearchKind.DENSE,
            vector=vector,
            k=k,
            where=filter_arg(filter),
            search_params=search_params,
            include_vectors=include_vectors,
            grouping=grouping,
            score_threshold=score_threshold,
            decay=decay,
            field=field,
        )
        return self.run_search(request, partition_names=partition_names, tenant=tenant)

    def search_many(
        self,
        vectors: Sequence[Sequence[float]],
        *,
        k: int = 4,
        filter: FilterLike = None,
        search_params: Mapping[str, Any] | None = None,
        include_vectors: bool = False,
        field: str | None = None,
        partition_names: Sequence[str] | None = None,
        tenant: Tenant | None = None,
    ) -> Op[list[list[Hit]]]:
        """Dense search for several query vectors in one request."""
        queries = as_list(vectors, "vectors", of="query vectors")
        op = search.dense_search_op(
            self.scoped_context(tenant, partition_names),
            queries,
            k,
            filter_arg(filter),
            None if search_params is None else flat_search_knobs(search_params),
            include_vectors,
            field,
        )
        return or_empty(op, lambda: [[] for _ in queries])

    def sparse_search(
        self,
        query: SparseQuery,
        *,
        k: int = 4,
        filter: FilterLike = None,
        include_vectors: bool = False,
        grouping: Grouping | None = None,
        score_threshold: float | None = None,
        decay: Decay | None = None,
        partition_names: Sequence[str] | None = None,
        tenant: Tenant | None = None,
    ) -> Op[list[Hit]]:
        """Keyword search: BM25 on the query text, or a client sparse vector."""
        request = SearchRequest(
            kind=SearchKind.SPARSE,
            query=query,
            k=k,
            where=filter_arg(filter),
            include_vectors=include_vectors,
            grouping=grouping,
            score_threshold=score_threshold,
            decay=decay,
        )
        return self.run_search(request, partition_names=partition_names, tenant=tenant)

    def hybrid_search(
        self,
        vector: Sequence[float] | Mapping[str, Sequence[float]],
        query: SparseQuery | None = None,
        *,
        k: int = 4,
        filter: FilterLike = None,
        ranker: Ranker | None = None,
        fetch_k: int | None = None,
        fusion: Fusion | str | None = None,
        search_params: Mapping[str, Any] | None = None,
        include_vectors: bool = False,
        grouping: Grouping | None = None,
        score_threshold: float | None = None,
        decay: Decay | None = None,
        partition_names: Sequence[str] | None = None,
        tenant: Tenant | None = None,
        relevance: bool = True,
    ) -> Op[list[Hit]]:
        """Dense + sparse search, or N legs, fused with RRF or weighted scores.

        Args:
            vector: the dense query vector; or a mapping of named dense fields
                (``vector`` and the spec's ``vector_fields``) to query vectors: one
                leg per entry, in that order, then the sparse leg when ``query`` is
                given (N-leg hybrid; ``Weighted`` then has one weight per leg).
            query: the keyword query (text for BM25) or a client sparse vector;
                optional with named vectors.
            k: results to return.
            filter: applied to every leg.
            ranker: :class:`RRF` or :class:`Weighted` (default: the store's).
            fetch_k: candidates per leg before fusion (default ``max(4k, 20)``).
            fusion: ``"auto"``/``"client"`` (relevance from both legs) or ``"server"``
                (one call, rank-based relevance); default: the store's. See
                :class:`HybridOptions`.
            search_params: dense-leg knobs (``ef``, ``nprobe`` ...).
            include_vectors: return vectors too.
            grouping: group the fused results (on the client; see :class:`Grouping`).
            score_threshold: only fused hits at least this relevant.
            decay: rerank the fused candidates by a numeric field (:class:`Decay`).
            partition_names: search only these partitions.
            tenant: search only this tenant's rows (each leg).
            relevance: ``False`` when only the hits' order is read: fusion ``"auto"``
                then runs one server ``hybrid_search`` where it can (same hits, same
                order, ``Hit.score`` rank-based); see :class:`SearchRequest`.

        Raises:
            ConfigError: fewer than two legs, an unknown field, a ``Weighted`` ranker
                without one weight per leg, a sparse-only collection (no dense leg).
            UnsupportedByServerError: the engine lacks sparse or hybrid search.
        """
        single, named = search.split_hybrid_vector(vector)
        request = SearchRequest(
            kind=SearchKind.HYBRID,
            vector=single,
            vectors=named,
            query=query if named is not None or query is not None else "",
            k=k,
            where=filter_arg(filter),
            ranker=ranker,
            fetch_k=fetch_k,
            fusion=fusion,
            search_params=search_params,
            include_vectors=include_vectors,
            grouping=grouping,
            score_threshold=score_threshold,
            decay=decay,
            relevance=relevance,
        )
        return self.run_search(request, partition_names=partition_names, tenant=tenant)

    def filtered_hits(
        self,
        *,
        k: int = 4,
        filter: FilterLike = None,
        include_vectors: bool = False,
        partition_names: Sequence[str] | None = None,
        tenant: Tenant | None = None,
    ) -> Op[list[Hit]]:
        """Return up to ``k`` rows matching ``filter`` as hits: a filter-only retrieval.

        A ``query`` with ``limit=k``, no vector search: the rows come back in the
        engine's order, each with score 1.0 and distance ``nan``
        (:func:`~milvus_plugins.core.results.filter_only_hits`).

        Raises:
            InvalidInputError: ``k`` is not a positive integer (at most 16,384).
        """
        request = SearchRequest(
            kind=SearchKind.FILTERED, k=k, where=filter_arg(filter), include_vectors=include_vectors
        )
        return self.run_search(request, partition_names=partition_names, tenant=tenant)

    def mmr_search(
        self,
        vector: Sequence[float],
        *,
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        filter: FilterLike = None,
        search_params: Mapping[str, Any] | None = None,
        field: str | None = None,
        partition_names: Sequence[str] | None = None,
        tenant: Tenant | None = None,
    ) -> Op[list[Hit]]:
        """Maximal-marginal-relevance search: ``fetch_k`` candidates, ``k`` diverse picks."""
        request = SearchRequest(
            kind=SearchKind.MMR,
            vector=vector,
            k=k,
            fetch_k=fetch_k,
            lambda_mult=lambda_mult,
            where=filter_arg(filter),
            search_params=search_params,
            field=field,
        )
        return self.run_search(request, partition_names=partition_names, tenant=tenant)

    def retrieve(
        self,
        *,
        mode: RetrievalMode | str = RetrievalMode.DENSE,
        vector: Sequence[float] | None = None,
        text: str | None = None,
        k: int = 4,
        filter: FilterLike = None,
        ranker: Ranker | None = None,
        fetch_k: int | None = None,
        search_params: Mapping[str, Any] | None = None,
        include_vectors: bool = False,
        grouping: Grouping | None = None,
        score_threshold: float | None = None,
        decay: Decay | None = None,
        vectors: Mapping[str, Sequence[float]] | None = None,
        field: str | None = None,
        partition_names: Sequence[str] | None = None,
        tenant: Tenant | None = None,
        relevance: bool = True,
    ) -> Op[list[Hit]]:
        """Search in one retrieval mode: ``dense`` (vector), ``sparse`` (text) or ``hybrid``.

        With neither a ``vector`` nor a ``text`` (``None``, ``""`` or blank) there is
        nothing to rank by, in any mode: the call returns up to ``k`` rows matching
        ``filter`` (see :meth:`filtered_hits`), not a ranking against a placeholder.
        ``relevance=False``: only the hits' order is read (a hybrid retrieval may then
        fuse on the server; see :meth:`hybrid_search`).

        Raises:
            InvalidInputError: the mode's inputs are missing (a vector for dense and
                hybrid, a text for sparse and hybrid) while the other one is given.
        """
        request = plan_retrieval(
            mode,
            vector,
            text,
            k=k,
            where=filter_arg(filter),
            ranker=ranker,
            fetch_k=fetch_k,
            search_params=search_params,
            include_vectors=include_vectors,
            grouping=grouping,
            score_threshold=score_threshold,
            decay=decay,
            vectors=vectors,
            field=field,
            relevance=relevance,
        )
        return self.run_search(request, partition_names=partition_names, tenant=tenant)

    def run_search(
        self,
        request: SearchRequest,
        *,
        partition_names: Sequence[str] | None = None,
        tenant: Tenant | None = None,
    ) -> Op[list[Hit]]:
        """Run one typed :class:`SearchRequest` (a dropped collection reads as empty).

        Args:
            request: the search.
            partition_names: search only these partitions (not with a partition key).
            tenant: search only this tenant's rows (default: the store's tenant); in a
                hybrid search, each leg.
        """
        ctx = self.scoped_context(tenant, partition_names)
        return or_empty(search.search_op(ctx, request), list)
