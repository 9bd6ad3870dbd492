"""Search operations: dense, sparse, hybrid (server or client fusion), MMR (pure).

A :class:`SearchRequest` names one search and its inputs; :func:`search_op` runs it by
an explicit match on its :class:`SearchKind`. :func:`plan_retrieval` turns a retrieval
mode and its inputs into a request (the stores' ``retrieve`` and the adapters use it).

The request types are :mod:`.search_request`, the searches :mod:`.vector_search`, the
decayed, grouped and range searches :mod:`.refined_search`; every name stays
importable from here.
"""

from __future__ import annotations

from milvus_plugins.core.errors import InvalidInputError
from milvus_plugins.core.ops.calls import Op
from milvus_plugins.core.ops.context import OpContext
from milvus_plugins.core.ops.refined_search import (
    decay_search_op,
    grouped_search_op,
    range_search_op,
)
from milvus_plugins.core.ops.search_request import (
    SearchKind,
    SearchRequest,
    need_retrieval_inputs,
    plan_retrieval,
    split_hybrid_vector,
)
from milvus_plugins.core.ops.vector_search import (
    dense_search_op,
    filtered_op,
    hybrid_search_op,
    legs_search_op,
    mmr_search_op,
    sparse_search_op,
)
from milvus_plugins.core.range_search import check_threshold
from milvus_plugins.core.results import Hit

__all__ = [
    "SearchKind",
    "SearchRequest",
    "decay_search_op",
    "dense_search_op",
    "filtered_op",
    "grouped_search_op",
    "hybrid_search_op",
    "legs_search_op",
    "mmr_search_op",
    "need_retrieval_inputs",
    "plan_retrieval",
    "range_search_op",
    "search_op",
    "sparse_search_op",
    "split_hybrid_vector",
]


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
        return (yield from range_search_op(ctx, r, threshold))
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
