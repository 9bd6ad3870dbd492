"""Export and import keep named partitions.

An export used to read the whole collection at once and an import wrote every row into
``_default``: after a backup and restore of a collection with named partitions, reads
scoped to a partition found nothing and the partitions themselves were gone. Now the
header lists the partitions (empty ones too), each row of a named partition says which,
and an import recreates them and writes each row back into its own. What cannot be
held is refused before anything is written: a row naming a partition the header does
not list, an id another partition of an existing collection holds, a collection that
routes rows by a partition key, an engine without partitions (Milvus Lite 2.5.1).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.partitions import DIM, build, flat_spec
from tests.support.partitions import row as _record

from milvus_plugins.core import (
    CollectionSpec,
    ConnectionConfig,
    ExportFileError,
    FlatIndex,
    MetadataField,
    MilvusStore,
    Record,
    SchemaMismatchError,
    UnsupportedByServerError,
    export_collection,
    import_collection,
    read_export,
    read_export_rows,
)

PARTITIONS = ("_default", "pa", "pb", "pc")


def _ids(store: MilvusStore, partition: str) -> list[str]:
    return sorted(r.id for r in store.query(partition_names=[partition]))


@pytest.fixture
def parted(uri: str, collection_name: str) -> Iterator[MilvusStore]:
    """Rows in ``_default`` (10), ``pa`` (12) and ``pb`` (3); ``pc`` empty."""
    layout = {"_default": range(0, 10), "pa": range(10, 22), "pb": range(22, 25), "pc": ()}
    store = build(uri, layout, flat_spec(f"{collection_name}_src"))
    yield store
    store.close()


def _target(uri: str, name: str) -> MilvusStore:
    return MilvusStore(
        CollectionSpec(name=name), connection=ConnectionConfig(uri=uri), open_mode="adopt"
    )


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_rows_come_back_in_their_partitions(
    parted: MilvusStore, uri: str, collection_name: str, tmp_path: Path, suffix: str
) -> None:
    path = tmp_path / f"backup{suffix}"
    before = {p: _ids(parted, p) for p in PARTITIONS}
    report = export_collection(parted, path, batch_rows=4)
    assert report.rows == 25
    header, rows = read_export(path)
    assert sorted(header.partitions) == ["pa", "pb", "pc"]
    assert sum(1 for _ in rows) == 25
    _, placed = read_export_rows(path)
    where = {record.id: partition for _, record, partition in placed}
    assert (where["r0"], where["r10"], where["r22"]) == (None, "pa", "pb")
    restored = f"{collection_name}_dst"
    assert import_collection(path, restored, connection=ConnectionConfig(uri=uri)).rows == 25
    with _target(uri, restored) as target:
        assert sorted(target.list_partitions()) == sorted(PARTITIONS)  # pc too, empty
        assert {p: _ids(target, p) for p in PARTITIONS} == before
        got = {r.id: r for r in target.get(["r11", "r23"])}
        assert got["r11"].metadata == {"i": 11}
        assert got["r23"].text == "row 23"


def test_the_jsonl_rows_name_their_partition(parted: MilvusStore, tmp_path: Path) -> None:
    path = tmp_path / "backup.jsonl"
    export_collection(parted, path)
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert sorted(lines[0]["partitions"]) == ["pa", "pb", "pc"]
    where = {row["id"]: row.get("partition") for row in lines[1:-1]}
    assert where["r0"] is None  # _default rows carry no partition
    assert where["r10"] == "pa"
    assert where["r24"] == "pb"


def test_a_collection_without_named_partitions_exports_as_before(
    uri: str, collection_name: str, tmp_path: Path
) -> None:
    spec = CollectionSpec(name=collection_name, dim=DIM)
    with MilvusStore(spec, connection=ConnectionConfig(uri=uri)) as store:
        store.upsert([_record(i) for i in range(5)])
        path = tmp_path / "plain.jsonl"
        export_collection(store, path)
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert "partitions" not in lines[0]
    assert all("partition" not in row for row in lines[1:-1])


def test_a_partition_key_collection_exports_no_partitions(
    uri: str, collection_name: str, tmp_path: Path
) -> None:
    spec = CollectionSpec(
        name=collection_name,
        dim=DIM,
        metadata_fields=[MetadataField(name="tenant", type="VARCHAR", max_length=32)],
        partition_key="tenant",
    )
    with MilvusStore(spec, connection=ConnectionConfig(uri=uri)) as store:
        if not store.capabilities.partitions:
            pytest.skip("no partitions, nor a partition key, on Milvus Lite 2.5.1")
        rows = [_record(i) for i in range(6)]
        for i, row in enumerate(rows):
            row.metadata["tenant"] = "t1" if i % 2 else "t2"
        store.upsert(rows)
        path = tmp_path / "tenants.jsonl"
        export_collection(store, path)
    header, _ = read_export(path)
    assert header.partitions == ()  # Milvus routes them by the key again on import
    restored = f"{collection_name}_dst"
    assert import_collection(path, restored, connection=ConnectionConfig(uri=uri)).rows == 6


def _rewrite(path: Path, edit_header: object = None, edit_row: object = None) -> Path:
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    if callable(edit_header):
        edit_header(lines[0])
    if callable(edit_row):
        edit_row(lines[1])
    out = path.with_name("edited.jsonl")
    out.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return out


@pytest.mark.parametrize(
    ("edit_header", "edit_row", "line", "words"),
    [
        (None, lambda row: row.__setitem__("partition", "nope"), 2, "do not list"),
        (None, lambda row: row.__setitem__("partition", 7), 2, "do not list"),
        (None, lambda row: row.__setitem__("partition", "_default"), 2, "do not list"),
        (lambda h: h.__setitem__("partitions", ["pa", "pa"]), None, 1, "once"),
        (lambda h: h.__setitem__("partitions", ["_default", "pa"]), None, 1, "_default"),
        (lambda h: h.__setitem__("partitions", ["../x"]), None, 1, "not valid"),
        (lambda h: h.__setitem__("partitions", "pa"), None, 1, "list"),
    ],
)
def test_hand_edited_partitions_are_refused_before_anything_is_written(
    parted: MilvusStore,
    uri: str,
    collection_name: str,
    tmp_path: Path,
    edit_header: object,
    edit_row: object,
    line: int,
    words: str,
) -> None:
    path = tmp_path / "backup.jsonl"
    export_collection(parted, path)
    edited = _rewrite(path, edit_header, edit_row)
    restored = f"{collection_name}_dst"
    with pytest.raises(ExportFileError, match=words) as caught:
        import_collection(edited, restored, connection=ConnectionConfig(uri=uri))
    assert caught.value.line == line
    with _target(uri, restored) as target:
        assert not target.exists()


def test_an_id_another_partition_holds_is_refused_before_any_write(
    parted: MilvusStore, uri: str, tmp_path: Path
) -> None:
    path = tmp_path / "backup.jsonl"
    export_collection(parted, path)
    # Another client moved r11 from pa into pb (delete, then write there).
    parted.delete(["r11"])
    parted.upsert([_record(11)], partition_name="pb")
    parted.flush()
    count = parted.count()
    with pytest.raises(ExportFileError, match="r11"):
        import_collection(path, parted.spec.name, connection=ConnectionConfig(uri=uri))
    assert parted.count() == count
    assert "r11" in _ids(parted, "pb")
    assert "r11" not in _ids(parted, "pa")


def test_importing_back_into_the_same_collection_completes_it(
    parted: MilvusStore, uri: str, tmp_path: Path
) -> None:
    path = tmp_path / "backup.jsonl"
    before = {p: _ids(parted, p) for p in PARTITIONS}
    export_collection(parted, path)
    parted.delete(["r1", "r12", "r23"])  # a partial loss
    parted.drop_partition("pc")
    report = import_collection(path, parted.spec.name, connection=ConnectionConfig(uri=uri))
    assert report.rows == 25
    assert {p: _ids(parted, p) for p in PARTITIONS} == before


def test_a_partition_key_collection_refuses_named_partitions(
    parted: MilvusStore, uri: str, collection_name: str, tmp_path: Path
) -> None:
    path = tmp_path / "backup.jsonl"
    export_collection(parted, path)
    keyed = CollectionSpec(
        name=f"{collection_name}_keyed",
        dim=DIM,
        index=FlatIndex(metric="L2"),
        metadata_fields=[MetadataField(name="tenant", type="VARCHAR", max_length=32)],
        partition_key="tenant",
    )
    with MilvusStore(keyed, connection=ConnectionConfig(uri=uri)) as store:
        store.upsert([Record(id="x", text="x", vector=[1.0] * DIM, metadata={"tenant": "t"})])
        with pytest.raises(SchemaMismatchError, match="partition key"):
            import_collection(path, keyed.name, connection=ConnectionConfig(uri=uri))
        assert store.count() == 1
        assert "pa" not in store.list_partitions()


@pytest.mark.lite25
def test_an_engine_without_partitions_refuses_the_file_up_front(
    lite25_server: object, tmp_path: Path, lite_uri: str, collection_name: str
) -> None:
    # Exported from Milvus Lite 3 (it has partitions), imported into Milvus Lite 2.5.1.
    spec = CollectionSpec(name=collection_name, dim=DIM, index=FlatIndex(metric="L2"))
    with MilvusStore(spec, connection=ConnectionConfig(uri=lite_uri)) as source:
        source.ensure_collection(DIM)
        source.create_partition("pa")
        source.upsert([_record(i) for i in range(3)], partition_name="pa")
        path = tmp_path / "backup.jsonl"
        export_collection(source, path)
    target_uri = lite25_server.uri  # type: ignore[attr-defined]
    with pytest.raises(UnsupportedByServerError, match="partitions"):
        import_collection(path, collection_name, connection=ConnectionConfig(uri=target_uri))
    with _target(target_uri, collection_name) as target:
        assert not target.exists()
