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
import contextlib
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from tqdm.auto import tqdm

from milvus_plugins.chunking import chunk_text, iter_text_files
from milvus_plugins.cli.embedders import Embedder, check_dim, load_embedder
from milvus_plugins.cli.inputs import (
    EXIT_FAILED,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    CliError,
    check_uri,
    cli_words,
    connection_of,
    json_option,
    parse_filter,
    progress_printer,
)
from milvus_plugins.cli.parser import build_parser
from milvus_plugins.core import (
    AuthenticationError,
    CollectionNotFoundError,
    CollectionSpec,
    ConnectionConfig,
    DatabaseNotFoundError,
    EmbeddingProbe,
    ExportFormat,
    InvalidInputError,
    MilvusConnectionError,
    MilvusPluginsError,
    MilvusStore,
    Record,
    SchemaMismatchError,
    UnsupportedByServerError,
    content_id,
    export_collection,
    import_collection,
    point_alias,
    reindex,
    resolve_alias,
)
from milvus_plugins.core.capabilities import BM25_FEATURE
from milvus_plugins.core.connection import is_utf8
from milvus_plugins.core.errors import shown
from milvus_plugins.core.filters import Filter, In, and_, doc_id_in, id_in, not_
from milvus_plugins.core.indexes import index_from_dict
from milvus_plugins.core.migration import migrate, migration_target_spec

__all__ = ["COMMANDS", "CliError", "build_parser", "main"]


def _open(args: argparse.Namespace, name: str, embedder: Embedder | None = None) -> MilvusStore:
    store = MilvusStore(
        CollectionSpec(name=name),
        connection=connection_of(args),
        open_mode="adopt",
        embedding=None if embedder is None else _probe(embedder),
        allow_embedding_change=getattr(args, "allow_embedding_change", False),
    )
    if not store.exists():
        raise CliError(
            f"collection {shown(name)} does not exist (see 'milvus-plugins info').", EXIT_NOT_FOUND
        )
    return store


def _probe(embedder: Embedder) -> EmbeddingProbe:
    """The fingerprint of ``--embedding``: recorded by ingest, checked by every command
    that embeds into or searches a collection recording one (as the adapters do)."""
    return EmbeddingProbe(embed=lambda text: embedder.embed([text])[0], model=embedder.name)


def cmd_info(args: argparse.Namespace, out: TextIO) -> int:
    """Print the server version and the collections with their row counts."""
    probe = MilvusStore(CollectionSpec(name="_probe"), connection=connection_of(args))
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


def _read_texts(root: Path, files: list[Path]) -> tuple[dict[str, tuple[str, str]], list[str]]:
    """Decode every file up front: ``({doc_id: (source, text)}, [skipped sources])``.

    A file's ``doc_id`` is its absolute path (so files of the same name in two folders
    never replace each other's chunks); its ``source`` is its path relative to the
    folder ingested (the file's name for a file), as shown and filtered on.
    """
    base = _base(root)
    base_utf8 = is_utf8(str(base))
    texts: dict[str, tuple[str, str]] = {}
    skipped: list[str] = []
    for path in files:
        # A file given itself (perhaps through a link) is named as its target is.
        source = str(path.relative_to(root) if root.is_dir() else path.resolve().name)
        if not base_utf8 or not is_utf8(source):
            skipped.append(source)
            print(
                f"warning: skipping {str(path)!a}: its path is not valid UTF-8, which "
                "Milvus cannot store; rename it to ingest it.",
                file=sys.stderr,
            )
            continue
        try:
            text = path.read_text(encoding="utf-8-sig")  # a leading BOM is not text
        except UnicodeDecodeError as exc:
            skipped.append(source)
            print(
                f"warning: skipping {source}: not UTF-8 text (byte {exc.object[exc.start]:#04x} "
                f"at offset {exc.start}); convert it to UTF-8 to ingest it.",
                file=sys.stderr,
            )
            continue
        texts[str(base / source)] = (source, text)
    return texts, skipped


def _base(root: Path) -> Path:
    """The absolute folder the sources of ``root`` are relative to."""
    resolved = root.resolve()
    return resolved if root.is_dir() else resolved.parent


