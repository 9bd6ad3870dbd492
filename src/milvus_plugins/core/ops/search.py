"""Search operations: dense, sparse, hybrid (server or client fusion), MMR (pure).

A :class:`SearchRequest` names one search and its inputs; :func:`search_op` runs it by
an explicit match on its :class:`SearchKind`. :func:`plan_retrieval` turns a retrieval
mode and its inputs into a request (the stores' ``retrieve`` and the adapters use it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from milvus_plugins.core.errors import InvalidInputError, shown
from milvus_plugins.core.filters import Filter
from milvus_plugins.core.mmr import select_mmr
from milvus_plugins.core.ops.calls import Op, or_empty
from milvus_plugins.core.ops.context import OpContext
from milvus_plugins.core.ops.fusion import (
    Fusion,
    client_fuse,
    legs_fetch_k,
    sparse_metric,
    use_client_fusion,
)
from milvus_plugins.core.ops.lifecycle import capabilities_op, ensure_op
from milvus_plugins.core.ops.reads import count_op, query_op
from milvus_plugins.core.ranking import Ranker, keyword_scale, query_terms
from milvus_plugins.core.requests import (
    SparseQuery,
    build_dense_search,
    build_hybrid_search,
    build_sparse_search,
    check_k,
    is_filter_only,
    require_sparse_field,
)
from milvus_plugins.core.results import Hit, filter_only_hits, parse_fused, parse_hits
from milvus_plugins.core.schema import dense_index
from milvus_plugins.core.types import ParsableEnum, RetrievalMode

__all__ = [
    "SearchKind",
    "SearchRequest",
    "dense_search_op",
    "filtered_op",
    "hybrid_search_op",
    "mmr_search_op",
    "need_retrieval_inputs",
    "plan_retrieval",
    "search_op",
    "sparse_search_op",
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


def search_op(ctx: OpContext, request: SearchRequest) -> Op[list[Hit]]:
    """Run one :class:`SearchRequest`."""
    if not isinstance(request, SearchRequest):
        raise InvalidInputError(f"request={request!r} must be a SearchRequest.")
    r = request
    match r.kind:
        case SearchKind.DENSE:
            hits = yield from dense_search_op(
                ctx,
                [r.vector if r.vector is not None else []],
                r.k,
                r.where,
                r.search_params,
                r.include_vectors,
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
) -> Op[list[list[Hit]]]:
    """Dense search for several query vectors in one request."""
    check_k(k)
    if not (yield from ensure_op(ctx)):
        return [[] for _ in vectors]
    caps = yield from capabilities_op(ctx.session)
    call = build_dense_search(
        ctx.spec,
        caps,
        vectors,
        k=k,
        where=where,
        search_params=search_params,
        include_vectors=include_vectors,
        timeout=ctx.timeout,
    )
    metric = dense_index(ctx.spec, caps).metric_type
    return parse_hits((yield call), ctx.spec, metric)


def sparse_search_op(
    ctx: OpContext, query: SparseQuery, k: int, where: Filter | None, include_vectors: bool
) -> Op[list[Hit]]:
    """Keyword search: BM25 on the query text, or a client sparse vector."""
    check_k(k)
    if not (yield from ensure_op(ctx)):
        return []
    caps = yield from capabilities_op(ctx.session)
    call = build_sparse_search(
        ctx.spec,
        caps,
        ctx.sparse_query(query),
        k=k,
        where=where,
        include_vectors=include_vectors,
        timeout=ctx.timeout,
    )
    raw = yield call
    # The keyword relevance is scaled by the query's terms and ln(1 + rows).
    rows = ctx.session.cached_row_count()
    if rows is None:
        rows = ctx.session.remember_row_count((yield from or_empty(count_op(ctx, None), int)))
    scale = keyword_scale(query_terms(query, ctx.spec.stop_words), rows)
    return parse_hits(raw, ctx.spec, sparse_metric(ctx.spec), scale)[0]


def hybrid_search_op(ctx: OpContext, r: SearchRequest) -> Op[list[Hit]]:
    """Dense + sparse search fused with RRF or weighted scores, on the server or here."""
    if r.fusion is not None:
        Fusion.parse(r.fusion, field="fusion")
    check_k(r.k)
    ranker = r.ranker or ctx.hybrid.ranker
    legs_k = legs_fetch_k(r.k, r.fetch_k, ctx.hybrid.fetch_k)
    if not (yield from ensure_op(ctx)):
        return []
    caps = yield from capabilities_op(ctx.session)
    require_sparse_field(ctx.spec)
    caps.require("sparse vectors", caps.sparse)
    query = ctx.sparse_query(r.query or "")
    vector = r.vector if r.vector is not None else []
    if use_client_fusion(caps, ctx.hybrid, r.fusion, ranker):
        dense = yield from dense_search_op(
            ctx, [vector], legs_k, r.where, r.search_params, r.include_vectors
        )
        sparse = yield from sparse_search_op(ctx, query, legs_k, r.where, r.include_vectors)
        return client_fuse(ctx.spec, caps, dense[0], sparse, ranker, r.k)
    call = build_hybrid_search(
        ctx.spec,
        caps,
        vector,
        query,
        k=r.k,
        fetch_k=legs_k,
        where=r.where,
        ranker=ranker,
        search_params=r.search_params,
        include_vectors=r.include_vectors,
        timeout=ctx.timeout,
    )
    return parse_fused((yield call), ctx.spec, ranker, 2)


def mmr_search_op(ctx: OpContext, r: SearchRequest) -> Op[list[Hit]]:
    """Maximal-marginal-relevance search: ``fetch_k`` candidates, ``k`` diverse picks."""
    check_k(r.k)
    if r.fetch_k is None:
        raise InvalidInputError("fetch_k=None must be a positive integer (MMR candidates).")
    vector = r.vector if r.vector is not None else []
    fetch_k = r.fetch_k
    hits = yield from dense_search_op(
        ctx, [vector], max(fetch_k, r.k), r.where, r.search_params, True
    )
    return select_mmr(vector, hits[0], k=r.k, lambda_mult=r.lambda_mult)


def filtered_op(
    ctx: OpContext, k: int, where: Filter | None, include_vectors: bool
) -> Op[list[Hit]]:
    """Up to ``k`` rows matching ``where`` as hits (score 1.0): a filter-only retrieval."""
    check_k(k)
    rows = yield from query_op(ctx, where, k, 0, include_vectors)
    return filter_only_hits(rows)


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
) -> SearchRequest:
    """Turn a retrieval mode and its inputs into one :class:`SearchRequest`.

    No vector and no text (``None``, ``""`` or blank), in any mode, plans a filter-only
    retrieval (:attr:`SearchKind.FILTERED`).

    Raises:
        ConfigError: an unknown mode.
        InvalidInputError: the mode's inputs are missing.
    """
    chosen = RetrievalMode.parse(mode, field="retrieval_mode")
    if is_filter_only(vector, text):
        return SearchRequest(
            kind=SearchKind.FILTERED, k=k, where=where, include_vectors=include_vectors
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
    )
