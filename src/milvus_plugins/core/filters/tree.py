"""The filter tree (a closed union of frozen nodes) and the functions that build it.

Pure: no I/O, no knowledge of the engine. :mod:`.compiler` turns a tree into an
expression, :mod:`.evaluator` is its executable meaning.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from milvus_plugins.core.arguments import id_list
from milvus_plugins.core.errors import FilterError, RawFilterRefusedError, shown
from milvus_plugins.core.values import DATE_HINT, is_date, plain_scalar

__all__ = [
    "FILTER_TYPES",
    "MAX_FILTER_DEPTH",
    "And",
    "Compare",
    "CompareOp",
    "Contains",
    "Empty",
    "Exists",
    "Filter",
    "In",
    "Like",
    "Not",
    "Or",
    "Raw",
    "Scalar",
    "Target",
    "TextMatch",
    "and_",
    "as_filter_tree",
    "check_key",
    "contains",
    "contains_all",
    "contains_any",
    "doc_id_in",
    "ensure_filter",
    "eq",
    "exists",
    "filter_arg",
    "gt",
    "gte",
    "id_in",
    "in_",
    "is_empty",
    "is_match_all",
    "is_match_none",
    "leaves",
    "like",
    "lt",
    "lte",
    "ne",
    "nin",
    "not_",
    "or_",
    "phrase_match",
    "raw_is_confined",
    "text_contains",
    "text_match",
]

Scalar = str | int | float | bool
Target = Literal["metadata", "id", "doc_id", "text"]
CompareOp = Literal["==", "!=", ">", ">=", "<", "<="]


MAX_FILTER_DEPTH = 64
"""How many levels a filter may nest (a leaf is one; each ``and``/``or``/``not`` around it
one more). Deeper filters are refused with :class:`FilterError` when built: nothing real
nests that deep, Python's recursion would fail on them, and so does Milvus' parser."""


def _too_deep(depth: int) -> FilterError:
    return FilterError(
        f"the filter nests {depth} levels deep (and / or / not around each other); at most "
        f"{MAX_FILTER_DEPTH} are allowed: flatten it, e.g. and_(a, b, c) rather than "
        "and_(a, and_(b, c)), and not_(not_(f)) is f."
    )


class _Node:
    _depth = 1  # how deep the filter rooted here nests (set by and / or / not)

    def __and__(self, other: Filter) -> Filter:
        # Flattened (``a & b & c`` is one and of three): a chain built with & or |, say by
        # functools.reduce, stays shallow, with the same meaning.
        return And((*_parts(self, And), *_parts(other, And)))

    def __or__(self, other: Filter) -> Filter:
        return Or((*_parts(self, Or), *_parts(other, Or)))

    def __rand__(self, other: Any) -> Filter:
        return And((other, self))  # type: ignore[arg-type]  # refused there: not a filter

    def __ror__(self, other: Any) -> Filter:
        return Or((other, self))  # type: ignore[arg-type]

    def __invert__(self) -> Filter:
        return Not(self)  # type: ignore[arg-type]


def _parts(node: Any, kind: type[And] | type[Or]) -> tuple[Any, ...]:
    """``node``'s children if it is a ``kind`` node, else ``node`` alone."""
    return node.children if type(node) is kind else (node,)


def _checked_children(kind: str, children: Any) -> None:
    """Refuse a combination holding something other than a filter (a raw string, ``None``,
    a dict), before it can be compiled or run."""
    if isinstance(children, (str, bytes)) or not isinstance(children, (tuple, list)):
        raise FilterError(
            f"{kind} takes a tuple of filters, got {type(children).__name__}; use "
            f"and_(...) / or_(...) or the & and | operators."
        )
    for child in children:
        if not isinstance(child, _Node):
            raise FilterError(
                f"{kind} can only combine filters (eq(...), and_(...) ...), got "
                f"{shown(child)} ({type(child).__name__}); write a raw Milvus expression "
                'as Raw("...") and a metadata dict through filter_from_dict(...).'
            )


def _nest(node: _Node, children: Iterable[_Node]) -> None:
    """Record how deep ``node`` nests; refuse it beyond :data:`MAX_FILTER_DEPTH`."""
    depth = 1 + max((child._depth for child in children), default=0)
    if depth > MAX_FILTER_DEPTH:
        raise _too_deep(depth)
    object.__setattr__(node, "_depth", depth)


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

    def __post_init__(self) -> None:
        _checked_children("and", self.children)
        _nest(self, self.children)


