"""LangChain's documents-only hybrid calls (``similarity_search``, the default retriever)
fuse an RRF ranking on the server in one ``hybrid_search`` call; the calls that return
scores fuse on the client. Both must give the same documents in the same order, on a
corpus full of equal scores, on every engine with BM25 hybrid search.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from milvus_plugins.langchain import RRF, MilvusVectorStore, Weighted

WORDS = ["alpha", "beta", "gamma", "delta", "eps"]
DIRECTIONS = {w: [1.0 if i == j else 0.2 for j in range(4)] for i, w in enumerate(WORDS[:4])}


class FirstWordEmbeddings(Embeddings):
    """A text's vector is its first word's direction: many documents share a vector."""

    def _embed(self, text: str) -> list[float]:
        first = text.split()[0] if text.split() else "alpha"
        return DIRECTIONS.get(first, [0.5, 0.5, 0.5, 0.5])

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._embed(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._embed(text)


CORPUS_SIZE = 50
FETCH_EVERY_ROW = 64  # above CORPUS_SIZE: no leg is cut inside a run of equal distances


def corpus() -> list[Document]:
    rng = random.Random(17)
    names = list(dict.fromkeys(f"doc-{rng.randrange(10**5):05d}" for _ in range(CORPUS_SIZE)))
    rng.shuffle(names)
    return [
        Document(
            id=name,
            page_content=" ".join(rng.choice(WORDS) for _ in range(3)),
            metadata={"n": i},
        )
        for i, name in enumerate(names)
    ]


def count_calls(vs: MilvusVectorStore, method: str) -> list[int]:
    """Count one method's calls on the store's real client (each call forwarded)."""
    counter = [0]
    real: Callable[..., Any] = getattr(vs.store.client, method)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        counter[0] += 1
        return real(*args, **kwargs)

    setattr(vs.store.client, method, wrapper)
    return counter


@pytest.fixture
def hybrid_store(uri: str, collection_name: str) -> Iterator[MilvusVectorStore]:
    vs = MilvusVectorStore(
        FirstWordEmbeddings(),
        uri=uri,
        collection_name=collection_name,
        retrieval_mode="hybrid",
        fetch_k=FETCH_EVERY_ROW,
    )
    caps = vs.store.capabilities
    if not caps.hybrid_search or not caps.bm25_function:
        vs.close()
        pytest.skip("the engine has no BM25 hybrid search (Milvus 2.3 has neither)")
    vs.add_documents(corpus())
    yield vs
    vs.close()


QUERIES = ["alpha beta", "gamma", "delta eps alpha", "beta beta", "eps gamma"]


def test_documents_only_calls_are_one_server_call_in_the_scored_order(
    hybrid_store: MilvusVectorStore,
) -> None:
    hybrid = count_calls(hybrid_store, "hybrid_search")
    server = 0
    for query in QUERIES:
        for k in (3, 6, 10):
            before = hybrid[0]
            docs = hybrid_store.similarity_search(query, k=k)
            server += hybrid[0] - before
            scored = hybrid_store.similarity_search_with_score(query, k=k)
            assert [d.id for d in docs] == [d.id for d, _ in scored], (query, k)
            relevance = hybrid_store.similarity_search_with_relevance_scores(query, k=k)
            assert [d.id for d, _ in relevance] == [d.id for d in docs]
    assert server > 0  # the documents-only calls went to the server ...
    assert hybrid[0] == server  # ... and the scored ones did not


def test_retriever_follows_similarity_search(hybrid_store: MilvusVectorStore) -> None:
    hybrid = count_calls(hybrid_store, "hybrid_search")
    retriever = hybrid_store.as_retriever(search_kwargs={"k": 5})
    for query in QUERIES:
        assert [d.id for d in retriever.invoke(query)] == [
            d.id for d, _ in hybrid_store.similarity_search_with_score(query, k=5)
        ]
    assert hybrid[0] >= 1


def test_a_threshold_or_weighted_ranker_keeps_client_fusion(
    hybrid_store: MilvusVectorStore,
) -> None:
    hybrid = count_calls(hybrid_store, "hybrid_search")
    docs = hybrid_store.similarity_search("alpha beta", k=10, score_threshold=0.2)
    scored = hybrid_store.similarity_search_with_score("alpha beta", k=10)
    assert [d.id for d in docs] == [d.id for d, s in scored if s >= 0.2]
    weighted = hybrid_store.similarity_search("gamma delta", k=6, ranker=Weighted(0.3, 0.7))
    assert [d.id for d in weighted] == [
        d.id
        for d, _ in hybrid_store.similarity_search_with_score(
            "gamma delta", k=6, ranker=Weighted(0.3, 0.7)
        )
    ]
    assert hybrid[0] == 0


async def test_async_documents_only_matches_sync(hybrid_store: MilvusVectorStore) -> None:
    for query in QUERIES:
        got = await hybrid_store.asimilarity_search(query, k=7, ranker=RRF(10))
        assert [d.id for d in got] == [
            d.id for d, _ in hybrid_store.similarity_search_with_score(query, k=7, ranker=RRF(10))
        ]
