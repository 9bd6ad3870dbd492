"""Write operations: upsert/insert in batches, optionally embedding as they go (pure but
for the progress bar); deletes are in :mod:`.deletes` (re-exported here)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from functools import partial
from typing import Any, TypeVar

import numpy as np

from milvus_plugins.core.batching import WriteOptions, plan_batches, with_batch_rows
from milvus_plugins.core.capabilities import Capabilities
from milvus_plugins.core.config import CollectionSpec
from milvus_plugins.core.errors import (
    CollectionNotFoundError,
    ConfigError,
    ForeignLayoutError,
    InvalidInputError,
    MilvusOperationError,
    MilvusPluginsError,
    PartitionMismatchError,
    SchemaMismatchError,
    TenantMismatchError,
    WriteError,
    shown,
)
from milvus_plugins.core.filters import id_in
from milvus_plugins.core.inference import inferred_partition_key
from milvus_plugins.core.ops.acceleration import mark_overflow_op
from milvus_plugins.core.ops.calls import (
    Call,
    ClientMethod,
    Collect,
    Embed,
    EmbedAhead,
    Guard,
    Guarded,
    Op,
    one_call,
    with_kwargs,
)
from milvus_plugins.core.ops.context import OpContext
from milvus_plugins.core.ops.deletes import clear_op, delete_op, deletion_filter
from milvus_plugins.core.ops.lifecycle import (
    Opened,
    capabilities_op,
    open_existing_op,
    open_or_create_op,
    partition_list_op,
)
from milvus_plugins.core.record_checks import check_lengths, validate_records, validate_vectors
from milvus_plugins.core.records import Record
from milvus_plugins.core.requests import build_query
from milvus_plugins.core.rows import json_sizes, records_to_rows
from milvus_plugins.core.scope import DEFAULT_PARTITION, given_records
from milvus_plugins.core.types import ConsistencyLevel, ParsableEnum, SparseMode
from milvus_plugins.core.values import check_declared

__all__ = [
    "BatchRun",
    "EmbedFn",
    "WriteMode",
    "clear_op",
    "delete_op",
    "deletion_filter",
    "prepare_records",
    "upsert_op",
    "validate_unembedded",
]

T = TypeVar("T")


class WriteMode(ParsableEnum):
    """How records are written.

    ``AUTO`` (the default) and ``UPSERT`` write by id: re-runs never duplicate. ``AUTO``
    sends plain inserts (cheaper) into a collection this very call created, which
    cannot hold any of the call's ids, and upserts otherwise; ``UPSERT`` always sends
    upserts (use it when other clients may write the same ids into a collection that
    is being created). ``INSERT`` always inserts: faster, duplicates possible.
    """

    AUTO = "auto"
    UPSERT = "upsert"
    INSERT = "insert"


def parse_write_mode(mode: WriteMode | str) -> WriteMode:
    """Parse ``mode=`` strictly (exact spelling).

    Raises:
        ConfigError: not ``"auto"``, ``"upsert"`` or ``"insert"``.
    """
    if isinstance(mode, WriteMode):
        return mode
    if mode not in ("auto", "upsert", "insert"):
        raise ConfigError(f"mode={shown(mode)} must be 'auto', 'upsert' or 'insert'.")
    return WriteMode(mode)


EmbedFn = Callable[[list[str]], Any]
"""Embeds a batch of texts: ``(texts) -> vectors`` (or an awaitable of them, async): a list
of one vector per text, or a 2-D numpy array of shape ``(len(texts), dim)``."""


class BatchRun:
    """One batched write: its records, progress bar, and the ids written so far.

    Records become rows (and, in a streamed write, get their vectors) one chunk at a
    time, so the memory a write needs beyond its input is bounded by the chunk size.
    Used as a context manager around the batch loop and the flush after it; a failure
    inside it becomes a :class:`WriteError` listing the ids written and not written. A
    failed flush leaves every id of the call not certainly written: Milvus Lite, for one,
    drops the rows it could not persist (seen with an unwritable data directory). In a
    streamed write, an embedding failure after some rows were written is reported the
    same way (before any row is written it propagates as it is).
    """

    def __init__(
        self,
        spec: CollectionSpec,
        caps: Capabilities,
        records: Sequence[Record],
        progress: bool | None,
        options: WriteOptions,
    ) -> None:
        self.name: str = spec.name
        self.spec = spec
        self.nullable = caps.nullable
        self.records = records
        self.ids = [r.id for r in records]
        self.options = options
        self.flush = options.flush if options.flush is not None else caps.is_lite
        self.written = 0
        self.flushing = False
        # The embedding model (or the checks of what it returned) raised: its error is
        # never taken for the write's own, whatever its type.
        self.model_failed = False
        show = options.progress if progress is None else progress
        if show is None:
            show = len(records) >= options.progress_min_rows and sys.stderr.isatty()
        self.bar: Any = None
        if show:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=len(records), unit="rows", desc="upsert")

    def chunks(self) -> Iterator[tuple[int, int]]:
        """``(start, stop)`` of each chunk of at most ``batch_rows`` records."""
        size = self.options.batch_rows
        for start in range(0, len(self.records), size):
            yield start, min(start + size, len(self.records))

    def batches(self, start: int, stop: int) -> Iterator[tuple[int, list[dict[str, Any]]]]:
        """Yield the write batches of one chunk, each with the index of its first record;
        each counts as written once the next is asked for (the byte budget may split a
        chunk further)."""
        rows = records_to_rows(
            self.records[start:stop], self.spec, store_missing_as_null=self.nullable
        )
        for first, last in plan_batches(rows, self.options):
            yield start + first, rows[first:last]
            self.written += last - first
            if self.bar is not None:
                self.bar.update(last - first)

    def start_flush(self) -> None:
        """Mark every batch as sent: a failure from here on is the flush's."""
        self.flushing = True

    def __enter__(self) -> BatchRun:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if self.bar is not None:
            self.bar.close()
        ours = not self.model_failed  # a model may raise a package error of its own
        if ours and isinstance(exc, CollectionNotFoundError):
            # Re-running cannot complete anything in a collection that is gone; the
            # store has forgotten it, so the next write recreates it from the spec.
            raise CollectionNotFoundError(
                f"writing to {shown(self.name)} failed: {exc} The store has forgotten the "
                "collection: the next write recreates it, so re-running the same upsert "
                f"writes all {len(self.ids)} rows ({self.written} had been written to the "
                "collection that is gone)."
            ) from exc
        if (ours and isinstance(exc, WriteError)) or not isinstance(exc, Exception):
            return
        if isinstance(exc, (TenantMismatchError, PartitionMismatchError)) and not self.written:
            return  # a batch's own check, before anything was written: as a first check
        if self.flushing:
            raise WriteError(
                f"flushing {shown(self.name)} after writing every batch failed: "
                f"{exc}; the rows "
                "may not have been persisted",
                written_ids=[],
                failed_ids=self.ids,
            ) from exc
        if isinstance(exc, MilvusPluginsError) or self.written:
            # The embedding model's own errors stay as they are while nothing is written.
            told = str(exc)
            taken = isinstance(exc, (TenantMismatchError, PartitionMismatchError))
            if taken:
                # Found by a later batch's own check (another write took the id since):
                # a re-run meets the same id, so its own fix is the one to name.
                told = told.replace("Nothing was written.", "That batch was not written.")
            raise WriteError(
                f"writing to {shown(self.name)} failed: {told}",
                written_ids=self.ids[: self.written],
                failed_ids=self.ids[self.written :],
                rerun_completes=not taken,
            ) from exc


