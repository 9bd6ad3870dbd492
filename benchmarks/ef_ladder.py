"""Recall@10 and search latency of the core's default HNSW index for a ladder of ``ef``.

One collection of the synthetic speed workload (clustered 384-d vectors, the core's
defaults: HNSW M 16 / efConstruction 200, accelerator columns), written by the core and
left to finish its background index builds (an idle wait), then every query searched at
each ``ef`` in turn; recall@10 is against exact neighbours computed with numpy. This is
the measurement behind the size-aware default ``ef`` (see ``HnswIndex``). Run with
``python -m benchmarks.ef_ladder --n 100000``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.dataset import synthetic, workload_config
from benchmarks.drivers.core import Driver
from benchmarks.proc_status import wait_until_idle
from milvus_plugins.core.autotune import exact_neighbours
from milvus_plugins.core.types import MetricType

LADDER = (64, 96, 128, 160, 192, 256, 384)


def ladder(n: int, queries: int, efs: list[int], directory: Path) -> list[tuple[int, float, float]]:
    """``(ef, recall@10, search p50 ms)`` per ``ef`` on one collection of ``n`` rows."""
    data = synthetic(n, queries=queries)
    truth = exact_neighbours(data.vectors, data.ids, data.query_vectors, 10, MetricType.COSINE)
    config = workload_config(directory / "ladder.db", "ladder", data.dim, infer=True)
    driver = Driver(config, data)
    started = time.perf_counter()
    driver.ingest(list(range(n)))
    wait_until_idle()
    print(f"N = {n:,}: ingest and index builds {time.perf_counter() - started:.0f} s")
    rows = []
    for ef in efs:
        recalls, latencies = [], []
        for q in range(queries):
            start = time.perf_counter()
            hits = driver.store.search(data.query_vectors[q], k=10, search_params={"ef": ef})
            latencies.append(1000 * (time.perf_counter() - start))
            recalls.append(len({h.id for h in hits} & set(truth[q])) / 10)
        rows.append((ef, statistics.fmean(recalls), statistics.median(latencies)))
    driver.drop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--ef", default=",".join(map(str, LADDER)), help="comma list")
    args = parser.parse_args()
    efs = [int(v) for v in args.ef.split(",") if v.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        rows = ladder(args.n, args.queries, efs, Path(tmp))
    print("\n| ef | recall@10 | search p50 ms |\n|---:|---:|---:|")
    for ef, recall, p50 in rows:
        print(f"| {ef} | {recall:.4f} | {p50:.1f} |")


if __name__ == "__main__":
    main()
