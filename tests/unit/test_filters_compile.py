"""The filter compiler (tree -> Milvus expression) and the pure-Python reference evaluator.

Table-driven: each case names a filter and the exact expression it must compile to, so a
change in escaping or in negation push-down shows up as a readable diff. The end-to-end
proof that these expressions select the intended rows is in
``tests/integration/test_core_filters.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
from tests.support import stable_id

from milvus_plugins.core import (
    CollectionSpec,
    FilterError,
    InvalidInputError,
    MetadataField,
    and_,
    compile_filter,
    contains,
    contains_all,
    contains_any,
    doc_id_in,
    eq,
    exists,
    gt,
    gte,
    id_in,
    in_,
    is_empty,
    like,
    lt,
    lte,
    matches,
    ne,
    nin,
    not_,
    or_,
    text_contains,
)
from milvus_plugins.core.capabilities import detect_capabilities
from milvus_plugins.core.filters import (
    And,
    Compare,
    Dialect,
    Filter,
    Like,
    Raw,
    ensure_filter,
    escape_string,
)

SPEC = CollectionSpec(
    name="docs",
    dim=4,
    metadata_fields=[
        MetadataField(name="year", type="INT64"),
        MetadataField(name="price", type="DOUBLE"),
        MetadataField(name="flag", type="BOOL"),
        MetadataField(name="genre", type="VARCHAR"),
        MetadataField(name="tags", type="ARRAY", element_type="VARCHAR"),
    ],
)
LITE = detect_capabilities("milvus_lite-3.2.2").dialect
SERVER_25 = detect_capabilities("v2.5.4").dialect
SERVER_23 = detect_capabilities("v2.3.5").dialect
M = 'metadata["k"]'


def compile_lite(f: Filter | str | None) -> str:
    return compile_filter(f, SPEC, LITE)


# -- escaping ---------------------------------------------------------------------------

ESCAPES = [
    ("plain", '"plain"'),
    ('say "hi"', r'"say \"hi\""'),
    ("it's", '"it\'s"'),
    ("back\\slash", r'"back\\slash"'),
    ("new\nline", r'"new\nline"'),
    ("cr\rlf", r'"cr\rlf"'),
    ("tab\there", r'"tab\there"'),
    ('" or id != "', r'"\" or id != \""'),
    ('\\"', r'"\\\""'),
    ("ünïcødé ✓ 日本", '"ünïcødé ✓ 日本"'),
    ("", '""'),
]


@pytest.mark.parametrize(("value", "expected"), ESCAPES)
def test_escape_string_quotes_and_escapes_every_special_character(
    value: str, expected: str
) -> None:
    assert escape_string(value) == expected


@pytest.mark.parametrize(("value", "_expected"), ESCAPES)
def test_escaped_literal_has_no_unescaped_quote_or_raw_newline(value: str, _expected: str) -> None:
    body = escape_string(value)[1:-1]
    assert "\n" not in body and "\r" not in body and "\t" not in body
    i = 0
    while i < len(body):
        if body[i] == "\\":
            assert body[i + 1] in '\\"nrt'
            i += 2
            continue
        assert body[i] != '"'
        i += 1


def test_hostile_key_is_escaped_inside_the_json_path() -> None:
    expr = compile_lite(eq('a"] or 1==1 or metadata["b', 1))
    assert expr == r'(metadata["a\"] or 1==1 or metadata[\"b"] == 1)'


# -- leaves on JSON keys and declared columns --------------------------------------------

POSITIVE: list[tuple[Filter, str]] = [
    (eq("k", "v"), f'({M} == "v")'),
    (eq("k", 3), f"({M} == 3)"),
    (eq("k", 2.5), f"({M} == 2.5)"),
    (eq("k", True), f"({M} == true)"),
    (eq("k", False), f"({M} == false)"),
    (eq("k", -7), f"({M} == -7)"),
    (gt("k", 1), f"({M} > 1)"),
    (gte("k", 1), f"({M} >= 1)"),
    (lt("k", "m"), f'({M} < "m")'),
    (lte("k", 1e-5), f"({M} <= 1e-05)"),
    (in_("k", ["a", 2]), f'({M} == "a" or {M} == 2)'),
    (in_("k", []), "false"),
    (like("k", "ab%"), f'({M} like "ab%")'),
    (like("k", "exact"), f'({M} == "exact")'),
    (text_contains("k", "mid"), f'({M} like "%mid%")'),
    (contains("k", "x"), f'json_contains({M}, "x")'),
    (contains_any("k", ["x", 1]), f'json_contains_any({M}, ["x", 1])'),
    (contains_all("k", ["x", "y"]), f'json_contains_all({M}, ["x", "y"])'),
    (exists("k"), f"(exists {M})"),
    (eq("year", 2000), "(year == 2000)"),
    (eq("price", 2), "(price == 2)"),
    (eq("flag", True), "(flag == true)"),
    (in_("genre", ["a", "b"]), '(genre in ["a", "b"])'),
    (contains("tags", "x"), 'array_contains(tags, "x")'),
    (contains_any("tags", ["x"]), 'array_contains_any(tags, ["x"])'),
    (exists("year"), "(year is not null)"),
    (id_in(["a", "b"]), '(id in ["a", "b"])'),
    (doc_id_in(["d1"]), '(doc_id in ["d1"])'),
    (and_(), "true"),
    (or_(), "false"),
    (and_(eq("k", 1), eq("year", 2)), f"(({M} == 1) and (year == 2))"),
    (or_(eq("k", 1), eq("year", 2)), f"(({M} == 1) or (year == 2))"),
]


@pytest.mark.parametrize(("node", "expected"), POSITIVE, ids=[e for _, e in POSITIVE])
def test_positive_filter_compiles_to_expected_expression(node: Filter, expected: str) -> None:
    assert compile_lite(node) == expected


NEGATED: list[tuple[Filter, str]] = [
    # `!=` and `not in`: missing, or not equal (a value of another kind is not equal).
    (ne("k", "v"), f'(not (exists {M}) or not ({M} == "v"))'),
    (ne("k", 3), f"(not (exists {M}) or not ({M} == 3))"),
    (ne("k", True), f"(not (exists {M}) or not ({M} == true))"),
    (not_(gt("k", 1)), f"(not (exists {M}) or ({M} <= 1))"),
    (not_(gte("k", 1)), f"(not (exists {M}) or ({M} < 1))"),
    (not_(lt("k", 1)), f"(not (exists {M}) or ({M} >= 1))"),
    (not_(lte("k", 1)), f"(not (exists {M}) or ({M} > 1))"),
    (nin("k", ["a", 2]), f'(not (exists {M}) or not ({M} == "a" or {M} == 2))'),
    (nin("k", []), f"(not (exists {M}) or not false)"),
    (not_(like("k", "a%")), f'(not (exists {M}) or ({M} like "%" and not ({M} like "a%")))'),
    (
        not_(contains("k", "x")),
        f'(not (exists {M}) or (json_contains_all({M}, []) and not json_contains({M}, "x")))',
    ),
    (not_(exists("k")), f"(not (exists {M}))"),
    (ne("year", 2000), "(year is null or not (year == 2000))"),
    (not_(contains("tags", "x")), '(tags is null or not array_contains(tags, "x"))'),
    (not_(exists("year")), "(year is null)"),
    (not_(id_in(["a"])), '(not (id in ["a"]))'),
    (not_(and_()), "false"),
    (not_(or_()), "true"),
    (not_(not_(eq("k", 1))), f"({M} == 1)"),
    (
        not_(and_(eq("k", 1), eq("year", 2))),
        f"((not (exists {M}) or not ({M} == 1)) or (year is null or not (year == 2)))",
    ),
    (
        not_(or_(exists("k"), gt("year", 2))),
        f"((not (exists {M})) and (year is null or not (year > 2)))",
    ),
    (Compare("k", "!=", 5), f"((exists {M}) and not ({M} == 5))"),
    (not_(Compare("k", "!=", 5)), f"(not (exists {M}) or ({M} == 5))"),
    (not_(Raw("x > 1")), "not (x > 1)"),
]


@pytest.mark.parametrize(("node", "expected"), NEGATED, ids=[e for _, e in NEGATED])
def test_negation_is_pushed_to_kind_exact_complements(node: Filter, expected: str) -> None:
    assert compile_lite(node) == expected


def test_operators_build_the_same_tree_as_functions() -> None:
    a, b = eq("k", 1), gt("year", 3)
    assert (a & b) == and_(a, b)
    assert (a | b) == or_(a, b)
    assert ~a == not_(a)


def test_engine_without_exists_keeps_plain_negation() -> None:
    no_exists = Dialect(json_exists=False, missing_is_null=False, nullable=False)
    # Milvus' own `!=` is true for a missing key and other kinds: the negation as it is.
    assert compile_filter(ne("k", 1), SPEC, no_exists) == f"({M} != 1)"
    with pytest.raises(FilterError, match="exists"):
        compile_filter(exists("k"), SPEC, no_exists)


def test_milvus_23_negates_with_exists_and_rejects_infix_like() -> None:
    assert compile_filter(ne("k", 1), SPEC, SERVER_23) == f"(not (exists {M}) or not ({M} == 1))"
    assert compile_filter(not_(gt("k", 1)), SPEC, SERVER_23) == f"(not (exists {M}) or ({M} <= 1))"
    assert compile_filter(like("k", "ab%"), SPEC, SERVER_23) == f'({M} like "ab%")'
    with pytest.raises(FilterError, match="prefix"):
        compile_filter(like("k", "%ab"), SPEC, SERVER_23)
    with pytest.raises(FilterError, match="prefix"):
        compile_filter(text_contains("k", "ab"), SPEC, SERVER_23)


def test_server_with_json_in_uses_in_list_and_negates_with_exists() -> None:
    assert compile_filter(in_("k", [1, 2]), SPEC, SERVER_25) == f"({M} in [1, 2])"
    assert compile_filter(ne("k", 1), SPEC, SERVER_25) == f"(not (exists {M}) or not ({M} == 1))"


def test_none_and_raw_string_pass_through_parenthesised() -> None:
    assert compile_lite(None) == ""
    # A raw string is a Raw node: parenthesised, so it composes safely with `and`.
    assert compile_lite('metadata["x"] > 1') == '(metadata["x"] > 1)'
    assert compile_lite(Raw("x > 1")) == "(x > 1)"


def test_renamed_canonical_fields_are_used() -> None:
    from milvus_plugins.core import FieldNames

    spec = CollectionSpec(name="c", dim=2, fields=FieldNames(id="pk", metadata="meta"))
    assert compile_filter(eq("k", 1), spec, LITE) == '(meta["k"] == 1)'
    assert compile_filter(id_in(["a"]), spec, LITE) == '(pk in ["a"])'


# -- rejected filters --------------------------------------------------------------------

BAD_BUILDS: list[tuple[Any, ...]] = [
    (eq, "k", [1, 2]),
    (eq, "k", {"a": 1}),
    (eq, "k", None),
    (eq, "k", {1, 2}),
    (eq, "k", b"bytes"),
    (eq, "k", float("nan")),
    (gt, "k", float("inf")),
    (eq, "", 1),
    (eq, 3, 1),
    (in_, "k", "abc"),
    (in_, "k", 5),
    (in_, "k", [object()]),
    (contains, "k", [1]),
    (like, "k", 5),
    (text_contains, "k", "50%"),
    (text_contains, "k", "snake_case"),
]


@pytest.mark.parametrize("args", BAD_BUILDS, ids=[stable_id(a[1:]) for a in BAD_BUILDS])
def test_unfilterable_value_or_key_raises_filter_error(args: tuple[Any, ...]) -> None:
    builder, *rest = args
    with pytest.raises(FilterError):
        builder(*rest)


BAD_COMPILES: list[tuple[Filter, str]] = [
    (gt("year", "1999"), "INT64"),
    (eq("year", 1.5), "INT64"),
    (eq("year", True), "INT64"),
    (eq("flag", 1), "BOOL"),
    (eq("genre", 3), "VARCHAR"),
    (in_("year", [1, "2"]), "INT64"),
    (like("year", "1%"), "string field"),
    (contains("genre", "x"), "not ARRAY"),
    (eq("tags", "x"), "declared ARRAY"),
    (ne("tags", "x"), "declared ARRAY"),
    (in_("tags", ["x"]), "declared ARRAY"),
    (not_(in_("tags", ["x"])), "declared ARRAY"),
    (gt("tags", "a"), "declared ARRAY"),
]


@pytest.mark.parametrize(
    ("node", "message"), BAD_COMPILES, ids=[f"{m}-{i}" for i, (_, m) in enumerate(BAD_COMPILES)]
)
def test_value_not_fitting_declared_type_raises_before_io(node: Filter, message: str) -> None:
    with pytest.raises(FilterError, match=message):
        compile_lite(node)


def test_filter_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        eq("k", [1])  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [{"k": 1}, 3, ["k"], object()])
def test_non_filter_object_is_rejected(value: Any) -> None:
    with pytest.raises(FilterError):
        ensure_filter(value)
    with pytest.raises(FilterError):
        compile_filter(value, SPEC, LITE)


# -- the reference evaluator -------------------------------------------------------------

ROWS: dict[str, dict[str, Any]] = {
    "int": {"k": 1},
    "float": {"k": 1.0},
    "two": {"k": 2},
    "str": {"k": "1"},
    "list": {"k": [1, "x"]},
    "null": {"k": None},
    "missing": {},
    "obj": {"k": {"a": 1}},
}

EVALUATIONS: list[tuple[Filter, set[str]]] = [
    (eq("k", 1), {"int", "float"}),
    (ne("k", 1), {"two", "str", "list", "null", "missing", "obj"}),
    (gt("k", 1), {"two"}),
    (not_(gt("k", 1)), {"int", "float", "null", "missing"}),
    (eq("k", "1"), {"str"}),
    (ne("k", "1"), {"int", "float", "two", "list", "null", "missing", "obj"}),
    (in_("k", [2, "1"]), {"two", "str"}),
    # A value of another kind is not equal: 1 is not in [2, "1"] (as in Python).
    (nin("k", [2, "1"]), {"int", "float", "list", "null", "missing", "obj"}),
    (nin("k", [2, 3]), {"int", "float", "str", "list", "null", "missing", "obj"}),
    # An order between kinds is unknown (Kleene logic): "1" is neither > 1 nor not.
    (Compare("k", "!=", 1), {"two", "str", "list", "obj"}),
    (in_("k", []), set()),
    (nin("k", []), set(ROWS)),
    (contains("k", "x"), {"list"}),
    (not_(contains("k", "x")), {"null", "missing"}),
    (not_(contains("k", "y")), {"list", "null", "missing"}),
    (contains_all("k", [1, "x"]), {"list"}),
    (contains_any("k", [5, "x"]), {"list"}),
    (exists("k"), {"int", "float", "two", "str", "list", "obj"}),
    (not_(exists("k")), {"null", "missing"}),
    (like("k", "1"), {"str"}),
    (not_(like("k", "%")), {"null", "missing"}),
    (and_(), set(ROWS)),
    (or_(), set()),
    (or_(eq("k", 1), eq("k", "1")), {"int", "float", "str"}),
    (not_(and_(exists("k"), gt("k", 1))), {"int", "float", "null", "missing"}),
]


@pytest.mark.parametrize(
    ("node", "expected"), EVALUATIONS, ids=[str(i) for i, _ in enumerate(EVALUATIONS)]
)
def test_matches_follows_documented_semantics(node: Filter, expected: set[str]) -> None:
    assert {name for name, row in ROWS.items() if matches(node, row)} == expected


def test_matches_none_filter_matches_everything() -> None:
    assert matches(None, {})


def test_matches_rejects_raw_expressions() -> None:
    with pytest.raises(FilterError):
        matches(Raw("x > 1"), {"x": 2})


def test_matches_like_treats_wildcards_and_everything_else_literally() -> None:
    assert matches(like("k", "a_c%"), {"k": "abcdef"})
    assert matches(like("k", "a.c"), {"k": "a.c"})
    assert not matches(like("k", "a.c"), {"k": "abc"})
    assert matches(like("k", "%"), {"k": "multi\nline"})
    assert not matches(like("k", "a"), {"k": "a\n"})


# -- an engine without `not` (Milvus Lite 2.5, as its probes describe it) ------------------

NO_NOT = Dialect(
    json_in=False,
    json_exists=False,
    nullable=False,
    missing_is_null=False,
    like_infix=False,
    bool_literals=False,
    empty_lists=False,
    json_escaped_keys=True,
    json_key_brackets=False,
    not_expr=False,
    like_match_all=False,
)

WITHOUT_NOT = [
    (ne("year", 5), "(year != 5)"),
    (not_(eq("year", 5)), "(year != 5)"),
    (not_(lt("year", 5)), "(year >= 5)"),
    (not_(gte("price", 1.5)), "(price < 1.5)"),
    (nin("genre", ["a", "b"]), '(genre != "a" and genre != "b")'),
    (not_(in_("genre", [])), '(id >= "")'),
    (not_(or_(eq("year", 1), gt("year", 9))), "((year != 1) and (year <= 9))"),
    (not_(is_empty("genre")), '(genre != "")'),
    (not_(is_empty("tags")), "(array_length(tags) != 0)"),
    (not_(exists("year")), '(id < "")'),
    (not_(id_in(["a"])), '(id != "a")'),
    (like("k", "%"), f'({M} >= "")'),
    (like("genre", "%"), '(genre >= "")'),
    (and_(), '(id >= "")'),
]


@pytest.mark.parametrize(("node", "expected"), WITHOUT_NOT, ids=[e for _, e in WITHOUT_NOT])
def test_negations_of_typed_columns_are_written_without_not(node: Filter, expected: str) -> None:
    assert compile_filter(node, SPEC, NO_NOT) == expected


@pytest.mark.parametrize(
    "node",
    [
        Compare("k", "!=", 1),
        not_(Compare("k", "!=", 1)),
        not_(lt("k", 1)),
        not_(like("genre", "a%")),
        not_(contains("tags", "x")),
        not_(Raw("year > 1")),
    ],
    ids=stable_id,
)
def test_negations_that_need_not_raise_filter_error(node: Filter) -> None:
    # `not (k < 1)` must not match "a" (an order between kinds is unknown), and a bare
    # `!=` leaf must not match a missing key; with neither `not` nor `exists` no
    # expression says that.
    with pytest.raises(FilterError, match=r"needs 'not'.*this Milvus"):
        compile_filter(node, SPEC, NO_NOT)


def test_equality_negations_on_json_keys_use_milvus_not_equal_without_not() -> None:
    # Milvus' `!=` is true for a missing key and for other kinds, as ne / nin mean.
    assert compile_filter(ne("k", 1), SPEC, NO_NOT) == f"({M} != 1)"
    assert compile_filter(not_(eq("k", "a")), SPEC, NO_NOT) == f'({M} != "a")'
    assert compile_filter(nin("k", [1, "a"]), SPEC, NO_NOT) == f'({M} != 1 and {M} != "a")'


def test_exists_on_a_json_key_without_exists_raises() -> None:
    with pytest.raises(FilterError, match="this Milvus lacks"):
        compile_filter(exists("k"), SPEC, NO_NOT)
    with pytest.raises(FilterError, match="this Milvus lacks"):
        compile_filter(is_empty("k"), SPEC, NO_NOT)


# -- a backslash in a like pattern (hostile pass 3, F1) ---------------------------------

TYPED = CollectionSpec(
    name="c", dim=3, metadata_fields=[MetadataField(name="path", type="VARCHAR")]
)


def test_a_backslash_in_a_like_pattern_is_a_character_on_lite3_json_and_refused_elsewhere() -> None:
    # Milvus Lite 3 reads it as a character on JSON paths; on typed columns pyarrow reads
    # it as an escape in some pattern shapes. Accelerated keys take their JSON path.
    assert compile_filter(like("j", "C:\\%"), TYPED, LITE) == '(metadata["j"] like "C:\\\\%")'
    for engine in (LITE, SERVER_25):
        for node in (
            like("path", "C:\\%"),
            text_contains("path", "\\x"),
            not_(like("path", "%\\_")),
            Like("doc_id", "%\\x%", target="doc_id"),
        ):
            with pytest.raises(FilterError, match="backslash"):
                compile_filter(node, TYPED, engine)
    with pytest.raises(FilterError, match="backslash"):
        compile_filter(like("j", "%\\%"), TYPED, SERVER_25)
    # Without a wildcard it is an equality, which every engine reads the same way.
    assert compile_filter(like("path", "C:\\x"), TYPED, SERVER_25) == '(path == "C:\\\\x")'


# -- numbers a typed column cannot compare as given (hostile pass 3, F3) ----------------


@pytest.mark.parametrize(
    ("node", "message"),
    [
        (eq("year", 2**63), "outside the int64 range"),
        (gt("year", -(2**64)), "outside the int64 range"),
        (in_("year", [1, 2**70]), "outside the int64 range"),
        (gt("price", 2**53 + 1), "no exact double"),
        (in_("price", [2**53 + 1, 3]), "no exact double"),
    ],
)
def test_numbers_a_typed_column_cannot_hold_are_refused(node: Filter, message: str) -> None:
    for engine in (LITE, SERVER_25, SERVER_23):
        with pytest.raises(FilterError, match=message):
            compile_filter(node, SPEC, engine)


def test_in_lists_on_a_double_column_are_floats_with_both_zeros() -> None:
    assert compile_filter(in_("price", [0, 1.5]), SPEC, LITE) == "(price in [0.0, 1.5, -0.0, 0.0])"
    assert compile_filter(in_("price", [3]), SPEC, LITE) == "(price in [3.0])"
    assert compile_filter(in_("year", [0, 3]), SPEC, LITE) == "(year in [0, 3])"


def test_engines_without_line_escapes_get_raw_tabs_and_refuse_line_breaks() -> None:
    """Milvus Lite 2.5.1 reads "\\n" in a literal as "n": such values cannot be written."""
    plain = Dialect(line_escapes=False)
    assert escape_string("a\tb", line_escapes=False) == '"a\tb"'
    assert escape_string('a\\"b', line_escapes=False) == '"a\\\\\\"b"'
    assert compile_filter(eq("k", "a\tb"), SPEC, plain) == f'({M} == "a\tb")'
    assert compile_filter(eq("k", "a\tb"), SPEC, LITE) == f'({M} == "a\\tb")'
    for node in (
        eq("k", "a\nb"),
        in_("k", ["x", "a\rb"]),
        like("k", "a\n%"),
        contains("k", "x\n"),
        id_in(["ok", "bad\n"]),
        or_(eq("k", 1), eq("k", "\r")),
    ):
        with pytest.raises(FilterError, match="line break"):
            compile_filter(node, SPEC, plain)
        compile_filter(node, SPEC, LITE)  # escaped where the engine reads escapes


@pytest.mark.parametrize("word", ["true", "FALSE", "like", "In", "json_contains", "is"])
def test_columns_named_like_expression_words_are_never_written_into_a_filter(word: str) -> None:
    """Milvus Lite 3 reads `true == true` on a column `true` as a constant: every row."""
    declared = CollectionSpec(
        name="d", dim=4, metadata_fields=[MetadataField(name=word, type="BOOL")]
    )
    with pytest.raises(FilterError, match="named like a word of Milvus filter expressions"):
        compile_filter(eq(word, True), declared, LITE)
    with pytest.raises(FilterError, match="named like a word"):
        compile_filter(not_(exists(word)), declared, LITE)
    # An accelerator column so named (made before such keys were left out) is skipped:
    # the JSON path holds every value.
    accelerated = CollectionSpec(
        name="a", dim=4, accelerated_fields=[MetadataField(name=word, type="BOOL")]
    )
    assert compile_filter(eq(word, True), accelerated, LITE) == (f'(metadata["{word}"] == true)')


def test_lone_surrogates_are_refused_in_filter_values_and_ids() -> None:
    """pymilvus failed to encode them mid-call ("surrogates not allowed")."""
    for node in (eq("k", "a\udcff"), in_("k", ["x", "\ud800"]), like("k", "\udcff%")):
        with pytest.raises(FilterError, match="lone surrogate"):
            compile_filter(node, SPEC, LITE)
    with pytest.raises(InvalidInputError, match=r"ids\[1\]: the id contains a lone surrogate"):
        id_in(["ok", "\udcff"])
    assert compile_filter(eq("k", "é😀"), SPEC, LITE) == f'({M} == "é😀")'


@pytest.mark.parametrize(
    "build",
    [
        lambda: eq("a", 1) & "a == 2",
        lambda: "a == 2" & eq("a", 1),
        lambda: eq("a", 1) | None,
        lambda: eq("a", 1) | "",
        lambda: {"a": 1} | eq("a", 1),
        lambda: ~eq("a", 1) & [],
        lambda: and_(eq("a", 1), "raw"),
        lambda: or_(None),
        lambda: not_("a == 1"),  # type: ignore[arg-type]
        lambda: And("a == 1"),  # type: ignore[arg-type]
    ],
)
def test_combining_a_filter_with_something_else_is_a_filter_error(build: Any) -> None:
    """A raw string, None, a dict or a list combined with a filter used to build a tree
    that failed with a bare AttributeError when compiled; it is refused when built."""
    with pytest.raises(FilterError, match="filter"):
        build()
    assert and_(eq("a", 1), Raw("b == 2")) == eq("a", 1) & Raw("b == 2")
