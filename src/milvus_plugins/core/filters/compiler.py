"""Filter tree -> Milvus boolean expression for one collection and dialect (pure).

Values and keys become text only through :mod:`.literals` (:func:`escape_string`).
"""

from __future__ import annotations

import math

import numpy as np

from milvus_plugins.core.analyzers import stop_words_of
from milvus_plugins.core.config import CollectionSpec
from milvus_plugins.core.errors import FilterError, UnsupportedByServerError, shown
from milvus_plugins.core.filters.addressing import KeyAddressing, KeyRef, integer_ids
from milvus_plugins.core.filters.dialect import Dialect
from milvus_plugins.core.filters.evaluator import analyze, lowercases
from milvus_plugins.core.filters.literals import (
    check_value_type,
    column_literals,
    escape_string,
    exists_test,
    is_prefix_pattern,
    literal,
)
from milvus_plugins.core.filters.tree import (
    FILTER_TYPES,
    And,
    Compare,
    Contains,
    Empty,
    Exists,
    Filter,
    In,
    Like,
    Not,
    Or,
    Raw,
    Scalar,
    TextMatch,
)
from milvus_plugins.core.types import ScalarType

__all__ = [
    "PHRASE_MATCH_MINIMUM",
    "TEXT_MATCH_MINIMUM",
    "compares_json_with_bool_or_number",
    "compile_filter",
    "escape_string",
]

#: The first Milvus server versions with ``TEXT_MATCH`` and ``PHRASE_MATCH``.
TEXT_MATCH_MINIMUM = "2.5.0"
PHRASE_MATCH_MINIMUM = "2.5.17"


