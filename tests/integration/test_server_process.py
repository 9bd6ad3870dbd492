"""Tests of the real-Milvus-server launcher (``tests/support/milvus_server.py``).

Every test here runs the Milvus 2.3.5 standalone binary and talks to it through pymilvus; the
server is never mocked (one test swaps the port picker, to force a port clash).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

try:
    from tests.support.milvus_server import (
        DEFAULT_TOKEN,
        MilvusServer,
        ServerStartError,
        server_available,
        wait_for_loaded,
    )
except ModuleNotFoundError:  # the repository root is not on sys.path (no conftest yet)
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.support.milvus_server import (
        DEFAULT_TOKEN,
        MilvusServer,
        ServerStartError,
        server_available,
        wait_for_loaded,
    )

_AVAILABLE, _REASON = server_available()

pytestmark = [
    pytest.mark.server,
    pytest.mark.skipif(not _AVAILABLE, reason=_REASON),
    pytest.mark.timeout(300),
]

DIM = 8
ROOT = Path(__file__).resolve().parents[2]


def _vector(i: int) -> list[float]:
    return [
        float((i * 7 + j * 3) % 11) / 10.0 + (0.01 if j == i % DIM else 0.0) for j in range(DIM)
    ]


def _rows(start: int, count: int) -> list[dict[str, Any]]:
    return [
        {"id": i, "vector": _vector(i), "tag": f"t{i % 3}"} for i in range(start, start + count)
    ]


def _create_collection(client: Any, name: str) -> None:
    client.create_collection(
        collection_name=name,
        dimension=DIM,
        primary_field_name="id",
        vector_field_name="vector",
        metric_type="L2",
        auto_id=False,
        consistency_level="Strong",
    )


def _count(client: Any, name: str) -> int:
    result = client.query(name, filter="", output_fields=["count(*)"], consistency_level="Strong")
    return int(result[0]["count(*)"])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[MilvusServer]:
    with MilvusServer(tmp_path / "milvus") as srv:
        yield srv


def test_server_available_here() -> None:
    ok, reason = server_available()
    assert ok, reason
    assert "milvus" in reason


def test_crud_survives_kill_and_restart(server: MilvusServer) -> None:
    assert server.is_running
    assert server.uri == f"http://127.0.0.1:{server.port}"
    ports = server.ports
    assert len(set(ports.values())) == len(ports), "every port must be distinct"

    client = server.client()
    try:
        _create_collection(client, "docs")
        result = client.insert("docs", _rows(0, 50))
        assert result["insert_count"] == 50
        assert _count(client, "docs") == 50

        hits = client.search(
            "docs",
            data=[_vector(7)],
            limit=3,
            output_fields=["tag"],
            consistency_level="Strong",
        )
        assert hits[0][0]["id"] == 7
        assert hits[0][0]["entity"]["tag"] == "t1"
    finally:
        client.close()

    old_pid = server.pid
    assert old_pid is not None
    server.kill()
    assert not server.is_running
    assert server.pid is None
    assert not _alive(old_pid)

    started = time.monotonic()
    server.start()
    restart_seconds = time.monotonic() - started
    assert server.pid != old_pid
    assert server.ports == ports, "ports are kept across a restart"

    client = server.client()
    try:
        wait_for_loaded(client, "docs", timeout=60)
        assert _count(client, "docs") == 50
        hits = client.search("docs", data=[_vector(42)], limit=1, consistency_level="Strong")
        assert hits[0][0]["id"] == 42
        rows = client.get("docs", ids=[3])
        assert rows[0]["tag"] == "t0"
    finally:
        client.close()
    assert restart_seconds < 60


def test_graceful_restart_and_stop(tmp_path: Path) -> None:
    srv = MilvusServer(tmp_path / "m")
    srv.start()
    try:
        client = srv.client()
        try:
            _create_collection(client, "kept")
            client.insert("kept", _rows(0, 20))
            assert _count(client, "kept") == 20
        finally:
            client.close()
        first_pid = srv.pid
        srv.restart()
        assert srv.is_running
        assert srv.pid != first_pid
        client = srv.client()
        try:
            wait_for_loaded(client, "kept", timeout=60)
            assert _count(client, "kept") == 20
        finally:
            client.close()
    finally:
        pid = srv.pid
        started = time.monotonic()
        srv.stop()
        stop_seconds = time.monotonic() - started
    assert pid is not None
    assert not srv.is_running
    assert not _alive(pid)
    assert stop_seconds < 15
    assert "Get signal to exit" in srv.log_path.read_text(errors="replace")
    srv.stop()  # idempotent
    assert (tmp_path / "m" / "configs" / "milvus.yaml").is_file()


def test_auth_rejects_wrong_token(tmp_path: Path) -> None:
    from pymilvus import MilvusClient
    from pymilvus.exceptions import MilvusException

    with MilvusServer(tmp_path / "auth", auth=True) as srv:
        assert srv.token == DEFAULT_TOKEN == "root:Milvus"
        with pytest.raises(MilvusException) as excinfo:
            bad = MilvusClient(uri=srv.uri, token="root:wrong-password", timeout=10)
            try:
                bad.list_collections()
            finally:
                bad.close()
        # pymilvus reports "fail connecting to server"; the gRPC error it chains says why.
        cause = str(excinfo.value.__cause__ or excinfo.value)
        assert "UNAUTHENTICATED" in cause or "auth" in cause.lower(), cause

        anonymous_failed = False
        try:
            anon = MilvusClient(uri=srv.uri, timeout=10)
            try:
                anon.list_collections()
            finally:
                anon.close()
        except MilvusException:
            anonymous_failed = True
        assert anonymous_failed, "a server with auth must refuse a client without a token"

        good = MilvusClient(uri=srv.uri, token="root:Milvus", timeout=10)
        try:
            assert good.list_collections() == []
        finally:
            good.close()


def test_two_servers_side_by_side(tmp_path: Path) -> None:
    with (
        MilvusServer(tmp_path / "a") as first,
        MilvusServer(tmp_path / "b") as second,
    ):
        assert first.pid != second.pid
        assert not set(first.ports.values()) & set(second.ports.values())
        c1, c2 = first.client(), second.client()
        try:
            _create_collection(c1, "only_in_first")
            c1.insert("only_in_first", _rows(0, 5))
            assert _count(c1, "only_in_first") == 5
            assert c2.list_collections() == []
            assert c1.list_collections() == ["only_in_first"]
        finally:
            c1.close()
            c2.close()


def test_no_orphan_when_the_owner_exits(tmp_path: Path) -> None:
    """A Python process that starts a server and exits without stopping it leaves nothing
    running (atexit hook)."""
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        sys.path.insert(0, {str(ROOT)!r})
        from tests.support.milvus_server import MilvusServer
        srv = MilvusServer(Path({str(tmp_path / "orphan")!r}))
        srv.start()
        print(srv.pid, flush=True)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, done.stderr
    pid = int(done.stdout.strip().splitlines()[-1])
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid)
    assert not Path(f"/tmp/milvus/server_id_{pid}").exists()


def test_startup_failure_reports_the_log(tmp_path: Path) -> None:
    base = tmp_path / "broken"
    (base / "data").mkdir(parents=True)
    (base / "data" / "etcd").write_text("not a directory")  # etcd cannot open its data dir
    srv = MilvusServer(base)
    with pytest.raises(ServerStartError) as excinfo:
        srv.start(timeout=60)
    assert "failed to init embedded Etcd server" in str(excinfo.value)
    assert not srv.is_running
    assert srv.pid is None


def test_concurrent_unpack_into_a_fresh_cache(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        sys.path.insert(0, {str(ROOT)!r})
        from tests.support.milvus_server import ensure_server_binaries
        print(ensure_server_binaries(Path({str(cache)!r})))
        """
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [proc.communicate(timeout=300)[0].strip() for proc in procs]
    try:
        assert all(proc.returncode == 0 for proc in procs)
        assert outputs[0] == outputs[1]
        home = Path(outputs[0])
        assert os.access(home / "bin" / "milvus", os.X_OK)
        assert (home / "bin" / "libknowhere.so").is_file()
        version_dir = home.parent
        assert [p.name for p in version_dir.iterdir() if p.is_dir()] == [home.name]
    finally:
        shutil.rmtree(cache, ignore_errors=True)  # ~250 MB


def test_port_taken_after_it_was_chosen_is_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process grabbing a chosen port before the server binds it (the race between two
    test processes): Milvus only logs the failed bind and carries on, so the launcher has to
    notice and start again on new ports."""
    import tests.support.milvus_server as launcher

    with socket.socket() as squatter:
        squatter.bind(("0.0.0.0", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        real_pick = launcher._pick_ports
        picks: list[dict[str, int]] = []

        def pick_with_a_taken_proxy_port(
            names: tuple[str, ...], avoid: set[int] | None = None
        ) -> dict[str, int]:
            ports = real_pick(names, avoid)
            if not picks:
                ports["proxy"] = taken  # as if it had been free when chosen
            picks.append(ports)
            return ports

        monkeypatch.setattr(launcher, "_pick_ports", pick_with_a_taken_proxy_port)
        with MilvusServer(tmp_path / "m") as srv:
            assert len(picks) == 2
            assert srv.port != taken
            client = srv.client()
            try:
                assert client.list_collections() == []
            finally:
                client.close()
