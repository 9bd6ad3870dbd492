"""``milvus-plugins ingest`` given folders and paths a careless user passes (RELIABILITY 132).

Found by a helper's hostile pass over the CLI: two folders holding a file of the same
name replaced each other's chunks (a file was known by its path relative to the folder
given), and ``--prune`` on one folder deleted every other folder's; ``ingest ""`` (an
unset variable) ingested the working directory, and pruned everything else with
``--prune``; symbolic links were followed out of the folder (``/etc/passwd``); a file name
that is not UTF-8 stopped the whole run with advice for the Python API. On Milvus Lite.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.support.cli_runner import Result, assert_one_line_error, run_cli

from milvus_plugins.core import CollectionSpec, ConnectionConfig, MilvusStore

EMBEDDER = """
import hashlib


class Model:
    def embed(self, texts):
        out = []
        for text in texts:
            digest = hashlib.sha256(text.encode("utf-8")).digest()
            out.append([b / 255.0 + 0.01 for b in digest[:8]])
        return out


def make():
    return Model()
"""


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """Two project folders that both hold ``README.md`` and ``guide/intro.md``."""
    (tmp_path / "emb_ingest_paths.py").write_text(EMBEDDER, encoding="utf-8")
    for project in ("projA", "projB"):
        (tmp_path / project / "guide").mkdir(parents=True)
        (tmp_path / project / "README.md").write_text(f"Readme of {project}.\n", "utf-8")
        (tmp_path / project / "guide" / "intro.md").write_text(f"Intro of {project}.\n", "utf-8")
    return tmp_path


def cli(ws: Path, *args: str) -> Result:
    return run_cli("--uri", str(ws / "kb.db"), *args, cwd=ws)


def ingest(ws: Path, path: str, *flags: str) -> Result:
    return cli(ws, "ingest", path, "--collection", "kb", "--embedding", "emb_ingest_paths:make",
               "--no-progress", *flags)  # fmt: skip


def rows(ws: Path) -> dict[str, str]:
    """``{doc_id: text}`` of every chunk (one chunk per file here)."""
    with MilvusStore(
        CollectionSpec(name="kb"), connection=ConnectionConfig(uri=str(ws / "kb.db"))
    ) as store:
        return {r.doc_id: r.text for r in store.query(None)}


def test_files_of_the_same_name_in_two_folders_keep_their_own_chunks(ws: Path) -> None:
    assert ingest(ws, "projA").code == 0
    assert ingest(ws, "projB").code == 0
    texts = sorted(rows(ws).values())
    assert texts == [
        "Intro of projA.",
        "Intro of projB.",
        "Readme of projA.",
        "Readme of projB.",
    ]
    # Re-running one folder still replaces its own chunks, and only those.
    (ws / "projA" / "README.md").write_text("New readme of projA.\n", "utf-8")
    assert ingest(ws, "projA").code == 0
    assert sorted(rows(ws).values()) == [
        "Intro of projA.",
        "Intro of projB.",
        "New readme of projA.",
        "Readme of projB.",
    ]


def test_a_file_is_one_document_whichever_path_names_it(ws: Path) -> None:
    assert ingest(ws, "projA").code == 0
    (ws / "projA" / "guide" / "intro.md").write_text("Changed intro.\n", "utf-8")
    for path in ("projA/guide/intro.md", str(ws / "projA" / "guide"), "./projA/../projA"):
        assert ingest(ws, path).code == 0
    assert sorted(rows(ws).values()) == ["Changed intro.", "Readme of projA."]
    sources = {r for r in rows(ws)}
    assert sources == {
        str((ws / "projA" / "README.md").resolve()),
        str((ws / "projA" / "guide" / "intro.md").resolve()),
    }


def test_prune_removes_only_files_gone_from_its_own_folder(ws: Path) -> None:
    assert ingest(ws, "projA").code == 0
    assert ingest(ws, "projB").code == 0
    (ws / "projB" / "guide" / "intro.md").unlink()
    result = ingest(ws, "projB", "--prune")
    assert result.code == 0, result.err
    assert "pruned 1 files no longer under the path: guide/intro.md" in result.out
    assert sorted(rows(ws).values()) == ["Intro of projA.", "Readme of projA.", "Readme of projB."]


def test_prune_is_refused_for_a_single_file(ws: Path) -> None:
    assert ingest(ws, "projA").code == 0
    result = ingest(ws, "projB/README.md", "--prune")
    assert_one_line_error(result, 2, "--prune removes the chunks of files no longer under a folder")
    assert len(rows(ws)) == 2


@pytest.mark.parametrize("flags", [(), ("--prune",)])
def test_an_empty_path_is_refused_not_taken_for_the_working_directory(
    ws: Path, flags: tuple[str, ...]
) -> None:
    assert ingest(ws, "projA").code == 0
    result = ingest(ws, "", *flags)
    assert_one_line_error(result, 2, "the path to ingest is empty")
    assert len(rows(ws)) == 2


def test_symbolic_links_are_not_followed(
    ws: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("outside")
    (outside / "secret.md").write_text("Outside the folder.\n", "utf-8")
    os.symlink(outside / "secret.md", ws / "projA" / "link.md")
    os.symlink(outside, ws / "projA" / "linked_dir")
    result = ingest(ws, "projA")
    assert result.code == 0, result.err
    assert "skipping" in result.err and "link.md" in result.err and "linked_dir" in result.err
    assert "Outside the folder." not in rows(ws).values()
    assert len(rows(ws)) == 2


def test_a_file_name_that_is_not_utf8_is_skipped_with_a_warning(ws: Path) -> None:
    name = os.fsdecode(b"caf\xe9.md")  # a lone surrogate once decoded
    try:
        (ws / "projA" / name).write_text("Cafe notes.\n", "utf-8")
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system refuses a name that is not UTF-8")
    result = ingest(ws, "projA")
    assert result.code == 0, result.err
    assert "its path is not valid UTF-8" in result.err and "rename it" in result.err
    assert sorted(rows(ws).values()) == ["Intro of projA.", "Readme of projA."]


def test_prune_of_a_folder_whose_files_are_all_gone_removes_their_chunks(ws: Path) -> None:
    assert ingest(ws, "projA").code == 0
    assert ingest(ws, "projB").code == 0
    for path in (ws / "projB").rglob("*.md"):
        path.unlink()
    result = ingest(ws, "projB", "--prune")
    assert result.code == 0, result.err
    assert "pruned 2 files no longer under the path" in result.out
    assert sorted(rows(ws).values()) == ["Intro of projA.", "Readme of projA."]
    # Without --prune an empty folder is still a mistake worth naming.
    assert_one_line_error(ingest(ws, "projB"), 2, "no .txt/.md files under projB")


def test_a_file_given_through_a_link_is_its_target(ws: Path) -> None:
    """The file named by a link is the link's target: one document, under its own name."""
    os.symlink(ws / "projA" / "README.md", ws / "notes.md")
    assert ingest(ws, "projA").code == 0
    assert ingest(ws, "notes.md").code == 0
    assert sorted(rows(ws)) == sorted(
        str((ws / "projA" / name).resolve()) for name in ("README.md", "guide/intro.md")
    )
    result = ingest(ws, "projA", "--prune")
    assert "pruned 0 files" in result.out
    assert len(rows(ws)) == 2
