"""Run the benchmarks: ``python -m benchmarks.run --quick`` or ``--full``.

``--quick`` (``make bench``, under 10 minutes on 2 cores including the official venvs):
speed at N = 5,000 (2 repetitions), the ingest-memory run at N = 5,000, SciFact quality
(5,183 documents; all 300 queries through the core, the first 100 through each adapter
and official integration), the index sweep on 50 queries. ``--full``
(``make bench-full``): speed at N = 20,000 (3 repetitions), the scale runs at
10k/50k/100k, the ingest-memory runs at 20k and 100k, quality with every mode for the
official integrations, and the index sweep on all 300 queries.

Results: ``benchmarks/results/latest.{json,md}`` (and ``<mode>.{json,md}``), PNG plots,
and the generated block of ``BENCHMARKS.md`` for the mode (``--no-doc`` to skip).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmarks.dataset import Dataset, load_scifact, subset, synthetic
from benchmarks.indexsweep import run_index_sweep
from benchmarks.memory import run_memory
from benchmarks.quality import run_quality
from benchmarks.report import machine_info, render_markdown, render_plots, update_doc
from benchmarks.speed import SpeedSettings, run_speed
from benchmarks.systems import System, all_systems
from benchmarks.venvs import OFFICIAL, OfficialVenv, ensure_venv

HERE = Path(__file__).resolve().parent
SCIFACT = HERE / "data" / "scifact"
DOC = HERE.parent / "BENCHMARKS.md"
# Each system with its defaults (the flush variants and inference are speed-only).
MEMORY_SYSTEMS = ("raw", "core", "ours_lc", "ours_li", "off_lc", "off_li")

__all__ = ["main", "parse_args"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="the make bench run (default)")
    mode.add_argument("--full", action="store_true", help="the make bench-full run")
    parser.add_argument("--n", type=int, help="documents in the speed run")
    parser.add_argument("--reps", type=int, help="repetitions of the speed run")
    parser.add_argument("--scale", type=str, help="comma-separated N for the scale runs, or none")
    parser.add_argument("--no-official", action="store_true", help="skip the official venvs")
    parser.add_argument(
        "--systems", default="", help="comma list of system keys to run (default: all)"
    )
    parser.add_argument("--skip", default="", help="comma list of: speed,memory,quality,index")
    parser.add_argument("--memory-n", type=str, help="comma-separated N for the ingest-memory runs")
    parser.add_argument("--scifact-docs", type=int, help="use a SciFact subset (smoke tests)")
    parser.add_argument("--scifact-queries", type=int, help="queries of the SciFact subset")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="results folder")
    parser.add_argument("--no-doc", action="store_true", help="do not update BENCHMARKS.md")
    parser.add_argument("--budget", type=float, help="seconds per system, kind and rep")
    parser.add_argument(
        "--render", type=Path, help="only re-render markdown, plots and doc from a results JSON"
    )
    return parser.parse_args(argv)


def _log(started: float) -> Any:
    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.0f}s] {message}", flush=True)

    return log


def _official(args: argparse.Namespace, log: Any) -> list[OfficialVenv]:
    if args.no_official:
        return []
    out = []
    for name in OFFICIAL:
        venv = ensure_venv(name)
        state = "reused" if venv.reused else f"built in {venv.seconds:.0f} s"
        log(f"venv {name}: {state}" if venv.python else f"venv {name} FAILED: {venv.error}")
        out.append(venv)
    return out


def _scifact(args: argparse.Namespace) -> Dataset:
    data = load_scifact(SCIFACT)
    if args.scifact_docs or args.scifact_queries:
        data = subset(
            data, docs=args.scifact_docs or len(data), queries=args.scifact_queries or 300
        )
    return data


def _checkpoint(results: dict[str, Any], out: Path) -> None:
    """Save what has been measured so far (a long full run can be interrupted)."""
    out.mkdir(parents=True, exist_ok=True)
    partial = {**results, "runtime_s": None, "partial": True}
    path = out / f"{results['mode']}.partial.json"
    path.write_text(json.dumps(partial, indent=1, default=str) + "\n", encoding="utf-8")


def _write(results: dict[str, Any], out: Path, *, no_doc: bool, log: Any) -> None:
    mode = results["mode"]
    out.mkdir(parents=True, exist_ok=True)
    plots = render_plots(results, out, mode)
    markdown = render_markdown(results, plots)
    for name in ("latest", mode):
        (out / f"{name}.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
        (out / f"{name}.md").write_text(markdown, encoding="utf-8")
    if not no_doc and out.resolve() == (HERE / "results").resolve():
        rel = (HERE / "results").relative_to(DOC.parent).as_posix()
        if update_doc(DOC, mode, markdown, rel):
            log(f"updated the {mode} block of {DOC.name}")


def _render_only(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = json.loads(args.render.read_text(encoding="utf-8"))
    _write(results, args.out, no_doc=args.no_doc, log=_log(time.perf_counter()))
    return results


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the selected benchmarks and write the results; return them."""
    args = parse_args(argv)
    if args.render is not None:
        return _render_only(args)
    full = bool(args.full)
    mode = "full" if full else "quick"
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    started = time.perf_counter()
    log = _log(started)
    out: Path = args.out
    work = out / "tmp"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"mode": mode, "machine": machine_info()}

    venvs = _official(args, log)
    results["venvs"] = [{**asdict(v), "python": str(v.python) if v.python else None} for v in venvs]
    results["venv_s"] = sum(v.seconds for v in venvs)
    pythons = {v.name: v.python for v in venvs}
    systems = all_systems(pythons)
    if args.systems:
        wanted = {key.strip() for key in args.systems.split(",") if key.strip()}
        systems = [s for s in systems if s.key in wanted or s.key == "raw"]

    if "speed" not in skip:
        n = args.n or (20_000 if full else 5_000)
        settings = SpeedSettings(
            n=n,
            reps=args.reps or (3 if full else 2),
            queries=200 if full else 100,
            budget=args.budget or (6.0 if full else 1.0),
            warmup=2 if full else 1,
        )
        log(f"speed: N={n:,}, {len(systems)} systems, {settings.reps} repetitions")
        data = synthetic(n, queries=settings.queries)
        data_dir = data.save(work / f"speed_{n}")
        results["speed"] = run_speed(systems, data, data_dir, work / "speed", settings, log=log)
        _checkpoint(results, out)
        if full:
            results["scale"] = []
            scale = args.scale or "10000,50000,100000"
            ns = [] if scale == "none" else [int(x) for x in scale.split(",")]
            for scale_n in ns:
                log(f"scale: N={scale_n:,}")
                scale_settings = SpeedSettings(
                    n=scale_n, reps=1, queries=50, budget=args.budget or 4.0
                )
                scale_data = synthetic(scale_n, queries=scale_settings.queries)
                scale_dir = scale_data.save(work / f"speed_{scale_n}")
                results["scale"].append(
                    run_speed(
                        systems,
                        scale_data,
                        scale_dir,
                        work / f"scale_{scale_n}",
                        scale_settings,
                        log=log,
                    )
                )
                shutil.rmtree(work / f"scale_{scale_n}", ignore_errors=True)
                _checkpoint(results, out)

    if "memory" not in skip:
        results["memory"] = []
        default_ns = "20000,100000" if full else "5000"
        for mem_n in [int(x) for x in (args.memory_n or default_ns).split(",")]:
            log(f"memory: adding N={mem_n:,} documents embedded on the fly")
            mem_data = synthetic(mem_n, queries=1)
            mem_dir = mem_data.save(work / f"memory_{mem_n}")
            del mem_data
            mem_systems = [s for s in systems if s.key in MEMORY_SYSTEMS]
            results["memory"].append(
                run_memory(mem_systems, Dataset.load(mem_dir), mem_dir, work / "memory", log=log)
            )
            shutil.rmtree(work / "memory", ignore_errors=True)
            _checkpoint(results, out)

    if "quality" not in skip or "index" not in skip:
        scifact = _scifact(args)
    if "quality" not in skip:
        log(f"quality: SciFact {len(scifact):,} docs, {len(scifact.query_texts)} queries")
        quality_systems: list[System] = [
            s for s in systems if (s.ours and s.key != "core") or s.key.endswith("_flush")
        ]
        results["quality"] = run_quality(
            quality_systems,
            scifact,
            scifact.save(work / "scifact"),
            work / "quality",
            official_modes=(
                ["dense", "bm25", "hybrid_rrf60", "hybrid_w50"]
                if full
                else ["dense", "hybrid_rrf60"]
            ),
            queries=None if full else 100,
            fusion_queries=len(scifact.query_texts) if full else 50,
            log=log,
        )
        _checkpoint(results, out)
    if "index" not in skip:
        log("index sweep")
        results["index"] = run_index_sweep(
            scifact,
            work / "index",
            queries=min(len(scifact.query_texts), 300 if full else 50),
            log=log,
        )

    results["runtime_s"] = time.perf_counter() - started
    _write(results, out, no_doc=args.no_doc, log=log)
    (out / f"{mode}.partial.json").unlink(missing_ok=True)
    shutil.rmtree(work, ignore_errors=True)
    log(f"done in {results['runtime_s'] / 60:.1f} min; results in {out}")
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
