"""Recall@10 and search latency of HNSW build settings (``M``, ``efConstruction``) by ``ef``.

One collection per build setting, each holding the synthetic speed workload's vectors
(clustered 384-d) and its metadata, written with raw pymilvus the way the store creates
indexes on Milvus Lite 3 (the build parameters sent as flat entries and as the nested
``params`` entry Lite reads; with ``--flat-only`` as pymilvus alone sends them, which Lite
3.2.2 ignores). After an idle wait for the background index builds, every query runs on
every (setting, ``ef``) pair in turn, in a rotating order (a collection's position in the
loop moved its latency by up to 4% when all of them had the same index). Recall@10 is
against numpy's exact neighbours; latency ratios are to M 16 / efConstruction 200 / ef 64
(raw pymilvus' usual setup). Run with ``python -m benchmarks.hnsw_build --n 20000``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from pymilvus import DataType, MilvusClient

from benchmarks.dataset import synthetic
from benchmarks.proc_status import wait_until_idle
from milvus_plugins.core.autotune import exact_neighbours
from milvus_plugins.core.types import MetricType

BUILDS = "16:200,16:400,24:200,32:200"
EFS = "48,64,96,128"
BASELINE = (16, 200, 64)


def _create(client: MilvusClient, name: str, dim: int, build: dict[str, int], flat: bool) -> None:
    schema = client.create_schema(auto_id=False)
    schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=64)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    schema.add_field("metadata", DataType.JSON)
    params: dict[str, Any] = dict(build) if flat else {**build, "params": dict(build)}
    index = client.prepare_index_params()
    index.add_index(field_name="vector", index_type="HNSW", metric_type="COSINE", params=params)
    client.create_collection(name, schema=schema, index_params=index)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--builds", default=BUILDS, help="comma list of M:efConstruction")
    parser.add_argument("--ef", default=EFS, help="comma list")
    parser.add_argument("--flat-only", action="store_true", help="as pymilvus sends them")
    args = parser.parse_args()
    builds = [tuple(int(x) for x in b.split(":")) for b in args.builds.split(",") if b.strip()]
    efs = [int(v) for v in args.ef.split(",") if v.strip()]
    data = synthetic(args.n, queries=args.queries)
    truth = exact_neighbours(data.vectors, data.ids, data.query_vectors, 10, MetricType.COSINE)
    queries = [v.tolist() for v in data.query_vectors]
    with tempfile.TemporaryDirectory() as tmp:
        client = MilvusClient(str(Path(tmp) / "builds.db"))
        for m, efc in builds:
            name = f"hnsw_{m}_{efc}"
            _create(client, name, data.dim, {"M": m, "efConstruction": efc}, args.flat_only)
            started = time.perf_counter()
            for first in range(0, args.n, 1000):
                rows = [
                    {
                        "id": data.ids[p],
                        "vector": data.vectors[p].tolist(),
                        "metadata": data.metadata[p],
                    }
                    for p in range(first, min(args.n, first + 1000))
                ]
                client.insert(name, rows)
            client.flush(name)
            written = time.perf_counter() - started
            wait_until_idle()
            print(
                f"M {m} efConstruction {efc}: insert + flush {written:.1f} s, "
                f"until idle {time.perf_counter() - started:.1f} s",
                flush=True,
            )
        pairs = [(m, efc, ef) for m, efc in builds for ef in efs]
        latency: dict[tuple[int, ...], list[float]] = {p: [] for p in pairs}
        found: dict[tuple[int, ...], int] = dict.fromkeys(pairs, 0)
        for q in range(args.queries):
            shift = q % len(pairs)
            for m, efc, ef in pairs[shift:] + pairs[:shift]:
                start = time.perf_counter()
                hits = client.search(
                    f"hnsw_{m}_{efc}",
                    data=[queries[q]],
                    anns_field="vector",
                    limit=10,
                    search_params={"metric_type": "COSINE", "params": {"ef": ef}},
                    output_fields=["metadata"],
                )
                latency[(m, efc, ef)].append(1000 * (time.perf_counter() - start))
                found[(m, efc, ef)] += len({h["id"] for h in hits[0]} & set(truth[q]))
    base = statistics.median(latency.get(BASELINE) or latency[pairs[0]])
    print("\n| M | efConstruction | ef | recall@10 | search p50 ms | x M 16 / 200 / ef 64 |")
    print("|---:|---:|---:|---:|---:|---:|")
    for pair in pairs:
        p50 = statistics.median(latency[pair])
        recall = found[pair] / (10 * args.queries)
        print(
            f"| {pair[0]} | {pair[1]} | {pair[2]} | {recall:.4f} | {p50:.2f} | {p50 / base:.3f} |"
        )


if __name__ == "__main__":
    main()
