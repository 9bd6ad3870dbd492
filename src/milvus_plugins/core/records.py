"""Records (one row of the canonical layout), their validation, ids and row conversion.

A :class:`Record` is what adapters hand to the store and what reads hand back. This
module checks records before anything is written (dimension, NaN/inf, values beyond
float32, zero vectors under COSINE, empty text, text length, JSON-serialisable metadata,
reserved metadata keys, duplicate ids, id types) and converts them to and from Milvus
rows, moving declared metadata keys into their typed columns and back.

Values come back exactly as written, or are refused before anything is sent:

* strings (ids, texts, metadata) must be encodable as UTF-8: a lone surrogate (such as
  ``"\\udcff"`` in a file name from ``os.listdir``) is refused;
* metadata dict keys must be strings at every depth (JSON would turn ``1`` into ``"1"``
  and let ``1`` and ``"1"`` collide), nesting is at most :data:`MAX_METADATA_DEPTH`
  levels (deeper JSON breaks Milvus Lite's filter evaluation on the whole collection),
  integers must fit in int64 (larger ones come back as floats), and floats must be
  finite;
* numpy scalars and arrays (what a pandas row's ``to_dict()`` holds) are taken as the
  Python values they hold (``np.int64(3)`` is written, and read back, as ``3``; an array
  as a list); dates, times and datetimes are refused: store ``.isoformat()`` strings;
* a declared ``DOUBLE`` column takes floats only: Milvus would return the
  int ``3`` as ``3.0``; an ``INT64`` column takes ints within int64.

Metadata keys whose value is ``None`` are not written into the metadata JSON (a declared
key's column holds a null): their names go into the ``extra`` column (under
:data:`NULL_KEYS`) and reads put them back, so metadata still comes back exactly as
written. Filters treat ``None`` like a missing key, and Milvus 2.3's ``exists`` is true
for a JSON ``null`` (Milvus Lite's is not): leaving nulls out is what makes ``exists``
and negations agree on every engine.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from milvus_plugins.core.config import CollectionSpec, DenseField, MetadataField
from milvus_plugins.core.errors import SHOWN_LIMIT, InvalidInputError, shown
from milvus_plugins.core.inference import column_value
from milvus_plugins.core.types import MetricType, ScalarType, SparseMode

__all__ = [
    "DATE_HINT",
    "MAX_METADATA_DEPTH",
    "Record",
    "SparseVector",
    "content_id",
    "is_date",
    "new_id",
    "plain_scalar",
    "record_from_row",
    "records_to_rows",
    "validate_dense",
    "validate_vectors",
]

SparseVector = Mapping[int, float]

MAX_METADATA_DEPTH = 64
"""How deep metadata may nest (the metadata dict itself is level 1)."""

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
        vectors: the vectors of the collection's named dense fields
            (``CollectionSpec.vector_fields``), by field name; ``vector`` holds the
            canonical field's.
    """

    id: str
    text: str
    vector: Sequence[float] | np.ndarray | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    sparse: SparseVector | None = None
    doc_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    vectors: dict[str, Sequence[float] | np.ndarray] = field(default_factory=dict)


def new_id() -> str:
    """Return a fresh random id (uuid4, 32 hex characters)."""
    return uuid.uuid4().hex


def content_id(text: str, metadata: Mapping[str, Any] | None = None) -> str:
    """Return a deterministic id from the text and metadata (sha256, 32 hex characters).

    Re-ingesting the same content gives the same id, so an upsert never duplicates it.
    """
    payload = json.dumps([text, metadata or {}], sort_keys=True, ensure_ascii=False, default=str)
    # "surrogatepass": a lone surrogate (an undecodable file name) still gets an id here;
    # validation then refuses the record with a clear message instead of a bare error.
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()[:32]


_FLOAT32_MAX = float(np.finfo(np.float32).max)
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


_NOT_FLOAT32 = (
    "vector contains NaN or inf, or a value beyond the float32 range (|x| > 3.4e38) that "
    "Milvus would store as inf; fix the embedding"
)
_ZERO_COSINE = (
    "vector is all zeros, which has no direction under the COSINE metric (its similarity "
    "to anything is undefined, and it would rank arbitrarily); fix the embedding (empty or "
    "padding-only input often embeds to zeros), or use metric L2 or IP"
)


