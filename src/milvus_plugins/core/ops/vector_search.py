"""The searches themselves (pure): dense, sparse (keyword), hybrid with two or N legs
(fused on the server or here), MMR, and filter-only retrieval.

Every search is confined to the call's scope (``ctx.scope``): the tenant's equality is
``and_``-ed into the filter tree of each leg (a server-fused hybrid search compiles the
scoped tree into both legs; a client-fused one runs two scoped searches), and named
partitions go into every search call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from milvus_plugins.core.capabilities import Capabilities
from milvus_plugins.core.errors import (
    ConfigError,
)
from milvus_plugins.core.fields import DenseField
from milvus_plugins.core.filters import Filter
from milvus_plugins.core.mmr import check_mmr_options, select_mmr
from milvus_plugins.core.ops.acceleration import refresh_overflow_op
from milvus_plugins.core.ops.calls import Call, Op, or_empty, with_kwargs
from milvus_plugins.core.ops.checked_filters import checked_where_op
from milvus_plugins.core.ops.context import OpContext
from milvus_plugins.core.ops.fusion import (
    Fusion,
    client_fuse,
    client_fuse_legs,
    legs_fetch_k,
    settled_server_order,
    sparse_metric,
    use_client_fusion,
)
from milvus_plugins.core.ops.lifecycle import capabilities_op, readable_op
from milvus_plugins.core.ops.reads import collection_rows, query_op
from milvus_plugins.core.ops.search_request import SearchRequest
from milvus_plugins.core.ranking import keyword_scale, query_terms
from milvus_plugins.core.requests import (
    QUERY_WINDOW,
    SparseQuery,
    build_dense_search,
    build_legs_search,
    build_sparse_search,
    check_k,
    check_leg_weights,
    dense_query_data,
    dense_search_params,
    require_sparse_field,
)
from milvus_plugins.core.results import Hit, filter_only_hits, parse_fused, parse_hits
from milvus_plugins.core.schema import field_index
from milvus_plugins.core.types import MetricType

__all__ = [
    "dense_search_op",
    "filtered_op",
    "hybrid_search_op",
    "legs_search_op",
    "mmr_search_op",
    "sparse_search_op",
]


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

    ``search_params`` are flat knobs (:func:`~milvus_plugins.core.indexes.flat_search_knobs`).

    ``server_options`` are extra ``search`` arguments (grouping search's, a ranker).

    Raises:
        ConfigError: a sparse-only collection or an unknown dense field (before any I/O).
    """
    check_k(k)
    ctx.spec.dense_field(field)  # refused before any I/O
    where = ctx.scope.where(where)
    if not vectors:
        return []  # no query, no result list (Milvus fails on an empty request)
    if not (yield from readable_op(ctx, where)):
        return [[] for _ in vectors]
    caps = yield from capabilities_op(ctx.session)
    yield from refresh_overflow_op(ctx, where)
    where = yield from checked_where_op(ctx, caps, where)
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
    # Counted only once the query is known good: a size-aware index's knobs.
    rows = yield from _rows_for_knobs(ctx, caps, [dense], search_params)
    if rows is not None:
        knobs = dense_search_params(dense, caps, k, search_params, rows)
        call = with_kwargs(call, {"search_params": knobs})
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
    if not (yield from readable_op(ctx, where)):
        return []
    caps = yield from capabilities_op(ctx.session)
    yield from refresh_overflow_op(ctx, where)
    where = yield from checked_where_op(ctx, caps, where)
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
    rows = yield from row_count_op(ctx)
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
    if not (yield from readable_op(ctx, scoped)):
        return []
    caps = yield from capabilities_op(ctx.session)
    require_sparse_field(ctx.spec)
    caps.require("sparse vectors", caps.sparse)
    query = ctx.sparse_query(r.query or "")
    vector = r.dense
    if not use_client_fusion(caps, ctx.hybrid, r.fusion, ranker, relevance=r.reads_relevance):
        # One scoped tree, compiled into both legs: Milvus' hybrid_search does not apply
        # partition-key isolation to every leg by itself (milvus-io/milvus#50398).
        legs = {ctx.spec.dense_field().name: vector}
        fused = yield from _server_legs_op(
            ctx, caps, r, legs, query, scoped, legs_k, exact=_server_by_choice(ctx, r)
        )
        if fused is not None:
            return fused
    dense = yield from dense_search_op(
        ctx, [vector], legs_k, r.where, r.search_params, r.include_vectors
    )
    sparse = yield from sparse_search_op(ctx, query, legs_k, r.where, r.include_vectors)
    return client_fuse(ctx.spec, caps, dense[0], sparse, ranker, r.k)