class _Compiler(KeyAddressing):
    """Compiles a filter tree, node by node (see :func:`compile_filter`)."""

    #: Set when a leaf compares a JSON path (not a typed column) with a bool or a number.
    bool_or_number_on_json = False

    def _lit(self, value: Scalar) -> str:
        return literal(value, line_escapes=self.dialect.line_escapes)

    def _str(self, value: str) -> str:
        return escape_string(value, line_escapes=self.dialect.line_escapes)

    def compile(self, node: Filter, negate: bool = False) -> str:
        if isinstance(node, Not):
            return self.compile(node.child, not negate)
        if isinstance(node, (And, Or)):
            return self._bool(node, negate)
        if isinstance(node, Raw):
            if not node.expression.strip():
                return self.const(not negate)
            if negate and not self.dialect.not_expr:
                raise self._needs_not(f"not_(Raw({shown(node.expression)}))")
            return f"not ({node.expression})" if negate else f"({node.expression})"
        if isinstance(node, TextMatch):
            return self._text_match(node, negate)
        if isinstance(node, Exists):
            return self._exists(node, negate)
        if isinstance(node, Empty):
            return self._empty(node, negate)
        key = node.key
        placed = self.on_column(node, self.ref(key, getattr(node, "target", "metadata")), negate)
        if isinstance(placed, str):
            return placed
        node, ref = placed
        # A pattern without wildcards is an equality (Milvus Lite's `like` also matches
        # the pattern plus a trailing newline: its regex ends with `$`), but its negation
        # keeps the pattern's meaning: a non-string is neither like "a" nor not.
        pattern = False
        if isinstance(node, Like) and not any(ch in node.pattern for ch in "%_"):
            node, pattern = Compare(node.key, "==", node.pattern, node.target), True
        if not ref.column and isinstance(node, (Compare, In, Contains)):
            values = (node.value,) if isinstance(node, Compare) else node.values
            if any(not isinstance(value, str) for value in values):
                self.bool_or_number_on_json = True
            if ref.expr.startswith("$meta["):
                _refuse_int_beyond_int64(key, values)
            if not self.dialect.json_numbers_exact:
                node = _exact_json_numbers(node, self.dialect.engine)
        if ref.declared_type is ScalarType.INT64 and getattr(node, "target", "") == "id":
            node = integer_ids(node, self.spec.name)
        if ref.column and isinstance(node, (Compare, In)) and self._float32(node.key):
            node = _as_float32(node)
        if isinstance(node, Compare) and node.op == "!=" and not ref.column:
            # On a JSON key `!=` is "present and not equal" (values of other kinds differ),
            # its negation "missing or equal"; Milvus' own `!=` is also true where the
            # key is missing, so both are written with `==`.
            check_value_type(key, ref.declared_type, node.value)
            if not (self.dialect.json_exists and self.dialect.not_expr):
                raise self._needs_not(f"ne({shown(key)}, ...) on a JSON key")
            equal = self._leaf(Compare(node.key, "==", node.value, node.target), ref)
            has = exists_test(ref.expr)
            return f"(not {has} or {equal})" if negate else f"({has} and not {equal})"
        leaf = self._leaf(node, ref)
        for value in (True, False):
            if ref.column and leaf == self.const(value):
                # A column leaf that names no row (an integer-key id that no key spells)
                # is a constant for every row, and so is its negation: folded, as and/or
                # are. (Not on a JSON key: there a value of another kind makes neither
                # the leaf nor its negation true.)
                return self.const(value != negate)
        if not negate:
            return leaf
        if (
            not ref.column
            and not pattern
            and (isinstance(node, In) or (isinstance(node, Compare) and node.op == "=="))
        ):
            return self._not_equal(node, leaf, ref)
        if self._kind_exact(ref) and not isinstance(node, In):  # (`in` was answered above)
            return f"(not {exists_test(ref.expr)} or {self._complement(node, ref)})"
        return self._negated(node, leaf, ref)

    def _not_equal(self, node: Compare | In, leaf: str, ref: KeyRef) -> str:
        """The negation of ``==`` / ``in`` on a JSON key: missing, or not equal to any
        value (a value of another kind is not equal)."""
        if self.dialect.not_expr and self.dialect.json_exists:
            return f"(not {exists_test(ref.expr)} or not {leaf})"
        if self.dialect.missing_is_null:
            raise self._needs_not(f"not_({type(node).__name__.lower()}({shown(node.key)}, ...))")
        # Milvus' `!=` on a JSON key is true for a missing key and for values of other
        # kinds (Milvus 2.3.5 and Milvus Lite 2.5.1, tested): the negation as it is.
        return self._column_complement(node, ref)

    def _kind_exact(self, ref: KeyRef) -> bool:
        # JSON keys on engines with `exists`: negated orders, patterns and `contains` are
        # emitted as kind-exact complements, so a row whose value has another kind
        # matches neither the leaf nor its negation (unknown). Milvus Lite evaluates
        # `not (metadata["k"] < 1)` as true for "a". Equalities are not among them.
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

    def _column_complement(self, node: Compare | In | Like | Contains, ref: KeyRef) -> str:
        """The negation of a leaf written without ``not``: on a typed column, or an
        equality on a JSON key (whose ``!=`` also holds for missing keys and other kinds)."""
        if isinstance(node, Compare):
            check_value_type(node.key, ref.declared_type, node.value)
            flipped = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}
            if _is_int64_min(node.value, ref):
                return _int64_min_compare(ref.expr, flipped[node.op])
            if node.op == "==" and self._double_neighbour(node.value, ref):
                return _not_equal_or_neighbour(ref.expr, node.value)  # type: ignore[arg-type]
            return self._order(ref, flipped[node.op], node.value)
        if isinstance(node, In):
            check_value_type(node.key, ref.declared_type, *node.values)
            if not node.values:
                return self.const(True)
            parts = (
                self._column_complement(Compare(node.key, "==", v, node.target), ref)
                if self._rewritten(v, ref)
                else f"{ref.expr} != {self._lit(v)}"
                for v in node.values
            )
            return "(" + " and ".join(parts) + ")"
        raise self._needs_not(f"not_({type(node).__name__.lower()}({shown(node.key)}, ...))")

    def _differs(self, ref: KeyRef, value: Scalar) -> str:
        if isinstance(value, bool):
            return f"({ref.expr} == {self._lit(not value)})"
        text = self._lit(value)
        return f"({ref.expr} < {text} or {ref.expr} > {text})"

    def _complement(self, node: Compare | Like | Contains, ref: KeyRef) -> str:
        """The negation of an order, a pattern or ``contains`` on a JSON key, true only
        for values of the leaf's kind (``==`` comes here only from a wildcard-free
        pattern)."""
        if isinstance(node, Compare):
            check_value_type(node.key, ref.declared_type, node.value)
            if node.op == "==":
                return self._differs(ref, node.value)
            flipped = {"<": ">=", "<=": ">", ">": "<=", ">=": "<"}[node.op]
            return self._order(ref, flipped, node.value)
        if isinstance(node, Like):
            # `like "%"` is true exactly for strings: non-strings match neither side.
            return f'({ref.expr} like "%" and not {self._leaf(node, ref)})'
        if not self.dialect.empty_lists:
            if node.mode == "all" and not node.values:
                return self.const(False)  # "k is a list" and not "k is a list"
            raise self._needs_list_test(node, negated=True)
        # `json_contains_all(k, [])` is true exactly for lists: non-lists match neither side.
        return f"(json_contains_all({self._arg(ref)}, []) and not {self._leaf(node, ref)})"

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
            return self.const(is_and)
        parts = [self.compile(child, negate) for child in node.children]
        # A child that compiled to a constant (a text match of stop words only, exists()
        # of a column every row holds) decides or leaves the rest: folded here, so that a
        # filter every row meets reads as one (deletes refuse it: ops/deletes.py).
        absorbing, neutral = self.const(not is_and), self.const(is_and)
        if absorbing in parts:
            return absorbing
        parts = [part for part in parts if part != neutral]
        if not parts:
            return neutral
        joiner = " and " if is_and else " or "
        return "(" + joiner.join(parts) + ")"

    def _text_match(self, node: TextMatch, negate: bool) -> str:
        feature = "phrase match" if node.phrase else "text match"
        if node.phrase and not self.dialect.phrase_match:
            raise UnsupportedByServerError(
                "phrase match (PHRASE_MATCH)", PHRASE_MATCH_MINIMUM, self.dialect.engine,
                needs=f"Milvus >= {PHRASE_MATCH_MINIMUM} (Milvus Lite has no PHRASE_MATCH)",
            )  # fmt: skip
        if not self.dialect.text_match:
            raise UnsupportedByServerError(
                f"{feature} (TEXT_MATCH)",
                TEXT_MATCH_MINIMUM,
                self.dialect.engine,
                needs=f"Milvus >= {TEXT_MATCH_MINIMUM} or Milvus Lite >= 3",
            )
        if not self.spec.text_match:
            raise FilterError(
                f"{feature} needs the text field indexed for matching: create the collection "
                "with text_match=True (an existing collection cannot gain it; recreate it)."
            )
        if negate and not self.dialect.not_expr:
            raise self._needs_not(f"not_({feature})")
        # The text column is a non-null VARCHAR, so `not` needs no null guard; the query
        # goes through the one escaping function like every other literal.
        column = self.spec.fields.text
        if node.phrase:
            expr = f"PHRASE_MATCH({column}, {self._str(node.query)}, {int(node.slop)})"
        else:
            if not self.dialect.text_match_analyzer:
                self._check_own_terms(feature)
            query = self._without_stop_words(node.query)
            if query is not None and not query:
                return self.const(negate)  # only stop words: no term to match
            expr = f"TEXT_MATCH({column}, {self._str(query or node.query)})"
        return f"(not {expr})" if negate else f"({expr})"

    def _check_own_terms(self, feature: str) -> None:
        """Refuse a text match where the engine's own terms (the standard tokenizer's,
        lower-cased: Milvus Lite 3.2.2) are not the field analyzer's once its stop words
        are dropped from the query: it would select other rows than the analyzer says.

        Raises:
            UnsupportedByServerError: naming the analyzer and the fix.
        """
        params = self.spec.analyzer_params
        try:
            analyze("", params)  # refuses a tokenizer or filter it cannot reproduce
            simple = True
        except FilterError:
            simple = False
        if simple and lowercases(params):
            return
        raise UnsupportedByServerError(
            f"{feature} (TEXT_MATCH) with the analyzer {params}",
            TEXT_MATCH_MINIMUM,
            self.dialect.engine,
            needs=(
                f"a Milvus server >= {TEXT_MATCH_MINIMUM}: this engine matches its own "
                "terms (standard tokenizer, lower-cased), not this analyzer's, so the rows "
                "would differ; on Milvus Lite use a collection whose analyzer is the "
                "standard one (lowercase, stop words allowed)"
            ),
        )

    def _without_stop_words(self, query: str) -> str | None:
        """The query's terms without the analyzer's stop words (``None``: leave it).

        Servers drop stop words from the query themselves; Milvus Lite 3.2.2's
        TEXT_MATCH ignores the field's analyzer and would match them. Dropping them here
        gives both the same rows (for simple analyzers, whose terms :func:`analyze`
        reproduces).
        """
        params = self.spec.analyzer_params
        if not stop_words_of(params):
            return None
        try:
            return " ".join(analyze(query, params))
        except FilterError:
            return None

    def _exists(self, node: Exists, negate: bool) -> str:
        ref = self.ref(node.key)
        if ref.column:
            if not self.dialect.nullable:
                return self.const(not negate)
            return f"({ref.expr} is null)" if negate else f"({ref.expr} is not null)"
        if not self.dialect.json_exists:
            raise FilterError(
                f"exists({shown(node.key)}) needs 'exists' on JSON keys, which this Milvus lacks."
            )
        if negate and not self.dialect.not_expr:
            raise self._needs_not(f"not_(exists({shown(node.key)}))")
        return f"(not {exists_test(ref.expr)})" if negate else exists_test(ref.expr)

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
                return self.const(negate)
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
        is_list = f"json_contains_all({self._arg(ref)}, [])"
        has, has_first = exists_test(k), exists_test(k + "[0]")
        if negate:
            return f'({has} and not ({k} == "") and (not {is_list} or {has_first}))'
        return f'(not {has} or {k} == "" or ({is_list} and not {has_first}))'

    def _negated(self, node: Compare | In | Like | Contains, leaf: str, ref: KeyRef) -> str:
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
            return f"(not {exists_test(ref.expr)} or not {leaf})"
        return f"(not {leaf})"

    def _arg(self, ref: KeyRef) -> str:
        """``ref`` as the first argument of ``json_contains*`` / ``array_contains*``.

        Raises:
            FilterError: a dynamic-field key that is not an identifier (or is named like
                a field or an expression word): Milvus reads such a key there only bare.
        """
        if ref.call_arg is None:
            return ref.expr
        if not ref.call_arg:
            raise FilterError(
                f"list tests (contains, contains_any, contains_all, is_empty) on the "
                f"dynamic-field key {ref.expr}: Milvus takes such a key there only as a bare "
                "name (letters, digits and '_', not a field's name or an expression word); "
                "compare it with eq / in_ instead, or migrate() the collection into this "
                "package's layout."
            )
        return ref.call_arg

    def _float32(self, key: str) -> bool:
        """Whether ``key`` is a FLOAT (float32) column of another tool's collection."""
        layout = self.spec.layout
        return layout is not None and key in layout.float32_columns

    def _double_neighbour(self, value: Scalar, ref: KeyRef) -> bool:
        """Whether ``value`` is an int without an exact double compared with a JSON path
        where the engine compares JSON floats with it as doubles: ``k == v`` would also
        find the float nearest to ``v`` (see :func:`_equal_not_neighbour`)."""
        return (
            not ref.column
            and not self.dialect.json_numbers_exact
            and _is_int(value)
            and float(value) != value
        )

    def _rewritten(self, value: Scalar, ref: KeyRef) -> bool:
        """Whether an equality with ``value`` is written without the literal itself."""
        return _is_int64_min(value, ref) or self._double_neighbour(value, ref)

    def _order(self, ref: KeyRef, op: str, value: Scalar) -> str:
        """``ref <op> value``; for an int without an exact double on a JSON path of an
        engine comparing JSON floats with it as doubles, written so the float nearest
        to it (``d``) falls on the side the int's order puts it: ``expr op value`` is
        already exact where ``d`` lies on the side ``op`` excludes, else the int alone
        or ``d`` alone (:func:`_neighbour`) is added or kept out."""
        text = f"({ref.expr} {op} {self._lit(value)})"
        if op not in ("<", "<=", ">", ">=") or not self._double_neighbour(value, ref):
            return text
        v: int = value  # type: ignore[assignment]
        above = float(v) > v  # where d lies
        near, w = _neighbour(v)
        away = ">=" if near == "<" else "<="
        int_only = f"{ref.expr} == {v} and {ref.expr} {near} {w}"
        d_only = f"{ref.expr} == {v} and {ref.expr} {away} {w}"
        if op == "<":
            return f"({ref.expr} < {v} or ({d_only}))" if not above else text
        if op == ">":
            return f"({ref.expr} > {v} or ({d_only}))" if above else text
        if op == "<=":
            return f"({ref.expr} < {v} or ({int_only}))" if above else text
        return f"({ref.expr} > {v} or ({int_only}))" if not above else text

    def _unpruned(self, node: Compare | In | Like | Contains, ref: KeyRef) -> bool:
        """Whether an equality on this column must be written so Milvus does not prune it."""
        return (
            not self.dialect.partition_key_equality
            and ref.column
            and node.key == self.spec.partition_key
            and isinstance(node, (Compare, In))
        )

    def _leaf(self, node: Compare | In | Like | Contains, ref: KeyRef) -> str:
        if isinstance(node, Compare):
            check_value_type(node.key, ref.declared_type, node.value)
            if _is_int64_min(node.value, ref):
                return _int64_min_compare(ref.expr, node.op)
            if node.op == "==" and self._double_neighbour(node.value, ref):
                return _equal_not_neighbour(ref.expr, node.value)  # type: ignore[arg-type]
            if node.op == "==" and self._unpruned(node, ref):
                value = self._lit(node.value)
                return f"({ref.expr} >= {value} and {ref.expr} <= {value})"
            return self._order(ref, node.op, node.value)
        if isinstance(node, In):
            check_value_type(node.key, ref.declared_type, *node.values)
            if not node.values:
                return self.const(False)
            special = [v for v in node.values if self._rewritten(v, ref)]
            if special:
                # Each value no literal can stand for, as its own equality (written by
                # the Compare branch above), or'ed with the list of the others.
                parts = [self._leaf(Compare(node.key, "==", v, node.target), ref) for v in special]
                rest = tuple(v for v in node.values if not self._rewritten(v, ref))
                if rest:
                    parts.insert(0, self._leaf(In(node.key, rest, target=node.target), ref))
                return "(" + " or ".join(parts) + ")"
            if self._unpruned(node, ref):
                ranges = (
                    f"{ref.expr} >= {self._lit(v)} and {ref.expr} <= {self._lit(v)}"
                    for v in node.values
                )
                return "(" + " or ".join(f"({r})" for r in ranges) + ")"
            if ref.column or self.dialect.json_in:
                values = (
                    column_literals(ref.declared_type, node.values) if ref.column else node.values
                )
                return f"({ref.expr} in [{', '.join(self._lit(v) for v in values)}])"
            return "(" + " or ".join(f"{ref.expr} == {self._lit(v)}" for v in node.values) + ")"
        if isinstance(node, Like):
            if ref.declared_type not in (None, ScalarType.VARCHAR):
                raise FilterError(f"like({shown(node.key)}) needs a string field.")
            if not self.dialect.like_infix and not is_prefix_pattern(node.pattern):
                raise FilterError(
                    f"like({shown(node.key)}, {shown(node.pattern)}): this Milvus matches prefix "
                    "patterns only ('abc%', where '_' and '\\' are not wildcards); other "
                    "patterns need Milvus >= 2.4 or Milvus Lite."
                )
            if "\x00" in node.pattern and not self.dialect.like_nul:
                raise FilterError(
                    f"like({shown(node.key)}, {shown(node.pattern)}): the pattern holds NUL "
                    f"('\\x00'), where this Milvus ({self.dialect.engine}) ends a prefix "
                    "pattern (it would match other strings); compare with eq / in_, or use a "
                    "pattern without NUL."
                )
            if node.pattern == "%" and not self.dialect.like_match_all:
                return f'({ref.expr} >= "")'
            return f"({ref.expr} like {self._str(self._backslashes(node, ref))})"
        return self._contains(node, ref)

    def _backslashes(self, node: Like, ref: KeyRef) -> str:
        """``node``'s pattern, if this engine reads its backslashes as characters.

        (Patterns without a wildcard were made equalities before they got here.)

        Raises:
            FilterError: the pattern holds a backslash, which this engine may read as
                an escape on this field.
        """
        pattern = node.pattern
        dialect = self.dialect
        plain = dialect.like_backslash_column if ref.column else dialect.like_backslash_json
        if "\\" not in pattern or plain:
            return pattern
        where = "a declared or built-in field" if ref.column else "a metadata key"
        raise FilterError(
            f"like({shown(node.key)}, {shown(pattern)}): {dialect.engine} may read a "
            f"backslash in a like pattern on {where} as an escape (matching other rows than "
            "the pattern says), so the pattern is refused. Match the exact value with eq(), "
            "or use a pattern without '\\'."
        )

    def _contains(self, node: Contains, ref: KeyRef) -> str:
        if ref.column and ref.declared_type is not ScalarType.ARRAY:
            raise FilterError(
                f"contains on {shown(node.key)}: the declared field is "
                f"{ref.declared_type}, not ARRAY."
            )
        if not node.values and not self.dialect.empty_lists:
            # `[]` does not parse here: a declared ARRAY column always holds a list, and
            # "contains any of nothing" is false for every JSON value.
            if ref.column or node.mode == "any":
                return self.const(node.mode == "all")
            raise self._needs_list_test(node, negated=False)
        declared = self.spec.declared(node.key) if ref.column else None
        elements = declared.element_scalar_type if declared is not None else None
        if elements is not None:
            # An element of another kind matches nothing by the semantics, but Milvus
            # Lite 3's array_contains takes true for 1: refused, as a scalar column does.
            check_value_type(node.key, elements, *node.values)
        lowest = any(_is_int(v) and v == _INT64_MIN for v in node.values)
        if lowest and elements is ScalarType.INT64 and not self.dialect.json_numbers_exact:
            raise FilterError(
                f"contains on {shown(node.key)}: -9223372036854775808 (-2**63) cannot be "
                f"written in a list test by this Milvus ({self.dialect.engine}): Milvus "
                "2.3.5 cannot parse it and Milvus Lite 2.5.1 reads it as -2**63 + 1; "
                "store another sentinel, or use Milvus Lite 3."
            )
        prefix = "array" if ref.column else "json"

        # Ints as floats: on a JSON list where the engine misses [1.0] for 1 (1.0 finds
        # [1] and [1.0], not [true]); on an ARRAY of DOUBLE everywhere (Milvus 2.3.5 and
        # Lite 2.5.1 truncate the stored doubles to compare with an int: 0 found [0.5],
        # and a list mixing ints and floats fails in the engine).
        as_float = elements is ScalarType.DOUBLE or (
            not ref.column and not self.dialect.json_numbers_exact
        )

        def element(value: Scalar) -> str:
            if as_float and _is_int(value):
                # Exact: the int is at most 2**53 in size on a DOUBLE array, below 2**53
                # on a JSON list (checked above: a stored 2**53 + 1 would be found by
                # 2.0**53); 0.0 finds -0.0 too.
                return self._lit(float(value))
            return self._lit(value)

        def one(value: Scalar) -> str:
            text = element(value)
            # Milvus Lite parses a bare `-1` only in expressions, not as a call argument.
            arg = f"({text})" if text.startswith("-") else text
            return f"{prefix}_contains({self._arg(ref)}, {arg})"

        if node.mode == "one":
            return one(node.values[0])
        if not ref.column and any(isinstance(v, bool) for v in node.values):
            # Milvus Lite 2.5.1 fails json_contains_any/all on a list holding a bool
            # (json_contains takes one): any is an or, all an and, of single contains.
            joiner = " or " if node.mode == "any" else " and "
            return "(" + joiner.join(one(v) for v in node.values) + ")"
        values = "[" + ", ".join(element(v) for v in node.values) + "]"
        return f"{prefix}_contains_{node.mode}({self._arg(ref)}, {values})"


