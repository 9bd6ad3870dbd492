"""Exact ground truth (numpy brute force), retrieval metrics and latency statistics."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = [
    "exact_top_k",
    "mean_recall",
    "ndcg_at_k",
    "percentile",
    "qrels_recall_at_k",
    "recall_at_k",
]


def exact_top_k(
    vectors: np.ndarray, queries: np.ndarray, k: int, mask: np.ndarray | None = None
) -> np.ndarray:
    """Return the positions of the ``k`` highest inner products per query (exact).

    Args:
        vectors: (n, dim) unit vectors.
        queries: (q, dim) unit vectors.
        k: neighbours per query.
        mask: optional boolean (n,) selecting the rows allowed (a filter).
    """
    scores = queries.astype(np.float32) @ vectors.astype(np.float32).T
    if mask is not None:
        scores[:, ~mask] = -np.inf
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.take_along_axis(scores, part, axis=1).argsort(axis=1)[:, ::-1]
    return np.take_along_axis(part, order, axis=1)


def recall_at_k(found: Sequence[str], truth: Sequence[str], k: int) -> float:
    """Fraction of the true top-``k`` ids present in the first ``k`` found."""
    wanted = set(truth[:k])
    if not wanted:
        return 1.0
    return len(wanted & set(found[:k])) / len(wanted)


def mean_recall(found: Sequence[Sequence[str]], truth: Sequence[Sequence[str]], k: int) -> float:
    """Mean :func:`recall_at_k` over queries."""
    values = [recall_at_k(f, t, k) for f, t in zip(found, truth, strict=True)]
    return float(np.mean(values)) if values else float("nan")


def ndcg_at_k(ranked: Sequence[str], gains: Mapping[str, int], k: int = 10) -> float:
    """Textbook nDCG@k with graded gains and a log2 discount (trec_eval's ``ndcg_cut``)."""
    dcg = sum(gains.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted((g for g in gains.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def qrels_recall_at_k(ranked: Sequence[str], gains: Mapping[str, int], k: int) -> float:
    """Fraction of the relevant documents (gain > 0) in the first ``k`` ranked."""
    relevant = {d for d, g in gains.items() if g > 0}
    if not relevant:
        return 0.0
    return len(relevant & set(ranked[:k])) / len(relevant)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (linear interpolation), NaN for no values."""
    if not values:
        return float("nan")
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))
