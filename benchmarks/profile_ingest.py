"""Where ingest time goes: cProfile of adding N documents through each system's driver.

Every system (raw pymilvus, our core, our LangChain and LlamaIndex adapters) ingests the
same synthetic documents (precomputed vectors, the speed workload's metadata, HNSW, BM25)
into a fresh Milvus Lite collection, as ``benchmarks.speed`` does. Each function's own
time is charged to a part:

* ``milvus``: pymilvus, gRPC, protobuf and Milvus Lite (which runs in-process);
* ``ours``: ``milvus_plugins``;
* ``framework``: ``langchain_core`` / ``llama_index`` (their document and node classes);
* ``harness``: the benchmark driver (building the inputs, the embedding lookups);

and the time of a function outside them all (builtins, numpy, json ...) to its callers'
parts, in proportion to the time each caller spent in it. Run with
``python -m benchmarks.profile_ingest --n 20000``; ``--top`` lists our costliest
functions; ``--time 3`` times the ingest instead (no profiler, 3 interleaved
repetitions, ratios to the first system: wall clock, process CPU, and the CPU time of
the calling thread, i.e. the client's share). cProfile slows Python code more than native
code, so the shares overstate the Python parts; compare systems and versions with each
other, not with wall-clock runs.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.dataset import synthetic, workload_config
from benchmarks.proc_status import CLOCKS, clocked, wait_until_idle

SYSTEMS = {
    "raw pymilvus": "benchmarks.drivers.raw_pymilvus",
    "core": "benchmarks.drivers.core",
    "core-insert": "benchmarks.drivers.core",  # mode="insert" (as raw sends)
    "LangChain": "benchmarks.drivers.ours_langchain",
    "LlamaIndex": "benchmarks.drivers.ours_llama_index",
    # The nodes exist before the clock starts, as a node parser's output does; the timed
    # part attaches each embedding to a copy of its node, as VectorStoreIndex does, and adds.
    "LlamaIndex nodes ready": "benchmarks.drivers.ours_llama_index",
}
EXTRA: dict[str, dict[str, Any]] = {
    "core-insert": {"mode": "insert"},
    "LlamaIndex nodes ready": {"nodes_ready": True},
}
PARTS = ("milvus", "ours", "framework", "harness")
_MARKERS = {
    "milvus": ("/pymilvus/", "/grpc/", "/google/protobuf/", "/milvus_lite/"),
    "ours": ("/milvus_plugins/",),
    "framework": ("/langchain_core/", "/llama_index/", "/pydantic/"),
    "harness": ("/benchmarks/",),
}

Func = tuple[str, int, str]


def part_of(func: Func) -> str | None:
    """The part a function's file belongs to, or ``None`` (charged to its callers)."""
    filename = func[0]
    for part, markers in _MARKERS.items():
        if any(marker in filename for marker in markers):
            return part
    return None


def charged(stats: pstats.Stats, *, calls: bool = False) -> dict[Func | None, float]:
    """Seconds of own time (``calls``: function calls) charged to each function of a part.

    A function outside every part is charged to its nearest callers in one, in
    proportion to the time each caller spent in it (``None``: no such caller). Call
    counts, unlike times, do not depend on how busy the machine is.
    """
    table: dict[Func, Any] = stats.stats  # type: ignore[attr-defined]
    memo: dict[Func, dict[Func | None, float]] = {}

    def owners(func: Func, seen: frozenset[Func]) -> dict[Func | None, float]:
        if part_of(func) is not None:
            return {func: 1.0}
        if func in memo:
            return memo[func]
        callers = table[func][4] if func in table else {}
        weights = {c: edge[2] or edge[3] for c, edge in callers.items() if c not in seen}
        total = sum(weights.values())
        if not total:
            return {None: 1.0}
        out: dict[Func | None, float] = {}
        for caller, weight in weights.items():
            for owner, frac in owners(caller, seen | {func}).items():
                out[owner] = out.get(owner, 0.0) + frac * weight / total
        memo[func] = out
        return out

    result: dict[Func | None, float] = {}
    for func, (_cc, ncalls, tottime, _ct, _callers) in table.items():
        amount = ncalls if calls else tottime
        for owner, frac in owners(func, frozenset()).items():
            result[owner] = result.get(owner, 0.0) + frac * amount
    return result


def shares(by_function: dict[Func | None, float]) -> dict[str, float]:
    """Seconds charged to each part (``other``: unresolvable)."""
    out: dict[str, float] = {}
    for func, seconds in by_function.items():
        part = (part_of(func) if func is not None else None) or "other"
        out[part] = out.get(part, 0.0) + seconds
    return out


def db_file(work: Path, name: str) -> Path:
    """A database file named after the system (one per system and repetition)."""
    return work / f"{name.replace(' ', '_').replace('-', '_')}.db"


