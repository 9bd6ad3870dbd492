"""Accelerator columns (pure): which keys get one, what they hold, how filters use them."""

from __future__ import annotations

from dataclasses import replace

from milvus_plugins.core import (
    CollectionSpec,
    Compare,
    MetadataField,
    Record,
    compile_filter,
    contains,
    eq,
    exists,
    gt,
    in_,
    like,
    ne,
    not_,
)
from milvus_plugins.core.capabilities import detect_capabilities
from milvus_plugins.core.inference import (
    MAX_INFERRED_FIELDS,
    accelerated_names,
    column_value,
    creation_properties,
    infer_metadata_fields,
    overflow_properties,
    overflowed_keys,
    overflowing_keys,
)
from milvus_plugins.core.types import ScalarType


def records(*metadatas: dict[str, object]) -> list[Record]:
    return [Record(id=str(i), text="t", metadata=dict(m)) for i, m in enumerate(metadatas)]


def inferred(spec: CollectionSpec, *metadatas: dict[str, object]) -> dict[str, ScalarType]:
    return {f.name: f.scalar_type for f in infer_metadata_fields(records(*metadatas), spec)}


SPEC = CollectionSpec(name="c", infer_metadata_fields=True)


def test_each_kind_of_the_evaluator_maps_to_one_column_type() -> None:
    # Numbers share one DOUBLE column: ints and floats compare as numbers in filters, and
    # a later 2.5 under a key whose first write held ints still fits the column.
    got = inferred(SPEC, {"s": "a", "i": 1, "f": 0.5, "b": True})
    assert got == {
        "s": ScalarType.VARCHAR,
        "i": ScalarType.DOUBLE,
        "f": ScalarType.DOUBLE,
        "b": ScalarType.BOOL,
    }


def test_keys_with_mixed_kinds_stay_in_json() -> None:
    # bool is not a number here: the evaluator compares true with 1 as different kinds.
    got = inferred(SPEC, {"a": 1, "b": 1, "c": 1.5, "d": "x"}, {"a": "1", "b": True, "c": 2})
    assert got == {"c": ScalarType.DOUBLE, "d": ScalarType.VARCHAR}


def test_none_values_and_missing_keys_do_not_prevent_a_column() -> None:
    got = inferred(SPEC, {"year": 2001}, {"year": None}, {"other": "x"})
    assert got == {"year": ScalarType.DOUBLE, "other": ScalarType.VARCHAR}


def test_only_none_lists_dicts_and_huge_values_are_not_inferred() -> None:
    got = inferred(
        SPEC,
        {"n": None, "l": ["a"], "d": {"k": 1}, "big": 2**60, "long": "x" * 70000, "ok": "y"},
    )
    assert got == {"ok": ScalarType.VARCHAR}


def test_invalid_field_names_reserved_and_declared_keys_are_left_alone() -> None:
    spec = CollectionSpec(
        name="c",
        infer_metadata_fields=True,
        metadata_fields=[MetadataField(name="year", type="INT64")],
    )
    got = inferred(spec, {"has space": "a", "1st": "b", "text": "c", "year": 3, "fine_1": "d"})
    assert got == {"fine_1": ScalarType.VARCHAR}


def test_keys_named_like_a_named_vector_field_are_left_alone() -> None:
    """A metadata key named like a named dense field must not become a second field."""
    spec = CollectionSpec(name="c", infer_metadata_fields=True, vector_fields={"topic": 4})
    assert inferred(spec, {"topic": "animals", "kind": "x"}) == {"kind": ScalarType.VARCHAR}


def test_inferred_varchar_columns_take_the_longest_length() -> None:
    (field,) = infer_metadata_fields(records({"s": "abc"}), SPEC)
    assert field.max_length == 65535


def test_at_most_max_inferred_fields_in_first_seen_order() -> None:
    many = {f"k{i:03d}": i for i in range(MAX_INFERRED_FIELDS + 10)}
    got = list(inferred(SPEC, many))
    assert got == [f"k{i:03d}" for i in range(MAX_INFERRED_FIELDS)]


ACCELERATED = CollectionSpec(
    name="c",
    accelerated_fields=[
        MetadataField(name="n", type="DOUBLE"),
        MetadataField(name="s", type="VARCHAR", max_length=65535),
        MetadataField(name="b", type="BOOL"),
    ],
)


def test_a_column_holds_a_value_only_when_it_fits_and_never_refuses_one() -> None:
    n, s, b = ACCELERATED.accelerated_fields
    assert column_value(3, n) == 3.0 and isinstance(column_value(3, n), float)
    assert column_value(2**60, n) is None  # would not compare exactly as a double
    assert column_value("3", n) is None and column_value(True, n) is None
    assert column_value([1], n) is None and column_value(None, n) is None
    assert column_value("x", s) == "x" and column_value("x" * 70000, s) is None
    assert column_value(1, b) is None and column_value(False, b) is False


