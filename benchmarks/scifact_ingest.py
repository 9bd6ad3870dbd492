"""End-to-end ingest of the SciFact corpus through every system: time, peak RSS, nDCG@10.

Each system (raw pymilvus, the core, both adapters, both official integrations as
shipped and flushed) ingests the whole corpus (5,183 documents: ``title + " " + text``
as the text, ``{"title": title}`` as metadata) in a fresh worker process on its own
Milvus Lite file, with its defaults as its driver sets them up (dense only: no system
adds BM25 by default). Embedding is the offline all-MiniLM-L6-v2 table looked up by
text (``benchmarks/drivers/lookup_embeddings.py`` for LangChain; LlamaIndex nodes and
the raw/core rows carry the same vectors), so embedding costs nothing for anyone.

Timed: the driver's ``ingest`` (the add call(s) plus whatever the system does to make
the rows searchable: raw pymilvus and our stores flush; the official integrations do
not unless asked, so they run twice, as shipped and flushed). Memory: peak RSS of the
worker (Milvus Lite runs in-process, so it counts for everyone), and the excess over
its RSS before the add (:func:`benchmarks.memory.ingest_in_worker`). Systems run
interleaved, in a rotated order per repetition; figures are medians.

After the ingest of the first ``--quality-reps`` repetitions, each system answers the
300 test queries (dense top-10, query vectors from the same table): nDCG@10 and
recall@10 against the qrels, and neighbour recall@10 against exact search.

Run: ``python -m benchmarks.scifact_ingest`` (``make bench-scifact-ingest``; about 15
minutes on 2 cores). Results: ``benchmarks/results/scifact_ingest.{json,md}``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks.dataset import Dataset, load_scifact, subset
from benchmarks.memory import ingest_in_worker
from benchmarks.metrics import exact_top_k, mean_recall, ndcg_at_k, percentile, qrels_recall_at_k
from benchmarks.procs import WorkerError, WorkerProcess
from benchmarks.quality import README_BASELINES
from benchmarks.report import machine_info
from benchmarks.systems import System, all_systems
from benchmarks.venvs import OFFICIAL, ROOT, ensure_venv

HERE = Path(__file__).resolve().parent
SCIFACT = HERE / "data" / "scifact"
K = 10
SYSTEMS = ("raw", "core", "ours_lc", "ours_li", "off_lc", "off_lc_flush", "off_li", "off_li_flush")
# Our stores' default on Milvus Lite 3: the first write infers typed accelerator columns
# from its metadata. The drivers create the collection before the timed add, so they are
# told to infer from the documents, as that first write would (``first_write_sample``).
OURS_DEFAULTS: dict[str, Any] = {"infer": True}

__all__ = ["load_corpus", "main", "parse_args", "render_markdown", "run"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.scifact_ingest", description=__doc__
    )
    parser.add_argument("--reps", type=int, default=3, help="interleaved repetitions")
    parser.add_argument(
        "--quality-reps", type=int, default=1, help="repetitions followed by the 300 queries"
    )
    parser.add_argument("--docs", type=int, help="a SciFact subset of this many documents")
    parser.add_argument("--queries", type=int, help="the first queries of the subset")
    parser.add_argument(
        "--official",
        choices=("build", "reuse", "none"),
        default="build",
        help="official venvs: build when missing, only reuse ready ones, or skip",
    )
    parser.add_argument("--venvs", type=Path, default=ROOT, help="folder of the official venvs")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="results folder")
    parser.add_argument("--note", default="", help="what else the machine was doing")
    return parser.parse_args(argv)


def load_corpus(
    directory: Path = SCIFACT, *, docs: int | None = None, queries: int | None = None
) -> Dataset:
    """SciFact with each document's title as its metadata (optionally a subset)."""
    data = load_scifact(directory)
    with gzip.open(directory / "corpus.jsonl.gz", "rt", encoding="utf-8") as handle:
        data.metadata = [{"title": json.loads(line)["title"]} for line in handle]
    if docs or queries:
        data = subset(data, docs=docs or len(data), queries=queries or len(data.query_texts))
    return data


