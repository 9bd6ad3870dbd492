"""Where a filter key lives in one collection on one engine, and how it is written.

A key is a typed column (declared metadata, the canonical id/doc_id/text fields, an
accelerator column), a path into the metadata JSON, or a dynamic field of another tool's
layout; :class:`KeyAddressing` resolves it (:meth:`KeyAddressing.ref`) and writes the
constants ``true``/``false`` the engine accepts. The compiler builds on it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from milvus_plugins.core.config import CollectionSpec
from milvus_plugins.core.errors import FilterError, shown
from milvus_plugins.core.filters.dialect import Dialect
from milvus_plugins.core.filters.literals import (
    COLUMN_KIND,
    as_column_literal,
    escape_string,
    fits_column,
    value_kind,
)
from milvus_plugins.core.filters.tree import Compare, Contains, In, Like, Target, check_key
from milvus_plugins.core.names import is_expression_word
from milvus_plugins.core.types import ScalarType

__all__ = ["KeyAddressing", "KeyRef", "integer_ids"]


@dataclass(frozen=True)
class KeyRef:
    """How a filter key is written: an expression, on a typed column or a JSON path."""

    expr: str
    column: bool
    declared_type: ScalarType | None
    accelerated: bool = False  # a copy of a JSON key (see milvus_plugins.core.inference)
    call_arg: str | None = None
    """The key as a function's argument (``json_contains(k, ...)``) where that differs
    from ``expr``: Milvus' parser takes a dynamic-field key there only bare (``k``), not
    as ``$meta["k"]``; ``""`` when it cannot be written bare."""


_BARE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
"""A dynamic-field key Milvus reads bare (an identifier)."""


class KeyAddressing:
    """Resolves filter keys to :class:`KeyRef` for ``spec``'s collection on ``dialect``."""

    def __init__(self, spec: CollectionSpec, dialect: Dialect) -> None:
        self.spec = spec
        self.dialect = dialect

    def ref(self, key: str, target: Target = "metadata") -> KeyRef:
        """Where ``key`` of ``target`` (metadata, id, doc_id or text) lives; refuses the rest."""
        names = self.spec.fields
        layout = self.spec.layout
        if layout is not None and target == "id" and layout.id_type is ScalarType.INT64:
            return KeyRef(names.id, True, ScalarType.INT64)
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
            return KeyRef(self.column_name(columns[target]), True, ScalarType.VARCHAR)
        check_key(key)  # leaves built directly (Compare(...)) skip the builders' key check
        declared = self.spec.declared(key)
        if declared is not None:
            return KeyRef(self.column_name(declared.name), True, declared.scalar_type)
        if layout is not None and key in layout.json_columns:
            # Its values are whole dicts in a field of their own: neither the metadata
            # JSON nor the dynamic field holds the key, so a path there would match
            # nothing (and "$exists": False every row).
            raise FilterError(
                f"filter on {shown(key)}: collection {shown(self.spec.name)} "
                f"({layout.label} layout) keeps {shown(key)} in a JSON field of its own, "
                "which a dict filter cannot address; filter on another key, or on a path "
                f'inside it with a raw expression (e.g. {key}["page"] == 1).'
            )
        if layout is not None and layout.dynamic and key in layout.schema_fields:
            # A metadata key named like one of the collection's own fields: the field took
            # the value when the other tool wrote the row, so the dynamic field never holds
            # the key ("$ne" would match every row).
            raise FilterError(
                f"filter on {shown(key)}: collection {shown(self.spec.name)} "
                f"({layout.label} layout) has a field of that name, so the rows do not keep "
                f"the metadata key {shown(key)} where a filter can reach it; copy the "
                "collection into this package's layout with migrate() to filter on it."
            )
        if layout is not None and layout.metadata_json is None:
            if not layout.dynamic:
                raise FilterError(
                    f"filter on {shown(key)}: collection {shown(self.spec.name)} "
                    f"({layout.label} layout) keeps metadata in the columns "
                    f"{list(layout.read_columns())} only; {shown(key)} is none of them."
                )
            bare = (
                key
                if _BARE_KEY.fullmatch(key)
                and key not in layout.schema_fields
                and not is_expression_word(key)
                else ""
            )
            return KeyRef(f"$meta[{self.key_literal(key)}]", False, None, call_arg=bare)
        column = self.spec.accelerated(key)
        if column is not None and self.dialect.nullable and not is_expression_word(column.name):
            return KeyRef(column.name, True, column.scalar_type, accelerated=True)
        # An accelerator column named like an expression word (made before such keys
        # were left out) is skipped: the JSON holds every value too.
        return self.json_ref(key)

    def json_ref(self, key: str) -> KeyRef:
        """The path of ``key`` in the metadata JSON field."""
        field = self.column_name(self.spec.fields.metadata)
        return KeyRef(f"{field}[{self.key_literal(key)}]", False, None)

    def column_name(self, name: str) -> str:
        """``name`` as a filter may write it: a column named like an expression word is
        refused (Milvus Lite 3.2.2 reads ``true == true`` on a column ``true`` as the
        constant, so such a filter would select every row).

        Raises:
            FilterError: ``name`` is a word of filter expressions, in any case.
        """
        if is_expression_word(name):
            raise FilterError(
                f"the field {shown(name)} is named like a word of Milvus filter expressions, "
                "so no filter can name it (Milvus would read the word, not the field); "
                "filter on another field, or copy the rows with milvus_plugins.core.migrate into a "
                "collection whose spec does not declare it (it is then a metadata key, which "
                "filters can name)."
            )
        return name

    def on_column(
        self, node: Compare | In | Like | Contains, ref: KeyRef, negate: bool
    ) -> tuple[Compare | In | Like | Contains, KeyRef] | str:
        """Where an accelerated key's leaf is answered: its column, or the JSON path.

        The column holds every value of the key (none has overflowed) and a null where
        the key is missing. A leaf whose literals have the column's kind is answered on
        the column; an equality with a literal of another kind is false for every row
        (``!=``: true where the key is present), and a leaf the evaluator finds
        *unknown* for every value of the column's kind (an order with a literal of
        another kind, ``contains`` on a scalar, ``like`` on a number) is true for no row,
        and its negation for the rows without the key (returned as the finished
        expression). What a double cannot compare exactly
        (an int beyond 2**53) takes the JSON path, which holds every value too.
        """
        if not ref.accelerated:
            return node, ref
        kind = ref.declared_type
        column_kind = COLUMN_KIND.get(kind) if kind is not None else None
        unknown = f"({ref.expr} is null)" if negate else self.const(False)
        if isinstance(node, Compare):
            if fits_column(node.value, kind):
                value = as_column_literal(node.value, kind)
                return Compare(node.key, node.op, value, node.target), ref
            if value_kind(node.value) != column_kind:
                # A value of another kind: never equal, differs from every present value.
                if node.op == "==":
                    return self.const(negate)
                if node.op == "!=":
                    return f"({ref.expr} is null)" if negate else f"({ref.expr} is not null)"
                return unknown
        elif isinstance(node, In):
            same = [v for v in node.values if value_kind(v) == column_kind]
            if all(fits_column(v, kind) for v in same):
                if not same:
                    return self.const(negate)  # no member of the column's kind: never in
                values = tuple(as_column_literal(v, kind) for v in same)
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
        return node, self.json_ref(node.key)

    def key_literal(self, key: str) -> str:
        """A JSON key as this engine reads it inside ``field[...]``."""
        if not self.dialect.json_key_brackets and "][" in key:
            raise FilterError(
                f"filter key {shown(key)} contains '][', where this Milvus splits JSON paths "
                "(it cannot address such a key); rename the metadata key."
            )
        if self.dialect.json_escaped_keys:
            # The server compares path keys with the stored JSON text, which pymilvus
            # writes with orjson: the same escapes as json.dumps(..., ensure_ascii=False).
            return json.dumps(key, ensure_ascii=False)
        return escape_string(key, line_escapes=self.dialect.line_escapes)

    def const(self, value: bool) -> str:
        """An expression that is ``value`` for every row (``true``/``false`` where accepted)."""
        if self.dialect.bool_literals:
            return "true" if value else "false"
        # Milvus 2.3 rejects a bare `true`/`false` (even inside `and`/`or`). Ids are
        # strings, so `id >= ""` holds for every row and `id < ""` for none.
        pk = self.spec.fields.id
        layout = self.spec.layout
        if layout is not None and layout.id_type is ScalarType.INT64:
            # Integer keys (auto_id): every key is <= the int64 maximum (Milvus 2.3.5
            # cannot parse the minimum, -9223372036854775808, as a literal).
            high = 2**63 - 1
            return f"({pk} <= {high})" if value else f"({pk} > {high})"
        return f'({pk} >= "")' if value else f'({pk} < "")'


