"""MilvusVectorStore behaviour on Milvus Lite: writes, reads, every search mode, scores."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import DeterministicFakeEmbedding, Embeddings
from tests.support import stable_id

from milvus_plugins.core.errors import CollectionNotFoundError, ConfigError
from milvus_plugins.core.filters import eq
from milvus_plugins.core.fingerprint import PROBE_TEXT
from milvus_plugins.core.sparse import BM25Encoder
from milvus_plugins.langchain import RRF, MilvusVectorStore, Weighted

VOCAB = ["cat", "dog", "fish", "car", "train", "plane", "milvus", "vector", "python", "bird"]


class KeywordEmbeddings(Embeddings):
    """Counts vocabulary words: texts sharing words are close (meaningful semantics)."""

    def __init__(self) -> None:
        self.query_calls = 0

    def _embed(self, text: str) -> list[float]:
        words = re.findall(r"\w+", text.lower())
        return [float(words.count(w)) for w in VOCAB] + [0.1]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._embed(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        self.query_calls += 1
        return self._embed(text)


class ConstantEmbeddings(Embeddings):
    """The same vector for every text: dense search cannot tell documents apart."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [[1.0, 0.0, 0.0] for _ in texts]

    def embed_query(self, text: str) -> list[float]:
        return [1.0, 0.0, 0.0]


CORPUS = [
    Document(id="cat", page_content="the cat sat on the mat", metadata={"kind": "animal", "n": 1}),
    Document(id="dog", page_content="a dog chased the cat", metadata={"kind": "animal", "n": 2}),
    Document(id="car", page_content="a fast car on the road", metadata={"kind": "vehicle", "n": 3}),
    Document(
        id="train", page_content="the train left the station", metadata={"kind": "vehicle", "n": 4}
    ),
    Document(
        id="milvus",
        page_content="milvus stores vector embeddings",
        metadata={"kind": "tech", "n": 5},
    ),
    Document(
        id="python", page_content="python code for vector search", metadata={"kind": "tech", "n": 6}
    ),
]


def _store(uri: str, embedding: Embeddings | None = None, **kwargs: Any) -> MilvusVectorStore:
    return MilvusVectorStore(embedding or KeywordEmbeddings(), uri=uri, **kwargs)


@pytest.fixture
def store(lite_uri: str) -> MilvusVectorStore:
    s = _store(lite_uri)
    s.add_documents(CORPUS)
    return s


# -- construction ----------------------------------------------------------------------------------


def test_constructor_does_no_io_and_hides_the_token() -> None:
    s = MilvusVectorStore(
        KeywordEmbeddings(), uri="http://127.0.0.1:9", token="root:s3cret", collection_name="c"
    )
    assert s.store._client is None, "the constructor connected"
    assert "s3cret" not in repr(s)
    assert s.collection_name == "c"


