"""Filtered search p50 on an undeclared metadata key: JSON path vs accelerator vs declared.

Three collections of the same N rows (384-d random vectors, metadata ``category`` =
``i % 10`` plus two other keys) on Milvus Lite, written through :class:`MilvusStore`:

* ``json``: ``infer_metadata_fields=False`` (every key only in the metadata JSON);
* ``accelerated``: the defaults (``category`` undeclared: an accelerator column);
* ``declared``: ``category`` declared as an INT64 metadata field;

and, after the timings, ``overflowed``: the accelerated collection after one row wrote a
string under ``category`` (its filters take the JSON path again). Queries are interleaved
across the collections (``--queries`` rounds of a dense search, k=10, filter
``category == 3``); the p50 of each is printed as JSON.

Run: ``python -m benchmarks.accelerated_filters --rows 20000`` (about 3 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from milvus_plugins.core import (
    CollectionSpec,
    ConnectionConfig,
    MetadataField,
    MilvusStore,
    Record,
    eq,
)

DIM = 384


def _records(n: int, rng: np.random.Generator, start: int = 0) -> list[Record]:
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    return [
        Record(
            id=f"r{start + i}",
            text=f"row {start + i}",
            vector=vectors[i].tolist(),
            metadata={"category": (start + i) % 10, "source": f"s{i % 7}", "score": i / 3},
        )
        for i in range(n)
    ]


def _load(store: MilvusStore, rows: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    for start in range(0, rows, 2000):
        store.upsert(_records(min(2000, rows - start), rng, start))
    store.flush()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--queries", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        connection = ConnectionConfig(uri=str(Path(tmp) / "bench.db"))
        specs = {
            "json": CollectionSpec(name="json", infer_metadata_fields=False),
            "accelerated": CollectionSpec(name="accelerated"),
            "declared": CollectionSpec(
                name="declared", metadata_fields=[MetadataField(name="category", type="INT64")]
            ),
        }
        stores = {k: MilvusStore(s, connection=connection) for k, s in specs.items()}
        ingest = {k: _load(store, args.rows, seed=1) for k, store in stores.items()}
        where = eq("category", 3)
        rng = np.random.default_rng(7)
        queries = rng.standard_normal((args.queries, DIM)).astype(np.float32).tolist()
        expressions = {k: store.expression(where) for k, store in stores.items()}

        def timed(store: MilvusStore, vector: list[float]) -> float:
            started = time.perf_counter()
            hits = store.search(vector, k=10, filter=where)
            elapsed = time.perf_counter() - started
            assert len(hits) == 10 and all(h.record.metadata["category"] == 3 for h in hits)
            return elapsed

        times: dict[str, list[float]] = {k: [] for k in stores}
        for vector in queries:
            for name, store in stores.items():
                times[name].append(timed(store, vector))
        acc = stores["accelerated"]
        acc.upsert(_records(1, rng, args.rows))
        overflow = Record(id="odd", text="odd", vector=queries[0], metadata={"category": "x"})
        acc.upsert([overflow])
        acc.flush()
        times["overflowed"] = [timed(acc, v) for v in queries]
        expressions["overflowed"] = acc.expression(where)
        p50 = {k: round(statistics.median(v) * 1000, 1) for k, v in times.items()}
        print(
            json.dumps(
                {
                    "rows": args.rows,
                    "queries": args.queries,
                    "p50_ms": p50,
                    "accelerated_vs_declared": round(p50["accelerated"] / p50["declared"], 2),
                    "json_vs_declared": round(p50["json"] / p50["declared"], 2),
                    "ingest_s": {k: round(v, 1) for k, v in ingest.items()},
                    "expressions": expressions,
                },
                indent=2,
            )
        )
        for store in stores.values():
            store.close()


if __name__ == "__main__":
    main()
