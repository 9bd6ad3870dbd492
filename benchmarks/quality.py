"""Retrieval quality on SciFact: our adapters, the official integrations, exact references.

Every system ingests the 5,183 documents with their precomputed all-MiniLM-L6-v2
embeddings and answers the 300 test queries (embedding = table lookup, so the figures
measure index and fusion quality only). Metrics: nDCG@10, recall@10, recall@100.

The fusion sweep (RRF ``k``, weights) fuses, with the core's own client-side fusion
(the code path ``hybrid_search`` takes on Milvus Lite), the dense and BM25 top-100 lists
fetched once per query from a core store; it is cross-checked against the adapters at
RRF(60) and 0.5/0.5. The server-vs-client fusion check runs ``hybrid_search`` both ways
on every query and compares ids and scores.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.dataset import Dataset
from benchmarks.metrics import exact_top_k, ndcg_at_k, percentile, qrels_recall_at_k
from benchmarks.procs import WorkerError, WorkerProcess
from benchmarks.reference import BM25, rrf, weighted_milvus, weighted_minmax
from benchmarks.systems import System

__all__ = ["MODES", "README_BASELINES", "evaluate", "reference_lists", "run_quality"]

FETCH = 100
MODES: dict[str, tuple[str, dict[str, Any]]] = {
    "dense": ("dense", {}),
    "bm25": ("sparse", {}),
    "hybrid_rrf60": ("hybrid", {"ranker": {"type": "rrf", "k": 60}, "fetch_k": FETCH}),
    "hybrid_w50": (
        "hybrid",
        {"ranker": {"type": "weighted", "weights": [0.5, 0.5]}, "fetch_k": FETCH},
    ),
}
# The dataset README's brute-force figures (bm25s with English stop words for BM25).
README_BASELINES = {
    "dense": {"ndcg@10": 0.6451, "recall@10": 0.7833, "recall@100": 0.9250},
    "bm25": {"ndcg@10": 0.6617, "recall@10": 0.7739, "recall@100": 0.8759},
    "hybrid_rrf60": {"ndcg@10": 0.6872, "recall@10": 0.8219, "recall@100": 0.9550},
    "hybrid_w50": {"ndcg@10": 0.7074, "recall@10": 0.8293, "recall@100": 0.9550},
}
RRF_KS = (10, 20, 40, 60, 100, 200)
DENSE_WEIGHTS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


def evaluate(
    ranked: list[list[str]], data: Dataset, queries: int | None = None
) -> dict[str, float]:
    """Mean nDCG@10, recall@10 and recall@100 over the (first ``queries``) queries."""
    positions = sorted(p for p in data.qrels if queries is None or p < queries)
    return {
        "ndcg@10": float(np.mean([ndcg_at_k(ranked[p], data.qrels[p], 10) for p in positions])),
        "recall@10": float(
            np.mean([qrels_recall_at_k(ranked[p], data.qrels[p], 10) for p in positions])
        ),
        "recall@100": float(
            np.mean([qrels_recall_at_k(ranked[p], data.qrels[p], 100) for p in positions])
        ),
    }


def reference_lists(data: Dataset) -> dict[str, list[list[str]]]:
    """Exact ranked lists for every mode (see :mod:`benchmarks.reference`)."""
    top = exact_top_k(data.vectors, data.query_vectors, FETCH)
    scores = data.query_vectors @ data.vectors.T
    dense = [[(data.ids[i], float(scores[q, i])) for i in row] for q, row in enumerate(top)]
    index = BM25(data.ids, data.texts)
    bm25 = [index.search(text, FETCH) for text in data.query_texts]
    pairs = list(zip(dense, bm25, strict=True))
    return {
        "dense": [[d for d, _ in leg] for leg in dense],
        "bm25": [[d for d, _ in leg] for leg in bm25],
        "hybrid_rrf60": [rrf([d, b], 60, FETCH) for d, b in pairs],
        "hybrid_rrf60_position_ties": [rrf([d, b], 60, FETCH, ties="position") for d, b in pairs],
        "hybrid_w50": [weighted_milvus(d, b, (0.5, 0.5), FETCH) for d, b in pairs],
        "hybrid_w50_minmax": [weighted_minmax([d, b], (0.5, 0.5), FETCH) for d, b in pairs],
    }


def _one_system(
    system: System, data: Dataset, data_dir: Path, work: Path, modes: list[str], queries: int
) -> dict[str, Any]:
    out: dict[str, Any] = {"label": system.label, "ours": system.ours, "errors": {}}
    config = {
        "uri": str(work / f"quality_{system.key}.db"),
        "collection": "scifact",
        "dim": data.dim,
        "declared": [],
        "bm25": True,
        **system.config,
    }
    with WorkerProcess(system.key, system.python, data_dir, work / f"q_{system.key}.log") as w:
        try:
            out["versions"] = w.call("open", driver=system.driver, config=config)["versions"]
            out["ingest_s"] = w.call("ingest", positions=list(range(len(data))))["seconds"]
        except WorkerError as exc:
            out["errors"]["open"] = str(exc).splitlines()[0]
            return out
        positions = list(range(queries))
        for mode in modes:
            method, args = MODES[mode]
            try:
                result = w.call("run", kind=method, queries=positions, k=FETCH, args=args)
            except WorkerError as exc:
                out["errors"][mode] = str(exc).splitlines()[0]
                continue
            out[mode] = evaluate(result["ids"], data, queries)
            out[mode]["p50_ms"] = percentile(result["latency_ms"], 50)
        w.call("drop")
    return out


def _sweep(data: Dataset, work: Path, fusion_queries: int) -> dict[str, Any]:
    """Fusion sweep and server-vs-client fusion check through the core (in-process)."""
    from milvus_plugins.core import RRF, CollectionSpec, ConnectionConfig, MilvusStore, Weighted
    from milvus_plugins.core.records import Record
    from milvus_plugins.core.store import client_fuse

    store = MilvusStore(
        CollectionSpec(name="scifact_sweep", dim=data.dim, sparse="bm25"),
        connection=ConnectionConfig(uri=str(work / "quality_sweep.db")),
        drop_old=True,
    )
    records = [
        Record(id=i, text=t, vector=v)
        for i, t, v in zip(data.ids, data.texts, data.vectors, strict=True)
    ]
    store.upsert(records, progress=False)
    legs = []
    for vector, text in zip(data.query_vectors, data.query_texts, strict=True):
        legs.append((store.search(vector, k=FETCH), store.sparse_search(text, k=FETCH)))
    sweep: dict[str, Any] = {"rrf": {}, "weighted": {}, "weighted_minmax": {}}
    for k in RRF_KS:
        fused = [[h.id for h in client_fuse(store, d, s, RRF(k), FETCH)] for d, s in legs]
        sweep["rrf"][str(k)] = evaluate(fused, data)
    for w in DENSE_WEIGHTS:
        ranker = Weighted(w, round(1.0 - w, 6))
        fused = [[h.id for h in client_fuse(store, d, s, ranker, FETCH)] for d, s in legs]
        sweep["weighted"][f"{w:.1f}"] = evaluate(fused, data)
        minmax = Weighted(w, round(1.0 - w, 6), normalize="minmax")
        fused = [[h.id for h in client_fuse(store, d, s, minmax, FETCH)] for d, s in legs]
        sweep["weighted_minmax"][f"{w:.1f}"] = evaluate(fused, data)
    sweep["core"] = {
        "label": "milvus-plugins core (client fusion)",
        "dense": evaluate([[h.id for h in d] for d, _ in legs], data),
        "bm25": evaluate([[h.id for h in s] for _, s in legs], data),
        "hybrid_rrf60": sweep["rrf"]["60"],
        "hybrid_w50": sweep["weighted"]["0.5"],
    }
    sweep["fusion_check"] = _fusion_check(
        store, data, [RRF(60), Weighted(0.5, 0.5)], fusion_queries
    )
    store.drop()
    store.close()
    return sweep


def _groups(hits: list[Any]) -> list[tuple[float, frozenset[str]]]:
    """Hits grouped by equal fused score (within 1e-6; ties may come in any order)."""
    groups: list[tuple[float, set[str]]] = []
    for hit in hits:
        score = float(hit.distance)
        if groups and abs(groups[-1][0] - score) <= 1e-6:
            groups[-1][1].add(hit.id)
        else:
            groups.append((score, {hit.id}))
    return [(score, frozenset(ids)) for score, ids in groups]


def _fusion_check(
    store: Any, data: Dataset, rankers: list[Any], queries: int, k: int = 10
) -> list[dict[str, Any]]:
    out = []
    for ranker in rankers:
        lat: dict[str, list[float]] = {"server": [], "client": []}
        same_ids = same_up_to_ties = 0
        max_diff = 0.0
        pairs = list(zip(data.query_vectors, data.query_texts, strict=True))[:queries]
        for vector, text in pairs:
            hits = {}
            for fusion in ("server", "client"):
                started = time.perf_counter()
                hits[fusion] = store.hybrid_search(vector, text, k=k, ranker=ranker, fusion=fusion)
                lat[fusion].append((time.perf_counter() - started) * 1000.0)
            server, client = hits["server"], hits["client"]
            identical = [h.id for h in server] == [h.id for h in client]
            same_ids += identical
            # ties may come back in any order, and the last tie group may be cut at k
            # differently: compare the id sets of all tie groups but the last
            gs, gc = _groups(server), _groups(client)
            groups_match = [g for _, g in gs[:-1]] == [g for _, g in gc[:-1]]
            same_up_to_ties += identical or (groups_match and len(server) == len(client))
            scores = {h.id: float(h.distance) for h in client}
            for h in server:
                if h.id in scores:
                    max_diff = max(max_diff, abs(float(h.distance) - scores[h.id]))
        out.append(
            {
                "ranker": repr(ranker),
                "queries": len(pairs),
                "identical_order": same_ids,
                "identical_up_to_ties": same_up_to_ties,
                "max_score_difference": max_diff,
                "server_p50_ms": percentile(lat["server"], 50),
                "client_p50_ms": percentile(lat["client"], 50),
                "server_p95_ms": percentile(lat["server"], 95),
                "client_p95_ms": percentile(lat["client"], 95),
            }
        )
    return out


def run_quality(
    systems: list[System],
    data: Dataset,
    data_dir: Path,
    work: Path,
    *,
    official_modes: list[str],
    queries: int | None = None,
    fusion_queries: int = 300,
    parallel: int = 2,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Quality of every system plus references, sweep and fusion check."""
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    total = len(data.query_texts)
    queries = min(queries or total, total)
    out: dict[str, Any] = {
        "readme": README_BASELINES,
        "docs": len(data),
        "queries": total,
        "system_queries": queries,
    }
    lists = reference_lists(data)
    out["reference"] = {mode: evaluate(ranked, data) for mode, ranked in lists.items()}
    if queries < total:
        out["reference_subset"] = {
            mode: evaluate(ranked, data, queries) for mode, ranked in lists.items()
        }
    log(f"  references done ({time.perf_counter() - started:.0f} s)")
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        futures = {
            s.key: pool.submit(
                _one_system,
                s,
                data,
                data_dir,
                work,
                list(MODES) if s.ours else official_modes,
                queries,
            )
            for s in systems
        }
        out["systems"] = {key: f.result() for key, f in futures.items()}
    log(f"  systems done ({time.perf_counter() - started:.0f} s)")
    # Alone on the machine: the fusion check times both fusion paths.
    out["sweep"] = _sweep(data, work, fusion_queries)
    log(f"  sweep and fusion check done ({time.perf_counter() - started:.0f} s)")
    return out
