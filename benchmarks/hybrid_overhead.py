"""Search and hybrid search through each of our entry points against raw pymilvus, in one
process, query by query.

The speed benchmark's workloads (dense top-10; an undeclared-key filter; hybrid RRF 60,
k 10, fetch_k 40; the synthetic documents with BM25, our stores with their defaults) on
one Milvus Lite database per system, all in this process, with the queries interleaved:
query ``q`` runs on every system before query ``q + 1`` runs on any, so a busy moment of
the machine falls on all of them alike, and no system sits in a luckier or unluckier
process than raw pymilvus (on this VM two processes running the same code can differ by
30%). Every ingest is followed by a wait until the process is idle (Milvus Lite builds
indexes in background threads). Reports p50 / p95, the ratio of p50s and the median of
the per-query ratios to raw; ``--profile`` adds each system's client calls per hybrid
query and the share of time outside pymilvus/Milvus (cProfile). Run with
``python -m benchmarks.hybrid_overhead --n 20000``.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import pstats
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.dataset import synthetic, workload_config
from benchmarks.proc_status import wait_until_idle
from benchmarks.profile_ingest import charged, shares

SYSTEMS: dict[str, tuple[str, dict[str, Any]]] = {
    "raw pymilvus": ("benchmarks.drivers.raw_pymilvus", {}),
    # A null control (--control): raw pymilvus again, on its own database with its own
    # graph, so the table shows how far two identical systems land apart.
    "raw pymilvus, second database": ("benchmarks.drivers.raw_pymilvus", {}),
    "core": ("benchmarks.drivers.core", {}),
    # The core asked for the order only (relevance=False), as LangChain's
    # similarity_search asks: an RRF hybrid search then fuses on the server.
    "core, order only": ("benchmarks.drivers.core", {"relevance": False}),
    "LangChain": ("benchmarks.drivers.ours_langchain", {}),
    "LlamaIndex": ("benchmarks.drivers.ours_llama_index", {}),
}
RANKER = {"type": "rrf", "k": 60}
_CALLS = ("search", "hybrid_search", "query", "describe_collection", "has_collection")
KINDS: dict[str, tuple[str, dict[str, Any]]] = {
    "dense": ("dense", {}),
    "filter_undeclared": ("dense", {"filter": {"key": "source", "value": "src3"}}),
    "hybrid": ("hybrid", {"ranker": RANKER, "fetch_k": 40}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--kinds", default="dense,hybrid", help=f"comma list of {list(KINDS)}")
    parser.add_argument(
        "--control",
        action="store_true",
        help="add raw pymilvus a second time, on its own database (the spread of a null change)",
    )
    parser.add_argument(
        "--system",
        action="append",
        default=[],
        help=f"one of {list(SYSTEMS)[2:]}, repeatable (default: all; raw pymilvus always)",
    )
    args = parser.parse_args()
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    wanted = args.system or list(SYSTEMS)[2:]
    unknown = [s for s in wanted if s not in SYSTEMS]
    if unknown:
        parser.error(f"unknown systems {unknown}; choose from {list(SYSTEMS)[2:]}")
    chosen = ["raw pymilvus", *(["raw pymilvus, second database"] if args.control else [])]
    chosen += [s for s in wanted if s not in chosen]
    data = synthetic(args.n, queries=args.queries)
    with tempfile.TemporaryDirectory() as tmp:
        drivers: dict[str, Any] = {}
        for index, name in enumerate(chosen):
            module, extra = SYSTEMS[name]
            # infer: our stores' default accelerator columns (raw pymilvus ignores it).
            config = workload_config(
                Path(tmp) / f"system{index}.db", "hybrid", data.dim, infer=True, **extra
            )
            drivers[name] = importlib.import_module(module).Driver(config, data)
            drivers[name].ingest(list(range(args.n)))
            wait_until_idle()
        for kind in kinds:
            method, extra = KINDS[kind]
            for driver in drivers.values():  # warm-up: first-call costs
                for q in range(5):
                    getattr(driver, method)(q, 10, **extra)
            latency: dict[str, list[float]] = {name: [] for name in drivers}
            order = random.Random(0)
            for q in range(args.queries):
                # A new order for each query (seeded): no system always runs first or
                # right after the same one (a fixed position moved latency by up to 4%).
                names = list(drivers)
                order.shuffle(names)
                for name in names:
                    driver = drivers[name]
                    start = time.perf_counter()
                    getattr(driver, method)(q, 10, **extra)
                    latency[name].append(1000 * (time.perf_counter() - start))
            raw_values = latency["raw pymilvus"]
            raw = statistics.median(raw_values)
            print(f"\nN = {args.n:,}, {args.queries} interleaved queries, {kind}\n")
            print("| system | p50 ms | p95 ms | p50 x raw | median per-query ratio |")
            print("|---|---:|---:|---:|---:|")
            for name, values in latency.items():
                p50 = statistics.median(values)
                p95 = statistics.quantiles(values, n=20)[-1]
                paired = statistics.median(v / r for v, r in zip(values, raw_values, strict=True))
                print(f"| {name} | {p50:.1f} | {p95:.1f} | {p50 / raw:.2f}x | {paired:.2f}x |")
        if args.profile:
            print("\n| system | client calls per query | outside Milvus (cProfile) |")
            print("|---|---|---:|")
            for name, driver in drivers.items():
                profiler = cProfile.Profile()
                queries = min(50, args.queries)
                profiler.runcall(
                    lambda d=driver, n=queries: [d.hybrid(q, 10, RANKER, 40) for q in range(n)]
                )
                stats = pstats.Stats(profiler)
                table: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
                calls = {
                    func[2]: entry[1] / queries
                    for func, entry in table.items()
                    if "pymilvus/milvus_client" in func[0] and func[2] in _CALLS
                }
                parts = shares(charged(stats))
                total = sum(parts.values())
                outside = (parts.get("ours", 0.0) + parts.get("framework", 0.0)) / total
                print(f"| {name} | {calls} | {outside:.1%} |")
        for driver in drivers.values():
            driver.drop()


if __name__ == "__main__":
    main()
