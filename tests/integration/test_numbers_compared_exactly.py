"""Filters on JSON numbers beyond 2**53 select what Python's comparison selects, on every
engine (RELIABILITY row 146).

The Milvus 2.3.5 server and Milvus Lite 2.5.1 compare a JSON int with an int literal
exactly but everything else as doubles: ``k == 2**53 + 1`` also found ``2.0**53``,
``k == 1e16`` found ``10**16 + 1``, ``json_contains(k, 1)`` missed ``[1.0]``, and
``-9223372036854775808`` did not parse (2.3.5) or was read as ``-2**63 + 1`` (Lite 2.5.1,
where a delete by it removed the neighbouring row). Milvus Lite 3 compares as Python.
Every comparison, its negation, ``in`` and ``contains`` over a column of near-equal
ints and floats is checked against the reference evaluator; only the refusals the
compiler documents (+-2**63 and list elements of 2**53 or more on those engines) may
answer ``FilterError``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from milvus_plugins.core import (
    CollectionSpec,
    ConnectionConfig,
    FilterError,
    MilvusStore,
    Record,
    contains,
    eq,
    gt,
    gte,
    in_,
    lt,
    lte,
    ne,
    not_,
)
from milvus_plugins.core.filters import Filter
from milvus_plugins.core.filters.evaluator import matches

B53, B60, MAX, MIN = 2**53, 2**60, 2**63 - 1, -(2**63)
STORED: list[Any] = [
    B53, B53 + 1, float(B53), B53 + 2, float(B53 + 2), B53 - 1,
    B60, B60 + 1, B60 + 129, float(B60), float(B60 + 256), B60 + 256,
    MAX, MAX - 1, float(2**63),
    -(B53 + 1), float(-B53), -(B60 + 1), float(-B60),
    MIN, MIN + 1,
    10**16 + 1, 1e16,
    1, 1.0, 0, -0.0, 2.5, "x",
]  # fmt: skip
LITERALS: list[Any] = [
    B53, B53 + 1, float(B53), B53 + 3, B60 + 1, B60 + 2, B60 + 129, float(B60), MAX, MAX - 2,
    -(B53 + 1), -(B60 + 1), 10**16 + 1, 1e16, float(2**62), MIN, MIN + 1,
]  # fmt: skip
OPS = (eq, ne, lt, lte, gt, gte)


def _rows() -> dict[str, dict[str, Any]]:
    rows = {f"r{i}": {"n": v, "l": [v]} for i, v in enumerate(STORED)}
    rows["missing"] = {"other": 1}
    return rows


def _documented_refusal(node: Filter, store: MilvusStore) -> bool:
    """Whether the compiler says it refuses ``node`` on this engine."""
    if store.capabilities.dialect.json_numbers_exact:
        return False
    text = repr(node)
    edge = str(MIN) in text or str(2**63) in text
    listed = "Contains" in text
    return edge or listed


@pytest.fixture
def store(backend_uri: str, collection_name: str) -> Iterator[MilvusStore]:
    s = MilvusStore(
        CollectionSpec(name=collection_name, dim=2, infer_metadata_fields=False),
        connection=ConnectionConfig(uri=backend_uri),
    )
    rows = _rows()
    s.upsert(
        [
            Record(id=i, text=i, vector=[1.0, float(n)], metadata=m)
            for n, (i, m) in enumerate(rows.items())
        ]
    )
    try:
        yield s
    finally:
        s.drop()
        s.close()


def _nodes() -> list[Filter]:
    nodes: list[Filter] = []
    for value in LITERALS:
        for op in OPS:
            nodes.append(op("n", value))
            nodes.append(not_(op("n", value)))
        nodes.append(contains("l", value))
    nodes.append(in_("n", [B53 + 1, B60 + 1, 1e16, MAX]))
    nodes.append(not_(in_("n", [B53 + 1, float(B60)])))
    nodes.append(contains("l", 1))
    nodes.append(contains("l", 0))
    return nodes


def test_every_comparison_selects_what_python_selects(store: MilvusStore) -> None:
    rows = _rows()
    wrong, refused, checked = [], [], 0
    for node in _nodes():
        want = {i for i, row in rows.items() if matches(node, row)}
        try:
            got = {r.id for r in store.query(node, limit=1000)}
        except FilterError:
            refused.append(node)
            continue
        checked += 1
        if got != want:
            wrong.append(f"{node!r}: extra {sorted(got - want)} missing {sorted(want - got)}")
    assert wrong == []
    # Refused only where documented; negations need `not`, which Lite 2.5.1 lacks on
    # JSON keys (refused there for every value).
    lacks_not = not store.capabilities.dialect.not_expr
    undocumented = [
        n
        for n in refused
        if not _documented_refusal(n, store) and not (lacks_not and "Not(" in repr(n))
    ]
    assert undocumented == []
    assert checked > len(_nodes()) // 3


def test_a_delete_by_a_big_int_deletes_only_its_own_rows(store: MilvusStore) -> None:
    rows = _rows()
    node = in_("n", [B53 + 1, B60 + 1, MAX])
    want = {i for i, row in rows.items() if matches(node, row)}
    assert len(want) == 3
    store.delete(filter=node)
    assert {r.id for r in store.query(None, limit=1000)} == set(rows) - want


def test_a_delete_by_int64_min_is_exact_or_refused(store: MilvusStore) -> None:
    rows = _rows()
    node = eq("n", MIN)
    try:
        store.delete(filter=node)
    except FilterError:
        assert not store.capabilities.dialect.json_numbers_exact
        assert store.count() == len(rows)
        return
    want = {i for i, row in rows.items() if matches(node, row)}
    assert {r.id for r in store.query(None, limit=1000)} == set(rows) - want


@pytest.mark.parametrize("value", [2**63, 2**63 + 1, 2**64, -(2**63) - 1, 10**30 + 1])
def test_ints_beyond_int64_are_exact_or_refused_by_name(store: MilvusStore, value: int) -> None:
    """Ints beyond int64 raised a bare AssertionError where no neighbour shares their
    double; one with an exact double (2**64) would reach a parser that clamps it (Lite
    2.5.1 reads -2**63 as -2**63 + 1). Now ``FilterError`` where numbers are not exact."""
    rows = _rows()
    for node in (eq("n", value), lt("n", value), not_(in_("n", [value, 1]))):
        want = {i for i, row in rows.items() if matches(node, row)}
        try:
            store.delete(filter=node)
        except FilterError as exc:
            assert not store.capabilities.dialect.json_numbers_exact
            assert "this Milvus" in str(exc)
            assert store.count() == len(rows)
            continue
        assert {r.id for r in store.query(None, limit=1000)} == set(rows) - want
        store.upsert(  # put the deleted rows back for the next filter
            [
                Record(id=i, text=i, vector=[1.0, float(n)], metadata=m)
                for n, (i, m) in enumerate(rows.items())
            ]
        )
