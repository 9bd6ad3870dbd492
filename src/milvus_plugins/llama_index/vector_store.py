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
from dataclasses import dataclass, field
from typing import Any

from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.schema import BaseNode
from llama_index.core.vector_stores.types import (
    BasePydanticVectorStore,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
    VectorStoreQueryResult,
)
from typing_extensions import Self

from milvus_plugins.core.arguments import checked_arguments, id_list
from milvus_plugins.core.async_store import AsyncMilvusStore
from milvus_plugins.core.batching import WriteOptions
from milvus_plugins.core.config import (
    CollectionSpec,
    ConnectionConfig,
    MetadataField,
    TextAnalyzer,
)
from milvus_plugins.core.errors import ConfigError, InvalidInputError, shown
from milvus_plugins.core.filters import Filter, and_, doc_id_in, id_in
from milvus_plugins.core.indexes import IndexConfig
from milvus_plugins.core.ranking import RRF, Ranker, Weighted
from milvus_plugins.core.records import Record
from milvus_plugins.core.requests import is_filter_only
from milvus_plugins.core.results import Hit
from milvus_plugins.core.retry import RetryPolicy
from milvus_plugins.core.sparse import SparseEncoder
from milvus_plugins.core.store import HybridOptions, MilvusStore
from milvus_plugins.core.types import MetricType, SparseMode
from milvus_plugins.llama_index.filters import to_core_filter
from milvus_plugins.llama_index.nodes import nodes_to_records, record_to_node

__all__ = [
    "DEFAULT_MMR_PREFETCH_FACTOR",
    "MilvusVectorStore",
    "SearchPlan",
    "hybrid_ranker",
    "node_filter",
    "plan_query",
    "to_query_result",
]

DEFAULT_COLLECTION = "llamacollection"
DEFAULT_MMR_PREFETCH_FACTOR = 4.0
_QUERY_KWARGS = frozenset({"mmr_threshold", "mmr_prefetch_k", "mmr_prefetch_factor"})
_SPARSE_MODES = (VectorStoreQueryMode.SPARSE, VectorStoreQueryMode.TEXT_SEARCH)
_FILTER_ONLY_MODES = (
    VectorStoreQueryMode.DEFAULT,
    VectorStoreQueryMode.MMR,
    VectorStoreQueryMode.HYBRID,
    *_SPARSE_MODES,
)


# -- pure translation ---------------------------------------------------------------------


@dataclass(frozen=True)
class SearchPlan:
    """One core search call: the store method's name and its keyword arguments.

    :class:`MilvusStore` and :class:`AsyncMilvusStore` share method names, so the sync
    and async query paths run the same plan.
    """

    method: str
    kwargs: dict[str, Any] = field(default_factory=dict)


