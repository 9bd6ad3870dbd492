"""Typed metadata columns inferred from a collection's first write (opt-in).

With ``CollectionSpec(infer_metadata_fields=True)``, the write that creates the collection
also declares a nullable typed column for each scalar metadata key whose values in that
write all share one type: ``str`` -> VARCHAR, ``int`` -> INT64, ``float`` -> DOUBLE,
``bool`` -> BOOL. Filters on those keys then run on a typed column instead of a path
into the metadata JSON (on Milvus Lite 3.2.2 about 20x faster at 5,000 rows, see
BENCHMARKS.md). Keys with mixed types, lists, dicts, names Milvus cannot use as a field,
or only ``None`` values stay in the JSON column, and so does every key that first
appears in a later write: nothing is dropped.

Later writes must keep an inferred key's type (they get the same clear error as for a
declared field, saying the column was inferred). An inferred DOUBLE column refuses ints,
as a declared one does: it would return ``3`` as ``3.0``; write floats, or keep a key
whose first write mixes ints and floats in the JSON column, where each keeps its type.
Inference needs nullable fields (Milvus Lite, servers >= 2.5), since later records may
lack a key; elsewhere nothing is inferred.
"""

from __future__ import annotations

from collections.abc import Sequence

from milvus_plugins.core.config import CollectionSpec, MetadataField
from milvus_plugins.core.errors import ConfigError
from milvus_plugins.core.records import Record
from milvus_plugins.core.types import ScalarType

__all__ = ["MAX_INFERRED_FIELDS", "infer_metadata_fields"]

MAX_INFERRED_FIELDS = 32
"""At most this many columns are inferred (Milvus allows 64 fields per collection)."""

_INT64 = (-(2**63), 2**63 - 1)
_VARCHAR_MAX = 65535


def _kind(value: object) -> ScalarType | None:
    if isinstance(value, bool):
        return ScalarType.BOOL
    if isinstance(value, int):
        return ScalarType.INT64 if _INT64[0] <= value <= _INT64[1] else None
    if isinstance(value, float):
        return ScalarType.DOUBLE
    if isinstance(value, str):
        return ScalarType.VARCHAR if len(value.encode("utf-8")) <= _VARCHAR_MAX else None
    return None


def infer_metadata_fields(
    records: Sequence[Record], spec: CollectionSpec
) -> tuple[MetadataField, ...]:
    """Return the typed columns to add to ``spec`` for the first write ``records``.

    Keys already declared, or named like a canonical field, are left alone; keys are
    taken in first-seen order, up to :data:`MAX_INFERRED_FIELDS`.
    """
    taken = {f.name for f in spec.declared_fields} | set(spec.fields.all())
    kinds: dict[str, ScalarType | None] = {}
    for record in records:
        for key, value in record.metadata.items():
            if key in taken or value is None:
                continue
            kind = _kind(value)
            if key not in kinds:
                kinds[key] = kind
            elif kinds[key] is not kind:
                kinds[key] = None  # mixed types (or one unsupported value): keep it in JSON
    inferred: list[MetadataField] = []
    for key, kind in kinds.items():
        if kind is None or len(inferred) >= MAX_INFERRED_FIELDS:
            continue
        try:
            field = MetadataField(name=key, type=kind, max_length=_VARCHAR_MAX)
        except ConfigError:
            continue  # not a valid Milvus field name: it stays in the JSON column
        inferred.append(field)
    return tuple(inferred)
