"""The filter compiler against both backends: Milvus returns exactly what ``matches`` accepts.

Hypothesis draws metadata keys (any unicode, quotes, backslashes, operators, JSON-path
syntax), rows of values of every JSON kind under them (numbers, strings, bools, lists,
objects, ``None``, missing) and random filter trees, and checks on Milvus Lite and on the
Milvus 2.3.5 server alike that the ids a query returns are exactly the rows the
pure-Python evaluator :func:`milvus_plugins.core.matches` accepts.

A filter the connected engine cannot express exactly must raise :class:`FilterError`
instead of answering differently; that is allowed only where the engine's
:class:`~milvus_plugins.core.filters.Dialect` lacks a feature (never on a full dialect).
The value strategies are shared with the Lite-only property test in
``test_core_filters.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.integration.test_core_filters import (
    FIXED_ROWS,
    HOSTILE,
    HOSTILE_KEYS,
    bool_scalars,
    number_scalars,
    numbers,
    texts,
)

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
    exists,
    gt,
    gte,
    in_,
    is_empty,
    like,
    lt,
    lte,
    matches,
    ne,
    nin,
    not_,
    or_,
)
from milvus_plugins.core.filters import Dialect, Filter

DIM = 4
MAX_ROWS = 16
PROPERTY = settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,  # one store per test, reloaded per example
    ],
)

# Keys: random unicode, the hostile keys of the Lite suite, operators and JSON paths
# ("$..." is the dict-filter operator prefix, which the core rejects as a key).
keys = (
    st.text(min_size=1, max_size=5) | st.sampled_from([*HOSTILE_KEYS, "a", "==", "or", '"]', "%"])
).filter(lambda k: not k.startswith("$"))
hostile_texts = texts | st.sampled_from(HOSTILE)
prefix_patterns = (
    st.text(max_size=3).filter(lambda s: not set(s) & set("%_\\")).map(lambda s: f"{s}%")
)
patterns = prefix_patterns | st.text(max_size=4)


def _vector(n: int) -> list[float]:
    return [1.0, float(n % 7), float(n % 3), 0.5]


def _values(scalars: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        scalars,
        scalars,
        st.lists(scalars, max_size=3),
        st.none(),
        st.just({"nested": 1}),
        st.just([]),
    )


@dataclass(frozen=True)
class Schema:
    """The keys of one example; bools live under their own key (Lite compares true as 1)."""

    number_keys: tuple[str, ...]
    bool_key: str

    @property
    def keys(self) -> tuple[str, ...]:
        return (*self.number_keys, self.bool_key)

    def scalars(self, key: str) -> st.SearchStrategy[Any]:
        base = bool_scalars if key == self.bool_key else number_scalars
        return base | hostile_texts


@st.composite
def schemas(draw: st.DrawFn) -> Schema:
    chosen = draw(st.lists(keys, min_size=2, max_size=4, unique=True))
    return Schema(number_keys=tuple(chosen[:-1]), bool_key=chosen[-1])


def rows_for(schema: Schema) -> st.SearchStrategy[list[dict[str, Any]]]:
    @st.composite
    def row(draw: st.DrawFn) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in schema.keys:
            if draw(st.booleans()):
                out[key] = draw(_values(schema.scalars(key)))
        return out

    return st.lists(row(), min_size=1, max_size=MAX_ROWS)


def _leaf_for(schema: Schema, key: str) -> st.SearchStrategy[Filter]:
    scalars = schema.scalars(key)
    ordered = (st.booleans() if key == schema.bool_key else numbers) | texts
    values = st.lists(scalars, max_size=3)
    return st.one_of(
        scalars.map(lambda v: eq(key, v)),
        scalars.map(lambda v: ne(key, v)),
        ordered.map(lambda v: gt(key, v)),
        ordered.map(lambda v: lt(key, v)),
        ordered.map(lambda v: gte(key, v)),
        ordered.map(lambda v: lte(key, v)),
        values.map(lambda vs: in_(key, vs)),
        values.map(lambda vs: nin(key, vs)),
        st.just(exists(key)),
        st.just(is_empty(key)),
        scalars.map(lambda v: contains(key, v)),
        values.map(lambda vs: contains_any(key, vs)),
        values.map(lambda vs: contains_all(key, vs)),
        patterns.map(lambda p: like(key, p)),
    )


def filters_for(schema: Schema) -> st.SearchStrategy[Filter]:
    leaves = st.sampled_from(schema.keys).flatmap(lambda k: _leaf_for(schema, k))
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=3).map(lambda cs: and_(*cs)),
            st.lists(children, max_size=3).map(lambda cs: or_(*cs)),
            children.map(not_),
        ),
        max_leaves=6,
    )


@st.composite
def examples(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[Filter]]:
    schema = draw(schemas())
    rows = draw(rows_for(schema))
    nodes = draw(st.lists(filters_for(schema), min_size=1, max_size=6))
    return rows, nodes


# -- the check ----------------------------------------------------------------------------


def _is_full(dialect: Dialect) -> bool:
    return all(
        (
            dialect.json_exists,
            dialect.like_infix,
            dialect.empty_lists,
            dialect.bool_literals,
            dialect.not_expr,
        )
    )


@dataclass
class Tally:
    """How many filters were checked against Milvus and how many were refused."""

    checked: int = 0
    refused: list[str] = field(default_factory=list)


def check_filter(
    store: MilvusStore, dataset: dict[str, dict[str, Any]], node: Filter, tally: Tally
) -> None:
    """Assert that Milvus selects exactly the rows ``matches`` accepts (or refuses openly)."""
    expected = {i for i, row in dataset.items() if matches(node, row)}
    try:
        expression = store.expression(node)
    except FilterError as exc:
        # Refusing is allowed only where the engine lacks an expression feature.
        assert not _is_full(store.capabilities.dialect), (node, exc)
        assert "this Milvus" in str(exc)
        tally.refused.append(str(exc))
        return
    got = {r.id for r in store.query(node, limit=4 * MAX_ROWS)}  # a limit: no count first
    assert got == expected, f"{node!r}\n{expression}"
    tally.checked += 1


def assert_not_vacuous(store: MilvusStore, tally: Tally) -> None:
    """The property must not pass by refusing: most filters are checked against Milvus.

    Without ``not`` (Milvus Lite 2.5) every negation on a JSON key is refused, which is
    most random trees; there a fixed number of checked filters must still be reached.
    """
    if store.capabilities.dialect.not_expr:
        assert tally.checked > max(len(tally.refused), 20), tally.refused[:3]
    else:
        assert tally.checked >= 10, tally.refused[:3]


def _load(store: MilvusStore, rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    store.delete(ids=[f"r{i}" for i in range(MAX_ROWS)])
    dataset = {f"r{i}": row for i, row in enumerate(rows)}
    store.upsert(
        [
            Record(id=i, text="row", vector=_vector(n), metadata=row)
            for n, (i, row) in enumerate(dataset.items())
        ]
    )
    return dataset


@pytest.fixture
def store(backend_uri: str, collection_name: str) -> Iterator[MilvusStore]:
    spec = CollectionSpec(name=collection_name, dim=DIM)
    milvus = MilvusStore(spec, connection=ConnectionConfig(uri=backend_uri))
    milvus.ensure_collection()
    try:
        yield milvus
    finally:
        milvus.drop()
        milvus.close()


def test_random_rows_and_filters_agree_with_matches(store: MilvusStore) -> None:
    tally = Tally()

    @PROPERTY
    @given(example=examples())
    def run(example: tuple[list[dict[str, Any]], list[Filter]]) -> None:
        rows, nodes = example
        dataset = _load(store, rows)
        assert store.count() == len(dataset)
        for node in nodes:
            check_filter(store, dataset, node, tally)

    run()
    assert_not_vacuous(store, tally)


def test_fixed_dataset_agrees_with_matches_for_many_random_filters(store: MilvusStore) -> None:
    schema = Schema(number_keys=("a", "b", "c"), bool_key="f")
    rows = [*FIXED_ROWS, {"a": [], "b": "x%y", "c": "a_b"}, {"a": None, "b": "ab", "f": []}]
    dataset = _load(store, rows)
    tally = Tally()

    @settings(PROPERTY, max_examples=60)
    @given(node=filters_for(schema))
    def run(node: Filter) -> None:
        check_filter(store, dataset, node, tally)

    run()
    assert_not_vacuous(store, tally)
