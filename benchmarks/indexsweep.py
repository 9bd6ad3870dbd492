"""Index recall/latency curves on SciFact and the core's ``autotune`` choice per index.

For FLAT, IVF_FLAT, IVF_SQ8 and HNSW (the dense indexes Milvus Lite builds), recall@10
against exact brute force (numpy) and median search latency over a sweep of ``nprobe``
or ``ef``, measured with :func:`milvus_plugins.core.autotune.autotune`, which also picks
the smallest value reaching the target recall.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.dataset import Dataset

__all__ = ["run_index_sweep"]


def _settle(store: Any, queries: np.ndarray, rounds: int = 20) -> int:
    """Search until latency stops falling (Lite builds indexes in the background)."""
    previous = float("inf")
    for round_ in range(1, rounds + 1):
        latencies = []
        for vector in queries[:20]:
            started = time.perf_counter()
            store.search(vector.tolist(), k=10)
            latencies.append(time.perf_counter() - started)
        current = float(np.median(latencies))
        if current > 0.85 * previous:
            return round_
        previous = current
    return rounds


def run_index_sweep(
    data: Dataset,
    work: Path,
    *,
    queries: int,
    target_recall: float = 0.95,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Measure each index type; return curves, autotune choices and build times."""
    from milvus_plugins.core import (
        CollectionSpec,
        ConnectionConfig,
        FlatIndex,
        HnswIndex,
        IvfFlatIndex,
        IvfSq8Index,
        MilvusStore,
        Record,
    )
    from milvus_plugins.core.autotune import autotune, exact_neighbours
    from milvus_plugins.core.types import MetricType

    nlist = 128
    indexes = {
        "FLAT": FlatIndex(),
        "IVF_FLAT": IvfFlatIndex(nlist=nlist),
        "IVF_SQ8": IvfSq8Index(nlist=nlist),
        "HNSW": HnswIndex(M=16, ef_construction=200),
    }
    sample = data.query_vectors[:queries]
    truth = exact_neighbours(data.vectors, data.ids, sample, 10, MetricType.COSINE)
    records = [
        Record(id=i, text=t, vector=v)
        for i, t, v in zip(data.ids, data.texts, data.vectors, strict=True)
    ]
    work.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {"n": len(data), "queries": len(sample), "target": target_recall}
    for name, index in indexes.items():
        store = MilvusStore(
            CollectionSpec(name=f"sweep_{name.lower()}", dim=data.dim, index=index),
            connection=ConnectionConfig(uri=str(work / "index_sweep.db")),
            drop_old=True,
        )
        try:
            started = time.perf_counter()
            store.upsert(records, progress=False)
            ingest_s = time.perf_counter() - started
            settle_rounds = _settle(store, sample)
            # One pass over the whole ladder: the table is the curve, the choice is the
            # smallest value reaching the target (what stop_at_target=True would return).
            choice = autotune(
                store,
                sample,
                target_recall=target_recall,
                ground_truth=truth,
                stop_at_target=False,
            )
            curve = choice
        except Exception as exc:  # an index Lite cannot build is reported, not fatal
            out[name] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        finally:
            store.drop()
            store.close()
        out[name] = {
            "params": {k: v for k, v in index.__dict__.items() if k != "metric"},
            "ingest_s": ingest_s,
            "settle_rounds": settle_rounds,
            "knob": curve.knob,
            "curve": [
                {"value": p.value, "recall": p.recall, "latency_ms": p.latency_ms}
                for p in curve.table
            ],
            "autotune": {
                "knob": choice.knob,
                "value": choice.value,
                "recall": choice.recall,
                "latency_ms": choice.latency_ms,
                "reached": choice.reached,
            },
        }
        log(f"  {name}: autotune -> {choice.knob}={choice.value} recall {choice.recall:.3f}")
    return out
