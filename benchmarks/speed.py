"""The speed benchmark: every system side by side, interleaved round-robin.

For each repetition, every system (in a rotated order, each in a fresh worker process)
ingests the same ``N`` documents into a fresh collection; then the query kinds run in
small batches handed to each system in turn, so drift on the machine hits all systems
alike. Each (system, kind, repetition) gets at most ``budget`` seconds (at least
``min_queries`` queries), so a slow system cannot stall the run. Figures are medians
over repetitions; ratios are to raw pymilvus measured in the same run.

Milvus Lite runs inside each worker and goes on sealing segments and building indexes
after a write returns. The harness waits until the worker that just ingested is idle
(:func:`~benchmarks.proc_status.wait_until_idle`) before the next system starts, so no
system's timing carries another one's background work (without the wait, whichever
system came next paid for it, and the rotation did not even that out over a few
repetitions); ``ingest_idle_s`` is the time until that worker went idle, its engine's
background work included.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.dataset import Dataset, workload_config
from benchmarks.metrics import exact_top_k, mean_recall, percentile
from benchmarks.proc_status import wait_until_idle
from benchmarks.procs import WorkerError, WorkerProcess
from benchmarks.systems import System

__all__ = ["KINDS", "SpeedSettings", "run_speed"]

IDLE_WINDOW = 1.0  # seconds a worker must stay (nearly) idle before the next system starts
RRF60: dict[str, Any] = {"type": "rrf", "k": 60}
# (result name, driver method, arguments, ground-truth filter or None for no recall)
KINDS: list[tuple[str, str, dict[str, Any]]] = [
    ("search", "dense", {}),
    ("filter_declared", "dense", {"filter": {"key": "category", "value": 3}}),
    ("filter_undeclared", "dense", {"filter": {"key": "source", "value": "src3"}}),
    ("hybrid", "hybrid", {"ranker": RRF60, "fetch_k": 40}),
]
# Only the core exposes both fusion paths; measured for the server-vs-client question.
CORE_KINDS: list[tuple[str, str, dict[str, Any]]] = [
    ("hybrid_server", "hybrid_server", {"ranker": RRF60, "fetch_k": 40}),
    ("hybrid_client", "hybrid_client", {"ranker": RRF60, "fetch_k": 40}),
]


@dataclass(frozen=True)
class SpeedSettings:
    """How much to measure.

    Attributes:
        n: documents.
        reps: repetitions (fresh collections each time).
        queries: query positions available per kind.
        budget: seconds per (system, kind, repetition).
        min_queries: queries run whatever the budget.
        batch: queries per round-robin turn.
        warmup: untimed queries per (system, kind) before each repetition's timing.
        recall_queries: queries whose results recall@10 is computed over (dense kinds):
            those the time budget left unrun are run untimed after the timed ones, so
            recall does not rest on the handful of queries a slow system fits into its
            budget (``None``: all ``queries``).
        recall_budget: seconds of such untimed queries per (system, kind, repetition)
            at most (a JSON-path filter at 100,000 rows takes seconds a query); the
            report gives the number of queries each recall is over.

    Each worker also ingests 200 documents into a scratch collection, untimed, before
    the first repetition (process and engine start-up costs).
    """

    n: int
    reps: int = 3
    queries: int = 100
    budget: float = 3.0
    min_queries: int = 5
    batch: int = 5
    warmup: int = 2
    recall_queries: int | None = None
    recall_budget: float = 60.0


@dataclass
class _Acc:
    ingest_s: list[float] = field(default_factory=list)
    ingest_idle_s: list[float] = field(default_factory=list)
    lat: dict[str, list[list[float]]] = field(default_factory=dict)
    ids: dict[str, dict[int, list[str]]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def _mask(data: Dataset, flt: dict[str, Any] | None) -> np.ndarray | None:
    if flt is None:
        return None
    return np.array([m.get(flt["key"]) == flt["value"] for m in data.metadata])


def _truth(data: Dataset, k: int) -> dict[str, list[list[str]]]:
    out = {}
    for name, method, args in KINDS:
        if method != "dense":
            continue
        top = exact_top_k(data.vectors, data.query_vectors, k, _mask(data, args.get("filter")))
        out[name] = [[data.ids[i] for i in row] for row in top]
    return out


def _complete_for_recall(
    workers: dict[str, WorkerProcess],
    accs: dict[str, _Acc],
    kind: tuple[str, str, dict[str, Any]],
    order: list[str],
    settings: SpeedSettings,
    k: int,
) -> None:
    """Run, untimed, the recall queries the time budget left unrun (ids only)."""
    name = kind[0]
    wanted = min(settings.queries, settings.recall_queries or settings.queries)
    for key in order:
        if name in accs[key].errors:
            continue
        seen = accs[key].ids.get(name, {})
        missing = [p for p in range(wanted) if p not in seen]
        spent = 0.0
        for start in range(0, len(missing), settings.batch):
            positions = missing[start : start + settings.batch]
            latency = _run_queries(workers[key], accs[key], kind, positions, k)
            if latency is None:
                break
            spent += sum(latency) / 1000.0
            if spent >= settings.recall_budget:
                break


def _run_queries(
    worker: WorkerProcess,
    acc: _Acc,
    kind: tuple[str, str, dict[str, Any]],
    positions: list[int],
    k: int,
) -> list[float] | None:
    """Run ``positions`` of ``kind`` on one worker and keep their ids; answer the
    latencies, or ``None`` after recording the worker's error."""
    name, method, args = kind
    try:
        result = worker.call("run", kind=method, queries=positions, k=k, args=args)
    except WorkerError as exc:
        acc.errors[name] = str(exc).splitlines()[0]
        return None
    acc.ids.setdefault(name, {}).update(zip(positions, result["ids"], strict=True))
    latency: list[float] = result["latency_ms"]
    return latency


