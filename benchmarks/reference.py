"""Exact reference retrieval in numpy/Python: dense, BM25 and the two fusions.

These give the figures our adapters must reproduce on SciFact (within noise):

* dense: exact inner product over the unit embeddings (the dataset README's method);
* BM25: the Lucene formula Milvus Lite implements (``\\w+`` tokens, lowercased, no
  stop words, ``k1=1.5``, ``b=0.75``, ``idf = ln(1 + (N - df + 0.5) / (df + 0.5))``,
  query terms weighted by their count);
* RRF: ``sum 1 / (k + rank)`` over the two top-``fetch`` lists;
* weighted: the dataset README's per-query min-max normalisation, or Milvus'
  normalisation (``(1 + cos) / 2`` for COSINE, ``2 atan(s) / pi`` for BM25).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

__all__ = ["BM25", "rrf", "weighted_milvus", "weighted_minmax"]

_TOKEN = re.compile(r"\w+", re.UNICODE)
Ranked = list[tuple[str, float]]


class BM25:
    """An exact in-memory BM25 index (Milvus Lite's formula and tokenizer)."""

    def __init__(self, ids: Sequence[str], texts: Sequence[str], k1: float = 1.5, b: float = 0.75):
        self.ids = list(ids)
        self.k1, self.b = k1, b
        self.postings: dict[str, list[tuple[int, int]]] = {}
        self.lengths = np.zeros(len(texts), dtype=np.float64)
        for doc, text in enumerate(texts):
            counts = Counter(_TOKEN.findall(text.lower()))
            self.lengths[doc] = sum(counts.values())
            for term, tf in counts.items():
                self.postings.setdefault(term, []).append((doc, tf))
        self.avgdl = float(self.lengths.mean()) if len(texts) else 1.0

    def search(self, query: str, k: int) -> Ranked:
        """Top-``k`` ``(id, score)`` pairs, best first."""
        n = len(self.ids)
        scores: dict[int, float] = {}
        for term, weight in Counter(_TOKEN.findall(query.lower())).items():
            posting = self.postings.get(term)
            if not posting:
                continue
            idf = math.log((n - len(posting) + 0.5) / (len(posting) + 0.5) + 1.0)
            for doc, tf in posting:
                norm = tf + self.k1 * (1 - self.b + self.b * self.lengths[doc] / self.avgdl)
                scores[doc] = scores.get(doc, 0.0) + idf * tf * (self.k1 + 1) / norm * weight
        best = sorted(scores.items(), key=lambda pair: -pair[1])[:k]
        return [(self.ids[d], s) for d, s in best]


def _order(scores: dict[str, float], ties: str) -> list[tuple[str, float]]:
    if ties == "id":  # Milvus' rule, which the core's client-side fusion reproduces
        return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))
    return sorted(scores.items(), key=lambda pair: -pair[1])  # first seen first


def rrf(legs: Sequence[Ranked], k: int, limit: int, *, ties: str = "id") -> list[str]:
    """Reciprocal rank fusion of ranked lists.

    Exact RRF ties are common (rank r in one leg + rank s in the other). ``ties="id"``
    orders them by id, as Milvus does; ``ties="position"`` keeps the first-seen order
    (dense list first), close to the dataset README's convention.
    """
    scores: dict[str, float] = {}
    for leg in legs:
        for rank, (doc, _) in enumerate(leg, start=1):
            scores[doc] = scores.get(doc, 0.0) + 1.0 / (k + rank)
    return [d for d, _ in _order(scores, ties)[:limit]]


def weighted_minmax(legs: Sequence[Ranked], weights: Sequence[float], limit: int) -> list[str]:
    """Weighted sum of per-query min-max normalised scores (the dataset README's method)."""
    scores: dict[str, float] = {}
    for leg, weight in zip(legs, weights, strict=True):
        if not leg:
            continue
        values = [s for _, s in leg]
        low, high = min(values), max(values)
        span = (high - low) or 1.0
        for position, (doc, score) in enumerate(leg):
            # the README breaks ties by list position with a 1e-9 offset per position
            norm = (score - low) / span - 1e-9 * position
            scores[doc] = scores.get(doc, 0.0) + weight * norm
    return [d for d, _ in sorted(scores.items(), key=lambda pair: -pair[1])[:limit]]


def weighted_milvus(dense: Ranked, bm25: Ranked, weights: Sequence[float], limit: int) -> list[str]:
    """Weighted sum with Milvus' fixed normalisations (COSINE and BM25 legs)."""
    scores: dict[str, float] = {}
    for doc, cos in dense:
        scores[doc] = scores.get(doc, 0.0) + weights[0] * (1.0 + cos) / 2.0
    for doc, s in bm25:
        scores[doc] = scores.get(doc, 0.0) + weights[1] * 2.0 * math.atan(s) / math.pi
    return [d for d, _ in _order(scores, "id")[:limit]]
