"""The synchronous store: one collection, every operation, run by a :class:`SyncRunner`.

Each method checks its arguments, builds the operation (:mod:`milvus_plugins.core.ops`:
pure code that says which calls to make and what their answers mean) and runs it.
:class:`~milvus_plugins.core.async_store.AsyncMilvusStore` runs the same operations on
an async runner, so the two can only differ by ``await``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from milvus_plugins.core.arguments import as_list, checked_arguments
from milvus_plugins.core.batching import WriteOptions
from milvus_plugins.core.capabilities import Capabilities
from milvus_plugins.core.config import CollectionSpec, ConnectionConfig
from milvus_plugins.core.decay import Decay
from milvus_plugins.core.errors import (
    ConfigError,
    MilvusPluginsError,
)
from milvus_plugins.core.filters import Filter, compile_filter, ensure_filter, filter_arg
from milvus_plugins.core.fingerprint import EmbeddingFingerprint, EmbeddingProbe
from milvus_plugins.core.grouping import Grouping
from milvus_plugins.core.ops import admin, lifecycle, reads, search, writes
from milvus_plugins.core.ops.calls import Op, or_empty
from milvus_plugins.core.ops.context import OpContext
from milvus_plugins.core.ops.fusion import Fusion, HybridOptions, sparse_metric, use_client_fusion
from milvus_plugins.core.ops.fusion import client_fuse as fuse_hits
from milvus_plugins.core.ops.lifecycle import created_elsewhere
from milvus_plugins.core.ops.search import SearchKind, SearchRequest, plan_retrieval
from milvus_plugins.core.ops.writes import BatchRun, WriteMode, deletion_filter
from milvus_plugins.core.ranking import Ranker
from milvus_plugins.core.records import Record
from milvus_plugins.core.requests import SparseQuery, build_query, output_fields
from milvus_plugins.core.results import Hit
from milvus_plugins.core.retry import RetryPolicy
from milvus_plugins.core.runners.settings import RunSettings
from milvus_plugins.core.runners.sync import SyncRunner, write_lock
from milvus_plugins.core.scope import (
    Scope,
    Tenancy,
    TenantMode,
    refuse_unscoped_admin,
    resolve_scope,
)
from milvus_plugins.core.session import ROW_COUNT_TTL, OpenMode, Session
from milvus_plugins.core.sparse import SparseEncoder
from milvus_plugins.core.stats import CollectionStats
from milvus_plugins.core.types import RetrievalMode, SparseMode

__all__ = [
    "ROW_COUNT_TTL",
    "BatchRun",
    "HybridOptions",
    "MilvusStore",
    "client_fuse",
    "created_elsewhere",
    "deletion_filter",
    "sparse_metric",
    "write_lock",
]

T = TypeVar("T")
FilterLike = Filter | str | None
Tenant = str | int


def client_fuse(
    store: Any, dense: Sequence[Hit], sparse: Sequence[Hit], ranker: Ranker, k: int
) -> list[Hit]:
    """Fuse a dense and a sparse result list of ``store`` on the client (see the ops version)."""
    return fuse_hits(store.spec, store.capabilities, dense, sparse, ranker, k)


@checked_arguments
class MilvusStore:
    """Synchronous access to one collection of the canonical layout.

    The constructor does no I/O: the client connects, and the collection is opened or
    created, on first use.

    Args:
        spec: the collection spec (name, dim, index, sparse mode, declared fields ...).
        connection: where Milvus is (default: ``MILVUS_URI``/``MILVUS_TOKEN`` or
            ``./milvus.db``).
        drop_old: drop an existing collection of that name when first opened.
        open_mode: ``"check"`` (validate an existing collection against the spec) or
            ``"adopt"`` (read its settings back).
        write: batching, progress and flush options.
        retry: retry policy for transient faults.
        hybrid: hybrid-search defaults (ranker, fetch_k, fusion).
        sparse_encoder: the encoder for ``sparse="client"`` collections.
        client_kwargs: extra keyword arguments for ``MilvusClient``.
        embedding: the embedding model the vectors come from (an
            :class:`EmbeddingProbe`, or a known :class:`EmbeddingFingerprint`):
            recorded in the collection when it is created; opening a collection that
            records another model raises :class:`EmbeddingMismatchError`.
        allow_embedding_change: open a collection recording another embedding anyway.
        tenant: the tenant every data call is scoped to (needs a spec with a
            ``partition_key``); a call's own ``tenant=`` replaces it. See
            :mod:`milvus_plugins.core.scope`.
        tenant_mode: ``"optional"`` (default) or ``"strict"``: every data call must
            have a tenant, and raw expression strings are refused.

    Every data method (reads, searches, writes, deletes) takes ``tenant=`` and
    ``partition_names=`` (writes: ``partition_name=``) to confine that call; both are
    checked before any I/O. :meth:`drop` is refused on a store with a tenant or in
    strict mode: it would remove every tenant's rows.
    """

    def __init__(
        self,
        spec: CollectionSpec,
        *,
        connection: ConnectionConfig | None = None,
        drop_old: bool = False,
        open_mode: OpenMode | str = OpenMode.CHECK,
        write: WriteOptions | None = None,
        retry: RetryPolicy | None = None,
        hybrid: HybridOptions | None = None,
        sparse_encoder: SparseEncoder | None = None,
        client_kwargs: Mapping[str, Any] | None = None,
        session: Session | None = None,
        embedding: EmbeddingProbe | EmbeddingFingerprint | None = None,
        allow_embedding_change: bool = False,
        tenant: Tenant | None = None,
        tenant_mode: TenantMode | str = TenantMode.OPTIONAL,
    ) -> None:
        if not isinstance(spec, CollectionSpec):
            raise ConfigError(f"spec must be a CollectionSpec, got {type(spec).__name__}.")
        if spec.sparse_mode is SparseMode.CLIENT and sparse_encoder is None:
            raise ConfigError(
                "sparse='client' needs sparse_encoder= (e.g. BM25Encoder().fit(corpus))."
            )
        mode = OpenMode.parse(open_mode, field="open_mode")
        self.tenancy = Tenancy(tenant=tenant, mode=tenant_mode)
        if mode is OpenMode.CHECK:  # an adopted collection names its partition key later
            self.tenancy.check(spec)
        self.session = session or Session(
            spec=spec,
            connection=connection or ConnectionConfig.from_env(),
            drop_old=drop_old,
            open_mode=mode,
            embedding=embedding,
            allow_embedding_change=allow_embedding_change,
        )
        self.write_options = write or WriteOptions()
        self.hybrid = hybrid or HybridOptions()
        self.sparse_encoder = sparse_encoder
        self.settings = RunSettings(self.session, retry or RetryPolicy(), dict(client_kwargs or {}))
        self.runner = SyncRunner(self.settings)

    def op_context(self, scope: Scope | None = None) -> OpContext:
        """The state and options the store's operations run with (read at each call).

        Without ``scope`` the context is the whole collection (administrative calls).
        """
        return OpContext(
            self.session, self.write_options, self.hybrid, self.sparse_encoder, scope or Scope()
        )

    def scope(
        self,
        *,
        tenant: Tenant | None = None,
        partition_names: Sequence[str] | None = None,
        partition_name: str | None = None,
    ) -> Scope:
        """Resolve one call's scope against the store's tenancy (no I/O).

        Raises:
            ConfigError: a bad partition name; named partitions on a partition-key
                collection; a tenant on a collection without a partition key.
            TenantRequiredError: strict tenant mode and no tenant.
        """
        return resolve_scope(
            self.spec,
            self.tenancy,
            tenant=tenant,
            partition_names=partition_names,
            partition_name=partition_name,
        )

    def scoped_context(
        self,
        tenant: Tenant | None = None,
        partition_names: Sequence[str] | None = None,
        partition_name: str | None = None,
    ) -> OpContext:
        """The operation context of one data call, confined to its :meth:`scope`."""
        return self.op_context(
            self.scope(
                tenant=tenant, partition_names=partition_names, partition_name=partition_name
            )
        )

    def _run(self, op: Op[T]) -> T:
        return self.runner.run(op)

    # -- connection -----------------------------------------------------------------

    def __repr__(self) -> str:
        return f"MilvusStore(collection={self.spec.name!r}, connection={self.session.connection!r})"

    @property
    def spec(self) -> CollectionSpec:
        """The effective collection spec (``dim`` filled once known)."""
        return self.session.spec

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy for transient faults (assignable)."""
        return self.settings.retry

    @retry.setter
    def retry(self, policy: RetryPolicy) -> None:
        self.settings.retry = policy

    @property
    def _client(self) -> Any:
        return self.runner.connected_client

    @property
    def client(self) -> Any:
        """The underlying ``pymilvus.MilvusClient`` (connects on first access).

        On Milvus Lite the connection holds a lease on the database's server (see
        :mod:`milvus_plugins.core.lite`) until :meth:`close`.
        """
        return self.runner.client

    @property
    def capabilities(self) -> Capabilities:
        """What the connected Milvus supports (connects on first access)."""
        return self._run(lifecycle.capabilities_op(self.session))

    def translate(self, exc: BaseException) -> MilvusPluginsError:
        """Translate ``exc`` for this store: its secrets masked, its collection named."""
        return self.settings.translate(exc)

    def close(self) -> None:
        """Close the client connection (the store reconnects if used again).

        On Milvus Lite, the last store of a database to close stops its server: its
        threads end and other processes can open the database.
        """
        self.runner.close()

    def __enter__(self) -> MilvusStore:
        """Return the store; leaving the block closes it."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the store."""
        self.close()

    # -- collection lifecycle ---------------------------------------------------------

    def ensure_collection(self, dim: int | None = None, records: Sequence[Record] = ()) -> bool:
        """Open the collection, creating it when absent and the dimension is known.

        ``records`` is the write that creates it (for ``infer_metadata_fields``).

        Returns:
            Whether the collection exists afterwards.

        Raises:
            SchemaMismatchError: an existing collection differs from the spec.
            UnsupportedByServerError: the spec needs a feature the server lacks.
        """
        return self._run(lifecycle.ensure_op(self.op_context(), dim, records))

    def exists(self) -> bool:
        """Whether the collection exists (opening it if it does; never creating it).

        Always asks Milvus: another client may have dropped (or created) it meanwhile.
        """
        return self._run(lifecycle.exists_op(self.op_context()))

    def drop(self) -> None:
        """Drop the collection; the store recreates it on the next write.

        Raises:
            TenantRequiredError: the store has a tenant or is in strict tenant mode.
        """
        refuse_unscoped_admin(self.tenancy, "drop()")
        self._run(lifecycle.drop_op(self.op_context()))

    def list_collections(self) -> list[str]:
        """Names of the collections in the connected database."""
        return self._run(admin.list_collections_op())

    def flush(self) -> None:
        """Seal and persist buffered rows (on Milvus Lite it also speeds up search)."""
        self._run(admin.flush_op(self.op_context()))

    def compact(self) -> int:
        """Start a compaction (merging segments, purging deletes); return its job id."""
        return self._run(admin.compact_op(self.op_context()))

    def load(self) -> None:
        """Load the collection into memory for search."""
        self._run(admin.load_op(self.op_context()))

    def release(self) -> None:
        """Release the collection from memory."""
        self._run(admin.release_op(self.op_context()))

    def create_partition(self, name: str) -> None:
        """Create a partition (not allowed when the spec has a partition key).

        Raises:
            ConfigError: ``name`` is not a valid Milvus name (checked before any call:
                Milvus Lite would turn it into a path).
        """
        self._run(admin.create_partition_op(self.op_context(), name))

    def list_partitions(self) -> list[str]:
        """Names of the collection's partitions."""
        return self._run(admin.list_partitions_op(self.op_context()))

    def drop_partition(self, name: str) -> None:
        """Release and drop a partition.

        Raises:
            ConfigError: ``name`` is not a valid Milvus name (checked before any call:
                Milvus Lite would delete the directory it names).
        """
        self._run(admin.drop_partition_op(self.op_context(), name))

    def stats(self) -> CollectionStats:
        """A health report: rows, fields, indexes, load state, partitions, server version."""
        return self._run(admin.stats_op(self.op_context()))

    # -- writes -----------------------------------------------------------------------

    def prepare_records(
        self, records: Sequence[Record], *, tenant: Tenant | None = None
    ) -> tuple[list[Record], int | None]:
        """Validate ``records`` and compute client sparse vectors; no I/O.

        Returns:
            The records and the dimension they imply.

        Raises:
            InvalidInputError: the first bad record; nothing is written.
        """
        return writes.prepare_records(self.scoped_context(tenant), records)

    def validate_before_embedding(
        self, records: Sequence[Record], *, tenant: Tenant | None = None
    ) -> None:
        """Check everything but the vectors (ids, texts, metadata); no I/O.

        :meth:`upsert` with ``embed=`` does this itself before embedding anything; call
        it to refuse a batch before embedding it yourself. :meth:`upsert` checks it all
        again, vectors included.

        With ``tenant`` (or the store's), the records are checked as the write will
        stamp them.

        Raises:
            ForeignLayoutError: the collection (once opened) has another tool's layout.
            InvalidInputError: the first bad record; or, where the server is known to
                have no nullable fields (Milvus < 2.5), a record without a value for a
                declared field.
            TenantRequiredError: strict tenant mode and no tenant.
            TenantMismatchError: a record names another tenant.
        """
        writes.refuse_foreign(self.spec)
        records = self.scope(tenant=tenant).stamp(as_list(records, "records", of="Record objects"))
        writes.validate_unembedded(self.spec, self.session.capabilities, records)

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
    ) -> list[str]:
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
                function (``texts -> vectors``, e.g. ``embed_documents``) embeds them
                one chunk of ``batch_rows`` at a time, each chunk written before the
                next is embedded, so memory stays bounded by the chunk and the
                progress bar moves while the model runs. Each record's ``vector`` is
                set while its chunk is written and reset to ``None`` after.

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
        return self._run(writes.upsert_op(ctx, records, mode, progress, batch_rows, embed))

    def delete(
        self,
        ids: Sequence[str] | None = None,
        filter: FilterLike = None,
        *,
        partition_names: Sequence[str] | None = None,
        tenant: Tenant | None = None,
    ) -> int:
        """Delete by ids, by filter, or both (then a row must match both), in scope.

        With a tenant (the call's or the store's) only that tenant's rows are deleted;
        with ``partition_names`` only rows in those partitions.

        A filter that matches every row by its structure (``and_()``, a blank string
        ...) is refused: :meth:`clear` is the one way to delete every row. A raw
        expression string that always holds (``"1 == 1"``) cannot be recognised; raw
        strings are the caller's responsibility.

        Returns:
            The number of rows the server reports deleted (Milvus Lite reports the
            keys it removed; servers report the number of delete requests applied).

        Raises:
            ConfigError: neither ids nor filter given.
            InvalidInputError: bad ids, or a filter that matches every row.
            FilterError: a filter that cannot be compiled.
        """
        ctx = self.scoped_context(tenant, partition_names)
        return self._run(writes.delete_op(ctx, ids, filter))

    def clear(
        self, *, partition_names: Sequence[str] | None = None, tenant: Tenant | None = None
    ) -> int:
        """Delete every row of the scope, keeping the collection (schema, indexes, settings).

        With a tenant (the call's or the store's) only that tenant's rows go; with
        ``partition_names`` only the rows in those partitions.

        Returns:
            The number of rows the server reports deleted (see :meth:`delete`).
        """
        return self._run(writes.clear_op(self.scoped_context(tenant, partition_names)))

    # -- reads ------------------------------------------------------------------------

    def expression(self, filter: FilterLike) -> str:
        """Compile a filter for this collection and server (escaped, injection-safe)."""
        return compile_filter(ensure_filter(filter), self.spec, self.capabilities.dialect)

    def get(
        self,
        ids: Sequence[str],
        *,
        include_vectors: bool = False,
        partition_names: Sequence[str] | None = None,
        tenant: Tenant | None = None,
    ) -> list[Record]:
        """Return the records with these ids, in the order given (missing ids skipped).

        Raises:
            InvalidInputError: ``ids`` is a single string, or holds a non-string or ``""``.
        """
        op = reads.get_op(self.scoped_context(tenant, partition_names), ids, include_vectors)
        return self._run(or_empty(op, list))

    def query_kwargs(
        self, filter: FilterLike, limit: int | None, offset: int, include_vectors: bool
    ) -> dict[str, Any]:
        """The keyword arguments of a ``query`` call (no ``limit``: page through all).

        Raises:
            InvalidInputError: ``limit`` is not a positive integer, ``offset`` is not a
                non-negative integer, or ``offset + limit`` exceeds Milvus' 16,384.
        """
        fields = output_fields(self.spec, include_vectors=include_vectors)
        call = build_query(
            self.spec,
            self.capabilities,
            filter_arg(filter),
            output=fields,
            limit=limit,
            offset=offset,
            timeout=self.session.connection.timeout,
        )
        return dict(call.kwargs)

    def query(
        self,
        filter: FilterLike = None,
        *,
        limit: int | None = None,
        offset: int = 0,
        include_vectors: bool = False,
        partition_names: Sequence[str] | None = None,
        tenant: Tenant | None = None,
    ) -> list[Record]:
        """Return records matching ``filter`` (all when ``None``), paging past 16,384 rows.

        Without ``limit``, every matching row after the first ``offset`` is returned.

        Raises:
            InvalidInputError: a bad ``limit`` or ``offset`` (see :meth:`query_kwargs`).
        """
        ctx = self.scoped_context(tenant, partition_names)
        op = reads.query_op(ctx, filter_arg(filter), limit, offset, include_vectors)
        return self._run(or_empty(op, list))

    def count(
        self,
        filter: FilterLike = None,
        *,
        partition_names: Sequence[str] | None = None,
        tenant: Tenant | None = None,
    ) -> int:
        """Number of rows of the scope matching ``filter`` (all its rows when ``None``)."""
        ctx = self.scoped_context(tenant, partition_names)
        return self._run(or_empty(reads.count_op(ctx, filter_arg(filter)), int))

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
    ) -> list[Hit]:
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
        if grouping is not None or score_threshold is not None or decay is not None:
            return self.run_search(
                SearchRequest(
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
                ),
                partition_names=partition_names,
                tenant=tenant,
            )
        return self.search_many(
            [vector],
            k=k,
            filter=filter,
            search_params=search_params,
            include_vectors=include_vectors,
            field=field,
            partition_names=partition_names,
            tenant=tenant,
        )[0]

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
    ) -> list[list[Hit]]:
        """Dense search for several query vectors in one request."""
        vectors = as_list(vectors, "vectors", of="query vectors")
        op = search.dense_search_op(
            self.scoped_context(tenant, partition_names),
            vectors,
            k,
            filter_arg(filter),
            search_params,
            include_vectors,
            field,
        )
        return self._run(or_empty(op, lambda: [[] for _ in vectors]))

    def sparse_query(self, query: SparseQuery) -> SparseQuery:
        """Encode a text query for a client-sparse collection; other queries pass as is."""
        return self.op_context().sparse_query(query)

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
    ) -> list[Hit]:
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

    def cached_row_count(self) -> int | None:
        """The row count cached for keyword relevance, or ``None`` when stale (no I/O)."""
        return self.session.cached_row_count()

    def remember_row_count(self, rows: int) -> int:
        """Cache ``rows`` for :meth:`cached_row_count` and return it."""
        return self.session.remember_row_count(rows)

    def use_client_fusion(
        self, fusion: Fusion | str | None = None, ranker: Ranker | None = None
    ) -> bool:
        """Whether hybrid search fuses on the client (see :class:`HybridOptions`).

        Raises:
            ConfigError: ``fusion="server"`` with a ranker only the client implements
                (``Weighted(..., normalize="minmax")``).
        """
        return use_client_fusion(self.capabilities, self.hybrid, fusion, ranker)

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
    ) -> list[Hit]:
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
    ) -> list[Hit]:
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
    ) -> list[Hit]:
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

    # -- retrieval modes --------------------------------------------------------------

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
    ) -> list[Hit]:
        """Search in one retrieval mode: ``dense`` (vector), ``sparse`` (text) or ``hybrid``.

        With neither a ``vector`` nor a ``text`` (``None``, ``""`` or blank) there is
        nothing to rank by, in any mode: the call returns up to ``k`` rows matching
        ``filter`` (see :meth:`filtered_hits`), not a ranking against a placeholder.

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
        )
        return self.run_search(request, partition_names=partition_names, tenant=tenant)

    def run_search(
        self,
        request: SearchRequest,
        *,
        partition_names: Sequence[str] | None = None,
        tenant: Tenant | None = None,
    ) -> list[Hit]:
        """Run one typed :class:`SearchRequest` (a dropped collection reads as empty).

        Args:
            request: the search.
            partition_names: search only these partitions (not with a partition key).
            tenant: search only this tenant's rows (default: the store's tenant); in a
                hybrid search, each leg.
        """
        ctx = self.scoped_context(tenant, partition_names)
        return self._run(or_empty(search.search_op(ctx, request), list))
