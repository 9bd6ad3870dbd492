"""Filter tree -> Milvus boolean expression for one collection and dialect (pure).

Escaping of user values and keys lives here and only here (:func:`escape_string`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from milvus_plugins.core.analyzers import stop_words_of
from milvus_plugins.core.config import CollectionSpec
from milvus_plugins.core.errors import FilterError, UnsupportedByServerError, shown
from milvus_plugins.core.filters.dialect import Dialect
from milvus_plugins.core.filters.evaluator import analyze
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
    Target,
    TextMatch,
    check_key,
)
from milvus_plugins.core.types import ScalarType

__all__ = ["PHRASE_MATCH_MINIMUM", "TEXT_MATCH_MINIMUM", "compile_filter", "escape_string"]

#: The first Milvus server versions with ``TEXT_MATCH`` and ``PHRASE_MATCH``.
TEXT_MATCH_MINIMUM = "2.5.0"
PHRASE_MATCH_MINIMUM = "2.5.17"

_TYPE_HINTS = {
    ScalarType.INT64: "an int",
    ScalarType.DOUBLE: "a number",
    ScalarType.BOOL: "True or False",
    ScalarType.VARCHAR: "a string",
}


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
    accelerated: bool = False  # a copy of a JSON key (see milvus_plugins.core.inference)


_EXACT_INT = 2**53
_COLUMN_KIND = {ScalarType.BOOL: "bool", ScalarType.DOUBLE: "number", ScalarType.VARCHAR: "string"}


def _kind(value: Scalar) -> str:
    """The reference evaluator's kind of a literal (bools are not numbers)."""
    if isinstance(value, bool):
        return "bool"
    return "string" if isinstance(value, str) else "number"


def _fits_column(value: Scalar, kind: ScalarType | None) -> bool:
    """Whether a literal has the kind of the values an accelerator column holds."""
    if kind is None or _kind(value) != _COLUMN_KIND.get(kind):
        return False
    if isinstance(value, int) and not isinstance(value, bool):
        return -_EXACT_INT <= value <= _EXACT_INT  # compared exactly as a double
    return True


def _as_column_literal(value: Scalar, kind: ScalarType | None) -> Scalar:
    return float(value) if kind is ScalarType.DOUBLE else value


