"""Settings a hostile tester found silently ignored or misreported (no I/O).

* D1: an index that names no metric takes the caller's metric; conflicting explicit
  metrics raise ``ConfigError``.
* E16: a schema mismatch names field types, not enum reprs.
* E18: grouping or decay on a canonical field that holds no group value / no number
  raises ``ConfigError``.
* D5: LangChain texts / ids / metadatas given as a set are refused.
"""

from __future__ import annotations

from typing import Any

import pytest
from pymilvus import DataType

from milvus_plugins.core import (
    CollectionSpec,
    ConfigError,
    Decay,
    DenseField,
    FlatIndex,
    Grouping,
    HnswIndex,
    InvalidInputError,
    MetricType,
    SchemaMismatchError,
    SparseInvertedIndex,
    index_from_dict,
)
from milvus_plugins.core.decay import decay_column
from milvus_plugins.core.existing_schema import check_existing
from milvus_plugins.core.grouping import group_key
from milvus_plugins.langchain.documents import Batch, documents_batch

# -- D1: metric and index ----------------------------------------------------------------


@pytest.mark.parametrize(
    "index",
    ["FLAT", FlatIndex(), {"index_type": "HNSW", "M": 8}, HnswIndex(), "IVF_FLAT"],
    ids=["flat-str", "flat-obj", "hnsw-dict", "hnsw-obj", "ivf-str"],
)
@pytest.mark.parametrize("metric", ["L2", "IP"])
def test_an_index_without_a_metric_takes_the_callers_metric(index: Any, metric: str) -> None:
    spec = CollectionSpec(name="c", dim=8, metric=metric, index=index)
    assert spec.metric_type is MetricType(metric)
    assert spec.index_config is not None
    assert spec.index_config.metric_type is MetricType(metric)
    dense = DenseField(name="title", dim=8, metric=metric, index=index)
    assert dense.metric_type is MetricType(metric)
    assert dense.index_config is not None
    assert dense.index_config.metric_type is MetricType(metric)


def test_an_index_metric_is_kept_with_the_default_metric() -> None:
    spec = CollectionSpec(name="c", dim=8, index=HnswIndex(metric="L2"))
    assert spec.metric_type is MetricType.L2
    spec = CollectionSpec(name="c", dim=8, index={"index_type": "FLAT", "metric_type": "IP"})
    assert spec.metric_type is MetricType.IP
    assert spec.index_config == FlatIndex(metric="IP")


@pytest.mark.parametrize(
    ("metric", "index"),
    [
        ("IP", HnswIndex(metric="L2")),
        ("L2", FlatIndex(metric="COSINE")),
        ("L2", {"index_type": "HNSW", "metric_type": "IP"}),
    ],
)
def test_conflicting_explicit_metrics_are_refused(metric: str, index: Any) -> None:
    with pytest.raises(ConfigError, match=rf"metric='{metric}' conflicts with the metric"):
        CollectionSpec(name="c", dim=8, metric=metric, index=index)
    with pytest.raises(ConfigError, match=r"vector_fields\['t'\]\.metric"):
        DenseField(name="t", dim=8, metric=metric, index=index)


def test_agreeing_explicit_metrics_are_accepted() -> None:
    spec = CollectionSpec(name="c", dim=8, metric="L2", index=HnswIndex(metric="L2", M=8))
    assert spec.metric_type is MetricType.L2
    assert spec.index_config == HnswIndex(metric="L2", M=8)


def test_an_index_records_whether_its_metric_was_given() -> None:
    assert not HnswIndex().metric_given
    assert HnswIndex().metric_type is MetricType.COSINE
    assert HnswIndex(metric="COSINE").metric_given
    assert not index_from_dict("FLAT").metric_given
    assert index_from_dict({"index_type": "FLAT", "metric_type": "L2"}).metric_given
    assert SparseInvertedIndex().metric_type is MetricType.BM25
    assert not SparseInvertedIndex().metric_given
    # Equality and the spec's re-validation do not depend on how the metric came.
    assert HnswIndex() == HnswIndex(metric="COSINE")
    assert CollectionSpec(name="c", dim=8, index="HNSW").index == HnswIndex()