def prepare_records(ctx: OpContext, records: Sequence[Record]) -> tuple[list[Record], int | None]:
    """Validate ``records`` and compute client sparse vectors; no I/O.

    Returns:
        The records and the dimension they imply.

    Raises:
        InvalidInputError: the first bad record; nothing is written.
    """
    # The tenant is stamped into copies: the caller's records are left as given.
    checked = ctx.scope.stamp(given_records(records))
    spec = ctx.spec
    if not checked:
        return [], spec.dim
    dim = spec.dim or _implied_dim(checked[0].vector)
    _encode_sparse(ctx, checked)
    validate_records(checked, spec, dim)
    _check_declared_present(spec, None, checked)
    inferred_partition_key(spec, checked)
    return checked, dim


def _implied_dim(vector: Any) -> int | None:
    """The dimension a collection without one takes from its first vector: its length,
    or ``None`` when it has none (``None``, a scalar), for the checks to refuse it."""
    try:
        return len(vector) if vector is not None else None
    except TypeError:
        return None


def _encode_sparse(ctx: OpContext, records: Sequence[Record]) -> None:
    if ctx.spec.sparse_mode is SparseMode.CLIENT and ctx.sparse_encoder is not None:
        # Encode before validating: validation requires every record's sparse vector.
        missing = [r for r in records if r.sparse is None and isinstance(r.text, str)]
        if missing:
            vectors = ctx.sparse_encoder.encode_documents([r.text for r in missing])
            for record, vector in zip(missing, vectors, strict=True):
                record.sparse = vector


def validate_unembedded(
    spec: CollectionSpec, caps: Capabilities | None, records: Sequence[Record]
) -> None:
    """Check everything but the vectors (ids, texts, metadata); no I/O.

    Raises:
        InvalidInputError: the first bad record; or, where the server is known to have
            no nullable fields (Milvus < 2.5), a record without a value for a declared
            field.
    """
    validate_records(records, spec, None, vectors=False)
    _check_declared_present(spec, caps, records)
    inferred_partition_key(spec, records)


def _recheck_partition_key(ctx: OpContext, records: Sequence[Record], pending: bool) -> None:
    """Check the values of a partition key whose type was not declared (``pending`` when
    the write began) against the column of the collection just opened or created,
    before anything is written."""
    key = ctx.spec.partition_key
    if not pending or key is None:
        return
    column = ctx.spec.declared(key)
    if column is None:
        return
    for record in records:
        value = record.metadata.get(key)
        if value is not None:
            check_declared(value, column, f"record {shown(record.id)}")


