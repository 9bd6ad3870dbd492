"""Every command of ``python -m milvus_plugins``, flag by flag, given careless and hostile
values, end to end on Milvus Lite (in this process, as a fresh process would run it).

For each refused invocation: the documented exit code (0 ok, 1 failed, 2 bad usage or
input, 3 unknown collection, 4 unreachable), one ``error:`` line naming the flag and the
fix without a traceback, and a database that a plain ``pymilvus.MilvusClient`` sees
unchanged (same collections, aliases and rows). Accepted invocations that promise JSON
print JSON. The embedder is a hashing ``flags_emb:good`` factory in the working directory
(no model download).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from milvus_lite.server_manager import server_manager_instance
from pymilvus import MilvusClient
from tests.support.cli_runner import Result, run_cli

from milvus_plugins.core import CollectionSpec, ConnectionConfig, MilvusStore, Record, point_alias

EMBEDDERS = """\
import hashlib

DIM = 8


def _vector(text):
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
    return [b / 255.0 + 0.01 for b in digest[:DIM]]


class Hash:
    def embed(self, texts):
        return [_vector(t) for t in texts]


def good():
    return Hash()
"""

EMB = ("--embedding", "flags_emb:good")  # a module name no other test file uses
SECRET = "sekrit-TOKEN-4242"
Arg = str | bytes


Run = Result  # one finished run: code, out, err, seconds, json()


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """Working dir: ``flags_emb.py``, ``docs/one.md`` and ``kb.db`` (``notes``, 8-d, 4 rows, dense
    only, behind alias ``live``)."""
    (tmp_path / "flags_emb.py").write_text(EMBEDDERS, encoding="utf-8")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "one.md").write_text("A short note about vectors.\n", encoding="utf-8")
    connection = ConnectionConfig(uri=str(tmp_path / "kb.db"))
    with MilvusStore(CollectionSpec(name="notes", dim=8), connection=connection) as store:
        store.upsert(
            [
                Record(
                    id=f"r{i}",
                    text=f"row {i}",
                    vector=[float(i + 1)] + [0.5] * 7,
                    metadata={"n": i},
                )
                for i in range(4)
            ]
        )
    point_alias(connection, "live", "notes")
    return tmp_path


def cli(
    ws: Path,
    *args: Arg,
    uri: Arg | None = "kb.db",
    env: Mapping[str, str] | None = None,
    stdin: str = "",
) -> Run:
    """``milvus-plugins [--uri URI] ARGS`` in ``ws``, without $MILVUS_URI/TOKEN, run in this
    process (a subprocess costs 1.5-3 s of imports; see tests/support/cli_runner.py). Bytes
    arguments are decoded as Python decodes a real argv (``os.fsdecode``)."""
    head: list[Arg] = [] if uri is None else ["--uri", uri]
    argv = [os.fsdecode(a) for a in (*head, *args)]
    return run_cli(*argv, cwd=ws, stdin=stdin, env=env)


def snapshot(ws: Path) -> dict[str, Any]:
    """What a plain pymilvus client sees: collections, aliases and every row's id/text."""
    client = MilvusClient(str(ws / "kb.db"))
    try:
        seen: dict[str, Any] = {"aliases": {}}
        for name in sorted(client.list_collections()):
            client.load_collection(name)
            rows = client.query(name, filter="", output_fields=["id", "text"], limit=16384)
            seen[name] = sorted((r["id"], r["text"]) for r in rows)
            seen["aliases"][name] = sorted(client.list_aliases(collection_name=name)["aliases"])
        return seen
    finally:
        client.close()
        # pymilvus keeps the Lite server (and its lock) until released: free it for the CLI.
        server_manager_instance.release_server(os.path.abspath(ws / "kb.db"))