def integer_ids(node: Compare | In | Like | Contains, collection: str) -> Compare | In:
    """An id leaf with string ids as integers (a collection with INT64 keys, e.g. auto_id).

    Ids are strings everywhere in this package; such a collection's ids read back as
    decimal strings, and only that spelling names a row: ``"01"``, ``"-0"``, ``"+1"``,
    ``"abc"`` name none (``int("01")`` would name row 1: a delete of ``"01"`` deleted
    it). An equality or ``in`` with such an id matches no row through it.

    Raises:
        FilterError: another comparison (``!=``, ``<`` ...) with such an id, or a
            pattern or ``contains`` on the ids.
    """

    def key_of(value: object) -> int | None:
        text = value if isinstance(value, str) else ""
        digits = text[1:] if text.startswith("-") else text
        if not (digits.isdigit() and digits.isascii() and len(digits) <= 19):
            return None
        if (digits.startswith("0") and digits != "0") or text == "-0":
            return None
        key = int(text)
        return key if -(2**63) <= key < 2**63 else None

    if isinstance(node, In):
        keys = (key_of(v) for v in node.values)
        return In(node.key, tuple(k for k in keys if k is not None), target=node.target)
    if isinstance(node, Compare):
        key = key_of(node.value)
        if key is not None:
            return Compare(node.key, node.op, key, node.target)
        if node.op == "==":
            return In(node.key, (), target=node.target)  # no row has it
        raise FilterError(
            f"id {shown(node.value)}: collection {shown(collection)} has integer primary "
            "keys, read back as decimal strings such as '42' (no leading zeros or '+', "
            "within int64); compare with an id as such a key reads back."
        )
    raise FilterError(f"{type(node).__name__.lower()} on integer ids is not supported.")
