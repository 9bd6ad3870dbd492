"""Pure request builders: spec + query -> one pymilvus :class:`Call`.

Filters arrive as trees and are compiled here, for the collection and the engine's
dialect, at the last step. The operations (:mod:`milvus_plugins.core.ops`) use these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pymilvus import AnnSearchRequest, RRFRanker, WeightedRanker

from milvus_plugins.core.capabilities import Capabilities
from milvus_plugins.core.config import CollectionSpec
from milvus_plugins.core.errors import ConfigError, InvalidInputError, shown
from milvus_plugins.core.fields import DenseField
from milvus_plugins.core.filters import Filter, compile_filter
from milvus_plugins.core.indexes import IndexConfig, without_search_metric
from milvus_plugins.core.layouts import foreign_output_fields
from milvus_plugins.core.ops.calls import Call, ClientMethod
from milvus_plugins.core.range_search import RANGE_KNOBS, check_range_knobs
from milvus_plugins.core.ranking import RRF, Ranker, Weighted, require_server_fusion
from milvus_plugins.core.records import SparseVector
from milvus_plugins.core.schema import field_index
from milvus_plugins.core.types import MetricType, SparseMode
from milvus_plugins.core.values import query_vector, sparse_vector, utf8_len

__all__ = [
    "QUERY_WINDOW",
    "SparseQuery",
    "build_count",
    "build_dense_search",
    "build_legs_search",
    "build_query",
    "build_sparse_search",
    "check_offset",
    "dense_query_data",
    "dense_search_params",
    "is_filter_only",
]

SparseQuery = str | SparseVector


QUERY_WINDOW = 16384  # Milvus caps offset + limit of one query (and topk) at this


def check_k(k: int, name: str = "k") -> int:
    """Return ``k`` if it is a positive integer (at most 16384, Milvus' topk limit).

    Raises:
        InvalidInputError: ``k`` is not a positive integer.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k <= 0:
        raise InvalidInputError(f"{name}={shown(k)} must be a positive integer.")
    if k > QUERY_WINDOW:
        raise InvalidInputError(f"{name}={shown(k)} exceeds Milvus' limit of 16384 results.")
    return k


def check_offset(offset: int, limit: int | None) -> None:
    """Raise :class:`InvalidInputError` for a bad ``offset`` (or ``offset + limit``)."""
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidInputError(f"offset={shown(offset)} must be a non-negative integer.")
    if limit is not None and isinstance(limit, int) and offset + limit > QUERY_WINDOW:
        raise InvalidInputError(
            f"offset + limit = {offset + limit} exceeds Milvus' limit of {QUERY_WINDOW}; "
            "leave limit out to read every row after offset."
        )


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
    if spec.layout is not None:
        return foreign_output_fields(spec.layout, include_vectors=include_vectors)
    names = spec.fields
    fields = [names.id, names.text, names.metadata, names.doc_id, names.extra]
    fields.extend(d.name for d in spec.declared_fields)
    if include_vectors:
        fields.extend(f.name for f in spec.dense_fields)
        if spec.sparse_mode is SparseMode.CLIENT:
            fields.append(names.sparse)
    return fields


def build_query(
    spec: CollectionSpec,
    caps: Capabilities,
    where: Filter | None,
    *,
    output: Sequence[str],
    limit: int | None = None,
    offset: int = 0,
    timeout: float | None = None,
) -> Call:
    """Build a ``query`` call (no ``limit``: the caller pages through every row).

    Raises:
        InvalidInputError: ``limit`` is not a positive integer, ``offset`` is not a
            non-negative integer, or ``offset + limit`` exceeds Milvus' 16,384.
        FilterError: the filter cannot be compiled for this engine.
    """
    check_offset(offset, limit)
    kwargs: dict[str, Any] = {
        "filter": compile_filter(where, spec, caps.dialect),
        "output_fields": list(output),
        "consistency_level": spec.consistency.value,
        "timeout": timeout,
    }
    if limit is not None:
        kwargs["limit"] = check_k(limit, "limit")
        kwargs["offset"] = offset
    return Call(ClientMethod.QUERY, (spec.name,), kwargs)


def build_count(
    spec: CollectionSpec, caps: Capabilities, where: Filter | None, *, timeout: float | None
) -> Call:
    """Build the ``query`` call that counts the rows matching ``where``."""
    return build_query(spec, caps, where, output=["count(*)"], timeout=timeout)


def dense_search_params(
    dense: DenseField,
    caps: Capabilities,
    k: int,
    knobs: Mapping[str, Any] | None,
    rows: int | None = None,
) -> dict[str, Any]:
    """The ``search_params`` of a dense search on ``dense`` for ``k`` hits.

    ``knobs`` are the call's own (``ef``, ``nprobe``, range search's ``radius`` /
    ``range_filter``), flat as :func:`~milvus_plugins.core.indexes.flat_search_knobs`
    makes them where a search comes in (a ``metric_type`` among them must be the
    index's), ``rows`` the collection's row count where known (a size-aware index's
    defaults depend on it).

    Raises:
        ConfigError: a knob the index lacks, or a bad value.
    """
    index: IndexConfig = field_index(dense, caps)
    knobs = without_search_metric(knobs or {}, index.metric_type)
    # Range search's band is no index knob: checked for the metric, then passed along.
    bounds = check_range_knobs(index.metric_type, knobs)
    rest = {key: v for key, v in knobs.items() if key not in RANGE_KNOBS}
    params = {**index.search_params(k, rest or None, rows), **bounds}
    return {"metric_type": index.metric_type.value, "params": params}


def dense_query_data(
    spec: CollectionSpec, dense: DenseField, vector: Sequence[float]
) -> list[float]:
    """Check a query vector for the dense field ``dense`` and return what is sent.

    Raises:
        InvalidInputError: not a flat numeric sequence of the field's dimension, a value
            beyond float32, or (COSINE) a vector with no direction.
    """
    return _dense_data(spec, dense, vector)


def _dense_data(spec: CollectionSpec, dense: DenseField, vector: Sequence[float]) -> list[float]:
    # A zero vector has no cosine to rank by.
    cosine = dense.metric_type is MetricType.COSINE
    main = dense.name == spec.fields.vector
    where = "query" if main else f"query for field {shown(dense.name)}"
    return query_vector(vector, dense.dim, where=where, nonzero=cosine)


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
        utf8_len(query, "query", "the keyword query text")  # sent as text: UTF-8 only
        return query
    if isinstance(query, str):
        raise InvalidInputError(
            "a client-sparse collection is searched with a sparse vector; encode the query "
            "with the collection's SparseEncoder first."
        )
    return sparse_vector(query, where="search", query=True)


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
    where: Filter | None,
    search_params: Mapping[str, Any] | None = None,
    include_vectors: bool = False,
    timeout: float | None = None,
    field: str | None = None,
) -> Call:
    """Build a dense ``search`` call for one or more query vectors.

    ``field`` names the dense field searched (``None``: the canonical ``vector``).

    Raises:
        ConfigError: a sparse-only collection, or no dense field called ``field``.
    """
    check_k(k)
    dense = spec.dense_field(field)
    expr = compile_filter(where, spec, caps.dialect)
    data = [_dense_data(spec, dense, v) for v in vectors]
    return Call(
        ClientMethod.SEARCH,
        kwargs={
            "collection_name": spec.name,
            "data": data,
            "anns_field": dense.name,
            "limit": k,
            "filter": expr,
            "output_fields": output_fields(spec, include_vectors=include_vectors),
            "search_params": dense_search_params(dense, caps, k, search_params),
            "consistency_level": spec.consistency.value,
            "timeout": timeout,
        },
    )