def refused(run: Run, code: int, *needles: str) -> str:
    """The run exited ``code`` with one ``error:`` line (``note:`` lines aside) holding every
    needle, and no traceback; returns that line."""
    assert run.code == code, (run.code, run.out, run.err)
    assert "Traceback" not in run.err, run.err
    lines = [line for line in run.err.splitlines() if line and not line.startswith("note: ")]
    assert len(lines) == 1, run.err
    assert lines[0].startswith("error: "), run.err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def usage_error(run: Run, flag: str, *needles: str) -> None:
    """argparse's refusal: exit 2, usage, then one ``error: argument FLAG`` line (holding
    every needle)."""
    assert run.code == 2, (run.code, run.err)
    assert "Traceback" not in run.err
    assert run.err.splitlines()[-1].startswith("milvus-plugins"), run.err
    assert f"error: argument {flag}" in run.err.splitlines()[-1], run.err
    for needle in needles:
        assert needle in run.err.splitlines()[-1], (needle, run.err)


# -- search -----------------------------------------------------------------------------------


def test_search_k_out_of_range_is_exit_2_naming_k(ws: Path) -> None:
    before = snapshot(ws)
    for k, needle in [("0", "-k 0"), ("-1", "-k -1"), ("99999999999", "-k 99999999999 exceeds")]:
        run = cli(ws, "search", "q", "--collection", "notes", "-k", k, "--json", *EMB)
        refused(run, 2, needle)
        assert run.out == ""  # --json promised: nothing half-printed
    for k in ("1e3", "nan", ""):
        usage_error(cli(ws, "search", "q", "--collection", "notes", "-k", k, *EMB), "-k")
    assert snapshot(ws) == before


def test_search_json_stays_json_with_odd_argv(ws: Path) -> None:
    # `--` before a query that looks like a flag; -k given twice (the last wins); the
    # connection option after the command and repeated; a lone surrogate in the query.
    dashed = cli(ws, "search", "--collection", "notes", "--mode", "dense", "--json", *EMB,
                 "--", "--dash-query")  # fmt: skip
    assert dashed.code == 0, dashed.err
    assert len(dashed.json()) == 4
    twice = cli(ws, "search", "q", "--json", "-k", "1", "--collection", "notes", "--uri",
                "kb.db", "-k", "2", "--mode", "dense", *EMB, uri="kb.db")  # fmt: skip
    assert twice.code == 0, twice.err
    assert [hit["rank"] for hit in twice.json()] == [1, 2]
    lone = cli(ws, "search", os.fsencode(os.fsdecode(b"bad\xff")), "--collection", "notes",
               "--mode", "dense", "--json", "--filter", "", *EMB)  # fmt: skip
    assert lone.code == 0, lone.err
    hits = lone.json()
    assert {hit["id"] for hit in hits} == {"r0", "r1", "r2", "r3"}
    assert all(set(hit) == {"rank", "score", "id", "text", "metadata"} for hit in hits)


def test_search_hostile_filter_and_mode_values(ws: Path) -> None:
    before = snapshot(ws)
    refused(cli(ws, "search", "q", "--collection", "notes", "--filter", "[1]", *EMB), 2, "dict")
    refused(
        cli(ws, "search", "q", "--collection", "notes", "--filter", '{"n": {"$bogus": 1}}', *EMB),
        2,
        "$bogus",
    )
    refused(
        cli(ws, "search", "q", "--collection", "notes", "--mode", "sparse", *EMB),
        2,
        "--mode sparse",
        "--mode dense",
    )
    usage_error(cli(ws, "search", "q", "--collection", "notes", "--mode", "HYBRID"), "--mode")
    refused(cli(ws, "search", "q", "--collection", "notes", "--embedding", ""), 2, "--embedding")
    assert snapshot(ws) == before


# -- names: empty, ../, spaces, unicode, lone surrogates --------------------------------------

HOSTILE_NAMES = ["", "../notes", "has space", "ünï", os.fsdecode(b"bad\xff")]