def _check_declared_present(
    spec: CollectionSpec, caps: Capabilities | None, records: Sequence[Record]
) -> None:
    key = spec.partition_key
    if key is not None:
        # A partition key is never nullable (Milvus refuses one): the engine would refuse
        # the batch mid-write with a bare "FieldData has 0 rows".
        for record in records:
            value = record.metadata.get(key)
            if value is None:
                raise InvalidInputError(
                    f"record {shown(record.id)}: metadata[{shown(key)}] is missing, and it is "
                    f"the collection's partition key (the tenant), which every row needs; "
                    f"write it with tenant=... (or give metadata[{shown(key)}]) (nothing was "
                    "written)."
                )
            if value == "":
                # No tenant="" scope exists (tenants are non-empty), so such a row could
                # never be read or deleted by its tenant.
                raise InvalidInputError(
                    f"record {shown(record.id)}: metadata[{shown(key)}]='' names no tenant "
                    "(the partition key's values are non-empty strings, as tenant= takes "
                    "them); give it a tenant (nothing was written)."
                )
    if caps is not None and not caps.nullable:
        for record in records:
            for declared in spec.declared_fields:
                if record.metadata.get(declared.name) is None:
                    raise InvalidInputError(
                        f"record {record.id!r}: metadata[{declared.name!r}] is missing, and "
                        f"this Milvus ({caps.version}) has no nullable fields (Milvus "
                        "servers from 2.5.0 and Milvus Lite 3 have them); give every record "
                        "a value."
                    )


def _check_engine_limits(
    caps: Capabilities, spec: CollectionSpec, records: Sequence[Record]
) -> None:
    """Refuse, before anything is written, what this engine would refuse mid-write or
    could never name again.

    * Milvus Lite 2.5 cannot write a line break in a string literal (see
      :attr:`Capabilities.line_escapes`): a row whose id or doc_id holds one could be
      written but never read, replaced by ``doc_id`` or deleted by id.
    * Milvus Lite 2.5 refuses an id holding NUL (:attr:`Capabilities.nul_ids`), and
      fails the upsert of one holding an apostrophe (:attr:`Capabilities.apostrophe_ids`).
    * Servers refuse a JSON text over 64 KiB (:attr:`Capabilities.json_max_bytes`): the
      metadata and ``extra`` fields of each row are measured as they will be written.

    Raises:
        InvalidInputError: naming the record, the value and the limit (nothing written).
    """
    limit = caps.json_max_bytes
    if caps.line_escapes and caps.nul_ids and caps.apostrophe_ids and limit is None:
        return  # Milvus Lite 3: nothing to check
    for record in records:
        if not caps.line_escapes:
            for name, value in (("id", record.id), ("doc_id", record.doc_id)):
                if "\n" in value or "\r" in value:
                    raise InvalidInputError(
                        f"record {value!r}: its {name} holds a line break, which this Milvus "
                        "cannot write in a filter (Milvus Lite 2.5), so the row could never "
                        f"be read or deleted by {name}; use {name}s without line breaks "
                        "(nothing was written)."
                    )
        if not caps.apostrophe_ids and "'" in record.id:
            raise InvalidInputError(
                f'record {record.id!r}: its id holds an apostrophe ("\'"), which this '
                'Milvus fails to upsert (Milvus Lite 2.5: "internal error"); use ids '
                "without apostrophes, e.g. percent-encode them (nothing was written)."
            )
        if not caps.nul_ids and "\x00" in record.id:
            raise InvalidInputError(
                f"record {record.id!r}: its id holds NUL ('\\x00'), which this Milvus refuses "
                "as a primary key (Milvus Lite 2.5); use ids without NUL (nothing was written)."
            )
        if limit is not None:
            sizes = json_sizes(record, spec, limit)
            for name, size in zip(("metadata", "extra"), sizes, strict=True):
                if size > limit:
                    raise InvalidInputError(
                        f"record {shown(record.id)}: its {name} is {size} bytes as JSON, over "
                        f"this Milvus' limit of {limit} bytes for a JSON field; keep large "
                        "values out of metadata (or in a declared VARCHAR field, up to 65,535 "
                        "bytes) (nothing was written)."
                    )


def _embed_chunk(
    ctx: OpContext, records: Sequence[Record], embed: EmbedFn, dim: int | None, start: int = 0
) -> Op[int | None]:
    """Embed one chunk's texts into its records and validate the vectors; answer the dim.

    ``start`` is the chunk's position in the call (records are numbered in the call).
    """
    vectors = yield Embed([r.text for r in records], embed)
    return _take_vectors(ctx, records, vectors, dim, start)