def _is_int(value: Scalar) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _refuse_int_beyond_int64(key: str, values: tuple[Scalar, ...]) -> None:
    """Refuse an int outside int64 compared with a dynamic-field key: Milvus Lite 3.2.2
    fails there with "Python int too large to convert to C long" (a JSON column's path
    takes it).

    Raises:
        FilterError: naming the key, the value and the fix.
    """
    for value in values:
        if _is_int(value) and not -(2**63) <= value < 2**63:  # type: ignore[operator]
            raise FilterError(
                f"filter on the dynamic-field key {shown(key)}: {shown(value)} is outside "
                "the int64 range Milvus compares dynamic-field values in; compare it with "
                "a float (e.g. 9.3e18) or an int in [-2**63, 2**63 - 1]."
            )


_EXACT_INT = 2**53
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _exact_json_numbers(node: Compare | In | Contains, engine: str) -> Compare | In | Contains:
    """``node`` with its numbers as an engine that compares JSON numbers as doubles
    (``Dialect.json_numbers_exact`` false) compares them exactly, or refused.

    Such an engine compares a JSON int with an int literal exactly, and everything else
    as doubles: a JSON float with an int literal beyond 2**53 (``k == 2**53 + 1`` finds
    ``2.0**53``), a JSON int beyond 2**53 with a float literal (``k == 1e16`` finds
    ``10**16 + 1``). So a float of size 2**53 to 2**63 (a whole number) is written as
    the int it equals; an int without an exact double is kept (its comparisons are
    written by :meth:`_Compiler._order` and :func:`_equal_not_neighbour`); list
    elements of size 2**53 or more (written as floats, see ``_contains``), and
    +-2**63, are refused (Milvus 2.3.5 cannot parse -2**63; Milvus Lite 2.5.1 reads it
    as -2**63 + 1).

    Raises:
        FilterError: naming the key, the value and the fix.
    """
    listed = isinstance(node, Contains)
    values = (node.value,) if isinstance(node, Compare) else node.values
    out: list[Scalar] = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            out.append(value)
            continue
        size = abs(value)
        if isinstance(value, float):
            if not math.isfinite(value) or size < _EXACT_INT or size > 2**63:
                out.append(value)  # exact as a double, or beyond every int64
                continue
            refused = listed or size == 2**63
            value = int(value)  # a whole number: the int it equals compares exactly
        else:
            # Beyond int64 no stored int reaches it, and the parsers cannot hold it
            # (2.3.5 fails, Lite 2.5.1 clamps: 2**64 would find 2**63 - 1).
            refused = size >= 2**63 or (listed and size >= _EXACT_INT)
        if refused:
            where = "this Milvus" if engine == "this Milvus" else f"this Milvus ({engine})"
            why = (
                "cannot write ints of size 2**63 or more exactly (Milvus 2.3.5 cannot "
                "parse -9223372036854775808; Milvus Lite 2.5.1 reads it as -2**63 + 1)"
                if size >= 2**63
                else "compares list elements of that size as doubles (a list holding "
                "2**53 + 1 would contain 2.0**53)"
            )
            raise FilterError(
                f"filter on {shown(node.key)}: {shown(value)} cannot be compared exactly "
                f"on a metadata key by {where}, which {why}; declare the key as a typed "
                "metadata field (INT64, DOUBLE, or an ARRAY of them), or use Milvus Lite 3."
            )
        out.append(value)
    if isinstance(node, Compare):
        return Compare(node.key, node.op, out[0], node.target)
    if isinstance(node, In):
        return In(node.key, tuple(out), target=node.target)
    return node


