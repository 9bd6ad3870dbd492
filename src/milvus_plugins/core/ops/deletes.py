"""Delete operations: by ids, by filter or both (combined as trees), and clear."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from milvus_plugins.core.arguments import id_list
from milvus_plugins.core.capabilities import Capabilities
from milvus_plugins.core.errors import (
    ConfigError,
    InvalidInputError,
    UnsupportedByServerError,
    shown,
)
from milvus_plugins.core.filters import (
    Filter,
    and_,
    as_filter_tree,
    compile_filter,
    id_in,
    is_match_all,
    is_match_none,
)
from milvus_plugins.core.ops.acceleration import refresh_overflow_op
from milvus_plugins.core.ops.calls import (
    Call,
    ClientMethod,
    Guard,
    Guarded,
    Op,
    ReadAll,
    one_call,
)
from milvus_plugins.core.ops.checked_filters import (
    checked_ids,
    restricted_filters,
    rows_need_checking,
    selected_rows_op,
    superset_filter,
)
from milvus_plugins.core.ops.context import OpContext
from milvus_plugins.core.ops.lifecycle import capabilities_op, ensure_op
from milvus_plugins.core.requests import output_fields

__all__ = ["clear_op", "delete_op", "deletion_filter"]


def deletion_filter(ids: Sequence[str] | None, filter: Filter | str | None) -> Filter | None:
    """The one filter tree a delete runs: ``ids`` AND ``filter`` (no I/O).

    The parts are combined as trees, never as text, so a raw expression such as
    ``"a or b"`` cannot widen the id restriction.

    Returns:
        The filter, or ``None`` when it can match no row (``ids=[]``, ``or_()`` ...).

    Raises:
        ConfigError: neither ``ids`` nor ``filter`` given.
        InvalidInputError: ``ids`` is a single string or holds a non-string or ``""``;
            or the filter matches every row by its structure (an empty ``and_()`` or
            nesting of them, ``not_(or_())``, a blank expression string): only
            ``clear()`` deletes every row.
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


def delete_op(ctx: OpContext, ids: Sequence[str] | None, filter: Filter | str | None) -> Op[int]:
    """Delete the rows matching :func:`deletion_filter` of ``ids`` and ``filter``, in scope."""
    where = deletion_filter(ids, filter)
    tree = as_filter_tree(filter)
    if tree is not None:
        ctx.scope.where(tree)  # a raw string the tenancy refuses is refused before any I/O
    if where is None and filter is not None:
        # ids=[] deletes nothing, but a filter this engine cannot run is still refused.
        caps = yield from capabilities_op(ctx.session)
        compile_filter(tree, ctx.spec, caps.dialect)
    if where is None or not (yield from ensure_op(ctx)):
        return 0
    return (yield from _delete_where(ctx, ctx.scope.where(where) or where))


def clear_op(ctx: OpContext) -> Op[int]:
    """Delete every row of the scope (its tenant's, its partitions'), keeping the collection."""
    if not (yield from ensure_op(ctx)):
        return 0
    return (yield from _delete_where(ctx, ctx.scope.where(and_()) or and_()))


def _delete_where(ctx: OpContext, where: Filter) -> Op[int]:
    deleted = yield from _delete_rows(ctx, where)
    caps = yield from capabilities_op(ctx.session)
    spec = ctx.spec
    if deleted and caps.is_lite and spec.partition_key is None and ctx.session.partitions != 1:
        # Milvus Lite 3.2.2 brings a deleted row back in its old partition when its id
        # is then written into another named partition before the delete was flushed:
        # the delete is flushed at once where a collection has named partitions (about
        # 15 ms). A partition key's partitions did not show it (80 tries).
        flush = Call(ClientMethod.FLUSH, (spec.name,), {"timeout": ctx.timeout})
        yield Guarded(Guard.WRITE, one_call(flush))
    return deleted


