"""Column-packed write requests equal pymilvus' own row-packed ones (its ``Prepare``).

``milvus_plugins.core.packing`` builds ``InsertRequest`` / ``UpsertRequest`` a column at a
time instead of through pymilvus' per-value row path. The oracle is pymilvus itself: for
generated schemas (every scalar type the store writes, nullable or not, float and sparse
vectors, arrays, a BM25 output) and rows (well-typed values, plus values of the wrong type,
numpy vectors, str subclasses, JSON texts and dicts, missing and unknown keys), the packed
request must equal ``Prepare.row_insert_param`` / ``row_upsert_param``'s, or packing must
decline (``None``: the store then sends pymilvus' own), and where pymilvus refuses the rows,
packing declines (so the error is pymilvus' own).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymilvus import DataType
from pymilvus.client.prepare import Prepare

from milvus_plugins.core import packing
from milvus_plugins.core.rows import CheckedText

DIM = 3


def _field(name: str, dtype: DataType, nullable: bool = False, **extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if dtype in (DataType.VARCHAR, DataType.ARRAY):
        params["max_length"] = 64
    if dtype == DataType.ARRAY:
        params["max_capacity"] = 4
    if dtype == DataType.FLOAT_VECTOR:
        params["dim"] = DIM
    field: dict[str, Any] = {"name": name, "type": dtype, "params": params, **extra}
    if nullable:
        field["nullable"] = True
    return field


OPTIONAL = {
    "text": (DataType.VARCHAR, {}),
    "vector": (DataType.FLOAT_VECTOR, {}),
    "metadata": (DataType.JSON, {}),
    "n": (DataType.INT64, {}),
    "i32": (DataType.INT32, {}),
    "d": (DataType.DOUBLE, {}),
    "f": (DataType.FLOAT, {}),
    "b": (DataType.BOOL, {}),
    "tags": (DataType.ARRAY, {"element_type": DataType.VARCHAR}),
    "nums": (DataType.ARRAY, {"element_type": DataType.INT64}),
    "sp": (DataType.SPARSE_FLOAT_VECTOR, {}),
    "bm25": (DataType.SPARSE_FLOAT_VECTOR, {"is_function_output": True}),
}


@st.composite
def schemas(draw: st.DrawFn) -> list[dict[str, Any]]:
    names = draw(st.lists(st.sampled_from(sorted(OPTIONAL)), unique=True, max_size=8))
    fields = [_field("id", DataType.VARCHAR, is_primary=True)]
    for name in names:
        dtype, extra = OPTIONAL[name]
        nullable = (
            dtype not in (DataType.SPARSE_FLOAT_VECTOR,) and not extra.get("is_function_output")
        ) and draw(st.booleans())
        fields.append(_field(name, dtype, nullable, **extra))
    return fields


_floats = st.floats(-1e6, 1e6, allow_nan=False, width=32)
_texts = st.text(max_size=8)
_json_values = st.dictionaries(_texts, st.integers(-5, 5) | _texts | st.none(), max_size=3)


def _good(dtype: DataType, name: str) -> st.SearchStrategy[Any]:
    if dtype == DataType.VARCHAR:
        return _texts | _texts.map(CheckedText)
    if dtype == DataType.FLOAT_VECTOR:
        vec = st.lists(_floats, min_size=DIM, max_size=DIM)
        return vec | vec.map(lambda v: np.array(v, dtype=np.float32)) | vec.map(np.array)
    if dtype == DataType.JSON:
        return _json_values.map(json.dumps) | _json_values
    if dtype in (DataType.INT64, DataType.INT32):
        return st.integers(-(2**31), 2**31 - 1)
    if dtype in (DataType.DOUBLE, DataType.FLOAT):
        return _floats
    if dtype == DataType.BOOL:
        return st.booleans()
    if dtype == DataType.ARRAY:
        element = _texts if name == "tags" else st.integers(-9, 9)
        return st.lists(element, max_size=3)
    return st.dictionaries(st.integers(0, 50), _floats.filter(lambda x: x != 0), max_size=3)


class OddStr(str):
    """A str subclass that iterates as something else: pymilvus' string check refuses it."""

    def __iter__(self) -> Any:
        return iter([1])


_wrong = (
    st.integers(-(2**70), 2**70)
    | _floats
    | _texts
    | st.booleans()
    | st.just("{not json")
    | st.just(np.array([1, 2, 3], dtype=np.int64))
    | st.just(np.zeros((1, DIM), dtype=np.float32))
    | st.just(np.float32(0.5))
    | st.just([1.0, "x", 2.0])
    | st.just(["a", 1])
    | st.just("\ud800")
    | st.just(OddStr("odd"))
)


@st.composite
def rows_for(draw: st.DrawFn, fields: list[dict[str, Any]], odd: bool) -> list[dict[str, Any]]:
    rows = []
    for i in range(draw(st.integers(1, 5))):
        row: dict[str, Any] = {"id": f"r{i}"}
        for field in fields[1:]:
            if field.get("is_function_output"):
                continue
            name, dtype = field["name"], field["type"]
            if field.get("nullable") and draw(st.integers(0, 3)) == 0:
                row[name] = None
            elif odd and draw(st.integers(0, 9)) == 0:
                row[name] = draw(_wrong)
            else:
                row[name] = draw(_good(dtype, name))
        if odd and draw(st.integers(0, 9)) == 0 and len(row) > 1:
            row.pop(draw(st.sampled_from(sorted(row))))
        if odd and draw(st.integers(0, 19)) == 0:
            row["unknown"] = 1
        rows.append(row)
    return rows


