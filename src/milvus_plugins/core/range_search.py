"""Range search: a relevance threshold as Milvus' ``radius``, and explicit range knobs (pure).

Milvus' range search keeps the hits whose raw distance lies in a band: for COSINE and IP
(larger is better) ``radius < d <= range_filter``; for L2 (smaller is better)
``range_filter <= d < radius``. The package's relevance (:func:`~milvus_plugins.core.
ranking.relevance`) is monotonic in the distance for every dense metric, so a threshold
``relevance >= t`` is one bound on ``d``:

==========  =======================  ==============================================
metric      relevance                ``relevance >= t`` (0 < t <= 1)
==========  =======================  ==============================================
COSINE, IP  ``min(1, max(0, d))``    ``d >= t``: ``radius`` = the float32 just below t
L2          ``1 / (1 + max(0, d))``  ``d <= 1/t - 1``: ``radius`` = the float32 just
                                     above the largest passing distance
==========  =======================  ==============================================

Milvus computes distances in float32, so the bound is found on the float32 grid with
the relevance function itself as the judge (:func:`threshold_radius`): for every
float32 distance, "inside the radius" and "relevance >= t" agree exactly, so the server
returns the same rows as filtering the ungated top ``k`` on the client (the rows above
a threshold are a prefix of the ranking). ``t <= 0`` lets everything pass (no radius).

Keyword (BM25, sparse) relevance ``s / (s + c)`` has a per-query scale ``c`` (query terms
and the row count), so ``s >= t c / (1 - t)`` would convert per query; it stays on the
client because Milvus Lite 3.2.2 reports BM25 scores negated (a radius would mean the
opposite there). Hybrid relevance is a weighted mean of both legs and has no per-leg
bound: it is always filtered on the client.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from milvus_plugins.core.errors import ConfigError, shown
from milvus_plugins.core.ranking import relevance
from milvus_plugins.core.types import MetricType

__all__ = [
    "RANGE_KNOBS",
    "check_range_knobs",
    "check_threshold",
    "larger_is_better",
    "threshold_radius",
]

RANGE_KNOBS = ("radius", "range_filter")


def larger_is_better(metric: MetricType) -> bool:
    """Whether a larger raw distance is a better match (COSINE, IP, BM25)."""
    return metric is not MetricType.L2


def check_threshold(threshold: Any, name: str = "score_threshold") -> float | None:
    """Return a relevance threshold as a float in [0, 1] (``None`` passes through).

    Raises:
        ConfigError: not a number in [0, 1].
    """
    if threshold is None:
        return None
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
        raise ConfigError(f"{name}={shown(threshold)} must be a number in [0, 1].")
    value = float(threshold)
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{name}={shown(threshold)} must be a number in [0, 1].")
    return value


_MAX_BITS = 0x7F7FFFFF  # the largest finite float32, as its bit pattern


def _as_float(bits: int) -> float:
    return float(np.array([bits], dtype=np.uint32).view(np.float32)[0])


def _boundary(predicate: Any) -> int:
    """The first non-negative float32 (as bits) where a monotone ``predicate`` turns true.

    Non-negative float32 values are ordered like their bit patterns, so a bisection over
    the patterns finds the exact float32 boundary in 31 steps.
    """
    low, high = 0, _MAX_BITS + 1  # predicate(low - 1) false, predicate(high) true
    while low < high:
        middle = (low + high) // 2
        if predicate(_as_float(middle)):
            high = middle
        else:
            low = middle + 1
    return low


def threshold_radius(metric: MetricType, threshold: float) -> float | None:
    """The ``radius`` that keeps exactly the hits with ``relevance >= threshold``.

    Returns ``None`` when every hit passes (``threshold <= 0``, or an L2 threshold so
    small that every finite float32 distance passes it).

    Raises:
        ConfigError: a keyword metric (its relevance has a per-query scale) or a bad
            threshold.
    """
    t = check_threshold(threshold)
    if t is None or t <= 0.0:
        return None
    if metric not in (MetricType.COSINE, MetricType.IP, MetricType.L2):
        raise ConfigError(f"a {metric.value} relevance threshold is applied on the client.")
    if larger_is_better(metric):
        # First float32 that passes; the radius is the float32 just below it (d > radius).
        first = _boundary(lambda d: relevance(d, metric) >= t)
        return _as_float(first - 1)
    # First float32 that fails; the radius is that value (d < radius passes). Below
    # about 3e-39 no finite float32 distance fails: no radius (every hit passes).
    failing = _boundary(lambda d: relevance(d, metric) < t)
    return None if failing > _MAX_BITS else _as_float(failing)


def check_range_knobs(metric: MetricType, knobs: Mapping[str, Any]) -> dict[str, float]:
    """Validate explicit ``radius`` / ``range_filter`` search knobs (raw Milvus distances).

    Args:
        metric: the searched field's metric.
        knobs: the search knobs (other keys are ignored here).

    Returns:
        The range knobs given, as floats.

    Raises:
        ConfigError: a non-finite or non-numeric value, ``range_filter`` without
            ``radius``, or a band that is empty for the metric (COSINE/IP need
            ``radius < range_filter``, L2 ``range_filter < radius``; COSINE values lie in
            [-1, 1], L2 ones are >= 0).
    """
    out: dict[str, float] = {}
    for name in RANGE_KNOBS:
        if name not in knobs:
            continue
        value = knobs[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"search_params {name}={shown(value)} must be a number.")
        if not math.isfinite(float(value)):
            raise ConfigError(f"search_params {name}={shown(value)} must be finite.")
        out[name] = float(value)
    if not out:
        return out
    if "radius" not in out:
        raise ConfigError("search_params range_filter needs radius too (the band's outer edge).")
    radius, inner = out["radius"], out.get("range_filter")
    if metric is MetricType.COSINE and not -1.0 <= radius <= 1.0:
        raise ConfigError(f"search_params radius={radius} must be in [-1, 1] for COSINE.")
    if metric is MetricType.L2 and radius <= 0.0:
        raise ConfigError(f"search_params radius={radius} must be > 0 for L2 (a distance).")
    if inner is not None:
        if larger_is_better(metric) and not radius < inner:
            raise ConfigError(
                f"search_params radius={radius} must be below range_filter={inner} for "
                f"{metric.value} (larger is better: radius < distance <= range_filter)."
            )
        if not larger_is_better(metric) and not inner < radius:
            raise ConfigError(
                f"search_params range_filter={inner} must be below radius={radius} for L2 "
                "(range_filter <= distance < radius)."
            )
    return out