@dataclass(frozen=True)
class Or(_Node):
    """At least one child matches (an empty ``Or`` matches nothing)."""

    children: tuple[Filter, ...]

    def __post_init__(self) -> None:
        _checked_children("or", self.children)
        _nest(self, self.children)


@dataclass(frozen=True)
class Not(_Node):
    """The child does not match."""

    child: Filter

    def __post_init__(self) -> None:
        _checked_children("not", (self.child,))
        _nest(self, (self.child,))


@dataclass(frozen=True)
class Raw(_Node):
    """A raw Milvus expression: the explicit escape hatch, never built from user values.

    It is always compiled in parentheses, so ``and_(id_in(ids), Raw("a or b"))`` means
    ``ids and (a or b)``. A blank expression has no condition and matches every row.

    Raises:
        FilterError: ``expression`` is not a string.
        RawFilterRefusedError: its parentheses or quotes do not balance outside its
            string literals (``x > 1) or (true`` would close the parentheses it is
            compiled in and escape whatever it is joined to).
    """

    expression: str

    def __post_init__(self) -> None:
        if not isinstance(self.expression, str):
            raise FilterError(f"Raw({shown(self.expression)}): the expression must be a string.")
        if not raw_is_confined(self.expression):
            raise RawFilterRefusedError(
                f"raw filter expression {shown(self.expression)} has unbalanced parentheses "
                "or quotes outside its string literals: it would not stay inside the "
                "parentheses it is compiled in (joined to ids, another condition or a tenant, "
                "it could reach other rows). Fix the expression, or use a filter dict or a "
                "core filter tree (eq(), and_() ...)."
            )


def raw_is_confined(expression: str) -> bool:
    """Whether ``expression``'s parentheses balance outside string literals.

    A raw expression is compiled inside ``( ... )``; one that closes that parenthesis
    early (``x == 1) or (true``) would escape the ``and`` that joins it to ids, another
    condition or a tenant's scope (a delete would then reach rows outside them).
    """
    depth = 0
    quote: str | None = None
    escaped = False
    for ch in expression:
        if quote is not None:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = None
            continue
        if ch in "\"'":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0 and quote is None


@dataclass(frozen=True)
class TextMatch(_Node):
    """The document text matches ``query`` after Milvus' analyzer has split both into terms.

    ``phrase=False`` (Milvus ``TEXT_MATCH``): at least one term of ``query`` occurs in
    the text. ``phrase=True`` (Milvus ``PHRASE_MATCH``): the terms occur in the text in
    this order, with at most ``slop`` positional moves between them. Both need a
    collection created with ``text_match=True`` (its text field analysed and indexed
    for matching) on an engine that has the function.
    """

    query: str
    phrase: bool = False
    slop: int = 0
    key: str = "text"
    target: Target = "text"


Filter = Compare | In | Like | Contains | Exists | Empty | And | Or | Not | Raw | TextMatch


FILTER_TYPES = (Compare, In, Like, Contains, Exists, Empty, And, Or, Not, Raw, TextMatch)
"""Every node type of the tree (for ``isinstance`` checks)."""


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


def check_key(key: Any) -> str:
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
    return Compare(check_key(key), "==", _scalar(value, f"eq({shown(key)})"))


def ne(key: str, value: Scalar) -> Filter:
    """Match rows whose ``key`` differs from ``value`` or is missing."""
    return Not(eq(key, value))


def gt(key: str, value: Scalar) -> Filter:
    """Match rows whose ``key`` is greater than ``value``."""
    return Compare(check_key(key), ">", _scalar(value, f"gt({shown(key)})"))


def gte(key: str, value: Scalar) -> Filter:
    """Match rows whose ``key`` is greater than or equal to ``value``."""
    return Compare(check_key(key), ">=", _scalar(value, f"gte({shown(key)})"))


def lt(key: str, value: Scalar) -> Filter:
    """Match rows whose ``key`` is less than ``value``."""
    return Compare(check_key(key), "<", _scalar(value, f"lt({shown(key)})"))


def lte(key: str, value: Scalar) -> Filter:
    """Match rows whose ``key`` is less than or equal to ``value``."""
    return Compare(check_key(key), "<=", _scalar(value, f"lte({shown(key)})"))


def _values(values: Iterable[Any], where: str) -> tuple[Scalar, ...]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise FilterError(f"{where}: expected a list of values, got {shown(values)}.")
    return tuple(_scalar(v, where) for v in values)