def _check_kwargs(where: str, kwargs: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        accepted = ", ".join(sorted(allowed)) or "none"
        raise InvalidInputError(
            f"{where} got unexpected keyword arguments {unknown}; accepted: {accepted}."
        )


def node_filter(
    filters: MetadataFilters | None,
    node_ids: Sequence[str] | None = None,
    doc_ids: Sequence[str] | None = None,
) -> Filter | None:
    """Combine metadata filters with node-id and document-id restrictions (AND).

    ``None`` or an empty list means "no restriction": ``VectorStoreIndex.as_retriever``
    passes ``node_ids=[]`` for stores that keep the text themselves.

    Raises:
        InvalidInputError: ``node_ids`` or ``doc_ids`` is a single string, or holds a
            non-string or ``""``.
        FilterError: a filter Milvus cannot express exactly.
    """
    node_ids = None if node_ids is None else id_list(node_ids, "node_ids")
    doc_ids = None if doc_ids is None else id_list(doc_ids, "doc_ids")
    parts = []
    metadata = to_core_filter(filters)
    if metadata is not None:
        parts.append(metadata)
    if doc_ids:
        parts.append(doc_id_in(doc_ids))
    if node_ids:
        parts.append(id_in(node_ids))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else and_(*parts)


def hybrid_ranker(configured: Ranker | None, alpha: float | None) -> Ranker:
    """The fusion for a hybrid query.

    LlamaIndex's ``alpha`` weighs the legs: ``1`` is pure vector search, ``0`` pure
    keyword search. It becomes ``Weighted(alpha, 1 - alpha)`` unless the store was
    configured with :class:`RRF`, which fuses ranks and has no weights: then ``alpha``
    is ignored. Without ``alpha`` the configured ranker (default ``RRF(60)``) is used.

    Raises:
        InvalidInputError: ``alpha`` is outside [0, 1].
    """
    if isinstance(configured, RRF):
        return configured
    if alpha is None:
        return configured or RRF()
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha <= 1:
        raise InvalidInputError(
            f"alpha={shown(alpha)} must be in [0, 1] (1: vector search only, 0: keyword only)."
        )
    normalize = configured.normalize if isinstance(configured, Weighted) else True
    return Weighted(float(alpha), 1.0 - float(alpha), normalize=normalize)


def _mmr_options(query: VectorStoreQuery, kwargs: Mapping[str, Any]) -> tuple[float, int]:
    lambda_mult = query.mmr_threshold
    if lambda_mult is None:
        lambda_mult = kwargs.get("mmr_threshold")
    if lambda_mult is None:
        lambda_mult = 0.5
    prefetch_k = kwargs.get("mmr_prefetch_k")
    factor = kwargs.get("mmr_prefetch_factor")
    if prefetch_k is not None and factor is not None:
        raise InvalidInputError("give mmr_prefetch_k or mmr_prefetch_factor, not both.")
    k = query.similarity_top_k
    if prefetch_k is None:
        prefetch_k = int(k * (DEFAULT_MMR_PREFETCH_FACTOR if factor is None else factor))
    return float(lambda_mult), max(int(prefetch_k), k)


def _need_vector(query: VectorStoreQuery, mode: VectorStoreQueryMode) -> list[float]:
    if query.query_embedding is None:
        raise InvalidInputError(
            f"query mode {shown(mode.value)} needs query_embedding; embed the query first."
        )
    return list(query.query_embedding)


def _need_text(query: VectorStoreQuery, mode: VectorStoreQueryMode) -> str:
    if not (query.query_str or "").strip():
        raise InvalidInputError(
            f"query mode {shown(mode.value)} needs a non-empty query_str for keyword search."
        )
    return str(query.query_str)


def _no_query(query: VectorStoreQuery) -> bool:
    """No query text, and no embedding or an all-zero one: nothing to rank by.

    ``VectorIndexAutoRetriever`` marks a filter-only question ("papers from 2023") with
    ``query_str=""`` and its ``default_empty_query_vector``, a zero vector; ranking by it
    would be meaningless (and COSINE cannot rank it at all).
    """
    embedding = query.query_embedding
    no_vector = embedding is None or not any(embedding)
    return no_vector and is_filter_only(None, query.query_str)


def plan_query(
    query: VectorStoreQuery,
    kwargs: Mapping[str, Any],
    *,
    has_sparse: bool,
    ranker: Ranker | None,
) -> SearchPlan:
    """Translate a ``VectorStoreQuery`` into one core search call (no I/O).

    Args:
        query: the LlamaIndex query.
        kwargs: ``vector_store_kwargs``: ``mmr_threshold``, ``mmr_prefetch_k`` or
            ``mmr_prefetch_factor`` (MMR only).
        has_sparse: whether the collection has a sparse (keyword) field.
        ranker: the store's configured hybrid ranker, if any.

    Raises:
        InvalidInputError: an unsupported mode, a missing embedding or query text, or
            an unknown keyword argument.
        ConfigError: a keyword or hybrid query on a store without a sparse field.
        FilterError: a filter Milvus cannot express exactly.
    """
    _check_kwargs("query()", kwargs, _QUERY_KWARGS)
    mode = VectorStoreQueryMode(query.mode)
    common: dict[str, Any] = {
        "filter": node_filter(query.filters, query.node_ids, query.doc_ids),
    }
    if mode in (*_SPARSE_MODES, VectorStoreQueryMode.HYBRID) and not has_sparse:
        raise ConfigError(
            f"query mode {shown(mode.value)} needs keyword (sparse) search, but this collection "
            "has no sparse field; create the store with enable_sparse=True (server-side "
            "BM25) or sparse=<a SparseEncoder>."
        )
    if mode in _FILTER_ONLY_MODES and _no_query(query):
        k = (query.hybrid_top_k if mode is VectorStoreQueryMode.HYBRID else None) or (
            query.similarity_top_k
        )
        return SearchPlan("filtered_hits", {"k": k, **common})
    if mode is VectorStoreQueryMode.DEFAULT:
        return SearchPlan(
            "search", {"vector": _need_vector(query, mode), "k": query.similarity_top_k, **common}
        )
    if mode is VectorStoreQueryMode.MMR:
        lambda_mult, fetch_k = _mmr_options(query, kwargs)
        return SearchPlan(
            "mmr_search",
            {
                "vector": _need_vector(query, mode),
                "k": query.similarity_top_k,
                "fetch_k": fetch_k,
                "lambda_mult": lambda_mult,
                **common,
            },
        )
    if mode in _SPARSE_MODES:
        return SearchPlan(
            "sparse_search",
            {"query": _need_text(query, mode), "k": query.similarity_top_k, **common},
        )
    if mode is VectorStoreQueryMode.HYBRID:
        return SearchPlan(
            "hybrid_search",
            {
                "vector": _need_vector(query, mode),
                "query": _need_text(query, mode),
                "k": query.hybrid_top_k or query.similarity_top_k,
                "fetch_k": query.sparse_top_k,
                "ranker": hybrid_ranker(ranker, query.alpha),
                **common,
            },
        )
    raise InvalidInputError(
        f"query mode {shown(mode.value)} is not supported by MilvusVectorStore; use default, "
        "mmr, sparse, text_search or hybrid."
    )


def to_query_result(hits: Sequence[Hit]) -> VectorStoreQueryResult:
    """Build the LlamaIndex result: nodes, relevance scores in [0, 1], and ids."""
    return VectorStoreQueryResult(
        nodes=[record_to_node(hit.record) for hit in hits],
        similarities=[hit.score for hit in hits],
        ids=[hit.id for hit in hits],
    )


def _ref_doc_filter(ref_doc_id: Any) -> Filter:
    # `""` is the doc_id of nodes *without* a source document (and of every LangChain
    # row in a shared collection), and None would be looked up as the text "None".
    if not isinstance(ref_doc_id, str) or not ref_doc_id:
        raise InvalidInputError(
            f"ref_doc_id={shown(ref_doc_id)} must be a non-empty string (the id of the source "
            "document whose nodes to delete); use delete_nodes() for nodes by id or filter."
        )
    return doc_id_in([ref_doc_id])


def _ordered(records: Sequence[Record], node_ids: Sequence[str] | None) -> list[BaseNode]:
    if node_ids is not None:
        by_id = {r.id: r for r in records}
        records = [by_id[i] for i in dict.fromkeys(node_ids) if i in by_id]
    return [record_to_node(r, include_embedding=True) for r in records]


def _sparse_settings(
    enable_sparse: bool | None, sparse: str | SparseEncoder | None
) -> tuple[SparseMode, SparseEncoder | None]:
    if sparse is None or (isinstance(sparse, str) and sparse.strip().lower() == "none"):
        return (SparseMode.BM25 if enable_sparse else SparseMode.NONE), None
    if enable_sparse is False:
        raise ConfigError(
            f"enable_sparse=False contradicts sparse={shown(sparse)}; drop one of the two."
        )
    if isinstance(sparse, str):
        mode = SparseMode.parse(sparse, field="sparse")
        if mode is SparseMode.CLIENT:
            raise ConfigError("sparse='client' needs the encoder itself: pass sparse=<encoder>.")
        return mode, None
    if isinstance(sparse, SparseEncoder):
        return SparseMode.CLIENT, sparse
    raise ConfigError(
        f"sparse={shown(sparse)} must be 'bm25' (server-side BM25) or a SparseEncoder "
        "(e.g. BM25Encoder().fit(corpus))."
    )


# -- the vector store ---------------------------------------------------------------------


@checked_arguments
class MilvusVectorStore(BasePydanticVectorStore):
    """LlamaIndex vector store backed by one Milvus collection (Lite, server or Zilliz).

    Nodes keep their id, text, metadata, ``ref_doc_id``, relationships and embedding.
    Query modes: ``default`` (dense), ``mmr``, ``sparse`` and ``text_search`` (BM25
    keyword search on ``query_str``) and ``hybrid`` (dense + keyword, fused). The
    constructor does no I/O: the collection is opened, or created with the dimension of
    the first embeddings, on first use.

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
        infer_metadata_fields: when the first write creates the collection, also store
            each scalar metadata key of that write whose values share one type (str, int,
            float, bool) as a nullable typed column, so filters on it run at typed-column
            speed; later keys stay in the JSON metadata, later values must keep the type.
            Needs Milvus Lite or a server >= 2.5 (elsewhere nothing is inferred).
        partition_key: a declared metadata field used as the Milvus partition key.
        enable_sparse: add a keyword (sparse) field, server-side BM25 unless ``sparse``
            says otherwise; needed by the ``sparse``, ``text_search`` and ``hybrid`` modes.
        sparse: ``"bm25"`` (server-side BM25 on the node text) or a core
            :class:`~milvus_plugins.core.SparseEncoder` for client-side sparse vectors.
        bm25_analyzer: how server-side BM25 splits text into terms: a
            :class:`~milvus_plugins.core.TextAnalyzer` (``TextAnalyzer(stop_words=
            "english", stemmer="english")``) or Milvus analyzer params (default
            ``{"type": "standard"}``: lower-cased words, no stop words). Only with
            server-side BM25; fixed when the collection is created (reopening with a
            different one is a schema mismatch). Milvus Lite 3.2.2 applies the tokenizer,
            lower-casing and stop words but ignores stemmers.
        ranker: the hybrid fusion: ``RRF(k)`` (the default, ``RRF(60)``; a query's
            ``alpha`` is then ignored) or ``Weighted(dense, sparse)`` (a query's ``alpha``
            overrides the weights with ``Weighted(alpha, 1 - alpha)``).
        consistency_level: read consistency (``Strong`` gives read-after-write).
        db_name: the Milvus database.
        timeout: seconds per call.
        open_mode: ``"check"`` (an existing collection must match these settings) or
            ``"adopt"`` (read its settings back).
        write_options: batching and progress options for ``add``.
        retry: retry policy for transient faults.
        client_kwargs: extra keyword arguments for ``pymilvus.MilvusClient``.

    Raises:
        ConfigError: an invalid or contradictory setting (before any I/O).
    """

    stores_text: bool = True
    collection_name: str = DEFAULT_COLLECTION
    uri: str = ""
    enable_sparse: bool = False

    _store: MilvusStore = PrivateAttr()
    _ranker: Ranker | None = PrivateAttr(default=None)
    _async_store: AsyncMilvusStore | None = PrivateAttr(default=None)

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
        infer_metadata_fields: bool = False,
        partition_key: str | None = None,
        enable_sparse: bool | None = None,
        sparse: str | SparseEncoder | None = None,
        bm25_analyzer: TextAnalyzer | Mapping[str, Any] | None = None,
        ranker: Ranker | None = None,
        consistency_level: str = "Strong",
        db_name: str = "",
        timeout: float | None = 30.0,
        open_mode: str = "check",
        write_options: WriteOptions | None = None,
        retry: RetryPolicy | None = None,
        client_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        if ranker is not None and not isinstance(ranker, (RRF, Weighted)):
            raise ConfigError(f"ranker={shown(ranker)} must be RRF(k) or Weighted(dense, sparse).")
        sparse_mode, encoder = _sparse_settings(enable_sparse, sparse)
        spec = CollectionSpec(
            name=collection_name,
            dim=dim,
            index=index,
            metric=similarity_metric,
            sparse=sparse_mode,
            analyzer=bm25_analyzer,
            metadata_fields=metadata_fields or (),
            partition_key=partition_key,
            infer_metadata_fields=infer_metadata_fields,
            consistency_level=consistency_level,
        )
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
        )
        fields: dict[str, Any] = {
            "stores_text": True,
            "collection_name": collection_name,
            # Serialised by to_json()/to_dict(): never the credentials (the token is
            # not a field; userinfo in the uri is cut).
            "uri": connection.safe_uri,
            "enable_sparse": sparse_mode is not SparseMode.NONE,
        }
        super().__init__(**fields)
        self._store = store
        self._ranker = ranker

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
        )
        self._store = store
        self._ranker = ranker
        self._async_store = None
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
    def async_store(self) -> AsyncMilvusStore:
        """The async core store (created on first use; one client per event loop)."""
        if self._async_store is None:
            # It keeps one async client per event loop (a grpc.aio channel belongs to
            # the loop it was made in).
            self._async_store = AsyncMilvusStore(self._store)
        return self._async_store

    def close(self) -> None:
        """Close the connections (the store reconnects if used again).

        Closes the sync client and drops the async clients of event loops that have
        ended; on Milvus Lite the last store of a database to close stops its server.
        """
        if self._async_store is not None:
            self._async_store.release_ended_loops()
        self._store.close()

    async def aclose(self) -> None:
        """Close the connections: the async clients and the sync one."""
        try:
            if self._async_store is not None:
                await self._async_store.close()
        finally:
            self._store.close()

    def __enter__(self) -> Self:
        """Return the store; leaving the block closes it."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the store."""
        self.close()

    async def __aenter__(self) -> Self:
        """Return the store; leaving the block closes it."""
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Close the store."""
        await self.aclose()

    @property
    def aclient(self) -> Any:
        """The ``pymilvus.AsyncMilvusClient`` of the running event loop."""
        return self.async_store.client

    def _plan(self, query: VectorStoreQuery, kwargs: Mapping[str, Any]) -> SearchPlan:
        return plan_query(query, kwargs, has_sparse=self.spec.has_sparse, ranker=self._ranker)

    # -- writes -----------------------------------------------------------------------

    def add(self, nodes: Sequence[BaseNode], **add_kwargs: Any) -> list[str]:
        """Upsert nodes with their embeddings (by node id: re-adding never duplicates).

        Args:
            nodes: the nodes; each needs an embedding and non-empty text.
            **add_kwargs: ``progress`` (bool) forces the progress bar on or off.

        Returns:
            The node ids, in input order.

        Raises:
            InvalidInputError: a node without embedding or text, or with a wrong
                dimension or non-JSON metadata (nothing is written).
            WriteError: a batch failed after retries; lists the ids written.
        """
        _check_kwargs("add()", add_kwargs, frozenset({"progress"}))
        records = nodes_to_records(nodes)
        return self._store.upsert(records, progress=add_kwargs.get("progress"))

    async def async_add(self, nodes: Sequence[BaseNode], **kwargs: Any) -> list[str]:
        """Async twin of :meth:`add`."""
        _check_kwargs("async_add()", kwargs, frozenset({"progress"}))
        records = nodes_to_records(nodes)
        return await self.async_store.upsert(records, progress=kwargs.get("progress"))

    def delete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        """Delete every node of the source document ``ref_doc_id``.

        Raises:
            InvalidInputError: ``ref_doc_id`` is not a non-empty string.
        """
        _check_kwargs("delete()", delete_kwargs, frozenset())
        self._store.delete(filter=_ref_doc_filter(ref_doc_id))

    async def adelete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        """Async twin of :meth:`delete`."""
        _check_kwargs("adelete()", delete_kwargs, frozenset())
        await self.async_store.delete(filter=_ref_doc_filter(ref_doc_id))

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
        if where is not None:
            self._store.delete(filter=where)

    async def adelete_nodes(
        self,
        node_ids: list[str] | None = None,
        filters: MetadataFilters | None = None,
        **delete_kwargs: Any,
    ) -> None:
        """Async twin of :meth:`delete_nodes`."""
        where = self._deletion(node_ids, filters, delete_kwargs)
        if where is not None:
            await self.async_store.delete(filter=where)

    @staticmethod
    def _deletion(
        node_ids: Sequence[str] | None,
        filters: MetadataFilters | None,
        kwargs: Mapping[str, Any],
    ) -> Filter | None:
        _check_kwargs("delete_nodes()", kwargs, frozenset())
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
        """Delete every node (drop the collection); the next ``add`` recreates it."""
        self._store.drop()

    async def aclear(self) -> None:
        """Async twin of :meth:`clear`."""
        await self.async_store.drop()

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
        records = self._store.query(node_filter(filters, node_ids), include_vectors=True)
        return _ordered(records, node_ids)

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
        records = await self.async_store.query(where, include_vectors=True)
        return _ordered(records, node_ids)

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
        """
        plan = self._plan(query, kwargs)
        hits: list[Hit] = getattr(self._store, plan.method)(**plan.kwargs)
        return to_query_result(hits)

    async def aquery(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        """Async twin of :meth:`query`."""
        plan = self._plan(query, kwargs)
        hits: list[Hit] = await getattr(self.async_store, plan.method)(**plan.kwargs)
        return to_query_result(hits)
