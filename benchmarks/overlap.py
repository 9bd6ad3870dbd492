"""Streamed ingest with and without overlap: ``MilvusStore.upsert(records, embed=model)``
with ``WriteOptions(overlap=True)`` (the next batch embedded while the current one is
written) against ``overlap=False`` (embed, write, embed, write ...).

Two stand-in models, each costing about the same per text as a small real model:

* ``sleep``: a remote embedding API (the process waits: ``time.sleep`` per batch);
* ``numpy``: a CPU model (hashed character trigrams through a two-layer projection with
  numpy's BLAS, which uses every core, as ONNX Runtime or PyTorch would).

Each engine runs every (model, overlap) pair ``--reps`` times, interleaved, on a fresh
collection each time; also timed once per engine: the model alone over every text, and
the write alone (``upsert`` of precomputed vectors). Run with
``python -m benchmarks.overlap --engine both``; results go to stdout as JSON lines and a
Markdown table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from milvus_plugins.core import CollectionSpec, ConnectionConfig, MilvusStore, Record, WriteOptions

ROOT = Path(__file__).resolve().parent.parent
DIM = 384
FEATURES = 4096


def texts_of(n: int) -> list[str]:
    """``n`` deterministic texts of about 60 words (SciFact abstracts are ~200)."""
    words = [f"w{i}" for i in range(5000)]
    rng = np.random.default_rng(7)
    return [" ".join(words[j] for j in rng.integers(0, 5000, 60)) for _ in range(n)]


class SleepModel:
    """A remote API: ``per_text`` seconds of waiting per text, then cheap vectors."""

    def __init__(self, per_text: float) -> None:
        self.per_text = per_text

    def __call__(self, texts: list[str]) -> list[list[float]]:
        time.sleep(self.per_text * len(texts))
        return cheap_vectors(texts)


class NumpyModel:
    """A CPU model: hashed character trigrams, then two dense layers (numpy BLAS)."""

    def __init__(self, hidden: int) -> None:
        rng = np.random.default_rng(0)
        self.w1 = rng.standard_normal((FEATURES, hidden)).astype(np.float32) / 64
        self.w2 = rng.standard_normal((hidden, DIM)).astype(np.float32) / 64

    def __call__(self, texts: list[str]) -> list[list[float]]:
        x = np.zeros((len(texts), FEATURES), dtype=np.float32)
        for row, text in enumerate(texts):
            for start in range(0, len(text) - 2, 3):
                x[row, zlib.crc32(text[start : start + 3].encode()) % FEATURES] += 1.0
        h = np.maximum(x @ self.w1, 0.0)
        out = h @ self.w2
        out /= np.linalg.norm(out, axis=1, keepdims=True) + 1e-9
        return out.tolist()  # type: ignore[no-any-return]


def cheap_vectors(texts: list[str]) -> list[list[float]]:
    """Deterministic unit vectors (one small numpy call per batch)."""
    rng = np.random.default_rng(len(texts))
    out = rng.standard_normal((len(texts), DIM)).astype(np.float32)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out.tolist()  # type: ignore[no-any-return]


def open_store(uri: str, name: str, overlap: bool | None) -> MilvusStore:
    store = MilvusStore(
        CollectionSpec(name=name, dim=DIM),
        connection=ConnectionConfig(uri=uri),
        write=WriteOptions(overlap=overlap, progress=False),
        drop_old=True,
    )
    store.ensure_collection()
    return store


def timed_ingest(
    uri: str, name: str, texts: list[str], model: Callable[[list[str]], Any] | None, overlap: bool
) -> float:
    """Seconds to add every text (streamed through ``model``, or precomputed vectors)."""
    store = open_store(uri, name, overlap)
    if model is None:
        records = [
            Record(id=f"d{i}", text=t, vector=v, metadata={"n": i})
            for i, (t, v) in enumerate(zip(texts, cheap_vectors(texts), strict=True))
        ]
    else:
        records = [Record(id=f"d{i}", text=t, metadata={"n": i}) for i, t in enumerate(texts)]
    start = time.perf_counter()
    if model is None:
        store.upsert(records)
    else:
        store.upsert(records, embed=model)
    seconds = time.perf_counter() - start
    assert store.count() == len(texts)
    store.drop()
    store.close()
    return seconds


def model_alone(model: Callable[[list[str]], Any], texts: list[str], batch: int = 1000) -> float:
    start = time.perf_counter()
    for first in range(0, len(texts), batch):
        model(texts[first : first + batch])
    return time.perf_counter() - start


def run_engine(engine: str, n: int, reps: int, models: dict[str, Any], work: Path) -> list[dict]:
    server = None
    work.mkdir(parents=True, exist_ok=True)
    if engine == "server":
        sys.path.insert(0, str(ROOT))
        from tests.support.milvus_server import MilvusServer

        server = MilvusServer(work / "server")
        server.start()
        uri = server.uri
    else:
        uri = str(work / "lite.db")
    texts = texts_of(n)
    rows: list[dict[str, Any]] = []
    try:
        write = timed_ingest(uri, "w", texts, None, False)
        rows.append({"engine": engine, "model": "(none: write only)", "seconds": [write]})
        for label, model in models.items():
            alone = model_alone(model, texts)
            times: dict[bool, list[float]] = {False: [], True: []}
            for rep in range(reps):
                order = (False, True) if rep % 2 == 0 else (True, False)
                for overlap in order:
                    seconds = timed_ingest(uri, f"o_{label.split()[0]}", texts, model, overlap)
                    times[overlap].append(seconds)
                    print(
                        json.dumps(
                            {"engine": engine, "model": label, "overlap": overlap, "s": seconds}
                        ),
                        flush=True,
                    )
            rows.append(
                {
                    "engine": engine,
                    "model": label,
                    "model_alone": alone,
                    "write_alone": write,
                    "off": times[False],
                    "on": times[True],
                }
            )
    finally:
        if server is not None:
            server.stop()
    return rows


def table(rows: list[dict[str, Any]], n: int) -> str:
    lines = [
        f"N = {n:,} texts, batches of 1,000, {DIM}-d; medians (seconds).",
        "",
        "| engine | model | model alone | write alone | overlap off | overlap on | on / off |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        if "off" not in row:
            continue
        off, on = statistics.median(row["off"]), statistics.median(row["on"])
        lines.append(
            f"| {row['engine']} | {row['model']} | {row['model_alone']:.1f} | "
            f"{row['write_alone']:.1f} | {off:.1f} | {on:.1f} | {on / off:.2f}x |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--engine", choices=("lite", "server", "both"), default="both")
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--sleep-ms", type=float, default=0.5, help="per text, sleep model")
    parser.add_argument("--hidden", type=int, default=1536, help="numpy model hidden size")
    args = parser.parse_args()
    models = {
        f"sleep {args.sleep_ms:g} ms/text": SleepModel(args.sleep_ms / 1000),
        f"numpy (hidden {args.hidden})": NumpyModel(args.hidden),
    }
    engines = ["lite", "server"] if args.engine == "both" else [args.engine]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for engine in engines:
            rows += run_engine(engine, args.n, args.reps, models, Path(tmp) / engine)
    print(json.dumps(rows))
    print(table(rows, args.n))


if __name__ == "__main__":
    main()
