"""Records to Milvus rows and back (declared metadata keys become typed columns)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import orjson

from milvus_plugins.core.config import CollectionSpec
from milvus_plugins.core.errors import InvalidInputError, shown
from milvus_plugins.core.fields import MetadataField
from milvus_plugins.core.inference import column_value
from milvus_plugins.core.records import KEY_ORDER, NULL_KEYS, Record
from milvus_plugins.core.types import SparseMode
from milvus_plugins.core.values import stored_sparse, validate_dense

__all__ = ["CheckedText", "json_sizes", "json_text", "record_from_row", "records_to_rows"]


def records_to_rows(
    records: Iterable[Record], spec: CollectionSpec, *, store_missing_as_null: bool
) -> list[dict[str, Any]]:
    """Convert records to Milvus rows (declared metadata keys become columns).

    Accelerated keys stay in the metadata JSON and are copied into their columns when
    the value fits (null otherwise, see :mod:`milvus_plugins.core.inference`).

    Args:
        records: validated records.
        spec: the collection spec.
        store_missing_as_null: the server supports nullable columns; otherwise a missing
            declared key is an error (Milvus 2.3 has no nullable fields).

    Raises:
        InvalidInputError: a declared key is missing and the server cannot store nulls.
    """
    names = spec.fields
    declared = spec.declared_fields
    accelerated = spec.accelerated_fields
    dense = spec.dense
    named = [f.name for f in spec.extra_vector_fields]
    client_sparse = spec.sparse_mode is SparseMode.CLIENT
    rows = []
    for record in records:
        row: dict[str, Any] = {
            names.id: record.id,
            names.text: CheckedText(record.text),
            names.doc_id: record.doc_id or "",
        }
        if dense:
            vector = record.vector
            # Checked vectors are lists or 1-D float32 rows, which pymilvus converts as
            # it packs them; anything else is checked and converted here.
            row[names.vector] = (
                vector
                if type(vector) is list or (type(vector) is np.ndarray and _float32_row(vector))
                else validate_dense(vector, None, where=f"record {shown(record.id)}")
            )
        for name in named:
            row[name] = record.vectors[name]
        metadata, extra = _split_metadata(record, declared, row, store_missing_as_null)
        for column in accelerated:
            # A copy for fast filters; the JSON keeps the value in any case.
            row[column.name] = column_value(metadata.get(column.name), column)
        row[names.extra] = json_text(extra)
        row[names.metadata] = json_text(metadata)
        if client_sparse and record.sparse is not None:
            row[names.sparse] = {int(k): float(v) for k, v in record.sparse.items()}
        rows.append(row)
    return rows


def _split_metadata(
    record: Record,
    declared: Sequence[MetadataField],
    row: dict[str, Any],
    store_missing_as_null: bool,
) -> tuple[dict[str, Any], Mapping[str, Any]]:
    """Put ``record``'s declared keys into ``row``'s columns; answer the metadata left
    for the JSON (``None`` values taken out) and the ``extra`` to write (listing the
    null keys, and the key order where a read would rebuild another).

    Raises:
        InvalidInputError: a declared key is missing and the server cannot store nulls.
    """
    metadata = dict(record.metadata)
    # Per-row lists and dicts only when needed: every container a row allocates
    # brings the garbage collector's next pass closer.
    nulls: list[str] | None = None
    columns: list[str] | None = None  # declared keys written into their columns
    for decl in declared:
        present = decl.name in metadata
        value = metadata.pop(decl.name, None)
        if value is None and not store_missing_as_null:
            raise InvalidInputError(
                f"record {shown(record.id)}: metadata[{shown(decl.name)}] is missing, "
                f"and this Milvus "
                "has no nullable fields (needs >= 2.5); give every record a value."
            )
        if present and value is None:  # read back as None, not as a missing key
            nulls = [*(nulls or ()), decl.name]
        elif present:
            columns = [*(columns or ()), decl.name]
        row[decl.name] = list(value) if isinstance(value, tuple) else value
    if None in metadata.values():  # identity first: JSON values equal None only if None
        nulls = [*(nulls or ()), *(key for key, value in metadata.items() if value is None)]
        metadata = {key: value for key, value in metadata.items() if value is not None}
    extra: Mapping[str, Any] = record.extra
    if nulls:
        extra = {**extra, NULL_KEYS: nulls}
    if nulls or columns:
        # A read rebuilds the JSON's keys, then the nulls, then the columns in its own
        # spec's order, which may list two declared fields the other way round.
        keys = list(record.metadata)
        several = columns is not None and len(columns) > 1
        if several or [*metadata, *(nulls or ()), *(columns or ())] != keys:
            extra = {**extra, KEY_ORDER: keys}
    return metadata, extra


def json_sizes(record: Record, spec: CollectionSpec, limit: int) -> tuple[int, int]:
    """The UTF-8 lengths of the metadata and ``extra`` JSON texts a write sends for
    ``record`` (no vector needed): what :func:`records_to_rows` writes into those fields.

    A cheap bound answers first: the written metadata is a part of the record's, and the
    written ``extra`` adds at most the metadata's key names twice (the null keys and the
    key order); the exact sizes are worked out only where that bound exceeds ``limit``.
    """
    metadata = json_text(record.metadata).encode()
    extra = json_text(record.extra or {}).encode()
    if 3 * len(metadata) + len(extra) + 96 <= limit:
        return len(metadata), len(extra)
    kept, written_extra = _split_metadata(record, spec.declared_fields, {}, True)
    return len(json_text(kept).encode()), len(json_text(written_extra).encode())


def _float32_row(vector: np.ndarray) -> bool:
    return vector.ndim == 1 and vector.dtype == np.float32


class CheckedText(str):
    """A record's text, already checked, as the ``str`` a write hands to pymilvus.

    pymilvus (3.0.x) checks each row's VARCHAR value with the loop written for a column of
    strings, so for a single string it walks the characters, testing each one's type and
    length: about 0.57 s per 20,000 texts of 350 characters (measured), a twentieth of a
    Milvus Lite ingest, for a check that cannot fail here (the text's UTF-8 length was
    checked against ``text_max_length``, which bounds its character count too). This
    subclass iterates as empty, so that loop runs zero times; protobuf takes the string's
    UTF-8 bytes as they are, so what Milvus receives is unchanged. The checks have made
    every text an exact ``str`` (a subclass' ``__str__``, which building this calls,
    could differ from its characters: a ``str`` enum member's is its name). Only the
    rows a write builds hold one; they never reach a caller.
    """

    __slots__ = ()

    def __iter__(self) -> Iterator[str]:
        return iter(())


def json_text(value: Mapping[str, Any]) -> str:
    """A JSON column's value as JSON text (validated records only).

    pymilvus sends a ``str`` for a JSON field as it is, after checking that it parses,
    which costs far less than its conversion of a dict (a Python walk of the value, then
    serialisation), and the text's length sizes the write batches for free. orjson (a
    pymilvus dependency) writes it about ten times faster than :func:`json.dumps`; the
    records were checked with ``json.dumps(allow_nan=False)`` before (orjson would write
    NaN as null). orjson takes only the built-in types themselves here: a subclass (an
    ``IntEnum``, a dict subclass whose ``items()`` differs from its contents) and anything
    orjson refuses (nesting past its limit) go through :func:`json.dumps`, which wrote them
    before and whose view of them is the one the checks saw.

    Dates and dataclasses, which orjson would write as strings and objects, go to
    :func:`json.dumps` too, which refuses them as the checks did: a value the checks
    never saw (a container inside the metadata, changed by another task while the
    write ran) is refused here, not stored converted.

    Raises:
        InvalidInputError: the value is not plain JSON.
    """
    if not value:
        return "{}"  # the usual extra column: no serialiser call per row
    try:
        return orjson.dumps(value, option=_ORJSON_OPTIONS).decode()
    except TypeError:  # orjson.JSONEncodeError included
        pass
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidInputError(
            f"a metadata value is not plain JSON ({exc}); it passed the checks before the "
            "write, so it was changed while the write ran: do not change the metadata of "
            "records, documents or nodes being written."
        ) from exc


_ORJSON_OPTIONS = (
    orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
)


def record_from_row(row: Mapping[str, Any], spec: CollectionSpec) -> Record:
    """Build a :class:`Record` from a Milvus row or search-hit entity."""
    if spec.layout is not None:
        from milvus_plugins.core.layouts import foreign_record_fields

        return Record(**foreign_record_fields(row, spec.layout))
    names = spec.fields
    metadata = dict(row.get(names.metadata) or {})
    extra = dict(row.get(names.extra) or {})
    for key in extra.pop(NULL_KEYS, None) or ():
        metadata.setdefault(str(key), None)
    for decl in spec.declared_fields:
        if decl.name in row and row[decl.name] is not None:
            metadata[decl.name] = row[decl.name]
    order = extra.pop(KEY_ORDER, None)
    if order:  # the written key order (keys a read did not return stay out)
        ordered = {key: metadata[key] for key in order if key in metadata}
        ordered.update(metadata)
        metadata = ordered
    sparse = row.get(names.sparse) if spec.sparse_mode is SparseMode.CLIENT else None
    vector = row.get(names.vector) if spec.dense else None
    named = {f.name: row[f.name] for f in spec.extra_vector_fields if row.get(f.name) is not None}
    return Record(
        id=str(row[names.id]),
        text=str(row.get(names.text, "") or ""),
        vector=list(vector) if vector is not None else None,
        metadata=metadata,
        sparse=stored_sparse(sparse),
        doc_id=str(row.get(names.doc_id, "") or ""),
        extra=extra,
        vectors={name: list(v) for name, v in named.items()},
    )