def legs_search_op(ctx: OpContext, r: SearchRequest) -> Op[list[Hit]]:
    """N-leg hybrid search: one leg per named dense field of ``r.vectors``, then sparse.

    Fused on the client (``fusion="auto"``/``"client"``: each hit's relevance from
    every leg's) or by one ``hybrid_search`` call (``fusion="server"``, or ``"auto"``
    for a call that does not read the relevance).

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
    if not (yield from readable_op(ctx, scoped)):
        return []
    caps = yield from capabilities_op(ctx.session)
    if text is not None:
        caps.require("sparse vectors", caps.sparse)
    query = ctx.sparse_query(text) if text is not None else None
    for name in vectors:  # every leg's vector, before the first leg's search
        dense_query_data(ctx.spec, ctx.spec.dense_field(name), vectors[name])
    if not use_client_fusion(caps, ctx.hybrid, r.fusion, ranker, relevance=r.reads_relevance):
        exact = _server_by_choice(ctx, r)
        # "auto" asks the server only where its order can be settled: two legs.
        if not exact or legs == 2:
            fused = yield from _server_legs_op(
                ctx, caps, r, vectors, query, scoped, legs_k, exact=exact
            )
            if fused is not None:
                return fused
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


def _server_by_choice(ctx: OpContext, r: SearchRequest) -> bool:
    """Whether the server fuses because ``"auto"`` chose it (not because it was asked)."""
    return Fusion.parse(r.fusion or ctx.hybrid.fusion, field="fusion") is Fusion.AUTO


def _server_legs_op(
    ctx: OpContext,
    caps: Capabilities,
    r: SearchRequest,
    vectors: Mapping[str, Sequence[float]],
    query: SparseQuery | None,
    scoped: Filter | None,
    legs_k: int,
    *,
    exact: bool = False,
) -> Op[list[Hit] | None]:
    """One ``hybrid_search`` call over the dense legs of ``vectors`` and the sparse leg of
    ``query``, every leg with the one scoped filter tree.

    ``exact``: return what client fusion would, or ``None`` when one call cannot tell.
    Engines break ties between equal fused scores in their own order (Milvus Lite 2.5.1
    not by id) and return float32 scores, so the call asks for ``legs`` extra hits and
    :func:`settled_server_order` decides.
    """
    yield from refresh_overflow_op(ctx, scoped)
    scoped = yield from checked_where_op(ctx, caps, scoped)
    ranker = r.ranker or ctx.hybrid.ranker
    legs = len(vectors) + (query is not None)
    limit = r.k + legs if exact else r.k
    if limit > QUERY_WINDOW:
        return None

    def build(rows: int | None) -> Call:
        return build_legs_search(
            ctx.spec,
            caps,
            vectors,
            query,
            k=limit,
            fetch_k=legs_k,
            where=scoped,
            ranker=ranker,
            search_params=r.search_params,
            include_vectors=r.include_vectors,
            timeout=ctx.timeout,
            rows=rows,
        )

    fields = [ctx.spec.dense_field(name) for name in vectors]
    sized = _sized_knobs(caps, fields, r.search_params)
    # A row count cached from an earlier call builds the request once; otherwise every
    # leg is checked (built) before the count is read, then built again with it.
    rows = ctx.session.cached_row_count() if sized else None
    call = build(rows)
    if sized and rows is None:
        call = build((yield from row_count_op(ctx)))
    hits = parse_fused((yield with_kwargs(call, ctx.read_kwargs(caps))), ctx.spec, ranker, legs)
    if not exact:
        return hits
    return settled_server_order(hits, r.k, ranker, legs_k, limit, legs)


def row_count_op(ctx: OpContext) -> Op[int]:
    """The collection's row count (every row, whatever the call's scope), counted at most
    once per :data:`~milvus_plugins.core.session.ROW_COUNT_TTL` seconds.

    Keyword relevance scales by it, and size-aware index knobs (HNSW's default ``ef``)
    grow with it; neither needs it exact.
    """
    rows = ctx.session.cached_row_count()
    if rows is None:
        rows = ctx.session.remember_row_count((yield from or_empty(collection_rows(ctx), int)))
    return rows


def _sized_knobs(
    caps: Capabilities, fields: Sequence[DenseField], search_params: Mapping[str, Any] | None
) -> bool:
    """Whether a searched field's index picks its default knobs by the collection's size
    and the call does not set them itself."""
    given = set(search_params or {})
    for dense in fields:
        index = field_index(dense, caps)
        if index.size_aware and not set(index.search_knobs) <= given:
            return True
    return False


def _rows_for_knobs(
    ctx: OpContext,
    caps: Capabilities,
    fields: Sequence[DenseField],
    search_params: Mapping[str, Any] | None,
) -> Op[int | None]:
    """The row count when :func:`_sized_knobs`; ``None`` otherwise (no count is made)."""
    if _sized_knobs(caps, fields, search_params):
        return (yield from row_count_op(ctx))
    return None


def _blank(query: SparseQuery) -> bool:
    return isinstance(query, str) and not query.strip()


def mmr_search_op(ctx: OpContext, r: SearchRequest) -> Op[list[Hit]]:
    """Maximal-marginal-relevance search: ``fetch_k`` candidates, up to ``k`` diverse
    picks among them (``fetch_k < k`` answers ``fetch_k``, as LangChain's and
    LlamaIndex's own stores do)."""
    check_k(r.k)
    fetch_k = check_mmr_options(r.fetch_k, r.lambda_mult)  # before any I/O
    vector = r.dense
    hits = yield from dense_search_op(
        ctx, [vector], fetch_k, r.where, r.search_params, True, r.field
    )
    if r.field is None or r.field == ctx.spec.fields.vector:
        return select_mmr(vector, hits[0], k=r.k, lambda_mult=r.lambda_mult)
    # MMR compares the searched field's vectors; each hit keeps its own in `vector` after.
    canonical = [hit.record.vector for hit in hits[0]]
    for hit in hits[0]:
        hit.record.vector = hit.record.vectors.get(r.field)
    chosen = select_mmr(vector, hits[0], k=r.k, lambda_mult=r.lambda_mult)
    for hit, own in zip(hits[0], canonical, strict=True):
        hit.record.vector = own
    return chosen


def filtered_op(
    ctx: OpContext, k: int, where: Filter | None, include_vectors: bool
) -> Op[list[Hit]]:
    """Up to ``k`` rows matching ``where`` as hits (score 1.0): a filter-only retrieval."""
    check_k(k)
    rows = yield from query_op(ctx, where, k, 0, include_vectors)
    return filter_only_hits(rows)
