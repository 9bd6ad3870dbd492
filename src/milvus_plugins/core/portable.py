"""Export a collection to a file and import it back: JSON Lines, or Parquet with pyarrow.

Both directions stream: export reads the collection page by page through
``query_iterator`` and writes each page out; import reads the file batch by batch and
upserts each batch. Memory holds one batch, whatever the collection's size.

The JSON Lines format (``.jsonl``), one JSON object per line, UTF-8::

    {"milvus_plugins_export": 1, "collection": ..., "spec": {...}, "embedding": {...}}
    {"id": ..., "text": ..., "vector": [...], "metadata": {...}, "doc_id": ..., "extra": {...}}
    ...                                      ("sparse": {"index": weight} on client-sparse)
    {"end": {"rows": N}}

The header says how to create the collection (dimension, metric, index, sparse mode,
analyzer, declared fields, field names, limits, consistency) and which embedding filled
it; the end line makes a truncated file detectable. Vectors are written as the shortest
decimal that reads back to the same float32, so a round trip is bit-exact; metadata is
JSON as the store reads it back (nested values, any Unicode, int64 integers exactly).
Collections with the server-side BM25 function export no sparse vectors: Milvus
recomputes them from the text on import.

Parquet (``.parquet``, needs ``pyarrow``) holds the same columns (``vector`` as
``list<float32>``, JSON columns as JSON text) and the header in the schema metadata
(key ``milvus_plugins_export``); its footer, written last, is its end marker.

An export writes ``FILE.partial`` and renames it to ``FILE`` when complete, so an
interrupted export never leaves a file that looks whole. An import reads the file twice:
a first pass checks every line (and that the file is complete) before anything is
written, so a malformed or truncated file raises :class:`ExportFileError` naming the line
and leaves the collection untouched; the second pass writes. A Milvus failure part-way
raises :class:`ImportFailedError` with the rows written; rows are upserts by id, so
running the same import again completes it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from milvus_plugins.core.config import CollectionSpec
from milvus_plugins.core.connection import ConnectionConfig
from milvus_plugins.core.errors import (
    CollectionNotFoundError,
    ConfigError,
    ExportFileError,
    ImportFailedError,
    InvalidInputError,
    MilvusOperationError,
    MilvusPluginsError,
    WriteError,
    shown,
)
from milvus_plugins.core.fields import FieldNames, MetadataField
from milvus_plugins.core.fingerprint import EmbeddingFingerprint
from milvus_plugins.core.indexes import IndexConfig, index_from_dict
from milvus_plugins.core.ops.calls import ReadAll
from milvus_plugins.core.records import Record, validate_records
from milvus_plugins.core.results import parse_rows
from milvus_plugins.core.store import MilvusStore
from milvus_plugins.core.types import ParsableEnum, ScalarType, SparseMode

__all__ = [
    "EXPORT_VERSION",
    "ExportFormat",
    "ExportHeader",
    "ExportReport",
    "ImportReport",
    "StoredSparseVectors",
    "export_collection",
    "import_collection",
    "iter_records",
    "read_export",
    "spec_from_dict",
    "spec_to_dict",
]

EXPORT_VERSION = 1
_HEADER_KEY = "milvus_plugins_export"
_ROW_KEYS = frozenset({"id", "text", "vector", "sparse", "metadata", "doc_id", "extra"})


class ExportFormat(ParsableEnum):
    """The file format of an export (chosen from the file name when not given)."""

    JSONL = "jsonl"
    PARQUET = "parquet"

    @classmethod
    def for_path(
        cls, path: str | os.PathLike[str], given: ExportFormat | str | None
    ) -> ExportFormat:
        """The format ``given``, else ``parquet`` for a ``.parquet`` file, else ``jsonl``."""
        if given is not None:
            return cls.parse(given, field="format")
        return cls.PARQUET if str(path).lower().endswith(".parquet") else cls.JSONL


def _index_to_dict(index: IndexConfig) -> dict[str, Any]:
    data = {f.name: getattr(index, f.name) for f in fields(index)}
    data["metric"] = index.metric_type.value
    return {"index_type": index.index_type.value, **data}


def _value_or_none(kind: ScalarType | None) -> str | None:
    return kind.value if kind is not None else None


def spec_to_dict(spec: CollectionSpec) -> dict[str, Any]:
    """The spec as JSON values (everything but the name), for an export header."""
    index = spec.index_config
    return {
        "dim": spec.dim,
        "metric": spec.metric_type.value,
        "index": _index_to_dict(index) if index is not None else None,
        "sparse": spec.sparse_mode.value,
        "analyzer": spec.analyzer if spec.sparse_mode is SparseMode.BM25 else None,
        "metadata_fields": [
            {
                "name": d.name,
                "type": d.scalar_type.value,
                "element_type": _value_or_none(d.element_scalar_type),
                "max_length": d.max_length,
                "max_capacity": d.max_capacity,
                "index": d.index,
            }
            for d in spec.declared_fields
        ],
        "partition_key": spec.partition_key,
        "fields": asdict(spec.fields),
        "text_max_length": spec.text_max_length,
        "id_max_length": spec.id_max_length,
        "consistency_level": spec.consistency.value,
    }


def spec_from_dict(name: str, data: Mapping[str, Any]) -> CollectionSpec:
    """Rebuild a spec named ``name`` from :func:`spec_to_dict` output.

    Raises:
        ConfigError: a value the spec refuses (the spec's own checks), or not a mapping.
    """
    if not isinstance(data, Mapping):
        raise ConfigError("the export header's spec must be a JSON object.")
    try:
        return CollectionSpec(
            name=name,
            dim=data.get("dim"),
            metric=data.get("metric", "COSINE"),
            index=index_from_dict(data["index"]) if data.get("index") else None,
            sparse=data.get("sparse", "none"),
            analyzer=data.get("analyzer"),
            metadata_fields=tuple(MetadataField(**d) for d in data.get("metadata_fields") or ()),
            partition_key=data.get("partition_key"),
            fields=FieldNames(**(data.get("fields") or {})),
            text_max_length=int(data.get("text_max_length", 65535)),
            id_max_length=int(data.get("id_max_length", 512)),
            consistency_level=data.get("consistency_level", "Strong"),
        )
    except TypeError as exc:  # an unknown key in a nested object
        raise ConfigError(f"the export header's spec is not valid: {exc}.") from None


@dataclass(frozen=True)
class ExportHeader:
    """What an export file says about its collection.

    Attributes:
        collection: the exported collection's name.
        spec: its settings as :func:`spec_to_dict` wrote them.
        embedding: the embedding fingerprint recorded in it, if any.
    """

    collection: str
    spec: Mapping[str, Any]
    embedding: EmbeddingFingerprint | None

    def as_dict(self) -> dict[str, Any]:
        """The header line's JSON object."""
        return {
            _HEADER_KEY: EXPORT_VERSION,
            "collection": self.collection,
            "spec": dict(self.spec),
            "embedding": self.embedding.as_dict() if self.embedding else None,
        }


@dataclass(frozen=True)
class ExportReport:
    """What :func:`export_collection` wrote: rows, file, format."""

    collection: str
    path: str
    format: ExportFormat
    rows: int


@dataclass(frozen=True)
class ImportReport:
    """What :func:`import_collection` wrote: rows, into which collection, from which file."""

    collection: str
    path: str
    format: ExportFormat
    rows: int


class StoredSparseVectors:
    """The sparse "encoder" of a copy: every row brings its sparse vector along.

    A ``sparse="client"`` store needs an encoder; when rows are copied (import,
    reindex) their sparse vectors are already computed, and a row without one is an
    error rather than something to encode.
    """

    def encode_documents(self, texts: Sequence[str]) -> list[dict[int, float]]:
        """Refuse: a copied row must carry its sparse vector."""
        raise InvalidInputError(
            f"{len(texts)} rows of a client-sparse collection carry no sparse vector; "
            "every exported row must have one."
        )

    def encode_queries(self, texts: Sequence[str]) -> list[dict[int, float]]:
        """Refuse: this store is for copying, not for keyword search."""
        raise ConfigError(
            "this store copies rows; open the collection with its own sparse_encoder to search."
        )


# -- rows <-> JSON ---------------------------------------------------------------------


def _float32_text(vector: Any) -> str:
    # str(np.float32) is the shortest decimal that parses back to the same float32: a
    # round trip is bit-exact, at about half the length of the float64 repr.
    return "[" + ",".join(str(x) for x in np.asarray(vector, dtype=np.float32)) + "]"


def _row_json(record: Record, with_sparse: bool) -> str:
    row: dict[str, Any] = {"id": record.id, "text": record.text}
    if with_sparse and record.sparse is not None:
        row["sparse"] = {str(int(k)): float(np.float32(v)) for k, v in record.sparse.items()}
    row["metadata"] = record.metadata
    row["doc_id"] = record.doc_id
    row["extra"] = record.extra
    body = json.dumps(row, ensure_ascii=False, separators=(",", ":"))
    return body[:-1] + ',"vector":' + _float32_text(record.vector) + "}"


def _record_of(row: Any, where: Callable[[str], ExportFileError]) -> Record:
    """Build a record from a parsed row object (shape checks only; values are checked
    by the store's own validation)."""
    if not isinstance(row, dict):
        raise where("a row must be a JSON object")
    unknown = sorted(set(row) - _ROW_KEYS)
    if unknown:
        raise where(f"unknown keys {unknown} (a row has {sorted(_ROW_KEYS)})")
    for key, kind in (("id", str), ("text", str), ("doc_id", str)):
        if key in row and not isinstance(row[key], kind):
            raise where(f"{key!r} must be a string, got {type(row[key]).__name__}")
    if "id" not in row or "vector" not in row:
        raise where("a row needs 'id' and 'vector'")
    for key in ("metadata", "extra"):
        if not isinstance(row.get(key, {}), dict):
            raise where(f"{key!r} must be a JSON object")
    sparse = row.get("sparse")
    parsed_sparse: dict[int, float] | None = None
    if sparse is not None:
        if not isinstance(sparse, dict):
            raise where("'sparse' must be an object {index: weight}")
        try:
            parsed_sparse = {int(k): float(v) for k, v in sparse.items()}
        except (TypeError, ValueError):
            raise where("'sparse' keys must be integers and its values numbers") from None
    vector = row["vector"]
    if not isinstance(vector, list):
        raise where("'vector' must be a list of numbers")
    return Record(
        id=row["id"],
        text=row.get("text", ""),
        vector=vector,
        metadata=row.get("metadata", {}),
        sparse=parsed_sparse,
        doc_id=row.get("doc_id", ""),
        extra=row.get("extra", {}),
    )


def iter_records(
    store: MilvusStore, *, batch_rows: int = 1000, include_vectors: bool = True
) -> Iterator[list[Record]]:
    """Yield every record of ``store``'s collection page by page (``query_iterator``).

    Memory holds one page of ``batch_rows`` records, whatever the collection's size.
    Sync only: pymilvus has no async query iterator.

    Raises:
        ConfigError: ``batch_rows`` is not an integer in [1, 16384].
        CollectionNotFoundError: the collection does not exist.
    """
    if isinstance(batch_rows, bool) or not isinstance(batch_rows, int):
        raise ConfigError(f"batch_rows={shown(batch_rows)} must be an integer.")
    if not 1 <= batch_rows <= 16384:
        raise ConfigError(f"batch_rows={batch_rows} must be in [1, 16384].")
    if not store.exists():
        raise CollectionNotFoundError(f"collection {shown(store.spec.name)} does not exist.")
    kwargs = store.query_kwargs(None, None, 0, include_vectors)
    for page in store.runner.iter_pages(ReadAll(store.spec.name, kwargs, batch_rows)):
        yield parse_rows(page, store.spec)


# -- export ----------------------------------------------------------------------------


def _pyarrow() -> Any:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ConfigError(
            "Parquet export/import needs pyarrow (pip install pyarrow); or use a .jsonl file."
        ) from None
    return pa, pq


def _header_of(store: MilvusStore) -> ExportHeader:
    from milvus_plugins.core.fingerprint import stored_fingerprint

    description = store.client.describe_collection(store.spec.name)
    return ExportHeader(
        collection=str(description.get("collection_name", store.spec.name)),
        spec=spec_to_dict(store.spec),
        embedding=stored_fingerprint(description),
    )


def export_collection(
    store: MilvusStore,
    path: str | os.PathLike[str],
    *,
    format: ExportFormat | str | None = None,
    batch_rows: int = 1000,
    on_progress: Callable[[int], None] | None = None,
) -> ExportReport:
    """Write every row of the store's collection, with its vectors, to ``path``.

    Args:
        store: an open store on the collection (its name may be an alias).
        path: the file to write (the user's choice; replaced when complete).
        format: ``"jsonl"`` or ``"parquet"`` (default: from the file name).
        batch_rows: rows per page read (and held in memory at once).
        on_progress: called with the running row count after each page.

    Returns:
        The rows written.

    Raises:
        CollectionNotFoundError: no such collection.
        ConfigError: Parquet asked for without pyarrow.
    """
    kind = ExportFormat.for_path(path, format)
    target = Path(path)
    partial = target.with_name(target.name + ".partial")
    if not store.exists():
        raise CollectionNotFoundError(f"collection {shown(store.spec.name)} does not exist.")
    header = _header_of(store)
    with_sparse = store.spec.sparse_mode is SparseMode.CLIENT
    pages = iter_records(store, batch_rows=batch_rows, include_vectors=True)
    try:
        if kind is ExportFormat.PARQUET:
            rows = _write_parquet(partial, header, pages, with_sparse, on_progress)
        else:
            rows = _write_jsonl(partial, header, pages, with_sparse, on_progress)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, target)
    return ExportReport(collection=header.collection, path=str(target), format=kind, rows=rows)


