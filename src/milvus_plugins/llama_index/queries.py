"""Pure translation of LlamaIndex queries into core search requests (no I/O).

:func:`plan_query` turns a ``VectorStoreQuery`` into one core :class:`SearchRequest`
(the core's retrieval plan, MMR and filter-only included); :func:`to_query_result`
turns the hits back. The sync and async query paths run the same request.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from llama_index.core.vector_stores.types import (
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
    VectorStoreQueryResult,
)

from milvus_plugins.core import (
    GROUPING_KWARGS,
    RRF,
    CollectionSpec,
    ConfigError,
    Filter,
    Hit,
    InvalidInputError,
    Ranker,
    SearchKind,
    SearchRequest,
    Weighted,
    and_,
    as_decay,
    check_kwargs,
    check_threshold,
    doc_id_in,
    grouping_from_kwargs,
    id_in,
    id_list,
    is_filter_only,
    need_search_inputs,
    require_fields_for,
    require_sparse_for,
    shown,
)
from milvus_plugins.core.decay import decay_column
from milvus_plugins.core.grouping import group_key
from milvus_plugins.core.mmr import check_lambda
from milvus_plugins.core.requests import QUERY_WINDOW, check_k
from milvus_plugins.llama_index.filters import declared_types, doc_id_keys, to_core_filter
from milvus_plugins.llama_index.nodes import record_to_node
from milvus_plugins.llama_index.official_names import CALL_HINTS

__all__ = [
    "DEFAULT_MMR_PREFETCH_FACTOR",
    "QUERY_KWARGS",
    "checked_query",
    "hybrid_ranker",
    "named_fields",
    "node_filter",
    "output_fields",
    "plan_query",
    "to_query_result",
]

DEFAULT_MMR_PREFETCH_FACTOR = 4.0
QUERY_KWARGS = frozenset(
    {"mmr_threshold", "mmr_prefetch_k", "mmr_prefetch_factor", "similarity_cutoff", "decay"}
    | {"vector_field"}
) | (GROUPING_KWARGS)
_SPARSE_FIX = (
    "create the store with enable_sparse=True (server-side BM25) or sparse=<a SparseEncoder>"
)
_DENSE_FIX = (
    "create the store with enable_dense=True (a dense embedding), or query with "
    "vector_store_query_mode='sparse' or 'text_search'"
)
_KINDS = {
    VectorStoreQueryMode.DEFAULT: SearchKind.DENSE,
    VectorStoreQueryMode.MMR: SearchKind.MMR,
    VectorStoreQueryMode.SPARSE: SearchKind.SPARSE,
    VectorStoreQueryMode.TEXT_SEARCH: SearchKind.SPARSE,
    VectorStoreQueryMode.HYBRID: SearchKind.HYBRID,
}


def node_filter(
    filters: MetadataFilters | None,
    node_ids: Sequence[str] | None = None,
    doc_ids: Sequence[str] | None = None,
    spec: CollectionSpec | None = None,
) -> Filter | None:
    """Combine metadata filters with node-id and document-id restrictions (AND).

    ``spec``: the store's, whose declared column types decide what a ``0`` / ``1``
    compared for equality means (see :func:`~.filters.to_core_filter`).

    ``None`` or an empty list means "no restriction": ``VectorStoreIndex.as_retriever``
    passes ``node_ids=[]`` for stores that keep the text themselves.

    Raises:
        InvalidInputError: ``node_ids`` or ``doc_ids`` is a single string, or holds a
            non-string or ``""``.
        FilterError: a filter Milvus cannot express exactly.
    """
    node_ids = None if node_ids is None else id_list(node_ids, "node_ids")
    doc_ids = None if doc_ids is None else id_list(doc_ids, "doc_ids")
    parts = []
    metadata = to_core_filter(
        filters,
        None if spec is None else declared_types(spec),
        foreign=spec is not None and spec.layout is not None,
    )
    if metadata is not None:
        parts.append(metadata)
    if doc_ids:
        parts.append(doc_id_in(doc_ids))
    if node_ids:
        parts.append(id_in(node_ids))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else and_(*parts)


def named_fields(
    query: VectorStoreQuery, kwargs: Mapping[str, Any], spec: CollectionSpec
) -> list[str]:
    """The named dense fields whose models must embed ``query_str`` for this query.

    A hybrid query uses every dense field (the node embedding's and the named ones); a
    dense or MMR query the one named by ``vector_store_kwargs={"vector_field": ...}``.

    Raises:
        ConfigError: ``vector_field`` names no dense field of the collection.
    """
    field = _vector_field(query, kwargs)
    if field is not None:
        if kwargs.get("vector_field") is None and spec.dense:
            known = [f.name for f in spec.dense_fields]
            if field not in known:
                raise ConfigError(
                    f"embedding_field={shown(field)} is not a dense field of collection "
                    f"{shown(spec.name)}; its dense fields are {known}."
                )
        spec.dense_field(field)  # an unknown name is refused with the known ones
    if _no_query(query) or not (query.query_str or "").strip() or not spec.dense:
        return []
    mode = VectorStoreQueryMode(query.mode)
    if mode is VectorStoreQueryMode.HYBRID:
        return [f.name for f in spec.extra_vector_fields]
    if mode in (VectorStoreQueryMode.DEFAULT, VectorStoreQueryMode.MMR) and field is not None:
        return [] if field == spec.fields.vector else [field]
    return []


def _vector_field(query: VectorStoreQuery, kwargs: Mapping[str, Any]) -> str | None:
    """The dense field a query names: ``vector_store_kwargs={"vector_field": ...}`` or
    LlamaIndex's own ``VectorStoreQuery.embedding_field`` (``None``: the node
    embeddings' field).

    Raises:
        InvalidInputError: both are given and differ, or ``embedding_field`` is not a
            string.
    """
    given = kwargs.get("vector_field")
    own = query.embedding_field
    if own is not None and not isinstance(own, str):
        raise InvalidInputError(
            f"embedding_field={shown(own)} must be the name of a dense vector field (a str)."
        )
    if own is not None and given is not None and own != given:
        raise InvalidInputError(
            f"embedding_field={shown(own)} and vector_store_kwargs vector_field="
            f"{shown(given)} name different fields; give one of them."
        )
    return given if given is not None else own


def hybrid_ranker(configured: Ranker | None, alpha: float | None) -> Ranker:
    """The fusion for a hybrid query.

    LlamaIndex's ``alpha`` weighs the legs: ``1`` is pure vector search, ``0`` pure
    keyword search. It becomes ``Weighted(alpha, 1 - alpha)`` unless the store was
    configured with :class:`RRF`, which fuses ranks and has no weights: then a query
    giving ``alpha`` is refused rather than answered without it. Without ``alpha`` the
    configured ranker (default ``RRF(60)``) is used.

    Raises:
        InvalidInputError: ``alpha`` is outside [0, 1], or given to a store configured
            with ``RRF``.
    """
    if alpha is None:
        return configured or RRF()
    if isinstance(configured, RRF):
        raise InvalidInputError(
            f"alpha={shown(alpha)} weighs the legs of a weighted fusion, but this store "
            f"fuses ranks with ranker={shown(configured)}, which has no weights; leave "
            "alpha unset, or create the store with ranker=Weighted(...) (or no ranker)."
        )
    weight = _checked_alpha(alpha)
    normalize = configured.normalize if isinstance(configured, Weighted) else True
    return Weighted(weight, 1.0 - weight, normalize=normalize)


def _checked_alpha(alpha: object) -> float:
    """LlamaIndex's hybrid ``alpha`` as a float in [0, 1] (numpy floats too).

    Raises:
        InvalidInputError: ``alpha`` is not a number in [0, 1].
    """
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 <= float(alpha) <= 1:
        raise InvalidInputError(
            f"alpha={shown(alpha)} must be in [0, 1] (1: vector search only, 0: keyword only)."
        )
    return float(alpha)


def _mmr_values(
    query: VectorStoreQuery, kwargs: Mapping[str, Any]
) -> tuple[float, int | None, float | None]:
    """MMR's checked settings: ``lambda_mult`` (default 0.5), ``mmr_prefetch_k`` and
    ``mmr_prefetch_factor`` (``None`` when not given). Checked in every mode, as
    LangChain's ``fetch_k`` is: a bad value is refused even where MMR does not run.

    Raises:
        InvalidInputError: naming the LlamaIndex option that is out of range.
    """
    lambda_mult = query.mmr_threshold
    given = kwargs.get("mmr_threshold")
    if lambda_mult is None:
        lambda_mult = given
    elif given is not None and given != lambda_mult:
        raise InvalidInputError(
            f"VectorStoreQuery.mmr_threshold={shown(lambda_mult)} and vector_store_kwargs "
            f"mmr_threshold={shown(given)} differ; give one of them."
        )
    balance = check_lambda(0.5 if lambda_mult is None else lambda_mult, "mmr_threshold")
    prefetch_k = kwargs.get("mmr_prefetch_k")
    factor = kwargs.get("mmr_prefetch_factor")
    if prefetch_k is not None and factor is not None:
        raise InvalidInputError("give mmr_prefetch_k or mmr_prefetch_factor, not both.")
    if prefetch_k is not None:
        if (
            isinstance(prefetch_k, bool)
            or not isinstance(prefetch_k, numbers.Integral)
            or not 0 < int(prefetch_k) <= QUERY_WINDOW
        ):
            raise InvalidInputError(
                f"mmr_prefetch_k={shown(prefetch_k)} must be a positive integer up to "
                f"{QUERY_WINDOW} (MMR candidates; Milvus' limit)."
            )
        return balance, int(prefetch_k), None
    if factor is not None and (
        isinstance(factor, bool)
        or not isinstance(factor, numbers.Real)
        or not 0 < float(factor) < math.inf
    ):
        raise InvalidInputError(
            f"mmr_prefetch_factor={shown(factor)} must be a positive, finite number "
            "(candidates per result)."
        )
    return balance, None, None if factor is None else float(factor)


def _mmr_options(query: VectorStoreQuery, kwargs: Mapping[str, Any]) -> tuple[float, int]:
    """MMR's ``lambda_mult`` and candidate count from LlamaIndex's names for them.

    Raises:
        InvalidInputError: naming the LlamaIndex option that is out of range.
    """
    lambda_mult, prefetch_k, factor = _mmr_values(query, kwargs)
    if prefetch_k is not None:
        return lambda_mult, prefetch_k  # fewer than k: that many (LlamaIndex)
    k = query.similarity_top_k
    prefetch = int(k * (DEFAULT_MMR_PREFETCH_FACTOR if factor is None else factor))
    return lambda_mult, max(min(prefetch, QUERY_WINDOW), k)


_TOP_K_FIELDS = ("similarity_top_k", "sparse_top_k", "hybrid_top_k")


def checked_query(query: VectorStoreQuery, kwargs: Mapping[str, Any]) -> VectorStoreQuery:
    """``query`` with its fields checked in every mode, before anything is embedded.

    A mode LlamaIndex does not define, a ``query_str`` that is not text, an ``alpha``
    outside [0, 1] or an MMR setting out of range is refused whatever the mode (a valid
    ``alpha`` outside hybrid, or ``mmr_threshold`` outside MMR, is ignored, as LlamaIndex
    documents). Top-k values given as other integer types (``numpy.int64``) are taken as
    ``int``; the range of each is checked where the query is planned.

    Raises:
        InvalidInputError: naming the field and what it takes.
    """
    try:
        mode = VectorStoreQueryMode(query.mode)
    except ValueError:
        known = ", ".join(m.value for m in _KINDS)
        raise InvalidInputError(
            f"query mode {shown(query.mode)} is not a LlamaIndex VectorStoreQueryMode; "
            f"MilvusVectorStore runs {known}."
        ) from None
    text = query.query_str
    if text is not None and not isinstance(text, str):
        raise InvalidInputError(f"query_str={shown(text)} must be the query text (a str) or None.")
    if query.alpha is not None:
        _checked_alpha(query.alpha)
    _mmr_values(query, kwargs)
    ints: dict[str, Any] = {}
    for name in _TOP_K_FIELDS:
        value: Any = getattr(query, name)
        if isinstance(value, numbers.Integral) and not isinstance(value, (bool, int)):
            ints[name] = int(value)  # numpy.int64 and the like
    return replace(query, mode=mode, **ints) if ints or mode is not query.mode else query


def _no_query(query: VectorStoreQuery) -> bool:
    """No query text, and no embedding or an all-zero one: nothing to rank by.

    ``VectorIndexAutoRetriever`` marks a filter-only question ("papers from 2023") with
    ``query_str=""`` and its ``default_empty_query_vector``, a zero vector; ranking by it
    would be meaningless (and COSINE cannot rank it at all).
    """
    embedding = query.query_embedding
    no_vector = embedding is None or not any(embedding)
    return no_vector and is_filter_only(None, query.query_str)


def plan_query(
    query: VectorStoreQuery,
    kwargs: Mapping[str, Any],
    *,
    has_sparse: bool,
    ranker: Ranker | None,
    spec: CollectionSpec | None = None,
    named_vectors: Mapping[str, Sequence[float]] | None = None,
) -> SearchRequest:
    """Translate a ``VectorStoreQuery`` into one core :class:`SearchRequest` (no I/O).

    Args:
        query: the LlamaIndex query.
        kwargs: ``vector_store_kwargs``: ``mmr_threshold``, ``mmr_prefetch_k`` or
            ``mmr_prefetch_factor`` (MMR only); ``group_by`` (``True``, or ``'ref_doc_id'``
            as in filters: one best node per source document; or a field name or
            metadata key), ``group_size`` and
            ``strict_group_size`` (default, sparse and hybrid modes; ``similarity_top_k``
            then counts groups); ``similarity_cutoff`` (a relevance in [0, 1]: only
            nodes at least that relevant; a dense query asks Milvus for a range search);
            ``decay`` (a :class:`~milvus_plugins.core.Decay` or a dict of its fields:
            rerank by a numeric metadata field, e.g. recency).
            ``vector_field``, the dense field a dense or MMR query searches (default:
            the node embeddings' field).
        has_sparse: whether the collection has a sparse (keyword) field.
        ranker: the store's configured hybrid ranker, if any.
        spec: the collection (named in errors, and whose dense fields a query may use).
        named_vectors: the query embedded by the named dense fields' models
            (:func:`named_fields`): a hybrid query fuses one leg per dense field, then
            the keyword leg when the store has one.

    Raises:
        InvalidInputError: an unsupported mode, a missing embedding or query text, or
            an unknown keyword argument.
        ConfigError: a keyword or hybrid query on a store without a sparse field; a
            dense, MMR or hybrid query on a sparse-only store; ``group_by`` or a decay
            ``field`` naming a field that holds no group value or no number (the
            text, a vector field).
        FilterError: a filter Milvus cannot express exactly.
    """
    check_kwargs("query", kwargs, QUERY_KWARGS, hints=CALL_HINTS)
    query = checked_query(query, kwargs)
    grouping = grouping_from_kwargs(kwargs)
    foreign = spec is not None and spec.layout is not None
    if grouping is not None and grouping.by in doc_id_keys(foreign=foreign):
        # As in filters, 'ref_doc_id' ('doc_id', 'document_id') is the source document.
        grouping = replace(grouping, by=None)
    cutoff = check_threshold(kwargs.get("similarity_cutoff"), "similarity_cutoff")
    request = _plan(
        query, kwargs, has_sparse=has_sparse, ranker=ranker, spec=spec, named_vectors=named_vectors
    )
    decay = as_decay(kwargs.get("decay"))
    if spec is not None:
        # A field that holds no group value or no number is refused before any embedding.
        if grouping is not None:
            group_key(spec, grouping)
        if decay is not None:
            decay_column(spec, decay)
    return replace(request, grouping=grouping, score_threshold=cutoff, decay=decay)


def _plan(
    query: VectorStoreQuery,
    kwargs: Mapping[str, Any],
    *,
    has_sparse: bool,
    ranker: Ranker | None,
    spec: CollectionSpec | None,
    named_vectors: Mapping[str, Sequence[float]] | None,
) -> SearchRequest:
    mode = VectorStoreQueryMode(query.mode)
    kind = _KINDS.get(mode)
    if kind is None:
        raise InvalidInputError(
            f"query mode {shown(mode.value)} is not supported by MilvusVectorStore; use default, "
            "mmr, sparse, text_search or hybrid."
        )
    where = node_filter(query.filters, query.node_ids, query.doc_ids, spec)
    setting = f"query mode {shown(mode.value)}"
    several = spec is not None and len(spec.dense_fields) >= 2
    if not (kind is SearchKind.HYBRID and several):
        require_sparse_for(
            kind,
            has_sparse,
            collection=spec.name if spec is not None else "",
            setting=setting,
            fix=_SPARSE_FIX,
        )
    for name in _TOP_K_FIELDS:
        value = getattr(query, name)
        if value is not None:
            check_k(value, name)  # named as LlamaIndex names it (the core says k / fetch_k)
    if query.similarity_top_k is None and not (
        kind is SearchKind.HYBRID and query.hybrid_top_k is not None
    ):
        raise InvalidInputError("similarity_top_k=None must be a positive integer.")
    if _no_query(query):
        top_k = query.hybrid_top_k if kind is SearchKind.HYBRID else None
        return SearchRequest(
            kind=SearchKind.FILTERED,
            k=top_k if top_k is not None else query.similarity_top_k,
            where=where,
        )
    vector = None if query.query_embedding is None else list(query.query_embedding)
    need_search_inputs(
        kind,
        vector,
        query.query_str,
        setting=setting,
        vector_name="query_embedding; embed the query first",
        text_name="a non-empty query_str for keyword search",
    )
    if spec is not None:
        require_fields_for(
            kind, spec, setting=setting, sparse_fix=_SPARSE_FIX, dense_fix=_DENSE_FIX
        )
    k = query.similarity_top_k
    field = _vector_field(query, kwargs)
    if field is not None and named_vectors and field in named_vectors:
        vector = list(named_vectors[field])  # the query embedded by that field's model
    match kind:
        case SearchKind.MMR:
            lambda_mult, fetch_k = _mmr_options(query, kwargs)
            return SearchRequest(
                kind=kind,
                vector=vector,
                k=k,
                fetch_k=fetch_k,
                lambda_mult=lambda_mult,
                where=where,
                field=field,
            )
        case SearchKind.HYBRID if named_vectors and spec is not None:
            return _legs_request(query, spec, vector or [], named_vectors, ranker, where)
        case SearchKind.HYBRID:
            return SearchRequest(
                kind=kind,
                vector=vector,
                query=query.query_str,
                k=query.hybrid_top_k if query.hybrid_top_k is not None else k,
                fetch_k=query.sparse_top_k,
                ranker=hybrid_ranker(ranker, query.alpha),
                where=where,
            )
        case _:
            return SearchRequest(
                kind=kind, vector=vector, query=query.query_str, k=k, where=where, field=field
            )


def _legs_request(
    query: VectorStoreQuery,
    spec: CollectionSpec,
    vector: Sequence[float],
    named_vectors: Mapping[str, Sequence[float]],
    ranker: Ranker | None,
    where: Filter | None,
) -> SearchRequest:
    """An N-leg hybrid request: the node embeddings' field, the named fields, then sparse."""
    vectors = {spec.fields.vector: vector, **named_vectors}
    legs = len(vectors) + spec.has_sparse
    if query.alpha is not None and legs != 2 and not isinstance(ranker, RRF):
        raise InvalidInputError(
            f"alpha={shown(query.alpha)} weighs two legs, but this hybrid query fuses {legs} "
            "(each dense field, then keyword); leave alpha unset and give the store "
            "ranker=Weighted(...) with one weight per leg, or RRF()."
        )
    return SearchRequest(
        kind=SearchKind.HYBRID,
        vectors=vectors,
        query=query.query_str if spec.has_sparse else None,
        k=query.hybrid_top_k if query.hybrid_top_k is not None else query.similarity_top_k,
        fetch_k=query.sparse_top_k,
        ranker=hybrid_ranker(ranker, query.alpha),  # (alpha with 3+ legs: RRF, refused)
        where=where,
    )


def output_fields(query: VectorStoreQuery) -> frozenset[str] | None:
    """The metadata keys a query's ``output_fields`` keeps (``None``: every key).

    Raises:
        InvalidInputError: ``output_fields`` is not a list of strings.
    """
    fields = query.output_fields
    if fields is None:
        return None
    if isinstance(fields, (str, bytes)) or not isinstance(fields, (list, tuple)):
        raise InvalidInputError(
            f"output_fields={shown(fields)} must be a list of metadata keys (e.g. "
            "['source']), not a single string."
        )
    bad = [f for f in fields if not isinstance(f, str)]
    if bad:
        raise InvalidInputError(
            f"output_fields holds {shown(bad[0])}; give metadata keys as strings."
        )
    return frozenset(fields)


def to_query_result(
    hits: Sequence[Hit], keep: frozenset[str] | None = None
) -> VectorStoreQueryResult:
    """Build the LlamaIndex result: nodes, relevance scores in [0, 1], and ids.

    ``keep``: the metadata keys each node keeps (a query's :func:`output_fields`); the
    text, ids and relationships are always returned.
    """
    nodes = [record_to_node(hit.record) for hit in hits]
    if keep is not None:
        for node in nodes:
            node.metadata = {k: v for k, v in node.metadata.items() if k in keep}
    return VectorStoreQueryResult(
        nodes=nodes,
        similarities=[hit.score for hit in hits],
        ids=[hit.id for hit in hits],
    )
