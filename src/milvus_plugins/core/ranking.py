"""Rankers for hybrid search, client-side fusion, and relevance scores in [0, 1].

Relevance formulas (``distance`` is what Milvus returns for a hit):

=========  =================================================  ==========================
metric     Milvus distance                                    relevance
=========  =================================================  ==========================
COSINE     cosine similarity in [-1, 1]                       ``(1 + d) / 2``
IP         inner product (unit vectors: cosine)               ``(1 + d) / 2``, clipped
L2         squared Euclidean distance, >= 0                   ``1 / (1 + d)``
BM25       BM25 score >= 0 (Milvus Lite reports it negated)   ``s / (1 + s)``
RRF        ``sum 1 / (k + rank)`` over the legs               ``score * (k + 1) / legs``
Weighted   ``sum w_i * norm_i(d_i)``, norm_i in [0, 1]        ``score / sum(w)``
=========  =================================================  ==========================

Every relevance is monotonic in the engine's own ordering, so sorting by relevance
never reorders results. The weighted normalisation per leg is Milvus' own (``norm_score``):
COSINE ``(1 + d) / 2``, IP ``0.5 + atan(d) / pi``, BM25 ``2 atan(s) / pi``, L2
``1 - 2 atan(d) / pi``, so client-side fusion reproduces server-side fusion.
``Weighted(..., normalize="minmax")`` instead scales each leg per query (best 1, worst 0);
only the client can fuse that way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from milvus_plugins.core.errors import ConfigError, shown
from milvus_plugins.core.types import MetricType

__all__ = [
    "MINMAX",
    "RRF",
    "Ranker",
    "Weighted",
    "fuse",
    "fused_relevance",
    "relevance",
    "require_server_fusion",
    "server_can_fuse",
    "to_score",
]


@dataclass(frozen=True)
class RRF:
    """Reciprocal rank fusion: ``score = sum over legs of 1 / (k + rank)``.

    Attributes:
        k: smoothing constant (Milvus' default 60); larger values flatten rank gaps.
    """

    k: int = 60

    def __post_init__(self) -> None:
        if isinstance(self.k, bool) or not isinstance(self.k, int) or not 0 < self.k < 16384:
            raise ConfigError(f"RRF k={shown(self.k)} must be an integer in (0, 16384).")


MINMAX = "minmax"
"""``Weighted(..., normalize=MINMAX)``: per-query min-max normalisation of each leg."""


@dataclass(frozen=True)
class Weighted:
    """Weighted score fusion: ``score = sum w_i * norm(score_i)``.

    Attributes:
        weights: one weight per leg, in leg order (dense first, then sparse), each in [0, 1].
        normalize: how each leg's scores are mapped into [0, 1] before weighting:

            * ``True`` (default): Milvus' fixed per-metric functions (``norm_score``), so
              the server's ``hybrid_search`` can fuse;
            * ``"minmax"``: per query, each leg's candidates scaled so its best is 1 and
              its worst 0. It does not saturate on large BM25 scores the way the fixed
              ``atan`` mapping does (SciFact nDCG@10 at 0.5/0.5: 0.711 vs 0.679, see
              BENCHMARKS.md); Milvus has no such ranker, so it always fuses on the
              client;
            * ``False``: raw scores (only sensible when the legs share a scale).
    """

    weights: tuple[float, ...] = (0.5, 0.5)
    normalize: bool | str = True

    def __init__(self, *weights: float, normalize: bool | str = True) -> None:
        if len(weights) == 1 and isinstance(weights[0], (list, tuple)):
            weights = tuple(weights[0])
        try:
            values = tuple(float(w) for w in weights) or (0.5, 0.5)
        except (TypeError, ValueError):
            raise ConfigError(
                f"Weighted weights must be numbers in [0, 1]; got {shown(weights)} "
                "(pass normalize= by keyword)."
            ) from None
        for w in values:
            if not 0.0 <= w <= 1.0 or math.isnan(w):
                raise ConfigError(f"Weighted weights must each be in [0, 1]; got {values}.")
        if sum(values) <= 0:
            raise ConfigError("Weighted weights must not all be zero.")
        if normalize != MINMAX and not isinstance(normalize, bool):
            raise ConfigError(
                f"Weighted normalize={shown(normalize)} must be True (Milvus' functions), "
                f"{shown(MINMAX)} (per-query min-max, client fusion) or False (raw scores)."
            )
        object.__setattr__(self, "weights", values)
        object.__setattr__(self, "normalize", normalize)

    @property
    def server_side(self) -> bool:
        """Whether Milvus' ``hybrid_search`` can apply this ranker (not min-max)."""
        return self.normalize != MINMAX


def server_can_fuse(ranker: Ranker) -> bool:
    """Whether Milvus' ``hybrid_search`` implements ``ranker`` (min-max is client-only)."""
    return not isinstance(ranker, Weighted) or ranker.server_side


def require_server_fusion(ranker: Ranker) -> None:
    """Raise unless Milvus' ``hybrid_search`` implements ``ranker``.

    Raises:
        ConfigError: a min-max weighted ranker, which only client-side fusion applies.
    """
    if not server_can_fuse(ranker):
        raise ConfigError(
            f"{shown(ranker)} cannot fuse on the server: Milvus' hybrid_search has no min-max "
            "normalisation; use fusion='client' or 'auto'."
        )


Ranker = RRF | Weighted


def to_score(distance: float, metric: MetricType) -> float:
    """Return a larger-is-better score for a raw Milvus distance."""
    if metric is MetricType.BM25:
        return abs(float(distance))
    if metric is MetricType.L2:
        return -float(distance)
    return float(distance)


def relevance(distance: float, metric: MetricType) -> float:
    """Map a raw Milvus distance to a relevance in [0, 1] (see the module table)."""
    d = float(distance)
    if metric in (MetricType.COSINE, MetricType.IP):
        return min(1.0, max(0.0, (1.0 + d) / 2.0))
    if metric is MetricType.L2:
        return 1.0 / (1.0 + max(0.0, d))
    s = abs(d)
    return s / (1.0 + s)


def _normalise(distance: float, metric: MetricType) -> float:
    d = float(distance)
    if metric is MetricType.COSINE:
        return (1.0 + d) * 0.5
    if metric is MetricType.IP:
        return 0.5 + math.atan(d) / math.pi
    if metric is MetricType.BM25:
        return 2.0 * math.atan(abs(d)) / math.pi
    return 1.0 - 2.0 * math.atan(d) / math.pi


def _minmax_bounds(
    leg: Sequence[tuple[Any, float]], metric: MetricType
) -> tuple[float, float] | None:
    """``(lowest score, score range)`` of one leg's candidates (``None`` when empty)."""
    if not leg:
        return None
    scores = [to_score(distance, metric) for _, distance in leg]
    low = min(scores)
    return low, max(scores) - low


def fused_relevance(score: float, ranker: Ranker, legs: int) -> float:
    """Map a fused score to a relevance in [0, 1]."""
    if isinstance(ranker, RRF):
        return min(1.0, max(0.0, score * (ranker.k + 1) / max(1, legs)))
    total = sum(ranker.weights[:legs]) or 1.0
    return min(1.0, max(0.0, score / total))


def fuse(
    legs: Sequence[Sequence[tuple[Any, float]]],
    metrics: Sequence[MetricType],
    ranker: Ranker,
    limit: int,
) -> list[tuple[Any, float]]:
    """Fuse ranked legs of ``(id, distance)`` on the client, as Milvus does on the server.

    Args:
        legs: one ranked list per search leg, best first.
        metrics: the metric of each leg (for weighted normalisation).
        ranker: :class:`RRF` or :class:`Weighted`.
        limit: how many fused results to return.

    Returns:
        ``(id, fused_score)`` pairs, best first; equal scores in ascending id order, as
        Milvus breaks ties (so the two fusions return the same ids at a cut).

    Raises:
        ConfigError: a weighted ranker with a weight count different from the legs.
    """
    scores: dict[Any, float] = {}
    if isinstance(ranker, Weighted) and len(ranker.weights) != len(legs):
        raise ConfigError(
            f"Weighted has {len(ranker.weights)} weights for {len(legs)} search legs; "
            "give one weight per leg (dense, sparse)."
        )
    for index, leg in enumerate(legs):
        bounds = _minmax_bounds(leg, metrics[index]) if not server_can_fuse(ranker) else None
        for rank, (item_id, distance) in enumerate(leg, start=1):
            if isinstance(ranker, RRF):
                contribution = 1.0 / (ranker.k + rank)
            elif bounds is not None:
                low, span = bounds
                raw = to_score(distance, metrics[index])
                normalised = (raw - low) / span if span > 0 else 1.0
                contribution = ranker.weights[index] * normalised
            elif ranker.normalize:
                contribution = ranker.weights[index] * _normalise(distance, metrics[index])
            else:
                contribution = ranker.weights[index] * to_score(distance, metrics[index])
            scores[item_id] = scores.get(item_id, 0.0) + contribution
    ordered = sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))
    return ordered[:limit]
