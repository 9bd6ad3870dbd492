"""Shared fixtures: Milvus Lite in a temp dir, and one real Milvus 2.3.5 server per session.

``backend_uri`` is parametrised over both backends, so a scenario written once runs with
the same assertions on Milvus Lite and on the server. Server tests are marked
``server``; they skip only where the server binary cannot run (not Linux x86_64).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.milvus_server import MilvusServer, server_available


@pytest.fixture
def lite_uri(tmp_path: Path) -> str:
    """A Milvus Lite database path inside the test's temp dir."""
    return str(tmp_path / "milvus.db")


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MilvusServer]:
    """One real Milvus 2.3.5 standalone server for the whole session (127.0.0.1 only)."""
    ok, reason = server_available()
    if not ok:
        pytest.skip(f"the Milvus 2.3.5 server cannot run here: {reason}")
    server = MilvusServer(tmp_path_factory.mktemp("milvus-server"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def server_uri(milvus_server: MilvusServer) -> str:
    """The running session server's URI."""
    return milvus_server.uri


@pytest.fixture
def collection_name() -> str:
    """A collection name unique to the test (server collections outlive a test)."""
    return f"t_{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=["lite", pytest.param("server", marks=pytest.mark.server)])
def backend_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URI of each backend in turn: a fresh Lite file, then the session server."""
    if request.param == "lite":
        return str(tmp_path / "milvus.db")
    server: MilvusServer = request.getfixturevalue("milvus_server")
    return server.uri