def _model_rows(vectors: Any, count: int, dim: int | None) -> Sequence[Any]:
    """The vectors an embedding model returned for ``count`` texts, one per text.

    A list (or other sequence) of vectors, or a 2-D numpy array of shape
    ``(count, dim)`` (what :class:`~milvus_plugins.embeddings.MiniLMEmbedder` returns),
    whose rows are taken as the vectors (the checks copy them).

    Raises:
        InvalidInputError: another type, another count of vectors, or an array of
            another shape (naming the shape expected).
    """
    expected = f"({count}, {dim if dim is not None else 'dim'})"
    if isinstance(vectors, np.ndarray):
        if vectors.ndim != 2 or vectors.shape[0] != count:
            raise InvalidInputError(
                f"the embedding model returned a numpy array of shape {vectors.shape} for "
                f"{count} texts; return one vector per text: a 2-D array of shape "
                f"{expected} or a list of {count} vectors."
            )
        return list(vectors)
    if isinstance(vectors, (str, bytes)) or not isinstance(vectors, Sequence):
        raise InvalidInputError(
            f"the embedding model returned {type(vectors).__name__} for {count} texts; "
            f"return a list of {count} vectors (or a 2-D numpy array of shape {expected})."
        )
    if len(vectors) != count:
        raise InvalidInputError(
            f"the embedding model returned {len(vectors)} vectors for {count} texts; "
            "return one vector per text, in order."
        )
    return vectors


def _take_vectors(
    ctx: OpContext, records: Sequence[Record], vectors: Any, dim: int | None, start: int = 0
) -> int | None:
    """Put one chunk's vectors into its records and validate them; answer the dim.

    ``start`` is the chunk's position in the call, for the record numbers in messages.
    """
    rows = _model_rows(vectors, len(records), dim)
    for record, vector in zip(records, rows, strict=True):
        # A list is copied: a model may refill the same lists for its next chunk, which
        # is embedded while this one is written (numpy rows are copied by the checks).
        record.vector = list(vector) if type(vector) is list else vector
    if dim is None and len(records):
        dim = _implied_dim(records[0].vector)
    _encode_sparse(ctx, records)
    # The rest was checked before embedding.
    validate_vectors(records, ctx.spec, dim, start=start)
    return dim


def upsert_op(
    ctx: OpContext,
    records: Sequence[Record],
    mode: WriteMode | str,
    progress: bool | None,
    batch_rows: int | None,
    embed: EmbedFn | None = None,
) -> Op[list[str]]:
    """Write records in batches; answer the ids written, in input order.

    With ``embed``, the records come without vectors: everything else is validated
    first (nothing is embedded for a write that would be refused), then each chunk of
    ``batch_rows`` records is embedded, written, and its vectors released.
    """
    write_mode = parse_write_mode(mode)
    options = with_batch_rows(ctx.write, batch_rows)
    refuse_foreign(ctx.spec)
    limits = (ctx.spec.id_max_length, ctx.spec.text_max_length)
    pending = ctx.spec.partition_key_pending
    if embed is None:
        checked, dim = prepare_records(ctx, records)
    else:
        # Stamped as prepare_records does (copies: the caller's records stay as given).
        checked = ctx.scope.stamp(given_records(records))
        validate_unembedded(ctx.spec, ctx.session.capabilities, checked)
        dim = ctx.spec.dim
    if not checked:
        return []
    owners_checked = False
    if embed is not None:
        # An existing collection is opened (never created) before the model runs: one
        # this write would refuse (another tool's layout) is refused unembedded.
        owners_checked, limits = yield from _check_existing(ctx, checked, limits)
        if owners_checked:
            dim = ctx.spec.dim or dim
        caps = yield from capabilities_op(ctx.session)
        _check_engine_limits(caps, _with_pending_key(ctx.spec, checked), checked)
        # The first chunk is embedded before a new collection is created: it may fix
        # the dimension, and a model that fails here has changed nothing.
        dim = yield from _embed_chunk(ctx, checked[: options.batch_rows], embed, dim)
    if (
        not owners_checked
        and not ctx.session.exists
        and not (yield from _opening_to_write(ctx, open_existing_op(ctx), checked))
    ):
        # A collection this write would create: what the engine would refuse of these
        # records is refused before it is created, not after (an empty collection left).
        if _named_target(ctx):  # it has no such partition
            raise _no_such_partition(ctx.spec, ctx.scope.partition_name or "", [])
        caps = yield from capabilities_op(ctx.session)
        _check_declared_present(ctx.spec, caps, checked)
        _check_engine_limits(caps, _with_pending_key(ctx.spec, checked), checked)
    opened = yield from _opening_to_write(ctx, open_or_create_op(ctx, dim, checked), checked)
    refuse_foreign(ctx.spec)  # a foreign layout is known once the collection is opened
    _recheck_partition_key(ctx, checked, pending)
    _refuse_unwritten_vectors(ctx)
    if not owners_checked and opened is Opened.OPENED:
        yield from _refuse_taken_ids(ctx, checked)
    _recheck_lengths(ctx, checked, limits)
    _recheck_dim(ctx.spec, dim)
    caps = yield from capabilities_op(ctx.session)
    # Before the first batch (rows are built a chunk at a time, inside the batch run).
    _check_declared_present(ctx.spec, caps, checked)
    _check_engine_limits(caps, ctx.spec, checked)
    yield from mark_overflow_op(ctx, checked)
    if write_mode is WriteMode.INSERT:
        first_try = ClientMethod.INSERT
    elif write_mode is WriteMode.AUTO and opened is Opened.CREATED and caps.insert_replaces:
        # Ids are unique within a call (validated), and an id another writer stored in
        # the new collection meanwhile is replaced, not doubled: only where an insert
        # replaces (elsewhere a second row would be left, with both calls answered).
        first_try = ClientMethod.INSERT
    else:
        first_try = ClientMethod.UPSERT
    run = BatchRun(ctx.spec, caps, checked, progress, options)
    return (yield from _write_chunks(ctx, run, first_try, write_mode, embed, dim))


