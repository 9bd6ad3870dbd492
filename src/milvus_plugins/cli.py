"""The ``milvus-plugins`` command line: info, stats, ingest, search, drop.

Exit codes: 0 success, 1 a Milvus operation failed, 2 bad usage or input (bad filter
JSON, bad arguments), 3 the collection does not exist, 4 Milvus is unreachable or
rejected the credentials, 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from milvus_plugins.chunking import chunk_text, iter_text_files
from milvus_plugins.core import (
    AuthenticationError,
    CollectionNotFoundError,
    CollectionSpec,
    ConnectionConfig,
    MilvusConnectionError,
    MilvusPluginsError,
    MilvusStore,
    Record,
    content_id,
)
from milvus_plugins.core.dict_filters import filter_from_dict
from milvus_plugins.core.filters import Filter, and_, doc_id_in, id_in, not_

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_UNREACHABLE = 0, 1, 2, 3, 4


class CliError(Exception):
    """An error reported as one line with an exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _connection(args: argparse.Namespace) -> ConnectionConfig:
    return ConnectionConfig.from_env(uri=args.uri, token=args.token, timeout=args.timeout)


def _open(args: argparse.Namespace, name: str) -> MilvusStore:
    store = MilvusStore(CollectionSpec(name=name), connection=_connection(args), open_mode="adopt")
    if not store.exists():
        raise CliError(
            f"collection {name!r} does not exist (see 'milvus-plugins info').", EXIT_NOT_FOUND
        )
    return store


def _embedder() -> Any:
    from milvus_plugins.embeddings import MiniLMEmbedder

    return MiniLMEmbedder()


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
    out.write(f"uri:      {probe.session.connection.uri}\n")
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
    out.write(f"partitions: {', '.join(stats.partitions)}\nfields:\n")
    for name, kind in stats.fields.items():
        out.write(f"  {name:<16} {kind}\n")
    out.write("indexes:\n")
    for index in stats.indexes:
        out.write(f"  {index['field']:<16} {index['index_type']} {index['metric_type'] or ''}\n")
    return EXIT_OK


def cmd_ingest(args: argparse.Namespace, out: TextIO) -> int:
    """Chunk, embed and upsert text/markdown files; re-runs replace, never duplicate."""
    root = Path(args.path)
    if not root.exists():
        raise CliError(f"{root} does not exist.", EXIT_USAGE)
    files = list(iter_text_files(root))
    if not files:
        raise CliError(f"no .txt/.md files under {root}.", EXIT_USAGE)
    embedder = _embedder()
    spec = CollectionSpec(name=args.collection, dim=embedder.dim, sparse="bm25")
    store = MilvusStore(spec, connection=_connection(args), drop_old=args.drop)
    total = 0
    for path in files:
        source = str(path.relative_to(root) if root.is_dir() else path.name)
        overlap = args.overlap if args.overlap is not None else min(100, args.chunk_size // 4)
        text = path.read_text(encoding="utf-8")
        chunks = chunk_text(text, size=args.chunk_size, overlap=overlap)
        if not chunks:
            continue
        records = [
            Record(
                id=content_id(f"{source}#{i}", {"text": text}),
                text=text,
                metadata={"source": source, "chunk": i},
                doc_id=source,
            )
            for i, text in enumerate(chunks)
        ]
        store.validate_before_embedding(records)  # e.g. an undecodable file name
        for record, vector in zip(records, embedder.embed(chunks), strict=True):
            record.vector = vector
        ids = store.upsert(records, progress=args.progress)
        # Chunks of an earlier version of this file that no longer exist are removed.
        stale: Filter = and_(doc_id_in([source]), not_(id_in(ids)))
        store.delete(filter=stale)
        total += len(ids)
        out.write(f"{source}: {len(ids)} chunks\n")
    out.write(f"ingested {total} chunks from {len(files)} files into {args.collection!r} ")
    out.write(f"(rows now: {store.count()})\n")
    return EXIT_OK


def _snippet(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def cmd_search(args: argparse.Namespace, out: TextIO) -> int:
    """Search a collection and print a table of hits."""
    flt = _parse_filter(args.filter)
    store = _open(args, args.collection)
    vector = None
    if args.mode != "sparse":
        vector = _embedder().embed([args.query])[0].tolist()
    hits = store.retrieve(mode=args.mode, vector=vector, text=args.query, k=args.k, filter=flt)
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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(
        prog="milvus-plugins", description="Inspect, fill and search Milvus collections."
    )
    parser.add_argument(
        "--uri",
        default=None,
        help="Milvus Lite file or server URI (default: $MILVUS_URI or ./milvus.db)",
    )
    parser.add_argument("--token", default=None, help="token (default: $MILVUS_TOKEN)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per call")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="server version and collections").set_defaults(func=cmd_info)
    stats = sub.add_parser("stats", help="health report of a collection")
    stats.add_argument("name")
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(func=cmd_stats)
    ingest = sub.add_parser("ingest", help="chunk, embed and upsert text/markdown files")
    ingest.add_argument("path")
    ingest.add_argument("--collection", required=True)
    ingest.add_argument("--chunk-size", type=int, default=800)
    ingest.add_argument("--overlap", type=int, default=None, help="default: min(100, size/4)")
    ingest.add_argument("--drop", action="store_true", help="recreate the collection first")
    ingest.add_argument("--no-progress", dest="progress", action="store_false", default=None)
    ingest.set_defaults(func=cmd_ingest)
    search = sub.add_parser("search", help="search a collection")
    search.add_argument("query")
    search.add_argument("--collection", required=True)
    search.add_argument("--mode", choices=("dense", "sparse", "hybrid"), default="hybrid")
    search.add_argument("-k", type=int, default=5)
    search.add_argument("--filter", default=None, help='e.g. \'{"year": {"$gte": 2020}}\'')
    search.add_argument("--json", action="store_true")
    search.set_defaults(func=cmd_search)
    drop = sub.add_parser("drop", help="drop a collection")
    drop.add_argument("name")
    drop.add_argument("--yes", action="store_true", help="do not ask")
    drop.set_defaults(func=cmd_drop)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the CLI; return the exit code."""
    stream = out or sys.stdout
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        code: int = args.func(args, stream)
        return code
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code
    except (MilvusConnectionError, AuthenticationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except CollectionNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_NOT_FOUND
    except ValueError as exc:  # ConfigError, InvalidInputError, FilterError
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except MilvusPluginsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:  # the reader (e.g. `head`) closed the pipe: not an error
        sys.stderr.close()
        return EXIT_OK
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
