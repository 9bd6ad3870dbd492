"""The reference evaluator: the filter semantics as executable Python (pure).

The compiled Milvus expression must select exactly the rows :func:`matches` accepts;
a hypothesis test holds the compiler to it on every engine.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
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
    TextMatch,
)

__all__ = ["analyze", "lowercases", "matches"]

_WORD = re.compile(r"\w+")
_BUILT_IN_LIST = re.compile(r"_[a-z]+_")
"""A built-in stop-word list's name in Milvus analyzer params (``_english_``)."""


_Doc = tuple[str | None, Mapping[str, Any] | None]  # the row's text and the analyzer
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
        # A value of another kind is not equal (and differs), as Python, LlamaIndex's
        # SimpleVectorStore and a server's `!=` say; an order between kinds is unknown.
        return {"==": False, "!=": True}.get(op, _UNKNOWN)
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


def analyze(text: str, analyzer: Mapping[str, Any] | None = None) -> list[str]:
    """Split ``text`` into terms the way a simple Milvus analyzer does (pure).

    A simple analyzer is the ``standard`` tokenizer (words: runs of Unicode letters,
    digits and ``_``; every other character separates them) with an optional
    ``lowercase`` filter and ``stop`` filters: ``{"type": "standard"}`` (lower-cases),
    :meth:`TextAnalyzer.params` without a stemmer, or ``None`` (the default,
    ``standard``). This is the reference for text-match filters; on such analyzers the
    engines that have ``TEXT_MATCH`` select the same rows (tested on Milvus Lite 3.2.2).

    Raises:
        FilterError: another tokenizer (``jieba``) or a stemmer: their terms cannot be
            reproduced here.
    """
    params = dict(analyzer or {"type": "standard"})
    tokenizer = params.get("tokenizer", params.get("type"))
    filters: Sequence[Any] = params.get("filter") or []
    if (
        tokenizer != "standard"
        or any(isinstance(f, Mapping) and f.get("type") not in ("stop",) for f in filters)
        or any(isinstance(f, str) and f != "lowercase" for f in filters)
        or any(isinstance(f, Mapping) and _named_stop_list(f) for f in filters)
        or _named_stop_list(params)
    ):
        raise FilterError(
            f"analyzer {params} is not a simple analyzer (standard tokenizer, lowercase, "
            "stop words): its terms cannot be reproduced in Python."
        )
    lowercase = lowercases(params)
    stop = set(params.get("stop_words") or ())
    for f in filters:
        if isinstance(f, Mapping):
            stop.update(f.get("stop_words") or ())
    words = _WORD.findall(text.lower() if lowercase else text)
    return [w for w in words if w not in stop]


def lowercases(analyzer: Mapping[str, Any]) -> bool:
    """Whether an analyzer's params lower-case its terms (the built-in ``standard`` type,
    or a ``lowercase`` filter)."""
    return analyzer.get("type") == "standard" or "lowercase" in (analyzer.get("filter") or ())


def _named_stop_list(params: Mapping[str, Any]) -> bool:
    """Whether a stop filter (or an analyzer's ``stop_words``) names one of Milvus' built-in
    lists (``_english_``), or names none (the English one): its words are not written
    here, so they cannot be dropped as the engine drops them."""
    words = params.get("stop_words")
    if params.get("type") == "stop" and not words:
        return True
    return any(isinstance(w, str) and _BUILT_IN_LIST.fullmatch(w) for w in words or ())


def _phrase_at(positions: Sequence[Sequence[int]], slop: int) -> bool:
    """Whether one position per term (all distinct) lies within ``slop`` moves of a phrase.

    The distance is Lucene's sloppy-phrase measure: the spread of ``position - index``
    over the terms (``0`` for the exact phrase; ``2`` for two adjacent terms swapped).
    """
    for choice in itertools.product(*positions):
        if len(set(choice)) != len(choice):
            continue
        offsets = [p - i for i, p in enumerate(choice)]
        if max(offsets) - min(offsets) <= slop:
            return True
    return False


def _text_match(node: TextMatch, text: str | None, analyzer: Mapping[str, Any] | None) -> bool:
    if text is None:
        return False
    terms = analyze(node.query, analyzer)
    words = analyze(text, analyzer)
    if not terms:
        return False  # a query of stop words only has no term to match
    if not node.phrase:
        return bool(set(terms) & set(words))
    positions = [[i for i, w in enumerate(words) if w == t] for t in terms]
    return all(positions) and _phrase_at(positions, node.slop)


def _leaf_value(
    node: Filter, row: Mapping[str, Any], fields: Mapping[str, Any] | None = None
) -> bool | None:
    target = getattr(node, "target", "metadata")
    if target != "metadata" and fields is not None:
        # A leaf on the row's own id / doc_id / text.
        row = {getattr(node, "key", target): fields.get(target)}
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
        return any(_compare(actual, "==", v) is True for v in node.values)
    if isinstance(node, Like):
        return _like(actual, node.pattern) if isinstance(actual, str) else _UNKNOWN
    if not isinstance(actual, list):
        return _UNKNOWN
    hits = [any(_compare(a, "==", v) is True for a in actual) for v in node.values]
    return all(hits) if node.mode == "all" else any(hits)


def _evaluate(
    node: Filter, row: Mapping[str, Any], doc: _Doc, fields: Mapping[str, Any] | None = None
) -> bool | None:
    if isinstance(node, TextMatch):
        return _text_match(node, doc[0], doc[1])
    if isinstance(node, Not):
        inner = _evaluate(node.child, row, doc, fields)
        return None if inner is None else not inner
    if isinstance(node, And):
        values = [_evaluate(c, row, doc, fields) for c in node.children]
        if any(v is False for v in values):
            return False
        return None if any(v is None for v in values) else True
    if isinstance(node, Or):
        values = [_evaluate(c, row, doc, fields) for c in node.children]
        if any(v is True for v in values):
            return True
        return None if any(v is None for v in values) else False
    if isinstance(node, Raw):
        raise FilterError("a Raw expression cannot be evaluated in Python.")
    return _leaf_value(node, row, fields)


def matches(
    node: Filter | None,
    metadata: Mapping[str, Any],
    *,
    text: str | None = None,
    analyzer: Mapping[str, Any] | None = None,
    fields: Mapping[str, Any] | None = None,
) -> bool:
    """Evaluate ``node`` against one metadata dict in pure Python.

    This is the executable definition of the filter semantics (see the module
    docstring); the compiled Milvus expression must select exactly these rows.
    ``text`` is the row's document text and ``analyzer`` the collection's analyzer
    params, read by text-match filters (:func:`analyze`). ``fields`` holds the row's
    ``"id"``, ``"doc_id"`` and ``"text"``, read by leaves on those columns
    (``id_in``, ``doc_id_in`` ...); without it such leaves read ``metadata``.
    """
    if node is None:
        return True
    return _evaluate(node, metadata, (text, analyzer), fields) is True
