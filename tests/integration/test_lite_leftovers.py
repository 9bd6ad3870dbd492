"""The suite's own clean-up of Milvus Lite 3 servers (tests/support/lite_leftovers.py): a
raw client leaves its database's server running in the process; after the test, the
servers of databases inside its temporary directory are stopped, others are not."""

from __future__ import annotations

import os
from pathlib import Path

from pymilvus import MilvusClient
from tests.support.lite_leftovers import running_lite_databases, stop_lite_servers_under


def _raw_open(path: Path) -> None:
    client = MilvusClient(uri=str(path))
    client.create_collection("c", dimension=2)
    client.insert("c", [{"id": 1, "vector": [1.0, 0.5]}])
    client.close()


def test_a_raw_clients_server_outlives_the_client(tmp_path: Path) -> None:
    path = tmp_path / "raw.db"
    _raw_open(path)
    assert os.path.abspath(path) in running_lite_databases()


def test_servers_inside_the_directory_are_stopped_and_others_kept(tmp_path: Path) -> None:
    inside, nested = tmp_path / "a" / "in.db", tmp_path / "a" / "b" / "deep.db"
    nested.parent.mkdir(parents=True)
    beside = tmp_path / "a-sibling.db"  # shares the prefix "a", not the directory
    for path in (inside, nested, beside):
        _raw_open(path)
    stopped = stop_lite_servers_under(tmp_path / "a")
    assert sorted(stopped) == sorted([str(inside), str(nested)])
    running = running_lite_databases()
    assert str(inside) not in running and str(nested) not in running
    assert str(beside) in running
    # The stopped databases open again with their rows (closed, not lost).
    again = MilvusClient(uri=str(inside))
    try:
        again.load_collection("c")
        assert again.query("c", filter="id == 1", output_fields=["id"]) == [{"id": 1}]
    finally:
        again.close()
    stop_lite_servers_under(tmp_path)
    assert not [p for p in running_lite_databases() if p.startswith(str(tmp_path))]
