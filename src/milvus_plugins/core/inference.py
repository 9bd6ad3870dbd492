"""Accelerator columns: typed copies of undeclared metadata keys, for fast filters (pure).

Milvus Lite 3.2.2 evaluates a path into the metadata JSON row by row (about 1 s per
filter at 20,000 rows) but a typed column in one vectorised pass (about 40 ms). So the
write that creates a collection also gives each scalar metadata key of that write a
nullable typed column, an *accelerator*:

* the metadata JSON stays the source of truth: every value is written there, and reads
  take metadata from it alone, so nothing is ever dropped or refused;
* the column holds a copy of the value when it fits the column's kind (the kinds of the
  reference evaluator: ``bool`` -> BOOL, numbers -> DOUBLE, ``str`` -> VARCHAR), and a
  null when the key is missing, ``None``, or holds a value that does not fit (a string
  under a number key, a list, an int beyond 2**53, a string longer than 65,535 bytes);
* a write holding a value that does not fit marks its key *overflowed* in the
  collection's properties (``milvus_plugins.overflow.<key>``) before it writes a row.
  Filters on an overflowed key compile to the JSON path (exact, slow), filters on the
  other accelerated keys to the column (a null there is a missing key, exactly as in the
  JSON). The filter compiler also falls back to the JSON path for a leaf the column
  cannot answer alone (a literal of another kind, ``contains`` ...).

Which keys get a column is fixed when the collection is created (Milvus Lite 3.2.2,
Milvus Lite 2.5 and Milvus 2.3 cannot add a field later; ``add_collection_field`` answers
UNIMPLEMENTED on Lite): the keys of the creating write whose non-``None`` values all
have one kind and whose names Milvus accepts as field names, up to
:data:`MAX_INFERRED_FIELDS`, in first-seen order. Keys first seen later stay in the JSON
only (exact, at JSON-path speed). The list of accelerated columns is kept in the
collection's properties (``milvus_plugins.accelerated``), so a reopened collection,
another process or another store knows them; the overflowed keys are read back from the
properties before each filter on a key not yet known to have overflowed, so a value of
another kind written by anyone is found by every later filter.

Accelerators need nullable columns (Milvus Lite 3, servers >= 2.5); Milvus Lite 2.5 and
Milvus 2.3 (C++ engines, which evaluate JSON paths natively) get none.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from milvus_plugins.core.config import CollectionSpec
from milvus_plugins.core.errors import ConfigError, InvalidInputError, shown
from milvus_plugins.core.fields import MetadataField
from milvus_plugins.core.names import SYSTEM_FIELDS, is_expression_word
from milvus_plugins.core.types import ScalarType
from milvus_plugins.core.values import check_declared

if TYPE_CHECKING:
    from milvus_plugins.core.filters.tree import Filter
    from milvus_plugins.core.records import Record

__all__ = [
    "ACCELERATED_PROPERTY",
    "CREATION_TAG_PROPERTY",
    "INSTANCE_PROPERTY",
    "MAX_INFERRED_FIELDS",
    "OVERFLOW_PREFIX",
    "accelerated_names",
    "column_value",
    "creation_properties",
    "creation_tag",
    "infer_metadata_fields",
    "inferred_partition_key",
    "instance_token",
    "overflow_properties",
    "overflowed_keys",
    "overflowing_keys",
    "referenced_keys",
    "value_kind",
]

MAX_INFERRED_FIELDS = 32
"""At most this many columns are inferred (Milvus allows 64 fields per collection)."""

_MAX_FIELDS = 64  # Milvus' default proxy.maxFieldNum

ACCELERATED_PROPERTY = "milvus_plugins.accelerated"
"""Collection property listing the accelerator columns (a JSON list of names)."""

CREATION_TAG_PROPERTY = "milvus_plugins.creation_tag"
"""Collection property holding the creating spec's ``creation_tag`` (when it has one)."""

