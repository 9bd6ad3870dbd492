"""LangChain stores that are not one dense model: sparse-only (``embedding=None``) and
several dense fields (``embedding={"body": ..., "title": ...}``), on every engine."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from milvus_plugins.core import BM25Encoder, ConfigError, UnsupportedByServerError
from milvus_plugins.langchain import RRF, MilvusVectorStore, Weighted


class WordCounts(Embeddings):
    """Counts a vocabulary's words (texts sharing words are close); counts query calls."""

    def __init__(self, vocab: list[str]) -> None:
        self.vocab = vocab
        self.calls = 0

    def _embed(self, text: str) -> list[float]:
        words = re.findall(r"\w+", text.lower())
        return [float(words.count(w)) for w in self.vocab] + [0.1]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._embed(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        self.calls += 1
        return self._embed(text)


def body_model() -> WordCounts:
    return WordCounts(["cat", "dog", "car", "train", "milvus"])


def title_model() -> WordCounts:
    return WordCounts(["pets", "travel", "database"])


DOCS = [
    Document(id="cat", page_content="pets: the cat sat on the mat", metadata={"kind": "animal"}),
    Document(id="dog", page_content="pets: a dog chased the cat", metadata={"kind": "animal"}),
    Document(id="car", page_content="travel: a fast car", metadata={"kind": "vehicle"}),
    Document(id="train", page_content="travel: the train left", metadata={"kind": "vehicle"}),
    Document(id="milvus", page_content="database: milvus stores vectors", metadata={"kind": "db"}),
]


def ids(docs: list[Document]) -> list[str | None]:
    return [d.id for d in docs]


@pytest.fixture
def sparse_store(uri: str, collection_name: str) -> Iterator[MilvusVectorStore]:
    store = MilvusVectorStore(None, uri=uri, collection_name=collection_name)
    yield store
    store.close()


def _written(store: MilvusVectorStore, feature: str) -> bool:
    """Add DOCS; where the engine lacks ``feature``, check the typed error instead."""
    caps = store.store.capabilities
    available = caps.sparse if feature == "sparse vectors" else caps.multi_vector
    if not available:
        with pytest.raises(UnsupportedByServerError, match=rf"{feature}.*2\.4"):
            store.add_documents(DOCS)
        assert not store.store.exists()
        return False
    assert store.add_documents(DOCS) == [d.id for d in DOCS]
    return True


# -- sparse-only -----------------------------------------------------------------------


def test_sparse_only_store_serves_every_operation(sparse_store: MilvusVectorStore) -> None:
    assert sparse_store.retrieval_mode.value == "sparse"
    assert sparse_store.embeddings is None
    if not _written(sparse_store, "sparse vectors"):
        return
    assert ids(sparse_store.get_by_ids(["dog", "nope", "cat"])) == ["dog", "cat"]
    scored = sparse_store.similarity_search_with_score("cat", k=5)
    assert {d.id for d, _ in scored} == {"cat", "dog"}
    assert all(0.0 < s <= 1.0 for _, s in scored)
    relevance = sparse_store.similarity_search_with_relevance_scores("train", k=5)
    assert [d.id for d, _ in relevance] == ["train"]
    assert ids(sparse_store.similarity_search("cat", k=5, filter={"kind": "animal"})) != []
    only = sparse_store.similarity_search("", k=10, filter={"kind": "db"})
    assert ids(only) == ["milvus"]  # filter-only retrieval
    retriever = sparse_store.as_retriever(search_kwargs={"k": 1})
    assert ids(retriever.invoke("milvus")) == ["milvus"]
    assert sparse_store.delete(["cat"])
    assert ids(sparse_store.similarity_search("cat", k=5)) == ["dog"]


def test_sparse_only_refuses_dense_hybrid_and_mmr_with_the_fix(
    sparse_store: MilvusVectorStore, uri: str, collection_name: str
) -> None:
    fix = r"sparse-only \(dense=False\); pass embedding="
    with pytest.raises(ConfigError, match=fix):
        sparse_store.similarity_search("cat", retrieval_mode="dense")
    with pytest.raises(ConfigError, match=fix):
        sparse_store.similarity_search("cat", retrieval_mode="hybrid")
    with pytest.raises(ConfigError, match=fix):
        sparse_store.max_marginal_relevance_search("cat")
    with pytest.raises(ConfigError, match=fix):
        sparse_store.similarity_search_by_vector([1.0, 0.0])
    with pytest.raises(ConfigError, match=fix):
        MilvusVectorStore(None, uri=uri, collection_name=collection_name, retrieval_mode="hybrid")
    assert not sparse_store.store.exists()  # nothing was created


async def test_sparse_only_async_twins(sparse_store: MilvusVectorStore) -> None:
    if not sparse_store.store.capabilities.sparse:
        with pytest.raises(UnsupportedByServerError, match="sparse vectors"):
            await sparse_store.aadd_documents(DOCS)
        return
    await sparse_store.aadd_documents(DOCS)
    assert ids(await sparse_store.aget_by_ids(["car"])) == ["car"]
    hits = await sparse_store.asimilarity_search_with_score("car", k=3)
    assert [d.id for d, _ in hits] == ["car"] and 0.0 < hits[0][1] <= 1.0
    assert await sparse_store.adelete(["car"])
    assert await sparse_store.asimilarity_search("car", k=3) == []
    with pytest.raises(ConfigError, match="sparse-only"):
        await sparse_store.amax_marginal_relevance_search("car")


def test_sparse_only_with_a_client_encoder_and_reopened(uri: str, collection_name: str) -> None:
    encoder = BM25Encoder().fit(d.page_content for d in DOCS)
    store = MilvusVectorStore(None, uri=uri, collection_name=collection_name, sparse=encoder)
    try:
        if not _written(store, "sparse vectors"):
            return
        assert ids(store.similarity_search("train", k=2)) == ["train"]
    finally:
        store.close()
    again = MilvusVectorStore.from_existing_collection(
        None, uri=uri, collection_name=collection_name, sparse=encoder
    )
    try:
        assert not again.store.spec.dense
        assert ids(again.similarity_search("milvus", k=1)) == ["milvus"]
    finally:
        again.close()


# -- dense fields by name ----------------------------------------------------------------


@pytest.fixture
def models() -> dict[str, WordCounts]:
    return {"body": body_model(), "title": title_model()}


def test_each_field_has_its_model_and_a_search_picks_one(
    uri: str, collection_name: str, models: dict[str, WordCounts]
) -> None:
    store = MilvusVectorStore(models, uri=uri, collection_name=collection_name)  # type: ignore[arg-type]
    try:
        assert store.vector_fields == ("body", "title")
        if not _written(store, "multiple vector fields"):
            return
        # "pets train": the body model sees "train", the title model sees "pets".
        assert ids(store.similarity_search("pets train", k=1)) == ["train"]
        by_title = store.similarity_search("pets train", k=2, vector_field="title")
        assert set(ids(by_title)) == {"cat", "dog"}
        vector = models["title"].embed_query("database")
        assert ids(store.similarity_search_by_vector(vector, k=1, vector_field="title")) == [
            "milvus"
        ]
        mmr = store.max_marginal_relevance_search("pets", k=2, vector_field="title")
        assert len(mmr) == 2
        with pytest.raises(ConfigError, match="'nope' is not a dense field"):
            store.similarity_search("cat", vector_field="nope")
        # Body finds train and cat, title the two pets documents: those three lead. (The
        # title leg ties cat with dog, the body leg cat with train, so RRF's order of the
        # three is any; with "pets train" the ties could push train out of the top 3.)
        hybrid = store.similarity_search_with_score("pets cat train", k=5, retrieval_mode="hybrid")
        assert {d.id for d, _ in hybrid[:3]} == {"cat", "dog", "train"}
        assert all(0.0 <= s <= 1.0 for _, s in hybrid)
        with pytest.raises(ConfigError, match=r"3 weights.*2 legs.*\(body, title\)"):
            store.similarity_search("cat", retrieval_mode="hybrid", ranker=Weighted(0.2, 0.3, 0.5))
    finally:
        store.close()


def test_three_leg_hybrid_with_bm25(uri: str, collection_name: str) -> None:
    store = MilvusVectorStore(
        {"body": body_model(), "title": title_model()},  # type: ignore[arg-type]
        uri=uri,
        collection_name=collection_name,
        retrieval_mode="hybrid",
        ranker=Weighted(0.25, 0.25, 0.5),
    )
    try:
        if not _written(store, "multiple vector fields"):
            return
        scored = store.similarity_search_with_score("milvus database", k=3)
        assert scored[0][0].id == "milvus"
        assert all(0.0 <= s <= 1.0 for _, s in scored)
        rrf = store.similarity_search("milvus database", k=3, ranker=RRF(10))
        assert rrf[0].id == "milvus"
        filtered = store.similarity_search("cat", k=5, filter={"kind": "vehicle"})
        assert set(ids(filtered)) <= {"car", "train"}
        with pytest.raises(ConfigError, match=r"2 weights.*3 legs.*\(body, title, sparse\)"):
            store.similarity_search("cat", ranker=Weighted(0.5, 0.5))
    finally:
        store.close()


async def test_dense_fields_async_twins(
    uri: str, collection_name: str, models: dict[str, WordCounts]
) -> None:
    store = MilvusVectorStore(models, uri=uri, collection_name=collection_name)  # type: ignore[arg-type]
    try:
        if not store.store.capabilities.multi_vector:
            with pytest.raises(UnsupportedByServerError, match="multiple vector fields"):
                await store.aadd_documents(DOCS)
            return
        await store.aadd_documents(DOCS)
        got = await store.asimilarity_search("travel", k=2, vector_field="title")
        assert set(ids(got)) == {"car", "train"}
        # The title leg always ties cat with dog and car with train (equal title
        # vectors), so RRF's order depends on how each search breaks them; a weighted
        # fusion of distinct fused scores has one order.
        query, weighted = "pets train train car", Weighted(0.6, 0.4)
        hybrid = await store.asimilarity_search(
            query, k=5, retrieval_mode="hybrid", ranker=weighted
        )
        synced = store.similarity_search(query, k=5, retrieval_mode="hybrid", ranker=weighted)
        assert ids(hybrid) == ids(synced) == ["train", "cat", "dog", "car", "milvus"]
        calls = models["title"].calls
        await store.asimilarity_search("pets", k=1, retrieval_mode="hybrid")
        assert models["title"].calls == calls + 1  # each field's model embeds the query
    finally:
        store.close()
