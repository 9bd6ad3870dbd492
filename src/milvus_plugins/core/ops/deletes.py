"""Delete operations: by ids, by filter or both (combined as trees), and clear."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from milvus_plugins.core.arguments import id_list
from milvus_plugins.core.capabilities import Capabilities
from milvus_plugins.core.config import CollectionSpec
from milvus_plugins.core.errors import (
    AliasedCollectionError,
    ConfigError,
    InvalidInputError,
    SharedIdError,
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
from milvus_plugins.core.filters.addressing import KeyAddressing
from milvus_plugins.core.filters.dialect import Dialect
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
    ID_LIST_LIMIT,
    checked_ids,
    rows_need_checking,
    selected_row_ids,
    selected_rows_op,
    superset_filter,
)
from milvus_plugins.core.ops.context import OpContext
from milvus_plugins.core.ops.lifecycle import (
    capabilities_op,
    drop_op,
    ensure_op,
    filter_checked_op,
    made_here_op,
)
from milvus_plugins.core.requests import QUERY_WINDOW, output_fields
from milvus_plugins.core.types import ConsistencyLevel

__all__ = ["clear_op", "delete_op", "deletion_filter", "reads_partitions_apart"]

_STRONG = ConsistencyLevel.STRONG.value
"""What a delete reads its rows (and counts them) at, whatever the store reads with: a
row the store wrote a moment ago is selected, counted and checked (at ``Bounded`` the
count missed it while the server deleted it)."""


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
    if where is None or not (yield from ensure_op(ctx, create=False)):
        # Nothing to delete (ids=[], or no collection), but a filter this engine cannot
        # run is still refused.
        yield from filter_checked_op(ctx, tree)
        return 0
    if tree is not None:
        caps = yield from capabilities_op(ctx.session)
        if compiles_to_every_row(where, ctx.spec, caps.dialect):
            raise InvalidInputError(
                f"delete filter={shown(filter)} matches every row of collection "
                f"{shown(ctx.spec.name)} (of the call's tenant or partitions, where it has "
                "them): on it the filter is a condition every row meets (e.g. not_ of a "
                "text match of stop words only, or exists() of a column every row holds). "
                "A delete never empties a collection or scope by accident: use clear() "
                "(with the same tenant= / partition_names=) to delete every row. Nothing "
                "was deleted."
            )
    scoped = ctx.scope.where(where)
    # Ids alone delete every row holding them, as asked; a filter or a scope selects rows,
    # and a row it does not select must not go with a selected one of the same id.
    by_ids_alone = tree is None and scoped is None and ctx.scope.partition_names is None
    return (yield from _delete_where(ctx, scoped or where, guard=not by_ids_alone))


def reset_op(ctx: OpContext) -> Op[bool]:
    """Drop the collection where this store created it and it is still that one, else
    delete every row; answer whether it was dropped (see ``StoreOperations.reset``)."""
    if (yield from made_here_op(ctx)):
        try:
            yield from drop_op(ctx)
            return True
        except AliasedCollectionError:
            pass  # an alias points at it now: its readers keep it
    if not (yield Call(ClientMethod.HAS_COLLECTION, (ctx.spec.name,))):
        # Nothing there (never made, or another client dropped it): the next write starts
        # afresh, with the next model's dimension, as after a drop of its own.
        ctx.session.lost(keep_dim=False)
        return False
    yield from clear_op(ctx)
    return False


def compiles_to_every_row(where: Filter, spec: CollectionSpec, dialect: Dialect) -> bool:
    """Whether ``where`` compiles, on ``spec``'s collection, to the expression that holds
    for every row (the tree alone need not show it: a text match of the analyzer's stop
    words only matches nothing, so its negation everything)."""
    expr = compile_filter(where, spec, dialect).strip()
    while expr.startswith("(") and expr.endswith(")") and _wraps(expr):
        expr = expr[1:-1].strip()
    return expr == KeyAddressing(spec, dialect).const(True).strip("()")


def _wraps(expr: str) -> bool:
    """Whether the first ``(`` of ``expr`` closes at its last character (quotes aside:
    a constant holds none)."""
    depth = 0
    for index, char in enumerate(expr):
        depth += char == "("
        depth -= char == ")"
        if depth == 0:
            return index == len(expr) - 1
    return False


def clear_op(ctx: OpContext) -> Op[int]:
    """Delete every row of the scope (its tenant's, its partitions'), keeping the collection."""
    if not (yield from ensure_op(ctx, create=False)):
        return 0
    scoped = ctx.scope.where(and_())
    guard = scoped is not None or ctx.scope.partition_names is not None
    return (yield from _delete_where(ctx, scoped or and_(), guard=guard))


def reads_partitions_apart(caps: Capabilities, spec: CollectionSpec) -> bool:
    """Whether each partition of ``spec``'s collection can be read by name: the engine has
    partitions (not Milvus Lite 2.5.1), and the collection is not a server's partition-key
    one (servers answer "not support manually specifying the partition names")."""
    return caps.partitions and (spec.partition_key is None or caps.is_lite)


def _partitions_apart(ctx: OpContext, caps: Capabilities) -> Op[list[str]]:
    """The collection's partitions where a delete reads them one by one: two or more,
    readable by name (:func:`reads_partitions_apart`); ``[]`` otherwise (one partition:
    a key holds one row there, what a read of the collection shows)."""
    if not reads_partitions_apart(caps, ctx.spec):
        return []
    listed = list((yield Call(ClientMethod.LIST_PARTITIONS, (ctx.spec.name,))) or [])
    return listed if len(listed) > 1 else []


def _refuse_shared_ids(
    ctx: OpContext, caps: Capabilities, where: Filter, partitions: Sequence[str]
) -> Op[None]:
    """Refuse a delete that would take rows it does not select along with the ones it does.

    Milvus deletes by primary key, in every partition (Milvus Lite even when partitions
    are named). Another tool can write one key twice, into two partitions (or as two
    tenants' rows, which a partition key puts in two partitions); a filtered or scoped
    delete that selects one of them would remove both. A read of the whole collection
    shows one row per key, so each partition is read apart: the ids the delete selects
    in it, then the rows holding those ids in every partition the delete reaches. A
    partition holding a selected id that the delete did not select there refuses it.
    ``partitions``: the collection's (:func:`_partitions_apart`).

    Raises:
        SharedIdError: a selected id is also held by a row the delete does not select.
    """
    spec, id_field = ctx.spec, ctx.spec.fields.id
    names = ctx.scope.partition_names
    check = rows_need_checking(where, spec, caps)
    wider = superset_filter(where, spec, caps) if check else where
    base: dict[str, Any] = {"consistency_level": _STRONG}
    read = {
        **base,
        "output_fields": output_fields(spec) if check else [id_field],
        "filter": compile_filter(wider, spec, caps.dialect),
    }
    selected: dict[str, set[str]] = {}
    for partition in names if names is not None else partitions:
        rows = yield from _rows_in(spec.name, {**read, "partition_names": [partition]})
        if check:
            ids = selected_row_ids(rows, where, spec, caps.version)
        else:
            ids = [str(row[id_field]) for row in rows]
        selected[partition] = set(ids)
    unique = sorted(set().union(*selected.values()))
    if not unique:
        return
    # Named partitions: ids other partitions hold are refused apart on engines that
    # delete everywhere (Milvus Lite, `_delete_by_ids_in`); servers delete in them only.
    reach = names if names is not None else partitions
    shared: set[str] = set()
    for start in range(0, len(unique), ID_LIST_LIMIT):
        by_id = compile_filter(id_in(unique[start : start + ID_LIST_LIMIT]), spec, caps.dialect)
        for partition in reach:
            held = yield from _rows_in(
                spec.name,
                {
                    **base,
                    "filter": by_id,
                    "output_fields": [id_field],
                    "partition_names": [partition],
                },
            )
            shared.update(
                str(row[id_field])
                for row in held
                if str(row[id_field]) not in selected.get(partition, ())
            )
    if shared:
        raise SharedIdError(
            f"delete refused: {len(shared)} id(s) it selects, e.g. "
            f"{shown(sorted(shared)[:5])}, are also held by rows of collection "
            f"{shown(spec.name)} in other partitions that it does not select (another tool "
            "wrote the same primary key twice, into two partitions or for two tenants). "
            "Milvus deletes by primary key, so those rows would go too. Nothing was "
            "deleted. Delete by ids= alone to remove every row with those ids, or remove "
            "the duplicates with the tool that wrote them."
        )


def _rows_in(name: str, kwargs: Mapping[str, Any]) -> Op[list[Any]]:
    """The rows a query selects: one request (a partition holds few of a delete's rows),
    the iterator when they fill its window."""
    rows = list((yield Call(ClientMethod.QUERY, (name,), {**kwargs, "limit": QUERY_WINDOW})))
    if len(rows) < QUERY_WINDOW:
        return rows
    return list((yield ReadAll(name, dict(kwargs))))


def _delete_where(ctx: OpContext, where: Filter, *, guard: bool) -> Op[int]:
    caps = yield from capabilities_op(ctx.session)
    apart = yield from _partitions_apart(ctx, caps)  # listed once: checked and counted
    if guard and apart:
        yield from refresh_overflow_op(ctx, where)
        yield from _refuse_shared_ids(ctx, caps, where, apart)
    deleted = yield from _delete_rows(ctx, where, apart)
    spec = ctx.spec
    if deleted and caps.is_lite and ctx.session.partitions != 1:
        # Milvus Lite 3.2.2 brings a deleted row back in its old partition when its id
        # is then written into another partition before the delete was flushed: the
        # delete is flushed at once where a collection has several partitions (about
        # 15 ms). A partition key's partitions showed it too, to reads by partition (a
        # tenant's id freed and reused by a tenant of another partition).
        flush = Call(ClientMethod.FLUSH, (spec.name,), {"timeout": ctx.timeout})
        yield Guarded(Guard.WRITE, one_call(flush))
    return deleted


def _delete_rows(ctx: OpContext, where: Filter, apart: Sequence[str]) -> Op[int]:
    caps = yield from capabilities_op(ctx.session)
    yield from refresh_overflow_op(ctx, where)
    expr = compile_filter(where, ctx.spec, caps.dialect)
    names = ctx.scope.partition_names
    if names is None:
        if rows_need_checking(where, ctx.spec, caps):
            return (yield from _delete_checked(ctx, caps, where, apart))
        call = Call(ClientMethod.DELETE, (ctx.spec.name,), {"filter": expr, "timeout": ctx.timeout})
        present: int = yield Guarded(Guard.WRITE, _counted(ctx, expr, apart, call))
        return present
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
        deleted += yield Guarded(Guard.WRITE, _counted(ctx, expr, [partition], call))
    return deleted


def _counted(ctx: OpContext, expr: str, partitions: Sequence[str], delete: Call) -> Op[int]:
    """Count the rows ``expr`` selects, then send ``delete``: run in one write turn, so
    that two deletes of one Milvus Lite database cannot both count the same rows (on a
    server, deletes by other clients meanwhile can still be counted twice)."""
    present = yield from _count_rows(ctx, expr, partitions)
    yield delete
    return present


def _count_rows(ctx: OpContext, expr: str, partitions: Sequence[str]) -> Op[int]:
    """The rows ``expr`` selects, counted before they are deleted: the engines report the
    keys a delete was sent (Milvus Lite also keys that held no row), not the rows it
    removed. Each of ``partitions`` is counted apart (none: the whole collection, which
    shows one row per key where another tool wrote one key into two partitions)."""
    kwargs: dict[str, Any] = {
        "filter": expr,
        "output_fields": ["count(*)"],
        "consistency_level": _STRONG,
    }
    total = 0
    for scope in [{"partition_names": [p]} for p in partitions] or [{}]:
        rows = yield Call(ClientMethod.QUERY, (ctx.spec.name,), {**kwargs, **scope})
        total += int(rows[0]["count(*)"]) if rows else 0
    return total


def _delete_checked(
    ctx: OpContext, caps: Capabilities, where: Filter, apart: Sequence[str]
) -> Op[int]:
    """Delete the rows ``where`` really selects where the engine's expression is not
    exact (see :mod:`.checked_filters`): the rows of a superset filter are read and
    checked, then deleted by id (:func:`_delete_ids`).

    The read, the check, the counts and the deletes run in one write turn (the only
    engines that need checking are Milvus Lite 3's, whose writes in this process take
    turns): a write between the check and the delete would otherwise lose a row
    rewritten meanwhile to a value the filter does not select but the superset does, or
    one written under a new id.
    """
    deleted: int = yield Guarded(Guard.WRITE, _checked_delete_turn(ctx, caps, where, apart))
    return deleted


def _checked_delete_turn(
    ctx: OpContext, caps: Capabilities, where: Filter, apart: Sequence[str]
) -> Op[int]:
    spec = ctx.spec
    wider = superset_filter(where, spec, caps)
    read = {"output_fields": output_fields(spec), "consistency_level": _STRONG}
    read["filter"] = compile_filter(wider, spec, caps.dialect)
    rows = yield from selected_rows_op(spec.name, read)
    kept, _ = checked_ids(rows, where, spec, caps.version)
    return (yield from _delete_ids(ctx, caps, kept, wider, apart, counted=True))


def _held_here(ctx: OpContext) -> bool:
    """Whether this process holds the database (a Milvus Lite file): within a write turn
    no other writer can then change a row between a read and a delete."""
    return ctx.session.connection.is_lite


def _delete_ids(
    ctx: OpContext,
    caps: Capabilities,
    ids: Sequence[str],
    wider: Filter,
    apart: Sequence[str],
    *,
    counted: bool,
) -> Op[int]:
    """Delete the rows ``ids``, read in this write turn, in parts of ``ID_LIST_LIMIT``.

    Where this process holds the database the ids alone are named: Milvus Lite 3.2.2
    answers ``id in [...]`` at once but ``id in [...] and <a JSON test>`` by testing
    every row against the list (2,000 ids on 20,000 rows: 0.04 s against 17 s, past
    the deadline for larger lists). Elsewhere (a Lite database served over TCP, which
    other processes may write) ``wider`` is kept in each part, so a row another client
    changed meanwhile is not deleted. ``counted``: the rows are counted before each part
    is deleted (the engines report the keys sent); else the delete's own count is used.
    """
    spec = ctx.spec
    alone = _held_here(ctx)
    deleted = 0
    for start in range(0, len(ids), ID_LIST_LIMIT):
        part = id_in(ids[start : start + ID_LIST_LIMIT])
        target = compile_filter(part if alone else and_(part, wider), spec, caps.dialect)
        call = Call(ClientMethod.DELETE, (spec.name,), {"filter": target, "timeout": ctx.timeout})
        if counted:
            deleted += yield from _count_rows(ctx, target, apart)
            yield call
        else:
            deleted += _delete_count((yield call))
    return deleted


def _delete_by_ids_in(
    ctx: OpContext, caps: Capabilities, where: Filter, names: Sequence[str]
) -> Op[int]:
    """Delete in named partitions where ``delete`` ignores them (Milvus Lite 3.2.2).

    The ids matching ``where`` are read in the partitions, then deleted by id; an id
    that is also stored in another partition (a write can put one id in two) would be
    deleted there too, so that case is refused instead. Rows are checked as in
    :func:`_delete_checked` where the engine needs it. Where rows are checked or this
    process holds the database, the read and the deletes run in one write turn.
    """
    if rows_need_checking(where, ctx.spec, caps) or _held_here(ctx):
        deleted: int = yield Guarded(Guard.WRITE, _by_ids_in(ctx, caps, where, names))
        return deleted
    return (yield from _by_ids_in(ctx, caps, where, names))


def _by_ids_in(ctx: OpContext, caps: Capabilities, where: Filter, names: Sequence[str]) -> Op[int]:
    """The steps of :func:`_delete_by_ids_in`."""
    spec, id_field = ctx.spec, ctx.spec.fields.id
    base = {"output_fields": [id_field], "consistency_level": _STRONG}
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
    deleted: int = yield Guarded(
        Guard.WRITE, _delete_ids(ctx, caps, ids, wider, names, counted=False)
    )
    return deleted


def _read_all(name: str, kwargs: Mapping[str, Any]) -> Op[list[Any]]:
    return list((yield ReadAll(name, kwargs)))


def _delete_count(result: Any) -> int:
    if isinstance(result, Mapping):
        return int(result.get("delete_count", 0))
    if isinstance(result, (list, tuple)):
        return len(result)
    return int(result.delete_count or 0) if hasattr(result, "delete_count") else 0
