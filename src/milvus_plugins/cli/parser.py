"""The ``milvus-plugins`` argument parser: the commands, their options and the help text.

Each command's name is ``args.command``; :data:`milvus_plugins.cli.COMMANDS` runs it.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Any

from milvus_plugins.core import ConfigError, ExportFormat
from milvus_plugins.core.names import check_name

__all__ = ["EPILOG", "build_parser"]

EPILOG = """\
examples:
  milvus-plugins ingest docs/ --collection notes          chunk, embed, upsert (re-runs replace)
  milvus-plugins ingest docs/ --collection notes --prune  ... and remove chunks of deleted files
  milvus-plugins search "vector databases" --collection notes -k 5 \\
      --filter '{"source": "intro.md"}'
  milvus-plugins stats notes --uri http://localhost:19530 --token root:Milvus
  milvus-plugins drop notes --yes
  milvus-plugins migrate langchain notes2                 copy a langchain-milvus/llama-index
                                                          collection into this layout (re-run
                                                          to resume), then verify
  milvus-plugins export notes notes.jsonl                  every row, vectors included
  milvus-plugins import notes.jsonl notes_copy             creates it from the file's header
  milvus-plugins alias notes_live notes                    readers open notes_live
  milvus-plugins reindex notes_live --index '{"index_type": "HNSW", "M": 16}'
  milvus-plugins alias notes_live notes                    roll back after a reindex

connection: --uri, --token, --db-name and --timeout go before or after the command
  (default: $MILVUS_URI / $MILVUS_TOKEN, else ./milvus.db, a Milvus Lite file; the
  default database).

embedding: --embedding minilm (default: all-MiniLM-L6-v2, offline, 384-d) or
  package.module:factory, a callable without arguments returning a LangChain Embeddings
  or an object with embed(texts) -> vectors. Search with the model a collection was filled
  with: a dimension mismatch is refused (exit 2), and so is another model of the same
  dimension where the collection records its model's fingerprint (ingest records it;
  --allow-embedding-change overrides).

search --mode: hybrid (dense + BM25) by default when the collection has a BM25 field,
  else dense (said on stderr).

ingest: files must be UTF-8 text (a leading BOM is dropped); others are skipped with a
  warning naming them, before anything is written. --prune removes the chunks of files no
  longer under the path.

export/import: JSON Lines (.jsonl) or Parquet (.parquet, needs pyarrow; an export file
  named otherwise needs --format), streamed both ways; a malformed or truncated file is
  refused naming the line, before anything is written; an import that fails part-way
  says how many rows it wrote (re-run it).

reindex: builds ALIAS_v<N> with the new --index and/or --embedding, checks its recall@k
  (--min-recall, default 0.9), then switches the alias; the old collection is kept
  (roll back with 'alias ALIAS OLD'; drop it when done).

exit codes:
  0 ok, 1 a Milvus operation failed, 2 bad usage or input (filter, URI, flags, embedding
  dimension), 3 unknown collection, 4 Milvus unreachable or credentials rejected,
  130 interrupted
"""


def _connection_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # The top-level parser holds the defaults; each command repeats the options with
    # SUPPRESS so that they may also follow the command without resetting the value.
    default: Any = None if top else argparse.SUPPRESS
    parser.add_argument(
        "--uri",
        default=default,
        help="Milvus Lite file or server URI (default: $MILVUS_URI or ./milvus.db)",
    )
    parser.add_argument(
        "--token", type=_token, default=default, help="token (default: $MILVUS_TOKEN)"
    )
    parser.add_argument(
        "--db-name",
        type=_name,
        default=default,
        help="the Milvus database (default: the server's default database)",
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=10.0 if top else argparse.SUPPRESS,
        help="seconds per call",
    )


def _seconds(text: str) -> float:
    """A --timeout value: a positive, finite number of seconds (``nan`` and ``inf`` are not)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(
            f"{text!r} must be a positive, finite number of seconds (e.g. 10)"
        )
    return value


