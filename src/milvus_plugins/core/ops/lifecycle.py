"""Collection lifecycle operations: capabilities, open or create, exists, drop (pure).

Opening is a short protocol: learn what the engine supports, check the spec is possible
there, drop an old collection if asked, then either check (or adopt) an existing
collection or create one from the spec and load it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from enum import Enum
from typing import Any

from milvus_plugins.core.capabilities import Capabilities
from milvus_plugins.core.config import CollectionSpec
from milvus_plugins.core.error_translation import (
    missing_database_error,
    reports_index_changed,
    reports_index_missing,
)
from milvus_plugins.core.errors import (
    AliasedCollectionError,
    CollectionNotFoundError,
    ConfigError,
    MilvusOperationError,
    MilvusPluginsError,
    SchemaMismatchError,
    shown,
)
from milvus_plugins.core.fields import DenseField
from milvus_plugins.core.filters import Filter, compile_filter
from milvus_plugins.core.fingerprint import (
    EmbeddingFingerprint,
    check_fingerprint,
    creation_settings,
    stored_fingerprint,
)
from milvus_plugins.core.inference import creation_properties, instance_token
from milvus_plugins.core.ops.calls import (
    Call,
    ClientMethod,
    Fingerprint,
    Guard,
    Guarded,
    Op,
    Pause,
    Probe,
    one_call,
)
from milvus_plugins.core.ops.context import OpContext
from milvus_plugins.core.probing import reports_unimplemented
from milvus_plugins.core.properties import check_properties, create_kwargs, load_kwargs
from milvus_plugins.core.records import Record
from milvus_plugins.core.schema import build_index_params, build_schema, check_supported
from milvus_plugins.core.scope import refuse_missing_partitions
from milvus_plugins.core.session import OpenMode, Session, identifiable, note_replaced
from milvus_plugins.core.stats import vector_fields
from milvus_plugins.core.types import MetricType

__all__ = [
    "Opened",
    "capabilities_op",
    "created_elsewhere",
    "drop_op",
    "ensure_op",
    "exists_op",
    "filter_checked_op",
    "fingerprint_op",
    "loaded_op",
    "named_partitions_op",
    "open_existing_op",
    "open_or_create_op",
    "partition_list_op",
    "readable_op",
    "require_op",
    "still_open_op",
]


class Opened(Enum):
    """What :func:`open_or_create_op` found or did."""

    ABSENT = "absent"  # no collection, and its dimension is not known yet
    OPENED = "opened"  # it existed (or another client created it first)
    CREATED = "created"  # this very call created it (empty until this call writes)


def filter_checked_op(ctx: OpContext, where: Filter | None) -> Op[None]:
    """Compile ``where`` for this engine and the store's spec, and drop the result: a call
    that finds no collection (and so no row) refuses a filter it would refuse on rows (a
    value that does not fit a declared column, a string the engine cannot spell).

    Raises:
        FilterError: the filter cannot be compiled for this engine.
    """
    if where is not None:
        caps = yield from capabilities_op(ctx.session)
        compile_filter(where, ctx.spec, caps.dialect)


def readable_op(ctx: OpContext, where: Filter | None) -> Op[bool]:
    """:func:`ensure_op` for a read filtered by ``where``: whether the collection exists
    (opened and loaded). Where it does not, the read has no row to return, but ``where``
    is still checked (:func:`filter_checked_op`)."""
    if (yield from ensure_op(ctx, read=True)):
        return True
    yield from filter_checked_op(ctx, where)
    return False


def capabilities_op(session: Session) -> Op[Capabilities]:
    """What the connected engine supports: from its version, or probed when it has none."""
    if session.capabilities is None:
        try:
            version = yield Call(ClientMethod.GET_SERVER_VERSION)
        except MilvusOperationError as exc:
            if not reports_unimplemented(exc):
                raise
            # Milvus Lite 2.5 reports no version: ask the engine what it can do.
            session.capabilities = yield Probe()
        else:
            session.set_version(str(version))
        yield from _check_database(session)
    return session.caps


def _check_database(session: Session) -> Op[None]:
    """Refuse a ``db_name`` the server does not have (once per session).

    A server answers reads of a missing database as empty (``has_collection`` is
    ``False``) and fails only a write: a misspelt database would look empty.
    """
    name = session.connection.db_name
    if not name or name == "default":
        return
    try:
        names = yield Call(ClientMethod.LIST_DATABASES)
    except MilvusOperationError as exc:
        if reports_unimplemented(exc):
            return  # an engine without database RPCs: its own calls will say
        raise
    if name not in names:
        raise missing_database_error(name)


def fingerprint_op(session: Session) -> Op[EmbeddingFingerprint | None]:
    """The fingerprint of the session's embedding (computed once), or ``None``."""
    source = session.embedding
    if source is None or isinstance(source, EmbeddingFingerprint):
        return source
    if source.known is not None:
        return source.known
    fingerprint: EmbeddingFingerprint = yield Fingerprint(source)
    return fingerprint