def _neighbour(value: int) -> tuple[str, int]:
    """The comparison that tells the int ``value`` (without an exact double) from the
    float nearest to it, ``d``: ``(op, w)`` with ``w = value +- 1`` such that the nearest
    double to ``w`` is ``d`` too, ``op`` true for ``value``. Ints compare exactly, a
    float with an int as doubles, so ``k <op> w`` holds for the int and not for ``d``
    (``d`` compared with ``d``). The neighbour on ``d``'s side always qualifies (no
    double lies between); at 2**63 - 1 (``d`` = 2**63, beyond int64) the one below does.
    """
    d = float(value)
    for w, op in ((value + 1, "<"), (value - 1, ">")):
        if _INT64_MIN < w <= _INT64_MAX and float(w) == d:
            return op, w
    raise AssertionError(f"no int64 neighbour shares the double of {value}")  # pragma: no cover


def _equal_not_neighbour(expr: str, value: int) -> str:
    """``expr == value`` on a JSON path, for an int without an exact double, where the
    engine compares a JSON float with it as doubles (Milvus 2.3.5, Lite 2.5.1):
    ``expr == value`` alone also finds the nearest float; :func:`_neighbour` tells
    them apart."""
    op, w = _neighbour(value)
    return f"({expr} == {value} and {expr} {op} {w})"


