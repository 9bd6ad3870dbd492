"""Records (one row of the canonical layout), their validation, ids and row conversion.

A :class:`Record` is what adapters hand to the store and what reads hand back. This
module checks records before anything is written (dimension, NaN/inf, empty text,
text length, JSON-serialisable metadata, reserved metadata keys, duplicate ids, id
types) and converts them to and from Milvus rows, moving declared metadata keys into
their typed columns and back.

Metadata keys whose value is ``None`` are not written into the metadata JSON (a declared
key's column holds a null): their names go into the ``extra`` column (under
:data:`NULL_KEYS`) and reads put them back, so metadata still comes back exactly as
written. Filters treat ``None`` like a missing key, and Milvus 2.3's ``exists`` is true
for a JSON ``null`` (Milvus Lite's is not): leaving nulls out is what makes ``exists``
and negations agree on every engine.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from milvus_plugins.core.config import CollectionSpec, MetadataField
from milvus_plugins.core.errors import InvalidInputError
from milvus_plugins.core.types import ScalarType, SparseMode

__all__ = [
    "Record",
    "SparseVector",
    "content_id",
    "new_id",
    "record_from_row",
    "records_to_rows",
    "validate_dense",
]

SparseVector = Mapping[int, float]

NULL_KEYS = "metadata_null_keys"
"""The key in a row's ``extra`` JSON listing metadata keys stored as ``None``."""


@dataclass(kw_only=True)
class Record:
    """One stored item.

    Attributes:
        id: primary key (a string).
        text: the text (what BM25 indexes and what adapters return as content).
        vector: dense embedding, or ``None`` when read without vectors.
        metadata: user metadata, returned exactly as written (JSON values).
        sparse: a client-side sparse vector (``{dim_index: weight}``) when the collection
            uses a client encoder.
        doc_id: the source document of a chunk (LlamaIndex ``ref_doc_id``), or ``""``.
        extra: framework-private JSON (e.g. LlamaIndex relationships); not user metadata.
    """

    id: str
    text: str
    vector: Sequence[float] | np.ndarray | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    sparse: SparseVector | None = None
    doc_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def new_id() -> str:
    """Return a fresh random id (uuid4, 32 hex characters)."""
    return uuid.uuid4().hex


