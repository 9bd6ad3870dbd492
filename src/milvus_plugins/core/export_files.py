"""Reading and writing export files: JSON Lines, or Parquet with pyarrow.

Both directions stream: a writer takes the collection page by page, a reader yields one
record at a time, so memory holds one batch whatever the file's size. The format itself
(header, rows) is :mod:`milvus_plugins.core.export_format`; an export writes a
file of its own beside ``FILE`` and renames it when complete (:mod:`milvus_plugins.core.portable`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np

from milvus_plugins.core.errors import ConfigError, ExportFileError
from milvus_plugins.core.export_format import (
    HEADER_KEY,
    ExportFormat,
    ExportHeader,
    parse_header,
    row_json,
    row_of,
    sparse_json,
    strict_json,
)
from milvus_plugins.core.records import Record

__all__ = ["Page", "Row", "read_export", "read_export_rows", "write_jsonl", "write_parquet"]

Page: TypeAlias = tuple[str | None, list[Record]]
"""Records to write, with their named partition (``None``: the default partition)."""

Row: TypeAlias = tuple[int, Record, str | None]
"""A row read back: its line (row number in Parquet), record and named partition."""

_TOO_DEEP = "JSON nested too deeply to read (edit the value, or keep it flatter)"


def _pyarrow() -> Any:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ConfigError(
            "Parquet export/import needs pyarrow (pip install pyarrow); or use a .jsonl file."
        ) from None
    return pa, pq


def write_jsonl(path: Path, header: ExportHeader, pages: Iterable[Page], with_sparse: bool) -> int:
    """Write a JSON Lines export (header, rows, end line) to ``path``; answer the rows."""
    rows = 0
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write(json.dumps(header.as_dict(), ensure_ascii=False) + "\n")
        for partition, page in pages:
            out.write("".join(row_json(r, with_sparse, partition) + "\n" for r in page))
            rows += len(page)
        out.write(json.dumps({"end": {"rows": rows}}) + "\n")
    return rows


def _arrow_schema(pa: Any, header: ExportHeader) -> Any:
    return pa.schema(
        [
            ("id", pa.string()),
            ("text", pa.string()),
            ("vector", pa.list_(pa.float32())),
            ("vectors", pa.string()),
            ("sparse", pa.string()),
            ("metadata", pa.string()),
            ("doc_id", pa.string()),
            ("extra", pa.string()),
            ("partition", pa.string()),
        ],
        metadata={HEADER_KEY: json.dumps(header.as_dict(), ensure_ascii=False)},
    )


def write_parquet(
    path: Path, header: ExportHeader, pages: Iterable[Page], with_sparse: bool
) -> int:
    """Write a Parquet export (header in the schema metadata) to ``path``; answer the rows."""
    pa, pq = _pyarrow()
    schema = _arrow_schema(pa, header)
    rows = 0

    with pq.ParquetWriter(str(path), schema) as writer:
        for partition, page in pages:
            columns = {
                "id": [r.id for r in page],
                "text": [r.text for r in page],
                "vector": [
                    np.asarray(r.vector, dtype=np.float32) if r.vector is not None else None
                    for r in page
                ],
                "vectors": [
                    strict_json(_float32_lists(r.vectors), r.id) if r.vectors else None
                    for r in page
                ],
                "sparse": [
                    None
                    if not with_sparse or r.sparse is None
                    else strict_json(sparse_json(r.sparse), r.id)
                    for r in page
                ],
                "metadata": [strict_json(r.metadata, r.id) for r in page],
                "doc_id": [r.doc_id for r in page],
                "extra": [strict_json(r.extra, r.id) for r in page],
                "partition": [partition] * len(page),
            }
            writer.write_table(pa.Table.from_pydict(columns, schema=schema))
            rows += len(page)
    return rows


def _float32_lists(vectors: Mapping[str, Any]) -> dict[str, list[float]]:
    # float32 -> float (exact) -> JSON (the float's repr reads back to it): bit-exact.
    return {name: np.asarray(v, dtype=np.float32).tolist() for name, v in vectors.items()}


# -- reading an export -----------------------------------------------------------------


def _jsonl_lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        with path.open("r", encoding="utf-8", newline="\n") as handle:
            yield from enumerate(handle, 1)
    except UnicodeDecodeError as exc:
        raise ExportFileError(
            f"not UTF-8 text (byte {exc.object[exc.start]:#04x})", path=str(path), line=None
        ) from None


def _read_jsonl(path: Path) -> tuple[ExportHeader, Iterator[Row]]:
    lines = _jsonl_lines(path)

    def parse(number: int, line: str) -> Any:
        if not line.endswith("\n"):
            raise _fault_at(path, number)(
                "the line is cut short (no newline): the file is incomplete"
            )
        try:
            return json.loads(line)
        except json.JSONDecodeError as exc:
            raise _fault_at(path, number)(
                f"not valid JSON ({exc.msg} at column {exc.colno})"
            ) from None
        except RecursionError:
            raise _fault_at(path, number)(_TOO_DEEP) from None

    first = next(lines, None)
    if first is None:
        raise ExportFileError("the file is empty", path=str(path), line=None)
    header = parse_header(parse(*first), _fault_at(path, 1))

    def rows() -> Iterator[Row]:
        count = 0
        ended: int | None = None
        for number, line in lines:
            if ended is not None:
                raise _fault_at(path, number)(f"data after the end line (line {ended})")
            data = parse(number, line)
            if isinstance(data, dict) and set(data) == {"end"}:
                end = data["end"]
                said = end.get("rows") if isinstance(end, dict) else None
                if type(said) is not int or said != count:
                    raise _fault_at(path, number)(
                        f"the end line says {end!r} but {count} rows precede it: rows are missing"
                    )
                ended = number
                continue
            count += 1
            yield number, *row_of(data, _fault_at(path, number), header.partitions)
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


def _read_parquet(path: Path, batch_rows: int) -> tuple[ExportHeader, Iterator[Row]]:
    pa, pq = _pyarrow()
    try:
        parquet = pq.ParquetFile(str(path))
    except (pa.ArrowInvalid, OSError) as exc:
        raise ExportFileError(
            f"not a complete Parquet file ({exc})", path=str(path), line=None
        ) from None
    meta = parquet.schema_arrow.metadata or {}
    raw = meta.get(HEADER_KEY.encode())

    def whole(message: str) -> ExportFileError:
        return ExportFileError(message, path=str(path), line=None)

    if raw is None:
        raise whole(f"not a milvus-plugins export (no {HEADER_KEY!r} schema metadata)")
    try:
        header = parse_header(json.loads(raw), whole)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise whole("the header in the schema metadata is not JSON") from None
    except RecursionError:
        raise whole(f"the header in the schema metadata: {_TOO_DEEP}") from None

    def rows() -> Iterator[Row]:
        number = 0
        try:
            batches = parquet.iter_batches(batch_size=batch_rows)
            for batch in batches:
                for row in batch.to_pylist():
                    number += 1
                    fault = _fault_at(path, number)
                    data = dict(row)
                    try:
                        for key in ("metadata", "extra", "sparse", "vectors"):
                            if data.get(key) is not None:
                                data[key] = json.loads(data[key])
                    except (json.JSONDecodeError, TypeError):
                        raise fault(f"column {key!r} is not JSON") from None
                    except RecursionError:
                        raise fault(f"column {key!r}: {_TOO_DEEP}") from None
                    for key in ("sparse", "vectors", "vector", "partition"):
                        if data.get(key) is None:
                            data.pop(key, None)
                    yield number, *row_of(data, fault, header.partitions)
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
    end when the file is incomplete. A row's partition (files of collections with named
    partitions: ``header.partitions``) is read by :func:`read_export_rows`.

    Raises:
        ExportFileError: no such file (or a directory), or a malformed header.
    """
    header, rows = read_export_rows(path, format=format, batch_rows=batch_rows)
    return header, ((line, record) for line, record, _ in rows)


def read_export_rows(
    path: str | os.PathLike[str],
    *,
    format: ExportFormat | str | None = None,
    batch_rows: int = 1000,
) -> tuple[ExportHeader, Iterator[Row]]:
    """As :func:`read_export`, with each row's named partition (``None``: the default
    partition): an iterator of ``(line, record, partition)``.

    Raises:
        ExportFileError: no such file (or a directory), or a malformed header; the
            iterator, a row naming a partition the header does not list.
    """
    kind = ExportFormat.for_path(path, format)
    source = Path(path)
    if source.is_dir():
        raise ExportFileError(
            "is a directory; name the export file inside it", path=str(source), line=None
        )
    if not source.is_file():
        raise ExportFileError("no such file", path=str(source), line=None)
    if kind is ExportFormat.PARQUET:
        return _read_parquet(source, batch_rows)
    return _read_jsonl(source)