def _write_jsonl(
    path: Path,
    header: ExportHeader,
    pages: Iterator[list[Record]],
    with_sparse: bool,
    on_progress: Callable[[int], None] | None,
) -> int:
    rows = 0
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write(json.dumps(header.as_dict(), ensure_ascii=False) + "\n")
        for page in pages:
            out.write("".join(_row_json(r, with_sparse) + "\n" for r in page))
            rows += len(page)
            if on_progress is not None:
                on_progress(rows)
        out.write(json.dumps({"end": {"rows": rows}}) + "\n")
    return rows


def _arrow_schema(pa: Any, header: ExportHeader) -> Any:
    return pa.schema(
        [
            ("id", pa.string()),
            ("text", pa.string()),
            ("vector", pa.list_(pa.float32())),
            ("sparse", pa.string()),
            ("metadata", pa.string()),
            ("doc_id", pa.string()),
            ("extra", pa.string()),
        ],
        metadata={_HEADER_KEY: json.dumps(header.as_dict(), ensure_ascii=False)},
    )


def _write_parquet(
    path: Path,
    header: ExportHeader,
    pages: Iterator[list[Record]],
    with_sparse: bool,
    on_progress: Callable[[int], None] | None,
) -> int:
    pa, pq = _pyarrow()
    schema = _arrow_schema(pa, header)
    rows = 0

    def dumps(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    with pq.ParquetWriter(str(path), schema) as writer:
        for page in pages:
            columns = {
                "id": [r.id for r in page],
                "text": [r.text for r in page],
                "vector": [np.asarray(r.vector, dtype=np.float32) for r in page],
                "sparse": [
                    dumps({str(int(k)): float(np.float32(v)) for k, v in r.sparse.items()})
                    if with_sparse and r.sparse is not None
                    else None
                    for r in page
                ],
                "metadata": [dumps(r.metadata) for r in page],
                "doc_id": [r.doc_id for r in page],
                "extra": [dumps(r.extra) for r in page],
            }
            writer.write_table(pa.Table.from_pydict(columns, schema=schema))
            rows += len(page)
            if on_progress is not None:
                on_progress(rows)
    return rows


# -- reading an export -----------------------------------------------------------------


def _parse_header(data: Any, fault: Callable[[str], ExportFileError]) -> ExportHeader:
    if not isinstance(data, dict) or data.get(_HEADER_KEY) is None:
        raise fault(f"not a milvus-plugins export (the header must carry {_HEADER_KEY!r})")
    if data[_HEADER_KEY] != EXPORT_VERSION:
        raise fault(
            f"export format version {data[_HEADER_KEY]!r} is not supported (this package "
            f"reads version {EXPORT_VERSION}); upgrade milvus-plugins"
        )
    spec = data.get("spec")
    if not isinstance(spec, dict):
        raise fault("the header's 'spec' must be a JSON object")
    embedding = data.get("embedding")
    try:
        fingerprint = EmbeddingFingerprint.from_dict(embedding) if embedding else None
    except ConfigError as exc:
        raise fault(f"the header's embedding fingerprint is not valid: {exc}") from None
    return ExportHeader(str(data.get("collection", "")), spec, fingerprint)


def _jsonl_lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        with path.open("r", encoding="utf-8", newline="\n") as handle:
            yield from enumerate(handle, 1)
    except UnicodeDecodeError as exc:
        raise ExportFileError(
            f"not UTF-8 text (byte {exc.object[exc.start]:#04x})", path=str(path), line=None
        ) from None


def _read_jsonl(path: Path) -> tuple[ExportHeader, Iterator[tuple[int, Record]]]:
    lines = _jsonl_lines(path)

    def fault_at(number: int) -> Callable[[str], ExportFileError]:
        return lambda message: ExportFileError(message, path=str(path), line=number)

    def parse(number: int, line: str) -> Any:
        if not line.endswith("\n"):
            raise fault_at(number)("the line is cut short (no newline): the file is incomplete")
        try:
            return json.loads(line)
        except json.JSONDecodeError as exc:
            raise fault_at(number)(f"not valid JSON ({exc.msg} at column {exc.colno})") from None

    first = next(lines, None)
    if first is None:
        raise ExportFileError("the file is empty", path=str(path), line=None)
    header = _parse_header(parse(*first), fault_at(1))

    def rows() -> Iterator[tuple[int, Record]]:
        count = 0
        ended: int | None = None
        for number, line in lines:
            if ended is not None:
                raise fault_at(number)(f"data after the end line (line {ended})")
            data = parse(number, line)
            if isinstance(data, dict) and set(data) == {"end"}:
                end = data["end"]
                if not isinstance(end, dict) or end.get("rows") != count:
                    raise fault_at(number)(
                        f"the end line says {end!r} but {count} rows precede it: rows are missing"
                    )
                ended = number
                continue
            count += 1
            yield number, _record_of(data, fault_at(number))
        if ended is None:
            raise ExportFileError(
                "the file ends without its end line: it is incomplete (an interrupted copy?); "
                "export it again",
                path=str(path),
                line=None,
            )

    return header, rows()


def _fault_at(path: Path, line: int) -> Callable[[str], ExportFileError]:
    def fault(message: str) -> ExportFileError:
        return ExportFileError(message, path=str(path), line=line)

    return fault


def _read_parquet(path: Path, batch_rows: int) -> tuple[ExportHeader, Iterator[tuple[int, Record]]]:
    pa, pq = _pyarrow()
    try:
        parquet = pq.ParquetFile(str(path))
    except (pa.ArrowInvalid, OSError) as exc:
        raise ExportFileError(
            f"not a complete Parquet file ({exc})", path=str(path), line=None
        ) from None
    meta = parquet.schema_arrow.metadata or {}
    raw = meta.get(_HEADER_KEY.encode())

    def whole(message: str) -> ExportFileError:
        return ExportFileError(message, path=str(path), line=None)

    if raw is None:
        raise whole(f"not a milvus-plugins export (no {_HEADER_KEY!r} schema metadata)")
    try:
        header = _parse_header(json.loads(raw), whole)
    except json.JSONDecodeError:
        raise whole("the header in the schema metadata is not JSON") from None

    def rows() -> Iterator[tuple[int, Record]]:
        number = 0
        try:
            batches = parquet.iter_batches(batch_size=batch_rows)
            for batch in batches:
                for row in batch.to_pylist():
                    number += 1
                    fault = _fault_at(path, number)
                    data = dict(row)
                    try:
                        for key in ("metadata", "extra", "sparse"):
                            if data.get(key) is not None:
                                data[key] = json.loads(data[key])
                    except json.JSONDecodeError:
                        raise fault(f"column {key!r} is not JSON") from None
                    if data.get("sparse") is None:
                        data.pop("sparse", None)
                    yield number, _record_of(data, fault)
        except (pa.ArrowInvalid, OSError) as exc:
            raise ExportFileError(
                f"unreadable data after row {number} ({exc})", path=str(path), line=number + 1
            ) from None

    return header, rows()


def read_export(
    path: str | os.PathLike[str],
    *,
    format: ExportFormat | str | None = None,
    batch_rows: int = 1000,
) -> tuple[ExportHeader, Iterator[tuple[int, Record]]]:
    """Open an export file: its header, and an iterator of ``(line, record)``.

    The iterator raises :class:`ExportFileError` at the first malformed line, and at its
    end when the file is incomplete.

    Raises:
        ExportFileError: no such file, or a malformed header.
    """
    kind = ExportFormat.for_path(path, format)
    source = Path(path)
    if not source.is_file():
        raise ExportFileError("no such file", path=str(source), line=None)
    if kind is ExportFormat.PARQUET:
        return _read_parquet(source, batch_rows)
    return _read_jsonl(source)


# -- import ----------------------------------------------------------------------------


def _batches(rows: Iterator[tuple[int, Record]], size: int) -> Iterator[tuple[int, list[Record]]]:
    batch: list[Record] = []
    first = 0
    for number, record in rows:
        if not batch:
            first = number
        batch.append(record)
        if len(batch) >= size:
            yield first, batch
            batch = []
    if batch:
        yield first, batch


def _check_file(
    path: str | os.PathLike[str], kind: ExportFormat, spec: CollectionSpec, batch_rows: int
) -> int:
    """First pass: every row valid for ``spec`` and the file complete; answers the rows."""
    _, rows = read_export(path, format=kind, batch_rows=batch_rows)
    total = 0
    numbered: list[tuple[int, Record]] = []

    def check() -> None:
        try:
            validate_records([r for _, r in numbered], spec, spec.dim)
        except MilvusPluginsError as exc:
            line, why = numbered[0][0], exc
            # Name the row: checked alone, the first bad one fails (a duplicate id
            # fails only with its twin: then the batch's first line is named).
            for number, record in numbered:
                try:
                    validate_records([record], spec, spec.dim)
                except MilvusPluginsError as alone:
                    line, why = number, alone
                    break
            raise ExportFileError(
                f"the row is not valid: {why}", path=str(path), line=line
            ) from None

    for number, record in rows:
        numbered.append((number, record))
        if len(numbered) >= batch_rows:
            check()
            total += len(numbered)
            numbered = []
    if numbered:
        check()
        total += len(numbered)
    return total


def import_collection(
    path: str | os.PathLike[str],
    collection: str,
    *,
    connection: ConnectionConfig | None = None,
    format: ExportFormat | str | None = None,
    batch_rows: int = 1000,
    drop_old: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Create (or open) ``collection`` from an export file's header and upsert its rows.

    Args:
        path: the export file.
        collection: the collection to fill (created from the header's spec when
            absent; an existing one must match it).
        connection: where Milvus is (default: ``MILVUS_URI`` or ``./milvus.db``).
        format: ``"jsonl"`` or ``"parquet"`` (default: from the file name).
        batch_rows: rows per upsert (and held in memory at once).
        drop_old: drop an existing collection of that name first.
        on_progress: called with the running row count after each batch.

    Returns:
        The rows written.

    Raises:
        ExportFileError: a malformed, truncated or invalid file (nothing written).
        SchemaMismatchError: an existing collection differs from the header's spec.
        ImportFailedError: Milvus failed part-way (re-run the import to complete it).
    """
    kind = ExportFormat.for_path(path, format)
    header, _ = read_export(path, format=kind, batch_rows=batch_rows)
    try:
        spec = spec_from_dict(collection, header.spec)
    except ConfigError as exc:
        raise ExportFileError(
            f"the header's spec is not valid: {exc}", path=str(path), line=1
        ) from None
    total = _check_file(path, kind, spec, batch_rows)
    store = MilvusStore(
        spec,
        connection=connection or ConnectionConfig.from_env(),
        drop_old=drop_old,
        embedding=header.embedding,
        sparse_encoder=StoredSparseVectors() if spec.sparse_mode is SparseMode.CLIENT else None,
    )
    written = 0
    line = 1
    try:
        # A mismatching existing collection raises here, before anything is written.
        store.ensure_collection(spec.dim)
        _, rows = read_export(path, format=kind, batch_rows=batch_rows)
        try:
            for first, batch in _batches(rows, batch_rows):
                line = first
                store.upsert(batch, batch_rows=batch_rows, progress=False)
                written += len(batch)
                if on_progress is not None:
                    on_progress(written)
            store.flush()
        except WriteError as exc:
            raise ImportFailedError(
                f"importing {shown(str(path))} into {shown(collection)} failed: {exc}",
                rows_written=written + len(exc.written_ids),
                rows_total=total,
                line=line,
            ) from exc
        except (MilvusOperationError, CollectionNotFoundError, ExportFileError) as exc:
            # ExportFileError here: the file changed between the two passes.
            raise ImportFailedError(
                f"importing {shown(str(path))} into {shown(collection)} failed: {exc}",
                rows_written=written,
                rows_total=total,
                line=line,
            ) from exc
    finally:
        store.close()
    return ImportReport(collection=collection, path=str(path), format=kind, rows=written)