def _rotate(items: list[Any], by: int) -> list[Any]:
    by %= max(1, len(items))
    return items[by:] + items[:by]


def _run_kind(
    workers: dict[str, WorkerProcess],
    accs: dict[str, _Acc],
    kind: tuple[str, str, dict[str, Any]],
    order: list[str],
    settings: SpeedSettings,
    k: int,
    min_queries: int | None = None,
) -> None:
    name, method, args = kind
    least = settings.min_queries if min_queries is None else min_queries
    spent = dict.fromkeys(order, 0.0)
    done = dict.fromkeys(order, 0)
    lat: dict[str, list[float]] = {key: [] for key in order}
    for key in order:  # warm-up, untimed
        try:
            workers[key].call(
                "run", kind=method, queries=list(range(settings.warmup)), k=k, args=args
            )
        except WorkerError as exc:
            accs[key].errors[name] = str(exc).splitlines()[0]
    active = [key for key in order if name not in accs[key].errors]
    turn = 0
    while active:
        for key in _rotate(active, turn):
            start = done[key]
            positions = list(range(start, min(start + settings.batch, settings.queries)))
            latency = _run_queries(workers[key], accs[key], kind, positions, k)
            if latency is None:
                active.remove(key)
                continue
            lat[key].extend(latency)
            spent[key] += sum(latency) / 1000.0
            done[key] = positions[-1] + 1
            finished = done[key] >= settings.queries
            over = spent[key] >= settings.budget and done[key] >= least
            if finished or over:
                active.remove(key)
        turn += 1
    if method == "dense":
        _complete_for_recall(workers, accs, kind, order, settings, k)
    for key in order:
        if lat[key]:
            accs[key].lat.setdefault(name, []).append(lat[key])


def _warm_up(worker: WorkerProcess, system: System, data: Dataset, work: Path) -> None:
    """An untimed small ingest and search: imports, engine start-up and first-call costs
    are paid here, not by the first timed repetition."""
    config = workload_config(work / f"{system.key}.db", "warmup", data.dim, **system.config)
    try:
        worker.call("open", driver=system.driver, config=config)
        worker.call("ingest", positions=list(range(min(200, len(data)))))
        worker.call("run", kind="dense", queries=[0], k=10, args={})
        worker.call("drop")
    except WorkerError:
        pass  # the timed repetitions record the failure


