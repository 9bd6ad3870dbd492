"""The synchronous store: one collection, every operation, one client call each.

Each method builds its request with a pure function (``requests``), makes one client
call through :func:`call_with_retry`, and parses the answer with a pure function
(``results``). :class:`~milvus_plugins.core.async_store.AsyncMilvusStore` has the same
method names and differs only by ``await``.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from pymilvus import MilvusClient

from milvus_plugins.core import lite
from milvus_plugins.core.arguments import as_list, checked_arguments, id_list
from milvus_plugins.core.batching import WriteOptions, plan_batches, with_batch_rows
from milvus_plugins.core.capabilities import Capabilities
from milvus_plugins.core.config import CollectionSpec, ConnectionConfig
from milvus_plugins.core.errors import (
    CollectionNotFoundError,
    ConfigError,
    InvalidInputError,
    MilvusOperationError,
    MilvusPluginsError,
    WriteError,
    shown,
    translate,
)
from milvus_plugins.core.filters import (
    Filter,
    and_,
    as_filter_tree,
    compile_filter,
    ensure_filter,
    id_in,
    is_match_all,
    is_match_none,
)
from milvus_plugins.core.lite import LiteLease
from milvus_plugins.core.mmr import select_mmr
from milvus_plugins.core.names import check_name
from milvus_plugins.core.probing import probe_capabilities, reports_unimplemented
from milvus_plugins.core.ranking import (
    RRF,
    Ranker,
    fuse,
    hybrid_relevance,
    keyword_scale,
    query_terms,
    require_server_fusion,
)
from milvus_plugins.core.records import Record, records_to_rows, validate_records
from milvus_plugins.core.requests import (
    Call,
    SparseQuery,
    build_dense_search,
    build_hybrid_search,
    build_sparse_search,
    check_k,
    is_filter_only,
    output_fields,
    require_sparse_field,
)
from milvus_plugins.core.results import (
    Hit,
    filter_only_hits,
    order_like,
    parse_fused,
    parse_hits,
    parse_rows,
)
from milvus_plugins.core.retry import RetryPolicy, call_with_retry
from milvus_plugins.core.schema import (
    build_index_params,
    build_schema,
    check_supported,
    dense_index,
)
from milvus_plugins.core.session import OpenMode, Session
from milvus_plugins.core.sparse import SparseEncoder
from milvus_plugins.core.stats import CollectionStats, parse_stats
from milvus_plugins.core.types import MetricType, RetrievalMode, SparseMode

__all__ = [
    "BatchRun",
    "HybridOptions",
    "MilvusStore",
    "check_fusion",
    "client_fuse",
    "created_elsewhere",
    "deletion_filter",
    "empty_when_dropped",
    "sparse_metric",
    "write_lock",
]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])
FilterLike = Filter | str | None
_QUERY_WINDOW = 16384
ROW_COUNT_TTL = 60.0
"""Seconds a cached row count (the keyword relevance's ``ln(1 + rows)``) stays in use."""


@dataclass(frozen=True, kw_only=True)
class HybridOptions:
    """Defaults for hybrid search.

    Attributes:
        ranker: :class:`RRF` (default ``k=60``) or :class:`Weighted`.
        fetch_k: candidates per leg (``None``: ``max(4 * k, 20)``).
        fusion: ``"auto"`` (default) or ``"client"``: two searches fused here, with each
            hit's relevance computed from both legs' scores
            (:func:`~milvus_plugins.core.ranking.hybrid_relevance`); ``"server"``: one
            ``hybrid_search`` call, the same results in the same order, but Milvus
            returns only the fused score, so the relevance is the rank- or weight-based
            :func:`~milvus_plugins.core.ranking.fused_relevance`, not on the common
            scale. On Milvus Lite client fusion measured 0.99x-1.16x server fusion's
            latency at 3,000-5,183 rows (BENCHMARKS.md, "Relevance you can threshold");
            on a server it is two round trips instead of one.
    """

    ranker: Ranker = field(default_factory=RRF)
    fetch_k: int | None = None
    fusion: str = "auto"

    def __post_init__(self) -> None:
        check_fusion(self.fusion)
        if self.fusion == "server":
            require_server_fusion(self.ranker)
        if self.fetch_k is not None:
            try:
                check_k(self.fetch_k, "fetch_k")
            except InvalidInputError as exc:  # a bad option is a configuration error
                raise ConfigError(str(exc)) from None


def check_fusion(fusion: str | None) -> None:
    """Raise :class:`ConfigError` unless ``fusion`` is ``None``, auto, server or client."""
    if fusion is not None and fusion not in ("auto", "server", "client"):
        raise ConfigError(f"fusion={shown(fusion)} must be 'auto', 'server' or 'client'.")


def _fetch_k(k: int, fetch_k: int | None, default: int | None) -> int:
    chosen = fetch_k or default or max(4 * k, 20)
    return max(check_k(chosen, "fetch_k"), k)


_LITE_WRITE_LOCKS: dict[str, threading.RLock] = {}
_LITE_WRITE_LOCKS_GUARD = threading.Lock()


def write_lock(connection: ConnectionConfig) -> AbstractContextManager[object]:
    """The lock that makes writes to one Milvus Lite database take turns in this process.

    Milvus Lite 3.2 runs its engine in-process without a writer lock: two flushes at once
    race on its manifest ("current_seq is monotonic"), which failed concurrent upserts.
    Servers order writes themselves, so for them this is a no-op.
    """
    if not connection.is_lite:
        return contextlib.nullcontext()
    path = os.path.abspath(connection.uri)
    with _LITE_WRITE_LOCKS_GUARD:
        return _LITE_WRITE_LOCKS.setdefault(path, threading.RLock())


def deletion_filter(ids: Sequence[str] | None, filter: FilterLike) -> Filter | None:
    """The one filter tree a delete runs: ``ids`` AND ``filter`` (no I/O).

    Shared by the sync and async stores. The parts are combined as trees, never as
    text, so a raw expression such as ``"a or b"`` cannot widen the id restriction.

    Returns:
        The filter, or ``None`` when it can match no row (``ids=[]``, ``or_()`` ...).

    Raises:
        ConfigError: neither ``ids`` nor ``filter`` given.
        InvalidInputError: ``ids`` is a single string or holds a non-string or ``""``;
            or the filter matches every row by its structure (an empty ``and_()`` or
            nesting of them, ``not_(or_())``, a blank expression string): only
            :meth:`MilvusStore.clear` deletes every row.
        FilterError: ``filter`` is not a filter tree, a string or ``None``.
    """
    if ids is None and filter is None:
        raise ConfigError(
            "delete needs ids=, filter=, or both; to delete every row use clear() "
            "(drop() removes the collection)."
        )
    where = as_filter_tree(filter)
    parts = [] if where is None else [where]
    if ids is not None:
        parts.insert(0, id_in(id_list(ids)))
    tree = parts[0] if len(parts) == 1 else and_(*parts)
    if is_match_all(tree):
        raise InvalidInputError(
            f"delete filter={shown(filter)} matches every row (an empty filter or expression, an "
            "empty and_() / MetadataFilters nesting, or not_ of an empty or_()); a delete "
            "never empties the collection by accident: use clear() to delete every row."
        )
    return None if is_match_none(tree) else tree


def empty_when_dropped(empty: Callable[..., Any]) -> Callable[[F], F]:
    """Make a read return ``empty(*args, **kwargs)`` when its collection has vanished.

    A collection dropped by another client reads as empty, like one never created: the
    store has already forgotten it (``_call``), so the next write recreates it. Works on
    plain and ``async`` methods.
    """

    def wrap(method: F) -> F:
        if inspect.iscoroutinefunction(method):

            @functools.wraps(method)
            async def aread(*args: Any, **kwargs: Any) -> Any:
                try:
                    return await method(*args, **kwargs)
                except CollectionNotFoundError:
                    return empty(*args, **kwargs)

            return cast(F, aread)

        @functools.wraps(method)
        def read(*args: Any, **kwargs: Any) -> Any:
            try:
                return method(*args, **kwargs)
            except CollectionNotFoundError:
                return empty(*args, **kwargs)

        return cast(F, read)

    return wrap


def _no_rows(*_: Any, **__: Any) -> list[Any]:
    return []


def _no_count(*_: Any, **__: Any) -> int:
    return 0


def _no_hits_per_vector(_store: Any, vectors: Sequence[Any], *_: Any, **__: Any) -> list[Any]:
    return [[] for _ in vectors]


def created_elsewhere(exc: BaseException) -> bool:
    """Whether a failed ``create_collection`` means another client created it first.

    Then the collection is opened and checked against the spec like any existing one.
    """
    text = str(exc).lower()
    return "already exist" in text or "file exists" in text


def _delete_count(result: Any) -> int:
    if isinstance(result, Mapping):
        return int(result.get("delete_count", 0))
    if isinstance(result, (list, tuple)):
        return len(result)
    return int(getattr(result, "delete_count", 0) or 0)


class BatchRun:
    """One batched write: rows, batches, progress bar, and the ids written so far.

    Used as a context manager around the batch loop and the flush after it; a failure
    inside it becomes a :class:`WriteError` listing the ids written and not written. A
    failed flush leaves every id of the call not certainly written: Milvus Lite, for one,
    drops the rows it could not persist (seen with an unwritable data directory).
    """

    def __init__(
        self,
        store: Any,
        records: Sequence[Record],
        progress: bool | None,
        options: WriteOptions | None = None,
    ) -> None:
        options = options or store.write_options
        caps: Capabilities = store.capabilities
        self.name: str = store.spec.name
        self.ids = [r.id for r in records]
        self.rows = records_to_rows(records, store.spec, store_missing_as_null=caps.nullable)
        self.options = options
        self.flush = options.flush if options.flush is not None else caps.is_lite
        self.written = 0
        self.flushing = False
        show = options.progress if progress is None else progress
        if show is None:
            show = len(self.rows) >= options.progress_min_rows and sys.stderr.isatty()
        self.bar: Any = None
        if show:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=len(self.rows), unit="rows", desc="upsert")

    def batches(self) -> Iterator[list[dict[str, Any]]]:
        """Yield the batches; each yielded batch counts as written once the next is asked for."""
        for start, stop in plan_batches(self.rows, self.options):
            yield self.rows[start:stop]
            self.written = stop
            if self.bar is not None:
                self.bar.update(stop - start)

    def start_flush(self) -> None:
        """Mark every batch as sent: a failure from here on is the flush's."""
        self.flushing = True

    def __enter__(self) -> BatchRun:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if self.bar is not None:
            self.bar.close()
        if isinstance(exc, CollectionNotFoundError):
            # Re-running cannot complete anything in a collection that is gone; the
            # store has forgotten it, so the next write recreates it from the spec.
            raise CollectionNotFoundError(
                f"writing to {shown(self.name)} failed: {exc} The store has forgotten the "
                "collection: the next write recreates it, so re-running the same upsert "
                f"writes all {len(self.ids)} rows ({self.written} had been written to the "
                "collection that is gone)."
            ) from exc
        if isinstance(exc, MilvusPluginsError) and not isinstance(exc, WriteError):
            if self.flushing:
                raise WriteError(
                    f"flushing {shown(self.name)} after writing every batch failed: "
                    f"{exc}; the rows "
                    "may not have been persisted",
                    written_ids=[],
                    failed_ids=self.ids,
                ) from exc
            raise WriteError(
                f"writing to {shown(self.name)} failed: {exc}",
                written_ids=self.ids[: self.written],
                failed_ids=self.ids[self.written :],
            ) from exc


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
    ) -> None:
        if not isinstance(spec, CollectionSpec):
            raise ConfigError(f"spec must be a CollectionSpec, got {type(spec).__name__}.")
        if spec.sparse_mode is SparseMode.CLIENT and sparse_encoder is None:
            raise ConfigError(
                "sparse='client' needs sparse_encoder= (e.g. BM25Encoder().fit(corpus))."
            )
        try:
            mode = OpenMode(open_mode)
        except ValueError:
            raise ConfigError(f"open_mode={shown(open_mode)} must be 'check' or 'adopt'.") from None
        self.session = session or Session(
            spec=spec,
            connection=connection or ConnectionConfig.from_env(),
            drop_old=drop_old,
            open_mode=mode,
        )
        self.write_options = write or WriteOptions()
        self.retry = retry or RetryPolicy()
        self.hybrid = hybrid or HybridOptions()
        self.sparse_encoder = sparse_encoder
        self._client_kwargs = dict(client_kwargs or {})
        self._client: Any = None
        self._lease: LiteLease | None = None
        self._row_count: tuple[float, int] | None = None

    # -- connection -----------------------------------------------------------------

    def __repr__(self) -> str:
        return f"MilvusStore(collection={self.spec.name!r}, connection={self.session.connection!r})"

    @property
    def spec(self) -> CollectionSpec:
        """The effective collection spec (``dim`` filled once known)."""
        return self.session.spec

    @property
    def client(self) -> Any:
        """The underlying ``pymilvus.MilvusClient`` (connects on first access).

        On Milvus Lite the connection holds a lease on the database's server (see
        :mod:`milvus_plugins.core.lite`) until :meth:`close`.
        """
        if self._client is None:
            with self.session.lock:
                if self._client is None:
                    self._client, self._lease = self._connect()
                    self.session.connected(self._lease)
        return self._client

    def _connect(self) -> tuple[Any, LiteLease | None]:
        connection = self.session.connection
        lease = lite.acquire(connection.uri) if connection.is_lite else None
        kwargs = self.session.client_kwargs(self._client_kwargs, lease)
        try:
            return self._call(lambda: MilvusClient(**kwargs), retry=False), lease
        except BaseException:
            if lease is not None:
                lease.release()
            raise

    @property
    def capabilities(self) -> Capabilities:
        """What the connected Milvus supports (connects on first access)."""
        if self.session.capabilities is None:
            try:
                version = self._call(lambda: self.client.get_server_version())
            except MilvusOperationError as exc:
                if not reports_unimplemented(exc):
                    raise
                # Milvus Lite 2.5 reports no version: ask the engine what it can do.
                self.session.capabilities = probe_capabilities(self.client, self.session.connection)
            else:
                self.session.set_version(str(version))
        return self.session.caps

    def translate(self, exc: BaseException) -> MilvusPluginsError:
        """Translate ``exc`` for this store: its secrets masked, its collection named."""
        return translate(
            exc, secrets=self.session.connection.secrets, collection=self.session.spec.name
        )

    def _call(self, fn: Callable[[], T], *, retry: bool = True) -> T:
        if retry:
            # Connect first, outside the retry loop: connecting already waits up to the
            # timeout, and retrying it would multiply the wait for a server that is down.
            _ = self.client
        policy = self.retry if retry else RetryPolicy(attempts=1)
        try:
            return call_with_retry(fn, policy, self.translate)
        except CollectionNotFoundError:
            # Dropped behind our back (another client): forget it, so that exists() says
            # False and the next write recreates it instead of failing forever.
            self.session.exists = False
            raise

    def close(self) -> None:
        """Close the client connection (the store reconnects if used again).

        On Milvus Lite, the last store of a database to close stops its server: its
        threads end and other processes can open the database.
        """
        with self.session.lock:
            client, self._client = self._client, None
            lease, self._lease = self._lease, None
        try:
            if client is not None:
                client.close()
        except Exception as exc:  # closing a dead connection must not mask the cause
            raise self.translate(exc) from exc
        finally:
            if lease is not None:
                lease.release()

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
        session = self.session
        if session.exists:
            return True
        with session.lock:
            if session.exists:
                return True
            caps = self.capabilities
            name = session.spec.name
            # Before touching anything: a spec the server cannot hold must neither drop
            # the old collection nor be reported as a schema mismatch.
            check_supported(session.spec, caps)
            if session.drop_old:
                session.drop_old = False
                if self._call(lambda: self.client.has_collection(name)):
                    self._call(lambda: self.client.drop_collection(name))
            if self._call(lambda: self.client.has_collection(name)):
                return self._open_existing(name)
            spec = session.spec_to_create(dim, records)
            if spec is None:
                return False
            # Other stores on the same Lite database create under the same lock (Lite
            # races on the directory otherwise); whoever comes second opens and checks.
            with write_lock(session.connection):
                if self._call(lambda: self.client.has_collection(name)):
                    return self._open_existing(name)
                try:
                    self._call(
                        lambda: self.client.create_collection(
                            name,
                            schema=build_schema(spec, caps),
                            index_params=build_index_params(spec, caps),
                            consistency_level=spec.consistency.value,
                        ),
                        retry=False,
                    )
                except MilvusPluginsError as exc:
                    if not created_elsewhere(exc):
                        raise
                    return self._open_existing(name)
            self._call(lambda: self.client.load_collection(name))
            session.exists = True
            return True

    def _open_existing(self, name: str) -> bool:
        description = self._call(lambda: self.client.describe_collection(name))
        index = self._describe_dense_index(name)
        self.session.adopt(description, index)
        self._call(lambda: self.client.load_collection(name))
        return True

    def _describe_dense_index(self, name: str) -> Mapping[str, Any] | None:
        field = self.spec.fields.vector
        try:
            indexes = self._call(lambda: self.client.list_indexes(name, field_name=field))
            if not indexes:
                return None
            return self._call(lambda: self.client.describe_index(name, indexes[0]))  # type: ignore[no-any-return]
        except MilvusPluginsError:
            return None

    def _require(self) -> None:
        if not self.ensure_collection():
            raise CollectionNotFoundError(
                f"collection {shown(self.spec.name)} does not exist yet; add records first "
                "(its dimension is taken from the first vectors) or pass dim=."
            )

    def exists(self) -> bool:
        """Whether the collection exists (opening it if it does; never creating it).

        Always asks Milvus: another client may have dropped (or created) it meanwhile.
        """
        name = self.spec.name
        if not self._call(lambda: self.client.has_collection(name)):
            self.session.exists = False
            return False
        return self.ensure_collection()

    def drop(self) -> None:
        """Drop the collection; the store recreates it on the next write."""
        name = self.spec.name
        with contextlib.suppress(CollectionNotFoundError):  # dropped meanwhile: done
            if self._call(lambda: self.client.has_collection(name)):
                self._call(lambda: self.client.drop_collection(name))
        self.session.exists = False

    def list_collections(self) -> list[str]:
        """Names of the collections in the connected database."""
        return list(self._call(lambda: self.client.list_collections()))

    def flush(self) -> None:
        """Seal and persist buffered rows (on Milvus Lite it also speeds up search)."""
        if self.ensure_collection():
            with write_lock(self.session.connection):
                self._call(lambda: self.client.flush(self.spec.name))

    def compact(self) -> int:
        """Start a compaction (merging segments, purging deletes); return its job id."""
        self._require()
        self.capabilities.require("compaction", self.capabilities.compaction)
        return int(self._call(lambda: self.client.compact(self.spec.name)))

    def load(self) -> None:
        """Load the collection into memory for search."""
        self._require()
        self._call(lambda: self.client.load_collection(self.spec.name))

    def release(self) -> None:
        """Release the collection from memory."""
        self._require()
        self._call(lambda: self.client.release_collection(self.spec.name))

    def create_partition(self, name: str) -> None:
        """Create a partition (not allowed when the spec has a partition key).

        Raises:
            ConfigError: ``name`` is not a valid Milvus name (checked before any call:
                Milvus Lite would turn it into a path).
        """
        check_name("partition name", name)
        self._require()
        self.capabilities.require("partitions", self.capabilities.partitions)
        self._call(lambda: self.client.create_partition(self.spec.name, name))

    def list_partitions(self) -> list[str]:
        """Names of the collection's partitions."""
        self._require()
        self.capabilities.require("partitions", self.capabilities.partitions)
        return list(self._call(lambda: self.client.list_partitions(self.spec.name)))

    def drop_partition(self, name: str) -> None:
        """Release and drop a partition.

        Raises:
            ConfigError: ``name`` is not a valid Milvus name (checked before any call:
                Milvus Lite would delete the directory it names).
        """
        check_name("partition name", name)
        self._require()
        self.capabilities.require("partitions", self.capabilities.partitions)
        if not self.capabilities.is_lite:
            # Milvus Lite has no partition-level release (UNIMPLEMENTED) and drops a
            # loaded partition as is.
            self._call(lambda: self.client.release_partitions(self.spec.name, [name]))
        self._call(lambda: self.client.drop_partition(self.spec.name, name))

    def stats(self) -> CollectionStats:
        """A health report: rows, fields, indexes, load state, partitions, server version."""
        self._require()
        name = self.spec.name
        description = self._call(lambda: self.client.describe_collection(name))
        indexes = [
            self._call(functools.partial(self.client.describe_index, name, n))
            for n in self._call(lambda: self.client.list_indexes(name))
        ]
        load_state = self._call(lambda: self.client.get_load_state(name))
        partitions: list[str] = []
        if self.capabilities.partitions:  # Milvus Lite 2.5 has no partition RPCs
            partitions = list(self._call(lambda: self.client.list_partitions(name)))
        return parse_stats(
            self.spec, self.capabilities, description, indexes, load_state, partitions, self.count()
        )

    # -- writes -----------------------------------------------------------------------

    def prepare_records(self, records: Sequence[Record]) -> tuple[list[Record], int | None]:
        """Validate ``records`` and compute client sparse vectors; no I/O.

        Returns:
            The records and the dimension they imply.

        Raises:
            InvalidInputError: the first bad record; nothing is written.
        """
        records = as_list(records, "records", of="Record objects")
        if not records:
            return [], self.spec.dim
        first = records[0].vector
        dim = self.spec.dim or (len(first) if first is not None else None)
        if self.spec.sparse_mode is SparseMode.CLIENT and self.sparse_encoder is not None:
            # Encode before validating: validation requires every record's sparse vector.
            missing = [r for r in records if r.sparse is None and isinstance(r.text, str)]
            if missing:
                vectors = self.sparse_encoder.encode_documents([r.text for r in missing])
                for record, vector in zip(missing, vectors, strict=True):
                    record.sparse = vector
        validate_records(records, self.spec, dim)
        return records, dim

    def validate_before_embedding(self, records: Sequence[Record]) -> None:
        """Check everything but the vectors (ids, texts, metadata); no I/O.

        Adapters call it before embedding, so a batch that :meth:`upsert` would refuse is
        refused before an embedding API bills it. :meth:`upsert` checks it all again,
        vectors included.

        Raises:
            InvalidInputError: the first bad record; or, where the server is known to
                have no nullable fields (Milvus < 2.5), a record without a value for a
                declared field.
        """
        validate_records(records, self.spec, None, vectors=False)
        caps = self.session.capabilities
        if caps is not None and not caps.nullable:
            for record in records:
                for declared in self.spec.declared_fields:
                    if record.metadata.get(declared.name) is None:
                        raise InvalidInputError(
                            f"record {record.id!r}: metadata[{declared.name!r}] is missing, and "
                            "this Milvus has no nullable fields (needs >= 2.5); give every "
                            "record a value."
                        )

    def upsert(
        self,
        records: Sequence[Record],
        *,
        mode: str = "upsert",
        progress: bool | None = None,
        batch_rows: int | None = None,
    ) -> list[str]:
        """Write records in batches (upsert by id by default: re-runs never duplicate).

        Args:
            records: the records; all are validated before the first batch is sent.
            mode: ``"upsert"`` (default) or ``"insert"`` (faster, duplicates possible).
            progress: force the progress bar on or off (default: TTY and large writes).
            batch_rows: maximum rows per request for this call (default: the store's
                :class:`WriteOptions`).

        Returns:
            The ids written, in input order.

        Raises:
            InvalidInputError: a bad record (nothing written).
            WriteError: a batch failed after retries; lists written and unwritten ids.
            CollectionNotFoundError: the collection was dropped (by another client)
                during the write; the next write recreates it.
        """
        if mode not in ("upsert", "insert"):
            raise ConfigError(f"mode={shown(mode)} must be 'upsert' or 'insert'.")
        options = with_batch_rows(self.write_options, batch_rows)
        records, dim = self.prepare_records(records)
        if not records:
            return []
        self.ensure_collection(dim, records)
        run = BatchRun(self, records, progress, options)
        method = getattr(self.client, mode)
        # Every call carries the connection timeout as its deadline: without one a call
        # to an unresponsive server (a network partition) waits for as long as it lasts.
        timeout = self.session.connection.timeout
        with write_lock(self.session.connection), run:
            for batch in run.batches():
                self._call(functools.partial(method, self.spec.name, batch, timeout=timeout))
            if run.flush:
                run.start_flush()
                self._call(lambda: self.client.flush(self.spec.name, timeout=timeout))
        return run.ids

    def delete(self, ids: Sequence[str] | None = None, filter: FilterLike = None) -> int:
        """Delete by ids, by filter, or both (then a row must match both).

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
        where = deletion_filter(ids, filter)
        if where is None and filter is not None:
            # ids=[] deletes nothing, but a filter this engine cannot run is still refused.
            self.expression(filter)
        if where is None or not self.ensure_collection():
            return 0
        return self._delete_where(where)

    def clear(self) -> int:
        """Delete every row, keeping the collection (schema, indexes, settings).

        Returns:
            The number of rows the server reports deleted (see :meth:`delete`).
        """
        if not self.ensure_collection():
            return 0
        return self._delete_where(and_())

    def _delete_where(self, where: Filter) -> int:
        expr = self.expression(where)
        timeout = self.session.connection.timeout
        with write_lock(self.session.connection):
            result = self._call(
                lambda: self.client.delete(self.spec.name, filter=expr, timeout=timeout)
            )
        return _delete_count(result)

    # -- reads ------------------------------------------------------------------------

    def expression(self, filter: FilterLike) -> str:
        """Compile a filter for this collection and server (escaped, injection-safe)."""
        return compile_filter(ensure_filter(filter), self.spec, self.capabilities.dialect)

    @empty_when_dropped(_no_rows)
    def get(self, ids: Sequence[str], *, include_vectors: bool = False) -> list[Record]:
        """Return the records with these ids, in the order given (missing ids skipped).

        Raises:
            InvalidInputError: ``ids`` is a single string, or holds a non-string or ``""``.
        """
        ids = id_list(ids)
        if not ids or not self.ensure_collection():
            return []
        fields = output_fields(self.spec, include_vectors=include_vectors)
        rows = self._call(
            lambda: self.client.query(
                self.spec.name,
                filter=self.expression(id_in(ids)),
                output_fields=fields,
                consistency_level=self.spec.consistency.value,
                timeout=self.session.connection.timeout,
            )
        )
        return order_like(parse_rows(rows, self.spec), ids)

    def query_kwargs(
        self, filter: FilterLike, limit: int | None, offset: int, include_vectors: bool
    ) -> dict[str, Any]:
        """The keyword arguments of a ``query`` call (no ``limit``: page through all).

        Raises:
            InvalidInputError: ``limit`` is not a positive integer, ``offset`` is not a
                non-negative integer, or ``offset + limit`` exceeds Milvus' 16,384.
        """
        check_offset(offset, limit)
        kwargs: dict[str, Any] = {
            "filter": self.expression(filter),
            "output_fields": output_fields(self.spec, include_vectors=include_vectors),
            "consistency_level": self.spec.consistency.value,
            "timeout": self.session.connection.timeout,
        }
        if limit is not None:
            kwargs["limit"] = check_k(limit, "limit")
            kwargs["offset"] = offset
        return kwargs

    @empty_when_dropped(_no_rows)
    def query(
        self,
        filter: FilterLike = None,
        *,
        limit: int | None = None,
        offset: int = 0,
        include_vectors: bool = False,
    ) -> list[Record]:
        """Return records matching ``filter`` (all when ``None``), paging past 16,384 rows.

        Without ``limit``, every matching row after the first ``offset`` is returned.

        Raises:
            InvalidInputError: a bad ``limit`` or ``offset`` (see :meth:`query_kwargs`).
        """
        check_offset(offset, limit)
        if not self.ensure_collection():
            return []
        kwargs = self.query_kwargs(filter, limit, offset, include_vectors)
        if "limit" in kwargs:
            rows = self._call(lambda: self.client.query(self.spec.name, **kwargs))
            return parse_rows(rows, self.spec)
        return self._query_all(kwargs, offset)

    def _query_all(self, kwargs: dict[str, Any], offset: int) -> list[Record]:
        # Milvus caps offset + limit at 16,384: one request below that, an iterator above.
        total = self.count(kwargs["filter"])
        if offset >= total:
            return []
        if total <= _QUERY_WINDOW:
            window = {"limit": _QUERY_WINDOW - offset, "offset": offset}
            rows = self._call(lambda: self.client.query(self.spec.name, **window, **kwargs))
            return parse_rows(rows, self.spec)
        iterator = self._call(
            lambda: self.client.query_iterator(self.spec.name, batch_size=1000, **kwargs)
        )
        rows = []
        try:
            while page := self._call(iterator.next):
                rows.extend(page)
        finally:
            iterator.close()
        return parse_rows(rows[offset:], self.spec)

    @empty_when_dropped(_no_count)
    def count(self, filter: FilterLike = None) -> int:
        """Number of rows matching ``filter`` (all rows when ``None``)."""
        if not self.ensure_collection():
            return 0
        rows = self._call(
            lambda: self.client.query(
                self.spec.name,
                filter=self.expression(filter),
                output_fields=["count(*)"],
                consistency_level=self.spec.consistency.value,
                timeout=self.session.connection.timeout,
            )
        )
        return int(rows[0]["count(*)"]) if rows else 0

    def _run(self, call: Call, method: str) -> Any:
        return self._call(lambda: getattr(self.client, method)(**call.kwargs))

    def search(
        self,
        vector: Sequence[float],
        *,
        k: int = 4,
        filter: FilterLike = None,
        search_params: Mapping[str, Any] | None = None,
        include_vectors: bool = False,
    ) -> list[Hit]:
        """Dense similarity search: the ``k`` nearest records, best first."""
        return self.search_many(
            [vector],
            k=k,
            filter=filter,
            search_params=search_params,
            include_vectors=include_vectors,
        )[0]

    @empty_when_dropped(_no_hits_per_vector)
    def search_many(
        self,
        vectors: Sequence[Sequence[float]],
        *,
        k: int = 4,
        filter: FilterLike = None,
        search_params: Mapping[str, Any] | None = None,
        include_vectors: bool = False,
    ) -> list[list[Hit]]:
        """Dense search for several query vectors in one request."""
        vectors = as_list(vectors, "vectors", of="query vectors")
        check_k(k)
        if not self.ensure_collection():
            return [[] for _ in vectors]
        call = build_dense_search(
            self.spec,
            self.capabilities,
            vectors,
            k=k,
            expr=self.expression(filter),
            search_params=search_params,
            include_vectors=include_vectors,
            timeout=self.session.connection.timeout,
        )
        metric = dense_index(self.spec, self.capabilities).metric_type
        return parse_hits(self._run(call, "search"), self.spec, metric)

    def sparse_query(self, query: SparseQuery) -> SparseQuery:
        if isinstance(query, str) and self.spec.sparse_mode is SparseMode.CLIENT:
            if self.sparse_encoder is None:
                raise ConfigError("a client-sparse collection needs sparse_encoder= to search.")
            return self.sparse_encoder.encode_queries([query])[0]
        return query

    @empty_when_dropped(_no_rows)
    def sparse_search(
        self,
        query: SparseQuery,
        *,
        k: int = 4,
        filter: FilterLike = None,
        include_vectors: bool = False,
    ) -> list[Hit]:
        """Keyword search: BM25 on the query text, or a client sparse vector."""
        check_k(k)
        if not self.ensure_collection():
            return []
        encoded = self.sparse_query(query)
        call = build_sparse_search(
            self.spec,
            self.capabilities,
            encoded,
            k=k,
            expr=self.expression(filter),
            include_vectors=include_vectors,
            timeout=self.session.connection.timeout,
        )
        raw = self._run(call, "search")
        rows = self.cached_row_count()
        if rows is None:
            rows = self.remember_row_count(self.count())
        scale = keyword_scale(query_terms(query, self.spec.stop_words), rows)
        return parse_hits(raw, self.spec, sparse_metric(self.spec), scale)[0]

    def cached_row_count(self) -> int | None:
        """The row count cached for keyword relevance, or ``None`` when stale.

        Counting on every keyword search would add a round trip; ``ln(1 + rows)`` moves
        little, so the count is reused for :data:`ROW_COUNT_TTL` seconds.
        """
        cached = self._row_count
        if cached is None or time.monotonic() - cached[0] > ROW_COUNT_TTL:
            return None
        return cached[1]

    def remember_row_count(self, rows: int) -> int:
        """Cache ``rows`` for :meth:`cached_row_count` and return it."""
        self._row_count = (time.monotonic(), rows)
        return rows

    def use_client_fusion(self, fusion: str | None = None, ranker: Ranker | None = None) -> bool:
        """Whether hybrid search fuses on the client (see :class:`HybridOptions`).

        Raises:
            ConfigError: ``fusion="server"`` with a ranker only the client implements
                (``Weighted(..., normalize="minmax")``).
        """
        check_fusion(fusion)
        choice = fusion or self.hybrid.fusion
        if choice != "server":
            # The relevance of a hybrid hit needs both legs' scores, which Milvus'
            # hybrid_search does not return: "auto" fuses here (0.99x-1.16x the latency
            # of server fusion on Milvus Lite, BENCHMARKS.md).
            return True
        require_server_fusion(ranker or self.hybrid.ranker)
        self.capabilities.require("hybrid search", self.capabilities.hybrid_search)
        return False

    @empty_when_dropped(_no_rows)
    def hybrid_search(
        self,
        vector: Sequence[float],
        query: SparseQuery,
        *,
        k: int = 4,
        filter: FilterLike = None,
        ranker: Ranker | None = None,
        fetch_k: int | None = None,
        fusion: str | None = None,
        search_params: Mapping[str, Any] | None = None,
        include_vectors: bool = False,
    ) -> list[Hit]:
        """Dense + sparse search fused with RRF or weighted scores.

        Args:
            vector: the dense query vector.
            query: the keyword query (text for BM25) or a client sparse vector.
            k: results to return.
            filter: applied to both legs.
            ranker: :class:`RRF` or :class:`Weighted` (default: the store's).
            fetch_k: candidates per leg before fusion (default ``max(4k, 20)``).
            fusion: ``"auto"``/``"client"`` (relevance from both legs) or ``"server"``
                (one call, rank-based relevance); default: the store's. See
                :class:`HybridOptions`.
            search_params: dense-leg knobs (``ef``, ``nprobe`` ...).
            include_vectors: return vectors too.
        """
        check_fusion(fusion)
        check_k(k)
        ranker = ranker or self.hybrid.ranker
        legs_k = _fetch_k(k, fetch_k, self.hybrid.fetch_k)
        if not self.ensure_collection():
            return []
        require_sparse_field(self.spec)
        self.capabilities.require("sparse vectors", self.capabilities.sparse)
        query = self.sparse_query(query)
        if self.use_client_fusion(fusion, ranker):
            dense = self.search(
                vector,
                k=legs_k,
                filter=filter,
                search_params=search_params,
                include_vectors=include_vectors,
            )
            sparse = self.sparse_search(
                query, k=legs_k, filter=filter, include_vectors=include_vectors
            )
            return client_fuse(self, dense, sparse, ranker, k)
        call = build_hybrid_search(
            self.spec,
            self.capabilities,
            vector,
            query,
            k=k,
            fetch_k=legs_k,
            expr=self.expression(filter),
            ranker=ranker,
            search_params=search_params,
            include_vectors=include_vectors,
            timeout=self.session.connection.timeout,
        )
        return parse_fused(self._run(call, "hybrid_search"), self.spec, ranker, 2)

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
    ) -> list[Hit]:
        """Search in one retrieval mode: ``dense`` (vector), ``sparse`` (text) or ``hybrid``.

        With neither a ``vector`` nor a ``text`` (``None``, ``""`` or blank) there is
        nothing to rank by, in any mode: the call returns up to ``k`` rows matching
        ``filter`` (see :meth:`filtered_hits`), not a ranking against a placeholder.

        Raises:
            InvalidInputError: the mode's inputs are missing (a vector for dense and
                hybrid, a text for sparse and hybrid) while the other one is given.
        """
        method, args, kwargs = plan_retrieval(
            mode,
            vector,
            text,
            k=k,
            filter=filter,
            ranker=ranker,
            fetch_k=fetch_k,
            search_params=search_params,
            include_vectors=include_vectors,
        )
        return getattr(self, method)(*args, **kwargs)  # type: ignore[no-any-return]

    def filtered_hits(
        self, *, k: int = 4, filter: FilterLike = None, include_vectors: bool = False
    ) -> list[Hit]:
        """Return up to ``k`` rows matching ``filter`` as hits: a filter-only retrieval.

        A ``query`` with ``limit=k``, no vector search: the rows come back in the
        engine's order, each with score 1.0 and distance ``nan``
        (:func:`~milvus_plugins.core.results.filter_only_hits`).

        Raises:
            InvalidInputError: ``k`` is not a positive integer (at most 16,384).
        """
        check_k(k)
        return filter_only_hits(self.query(filter, limit=k, include_vectors=include_vectors))

    def mmr_search(
        self,
        vector: Sequence[float],
        *,
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        filter: FilterLike = None,
        search_params: Mapping[str, Any] | None = None,
    ) -> list[Hit]:
        """Maximal-marginal-relevance search: ``fetch_k`` candidates, ``k`` diverse picks."""
        check_k(k)
        hits = self.search(
            vector,
            k=max(fetch_k, k),
            filter=filter,
            search_params=search_params,
            include_vectors=True,
        )
        return select_mmr(vector, hits, k=k, lambda_mult=lambda_mult)


def plan_retrieval(
    mode: RetrievalMode | str,
    vector: Sequence[float] | None,
    text: str | None,
    *,
    k: int,
    filter: FilterLike,
    ranker: Ranker | None,
    fetch_k: int | None,
    search_params: Mapping[str, Any] | None,
    include_vectors: bool,
) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
    """Turn a retrieval mode into one store method call: ``(name, args, kwargs)``.

    Shared by the sync and async stores, whose ``retrieve`` only runs the plan. No
    vector and no text, in any mode, plans a filter-only ``filtered_hits``.

    Raises:
        InvalidInputError: the mode's inputs are missing.
    """
    chosen = RetrievalMode.parse(mode, field="retrieval_mode")
    common: dict[str, Any] = {"k": k, "filter": filter, "include_vectors": include_vectors}
    if is_filter_only(vector, text):
        return "filtered_hits", (), common
    need_retrieval_inputs(chosen, vector, text)
    if chosen is RetrievalMode.SPARSE:
        return "sparse_search", (text or "",), common
    dense = {**common, "search_params": search_params}
    if chosen is RetrievalMode.HYBRID:
        hybrid = {**dense, "ranker": ranker, "fetch_k": fetch_k}
        return "hybrid_search", (vector or [], text or ""), hybrid
    return "search", (vector or [],), dense


def check_offset(offset: int, limit: int | None) -> None:
    """Raise :class:`InvalidInputError` for a bad ``offset`` (or ``offset + limit``)."""
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidInputError(f"offset={shown(offset)} must be a non-negative integer.")
    if limit is not None and isinstance(limit, int) and offset + limit > _QUERY_WINDOW:
        raise InvalidInputError(
            f"offset + limit = {offset + limit} exceeds Milvus' limit of {_QUERY_WINDOW}; "
            "leave limit out to read every row after offset."
        )


def need_retrieval_inputs(
    mode: RetrievalMode, vector: Sequence[float] | None, text: str | None
) -> None:
    """Raise :class:`InvalidInputError` when ``mode`` lacks its vector or text."""
    if mode in (RetrievalMode.DENSE, RetrievalMode.HYBRID) and vector is None:
        raise InvalidInputError(f"retrieval mode {shown(mode.value)} needs a query vector.")
    if mode in (RetrievalMode.SPARSE, RetrievalMode.HYBRID) and not (text or "").strip():
        raise InvalidInputError(f"retrieval mode {shown(mode.value)} needs a non-empty query text.")


def sparse_metric(spec: CollectionSpec) -> MetricType:
    """The metric of the collection's sparse field (BM25 function or client vectors)."""
    return spec.sparse_index.metric_type if spec.sparse_index else MetricType.IP


def client_fuse(
    store: MilvusStore | Any, dense: Sequence[Hit], sparse: Sequence[Hit], ranker: Ranker, k: int
) -> list[Hit]:
    """Fuse a dense and a sparse result list on the client, as ``hybrid_search`` would.

    The order (and ``Hit.distance``, the fused score) is the ranker's, identical to
    server fusion; ``Hit.score`` is :func:`~milvus_plugins.core.ranking.hybrid_relevance`
    of the two legs' relevances.
    """
    spec = store.spec
    dense_metric = dense_index(spec, store.capabilities).metric_type
    fused = fuse(
        [[(h.id, h.distance) for h in dense], [(h.id, h.distance) for h in sparse]],
        [dense_metric, sparse_metric(spec)],
        ranker,
        k,
    )
    records = {h.id: h.record for h in [*sparse, *dense]}
    dense_scores = {h.id: h.score for h in dense}
    sparse_scores = {h.id: h.score for h in sparse}
    return [
        Hit(
            record=records[i],
            score=hybrid_relevance(dense_scores.get(i), sparse_scores.get(i), ranker),
            distance=score,
        )
        for i, score in fused
    ]
