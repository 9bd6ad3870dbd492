"""Frozen, keyword-only configuration objects, validated before any I/O.

* :class:`CollectionSpec`: the one collection layout both adapters share (this module).
* :class:`ConnectionConfig`: where Milvus is (:mod:`milvus_plugins.core.connection`).
* :class:`FieldNames`, :class:`MetadataField`, :class:`DenseField`: the canonical field
  names, declared typed metadata columns and named dense vectors
  (:mod:`milvus_plugins.core.fields`).
* :class:`TextAnalyzer`: how the BM25 function splits text into terms
  (:mod:`milvus_plugins.core.analyzers`).

Every name stays importable from here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

from milvus_plugins.core.analyzers import (
    ENGLISH_STOP_WORDS,
    TextAnalyzer,
    analyzer_params,
    stop_words_of,
)
from milvus_plugins.core.connection import (
    DEFAULT_URI,
    ConnectionConfig,
    is_utf8,
    strip_userinfo,
)
from milvus_plugins.core.errors import ConfigError, shown
from milvus_plugins.core.fields import (
    DenseField,
    FieldNames,
    MetadataField,
    check_vector_settings,
    coerce_metadata_fields,
    coerce_vector_fields,
)
from milvus_plugins.core.indexes import IndexConfig, SparseInvertedIndex
from milvus_plugins.core.names import check_name
from milvus_plugins.core.properties import CollectionProperties, coerce_properties
from milvus_plugins.core.types import ConsistencyLevel, MetricType, ScalarType, SparseMode

if TYPE_CHECKING:
    from milvus_plugins.core.layouts import FieldMapping

__all__ = [
    "DEFAULT_URI",
    "ENGLISH_STOP_WORDS",
    "CollectionSpec",
    "ConnectionConfig",
    "DenseField",
    "FieldNames",
    "MetadataField",
    "TextAnalyzer",
    "analyzer_params",
    "stop_words_of",
    "strip_userinfo",
]

MAX_NUM_PARTITIONS = 4096  # Milvus' limit on partitions (and partition-key partitions)


@dataclass(frozen=True, kw_only=True)
class CollectionSpec:
    """The canonical collection layout shared by every adapter.

    Fields: ``id`` VARCHAR primary key, ``text`` VARCHAR (with an analyzer when the
    server-side BM25 function is used), ``vector`` FLOAT_VECTOR(dim), optional
    ``sparse`` SPARSE_FLOAT_VECTOR, ``metadata`` JSON, ``doc_id`` VARCHAR (the source
    document of a chunk), ``extra`` JSON (framework-private data, e.g. LlamaIndex node
    relationships), plus the declared typed metadata fields.

    Attributes:
        name: collection name.
        dim: dense vector dimension, or ``None`` until the first write infers it.
        index: dense index config (``None``: HNSW with a size-aware ef on Milvus Lite 3,
            FLAT on Lite 2.5, AUTOINDEX on servers).
        metric: dense metric, used when ``index`` is ``None``.
        sparse: ``"none"``, ``"bm25"`` (server function) or ``"client"`` (encoder).
        sparse_index: the sparse index config.
        metadata_fields: declared typed metadata fields (a sequence of
            :class:`MetadataField` or a mapping ``name -> type``).
        partition_key: the metadata key used as Milvus partition key, or ``None``.
            Declare its type in ``metadata_fields`` (INT64 or VARCHAR); undeclared, its
            type is read from the existing collection, or, when a write creates the
            collection, taken from that write's values (``str``: VARCHAR, ``int``:
            INT64; see :attr:`partition_key_pending`).
        num_partitions: with a partition key, how many partitions Milvus hashes its
            values into (Milvus' default: 16 on 2.3, 64 later; at most 4096). Fixed at
            creation; an existing collection with another number is a schema mismatch.
            Milvus Lite 3.2.2 always makes 16 (``UnsupportedByServerError`` there).
        fields: canonical field names.
        text_max_length: maximum text length in bytes (the VARCHAR limit).
        id_max_length: maximum id length in bytes.
        analyzer: how the BM25 function tokenises ``text`` (``sparse="bm25"`` only): a
            :class:`TextAnalyzer` or Milvus analyzer params (default
            ``{"type": "standard"}``; see :func:`analyzer_params`). An existing
            collection with a different analyzer is a schema mismatch.
        consistency_level: read consistency (``Strong`` gives read-after-write).
        description: collection description.
        infer_metadata_fields: when a write creates the collection, also give each
            scalar metadata key of that write whose values share one kind a nullable
            typed *accelerator* column, so filters on it run at typed-column speed (see
            :mod:`milvus_plugins.core.inference`). The metadata JSON stays the source of
            truth: no value is ever refused or dropped, and a key that later holds a
            value of another kind is filtered through the JSON again. ``None`` (the
            default) and ``True``: on engines with nullable fields (Milvus Lite 3,
            servers >= 2.5), none elsewhere; ``False``: never.
        accelerated_fields: the accelerator columns of the collection: filled when the
            collection is created or opened (read from its properties), not set by hand.
        overflowed_keys: accelerated keys known to hold values their column cannot:
            filled from the collection's properties, not set by hand.
        dense: ``False`` makes a sparse-only collection: no ``vector`` field, records
            carry no dense vector, and only keyword (sparse) search and filter-only
            retrieval work (``sparse`` must then be ``"bm25"`` or ``"client"``).
        vector_fields: named dense fields besides ``vector`` (:class:`DenseField`, or
            a mapping ``name -> DenseField / dict / dim``); needs Milvus >= 2.4
            (multiple vector fields). See :attr:`dense_fields`.
        text_match: analyse the text field with ``analyzer`` and index its terms for
            the ``text_match`` / ``phrase_match`` filters (Milvus ``enable_match``;
            Milvus >= 2.5 or Milvus Lite 3). Fixed at creation: an existing collection
            without it is a schema mismatch; one with it is adopted as such.
        properties: TTL, mmap, shards and replicas set at creation (a
            :class:`~milvus_plugins.core.CollectionProperties` or a dict of its fields);
            those set are checked when an existing collection is opened. See
            :mod:`milvus_plugins.core.properties` for what each engine does with them.
        layout: read an existing collection of another layout through this
            :class:`~milvus_plugins.core.layouts.FieldMapping` (``None``: this package's
            layout, or a langchain-milvus / llama-index layout detected on opening).
            Such a collection is read-only for new rows (see :mod:`..layouts`).
        creation_tag: a text recorded in the collection's properties
            (``milvus_plugins.creation_tag``) when this spec creates it, so that its
            creator can tell its own collection from one another client made under the
            same name meanwhile (:func:`~milvus_plugins.core.reindex.reindex` tags its new
            collection with one per run). Not checked when an existing collection is opened.
    """

    name: str
    dim: int | None = None
    index: IndexConfig | Mapping[str, Any] | str | None = None
    metric: MetricType | str = MetricType.COSINE
    sparse: SparseMode | str = SparseMode.NONE
    sparse_index: SparseInvertedIndex | None = None
    metadata_fields: Sequence[MetadataField] | Mapping[str, Any] = ()
    partition_key: str | None = None
    num_partitions: int | None = None
    fields: FieldNames = field(default_factory=FieldNames)
    text_max_length: int = 65535
    id_max_length: int = 512
    analyzer: TextAnalyzer | Mapping[str, Any] | None = None
    consistency_level: ConsistencyLevel | str = ConsistencyLevel.STRONG
    description: str = ""
    infer_metadata_fields: bool | None = None
    dense: bool = True
    vector_fields: Sequence[DenseField] | Mapping[str, Any] = ()
    text_match: bool = False
    properties: CollectionProperties | Mapping[str, Any] | None = None
    layout: FieldMapping | None = None
    accelerated_fields: Sequence[MetadataField] = ()
    overflowed_keys: frozenset[str] = frozenset()
    creation_tag: str = ""

    def __post_init__(self) -> None:
        check_name("collection_name", self.name)
        for name, text in (("description", self.description), ("creation_tag", self.creation_tag)):
            if not isinstance(text, str):
                raise ConfigError(f"{name}={shown(text)} must be a str.")
            if not is_utf8(text):
                raise ConfigError(f"{name} must be UTF-8 text; got a string with a lone surrogate.")
        self._check_vector_fields()
        if self.layout is not None:
            from milvus_plugins.core.layouts import FieldMapping

            if not isinstance(self.layout, FieldMapping):
                raise ConfigError(f"layout={shown(self.layout)} must be a FieldMapping (or None).")
        index, metric = check_vector_settings("", self.dim, self.index, self.metric)
        object.__setattr__(self, "index", index)
        object.__setattr__(self, "metric", metric)
        sparse = SparseMode.parse(self.sparse, field="sparse")
        object.__setattr__(self, "sparse", sparse)
        if self.sparse_index is None and sparse is not SparseMode.NONE:
            sparse_metric = MetricType.BM25 if sparse is SparseMode.BM25 else MetricType.IP
            object.__setattr__(self, "sparse_index", SparseInvertedIndex(metric=sparse_metric))
        bm25_index = self.sparse_index if sparse is SparseMode.BM25 else None
        if bm25_index is not None and bm25_index.metric_type is not MetricType.BM25:
            raise ConfigError("sparse='bm25' needs a sparse index with metric BM25.")
        declared = coerce_metadata_fields(self.metadata_fields)
        object.__setattr__(self, "metadata_fields", declared)
        names = [f.name for f in declared]
        vector_clash = sorted(set(names) & {f.name for f in self.extra_vector_fields})
        if vector_clash:
            raise ConfigError(
                f"metadata_fields {vector_clash} clash with vector_fields of the same name; "
                "rename one of them."
            )
        if len(set(names)) != len(names):
            raise ConfigError(f"metadata_fields has duplicate names: {names}.")
        clash = sorted(set(names) & set(self.fields.all()))
        if clash:
            raise ConfigError(
                f"metadata_fields {clash} clash with reserved field names {self.fields.all()}; "
                "rename the metadata key or change FieldNames."
            )
        accelerated = tuple(self.accelerated_fields)
        object.__setattr__(self, "accelerated_fields", accelerated)
        object.__setattr__(self, "overflowed_keys", frozenset(self.overflowed_keys))
        both = sorted({f.name for f in accelerated} & (set(names) | set(self.fields.all())))
        if both:
            raise ConfigError(
                f"accelerated_fields {both} are declared or canonical fields already; "
                "accelerator columns are inferred for undeclared keys only."
            )
        if self.partition_key is not None:
            check_name("partition_key", self.partition_key)
            if self.partition_key in self.fields.all():
                raise ConfigError(
                    f"partition_key={shown(self.partition_key)} is one of this package's own "
                    f"fields {self.fields.all()}; name a metadata key."
                )
        pk_field = self.declared(self.partition_key) if self.partition_key else None
        if pk_field is not None and pk_field.scalar_type not in (
            ScalarType.INT64,
            ScalarType.VARCHAR,
        ):
            raise ConfigError("partition_key must be an INT64 or VARCHAR metadata field.")
        if self.num_partitions is not None:
            if (
                isinstance(self.num_partitions, bool)
                or not isinstance(self.num_partitions, int)
                or not 1 <= self.num_partitions <= MAX_NUM_PARTITIONS
            ):
                raise ConfigError(
                    f"num_partitions={shown(self.num_partitions)} must be an integer in "
                    f"[1, {MAX_NUM_PARTITIONS}]."
                )
            if self.partition_key is None:
                raise ConfigError(
                    f"num_partitions={self.num_partitions} applies to a partition key: name one "
                    "with partition_key= (a declared INT64 or VARCHAR field)."
                )
        if not 1 <= self.text_max_length <= 65535:
            raise ConfigError(f"text_max_length={self.text_max_length} must be in [1, 65535].")
        if not 1 <= self.id_max_length <= 65535:
            raise ConfigError(f"id_max_length={self.id_max_length} must be in [1, 65535].")
        if not isinstance(self.text_match, bool):
            raise ConfigError(f"text_match={shown(self.text_match)} must be True or False.")
        if self.analyzer is not None:
            if sparse is not SparseMode.BM25 and not self.text_match:
                raise ConfigError(
                    "an analyzer applies to the BM25 function and to text match: use it "
                    f"with sparse='bm25' or text_match=True (this spec has "
                    f"sparse={sparse.value!r}, text_match=False)."
                )
            object.__setattr__(self, "analyzer", analyzer_params(self.analyzer))
        object.__setattr__(
            self,
            "consistency_level",
            ConsistencyLevel.parse(self.consistency_level, field="consistency_level"),
        )
        object.__setattr__(self, "properties", coerce_properties(self.properties))

    def _check_vector_fields(self) -> None:
        if not isinstance(self.dense, bool):
            raise ConfigError(f"dense={shown(self.dense)} must be True or False.")
        extra = coerce_vector_fields(self.vector_fields)
        object.__setattr__(self, "vector_fields", extra)
        if not self.dense:
            if SparseMode.parse(self.sparse, field="sparse") is SparseMode.NONE:
                raise ConfigError(
                    "dense=False (a sparse-only collection) needs a sparse field: pass "
                    "sparse='bm25' (server-side BM25) or a SparseEncoder (sparse='client')."
                )
            if self.dim is not None or self.index is not None or extra:
                raise ConfigError(
                    "dense=False (a sparse-only collection) stores no dense vectors: drop "
                    "dim=, index= and vector_fields=, or keep dense=True."
                )
        names = [f.name for f in extra]
        reserved = set(self.fields.all())
        if len(set(names)) != len(names):
            raise ConfigError(f"vector_fields has duplicate names: {names}.")
        clash = sorted(set(names) & reserved)
        if clash:
            raise ConfigError(
                f"vector_fields {clash} clash with reserved field names {self.fields.all()}; "
                "rename the vector field or change FieldNames."
            )

    # -- typed accessors (mypy sees the declared unions above) ---------------------------

    # The spec is frozen and __post_init__ normalises every field, so derived values are
    # computed once per spec (a search reads them once per row of its answer).

    @cached_property
    def extra_vector_fields(self) -> tuple[DenseField, ...]:
        """The named dense fields besides the canonical ``vector`` field."""
        return coerce_vector_fields(self.vector_fields)

    @cached_property
    def dense_fields(self) -> tuple[DenseField, ...]:
        """Every dense field, the canonical ``vector`` first (none when ``dense=False``)."""
        if not self.dense:
            return ()
        main = DenseField(
            name=self.fields.vector, dim=self.dim, metric=self.metric, index=self.index
        )
        return (main, *self.extra_vector_fields)

    def dense_field(self, name: str | None = None) -> DenseField:
        """The dense field called ``name`` (``None``: the canonical ``vector`` field).

        Raises:
            ConfigError: a sparse-only collection, or no dense field of that name.
        """
        if not self.dense:
            raise ConfigError(
                f"collection {shown(self.name)} is sparse-only (dense=False): it has no dense "
                "vector field; use keyword (sparse) search, or create a collection with a "
                "dense embedding."
            )
        fields = self.dense_fields
        if name is None:
            return fields[0]
        for f in fields:
            if f.name == name:
                return f
        raise ConfigError(
            f"vector_field={shown(name)} is not a dense field of collection {shown(self.name)}; "
            f"its dense fields are {[f.name for f in fields]}."
        )

    @cached_property
    def metric_type(self) -> MetricType:
        """The dense metric."""
        return MetricType.parse(self.metric, field="metric")

    @cached_property
    def sparse_mode(self) -> SparseMode:
        """The sparse mode."""
        return SparseMode.parse(self.sparse, field="sparse")

    @cached_property
    def declared_fields(self) -> tuple[MetadataField, ...]:
        """The declared typed metadata fields."""
        return tuple(coerce_metadata_fields(self.metadata_fields))

    @property
    def index_config(self) -> IndexConfig | None:
        """The dense index config, if one was given."""
        return self.index if isinstance(self.index, IndexConfig) else None

    @property
    def consistency(self) -> ConsistencyLevel:
        """The read consistency level."""
        return ConsistencyLevel.parse(self.consistency_level, field="consistency_level")

    @property
    def has_sparse(self) -> bool:
        """Whether the collection has a sparse vector field."""
        return self.sparse_mode is not SparseMode.NONE

    @property
    def analyzer_params(self) -> dict[str, Any]:
        """Analyzer params for the text field (BM25 and text match)."""
        return analyzer_params(self.analyzer)

    @property
    def collection_properties(self) -> CollectionProperties:
        """The creation properties (TTL, mmap, shards, replicas)."""
        return coerce_properties(self.properties)

    @property
    def analyzes_text(self) -> bool:
        """Whether the text field has an analyzer (BM25 or text match)."""
        return self.sparse_mode is SparseMode.BM25 or self.text_match

    @property
    def stop_words(self) -> tuple[str, ...]:
        """The stop words the BM25 analyzer drops (counted out of a query's terms)."""
        return stop_words_of(self.analyzer_params) if self.sparse_mode is SparseMode.BM25 else ()

    @property
    def partition_key_pending(self) -> bool:
        """Whether the partition key's type is not known yet (not declared; read from the
        collection when it is opened, or from the creating write's values)."""
        return self.partition_key is not None and self.declared(self.partition_key) is None

    def declared(self, name: str) -> MetadataField | None:
        """Return the declared field called ``name``, or ``None``."""
        for f in self.declared_fields:
            if f.name == name:
                return f
        return None

    def accelerated(self, name: str) -> MetadataField | None:
        """The accelerator column of key ``name`` if filters may use it, else ``None``.

        ``None`` also for an accelerated key that has overflowed (filters take the JSON).
        """
        if name in self.overflowed_keys:
            return None
        for f in self.accelerated_fields:
            if f.name == name:
                return f
        return None

    def with_dim(self, dim: int) -> CollectionSpec:
        """Return a copy with ``dim`` set (validated)."""
        return replace(self, dim=dim)

    def with_vector_dims(self, dims: Mapping[str, int]) -> CollectionSpec:
        """Return a copy with the named dense fields' unknown dimensions set from ``dims``."""
        extra = tuple(
            replace(f, dim=dims[f.name]) if f.dim is None and f.name in dims else f
            for f in self.extra_vector_fields
        )
        return replace(self, vector_fields=extra)

    def with_index(self, index: IndexConfig) -> CollectionSpec:
        """Return a copy with ``index`` set (validated)."""
        return replace(self, index=index)