def test_the_bm25_metric_is_still_refused_for_a_dense_field() -> None:
    with pytest.raises(ConfigError, match="BM25"):
        CollectionSpec(name="c", dim=8, metric="BM25", index="FLAT")


# -- E16: mismatch messages -------------------------------------------------------------


def _description(**types: Any) -> dict[str, Any]:
    fields = {
        "id": DataType.VARCHAR,
        "text": DataType.VARCHAR,
        "metadata": DataType.JSON,
        "doc_id": DataType.VARCHAR,
        "extra": DataType.JSON,
        **types,
    }
    out = [{"name": n, "type": t, "params": {}} for n, t in fields.items()]
    out.append({"name": "vector", "type": DataType.FLOAT_VECTOR, "params": {"dim": 8}})
    return {"fields": out}


def test_a_mismatched_field_type_is_named_without_enum_reprs() -> None:
    spec = CollectionSpec(name="c", dim=8, metadata_fields={"year": "INT64"})
    with pytest.raises(SchemaMismatchError) as info:
        check_existing(spec, _description(year=DataType.VARCHAR), None)
    message = str(info.value)
    assert "field 'year' is VARCHAR, expected INT64" in message
    assert "<DataType" not in message


# -- E18: grouping and decay fields ---------------------------------------------------------

SPEC = CollectionSpec(
    name="c",
    dim=8,
    sparse="bm25",
    metadata_fields={"year": "INT64", "score": "DOUBLE", "genre": "VARCHAR"},
    vector_fields={"title": 8},
)


@pytest.mark.parametrize("by", ["text", "vector", "sparse", "metadata", "extra", "title"])
def test_grouping_by_a_field_without_group_values_is_refused(by: str) -> None:
    with pytest.raises(ConfigError, match=rf"group_by='{by}' names .* holds no value to group"):
        group_key(SPEC, Grouping(by=by))


@pytest.mark.parametrize("by", [None, "id", "doc_id", "year", "score", "genre", "missing"])
def test_grouping_by_ids_fields_and_metadata_keys_still_works(by: str | None) -> None:
    key = group_key(SPEC, Grouping(by=by))
    assert key.label == (by or "doc_id")


@pytest.mark.parametrize(
    "field", ["text", "vector", "sparse", "metadata", "extra", "title", "id", "doc_id", "genre"]
)
def test_decay_on_a_field_that_holds_no_number_is_refused(field: str) -> None:
    with pytest.raises(ConfigError, match=rf"decay field='{field}' names .* holds no number"):
        decay_column(SPEC, Decay(field=field, origin=0, scale=1))


def test_decay_on_numeric_fields_and_metadata_keys_still_works() -> None:
    assert decay_column(SPEC, Decay(field="year", origin=0, scale=1)) == "year"
    assert decay_column(SPEC, Decay(field="score", origin=0, scale=1)) == "score"
    assert decay_column(SPEC, Decay(field="ts", origin=0, scale=1)) is None  # metadata key


# -- D5: unordered collections where order pairs texts, ids and metadatas -----------------


@pytest.mark.parametrize("kind", [set, frozenset])
@pytest.mark.parametrize("argument", ["texts", "ids"])
def test_langchain_refuses_unordered_texts_and_ids(kind: type, argument: str) -> None:
    texts: Any = ["a", "b", "c"]
    ids: Any = ["1", "2", "3"]
    if argument == "texts":
        texts = kind(texts)
    else:
        ids = kind(ids)
    with pytest.raises(InvalidInputError, match=rf"{argument} is a {kind.__name__}.*pass a list"):
        Batch.of(texts, None, ids)


def test_langchain_accepts_ordered_iterables() -> None:
    mapping = {"1": "a", "2": "b"}
    batch = Batch.of(mapping.values(), None, list(mapping.keys()))
    assert list(zip(batch.ids, batch.texts, strict=True)) == [("1", "a"), ("2", "b")]
    batch = Batch.of((t for t in ["x", "y"]), None, mapping.keys())
    assert batch.ids == ["1", "2"]
    assert documents_batch([], None).texts == []