def _kept(base: Path, texts: Mapping[str, Any], skipped: Sequence[str]) -> list[str]:
    """The doc ids a prune of the folder ``base`` keeps: its files read now, and those
    skipped (a file that is not UTF-8 is still there: its earlier chunks stay)."""
    return [*texts, *(str(base / name) for name in skipped if is_utf8(name))]


def _prune(store: MilvusStore, base: Path, kept: Sequence[str], out: TextIO) -> None:
    """Delete the chunks of files under ``base`` that are no longer there; rows of other
    folders and of other writers stay."""
    # doc_id "" marks rows without a source file (e.g. written through LangChain). doc_id_in()
    # refuses "" (as an id it is a mistake), so the node is built here.
    others: Filter = not_(In("doc_id", (*kept, ""), target="doc_id"))
    below = str(base).rstrip(os.sep) + os.sep
    stale = sorted({r.doc_id for r in store.query(others) if r.doc_id.startswith(below)})
    if stale:
        store.delete(filter=doc_id_in(stale))
    names = [name[len(below) :] for name in stale]
    out.write(f"pruned {len(stale)} files no longer under the path")
    out.write(f": {', '.join(names)}\n" if stale else "\n")


def _check_vectors(
    store: MilvusStore, embedding: str, source: str, records: list[Record], done: int
) -> None:
    """Refuse (exit code 2) vectors no write would take, before ``source`` is written (and,
    for the first file, before the collection is created); ``done``: files written."""
    try:
        store.prepare_records(records)  # no I/O; the records are left as they are
    except InvalidInputError as exc:
        written = (
            f"the {done} files before it were ingested (re-runs replace them)"
            if done
            else "nothing was written"
        )
        raise CliError(
            f"--embedding {shown(embedding)} returned vectors Milvus cannot store for "
            f"{source}: {exc} {written[0].upper()}{written[1:]}; fix the model or pass another "
            "--embedding.",
            EXIT_USAGE,
        ) from exc


