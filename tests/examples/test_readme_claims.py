"""README claims, each checked against the code on Milvus Lite, called as the README shows.

One test per concrete claim of the sections "LangChain quickstart" to "Tenants, partitions
and search features". A test marked ``xfail(strict=True)`` with a ``MISMATCH`` comment is
a place where README and code disagree.
"""

from __future__ import annotations

import asyncio
import datetime
import math
from typing import Any

import numpy as np
import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from tests.support.faces import DIM, VocabEmbedding, VocabEmbeddings, embed

from milvus_plugins import recommend_index
from milvus_plugins.core import (
    RRF,
    AsyncMilvusStore,
    BM25Encoder,
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    Decay,
    FilterError,
    HnswIndex,
    InvalidInputError,
    IvfFlatIndex,
    IvfPqIndex,
    IvfSq8Index,
    MilvusStore,
    PartitionMismatchError,
    RawFilterRefusedError,
    Record,
    TenantMismatchError,
    TenantRequiredError,
    TextAnalyzer,
    UnsupportedByServerError,
    Weighted,
    WriteOptions,
    content_id,
    eq,
    gt,
    ne,
    not_,
)
from milvus_plugins.langchain import MilvusVectorStore

ROWS = [
    ("a", "cat dog", {"year": 2024, "tags": ["x", "y"], "name": "alpha"}),
    ("b", "cat fish", {"year": 2022, "tags": ["y"], "name": "beta"}),
    ("c", "car train", {"year": 2020, "name": "gamma"}),
    ("d", "plane bird", {"year": 2023, "tags": [], "name": ""}),
]


def lc_store(uri: str, **kwargs: Any) -> MilvusVectorStore:
    kwargs.setdefault("collection_name", "notes")
    return MilvusVectorStore(VocabEmbeddings(), uri=uri, **kwargs)


def fill(store: MilvusVectorStore, rows: list[tuple[str, str, dict[str, Any]]] = ROWS) -> None:
    store.add_documents([Document(t, id=i, metadata=dict(m)) for i, t, m in rows])


def ids_of(docs: list[Any]) -> set[str]:
    return {d.id if isinstance(d, Document) else d[0].id for d in docs}


def where(store: MilvusVectorStore, flt: Any) -> set[str]:
    """Ids matching a filter: a blank query is a filter-only search (README: Filters)."""
    return ids_of(store.similarity_search("", k=50, filter=flt))


def core_store(uri: str, name: str = "core", **spec: Any) -> MilvusStore:
    return MilvusStore(CollectionSpec(name=name, **spec), connection=ConnectionConfig(uri=uri))


def core_rows(rows: list[tuple[str, str, dict[str, Any]]] = ROWS) -> list[Record]:
    return [Record(id=i, text=t, vector=embed(t), metadata=dict(m)) for i, t, m in rows]


# -- LangChain quickstart -----------------------------------------------------------------


def test_quickstart_hybrid_filter_and_relevance(lite_uri: str) -> None:
    """README 'LangChain quickstart': retrieval_mode="hybrid", filter={"year": {"$gte": 2023}},
    similarity_search_with_relevance_scores(..., k=1, filter=...)."""
    with lc_store(lite_uri, retrieval_mode="hybrid") as store:
        fill(store)
        hits = store.similarity_search_with_relevance_scores(
            "cat", k=1, filter={"year": {"$gte": 2023}}
        )
        assert [d.id for d, _ in hits] == ["a"]
        assert 0.0 <= hits[0][1] <= 1.0


def test_quickstart_retriever_search_kwargs(lite_uri: str) -> None:
    """README: retriever = store.as_retriever(search_kwargs={"k": 2, "filter": {"year": 2022}})"""
    with lc_store(lite_uri) as store:
        fill(store)
        retriever = store.as_retriever(search_kwargs={"k": 2, "filter": {"year": 2022}})
        assert [d.id for d in retriever.invoke("cat")] == ["b"]


@pytest.mark.parametrize("mode", ["dense", "sparse", "hybrid"])
def test_quickstart_retrieval_modes(lite_uri: str, mode: str) -> None:
    """README: retrieval_mode="hybrid",  # "dense" | "sparse" | "hybrid" (dense + BM25)"""
    with lc_store(lite_uri, retrieval_mode=mode) as store:
        fill(store)
        assert store.similarity_search("fish", k=1)[0].id == "b"


# -- Re-running ingestion -----------------------------------------------------------------


def test_rerun_with_stable_ids_replaces(lite_uri: str) -> None:
    """README: "Writes are upserts by id, so a re-run replaces rows instead of duplicating
    them if the ids are stable." """
    with lc_store(lite_uri) as store:
        fill(store)
        fill(store)
        store.add_documents([Document("cat changed", id="a", metadata={"year": 1})])
        assert store.store.count() == 4
        assert store.get_by_ids(["a"])[0].page_content == "cat changed"


def test_rerun_without_ids_duplicates(lite_uri: str) -> None:
    """README: "Ids generated at random (LangChain documents without `id` ...) give every
    run new rows." """
    with lc_store(lite_uri) as store:
        for _ in range(2):
            store.add_documents([Document("cat"), Document("dog")])
        assert store.store.count() == 4


def test_content_id_is_deterministic() -> None:
    """README: "`content_id(...)` from `milvus_plugins.core` for a content-derived id" """
    assert content_id("hello", {"a": 1}) == content_id("hello", {"a": 1})
    assert content_id("hello") != content_id("hello!")


def test_langchain_indexing_api_skips_and_cleans_up(lite_uri: str) -> None:
    """README: "LangChain's indexing API ... is supported: it skips unchanged documents, and
    with `cleanup="incremental"` ... it deletes the rows of changed or vanished documents." """
    from langchain_core.indexing import InMemoryRecordManager, index

    record_manager = InMemoryRecordManager("ns")
    record_manager.create_schema()
    docs = [
        Document("cat dog", metadata={"source": "s1"}),
        Document("car train", metadata={"source": "s2"}),
    ]
    with lc_store(lite_uri) as store:
        first = index(docs, record_manager, store, cleanup="incremental", source_id_key="source")
        assert first["num_added"] == 2
        again = index(docs, record_manager, store, cleanup="incremental", source_id_key="source")
        assert again["num_skipped"] == 2 and again["num_added"] == 0
        docs[0] = Document("cat bird", metadata={"source": "s1"})
        changed = index(docs, record_manager, store, cleanup="incremental", source_id_key="source")
        assert changed["num_added"] == 1 and changed["num_deleted"] == 1
        assert store.store.count() == 2


