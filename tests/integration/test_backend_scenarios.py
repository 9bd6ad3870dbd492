"""The shared integration scenarios, run on Milvus Lite and on the Milvus 2.3.5 server.

Every test takes ``backend_uri`` (a fresh Lite file, then the session server), so each
scenario runs twice with the same assertions: the core store, the LangChain adapter, the
LlamaIndex adapter, reads across adapters, the async variants, and read-after-write.
Where the backends differ in what they can do, the expectation is derived from
``store.capabilities`` (never from which backend it is): a missing feature must raise
its typed error (:class:`UnsupportedByServerError`, :class:`FilterError`,
:class:`InvalidInputError`) instead of answering differently.

Server collections outlive a test, so each test uses its own ``collection_name`` prefix
and drops every collection under it at the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.documents import Document
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores.types import (
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
)
from tests.support.faces import DIM, embed
from tests.support.faces import VocabEmbeddings as KeywordEmbeddings

from milvus_plugins.core import (
    AsyncMilvusStore,
    CollectionSpec,
    ConnectionConfig,
    FilterError,
    InvalidInputError,
    MilvusStore,
    Record,
    SchemaMismatchError,
    UnsupportedByServerError,
    and_,
    contains,
    eq,
    exists,
    gt,
    gte,
    in_,
    is_empty,
    like,
    lt,
    ne,
    not_,
    or_,
    text_contains,
)
from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

DECLARED = {"year": "INT64", "genre": "VARCHAR"}


# id, text, metadata: "year" and "genre" are declared (typed columns) where a test says so;
# "kind", "tags", "rating" always live in the metadata JSON.
CORPUS: list[tuple[str, str, dict[str, Any]]] = [
    ("cat", "the cat sat on the mat", {"kind": "animal", "year": 2001, "genre": "pets"}),
    ("dog", "a dog chased the cat", {"kind": "animal", "year": 2005, "genre": "pets"}),
    ("car", "a fast car on the road", {"kind": "vehicle", "year": 2010, "genre": "road"}),
    ("train", "the train left the station", {"kind": "vehicle", "year": 2015, "genre": "rail"}),
    ("milvus", "milvus stores vector data", {"kind": "tech", "year": 2019, "genre": "db"}),
    ("python", "python code for vector search", {"kind": "tech", "year": 2021, "genre": "code"}),
]
EXTRA_JSON: dict[str, dict[str, Any]] = {
    "cat": {"tags": ["small", "fur"], "rating": 4.5},
    "dog": {"tags": ["fur"], "rating": 3.0},
    "car": {"tags": ["fast"], "rating": 4.0},
    "train": {"tags": [], "rating": 2.5, "note": 'it\'s "quoted" \\ here'},
    "milvus": {"tags": ["db", "fast"], "rating": 5.0},
    "python": {"rating": 4.8, "note": ""},
}
ALL_IDS = {i for i, _, _ in CORPUS}


def corpus_records() -> list[Record]:
    return [
        Record(
            id=i,
            text=text,
            vector=embed(text),
            metadata={**meta, **EXTRA_JSON[i]},
            doc_id=f"doc-{meta['kind']}",
        )
        for i, text, meta in CORPUS
    ]


def core_store(uri: str, name: str, **spec: Any) -> MilvusStore:
    options = {k: spec.pop(k) for k in ("drop_old", "open_mode") if k in spec}
    return MilvusStore(
        CollectionSpec(name=name, **spec), connection=ConnectionConfig(uri=uri), **options
    )


def ids(items: Any) -> set[str]:
    return {item.id for item in items}


@pytest.fixture
def loaded(uri: str, collection_name: str) -> Iterator[MilvusStore]:
    """A core store holding the corpus, with ``year``/``genre`` declared."""
    store = core_store(uri, collection_name, metadata_fields=DECLARED)
    store.upsert(corpus_records())
    yield store
    store.close()


# -- core: collection lifecycle ------------------------------------------------------------


def test_collection_is_created_on_first_write_and_validated(uri: str, collection_name: str) -> None:
    store = core_store(uri, collection_name, metadata_fields=DECLARED)
    assert not store.exists()
    assert store.ensure_collection() is False  # no dim yet: nothing is created
    assert collection_name not in store.list_collections()
    store.upsert(corpus_records())
    assert store.exists()
    assert collection_name in store.list_collections()
    assert store.spec.dim == DIM
    assert store.count() == len(CORPUS)
    store.close()


def test_reopened_collection_is_checked_against_the_spec(
    loaded: MilvusStore, uri: str, collection_name: str
) -> None:
    again = core_store(uri, collection_name, metadata_fields=DECLARED)
    assert again.exists()
    assert again.spec.dim == DIM  # filled from the existing collection
    assert again.get(["cat"])[0].metadata["year"] == 2001

    wrong_dim = core_store(uri, collection_name, dim=DIM + 1)
    with pytest.raises(SchemaMismatchError, match=f"dim={DIM}"):
        wrong_dim.ensure_collection()
    wrong_metric = core_store(uri, collection_name, metric="L2")
    with pytest.raises(SchemaMismatchError, match="metric"):
        wrong_metric.ensure_collection()
    wrong_field = core_store(uri, collection_name, metadata_fields={"pages": "INT64"})
    with pytest.raises(SchemaMismatchError, match="pages"):
        wrong_field.ensure_collection()

    adopted = core_store(uri, collection_name, open_mode="adopt")
    assert adopted.exists()
    assert adopted.spec.dim == DIM
    assert {f.name for f in adopted.spec.declared_fields} == set(DECLARED)
    assert adopted.count(gt("year", 2010)) == 3
    for store in (again, wrong_dim, wrong_metric, wrong_field, adopted):
        store.close()


def test_drop_old_recreates_the_collection_empty(
    loaded: MilvusStore, uri: str, collection_name: str
) -> None:
    fresh = core_store(uri, collection_name, metadata_fields=DECLARED, drop_old=True, dim=DIM)
    assert fresh.ensure_collection()
    assert fresh.count() == 0
    fresh.close()


# -- core: writes and reads ----------------------------------------------------------------


def test_upsert_is_idempotent_and_updates_in_place(loaded: MilvusStore) -> None:
    loaded.upsert(corpus_records())
    assert loaded.count() == len(CORPUS)
    changed = corpus_records()[0]
    changed.text = "the cat moved"
    changed.metadata = {**changed.metadata, "rating": 1.0, "kind": "pet"}
    loaded.upsert([changed])
    assert loaded.count() == len(CORPUS)
    (back,) = loaded.get(["cat"])
    assert back.text == "the cat moved"
    assert back.metadata["kind"] == "pet" and back.metadata["rating"] == 1.0
    assert loaded.count(eq("kind", "animal")) == 1


def test_records_come_back_exactly_as_written(loaded: MilvusStore) -> None:
    written = {r.id: r for r in corpus_records()}
    for record in loaded.get(list(written), include_vectors=True):
        source = written[record.id]
        assert record.text == source.text
        assert record.metadata == source.metadata
        assert record.doc_id == source.doc_id
        assert record.vector == pytest.approx(source.vector)


def test_get_query_and_count_by_ids_and_filters(loaded: MilvusStore) -> None:
    assert [r.id for r in loaded.get(["train", "missing", "cat"])] == ["train", "cat"]
    assert loaded.get([]) == []
    assert ids(loaded.query()) == ALL_IDS
    assert len(loaded.query(limit=2)) == 2
    cases = [
        (eq("kind", "vehicle"), {"car", "train"}),  # JSON key
        (gte("year", 2015), {"train", "milvus", "python"}),  # declared INT64
        (eq("genre", "pets"), {"cat", "dog"}),  # declared VARCHAR
        (in_("genre", ["db", "code"]), {"milvus", "python"}),
        (and_(eq("kind", "tech"), lt("rating", 4.9)), {"python"}),
        (or_(eq("kind", "animal"), gt("rating", 4.9)), {"cat", "dog", "milvus"}),
        (contains("tags", "fast"), {"car", "milvus"}),
        # Negations of declared columns: written without `not` where the engine lacks it.
        (ne("genre", "pets"), {"car", "train", "milvus", "python"}),
        (not_(lt("year", 2010)), {"car", "train", "milvus", "python"}),
        (not_(in_("genre", ["db", "code", "rail"])), {"cat", "dog", "car"}),
        (eq("note", 'it\'s "quoted" \\ here'), {"train"}),
        (like("genre", "r%"), {"car", "train"}),
        (like("kind", "veh%"), {"car", "train"}),
        (and_(), ALL_IDS),
        (or_(), set()),
        (in_("kind", []), set()),
    ]
    for node, expected in cases:
        assert ids(loaded.query(node)) == expected, (node, loaded.expression(node))
        assert loaded.count(node) == len(expected), node
    # `ne` on a JSON key runs everywhere (Milvus' own `!=` where there is no `not`);
    # `exists` needs the engine's `exists`: without it the engine must refuse.
    dialect = loaded.capabilities.dialect
    assert ids(loaded.query(ne("kind", "animal"))) == {"car", "train", "milvus", "python"}
    json_negations = [
        (exists("note"), {"train", "python"}),
        (not_(exists("tags")), {"python"}),
    ]
    for node, expected in json_negations:
        if dialect.json_exists and dialect.not_expr:
            assert ids(loaded.query(node)) == expected, (node, loaded.expression(node))
        else:
            with pytest.raises(FilterError, match="this Milvus"):
                loaded.query(node)


def test_delete_by_ids_and_by_filter(loaded: MilvusStore) -> None:
    assert loaded.delete(ids=["cat", "dog"]) == 2
    assert loaded.get(["cat", "dog"]) == []
    assert loaded.count() == len(CORPUS) - 2
    assert loaded.delete(filter=eq("kind", "vehicle")) == 2
    assert ids(loaded.query()) == {"milvus", "python"}
    assert loaded.delete(ids=["milvus", "python"], filter=gt("year", 2020)) == 1
    assert ids(loaded.query()) == {"milvus"}
    assert loaded.delete(ids=[]) == 0


# -- core: search --------------------------------------------------------------------------


def test_dense_search_filters_on_declared_fields_and_json_keys(loaded: MilvusStore) -> None:
    hits = loaded.search(embed("cat"), k=3)
    assert hits[0].id == "cat"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert all(0.0 <= h.score <= 1.0 for h in hits)

    assert ids(loaded.search(embed("cat"), k=10, filter=eq("kind", "vehicle"))) == {"car", "train"}
    assert ids(loaded.search(embed("cat"), k=10, filter=gt("year", 2012))) == {
        "train",
        "milvus",
        "python",
    }
    mixed = and_(eq("genre", "pets"), gt("rating", 3.5))
    assert [h.id for h in loaded.search(embed("dog"), k=10, filter=mixed)] == ["cat"]
    assert loaded.search(embed("cat"), k=10, filter=eq("kind", "nothing")) == []
    (many,) = loaded.search_many([embed("train")], k=1)
    assert many[0].id == "train"


@pytest.mark.parametrize("metric", ["COSINE", "IP", "L2"])
def test_relevance_scores_are_in_the_unit_interval(
    uri: str, collection_name: str, metric: str
) -> None:
    store = core_store(uri, collection_name, metric=metric)
    store.upsert(corpus_records())
    hits = store.search(embed("cat dog cat"), k=len(CORPUS))
    assert len(hits) == len(CORPUS)
    assert all(0.0 <= h.score <= 1.0 for h in hits), [(h.id, h.score) for h in hits]
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert hits[0].id in {"cat", "dog"}
    store.close()


def test_mmr_search_prefers_diverse_hits(uri: str, collection_name: str) -> None:
    store = core_store(uri, collection_name)
    twins = [Record(id=f"cat{i}", text="the cat", vector=embed("cat")) for i in range(3)]
    store.upsert([*corpus_records(), *twins])
    plain = [h.id for h in store.search(embed("cat"), k=3)]
    assert set(plain) <= {"cat", "cat0", "cat1", "cat2"}
    diverse = store.mmr_search(embed("cat"), k=3, fetch_k=8, lambda_mult=0.3)
    assert len(diverse) == 3 and len(ids(diverse)) == 3
    assert diverse[0].id in {"cat", "cat0", "cat1", "cat2"}
    assert len(ids(diverse) & {"cat0", "cat1", "cat2"}) <= 1  # no three near-copies
    assert all(0.0 <= h.score <= 1.0 for h in diverse)
    filtered = store.mmr_search(embed("cat"), k=2, fetch_k=6, filter=eq("kind", "tech"))
    assert ids(filtered) == {"milvus", "python"}
    store.close()


# -- core: what a backend cannot do -------------------------------------------------------


def test_filters_the_backend_cannot_express_raise_filter_error(loaded: MilvusStore) -> None:
    dialect = loaded.capabilities.dialect
    infix = [
        (like("kind", "%icle"), {"car", "train"}),
        (text_contains("note", "quoted"), {"train"}),
        (like("genre", "_ets"), {"cat", "dog"}),
    ]
    for node, expected in infix:
        if dialect.like_infix:
            assert ids(loaded.query(node)) == expected, node
        else:
            with pytest.raises(FilterError, match="prefix"):
                loaded.query(node)
    empties = [
        (is_empty("tags"), {"train", "python"}),
        (not_(contains("tags", "fur")), {"car", "train", "milvus", "python"}),
    ]
    for node, expected in empties:
        if dialect.empty_lists:
            assert ids(loaded.query(node)) == expected, node
        else:
            with pytest.raises(FilterError, match="this Milvus"):
                loaded.query(node)
    # Declared columns never need the JSON list test: these work everywhere.
    assert ids(loaded.query(is_empty("genre"))) == set()
    assert ids(loaded.query(not_(exists("year")))) == set()


def test_partitions_and_compaction_follow_the_capabilities(
    loaded: MilvusStore, uri: str, collection_name: str
) -> None:
    caps = loaded.capabilities
    if caps.partitions:
        loaded.create_partition("p1")
        assert "p1" in loaded.list_partitions()
        loaded.drop_partition("p1")
        assert "p1" not in loaded.list_partitions()
    else:
        with pytest.raises(UnsupportedByServerError, match="partitions"):
            loaded.create_partition("p1")
        keyed = core_store(
            uri, f"{collection_name}_pk", metadata_fields=DECLARED, partition_key="genre", dim=DIM
        )
        with pytest.raises(UnsupportedByServerError, match="partition key"):
            keyed.ensure_collection()
        assert f"{collection_name}_pk" not in loaded.list_collections()  # nothing created
        keyed.close()
    if caps.compaction:
        assert isinstance(loaded.compact(), int)
    else:
        with pytest.raises(UnsupportedByServerError, match="compaction"):
            loaded.compact()
    stats = loaded.stats()
    assert stats.row_count == len(CORPUS)
    assert stats.server_version == caps.version


def test_missing_declared_values_need_nullable_fields(uri: str, collection_name: str) -> None:
    store = core_store(uri, collection_name, metadata_fields=DECLARED)
    store.upsert(corpus_records())
    partial = Record(id="bare", text="no year here", vector=embed("bird"), metadata={"kind": "x"})
    if store.capabilities.nullable:
        store.upsert([partial])
        (back,) = store.get(["bare"])
        assert back.metadata == {"kind": "x"}
        assert ids(store.query(not_(exists("year")))) == {"bare"}
    else:
        with pytest.raises(InvalidInputError, match="nullable"):
            store.upsert([partial])
        assert store.get(["bare"]) == []
    assert store.count() == len(CORPUS) + (1 if store.capabilities.nullable else 0)
    store.close()


def test_keyword_search_follows_the_capabilities(uri: str, collection_name: str) -> None:
    store = core_store(uri, collection_name, sparse="bm25")
    probe = core_store(uri, f"{collection_name}_probe")
    caps = probe.capabilities
    if caps.sparse and caps.bm25_function:
        store.upsert(corpus_records())
        assert store.sparse_search("train station", k=1)[0].id == "train"
        hybrid = store.hybrid_search(embed("cat"), "cat mat", k=2)
        assert hybrid[0].id == "cat" and all(0.0 <= h.score <= 1.0 for h in hybrid)
    else:
        with pytest.raises(UnsupportedByServerError) as info:
            store.upsert(corpus_records())
        assert info.value.minimum_version in ("2.4.0", "2.5.0")
        assert collection_name not in probe.list_collections()  # nothing was created
    store.close()
    probe.close()


async def test_async_core_store_round_trip(uri: str, collection_name: str) -> None:
    store = AsyncMilvusStore(core_store(uri, collection_name, metadata_fields=DECLARED))
    assert await store.upsert(corpus_records()) == [i for i, _, _ in CORPUS]
    assert [r.id for r in await store.get(["dog", "nope", "cat"])] == ["dog", "cat"]
    assert await store.count(eq("kind", "animal")) == 2
    assert ids(await store.query(gt("year", 2012), limit=10)) == {"train", "milvus", "python"}
    hits = await store.search(embed("train"), k=2, filter=eq("kind", "vehicle"))
    assert [h.id for h in hits] == ["train", "car"]
    assert all(0.0 <= h.score <= 1.0 for h in hits)
    diverse = await store.mmr_search(embed("cat"), k=2, fetch_k=6)
    assert len(ids(diverse)) == 2
    assert await store.delete(ids=["train"]) == 1
    assert await store.delete(filter=eq("genre", "pets")) == 2
    assert await store.count() == len(CORPUS) - 3
    await store.close()
    store.sync.close()


# -- LangChain ------------------------------------------------------------------------------


def langchain(uri: str, name: str, **kwargs: Any) -> LangChainStore:
    return LangChainStore(KeywordEmbeddings(), uri=uri, collection_name=name, **kwargs)


def documents() -> list[Document]:
    return [
        Document(id=i, page_content=text, metadata={**meta, **EXTRA_JSON[i]})
        for i, text, meta in CORPUS
    ]


def test_langchain_add_get_search_and_delete(uri: str, collection_name: str) -> None:
    store = langchain(uri, collection_name, metadata_fields={"year": "INT64"})
    assert store.add_documents(documents()) == [i for i, _, _ in CORPUS]
    bird = {"kind": "animal", "year": 1999}  # "year" is a column: 2.3 needs a value
    assert store.add_texts(["a bird on a plane"], [bird], ids=["bird"]) == ["bird"]
    got = store.get_by_ids(["dog", "nope", "bird"])
    assert [d.id for d in got] == ["dog", "bird"]
    assert got[0].page_content == "a dog chased the cat"
    assert got[0].metadata == {**CORPUS[1][2], **EXTRA_JSON["dog"]}

    assert store.similarity_search("cat", k=1)[0].id == "cat"
    found = store.similarity_search("cat", k=10, filter={"kind": "vehicle"})
    assert {d.id for d in found} == {"car", "train"}
    newer = store.similarity_search("cat", k=10, filter={"year": {"$gte": 2015}, "kind": "tech"})
    assert {d.id for d in newer} == {"milvus", "python"}
    either = store.similarity_search(
        "cat", k=10, filter={"$or": [{"kind": "animal"}, {"rating": {"$gt": 4.9}}]}
    )
    assert {d.id for d in either} == {"cat", "dog", "bird", "milvus"}
    scored = store.similarity_search_with_relevance_scores("dog", k=3)
    assert scored[0][0].id == "dog" and all(0.0 <= s <= 1.0 for _, s in scored)
    mmr = store.max_marginal_relevance_search("cat", k=2, fetch_k=6)
    assert len({d.id for d in mmr}) == 2

    assert store.delete(["bird"]) is True
    assert store.get_by_ids(["bird"]) == []
    assert store.delete(filter={"kind": "vehicle"}) is True
    assert {d.id for d in store.similarity_search("car", k=10)} == ALL_IDS - {"car", "train"}
    assert store.delete() is True  # LangChain: no ids means delete everything
    assert store.similarity_search("cat", k=10) == []
    store.close()


def test_langchain_hybrid_mode_follows_the_capabilities(uri: str, collection_name: str) -> None:
    store = langchain(uri, collection_name, retrieval_mode="hybrid")
    caps = store.store.capabilities
    if caps.sparse and caps.bm25_function and caps.hybrid_search:
        store.add_documents(documents())
        assert store.similarity_search("train station", k=1)[0].id == "train"
    else:
        with pytest.raises(UnsupportedByServerError, match=r"2\.[45]"):
            store.add_documents(documents())
        assert collection_name not in store.store.list_collections()
    dense = langchain(uri, f"{collection_name}_dense")
    dense.add_documents(documents())
    assert dense.similarity_search("train station", k=1)[0].id == "train"
    store.close()
    dense.close()


async def test_langchain_async_round_trip(uri: str, collection_name: str) -> None:
    store = langchain(uri, collection_name)
    assert await store.aadd_documents(documents()) == [i for i, _, _ in CORPUS]
    assert [d.id for d in await store.aget_by_ids(["car", "cat"])] == ["car", "cat"]
    hits = await store.asimilarity_search("train", k=10, filter={"kind": "vehicle"})
    assert hits[0].id == "train" and {d.id for d in hits} == {"car", "train"}
    scored = await store.asimilarity_search_with_relevance_scores("milvus vector", k=2)
    assert scored[0][0].id == "milvus" and all(0.0 <= s <= 1.0 for _, s in scored)
    assert await store.adelete(["car"]) is True
    assert await store.aget_by_ids(["car"]) == []
    await store.aclose()


# -- LlamaIndex -----------------------------------------------------------------------------


def nodes() -> list[TextNode]:
    return [
        TextNode(
            id_=i,
            text=text,
            embedding=embed(text),
            metadata={**meta, **EXTRA_JSON[i]},
            relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=f"doc-{meta['kind']}")},
        )
        for i, text, meta in CORPUS
    ]


def llama(uri: str, name: str, **kwargs: Any) -> LlamaStore:
    return LlamaStore(uri=uri, collection_name=name, **kwargs)


def vector_query(text: str, k: int = 10, **kwargs: Any) -> VectorStoreQuery:
    return VectorStoreQuery(query_embedding=embed(text), similarity_top_k=k, **kwargs)


def kind_is(value: str) -> MetadataFilters:
    return MetadataFilters(filters=[MetadataFilter(key="kind", value=value)])


def test_llama_index_add_query_get_and_delete(uri: str, collection_name: str) -> None:
    store = llama(uri, collection_name, metadata_fields={"year": "INT64"})
    assert store.add(nodes()) == [i for i, _, _ in CORPUS]
    result = store.query(vector_query("cat", k=2))
    assert result.ids is not None and result.ids[0] == "cat"
    assert result.similarities is not None and all(0.0 <= s <= 1.0 for s in result.similarities)
    filtered = store.query(vector_query("cat", filters=kind_is("vehicle")))
    assert set(filtered.ids or []) == {"car", "train"}
    newer = MetadataFilters(
        filters=[MetadataFilter(key="year", value=2015, operator=FilterOperator.GTE)]
    )
    assert set(store.query(vector_query("cat", filters=newer)).ids or []) == {
        "train",
        "milvus",
        "python",
    }
    mmr = store.query(vector_query("cat", k=2, mode=VectorStoreQueryMode.MMR))
    assert len(set(mmr.ids or [])) == 2

    got = store.get_nodes(node_ids=["dog", "nope", "cat"])
    assert [n.node_id for n in got] == ["dog", "cat"]
    assert got[0].metadata == {**CORPUS[1][2], **EXTRA_JSON["dog"]}
    assert got[0].ref_doc_id == "doc-animal"
    assert {n.node_id for n in store.get_nodes(filters=kind_is("tech"))} == {"milvus", "python"}

    store.delete("doc-animal")
    assert store.get_nodes(node_ids=["cat", "dog"]) == []
    store.delete_nodes(node_ids=["car"])
    assert {n.node_id for n in store.get_nodes()} == {"train", "milvus", "python"}


def test_llama_index_sparse_follows_the_capabilities(uri: str, collection_name: str) -> None:
    store = llama(uri, collection_name, enable_sparse=True)
    caps = store.store.capabilities
    if caps.sparse and caps.bm25_function:
        store.add(nodes())
        query = VectorStoreQuery(
            query_str="train station", similarity_top_k=1, mode=VectorStoreQueryMode.TEXT_SEARCH
        )
        assert store.query(query).ids == ["train"]
    else:
        with pytest.raises(UnsupportedByServerError, match=r"2\.[45]"):
            store.add(nodes())
        assert collection_name not in store.store.list_collections()


async def test_llama_index_async_round_trip(uri: str, collection_name: str) -> None:
    store = llama(uri, collection_name)
    assert await store.async_add(nodes()) == [i for i, _, _ in CORPUS]
    result = await store.aquery(vector_query("train", filters=kind_is("vehicle")))
    assert (result.ids or [])[0] == "train" and set(result.ids or []) == {"car", "train"}
    got = await store.aget_nodes(node_ids=["python"])
    assert [n.node_id for n in got] == ["python"]
    await store.adelete("doc-tech")
    assert await store.aget_nodes(node_ids=["milvus", "python"]) == []
    assert {n.node_id for n in await store.aget_nodes()} == {"cat", "dog", "car", "train"}


# -- across adapters -------------------------------------------------------------------------


def test_langchain_writes_and_llama_index_reads(uri: str, collection_name: str) -> None:
    writer = langchain(uri, collection_name, metadata_fields={"year": "INT64"})
    writer.add_documents(documents())
    reader = llama(uri, collection_name, open_mode="adopt")
    (node,) = reader.get_nodes(node_ids=["train"])
    assert node.get_content() == "the train left the station"
    assert node.metadata == {**CORPUS[3][2], **EXTRA_JSON["train"]}
    result = reader.query(vector_query("train", k=1))
    assert result.ids == ["train"]
    newer = MetadataFilters(
        filters=[MetadataFilter(key="year", value=2019, operator=FilterOperator.GTE)]
    )
    assert set(reader.query(vector_query("cat", filters=newer)).ids or []) == {"milvus", "python"}
    writer.close()


def test_llama_index_writes_and_langchain_reads(uri: str, collection_name: str) -> None:
    writer = llama(uri, collection_name)
    writer.add(nodes())
    reader = langchain(uri, collection_name)
    (doc,) = reader.get_by_ids(["milvus"])
    assert doc.page_content == "milvus stores vector data"
    assert doc.metadata == {**CORPUS[4][2], **EXTRA_JSON["milvus"]}
    assert reader.similarity_search("milvus vector", k=1)[0].id == "milvus"
    found = reader.similarity_search("cat", k=10, filter={"kind": "animal"})
    assert {d.id for d in found} == {"cat", "dog"}
    reader.delete(["cat"])
    assert writer.get_nodes(node_ids=["cat"]) == []
    reader.close()


# -- read-after-write -------------------------------------------------------------------------


def test_reads_see_writes_at_once_through_both_adapters(uri: str, collection_name: str) -> None:
    chain = langchain(uri, collection_name)
    index = llama(uri, collection_name)
    stored: set[str] = set()
    for round_ in range(4):
        lc_id, li_id = f"lc{round_}", f"li{round_}"
        chain.add_texts([f"python vector round {round_}"], [{"round": round_}], ids=[lc_id])
        stored.add(lc_id)
        assert [d.id for d in chain.get_by_ids([lc_id])] == [lc_id]
        hits = chain.similarity_search("python", k=1, filter={"round": round_})
        assert [d.id for d in hits] == [lc_id]
        assert chain.store.count() == len(stored)

        node = TextNode(id_=li_id, text=f"bird plane {round_}", embedding=embed("bird plane"))
        node.metadata = {"round": round_}
        index.add([node])
        stored.add(li_id)
        assert [n.node_id for n in index.get_nodes(node_ids=[li_id])] == [li_id]
        filters = MetadataFilters(filters=[MetadataFilter(key="round", value=round_)])
        assert set(index.query(vector_query("bird", filters=filters)).ids or []) == {lc_id, li_id}
        assert index.store.count() == len(stored)

        chain.delete([lc_id])  # a delete is seen at once too
        stored.discard(lc_id)
        assert chain.get_by_ids([lc_id]) == []
        assert {n.node_id for n in index.get_nodes()} == stored
    chain.close()