def created_elsewhere(exc: BaseException) -> bool:
    """Whether a failed ``create_collection`` means another client created it first.

    Then the collection is opened and checked against the spec like any existing one.
    """
    text = str(exc).lower()
    # A server that lost the race with other parameters: "create duplicate collection
    # with different parameters" (the opening check then names the difference).
    return any(m in text for m in ("already exist", "file exists", "duplicate collection"))


def _has(name: str) -> Call:
    return Call(ClientMethod.HAS_COLLECTION, (name,))


def ensure_op(
    ctx: OpContext,
    dim: int | None = None,
    records: Sequence[Record] = (),
    *,
    read: bool = False,
    create: bool = True,
) -> Op[bool]:
    """Open the collection; create it when absent, the dimension is known and ``create``.

    ``records`` is the write that creates it (its keys get accelerator columns). Answers
    whether the collection exists afterwards. An open collection is first checked to
    still be the one opened (:func:`still_open_op`); ``read`` says the caller only reads,
    and a read never creates: a read of a collection that is not there (never written,
    dropped, or a misspelt name) finds nothing and leaves nothing behind. Deletes and
    other calls with nothing to write pass ``create=False`` too; writes create.
    """
    opened = yield from open_or_create_op(ctx, dim, records, read=read, create=create)
    if opened is Opened.ABSENT:
        return False
    yield from named_partitions_op(ctx)
    return True


def named_partitions_op(ctx: OpContext) -> Op[None]:
    """Refuse a call scoped to a partition the collection does not have.

    Milvus Lite 3.2.2 reads a missing partition as an empty one (a misspelt name made a
    search, count or delete find nothing and report success); the call is refused alike
    on every engine, before it reads or deletes anything. One ``list_partitions`` per
    call that names partitions.

    Raises:
        UnsupportedByServerError: named partitions on an engine without them.
        InvalidInputError: a named partition that does not exist (nothing changed).
    """
    names = ctx.scope.partition_names
    if names is None:
        return
    caps = yield from capabilities_op(ctx.session)
    caps.require("partitions", caps.partitions)
    refuse_missing_partitions(ctx.spec.name, names, (yield from partition_list_op(ctx)))


def partition_list_op(ctx: OpContext) -> Op[list[str]]:
    """The collection's partition names, listed under the call's deadline."""
    listing = Call(ClientMethod.LIST_PARTITIONS, (ctx.spec.name,), {"timeout": ctx.timeout})
    return [str(n) for n in (yield listing)]


