"""Migration at scale: a langchain-milvus collection of 20,000 and 100,000 rows copied into
this package's layout with ``milvus-plugins migrate``; peak RSS, wall time, and a kill
mid-way followed by a re-run that must end with exactly the source's rows and a passing
verification.

Run with ``make bench-migrate`` (or ``python -m benchmarks.migrate_bench --engine lite``).
The source collections are made by the real langchain-milvus (``add_embeddings`` with
seeded random vectors), in a subprocess that ends before the migration starts (a Milvus
Lite file is opened by one process at a time). Each migration runs in its own process;
its peak RSS is that process's own ``VmHWM`` (``/proc/<pid>/status``), which the process
writes at exit and the harness also samples every 20 ms while it runs (the larger is
kept; a killed process only has the samples). Not ``ru_maxrss`` (``os.wait4``): on Linux
it starts from the parent's resident memory at fork and keeps it across exec, so it
reports at least the harness's size; it is recorded beside, with the harness's RSS at
spawn, and is the figure used only where there is no ``/proc``. On Milvus Lite the
engine runs inside the migrating process, so its memory counts there too; on the 2.3.5
server it does not, which isolates the migration's own memory.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.proc_status import status_kb

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "migrate.json"

_MAKE_SOURCE = r"""
import sys
import numpy as np
from langchain_core.embeddings import Embeddings
from langchain_milvus import Milvus

class Unused(Embeddings):
    def embed_documents(self, texts): raise RuntimeError("vectors are given")
    def embed_query(self, text): raise RuntimeError("vectors are given")

uri, name, rows, dim = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(7)
store = Milvus(Unused(), collection_name=name, connection_args={"uri": uri}, drop_old=True,
               index_params={"index_type": "FLAT", "metric_type": "L2", "params": {}},
               auto_id=False)
step = 5000
for start in range(0, rows, step):
    n = min(step, rows - start)
    vectors = rng.random((n, dim), dtype=np.float32).tolist()
    texts = [f"row {i} about topic {i % 97}" for i in range(start, start + n)]
    metas = [{"source": f"s{i % 10}", "n": i, "x": i / 3.0} for i in range(start, start + n)]
    store.add_embeddings(texts, vectors, metas, ids=[f"r{i}" for i in range(start, start + n)])
store.client.flush(name)
store.client.close()
print("ok")
"""


def _make_source(uri: str, name: str, rows: int, dim: int) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _MAKE_SOURCE, uri, name, str(rows), str(dim)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": ""},
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    return time.perf_counter() - started


_COUNT = r"""
import sys
from pymilvus import MilvusClient
client = MilvusClient(uri=sys.argv[1])
if not client.has_collection(sys.argv[2]):
    print(0)
else:
    client.load_collection(sys.argv[2])
    rows = client.query(sys.argv[2], filter="", output_fields=["count(*)"])
    print(rows[0]["count(*)"])
client.close()
"""


def _count(uri: str, name: str) -> int:
    """Rows in a collection, counted by a separate process (Lite: after the writer ended)."""
    done = subprocess.run(
        [sys.executable, "-c", _COUNT, uri, name], capture_output=True, text=True, check=True
    )
    return int(done.stdout.strip().splitlines()[-1])


_OPEN_ONLY = r"""
import sys
from milvus_plugins.core import CollectionSpec, ConnectionConfig, MilvusStore
connection = ConnectionConfig(uri=sys.argv[1])
with MilvusStore(CollectionSpec(name=sys.argv[2]), connection=connection) as s:
    rows = s.count()
    first = s.query(limit=1, include_vectors=True)[0]
    s.search(first.vector, k=10)
    print(rows)
"""


def open_only(uri: str, name: str) -> dict[str, Any]:
    """Peak RSS of a process that only opens a collection, counts and searches it.

    On Milvus Lite the engine lives in that process: this is what holding the
    collection costs, whatever the migration does.
    """
    return _run_measured([sys.executable, "-c", _OPEN_ONLY, uri, name])


def _migrate_command(uri: str, source: str, target: str, target_uri: str | None) -> list[str]:
    command = [sys.executable, "-m", "milvus_plugins.cli", "--uri", uri, "--timeout", "120"]
    command += ["migrate", source, target, "--no-progress", "--batch-rows", "1000"]
    if target_uri is not None:
        command += ["--target-uri", target_uri]
    return command


_LINUX = sys.platform.startswith("linux")

# Runs ``python -m MODULE ARGS`` or ``python -c CODE ARGS`` and writes the process's own
# VmHWM (KiB) to $MP_BENCH_PEAK_FILE at exit. Registered before anything is imported, so
# it runs after every other exit handler (Milvus Lite's shutdown included).
_REPORT_PEAK = r"""
import atexit, os, runpy, sys