def cmd_ingest(args: argparse.Namespace, out: TextIO) -> int:
    """Chunk, embed and upsert text/markdown files; re-runs replace, never duplicate."""
    if not args.path:
        # Path("") is the working directory: an unset variable must not ingest (and with
        # --prune, prune) whatever lies there.
        raise CliError("the path to ingest is empty; name a folder or a file.", EXIT_USAGE)
    root = Path(args.path)
    if not root.exists():
        raise CliError(f"{root} does not exist.", EXIT_USAGE)
    if args.prune and not root.is_dir():
        raise CliError(
            f"--prune removes the chunks of files no longer under a folder, and {root} is a "
            "file; ingest its folder with --prune, or leave --prune out.",
            EXIT_USAGE,
        )
    links: list[Path] = []
    files = list(iter_text_files(root, links=links))
    for link in links:
        print(
            f"warning: skipping {link}: a symbolic link, which ingest does not follow; "
            "ingest its target's folder to include it.",
            file=sys.stderr,
        )
    if not files and not args.prune:
        raise CliError(f"no .txt/.md files under {root}.", EXIT_USAGE)
    overlap = args.overlap if args.overlap is not None else min(100, args.chunk_size // 4)
    if overlap >= args.chunk_size:
        raise CliError(
            f"--overlap {overlap} must be smaller than --chunk-size {args.chunk_size}.", EXIT_USAGE
        )
    connection = connection_of(args)
    texts, skipped = _read_texts(root, files)
    if not texts and args.prune:
        # Every file of the folder is gone (or unreadable): only the prune is left to do.
        with _open(args, args.collection) as pruned:
            base = _base(root)
            _prune(pruned, base, _kept(base, texts, skipped), out)
            out.write(f"ingested nothing from {root} (rows now: {pruned.count()})\n")
        return EXIT_OK
    if not texts:
        raise CliError(f"none of the {len(files)} files under {root} is UTF-8 text.", EXIT_USAGE)
    chunked = {
        doc_id: (source, chunk_text(text, size=args.chunk_size, overlap=overlap))
        for doc_id, (source, text) in texts.items()
    }
    # Every record is built and checked before anything is embedded or written (e.g.
    # an undecodable file name): a spec without a dimension is enough for that, no I/O.
    sparse = "bm25" if args.bm25 else "none"  # "none" also adopts an existing BM25 field
    unchecked = MilvusStore(
        CollectionSpec(name=args.collection, sparse=sparse), connection=connection
    )
    batches: list[tuple[str, list[str], list[Record]]] = []
    for doc_id, (source, chunks) in chunked.items():
        records = [
            Record(
                id=content_id(f"{doc_id}#{i}", {"text": text}),
                text=text,
                metadata={"source": source, "chunk": i},
                doc_id=doc_id,
            )
            for i, text in enumerate(chunks)
        ]
        unchecked.validate_before_embedding(records)
        if records:
            batches.append((source, chunks, records))
    embedder = load_embedder(args.embedding)
    store: MilvusStore | None = None
    total = 0
    for done, (source, chunks, records) in enumerate(batches):
        vectors = embedder.embed(chunks)  # one list of floats per chunk (checked)
        for record, vector in zip(records, vectors, strict=True):
            record.vector = vector
        # The vectors are checked (NaN, ragged, empty) before the collection is made from
        # their dimension: a refused ingest leaves no empty collection behind.
        _check_vectors(store or unchecked, args.embedding, source, records, done)
        if store is None:
            spec = CollectionSpec(name=args.collection, dim=len(vectors[0]), sparse=sparse)
            store = MilvusStore(
                spec,
                connection=connection,
                drop_old=args.drop,
                embedding=_probe(embedder),
                allow_embedding_change=args.allow_embedding_change,
            )
            try:
                store.ensure_collection(len(vectors[0]))  # a mismatch raises before any write
            except UnsupportedByServerError as exc:
                if exc.feature != BM25_FEATURE:
                    raise
                raise CliError(
                    f"{exc} With this command: ingest --no-bm25 (dense search only).",
                    EXIT_FAILED,
                ) from exc
        ids = store.upsert(records, progress=args.progress)
        # Chunks of an earlier version of this file that no longer exist are removed.
        stale: Filter = and_(doc_id_in([records[0].doc_id]), not_(id_in(ids)))
        store.delete(filter=stale)
        total += len(ids)
        out.write(f"{source}: {len(ids)} chunks\n")
    if store is None:
        raise CliError(f"the files under {root} hold no text to ingest.", EXIT_USAGE)
    if args.prune:
        base = _base(root)
        _prune(store, base, _kept(base, texts, skipped), out)
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
    flt = parse_filter(args.filter)
    store = _open(args, args.collection)
    mode = _search_mode(store, args.mode)
    vector = None
    if mode != "sparse":
        embedder = load_embedder(args.embedding)
        vector = embedder.embed([args.query])[0]  # one list of floats (checked)
        check_dim(store, embedder, len(vector))
        store.close()
        store = _open(args, args.collection, embedder)  # its fingerprint, if it has one
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
    connection = connection_of(args)
    if args.target_uri is not None:
        check_uri(args.target_uri, "--target-uri")
        connection = ConnectionConfig.from_env(
            uri=args.target_uri, token=args.token, timeout=args.timeout
        )
        check_uri(connection.uri, "--target-uri")
    spec = migration_target_spec(source, args.target)
    target = MilvusStore(spec, connection=connection)
    total = source.count()
    bar = tqdm(total=total, unit="rows", disable=not args.progress, file=sys.stderr)

    def advance(copied: int, _total: int) -> None:
        bar.update(copied - bar.n)

    try:
        report = migrate(
            source,
            target,
            batch_rows=args.batch_rows,
            progress=advance,
            verify=args.verify,
            overwrite=args.overwrite,
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


_SUFFIXES = {f".{kind.value}": kind for kind in ExportFormat}
"""The export file suffixes: the format each means (``.jsonl``, ``.parquet``)."""


def _export_format(file: str, given: str | None) -> str | None:
    """The --format of an export to ``file``; refuses a suffix that names no format.

    Raises:
        CliError: exit code 2, without --format, for a file whose suffix is neither
            ``.jsonl`` nor ``.parquet`` (``notes.csv`` would get JSON Lines under that name).
    """
    if given is not None or Path(file).is_dir() or file.endswith(("/", os.sep)):
        return given  # a directory is refused by the export itself, naming a file in it
    suffix = Path(file).suffix
    if suffix.lower() in _SUFFIXES:
        return given
    names = " or ".join(_SUFFIXES)
    said = f"ends in {shown(suffix)}" if suffix else "has no suffix"
    raise CliError(
        f"the export file {shown(file)} {said}, which names no export format; name it "
        f"{names} (e.g. {shown(str(Path(file).with_suffix('.jsonl')))}), or pass "
        f"--format {' or '.join(kind.value for kind in ExportFormat)}.",
        EXIT_USAGE,
    )


def cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    """Export a collection, vectors included, to a JSON Lines or Parquet file."""
    args.format = _export_format(args.file, args.format)
    store = _open(args, args.collection)
    report = export_collection(
        store,
        args.file,
        format=args.format,
        batch_rows=args.batch_rows,
        on_progress=progress_printer(out, "exported", args.progress),
    )
    out.write(f"exported {report.rows} rows of {shown(report.collection)} to {report.path} ")
    out.write(f"({report.format.value})\n")
    return EXIT_OK


def cmd_import(args: argparse.Namespace, out: TextIO) -> int:
    """Create (or fill) a collection from an export file."""
    if Path(args.file).is_dir():
        raise CliError(
            f"{shown(args.file)} is a directory, not an export file; pass the .jsonl or "
            ".parquet file 'milvus-plugins export' wrote.",
            EXIT_USAGE,
        )
    report = import_collection(
        args.file,
        args.collection,
        connection=connection_of(args),
        format=args.format,
        batch_rows=args.batch_rows,
        drop_old=args.drop,
        on_progress=progress_printer(out, "imported", args.progress),
        overwrite=args.overwrite,
    )
    out.write(f"imported {report.rows} rows into {shown(report.collection)} from {report.path}\n")
    return EXIT_OK


def _check_reindex_alias(connection: ConnectionConfig, alias: str) -> None:
    """Refuse a name that is not an alias: a collection's (exit code 2), or neither (3)."""
    if resolve_alias(connection, alias) is not None:
        return
    with MilvusStore(CollectionSpec(name=alias), connection=connection, open_mode="adopt") as probe:
        if probe.exists():
            raise CliError(
                f"there is no alias {shown(alias)}: {shown(alias)} is a collection. Point an "
                f"alias at it ('milvus-plugins alias {alias}_live {alias}'), have readers open "
                f"{shown(alias + '_live')}, and reindex that.",
                EXIT_USAGE,
            )
    raise CliError(
        f"there is no alias or collection {shown(alias)} (see 'milvus-plugins info'); reindex "
        f"needs an alias: point one at a collection first ('milvus-plugins alias {alias} "
        "COLLECTION') and have readers open the alias.",
        EXIT_NOT_FOUND,
    )


def cmd_reindex(args: argparse.Namespace, out: TextIO) -> int:
    """Re-index (or re-embed) the collection behind an alias, check recall, switch."""
    index = None
    if args.index is not None:
        spec = args.index if not args.index.lstrip().startswith("{") else None
        index = index_from_dict(spec or json_option(args.index, "--index"))
    search_params = json_option(args.search_params, "--search-params")
    if search_params is not None and not isinstance(search_params, dict):
        raise CliError(
            "--search-params must be a JSON object of search knobs, e.g. '{\"ef\": 64}'.",
            EXIT_USAGE,
        )
    _check_reindex_alias(connection_of(args), args.alias)  # before loading a model
    embed = name = None
    if args.embedding is not None:
        embedder = load_embedder(args.embedding)
        embed, name = embedder.embed, embedder.name
    report = reindex(
        connection_of(args),
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
        on_progress=progress_printer(out, "copied", args.progress),
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
    connection = connection_of(args)
    behind = resolve_alias(connection, args.collection)
    if behind is not None and behind == args.alias:
        raise CliError(
            f"{shown(args.collection)} is already an alias of the collection "
            f"{shown(args.alias)}: the arguments are the other way round (ALIAS first, then "
            f"COLLECTION): 'milvus-plugins alias {args.collection} {args.alias}' points it "
            "there. Nothing was changed.",
            EXIT_USAGE,
        )
    if behind is not None:
        # Milvus would point the alias at the collection behind the other alias, now: it
        # would not follow that alias when a reindex switches it.
        raise CliError(
            f"{shown(args.collection)} is an alias (of {shown(behind)}); an alias cannot point "
            f"at an alias (Milvus would bind {shown(args.alias)} to {shown(behind)}, and it "
            f"would not follow {shown(args.collection)} after a reindex): name the collection "
            f"('milvus-plugins alias {args.alias} {behind}'), or have readers open "
            f"{shown(args.collection)} itself.",
            EXIT_USAGE,
        )
    previous = point_alias(connection, args.alias, args.collection)
    was = f" (was {shown(previous)})" if previous else " (created)"
    if previous == args.collection:
        was = " (unchanged)"
    out.write(f"alias {shown(args.alias)} now points at {shown(args.collection)}{was}\n")
    return EXIT_OK


Command = Callable[[argparse.Namespace, TextIO], int]

COMMANDS: Mapping[str, Command] = {
    "info": cmd_info,
    "stats": cmd_stats,
    "ingest": cmd_ingest,
    "search": cmd_search,
    "drop": cmd_drop,
    "migrate": cmd_migrate,
    "export": cmd_export,
    "import": cmd_import,
    "reindex": cmd_reindex,
    "alias": cmd_alias,
}
"""Each command's function: ``(parsed arguments, output) -> exit code``."""


def _fail(message: str | BaseException, code: int) -> int:
    """Print one ``error:`` line (an exception's notes, e.g. what was done before it
    failed, go on the same line) and answer ``code``."""
    if isinstance(message, BaseException):
        notes = getattr(message, "__notes__", ())
        message = " ".join([str(message), *map(str, notes)])
    print(f"error: {cli_words(message)}", file=sys.stderr)
    return code


class _LiteLog(logging.Handler):
    """Milvus Lite's log of a database it could not open, kept instead of printed.

    Milvus Lite logs the failure with its traceback (``logger.exception``), which Python
    would print on stderr before the one-line error; the CLI names the cause in that
    line instead.
    """

    LOGGER = "milvus_lite.server_manager"

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.reasons: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None:
            self.reasons.append(" ".join(f"{type(exc).__name__}: {exc}".split()))

    @contextlib.contextmanager
    def installed(self) -> Iterator[_LiteLog]:
        logger = logging.getLogger(self.LOGGER)
        propagate = logger.propagate
        logger.addHandler(self)
        logger.propagate = False
        try:
            yield self
        finally:
            logger.removeHandler(self)
            logger.propagate = propagate

    def explain(self, message: str) -> str:
        """``message`` with Milvus Lite's reason in place of "(its log says why)"."""
        if not self.reasons:
            return message
        said = f"(Milvus Lite: {self.reasons[-1]})"
        if "(its log says why)" in message:
            return message.replace("(its log says why)", said)
        return f"{message} {said}"


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the CLI; return the exit code."""
    stream = out or sys.stdout
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # Milvus Lite has no AllocTimestamp: pymilvus' query iterator (export, reindex) warns
    # on every page that it falls back to a client timestamp, which is harmless there.
    logging.getLogger("pymilvus.client.iterator").setLevel(logging.ERROR)
    # pymilvus logs each failed call with its traceback (ERROR) and each retry (WARNING)
    # before raising; the command ends with one line naming the failure instead.
    logging.getLogger("pymilvus.decorators").setLevel(logging.CRITICAL)
    with _LiteLog().installed() as lite_log:
        return _run(args, stream, lite_log)


def _run(args: argparse.Namespace, stream: TextIO, lite_log: _LiteLog) -> int:
    try:
        code = COMMANDS[args.command](args, stream)
        return code
    except CliError as exc:
        return _fail(str(exc), exc.code)
    except (MilvusConnectionError, AuthenticationError) as exc:
        return _fail(lite_log.explain(str(exc)), EXIT_UNREACHABLE)
    except CollectionNotFoundError as exc:
        return _fail(str(exc), EXIT_NOT_FOUND)
    except DatabaseNotFoundError as exc:  # --db-name: bad input, as a bad --uri is
        return _fail(str(exc), EXIT_USAGE)
    except (ValueError, SchemaMismatchError) as exc:  # Config/InvalidInput/FilterError
        return _fail(exc, EXIT_USAGE)
    except MilvusPluginsError as exc:
        return _fail(exc, EXIT_FAILED)
    except BrokenPipeError:  # the reader (e.g. `head`) closed the pipe: not an error
        sys.stderr.close()
        return EXIT_OK
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
