"""Results -> markdown tables and PNG plots (matplotlib, Agg backend)."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import datetime, timezone
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

__all__ = ["machine_info", "render_markdown", "render_plots", "update_doc"]

OUR_PACKAGES = ("milvus-plugins", "pymilvus", "milvus-lite", "langchain-core", "llama-index-core")


def _cpu_model() -> str:
    try:
        for line in (
            Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace").splitlines()
        ):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return float("nan")


def _git_commit() -> str:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent,
        )
        return result.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine_info() -> dict[str, Any]:
    """Machine, interpreter, package versions and date of this run."""
    versions = {}
    for name in OUR_PACKAGES:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            versions[name] = "missing"
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "ram_gib": round(_ram_gib(), 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "commit": _git_commit(),
        "versions": versions,
    }


def _f(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def _ratio(value: float | None) -> str:
    return "" if value is None else f" ({value:.2f}×)"


def _recall_note(speed: dict[str, Any]) -> str:
    counts = {
        row["search"]["recall_queries"]
        for row in speed["systems"].values()
        if isinstance(row.get("search"), dict) and "recall_queries" in row["search"]
    }
    if not counts:
        return ""
    shown = "/".join(str(c) for c in sorted(counts))
    return f" recall@10: over {shown} queries per system (those past the time budget untimed)."


def _speed_table(speed: dict[str, Any]) -> list[str]:
    lines = [
        f"N = {speed['n']:,} documents, 384-d, top-10; medians of {speed['settings']['reps']} "
        "repetitions; (×) = ratio to raw pymilvus in the same run (ingest: throughput ratio, "
        "higher is better; latency: p50 ratio, lower is better). Ingest until idle: until the "
        "worker's Milvus Lite finished its background work (sealing, index builds) after the "
        "write returned." + _recall_note(speed),
        "",
        "| system | ingest docs/s | ingest until idle docs/s "
        "| search p50 / p95 ms | recall@10 | filter declared p50 ms "
        "| filter undeclared p50 ms | hybrid p50 ms | peak RSS MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, row in speed["systems"].items():
        ratios = speed["ratios"].get(key, {})
        if "ingest_docs_s" not in row:
            lines.append(f"| {row['label']} | failed: {row['errors'].get('open', '?')} ||||||||")
            continue

        def cell(name: str, row: dict[str, Any] = row, ratios: dict[str, float] = ratios) -> str:
            if name not in row:
                return "failed" if name in row["errors"] else "–"
            return f"{row[name]['p50_ms']:.1f}{_ratio(ratios.get(name))}"

        search = row.get("search", {})
        recall = search.get("recall_at_10")
        idle = row.get("ingest_idle_docs_s")
        idle_cell = f"{idle:,.0f}{_ratio(ratios.get('ingest_idle'))}" if idle else "–"
        lines.append(
            f"| {row['label']} | {row['ingest_docs_s']:,.0f}{_ratio(ratios.get('ingest'))} "
            f"| {idle_cell} "
            f"| {_f(search.get('p50_ms'))} / {_f(search.get('p95_ms'))}"
            f"{_ratio(ratios.get('search'))} | {_f(recall, 3)} | {cell('filter_declared')} "
            f"| {cell('filter_undeclared')} | {cell('hybrid')} "
            f"| {row['rss'].get('client_peak_kb', 0) / 1024:,.0f} |"
        )
    errors = [
        f"- {row['label']}: {kind}: {msg}"
        for row in speed["systems"].values()
        for kind, msg in row["errors"].items()
    ]
    if errors:
        lines += ["", "Failures:", "", *errors]
    return lines


def _targets(speed: dict[str, Any]) -> list[str]:
    rows, ratios = speed["systems"], speed["ratios"]
    official = [k for k in rows if k.startswith("off_") and "ingest_docs_s" in rows[k]]
    lines = []
    for key in ("core", "ours_lc", "ours_li"):
        if key not in rows or "ingest_docs_s" not in rows[key]:
            continue
        r = ratios.get(key, {})
        checks = [
            ("ingest ≥ 0.95× raw", r.get("ingest", 0) >= 0.95, f"{r.get('ingest', 0):.2f}×"),
            ("search p50 ≤ 1.05× raw", r.get("search", 9) <= 1.05, f"{r.get('search', 0):.2f}×"),
            ("hybrid p50 ≤ 1.05× raw", r.get("hybrid", 9) <= 1.05, f"{r.get('hybrid', 0):.2f}×"),
        ]
        for off in official:
            for metric in ("filter_declared", "filter_undeclared"):
                if metric in rows[key] and metric in rows[off]:
                    ours, theirs = rows[key][metric]["p50_ms"], rows[off][metric]["p50_ms"]
                    checks.append(
                        (
                            f"{metric} faster than {rows[off]['label']}",
                            ours < theirs,
                            f"{ours:.1f} vs {theirs:.1f} ms",
                        )
                    )
            ours_i, theirs_i = rows[key]["ingest_docs_s"], rows[off]["ingest_docs_s"]
            checks.append(
                (
                    f"ingest faster than {rows[off]['label']}",
                    ours_i > theirs_i,
                    f"{ours_i:,.0f} vs {theirs_i:,.0f} docs/s",
                )
            )
        text = "; ".join(f"{name}: {'met' if ok else '**missed**'} ({v})" for name, ok, v in checks)
        lines.append(f"- {rows[key]['label']}: {text}")
    return lines


def _memory_table(memory: list[dict[str, Any]]) -> list[str]:
    lines = [
        "Adding N documents embedded on the fly (fresh process per system and N); peak "
        "RSS of the process (Milvus Lite runs inside it), the excess over its RSS before "
        "adding, and the time; (×) = ratio to raw pymilvus inserting the same data in "
        "batches of 1,000.",
        "",
        "| N | system | peak RSS MB | excess MB | add time s |",
        "|---:|---|---:|---:|---:|",
    ]
    for run in memory:
        for row in run["systems"].values():
            if "peak_kb" not in row:
                lines.append(f"| {run['n']:,} | {row['label']} | failed: {row.get('error')} |||")
                continue
            lines.append(
                f"| {run['n']:,} | {row['label']} "
                f"| {row['peak_kb'] / 1024:,.0f}{_ratio(row.get('peak_ratio'))} "
                f"| {row['excess_kb'] / 1024:,.0f}{_ratio(row.get('excess_ratio'))} "
                f"| {row['seconds']:,.1f}{_ratio(row.get('time_ratio'))} |"
            )
    checks = []
    for run in memory:
        for row in run["systems"].values():
            if row.get("ours") and "peak_ratio" in row:
                ok = row["peak_ratio"] <= 1.1
                checks.append(
                    f"- N = {run['n']:,}, {row['label']}: peak RSS ≤ 1.1× raw: "
                    f"{'met' if ok else '**missed**'} ({row['peak_ratio']:.2f}×)"
                )
    return lines + (["", "Targets:", "", *checks] if checks else [])


def _fusion(speed: dict[str, Any] | None, quality: dict[str, Any] | None) -> list[str]:
    lines = []
    docs = (quality or {}).get("docs", 0)
    core = (speed or {}).get("systems", {}).get("core", {})
    if speed is not None and "hybrid_server" in core and "hybrid_client" in core:
        ident = speed["fusion"]
        lines.append(
            f"- Speed workload (N = {speed['n']:,}, RRF(60), k = 10, fetch_k = 40): server "
            f"`hybrid_search` p50 {core['hybrid_server']['p50_ms']:.1f} ms / p95 "
            f"{core['hybrid_server']['p95_ms']:.1f} ms; client fusion p50 "
            f"{core['hybrid_client']['p50_ms']:.1f} ms / p95 {core['hybrid_client']['p95_ms']:.1f}"
            f" ms; identical id order on {ident.get('identical_order', 0)}/"
            f"{ident.get('queries', 0)} queries, identical id sets on "
            f"{ident.get('identical_set', 0)}/{ident.get('queries', 0)}."
        )
    for check in (quality or {}).get("sweep", {}).get("fusion_check", []):
        lines.append(
            f"- SciFact ({docs:,} docs, {check['ranker']}, k = 10): server p50 "
            f"{check['server_p50_ms']:.1f} ms / p95 {check['server_p95_ms']:.1f} ms; client "
            f"p50 {check['client_p50_ms']:.1f} ms / p95 {check['client_p95_ms']:.1f} ms; "
            f"identical ids and order on {check['identical_order']}/{check['queries']} queries, "
            f"identical up to the order of equal-score ties on "
            f"{check['identical_up_to_ties']}/{check['queries']}; largest score difference "
            f"{check['max_score_difference']:.1e}."
        )
    return lines


def _sweep_row(label: str, cells: dict[str, dict[str, float]]) -> str:
    """One sweep table row: nDCG@10 / recall@100 per setting."""
    values = " | ".join(f"{v['ndcg@10']:.4f} / {v['recall@100']:.3f}" for v in cells.values())
    return f"| {label} | {values} |"


def _quality_tables(quality: dict[str, Any]) -> list[str]:
    modes = ("dense", "bm25", "hybrid_rrf60", "hybrid_w50")
    head = "| system | " + " | ".join(modes) + " |"
    total, subset = quality["queries"], quality.get("system_queries", quality["queries"])
    scope = (
        f"every row uses all {total} test queries"
        if subset == total
        else f"rows marked ({total}) use all {total} test queries, rows marked ({subset}) "
        f"the first {subset}"
    )
    lines = [
        f"nDCG@10 / recall@10 / recall@100; {quality['docs']:,} documents; {scope}.",
        "",
        head,
        "|---|" + "---:|" * len(modes),
    ]

    def cells(row: dict[str, Any]) -> str:
        out = []
        for m in modes:
            if m in row:
                v = row[m]
                out.append(f"{v['ndcg@10']:.4f} / {v['recall@10']:.4f} / {v['recall@100']:.4f}")
            else:
                out.append("failed" if m in row.get("errors", {}) else "–")
        return " | ".join(out)

    lines.append(f"| dataset README, brute force ({total}) | {cells(quality['readme'])} |")
    lines.append(f"| exact reference, this run ({total}) | {cells(quality['reference'])} |")
    core = quality.get("sweep", {}).get("core")
    if core:
        lines.append(f"| {core['label']} ({total}) | {cells(core)} |")
    if "reference_subset" in quality:
        lines.append(
            f"| exact reference, this run ({subset}) | {cells(quality['reference_subset'])} |"
        )
    for row in quality["systems"].values():
        lines.append(f"| {row['label']} ({subset}) | {cells(row)} |")
    ref = quality["reference"].get("hybrid_w50_minmax")
    pos = quality["reference"].get("hybrid_rrf60_position_ties")
    if ref and pos:
        lines += [
            "",
            "Exact references use Milvus' conventions (RRF ties ordered by id; weighted "
            "scores normalised with Milvus' fixed functions). With the README's conventions "
            f"instead (this run, {total} queries): RRF(60) with ties in list order nDCG@10 "
            f"{pos['ndcg@10']:.4f}; weighted 0.5/0.5 with per-query min-max normalisation "
            f"nDCG@10 {ref['ndcg@10']:.4f} / R@100 {ref['recall@100']:.4f}.",
        ]
    errors = [
        f"- {row['label']}: {kind}: {msg}"
        for row in quality["systems"].values()
        for kind, msg in row.get("errors", {}).items()
    ]
    if errors:
        lines += ["", "Failures:", "", *errors]
    sweep = quality.get("sweep", {})
    if sweep:
        lines += [
            "",
            "Fusion sweep (core client-side fusion of dense and BM25 top-100; nDCG@10 / "
            "recall@100):",
            "",
            "| RRF k | " + " | ".join(sweep["rrf"]) + " |",
            "|---|" + "---:|" * len(sweep["rrf"]),
            _sweep_row("nDCG@10 / R@100", sweep["rrf"]),
            "",
            "| dense weight (sparse = 1 − w) | " + " | ".join(sweep["weighted"]) + " |",
            "|---|" + "---:|" * len(sweep["weighted"]),
            _sweep_row("Milvus' normalisation", sweep["weighted"]),
        ]
        if sweep.get("weighted_minmax"):
            lines.append(_sweep_row('`normalize="minmax"`', sweep["weighted_minmax"]))
    return lines


def _index_tables(index: dict[str, Any]) -> list[str]:
    lines = [
        f"SciFact vectors (N = {index['n']:,}), {index['queries']} queries, recall@10 against "
        f"exact brute force; autotune target {index['target']}.",
        "",
        "| index | build params | autotune choice | recall@10 | p50 ms "
        "| curve (value: recall, ms) |",
        "|---|---|---|---:|---:|---|",
    ]
    for name in ("FLAT", "IVF_FLAT", "IVF_SQ8", "HNSW"):
        row = index.get(name)
        if row is None:
            continue
        if "error" in row:
            lines.append(f"| {name} | – | failed: {row['error']} ||||")
            continue
        a = row["autotune"]
        choice = f"{a['knob']}={a['value']}" if a["knob"] else "exact (no knob)"
        if not a["reached"]:
            choice += " (target not reached)"
        curve = ", ".join(
            f"{p['value']}: {p['recall']:.3f}, {p['latency_ms']:.1f}"
            if p["value"] is not None
            else f"{p['recall']:.3f}, {p['latency_ms']:.1f}"
            for p in row["curve"]
        )
        params = ", ".join(f"{k}={v}" for k, v in row["params"].items()) or "–"
        lines.append(
            f"| {name} | {params} | {choice} | {a['recall']:.3f} | {a['latency_ms']:.1f} "
            f"| {curve} |"
        )
    return lines


def _scale_table(scale: list[dict[str, Any]]) -> list[str]:
    keys = list(scale[0]["systems"])
    labels = [scale[0]["systems"][k]["label"] for k in keys]
    lines = [
        "Ingest docs/s and search p50 ms (unfiltered, top-10) per N.",
        "",
        "| N | " + " | ".join(labels) + " |",
        "|---:|" + "---|" * len(keys),
    ]
    for run in scale:
        cells = []
        for k in keys:
            row = run["systems"].get(k, {})
            if "ingest_docs_s" in row and "search" in row:
                cells.append(f"{row['ingest_docs_s']:,.0f} / {row['search']['p50_ms']:.1f}")
            else:
                cells.append("failed")
        lines.append(f"| {run['n']:,} | " + " | ".join(cells) + " |")
    return lines


def render_markdown(results: dict[str, Any], plots: dict[str, str]) -> str:
    """The results as markdown (sections present only for the parts that ran)."""
    m = results["machine"]
    lines = [
        f"## Results: `{results['mode']}` run of {m['date']}",
        "",
        f"Machine: {m['cpus']} CPUs ({m['cpu_model']}), {m['ram_gib']} GiB RAM, Python "
        f"{m['python']}, {m['platform']}; commit {m['commit']}. Runtime "
        f"{results['runtime_s'] / 60:.1f} min (venv creation {results['venv_s']:.0f} s).",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()) + ".",
    ]
    for venv in results.get("venvs", []):
        if venv.get("error"):
            lines.append(f"- official `{venv['name']}` venv could not be built: {venv['error']}")
    official_versions = {
        row["label"]: row.get("versions", {})
        for key, row in results.get("speed", {}).get("systems", {}).items()
        if key.startswith("off_") and not key.endswith("flush")
    }
    for label, v in official_versions.items():
        if v:
            lines.append(f"- {label} venv: " + ", ".join(f"{a} {b}" for a, b in v.items()))
    if "speed" in results:
        lines += ["", "### Speed", "", *_speed_table(results["speed"])]
        if "speed" in plots:
            lines += ["", f"![speed]({plots['speed']})"]
        lines += ["", "Targets:", "", *_targets(results["speed"])]
    if results.get("memory"):
        lines += ["", "### Ingest memory", "", *_memory_table(results["memory"])]
    fusion = _fusion(results.get("speed"), results.get("quality"))
    if fusion:
        lines += ["", "### Hybrid: server `hybrid_search` vs client-side fusion (Milvus Lite)", ""]
        lines += fusion
    if results.get("scale"):
        lines += ["", "### Scale", "", *_scale_table(results["scale"])]
        if "scale" in plots:
            lines += ["", f"![scale]({plots['scale']})"]
    if "quality" in results:
        lines += ["", "### Quality (SciFact)", "", *_quality_tables(results["quality"])]
        if "quality" in plots:
            lines += ["", f"![quality]({plots['quality']})"]
    if "index" in results:
        lines += ["", "### Index recall / latency", "", *_index_tables(results["index"])]
        if "index" in plots:
            lines += ["", f"![index]({plots['index']})"]
    return "\n".join(lines) + "\n"


def render_plots(results: dict[str, Any], out_dir: Path, prefix: str) -> dict[str, str]:
    """Write the PNG plots; return ``{name: file name}`` (relative to ``out_dir``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written: dict[str, str] = {}
    speed = results.get("speed")
    if speed:
        rows = {k: r for k, r in speed["systems"].items() if "ingest_docs_s" in r}
        kinds = ["search", "filter_declared", "filter_undeclared", "hybrid"]
        fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8))
        labels = [r["label"] for r in rows.values()]
        left.barh(labels, [r["ingest_docs_s"] for r in rows.values()], color="tab:blue")
        left.invert_yaxis()
        left.set_xlabel("ingest docs/s (higher is better)")
        width = 0.8 / len(rows)
        for i, row in enumerate(rows.values()):
            values = [row[k]["p50_ms"] if k in row else 0 for k in kinds]
            right.bar([x + i * width for x in range(len(kinds))], values, width, label=row["label"])
        names = [k.replace("_", "\n") for k in kinds]
        right.set_xticks([x + 0.4 - width / 2 for x in range(len(kinds))], names)
        right.set_yscale("log")
        right.set_ylabel("p50 latency ms (log, lower is better)")
        right.legend(fontsize=7)
        fig.suptitle(f"Speed on Milvus Lite, N = {speed['n']:,}")
        fig.tight_layout()
        name = f"{prefix}_speed.png"
        fig.savefig(out_dir / name, dpi=110)
        plt.close(fig)
        written["speed"] = name
    scale = results.get("scale")
    if scale:
        fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
        for key, row in scale[0]["systems"].items():
            ns = [r["n"] for r in scale if "ingest_docs_s" in r["systems"].get(key, {})]
            ing = [r["systems"][key]["ingest_docs_s"] for r in scale if r["n"] in ns]
            lat = [
                r["systems"][key].get("search", {}).get("p50_ms", float("nan"))
                for r in scale
                if r["n"] in ns
            ]
            left.plot(
                ns, [n / v for n, v in zip(ns, ing, strict=True)], marker="o", label=row["label"]
            )
            right.plot(ns, lat, marker="o", label=row["label"])
        left.set_xlabel("N")
        left.set_ylabel("ingest seconds")
        right.set_xlabel("N")
        right.set_ylabel("search p50 ms")
        right.set_yscale("log")
        left.legend(fontsize=7)
        fig.tight_layout()
        name = f"{prefix}_scale.png"
        fig.savefig(out_dir / name, dpi=110)
        plt.close(fig)
        written["scale"] = name
    quality = results.get("quality")
    if quality:
        modes = ["dense", "bm25", "hybrid_rrf60", "hybrid_w50"]
        total, subset = quality["queries"], quality.get("system_queries", quality["queries"])
        panels = [
            (
                f"all {total} queries",
                {
                    "dataset README": quality["readme"],
                    "exact reference": quality["reference"],
                    **(
                        {"core": quality["sweep"]["core"]}
                        if "core" in quality.get("sweep", {})
                        else {}
                    ),
                },
            ),
            (
                f"first {subset} queries",
                {
                    "exact reference": quality.get("reference_subset", quality["reference"]),
                    **{r["label"]: r for r in quality["systems"].values()},
                },
            ),
        ]
        fig, axes = plt.subplots(1, 2, figsize=(14, 4.8), sharey=True)
        for ax, (title, series) in zip(axes, panels, strict=True):
            width = 0.8 / len(series)
            for i, (label, row) in enumerate(series.items()):
                values = [row[m]["ndcg@10"] if m in row else 0 for m in modes]
                ax.bar([x + i * width for x in range(len(modes))], values, width, label=label)
            ax.set_xticks([x + 0.4 - width / 2 for x in range(len(modes))], modes)
            ax.set_ylim(0.55, 0.85)
            ax.set_title(f"SciFact, {title}")
            ax.legend(fontsize=7)
        axes[0].set_ylabel("nDCG@10 (0 = not supported)")
        fig.tight_layout()
        name = f"{prefix}_quality.png"
        fig.savefig(out_dir / name, dpi=110)
        plt.close(fig)
        written["quality"] = name
    index = results.get("index")
    if index:
        fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
        for idx in ("IVF_FLAT", "IVF_SQ8", "HNSW"):
            row = index.get(idx)
            if not row or "error" in row:
                continue
            xs = [p["value"] for p in row["curve"]]
            label = f"{idx} ({row['knob']})"
            left.plot(xs, [p["recall"] for p in row["curve"]], marker="o", label=label)
            right.plot(xs, [p["latency_ms"] for p in row["curve"]], marker="o", label=label)
        flat = index.get("FLAT")
        if flat and "error" not in flat:
            right.axhline(flat["curve"][0]["latency_ms"], color="black", linestyle="--")
            right.text(1, flat["curve"][0]["latency_ms"], " FLAT (exact)", va="bottom")
        left.axhline(index["target"], color="grey", linestyle=":", label="autotune target")
        for ax in (left, right):
            ax.set_xscale("log", base=2)
            ax.set_xlabel("nprobe / ef")
        left.set_ylabel("recall@10 vs exact")
        right.set_ylabel("search p50 ms")
        left.legend()
        fig.suptitle(f"Index sweep on SciFact vectors (N = {index['n']:,}), Milvus Lite")
        fig.tight_layout()
        name = f"{prefix}_index.png"
        fig.savefig(out_dir / name, dpi=110)
        plt.close(fig)
        written["index"] = name
    return written


def update_doc(doc: Path, mode: str, markdown: str, image_dir: str) -> bool:
    """Replace the generated block of ``mode`` in BENCHMARKS.md; return whether it did.

    Image links in ``markdown`` are relative to the results folder; in the doc they are
    prefixed with ``image_dir``.
    """
    begin, end = f"<!-- BEGIN GENERATED: {mode} -->", f"<!-- END GENERATED: {mode} -->"
    if not doc.exists():
        return False
    text = doc.read_text(encoding="utf-8")
    if begin not in text or end not in text:
        return False
    body = markdown.replace("](", f"]({image_dir}/").replace("## Results", "### Results", 1)
    body = body.replace("\n### ", "\n#### ")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    doc.write_text(f"{head}{begin}\n{body}{end}{tail}", encoding="utf-8")
    return True