def in_(key: str, values: Iterable[Scalar]) -> Filter:
    """Match rows whose ``key`` equals one of ``values`` (none, for an empty list)."""
    return In(check_key(key), _values(values, f"in_({shown(key)})"))


def nin(key: str, values: Iterable[Scalar]) -> Filter:
    """Match rows whose ``key`` equals none of ``values`` (or is missing)."""
    return Not(in_(key, values))


def like(key: str, pattern: str) -> Filter:
    """Match rows whose string ``key`` matches the SQL-like ``pattern``."""
    if not isinstance(pattern, str):
        raise FilterError(f"like({shown(key)}): pattern must be a string, got {shown(pattern)}.")
    return Like(check_key(key), pattern)


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
    return Like(check_key(key), f"%{substring}%")


def _match_query(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise FilterError(
            f"{where}: the query must be a non-blank string of words, got {shown(value)}."
        )
    return value


def text_match(query: str) -> Filter:
    """Match rows whose text contains at least one of the words of ``query``.

    Words are the terms of the collection's analyzer (``standard`` by default:
    lower-cased runs of letters, digits and ``_``), so ``text_match("E1234 timeout")``
    matches a text containing ``e1234`` or ``Timeout``. Compiled to Milvus
    ``TEXT_MATCH`` on the text field; the value is escaped, so no query can change the
    filter's meaning. Needs a collection created with ``text_match=True``.

    Raises:
        FilterError: ``query`` is not a non-blank string.
    """
    return TextMatch(_match_query(query, "text_match()"))


def phrase_match(phrase: str, slop: int = 0) -> Filter:
    """Match rows whose text contains the words of ``phrase`` in order, as a phrase.

    ``slop`` is how many positional moves between the words are tolerated (``0``:
    adjacent, in order). Compiled to Milvus ``PHRASE_MATCH`` (Milvus >= 2.5.17); needs
    a collection created with ``text_match=True``.

    Raises:
        FilterError: ``phrase`` is not a non-blank string or ``slop`` is not an int >= 0.
    """
    if isinstance(slop, bool) or not isinstance(slop, int) or slop < 0:
        raise FilterError(f"phrase_match(): slop={shown(slop)} must be an int >= 0.")
    return TextMatch(_match_query(phrase, "phrase_match()"), phrase=True, slop=slop)


def contains(key: str, value: Scalar) -> Filter:
    """Match rows whose list-valued ``key`` contains ``value``."""
    return Contains(check_key(key), (_scalar(value, f"contains({shown(key)})"),), "one")


def contains_any(key: str, values: Iterable[Scalar]) -> Filter:
    """Match rows whose list-valued ``key`` contains at least one of ``values``."""
    return Contains(check_key(key), _values(values, f"contains_any({shown(key)})"), "any")


def contains_all(key: str, values: Iterable[Scalar]) -> Filter:
    """Match rows whose list-valued ``key`` contains every one of ``values``."""
    return Contains(check_key(key), _values(values, f"contains_all({shown(key)})"), "all")


def exists(key: str) -> Filter:
    """Match rows that have metadata ``key`` (with a non-null value)."""
    return Exists(check_key(key))


def is_empty(key: str) -> Filter:
    """Match rows whose ``key`` is missing, null, ``""`` or ``[]`` (LlamaIndex's IS_EMPTY)."""
    return Empty(check_key(key))


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


def leaves(node: Filter) -> Iterator[Filter]:
    """The leaves of a filter tree (every node but ``And``, ``Or`` and ``Not``), in order."""
    if isinstance(node, (And, Or)):
        for child in node.children:
            yield from leaves(child)
    elif isinstance(node, Not):
        yield from leaves(node.child)
    else:
        yield node


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


def filter_arg(value: Filter | str | None) -> Filter | None:
    """Return a store's ``filter=`` argument as a tree, or ``None`` for no filter.

    A blank string, like ``None``, means no filter; another string is a :class:`Raw`.

    Raises:
        FilterError: ``value`` is not a filter tree, a string or ``None``.
    """
    tree = as_filter_tree(value)
    return None if isinstance(tree, Raw) and not tree.expression.strip() else tree


def ensure_filter(value: Filter | str | None) -> Filter | str | None:
    """Accept a filter tree, a raw expression string or ``None``; reject anything else."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, FILTER_TYPES):
        return value
    raise FilterError(
        f"filter must be a core filter, an expression string or None; got {shown(value)}."
    )