def _report():
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            peak = next((line.split()[1] for line in status if line.startswith("VmHWM:")), "")
        with open(os.environ["MP_BENCH_PEAK_FILE"], "w", encoding="ascii") as out:
            out.write(peak)
    except (OSError, KeyError):
        pass

atexit.register(_report)
mode, target = sys.argv[1], sys.argv[2]
if mode == "-m":
    sys.argv = [target, *sys.argv[3:]]
    runpy.run_module(target, run_name="__main__", alter_sys=True)
else:
    sys.argv = ["-c", *sys.argv[3:]]
    exec(compile(target, "<string>", "exec"), {"__name__": "__main__"})
"""


def _reporting(command: list[str]) -> list[str]:
    """``command`` (``python -m``/``-c``) wrapped so that it reports its own VmHWM."""
    if _LINUX and command[0] == sys.executable and command[1] in ("-m", "-c"):
        return [sys.executable, "-c", _REPORT_PEAK, *command[1:]]
    return command


def _run_measured(command: list[str], kill_after: float | None = None) -> dict[str, Any]:
    """Run ``command``; answer its exit code, wall time, peak RSS and output.

    ``peak_rss_mb`` is the child's own VmHWM: the larger of what it reported at exit
    and the last value sampled while it ran. ``ru_maxrss_mb`` (``os.wait4``) and
    ``parent_rss_at_spawn_mb`` are kept to show how far the old measure was off.
    """
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryDirectory() as tmp,
    ):
        peak_file = Path(tmp) / "peak"
        env["MP_BENCH_PEAK_FILE"] = str(peak_file)
        parent_rss = status_kb("VmRSS:")
        started = time.perf_counter()
        proc = subprocess.Popen(_reporting(command), stdout=out, stderr=err, env=env)
        deadline = None if kill_after is None else started + kill_after
        sampled = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            sampled = max(sampled, status_kb("VmHWM:", proc.pid))
            if deadline is not None and time.perf_counter() >= deadline:
                os.kill(proc.pid, signal.SIGKILL)
                deadline = None
            time.sleep(0.02)
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        reported = peak_file.read_text(encoding="ascii").strip() if peak_file.exists() else ""
        out.seek(0)
        err.seek(0)
        text = out.read().decode(errors="replace")
        errors = err.read().decode(errors="replace")
    own = max(int(reported or 0), sampled)
    ru_maxrss = int(usage.ru_maxrss)  # KiB on Linux
    return {
        "exit": proc.returncode,
        "seconds": round(seconds, 1),
        "peak_rss_mb": round((own or ru_maxrss) / 1024, 1),
        "peak_rss_source": (
            "ru_maxrss" if not own else "VmHWM at exit" if reported else "VmHWM sampled"
        ),
        "sampled_peak_rss_mb": round(sampled / 1024, 1),
        "ru_maxrss_mb": round(ru_maxrss / 1024, 1),
        "parent_rss_at_spawn_mb": round(parent_rss / 1024, 1),
        "output": text.strip(),
        "stderr_tail": errors.strip().splitlines()[-3:],
    }


def _verification(output: str) -> dict[str, Any]:
    found = re.search(
        r"source_rows=(\d+) target_rows=(\d+) sampled=(\d+) mismatches=(\d+) "
        r"top(\d+)_agreement=([\d.]+) -> (\w+)",
        output,
    )
    if not found:
        return {}
    keys = ["source_rows", "target_rows", "sampled", "mismatches", "k", "topk_agreement"]
    values: dict[str, Any] = {k: float(v) for k, v in zip(keys, found.groups()[:6], strict=True)}
    values = {k: (int(v) if k != "topk_agreement" else v) for k, v in values.items()}
    values["ok"] = found.group(7) == "ok"
    return values


def run_engine(engine: str, sizes: list[int], dim: int, work: Path) -> dict[str, Any]:
    """Make the sources, migrate each, then kill-and-resume the largest."""
    server = None
    if engine == "server":
        sys.path.insert(0, str(ROOT))
        from tests.support.milvus_server import MilvusServer

        server = MilvusServer(work / "server")
        server.start()
        uri = server.uri
        target_uri: str | None = None
    else:
        uri = str(work / "source.db")
        target_uri = str(work / "target.db")  # one process per file at a time
    out: dict[str, Any] = {"engine": engine, "dim": dim, "runs": []}
    try:
        for rows in sizes:
            made = _make_source(uri, f"src_{rows}", rows, dim)
            baseline = open_only(uri, f"src_{rows}")["peak_rss_mb"]
            run = _run_measured(_migrate_command(uri, f"src_{rows}", f"dst_{rows}", target_uri))
            run.update(rows=rows, source_seconds=round(made, 1), check=_verification(run["output"]))
            run["open_source_only_rss_mb"] = baseline
            out["runs"].append(run)
            print(json.dumps({k: v for k, v in run.items() if k != "output"}), flush=True)
        largest = max(sizes)
        full = next(r for r in out["runs"] if r["rows"] == largest)["seconds"]
        command = _migrate_command(uri, f"src_{largest}", f"kill_{largest}", target_uri)
        killed = _run_measured(command, kill_after=max(3.0, full * 0.45))
        left = _count(target_uri or uri, f"kill_{largest}")
        resumed = _run_measured(command)
        resumed["check"] = _verification(resumed["output"])
        out["kill"] = {
            "rows": largest,
            "killed_after_s": round(max(3.0, full * 0.45), 1),
            "killed_exit": killed["exit"],
            "killed_sampled_peak_rss_mb": killed["peak_rss_mb"],
            "rows_after_kill": left,
            "rerun": {k: v for k, v in resumed.items() if k != "stderr_tail"},
        }
        print(json.dumps(out["kill"]), flush=True)
    finally:
        if server is not None:
            server.stop()
    return out


def table(results: list[dict[str, Any]]) -> str:
    """The results as a Markdown table."""
    lines = [
        "| engine | rows | migrate wall s | rows/s | peak RSS MB (own VmHWM) | RSS MB opening "
        "the source only | ru_maxrss MB (old measure) | harness RSS MB at spawn | verification |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        for run in result["runs"]:
            check = run["check"]
            verdict = (
                f"{check.get('target_rows')}/{check.get('source_rows')} rows, "
                f"{check.get('mismatches')} mismatches in {check.get('sampled')} sampled, "
                f"top-{check.get('k')} agreement {check.get('topk_agreement')}"
                f" -> {'ok' if check.get('ok') else 'FAILED'}"
            )
            rate = round(run["rows"] / run["seconds"]) if run["seconds"] else 0
            lines.append(
                f"| {result['engine']} | {run['rows']:,} | {run['seconds']} | {rate:,} | "
                f"{run['peak_rss_mb']} | {run.get('open_source_only_rss_mb', '-')} | "
                f"{run.get('ru_maxrss_mb', '-')} | {run.get('parent_rss_at_spawn_mb', '-')} | "
                f"{verdict} |"
            )
        kill = result.get("kill")
        if kill:
            rerun = kill["rerun"]
            check = rerun["check"]
            lines.append(
                f"| {result['engine']} | {kill['rows']:,}: SIGKILL at {kill['killed_after_s']} s "
                f"({kill['rows_after_kill']:,} rows copied), re-run | {rerun['seconds']} | - | "
                f"{rerun['peak_rss_mb']} | - | {rerun.get('ru_maxrss_mb', '-')} | "
                f"{rerun.get('parent_rss_at_spawn_mb', '-')} | "
                f"{check.get('target_rows')}/{check.get('source_rows')} rows, "
                f"{check.get('mismatches')} mismatches -> "
                f"{'ok' if check.get('ok') else 'FAILED'} |"
            )
    return "\n".join(lines)


def main() -> int:
    """Run the migration benchmark; write ``benchmarks/results/migrate.{json,md}``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("lite", "server", "both"), default="both")
    parser.add_argument("--rows", default="20000,100000")
    parser.add_argument("--dim", type=int, default=64)
    args = parser.parse_args()
    sizes = [int(n) for n in args.rows.split(",")]
    engines = ["lite", "server"] if args.engine == "both" else [args.engine]
    results = []
    with tempfile.TemporaryDirectory(prefix="mp-migrate-") as tmp:
        for engine in engines:
            work = Path(tmp) / engine
            work.mkdir()
            results.append(run_engine(engine, sizes, args.dim, work))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    RESULTS.with_suffix(".md").write_text(table(results) + "\n", encoding="utf-8")
    print(table(results))
    ok = all(r["check"].get("ok") for res in results for r in res["runs"])
    ok = ok and all(res["kill"]["rerun"]["check"].get("ok") for res in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