def test_core_upsert_embed_numpy_and_overlap_off(lite_uri: str) -> None:
    """README: "The core's `embed` function may return a list of vectors or a 2-D numpy array
    of shape `(len(texts), dim)`" and "`WriteOptions(overlap=False)` embeds and writes
    strictly in turn"; `mode="upsert"` is accepted."""
    store = core_store(lite_uri)
    store.write_options = WriteOptions(overlap=False)
    with store:
        records = [Record(id=i, text=t, metadata=m) for i, t, m in ROWS]
        ids = store.upsert(
            records, embed=lambda texts: np.array([embed(t) for t in texts]), mode="upsert"
        )
        assert ids == ["a", "b", "c", "d"]
        assert store.count() == 4


def test_llama_index_stable_node_ids_and_delete_ref_doc(lite_uri: str) -> None:
    """README: "`Document(id_=...)` ... and a node parser with
    `id_func=lambda i, doc: f"{doc.id_}#{i}"` ... `index.delete_ref_doc(doc_id)` removes all
    nodes of one document." """
    from llama_index.core import Document as LDocument
    from llama_index.core import StorageContext, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter

    from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

    store = LlamaStore(uri=lite_uri, collection_name="docs", enable_sparse=True)
    docs = [
        LDocument(id_="lite", text="milvus python", metadata={"year": 2024}),
        LDocument(id_="cluster", text="car train", metadata={"year": 2022}),
    ]
    for _ in range(2):
        index = VectorStoreIndex.from_documents(
            docs,
            storage_context=StorageContext.from_defaults(vector_store=store),
            embed_model=VocabEmbedding(),
            transformations=[SentenceSplitter(id_func=lambda i, doc: f"{doc.id_}#{i}")],
        )
    assert store.store.count() == 2
    index.delete_ref_doc("lite")
    assert store.store.count() == 1
    store.close()


# -- Hybrid search ------------------------------------------------------------------------


def test_rankers_as_documented() -> None:
    """README: "`RRF(k=60)` ... `Weighted(0.7, 0.3)` ... `Weighted(0.5, 0.5,
    normalize="minmax")`" """
    assert RRF().k == 60 == RRF(k=60).k
    assert Weighted(0.7, 0.3).weights == (0.7, 0.3)
    assert Weighted(0.5, 0.5, normalize="minmax").normalize == "minmax"


def test_bm25_encoder_fit_save_load(tmp_path: Any) -> None:
    """README: "the built-in `BM25Encoder` (numpy-free Okapi BM25, `fit` / `save` / `load`)" """
    enc = BM25Encoder()
    enc.fit(["cat dog", "car train", "cat fish"])
    path = tmp_path / "bm25.json"
    enc.save(path)
    loaded = BM25Encoder.load(path)
    assert loaded.encode_queries(["cat"]) == enc.encode_queries(["cat"])


def test_client_sparse_encoder_store(lite_uri: str) -> None:
    """README: "pass a `SparseEncoder` (`sparse=my_encoder`)" """
    enc = BM25Encoder()
    enc.fit([t for _, t, _ in ROWS])
    with lc_store(lite_uri, sparse=enc, retrieval_mode="sparse") as store:
        fill(store)
        assert store.similarity_search("fish", k=1)[0].id == "b"


def test_server_fusion_relevance_is_rank_based(lite_uri: str) -> None:
    """README: "with `fusion="server"` Milvus returns only the fused score and the relevance
    is rank-based (RRF: `score * (k + 1) / 2`)": a hit ranked first by both legs scores 1."""
    with core_store(lite_uri, sparse="bm25") as store:
        store.upsert(core_rows())
        hits = store.hybrid_search(embed("fish"), "fish", k=2, ranker=RRF(k=60), fusion="server")
        assert hits[0].id == "b"
        assert hits[0].score == pytest.approx(1.0, abs=1e-3)


def test_hybrid_one_leg_only_at_most_half(lite_uri: str) -> None:
    """README: "with equal weights only one found by both legs passes 0.5" and "a leg that
    missed the document counts 0"."""
    with core_store(lite_uri, sparse="bm25") as store:
        store.upsert(core_rows())
        hits = store.hybrid_search(embed("fish"), "fish", k=4, fetch_k=4)
        by_id = {h.id: h.score for h in hits}
        assert by_id["b"] > 0.5
        assert all(s <= 0.5 for i, s in by_id.items() if i != "b")


# -- Filters ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({"year": 2022}, {"b"}),
        ({"year": {"$eq": 2022}}, {"b"}),
        ({"year": {"$gt": 2022}}, {"a", "d"}),
        ({"year": {"$gte": 2022}}, {"a", "b", "d"}),
        ({"year": {"$lt": 2022}}, {"c"}),
        ({"year": {"$lte": 2022}}, {"b", "c"}),
        ({"year": {"$in": [2020, 2024]}}, {"a", "c"}),
        ({"tags": {"$contains": "y"}}, {"a", "b"}),
        ({"name": {"$like": "al%"}}, {"a"}),
        ({"tags": {"$exists": True}}, {"a", "b", "d"}),
        ({"tags": {"$exists": False}}, {"c"}),
        ({"$or": [{"year": 2020}, {"year": 2022}]}, {"b", "c"}),
        ({"$and": [{"year": {"$gte": 2022}}, {"name": "beta"}]}, {"b"}),
        ({"$not": {"year": 2022}}, {"a", "c", "d"}),
    ],
)
def test_dict_filter_operators(lite_uri: str, flt: dict[str, Any], expected: set[str]) -> None:
    """README Filters table: equals, greater / less, one of, list contains, pattern,
    present, missing, and / or / not."""
    with lc_store(lite_uri) as store:
        fill(store)
        assert where(store, flt) == expected


def test_ne_and_nin_include_missing_keys(lite_uri: str) -> None:
    """README: "differs (or missing) | `{"$ne": v}`" and "none of ... missing keys included" """
    with lc_store(lite_uri) as store:
        fill(store)
        assert where(store, {"year": {"$ne": 2022}}) == {"a", "c", "d"}
        assert where(store, {"name": {"$nin": ["alpha", "beta"]}}) == {"c", "d"}
        store.add_documents([Document("bird", id="e", metadata={})])
        assert where(store, {"name": {"$ne": "alpha"}}) == {"b", "c", "d", "e"}


def test_ne_of_another_kind_matches(lite_uri: str) -> None:
    """README: "`ne("n", 1)` ... matches `"1"`, `true`, a list and a missing `n`" and
    "`not_(gt("n", 1))` matches neither `"a"` nor a list (it matches smaller numbers and a
    missing `n`)" and "`eq("n", True)` never matches `1`"."""
    rows = [
        ("one", "cat", {"n": 1}),
        ("str", "cat", {"n": "1"}),
        ("tru", "cat", {"n": True}),
        ("lst", "cat", {"n": [1]}),
        ("mis", "cat", {}),
        ("zer", "cat", {"n": 0}),
        ("let", "cat", {"n": "a"}),
    ]
    with lc_store(lite_uri, infer_metadata_fields=False) as store:
        fill(store, rows)
        assert where(store, ne("n", 1)) == {"str", "tru", "lst", "mis", "zer", "let"}
        assert where(store, not_(gt("n", 1))) == {"one", "zer", "mis"}
        assert "one" not in where(store, eq("n", True))


