"""Collection aliases: resolve, point (create or switch atomically), drop (pure).

Readers that open a store by an alias name follow the alias at every call, so switching
it (``alter_alias``) moves them to another collection in one step. Milvus Lite 3.2.2 and
the Milvus 2.3.5 server implement aliases; Milvus Lite 2.5.1 answers ``UNIMPLEMENTED``
(probed 2026-12), which becomes :class:`UnsupportedByServerError`.
"""

from __future__ import annotations

from milvus_plugins.core.errors import (
    CollectionNotFoundError,
    ConfigError,
    MilvusPluginsError,
    UnsupportedByServerError,
    shown,
)
from milvus_plugins.core.names import check_name
from milvus_plugins.core.ops.calls import Call, ClientMethod, Op
from milvus_plugins.core.ops.lifecycle import capabilities_op
from milvus_plugins.core.probing import reports_unimplemented
from milvus_plugins.core.session import Session, note_replaced

__all__ = ["ALIAS_FEATURE", "drop_alias_op", "point_alias_op", "resolve_alias_op"]

ALIAS_FEATURE = "collection aliases (create_alias/alter_alias/describe_alias)"


def _unsupported(session: Session) -> UnsupportedByServerError:
    version = session.capabilities.version if session.capabilities else "unknown version"
    return UnsupportedByServerError(
        ALIAS_FEATURE,
        "2.3",
        version,
        needs="a Milvus server >= 2.3 or Milvus Lite >= 3.2 (Milvus Lite 2.5 has no aliases)",
    )


def _alias_call(session: Session, call: Call) -> Op[object]:
    try:
        answer = yield call
    except MilvusPluginsError as exc:
        if reports_unimplemented(exc):
            raise _unsupported(session) from exc
        raise
    alias = call.args[-1] if call.method is not ClientMethod.DROP_ALIAS else call.args[0]
    note_replaced(session.connection, str(alias))  # its readers re-check at their next read
    return answer


def resolve_alias_op(session: Session, alias: str) -> Op[str | None]:
    """The collection ``alias`` points to, or ``None`` when there is no such alias.

    Asked through ``describe_collection``, which answers an alias with its collection's
    name (``describe_alias`` of a missing alias fails, and pymilvus logs each failure
    with a traceback).

    Raises:
        UnsupportedByServerError: the engine has no aliases.
    """
    check_name("alias", alias)
    caps = yield from capabilities_op(session)
    if not caps.aliases:
        raise _unsupported(session)
    if not (yield Call(ClientMethod.HAS_COLLECTION, (alias,))):
        return None
    description = yield Call(ClientMethod.DESCRIBE_COLLECTION, (alias,))
    name = str(description.get("collection_name") or alias)
    return None if name == alias else name


def point_alias_op(session: Session, alias: str, collection: str) -> Op[str | None]:
    """Point ``alias`` at ``collection`` (create it, or switch it atomically).

    Answers the collection the alias pointed to before (``None``: it was created).

    Raises:
        ConfigError: a bad name, or ``alias`` names a collection.
        CollectionNotFoundError: ``collection`` does not exist.
        UnsupportedByServerError: the engine has no aliases.
    """
    check_name("alias", alias)
    check_name("collection_name", collection)
    previous = yield from resolve_alias_op(session, alias)
    if not (yield Call(ClientMethod.HAS_COLLECTION, (collection,))):
        raise CollectionNotFoundError(f"collection {shown(collection)} does not exist.")
    behind = yield from resolve_alias_op(session, collection)
    if behind is not None:
        raise ConfigError(
            f"{shown(collection)} is an alias (of {shown(behind)}), and an alias cannot "
            f"point at an alias: Milvus would point {shown(alias)} at {shown(behind)} "
            f"itself, which a later switch of {shown(collection)} would not move. Name the "
            f"collection ({shown(behind)}) instead. Nothing was changed."
        )
    if previous is None:
        if (yield Call(ClientMethod.HAS_COLLECTION, (alias,))):
            raise ConfigError(
                f"{shown(alias)} is a collection, not an alias: an alias cannot share a "
                "collection's name. Readers must open the collection through an alias for a "
                f"switch without downtime: create one under another name (e.g. "
                f"{shown(alias + '_live')}) pointing at {shown(alias)}, and open that."
            )
        yield from _alias_call(
            session, Call(ClientMethod.CREATE_ALIAS, (collection, alias), retry=False)
        )
        return None
    if previous != collection:
        yield from _alias_call(session, Call(ClientMethod.ALTER_ALIAS, (collection, alias)))
    return previous


def drop_alias_op(session: Session, alias: str) -> Op[None]:
    """Drop ``alias`` (its collection stays)."""
    check_name("alias", alias)
    yield from capabilities_op(session)
    yield from _alias_call(session, Call(ClientMethod.DROP_ALIAS, (alias,)))
