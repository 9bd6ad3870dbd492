"""The ``milvus-plugins`` command line: info, stats, ingest, search, drop, migrate,
export, import, reindex, alias.

Exit codes: 0 success, 1 a Milvus operation failed, 2 bad usage or input (bad filter
JSON, bad arguments, a malformed URI, an embedding of the wrong dimension), 3 the
collection does not exist, 4 Milvus is unreachable or rejected the credentials, 130
interrupted. Error messages name command-line flags (``--drop``), not the Python
arguments the library's messages name (``drop_old=True``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from tqdm.auto import tqdm

from milvus_plugins.chunking import chunk_text, iter_text_files
from milvus_plugins.core import (
    AuthenticationError,
    CollectionNotFoundError,
    CollectionSpec,
    ConnectionConfig,
    ExportFormat,
    MilvusConnectionError,
    MilvusPluginsError,
    MilvusStore,
    Record,
    SchemaMismatchError,
    content_id,
    export_collection,
    import_collection,
    point_alias,
    reindex,
)
from milvus_plugins.core.dict_filters import filter_from_dict
from milvus_plugins.core.errors import shown
from milvus_plugins.core.filters import Filter, In, and_, doc_id_in, id_in, not_
from milvus_plugins.core.indexes import index_from_dict
from milvus_plugins.core.migration import migrate, migration_target_spec

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_UNREACHABLE = 0, 1, 2, 3, 4

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

connection: --uri, --token and --timeout go before or after the command (default:
  $MILVUS_URI / $MILVUS_TOKEN, else ./milvus.db, a Milvus Lite file).

embedding: --embedding minilm (default: all-MiniLM-L6-v2, offline, 384-d) or
  package.module:factory, a callable without arguments returning a LangChain Embeddings
  or an object with embed(texts) -> vectors. Search with the model a collection was filled
  with: a dimension mismatch is refused (exit 2).

search --mode: hybrid (dense + BM25) by default when the collection has a BM25 field,
  else dense (said on stderr).

ingest: files must be UTF-8 text; others are skipped with a warning naming them, before
  anything is written. --prune removes the chunks of files no longer under the path.

export/import: JSON Lines (.jsonl) or Parquet (.parquet, needs pyarrow), streamed both
  ways; a malformed or truncated file is refused naming the line, before anything is
  written; an import that fails part-way says how many rows it wrote (re-run it).

reindex: builds ALIAS_v<N> with the new --index and/or --embedding, checks its recall@k
  (--min-recall, default 0.9), then switches the alias; the old collection is kept
  (roll back with 'alias ALIAS OLD'; drop it when done).

exit codes:
  0 ok, 1 a Milvus operation failed, 2 bad usage or input (filter, URI, flags, embedding
  dimension), 3 unknown collection, 4 Milvus unreachable or credentials rejected,
  130 interrupted
"""


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


def check_uri(uri: str) -> None:
    """Refuse a URI that is neither a Milvus Lite ``.db`` path nor a server address.

    Raises:
        CliError: with exit code 2, naming the URI and the accepted forms.
    """
    where = f"the URI {shown(uri)} (--uri or $MILVUS_URI)"
    forms = "use a Milvus Lite file ending in .db, or http(s)://host:port"
    parts = urlsplit(uri)
    if parts.scheme in _URI_SCHEMES:
        try:
            _ = parts.port
        except ValueError:
            raise CliError(f"{where} has a port that is not a number; {forms}.", 2) from None
        if parts.scheme != "unix" and not parts.hostname:
            raise CliError(f"{where} names no host; {forms}.", EXIT_USAGE)
        return
    if not uri.endswith(".db") or "://" in uri:
        raise CliError(f"{where} is not a Milvus URI; {forms}.", EXIT_USAGE)
    parent = Path(uri).expanduser().parent
    if not parent.is_dir():
        raise CliError(
            f"{where}: directory {shown(str(parent))} does not exist; create it first.", EXIT_USAGE
        )


def _connection(args: argparse.Namespace) -> ConnectionConfig:
    connection = ConnectionConfig.from_env(uri=args.uri, token=args.token, timeout=args.timeout)
    check_uri(connection.uri)
    return connection


def _open(args: argparse.Namespace, name: str) -> MilvusStore:
    store = MilvusStore(CollectionSpec(name=name), connection=_connection(args), open_mode="adopt")
    if not store.exists():
        raise CliError(
            f"collection {shown(name)} does not exist (see 'milvus-plugins info').", EXIT_NOT_FOUND
        )
    return store


