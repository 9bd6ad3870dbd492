"""Describe a collection's metadata for LLM query builders (self-query, auto-retrieval).

:func:`describe_fields` reads the declared (typed or inferred) metadata columns from the
collection spec and the keys kept in the JSON metadata from a sample of rows, and returns
one :class:`FieldDescription` per key: its type in the words query builders use
(``string``, ``integer``, ``float``, ``boolean``, ``list[string]`` ...), whether it is a
typed column, and for a low-cardinality string key its distinct values, so an LLM writes
``genre == "drama"`` rather than guessing ``"Drama"``. The adapters turn these into
LangChain ``AttributeInfo``-like dicts and a LlamaIndex ``VectorStoreInfo``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from milvus_plugins.core.errors import ConfigError, shown
from milvus_plugins.core.fields import MetadataField
from milvus_plugins.core.store import MilvusStore
from milvus_plugins.core.types import ScalarType

__all__ = ["FieldDescription", "describe_fields", "describe_sample"]

_SCALAR_NAMES = {
    ScalarType.INT64: "integer",
    ScalarType.DOUBLE: "float",
    ScalarType.BOOL: "boolean",
    ScalarType.VARCHAR: "string",
}


@dataclass(frozen=True, kw_only=True)
class FieldDescription:
    """One metadata key as a query builder should see it.

    Attributes:
        name: the metadata key.
        type: ``string``, ``integer``, ``float``, ``boolean``, ``list[<element>]`` or
            ``mixed`` (values of several types in the sample).
        typed_column: stored as a typed column (declared or inferred): fast filters.
        present: in how many sampled rows the key has a value (not null).
        sampled: how many rows were sampled.
        values: the distinct values of a string key, sorted, when there are at most
            ``max_distinct`` of them in the sample; else ``None``.
    """

    name: str
    type: str
    typed_column: bool
    present: int
    sampled: int
    values: tuple[str, ...] | None = None

    def describe(self) -> str:
        """A one-line description for an LLM prompt."""
        text = f"metadata field {shown(self.name)} ({self.type})"
        if self.sampled and self.present < self.sampled:
            text += f", present in {self.present} of {self.sampled} sampled rows"
        if self.values is not None:
            text += "; one of: " + ", ".join(repr(v) for v in self.values)
        return text


def _value_type(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        if not value:
            return None  # says nothing about the element type
        inner = {_value_type(v) for v in value} - {None}
        if len(inner) == 1:
            return f"list[{inner.pop()}]"
        if inner == {"integer", "float"}:
            return "list[float]"
        return "list"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def _merge_types(kinds: Iterable[str]) -> str:
    kinds = set(kinds)
    if len(kinds) == 1:
        return kinds.pop()
    if kinds == {"integer", "float"}:
        return "float"
    return "mixed" if kinds else "unknown"


def _declared_type(field: MetadataField) -> str:
    kind = ScalarType(field.type)
    if kind is ScalarType.ARRAY:
        return f"list[{_SCALAR_NAMES[ScalarType(field.element_type)]}]"
    return _SCALAR_NAMES[kind]


def describe_sample(
    metadatas: Sequence[Mapping[str, Any]],
    declared: Sequence[MetadataField] = (),
    *,
    max_distinct: int = 10,
) -> list[FieldDescription]:
    """Describe the keys of sampled metadata dicts (pure; see :func:`describe_fields`).

    Declared fields come first, in declaration order, then the other keys sorted.

    Raises:
        ConfigError: ``max_distinct`` is negative.
    """
    if isinstance(max_distinct, bool) or not isinstance(max_distinct, int) or max_distinct < 0:
        raise ConfigError(f"max_distinct={shown(max_distinct)} must be an int >= 0.")
    typed = {f.name: f for f in declared}
    seen: dict[str, list[Any]] = {name: [] for name in typed}
    for metadata in metadatas:
        for key, value in metadata.items():
            if value is not None:
                seen.setdefault(key, []).append(value)
    names = list(typed) + sorted(k for k in seen if k not in typed)
    described = []
    for name in names:
        values = seen[name]
        if name in typed:
            kind = _declared_type(typed[name])
        else:
            kind = _merge_types(t for t in map(_value_type, values) if t is not None)
        distinct: tuple[str, ...] | None = None
        if kind == "string":
            unique = sorted({str(v) for v in values})
            if unique and len(unique) <= max_distinct:
                distinct = tuple(unique)
        described.append(
            FieldDescription(
                name=name,
                type=kind,
                typed_column=name in typed,
                present=len(values),
                sampled=len(metadatas),
                values=distinct,
            )
        )
    return described


def describe_fields(
    store: MilvusStore, *, sample_size: int = 1000, max_distinct: int = 10
) -> list[FieldDescription]:
    """Describe every metadata key of a collection: typed columns and sampled JSON keys.

    The sample is the first ``sample_size`` rows a query returns (not a random sample):
    a key that appears only in later rows is missed unless it is a typed column.

    Args:
        store: the core store of the collection.
        sample_size: how many rows to read (1 to 16,384).
        max_distinct: list the distinct values of a string key when the sample holds at
            most this many (0: never).

    Returns:
        One description per key; empty for a missing or empty collection without
        declared fields.

    Raises:
        ConfigError: a bad ``sample_size`` or ``max_distinct`` (before any I/O).
    """
    if isinstance(sample_size, bool) or not isinstance(sample_size, int):
        raise ConfigError(f"sample_size={shown(sample_size)} must be an int in [1, 16384].")
    if not 1 <= sample_size <= 16384:
        raise ConfigError(f"sample_size={sample_size} must be in [1, 16384].")
    describe_sample([], max_distinct=max_distinct)  # checks max_distinct before the query
    rows = store.query(limit=sample_size)
    return describe_sample(
        [r.metadata for r in rows], store.spec.declared_fields, max_distinct=max_distinct
    )
