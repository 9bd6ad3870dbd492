"""The ``filter=`` argument of :class:`MilvusVectorStore` -> what the core store takes.

LangChain vector stores share a MongoDB-style dict convention, which the core
translates (:func:`milvus_plugins.core.dict_filters.filter_from_dict`)::

    {"genre": "sci-fi"}                                   # equality
    {"genre": "sci-fi", "year": {"$gte": 2000}}           # several keys: AND
    {"year": {"$gt": 1990, "$lt": 2000}}                  # several operators: AND
    {"$or": [{"genre": "drama"}, {"rating": {"$gte": 8.5}}]}
    {"$not": {"genre": "horror"}}                         # negate a sub-filter
    {"year": {"$not": {"$in": [1999, 2001]}}}             # negate an operator dict

=====================  ===============================================================
operator               meaning
=====================  ===============================================================
``$eq`` ``$ne``        equal / not equal (``$ne`` also matches rows without the key)
``$gt`` ``$gte``       greater than / or equal
``$lt`` ``$lte``       less than / or equal
``$in`` ``$nin``       one of a list / none of it (``$nin`` matches rows without the key)
``$like``              SQL-like pattern: ``%`` any run of characters, ``_`` any one
``$exists``            ``true``: the key is present (not null); ``false``: it is absent
``$contains``          a list-valued key contains the value
``$and`` ``$or``       a non-empty list of sub-filters
``$not``               a sub-filter, or (under a key) an operator dict
``$text_match``        under the key ``text`` (the document text): one of the words
                       matches after analysis (Milvus ``TEXT_MATCH``; a store created
                       with ``text_match=True``, Milvus >= 2.5 or Milvus Lite 3)
``$phrase_match``      under ``text``: the words as a phrase, ``"a b"`` or
                       ``{"phrase": "a b", "slop": 1}`` (Milvus >= 2.5.17)
=====================  ===============================================================

An unknown operator raises :class:`~milvus_plugins.core.errors.FilterError` (a
``ValueError``) naming it. ``{}`` matches everything. Keys and values are never pasted
into an expression here: the core compiler escapes them, so a hostile value such as
``'" or id != "'`` only ever matches itself.

Besides dicts, ``filter=`` takes a core filter (``eq("genre", "drama") & gt("year", 2000)``)
unchanged, and a ``str`` as a raw Milvus expression: the explicit escape hatch, *not*
escaped, so never build one from user input.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from milvus_plugins.core import (
    DICT_FILTER_OPERATORS as OPERATORS,
)
from milvus_plugins.core import (
    Filter,
    and_,
    ensure_filter,
    filter_from_dict,
)

__all__ = ["OPERATORS", "FilterArg", "deletion_filter", "dict_to_filter", "to_core_filter"]

FilterArg = Mapping[str, Any] | Filter | str | None


def dict_to_filter(filter: Mapping[str, Any]) -> Filter:
    """Translate a LangChain (MongoDB-style) filter dict into a core filter tree.

    Args:
        filter: the dict; see the module docstring for the operators.

    Returns:
        The core filter (``and_()``, which matches everything, for ``{}``).

    Raises:
        FilterError: an unknown operator (named in the message), a malformed operand,
            or a value that is not a string, number or bool.
    """
    if isinstance(filter, Mapping) and not filter:
        return and_()
    return filter_from_dict(filter)


def to_core_filter(filter: FilterArg) -> Filter | str | None:
    """Return what the core store takes for any ``filter=`` a LangChain user passes.

    Args:
        filter: a MongoDB-style dict, a core filter, a raw Milvus expression string (the
            unescaped escape hatch), or ``None``.

    Returns:
        ``None`` for no filter (``None`` or ``{}``), else a core filter or the raw string.

    Raises:
        FilterError: a malformed dict or an unsupported filter type.
    """
    if isinstance(filter, Mapping):
        return filter_from_dict(filter) if filter else None
    return ensure_filter(filter)


def deletion_filter(filter: FilterArg) -> Filter | str | None:
    """The filter of a ``delete``: ``{}`` stays the match-all ``and_()`` (refused by the core)."""
    # Unlike a search filter, `{}` is not "no filter" here: it stays the match-all
    # `and_()`, which the core refuses to delete with (only delete() empties).
    if isinstance(filter, Mapping):
        return dict_to_filter(filter)
    return to_core_filter(filter)
