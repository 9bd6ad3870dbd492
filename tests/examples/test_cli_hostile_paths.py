"""The command line given hostile paths, URIs and names, end to end on Milvus Lite.

A ``--uri`` naming something Milvus Lite cannot open, an alias pointed at an alias, an
export file of an unknown suffix, an import of a directory, a reindex of an unknown
name: one ``error:`` line naming the fix, the documented exit code, no traceback, and
nothing left behind. Also ``python -m milvus_plugins``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from tests.support.cli_runner import Result, assert_one_line_error, cli_env, run_cli

from milvus_plugins.core import (
    CollectionSpec,
    ConnectionConfig,
    MilvusStore,
    Record,
    point_alias,
    resolve_alias,
)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """``kb.db`` with collection ``notes`` (4 rows, 4-d) behind alias ``live``."""
    path = tmp_path / "kb.db"
    connection = ConnectionConfig(uri=str(path))
    with MilvusStore(CollectionSpec(name="notes", dim=4), connection=connection) as store:
        store.upsert(
            [
                Record(id=f"r{i}", text=f"row {i}", vector=[i + 1.0, 1.0, 0.5, 0.25])
                for i in range(4)
            ]
        )
    point_alias(connection, "live", "notes")
    return path


def cli(db: Path, *args: str) -> Result:
    return run_cli("--uri", str(db), *args, cwd=db.parent)


def collections(db: Path) -> set[str]:
    with MilvusStore(
        CollectionSpec(name="_probe"), connection=ConnectionConfig(uri=str(db))
    ) as probe:
        return set(probe.list_collections())


# -- --uri: what Milvus Lite cannot open ------------------------------------------------------


def test_uri_naming_a_regular_file_is_refused_and_the_file_kept(tmp_path: Path) -> None:
    fake = tmp_path / "fake.db"
    fake.write_text("hi\n", encoding="utf-8")
    result = run_cli("--uri", str(fake), "info", cwd=tmp_path)
    assert_one_line_error(
        result,
        2,
        f"the URI '{fake}' (--uri or $MILVUS_URI) is a file, not a Milvus Lite database",
        "pass a new path",
    )
    assert fake.read_text(encoding="utf-8") == "hi\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fake.db"]


def test_uri_naming_a_dangling_symlink_is_refused(tmp_path: Path) -> None:
    (tmp_path / "link.db").symlink_to(tmp_path / "nowhere")
    result = run_cli("--uri", str(tmp_path / "link.db"), "info", cwd=tmp_path)
    assert_one_line_error(result, 2, "(--uri or $MILVUS_URI) is a symbolic link to", "nowhere")
    assert not (tmp_path / "nowhere").exists()


def test_milvus_uri_env_var_naming_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "fake.db").write_text("hi\n", encoding="utf-8")
    result = run_cli("info", cwd=tmp_path, env={"MILVUS_URI": "fake.db"})
    assert_one_line_error(result, 2, "'fake.db' (--uri or $MILVUS_URI) is a file")


def test_uri_naming_an_empty_directory_opens_it_as_a_new_database(tmp_path: Path) -> None:
    """Milvus Lite 3 keeps a database in a directory: an existing (empty) one is not
    refused."""
    (tmp_path / "empty.db").mkdir()
    result = run_cli("--uri", str(tmp_path / "empty.db"), "info", cwd=tmp_path)
    assert result.code == 0, result.err
    assert "collections (0)" in result.out


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_a_lite_database_that_cannot_be_created_is_one_line_without_lites_traceback(
    tmp_path: Path,
) -> None:
    # /proc exists, but no directory can be made in it: Milvus Lite fails to start and
    # logs a traceback (logger.exception), which the CLI keeps off stderr.
    result = run_cli("--uri", "/proc/milvus_plugins_test.db", "info", cwd=tmp_path)
    assert_one_line_error(
        result, 4, "could not open the database", "(Milvus Lite: FileNotFoundError"
    )
    assert "Failed to start MilvusLite" not in result.err


@pytest.mark.parametrize(
    ("uri", "needle"),
    [
        ("http://127.0.0.1:99999", "port 99999 is out of range 1-65535"),
        ("http://127.0.0.1:0", "port 0 is out of range 1-65535"),
        ("http://127.0.0.1:abc", "has a port that is not a number ('abc')"),
    ],
)
def test_a_bad_port_is_named_as_such(tmp_path: Path, uri: str, needle: str) -> None:
    result = run_cli("--uri", uri, "info", cwd=tmp_path)
    assert_one_line_error(result, 2, needle, "(--uri or $MILVUS_URI)")


def test_credentials_in_a_refused_uri_are_not_shown(tmp_path: Path) -> None:
    result = run_cli("--uri", "http://root:s3cret@127.0.0.1:99999", "info", cwd=tmp_path)
    assert_one_line_error(result, 2, "port 99999 is out of range")
    assert "s3cret" not in result.err


def test_migrate_target_uri_out_of_range_names_the_flag(db: Path) -> None:
    result = cli(db, "migrate", "notes", "copy", "--target-uri", "http://127.0.0.1:70000")
    assert_one_line_error(result, 2, "(--target-uri)", "port 70000 is out of range")


# -- alias of an alias -----------------------------------------------------------------------


def test_an_alias_of_an_alias_is_refused_naming_the_collection(db: Path) -> None:
    result = cli(db, "alias", "live_b", "live")
    assert_one_line_error(
        result,
        2,
        "'live' is an alias (of 'notes'); an alias cannot point at an alias",
        "'milvus-plugins alias live_b notes'",
    )
    connection = ConnectionConfig(uri=str(db))
    assert resolve_alias(connection, "live_b") is None  # not created
    assert resolve_alias(connection, "live") == "notes"
    # Naming the collection works.
    made = cli(db, "alias", "live_b", "notes")
    assert made.code == 0 and "alias 'live_b' now points at 'notes' (created)" in made.out


def test_arguments_the_other_way_round_are_named_as_such(db: Path) -> None:
    """`alias notes live` (the collection first): the fix used to read
    'milvus-plugins alias notes notes'."""
    result = cli(db, "alias", "notes", "live")
    assert_one_line_error(
        result, 2, "the arguments are the other way round", "'milvus-plugins alias live notes'"
    )
    assert resolve_alias(ConnectionConfig(uri=str(db)), "live") == "notes"


def test_an_existing_alias_is_not_switched_to_an_alias(db: Path) -> None:
    assert cli(db, "alias", "other", "notes").code == 0
    result = cli(db, "alias", "other", "live")
    assert_one_line_error(result, 2, "'live' is an alias (of 'notes')")


# -- reindex of a name that is no alias -----------------------------------------------------


def test_reindex_of_an_unknown_name_exits_3(db: Path) -> None:
    result = cli(db, "reindex", "nope")
    assert_one_line_error(
        result, 3, "there is no alias or collection 'nope'", "milvus-plugins info"
    )
    assert collections(db) == {"notes"}


def test_reindex_of_a_collection_name_says_to_alias_it(db: Path) -> None:
    result = cli(db, "reindex", "notes")
    assert_one_line_error(
        result, 2, "there is no alias 'notes'", "'milvus-plugins alias notes_live notes'"
    )
    assert collections(db) == {"notes"}


# -- export suffixes, import of a directory -------------------------------------------------


@pytest.mark.parametrize(
    ("name", "said"), [("notes.csv", "ends in '.csv'"), ("notes", "has no suffix")]
)
def test_export_to_an_unknown_suffix_is_refused_naming_the_formats(
    db: Path, name: str, said: str
) -> None:
    result = cli(db, "export", "notes", name)
    assert_one_line_error(result, 2, f"the export file '{name}' {said}", ".jsonl or .parquet")
    assert "--format" in result.err
    assert not (db.parent / name).exists()


def test_export_with_format_writes_any_name(db: Path) -> None:
    result = cli(db, "export", "notes", "notes.txt", "--format", "jsonl")
    assert result.code == 0, result.err
    assert "exported 4 rows of 'notes' to notes.txt (jsonl)" in result.out
    upper = cli(db, "export", "notes", "NOTES.JSONL")
    assert upper.code == 0, upper.err


def test_import_of_a_directory_says_it_is_a_directory(db: Path) -> None:
    (db.parent / "exports").mkdir()
    result = cli(db, "import", "exports", "copy")
    assert_one_line_error(result, 2, "'exports' is a directory, not an export file")
    assert collections(db) == {"notes"}


# -- python -m milvus_plugins ---------------------------------------------------------------


def test_python_m_milvus_plugins_runs_the_cli(db: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "milvus_plugins", "--uri", str(db), "info"],
        cwd=db.parent,
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "notes  rows=4" in done.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "milvus_plugins", "--uri", "x.txt", "info"],
        cwd=db.parent,
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=120,
        check=False,
    )
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: ") and "Traceback" not in bad.stderr
