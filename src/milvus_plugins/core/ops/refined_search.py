"""Searches refined after ranking (pure): reranked by a
:class:`~milvus_plugins.core.decay.Decay`, grouped by a field
(:class:`~milvus_plugins.core.grouping.Grouping`), or cut at a score threshold (Milvus'
range search). Each runs on the server where the engine and the field
allow it, else here on over-fetched candidates, with the same meaning.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pymilvus import Function, FunctionType

from milvus_plugins.core.decay import Decay, apply_decay, decay_column
from milvus_plugins.core.errors import (
    InvalidInputError,
    UnsupportedByServerError,
    shown,
)
from milvus_plugins.core.grouping import (
    Grouping,
    Place,
    group_hits,
    group_key,
    groups_complete,
)
from milvus_plugins.core.ops.calls import Op
from milvus_plugins.core.ops.context import OpContext
from milvus_plugins.core.ops.lifecycle import capabilities_op, readable_op
from milvus_plugins.core.ops.reads import count_op
from milvus_plugins.core.ops.search_request import SearchKind, SearchRequest
from milvus_plugins.core.ops.vector_search import (
    dense_search_op,
    filtered_op,
    hybrid_search_op,
    sparse_search_op,
)
from milvus_plugins.core.range_search import RANGE_KNOBS, threshold_radius
from milvus_plugins.core.requests import (
    QUERY_WINDOW,
    check_k,
)
from milvus_plugins.core.results import Hit
from milvus_plugins.core.schema import field_index
from milvus_plugins.core.types import MetricType

__all__ = ["decay_search_op", "grouped_search_op", "range_search_op"]


def range_search_op(ctx: OpContext, r: SearchRequest, threshold: float) -> Op[list[Hit]]:
    """A dense search for the hits with relevance >= ``threshold``: Milvus' range search."""
    if not (yield from readable_op(ctx, ctx.scope.where(r.where))):
        return []
    caps = yield from capabilities_op(ctx.session)
    knobs = dict(r.search_params or {})
    radius = threshold_radius(
        field_index(ctx.spec.dense_field(r.field), caps).metric_type, threshold
    )
    if radius is not None and not any(key in knobs for key in RANGE_KNOBS):
        knobs["radius"] = radius
    hits = yield from dense_search_op(
        ctx, [r.dense], r.k, r.where, knobs, r.include_vectors, r.field
    )
    return hits[0]


def _server_decay(ctx: OpContext, r: SearchRequest, decay: Decay) -> Op[Any | None]:
    """Milvus' decay ``Function`` for ``r``, or ``None`` to rerank here."""
    caps = yield from capabilities_op(ctx.session)
    column = decay_column(ctx.spec, decay)
    metric = field_index(ctx.spec.dense_field(r.field), caps).metric_type
    reasons = []
    if r.kind is not SearchKind.DENSE:
        reasons.append("only a dense search is reranked by the server")
    if column is None:
        reasons.append(f"{shown(decay.field)} is not an INT64 or DOUBLE column")
    if metric is MetricType.IP:
        # An inner product of vectors longer than 1 exceeds 1, where relevance stops:
        # Milvus would rank 3.0 x 0.5 above 1.0 x 0.9, the relevance 1.0 x 0.5 below it.
        reasons.append("Milvus multiplies the raw inner product, which is not capped at 1")
    elif metric is not MetricType.COSINE:
        reasons.append(f"Milvus multiplies the raw {metric.value} distance, not a relevance")
    if decay.window is not None:
        reasons.append("the server reranks its own window (10 x limit)")
    if not caps.decay_ranker:
        reasons.append("this engine has no decay reranker")
    if decay.place is Place.CLIENT or (reasons and decay.place is Place.AUTO):
        return None
    if reasons:
        raise UnsupportedByServerError(
            "decay function ranker",
            "2.6.0",
            caps.version,
            needs=f"Milvus >= 2.6 or Milvus Lite 3 ({'; '.join(reasons)}); "
            "use place='auto' or 'client' to rerank on the client",
        )
    return Function(
        name="milvus_plugins_decay",
        input_field_names=[column],
        function_type=FunctionType.RERANK,
        params=decay.server_params(),
    )