def ensure_collection_op(
    ctx: OpContext, dim: int | None = None, records: Sequence[Record] = ()
) -> Op[bool]:
    """:func:`ensure_op` for a caller that names the dimension it expects.

    Raises:
        ConfigError: ``dim`` is not a valid dimension, or contradicts the store's own
            (before any I/O).
        SchemaMismatchError: the collection there has another dimension.
    """
    spec = ctx.session.spec
    if dim is not None:
        spec.with_dim(dim)  # a bad dimension is refused here, before any I/O
        if spec.dim is not None and spec.dim != dim:
            raise ConfigError(
                f"dim={shown(dim)} contradicts the store's dim={spec.dim}; nothing was opened."
            )
    exists = yield from ensure_op(ctx, dim, records)
    held = ctx.session.spec.dim
    if exists and dim is not None and held is not None and held != dim:
        raise SchemaMismatchError(
            f"collection {shown(spec.name)} holds vectors of dim={held}, not dim={dim}; "
            "use another collection name, or drop_old=True to replace it."
        )
    return exists


def open_or_create_op(
    ctx: OpContext,
    dim: int | None = None,
    records: Sequence[Record] = (),
    *,
    read: bool = False,
    create: bool = True,
) -> Op[Opened]:
    """As :func:`ensure_op`, but answer whether this call created the collection.

    A write that created the collection knows it holds none of its ids, so it may send
    plain inserts (cheaper than upserts); only the creator is told ``CREATED``.
    """
    if ctx.session.exists and (yield from still_open_op(ctx, read=read)):
        return Opened.OPENED
    creating = create and not read
    opened: Opened = yield Guarded(
        Guard.SESSION, _ensure_locked(ctx, dim, records, create=creating)
    )
    return opened


def open_existing_op(ctx: OpContext) -> Op[bool]:
    """Open the collection if it exists already; never create or drop it.

    A streamed write calls it before it embeds anything, so that a collection it would
    refuse (another tool's layout, a schema mismatch) is refused before the model runs.
    With ``drop_old`` pending nothing is opened: the write drops and recreates it.
    Answers whether the collection is open.
    """
    if ctx.session.exists and (yield from still_open_op(ctx, read=False)):
        return True
    if ctx.session.drop_old:
        return False
    opened: Opened = yield Guarded(Guard.SESSION, _ensure_locked(ctx, None, (), create=False))
    return opened is not Opened.ABSENT


def still_open_op(ctx: OpContext, *, read: bool) -> Op[bool]:
    """Whether the open collection is still the one the store opened.

    Another client may have dropped it and created another under its name, or moved
    the alias the store opened (a re-index): writing or deleting by the old schema would
    change another collection's rows, and scoring by the old metric would rank wrongly.
    Every write and delete checks the schema (one ``describe_collection``); a read
    checks the schema at most once per :data:`~..session.READ_CHECK_TTL` and the dense
    index at most once per :data:`~..session.READ_INDEX_CHECK_TTL`.
    When it changed, the store forgets it and the caller opens it again: an existing
    collection is then checked (or adopted) as on first use, and one that no longer fits
    raises :class:`SchemaMismatchError` with nothing written or deleted. When it is gone,
    a read answers ``False`` (it finds nothing) and a write or delete raises
    :class:`CollectionNotFoundError` (its earlier rows are gone; the next write recreates).
    """
    session = ctx.session
    if read and not session.read_check_due():
        return True
    seen = session.signature
    name = session.spec.name
    try:
        description = yield Call(ClientMethod.DESCRIBE_COLLECTION, (name,))
    except CollectionNotFoundError:
        # Dropped behind our back: session.failed() forgot it. Reads find nothing; a
        # write or delete fails (its rows are gone: say so), and the next one recreates.
        if read:
            return False
        raise
    index = None
    known = identifiable(description)
    if read:
        dense_field = session.dense_field
        full = dense_field is not None and session.index_check_due()
    else:
        # A write or delete compares the schema and creation properties; where those
        # cannot tell a collection made again from this one (no collection id and no
        # instance token: Milvus Lite 2.5.1, another tool's collection on Milvus Lite),
        # the dense index's type and metric too.
        dense_field = None if known else session.dense_field
        full = dense_field is not None
    if dense_field is not None and full:
        index = yield from _describe_dense_index(name, dense_field, session.dense_index_name)
    if session.still_open(description, index, full=full):
        if known or not full:
            return True
        # Nothing tells a collection made again from this one but its indexes: the
        # named dense fields' metrics too (the canonical one's was compared above).
        if not (yield from _named_metric_changes(ctx, name)):
            return True
    yield Guarded(Guard.SESSION, _forget_op(session, seen))
    return False


