"""The synchronous store: one collection, every operation, run by a :class:`SyncRunner`.

Each method checks its arguments, builds the operation (:mod:`milvus_plugins.core.ops`:
pure code that says which calls to make and what their answers mean) and runs it.
:class:`~milvus_plugins.core.async_store.AsyncMilvusStore` runs the same operations on
an async runner, so the two can only differ by ``await``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from milvus_plugins.core.arguments import checked_arguments
from milvus_plugins.core.batching import WriteOptions
from milvus_plugins.core.capabilities import Capabilities
from milvus_plugins.core.config import CollectionSpec, ConnectionConfig
from milvus_plugins.core.connection import check_client_kwargs
from milvus_plugins.core.errors import (
    ConfigError,
    MilvusPluginsError,
)
from milvus_plugins.core.facade import StoreOperations, sync_method
from milvus_plugins.core.filters import Filter, compile_filter, ensure_filter, filter_arg
from milvus_plugins.core.fingerprint import EmbeddingFingerprint, EmbeddingProbe
from milvus_plugins.core.ops import writes
from milvus_plugins.core.ops.calls import Op
from milvus_plugins.core.ops.context import OpContext
from milvus_plugins.core.ops.deletes import deletion_filter
from milvus_plugins.core.ops.fusion import Fusion, HybridOptions, sparse_metric, use_client_fusion
from milvus_plugins.core.ops.fusion import client_fuse as fuse_hits
from milvus_plugins.core.ops.lifecycle import created_elsewhere
from milvus_plugins.core.ops.writes import BatchRun
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
    given_records,
)
from milvus_plugins.core.session import ROW_COUNT_TTL, OpenMode, Session
from milvus_plugins.core.sparse import SparseEncoder
from milvus_plugins.core.types import SparseMode

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

    The constructor does no I/O: the client connects, and the collection is opened, on
    first use; the first write (or :meth:`ensure_collection`) creates it. A read never
    creates it: a read of a collection that is not there finds nothing.

    Args:
        spec: the collection spec (name, dim, index, sparse mode, declared fields ...).
        connection: where Milvus is (default: ``MILVUS_URI``/``MILVUS_TOKEN`` or
            ``./milvus.db``).
        drop_old: drop an existing collection of that name at the first write (reads
            before it find nothing, and ``exists()`` is ``False``).
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
        for name, value, kind in (
            ("connection", connection, ConnectionConfig),
            ("write", write, WriteOptions),
            ("retry", retry, RetryPolicy),
        ):
            if value is not None and not isinstance(value, kind):
                raise ConfigError(
                    f"{name} must be a {kind.__name__} or None ({type(value).__name__} given)."
                )
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
        self.ops = StoreOperations(
            self.session,
            self.tenancy,
            write=write or WriteOptions(),
            hybrid=hybrid or HybridOptions(),
            sparse_encoder=sparse_encoder,
        )
        self.settings = RunSettings(
            self.session, retry or RetryPolicy(), check_client_kwargs(client_kwargs)
        )
        self.runner = SyncRunner(self.settings)

    @property
    def write_options(self) -> WriteOptions:
        """Batching, progress and flush defaults (assignable)."""
        return self.ops.write_options

    @write_options.setter
    def write_options(self, options: WriteOptions) -> None:
        self.ops.write_options = options

    @property
    def hybrid(self) -> HybridOptions:
        """Hybrid-search defaults (assignable)."""
        return self.ops.hybrid

    @hybrid.setter
    def hybrid(self, options: HybridOptions) -> None:
        self.ops.hybrid = options

    @property
    def sparse_encoder(self) -> SparseEncoder | None:
        """The encoder of a ``sparse="client"`` collection (assignable)."""
        return self.ops.sparse_encoder

    @sparse_encoder.setter
    def sparse_encoder(self, encoder: SparseEncoder | None) -> None:
        self.ops.sparse_encoder = encoder

    def op_context(self, scope: Scope | None = None) -> OpContext:
        """See :meth:`CollectionOperations.op_context`."""
        return self.ops.op_context(scope)

    def scope(
        self,
        *,
        tenant: Tenant | None = None,
        partition_names: Sequence[str] | None = None,
        partition_name: str | None = None,
    ) -> Scope:
        """See :meth:`CollectionOperations.scope`."""
        return self.ops.scope(
            tenant=tenant, partition_names=partition_names, partition_name=partition_name
        )

    def scoped_context(
        self,
        tenant: Tenant | None = None,
        partition_names: Sequence[str] | None = None,
        partition_name: str | None = None,
    ) -> OpContext:
        """See :meth:`CollectionOperations.scoped_context`."""
        return self.ops.scoped_context(tenant, partition_names, partition_name)

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
        :mod:`milvus_plugins.core.lite`) until :meth:`close`, also if the store itself
        is dropped unclosed while you may still hold the client.
        """
        return self.runner.hand_out()

    @property
    def capabilities(self) -> Capabilities:
        """What the connected Milvus supports (connects on first access)."""
        return self._run(self.ops.capabilities())

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

    # -- every operation, defined once in StoreOperations ---------------------------

    ensure_collection = sync_method(StoreOperations.ensure_collection)
    exists = sync_method(StoreOperations.exists)
    drop = sync_method(StoreOperations.drop)
    list_collections = sync_method(StoreOperations.list_collections)
    flush = sync_method(StoreOperations.flush)
    compact = sync_method(StoreOperations.compact)
    load = sync_method(StoreOperations.load)
    release = sync_method(StoreOperations.release)
    create_partition = sync_method(StoreOperations.create_partition)
    list_partitions = sync_method(StoreOperations.list_partitions)
    drop_partition = sync_method(StoreOperations.drop_partition)
    stats = sync_method(StoreOperations.stats)

    upsert = sync_method(StoreOperations.upsert)
    check_write = sync_method(StoreOperations.check_write)
    delete = sync_method(StoreOperations.delete)
    clear = sync_method(StoreOperations.clear)
    reset = sync_method(StoreOperations.reset)
    get = sync_method(StoreOperations.get)
    query = sync_method(StoreOperations.query)
    count = sync_method(StoreOperations.count)

    search = sync_method(StoreOperations.search)
    search_many = sync_method(StoreOperations.search_many)
    sparse_search = sync_method(StoreOperations.sparse_search)
    hybrid_search = sync_method(StoreOperations.hybrid_search)
    filtered_hits = sync_method(StoreOperations.filtered_hits)
    mmr_search = sync_method(StoreOperations.mmr_search)
    retrieve = sync_method(StoreOperations.retrieve)
    run_search = sync_method(StoreOperations.run_search)

    # -- no-I/O helpers of the adapters -------------------------------------------------

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
        records = self.scope(tenant=tenant).stamp(given_records(records))
        writes.validate_unembedded(self.spec, self.session.capabilities, records)

    def expression(self, filter: FilterLike) -> str:
        """Compile a filter for this collection and server (escaped, injection-safe)."""
        return compile_filter(ensure_filter(filter), self.spec, self.capabilities.dialect)

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

    def sparse_query(self, query: SparseQuery) -> SparseQuery:
        """Encode a text query for a client-sparse collection; other queries pass as is."""
        return self.op_context().sparse_query(query)

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