def check_write_op(ctx: OpContext, records: Sequence[Record]) -> Op[None]:
    """What :func:`upsert_op` refuses of ``records`` before embedding them (no write)."""
    refuse_foreign(ctx.spec)
    checked = ctx.scope.stamp(given_records(records))
    validate_unembedded(ctx.spec, ctx.session.capabilities, checked)
    if not checked:
        return
    yield from _check_existing(ctx, checked, (ctx.spec.id_max_length, ctx.spec.text_max_length))


def _check_existing(
    ctx: OpContext, checked: Sequence[Record], limits: tuple[int, int]
) -> Op[tuple[bool, tuple[int, int]]]:
    """Open the collection if it exists (never create it) and refuse, before anything
    is embedded, what a write into it would refuse: another tool's layout, values over
    its own limits, ids another tenant or partition holds; a named partition of a
    collection that does not exist yet. Answers whether it exists, and the limits the
    records were checked against."""
    pending = ctx.spec.partition_key_pending
    if (yield from _opening_to_write(ctx, open_existing_op(ctx), checked)):
        refuse_foreign(ctx.spec)
        _recheck_partition_key(ctx, checked, pending)
        _refuse_unwritten_vectors(ctx)
        limits = _recheck_lengths(ctx, checked, limits)
        yield from _refuse_taken_ids(ctx, checked)
        return True, limits
    if _named_target(ctx):
        raise _no_such_partition(ctx.spec, ctx.scope.partition_name or "", [])
    return False, limits


def _with_pending_key(spec: CollectionSpec, records: Sequence[Record]) -> CollectionSpec:
    """``spec`` with the column an undeclared partition key will get from ``records``
    (as the collection would be created): its value is then not part of the JSON."""
    if not spec.partition_key_pending:
        return spec
    column = inferred_partition_key(spec, records)
    if column is None:
        return spec
    return replace(spec, metadata_fields=(*spec.declared_fields, column))


def _refuse_unwritten_vectors(ctx: OpContext) -> None:
    """Refuse a write into a collection with dense fields this store has no vectors for
    (opened without its named fields): Milvus would refuse every batch.

    Raises:
        SchemaMismatchError: naming the fields and the fix (nothing written or embedded).
    """
    missing = ctx.session.unwritten_vectors
    if missing:
        raise SchemaMismatchError(
            f"collection {shown(ctx.spec.name)} has the dense vector field(s) "
            f"{shown(list(missing))}, which this store writes nothing into (it was opened "
            "without them), and Milvus takes no row without them. Nothing was written. Open "
            "it with every field: vector_fields=[DenseField(...)] (core), embedding={...: "
            "model} (LangChain), vector_fields={...: model} (LlamaIndex)."
        )


def _named_target(ctx: OpContext) -> bool:
    """Whether the write goes into a named partition other than ``_default``."""
    return ctx.scope.partition_name not in (None, DEFAULT_PARTITION)


_OWNER_IDS = 1000
"""Ids looked up per query by :func:`_refuse_other_owners` (Milvus Lite 3 slows down
sharply on much longer ``id in [...]`` lists)."""


def _refuse_taken_ids(ctx: OpContext, records: Sequence[Record]) -> Op[None]:
    """Refuse a write into an existing collection of an id that a row of another
    tenant (:func:`_refuse_other_owners`) or of another partition
    (:func:`_refuse_other_partitions`) holds; nothing is written or embedded."""
    yield from _refuse_other_owners(ctx, records)
    yield from _refuse_other_partitions(ctx, records)


