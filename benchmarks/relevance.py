"""Relevance you can threshold: how well each mode's relevance separates relevant documents.

``python -m benchmarks.relevance`` ingests SciFact (5,183 documents with their MiniLM
embeddings, BM25 on the text) into a core :class:`MilvusStore` on Milvus Lite, runs every
test query in four modes (dense, BM25, hybrid RRF(60), hybrid Weighted(0.5, 0.5); 100
results each, hybrid legs fetching 100) and scores the relevance each hit carries:

* **AUC**: over all (query, top-100 candidate) pairs pooled, the probability that a
  judged-relevant candidate has a higher relevance than another candidate (ties 1/2);
* **precision / recall at thresholds 0.3, 0.5, 0.7**: of the candidates whose relevance
  is at least the threshold, the share judged relevant; the share of all judged-relevant
  (query, document) pairs among them; and how many candidates per query pass.

The same figures are computed for the formulas used before issue 13 (dense
``(1 + cos) / 2``, BM25 ``s / (1 + s)``, hybrid: server fusion's rank-based score) from
the same hits. It also measures client against server fusion latency (interleaved) and
what an English stop-word analyzer changes for BM25 on Milvus Lite. Results:
``benchmarks/results/relevance.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.dataset import Dataset, load_scifact
from benchmarks.metrics import ndcg_at_k, qrels_recall_at_k

__all__ = ["THRESHOLDS", "auc", "main", "precision_recall", "run"]

HERE = Path(__file__).resolve().parent
SCIFACT = HERE / "data" / "scifact"
RESULTS = HERE / "results"
FETCH = 100
THRESHOLDS = (0.3, 0.5, 0.7)
Scored = list[tuple[int, str, float]]  # (query position, doc id, relevance)


def auc(scores: Sequence[float], labels: Sequence[int]) -> float:
    """Area under the ROC curve (Mann-Whitney, average ranks for ties)."""
    values = np.asarray(scores, dtype=np.float64)
    truth = np.asarray(labels, dtype=bool)
    positives, negatives = int(truth.sum()), int((~truth).sum())
    if positives == 0 or negatives == 0:
        return float("nan")
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values), dtype=np.float64)
    sorted_values = values[order]
    start = 0
    while start < len(values):
        stop = start
        while stop + 1 < len(values) and sorted_values[stop + 1] == sorted_values[start]:
            stop += 1
        ranks[order[start : stop + 1]] = (start + stop) / 2.0 + 1.0
        start = stop + 1
    return float((ranks[truth].sum() - positives * (positives + 1) / 2.0) / (positives * negatives))


def precision_recall(
    scored: Scored, qrels: dict[int, dict[str, int]], threshold: float, queries: int
) -> dict[str, float]:
    """Precision, recall and candidates per query at a relevance threshold."""
    relevant_total = sum(1 for q in qrels for g in qrels[q].values() if g > 0)
    kept = [(q, d) for q, d, score in scored if score >= threshold]
    hits = sum(1 for q, d in kept if qrels.get(q, {}).get(d, 0) > 0)
    return {
        "precision": hits / len(kept) if kept else float("nan"),
        "recall": hits / relevant_total if relevant_total else float("nan"),
        "per_query": len(kept) / queries,
    }


def summarise(scored: Scored, data: Dataset, queries: int) -> dict[str, Any]:
    """AUC and precision/recall per threshold of one mode's scored candidates."""
    qrels = {q: g for q, g in data.qrels.items() if q < queries}
    labels = [int(qrels.get(q, {}).get(d, 0) > 0) for q, d, _ in scored]
    return {
        "auc": auc([s for _, _, s in scored], labels),
        "candidates": len(scored),
        "relevant_candidates": int(sum(labels)),
        "thresholds": {str(t): precision_recall(scored, qrels, t, len(qrels)) for t in THRESHOLDS},
    }


def _ranking_quality(ranked: list[list[str]], data: Dataset, queries: int) -> dict[str, float]:
    positions = [p for p in sorted(data.qrels) if p < queries]
    return {
        "ndcg@10": float(np.mean([ndcg_at_k(ranked[p], data.qrels[p], 10) for p in positions])),
        "recall@100": float(
            np.mean([qrels_recall_at_k(ranked[p], data.qrels[p], 100) for p in positions])
        ),
    }