Vectors = Any  # a list of float lists, or a 2-d numpy array


@dataclass(frozen=True)
class Embedder:
    """The model chosen with ``--embedding``: texts -> vectors."""

    name: str
    embed: Callable[[list[str]], Vectors]


def _floats(vectors: Any) -> list[list[float]]:
    return [[float(x) for x in vector] for vector in vectors]


def load_embedder(choice: str) -> Embedder:
    """Load ``minilm`` or a ``package.module:factory`` embedding.

    Raises:
        CliError: exit code 2, when the factory cannot be imported, called or used.
    """
    if choice == "minilm":
        from milvus_plugins.embeddings import MiniLMEmbedder

        model = MiniLMEmbedder()
        return Embedder(choice, model.embed)
    module_name, _, attribute = choice.partition(":")
    if not module_name or not attribute:
        raise CliError(
            f"--embedding {shown(choice)} must be 'minilm' or 'package.module:factory'.", EXIT_USAGE
        )
    # As for other CLIs that load user code: modules in the working directory count.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise CliError(f"--embedding {shown(choice)}: cannot load it ({exc}).", EXIT_USAGE) from exc
    model = factory() if callable(factory) else factory
    if hasattr(model, "embed_documents"):
        return Embedder(choice, lambda texts: _floats(model.embed_documents(texts)))
    if hasattr(model, "embed"):
        return Embedder(choice, lambda texts: _floats(model.embed(texts)))
    raise CliError(
        f"--embedding {shown(choice)} returned {type(model).__name__}, which has neither "
        "embed_documents(texts) nor embed(texts).",
        EXIT_USAGE,
    )


def _check_dim(store: MilvusStore, embedder: Embedder, got: int) -> None:
    expected = store.spec.dim
    if expected is not None and expected != got:
        raise CliError(
            f"collection {shown(store.spec.name)} holds {expected}-d vectors but --embedding "
            f"{embedder.name} makes {got}-d ones; search with the model the collection was "
            "filled with (--embedding package.module:factory), or use --mode sparse.",
            EXIT_USAGE,
        )


def _parse_filter(text: str | None) -> Filter | None:
    if not text:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"--filter is not valid JSON: {exc.msg} at column {exc.colno}.", 2) from exc
    if data == {}:
        return None  # an empty filter matches everything, as with no --filter at all
    return filter_from_dict(data)


def cmd_info(args: argparse.Namespace, out: TextIO) -> int:
    """Print the server version and the collections with their row counts."""
    probe = MilvusStore(CollectionSpec(name="_probe"), connection=_connection(args))
    caps = probe.capabilities
    names = probe.list_collections()
    out.write(f"uri:      {probe.session.connection.safe_uri}\n")
    out.write(f"server:   {caps.version}\n")
    out.write(f"features: sparse={caps.sparse} bm25={caps.bm25_function} ")
    out.write(f"hybrid_search={caps.hybrid_search}\n")
    out.write(f"collections ({len(names)}):\n")
    for name in sorted(names):
        try:
            rows: Any = _open(args, name).count()
        except MilvusPluginsError as exc:
            rows = f"not readable by milvus-plugins ({type(exc).__name__})"
        out.write(f"  {name}  rows={rows}\n")
    return EXIT_OK


def cmd_stats(args: argparse.Namespace, out: TextIO) -> int:
    """Print the health report of one collection."""
    stats = _open(args, args.name).stats()
    if args.json:
        out.write(json.dumps(stats.as_dict(), indent=2, default=str) + "\n")
        return EXIT_OK
    out.write(f"collection: {stats.name}\nrows:       {stats.row_count}\n")
    out.write(f"dim:        {stats.dim}\nsparse:     {stats.sparse}\n")
    out.write(f"load state: {stats.load_state}\nserver:     {stats.server_version}\n")
    props = " ".join(f"{k}={v}" for k, v in stats.properties.items()) or "(engine defaults)"
    out.write(f"properties: {props}\ntext match: {stats.text_match}\n")
    out.write(f"partitions: {', '.join(stats.partitions)}\n")
    if stats.partition_key is not None:
        out.write(f"partition key: {stats.partition_key} (num_partitions {stats.num_partitions})\n")
    out.write("fields:\n")
    for name, kind in stats.fields.items():
        out.write(f"  {name:<16} {kind}\n")
    out.write("indexes:\n")
    for index in stats.indexes:
        out.write(f"  {index['field']:<16} {index['index_type']} {index['metric_type'] or ''}\n")
    return EXIT_OK


