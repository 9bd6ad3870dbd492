"""``milvus-plugins export / import / alias / reindex`` end to end, in subprocesses on Lite."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.support.cli_runner import assert_one_line_error, run_cli

from milvus_plugins.core import CollectionSpec, ConnectionConfig, MilvusStore, Record

ROWS = 30


@pytest.fixture
def db(tmp_path: Path) -> str:
    uri = str(tmp_path / "kb.db")
    vectors = np.random.default_rng(3).standard_normal((ROWS, 8)).astype(np.float32)
    store = MilvusStore(CollectionSpec(name="kb", dim=8), connection=ConnectionConfig(uri=uri))
    store.upsert(
        [
            Record(id=f"r{i}", text=f"row {i} ✓", vector=v, metadata={"n": i, "deep": {"x": [i]}})
            for i, v in enumerate(vectors)
        ]
    )
    store.close()
    return uri


def test_export_then_import_copies_every_row(db: str, tmp_path: Path) -> None:
    out = run_cli("--uri", db, "export", "kb", "kb.jsonl", cwd=tmp_path)
    assert out.code == 0, out.err
    assert f"exported {ROWS} rows of 'kb' to kb.jsonl (jsonl)" in out.out
    back = run_cli("--uri", db, "import", "kb.jsonl", "kb_copy", cwd=tmp_path)
    assert back.code == 0, back.err
    assert f"imported {ROWS} rows into 'kb_copy'" in back.out
    copy = MilvusStore(
        CollectionSpec(name="kb_copy"), connection=ConnectionConfig(uri=db), open_mode="adopt"
    )
    assert copy.get(["r7"])[0].metadata == {"n": 7, "deep": {"x": [7]}}
    assert copy.count() == ROWS
    copy.close()


def test_import_of_a_truncated_file_is_a_usage_error_naming_the_line(
    db: str, tmp_path: Path
) -> None:
    assert run_cli("--uri", db, "export", "kb", "kb.jsonl", cwd=tmp_path).code == 0
    path = tmp_path / "kb.jsonl"
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: len(text) // 2], encoding="utf-8")  # cut mid-line
    result = run_cli("--uri", db, "import", "kb.jsonl", "kb_copy", cwd=tmp_path)
    assert_one_line_error(result, 2, "kb.jsonl, line", "cut short")


def test_alias_reindex_and_roll_back(db: str, tmp_path: Path) -> None:
    made = run_cli("--uri", db, "alias", "kb_live", "kb", cwd=tmp_path)
    assert made.code == 0 and "alias 'kb_live' now points at 'kb' (created)" in made.out
    again = run_cli(
        "--uri", db, "reindex", "kb_live", "--index", '{"index_type": "HNSW", "M": 8}',
        cwd=tmp_path,
    )  # fmt: skip
    assert again.code == 0, again.err
    assert "alias 'kb_live' now points at 'kb_live_v2'" in again.out
    assert "roll back with 'milvus-plugins alias kb_live kb'" in again.out
    back = run_cli("--uri", db, "alias", "kb_live", "kb", cwd=tmp_path)
    assert back.code == 0 and "(was 'kb_live_v2')" in back.out


def test_reindex_of_a_collection_name_is_a_usage_error(db: str, tmp_path: Path) -> None:
    result = run_cli("--uri", db, "reindex", "kb", cwd=tmp_path)
    assert_one_line_error(result, 2, "there is no alias 'kb'")


def test_reindex_below_min_recall_exits_1_and_keeps_the_alias(db: str, tmp_path: Path) -> None:
    """A new index ranking by IP where the source ranks by COSINE answers differently
    from the source (FLAT both: exact, so the recall is deterministic: 0.938 on these 30
    rows): refused. (An IVF_FLAT index on them gave 0.4 twice and 1.0 once on Milvus Lite:
    whether its index is built yet at search time is not deterministic.)"""
    assert run_cli("--uri", db, "alias", "kb_live", "kb", cwd=tmp_path).code == 0
    result = run_cli(
        "--uri", db, "reindex", "kb_live", "--index", '{"index_type": "FLAT", "metric": "IP"}',
        "--reference", "source", "--min-recall", "0.99", cwd=tmp_path,
    )  # fmt: skip
    assert_one_line_error(result, 1, "recall@10 =", "still points at 'kb'")
    again = run_cli("--uri", db, "alias", "kb_live", "kb", cwd=tmp_path)
    assert again.code == 0 and "now points at 'kb' (unchanged)" in again.out