def test_hostile_collection_names_are_exit_2_and_create_nothing(ws: Path) -> None:
    before = snapshot(ws)
    for name in HOSTILE_NAMES:
        arg = os.fsencode(name)
        run = cli(ws, "ingest", "docs", "--collection", arg, *EMB)
        usage_error(run, "--collection", "not a valid Milvus name")
    for name in HOSTILE_NAMES[::2]:
        refused(cli(ws, "alias", os.fsencode(name), "notes"), 2, "not a valid Milvus name")
    assert snapshot(ws) == before
    assert sorted(p.name for p in ws.iterdir()) == ["docs", "flags_emb.py", "kb.db"]


# DEFECT (fixed): the refusal named the Python argument "collection_name='../x'", not the flag
def test_an_invalid_collection_flag_is_named_as_the_flag(ws: Path) -> None:
    usage_error(cli(ws, "search", "q", "--collection", "../x", *EMB), "--collection")


def test_drop_refusals_drop_nothing(ws: Path) -> None:
    before = snapshot(ws)
    refused(cli(ws, "drop", "../notes", "--yes"), 2, "not a valid Milvus name")
    refused(cli(ws, "drop", "live", "--yes"), 2, "alias", "Nothing was dropped")
    unconfirmed = cli(ws, "drop", "notes", stdin="")  # EOF at the prompt
    assert unconfirmed.code == 1, unconfirmed
    assert "aborted; nothing was dropped" in unconfirmed.out
    assert snapshot(ws) == before


# -- ingest -----------------------------------------------------------------------------------


def test_ingest_bad_chunking_numbers_are_exit_2_and_write_nothing(ws: Path) -> None:
    before = snapshot(ws)
    for flags in [("--chunk-size", "0"), ("--chunk-size", "-5"), ("--overlap", "-1")]:
        usage_error(cli(ws, "ingest", "docs", "--collection", "new", *flags, *EMB), flags[0])
    run = cli(ws, "ingest", "docs", "--collection", "new", "--chunk-size", "10", "--overlap", "50",
              *EMB)  # fmt: skip
    refused(run, 2, "--overlap", "--chunk-size")
    assert snapshot(ws) == before


# DEFECT (fixed): "error: need size > 0 and 0 <= overlap < size (got 0, 0)" named no flag.
def test_ingest_bad_chunk_size_names_the_flag(ws: Path) -> None:
    run = cli(ws, "ingest", "docs", "--collection", "new", "--chunk-size", "0", *EMB)
    usage_error(run, "--chunk-size")


def test_ingest_paths_stdin_surrogates_and_empty_files(ws: Path) -> None:
    before = snapshot(ws)
    refused(cli(ws, "ingest", "-", "--collection", "new", *EMB, stdin="text\n"), 2, "-")
    refused(cli(ws, "ingest", b"bad\xff", "--collection", "new", *EMB), 2, "does not exist")
    (ws / "blank").mkdir()
    (ws / "blank" / "a.md").write_text("", encoding="utf-8")
    refused(cli(ws, "ingest", "blank", "--collection", "new", *EMB), 2, "no text to ingest")
    usage_error(cli(ws, "ingest", "docs", "--collection", "new", "--chunk-size", "1e3"),
                "--chunk-size")  # fmt: skip
    assert snapshot(ws) == before


def test_ingest_of_a_crlf_file_normalises_the_line_ends(ws: Path) -> None:
    (ws / "crlf.md").write_bytes(b"first line\r\nsecond line\r\n")
    run = cli(ws, "ingest", "crlf.md", "--collection", "crlf", "--no-progress", *EMB)
    assert run.code == 0, run.err
    assert [text for _, text in snapshot(ws)["crlf"]] == ["first line second line"]


# DEFECT (fixed): ingest read with "utf-8", not "utf-8-sig": the chunk text began with U+FEFF.
def test_ingest_of_a_file_with_a_bom_drops_the_bom(ws: Path) -> None:
    (ws / "bom.md").write_bytes(b"\xef\xbb\xbfBOM note\n")
    run = cli(ws, "ingest", "bom.md", "--collection", "bom", "--no-progress", *EMB)
    assert run.code == 0, run.err
    assert [text for _, text in snapshot(ws)["bom"]] == ["BOM note"]


