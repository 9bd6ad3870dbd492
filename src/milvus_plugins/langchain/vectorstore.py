"""A LangChain ``VectorStore`` on the shared Milvus core.

:class:`MilvusVectorStore` only translates: its settings -> core
:class:`StoreSettings`, ``Document`` <-> core :class:`Record`, filter dicts -> core
filters (:mod:`milvus_plugins.langchain.filters`), LangChain method names ->
:class:`MilvusStore` / :class:`AsyncMilvusStore` calls. Schemas, index parameters,
expressions, escaping, fusion and scores all live in the core.

This module holds the class, its construction and its properties; its writes come
from :mod:`.writes`, its reads and searches from :mod:`.retrieval` (both on
:mod:`.access`), and a search's keyword arguments are resolved in
:mod:`.search_calls`, once for a sync method and its async twin.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore
from typing_extensions import Self

from milvus_plugins.core import (
    CollectionNotFoundError,
    CollectionProperties,
    ConfigError,
    ConnectionConfig,
    ConsistencyLevel,
    EmbeddingProbe,
    FieldMapping,
    IndexConfig,
    MetadataField,
    MetricType,
    MilvusStore,
    OpenMode,
    Ranker,
    RetrievalMode,
    SparseEncoder,
    StorePair,
    StoreSettings,
    TenantMode,
    TextAnalyzer,
    WriteOptions,
    checked_arguments,
    merged_write_options,
    model_name,
    shown,
)
from milvus_plugins.core.indexes import checked_search_params
from milvus_plugins.core.policy import either
from milvus_plugins.langchain.official_names import CALL_HINTS, METHOD_HINTS, SETTING_HINTS
from milvus_plugins.langchain.retrieval import DocumentRetrieval
from milvus_plugins.langchain.search_calls import check_mode
from milvus_plugins.langchain.writes import DocumentWrites

__all__ = ["MilvusVectorStore"]

EmbeddingArg = Embeddings | Mapping[str, Embeddings] | None


class _Required:
    """The default of ``embedding``: required, unless ``embedding_function`` names it."""

    def __repr__(self) -> str:
        return "<required>"


_REQUIRED: Any = _Required()


def _the_model(embedding: EmbeddingArg, embedding_function: EmbeddingArg) -> EmbeddingArg:
    """The model given as ``embedding`` or as langchain-milvus' ``embedding_function``."""
    if embedding is _REQUIRED and embedding_function is _REQUIRED:
        raise ConfigError(
            "MilvusVectorStore needs the embeddings model: MilvusVectorStore(embeddings, ...) "
            "(embedding_function= is taken too), or embedding=None for a sparse-only store."
        )
    if embedding is not _REQUIRED and embedding_function is not _REQUIRED:
        raise ConfigError(
            "embedding_function= is langchain-milvus' name for embedding=; give one of the two."
        )
    return embedding_function if embedding is _REQUIRED else embedding


