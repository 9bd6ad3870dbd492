"""llama-index-vector-stores-milvus' (1.x) names for what this store calls otherwise.

Code copied from the official integration passes them. Taken with the same meaning:
the constructor's ``index_config``, ``hybrid_ranker``/``hybrid_ranker_params``,
``batch_size`` and ``upsert_mode=True`` (parameters of the store), and ``add``'s
``milvus_partition_name`` and ``force_flush``. The others here are refused, before
anything is created, embedded or written, with these hints; a keyword that is neither
is refused with the accepted name it most resembles.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from milvus_plugins.core import RRF, ConfigError, Ranker, Weighted, shown

__all__ = ["CALL_HINTS", "SETTING_HINTS", "index_of_config", "ranker_of"]

_LAYOUT = (
    "this store names its own fields (id, text, vector, doc_id, metadata); to read a "
    "collection of another layout, pass field_mapping=FieldMapping(...)"
)
_CLIENT = "MilvusClient keyword arguments go in client_kwargs={...}"
_FILTERS = (
    "this store's query() takes no raw expression: filter with "
    "VectorStoreQuery(filters=MetadataFilters(...))"
)

SETTING_HINTS: dict[str, str] = {
    "search_config": (
        "search knobs belong to the index: index=HnswIndex(ef=...) (IvfFlatIndex(nprobe=...))"
    ),
    "sparse_embedding_function": (
        "enable_sparse=True is server-side BM25; client-side sparse vectors are "
        "sparse=<a SparseEncoder> (e.g. BM25Encoder().fit(corpus))"
    ),
    "sparse_index_config": "the sparse index follows enable_sparse=True / sparse=...",
    "text_key": _LAYOUT,
    "embedding_field": (
        "leave it out to read a collection llama-index-vector-stores-milvus made (its "
        "dense field is found whatever its name; should it not be, pass field_mapping="
        "FieldMapping(id='id', text='text', vector=<that field>, doc_id='doc_id', "
        "dynamic=True, kind='llama_index')); "
        + _LAYOUT
        + "; several dense fields: vector_fields={'name': model}"
    ),
    "doc_id_field": _LAYOUT,
    "sparse_embedding_field": _LAYOUT,
    "output_fields": "choose them per query: VectorStoreQuery(output_fields=[...])",
    "enable_dynamic_field": (
        "every metadata key is kept without it (undeclared keys in a JSON column): leave it "
        "out, or declare typed keys with metadata_fields={'year': 'INT64'}"
    ),
    "scalar_field_names": "declare typed keys with metadata_fields={'year': 'INT64', ...}",
    "scalar_field_types": "declare typed keys with metadata_fields={'year': 'INT64', ...}",
    "index_management": (
        "open_mode='check' (an existing collection must match these settings) or 'adopt'"
    ),
    "use_async_client": "the async methods open their own client: leave it out",
    **{
        name: _CLIENT
        for name in (
            "server_pem_path",
            "server_name",
            "secure",
            "client_pem_path",
            "client_key_path",
            "ca_pem_path",
            "alias",
        )
    },
    "user": "pass token='user:password'",
    "password": "pass token='user:password'",
}
"""Constructor arguments of the official store this one does not take."""

CALL_HINTS: dict[str, str] = {
    "expr": _FILTERS,
    "string_expr": _FILTERS,
    "milvus_scalar_filters": _FILTERS,
    "milvus_search_config": (
        "search knobs are set on the store: index=HnswIndex(ef=...) (IvfFlatIndex(nprobe=...))"
    ),
    "milvus_partition_name": "name the partitions as milvus_partition_names=[...]",
}
"""Keyword arguments of the official store's methods that ours do not take."""


def index_of_config(index_config: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The ``index=`` of the official ``index_config`` (its index type defaults to FLAT,
    as there; its other keys are the index's parameters, as ``index=`` reads them)."""
    if index_config is None:
        return None
    return {"index_type": "FLAT", **index_config}


def ranker_of(name: str | None, params: Mapping[str, Any] | None) -> Ranker | None:
    """The ranker of the official ``hybrid_ranker`` / ``hybrid_ranker_params``.

    ``"RRFRanker"`` (the official default) with ``{"k": ...}`` is :class:`RRF`;
    ``"WeightedRanker"`` with ``{"weights": [dense, sparse]}`` (default ``[1.0, 1.0]``,
    as there) is :class:`Weighted`. Neither given: ``None``.

    Raises:
        ConfigError: another ranker name, or parameters that ranker does not take.
    """
    if name is None and params is None:
        return None
    given = dict(params or {})
    kind = name or "RRFRanker"
    if kind == "RRFRanker" and set(given) <= {"k"}:
        return RRF(given.get("k", 60))
    if kind == "WeightedRanker" and set(given) <= {"weights"}:
        return Weighted(given.get("weights", [1.0, 1.0]))
    raise ConfigError(
        f"hybrid_ranker={shown(kind)} with hybrid_ranker_params={shown(given)} is not a ranker "
        "here: 'RRFRanker' takes {'k': 60}, 'WeightedRanker' {'weights': [dense, sparse]}; "
        "or pass ranker=RRF(60) / ranker=Weighted(0.7, 0.3)."
    )