def test_milvus_uri_environment_variable_is_used(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    uri = str(tmp_path / "env.db")
    monkeypatch.setenv("MILVUS_URI", uri)
    s = MilvusVectorStore(KeywordEmbeddings())
    s.add_texts(["a cat"], ids=["1"])
    assert [d.id for d in s.get_by_ids(["1"])] == ["1"]
    assert Path(uri).exists()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"retrieval_mode": "hybrid", "sparse": "none"},
        {"retrieval_mode": "semantic"},
        {"sparse": "client"},
        {"sparse": 3},
        {"ranker": "rrf"},
        {"ranker": Weighted(0.2, 0.3, 0.5)},
        {"metric": "cosin"},
        {"collection_name": "bad name"},
        {"index": {"index_type": "NOPE"}},
        {"connection": object(), "uri": "x.db"},
    ],
    ids=stable_id,
)
def test_bad_settings_raise_config_error_before_io(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        MilvusVectorStore(KeywordEmbeddings(), **kwargs)


def test_unknown_search_keyword_is_rejected(store: MilvusVectorStore) -> None:
    with pytest.raises(TypeError, match="filters"):
        store.similarity_search("cat", filters={"kind": "animal"})


# -- writes and reads ------------------------------------------------------------------------------


def test_ids_are_honoured_generated_and_returned(lite_uri: str) -> None:
    s = _store(lite_uri)
    docs = [Document(page_content="a cat", id="mine"), Document(page_content="a dog")]
    ids = s.add_documents(docs)
    assert ids[0] == "mine" and re.fullmatch(r"[0-9a-f]{32}", ids[1])
    assert docs == [Document(page_content="a cat", id="mine"), Document(page_content="a dog")]
    # ids= wins over Document.id
    assert s.add_documents([Document(page_content="a fish", id="ignored")], ids=["x"]) == ["x"]
    assert s.get_by_ids(["ignored"]) == []
    assert s.add_texts(["plane", "bird"], ids=["p", "b"]) == ["p", "b"]
    assert s.add_texts([]) == []


def test_adding_an_existing_id_replaces_it(store: MilvusVectorStore) -> None:
    store.add_documents([Document(id="cat", page_content="a bird", metadata={"new": True})])
    assert store.get_by_ids(["cat"]) == [
        Document(id="cat", page_content="a bird", metadata={"new": True})
    ]
    assert store.store.count() == len(CORPUS)


def test_mismatched_lengths_are_rejected(lite_uri: str) -> None:
    s = _store(lite_uri)
    with pytest.raises(ValueError):
        s.add_texts(["a", "b"], ids=["1"])
    with pytest.raises(ValueError):
        s.add_texts(["a", "b"], metadatas=[{}])


def test_metadata_comes_back_exactly_as_written(lite_uri: str) -> None:
    metadata = {
        "id": 7,
        "text": "not the content",
        "vector": [1, 2],
        "nested": {"a": [1, {"b": None}], "ü": "✓"},
        "flag": False,
        "ratio": 0.25,
        "big": 2**53,
        "none": None,
        "year": 2001,
        "genre": "drama",
    }
    for fields in (None, {"year": "INT64", "genre": "VARCHAR"}):
        s = _store(lite_uri, collection_name="meta", drop_old=True, metadata_fields=fields)
        s.add_texts(["a cat"], [metadata], ids=["m"])
        [doc] = s.get_by_ids(["m"])
        assert doc.metadata == metadata
        [hit] = s.similarity_search("cat", k=1)
        assert hit.metadata == metadata and hit.id == "m"


def test_get_by_ids_keeps_order_and_skips_missing(store: MilvusVectorStore) -> None:
    docs = store.get_by_ids(["train", "nope", "cat"])
    assert [d.id for d in docs] == ["train", "cat"]
    assert docs[1] == CORPUS[0]


async def test_async_writes_and_reads(lite_uri: str) -> None:
    s = _store(lite_uri)
    ids = await s.aadd_documents(CORPUS)
    assert ids == [d.id for d in CORPUS]
    assert await s.aadd_texts(["a bird"], [{"x": 1}], ids=["bird"]) == ["bird"]
    assert [d.id for d in await s.aget_by_ids(["bird", "cat"])] == ["bird", "cat"]
    assert (await s.asimilarity_search("cat", k=1))[0].id == "cat"
    assert await s.adelete(["bird"]) is True
    assert await s.aget_by_ids(["bird"]) == []
    assert await s.adelete(filter={"kind": "vehicle"}) is True
    assert {d.id for d in await s.asimilarity_search("car", k=10)} == {
        "cat",
        "dog",
        "milvus",
        "python",
    }


# -- delete ----------------------------------------------------------------------------------------


def test_delete_by_ids_filter_both_and_all(store: MilvusVectorStore) -> None:
    assert store.delete(["nope"]) is True
    assert store.delete(["cat"]) is True
    assert store.get_by_ids(["cat"]) == []
    assert store.delete(filter={"kind": "vehicle"}) is True
    assert store.get_by_ids(["car", "train"]) == []
    # ids and filter together: only rows matching both go
    assert store.delete(["dog", "milvus"], filter={"kind": "tech"}) is True
    assert [d.id for d in store.get_by_ids(["dog", "milvus"])] == ["dog"]
    assert store.delete([]) is True
    assert store.store.count() == 2
    # no ids and no filter: delete all, as LangChain specifies
    assert store.delete() is True
    assert store.similarity_search("cat") == []
    store.add_texts(["a cat again"], ids=["again"])
    assert [d.id for d in store.similarity_search("cat")] == ["again"]


# -- dense search and scores -----------------------------------------------------------------------


def test_similarity_search_is_semantic(store: MilvusVectorStore) -> None:
    assert [d.id for d in store.similarity_search("cat", k=2)] == ["cat", "dog"]
    assert store.similarity_search("cat", k=1, filter={"n": {"$gt": 1}})[0].id == "dog"


def test_scores_are_relevances_in_unit_range_best_first(store: MilvusVectorStore) -> None:
    pairs = store.similarity_search_with_score("vector milvus", k=6)
    scores = [s for _, s in pairs]
    assert pairs[0][0].id == "milvus"
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores == sorted(scores, reverse=True)
    assert store.similarity_search_with_relevance_scores("vector milvus", k=6) == pairs


def test_score_threshold_drops_weak_matches(store: MilvusVectorStore) -> None:
    top = store.similarity_search_with_relevance_scores("cat", k=6)
    threshold = (top[1][1] + top[2][1]) / 2
    kept = store.similarity_search_with_relevance_scores("cat", k=6, score_threshold=threshold)
    assert [d.id for d, _ in kept] == [d.id for d, _ in top[:2]]
    retriever = store.as_retriever(
        search_type="similarity_score_threshold",
        search_kwargs={"score_threshold": threshold, "k": 6},
    )
    assert [d.id for d in retriever.invoke("cat")] == [d.id for d, _ in top[:2]]


def test_search_by_vector(store: MilvusVectorStore) -> None:
    vector = KeywordEmbeddings().embed_query("train")
    assert store.similarity_search_by_vector(vector, k=1)[0].id == "train"
    [(doc, score)] = store.similarity_search_with_score_by_vector(
        vector, k=1, filter={"kind": "animal"}
    )
    assert doc.metadata["kind"] == "animal" and 0 <= score <= 1


def test_search_dispatches_on_search_type(store: MilvusVectorStore) -> None:
    assert store.search("cat", "similarity", k=1)[0].id == "cat"
    assert store.search("cat", "mmr", k=1)[0].id == "cat"
    assert (
        store.search("cat", "similarity_score_threshold", k=1, score_threshold=0.5)[0].id == "cat"
    )
    with pytest.raises(ValueError):
        store.search("cat", "nearest")


async def test_async_search_twins(store: MilvusVectorStore) -> None:
    vector = KeywordEmbeddings().embed_query("cat")
    assert (await store.asearch("cat", "similarity", k=1))[0].id == "cat"
    assert (await store.asimilarity_search_by_vector(vector, k=1))[0].id == "cat"
    [(doc, score)] = await store.asimilarity_search_with_score("cat", k=1)
    assert doc.id == "cat" and 0 <= score <= 1
    [(doc2, score2)] = await store.asimilarity_search_with_score_by_vector(vector, k=1)
    assert doc2.id == "cat" and math.isclose(score, score2)
    rel = await store.asimilarity_search_with_relevance_scores("cat", k=6, score_threshold=0.99)
    assert [d.id for d, _ in rel] == ["cat"]
    mmr = await store.amax_marginal_relevance_search(
        "cat", k=2, fetch_k=6, filter={"n": {"$lt": 4}}
    )
    assert {d.id for d in mmr} <= {"cat", "dog", "car"}
    mmr_v = await store.amax_marginal_relevance_search_by_vector(vector, k=1)
    assert mmr_v[0].id == "cat"


# -- MMR -------------------------------------------------------------------------------------------


def test_mmr_trades_relevance_for_diversity(lite_uri: str) -> None:
    s = _store(lite_uri)
    s.add_texts(
        ["cat cat dog", "cat cat dog", "cat cat dog", "cat fish"],
        ids=["dup1", "dup2", "dup3", "diverse"],
    )
    plain = [d.id for d in s.similarity_search("cat dog", k=2)]
    assert set(plain) <= {"dup1", "dup2", "dup3"}
    diverse = [d.id for d in s.max_marginal_relevance_search("cat dog", k=2, lambda_mult=0.1)]
    assert diverse[0] in {"dup1", "dup2", "dup3"} and diverse[1] == "diverse"
    by_filter = s.max_marginal_relevance_search("cat dog", k=2, filter=eq("x", 1))
    assert by_filter == []
    retriever = s.as_retriever(search_type="mmr", search_kwargs={"k": 2, "lambda_mult": 0.1})
    assert [d.id for d in retriever.invoke("cat dog")][1] == "diverse"


# -- sparse and hybrid -----------------------------------------------------------------------------

KEYWORD_DOCS = [
    ("zebra", "the zebra grazes on the savanna"),
    ("quasar", "a quasar outshines its galaxy"),
    ("sonnet", "a sonnet has fourteen lines"),
    ("kettle", "the kettle boiled the water"),
]


def test_sparse_mode_is_keyword_only_and_skips_the_query_embedding(lite_uri: str) -> None:
    embedding = KeywordEmbeddings()
    s = _store(lite_uri, embedding, retrieval_mode="sparse")
    s.add_texts([t for _, t in KEYWORD_DOCS], ids=[i for i, _ in KEYWORD_DOCS])
    pairs = s.similarity_search_with_score("where does the quasar shine", k=4)
    assert pairs[0][0].id == "quasar"
    assert all(0.0 <= score <= 1.0 for _, score in pairs)
    assert embedding.query_calls == 0
    assert s.similarity_search("zebra", k=1, filter={"$not": {"x": 1}})[0].id == "zebra"


def test_hybrid_mode_fuses_keywords_with_vectors(lite_uri: str) -> None:
    # Dense vectors are useless here (all equal): only the BM25 leg can rank.
    s = _store(lite_uri, ConstantEmbeddings(), retrieval_mode="hybrid")
    s.add_texts(
        [t for _, t in KEYWORD_DOCS], [{"n": i} for i in range(4)], ids=[i for i, _ in KEYWORD_DOCS]
    )
    pairs = s.similarity_search_with_score("zebra savanna", k=4)
    assert pairs[0][0].id == "zebra"
    assert all(0.0 <= score <= 1.0 for _, score in pairs)
    assert [s_ for _, s_ in pairs] == sorted((s_ for _, s_ in pairs), reverse=True)
    filtered = s.similarity_search("zebra savanna", k=4, filter={"n": {"$gte": 2}})
    assert {d.id for d in filtered} == {"sonnet", "kettle"}
    weighted = s.similarity_search_with_score("kettle water", k=2, ranker=Weighted(0.2, 0.8))
    assert weighted[0][0].id == "kettle" and all(0 <= x <= 1 for _, x in weighted)
    assert s.similarity_search("kettle", k=1, ranker=RRF(10), fetch_k=4)[0].id == "kettle"


def test_hybrid_store_with_weighted_ranker_and_retriever(lite_uri: str) -> None:
    s = _store(lite_uri, retrieval_mode="hybrid", ranker=Weighted(0.5, 0.5))
    s.add_documents(CORPUS)
    retriever = s.as_retriever(search_kwargs={"k": 2, "filter": {"kind": "tech"}})
    assert [d.id for d in retriever.invoke("vector milvus")] == ["milvus", "python"]
    scored = s.similarity_search_with_relevance_scores("milvus", k=6, score_threshold=0.0)
    assert scored[0][0].id == "milvus" and all(0 <= x <= 1 for _, x in scored)
    assert s.max_marginal_relevance_search("cat", k=1)[0].id == "cat"


@pytest.mark.parametrize("normalize", [True, "minmax"])
async def test_weighted_ranker_with_either_normalisation_sync_and_async(
    lite_uri: str, normalize: bool | str
) -> None:
    s = _store(lite_uri, retrieval_mode="hybrid", ranker=Weighted(0.5, 0.5, normalize=normalize))
    s.add_documents(CORPUS)
    sync = s.similarity_search_with_relevance_scores("vector milvus", k=3)
    asynchronous = await s.asimilarity_search_with_relevance_scores("vector milvus", k=3)
    assert sync[0][0].id == "milvus"
    assert [d.id for d, _ in sync] == [d.id for d, _ in asynchronous]
    assert all(0.0 <= score <= 1.0 for _, score in sync)


async def test_async_hybrid_and_sparse(lite_uri: str) -> None:
    s = _store(lite_uri, ConstantEmbeddings(), retrieval_mode="hybrid")
    await s.aadd_texts([t for _, t in KEYWORD_DOCS], ids=[i for i, _ in KEYWORD_DOCS])
    assert (await s.asimilarity_search("sonnet lines", k=1))[0].id == "sonnet"
    sparse = await s.asimilarity_search("quasar", k=1, retrieval_mode="sparse")
    assert sparse[0].id == "quasar"
    docs = await s.as_retriever(search_kwargs={"k": 1}).ainvoke("kettle")
    assert docs[0].id == "kettle"


def test_client_sparse_encoder(lite_uri: str) -> None:
    encoder = BM25Encoder().fit(t for _, t in KEYWORD_DOCS)
    s = _store(lite_uri, ConstantEmbeddings(), retrieval_mode="sparse", sparse=encoder)
    s.add_texts([t for _, t in KEYWORD_DOCS], ids=[i for i, _ in KEYWORD_DOCS])
    pairs = s.similarity_search_with_score("fourteen lines", k=2)
    assert pairs[0][0].id == "sonnet" and all(0 <= x <= 1 for _, x in pairs)
    hybrid = s.similarity_search("boiled water", k=1, retrieval_mode="hybrid")
    assert hybrid[0].id == "kettle"


def test_retrieval_mode_per_call_needs_a_sparse_field(lite_uri: str) -> None:
    dense_only = _store(lite_uri, collection_name="dense_only")
    dense_only.add_documents(CORPUS)
    with pytest.raises(ConfigError, match="sparse"):
        dense_only.similarity_search("cat", retrieval_mode="hybrid")
    ready = _store(lite_uri, collection_name="ready", sparse="bm25")
    ready.add_documents(CORPUS)
    assert ready.similarity_search("cat", k=1)[0].id == "cat"
    assert ready.similarity_search("train station", k=1, retrieval_mode="hybrid")[0].id == "train"


def test_blank_query_in_sparse_mode_is_filter_only(lite_uri: str) -> None:
    # Nothing to rank by (what SelfQueryRetriever sends for a question that is only a
    # filter): the rows the filter matches, each with relevance 1.0.
    s = _store(lite_uri, retrieval_mode="sparse")
    s.add_documents(CORPUS)
    found = s.similarity_search_with_score("   ", k=10, filter={"kind": "vehicle"})
    assert sorted(d.id or "" for d, _ in found) == ["car", "train"]
    assert {score for _, score in found} == {1.0}


# -- class constructors ----------------------------------------------------------------------------


def test_from_texts_and_from_documents(lite_uri: str) -> None:
    s = MilvusVectorStore.from_texts(
        ["a cat", "a car"],
        KeywordEmbeddings(),
        metadatas=[{"k": 1}, {"k": 2}],
        ids=["c1", "c2"],
        uri=lite_uri,
        collection_name="texts",
    )
    assert s.similarity_search("car", k=1) == [
        Document(id="c2", page_content="a car", metadata={"k": 2})
    ]
    d = MilvusVectorStore.from_documents(
        CORPUS, KeywordEmbeddings(), uri=lite_uri, collection_name="docs"
    )
    assert [doc.id for doc in d.get_by_ids(["cat", "python"])] == ["cat", "python"]


async def test_async_class_constructors(lite_uri: str) -> None:
    s = await MilvusVectorStore.afrom_texts(
        ["a cat"], KeywordEmbeddings(), ids=["c"], uri=lite_uri, collection_name="atexts"
    )
    assert (await s.aget_by_ids(["c"]))[0].page_content == "a cat"
    d = await MilvusVectorStore.afrom_documents(
        CORPUS, KeywordEmbeddings(), uri=lite_uri, collection_name="adocs", retrieval_mode="hybrid"
    )
    assert (await d.asimilarity_search("train", k=1))[0].id == "train"


def test_from_existing_collection_adopts_its_settings(lite_uri: str) -> None:
    MilvusVectorStore.from_documents(
        CORPUS,
        KeywordEmbeddings(),
        uri=lite_uri,
        collection_name="kept",
        retrieval_mode="hybrid",
        metric="L2",
        metadata_fields={"n": "INT64"},
    ).close()
    s = MilvusVectorStore.from_existing_collection(
        KeywordEmbeddings(), collection_name="kept", uri=lite_uri, retrieval_mode="hybrid"
    )
    assert s.store.spec.dim == len(VOCAB) + 1
    assert s.retrieval_mode.value == "hybrid"
    assert [d.id for d in s.similarity_search("cat", k=1, filter={"n": {"$lte": 2}})] == ["cat"]
    pairs = s.similarity_search_with_score("cat", k=6)
    assert all(0 <= x <= 1 for _, x in pairs)
    assert s.get_by_ids(["dog"])[0].metadata == {"kind": "animal", "n": 2}


def test_from_existing_collection_errors(lite_uri: str) -> None:
    with pytest.raises(CollectionNotFoundError):
        MilvusVectorStore.from_existing_collection(
            KeywordEmbeddings(), collection_name="missing", uri=lite_uri
        )
    MilvusVectorStore.from_texts(
        ["a cat"], KeywordEmbeddings(), uri=lite_uri, collection_name="dense"
    )
    with pytest.raises(ConfigError):
        MilvusVectorStore.from_existing_collection(
            KeywordEmbeddings(), collection_name="dense", uri=lite_uri, retrieval_mode="sparse"
        )


def test_embeddings_property_and_retriever_tags(lite_uri: str) -> None:
    embedding = DeterministicFakeEmbedding(size=4)
    s = MilvusVectorStore(embedding, uri=lite_uri)
    assert s.embeddings is embedding
    assert s.as_retriever().tags == ["MilvusVectorStore", "DeterministicFakeEmbedding"]


# -- streamed ingest ------------------------------------------------------------------------------


class BatchRecordingEmbeddings(KeywordEmbeddings):
    """Records the size of each embedding call, sync and async, and the rows stored
    before it (a batch is embedded at most one batch ahead of the writes)."""

    def __init__(self, store_ref: list[MilvusVectorStore]) -> None:
        super().__init__()
        self.calls: list[tuple[int, int]] = []
        self.store_ref = store_ref

    def _stored(self) -> int:
        return self.store_ref[0].store.count() if self.store_ref[0].store.exists() else 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if texts != [PROBE_TEXT]:  # the fingerprint probe, once when the store opens
            self.calls.append((len(texts), self._stored()))
        return super().embed_documents(texts)

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        if texts != [PROBE_TEXT]:
            self.calls.append((len(texts), self._stored()))
        return super().embed_documents(texts)


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_add_texts_embeds_and_writes_one_batch_at_a_time(lite_uri: str, use_async: bool) -> None:
    import asyncio

    ref: list[MilvusVectorStore] = []
    embedding = BatchRecordingEmbeddings(ref)
    store = _store(lite_uri, embedding)
    ref.append(store)
    texts = [f"cat number {i}" for i in range(10)]
    bad = [{"n": i} for i in range(9)] + [{"n": math.nan}]
    add = store.aadd_texts if use_async else store.add_texts

    def run(metadatas: list[dict[str, Any]]) -> list[str]:
        coro_or_ids = add(texts, metadatas, batch_size=4)
        return asyncio.run(coro_or_ids) if use_async else coro_or_ids  # type: ignore[arg-type,return-value]

    with pytest.raises(ValueError):
        run(bad)
    assert embedding.calls == []  # refused before the model saw a single text
    ids = run([{"n": i} for i in range(10)])
    assert len(ids) == 10
    # Each batch is embedded while the previous one is written, never further ahead:
    # batch j starts once batch j - 2 is stored (Lite flushes at the end, so count() sees
    # written rows as they land in the memtable).
    assert [size for size, _ in embedding.calls] == [4, 4, 2]
    stored = [stored for _, stored in embedding.calls]
    assert stored[0] == 0
    assert all(4 * (j - 1) <= rows <= 4 * j for j, rows in enumerate(stored))
    assert store.store.count() == 10


def test_write_options_are_taken_as_in_the_other_adapter(lite_uri: str) -> None:
    """``write_options=`` (the README's ``WriteOptions(overlap=False)``) was refused as an
    unexpected argument; ``batch_size`` / ``progress`` set two of its fields."""
    from milvus_plugins.core import WriteOptions

    options = WriteOptions(batch_rows=3, overlap=False, progress=False)
    store = _store(lite_uri, write_options=options)
    texts = [f"text {i}" for i in range(8)]
    assert len(store.add_texts(texts)) == 8
    assert len(store.get_by_ids(store.add_texts(texts[:2]))) == 2
    assert _store(lite_uri, write_options=options, batch_size=3, progress=False) is not None
    with pytest.raises(ConfigError, match="batch_size=5 contradicts write_options' batch_rows=3"):
        _store(lite_uri, write_options=options, batch_size=5)
    with pytest.raises(ConfigError, match="progress=True contradicts"):
        _store(lite_uri, write_options=options, progress=True)
    with pytest.raises(ConfigError, match="write"):
        _store(lite_uri, write_options={"batch_rows": 3})
