"""The shared Milvus core: configuration, filters, ranking, and the sync/async stores.

This package is the only one that imports pymilvus. Adapters translate framework types
into :class:`Record`, core filters and :class:`SearchRequest` values, call
:class:`MilvusStore` or :class:`AsyncMilvusStore`, and import only the names here.

Layers: :mod:`.filters` (tree, dialect, compiler, evaluator), :mod:`.ops` (every
operation once, as pure code), :mod:`.runners` (sync and async execution),
:mod:`.store` / :mod:`.async_store` (thin facades) and :mod:`.policy` (what both
adapters decide alike).
"""

from milvus_plugins.core import _pymilvus_import  # noqa: F401  (must run first)
from milvus_plugins.core.arguments import as_list, check_argument, checked_arguments, id_list
from milvus_plugins.core.async_store import AsyncMilvusStore
from milvus_plugins.core.autotune import AutotuneResult, autotune
from milvus_plugins.core.batching import WriteOptions, with_batch_rows
from milvus_plugins.core.capabilities import Capabilities, detect_capabilities
from milvus_plugins.core.config import (
    DEFAULT_URI,
    CollectionSpec,
    ConnectionConfig,
    FieldNames,
    MetadataField,
    TextAnalyzer,
)
from milvus_plugins.core.describe import describe_fields
from milvus_plugins.core.dict_filters import OPERATORS as DICT_FILTER_OPERATORS
from milvus_plugins.core.dict_filters import filter_from_dict
from milvus_plugins.core.errors import (
    AuthenticationError,
    CollectionNotFoundError,
    ConfigError,
    FilterError,
    ForeignLayoutError,
    InvalidInputError,
    MilvusConnectionError,
    MilvusOperationError,
    MilvusPluginsError,
    SchemaMismatchError,
    UnexpectedArgumentError,
    UnsupportedByServerError,
    WriteError,
    shown,
)
from milvus_plugins.core.filters import (
    Compare,
    CompareOp,
    Filter,
    In,
    Like,
    and_,
    compile_filter,
    contains,
    contains_all,
    contains_any,
    doc_id_in,
    ensure_filter,
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
from milvus_plugins.core.layouts import FieldMapping, LayoutKind, as_field_mapping
from milvus_plugins.core.migration import (
    MigrationReport,
    Verification,
    migrate,
    migration_target_spec,
)
from milvus_plugins.core.mmr import maximal_marginal_relevance
from milvus_plugins.core.ops.fusion import Fusion
from milvus_plugins.core.ops.search import SearchKind, SearchRequest, plan_retrieval
from milvus_plugins.core.ops.writes import WriteMode
from milvus_plugins.core.policy import (
    StoreLifetime,
    StorePair,
    check_kwargs,
    check_ranker,
    choose_sparse,
    need_search_inputs,
    order_by_ids,
    require_sparse_for,
)
from milvus_plugins.core.ranking import RRF, Ranker, Weighted, relevance
from milvus_plugins.core.records import Record, content_id, new_id
from milvus_plugins.core.requests import is_filter_only
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
    "DICT_FILTER_OPERATORS",
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
    "Compare",
    "CompareOp",
    "ConfigError",
    "ConnectionConfig",
    "ConsistencyLevel",
    "DiskAnnIndex",
    "FieldMapping",
    "FieldNames",
    "Filter",
    "FilterError",
    "FlatIndex",
    "ForeignLayoutError",
    "Fusion",
    "GpuCagraIndex",
    "GpuIvfFlatIndex",
    "Hit",
    "HnswIndex",
    "HybridOptions",
    "In",
    "IndexConfig",
    "IndexType",
    "InvalidInputError",
    "IvfFlatIndex",
    "IvfPqIndex",
    "IvfSq8Index",
    "LayoutKind",
    "Like",
    "MetadataField",
    "MetricType",
    "MigrationReport",
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
    "SearchKind",
    "SearchRequest",
    "SparseEncoder",
    "SparseInvertedIndex",
    "SparseMode",
    "StoreLifetime",
    "StorePair",
    "TextAnalyzer",
    "UnexpectedArgumentError",
    "UnsupportedByServerError",
    "Verification",
    "Weighted",
    "WriteError",
    "WriteMode",
    "WriteOptions",
    "and_",
    "as_field_mapping",
    "as_list",
    "autotune",
    "check_argument",
    "check_kwargs",
    "check_ranker",
    "checked_arguments",
    "choose_sparse",
    "compile_filter",
    "contains",
    "contains_all",
    "contains_any",
    "content_id",
    "describe_fields",
    "detect_capabilities",
    "doc_id_in",
    "ensure_filter",
    "eq",
    "exists",
    "filter_from_dict",
    "gt",
    "gte",
    "id_in",
    "id_list",
    "in_",
    "index_from_dict",
    "is_empty",
    "is_filter_only",
    "like",
    "lt",
    "lte",
    "matches",
    "maximal_marginal_relevance",
    "migrate",
    "migration_target_spec",
    "ne",
    "need_search_inputs",
    "new_id",
    "nin",
    "not_",
    "or_",
    "order_by_ids",
    "plan_retrieval",
    "recommend_index",
    "relevance",
    "require_sparse_for",
    "shown",
    "text_contains",
    "with_batch_rows",
]
