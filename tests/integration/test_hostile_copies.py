"""Copies of a collection attacked (a helper's review of export, import, migrate and
reindex, 2026-12-07): each case failed on the code before its fix.

* an export wrote the fixed name ``FILE.partial``: a link planted there had its target
  overwritten, a directory there gave an untyped ``IsADirectoryError``, and two exports
  to one file at once left interleaved garbage that one of them reported as written;
* a NaN another tool's number column holds was written as the bare word ``NaN``, which
  no JSON reader (this package's import included) accepts;
* reindex of a sparse-only collection created and filled the new collection, then failed;
* the collection reindex, migrate and import create dropped the source's TTL (rows that
  expire there stayed forever), shard and partition counts (server).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from pymilvus import MilvusClient

from milvus_plugins.core import (
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    ExportFileError,
    MetadataField,
    MilvusStore,
    Record,
    export_collection,
    import_collection,
    migrate,
    point_alias,
    reindex,
    resolve_alias,
)
from milvus_plugins.core.migration import migration_target_spec

DIM = 4


def _records(prefix: str, n: int) -> list[Record]:
    return [
        Record(id=f"{prefix}{i}", text=f"{prefix} text {i}", vector=[1.0, i, 0.5, 2.0])
        for i in range(n)
    ]


def _store(uri: str, name: str, rows: list[Record]) -> MilvusStore:
    store = MilvusStore(CollectionSpec(name=name, dim=DIM), connection=ConnectionConfig(uri=uri))
    store.upsert(rows)
    return store


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".partial"))


def test_an_export_never_writes_through_a_link_or_into_a_directory_planted_beside_it(
    lite_uri: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me\n")
    os.symlink(precious, out / "a.jsonl.partial")  # the name exports used to write
    (out / "b.jsonl.partial").mkdir()
    with _store(lite_uri, "c", _records("r", 20)) as store:
        assert export_collection(store, out / "a.jsonl").rows == 20
        assert export_collection(store, out / "b.jsonl").rows == 20
    assert precious.read_text() == "keep me\n"
    assert (out / "b.jsonl.partial").is_dir()
    for name in ("a.jsonl", "b.jsonl"):
        copy = import_collection(
            out / name, f"copy_{name[0]}", connection=ConnectionConfig(uri=lite_uri)
        )
        assert copy.rows == 20
    assert _leftovers(out) == ["a.jsonl.partial", "b.jsonl.partial"]  # the planted ones only


def test_two_exports_to_one_file_each_leave_a_whole_file(lite_uri: str, tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_text("an older file\n")
    first = _store(lite_uri, "c", _records("c", 1500))
    second = MilvusStore(CollectionSpec(name="d", dim=DIM), connection=first.session.connection)
    second.upsert(_records("d", 1200))
    reports: list[object] = []
    barrier = threading.Barrier(2)

    def export(store: MilvusStore) -> None:
        barrier.wait()
        reports.append(export_collection(store, path, batch_rows=100))

    threads = [threading.Thread(target=export, args=(s,)) for s in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(reports) == 2  # neither failed
    report = import_collection(path, "copy", connection=first.session.connection)
    assert report.rows in (1500, 1200)  # one whole export, the last to finish
    with MilvusStore(CollectionSpec(name="copy"), connection=first.session.connection) as copy:
        ids = {r.id for r in copy.query(filter=None, limit=2000)}
    assert ids == {r.id for r in _records("c" if report.rows == 1500 else "d", report.rows)}
    assert _leftovers(tmp_path) == []
    first.close()
    second.close()


_NAN_SCRIPT = """
import sys
from langchain_core.embeddings import Embeddings
from langchain_milvus import Milvus

class Fixed(Embeddings):
    def embed_documents(self, texts):
        return [[1.0, float(i), 0.5, 2.0] for i, _ in enumerate(texts)]
    def embed_query(self, text):
        return [1.0, 0.0, 0.5, 2.0]