def build_sparse_search(
    spec: CollectionSpec,
    caps: Capabilities,
    query: SparseQuery,
    *,
    k: int,
    where: Filter | None,
    include_vectors: bool = False,
    timeout: float | None = None,
) -> Call:
    """Build a sparse (keyword) ``search`` call."""
    check_k(k)
    expr = compile_filter(where, spec, caps.dialect)
    data = _sparse_data(spec, query)  # the collection's own limits first, then the server's
    caps.require("sparse vectors", caps.sparse)
    return Call(
        ClientMethod.SEARCH,
        kwargs={
            "collection_name": spec.name,
            "data": [data],
            "anns_field": spec.fields.sparse,
            "limit": k,
            "filter": expr,
            "output_fields": output_fields(spec, include_vectors=include_vectors),
            "search_params": _sparse_params(spec, k),
            "consistency_level": spec.consistency.value,
            "timeout": timeout,
        },
    )


def pymilvus_ranker(ranker: Ranker) -> Any:
    """Return the pymilvus ranker object for a core ranker."""
    if isinstance(ranker, RRF):
        return RRFRanker(ranker.k)
    if isinstance(ranker, Weighted):
        require_server_fusion(ranker)
        return WeightedRanker(*ranker.weights, norm_score=bool(ranker.normalize))
    raise ConfigError(f"ranker={shown(ranker)} must be RRF(...) or Weighted(...).")


