"""Rankers for hybrid search, client-side fusion, and relevance scores in [0, 1].

Relevance is one scale for every mode, so one ``score_threshold`` means the same thing
everywhere: 0 is unrelated, 0.5 a plausible match, 1 a perfect one. On SciFact
(BENCHMARKS.md, "Relevance you can threshold") a threshold of 0.5 keeps a few
candidates per query in every mode, about two thirds of the judged-relevant documents.

=============  =============================================  =============================
mode           Milvus distance                                relevance
=============  =============================================  =============================
COSINE         cosine similarity in [-1, 1]                   ``max(0, d)``
IP             inner product (unit vectors: cosine)           ``max(0, d)``, clipped to 1
L2             squared Euclidean distance, >= 0               ``1 / (1 + d)``
BM25 / sparse  keyword score ``s`` (Milvus Lite negates BM25)  ``s / (s + c)``, see below
hybrid         the ranker's fused score (kept as distance)    weighted mean of the legs
=============  =============================================  =============================

* Dense: unrelated text has a cosine near 0 (not 0.5, as ``(1 + cos) / 2`` gave), so it
  stays under any useful threshold; LangChain's own cosine relevance is ``cos`` too. For
  unit vectors L2 ``d = 2 - 2 cos``: ``1 / (1 + d)`` is 0.5 at cosine 0.5, 1/3 at 0.
* Keyword: a raw BM25 score grows with the query's length and the corpus' IDFs, so it is
  scaled per query by ``c = KEYWORD_HALF * terms * ln(1 + rows)`` (:func:`keyword_scale`):
  ``terms`` is the number of query tokens after the analyzer's stop words, and
  ``ln(1 + rows)`` bounds one term's IDF. A document reaches 0.5 when it earns
  ``KEYWORD_HALF`` (0.2) of that IDF bound per query term; one sharing only stop words
  or a single common word with a long query stays near 0.
* Hybrid (:func:`hybrid_relevance`): the legs' relevances averaged with the ranker's
  weights (RRF: equal), a leg that did not return the document counting 0. The result
  order stays the ranker's (RRF or Weighted), so hybrid results are not sorted by
  relevance; a document that matches neither leg well cannot score high, and with equal
  weights only one found by both legs can pass 0.5. This needs each leg's score: the
  two legs are searched and fused on the client (``fusion="auto"``, the default). With
  ``fusion="server"`` Milvus returns only the fused score, and the relevance is
  :func:`fused_relevance` of it, a rank- or weight-based figure that is *not* on the
  scale above.

The relevance is monotonic in the engine's own ordering in every single-leg mode, so
sorting by relevance never reorders those results. The weighted fusion's per-leg
normalisation is Milvus' own (``norm_score``): COSINE ``(1 + d) / 2``, IP
``0.5 + atan(d) / pi``, BM25 ``2 atan(s) / pi``, L2 ``1 - 2 atan(d) / pi``, so
client-side fusion reproduces server-side fusion's order (Milvus Lite 3.x; Milvus Lite
2.5.1 maps BM25 scores with the L2 function, reversing that leg, and orders ties its own
way).
``Weighted(..., normalize="minmax")`` instead scales each leg per query (best 1, worst 0);
only the client can fuse that way.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from milvus_plugins.core.errors import ConfigError, shown
from milvus_plugins.core.types import MetricType

__all__ = [
    "KEYWORD_HALF",
    "MINMAX",
    "RRF",
    "Ranker",
    "Weighted",
    "fuse",
    "fused_relevance",
    "hybrid_relevance",
    "keyword_relevance",
    "keyword_scale",
    "legs_relevance",
    "query_terms",
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
    """Map a raw Milvus distance of a dense search to a relevance in [0, 1].

    BM25 scores need the query's scale: use :func:`keyword_relevance`. Called with
    ``MetricType.BM25`` this returns ``s / (1 + s)`` (a scale of 1).
    """
    d = float(distance)
    if metric in (MetricType.COSINE, MetricType.IP):
        return min(1.0, max(0.0, d))
    if metric is MetricType.L2:
        return 1.0 / (1.0 + max(0.0, d))
    return keyword_relevance(d, 1.0)


KEYWORD_HALF = 0.2
"""Share of the per-term IDF bound at which a keyword match reaches relevance 0.5.