def _store(data: Dataset, uri: str, name: str, analyzer: Any = None) -> Any:
    from milvus_plugins.core import CollectionSpec, ConnectionConfig, MilvusStore, Record

    store = MilvusStore(
        CollectionSpec(name=name, dim=data.dim, sparse="bm25", analyzer=analyzer),
        connection=ConnectionConfig(uri=uri),
        drop_old=True,
    )
    records = [
        Record(id=i, text=t, vector=v.tolist())
        for i, t, v in zip(data.ids, data.texts, data.vectors, strict=True)
    ]
    store.upsert(records, progress=False)
    return store


def _modes(store: Any, data: Dataset, queries: int, log: Callable[[str], None]) -> dict[str, Any]:
    from milvus_plugins.core import RRF, Weighted
    from milvus_plugins.core.ranking import fused_relevance

    rankers = {"hybrid_rrf60": RRF(60), "hybrid_w50": Weighted(0.5, 0.5)}
    new: dict[str, Scored] = {m: [] for m in ("dense", "bm25", *rankers)}
    old: dict[str, Scored] = {m: [] for m in new}
    ranked: dict[str, list[list[str]]] = {m: [] for m in new}
    started = time.perf_counter()
    for q in range(queries):
        vector, text = data.query_vectors[q].tolist(), data.query_texts[q]
        hits = {
            "dense": store.search(vector, k=FETCH),
            "bm25": store.sparse_search(text, k=FETCH),
        }
        for mode, ranker in rankers.items():
            hits[mode] = store.hybrid_search(
                vector, text, k=FETCH, fetch_k=FETCH, ranker=ranker, fusion="client"
            )
        for mode, found in hits.items():
            ranked[mode].append([h.id for h in found])
            new[mode].extend((q, h.id, h.score) for h in found)
            for h in found:
                if mode == "dense":
                    before = (1.0 + h.distance) / 2.0
                elif mode == "bm25":
                    before = abs(h.distance) / (1.0 + abs(h.distance))
                else:
                    before = fused_relevance(h.distance, rankers[mode], 2)
                old[mode].append((q, h.id, before))
        if q % 50 == 49:
            log(f"  {q + 1}/{queries} queries ({time.perf_counter() - started:.0f} s)")
    return {
        mode: {
            "now": summarise(new[mode], data, queries),
            "before": summarise(old[mode], data, queries),
            **_ranking_quality(ranked[mode], data, queries),
        }
        for mode in new
    }


def _fusion_speed(store: Any, data: Dataset, queries: int) -> dict[str, float]:
    """Client vs server fusion, interleaved (each query runs both, order alternating)."""
    latency: dict[str, list[float]] = {"server": [], "client": []}
    for q in range(queries):
        vector, text = data.query_vectors[q].tolist(), data.query_texts[q]
        order = ("server", "client") if q % 2 == 0 else ("client", "server")
        for fusion in order:
            started = time.perf_counter()
            store.hybrid_search(vector, text, k=10, fusion=fusion)
            latency[fusion].append((time.perf_counter() - started) * 1000.0)
    ratios = [c / s for c, s in zip(latency["client"], latency["server"], strict=True)]
    return {
        "queries": queries,
        "rows": len(data),
        "server_p50_ms": statistics.median(latency["server"]),
        "client_p50_ms": statistics.median(latency["client"]),
        "client_over_server_median_ratio": statistics.median(ratios),
    }


def _analyzer_effect(data: Dataset, work: Path, queries: int) -> dict[str, Any]:
    """BM25 on Milvus Lite with the default analyzer against English stop words."""
    from milvus_plugins.core import TextAnalyzer

    out: dict[str, Any] = {}
    for label, analyzer in (
        ("standard", None),
        ("english_stop_words", TextAnalyzer(stop_words="english")),
    ):
        store = _store(data, str(work / f"analyzer_{label}.db"), f"scifact_{label}", analyzer)
        ranked, scored = [], []
        for q in range(queries):
            hits = store.sparse_search(data.query_texts[q], k=FETCH)
            ranked.append([h.id for h in hits])
            scored.extend((q, h.id, h.score) for h in hits)
        out[label] = {
            "analyzer_params": store.spec.analyzer_params,
            **_ranking_quality(ranked, data, queries),
            **summarise(scored, data, queries),
        }
        store.drop()
        store.close()
    return out