def _refuse_other_partitions(ctx: OpContext, records: Sequence[Record]) -> Op[None]:
    """Refuse a write of an id that a row in another partition already holds, or into a
    partition that does not exist, before anything is written or embedded.

    Ids are unique in a collection, not per partition, but Milvus does not keep them
    so across partitions: an upsert into partition ``a`` of an id stored in ``b`` left
    a second row with that id in ``a`` on the 2.3.5 server (a read of the whole
    collection then returns either) and moved the row from ``b`` to ``a`` on Milvus
    Lite 3.2.2 (or kept both, once ``b``'s row was flushed). A write without
    ``partition_name`` goes into ``_default`` and is checked alike. Only collections
    with more than one partition and no partition key pay for it (a partition key
    routes rows by value; the tenant check covers that case): one ``list_partitions``
    and one query per 1,000 ids, at Strong consistency whatever the store reads with.
    Two clients writing one new id into two partitions at the same moment are not
    serialised.

    Raises:
        PartitionMismatchError: naming the id, the partition holding it and the fix.
        InvalidInputError: the target partition does not exist (nothing written).
        WriteError: another partition is released, so its ids cannot be read
            (nothing written; the message names it).
    """
    spec, session = ctx.spec, ctx.session
    if spec.partition_key is not None or not records:
        return
    caps = yield from capabilities_op(session)
    if not caps.partitions:
        return
    target = ctx.scope.partition_name or DEFAULT_PARTITION
    if session.partitions == 1:  # only _default
        if target != DEFAULT_PARTITION:
            raise _no_such_partition(spec, target, [DEFAULT_PARTITION])
        return
    names = yield from partition_list_op(ctx)
    if target not in names:
        raise _no_such_partition(spec, target, names)
    others = [name for name in names if name != target]
    if not others:
        return
    for start in range(0, len(records), _OWNER_IDS):
        ids = [record.id for record in records[start : start + _OWNER_IDS]]
        found = yield from _ids_in_partitions(ctx, caps, ids, others)
        if not found:
            continue
        taken = found[0]
        holders = []
        for name in others:  # which partition holds it (the error path only)
            if (yield from _ids_in_partitions(ctx, caps, [taken], [name])):
                holders.append(name)
        held = ", ".join(shown(name) for name in holders) or "another partition"
        raise PartitionMismatchError(
            f"record {shown(taken)}: this id is already stored in partition {held} of "
            f"collection {shown(spec.name)}, and ids are unique across its partitions: "
            f"writing it into partition {shown(target)} would leave two rows with one id "
            "(or move that row). Nothing was written. Write it into the partition that "
            f"holds it (partition_name={shown(holders[0] if holders else '...')}), delete "
            "it there first, or give it another id."
        )


def _no_such_partition(spec: CollectionSpec, target: str, names: Sequence[str]) -> Exception:
    has = (
        f"it has {', '.join(shown(n) for n in names)}"
        if names
        else "the collection does not exist yet"
    )
    return InvalidInputError(
        f"partition_name={shown(target)}: collection {shown(spec.name)} has no such "
        f"partition ({has}). Nothing was written. Create it first "
        f"(create_partition({shown(target)}), after ensure_collection() for a new "
        "collection) or write into an existing one."
    )


_NOT_LOADED = frozenset({101, 201, 202})
"""Milvus' codes for a collection or partition not (fully) loaded."""


def _not_loaded(exc: MilvusOperationError) -> bool:
    # The 2.3.5 server answers a query of a released partition with code 65535 and
    # "partition not loaded" in the message.
    return exc.code in _NOT_LOADED or "not loaded" in str(exc).lower()


def _ids_in_partitions(
    ctx: OpContext, caps: Capabilities, ids: Sequence[str], partitions: Sequence[str]
) -> Op[list[str]]:
    """The ``ids`` stored in ``partitions`` (one query, at Strong consistency: a row
    written a moment ago by another client counts).

    Raises:
        WriteError: a partition is released (another client's choice), so its ids
            cannot be read; names it and the fix (nothing written).
    """
    id_field = ctx.spec.fields.id
    call = build_query(ctx.spec, caps, id_in(ids), output=[id_field], limit=len(ids))
    strong = {"consistency_level": ConsistencyLevel.STRONG.value, "timeout": ctx.timeout}
    try:
        rows = yield with_kwargs(call, {**strong, "partition_names": list(partitions)})
    except MilvusOperationError as exc:
        if not _not_loaded(exc):
            raise
        released = []
        for name in partitions:  # which ones (the error path only)
            try:
                yield with_kwargs(call, {**strong, "partition_names": [name], "limit": 1})
            except MilvusOperationError as inner:
                if not _not_loaded(inner):
                    raise
                released.append(name)
        names = ", ".join(shown(name) for name in released) or "another partition"
        raise WriteError(
            f"writing to {shown(ctx.spec.name)} failed: partition {names} is released (not "
            "loaded), so this write cannot check that its ids are not stored there (an id "
            "in two partitions would be two rows). Nothing was written. Load it "
            f"(load_partitions) and re-run the write.",
            written_ids=[],
            failed_ids=list(ids),
        ) from exc
    return sorted(str(row.get(id_field)) for row in rows)


