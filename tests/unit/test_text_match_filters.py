"""Text and phrase match: builders, compiler (escaping, dialects), evaluator, dict operators."""

from __future__ import annotations

import pytest

from milvus_plugins.core import (
    CollectionSpec,
    FilterError,
    TextAnalyzer,
    UnsupportedByServerError,
    analyze,
    compile_filter,
    filter_from_dict,
    matches,
    not_,
    phrase_match,
    text_match,
)
from milvus_plugins.core.capabilities import detect_capabilities
from milvus_plugins.core.filters import Dialect

SPEC = CollectionSpec(name="c", dim=2, text_match=True)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("fox", '(TEXT_MATCH(text, "fox"))'),
        ('"quoted"', '(TEXT_MATCH(text, "\\"quoted\\""))'),
        ("back\\slash", '(TEXT_MATCH(text, "back\\\\slash"))'),
        ("') or true or ('", "(TEXT_MATCH(text, \"') or true or ('\"))"),
        ('x") or TEXT_MATCH(text, "y', '(TEXT_MATCH(text, "x\\") or TEXT_MATCH(text, \\"y"))'),
        ("new\nline", '(TEXT_MATCH(text, "new\\nline"))'),
    ],
)
def test_the_query_is_one_escaped_literal(query: str, expected: str) -> None:
    assert compile_filter(text_match(query), SPEC) == expected


def test_phrase_and_negation_compile() -> None:
    assert compile_filter(phrase_match("a b", 2), SPEC) == '(PHRASE_MATCH(text, "a b", 2))'
    assert compile_filter(not_(text_match("a")), SPEC) == '(not TEXT_MATCH(text, "a"))'


def test_a_renamed_text_field_is_used() -> None:
    from milvus_plugins.core import FieldNames

    spec = CollectionSpec(name="c", dim=2, text_match=True, fields=FieldNames(text="body"))
    assert compile_filter(text_match("a"), spec) == '(TEXT_MATCH(body, "a"))'


@pytest.mark.parametrize("bad", ["", "   ", None, 3, ["a"]])
def test_blank_or_non_string_queries_are_filter_errors(bad: object) -> None:
    with pytest.raises(FilterError):
        text_match(bad)  # type: ignore[arg-type]
    with pytest.raises(FilterError):
        phrase_match(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("slop", [-1, 1.5, True, "1"])
def test_bad_slop_is_a_filter_error(slop: object) -> None:
    with pytest.raises(FilterError, match="slop"):
        phrase_match("a b", slop)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("version", "text", "phrase"),
    [
        ("milvus_lite-3.2.2", True, False),
        ("v2.3.5-lite", False, False),
        ("v2.5.0", True, False),
        ("v2.5.17", True, True),
        ("v2.6.1", True, True),
    ],
)
def test_engines_without_the_function_raise_unsupported(
    version: str, text: bool, phrase: bool
) -> None:
    dialect = detect_capabilities(version).dialect
    for node, available, minimum in (
        (text_match("a"), text, "2.5.0"),
        (phrase_match("a b"), phrase, "2.5.17"),
    ):
        if available:
            assert "MATCH(" in compile_filter(node, SPEC, dialect)
        else:
            with pytest.raises(UnsupportedByServerError) as info:
                compile_filter(node, SPEC, dialect)
            assert info.value.minimum_version == minimum
            assert info.value.server_version == version


def test_a_collection_without_match_is_a_filter_error() -> None:
    with pytest.raises(FilterError, match="text_match=True"):
        compile_filter(text_match("a"), CollectionSpec(name="c", dim=2))


def test_negation_without_not_is_a_filter_error() -> None:
    with pytest.raises(FilterError, match="not"):
        compile_filter(not_(text_match("a")), SPEC, Dialect(not_expr=False))


def test_analyzer_needs_sparse_bm25_or_text_match() -> None:
    from milvus_plugins.core import ConfigError

    with pytest.raises(ConfigError, match="text_match"):
        CollectionSpec(name="c", analyzer=TextAnalyzer())
    assert CollectionSpec(name="c", analyzer=TextAnalyzer(), text_match=True).text_match


@pytest.mark.parametrize(
    ("text", "analyzer", "terms"),
    [
        ("Error E1234, Billing!", None, ["error", "e1234", "billing"]),
        ("snake_case Machine-Learning", None, ["snake_case", "machine", "learning"]),
        ("The Fox", TextAnalyzer(stop_words=["the"]).params(), ["fox"]),
        ("The Fox", TextAnalyzer(lowercase=False).params(), ["The", "Fox"]),
        ("') or true or ('", None, ["or", "true", "or"]),
    ],
)
def test_analyze_simple_analyzers(text: str, analyzer: dict | None, terms: list[str]) -> None:
    assert analyze(text, analyzer) == terms


def test_analyze_refuses_what_it_cannot_reproduce() -> None:
    with pytest.raises(FilterError):
        analyze("a", TextAnalyzer(stemmer="english").params())
    with pytest.raises(FilterError):
        analyze("a", {"tokenizer": "jieba"})


@pytest.mark.parametrize(
    ("node", "text", "expected"),
    [
        (text_match("QUICK dog"), "the quick fox", True),
        (text_match("cat"), "concatenate", False),
        (phrase_match("quick brown"), "the quick brown fox", True),
        (phrase_match("brown quick"), "the quick brown fox", False),
        (phrase_match("brown quick", 2), "the quick brown fox", True),
        (phrase_match("quick fox"), "the quick brown fox", False),
        (phrase_match("quick fox", 1), "the quick brown fox", True),
        (phrase_match("fox fox"), "fox", False),
        (phrase_match("fox fox"), "fox fox", True),
    ],
)
def test_evaluator_semantics(node: object, text: str, expected: bool) -> None:
    assert matches(node, {}, text=text) is expected  # type: ignore[arg-type]


def test_a_stop_word_query_matches_nothing() -> None:
    analyzer = TextAnalyzer(stop_words=["the"]).params()
    assert not matches(text_match("the"), {}, text="the fox", analyzer=analyzer)


def test_dict_operators() -> None:
    assert filter_from_dict({"text": {"$text_match": "a"}}) == text_match("a")
    assert filter_from_dict({"text": {"$phrase_match": "a b"}}) == phrase_match("a b")
    assert filter_from_dict(
        {"text": {"$phrase_match": {"phrase": "a b", "slop": 1}}}
    ) == phrase_match("a b", 1)
    with pytest.raises(FilterError, match="document text"):
        filter_from_dict({"title": {"$text_match": "a"}})
    with pytest.raises(FilterError, match="phrase"):
        filter_from_dict({"text": {"$phrase_match": {"slop": 1}}})
