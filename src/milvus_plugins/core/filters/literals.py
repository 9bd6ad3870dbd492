"""Filter values as Milvus expression text (pure): escaped literals, value kinds, and the
checks that a value fits a typed column.

Escaping of user values and keys lives here and only here (:func:`escape_string`): every
string becomes a double-quoted Milvus literal with ``\\``, ``"`` and control characters
escaped, so no value or key can change an expression's meaning.
"""

from __future__ import annotations

from milvus_plugins.core.errors import FilterError, shown
from milvus_plugins.core.filters.tree import Scalar
from milvus_plugins.core.types import ScalarType

__all__ = [
    "COLUMN_KIND",
    "as_column_literal",
    "check_value_type",
    "column_literals",
    "escape_string",
    "exists_test",
    "fits_column",
    "is_prefix_pattern",
    "literal",
    "value_kind",
]

_TYPE_HINTS = {
    ScalarType.INT64: "an int",
    ScalarType.DOUBLE: "a number",
    ScalarType.BOOL: "True or False",
    ScalarType.VARCHAR: "a string",
}


def exists_test(path: str) -> str:
    """The expression that is true where ``path`` (a JSON key or element) exists."""
    # Always parenthesised: in Milvus 2.3's grammar `exists` takes everything after it,
    # so `not exists k or x` parses as `not exists (k or x)`.
    return f"(exists {path})"


def is_prefix_pattern(pattern: str) -> bool:
    """Whether ``pattern`` is ``<literal>%`` with no other wildcard or backslash."""
    body = pattern[:-1]
    return pattern.endswith("%") and not any(ch in body for ch in "%_\\")


def escape_string(value: str, *, line_escapes: bool = True) -> str:
    """Return ``value`` as a double-quoted Milvus string literal, fully escaped.

    Args:
        value: the string.
        line_escapes: the engine reads ``\\n``, ``\\r`` and ``\\t`` as the control
            characters (see :class:`~milvus_plugins.core.filters.Dialect`). Without it a
            tab is written as it is (every engine reads a raw tab), and a newline or
            carriage return cannot be written at all.

    Raises:
        FilterError: ``value`` holds a lone surrogate; or ``line_escapes`` is false and
            it holds a newline or carriage return.
    """
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise FilterError(
                f"filter string {shown(value)} (a value, or a metadata key) holds a lone "
                "surrogate, which UTF-8 cannot "
                "encode (no stored string holds one); decode such bytes with "
                "errors='replace' first."
            ) from None
    if not line_escapes and ("\n" in value or "\r" in value):
        raise FilterError(
            f"filter value {shown(value)} holds a line break, which this Milvus cannot write "
            "in an expression (Milvus Lite 2.5 reads the escape '\\n' as the letter 'n', "
            "so it would match other strings, and rejects a raw line break); compare with "
            "a value without line breaks, or use Milvus Lite 3 or a Milvus server."
        )
    out = ['"']
    for ch in value:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t" and line_escapes:
            out.append("\\t")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def literal(value: Scalar, *, line_escapes: bool = True) -> str:
    """A scalar as a Milvus literal (strings escaped by :func:`escape_string`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    return escape_string(value, line_escapes=line_escapes)


_EXACT_INT = 2**53
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
COLUMN_KIND = {ScalarType.BOOL: "bool", ScalarType.DOUBLE: "number", ScalarType.VARCHAR: "string"}


def value_kind(value: Scalar) -> str:
    """The reference evaluator's kind of a literal (bools are not numbers)."""
    if isinstance(value, bool):
        return "bool"
    return "string" if isinstance(value, str) else "number"


def fits_column(value: Scalar, kind: ScalarType | None) -> bool:
    """Whether a literal has the kind of the values an accelerator column holds."""
    if kind is None or value_kind(value) != COLUMN_KIND.get(kind):
        return False
    if isinstance(value, int) and not isinstance(value, bool):
        return -_EXACT_INT <= value <= _EXACT_INT  # compared exactly as a double
    return True


def as_column_literal(value: Scalar, kind: ScalarType | None) -> Scalar:
    """A literal as the accelerator column of ``kind`` holds it (a float for DOUBLE)."""
    return float(value) if kind is ScalarType.DOUBLE else value


def check_value_type(key: str, kind: ScalarType | None, *values: Scalar) -> None:
    """Refuse a value that does not fit the declared column type ``kind`` of ``key``.

    Raises:
        FilterError: naming the key, the value, the type and what to compare it with.
    """
    if kind is None:
        return
    if kind is ScalarType.ARRAY:
        raise FilterError(
            f"filter on {shown(key)}: the field is a declared ARRAY, whose values are lists "
            "(Milvus cannot compare a list with a value); test its elements with "
            "contains / contains_any / contains_all (LangChain $contains, LlamaIndex "
            "CONTAINS / ANY / ALL)."
        )
    for value in values:
        ok = {
            ScalarType.INT64: isinstance(value, int) and not isinstance(value, bool),
            ScalarType.DOUBLE: isinstance(value, (int, float)) and not isinstance(value, bool),
            ScalarType.BOOL: isinstance(value, bool),
            ScalarType.VARCHAR: isinstance(value, str),
        }[kind]
        if not ok:
            raise FilterError(
                f"filter on {shown(key)}: {shown(value)} does not fit the declared type "
                f"{kind.value}; "
                f"compare it with {_TYPE_HINTS[kind]}."
            )
        if kind is ScalarType.INT64 and not _INT64_MIN <= value <= _INT64_MAX:  # type: ignore[operator]
            raise FilterError(
                f"filter on {shown(key)}: {shown(value)} is outside the int64 range the "
                f"column holds [-2**63, 2**63 - 1]; compare it with a value in that range."
            )
        if kind is ScalarType.DOUBLE and isinstance(value, int) and abs(value) > _EXACT_INT:
            raise FilterError(
                f"filter on {shown(key)}: the int {shown(value)} has no exact double, and the "
                f"column holds doubles (Milvus would compare another number); compare it "
                f"with a float such as {float(value)!r}."
            )


def column_literals(kind: ScalarType | None, values: tuple[Scalar, ...]) -> tuple[Scalar, ...]:
    """The values of an ``in`` list on a typed column of ``kind`` (checked first by
    :func:`check_value_type`).

    A DOUBLE column gets floats (Milvus Lite 2.5 fails on the int in ``f in [0, 1.5]``)
    and, in a list holding zero, both zeros: ``f in [0.0]`` misses a stored ``-0.0`` on
    Milvus Lite 3 (its hashing tells them apart), where ``==`` and the filter semantics
    do not.
    """
    if kind is not ScalarType.DOUBLE:
        return values
    floats = tuple(float(v) for v in values)
    return (*floats, -0.0, 0.0) if 0.0 in floats else floats
