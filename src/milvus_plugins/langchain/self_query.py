"""Self-query support: LangChain structured queries -> this store's filter dicts.

:class:`MilvusTranslator` is the ``structured_query_translator`` of LangChain's
``SelfQueryRetriever`` (``langchain-classic``), and works without it:
``MilvusTranslator().visit_structured_query(sq)`` returns ``(query, {"filter": dict})``
ready for ``store.similarity_search(query, **kwargs)``. The dicts go through the same
core compiler as hand-written filters, so every value is escaped.

=======================  =========================  ==========================================
LangChain                filter dict                meaning
=======================  =========================  ==========================================
``eq`` ``ne``            ``$eq`` ``$ne``            equal / not equal (``ne`` keeps rows
                                                    without the key)
``gt gte lt lte``        ``$gt $gte $lt $lte``      ranges (numbers, or ISO date strings)
``in`` ``nin``           ``$in`` ``$nin``           one of / none of a list
``contain``              ``$contains``              a list-valued key contains the value
``like``                 ``$like``                  SQL pattern (``%``, ``_``); a value
                                                    without ``%`` means "contains"
                                                    (``%value%``: LLMs write snake_case
                                                    names, whose ``_`` matches itself)
``and`` ``or``           ``$and`` ``$or``           every / any sub-filter
``not``                  ``$not``                   one sub-filter
=======================  =========================  ==========================================

``$exists`` has no LangChain comparator; write ``{"key": {"$exists": True}}`` by hand.
Date values from LangChain's query constructor (``{"type": "date", "date": "2024-01-31"}``)
become their ISO string: store dates as ISO strings to compare them.

:func:`describe_metadata` lists a collection's metadata keys (typed columns and keys
sampled from the JSON metadata, with the values of low-cardinality string keys) as the
``metadata_field_info`` a self-query retriever needs.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.structured_query import (
    Comparator,
    Comparison,
    Operation,
    Operator,
    StructuredQuery,
    Visitor,
)

from milvus_plugins.core import (
    FilterError,
    describe_fields,
    shown,
)
from milvus_plugins.langchain.vectorstore import MilvusVectorStore

__all__ = ["MilvusTranslator", "describe_metadata"]

# Keyed by the enum values: LangChain's enums are StrEnums.
_COMPARATORS: dict[str, str] = {
    "eq": "$eq",
    "ne": "$ne",
    "gt": "$gt",
    "gte": "$gte",
    "lt": "$lt",
    "lte": "$lte",
    "in": "$in",
    "nin": "$nin",
    "contain": "$contains",
    "like": "$like",
}
_OPERATORS: dict[str, str] = {"and": "$and", "or": "$or", "not": "$not"}


def _name(func: Comparator | Operator) -> str:
    # An enum member, or a bare string in an object built without validation.
    return str(getattr(func, "value", func))


def _plain(value: Any) -> Any:
    """Unwrap the query constructor's typed values (dates) into plain JSON values."""
    if isinstance(value, Mapping) and value.get("type") in ("date", "datetime"):
        kind = value["type"]
        if kind not in value:
            raise FilterError(
                f"the {kind} value {shown(dict(value))} holds no {kind!r}; an LLM's {kind} is "
                f'written {{"{kind}": "2024-01-31", "type": "{kind}"}}.'
            )
        return value[kind]
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class MilvusTranslator(Visitor):
    """Translate a LangChain ``StructuredQuery`` into :class:`MilvusVectorStore` filters.

    Every LangChain comparator and operator is supported (see the module docstring); a
    comparator or operator this table does not know raises :class:`FilterError`.

    Example:
        >>> from langchain_core.structured_query import Comparator, Comparison
        >>> Comparison(comparator=Comparator.GTE, attribute="year", value=2020).accept(
        ...     MilvusTranslator()
        ... )
        {'year': {'$gte': 2020}}
    """

    allowed_comparators: Sequence[Comparator] | None = tuple(map(Comparator, _COMPARATORS))
    allowed_operators: Sequence[Operator] | None = tuple(map(Operator, _OPERATORS))

    def visit_operation(self, operation: Operation) -> dict[str, Any]:
        """Translate ``and`` / ``or`` / ``not`` into ``$and`` / ``$or`` / ``$not``.

        Raises:
            FilterError: an unknown operator, or ``not`` with other than one argument.
        """
        op = _OPERATORS.get(_name(operation.operator))
        if op is None:
            raise FilterError(
                f"operator {shown(_name(operation.operator))} is not supported by the "
                f"Milvus store; "
                f"supported: {', '.join(_OPERATORS)}."
            )
        children = [argument.accept(self) for argument in operation.arguments]
        if op == "$not":
            if len(children) != 1:
                raise FilterError(
                    f"not() takes one filter, got {len(children)}; write "
                    "not(and(...)) or not(or(...)) to say which."
                )
            return {"$not": children[0]}
        if not children:
            raise FilterError(f"{op}() needs at least one filter.")
        return {op: children}

    def visit_comparison(self, comparison: Comparison) -> dict[str, Any]:
        """Translate one comparison into ``{attribute: {"$op": value}}``.

        Raises:
            FilterError: an unknown comparator, or a ``like`` value that is not a string.
        """
        op = _COMPARATORS.get(_name(comparison.comparator))
        if op is None:
            raise FilterError(
                f"comparator {shown(_name(comparison.comparator))} on "
                f"{shown(comparison.attribute)} is not "
                f"supported by the Milvus store; supported: "
                f"{', '.join(_COMPARATORS)}."
            )
        value = _plain(comparison.value)
        if op == "$like":
            if not isinstance(value, str):
                raise FilterError(
                    f"like on {shown(comparison.attribute)} takes a string, got {shown(value)}."
                )
            if "%" not in value:
                # "user_guide" from an LLM means the name, not an exact pattern: `_` still
                # matches any one character, so the name itself is found.
                value = f"%{value}%"
        return {comparison.attribute: {op: value}}

    def visit_structured_query(
        self, structured_query: StructuredQuery
    ) -> tuple[str, dict[str, Any]]:
        """Return ``(query, search kwargs)``; the kwargs hold ``filter`` when there is one."""
        if structured_query.filter is None:
            return structured_query.query, {}
        return structured_query.query, {"filter": structured_query.filter.accept(self)}


