"""``MilvusVectorStore``: a LlamaIndex vector store on the shared Milvus core.

The store only translates: its settings to core :class:`StoreSettings`, nodes to
records (:mod:`.nodes`), ``MetadataFilters`` to core filters (:mod:`.filters`) and a
``VectorStoreQuery`` to one core search call (:func:`plan_query`). Every Milvus call, its
retries, batching, escaping and scoring live in :mod:`milvus_plugins.core`. This module
holds the class and its construction; its methods come from :mod:`.writes` and
:mod:`.reads` (on the core access of :mod:`.access`), where the async methods build the
same calls and differ from the sync ones only by ``await``.

Example:
    >>> from llama_index.core import StorageContext, VectorStoreIndex
    >>> store = MilvusVectorStore(uri="./milvus.db", collection_name="docs", enable_sparse=True)
    >>> index = VectorStoreIndex.from_documents(
    ...     documents, storage_context=StorageContext.from_defaults(vector_store=store)
    ... )
    >>> index.as_retriever(vector_store_query_mode="hybrid", alpha=0.7).retrieve("...")
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.vector_stores.types import BasePydanticVectorStore

from milvus_plugins.core import (
    CollectionProperties,
    ConfigError,
    ConnectionConfig,
    EmbeddingProbe,
    FieldMapping,
    IndexConfig,
    MetadataField,
    MetricType,
    MilvusStore,
    OpenMode,
    Ranker,
    RetryPolicy,
    SparseEncoder,
    StorePair,
    StoreSettings,
    Tenancy,
    TenantMode,
    TextAnalyzer,
    WriteOptions,
    check_partition_names,
    checked_arguments,
    merged_write_options,
    model_name,
    resolve_scope,
    shown,
)
from milvus_plugins.core.policy import either
from milvus_plugins.llama_index.official_names import (
    CALL_HINTS,
    SETTING_HINTS,
    index_of_config,
    ranker_of,
)
from milvus_plugins.llama_index.queries import (
    DEFAULT_MMR_PREFETCH_FACTOR,
    hybrid_ranker,
    node_filter,
    plan_query,
    to_query_result,
)
from milvus_plugins.llama_index.reads import NodeReads
from milvus_plugins.llama_index.writes import NodeWrites

__all__ = [
    "DEFAULT_MMR_PREFETCH_FACTOR",
    "MilvusVectorStore",
    "hybrid_ranker",
    "node_filter",
    "plan_query",
    "to_query_result",
]

DEFAULT_COLLECTION = "llamacollection"


def _fingerprint_probe(embed_model: BaseEmbedding) -> EmbeddingProbe:
    """The model's fingerprint, from the text (node) embedding of the probe text."""
    return EmbeddingProbe(
        embed=embed_model.get_text_embedding,
        aembed=embed_model.aget_text_embedding,
        model=model_name(embed_model),
    )


# -- the vector store ---------------------------------------------------------------------


def _description(store: MilvusStore, partitions: Sequence[str] | None) -> dict[str, Any]:
    """The store's pydantic fields: what ``to_dict()`` / ``to_json()`` describe (never the
    credentials: the token is not a field, and userinfo in the uri is cut)."""
    return {
        "stores_text": True,
        "collection_name": store.spec.name,
        "uri": store.session.connection.safe_uri,
        "db_name": store.session.connection.db_name,
        "enable_sparse": store.spec.has_sparse,
        "enable_dense": store.spec.dense,
        "milvus_partition_names": None if partitions is None else list(partitions),
        "tenant": store.tenancy.tenant,
        "tenant_mode": TenantMode.parse(store.tenancy.mode, field="tenant_mode").value,
    }


# Keys of to_dict() that describe the store but are not constructor arguments.
_DESCRIPTION_ONLY = frozenset({"class_name", "stores_text", "is_embedding_query"})


