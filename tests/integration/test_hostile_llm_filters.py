"""Hostile LLM-written filters: LangChain self-query trees and LlamaIndex ``MetadataFilters``.

Whatever structured query an LLM produces must either select exactly the rows an
independent Python evaluation of the same tree selects (the semantics the package
documents: kinds never equal each other, ``ne``/``nin``/``NE``/``NIN`` keep rows without
the key, an order between kinds is unknown, LlamaIndex's 0/1 also match bools) or be
refused with a typed :class:`MilvusPluginsError`. Values and attribute names are hostile
(quotes, backslashes, unicode, expression words, dotted and bracketed names), and a
structurally always-true filter must never widen a delete. Milvus Lite, no mocks.
"""

from __future__ import annotations

import ast
import contextlib
import json
import math
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.documents import Document as LCDocument
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.structured_query import (
    Comparator,
    Comparison,
    FilterDirective,
    Operation,
    Operator,
    StructuredQuery,
)
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
)
from pydantic import ValidationError

from milvus_plugins.core import filter_from_dict, matches
from milvus_plugins.core.exceptions import MilvusPluginsError
from milvus_plugins.langchain import MilvusTranslator
from milvus_plugins.langchain import MilvusVectorStore as LCMilvus
from milvus_plugins.llama_index import MilvusVectorStore as LIMilvus
from milvus_plugins.llama_index.filters import to_core_filter as li_to_core

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

DIM = 8
INJECTION = '" or id != "'
GENRES = ["drama", 'sci"fi', "a\\b", "é☃", "50%_off", INJECTION, "", "user_guide"]
MIXED: list[Any] = [1, "1", True, 0, False, [1, "x"], None, 2.5, -0.0, "true", 2**53 + 1]
TAG_SETS: list[list[Any]] = [["a", "b"], ["b"], [], ["a", 'q"uote'], [1, "a"], ["\\"]]
DATES = ["2024-01-01", "2023-12-31", "2024-06-15T10:00:00", "1999-01-01"]


def _meta(i: int) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "genre": GENRES[i % len(GENRES)],
        "rating": [1.5, 7.0, 9.25, -0.0, 1e300][i % 5],
        "flag": i % 3 == 0,
        "date": DATES[i % len(DATES)],
        "tags": TAG_SETS[i % len(TAG_SETS)],
        'we"ird': i % 4,
        "a.b": f"dot{i % 2}",
    }
    if i % 7 != 6:
        meta["year"] = 1990 + (i * 3) % 35
    if i % 11 != 10:
        meta["mixed"] = MIXED[i % len(MIXED)]
    # an accelerated int key that later holds strings (back to the JSON path)
    meta["drift"] = "x" if i >= 20 and i % 2 else i % 5
    if i >= 20:  # written after the collection exists: JSON only
        meta["late"] = [3, "3", True, 0.5][i % 4]
    return meta


CORPUS: dict[str, dict[str, Any]] = {f"d{i:02d}": _meta(i) for i in range(30)}
FIRST = [k for k in CORPUS if int(k[1:]) < 20]
SECOND = [k for k in CORPUS if int(k[1:]) >= 20]

# ------------------------------------------------------------------------------------
# The reference: an independent three-valued evaluation (True / False / None = unknown)
# ------------------------------------------------------------------------------------

Tri = bool | None