INSTANCE_PROPERTY = "milvus_plugins.instance"
"""Collection property holding a random token set when this package creates the
collection: what tells a collection made again under the same name, with the same
schema, from the one a store opened, on engines that report no collection id (Milvus
Lite 3 answers 0 for every collection)."""

OVERFLOW_PREFIX = "milvus_plugins.overflow."
"""Prefix of the collection property set (to ``"1"``) for each overflowed key.

One property per key: Milvus merges properties key by key, so two writers marking two
keys at once cannot undo each other (one property holding a list could lose one)."""

_EXACT_INT = 2**53  # ints beyond this lose precision in a DOUBLE column
_VARCHAR_MAX = 65535


def value_kind(value: object) -> ScalarType | None:
    """The accelerator kind ``value`` fits (BOOL, DOUBLE or VARCHAR), or ``None``."""
    if isinstance(value, bool):
        return ScalarType.BOOL
    if isinstance(value, int):
        return ScalarType.DOUBLE if -_EXACT_INT <= value <= _EXACT_INT else None
    if isinstance(value, float):
        return ScalarType.DOUBLE if math.isfinite(value) else None
    short = isinstance(value, str) and (
        len(value) * 4 <= _VARCHAR_MAX or len(value.encode("utf-8")) <= _VARCHAR_MAX
    )
    return ScalarType.VARCHAR if short else None


def column_value(value: object, column: MetadataField) -> Any:
    """What ``column`` stores for a metadata value: the value if it fits, else null."""
    if value is None:
        return None
    kind = value_kind(value)
    if kind is None or kind is not column.scalar_type:
        return None
    if kind is ScalarType.DOUBLE:
        return float(value)  # type: ignore[arg-type]
    return value


def infer_metadata_fields(
    records: Sequence[Record], spec: CollectionSpec
) -> tuple[MetadataField, ...]:
    """Return the accelerator columns for a collection created by the write ``records``.

    Keys already declared, or named like a canonical or a named vector field, are left
    alone; keys are taken in first-seen order, up to :data:`MAX_INFERRED_FIELDS`. A key
    with values of several kinds (or a list, a dict ...) in this write gets no column:
    its filters would take the JSON path anyway.
    """
    taken = (
        {f.name for f in spec.declared_fields}
        | set(spec.fields.all())
        | {f.name for f in spec.extra_vector_fields}  # named dense fields
    )
    kinds: dict[str, ScalarType | None] = {}
    for record in records:
        for key, value in record.metadata.items():
            if key in taken or value is None:
                continue
            kind = value_kind(value)
            if key not in kinds:
                kinds[key] = kind
            elif kinds[key] is not kind:
                kinds[key] = None
    room = min(MAX_INFERRED_FIELDS, _MAX_FIELDS - len(taken))
    inferred: list[MetadataField] = []
    for key, kind in kinds.items():
        if kind is None or len(inferred) >= room:
            continue
        if is_expression_word(key) or key in SYSTEM_FIELDS:
            continue  # a column no filter could name (or a server's own): JSON only
        try:
            field = MetadataField(name=key, type=kind, max_length=_VARCHAR_MAX, index=True)
        except ConfigError:
            continue  # not a valid Milvus field name: it stays in the JSON column
        inferred.append(field)
    return tuple(inferred)