def check_leg_weights(ranker: Ranker, legs: int, order: str) -> None:
    """Refuse a :class:`Weighted` ranker whose weight count is not the number of legs.

    Raises:
        ConfigError: naming both counts and the legs' order.
    """
    if isinstance(ranker, Weighted) and len(ranker.weights) != legs:
        raise ConfigError(
            f"Weighted has {len(ranker.weights)} weights for {legs} search legs; "
            f"give one weight per leg ({order})."
        )


def build_legs_search(
    spec: CollectionSpec,
    caps: Capabilities,
    vectors: Mapping[str, Sequence[float]],
    sparse_query: SparseQuery | None,
    *,
    k: int,
    fetch_k: int,
    where: Filter | None,
    ranker: Ranker,
    search_params: Mapping[str, Any] | None = None,
    include_vectors: bool = False,
    timeout: float | None = None,
    rows: int | None = None,
) -> Call:
    """Build a server-side ``hybrid_search`` over N legs.

    The legs are one per entry of ``vectors`` (dense field name -> query vector), in
    that order, then the sparse leg when ``sparse_query`` is given; every leg carries
    the same filter. ``rows`` is the collection's row count where known (a size-aware
    index's knobs).

    Raises:
        ConfigError: an unknown dense field, fewer than two legs, or a ``Weighted``
            ranker without one weight per leg.
        UnsupportedByServerError: the engine has no ``hybrid_search``.
    """
    check_k(k)
    check_k(fetch_k, "fetch_k")
    dense_fields = [spec.dense_field(name) for name in vectors]
    legs = len(dense_fields) + (sparse_query is not None)
    order = ", ".join([*(f.name for f in dense_fields), *(["sparse"] if sparse_query else [])])
    if legs < 2:
        raise ConfigError(f"a hybrid search needs at least two legs; got {legs} ({order}).")
    check_leg_weights(ranker, legs, order)
    expr = compile_filter(where, spec, caps.dialect)
    caps.require("hybrid search", caps.hybrid_search)
    reqs = [
        AnnSearchRequest(
            data=[_dense_data(spec, dense, vectors[dense.name])],
            anns_field=dense.name,
            param=dense_search_params(dense, caps, fetch_k, search_params, rows),
            limit=fetch_k,
            expr=expr or None,
        )
        for dense in dense_fields
    ]
    if sparse_query is not None:
        reqs.append(
            AnnSearchRequest(
                data=[_sparse_data(spec, sparse_query)],
                anns_field=spec.fields.sparse,
                param=_sparse_params(spec, fetch_k),
                limit=fetch_k,
                expr=expr or None,
            )
        )
    return Call(
        ClientMethod.HYBRID_SEARCH,
        kwargs={
            "collection_name": spec.name,
            "reqs": reqs,
            "ranker": pymilvus_ranker(ranker),
            "limit": k,
            "output_fields": output_fields(spec, include_vectors=include_vectors),
            "consistency_level": spec.consistency.value,
            "timeout": timeout,
        },
    )