def run(queries: int | None, work: Path, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Compute every figure (see the module docstring)."""
    data = load_scifact(SCIFACT)
    total = len(data.query_texts)
    queries = min(queries or total, total)
    started = time.perf_counter()
    store = _store(data, str(work / "relevance.db"), "scifact_relevance")
    log(f"  ingested {len(data)} documents ({time.perf_counter() - started:.0f} s)")
    out: dict[str, Any] = {"docs": len(data), "queries": queries, "fetch": FETCH}
    out["modes"] = _modes(store, data, queries, log)
    out["fusion_speed"] = _fusion_speed(store, data, min(queries, 100))
    log(f"  fusion speed done ({time.perf_counter() - started:.0f} s)")
    store.drop()
    store.close()
    out["analyzer"] = _analyzer_effect(data, work, queries)
    log(f"  analyzer effect done ({time.perf_counter() - started:.0f} s)")
    return out


_LABELS = {
    "dense": "dense (COSINE)",
    "bm25": "BM25",
    "hybrid_rrf60": "hybrid RRF(60)",
    "hybrid_w50": "hybrid Weighted(0.5, 0.5)",
}


_ANALYZERS = {
    "standard": 'default `{"type": "standard"}`',
    "english_stop_words": '`TextAnalyzer(stop_words="english")`',
}


def _cells(summary: dict[str, Any]) -> str:
    parts = []
    for t in THRESHOLDS:
        pr = summary["thresholds"][str(t)]
        parts.append(f"{pr['precision']:.3f} / {pr['recall']:.3f} / {pr['per_query']:.1f}")
    return " | ".join(parts)


def render(result: dict[str, Any]) -> str:
    """The markdown tables for BENCHMARKS.md."""
    lines = [
        f"SciFact, {result['docs']:,} documents, {result['queries']} queries, top-{result['fetch']}"
        " candidates per mode, through the core store on Milvus Lite. Cells at each threshold:"
        " precision / recall / candidates per query at or above it.",
        "",
        "| mode | relevance | AUC | >= 0.3 | >= 0.5 | >= 0.7 | nDCG@10 |",
        "|---|---|---:|---|---|---|---:|",
    ]
    for mode, label in _LABELS.items():
        row = result["modes"][mode]
        lines.append(
            f"| {label} | now | {row['now']['auc']:.3f} | {_cells(row['now'])} | "
            f"{row['ndcg@10']:.3f} |"
        )
        lines.append(f"| | before | {row['before']['auc']:.3f} | {_cells(row['before'])} | |")
    speed = result["fusion_speed"]
    lines += [
        "",
        f"Client fusion (needed for leg-based hybrid relevance) against server fusion, "
        f"{speed['queries']} interleaved queries at {speed['rows']:,} rows, k=10: p50 "
        f"{speed['client_p50_ms']:.1f} ms vs {speed['server_p50_ms']:.1f} ms, median ratio "
        f"{speed['client_over_server_median_ratio']:.2f}.",
        "",
        "| BM25 analyzer on Milvus Lite | nDCG@10 | recall@100 | AUC | >= 0.5 |",
        "|---|---:|---:|---:|---|",
    ]
    for label, row in result["analyzer"].items():
        pr = row["thresholds"]["0.5"]
        lines.append(
            f"| {_ANALYZERS[label]} | {row['ndcg@10']:.3f} | "
            f"{row['recall@100']:.3f} | {row['auc']:.3f} | "
            f"{pr['precision']:.3f} / {pr['recall']:.3f} / {pr['per_query']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run and write ``benchmarks/results/relevance.{json,md}``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=None, help="first N queries (all)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results directory")
    parser.add_argument(
        "--render-only", action="store_true", help="re-render relevance.md from the JSON"
    )
    args = parser.parse_args(argv)
    if args.render_only:
        result = json.loads((args.out / "relevance.json").read_text(encoding="utf-8"))
    else:
        with tempfile.TemporaryDirectory(prefix="relevance_") as work:
            result = run(args.queries, Path(work))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "relevance.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    (args.out / "relevance.md").write_text(render(result), encoding="utf-8")
    print(render(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
