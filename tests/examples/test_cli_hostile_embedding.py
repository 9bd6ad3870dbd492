"""``--embedding package.module:factory`` given a broken model, end to end on Milvus Lite.

A factory that raises, an ``embed()`` that raises, returns too few vectors, no numbers or
NaN: one ``error: --embedding ...`` line, exit code 2, no traceback, and nothing written
(no collection created, no alias switched).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.cli_runner import Result, assert_one_line_error, run_cli

from milvus_plugins.core import (
    CollectionSpec,
    ConnectionConfig,
    MilvusStore,
    Record,
    point_alias,
    resolve_alias,
)

DIM = 8

EMBEDDERS = """
import hashlib


def _vector(text):
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return [b / 255.0 + 0.01 for b in digest[:8]]


class Model:
    def __init__(self, how):
        self.how = how

    def embed(self, texts):
        if self.how == "raises":
            raise ValueError("the model server said no")
        if self.how == "short":  # one vector fewer than texts
            return [_vector(t) for t in texts[1:]]
        if self.how == "nan":
            return [[float("nan")] * 8 for _ in texts]
        if self.how == "words":
            return [["a", "b"] for _ in texts]
        if self.how == "drift":  # 8-d on the first call, 9-d after
            self.calls = getattr(self, "calls", 0) + 1
            return [_vector(t) + [0.5] * (self.calls > 1) for t in texts]
        return [_vector(t) for t in texts]


def good():
    return Model("good")


def broken():
    raise RuntimeError("model failed to load")


def raises():
    return Model("raises")


def short():
    return Model("short")


def nan():
    return Model("nan")


def words():
    return Model("words")


def drift():
    return Model("drift")
"""


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """A working directory with the embedders module, docs and ``kb.db``: collection
    ``notes`` (8-d) behind alias ``live``."""
    (tmp_path / "emb.py").write_text(EMBEDDERS, encoding="utf-8")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "one.md").write_text("A short note about vectors.\n", encoding="utf-8")
    words = " ".join(f"word{i}" for i in range(120))
    (docs / "long.md").write_text(words + "\n", encoding="utf-8")  # several chunks
    connection = ConnectionConfig(uri=str(tmp_path / "kb.db"))
    with MilvusStore(CollectionSpec(name="notes", dim=DIM), connection=connection) as store:
        store.upsert(
            [
                Record(id=f"r{i}", text=f"row {i}", vector=[float(i + 1)] + [0.5] * (DIM - 1))
                for i in range(4)
            ]
        )
    point_alias(connection, "live", "notes")
    return tmp_path


def cli(ws: Path, *args: str) -> Result:
    return run_cli("--uri", str(ws / "kb.db"), *args, cwd=ws)


def collections(ws: Path) -> set[str]:
    with MilvusStore(
        CollectionSpec(name="_probe"), connection=ConnectionConfig(uri=str(ws / "kb.db"))
    ) as probe:
        return set(probe.list_collections())


def ingest(ws: Path, embedding: str) -> Result:
    return cli(ws, "ingest", "docs", "--collection", "new", "--chunk-size", "200",
               "--embedding", embedding)  # fmt: skip


def test_the_good_embedder_works(ws: Path) -> None:
    """The fixture's embedder module and collection are sound: the failures below are
    the broken models' own."""
    assert ingest(ws, "emb:good").code == 0
    search = cli(ws, "search", "x", "--collection", "notes", "--mode", "dense",
                 "--embedding", "emb:good")  # fmt: skip
    assert search.code == 0, search.err


@pytest.mark.parametrize("command", ["ingest", "search", "reindex"])
def test_a_factory_that_raises_is_one_line_exit_2(ws: Path, command: str) -> None:
    args = {
        "ingest": ("ingest", "docs", "--collection", "new"),
        "search": ("search", "x", "--collection", "notes", "--mode", "dense"),
        "reindex": ("reindex", "live"),
    }[command]
    result = cli(ws, *args, "--embedding", "emb:broken")
    assert_one_line_error(
        result, 2, "--embedding 'emb:broken' failed to load: RuntimeError: model failed to load"
    )
    assert collections(ws) == {"notes"}  # no collection made, no reindex copy
    assert resolve_alias(ConnectionConfig(uri=str(ws / "kb.db")), "live") == "notes"


def test_a_factory_whose_module_fails_at_import_is_one_line_exit_2(ws: Path) -> None:
    (ws / "bad_module.py").write_text("raise KeyError('no config')\n", encoding="utf-8")
    result = ingest(ws, "bad_module:anything")
    assert_one_line_error(result, 2, "--embedding 'bad_module:anything' failed to load: KeyError")
    assert collections(ws) == {"notes"}


@pytest.mark.parametrize("command", ["ingest", "search"])
def test_too_few_vectors_are_refused_naming_the_counts(ws: Path, command: str) -> None:
    if command == "ingest":
        result = ingest(ws, "emb:short")
        # long.md comes in several chunks; one.md in one (then 0 vectors for 1 text).
        assert_one_line_error(result, 2, "--embedding 'emb:short' returned ", " vectors for ")
        assert "one vector per text" in result.err
    else:
        result = cli(ws, "search", "x", "--collection", "notes", "--mode", "dense",
                     "--embedding", "emb:short")  # fmt: skip
        assert_one_line_error(result, 2, "--embedding 'emb:short' returned 0 vectors for 1 text")
    assert collections(ws) == {"notes"}  # the ingest made no (empty) collection


def test_an_embed_call_that_raises_is_one_line_exit_2(ws: Path) -> None:
    result = ingest(ws, "emb:raises")
    assert_one_line_error(
        result, 2, "--embedding 'emb:raises' failed on ", "ValueError: the model server said no"
    )
    assert collections(ws) == {"notes"}


def test_vectors_that_are_not_numbers_are_refused(ws: Path) -> None:
    result = cli(ws, "search", "x", "--collection", "notes", "--mode", "dense",
                 "--embedding", "emb:words")  # fmt: skip
    assert_one_line_error(result, 2, "--embedding 'emb:words'", "not one list of numbers per text")


def test_nan_vectors_leave_no_empty_collection_behind(ws: Path) -> None:
    result = ingest(ws, "emb:nan")
    assert_one_line_error(
        result, 2, "--embedding 'emb:nan' returned vectors Milvus cannot store", "NaN"
    )
    assert collections(ws) == {"notes"}


def test_a_reindex_whose_embedder_is_short_switches_nothing(ws: Path) -> None:
    result = cli(ws, "reindex", "live", "--embedding", "emb:short")
    assert_one_line_error(result, 2, "--embedding 'emb:short' returned 3 vectors for 4 texts")
    assert collections(ws) == {"notes"}
    assert resolve_alias(ConnectionConfig(uri=str(ws / "kb.db")), "live") == "notes"


def test_vectors_refused_after_the_first_file_say_what_was_written(ws: Path) -> None:
    result = ingest(ws, "emb:drift")
    assert_one_line_error(
        result,
        2,
        "--embedding 'emb:drift' returned vectors Milvus cannot store for one.md",
        "dimension 9",
        "The 1 files before it were ingested (re-runs replace them)",
    )
    with MilvusStore(
        CollectionSpec(name="new"),
        connection=ConnectionConfig(uri=str(ws / "kb.db")),
        open_mode="adopt",
    ) as store:
        assert {r.metadata["source"] for r in store.query(None)} == {"long.md"}
