"""Six faces of one collection: the core store, sync and async, and both adapters' APIs.

Each face wraps one public API (core ``MilvusStore``, core ``AsyncMilvusStore``, the
LangChain and the LlamaIndex vector stores, each sync and async) behind the same small
set of operations, with inputs and outputs in neutral types: rows are
``(id, text, metadata)`` tuples, filters are lists of ``(key, value)`` equalities, hits
are ``(id, relevance)`` pairs. The congruence suite runs one scenario through every face
and asserts that they all answer alike.

Async faces keep one event loop each and run every call on it, as an application
would.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import (
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
)

from milvus_plugins.core import (
    AsyncMilvusStore,
    CollectionSpec,
    ConnectionConfig,
    Filter,
    MilvusStore,
    Record,
    and_,
    eq,
)
from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

T = TypeVar("T")
Row = tuple[str, str, dict[str, Any]]
Where = list[tuple[str, Any]]
Scored = list[tuple[str, float]]

VOCAB = ["cat", "dog", "fish", "car", "train", "plane", "milvus", "vector", "python", "bird"]
DIM = len(VOCAB) + 1


def embed(text: str) -> list[float]:
    """Count vocabulary words: texts sharing words are close."""
    words = re.findall(r"\w+", text.lower())
    return [float(words.count(w)) for w in VOCAB] + [0.1]


class VocabEmbeddings(Embeddings):
    """LangChain face of :func:`embed`."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [embed(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return embed(text)