def _read_texts(root: Path, files: list[Path]) -> tuple[dict[str, str], list[str]]:
    """Decode every file up front: ``({source: text}, [undecodable sources])``."""
    texts: dict[str, str] = {}
    skipped: list[str] = []
    for path in files:
        source = str(path.relative_to(root) if root.is_dir() else path.name)
        try:
            texts[source] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            skipped.append(source)
            print(
                f"warning: skipping {source}: not UTF-8 text (byte {exc.object[exc.start]:#04x} "
                f"at offset {exc.start}); convert it to UTF-8 to ingest it.",
                file=sys.stderr,
            )
    return texts, skipped


def _prune(store: MilvusStore, sources: list[str], out: TextIO) -> None:
    """Delete chunks of files that are no longer there (rows of other writers stay)."""
    # doc_id "" marks rows without a source file (e.g. written through LangChain): they
    # stay. doc_id_in() refuses "" (as an id it is a mistake), so the node is built here.
    gone: Filter = not_(In("doc_id", (*sources, ""), target="doc_id"))
    stale = sorted({r.doc_id for r in store.query(gone)})
    if stale:
        store.delete(filter=gone)
    out.write(f"pruned {len(stale)} files no longer under the path")
    out.write(f": {', '.join(stale)}\n" if stale else "\n")