def _named_metric_changes(ctx: OpContext, name: str) -> Op[list[tuple[DenseField, str, str]]]:
    """The named dense fields of the spec whose stored index ranks by another metric,
    each with the stored metric and the spec's (both upper case)."""
    changed = []
    for dense in ctx.spec.extra_vector_fields:
        described = yield from _describe_dense_index(name, dense.name)
        stored = str((described or {}).get("metric_type") or "").upper()
        wanted = str(getattr(dense.metric, "value", dense.metric)).upper()
        if stored and stored != wanted:
            changed.append((dense, stored, wanted))
    return changed


def _forget_op(session: Session, seen: tuple[str, str | None] | None) -> Op[None]:
    session.forget_opened(seen)
    return None
    yield  # an operation without I/O


def _ensure_locked(
    ctx: OpContext, dim: int | None, records: Sequence[Record], *, create: bool = True
) -> Op[Opened]:
    session = ctx.session
    if session.exists:
        return Opened.OPENED
    if not create and session.drop_old:
        return Opened.ABSENT
    caps = yield from capabilities_op(session)
    name = session.spec.name
    # Before touching anything: a spec the engine cannot hold must neither drop the old
    # collection nor be reported as a schema mismatch.
    check_supported(session.spec, caps)
    yield from _check_replicas(session.spec, caps)
    if session.drop_old:
        if (yield _has(name)):
            yield from _drop_named(session, name, caps)
        session.drop_old = False
    if (yield _has(name)):
        return (yield from _open_existing(ctx, name))
    if not create:
        return Opened.ABSENT
    asked = session.spec
    spec = session.spec_to_create(dim, records)
    if spec is None:
        return Opened.ABSENT
    # Other stores on the same Lite database create under the same lock (Lite races on
    # the directory otherwise); whoever comes second opens and checks. The async runner
    # also creates through the sync client there: AsyncMilvusClient.create_collection
    # waits for the index through AllocTimestamp, which Milvus Lite does not implement.
    fingerprint = yield from fingerprint_op(session)
    created = yield Guarded(Guard.WRITE, _create(spec, caps, fingerprint))
    if not created:
        # Another client created it first: open it as asked (what this write would have
        # created with, e.g. an undeclared partition key's type, is read from it).
        session.spec = asked
        return (yield from _open_existing(ctx, name))
    if load_kwargs(spec.collection_properties, caps).get("replica_number", 1) != 1:
        # create_collection has loaded it with one replica, and a loaded collection's
        # replica count cannot change: release it and load it with the count asked for.
        yield Call(ClientMethod.RELEASE_COLLECTION, (name,))
    yield from loaded_op(ctx, caps)
    description = yield Call(ClientMethod.DESCRIBE_COLLECTION, (name,))
    dense = spec.fields.vector
    index = yield from _describe_dense_index(name, dense)
    session.first_layout = None  # this package's, from now on: the store made it
    session.remember_opened(asked, description, index, dense)
    session.exists = True
    session.created_here = True
    return Opened.CREATED