store = Milvus.from_texts(
    ["a", "b", "c"], Fixed(), metadatas=[{"x": 0.5}, {"x": float("nan")}, {"x": 2.5}],
    ids=["a", "b", "c"], collection_name="lc", connection_args={"uri": sys.argv[1]},
    index_params={"index_type": "FLAT", "metric_type": "L2", "params": {}},
)
store.client.close()
print("ok")
"""


def test_an_export_refuses_a_nan_another_tools_column_holds(lite_uri: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _NAN_SCRIPT, lite_uri],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "PYTHONPATH": ""},
    )
    assert "ok" in done.stdout, done.stderr[-2000:]
    path = tmp_path / "lc.jsonl"
    with MilvusStore(CollectionSpec(name="lc"), connection=ConnectionConfig(uri=lite_uri)) as store:
        assert store.count() == 3
        with pytest.raises(ExportFileError, match=r"row 'b' holds NaN or an infinity"):
            export_collection(store, path)
    assert not path.exists()
    assert _leftovers(tmp_path) == []


def test_reindex_of_a_sparse_only_collection_is_refused_before_anything_is_made(
    lite_uri: str,
) -> None:
    connection = ConnectionConfig(uri=lite_uri)
    spec = CollectionSpec(name="kw_v1", dense=False, sparse="bm25")
    with MilvusStore(spec, connection=connection) as store:
        store.upsert([Record(id=f"r{i}", text=f"word{i} common") for i in range(30)])
    point_alias(connection, "kw", "kw_v1")
    with pytest.raises(ConfigError, match="sparse-only collection"):
        reindex(connection, "kw")
    assert resolve_alias(connection, "kw") == "kw_v1"
    client = MilvusClient(uri=lite_uri)
    try:
        assert client.list_collections() == ["kw_v1"]
    finally:
        client.close()


def _settings(uri: str, name: str) -> tuple[object, ...]:
    client = MilvusClient(uri=uri)
    try:
        described = client.describe_collection(name)
    finally:
        client.close()
    return (
        described["properties"].get("collection.ttl.seconds"),
        described["num_partitions"],
        described["num_shards"],
    )


@pytest.mark.server
def test_copies_keep_the_ttl_shards_and_partitions_of_the_source(
    server_uri: str, collection_name: str, tmp_path: Path
) -> None:
    connection = ConnectionConfig(uri=server_uri)
    spec = CollectionSpec(
        name=f"{collection_name}_v1",
        dim=DIM,
        consistency_level="Bounded",
        partition_key="tenant",
        num_partitions=4,
        properties={"ttl_seconds": 86400, "num_shards": 2},
        metadata_fields=[MetadataField(name="tenant", type="VARCHAR", max_length=16)],
    )
    source = MilvusStore(spec, connection=connection)
    names = [f"{collection_name}_v1"]
    try:
        source.upsert(
            [
                Record(
                    id=f"r{i}",
                    text=f"t{i}",
                    vector=[1.0, i, 0.5, 2.0],
                    metadata={"tenant": f"T{i % 3}"},
                )
                for i in range(30)
            ]
        )
        source.flush()
        expected = _settings(server_uri, names[0])
        assert expected == ("86400", 4, 2)
        point_alias(connection, collection_name, names[0])
        report = reindex(connection, collection_name, min_recall=0.0)
        names.append(report.current)
        assert _settings(server_uri, report.current) == expected
        target = MilvusStore(
            migration_target_spec(source, f"{collection_name}_m"), connection=connection
        )
        names.append(target.spec.name)
        with target:
            migrate(source, target)
        assert _settings(server_uri, target.spec.name) == expected
        path = tmp_path / "e.jsonl"
        export_collection(source, path)
        names.append(f"{collection_name}_i")
        import_collection(path, names[-1], connection=connection)
        assert _settings(server_uri, names[-1]) == expected
    finally:
        source.close()
        client = MilvusClient(uri=server_uri)
        try:
            if collection_name in client.list_aliases().get("aliases", []):
                client.drop_alias(collection_name)
            for name in names:
                client.drop_collection(name)
        finally:
            client.close()


def test_settings_a_lite_target_cannot_apply_are_left_out_of_an_import(
    lite_uri: str, tmp_path: Path
) -> None:
    """A review of the first fix: a server collection's export carries its partition count
    (64 by default with a partition key) and its TTL, which Milvus Lite refuses at
    creation: every import of such a file into Lite failed. Settings that only change
    how rows are served are left out there; a TTL too, with a warning (Lite never
    expires rows)."""
    connection = ConnectionConfig(uri=lite_uri)
    path = tmp_path / "e.jsonl"
    with _store(lite_uri, "c", _records("r", 3)) as store:
        export_collection(store, path)
    lines = path.read_text().splitlines()
    header = json.loads(lines[0])
    header["spec"]["properties"] = {"ttl_seconds": 3600, "num_shards": 2}
    path.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    with pytest.warns(UserWarning, match=r"without the source's TTL \(3600 s\)"):
        assert import_collection(path, "copy", connection=connection).rows == 3


def test_an_export_to_a_name_near_the_length_limit_works(lite_uri: str, tmp_path: Path) -> None:
    path = tmp_path / ("x" * 245 + ".jsonl")  # 251 bytes: no room for a long temp name
    with _store(lite_uri, "c", _records("r", 3)) as store:
        assert export_collection(store, path).rows == 3
    assert _leftovers(tmp_path) == []