def _refuse_other_owners(ctx: OpContext, records: Sequence[Record]) -> Op[None]:
    """Refuse a tenant's write of an id that another tenant's row (or a row of no
    tenant) already holds, before anything is written or embedded.

    Ids are unique in a collection, not per tenant: an upsert of such an id would move
    the row to this tenant and replace its content, and its owner would lose it
    without a word (two tenants indexing the same public document with LangChain's
    content-hash ids do exactly that). One query per 1,000 ids, only for writes
    into a partition-key collection that existed; a write without a tenant is checked
    against each record's own partition-key value. (Two tenants writing the same new id
    at the same moment are not serialised.)

    Raises:
        TenantMismatchError: naming the id, its owner and the fix (nothing written).
    """
    scope = ctx.scope
    if scope.key is None:
        return
    key = scope.key
    # The tenant each record is written for: the call's, else its own partition-key value
    # (a write without a tenant that names another tenant than the stored row's would
    # add a second row with that id on Milvus Lite, in the other tenant's partition).
    wanted = {
        r.id: scope.tenant if scope.tenant is not None else r.metadata.get(key) for r in records
    }
    caps = yield from capabilities_op(ctx.session)
    id_field = ctx.spec.fields.id
    for start in range(0, len(records), _OWNER_IDS):
        ids = [record.id for record in records[start : start + _OWNER_IDS]]
        call = build_query(
            ctx.spec,
            caps,
            id_in(ids),
            output=[id_field, scope.key],
            limit=len(ids),
            timeout=ctx.timeout,
        )
        # Strong whatever the store reads with: a row written a moment ago counts.
        strong = {"consistency_level": ConsistencyLevel.STRONG.value}
        for row in (yield with_kwargs(call, strong)):
            owner = row.get(key)
            tenant = wanted.get(str(row.get(id_field)))
            if scope.tenant is None and (owner != tenant or type(owner) is not type(tenant)):
                raise TenantMismatchError(
                    f"record {shown(row.get(id_field))}: this id is stored for tenant "
                    f"{shown(owner)}, and this write (without tenant=) puts it under "
                    f"{shown(key)}={shown(tenant)}: ids are unique across the tenants of "
                    f"collection {shown(ctx.spec.name)}, and the write would leave a second "
                    "row with that id. Nothing was written. Delete the row with "
                    f"tenant={shown(owner)} first to move it, or give the record another id."
                )
            if scope.tenant is None:
                continue
            if owner != scope.tenant or type(owner) is not type(scope.tenant):
                held = "no tenant" if owner is None else f"tenant {shown(owner)}"
                raise TenantMismatchError(
                    f"record {shown(row.get(id_field))}: this id is already stored for "
                    f"{held}, and ids are unique across the tenants of collection "
                    f"{shown(ctx.spec.name)}: writing it for tenant {shown(scope.tenant)} "
                    "would take that row over. Nothing was written. Give this tenant's "
                    f"rows their own ids (e.g. prefix them with the tenant: "
                    f"{shown(f'{scope.tenant}:' + str(row.get(id_field)))}), or, with "
                    "LangChain's index(), pass a key_encoder that includes the tenant."
                )


def _recheck_lengths(
    ctx: OpContext, records: Sequence[Record], limits: tuple[int, int]
) -> tuple[int, int]:
    """Check ``records`` against the opened collection's own id/text limits when they
    differ from ``limits``, the ones they were checked against; answer the current ones.

    A store whose spec did not repeat the limits of a collection made elsewhere adopts
    the collection's when it opens it (a longer value would fail at the server, after
    earlier batches were written).
    """
    current = (ctx.spec.id_max_length, ctx.spec.text_max_length)
    if current != limits:
        check_lengths(records, ctx.spec)
    return current


def _opening_to_write(ctx: OpContext, opening: Op[T], records: Sequence[Record]) -> Op[T]:
    """Run ``opening`` (open, or re-check, the collection before a write); a Milvus
    failure of an already open collection's check is the write's failure: a
    :class:`WriteError` with nothing written, as the first batch would have raised."""
    was_open = ctx.session.exists
    try:
        return (yield from opening)
    except CollectionNotFoundError as exc:
        if not was_open:
            raise
        raise CollectionNotFoundError(
            f"writing to {shown(ctx.spec.name)} failed: {exc} It was dropped since this "
            "store opened it, with the rows written before. The store has forgotten it: "
            f"the next write recreates it, so re-running the same upsert writes all "
            f"{len(records)} rows (none were written)."
        ) from exc
    except MilvusOperationError as exc:
        if not was_open:
            raise
        raise WriteError(
            f"writing to {shown(ctx.spec.name)} failed: {exc}",
            written_ids=[],
            failed_ids=[record.id for record in records],
        ) from exc


def _recheck_dim(spec: CollectionSpec, dim: int | None) -> None:
    """Refuse records whose vectors have another dimension than the opened collection's.

    The records were checked against the dimension known before the collection was
    opened: none (a store given no ``dim``), or that of a collection replaced since
    (dropped and re-created by another client, or an alias moved by a re-index).

    Raises:
        InvalidInputError: naming both dimensions (nothing written).
    """
    if spec.dense and dim is not None and spec.dim is not None and spec.dim != dim:
        raise InvalidInputError(
            f"these records' vectors have {dim} dimensions, but collection "
            f"{shown(spec.name)} holds {spec.dim}-dimensional vectors; embed them with "
            "the collection's model (or write them to another collection). Nothing was "
            "written."
        )


def refuse_foreign(spec: CollectionSpec) -> None:
    """Refuse to add rows to a collection read through another tool's layout.

    Raises:
        ForeignLayoutError: ``spec`` has a foreign layout; the message names ``migrate``.
    """
    layout = spec.layout
    if layout is None:
        return
    raise ForeignLayoutError(
        f"collection {shown(spec.name)} has the {layout.label} layout, which this package "
        "reads (search, filters, get, delete) but does not add rows to: rows written in "
        "this package's conventions would not read back the same in the other tool. Copy "
        "it into this package's layout with migrate() (CLI: milvus-plugins migrate SRC "
        "DST), or keep writing it with the tool that created it."
    )


