"""What the command line hands the library: exit codes, one-line errors in flag terms, and
connection, JSON, filter and progress options turned into library values.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from milvus_plugins.core import ConnectionConfig
from milvus_plugins.core.dict_filters import filter_from_dict
from milvus_plugins.core.filters import Filter
from milvus_plugins.core.messages import shown_path

__all__ = [
    "EXIT_FAILED",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_UNREACHABLE",
    "EXIT_USAGE",
    "CliError",
    "check_uri",
    "cli_words",
    "connection_of",
    "json_option",
    "parse_filter",
    "progress_printer",
]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_UNREACHABLE = 0, 1, 2, 3, 4


class CliError(Exception):
    """An error reported as one line with an exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


# The library's messages name Python arguments; on the command line the flags apply.
_CLI_WORDS: tuple[tuple[str, str], ...] = (
    (
        "create it with sparse='bm25' (server BM25) or sparse='client' (a SparseEncoder)",
        "search it with --mode dense, or rebuild it with 'milvus-plugins ingest --drop'",
    ),
    ("pass drop_old=True to delete it and recreate it", "pass --drop to ingest to recreate it"),
    ("(a different embedding model?)", "(a different --embedding?)"),
    ("pass allow_embedding_change=True", "pass --allow-embedding-change"),
    ("(drop_old=True; CLI: --drop)", "(--drop)"),
    ("overwrite=True (CLI: --overwrite)", "--overwrite"),
    ("drop_old=True", "--drop"),
    ("another collection_name", "another --collection"),
    ("retrieval_mode=", "--mode "),
)


_K_ARGUMENT = re.compile(r"(?<![\w-])k=(-?\w+)")


def cli_words(message: str) -> str:
    """Rewrite a library error message in command-line terms (flags, not arguments)."""
    for python, flag in _CLI_WORDS:
        message = message.replace(python, flag)
    return _K_ARGUMENT.sub(r"-k \1", message)


_URI_SCHEMES = ("http", "https", "tcp", "unix", "grpc")


def check_uri(uri: str, flag: str = "--uri or $MILVUS_URI") -> None:
    """Refuse a URI that is neither a Milvus Lite ``.db`` path nor a server address, a
    port outside 1-65535, and a Lite path where Milvus Lite cannot make a database.

    Self-contained (the library checks too, in its own words): ``flag`` names where the
    URI came from.

    Raises:
        CliError: with exit code 2, naming the URI (without credentials), what is wrong
            and the fix.
    """
    forms = "use a Milvus Lite file ending in .db, or http(s)://host:port"
    try:
        parts = urlsplit(uri)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        where = f"the URI ({flag})"
        raise CliError(f"{where} is not a Milvus URI (it does not parse); {forms}.", 2) from None
    shown_uri = uri
    if "@" in parts.netloc:  # user:password@host: never shown
        shown_uri = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
    where = f"the URI {shown_path(shown_uri)} ({flag})"
    if parts.scheme in _URI_SCHEMES:
        port = _port(parts.netloc)
        if port and not (port.isascii() and port.isdigit()):
            raise CliError(f"{where} has a port that is not a number ({port!r}); {forms}.", 2)
        if port and not 1 <= int(port) <= 65535:
            raise CliError(f"{where}: port {int(port)} is out of range 1-65535; {forms}.", 2)
        if parts.scheme != "unix" and not parts.hostname:
            raise CliError(f"{where} names no host; {forms}.", EXIT_USAGE)
        return
    if not uri.endswith(".db") or "://" in uri:
        raise CliError(f"{where} is not a Milvus URI; {forms}.", EXIT_USAGE)
    path = Path(uri).expanduser()
    parent = path.parent
    if not parent.is_dir():
        raise CliError(
            f"{where}: directory {shown_path(str(parent))} does not exist; create it first.",
            EXIT_USAGE,
        )
    # Milvus Lite keeps a database in a directory of that name, and opens any directory
    # (an empty one becomes a new database); anything else there makes it fail.
    if os.path.lexists(path) and not path.is_dir():
        if path.is_symlink() and not path.exists():
            what = f"a symbolic link to {shown_path(os.readlink(path))}, which does not exist"
        else:
            what = "a file" if path.is_file() else "not a directory"
        raise CliError(
            f"{where} is {what}, not a Milvus Lite database (Milvus Lite keeps a database in a "
            "directory of that name); pass a new path, or the path of an existing database.",
            EXIT_USAGE,
        )


def _port(netloc: str) -> str:
    """The port as written in a URI's ``host:port`` (``""``: none)."""
    hostport = netloc.rpartition("@")[2]
    if hostport.startswith("["):  # [IPv6]:port
        hostport = hostport.partition("]")[2]
    return hostport.partition(":")[2]


def connection_of(args: argparse.Namespace) -> ConnectionConfig:
    """The connection the --uri, --token, --db-name and --timeout options (or the
    environment) name."""
    given = args.uri if args.uri is not None else os.environ.get("MILVUS_URI")
    if given:
        check_uri(given)  # in the CLI's words, before the library's own check
    connection = ConnectionConfig.from_env(
        uri=args.uri, token=args.token, timeout=args.timeout, db_name=args.db_name or ""
    )
    check_uri(connection.uri)
    return connection


def json_option(text: str | None, flag: str) -> Any:
    """The JSON value of option ``flag`` (``None`` when not given); exit code 2 if not JSON."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"{flag} is not valid JSON: {exc.msg} at column {exc.colno}.", 2) from exc
    except RecursionError:  # the decoder's own recursion: nested far beyond any real value
        raise CliError(f"{flag} nests too deeply to read; flatten it.", 2) from None


def parse_filter(text: str | None) -> Filter | None:
    """The --filter option as a filter (``None`` when absent or ``{}``)."""
    if not text:
        return None
    data = json_option(text, "--filter")
    if data == {}:
        return None  # an empty filter matches everything, as with no --filter at all
    return filter_from_dict(data)


def progress_printer(out: TextIO, verb: str, enabled: bool | None) -> Callable[[int], None] | None:
    """A row-count printer on stderr (``None`` when disabled, or by default off a terminal)."""
    if enabled is False or (enabled is None and not sys.stderr.isatty()):
        return None
    return lambda rows: print(f"\r{verb} {rows} rows", end="", file=sys.stderr, flush=True)
