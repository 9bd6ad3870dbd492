"""Hostile review: export / import keeping named partitions (portable.py, export_files.py,
export_format.py) and reindex after the move of its partition readers.

Each test asserts what a user would expect (an exact round trip, or a typed error with
nothing changed). A test marked ``# DEFECT (fixed):`` failed on the code as reviewed
(commit ab43b5a); its comment says what happened then and what should happen.

Most scenarios run on Milvus Lite 3 only (``lite_uri``) to keep the file fast; the ones
most likely to differ between engines also run on the 2.3.5 server (``uri``).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import pytest
from tests.support.cli_runner import assert_one_line_error, run_cli
from tests.support.partitions import build, flat_spec
from tests.support.partitions import row as _record

from milvus_plugins.core import (
    CollectionSpec,
    ConnectionConfig,
    ExportFileError,
    ImportFailedError,
    MilvusPluginsError,
    MilvusStore,
    UnsupportedByServerError,
    export_collection,
    import_collection,
    point_alias,
    read_export,
    reindex,
)
from milvus_plugins.core.export_files import read_export_rows

LONG = "p" + "x" * 254  # 255 characters: the longest name Milvus accepts


_spec = flat_spec


def _build(uri: str, name: str, layout: Mapping[str, range]) -> MilvusStore:
    """A collection with ``layout``: partition name -> the record numbers in it (an
    empty range: an empty partition). Skips on an engine without partitions."""
    return build(uri, layout, _spec(name))


def _adopt(uri: str, name: str) -> MilvusStore:
    return MilvusStore(
        CollectionSpec(name=name), connection=ConnectionConfig(uri=uri), open_mode="adopt"
    )


def _ids(store: MilvusStore, partition: str) -> list[str]:
    return sorted(r.id for r in store.query(partition_names=[partition]))


def _layout_of(store: MilvusStore) -> dict[str, list[str]]:
    """Every partition of the collection and the ids in it."""
    return {p: _ids(store, p) for p in sorted(store.list_partitions())}


def _expected(layout: Mapping[str, range]) -> dict[str, list[str]]:
    full = {"_default": range(0), **layout}
    return {p: sorted(f"r{i}" for i in full[p]) for p in sorted(full)}


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _write_lines(path: Path, lines: list[dict]) -> Path:
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return path


THREE = {"_default": range(0, 3), "pa": range(3, 6), "pb": range(6, 9), "pc": range(0)}


@pytest.fixture
def three(lite_uri: str, collection_name: str) -> Iterator[MilvusStore]:
    """Lite 3: ``_default`` r0-r2, ``pa`` r3-r5, ``pb`` r6-r8, ``pc`` empty."""
    store = _build(lite_uri, f"{collection_name}_src", THREE)
    yield store
    store.close()


# -- round trips -----------------------------------------------------------------------


ODD = {
    "_default": range(0),  # empty: only named partitions hold rows
    "_": range(0, 2),
    "pa": range(2, 4),
    "PA": range(4, 6),  # same letters, other case: another partition
    "_Default": range(6, 8),  # not the default partition
    "in": range(8, 9),  # a word of filter expressions
    LONG: range(9, 11),
    "empty_one": range(0),
}


def _odd_round_trip(uri: str, collection_name: str, tmp_path: Path, suffix: str) -> None:
    with _build(uri, f"{collection_name}_src", ODD) as source:
        path = tmp_path / f"odd{suffix}"
        assert export_collection(source, path, batch_rows=1).rows == 11
    header, _ = read_export(path)
    assert sorted(header.partitions) == sorted(p for p in ODD if p != "_default")
    restored = f"{collection_name}_dst"
    connection = ConnectionConfig(uri=uri)
    assert import_collection(path, restored, connection=connection, batch_rows=1).rows == 11
    with _adopt(uri, restored) as target:
        assert _layout_of(target) == _expected(ODD)
        got = target.get([f"r{i}" for i in range(11)], include_vectors=True)
        assert {r.id: r.metadata for r in got} == {f"r{i}": {"i": i} for i in range(11)}
        vector = np.asarray(next(r for r in got if r.id == "r9").vector, dtype=np.float32)
        assert np.array_equal(vector, np.asarray(_record(9).vector, dtype=np.float32))


def test_odd_partition_names_round_trip_one_row_per_batch(
    uri: str, collection_name: str, tmp_path: Path
) -> None:
    _odd_round_trip(uri, collection_name, tmp_path, ".jsonl")


def test_odd_partition_names_round_trip_through_parquet(
    lite_uri: str, collection_name: str, tmp_path: Path
) -> None:
    _odd_round_trip(lite_uri, collection_name, tmp_path, ".parquet")


@pytest.mark.parametrize("batch_rows", [1, 2, 1000])
def test_rows_interleaved_across_partitions_go_where_each_says(
    three: MilvusStore, lite_uri: str, collection_name: str, tmp_path: Path, batch_rows: int
) -> None:
    # A hand-merged file: rows of all partitions shuffled, so batches alternate.
    path = tmp_path / "backup.jsonl"
    export_collection(three, path)
    lines = _lines(path)
    rows = lines[1:-1]
    random.Random(7).shuffle(rows)
    shuffled = _write_lines(tmp_path / "shuffled.jsonl", [lines[0], *rows, lines[-1]])
    restored = f"{collection_name}_dst"
    connection = ConnectionConfig(uri=lite_uri)
    report = import_collection(shuffled, restored, connection=connection, batch_rows=batch_rows)
    assert report.rows == 9
    with _adopt(lite_uri, restored) as target:
        assert _layout_of(target) == _expected(THREE)


def test_many_partitions_half_of_them_empty(
    lite_uri: str, collection_name: str, tmp_path: Path
) -> None:
    layout = {f"p{k}": (range(k, k + 1) if k % 2 == 0 else range(0)) for k in range(48)}
    with _build(lite_uri, f"{collection_name}_src", layout) as source:
        path = tmp_path / "many.parquet"
        assert export_collection(source, path, batch_rows=1).rows == 24
    restored = f"{collection_name}_dst"
    import_collection(path, restored, connection=ConnectionConfig(uri=lite_uri), batch_rows=1)
    with _adopt(lite_uri, restored) as target:
        assert _layout_of(target) == _expected(layout)


def test_importing_the_same_file_twice_changes_nothing(
    three: MilvusStore, lite_uri: str, collection_name: str, tmp_path: Path
) -> None:
    path = tmp_path / "backup.parquet"
    export_collection(three, path)
    restored = f"{collection_name}_dst"
    connection = ConnectionConfig(uri=lite_uri)
    import_collection(path, restored, connection=connection)
    assert import_collection(path, restored, connection=connection).rows == 9
    with _adopt(lite_uri, restored) as target:
        assert target.count() == 9
        assert _layout_of(target) == _expected(THREE)


# -- existing targets ------------------------------------------------------------------


def test_import_into_an_existing_collection_without_the_partitions_creates_them(
    uri: str, collection_name: str, tmp_path: Path
) -> None:
    # DEFECT (fixed): the target exists (created by the user with the same spec, or left with
    # only _default by anything) but lacks 'pa'/'pb'. _check_file (portable.py) calls
    # existing.check_write(records, partition_name='pa') BEFORE import_collection creates
    # the header's partitions; _refuse_other_partitions (ops/writes.py) then raises
    # InvalidInputError "no such partition", which _check_file turns into
    # ExportFileError "a row from this line on cannot be written". Expected: the import
    # creates the missing partitions (as it does for a new collection) and writes the
    # rows into them, keeping the target's own rows.
    layout = {"_default": range(0, 2), "pa": range(2, 4), "pb": range(4, 6)}
    with _build(uri, f"{collection_name}_src", layout) as source:
        path = tmp_path / "backup.jsonl"
        export_collection(source, path)
    restored = f"{collection_name}_dst"
    with MilvusStore(_spec(restored), connection=ConnectionConfig(uri=uri)) as target:
        target.upsert([_record(99)])  # the target's own row, in _default
        target.flush()
    report = import_collection(path, restored, connection=ConnectionConfig(uri=uri))
    assert report.rows == 6
    with _adopt(uri, restored) as target:
        assert _layout_of(target) == {
            "_default": ["r0", "r1", "r99"],
            "pa": ["r2", "r3"],
            "pb": ["r4", "r5"],
        }


def test_a_rerun_after_a_partition_dropped_mid_import_completes_it(
    three: MilvusStore, lite_uri: str, collection_name: str, tmp_path: Path
) -> None:
    # DEFECT (fixed): the failure part-way is reported correctly (ImportFailedError, 6 rows
    # written, "re-running the same import completes it"), but the re-run is refused
    # with ExportFileError "partition_name='pb': ... has no such partition": same root
    # cause as above (_check_file checks writes into partitions the import has not
    # recreated yet). Expected: the re-run recreates 'pb' and completes the import.
    path = tmp_path / "backup.jsonl"
    export_collection(three, path)
    restored = f"{collection_name}_dst"
    connection = ConnectionConfig(uri=lite_uri)

    def another_client_drops_pb(written: int) -> None:
        if written == 6:  # _default and pa written; pb is next
            with _adopt(lite_uri, restored) as other:
                other.drop_partition("pb")

    with pytest.raises(ImportFailedError) as caught:
        import_collection(
            path, restored, connection=connection, batch_rows=3, on_progress=another_client_drops_pb
        )
    assert caught.value.rows_written == 6
    assert caught.value.rows_total == 9
    report = import_collection(path, restored, connection=connection, batch_rows=3)
    assert report.rows == 9
    with _adopt(lite_uri, restored) as target:
        assert _layout_of(target) == _expected(THREE)


def test_drop_old_replaces_a_collection_that_has_other_partitions(
    three: MilvusStore, lite_uri: str, collection_name: str, tmp_path: Path
) -> None:
    path = tmp_path / "backup.jsonl"
    export_collection(three, path)
    restored = f"{collection_name}_dst"
    with _build(lite_uri, restored, {"zz": range(50, 52), "pa": range(60, 61)}):
        pass
    connection = ConnectionConfig(uri=lite_uri)
    assert import_collection(path, restored, connection=connection, drop_old=True).rows == 9
    with _adopt(lite_uri, restored) as target:
        assert _layout_of(target) == _expected(THREE)  # zz, r50, r51, r60 gone


def test_drop_old_with_a_bad_file_keeps_the_old_collection(
    three: MilvusStore, lite_uri: str, collection_name: str, tmp_path: Path
) -> None:
    path = tmp_path / "backup.jsonl"
    export_collection(three, path)
    lines = _lines(path)
    lines[-2]["partition"] = "nope"  # the last row: found only after the others
    bad = _write_lines(tmp_path / "bad.jsonl", lines)
    restored = f"{collection_name}_dst"
    old_layout = {"zz": range(50, 52)}
    with _build(lite_uri, restored, old_layout):
        pass
    with pytest.raises(ExportFileError, match="do not list") as caught:
        import_collection(bad, restored, connection=ConnectionConfig(uri=lite_uri), drop_old=True)
    assert caught.value.line == len(lines) - 1
    with _adopt(lite_uri, restored) as target:
        assert _layout_of(target) == _expected(old_layout)


def test_existing_partitions_keep_their_other_rows(
    three: MilvusStore, lite_uri: str, collection_name: str, tmp_path: Path
) -> None:
    path = tmp_path / "backup.jsonl"
    export_collection(three, path)
    restored = f"{collection_name}_dst"
    with _build(lite_uri, restored, {"_default": range(61, 62), "pa": range(60, 61), "pb": []}):
        pass
    import_collection(path, restored, connection=ConnectionConfig(uri=lite_uri))
    with _adopt(lite_uri, restored) as target:
        assert _layout_of(target) == {
            "_default": ["r0", "r1", "r2", "r61"],
            "pa": ["r3", "r4", "r5", "r60"],
            "pb": ["r6", "r7", "r8"],
            "pc": [],
        }


def test_an_id_held_by_another_partition_is_refused_on_its_own_line(
    three: MilvusStore, lite_uri: str, collection_name: str, tmp_path: Path
) -> None:
    # DEFECT (fixed; minor): the refusal is right and nothing is written or created, but
    # ExportFileError.line is the FIRST line of the batch checked (line 8, r6, the first
    # row of pb) rather than the line of the refused row r7 (line 9): _check_file
    # (portable.py) raises with `line=first` from _batches for check_write failures,
    # while validation errors are re-checked row by row to name the exact line.
    # Expected: .line is the refused row's, as for every other row error.
    path = tmp_path / "backup.jsonl"
    export_collection(three, path)
    lines = _lines(path)
    line_of_r7 = next(n for n, row in enumerate(lines, 1) if row.get("id") == "r7")
    restored = f"{collection_name}_dst"
    before = {"pa": range(7, 8), "pb": range(0)}  # r7 in pa here, in pb in the file
    with _build(lite_uri, restored, before):
        pass
    with pytest.raises(ExportFileError, match="r7") as caught:
        import_collection(path, restored, connection=ConnectionConfig(uri=lite_uri))
    with _adopt(lite_uri, restored) as target:
        assert _layout_of(target) == _expected(before)  # no 'pc' created, nothing written
    assert caught.value.line == line_of_r7


# -- hand-edited and odd files ---------------------------------------------------------


def _retyped(column: list, kind: str) -> object:
    import pyarrow as pa

    if kind == "int64":
        return pa.array([None if v is None else 1 for v in column], pa.int64())
    if kind == "nulls":
        return pa.array([None] * len(column), pa.string())
    if kind == "empty":
        return pa.array(["" if v is None else v for v in column], pa.string())
    if kind == "dictionary":
        return pa.array(column, pa.string()).dictionary_encode()
    return pa.array(column, pa.large_string())


@pytest.mark.parametrize(
    ("kind", "refused_row"),
    [("int64", 4), ("empty", 1), ("nulls", None), ("dictionary", None), ("large", None)],
)
def test_parquet_partition_column_of_another_type(
    three: MilvusStore,
    lite_uri: str,
    collection_name: str,
    tmp_path: Path,
    kind: str,
    refused_row: int | None,
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "backup.parquet"
    export_collection(three, path)
    table = pq.read_table(path)
    where = table.schema.get_field_index("partition")
    column = _retyped(table.column("partition").to_pylist(), kind)
    edited = table.set_column(where, pa.field("partition", column.type), column)  # type: ignore[attr-defined]
    out = tmp_path / "edited.parquet"
    pq.write_table(edited.replace_schema_metadata(table.schema.metadata), out)
    restored = f"{collection_name}_dst"
    connection = ConnectionConfig(uri=lite_uri)
    if refused_row is not None:
        with pytest.raises(ExportFileError, match="do not list") as caught:
            import_collection(out, restored, connection=connection)
        assert caught.value.line == refused_row
        with _adopt(lite_uri, restored) as target:
            assert not target.exists()
        return
    assert import_collection(out, restored, connection=connection).rows == 9
    with _adopt(lite_uri, restored) as target:
        if kind == "nulls":  # a null partition is the default one: every row there
            expected = {"_default": range(0, 9), "pa": [], "pb": [], "pc": []}
            assert _layout_of(target) == _expected(expected)
        else:
            assert _layout_of(target) == _expected(THREE)


def test_a_header_with_partitions_and_a_partition_key_is_refused(
    three: MilvusStore, lite_uri: str, collection_name: str, tmp_path: Path
) -> None:
    path = tmp_path / "backup.jsonl"
    export_collection(three, path)
    lines = _lines(path)
    spec = lines[0]["spec"]
    spec["metadata_fields"] = [{"name": "tenant", "type": "VARCHAR", "max_length": 32}]
    spec["partition_key"] = "tenant"
    for row in lines[1:-1]:
        row["metadata"]["tenant"] = "t1"
    edited = _write_lines(tmp_path / "keyed.jsonl", lines)
    restored = f"{collection_name}_dst"
    with pytest.raises(ExportFileError, match="partition key") as caught:
        import_collection(edited, restored, connection=ConnectionConfig(uri=lite_uri))
    assert caught.value.line == 1
    with _adopt(lite_uri, restored) as target:
        assert not target.exists()


def test_read_export_and_read_export_rows_agree(three: MilvusStore, tmp_path: Path) -> None:
    path = tmp_path / "backup.parquet"
    export_collection(three, path, batch_rows=2)
    header, plain = read_export(path)
    header2, rich = read_export_rows(path)
    assert header == header2
    plain_rows = [(line, r.id) for line, r in plain]
    rich_rows = [(line, r.id, p) for line, r, p in rich]
    assert plain_rows == [(line, rid) for line, rid, _ in rich_rows]
    where = {rid: p for _, rid, p in rich_rows}
    assert where == {f"r{i}": p if p != "_default" else None for p, n in THREE.items() for i in n}
    # Both refuse a row naming an unlisted partition, at that row.
    jsonl = tmp_path / "backup.jsonl"
    export_collection(three, jsonl)
    lines = _lines(jsonl)
    lines[3]["partition"] = "ghost"
    bad = _write_lines(tmp_path / "bad.jsonl", lines)
    for reader in (read_export, read_export_rows):
        _, rows = reader(bad)
        with pytest.raises(ExportFileError, match="do not list") as caught:
            list(rows)
        assert caught.value.line == 4


# -- another client during an export ---------------------------------------------------


def test_a_row_moved_between_partitions_during_export_gives_an_importable_file(
    three: MilvusStore, lite_uri: str, collection_name: str, tmp_path: Path
) -> None:
    # DEFECT (fixed): the export reads _default, then each named partition in turn
    # (pages_by_partition, portable.py). Another client moving r0 from _default into pb
    # after the _default pages were read makes r0 appear twice: export_collection
    # reports 10 rows for a 9-row collection and writes a file that import_collection
    # then refuses ("id 'r0' is on line 2 and again on line N"): a backup that cannot
    # be restored. (Before the refactor, one query_iterator over the collection paged by
    # primary key and could not see an id twice.) Expected: an export whose file
    # imports (each id once), or a typed error leaving no file. Fix: keep the 16-byte
    # id digests during the export too (as _check_file does) and refuse (or skip) a
    # repeated id, or re-read and compare as reindex does.
    moved = []

    def another_client_moves_r0(rows: int) -> None:
        if not moved:
            moved.append(rows)
            with _adopt(lite_uri, three.spec.name) as other:
                other.delete(["r0"])
                other.upsert([_record(0)], partition_name="pb")
                other.flush()

    path = tmp_path / "backup.jsonl"
    try:
        report = export_collection(three, path, batch_rows=3, on_progress=another_client_moves_r0)
    except MilvusPluginsError:
        assert not path.exists()
        assert not list(path.parent.glob("*.partial"))  # the export's own file went too
        return
    assert report.rows == 9
    restored = f"{collection_name}_dst"
    assert import_collection(path, restored, connection=ConnectionConfig(uri=lite_uri)).rows == 9


def test_a_partition_dropped_during_export_is_not_exported_as_empty(
    uri: str, collection_name: str, tmp_path: Path
) -> None:
    # DEFECT (fixed; Lite 3): named partitions are listed once, before the pages are read. On
    # Milvus Lite 3 a partition dropped by another client in between reads as empty, so
    # the export completes with a header listing 'pb' and none of its rows: a state the
    # collection never had (pb existed with 3 rows, then not at all), and an import
    # recreates an empty 'pb'. Expected: a typed error leaving no file, or a file that
    # shows 'pb' as it was (with its rows) or not at all. Fix: list the partitions
    # again after the last page (as reindex's `same_partitions` does) and refuse on a
    # change, removing the .partial file.
    layout = {"_default": range(0, 4), "pa": range(4, 6), "pb": range(6, 9)}
    with _build(uri, f"{collection_name}_src", layout) as source:
        dropped = []

        def another_client_drops_pb(rows: int) -> None:
            if not dropped:
                dropped.append(rows)
                with _adopt(uri, source.spec.name) as other:
                    other.drop_partition("pb")

        path = tmp_path / "backup.jsonl"
        try:
            export_collection(source, path, batch_rows=2, on_progress=another_client_drops_pb)
        except MilvusPluginsError:
            assert not path.exists()
            assert not list(path.parent.glob("*.partial"))  # the export's own file went too
            return
    header, rows = read_export_rows(path)
    in_pb = [record.id for _, record, partition in rows if partition == "pb"]
    assert ("pb" not in header.partitions) or sorted(in_pb) == ["r6", "r7", "r8"]


# -- command line, reindex -------------------------------------------------------------


def test_cli_export_import_keeps_partitions_and_refuses_a_bad_row(
    three: MilvusStore, lite_uri: str, collection_name: str, tmp_path: Path
) -> None:
    source = three.spec.name
    out = run_cli("--uri", lite_uri, "export", source, "kb.parquet", cwd=tmp_path)
    assert out.code == 0, out.err
    restored = f"{collection_name}_dst"
    back = run_cli("--uri", lite_uri, "import", "kb.parquet", restored, cwd=tmp_path)
    assert back.code == 0, back.err
    with _adopt(lite_uri, restored) as target:
        assert _layout_of(target) == _expected(THREE)
    assert run_cli("--uri", lite_uri, "export", source, "kb.jsonl", cwd=tmp_path).code == 0
    lines = _lines(tmp_path / "kb.jsonl")
    lines[2]["partition"] = "nope"
    _write_lines(tmp_path / "bad.jsonl", lines)
    other = f"{collection_name}_bad"
    result = run_cli("--uri", lite_uri, "import", "bad.jsonl", other, cwd=tmp_path)
    assert_one_line_error(result, 2, "bad.jsonl, line 3", "do not list")
    with _adopt(lite_uri, other) as target:
        assert not target.exists()


def test_reindex_then_export_by_alias_keeps_partitions(
    lite_uri: str, collection_name: str, tmp_path: Path
) -> None:
    layout = {"_default": range(0), "pa": range(0, 8), "pb": range(8, 12), "pc": range(0)}
    connection = ConnectionConfig(uri=lite_uri)
    alias = f"{collection_name}_live"
    with _build(lite_uri, f"{collection_name}_v1", layout):
        pass
    point_alias(connection, alias, f"{collection_name}_v1")
    report = reindex(connection, alias, target=f"{collection_name}_v2", k=3, sample_queries=5)
    assert report.rows == 12
    with _adopt(lite_uri, f"{collection_name}_v2") as shadow:
        assert _layout_of(shadow) == _expected(layout)
    path = tmp_path / "by_alias.jsonl"
    with _adopt(lite_uri, alias) as live:
        assert export_collection(live, path, batch_rows=5).rows == 12
    restored = f"{collection_name}_dst"
    import_collection(path, restored, connection=connection)
    with _adopt(lite_uri, restored) as target:
        assert _layout_of(target) == _expected(layout)


# -- Milvus Lite 2.5.1: no partitions --------------------------------------------------


@pytest.mark.lite25
def test_lite25_refuses_a_partitioned_parquet_even_with_drop_old_keeping_its_collection(
    lite25_server: object, lite_uri: str, tmp_path: Path, collection_name: str
) -> None:
    with _build(lite_uri, collection_name, {"pc": range(0)}) as source:  # one empty partition
        source.upsert([_record(i) for i in range(3)])
        path = tmp_path / "backup.parquet"
        export_collection(source, path)
    assert read_export(path)[0].partitions == ("pc",)
    target_uri = lite25_server.uri  # type: ignore[attr-defined]
    connection = ConnectionConfig(uri=target_uri)
    with MilvusStore(_spec(collection_name), connection=connection) as old:
        old.upsert([_record(40), _record(41)])
    try:
        with pytest.raises(UnsupportedByServerError, match="partitions"):
            import_collection(path, collection_name, connection=connection, drop_old=True)
        with _adopt(target_uri, collection_name) as target:
            assert target.exists()
            assert sorted(r.id for r in target.query()) == ["r40", "r41"]
    finally:
        with _adopt(target_uri, collection_name) as target:
            target.drop()


@pytest.mark.lite25
def test_lite25_collection_round_trips_without_partitions(
    lite25_server: object, tmp_path: Path, collection_name: str
) -> None:
    target_uri = lite25_server.uri  # type: ignore[attr-defined]
    connection = ConnectionConfig(uri=target_uri)
    restored = f"{collection_name}_dst"
    try:
        with MilvusStore(_spec(collection_name), connection=connection) as source:
            source.upsert([_record(i) for i in range(5)])
            path = tmp_path / "backup.jsonl"
            assert export_collection(source, path, batch_rows=2).rows == 5
        lines = _lines(path)
        assert "partitions" not in lines[0]
        assert all("partition" not in row for row in lines[1:-1])
        assert import_collection(path, restored, connection=connection, batch_rows=2).rows == 5
        with _adopt(target_uri, restored) as target:
            assert sorted(r.id for r in target.query()) == [f"r{i}" for i in range(5)]
    finally:
        for name in (collection_name, restored):
            with _adopt(target_uri, name) as store:
                if store.exists():
                    store.drop()