def decay_search_op(ctx: OpContext, r: SearchRequest, decay: Decay) -> Op[list[Hit]]:
    """A search reranked by :class:`Decay`: Milvus' decay reranker or the same here.

    The client reranks the ``decay.candidates(k)`` best ungrouped hits (10 x k by
    default, Milvus Lite's window) by ``relevance * factor`` and keeps ``k``.
    """
    ranked = (SearchKind.DENSE, SearchKind.SPARSE, SearchKind.HYBRID, SearchKind.FILTERED)
    if r.kind not in ranked:
        raise InvalidInputError(
            "decay works with dense, sparse and hybrid search and filter-only retrieval, "
            f"not {shown(r.kind.value)}."
        )
    if r.grouping is not None:
        raise InvalidInputError("decay and group_by cannot be combined in one search.")
    check_k(r.k)
    if not (yield from readable_op(ctx, ctx.scope.where(r.where))):
        return []
    if r.kind is SearchKind.FILTERED:
        # No relevance to rerank (every row 1.0): the decay factor alone orders the
        # matching rows, so every one of them is read (at most one window of them).
        rows = yield from filtered_op(ctx, QUERY_WINDOW, r.where, r.include_vectors)
        if len(rows) >= QUERY_WINDOW and (yield from count_op(ctx, r.where)) > QUERY_WINDOW:
            raise InvalidInputError(
                f"a filter-only retrieval (no query) ranked by decay orders every matching "
                f"row by its decay factor, and more than {QUERY_WINDOW} rows match (the most "
                "one read returns); narrow the filter, or give a query to rank by."
            )
        return apply_decay(rows, decay, r.k)
    ranker = yield from _server_decay(ctx, r, decay)
    if ranker is not None:
        per_query = yield from dense_search_op(
            ctx,
            [r.dense],
            r.k,
            r.where,
            r.search_params,
            r.include_vectors,
            r.field,
            {"ranker": ranker},
        )
        return per_query[0]
    hits = yield from _candidates_op(ctx, r, decay.candidates(r.k))
    return apply_decay(hits, decay, r.k)


def _server_grouping(
    ctx: OpContext, r: SearchRequest, grouping: Grouping
) -> Op[dict[str, Any] | None]:
    """The ``search`` arguments of a server-side grouping, or ``None`` to group here."""
    caps = yield from capabilities_op(ctx.session)
    column = group_key(ctx.spec, grouping).column
    reasons = []
    ranged = any(key in (r.search_params or {}) for key in RANGE_KNOBS)
    if r.kind is SearchKind.HYBRID:
        reasons.append("hybrid search groups its fused list on the client")
    if r.kind is SearchKind.FILTERED:
        reasons.append("a filter-only retrieval (no ranking) is grouped on the client")
    if ranged:
        # Milvus Lite 2.5.1's grouping search ignores radius / range_filter (tested: rows
        # above range_filter came back); the client groups the range search's hits.
        reasons.append("a range search (radius / range_filter) is grouped on the client")
    if column is None:
        reasons.append(
            f"Milvus cannot group on {shown(grouping.by)} (not an INT, VARCHAR or BOOL column)"
        )
    if not caps.grouping:
        reasons.append("this engine has no complete grouping search")
    elif grouping.size > 1 and not caps.group_size:
        reasons.append("this engine ignores group_size")
    if grouping.place is Place.CLIENT or (reasons and grouping.place is Place.AUTO):
        return None
    if reasons:
        # Named after what was asked for: a hybrid search or a key no column holds is
        # grouped on the client by every engine (no version would help).
        filtered = r.kind is SearchKind.FILTERED
        if r.kind is SearchKind.HYBRID or column is None or ranged or filtered:
            hybrid = r.kind is SearchKind.HYBRID
            asked = (
                "of a hybrid search"
                if hybrid
                else "of a filter-only retrieval"
                if filtered
                else "of a range search"
                if ranged
                else f"on {shown(grouping.by)}"
            )
            feature, minimum = f"server grouping {asked}", "none"
            needed = (
                "a single-leg search without radius / range_filter, grouped on an INT, "
                "VARCHAR or BOOL column"
            )
        else:
            feature = "grouping search with group_size" if caps.grouping else "grouping search"
            minimum = "2.5.0" if caps.grouping else "2.4.0"
            needed = f"Milvus >= {minimum}"
        raise UnsupportedByServerError(
            feature,
            minimum,
            caps.version,
            needs=f"{needed} ({'; '.join(reasons)}); use place='auto' or 'client' to group "
            "on the client",
        )
    options: dict[str, Any] = {"group_by_field": column}
    if caps.group_size:
        options["group_size"] = grouping.size
        options["strict_group_size"] = grouping.strict
    return options


