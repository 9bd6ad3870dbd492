"""Hostile, careless values for every read-side parameter the frameworks document (Milvus Lite).

Each LangChain and LlamaIndex read parameter is checked against the framework's reference
store (LangChain's ``InMemoryVectorStore``, LlamaIndex's ``SimpleVectorStore``) or against
the framework's documented meaning. Where the package cannot do what is asked, the
acceptable answer is a typed ``milvus_plugins`` error naming the parameter, with nothing
changed: never a silently ignored parameter, a wrong result, or a bare TypeError /
KeyError / AttributeError from inside the library. ``test_hostile_framework_flows.py``
covers whole ingestion / indexing flows; this file goes parameter by parameter.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from langchain_core.documents import Document as LCDocument
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.vectorstores import InMemoryVectorStore
from llama_index.core import VectorStoreIndex
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores import SimpleVectorStore
from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
)
from tests.llama_index.conftest import KeywordEmbedding

from milvus_plugins.core import RRF
from milvus_plugins.core.exceptions import MilvusPluginsError
from milvus_plugins.langchain import MilvusVectorStore as LCMilvus
from milvus_plugins.llama_index import MilvusVectorStore as LIMilvus

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

LC_DIM = 16
LC_TEXTS = [
    "apples are red",
    "bananas are yellow",
    "cherries are dark red",
    "dates grow on palms",
    "elderberries make syrup",
    "figs are sweet",
    "grapes make wine",
    "honeydew is a melon",
]
QUERY = "which fruit is red"
CARELESS_K: list[Any] = [0, -1, True, False, 2.5, "3", None, 10**9]


def _lc_docs() -> list[LCDocument]:
    return [
        LCDocument(
            id=f"d{i}",
            page_content=t,
            metadata={"i": i, "even": i % 2 == 0, "tag": "odd" if i % 2 else "even"},
        )
        for i, t in enumerate(LC_TEXTS)
    ]


def _emb() -> DeterministicFakeEmbedding:
    return DeterministicFakeEmbedding(size=LC_DIM)


def _ids(docs: Sequence[Any]) -> list[str | None]:
    out: list[str | None] = []
    for d in docs:
        doc = d[0] if isinstance(d, tuple) else d
        out.append(doc.id)
    return out


@pytest.fixture(scope="module")
def lc_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[LCMilvus, InMemoryVectorStore]:
    uri = str(tmp_path_factory.mktemp("lcq") / "milvus.db")
    ours = LCMilvus(_emb(), uri=uri, collection_name="q")
    ours.add_documents(_lc_docs())
    ref = InMemoryVectorStore(_emb())
    ref.add_documents(_lc_docs())
    return ours, ref


def _fresh_lc(tmp_path: Path) -> LCMilvus:
    ours = LCMilvus(_emb(), uri=str(tmp_path / "milvus.db"), collection_name="w")
    ours.add_documents(_lc_docs())
    return ours


def _all_ids(vs: LCMilvus) -> list[str]:
    return sorted(d.id or "" for d in vs.get_by_ids([f"d{i}" for i in range(len(LC_TEXTS))]))


def _typed_error_naming(exc: pytest.ExceptionInfo[BaseException], *names: str) -> None:
    assert isinstance(exc.value, MilvusPluginsError), repr(exc.value)
    assert any(n in str(exc.value) for n in names), str(exc.value)


# ---------------------------------------------------------------- LangChain: search ----


@pytest.mark.parametrize("k", [1, 3, 8, 50, 16384])
def test_lc_similarity_search_k_matches_reference(
    lc_pair: tuple[LCMilvus, InMemoryVectorStore], k: int
) -> None:
    ours, ref = lc_pair
    assert _ids(ours.similarity_search(QUERY, k=k)) == _ids(ref.similarity_search(QUERY, k=k))
    got = ours.similarity_search_with_score(QUERY, k=k)
    assert _ids(got) == _ids(ref.similarity_search_with_score(QUERY, k=k))
    scores = [s for _, s in got]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("k", CARELESS_K)
@pytest.mark.parametrize(
    "method",
    [
        "similarity_search",
        "similarity_search_with_score",
        "similarity_search_with_relevance_scores",
        "max_marginal_relevance_search",
    ],
)
def test_lc_careless_k_is_a_typed_error_naming_k(
    lc_pair: tuple[LCMilvus, InMemoryVectorStore], method: str, k: Any
) -> None:
    ours, _ = lc_pair
    with pytest.raises(Exception) as exc:
        getattr(ours, method)(QUERY, k=k)
    _typed_error_naming(exc, "k=")


@pytest.mark.parametrize("k", CARELESS_K)
def test_lc_careless_k_by_vector_is_a_typed_error(
    lc_pair: tuple[LCMilvus, InMemoryVectorStore], k: Any
) -> None:
    ours, _ = lc_pair
    vector = _emb().embed_query(QUERY)
    for call in (ours.similarity_search_by_vector, ours.max_marginal_relevance_search_by_vector):
        with pytest.raises(Exception) as exc:
            call(vector, k=k)
        _typed_error_naming(exc, "k=")


def test_lc_by_vector_equals_by_text_and_reference(
    lc_pair: tuple[LCMilvus, InMemoryVectorStore],
) -> None:
    ours, ref = lc_pair
    vector = _emb().embed_query(QUERY)
    by_vec = _ids(ours.similarity_search_by_vector(vector, k=5))
    assert by_vec == _ids(ours.similarity_search(QUERY, k=5))
    assert by_vec == _ids(ref.similarity_search_by_vector(vector, k=5))


@pytest.mark.parametrize(
    ("where", "pred"),
    [
        ({"tag": "odd"}, lambda m: m["tag"] == "odd"),
        ({"i": {"$gte": 5}}, lambda m: m["i"] >= 5),
        ({"i": {"$in": []}}, lambda m: False),
        ({"i": {"$nin": []}}, lambda m: True),
        ({"even": True}, lambda m: m["even"] is True),
        ({"$or": [{"i": 1}, {"tag": "even"}]}, lambda m: m["i"] == 1 or m["tag"] == "even"),
        ({"missing": {"$exists": False}}, lambda m: "missing" not in m),
    ],
)
def test_lc_filter_matches_reference(
    lc_pair: tuple[LCMilvus, InMemoryVectorStore], where: dict[str, Any], pred: Any
) -> None:
    ours, ref = lc_pair
    expected = _ids(ref.similarity_search(QUERY, k=8, filter=lambda d: pred(d.metadata)))
    assert _ids(ours.similarity_search(QUERY, k=8, filter=where)) == expected


@pytest.mark.parametrize(
    "where", [{"i": {"$bogus": 1}}, {"$and": {"i": 1}}, 42, ["i"], lambda d: True]
)
def test_lc_careless_filter_is_typed(
    lc_pair: tuple[LCMilvus, InMemoryVectorStore], where: Any
) -> None:
    ours, _ = lc_pair
    with pytest.raises(Exception) as exc:
        ours.similarity_search(QUERY, k=2, filter=where)
    assert isinstance(exc.value, MilvusPluginsError), repr(exc.value)


def test_lc_relevance_scores_in_unit_interval_and_threshold_keeps_only_above(
    lc_pair: tuple[LCMilvus, InMemoryVectorStore],
) -> None:
    ours, ref = lc_pair
    full = ours.similarity_search_with_relevance_scores(QUERY, k=8)
    assert _ids(full) == _ids(ref.similarity_search(QUERY, k=8))
    assert all(0.0 <= s <= 1.0 for _, s in full)
    mid = sorted(s for _, s in full)[4]
    kept = ours.similarity_search_with_relevance_scores(QUERY, k=8, score_threshold=mid)
    assert [d for d in full if d[1] >= mid] == kept
    assert ours.similarity_search_with_relevance_scores(QUERY, k=8, score_threshold=1.0) == [
        d for d in full if d[1] >= 1.0
    ]


@pytest.mark.parametrize("threshold", [math.nan, math.inf, -0.1, 1.5, "0.5", True])
def test_lc_careless_score_threshold_is_typed(
    lc_pair: tuple[LCMilvus, InMemoryVectorStore], threshold: Any
) -> None:
    ours, _ = lc_pair
    with pytest.raises(Exception) as exc:
        ours.similarity_search_with_relevance_scores(QUERY, k=3, score_threshold=threshold)
    _typed_error_naming(exc, "score_threshold")


def test_lc_mmr_matches_reference(lc_pair: tuple[LCMilvus, InMemoryVectorStore]) -> None:
    ours, ref = lc_pair
    for lam in (0.0, 0.25, 0.5, 1.0):
        got = ours.max_marginal_relevance_search(QUERY, k=4, fetch_k=8, lambda_mult=lam)
        want = ref.max_marginal_relevance_search(QUERY, k=4, fetch_k=8, lambda_mult=lam)
        assert _ids(got) == _ids(want), lam
    vector = _emb().embed_query(QUERY)
    assert _ids(ours.max_marginal_relevance_search_by_vector(vector, k=3, fetch_k=8)) == _ids(
        ref.max_marginal_relevance_search_by_vector(vector, k=3, fetch_k=8)
    )
    # lambda_mult=1 is pure relevance: the similarity order.
    assert _ids(ours.max_marginal_relevance_search(QUERY, k=4, fetch_k=8, lambda_mult=1)) == _ids(
        ours.similarity_search(QUERY, k=4)
    )


def test_lc_mmr_fetch_k_below_k_returns_at_most_fetch_k_or_is_typed(
    lc_pair: tuple[LCMilvus, InMemoryVectorStore],
) -> None:
    ours, ref = lc_pair
    try:
        got = ours.max_marginal_relevance_search(QUERY, k=5, fetch_k=2)
    except MilvusPluginsError as e:
        assert "fetch_k" in str(e)
        return
    assert _ids(got) == _ids(ref.max_marginal_relevance_search(QUERY, k=5, fetch_k=2))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("lambda_mult", -0.5),
        ("lambda_mult", 1.5),
        ("lambda_mult", math.nan),
        ("lambda_mult", "0.5"),
        ("fetch_k", 0),
        ("fetch_k", -3),
        ("fetch_k", 2.5),
        ("fetch_k", 10**9),
    ],
)
def test_lc_careless_mmr_options_are_typed(
    lc_pair: tuple[LCMilvus, InMemoryVectorStore], name: str, value: Any
) -> None:
    ours, _ = lc_pair
    with pytest.raises(Exception) as exc:
        ours.max_marginal_relevance_search(QUERY, k=2, **{name: value})
    _typed_error_naming(exc, name)


def test_lc_get_by_ids_order_missing_duplicates_match_reference(
    lc_pair: tuple[LCMilvus, InMemoryVectorStore],
) -> None:
    ours, ref = lc_pair
    ids = ["d5", "nope", "d1", "d3"]
    assert _ids(ours.get_by_ids(ids)) == _ids(ref.get_by_ids(ids))
    assert ours.get_by_ids([]) == []
    assert [d.page_content for d in ours.get_by_ids(["d2"])] == [LC_TEXTS[2]]
    for dup in (["d2", "d2"], ("d3", "d0", "d3")):
        assert _ids(ours.get_by_ids(dup)) == _ids(ref.get_by_ids(dup))


@pytest.mark.parametrize("ids", ["d1", b"d1", [""], ["d1", None], [1], None])
def test_lc_careless_get_by_ids_is_typed(
    lc_pair: tuple[LCMilvus, InMemoryVectorStore], ids: Any
) -> None:
    ours, _ = lc_pair
    with pytest.raises(Exception) as exc:
        ours.get_by_ids(ids)
    assert isinstance(exc.value, MilvusPluginsError), repr(exc.value)


@pytest.mark.parametrize(
    ("search_type", "kwargs"),
    [
        ("similarity", {"k": 3}),
        ("similarity", {"k": 8, "filter": {"tag": "even"}}),
        ("mmr", {"k": 3, "fetch_k": 8, "lambda_mult": 0.3}),
        ("similarity_score_threshold", {"k": 8, "score_threshold": 0.5}),
    ],
)
def test_lc_retriever_search_types_match_direct_calls_and_async(
    lc_pair: tuple[LCMilvus, InMemoryVectorStore], search_type: str, kwargs: dict[str, Any]
) -> None:
    ours, _ = lc_pair
    retriever = ours.as_retriever(search_type=search_type, search_kwargs=kwargs)
    got = _ids(retriever.invoke(QUERY))
    assert got == _ids(asyncio.run(retriever.ainvoke(QUERY)))
    rest = {k: v for k, v in kwargs.items() if k != "score_threshold"}
    if search_type == "similarity":
        assert got == _ids(ours.similarity_search(QUERY, **rest))
    elif search_type == "mmr":
        assert got == _ids(ours.max_marginal_relevance_search(QUERY, **rest))
    else:
        full = ours.similarity_search_with_relevance_scores(QUERY, **rest)
        assert got == _ids([d for d in full if d[1] >= kwargs["score_threshold"]])


@pytest.mark.parametrize(
    "kwargs", [{"k": 0}, {"k": -2}, {"k": 2, "bogus": 1}, {"k": 2, "filter": 3}]
)
def test_lc_retriever_careless_search_kwargs_are_typed(
    lc_pair: tuple[LCMilvus, InMemoryVectorStore], kwargs: dict[str, Any]
) -> None:
    ours, _ = lc_pair
    retriever = ours.as_retriever(search_kwargs=kwargs)
    with pytest.raises(Exception) as exc:
        retriever.invoke(QUERY)
    assert isinstance(exc.value, MilvusPluginsError), repr(exc.value)
    with pytest.raises(Exception) as aexc:
        asyncio.run(retriever.ainvoke(QUERY))
    assert isinstance(aexc.value, MilvusPluginsError), repr(aexc.value)


def test_lc_async_twins_equal_sync(lc_pair: tuple[LCMilvus, InMemoryVectorStore]) -> None:
    ours, _ = lc_pair
    vector = _emb().embed_query(QUERY)
    f = {"i": {"$lt": 6}}

    async def run() -> list[Any]:
        return [
            _ids(await ours.asimilarity_search(QUERY, k=4, filter=f)),
            await ours.asimilarity_search_with_score(QUERY, k=4),
            await ours.asimilarity_search_with_relevance_scores(QUERY, k=8, score_threshold=0.4),
            _ids(await ours.asimilarity_search_by_vector(vector, k=4)),
            _ids(await ours.amax_marginal_relevance_search(QUERY, k=3, fetch_k=8)),
            _ids(await ours.amax_marginal_relevance_search_by_vector(vector, k=3, fetch_k=8)),
            _ids(await ours.aget_by_ids(["d4", "x", "d0"])),
        ]

    sync: list[Any] = [
        _ids(ours.similarity_search(QUERY, k=4, filter=f)),
        ours.similarity_search_with_score(QUERY, k=4),
        ours.similarity_search_with_relevance_scores(QUERY, k=8, score_threshold=0.4),
        _ids(ours.similarity_search_by_vector(vector, k=4)),
        _ids(ours.max_marginal_relevance_search(QUERY, k=3, fetch_k=8)),
        _ids(ours.max_marginal_relevance_search_by_vector(vector, k=3, fetch_k=8)),
        _ids(ours.get_by_ids(["d4", "x", "d0"])),
    ]
    got: list[Any] = asyncio.run(run())
    for a, s in zip(got, sync, strict=True):
        if a and isinstance(a[0], tuple):
            assert _ids(a) == _ids(s)
            assert [x[1] for x in a] == pytest.approx([x[1] for x in s])
        else:
            assert a == s


def test_lc_async_careless_k_is_typed(lc_pair: tuple[LCMilvus, InMemoryVectorStore]) -> None:
    ours, _ = lc_pair
    for call in (ours.asimilarity_search, ours.amax_marginal_relevance_search):
        careless: tuple[Any, ...] = (0, True, 2.5)
        for k in careless:
            with pytest.raises(Exception) as exc:
                asyncio.run(call(QUERY, k=k))
            _typed_error_naming(exc, "k=")


def test_lc_empty_store_reads_return_nothing(tmp_path: Path) -> None:
    ours = LCMilvus(_emb(), uri=str(tmp_path / "milvus.db"), collection_name="empty")
    ref = InMemoryVectorStore(_emb())
    assert ours.similarity_search(QUERY, k=3) == ref.similarity_search(QUERY, k=3) == []
    assert ours.similarity_search_with_relevance_scores(QUERY, k=3) == []
    assert ours.max_marginal_relevance_search(QUERY, k=3) == []
    assert ours.get_by_ids(["d1"]) == []
    assert asyncio.run(ours.asimilarity_search(QUERY, k=3)) == []
    assert ours.as_retriever(search_type="mmr").invoke(QUERY) == []


# ---------------------------------------------------------------- LangChain: delete ----


@pytest.mark.parametrize("ids", ["d1", [""], ["d1", None], [3], b"d1"])
def test_lc_careless_delete_ids_is_typed_and_deletes_nothing(tmp_path: Path, ids: Any) -> None:
    ours = _fresh_lc(tmp_path)
    before = _all_ids(ours)
    with pytest.raises(Exception) as exc:
        ours.delete(ids=ids)
    assert isinstance(exc.value, MilvusPluginsError), repr(exc.value)
    assert _all_ids(ours) == before


def test_lc_delete_missing_and_duplicate_ids_like_reference(tmp_path: Path) -> None:
    ours = _fresh_lc(tmp_path)
    ref = InMemoryVectorStore(_emb())
    ref.add_documents(_lc_docs())
    for vs in (ours, ref):
        vs.delete(ids=["nope", "d1", "d1"])
        vs.delete(ids=[])
    assert _all_ids(ours) == sorted(d.id or "" for d in ref.get_by_ids([f"d{i}" for i in range(8)]))


# ---------------------------------------------------------------- LlamaIndex ----------

LI_TEXTS = {
    "n0": ("red apples and red cherries", "docA", {"year": 2020, "tag": "fruit", "tags": ["a"]}),
    "n1": ("yellow bananas", "docA", {"year": 2021, "tag": "fruit", "tags": ["a", "b"]}),
    "n2": ("green salad leaves", "docB", {"year": 2022, "tag": "veg", "tags": ["b"]}),
    "n3": ("red peppers tomatoes and onions", "docB", {"year": 2023, "tag": "veg", "tags": ["c"]}),
    "n4": ("milvus vector database engine", "docC", {"year": 2024, "tag": "tech", "tags": []}),
    "n5": ("red wine from grapes", "docC", {"year": 2025, "tag": "drink", "tags": ["a", "c"]}),
}
LI_QUERY = "red fruit"


def _li_nodes() -> list[TextNode]:
    emb = KeywordEmbedding()
    nodes = []
    for nid, (text, doc, meta) in LI_TEXTS.items():
        node = TextNode(id_=nid, text=text, metadata=dict(meta))
        node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=doc)
        node.embedding = emb.get_text_embedding(text)
        nodes.append(node)
    return nodes


def _li_query(**kw: Any) -> VectorStoreQuery:
    kw.setdefault("query_embedding", KeywordEmbedding().get_query_embedding(LI_QUERY))
    kw.setdefault("similarity_top_k", 6)
    return VectorStoreQuery(**kw)


@pytest.fixture(scope="module")
def li_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[LIMilvus, SimpleVectorStore]:
    uri = str(tmp_path_factory.mktemp("liq") / "milvus.db")
    ours = LIMilvus(uri=uri, collection_name="q", dim=256, enable_sparse=True)
    ours.add(_li_nodes())
    ref = SimpleVectorStore()
    ref.add(_li_nodes())
    return ours, ref


def _fresh_li(tmp_path: Path) -> LIMilvus:
    ours = LIMilvus(uri=str(tmp_path / "milvus.db"), collection_name="w", dim=256)
    ours.add(_li_nodes())
    return ours


def _li_ids(vs: LIMilvus) -> list[str]:
    return sorted(n.node_id for n in vs.get_nodes())


@pytest.mark.parametrize("top_k", [1, 3, 6, 100, 16384])
def test_li_default_query_top_k_matches_reference(
    li_pair: tuple[LIMilvus, SimpleVectorStore], top_k: int
) -> None:
    ours, ref = li_pair
    q = _li_query(similarity_top_k=top_k)
    got = ours.query(q)
    assert got.ids == ref.query(q).ids
    assert got.similarities is not None
    assert got.similarities == sorted(got.similarities, reverse=True)
    assert asyncio.run(ours.aquery(q)).ids == got.ids


@pytest.mark.parametrize("top_k", [0, -1, True, 2.5, 10**9])
@pytest.mark.parametrize("field", ["similarity_top_k", "sparse_top_k", "hybrid_top_k"])
def test_li_careless_top_k_is_typed_naming_the_field(
    li_pair: tuple[LIMilvus, SimpleVectorStore], field: str, top_k: Any
) -> None:
    ours, _ = li_pair
    q = _li_query(mode=VectorStoreQueryMode.HYBRID, query_str=LI_QUERY)
    object.__setattr__(q, field, top_k)  # VectorStoreQuery is a plain dataclass
    with pytest.raises(Exception) as exc:
        ours.query(q)
    _typed_error_naming(exc, field)


@pytest.mark.parametrize(
    "kw",
    [
        {"node_ids": ["n3", "n0", "zzz"]},
        {"doc_ids": ["docB"]},
        {"doc_ids": ["docA", "docC"], "node_ids": ["n1", "n4", "n2"]},
    ],
)
def test_li_node_ids_and_doc_ids_match_reference(
    li_pair: tuple[LIMilvus, SimpleVectorStore], kw: dict[str, Any]
) -> None:
    ours, ref = li_pair
    # SimpleVectorStore ignores doc_ids; LlamaIndex documents them as a ref_doc_id restriction.
    docs = kw.get("doc_ids")
    expected = [
        i
        for i in ref.query(_li_query(node_ids=kw.get("node_ids"))).ids or []
        if docs is None or LI_TEXTS[i][1] in docs
    ]
    q = _li_query(**kw)
    assert ours.query(q).ids == expected
    assert asyncio.run(ours.aquery(q)).ids == expected


@pytest.mark.parametrize("kw", [{"node_ids": "n1"}, {"doc_ids": "docA"}, {"node_ids": [""]}])
def test_li_careless_id_restrictions_are_typed(
    li_pair: tuple[LIMilvus, SimpleVectorStore], kw: dict[str, Any]
) -> None:
    ours, _ = li_pair
    with pytest.raises(Exception) as exc:
        ours.query(_li_query(**kw))
    assert isinstance(exc.value, MilvusPluginsError), repr(exc.value)


def _mf(key: str, value: Any, op: FilterOperator) -> MetadataFilters:
    return MetadataFilters(filters=[MetadataFilter(key=key, value=value, operator=op)])


LI_FILTERS: list[MetadataFilters] = [
    _mf("tag", "fruit", FilterOperator.EQ),
    _mf("tag", "fruit", FilterOperator.NE),
    _mf("year", 2022, FilterOperator.GT),
    _mf("year", 2022, FilterOperator.GTE),
    _mf("year", 2022, FilterOperator.LT),
    _mf("year", 2022, FilterOperator.LTE),
    _mf("tag", ["veg", "tech"], FilterOperator.IN),
    _mf("tag", ["veg", "tech"], FilterOperator.NIN),
    _mf("tags", "a", FilterOperator.CONTAINS),
    _mf("tags", ["a", "c"], FilterOperator.ANY),
    _mf("tags", ["a", "c"], FilterOperator.ALL),
    _mf("tag", "ec", FilterOperator.TEXT_MATCH),
    _mf("tags", None, FilterOperator.IS_EMPTY),
    _mf("tags", [], FilterOperator.ANY),
    _mf("tags", [], FilterOperator.ALL),
    MetadataFilters(
        filters=[
            MetadataFilter(key="tag", value="veg"),
            MetadataFilter(key="year", value=2020),
        ],
        condition=FilterCondition.NOT,
    ),
    MetadataFilters(
        filters=[MetadataFilter(key="tags", value=["b"], operator=FilterOperator.ANY)],
        condition=FilterCondition.NOT,
    ),
    MetadataFilters(
        filters=[
            _mf("tag", "fruit", FilterOperator.EQ),
            MetadataFilters(
                filters=[
                    MetadataFilter(key="year", value=2023, operator=FilterOperator.GTE),
                    MetadataFilter(key="tags", value="c", operator=FilterOperator.CONTAINS),
                ],
                condition=FilterCondition.AND,
            ),
        ],
        condition=FilterCondition.OR,
    ),
]


@pytest.mark.parametrize("where", LI_FILTERS, ids=lambda f: str(f.filters[0])[:40])
def test_li_every_filter_operator_matches_reference(
    li_pair: tuple[LIMilvus, SimpleVectorStore], where: MetadataFilters
) -> None:
    ours, ref = li_pair
    q = _li_query(filters=where)
    if any(isinstance(f, MetadataFilters) for f in where.filters):
        # SimpleVectorStore refuses nested filters: tag == fruit or (year >= 2023 and c in tags)
        keep = {"n0", "n1", "n3", "n5"}
        expected = [i for i in ref.query(_li_query()).ids or [] if i in keep]
    else:
        expected = ref.query(q).ids or []
    assert ours.query(q).ids == expected
    assert asyncio.run(ours.aquery(q)).ids == expected
    assert sorted(n.node_id for n in ours.get_nodes(filters=where)) == sorted(expected)


@pytest.mark.parametrize(("op", "expected"), [(FilterOperator.IN, 0), (FilterOperator.NIN, 6)])
def test_li_empty_in_nin_lists(
    li_pair: tuple[LIMilvus, SimpleVectorStore], op: FilterOperator, expected: int
) -> None:
    ours, _ = li_pair
    try:
        got = ours.query(_li_query(filters=_mf("tag", [], op)))
    except MilvusPluginsError:
        return  # refusing is acceptable; a wrong answer is not
    assert len(got.ids or []) == expected


def test_li_text_match_insensitive_is_typed(li_pair: tuple[LIMilvus, SimpleVectorStore]) -> None:
    ours, _ = li_pair
    with pytest.raises(Exception) as exc:
        ours.query(_li_query(filters=_mf("tag", "FRUIT", FilterOperator.TEXT_MATCH_INSENSITIVE)))
    assert isinstance(exc.value, MilvusPluginsError), repr(exc.value)


def _textbook_mmr(k: int, lam: float) -> list[str]:
    """MMR as LlamaIndex documents it: relevance minus similarity to previous results (max)."""
    query = KeywordEmbedding().get_query_embedding(LI_QUERY)
    vecs = {n.node_id: n.get_embedding() for n in _li_nodes()}

    def cos(a: Sequence[float], b: Sequence[float]) -> float:
        dot = sum(x * y for x, y in zip(a, b, strict=True))
        return dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))

    chosen: list[str] = []
    while len(chosen) < min(k, len(vecs)):
        best = max(
            (i for i in vecs if i not in chosen),
            key=lambda i: (
                lam * cos(query, vecs[i])
                - (1 - lam) * max((cos(vecs[i], vecs[c]) for c in chosen), default=0.0)
            ),
        )
        chosen.append(best)
    return chosen


def test_li_mmr_matches_reference(li_pair: tuple[LIMilvus, SimpleVectorStore]) -> None:
    ours, ref = li_pair
    # SimpleVectorStore reads mmr_threshold from the kwargs only, reads 0.0 as 0.5, and
    # discounts by the most recent pick only: its first two picks are the textbook ones.
    for threshold in (0.0, 0.1, 0.3, 0.5, 0.7, 1.0):
        q = _li_query(mode=VectorStoreQueryMode.MMR, similarity_top_k=3, mmr_threshold=threshold)
        got = ours.query(q, mmr_prefetch_k=6).ids
        assert got == _textbook_mmr(3, threshold), threshold
        assert ours.query(q).ids == got  # the default prefetch covers all six nodes
        assert asyncio.run(ours.aquery(q)).ids == got
        if threshold:
            two = _li_query(
                mode=VectorStoreQueryMode.MMR, similarity_top_k=2, mmr_threshold=threshold
            )
            assert ours.query(two).ids == ref.query(two, mmr_threshold=threshold).ids


@pytest.mark.parametrize("threshold", [-0.1, 1.5, math.nan])
def test_li_careless_mmr_threshold_is_typed(
    li_pair: tuple[LIMilvus, SimpleVectorStore], threshold: float
) -> None:
    ours, _ = li_pair
    q = _li_query(mode=VectorStoreQueryMode.MMR, similarity_top_k=3, mmr_threshold=threshold)
    with pytest.raises(Exception) as exc:
        ours.query(q)
    _typed_error_naming(exc, "mmr_threshold")


def test_li_sparse_and_hybrid_alpha_extremes(li_pair: tuple[LIMilvus, SimpleVectorStore]) -> None:
    ours, _ = li_pair
    dense = ours.query(_li_query(similarity_top_k=3)).ids
    sparse = ours.query(
        _li_query(mode=VectorStoreQueryMode.SPARSE, query_str=LI_QUERY, similarity_top_k=3)
    ).ids
    assert sparse and set(sparse) <= {"n0", "n3", "n5"}  # the nodes that hold "red" / "fruit"
    text = ours.query(
        _li_query(mode=VectorStoreQueryMode.TEXT_SEARCH, query_str=LI_QUERY, similarity_top_k=3)
    ).ids
    assert text == sparse
    one = ours.query(
        _li_query(
            mode=VectorStoreQueryMode.HYBRID, query_str=LI_QUERY, alpha=1.0, similarity_top_k=3
        )
    )
    assert one.ids == dense
    h = _li_query(
        mode=VectorStoreQueryMode.HYBRID, query_str=LI_QUERY, hybrid_top_k=2, sparse_top_k=5
    )
    got = ours.query(h)
    assert len(got.ids or []) == 2
    assert asyncio.run(ours.aquery(h)).ids == got.ids


@pytest.mark.parametrize("alpha", [-0.5, 1.5, math.nan, True])
def test_li_careless_alpha_is_typed(
    li_pair: tuple[LIMilvus, SimpleVectorStore], alpha: Any
) -> None:
    ours, _ = li_pair
    q = _li_query(mode=VectorStoreQueryMode.HYBRID, query_str=LI_QUERY)
    object.__setattr__(q, "alpha", alpha)
    with pytest.raises(Exception) as exc:
        ours.query(q)
    _typed_error_naming(exc, "alpha")


def test_li_sparse_on_dense_only_store_is_typed(tmp_path: Path) -> None:
    ours = _fresh_li(tmp_path)
    for mode in (VectorStoreQueryMode.SPARSE, VectorStoreQueryMode.HYBRID):
        with pytest.raises(Exception) as exc:
            ours.query(_li_query(mode=mode, query_str=LI_QUERY))
        assert isinstance(exc.value, MilvusPluginsError), repr(exc.value)


@pytest.mark.parametrize("mode", ["svm", "linear_regression", "semantic_hybrid"])
def test_li_unsupported_modes_are_typed(
    li_pair: tuple[LIMilvus, SimpleVectorStore], mode: str
) -> None:
    ours, _ = li_pair
    with pytest.raises(Exception) as exc:
        ours.query(_li_query(mode=VectorStoreQueryMode(mode), query_str=LI_QUERY))
    assert isinstance(exc.value, MilvusPluginsError), repr(exc.value)


def test_li_query_without_embedding_in_default_mode_is_typed(
    li_pair: tuple[LIMilvus, SimpleVectorStore],
) -> None:
    ours, _ = li_pair
    q = VectorStoreQuery(query_str=LI_QUERY, similarity_top_k=2)
    with pytest.raises(Exception) as exc:
        ours.query(q)
    _typed_error_naming(exc, "query_embedding")


# DEFECT (fixed): output_fields=["tag"] was silently ignored: every metadata key came back
# (expected: only the asked fields, or a typed error naming output_fields).
def test_li_output_fields_is_honoured_or_refused(
    li_pair: tuple[LIMilvus, SimpleVectorStore],
) -> None:
    ours, _ = li_pair
    try:
        got = ours.query(_li_query(similarity_top_k=2, output_fields=["tag"]))
    except MilvusPluginsError as e:
        assert "output_fields" in str(e)
        return
    assert all(set(n.metadata) <= {"tag"} for n in got.nodes or [])


def test_li_get_nodes_order_missing_and_careless(
    li_pair: tuple[LIMilvus, SimpleVectorStore],
) -> None:
    ours, _ = li_pair
    assert [n.node_id for n in ours.get_nodes(node_ids=["n4", "x", "n1"])] == ["n4", "n1"]
    both = ours.get_nodes(node_ids=["n0", "n2", "n3"], filters=_mf("tag", "veg", FilterOperator.EQ))
    assert [n.node_id for n in both] == ["n2", "n3"]
    assert ours.get_nodes(node_ids=[]) in ([], ours.get_nodes())
    assert asyncio.run(ours.aget_nodes(node_ids=["n4", "n1"])) == ours.get_nodes(
        node_ids=["n4", "n1"]
    )
    for bad in ("n1", [""], [None], [1]):
        with pytest.raises(Exception) as exc:
            ours.get_nodes(node_ids=bad)  # type: ignore[arg-type]
        assert isinstance(exc.value, MilvusPluginsError), repr(exc.value)


def test_li_delete_nodes_and_delete_match_reference(tmp_path: Path) -> None:
    ours = _fresh_li(tmp_path)
    ref = SimpleVectorStore()
    ref.add(_li_nodes())
    for vs in (ours, ref):
        vs.delete_nodes(node_ids=["n1", "nope", "n1"])
        vs.delete_nodes(node_ids=["n0", "n5"], filters=_mf("tag", "fruit", FilterOperator.EQ))
        vs.delete("docB")
        vs.delete("no-such-doc")
    assert _li_ids(ours) == sorted(ref.data.embedding_dict)


@pytest.mark.parametrize(
    "call",
    [
        lambda vs: vs.delete_nodes(node_ids="n1"),
        lambda vs: vs.delete_nodes(node_ids=[""]),
        lambda vs: vs.delete_nodes(),
        lambda vs: vs.delete(""),
        lambda vs: vs.delete(None),
        lambda vs: vs.delete(["docA"]),
    ],
)
def test_li_careless_deletes_are_typed_and_delete_nothing(tmp_path: Path, call: Any) -> None:
    ours = _fresh_li(tmp_path)
    before = _li_ids(ours)
    with pytest.raises(Exception) as exc:
        call(ours)
    assert isinstance(exc.value, MilvusPluginsError), repr(exc.value)
    assert _li_ids(ours) == before


def test_li_delete_nodes_empty_list_deletes_nothing(tmp_path: Path) -> None:
    ours = _fresh_li(tmp_path)
    before = _li_ids(ours)
    with contextlib.suppress(MilvusPluginsError):
        ours.delete_nodes(node_ids=[])
    assert _li_ids(ours) == before  # the reference deletes nothing for node_ids=[]


def test_li_clear_then_reads_return_nothing(tmp_path: Path) -> None:
    ours = _fresh_li(tmp_path)
    ours.clear()
    assert ours.query(_li_query()).ids in ([], None)
    assert ours.get_nodes() == []
    ours.add(_li_nodes()[:2])
    assert _li_ids(ours) == ["n0", "n1"]


def test_li_index_retriever_parameters_match_reference(
    li_pair: tuple[LIMilvus, SimpleVectorStore],
) -> None:
    ours, ref = li_pair
    emb = KeywordEmbedding()
    ours_index = VectorStoreIndex.from_vector_store(ours, embed_model=emb)
    del ref  # SimpleVectorStore keeps no text: the reference index holds the nodes itself
    ref_index = VectorStoreIndex(nodes=_li_nodes(), embed_model=emb)
    cases: list[dict[str, Any]] = [
        {"similarity_top_k": 2},
        {"similarity_top_k": 6, "filters": _mf("year", 2022, FilterOperator.GTE)},
        {"similarity_top_k": 2, "vector_store_query_mode": "mmr"},
    ]
    for kw in cases:
        r_ours = ours_index.as_retriever(**kw)
        want = [n.node.node_id for n in ref_index.as_retriever(**kw).retrieve(LI_QUERY)]
        got = [n.node.node_id for n in r_ours.retrieve(LI_QUERY)]
        assert got == want, kw
        assert [n.node.node_id for n in asyncio.run(r_ours.aretrieve(LI_QUERY))] == got
    hybrid = ours_index.as_retriever(
        vector_store_query_mode="hybrid", similarity_top_k=2, alpha=0.5
    )
    got = [n.node.node_id for n in hybrid.retrieve(LI_QUERY)]
    assert len(got) == 2
    assert [n.node.node_id for n in asyncio.run(hybrid.aretrieve(LI_QUERY))] == got
    with pytest.raises(Exception) as exc:
        ours_index.as_retriever(similarity_top_k=0).retrieve(LI_QUERY)
    _typed_error_naming(exc, "similarity_top_k")


# ---------------------------------------------------------------- silently ignored ----


# DEFECT (fixed): similarity_search(q, k=2, fetch_k=0) on a dense store returned 2 docs; a
# hybrid store raised InvalidInputError("fetch_k=0 must be a positive integer").
def test_lc_careless_fetch_k_on_dense_search_is_typed(
    lc_pair: tuple[LCMilvus, InMemoryVectorStore],
) -> None:
    ours, _ = lc_pair
    with pytest.raises(MilvusPluginsError, match="fetch_k"):
        ours.similarity_search(QUERY, k=2, fetch_k=0)


# DEFECT (fixed): similarity_search(q, k=2, ranker=RRF()) on a dense-only store returned
# results and never used the ranker (expected: ConfigError naming ranker).
def test_lc_ranker_on_dense_only_store_is_typed(
    lc_pair: tuple[LCMilvus, InMemoryVectorStore],
) -> None:
    ours, _ = lc_pair
    with pytest.raises(MilvusPluginsError, match="ranker"):
        ours.similarity_search(QUERY, k=2, ranker=RRF())


# DEFECT (fixed): on a store built with ranker=RRF(), HYBRID queries with alpha=0.0 and
# alpha=1.0 gave the same fused list; expected the alpha or a typed error.
def test_li_alpha_on_rrf_store_is_honoured_or_refused(tmp_path: Path) -> None:
    ours = LIMilvus(
        uri=str(tmp_path / "milvus.db"),
        collection_name="r",
        dim=256,
        enable_sparse=True,
        ranker=RRF(),
    )
    ours.add(_li_nodes())
    base = {"mode": VectorStoreQueryMode.HYBRID, "query_str": LI_QUERY, "similarity_top_k": 4}
    try:
        keyword = ours.query(_li_query(**base, alpha=0.0)).ids
        vector = ours.query(_li_query(**base, alpha=1.0)).ids
    except MilvusPluginsError as e:
        assert "alpha" in str(e)
        return
    assert keyword != vector


# DEFECT (fixed): VectorStoreQuery(mmr_threshold=0.2) with query(q, mmr_threshold=0.9): 0.2
# was used silently (expected a typed error, as for embedding_field vs vector_field).
def test_li_conflicting_mmr_thresholds_are_refused(
    li_pair: tuple[LIMilvus, SimpleVectorStore],
) -> None:
    ours, _ = li_pair
    q = _li_query(mode=VectorStoreQueryMode.MMR, similarity_top_k=3, mmr_threshold=0.2)
    with pytest.raises(MilvusPluginsError, match="mmr_threshold"):
        ours.query(q, mmr_threshold=0.9)


# DEFECT (fixed): VectorStoreQuery(similarity_top_k=None) raised InvalidInputError("k=None
# must be a positive integer."): the core's name, not similarity_top_k.
def test_li_similarity_top_k_none_error_names_the_field(
    li_pair: tuple[LIMilvus, SimpleVectorStore],
) -> None:
    ours, _ = li_pair
    with pytest.raises(MilvusPluginsError, match="similarity_top_k"):
        ours.query(_li_query(similarity_top_k=None))
