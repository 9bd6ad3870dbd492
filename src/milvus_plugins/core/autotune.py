"""Pick the cheapest search knob (``ef`` or ``nprobe``) that reaches a target recall.

Approximate indexes trade recall for speed through one search-time knob: ``ef`` for
HNSW, ``nprobe`` for the IVF family. :func:`autotune` measures recall@k against exact
brute force on a sample of queries for increasing knob values and returns the smallest
value whose recall reaches the target, with the whole measured table::

    result = autotune(store, sample_vectors, target_recall=0.95)
    store.search(vector, k=10, search_params={result.knob: result.value})

The ground truth is exact: numpy over the stored vectors (read back once), or ids the
caller computed (``ground_truth=``). Exact indexes (FLAT) have no knob; they are
measured once and reported with ``knob=None``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from milvus_plugins.core.errors import CollectionNotFoundError, ConfigError, shown
from milvus_plugins.core.indexes import IndexConfig
from milvus_plugins.core.schema import dense_index
from milvus_plugins.core.types import MetricType

__all__ = ["AutotuneResult", "TunePoint", "autotune", "exact_neighbours"]

_EF_VALUES = (10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
_NPROBE_VALUES = (1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 256)


@dataclass(frozen=True)
class TunePoint:
    """One measured knob value.

    Attributes:
        value: the knob value (``None`` for an index without a knob).
        recall: mean recall@k against the exact neighbours, in [0, 1].
        latency_ms: median latency of one search, in milliseconds.
    """

    value: int | None
    recall: float
    latency_ms: float


@dataclass(frozen=True)
class AutotuneResult:
    """The choice and the evidence.

    Attributes:
        knob: ``"ef"``, ``"nprobe"`` or ``None`` (an exact index, nothing to tune).
        value: the smallest value reaching the target (the largest tried when none did).
        recall: the recall measured at ``value``.
        latency_ms: the median search latency at ``value``.
        reached: whether ``recall >= target_recall``.
        target_recall: the target that was asked for.
        table: every measured point, in increasing knob order.
    """

    knob: str | None
    value: int | None
    recall: float
    latency_ms: float
    reached: bool
    target_recall: float
    table: tuple[TunePoint, ...]

    @property
    def search_params(self) -> dict[str, int]:
        """The ``search_params`` to pass to searches (empty for exact indexes)."""
        if self.knob is None or self.value is None:
            return {}
        return {self.knob: self.value}


def _knob(index: IndexConfig) -> str | None:
    for name in ("ef", "nprobe"):
        if name in index.search_knobs:
            return name
    return None


def _default_values(index: IndexConfig, knob: str, k: int) -> list[int]:
    if knob == "ef":
        return sorted({max(v, k) for v in _EF_VALUES})
    nlist = int(getattr(index, "nlist", 65536))
    values = [v for v in _NPROBE_VALUES if v <= nlist]
    return values if nlist in values else [*values, nlist]


def _as_matrix(vectors: Sequence[Sequence[float]] | np.ndarray, where: str) -> np.ndarray:
    matrix = np.asarray(vectors, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[0] == 0:
        raise ConfigError(f"{where} must be a non-empty sequence of vectors.")
    return matrix


def exact_neighbours(
    vectors: np.ndarray,
    ids: Sequence[str],
    queries: np.ndarray,
    k: int,
    metric: MetricType,
) -> list[list[str]]:
    """Return the exact top-``k`` ids per query by brute force (numpy).

    COSINE compares normalised vectors, IP raw inner products, L2 squared distances.
    """
    data = np.asarray(vectors, dtype=np.float32)
    q = np.asarray(queries, dtype=np.float32)
    if metric is MetricType.COSINE:
        data = data / np.maximum(np.linalg.norm(data, axis=1, keepdims=True), 1e-12)
        q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
    if metric is MetricType.L2:
        scores = -(np.sum(q**2, axis=1, keepdims=True) - 2.0 * q @ data.T + np.sum(data**2, axis=1))
    else:
        scores = q @ data.T
    k = min(k, data.shape[0])
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.take_along_axis(scores, top, axis=1).argsort(axis=1)[:, ::-1]
    ranked = np.take_along_axis(top, order, axis=1)
    return [[ids[i] for i in row] for row in ranked]


def _stored_vectors(store: Any) -> tuple[np.ndarray, list[str]]:
    records = store.query(include_vectors=True)
    if not records:
        raise ConfigError(
            f"collection {shown(store.spec.name)} is empty; add records before tuning."
        )
    return (
        np.asarray([r.vector for r in records], dtype=np.float32),
        [r.id for r in records],
    )


def _measure(
    store: Any, queries: np.ndarray, truth: Sequence[Sequence[str]], k: int, params: dict[str, int]
) -> tuple[float, float]:
    recalls, latencies = [], []
    for vector, expected in zip(queries, truth, strict=True):
        started = time.perf_counter()
        hits = store.search(vector.tolist(), k=k, search_params=params or None)
        latencies.append((time.perf_counter() - started) * 1000.0)
        wanted = set(expected[:k])
        found = {h.id for h in hits[:k]}
        recalls.append(len(wanted & found) / len(wanted) if wanted else 1.0)
    return float(np.mean(recalls)), float(np.median(latencies))


def autotune(
    store: Any,
    sample_queries: Sequence[Sequence[float]] | np.ndarray,
    *,
    target_recall: float = 0.95,
    k: int = 10,
    values: Sequence[int] | None = None,
    ground_truth: Sequence[Sequence[str]] | None = None,
    stop_at_target: bool = True,
    warmup: int = 1,
) -> AutotuneResult:
    """Find the smallest ``ef``/``nprobe`` whose recall@k reaches ``target_recall``.

    Args:
        store: a :class:`~milvus_plugins.core.MilvusStore` whose collection holds data.
        sample_queries: query vectors representative of real traffic (tens to hundreds).
        target_recall: the recall@k to reach, in (0, 1].
        k: the number of results the application asks for.
        values: knob values to try, ascending (default: a doubling-ish ladder; for IVF
            capped at ``nlist``).
        ground_truth: the exact top-``k`` ids per query, if already known; by default
            they are computed with numpy over the stored vectors (all read back once).
        stop_at_target: stop at the first value reaching the target (set ``False`` to
            measure the whole ladder, e.g. for a recall/latency curve).
        warmup: unmeasured passes over the sample first (index builds, caches).

    Returns:
        The chosen knob value with its recall and latency, and every measured point.

    Raises:
        ConfigError: a bad target, ``k``, sample or value list, or an empty collection.
        CollectionNotFoundError: the collection does not exist.
    """
    if not 0.0 < float(target_recall) <= 1.0:
        raise ConfigError(f"target_recall={shown(target_recall)} must be in (0, 1].")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ConfigError(f"k={shown(k)} must be a positive integer.")
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise ConfigError(f"warmup={shown(warmup)} must be a non-negative integer.")
    queries = _as_matrix(sample_queries, "sample_queries")
    if not store.exists():
        raise CollectionNotFoundError(f"collection {shown(store.spec.name)} does not exist.")
    index = dense_index(store.spec, store.capabilities)
    if ground_truth is None:
        vectors, ids = _stored_vectors(store)
        ground_truth = exact_neighbours(vectors, ids, queries, k, index.metric_type)
    elif len(ground_truth) != len(queries):
        raise ConfigError(
            f"ground_truth has {len(ground_truth)} rows for {len(queries)} sample queries."
        )
    knob = _knob(index)
    # Milvus Lite builds an index in the background after a flush; searches compete with
    # that build for a while. Warm-up passes over the sample keep it out of the figures.
    for _ in range(warmup):
        _measure(store, queries, ground_truth, k, {})
    if knob is None:
        recall, latency = _measure(store, queries, ground_truth, k, {})
        point = TunePoint(value=None, recall=recall, latency_ms=latency)
        return AutotuneResult(
            knob=None,
            value=None,
            recall=recall,
            latency_ms=latency,
            reached=recall >= target_recall,
            target_recall=float(target_recall),
            table=(point,),
        )
    ladder = list(values) if values is not None else _default_values(index, knob, k)
    if not ladder or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in ladder):
        raise ConfigError(f"values={shown(values)} must be positive integers for {shown(knob)}.")
    ladder = sorted(set(ladder))
    table: list[TunePoint] = []
    chosen: TunePoint | None = None
    for value in ladder:
        index.search_params(k, {knob: value})  # validates the value for this index
        recall, latency = _measure(store, queries, ground_truth, k, {knob: value})
        point = TunePoint(value=value, recall=recall, latency_ms=latency)
        table.append(point)
        if chosen is None and recall >= target_recall:
            chosen = point
            if stop_at_target:
                break
    best = chosen or table[-1]
    return AutotuneResult(
        knob=knob,
        value=best.value,
        recall=best.recall,
        latency_ms=best.latency_ms,
        reached=chosen is not None,
        target_recall=float(target_recall),
        table=tuple(table),
    )
