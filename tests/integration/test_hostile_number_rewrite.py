"""Hostile probes of the exact-number rewrite (RELIABILITY row 146, commit 80dc7f5).

The promise: every filter selects exactly the rows the reference evaluator
(:func:`milvus_plugins.core.filters.evaluator.matches`) selects, or raises
:class:`FilterError` before anything is read or deleted, on every engine.

Held (property tests below): comparisons, negations, ``in`` / ``nin`` and nested and / or /
not with values near 2**53, 2**60, 2**62 and int64's ends, on JSON keys, declared INT64
columns and an INT64 partition key, through query, count, search and delete.

Broken (the tests named ``test_declared_array_*``): a declared ARRAY column's elements are
compared the way the engines compare them, not as Python does: ``array_contains(a,
-9223372036854775808)`` on an ARRAY of INT64 (not rewritten like the scalar INT64 column;
Milvus Lite 2.5.1 reads it as -2**63 + 1 and a delete removes the neighbouring row, Milvus
2.3.5 fails to parse it), and an int element on an ARRAY of DOUBLE (2.3.5 and Lite 2.5.1
truncate the stored doubles: ``contains("f", 0)`` finds ``[0.5]``; a list mixing ints
and floats fails in segcore).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milvus_plugins.core import (
    CollectionSpec,
    ConnectionConfig,
    FilterError,
    MilvusStore,
    Record,
    and_,
    contains,
    contains_all,
    contains_any,
    eq,
    gt,
    gte,
    in_,
    lt,
    lte,
    ne,
    nin,
    not_,
    or_,
)
from milvus_plugins.core.filters import Filter
from milvus_plugins.core.filters.evaluator import matches

B53, B60, B62, MAX, MIN = 2**53, 2**60, 2**62, 2**63 - 1, -(2**63)


def _store(uri: str, name: str, **spec: Any) -> MilvusStore:
    return MilvusStore(
        CollectionSpec(name=name, dim=2, infer_metadata_fields=False, **spec),
        connection=ConnectionConfig(uri=uri),
    )


def _write(store: MilvusStore, rows: dict[str, dict[str, Any]]) -> None:
    store.upsert(
        [
            Record(id=i, text=i, vector=[1.0, float(n)], metadata=m)
            for n, (i, m) in enumerate(rows.items())
        ]
    )


def _ids(store: MilvusStore) -> set[str]:
    return {r.id for r in store.query(None, limit=1000)}


def _exact_or_refused(store: MilvusStore, rows: dict[str, dict[str, Any]], node: Filter) -> None:
    """``node`` selects what the evaluator selects through query, count, search and delete,
    or raises FilterError with nothing deleted."""
    want = {i for i, row in rows.items() if matches(node, row)}
    try:
        expression = store.expression(node)
        got = {r.id for r in store.query(node, limit=1000)}
    except FilterError:
        assert _ids(store) == set(rows)
        return
    assert got == want, f"query {node!r} -> {expression}: got {sorted(got)} want {sorted(want)}"
    assert store.count(node) == len(want), f"count {node!r} -> {expression}"
    hits = {h.id for h in store.search([1.0, 0.0], k=len(rows) + 1, filter=node)}
    assert hits == want, f"search {node!r} -> {expression}: got {sorted(hits)}"
    if want:
        store.delete(filter=node)
        left = _ids(store)
        assert left == set(rows) - want, (
            f"delete {node!r} -> {expression}: deleted {sorted(set(rows) - left)}, "
            f"expected {sorted(want)}"
        )
        _write(store, {i: rows[i] for i in want})


# -- broken: declared ARRAY columns ---------------------------------------------------


@pytest.fixture
def array_store(backend_uri: str, collection_name: str) -> Iterator[MilvusStore]:
    store = _store(
        backend_uri,
        collection_name,
        metadata_fields={
            "a": {"type": "ARRAY", "element_type": "INT64"},
            "f": {"type": "ARRAY", "element_type": "DOUBLE"},
        },
    )
    try:
        yield store
    finally:
        store.drop()
        store.close()


INT64_ARRAY_ROWS: dict[str, dict[str, Any]] = {
    "lowest": {"a": [MIN], "f": [1.0]},
    "above_lowest": {"a": [MIN + 1], "f": [1.0]},
    "zero": {"a": [0, 5], "f": [1.0]},
}


@pytest.mark.parametrize(
    "node",
    [
        contains("a", MIN),
        contains_any("a", [MIN, 7]),
        contains_all("a", [MIN]),
    ],
    ids=repr,
)
def test_declared_array_of_int64_contains_int64_min(array_store: MilvusStore, node: Filter) -> None:
    """Lite 2.5.1: `array_contains(a, (-9223372036854775808))` selects (and deletes) the
    row holding [-2**63 + 1] instead of [-2**63]; 2.3.5: a MilvusOperationError (parse
    failure), not a FilterError. The scalar INT64 column gets the rewrite; the ARRAY does
    not."""
    _write(array_store, INT64_ARRAY_ROWS)
    _exact_or_refused(array_store, INT64_ARRAY_ROWS, node)


DOUBLE_ARRAY_ROWS: dict[str, dict[str, Any]] = {
    "half": {"a": [1], "f": [0.5]},
    "tiny": {"a": [1], "f": [5e-324]},
    "zero": {"a": [1], "f": [0.0]},
    "one_and_half": {"a": [1], "f": [1.5]},
    "one": {"a": [1], "f": [1.0]},
}


@pytest.mark.parametrize(
    "node",
    [
        contains("f", 0),
        contains("f", 1),
        contains_all("f", [0]),
        contains_any("f", [1, 3]),
    ],
    ids=repr,
)
def test_declared_array_of_double_contains_an_int(array_store: MilvusStore, node: Filter) -> None:
    """2.3.5 and Lite 2.5.1: `array_contains(f, 0)` truncates the stored doubles, so it
    finds [0.5] and [5e-324] (and a delete removes them)."""
    _write(array_store, DOUBLE_ARRAY_ROWS)
    _exact_or_refused(array_store, DOUBLE_ARRAY_ROWS, node)


@pytest.mark.parametrize(
    "node",
    [contains_any("f", [1, 0.5]), contains_all("f", [0.5, 1]), contains_any("f", [2.5, 0])],
    ids=repr,
)
def test_declared_array_of_double_contains_ints_and_floats(
    array_store: MilvusStore, node: Filter
) -> None:
    """2.3.5 and Lite 2.5.1: a list mixing ints and floats fails in segcore (Assert
    "val_case() == kFloatVal" / "kInt64Val"): a MilvusOperationError, not a FilterError."""
    _write(array_store, DOUBLE_ARRAY_ROWS)
    _exact_or_refused(array_store, DOUBLE_ARRAY_ROWS, node)


# -- held: property tests on JSON keys and INT64 columns --------------------------------

_BASES = st.sampled_from([B53, B60, B62, MAX, MIN, 10**16, 2**54, 0])
INTS = st.builds(
    lambda base, offset, sign: max(MIN, min(MAX, sign * base + offset)),
    _BASES,
    st.integers(-260, 260),
    st.sampled_from([1, -1]),
)
FLOATS = st.one_of(INTS.map(float), st.sampled_from([-0.0, 0.0, 0.5, 2.5, 1e19, -1e19]))
NUMBERS = st.one_of(INTS, FLOATS)
OTHERS = st.sampled_from([True, False, "x", "1", [1], None])  # None: the key is missing
COMPARE: list[Callable[[str, Any], Filter]] = [eq, ne, lt, lte, gt, gte]


def _trees(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Filter]:
    leaf = st.one_of(
        st.builds(lambda op, v: op("n", v), st.sampled_from(COMPARE), values),
        st.builds(lambda vs: in_("n", vs), st.lists(values, min_size=1, max_size=3)),
        st.builds(lambda vs: nin("n", vs), st.lists(values, min_size=1, max_size=3)),
    )
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            inner.map(not_),
            st.lists(inner, min_size=1, max_size=3).map(lambda xs: and_(*xs)),
            st.lists(inner, min_size=1, max_size=3).map(lambda xs: or_(*xs)),
        ),
        max_leaves=4,
    )


def _check_property(store: MilvusStore, values: list[Any], node: Filter, api: str) -> None:
    if store.count():
        store.clear()
    rows = {f"r{i}": ({"n": v} if v is not None else {"o": 1}) for i, v in enumerate(values)}
    _write(store, rows)
    want = {i for i, row in rows.items() if matches(node, row)}
    try:
        expression = store.expression(node)
        if api == "query":
            got = {r.id for r in store.query(node, limit=100)}
        elif api == "count":
            assert store.count(node) == len(want), f"count {node!r} -> {expression}"
            return
        elif api == "search":
            got = {h.id for h in store.search([1.0, 0.0], k=len(rows) + 1, filter=node)}
        else:
            if not want:
                return
            store.delete(filter=node)
            got = set(rows) - _ids(store)
    except FilterError:
        assert _ids(store) == set(rows)
        return
    assert got == want, f"{api} {node!r} -> {expression}: rows {rows} got {got} want {want}"


_PROPERTY = settings(
    max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)


def test_json_numbers_near_the_double_limits_property(
    backend_uri: str, collection_name: str
) -> None:
    store = _store(backend_uri, collection_name)

    @_PROPERTY
    @given(
        st.lists(st.one_of(NUMBERS, NUMBERS, OTHERS), min_size=3, max_size=8),
        _trees(NUMBERS),
        st.sampled_from(["query", "count", "search", "delete"]),
    )
    def run(values: list[Any], node: Filter, api: str) -> None:
        _check_property(store, values, node, api)

    try:
        run()
    finally:
        store.drop()
        store.close()


@pytest.mark.parametrize("partition_key", [False, True], ids=["column", "partition_key"])
def test_int64_column_extremes_property(
    backend_uri: str, collection_name: str, partition_key: bool
) -> None:
    extra: dict[str, Any] = {"metadata_fields": {"n": "INT64"}}
    if partition_key:
        extra["partition_key"] = "n"
    try:
        store = _store(backend_uri, collection_name, **extra)
        store.count()
    except Exception as exc:  # Milvus Lite 2.5.1 has no partition key
        if partition_key and "partition key is not supported" in str(exc):
            pytest.skip(str(exc)[:100])
        raise

    @_PROPERTY
    @given(
        st.lists(INTS, min_size=3, max_size=8),
        _trees(INTS),
        st.sampled_from(["query", "count", "search", "delete"]),
    )
    def run(values: list[int], node: Filter, api: str) -> None:
        _check_property(store, values, node, api)

    try:
        run()
    finally:
        store.drop()
        store.close()


# -- held: JSON lists and the adapters' filters ----------------------------------------

LIST_ROWS: dict[str, dict[str, Any]] = {
    "int": {"l": [1]},
    "float": {"l": [1.0]},
    "negzero": {"l": [-0.0]},
    "zero": {"l": [0]},
    "bool": {"l": [True]},
    "string": {"l": ["1"]},
    "tiny": {"l": [5e-324]},
    "below": {"l": [B53 - 1]},
    "big": {"l": [B53 + 1]},
    "mixed": {"l": [2.5, 0, "a"]},
    "scalar": {"l": 1},
    "missing": {"o": 1},
}


@pytest.mark.parametrize(
    "node",
    [
        contains("l", 1),
        contains("l", 0),
        contains("l", -0.0),
        contains("l", B53 - 1),
        contains("l", float(B53 - 1)),
        contains_any("l", [0, 2.5]),
        contains_all("l", [0, 2.5]),
        contains_any("l", [True, 1]),
        contains("l", B53 + 1),
    ],
    ids=repr,
)
def test_json_list_elements(backend_uri: str, collection_name: str, node: Filter) -> None:
    store = _store(backend_uri, collection_name)
    try:
        _write(store, LIST_ROWS)
        _exact_or_refused(store, LIST_ROWS, node)
    finally:
        store.drop()
        store.close()


def test_langchain_and_llamaindex_filters_on_big_numbers(
    backend_uri: str, collection_name: str
) -> None:
    from llama_index.core.vector_stores.types import (
        FilterOperator,
        MetadataFilter,
        MetadataFilters,
    )

    from milvus_plugins.core.dict_filters import filter_from_dict
    from milvus_plugins.llama_index.filters import to_core_filter

    rows: dict[str, dict[str, Any]] = {
        "a": {"n": B53 + 1},
        "b": {"n": float(B53)},
        "c": {"n": B53},
        "d": {"n": B60 + 1},
        "e": {"n": float(B60)},
        "f": {"n": "x"},
        "g": {"o": 1},
        "i": {"n": 1},
        "j": {"n": 1.0},
    }
    nodes: list[Filter] = [
        filter_from_dict(d)
        for d in (
            {"n": B53 + 1},
            {"n": {"$gt": B53}},
            {"n": {"$lte": B53 + 1}},
            {"n": {"$ne": B53 + 1}},
            {"n": {"$in": [B53 + 1, B60 + 1]}},
            {"n": {"$nin": [B53 + 1]}},
            {"$not": {"n": {"$gte": B60 + 1}}},
            {"$or": [{"n": 2.0**60}, {"n": {"$lt": -1}}]},
        )
    ]
    for value in (B53 + 1, B60 + 1, float(B60)):
        for op in (FilterOperator.EQ, FilterOperator.NE, FilterOperator.GT, FilterOperator.LTE):
            item = MetadataFilter(key="n", value=value, operator=op)
            node = to_core_filter(MetadataFilters(filters=[item]))
            assert node is not None
            nodes.append(node)
    store = _store(backend_uri, collection_name)
    try:
        _write(store, rows)
        for node in nodes:
            _exact_or_refused(store, rows, node)
    finally:
        store.drop()
        store.close()


def test_int64_min_on_a_column_deletes_only_its_row(backend_uri: str) -> None:
    name = f"t_{uuid.uuid4().hex[:12]}"
    rows: dict[str, dict[str, Any]] = {
        "lowest": {"n": MIN},
        "above": {"n": MIN + 1},
        "top": {"n": MAX},
        "zero": {"n": 0},
    }
    store = _store(backend_uri, name, metadata_fields={"n": "INT64"})
    try:
        _write(store, rows)
        for node in (
            eq("n", MIN),
            lte("n", MIN),
            in_("n", [MIN, 0]),
            not_(gt("n", MIN)),
            nin("n", [MIN + 1, MAX, 0]),
            not_(ne("n", MIN)),
            gte("n", MIN),
            lt("n", MIN + 1),
        ):
            _exact_or_refused(store, rows, node)
    finally:
        store.drop()
        store.close()


@pytest.mark.parametrize(
    ("rows", "node"),
    [(INT64_ARRAY_ROWS, contains("a", MIN)), (DOUBLE_ARRAY_ROWS, contains("f", 0))],
    ids=["int64_min_in_int64_array", "int_in_double_array"],
)
def test_declared_array_delete_removes_exactly_the_matching_rows(
    array_store: MilvusStore, rows: dict[str, dict[str, Any]], node: Filter
) -> None:
    """A delete first (no query before it): Lite 2.5.1 deletes `above_lowest` (holding
    [-2**63 + 1]) and keeps `lowest`; 2.3.5 and Lite 2.5.1 delete [0.5] and [5e-324] with
    contains("f", 0)."""
    _write(array_store, rows)
    want = {i for i, row in rows.items() if matches(node, row)}
    try:
        array_store.delete(filter=node)
    except FilterError:
        assert _ids(array_store) == set(rows)
        return
    deleted = set(rows) - _ids(array_store)
    assert deleted == want, f"{array_store.expression(node)} deleted {sorted(deleted)}"
