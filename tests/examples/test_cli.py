"""The ``milvus-plugins`` command line, end to end on Milvus Lite.

One knowledge base (a temp dir of .md/.txt files) is ingested once per module; the tests
then search it, inspect it and exercise every error path and exit code.

Most runs call ``milvus_plugins.cli.main`` in this process (a fresh subprocess costs
1.5-3 s of imports each): arguments, working directory, environment, stdin, stdout and
stderr are those of a real run, exit codes include argparse's ``SystemExit``, warnings
and log records the subprocess would print are written to the captured stderr, and every
store the command opened is closed afterwards (so a Milvus Lite database is free again,
as after a process exits). The installed entry point itself is run as a real subprocess
by the tests marked ``SUBPROCESS`` below.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.support.cli_runner import (
    Result,
    assert_one_line_error,
    cli_env,
    process_state,
    run_cli,
    run_cli_subprocess,
)

from milvus_plugins.embeddings import MiniLMEmbedder

pytestmark = pytest.mark.skipif(
    not MiniLMEmbedder.is_available(), reason="the offline embedding model is not installed"
)

COLLECTION = "kb"
FILES = {
    "milvus.md": (
        "# Milvus\n\nMilvus is an open-source vector database built for similarity search "
        "over embeddings.\n\nIt supports dense vectors, sparse vectors and full-text search "
        "with BM25.\n"
    ),
    "kitchen/sourdough.txt": (
        "Sourdough bread rises slowly because wild yeast and lactic acid bacteria ferment "
        "the flour.\n\nA starter is fed with flour and water every day.\n"
    ),
    "travel/trains.md": (
        "Night trains run between Vienna and Paris.\n\nSleeper cars have beds, and the "
        "conductor wakes passengers before arrival.\n"
    ),
    "notes.csv": "ignored,because,not,text\n",
}


def write_files(root: Path, files: Mapping[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@dataclass(frozen=True)
class Workspace:
    """A temp dir holding the documents and the Milvus Lite file ``kb.db``."""

    root: Path
    docs: Path

    @property
    def uri(self) -> str:
        return str(self.root / "kb.db")

    def cli(self, *args: str, **kwargs: Any) -> Result:
        return run_cli("--uri", self.uri, *args, cwd=self.root, **kwargs)

    def search(self, query: str, *options: str) -> list[dict[str, Any]]:
        result = self.cli("search", query, "--collection", COLLECTION, "--json", *options)
        assert result.code == 0, result.err
        hits: list[dict[str, Any]] = result.json()
        return hits


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The knowledge base, ingested once for the whole module."""
    root = tmp_path_factory.mktemp("cli")
    workspace = Workspace(root=root, docs=root / "docs")
    write_files(workspace.docs, FILES)
    result = workspace.cli("ingest", str(workspace.docs), "--collection", COLLECTION)
    assert result.code == 0, result.err
    return workspace


