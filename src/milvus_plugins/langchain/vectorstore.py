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
    RRF,
    AsyncMilvusStore,
    CollectionNotFoundError,
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    ConsistencyLevel,
    Filter,
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
    TextAnalyzer,
    WriteOptions,
    check_kwargs,
    check_ranker,
    checked_arguments,
    choose_sparse,
    require_sparse_for,
    shown,
    with_batch_rows,
)
from milvus_plugins.langchain.documents import Batch, documents_batch, scored, to_document
from milvus_plugins.langchain.filters import FilterArg, deletion_filter, to_core_filter

__all__ = ["MilvusVectorStore"]

_SEARCH_KWARGS = frozenset(
    {"filter", "search_params", "score_threshold", "retrieval_mode", "ranker", "fetch_k"}
)
_VECTOR_KWARGS = frozenset({"filter", "search_params", "score_threshold"})
_MMR_KWARGS = frozenset({"filter", "search_params"})
# What LangChain's own callers pass to add_texts / add_documents: the indexing API
# (``langchain_core.indexing.index`` / ``aindex``) always passes ``batch_size``.
_WRITE_KWARGS = frozenset({"progress", "batch_size"})
# The types of the keyword arguments LangChain's signatures leave untyped (``**kwargs``);
# filter, ranker, retrieval_mode, score_threshold and batch_size have their own checks.
_KWARG_TYPES: dict[str, Any] = {
    "search_params": Mapping[str, Any] | None,
    "fetch_k": int | None,
    "progress": bool | None,
}


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