def test_filter_values_cannot_inject(lite_uri: str) -> None:
    """README: "Every value and key is escaped by the compiler, so a user string can never
    change a filter's meaning." """
    with lc_store(lite_uri) as store:
        fill(store)
        evil = 'x" or 1 == 1 or metadata["name"] == "'
        assert where(store, {"name": evil}) == set()
        assert where(store, {'name"] == "alpha" or metadata["x': "y"}) == set()


def test_raw_string_filter_is_parenthesised_in_delete(lite_uri: str) -> None:
    """README: "`delete(ids=[...], filter="a or b")` deletes only rows that are in `ids`
    *and* match `a or b`." """
    with lc_store(lite_uri) as store:
        fill(store)
        store.delete(ids=["a", "c"], filter='metadata["year"] == 2024 or metadata["year"] == 2022')
        assert sorted(d.id for d in store.get_by_ids(["a", "b", "c", "d"])) == ["b", "c", "d"]


def test_delete_match_all_filter_refused(lite_uri: str) -> None:
    """README: "A filter that matches every row by its structure (`{}`, ... a blank string) is
    refused with `InvalidInputError`" """
    with lc_store(lite_uri) as store:
        fill(store)
        with pytest.raises(InvalidInputError):
            store.delete(filter={})
        with pytest.raises(InvalidInputError):
            store.delete(filter="  ")
        assert store.store.count() == 4


def test_langchain_delete_no_args_clears_keeps_collection(lite_uri: str) -> None:
    """README: "LangChain's `delete()` with no arguments, which LangChain documents as
    "delete all", calls it [clear()]" and clear() "empties a collection"."""
    with lc_store(lite_uri) as store:
        fill(store)
        assert store.delete() is True
        assert store.store.count() == 0
        assert store.store.exists()


def test_core_clear_sync_and_async(lite_uri: str) -> None:
    """README: "`clear()` (core, sync and async) is the one call that empties a collection" """
    with core_store(lite_uri) as store:
        store.upsert(core_rows())
        assert store.clear() == 4
        store.upsert(core_rows())
        astore = AsyncMilvusStore(store)
        asyncio.run(astore.clear())
        assert store.count() == 0 and store.exists()


def test_delete_bare_str_ids_refused(lite_uri: str) -> None:
    """README: "A bare `str` where a list of ids belongs (`delete(ids="123")`) is refused" """
    with lc_store(lite_uri) as store:
        fill(store)
        with pytest.raises(InvalidInputError):
            store.delete(ids="123")


def test_llama_delete_needs_non_empty_ref_doc_id(lite_uri: str) -> None:
    """README: "LlamaIndex `delete(ref_doc_id)` needs a non-empty string." """
    from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

    store = LlamaStore(uri=lite_uri, collection_name="docs")
    with pytest.raises(InvalidInputError):
        store.delete("")
    store.close()


def test_llama_filter_operators(lite_uri: str) -> None:
    """README Filters table: LlamaIndex `TEXT_MATCH` is a substring (`%`, `_` rejected),
    `IS_EMPTY` also matches `""`, `[]`, `ANY`/`ALL` are json_contains_any/all, and
    "`TEXT_MATCH_INSENSITIVE` raises `FilterError`"."""
    from llama_index.core.vector_stores import (
        FilterOperator,
        MetadataFilter,
        MetadataFilters,
        VectorStoreQuery,
    )

    from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

    with lc_store(lite_uri, collection_name="docs") as lc:
        fill(lc)
    store = LlamaStore(uri=lite_uri, collection_name="docs")

    def ids(op: FilterOperator, key: str, value: Any) -> set[str]:
        flt = MetadataFilters(filters=[MetadataFilter(key=key, value=value, operator=op)])
        q = VectorStoreQuery(query_embedding=embed("cat"), similarity_top_k=10, filters=flt)
        return {n.node_id for n in store.query(q).nodes}

    assert ids(FilterOperator.TEXT_MATCH, "name", "et") == {"b"}
    assert ids(FilterOperator.IS_EMPTY, "tags", None) == {"c", "d"}
    assert ids(FilterOperator.IS_EMPTY, "name", None) == {"d"}
    assert ids(FilterOperator.ANY, "tags", ["x", "q"]) == {"a"}
    assert ids(FilterOperator.ALL, "tags", ["x", "y"]) == {"a"}
    with pytest.raises(FilterError):
        ids(FilterOperator.TEXT_MATCH, "name", "a%")
    with pytest.raises(FilterError):
        ids(FilterOperator.TEXT_MATCH_INSENSITIVE, "name", "ALPHA")
    store.close()


def test_numpy_values_and_dates(lite_uri: str) -> None:
    """README: "`np.int64(3)` is written, read back and compared as `3`. Dates, times and
    datetimes are refused with a `ValueError` subclass" """
    with lc_store(lite_uri) as store:
        store.add_documents([Document("cat", id="n", metadata={"k": np.int64(3)})])
        assert store.get_by_ids(["n"])[0].metadata["k"] == 3
        assert where(store, {"k": np.int64(3)}) == {"n"}
        with pytest.raises(ValueError):
            store.add_documents([Document("dog", id="t", metadata={"d": datetime.date.today()})])
        with pytest.raises(ValueError):
            where(store, {"k": datetime.datetime.now()})


def test_filter_only_search_returns_relevance_one(lite_uri: str) -> None:
    """README: "a blank query text (`""` or spaces ...) ... returns up to `k` rows matching
    the filter ... each with relevance 1.0"; core `store.retrieve(filter=...)` with neither
    `vector` nor `text`, or `store.filtered_hits()`."""
    with lc_store(lite_uri) as store:
        fill(store)
        hits = store.similarity_search_with_relevance_scores("   ", k=2, filter={"year": 2020})
        assert [(d.id, s) for d, s in hits] == [("c", 1.0)]
        core = store.store
        assert [h.score for h in core.retrieve(filter=eq("year", 2024))] == [1.0]
        assert len(core.filtered_hits(k=3)) == 3


def test_zero_query_vector_refused_under_cosine(lite_uri: str) -> None:
    """README: "an explicit zero *vector* is still searched with (refused under COSINE as a
    broken embedding)" """
    with lc_store(lite_uri) as store:
        fill(store)
        with pytest.raises(Exception):  # noqa: B017 - README names no type
            store.similarity_search_by_vector([0.0] * DIM, k=1)