def _candidates_op(ctx: OpContext, r: SearchRequest, limit: int) -> Op[list[Hit]]:
    """The ``limit`` best ungrouped hits of ``r`` (a hybrid fuses ``limit`` per leg)."""
    match r.kind:
        case SearchKind.DENSE:
            hits = yield from dense_search_op(
                ctx, [r.dense], limit, r.where, r.search_params, r.include_vectors, r.field
            )
            return hits[0]
        case SearchKind.SPARSE:
            return (
                yield from sparse_search_op(ctx, r.query or "", limit, r.where, r.include_vectors)
            )
        case SearchKind.FILTERED:  # rows in the engine's order, each with score 1.0
            return (yield from filtered_op(ctx, limit, r.where, r.include_vectors))
        case _:
            fetch_k = max(limit, r.fetch_k or 0)
            return (yield from hybrid_search_op(ctx, replace(r, k=limit, fetch_k=fetch_k)))


def grouped_search_op(ctx: OpContext, r: SearchRequest, grouping: Grouping) -> Op[list[Hit]]:
    """A grouped search: the ``k`` best groups, up to ``grouping.size`` hits each.

    On the server (``group_by_field``) when the engine and the field allow it; else
    grouped here from over-fetched candidates, the limit growing fourfold until ``k``
    groups are found (full ones when strict) or the collection is exhausted. Milvus caps
    one search at 16,384 candidates: when those hold fewer than ``k`` groups and the
    search reaches more rows, :class:`InvalidInputError` says so (never fewer groups
    silently). The hits come group by group, best group first.
    """
    grouped = (SearchKind.DENSE, SearchKind.SPARSE, SearchKind.HYBRID, SearchKind.FILTERED)
    if r.kind not in grouped:
        raise InvalidInputError(
            "group_by works with dense, sparse and hybrid search and filter-only retrieval, "
            f"not {shown(r.kind.value)}."
        )
    check_k(r.k)
    if not (yield from readable_op(ctx, ctx.scope.where(r.where))):
        return []
    options = yield from _server_grouping(ctx, r, grouping)
    if options is not None and r.kind is SearchKind.DENSE:
        per_query = yield from dense_search_op(
            ctx, [r.dense], r.k, r.where, r.search_params, r.include_vectors, r.field, options
        )
        return per_query[0]
    if options is not None:
        return (
            yield from sparse_search_op(
                ctx, r.query or "", r.k, r.where, r.include_vectors, options
            )
        )
    key = group_key(ctx.spec, grouping).value
    limit = min(QUERY_WINDOW, max(4 * r.k * grouping.size, 20))
    while True:
        hits = yield from _candidates_op(ctx, r, limit)
        groups = group_hits(hits, key, r.k, grouping.size)
        answer = [hit for group in groups for hit in group]
        if len(hits) < limit or groups_complete(groups, r.k, grouping):
            return answer
        if limit >= QUERY_WINDOW:
            # As before the window: a group with fewer rows than `size` may be a small
            # document. But groups missing while more rows rank below the window would
            # be missing silently (the answer would depend on where the window ends).
            if len(groups) >= r.k or (yield from count_op(ctx, r.where)) <= QUERY_WINDOW:
                return answer
            raise InvalidInputError(
                f"group_by found {len(groups)} of the k={r.k} groups asked for among the "
                f"best {QUERY_WINDOW} rows, the most one Milvus search returns, and more rows "
                "rank below them. Narrow the search with a filter, ask for fewer groups, or "
                "group on a server column (place='server', Milvus >= 2.4, where the engine "
                "groups the whole collection)."
            )
        limit = min(QUERY_WINDOW, limit * 4)