def _drop_named(session: Session, name: str, caps: Capabilities) -> Op[None]:
    """Drop the collection called ``name``, never the one an alias of that name names.

    Milvus drops the collection behind an alias given to ``drop_collection``: every
    reader of the alias would lose it, and the alias with it. That is refused, and so
    is dropping a collection that aliases point at (Milvus drops them along, and their
    readers then find an empty collection, or none).

    Raises:
        AliasedCollectionError: ``name`` is an alias, or aliases point at it (nothing
            dropped).
    """
    if caps.aliases:
        description = yield Call(ClientMethod.DESCRIBE_COLLECTION, (name,))
        target = str(description.get("collection_name") or name)
        aliases: list[str] = []
        if target == name:  # Milvus Lite 3 describes a collection without its aliases
            listed = yield Call(ClientMethod.LIST_ALIASES, (), {"collection_name": name})
            # MilvusClient answers {"aliases": [...]}, AsyncMilvusClient the list itself.
            names = listed.get("aliases") if isinstance(listed, Mapping) else listed
            aliases = [str(a) for a in names or () if str(a) != name]
        if aliases:
            shown_aliases = ", ".join(shown(a) for a in aliases)
            raise AliasedCollectionError(
                f"collection {shown(name)} is what alias {shown_aliases} points at: dropping "
                "it would drop the alias too, under every reader of it. Nothing was "
                "dropped. Point the alias at another collection first with point_alias() "
                "(CLI: milvus-plugins alias ALIAS COLLECTION), or remove it with pymilvus' "
                f"MilvusClient.drop_alias({shown(aliases[0])}), then drop {shown(name)}."
            )
        if target != name:
            raise AliasedCollectionError(
                f"{shown(name)} is an alias of the collection {shown(target)}: dropping it "
                f"would drop {shown(target)} under every reader of the alias. Nothing was "
                f"dropped. Point the alias elsewhere with point_alias() (CLI: "
                f"milvus-plugins alias), or remove it with pymilvus' "
                f"MilvusClient.drop_alias({shown(name)}); to drop the collection, name "
                f"{shown(target)} itself."
            )
    # A write's turn on Milvus Lite: a drop between two calls of a write, never inside one
    # (mid-batch, Lite failed the batch with "WAL already closed" and could stay broken).
    yield Guarded(Guard.WRITE, one_call(Call(ClientMethod.DROP_COLLECTION, (name,))))
    note_replaced(session.connection, name)  # its other stores re-check at their next read


def _create(
    spec: CollectionSpec, caps: Capabilities, fingerprint: EmbeddingFingerprint | None
) -> Op[bool]:
    """Create the collection; answer ``False`` when it exists already (created elsewhere).

    The embedding's ``fingerprint`` goes into the collection's properties and
    description (see :mod:`milvus_plugins.core.fingerprint`).
    """
    if (yield _has(spec.name)):
        return False
    description, fingerprint_properties = creation_settings(spec.description, fingerprint)
    index_params = build_index_params(spec, caps)  # refuses an index Lite cannot build
    kwargs: dict[str, Any] = {
        "schema": build_schema(replace(spec, description=description), caps),
        "consistency_level": spec.consistency.value,
        **create_kwargs(spec.collection_properties, caps),
        **({} if spec.num_partitions is None else {"num_partitions": spec.num_partitions}),
    }
    properties = {
        **kwargs.get("properties", {}),
        **creation_properties(spec),
        **fingerprint_properties,
    }
    if properties:
        # TTL/mmap asked for, which columns are accelerators, the embedding fingerprint:
        # kept with the collection (field descriptions are not kept by Milvus Lite
        # 3.2.2), for every later opener to read.
        kwargs["properties"] = properties
    try:
        yield Call(ClientMethod.CREATE_COLLECTION, (spec.name,), kwargs, retry=False)
    except MilvusPluginsError as exc:
        if not created_elsewhere(exc):
            raise
        return False
    # The indexes are created apart: with ``index_params``, pymilvus' create_collection
    # sleeps 0.5 s per index before it first asks whether the build is done, which on a
    # new, empty collection it always is. The caller loads the collection next.
    try:
        yield Call(
            ClientMethod.CREATE_INDEX,
            (spec.name, index_params),
            {"sync": False},
            retry=False,
        )
    except MilvusPluginsError as exc:
        if not indexed_elsewhere(exc):
            raise
        return False
    return True


