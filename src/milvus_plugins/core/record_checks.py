"""Record validation: every record checked before anything is written or embedded."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from milvus_plugins.core.config import CollectionSpec, DenseField, MetadataField
from milvus_plugins.core.errors import SHOWN_LIMIT, InvalidInputError, shown
from milvus_plugins.core.records import KEY_ORDER, NULL_KEYS, Record
from milvus_plugins.core.types import MetricType, ScalarType, SparseMode
from milvus_plugins.core.values import (
    FLOAT32_MAX,
    MAX_METADATA_DEPTH,
    check_declared,
    check_serialisable,
    has_direction,
    plain_json,
    sparse_vector,
    utf8_len,
    validate_dense,
    walk_json,
)

__all__ = ["CheckedVector", "validate_record", "validate_records", "validate_vectors"]

_INT64, _VARCHAR, _ARRAY = ScalarType.INT64, ScalarType.VARCHAR, ScalarType.ARRAY
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1

CheckedVector = list[float] | np.ndarray
"""A dense vector after the checks: a list of floats, or a 1-D float32 array (numpy
input), which pymilvus converts to floats row by row as it packs a write."""


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


def check_lengths(records: Sequence[Record], spec: CollectionSpec) -> None:
    """Check ids, doc_ids and texts against ``spec``'s limits only.

    For records already validated against other limits: a store whose spec did not
    repeat the limits of the collection it then opened.

    Raises:
        InvalidInputError: the first record with a value over its limit.
    """
    for position, record in enumerate(records):
        where = f"record {position} (id={shown(record.id)})"
        for what, value, limit in (
            ("id", record.id, spec.id_max_length),
            ("doc_id", record.doc_id or "", spec.id_max_length),
            ("text", record.text, spec.text_max_length),
        ):
            size = utf8_len(value, where, what)
            if size > limit:
                raise InvalidInputError(
                    f"{where}: {what} is {size} bytes, longer than the collection's limit of "
                    f"{limit} bytes (it was created with {what.replace('doc_', '')}"
                    f"_max_length={limit}); shorten it, or write it to a collection created "
                    "with a larger limit."
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
    if utf8_len(rid, where, "id") > c.id_max_length:
        raise InvalidInputError(f"{where}: id is longer than {c.id_max_length} bytes.")
    if not isinstance(record.text, str):
        raise InvalidInputError(
            f"{where}: text={shown(record.text)} is a {type(record.text).__name__}, not a str."
        )
    text_bytes = utf8_len(record.text, where, "text")
    if text_bytes > c.text_max_length:
        raise InvalidInputError(
            f"{where}: text is {text_bytes} bytes, longer than "
            f"text_max_length={c.text_max_length}; split it into smaller chunks."
        )
    if record.doc_id is not None and not isinstance(record.doc_id, str):
        raise InvalidInputError(
            f"{where}: doc_id={shown(record.doc_id)} must be a string (the source "
            "document's id) or empty; convert it with str()."
        )
    if isinstance(record.doc_id, str) and record.doc_id:
        # The doc_id column is as long as the id column (a document id is an id).
        doc_bytes = utf8_len(record.doc_id, where, "doc_id")
        if doc_bytes > c.id_max_length:
            raise InvalidInputError(
                f"{where}: doc_id is {doc_bytes} bytes, longer than id_max_length="
                f"{c.id_max_length}; shorten it (or hash it) or create the collection with a "
                "larger id_max_length."
            )
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
    # An exact dict first: isinstance against the Mapping ABC is slow, and
    # _plain_containers has made the usual record's dicts exact.
    if type(record.metadata) is not dict and not isinstance(record.metadata, Mapping):
        raise InvalidInputError(f"{where}: metadata must be a dict, not {type(record.metadata)}.")
    if type(record.extra) is not dict and not isinstance(record.extra, Mapping):
        raise InvalidInputError(f"{where}: extra must be a dict, not {type(record.extra)}.")
    for reserved in (NULL_KEYS, KEY_ORDER):
        if reserved in record.extra:
            raise InvalidInputError(
                f"{where}: extra key {shown(reserved)} is reserved (the store lists "
                "metadata keys under it); rename the key."
            )
    if check_json:
        # The batch is not plain JSON: numpy values (a pandas row's to_dict()) become the
        # Python values they hold, so they are written and read back as those; dates are
        # refused with the fix. The caller's dicts are not changed.
        record.metadata = plain_json(dict(record.metadata), where, "metadata")
        if record.extra:
            record.extra = plain_json(record.extra, where, "extra")
    for key in record.metadata:
        if not isinstance(key, str):
            raise InvalidInputError(f"{where}: metadata key {shown(key)} must be a string.")
        # str's own methods: a subclass could override them to pass the test.
        if str.__len__(key) == 0 or str.startswith(key, "$"):
            raise InvalidInputError(
                f"{where}: metadata key {shown(key)} is reserved: keys must be non-empty and not "
                "start with '$' (filter operators do), or no filter could address them; "
                "rename the key."
            )
    # Undeclared keys live inside the metadata JSON column, so a key named like a
    # canonical field ("id", "text" ...) cannot clash with it; declared fields that
    # would clash are rejected by CollectionSpec. The reserved keys are "" and "$...".
    metadata = record.metadata
    for decl, kind, element in c.declared:
        value = metadata.get(decl.name)
        if value is None:
            continue
        # The usual values (exact types, ASCII strings within the limit) pass here;
        # check_declared decides every other value and names the problem.
        vtype = type(value)
        if vtype is int and kind is _INT64 and _INT64_MIN <= value <= _INT64_MAX:
            continue
        if vtype is str and kind is _VARCHAR and len(value) <= decl.max_length and value.isascii():
            continue
        if (
            vtype is list
            and kind is _ARRAY
            and element is _VARCHAR
            and len(value) <= decl.max_capacity
            and all(
                type(item) is str and len(item) <= decl.max_length and item.isascii()
                for item in value
            )
        ):
            continue
        check_declared(value, decl, where, kind, element)
    walk_json(record.metadata, MAX_METADATA_DEPTH, where, "metadata")
    if record.extra:
        # Framework data (e.g. LlamaIndex relationships) wraps user metadata a few levels
        # deep: it gets twice the room.
        walk_json(record.extra, 2 * MAX_METADATA_DEPTH, where, "extra")
    if check_json:
        check_serialisable(record.metadata, where, "metadata")
        check_serialisable(record.extra, where, "extra")
    if vectors and c.client_sparse and record.sparse is None:
        raise InvalidInputError(
            f"{where}: the collection stores client sparse vectors; none given."
        )
    if c.client_sparse and record.sparse is not None:
        record.sparse = sparse_vector(record.sparse, where=where)


def _check_named_vectors(record: Record, known: Mapping[str, DenseField], where: str) -> None:
    """Check the record's vectors of the named dense fields (shape only: dims vary by field)."""
    if type(record.vectors) is not dict and not isinstance(record.vectors, Mapping):
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
            record.vectors = {**record.vectors, dense.name: vector}  # not the caller's dict