def test_translator_like_without_percent_is_substring() -> None:
    """README: "The translator turns an LLM's `like` value without `%` into a substring
    match (`like("source", "user_guide")` finds `docs/user_guide.md`" """
    from langchain_core.structured_query import Comparator, Comparison

    from milvus_plugins.core import matches
    from milvus_plugins.langchain import MilvusTranslator
    from milvus_plugins.langchain.filters import dict_to_filter

    flt = MilvusTranslator().visit_comparison(
        Comparison(comparator=Comparator.LIKE, attribute="source", value="user_guide")
    )
    assert matches(dict_to_filter(flt), {"source": "docs/user_guide.md"})


# -- Indexes ------------------------------------------------------------------------------


def test_recommend_index_examples() -> None:
    """README: "recommend_index(2_000_000, 768, memory_budget_bytes=4 * 2**30)   # ->
    IvfSq8Index(...)" and "recommend_index(50_000, 384)   # -> HnswIndex()" """
    assert isinstance(recommend_index(2_000_000, 768, memory_budget_bytes=4 * 2**30), IvfSq8Index)
    assert recommend_index(50_000, 384) == HnswIndex()


def test_hnsw_defaults() -> None:
    """README: "`HnswIndex(M=16, ef_construction=200, ef=None)`" """
    idx = HnswIndex()
    assert (idx.M, idx.ef_construction, idx.ef) == (16, 200, None)


def test_search_knobs_checked(lite_uri: str) -> None:
    """README: "search knobs are per call (`search_params={"ef": 128}` ...; unknown knobs
    raise)" and "search knobs (`ef`, `nprobe` ...: integers in range) raise `ConfigError`" """
    with lc_store(lite_uri) as store:
        fill(store)
        assert store.similarity_search("cat", k=1, search_params={"ef": 128})
        with pytest.raises(ConfigError):
            store.similarity_search("cat", k=1, search_params={"nprobe": 32})
        with pytest.raises(ConfigError):
            store.similarity_search("cat", k=1, search_params={"ef": -1})


def test_default_index_on_lite_is_hnsw(lite_uri: str) -> None:
    """README: "Default when you give none: HNSW (M 16, efConstruction 200, size-aware ef) on
    Milvus Lite 3" """
    with lc_store(lite_uri) as store:
        fill(store)
        dense = [i for i in store.store.stats().indexes if i.get("field") == "vector"]
        assert dense and dense[0]["index_type"] == "HNSW"


def test_index_metric_contradiction_raises(lite_uri: str) -> None:
    """README: "one whose own metric contradicts an explicit `"IP"` or `"L2"` raises
    `ConfigError`." """
    with pytest.raises(ConfigError):
        lc_store(lite_uri, index=HnswIndex(metric="L2"), metric="IP")


def test_lite_refuses_ivf_pq(lite_uri: str) -> None:
    """README: "IVF_PQ, SCANN and DISKANN raise `UnsupportedByServerError` instead of
    silently falling back to brute force." """
    index = IvfPqIndex(nlist=4, m=1)
    with lc_store(lite_uri, index=index) as store, pytest.raises(UnsupportedByServerError):
        fill(store)


def test_ivf_pq_m_must_divide_dim(lite_uri: str) -> None:
    """README: "`IvfPqIndex(nlist=..., m=..., nbits=...)` ... (`m` must divide `dim`)" """
    index = IvfPqIndex(nlist=4, m=8)
    with lc_store(lite_uri, index=index) as store, pytest.raises(ConfigError):
        fill(store)


# MISMATCH (fixed in the README): the table showed IvfFlatIndex(nlist, nprobe) positionally
def test_ivf_index_keyword_signature() -> None:
    """README Indexes table: "`IvfFlatIndex(nlist=..., nprobe=...)`", "`IvfPqIndex(nlist=...,
    m=..., nbits=...)`" (the configs take keywords only)."""
    assert IvfFlatIndex(nlist=128, nprobe=16).nprobe == 16
    assert IvfPqIndex(nlist=128, m=8, nbits=8).m == 8
    with pytest.raises(TypeError):
        IvfFlatIndex(128, 16)  # type: ignore[misc]


# -- Scores -------------------------------------------------------------------------------


def test_cosine_relevance_is_max_zero_similarity(lite_uri: str) -> None:
    """README: "COSINE, IP (unit vectors) | `max(0, similarity)`" and "The raw Milvus
    distance ... is kept on the core `Hit.distance`." """
    with core_store(lite_uri) as store:
        store.upsert(core_rows())
        for hit in store.search(embed("cat"), k=4):
            assert hit.score == pytest.approx(max(0.0, hit.distance), abs=1e-5)
            assert 0.0 <= hit.score <= 1.0


def test_l2_relevance(lite_uri: str) -> None:
    """README: "L2 (squared distance `d`) | `1 / (1 + d)`" """
    with core_store(lite_uri, metric="L2") as store:
        store.upsert(core_rows())
        hits = store.search(embed("cat"), k=4)
        for hit in hits:
            assert hit.score == pytest.approx(1 / (1 + hit.distance), abs=1e-5)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_bm25_relevance_in_unit_range(lite_uri: str) -> None:
    """README: "BM25 scores come back negative from Lite; the core reports relevance in
    [0, 1] anyway." and "BM25 score `s` | `s / (s + c)`" """
    with lc_store(lite_uri, retrieval_mode="sparse") as store:
        fill(store)
        hits = store.similarity_search_with_relevance_scores("cat fish", k=4)
        assert hits and all(0.0 <= s < 1.0 for _, s in hits)
        assert hits[0][0].id == "b"


def test_score_threshold_same_scale(lite_uri: str) -> None:
    """README: "one `score_threshold` means the same everywhere" (and range search:
    "`score_threshold` ... is converted exactly into Milvus' `radius`")."""
    with lc_store(lite_uri, retrieval_mode="hybrid") as store:
        fill(store)
        for mode in ("dense", "sparse", "hybrid"):
            hits = store.similarity_search_with_relevance_scores(
                "cat fish", k=4, score_threshold=0.5, retrieval_mode=mode
            )
            assert hits and all(s >= 0.5 for _, s in hits)
            assert "c" not in ids_of(hits)


def test_bm25_analyzer_stop_words(lite_uri: str) -> None:
    """README: "The BM25 analyzer is a constructor argument in both adapters
    (`bm25_analyzer=`), e.g. `TextAnalyzer(stop_words="english")`" """
    with lc_store(
        lite_uri, retrieval_mode="sparse", bm25_analyzer=TextAnalyzer(stop_words="english")
    ) as store:
        fill(store, [("a", "the cat", {}), ("b", "dog", {})])
        assert store.similarity_search("the", k=2) == []


# -- Going to production ------------------------------------------------------------------