def _outcome(build: Any) -> Any:
    try:
        return build()
    except Exception as exc:  # the oracle's refusal, compared by type
        return type(exc)


def _check(fields: list[dict[str, Any]], rows: list[dict[str, Any]], upsert: bool) -> Any:
    schema = {"fields": fields}
    if upsert:
        theirs = _outcome(
            lambda: Prepare.row_upsert_param("c", rows, "p", fields, [], schema_timestamp=7)
        )
        ours = _outcome(lambda: packing.pack_upsert("c", rows, "p", schema, 7))
    else:
        theirs = _outcome(
            lambda: Prepare.row_insert_param("c", rows, "p", fields, [], schema_timestamp=7)
        )
        ours = _outcome(lambda: packing.pack_insert("c", rows, "p", schema, 7))
    if isinstance(theirs, type):
        # Rows pymilvus refuses are declined, so that its own row path refuses them with
        # its own error (with several bad values, packing column by column would meet
        # another one first than pymilvus row by row, and may raise another type).
        assert ours is None, (ours, theirs)
        return None
    if ours is None:
        return None  # declined: the store sends pymilvus' own request
    assert not isinstance(ours, type), (ours, theirs)
    assert ours == theirs
    assert ours.SerializeToString(deterministic=True) == theirs.SerializeToString(
        deterministic=True
    )
    return ours


@pytest.mark.parametrize("upsert", [False, True])
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_packed_requests_equal_pymilvus_row_requests(upsert: bool, data: st.DataObject) -> None:
    fields = data.draw(schemas())
    rows = data.draw(rows_for(fields, odd=data.draw(st.booleans())))
    _check(fields, rows, upsert)


@pytest.mark.parametrize("upsert", [False, True])
def test_well_typed_rows_are_packed_not_declined(upsert: bool) -> None:
    fields = [_field("id", DataType.VARCHAR, is_primary=True)]
    fields += [_field(n, t, n in ("n", "d"), **e) for n, (t, e) in OPTIONAL.items()]
    rows = [
        {
            "id": f"r{i}",
            "text": CheckedText(f"text {i}"),
            "vector": [0.5, float(i), 1.0] if i % 2 else np.array([1, 2, i], dtype=np.float32),
            "metadata": json.dumps({"k": i}),
            "n": i if i % 3 else None,
            "i32": i,
            "d": None if i % 2 else 0.25 * i,
            "f": 1.5,
            "b": bool(i % 2),
            "tags": ["a", "b"][: i % 3],
            "nums": [i],
            "sp": {1: 0.5, 7: 1.0},
        }
        for i in range(6)
    ]
    assert _check(fields, rows, upsert) is not None


@pytest.mark.parametrize(
    "value", [OddStr("odd"), 1.5, "\ud800", {"not": "a str"}, np.str_("numpy str")]
)
def test_a_value_pymilvus_refuses_is_refused_alike(value: Any) -> None:
    fields = [_field("id", DataType.VARCHAR, is_primary=True), _field("t", DataType.VARCHAR)]
    rows = [{"id": "a", "t": "fine"}, {"id": "b", "t": value}]
    _check(fields, rows, upsert=False)
    _check(fields, rows, upsert=True)


def test_layouts_it_does_not_pack_are_declined() -> None:
    fields = [_field("id", DataType.VARCHAR, is_primary=True), _field("t", DataType.VARCHAR)]
    rows = [{"id": "a", "t": "x"}]
    dynamic = {"fields": fields, "enable_dynamic_field": True}
    assert packing.pack_insert("c", rows, "", dynamic) is None
    assert packing.pack_insert("c", rows, "", {"fields": fields}) is not None
    auto = [{**fields[0], "auto_id": True}, fields[1]]
    assert packing.pack_insert("c", [{"t": "x"}], "", {"fields": auto}) is None
    assert packing.pack_insert("c", [], "", {"fields": fields}) is None


@pytest.mark.parametrize("name", ["n", "i32", "d", "f", "b"])
@pytest.mark.parametrize(
    "value", [2**63, -(2**63) - 1, 2**64, 2**31, -(2**31) - 1, 2**1000, 1e300, -1e39, True]
)
def test_a_number_out_of_its_columns_range_is_packed_or_refused_as_pymilvus_does(
    name: str, value: Any
) -> None:
    """Values a protobuf column cannot hold (hypothesis found 2**63 in a bool column raising
    a bare ``OverflowError``): packed as pymilvus packs them, or refused as it refuses."""
    dtype, extra = OPTIONAL[name]
    for nullable in (False, True):
        fields = [_field("id", DataType.VARCHAR, is_primary=True)]
        fields.append(_field(name, dtype, nullable, **extra))
        rows = [{"id": "a", name: 0}, {"id": "b", name: value}]
        _check(fields, rows, upsert=False)
        _check(fields, rows, upsert=True)


def test_rows_with_two_bad_values_are_declined_for_pymilvus_to_refuse() -> None:
    """The case hypothesis found: pymilvus meets the bad sparse vector first (row by row) and
    raises ``ParamError``; packing column by column met 2**63 in the bool column first and
    raised a bare ``OverflowError``. Declined now: the error is pymilvus' own."""
    fields = [
        _field("id", DataType.VARCHAR, is_primary=True),
        _field("b", DataType.BOOL, True),
        _field("sp", DataType.SPARSE_FLOAT_VECTOR),
    ]
    rows = [{"id": "r0", "b": None, "sp": 0}, {"id": "r1", "b": 2**63, "sp": 0}]
    for upsert in (False, True):
        assert _check(fields, rows, upsert) is None