@checked_arguments
class MilvusVectorStore(NodeWrites, NodeReads, BasePydanticVectorStore):
    """LlamaIndex vector store backed by one Milvus collection (Lite, server or Zilliz).

    Nodes keep their id, text, metadata, ``ref_doc_id``, relationships and embedding
    (metadata as JSON values: a tuple comes back as a list, as in LlamaIndex's own node
    JSON; a value JSON cannot hold is refused naming its key, before anything is written).
    Query modes: ``default`` (dense), ``mmr``, ``sparse`` and ``text_search`` (BM25
    keyword search on ``query_str``) and ``hybrid`` (dense + keyword, fused). The
    constructor does no I/O: the collection is opened on first use, and created (with
    the dimension of the first embeddings) by the first write; a read never creates it.

    Stores that are not one dense field: ``enable_dense=False`` is sparse-only (no
    dense field; node embeddings are not stored; ``sparse`` and ``text_search`` queries
    and filter-only queries work, dense, MMR and hybrid ones raise ``ConfigError`` with
    the fix). ``vector_fields={"title": title_model}`` adds dense fields beside the node
    embeddings' field, each filled by its model from the node text at ``add`` and
    searched with ``vector_store_kwargs={"vector_field": "title"}`` (the query text is
    embedded by that model); a ``hybrid`` query fuses one leg per dense field, then the
    keyword leg if the store has one (needs Milvus >= 2.4).

    Args:
        uri: a Milvus Lite file (``./milvus.db``), ``http://host:19530`` or a Zilliz
            Cloud endpoint (default: ``MILVUS_URI`` or ``./milvus.db``).
        token: ``"user:password"`` or an API key (default: ``MILVUS_TOKEN``).
        collection_name: the collection.
        dim: the embedding dimension (default: taken from the first nodes added).
        overwrite: drop an existing collection of that name at the first write (a read
            before it finds nothing).
        index: the dense index (an ``IndexConfig`` such as ``HnswIndex(...)``, a dict or
            a type name; default HNSW (size-aware ef) on Milvus Lite 3, FLAT on Lite 2.5,
            AUTOINDEX on servers).
        similarity_metric: ``COSINE`` (default), ``IP`` or ``L2``; an ``index`` that names
            no metric (``"FLAT"``, ``HnswIndex()``) is built with it, and one whose own
            metric contradicts ``IP`` or ``L2`` raises ``ConfigError``.
        metadata_fields: metadata keys stored as typed columns for fast filters, e.g.
            ``{"year": "INT64", "tags": {"type": "ARRAY", "element_type": "VARCHAR"}}``.
        infer_metadata_fields: when the first write creates the collection, also give
            each scalar metadata key of that write whose values share one kind (str,
            number, bool) a nullable typed column that accelerates filters on it (the
            metadata JSON keeps every value: a later value of another kind is accepted,
            and filters on that key then read the JSON; keys first seen later stay in
            the JSON). ``None`` (default) or ``True``: on engines with nullable fields
            (Milvus Lite 3, servers >= 2.5); ``False``: never.
        partition_key: the metadata key used as the Milvus partition key (the tenant
            field of a multi-tenant store): declared in ``metadata_fields`` (INT64 or
            VARCHAR), or else typed from the existing collection, or from the values of
            the write that creates it (``str``: VARCHAR, ``int``: INT64).
        num_partitions: with ``partition_key``, how many partitions Milvus hashes its
            values into (fixed at creation; Milvus servers only).
        tenant: the tenant every call is scoped to (needs ``partition_key``): queries
            (each leg of a hybrid query), ``get_nodes`` and deletes see only nodes whose
            partition key equals it; ``add`` stamps it into that metadata key (a node
            naming another tenant is refused); ``clear`` deletes only its nodes. A
            ``tenant`` in ``vector_store_kwargs``, ``add_kwargs`` or ``delete_kwargs``
            replaces it for that call.
        tenant_mode: ``"optional"`` (default) or ``"strict"``: every call must have a
            tenant, and raw expression strings are refused.
        milvus_partition_names: the partitions queries, ``get_nodes`` and deletes are
            confined to (``vector_store_kwargs={"milvus_partition_names": [...]}``
            overrides it per query); ``add`` writes into the one named partition, or
            into ``add_kwargs["partition_name"]``. Not with ``partition_key``.
        enable_dense: ``False`` for a sparse-only store (a keyword field, BM25 unless
            ``sparse`` is an encoder; node embeddings are ignored).
        vector_fields: named dense fields beside the node embeddings' field: each name
            maps to the LlamaIndex embedding model that fills it (from the node text)
            and embeds queries for it; all use ``similarity_metric``.
        enable_sparse: add a keyword (sparse) field, server-side BM25 unless ``sparse``
            says otherwise; needed by the ``sparse``, ``text_search`` and ``hybrid`` modes.
            An existing collection's keyword field is detected when it is opened (with
            this left out, or ``False``: it describes what a new collection gets), so
            ``uri`` + ``collection_name`` is enough to query a hybrid collection.
        sparse: ``"bm25"`` (server-side BM25 on the node text) or a core
            :class:`~milvus_plugins.core.SparseEncoder` for client-side sparse vectors.
        bm25_analyzer: how server-side BM25 splits text into terms: a
            :class:`~milvus_plugins.core.TextAnalyzer` (``TextAnalyzer(stop_words=
            "english", stemmer="english")``) or Milvus analyzer params (default
            ``{"type": "standard"}``: lower-cased words, no stop words). Only with
            server-side BM25 or ``text_match=True`` (it also splits the text for text
            match); fixed when the collection is created (reopening with a
            different one is a schema mismatch). Milvus Lite 3.2.2 applies the tokenizer,
            lower-casing and stop words but ignores stemmers (and its ``TEXT_MATCH``
            ignores the analyzer: standard words, lower-cased, no stop words).
        text_match: index the text for the ``text_match`` / ``phrase_match`` filters
            (``{"text": {"$text_match": "E1234"}}``; LlamaIndex: ``TEXT_MATCH`` on the
            key ``"text"``). Fixed at creation; needs Milvus >= 2.5 or Milvus Lite 3
            (elsewhere :class:`~milvus_plugins.core.UnsupportedByServerError`).
        collection_properties: TTL, mmap, shards and replicas at creation: a
            :class:`~milvus_plugins.core.CollectionProperties` or a dict of its fields
            (``{"ttl_seconds": 86400, "num_shards": 2, "replicas": 2}``); those set are
            checked when an existing collection is opened (a mismatch is a schema
            mismatch). A TTL on Milvus Lite raises
            :class:`~milvus_plugins.core.UnsupportedByServerError` (it never expires
            rows); shards and replicas are ignored there (one process).
        ranker: the hybrid fusion: ``RRF(k)`` (it has no weights: a query giving
            ``alpha`` is refused with :class:`~milvus_plugins.core.InvalidInputError`)
            or ``Weighted(dense, sparse)`` (a query's ``alpha`` overrides the weights with
            ``Weighted(alpha, 1 - alpha)``); with ``vector_fields``, one weight per leg:
            each dense field, then sparse. Default: ``RRF(60)``, and a query's ``alpha``
            fuses with ``Weighted(alpha, 1 - alpha)``.
        consistency_level: read consistency (``Strong`` gives read-after-write).
        db_name: the Milvus database.
        timeout: seconds per call.
        open_mode: ``"check"`` (an existing collection must match these settings) or
            ``"adopt"`` (read its settings back).
        write_options: batching and progress options for ``add``.
        retry: retry policy for transient faults.
        field_mapping: read an existing collection of another layout through this
            :class:`~milvus_plugins.core.FieldMapping` (or a dict of its fields). Without
            it, a llama-index 1.x or langchain-milvus 0.4 collection is detected; such
            collections are read-only for new nodes (use ``migrate``).
        client_kwargs: extra keyword arguments for ``pymilvus.MilvusClient``.
        embed_model: the embedding model the nodes' embeddings come from (LlamaIndex
            embeds before the store sees a node, so the store only knows it when given).
            With it, the store records its fingerprint (model name, dimension, the
            vector of a fixed probe text: one embedding call when the collection is
            first opened) when it creates the collection, and opening a collection
            filled by another model raises
            :class:`~milvus_plugins.core.EmbeddingMismatchError`.
        allow_embedding_change: open a collection whose recorded fingerprint differs
            from ``embed_model``'s.
        index_config: llama-index-vector-stores-milvus' name for ``index`` (its dict,
            ``{"index_type": "HNSW", "M": 16, "efConstruction": 200}``; without an
            ``index_type``, FLAT as there).
        hybrid_ranker: the official ``"RRFRanker"`` or ``"WeightedRanker"``, for
            ``ranker`` (give one of the two).
        hybrid_ranker_params: its parameters: ``{"k": 60}`` or ``{"weights": [dense,
            sparse]}``.
        batch_size: maximum rows per write request (the official name; also
            ``write_options=WriteOptions(batch_rows=...)``).
        upsert_mode: ``True`` or left out: every write replaces the rows of the node ids
            it writes (``False``, the official "insert", is refused).

    The official integration's other settings are refused with what to pass instead
    (``text_key``, ``search_config``, ``enable_dynamic_field``, MilvusClient keywords
    ...: :mod:`milvus_plugins.llama_index.official_names`), before anything is created.

    Raises:
        ConfigError: an invalid or contradictory setting (before any I/O).
        UnexpectedArgumentError: a keyword the store does not take (a ``TypeError``
            too), named with what to pass instead.
    """

    stores_text: bool = True
    collection_name: str = DEFAULT_COLLECTION
    uri: str = ""
    db_name: str = ""
    enable_sparse: bool = False
    enable_dense: bool = True
    milvus_partition_names: list[str] | None = None
    # The scope is part of the description: a store rebuilt from it is never unscoped.
    tenant: str | int | None = None
    tenant_mode: str = TenantMode.OPTIONAL.value

    argument_hints: ClassVar[Mapping[str, str]] = {**SETTING_HINTS, **CALL_HINTS}

    _stores: StorePair = PrivateAttr()
    _ranker: Ranker | None = PrivateAttr(default=None)
    _models: dict[str, BaseEmbedding] = PrivateAttr(default_factory=dict)

    def __init__(
        self,
        uri: str | None = None,
        token: str | None = None,
        collection_name: str = DEFAULT_COLLECTION,
        dim: int | None = None,
        *,
        overwrite: bool = False,
        index: IndexConfig | Mapping[str, Any] | str | None = None,
        similarity_metric: MetricType | str = MetricType.COSINE,
        metadata_fields: Sequence[MetadataField] | Mapping[str, Any] | None = None,
        infer_metadata_fields: bool | None = None,
        partition_key: str | None = None,
        enable_dense: bool = True,
        vector_fields: Mapping[str, BaseEmbedding] | None = None,
        num_partitions: int | None = None,
        tenant: str | int | None = None,
        tenant_mode: TenantMode | str = TenantMode.OPTIONAL,
        milvus_partition_names: Sequence[str] | None = None,
        enable_sparse: bool | None = None,
        sparse: str | SparseEncoder | None = None,
        bm25_analyzer: TextAnalyzer | Mapping[str, Any] | None = None,
        text_match: bool = False,
        collection_properties: CollectionProperties | Mapping[str, Any] | None = None,
        ranker: Ranker | None = None,
        consistency_level: str = "Strong",
        db_name: str = "",
        timeout: float | None = 30.0,
        open_mode: OpenMode | str = OpenMode.CHECK,
        write_options: WriteOptions | None = None,
        retry: RetryPolicy | None = None,
        field_mapping: FieldMapping | Mapping[str, Any] | None = None,
        client_kwargs: Mapping[str, Any] | None = None,
        embed_model: BaseEmbedding | None = None,
        allow_embedding_change: bool = False,
        index_config: Mapping[str, Any] | None = None,
        hybrid_ranker: str | None = None,
        hybrid_ranker_params: Mapping[str, Any] | None = None,
        batch_size: int | None = None,
        upsert_mode: bool | None = None,
    ) -> None:
        if upsert_mode is False:
            raise ConfigError(
                "upsert_mode=False (insert, duplicates possible) is not offered: every write "
                "of this store replaces the rows of the node ids it writes; leave it out."
            )
        index = either("index", index, "index_config", index_of_config(index_config))
        ranker = either(
            "ranker", ranker, "hybrid_ranker", ranker_of(hybrid_ranker, hybrid_ranker_params)
        )
        write_options = merged_write_options(write_options, batch_size)
        models = dict(vector_fields or {})
        for name, model in models.items():
            if not isinstance(model, BaseEmbedding):
                raise ConfigError(
                    f"vector_fields[{shown(name)}] must be a LlamaIndex BaseEmbedding (the model "
                    f"that fills that field), got {type(model).__name__}."
                )
        connection = ConnectionConfig.from_env(
            uri=uri, token=token, db_name=db_name, timeout=timeout
        )
        store = StoreSettings(
            collection_name=collection_name,
            connection=connection,
            drop_old=overwrite,
            dense=enable_dense,
            extra_vector_fields=list(models),
            metric=similarity_metric,
            dim=dim,
            index=index,
            # A sparse-only store needs its keyword field: BM25 unless told otherwise.
            sparse_wanted=True if not enable_dense and enable_sparse is None else enable_sparse,
            sparse_wanted_by=f"enable_sparse={enable_sparse}",
            sparse=sparse,
            bm25_analyzer=bm25_analyzer,
            text_match=text_match,
            metadata_fields=metadata_fields,
            infer_metadata_fields=infer_metadata_fields,
            partition_key=partition_key,
            num_partitions=num_partitions,
            collection_properties=collection_properties,
            consistency_level=consistency_level,
            field_mapping=field_mapping,
            ranker=ranker,
            open_mode=open_mode,
            write=write_options,
            retry=retry,
            client_kwargs=client_kwargs,
            embedding=_fingerprint_probe(embed_model) if embed_model is not None else None,
            allow_embedding_change=allow_embedding_change,
            tenant=tenant,
            tenant_mode=tenant_mode,
        ).build()
        partitions = check_partition_names(milvus_partition_names, "milvus_partition_names")
        resolve_scope(store.spec, Tenancy(), partition_names=partitions)  # no I/O: refused now
        super().__init__(**_description(store, partitions))
        self._stores = StorePair(store)
        self._ranker = ranker  # as given (checked by build): None lets alpha weigh the legs
        self._models = models

    @classmethod
    def from_store(cls, store: MilvusStore, *, ranker: Ranker | None = None) -> MilvusVectorStore:
        """Wrap an existing core store (e.g. one a LangChain adapter also uses).

        Args:
            store: the core store; its spec, connection and options are used as they are.
            ranker: the hybrid fusion (default: the store's ``HybridOptions.ranker``;
                a query's ``alpha`` is refused when it is :class:`RRF`).
        """
        self = cls.model_construct(**_description(store, None))
        self._stores = StorePair(store)
        self._ranker = ranker
        return self

    @classmethod
    def class_name(cls) -> str:
        """The LlamaIndex component name."""
        return "MilvusVectorStore"

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> MilvusVectorStore:
        """Refuse a deep copy (``copy.deepcopy``, ``model_copy(deep=True)``): the store's
        connection and locks cannot be copied.

        Raises:
            TypeError: naming the fix (``model_copy()`` shares the connection).
        """
        raise TypeError(
            "MilvusVectorStore cannot be deep-copied: it holds its connection to Milvus. "
            "Use store.model_copy() (a copy sharing the connection), or create another "
            "store from the same arguments."
        )

    def __getstate__(self) -> dict[Any, Any]:
        """Refuse pickling: LlamaIndex's components drop what does not pickle, and the
        copy would come back without its connection, failing on first use.

        Raises:
            TypeError: naming the fix (copies within a process: ``model_copy()``).
        """
        raise TypeError(
            "MilvusVectorStore cannot be pickled: it holds its connection to Milvus, which "
            "a copy would come back without. Create the store in the other process from "
            "the same arguments (uri, collection_name, ...); within one process, share the "
            "store or use store.model_copy()."
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any], **kwargs: Any) -> MilvusVectorStore:
        """Rebuild a store from :meth:`to_dict` (or ``from_json``): its collection, uri, database,
        dense/sparse choice and scope (tenant, tenant mode, partitions). What the
        description leaves out is given as ``kwargs``: the token (never described), the
        models, and for a tenant's store ``metadata_fields=`` and ``partition_key=``
        (without them the tenant is refused with a ``ConfigError``, never dropped).

        Raises:
            ConfigError: ``data`` is not a mapping, or holds settings the store does not take.
        """
        if not isinstance(data, Mapping):
            raise ConfigError(f"data={shown(data)} must be a dict from to_dict().")
        described = {k: v for k, v in data.items() if k not in _DESCRIPTION_ONLY}
        try:
            return cls(**{**described, **kwargs})
        except TypeError as exc:  # an unknown key: not a description of this store
            raise ConfigError(
                f"cannot rebuild a MilvusVectorStore from {shown(dict(data))}: {exc}"
            ) from exc

    def __repr__(self) -> str:
        db = f", db_name={self.db_name!r}" if self.db_name else ""
        return f"MilvusVectorStore(collection_name={self.collection_name!r}, uri={self.uri!r}{db})"
