"""Running the ``milvus-plugins`` command line in a test: in this process (fast), or as the
installed entry point in a subprocess.

An in-process run has the arguments, working directory, environment, stdin, stdout and
stderr of a real run; its exit code includes argparse's ``SystemExit``; the warnings and
log records a subprocess would print are written to its stderr, and every store the
command opened is closed afterwards (so a Milvus Lite database is free again, as after a
process exits).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest

from milvus_plugins import cli
from milvus_plugins.core import MilvusStore

__all__ = [
    "Result",
    "assert_one_line_error",
    "cli_env",
    "process_state",
    "run_cli",
    "run_cli_subprocess",
]


@dataclass(frozen=True)
class Result:
    """One finished CLI run."""

    code: int
    out: str
    err: str
    seconds: float

    def json(self) -> Any:
        return json.loads(self.out)


def _command() -> list[str]:
    script = Path(sys.executable).with_name("milvus-plugins")
    # The console script when installed (it is what users run), else the module.
    return [str(script)] if script.exists() else [sys.executable, "-m", "milvus_plugins.cli"]


def cli_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MILVUS_URI", "MILVUS_TOKEN")}
    env["TOKENIZERS_PARALLELISM"] = "false"
    env.update(extra or {})
    return env


def run_cli_subprocess(
    *args: str,
    cwd: Path,
    stdin: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
) -> Result:
    """Run the installed ``milvus-plugins ARGS`` in ``cwd`` as a real subprocess."""
    started = time.monotonic()
    done = subprocess.run(
        [*_command(), *args],
        cwd=cwd,
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env=cli_env(env),
        timeout=timeout,
        check=False,
    )
    return Result(done.returncode, done.stdout, done.stderr, time.monotonic() - started)


class _ClosedAfterwards(MilvusStore):
    """The CLI's ``MilvusStore``, remembered so the runner can close it after the command."""

    opened: ClassVar[list[MilvusStore]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _ClosedAfterwards.opened.append(self)


@contextlib.contextmanager
def process_state(cwd: Path, env: Mapping[str, str], stdin: str) -> Iterator[None]:
    """The working directory, environment and stdin of a fresh CLI process, then restored."""
    saved_cwd, saved_env, saved_stdin = os.getcwd(), dict(os.environ), sys.stdin
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    sys.stdin = io.StringIO(stdin)
    try:
        yield
    finally:
        sys.stdin = saved_stdin
        os.environ.clear()
        os.environ.update(saved_env)
        os.chdir(saved_cwd)


def run_cli(
    *args: str,
    cwd: Path,
    stdin: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
) -> Result:
    """Run ``milvus-plugins ARGS`` in ``cwd`` (in this process) and return its exit code and
    output, as the console script would print them."""
    del timeout  # a subprocess-only limit; pytest-timeout bounds the test
    out, err = io.StringIO(), io.StringIO()
    # What an interpreter prints to stderr that pytest would otherwise capture: warnings
    # (Python's default filters) and log records of level WARNING and up (lastResort).
    handler = logging.StreamHandler(err)
    handler.setLevel(logging.WARNING)
    root = logging.getLogger()
    started = time.monotonic()
    with (
        process_state(cwd, cli_env(env), stdin or ""),
        warnings.catch_warnings(record=True) as caught,
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        pytest.MonkeyPatch.context() as patch,
    ):
        warnings.resetwarnings()
        warnings.simplefilter("default")
        # Python's default filters ignore these (ResourceWarning too: an unclosed file of
        # an earlier test, collected during this run, is no warning of the command's).
        for quiet in (
            DeprecationWarning,
            PendingDeprecationWarning,
            ImportWarning,
            ResourceWarning,
        ):
            warnings.simplefilter("ignore", quiet)
        patch.setattr(cli, "MilvusStore", _ClosedAfterwards)
        root.addHandler(handler)
        try:
            code = cli.main(list(args))
        except SystemExit as exc:  # argparse: usage errors and --help
            code = exc.code if isinstance(exc.code, int) else 1
        finally:
            root.removeHandler(handler)
            while _ClosedAfterwards.opened:
                _ClosedAfterwards.opened.pop().close()
            for warning in caught:
                err.write(
                    warnings.formatwarning(
                        warning.message, warning.category, warning.filename, warning.lineno
                    )
                )
    return Result(code, out.getvalue(), err.getvalue(), time.monotonic() - started)


def assert_one_line_error(result: Result, code: int, *needles: str) -> None:
    """The run failed with ``code`` and said why in one line, without a traceback."""
    assert result.code == code, (result.code, result.out, result.err)
    assert "Traceback" not in result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error: ")
    for needle in needles:
        assert needle in lines[0]