def content_id(text: str, metadata: Mapping[str, Any] | None = None) -> str:
    """Return a deterministic id from the text and metadata (sha256, 32 hex characters).

    Re-ingesting the same content gives the same id, so an upsert never duplicates it.
    """
    payload = json.dumps([text, metadata or {}], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def validate_dense(vector: Any, dim: int | None, *, where: str) -> list[float]:
    """Return ``vector`` as a list of floats after checking its shape and values.

    Raises:
        InvalidInputError: not a flat numeric sequence, wrong dimension, NaN or inf.
    """
    try:
        array = np.asarray(vector, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{where}: vector is not a sequence of numbers ({exc}).") from exc
    if array.ndim != 1 or array.size == 0:
        raise InvalidInputError(f"{where}: vector must be a flat, non-empty list of floats.")
    if dim is not None and array.size != dim:
        raise InvalidInputError(
            f"{where}: vector has dimension {array.size} but the collection expects {dim}; "
            "use the same embedding model the collection was created with."
        )
    if not np.all(np.isfinite(array)):
        raise InvalidInputError(f"{where}: vector contains NaN or inf; fix the embedding.")
    return array.tolist()  # type: ignore[no-any-return]


def _utf8_len(text: str) -> int:
    """Length of ``text`` in UTF-8 bytes (ASCII text without encoding it)."""
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def _check_json(value: Any, where: str) -> None:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"{where}: metadata is not JSON-serialisable ({exc}); use str, int, float, bool, "
            "None, lists and dicts of those (no NaN)."
        ) from exc


_SCALAR_CHECKS: dict[ScalarType, tuple[type | tuple[type, ...], str]] = {
    ScalarType.INT64: (int, "an integer"),
    ScalarType.DOUBLE: ((int, float), "a number"),
    ScalarType.BOOL: (bool, "a bool"),
    ScalarType.VARCHAR: (str, "a string"),
}


def _check_scalar(value: Any, kind: ScalarType, decl: MetadataField, where: str) -> None:
    types, label = _SCALAR_CHECKS[kind]
    ok = isinstance(value, types) and (kind is ScalarType.BOOL or not isinstance(value, bool))
    if kind is ScalarType.DOUBLE and isinstance(value, float) and not math.isfinite(value):
        ok = False
    if not ok:
        raise InvalidInputError(
            f"{where}: metadata[{decl.name!r}]={value!r} must be {label} "
            f"(declared {decl.scalar_type.value}, or inferred from the first write)."
        )
    if kind is ScalarType.VARCHAR and _utf8_len(value) > decl.max_length:
        raise InvalidInputError(
            f"{where}: metadata[{decl.name!r}] is longer than max_length={decl.max_length} bytes."
        )


def _check_declared(value: Any, decl: MetadataField, where: str) -> None:
    if decl.scalar_type is ScalarType.ARRAY:
        if not isinstance(value, (list, tuple)):
            raise InvalidInputError(f"{where}: metadata[{decl.name!r}] must be a list.")
        if len(value) > decl.max_capacity:
            raise InvalidInputError(
                f"{where}: metadata[{decl.name!r}] has {len(value)} items; "
                f"max_capacity is {decl.max_capacity}."
            )
        element = decl.element_scalar_type
        assert element is not None  # MetadataField guarantees an element type for ARRAY
        for item in value:
            _check_scalar(item, element, decl, where)
    else:
        _check_scalar(value, decl.scalar_type, decl, where)


def validate_record(
    record: Record,
    spec: CollectionSpec,
    *,
    dim: int | None,
    position: int,
    check_vector: bool = True,
    check_json: bool = True,
) -> None:
    """Check one record against the spec.

    ``check_vector`` / ``check_json`` off skip checks the caller already made for a whole
    batch at once.

    Raises:
        InvalidInputError: naming the record's position and id, the field and the fix.
    """
    where = f"record {position} (id={record.id!r})"
    if not isinstance(record.id, str) or not record.id:
        raise InvalidInputError(
            f"record {position}: id={record.id!r} must be a non-empty string; "
            "convert numeric ids with str()."
        )
    if _utf8_len(record.id) > spec.id_max_length:
        raise InvalidInputError(f"{where}: id is longer than {spec.id_max_length} bytes.")
    if not isinstance(record.text, str) or not record.text.strip():
        raise InvalidInputError(f"{where}: text is empty; every record needs non-empty text.")
    if _utf8_len(record.text) > spec.text_max_length:
        raise InvalidInputError(
            f"{where}: text is {len(record.text.encode('utf-8'))} bytes, longer than "
            f"text_max_length={spec.text_max_length}; split it into smaller chunks."
        )
    if record.vector is None:
        raise InvalidInputError(f"{where}: vector is missing; embed the text first.")
    if check_vector:
        validate_dense(record.vector, dim, where=where)
    if not isinstance(record.metadata, Mapping):
        raise InvalidInputError(f"{where}: metadata must be a dict, not {type(record.metadata)}.")
    for key in record.metadata:
        if not isinstance(key, str):
            raise InvalidInputError(f"{where}: metadata key {key!r} must be a string.")
        if not key or key.startswith("$"):
            raise InvalidInputError(
                f"{where}: metadata key {key!r} is reserved: keys must be non-empty and not "
                "start with '$' (filter operators do), or no filter could address them; "
                "rename the key."
            )
    # Undeclared keys live inside the metadata JSON column, so a key named like a
    # canonical field ("id", "text" ...) cannot clash with it; declared fields that
    # would clash are rejected by CollectionSpec. The reserved keys are "" and "$...".
    if check_json:
        _check_json(record.metadata, where)
        _check_json(record.extra, where)
    for decl in spec.declared_fields:
        if decl.name in record.metadata and record.metadata[decl.name] is not None:
            _check_declared(record.metadata[decl.name], decl, where)
    if spec.sparse_mode is SparseMode.CLIENT and record.sparse is None:
        raise InvalidInputError(
            f"{where}: the collection stores client sparse vectors; none given."
        )


def validate_records(records: Sequence[Record], spec: CollectionSpec, dim: int | None) -> None:
    """Validate every record and reject duplicate ids within the batch.

    Raises:
        InvalidInputError: the first problem found; nothing has been written.
    """
    vectors = _checked_vectors(records, dim)
    json_ok = _json_serialisable(records)
    seen: dict[str, int] = {}
    for position, record in enumerate(records):
        # When the whole batch passed a batch-wide check, skip the per-record one; when
        # it did not, the per-record check names the first bad record.
        validate_record(
            record,
            spec,
            dim=dim,
            position=position,
            check_vector=vectors is None,
            check_json=not json_ok,
        )
        if record.id in seen:
            raise InvalidInputError(
                f"records {seen[record.id]} and {position} share id {record.id!r}; "
                "ids must be unique within one write."
            )
        seen[record.id] = position
    if vectors is None:
        vectors = [validate_dense(r.vector, dim, where=f"record {r.id!r}") for r in records]
    for record, vector in zip(records, vectors, strict=True):
        record.vector = vector  # plain floats, converted once: rows reuse them as they are


def _json_serialisable(records: Sequence[Record]) -> bool:
    """Whether every record's metadata and extra serialise as strict JSON (one pass)."""
    try:
        json.dumps([(r.metadata, r.extra) for r in records], allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


def _checked_vectors(records: Sequence[Record], dim: int | None) -> list[list[float]] | None:
    """Check and convert every vector in one numpy pass; ``None`` if any is bad."""
    if not records or any(r.vector is None for r in records):
        return None
    vectors = [r.vector for r in records]
    # Lists of Python floats (what embedding models return) are checked and then sent as
    # they are: converting them to float32 and back costs more than the check. Without a
    # dtype numpy makes strings, None or objects a non-float array, which is refused here.
    plain = all(type(v) is list for v in vectors)
    try:
        array = np.asarray(vectors) if plain else np.asarray(vectors, dtype=np.float32)
    except (TypeError, ValueError):
        return None
    if array.dtype.kind != "f":
        return None
    if array.ndim != 2 or array.shape[1] == 0 or (dim is not None and array.shape[1] != dim):
        return None
    if not np.isfinite(array).all():
        return None
    if plain:
        return vectors  # type: ignore[return-value]
    return array.tolist()  # type: ignore[no-any-return]


def records_to_rows(
    records: Iterable[Record], spec: CollectionSpec, *, store_missing_as_null: bool
) -> list[dict[str, Any]]:
    """Convert records to Milvus rows (declared metadata keys become columns).

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
    rows = []
    for record in records:
        metadata = dict(record.metadata)
        row: dict[str, Any] = {
            names.id: record.id,
            names.text: record.text,
            names.vector: record.vector
            if isinstance(record.vector, list)
            else validate_dense(record.vector, None, where=f"record {record.id!r}"),
            names.doc_id: record.doc_id or "",
        }
        nulls = []
        for decl in declared:
            present = decl.name in metadata
            value = metadata.pop(decl.name, None)
            if value is None and not store_missing_as_null:
                raise InvalidInputError(
                    f"record {record.id!r}: metadata[{decl.name!r}] is missing, and this Milvus "
                    "has no nullable fields (needs >= 2.5); give every record a value."
                )
            if present and value is None:
                nulls.append(decl.name)  # read back as None, not as a missing key
            row[decl.name] = list(value) if isinstance(value, tuple) else value
        nulls += [key for key, value in metadata.items() if value is None]
        extra = record.extra or {}
        if nulls:
            extra = {**extra, NULL_KEYS: nulls}
            metadata = {key: value for key, value in metadata.items() if value is not None}
        row[names.extra] = json_text(extra)
        row[names.metadata] = json_text(metadata)
        if spec.sparse_mode is SparseMode.CLIENT and record.sparse is not None:
            row[names.sparse] = {int(k): float(v) for k, v in record.sparse.items()}
        rows.append(row)
    return rows


def json_text(value: Mapping[str, Any]) -> str:
    """A JSON column's value as JSON text (validated records only).

    pymilvus sends a ``str`` for a JSON field as it is, after checking that it parses,
    which costs far less than its conversion of a dict (a Python walk of the value, then
    serialisation), and the text's length sizes the write batches for free.
    """
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def record_from_row(row: Mapping[str, Any], spec: CollectionSpec) -> Record:
    """Build a :class:`Record` from a Milvus row or search-hit entity."""
    names = spec.fields
    metadata = dict(row.get(names.metadata) or {})
    extra = dict(row.get(names.extra) or {})
    for key in extra.pop(NULL_KEYS, None) or ():
        metadata.setdefault(str(key), None)
    for decl in spec.declared_fields:
        if decl.name in row and row[decl.name] is not None:
            metadata[decl.name] = row[decl.name]
    sparse = row.get(names.sparse) if spec.sparse_mode is SparseMode.CLIENT else None
    vector = row.get(names.vector)
    return Record(
        id=str(row[names.id]),
        text=str(row.get(names.text, "") or ""),
        vector=list(vector) if vector is not None else None,
        metadata=metadata,
        sparse=dict(sparse) if isinstance(sparse, Mapping) else None,
        doc_id=str(row.get(names.doc_id, "") or ""),
        extra=extra,
    )