def _write_chunks(
    ctx: OpContext,
    run: BatchRun,
    first_try: ClientMethod,
    mode: WriteMode,
    embed: EmbedFn | None,
    dim: int | None,
) -> Op[list[str]]:
    # Every call carries the connection timeout as its deadline: without one a call to
    # an unresponsive server (a network partition) waits for as long as it lasts.
    name, timeout = ctx.spec.name, {"timeout": ctx.timeout}
    caps = yield from capabilities_op(ctx.session)
    kwargs = {**timeout, **ctx.write_kwargs(caps)}
    chunks = list(run.chunks())
    ahead = embed is not None and len(chunks) > 1 and overlap_embedding(run.options, caps)
    owners = ctx.scope.key is not None or _named_target(ctx)
    with run:
        pending: Any = None  # the next chunk's embedding, running while this one is written
        try:
            for index, (start, stop) in enumerate(chunks):
                records = run.records[start:stop]
                if embed is not None and start:
                    try:
                        if pending is None:
                            yield from _embed_chunk(ctx, records, embed, dim, start)
                        else:
                            handle, pending = pending, None
                            _take_vectors(ctx, records, (yield Collect(handle)), dim, start)
                    except Exception:
                        run.model_failed = True
                        raise
                if ahead and embed is not None and index + 1 < len(chunks):
                    first, last = chunks[index + 1]
                    texts = [r.text for r in run.records[first:last]]
                    pending = yield EmbedAhead(texts, embed)
                for first, batch in run.batches(start, stop):
                    # Checked again in the batch's write turn: a write of this process
                    # that took one of these ids since the first check is seen.
                    check = (
                        partial(_refuse_taken_ids, ctx, run.records[first : first + len(batch)])
                        if owners
                        else None
                    )
                    yield from _write_batch(name, batch, first_try, mode, kwargs, check)
                if embed is not None:
                    for record in records:
                        record.vector = None  # written: the model's output is not kept
        except Exception as exc:
            if pending is not None:  # the model finishes before the failure is reported
                yield Collect(pending, discard=True)
            if (
                run.written
                and not run.model_failed
                and not isinstance(exc, CollectionNotFoundError)
                and (yield from _dropped_meanwhile_op(name, timeout))
            ):
                # The rows written so far went with it: not "written" (BatchRun says so).
                raise CollectionNotFoundError(f"collection {shown(name)} does not exist.") from exc
            raise
        if run.flush:
            run.start_flush()
            yield Guarded(Guard.WRITE, one_call(Call(ClientMethod.FLUSH, (name,), timeout)))
    return run.ids


def _dropped_meanwhile_op(name: str, timeout: Mapping[str, Any]) -> Op[bool]:
    """Whether collection ``name`` is gone: dropped by another client while a write ran
    (an engine may then fail the batch with another error, e.g. Lite's "WAL already
    closed"). Asked once, unretried, after a batch failed; a call that fails otherwise
    counts as not gone, and the write's own failure is reported. The runner forgets a
    collection found gone, so the next write recreates it. It carries the write's
    deadline: after a network partition it fails within it, and the failure is told."""
    try:
        yield Call(ClientMethod.DESCRIBE_COLLECTION, (name,), timeout, False)
    except CollectionNotFoundError:
        return True
    except Exception:
        return False
    return False


def overlap_embedding(options: WriteOptions, caps: Capabilities) -> bool:
    """Whether a streamed write embeds the next chunk while writing this one.

    ``WriteOptions.overlap`` decides when set; by default it is on for every engine:
    it saved time on Milvus Lite with both a waiting and a CPU-bound model, and on a
    server with a waiting one (see :class:`~milvus_plugins.core.batching.WriteOptions`).
    """
    return True if options.overlap is None else options.overlap


def _write_batch(
    name: str,
    batch: list[dict[str, Any]],
    first_try: ClientMethod,
    mode: WriteMode,
    kwargs: Mapping[str, Any],
    check: Callable[[], Op[None]] | None = None,
) -> Op[None]:
    """Send one batch; a plain insert of ``AUTO`` mode is never repeated as an insert.

    ``check`` (an operation's factory) runs first, in the same write turn (Milvus Lite:
    this process's writes to the database take turns): what it refuses is not sent.

    An insert that failed may still have been applied (the answer lost on the way back),
    so it is sent once, unretried; a transient failure is followed by an upsert of the
    same rows (with retries), which replaces whatever the insert wrote: a retry never
    duplicates a row. That upsert runs ``check`` again, in its own write turn: another
    writer may have taken one of the ids in between (a row the insert itself landed is
    in this write's own tenant and partition, which ``check`` does not refuse).
    """
    if first_try is ClientMethod.INSERT and mode is WriteMode.AUTO:
        try:
            call = Call(first_try, (name, batch), kwargs, False)
            yield Guarded(Guard.WRITE, _checked_call(call, check))
            return
        except MilvusOperationError as exc:
            if not exc.retriable:
                raise
        first_try = ClientMethod.UPSERT
    yield Guarded(Guard.WRITE, _checked_call(Call(first_try, (name, batch), kwargs), check))


def _checked_call(call: Call, check: Callable[[], Op[None]] | None) -> Op[Any]:
    """Run ``check`` (if any), then send ``call``: one operation, for one write turn."""
    if check is not None:
        yield from check()
    return (yield call)
