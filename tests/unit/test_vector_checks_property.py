"""The batch check of list vectors against the per-vector reference (``validate_dense``).

Lists of Python floats pass a check without numpy (``sum`` and ``math.hypot`` per list)
and are sent as they are; everything else goes through numpy. Whatever path a chunk takes,
its verdict and the values written must be the reference's, and a list sent as it is must
be one protobuf packs (a value it refuses would fail the write after earlier batches).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymilvus.grpc_gen import schema_pb2

from milvus_plugins.core import CollectionSpec, InvalidInputError, Record
from milvus_plugins.core.record_checks import validate_records
from milvus_plugins.core.values import query_vector, validate_dense

DIM = 4

# Values near every limit the checks know: float32 overflow (3.4e38) and its COSINE norm
# overflow (~1.8e19), float32 underflow when stored (~1e-45) and when squared (~1e-23),
# the fast check's own norm range (1e-15 .. 1e15), NaN and inf.
_EDGES = [0.0, -0.0, 1e-50, 1e-40, 1e-24, 1e-16, 1e-15, 1e15, 1e16, 1.8e19, 2e19, 3.4e38,
          3.5e38, 1e300, float("inf"), float("-inf"), float("nan")]  # fmt: skip

_FLOATS = st.one_of(
    st.floats(-2.0, 2.0),
    st.sampled_from(_EDGES),
    st.sampled_from(_EDGES).map(lambda x: -x),
    st.floats(allow_nan=True, allow_infinity=True),
)
_ODD = st.one_of(
    st.integers(-5, 5),
    st.booleans(),
    st.integers(min_value=10**300, max_value=10**400),
    _FLOATS.map(np.float64),
    st.floats(-2.0, 2.0, width=32).map(np.float32),
    _FLOATS.map(np.array),  # 0-d arrays
    st.floats(-2.0, 2.0).map(lambda x: Decimal(repr(x))),
    st.just("0.5"),
    st.just(1 + 1j),
)
_VALUES = st.one_of(_FLOATS, _FLOATS, _FLOATS, _ODD)
_SCALED = st.tuples(
    st.lists(st.floats(-1.0, 1.0), min_size=DIM, max_size=DIM),
    st.one_of(st.sampled_from(_EDGES[2:14]), st.floats(-50.0, 40.0).map(lambda e: 10.0**e)),
).map(lambda pair: [x * pair[1] for x in pair[0]])  # norms on both sides of every limit
_VECTOR = st.one_of(
    st.lists(st.floats(-1.0, 1.0), min_size=DIM, max_size=DIM),  # a model's output
    _SCALED,
    _SCALED,
    st.lists(_VALUES, min_size=DIM, max_size=DIM),
    st.lists(_VALUES, min_size=DIM - 1, max_size=DIM + 1),
)


def _reference(vector: Any, nonzero: bool) -> list[float] | None:
    try:
        return validate_dense(vector, DIM, where="v", nonzero=nonzero)
    except InvalidInputError:
        return None


def _packs(vector: Any) -> bool:
    data = schema_pb2.FieldData()
    try:
        data.vectors.float_vector.data.extend(vector)
    except (TypeError, ValueError, OverflowError):
        return False
    return True


@pytest.mark.parametrize("metric", ["COSINE", "L2"])
@settings(max_examples=400, deadline=None)
@given(vectors=st.lists(_VECTOR, min_size=1, max_size=5))
def test_list_vectors_are_judged_and_written_as_the_reference_says(
    metric: str, vectors: list[list[Any]]
) -> None:
    spec = CollectionSpec(name="c", dim=DIM, metric=metric)
    expected = [_reference(v, nonzero=metric == "COSINE") for v in vectors]
    records = [Record(id=f"r{i}", text="t", vector=v) for i, v in enumerate(vectors)]
    if any(e is None for e in expected):
        with pytest.raises(InvalidInputError):
            validate_records(records, spec, DIM)
        return
    validate_records(records, spec, DIM)
    for record, want in zip(records, expected, strict=True):
        got = record.vector
        assert got is not None
        assert np.asarray(got, dtype=np.float64).astype(np.float32).tolist() == want
        if isinstance(got, list):
            assert _packs(got), got


def test_a_model_output_of_plain_floats_is_sent_as_it_is() -> None:
    """The fast path is the one a model's output takes (no float32 copy of it)."""
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((50, DIM)).tolist()
    records = [Record(id=f"r{i}", text="t", vector=v) for i, v in enumerate(vectors)]
    validate_records(records, CollectionSpec(name="c", dim=DIM), DIM)
    assert all(r.vector is v for r, v in zip(records, vectors, strict=True))


def _as_float32(values: list[float]) -> np.ndarray:
    with np.errstate(over="ignore"):
        return np.asarray(values, dtype=np.float64).astype(np.float32)


_QUERY = st.one_of(
    _VECTOR,
    st.lists(_FLOATS, min_size=DIM, max_size=DIM).map(lambda v: np.asarray(v, dtype=np.float64)),
    st.lists(st.floats(-2.0, 2.0, width=32), min_size=DIM, max_size=DIM).map(
        lambda v: np.asarray(v, dtype=np.float32)
    ),
    _SCALED.map(_as_float32),
)


@pytest.mark.parametrize("nonzero", [True, False])
@settings(max_examples=500, deadline=None)
@given(vector=_QUERY)
def test_a_query_vector_is_judged_as_the_reference_says(vector: Any, nonzero: bool) -> None:
    """``query_vector`` (the search path's check) refuses what ``validate_dense``
    refuses, and sends values that Milvus' float32 rounding makes the reference's."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy's overflow warnings on edge values
        want = _reference(vector, nonzero)
        if want is None:
            with pytest.raises(InvalidInputError):
                query_vector(vector, DIM, where="v", nonzero=nonzero)
            return
        got = query_vector(vector, DIM, where="v", nonzero=nonzero)
        assert np.asarray(got, dtype=np.float64).astype(np.float32).tolist() == want
    assert _packs(got), got


def test_a_plain_query_vector_is_sent_as_it_is() -> None:
    rng = np.random.default_rng(5)
    as_list = rng.standard_normal(DIM).tolist()
    assert query_vector(as_list, DIM, where="q", nonzero=True) is as_list
    as_array = rng.standard_normal(DIM).astype(np.float32)
    assert query_vector(as_array, DIM, where="q", nonzero=True) == as_array.tolist()
    with pytest.raises(InvalidInputError, match="dimension 4"):
        query_vector(as_list, DIM + 1, where="q")