def test_milvus_uri_env(lite_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """README: "point `uri` (and `token`) somewhere else, or set `MILVUS_URI`" """
    monkeypatch.setenv("MILVUS_URI", lite_uri)
    with MilvusVectorStore(VocabEmbeddings(), collection_name="env") as store:
        fill(store)
    with lc_store(lite_uri, collection_name="env") as store:
        assert store.store.count() == 4


def test_close_and_context_managers(lite_uri: str) -> None:
    """README: "every store (core, LangChain, LlamaIndex) has `close()` / `aclose()` and is a
    context manager (`with` / `async with`)." (adapters; the core is checked below)"""
    from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

    for make in (
        lambda: lc_store(lite_uri),
        lambda: LlamaStore(uri=lite_uri, collection_name="docs"),
    ):
        make().close()
        asyncio.run(make().aclose())
        with make() as entered:
            assert entered is not None

        async def use(m: Any = make) -> None:
            async with m() as s:
                assert s is not None

        asyncio.run(use())
    with core_store(lite_uri) as core:
        core.close()

    async def use_core() -> None:
        async with AsyncMilvusStore(core_store(lite_uri)) as s:
            assert s is not None

    asyncio.run(use_core())


# MISMATCH (fixed in the README): it said every store, the core's too, had aclose()
def test_core_stores_close_as_the_readme_says(lite_uri: str) -> None:
    """README: "the core's `MilvusStore` has `close()` and `with`, and `AsyncMilvusStore`
    has `await close()` and `async with`." """
    with core_store(lite_uri) as store:
        store.count()

    async def run() -> None:
        async with AsyncMilvusStore(core_store(lite_uri)) as astore:
            await astore.count()
        other = AsyncMilvusStore(core_store(lite_uri))
        await other.close()

    asyncio.run(run())


def test_names_checked_before_any_call(lite_uri: str) -> None:
    """README: "Names (collection, partition, field, database) are checked against Milvus'
    rule (a letter or `_`, then letters, digits, `_`; at most 255) before any call" """
    for bad in ("1notes", "no-tes", "x" * 256):
        with pytest.raises(ConfigError):
            lc_store(lite_uri, collection_name=bad)
    lc_store(lite_uri, collection_name="_" + "x" * 254).close()


def test_json_limit_not_applied_on_lite(lite_uri: str) -> None:
    """README: "a server takes at most 65,536 bytes of JSON per field, so a record whose
    metadata ... is longer as JSON is refused ... (Milvus Lite has no such limit)." The
    server half needs a Milvus server (not run here)."""
    with lc_store(lite_uri) as store:
        store.add_documents([Document("dog", id="big", metadata={"x": "a" * 70000})])
        assert len(store.get_by_ids(["big"])[0].metadata["x"]) == 70000


@pytest.mark.parametrize(
    "kwargs",
    [
        {"uri": "http://host:70000"},
        {"uri": "http://host:0"},
        {"uri": "x.db", "timeout": math.inf},
        {"uri": "x.db", "timeout": 1_000_001},
    ],
)
def test_connection_config_checked(kwargs: dict[str, Any]) -> None:
    """README: "`ConnectionConfig` (... a port in 1-65535 ... a finite timeout up to
    1,000,000 s) ... raise `ConfigError`" """
    with pytest.raises(ConfigError):
        ConnectionConfig(**kwargs)


def test_connection_config_expands_tilde() -> None:
    """README: "`~` expanded" """
    assert not ConnectionConfig(uri="~/x.db").uri.startswith("~")


def test_write_options_and_client_kwargs_checked(lite_uri: str) -> None:
    """README: "`RetryPolicy`, `WriteOptions`, `client_kwargs` ... raise `ConfigError`" """
    from milvus_plugins.core import RetryPolicy

    with pytest.raises(ConfigError):
        WriteOptions(batch_rows=0)
    with pytest.raises(ConfigError):
        RetryPolicy(attempts=0)
    with pytest.raises(ConfigError):
        lc_store(lite_uri, client_kwargs={"uri": "other.db"})


def test_secrets_not_in_repr_or_serialised() -> None:
    """README: "a token's password and `user:pass@` in a URI never appear in reprs,
    serialised LlamaIndex stores or error messages." """
    from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

    conn = ConnectionConfig(uri="http://user:s3cret@host:19530", token="root:hunter2")
    assert "hunter2" not in repr(conn) and "s3cret" not in repr(conn)
    store = MilvusVectorStore(VocabEmbeddings(), uri="http://host:19530", token="u:hunter2")
    assert "hunter2" not in repr(store)
    llama = LlamaStore(uri="http://user:s3cret@host:19530", token="root:hunter2")
    assert "s3cret" not in llama.to_json() and "hunter2" not in llama.to_json()


# -- Tenants, partitions and search features ----------------------------------------------


def tenant_store(uri: str, **kwargs: Any) -> MilvusVectorStore:
    return lc_store(uri, metadata_fields={"tenant": "VARCHAR"}, partition_key="tenant", **kwargs)


def test_tenant_scope_confines_reads_deletes_and_clear(lite_uri: str) -> None:
    """README: "Every read, search ..., count and delete is confined ..., writes stamp the
    tenant ..., and `clear()` deletes only that tenant's rows." """
    with tenant_store(lite_uri, retrieval_mode="hybrid") as store:
        store.add_documents([Document("cat", id="a1")], tenant="A")
        store.add_documents([Document("cat", id="b1"), Document("dog", id="b2")], tenant="B")
        assert store.get_by_ids(["a1"])[0].metadata["tenant"] == "A"
        for mode in ("dense", "sparse", "hybrid"):
            found = store.similarity_search("cat", k=5, tenant="A", retrieval_mode=mode)
            assert ids_of(found) == {"a1"}
        assert store.store.count(tenant="B") == 2
        store.delete(ids=["b1"], tenant="A")
        assert store.store.count(tenant="B") == 2
        store.store.clear(tenant="A")
        assert store.store.count() == 2


def test_tenant_writes_refused(lite_uri: str) -> None:
    """README: "a tenant's write of an id another tenant's row already holds raises
    `TenantMismatchError` ...; a record whose tenant is `""` is refused" and writes "refuse a
    document naming another one"."""
    with tenant_store(lite_uri) as store:
        store.add_documents([Document("cat", id="x")], tenant="A")
        with pytest.raises(TenantMismatchError):
            store.add_documents([Document("dog", id="x")], tenant="B")
        with pytest.raises(TenantMismatchError):
            store.add_documents([Document("dog", id="y", metadata={"tenant": "B"})], tenant="A")
        with pytest.raises((InvalidInputError, ConfigError)):
            store.add_documents([Document("dog", id="z", metadata={"tenant": ""})])
        assert store.store.count() == 1


def test_strict_tenant_mode(lite_uri: str) -> None:
    """README: "`tenant_mode="strict"` refuses calls without a tenant and raw expression
    filters (`TenantRequiredError`, `RawFilterRefusedError`, before any I/O)." """
    store = tenant_store(lite_uri, tenant_mode="strict")
    with pytest.raises(TenantRequiredError):
        store.similarity_search("cat", k=1)
    with pytest.raises(RawFilterRefusedError):
        store.similarity_search("cat", k=1, tenant="A", filter='text == "cat"')
    store.close()


def test_named_partitions(lite_uri: str) -> None:
    """README: "a write of an id that another partition holds ... raises
    `PartitionMismatchError`"; "a write into a partition that does not exist raises
    `InvalidInputError`"; "`create_partition` leaves an existing partition as it is";
    "`_default` is never dropped ... (`ConfigError`)"; `partition_names=` on searches."""
    with lc_store(lite_uri) as store:
        fill(store)
        core = store.store
        core.create_partition("p1")
        core.create_partition("p1")
        store.add_documents([Document("fish", id="p")], partition_name="p1")
        with pytest.raises(PartitionMismatchError):
            store.add_documents([Document("fish", id="p")])
        with pytest.raises(InvalidInputError):
            store.add_documents([Document("fish", id="q")], partition_name="nope")
        assert ids_of(store.similarity_search("fish", k=5, partition_names=["p1"])) == {"p"}
        with pytest.raises(ConfigError):
            core.drop_partition("_default")
        core.drop_partition("missing")


def test_group_by_one_chunk_per_document(lite_uri: str) -> None:
    """README: "in LangChain it is a metadata key, as in filters, so `group_by="doc_id"` reads
    `metadata["doc_id"]`" and "Grouping by the text ... raises `ConfigError`." """
    rows = [
        ("d1#0", "cat", {"doc_id": "d1"}),
        ("d1#1", "cat cat", {"doc_id": "d1"}),
        ("d2#0", "cat dog", {"doc_id": "d2"}),
        ("d3#0", "car", {"doc_id": "d3"}),
    ]
    with lc_store(lite_uri) as store:
        fill(store, rows)
        docs = store.similarity_search("cat", k=3, group_by="doc_id")
        assert sorted(d.metadata["doc_id"] for d in docs) == ["d1", "d2", "d3"]
        docs = store.similarity_search("cat", k=1, group_by="doc_id", group_size=2)
        assert len(docs) == 2
        with pytest.raises(ConfigError):
            store.similarity_search("cat", k=2, group_by="text")


def test_decay_reranks_and_refuses_text(lite_uri: str) -> None:
    """README: "`decay=Decay(field, origin, scale, ...)`" and "A decay on the id, text ...
    raises `ConfigError`." """
    rows = [("old", "cat", {"ts": 0}), ("new", "cat", {"ts": 1000})]
    with lc_store(lite_uri, metadata_fields={"ts": "INT64"}) as store:
        fill(store, rows)
        decay = Decay(field="ts", origin=1000, scale=100)
        docs = store.similarity_search("cat", k=2, decay=decay)
        assert docs[0].id == "new"
        with pytest.raises(ConfigError):
            store.similarity_search("cat", k=2, decay=Decay(field="text", origin=0, scale=1))


# MISMATCH (fixed in the README): it showed Decay(field, origin, scale, ...) positionally
def test_decay_keyword_signature() -> None:
    """README: "`decay=Decay(field=..., origin=..., scale=..., function="gauss" | "exp" |
    "linear", offset=..., decay=...)` (keywords only)" """
    assert Decay(field="ts", origin=1000, scale=100).scale == 100
    with pytest.raises(TypeError):
        Decay("ts", 1000, 100)  # type: ignore[misc]


def test_text_match_exact_terms(lite_uri: str) -> None:
    """README: "Create with `text_match=True` ...; filter with `{"text": {"$text_match":
    "E1234"}}` ... Terms are escaped: `') or true or ('` only matches its own words." """
    rows = [("e", "error E1234 cat", {}), ("f", "fine cat", {}), ("t", "or true", {})]
    with lc_store(lite_uri, text_match=True) as store:
        fill(store, rows)
        assert where(store, {"text": {"$text_match": "E1234"}}) == {"e"}
        assert where(store, {"text": {"$text_match": "') or true or ('"}}) == {"t"}


def test_phrase_match_unsupported_on_lite(lite_uri: str) -> None:
    """README table: "`PHRASE_MATCH` | unsupported (2.5.17)" on Milvus Lite 3.2.2, and
    "Unsupported is a typed `UnsupportedByServerError`"."""
    with lc_store(lite_uri, text_match=True) as store:
        fill(store)
        with pytest.raises(UnsupportedByServerError):
            where(store, {"text": {"$phrase_match": "cat dog"}})


def test_sparse_only_store(lite_uri: str) -> None:
    """README: "LangChain `embedding=None` ...: keyword search and filter-only retrieval work,
    dense/hybrid/MMR raise `ConfigError` naming the fix." """
    with MilvusVectorStore(None, uri=lite_uri, collection_name="kw") as store:
        fill(store)
        assert store.similarity_search("fish", k=1)[0].id == "b"
        assert where(store, {"year": 2020}) == {"c"}
        with pytest.raises(ConfigError):
            store.max_marginal_relevance_search("fish", k=1)
        with pytest.raises(ConfigError):
            store.similarity_search("fish", k=1, retrieval_mode="hybrid")


def test_named_dense_fields_search_by_name(lite_uri: str) -> None:
    """README: "Named dense fields (LangChain `embedding={"body": m1, "title": m2}` ...) are
    each filled by their own model and searched by name (`vector_field=`)" """

    class Reverse(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return [embed(t)[::-1] for t in texts]

        def embed_query(self, text: str) -> list[float]:
            return embed(text)[::-1]

    store = MilvusVectorStore(
        {"body": VocabEmbeddings(), "title": Reverse()}, uri=lite_uri, collection_name="multi"
    )
    with store:
        fill(store)
        assert store.similarity_search("fish", k=1, vector_field="title")[0].id == "b"
        hits = store.similarity_search_with_relevance_scores("fish", k=4, vector_field="body")
        assert all(0.0 <= s <= 1.0 for _, s in hits)


def test_ttl_refused_on_lite(lite_uri: str) -> None:
    """README table: "TTL | unsupported (kept, never applied: refused)" on Lite 3.2.2."""
    props = {"ttl_seconds": 60}
    store = lc_store(lite_uri, collection_properties=props)
    with store, pytest.raises(UnsupportedByServerError):
        fill(store)


def test_retriever_search_kwargs_carry_features(lite_uri: str) -> None:
    """README: "LangChain through keyword arguments (also in a retriever's `search_kwargs`)" """
    with tenant_store(lite_uri) as store:
        store.add_documents([Document("cat", id="a1")], tenant="A")
        store.add_documents([Document("cat", id="b1")], tenant="B")
        retriever = store.as_retriever(search_kwargs={"k": 5, "tenant": "B"})
        assert [d.id for d in retriever.invoke("cat")] == ["b1"]


# -- more claims: accelerator columns, fusion arithmetic, scopes ---------------------------


def test_accelerator_columns_for_first_write_keys(lite_uri: str) -> None:
    """README: "the write that creates a collection gives each scalar key of that write whose
    values share one kind ... a nullable typed *accelerator* column"; "Keys first seen after
    the collection was created stay in the JSON only"; a key "named like a word of filter
    expressions (`true`, `like`, ...) gets no accelerator column"."""
    with lc_store(lite_uri) as store:
        fill(store, [("a", "cat", {"year": 1, "name": "n", "like": "z", "tags": ["q"]})])
        store.add_documents([Document("dog", id="b", metadata={"late": 2})])
        fields = store.store.stats().fields
        assert {"year", "name"} <= set(fields)
        assert not {"like", "late", "tags"} & set(fields)
        assert where(store, {"like": "z"}) == {"a"}
        assert where(store, {"late": 2}) == {"b"}


def test_infer_metadata_fields_false_opts_out(lite_uri: str) -> None:
    """README: "`infer_metadata_fields=False` opts out." """
    with lc_store(lite_uri, infer_metadata_fields=False) as store:
        fill(store)
        assert not {"year", "name"} & set(store.store.stats().fields)


def test_key_changing_kind_keeps_exact_filters(lite_uri: str) -> None:
    """README: "if a key later holds a value of another kind (a string under a number key, a
    list, an int beyond 2**53), ... filters on it go back to the exact, slower JSON path" """
    with lc_store(lite_uri) as store:
        fill(store, [("a", "cat", {"year": 2024}), ("b", "cat", {"year": 2022})])
        store.add_documents([Document("cat", id="s", metadata={"year": "2024"})])
        store.add_documents([Document("cat", id="big", metadata={"year": 2**53 + 1})])
        assert where(store, {"year": 2024}) == {"a"}
        assert where(store, {"year": "2024"}) == {"s"}
        assert where(store, {"year": 2**53 + 1}) == {"big"}
        assert where(store, {"year": {"$gt": 2023}}) == {"a", "big"}


def test_declared_field_named_like_a_keyword_raises(lite_uri: str) -> None:
    """README: "a declared field so named raises `FilterError` when filtered (Milvus would
    read the word, not the field)." """
    with lc_store(lite_uri, metadata_fields={"like": "VARCHAR"}) as store:
        fill(store, [("a", "cat", {"like": "z"})])
        with pytest.raises(FilterError):
            where(store, {"like": "z"})


def test_error_messages_cut_long_values(lite_uri: str) -> None:
    """README: "Error messages show at most ~80 characters of any value you passed (a
    70,000-character id is cut, with its length)." """
    with lc_store(lite_uri) as store:
        with pytest.raises(InvalidInputError) as err:
            store.add_documents([Document("cat", id="x" * 70_000)])
        assert "x" * 100 not in str(err.value)
        assert "70000" in str(err.value).replace(",", "")


def test_lone_surrogate_ids_refused_on_reads_and_deletes(lite_uri: str) -> None:
    """README: "Ids with a lone surrogate are refused on reads and deletes as on writes." """
    with core_store(lite_uri) as store:
        store.upsert(core_rows())
        with pytest.raises(InvalidInputError):
            store.get(["a\ud800"])
        with pytest.raises(InvalidInputError):
            store.delete(ids=["a\ud800"])
        with pytest.raises(InvalidInputError):
            store.upsert([Record(id="b\ud800", text="cat", vector=embed("cat"))])


def test_hybrid_relevance_is_weighted_average_of_legs(lite_uri: str) -> None:
    """README: "hybrid (RRF or Weighted) | the legs' relevances averaged with the ranker's
    weights (RRF: equal); a leg that missed the document counts 0" """
    with core_store(lite_uri, sparse="bm25") as store:
        store.upsert(core_rows())
        dense = {h.id: h.score for h in store.search(embed("cat fish"), k=4)}
        sparse = {h.id: h.score for h in store.sparse_search("cat fish", k=4)}
        for ranker, (wd, ws) in ((RRF(), (0.5, 0.5)), (Weighted(0.7, 0.3), (0.7, 0.3))):
            hits = store.hybrid_search(embed("cat fish"), "cat fish", k=4, ranker=ranker)
            for h in hits:
                expected = wd * dense.get(h.id, 0.0) + ws * sparse.get(h.id, 0.0)
                assert h.score == pytest.approx(expected, abs=1e-4), (ranker, h.id)


def test_server_fused_rrf_gives_the_same_order(lite_uri: str) -> None:
    """README: "A call that returns documents only (LangChain's `similarity_search` ...) with
    an `RRF` ranker fuses on the server in one call, and gets the same documents in the same
    order" """
    rows = [(f"r{i}", " ".join(["cat", "dog", "fish", "car"][: 1 + i % 4]), {}) for i in range(20)]
    with lc_store(lite_uri, retrieval_mode="hybrid") as store:
        fill(store, rows)
        for q in ("cat", "dog fish", "car cat"):
            plain = [d.id for d in store.similarity_search(q, k=8)]
            scored = [d.id for d, _ in store.similarity_search_with_relevance_scores(q, k=8)]
            assert plain == scored


def test_llama_alpha_maps_to_weighted(lite_uri: str) -> None:
    """README: "In LlamaIndex a query's `alpha` maps to `Weighted(alpha, 1 - alpha)`":
    alpha=1 gives the dense relevances, alpha=0 the keyword ones."""
    from llama_index.core.vector_stores.types import VectorStoreQuery, VectorStoreQueryMode

    from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

    with core_store(lite_uri, name="docs", sparse="bm25") as core:
        core.upsert(core_rows())
        dense = {h.id: h.score for h in core.search(embed("cat fish"), k=4)}
        sparse = {h.id: h.score for h in core.sparse_search("cat fish", k=4)}
    store = LlamaStore(uri=lite_uri, collection_name="docs", enable_sparse=True)
    for alpha, legs in ((1.0, dense), (0.0, sparse)):
        q = VectorStoreQuery(
            query_embedding=embed("cat fish"),
            query_str="cat fish",
            similarity_top_k=4,
            mode=VectorStoreQueryMode.HYBRID,
            alpha=alpha,
        )
        res = store.query(q)
        for node_id, score in zip(res.ids, res.similarities, strict=True):
            assert score == pytest.approx(legs.get(node_id, 0.0), abs=1e-4)
    store.close()


def test_weighted_needs_one_weight_per_leg(lite_uri: str) -> None:
    """README: "hybrid search fuses one leg per dense field, then the keyword leg (`Weighted`
    takes one weight per leg)" """
    store = MilvusVectorStore(
        {"body": VocabEmbeddings(), "title": VocabEmbeddings()},
        uri=lite_uri,
        collection_name="multi",
        retrieval_mode="hybrid",
    )
    with store:
        fill(store)
        hits = store.similarity_search_with_relevance_scores(
            "fish", k=2, ranker=Weighted(0.4, 0.3, 0.3)
        )
        assert hits[0][0].id == "b" and all(0 <= s <= 1 for _, s in hits)
        with pytest.raises(ConfigError):
            store.similarity_search("fish", k=2, ranker=Weighted(0.5, 0.5))


def test_llama_filter_only_query(lite_uri: str) -> None:
    """README: "LlamaIndex: a query with an empty `query_str` and no or an all-zero embedding
    ... returns up to `k` rows matching the filter ... (unranked, each with relevance 1.0)" """
    from llama_index.core.vector_stores import MetadataFilter, MetadataFilters, VectorStoreQuery

    from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

    with lc_store(lite_uri, collection_name="docs") as lc:
        fill(lc)
    store = LlamaStore(uri=lite_uri, collection_name="docs")
    flt = MetadataFilters(filters=[MetadataFilter(key="year", value=2022)])
    for emb in (None, [0.0] * DIM):
        res = store.query(
            VectorStoreQuery(query_embedding=emb, query_str="", similarity_top_k=5, filters=flt)
        )
        assert list(res.ids) == ["b"] and list(res.similarities) == [1.0]
    store.close()


def test_index_flat_and_bounded_consistency(lite_uri: str) -> None:
    """README: "Pass `index="FLAT"` for exact search at any size" and "pass
    `consistency_level="Bounded"`" """
    with lc_store(lite_uri, index="FLAT", consistency_level="Bounded") as store:
        fill(store)
        assert store.store.stats().indexes[0]["index_type"] == "FLAT"
        assert store.similarity_search("fish", k=1)[0].id == "b"


def test_explicit_radius_accepted(lite_uri: str) -> None:
    """README: "explicit `radius` / `range_filter` in `search_params` are accepted and
    checked per metric." (COSINE: radius is a lower similarity bound)."""
    with core_store(lite_uri) as store:
        store.upsert(core_rows())
        hits = store.search(embed("cat"), k=4, search_params={"radius": 0.5, "range_filter": 1})
        assert {h.id for h in hits} == {"a", "b"}
        with pytest.raises(ConfigError):
            store.search(embed("cat"), k=4, search_params={"radius": 0.9, "range_filter": 0.1})


def test_tenant_that_utf8_cannot_encode(lite_uri: str) -> None:
    """README: "so is a tenant UTF-8 cannot encode (`ConfigError`)" """
    with pytest.raises(ConfigError):
        tenant_store(lite_uri, tenant="a\ud800")


def test_partition_key_collection_takes_no_manual_partitions(lite_uri: str) -> None:
    """README: "a partition-key collection takes no partitions made by hand (`ConfigError`
    ...)" and "`num_partitions` | unsupported (always 16)" on Lite 3.2.2."""
    with tenant_store(lite_uri) as store:
        store.add_documents([Document("cat", id="a1")], tenant="A")
        with pytest.raises(ConfigError):
            store.store.create_partition("p1")
    store = tenant_store(lite_uri, collection_name="np", num_partitions=8)
    with store, pytest.raises(UnsupportedByServerError):
        store.add_documents([Document("cat", id="a1")], tenant="A")


def test_check_write_runs_partition_checks(lite_uri: str) -> None:
    """README: "`check_write(records, partition_name=..., tenant=...)` runs these checks" """
    with core_store(lite_uri) as store:
        store.upsert(core_rows())
        store.create_partition("p1")
        with pytest.raises(PartitionMismatchError):
            store.check_write(core_rows()[:1], partition_name="p1")
        with pytest.raises(InvalidInputError):
            store.check_write(core_rows()[:1], partition_name="nope")


def test_partition_names_on_count_and_delete(lite_uri: str) -> None:
    """README: "`partition_names=` on searches, reads, counts and deletes" (LlamaIndex:
    `milvus_partition_names`)."""
    from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

    with lc_store(lite_uri, collection_name="docs") as store:
        fill(store)
        store.store.create_partition("p1")
        store.add_documents([Document("fish", id="p")], partition_name="p1")
        assert store.store.count(partition_names=["p1"]) == 1
        store.delete(filter={"year": {"$exists": False}}, partition_names=["_default"])
        assert store.store.count() == 5
        llama = LlamaStore(uri=lite_uri, collection_name="docs", milvus_partition_names=["p1"])
        assert llama.get_nodes() and {n.node_id for n in llama.get_nodes()} == {"p"}
        llama.close()


def test_dropped_by_someone_else_reads_empty_then_recreated(lite_uri: str) -> None:
    """README: "Dropped by someone else: reads find nothing and the next write recreates
    it." """
    with lc_store(lite_uri) as store, lc_store(lite_uri) as other:
        fill(store)
        other.store.drop()
        assert store.similarity_search("cat", k=2) == []
        fill(store)
        assert store.store.count() == 4


def test_mmap_kept_on_lite(lite_uri: str) -> None:
    """README table: "mmap | server (kept; no effect in memory)" on Lite 3.2.2; properties
    are "shown by `stats()`"."""
    with lc_store(lite_uri, collection_properties={"mmap": True}) as store:
        fill(store)
        assert store.store.stats().properties.get("mmap") in (True, "true", "True")


def test_llama_sparse_only_store(lite_uri: str) -> None:
    """README: "LlamaIndex `enable_dense=False` ...: keyword search and filter-only retrieval
    work" """
    from llama_index.core.schema import TextNode
    from llama_index.core.vector_stores.types import VectorStoreQuery, VectorStoreQueryMode

    from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

    store = LlamaStore(uri=lite_uri, collection_name="kw", enable_dense=False)
    store.add([TextNode(id_=i, text=t, metadata=m) for i, t, m in ROWS])
    q = VectorStoreQuery(query_str="fish", similarity_top_k=1, mode=VectorStoreQueryMode.SPARSE)
    assert list(store.query(q).ids) == ["b"]
    store.close()


def test_backslash_in_like_pattern(lite_uri: str) -> None:
    """README: "a backslash is a plain character ... a pattern holding a backslash and a
    wildcard runs only on Milvus Lite 3's JSON metadata and raises `FilterError` elsewhere;
    without a wildcard it is an equality and runs everywhere." """
    rows = [("a", "cat", {"p": "a\\b", "q": "a\\b"}), ("b", "cat", {"p": "ab", "q": "ab"})]
    with lc_store(lite_uri, metadata_fields={"q": "VARCHAR"}, infer_metadata_fields=False) as s:
        fill(s, rows)
        assert where(s, {"p": {"$like": "a\\%"}}) == {"a"}
        assert where(s, {"q": {"$like": "a\\b"}}) == {"a"}
        with pytest.raises(FilterError):
            where(s, {"q": {"$like": "a\\%"}})
