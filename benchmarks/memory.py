"""Peak memory of adding N documents, embedded on the fly, through each system.

Each (system, N) runs in a fresh worker process: it opens the system (connects, creates
the collection), records its resident memory, then adds the N documents the way the
system's users would with a model — vectors computed as the system asks for them
(``contract.embed_text``), so the harness never holds a table of them — and reports its
peak resident memory (``VmHWM``, see ``worker.py``; Milvus Lite runs inside the same
process, so its memory counts for every system alike). Raw pymilvus embeds and inserts one batch of
1,000 at a time. The *excess* is peak minus the memory before adding: what the adding
itself cost. Systems run in a rotated order per N.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.dataset import Dataset, workload_config
from benchmarks.procs import WorkerError, WorkerProcess
from benchmarks.systems import System

__all__ = ["ingest_in_worker", "run_memory"]


def ingest_in_worker(
    system: System,
    data_dir: Path,
    config: dict[str, Any],
    positions: list[int],
    log: Path,
    *,
    then: Callable[[WorkerProcess], Any] | None = None,
) -> dict[str, Any]:
    """Open ``system`` in a fresh worker, add ``positions``, and report time and memory.

    The worker opens the system (connects, creates the collection) and records its
    resident memory, then adds the documents (the timed ``ingest`` call: the system's
    add API plus whatever its driver does to make the rows searchable) and reports its
    peak resident memory. ``then`` runs on the worker after the measurement and before
    the collection is dropped (e.g. queries); its return value is ``"then"``.
    """
    worker = WorkerProcess(system.key, system.python, data_dir, log)
    try:
        opened = worker.call("open", driver=system.driver, config=config)
        before = worker.call("rss")
        took = worker.call("ingest", positions=positions)
        after = worker.call("rss")
        extra = then(worker) if then is not None else None
        worker.call("drop")
    finally:
        worker.close()
    return {
        "seconds": took["seconds"],
        "base_kb": before["current_kb"],
        "peak_kb": after["peak_kb"],
        "excess_kb": after["peak_kb"] - before["current_kb"],
        "versions": opened["versions"],
        "then": extra,
    }


def _one(system: System, data: Dataset, data_dir: Path, work: Path) -> dict[str, Any]:
    n = len(data)
    config = workload_config(
        work / f"mem_{system.key}_{n}.db", f"mem_{n}", data.dim, **system.config
    )
    config["on_the_fly"] = True  # whatever the system's settings say
    row = ingest_in_worker(system, data_dir, config, list(range(n)), work / f"mem_{system.key}.log")
    return {k: row[k] for k in ("seconds", "base_kb", "peak_kb", "excess_kb")}


def run_memory(
    systems: list[System],
    data: Dataset,
    data_dir: Path,
    work: Path,
    *,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Measure every system at ``len(data)`` documents; ratios are to raw pymilvus."""
    work.mkdir(parents=True, exist_ok=True)
    rows: dict[str, Any] = {}
    for s in systems:
        try:
            rows[s.key] = {"label": s.label, "ours": s.ours, **_one(s, data, data_dir, work)}
        except WorkerError as exc:
            rows[s.key] = {"label": s.label, "ours": s.ours, "error": str(exc).splitlines()[0]}
        row = rows[s.key]
        if "peak_kb" in row:
            log(
                f"  memory N={len(data):,} {s.key}: peak {row['peak_kb'] / 1024:,.0f} MB, "
                f"excess {row['excess_kb'] / 1024:,.0f} MB, {row['seconds']:.1f} s"
            )
    raw = rows.get("raw", {})
    for row in rows.values():
        if "peak_kb" in row and "peak_kb" in raw:
            row["peak_ratio"] = row["peak_kb"] / raw["peak_kb"]
            row["excess_ratio"] = row["excess_kb"] / max(1, raw["excess_kb"])
            row["time_ratio"] = row["seconds"] / raw["seconds"]
    return {"n": len(data), "systems": rows}
