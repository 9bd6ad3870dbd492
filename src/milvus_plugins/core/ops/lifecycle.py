"""Collection lifecycle operations: capabilities, open or create, exists, drop (pure).

Opening is a short protocol: learn what the engine supports, check the spec is possible
there, drop an old collection if asked, then either check (or adopt) an existing
collection or create one from the spec and load it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from milvus_plugins.core.capabilities import Capabilities
from milvus_plugins.core.config import CollectionSpec
from milvus_plugins.core.errors import (
    CollectionNotFoundError,
    MilvusOperationError,
    MilvusPluginsError,
    shown,
)
from milvus_plugins.core.ops.calls import Call, ClientMethod, Guard, Guarded, Op, Probe
from milvus_plugins.core.ops.context import OpContext
from milvus_plugins.core.probing import reports_unimplemented
from milvus_plugins.core.records import Record
from milvus_plugins.core.schema import build_index_params, build_schema, check_supported
from milvus_plugins.core.session import Session

__all__ = [
    "capabilities_op",
    "created_elsewhere",
    "drop_op",
    "ensure_op",
    "exists_op",
    "require_op",
]


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
    return session.caps


def created_elsewhere(exc: BaseException) -> bool:
    """Whether a failed ``create_collection`` means another client created it first.

    Then the collection is opened and checked against the spec like any existing one.
    """
    text = str(exc).lower()
    return "already exist" in text or "file exists" in text


def _has(name: str) -> Call:
    return Call(ClientMethod.HAS_COLLECTION, (name,))


def ensure_op(ctx: OpContext, dim: int | None = None, records: Sequence[Record] = ()) -> Op[bool]:
    """Open the collection, creating it when absent and the dimension is known.

    ``records`` is the write that creates it (for ``infer_metadata_fields``). Answers
    whether the collection exists afterwards.
    """
    if ctx.session.exists:
        return True
    opened: bool = yield Guarded(Guard.SESSION, _ensure_locked(ctx, dim, records))
    return opened


def _ensure_locked(ctx: OpContext, dim: int | None, records: Sequence[Record]) -> Op[bool]:
    session = ctx.session
    if session.exists:
        return True
    caps = yield from capabilities_op(session)
    name = session.spec.name
    # Before touching anything: a spec the engine cannot hold must neither drop the old
    # collection nor be reported as a schema mismatch.
    check_supported(session.spec, caps)
    if session.drop_old:
        session.drop_old = False
        if (yield _has(name)):
            yield Call(ClientMethod.DROP_COLLECTION, (name,))
    if (yield _has(name)):
        return (yield from _open_existing(ctx, name))
    spec = session.spec_to_create(dim, records)
    if spec is None:
        return False
    # Other stores on the same Lite database create under the same lock (Lite races on
    # the directory otherwise); whoever comes second opens and checks. The async runner
    # also creates through the sync client there: AsyncMilvusClient.create_collection
    # waits for the index through AllocTimestamp, which Milvus Lite does not implement.
    created = yield Guarded(Guard.WRITE, _create(spec, caps))
    if not created:
        return (yield from _open_existing(ctx, name))
    yield Call(ClientMethod.LOAD_COLLECTION, (name,))
    session.exists = True
    return True


def _create(spec: CollectionSpec, caps: Capabilities) -> Op[bool]:
    """Create the collection; answer ``False`` when it exists already (created elsewhere)."""
    if (yield _has(spec.name)):
        return False
    schema = build_schema(spec, caps)
    index_params = build_index_params(spec, caps)  # refuses an index Lite cannot build
    try:
        yield Call(
            ClientMethod.CREATE_COLLECTION,
            (spec.name,),
            {"schema": schema, "consistency_level": spec.consistency.value},
            retry=False,
        )
    except MilvusPluginsError as exc:
        if not created_elsewhere(exc):
            raise
        return False
    # The indexes are created apart: with ``index_params``, pymilvus' create_collection
    # sleeps 0.5 s per index before it first asks whether the build is done, which on a
    # new, empty collection it always is. The caller loads the collection next.
    yield Call(
        ClientMethod.CREATE_INDEX,
        (spec.name, index_params),
        {"sync": False},
        retry=False,
    )
    return True


def _open_existing(ctx: OpContext, name: str) -> Op[bool]:
    description = yield Call(ClientMethod.DESCRIBE_COLLECTION, (name,))
    index = yield from _describe_dense_index(ctx, name)
    ctx.session.adopt(description, index)
    yield Call(ClientMethod.LOAD_COLLECTION, (name,))
    return True


def _describe_dense_index(ctx: OpContext, name: str) -> Op[Mapping[str, Any] | None]:
    # An index that cannot be described is treated as absent: the spec check then
    # compares what it can (dimension, fields) instead of failing the open.
    field = ctx.spec.fields.vector
    try:
        indexes = yield Call(ClientMethod.LIST_INDEXES, (name,), {"field_name": field})
        if not indexes:
            return None
        description: Mapping[str, Any] = yield Call(ClientMethod.DESCRIBE_INDEX, (name, indexes[0]))
    except MilvusPluginsError:
        return None
    return description


def require_op(ctx: OpContext) -> Op[None]:
    """Open the collection or raise :class:`CollectionNotFoundError` (admin operations)."""
    if not (yield from ensure_op(ctx)):
        raise CollectionNotFoundError(
            f"collection {shown(ctx.spec.name)} does not exist yet; add records first "
            "(its dimension is taken from the first vectors) or pass dim=."
        )


def exists_op(ctx: OpContext) -> Op[bool]:
    """Whether the collection exists (opening it if it does; never creating it).

    Always asks Milvus: another client may have dropped (or created) it meanwhile.
    """
    if not (yield _has(ctx.spec.name)):
        ctx.session.exists = False
        return False
    return (yield from ensure_op(ctx))


def drop_op(ctx: OpContext) -> Op[None]:
    """Drop the collection; the store recreates it on the next write."""
    name = ctx.spec.name
    try:
        if (yield _has(name)):
            yield Call(ClientMethod.DROP_COLLECTION, (name,))
    except CollectionNotFoundError:
        pass  # dropped meanwhile: done
    ctx.session.exists = False
