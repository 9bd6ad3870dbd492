"""The one check of every name this package passes to Milvus (pure, no I/O).

Milvus names collections, partitions, fields, aliases and databases by one rule: the
first character is an ASCII letter or an underscore, the rest are ASCII letters, digits
or underscores, at most 255 characters in all. Servers enforce it; Milvus Lite 3.2 does
not for partitions, and turns a partition name into a path inside the database
directory, so ``drop_partition("../../x")`` would delete a directory outside it. Every
name therefore goes through :func:`check_name` before the first call that uses it.
"""

from __future__ import annotations

import re

from milvus_plugins.core.errors import ConfigError, shown

__all__ = [
    "EXPRESSION_WORDS",
    "MAX_NAME_LENGTH",
    "NAME_RULE",
    "SYSTEM_FIELDS",
    "check_name",
    "is_expression_word",
]

MAX_NAME_LENGTH = 255
NAME_RULE = (
    "Milvus names start with an ASCII letter or underscore, continue with ASCII letters, "
    f"digits or underscores, and are at most {MAX_NAME_LENGTH} characters long"
)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

#: Words of Milvus' filter expressions, in any case: a column named like one cannot be
#: referenced in a filter. Milvus Lite 3.2.2 reads a column ``true`` in ``true == true``
#: as the literal (a filter that always holds), servers reject the expression, Milvus
#: Lite 2.5.1 stops on ``json_contains == 1``. ``interval`` and ``iso`` are reserved
#: field names on Milvus Lite 3.2.2; the ``st_*`` functions are Milvus 2.6's.
EXPRESSION_WORDS = frozenset(
    {
        "true", "false", "and", "or", "not", "in", "like", "exists", "null", "is",
        "between", "interval", "iso", "timestamptz", "json_contains", "json_contains_all",
        "json_contains_any", "array_contains", "array_contains_all", "array_contains_any",
        "array_length", "text_match", "phrase_match", "random_sample", "st_equals",
        "st_touches", "st_overlaps", "st_crosses", "st_contains", "st_intersects",
        "st_within", "st_dwithin", "st_isvalid",
    }
)  # fmt: skip
#: Field names Milvus servers reserve for their own columns.
SYSTEM_FIELDS = frozenset({"RowID", "Timestamp"})


def is_expression_word(name: str) -> bool:
    """Whether ``name`` is a word of filter expressions (so no column may be named so)."""
    return name.lower() in EXPRESSION_WORDS


def _problem(name: str) -> str | None:
    if not name:
        return "it is empty"
    if len(name) > MAX_NAME_LENGTH:
        return f"it has {len(name)} characters"
    if _NAME.fullmatch(name):
        return None
    if not _NAME.fullmatch(name[0]):
        return f"it starts with {shown(name[0])}"
    bad = next(c for c in name if not re.fullmatch(r"[A-Za-z0-9_]", c))
    return f"it contains {shown(bad)}"


def check_name(field: str, name: object) -> str:
    """Return ``name`` if Milvus accepts it as the name of a collection, field and so on.

    Args:
        field: the argument the name came from, for the message (``"partition name"``).
        name: the candidate name.

    Returns:
        The name, unchanged.

    Raises:
        ConfigError: ``name`` is not a string or breaks the rule; the message names
            ``field``, the problem and the rule.
    """
    if not isinstance(name, str):
        raise ConfigError(
            f"{field}={shown(name)} must be a string ({type(name).__name__} given); {NAME_RULE}."
        )
    problem = _problem(name)
    if problem is not None:
        raise ConfigError(
            f"{field}={shown(name)} is not a valid Milvus name ({problem}); {NAME_RULE}. "
            "Rename it, e.g. with underscores instead of other characters."
        )
    return name