def closed_port() -> int:
    """A local TCP port nobody listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# -- ingest ------------------------------------------------------------------------------


def test_ingest_reports_each_text_file_and_skips_other_files(ws: Workspace) -> None:
    stats = ws.cli("stats", COLLECTION, "--json")
    assert stats.code == 0, stats.err
    assert stats.json()["row_count"] == 3  # one chunk per file; notes.csv is not text
    sources = {hit["metadata"]["source"] for hit in ws.search("anything", "-k", "10")}
    assert sources == {"milvus.md", "kitchen/sourdough.txt", "travel/trains.md"}


def test_ingest_again_replaces_chunks_instead_of_duplicating(tmp_path: Path) -> None:
    write_files(tmp_path / "docs", FILES)
    args = ("--uri", str(tmp_path / "x.db"), "ingest", "docs", "--collection", "again")
    first = run_cli(*args, "--chunk-size", "60", "--overlap", "0", cwd=tmp_path)
    assert first.code == 0, first.err
    rows = first.out.strip().splitlines()[-1]
    second = run_cli(*args, "--chunk-size", "60", "--overlap", "0", cwd=tmp_path)
    assert second.code == 0, second.err
    assert second.out.strip().splitlines()[-1] == rows
    assert "(rows now: " in rows and "(rows now: 3)" not in rows  # several chunks per file

    # A file that shrinks loses its stale chunks on the next ingest.
    (tmp_path / "docs" / "milvus.md").write_text("Milvus.\n", encoding="utf-8")
    third = run_cli(*args, "--chunk-size", "60", "--overlap", "0", cwd=tmp_path)
    assert third.code == 0, third.err
    assert "milvus.md: 1 chunks" in third.out
    before = int(rows.rsplit("rows now: ", 1)[1].rstrip(")"))
    after = int(third.out.strip().splitlines()[-1].rsplit("rows now: ", 1)[1].rstrip(")"))
    assert after < before


def test_ingest_of_a_missing_path_is_a_usage_error(ws: Workspace) -> None:
    result = ws.cli("ingest", str(ws.root / "nowhere"), "--collection", COLLECTION)
    assert_one_line_error(result, 2, "does not exist")


def test_ingest_of_a_dir_without_text_files_is_a_usage_error(ws: Workspace) -> None:
    empty = ws.root / "empty"
    empty.mkdir(exist_ok=True)
    (empty / "table.csv").write_text("a,b\n", encoding="utf-8")
    assert_one_line_error(ws.cli("ingest", str(empty), "--collection", "x"), 2, "no .txt/.md")


# -- search ------------------------------------------------------------------------------


def test_dense_search_finds_the_paraphrased_document(ws: Workspace) -> None:
    hits = ws.search("how does bread get airy", "--mode", "dense", "-k", "1")
    assert [h["metadata"]["source"] for h in hits] == ["kitchen/sourdough.txt"]
    assert 0.0 <= hits[0]["score"] <= 1.0


def test_sparse_search_matches_the_keyword(ws: Workspace) -> None:
    hits = ws.search("BM25", "--mode", "sparse", "-k", "3")
    assert hits and hits[0]["metadata"]["source"] == "milvus.md"
    assert all("BM25" in hit["text"] for hit in hits)


def test_hybrid_search_ranks_the_matching_document_first(ws: Workspace) -> None:
    hits = ws.search("sleeper cars on night trains", "--mode", "hybrid", "-k", "3")
    assert hits[0]["metadata"]["source"] == "travel/trains.md"
    assert [h["rank"] for h in hits] == list(range(1, len(hits) + 1))


@pytest.mark.parametrize("mode", ["dense", "sparse", "hybrid"])
def test_filter_restricts_results_in_every_mode(ws: Workspace, mode: str) -> None:
    # The query matches the bread file best; the filter admits only the other two.
    where = {"source": {"$in": ["milvus.md", "travel/trains.md"]}, "chunk": {"$gte": 0}}
    hits = ws.search("bread for night trains", "--mode", mode, "--filter", json.dumps(where))
    assert hits, "the trains document matches the query and the filter"
    assert {h["metadata"]["source"] for h in hits} <= {"milvus.md", "travel/trains.md"}
    assert hits[0]["metadata"]["source"] == "travel/trains.md"


def test_table_output_shows_rank_score_text_and_metadata(ws: Workspace) -> None:
    result = ws.cli("search", "night trains", "--collection", COLLECTION, "-k", "1")
    assert result.code == 0, result.err
    header, first, meta = result.out.splitlines()[:3]
    assert header.split() == ["#", "score", "id", "text"]
    assert first.split()[0] == "1" and "Night trains run between Vienna" in first
    assert '"source": "travel/trains.md"' in meta


def test_search_without_a_match_says_so(ws: Workspace) -> None:
    result = ws.cli("search", "zzyzx", "--collection", COLLECTION, "--mode", "sparse")
    assert result.code == 0, result.err
    assert result.out.strip() == "no results"


# -- stats, info, MILVUS_URI ---------------------------------------------------------------


def test_stats_prints_the_collection_health_report(ws: Workspace) -> None:
    result = ws.cli("stats", COLLECTION)
    assert result.code == 0, result.err
    assert "collection: kb" in result.out
    assert "rows:       3" in result.out
    assert "dim:        384" in result.out
    assert "sparse:     bm25" in result.out
    assert "SPARSE_INVERTED_INDEX BM25" in result.out


def test_stats_shows_the_partition_key_and_num_partitions(ws: Workspace) -> None:
    from milvus_plugins.core import CollectionSpec, ConnectionConfig, MilvusStore, Record

    spec = CollectionSpec(
        name="tenanted", dim=2, metadata_fields={"tenant": "VARCHAR"}, partition_key="tenant"
    )
    with MilvusStore(spec, connection=ConnectionConfig(uri=ws.uri)) as store:
        store.upsert([Record(id="a", text="t", vector=[1.0, 0.0])], tenant="A")
    try:
        result = ws.cli("stats", "tenanted")
        assert result.code == 0, result.err
        # Milvus Lite 3.2.2 hashes a partition key into 16 partitions, plus _default.
        assert "partition key: tenant (num_partitions 17)" in result.out
        assert ws.cli("stats", "tenanted", "--json").json()["partition_key"] == "tenant"
    finally:
        ws.cli("drop", "tenanted", "--yes")


def test_info_lists_server_and_collections_with_row_counts(ws: Workspace) -> None:
    result = ws.cli("info")
    assert result.code == 0, result.err
    assert f"uri:      {ws.uri}" in result.out
    assert "server:   milvus_lite" in result.out
    assert "kb  rows=3" in result.out


def test_milvus_uri_env_var_replaces_the_uri_flag(ws: Workspace) -> None:
    # A relative Milvus Lite path in MILVUS_URI (pymilvus itself rejects it at import).
    env = {"MILVUS_URI": "./kb.db"}
    info = run_cli("info", cwd=ws.root, env=env)
    assert info.code == 0, info.err
    # The relative path is resolved against the working directory when the config is made.
    assert f"uri:      {ws.root.resolve() / 'kb.db'}\n" in info.out
    assert "kb  rows=3" in info.out
    search = run_cli("search", "BM25", "--collection", COLLECTION, "--json", cwd=ws.root, env=env)
    assert search.code == 0, search.err
    assert search.json()[0]["metadata"]["source"] == "milvus.md"


def test_uri_flag_wins_over_the_env_var(ws: Workspace) -> None:
    result = run_cli("--uri", ws.uri, "info", cwd=ws.root, env={"MILVUS_URI": "./other.db"})
    assert result.code == 0, result.err
    assert "kb  rows=3" in result.out


# -- drop ------------------------------------------------------------------------------------


def test_drop_with_yes_removes_the_collection(ws: Workspace) -> None:
    single = ws.root / "single.md"
    single.write_text("To be dropped.\n", encoding="utf-8")
    assert ws.cli("ingest", str(single), "--collection", "doomed").code == 0
    result = ws.cli("drop", "doomed", "--yes")
    assert result.code == 0, result.err
    assert "dropped 'doomed'" in result.out
    assert_one_line_error(ws.cli("stats", "doomed"), 3, "'doomed' does not exist")


def test_drop_not_confirmed_keeps_the_collection(ws: Workspace) -> None:
    for answer in ("n\n", ""):  # "n", then end of input: both mean no
        result = ws.cli("drop", COLLECTION, stdin=answer)
        assert result.code == 1
        # The prompt of the second run shows that the first dropped nothing.
        assert "Drop collection 'kb' with 3 rows? [y/N]" in result.out
        assert "nothing was dropped" in result.out
    assert ws.cli("stats", COLLECTION).code == 0


# -- errors and exit codes ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "needle"),
    [
        ('{"source": ', "not valid JSON"),
        ("[1, 2]", "must be a dict"),
        ('{"source": {"$regex": "x"}}', "$regex"),
    ],
)
def test_bad_filter_is_a_usage_error_in_one_line(ws: Workspace, where: str, needle: str) -> None:
    result = ws.cli("search", "q", "--collection", COLLECTION, "--filter", where)
    assert_one_line_error(result, 2, needle)


def test_empty_filter_matches_everything_like_no_filter(ws: Workspace) -> None:
    plain = ws.cli("search", "q", "--collection", COLLECTION, "--mode", "sparse", "--json")
    empty = ws.cli(
        "search", "q", "--collection", COLLECTION, "--mode", "sparse", "--json", "--filter", "{}"
    )
    assert empty.code == 0, empty.err
    assert empty.out == plain.out


@pytest.mark.parametrize(
    "args",
    [
        ("search", "q", "--collection", "missing"),
        ("drop", "missing", "--yes"),
    ],
)
def test_unknown_collection_exits_3(ws: Workspace, args: tuple[str, ...]) -> None:
    assert_one_line_error(ws.cli(*args), 3, "'missing' does not exist")


@pytest.mark.parametrize(
    "command", [("info",), ("stats", "kb"), ("search", "q", "--collection", "kb")]
)
def test_unreachable_server_exits_4_within_the_timeout(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    uri = f"http://127.0.0.1:{closed_port()}"
    result = run_cli("--uri", uri, "--timeout", "3", *command, cwd=tmp_path, timeout=60)
    assert_one_line_error(result, 4, "unreachable")
    assert result.seconds < 30


@pytest.mark.parametrize(
    "args",
    [
        ("frobnicate",),
        ("search", "q"),  # --collection is required
        ("search", "q", "--collection", "kb", "--mode", "fuzzy"),
    ],
)
def test_bad_usage_exits_2_with_argparse_usage(tmp_path: Path, args: tuple[str, ...]) -> None:
    result = run_cli_subprocess(*args, cwd=tmp_path)  # SUBPROCESS: the entry point's exit code
    assert result.code == 2
    assert "usage: milvus-plugins" in result.err
    assert "Traceback" not in result.err


def test_non_positive_k_is_a_usage_error(ws: Workspace) -> None:
    result = ws.cli("search", "q", "--collection", COLLECTION, "-k", "0")
    assert_one_line_error(result, 2, "-k 0")


def test_console_script_is_installed() -> None:
    script = shutil.which("milvus-plugins", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("package not installed with its console script (run from source)")
    result = subprocess.run(
        [script, "--help"], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0
    for command in ("info", "stats", "ingest", "search", "drop"):
        assert command in result.stdout


# -- options anywhere, help, URIs ------------------------------------------------------------


def test_connection_options_may_follow_the_command(ws: Workspace) -> None:
    info = run_cli("info", "--uri", ws.uri, "--timeout", "20", cwd=ws.root)
    assert info.code == 0, info.err
    assert "kb  rows=3" in info.out
    hits = run_cli(
        "search", "BM25", "--collection", COLLECTION, "--mode", "sparse", "--json",
        "--uri", ws.uri, cwd=ws.root,
    )  # fmt: skip
    assert hits.code == 0, hits.err
    assert hits.json()[0]["metadata"]["source"] == "milvus.md"


def test_help_shows_examples_and_exit_codes(tmp_path: Path) -> None:
    result = run_cli_subprocess("--help", cwd=tmp_path)  # SUBPROCESS
    assert result.code == 0
    assert "examples:" in result.out and "milvus-plugins ingest docs/" in result.out
    assert "exit codes:" in result.out and "3 unknown collection" in result.out
    sub = run_cli("search", "--help", cwd=tmp_path)
    assert "--embedding" in sub.out and "--uri" in sub.out and "exit codes:" in sub.out


@pytest.mark.parametrize(
    ("uri", "needle"),
    [
        ("htp://localhost:19530", "is not a Milvus URI"),
        ("http://", "names no host"),
        ("http://localhost:port", "port that is not a number"),
        ("notes.txt", "is not a Milvus URI"),
        ("no/such/dir/x.db", "does not exist"),
    ],
)
def test_malformed_uri_is_a_usage_error(tmp_path: Path, uri: str, needle: str) -> None:
    result = run_cli("info", "--uri", uri, cwd=tmp_path)
    assert_one_line_error(result, 2, needle, uri)  # a Lite path is shown absolute


def test_malformed_milvus_uri_env_var_is_a_usage_error(tmp_path: Path) -> None:
    # SUBPROCESS: the variable is read from a real process environment.
    result = run_cli_subprocess("stats", "kb", cwd=tmp_path, env={"MILVUS_URI": "localhost:19530"})
    assert_one_line_error(result, 2, "$MILVUS_URI")


# -- collections written by LangChain (dense only, other embeddings) --------------------------

EMBEDDING_MODULE = """
from langchain_core.embeddings import DeterministicFakeEmbedding