def cmd_ingest(args: argparse.Namespace, out: TextIO) -> int:
    """Chunk, embed and upsert text/markdown files; re-runs replace, never duplicate."""
    root = Path(args.path)
    if not root.exists():
        raise CliError(f"{root} does not exist.", EXIT_USAGE)
    files = list(iter_text_files(root))
    if not files:
        raise CliError(f"no .txt/.md files under {root}.", EXIT_USAGE)
    overlap = args.overlap if args.overlap is not None else min(100, args.chunk_size // 4)
    connection = _connection(args)
    texts, skipped = _read_texts(root, files)
    if not texts:
        raise CliError(f"none of the {len(files)} files under {root} is UTF-8 text.", EXIT_USAGE)
    chunked = {
        source: chunk_text(text, size=args.chunk_size, overlap=overlap)
        for source, text in texts.items()
    }
    # Every record is built and checked before anything is embedded or written (e.g.
    # an undecodable file name): a spec without a dimension is enough for that, no I/O.
    unchecked = MilvusStore(
        CollectionSpec(name=args.collection, sparse="bm25"), connection=connection
    )
    batches: list[tuple[str, list[str], list[Record]]] = []
    for source, chunks in chunked.items():
        records = [
            Record(
                id=content_id(f"{source}#{i}", {"text": text}),
                text=text,
                metadata={"source": source, "chunk": i},
                doc_id=source,
            )
            for i, text in enumerate(chunks)
        ]
        unchecked.validate_before_embedding(records)
        if records:
            batches.append((source, chunks, records))
    embedder = load_embedder(args.embedding)
    store: MilvusStore | None = None
    total = 0
    for source, chunks, records in batches:
        vectors = embedder.embed(chunks)
        if store is None:
            spec = CollectionSpec(name=args.collection, dim=len(vectors[0]), sparse="bm25")
            store = MilvusStore(spec, connection=connection, drop_old=args.drop)
            store.ensure_collection(len(vectors[0]))  # a mismatch raises before any write
        for record, vector in zip(records, vectors, strict=True):
            record.vector = vector
        ids = store.upsert(records, progress=args.progress)
        # Chunks of an earlier version of this file that no longer exist are removed.
        stale: Filter = and_(doc_id_in([source]), not_(id_in(ids)))
        store.delete(filter=stale)
        total += len(ids)
        out.write(f"{source}: {len(ids)} chunks\n")
    if store is None:
        raise CliError(f"the files under {root} hold no text to ingest.", EXIT_USAGE)
    if args.prune:
        _prune(store, [*texts, *skipped], out)
    out.write(f"ingested {total} chunks from {len(texts)} files into {args.collection!r} ")
    out.write(f"(rows now: {store.count()})\n")
    if skipped:
        out.write(f"skipped {len(skipped)} files that are not UTF-8 text: {', '.join(skipped)}\n")
    return EXIT_OK


def _snippet(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _search_mode(store: MilvusStore, requested: str | None) -> str:
    has_sparse = store.spec.has_sparse
    if requested is None:
        if has_sparse:
            return "hybrid"
        print(
            f"note: collection {shown(store.spec.name)} has no keyword (BM25) field; searching "
            "dense only (pass --mode dense to silence this note).",
            file=sys.stderr,
        )
        return "dense"
    if requested != "dense" and not has_sparse:
        raise CliError(
            f"--mode {requested} needs a keyword (BM25) field, but collection "
            f"{shown(store.spec.name)} has none (it was created dense-only); use --mode dense, "
            "or rebuild it with 'milvus-plugins ingest --drop'.",
            EXIT_USAGE,
        )
    return requested


def cmd_search(args: argparse.Namespace, out: TextIO) -> int:
    """Search a collection and print a table of hits."""
    flt = _parse_filter(args.filter)
    store = _open(args, args.collection)
    mode = _search_mode(store, args.mode)
    vector = None
    if mode != "sparse":
        embedder = load_embedder(args.embedding)
        vector = [float(x) for x in embedder.embed([args.query])[0]]
        _check_dim(store, embedder, len(vector))
    hits = store.retrieve(mode=mode, vector=vector, text=args.query, k=args.k, filter=flt)
    if args.json:
        rows = [
            {
                "rank": i,
                "score": h.score,
                "id": h.id,
                "text": h.record.text,
                "metadata": h.record.metadata,
            }
            for i, h in enumerate(hits, 1)
        ]
        out.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return EXIT_OK
    if not hits:
        out.write("no results\n")
        return EXIT_OK
    out.write(f"{'#':>2}  {'score':>6}  {'id':<12}  text\n")
    for rank, hit in enumerate(hits, 1):
        meta = json.dumps(hit.record.metadata, ensure_ascii=False)
        out.write(f"{rank:>2}  {hit.score:6.3f}  {hit.id[:12]:<12}  ")
        out.write(f"{_snippet(hit.record.text, 70)}\n{'':>24}{_snippet(meta, 70)}\n")
    return EXIT_OK


def cmd_drop(args: argparse.Namespace, out: TextIO) -> int:
    """Drop a collection after confirmation (or with --yes)."""
    store = _open(args, args.name)
    if not args.yes:
        prompt = f"Drop collection {args.name!r} with {store.count()} rows? [y/N] "
        out.write(prompt)
        out.flush()
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            out.write("aborted; nothing was dropped\n")
            return EXIT_FAILED
    store.drop()
    out.write(f"dropped {args.name!r}\n")
    return EXIT_OK


def cmd_migrate(args: argparse.Namespace, out: TextIO) -> int:
    """Copy a collection of any adopted layout into this package's layout, then verify."""
    source = _open(args, args.source)
    connection = _connection(args)
    if args.target_uri is not None:
        connection = ConnectionConfig.from_env(
            uri=args.target_uri, token=args.token, timeout=args.timeout
        )
        check_uri(connection.uri)
    spec = migration_target_spec(source.spec, args.target)
    target = MilvusStore(spec, connection=connection)
    total = source.count()
    bar = tqdm(total=total, unit="rows", disable=not args.progress, file=sys.stderr)

    def advance(copied: int, _total: int) -> None:
        bar.update(copied - bar.n)

    try:
        report = migrate(
            source, target, batch_rows=args.batch_rows, progress=advance, verify=args.verify
        )
    finally:
        bar.close()
        target.close()
        source.close()
    out.write(
        f"copied {report.copied} rows {args.source!r} -> {args.target!r} "
        f"in {report.seconds:.1f} s\n"
    )
    check = report.verification
    if check is None:
        return EXIT_OK
    out.write(
        f"verification: source_rows={check.source_rows} target_rows={check.target_rows} "
        f"sampled={check.sampled} mismatches={len(check.mismatches)} "
        f"top{check.k}_agreement={check.topk_agreement:.3f} -> "
        f"{'ok' if check.ok else 'FAILED'}\n"
    )
    for line in check.mismatches[:10]:
        out.write(f"  {line}\n")
    return EXIT_OK if check.ok else EXIT_FAILED


def _progress(out: TextIO, verb: str, enabled: bool | None) -> Callable[[int], None] | None:
    if enabled is False or (enabled is None and not sys.stderr.isatty()):
        return None
    return lambda rows: print(f"\r{verb} {rows} rows", end="", file=sys.stderr, flush=True)


def cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    """Export a collection, vectors included, to a JSON Lines or Parquet file."""
    store = _open(args, args.collection)
    report = export_collection(
        store,
        args.file,
        format=args.format,
        batch_rows=args.batch_rows,
        on_progress=_progress(out, "exported", args.progress),
    )
    out.write(f"exported {report.rows} rows of {shown(report.collection)} to {report.path} ")
    out.write(f"({report.format.value})\n")
    return EXIT_OK


def cmd_import(args: argparse.Namespace, out: TextIO) -> int:
    """Create (or fill) a collection from an export file."""
    report = import_collection(
        args.file,
        args.collection,
        connection=_connection(args),
        format=args.format,
        batch_rows=args.batch_rows,
        drop_old=args.drop,
        on_progress=_progress(out, "imported", args.progress),
    )
    out.write(f"imported {report.rows} rows into {shown(report.collection)} from {report.path}\n")
    return EXIT_OK


def _json_option(text: str | None, flag: str) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"{flag} is not valid JSON: {exc.msg} at column {exc.colno}.", 2) from exc


def cmd_reindex(args: argparse.Namespace, out: TextIO) -> int:
    """Re-index (or re-embed) the collection behind an alias, check recall, switch."""
    index = None
    if args.index is not None:
        spec = args.index if not args.index.lstrip().startswith("{") else None
        index = index_from_dict(spec or _json_option(args.index, "--index"))
    search_params = _json_option(args.search_params, "--search-params")
    embed = name = None
    if args.embedding is not None:
        embedder = load_embedder(args.embedding)
        embed, name = embedder.embed, embedder.name
    report = reindex(
        _connection(args),
        args.alias,
        index=index,
        embed=embed,
        embedding_model=name,
        target=args.target,
        min_recall=args.min_recall,
        k=args.k,
        sample_queries=args.queries,
        reference=args.reference,
        search_params=search_params,
        batch_rows=args.batch_rows,
        on_progress=_progress(out, "copied", args.progress),
    )
    out.write(
        f"alias {shown(report.alias)} now points at {shown(report.current)} "
        f"({report.rows} rows, recall@{report.k} = {report.recall:.3f} on {report.queries} "
        f"queries); {shown(report.previous)} is kept: roll back with 'milvus-plugins alias "
        f"{report.alias} {report.previous}', or drop it when done.\n"
    )
    return EXIT_OK


def cmd_alias(args: argparse.Namespace, out: TextIO) -> int:
    """Point an alias at a collection (create it, or switch it atomically)."""
    previous = point_alias(_connection(args), args.alias, args.collection)
    was = f" (was {shown(previous)})" if previous else " (created)"
    if previous == args.collection:
        was = " (unchanged)"
    out.write(f"alias {shown(args.alias)} now points at {shown(args.collection)}{was}\n")
    return EXIT_OK


def _connection_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # The top-level parser holds the defaults; each command repeats the options with
    # SUPPRESS so that they may also follow the command without resetting the value.
    default: Any = None if top else argparse.SUPPRESS
    parser.add_argument(
        "--uri",
        default=default,
        help="Milvus Lite file or server URI (default: $MILVUS_URI or ./milvus.db)",
    )
    parser.add_argument("--token", default=default, help="token (default: $MILVUS_TOKEN)")
    parser.add_argument(
        "--timeout", type=float, default=10.0 if top else argparse.SUPPRESS, help="seconds per call"
    )


def _embedding_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--embedding",
        default="minilm",
        help="'minilm' (default, offline 384-d) or package.module:factory",
    )


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

    command("info", "server version and collections").set_defaults(func=cmd_info)
    stats = command("stats", "health report of a collection")
    stats.add_argument("name")
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(func=cmd_stats)
    ingest = command("ingest", "chunk, embed and upsert text/markdown files")
    ingest.add_argument("path")
    ingest.add_argument("--collection", required=True)
    ingest.add_argument("--chunk-size", type=int, default=800)
    ingest.add_argument("--overlap", type=int, default=None, help="default: min(100, size/4)")
    ingest.add_argument("--drop", action="store_true", help="recreate the collection first")
    ingest.add_argument(
        "--prune", action="store_true", help="remove chunks of files no longer under the path"
    )
    ingest.add_argument("--no-progress", dest="progress", action="store_false", default=None)
    _embedding_option(ingest)
    ingest.set_defaults(func=cmd_ingest)
    search = command("search", "search a collection")
    search.add_argument("query")
    search.add_argument("--collection", required=True)
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
    search.set_defaults(func=cmd_search)
    drop = command("drop", "drop a collection")
    drop.add_argument("name")
    drop.add_argument("--yes", action="store_true", help="do not ask")
    drop.set_defaults(func=cmd_drop)
    move = command(
        "migrate",
        "copy a collection (e.g. made by langchain-milvus or llama-index) into this "
        "package's layout; re-run to resume",
    )
    move.add_argument("source", metavar="SRC")
    move.add_argument("target", metavar="DST")
    move.add_argument("--target-uri", default=None, help="another database for DST")
    move.add_argument("--batch-rows", type=int, default=1000)
    move.add_argument("--no-verify", dest="verify", action="store_false", default=True)
    move.add_argument("--no-progress", dest="progress", action="store_false", default=True)
    move.set_defaults(func=cmd_migrate)
    formats = tuple(f.value for f in ExportFormat)
    export = command("export", "export a collection (vectors included) to a file")
    export.add_argument("collection")
    export.add_argument("file", help=".jsonl or .parquet")
    export.add_argument("--format", choices=formats, default=None, help="default: by extension")
    export.add_argument("--batch-rows", type=int, default=1000)
    export.add_argument("--no-progress", dest="progress", action="store_false", default=None)
    export.set_defaults(func=cmd_export)
    load = command("import", "create or fill a collection from an export file")
    load.add_argument("file")
    load.add_argument("collection")
    load.add_argument("--format", choices=formats, default=None, help="default: by extension")
    load.add_argument("--batch-rows", type=int, default=1000)
    load.add_argument("--drop", action="store_true", help="recreate the collection first")
    load.add_argument("--no-progress", dest="progress", action="store_false", default=None)
    load.set_defaults(func=cmd_import)
    again = command("reindex", "re-index/re-embed behind an alias, check recall, switch")
    again.add_argument("alias")
    again.add_argument("--index", default=None, help='a type (HNSW) or JSON {"index_type": ...}')
    again.add_argument(
        "--embedding", default=None, help="re-embed the text: 'minilm' or package.module:factory"
    )
    again.add_argument("--target", default=None, help="new collection (default: ALIAS_v<N>)")
    again.add_argument("--min-recall", type=float, default=0.9)
    again.add_argument("-k", type=int, default=10)
    again.add_argument("--queries", type=int, default=50, help="sampled queries")
    again.add_argument("--reference", choices=("exact", "source"), default="exact")
    again.add_argument("--search-params", default=None, help="e.g. '{\"ef\": 64}'")
    again.add_argument("--batch-rows", type=int, default=1000)
    again.add_argument("--no-progress", dest="progress", action="store_false", default=None)
    again.set_defaults(func=cmd_reindex)
    alias = command("alias", "point an alias at a collection (create, switch, roll back)")
    alias.add_argument("alias")
    alias.add_argument("collection")
    alias.set_defaults(func=cmd_alias)
    return parser


def _fail(message: str, code: int) -> int:
    print(f"error: {cli_words(message)}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the CLI; return the exit code."""
    stream = out or sys.stdout
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # Milvus Lite has no AllocTimestamp: pymilvus' query iterator (export, reindex) warns
    # on every page that it falls back to a client timestamp, which is harmless there.
    logging.getLogger("pymilvus.client.iterator").setLevel(logging.ERROR)
    try:
        code: int = args.func(args, stream)
        return code
    except CliError as exc:
        return _fail(str(exc), exc.code)
    except (MilvusConnectionError, AuthenticationError) as exc:
        return _fail(str(exc), EXIT_UNREACHABLE)
    except CollectionNotFoundError as exc:
        return _fail(str(exc), EXIT_NOT_FOUND)
    except (ValueError, SchemaMismatchError) as exc:  # Config/InvalidInput/FilterError
        return _fail(str(exc), EXIT_USAGE)
    except MilvusPluginsError as exc:
        return _fail(str(exc), EXIT_FAILED)
    except BrokenPipeError:  # the reader (e.g. `head`) closed the pipe: not an error
        sys.stderr.close()
        return EXIT_OK
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
