"""Filters an engine cannot answer exactly by itself: the rows it selects are checked.

Milvus Lite 3 compares JSON ``true`` equal to ``1`` (``Dialect.json_bools_are_numbers``),
so an expression comparing a JSON path with a bool or a number also selects rows holding
the other kind (and, under a negation, misses some of its own). Deletes, queries, counts
and searches then read the rows of a superset filter (:func:`superset_filter`) and keep
those the reference evaluator (:func:`milvus_plugins.core.matches`) accepts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from milvus_plugins.core.capabilities import Capabilities
from milvus_plugins.core.config import CollectionSpec
from milvus_plugins.core.errors import FilterError
from milvus_plugins.core.filters import (
    And,
    Compare,
    Filter,
    Not,
    Or,
    Raw,
    and_,
    compile_filter,
    id_in,
    leaves,
    matches,
)
from milvus_plugins.core.filters.compiler import compares_json_with_bool_or_number
from milvus_plugins.core.ops.calls import Call, ClientMethod, Op, ReadAll
from milvus_plugins.core.ops.context import OpContext
from milvus_plugins.core.records import Record
from milvus_plugins.core.requests import QUERY_WINDOW, output_fields
from milvus_plugins.core.rows import record_from_row

__all__ = [
    "ID_LIST_LIMIT",
    "checked_ids",
    "checked_where_op",
    "matching_records",
    "restricted_filters",
    "rows_need_checking",
    "selected_row_ids",
    "selected_rows_op",
    "superset_filter",
]


def rows_need_checking(where: Filter, spec: CollectionSpec, caps: Capabilities) -> bool:
    """Whether a read or delete must check the rows its expression selects.

    On an engine whose JSON paths compare ``true`` equal to ``1``
    (``Dialect.json_bools_are_numbers``), a leaf comparing a metadata key's JSON path
    with a bool or a number selects rows holding the other kind too. Such a filter is
    checked row by row with the reference evaluator.

    Raises:
        FilterError: the filter also holds a raw expression, which cannot be evaluated
            here (so the rows could not be checked).
    """
    if not caps.dialect.json_bools_are_numbers:
        return False
    if not compares_json_with_bool_or_number(where, spec, caps.dialect):
        return False
    if any(isinstance(leaf, Raw) for leaf in leaves(where)):
        raise FilterError(
            f"{caps.version} compares JSON true equal to 1, so a filter comparing a "
            "metadata key's JSON value with a bool or a number is checked row by row here; "
            "this one also holds a raw expression, which cannot be checked. Write the whole "
            "filter as a filter tree (or as one raw string, which is yours to get right), "
            "or declare the key in metadata_fields (a typed column compares exactly)."
        )
    return True


def superset_filter(where: Filter, spec: CollectionSpec, caps: Capabilities) -> Filter:
    """A filter the engine answers with every row ``where`` selects (and maybe more).

    A leaf comparing a JSON path with a bool or a number selects too many rows on such
    an engine (its own kind's rows and some of the other kind's), so it may stay where
    it counts positively; under a negation it would select too few (``not contains(k,
    true)`` loses ``[1]``), so there it is replaced by "false", whose negation holds for
    every row. A ``!=`` leaf is the other way round (it is written as a negated ``==``):
    it is replaced by "true" where it counts positively. Filters are monotone in their
    leaves (also in three-valued logic), so the result is a superset; the rows it
    selects are then checked one by one.
    """
    dialect = caps.dialect

    def relax(node: Filter, negated: bool) -> Filter:
        if isinstance(node, And):
            return And(tuple(relax(child, negated) for child in node.children))
        if isinstance(node, Or):
            return Or(tuple(relax(child, negated) for child in node.children))
        if isinstance(node, Not):
            return Not(relax(node.child, not negated))
        if compares_json_with_bool_or_number(node, spec, dialect):
            # `!=` is written as a negated `==` (see the compiler): it selects too few
            # where it counts positively, too many under a negation.
            differs = isinstance(node, Compare) and node.op == "!="
            if negated and not differs:
                return Or(())  # false: its negation holds for every row
            if differs and not negated:
                return And(())  # true
        return node

    return relax(where, False)


def checked_ids(
    rows: Sequence[Mapping[str, Any]], where: Filter, spec: CollectionSpec, version: str
) -> tuple[list[str], list[str]]:
    """The ids of ``rows`` that ``where`` selects by the reference evaluator, and the ids
    of all of ``rows``.

    Raises:
        FilterError: the evaluator cannot evaluate ``where`` (a text match on an
            analyzer it cannot reproduce).
    """
    kept: list[str] = []
    every: list[str] = []
    for row in rows:
        record = record_from_row(row, spec)
        every.append(record.id)
        if _holds(where, record, spec, version):
            kept.append(record.id)
    return sorted(set(kept)), sorted(set(every))


def selected_row_ids(
    rows: Sequence[Mapping[str, Any]], where: Filter, spec: CollectionSpec, version: str
) -> list[str]:
    """The id of each of ``rows`` that ``where`` selects by the reference evaluator (an
    id twice where two selected rows hold it).

    Raises:
        FilterError: as :func:`checked_ids`.
    """
    ids = []
    for row in rows:
        record = record_from_row(row, spec)
        if _holds(where, record, spec, version):
            ids.append(record.id)
    return ids


ID_LIST_LIMIT = 2000
"""Ids one checked filter names at most: Milvus Lite 3.2.2 answered a search filtered on
4,000 ids in 0.3 s and exceeded a 30 s deadline on 8,500."""


def restricted_filters(kept: list[str], selected: list[str], wider: Filter) -> list[Filter]:
    """Filters that together select exactly the rows ``kept`` of the rows ``wider``
    selected (``selected``): the kept ids, or the wider filter without the dropped ids,
    whichever list is shorter; the kept ids in several parts when both are long."""
    if len(kept) <= ID_LIST_LIMIT:
        return [and_(id_in(kept), wider)] if kept else []
    dropped = sorted(set(selected) - set(kept))
    if len(dropped) <= ID_LIST_LIMIT:
        return [and_(wider, Not(id_in(dropped)))] if dropped else [wider]
    return [
        and_(id_in(kept[i : i + ID_LIST_LIMIT]), wider) for i in range(0, len(kept), ID_LIST_LIMIT)
    ]


def matching_records(
    records: Sequence[Record], where: Filter, spec: CollectionSpec, version: str
) -> list[Record]:
    """The records ``where`` selects by the reference evaluator, in order.

    Raises:
        FilterError: as :func:`checked_ids`.
    """
    return [r for r in records if _holds(where, r, spec, version)]


def _holds(where: Filter, record: Record, spec: CollectionSpec, version: str) -> bool:
    fields = {"id": record.id, "doc_id": record.doc_id or "", "text": record.text}
    try:
        return matches(
            where, record.metadata, text=record.text, analyzer=spec.analyzer_params, fields=fields
        )
    except FilterError as exc:
        raise FilterError(
            f"{version} compares JSON true equal to 1, so a filter comparing a metadata "
            "key's JSON value with a bool or a number is checked row by row here, and this "
            f"one cannot be checked ({exc}). Filter on the text and on the key in two "
            "steps, or declare the key in metadata_fields (a typed column compares exactly)."
        ) from exc


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
    limited to the rows it really selects, read and checked first.

    Raises:
        FilterError: the rows cannot be checked, or more than :data:`ID_LIST_LIMIT` of
            the rows read were both kept and dropped (one search cannot name them).
    """
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
    rows = yield from selected_rows_op(spec.name, read)
    kept, selected = checked_ids(rows, where, spec, caps.version)
    parts = restricted_filters(kept, selected, wider)
    if not parts:
        return Or(())  # no row
    if len(parts) > 1:
        raise FilterError(
            f"{caps.version} compares JSON true equal to 1, so this filter's rows were "
            f"checked one by one: {len(kept)} of the {len(selected)} rows its expression "
            "selects match it, too many to name in one search. Declare the compared key in "
            "metadata_fields (a typed column compares exactly), or keep bools and numbers "
            "under different keys."
        )
    return parts[0]