def eight() -> DeterministicFakeEmbedding:
    return DeterministicFakeEmbedding(size=8)
"""


def _python(code: str, cwd: Path) -> None:
    """Run Python code as another writer would (in this process; the code closes its store,
    which frees the Milvus Lite database)."""
    with process_state(cwd, cli_env(), ""):
        exec(compile(code, "<writer>", "exec"), {})


def _langchain_collection(path: Path, size: int) -> None:
    """A LangChain default (dense-only) collection 'lc' of ``size``-d vectors."""
    _python(
        "from langchain_core.documents import Document\n"
        "from langchain_core.embeddings import DeterministicFakeEmbedding\n"
        "from milvus_plugins.langchain import MilvusVectorStore\n"
        f"store = MilvusVectorStore(DeterministicFakeEmbedding(size={size}), "
        f"uri={str(path)!r}, collection_name='lc')\n"
        "store.add_documents([Document(id=f'd{i}', page_content=f'doc {i}') for i in range(3)])\n"
        "store.close()\n",
        path.parent,
    )


def test_default_mode_falls_back_to_dense_on_a_dense_only_collection(tmp_path: Path) -> None:
    _langchain_collection(tmp_path / "lc.db", 384)
    # Filled by a fake model: the default minilm is another model (its fingerprint says so).
    args = ("--uri", str(tmp_path / "lc.db"), "search", "doc", "--collection", "lc", "--json",
            "--allow-embedding-change")  # fmt: skip
    result = run_cli(*args, cwd=tmp_path)
    assert result.code == 0, result.err
    assert len(result.json()) == 3
    assert "has no keyword (BM25) field; searching dense only" in result.err
    explicit = run_cli(*args, "--mode", "hybrid", cwd=tmp_path)
    assert_one_line_error(explicit, 2, "--mode hybrid needs a keyword (BM25) field", "--mode dense")
    quiet = run_cli(*args, "--mode", "dense", cwd=tmp_path)
    assert quiet.code == 0 and quiet.err.strip() == ""


def test_embedding_dimension_mismatch_is_refused_with_a_cli_hint(tmp_path: Path) -> None:
    _langchain_collection(tmp_path / "lc.db", 8)
    uri = ("--uri", str(tmp_path / "lc.db"))
    search = run_cli(*uri, "search", "doc", "--collection", "lc", "--mode", "dense", cwd=tmp_path)
    assert_one_line_error(search, 2, "holds 8-d vectors", "--embedding minilm makes 384-d")
    # Ingesting into it names flags, not the library's Python arguments.
    write_files(tmp_path / "docs", {"a.md": "Some text.\n"})
    ingest = run_cli(*uri, "ingest", "docs", "--collection", "lc", cwd=tmp_path)
    assert_one_line_error(ingest, 2, "--drop", "--collection")
    assert "drop_old" not in ingest.err and "collection_name" not in ingest.err
    rows = run_cli(*uri, "stats", "lc", "--json", cwd=tmp_path)
    assert rows.json()["row_count"] == 3  # nothing was written


def test_embedding_flag_loads_a_factory_from_the_working_directory(tmp_path: Path) -> None:
    _langchain_collection(tmp_path / "lc.db", 8)
    (tmp_path / "my_embeddings.py").write_text(EMBEDDING_MODULE, encoding="utf-8")
    result = run_cli(
        "search", "doc 1", "--collection", "lc", "--embedding", "my_embeddings:eight",
        "--uri", str(tmp_path / "lc.db"), "--json", "-k", "1", cwd=tmp_path,
    )  # fmt: skip
    assert result.code == 0, result.err
    assert [hit["id"] for hit in result.json()] == ["d1"]  # the same fake vector
    missing = run_cli(
        "search", "q", "--collection", "lc", "--embedding", "nowhere:f", "--mode", "dense",
        "--uri", str(tmp_path / "lc.db"), cwd=tmp_path,
    )  # fmt: skip
    assert_one_line_error(missing, 2, "--embedding 'nowhere:f'")


OTHER_MODEL_MODULE = """
from langchain_core.embeddings import DeterministicFakeEmbedding