def _needs_direction(spec: CollectionSpec) -> bool:
    """Whether the dense metric cannot rank an all-zero vector (COSINE divides by its norm)."""
    return spec.metric_type is MetricType.COSINE


def _plain_containers(record: Record) -> None:
    """Give the record exact ``str`` and ``dict`` values in place of subclasses.

    The checks call a value's methods (``strip``, ``isascii``, ``items``) while the write
    sends what the value holds (protobuf reads a string's characters, ``dict()`` copies a
    dict's entries): a subclass overriding those methods would pass the checks with
    values they never saw. Checked and written, the plain copies are the same thing.
    (The records are the write's own copies: the caller's are not changed.)
    """
    for attr in ("id", "text", "doc_id"):
        value = getattr(record, attr)
        if type(value) is not str and isinstance(value, str):
            setattr(record, attr, str.__str__(value))
    if type(record.metadata) is not dict and isinstance(record.metadata, Mapping):
        record.metadata = dict(record.metadata)
    if type(record.extra) is not dict and isinstance(record.extra, Mapping):
        record.extra = dict(record.extra)


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
    for record in records:
        _plain_containers(record)
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
        record.vector = vector  # checked (lists as given, numpy as float32 rows): rows reuse it


def validate_vectors(
    records: Sequence[Record], spec: CollectionSpec, dim: int | None, *, start: int = 0
) -> None:
    """Check the vectors of records whose other fields :func:`validate_records` (with
    ``vectors=False``) has already checked: a streamed write's chunk, just embedded.

    ``start`` is the chunk's position in the write call: records are numbered in the
    call, as the checks before embedding number them.

    Raises:
        InvalidInputError: the first bad vector (or missing client sparse vector).
    """
    nonzero = _needs_direction(spec)
    checked = _checked_vectors_in_chunks(records, dim, nonzero)
    if checked is None:
        checked = []
        for position, record in enumerate(records, start):
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
            record.sparse = sparse_vector(record.sparse, where=f"record {shown(record.id)}")


def _json_serialisable(records: Sequence[Record]) -> bool:
    """Whether every record's metadata and extra serialise as strict UTF-8 JSON (one pass).

    One list of the records' own dicts (and of their non-empty extras), not a pair per
    record: the pairs would live through the serialisation, long enough for the
    collector to move them to its oldest generation, whose passes walk every object the
    process holds (issue 16).
    """
    try:
        values: list[Any] = [r.metadata for r in records]
        values.extend([r.extra for r in records if type(r.extra) is not dict or r.extra])
        text = json.dumps(values, allow_nan=False, ensure_ascii=False)
        if not text.isascii():  # O(1) in CPython: only non-ASCII text can hold a surrogate
            text.encode("utf-8")
    except (TypeError, ValueError, RecursionError):  # UnicodeEncodeError is a ValueError
        return False
    return True


_EXACT = frozenset({float, int})

_NORM_RANGE = (1e-15, 1e15)
"""Euclidean norms (in float64) a list vector may have to pass the fast check. Within
them every value is within float32 and, for dims up to Milvus' 32,768, the float32
squared norm is neither 0 nor inf (its largest term is at least ~3e-35, a normal
float32, and the sum at most ~1e30); vectors outside go through numpy, which decides
exactly."""


