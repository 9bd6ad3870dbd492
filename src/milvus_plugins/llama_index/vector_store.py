"""``MilvusVectorStore``: a LlamaIndex vector store on the shared Milvus core.

The store only translates: nodes to records (:mod:`.nodes`), ``MetadataFilters`` to core
filters (:mod:`.filters`) and a ``VectorStoreQuery`` to one core search call
(:func:`plan_query`). Every Milvus call, its retries, batching, escaping and scoring live
in :mod:`milvus_plugins.core`; the async methods build the same plans and differ from
the sync ones only by ``await``.

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
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.schema import BaseNode, MetadataMode
from llama_index.core.vector_stores.types import (
    BasePydanticVectorStore,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryResult,
)

from milvus_plugins.core import (
    RRF,
    AsyncMilvusStore,
    CollectionProperties,
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    DenseField,
    EmbeddingProbe,
    FieldMapping,
    Filter,
    HybridOptions,
    IndexConfig,
    InvalidInputError,
    MetadataField,
    MetricType,
    MilvusStore,
    OpenMode,
    Ranker,
    Record,
    RetryPolicy,
    SearchRequest,
    SparseEncoder,
    SparseMode,
    StoreLifetime,
    StorePair,
    Tenancy,
    TenantMode,
    TextAnalyzer,
    WriteOptions,
    and_,
    as_field_mapping,
    check_kwargs,
    check_partition_names,
    check_ranker,
    checked_arguments,
    choose_sparse,
    doc_id_in,
    hybrid_legs,
    id_in,
    id_list,
    model_name,
    order_by_ids,
    resolve_scope,
    shown,
)
from milvus_plugins.llama_index.nodes import nodes_to_records, record_to_node
from milvus_plugins.llama_index.queries import (
    DEFAULT_MMR_PREFETCH_FACTOR,
    QUERY_KWARGS,
    hybrid_ranker,
    named_fields,
    node_filter,
    plan_query,
    to_query_result,
)

__all__ = [
    "DEFAULT_MMR_PREFETCH_FACTOR",
    "MilvusVectorStore",
    "hybrid_ranker",
    "node_filter",
    "plan_query",
    "to_query_result",
]

DEFAULT_COLLECTION = "llamacollection"
# The keyword arguments that confine one call (``vector_store_kwargs``, ``add_kwargs``,
# ``delete_kwargs``): a tenant, and the partitions to read or delete in.
_SCOPE_KWARGS = frozenset({"tenant", "milvus_partition_names"})
_SCOPE_TYPES: dict[str, Any] = {
    "tenant": str | int | None,
    "milvus_partition_names": Sequence[str] | None,
    "partition_name": str | None,
    "progress": bool | None,
}


def _ref_doc_filter(ref_doc_id: Any) -> Filter:
    # `""` is the doc_id of nodes *without* a source document (and of every LangChain
    # row in a shared collection), and None would be looked up as the text "None".
    if not isinstance(ref_doc_id, str) or not ref_doc_id:
        raise InvalidInputError(
            f"ref_doc_id={shown(ref_doc_id)} must be a non-empty string (the id of the source "
            "document whose nodes to delete); use delete_nodes() for nodes by id or filter."
        )
    return doc_id_in([ref_doc_id])


def _embed_texts(nodes: Sequence[BaseNode]) -> list[str]:
    # What LlamaIndex itself embeds for a node (its text with the embed-mode metadata).
    return [n.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes]


def _nodes(records: Sequence[Record], node_ids: Sequence[str] | None) -> list[BaseNode]:
    return [record_to_node(r, include_embedding=True) for r in order_by_ids(records, node_ids)]


def _fingerprint_probe(embed_model: BaseEmbedding) -> EmbeddingProbe:
    """The model's fingerprint, from the text (node) embedding of the probe text."""
    return EmbeddingProbe(
        embed=embed_model.get_text_embedding,
        aembed=embed_model.aget_text_embedding,
        model=model_name(embed_model),
    )


# -- the vector store ---------------------------------------------------------------------