def _delete_rows(ctx: OpContext, where: Filter) -> Op[int]:
    caps = yield from capabilities_op(ctx.session)
    yield from refresh_overflow_op(ctx, where)
    expr = compile_filter(where, ctx.spec, caps.dialect)
    names = ctx.scope.partition_names
    if names is None:
        if rows_need_checking(where, ctx.spec, caps):
            return (yield from _delete_checked(ctx, caps, where))
        call = Call(ClientMethod.DELETE, (ctx.spec.name,), {"filter": expr, "timeout": ctx.timeout})
        return _delete_count((yield Guarded(Guard.WRITE, one_call(call))))
    caps.require("partitions", caps.partitions)
    if not caps.partition_delete:
        return (yield from _delete_by_ids_in(ctx, caps, where, names))
    deleted = 0
    for partition in names:  # Milvus deletes in one named partition per call
        call = Call(
            ClientMethod.DELETE,
            (ctx.spec.name,),
            {"filter": expr, "partition_name": partition, "timeout": ctx.timeout},
        )
        deleted += _delete_count((yield Guarded(Guard.WRITE, one_call(call))))
    return deleted


def _delete_checked(ctx: OpContext, caps: Capabilities, where: Filter) -> Op[int]:
    """Delete the rows ``where`` really selects where the engine's expression is not
    exact (see :mod:`.checked_filters`): the rows of a superset filter are read and
    checked, then deleted by id, the superset kept in the delete (a row changed
    meanwhile is not deleted)."""
    spec = ctx.spec
    wider = superset_filter(where, spec, caps)
    read = {"output_fields": output_fields(spec), "consistency_level": spec.consistency.value}
    read["filter"] = compile_filter(wider, spec, caps.dialect)
    rows = yield from selected_rows_op(spec.name, read)
    kept, selected = checked_ids(rows, where, spec, caps.version)
    deleted = 0
    for part in restricted_filters(kept, selected, wider):
        target = compile_filter(part, spec, caps.dialect)
        call = Call(ClientMethod.DELETE, (spec.name,), {"filter": target, "timeout": ctx.timeout})
        deleted += _delete_count((yield Guarded(Guard.WRITE, one_call(call))))
    return deleted


def _delete_by_ids_in(
    ctx: OpContext, caps: Capabilities, where: Filter, names: Sequence[str]
) -> Op[int]:
    """Delete in named partitions where ``delete`` ignores them (Milvus Lite 3.2.2).

    The ids matching ``where`` are read in the partitions, then deleted by id; an id
    that is also stored in another partition (a write can put one id in two) would be
    deleted there too, so that case is refused instead. Rows are checked as in
    :func:`_delete_checked` where the engine needs it.
    """
    spec, id_field = ctx.spec, ctx.spec.fields.id
    base = {"output_fields": [id_field], "consistency_level": spec.consistency.value}
    check = rows_need_checking(where, spec, caps)
    wider = superset_filter(where, spec, caps) if check else where
    expr = compile_filter(wider, spec, caps.dialect)
    read = {**base, "output_fields": output_fields(spec)} if check else base
    scoped = {**read, "filter": expr, "partition_names": list(names)}
    rows = yield from (
        selected_rows_op(spec.name, scoped) if check else _read_all(spec.name, scoped)
    )
    if check:
        ids, _ = checked_ids(rows, where, spec, caps.version)
    else:
        ids = sorted({str(r[id_field]) for r in rows})
    if not ids:
        return 0
    everywhere = yield Call(ClientMethod.LIST_PARTITIONS, (spec.name,))
    others = [p for p in everywhere if p not in names]
    if others:
        by_id = compile_filter(id_in(ids), spec, caps.dialect)
        clash = yield ReadAll(spec.name, {**base, "filter": by_id, "partition_names": others})
        if clash:
            raise UnsupportedByServerError(
                "deleting in named partitions ids that other partitions also hold",
                "2.3.0",
                caps.version,
                needs="a Milvus server (Milvus Lite deletes an id in every partition)",
            )
    target = compile_filter(and_(id_in(ids), wider), spec, caps.dialect)
    call = Call(ClientMethod.DELETE, (spec.name,), {"filter": target, "timeout": ctx.timeout})
    return _delete_count((yield Guarded(Guard.WRITE, one_call(call))))


def _read_all(name: str, kwargs: Mapping[str, Any]) -> Op[list[Any]]:
    return list((yield ReadAll(name, kwargs)))


def _delete_count(result: Any) -> int:
    if isinstance(result, Mapping):
        return int(result.get("delete_count", 0))
    if isinstance(result, (list, tuple)):
        return len(result)
    return int(result.delete_count or 0) if hasattr(result, "delete_count") else 0
