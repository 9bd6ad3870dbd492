"""Where a search's time goes: inside Milvus Lite's engine, or around it.

Milvus Lite 3 serves from threads of the calling process, so the time its engine spends
on one request can be read directly: this module wraps the engine's
``Collection.search`` (every dense or sparse leg, including each leg of a
``hybrid_search``) with a timer, then runs the speed workload's dense or hybrid queries
through raw pymilvus and our entry points in one process, interleaved in a new seeded
order for each query, as :mod:`benchmarks.hybrid_overhead` does. For each system it
reports the p50 of the whole call, of the engine's part and of the rest: the request
and answer on both sides of gRPC (pymilvus, the servicer) plus our own code. A system's
engine part differs from raw pymilvus' only by what its request asks for (output
fields, ``ef``, leg sizes); the rest is where client-side costs show.

Run with ``python -m benchmarks.engine_split --n 20000 --kinds dense,hybrid``.
"""

from __future__ import annotations

import argparse
import importlib
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.dataset import synthetic, workload_config
from benchmarks.hybrid_overhead import KINDS, SYSTEMS
from benchmarks.proc_status import wait_until_idle

__all__ = ["EngineClock", "split"]


class EngineClock:
    """Seconds spent in the engine's ``Collection.search`` since the last :meth:`take`.

    Installed on the class (every database of the process); one query runs at a time
    here, so one running total is enough. A lock keeps the total whole if two legs of a
    request ever run at once.
    """

    def __init__(self) -> None:
        self._total = 0.0
        self._lock = threading.Lock()
        self._original: Callable[..., Any] | None = None

    def install(self) -> None:
        from milvus_lite.engine.collection import Collection

        original = Collection.search
        clock = self

        def timed(collection: Any, *args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(collection, *args, **kwargs)
            finally:
                spent = time.perf_counter() - start
                with clock._lock:
                    clock._total += spent

        self._original = original
        Collection.search = timed

    def uninstall(self) -> None:
        from milvus_lite.engine.collection import Collection

        if self._original is not None:
            Collection.search = self._original
            self._original = None

    def take(self) -> float:
        with self._lock:
            total, self._total = self._total, 0.0
        return total


def split(
    n: int, queries: int, kinds: list[str], systems: list[str], tmp: Path
) -> dict[str, dict[str, dict[str, list[float]]]]:
    """Per kind and system: the ``total``, ``engine`` and ``outside`` milliseconds of
    every query (``outside = total - engine``)."""
    data = synthetic(n, queries=queries)
    drivers: dict[str, Any] = {}
    for index, name in enumerate(systems):
        module, extra = SYSTEMS[name]
        config = workload_config(tmp / f"system{index}.db", "split", data.dim, infer=True, **extra)
        drivers[name] = importlib.import_module(module).Driver(config, data)
        drivers[name].ingest(list(range(n)))
        wait_until_idle()
    clock = EngineClock()
    clock.install()
    try:
        out: dict[str, dict[str, dict[str, list[float]]]] = {}
        for kind in kinds:
            method, kwargs = KINDS[kind]
            for driver in drivers.values():  # first-call costs
                for q in range(min(5, queries)):
                    getattr(driver, method)(q, 10, **kwargs)
            times = {name: {"total": [], "engine": [], "outside": []} for name in drivers}
            order = random.Random(0)
            for q in range(queries):
                names = list(drivers)
                order.shuffle(names)
                for name in names:
                    clock.take()
                    start = time.perf_counter()
                    getattr(drivers[name], method)(q, 10, **kwargs)
                    total = 1000 * (time.perf_counter() - start)
                    engine = 1000 * clock.take()
                    times[name]["total"].append(total)
                    times[name]["engine"].append(engine)
                    times[name]["outside"].append(total - engine)
            out[kind] = times
    finally:
        clock.uninstall()
        for driver in drivers.values():
            driver.drop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--kinds", default="dense,hybrid", help=f"comma list of {list(KINDS)}")
    parser.add_argument(
        "--system",
        action="append",
        default=[],
        help=f"one of {list(SYSTEMS)[1:]}, repeatable (default: all; raw pymilvus always)",
    )
    args = parser.parse_args()
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    wanted = args.system or list(SYSTEMS)[2:]
    unknown = [s for s in wanted if s not in SYSTEMS] + [k for k in kinds if k not in KINDS]
    if unknown:
        parser.error(f"unknown systems or kinds {unknown}")
    systems = ["raw pymilvus", *[s for s in wanted if s != "raw pymilvus"]]
    with tempfile.TemporaryDirectory() as tmp:
        result = split(args.n, args.queries, kinds, systems, Path(tmp))
    for kind, times in result.items():
        raw = {part: statistics.median(v) for part, v in times["raw pymilvus"].items()}
        print(f"\nN = {args.n:,}, {args.queries} interleaved queries, {kind} (p50, ms)\n")
        print("| system | call | engine | outside the engine | call x raw | outside - raw's |")
        print("|---|---:|---:|---:|---:|---:|")
        for name, parts in times.items():
            p50 = {part: statistics.median(v) for part, v in parts.items()}
            print(
                f"| {name} | {p50['total']:.1f} | {p50['engine']:.1f} | {p50['outside']:.2f} "
                f"| {p50['total'] / raw['total']:.2f}x | {p50['outside'] - raw['outside']:+.2f} |"
            )


if __name__ == "__main__":
    main()
