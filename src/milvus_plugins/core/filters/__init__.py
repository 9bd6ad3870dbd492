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
* A value of another kind (a string against a number, a list or an object against a
  scalar) is *not equal*: ``eq`` is false for it and ``ne`` / ``nin`` / ``not eq``
  true, as in Python, LlamaIndex's ``SimpleVectorStore`` and a Milvus server's ``!=``.
  An *order* between kinds is *unknown*: neither ``gt("k", 1)`` nor its negation
  matches ``"a"`` (Milvus' three-valued logic); ``like`` on a non-string and
  ``contains*`` on a non-list are unknown too.
* Do not store bools and numbers under the same key: Milvus Lite compares ``true`` as
  ``1`` (Python semantics) while servers keep them apart; :func:`matches` keeps them
  apart, and on Milvus Lite 3 the rows such a filter selects are checked against it.
* ``not`` is pushed down to the leaves (De Morgan). On engines with ``exists`` a negated
  equality on a JSON key becomes ``not exists k or not (k == v)``, other negated leaves
  ``not exists k or <kind-exact complement>`` (``k >= v`` for ``not k < v``), because
  some engines (Milvus Lite) evaluate ``not (k < 1)`` as true when ``k`` holds a string.
* On engines without ``not`` (Milvus Lite 2.5) a negated leaf on a typed column is
  written as its complement (``year >= 5`` for ``not year < 5``), and a negated equality
  on a JSON key as Milvus' ``!=`` (true for a missing key and for other kinds, as the
  negation means). Other negated leaves on a JSON key cannot be written there: without
  ``not`` and ``exists`` nothing tells a missing key from a value of another kind.
* A filter the connected engine cannot express with exactly this meaning raises
  :class:`FilterError` naming what is missing (see :class:`Dialect`: Milvus 2.3 has no
  infix ``like``, no empty-list test for ``is_empty``/negated ``contains`` on JSON keys;
  Milvus Lite 2.5 has no ``not`` and no ``exists``); it never runs as a different query.
* ``text_match(q)`` / ``phrase_match(p, slop)`` test the document text, not metadata:
  the text and the query are split into terms by the collection's analyzer
  (:func:`analyze` is the reference for simple analyzers), and the row matches when
  one query term occurs (``TEXT_MATCH``) or the terms occur as a phrase within ``slop``
  moves (``PHRASE_MATCH``). On an engine without the function they raise
  :class:`UnsupportedByServerError` naming the feature and its minimum version: no
  substring ``like`` stands in for them, as it would match other rows (``cat`` in
  ``concatenate``).
"""

from milvus_plugins.core.filters.compiler import (
    PHRASE_MATCH_MINIMUM,
    TEXT_MATCH_MINIMUM,
    compile_filter,
)
from milvus_plugins.core.filters.dialect import Dialect
from milvus_plugins.core.filters.evaluator import analyze, matches
from milvus_plugins.core.filters.literals import escape_string
from milvus_plugins.core.filters.tree import (
    MAX_FILTER_DEPTH,
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
    and_,
    as_filter_tree,
    contains,
    contains_all,
    contains_any,
    doc_id_in,
    ensure_filter,
    eq,
    exists,
    filter_arg,
    gt,
    gte,
    id_in,
    in_,
    is_empty,
    is_match_all,
    is_match_none,
    leaves,
    like,
    lt,
    lte,
    ne,
    nin,
    not_,
    or_,
    phrase_match,
    text_contains,
    text_match,
)

__all__ = [
    "MAX_FILTER_DEPTH",
    "PHRASE_MATCH_MINIMUM",
    "TEXT_MATCH_MINIMUM",
    "And",
    "Compare",
    "CompareOp",
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
    "TextMatch",
    "analyze",
    "and_",
    "as_filter_tree",
    "compile_filter",
    "contains",
    "contains_all",
    "contains_any",
    "doc_id_in",
    "ensure_filter",
    "eq",
    "escape_string",
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
    "matches",
    "ne",
    "nin",
    "not_",
    "or_",
    "phrase_match",
    "text_contains",
    "text_match",
]
