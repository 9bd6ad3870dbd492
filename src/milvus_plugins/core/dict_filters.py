"""MongoDB-style filter dicts (the LangChain convention) -> the core filter tree.

``{"genre": "sci-fi", "year": {"$gte": 2000}}`` means genre == "sci-fi" AND year >= 2000.
Operators: ``$eq $ne $gt $gte $lt $lte $in $nin $like $contains $exists`` (and
``$text_match $phrase_match``, below) on a key, and
``$and $or`` (lists of filters) and ``$not`` (a filter, or an operator dict on a key).
Several keys, or several operators on one key, are combined with AND. Anything else
raises :class:`FilterError` naming the operator, never a silently different filter.

Text match (on a collection created with ``text_match=True``) is written on the key
``"text"``, the document text rather than a metadata key:
``{"text": {"$text_match": "E1234 timeout"}}`` (any of the words) and
``{"text": {"$phrase_match": "connection reset"}}`` or
``{"text": {"$phrase_match": {"phrase": "connection reset", "slop": 1}}}``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from milvus_plugins.core.errors import FilterError, shown
from milvus_plugins.core.filters import (
    MAX_FILTER_DEPTH,
    Filter,
    and_,
    contains,
    eq,
    exists,
    gt,
    gte,
    in_,
    like,
    lt,
    lte,
    ne,
    nin,
    not_,
    or_,
    phrase_match,
    text_match,
)

__all__ = ["OPERATORS", "filter_from_dict"]


def _exists(key: str, value: Any) -> Filter:
    if not isinstance(value, bool):
        raise FilterError(f"$exists on {shown(key)} takes true or false, got {shown(value)}.")
    return exists(key) if value else not_(exists(key))


def _not(key: str, value: Any) -> Filter:
    if isinstance(value, Mapping):
        return not_(_key_filter(key, value))
    return ne(key, value)


TEXT_KEY = "text"
"""The key that text-match operators take: the document text, not a metadata key."""


def _on_text(op: str, key: str) -> None:
    if key != TEXT_KEY:
        raise FilterError(
            f"{op} on {shown(key)}: text match applies to the document text, not to a "
            f"metadata key; write {{'text': {{'{op}': ...}}}}."
        )


def _text_match(key: str, value: Any) -> Filter:
    _on_text("$text_match", key)
    return text_match(value)


def _phrase_match(key: str, value: Any) -> Filter:
    _on_text("$phrase_match", key)
    if isinstance(value, Mapping):
        unknown = sorted(str(k) for k in set(value) - {"phrase", "slop"})
        if unknown or "phrase" not in value:
            raise FilterError(
                f"$phrase_match takes a string or {{'phrase': str, 'slop': int}}, got "
                f"{shown(dict(value))}."
            )
        return phrase_match(value["phrase"], value.get("slop", 0))
    return phrase_match(value)


OPERATORS: dict[str, Callable[[str, Any], Filter]] = {
    "$eq": eq,
    "$ne": ne,
    "$gt": gt,
    "$gte": gte,
    "$lt": lt,
    "$lte": lte,
    "$in": in_,
    "$nin": nin,
    "$like": like,
    "$contains": contains,
    "$exists": _exists,
    "$not": _not,
    "$text_match": _text_match,
    "$phrase_match": _phrase_match,
}


def _key_filter(key: str, condition: Any) -> Filter:
    if isinstance(condition, Mapping):
        if not condition:
            raise FilterError(f"the condition on {shown(key)} is an empty dict.")
        parts = []
        for op, value in condition.items():
            builder = OPERATORS.get(op)
            if builder is None:
                known = ", ".join(sorted(OPERATORS))
                raise FilterError(
                    f"unknown operator {shown(op)} on {shown(key)}; supported: {known}."
                )
            parts.append(builder(key, value))
        return parts[0] if len(parts) == 1 else and_(*parts)
    if isinstance(condition, (list, tuple, set)):
        raise FilterError(
            f"the value of {shown(key)} is a list; write "
            f"{{{shown(key)}: {{'$in': [...]}}}} to match "
            "any of several values, or '$contains' to match inside a list."
        )
    return eq(key, condition)


def _logical(op: str, value: Any, depth: int) -> Filter:
    if op == "$not":
        if not isinstance(value, Mapping):
            raise FilterError(f"$not takes a filter dict, got {shown(value)}.")
        return not_(_from_dict(value, depth + 1))
    if not isinstance(value, (list, tuple)) or not value:
        raise FilterError(f"{op} takes a non-empty list of filter dicts, got {shown(value)}.")
    children = [_from_dict(v, depth + 1) for v in value]
    return and_(*children) if op == "$and" else or_(*children)


def filter_from_dict(spec: Mapping[str, Any]) -> Filter:
    """Translate a MongoDB-style filter dict into a core filter tree.

    Raises:
        FilterError: an unknown operator, a malformed condition, or a value that is not
            a string, number or bool.
    """
    return _from_dict(spec, 1)


def _from_dict(spec: Mapping[str, Any], depth: int) -> Filter:
    # Checked on the way down (the tree is built on the way up); the innermost dict, a
    # condition, is a level of its own, as a leaf is in the tree (MAX_FILTER_DEPTH).
    if depth > MAX_FILTER_DEPTH:
        raise FilterError(
            f"the filter dict nests $and / $or / $not more than {MAX_FILTER_DEPTH - 1} "
            "levels deep; flatten it (one $and list holds any number of conditions)."
        )
    if not isinstance(spec, Mapping):
        raise FilterError(f"a filter must be a dict, got {type(spec).__name__}.")
    if not spec:
        raise FilterError("the filter dict is empty; pass filter=None to match everything.")
    parts: list[Filter] = []
    for key, value in spec.items():
        if not isinstance(key, str):
            raise FilterError(f"filter key {shown(key)} must be a string.")
        if key in ("$and", "$or", "$not"):
            parts.append(_logical(key, value, depth))
        elif key.startswith("$"):
            raise FilterError(f"unknown top-level operator {shown(key)}; use $and, $or or $not.")
        else:
            parts.append(_key_filter(key, value))
    return parts[0] if len(parts) == 1 else and_(*parts)
