"""Pure checks of sparse-only and multi-vector specs: settings, schema, capabilities, legs."""

from __future__ import annotations

from typing import Any

import pytest

from milvus_plugins.core import (
    RRF,
    CollectionSpec,
    ConfigError,
    DenseField,
    FieldNames,
    MetadataField,
    UnsupportedByServerError,
    Weighted,
    check_ranker,
    detect_capabilities,
    hybrid_legs,
)
from milvus_plugins.core.requests import check_leg_weights
from milvus_plugins.core.schema import build_index_params, build_schema
from milvus_plugins.core.types import MetricType

LITE = detect_capabilities("milvus_lite-3.2.2")
OLD_SERVER = detect_capabilities("v2.3.5")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "t", "dim": 0}, r"dim=0 must be an integer"),
        ({"name": "t", "metric": "BM25"}, "for the sparse field"),
        ({"name": "t", "metric": "dot"}, "not a known MetricType"),
        ({"name": "bad name"}, "vector_fields.name"),
    ],
)
def test_dense_field_refuses_bad_settings(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        DenseField(**kwargs)  # type: ignore[arg-type]


def test_vector_fields_must_not_clash() -> None:
    with pytest.raises(ConfigError, match="clash with reserved field names"):
        CollectionSpec(name="c", vector_fields=[DenseField(name="text")])
    with pytest.raises(ConfigError, match="duplicate names"):
        CollectionSpec(name="c", vector_fields=[DenseField(name="t"), DenseField(name="t")])
    with pytest.raises(ConfigError, match="clash with vector_fields"):
        CollectionSpec(name="c", vector_fields={"t": 4}, metadata_fields={"t": "INT64"})
    with pytest.raises(ConfigError, match="must be a DenseField"):
        CollectionSpec(name="c", vector_fields={"t": "big"})


def test_vector_fields_mapping_forms_and_dense_field_lookup() -> None:
    spec = CollectionSpec(
        name="c",
        dim=4,
        fields=FieldNames(vector="body"),
        vector_fields={"title": 8, "other": {"metric": "L2"}},
    )
    assert [(f.name, f.dim) for f in spec.dense_fields] == [
        ("body", 4),
        ("title", 8),
        ("other", None),
    ]
    assert spec.dense_field().name == "body"
    assert spec.dense_field("other").metric_type is MetricType.L2
    with pytest.raises(ConfigError, match=r"dense fields are \['body', 'title', 'other'\]"):
        spec.dense_field("x")


def test_schema_has_one_vector_field_per_dense_field_and_none_when_sparse_only() -> None:
    spec = CollectionSpec(name="c", dim=4, vector_fields=[DenseField(name="title", dim=8)])
    schema = build_schema(spec, LITE)
    vectors = {f.name: f.params.get("dim") for f in schema.fields if f.name in ("vector", "title")}
    assert vectors == {"vector": 4, "title": 8}
    indexed = [i.field_name for i in build_index_params(spec, LITE)]
    assert {"vector", "title"} <= set(indexed)
    sparse_only = CollectionSpec(name="c", dense=False, sparse="bm25")
    names = [f.name for f in build_schema(sparse_only, LITE).fields]
    assert "vector" not in names and "sparse" in names
    assert sparse_only.dense_fields == ()


def test_unknown_named_dimension_is_refused_at_creation() -> None:
    spec = CollectionSpec(name="c", dim=4, vector_fields=[DenseField(name="title")])
    with pytest.raises(ConfigError, match=r"\['title'\] is unknown"):
        build_schema(spec, LITE)


def test_milvus_2_3_has_no_multiple_vector_fields() -> None:
    spec = CollectionSpec(name="c", dim=4, vector_fields=[DenseField(name="title", dim=8)])
    with pytest.raises(UnsupportedByServerError, match=r"multiple vector fields.*2\.4"):
        build_schema(spec, OLD_SERVER)


def test_legs_and_weights() -> None:
    plain = CollectionSpec(name="c", sparse="bm25")
    assert hybrid_legs(plain) == ("dense", "sparse")
    multi = CollectionSpec(name="c", vector_fields={"title": 3})
    assert hybrid_legs(multi) == ("vector", "title")
    three = CollectionSpec(name="c", sparse="bm25", vector_fields={"title": 3})
    assert hybrid_legs(three) == ("vector", "title", "sparse")
    assert check_ranker(Weighted(0.2, 0.3, 0.5), hybrid_legs(three)) is not None
    assert check_ranker(RRF(), hybrid_legs(three)) == RRF()
    with pytest.raises(ConfigError, match=r"2 weights.*3 legs"):
        check_ranker(Weighted(0.5, 0.5), hybrid_legs(three))
    with pytest.raises(ConfigError, match="give one weight per leg"):
        check_leg_weights(Weighted(0.5, 0.5), 3, "vector, title, sparse")
    check_leg_weights(RRF(), 5, "any")


@pytest.mark.parametrize("name", ["Timestamp", "RowID"])
@pytest.mark.parametrize("caps", [LITE, OLD_SERVER, detect_capabilities("v2.5.4")])
def test_declared_fields_named_like_system_fields_are_refused_at_create(
    name: str, caps: Any
) -> None:
    """Servers refuse them with a raw error at create; every engine refuses them typed."""
    spec = CollectionSpec(name="c", dim=2, metadata_fields=[MetadataField(name=name, type="INT64")])
    with pytest.raises(ConfigError, match=f"{name}.*reserved.*rename"):
        build_schema(spec, caps)
    fine = CollectionSpec(name="c", dim=2, metadata_fields=[MetadataField(name="ts", type="INT64")])
    assert "ts" in [f.name for f in build_schema(fine, caps).fields]


def test_vector_indexes_are_made_after_the_scalar_indexes() -> None:
    # A server loads no collection before each vector field has an index: made last,
    # they keep another client from loading the collection with only some of its indexes
    # (after which the 2.3.5 server refused every load with all of them).
    spec = CollectionSpec(
        name="c",
        dim=4,
        sparse="bm25",
        vector_fields=[DenseField(name="title", dim=8)],
        metadata_fields=[MetadataField(name="tenant", type="varchar", max_length=64)],
    )
    indexed = [i.field_name for i in build_index_params(spec, detect_capabilities("v2.5.4"))]
    assert indexed[0] == "tenant"
    assert set(indexed[1:]) == {"vector", "title", "sparse"}
