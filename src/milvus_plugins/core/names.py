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

__all__ = ["MAX_NAME_LENGTH", "NAME_RULE", "check_name"]

MAX_NAME_LENGTH = 255
NAME_RULE = (
    "Milvus names start with an ASCII letter or underscore, continue with ASCII letters, "
    f"digits or underscores, and are at most {MAX_NAME_LENGTH} characters long"
)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


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
