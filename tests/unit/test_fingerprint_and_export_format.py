"""Pure parts of the fingerprint, the export format and the reindex recall maths."""

from __future__ import annotations

import json

import numpy as np
import pytest

from milvus_plugins.core import (
    CollectionSpec,
    ConfigError,
    EmbeddingFingerprint,
    EmbeddingMismatchError,
    HnswIndex,
    MetadataField,
    Record,
    stored_fingerprint,
)
from milvus_plugins.core.export_format import row_json as _row_json
from milvus_plugins.core.fingerprint import (
    DESCRIPTION_MARK,
    PROPERTY_KEY,
    check_fingerprint,
    creation_settings,
)
from milvus_plugins.core.portable import spec_from_dict, spec_to_dict
from milvus_plugins.core.reindex import _recall, _scores
from milvus_plugins.core.types import MetricType

RNG = np.random.default_rng(0)
A = RNG.standard_normal(32)
B = RNG.standard_normal(32)


def test_same_model_up_to_numeric_noise_matches_another_model_does_not() -> None:
    base = EmbeddingFingerprint.of_vector(A, "a")
    assert base.same_model(EmbeddingFingerprint.of_vector(A * 3.0, "renamed"))  # scale-free
    noisy = A + RNG.standard_normal(32) * 1e-4  # another BLAS / thread count
    assert base.same_model(EmbeddingFingerprint.of_vector(noisy))
    assert not base.same_model(EmbeddingFingerprint.of_vector(B, "a"))
    assert not base.same_model(EmbeddingFingerprint.of_vector(A[:16]))  # another dim


@pytest.mark.parametrize("bad", [[0.0] * 4, [float("nan"), 1.0], [[1.0, 2.0]], []])
def test_a_broken_probe_vector_is_a_config_error(bad: object) -> None:
    with pytest.raises(ConfigError, match="allow_embedding_change"):
        EmbeddingFingerprint.of_vector(bad)  # type: ignore[arg-type]


def test_stored_in_properties_and_description_and_read_back() -> None:
    fp = EmbeddingFingerprint.of_vector(A, "m")
    description, properties = creation_settings("my notes", fp)
    assert description.startswith("my notes ") and DESCRIPTION_MARK in description
    assert stored_fingerprint({"properties": properties}) == fp
    assert stored_fingerprint({"description": description}) == fp  # Milvus Lite 2.5
    assert stored_fingerprint({"description": "my notes", "properties": {}}) is None
    garbage = {"properties": {PROPERTY_KEY: "{not json"}, "description": "x"}
    assert stored_fingerprint(garbage) is None  # not ours: an older collection
    assert creation_settings("d", None) == ("d", {})


def test_check_raises_only_for_a_known_different_model() -> None:
    stored = EmbeddingFingerprint.of_vector(A, "model-a")
    other = EmbeddingFingerprint.of_vector(B, "model-b")
    _, props = creation_settings("", stored)
    described = {"properties": props}
    check_fingerprint("c", described, stored, allow_change=False)
    check_fingerprint("c", described, None, allow_change=False)
    check_fingerprint("c", {}, other, allow_change=False)
    check_fingerprint("c", described, other, allow_change=True)
    with pytest.raises(EmbeddingMismatchError, match=r"model-a .*model-b") as caught:
        check_fingerprint("c", described, other, allow_change=False)
    assert caught.value.stored["model"] == "model-a"


def test_spec_round_trips_through_the_export_header() -> None:
    spec = CollectionSpec(
        name="a",
        dim=8,
        index=HnswIndex(M=8, ef_construction=40, metric="L2"),
        sparse="bm25",
        analyzer={"type": "standard"},
        metadata_fields=[
            MetadataField(name="year", type="INT64"),
            MetadataField(name="tags", type="ARRAY", element_type="VARCHAR", max_capacity=9),
        ],
        partition_key="year",
        text_max_length=1000,
    )
    data = json.loads(json.dumps(spec_to_dict(spec)))
    back = spec_from_dict("b", data)
    assert back.name == "b"
    for attribute in (
        "dim",
        "index",
        "metric",
        "sparse",
        "analyzer",
        "metadata_fields",
        "partition_key",
        "fields",
        "text_max_length",
        "id_max_length",
        "consistency_level",
    ):
        assert getattr(back, attribute) == getattr(spec, attribute), attribute


def test_row_json_vectors_are_float32_exact_and_short() -> None:
    vector = np.float32([0.1, 1 / 3, -2.5e-8, 3.4028235e38])
    line = _row_json(
        Record(id="é", text="ü", vector=vector.tolist(), metadata={"n": 2**63 - 1}), False
    )
    data = json.loads(line)
    assert np.float32(data["vector"]).tobytes() == vector.tobytes()
    assert data["metadata"]["n"] == 2**63 - 1 and data["id"] == "é"
    assert "0.1," in line  # the float32 shortest form, not 0.10000000149011612


def test_recall_and_exact_scores() -> None:
    assert _recall([["a", "b"]], [["b", "c"]], 2) == 0.5
    assert _recall([], [], 10) == 1.0
    q, v = np.array([[1.0, 0.0]]), np.array([[2.0, 0.0], [0.0, 1.0], [1.0, 0.1]])
    assert np.argmax(_scores(MetricType.L2, q, v)) == 2
    assert np.argmax(_scores(MetricType.IP, q, v)) == 0
    assert np.argmax(_scores(MetricType.COSINE, q, v)) == 0
