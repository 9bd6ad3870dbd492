"""Relevance thresholds as Milvus range-search radii: exact on the float32 grid."""

from __future__ import annotations

import numpy as np
import pytest

from milvus_plugins.core import ConfigError, MetricType, check_range_knobs, threshold_radius
from milvus_plugins.core.ranking import relevance


def _f32_neighbours(x: float) -> tuple[float, float]:
    f = np.float32(x)
    below = float(np.nextafter(f, np.float32(-np.inf)))
    above = float(np.nextafter(f, np.float32(np.inf)))
    return below, above


@pytest.mark.parametrize(
    ("metric", "threshold", "radius"),
    [
        # COSINE/IP: relevance max(0, d) >= t  <=>  d > the float32 just below t.
        (MetricType.COSINE, 0.5, _f32_neighbours(0.5)[0]),
        (MetricType.IP, 0.5, _f32_neighbours(0.5)[0]),
        # 0.7 is no float32: the first float32 >= 0.7 is 0.7000000476837158.
        (MetricType.COSINE, 0.7, 0.699999988079071),
        # L2: 1 / (1 + d) >= 0.5  <=>  d <= 1  <=>  d < the float32 just above 1.
        (MetricType.L2, 0.5, _f32_neighbours(1.0)[1]),
        (MetricType.L2, 0.25, _f32_neighbours(3.0)[1]),
    ],
)
def test_threshold_radius_hand_computed(
    metric: MetricType, threshold: float, radius: float
) -> None:
    assert threshold_radius(metric, threshold) == radius


@pytest.mark.parametrize("metric", [MetricType.COSINE, MetricType.IP, MetricType.L2])
@pytest.mark.parametrize("threshold", [1e-6, 0.1, 0.3, 1 / 3, 0.5, 0.7, 0.99, 1.0])
def test_radius_separates_exactly_like_the_relevance(metric: MetricType, threshold: float) -> None:
    radius = threshold_radius(metric, threshold)
    assert radius is not None
    below, above = _f32_neighbours(radius)
    if metric is MetricType.L2:  # kept: d < radius
        assert relevance(below, metric) >= threshold
        assert relevance(radius, metric) < threshold
    else:  # kept: d > radius
        assert relevance(radius, metric) < threshold
        assert relevance(above, metric) >= threshold


@pytest.mark.parametrize("threshold", [1e-40, 2.9e-39, 5e-324])
def test_an_l2_threshold_every_finite_distance_passes_needs_no_radius(threshold: float) -> None:
    # 1 / (1 + d) >= t for every finite float32 d: a radius would be inf (once sent to the
    # engine check, which refused its own "radius=inf").
    largest = float(np.finfo(np.float32).max)
    assert relevance(largest, MetricType.L2) >= threshold
    assert threshold_radius(MetricType.L2, threshold) is None


def test_the_smallest_l2_threshold_with_a_radius_bounds_the_largest_float32() -> None:
    largest = float(np.finfo(np.float32).max)
    threshold = relevance(largest, MetricType.L2) * 1.5  # the largest distance fails it
    radius = threshold_radius(MetricType.L2, threshold)
    assert radius is not None and np.isfinite(radius) and radius <= largest


def test_zero_threshold_needs_no_radius_and_keyword_thresholds_stay_on_the_client() -> None:
    assert threshold_radius(MetricType.COSINE, 0.0) is None
    with pytest.raises(ConfigError, match="client"):
        threshold_radius(MetricType.BM25, 0.5)
    for bad in (-0.1, 1.5, "0.5", True, float("nan")):
        with pytest.raises(ConfigError, match="score_threshold"):
            threshold_radius(MetricType.COSINE, bad)  # type: ignore[arg-type]


def test_explicit_range_knobs_are_checked_per_metric() -> None:
    assert check_range_knobs(MetricType.COSINE, {"radius": 0.2, "range_filter": 0.9}) == {
        "radius": 0.2,
        "range_filter": 0.9,
    }
    assert check_range_knobs(MetricType.L2, {"radius": 2, "range_filter": 0.5, "ef": 3}) == {
        "radius": 2.0,
        "range_filter": 0.5,
    }
    cases = [
        (MetricType.COSINE, {"radius": 0.9, "range_filter": 0.2}, "below range_filter"),
        (MetricType.L2, {"radius": 0.5, "range_filter": 2.0}, "below radius"),
        (MetricType.COSINE, {"range_filter": 0.5}, "needs radius"),
        (MetricType.COSINE, {"radius": 1.5}, r"\[-1, 1\]"),
        (MetricType.L2, {"radius": -1.0}, "> 0"),
        (MetricType.IP, {"radius": "0.5"}, "number"),
        (MetricType.IP, {"radius": float("inf")}, "finite"),
    ]
    for metric, knobs, message in cases:
        with pytest.raises(ConfigError, match=message):
            check_range_knobs(metric, knobs)
