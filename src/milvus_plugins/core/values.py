"""Checks and conversions of single values: vectors, scalars, JSON metadata, declared columns.

See :mod:`milvus_plugins.core.records` for what is accepted and why; :mod:`.record_checks`
applies these checks to whole records.
"""

from __future__ import annotations

import datetime
import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from milvus_plugins.core.config import MetadataField
from milvus_plugins.core.errors import InvalidInputError, shown
from milvus_plugins.core.types import ScalarType

__all__ = [
    "DATE_HINT",
    "FLOAT32_MAX",
    "MAX_METADATA_DEPTH",
    "check_declared",
    "check_serialisable",
    "is_date",
    "plain_json",
    "plain_scalar",
    "query_vector",
    "utf8_len",
    "validate_dense",
    "walk_json",
]

MAX_METADATA_DEPTH = 64
"""How deep metadata may nest (the metadata dict itself is level 1)."""

FLOAT32_MAX = float(np.finfo(np.float32).max)
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


_NOT_FLOAT32 = (
    "vector contains NaN or inf, or a value beyond the float32 range (|x| > 3.4e38) that "
    "Milvus would store as inf; fix the embedding"
)
_ZERO_COSINE = (
    "vector has no direction in float32, where Milvus computes COSINE norms: it is all "
    "zeros there (values below ~1e-23 vanish when squared, below ~1e-45 when stored), or "
    "so large that its squared norm overflows (values above ~1.8e19); its similarity to "
    "anything is undefined and it would rank arbitrarily. Fix the embedding (empty or "
    "padding-only input often embeds to zeros), normalise it, or use metric L2 or IP"
)
_NOT_REAL = (
    "vector holds complex numbers (their imaginary parts cannot be stored); pass real floats"
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
    # Without a dtype first: given float64, numpy would turn complex values into their
    # real parts (with only a warning) and parse strings as numbers.
    try:
        given = np.asarray(vector)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidInputError(f"{where}: vector is not a sequence of numbers ({exc}).") from exc
    odd = {type(item) for item in given.flat} if given.dtype.kind == "O" else set()
    if given.dtype.kind in "US" or any(issubclass(kind, (str, bytes)) for kind in odd):
        raise InvalidInputError(
            f"{where}: vector is not a sequence of numbers (it holds strings, which are not "
            "parsed); pass the embedding's floats."
        )
    if given.dtype.kind == "c" or any(
        issubclass(kind, (complex, np.complexfloating)) for kind in odd
    ):
        raise InvalidInputError(f"{where}: {_NOT_REAL}.")
    try:
        array = given.astype(np.float64)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidInputError(f"{where}: vector is not a sequence of numbers ({exc}).") from exc
    if array.ndim != 1 or array.size == 0:
        raise InvalidInputError(f"{where}: vector must be a flat, non-empty list of floats.")
    if dim is not None and array.size != dim:
        raise InvalidInputError(
            f"{where}: vector has dimension {array.size} but the collection expects {dim} "
            "(the dim= of the store, or of the collection it opened); use the same embedding "
            "model the collection was created with, or give a new store this model's dim=."
        )
    # One reduction finds NaN (max is NaN, and NaN <= x is false), inf and float32 overflow.
    if not float(np.abs(array).max()) <= FLOAT32_MAX:  # NaN <= x is false too
        raise InvalidInputError(f"{where}: {_NOT_FLOAT32}.")
    stored = array.astype(np.float32)
    # The norm as Milvus computes it, in float32: a vector whose values round (or square)
    # to zero there has no direction, however non-zero it is in float64.
    if nonzero and not has_direction(stored):
        raise InvalidInputError(f"{where}: {_ZERO_COSINE}.")
    return stored.tolist()  # type: ignore[no-any-return]


SPARSE_INDEX_LIMIT = 2**32 - 2
"""Sparse vector indices given by users and encoders are in ``[0, SPARSE_INDEX_LIMIT)``:
Milvus takes ``[0, 2**32 - 1)``, and the last of those is reserved for :data:`NO_TERMS`."""

NO_TERMS = {SPARSE_INDEX_LIMIT: 1e-30}
"""What a client sparse vector without terms is stored as (Milvus refuses a sparse row
without a non-zero weight): one negligible weight at the reserved index ``2**32 - 2``,
which no vector or query may use (:class:`~milvus_plugins.core.sparse.BM25Encoder`'s term
ids are 31-bit), so no keyword search finds the row, as it has no terms. Read back as
``{}``."""


def sparse_vector(vector: Any, *, where: str, query: bool = False) -> dict[int, float]:
    """Check a sparse vector as Milvus takes it, before any I/O; answer it as sent.

    A mapping ``{index: weight}``: indices are ints in ``[0, 2**32 - 2)``, weights finite,
    non-negative float32 numbers. A record's vector without a non-zero weight (a text
    without terms) is stored as :data:`NO_TERMS`; a query without one is refused (it
    matches nothing).

    Raises:
        InvalidInputError: naming the index or weight, and the rule.
    """
    what = "sparse query" if query else "sparse vector"
    if not isinstance(vector, Mapping):
        raise InvalidInputError(
            f"{where}: the {what} {shown(vector)} must be a dict {{index: weight}} "
            f"({type(vector).__name__} given)."
        )
    out: dict[int, float] = {}
    for index, weight in vector.items():
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
            raise InvalidInputError(
                f"{where}: {what} index {shown(index)} must be an int in [0, 2**32 - 2)."
            )
        if not 0 <= int(index) < SPARSE_INDEX_LIMIT:
            raise InvalidInputError(
                f"{where}: {what} index {index} is outside [0, 2**32 - 2) (Milvus takes "
                "indices below 2**32 - 1; 2**32 - 2 is reserved here for a text without "
                "terms): map your encoder's indices below it."
            )
        if isinstance(weight, (bool, np.bool_)) or not isinstance(
            weight, (int, float, np.integer, np.floating)
        ):
            raise InvalidInputError(
                f"{where}: {what} weight at index {index} is {shown(weight)}, not a number."
            )
        try:
            value = float(weight)
        except OverflowError:
            value = math.inf
        if not 0.0 <= value <= FLOAT32_MAX:  # NaN fails too
            raise InvalidInputError(
                f"{where}: {what} weight at index {index} is {shown(weight)}; Milvus takes "
                "finite, non-negative float32 weights."
            )
        if float(np.float32(value)) > 0.0:
            out[int(index)] = value
    if not out:
        if query:
            raise InvalidInputError(
                f"{where}: the sparse query has no non-zero weight, so it matches nothing; "
                "encode a query text that has terms."
            )
        return dict(NO_TERMS)
    return out


def stored_sparse(vector: Any) -> dict[int, float] | None:
    """A sparse vector read back from Milvus as written (:data:`NO_TERMS` as ``{}``)."""
    if not isinstance(vector, Mapping):
        return None
    out = {int(k): float(v) for k, v in vector.items()}
    (last,) = NO_TERMS
    if list(out) == [last] and out[last] < 1e-20:
        return {}
    return out


def query_vector(vector: Any, dim: int | None, *, where: str, nonzero: bool = False) -> list[float]:
    """Check a query vector as :func:`validate_dense` does, and return its values.

    A search sends the vector once and keeps nothing, so the usual shapes (a list of
    Python floats, a 1-D float32 array) whose norm is plainly usable are checked without
    numpy: a search paid about 0.1 ms for the array round trips in the process that
    hosts Milvus Lite. Their values come back as given (Milvus rounds them to float32);
    anything else, or a norm near an edge (NaN, inf, beyond float32, so small that its
    float32 square could vanish), goes through :func:`validate_dense`, which decides.

    Raises:
        InvalidInputError: as :func:`validate_dense`.
    """
    if type(vector) is list:
        values: list[Any] = vector
        if not all(type(x) is float for x in values):
            return validate_dense(vector, dim, where=where, nonzero=nonzero)
    elif type(vector) is np.ndarray and vector.dtype == np.float32 and vector.ndim == 1:
        values = vector.tolist()
    else:
        return validate_dense(vector, dim, where=where, nonzero=nonzero)
    # norm in (1e-15, 1e15): every value and the float32 squared norm are finite, and
    # the largest value's float32 square (>= 1e-30 / len) is far above its smallest normal.
    if not values or (dim is not None and len(values) != dim):
        return validate_dense(vector, dim, where=where, nonzero=nonzero)
    if not 1e-15 < math.hypot(*values) < 1e15:
        return validate_dense(vector, dim, where=where, nonzero=nonzero)
    return values


def has_direction(stored: np.ndarray) -> np.ndarray | bool:
    """Whether float32 vectors (one, or the rows of a 2-D array) have a usable COSINE
    norm: their float32 squared norm is neither 0 nor inf."""
    with np.errstate(over="ignore", under="ignore"):
        norms = np.einsum("...i,...i->...", stored, stored)
    result = (norms > 0) & np.isfinite(norms)
    return bool(result) if result.ndim == 0 else result


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


def plain_json(value: Any, where: str, name: str, path: tuple[Any, ...] = ()) -> Any:
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
            plain = plain_json(item, where, name, (*path, key))
            if plain is not item:
                changed[key] = plain
        return {**value, **changed} if changed else value
    if isinstance(value, (list, tuple)):
        items = [plain_json(item, where, name, (*path, i)) for i, item in enumerate(value)]
        if any(a is not b for a, b in zip(items, value, strict=True)):
            return items if isinstance(value, list) else tuple(items)
    return value


def utf8_len(text: str, where: str, what: str) -> int:
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


def walk_json(value: Any, limit: int, where: str, name: str, path: tuple[Any, ...] = ()) -> None:
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
        if kind is int:
            if not _INT64_MIN <= item <= _INT64_MAX:
                raise _int_range_error(where, _path(name, (*path, key)), item)
            continue
        if kind is list and len(path) + 1 < limit and all(type(x) is str for x in item):
            continue  # a list of strings (tags, labels) holds nothing more to check
        if isinstance(item, (dict, list, tuple)):
            if item or len(path) + 1 >= limit:  # (an empty one within the limit: fine)
                walk_json(item, limit, where, name, (*path, key))
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


def _unserialisable_at(value: Any, keys: tuple[Any, ...] = ()) -> tuple[Any, ...]:
    """The keys (and list positions) leading to the first value ``json.dumps`` refuses
    (only called once it has refused the whole; ``()``: the value itself)."""
    if len(keys) < 32 and isinstance(value, (dict, list, tuple)):
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            try:
                json.dumps(item, allow_nan=False)
            except (TypeError, ValueError, RecursionError):
                return _unserialisable_at(item, (*keys, key))
    return keys


def check_serialisable(value: Any, where: str, what: str) -> None:
    try:
        text = json.dumps(value, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidInputError(
            f"{where}: {_path(what, _unserialisable_at(value))} is not JSON-serialisable "
            f"({exc}); use str, int, float, bool, None, lists and dicts of those (no NaN or "
            "inf)."
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
        utf8_len(value, where, f"metadata[{shown(decl.name)}]") > decl.max_length
    ):
        raise InvalidInputError(
            f"{where}: metadata[{shown(decl.name)}] is longer than "
            f"max_length={decl.max_length} bytes."
        )


def check_declared(
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
