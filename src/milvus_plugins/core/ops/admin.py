"""Administrative operations: flush, compaction, loading, partitions, stats (pure)."""

from __future__ import annotations

from milvus_plugins.core.errors import ConfigError, MilvusOperationError, shown
from milvus_plugins.core.names import check_name
from milvus_plugins.core.ops.calls import Call, ClientMethod, Guard, Guarded, Op, one_call, or_empty
from milvus_plugins.core.ops.context import OpContext
from milvus_plugins.core.ops.lifecycle import capabilities_op, ensure_op, loaded_op, require_op
from milvus_plugins.core.ops.reads import count_op
from milvus_plugins.core.scope import DEFAULT_PARTITION
from milvus_plugins.core.stats import CollectionStats, parse_stats, partition_key_of

__all__ = [
    "compact_op",
    "create_partition_op",
    "drop_partition_op",
    "flush_op",
    "list_collections_op",
    "list_partitions_op",
    "load_op",
    "release_op",
    "stats_op",
]


def list_collections_op() -> Op[list[str]]:
    """Names of the collections in the connected database."""
    return list((yield Call(ClientMethod.LIST_COLLECTIONS)))


def flush_op(ctx: OpContext) -> Op[None]:
    """Seal and persist buffered rows (on Milvus Lite it also speeds up search)."""
    if (yield from ensure_op(ctx, create=False)):
        yield Guarded(Guard.WRITE, one_call(Call(ClientMethod.FLUSH, (ctx.spec.name,))))


def compact_op(ctx: OpContext) -> Op[int]:
    """Start a compaction (merging segments, purging deletes); answer its job id."""
    yield from require_op(ctx)
    caps = yield from capabilities_op(ctx.session)
    caps.require("compaction", caps.compaction)
    return int((yield Call(ClientMethod.COMPACT, (ctx.spec.name,))))


def load_op(ctx: OpContext) -> Op[None]:
    """Load the collection into memory for search."""
    yield from require_op(ctx)
    caps = yield from capabilities_op(ctx.session)
    yield from loaded_op(ctx, caps)


def release_op(ctx: OpContext) -> Op[None]:
    """Release the collection from memory."""
    yield from require_op(ctx)
    yield Call(ClientMethod.RELEASE_COLLECTION, (ctx.spec.name,))


def _partitions_ready(ctx: OpContext, name: str | None, *, create: bool = False) -> Op[None]:
    if name is not None:
        # Checked before any call: Milvus Lite would turn the name into a path.
        check_name("partition name", name)
    yield from require_op(ctx, create=create)
    caps = yield from capabilities_op(ctx.session)
    caps.require("partitions", caps.partitions)


def _partition_names(ctx: OpContext) -> Op[list[str]]:
    return [str(n) for n in (yield Call(ClientMethod.LIST_PARTITIONS, (ctx.spec.name,)))]


def create_partition_op(ctx: OpContext, name: str) -> Op[None]:
    """Create a partition unless it exists (another client may create it meanwhile:
    that counts as done).

    Raises:
        ConfigError: the collection routes rows by a partition key (nothing created).
    """
    yield from _partitions_ready(ctx, name, create=True)  # a collection of known dim
    if name in (yield from _partition_names(ctx)):
        return
    collection = ctx.spec.name
    description = yield Call(ClientMethod.DESCRIBE_COLLECTION, (collection,))
    key = partition_key_of(description)
    if key is not None:
        raise ConfigError(
            f"collection {shown(collection)} routes rows into partitions by its partition "
            f"key {shown(key)}; Milvus allows no partitions made by hand there. Nothing "
            f"was created. Scope calls by tenant=... instead of partition {shown(name)}."
        )
    try:
        yield Call(ClientMethod.CREATE_PARTITION, (collection, name), retry=False)
    except MilvusOperationError:
        if name not in (yield from _partition_names(ctx)):
            raise
        # created by another client meanwhile


def list_partitions_op(ctx: OpContext) -> Op[list[str]]:
    """Names of the collection's partitions."""
    yield from _partitions_ready(ctx, None)
    return list((yield Call(ClientMethod.LIST_PARTITIONS, (ctx.spec.name,))))


def drop_partition_op(ctx: OpContext, name: str) -> Op[None]:
    """Release and drop a partition with its rows; one that does not exist (or that
    another client dropped meanwhile) is left as it is.

    Raises:
        ConfigError: ``name`` is ``_default``, which Milvus never drops (nothing changed).
    """
    if name == DEFAULT_PARTITION:
        raise ConfigError(
            f"the {DEFAULT_PARTITION} partition cannot be dropped (Milvus keeps it). Nothing "
            "was changed. Delete its rows with delete(filter=..., partition_names="
            f"[{DEFAULT_PARTITION!r}]), or drop the whole collection with drop()."
        )
    check_name("partition name", name)
    if not (yield from ensure_op(ctx, create=False)):
        return  # no collection, so no such partition: left as it is
    yield from _partitions_ready(ctx, name)
    if name not in (yield from _partition_names(ctx)):
        return
    caps = yield from capabilities_op(ctx.session)
    try:
        if not caps.is_lite:
            # Milvus Lite has no partition-level release (UNIMPLEMENTED) and drops a
            # loaded partition as is.
            yield Call(ClientMethod.RELEASE_PARTITIONS, (ctx.spec.name, [name]))
        yield Call(ClientMethod.DROP_PARTITION, (ctx.spec.name, name))
    except MilvusOperationError:
        if name in (yield from _partition_names(ctx)):
            raise
        # dropped by another client meanwhile


def stats_op(ctx: OpContext) -> Op[CollectionStats]:
    """A health report: rows, fields, indexes, load state, partitions, server version."""
    yield from require_op(ctx)
    caps = yield from capabilities_op(ctx.session)
    name = ctx.spec.name
    description = yield Call(ClientMethod.DESCRIBE_COLLECTION, (name,))
    indexes = []
    for index in (yield Call(ClientMethod.LIST_INDEXES, (name,))):
        indexes.append((yield Call(ClientMethod.DESCRIBE_INDEX, (name, index))))
    load_state = yield Call(ClientMethod.GET_LOAD_STATE, (name,))
    partitions: list[str] = []
    if caps.partitions:  # Milvus Lite 2.5 has no partition RPCs
        partitions = list((yield Call(ClientMethod.LIST_PARTITIONS, (name,))))
    rows = yield from or_empty(count_op(ctx, None), lambda: 0)
    return parse_stats(ctx.spec, caps, description, indexes, load_state, partitions, rows)
