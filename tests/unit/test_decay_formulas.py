"""The decay formulas (Milvus' decay reranker) against hand-computed values."""

from __future__ import annotations

import math

import pytest

from milvus_plugins.core import ConfigError, Decay, Hit, Record, apply_decay


@pytest.mark.parametrize(
    ("function", "x", "expected"),
    [
        ("gauss", 0, 1.0),
        ("gauss", 5, 0.5**0.25),  # (5/10)^2 = 0.25
        ("gauss", 10, 0.5),
        ("gauss", -20, 0.0625),  # 0.5^((20/10)^2)
        ("exp", 5, math.sqrt(0.5)),
        ("exp", 10, 0.5),
        ("exp", 20, 0.25),
        ("linear", 5, 0.75),
        ("linear", 10, 0.5),
        ("linear", 20, 0.0),
        ("linear", 30, 0.0),
    ],
)
def test_factor_hand_computed(function: str, x: float, expected: float) -> None:
    decay = Decay(field="ts", origin=0, scale=10, function=function)
    assert decay.factor(x) == pytest.approx(expected, abs=1e-12)


def test_offset_decay_and_missing_values() -> None:
    decay = Decay(field="ts", origin=100, scale=10, offset=5, decay=0.25, function="exp")
    assert decay.factor(97) == 1.0  # within the offset
    assert decay.factor(115) == pytest.approx(0.25)  # offset + scale: exactly `decay`
    assert decay.factor(125) == pytest.approx(0.0625)
    assert decay.factor(None) == 0.0
    assert decay.factor("115") == 0.0
    assert decay.factor(True) == 0.0


def _hit(i: str, score: float, ts: float | None) -> Hit:
    meta = {} if ts is None else {"ts": ts}
    return Hit(record=Record(id=i, text=i, metadata=meta), score=score, distance=score)


def test_rerank_orders_by_relevance_times_factor() -> None:
    # Half-life 10 around origin 100: relevance 0.9 at ts 80 (0.25) = 0.225,
    # 0.6 at ts 100 (1.0) = 0.6, 0.8 at ts 90 (0.5) = 0.4, 0.99 without ts = 0.
    hits = [
        _hit("old", 0.9, 80),
        _hit("new", 0.6, 100),
        _hit("mid", 0.8, 90),
        _hit("x", 0.99, None),
    ]
    decay = Decay(field="ts", origin=100, scale=10, function="exp")
    ranked = apply_decay(hits, decay, k=3)
    assert [h.id for h in ranked] == ["new", "mid", "old"]
    assert [h.score for h in ranked] == pytest.approx([0.6, 0.4, 0.225])
    assert [h.distance for h in ranked] == [0.6, 0.8, 0.9]  # the engine's raw values


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scale": 0}, "scale"),
        ({"scale": float("inf")}, "scale"),
        ({"offset": -1}, "offset"),
        ({"decay": 1.0}, "decay"),
        ({"decay": 0}, "decay"),
        ({"function": "cosine"}, "decay function"),
        ({"field": ""}, "field"),
        ({"origin": "now"}, "origin"),
        ({"window": 0}, "window"),
        ({"place": "edge"}, "place"),
    ],
)
def test_bad_decay_is_refused(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"field": "ts", "origin": 0, "scale": 1, **kwargs}
    with pytest.raises(ConfigError, match=message):
        Decay(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["origin", "scale", "offset"])
def test_an_int_beyond_a_float_is_refused_as_a_config_error(name: str) -> None:
    kwargs: dict[str, object] = {"field": "ts", "origin": 1000, "scale": 100, name: 10**400}
    with pytest.raises(ConfigError, match=f"{name}=.*finite number"):
        Decay(**kwargs)  # type: ignore[arg-type]


def test_a_scale_whose_square_underflows_is_refused() -> None:
    with pytest.raises(ConfigError, match="too small"):
        Decay(field="ts", origin=0, scale=1e-200)
    assert Decay(field="ts", origin=0, scale=1e-150).factor(0) == 1.0


@pytest.mark.parametrize("function", ["gauss", "exp", "linear"])
def test_extreme_values_give_factors_in_zero_one_never_an_error(function: str) -> None:
    for scale in (1e-150, 1.0, 1e300):
        decay = Decay(field="ts", origin=-1e308, scale=scale, function=function)
        for value in (10**400, -(10**400), 1e308, -1e308, 0, float("inf"), float("nan")):
            factor = decay.factor(value)
            assert 0.0 <= factor <= 1.0, (scale, value, factor)
        assert decay.factor(-1e308) == 1.0  # at the origin
        assert decay.factor(10**400) == 0.0  # no float: no number, factor 0
