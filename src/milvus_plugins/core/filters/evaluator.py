"""The reference evaluator: the filter semantics as executable Python (pure).

The compiled Milvus expression must select exactly the rows :func:`matches` accepts;
a hypothesis test holds the compiler to it on every engine.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from milvus_plugins.core.errors import FilterError
from milvus_plugins.core.filters.tree import (
    And,
    Compare,
    CompareOp,
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
)

__all__ = ["matches"]


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
