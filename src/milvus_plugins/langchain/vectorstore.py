"""A LangChain ``VectorStore`` on the shared Milvus core.

:class:`MilvusVectorStore` only translates: ``Document`` <-> core :class:`Record`,
filter dicts -> core filters (:mod:`milvus_plugins.langchain.filters`), LangChain
method names -> :class:`MilvusStore` / :class:`AsyncMilvusStore` calls. Schemas, index
parameters, expressions, escaping, fusion and scores all live in the core.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore
from typing_extensions import Self

from milvus_plugins.core import (
    GROUPING_KWARGS,
    RRF,
    AsyncMilvusStore,
    CollectionNotFoundError,
    CollectionProperties,
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    ConsistencyLevel,
    Decay,
    DenseField,
    EmbeddingProbe,
    FieldMapping,
    FieldNames,
    Filter,
    Grouping,
    Hit,
    HybridOptions,
    IndexConfig,
    MetadataField,
    MetricType,
    MilvusStore,
    OpenMode,
    Ranker,
    RetrievalMode,
    SearchKind,
    SparseEncoder,
    StoreLifetime,
    StorePair,
    TenantMode,
    TextAnalyzer,
    WriteOptions,
    as_decay,
    as_field_mapping,
    check_kwargs,
    check_ranker,
    check_threshold,
    checked_arguments,
    choose_sparse,
    grouping_from_kwargs,
    hybrid_legs,
    model_name,
    require_fields_for,
    shown,
    with_batch_rows,
)
from milvus_plugins.langchain.documents import (
    Batch,
    documents_batch,
    embedded,
    scored,
    to_document,
)
from milvus_plugins.langchain.filters import FilterArg, deletion_filter, to_core_filter

__all__ = ["MilvusVectorStore"]

# Every read, search and delete can be confined to a tenant or to named partitions.
_SCOPE_KWARGS = frozenset({"tenant", "partition_names"})
_SEARCH_KWARGS = frozenset(
    {
        "filter",
        "search_params",
        "score_threshold",
        "retrieval_mode",
        "ranker",
        "fetch_k",
        "vector_field",
        "decay",
    }
    | GROUPING_KWARGS
    | _SCOPE_KWARGS
)
_VECTOR_KWARGS = frozenset(
    {"filter", "search_params", "score_threshold", "decay", "vector_field"}
    | GROUPING_KWARGS
    | _SCOPE_KWARGS
)
_MMR_KWARGS = frozenset({"filter", "search_params", "vector_field"} | _SCOPE_KWARGS)
# What LangChain's own callers pass to add_texts / add_documents: the indexing API
# (``langchain_core.indexing.index`` / ``aindex``) always passes ``batch_size``.
_WRITE_KWARGS = frozenset({"progress", "batch_size", "tenant", "partition_name"})
# The types of the keyword arguments LangChain's signatures leave untyped (``**kwargs``);
# filter, ranker, retrieval_mode, score_threshold and batch_size have their own checks.
_KWARG_TYPES: dict[str, Any] = {
    "search_params": Mapping[str, Any] | None,
    "fetch_k": int | None,
    "progress": bool | None,
    "vector_field": str | None,
    "tenant": str | int | None,
    "partition_names": Sequence[str] | None,
    "partition_name": str | None,
}

EmbeddingArg = Embeddings | Mapping[str, Embeddings] | None
"""The ``embedding`` argument: one model, models by dense field name, or ``None``."""


@dataclass(frozen=True)
class _Search:
    """One search request, resolved from LangChain keyword arguments (no I/O)."""

    mode: RetrievalMode
    k: int
    filter: Filter | str | None
    search_params: Mapping[str, Any] | None
    score_threshold: float | None
    ranker: Ranker | None
    fetch_k: int | None
    grouping: Grouping | None = None
    decay: Decay | None = None
    vector_field: str | None = None
    tenant: str | int | None = None
    partition_names: Sequence[str] | None = None

    @property
    def scope(self) -> dict[str, Any]:
        """The scope keyword arguments of the core call (``None``: the store's)."""
        return {"tenant": self.tenant, "partition_names": self.partition_names}

    @property
    def needs_vector(self) -> bool:
        return self.mode is not RetrievalMode.SPARSE

    def keep(self, hits: list[Hit]) -> list[Hit]:
        """Drop hits below the score threshold, if one was given."""
        if self.score_threshold is None:
            return hits
        return [h for h in hits if h.score >= self.score_threshold]


def _blank(query: Any) -> bool:
    """A query text with nothing to search for: the search is filter-only."""
    return isinstance(query, str) and not query.strip()


def _check_kind(kind: SearchKind, spec: CollectionSpec, setting: str) -> None:
    require_fields_for(
        kind,
        spec,
        setting=setting,
        sparse_fix="create the store with sparse='bm25' (or a SparseEncoder), or use "
        "retrieval_mode='dense'",
        dense_fix="pass embedding= (a dense model) when creating the store, or use "
        "retrieval_mode='sparse'",
    )


def _check_mode(mode: RetrievalMode, spec: CollectionSpec) -> RetrievalMode:
    _check_kind(SearchKind(mode.value), spec, f"retrieval_mode={mode.value!r}")
    return mode


def _models(embedding: Any) -> dict[str, Embeddings]:
    """The dense models by field name ('' for the canonical field of a single model)."""
    if embedding is None:
        return {}
    if isinstance(embedding, Embeddings):
        return {"": embedding}
    if isinstance(embedding, Mapping) and embedding:
        for name, model in embedding.items():
            if not isinstance(name, str) or not isinstance(model, Embeddings):
                raise ConfigError(
                    f"embedding[{shown(name)}] must map a field name to a langchain_core "
                    f"Embeddings, got {type(model).__name__}."
                )
        return dict(embedding)
    raise ConfigError(
        f"embedding must be a langchain_core Embeddings, a dict of them by vector field "
        f"name, or None (a sparse-only store), got {type(embedding).__name__}."
    )


def _fingerprint_probe(embedding: Embeddings) -> EmbeddingProbe:
    """The embedding's fingerprint, from the document embedding of the probe text."""

    async def aembed(text: str) -> list[float]:
        return (await embedding.aembed_documents([text]))[0]

    return EmbeddingProbe(
        embed=lambda text: embedding.embed_documents([text])[0],
        aembed=aembed,
        model=model_name(embedding),
    )


@checked_arguments
class MilvusVectorStore(StoreLifetime, VectorStore):
    """LangChain vector store on Milvus (Milvus Lite, a server, a cluster or Zilliz Cloud).

    Constructing does no network I/O: the client connects and the collection is opened
    (or created, with the dimension of the first vectors) on first use.

    Retrieval modes (``retrieval_mode=``, overridable per call with the same keyword):

    * ``"dense"`` (default): vector similarity on the embeddings.
    * ``"sparse"``: keyword search only (server-side BM25 on the text, or a client
      :class:`SparseEncoder`); the query is not embedded.
    * ``"hybrid"``: dense + sparse fused with ``ranker`` (``RRF(60)`` by default, or
      ``Weighted(dense, sparse)``).

    A sparse field is created when ``retrieval_mode`` is not dense or when ``sparse=`` is
    given explicitly; pass ``sparse="bm25"`` to a dense store to allow
    ``retrieval_mode="hybrid"`` per call later. A dense-only store pays nothing for BM25.

    Stores that are not one dense model:

    * ``embedding=None``: a sparse-only store (no dense field; BM25 unless ``sparse=`` is
      a :class:`SparseEncoder`; default mode ``"sparse"``). Adds, gets, deletes, keyword
      and filter-only searches work; dense, hybrid and MMR searches raise
      :class:`ConfigError` naming the fix.
    * ``embedding={"body": body_model, "title": title_model}``: one dense field per
      model (needs Milvus >= 2.4), each text embedded by every model. A search targets
      the first field, or the one named by ``vector_field=``; ``retrieval_mode="hybrid"``
      fuses one leg per field, then the sparse leg if the store has one, and
      ``Weighted`` takes one weight per leg in that order.

    Scores: every ``*_with_score`` and ``*_with_relevance_scores`` method returns the
    **relevance in [0, 1], higher is better**, on one scale in every mode, so one
    ``score_threshold`` means the same everywhere (0.5: a plausible match; on SciFact it
    keeps a few candidates per query and about two thirds of the relevant documents in
    each mode, see BENCHMARKS.md). Dense COSINE/IP: ``max(0, cosine)`` (unrelated text
    is near 0, as in LangChain's own cosine relevance); L2: ``1 / (1 + distance)``;
    sparse (BM25): ``s / (s + c)`` with ``c`` scaled per query by its term count and the
    collection size, so a document sharing only stop words with a long query stays near
    0; hybrid: the legs' relevances averaged with the ranker's weights (RRF: equal), a
    leg that missed the document counting 0. Hybrid results keep the ranker's order, so
    their relevances need not decrease. Formulas in :mod:`milvus_plugins.core.ranking`.

    A blank query text (``""``, or whitespace: what ``SelfQueryRetriever`` sends for a
    question that is only a filter) has nothing to rank by: the search is filter-only and
    returns up to ``k`` documents matching ``filter``, unranked, each with relevance 1.0
    (the query is not embedded). A query *vector* is always searched with, even all
    zeros: under COSINE such a vector is refused as a broken embedding (a zero vector
    marks "no query" in no LangChain API; pass a blank text for that).

    Filters (``filter=`` on every search and on :meth:`delete`): a Mongo-style dict
    (``{"genre": "drama", "year": {"$gte": 2000}}``, see
    :mod:`milvus_plugins.langchain.filters`), a core filter (``eq("genre", "drama")``), or
    a ``str`` taken as a raw Milvus expression (the unescaped escape hatch). Dict and core
    filters are escaped by the core and cannot be injected into.

    ``Document.id`` is the primary key; ``Document.metadata`` comes back as written (JSON
    values; tuples come back as lists). Declared ``metadata_fields`` are typed
    columns (fast filters); the other keys of the first write get accelerator columns by
    default (``infer_metadata_fields``).

    Args:
        embedding: the LangChain embeddings model; a dict of models by dense field name
            (the first names the canonical field); or ``None`` for a sparse-only store.
        uri: a ``.db`` path (Milvus Lite), ``http://host:19530`` or a Zilliz Cloud
            endpoint (default ``MILVUS_URI`` or ``./milvus.db``).
        token: ``"user:password"`` or an API key (default ``MILVUS_TOKEN``); never shown
            in a repr or error message.
        connection: a full :class:`ConnectionConfig` (instead of ``uri``/``token``).
        collection_name: the collection.
        drop_old: drop an existing collection of that name on first use.
        dim: the embedding dimension (default: taken from the first vectors written).
        index: the dense index (an :class:`IndexConfig`, a dict or a type name; default
            FLAT on Milvus Lite, AUTOINDEX on servers).
        metric: the dense metric when ``index`` does not set one (``"COSINE"``).
        metadata_fields: metadata keys stored as typed columns, e.g.
            ``{"year": "INT64", "genre": "VARCHAR"}`` or ``[MetadataField(...)]``.
        infer_metadata_fields: when the first write creates the collection, also give
            each scalar metadata key of that write whose values share one kind (str,
            number, bool) a nullable typed column that accelerates filters on it (the
            metadata JSON keeps every value: a later value of another kind is accepted,
            and filters on that key then read the JSON; keys first seen later stay in
            the JSON). ``None`` (default) or ``True``: on engines with nullable fields
            (Milvus Lite 3, servers >= 2.5); ``False``: never.
        partition_key: a declared field used as the Milvus partition key (the tenant
            field of a multi-tenant store).
        num_partitions: with ``partition_key``, how many partitions Milvus hashes its
            values into (fixed at creation; Milvus servers only).
        tenant: the tenant every call is scoped to (needs ``partition_key``): searches
            (each leg of a hybrid search), reads and deletes see only rows whose
            partition key equals it, and writes stamp it into that field (a document
            naming another tenant is refused). A call's ``tenant=`` keyword (also in a
            retriever's ``search_kwargs``) replaces it.
        tenant_mode: ``"optional"`` (default) or ``"strict"``: every call must have a
            tenant, and raw expression-string filters are refused.
        retrieval_mode: ``"dense"`` (default; ``"sparse"`` without a dense model),
            ``"sparse"`` or ``"hybrid"``.
        sparse: ``"bm25"`` (server-side BM25, the default for sparse/hybrid modes),
            ``"none"``, or a :class:`SparseEncoder` (client-side sparse vectors).
        bm25_analyzer: how server-side BM25 splits text into terms: a
            :class:`~milvus_plugins.core.TextAnalyzer` (``TextAnalyzer(stop_words=
            "english", stemmer="english")``) or Milvus analyzer params (default
            ``{"type": "standard"}``: lower-cased words, no stop words). Only with
            ``sparse="bm25"`` or ``text_match=True`` (it also splits the text for text
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
        ranker: the hybrid fusion, ``RRF(k)`` or ``Weighted(dense, sparse)`` (one
            weight per leg: each dense field in order, then sparse).
        fetch_k: hybrid candidates per leg (default ``max(4k, 20)``).
        search_params: default dense search parameters (``{"ef": 64}``, ``{"nprobe": 16}``).
        consistency_level: read consistency (``"Strong"``: read-after-write).
        text_max_length: the maximum text length in bytes.
        batch_size: maximum rows per write request.
        progress: show a progress bar while writing (default: large writes on a TTY).
        open_mode: ``"check"`` an existing collection against these settings, or
            ``"adopt"`` its settings (see :meth:`from_existing_collection`).
        field_mapping: read an existing collection of another layout through this
            :class:`~milvus_plugins.core.FieldMapping` (or a dict of its fields). Without
            it, a langchain-milvus 0.4 or llama-index 1.x collection is detected; such
            collections are read-only for new documents (use ``migrate``).
        client_kwargs: extra keyword arguments for ``pymilvus.MilvusClient``.
        allow_embedding_change: open a collection whose recorded embedding fingerprint
            differs from ``embedding``'s. By default the store records the fingerprint
            of ``embedding`` (model name, dimension, the vector of a fixed probe text:
            one extra embedding call when the collection is first opened) when it creates
            the collection, and opening a collection filled by another model raises
            :class:`~milvus_plugins.core.EmbeddingMismatchError`.

    Raises:
        ConfigError: an invalid or contradictory setting (before any I/O).

    Example:
        >>> store = MilvusVectorStore(embeddings, uri="./rag.db", retrieval_mode="hybrid")
        >>> store.add_texts(["Milvus is a vector database"], metadatas=[{"topic": "db"}])
        >>> store.similarity_search("vector db", k=1, filter={"topic": "db"})
    """

    def __init__(
        self,
        embedding: Embeddings | Mapping[str, Embeddings] | None,
        *,
        uri: str | None = None,
        token: str | None = None,
        connection: ConnectionConfig | None = None,
        collection_name: str = "langchain",
        drop_old: bool = False,
        dim: int | None = None,
        index: IndexConfig | Mapping[str, Any] | str | None = None,
        metric: MetricType | str = MetricType.COSINE,
        metadata_fields: Sequence[MetadataField] | Mapping[str, Any] | None = None,
        infer_metadata_fields: bool | None = None,
        partition_key: str | None = None,
        num_partitions: int | None = None,
        tenant: str | int | None = None,
        tenant_mode: TenantMode | str = TenantMode.OPTIONAL,
        retrieval_mode: RetrievalMode | str | None = None,
        sparse: str | SparseEncoder | None = None,
        bm25_analyzer: TextAnalyzer | Mapping[str, Any] | None = None,
        text_match: bool = False,
        collection_properties: CollectionProperties | Mapping[str, Any] | None = None,
        ranker: Ranker | None = None,
        fetch_k: int | None = None,
        search_params: Mapping[str, Any] | None = None,
        consistency_level: ConsistencyLevel | str = ConsistencyLevel.STRONG,
        text_max_length: int = 65535,
        batch_size: int = 1000,
        progress: bool | None = None,
        open_mode: OpenMode | str = OpenMode.CHECK,
        field_mapping: FieldMapping | Mapping[str, Any] | None = None,
        client_kwargs: Mapping[str, Any] | None = None,
        allow_embedding_change: bool = False,
    ) -> None:
        models = _models(embedding)
        if connection is not None and (uri is not None or token is not None):
            raise ConfigError("give either connection= or uri=/token=, not both.")
        default_mode = RetrievalMode.DENSE if models else RetrievalMode.SPARSE
        mode = RetrievalMode.parse(retrieval_mode or default_mode, field="retrieval_mode")
        # Without sparse=, the retrieval mode decides; an explicit sparse= is taken as
        # given (a mode it cannot serve is refused below).
        wanted = (mode is not RetrievalMode.DENSE) if sparse is None else None
        sparse_mode, encoder = choose_sparse(sparse, wanted=wanted)
        names = list(models)
        spec = CollectionSpec(
            name=collection_name,
            dense=bool(models),
            fields=FieldNames(vector=names[0]) if names and names[0] else FieldNames(),
            vector_fields=[DenseField(name=n, metric=metric) for n in names[1:]],
            dim=dim,
            index=index,
            metric=metric,
            sparse=sparse_mode,
            analyzer=bm25_analyzer,
            text_match=text_match,
            properties=collection_properties,
            metadata_fields=metadata_fields or (),
            partition_key=partition_key,
            num_partitions=num_partitions,
            infer_metadata_fields=infer_metadata_fields,
            consistency_level=consistency_level,
            text_max_length=text_max_length,
            layout=as_field_mapping(field_mapping),
        )
        self._mode = _check_mode(mode, spec)
        self._embedding = next(iter(models.values()), None)
        # The model of each dense field by its name (the first is the canonical field).
        self._models = {f.name: m for f, m in zip(spec.dense_fields, models.values(), strict=True)}
        self._search_params = dict(search_params) if search_params else None
        self._store = MilvusStore(
            spec,
            connection=connection or ConnectionConfig.from_env(uri=uri, token=token),
            drop_old=drop_old,
            open_mode=open_mode,
            write=WriteOptions(batch_rows=batch_size, progress=progress),
            hybrid=HybridOptions(
                ranker=check_ranker(ranker, hybrid_legs(spec)) or RRF(), fetch_k=fetch_k
            ),
            sparse_encoder=encoder,
            client_kwargs=client_kwargs,
            # The canonical field's model is fingerprinted (none for a sparse-only store).
            embedding=None if self._embedding is None else _fingerprint_probe(self._embedding),
            allow_embedding_change=allow_embedding_change,
            tenant=tenant,
            tenant_mode=tenant_mode,
        )
        self._stores = StorePair(self._store)  # the async twin: one client per event loop

    # -- properties -------------------------------------------------------------------

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(collection_name={self.collection_name!r}, "
            f"connection={self._store.session.connection!r}, "
            f"retrieval_mode={self._mode.value!r})"
        )

    @property
    def embeddings(self) -> Embeddings | None:
        """The embeddings model (of the first dense field; ``None`` when sparse-only)."""
        return self._embedding

    @property
    def vector_fields(self) -> tuple[str, ...]:
        """The dense fields' names, each embedded with its own model (none when sparse-only)."""
        return tuple(f.name for f in self._store.spec.dense_fields)

    def _model(self, field: str | None) -> Embeddings:
        """The model that embeds queries for the dense field ``field`` (``None``: the first)."""
        return self._models[self._store.spec.dense_field(field).name]

    @property
    def store(self) -> MilvusStore:
        """The core store (for operations LangChain has no name for: stats, flush ...)."""
        return self._store

    @property
    def collection_name(self) -> str:
        """The collection name."""
        return self._store.spec.name

    @property
    def retrieval_mode(self) -> RetrievalMode:
        """The default retrieval mode of the search methods."""
        return self._mode

    def _astore(self) -> AsyncMilvusStore:
        return self._stores.astore

    def _store_pair(self) -> StorePair:
        return self._stores

    # -- constructors ------------------------------------------------------------------

    @classmethod
    def from_texts(
        cls,
        texts: list[str],
        embedding: Embeddings | Mapping[str, Embeddings] | None,
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> Self:
        """Create a store (``kwargs`` are the constructor's) and add ``texts`` to it.

        Args:
            texts: the texts to add.
            embedding: the embeddings model.
            metadatas: one metadata dict per text.
            ids: one id per text (generated when absent).
            **kwargs: constructor keyword arguments (``uri``, ``collection_name`` ...).

        Returns:
            The store, holding the texts.
        """
        store = cls(embedding, **kwargs)
        store.add_texts(texts, metadatas, ids=ids)
        return store

    @classmethod
    async def afrom_texts(
        cls,
        texts: list[str],
        embedding: Embeddings | Mapping[str, Embeddings] | None,
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> Self:
        """Async twin of :meth:`from_texts`."""
        store = cls(embedding, **kwargs)
        await store.aadd_texts(texts, metadatas, ids=ids)
        return store

    @classmethod
    def from_existing_collection(
        cls,
        embedding: Embeddings | Mapping[str, Embeddings] | None,
        *,
        collection_name: str,
        retrieval_mode: RetrievalMode | str | None = None,
        sparse: str | SparseEncoder | None = None,
        **kwargs: Any,
    ) -> Self:
        """Open an existing collection, adopting its dimension, metric, index and fields.

        The sparse mode is read back too: a collection created with BM25 supports
        ``retrieval_mode="hybrid"`` without repeating ``sparse=``; one created with a
        client encoder needs that encoder as ``sparse=`` to search.

        Args:
            embedding: the embeddings model (the one the collection was filled with),
                the models by vector field name, or ``None`` for a sparse-only
                collection.
            collection_name: the collection to open.
            retrieval_mode: the default retrieval mode (default: dense, or sparse
                without a dense model).
            sparse: the :class:`SparseEncoder` of a client-sparse collection.
            **kwargs: other constructor keyword arguments (``uri``, ``token`` ...).

        Returns:
            The store, connected.

        Raises:
            CollectionNotFoundError: no such collection.
            ConfigError: a sparse or hybrid mode on a collection without a sparse field.
        """
        if kwargs.get("drop_old"):
            raise ConfigError("from_existing_collection cannot drop_old; use the constructor.")
        store = cls(
            embedding,
            collection_name=collection_name,
            sparse=("none" if embedding is not None else None) if sparse is None else sparse,
            open_mode=OpenMode.ADOPT,
            **kwargs,
        )
        if not store._store.exists():
            raise CollectionNotFoundError(
                f"collection {shown(collection_name)} does not exist at "
                f"{shown(store._store.session.connection.safe_uri)}; create it with "
                f"from_texts() or the "
                "constructor."
            )
        if retrieval_mode is not None:
            mode = RetrievalMode.parse(retrieval_mode, field="retrieval_mode")
            store._mode = _check_mode(mode, store._store.spec)
        return store

    # -- writes ------------------------------------------------------------------------

    def add_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        """Embed and upsert texts (an existing id is replaced, never duplicated).

        Every text, id and metadata dict is checked before the first text is embedded;
        then each batch is embedded and written before the next is embedded, so memory
        stays bounded by the batch and the progress bar moves while the model runs.

        Args:
            texts: the texts.
            metadatas: one JSON-serialisable metadata dict per text.
            ids: one id per text; ``None`` entries (or no list) get a generated id.
            **kwargs: ``progress`` (bool) to force the progress bar on or off;
                ``batch_size`` (int), the most rows per write request for this call
                (LangChain's indexing API passes it); ``tenant`` (stamped into the
                partition key; default: the store's); ``partition_name`` (the
                partition to write into).

        Returns:
            The ids, in input order.

        Raises:
            InvalidInputError: mismatched lengths or a bad record (nothing embedded or
                written).
            WriteError: a batch failed after retries, or the model failed after some
                batches were written (lists written and unwritten ids).
        """
        check_kwargs("add_texts", kwargs, _WRITE_KWARGS, _KWARG_TYPES)
        options = with_batch_rows(
            self._store.write_options, kwargs.get("batch_size"), field="batch_size"
        )
        batch = Batch.of(texts, metadatas, ids)
        if not batch.texts:
            return []
        _ = self._store.capabilities  # what the server can store decides what is refused
        scope = self._store.scope(
            tenant=kwargs.get("tenant"), partition_name=kwargs.get("partition_name")
        )
        if self._embedding is not None and len(self._models) == 1:
            # One model: embedded and written a batch at a time (streamed); the core
            # checks every record (tenant stamp included) before the first embedding.
            return self._store.upsert(
                batch.unchecked_records(),
                progress=kwargs.get("progress"),
                batch_rows=options.batch_rows,
                tenant=scope.tenant,
                partition_name=scope.partition_name,
                embed=self._embedding.embed_documents,
            )
        # Named dense fields (each its own model) or none (sparse-only): embedded whole,
        # after every record is checked (refused here, before anything is embedded).
        records = batch.records(self._store, kwargs.get("tenant"))
        vectors = self._embedding.embed_documents(batch.texts) if self._embedding else None
        named = {
            name: model.embed_documents(batch.texts)
            for name, model in list(self._models.items())[1:]
        }
        return self._store.upsert(
            embedded(records, vectors, named),
            progress=kwargs.get("progress"),
            batch_rows=options.batch_rows,
            tenant=scope.tenant,
            partition_name=scope.partition_name,
        )

    async def aadd_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        """Async twin of :meth:`add_texts`."""
        check_kwargs("aadd_texts", kwargs, _WRITE_KWARGS, _KWARG_TYPES)
        options = with_batch_rows(
            self._store.write_options, kwargs.get("batch_size"), field="batch_size"
        )
        batch = Batch.of(texts, metadatas, ids)
        if not batch.texts:
            return []
        await self._astore().capabilities()  # as in add_texts
        scope = self._store.scope(
            tenant=kwargs.get("tenant"), partition_name=kwargs.get("partition_name")
        )
        if self._embedding is not None and len(self._models) == 1:
            return await self._astore().upsert(
                batch.unchecked_records(),
                progress=kwargs.get("progress"),
                batch_rows=options.batch_rows,
                tenant=scope.tenant,
                partition_name=scope.partition_name,
                embed=self._embedding.aembed_documents,
            )
        records = batch.records(self._store, kwargs.get("tenant"))
        vectors = await self._embedding.aembed_documents(batch.texts) if self._embedding else None
        named = {
            name: await model.aembed_documents(batch.texts)
            for name, model in list(self._models.items())[1:]
        }
        return await self._astore().upsert(
            embedded(records, vectors, named),
            progress=kwargs.get("progress"),
            batch_rows=options.batch_rows,
            tenant=scope.tenant,
            partition_name=scope.partition_name,
        )

    def add_documents(self, documents: list[Document], **kwargs: Any) -> list[str]:
        """Embed and upsert documents, keeping ``Document.id`` (generated when absent).

        Args:
            documents: the documents (not modified).
            **kwargs: ``ids`` (wins over ``Document.id``), ``progress`` and
                ``batch_size`` (as for :meth:`add_texts`).

        Returns:
            The ids, in input order.
        """
        ids = kwargs.pop("ids", None)
        batch = documents_batch(documents, ids)
        return self.add_texts(batch.texts, batch.metadatas, ids=batch.ids, **kwargs)

    async def aadd_documents(self, documents: list[Document], **kwargs: Any) -> list[str]:
        """Async twin of :meth:`add_documents`."""
        ids = kwargs.pop("ids", None)
        batch = documents_batch(documents, ids)
        return await self.aadd_texts(batch.texts, batch.metadatas, ids=batch.ids, **kwargs)

    def delete(
        self, ids: Sequence[str] | None = None, *, filter: FilterArg = None, **kwargs: Any
    ) -> bool:
        """Delete by ids, by filter, or both (a row must then match both).

        With neither, every document is deleted, as LangChain's contract says
        (``ids=None`` means "delete all"); the collection itself stays. On a store with
        a tenant (or with ``tenant=``) "every document" is the tenant's, and with
        ``partition_names=`` the partitions'. A ``filter``
        that matches every row by itself (``{}``, ``""``, an empty ``and_()``) is
        refused: call ``delete()`` with no arguments to delete everything on purpose.

        Args:
            ids: the ids to delete (unknown ids are ignored); a list, never one string.
            filter: a filter dict, a core filter or a raw expression (raw expressions
                are the caller's responsibility: one that always holds deletes all).
            **kwargs: ``tenant`` (delete only this tenant's rows; default: the
                store's) and ``partition_names`` (only in these partitions).

        Returns:
            ``True`` once the deletion was applied (errors raise).

        Raises:
            InvalidInputError: ``ids`` is a single string or holds a non-string or
                ``""``, or ``filter`` matches every row.
            FilterError: a malformed filter.
        """
        check_kwargs("delete", kwargs, _SCOPE_KWARGS, _KWARG_TYPES)
        if ids is None and filter is None:
            self._store.clear(**kwargs)
        else:
            self._store.delete(ids, filter=deletion_filter(filter), **kwargs)
        return True

    async def adelete(
        self, ids: Sequence[str] | None = None, *, filter: FilterArg = None, **kwargs: Any
    ) -> bool:
        """Async twin of :meth:`delete`."""
        check_kwargs("adelete", kwargs, _SCOPE_KWARGS, _KWARG_TYPES)
        if ids is None and filter is None:
            await self._astore().clear(**kwargs)
        else:
            await self._astore().delete(ids, filter=deletion_filter(filter), **kwargs)
        return True

    # -- reads -------------------------------------------------------------------------

    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        """Return the documents with these ids, in the order given (missing ids skipped).

        Args:
            ids: the ids.

        Returns:
            The documents found, with ``id`` set.
        """
        return [to_document(r) for r in self._store.get(ids)]

    async def aget_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        """Async twin of :meth:`get_by_ids`."""
        return [to_document(r) for r in await self._astore().get(ids)]

    # -- search: request resolution (pure) ------------------------------------------------

    def _request(
        self,
        k: int,
        kwargs: Mapping[str, Any],
        allowed: frozenset[str],
        method: str,
        kind: SearchKind | None = None,
    ) -> _Search:
        """Resolve a call's keyword arguments; ``kind`` is fixed for vector and MMR methods."""
        check_kwargs(method, kwargs, allowed, _KWARG_TYPES)
        spec = self._store.spec
        mode = self._mode
        if kwargs.get("retrieval_mode") is not None:
            mode = RetrievalMode.parse(kwargs["retrieval_mode"], field="retrieval_mode")
            _check_mode(mode, spec)
        if kind is not None:
            _check_kind(kind, spec, f"{method}()")
        field = kwargs.get("vector_field")
        if field is not None:
            spec.dense_field(field)  # an unknown name is refused with the known ones
            if kind is None and mode is not RetrievalMode.DENSE:
                raise ConfigError(
                    f"vector_field={shown(field)} picks the dense field of a dense search; "
                    f"retrieval_mode={mode.value!r} does not search one field (hybrid fuses "
                    "every dense field): drop vector_field or use retrieval_mode='dense'."
                )
        threshold = check_threshold(kwargs.get("score_threshold"))
        params = kwargs.get("search_params")
        grouping = grouping_from_kwargs(kwargs)
        if grouping is not None and grouping.by is None:
            # LangChain documents carry no source-document id (the doc_id field stays "").
            raise ConfigError(
                "group_by needs a metadata key or field in LangChain (documents have no "
                "source-document id); e.g. group_by='source'."
            )
        # Checked now, before the query is embedded (strict mode, names, tenant type).
        scope = self._store.scope(
            tenant=kwargs.get("tenant"), partition_names=kwargs.get("partition_names")
        )
        where = to_core_filter(kwargs.get("filter"))
        scope.check_filter(where)
        return _Search(
            mode=mode,
            k=k,
            filter=where,
            search_params=dict(params) if params is not None else self._search_params,
            score_threshold=threshold,
            ranker=check_ranker(kwargs.get("ranker"), hybrid_legs(spec)),
            fetch_k=kwargs.get("fetch_k"),
            grouping=grouping,
            decay=as_decay(kwargs.get("decay")),
            vector_field=field,
            tenant=scope.tenant,
            partition_names=scope.partition_names,
        )

    def _legs(self, req: _Search, query: str) -> list[str] | None:
        """The dense fields a query text is embedded for: ``None`` for one (the usual)."""
        fields = self._store.spec.dense_fields
        if req.mode is RetrievalMode.HYBRID and len(fields) >= 2 and not _blank(query):
            return [f.name for f in fields]
        return None

    def _retrieve_args(
        self,
        req: _Search,
        query: str,
        vector: list[float] | None,
        vectors: Mapping[str, list[float]] | None = None,
    ) -> dict[str, Any]:
        text: str | None = query
        if vectors is not None and not self._store.spec.has_sparse:
            text = None  # N dense legs and no keyword leg
        return {
            "mode": req.mode,
            "vector": vector,
            "text": text,
            "k": req.k,
            "filter": req.filter,
            "ranker": req.ranker,
            "fetch_k": req.fetch_k,
            "search_params": req.search_params,
            "grouping": req.grouping,
            "score_threshold": req.score_threshold,
            "decay": req.decay,
            "vectors": vectors,
            "field": req.vector_field,
            **req.scope,
        }

    # -- search: sync ------------------------------------------------------------------

    def _hits(self, query: str, k: int, kwargs: Mapping[str, Any], method: str) -> list[Hit]:
        req = self._request(k, kwargs, _SEARCH_KWARGS, method)
        legs = self._legs(req, query)
        if legs is not None:
            vectors = {name: self._model(name).embed_query(query) for name in legs}
            args = self._retrieve_args(req, query, None, vectors)
            return req.keep(self._store.retrieve(**args))
        embed = req.needs_vector and not _blank(query)
        vector = self._model(req.vector_field).embed_query(query) if embed else None
        return req.keep(self._store.retrieve(**self._retrieve_args(req, query, vector)))

    def _vector_hits(
        self, embedding: list[float], k: int, kwargs: Mapping[str, Any], method: str
    ) -> list[Hit]:
        req = self._request(k, kwargs, _VECTOR_KWARGS, method, SearchKind.DENSE)
        hits = self._store.search(
            embedding,
            k=k,
            filter=req.filter,
            search_params=req.search_params,
            grouping=req.grouping,
            score_threshold=req.score_threshold,
            decay=req.decay,
            field=req.vector_field,
            **req.scope,
        )
        return req.keep(hits)

    def similarity_search(self, query: str, k: int = 4, **kwargs: Any) -> list[Document]:
        """Return the ``k`` documents most relevant to ``query`` in the retrieval mode.

        Args:
            query: the query text.
            k: how many documents.
            **kwargs: ``filter``, ``retrieval_mode``, ``score_threshold``,
                ``search_params``, ``vector_field`` (the dense field a dense search
                uses, of a store with several), for hybrid ``ranker`` and ``fetch_k``, and
                grouping: ``group_by`` (the metadata key or field naming the source
                document, e.g. ``"source"``: one best chunk each), ``group_size``,
                ``strict_group_size`` (then ``k`` counts groups; see
                :class:`~milvus_plugins.core.Grouping`), and ``decay`` (a
                :class:`~milvus_plugins.core.Decay` or a dict of its fields: rerank by a
                numeric metadata field, e.g. recency).
                ``tenant`` / ``partition_names`` confine the search.

        Returns:
            The documents, best first.
        """
        return [doc for doc, _ in scored(self._hits(query, k, kwargs, "similarity_search"))]

    def similarity_search_with_score(
        self, query: str, k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """Return ``(document, relevance)`` pairs; relevance is in [0, 1], higher is better.

        Args:
            query: the query text.
            k: how many documents.
            **kwargs: as for :meth:`similarity_search`.

        Returns:
            The pairs, best first.
        """
        return scored(self._hits(query, k, kwargs, "similarity_search_with_score"))

    def _similarity_search_with_relevance_scores(
        self, query: str, k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        return self.similarity_search_with_score(query, k, **kwargs)

    def similarity_search_with_relevance_scores(
        self, query: str, k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """Return ``(document, relevance)`` pairs, relevance in [0, 1].

        Unlike LangChain's default, a ``score_threshold`` goes to the search itself: a
        dense search asks Milvus for it as a range search (the same documents as
        filtering the top ``k`` here).
        """
        return self.similarity_search_with_score(query, k, **kwargs)

    def _select_relevance_score_fn(self) -> Callable[[float], float]:
        # The core's scores are relevances in [0, 1] already, in every mode.
        return lambda score: score

    def similarity_search_by_vector(
        self, embedding: list[float], k: int = 4, **kwargs: Any
    ) -> list[Document]:
        """Return the ``k`` documents nearest to a query vector (dense search).

        Args:
            embedding: the query vector.
            k: how many documents.
            **kwargs: ``filter``, ``score_threshold``, ``search_params``,
                ``vector_field``, ``group_by``, ``group_size``, ``strict_group_size``,
                ``tenant``, ``partition_names``.

        Returns:
            The documents, best first.
        """
        hits = self._vector_hits(embedding, k, kwargs, "similarity_search_by_vector")
        return [doc for doc, _ in scored(hits)]

    def similarity_search_with_score_by_vector(
        self, embedding: list[float], k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """Return ``(document, relevance)`` pairs for a query vector (dense search).

        Args:
            embedding: the query vector.
            k: how many documents.
            **kwargs: ``filter``, ``score_threshold``, ``search_params``,
                ``vector_field``, ``group_by``, ``group_size``, ``strict_group_size``,
                ``tenant``, ``partition_names``.

        Returns:
            The pairs, best first; relevance in [0, 1].
        """
        return scored(
            self._vector_hits(embedding, k, kwargs, "similarity_search_with_score_by_vector")
        )

    def max_marginal_relevance_search(
        self,
        query: str,
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        **kwargs: Any,
    ) -> list[Document]:
        """Return ``k`` documents relevant to ``query`` and diverse among themselves.

        MMR re-ranks ``fetch_k`` dense candidates (in every retrieval mode: diversity is
        measured between embeddings).

        Args:
            query: the query text.
            k: how many documents.
            fetch_k: how many candidates to re-rank.
            lambda_mult: 1 for pure relevance, 0 for maximal diversity.
            **kwargs: ``filter``, ``search_params``, ``vector_field``, ``tenant``,
                ``partition_names``.

        Returns:
            The documents, in MMR order.
        """
        if _blank(query):  # nothing to be relevant to, nor diverse from: filter-only
            req = self._request(k, kwargs, _MMR_KWARGS, "max_marginal_relevance_search")
            hits = self._store.filtered_hits(k=k, filter=req.filter, **req.scope)
            return [to_document(h.record) for h in hits]
        req = self._request(
            k, kwargs, _MMR_KWARGS, "max_marginal_relevance_search", SearchKind.MMR
        )  # refused before embedding
        vector = self._model(req.vector_field).embed_query(query)
        return self.max_marginal_relevance_search_by_vector(
            vector, k, fetch_k, lambda_mult, **kwargs
        )

    def max_marginal_relevance_search_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        **kwargs: Any,
    ) -> list[Document]:
        """MMR search from a query vector; see :meth:`max_marginal_relevance_search`.

        Args:
            embedding: the query vector.
            k: how many documents.
            fetch_k: how many candidates to re-rank.
            lambda_mult: 1 for pure relevance, 0 for maximal diversity.
            **kwargs: ``filter``, ``search_params``, ``vector_field``, ``tenant``,
                ``partition_names``.

        Returns:
            The documents, in MMR order.
        """
        req = self._request(k, kwargs, _MMR_KWARGS, "max_marginal_relevance_search", SearchKind.MMR)
        hits = self._store.mmr_search(
            embedding,
            k=k,
            fetch_k=fetch_k,
            lambda_mult=lambda_mult,
            filter=req.filter,
            search_params=req.search_params,
            field=req.vector_field,
            **req.scope,
        )
        return [doc for doc, _ in scored(hits)]

    # -- search: async (the same, awaited) -----------------------------------------------

    async def _ahits(self, query: str, k: int, kwargs: Mapping[str, Any], method: str) -> list[Hit]:
        req = self._request(k, kwargs, _SEARCH_KWARGS, method)
        legs = self._legs(req, query)
        if legs is not None:
            vectors = {name: await self._model(name).aembed_query(query) for name in legs}
            args = self._retrieve_args(req, query, None, vectors)
            return req.keep(await self._astore().retrieve(**args))
        embed = req.needs_vector and not _blank(query)
        vector = await self._model(req.vector_field).aembed_query(query) if embed else None
        return req.keep(await self._astore().retrieve(**self._retrieve_args(req, query, vector)))

    async def _avector_hits(
        self, embedding: list[float], k: int, kwargs: Mapping[str, Any], method: str
    ) -> list[Hit]:
        req = self._request(k, kwargs, _VECTOR_KWARGS, method, SearchKind.DENSE)
        hits = await self._astore().search(
            embedding,
            k=k,
            filter=req.filter,
            search_params=req.search_params,
            grouping=req.grouping,
            score_threshold=req.score_threshold,
            decay=req.decay,
            field=req.vector_field,
            **req.scope,
        )
        return req.keep(hits)

    async def asimilarity_search(self, query: str, k: int = 4, **kwargs: Any) -> list[Document]:
        """Async twin of :meth:`similarity_search`."""
        hits = await self._ahits(query, k, kwargs, "asimilarity_search")
        return [doc for doc, _ in scored(hits)]

    async def asimilarity_search_with_score(
        self, query: str, k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """Async twin of :meth:`similarity_search_with_score`."""
        return scored(await self._ahits(query, k, kwargs, "asimilarity_search_with_score"))

    async def _asimilarity_search_with_relevance_scores(
        self, query: str, k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        return await self.asimilarity_search_with_score(query, k, **kwargs)

    async def asimilarity_search_with_relevance_scores(
        self, query: str, k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """Async twin of :meth:`similarity_search_with_relevance_scores`."""
        return await self.asimilarity_search_with_score(query, k, **kwargs)

    async def asimilarity_search_by_vector(
        self, embedding: list[float], k: int = 4, **kwargs: Any
    ) -> list[Document]:
        """Async twin of :meth:`similarity_search_by_vector`."""
        hits = await self._avector_hits(embedding, k, kwargs, "asimilarity_search_by_vector")
        return [doc for doc, _ in scored(hits)]

    async def asimilarity_search_with_score_by_vector(
        self, embedding: list[float], k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """Async twin of :meth:`similarity_search_with_score_by_vector`."""
        return scored(
            await self._avector_hits(
                embedding, k, kwargs, "asimilarity_search_with_score_by_vector"
            )
        )

    async def amax_marginal_relevance_search(
        self,
        query: str,
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        **kwargs: Any,
    ) -> list[Document]:
        """Async twin of :meth:`max_marginal_relevance_search`."""
        if _blank(query):
            req = self._request(k, kwargs, _MMR_KWARGS, "amax_marginal_relevance_search")
            hits = await self._astore().filtered_hits(k=k, filter=req.filter, **req.scope)
            return [to_document(h.record) for h in hits]
        req = self._request(
            k, kwargs, _MMR_KWARGS, "amax_marginal_relevance_search", SearchKind.MMR
        )  # refused before embedding
        vector = await self._model(req.vector_field).aembed_query(query)
        return await self.amax_marginal_relevance_search_by_vector(
            vector, k, fetch_k, lambda_mult, **kwargs
        )

    async def amax_marginal_relevance_search_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        **kwargs: Any,
    ) -> list[Document]:
        """Async twin of :meth:`max_marginal_relevance_search_by_vector`."""
        req = self._request(
            k, kwargs, _MMR_KWARGS, "amax_marginal_relevance_search", SearchKind.MMR
        )
        hits = await self._astore().mmr_search(
            embedding,
            k=k,
            fetch_k=fetch_k,
            lambda_mult=lambda_mult,
            filter=req.filter,
            search_params=req.search_params,
            field=req.vector_field,
            **req.scope,
        )
        return [doc for doc, _ in scored(hits)]
