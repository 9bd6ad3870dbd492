"""Filter-only retrieval: no query vector and no query text returns the filtered rows.

Nothing can rank such a request, so it is a Milvus ``query`` with ``limit=k`` (every
hit scored 1.0), not a vector search against a placeholder; checked on Milvus Lite for
the core (sync and async) and for LangChain's blank query text.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding

from milvus_plugins.core import (
    AsyncMilvusStore,
    CollectionSpec,
    ConnectionConfig,
    InvalidInputError,
    MilvusStore,
    Record,
    SearchKind,
    eq,
    plan_retrieval,
)
from milvus_plugins.langchain import MilvusVectorStore

DIM = 4


def _records() -> list[Record]:
    return [
        Record(
            id=f"r{i}",
            text=f"row {i}",
            vector=[1.0, float(i), 0.5, -1.0],
            metadata={"group": "even" if i % 2 == 0 else "odd", "n": i},
        )
        for i in range(10)
    ]


@pytest.fixture
def store(lite_uri: str) -> Iterator[MilvusStore]:
    with MilvusStore(
        CollectionSpec(name="fo", dim=DIM, sparse="bm25"), connection=ConnectionConfig(uri=lite_uri)
    ) as s:
        s.upsert(_records())
        yield s


EVEN = {"r0", "r2", "r4", "r6", "r8"}


@pytest.mark.parametrize("mode", ["dense", "sparse", "hybrid"])
@pytest.mark.parametrize("text", [None, "", "  "])
def test_retrieve_without_vector_or_text_returns_the_filtered_rows(
    store: MilvusStore, mode: str, text: str | None
) -> None:
    hits = store.retrieve(mode=mode, text=text, k=10, filter=eq("group", "even"))
    assert {h.id for h in hits} == EVEN
    assert all(h.score == 1.0 and math.isnan(h.distance) for h in hits)
    assert len(store.retrieve(mode=mode, text=text, k=2, filter=eq("group", "even"))) == 2


def test_one_missing_input_is_still_an_error(store: MilvusStore) -> None:
    with pytest.raises(InvalidInputError, match="needs a query vector"):
        store.retrieve(mode="dense", text="row")
    with pytest.raises(InvalidInputError, match="non-empty query text"):
        store.retrieve(mode="hybrid", vector=[1.0, 0.0, 0.0, 0.0])
    with pytest.raises(InvalidInputError, match="positive integer"):
        store.retrieve(k=0)  # checked before any I/O, like a search's k


def test_plan_is_filter_only_only_without_both_inputs() -> None:
    def kind(vector: list[float] | None, text: str | None) -> SearchKind:
        return plan_retrieval("dense", vector, text, k=3, where=None).kind

    assert kind(None, None) is kind(None, " ") is SearchKind.FILTERED
    # An explicit vector is a query even when all zeros (the origin under L2).
    assert kind([0.0] * DIM, None) is SearchKind.DENSE


async def test_async_retrieve_without_inputs_returns_the_filtered_rows(
    store: MilvusStore,
) -> None:
    astore = AsyncMilvusStore(store)
    try:
        hits = await astore.retrieve(k=10, filter=eq("group", "odd"))
        assert {h.id for h in hits} == {"r1", "r3", "r5", "r7", "r9"}
        assert all(h.score == 1.0 for h in hits)
    finally:
        await astore.close()


class _Counting(DeterministicFakeEmbedding):
    calls: int = 0

    def embed_query(self, text: str) -> list[float]:
        self.calls += 1
        return super().embed_query(text)


@pytest.fixture
def lc_store(lite_uri: str) -> MilvusVectorStore:
    vs = MilvusVectorStore(_Counting(size=DIM), uri=lite_uri, collection_name="lc_fo")
    vs.add_texts(
        [f"text {i}" for i in range(8)],
        metadatas=[{"year": 2000 + i} for i in range(8)],
        ids=[f"d{i}" for i in range(8)],
    )
    return vs


def test_langchain_blank_query_is_filter_only_and_not_embedded(lc_store: MilvusVectorStore) -> None:
    embedding = lc_store.embeddings
    assert isinstance(embedding, _Counting)
    before = embedding.calls
    where = {"year": {"$gte": 2005}}
    docs = lc_store.similarity_search(" ", k=8, filter=where)
    assert {d.id for d in docs} == {"d5", "d6", "d7"}
    scored = lc_store.similarity_search_with_score("", k=8, filter=where)
    assert [s for _, s in scored] == [1.0, 1.0, 1.0]
    mmr = lc_store.max_marginal_relevance_search(" ", k=2, filter=where)
    assert len(mmr) == 2 and {d.id for d in mmr} <= {"d5", "d6", "d7"}
    assert embedding.calls == before  # nothing to embed
    # A real query text still ranks.
    assert lc_store.similarity_search("text 3", k=1)[0].id == "d3"


async def test_langchain_async_blank_query_is_filter_only(lc_store: MilvusVectorStore) -> None:
    embedding = lc_store.embeddings
    assert isinstance(embedding, _Counting)
    before = embedding.calls
    docs = await lc_store.asimilarity_search("", k=8, filter={"year": {"$lt": 2002}})
    assert {d.id for d in docs} == {"d0", "d1"}
    mmr = await lc_store.amax_marginal_relevance_search(" ", k=8, filter={"year": 2004})
    assert [d.id for d in mmr] == ["d4"]
    assert embedding.calls == before
