"""Pure logic behind trustworthy deletes: match-all detection on the filter tree, raw
strings as parenthesised tree nodes, ids AND filter as one tree, and the str-vs-list check.

The end-to-end proof on Milvus Lite and the 2.3.5 server is
``tests/integration/test_trust_delete.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

from milvus_plugins.core import (
    CollectionSpec,
    ConfigError,
    FilterError,
    InvalidInputError,
    and_,
    compile_filter,
    contains_all,
    contains_any,
    doc_id_in,
    eq,
    exists,
    id_in,
    in_,
    nin,
    not_,
    or_,
)
from milvus_plugins.core.arguments import as_list, id_list
from milvus_plugins.core.capabilities import detect_capabilities
from milvus_plugins.core.filters import (
    Filter,
    Raw,
    as_filter_tree,
    is_match_all,
    is_match_none,
)
from milvus_plugins.core.store import deletion_filter

SPEC = CollectionSpec(name="docs", dim=4)
LITE = detect_capabilities("milvus_lite-3.2.2").dialect
SERVER_23 = detect_capabilities("v2.3.5").dialect

MATCH_ALL: list[Filter] = [
    and_(),
    and_(and_()),
    and_(and_(), and_(and_(), and_())),
    or_(eq("k", 1), and_()),
    or_(and_(), or_()),
    not_(or_()),
    not_(not_(and_())),
    not_(and_(eq("k", 1), or_())),
    nin("k", []),
    not_(contains_any("k", [])),
    Raw(""),
    Raw("  \n\t"),
    and_(Raw(" "), not_(in_("k", []))),
]
MATCH_NONE: list[Filter] = [
    or_(),
    or_(or_(), or_()),
    and_(eq("k", 1), or_()),
    not_(and_()),
    in_("k", []),
    contains_any("k", []),
    not_(Raw("")),
    and_(id_in(["a"]), not_(and_())),
]
NEITHER: list[Filter] = [
    eq("k", 1),
    not_(eq("k", 1)),
    exists("k"),
    contains_all("k", []),  # "k is a list": not every row
    Raw("1 == 1"),  # always true, but raw strings are the caller's responsibility
    Raw("x or y"),
    id_in(["a"]),
    and_(id_in(["a"]), and_()),
    or_(eq("k", 1), or_()),
    not_(Raw("1 == 1")),
]


@pytest.mark.parametrize("node", MATCH_ALL, ids=repr)
def test_match_all_is_recognised_on_the_tree(node: Filter) -> None:
    assert is_match_all(node)
    assert not is_match_none(node)


@pytest.mark.parametrize("node", MATCH_NONE, ids=repr)
def test_match_none_is_recognised_on_the_tree(node: Filter) -> None:
    assert is_match_none(node)
    assert not is_match_all(node)


@pytest.mark.parametrize("node", NEITHER, ids=repr)
def test_ordinary_filters_are_neither(node: Filter) -> None:
    assert not is_match_all(node)
    assert not is_match_none(node)


# -- raw strings are tree nodes, always parenthesised -----------------------------------------


def test_raw_string_is_parenthesised_when_compiled() -> None:
    assert compile_filter("a == 1 or b == 2", SPEC, LITE) == "(a == 1 or b == 2)"
    assert compile_filter(Raw("a == 1 or b == 2"), SPEC, LITE) == "(a == 1 or b == 2)"
    assert compile_filter(not_(Raw("a or b")), SPEC, LITE) == "not (a or b)"


def test_ids_and_raw_or_compile_to_ids_and_the_whole_expression() -> None:
    tree = and_(id_in(["x"]), as_filter_tree("a == 1 or b == 2"))
    assert compile_filter(tree, SPEC, LITE) == '((id in ["x"]) and (a == 1 or b == 2))'


@pytest.mark.parametrize("blank", ["", "   ", "\n"])
def test_blank_raw_is_no_condition(blank: str) -> None:
    assert compile_filter(blank, SPEC, LITE) == ""  # top level: no filter, as with None
    assert compile_filter(Raw(blank), SPEC, LITE) == "true"
    assert compile_filter(not_(Raw(blank)), SPEC, LITE) == "false"
    # The constant is folded away: `x and true` is `x`.
    assert compile_filter(and_(id_in(["x"]), Raw(blank)), SPEC, SERVER_23) == '((id in ["x"]))'
    assert compile_filter(or_(id_in(["x"]), Raw(blank)), SPEC, SERVER_23) == '(id >= "")'
    assert compile_filter(or_(id_in(["x"]), not_(Raw(blank))), SPEC, LITE) == '((id in ["x"]))'


def test_as_filter_tree_turns_strings_into_raw_nodes() -> None:
    assert as_filter_tree("x > 1") == Raw("x > 1")
    assert as_filter_tree(None) is None
    assert as_filter_tree(eq("k", 1)) == eq("k", 1)
    with pytest.raises(FilterError):
        as_filter_tree({"k": 1})  # type: ignore[arg-type]


# -- the one delete filter ------------------------------------------------------------------


def test_deletion_filter_combines_ids_and_filter_as_one_tree() -> None:
    assert deletion_filter(["a"], "x or y") == and_(id_in(["a"]), Raw("x or y"))
    assert deletion_filter(["a"], None) == id_in(["a"])
    assert deletion_filter(None, eq("k", 1)) == eq("k", 1)
    # A match-all filter is harmless under ids: they restrict it.
    assert deletion_filter(["a"], and_()) == and_(id_in(["a"]), and_())
    assert deletion_filter(["a"], "") == and_(id_in(["a"]), Raw(""))


@pytest.mark.parametrize("where", [*MATCH_ALL, "", " "], ids=repr)
def test_deletion_filter_refuses_match_all(where: Any) -> None:
    with pytest.raises(InvalidInputError, match=r"matches every row.*clear\(\)"):
        deletion_filter(None, where)


def test_deletion_filter_returns_none_when_nothing_can_match() -> None:
    assert deletion_filter([], None) is None
    assert deletion_filter([], and_()) is None
    assert deletion_filter(None, or_()) is None


def test_deletion_filter_needs_ids_or_filter() -> None:
    with pytest.raises(ConfigError, match=r"clear\(\)"):
        deletion_filter(None, None)


def test_deletion_filter_checks_the_filter_type_even_with_empty_ids() -> None:
    with pytest.raises(FilterError):
        deletion_filter([], 42)  # type: ignore[arg-type]


# -- str where a list is expected ------------------------------------------------------------


@pytest.mark.parametrize("value", ["123", "", b"12", bytearray(b"1")], ids=repr)
def test_a_single_string_is_not_a_list(value: Any) -> None:
    with pytest.raises(InvalidInputError, match="is a single"):
        as_list(value, "ids")
    with pytest.raises(InvalidInputError, match="is a single"):
        id_list(value)
    with pytest.raises(InvalidInputError, match="is a single"):
        id_in(value)
    with pytest.raises(InvalidInputError, match="is a single"):
        doc_id_in(value)


@pytest.mark.parametrize("value", [{"a": 1}, 7, None], ids=repr)
def test_mappings_and_scalars_are_not_lists(value: Any) -> None:
    with pytest.raises(InvalidInputError, match="must be a list"):
        as_list(value, "texts", of="texts")


def test_lists_tuples_and_iterators_are_accepted() -> None:
    assert as_list(("a", "b"), "ids") == ["a", "b"]
    assert as_list(iter(["a"]), "ids") == ["a"]
    assert id_list(["1", "x"]) == ["1", "x"]
    assert id_list([]) == []


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        (["a", None], r"ids\[1\]=None is not an id"),
        ([1], r"ids\[0\]=1 is not an id.*str\(\)"),
        ([True], r"ids\[0\]=True"),
        (["a", ""], r"ids\[1\] is the empty string"),
    ],
)
def test_id_elements_must_be_non_empty_strings(ids: list[Any], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        id_list(ids)


def test_doc_id_in_refuses_the_no_document_value() -> None:
    # "" is the doc_id of rows without a source document: never a document to select.
    with pytest.raises(InvalidInputError, match=r"doc_ids\[0\] is the empty string"):
        doc_id_in([""])