def indexed_elsewhere(exc: BaseException) -> bool:
    """Whether a failed ``create_index`` of a collection just created means another
    client created the same collection at the same moment, with another index.

    Milvus 2.3.5 answers a second ``create_collection`` of an identical schema with
    success, so the second creator only learns of the first at its index: "at most one
    distinct index is allowed per field". The collection is then opened and checked
    against the spec like any existing one (a :class:`SchemaMismatchError` naming the
    difference).
    """
    return "at most one distinct index" in str(exc).lower()


DEFAULT_RESOURCE_GROUP = "__default_resource_group"


def _check_replicas(spec: CollectionSpec, caps: Capabilities) -> Op[None]:
    """Refuse more replicas than the server has query nodes, before creating anything.

    The server would create the collection and then fail every load with "nodes not
    enough", leaving a collection that cannot be searched.
    """
    wanted = spec.collection_properties.replicas
    if wanted is None or wanted <= 1 or not caps.replicas:
        return
    try:
        group = yield Call(ClientMethod.DESCRIBE_RESOURCE_GROUP, (DEFAULT_RESOURCE_GROUP,))
    except MilvusOperationError:
        return  # not allowed to ask: the load answers instead
    nodes = getattr(group, "num_available_node", None)
    if isinstance(nodes, int) and not isinstance(nodes, bool) and nodes < wanted:
        raise ConfigError(
            f"properties.replicas={wanted} but this Milvus has {nodes} query node(s) "
            f"available in its default resource group; set replicas <= {nodes} or add "
            "query nodes."
        )


def _load_call(ctx: OpContext, caps: Capabilities) -> Call:
    """The ``load_collection`` call, with the spec's replica count where it applies."""
    props = ctx.spec.collection_properties
    return Call(ClientMethod.LOAD_COLLECTION, (ctx.spec.name,), load_kwargs(props, caps))


def loaded_op(ctx: OpContext, caps: Capabilities) -> Op[None]:
    """Load the collection (nothing to do when it is loaded).

    Another client that loaded it while its creator was still adding indexes left it
    loaded with fewer, and the 2.3.5 server then refuses every load ("can't change the
    index for loaded collection"). It is loaded, and searches answer right without the
    later (scalar) index: that counts as loaded. It is not released and loaded again:
    searches of other clients met that reload as errors or, worse, as empty answers.
    """
    try:
        yield _load_call(ctx, caps)
    except MilvusOperationError as exc:
        if not reports_index_changed(exc):
            raise


INDEX_WAITS = (0.1, 0.2, 0.4, 0.8, 1.6, 2.0)
"""The pauses (seconds) before each further try to open a collection that a server
cannot load because a vector field has no index yet (about 5 s in all). Its creator
makes the collection and then its indexes: another client that opens it in between
(two stores racing to create it) waits for the indexes instead of failing."""


def _open_existing(ctx: OpContext, name: str) -> Op[Opened]:
    """Check (or adopt) the existing collection ``name`` and load it.

    Raises:
        SchemaMismatchError: a vector field still has no index after
            :data:`INDEX_WAITS` (a server loads no such collection); nothing changed.
    """
    session = ctx.session
    before = session.spec
    for pause in (*INDEX_WAITS, None):
        try:
            return (yield from _open_existing_once(ctx, name))
        except MilvusOperationError as exc:
            if not reports_index_missing(exc):
                raise
            session.spec, session.exists = before, False  # not opened: as before the try
            if pause is None:
                unindexed = yield from _unindexed_vector_fields(name)
                fields = ", ".join(shown(f) for f in unindexed) or "a vector field"
                raise SchemaMismatchError(
                    f"collection {shown(name)} cannot be loaded: {fields} has no index "
                    f"(waited {sum(INDEX_WAITS):.1f} s in case its creator was still "
                    "adding it), and this Milvus loads no collection with an unindexed "
                    "vector field. Create the index (MilvusClient.create_index) and open "
                    "it again, or use another collection_name. Nothing was changed."
                ) from exc
        yield Pause(pause)
    raise AssertionError("unreachable")  # the last try returns or raises


