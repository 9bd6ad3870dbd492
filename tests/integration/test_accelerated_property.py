"""Accelerator columns keep every filter exact while values change kind and keys arrive late.

Hypothesis draws a first write whose keys each hold one kind (numbers, strings or bools,
or ``None`` / missing), so the collection it creates gets accelerator columns for them,
then later writes where any key may hold a value of any kind (another scalar kind, a list,
a dict, an int beyond 2**53, ``None``) and keys the first write never had. After every
write, random filter trees must select exactly the rows the reference evaluator
:func:`milvus_plugins.core.matches` accepts, on every engine (engines without nullable
fields get no columns: the same check then holds the JSON layout to it), and metadata
must read back exactly as written. A second store opened on the collection afterwards
must agree too (the columns and overflow marks live with the collection).
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.integration.test_backend_filter_property import (
    PROPERTY,
    Schema,
    Tally,
    _values,
    _vector,
    check_filter,
    filters_for,
)
from tests.integration.test_core_filters import HOSTILE, numbers, texts

from milvus_plugins.core import CollectionSpec, ConnectionConfig, MilvusStore, Record
from milvus_plugins.core.filters import Filter

DIM = 4
# Valid Milvus field names (they can get a column) and a few that cannot.
KEY_NAMES = ["a", "b", "c", "k_1", "Category", "it's", "x y"]
KIND_SCALARS = {
    "number": numbers,
    "string": texts | st.sampled_from(HOSTILE),
    "bool": st.booleans(),
}
# Values no column holds; bools stay under the bool key and numbers elsewhere, as in the
# other property tests (Milvus Lite's JSON path compares true with 1: backend-defined).
OVERFLOW_VALUES = st.sampled_from([[1, "a"], {"nested": 1}, [], "7", ""])


@st.composite
def scenarios(
    draw: st.DrawFn,
) -> tuple[Schema, dict[str, str], list[list[dict[str, Any]]], list[list[Filter]]]:
    """Keys with a first-write kind each, the writes, and filters to run after each write."""
    chosen = draw(st.lists(st.sampled_from(KEY_NAMES), min_size=3, max_size=5, unique=True))
    schema = Schema(number_keys=tuple(chosen[:-1]), bool_key=chosen[-1])
    late = draw(st.sampled_from(chosen))  # absent from the first write
    kinds = {
        k: draw(st.sampled_from(["bool" if k == schema.bool_key else "number", "string"]))
        for k in chosen
        if k != late
    }

    first = []
    for _ in range(draw(st.integers(1, 8))):
        row: dict[str, Any] = {}
        for key, kind in kinds.items():
            if draw(st.integers(0, 4)):
                row[key] = draw(KIND_SCALARS[kind] | st.none())
        first.append(row)
    writes = [first]
    for _ in range(draw(st.integers(1, 2))):
        batch = []
        for _ in range(draw(st.integers(1, 6))):
            row = {}
            for key in chosen:
                if draw(st.booleans()):
                    row[key] = draw(_values(schema.scalars(key)) | OVERFLOW_VALUES)
            batch.append(row)
        writes.append(batch)
    nodes = [draw(st.lists(filters_for(schema), min_size=2, max_size=4)) for _ in writes]
    return schema, kinds, writes, nodes


def _accelerated(store: MilvusStore) -> set[str]:
    return {f.name for f in store.spec.accelerated_fields}


def test_filters_stay_exact_as_values_change_kind_and_keys_arrive_late(
    backend_uri: str, collection_name: str
) -> None:
    tally = Tally()
    columns_seen: set[str] = set()
    overflow_seen: set[str] = set()
    connection = ConnectionConfig(uri=backend_uri)

    @settings(PROPERTY, max_examples=12)
    @given(scenario=scenarios())
    def run(
        scenario: tuple[Schema, dict[str, str], list[list[dict[str, Any]]], list[list[Filter]]],
    ) -> None:
        _, _, writes, nodes = scenario
        store = MilvusStore(CollectionSpec(name=collection_name), connection=connection)
        dataset: dict[str, dict[str, Any]] = {}
        try:
            for w, (batch, batch_nodes) in enumerate(zip(writes, nodes, strict=True)):
                records = [
                    Record(id=f"w{w}r{i}", text="row", vector=_vector(i + w), metadata=row)
                    for i, row in enumerate(batch)
                ]
                store.upsert(records)
                dataset.update({r.id: dict(r.metadata) for r in records})
                for node in batch_nodes:
                    check_filter(store, dataset, node, tally)
            columns_seen.update(_accelerated(store))
            overflow_seen.update(store.spec.overflowed_keys & _accelerated(store))
            back = {r.id: r.metadata for r in store.get(list(dataset))}
            assert back == dataset
            # Another store knows the columns and overflow marks from the collection.
            reopened = MilvusStore(CollectionSpec(name=collection_name), connection=connection)
            try:
                assert {r.id for r in reopened.query(None)} == set(dataset)
                assert _accelerated(reopened) == _accelerated(store)
                for node in nodes[-1]:
                    check_filter(reopened, dataset, node, tally)
            finally:
                reopened.close()
        finally:
            store.drop()
            store.close()

    run()
    assert tally.checked > max(len(tally.refused), 20) or tally.checked >= 10
    probe = MilvusStore(CollectionSpec(name=collection_name, dim=DIM), connection=connection)
    try:
        nullable = probe.capabilities.nullable
    finally:
        probe.close()
    if nullable:
        # Not vacuous: columns were made, and some of them overflowed later.
        assert columns_seen and overflow_seen, (columns_seen, overflow_seen)
    else:
        assert not columns_seen