# -- export / import --------------------------------------------------------------------------


def test_export_output_paths(ws: Path) -> None:
    (ws / "old.jsonl").write_text("precious\n", encoding="utf-8")
    (ws / "outdir").mkdir()
    before = snapshot(ws)
    refused(cli(ws, "export", "notes", "outdir"), 2, "directory", "outdir/export.jsonl")
    refused(cli(ws, "export", "notes", "nodir/x.jsonl"), 2, "does not exist", "create it")
    refused(cli(ws, "export", "notes", "/proc/x.jsonl"), 2, "nothing was written")
    refused(cli(ws, "export", "notes", "x.csv"), 2, "--format")
    usage_error(cli(ws, "export", "notes", "out.jsonl", "--batch-rows", "0"), "--batch-rows")
    usage_error(cli(ws, "export", "notes", "x.csv", "--format", "csv"), "--format")
    assert sorted(p.name for p in (ws / "outdir").iterdir()) == []
    assert not (ws / "nodir").exists() and not (ws / "out.jsonl").exists()
    # An existing file is replaced (not documented either way), with a complete export.
    done = cli(ws, "export", "notes", "old.jsonl")
    assert done.code == 0, done.err
    lines = [json.loads(line) for line in (ws / "old.jsonl").read_text("utf-8").splitlines()]
    assert lines[0]["collection"] == "notes" and lines[-1] == {"end": {"rows": 4}}
    assert sorted(row["id"] for row in lines[1:-1]) == ["r0", "r1", "r2", "r3"]
    assert snapshot(ws) == before


# DEFECT (fixed): "error: batch_rows=0 must be in [1, 16384]." named the Python argument.
def test_export_bad_batch_rows_names_the_flag(ws: Path) -> None:
    usage_error(cli(ws, "export", "notes", "out.jsonl", "--batch-rows", "0"), "--batch-rows")


def _export(ws: Path) -> bytes:
    run = cli(ws, "export", "notes", "good.jsonl")
    assert run.code == 0, run.err
    return (ws / "good.jsonl").read_bytes()


def test_import_of_hostile_files_is_exit_2_naming_the_file_and_writes_nothing(ws: Path) -> None:
    raw = _export(ws)
    lines = raw.split(b"\n")
    huge = json.loads(lines[2])
    huge["text"] = "x" * 2_000_000
    files = {
        "bom.jsonl": (b"\xef\xbb\xbf" + raw, "line 1"),
        "badutf.jsonl": (raw.replace(b"row 1", b"row \xff1"), "not UTF-8"),
        "notobj.jsonl": (b"\n".join([*lines[:2], b"[1, 2, 3]", *lines[3:]]), "line 3"),
        "empty.jsonl": (b"", "empty"),
        "huge.jsonl": (b"\n".join([*lines[:2], json.dumps(huge).encode(), *lines[3:]]), "line 3"),
    }
    for name, (data, _) in files.items():
        (ws / name).write_bytes(data)
    (ws / "adir.jsonl").mkdir()
    before = snapshot(ws)
    for name, (_, needle) in files.items():
        refused(cli(ws, "import", name, "copy"), 2, name, needle)
    refused(cli(ws, "import", "adir.jsonl", "copy"), 2, "is a directory")
    refused(cli(ws, "import", "-", "copy", stdin=raw.decode()), 2, "-")
    refused(cli(ws, "import", "good.jsonl", "copy", "--format", "parquet"), 2, "Parquet")
    assert snapshot(ws) == before


