"""Records: validation before writing, content-hash ids, row conversion, and write batching."""

from __future__ import annotations

import enum
import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from milvus_plugins.core import (
    CollectionSpec,
    InvalidInputError,
    MetadataField,
    Record,
    WriteOptions,
    content_id,
    new_id,
)
from milvus_plugins.core.batching import estimate_row_bytes, plan_batches
from milvus_plugins.core.record_checks import validate_records
from milvus_plugins.core.records import KEY_ORDER
from milvus_plugins.core.rows import json_text, record_from_row, records_to_rows
from milvus_plugins.core.values import validate_dense

SPEC = CollectionSpec(
    name="c",
    dim=3,
    text_max_length=20,
    metadata_fields=[
        MetadataField(name="year", type="INT64"),
        MetadataField(name="score", type="DOUBLE"),
        MetadataField(name="ok", type="BOOL"),
        MetadataField(name="genre", type="VARCHAR", max_length=5),
        MetadataField(name="tags", type="ARRAY", element_type="VARCHAR", max_capacity=2),
    ],
)


def rec(**overrides: Any) -> Record:
    fields: dict[str, Any] = {"id": "a", "text": "hello", "vector": [0.1, 0.2, 0.3]}
    fields.update(overrides)
    return Record(**fields)


# -- ids ---------------------------------------------------------------------------------


def test_content_id_is_deterministic_and_key_order_independent() -> None:
    one = content_id("text", {"a": 1, "b": [1, 2]})
    assert one == content_id("text", {"b": [1, 2], "a": 1})
    assert len(one) == 32 and int(one, 16) >= 0


@pytest.mark.parametrize(
    ("text", "metadata"), [("text ", {"a": 1}), ("text", {"a": 2}), ("text", {"a": 1, "c": None})]
)
def test_content_id_changes_with_text_or_metadata(text: str, metadata: dict[str, Any]) -> None:
    assert content_id(text, metadata) != content_id("text", {"a": 1})


def test_content_id_without_metadata_equals_empty_metadata() -> None:
    assert content_id("x") == content_id("x", {}) == content_id("x", None)


def test_new_ids_are_unique_hex() -> None:
    ids = {new_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 32 for i in ids)


# -- dense vectors -----------------------------------------------------------------------


def test_validate_dense_accepts_lists_tuples_and_numpy() -> None:
    assert validate_dense((1, 2, 3), 3, where="q") == [1.0, 2.0, 3.0]
    assert validate_dense(np.array([1, 2, 3], dtype=np.float64), None, where="q") == [1, 2, 3]


