"""Collection spec -> Milvus schema and index params.

:func:`build_schema` and :func:`build_index_params` are pure: they take a spec and the
server's :class:`~milvus_plugins.core.capabilities.Capabilities` and return what
``create_collection`` needs. The reverse (checking a described collection against a spec,
reading a spec back from one) is :mod:`milvus_plugins.core.existing_schema`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from pymilvus import DataType, Function, FunctionType, MilvusClient

from milvus_plugins.core.capabilities import BM25_FEATURE, Capabilities
from milvus_plugins.core.config import CollectionSpec
from milvus_plugins.core.errors import (
    ConfigError,
    UnsupportedByServerError,
)
from milvus_plugins.core.fields import DenseField, MetadataField
from milvus_plugins.core.indexes import (
    AutoIndex,
    FlatIndex,
    HnswIndex,
    IndexConfig,
)
from milvus_plugins.core.names import SYSTEM_FIELDS
from milvus_plugins.core.properties import check_properties_supported
from milvus_plugins.core.types import IndexType, MetricType, ScalarType, SparseMode

__all__ = [
    "build_index_params",
    "build_schema",
    "check_supported",
    "dense_index",
    "field_index",
    "sent_build_params",
]

SCALAR_TO_DATATYPE = {
    ScalarType.INT64: DataType.INT64,
    ScalarType.DOUBLE: DataType.DOUBLE,
    ScalarType.BOOL: DataType.BOOL,
    ScalarType.VARCHAR: DataType.VARCHAR,
    ScalarType.ARRAY: DataType.ARRAY,
}
DATATYPE_TO_SCALAR = {v: k for k, v in SCALAR_TO_DATATYPE.items()}
"""The metadata column types and their pymilvus data types, both ways."""
BM25_FUNCTION_NAME = "text_bm25"
LITE_DENSE_INDEXES = (
    IndexType.FLAT,
    IndexType.IVF_FLAT,
    IndexType.IVF_SQ8,
    IndexType.HNSW,
    IndexType.AUTOINDEX,
)


def dense_index(spec: CollectionSpec, caps: Capabilities) -> IndexConfig:
    """The index of the canonical dense field (see :func:`field_index`).

    Raises:
        ConfigError: a sparse-only collection (no dense field).
    """
    return field_index(spec.dense_field(), caps)


def field_index(dense: DenseField, caps: Capabilities) -> IndexConfig:
    """The index of one dense field: its own, else the default for the engine.

    * Milvus Lite 3: ``HNSW`` (M 16, efConstruction 200, size-aware ``ef``: 128 up to
      50,000 rows, 256 above; see :class:`HnswIndex`). Measured on Lite 3.2.2: recall@10
      0.999 on SciFact (5,183 MiniLM vectors, 300 queries), 0.990-0.993 on 20,000 and
      0.996 on 100,000 clustered 384-d vectors, where FLAT's search cost grows with the
      row count (3.1x HNSW's at 20,000 rows). Lite searches rows not yet indexed (and segments of
      at most ``ef`` rows, which HNSW then visits whole) exactly, so small collections
      keep exact results. ``index="FLAT"`` asks for exact search at any size.
    * Milvus Lite 2.5 (no HNSW there): ``FLAT``.
    * Servers: ``AUTOINDEX`` (the server picks and tunes a graph index).
    """
    if dense.index_config is not None:
        return dense.index_config
    kind = HnswIndex if caps.is_lite and caps.hnsw else FlatIndex if caps.is_lite else AutoIndex
    return _default_index(kind, dense.metric_type)


@functools.cache
def _default_index(kind: type[IndexConfig], metric: MetricType) -> IndexConfig:
    # Index configs are frozen: one per (kind, metric) serves every search.
    return kind(metric=metric)


def _add_declared(
    schema: Any, decl: MetadataField, caps: Capabilities, partition_key: bool
) -> None:
    kwargs: dict[str, Any] = {}
    kind = decl.scalar_type
    if kind is ScalarType.VARCHAR:
        kwargs["max_length"] = decl.max_length
    if kind is ScalarType.ARRAY:
        element = decl.element_scalar_type
        kwargs["element_type"] = SCALAR_TO_DATATYPE[element] if element else DataType.VARCHAR
        kwargs["max_capacity"] = decl.max_capacity
        if element is ScalarType.VARCHAR:
            kwargs["max_length"] = decl.max_length
    if partition_key:
        kwargs["is_partition_key"] = True
    elif caps.nullable:
        kwargs["nullable"] = True
    schema.add_field(decl.name, SCALAR_TO_DATATYPE[kind], **kwargs)


def check_supported(spec: CollectionSpec, caps: Capabilities) -> None:
    """Raise before any I/O on the collection when ``spec`` needs what the server lacks.

    Raises:
        UnsupportedByServerError: sparse vectors, the BM25 function or several vector
            fields (Milvus 2.3), a partition key (Milvus Lite 2.5: filters on it fail),
            ``num_partitions`` (Milvus Lite: always 16), text match (Milvus 2.3, Milvus
            Lite 2.5: both accept ``enable_match`` and ignore it), a TTL or mmap property
            the engine would not keep or apply.
    """
    if spec.partition_key is not None:
        caps.require("partition key", caps.partitions)
    if spec.num_partitions is not None:
        caps.require("num_partitions", caps.num_partitions)
    if spec.extra_vector_fields:
        caps.require("multiple vector fields", caps.multi_vector)
    if spec.sparse_mode is SparseMode.BM25:  # named first: it needs the newer server
        caps.require(
            BM25_FEATURE,
            caps.bm25_function,
            needs="Milvus >= 2.5.0 or Milvus Lite; on an older server create the store "
            "without it (core sparse='none', LangChain retrieval_mode='dense', LlamaIndex "
            "enable_sparse=False), or with client-side sparse vectors (a SparseEncoder such "
            "as BM25Encoder, Milvus >= 2.4.0)",
        )
    if spec.has_sparse:
        caps.require("sparse vectors", caps.sparse)
    if spec.text_match:
        caps.require("text match", caps.text_match)
    check_properties_supported(spec.collection_properties, caps)


def build_schema(spec: CollectionSpec, caps: Capabilities) -> Any:
    """Return the pymilvus schema for ``spec`` on a server with ``caps``.

    Raises:
        ConfigError: the spec has no dimension yet.
        UnsupportedByServerError: the spec needs sparse vectors or BM25 the server lacks.
    """
    if spec.dense and spec.dim is None:
        raise ConfigError("the collection's dim is unknown; pass dim= or add vectors first.")
    unknown = [f.name for f in spec.extra_vector_fields if f.dim is None]
    if unknown:
        raise ConfigError(
            f"the dimension of vector fields {unknown} is unknown; give DenseField(dim=...) "
            "or add vectors first."
        )
    fields = [f.name for f in spec.declared_fields] + [f.name for f in spec.extra_vector_fields]
    reserved = sorted(name for name in fields if name in SYSTEM_FIELDS)
    if reserved:
        # Milvus servers refuse them at create (Milvus Lite 3 takes them, so a collection
        # made there still opens; a new one is refused on every engine, as it would not
        # move to a server).
        raise ConfigError(
            f"field name(s) {reserved} are reserved by Milvus (its system fields "
            f"{sorted(SYSTEM_FIELDS)}); rename the metadata field, e.g. "
            f"MetadataField(name={(reserved[0].lower() + '_')!r}, ...)."
        )
    names = spec.fields
    check_supported(spec, caps)
    schema = MilvusClient.create_schema(
        auto_id=False, enable_dynamic_field=False, description=spec.description
    )
    schema.add_field(names.id, DataType.VARCHAR, is_primary=True, max_length=spec.id_max_length)
    text_kwargs: dict[str, Any] = {"max_length": spec.text_max_length}
    if spec.analyzes_text:
        text_kwargs.update(enable_analyzer=True, analyzer_params=spec.analyzer_params)
    if spec.text_match:
        text_kwargs["enable_match"] = True
    schema.add_field(names.text, DataType.VARCHAR, **text_kwargs)
    for dense in spec.dense_fields:
        schema.add_field(dense.name, DataType.FLOAT_VECTOR, dim=dense.dim)
    if spec.has_sparse:
        schema.add_field(names.sparse, DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field(names.metadata, DataType.JSON)
    schema.add_field(names.doc_id, DataType.VARCHAR, max_length=spec.id_max_length)
    schema.add_field(names.extra, DataType.JSON)
    for decl in spec.declared_fields:
        _add_declared(schema, decl, caps, partition_key=decl.name == spec.partition_key)
    for column in spec.accelerated_fields:
        _add_declared(schema, column, caps, partition_key=False)
    if spec.sparse_mode is SparseMode.BM25:
        schema.add_function(
            Function(
                name=BM25_FUNCTION_NAME,
                function_type=FunctionType.BM25,
                input_field_names=[names.text],
                output_field_names=[names.sparse],
            )
        )
    return schema


def _scalar_index_type(decl: MetadataField, caps: Capabilities) -> str | None:
    if caps.is_lite:
        return None  # Lite scans typed columns quickly and builds no scalar indexes
    if decl.scalar_type is ScalarType.ARRAY and not caps.array_index:
        return None
    if caps.inverted_index:
        return "INVERTED"
    if decl.scalar_type in (ScalarType.INT64, ScalarType.DOUBLE):
        return "STL_SORT"
    if decl.scalar_type is ScalarType.VARCHAR:
        return "Trie"
    return None


def build_index_params(spec: CollectionSpec, caps: Capabilities) -> Any:
    """Return the pymilvus index params (dense, sparse and scalar indexes) for ``spec``."""
    names = spec.fields
    params = MilvusClient.prepare_index_params()
    # Scalar indexes first, vector indexes last: a server loads no collection before
    # every vector field has an index, so another client opening it while the indexes
    # are made waits for all of them. Loaded in between, the 2.3.5 server refused every
    # later load ("can't change the index for loaded collection").
    for decl in (*spec.declared_fields, *spec.accelerated_fields):
        kind = _scalar_index_type(decl, caps) if decl.index else None
        if kind is not None:
            params.add_index(field_name=decl.name, index_type=kind)
    for field in spec.dense_fields:
        dense = field_index(field, caps)
        if caps.is_lite and dense.index_type not in LITE_DENSE_INDEXES:
            # Milvus Lite accepts these but its build fails forever and search silently
            # falls back to brute force: refuse them up front instead.
            built = ", ".join(t.value for t in LITE_DENSE_INDEXES)
            raise UnsupportedByServerError(
                f"the {dense.index_type.value} index",
                "2.3",
                caps.version,
                needs=f"a Milvus server (Milvus Lite builds {built})",
            )
        params.add_index(
            field_name=field.name,
            index_type=dense.index_type.value,
            metric_type=dense.metric_type.value,
            params=sent_build_params(dense.build_params(), caps),
        )
    if spec.has_sparse and spec.sparse_index is not None:
        drop = spec.sparse_index.build_params().get("drop_ratio_build", 0.0)
        if drop and not caps.sparse_drop_ratio_build:
            raise UnsupportedByServerError(
                f"a sparse index with drop_ratio_build={drop}",
                "2.4",
                caps.version,
                needs="drop_ratio_build=0 here (SparseInvertedIndex()), or a Milvus server",
            )
        params.add_index(
            field_name=names.sparse,
            index_type=spec.sparse_index.index_type.value,
            metric_type=spec.sparse_index.metric_type.value,
            params=sent_build_params(spec.sparse_index.build_params(), caps),
        )
    return params


def sent_build_params(build: Mapping[str, Any], caps: Capabilities) -> dict[str, Any]:
    """An index's build parameters as this engine reads them.

    pymilvus sends each parameter as its own entry of the request. Milvus Lite 3 reads
    only a nested ``params`` entry (:attr:`Capabilities.nested_index_params`): without
    it, ``HnswIndex(M=32)`` would silently be built with M 16. Both spellings are sent
    there, so an engine reading either builds what was asked.
    """
    sent = dict(build)
    if caps.nested_index_params and build:
        sent["params"] = dict(build)
    return sent
