"""MilvusVectorStore on Milvus Lite: node round trip, query modes, deletes, clear, async."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest
from llama_index.core.schema import (
    BaseNode,
    Document,
    IndexNode,
    NodeRelationship,
    RelatedNodeInfo,
    TextNode,
)
from llama_index.core.vector_stores.types import (
    BasePydanticVectorStore,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
    VectorStoreQueryResult,
)

from milvus_plugins.core import BM25Encoder, HnswIndex, Record, SearchKind
from milvus_plugins.core.errors import (
    ConfigError,
    InvalidInputError,
    SchemaMismatchError,
)
from milvus_plugins.llama_index import RRF, MilvusVectorStore, Weighted
from milvus_plugins.llama_index.vector_store import hybrid_ranker, plan_query

# -- data ---------------------------------------------------------------------------------

# Dense vectors point one way, words another: keyword and hybrid modes must differ.
DOCS: dict[str, tuple[str, list[float], str]] = {
    "n_zebra": ("zebras graze on the savanna", [1.0, 0.0, 0.0, 0.0], "doc_animals"),
    "n_lion": ("lions hunt at night", [0.9, 0.1, 0.0, 0.0], "doc_animals"),
    "n_rocket": ("rockets reach orbit", [0.0, 1.0, 0.0, 0.0], "doc_space"),
    "n_moon": ("the moon orbits the earth", [0.0, 0.9, 0.1, 0.0], "doc_space"),
    "n_bread": ("bread needs flour and zebras", [0.2, 0.0, 1.0, 0.0], "doc_food"),
}


def text_node(node_id: str, text: str, vector: list[float], doc: str, **metadata: Any) -> TextNode:
    return TextNode(
        id_=node_id,
        text=text,
        embedding=vector,
        metadata=metadata,
        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=doc)},
    )


def corpus() -> list[TextNode]:
    return [
        text_node(node_id, text, vector, doc, topic=doc.removeprefix("doc_"))
        for node_id, (text, vector, doc) in DOCS.items()
    ]


@pytest.fixture
def store(lite_uri: str) -> MilvusVectorStore:
    vector_store = MilvusVectorStore(uri=lite_uri, collection_name="nodes", enable_sparse=True)
    vector_store.add(corpus())
    return vector_store


def dense(vector: list[float], k: int = 2, **fields: Any) -> VectorStoreQuery:
    return VectorStoreQuery(query_embedding=vector, similarity_top_k=k, **fields)


def first(result: VectorStoreQueryResult) -> str | None:
    return result.ids[0] if result.ids else None


def assert_scores(similarities: list[float] | None) -> None:
    assert similarities is not None
    assert all(0.0 <= s <= 1.0 for s in similarities)
    assert similarities == sorted(similarities, reverse=True)


# -- construction -------------------------------------------------------------------------


def test_store_is_a_pydantic_llama_index_vector_store(lite_uri: str) -> None:
    store = MilvusVectorStore(uri=lite_uri, collection_name="c", dim=4)
    assert isinstance(store, BasePydanticVectorStore)
    assert store.stores_text is True
    assert store.is_embedding_query is True
    assert store.collection_name == "c"
    assert store.dim == 4
    assert MilvusVectorStore.class_name() == "MilvusVectorStore"


def test_constructor_does_no_io(tmp_path: Any) -> None:
    uri = str(tmp_path / "never.db")
    MilvusVectorStore(uri=uri, collection_name="c", dim=4)
    assert not (tmp_path / "never.db").exists()


def test_token_is_not_exposed(lite_uri: str) -> None:
    store = MilvusVectorStore(uri=lite_uri, token="user:s3cret", collection_name="c")
    assert "s3cret" not in repr(store)
    assert "s3cret" not in str(store.model_dump())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"collection_name": "bad name"}, "collection_name"),
        ({"dim": 0}, "dim"),
        ({"similarity_metric": "COSIN"}, "metric"),
        ({"enable_sparse": False, "sparse": "bm25"}, "contradicts"),
        ({"sparse": "client"}, "encoder"),
        ({"sparse": 3}, "SparseEncoder"),
        ({"ranker": "rrf"}, "ranker"),
    ],
)
def test_bad_settings_raise_config_error(
    lite_uri: str, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        MilvusVectorStore(uri=lite_uri, **kwargs)


def test_uri_defaults_to_milvus_uri_env(monkeypatch: pytest.MonkeyPatch, lite_uri: str) -> None:
    monkeypatch.setenv("MILVUS_URI", lite_uri)
    assert MilvusVectorStore(collection_name="c").uri == lite_uri


def test_client_is_the_pymilvus_client(lite_uri: str) -> None:
    store = MilvusVectorStore(uri=lite_uri, collection_name="c")
    assert type(store.client).__name__ == "MilvusClient"
    assert store.client is store.store.client


# -- node round trip ----------------------------------------------------------------------


def rich_node() -> TextNode:
    return TextNode(
        id_="node-1",
        text="Milvus stores vectors.\nIt also filters metadata.",
        embedding=[0.1, 0.2, 0.3, 0.4],
        metadata={
            "author": "Ada",
            "year": 2024,
            "score": 0.75,
            "tags": ["db", "vectors"],
            "nested": {"a": [1, 2], "b": None},
            "none": None,
        },
        excluded_embed_metadata_keys=["year"],
        excluded_llm_metadata_keys=["score"],
        relationships={
            NodeRelationship.SOURCE: RelatedNodeInfo(
                node_id="doc-1", metadata={"file": "a.txt"}, hash="abc"
            ),
            NodeRelationship.PREVIOUS: RelatedNodeInfo(node_id="node-0"),
            NodeRelationship.NEXT: RelatedNodeInfo(node_id="node-2"),
        },
        start_char_idx=10,
        end_char_idx=58,
        metadata_template="{key}={value}",
        metadata_separator="; ",
        text_template="{metadata_str}\n---\n{content}",
    )


def test_text_node_round_trips_every_field(lite_uri: str) -> None:
    store = MilvusVectorStore(uri=lite_uri, collection_name="c")
    node = rich_node()
    assert store.add([node]) == ["node-1"]
    (back,) = store.get_nodes(node_ids=["node-1"])
    assert isinstance(back, TextNode)
    assert back.node_id == node.node_id
    assert back.text == node.text
    assert back.metadata == node.metadata
    assert back.ref_doc_id == "doc-1"
    assert back.relationships == node.relationships
    assert back.embedding == node.embedding
    assert back.model_dump() == node.model_dump()
    assert back.hash == node.hash


def test_metadata_stays_clean_for_other_readers(lite_uri: str) -> None:
    store = MilvusVectorStore(uri=lite_uri, collection_name="c")
    node = rich_node()
    store.add([node])
    (record,) = store.store.get(["node-1"])
    assert record.metadata == node.metadata
    assert record.doc_id == "doc-1"
    assert record.text == node.text
    assert "relationships" in record.extra["llama_index"]["node"]


def test_document_and_index_node_keep_their_class(lite_uri: str) -> None:
    store = MilvusVectorStore(uri=lite_uri, collection_name="c")
    document = Document(id_="doc", text="a whole document", metadata={"k": 1}, embedding=[1.0, 0])
    index_node = IndexNode(id_="idx", text="points elsewhere", index_id="other", embedding=[0, 1.0])
    store.add([document, index_node])
    back = {n.node_id: n for n in store.get_nodes(node_ids=["doc", "idx"])}
    assert isinstance(back["doc"], Document)
    assert back["doc"].text == "a whole document"
    assert back["doc"].metadata == {"k": 1}
    assert isinstance(back["idx"], IndexNode)
    assert back["idx"].index_id == "other"


def test_metadata_keys_named_like_fields_round_trip(lite_uri: str) -> None:
    store = MilvusVectorStore(uri=lite_uri, collection_name="c")
    node = TextNode(id_="n", text="t", embedding=[1.0, 0.0], metadata={"text": "x", "id": 3})
    store.add([node])
    assert store.get_nodes(node_ids=["n"])[0].metadata == {"text": "x", "id": 3}
    assert store.store.get(["n"])[0].metadata == {}


def test_add_upserts_by_node_id(lite_uri: str) -> None:
    store = MilvusVectorStore(uri=lite_uri, collection_name="c")
    store.add([TextNode(id_="n", text="old", embedding=[1.0, 0.0])])
    store.add([TextNode(id_="n", text="new", embedding=[0.0, 1.0])])
    assert store.store.count() == 1
    assert store.get_nodes(node_ids=["n"])[0].get_content() == "new"


def test_dim_is_inferred_from_the_first_nodes(lite_uri: str) -> None:
    store = MilvusVectorStore(uri=lite_uri, collection_name="c")
    assert store.dim is None
    store.add([TextNode(id_="n", text="t", embedding=[1.0, 0.0, 0.0])])
    assert store.dim == 3
    with pytest.raises(InvalidInputError, match="dimension"):
        store.add([TextNode(id_="m", text="t", embedding=[1.0, 0.0])])


def test_node_without_embedding_is_rejected_before_writing(lite_uri: str) -> None:
    store = MilvusVectorStore(uri=lite_uri, collection_name="c")
    good = TextNode(id_="good", text="t", embedding=[1.0, 0.0])
    with pytest.raises(InvalidInputError, match="embed"):
        store.add([good, TextNode(id_="bad", text="t")])
    assert store.get_nodes(node_ids=["good"]) == []


def test_add_of_nothing_returns_nothing(lite_uri: str) -> None:
    assert MilvusVectorStore(uri=lite_uri, collection_name="c").add([]) == []


def test_unknown_keyword_arguments_are_rejected(store: MilvusVectorStore) -> None:
    with pytest.raises(InvalidInputError, match="batch_sise"):
        store.add([], batch_sise=3)
    with pytest.raises(InvalidInputError, match="mmr_treshold"):
        store.query(dense([1.0, 0, 0, 0]), mmr_treshold=0.2)


def test_records_from_another_framework_read_as_text_nodes(lite_uri: str) -> None:
    store = MilvusVectorStore(uri=lite_uri, collection_name="c")
    store.store.upsert(
        [Record(id="lc", text="from langchain", vector=[1.0, 0.0], metadata={"a": 1}, doc_id="d")]
    )
    (node,) = store.get_nodes(node_ids=["lc"])
    assert type(node) is TextNode
    assert (node.text, node.metadata, node.ref_doc_id) == ("from langchain", {"a": 1}, "d")


# -- query modes --------------------------------------------------------------------------


def test_default_mode_returns_nearest_nodes_with_relevance(store: MilvusVectorStore) -> None:
    result = store.query(dense([1.0, 0.0, 0.0, 0.0], k=3))
    assert result.ids == ["n_zebra", "n_lion", "n_bread"]
    assert [n.node_id for n in result.nodes or []] == result.ids
    assert result.nodes is not None and result.nodes[0].get_content() == DOCS["n_zebra"][0]
    assert result.nodes[0].ref_doc_id == "doc_animals"
    assert_scores(result.similarities)
    assert result.similarities is not None and math.isclose(result.similarities[0], 1.0)


def test_query_restricted_to_doc_ids_and_node_ids(store: MilvusVectorStore) -> None:
    query = dense([1.0, 0.0, 0.0, 0.0], k=5, doc_ids=["doc_space"])
    assert set(store.query(query).ids or []) == {"n_rocket", "n_moon"}
    query = dense([1.0, 0.0, 0.0, 0.0], k=5, node_ids=["n_moon", "n_bread"])
    assert store.query(query).ids == ["n_bread", "n_moon"]
    both = dense([1.0, 0, 0, 0], k=5, doc_ids=["doc_space"], node_ids=["n_moon", "n_bread"])
    assert store.query(both).ids == ["n_moon"]
    # as_retriever() passes node_ids=[] for stores that keep the text: no restriction.
    assert len(store.query(dense([1.0, 0, 0, 0], k=5, node_ids=[], doc_ids=[])).ids or []) == 5


def test_query_with_metadata_filters(store: MilvusVectorStore) -> None:
    filters = MetadataFilters(filters=[MetadataFilter(key="topic", value="food")])
    assert store.query(dense([1.0, 0, 0, 0], k=5, filters=filters)).ids == ["n_bread"]


def test_query_on_an_empty_store_returns_nothing(lite_uri: str) -> None:
    store = MilvusVectorStore(uri=lite_uri, collection_name="empty")
    result = store.query(dense([1.0, 0.0]))
    assert (result.nodes, result.similarities, result.ids) == ([], [], [])


def test_mmr_prefers_diverse_nodes(lite_uri: str) -> None:
    store = MilvusVectorStore(uri=lite_uri, collection_name="mmr")
    store.add(
        [
            TextNode(id_="a", text="a", embedding=[1.0, 0.0, 0.0]),
            TextNode(id_="a_copy", text="a copy", embedding=[0.999, 0.02, 0.0]),
            TextNode(id_="b", text="b", embedding=[0.6, 0.0, 0.8]),
        ]
    )
    query = [1.0, 0.0, 0.0]
    assert store.query(dense(query, k=2)).ids == ["a", "a_copy"]
    mmr = VectorStoreQuery(
        query_embedding=query, similarity_top_k=2, mode=VectorStoreQueryMode.MMR, mmr_threshold=0.3
    )
    result = store.query(mmr)
    assert result.ids == ["a", "b"]
    assert_scores(result.similarities)
    # The retriever passes mmr_threshold through vector_store_kwargs.
    mmr.mmr_threshold = None
    assert store.query(mmr, mmr_threshold=0.3).ids == ["a", "b"]
    assert store.query(mmr, mmr_threshold=1.0).ids == ["a", "a_copy"]
    assert store.query(mmr, mmr_threshold=0.3, mmr_prefetch_k=3).ids == ["a", "b"]
    # Prefetching only the top two leaves nothing diverse to pick.
    assert store.query(mmr, mmr_threshold=0.3, mmr_prefetch_k=2).ids == ["a", "a_copy"]
    with pytest.raises(InvalidInputError, match="not both"):
        store.query(mmr, mmr_prefetch_k=3, mmr_prefetch_factor=2.0)


@pytest.mark.parametrize("mode", [VectorStoreQueryMode.TEXT_SEARCH, VectorStoreQueryMode.SPARSE])
def test_keyword_modes_rank_by_bm25(store: MilvusVectorStore, mode: VectorStoreQueryMode) -> None:
    result = store.query(VectorStoreQuery(query_str="orbit rockets", similarity_top_k=3, mode=mode))
    assert result.ids is not None and result.ids[0] == "n_rocket"
    assert set(result.ids) <= {"n_rocket", "n_moon"}
    assert_scores(result.similarities)
    filtered = VectorStoreQuery(
        query_str="zebras", similarity_top_k=3, mode=mode, doc_ids=["doc_food"]
    )
    assert store.query(filtered).ids == ["n_bread"]


def test_sparse_mode_with_a_client_encoder(lite_uri: str) -> None:
    texts = [text for text, _, _ in DOCS.values()]
    store = MilvusVectorStore(
        uri=lite_uri, collection_name="client_sparse", sparse=BM25Encoder().fit(texts)
    )
    assert store.enable_sparse
    store.add(corpus())
    query = VectorStoreQuery(query_str="moon", similarity_top_k=2, mode=VectorStoreQueryMode.SPARSE)
    assert store.query(query).ids == ["n_moon"]


def hybrid(alpha: float | None = None, **fields: Any) -> VectorStoreQuery:
    # Dense points at the zebra, words at the bread (which mentions zebras and flour).
    return VectorStoreQuery(
        query_embedding=[1.0, 0.0, 0.0, 0.0],
        query_str="flour bread",
        similarity_top_k=fields.pop("k", 3),
        mode=VectorStoreQueryMode.HYBRID,
        alpha=alpha,
        **fields,
    )


def test_hybrid_alpha_weighs_dense_against_keyword(store: MilvusVectorStore) -> None:
    dense_only = store.query(hybrid(alpha=1.0))
    keyword_only = store.query(hybrid(alpha=0.0))
    assert dense_only.ids is not None and dense_only.ids[0] == "n_zebra"
    assert keyword_only.ids is not None and keyword_only.ids[0] == "n_bread"
    assert_scores(dense_only.similarities)
    assert_scores(keyword_only.similarities)


def test_hybrid_default_fuses_with_rrf(store: MilvusVectorStore) -> None:
    result = store.query(hybrid())
    # n_bread is in both legs (keyword first, dense third): RRF ranks it first.
    assert result.ids is not None and result.ids[0] == "n_bread"
    assert set(result.ids[:3]) == {"n_bread", "n_zebra", "n_lion"}
    # Hybrid relevance is the legs' weighted mean in the ranker's order (issue 13), so it
    # need not decrease; before, it was the RRF score itself and was sorted.
    assert result.similarities is not None
    assert all(0.0 <= s <= 1.0 for s in result.similarities)


def test_hybrid_top_k_and_sparse_top_k(store: MilvusVectorStore) -> None:
    assert len(store.query(hybrid(k=4, hybrid_top_k=2)).ids or []) == 2
    assert len(store.query(hybrid(k=1)).ids or []) == 1
    assert len(store.query(hybrid(k=1, sparse_top_k=1, hybrid_top_k=5)).ids or []) == 5


def test_hybrid_with_rrf_configured_refuses_alpha(lite_uri: str) -> None:
    store = MilvusVectorStore(
        uri=lite_uri, collection_name="rrf", enable_sparse=True, ranker=RRF(10)
    )
    store.add(corpus())
    assert store.query(hybrid()).ids  # RRF(10) without alpha
    for alpha in (0.0, 1.0):  # RRF has no weights: answering without alpha would ignore it
        with pytest.raises(InvalidInputError, match="alpha"):
            store.query(hybrid(alpha=alpha))


def test_hybrid_with_weighted_configured_uses_its_weights(lite_uri: str) -> None:
    store = MilvusVectorStore(
        uri=lite_uri, collection_name="w", enable_sparse=True, ranker=Weighted(0.0, 1.0)
    )
    store.add(corpus())
    assert first(store.query(hybrid())) == "n_bread"
    assert first(store.query(hybrid(alpha=1.0))) == "n_zebra"


def test_hybrid_ranker_mapping() -> None:
    assert hybrid_ranker(None, None) == RRF(60)
    weighted = hybrid_ranker(None, 0.7)
    assert isinstance(weighted, Weighted)
    assert weighted.weights == pytest.approx((0.7, 0.3))
    assert hybrid_ranker(Weighted(0.5, 0.5, normalize=False), 1.0) == Weighted(
        1.0, 0.0, normalize=False
    )
    assert hybrid_ranker(Weighted(normalize="minmax"), 0.25) == Weighted(
        0.25, 0.75, normalize="minmax"
    )
    assert hybrid_ranker(RRF(5), None) == RRF(5)
    with pytest.raises(InvalidInputError, match="ranker=RRF"):
        hybrid_ranker(RRF(5), 0.2)
    with pytest.raises(InvalidInputError, match="alpha"):
        hybrid_ranker(None, 1.5)


@pytest.mark.parametrize(
    "mode",
    [VectorStoreQueryMode.SPARSE, VectorStoreQueryMode.TEXT_SEARCH, VectorStoreQueryMode.HYBRID],
)
def test_keyword_modes_need_a_sparse_field(lite_uri: str, mode: VectorStoreQueryMode) -> None:
    store = MilvusVectorStore(uri=lite_uri, collection_name="dense_only")
    query = VectorStoreQuery(query_embedding=[1.0, 0.0], query_str="x", mode=mode)
    with pytest.raises(ConfigError, match="enable_sparse=True"):
        store.query(query)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (VectorStoreQuery(query_str="x"), "query_embedding"),
        (
            VectorStoreQuery(query_embedding=[1.0], mode=VectorStoreQueryMode.TEXT_SEARCH),
            "query_str",
        ),
        (
            VectorStoreQuery(
                query_embedding=[1.0], query_str=" ", mode=VectorStoreQueryMode.HYBRID
            ),
            "query_str",
        ),
        (VectorStoreQuery(query_embedding=[1.0], mode=VectorStoreQueryMode.SVM), "not supported"),
        (
            VectorStoreQuery(query_embedding=[1.0], mode=VectorStoreQueryMode.SEMANTIC_HYBRID),
            "not supported",
        ),
    ],
)
def test_bad_queries_are_explained(query: VectorStoreQuery, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        plan_query(query, {}, has_sparse=True, ranker=None)


def test_plan_maps_top_k_fields() -> None:
    query = VectorStoreQuery(
        query_embedding=[1.0],
        query_str="q",
        mode=VectorStoreQueryMode.HYBRID,
        similarity_top_k=3,
        sparse_top_k=7,
        hybrid_top_k=5,
        alpha=0.25,
    )
    plan = plan_query(query, {}, has_sparse=True, ranker=None)
    assert plan.kind is SearchKind.HYBRID
    assert (plan.k, plan.fetch_k) == (5, 7)
    assert plan.ranker == Weighted(0.25, 0.75)


# -- deletes, get_nodes, clear ------------------------------------------------------------


def ids(nodes: list[BaseNode]) -> set[str]:
    return {n.node_id for n in nodes}


def test_delete_by_ref_doc_id_removes_the_whole_document(store: MilvusVectorStore) -> None:
    store.delete("doc_animals")
    assert ids(store.get_nodes()) == {"n_rocket", "n_moon", "n_bread"}
    store.delete("no-such-doc")
    assert len(store.get_nodes()) == 3


def test_delete_with_a_hostile_ref_doc_id_deletes_nothing(store: MilvusVectorStore) -> None:
    store.delete('doc_space" or id != "')
    assert len(store.get_nodes()) == 5


def test_get_nodes_by_ids_filters_or_both(store: MilvusVectorStore) -> None:
    got = store.get_nodes(node_ids=["n_moon", "missing", "n_zebra"])
    assert [n.node_id for n in got] == ["n_moon", "n_zebra"]
    assert all(n.embedding is not None for n in got)
    space = MetadataFilters(filters=[MetadataFilter(key="topic", value="space")])
    assert ids(store.get_nodes(filters=space)) == {"n_rocket", "n_moon"}
    assert ids(store.get_nodes(node_ids=["n_moon", "n_zebra"], filters=space)) == {"n_moon"}
    assert store.get_nodes(node_ids=[]) == []
    assert len(store.get_nodes()) == 5


def test_delete_nodes_by_ids_filters_or_both(store: MilvusVectorStore) -> None:
    store.delete_nodes(node_ids=["n_zebra"])
    assert "n_zebra" not in ids(store.get_nodes())
    food = MetadataFilters(filters=[MetadataFilter(key="topic", value="food")])
    store.delete_nodes(filters=food)
    assert ids(store.get_nodes()) == {"n_lion", "n_rocket", "n_moon"}
    space = MetadataFilters(filters=[MetadataFilter(key="topic", value="space")])
    store.delete_nodes(node_ids=["n_lion", "n_moon"], filters=space)
    assert ids(store.get_nodes()) == {"n_lion", "n_rocket"}
    store.delete_nodes(node_ids=[])
    assert len(store.get_nodes()) == 2
    with pytest.raises(InvalidInputError, match="clear"):
        store.delete_nodes()


def test_clear_then_add_again(store: MilvusVectorStore) -> None:
    store.clear()
    assert store.get_nodes() == []
    assert store.query(dense([1.0, 0, 0, 0])).ids == []
    store.add([TextNode(id_="again", text="back again", embedding=[0.0, 0.0, 0.0, 1.0])])
    assert store.query(dense([0.0, 0.0, 0.0, 1.0])).ids == ["again"]
    text_query = VectorStoreQuery(query_str="again", mode=VectorStoreQueryMode.TEXT_SEARCH)
    assert store.query(text_query).ids == ["again"]


def test_clear_on_a_store_never_written(lite_uri: str) -> None:
    store = MilvusVectorStore(uri=lite_uri, collection_name="c")
    store.clear()
    store.add([TextNode(id_="n", text="t", embedding=[1.0, 0.0])])
    assert len(store.get_nodes()) == 1


# -- reopening ----------------------------------------------------------------------------


def test_reopening_the_file_sees_the_nodes(lite_uri: str) -> None:
    MilvusVectorStore(uri=lite_uri, collection_name="keep", enable_sparse=True).add(corpus())
    again = MilvusVectorStore(uri=lite_uri, collection_name="keep", enable_sparse=True)
    assert again.query(dense([0.0, 1.0, 0.0, 0.0], k=1)).ids == ["n_rocket"]
    assert again.dim == 4


def test_reopening_with_another_dim_is_refused(lite_uri: str) -> None:
    MilvusVectorStore(uri=lite_uri, collection_name="keep").add(corpus())
    with pytest.raises(SchemaMismatchError, match="dim"):
        MilvusVectorStore(uri=lite_uri, collection_name="keep", dim=8).get_nodes()


def test_overwrite_drops_the_old_collection(lite_uri: str) -> None:
    MilvusVectorStore(uri=lite_uri, collection_name="keep").add(corpus())
    fresh = MilvusVectorStore(uri=lite_uri, collection_name="keep", overwrite=True)
    fresh.add([TextNode(id_="only", text="t", embedding=[1.0, 0.0])])
    assert ids(fresh.get_nodes()) == {"only"}


def test_from_store_shares_the_core_store(store: MilvusVectorStore) -> None:
    twin = MilvusVectorStore.from_store(store.store)
    assert twin.store is store.store
    assert twin.query(dense([1.0, 0.0, 0.0, 0.0], k=1)).ids == ["n_zebra"]


# -- async --------------------------------------------------------------------------------


async def test_async_add_query_get_delete_clear(lite_uri: str) -> None:
    store = MilvusVectorStore(uri=lite_uri, collection_name="async_nodes", enable_sparse=True)
    assert await store.async_add(corpus()) == list(DOCS)
    (back,) = await store.aget_nodes(node_ids=["n_zebra"])
    assert back.metadata == {"topic": "animals"}
    assert back.ref_doc_id == "doc_animals"

    result = await store.aquery(dense([1.0, 0.0, 0.0, 0.0], k=2))
    assert result.ids == ["n_zebra", "n_lion"]
    keyword = VectorStoreQuery(query_str="orbit rockets", mode=VectorStoreQueryMode.TEXT_SEARCH)
    assert (await store.aquery(keyword)).ids == ["n_rocket"]
    assert first(await store.aquery(hybrid(alpha=0.0))) == "n_bread"
    mmr = VectorStoreQuery(
        query_embedding=[1.0, 0, 0, 0], similarity_top_k=2, mode=VectorStoreQueryMode.MMR
    )
    assert len((await store.aquery(mmr)).ids or []) == 2

    await store.adelete("doc_animals")
    assert ids(await store.aget_nodes()) == {"n_rocket", "n_moon", "n_bread"}
    food = MetadataFilters(
        filters=[MetadataFilter(key="topic", value="food", operator=FilterOperator.EQ)]
    )
    await store.adelete_nodes(filters=food)
    await store.adelete_nodes(node_ids=["n_moon"])
    assert ids(await store.aget_nodes()) == {"n_rocket"}

    await store.aclear()
    assert await store.aget_nodes() == []
    await store.async_add([TextNode(id_="again", text="again", embedding=[0.0, 0, 0, 1.0])])
    assert (await store.aquery(dense([0.0, 0, 0, 1.0], k=1))).ids == ["again"]


async def test_async_matches_sync_results(store: MilvusVectorStore) -> None:
    query = hybrid(alpha=0.5)
    sync_result = await asyncio.to_thread(store.query, query)
    async_result = await store.aquery(query)
    assert async_result.ids == sync_result.ids
    assert async_result.similarities == pytest.approx(sync_result.similarities)


def test_async_store_is_recreated_for_a_new_event_loop(store: MilvusVectorStore) -> None:
    query = dense([1.0, 0.0, 0.0, 0.0], k=1)
    assert asyncio.run(store.aquery(query)).ids == ["n_zebra"]
    assert asyncio.run(store.aquery(query)).ids == ["n_zebra"]


# -- configuration reaches the collection ---------------------------------------------------


def test_index_metric_and_typed_fields_reach_the_collection(lite_uri: str) -> None:
    store = MilvusVectorStore(
        uri=lite_uri,
        collection_name="configured",
        index=HnswIndex(M=8, ef_construction=64, metric="L2"),
        metadata_fields={"year": "INT64"},
    )
    store.add([*corpus()[:2], text_node("n_year", "dated", [0.0, 0.0, 0.0, 1.0], "d", year=2024)])
    stats = store.store.stats()
    assert "HNSW" in str(stats)
    assert "L2" in str(stats)
    (node,) = store.get_nodes(node_ids=["n_year"])
    assert node.metadata == {"year": 2024}
    result = store.query(dense([1.0, 0.0, 0.0, 0.0], k=1))
    assert result.ids == ["n_zebra"]
    assert result.similarities is not None
    assert result.similarities[0] == pytest.approx(1.0)  # L2 distance 0 -> relevance 1


def test_query_mode_may_be_given_as_a_string(store: MilvusVectorStore) -> None:
    query = VectorStoreQuery(query_str="orbit", mode="text_search")  # type: ignore[arg-type]
    assert first(store.query(query)) == "n_rocket"
