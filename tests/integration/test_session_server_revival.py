"""A session Milvus 2.3.5 server that dies in the middle of a run is started again.

Runs a small pytest session (one xdist worker, as ``make test`` runs them) with the suite's
own conftest against a real server, whose tests SIGKILL that server: once, between two
tests (by a test that does not ask for it), and on every attempt. The session must start
it again each time (up to ``server_deaths.MAX_REVIVALS``), run a test that failed while
it died once more, fail a test that kills it on every attempt, and write why each death
happened.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from tests.support.milvus_server import server_available
from tests.support.server_deaths import INCIDENT_DIR_ENV, MAX_REVIVALS, SESSION_TTL_ENV

pytestmark = pytest.mark.server

REPO = Path(__file__).resolve().parents[2]

INNER = """
import os
import signal
import time
from pathlib import Path

import pytest

FLAGS = Path(os.environ["REVIVAL_FLAGS"])


def _kill(server):
    os.killpg(server.pid, signal.SIGKILL)
    while server.is_running:
        time.sleep(0.05)


def _first_time(name):
    flag = FLAGS / name
    if flag.exists():
        return False
    flag.touch()
    return True


def _answers(server):
    client = server.client(dedicated=True)
    try:
        return client.list_collections()
    finally:
        client.close()


def test_dies_once(milvus_server):
    (FLAGS / "pid").write_text(str(milvus_server.pid))
    if _first_time("dies_once"):
        _kill(milvus_server)
    _answers(milvus_server)


def test_kills_it_without_asking_for_it():
    # no session-server fixture: nothing notices the death until the next test's setup
    pid = int((FLAGS / "pid").read_text())
    os.killpg(pid, signal.SIGKILL)
    # until it is a zombie with no thread left (its leader turns "Z" before the others end)
    proc = Path(f"/proc/{pid}")
    while proc.exists() and (
        (proc / "stat").read_text().split(") ", 1)[1][0] != "Z"
        or len(list((proc / "task").iterdir())) > 1
    ):
        time.sleep(0.05)


def test_finds_it_running(milvus_server):
    assert milvus_server.is_running
    client = milvus_server.client(dedicated=True)
    try:
        client.create_collection("after_revival", dimension=2)
        assert "after_revival" in client.list_collections()
    finally:
        client.close()


def test_kills_it_every_time(milvus_server):
    _kill(milvus_server)
    _answers(milvus_server)


def test_no_revival_past_the_limit(milvus_server):
    assert not milvus_server.is_running
"""


def test_a_dead_session_server_is_started_again_and_its_test_rerun(tmp_path: Path) -> None:
    ok, reason = server_available()
    if not ok:
        pytest.skip(f"the Milvus 2.3.5 server cannot run here: {reason}")
    (tmp_path / "test_inner.py").write_text(INNER, encoding="utf-8")
    flags = tmp_path / "flags"
    flags.mkdir()
    incidents = tmp_path / "incidents"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST_", "MILVUS_PLUGINS_"))
    }
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "REVIVAL_FLAGS": str(flags),
            INCIDENT_DIR_ENV: str(incidents),
            SESSION_TTL_ENV: "15",
        }
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "tests.conftest",
            "-p",
            "no:cacheprovider",
            "-q",
            "-n",
            "1",
            "--rootdir",
            str(tmp_path),
            "--basetemp",
            str(tmp_path / "basetemp"),
            str(tmp_path / "test_inner.py"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert re.search(r"\b1 failed, 4 passed, 2 rerun\b", output), output
    assert "FAILED" in output and "test_kills_it_every_time" in output, output

    reports = sorted(incidents.glob("server-died-*.txt"), key=lambda p: p.name[-5:])
    assert len(reports) == MAX_REVIVALS == 3, [p.name for p in reports]
    texts = [p.read_text(encoding="utf-8") for p in reports]
    whens = [text.splitlines()[0] for text in texts]
    assert "while" in whens[0] and "test_dies_once" in whens[0], whens
    assert "test_finds_it_running (it died between tests)" in whens[1], whens
    assert "while" in whens[2] and "test_kills_it_every_time" in whens[2], whens
    for text in texts:
        assert "process: killed by signal 9" in text, text
        assert "--- the end of " in text and "milvus.log ---" in text, text
        assert re.search(r"--- started again in [0-9.]+ s", text), text
