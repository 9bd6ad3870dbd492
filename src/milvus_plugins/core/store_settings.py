"""An adapter constructor's settings in the core's terms, and the store they make (no I/O).

Both adapters' constructors take the same settings under their framework's names
(LangChain's ``drop_old`` and ``metric`` are LlamaIndex's ``overwrite`` and
``similarity_metric``). Each adapter translates its names into one
:class:`StoreSettings`; what the settings *mean* (the sparse field a ``sparse=``
setting asks for, the dense fields, the accepted rankers, the hybrid defaults, the
collection spec and the :class:`MilvusStore`) is decided here, once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from milvus_plugins.core.batching import WriteOptions
from milvus_plugins.core.config import (
    CollectionSpec,
    ConnectionConfig,
    DenseField,
    FieldNames,
    MetadataField,
    TextAnalyzer,
)
from milvus_plugins.core.connection import check_client_kwargs
from milvus_plugins.core.errors import ConfigError
from milvus_plugins.core.fingerprint import EmbeddingProbe
from milvus_plugins.core.indexes import IndexConfig
from milvus_plugins.core.layouts import FieldMapping, as_field_mapping
from milvus_plugins.core.policy import check_ranker, choose_sparse, hybrid_legs
from milvus_plugins.core.properties import CollectionProperties
from milvus_plugins.core.ranking import RRF, Ranker
from milvus_plugins.core.retry import RetryPolicy
from milvus_plugins.core.scope import TenantMode
from milvus_plugins.core.session import OpenMode
from milvus_plugins.core.sparse import SparseEncoder
from milvus_plugins.core.store import HybridOptions, MilvusStore
from milvus_plugins.core.types import ConsistencyLevel, MetricType

__all__ = ["StoreSettings"]


@dataclass(frozen=True, kw_only=True)
class StoreSettings:
    """What an adapter's constructor was given, under the core's names.

    Attributes:
        collection_name: the collection.
        connection: where it lives.
        dense: ``False`` for a sparse-only collection (no dense field).
        vector_field: the canonical dense field's name (``""``: ``"vector"``).
        extra_vector_fields: the names of the dense fields beside it, each filled by
            its own model; all use ``metric``.
        dim: the canonical field's dimension (``None``: from the first write).
        index: the dense index.
        metric: the dense metric when ``index`` does not set one.
        metadata_fields: metadata keys stored as typed columns.
        infer_metadata_fields: whether the first write adds accelerator columns.
        partition_key: the partition key (tenant) field.
        num_partitions: the partitions Milvus hashes ``partition_key`` into.
        sparse: the adapter's ``sparse=`` setting (see :func:`choose_sparse`).
        sparse_wanted: whether the adapter's other settings ask for a sparse field
            (``None``: no preference).
        sparse_wanted_by: the setting that says ``sparse_wanted``, for messages.
        bm25_analyzer: how server-side BM25 splits the text.
        text_match: index the text for ``text_match`` filters.
        collection_properties: TTL, mmap, shards and replicas at creation.
        consistency_level: the read consistency.
        text_max_length: the maximum text length in bytes.
        field_mapping: the layout of a foreign collection to read through.
        ranker: the hybrid fusion as given (``None``: ``RRF()``), checked against the
            hybrid legs of the spec.
        fetch_k: hybrid candidates per leg (``None``: ``max(4k, 20)``).
        drop_old: drop an existing collection of that name at the first write (a read before
            it finds nothing).
        open_mode: check an existing collection against the spec, or adopt it.
        write: batching and progress options of writes.
        retry: the retry policy (``None``: the default).
        client_kwargs: extra keyword arguments of the pymilvus client (not ``uri``,
            ``token`` or ``db_name``: ``connection`` sets those; a ``timeout`` there is
            checked as the connection's is).
        embedding: the canonical field's model fingerprint probe, if any.
        allow_embedding_change: open a collection filled by another model.
        tenant: the tenant every call is scoped to.
        tenant_mode: ``"optional"`` or ``"strict"``.
    """

    collection_name: str
    connection: ConnectionConfig
    dense: bool = True
    vector_field: str = ""
    extra_vector_fields: Sequence[str] = ()
    dim: int | None = None
    index: IndexConfig | Mapping[str, Any] | str | None = None
    metric: MetricType | str = MetricType.COSINE
    metadata_fields: Sequence[MetadataField] | Mapping[str, Any] | None = None
    infer_metadata_fields: bool | None = None
    partition_key: str | None = None
    num_partitions: int | None = None
    sparse: str | SparseEncoder | None = None
    sparse_wanted: bool | None = None
    sparse_wanted_by: str = ""
    bm25_analyzer: TextAnalyzer | Mapping[str, Any] | None = None
    text_match: bool = False
    collection_properties: CollectionProperties | Mapping[str, Any] | None = None
    consistency_level: ConsistencyLevel | str = ConsistencyLevel.STRONG
    text_max_length: int = 65535
    field_mapping: FieldMapping | Mapping[str, Any] | None = None
    ranker: Ranker | None = None
    fetch_k: int | None = None
    drop_old: bool = False
    open_mode: OpenMode | str = OpenMode.CHECK
    write: WriteOptions | None = None
    retry: RetryPolicy | None = None
    client_kwargs: Mapping[str, Any] | None = None
    embedding: EmbeddingProbe | None = None
    allow_embedding_change: bool = False
    tenant: str | int | None = None
    tenant_mode: TenantMode | str = TenantMode.OPTIONAL

    def __post_init__(self) -> None:
        """Check the connection-side settings' types (no I/O); the rest is checked by
        :meth:`build` (the spec) and the store.

        Raises:
            ConfigError: ``connection``, ``write`` or ``retry`` of another type, or
                ``client_kwargs`` that :func:`check_client_kwargs` refuses (a bad
                ``timeout``; ``uri``/``token``/``db_name``, which the connection sets).
        """
        for name, value, kind in (
            ("connection", self.connection, ConnectionConfig),
            ("write", self.write, WriteOptions),
            ("retry", self.retry, RetryPolicy),
        ):
            if value is not None and not isinstance(value, kind):
                raise ConfigError(
                    f"{name} must be a {kind.__name__}"
                    f"{'' if name == 'connection' else ' or None'} "
                    f"({type(value).__name__} given)."
                )
        if self.connection is None:
            raise ConfigError("connection must be a ConnectionConfig (None given).")
        check_client_kwargs(self.client_kwargs)

    def build(self) -> MilvusStore:
        """The collection spec and the store on it (no I/O).

        Raises:
            ConfigError: an invalid or contradictory setting: the sparse setting, the
                spec, a ranker without one weight per hybrid leg, the tenancy.
        """
        sparse_mode, encoder = choose_sparse(
            self.sparse, wanted=self.sparse_wanted, wanted_by=self.sparse_wanted_by
        )
        extra = [DenseField(name=n, metric=self.metric) for n in self.extra_vector_fields]
        spec = CollectionSpec(
            name=self.collection_name,
            dense=self.dense,
            fields=FieldNames(vector=self.vector_field) if self.vector_field else FieldNames(),
            vector_fields=extra,
            dim=self.dim,
            index=self.index,
            metric=self.metric,
            sparse=sparse_mode,
            analyzer=self.bm25_analyzer,
            text_match=self.text_match,
            properties=self.collection_properties,
            metadata_fields=self.metadata_fields or (),
            partition_key=self.partition_key,
            num_partitions=self.num_partitions,
            infer_metadata_fields=self.infer_metadata_fields,
            consistency_level=self.consistency_level,
            text_max_length=self.text_max_length,
            layout=as_field_mapping(self.field_mapping),
        )
        ranker = check_ranker(self.ranker, hybrid_legs(spec)) or RRF()
        return MilvusStore(
            spec,
            connection=self.connection,
            drop_old=self.drop_old,
            open_mode=self.open_mode,
            write=self.write,
            retry=self.retry,
            hybrid=HybridOptions(ranker=ranker, fetch_k=self.fetch_k),
            sparse_encoder=encoder,
            client_kwargs=self.client_kwargs,
            embedding=self.embedding,
            allow_embedding_change=self.allow_embedding_change,
            tenant=self.tenant,
            tenant_mode=self.tenant_mode,
        )