def _int_in(low: int, high: int) -> Callable[[str], int]:
    """An option's type: an integer in [low, high]."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} must be in [{low}, {high}]")
        return value

    return parse


def _fraction(text: str) -> float:
    """A --min-recall value: a number in [0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:  # nan compares false
        raise argparse.ArgumentTypeError(f"{text!r} must be a number in [0, 1] (e.g. 0.9)")
    return value


def _name(text: str) -> str:
    """A name option (a collection, a database): a valid Milvus name."""
    try:
        return check_name("name", text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("name=")) from None


def _token(text: str) -> str:
    """A --token value: text that can be sent (a lone surrogate, from bytes that are not
    UTF-8 in argv, cannot); the value is never shown."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise argparse.ArgumentTypeError("the token is not valid UTF-8 text") from None
    return text


def _embedding_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--embedding",
        default="minilm",
        help="'minilm' (default, offline 384-d) or package.module:factory",
    )
    parser.add_argument(
        "--allow-embedding-change",
        action="store_true",
        help="use --embedding on a collection that records another model's fingerprint",
    )


def _copy_options(parser: argparse.ArgumentParser, *, progress: bool | None = None) -> None:
    # The commands that copy rows page by page: the page size, and the progress line
    # (None: shown when stderr is a terminal).
    parser.add_argument("--batch-rows", type=_int_in(1, 16384), default=1000)
    parser.add_argument("--no-progress", dest="progress", action="store_false", default=progress)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(
        prog="milvus-plugins",
        description="Inspect, fill and search Milvus collections.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _connection_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help: str) -> argparse.ArgumentParser:
        child = sub.add_parser(
            name,
            help=help,
            description=help,
            epilog=EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        _connection_options(child, top=False)
        return child

    command("info", "server version and collections")
    stats = command("stats", "health report of a collection")
    stats.add_argument("name")
    stats.add_argument("--json", action="store_true")
    ingest = command("ingest", "chunk, embed and upsert text/markdown files")
    ingest.add_argument("path")
    ingest.add_argument("--collection", type=_name, required=True)
    ingest.add_argument("--chunk-size", type=_int_in(1, 10**9), default=800)
    ingest.add_argument(
        "--overlap", type=_int_in(0, 10**9), default=None, help="default: min(100, size/4)"
    )
    ingest.add_argument("--drop", action="store_true", help="recreate the collection first")
    ingest.add_argument(
        "--prune", action="store_true", help="remove chunks of files no longer under the path"
    )
    ingest.add_argument(
        "--no-bm25",
        dest="bm25",
        action="store_false",
        help="create the collection without the BM25 keyword field: dense search only "
        "(for Milvus servers before 2.5, which have no BM25 function)",
    )
    ingest.add_argument("--no-progress", dest="progress", action="store_false", default=None)
    _embedding_option(ingest)
    search = command("search", "search a collection")
    search.add_argument("query")
    search.add_argument("--collection", type=_name, required=True)
    search.add_argument(
        "--mode",
        choices=("dense", "sparse", "hybrid"),
        default=None,
        help="default: hybrid, or dense on a collection without a BM25 field",
    )
    search.add_argument("-k", type=int, default=5)
    search.add_argument("--filter", default=None, help='e.g. \'{"year": {"$gte": 2020}}\'')
    search.add_argument("--json", action="store_true")
    _embedding_option(search)
    drop = command("drop", "drop a collection")
    drop.add_argument("name")
    drop.add_argument("--yes", action="store_true", help="do not ask")
    move = command(
        "migrate",
        "copy a collection (e.g. made by langchain-milvus or llama-index) into this "
        "package's layout; re-run to resume",
    )
    move.add_argument("source", metavar="SRC")
    move.add_argument("target", metavar="DST")
    move.add_argument("--target-uri", default=None, help="another database for DST")
    move.add_argument("--no-verify", dest="verify", action="store_false", default=True)
    move.add_argument(
        "--overwrite",
        action="store_true",
        help="replace rows DST holds under SRC's ids with other content (default: refuse)",
    )
    _copy_options(move, progress=True)
    formats = tuple(f.value for f in ExportFormat)
    export = command("export", "export a collection (vectors included) to a file")
    export.add_argument("collection")
    export.add_argument("file", help=".jsonl or .parquet (another name needs --format)")
    export.add_argument("--format", choices=formats, default=None, help="default: by extension")
    _copy_options(export)
    load = command("import", "create or fill a collection from an export file")
    load.add_argument("file")
    load.add_argument("collection")
    load.add_argument("--format", choices=formats, default=None, help="default: by extension")
    load.add_argument("--drop", action="store_true", help="recreate the collection first")
    load.add_argument(
        "--overwrite",
        action="store_true",
        help="replace rows COLLECTION holds under the file's ids with other content "
        "(default: refuse)",
    )
    _copy_options(load)
    again = command("reindex", "re-index/re-embed behind an alias, check recall, switch")
    again.add_argument("alias")
    again.add_argument("--index", default=None, help='a type (HNSW) or JSON {"index_type": ...}')
    again.add_argument(
        "--embedding", default=None, help="re-embed the text: 'minilm' or package.module:factory"
    )
    again.add_argument(
        "--target", type=_name, default=None, help="new collection (default: ALIAS_v<N>)"
    )
    again.add_argument("--min-recall", type=_fraction, default=0.9)
    again.add_argument("-k", type=_int_in(1, 1024), default=10)
    again.add_argument("--queries", type=_int_in(1, 10000), default=50, help="sampled queries")
    again.add_argument("--reference", choices=("exact", "source"), default="exact")
    again.add_argument("--search-params", default=None, help="e.g. '{\"ef\": 64}'")
    _copy_options(again)
    alias = command("alias", "point an alias at a collection (create, switch, roll back)")
    alias.add_argument("alias")
    alias.add_argument("collection")
    return parser