def test_values_that_do_not_fit_mark_their_key_overflowed() -> None:
    batch = records({"n": 1.5, "s": "a"}, {"n": "seven", "b": None}, {"s": ["l"], "new": 1})
    assert overflowing_keys(batch, ACCELERATED) == {"n", "s"}
    assert overflowing_keys(records({"n": 2, "s": "x", "b": True}, {}), ACCELERATED) == set()


def test_accelerated_and_overflowed_keys_round_trip_through_properties() -> None:
    props = {**creation_properties(ACCELERATED), **overflow_properties({"s", "n"})}
    description = {"properties": props}
    assert accelerated_names(description) == ("n", "s", "b")
    assert overflowed_keys(description) == {"n", "s"}
    assert accelerated_names({"properties": {}}) == () and overflowed_keys({}) == set()


def test_filters_use_the_column_until_the_key_overflows() -> None:
    assert compile_filter(eq("n", 3), ACCELERATED) == "(n == 3.0)"
    assert compile_filter(like("s", "a%"), ACCELERATED) == '(s like "a%")'
    assert compile_filter(not_(eq("b", True)), ACCELERATED) == "(b is null or not (b == true))"
    assert compile_filter(exists("n"), ACCELERATED) == "(n is not null)"
    overflowed = replace(ACCELERATED, overflowed_keys=frozenset({"n"}))
    assert compile_filter(eq("n", 3), overflowed).startswith('(metadata["n"]')
    assert compile_filter(exists("n"), overflowed) == '(exists metadata["n"])'


def test_leaves_of_another_kind_than_the_column_are_answered_without_it() -> None:
    # An order, a pattern or `contains` the evaluator finds unknown for every number is
    # true for no row, and its negation only where the key is missing.
    for node in (gt("n", "3"), like("n", "1%"), contains("n", 1)):
        assert compile_filter(node, ACCELERATED) == "false", node
        assert compile_filter(not_(node), ACCELERATED) == f"({node.key} is null)", node
    # A value of another kind is never equal: `==` is false for every row, `!=` (ne is
    # not_(eq)) true for every row, `not in` drops the members of another kind.
    for node in (eq("n", "3"), eq("s", 1)):
        assert compile_filter(node, ACCELERATED) == "false", node
        assert compile_filter(not_(node), ACCELERATED) == "true", node
    assert compile_filter(ne("s", 1), ACCELERATED) == "true"
    assert compile_filter(Compare("s", "!=", 1), ACCELERATED) == "(s is not null)"
    assert compile_filter(in_("n", [1, "a"]), ACCELERATED) == "(n in [1.0])"
    assert compile_filter(not_(in_("n", [1, "a"])), ACCELERATED) == (
        "(n is null or not (n in [1.0]))"
    )
    assert compile_filter(not_(in_("n", ["a"])), ACCELERATED) == "true"
    assert compile_filter(in_("n", [1, 2.5]), ACCELERATED) == "(n in [1.0, 2.5])"


def test_ints_a_double_cannot_hold_exactly_take_the_json_path() -> None:
    for node in (gt("n", 2**60), in_("n", [1, 2**60])):
        assert compile_filter(node, ACCELERATED).startswith('(metadata["n"]'), node


def test_like_patterns_with_a_backslash_take_the_json_path() -> None:
    # Milvus Lite reads a backslash as an escape on a typed column, as a character in JSON.
    lite3 = detect_capabilities("milvus_lite-3.2.2").dialect
    assert compile_filter(like("s", "%\\%"), ACCELERATED, lite3) == '(metadata["s"] like "%\\\\%")'


def test_inferred_columns_leave_room_for_declared_ones_within_64_fields() -> None:
    declared = [MetadataField(name=f"d{i}", type="INT64") for i in range(40)]
    spec = CollectionSpec(name="c", metadata_fields=declared)
    many = {f"k{i:03d}": i for i in range(MAX_INFERRED_FIELDS)}
    assert len(inferred(spec, many)) == 64 - 40 - len(spec.fields.all())


def test_keys_named_like_expression_words_or_server_fields_stay_in_json() -> None:
    """A column `true` would make `eq("true", True)` a constant on Milvus Lite 3."""
    got = inferred(SPEC, {"true": True, "Like": 1, "json_contains": "x", "Timestamp": 3, "ok": 1})
    assert got == {"ok": ScalarType.DOUBLE}