def _plain_lists_ok(lists: Sequence[list[Any]], dim: int | None, nonzero: bool) -> bool:
    """Whether every list is a vector that can be sent as it is, checked without numpy.

    Embedding models return lists of Python floats; reading 7.7 million of them into
    numpy took 0.45 s per 20,000 384-d vectors. Here each list costs two C calls: ``sum``
    whose result is an exact ``float`` only when every value is a float or an int (a
    numpy scalar, 0-d array, ``Decimal``, complex or string makes it another type or
    raises), and ``math.hypot``, NaN or inf for a NaN or inf value, whose range
    (:data:`_NORM_RANGE`) bounds every value. ``False`` sends the chunk through numpy.

    ``sum`` also passes int subclasses, which ``hypot`` and protobuf read through their
    ``__float__``: one whose ``__float__`` answers differently each time would be
    checked as one value and stored as another. Such a value at either end sends the
    chunk through numpy (its checked copy is what is written); in the middle it is not
    looked for (an exact type test of every value costs ~0.27 s per 20,000 vectors).
    """
    size = dim if dim is not None else len(lists[0])
    low, high = _NORM_RANGE
    if not nonzero:
        low = 0.0
    hypot = math.hypot
    try:
        # A numpy scalar among the floats makes ``sum`` numpy arithmetic (which warns
        # on overflow): such a list fails here anyway.
        with np.errstate(all="ignore"):
            for vector in lists:
                if len(vector) != size or type(sum(vector)) is not float:
                    return False
                if type(vector[0]) not in _EXACT or type(vector[-1]) not in _EXACT:
                    return False  # (see the docstring)
                if not low <= hypot(*vector) <= high:  # NaN compares false
                    return False
    except (TypeError, ValueError, OverflowError, RecursionError):
        return False
    return size > 0


def _checked_vectors_in_chunks(
    records: Sequence[Record], dim: int | None, nonzero: bool, chunk: int = 1024
) -> list[CheckedVector] | None:
    """:func:`_checked_vectors` a chunk at a time: the float64 array it builds stays small
    (one array of every vector of a large write doubled the peak memory of an ingest)."""
    out: list[CheckedVector] = []
    for start in range(0, len(records), chunk):
        part = _checked_vectors(records[start : start + chunk], dim, nonzero)
        if part is None:
            return None
        dim = dim if dim is not None or not part else len(part[0])
        out.extend(part)
    return out


def _checked_vectors(
    records: Sequence[Record], dim: int | None, nonzero: bool
) -> list[CheckedVector] | None:
    """Check and convert every vector in one numpy pass; ``None`` if any is bad."""
    if not records or any(r.vector is None for r in records):
        return None
    vectors = [r.vector for r in records]
    # Lists of Python floats (what embedding models return) are checked and then sent as
    # they are: converting them to float32 and back costs more than the check. Without a
    # dtype numpy makes strings, None, complex numbers or objects a non-float array,
    # which is refused here (the per-record check then names the problem).
    plain = all(type(v) is list for v in vectors)
    if plain and _plain_lists_ok(cast("list[list[Any]]", vectors), dim, nonzero):
        return vectors  # type: ignore[return-value]
    try:
        if plain:
            array = np.asarray(vectors)
        elif all(type(v) is np.ndarray and v.dtype == np.float32 for v in vectors):
            # float32 rows (a model's numpy output): stacked into one array, without a
            # float64 copy; the rows written are views of this copy, not the caller's
            # arrays (a model may reuse its output buffer for the next chunk, which a
            # streamed write embeds while this one is being written).
            rows = cast("list[np.ndarray]", vectors)
            array = np.stack(rows) if rows[0].ndim == 1 else np.asarray(rows)
        else:
            array = np.asarray(vectors)
            if array.dtype.kind in "iub":
                array = array.astype(np.float64)
    except (TypeError, ValueError, OverflowError):
        return None
    if array.dtype.kind != "f":
        return None
    if array.ndim != 2 or array.shape[1] == 0 or (dim is not None and array.shape[1] != dim):
        return None
    # Two reductions find NaN (it propagates, and NaN <= x is false), inf and values that
    # overflow float32; a third, only under COSINE, finds vectors that are all zeros in
    # float32, where Milvus computes the norm.
    if not (array.max() <= FLOAT32_MAX and array.min() >= -FLOAT32_MAX):
        return None
    stored = array.astype(np.float32, copy=False)  # the values Milvus keeps
    if nonzero and not np.all(has_direction(stored)):
        return None
    # numpy input stays numpy, as float32 rows of our own copy: pymilvus turns each row
    # into Python floats only while it packs it, so a write never holds every vector as
    # 384 float objects (eight times the memory, and lists the garbage collector walks on
    # every pass). Lists the fast check did not pass (other number types such as numpy
    # scalars, 0-d arrays or tensors, which protobuf may refuse while packing, after
    # earlier batches were written; values near the float32 limits) are sent as these
    # rows too: they hold exactly the values Milvus keeps.
    return list(stored)