def validate_dense(
    vector: Any, dim: int | None, *, where: str, nonzero: bool = False
) -> list[float]:
    """Return ``vector`` as a list of floats after checking its shape and values.

    Args:
        vector: the vector (a sequence of numbers or a numpy array).
        dim: the expected dimension, or ``None`` to accept any.
        where: names the vector in error messages (``"query"``, ``"record 3 (id='a')"``).
        nonzero: refuse an all-zero vector (the COSINE metric cannot rank it).

    Raises:
        InvalidInputError: not a flat numeric sequence, wrong dimension, NaN, inf, a
            value beyond float32, or (with ``nonzero``) all zeros.
    """
    try:
        array = np.asarray(vector, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{where}: vector is not a sequence of numbers ({exc}).") from exc
    if array.ndim != 1 or array.size == 0:
        raise InvalidInputError(f"{where}: vector must be a flat, non-empty list of floats.")
    if dim is not None and array.size != dim:
        raise InvalidInputError(
            f"{where}: vector has dimension {array.size} but the collection expects {dim}; "
            "use the same embedding model the collection was created with."
        )
    # One reduction finds NaN (max is NaN, and NaN <= x is false), inf and float32 overflow.
    if not float(np.abs(array).max()) <= _FLOAT32_MAX:  # NaN <= x is false too
        raise InvalidInputError(f"{where}: {_NOT_FLOAT32}.")
    if nonzero and not float(np.dot(array, array)) > 0:
        raise InvalidInputError(f"{where}: {_ZERO_COSINE}.")
    return array.astype(np.float32).tolist()  # type: ignore[no-any-return]


DATE_HINT = (
    "JSON has no date or time type: store it as text with .isoformat() (ISO strings of one "
    "timezone compare and sort in time order), or as a number such as .timestamp()"
)


def is_date(value: Any) -> bool:
    """Whether ``value`` is a date, time or datetime (Python's, pandas' or numpy's)."""
    return isinstance(value, (datetime.date, datetime.time, np.datetime64))


def plain_scalar(value: Any) -> Any:
    """Return a numpy scalar as the Python value it holds, anything else unchanged.

    ``np.int64(3)`` becomes ``3``, ``np.float32(0.5)`` ``0.5``, ``np.bool_(True)``
    ``True``, ``np.str_("a")`` ``"a"`` (what pandas' ``to_dict()`` gives). numpy dates
    stay as they are, for :func:`is_date` to refuse.
    """
    if isinstance(value, np.generic) and not isinstance(value, (np.datetime64, np.timedelta64)):
        return value.item()
    return value


def _plain_json(value: Any, where: str, name: str, path: tuple[Any, ...] = ()) -> Any:
    """``value`` with numpy scalars and arrays as Python values (copied only if changed).

    Raises:
        InvalidInputError: a date, time or datetime anywhere in ``value``.
    """
    if len(path) > 2 * MAX_METADATA_DEPTH:
        return value  # too deep (or cyclic): the depth check names it
    if isinstance(value, np.ndarray):
        value = value.tolist()
    value = plain_scalar(value)
    if is_date(value):
        raise InvalidInputError(
            f"{where}: {_path(name, path)}={shown(value)} is a {type(value).__name__}; {DATE_HINT}."
        )
    if isinstance(value, dict):
        changed = {}
        for key, item in value.items():
            plain = _plain_json(item, where, name, (*path, key))
            if plain is not item:
                changed[key] = plain
        return {**value, **changed} if changed else value
    if isinstance(value, (list, tuple)):
        items = [_plain_json(item, where, name, (*path, i)) for i, item in enumerate(value)]
        if any(a is not b for a, b in zip(items, value, strict=True)):
            return items if isinstance(value, list) else tuple(items)
    return value


def _utf8_len(text: str, where: str, what: str) -> int:
    """Length of ``text`` in UTF-8 bytes (ASCII text without encoding it).

    Raises:
        InvalidInputError: ``text`` holds a lone surrogate, which UTF-8 cannot encode.
    """
    if text.isascii():
        return len(text)
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise _surrogate_error(where, what, text, exc) from None


def _surrogate_error(
    where: str, what: str, text: str, exc: UnicodeEncodeError
) -> InvalidInputError:
    near = text[max(0, exc.start - 30) : exc.start + 1]
    return InvalidInputError(
        f"{where}: {what} contains a lone surrogate, which UTF-8 cannot encode (a file name "
        f"from os.listdir can hold one), at the end of {shown(near)}; decode such bytes with "
        "errors='replace' (or re-encode the string with .encode('utf-8', 'replace')) first."
    )


def _walk_json(value: Any, limit: int, where: str, name: str, path: tuple[Any, ...] = ()) -> None:
    """Check a nested metadata value: str keys, int64 ints, at most ``limit`` levels.

    Only containers are walked (scalars are checked where they sit), so flat metadata
    costs two type tests per value. ``path`` holds the keys leading to ``value``.
    """
    if len(path) >= limit:
        raise InvalidInputError(
            f"{where}: {_path(name, path)} nests deeper than {limit} levels of dicts and "
            f"lists (or contains itself); flatten it: deeper JSON breaks every filtered "
            "search and delete on the collection (Milvus Lite)."
        )
    # Only metadata (a Mapping) and dicts, lists and tuples get here.
    is_dict = not isinstance(value, (list, tuple))
    for key, item in value.items() if is_dict else enumerate(value):
        if is_dict and type(key) is not str and not isinstance(key, str):
            raise InvalidInputError(
                f"{where}: {_path(name, path)} has the key {shown(key)} of type "
                f"{type(key).__name__}; JSON keys are strings (it would come back as a "
                "string, and could collide with one): convert it with str() yourself."
            )
        kind = type(item)
        if kind in _PLAIN_SCALARS:
            continue
        if isinstance(item, (dict, list, tuple)):
            _walk_json(item, limit, where, name, (*path, key))
        elif isinstance(item, int) and not _INT64_MIN <= item <= _INT64_MAX:
            raise _int_range_error(where, _path(name, (*path, key)), item)


_PLAIN_SCALARS = frozenset({str, float, bool, type(None)})
"""Types whose values the walk need not look at (JSON checks floats for NaN)."""


def _path(name: str, keys: tuple[Any, ...]) -> str:
    """``metadata['a'][0]``, shortened in the middle when deep."""
    parts = [f"[{shown(key)}]" for key in keys]
    if len(parts) > 6:
        parts = [*parts[:3], "...", *parts[-2:]]
    return name + "".join(parts)


def _int_range_error(where: str, path: str, value: int) -> InvalidInputError:
    return InvalidInputError(
        f"{where}: {path}={shown(value)} is outside the int64 range [-2**63, 2**63 - 1]; Milvus "
        "compares integers as int64 (on Milvus Lite one such value breaks every filter on "
        "its key) and returns ints beyond 2**64 as floats: store it as a string."
    )


def _check_json(value: Any, where: str, what: str) -> None:
    try:
        text = json.dumps(value, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidInputError(
            f"{where}: {what} is not JSON-serialisable ({exc}); use str, int, float, bool, "
            "None, lists and dicts of those (no NaN or inf)."
        ) from exc
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise _surrogate_error(where, what, text, exc) from None


_SCALAR_CHECKS: dict[ScalarType, tuple[type | tuple[type, ...], str]] = {
    ScalarType.INT64: (int, "an integer"),
    ScalarType.DOUBLE: (float, "a float"),
    ScalarType.BOOL: (bool, "a bool"),
    ScalarType.VARCHAR: (str, "a string"),
}


def _check_scalar(value: Any, kind: ScalarType, decl: MetadataField, where: str) -> None:
    types, label = _SCALAR_CHECKS[kind]
    ok = isinstance(value, types) and (kind is ScalarType.BOOL or not isinstance(value, bool))
    if kind is ScalarType.DOUBLE and isinstance(value, float) and not math.isfinite(value):
        ok = False
    if not ok:
        hint = ""
        if kind is ScalarType.DOUBLE and isinstance(value, int) and not isinstance(value, bool):
            # Refused rather than converted: the column would return 3 as 3.0, and ints
            # beyond 2**53 changed, so the metadata would not come back as written.
            hint = f"; a DOUBLE column returns ints as floats, so write {shown(float(value))}"
        raise InvalidInputError(
            f"{where}: metadata[{shown(decl.name)}]={shown(value)} must be {label} "
            f"(declared {decl.scalar_type.value}){hint}."
        )
    if kind is ScalarType.INT64 and not _INT64_MIN <= value <= _INT64_MAX:
        raise _int_range_error(where, f"metadata[{shown(decl.name)}]", value)
    if kind is ScalarType.VARCHAR and (value.isascii() and len(value) <= decl.max_length):
        return  # ASCII is its own UTF-8 and holds no surrogate: nothing more to check
    if kind is ScalarType.VARCHAR and (
        _utf8_len(value, where, f"metadata[{shown(decl.name)}]") > decl.max_length
    ):
        raise InvalidInputError(
            f"{where}: metadata[{shown(decl.name)}] is longer than "
            f"max_length={decl.max_length} bytes."
        )


def _check_declared(
    value: Any,
    decl: MetadataField,
    where: str,
    kind: ScalarType | None = None,
    element: ScalarType | None = None,
) -> None:
    """Check a declared field's value (``kind`` / ``element``: the parsed types, if known)."""
    kind = kind or decl.scalar_type
    if kind is ScalarType.ARRAY:
        if not isinstance(value, (list, tuple)):
            raise InvalidInputError(f"{where}: metadata[{shown(decl.name)}] must be a list.")
        if len(value) > decl.max_capacity:
            raise InvalidInputError(
                f"{where}: metadata[{shown(decl.name)}] has {len(value)} items; "
                f"max_capacity is {decl.max_capacity}."
            )
        element = element or decl.element_scalar_type
        assert element is not None  # MetadataField guarantees an element type for ARRAY
        for item in value:
            _check_scalar(item, element, decl, where)
    else:
        _check_scalar(value, kind, decl, where)


@dataclass(frozen=True)
class _Checks:
    """What record checks need from a spec, computed once per batch, not once per row
    (the spec's accessors parse enums and rebuild tuples on every access)."""

    dense: bool
    nonzero: bool
    client_sparse: bool
    id_max_length: int
    text_max_length: int
    named: dict[str, DenseField]
    declared: tuple[tuple[MetadataField, ScalarType, ScalarType | None], ...]

    @classmethod
    def of(cls, spec: CollectionSpec) -> _Checks:
        return cls(
            dense=spec.dense,
            nonzero=_needs_direction(spec),
            client_sparse=spec.sparse_mode is SparseMode.CLIENT,
            id_max_length=spec.id_max_length,
            text_max_length=spec.text_max_length,
            named={f.name: f for f in spec.extra_vector_fields},
            declared=tuple((d, d.scalar_type, d.element_scalar_type) for d in spec.declared_fields),
        )


def validate_record(
    record: Record,
    spec: CollectionSpec,
    *,
    dim: int | None,
    position: int,
    check_vector: bool = True,
    check_json: bool = True,
    vectors: bool = True,
    checks: _Checks | None = None,
) -> None:
    """Check one record against the spec.

    ``check_vector`` / ``check_json`` off skip checks the caller already made for a whole
    batch at once; ``vectors`` off checks everything but the vectors (a record about to
    be embedded has none yet); ``checks`` is the spec's :class:`_Checks` (a batch's
    caller computes it once).

    Raises:
        InvalidInputError: naming the record's position and id, the field and the fix.
    """
    if not isinstance(record.id, str) or not record.id:
        raise InvalidInputError(
            f"record {position}: id={shown(record.id)} must be a non-empty string; "
            "convert numeric ids with str()."
        )
    c = checks or _Checks.of(spec)
    # shown() of a short str is its repr: built directly, as it is for every row.
    rid = record.id
    where = f"record {position} (id={repr(rid) if len(rid) <= SHOWN_LIMIT // 2 else shown(rid)})"
    if _utf8_len(rid, where, "id") > c.id_max_length:
        raise InvalidInputError(f"{where}: id is longer than {c.id_max_length} bytes.")
    if not isinstance(record.text, str) or not record.text.strip():
        raise InvalidInputError(f"{where}: text is empty; every record needs non-empty text.")
    text_bytes = _utf8_len(record.text, where, "text")
    if text_bytes > c.text_max_length:
        raise InvalidInputError(
            f"{where}: text is {text_bytes} bytes, longer than "
            f"text_max_length={c.text_max_length}; split it into smaller chunks."
        )
    if isinstance(record.doc_id, str) and record.doc_id:
        _utf8_len(record.doc_id, where, "doc_id")
    if vectors and not c.dense and record.vector is not None:
        raise InvalidInputError(
            f"{where}: the collection is sparse-only (dense=False) and stores no dense "
            "vector; leave vector=None."
        )
    if vectors and c.dense and record.vector is None:
        raise InvalidInputError(f"{where}: vector is missing; embed the text first.")
    if vectors and c.dense and check_vector:
        validate_dense(record.vector, dim, where=where, nonzero=c.nonzero)
    if vectors:
        _check_named_vectors(record, c.named, where)
    if not isinstance(record.metadata, Mapping):
        raise InvalidInputError(f"{where}: metadata must be a dict, not {type(record.metadata)}.")
    if check_json:
        # The batch is not plain JSON: numpy values (a pandas row's to_dict()) become the
        # Python values they hold, so they are written and read back as those; dates are
        # refused with the fix. The caller's dicts are not changed.
        record.metadata = _plain_json(dict(record.metadata), where, "metadata")
        if record.extra:
            record.extra = _plain_json(record.extra, where, "extra")
    for key in record.metadata:
        if not isinstance(key, str):
            raise InvalidInputError(f"{where}: metadata key {shown(key)} must be a string.")
        if not key or key.startswith("$"):
            raise InvalidInputError(
                f"{where}: metadata key {shown(key)} is reserved: keys must be non-empty and not "
                "start with '$' (filter operators do), or no filter could address them; "
                "rename the key."
            )
    # Undeclared keys live inside the metadata JSON column, so a key named like a
    # canonical field ("id", "text" ...) cannot clash with it; declared fields that
    # would clash are rejected by CollectionSpec. The reserved keys are "" and "$...".
    for decl, kind, element in c.declared:
        value = record.metadata.get(decl.name)
        if value is not None:
            _check_declared(value, decl, where, kind, element)
    _walk_json(record.metadata, MAX_METADATA_DEPTH, where, "metadata")
    if record.extra:
        # Framework data (e.g. LlamaIndex relationships) wraps user metadata a few levels
        # deep: it gets twice the room.
        _walk_json(record.extra, 2 * MAX_METADATA_DEPTH, where, "extra")
    if check_json:
        _check_json(record.metadata, where, "metadata")
        _check_json(record.extra, where, "extra")
    if vectors and c.client_sparse and record.sparse is None:
        raise InvalidInputError(
            f"{where}: the collection stores client sparse vectors; none given."
        )


def _check_named_vectors(record: Record, known: Mapping[str, DenseField], where: str) -> None:
    """Check the record's vectors of the named dense fields (shape only: dims vary by field)."""
    if not isinstance(record.vectors, Mapping):
        raise InvalidInputError(f"{where}: vectors must be a dict of field name -> vector.")
    if not known and not record.vectors:
        return  # the usual collection: one dense field
    unknown = sorted(str(n) for n in set(record.vectors) - set(known))
    if unknown:
        raise InvalidInputError(
            f"{where}: vectors names fields {unknown} the collection does not have; its "
            f"named vector fields are {sorted(known)}."
        )
    for name, dense in known.items():
        if record.vectors.get(name) is None:
            raise InvalidInputError(
                f"{where}: the vector of field {shown(name)} is missing; give "
                f"vectors={{{name!r}: [...]}} (embed it with that field's model)."
            )
        validate_dense(
            record.vectors[name],
            dense.dim,
            where=f"{where} field {shown(name)}",
            nonzero=dense.metric_type is MetricType.COSINE,
        )


def _convert_named_vectors(records: Sequence[Record], spec: CollectionSpec) -> None:
    """Convert the named fields' vectors to plain floats, one dimension per field."""
    for dense in spec.extra_vector_fields:
        dim = dense.dim
        for record in records:
            where = f"record {shown(record.id)} field {shown(dense.name)}"
            vector = validate_dense(
                record.vectors[dense.name],
                dim,
                where=where,
                nonzero=dense.metric_type is MetricType.COSINE,
            )
            dim = len(vector)  # every record of the batch shares the first one's dimension
            record.vectors[dense.name] = vector


def _needs_direction(spec: CollectionSpec) -> bool:
    """Whether the dense metric cannot rank an all-zero vector (COSINE divides by its norm)."""
    return spec.metric_type is MetricType.COSINE


def validate_records(
    records: Sequence[Record], spec: CollectionSpec, dim: int | None, *, vectors: bool = True
) -> None:
    """Validate every record and reject duplicate ids within the batch.

    Args:
        records: the records of one write.
        spec: the collection spec (declared fields, limits, metric).
        dim: the expected vector dimension, or ``None`` to take any.
        vectors: ``False`` checks everything but the vectors: adapters call it before
            embedding, so a bad batch is refused before an embedding API bills it.

    Raises:
        InvalidInputError: the first problem found; nothing has been written.
    """
    checked = (
        _checked_vectors_in_chunks(records, dim, _needs_direction(spec))
        if vectors and spec.dense
        else None
    )
    json_ok = _json_serialisable(records)
    checks = _Checks.of(spec)
    seen: dict[str, int] = {}
    for position, record in enumerate(records):
        # When the whole batch passed a batch-wide check, skip the per-record one; when
        # it did not, the per-record check names the first bad record.
        validate_record(
            record,
            spec,
            dim=dim,
            position=position,
            check_vector=checked is None,
            check_json=not json_ok,
            vectors=vectors,
            checks=checks,
        )
        if record.id in seen:
            raise InvalidInputError(
                f"records {seen[record.id]} and {position} share id {shown(record.id)}; "
                "ids must be unique within one write."
            )
        seen[record.id] = position
    if not vectors:
        return
    _convert_named_vectors(records, spec)
    if not spec.dense:
        return
    if checked is None:
        checked = [validate_dense(r.vector, dim, where=f"record {shown(r.id)}") for r in records]
    for record, vector in zip(records, checked, strict=True):
        record.vector = vector  # plain floats, converted once: rows reuse them as they are


def validate_vectors(records: Sequence[Record], spec: CollectionSpec, dim: int | None) -> None:
    """Check the vectors of records whose other fields :func:`validate_records` (with
    ``vectors=False``) has already checked: a streamed write's chunk, just embedded.

    Raises:
        InvalidInputError: the first bad vector (or missing client sparse vector).
    """
    nonzero = _needs_direction(spec)
    checked = _checked_vectors_in_chunks(records, dim, nonzero)
    if checked is None:
        checked = []
        for position, record in enumerate(records):
            where = f"record {position} (id={shown(record.id)})"
            if record.vector is None:
                raise InvalidInputError(f"{where}: vector is missing; embed the text first.")
            checked.append(validate_dense(record.vector, dim, where=where, nonzero=nonzero))
    for record, vector in zip(records, checked, strict=True):
        record.vector = vector
    if spec.sparse_mode is SparseMode.CLIENT:
        for record in records:
            if record.sparse is None:
                raise InvalidInputError(
                    f"record {shown(record.id)}: the collection stores client sparse "
                    "vectors; none given."
                )


def _json_serialisable(records: Sequence[Record]) -> bool:
    """Whether every record's metadata and extra serialise as strict UTF-8 JSON (one pass)."""
    try:
        text = json.dumps(
            [(r.metadata, r.extra) for r in records], allow_nan=False, ensure_ascii=False
        )
        if not text.isascii():  # O(1) in CPython: only non-ASCII text can hold a surrogate
            text.encode("utf-8")
    except (TypeError, ValueError, RecursionError):  # UnicodeEncodeError is a ValueError
        return False
    return True


def _squared_norms(array: np.ndarray) -> np.ndarray:
    """Each row's squared norm, in one pass without a temporary array."""
    norms: np.ndarray = np.einsum("ij,ij->i", array, array)
    return norms


def _checked_vectors_in_chunks(
    records: Sequence[Record], dim: int | None, nonzero: bool, chunk: int = 1024
) -> list[list[float]] | None:
    """:func:`_checked_vectors` a chunk at a time: the float64 array it builds stays small
    (one array of every vector of a large write doubled the peak memory of an ingest)."""
    out: list[list[float]] = []
    for start in range(0, len(records), chunk):
        part = _checked_vectors(records[start : start + chunk], dim, nonzero)
        if part is None:
            return None
        dim = dim if dim is not None or not part else len(part[0])
        out.extend(part)
    return out


def _checked_vectors(
    records: Sequence[Record], dim: int | None, nonzero: bool
) -> list[list[float]] | None:
    """Check and convert every vector in one numpy pass; ``None`` if any is bad."""
    if not records or any(r.vector is None for r in records):
        return None
    vectors = [r.vector for r in records]
    # Lists of Python floats (what embedding models return) are checked and then sent as
    # they are: converting them to float32 and back costs more than the check. Without a
    # dtype numpy makes strings, None or objects a non-float array, which is refused here.
    plain = all(type(v) is list for v in vectors)
    try:
        if plain:
            array = np.asarray(vectors)
        elif all(type(v) is np.ndarray and v.dtype == np.float32 for v in vectors):
            # float32 rows (a model's numpy output): stacked as they are, without the
            # float64 copy, and converted once below.
            rows = cast("list[np.ndarray]", vectors)
            array = np.stack(rows) if rows[0].ndim == 1 else np.asarray(rows)
        else:
            array = np.asarray(vectors, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if array.dtype.kind != "f":
        return None
    if array.ndim != 2 or array.shape[1] == 0 or (dim is not None and array.shape[1] != dim):
        return None
    # Two reductions find NaN (it propagates, and NaN <= x is false), inf and values that
    # overflow float32; a third, only under COSINE, finds all-zero vectors.
    if not (array.max() <= _FLOAT32_MAX and array.min() >= -_FLOAT32_MAX):
        return None
    if nonzero and not (_squared_norms(array) > 0).all():
        return None
    if plain:
        return vectors  # type: ignore[return-value]
    if array.dtype != np.float32:
        array = array.astype(np.float32)
    return array.tolist()  # type: ignore[no-any-return]


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
        metadata = dict(record.metadata)
        row: dict[str, Any] = {
            names.id: record.id,
            names.text: record.text,
            names.doc_id: record.doc_id or "",
        }
        if dense:
            row[names.vector] = (
                record.vector
                if isinstance(record.vector, list)
                else validate_dense(record.vector, None, where=f"record {shown(record.id)}")
            )
        for name in named:
            row[name] = record.vectors[name]
        nulls = []
        for decl in declared:
            present = decl.name in metadata
            value = metadata.pop(decl.name, None)
            if value is None and not store_missing_as_null:
                raise InvalidInputError(
                    f"record {shown(record.id)}: metadata[{shown(decl.name)}] is missing, "
                    f"and this Milvus "
                    "has no nullable fields (needs >= 2.5); give every record a value."
                )
            if present and value is None:
                nulls.append(decl.name)  # read back as None, not as a missing key
            row[decl.name] = list(value) if isinstance(value, tuple) else value
        for column in accelerated:
            # A copy for fast filters; the JSON below keeps the value in any case.
            row[column.name] = column_value(metadata.get(column.name), column)
        nulls += [key for key, value in metadata.items() if value is None]
        extra = record.extra or {}
        if nulls:
            extra = {**extra, NULL_KEYS: nulls}
            metadata = {key: value for key, value in metadata.items() if value is not None}
        row[names.extra] = json_text(extra)
        row[names.metadata] = json_text(metadata)
        if client_sparse and record.sparse is not None:
            row[names.sparse] = {int(k): float(v) for k, v in record.sparse.items()}
        rows.append(row)
    return rows


def json_text(value: Mapping[str, Any]) -> str:
    """A JSON column's value as JSON text (validated records only).

    pymilvus sends a ``str`` for a JSON field as it is, after checking that it parses,
    which costs far less than its conversion of a dict (a Python walk of the value, then
    serialisation), and the text's length sizes the write batches for free.
    """
    if not value:
        return "{}"  # the usual extra column: no serialiser call per row
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


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
    sparse = row.get(names.sparse) if spec.sparse_mode is SparseMode.CLIENT else None
    vector = row.get(names.vector) if spec.dense else None
    named = {f.name: row[f.name] for f in spec.extra_vector_fields if row.get(f.name) is not None}
    return Record(
        id=str(row[names.id]),
        text=str(row.get(names.text, "") or ""),
        vector=list(vector) if vector is not None else None,
        metadata=metadata,
        sparse=dict(sparse) if isinstance(sparse, Mapping) else None,
        doc_id=str(row.get(names.doc_id, "") or ""),
        extra=extra,
        vectors={name: list(v) for name, v in named.items()},
    )