def _not_equal_or_neighbour(expr: str, value: int) -> str:
    """The complement of :func:`_equal_not_neighbour` written without ``not`` (Milvus
    Lite 2.5.1, whose ``!=`` is true for missing keys and other kinds)."""
    op, w = _neighbour(value)
    return f"({expr} != {value} or {expr} {'>=' if op == '<' else '<='} {w})"


def _is_int64_min(value: Scalar, ref: KeyRef) -> bool:
    """Whether ``value`` is -2**63 compared with an INT64 column: Milvus 2.3.5 cannot
    parse that literal and Milvus Lite 2.5.1 reads it as -2**63 + 1."""
    return (
        ref.column
        and ref.declared_type is ScalarType.INT64
        and _is_int(value)
        and value == _INT64_MIN
    )


def _int64_min_compare(expr: str, op: str) -> str:
    """``expr <op> -2**63`` on an INT64 column, written without that literal (exact for
    int64 values; a NULL stays unknown, as in the comparison it replaces)."""
    return {
        "==": f"({expr} < {_INT64_MIN + 1})",
        "<=": f"({expr} < {_INT64_MIN + 1})",
        "!=": f"({expr} >= {_INT64_MIN + 1})",
        ">": f"({expr} >= {_INT64_MIN + 1})",
        ">=": f"({expr} <= {_INT64_MAX})",
        "<": f"({expr} > {_INT64_MAX})",
    }[op]