def _check_mode(mode: RetrievalMode, spec: CollectionSpec) -> RetrievalMode:
    require_sparse_for(
        SearchKind(mode.value),
        spec.has_sparse,
        collection=spec.name,
        setting=f"retrieval_mode={mode.value!r}",
        fix="create the store with sparse='bm25' (or a SparseEncoder), or use "
        "retrieval_mode='dense'",
    )
    return mode


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
    values; tuples come back as lists). Declared ``metadata_fields`` (or, with
    ``infer_metadata_fields=True``, those inferred from the first write) are typed
    columns: faster filters.

    Args:
        embedding: the LangChain embeddings model.
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
        infer_metadata_fields: when the first write creates the collection, also store
            each scalar metadata key of that write whose values share one type (str, int,
            float, bool) as a nullable typed column, so filters on it run at typed-column
            speed; later keys stay in the JSON metadata, later values must keep the type.
            Needs Milvus Lite or a server >= 2.5 (elsewhere nothing is inferred).
        partition_key: a declared field used as the Milvus partition key.
        retrieval_mode: ``"dense"``, ``"sparse"`` or ``"hybrid"``.
        sparse: ``"bm25"`` (server-side BM25, the default for sparse/hybrid modes),
            ``"none"``, or a :class:`SparseEncoder` (client-side sparse vectors).
        bm25_analyzer: how server-side BM25 splits text into terms: a
            :class:`~milvus_plugins.core.TextAnalyzer` (``TextAnalyzer(stop_words=
            "english", stemmer="english")``) or Milvus analyzer params (default
            ``{"type": "standard"}``: lower-cased words, no stop words). Only with
            ``sparse="bm25"``; fixed when the collection is created (reopening with a
            different one is a schema mismatch). Milvus Lite 3.2.2 applies the tokenizer,
            lower-casing and stop words but ignores stemmers.
        ranker: the hybrid fusion, ``RRF(k)`` or ``Weighted(dense, sparse)``.
        fetch_k: hybrid candidates per leg (default ``max(4k, 20)``).
        search_params: default dense search parameters (``{"ef": 64}``, ``{"nprobe": 16}``).
        consistency_level: read consistency (``"Strong"``: read-after-write).
        text_max_length: the maximum text length in bytes.
        batch_size: maximum rows per write request.
        progress: show a progress bar while writing (default: large writes on a TTY).
        open_mode: ``"check"`` an existing collection against these settings, or
            ``"adopt"`` its settings (see :meth:`from_existing_collection`).
        client_kwargs: extra keyword arguments for ``pymilvus.MilvusClient``.

    Raises:
        ConfigError: an invalid or contradictory setting (before any I/O).

    Example:
        >>> store = MilvusVectorStore(embeddings, uri="./rag.db", retrieval_mode="hybrid")
        >>> store.add_texts(["Milvus is a vector database"], metadatas=[{"topic": "db"}])
        >>> store.similarity_search("vector db", k=1, filter={"topic": "db"})
    """

    def __init__(
        self,
        embedding: Embeddings,
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
        infer_metadata_fields: bool = False,
        partition_key: str | None = None,
        retrieval_mode: RetrievalMode | str = RetrievalMode.DENSE,
        sparse: str | SparseEncoder | None = None,
        bm25_analyzer: TextAnalyzer | Mapping[str, Any] | None = None,
        ranker: Ranker | None = None,
        fetch_k: int | None = None,
        search_params: Mapping[str, Any] | None = None,
        consistency_level: ConsistencyLevel | str = ConsistencyLevel.STRONG,
        text_max_length: int = 65535,
        batch_size: int = 1000,
        progress: bool | None = None,
        open_mode: OpenMode | str = OpenMode.CHECK,
        client_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(embedding, Embeddings):
            raise ConfigError(
                f"embedding must be a langchain_core Embeddings, got {type(embedding).__name__}."
            )
        if connection is not None and (uri is not None or token is not None):
            raise ConfigError("give either connection= or uri=/token=, not both.")
        mode = RetrievalMode.parse(retrieval_mode, field="retrieval_mode")
        # Without sparse=, the retrieval mode decides; an explicit sparse= is taken as
        # given (a mode it cannot serve is refused below).
        wanted = (mode is not RetrievalMode.DENSE) if sparse is None else None
        sparse_mode, encoder = choose_sparse(sparse, wanted=wanted)
        spec = CollectionSpec(
            name=collection_name,
            dim=dim,
            index=index,
            metric=metric,
            sparse=sparse_mode,
            analyzer=bm25_analyzer,
            metadata_fields=metadata_fields or (),
            partition_key=partition_key,
            infer_metadata_fields=infer_metadata_fields,
            consistency_level=consistency_level,
            text_max_length=text_max_length,
        )
        self._mode = _check_mode(mode, spec)
        self._embedding = embedding
        self._search_params = dict(search_params) if search_params else None
        self._store = MilvusStore(
            spec,
            connection=connection or ConnectionConfig.from_env(uri=uri, token=token),
            drop_old=drop_old,
            open_mode=open_mode,
            write=WriteOptions(batch_rows=batch_size, progress=progress),
            hybrid=HybridOptions(ranker=check_ranker(ranker) or RRF(), fetch_k=fetch_k),
            sparse_encoder=encoder,
            client_kwargs=client_kwargs,
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
    def embeddings(self) -> Embeddings:
        """The embeddings model."""
        return self._embedding

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
        embedding: Embeddings,
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
        embedding: Embeddings,
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
        embedding: Embeddings,
        *,
        collection_name: str,
        retrieval_mode: RetrievalMode | str = RetrievalMode.DENSE,
        sparse: str | SparseEncoder | None = None,
        **kwargs: Any,
    ) -> Self:
        """Open an existing collection, adopting its dimension, metric, index and fields.

        The sparse mode is read back too: a collection created with BM25 supports
        ``retrieval_mode="hybrid"`` without repeating ``sparse=``; one created with a
        client encoder needs that encoder as ``sparse=`` to search.

        Args:
            embedding: the embeddings model (the one the collection was filled with).
            collection_name: the collection to open.
            retrieval_mode: the default retrieval mode.
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
            sparse="none" if sparse is None else sparse,
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
                (LangChain's indexing API passes it).

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
        # Validated whole first, then embedded and written a batch at a time (streamed).
        return self._store.upsert(
            batch.records(),
            progress=kwargs.get("progress"),
            batch_rows=options.batch_rows,
            embed=self._embedding.embed_documents,
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
        return await self._astore().upsert(
            batch.records(),
            progress=kwargs.get("progress"),
            batch_rows=options.batch_rows,
            embed=self._embedding.aembed_documents,
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
        (``ids=None`` means "delete all"); the collection itself stays. A ``filter``
        that matches every row by itself (``{}``, ``""``, an empty ``and_()``) is
        refused: call ``delete()`` with no arguments to delete everything on purpose.

        Args:
            ids: the ids to delete (unknown ids are ignored); a list, never one string.
            filter: a filter dict, a core filter or a raw expression (raw expressions
                are the caller's responsibility: one that always holds deletes all).
            **kwargs: none accepted (kept for LangChain's signature).

        Returns:
            ``True`` once the deletion was applied (errors raise).

        Raises:
            InvalidInputError: ``ids`` is a single string or holds a non-string or
                ``""``, or ``filter`` matches every row.
            FilterError: a malformed filter.
        """
        check_kwargs("delete", kwargs, frozenset(), _KWARG_TYPES)
        if ids is None and filter is None:
            self._store.clear()
        else:
            self._store.delete(ids, filter=deletion_filter(filter))
        return True

    async def adelete(
        self, ids: Sequence[str] | None = None, *, filter: FilterArg = None, **kwargs: Any
    ) -> bool:
        """Async twin of :meth:`delete`."""
        check_kwargs("adelete", kwargs, frozenset(), _KWARG_TYPES)
        if ids is None and filter is None:
            await self._astore().clear()
        else:
            await self._astore().delete(ids, filter=deletion_filter(filter))
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
        self, k: int, kwargs: Mapping[str, Any], allowed: frozenset[str], method: str
    ) -> _Search:
        check_kwargs(method, kwargs, allowed, _KWARG_TYPES)
        mode = self._mode
        if kwargs.get("retrieval_mode") is not None:
            mode = RetrievalMode.parse(kwargs["retrieval_mode"], field="retrieval_mode")
            _check_mode(mode, self._store.spec)
        threshold = kwargs.get("score_threshold")
        if threshold is not None and not isinstance(threshold, (int, float)):
            raise ConfigError(f"score_threshold={shown(threshold)} must be a number in [0, 1].")
        params = kwargs.get("search_params")
        return _Search(
            mode=mode,
            k=k,
            filter=to_core_filter(kwargs.get("filter")),
            search_params=dict(params) if params is not None else self._search_params,
            score_threshold=None if threshold is None else float(threshold),
            ranker=check_ranker(kwargs.get("ranker")),
            fetch_k=kwargs.get("fetch_k"),
        )

    def _retrieve_args(
        self, req: _Search, query: str, vector: list[float] | None
    ) -> dict[str, Any]:
        return {
            "mode": req.mode,
            "vector": vector,
            "text": query,
            "k": req.k,
            "filter": req.filter,
            "ranker": req.ranker,
            "fetch_k": req.fetch_k,
            "search_params": req.search_params,
        }

    # -- search: sync ------------------------------------------------------------------

    def _hits(self, query: str, k: int, kwargs: Mapping[str, Any], method: str) -> list[Hit]:
        req = self._request(k, kwargs, _SEARCH_KWARGS, method)
        embed = req.needs_vector and not _blank(query)
        vector = self._embedding.embed_query(query) if embed else None
        return req.keep(self._store.retrieve(**self._retrieve_args(req, query, vector)))

    def _vector_hits(
        self, embedding: list[float], k: int, kwargs: Mapping[str, Any], method: str
    ) -> list[Hit]:
        req = self._request(k, kwargs, _VECTOR_KWARGS, method)
        hits = self._store.search(
            embedding, k=k, filter=req.filter, search_params=req.search_params
        )
        return req.keep(hits)

    def similarity_search(self, query: str, k: int = 4, **kwargs: Any) -> list[Document]:
        """Return the ``k`` documents most relevant to ``query`` in the retrieval mode.

        Args:
            query: the query text.
            k: how many documents.
            **kwargs: ``filter``, ``retrieval_mode``, ``score_threshold``,
                ``search_params``, and for hybrid ``ranker`` and ``fetch_k``.

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
            **kwargs: ``filter``, ``score_threshold``, ``search_params``.

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
            **kwargs: ``filter``, ``score_threshold``, ``search_params``.

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
            **kwargs: ``filter``, ``search_params``.

        Returns:
            The documents, in MMR order.
        """
        if _blank(query):  # nothing to be relevant to, nor diverse from: filter-only
            req = self._request(k, kwargs, _MMR_KWARGS, "max_marginal_relevance_search")
            hits = self._store.filtered_hits(k=k, filter=req.filter)
            return [to_document(h.record) for h in hits]
        vector = self._embedding.embed_query(query)
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
            **kwargs: ``filter``, ``search_params``.

        Returns:
            The documents, in MMR order.
        """
        req = self._request(k, kwargs, _MMR_KWARGS, "max_marginal_relevance_search")
        hits = self._store.mmr_search(
            embedding,
            k=k,
            fetch_k=fetch_k,
            lambda_mult=lambda_mult,
            filter=req.filter,
            search_params=req.search_params,
        )
        return [doc for doc, _ in scored(hits)]

    # -- search: async (the same, awaited) -----------------------------------------------

    async def _ahits(self, query: str, k: int, kwargs: Mapping[str, Any], method: str) -> list[Hit]:
        req = self._request(k, kwargs, _SEARCH_KWARGS, method)
        embed = req.needs_vector and not _blank(query)
        vector = await self._embedding.aembed_query(query) if embed else None
        return req.keep(await self._astore().retrieve(**self._retrieve_args(req, query, vector)))

    async def _avector_hits(
        self, embedding: list[float], k: int, kwargs: Mapping[str, Any], method: str
    ) -> list[Hit]:
        req = self._request(k, kwargs, _VECTOR_KWARGS, method)
        hits = await self._astore().search(
            embedding, k=k, filter=req.filter, search_params=req.search_params
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
            hits = await self._astore().filtered_hits(k=k, filter=req.filter)
            return [to_document(h.record) for h in hits]
        vector = await self._embedding.aembed_query(query)
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
        req = self._request(k, kwargs, _MMR_KWARGS, "amax_marginal_relevance_search")
        hits = await self._astore().mmr_search(
            embedding,
            k=k,
            fetch_k=fetch_k,
            lambda_mult=lambda_mult,
            filter=req.filter,
            search_params=req.search_params,
        )
        return [doc for doc, _ in scored(hits)]