def _kind(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    return "string" if isinstance(v, str) else "other"


def _cmp(actual: Any, op: str, expected: Any) -> Tri:
    if _kind(actual) != _kind(expected) or _kind(actual) == "other":
        return {"eq": False, "ne": True}.get(op)
    if op == "eq":
        return bool(actual == expected)
    if op == "ne":
        return bool(actual != expected)
    ordered: dict[str, bool] = {
        "gt": actual > expected,
        "gte": actual >= expected,
        "lt": actual < expected,
        "lte": actual <= expected,
    }
    return ordered[op]


def _like(value: str, pattern: str) -> bool:
    rx = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(rx, value, flags=re.DOTALL) is not None


def _not(v: Tri) -> Tri:
    return None if v is None else not v


def _and(vs: list[Tri]) -> Tri:
    if any(v is False for v in vs):
        return False
    return None if any(v is None for v in vs) else True


def _or(vs: list[Tri]) -> Tri:
    if any(v is True for v in vs):
        return True
    return None if any(v is None for v in vs) else False


def _plain(v: Any) -> Any:
    if isinstance(v, dict) and v.get("type") in ("date", "datetime"):
        return v[v["type"]]
    return [_plain(x) for x in v] if isinstance(v, list) else v


def lc_eval(node: FilterDirective, row: Mapping[str, Any]) -> Tri:
    """LangChain tree semantics as the package documents them, in plain Python."""
    if isinstance(node, Operation):
        vals = [lc_eval(a, row) for a in node.arguments]
        if node.operator == Operator.NOT:
            return _not(vals[0])
        return _and(vals) if node.operator == Operator.AND else _or(vals)
    assert isinstance(node, Comparison)
    comp, value = node.comparator.value, _plain(node.value)
    actual = row.get(node.attribute)
    present = actual is not None
    if comp in ("ne", "nin"):
        inner = Comparison(
            comparator=Comparator.EQ if comp == "ne" else Comparator.IN,
            attribute=node.attribute,
            value=node.value,
        )
        return _not(lc_eval(inner, row))
    if not present:
        return False
    if comp == "in":
        return any(_cmp(actual, "eq", v) is True for v in value)
    if comp == "like":
        pattern = value if "%" in value else f"%{value}%"
        return _like(actual, pattern) if isinstance(actual, str) else None
    if comp == "contain":
        if not isinstance(actual, list):
            return None
        return any(_cmp(a, "eq", value) is True for a in actual)
    return _cmp(actual, comp, value)


def _li_truth(v: Any) -> bool | None:
    if isinstance(v, (int, float)) and not isinstance(v, bool) and v in (0, 1):
        return bool(v)
    return None


def _li_equal(actual: Any, v: Any) -> bool:
    # LlamaIndex takes no True/False values: its 0/1 equal the bools, as in Python.
    if isinstance(actual, bool) and _li_truth(v) is not None:
        return actual is _li_truth(v)
    return _cmp(actual, "eq", v) is True


def li_eval(node: MetadataFilters | MetadataFilter, row: Mapping[str, Any]) -> Tri:
    """LlamaIndex filter semantics as the package documents them, in plain Python."""
    if isinstance(node, MetadataFilters):
        vals = [li_eval(f, row) for f in node.filters]
        if not vals:
            return True
        cond = node.condition or FilterCondition.AND
        if cond == FilterCondition.AND:
            return _and(vals)
        return _or(vals) if cond == FilterCondition.OR else _not(_or(vals))
    op, value = node.operator, node.value
    actual = row.get(node.key)
    if op == FilterOperator.IS_EMPTY:
        return actual is None or (isinstance(actual, (str, list)) and not actual)
    if op in (FilterOperator.NE, FilterOperator.NIN):
        values = [value] if op == FilterOperator.NE else list(value)  # type: ignore[arg-type]
        return actual is None or not any(_li_equal(actual, v) for v in values)
    if actual is None:
        return False
    if op in (FilterOperator.EQ, FilterOperator.IN):
        values = [value] if op == FilterOperator.EQ else list(value)  # type: ignore[arg-type]
        return any(_li_equal(actual, v) for v in values)
    if op == FilterOperator.TEXT_MATCH:
        return str(value) in actual if isinstance(actual, str) else None
    if op in (FilterOperator.CONTAINS, FilterOperator.ANY, FilterOperator.ALL):
        if not isinstance(actual, list):
            return None
        wanted = [value] if op == FilterOperator.CONTAINS else list(value)  # type: ignore[arg-type]
        hits = [any(_cmp(a, "eq", w) is True for a in actual) for w in wanted]
        return all(hits) if op == FilterOperator.ALL else any(hits)
    return _cmp(actual, {">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}[op.value], value)


def _expected(tri_of: Any) -> set[str]:
    return {k for k, meta in CORPUS.items() if tri_of(meta) is True}


# ------------------------------------------------------------------------------------
# Stores (one Lite file per framework; "year" declared, scalar keys of the first write
# accelerated, "mixed"/"tags"/"late" JSON only)
# ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lc_store(tmp_path_factory: pytest.TempPathFactory) -> LCMilvus:
    uri = str(tmp_path_factory.mktemp("llm_lc") / "m.db")
    store = LCMilvus(
        DeterministicFakeEmbedding(size=DIM),
        uri=uri,
        collection_name="lc",
        metadata_fields={"year": "INT64"},
    )
    for ids in (FIRST, SECOND):
        store.add_documents(
            [LCDocument(id=k, page_content=f"row {k}", metadata=CORPUS[k]) for k in ids]
        )
    return store


def _nodes(ids: list[str]) -> list[TextNode]:
    return [
        TextNode(id_=k, text=f"row {k}", metadata=CORPUS[k], embedding=[0.1 * (j + 1)] * DIM)
        for j, k in enumerate(ids)
    ]


@pytest.fixture(scope="module")
def li_store(tmp_path_factory: pytest.TempPathFactory) -> LIMilvus:
    uri = str(tmp_path_factory.mktemp("llm_li") / "m.db")
    store = LIMilvus(uri=uri, collection_name="li", dim=DIM, metadata_fields={"year": "INT64"})
    store.add(_nodes(FIRST))
    store.add(_nodes(SECOND))
    return store


def _lc_search(
    store: LCMilvus, directive: FilterDirective, text: str = ""
) -> set[str] | MilvusPluginsError:
    """Filter-only (blank text, as SelfQueryRetriever sends) or ranked by ``text``."""
    try:
        query, kwargs = MilvusTranslator().visit_structured_query(
            StructuredQuery(query=text, filter=directive)
        )
        return {str(d.id) for d in store.similarity_search(query, k=100, **kwargs)}
    except MilvusPluginsError as exc:
        return exc


def _li_search(
    store: LIMilvus, filters: MetadataFilters, vector: list[float] | None = None
) -> set[str] | MilvusPluginsError:
    """Filter-only (no embedding, as the auto-retriever sends) or ranked by ``vector``."""
    try:
        query = VectorStoreQuery(
            query_str="", query_embedding=vector, similarity_top_k=100, filters=filters
        )
        result = store.query(query)
        return set(result.ids or [])
    except MilvusPluginsError as exc:
        return exc


# ------------------------------------------------------------------------------------
# Strategies: what an LLM may write
# ------------------------------------------------------------------------------------

ATTRIBUTES = [
    "drift",
    "year",
    "genre",
    "rating",
    "flag",
    "date",
    "tags",
    "mixed",
    "late",
    'we"ird',
    "a.b",
    "missing",
    "meta[0]",
    "genre.x",
    'genre"] or 1==1 or ["',
    "é ☃",
    " ",
    "$not",
    "$and",
    "metadata['genre']",
]
HOSTILE_STRINGS = [
    INJECTION,
    "' or 1 == 1 or '",
    "\\",
    '\\"',
    "%",
    "_",
    "a%",
    "%b",
    "\n",
    "\u0000",
    "true",
    "null",
    "\\%",
    "\\_",
    "a\\",
    "%\\%",
]
ints = st.sampled_from(
    [0, 1, 2, 3, -1, 1990, 2005, 2024, 2**53, 2**53 + 1, 2**53 + 2, 2**63 - 1, 2**63, -(2**70)]
)
floats = st.sampled_from(
    [1.5, 7.0, 9.25, -0.0, 0.0, 1e300, 1e308, -1e308, 2.5, 0.5, 1.0, 1990.0, 2.0**53, 5e-324]
)
strings = st.sampled_from(
    GENRES + DATES + HOSTILE_STRINGS + ["1", "3", "dot0", "a", "b"]
) | st.text(max_size=4)
dates = st.sampled_from(DATES[:2]).map(lambda d: {"date": d, "type": "date"}) | st.just(
    {"datetime": DATES[2], "type": "datetime"}
)
scalars = st.one_of(ints, floats, strings, st.booleans(), dates)
weird = st.sampled_from([math.nan, math.inf, -math.inf, None, {"a": 1}])
lc_values = st.one_of(scalars, st.lists(scalars, max_size=3), weird)


def _seen(attribute: str) -> list[Any]:
    """The values the corpus holds under ``attribute`` (list elements too)."""
    out: list[Any] = []
    for meta in CORPUS.values():
        value = meta.get(attribute)
        for v in value if isinstance(value, list) else [value]:
            if v is not None and v not in out:
                out.append(v)
    return out or ["nothing"]


def _value(draw: st.DrawFn, attribute: str, base: st.SearchStrategy[Any]) -> Any:
    if draw(st.booleans()):
        return draw(st.sampled_from(_seen(attribute)))
    return draw(base)


@st.composite
def lc_comparison(draw: st.DrawFn) -> Comparison:
    comparator = draw(st.sampled_from(list(Comparator)))
    attribute = draw(st.sampled_from(ATTRIBUTES[:9]) | st.sampled_from(ATTRIBUTES))
    value: Any
    if comparator in (Comparator.IN, Comparator.NIN) and draw(st.integers(0, 9)):
        value = [_value(draw, attribute, scalars) for _ in range(draw(st.integers(0, 3)))]
    elif comparator == Comparator.LIKE and draw(st.integers(0, 9)):
        value = _value(draw, attribute, strings)
        value = value if isinstance(value, str) else str(value)
        if draw(st.booleans()):
            value = draw(st.sampled_from(["%", "_", ""])) + value[:3] + "%"
    else:
        value = _value(draw, attribute, scalars if draw(st.integers(0, 5)) else lc_values)
    return Comparison(comparator=comparator, attribute=attribute, value=value)


@st.composite
def _operation(draw: st.DrawFn, children: st.SearchStrategy[FilterDirective]) -> Operation:
    op = draw(st.sampled_from(list(Operator)))
    low, high = (1, 1) if op == Operator.NOT else (1, 3)
    if not draw(st.integers(0, 29)):
        low, high = 0, 3  # the malformed shapes: empty and/or, not() / not(a, b)
    args = draw(st.lists(children, min_size=low, max_size=high))
    return Operation(operator=op, arguments=args)


lc_trees: st.SearchStrategy[FilterDirective] = st.recursive(
    lc_comparison(), lambda children: _operation(children), max_leaves=6
)

li_scalar = st.one_of(ints, floats, strings, st.sampled_from([math.nan, math.inf]))
li_list = st.one_of(
    st.lists(ints, max_size=3), st.lists(floats, max_size=3), st.lists(strings, max_size=3)
)
LI_KEYS = ATTRIBUTES[:9] * 2 + ATTRIBUTES[9:] + ["ref_doc_id", "text", "id", "metadata"]


@st.composite
def li_filter(draw: st.DrawFn) -> MetadataFilter:
    op = draw(st.sampled_from(list(FilterOperator)))
    key = draw(st.sampled_from(LI_KEYS))
    listy = op in (FilterOperator.IN, FilterOperator.NIN, FilterOperator.ANY, FilterOperator.ALL)
    value: Any
    if draw(st.booleans()):
        seen = [v for v in _seen(key) if not isinstance(v, bool)] or ["nothing"]
        one = draw(st.sampled_from(seen))
        value = [one, draw(st.sampled_from(seen))] if listy else one
    elif draw(st.integers(0, 9)):
        value = draw(li_list if listy else li_scalar)
    else:
        value = draw(li_scalar | li_list)
    try:
        return MetadataFilter(key=key, operator=op, value=value)
    except ValidationError:
        return MetadataFilter(key=key, operator=op, value=str(value))


li_trees: st.SearchStrategy[MetadataFilters] = st.recursive(
    st.builds(
        lambda fs, c: MetadataFilters(filters=fs, condition=c),
        st.lists(li_filter(), min_size=1, max_size=3),
        st.sampled_from(list(FilterCondition)),
    ),
    lambda children: st.builds(
        lambda fs, c: MetadataFilters(filters=fs, condition=c),
        st.lists(children | li_filter(), min_size=0, max_size=3),
        st.sampled_from(list(FilterCondition)),
    ),
    max_leaves=5,
)

SETTINGS = settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)


def _walk_lc(node: FilterDirective) -> Iterator[FilterDirective]:
    yield node
    if isinstance(node, Operation):
        for a in node.arguments:
            yield from _walk_lc(a)


def _lc_known_defect(node: FilterDirective) -> bool:
    return False


# ------------------------------------------------------------------------------------
# LangChain self-query
# ------------------------------------------------------------------------------------


@SETTINGS
@given(tree=lc_trees)
def test_any_self_query_tree_is_exact_or_refused(lc_store: LCMilvus, tree: FilterDirective) -> None:
    if _lc_known_defect(tree):
        return
    found = _lc_search(lc_store, tree)
    if isinstance(found, MilvusPluginsError):
        return
    expected = _expected(lambda meta: lc_eval(tree, meta))
    assert found == expected, (tree, found ^ expected)
    assert _lc_search(lc_store, tree, "row d07") == expected  # ranked: k covers the corpus
    # The pure translation means the same as the tree.
    _, kwargs = MilvusTranslator().visit_structured_query(StructuredQuery(query="", filter=tree))
    core = filter_from_dict(kwargs["filter"])
    assert {k for k, m in CORPUS.items() if matches(core, m)} == expected


@pytest.mark.parametrize(
    "tree",
    [
        Operation(operator=Operator.AND, arguments=[]),
        Operation(operator=Operator.OR, arguments=[]),
        Operation(operator=Operator.NOT, arguments=[]),
        Operation(
            operator=Operator.NOT,
            arguments=[
                Comparison(comparator=Comparator.EQ, attribute="genre", value="drama"),
                Comparison(comparator=Comparator.EQ, attribute="flag", value=True),
            ],
        ),
        Comparison(comparator=Comparator.LIKE, attribute="genre", value=["a"]),
        Comparison(comparator=Comparator.IN, attribute="genre", value="drama"),
        Comparison(comparator=Comparator.EQ, attribute="rating", value=math.nan),
        Comparison(comparator=Comparator.GT, attribute="rating", value=math.inf),
        Comparison(comparator=Comparator.EQ, attribute="year", value=2**70),
    ],
    ids=repr,
)
def test_malformed_llm_trees_are_refused_with_a_typed_error(
    lc_store: LCMilvus, tree: FilterDirective
) -> None:
    assert isinstance(_lc_search(lc_store, tree), MilvusPluginsError)


def _c(comp: Comparator, attr: str, value: Any) -> Comparison:
    return Comparison(comparator=comp, attribute=attr, value=value)


@pytest.mark.parametrize(
    "tree",
    [
        _c(Comparator.EQ, "genre", 'sci"fi'),
        _c(Comparator.EQ, "genre", INJECTION),
        _c(Comparator.LIKE, "genre", "user_guide"),
        _c(Comparator.LIKE, "genre", "50%"),
        _c(Comparator.EQ, "flag", True),
        _c(Comparator.EQ, "mixed", 1),
        _c(Comparator.EQ, "mixed", True),
        _c(Comparator.NE, "mixed", 0),
        _c(Comparator.GTE, "date", {"date": "2024-01-01", "type": "date"}),
        _c(Comparator.CONTAIN, "tags", "a"),
        _c(Comparator.NIN, "year", [1990, 1993]),
        _c(Comparator.EQ, 'we"ird', 2),
        _c(Comparator.EQ, "a.b", "dot1"),
        _c(Comparator.EQ, "late", 3),
        _c(Comparator.EQ, "rating", -0.0),
        Operation(operator=Operator.NOT, arguments=[_c(Comparator.GT, "mixed", 0)]),
    ],
    ids=repr,
)
def test_plain_llm_trees_are_answered_exactly(lc_store: LCMilvus, tree: FilterDirective) -> None:
    # Not refused: an ordinary question must get its exact answer.
    found = _lc_search(lc_store, tree)
    assert not isinstance(found, MilvusPluginsError), found
    assert found == _expected(lambda meta: lc_eval(tree, meta))


def test_fake_llm_self_query_retriever_runs_the_exact_filter(lc_store: LCMilvus) -> None:
    from langchain_classic.retrievers.self_query.base import SelfQueryRetriever
    from langchain_core.language_models import FakeListLLM

    from milvus_plugins.langchain import describe_metadata

    answer = {
        "query": " ",
        # LangChain's grammar has no escapes in strings: hostile values without `"`.
        "filter": 'and(or(like("genre", "50%"), eq("a.b", "dot1")), '
        'gte("date", "2023-12-31"), not(eq("flag", true)))',
    }
    llm = FakeListLLM(responses=[f"```json\n{json.dumps(answer)}\n```"])
    infos = describe_metadata(lc_store)
    assert {"genre", "year", "flag"} <= {i.name for i in infos}
    retriever = SelfQueryRetriever.from_llm(
        llm,
        lc_store,
        "rows",
        infos,
        structured_query_translator=MilvusTranslator(),
        search_kwargs={"k": 100},
    )
    got = {str(d.id) for d in retriever.invoke("anything")}
    want = _expected(
        lambda m: (
            (m["genre"].startswith("50") or m["a.b"] == "dot1")
            and m["date"] >= "2023-12-31"
            and not m["flag"]
        )
    )
    assert got == want and want


# ------------------------------------------------------------------------------------
# LlamaIndex MetadataFilters
# ------------------------------------------------------------------------------------


def _li_reserved(filters: MetadataFilters) -> bool:
    for f in filters.filters:
        if isinstance(f, MetadataFilters):
            if _li_reserved(f):
                return True
        elif f.key in ("ref_doc_id", "text", "id", "metadata"):
            return True
    return False


@SETTINGS
@given(filters=li_trees)
def test_any_llama_index_filters_are_exact_or_refused(
    li_store: LIMilvus, filters: MetadataFilters
) -> None:
    found = _li_search(li_store, filters)
    if isinstance(found, MilvusPluginsError):
        return
    if _li_reserved(filters):
        # ref_doc_id / doc_id address the source document (none here: ""), text the node
        # text: not metadata, so only check the pure path is consistent below.
        return
    expected = _expected(lambda meta: li_eval(filters, meta))
    assert found == expected, (filters, found ^ expected)
    assert _li_search(li_store, filters, [0.3] * DIM) == expected
    core = li_to_core(filters)
    assert {k for k, m in CORPUS.items() if matches(core, m)} == expected


# ------------------------------------------------------------------------------------
# Deletes: an always-true structure never widens a delete; a hostile value deletes
# exactly its rows
# ------------------------------------------------------------------------------------


def _always_true_li() -> list[MetadataFilters]:
    empty = MetadataFilters(filters=[])
    real = MetadataFilter(key="genre", operator=FilterOperator.EQ, value="drama")
    return [
        empty,
        MetadataFilters(filters=[empty]),
        MetadataFilters(filters=[empty, empty], condition=FilterCondition.OR),
        MetadataFilters(filters=[MetadataFilters(filters=[empty])], condition=FilterCondition.AND),
        MetadataFilters(filters=[real, empty], condition=FilterCondition.OR),
        MetadataFilters(
            filters=[MetadataFilters(filters=[empty], condition=FilterCondition.NOT)],
            condition=FilterCondition.NOT,
        ),
        MetadataFilters(
            filters=[MetadataFilter(key="genre", operator=FilterOperator.NIN, value=[])]
        ),
        MetadataFilters(
            filters=[MetadataFilter(key="genre", operator=FilterOperator.IN, value=[])],
            condition=FilterCondition.NOT,
        ),
    ]


@pytest.mark.parametrize("index", range(8))
def test_always_true_llama_index_filters_never_widen_a_delete(tmp_path: Path, index: int) -> None:
    store = LIMilvus(uri=str(tmp_path / "d.db"), collection_name="del", dim=DIM)
    store.add(_nodes(FIRST[:5]))
    filters = _always_true_li()[index]
    assert all(li_eval(filters, CORPUS[k]) is True for k in CORPUS)
    with contextlib.suppress(MilvusPluginsError):
        store.delete_nodes(node_ids=[FIRST[0]], filters=filters)
    assert {n.node_id for n in store.get_nodes()} >= set(FIRST[1:5])
    with pytest.raises(MilvusPluginsError):
        store.delete_nodes(filters=filters)
    assert {n.node_id for n in store.get_nodes()} >= set(FIRST[1:5])


def test_always_false_llama_index_not_of_empty_deletes_nothing(tmp_path: Path) -> None:
    # NOT of "no constraint" matches nothing (LlamaIndex's evaluator): a no-op, not a refusal.
    store = LIMilvus(uri=str(tmp_path / "d.db"), collection_name="del", dim=DIM)
    store.add(_nodes(FIRST[:5]))
    empty = MetadataFilters(filters=[], condition=FilterCondition.OR)
    filters = MetadataFilters(filters=[empty], condition=FilterCondition.NOT)
    store.delete_nodes(filters=filters)
    assert {n.node_id for n in store.get_nodes()} == set(FIRST[:5])


def test_hostile_self_query_deletes_delete_exactly_their_rows(tmp_path: Path) -> None:
    store = LCMilvus(
        DeterministicFakeEmbedding(size=DIM),
        uri=str(tmp_path / "d.db"),
        collection_name="del",
        metadata_fields={"year": "INT64"},
    )
    store.add_documents([LCDocument(id=k, page_content=k, metadata=CORPUS[k]) for k in CORPUS])
    alive = set(CORPUS)
    trees: list[FilterDirective] = [
        _c(Comparator.EQ, "genre", INJECTION),
        _c(Comparator.EQ, 'genre"] or 1==1 or ["', "x"),
        _c(Comparator.NE, "genre", "drama"),
        Operation(operator=Operator.NOT, arguments=[_c(Comparator.LT, "mixed", 1)]),
    ]
    for tree in trees:
        _, kwargs = MilvusTranslator().visit_structured_query(
            StructuredQuery(query="", filter=tree)
        )
        store.delete(filter=kwargs["filter"])
        alive -= _expected(lambda meta, t=tree: lc_eval(t, meta))
        left = {str(d.id) for d in store.similarity_search("", k=100)}
        assert left == alive, tree
    # Structurally always-true: refused, never "delete everything".
    for tree in (
        _c(Comparator.NIN, "genre", []),
        Operation(operator=Operator.NOT, arguments=[_c(Comparator.IN, "genre", [])]),
        Operation(
            operator=Operator.AND,
            arguments=[_c(Comparator.NIN, "year", []), _c(Comparator.NIN, "mixed", [])],
        ),
    ):
        _, kwargs = MilvusTranslator().visit_structured_query(
            StructuredQuery(query="", filter=tree)
        )
        with pytest.raises(MilvusPluginsError):
            store.delete(filter=kwargs["filter"])
    bads: list[Any] = [Operation(operator=Operator.AND, arguments=[]), {"$and": []}, {}]
    for bad in bads:
        with pytest.raises((MilvusPluginsError, ValueError)):
            if isinstance(bad, Operation):
                MilvusTranslator().visit_structured_query(StructuredQuery(query="", filter=bad))
            store.delete(filter=bad)
    assert {str(d.id) for d in store.similarity_search("", k=100)} == alive


@pytest.fixture(scope="module")
def lc_delete_store(tmp_path_factory: pytest.TempPathFactory) -> LCMilvus:
    uri = str(tmp_path_factory.mktemp("llm_lc_del") / "m.db")
    store = LCMilvus(
        DeterministicFakeEmbedding(size=DIM),
        uri=uri,
        collection_name="lcdel",
        metadata_fields={"year": "INT64"},
    )
    for ids in (FIRST, SECOND):
        store.add_documents(
            [LCDocument(id=k, page_content=f"row {k}", metadata=CORPUS[k]) for k in ids]
        )
    return store


def _lc_alive(store: LCMilvus) -> set[str]:
    return {str(d.id) for d in store.similarity_search("", k=100)}


@settings(SETTINGS, max_examples=60)
@given(tree=lc_trees, victim=st.sampled_from(sorted(CORPUS)))
def test_a_self_query_delete_with_an_id_removes_that_row_only_if_it_matches(
    lc_delete_store: LCMilvus, tree: FilterDirective, victim: str
) -> None:
    store = lc_delete_store
    try:
        _, kwargs = MilvusTranslator().visit_structured_query(
            StructuredQuery(query="", filter=tree)
        )
        store.delete(ids=[victim], filter=kwargs["filter"])
    except MilvusPluginsError:
        assert _lc_alive(store) == set(CORPUS)  # refused: nothing changed
        return
    gone = set(CORPUS) - _lc_alive(store)
    expected = {victim} if lc_eval(tree, CORPUS[victim]) is True else set()
    if gone:  # put the row back for the next example
        store.add_documents(
            [LCDocument(id=k, page_content=f"row {k}", metadata=CORPUS[k]) for k in sorted(gone)]
        )
    assert gone == expected, (tree, gone)


# ------------------------------------------------------------------------------------
# Descriptions offered to the query constructors
# ------------------------------------------------------------------------------------


def test_described_metadata_names_every_key_with_its_kind_and_exact_values(
    lc_store: LCMilvus,
) -> None:
    from milvus_plugins.langchain import describe_metadata

    infos = {i.name: i for i in describe_metadata(lc_store)}
    assert set(infos) == {k for meta in CORPUS.values() for k in meta}
    kinds = {"year": "integer", "flag": "boolean", "rating": "float", "genre": "string"}
    assert {k: infos[k].type for k in kinds} == kinds
    for key in ("genre", "date", "a.b"):
        listed = infos[key].description.split("one of: ", 1)[1]
        values = ast.literal_eval(f"[{listed}]")
        assert set(values) == {m[key] for m in CORPUS.values()}, key
        for value in values:  # an LLM copying a listed value finds exactly its rows
            tree = _c(Comparator.EQ, key, value)
            assert _lc_search(lc_store, tree) == _expected(lambda m, t=tree: lc_eval(t, m))


# DEFECT (fixed): a query-constructor date dict without its value ({"type": "date"}) raises a bare
# KeyError from MilvusTranslator instead of FilterError (not a typed refusal).
def test_date_dict_without_a_date_is_refused_with_a_typed_error(lc_store: LCMilvus) -> None:
    tree = _c(Comparator.EQ, "date", {"type": "date"})
    assert isinstance(_lc_search(lc_store, tree), MilvusPluginsError)


@pytest.mark.parametrize(
    "tree",
    [
        _c(Comparator.EQ, "genre", "\ud800"),
        _c(Comparator.NE, "\udfff", "a"),
        _c(Comparator.EQ, "genre", "x" * 70_000),
        _c(Comparator.EQ, "k" * 70_000, "a"),
        _c(Comparator.EQ, "a\x00b", 1),
        _c(Comparator.NE, "a\nb", 1),
        _c(Comparator.IN, "mixed", list(range(5_000))),
        _c(Comparator.LIKE, "genre", "%" * 2_000),
    ],
    ids=lambda t: repr(t)[:60],
)
def test_extreme_llm_values_are_exact_or_refused(lc_store: LCMilvus, tree: FilterDirective) -> None:
    found = _lc_search(lc_store, tree)
    if not isinstance(found, MilvusPluginsError):
        assert found == _expected(lambda meta: lc_eval(tree, meta))


@pytest.mark.parametrize("depth", [40, 301])
def test_deeply_nested_llm_not_chain_is_exact_or_refused(lc_store: LCMilvus, depth: int) -> None:
    tree: FilterDirective = _c(Comparator.EQ, "genre", INJECTION)
    for _ in range(depth):
        tree = Operation(operator=Operator.NOT, arguments=[tree])
    found = _lc_search(lc_store, tree)
    if not isinstance(found, MilvusPluginsError):
        assert found == _expected(lambda meta: lc_eval(tree, meta))


def test_auto_retriever_runs_a_hostile_llm_spec_exactly(li_store: LIMilvus) -> None:
    from llama_index.core import VectorStoreIndex
    from llama_index.core.embeddings import MockEmbedding
    from llama_index.core.indices.vector_store.retrievers.auto_retriever import (
        VectorIndexAutoRetriever,
    )
    from tests.support.scripted_llm import ScriptedLLM

    from milvus_plugins.llama_index import describe_vector_store

    raw: list[dict[str, Any]] = [
        {"key": "genre", "operator": "!=", "value": INJECTION},
        {"key": "mixed", "operator": "nin", "value": [1, 0]},
        {"key": 'we"ird', "operator": "<=", "value": 2},
    ]
    spec = {"query": "", "filters": raw, "top_k": 100}
    llm = ScriptedLLM(answers=[f"```json\n{json.dumps(spec)}\n```"])
    index = VectorStoreIndex.from_vector_store(li_store, embed_model=MockEmbedding(embed_dim=DIM))
    retriever = VectorIndexAutoRetriever(
        index,
        vector_store_info=describe_vector_store(li_store, "rows"),
        llm=llm,
        similarity_top_k=100,
        empty_query_top_k=100,
        default_empty_query_vector=[0.0] * DIM,
    )
    got = {n.node.node_id for n in retriever.retrieve("rows that are not the injection")}
    filters = MetadataFilters(filters=[MetadataFilter(**f) for f in raw])
    want = _expected(lambda meta: li_eval(filters, meta))
    assert got == want and want
