"""LangChain filter dicts: the pure translation (table-driven) and the same table on Lite."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.embeddings import DeterministicFakeEmbedding

from milvus_plugins.core.errors import FilterError
from milvus_plugins.core.filters import Raw, and_, eq, gt, matches
from milvus_plugins.langchain import MilvusVectorStore
from milvus_plugins.langchain.filters import dict_to_filter, to_core_filter

ROWS: dict[str, dict[str, Any]] = {
    "r1": {"genre": "drama", "year": 1999, "rating": 8.5, "tags": ["a", "b"], "flag": True},
    "r2": {"genre": "sci-fi", "year": 2005, "rating": 7.0, "tags": ["b"], "flag": False},
    "r3": {"genre": "comedy", "year": 2012, "rating": 6.1, "tags": []},
    "r4": {"genre": "sci-fi", "year": 2020, "rating": 9.0},
    "r5": {"year": 1985, "note": "no genre"},
}

CASES: list[tuple[str, dict[str, Any], set[str]]] = [
    ("implicit_eq", {"genre": "sci-fi"}, {"r2", "r4"}),
    ("eq", {"genre": {"$eq": "drama"}}, {"r1"}),
    ("ne_keeps_missing", {"genre": {"$ne": "sci-fi"}}, {"r1", "r3", "r5"}),
    ("gt", {"year": {"$gt": 2005}}, {"r3", "r4"}),
    ("gte", {"year": {"$gte": 2005}}, {"r2", "r3", "r4"}),
    ("lt", {"year": {"$lt": 1999}}, {"r5"}),
    ("lte", {"year": {"$lte": 1999}}, {"r1", "r5"}),
    ("float_gt", {"rating": {"$gt": 8.0}}, {"r1", "r4"}),
    ("in", {"genre": {"$in": ["drama", "comedy"]}}, {"r1", "r3"}),
    ("in_empty", {"genre": {"$in": []}}, set()),
    ("nin_keeps_missing", {"genre": {"$nin": ["drama", "comedy"]}}, {"r2", "r4", "r5"}),
    ("like_prefix", {"genre": {"$like": "sci%"}}, {"r2", "r4"}),
    ("like_one_char", {"genre": {"$like": "d_ama"}}, {"r1"}),
    ("exists_true", {"genre": {"$exists": True}}, {"r1", "r2", "r3", "r4"}),
    ("exists_false", {"genre": {"$exists": False}}, {"r5"}),
    ("contains", {"tags": {"$contains": "b"}}, {"r1", "r2"}),
    ("bool", {"flag": False}, {"r2"}),
    ("two_keys_and", {"genre": "sci-fi", "year": {"$gt": 2010}}, {"r4"}),
    ("two_ops_and", {"year": {"$gt": 1990, "$lt": 2010}}, {"r1", "r2"}),
    ("and", {"$and": [{"genre": "sci-fi"}, {"rating": {"$gte": 8}}]}, {"r4"}),
    ("or", {"$or": [{"genre": "drama"}, {"year": {"$lt": 1990}}]}, {"r1", "r5"}),
    ("not_subfilter", {"$not": {"genre": "sci-fi"}}, {"r1", "r3", "r5"}),
    ("not_operator", {"year": {"$not": {"$in": [1999, 2005]}}}, {"r3", "r4", "r5"}),
    (
        "not_and",
        {"$not": {"$and": [{"genre": "sci-fi"}, {"year": {"$lt": 2010}}]}},
        {"r1", "r3", "r4", "r5"},
    ),
    (
        "nested",
        {
            "$or": [
                {"$and": [{"genre": "sci-fi"}, {"$not": {"year": {"$lt": 2010}}}]},
                {"flag": True},
            ]
        },
        {"r1", "r4"},
    ),
    ("empty_matches_all", {}, set(ROWS)),
]
CASE_IDS = [c[0] for c in CASES]


# -- the pure translation ------------------------------------------------------------------


@pytest.mark.parametrize(("name", "spec", "expected"), CASES, ids=CASE_IDS)
def test_dict_filter_selects_the_expected_rows(
    name: str, spec: dict[str, Any], expected: set[str]
) -> None:
    tree = dict_to_filter(spec)
    assert {rid for rid, meta in ROWS.items() if matches(tree, meta)} == expected


def test_several_keys_are_an_and() -> None:
    assert dict_to_filter({"a": 1, "b": 2}) == and_(eq("a", 1), eq("b", 2))


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"year": {"$regex": "x"}}, "$regex"),
        ({"year": {"$gtx": 1}}, "$gtx"),
        ({"$nor": [{"a": 1}]}, "$nor"),
        ({"$where": "1"}, "$where"),
    ],
)
def test_unknown_operator_is_named(spec: dict[str, Any], fragment: str) -> None:
    with pytest.raises(FilterError, match=fragment.replace("$", r"\$")):
        dict_to_filter(spec)


@pytest.mark.parametrize(
    "spec",
    [
        {"$and": {"a": 1}},
        {"$or": []},
        {"$not": [{"a": 1}]},
        {"a": [1, 2]},
        {"a": {}},
        {"a": None},
        {"a": {"$in": "abc"}},
        {"a": {"$exists": "yes"}},
        {"a": {"$gt": [1]}},
        {"a": {"$eq": {"nested": 1}}},
        {"": 1},
    ],
    ids=repr,
)
def test_malformed_filter_is_a_value_error(spec: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        dict_to_filter(spec)


def test_to_core_filter_accepts_every_documented_form() -> None:
    core = eq("a", 1) & gt("b", 2)
    assert to_core_filter(None) is None
    assert to_core_filter({}) is None
    assert to_core_filter(core) is core
    assert to_core_filter('metadata["a"] == 1') == 'metadata["a"] == 1'
    assert to_core_filter(Raw("x > 1")) == Raw("x > 1")
    assert to_core_filter({"a": 1}) == eq("a", 1)


def test_to_core_filter_rejects_other_types() -> None:
    with pytest.raises(FilterError):
        to_core_filter(42)  # type: ignore[arg-type]


# -- the same table on Milvus Lite -----------------------------------------------------------


def _seed(store: MilvusVectorStore, rows: Mapping[str, Mapping[str, Any]]) -> None:
    store.add_texts(
        [f"row {rid}" for rid in rows], [dict(m) for m in rows.values()], ids=list(rows)
    )


@pytest.fixture(scope="module", params=["json", "declared"])
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MilvusVectorStore]:
    """One store per layout: metadata in JSON only, or with typed columns for some keys."""
    uri = str(tmp_path_factory.mktemp(f"filters_{request.param}") / "milvus.db")
    fields = {"year": "INT64", "genre": "VARCHAR", "rating": "DOUBLE"}
    store = MilvusVectorStore(
        DeterministicFakeEmbedding(size=8),
        uri=uri,
        collection_name="filters",
        metadata_fields=fields if request.param == "declared" else None,
    )
    _seed(store, ROWS)
    yield store
    store.close()


@pytest.mark.parametrize(("name", "spec", "expected"), CASES, ids=CASE_IDS)
def test_dict_filter_on_lite_returns_only_matching_rows(
    seeded: MilvusVectorStore, name: str, spec: dict[str, Any], expected: set[str]
) -> None:
    docs = seeded.similarity_search("anything", k=len(ROWS), filter=spec)
    assert {d.id for d in docs} == expected
    for doc in docs:
        assert doc.metadata == ROWS[doc.id or ""]


def test_raw_expression_string_is_the_escape_hatch(seeded: MilvusVectorStore) -> None:
    expr = 'metadata["note"] == "no genre"'
    assert [d.id for d in seeded.similarity_search("x", k=5, filter=expr)] == ["r5"]


def test_core_filter_is_accepted(seeded: MilvusVectorStore) -> None:
    docs = seeded.similarity_search("x", k=5, filter=eq("genre", "sci-fi") & gt("year", 2010))
    assert [d.id for d in docs] == ["r4"]


# -- hostile keys and values -----------------------------------------------------------------

HOSTILE_VALUES = [
    'a"b',
    "a\\b",
    'back\\"slash',
    "trailing\\",
    "line\nbreak",
    "tab\there",
    "ünï©ødé 🚀 中文",
    '" or id != "',
    "' or 1=1 --",
    '") or (metadata["k"] != "',
    "%",
    "_",
]
HOSTILE_KEYS = ['we"ird', "sp ace", "new\nline", "ключ", "back\\slash", '"] or true or ["']


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MilvusVectorStore]:
    uri = str(tmp_path_factory.mktemp("hostile") / "milvus.db")
    store = MilvusVectorStore(DeterministicFakeEmbedding(size=8), uri=uri)
    rows: dict[str, dict[str, Any]] = {f"v{i}": {"k": v} for i, v in enumerate(HOSTILE_VALUES)}
    rows.update({f"key{i}": {key: 1} for i, key in enumerate(HOSTILE_KEYS)})
    rows["plain"] = {"k": "plain", "other": 1}
    _seed(store, rows)
    yield store
    store.close()


def _ids(store: MilvusVectorStore, spec: Any) -> set[str]:
    return {d.id or "" for d in store.similarity_search("q", k=50, filter=spec)}


@pytest.mark.parametrize("index", range(len(HOSTILE_VALUES)))
def test_hostile_value_matches_only_its_row(hostile: MilvusVectorStore, index: int) -> None:
    value = HOSTILE_VALUES[index]
    assert _ids(hostile, {"k": value}) == {f"v{index}"}
    assert _ids(hostile, {"k": {"$in": [value, "plain"]}}) == {f"v{index}", "plain"}
    everything_else = {f"v{i}" for i in range(len(HOSTILE_VALUES)) if i != index} | {"plain"}
    assert _ids(hostile, {"k": {"$ne": value}}) >= everything_else
    assert f"v{index}" not in _ids(hostile, {"k": {"$ne": value}})


@pytest.mark.parametrize("index", range(len(HOSTILE_KEYS)))
def test_hostile_key_matches_only_its_row(hostile: MilvusVectorStore, index: int) -> None:
    assert _ids(hostile, {HOSTILE_KEYS[index]: 1}) == {f"key{index}"}
    assert _ids(hostile, {HOSTILE_KEYS[index]: {"$exists": True}}) == {f"key{index}"}


def test_hostile_value_in_delete_removes_only_its_row(lite_uri: str) -> None:
    store = MilvusVectorStore(DeterministicFakeEmbedding(size=8), uri=lite_uri)
    _seed(store, {"a": {"k": '" or id != "'}, "b": {"k": "b"}, "c": {"k": "c"}})
    assert store.delete(filter={"k": '" or id != "'}) is True
    assert sorted(d.id or "" for d in store.get_by_ids(["a", "b", "c"])) == ["b", "c"]


_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x00"),
    max_size=12,
) | st.sampled_from(HOSTILE_VALUES)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(value=_TEXT)
def test_any_string_value_round_trips_through_an_equality_filter(
    tmp_path: Path, value: str
) -> None:
    # One store per test function (hypothesis reuses tmp_path): upsert replaces row "x".
    store = MilvusVectorStore(DeterministicFakeEmbedding(size=4), uri=str(tmp_path / "p.db"))
    store.add_texts(["decoy", "target"], [{"k": value + "!"}, {"k": value}], ids=["decoy", "x"])
    assert _ids(store, {"k": value}) == {"x"}
    store.close()
