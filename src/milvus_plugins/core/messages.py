"""What error messages show: a caller's value cut to a readable length (:func:`shown`) and
a connection's secrets masked (:func:`redact`).
"""

from __future__ import annotations

import re
import reprlib
from collections.abc import Iterable

__all__ = ["SHOWN_LIMIT", "redact", "shown"]


# A secret this long is masked wherever it appears; a shorter one only as a whole token
# (not glued to letters or digits), so a short password never masks part of a word
# ("collect*** not found"); one shorter than this is not masked on its own at all (it
# reads like an ordinary word, and Milvus never echoes passwords), only as part of a
# longer secret such as the whole "user:password" token.
_SUBSTRING_MIN = 8
_TOKEN_MIN = 4


def _secret_pattern(secret: str) -> re.Pattern[str] | None:
    if len(secret) >= _SUBSTRING_MIN:
        return re.compile(re.escape(secret))
    if len(secret) >= _TOKEN_MIN:
        return re.compile(rf"(?<![A-Za-z0-9]){re.escape(secret)}(?![A-Za-z0-9])")
    return None


SHOWN_LIMIT = 80
"""About how many characters of a value an error message echoes."""

_REPR = reprlib.Repr()  # keyword arguments only from Python 3.12
for _name in ("maxtuple", "maxlist", "maxarray", "maxdict", "maxset", "maxfrozenset", "maxdeque"):
    setattr(_REPR, _name, 6)
_REPR.maxlevel = 3
_REPR.maxstring = _REPR.maxlong = _REPR.maxother = SHOWN_LIMIT


def shown(value: object) -> str:
    """Return ``repr(value)`` cut to about :data:`SHOWN_LIMIT` characters, for a message.

    Every error message of the package that echoes a caller's value goes through this,
    so a 70,000-character id or a million-element list is shown as its start and end
    (with its length), never whole: the message stays readable, and a log line small.
    Short values come back exactly as ``repr`` gives them.
    """
    try:
        text = repr(value) if _short(value) else _REPR.repr(value)
    except Exception:  # a broken __repr__ must not hide the real error
        return f"<{type(value).__name__} object>"
    if len(text) > SHOWN_LIMIT + 20:  # reprlib keeps each part short, not the whole
        text = f"{text[: SHOWN_LIMIT - 12]}...{text[-8:]}"
    if isinstance(value, (str, bytes, bytearray, list, tuple, dict, set, frozenset)) and (
        len(value) > SHOWN_LIMIT
    ):
        unit = "characters" if isinstance(value, str) else "bytes" if _is_bytes(value) else "items"
        text = f"{text} ({len(value):,} {unit})"
    return text


def shown_path(path: str) -> str:
    """Return a file path for a message: whole (``repr``) up to 4,096 characters (a
    path is only useful whole), else cut as :func:`shown` cuts."""
    return repr(path) if len(path) <= 4096 else shown(path)


def _short(value: object) -> bool:
    """Whether a plain ``repr`` is certainly short (and exact) for ``value``."""
    if isinstance(value, (str, bytes, bytearray)):
        return len(value) <= SHOWN_LIMIT // 2
    return value is None or (isinstance(value, (bool, int, float)) and not _huge_int(value))


def _huge_int(value: object) -> bool:
    return isinstance(value, int) and not -(10**40) < value < 10**40


def _is_bytes(value: object) -> bool:
    return isinstance(value, (bytes, bytearray))


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Return ``text`` with each of ``secrets`` replaced by ``***``.

    Nothing is remembered between calls: a store passes its own connection's secrets
    (:attr:`ConnectionConfig.secrets`) at the point where it translates an error.
    Secrets of 8 characters or more are masked wherever they occur; shorter ones only
    as whole tokens, and ones under 4 characters not on their own (see above).
    """
    # Longest first, so a "user:password" token is masked whole before its password.
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        pattern = _secret_pattern(secret)
        if pattern is not None:
            text = pattern.sub("***", text)
    return text
