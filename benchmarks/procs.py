"""Worker processes seen from the parent: start, call, sample memory, stop."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil

__all__ = ["WorkerError", "WorkerProcess"]

WORKER = Path(__file__).resolve().parent / "worker.py"


class WorkerError(RuntimeError):
    """A request failed inside a worker (the message carries the worker's error)."""


class WorkerProcess:
    """One ``worker.py`` process running one driver, with a peak-RSS sampler.

    Args:
        name: the system's name (for messages).
        python: the interpreter (its venv decides which libraries are importable).
        data_dir: the saved :class:`~benchmarks.dataset.Dataset`.
        log: file receiving the worker's stderr.
        sample_every: seconds between RSS samples of the worker and its children.
    """

    def __init__(
        self,
        name: str,
        python: str | Path,
        data_dir: Path,
        log: Path,
        *,
        sample_every: float = 0.05,
    ) -> None:
        self.name = name
        self._log = log.open("ab")
        self.proc = subprocess.Popen(
            [str(python), "-u", str(WORKER), str(data_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            bufsize=1,
        )
        self.peak_tree_kb = 0
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, args=(sample_every,), daemon=True)
        self._sampler.start()
        self._read()  # "ready": the dataset is loaded

    def _sample(self, every: float) -> None:
        try:
            root = psutil.Process(self.proc.pid)
        except psutil.Error:
            return
        while not self._stop.is_set():
            try:
                total = root.memory_info().rss
                for child in root.children(recursive=True):
                    total += child.memory_info().rss
            except psutil.Error:
                return
            self.peak_tree_kb = max(self.peak_tree_kb, total // 1024)
            time.sleep(every)

    def _read(self) -> Any:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise WorkerError(f"{self.name}: worker exited (code {self.proc.poll()}); see log")
        answer = json.loads(line)
        if not answer["ok"]:
            raise WorkerError(f"{self.name}: {answer['error']}\n{answer.get('trace', '')}")
        return answer["result"]

    def call(self, op: str, **fields: Any) -> Any:
        """Send one request and return its result.

        Raises:
            WorkerError: the request failed, or the worker died.
        """
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps({"op": op, **fields}) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError as exc:
            raise WorkerError(f"{self.name}: worker is gone") from exc
        return self._read()

    def close(self) -> None:
        """Ask the worker to quit; kill it if it does not within 30 s."""
        self._stop.set()
        try:
            if self.proc.poll() is None and self.proc.stdin is not None:
                self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.proc.stdin.flush()
                self.proc.stdin.close()
            self.proc.wait(timeout=30)
        except (BrokenPipeError, subprocess.TimeoutExpired, OSError):
            self.proc.kill()
            self.proc.wait()
        finally:
            self._log.close()

    def __enter__(self) -> WorkerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def current_python() -> str:
    """The interpreter running the harness (our venv)."""
    return sys.executable
