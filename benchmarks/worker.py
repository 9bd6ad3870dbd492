"""A driver process: reads JSON requests on stdin, answers JSON lines on a private pipe.

Run as ``python benchmarks/worker.py DATA_DIR`` with whichever interpreter has the
driver's library (the official integrations live in their own venvs). Only the standard
library and numpy are imported here. Library output printed to stdout is sent to
stderr, so it cannot corrupt the protocol.

Requests: ``{"op": "open", "driver": MODULE, "config": {...}}``, ``{"op": "ingest",
"positions": [...]}``, ``{"op": "run", "kind": "dense", "queries": [...], "k": 10,
"args": {...}}``, ``{"op": "drop"}``, ``{"op": "rss"}``, ``{"op": "quit"}``. Answers:
``{"ok": true, "result": ...}`` or ``{"ok": false, "error": "..."}``.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import sys
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.dataset import Dataset  # noqa: E402
from benchmarks.proc_status import status_kb  # noqa: E402

# Keepalive settings for the in-process Milvus Lite gRPC server of every worker (see
# _allow_client_keepalive): a server that tolerates pings from idle clients.
_SERVER_KEEPALIVE = [
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_recv_ping_interval_without_data_ms", 5000),
    ("grpc.http2.max_ping_strikes", 0),
]


def _allow_client_keepalive() -> None:
    """Let the in-process Milvus Lite server accept pymilvus' idle keepalive pings.

    pymilvus pings every 10 s even without calls; Milvus Lite 3.2.2 builds its gRPC
    server with gRPC's defaults, which answer such pings from an idle client with GOAWAY
    "too_many_pings" after a minute or so, and the client's next call then fails to
    reconnect ("Fail connecting to server"). A worker idles for minutes while the other
    systems are measured, so every worker, whatever the system, gets a server that allows
    the pings. (An application whose client idles hits the same failure.)
    """
    try:
        import grpc
    except ImportError:
        return
    original = grpc.server
    if getattr(original, "_bench_patched", False):
        return

    def server(*args: Any, **kwargs: Any) -> Any:
        options = list(kwargs.pop("options", None) or [])
        kwargs["options"] = options + _SERVER_KEEPALIVE
        return original(*args, **kwargs)

    server._bench_patched = True  # type: ignore[attr-defined]
    grpc.server = server


def _current_rss_kb() -> int:
    return status_kb("VmRSS:")


def _peak_rss_kb() -> int:
    """This process's own peak resident memory.

    Not ``ru_maxrss``: on Linux it starts from the parent's resident memory at fork
    (kept across exec), so every worker of a large parent reported the parent's size.
    ``VmHWM`` belongs to the process's own address space. Elsewhere: ``ru_maxrss``.
    """
    peak = status_kb("VmHWM:") if sys.platform.startswith("linux") else 0
    return peak or int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


class Worker:
    """Holds the dataset and one driver; executes requests."""

    def __init__(self, data_dir: Path) -> None:
        self.data = Dataset.load(data_dir)
        self.driver: Any = None

    def handle(self, request: dict[str, Any]) -> Any:
        op = request["op"]
        if op == "open":
            module = importlib.import_module(f"benchmarks.drivers.{request['driver']}")
            started = time.perf_counter()
            self.driver = module.Driver(request["config"], self.data)
            return {"seconds": time.perf_counter() - started, "versions": module.versions()}
        if op == "ingest":
            started = time.perf_counter()
            self.driver.ingest(request["positions"])
            return {"seconds": time.perf_counter() - started}
        if op == "run":
            method = getattr(self.driver, request["kind"])
            args = request.get("args") or {}
            latencies, results = [], []
            for q in request["queries"]:
                started = time.perf_counter()
                ids = method(q, request["k"], **args)
                latencies.append((time.perf_counter() - started) * 1000.0)
                results.append([str(i) for i in ids])
            return {"latency_ms": latencies, "ids": results}
        if op == "drop":
            if self.driver is not None:
                self.driver.drop()
                self.driver = None
            return {}
        if op == "rss":
            return {"peak_kb": _peak_rss_kb(), "current_kb": _current_rss_kb()}
        raise ValueError(f"unknown op {op!r}")


def main() -> None:
    protocol = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    _allow_client_keepalive()
    worker = Worker(Path(sys.argv[1]))
    protocol.write(json.dumps({"ok": True, "result": "ready"}) + "\n")
    for line in sys.stdin:
        request = json.loads(line)
        if request["op"] == "quit":
            break
        try:
            answer = {"ok": True, "result": worker.handle(request)}
        except Exception as exc:  # the parent records the failure and goes on
            detail = traceback.format_exc(limit=6)
            answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}", "trace": detail}
        protocol.write(json.dumps(answer) + "\n")
    protocol.close()


if __name__ == "__main__":
    main()