def compares_json_with_bool_or_number(node: Filter, spec: CollectionSpec, dialect: Dialect) -> bool:
    """Whether ``node`` compiles to a comparison of a JSON path with a bool or a number.

    Such a leaf selects rows holding the other kind too where the engine compares JSON
    ``true`` equal to ``1`` (``Dialect.json_bools_are_numbers``); a key answered on its
    typed accelerator column does not count.

    Raises:
        FilterError: as :func:`compile_filter`.
    """
    compiler = _Compiler(spec, dialect)
    compiler.compile(node)
    return compiler.bool_or_number_on_json


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
        UnsupportedByServerError: a text or phrase match on an engine without
            ``TEXT_MATCH`` / ``PHRASE_MATCH``.
    """
    if node is None or (isinstance(node, str) and not node.strip()):
        return ""
    if isinstance(node, str):
        node = Raw(node)
    if not isinstance(node, FILTER_TYPES):
        raise FilterError(f"filter {shown(node)} is not a filter tree, a string or None.")
    return _Compiler(spec, dialect or Dialect()).compile(node)


def _as_float32(node: Compare | In) -> Compare | In:
    """The leaf with its numbers as the float32 values a FLOAT column holds.

    Another tool wrote ``0.1`` into such a column as float32 (0.10000000149...), and
    Milvus compares the column with the literal as a double: ``eq(k, 0.1)`` matched
    nothing and ``ne(k, 0.1)`` (a delete) matched the row holding 0.1. Compared as
    float32, ``0.1`` is that row's value. A number beyond float32's range is left as it
    is (no float32 equals it, and as a double it orders as it should), and so are other
    values (checked later).
    """

    def f32(value: Scalar) -> Scalar:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            with np.errstate(over="ignore"):
                rounded = float(np.float32(value))
            return rounded if math.isfinite(rounded) else value
        return value

    if isinstance(node, In):
        return In(node.key, tuple(f32(v) for v in node.values), target=node.target)
    return Compare(node.key, node.op, f32(node.value), node.target)
