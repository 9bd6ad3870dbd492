"""Filters an engine cannot answer exactly by itself: the rows it selects are checked.

Milvus Lite 3 compares JSON ``true`` equal to ``1`` (``Dialect.json_bools_are_numbers``),
so an expression comparing a JSON path with a bool or a number selects rows holding the
other kind too (a superset of the filter's rows: every compiled comparison holds for the
values of its own kind). Deletes, queries, counts and searches then read the rows the
expression selects and keep those the reference evaluator
(:func:`milvus_plugins.core.matches`) accepts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from milvus_plugins.core.capabilities import Capabilities
from milvus_plugins.core.config import CollectionSpec
from milvus_plugins.core.errors import FilterError
from milvus_plugins.core.filters import (
    And,
    Filter,
    Not,
    Or,
    Raw,
    and_,
    compile_filter,
    id_in,
    matches,
)
from milvus_plugins.core.filters.compiler import compares_json_with_bool_or_number
from milvus_plugins.core.ops.calls import Call, ClientMethod, Op, ReadAll
from milvus_plugins.core.ops.context import OpContext
from milvus_plugins.core.records import Record
from milvus_plugins.core.requests import QUERY_WINDOW, output_fields
from milvus_plugins.core.rows import record_from_row

__all__ = [
    "checked_where_op",
    "matching_ids",
    "matching_records",
    "rows_need_checking",
    "selected_rows_op",
    "superset_filter",
]


def rows_need_checking(where: Filter, spec: CollectionSpec, caps: Capabilities) -> bool:
    """Whether a read or delete must check the rows its expression selects.

    On an engine whose JSON paths compare ``true`` equal to ``1``
    (``Dialect.json_bools_are_numbers``), a leaf comparing a metadata key's JSON path
    with a bool or a number selects rows holding the other kind too. Such a filter is
    checked row by row with the reference evaluator, unless it holds a raw
    expression, which cannot be evaluated (raw strings are the caller's to get right).
    """
    return (
        caps.dialect.json_bools_are_numbers
        and not _has_raw(where)
        and compares_json_with_bool_or_number(where, spec, caps.dialect)
    )


def superset_filter(where: Filter, spec: CollectionSpec, caps: Capabilities) -> Filter:
    """A filter the engine answers with every row ``where`` selects (and maybe more).

    A leaf comparing a JSON path with a bool or a number selects too many rows on such
    an engine (its own kind's rows and some of the other kind's), so it may stay where
    it counts positively; under a negation it would select too few (``not contains(k,
    true)`` loses ``[1]``), so there it is replaced by "false", whose negation holds for
    every row. Filters are monotone in their leaves (also in three-valued logic), so
    the result is a superset; the rows it selects are then checked one by one.
    """
    dialect = caps.dialect

    def relax(node: Filter, negated: bool) -> Filter:
        if isinstance(node, And):
            return And(tuple(relax(child, negated) for child in node.children))
        if isinstance(node, Or):
            return Or(tuple(relax(child, negated) for child in node.children))
        if isinstance(node, Not):
            return Not(relax(node.child, not negated))
        if negated and compares_json_with_bool_or_number(node, spec, dialect):
            return Or(())  # false: its negation holds for every row
        return node

    return relax(where, False)


def _has_raw(node: Filter) -> bool:
    if isinstance(node, Raw):
        return True
    if isinstance(node, (And, Or)):
        return any(_has_raw(child) for child in node.children)
    return isinstance(node, Not) and _has_raw(node.child)


def matching_ids(
    rows: Sequence[Mapping[str, Any]], where: Filter, spec: CollectionSpec
) -> list[str] | None:
    """The ids of ``rows`` that ``where`` selects by the reference evaluator (``None``:
    it cannot evaluate ``where``, e.g. a text match with a custom analyzer)."""
    ids: list[str] = []
    try:
        for row in rows:
            record = record_from_row(row, spec)
            if _holds(where, record, spec):
                ids.append(record.id)
    except FilterError:
        return None
    return sorted(set(ids))


def matching_records(
    records: Sequence[Record], where: Filter, spec: CollectionSpec
) -> list[Record]:
    """The records ``where`` selects by the reference evaluator, in order (all of them
    when it cannot evaluate ``where``)."""
    try:
        return [r for r in records if _holds(where, r, spec)]
    except FilterError:
        return list(records)


def _holds(where: Filter, record: Record, spec: CollectionSpec) -> bool:
    fields = {"id": record.id, "doc_id": record.doc_id or "", "text": record.text}
    return matches(
        where, record.metadata, text=record.text, analyzer=spec.analyzer_params, fields=fields
    )


def selected_rows_op(name: str, kwargs: Mapping[str, Any]) -> Op[list[Any]]:
    """Every row a ``query`` with ``kwargs`` (a filter, output fields, a scope) selects:
    one request when they fit in one (``query_iterator`` logs a warning on Milvus Lite),
    the iterator beyond."""
    count = {k: v for k, v in kwargs.items() if k not in ("output_fields", "limit", "offset")}
    rows = yield Call(ClientMethod.QUERY, (name,), {**count, "output_fields": ["count(*)"]})
    total = int(rows[0]["count(*)"]) if rows else 0
    if total <= QUERY_WINDOW:
        window = {k: v for k, v in kwargs.items() if k != "offset"}
        return list((yield Call(ClientMethod.QUERY, (name,), {**window, "limit": QUERY_WINDOW})))
    return list(
        (yield ReadAll(name, {k: v for k, v in kwargs.items() if k not in ("limit", "offset")}))
    )


def checked_where_op(ctx: OpContext, caps: Capabilities, where: Filter | None) -> Op[Filter | None]:
    """``where`` as a search runs it: unchanged, or (see :func:`rows_need_checking`)
    limited to the ids of the rows it really selects, read and checked first."""
    if where is None or not rows_need_checking(where, ctx.spec, caps):
        return where
    spec = ctx.spec
    wider = superset_filter(where, spec, caps)
    read = {
        "output_fields": output_fields(spec),
        "consistency_level": spec.consistency.value,
        "filter": compile_filter(wider, spec, caps.dialect),
        **ctx.read_kwargs(caps),
    }
    ids = matching_ids((yield from selected_rows_op(spec.name, read)), where, spec)
    return where if ids is None else and_(id_in(ids), wider)
