"""Search operations: dense, sparse, hybrid (server or client fusion), MMR (pure).

A :class:`SearchRequest` names one search and its inputs; :func:`search_op` runs it by
an explicit match on its :class:`SearchKind`. :func:`plan_retrieval` turns a retrieval
mode and its inputs into a request (the stores' ``retrieve`` and the adapters use it).

Every search is confined to the call's scope (``ctx.scope``): the tenant's equality is
``and_``-ed into the filter tree of each leg (a server-fused hybrid search compiles the
scoped tree into both legs; a client-fused one runs two scoped searches), and named
partitions go into every search call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from pymilvus import Function, FunctionType

from milvus_plugins.core.decay import Decay, apply_decay, decay_column
from milvus_plugins.core.errors import (
    ConfigError,
    InvalidInputError,
    UnsupportedByServerError,
    shown,
)
from milvus_plugins.core.filters import Filter
from milvus_plugins.core.grouping import (
    Grouping,
    Place,
    group_hits,
    group_key,
    groups_complete,
)
from milvus_plugins.core.mmr import select_mmr
from milvus_plugins.core.ops.acceleration import refresh_overflow_op
from milvus_plugins.core.ops.calls import Op, or_empty, with_kwargs
from milvus_plugins.core.ops.context import OpContext
from milvus_plugins.core.ops.fusion import (
    Fusion,
    client_fuse,
    client_fuse_legs,
    legs_fetch_k,
    sparse_metric,
    use_client_fusion,
)
from milvus_plugins.core.ops.lifecycle import capabilities_op, ensure_op
from milvus_plugins.core.ops.reads import collection_rows, query_op
from milvus_plugins.core.range_search import RANGE_KNOBS, check_threshold, threshold_radius
from milvus_plugins.core.ranking import Ranker, keyword_scale, query_terms
from milvus_plugins.core.requests import (
    QUERY_WINDOW,
    SparseQuery,
    build_dense_search,
    build_hybrid_search,
    build_legs_search,
    build_sparse_search,
    check_k,
    check_leg_weights,
    is_filter_only,
    require_sparse_field,
)
from milvus_plugins.core.results import Hit, filter_only_hits, parse_fused, parse_hits
from milvus_plugins.core.schema import field_index
from milvus_plugins.core.types import MetricType, ParsableEnum, RetrievalMode

__all__ = [
    "SearchKind",
    "SearchRequest",
    "decay_search_op",
    "dense_search_op",
    "filtered_op",
    "grouped_search_op",
    "hybrid_search_op",
    "mmr_search_op",
    "need_retrieval_inputs",
    "plan_retrieval",
    "search_op",
    "sparse_search_op",
    "split_hybrid_vector",
]


class SearchKind(ParsableEnum):
    """The kinds of search: the three retrieval modes, MMR (diverse dense results) and
    filter-only retrieval (no vector and no text: up to ``k`` rows the filter matches)."""

    DENSE = "dense"
    SPARSE = "sparse"
    HYBRID = "hybrid"
    MMR = "mmr"
    FILTERED = "filtered"  # nothing to rank by: the rows the filter matches


@dataclass(frozen=True, kw_only=True)
class SearchRequest:
    """One search, typed: which kind and its inputs (fields a kind does not use are ignored).

    Attributes:
        kind: dense, sparse, hybrid or MMR.
        vector: the dense query vector (dense, hybrid, MMR).
        query: the keyword query text or client sparse vector (sparse, hybrid).
        k: results to return.
        where: the filter tree (``None``: no filter).
        ranker: hybrid fusion (``None``: the store's).
        fetch_k: hybrid candidates per leg, or MMR candidates (``None``: the default).
        fusion: hybrid fusion place (``None``: the store's).
        lambda_mult: MMR relevance/diversity balance.
        search_params: dense-leg knobs (``ef``, ``nprobe`` ...).
        include_vectors: return vectors too.
        grouping: group the results (``None``: no grouping); dense, sparse and hybrid.
        decay: rerank by a numeric field (:class:`Decay`); dense, sparse and hybrid.
        score_threshold: keep only hits with relevance >= this (in [0, 1]); a dense
            search asks Milvus for it as a range search (``radius``), the others filter
            here (see :mod:`milvus_plugins.core.range_search`).
        vectors: hybrid over named dense fields: field name -> query vector, one leg
            each in this order, then the sparse leg when ``query`` is given (a
            :class:`Weighted` ranker has one weight per leg, in that order).
        field: the dense field a dense or MMR search targets (``None``: ``vector``).
    """

    kind: SearchKind
    vector: Sequence[float] | None = None
    query: SparseQuery | None = None
    k: int = 4
    where: Filter | None = None
    ranker: Ranker | None = None
    fetch_k: int | None = None
    fusion: Fusion | str | None = None
    lambda_mult: float = 0.5
    search_params: Mapping[str, Any] | None = None
    include_vectors: bool = False
    vectors: Mapping[str, Sequence[float]] | None = None
    field: str | None = None
    grouping: Grouping | None = None
    score_threshold: float | None = None
    decay: Decay | None = None

    @property
    def dense(self) -> Sequence[float]:
        """The dense query vector, ``[]`` when absent (``vector or []`` fails on numpy)."""
        return [] if self.vector is None else self.vector


def search_op(ctx: OpContext, request: SearchRequest) -> Op[list[Hit]]:
    """Run one :class:`SearchRequest`."""
    if not isinstance(request, SearchRequest):
        raise InvalidInputError(f"request={request!r} must be a SearchRequest.")
    threshold = check_threshold(request.score_threshold)
    hits = yield from _search(ctx, request, threshold)
    if threshold is None:
        return hits
    # Also the exactness guard of the server's range search: same test, same rows.
    return [h for h in hits if h.score >= threshold]


def _search(ctx: OpContext, request: SearchRequest, threshold: float | None) -> Op[list[Hit]]:
    r = request
    if r.decay is not None:
        return (yield from decay_search_op(ctx, r, r.decay))
    if r.grouping is not None:
        return (yield from grouped_search_op(ctx, r, r.grouping))
    if r.kind is SearchKind.DENSE and threshold is not None:
        return (yield from _range_search_op(ctx, r, threshold))
    match r.kind:
        case SearchKind.DENSE:
            hits = yield from dense_search_op(
                ctx, [r.dense], r.k, r.where, r.search_params, r.include_vectors, r.field
            )
            return hits[0]
        case SearchKind.SPARSE:
            return (
                yield from sparse_search_op(ctx, r.query or "", r.k, r.where, r.include_vectors)
            )
        case SearchKind.HYBRID:
            return (yield from hybrid_search_op(ctx, r))
        case SearchKind.MMR:
            return (yield from mmr_search_op(ctx, r))
        case SearchKind.FILTERED:
            return (yield from filtered_op(ctx, r.k, r.where, r.include_vectors))


def dense_search_op(
    ctx: OpContext,
    vectors: Sequence[Sequence[float]],
    k: int,
    where: Filter | None,
    search_params: Mapping[str, Any] | None,
    include_vectors: bool,
    field: str | None = None,
    server_options: Mapping[str, Any] | None = None,
) -> Op[list[list[Hit]]]:
    """Dense search for several query vectors in one request (on ``field``, default ``vector``).

    ``server_options`` are extra ``search`` arguments (grouping search's, a ranker).

    Raises:
        ConfigError: a sparse-only collection or an unknown dense field (before any I/O).
    """
    check_k(k)
    ctx.spec.dense_field(field)  # refused before any I/O
    where = ctx.scope.where(where)
    if not (yield from ensure_op(ctx)):
        return [[] for _ in vectors]
    caps = yield from capabilities_op(ctx.session)
    yield from refresh_overflow_op(ctx, where)
    # Opening may have adopted the collection's own field names (a foreign layout): the
    # field is looked up again in the spec as opened.
    dense = ctx.spec.dense_field(field)
    call = build_dense_search(
        ctx.spec,
        caps,
        vectors,
        k=k,
        where=where,
        search_params=search_params,
        include_vectors=include_vectors,
        timeout=ctx.timeout,
        field=dense.name,
    )
    metric = field_index(dense, caps).metric_type
    extra = {**ctx.read_kwargs(caps), **(server_options or {})}
    return parse_hits((yield with_kwargs(call, extra)), ctx.spec, metric)


def sparse_search_op(
    ctx: OpContext,
    query: SparseQuery,
    k: int,
    where: Filter | None,
    include_vectors: bool,
    server_options: Mapping[str, Any] | None = None,
) -> Op[list[Hit]]:
    """Keyword search: BM25 on the query text, or a client sparse vector.

    ``server_options`` are extra ``search`` arguments (grouping search's).
    """
    check_k(k)
    where = ctx.scope.where(where)
    if not (yield from ensure_op(ctx)):
        return []
    caps = yield from capabilities_op(ctx.session)
    yield from refresh_overflow_op(ctx, where)
    call = build_sparse_search(
        ctx.spec,
        caps,
        ctx.sparse_query(query),
        k=k,
        where=where,
        include_vectors=include_vectors,
        timeout=ctx.timeout,
    )
    raw = yield with_kwargs(call, {**ctx.read_kwargs(caps), **(server_options or {})})
    # The keyword relevance is scaled by the query's terms and ln(1 + rows): the whole
    # collection's rows (BM25 statistics are collection-wide), whatever the call's scope.
    rows = ctx.session.cached_row_count()
    if rows is None:
        rows = ctx.session.remember_row_count((yield from or_empty(collection_rows(ctx), int)))
    scale = keyword_scale(query_terms(query, ctx.spec.stop_words), rows)
    return parse_hits(raw, ctx.spec, sparse_metric(ctx.spec), scale)[0]


def hybrid_search_op(ctx: OpContext, r: SearchRequest) -> Op[list[Hit]]:
    """Dense + sparse search fused with RRF or weighted scores, on the server or here."""
    if r.fusion is not None:
        Fusion.parse(r.fusion, field="fusion")
    check_k(r.k)
    if r.vectors:
        return (yield from legs_search_op(ctx, r))
    ctx.spec.dense_field()  # a sparse-only collection has no dense leg: refused before I/O
    ranker = r.ranker or ctx.hybrid.ranker
    legs_k = legs_fetch_k(r.k, r.fetch_k, ctx.hybrid.fetch_k)
    scoped = ctx.scope.where(r.where)  # refused before any I/O, if it is
    if not (yield from ensure_op(ctx)):
        return []
    caps = yield from capabilities_op(ctx.session)
    require_sparse_field(ctx.spec)
    caps.require("sparse vectors", caps.sparse)
    query = ctx.sparse_query(r.query or "")
    vector = r.dense
    if use_client_fusion(caps, ctx.hybrid, r.fusion, ranker):
        dense = yield from dense_search_op(
            ctx, [vector], legs_k, r.where, r.search_params, r.include_vectors
        )
        sparse = yield from sparse_search_op(ctx, query, legs_k, r.where, r.include_vectors)
        return client_fuse(ctx.spec, caps, dense[0], sparse, ranker, r.k)
    # One scoped tree, compiled into both legs: Milvus' hybrid_search does not apply
    # partition-key isolation to every leg by itself (milvus-io/milvus#50398).
    yield from refresh_overflow_op(ctx, scoped)
    call = build_hybrid_search(
        ctx.spec,
        caps,
        vector,
        query,
        k=r.k,
        fetch_k=legs_k,
        where=scoped,
        ranker=ranker,
        search_params=r.search_params,
        include_vectors=r.include_vectors,
        timeout=ctx.timeout,
    )
    return parse_fused((yield with_kwargs(call, ctx.read_kwargs(caps))), ctx.spec, ranker, 2)


def _range_search_op(ctx: OpContext, r: SearchRequest, threshold: float) -> Op[list[Hit]]:
    """A dense search for the hits with relevance >= ``threshold``: Milvus' range search."""
    if not (yield from ensure_op(ctx)):
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
    if metric not in (MetricType.COSINE, MetricType.IP):
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
    if r.kind not in (SearchKind.DENSE, SearchKind.SPARSE, SearchKind.HYBRID):
        raise InvalidInputError(
            f"decay works with dense, sparse and hybrid search, not {shown(r.kind.value)}."
        )
    if r.grouping is not None:
        raise InvalidInputError("decay and group_by cannot be combined in one search.")
    check_k(r.k)
    if not (yield from ensure_op(ctx)):
        return []
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
    if r.kind is SearchKind.HYBRID:
        reasons.append("hybrid search groups its fused list on the client")
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
        feature = "grouping search with group_size" if caps.grouping else "grouping search"
        minimum = "2.5.0" if caps.grouping else "2.4.0"
        raise UnsupportedByServerError(
            feature,
            minimum,
            caps.version,
            needs=f"Milvus >= {minimum} and a groupable column ({'; '.join(reasons)}); "
            "use place='auto' or 'client' to group on the client",
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
        case _:
            fetch_k = max(limit, r.fetch_k or 0)
            return (yield from hybrid_search_op(ctx, replace(r, k=limit, fetch_k=fetch_k)))


def grouped_search_op(ctx: OpContext, r: SearchRequest, grouping: Grouping) -> Op[list[Hit]]:
    """A grouped search: the ``k`` best groups, up to ``grouping.size`` hits each.

    On the server (``group_by_field``) when the engine and the field allow it; else
    grouped here from over-fetched candidates, the limit growing fourfold until ``k``
    groups are found (full ones when strict) or the collection is exhausted (Milvus
    caps one search at 16,384 candidates). The hits come group by group, best group first.
    """
    if r.kind not in (SearchKind.DENSE, SearchKind.SPARSE, SearchKind.HYBRID):
        raise InvalidInputError(
            f"group_by works with dense, sparse and hybrid search, not {shown(r.kind.value)}."
        )
    check_k(r.k)
    if not (yield from ensure_op(ctx)):
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
        exhausted = len(hits) < limit or limit >= QUERY_WINDOW
        if exhausted or groups_complete(groups, r.k, grouping):
            return [hit for group in groups for hit in group]
        limit = min(QUERY_WINDOW, limit * 4)


def legs_search_op(ctx: OpContext, r: SearchRequest) -> Op[list[Hit]]:
    """N-leg hybrid search: one leg per named dense field of ``r.vectors``, then sparse.

    Fused on the client (``fusion="auto"``/``"client"``: each hit's relevance from
    every leg's) or by one ``hybrid_search`` call (``fusion="server"``).

    Raises:
        ConfigError: an unknown dense field, fewer than two legs, a ``Weighted``
            ranker without one weight per leg, or a sparse leg on a collection without
            a sparse field (all before any I/O).
        UnsupportedByServerError: sparse or hybrid search the engine lacks.
    """
    vectors = dict(r.vectors or {})
    fields = [ctx.spec.dense_field(name) for name in vectors]
    text = r.query if r.query is not None and not _blank(r.query) else None
    order = ", ".join([*(f.name for f in fields), *(["sparse"] if text is not None else [])])
    legs = len(fields) + (text is not None)
    if legs < 2:
        raise ConfigError(
            f"a hybrid search needs at least two legs; got {legs} ({order}): give several "
            "named vectors, or a query text too."
        )
    if text is not None:
        require_sparse_field(ctx.spec)
    ranker = r.ranker or ctx.hybrid.ranker
    check_leg_weights(ranker, legs, order)
    legs_k = legs_fetch_k(r.k, r.fetch_k, ctx.hybrid.fetch_k)
    scoped = ctx.scope.where(r.where)  # refused before any I/O, if it is
    if not (yield from ensure_op(ctx)):
        return []
    caps = yield from capabilities_op(ctx.session)
    if text is not None:
        caps.require("sparse vectors", caps.sparse)
    query = ctx.sparse_query(text) if text is not None else None
    if use_client_fusion(caps, ctx.hybrid, r.fusion, ranker):
        results: list[tuple[list[Hit], MetricType]] = []
        for dense in fields:
            hits = yield from dense_search_op(
                ctx,
                [vectors[dense.name]],
                legs_k,
                r.where,
                r.search_params,
                r.include_vectors,
                dense.name,
            )
            results.append((hits[0], field_index(dense, caps).metric_type))
        if query is not None:
            sparse = yield from sparse_search_op(ctx, query, legs_k, r.where, r.include_vectors)
            results.append((sparse, sparse_metric(ctx.spec)))
        return client_fuse_legs(results, ranker, r.k)
    yield from refresh_overflow_op(ctx, scoped)
    call = build_legs_search(
        ctx.spec,
        caps,
        vectors,
        query,
        k=r.k,
        fetch_k=legs_k,
        where=scoped,  # one scoped tree in every leg, as in the two-leg hybrid search
        ranker=ranker,
        search_params=r.search_params,
        include_vectors=r.include_vectors,
        timeout=ctx.timeout,
    )
    return parse_fused((yield with_kwargs(call, ctx.read_kwargs(caps))), ctx.spec, ranker, legs)


def _blank(query: SparseQuery) -> bool:
    return isinstance(query, str) and not query.strip()


def mmr_search_op(ctx: OpContext, r: SearchRequest) -> Op[list[Hit]]:
    """Maximal-marginal-relevance search: ``fetch_k`` candidates, ``k`` diverse picks."""
    check_k(r.k)
    if r.fetch_k is None:
        raise InvalidInputError("fetch_k=None must be a positive integer (MMR candidates).")
    vector = r.dense
    fetch_k = r.fetch_k
    hits = yield from dense_search_op(
        ctx, [vector], max(fetch_k, r.k), r.where, r.search_params, True, r.field
    )
    if r.field is not None and r.field != ctx.spec.fields.vector:
        for hit in hits[0]:  # MMR compares the searched field's vectors
            hit.record.vector = hit.record.vectors.get(r.field)
    return select_mmr(vector, hits[0], k=r.k, lambda_mult=r.lambda_mult)


def filtered_op(
    ctx: OpContext, k: int, where: Filter | None, include_vectors: bool
) -> Op[list[Hit]]:
    """Up to ``k`` rows matching ``where`` as hits (score 1.0): a filter-only retrieval."""
    check_k(k)
    rows = yield from query_op(ctx, where, k, 0, include_vectors)
    return filter_only_hits(rows)


def split_hybrid_vector(
    vector: Sequence[float] | Mapping[str, Sequence[float]],
) -> tuple[Sequence[float] | None, dict[str, Sequence[float]] | None]:
    """A hybrid search's ``vector`` argument as (one vector, named vectors): one is ``None``."""
    if isinstance(vector, Mapping):
        named: Mapping[str, Sequence[float]] = vector
        return None, dict(named)
    return vector, None


def need_retrieval_inputs(
    mode: RetrievalMode, vector: Sequence[float] | None, text: str | None
) -> None:
    """Raise :class:`InvalidInputError` when ``mode`` lacks its vector or text."""
    if mode in (RetrievalMode.DENSE, RetrievalMode.HYBRID) and vector is None:
        raise InvalidInputError(f"retrieval mode {shown(mode.value)} needs a query vector.")
    if mode in (RetrievalMode.SPARSE, RetrievalMode.HYBRID) and not (text or "").strip():
        raise InvalidInputError(f"retrieval mode {shown(mode.value)} needs a non-empty query text.")


def plan_retrieval(
    mode: RetrievalMode | str,
    vector: Sequence[float] | None,
    text: str | None,
    *,
    k: int,
    where: Filter | None,
    ranker: Ranker | None = None,
    fetch_k: int | None = None,
    search_params: Mapping[str, Any] | None = None,
    include_vectors: bool = False,
    grouping: Grouping | None = None,
    score_threshold: float | None = None,
    decay: Decay | None = None,
    vectors: Mapping[str, Sequence[float]] | None = None,
    field: str | None = None,
) -> SearchRequest:
    """Turn a retrieval mode and its inputs into one :class:`SearchRequest`.

    No vector and no text (``None``, ``""`` or blank), in any mode, plans a filter-only
    retrieval (:attr:`SearchKind.FILTERED`). ``vectors`` (named dense fields -> query
    vectors) makes a hybrid retrieval fuse one leg per field, plus the sparse leg when
    ``text`` is given; ``field`` is the dense field a dense retrieval searches.

    Raises:
        ConfigError: an unknown mode.
        InvalidInputError: the mode's inputs are missing.
    """
    chosen = RetrievalMode.parse(mode, field="retrieval_mode")
    if vectors and chosen is RetrievalMode.HYBRID:
        return SearchRequest(
            kind=SearchKind.HYBRID,
            vectors=vectors,
            query=text if text is not None and text.strip() else None,
            k=k,
            where=where,
            ranker=ranker,
            fetch_k=fetch_k,
            search_params=search_params,
            include_vectors=include_vectors,
        )
    if is_filter_only(vector, text):
        return SearchRequest(
            kind=SearchKind.FILTERED,
            k=k,
            where=where,
            include_vectors=include_vectors,
            grouping=grouping,
            score_threshold=score_threshold,
            decay=decay,
        )
    need_retrieval_inputs(chosen, vector, text)
    return SearchRequest(
        kind=SearchKind(chosen.value),
        vector=vector,
        query=text,
        k=k,
        where=where,
        ranker=ranker,
        fetch_k=fetch_k,
        search_params=search_params,
        include_vectors=include_vectors,
        grouping=grouping,
        score_threshold=score_threshold,
        decay=decay,
        field=field,
    )