class LengthEmbeddings(Embeddings):
    """A 2-d LangChain model (``[1, len(text)]``) that counts the texts it embedded: a
    refused write must embed none."""

    def __init__(self) -> None:
        self.texts = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.texts += len(texts)
        return [[1.0, float(len(t))] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return [1.0, float(len(text))]


class VocabEmbedding(BaseEmbedding):
    """LlamaIndex face of :func:`embed`."""

    def _get_query_embedding(self, query: str) -> list[float]:
        return embed(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return embed(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return embed(text)


def core_filter(where: Where | None) -> Filter | None:
    """``None``: no filter; ``[]``: an explicit empty (match-all) filter."""
    return None if where is None else and_(*(eq(k, v) for k, v in where))


def dict_filter(where: Where | None) -> dict[str, Any] | None:
    return None if where is None else dict(where)


class Face:
    """One public API over one collection; subclasses translate the neutral operations."""

    name = "face"

    def __init__(self, uri: str, collection: str, *, sparse: bool = False) -> None:
        self.uri = uri
        self.collection = collection
        self.sparse = sparse

    def run(self, fn: Callable[[], Awaitable[T]]) -> T:
        raise NotImplementedError

    def add(self, rows: Sequence[Row]) -> list[str]:
        raise NotImplementedError

    def get(self, ids: Sequence[str]) -> list[Row]:
        raise NotImplementedError

    def delete(self, ids: Sequence[str] | None, where: Where | None) -> None:
        raise NotImplementedError

    def search(self, text: str, k: int, where: Where | None = None, mode: str = "dense") -> Scored:
        raise NotImplementedError

    def mmr(self, text: str, k: int, fetch_k: int) -> list[str]:
        raise NotImplementedError

    def clear(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


def _record(row: Row) -> Record:
    i, text, meta = row
    return Record(id=i, text=text, vector=embed(text), metadata=dict(meta))


def _row(record: Record) -> Row:
    return (record.id, record.text or "", dict(record.metadata))


class CoreFace(Face):
    name = "core"

    def __init__(self, uri: str, collection: str, *, sparse: bool = False) -> None:
        super().__init__(uri, collection, sparse=sparse)
        spec = CollectionSpec(name=collection, sparse="bm25" if sparse else "none")
        self.store = MilvusStore(spec, connection=ConnectionConfig(uri=uri))

    def add(self, rows: Sequence[Row]) -> list[str]:
        return self.store.upsert([_record(r) for r in rows])

    def get(self, ids: Sequence[str]) -> list[Row]:
        return [_row(r) for r in self.store.get(ids)]

    def delete(self, ids: Sequence[str] | None, where: Where | None) -> None:
        self.store.delete(ids=ids, filter=core_filter(where))

    def search(self, text: str, k: int, where: Where | None = None, mode: str = "dense") -> Scored:
        hits = self.store.retrieve(
            mode=mode, vector=embed(text), text=text, k=k, filter=core_filter(where)
        )
        return [(h.id, h.score) for h in hits]

    def mmr(self, text: str, k: int, fetch_k: int) -> list[str]:
        return [h.id for h in self.store.mmr_search(embed(text), k=k, fetch_k=fetch_k)]

    def clear(self) -> None:
        self.store.drop()

    def close(self) -> None:
        self.store.close()


class AsyncFace(Face):
    """Runs every call on one event loop of its own."""

    def __init__(self, uri: str, collection: str, *, sparse: bool = False) -> None:
        super().__init__(uri, collection, sparse=sparse)
        self.loop = asyncio.new_event_loop()

    def run(self, fn: Callable[[], Awaitable[T]]) -> T:
        async def call() -> T:
            return await fn()

        return self.loop.run_until_complete(call())

    def close(self) -> None:
        self.loop.close()


class CoreAsyncFace(AsyncFace):
    name = "core-async"

    def __init__(self, uri: str, collection: str, *, sparse: bool = False) -> None:
        super().__init__(uri, collection, sparse=sparse)
        self.core = CoreFace(uri, collection, sparse=sparse)
        self.store = AsyncMilvusStore(self.core.store)

    def add(self, rows: Sequence[Row]) -> list[str]:
        return self.run(lambda: self.store.upsert([_record(r) for r in rows]))

    def get(self, ids: Sequence[str]) -> list[Row]:
        return [_row(r) for r in self.run(lambda: self.store.get(ids))]

    def delete(self, ids: Sequence[str] | None, where: Where | None) -> None:
        self.run(lambda: self.store.delete(ids=ids, filter=core_filter(where)))

    def search(self, text: str, k: int, where: Where | None = None, mode: str = "dense") -> Scored:
        hits = self.run(
            lambda: self.store.retrieve(
                mode=mode, vector=embed(text), text=text, k=k, filter=core_filter(where)
            )
        )
        return [(h.id, h.score) for h in hits]

    def mmr(self, text: str, k: int, fetch_k: int) -> list[str]:
        hits = self.run(lambda: self.store.mmr_search(embed(text), k=k, fetch_k=fetch_k))
        return [h.id for h in hits]

    def clear(self) -> None:
        self.run(self.store.drop)

    def close(self) -> None:
        self.run(self.store.close)
        self.core.close()
        super().close()


def _lc_store(uri: str, collection: str, sparse: bool) -> LangChainStore:
    return LangChainStore(
        VocabEmbeddings(), uri=uri, collection_name=collection, sparse="bm25" if sparse else None
    )


def _doc_row(doc: Document) -> Row:
    return (str(doc.id), doc.page_content, dict(doc.metadata))


class LangChainFace(Face):
    name = "langchain"

    def __init__(self, uri: str, collection: str, *, sparse: bool = False) -> None:
        super().__init__(uri, collection, sparse=sparse)
        self.store = _lc_store(uri, collection, sparse)

    def add(self, rows: Sequence[Row]) -> list[str]:
        return self.store.add_texts(
            [t for _, t, _ in rows], metadatas=[m for _, _, m in rows], ids=[i for i, _, _ in rows]
        )

    def get(self, ids: Sequence[str]) -> list[Row]:
        return [_doc_row(d) for d in self.store.get_by_ids(ids)]

    def delete(self, ids: Sequence[str] | None, where: Where | None) -> None:
        self.store.delete(ids=None if ids is None else list(ids), filter=dict_filter(where))

    def search(self, text: str, k: int, where: Where | None = None, mode: str = "dense") -> Scored:
        pairs = self.store.similarity_search_with_relevance_scores(
            text, k=k, filter=dict_filter(where), retrieval_mode=mode
        )
        return [(str(d.id), s) for d, s in pairs]

    def mmr(self, text: str, k: int, fetch_k: int) -> list[str]:
        docs = self.store.max_marginal_relevance_search(text, k=k, fetch_k=fetch_k)
        return [str(d.id) for d in docs]

    def clear(self) -> None:
        self.store.store.drop()

    def close(self) -> None:
        self.store.close()


class LangChainAsyncFace(AsyncFace):
    name = "langchain-async"

    def __init__(self, uri: str, collection: str, *, sparse: bool = False) -> None:
        super().__init__(uri, collection, sparse=sparse)
        self.store = _lc_store(uri, collection, sparse)

    def add(self, rows: Sequence[Row]) -> list[str]:
        return self.run(
            lambda: self.store.aadd_texts(
                [t for _, t, _ in rows],
                metadatas=[m for _, _, m in rows],
                ids=[i for i, _, _ in rows],
            )
        )

    def get(self, ids: Sequence[str]) -> list[Row]:
        return [_doc_row(d) for d in self.run(lambda: self.store.aget_by_ids(ids))]

    def delete(self, ids: Sequence[str] | None, where: Where | None) -> None:
        self.run(
            lambda: self.store.adelete(
                ids=None if ids is None else list(ids), filter=dict_filter(where)
            )
        )

    def search(self, text: str, k: int, where: Where | None = None, mode: str = "dense") -> Scored:
        pairs = self.run(
            lambda: self.store.asimilarity_search_with_relevance_scores(
                text, k=k, filter=dict_filter(where), retrieval_mode=mode
            )
        )
        return [(str(d.id), s) for d, s in pairs]

    def mmr(self, text: str, k: int, fetch_k: int) -> list[str]:
        docs = self.run(
            lambda: self.store.amax_marginal_relevance_search(text, k=k, fetch_k=fetch_k)
        )
        return [str(d.id) for d in docs]

    def clear(self) -> None:
        self.store.store.drop()

    def close(self) -> None:
        self.run(self.store.aclose)
        self.store.close()
        super().close()


def _li_store(uri: str, collection: str, sparse: bool) -> LlamaStore:
    return LlamaStore(uri=uri, collection_name=collection, enable_sparse=sparse)


def _node(row: Row) -> TextNode:
    i, text, meta = row
    return TextNode(id_=i, text=text, metadata=dict(meta), embedding=embed(text))


def _node_row(node: Any) -> Row:
    return (node.node_id, node.get_content(), dict(node.metadata))


def _li_filters(where: Where | None) -> MetadataFilters | None:
    if where is None:
        return None
    return MetadataFilters(filters=[MetadataFilter(key=k, value=v) for k, v in where])


_LI_MODES = {
    "dense": VectorStoreQueryMode.DEFAULT,
    "sparse": VectorStoreQueryMode.SPARSE,
    "hybrid": VectorStoreQueryMode.HYBRID,
}


def _li_query(text: str, k: int, where: Where | None, mode: str) -> VectorStoreQuery:
    return VectorStoreQuery(
        query_embedding=embed(text),
        query_str=text,
        similarity_top_k=k,
        hybrid_top_k=k,
        filters=_li_filters(where),
        mode=_LI_MODES[mode],
    )


def _li_mmr(text: str, k: int, fetch_k: int) -> VectorStoreQuery:
    return VectorStoreQuery(
        query_embedding=embed(text),
        similarity_top_k=k,
        mode=VectorStoreQueryMode.MMR,
        mmr_threshold=0.5,
    )


class LlamaFace(Face):
    name = "llama-index"

    def __init__(self, uri: str, collection: str, *, sparse: bool = False) -> None:
        super().__init__(uri, collection, sparse=sparse)
        self.store = _li_store(uri, collection, sparse)

    def add(self, rows: Sequence[Row]) -> list[str]:
        return self.store.add([_node(r) for r in rows])

    def get(self, ids: Sequence[str]) -> list[Row]:
        return [_node_row(n) for n in self.store.get_nodes(node_ids=list(ids))]

    def delete(self, ids: Sequence[str] | None, where: Where | None) -> None:
        self.store.delete_nodes(
            node_ids=None if ids is None else list(ids), filters=_li_filters(where)
        )

    def search(self, text: str, k: int, where: Where | None = None, mode: str = "dense") -> Scored:
        result = self.store.query(_li_query(text, k, where, mode))
        return [
            (n.node_id, s)
            for n, s in zip(result.nodes or [], result.similarities or [], strict=True)
        ]

    def mmr(self, text: str, k: int, fetch_k: int) -> list[str]:
        result = self.store.query(_li_mmr(text, k, fetch_k), mmr_prefetch_k=fetch_k)
        return [n.node_id for n in result.nodes or []]

    def clear(self) -> None:
        self.store.clear()

    def close(self) -> None:
        self.store.store.close()


class LlamaAsyncFace(AsyncFace):
    name = "llama-index-async"

    def __init__(self, uri: str, collection: str, *, sparse: bool = False) -> None:
        super().__init__(uri, collection, sparse=sparse)
        self.store = _li_store(uri, collection, sparse)

    def add(self, rows: Sequence[Row]) -> list[str]:
        return self.run(lambda: self.store.async_add([_node(r) for r in rows]))

    def get(self, ids: Sequence[str]) -> list[Row]:
        nodes = self.run(lambda: self.store.aget_nodes(node_ids=list(ids)))
        return [_node_row(n) for n in nodes]

    def delete(self, ids: Sequence[str] | None, where: Where | None) -> None:
        self.run(
            lambda: self.store.adelete_nodes(
                node_ids=None if ids is None else list(ids), filters=_li_filters(where)
            )
        )

    def search(self, text: str, k: int, where: Where | None = None, mode: str = "dense") -> Scored:
        result = self.run(lambda: self.store.aquery(_li_query(text, k, where, mode)))
        return [
            (n.node_id, s)
            for n, s in zip(result.nodes or [], result.similarities or [], strict=True)
        ]

    def mmr(self, text: str, k: int, fetch_k: int) -> list[str]:
        result = self.run(
            lambda: self.store.aquery(_li_mmr(text, k, fetch_k), mmr_prefetch_k=fetch_k)
        )
        return [n.node_id for n in result.nodes or []]

    def clear(self) -> None:
        self.run(self.store.aclear)

    def close(self) -> None:
        self.store.store.close()
        super().close()


FACES: list[type[Face]] = [
    CoreFace,
    CoreAsyncFace,
    LangChainFace,
    LangChainAsyncFace,
    LlamaFace,
    LlamaAsyncFace,
]