# DEFECT (fixed): import --batch-rows -1 created the collection (empty), then refused with
# "batch_rows=-1 must be a positive int": exit 2, but the empty collection stayed behind.
def test_import_bad_batch_rows_creates_nothing(ws: Path) -> None:
    _export(ws)
    before = snapshot(ws)
    usage_error(cli(ws, "import", "good.jsonl", "copy", "--batch-rows", "-1"), "--batch-rows")
    assert snapshot(ws) == before


def test_import_of_a_crlf_export_copies_every_row(ws: Path) -> None:
    (ws / "crlf.jsonl").write_bytes(_export(ws).replace(b"\n", b"\r\n"))
    run = cli(ws, "import", "crlf.jsonl", "copy")
    assert run.code == 0, run.err
    seen = snapshot(ws)
    assert seen["copy"] == seen["notes"]


# -- migrate / reindex / alias ----------------------------------------------------------------


def test_migrate_hostile_values_create_nothing(ws: Path) -> None:
    before = snapshot(ws)
    refused(cli(ws, "migrate", "notes", "../x", "--no-progress"), 2, "not a valid Milvus name")
    refused(cli(ws, "migrate", "notes", "notes", "--no-progress"), 2, "both 'notes'")
    refused(cli(ws, "migrate", "notes", "cpy", "--target-uri", "", "--no-progress"), 2,
            "--target-uri")  # fmt: skip
    usage_error(cli(ws, "migrate", "notes", "cpy", "--batch-rows", "0", "--no-progress"),
                "--batch-rows")  # fmt: skip
    refused(cli(ws, "migrate", "nosuch", "cpy", "--no-progress"), 3, "nosuch")
    assert snapshot(ws) == before


# Refused by argparse (usage, then "error: argument FLAG: ...").
REINDEX_USAGE = [
    ("--min-recall", "nan"),
    ("--min-recall", "2"),
    ("--queries", "0"),
    ("-k", "0"),
    ("--batch-rows", "0"),
    ("--target", "../x"),
]
REINDEX_REFUSALS = [
    (("--index", "BOGUS"), "BOGUS"),
    (("--index", '{"index_type": "HNSW", "M": -3}'), "M=-3"),
    (("--search-params", "[1"), "--search-params is not valid JSON"),
    (("--search-params", "[]"), "--search-params must be a JSON object"),
    (("--target", "notes"), "exists already"),
]


def test_reindex_hostile_values_switch_and_create_nothing(ws: Path) -> None:
    before = snapshot(ws)
    for flags, needle in REINDEX_REFUSALS:
        refused(cli(ws, "reindex", "live", *flags), 2, needle)
    for flag, value in REINDEX_USAGE:
        usage_error(cli(ws, "reindex", "live", flag, value), flag, value)
    assert snapshot(ws) == before


# DEFECT (fixed): "min_recall=nan must be in [0, 1]." / "sample_queries=0 ...": Python names.
def test_reindex_bad_numbers_name_their_flags(ws: Path) -> None:
    usage_error(cli(ws, "reindex", "live", "--min-recall", "nan"), "--min-recall")
    usage_error(cli(ws, "reindex", "live", "--queries", "0"), "--queries")


# DEFECT (fixed): --search-params '[]' passed the CLI, live_v2 was built (4 rows) and left
# behind, then "MilvusStore.search_many(): search_params must be a mapping" named no flag.
def test_reindex_non_object_search_params_is_refused_before_anything_is_built(ws: Path) -> None:
    before = snapshot(ws)
    run = cli(ws, "reindex", "live", "--search-params", "[]")
    assert snapshot(ws) == before  # today: live_v2 exists
    refused(run, 2, "--search-params")


def test_alias_hostile_targets(ws: Path) -> None:
    before = snapshot(ws)
    refused(cli(ws, "alias", "live", "nosuch"), 3, "nosuch")
    refused(cli(ws, "alias", "notes", "notes"), 2, "is a collection, not an alias")
    refused(cli(ws, "alias", "other", "live"), 2, "is an alias")
    assert snapshot(ws) == before


