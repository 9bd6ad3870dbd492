"""Export / import, reindex and migrate given careless or hostile input (Milvus Lite 3).

Named dense fields and text match survive every copy; hand-edited files, bad paths and
a misbehaving embed function are refused with typed errors naming the file, line or
argument, and nothing is written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pymilvus.exceptions import MilvusException

from milvus_plugins.cli import main
from milvus_plugins.core import (
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    ExportFileError,
    InvalidInputError,
    MilvusConnectionError,
    MilvusStore,
    Record,
    RetryPolicy,
    export_collection,
    import_collection,
    point_alias,
    reindex,
    resolve_alias,
)
from milvus_plugins.core.filters.tree import text_match
from milvus_plugins.core.migration import migrate, migration_target_spec

DIM = 4


def _vec(i: int) -> list[float]:
    return [float(i + 1), float(i * 7 % 5 + 1), float(i * 3 % 11 + 1), 0.5]


def _title(i: int) -> list[float]:
    return [1.0, float(i + 1), 2.0]


def _named(uri: str, name: str, rows: int = 6) -> MilvusStore:
    spec = CollectionSpec(
        name=name,
        dim=DIM,
        sparse="bm25",
        text_match=True,
        vector_fields={"title": {"dim": 3, "metric": "L2"}},
    )
    store = MilvusStore(spec, connection=ConnectionConfig(uri=uri))
    store.upsert(
        [
            Record(
                id=f"r{i}", text=f"hello world {i}", vector=_vec(i), vectors={"title": _title(i)}
            )
            for i in range(rows)
        ],
        progress=False,
    )
    return store


def _titles(uri: str, name: str) -> dict[str, list[float]]:
    """The named ``title`` vectors of ``name``, read through a spec that declares them."""
    spec = CollectionSpec(name=name, vector_fields={"title": 3})
    with MilvusStore(spec, connection=ConnectionConfig(uri=uri), open_mode="adopt") as store:
        records = store.query(include_vectors=True)
    return {r.id: [float(x) for x in r.vectors.get("title", [])] for r in records}


def _collections(uri: str) -> list[str]:
    with MilvusStore(
        CollectionSpec(name="probe"), connection=ConnectionConfig(uri=uri), open_mode="adopt"
    ) as store:
        return sorted(store.list_collections())


# -- named vectors, text match, sparse-only ----------------------------------------------


@pytest.mark.parametrize("suffix", ["jsonl", "parquet"])
def test_named_vectors_and_text_match_survive_export_import(
    lite_uri: str, tmp_path: Path, suffix: str
) -> None:
    _named(lite_uri, "src").close()
    path = tmp_path / f"e.{suffix}"
    # Adopted (as the command line opens it): the store was not told about `title`.
    with MilvusStore(
        CollectionSpec(name="src"), connection=ConnectionConfig(uri=lite_uri), open_mode="adopt"
    ) as adopted:
        assert export_collection(adopted, path).rows == 6
    report = import_collection(path, "copy", connection=ConnectionConfig(uri=lite_uri))
    assert report.rows == 6
    assert _titles(lite_uri, "copy") == {f"r{i}": _title(i) for i in range(6)}
    with MilvusStore(
        CollectionSpec(name="copy"), connection=ConnectionConfig(uri=lite_uri), open_mode="adopt"
    ) as copy:
        assert len(copy.query(text_match("hello"))) == 6
        title = copy.client.describe_index("copy", copy.client.list_indexes("copy", "title")[0])
        assert title["metric_type"] == "L2"


class _Flaky:
    """``store.client.<method>`` failing its first ``failures`` calls with a genuine
    transient ``MilvusException`` (service unavailable); every other call reaches Milvus."""

    def __init__(self, store: MilvusStore, method: str, failures: int) -> None:
        self.real = getattr(store.client, method)
        self.failures, self.calls = failures, 0
        setattr(store.client, method, self)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls <= self.failures:
            raise MilvusException(code=2, message="service unavailable: node is restarting")
        return self.real(*args, **kwargs)


def test_a_transient_fault_while_describing_a_named_field_does_not_change_its_metric(
    lite_uri: str, tmp_path: Path
) -> None:
    # The export reads the named field's metric from its index description. A fault
    # there was once taken for "no index": the copy's `title` came back COSINE, not L2.
    _named(lite_uri, "src").close()
    path = tmp_path / "e.jsonl"
    with MilvusStore(
        CollectionSpec(name="src"), connection=ConnectionConfig(uri=lite_uri), open_mode="adopt"
    ) as adopted:
        adopted.retry = RetryPolicy(attempts=3, initial_backoff=0.01, max_backoff=0.02)
        assert adopted.count() == 6  # opened: the next description is the export's
        flaky = _Flaky(adopted, "describe_index", failures=1)
        assert export_collection(adopted, path).rows == 6
        assert flaky.calls >= 2
    header = json.loads(path.read_text().splitlines()[0])
    (title,) = header["spec"]["vector_fields"]
    assert title["metric"] == "L2"


@pytest.mark.parametrize("method", ["describe_collection", "describe_index"])
def test_a_lasting_fault_while_exporting_raises_a_typed_error_and_leaves_no_file(
    lite_uri: str, tmp_path: Path, method: str
) -> None:
    _named(lite_uri, "src").close()
    path = tmp_path / "e.jsonl"
    with MilvusStore(
        CollectionSpec(name="src"), connection=ConnectionConfig(uri=lite_uri), open_mode="adopt"
    ) as adopted:
        adopted.retry = RetryPolicy(attempts=3, initial_backoff=0.01, max_backoff=0.02)
        assert adopted.count() == 6
        flaky = _Flaky(adopted, method, failures=10**6)
        with pytest.raises(MilvusConnectionError):
            export_collection(adopted, path)
        assert flaky.calls == 3  # retried by the store's policy, then reported
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("e.")] == []


def test_sparse_only_collection_round_trips(lite_uri: str, tmp_path: Path) -> None:
    spec = CollectionSpec(name="sp", dense=False, sparse="bm25")
    with MilvusStore(spec, connection=ConnectionConfig(uri=lite_uri)) as store:
        store.upsert(
            [Record(id=f"r{i}", text=f"hello world {i}") for i in range(3)], progress=False
        )
        path = tmp_path / "sp.jsonl"
        assert export_collection(store, path).rows == 3
    assert "vector" not in json.loads(path.read_text().splitlines()[1])
    assert import_collection(path, "sp_copy", connection=ConnectionConfig(uri=lite_uri)).rows == 3
    copy_spec = CollectionSpec(name="sp_copy", dense=False, sparse="bm25")
    with MilvusStore(copy_spec, connection=ConnectionConfig(uri=lite_uri)) as copy:
        assert sorted(r.text for r in copy.query()) == [f"hello world {i}" for i in range(3)]


def test_reindex_carries_named_vectors(lite_uri: str) -> None:
    _named(lite_uri, "docs_v1", rows=12).close()
    connection = ConnectionConfig(uri=lite_uri)
    point_alias(connection, "docs", "docs_v1")
    report = reindex(connection, "docs", index={"index_type": "FLAT", "metric": "COSINE"})
    assert report.current == "docs_v2"
    assert _titles(lite_uri, "docs_v2") == {f"r{i}": _title(i) for i in range(12)}


def test_migrate_carries_named_vectors(lite_uri: str) -> None:
    _named(lite_uri, "mv").close()
    connection = ConnectionConfig(uri=lite_uri)
    src = MilvusStore(CollectionSpec(name="mv"), connection=connection, open_mode="adopt")
    with src, MilvusStore(migration_target_spec(src, "mv_new"), connection=connection) as dst:
        report = migrate(src, dst)
    assert report.ok and report.copied == 6
    assert _titles(lite_uri, "mv_new") == {f"r{i}": _title(i) for i in range(6)}


def test_migrate_refuses_a_target_spec_taken_before_the_source_opened(lite_uri: str) -> None:
    connection = ConnectionConfig(uri=lite_uri)
    spec = CollectionSpec(name="l2", dim=DIM, metric="L2")
    with MilvusStore(spec, connection=connection) as store:
        store.upsert(
            [Record(id=f"r{i}", text="t", vector=_vec(i)) for i in range(3)], progress=False
        )
    with MilvusStore(CollectionSpec(name="l2"), connection=connection, open_mode="adopt") as src:
        early = migration_target_spec(src.spec, "l2_new")  # defaults: COSINE
        with (
            MilvusStore(early, connection=connection) as dst,
            pytest.raises(ConfigError, match="metric COSINE but the source 'l2' uses L2"),
        ):
            migrate(src, dst)
        assert migration_target_spec(src, "x").metric_type.value == "L2"
    assert "l2_new" not in _collections(lite_uri)


def test_migrate_between_a_collection_and_its_alias_is_refused(lite_uri: str) -> None:
    connection = ConnectionConfig(uri=lite_uri)
    with MilvusStore(CollectionSpec(name="src", dim=DIM), connection=connection) as store:
        store.upsert([Record(id="a", text="t", vector=_vec(0))], progress=False)
    point_alias(connection, "live", "src")
    for source, target in (("live", "src"), ("src", "live")):
        with (
            MilvusStore(CollectionSpec(name=source), connection=connection, open_mode="adopt") as a,
            MilvusStore(CollectionSpec(name=target, dim=DIM), connection=connection) as b,
            pytest.raises(ConfigError, match="same collection 'src'"),
        ):
            migrate(a, b)


def test_a_fault_while_resolving_an_alias_does_not_let_a_self_copy_through(
    lite_uri: str,
) -> None:
    # The alias check once took any failure to resolve the source's name for "no alias":
    # a fault there let a copy of `src` onto itself (through its alias) go ahead.
    connection = ConnectionConfig(uri=lite_uri)
    with MilvusStore(CollectionSpec(name="src", dim=DIM), connection=connection) as store:
        store.upsert([Record(id="a", text="t", vector=_vec(0))], progress=False)
    point_alias(connection, "live", "src")
    with (
        MilvusStore(CollectionSpec(name="live"), connection=connection, open_mode="adopt") as a,
        MilvusStore(CollectionSpec(name="src", dim=DIM), connection=connection) as b,
    ):
        a.retry = RetryPolicy(attempts=3, initial_backoff=0.01, max_backoff=0.02)
        assert a.count() == 1
        flaky = _Flaky(a, "has_collection", failures=3)  # the alias check's three tries
        with pytest.raises(MilvusConnectionError):
            migrate(a, b)
        assert flaky.calls == 3
        assert [r.id for r in b.query()] == ["a"]


# -- import: existing collection, duplicates ---------------------------------------------


def _write(path: Path, header_spec: dict[str, object], rows: list[dict[str, object]]) -> None:
    lines = [{"milvus_plugins_export": 1, "collection": "x", "spec": header_spec}]
    lines += rows
    lines.append({"end": {"rows": len(rows)}})
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")


def _row(i: int, text: str = "short") -> dict[str, object]:
    return {"id": f"r{i}", "text": text, "vector": _vec(i)}


def test_import_into_an_existing_collection_checks_its_limits_before_writing(
    lite_uri: str, tmp_path: Path
) -> None:
    connection = ConnectionConfig(uri=lite_uri)
    spec = CollectionSpec(name="dst", dim=DIM, text_max_length=8)
    with MilvusStore(spec, connection=connection) as store:
        store.upsert([Record(id="own", text="mine", vector=_vec(9))], progress=False)
    path = tmp_path / "e.jsonl"
    _write(path, {"dim": DIM}, [_row(0), _row(1), _row(2), _row(3, "x" * 18)])
    with pytest.raises(ExportFileError, match=r"line 5: .*text_max_length=8") as caught:
        import_collection(path, "dst", connection=connection, batch_rows=1)
    assert caught.value.line == 5
    with MilvusStore(spec, connection=connection) as store:
        assert [r.id for r in store.query()] == ["own"]


def test_duplicate_ids_in_different_batches_are_refused_naming_both_lines(
    lite_uri: str, tmp_path: Path
) -> None:
    path = tmp_path / "dup.jsonl"
    _write(path, {"dim": DIM}, [_row(0), _row(1), _row(2), {**_row(0), "text": "SECOND"}])
    with pytest.raises(ExportFileError, match="on line 2 and again on line 5") as caught:
        import_collection(path, "dst", connection=ConnectionConfig(uri=lite_uri), batch_rows=2)
    assert caught.value.line == 5
    assert "dst" not in _collections(lite_uri)


# -- hand-edited files ---------------------------------------------------------------------


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


HOSTILE: dict[str, tuple[str, int, str]] = {
    # name: (file text, line named, message)
    "tml_overflow": (
        '{"milvus_plugins_export": 1, "spec": {"dim": 4, "text_max_length": 1e400}}\n',
        1,
        "text_max_length=inf must be an integer",
    ),
    "tml_string": (
        '{"milvus_plugins_export": 1, "spec": {"dim": 4, "id_max_length": "abc"}}\n',
        1,
        "id_max_length='abc' must be an integer",
    ),
    "tml_float": (
        '{"milvus_plugins_export": 1, "spec": {"dim": 4, "text_max_length": 3.9}}\n',
        1,
        "text_max_length=3.9 must be an integer",
    ),
    "version_true": (
        '{"milvus_plugins_export": true, "spec": {"dim": 4}}\n',
        1,
        "version True is not supported",
    ),
    "end_true": (
        '{"milvus_plugins_export": 1, "spec": {"dim": 4}}\n'
        '{"id": "a", "vector": [1, 2, 3, 4]}\n{"end": {"rows": true}}\n',
        3,
        "the end line says",
    ),
    "vector_bool": (
        '{"milvus_plugins_export": 1, "spec": {"dim": 4}}\n'
        '{"id": "a", "vector": [true, 1, 1, 1]}\n{"end": {"rows": 1}}\n',
        2,
        "'vector' must be a list of numbers",
    ),
    "sparse_on_dense": (
        '{"milvus_plugins_export": 1, "spec": {"dim": 4}}\n'
        '{"id": "a", "vector": [1, 2, 3, 4], "sparse": {"3": 0.5}}\n{"end": {"rows": 1}}\n',
        2,
        "carries a 'sparse' vector",
    ),
    "deep_metadata": (
        '{"milvus_plugins_export": 1, "spec": {"dim": 4}}\n'
        '{"id": "a", "vector": [1, 2, 3, 4], "metadata": {"k": ' + _deep(100_000) + "}}\n"
        '{"end": {"rows": 1}}\n',
        2,
        "nested too deeply",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hand_edited_files_are_refused_naming_file_and_line(
    lite_uri: str, tmp_path: Path, case: str
) -> None:
    text, line, message = HOSTILE[case]
    path = tmp_path / f"{case}.jsonl"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ExportFileError, match=message) as caught:
        import_collection(path, "dst", connection=ConnectionConfig(uri=lite_uri))
    assert (caught.value.path, caught.value.line) == (str(path), line)
    assert "dst" not in _collections(lite_uri)


@pytest.mark.parametrize("kind", ["directory", "missing"])
def test_a_directory_or_missing_file_is_refused_naming_which(
    lite_uri: str, tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "backup.jsonl"
    if kind == "directory":
        path.mkdir()
    message = (
        "is a directory; name the export file inside it"
        if kind == "directory"
        else ("no such file")
    )
    with pytest.raises(ExportFileError, match=message) as caught:
        import_collection(path, "dst", connection=ConnectionConfig(uri=lite_uri))
    assert (caught.value.path, caught.value.line) == (str(path), None)
    assert "dst" not in _collections(lite_uri)


def test_deeply_nested_parquet_metadata_is_refused(lite_uri: str, tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    with MilvusStore(
        CollectionSpec(name="src", dim=DIM), connection=ConnectionConfig(uri=lite_uri)
    ) as store:
        store.upsert([Record(id="a", text="t", vector=_vec(0))], progress=False)
        good = tmp_path / "good.parquet"
        export_collection(store, good)
    table = pq.read_table(good)
    column = table.schema.get_field_index("metadata")
    bad_table = table.set_column(column, "metadata", pa.array(['{"k": ' + _deep(100_000) + "}"]))
    bad = tmp_path / "bad.parquet"
    pq.write_table(bad_table, bad)
    with pytest.raises(ExportFileError, match="nested too deeply") as caught:
        import_collection(bad, "dst", connection=ConnectionConfig(uri=lite_uri))
    assert caught.value.line == 1
    assert "dst" not in _collections(lite_uri)


# -- export paths ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("", "is empty"),
        ("nodir/x.jsonl", "does not exist; create it first"),
        ("adir", "names a directory"),
        ("x.parquet/", "names a directory"),
        ("milvus.db", "names a directory"),
    ],
)
def test_export_to_a_bad_path_is_refused_leaving_nothing(
    lite_uri: str, tmp_path: Path, where: str, message: str
) -> None:
    (tmp_path / "adir").mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    target = str(tmp_path / where) if where else ""
    if where.endswith("/"):
        target += "/"
    with MilvusStore(
        CollectionSpec(name="src", dim=DIM), connection=ConnectionConfig(uri=lite_uri)
    ) as store:
        store.upsert([Record(id="a", text="t", vector=_vec(0))], progress=False)
        before = sorted(p.name for p in tmp_path.iterdir())
        with pytest.raises(ConfigError, match=message):
            export_collection(store, target)
        assert store.count() == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert list((tmp_path / "adir").iterdir()) == []


# -- reindex with a faulty embed -----------------------------------------------------------


@pytest.mark.parametrize(
    ("embed", "message"),
    [
        (lambda texts: [[1.0, 2.0, 3.0]] * (len(texts) - 1), "returned 11 vectors for the 12"),
        (lambda texts: None, "returned NoneType"),
        (lambda texts: [["1", "2", "3"]] * len(texts), "strings"),
    ],
    ids=["too_few", "none", "strings"],
)
def test_reindex_with_a_faulty_embed_switches_nothing(
    lite_uri: str, embed: object, message: str
) -> None:
    connection = ConnectionConfig(uri=lite_uri)
    with MilvusStore(CollectionSpec(name="src", dim=DIM), connection=connection) as store:
        store.upsert(
            [Record(id=f"r{i}", text=f"t{i}", vector=_vec(i)) for i in range(12)], progress=False
        )
    point_alias(connection, "live", "src")
    with pytest.raises(InvalidInputError, match=message):
        reindex(connection, "live", embed=embed, min_recall=0.0)  # type: ignore[arg-type]
    assert resolve_alias(connection, "live") == "src"


# -- command line --------------------------------------------------------------------------


def test_cli_import_with_an_empty_collection_name_blames_the_argument(
    lite_uri: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "e.jsonl"
    _write(path, {"dim": DIM}, [_row(0)])
    assert main(["--uri", lite_uri, "import", str(path), ""]) == 2
    err = capsys.readouterr().err
    assert "collection=''" in err and "header" not in err


def test_cli_timeout_nan_is_a_usage_error(
    lite_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--uri", lite_uri, "--timeout", "nan", "info"])
    assert caught.value.code == 2
    assert "positive, finite number of seconds" in capsys.readouterr().err