def _pythons(mode: str, root: Path, log: Callable[[str], None]) -> dict[str, Path | None]:
    out: dict[str, Path | None] = {}
    for name in OFFICIAL:
        if mode == "none":
            out[name] = None
        elif mode == "reuse":
            python = root / name / "bin" / "python"
            ready = (root / name / ".ready").exists() and python.exists()
            out[name] = python if ready else None
            log(f"venv {name}: {'reused' if ready else 'absent, skipped'}")
        else:
            venv = ensure_venv(name, root=root)
            out[name] = venv.python
            log(f"venv {name}: " + ("ready" if venv.python else f"FAILED: {venv.error}"))
    return out


def _systems(pythons: dict[str, Path | None]) -> list[System]:
    chosen = [s for s in all_systems(pythons) if s.key in SYSTEMS]
    return [replace(s, config={**s.config, **OURS_DEFAULTS}) if s.ours else s for s in chosen]


def _answers(worker: WorkerProcess, data: Dataset, exact: list[list[str]]) -> dict[str, Any]:
    """Dense top-10 of every query through the worker's system, scored."""
    result = worker.call("run", kind="dense", queries=list(range(len(exact))), k=K, args={})
    ranked: list[list[str]] = result["ids"]
    return {**_score(ranked, data, exact), "p50_ms": percentile(result["latency_ms"], 50)}


def _score(ranked: list[list[str]], data: Dataset, exact: list[list[str]]) -> dict[str, float]:
    judged = sorted(p for p in data.qrels if p < len(ranked))
    return {
        "ndcg@10": statistics.fmean(ndcg_at_k(ranked[p], data.qrels[p], K) for p in judged),
        "recall@10": statistics.fmean(
            qrels_recall_at_k(ranked[p], data.qrels[p], K) for p in judged
        ),
        "exact_recall@10": mean_recall(ranked, exact, K),
    }


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    seconds = [r["seconds"] for r in runs]
    return {
        "seconds": statistics.median(seconds),
        "seconds_min": min(seconds),
        "seconds_max": max(seconds),
        "peak_kb": statistics.median(r["peak_kb"] for r in runs),
        "excess_kb": statistics.median(r["excess_kb"] for r in runs),
        "base_kb": statistics.median(r["base_kb"] for r in runs),
    }