class _Compiler:
    def __init__(self, spec: CollectionSpec, dialect: Dialect) -> None:
        self.spec = spec
        self.dialect = dialect

    def ref(self, key: str, target: Target = "metadata") -> _Ref:
        names = self.spec.fields
        layout = self.spec.layout
        if layout is not None and target == "id" and layout.id_type is ScalarType.INT64:
            return _Ref(names.id, True, ScalarType.INT64)
        if layout is not None and target == "doc_id" and layout.doc_id is None:
            raise FilterError(
                f"filter on {shown(key)}: collection {shown(self.spec.name)} "
                f"({layout.label} layout) has no document-id field."
            )
        if target != "metadata":
            columns = {"id": names.id, "doc_id": names.doc_id, "text": names.text}
            if target not in columns:
                # Only the string columns are filterable; anything else (the vector, a
                # typo) would be an unknown column on the server or a wrong expression.
                raise FilterError(
                    f"filter on {shown(key)}: target={shown(target)} is not a filterable "
                    f"column; use "
                    "'metadata' (the default, for metadata keys), 'id', 'doc_id' or 'text'."
                )
            return _Ref(columns[target], True, ScalarType.VARCHAR)
        check_key(key)  # leaves built directly (Compare(...)) skip the builders' key check
        declared = self.spec.declared(key)
        if declared is not None:
            return _Ref(declared.name, True, declared.scalar_type)
        if layout is not None and layout.metadata_json is None:
            if not layout.dynamic:
                raise FilterError(
                    f"filter on {shown(key)}: collection {shown(self.spec.name)} "
                    f"({layout.label} layout) keeps metadata in the columns "
                    f"{list(layout.metadata_columns())} only; {shown(key)} is none of them."
                )
            return _Ref(f"$meta[{self._key_literal(key)}]", False, None)
        column = self.spec.accelerated(key)
        if column is not None and self.dialect.nullable:
            return _Ref(column.name, True, column.scalar_type, accelerated=True)
        return self._json_ref(key)

    def _json_ref(self, key: str) -> _Ref:
        return _Ref(f"{self.spec.fields.metadata}[{self._key_literal(key)}]", False, None)

    def _on_column(
        self, node: Compare | In | Like | Contains, ref: _Ref, negate: bool
    ) -> tuple[Compare | In | Like | Contains, _Ref] | str:
        """Where an accelerated key's leaf is answered: its column, or the JSON path.

        The column holds every value of the key (none has overflowed) and a null where
        the key is missing. A leaf whose literals have the column's kind is answered on
        the column; a leaf the evaluator finds *unknown* for every value of the column's
        kind (a literal of another kind, ``contains`` on a scalar, ``like`` on a
        number) is true for no row, and its negation for the rows without the key
        (returned as the finished expression). What a double cannot compare exactly
        (an int beyond 2**53) takes the JSON path, which holds every value too.
        """
        if not ref.accelerated:
            return node, ref
        kind = ref.declared_type
        column_kind = _COLUMN_KIND.get(kind) if kind is not None else None
        unknown = f"({ref.expr} is null)" if negate else self._const(False)
        if isinstance(node, Compare):
            if _fits_column(node.value, kind):
                value = _as_column_literal(node.value, kind)
                return Compare(node.key, node.op, value, node.target), ref
            if _kind(node.value) != column_kind:
                return unknown
        elif isinstance(node, In):
            same = [v for v in node.values if _kind(v) == column_kind]
            if all(_fits_column(v, kind) for v in same):
                if len(same) < len(node.values) and (negate or not same):
                    return unknown  # an unknown member makes "not in" unknown
                values = tuple(_as_column_literal(v, kind) for v in same)
                return In(node.key, values, node.target), ref
        elif isinstance(node, Like):
            if kind is not ScalarType.VARCHAR:
                return unknown
            if "\\" not in node.pattern:
                return node, ref
            # Milvus Lite 3.2.2 reads a backslash in a pattern on a typed column as an
            # escape (`%\\%` finds "%"), and as a plain character on a JSON path.
        else:
            return unknown
        return node, self._json_ref(node.key)

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
        if isinstance(node, TextMatch):
            return self._text_match(node, negate)
        if isinstance(node, Exists):
            return self._exists(node, negate)
        if isinstance(node, Empty):
            return self._empty(node, negate)
        if isinstance(node, Like) and not any(ch in node.pattern for ch in "%_"):
            # A pattern without wildcards is an equality (Milvus Lite's `like` also matches
            # the pattern plus a trailing newline: its regex ends with `$`).
            node = Compare(node.key, "==", node.pattern, node.target)
        key = node.key
        placed = self._on_column(node, self.ref(key, getattr(node, "target", "metadata")), negate)
        if isinstance(placed, str):
            return placed
        node, ref = placed
        if ref.declared_type is ScalarType.INT64 and getattr(node, "target", "") == "id":
            node = _integer_ids(node, self.spec.name)
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
        layout = self.spec.layout
        if layout is not None and layout.id_type is ScalarType.INT64:
            low = -(2**63)  # integer keys (auto_id): every key is >= the int64 minimum
            return f"({pk} >= {low})" if value else f"({pk} < {low})"
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

    def _text_match(self, node: TextMatch, negate: bool) -> str:
        feature = "phrase match" if node.phrase else "text match"
        if node.phrase and not self.dialect.phrase_match:
            raise UnsupportedByServerError(
                "phrase match (PHRASE_MATCH)", PHRASE_MATCH_MINIMUM, self.dialect.engine,
                needs=f"Milvus >= {PHRASE_MATCH_MINIMUM} (Milvus Lite has no PHRASE_MATCH)",
            )  # fmt: skip
        if not self.dialect.text_match:
            raise UnsupportedByServerError(
                f"{feature} (TEXT_MATCH)", TEXT_MATCH_MINIMUM, self.dialect.engine
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
            expr = f"PHRASE_MATCH({column}, {escape_string(node.query)}, {int(node.slop)})"
        else:
            query = self._without_stop_words(node.query)
            if query is not None and not query:
                return self._const(negate)  # only stop words: no term to match
            expr = f"TEXT_MATCH({column}, {escape_string(query or node.query)})"
        return f"(not {expr})" if negate else f"({expr})"

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

    def _unpruned(self, node: Compare | In | Like | Contains, ref: _Ref) -> bool:
        """Whether an equality on this column must be written so Milvus does not prune it."""
        return (
            not self.dialect.partition_key_equality
            and ref.column
            and node.key == self.spec.partition_key
            and isinstance(node, (Compare, In))
        )

    def _leaf(self, node: Compare | In | Like | Contains, ref: _Ref) -> str:
        if isinstance(node, Compare):
            self._check_type(node.key, ref, node.value)
            if node.op == "==" and self._unpruned(node, ref):
                value = _literal(node.value)
                return f"({ref.expr} >= {value} and {ref.expr} <= {value})"
            return f"({ref.expr} {node.op} {_literal(node.value)})"
        if isinstance(node, In):
            for v in node.values:
                self._check_type(node.key, ref, v)
            if not node.values:
                return self._const(False)
            if self._unpruned(node, ref):
                ranges = (
                    f"{ref.expr} >= {_literal(v)} and {ref.expr} <= {_literal(v)}"
                    for v in node.values
                )
                return "(" + " or ".join(f"({r})" for r in ranges) + ")"
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


def _integer_ids(node: Compare | In | Like | Contains, collection: str) -> Compare | In:
    """An id leaf with string ids as integers (a collection with INT64 keys, e.g. auto_id).

    Ids are strings everywhere in this package; such a collection's ids read back as
    decimal strings, so only decimal strings can name one of its rows.
    """

    def number(value: object) -> int:
        text = value if isinstance(value, str) else ""
        digits = text[1:] if text.startswith("-") else text
        if not digits.isdigit() or not digits.isascii():
            raise FilterError(
                f"id {shown(value)}: collection {shown(collection)} has integer primary keys "
                "(read back as decimal strings such as '42'); give such an id."
            )
        return int(text)

    if isinstance(node, In):
        return In(node.key, tuple(number(v) for v in node.values), target=node.target)
    if isinstance(node, Compare):
        return Compare(node.key, node.op, number(node.value), node.target)
    raise FilterError(f"{type(node).__name__.lower()} on integer ids is not supported.")


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
