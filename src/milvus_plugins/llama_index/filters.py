"""LlamaIndex ``MetadataFilters`` -> core filters.

Every :class:`FilterOperator` maps onto one core filter; nested ``MetadataFilters`` and
the ``AND`` / ``OR`` / ``NOT`` conditions map onto the core's boolean nodes. Keys and
values are never pasted into an expression here: the core compiler escapes them, so a
hostile value such as ``'" or id != "'`` only ever matches itself.

==========================  ==============================================================
operator                    meaning on Milvus
==========================  ==============================================================
``EQ`` ``NE``               equal / not equal (``NE`` also matches nodes without the key)
``GT`` ``GTE`` ``LT``       ordered comparisons
``LTE``
``IN`` ``NIN``              one of a list / none of it (``NIN`` matches nodes without the
                            key)
``CONTAINS``                a list-valued key contains the value
``ANY`` ``ALL``             a list-valued key contains at least one / every value
``TEXT_MATCH``              on the key ``text`` (the node text): Milvus ``TEXT_MATCH``, the
                            text contains one of the value's words after analysis (needs a
                            store created with ``text_match=True``; on an engine without
                            ``TEXT_MATCH``, Milvus 2.3 and Milvus Lite 2.5, it raises
                            :class:`UnsupportedByServerError`). On a metadata key (JSON,
                            which Milvus cannot analyse): the string contains the value as
                            a substring (case-sensitive); a value with ``%`` or ``_``
                            raises :class:`FilterError` because Milvus ``like`` cannot
                            match them literally
``TEXT_MATCH_INSENSITIVE``  raises :class:`FilterError`: Milvus has no case-insensitive
                            string match, and a case-sensitive one would silently differ
``IS_EMPTY``                the key is missing, null, ``""`` or ``[]``
==========================  ==============================================================

Conditions: ``AND`` (the default) needs every filter, ``OR`` at least one, and ``NOT``
matches when *none* of the filters match (``not (f1 or f2 ...)``), as LlamaIndex's own
reference evaluator (``build_metadata_filter_fn``) and its Qdrant integration define it.

The keys ``ref_doc_id``, ``doc_id`` and ``document_id`` address the node's source
document (the ``doc_id`` column): LlamaIndex's ``node_to_metadata_dict`` writes the
reference document under those three names, and its stores filter on any of them. A
node without a source document holds ``""`` there: comparing one of these keys with
``""`` raises :class:`FilterError` (as ``delete("")`` refuses it: an unset variable, far
more often than a wish for those nodes), and ``IS_EMPTY`` selects them. The key ``text``
with ``TEXT_MATCH`` addresses the node text. The collection's other field
names (``id``, ``text`` with other operators, ``vector``, ``sparse``, ``metadata``,
``extra``) are not metadata and raise :class:`FilterError`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
)

import milvus_plugins.core as core
from milvus_plugins.core import (
    CollectionSpec,
    Compare,
    CompareOp,
    FieldNames,
    Filter,
    FilterError,
    In,
    Like,
    ScalarType,
    shown,
)

__all__ = [
    "DOC_ID_KEYS",
    "DeclaredTypes",
    "declared_types",
    "metadata_filter",
    "to_core_filter",
]

DOC_ID_KEYS = frozenset({"ref_doc_id", "doc_id", "document_id"})
"""Filter keys that address the source-document column rather than the metadata JSON (on
another tool's collection, ``document_id`` is a metadata key: see :func:`to_core_filter`)."""

_FOREIGN_DOC_ID_KEYS = DOC_ID_KEYS - {"document_id"}


def doc_id_keys(*, foreign: bool) -> frozenset[str]:
    """The keys naming the source document (filters, ``group_by``): :data:`DOC_ID_KEYS`,
    without ``document_id`` on another tool's layout (``foreign``), whose rows may hold
    that key as metadata of their own."""
    return _FOREIGN_DOC_ID_KEYS if foreign else DOC_ID_KEYS


_RESERVED = frozenset(FieldNames().all()) - DOC_ID_KEYS
TEXT_KEY = "text"
"""The filter key that, with ``TEXT_MATCH``, addresses the node text (Milvus ``TEXT_MATCH``)."""

_Builder = Callable[[str, Any], Filter]


def _scalar(op: FilterOperator, key: str, value: Any) -> Any:
    if value is None:
        raise FilterError(
            f"filter {shown(key)} {shown(op.value)} None: None cannot be compared; "
            "use FilterOperator.IS_EMPTY to find nodes without a value."
        )
    if isinstance(value, (list, tuple)):
        raise FilterError(
            f"filter {shown(key)} {shown(op.value)} needs a single value, got the list "
            f"{shown(value)}; "
            "use IN, NIN, ANY or ALL for lists."
        )
    return value


def _listed(op: FilterOperator, key: str, value: Any) -> list[Any]:
    if not isinstance(value, (list, tuple)):
        raise FilterError(
            f"filter {shown(key)} {shown(op.value)} needs a list of values, got {shown(value)}; "
            f"use [{shown(value)}] or FilterOperator.EQ."
        )
    return list(value)


def _text(op: FilterOperator, key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise FilterError(
            f"filter {shown(key)} {shown(op.value)} needs a string value, got {shown(value)}."
        )
    return value


def _text_match_insensitive(key: str, value: Any) -> Filter:
    raise FilterError(
        f"filter {shown(key)} text_match_insensitive: Milvus has no case-insensitive string "
        "match, and a case-sensitive one would silently return different nodes. Store a "
        f"lower-cased copy of {shown(key)} in the metadata and filter it with TEXT_MATCH on "
        "the lower-cased value."
    )


_METADATA_BUILDERS: dict[FilterOperator, _Builder] = {
    FilterOperator.GT: lambda k, v: core.gt(k, _scalar(FilterOperator.GT, k, v)),
    FilterOperator.GTE: lambda k, v: core.gte(k, _scalar(FilterOperator.GTE, k, v)),
    FilterOperator.LT: lambda k, v: core.lt(k, _scalar(FilterOperator.LT, k, v)),
    FilterOperator.LTE: lambda k, v: core.lte(k, _scalar(FilterOperator.LTE, k, v)),
    FilterOperator.CONTAINS: lambda k, v: core.contains(k, _scalar(FilterOperator.CONTAINS, k, v)),
    FilterOperator.ANY: lambda k, v: core.contains_any(k, _listed(FilterOperator.ANY, k, v)),
    FilterOperator.ALL: lambda k, v: core.contains_all(k, _listed(FilterOperator.ALL, k, v)),
    FilterOperator.TEXT_MATCH: lambda k, v: core.text_contains(
        k, _text(FilterOperator.TEXT_MATCH, k, v)
    ),
    FilterOperator.TEXT_MATCH_INSENSITIVE: _text_match_insensitive,
    FilterOperator.IS_EMPTY: lambda k, v: core.is_empty(k),
}


_COMPARISONS: dict[FilterOperator, CompareOp] = {
    FilterOperator.EQ: "==",
    FilterOperator.GT: ">",
    FilterOperator.GTE: ">=",
    FilterOperator.LT: "<",
    FilterOperator.LTE: "<=",
}


def _document_id(op: FilterOperator, key: str, value: Any) -> str:
    """A document id to compare with: a non-empty string.

    ``""`` is the column's value for a node without a source document (and for every
    LangChain row of a shared collection), as ``delete("")`` refuses it: an empty id is
    a variable left unset far more often than a wish for those rows, which
    ``IS_EMPTY`` names.
    """
    text = _text(op, key, value)
    if not text:
        raise FilterError(
            f"filter {shown(key)} {shown(op.value)} '': an empty document id; nodes without "
            f"a source document are FilterOperator.IS_EMPTY on {shown(key)}."
        )
    return text


def _doc_id_filter(op: FilterOperator, key: str, value: Any) -> Filter:
    """A filter on the source-document column (a non-null VARCHAR, ``""`` for none)."""
    if op is FilterOperator.IS_EMPTY:
        return Compare("doc_id", "==", "", target="doc_id")
    if op in (FilterOperator.IN, FilterOperator.NIN):
        values = tuple(_document_id(op, key, v) for v in _listed(op, key, value))
        node: Filter = In("doc_id", values, target="doc_id")
        return core.not_(node) if op is FilterOperator.NIN else node
    if op is FilterOperator.TEXT_MATCH:
        substring = _document_id(op, key, value)  # "" would match every row
        core.text_contains(key, substring)  # the same wildcard check as for metadata
        return Like("doc_id", f"%{substring}%", target="doc_id")
    if op not in _COMPARISONS and op is not FilterOperator.NE:
        raise FilterError(
            f"filter {shown(key)} {shown(op.value)}: {shown(key)} is the node's source "
            f"document id (a "
            "string); use EQ, NE, GT, GTE, LT, LTE, IN, NIN, TEXT_MATCH or IS_EMPTY."
        )
    text = _document_id(op, key, _scalar(op, key, value))
    if op is FilterOperator.NE:
        return core.not_(Compare("doc_id", "==", text, target="doc_id"))
    return Compare("doc_id", _COMPARISONS[op], text, target="doc_id")


DeclaredTypes = Callable[[str], ScalarType | None]
"""The declared column type of a metadata key, or ``None`` (JSON)."""


def declared_types(spec: CollectionSpec) -> DeclaredTypes:
    """The :data:`DeclaredTypes` of ``spec``'s declared metadata fields."""

    def kind(key: str) -> ScalarType | None:
        field = spec.declared(key)
        return None if field is None else field.scalar_type

    return kind


_NUMBER_COLUMNS = frozenset({ScalarType.INT64, ScalarType.DOUBLE})


def _truth(value: Any) -> bool | None:
    """The bool a number equals in Python (``1``, ``1.0``: True; ``0``: False), else None."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value in (0, 1):
        return bool(value)
    return None


def _whole(value: Any) -> Any:
    """A float holding a whole number as that int (``1.0``: ``1``), else ``value``."""
    if type(value) is float and value.is_integer() and abs(value) < 2**63:
        return int(value)
    return value


def _equality(op: FilterOperator, key: str, value: Any, declared: DeclaredTypes | None) -> Filter:
    """``EQ`` / ``NE`` / ``IN`` / ``NIN`` on a metadata key, as LlamaIndex compares.

    LlamaIndex's ``MetadataFilter`` refuses ``True`` and ``False`` as values, so a
    boolean key can only be filtered with ``1`` / ``0``, which its own stores match
    against ``True`` / ``False`` (Python's ``True == 1``). The core keeps bools and
    numbers apart, so here a ``0`` or ``1`` also matches the boolean it equals: on a
    declared BOOL column it is that boolean, on a number column the number, and on a
    JSON key either (``EQ``/``IN``: one or the other; ``NE``/``NIN``: neither).
    """
    single = op in (FilterOperator.EQ, FilterOperator.NE)
    equal = op in (FilterOperator.EQ, FilterOperator.IN)
    values = [_scalar(op, key, value)] if single else _listed(op, key, value)

    def build(given: list[Any]) -> Filter:
        if single:
            return core.eq(key, given[0]) if equal else core.ne(key, given[0])
        return core.in_(key, given) if equal else core.nin(key, given)

    truths = list(dict.fromkeys(t for t in map(_truth, values) if t is not None))
    kind = declared(key) if declared is not None else None
    if kind is ScalarType.INT64:  # 1.0 is 1 to LlamaIndex; the column takes ints only
        return build([_whole(v) for v in values])
    if not truths or kind in _NUMBER_COLUMNS:
        return build(values)
    if kind is ScalarType.BOOL:
        mapped = []
        for v in values:
            truth = _truth(v)
            if truth is not None:
                mapped.append(truth)
            elif single or not isinstance(v, (int, float)) or isinstance(v, bool):
                mapped.append(v)  # refused by the core with the fix (EQ 2, a string)
            # else: another number in a list never equals a bool (IN/NIN [0, 1, 2])
        return build(list(dict.fromkeys(mapped)))
    if kind is not None:  # a VARCHAR or ARRAY column: as given (the core says why not)
        return build(values)
    both = [build(values), build(truths)]
    return core.or_(*both) if equal else core.and_(*both)


_EQUALITIES = frozenset(
    {FilterOperator.EQ, FilterOperator.NE, FilterOperator.IN, FilterOperator.NIN}
)


def metadata_filter(
    item: MetadataFilter, declared: DeclaredTypes | None = None, *, foreign: bool = False
) -> Filter:
    """Translate one :class:`MetadataFilter` into a core filter.

    ``declared`` gives the store's declared column types (see :func:`_equality`:
    ``0`` / ``1`` also match ``False`` / ``True`` unless the key is a number column).
    ``foreign``: the collection is read through another tool's layout (see
    :func:`to_core_filter`).

    Raises:
        FilterError: the operator cannot be expressed exactly on Milvus, the value does
            not fit the operator, or the key is one of the collection's own fields.
    """
    op = FilterOperator(item.operator)
    key = item.key
    if key in doc_id_keys(foreign=foreign):
        return _doc_id_filter(op, key, item.value)
    if key == TEXT_KEY and op is FilterOperator.TEXT_MATCH:
        return core.text_match(_text(op, key, item.value))
    if key in _RESERVED:
        raise FilterError(
            f"filter key {shown(key)} names a field of the collection, not metadata; filter node "
            "ids with node_ids=, documents with doc_ids= (or the key 'ref_doc_id'), the node "
            "text with the key 'text' and TEXT_MATCH."
        )
    if op in _EQUALITIES:
        return _equality(op, key, item.value, declared)
    builder = _METADATA_BUILDERS.get(op)
    if builder is None:  # a FilterOperator added by a newer LlamaIndex
        raise FilterError(f"filter operator {shown(op.value)} is not supported by this store.")
    return builder(key, item.value)


def _combine(children: Sequence[Filter], condition: FilterCondition) -> Filter:
    if condition is FilterCondition.AND:
        return core.and_(*children)
    if condition is FilterCondition.OR:
        return core.or_(*children)
    if condition is FilterCondition.NOT:
        return core.not_(core.or_(*children))
    raise FilterError(f"filter condition {shown(condition)} is not supported; use and, or or not.")


def _translate(
    filters: MetadataFilters, declared: DeclaredTypes | None, foreign: bool, depth: int = 1
) -> Filter:
    if depth >= core.MAX_FILTER_DEPTH:  # on the way down: the tree is built on the way up
        raise FilterError(
            f"the MetadataFilters nest more than {core.MAX_FILTER_DEPTH - 1} levels deep; "
            "flatten them (one MetadataFilters holds any number of filters)."
        )
    if not filters.filters:
        return core.and_()  # no constraint, as in LlamaIndex's reference evaluator
    children = [
        _translate(f, declared, foreign, depth + 1)
        if isinstance(f, MetadataFilters)
        else metadata_filter(f, declared, foreign=foreign)
        for f in filters.filters
    ]
    condition = FilterCondition(filters.condition or FilterCondition.AND)
    return _combine(children, condition)


def to_core_filter(
    filters: MetadataFilters | None,
    declared: DeclaredTypes | None = None,
    *,
    foreign: bool = False,
) -> Filter | None:
    """Translate LlamaIndex ``MetadataFilters`` (possibly nested) into a core filter.

    ``declared`` gives the target store's declared column types
    (:func:`declared_types`): with it a ``0`` / ``1`` compared by ``EQ``, ``NE``,
    ``IN`` or ``NIN`` with a BOOL column means ``False`` / ``True``; on a JSON key it
    matches the number and the boolean alike, as LlamaIndex's own stores do (its
    ``MetadataFilter`` takes no ``True`` / ``False``).

    ``foreign``: the collection is read through another tool's layout
    (``field_mapping``, or one detected), whose rows may hold a ``document_id`` key of
    their own (llama-index-vector-stores-milvus keeps LlamaIndex's copy of the source
    document id there): the key then addresses that metadata, as ``SimpleVectorStore``
    over the same metadata would.

    Returns:
        The core filter, or ``None`` when there is nothing to filter on.

    Raises:
        FilterError: an operator, value or key that Milvus cannot express exactly.
    """
    if filters is None:
        return None
    if not isinstance(filters, MetadataFilters):
        raise FilterError(
            f"filters must be llama_index MetadataFilters, got {type(filters).__name__}."
        )
    if not filters.filters:
        return None
    return _translate(filters, declared, foreign)