def eight() -> DeterministicFakeEmbedding:
    return DeterministicFakeEmbedding(size=8)


class Negated(DeterministicFakeEmbedding):
    def embed_documents(self, texts):
        return [[-x for x in v] for v in super().embed_documents(texts)]

    def embed_query(self, text):
        return [-x for x in super().embed_query(text)]


def other() -> Negated:
    return Negated(size=8)
"""


def test_another_model_of_the_same_dimension_is_refused_by_its_fingerprint(
    tmp_path: Path,
) -> None:
    """ingest records the model's fingerprint (as the adapters do); search and ingest with
    another model of the same dimension are refused naming the override, which works."""
    (tmp_path / "models.py").write_text(OTHER_MODEL_MODULE, encoding="utf-8")
    write_files(tmp_path / "docs", {"a.md": "Alpha text.\n", "b.md": "Beta text.\n"})
    uri = ("--uri", str(tmp_path / "fp.db"))
    first = run_cli(*uri, "ingest", "docs", "--collection", "fp", "--embedding", "models:eight",
                    cwd=tmp_path)  # fmt: skip
    assert first.code == 0, first.err
    search = ("search", "alpha", "--collection", "fp", "--mode", "dense", "--json")
    other = run_cli(*uri, *search, "--embedding", "models:other", cwd=tmp_path)
    assert_one_line_error(other, 2, "was filled with", "--allow-embedding-change")
    assert "allow_embedding_change=True" not in other.err
    forced = run_cli(
        *uri, *search, "--embedding", "models:other", "--allow-embedding-change", cwd=tmp_path
    )
    assert forced.code == 0, forced.err
    again = run_cli(*uri, "ingest", "docs", "--collection", "fp", "--embedding", "models:other",
                    cwd=tmp_path)  # fmt: skip
    assert_one_line_error(again, 2, "was filled with", "--allow-embedding-change")
    same = run_cli(*uri, *search, "--embedding", "models:eight", cwd=tmp_path)
    assert same.code == 0, same.err
    rows = run_cli(*uri, "stats", "fp", "--json", cwd=tmp_path)
    assert rows.json()["row_count"] == 2  # the refused ingest wrote nothing


# -- ingest: undecodable files, --prune -------------------------------------------------------


def test_files_that_are_not_utf8_are_skipped_by_name(tmp_path: Path) -> None:
    write_files(tmp_path / "docs", {"a.md": "Alpha text.\n", "b.md": "Beta text.\n"})
    (tmp_path / "docs" / "z.md").write_bytes("Caf\xe9 latin-1\n".encode("latin-1"))
    args = ("--uri", str(tmp_path / "x.db"), "ingest", "docs", "--collection", "u")
    result = run_cli(*args, cwd=tmp_path)
    assert result.code == 0, result.err
    assert "warning: skipping z.md: not UTF-8 text (byte 0xe9 at offset 3)" in result.err
    assert "ingested 2 chunks from 2 files" in result.out and "(rows now: 2)" in result.out
    assert "skipped 1 files that are not UTF-8 text: z.md" in result.out
    (tmp_path / "docs" / "a.md").write_bytes(b"\xff\xfe")
    (tmp_path / "docs" / "b.md").write_bytes(b"\xff")
    none = run_cli(*args, cwd=tmp_path)
    assert none.code == 2 and "none of the 3 files" in none.err


def test_prune_removes_chunks_of_deleted_files_only(tmp_path: Path) -> None:
    write_files(tmp_path / "docs", FILES)
    uri = str(tmp_path / "p.db")
    args = ("--uri", uri, "ingest", "docs", "--collection", "p")
    assert run_cli(*args, cwd=tmp_path).code == 0
    # A row another writer added (no source document) must survive pruning.
    _python(
        "from langchain_core.embeddings import DeterministicFakeEmbedding\n"
        "from milvus_plugins.langchain import MilvusVectorStore\n"
        "other = MilvusVectorStore.from_existing_collection(DeterministicFakeEmbedding(size=384), "
        f"uri={uri!r}, collection_name='p', allow_embedding_change=True)\n"  # not minilm
        "other.add_texts(['written by LangChain'], ids=['lc-1'])\n"
        "other.close()\n",
        tmp_path,
    )

    (tmp_path / "docs" / "travel" / "trains.md").unlink()
    kept = run_cli(*args, cwd=tmp_path)  # without --prune the old chunks stay
    assert "(rows now: 4)" in kept.out and "pruned" not in kept.out
    pruned = run_cli(*args, "--prune", cwd=tmp_path)
    assert pruned.code == 0, pruned.err
    assert "pruned 1 files no longer under the path: travel/trains.md" in pruned.out
    assert "(rows now: 3)" in pruned.out
    again = run_cli(*args, "--prune", cwd=tmp_path)
    assert "pruned 0 files" in again.out and "(rows now: 3)" in again.out
