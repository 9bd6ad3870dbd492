"""Venvs for the official integrations (they pin different pymilvus majors).

Created under ``benchmarks/.venvs/`` with ``python3 -m venv`` and pip on first use, and
reused afterwards (a ``.ready`` stamp records a successful install). A failure is
recorded with pip's last lines instead of stopping the benchmark.
"""

from __future__ import annotations

import fcntl
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["OFFICIAL", "OfficialVenv", "ensure_venv"]

ROOT = Path(__file__).resolve().parent / ".venvs"
OFFICIAL = {
    # langchain-milvus 0.4 needs pymilvus >= 3, which no longer pulls in Milvus Lite.
    "langchain": ["langchain-milvus==0.4.*", "milvus-lite>=3.2"],
    # pip resolves pymilvus 2.6.x (< 3) and milvus-lite 3.2.x for it.
    "llama_index": ["llama-index-vector-stores-milvus==1.2.*"],
}


@dataclass
class OfficialVenv:
    """The outcome of preparing one venv.

    Attributes:
        name: ``langchain`` or ``llama_index``.
        python: its interpreter, or ``None`` when it could not be built.
        seconds: time spent creating it (0 when reused).
        reused: whether an existing venv was used.
        error: why it could not be built, if so.
    """

    name: str
    python: Path | None
    seconds: float
    reused: bool
    error: str = ""


def _run(command: list[str], log: Path) -> None:
    with log.open("ab") as out:
        subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=True, timeout=900)


def ensure_venv(name: str, *, root: Path = ROOT) -> OfficialVenv:
    """Create (or reuse) the venv of one official integration."""
    target = root / name
    python = target / "bin" / "python"
    stamp = target / ".ready"
    if stamp.exists() and python.exists():
        return OfficialVenv(name, python, 0.0, True)
    started = time.perf_counter()
    root.mkdir(parents=True, exist_ok=True)
    # Several processes (pytest-xdist workers) may ask at once on a fresh machine: one
    # builds, the others wait for it and reuse its venv ("venv --clear" racing another
    # build fails with "Directory not empty").
    with (root / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.exists() and python.exists():
            return OfficialVenv(name, python, time.perf_counter() - started, True)
        log = root / f"{name}.log"
        log.write_text("", encoding="utf-8")
        try:
            _run([sys.executable, "-m", "venv", "--clear", str(target)], log)
            _run([str(python), "-m", "pip", "install", "-q", "numpy", *OFFICIAL[name]], log)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
            lines = [
                line
                for line in log.read_text(encoding="utf-8", errors="replace").splitlines()
                if not line.startswith("WARNING: Location")
            ]
            tail = " | ".join(lines[-5:])
            elapsed = time.perf_counter() - started
            return OfficialVenv(name, None, elapsed, False, f"{exc}: {tail}")
        stamp.write_text("ok\n", encoding="utf-8")
    return OfficialVenv(name, python, time.perf_counter() - started, False)
