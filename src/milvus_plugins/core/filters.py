"""A small filter tree, compiled to a Milvus boolean expression.

Build filters with the functions here (``eq("genre", "sci-fi") & gt("year", 2000)``) or
from the adapters' dict / ``MetadataFilters`` syntaxes, then :func:`compile_filter` turns
the tree into an expression string. Escaping of user values **and keys** lives here
and only here: every string becomes a double-quoted Milvus literal with ``\\``, ``"``
and control characters escaped, so no value or key can change the expression's
meaning. (Server-side templating, ``filter_params``, was rejected by every backend we
run, so literals are inlined, escaped.)

Semantics, the same on every backend (:func:`matches` is the executable definition):

* A key missing from a row makes a positive leaf false and its negation true
  (``ne("k", 1)`` matches rows without ``k``, as in MongoDB-style filters). A key whose
  value is ``None`` counts as missing (the records layer keeps such keys out of the
  stored JSON, so ``exists`` agrees on every engine).
* A leaf that compares values of different kinds (a string with a number, a list or an
  object with a scalar) is *unknown*: neither it nor its negation matches (Milvus'
  three-valued logic). ``like`` on a non-string and ``contains*`` on a non-list are
  such comparisons too.
* Do not store bools and numbers under the same key: Milvus Lite compares ``true`` as
  ``1`` (Python semantics) while servers keep them apart, so comparing a bool with a
  number is backend-defined (:func:`matches` treats it as unknown).
* ``not`` is pushed down to the leaves (De Morgan). On engines with ``exists`` a negated
  leaf on a JSON key becomes ``not exists k or <kind-exact complement>`` (``k < v or
  k > v`` for ``not k == v``, ``k >= v`` for ``not k < v``), because some engines
  (Milvus Lite) evaluate ``k != 1`` as true when ``k`` holds a string.
* On engines without ``not`` (Milvus Lite 2.5) a negated leaf on a typed column is
  written as its complement (``year >= 5`` for ``not year < 5``). A negated leaf on a
  JSON key cannot be written there: without ``not`` and ``exists`` nothing tells a
  missing key from a value of another kind (``k != 1`` is true for both).
* A filter the connected engine cannot express with exactly this meaning raises
  :class:`FilterError` naming what is missing (see :class:`Dialect`: Milvus 2.3 has no
  infix ``like``, no empty-list test for ``is_empty``/negated ``contains`` on JSON keys;
  Milvus Lite 2.5 has no ``not`` and no ``exists``); it never runs as a different query.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from milvus_plugins.core.arguments import id_list
from milvus_plugins.core.config import CollectionSpec
from milvus_plugins.core.errors import FilterError, shown
from milvus_plugins.core.records import DATE_HINT, is_date, plain_scalar
from milvus_plugins.core.types import ScalarType

__all__ = [
    "And",
    "Compare",
    "Contains",
    "Dialect",
    "Empty",
    "Exists",
    "Filter",
    "In",
    "Like",
    "Not",
    "Or",
    "Raw",
    "Scalar",
    "and_",
    "as_filter_tree",
    "compile_filter",
    "contains",
    "contains_all",
    "contains_any",
    "doc_id_in",
    "eq",
    "escape_string",
    "exists",
    "gt",
    "gte",
    "id_in",
    "in_",
    "is_empty",
    "is_match_all",
    "is_match_none",
    "like",
    "lt",
    "lte",
    "matches",
    "ne",
    "nin",
    "not_",
    "or_",
    "text_contains",
]

Scalar = str | int | float | bool
Target = Literal["metadata", "id", "doc_id", "text"]
_COLUMN_TARGETS = frozenset({"id", "doc_id", "text"})
_TYPE_HINTS = {
    ScalarType.INT64: "an int",
    ScalarType.DOUBLE: "a number",
    ScalarType.BOOL: "True or False",
    ScalarType.VARCHAR: "a string",
}
CompareOp = Literal["==", "!=", ">", ">=", "<", "<="]


class _Node:
    def __and__(self, other: Filter) -> Filter:
        return And((self, other))  # type: ignore[arg-type]

    def __or__(self, other: Filter) -> Filter:
        return Or((self, other))  # type: ignore[arg-type]

    def __invert__(self) -> Filter:
        return Not(self)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Compare(_Node):
    """``key <op> value`` for ``op`` in ``== != > >= < <=``."""

    key: str
    op: CompareOp
    value: Scalar
    target: Target = "metadata"


@dataclass(frozen=True)
class In(_Node):
    """``key`` equals one of ``values``."""

    key: str
    values: tuple[Scalar, ...]
    target: Target = "metadata"


@dataclass(frozen=True)
class Like(_Node):
    """``key like pattern`` (``%`` any run of characters, ``_`` any one character)."""

    key: str
    pattern: str
    target: Target = "metadata"


@dataclass(frozen=True)
class Contains(_Node):
    """A list-valued key contains a value (``one``), any of ``values`` or all of them."""

    key: str
    values: tuple[Scalar, ...]
    mode: Literal["one", "any", "all"] = "one"


@dataclass(frozen=True)
class Exists(_Node):
    """The metadata key is present (and not null)."""

    key: str


@dataclass(frozen=True)
class Empty(_Node):
    """The metadata key is missing, null, an empty string or an empty list."""

    key: str


@dataclass(frozen=True)
class And(_Node):
    """Every child matches (an empty ``And`` matches everything)."""

    children: tuple[Filter, ...]


@dataclass(frozen=True)
class Or(_Node):
    """At least one child matches (an empty ``Or`` matches nothing)."""

    children: tuple[Filter, ...]


@dataclass(frozen=True)
class Not(_Node):
    """The child does not match."""

    child: Filter


@dataclass(frozen=True)
class Raw(_Node):
    """A raw Milvus expression: the explicit escape hatch, never built from user values.

    It is always compiled in parentheses, so ``and_(id_in(ids), Raw("a or b"))`` means
    ``ids and (a or b)``. A blank expression has no condition and matches every row.
    """

    expression: str


Filter = Compare | In | Like | Contains | Exists | Empty | And | Or | Not | Raw


# -- builders ---------------------------------------------------------------------------


def _scalar(value: Any, where: str) -> Scalar:
    value = plain_scalar(value)  # np.int64(3) -> 3: numpy's repr is no Milvus literal
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)  # an int subclass (IntEnum) prints as its name, not its value
    if isinstance(value, str):
        return value
    if is_date(value):
        raise FilterError(
            f"{where}: {shown(value)} is a {type(value).__name__}; {DATE_HINT}. Compare "
            "with the same form: gte('published', start.isoformat())."
        )
    if isinstance(value, float):
        if not math.isfinite(value):
            raise FilterError(f"{where}: {shown(value)} cannot be compared; use a finite number.")
        return float(value)
    raise FilterError(
        f"{where}: value {shown(value)} of type {type(value).__name__} is not filterable; "
        "use a string, number or bool (use exists() to test for presence)."
    )


def _key(key: Any) -> str:
    if not isinstance(key, str) or not key:
        raise FilterError(f"filter key {shown(key)} must be a non-empty string.")
    if key.startswith("$"):
        raise FilterError(
            f"filter key {shown(key)} starts with '$': that is an operator, not a metadata key "
            "(metadata keys cannot start with '$'); write {'key': {'$op': value}}."
        )
    return key


def eq(key: str, value: Scalar) -> Filter:
    """Match rows whose metadata ``key`` equals ``value``."""
    return Compare(_key(key), "==", _scalar(value, f"eq({shown(key)})"))


def ne(key: str, value: Scalar) -> Filter:
    """Match rows whose ``key`` differs from ``value`` or is missing."""
    return Not(eq(key, value))


def gt(key: str, value: Scalar) -> Filter:
    """Match rows whose ``key`` is greater than ``value``."""
    return Compare(_key(key), ">", _scalar(value, f"gt({shown(key)})"))


def gte(key: str, value: Scalar) -> Filter:
    """Match rows whose ``key`` is greater than or equal to ``value``."""
    return Compare(_key(key), ">=", _scalar(value, f"gte({shown(key)})"))


def lt(key: str, value: Scalar) -> Filter:
    """Match rows whose ``key`` is less than ``value``."""
    return Compare(_key(key), "<", _scalar(value, f"lt({shown(key)})"))


def lte(key: str, value: Scalar) -> Filter:
    """Match rows whose ``key`` is less than or equal to ``value``."""
    return Compare(_key(key), "<=", _scalar(value, f"lte({shown(key)})"))


def _values(values: Iterable[Any], where: str) -> tuple[Scalar, ...]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise FilterError(f"{where}: expected a list of values, got {shown(values)}.")
    return tuple(_scalar(v, where) for v in values)


def in_(key: str, values: Iterable[Scalar]) -> Filter:
    """Match rows whose ``key`` equals one of ``values`` (none, for an empty list)."""
    return In(_key(key), _values(values, f"in_({shown(key)})"))


def nin(key: str, values: Iterable[Scalar]) -> Filter:
    """Match rows whose ``key`` equals none of ``values`` (or is missing)."""
    return Not(in_(key, values))


def like(key: str, pattern: str) -> Filter:
    """Match rows whose string ``key`` matches the SQL-like ``pattern``."""
    if not isinstance(pattern, str):
        raise FilterError(f"like({shown(key)}): pattern must be a string, got {shown(pattern)}.")
    return Like(_key(key), pattern)


def text_contains(key: str, substring: str) -> Filter:
    """Match rows whose string ``key`` contains ``substring`` literally.

    Raises:
        FilterError: the substring contains ``%`` or ``_``, which Milvus ``like`` cannot
            escape on every backend (a silently wider match would be wrong).
    """
    if not isinstance(substring, str):
        raise FilterError(f"text_contains({shown(key)}): value must be a string.")
    if "%" in substring or "_" in substring:
        raise FilterError(
            f"text_contains({shown(key)}, {shown(substring)}): '%' and '_' cannot be "
            f"matched literally "
            "by Milvus 'like'; use eq() or remove them from the substring."
        )
    return Like(_key(key), f"%{substring}%")


def contains(key: str, value: Scalar) -> Filter:
    """Match rows whose list-valued ``key`` contains ``value``."""
    return Contains(_key(key), (_scalar(value, f"contains({shown(key)})"),), "one")


def contains_any(key: str, values: Iterable[Scalar]) -> Filter:
    """Match rows whose list-valued ``key`` contains at least one of ``values``."""
    return Contains(_key(key), _values(values, f"contains_any({shown(key)})"), "any")


def contains_all(key: str, values: Iterable[Scalar]) -> Filter:
    """Match rows whose list-valued ``key`` contains every one of ``values``."""
    return Contains(_key(key), _values(values, f"contains_all({shown(key)})"), "all")


def exists(key: str) -> Filter:
    """Match rows that have metadata ``key`` (with a non-null value)."""
    return Exists(_key(key))


def is_empty(key: str) -> Filter:
    """Match rows whose ``key`` is missing, null, ``""`` or ``[]`` (LlamaIndex's IS_EMPTY)."""
    return Empty(_key(key))


def and_(*filters: Filter) -> Filter:
    """Match rows that every filter matches."""
    return And(tuple(filters))


def or_(*filters: Filter) -> Filter:
    """Match rows that at least one filter matches."""
    return Or(tuple(filters))


def not_(f: Filter) -> Filter:
    """Match rows that ``f`` does not match."""
    return Not(f)


def id_in(ids: Iterable[str]) -> Filter:
    """Match rows whose primary key is one of ``ids``.

    Raises:
        InvalidInputError: ``ids`` is a single string, or holds a non-string or ``""``.
    """
    return In("id", tuple(id_list(ids, "ids")), target="id")


def doc_id_in(doc_ids: Iterable[str]) -> Filter:
    """Match rows whose source document id is one of ``doc_ids``.

    Raises:
        InvalidInputError: ``doc_ids`` is a single string, or holds a non-string or
            ``""`` (the value of rows *without* a source document).
    """
    return In("doc_id", tuple(id_list(doc_ids, "doc_ids")), target="doc_id")


# -- compiler ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Dialect:
    """What the connected engine's expression language can do.

    Attributes:
        json_in: ``metadata["k"] in [...]`` parses (Milvus Lite 3.2 rejects it).
        json_exists: ``exists metadata["k"]`` is supported.
        nullable: typed columns may be NULL (Milvus >= 2.5).
        missing_is_null: comparisons on a missing JSON key are NULL, so ``not (...)``
            drops those rows unless the compiler adds an explicit ``not exists``.
        like_infix: ``like`` takes any pattern. Without it (Milvus 2.3) only prefix
            patterns (``"abc%"``) work, and ``_`` and ``\\`` are not wildcards there, so
            other patterns raise :class:`FilterError`.
        bool_literals: a bare ``true`` / ``false`` is a predicate (Milvus 2.3 rejects it;
            the compiler then compares the primary key with ``""`` instead).
        empty_lists: an empty list literal parses (``json_contains_all(k, [])``, which
            tells lists from other JSON values); Milvus 2.3 rejects ``[]``, so filters
            that need that test raise :class:`FilterError` there.
        json_escaped_keys: a key in ``metadata["k"]`` is matched against the key as the
            JSON encoder wrote it, so control characters are spelled as JSON escapes
            (``\\b``, ``\\u001f``). Servers do this; Milvus Lite rejects those escapes and
            takes the characters as they are.
        json_key_brackets: a key may contain ``][``. Servers split a JSON path at
            ``][`` (Milvus 2.3.5 then rejects the expression, or its proxy crashes on
            ``metadata["]["]``), so such keys raise :class:`FilterError` there.
        not_expr: ``not (...)`` is evaluated. Milvus Lite 2.5 parses it but cannot run
            it; the compiler then writes negations on typed columns as complements
            and raises :class:`FilterError` for negations it cannot rewrite.
        like_match_all: ``like "%"`` matches every string. Milvus Lite 2.5 matches
            nothing with it, so the compiler writes ``k >= ""`` (true exactly for
            strings) instead.
    """

    json_in: bool = False
    json_exists: bool = True
    nullable: bool = True
    missing_is_null: bool = True
    like_infix: bool = True
    bool_literals: bool = True
    empty_lists: bool = True
    json_escaped_keys: bool = False
    json_key_brackets: bool = True
    not_expr: bool = True
    like_match_all: bool = True


def _exists(path: str) -> str:
    # Always parenthesised: in Milvus 2.3's grammar `exists` takes everything after it,
    # so `not exists k or x` parses as `not exists (k or x)`.
    return f"(exists {path})"


def _is_prefix_pattern(pattern: str) -> bool:
    """Whether ``pattern`` is ``<literal>%`` with no other wildcard or backslash."""
    body = pattern[:-1]
    return pattern.endswith("%") and not any(ch in body for ch in "%_\\")


def escape_string(value: str) -> str:
    """Return ``value`` as a double-quoted Milvus string literal, fully escaped."""
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
        elif ch == "\t":
            out.append("\\t")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _literal(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    return escape_string(value)


@dataclass(frozen=True)
class _Ref:
    expr: str
    column: bool
    declared_type: ScalarType | None


class _Compiler:
    def __init__(self, spec: CollectionSpec, dialect: Dialect) -> None:
        self.spec = spec
        self.dialect = dialect

    def ref(self, key: str, target: Target = "metadata") -> _Ref:
        names = self.spec.fields
        if target != "metadata":
            if target not in _COLUMN_TARGETS:
                # Only the string columns are filterable; anything else (the vector, a
                # typo) would be an unknown column on the server or a wrong expression.
                raise FilterError(
                    f"filter on {shown(key)}: target={shown(target)} is not a filterable "
                    f"column; use "
                    "'metadata' (the default, for metadata keys), 'id', 'doc_id' or 'text'."
                )
            return _Ref(getattr(names, target), True, ScalarType.VARCHAR)
        _key(key)  # leaves built directly (Compare(...)) skip the builders' key check
        declared = self.spec.declared(key)
        if declared is not None:
            return _Ref(declared.name, True, declared.scalar_type)
        return _Ref(f"{names.metadata}[{self._key_literal(key)}]", False, None)

    def _key_literal(self, key: str) -> str:
        if not self.dialect.json_key_brackets and "][" in key:
            raise FilterError(
                f"filter key {shown(key)} contains '][', where this Milvus splits JSON paths "
                "(it cannot address such a key); rename the metadata key."
            )
        if self.dialect.json_escaped_keys:
            # The server compares path keys with the stored JSON text, which pymilvus
            # writes with orjson: the same escapes as json.dumps(..., ensure_ascii=False).
            return json.dumps(key, ensure_ascii=False)
        return escape_string(key)

    def compile(self, node: Filter, negate: bool = False) -> str:
        if isinstance(node, Not):
            return self.compile(node.child, not negate)
        if isinstance(node, (And, Or)):
            return self._bool(node, negate)
        if isinstance(node, Raw):
            if not node.expression.strip():
                return self._const(not negate)
            if negate and not self.dialect.not_expr:
                raise self._needs_not(f"not_(Raw({shown(node.expression)}))")
            return f"not ({node.expression})" if negate else f"({node.expression})"
        if isinstance(node, Exists):
            return self._exists(node, negate)
        if isinstance(node, Empty):
            return self._empty(node, negate)
        if isinstance(node, Like) and not any(ch in node.pattern for ch in "%_"):
            # A pattern without wildcards is an equality (Milvus Lite's `like` also matches
            # the pattern plus a trailing newline: its regex ends with `$`).
            node = Compare(node.key, "==", node.pattern, node.target)
        key = node.key
        ref = self.ref(key, getattr(node, "target", "metadata"))
        if isinstance(node, Compare) and node.op == "!=" and not negate:
            if self._kind_exact(ref):
                self._check_type(key, ref, node.value)
                return self._complement(Compare(node.key, "==", node.value, node.target), ref)
            if not ref.column and not self.dialect.not_expr:
                # `k != v` is also true for a missing key and for values of other kinds.
                raise self._needs_not(f"ne({shown(key)}, ...) on a JSON key")
        leaf = self._leaf(node, ref)
        if not negate:
            return leaf
        if self._kind_exact(ref):
            return f"(not {_exists(ref.expr)} or {self._complement(node, ref)})"
        return self._negated(node, leaf, ref)

    def _kind_exact(self, ref: _Ref) -> bool:
        # JSON keys on engines with `exists`: negations are emitted as kind-exact
        # complements, so a row whose value has another kind matches neither a leaf nor
        # its negation. (Milvus Lite evaluates `metadata["k"] != 1` as true for "a".)
        return (
            not ref.column
            and self.dialect.missing_is_null
            and self.dialect.json_exists
            and self.dialect.not_expr
        )

    def _needs_not(self, what: str) -> FilterError:
        return FilterError(
            f"{what} needs 'not' (and 'exists' for JSON keys) in filter expressions, which "
            "this Milvus lacks (Milvus Lite 2.5); declare the key as a typed metadata "
            "field (negations of comparisons on typed fields are rewritten), or filter "
            "without the negation."
        )

    def _column_complement(self, node: Compare | In | Like | Contains, ref: _Ref) -> str:
        """The negation of a leaf on a typed column, written without ``not``."""
        if isinstance(node, Compare):
            self._check_type(node.key, ref, node.value)
            flipped = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}
            return f"({ref.expr} {flipped[node.op]} {_literal(node.value)})"
        if isinstance(node, In):
            for v in node.values:
                self._check_type(node.key, ref, v)
            if not node.values:
                return self._const(True)
            return "(" + " and ".join(f"{ref.expr} != {_literal(v)}" for v in node.values) + ")"
        raise self._needs_not(f"not_({type(node).__name__.lower()}({shown(node.key)}, ...))")

    def _differs(self, ref: _Ref, value: Scalar) -> str:
        if isinstance(value, bool):
            return f"({ref.expr} == {_literal(not value)})"
        literal = _literal(value)
        return f"({ref.expr} < {literal} or {ref.expr} > {literal})"

    def _complement(self, node: Compare | In | Like | Contains, ref: _Ref) -> str:
        """The negation of a leaf on a JSON key, true only for values of the leaf's kind."""
        if isinstance(node, Compare):
            self._check_type(node.key, ref, node.value)
            if node.op == "==":
                return self._differs(ref, node.value)
            flipped = {"!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}[node.op]
            return f"({ref.expr} {flipped} {_literal(node.value)})"
        if isinstance(node, In):
            if not node.values:
                return self._const(True)
            return "(" + " and ".join(self._differs(ref, v) for v in node.values) + ")"
        if isinstance(node, Like):
            # `like "%"` is true exactly for strings: non-strings match neither side.
            return f'({ref.expr} like "%" and not {self._leaf(node, ref)})'
        if not self.dialect.empty_lists:
            if node.mode == "all" and not node.values:
                return self._const(False)  # "k is a list" and not "k is a list"
            raise self._needs_list_test(node, negated=True)
        # `json_contains_all(k, [])` is true exactly for lists: non-lists match neither side.
        return f"(json_contains_all({ref.expr}, []) and not {self._leaf(node, ref)})"

    def _const(self, value: bool) -> str:
        if self.dialect.bool_literals:
            return "true" if value else "false"
        # Milvus 2.3 rejects a bare `true`/`false` (even inside `and`/`or`). Ids are
        # strings, so `id >= ""` holds for every row and `id < ""` for none.
        pk = self.spec.fields.id
        return f'({pk} >= "")' if value else f'({pk} < "")'

    def _needs_list_test(self, node: Contains, *, negated: bool) -> FilterError:
        form = {"one": "contains", "any": "contains_any", "all": "contains_all"}[node.mode]
        what = f"not {form}" if negated else f"{form} with an empty list"
        return FilterError(
            f"{what} on {shown(node.key)} needs to tell lists from other JSON values, which this "
            "Milvus cannot (it rejects the empty list literal '[]'; Milvus Lite accepts it). "
            f"Declare {shown(node.key)} as an ARRAY metadata field, or avoid the negation."
        )

    def _bool(self, node: And | Or, negate: bool) -> str:
        is_and = isinstance(node, And) != negate
        if not node.children:
            # An empty And is true, an empty Or is false; negation flips them.
            return self._const(is_and)
        parts = [self.compile(child, negate) for child in node.children]
        joiner = " and " if is_and else " or "
        return "(" + joiner.join(parts) + ")"

    def _exists(self, node: Exists, negate: bool) -> str:
        ref = self.ref(node.key)
        if ref.column:
            if not self.dialect.nullable:
                return self._const(not negate)
            return f"({ref.expr} is null)" if negate else f"({ref.expr} is not null)"
        if not self.dialect.json_exists:
            raise FilterError(
                f"exists({shown(node.key)}) needs 'exists' on JSON keys, which this Milvus lacks."
            )
        if negate and not self.dialect.not_expr:
            raise self._needs_not(f"not_(exists({shown(node.key)}))")
        return f"(not {_exists(ref.expr)})" if negate else _exists(ref.expr)

    def _empty(self, node: Empty, negate: bool) -> str:
        ref = self.ref(node.key)
        if ref.column:
            # (emptiness test, its complement written without `not`)
            tests: list[tuple[str, str]] = []
            if self.dialect.nullable:
                tests.append((f"{ref.expr} is null", f"{ref.expr} is not null"))
            if ref.declared_type is ScalarType.VARCHAR:
                tests.append((f'{ref.expr} == ""', f'{ref.expr} != ""'))
            elif ref.declared_type is ScalarType.ARRAY:
                tests.append((f"array_length({ref.expr}) == 0", f"array_length({ref.expr}) != 0"))
            if not tests:
                return self._const(negate)
            either = "(" + " or ".join(t for t, _ in tests) + ")"
            if negate and not self.dialect.not_expr:
                return "(" + " and ".join(c for _, c in tests) + ")"
            return f"(not {either})" if negate else either
        if (
            not self.dialect.json_exists
            or not self.dialect.empty_lists
            or not self.dialect.not_expr
        ):
            raise FilterError(
                f"is_empty({shown(node.key)}) on a JSON key needs 'exists' and the empty-list test "
                "(json_contains_all(k, [])), which this Milvus lacks (Milvus Lite has both); "
                f"declare {shown(node.key)} as a VARCHAR or ARRAY metadata field, or use "
                f"not_(exists({shown(node.key)}))."
            )
        # `json_contains_all(k, [])` is true exactly for lists, and `exists k[0]` for
        # non-empty ones: together they say "k is an empty list".
        k = ref.expr
        is_list = f"json_contains_all({k}, [])"
        if negate:
            return f'({_exists(k)} and not ({k} == "") and (not {is_list} or {_exists(k + "[0]")}))'
        return f'(not {_exists(k)} or {k} == "" or ({is_list} and not {_exists(k + "[0]")}))'

    def _negated(self, node: Compare | In | Like | Contains, leaf: str, ref: _Ref) -> str:
        if not self.dialect.not_expr:
            if not ref.column:
                raise self._needs_not(
                    f"not_({type(node).__name__.lower()}({shown(node.key)}, ...))"
                )
            complement = self._column_complement(node, ref)
            if self.dialect.nullable and ref.expr not in self.spec.fields.all():
                return f"({ref.expr} is null or {complement})"
            return complement
        if ref.column:
            if self.dialect.nullable and ref.expr not in self.spec.fields.all():
                return f"({ref.expr} is null or not {leaf})"
            return f"(not {leaf})"
        if self.dialect.missing_is_null and self.dialect.json_exists:
            return f"(not {_exists(ref.expr)} or not {leaf})"
        return f"(not {leaf})"

    def _leaf(self, node: Compare | In | Like | Contains, ref: _Ref) -> str:
        if isinstance(node, Compare):
            self._check_type(node.key, ref, node.value)
            return f"({ref.expr} {node.op} {_literal(node.value)})"
        if isinstance(node, In):
            for v in node.values:
                self._check_type(node.key, ref, v)
            if not node.values:
                return self._const(False)
            if ref.column or self.dialect.json_in:
                return f"({ref.expr} in [{', '.join(_literal(v) for v in node.values)}])"
            return "(" + " or ".join(f"{ref.expr} == {_literal(v)}" for v in node.values) + ")"
        if isinstance(node, Like):
            if ref.declared_type not in (None, ScalarType.VARCHAR):
                raise FilterError(f"like({shown(node.key)}) needs a string field.")
            if not self.dialect.like_infix and not _is_prefix_pattern(node.pattern):
                raise FilterError(
                    f"like({shown(node.key)}, {shown(node.pattern)}): this Milvus matches prefix "
                    "patterns only ('abc%', where '_' and '\\' are not wildcards); other "
                    "patterns need Milvus >= 2.4 or Milvus Lite."
                )
            if node.pattern == "%" and not self.dialect.like_match_all:
                return f'({ref.expr} >= "")'
            return f"({ref.expr} like {escape_string(node.pattern)})"
        return self._contains(node, ref)

    def _contains(self, node: Contains, ref: _Ref) -> str:
        if ref.column and ref.declared_type is not ScalarType.ARRAY:
            raise FilterError(
                f"contains on {shown(node.key)}: the declared field is "
                f"{ref.declared_type}, not ARRAY."
            )
        if not node.values and not self.dialect.empty_lists:
            # `[]` does not parse here: a declared ARRAY column always holds a list, and
            # "contains any of nothing" is false for every JSON value.
            if ref.column or node.mode == "any":
                return self._const(node.mode == "all")
            raise self._needs_list_test(node, negated=False)
        prefix = "array" if ref.column else "json"
        if node.mode == "one":
            value = _literal(node.values[0])
            # Milvus Lite parses a bare `-1` only in expressions, not as a call argument.
            value = f"({value})" if value.startswith("-") else value
            return f"{prefix}_contains({ref.expr}, {value})"
        values = "[" + ", ".join(_literal(v) for v in node.values) + "]"
        return f"{prefix}_contains_{node.mode}({ref.expr}, {values})"

    def _check_type(self, key: str, ref: _Ref, value: Scalar) -> None:
        kind = ref.declared_type
        if kind is None or kind is ScalarType.ARRAY:
            return
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


def compile_filter(
    node: Filter | str | None, spec: CollectionSpec, dialect: Dialect | None = None
) -> str:
    """Compile a filter tree into a Milvus expression for ``spec``'s collection.

    Declared typed fields compile to column references, other keys to
    ``metadata["key"]``. A plain string is taken as a raw expression (escape hatch),
    parenthesised like :class:`Raw`; a blank string, like ``None``, compiles to ``""``
    (no filter).

    Raises:
        FilterError: a value or key cannot be expressed with the same meaning.
    """
    if node is None or (isinstance(node, str) and not node.strip()):
        return ""
    if isinstance(node, str):
        node = Raw(node)
    if not isinstance(node, (Compare, In, Like, Contains, Exists, Empty, And, Or, Not, Raw)):
        raise FilterError(f"filter {shown(node)} is not a filter tree, a string or None.")
    return _Compiler(spec, dialect or Dialect()).compile(node)


# -- reference evaluator ----------------------------------------------------------------

_UNKNOWN = None  # three-valued logic: True, False, or None (unknown)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "other"


def _compare(actual: Any, op: CompareOp, expected: Scalar) -> bool | None:
    if _kind(actual) != _kind(expected):
        return _UNKNOWN
    result: bool
    if op == "==":
        result = actual == expected
    elif op == "!=":
        result = actual != expected
    elif op == ">":
        result = actual > expected
    elif op == ">=":
        result = actual >= expected
    elif op == "<":
        result = actual < expected
    else:
        result = actual <= expected
    return result


def _like(value: str, pattern: str) -> bool:
    regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


def _leaf_value(node: Filter, row: Mapping[str, Any]) -> bool | None:
    if isinstance(node, Exists):
        return row.get(node.key) is not None
    if isinstance(node, Empty):
        value = row.get(node.key)
        return value is None or (isinstance(value, (str, list)) and len(value) == 0)
    assert isinstance(node, (Compare, In, Like, Contains))  # callers pass leaves only
    if node.key not in row or row[node.key] is None:
        return False
    actual = row[node.key]
    if isinstance(node, Compare):
        return _compare(actual, node.op, node.value)
    if isinstance(node, In):
        results = [_compare(actual, "==", v) for v in node.values]
        if any(r is True for r in results):
            return True
        return _UNKNOWN if any(r is None for r in results) else False
    if isinstance(node, Like):
        return _like(actual, node.pattern) if isinstance(actual, str) else _UNKNOWN
    if not isinstance(actual, list):
        return _UNKNOWN
    hits = [any(_compare(a, "==", v) is True for a in actual) for v in node.values]
    return all(hits) if node.mode == "all" else any(hits)


def _evaluate(node: Filter, row: Mapping[str, Any]) -> bool | None:
    if isinstance(node, Not):
        inner = _evaluate(node.child, row)
        return None if inner is None else not inner
    if isinstance(node, And):
        values = [_evaluate(c, row) for c in node.children]
        if any(v is False for v in values):
            return False
        return None if any(v is None for v in values) else True
    if isinstance(node, Or):
        values = [_evaluate(c, row) for c in node.children]
        if any(v is True for v in values):
            return True
        return None if any(v is None for v in values) else False
    if isinstance(node, Raw):
        raise FilterError("a Raw expression cannot be evaluated in Python.")
    return _leaf_value(node, row)


def matches(node: Filter | None, metadata: Mapping[str, Any]) -> bool:
    """Evaluate ``node`` against one metadata dict in pure Python.

    This is the executable definition of the filter semantics (see the module
    docstring); the compiled Milvus expression must select exactly these rows.
    """
    if node is None:
        return True
    return _evaluate(node, metadata) is True


def is_match_all(node: Filter) -> bool:
    """Whether ``node`` matches every row by its structure alone (no row is looked at).

    True for an empty ``and_()``, an ``and_`` of such filters, an ``or_`` with one such
    child, ``not_`` of a filter that matches nothing (:func:`is_match_none`), and a
    blank :class:`Raw` expression. A non-blank raw expression is never recognised,
    even when it always holds (``"1 == 1"``): raw strings are the caller's
    responsibility.
    """
    if isinstance(node, And):
        return all(is_match_all(c) for c in node.children)
    if isinstance(node, Or):
        return any(is_match_all(c) for c in node.children)
    if isinstance(node, Not):
        return is_match_none(node.child)
    if isinstance(node, Raw):
        return not node.expression.strip()
    return False


def is_match_none(node: Filter) -> bool:
    """Whether ``node`` matches no row by its structure alone (the dual of :func:`is_match_all`).

    True for an empty ``or_()``, an ``in_`` / ``contains_any`` of no values, and the
    boolean combinations and negations of such filters and of match-all filters.
    """
    if isinstance(node, Or):
        return all(is_match_none(c) for c in node.children)
    if isinstance(node, And):
        return any(is_match_none(c) for c in node.children)
    if isinstance(node, Not):
        return is_match_all(node.child)
    if isinstance(node, In):
        return not node.values
    if isinstance(node, Contains):
        return node.mode == "any" and not node.values
    return False


def as_filter_tree(value: Filter | str | None) -> Filter | None:
    """Return a filter argument as a tree: a string becomes a :class:`Raw` node.

    Combine filters as trees (``and_(id_in(ids), as_filter_tree(f))``), never as text:
    a raw string is then always parenthesised when compiled.

    Raises:
        FilterError: ``value`` is not a filter tree, a string or ``None``.
    """
    checked = ensure_filter(value)
    return Raw(checked) if isinstance(checked, str) else checked


def ensure_filter(value: Filter | str | None) -> Filter | str | None:
    """Accept a filter tree, a raw expression string or ``None``; reject anything else."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (Compare, In, Like, Contains, Exists, Empty, And, Or, Not, Raw)):
        return value
    raise FilterError(
        f"filter must be a core filter, an expression string or None; got {shown(value)}."
    )
