"""Which metadata keys become typed columns with ``infer_metadata_fields`` (pure)."""

from __future__ import annotations

from milvus_plugins.core import CollectionSpec, MetadataField, Record
from milvus_plugins.core.inference import MAX_INFERRED_FIELDS, infer_metadata_fields
from milvus_plugins.core.types import ScalarType


def records(*metadatas: dict[str, object]) -> list[Record]:
    return [Record(id=str(i), text="t", metadata=dict(m)) for i, m in enumerate(metadatas)]


def inferred(spec: CollectionSpec, *metadatas: dict[str, object]) -> dict[str, ScalarType]:
    return {f.name: f.scalar_type for f in infer_metadata_fields(records(*metadatas), spec)}


SPEC = CollectionSpec(name="c", infer_metadata_fields=True)


def test_each_scalar_type_maps_to_its_column_type() -> None:
    got = inferred(SPEC, {"s": "a", "i": 1, "f": 0.5, "b": True})
    assert got == {
        "s": ScalarType.VARCHAR,
        "i": ScalarType.INT64,
        "f": ScalarType.DOUBLE,
        "b": ScalarType.BOOL,
    }


def test_keys_with_mixed_types_stay_in_json() -> None:
    # bool is not an int here, nor an int a float: each would read back as another type.
    got = inferred(SPEC, {"a": 1, "b": 1, "c": 1.5, "d": "x"}, {"a": "1", "b": True, "c": 2})
    assert got == {"d": ScalarType.VARCHAR}


def test_none_values_and_missing_keys_do_not_prevent_a_column() -> None:
    got = inferred(SPEC, {"year": 2001}, {"year": None}, {"other": "x"})
    assert got == {"year": ScalarType.INT64, "other": ScalarType.VARCHAR}


def test_only_none_lists_dicts_and_huge_values_are_not_inferred() -> None:
    got = inferred(
        SPEC,
        {"n": None, "l": ["a"], "d": {"k": 1}, "big": 2**70, "long": "x" * 70000, "ok": "y"},
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


def test_inferred_varchar_columns_take_the_longest_length() -> None:
    (field,) = infer_metadata_fields(records({"s": "abc"}), SPEC)
    assert field.max_length == 65535


def test_at_most_max_inferred_fields_in_first_seen_order() -> None:
    many = {f"k{i:03d}": i for i in range(MAX_INFERRED_FIELDS + 10)}
    got = list(inferred(SPEC, many))
    assert got == [f"k{i:03d}" for i in range(MAX_INFERRED_FIELDS)]
