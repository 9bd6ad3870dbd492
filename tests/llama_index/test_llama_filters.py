"""MetadataFilters -> core filters: every operator and condition, on Milvus Lite.

The same table runs three ways: the expected node ids, LlamaIndex's own reference
evaluator (``build_metadata_filter_fn``) where it defines the case, and Milvus Lite
through ``query`` and ``get_nodes``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
)
from llama_index.core.vector_stores.utils import build_metadata_filter_fn

from milvus_plugins.core import filters as core
from milvus_plugins.core.errors import FilterError
from milvus_plugins.llama_index import MilvusVectorStore
from milvus_plugins.llama_index.filters import metadata_filter, to_core_filter

Op = FilterOperator

ROWS: dict[str, tuple[dict[str, Any], str | None]] = {
    "n1": (
        {"genre": "drama", "year": 1999, "rating": 8.5, "tags": ["a", "b"], "title": "The Night"},
        "docA",
    ),
    "n2": (
        {"genre": "sci-fi", "year": 2005, "rating": 7.0, "tags": ["b"], "title": "Star Path"},
        "docA",
    ),
    "n3": ({"genre": "comedy", "year": 2012, "rating": 6.1, "tags": [], "title": ""}, "docB"),
    "n4": (
        {"genre": "sci-fi", "year": 2020, "rating": 9.0, "tags": None, "title": "Night Star"},
        "docC",
    ),
    "n5": ({"year": 1985}, None),
}
ALL = set(ROWS)


def f(key: str, value: Any, op: FilterOperator = Op.EQ) -> MetadataFilter:
    return MetadataFilter(key=key, value=value, operator=op)


def filters(*items: MetadataFilter | MetadataFilters, condition: str = "and") -> MetadataFilters:
    return MetadataFilters(filters=list(items), condition=FilterCondition(condition))


# (name, filters, expected ids, LlamaIndex's reference evaluator defines it)
CASES: list[tuple[str, MetadataFilters, set[str], bool]] = [
    ("eq_string", filters(f("genre", "sci-fi")), {"n2", "n4"}, True),
    ("eq_int", filters(f("year", 1999)), {"n1"}, True),
    ("eq_float", filters(f("rating", 8.5)), {"n1"}, True),
    ("ne_keeps_missing", filters(f("genre", "sci-fi", Op.NE)), {"n1", "n3", "n5"}, True),
    ("gt", filters(f("year", 2005, Op.GT)), {"n3", "n4"}, True),
    ("gte", filters(f("year", 2005, Op.GTE)), {"n2", "n3", "n4"}, True),
    ("lt", filters(f("year", 1999, Op.LT)), {"n5"}, True),
    ("lte", filters(f("year", 1999, Op.LTE)), {"n1", "n5"}, True),
    ("gt_float", filters(f("rating", 8.0, Op.GT)), {"n1", "n4"}, True),
    ("in_strings", filters(f("genre", ["drama", "comedy"], Op.IN)), {"n1", "n3"}, True),
    ("in_ints", filters(f("year", [1999, 2020], Op.IN)), {"n1", "n4"}, True),
    ("in_empty", filters(f("genre", [], Op.IN)), set(), True),
    (
        "nin_keeps_missing",
        filters(f("genre", ["drama", "comedy"], Op.NIN)),
        {"n2", "n4", "n5"},
        True,
    ),
    ("any", filters(f("tags", ["a", "z"], Op.ANY)), {"n1"}, True),
    ("any_shared", filters(f("tags", ["b"], Op.ANY)), {"n1", "n2"}, True),
    ("all", filters(f("tags", ["a", "b"], Op.ALL)), {"n1"}, True),
    ("contains", filters(f("tags", "b", Op.CONTAINS)), {"n1", "n2"}, True),
    ("text_match", filters(f("title", "Night", Op.TEXT_MATCH)), {"n1", "n4"}, True),
    ("text_match_is_case_sensitive", filters(f("title", "night", Op.TEXT_MATCH)), set(), True),
    ("is_empty_list", filters(f("tags", None, Op.IS_EMPTY)), {"n3", "n4", "n5"}, True),
    ("is_empty_string", filters(f("title", None, Op.IS_EMPTY)), {"n3", "n5"}, True),
    ("is_empty_missing", filters(f("genre", None, Op.IS_EMPTY)), {"n5"}, True),
    ("is_empty_number", filters(f("year", None, Op.IS_EMPTY)), set(), True),
    ("and", filters(f("genre", "sci-fi"), f("year", 2010, Op.GT)), {"n4"}, True),
    (
        "or",
        filters(f("genre", "drama"), f("year", 1990, Op.LT), condition="or"),
        {"n1", "n5"},
        True,
    ),
    ("not_one", filters(f("genre", "sci-fi"), condition="not"), {"n1", "n3", "n5"}, True),
    (
        "not_matches_when_none_match",
        filters(f("genre", "sci-fi"), f("year", 2000, Op.LT), condition="not"),
        {"n3"},
        True,
    ),
    ("not_is_empty", filters(f("tags", None, Op.IS_EMPTY), condition="not"), {"n1", "n2"}, True),
    ("empty_matches_all", filters(), ALL, True),
    (
        "nested",
        filters(
            filters(f("genre", "drama"), f("genre", "comedy"), condition="or"),
            filters(f("year", 2000, Op.LT), condition="not"),
        ),
        {"n3"},
        False,
    ),
    (
        "nested_or_of_ands",
        filters(
            filters(f("genre", "sci-fi"), f("rating", 8.0, Op.GT)),
            filters(f("year", 1990, Op.LT)),
            condition="or",
        ),
        {"n4", "n5"},
        False,
    ),
    ("ref_doc_id_eq", filters(f("ref_doc_id", "docA")), {"n1", "n2"}, False),
    ("doc_id_in", filters(f("doc_id", ["docA", "docB"], Op.IN)), {"n1", "n2", "n3"}, False),
    ("ref_doc_id_ne", filters(f("ref_doc_id", "docA", Op.NE)), {"n3", "n4", "n5"}, False),
    ("ref_doc_id_nin", filters(f("ref_doc_id", ["docA"], Op.NIN)), {"n3", "n4", "n5"}, False),
    ("ref_doc_id_is_empty", filters(f("ref_doc_id", None, Op.IS_EMPTY)), {"n5"}, False),
    ("ref_doc_id_text_match", filters(f("ref_doc_id", "doc", Op.TEXT_MATCH)), ALL - {"n5"}, False),
    ("ref_doc_id_gt", filters(f("ref_doc_id", "docA", Op.GT)), {"n3", "n4"}, False),
]


def node(node_id: str) -> TextNode:
    metadata, doc = ROWS[node_id]
    relationships = {NodeRelationship.SOURCE: RelatedNodeInfo(node_id=doc)} if doc else {}
    return TextNode(
        id_=node_id,
        text=f"text of {node_id}",
        embedding=[1.0, float(int(node_id[1:])), 0.5],
        metadata={k: v for k, v in metadata.items()},
        relationships=relationships,
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MilvusVectorStore]:
    uri = str(tmp_path_factory.mktemp("filters") / "milvus.db")
    vector_store = MilvusVectorStore(uri=uri, collection_name="filters")
    vector_store.add([node(n) for n in ROWS])
    yield vector_store
    vector_store.store.close()


@pytest.fixture(scope="module")
def typed_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MilvusVectorStore]:
    uri = str(tmp_path_factory.mktemp("typed") / "milvus.db")
    vector_store = MilvusVectorStore(
        uri=uri,
        collection_name="typed",
        metadata_fields={
            "genre": "VARCHAR",
            "year": "INT64",
            "rating": "DOUBLE",
            "tags": {"type": "ARRAY", "element_type": "VARCHAR"},
        },
    )
    vector_store.add([node(n) for n in ROWS])
    yield vector_store
    vector_store.store.close()


def search_ids(store: MilvusVectorStore, where: MetadataFilters) -> set[str]:
    query = VectorStoreQuery(query_embedding=[1.0, 1.0, 1.0], similarity_top_k=10, filters=where)
    return set(store.query(query).ids or [])


@pytest.mark.parametrize(
    ("where", "expected"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES]
)
def test_filter_selects_expected_nodes(
    store: MilvusVectorStore, where: MetadataFilters, expected: set[str]
) -> None:
    assert search_ids(store, where) == expected
    assert {n.node_id for n in store.get_nodes(filters=where)} == expected


@pytest.mark.parametrize(
    ("where", "expected"),
    [(c[1], c[2]) for c in CASES if c[3]],
    ids=[c[0] for c in CASES if c[3]],
)
def test_table_agrees_with_llama_index_reference(
    where: MetadataFilters, expected: set[str]
) -> None:
    reference = build_metadata_filter_fn(lambda node_id: ROWS[node_id][0], where)
    assert {n for n in ROWS if reference(n)} == expected


TYPED_CASES = [
    c
    for c in CASES
    if c[0]
    in {
        "eq_string",
        "eq_int",
        "eq_float",
        "ne_keeps_missing",
        "gt",
        "lte",
        "in_strings",
        "in_ints",
        "nin_keeps_missing",
        "any",
        "all",
        "contains",
        "is_empty_list",
        "is_empty_missing",
        "is_empty_number",
        "not_matches_when_none_match",
        "nested",
    }
]


@pytest.mark.parametrize(
    ("where", "expected"), [(c[1], c[2]) for c in TYPED_CASES], ids=[c[0] for c in TYPED_CASES]
)
def test_filter_on_declared_typed_fields(
    typed_store: MilvusVectorStore, where: MetadataFilters, expected: set[str]
) -> None:
    assert search_ids(typed_store, where) == expected


async def test_async_query_and_get_nodes_filter_too(store: MilvusVectorStore) -> None:
    where = filters(f("tags", None, Op.IS_EMPTY))
    query = VectorStoreQuery(query_embedding=[1.0, 1.0, 1.0], similarity_top_k=10, filters=where)
    assert set((await store.aquery(query)).ids or []) == {"n3", "n4", "n5"}
    assert {n.node_id for n in await store.aget_nodes(filters=where)} == {"n3", "n4", "n5"}


# -- translation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (f("k", "v"), core.eq("k", "v")),
        (f("k", 3, Op.NE), core.ne("k", 3)),
        (f("k", 1, Op.GT), core.gt("k", 1)),
        (f("k", 1.5, Op.GTE), core.gte("k", 1.5)),
        (f("k", 1, Op.LT), core.lt("k", 1)),
        (f("k", 1, Op.LTE), core.lte("k", 1)),
        (f("k", ["a", "b"], Op.IN), core.in_("k", ["a", "b"])),
        (f("k", [3, 2], Op.NIN), core.nin("k", [3, 2])),
        (f("k", ["a"], Op.ANY), core.contains_any("k", ["a"])),
        (f("k", ["a"], Op.ALL), core.contains_all("k", ["a"])),
        (f("k", "a", Op.CONTAINS), core.contains("k", "a")),
        (f("k", "sub", Op.TEXT_MATCH), core.text_contains("k", "sub")),
        (f("k", None, Op.IS_EMPTY), core.is_empty("k")),
    ],
    ids=lambda value: getattr(value, "operator", "") if isinstance(value, MetadataFilter) else "",
)
def test_every_operator_maps_to_one_core_filter(item: MetadataFilter, expected: Any) -> None:
    assert metadata_filter(item) == expected


def test_not_condition_is_none_of_the_filters() -> None:
    where = filters(f("a", 3), f("b", 2), condition="not")
    assert to_core_filter(where) == core.not_(core.or_(core.eq("a", 3), core.eq("b", 2)))


def test_zero_and_one_also_match_the_boolean_they_equal() -> None:
    # LlamaIndex's MetadataFilter takes no True/False; its own stores match 1 to True.
    assert metadata_filter(f("k", 1)) == core.or_(core.eq("k", 1), core.eq("k", True))
    assert metadata_filter(f("k", 0.0, Op.NE)) == core.and_(core.ne("k", 0.0), core.ne("k", False))
    assert metadata_filter(f("k", [1, 2, 0], Op.IN)) == core.or_(
        core.in_("k", [1, 2, 0]), core.in_("k", [True, False])
    )
    assert metadata_filter(f("k", [2, 3], Op.NIN)) == core.nin("k", [2, 3])
    assert metadata_filter(f("k", 1, Op.GT)) == core.gt("k", 1)  # order: as given


def test_declared_columns_decide_what_zero_and_one_mean() -> None:
    from milvus_plugins.core import CollectionSpec
    from milvus_plugins.llama_index.filters import declared_types

    spec = CollectionSpec(name="c", metadata_fields={"open": "BOOL", "n": "INT64", "s": "VARCHAR"})
    kinds = declared_types(spec)
    assert metadata_filter(f("open", 1), kinds) == core.eq("open", True)
    assert metadata_filter(f("open", [0, 1], Op.NIN), kinds) == core.nin("open", [False, True])
    assert metadata_filter(f("n", 1), kinds) == core.eq("n", 1)
    assert metadata_filter(f("s", 1), kinds) == core.eq("s", 1)  # refused later
    assert metadata_filter(f("other", 1), kinds) == core.or_(
        core.eq("other", 1), core.eq("other", True)
    )


def test_no_filters_means_no_filter() -> None:
    assert to_core_filter(None) is None
    assert to_core_filter(filters()) is None
    assert to_core_filter(filters(condition="or")) is None


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (f("k", "Night", Op.TEXT_MATCH_INSENSITIVE), "case-insensitive"),
        (f("k", "50%", Op.TEXT_MATCH), "'%' and '_'"),
        (f("k", "snake_case", Op.TEXT_MATCH), "'%' and '_'"),
        (f("k", 3, Op.TEXT_MATCH), "string"),
        (f("k", None), "IS_EMPTY"),
        (f("k", ["a", "b"]), "single value"),
        (f("k", ["a"], Op.CONTAINS), "single value"),
        (f("k", "a", Op.IN), "list"),
        (f("k", "a", Op.ANY), "list"),
        (f("text", "x"), "field of the collection"),
        (f("id", "x"), "node_ids"),
        (f("ref_doc_id", ["d"], Op.ANY), "source document"),
    ],
)
def test_inexpressible_filters_raise_filter_error(item: MetadataFilter, message: str) -> None:
    with pytest.raises(FilterError, match=message):
        metadata_filter(item)


def test_filter_errors_surface_from_query(store: MilvusVectorStore) -> None:
    where = filters(f("title", "night", Op.TEXT_MATCH_INSENSITIVE))
    with pytest.raises(FilterError):
        search_ids(store, where)
    with pytest.raises(ValueError):  # FilterError is a ValueError, as LlamaIndex raises
        store.get_nodes(filters=where)


# -- hostile values -----------------------------------------------------------------------

HOSTILE = [
    '" or id != "',
    "' or 1 == 1 or '",
    'a\\" or true or \\"',
    "back\\slash\\",
    "new\nline\ttab\r",
    ") or (true",
    "ünïcödé 日本 😀",
    'metadata["genre"]',
]


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MilvusVectorStore]:
    uri = str(tmp_path_factory.mktemp("hostile") / "milvus.db")
    vector_store = MilvusVectorStore(uri=uri, collection_name="hostile")
    nodes = [
        TextNode(
            id_=f"h{i}",
            text=f"hostile {i}",
            embedding=[1.0, float(i)],
            metadata={"name": value, 'we"ird key\\': value, "names": [value]},
            relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=value)},
        )
        for i, value in enumerate(HOSTILE)
    ]
    nodes.append(TextNode(id_="plain", text="plain", embedding=[0.0, 1.0], metadata={"name": "x"}))
    vector_store.add(nodes)
    yield vector_store
    vector_store.store.close()


@pytest.mark.parametrize("index", range(len(HOSTILE)))
def test_hostile_value_matches_only_its_node(hostile_store: MilvusVectorStore, index: int) -> None:
    value = HOSTILE[index]
    expected = [f"h{index}"]

    def found(where: MetadataFilters) -> list[str]:
        return sorted(n.node_id for n in hostile_store.get_nodes(filters=where))

    assert found(filters(f("name", value))) == expected
    assert found(filters(f('we"ird key\\', value))) == expected
    assert found(filters(f("name", [value, "nope"], Op.IN))) == expected
    assert found(filters(f("names", value, Op.CONTAINS))) == expected
    assert found(filters(f("names", [value], Op.ANY))) == expected
    assert found(filters(f("ref_doc_id", value))) == expected
    assert len(found(filters(f("name", value, Op.NE)))) == len(HOSTILE)
    if "%" not in value and "_" not in value:
        assert expected[0] in found(filters(f("name", value, Op.TEXT_MATCH)))


def test_hostile_ref_doc_id_deletes_only_its_document(tmp_path: Path) -> None:
    vector_store = MilvusVectorStore(uri=str(tmp_path / "m.db"), collection_name="c")
    vector_store.add(
        [
            TextNode(
                id_=f"n{i}",
                text="t",
                embedding=[1.0, float(i)],
                relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=value)},
            )
            for i, value in enumerate(HOSTILE)
        ]
    )
    vector_store.delete(HOSTILE[0])
    assert len(vector_store.get_nodes()) == len(HOSTILE) - 1
    assert vector_store.get_nodes(node_ids=["n0"]) == []