def _unindexed_vector_fields(name: str) -> Op[list[str]]:
    """The vector fields of collection ``name`` that have no index (best effort)."""
    try:
        description = yield Call(ClientMethod.DESCRIBE_COLLECTION, (name,))
        indexed: set[str] = set()
        for index_name in (yield Call(ClientMethod.LIST_INDEXES, (name,))) or ():
            index = yield Call(ClientMethod.DESCRIBE_INDEX, (name, index_name))
            indexed.add(str((index or {}).get("field_name", index_name)))
    except MilvusPluginsError:
        return []
    return [str(f.get("name")) for f in vector_fields(description) if f.get("name") not in indexed]


def _open_existing_once(ctx: OpContext, name: str) -> Op[Opened]:
    description = yield Call(ClientMethod.DESCRIBE_COLLECTION, (name,))
    layout = ctx.session.layout_of(description)
    vector = ctx.spec.fields.vector if layout is None else layout.vector
    index = yield from _describe_dense_index(name, vector)
    session = ctx.session
    caps = session.caps
    # Checked before the schema is adopted, so a mismatch leaves the session unopened.
    if session.open_mode is not OpenMode.ADOPT:
        check_properties(name, ctx.spec.collection_properties, description, caps)
        if layout is None:
            yield from _check_named_metrics(ctx, name)
        else:
            # Another tool's collection is read as it was made: its named dense fields'
            # metrics too (as the searched field's), or their scores would be misread.
            yield from _adopt_named_metrics(ctx, name)
    stored = stored_fingerprint(description)
    # A spec of another dimension than the recorded model's is refused by the adoption
    # below, naming both dimensions and the fix: that says more than "another model".
    other_dim = stored is not None and ctx.spec.dim is not None and ctx.spec.dim != stored.dim
    if not session.allow_embedding_change and stored is not None and not other_dim:
        # Before adopting: a collection of another model must not count as opened. The
        # model is probed only when there is a recorded fingerprint to compare with
        # (another tool's collection records none).
        given = yield from fingerprint_op(session)
        check_fingerprint(name, description, given, allow_change=False)
    before = session.spec
    session.adopt(description, index)
    if layout is None and not identifiable(description):
        # After the checks: a collection the store refuses is left as it is.
        description = yield from _with_instance_token(ctx, name, description)
    session.remember_opened(before, description, index, vector)
    yield from loaded_op(ctx, caps)
    return Opened.OPENED


def _with_instance_token(
    ctx: OpContext, name: str, description: Mapping[str, Any]
) -> Op[Mapping[str, Any]]:
    """Give a collection of this package's layout made before instance tokens (see
    :data:`~milvus_plugins.core.inference.INSTANCE_PROPERTY`) one, on an engine that
    reports no collection id (Milvus Lite 3): without it every write and delete would
    also describe the dense index to tell it from a collection made again (Milvus Lite
    3.2.2 counts the rows to answer that). Answers the description to remember; where
    the engine drops properties (Milvus Lite 2.5.1) or refuses the change, the one
    given (writes then compare the index)."""
    if not ctx.session.caps.keeps_properties:
        return description  # dropped (Milvus Lite 2.5.1, which has no such RPC either)
    try:
        token = instance_token()
        yield Call(ClientMethod.ALTER_COLLECTION_PROPERTIES, (name,), {"properties": token})
        fresh: Mapping[str, Any] = yield Call(ClientMethod.DESCRIBE_COLLECTION, (name,))
    except MilvusPluginsError:
        return description  # the next write or delete describes it again anyway
    return fresh


