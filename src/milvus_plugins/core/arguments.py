"""Shape checks for list arguments (ids, texts, metadatas, nodes, vectors): pure, no I/O.

A ``str`` is itself a sequence of characters, so without a check ``delete(ids="123")``
deletes the ids ``"1"``, ``"2"`` and ``"3"`` and ``add_texts("abc")`` adds three
documents. Every public method of the core and of both adapters that takes a list
passes it through :func:`as_list` (or :func:`id_list` for ids) first, so such a
mistake raises :class:`InvalidInputError` before any I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from milvus_plugins.core.errors import InvalidInputError, shown

__all__ = ["as_list", "id_list"]


_shown = shown  # the package's one way of echoing a value in a message


def as_list(value: Any, field: str, *, of: str = "items") -> list[Any]:
    """Return ``value`` as a list, refusing a single string, bytes or mapping.

    Args:
        value: the argument (any iterable but ``str``, ``bytes`` and mappings).
        field: the argument's name, for the message.
        of: what the list holds, for the message (``"ids"``, ``"texts"`` ...).

    Returns:
        The items, in order (an iterator is consumed once).

    Raises:
        InvalidInputError: ``value`` is a ``str``/``bytes`` (a single item, not a list),
            a mapping, or not iterable.
    """
    if isinstance(value, (str, bytes, bytearray)):
        raise InvalidInputError(
            f"{field}={_shown(value)} is a single {type(value).__name__}, not a list of {of} "
            f"(a string would be taken character by character); pass a list: "
            f"{field}=[{_shown(value)}]."
        )
    if isinstance(value, Mapping) or not isinstance(value, Iterable):
        raise InvalidInputError(
            f"{field} must be a list of {of}, got {type(value).__name__} {_shown(value)}."
        )
    return list(value)


def id_list(ids: Any, field: str = "ids") -> list[str]:
    """Return ``ids`` as a list of non-empty strings.

    Ids are strings everywhere in this package (a write refuses numeric ids too), so a
    number, ``None`` or ``""`` in a list of ids to read or delete is a mistake, not an
    id: ``""`` in particular is the "no source document" value of ``doc_id``.

    Raises:
        InvalidInputError: ``ids`` is not a list (see :func:`as_list`), or an element
            is not a non-empty string (named by its position).
    """
    items = as_list(ids, field, of="string ids")
    for position, item in enumerate(items):
        if not isinstance(item, str):
            raise InvalidInputError(
                f"{field}[{position}]={shown(item)} is not an id: ids are non-empty strings; "
                "convert numeric ids with str() and leave out None."
            )
        if not item:
            raise InvalidInputError(
                f"{field}[{position}] is the empty string, which is not an id; leave it out."
            )
    return items