def profile_system(
    name: str, module: str, data: Any, n: int, work: Path, top: int, top_parts: tuple[str, ...]
) -> dict:
    driver_cls = importlib.import_module(module).Driver
    config = workload_config(db_file(work, name), "profiled", data.dim, **EXTRA.get(name, {}))
    warm = driver_cls({**config, "collection": "warm"}, data)
    warm.ingest(list(range(200)))  # imports and first-call costs
    warm.drop()
    driver = driver_cls(config, data)
    prepare = getattr(driver, "prepare", None)
    if prepare is not None:  # inputs that exist before a user's ingest starts
        prepare(list(range(n)))
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.runcall(driver.ingest, list(range(n)))
    wall = time.perf_counter() - start
    driver.drop()
    stats = pstats.Stats(profiler)
    by_function = charged(stats)
    parts = shares(by_function)
    total = sum(parts.values())
    row = {"system": name, "wall": wall, "total": total, **parts}
    counts = shares(charged(stats, calls=True))
    row["calls_per_row"] = (counts.get("ours", 0.0) + counts.get("framework", 0.0)) / n
    if top:
        ours = [
            (func, seconds)
            for func, seconds in by_function.items()
            if func is not None and part_of(func) in top_parts
        ]
        ours.sort(key=lambda item: -item[1])
        print(f"\n{name}: costliest functions of {', '.join(top_parts)} (seconds charged)")
        for func, seconds in ours[:top]:
            where = func[0].split("/src/")[-1].split("site-packages/")[-1]
            print(f"  {seconds:7.2f}  {where}:{func[1]} {func[2]}")
    return row


def time_systems(names: list[str], data: Any, n: int, reps: int, work: Path) -> None:
    """Ingest times (no profiler), systems interleaved rep by rep: wall clock, the process'
    CPU time, and the CPU time of the calling thread alone.

    Milvus Lite runs in this process (its server threads share the GIL), so the calling
    thread's CPU time is the client's share: building rows, our checks, pymilvus packing.
    It varies far less between repetitions than wall clock on a shared VM, and it is where
    the systems differ; the server's work is the process CPU minus it.
    """
    drivers = {name: importlib.import_module(SYSTEMS[name]).Driver for name in names}
    seconds: dict[str, dict[str, list[float]]] = {n: {k: [] for k in CLOCKS} for n in names}
    for rep in range(reps):
        order = names if rep % 2 == 0 else names[::-1]
        for name in order:
            # A fresh database file per repetition: reopening one that an earlier
            # client of this process used failed to connect on Milvus Lite 3.2.2.
            config = workload_config(
                db_file(work, f"{name}_{rep}"),
                f"timed{rep}",
                data.dim,
                **EXTRA.get(name, {}),
            )
            warm = drivers[name]({**config, "collection": "warm"}, data)
            warm.ingest(list(range(200)))
            warm.drop()
            driver = drivers[name](config, data)
            prepare = getattr(driver, "prepare", None)
            if prepare is not None:  # inputs that exist before a user's ingest starts
                prepare(list(range(n)))
            wait_until_idle()  # the engines of earlier systems run in this process
            took = clocked(driver.ingest, list(range(n)))
            driver.drop()
            for clock, value in took.items():
                seconds[name][clock].append(value)
            print(
                f"rep {rep} {name}: " + ", ".join(f"{k} {v:.2f} s" for k, v in took.items()),
                flush=True,
            )
    first = {k: statistics.median(seconds[names[0]][k]) for k in CLOCKS}
    print(f"\nN = {n:,}, {reps} interleaved repetitions; medians (x {names[0]})\n")
    print(
        "| system | wall s (each rep) | docs/s | x first | paired x first (range) | "
        "process CPU s | x first | client thread CPU s |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for name in names:
        med = {k: statistics.median(seconds[name][k]) for k in CLOCKS}
        each = ", ".join(f"{s:.1f}" for s in seconds[name]["wall"])
        paired = paired_ratios(seconds[names[0]]["wall"], seconds[name]["wall"])
        print(
            f"| {name} | {med['wall']:.2f} ({each}) | {n / med['wall']:,.0f} | "
            f"{first['wall'] / med['wall']:.2f}x | {statistics.median(paired):.2f}x "
            f"({min(paired):.2f}-{max(paired):.2f}) | {med['cpu']:.2f} | "
            f"{first['cpu'] / med['cpu']:.2f}x | {med['client']:.2f} |"
        )


def paired_ratios(first: list[float], other: list[float]) -> list[float]:
    """Speed of ``other`` relative to ``first``, repetition by repetition (``first[i] /
    other[i]``: above 1 is faster). Both ran in the same repetition, back to back, so a
    machine that slows down for a while moves both; the spread of these ratios is the
    measurement's own."""
    return [a / b for a, b in zip(first, other, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--top", type=int, default=0, help="list the costliest functions")
    parser.add_argument("--top-parts", default="ours,framework", help="of these parts")
    parser.add_argument("--time", type=int, default=0, help="time N reps instead (no profile)")
    args = parser.parse_args()
    data = synthetic(args.n, queries=1)
    rows = []
    if args.time:
        with tempfile.TemporaryDirectory() as tmp:
            time_systems(args.systems.split(","), data, args.n, args.time, Path(tmp))
        return
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.systems.split(","):
            parts = tuple(args.top_parts.split(","))
            row = profile_system(name, SYSTEMS[name], data, args.n, Path(tmp), args.top, parts)
            rows.append(row)
    print(f"\nN = {args.n:,}; seconds under cProfile (share of the profiled total)\n")
    print(
        "| system | total | milvus | ours | framework | harness | outside Milvus "
        "| our calls per row |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        total = row["total"]
        cells = [f"{row.get(p, 0.0):.1f} ({row.get(p, 0.0) / total:.0%})" for p in PARTS]
        outside = (row.get("ours", 0.0) + row.get("framework", 0.0)) / total
        print(
            f"| {row['system']} | {total:.1f} | {' | '.join(cells)} | {outside:.0%} "
            f"| {row['calls_per_row']:.0f} |"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