def _check_named_metrics(ctx: OpContext, name: str) -> Op[None]:
    """Refuse a named dense field whose stored index ranks by another metric than the
    spec's (as the canonical field's is refused): its scores would be read wrongly.

    Raises:
        SchemaMismatchError: naming the field, both metrics and the fix.
    """
    changes = yield from _named_metric_changes(ctx, name)
    if changes:
        dense, stored, wanted = changes[0]
        raise SchemaMismatchError(
            f"collection {shown(name)} field {shown(dense.name)} uses metric {stored} but "
            f"{wanted} was asked for; open it with DenseField({dense.name!r}, "
            f"metric={stored!r}), or use another collection_name."
        )


def _adopt_named_metrics(ctx: OpContext, name: str) -> Op[None]:
    """Take each named dense field's metric from its stored index (another tool's layout)."""
    changes = yield from _named_metric_changes(ctx, name)
    changed = {dense.name: stored for dense, stored, _ in changes}
    if changed:
        fields = tuple(
            replace(dense, metric=MetricType.parse(changed[dense.name], field="metric"), index=None)
            if dense.name in changed
            else dense
            for dense in ctx.spec.extra_vector_fields
        )
        ctx.session.spec = replace(ctx.spec, vector_fields=fields)


def _describe_dense_index(
    name: str, field: str, known: str | None = None
) -> Op[Mapping[str, Any] | None]:
    """The dense field's index description; ``known`` is its index name as last seen
    (one round trip instead of two: a read's periodic check). An index that cannot be
    described is treated as absent: the spec check then compares what it can
    (dimension, fields) instead of failing the open; a read's check then sees a change
    and re-opens (listing the indexes again)."""
    try:
        if known is None:
            indexes = yield Call(ClientMethod.LIST_INDEXES, (name,), {"field_name": field})
            if not indexes:
                return None
            known = indexes[0]
        description: Mapping[str, Any] | None = yield Call(
            ClientMethod.DESCRIBE_INDEX, (name, known)
        )
    except MilvusPluginsError:
        return None
    if not description or description.get("field_name", field) != field:
        return None  # the name now indexes another field
    return description


def require_op(ctx: OpContext, *, create: bool = False) -> Op[None]:
    """Open the collection or raise :class:`CollectionNotFoundError` (admin operations;
    ``create``: create it first when absent and the dimension is known)."""
    if not (yield from ensure_op(ctx, create=create)):
        raise CollectionNotFoundError(
            f"collection {shown(ctx.spec.name)} does not exist; the first write creates it "
            "(its dimension taken from the first vectors), or ensure_collection(dim=...)."
        )


def exists_op(ctx: OpContext) -> Op[bool]:
    """Whether the collection exists (opening it if it does; never creating it).

    Always asks Milvus: another client may have dropped (or created) it meanwhile.
    """
    yield from capabilities_op(ctx.session)  # a database that is not there is refused
    if not (yield _has(ctx.spec.name)):
        if ctx.session.exists:
            ctx.session.lost()
        return False
    # With drop_old pending, the one there is to be dropped: as for a read, it is not.
    return (yield from ensure_op(ctx, create=False))


def made_here_op(ctx: OpContext) -> Op[bool]:
    """Whether the collection there is the one this store created (not one it found, nor
    one another client made again under the name since)."""
    session = ctx.session
    if not session.created_here:
        return False
    name = ctx.spec.name
    try:
        description = yield Call(ClientMethod.DESCRIBE_COLLECTION, (name,))
    except CollectionNotFoundError:
        return False
    if str(description.get("collection_name") or name) != name:
        return False  # the name is an alias now
    return session.still_open(description, None, full=False)


def drop_op(ctx: OpContext) -> Op[None]:
    """Drop the collection; the store recreates it on the next write.

    Raises:
        ConfigError: the store's name is an alias (nothing dropped).
    """
    name = ctx.spec.name
    try:
        if (yield _has(name)):
            caps = yield from capabilities_op(ctx.session)
            yield from _drop_named(ctx.session, name, caps)
    except CollectionNotFoundError:
        pass  # dropped meanwhile: done
    ctx.session.lost(keep_dim=False)