"""The ``embedding`` argument: one model, models by dense field name, or ``None``."""


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
class MilvusVectorStore(DocumentWrites, DocumentRetrieval, VectorStore):
    """LangChain vector store on Milvus (Milvus Lite, a server, a cluster or Zilliz Cloud).

    Constructing does no network I/O: the client connects and the collection is opened
    on first use; the first write creates it (with the dimension of the first vectors),
    a read never does.

    Retrieval modes (``retrieval_mode=``, overridable per call with the same keyword):

    * ``"dense"`` (default): vector similarity on the embeddings.
    * ``"sparse"``: keyword search only (server-side BM25 on the text, or a client
      :class:`SparseEncoder`); the query is not embedded.
    * ``"hybrid"``: dense + sparse fused with ``ranker`` (``RRF(60)`` by default, or
      ``Weighted(dense, sparse)``).

    A sparse field is created when ``retrieval_mode`` is not dense or when ``sparse=`` is
    given explicitly; pass ``sparse="bm25"`` to a dense store to allow
    ``retrieval_mode="hybrid"`` per call later. A dense-only store pays nothing for BM25.
    An existing collection's sparse field is detected when the store opens it, so a
    store made with the defaults searches a hybrid collection with a per-call
    ``retrieval_mode="sparse"`` or ``"hybrid"``.

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
        drop_old: drop an existing collection of that name at the first write (a read before
            it finds nothing).
        dim: the embedding dimension (default: taken from the first vectors written).
        index: the dense index (an :class:`IndexConfig`, a dict or a type name; default
            HNSW (size-aware ef) on Milvus Lite 3, FLAT on Lite 2.5, AUTOINDEX on servers).
        metric: the dense metric (``"COSINE"``): an ``index`` that names no metric is built
            with it; one whose own metric contradicts ``"IP"`` or ``"L2"`` raises
            :class:`ConfigError`.
        metadata_fields: metadata keys stored as typed columns, e.g.
            ``{"year": "INT64", "genre": "VARCHAR"}`` or ``[MetadataField(...)]``.
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
        batch_size: maximum rows per write request (default 1000).
        progress: show a progress bar while writing (default: large writes on a TTY).
        write_options: batching, progress, flush and overlap of writes
            (:class:`~milvus_plugins.core.WriteOptions`; ``batch_size`` and ``progress``
            set two of its fields).
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
        embedding_function: langchain-milvus' name for ``embedding`` (give one of them).
        connection_args: langchain-milvus' connection dict, instead of ``uri``/
            ``token``/``connection``: ``uri``, ``token``, ``db_name``, ``timeout``, or
            ``user`` with ``password`` (see
            :meth:`~milvus_plugins.core.ConnectionConfig.from_connection_args`).
        index_params: langchain-milvus' name for ``index`` (its dict,
            ``{"index_type": "HNSW", "metric_type": "L2", "params": {"M": 16}}``, is
            read as ``index`` reads it; its list form, one dict per vector field, is
            refused naming the dense dict).
        partition_key_field: langchain-milvus' name for ``partition_key``.

    The official integration's other settings are refused with what to pass instead
    (``auto_id``, ``text_field``, ``enable_dynamic_field``, ``builtin_function`` ...:
    :mod:`milvus_plugins.langchain.official_names`), before anything is created.

    Raises:
        ConfigError: an invalid or contradictory setting (before any I/O); no model
            given (neither ``embedding`` nor ``embedding_function``).
        UnexpectedArgumentError: a keyword the store does not take (a ``TypeError``
            too), named with what to pass instead.

    Example:
        >>> store = MilvusVectorStore(embeddings, uri="./rag.db", retrieval_mode="hybrid")
        >>> store.add_texts(["Milvus is a vector database"], metadatas=[{"topic": "db"}])
        >>> store.similarity_search("vector db", k=1, filter={"topic": "db"})
    """

    argument_hints: ClassVar[Mapping[str, str]] = {**SETTING_HINTS, **CALL_HINTS}

    def __init__(
        self,
        embedding: Embeddings | Mapping[str, Embeddings] | None = _REQUIRED,
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
        batch_size: int | None = None,
        progress: bool | None = None,
        write_options: WriteOptions | None = None,
        open_mode: OpenMode | str = OpenMode.CHECK,
        field_mapping: FieldMapping | Mapping[str, Any] | None = None,
        client_kwargs: Mapping[str, Any] | None = None,
        allow_embedding_change: bool = False,
        embedding_function: Embeddings | Mapping[str, Embeddings] | None = _REQUIRED,
        connection_args: Mapping[str, Any] | None = None,
        index_params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
        partition_key_field: str | None = None,
    ) -> None:
        models = _models(_the_model(embedding, embedding_function))
        if index_params is not None and not isinstance(index_params, Mapping):
            raise ConfigError(
                "index_params as a list (langchain-milvus' form, one dict per vector field) "
                "is not taken: pass the dense field's dict alone, index_params={...}. The "
                "sparse (BM25) field's index is this store's own SPARSE_INVERTED_INDEX, and "
                "an existing collection's indexes are read from it."
            )
        index = either("index", index, "index_params", index_params)
        partition_key = either(
            "partition_key", partition_key, "partition_key_field", partition_key_field
        )
        given = [
            n
            for n, v in (("connection", connection), ("uri", uri), ("token", token))
            if v is not None
        ]
        if connection_args is not None:
            if given:
                raise ConfigError(f"give either connection_args= or {given[0]}=, not both.")
            connection = ConnectionConfig.from_connection_args(connection_args)
        if connection is not None and (uri is not None or token is not None):
            raise ConfigError("give either connection= or uri=/token=, not both.")
        default_mode = RetrievalMode.DENSE if models else RetrievalMode.SPARSE
        mode = RetrievalMode.parse(retrieval_mode or default_mode, field="retrieval_mode")
        names = list(models)
        self._embedding = next(iter(models.values()), None)
        self._store = StoreSettings(
            collection_name=collection_name,
            connection=connection or ConnectionConfig.from_env(uri=uri, token=token),
            drop_old=drop_old,
            dense=bool(models),
            vector_field=names[0] if names else "",
            extra_vector_fields=names[1:],
            dim=dim,
            index=index,
            metric=metric,
            metadata_fields=metadata_fields,
            infer_metadata_fields=infer_metadata_fields,
            partition_key=partition_key,
            num_partitions=num_partitions,
            tenant=tenant,
            tenant_mode=tenant_mode,
            # Without sparse=, the retrieval mode decides; an explicit sparse= is taken
            # as given (a mode it cannot serve is refused below).
            sparse_wanted=(mode is not RetrievalMode.DENSE) if sparse is None else None,
            sparse=sparse,
            bm25_analyzer=bm25_analyzer,
            text_match=text_match,
            collection_properties=collection_properties,
            ranker=ranker,
            fetch_k=fetch_k,
            consistency_level=consistency_level,
            text_max_length=text_max_length,
            # Checked under the names the caller gave (WriteOptions says batch_rows).
            write=merged_write_options(write_options, batch_size, progress),
            open_mode=open_mode,
            field_mapping=field_mapping,
            client_kwargs=client_kwargs,
            # The canonical field's model is fingerprinted (none for a sparse-only store).
            embedding=None if self._embedding is None else _fingerprint_probe(self._embedding),
            allow_embedding_change=allow_embedding_change,
        ).build()
        spec = self._store.spec
        self._mode = check_mode(mode, spec)
        # The model of each dense field by its name (the first is the canonical field).
        self._models = {f.name: m for f, m in zip(spec.dense_fields, models.values(), strict=True)}
        # Checked now, before anything is written (the first search would refuse them).
        self._search_params = checked_search_params(search_params or None, spec.index_config)
        self._stores = StorePair(self._store)  # the async twin: one client per event loop

    if not TYPE_CHECKING:  # hidden from type checkers: attribute typos stay errors there

        def __getattr__(self, name: str) -> Any:
            """Only reached for a missing attribute: langchain-milvus' methods name the fix."""
            hint = METHOD_HINTS.get(name)
            raise AttributeError(
                f"{type(self).__name__!r} object has no attribute {name!r}"
                + (f" ({hint})" if hint else "")
            )

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
            store._mode = check_mode(mode, store._store.spec)
        return store
