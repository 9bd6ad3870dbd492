"""Grouping search ("one best chunk per document"): options and client-side grouping (pure).

A grouped search returns the ``k`` best *groups* (by default: source documents, the
``doc_id`` field) instead of the ``k`` best rows, each group with up to ``size`` of its
best rows. Groups come best first (ordered by their best row); a group's rows follow
each other, best first, as Milvus' own grouping search lists them.

Milvus groups on the server (``group_by_field``; ``group_size`` and
``strict_group_size`` on newer engines) for a scalar column of type INT, VARCHAR or
BOOL. Where it cannot (an engine without grouping search, a metadata key inside the
JSON field, a DOUBLE column, or a hybrid search fused here) the core groups on the
client: :func:`group_hits` groups a ranked candidate list, and the operation
(:mod:`milvus_plugins.core.ops.grouping`) over-fetches, with larger limits, until it has
``k`` groups (filled to ``size`` rows when ``strict``) or the collection is exhausted.

Rows whose group value is missing (a metadata key a row lacks, ``None``) form one group,
as a null value does on the server; rows with an empty ``doc_id`` share the group ``""``.
The collection's text, vector, sparse, metadata and ``extra`` fields hold no group
value: grouping by one of them raises :class:`ConfigError` (:func:`group_key`).
"""

from __future__ import annotations

import json
import numbers
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from milvus_plugins.core.config import CollectionSpec
from milvus_plugins.core.errors import ConfigError, shown
from milvus_plugins.core.records import Record
from milvus_plugins.core.results import Hit
from milvus_plugins.core.types import ParsableEnum, ScalarType

__all__ = [
    "GROUPABLE_TYPES",
    "GROUPING_KWARGS",
    "GroupKey",
    "Grouping",
    "Place",
    "group_hits",
    "group_key",
    "grouping_from_kwargs",
    "groups_complete",
    "unkeyed_field",
]

#: Column types Milvus' grouping search accepts (no DOUBLE, no ARRAY, no JSON path).
GROUPABLE_TYPES = frozenset({ScalarType.INT64, ScalarType.VARCHAR, ScalarType.BOOL})

MAX_GROUP_SIZE = 1024


class Place(ParsableEnum):
    """Where a feature runs (grouping, decay): ``auto`` (the server when it can), or forced."""

    AUTO = "auto"
    SERVER = "server"
    CLIENT = "client"


@dataclass(frozen=True, kw_only=True)
class Grouping:
    """Group search results by a field: the ``k`` best groups, ``size`` rows each.

    Attributes:
        by: the field to group by: ``None`` (default) for the source document id
            (``doc_id``), a column name (the id field or a declared metadata field), or a
            metadata key (grouped on the client: Milvus cannot group on a JSON path).
            The text, vector and JSON fields hold no group value: :func:`group_key`
            refuses them.
        size: rows per group (default 1: one best chunk per document).
        strict: fill every group to ``size`` rows when the collection has them (the
            client fallback then keeps fetching until each group is full or the
            collection is exhausted); otherwise a group may come back with fewer rows.
        place: ``"auto"`` (the server when the engine and the field allow it, else the
            client), ``"server"`` (raise :class:`UnsupportedByServerError` when the
            engine cannot) or ``"client"``.
        by_metadata_key: ``by`` names a metadata key (or a declared metadata field) even
            where the id or source-document field has that name (``id``, ``doc_id``), as
            a filter's keys do; the LangChain adapter sets it, its ``group_by`` being a
            metadata key. The text, vector and JSON fields' names stay refused.

    Raises:
        ConfigError: a bad field name, size, flag or place.
    """

    by: str | None = None
    size: int = 1
    strict: bool = False
    place: Place | str = Place.AUTO
    by_metadata_key: bool = False

    def __post_init__(self) -> None:
        if self.by is not None and (not isinstance(self.by, str) or not self.by.strip()):
            raise ConfigError(
                f"group_by={shown(self.by)} must be a field name or a metadata key "
                "(None: the source document id)."
            )
        size = self.size
        if isinstance(size, numbers.Integral) and not isinstance(size, bool):
            size = int(size)  # a numpy integer, as k takes one
            object.__setattr__(self, "size", size)
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_GROUP_SIZE:
            raise ConfigError(
                f"group_size={shown(size)} must be an integer in [1, {MAX_GROUP_SIZE}]."
            )
        if not isinstance(self.strict, bool):
            raise ConfigError(f"strict_group_size={shown(self.strict)} must be True or False.")
        if not isinstance(self.by_metadata_key, bool):
            raise ConfigError(f"by_metadata_key={shown(self.by_metadata_key)} must be a bool.")
        if self.by_metadata_key and self.by is None:
            raise ConfigError("by_metadata_key=True needs by= (the metadata key to group by).")
        object.__setattr__(self, "place", Place.parse(self.place, field="place"))


@dataclass(frozen=True)
class GroupKey:
    """How one grouping reads its group value.

    Attributes:
        column: the collection column the server can group on, or ``None`` (client only).
        value: the group value of a record.
        label: the field or key, for messages.
    """

    column: str | None
    value: Callable[[Record], Hashable]
    label: str