def run(
    systems: list[System],
    data: Dataset,
    data_dir: Path,
    work: Path,
    *,
    reps: int,
    quality_reps: int = 1,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Ingest ``data`` through every system ``reps`` times (interleaved); score the answers."""
    exact_rows = exact_top_k(data.vectors, data.query_vectors, K)
    exact = [[data.ids[i] for i in row] for row in exact_rows]
    rows: dict[str, dict[str, Any]] = {
        s.key: {"label": s.label, "ours": s.ours, "runs": [], "errors": []} for s in systems
    }
    positions = list(range(len(data)))
    for rep in range(reps):
        shift = rep % len(systems)
        for s in systems[shift:] + systems[:shift]:
            folder = work / f"{s.key}_{rep}"
            folder.mkdir(parents=True, exist_ok=True)
            config = {
                "uri": str(folder / "scifact.db"),
                "collection": "scifact",
                "dim": data.dim,
                "declared": [],
                "bm25": False,
                **s.config,
            }
            then = partial(_answers, data=data, exact=exact) if rep < quality_reps else None
            row = rows[s.key]
            try:
                got = ingest_in_worker(
                    s, data_dir, config, positions, work / f"{s.key}.log", then=then
                )
            except WorkerError as exc:
                row["errors"].append(f"rep {rep}: {str(exc).splitlines()[0]}")
                log(f"  rep {rep + 1} {s.key}: FAILED {row['errors'][-1]}")
                continue
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            row["versions"] = got["versions"]
            row["runs"].append({k: got[k] for k in ("seconds", "base_kb", "peak_kb", "excess_kb")})
            if got["then"] is not None:
                row.setdefault("quality_runs", []).append(got["then"])
            quality = f", nDCG@10 {got['then']['ndcg@10']:.4f}" if got["then"] else ""
            log(
                f"  rep {rep + 1}/{reps} {s.key}: {got['seconds']:.2f} s, "
                f"peak {got['peak_kb'] / 1024:,.0f} MB{quality}"
            )
    for row in rows.values():
        if row["runs"]:
            row.update(_summary(row["runs"]))
            row["docs_s"] = len(data) / row["seconds"]
        if row.get("quality_runs"):
            row["quality"] = row["quality_runs"][0]
    raw = rows.get("raw", {})
    for row in rows.values():
        if "seconds" in row and "seconds" in raw:
            row["speed_ratio"] = raw["seconds"] / row["seconds"]
            row["peak_ratio"] = row["peak_kb"] / raw["peak_kb"]
            row["excess_ratio"] = row["excess_kb"] / max(1, raw["excess_kb"])
    return {
        "docs": len(data),
        "queries": len(exact),
        "reps": reps,
        "quality_reps": min(quality_reps, reps),
        "reference": _score(exact, data, exact),
        "readme_dense_ndcg@10": README_BASELINES["dense"]["ndcg@10"],
        "systems": rows,
    }


def _mb(kb: float) -> str:
    return f"{kb / 1024:,.0f}"


def render_markdown(results: dict[str, Any]) -> str:
    """The results as a markdown section."""
    ref = results["reference"]["ndcg@10"]
    machine = results["machine"]
    lines = [
        f"### SciFact end-to-end ingest ({results['docs']:,} documents, {results['queries']} "
        f"queries), {machine['date']}",
        "",
        f"{machine['cpus']} CPUs ({machine['cpu_model']}), commit `{machine['commit']}`, "
        f"{results['reps']} interleaved repetition(s) (a fresh process each), medians; "
        f"1-minute load average before / after: {results['load_before'][0]:.1f} / "
        f"{results['load_after'][0]:.1f}." + (f" {results['note']}" if results.get("note") else ""),
        "",
        "| system | ingest s (min–max) | docs/s | speed × raw | peak RSS MB | × raw "
        "| excess MB | × raw | nDCG@10 | − exact | recall@10 vs exact |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in results["systems"].values():
        if "seconds" not in row:
            lines.append(f"| {row['label']} | failed: {'; '.join(row['errors'])} |")
            continue
        q = row.get("quality")
        quality = (
            f"{q['ndcg@10']:.4f} | {q['ndcg@10'] - ref:+.4f} | {q['exact_recall@10']:.3f}"
            if q
            else "– | – | –"
        )
        lines.append(
            f"| {row['label']} | {row['seconds']:.2f} ({row['seconds_min']:.2f}–"
            f"{row['seconds_max']:.2f}) | {row['docs_s']:,.0f} | "
            f"{row.get('speed_ratio', float('nan')):.2f}× | {_mb(row['peak_kb'])} | "
            f"{row.get('peak_ratio', float('nan')):.2f}× | {_mb(row['excess_kb'])} | "
            f"{row.get('excess_ratio', float('nan')):.2f}× | {quality} |"
        )
    lines += [
        "",
        f"Exact search (numpy) on the same vectors: nDCG@10 {ref:.4f} (the dataset README: "
        f"{results['readme_dense_ndcg@10']:.4f}), recall@10 "
        f"{results['reference']['recall@10']:.4f}.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the measurement and write ``scifact_ingest.{json,md}`` into ``--out``."""
    args = parse_args(argv)
    started = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.0f}s] {message}", flush=True)

    out: Path = args.out
    work = out / "tmp" / "scifact_ingest"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "machine": machine_info(),
        "note": args.note,
        "load_before": [round(x, 2) for x in os.getloadavg()],
    }
    systems = _systems(_pythons(args.official, args.venvs, log))
    data = load_corpus(docs=args.docs, queries=args.queries)
    data_dir = data.save(work / "data")
    log(f"SciFact ingest: {len(data):,} docs, {len(systems)} systems, {args.reps} repetitions")
    results.update(
        run(systems, data, data_dir, work, reps=args.reps, quality_reps=args.quality_reps, log=log)
    )
    results["load_after"] = [round(x, 2) for x in os.getloadavg()]
    results["runtime_s"] = time.perf_counter() - started
    out.mkdir(parents=True, exist_ok=True)
    (out / "scifact_ingest.json").write_text(json.dumps(results, indent=1) + "\n")
    (out / "scifact_ingest.md").write_text(render_markdown(results), encoding="utf-8")
    shutil.rmtree(work, ignore_errors=True)
    if not any((out / "tmp").iterdir()):
        (out / "tmp").rmdir()
    log(f"done in {results['runtime_s'] / 60:.1f} min; results in {out}")
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