@checked_arguments
class MilvusVectorStore(StoreLifetime, BasePydanticVectorStore):
    """LlamaIndex vector store backed by one Milvus collection (Lite, server or Zilliz).

    Nodes keep their id, text, metadata, ``ref_doc_id``, relationships and embedding.
    Query modes: ``default`` (dense), ``mmr``, ``sparse`` and ``text_search`` (BM25
    keyword search on ``query_str``) and ``hybrid`` (dense + keyword, fused). The
    constructor does no I/O: the collection is opened, or created with the dimension of
    the first embeddings, on first use.

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
        overwrite: drop an existing collection of that name when first used.
        index: the dense index (an ``IndexConfig`` such as ``HnswIndex(...)``, a dict or
            a type name; default FLAT on Milvus Lite, AUTOINDEX on servers).
        similarity_metric: ``COSINE`` (default), ``IP`` or ``L2`` when ``index`` is unset.
        metadata_fields: metadata keys stored as typed columns for fast filters, e.g.
            ``{"year": "INT64", "tags": {"type": "ARRAY", "element_type": "VARCHAR"}}``.
        infer_metadata_fields: when the first write creates the collection, also give
            each scalar metadata key of that write whose values share one kind (str,
            number, bool) a nullable typed column that accelerates filters on it (the
            metadata JSON keeps every value: a later value of another kind is accepted,
            and filters on that key then read the JSON; keys first seen later stay in
            the JSON). ``None`` (default) or ``True``: on engines with nullable fields
            (Milvus Lite 3, servers >= 2.5); ``False``: never.
        partition_key: a declared metadata field used as the Milvus partition key (the
            tenant field of a multi-tenant store).
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
        ranker: the hybrid fusion: ``RRF(k)`` (the default, ``RRF(60)``; a query's
            ``alpha`` is then ignored) or ``Weighted(dense, sparse)`` (a query's ``alpha``
            overrides the weights with ``Weighted(alpha, 1 - alpha)``); with
            ``vector_fields``, one weight per leg: each dense field, then sparse.
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

    Raises:
        ConfigError: an invalid or contradictory setting (before any I/O).
    """

    stores_text: bool = True
    collection_name: str = DEFAULT_COLLECTION
    uri: str = ""
    enable_sparse: bool = False
    enable_dense: bool = True
    milvus_partition_names: list[str] | None = None

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
    ) -> None:
        models = dict(vector_fields or {})
        for name, model in models.items():
            if not isinstance(model, BaseEmbedding):
                raise ConfigError(
                    f"vector_fields[{shown(name)}] must be a LlamaIndex BaseEmbedding (the model "
                    f"that fills that field), got {type(model).__name__}."
                )
        # A sparse-only store needs its keyword field: BM25 unless told otherwise.
        wanted = True if not enable_dense and enable_sparse is None else enable_sparse
        sparse_mode, encoder = choose_sparse(
            sparse, wanted=wanted, wanted_by=f"enable_sparse={enable_sparse}"
        )
        spec = CollectionSpec(
            name=collection_name,
            dense=enable_dense,
            vector_fields=[DenseField(name=n, metric=similarity_metric) for n in models],
            dim=dim,
            index=index,
            metric=similarity_metric,
            sparse=sparse_mode,
            analyzer=bm25_analyzer,
            text_match=text_match,
            properties=collection_properties,
            metadata_fields=metadata_fields or (),
            partition_key=partition_key,
            num_partitions=num_partitions,
            infer_metadata_fields=infer_metadata_fields,
            consistency_level=consistency_level,
            layout=as_field_mapping(field_mapping),
        )
        ranker = check_ranker(ranker, hybrid_legs(spec))
        connection = ConnectionConfig.from_env(
            uri=uri, token=token, db_name=db_name, timeout=timeout
        )
        store = MilvusStore(
            spec,
            connection=connection,
            drop_old=overwrite,
            open_mode=open_mode,
            write=write_options,
            retry=retry,
            hybrid=HybridOptions(ranker=ranker or RRF()),
            sparse_encoder=encoder,
            client_kwargs=client_kwargs,
            embedding=_fingerprint_probe(embed_model) if embed_model is not None else None,
            allow_embedding_change=allow_embedding_change,
            tenant=tenant,
            tenant_mode=tenant_mode,
        )
        partitions = check_partition_names(milvus_partition_names, "milvus_partition_names")
        resolve_scope(spec, Tenancy(), partition_names=partitions)  # no I/O: refused now
        fields: dict[str, Any] = {
            "stores_text": True,
            "collection_name": collection_name,
            # Serialised by to_json()/to_dict(): never the credentials (the token is
            # not a field; userinfo in the uri is cut).
            "uri": connection.safe_uri,
            "enable_sparse": sparse_mode is not SparseMode.NONE,
            "enable_dense": spec.dense,
            "milvus_partition_names": None if partitions is None else list(partitions),
        }
        super().__init__(**fields)
        self._stores = StorePair(store)
        self._ranker = ranker
        self._models = models

    @classmethod
    def from_store(cls, store: MilvusStore, *, ranker: Ranker | None = None) -> MilvusVectorStore:
        """Wrap an existing core store (e.g. one a LangChain adapter also uses).

        Args:
            store: the core store; its spec, connection and options are used as they are.
            ranker: the hybrid fusion (default: the store's ``HybridOptions.ranker``,
                with ``alpha`` honoured unless it is :class:`RRF`).
        """
        self = cls.model_construct(
            stores_text=True,
            collection_name=store.spec.name,
            uri=store.session.connection.safe_uri,
            enable_sparse=store.spec.has_sparse,
            enable_dense=store.spec.dense,
        )
        self._stores = StorePair(store)
        self._ranker = ranker
        return self

    @classmethod
    def class_name(cls) -> str:
        """The LlamaIndex component name."""
        return "MilvusVectorStore"

    def __repr__(self) -> str:
        return f"MilvusVectorStore(collection_name={self.collection_name!r}, uri={self.uri!r})"

    # -- access to the core -----------------------------------------------------------

    @property
    def client(self) -> Any:
        """The ``pymilvus.MilvusClient`` (connects on first access)."""
        return self._store.client

    @property
    def store(self) -> MilvusStore:
        """The shared-core store this adapter translates onto."""
        return self._store

    @property
    def spec(self) -> CollectionSpec:
        """The effective collection spec (``dim`` filled in once known)."""
        return self._store.spec

    @property
    def dim(self) -> int | None:
        """The embedding dimension, once given or inferred."""
        return self._store.spec.dim

    @property
    def _store(self) -> MilvusStore:
        return self._stores.store

    @property
    def async_store(self) -> AsyncMilvusStore:
        """The async core store (created on first use; one client per event loop)."""
        return self._stores.astore

    def _store_pair(self) -> StorePair:
        return self._stores

    @property
    def aclient(self) -> Any:
        """The ``pymilvus.AsyncMilvusClient`` of the running event loop."""
        return self.async_store.client

    def _scope(self, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """The core scope arguments of one call (its own, else the store's); no I/O.

        Raises:
            ConfigError: bad partition names, or a tenant the collection cannot take.
            TenantRequiredError: strict tenant mode and no tenant.
        """
        names = kwargs.get("milvus_partition_names", self.milvus_partition_names)
        scope = self._store.scope(tenant=kwargs.get("tenant"), partition_names=names)
        return {"tenant": scope.tenant, "partition_names": scope.partition_names}

    def _plan(
        self,
        query: VectorStoreQuery,
        kwargs: Mapping[str, Any],
        named: Mapping[str, Sequence[float]] | None = None,
    ) -> tuple[SearchRequest, dict[str, Any]]:
        # Unknown keywords first: a typo must not be reported as a missing tenant.
        check_kwargs("query", kwargs, QUERY_KWARGS | _SCOPE_KWARGS, _SCOPE_TYPES)
        own = {k: v for k, v in kwargs.items() if k not in _SCOPE_KWARGS}
        scope = self._scope(kwargs)
        plan = plan_query(
            query,
            own,
            has_sparse=self.spec.has_sparse,
            ranker=self._ranker,
            spec=self.spec,
            named_vectors=named,
        )
        return plan, scope

    def _write_scope(self, kwargs: Mapping[str, Any], method: str) -> dict[str, Any]:
        check_kwargs(
            method, kwargs, frozenset({"progress", "tenant", "partition_name"}), _SCOPE_TYPES
        )
        target = kwargs.get("partition_name")
        if target is None and self.milvus_partition_names:
            if len(self.milvus_partition_names) > 1:
                raise ConfigError(
                    f"{method}(): this store reads {len(self.milvus_partition_names)} partitions "
                    f"{self.milvus_partition_names}; say which one to write into with "
                    "add_kwargs partition_name=..."
                )
            target = self.milvus_partition_names[0]
        scope = self._store.scope(tenant=kwargs.get("tenant"), partition_name=target)
        return {"tenant": scope.tenant, "partition_name": scope.partition_name}

    def _query_models(
        self, query: VectorStoreQuery, kwargs: Mapping[str, Any]
    ) -> dict[str, BaseEmbedding]:
        """The named fields' models that must embed this query's text (none usually)."""
        self._plan(query, kwargs)  # refuse a bad query before any embedding
        return {name: self._model(name) for name in named_fields(query, kwargs, self.spec)}

    def _model(self, name: str) -> BaseEmbedding:
        model = self._models.get(name)
        if model is None:
            raise ConfigError(
                f"vector field {shown(name)} has no embedding model in this store; pass "
                f"vector_fields={{{name!r}: <its BaseEmbedding>}}."
            )
        return model

    def _records(self, nodes: Sequence[BaseNode]) -> list[Record]:
        records = nodes_to_records(nodes)
        if not self.spec.dense:
            for record in records:
                record.vector = None  # a sparse-only store keeps no dense embedding
        if self._models:
            self._store.validate_before_embedding(records)  # refused before embedding
        return records

    # -- writes -----------------------------------------------------------------------

    def add(self, nodes: Sequence[BaseNode], **add_kwargs: Any) -> list[str]:
        """Upsert nodes with their embeddings (by node id: re-adding never duplicates).

        Args:
            nodes: the nodes; each needs an embedding and non-empty text.
            **add_kwargs: ``progress`` (bool) forces the progress bar on or off;
                ``tenant`` (stamped into the partition key; default: the store's);
                ``partition_name`` (the partition to write into; default: the one
                ``milvus_partition_names`` names).

        Returns:
            The node ids, in input order.

        Raises:
            InvalidInputError: a node without embedding or text, or with a wrong
                dimension or non-JSON metadata (nothing is written).
            WriteError: a batch failed after retries; lists the ids written.
        """
        scope = self._write_scope(add_kwargs, "add")
        records = self._records(nodes)
        texts = _embed_texts(nodes) if self._models else []
        named = {n: m.get_text_embedding_batch(texts) for n, m in self._models.items()}
        for position, record in enumerate(records):
            record.vectors = {name: vectors[position] for name, vectors in named.items()}
        return self._store.upsert(records, progress=add_kwargs.get("progress"), **scope)

    async def async_add(self, nodes: Sequence[BaseNode], **kwargs: Any) -> list[str]:
        """Async twin of :meth:`add`."""
        scope = self._write_scope(kwargs, "async_add")
        records = self._records(nodes)
        texts = _embed_texts(nodes) if self._models else []
        named = {n: await m.aget_text_embedding_batch(texts) for n, m in self._models.items()}
        for position, record in enumerate(records):
            record.vectors = {name: vectors[position] for name, vectors in named.items()}
        return await self.async_store.upsert(records, progress=kwargs.get("progress"), **scope)

    def delete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        """Delete every node of the source document ``ref_doc_id`` (in the call's scope).

        ``delete_kwargs``: ``tenant`` and ``milvus_partition_names`` (default: the
        store's).

        Raises:
            InvalidInputError: ``ref_doc_id`` is not a non-empty string.
        """
        check_kwargs("delete", delete_kwargs, _SCOPE_KWARGS, _SCOPE_TYPES)
        scope = self._scope(delete_kwargs)
        self._store.delete(filter=_ref_doc_filter(ref_doc_id), **scope)

    async def adelete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        """Async twin of :meth:`delete`."""
        check_kwargs("adelete", delete_kwargs, _SCOPE_KWARGS, _SCOPE_TYPES)
        scope = self._scope(delete_kwargs)
        await self.async_store.delete(filter=_ref_doc_filter(ref_doc_id), **scope)

    def delete_nodes(
        self,
        node_ids: list[str] | None = None,
        filters: MetadataFilters | None = None,
        **delete_kwargs: Any,
    ) -> None:
        """Delete the nodes with these ids and/or matching these filters (both: AND).

        Raises:
            InvalidInputError: neither ``node_ids`` nor ``filters`` given, or filters
                that match every node however they are nested (use :meth:`clear` to
                delete everything); ``node_ids`` that are a single string or hold a
                non-string or ``""``.
        """
        where = self._deletion(node_ids, filters, delete_kwargs)
        scope = self._scope(delete_kwargs)
        if where is not None:
            self._store.delete(filter=where, **scope)

    async def adelete_nodes(
        self,
        node_ids: list[str] | None = None,
        filters: MetadataFilters | None = None,
        **delete_kwargs: Any,
    ) -> None:
        """Async twin of :meth:`delete_nodes`."""
        where = self._deletion(node_ids, filters, delete_kwargs)
        scope = self._scope(delete_kwargs)
        if where is not None:
            await self.async_store.delete(filter=where, **scope)

    @staticmethod
    def _deletion(
        node_ids: Sequence[str] | None,
        filters: MetadataFilters | None,
        kwargs: Mapping[str, Any],
    ) -> Filter | None:
        check_kwargs("delete_nodes", kwargs, _SCOPE_KWARGS, _SCOPE_TYPES)
        if node_ids is not None:
            node_ids = id_list(node_ids, "node_ids")
        if node_ids is None and (filters is None or not filters.filters):
            raise InvalidInputError(
                "delete_nodes needs node_ids= or filters=; use clear() to delete every node."
            )
        if node_ids is not None and not node_ids:
            # Nothing to delete; the core still checks the filters against the schema.
            metadata = node_filter(filters)
            return None if metadata is None else and_(id_in([]), metadata)
        # Nested filters that match everything (MetadataFilters(filters=[MetadataFilters(
        # filters=[])])) are refused by the core delete, like the flat empty form above.
        return node_filter(filters, node_ids)

    def clear(self) -> None:
        """Delete every node (drop the collection); the next ``add`` recreates it.

        A store with a tenant, in strict tenant mode or with ``milvus_partition_names``
        deletes only the nodes of its scope and keeps the collection.

        Raises:
            TenantRequiredError: strict tenant mode and no tenant.
        """
        if self._scoped_store:
            self._store.clear(**self._scope({}))
        else:
            self._store.drop()

    async def aclear(self) -> None:
        """Async twin of :meth:`clear`."""
        if self._scoped_store:
            await self.async_store.clear(**self._scope({}))
        else:
            await self.async_store.drop()

    @property
    def _scoped_store(self) -> bool:
        tenancy = self._store.tenancy
        return bool(tenancy.tenant is not None or tenancy.strict or self.milvus_partition_names)

    # -- reads ------------------------------------------------------------------------

    def get_nodes(
        self,
        node_ids: list[str] | None = None,
        filters: MetadataFilters | None = None,
    ) -> list[BaseNode]:
        """Return nodes by id and/or filters (both: AND; neither: every node).

        Nodes come back with their embeddings, in the order of ``node_ids`` when given
        (missing ids are skipped).

        Raises:
            InvalidInputError: ``node_ids`` is a single string, or holds a non-string or
                ``""``.
        """
        if node_ids is not None:
            node_ids = id_list(node_ids, "node_ids")
        if node_ids is not None and not node_ids:
            return []
        where = node_filter(filters, node_ids)
        records = self._store.query(where, include_vectors=True, **self._scope({}))
        return _nodes(records, node_ids)

    async def aget_nodes(
        self,
        node_ids: list[str] | None = None,
        filters: MetadataFilters | None = None,
    ) -> list[BaseNode]:
        """Async twin of :meth:`get_nodes`."""
        if node_ids is not None:
            node_ids = id_list(node_ids, "node_ids")
        if node_ids is not None and not node_ids:
            return []
        where = node_filter(filters, node_ids)
        scope = self._scope({})
        records = await self.async_store.query(where, include_vectors=True, **scope)
        return _nodes(records, node_ids)

    def query(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        """Search in the query's mode; see :func:`plan_query` for the translation.

        ``similarity_top_k`` results (``hybrid_top_k`` for hybrid queries, whose legs
        fetch ``sparse_top_k`` candidates each), restricted by ``filters``, ``doc_ids``
        and ``node_ids``. Similarities are relevance scores in [0, 1] on one scale in
        every mode (see :mod:`milvus_plugins.core.ranking`; dense: ``max(0, cosine)``,
        keyword: BM25 scaled per query, hybrid: the legs' weighted mean).

        A query with no ``query_str`` and no (or an all-zero) ``query_embedding`` is
        filter-only: it returns up to that many nodes matching the filters through a
        Milvus ``query``, unranked, each with similarity 1.0 (every node satisfies the
        whole query). ``VectorIndexAutoRetriever`` asks such queries for questions that
        are only filters; give it ``default_empty_query_vector=[0.0] * dim`` so that it
        sends a zero vector instead of embedding the empty string.

        ``vector_store_kwargs`` may also hold ``tenant`` and ``milvus_partition_names``
        (replacing the store's for this query).
        """
        text = query.query_str or ""
        named = {
            n: m.get_query_embedding(text) for n, m in self._query_models(query, kwargs).items()
        }
        plan, scope = self._plan(query, kwargs, named)
        return to_query_result(self._store.run_search(plan, **scope))

    async def aquery(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        """Async twin of :meth:`query`."""
        text = query.query_str or ""
        models = self._query_models(query, kwargs)
        named = {n: await m.aget_query_embedding(text) for n, m in models.items()}
        plan, scope = self._plan(query, kwargs, named)
        return to_query_result(await self.async_store.run_search(plan, **scope))