def test_stats_json_on_an_alias_and_a_missing_name(ws: Path) -> None:
    run = cli(ws, "stats", "--json", "live")
    assert run.code == 0, run.err
    assert run.json()["row_count"] == 4 and run.json()["dim"] == 8
    missing = cli(ws, "stats", "nosuch", "--json")
    refused(missing, 3, "nosuch", "milvus-plugins info")
    assert missing.out == ""


# -- connection: --uri, --token, --timeout, $MILVUS_URI, $MILVUS_TOKEN -------------------------


def test_uri_variations(ws: Path) -> None:
    (ws / "sub").mkdir()
    before = snapshot(ws)
    refused(cli(ws, "info", uri="sub"), 2, "not a Milvus URI", ".db")
    refused(cli(ws, "info", uri=""), 2, ".db")
    refused(cli(ws, "info", uri="~/nowhere-xyz/k.db", env={"HOME": str(ws)}), 2,
            "does not exist", "create it first")  # fmt: skip
    home = cli(ws, "info", uri="~/home.db", env={"HOME": str(ws / "sub")})
    assert home.code == 0, home.err
    assert (ws / "sub" / "home.db").is_dir() and not (ws / "~").exists()
    assert snapshot(ws) == before


def test_timeout_must_be_positive_and_finite(ws: Path) -> None:
    for value in ("0", "nan", "inf", "soon"):
        usage_error(cli(ws, "--timeout", value, "info"), "--timeout")
    usage_error(cli(ws, "info", "--timeout", "-1"), "--timeout")  # after the command too


def test_unreachable_server_is_exit_4_and_never_prints_the_token(ws: Path) -> None:
    flag = cli(ws, "--timeout", "0.5", "--token", SECRET, "stats", "notes",
               uri="http://127.0.0.1:1")  # fmt: skip
    refused(flag, 4, "unreachable")
    env = cli(ws, "info", "--timeout", "0.5", uri="http://127.0.0.1:1",
              env={"MILVUS_TOKEN": SECRET})  # fmt: skip
    refused(env, 4, "unreachable")
    creds = cli(ws, "info", "--timeout", "0.5", uri=f"http://root:{SECRET}@127.0.0.1:1")
    refused(creds, 4)
    for run in (flag, env, creds):
        assert SECRET not in run.out + run.err
        assert run.seconds < 30


def test_the_uri_flag_wins_over_an_unreachable_env_uri(ws: Path) -> None:
    run = cli(ws, "stats", "notes", "--json", "--token", SECRET,
              env={"MILVUS_URI": "http://127.0.0.1:1", "MILVUS_TOKEN": SECRET})  # fmt: skip
    assert run.code == 0, run.err
    assert run.json()["row_count"] == 4
    assert SECRET not in run.out + run.err
    flipped = cli(ws, "--timeout", "0.5", "stats", "notes", "--uri", "http://127.0.0.1:1",
                  uri=None, env={"MILVUS_URI": "kb.db"})  # fmt: skip
    refused(flipped, 4, "unreachable")


# DEFECT (fixed): on Milvus Lite a --token holding a lone surrogate failed with exit 1 "Milvus
# call failed: 'utf-8' codec can't encode character" instead of exit 2 naming --token.
def test_an_undecodable_token_is_a_usage_error_naming_the_flag(ws: Path) -> None:
    usage_error(cli(ws, "--token", b"bad\xff", "info"), "--token")


def test_help_names_every_flag_exercised_here_and_the_exit_codes(ws: Path) -> None:
    run = cli(ws, "--help", uri=None)
    assert run.code == 0 and run.err == ""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    for text in (run.out, readme):
        for flag in ("--uri", "--token", "--timeout", "--embedding", "--prune", "--format"):
            assert flag in text, flag
    assert "2 bad usage or input" in run.out and "4 Milvus unreachable" in run.out
    assert "2 bad input" in readme and "4 server\nunreachable" in readme
