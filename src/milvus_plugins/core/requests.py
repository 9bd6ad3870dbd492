"""Pure request builders: spec + query -> the keyword arguments of one pymilvus call.

The sync and async stores share these, so the two can only differ by an ``await``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pymilvus import AnnSearchRequest, RRFRanker, WeightedRanker

from milvus_plugins.core.capabilities import Capabilities
from milvus_plugins.core.config import CollectionSpec
from milvus_plugins.core.errors import ConfigError, InvalidInputError, shown
from milvus_plugins.core.indexes import IndexConfig
from milvus_plugins.core.ranking import RRF, Ranker, Weighted, require_server_fusion
from milvus_plugins.core.records import SparseVector, validate_dense
from milvus_plugins.core.schema import dense_index
from milvus_plugins.core.types import MetricType, SparseMode

__all__ = [
    "Call",
    "SparseQuery",
    "build_dense_search",
    "build_hybrid_search",
    "build_sparse_search",
    "is_filter_only",
]

SparseQuery = str | SparseVector


@dataclass(frozen=True)
class Call:
    """The keyword arguments of one client call."""

    kwargs: dict[str, Any] = field(default_factory=dict)


def check_k(k: int, name: str = "k") -> int:
    """Return ``k`` if it is a positive integer (at most 16384, Milvus' topk limit).

    Raises:
        InvalidInputError: ``k`` is not a positive integer.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k <= 0:
        raise InvalidInputError(f"{name}={shown(k)} must be a positive integer.")
    if k > 16384:
        raise InvalidInputError(f"{name}={shown(k)} exceeds Milvus' limit of 16384 results.")
    return k


def is_filter_only(vector: Sequence[float] | None, text: str | None) -> bool:
    """Whether a retrieval has nothing to rank by: no query vector and no query text.

    Such a retrieval returns the rows its filter matches through a ``query`` (see
    :meth:`MilvusStore.filtered_hits`), not a vector ranking against a placeholder.
    An explicit vector, even all zeros, is a query (under L2 it asks for the rows
    nearest the origin); an adapter whose framework marks "no query" with a zero
    vector (LlamaIndex's auto-retriever) passes ``None`` instead.
    """
    return vector is None and (text is None or (isinstance(text, str) and not text.strip()))


def output_fields(spec: CollectionSpec, *, include_vectors: bool = False) -> list[str]:
    """Fields returned by reads: everything but vectors, unless asked for."""
    names = spec.fields
    fields = [names.id, names.text, names.metadata, names.doc_id, names.extra]
    fields.extend(d.name for d in spec.declared_fields)
    if include_vectors:
        fields.append(names.vector)
        if spec.sparse_mode is SparseMode.CLIENT:
            fields.append(names.sparse)
    return fields


def _dense_params(
    spec: CollectionSpec, caps: Capabilities, k: int, knobs: Mapping[str, Any] | None
) -> dict[str, Any]:
    index: IndexConfig = dense_index(spec, caps)
    return {"metric_type": index.metric_type.value, "params": index.search_params(k, knobs)}


def require_sparse_field(spec: CollectionSpec) -> None:
    """Raise :class:`ConfigError` when the collection has no sparse (keyword) field.

    Checked before the server's capabilities, so a dense-only collection gives the same
    error on every engine.
    """
    if spec.sparse_mode is SparseMode.NONE:
        raise ConfigError(
            f"collection {shown(spec.name)} has no sparse field; create it with sparse='bm25' "
            "(server BM25) or sparse='client' (a SparseEncoder)."
        )


def _sparse_data(spec: CollectionSpec, query: SparseQuery) -> Any:
    require_sparse_field(spec)
    if spec.sparse_mode is SparseMode.BM25:
        if not isinstance(query, str):
            raise InvalidInputError("a BM25 collection is searched with query text, not a vector.")
        if not query.strip():
            raise InvalidInputError("the keyword query text is empty.")
        return query
    if isinstance(query, str):
        raise InvalidInputError(
            "a client-sparse collection is searched with a sparse vector; encode the query "
            "with the collection's SparseEncoder first."
        )
    return {int(k): float(v) for k, v in query.items()}


def _sparse_params(spec: CollectionSpec, k: int) -> dict[str, Any]:
    index = spec.sparse_index
    assert index is not None  # CollectionSpec sets a sparse index whenever sparse is on
    return {"metric_type": index.metric_type.value, "params": index.search_params(k)}


def build_dense_search(
    spec: CollectionSpec,
    caps: Capabilities,
    vectors: Sequence[Sequence[float]],
    *,
    k: int,
    expr: str,
    search_params: Mapping[str, Any] | None = None,
    include_vectors: bool = False,
    timeout: float | None = None,
) -> Call:
    """Build a dense ``search`` call for one or more query vectors."""
    check_k(k)
    cosine = spec.metric_type is MetricType.COSINE  # a zero vector has no cosine to rank by
    data = [validate_dense(v, spec.dim, where="query", nonzero=cosine) for v in vectors]
    return Call(
        {
            "collection_name": spec.name,
            "data": data,
            "anns_field": spec.fields.vector,
            "limit": k,
            "filter": expr,
            "output_fields": output_fields(spec, include_vectors=include_vectors),
            "search_params": _dense_params(spec, caps, k, search_params),
            "consistency_level": spec.consistency.value,
            "timeout": timeout,
        }
    )


def build_sparse_search(
    spec: CollectionSpec,
    caps: Capabilities,
    query: SparseQuery,
    *,
    k: int,
    expr: str,
    include_vectors: bool = False,
    timeout: float | None = None,
) -> Call:
    """Build a sparse (keyword) ``search`` call."""
    check_k(k)
    data = _sparse_data(spec, query)  # the collection's own limits first, then the server's
    caps.require("sparse vectors", caps.sparse)
    return Call(
        {
            "collection_name": spec.name,
            "data": [data],
            "anns_field": spec.fields.sparse,
            "limit": k,
            "filter": expr,
            "output_fields": output_fields(spec, include_vectors=include_vectors),
            "search_params": _sparse_params(spec, k),
            "consistency_level": spec.consistency.value,
            "timeout": timeout,
        }
    )


def pymilvus_ranker(ranker: Ranker) -> Any:
    """Return the pymilvus ranker object for a core ranker."""
    if isinstance(ranker, RRF):
        return RRFRanker(ranker.k)
    if isinstance(ranker, Weighted):
        require_server_fusion(ranker)
        return WeightedRanker(*ranker.weights, norm_score=bool(ranker.normalize))
    raise ConfigError(f"ranker={shown(ranker)} must be RRF(...) or Weighted(...).")


def build_hybrid_search(
    spec: CollectionSpec,
    caps: Capabilities,
    vector: Sequence[float],
    sparse_query: SparseQuery,
    *,
    k: int,
    fetch_k: int,
    expr: str,
    ranker: Ranker,
    search_params: Mapping[str, Any] | None = None,
    include_vectors: bool = False,
    timeout: float | None = None,
) -> Call:
    """Build a server-side ``hybrid_search`` call (dense leg first, sparse leg second)."""
    check_k(k)
    check_k(fetch_k, "fetch_k")
    caps.require("hybrid search", caps.hybrid_search)
    if isinstance(ranker, Weighted) and len(ranker.weights) != 2:
        raise ConfigError(
            f"Weighted has {len(ranker.weights)} weights for 2 search legs; "
            "give one weight per leg (dense, sparse)."
        )
    dense = AnnSearchRequest(
        data=[
            validate_dense(
                vector, spec.dim, where="query", nonzero=spec.metric_type is MetricType.COSINE
            )
        ],
        anns_field=spec.fields.vector,
        param=_dense_params(spec, caps, fetch_k, search_params),
        limit=fetch_k,
        expr=expr or None,
    )
    sparse = AnnSearchRequest(
        data=[_sparse_data(spec, sparse_query)],
        anns_field=spec.fields.sparse,
        param=_sparse_params(spec, fetch_k),
        limit=fetch_k,
        expr=expr or None,
    )
    return Call(
        {
            "collection_name": spec.name,
            "reqs": [dense, sparse],
            "ranker": pymilvus_ranker(ranker),
            "limit": k,
            "output_fields": output_fields(spec, include_vectors=include_vectors),
            "consistency_level": spec.consistency.value,
            "timeout": timeout,
        }
    )