def describe_metadata(
    store: MilvusVectorStore, *, sample_size: int = 1000, max_distinct: int = 10
) -> list[Any]:
    """Describe the store's metadata keys for a self-query retriever.

    Typed columns (declared or inferred) come from the collection; keys kept in the JSON
    metadata from the first ``sample_size`` rows. A string key with at most
    ``max_distinct`` distinct values in the sample lists them in its description.

    Args:
        store: the vector store.
        sample_size: rows to sample (1 to 16,384).
        max_distinct: the most distinct values listed for a string key.

    Returns:
        LangChain ``AttributeInfo`` objects when ``langchain-classic`` (or ``langchain``)
        is installed, else dicts with ``name``, ``description`` and ``type``: the
        ``metadata_field_info`` of ``SelfQueryRetriever.from_llm``.

    Raises:
        ConfigError: a bad ``sample_size`` or ``max_distinct``.
    """
    fields = describe_fields(store.store, sample_size=sample_size, max_distinct=max_distinct)
    infos = [{"name": f.name, "description": f.describe(), "type": f.type} for f in fields]
    attribute_info = _attribute_info_class()
    if attribute_info is None:
        return infos
    return [attribute_info(**info) for info in infos]


_ATTRIBUTE_INFO_MODULES = (
    "langchain_classic.chains.query_constructor.schema",
    "langchain.chains.query_constructor.schema",
)


def _attribute_info_class() -> Any:
    for name in _ATTRIBUTE_INFO_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        return getattr(module, "AttributeInfo", None)
    return None
