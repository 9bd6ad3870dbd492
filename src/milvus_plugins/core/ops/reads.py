"""Read operations: get by ids, query by filter (paging past 16,384 rows), count (pure).

Each is confined to the call's scope (``ctx.scope``: its tenant's rows, its partitions).
"""

from __future__ import annotations

from collections.abc import Sequence

from milvus_plugins.core.arguments import id_list
from milvus_plugins.core.filters import Filter, id_in
from milvus_plugins.core.ops.acceleration import refresh_overflow_op
from milvus_plugins.core.ops.calls import Call, Op, ReadAll, with_kwargs
from milvus_plugins.core.ops.checked_filters import (
    matching_records,
    rows_need_checking,
    selected_rows_op,
    superset_filter,
)
from milvus_plugins.core.ops.context import OpContext
from milvus_plugins.core.ops.lifecycle import capabilities_op, ensure_op, readable_op
from milvus_plugins.core.records import Record
from milvus_plugins.core.requests import (
    QUERY_WINDOW,
    build_count,
    build_query,
    check_offset,
    output_fields,
)
from milvus_plugins.core.results import order_like, parse_rows

__all__ = ["collection_rows", "count_op", "get_op", "query_op", "scoped_count"]


def get_op(ctx: OpContext, ids: Sequence[str], include_vectors: bool) -> Op[list[Record]]:
    """The records with these ids, in the order given (missing ids skipped)."""
    wanted = id_list(ids)
    if not wanted or not (yield from ensure_op(ctx, read=True)):
        return []
    caps = yield from capabilities_op(ctx.session)
    fields = output_fields(ctx.spec, include_vectors=include_vectors)
    where = ctx.scope.where(id_in(wanted))
    call = build_query(ctx.spec, caps, where, output=fields, timeout=ctx.timeout)
    call = with_kwargs(call, ctx.read_kwargs(caps))
    return order_like(parse_rows((yield call), ctx.spec), wanted)


def query_op(
    ctx: OpContext, where: Filter | None, limit: int | None, offset: int, include_vectors: bool
) -> Op[list[Record]]:
    """Records matching ``where`` (all when ``None``); without ``limit``, every one."""
    check_offset(offset, limit)
    where = ctx.scope.where(where)
    if not (yield from readable_op(ctx, where)):
        return []
    caps = yield from capabilities_op(ctx.session)
    yield from refresh_overflow_op(ctx, where)
    fields = output_fields(ctx.spec, include_vectors=include_vectors)
    call = build_query(
        ctx.spec, caps, where, output=fields, limit=limit, offset=offset, timeout=ctx.timeout
    )
    call = with_kwargs(call, ctx.read_kwargs(caps))
    if where is not None and rows_need_checking(where, ctx.spec, caps):
        # Every row a superset filter selects, checked, then the page (checked_filters).
        wider = build_query(
            ctx.spec,
            caps,
            superset_filter(where, ctx.spec, caps),
            output=fields,
            timeout=ctx.timeout,
        )
        selected = yield from selected_rows_op(ctx.spec.name, {**call.kwargs, **wider.kwargs})
        records = parse_rows(selected, ctx.spec)
        kept = matching_records(records, where, ctx.spec, caps.version)
        return kept[offset:] if limit is None else kept[offset : offset + limit]
    if limit is not None:
        return parse_rows((yield call), ctx.spec)
    # Milvus caps offset + limit at 16,384: one request below that, an iterator above.
    total = yield from scoped_count(ctx, where)
    if offset >= total:
        return []
    if total <= QUERY_WINDOW:
        window = {**call.kwargs, "limit": QUERY_WINDOW - offset, "offset": offset}
        return parse_rows((yield Call(call.method, call.args, window)), ctx.spec)
    rows = yield ReadAll(ctx.spec.name, call.kwargs)
    return parse_rows(rows[offset:], ctx.spec)


def count_op(ctx: OpContext, where: Filter | None) -> Op[int]:
    """Number of rows matching ``where`` (all rows of the scope when ``None``)."""
    return (yield from scoped_count(ctx, ctx.scope.where(where)))


def scoped_count(ctx: OpContext, where: Filter | None) -> Op[int]:
    """Number of rows matching ``where``, already scoped to the tenant, in the partitions."""
    if not (yield from readable_op(ctx, where)):
        return 0
    caps = yield from capabilities_op(ctx.session)
    yield from refresh_overflow_op(ctx, where)
    scope = ctx.read_kwargs(caps)
    if where is not None and rows_need_checking(where, ctx.spec, caps):
        fields = output_fields(ctx.spec)
        wider = superset_filter(where, ctx.spec, caps)
        rows = build_query(ctx.spec, caps, wider, output=fields, timeout=ctx.timeout)
        selected = yield from selected_rows_op(ctx.spec.name, {**rows.kwargs, **scope})
        records = parse_rows(selected, ctx.spec)
        return len(matching_records(records, where, ctx.spec, caps.version))
    if scope and not caps.partition_count:
        # Milvus Lite 3.2.2 counts every partition: count the ids read in the named ones.
        ids = build_query(ctx.spec, caps, where, output=[ctx.spec.fields.id], timeout=ctx.timeout)
        return len((yield ReadAll(ctx.spec.name, {**ids.kwargs, **scope})))
    call = build_count(ctx.spec, caps, where, timeout=ctx.timeout)
    rows = yield with_kwargs(call, scope)
    return int(rows[0]["count(*)"]) if rows else 0


def collection_rows(ctx: OpContext) -> Op[int]:
    """Every row of the collection, whatever the call's scope (keyword-relevance scale)."""
    if not (yield from ensure_op(ctx, read=True)):
        return 0
    caps = yield from capabilities_op(ctx.session)
    rows = yield build_count(ctx.spec, caps, None, timeout=ctx.timeout)
    return int(rows[0]["count(*)"]) if rows else 0