def _hashable(value: Any) -> Hashable:
    # Lists and dicts in JSON metadata are grouped by their canonical JSON spelling, and
    # bools apart from numbers (True == 1 in Python, not in filters): tagged, so neither
    # can meet a string or number of the same spelling or value.
    if isinstance(value, (list, dict)):
        return ("json", json.dumps(value, sort_keys=True))
    if isinstance(value, bool):
        return ("bool", value)
    return value  # type: ignore[no-any-return]


def unkeyed_field(spec: CollectionSpec, name: str) -> str | None:
    """What the canonical field ``name`` of ``spec`` is when it holds no scalar value to
    group or rank by (its text, a vector, the metadata or ``extra`` JSON), else ``None``.

    Such a name never reaches the metadata key of that name: a record's metadata is read
    through the ``metadata`` field, which every row has, so the name means the field.
    """
    names = spec.fields
    vectors = {names.vector, names.sparse, *(f.name for f in spec.extra_vector_fields)}
    if name in vectors:
        return "a vector field"
    if name == names.text:
        return "the text field"
    if name == names.metadata:
        return "the metadata JSON field"
    if name == names.extra:
        return "the framework-private JSON field"
    return None


def group_key(spec: CollectionSpec, grouping: Grouping) -> GroupKey:
    """Resolve the grouping field of ``spec``: a server column or a metadata key.

    Raises:
        ConfigError: ``grouping.by`` names the text, a vector, the metadata or the
            ``extra`` field of the collection, or the source document of another tool's
            collection that has no document-id field (every row would fall into one group).
    """
    names = spec.fields
    by = grouping.by
    what = None if by is None else unkeyed_field(spec, by)
    if by is not None and what is not None:
        raise ConfigError(
            f"group_by={shown(by)} names {what} of collection {shown(spec.name)}, which "
            "holds no value to group by (every row would fall into one group); group by "
            f"the source document (group_by=True, the {names.doc_id!r} field), the id, a "
            "declared metadata field or a metadata key (named by itself: group_by='source')."
        )
    if by is not None and grouping.by_metadata_key:
        return _metadata_key(spec, by)
    if by is None or by == names.doc_id:
        layout = spec.layout
        if layout is not None and layout.doc_id is None:
            raise ConfigError(
                f"collection {shown(spec.name)} ({layout.label} layout) has no "
                "document-id field, so its rows cannot be grouped by source document (every "
                "row would fall into one group); group by a metadata key instead (e.g. "
                "group_by='source'), or by the id."
            )
        return GroupKey(names.doc_id, lambda r: r.doc_id, names.doc_id)
    if by == names.id:
        return GroupKey(names.id, lambda r: r.id, names.id)
    return _metadata_key(spec, by)


def _metadata_key(spec: CollectionSpec, key: str) -> GroupKey:
    """Grouping by a metadata key: on its column where it is a declared groupable field."""
    declared = spec.declared(key)
    column = key if declared is not None and declared.type in GROUPABLE_TYPES else None
    return GroupKey(column, lambda r: _hashable(r.metadata.get(key)), key)


def group_hits(
    hits: Sequence[Hit], key: Callable[[Record], Hashable], k: int, size: int
) -> list[list[Hit]]:
    """Group ranked ``hits`` (best first): the first ``k`` groups, ``size`` hits each.

    A group's rank is the rank of its best hit; within a group hits keep their order.
    """
    groups: dict[Hashable, list[Hit]] = {}
    for hit in hits:
        value = key(hit.record)
        members = groups.get(value)
        if members is None:
            if len(groups) >= k:
                continue
            groups[value] = members = []
        if len(members) < size:
            members.append(hit)
    return list(groups.values())


def groups_complete(groups: Sequence[Sequence[Hit]], k: int, grouping: Grouping) -> bool:
    """Whether grouped candidates answer the search: ``k`` groups, full when strict."""
    if len(groups) < k:
        return False
    return not grouping.strict or all(len(g) >= grouping.size for g in groups)


GROUPING_KWARGS = frozenset({"group_by", "group_size", "strict_group_size"})
"""The keyword arguments both adapters take for a grouped search."""


def grouping_from_kwargs(kwargs: Mapping[str, Any]) -> Grouping | None:
    """The :class:`Grouping` a call's keyword arguments ask for, or ``None``.

    ``group_by``: ``True`` for the source document id, a field name or metadata key, or
    ``None``/``False`` for none; ``group_size`` / ``strict_group_size=True`` alone group
    by the source document id (``strict_group_size=False`` alone groups nothing).

    Raises:
        ConfigError: a bad value, or ``group_by=False`` with a group size.
    """
    by = kwargs.get("group_by")
    size = kwargs.get("group_size")
    strict = kwargs.get("strict_group_size")
    if by is False:
        if size is not None or strict:
            raise ConfigError("group_by=False contradicts group_size/strict_group_size.")
        return None
    if by is None and size is None and (strict is None or strict is False):
        return None  # strict_group_size=False alone asks for nothing
    if by is not None and not isinstance(by, (str, bool)):
        raise ConfigError(
            f"group_by={shown(by)} must be True (the source document id), a field name "
            "or a metadata key."
        )
    return Grouping(
        by=by if isinstance(by, str) else None,
        size=1 if size is None else size,
        strict=False if strict is None else strict,
    )