def inferred_partition_key(spec: CollectionSpec, records: Sequence[Record]) -> MetadataField | None:
    """The column an undeclared partition key takes from a write's values (no I/O).

    ``None`` unless ``spec``'s partition key is pending (named, not declared). Its
    values in ``records`` must all be ``str`` (a VARCHAR key, up to 65,535 bytes) or all
    ``int`` (an INT64 key); a missing or ``None`` value is refused elsewhere (every row
    needs its partition key). The answer is the column a collection created by this
    write gets; an existing collection's own column replaces it when it is opened.

    Raises:
        InvalidInputError: a value that cannot be a partition key's, or values of both
            kinds (nothing is written).
    """
    key = spec.partition_key
    if key is None or not spec.partition_key_pending:
        return None
    declare = f"declare its type, e.g. metadata_fields={{{key!r}: 'VARCHAR'}} (or 'INT64')"
    column: MetadataField | None = None
    for record in records:
        value = record.metadata.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise InvalidInputError(
                f"record {shown(record.id)}: metadata[{shown(key)}]={shown(value)} "
                f"({type(value).__name__}) cannot be a value of partition key {shown(key)}: "
                f"a partition key holds strings or ints; {declare} (nothing was written)."
            )
        kind = ScalarType.VARCHAR if isinstance(value, str) else ScalarType.INT64
        if column is None:
            column = MetadataField(name=key, type=kind, max_length=_VARCHAR_MAX)
        elif column.scalar_type is not kind:
            raise InvalidInputError(
                f"record {shown(record.id)}: metadata[{shown(key)}] is "
                f"{type(value).__name__}, where earlier records of this write hold "
                f"{'str' if kind is ScalarType.INT64 else 'int'}: partition key "
                f"{shown(key)} has one type; {declare} (nothing was written)."
            )
        check_declared(value, column, f"record {shown(record.id)}")
    return column


def overflowing_keys(records: Iterable[Record], spec: CollectionSpec) -> set[str]:
    """The accelerated keys that hold, in ``records``, a value their column cannot."""
    columns = spec.accelerated_fields
    if not columns:
        return set()
    found: set[str] = set()
    for record in records:
        for column in columns:
            value = record.metadata.get(column.name)
            if value is not None and value_kind(value) is not column.scalar_type:
                found.add(column.name)
    return found


def creation_properties(spec: CollectionSpec) -> dict[str, str]:
    """The collection properties to create ``spec``'s collection with."""
    names = [f.name for f in spec.accelerated_fields]
    properties = {ACCELERATED_PROPERTY: json.dumps(names)} if names else {}
    properties.update(instance_token())
    if spec.creation_tag:
        properties[CREATION_TAG_PROPERTY] = spec.creation_tag
    return properties


def instance_token() -> dict[str, str]:
    """A fresh :data:`INSTANCE_PROPERTY`, as a property to set."""
    return {INSTANCE_PROPERTY: uuid.uuid4().hex}


def creation_tag(description: Mapping[str, Any]) -> str:
    """The ``creation_tag`` a described collection was created with (``""``: none)."""
    tag = _properties(description).get(CREATION_TAG_PROPERTY)
    return tag if isinstance(tag, str) else ""


def overflow_properties(keys: Iterable[str]) -> dict[str, str]:
    """The properties that mark ``keys`` overflowed."""
    return {OVERFLOW_PREFIX + key: "1" for key in sorted(keys)}


def _properties(description: Mapping[str, Any]) -> Mapping[str, Any]:
    props = description.get("properties") or {}
    return props if isinstance(props, Mapping) else {}


def accelerated_names(description: Mapping[str, Any]) -> tuple[str, ...]:
    """The accelerator column names a described collection lists in its properties."""
    raw = _properties(description).get(ACCELERATED_PROPERTY)
    try:
        names = json.loads(raw) if isinstance(raw, str) else []
    except ValueError:
        return ()
    return tuple(n for n in names if isinstance(n, str)) if isinstance(names, list) else ()


def overflowed_keys(description: Mapping[str, Any]) -> frozenset[str]:
    """The keys a described collection's properties mark overflowed."""
    return frozenset(
        key[len(OVERFLOW_PREFIX) :]
        for key in _properties(description)
        if isinstance(key, str) and key.startswith(OVERFLOW_PREFIX)
    )


def referenced_keys(node: Filter | str | None) -> set[str]:
    """The metadata keys a filter tree reads (none for a raw expression)."""
    from milvus_plugins.core.filters.tree import leaves

    if node is None or isinstance(node, str):
        return set()
    keys = (
        (getattr(leaf, "key", None), getattr(leaf, "target", "metadata")) for leaf in leaves(node)
    )
    return {key for key, target in keys if isinstance(key, str) and target == "metadata"}
