"""Self-query translation and metadata description, checked on Milvus Lite.

The translator is tested the way the retriever uses it: a ``StructuredQuery`` (what the
LLM's output parses into) is translated and the resulting ``filter=`` is searched on a
real collection; the rows found are compared with a pure-Python evaluation of the same
structured query over the corpus. Then ``langchain-classic``'s own ``SelfQueryRetriever``
runs end to end: a scripted LLM answers with the query constructor's JSON, parsed by
LangChain's grammar, translated by :class:`MilvusTranslator`, with the
``metadata_field_info`` from :func:`describe_metadata`.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_classic.chains.query_constructor.schema import AttributeInfo
from langchain_classic.retrievers.self_query.base import SelfQueryRetriever
from langchain_core.documents import Document
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.language_models.fake import FakeListLLM
from langchain_core.structured_query import (
    Comparator,
    Comparison,
    FilterDirective,
    Operation,
    Operator,
    StructuredQuery,
)

from milvus_plugins.core.describe import describe_fields, describe_sample
from milvus_plugins.core.errors import ConfigError, FilterError
from milvus_plugins.langchain import MilvusTranslator, MilvusVectorStore, describe_metadata
from milvus_plugins.langchain import self_query as self_query_module

BOOKS: list[dict[str, Any]] = [
    {"id": "1", "genre": "drama", "year": 1999, "rating": 8.1, "tags": ["classic", "war"]},
    {"id": "2", "genre": "comedy", "year": 2005, "rating": 6.5, "tags": ["family"]},
    {"id": "3", "genre": "drama", "year": 2012, "rating": 7.9, "tags": ["romance"]},
    {"id": "4", "genre": "sci-fi", "year": 2019, "rating": 9.0, "tags": ["space", "classic"]},
    {"id": "5", "genre": "sci-fi", "year": 1982, "rating": 8.6, "tags": []},
    {"id": "6", "genre": "horror", "year": 2021, "rating": 5.2, "tags": ["war"], "award": "x"},
]
TITLES = {
    "1": "The quiet front",
    "2": "Family matters",
    "3": "Rain in Paris",
    "4": "Star harbour",
    "5": "Blade of Tomorrow",
    "6": "The Cellar",
}


def _doc(book: dict[str, Any]) -> Document:
    metadata = {k: v for k, v in book.items() if k != "id"}
    metadata["title"] = TITLES[book["id"]]
    return Document(id=book["id"], page_content=TITLES[book["id"]], metadata=metadata)


class CountingEmbedding(DeterministicFakeEmbedding):
    """Counts query embeddings: a filter-only question must not embed anything."""

    queries: int = 0

    def embed_query(self, text: str) -> list[float]:
        self.queries += 1
        return super().embed_query(text)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> MilvusVectorStore:
    uri = str(tmp_path_factory.mktemp("self_query") / "milvus.db")
    vs = MilvusVectorStore(
        CountingEmbedding(size=8),
        uri=uri,
        collection_name="books",
        metadata_fields={"year": "INT64"},
    )
    vs.add_documents([_doc(b) for b in BOOKS])
    return vs


# -- a pure-Python oracle for structured queries ---------------------------------------------


def _like(value: Any, pattern: str) -> bool:
    import re

    if "%" not in pattern:
        pattern = f"%{pattern}%"
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return isinstance(value, str) and re.fullmatch(regex, value, re.S) is not None


def _holds(directive: FilterDirective, meta: dict[str, Any]) -> bool:
    if isinstance(directive, Operation):
        results = [_holds(a, meta) for a in directive.arguments]
        if directive.operator is Operator.AND:
            return all(results)
        if directive.operator is Operator.OR:
            return any(results)
        return not results[0]
    assert isinstance(directive, Comparison)
    present = directive.attribute in meta
    value, target = meta.get(directive.attribute), directive.value
    checks = {
        Comparator.EQ: lambda: present and value == target,
        Comparator.NE: lambda: not present or value != target,
        Comparator.GT: lambda: present and value > target,
        Comparator.GTE: lambda: present and value >= target,
        Comparator.LT: lambda: present and value < target,
        Comparator.LTE: lambda: present and value <= target,
        Comparator.IN: lambda: present and value in target,
        Comparator.NIN: lambda: not present or value not in target,
        Comparator.CONTAIN: lambda: present and target in value,
        Comparator.LIKE: lambda: present and _like(value, target),
    }
    return bool(checks[directive.comparator]())


def C(comparator: Comparator, attribute: str, value: Any) -> Comparison:
    return Comparison(comparator=comparator, attribute=attribute, value=value)


def Op(operator: Operator, *arguments: FilterDirective) -> Operation:
    return Operation(operator=operator, arguments=list(arguments))


QUERIES: list[FilterDirective] = [
    C(Comparator.EQ, "genre", "drama"),
    C(Comparator.NE, "genre", "drama"),
    C(Comparator.GT, "year", 2005),
    C(Comparator.GTE, "year", 2005),
    C(Comparator.LT, "rating", 7.9),
    C(Comparator.LTE, "rating", 7.9),
    C(Comparator.IN, "genre", ["comedy", "horror"]),
    C(Comparator.NIN, "genre", ["comedy", "horror"]),
    C(Comparator.CONTAIN, "tags", "classic"),
    C(Comparator.LIKE, "title", "The %"),
    C(Comparator.LIKE, "title", "arbour"),  # no wildcard: a substring
    C(Comparator.LIKE, "title", "in_Paris"),  # an LLM's snake_case: still a substring
    C(Comparator.EQ, "award", "x"),  # a key only one row has
    C(Comparator.NE, "award", "x"),
    Op(Operator.AND, C(Comparator.EQ, "genre", "sci-fi"), C(Comparator.GT, "rating", 8.7)),
    Op(Operator.OR, C(Comparator.LT, "year", 1990), C(Comparator.CONTAIN, "tags", "war")),
    Op(Operator.NOT, C(Comparator.EQ, "genre", "drama")),
    Op(
        Operator.NOT,
        Op(Operator.OR, C(Comparator.GTE, "year", 2012), C(Comparator.EQ, "genre", "comedy")),
    ),
    C(Comparator.EQ, "genre", 'x" or genre != "'),  # hostile: matches nothing
]


@pytest.mark.parametrize("directive", QUERIES, ids=lambda d: repr(d)[:60])
def test_translated_filter_finds_exactly_the_rows_the_query_means(
    store: MilvusVectorStore, directive: FilterDirective
) -> None:
    query, kwargs = MilvusTranslator().visit_structured_query(
        StructuredQuery(query="a story", filter=directive)
    )
    assert query == "a story" and set(kwargs) == {"filter"}
    found = {d.id for d in store.similarity_search(query, k=50, **kwargs)}
    expected = {b["id"] for b in BOOKS if _holds(directive, _doc(b).metadata)}
    assert found == expected


def test_every_langchain_comparator_and_operator_is_translated() -> None:
    translator = MilvusTranslator()
    assert set(translator.allowed_comparators or ()) == set(Comparator)
    assert set(translator.allowed_operators or ()) == set(Operator)
    assert C(Comparator.CONTAIN, "tags", "war").accept(translator) == {"tags": {"$contains": "war"}}
    assert C(Comparator.LIKE, "t", "ab%").accept(translator) == {"t": {"$like": "ab%"}}
    assert C(Comparator.LIKE, "t", "ab").accept(translator) == {"t": {"$like": "%ab%"}}
    assert C(Comparator.LIKE, "t", "a_b").accept(translator) == {"t": {"$like": "%a_b%"}}
    nested = Op(Operator.NOT, Op(Operator.AND, C(Comparator.EQ, "a", 1)))
    assert nested.accept(translator) == {"$not": {"$and": [{"a": {"$eq": 1}}]}}


def test_no_filter_gives_no_filter_kwarg() -> None:
    assert MilvusTranslator().visit_structured_query(StructuredQuery(query="q", filter=None)) == (
        "q",
        {},
    )


def test_query_constructor_dates_become_iso_strings() -> None:
    date = {"type": "date", "date": "2024-01-31"}
    assert C(Comparator.GTE, "published", date).accept(MilvusTranslator()) == {
        "published": {"$gte": "2024-01-31"}
    }


def test_unsupported_comparator_or_operator_raises_a_filter_error() -> None:
    translator = MilvusTranslator()
    odd = Comparison.model_construct(comparator="regex", attribute="title", value="^T")
    with pytest.raises(FilterError, match="comparator 'regex' on 'title'"):
        translator.visit_comparison(odd)
    xor = Operation.model_construct(operator="xor", arguments=[C(Comparator.EQ, "a", 1)])
    with pytest.raises(FilterError, match="operator 'xor'"):
        translator.visit_operation(xor)
    two = Op(Operator.NOT, C(Comparator.EQ, "a", 1), C(Comparator.EQ, "b", 2))
    with pytest.raises(FilterError, match="not\\(\\) takes one filter"):
        two.accept(translator)
    with pytest.raises(FilterError, match="like on 'n' takes a string"):
        C(Comparator.LIKE, "n", 3).accept(translator)


# -- describe_metadata -----------------------------------------------------------------------


def test_describe_metadata_lists_typed_and_sampled_keys_with_their_values(
    store: MilvusVectorStore,
) -> None:
    described = describe_metadata(store, max_distinct=4)
    assert all(isinstance(info, AttributeInfo) for info in described)  # langchain-classic's
    infos = {info.name: info.model_dump() for info in described}
    assert next(iter(infos)) == "year"  # typed columns first
    assert {name: info["type"] for name, info in infos.items()} == {
        "year": "integer",
        "award": "string",
        "genre": "string",
        "rating": "float",
        "tags": "list[string]",
        "title": "string",
    }
    genre = infos["genre"]["description"]
    assert "'comedy', 'drama', 'horror', 'sci-fi'" in genre
    assert "one of" not in infos["title"]["description"]  # 6 distinct > max_distinct
    assert "present in 1 of 6 sampled rows" in infos["award"]["description"]
    assert set(infos["year"]) == {"name", "description", "type"}


def test_describe_metadata_sample_size_limits_the_rows_read(store: MilvusVectorStore) -> None:
    fields = describe_fields(store.store, sample_size=2, max_distinct=0)
    assert fields and all(f.sampled == 2 and f.values is None for f in fields)
    assert {f.name for f in describe_fields(store.store)} >= {"genre", "award", "tags"}


def test_describe_sample_merges_types_and_skips_missing_values() -> None:
    fields = describe_sample(
        [{"n": 1, "x": "a"}, {"n": 2.5, "x": None}, {"n": 3, "mix": 1}, {"mix": "one"}],
        max_distinct=5,
    )
    by_name = {f.name: f for f in fields}
    assert by_name["n"].type == "float" and by_name["n"].present == 3
    assert by_name["x"].values == ("a",) and by_name["x"].present == 1
    assert by_name["mix"].type == "mixed" and by_name["mix"].values is None


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [({"sample_size": 0}, "sample_size"), ({"max_distinct": -1}, "max_distinct")],
)
def test_describe_metadata_bad_arguments_raise_config_error(
    store: MilvusVectorStore, kwargs: dict[str, Any], needle: str
) -> None:
    with pytest.raises(ConfigError, match=needle):
        describe_metadata(store, **kwargs)


def test_describe_metadata_of_a_missing_collection_is_empty(lite_uri: str) -> None:
    vs = MilvusVectorStore(DeterministicFakeEmbedding(size=8), uri=lite_uri, collection_name="n")
    assert describe_metadata(vs) == []


def test_describe_metadata_without_langchain_classic_gives_dicts(
    store: MilvusVectorStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(self_query_module, "_ATTRIBUTE_INFO_MODULES", ("no_such_module",))
    infos = describe_metadata(store)
    assert infos and all(set(info) == {"name", "description", "type"} for info in infos)


# -- SelfQueryRetriever end to end -----------------------------------------------------------


def _self_query(store: MilvusVectorStore, answer: dict[str, Any]) -> SelfQueryRetriever:
    llm = FakeListLLM(responses=[f"```json\n{json.dumps(answer)}\n```"])
    return SelfQueryRetriever.from_llm(
        llm,
        store,
        "titles of books",
        describe_metadata(store),
        structured_query_translator=MilvusTranslator(),
        enable_limit=True,
        search_kwargs={"k": 4},
    )


RETRIEVER_CASES = [
    ('and(eq("genre", "sci-fi"), gt("rating", 8.7))', {"4"}),
    ('or(lt("year", 1990), contain("tags", "war"))', {"1", "5", "6"}),
    ('not(eq("genre", "drama"))', {"2", "4", "5", "6"}),
    ('in("genre", ["comedy", "horror"])', {"2", "6"}),
    ('gte("year", 2005)', {"2", "3", "4", "6"}),
    ('like("title", "The %")', {"1", "6"}),
    ('eq("genre", "x\\" or genre != \\"")', set()),  # hostile: matches nothing
]


@pytest.mark.parametrize(("filter_text", "expected"), RETRIEVER_CASES)
def test_self_query_retriever_filter_only_question_returns_exactly_the_filtered_books(
    store: MilvusVectorStore, filter_text: str, expected: set[str]
) -> None:
    embedding = store.embeddings
    assert isinstance(embedding, CountingEmbedding)
    before = embedding.queries
    retriever = _self_query(store, {"query": "", "filter": filter_text})
    found = {d.id for d in retriever.invoke("books matching a filter")}
    assert found == expected
    assert embedding.queries == before  # filter-only: the blank query is not embedded


def test_self_query_retriever_ranks_a_question_with_text_within_its_filter(
    store: MilvusVectorStore,
) -> None:
    answer = {"query": "Star harbour", "filter": 'gte("year", 2000)', "limit": 1}
    assert [d.id for d in _self_query(store, answer).invoke("the harbour book")] == ["4"]
    answer = {"query": "Blade of Tomorrow", "filter": 'gte("year", 2000)', "limit": 2}
    found = [d.id for d in _self_query(store, answer).invoke("blade, after 2000")]
    assert len(found) == 2 and "5" not in found  # the nearest book is outside the filter


async def test_self_query_retriever_async(store: MilvusVectorStore) -> None:
    retriever = _self_query(store, {"query": "", "filter": 'eq("genre", "drama")'})
    found = await retriever.ainvoke("dramas")
    assert {d.id for d in found} == {"1", "3"}
