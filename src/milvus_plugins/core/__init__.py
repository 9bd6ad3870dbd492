"""The shared Milvus core: configuration, filters, ranking, and the sync/async stores.

This package is the only one that imports pymilvus. Adapters translate framework types
into :class:`Record`, core filters and queries, and call :class:`MilvusStore` or
:class:`AsyncMilvusStore`.
"""

from milvus_plugins.core import _pymilvus_import  # noqa: F401  (must run first)
from milvus_plugins.core.async_store import AsyncMilvusStore
from milvus_plugins.core.autotune import AutotuneResult, autotune
from milvus_plugins.core.batching import WriteOptions
from milvus_plugins.core.capabilities import Capabilities, detect_capabilities
from milvus_plugins.core.config import (
    DEFAULT_URI,
    CollectionSpec,
    ConnectionConfig,
    FieldNames,
    MetadataField,
    TextAnalyzer,
)
from milvus_plugins.core.dict_filters import filter_from_dict
from milvus_plugins.core.errors import (
    AuthenticationError,
    CollectionNotFoundError,
    ConfigError,
    FilterError,
    InvalidInputError,
    MilvusConnectionError,
    MilvusOperationError,
    MilvusPluginsError,
    SchemaMismatchError,
    UnsupportedByServerError,
    WriteError,
)
from milvus_plugins.core.filters import (
    Filter,
    and_,
    compile_filter,
    contains,
    contains_all,
    contains_any,
    doc_id_in,
    eq,
    exists,
    gt,
    gte,
    id_in,
    in_,
    is_empty,
    like,
    lt,
    lte,
    matches,
    ne,
    nin,
    not_,
    or_,
    text_contains,
)
from milvus_plugins.core.indexes import (
    AutoIndex,
    DiskAnnIndex,
    FlatIndex,
    GpuCagraIndex,
    GpuIvfFlatIndex,
    HnswIndex,
    IndexConfig,
    IvfFlatIndex,
    IvfPqIndex,
    IvfSq8Index,
    ScannIndex,
    SparseInvertedIndex,
    index_from_dict,
    recommend_index,
)
from milvus_plugins.core.mmr import maximal_marginal_relevance
from milvus_plugins.core.ranking import RRF, Ranker, Weighted, relevance
from milvus_plugins.core.records import Record, content_id, new_id
from milvus_plugins.core.results import Hit
from milvus_plugins.core.retry import RetryPolicy
from milvus_plugins.core.session import OpenMode
from milvus_plugins.core.sparse import BM25Encoder, SparseEncoder
from milvus_plugins.core.stats import CollectionStats
from milvus_plugins.core.store import HybridOptions, MilvusStore
from milvus_plugins.core.types import (
    ConsistencyLevel,
    IndexType,
    MetricType,
    RetrievalMode,
    ScalarType,
    SparseMode,
)

__all__ = [
    "DEFAULT_URI",
    "RRF",
    "AsyncMilvusStore",
    "AuthenticationError",
    "AutoIndex",
    "AutotuneResult",
    "BM25Encoder",
    "Capabilities",
    "CollectionNotFoundError",
    "CollectionSpec",
    "CollectionStats",
    "ConfigError",
    "ConnectionConfig",
    "ConsistencyLevel",
    "DiskAnnIndex",
    "FieldNames",
    "Filter",
    "FilterError",
    "FlatIndex",
    "GpuCagraIndex",
    "GpuIvfFlatIndex",
    "Hit",
    "HnswIndex",
    "HybridOptions",
    "IndexConfig",
    "IndexType",
    "InvalidInputError",
    "IvfFlatIndex",
    "IvfPqIndex",
    "IvfSq8Index",
    "MetadataField",
    "MetricType",
    "MilvusConnectionError",
    "MilvusOperationError",
    "MilvusPluginsError",
    "MilvusStore",
    "OpenMode",
    "Ranker",
    "Record",
    "RetrievalMode",
    "RetryPolicy",
    "ScalarType",
    "ScannIndex",
    "SchemaMismatchError",
    "SparseEncoder",
    "SparseInvertedIndex",
    "SparseMode",
    "TextAnalyzer",
    "UnsupportedByServerError",
    "Weighted",
    "WriteError",
    "WriteOptions",
    "and_",
    "autotune",
    "compile_filter",
    "contains",
    "contains_all",
    "contains_any",
    "content_id",
    "detect_capabilities",
    "doc_id_in",
    "eq",
    "exists",
    "filter_from_dict",
    "gt",
    "gte",
    "id_in",
    "in_",
    "index_from_dict",
    "is_empty",
    "like",
    "lt",
    "lte",
    "matches",
    "maximal_marginal_relevance",
    "ne",
    "new_id",
    "nin",
    "not_",
    "or_",
    "recommend_index",
    "relevance",
    "text_contains",
]