Chosen on SciFact so that 0.5 selects as much in keyword mode as in dense mode
(BENCHMARKS.md, "Relevance you can threshold")."""

_TOKEN = re.compile(r"\w+", re.UNICODE)


def query_terms(query: str | Mapping[int, float], stop_words: Collection[str] = ()) -> int:
    """Count the terms of a keyword query, as the server's analyzer would (roughly).

    A text counts its lower-cased ``\\w+`` tokens (the ``standard`` tokenizer), repeats
    included (BM25 weights a repeated query term by its count), minus ``stop_words``; a
    client sparse vector counts its non-zero dimensions.
    """
    if isinstance(query, Mapping):
        return sum(1 for weight in query.values() if weight)
    stops = {w.lower() for w in stop_words}
    return sum(1 for token in _TOKEN.findall(query.lower()) if token not in stops)


def keyword_scale(terms: int, rows: int) -> float:
    """The keyword score at which a query's relevance is 0.5 (see the module docstring).

    Args:
        terms: the query's term count (:func:`query_terms`); at least 1 is used.
        rows: the collection's row count (``ln(1 + rows)`` bounds a term's IDF).
    """
    return KEYWORD_HALF * max(1, terms) * math.log(1.0 + max(1, rows))


def keyword_relevance(score: float, scale: float) -> float:
    """Map a keyword score (BM25 or sparse inner product) to ``s / (s + scale)``.

    The sign is dropped: Milvus Lite reports BM25 scores negated.
    """
    s = abs(float(score))
    if math.isnan(s):
        return 0.0
    if math.isinf(s):
        return 1.0
    return s / (s + scale) if s > 0 else 0.0


def hybrid_relevance(dense: float | None, sparse: float | None, ranker: Ranker) -> float:
    """The relevance of a fused hit: the legs' relevances averaged with the ranker's weights.

    Args:
        dense: the hit's dense relevance, or ``None`` when the dense leg did not return it.
        sparse: its keyword relevance, or ``None`` when the keyword leg did not return it.
        ranker: :class:`RRF` (equal weights) or :class:`Weighted` (its two weights).
    """
    weights = ranker.weights[:2] if isinstance(ranker, Weighted) else (1.0, 1.0)
    total = sum(weights) or 1.0
    value = weights[0] * (dense or 0.0) + weights[1] * (sparse or 0.0)
    return min(1.0, max(0.0, value / total))


def legs_relevance(scores: Sequence[float | None], ranker: Ranker) -> float:
    """The relevance of a hit fused from N legs: their relevances averaged by weight.

    The N-leg form of :func:`hybrid_relevance` (equal for two legs): RRF weighs every
    leg equally, :class:`Weighted` by its weights (one per leg, in leg order); a leg
    that did not return the hit counts 0.
    """
    if isinstance(ranker, Weighted) and len(ranker.weights) >= len(scores):
        weights: Sequence[float] = ranker.weights[: len(scores)]
    else:
        weights = [1.0] * len(scores)
    total = sum(weights) or 1.0
    value = sum(w * (s or 0.0) for w, s in zip(weights, scores, strict=True))
    return min(1.0, max(0.0, value / total))


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
    """Map a server-fused score to [0, 1] (``fusion="server"`` only; not the common scale).

    RRF: ``score * (k + 1) / legs`` (1 = first in every leg); Weighted: the score over
    the weights' sum. Milvus' ``hybrid_search`` returns no leg scores, so this is all a
    server-fused hit carries; client fusion gives :func:`hybrid_relevance` instead.
    """
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
        Milvus Lite 3.x breaks ties. RRF sums are ordered by their exact rational
        value, so two equal sums that float rounding splits (1/66 + 1/99 and
        1/72 + 1/88) still tie, by id (a server fusion chosen by ``fusion="auto"``
        returns this order on every engine).

    Raises:
        ConfigError: a weighted ranker with a weight count different from the legs.
    """
    scores: dict[Any, float] = {}
    if isinstance(ranker, Weighted) and len(ranker.weights) != len(legs):
        raise ConfigError(
            f"Weighted has {len(ranker.weights)} weights for {len(legs)} search legs; "
            "give one weight per leg (dense fields in order, then sparse)."
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
    if isinstance(ranker, RRF):
        ordered = _exact_rrf_order(ordered, legs, ranker.k, limit)
    return ordered[:limit]


_NEAR = 1e-12
"""Relative gap under which two float RRF sums are compared exactly (float rounding can
split equal sums, 1/66 + 1/99 and 1/72 + 1/88, by one unit in the last place)."""


def near_runs(scores: Sequence[float], tolerance: float) -> Iterator[tuple[int, int]]:
    """The ``(first, last)`` positions of every run of two or more neighbours in
    ``scores`` (best first) each within ``tolerance`` (relative) of the next."""
    i = 0
    while i < len(scores) - 1:
        j = i
        while j + 1 < len(scores) and scores[j] - scores[j + 1] <= tolerance * abs(scores[j]):
            j += 1
        if j > i:
            yield i, j
        i = j + 1


def _exact_rrf_order(
    ordered: list[tuple[Any, float]],
    legs: Sequence[Sequence[tuple[Any, float]]],
    rrf_k: int,
    limit: int,
) -> list[tuple[Any, float]]:
    """Reorder runs of near-equal float RRF sums by their exact rational values, equal
    ones by id: the order does not depend on which terms rounding happened to favour.

    Only runs that start within the first ``limit`` places are reordered (the rest is
    cut), and only their items' exact sums are computed: ties between candidates are
    common (the same rank in two legs), and a ``Fraction`` per candidate cost more than
    the rest of the fusion."""
    ranks: dict[Any, list[int]] = {}

    def exact(item_id: Any) -> Fraction:
        return sum((Fraction(1, rrf_k + rank) for rank in ranks[item_id]), Fraction(0))

    for i, j in near_runs([score for _, score in ordered], _NEAR):
        if i >= limit:
            break  # runs come best first
        if not ranks:
            for leg in legs:
                for rank, (item_id, _) in enumerate(leg, start=1):
                    ranks.setdefault(item_id, []).append(rank)
        ordered[i : j + 1] = sorted(ordered[i : j + 1], key=lambda pair: (-exact(pair[0]), pair[0]))
    return ordered