def run_speed(
    systems: list[System],
    data: Dataset,
    data_dir: Path,
    work: Path,
    settings: SpeedSettings,
    *,
    k: int = 10,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Measure every system; return per-system figures and ratios to raw pymilvus."""
    work.mkdir(parents=True, exist_ok=True)
    accs = {s.key: _Acc() for s in systems}
    versions: dict[str, dict[str, str]] = {}
    rss: dict[str, dict[str, int]] = {}
    for rep in range(settings.reps):
        # Fresh worker processes each repetition: on this VM one process's search latency
        # can sit 30% above another's running the same code on the same data (memory
        # placement, which vCPU its threads land on), so a system must not keep one
        # process's luck for the whole run.
        workers: dict[str, WorkerProcess] = {}
        try:
            for s in systems:
                workers[s.key] = WorkerProcess(s.key, s.python, data_dir, work / f"{s.key}.log")
            for s in systems:
                _warm_up(workers[s.key], s, data, work)
                wait_until_idle(workers[s.key].proc.pid, window=IDLE_WINDOW)
            order = _rotate([s.key for s in systems if "open" not in accs[s.key].errors], rep)
            for s in [s for key in order for s in systems if s.key == key]:
                config = workload_config(
                    work / f"{s.key}.db", f"bench_r{rep}", data.dim, **s.config
                )
                try:
                    opened = workers[s.key].call("open", driver=s.driver, config=config)
                    versions[s.key] = opened["versions"]
                    took = workers[s.key].call("ingest", positions=list(range(len(data))))
                    accs[s.key].ingest_s.append(took["seconds"])
                    waited = wait_until_idle(workers[s.key].proc.pid, window=IDLE_WINDOW)
                    # The last window was idle: the background work ended within it.
                    settled = took["seconds"] + max(waited - IDLE_WINDOW, 0.0)
                    accs[s.key].ingest_idle_s.append(settled)
                except WorkerError as exc:
                    accs[s.key].errors["open"] = str(exc).splitlines()[0]
                    order.remove(s.key)
            log(f"  rep {rep + 1}/{settings.reps}: ingested into {len(order)} systems")
            for kind in KINDS:
                _run_kind(workers, accs, kind, order, settings, k)
            if "core" in order:
                for kind in CORE_KINDS:  # enough queries to compare the two fusion paths
                    _run_kind(workers, accs, kind, ["core"], settings, k, min_queries=30)
            for key in order:
                workers[key].call("drop")
            for s in systems:
                peak = workers[s.key].call("rss")["peak_kb"]
                seen = rss.setdefault(s.key, {"client_peak_kb": 0, "tree_peak_kb": 0})
                seen["client_peak_kb"] = max(seen["client_peak_kb"], peak)
        finally:
            for s in systems:
                if s.key in workers:
                    workers[s.key].close()
                    if s.key in rss:
                        rss[s.key]["tree_peak_kb"] = max(
                            rss[s.key]["tree_peak_kb"], workers[s.key].peak_tree_kb
                        )
    return _summarise(systems, accs, data, versions, rss, settings, k)


def _summarise(
    systems: list[System],
    accs: dict[str, _Acc],
    data: Dataset,
    versions: dict[str, dict[str, str]],
    rss: dict[str, dict[str, int]],
    settings: SpeedSettings,
    k: int,
) -> dict[str, Any]:
    truth = _truth(data, k)
    out: dict[str, Any] = {"n": len(data), "settings": settings.__dict__, "systems": {}}
    for s in systems:
        acc = accs[s.key]
        row: dict[str, Any] = {
            "label": s.label,
            "ours": s.ours,
            "versions": versions.get(s.key, {}),
            "errors": acc.errors,
            "rss": rss.get(s.key, {}),
        }
        if acc.ingest_s:
            row["ingest_docs_s"] = len(data) / float(np.median(acc.ingest_s))
            row["ingest_s_reps"] = acc.ingest_s
        if acc.ingest_idle_s:
            row["ingest_idle_docs_s"] = len(data) / float(np.median(acc.ingest_idle_s))
            row["ingest_idle_s_reps"] = acc.ingest_idle_s
        for name, reps in acc.lat.items():
            row[name] = {
                "p50_ms": float(np.median([percentile(r, 50) for r in reps])),
                "p95_ms": float(np.median([percentile(r, 95) for r in reps])),
                "queries": [len(r) for r in reps],
            }
            if name in truth and name in acc.ids:
                positions = sorted(acc.ids[name])
                row[name]["recall_at_10"] = mean_recall(
                    [acc.ids[name][p] for p in positions], [truth[name][p] for p in positions], k
                )
                row[name]["recall_queries"] = len(positions)
        out["systems"][s.key] = row
    out["ratios"] = _ratios(out["systems"])
    out["fusion"] = _fusion_identity(accs.get("core"))
    return out


def _ratios(rows: dict[str, Any]) -> dict[str, dict[str, float]]:
    raw = rows.get("raw", {})
    ratios: dict[str, dict[str, float]] = {}
    for key, row in rows.items():
        r: dict[str, float] = {}
        if "ingest_docs_s" in row and "ingest_docs_s" in raw:
            r["ingest"] = row["ingest_docs_s"] / raw["ingest_docs_s"]
        if "ingest_idle_docs_s" in row and "ingest_idle_docs_s" in raw:
            r["ingest_idle"] = row["ingest_idle_docs_s"] / raw["ingest_idle_docs_s"]
        for name, _, _ in KINDS:
            if name in row and name in raw:
                r[name] = row[name]["p50_ms"] / raw[name]["p50_ms"]
        ratios[key] = r
    return ratios


def _fusion_identity(acc: _Acc | None) -> dict[str, Any]:
    if acc is None or "hybrid_server" not in acc.ids or "hybrid_client" not in acc.ids:
        return {}
    server, client = acc.ids["hybrid_server"], acc.ids["hybrid_client"]
    common = sorted(set(server) & set(client))
    same_order = sum(server[p] == client[p] for p in common)
    same_set = sum(set(server[p]) == set(client[p]) for p in common)
    return {
        "queries": len(common),
        "identical_order": same_order,
        "identical_set": same_set,
    }