@pytest.mark.parametrize(
    ("vector", "message"),
    [
        ([1.0, 2.0], "dimension 2 but the collection expects 3"),
        ([1.0, math.nan, 2.0], "NaN or inf"),
        ([1.0, math.inf, 2.0], "NaN or inf"),
        ([[1.0, 2.0, 3.0]], "flat"),
        ([], "flat"),
        (["a", "b", "c"], "not a sequence of numbers"),
        ("abc", "not a sequence of numbers"),
    ],
)
def test_validate_dense_rejects_bad_vectors(vector: Any, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        validate_dense(vector, 3, where="query")


# -- records -----------------------------------------------------------------------------

BAD_RECORDS: list[tuple[list[Record], str]] = [
    ([rec(vector=[1.0, 2.0])], "dimension 2"),
    ([rec(vector=[1.0, math.nan, 0.0])], "NaN"),
    ([rec(vector=np.array([1.0, np.inf, 0.0]))], "NaN"),
    ([rec(vector=None)], "vector is missing"),
    ([rec(text="x" * 21)], "text_max_length=20"),
    ([rec(text="é" * 11)], "22 bytes"),
    ([rec(metadata={"s": {1, 2}})], "not JSON-serialisable"),
    ([rec(metadata={"o": object()})], "not JSON-serialisable"),
    ([rec(metadata={"n": math.nan})], "not JSON-serialisable"),
    ([rec(metadata={"n": [1.0, math.inf]})], "not JSON-serialisable"),
    ([rec(metadata={1: "int key"})], "must be a string"),
    ([rec(metadata=["not", "a", "dict"])], "must be a dict"),
    ([rec(extra={"s": {1}})], "not JSON-serialisable"),
    ([rec(), rec()], "share id 'a'"),
    ([rec(id=5)], "must be a non-empty string"),
    ([rec(id="")], "must be a non-empty string"),
    ([rec(id="x" * 513)], "longer than 512"),
    ([rec(metadata={"year": "2001"})], "must be an integer"),
    ([rec(metadata={"year": True})], "must be an integer"),
    ([rec(metadata={"score": "high"})], "must be a float"),
    ([rec(metadata={"ok": 1})], "must be a bool"),
    ([rec(metadata={"genre": "toolong"})], "max_length=5"),
    ([rec(metadata={"tags": "x"})], "must be a list"),
    ([rec(metadata={"tags": ["a", "b", "c"]})], "max_capacity is 2"),
    ([rec(metadata={"tags": ["a", 1]})], "must be a string"),
]


@pytest.mark.parametrize(("records", "message"), BAD_RECORDS, ids=[m for _, m in BAD_RECORDS])
def test_bad_record_is_rejected_naming_the_problem(records: list[Record], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        validate_records(records, SPEC, SPEC.dim)


def test_the_error_names_the_position_and_id_of_the_bad_record() -> None:
    records = [rec(id="ok"), rec(id="bad one", text="x" * 21)]
    with pytest.raises(InvalidInputError, match=r"record 1 \(id='bad one'\)"):
        validate_records(records, SPEC, 3)


def test_client_sparse_collection_needs_sparse_vectors() -> None:
    spec = CollectionSpec(name="c", dim=3, sparse="client")
    with pytest.raises(InvalidInputError, match="sparse"):
        validate_records([rec()], spec, 3)
    validate_records([rec(sparse={1: 0.5})], spec, 3)


def test_valid_records_pass() -> None:
    validate_records(
        [
            rec(id="a", metadata={"year": 2001, "score": 1.0, "ok": False, "tags": ("x",)}),
            rec(id="b", metadata={"nested": {"a": [1, None, "é"]}, "genre": None}),
        ],
        SPEC,
        3,
    )


def test_metadata_keys_named_like_canonical_fields_stay_inside_the_metadata_json() -> None:
    # Undeclared keys live in the metadata JSON column, so "id", "text" ... cannot clash
    # with the canonical columns (declared fields with those names are rejected by the spec).
    metadata = {name: f"user {name}" for name in SPEC.fields.all()}
    record = rec(metadata=metadata)
    validate_records([record], SPEC, 3)
    (row,) = records_to_rows([record], SPEC, store_missing_as_null=True)
    assert row["id"] == "a" and row["text"] == "hello"
    assert json.loads(row["metadata"]) == metadata
    assert record_from_row(as_read(row), SPEC).metadata == metadata


# -- row conversion ----------------------------------------------------------------------


def as_read(row: dict[str, Any]) -> dict[str, Any]:
    """A written row as Milvus returns it: JSON columns are sent as text, read as values."""
    return {**row, "metadata": json.loads(row["metadata"]), "extra": json.loads(row["extra"])}


def test_json_columns_are_written_as_compact_utf8_json_text() -> None:
    (row,) = records_to_rows(
        [rec(metadata={"city": "Zürich", "n": [1, 2.5, None]}, extra={"k": True})],
        SPEC,
        store_missing_as_null=True,
    )
    assert row["metadata"] == '{"city":"Zürich","n":[1,2.5,null]}'
    assert row["extra"] == '{"k":true}'


def test_declared_keys_become_columns_and_come_back_as_metadata() -> None:
    record = rec(
        metadata={"year": 2001, "tags": ("x", "y"), "free": {"k": [1]}},
        doc_id="doc-1",
        extra={"rel": 1},
    )
    (row,) = records_to_rows([record], SPEC, store_missing_as_null=True)
    assert row["year"] == 2001
    assert row["tags"] == ["x", "y"]
    assert json.loads(row["metadata"]) == {"free": {"k": [1]}}
    assert row["genre"] is None
    # The columns' keys come first in the record: the written order is kept in extra.
    assert row["doc_id"] == "doc-1"
    assert json.loads(row["extra"]) == {"rel": 1, KEY_ORDER: ["year", "tags", "free"]}
    back = record_from_row(as_read(row), SPEC)
    assert back.metadata == {"free": {"k": [1]}, "year": 2001, "tags": ["x", "y"]}
    assert list(back.metadata) == ["year", "tags", "free"]
    assert back.vector == pytest.approx([0.1, 0.2, 0.3])
    assert (back.id, back.text, back.doc_id, back.extra) == ("a", "hello", "doc-1", {"rel": 1})


def test_metadata_keys_come_back_in_the_written_order() -> None:
    spec = CollectionSpec(name="c", dim=3, metadata_fields={"year": "INT64"})
    cases = [
        {"a": 1, "b": None, "c": 2, "year": 3},  # a null in the middle
        {"year": 3, "a": 1},  # a column first
        {"a": None, "year": None, "b": "x"},  # nulls of both kinds
    ]
    for metadata in cases:
        (row,) = records_to_rows([rec(metadata=metadata)], spec, store_missing_as_null=True)
        back = record_from_row(as_read(row), spec)
        assert list(back.metadata.items()) == list(metadata.items())
        assert KEY_ORDER not in back.extra
    # Already in the order a read rebuilds: nothing extra is written.
    natural = {"a": 1, "b": None, "year": 3}
    (row,) = records_to_rows([rec(metadata=natural)], spec, store_missing_as_null=True)
    assert KEY_ORDER not in json.loads(row["extra"])


def test_the_key_order_name_is_reserved_in_extra() -> None:
    with pytest.raises(InvalidInputError, match="reserved"):
        validate_records([rec(extra={KEY_ORDER: ["x"]})], SPEC, 3)


def test_missing_declared_key_is_an_error_without_nullable_fields() -> None:
    with pytest.raises(InvalidInputError, match="nullable"):
        records_to_rows([rec()], SPEC, store_missing_as_null=False)


def test_client_sparse_vectors_are_written_with_int_keys() -> None:
    spec = CollectionSpec(name="c", dim=3, sparse="client")
    (row,) = records_to_rows([rec(sparse={"7": 1})], spec, store_missing_as_null=True)
    assert row["sparse"] == {7: 1.0}


def test_record_from_row_without_vector_or_optional_fields() -> None:
    record = record_from_row({"id": "x", "text": "t"}, SPEC)
    assert record.vector is None
    assert record.metadata == {} and record.extra == {} and record.doc_id == ""


# -- batching ----------------------------------------------------------------------------


def _rows(n: int, text_bytes: int = 10) -> list[dict[str, Any]]:
    return [{"id": str(i), "text": "x" * text_bytes, "vector": [0.0] * 4} for i in range(n)]


def test_estimate_row_bytes_counts_vectors_and_utf8_text() -> None:
    small = estimate_row_bytes({"v": [0.5] * 10})
    assert small == 16 + 4 * 10 + 8
    assert estimate_row_bytes({"t": "é"}) == 16 + 2 + 8
    assert estimate_row_bytes({"m": {"a": 1}}) > 16


@pytest.mark.parametrize(
    "value", [["ab", "é"], [1, -(2**63), True], [2.5, 1.0], [[1, 2], {"a": "b"}], []]
)
def test_estimate_row_bytes_of_a_list_covers_its_json(value: list[Any]) -> None:
    # ARRAY columns are sized without serialising them; never below their JSON size.
    as_json = json.dumps(value, ensure_ascii=False).encode("utf-8")
    assert estimate_row_bytes({"labels": value}) >= 16 + len(as_json)


@pytest.mark.parametrize(("n", "batch_rows"), [(0, 3), (1, 3), (9, 3), (10, 3), (10, 1000)])
def test_batches_respect_the_row_budget_and_cover_every_row(n: int, batch_rows: int) -> None:
    batches = list(plan_batches(_rows(n), WriteOptions(batch_rows=batch_rows)))
    assert all(0 < stop - start <= batch_rows for start, stop in batches)
    covered = [i for start, stop in batches for i in range(start, stop)]
    assert covered == list(range(n))


def test_batches_respect_the_byte_budget() -> None:
    rows = _rows(50, text_bytes=300)
    options = WriteOptions(batch_rows=1000, batch_bytes=2048)
    batches = list(plan_batches(rows, options))
    assert len(batches) > 1
    for start, stop in batches:
        assert sum(estimate_row_bytes(r) for r in rows[start:stop]) <= options.batch_bytes
    assert [i for a, b in batches for i in range(a, b)] == list(range(50))


def test_a_row_larger_than_the_byte_budget_goes_alone() -> None:
    rows = [*_rows(2), {"id": "big", "text": "x" * 5000}, *_rows(2)]
    batches = list(plan_batches(rows, WriteOptions(batch_bytes=1024)))
    assert (2, 3) in batches
    assert [i for a, b in batches for i in range(a, b)] == list(range(5))


# -- values come back as written, or are refused (issue 11, items 7-9) ------------------------


def _nested(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = {"a": value}
    return value


UNFAITHFUL: list[tuple[Record, str]] = [
    (rec(id="s\udcff"), "id contains a lone surrogate"),
    (rec(text="t\udcff"), "text contains a lone surrogate"),
    (rec(doc_id="d\udcff"), "doc_id contains a lone surrogate"),
    (rec(metadata={"k": "v\udcff"}), "metadata contains a lone surrogate"),
    (rec(metadata={"k\udcff": 1}), "metadata contains a lone surrogate"),
    (rec(metadata={"k": [{"x": "\udcff"}]}), "metadata contains a lone surrogate"),
    (rec(extra={"k": "\udcff"}), "extra contains a lone surrogate"),
    (rec(metadata={"genre": "a\udcff"}), r"metadata\['genre'\] contains a lone surrogate"),
    (rec(metadata={"n": 2**63}), r"metadata\['n'\]=9223372036854775808 is outside the int64"),
    (rec(metadata={"n": -(2**63) - 1}), "outside the int64"),
    (rec(metadata={"n": [0, {"m": 2**64}]}), r"metadata\['n'\]\[1\]\['m'\]=.* outside"),
    (rec(metadata={"year": 2**63}), r"metadata\['year'\]=.* outside the int64"),
    (rec(metadata={"x": {1: "a", "1": "b"}}), r"metadata\['x'\] has the key 1 of type int"),
    (rec(metadata={"x": [{None: 1}]}), "has the key None"),
    (rec(extra={"x": {2: 1}}), r"extra\['x'\] has the key 2"),
    (rec(metadata={"x": _nested(64)}), "deeper than 64 levels"),
    (rec(metadata={"x": _nested(3000)}), "deeper than 64 levels"),
    (rec(metadata={"score": 3}), r"must be a float .*write 3\.0"),
    (rec(metadata={"score": math.inf}), "must be a float"),
    (rec(vector=[1e39, 0.0, 0.0]), "float32 range"),
    (rec(vector=np.array([0.0, -1e39, 0.0])), "float32 range"),
    (rec(vector=[0.0, 0.0, 0.0]), "all zeros"),
    (rec(vector=np.zeros(3, dtype=np.float32)), "all zeros"),
]


@pytest.mark.parametrize(("record", "message"), UNFAITHFUL, ids=[m for _, m in UNFAITHFUL])
def test_a_value_that_would_not_come_back_as_written_is_refused(
    record: Record, message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        validate_records([rec(id="ok"), record], SPEC, SPEC.dim)


def test_every_accepted_value_is_written_as_given() -> None:
    metadata = {
        "max": 2**63 - 1,
        "min": -(2**63),
        "x": _nested(63),  # the metadata dict is level 1: 64 levels in all
        "f": [0.1, -0.0, 1e308],
        "u": "café ☕",
    }
    record = rec(metadata=metadata)
    validate_records([record], SPEC, 3)
    (row,) = records_to_rows([record], SPEC, store_missing_as_null=True)
    assert json.loads(row["metadata"]) == metadata


def test_zero_vectors_are_fine_outside_cosine() -> None:
    spec = CollectionSpec(name="c", dim=3, metric="L2")
    validate_records([rec(vector=[0.0, 0.0, 0.0])], spec, 3)
    validate_records([rec(vector=np.zeros(3))], CollectionSpec(name="c", dim=3, metric="IP"), 3)


def test_validate_dense_refuses_zero_only_when_asked() -> None:
    assert validate_dense([0.0, 0.0, 0.0], 3, where="query") == [0.0, 0.0, 0.0]
    with pytest.raises(InvalidInputError, match=r"query: vector has no direction.*all zeros"):
        validate_dense([0.0, 0.0, 0.0], 3, where="query", nonzero=True)


def test_validation_before_embedding_skips_only_the_vectors() -> None:
    validate_records([rec(vector=None), rec(id="b", vector=None)], SPEC, None, vectors=False)
    with pytest.raises(InvalidInputError, match="outside the int64"):
        validate_records([rec(vector=None, metadata={"n": 2**70})], SPEC, None, vectors=False)
    with pytest.raises(InvalidInputError, match="share id"):
        validate_records([rec(vector=None), rec(vector=None)], SPEC, None, vectors=False)


def test_content_id_of_a_surrogate_is_an_id_not_a_crash() -> None:
    assert len(content_id("caf\udcff")) == 32
    assert content_id("caf\udcff") != content_id("caf\udcfe")


_JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
)
_JSON_VALUES = st.recursive(
    _JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=8), _JSON_VALUES, max_size=6))
def test_json_text_reads_back_as_json_dumps_does(metadata: dict[str, Any]) -> None:
    # The metadata column's text (orjson) parses to exactly what json.dumps' text parses to:
    # same types (True is not 1), same floats bit for bit, same key order.
    text = json_text(metadata)
    reference = json.loads(json.dumps(metadata))
    parsed = json.loads(text)
    assert parsed == reference
    assert json.dumps(parsed, sort_keys=False) == json.dumps(reference, sort_keys=False)


def test_json_text_takes_what_orjson_refuses_through_json_dumps() -> None:
    class Ratio(float):
        pass

    deep: Any = "leaf"
    for _ in range(300):  # past orjson's nesting limit
        deep = [deep]

    class Level(enum.IntEnum):
        HIGH = 3

    class Shown(dict[str, Any]):
        # What json.dumps (and the checks) see differs from what the dict holds.
        def items(self) -> Any:
            return [("seen", 1)]

    nested = Shown(hidden=float("nan"))
    for value in ({"r": Ratio(0.25)}, {"deep": deep}, {"level": Level.HIGH}, {"n": nested}):
        text = json_text(value)
        assert text == json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    assert json.loads(json_text({"n": nested})) == {"n": {"seen": 1}}
