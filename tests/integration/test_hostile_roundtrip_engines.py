"""Hostile values written through every entry point and read back, on every engine.

A differential attack across Milvus Lite 3, the Milvus 2.3.5 server and Milvus Lite 2.5.1:
values that each engine may store, parse or compare differently (ints at the int64 and
2**53 edges, -0.0, floats next to ints, subnormals, quotes, backslashes, NUL, line
breaks, BOM, emoji, combining marks, keys named like the store's own columns ...) are
written through the core (``Record``), LangChain (``add_documents``) and LlamaIndex
(``add`` of ``TextNode``), read back (get, get_by_ids, get_nodes, search, query) and
compared with the input; then filters (core builders, LangChain dicts, LlamaIndex
``MetadataFilters``) and deletes by filter must select exactly the rows the reference
evaluator (``matches``), i.e. Python's own comparison, selects, or raise a typed input
error with nothing deleted.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import DeterministicFakeEmbedding
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores.types import (
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
)

from milvus_plugins.core import (
    CollectionSpec,
    ConnectionConfig,
    FilterError,
    InvalidInputError,
    MetadataField,
    MilvusStore,
    Record,
    UnsupportedByServerError,
    and_,
    contains,
    contains_all,
    contains_any,
    eq,
    gt,
    gte,
    in_,
    lt,
    lte,
    ne,
    nin,
    not_,
    or_,
)
from milvus_plugins.core.filters import Filter
from milvus_plugins.core.filters.evaluator import matches
from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

DIM = 4
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
TYPED_REFUSALS = (FilterError, InvalidInputError)

# Metadata values that every engine must give back exactly (value, type, key order).
HOSTILE_META = {
    "big": INT64_MAX,
    "small": INT64_MIN,
    "b53": 2**53 + 1,
    "negzero": -0.0,
    "huge": 1e308,
    "sub": 5e-324,
    "t": True,
    "one": 1,
    "onef": 1.0,
    "nul": "a\x00b",
    "q": "it's",
    "dq": 'say "hi"',
    "bs": "C:\\x\\",
    "nl": "a\nb",
    "pct": "50%_x",
    "emoji": "👍🏽🇫🇷",
    "comb": "e\u0301",
    "rtl": "\u202eabc\u200f",
    "bom": "\ufeffx",
    "empty": "",
    "ed": {},
    "el": [],
    "nested": {"a": [1, {"b": [None, True, 1.5]}]},
    "none": None,
    "k.dot": 1,
    "k$mid": 2,
    "k sp": 3,
    "ключ": 4,
    "id": "myid",
    "text": "mytext",
    "vector": [1, 2],
    "metadata": {"x": 1},
    "doc_id": "d",
    "extra": {"y": 2},
    "sparse": 5,
    "metadata_null_keys": ["x"],
    "metadata_key_order": ["zz"],
    "mixed": [1, "1", True, None, 1.0],
}
HOSTILE_TEXTS = ["it's", 'say "hi"', "C:\\x\\", "a\x00b", "", "👍🏽", "\ufeffbom", "a\nb"]


def _vector(i: int) -> list[float]:
    return [1.0, float(i + 1), 0.5, 0.25]


def _core(uri: str, name: str, **spec: object) -> MilvusStore:
    return MilvusStore(
        CollectionSpec(name=name, dim=DIM, **spec),  # type: ignore[arg-type]
        connection=ConnectionConfig(uri=uri),
    )


@pytest.fixture
def core_store(uri: str, collection_name: str) -> Iterator[MilvusStore]:
    store = _core(uri, collection_name)
    try:
        yield store
    finally:
        store.close()


def _write(store: MilvusStore, rows: dict[str, dict[str, object]]) -> list[Record]:
    records = [
        Record(id=rid, text=rid, vector=_vector(i), metadata=meta)
        for i, (rid, meta) in enumerate(rows.items())
    ]
    store.upsert(records, progress=False)
    return records


def _expected(node: Filter, rows: dict[str, dict[str, object]]) -> list[str]:
    return sorted(rid for rid, meta in rows.items() if matches(node, meta))


def _selects_exactly(store: MilvusStore, node: Filter, rows: dict[str, dict[str, object]]) -> None:
    """``node`` reads exactly the rows Python selects, or is refused typed."""
    try:
        got = sorted(r.id for r in store.query(node))
    except TYPED_REFUSALS:
        return
    assert got == _expected(node, rows), f"{node!r}: engine selected {got}"


def _deletes_exactly(store: MilvusStore, node: Filter, rows: dict[str, dict[str, object]]) -> None:
    """A delete by ``node`` removes exactly the rows Python selects, or nothing (typed)."""
    everything = sorted(rows)
    try:
        store.delete(filter=node)
    except TYPED_REFUSALS:
        assert sorted(r.id for r in store.get(everything)) == everything
        return
    left = sorted(r.id for r in store.get(everything))
    assert left == sorted(set(everything) - set(_expected(node, rows))), f"{node!r}: left {left}"


# --------------------------------------------------------------------------------------
# Round trips: what is written reads back exactly, through every entry point.
# --------------------------------------------------------------------------------------


def test_core_hostile_metadata_and_strings_round_trip(
    core_store: MilvusStore,
) -> None:
    rows = {f"k{i}": {key: value} for i, (key, value) in enumerate(HOSTILE_META.items())}
    rows["all"] = dict(HOSTILE_META)
    records = _write(core_store, rows)
    got = {r.id: r for r in core_store.get(list(rows))}
    for record in records:
        back = got[record.id]
        assert repr(back.metadata) == repr(record.metadata)  # types, -0.0, key order
        assert list(back.metadata) == list(record.metadata)
        assert back.text == record.text


@pytest.mark.parametrize("value", [*HOSTILE_TEXTS, "\\", "%", "_", "e\u0301", "a\tb", "\u2028"])
def test_core_hostile_strings_as_id_text_doc_id_and_value(
    core_store: MilvusStore, value: str
) -> None:
    record = Record(id=value, text=value, vector=_vector(0), metadata={"s": value}, doc_id=value)
    try:
        core_store.upsert([record], progress=False)
    except InvalidInputError:  # an engine limit (Lite 2.5.1: NUL, apostrophe, line break)
        assert core_store.count() == 0
        return
    (back,) = core_store.get([value])
    assert (back.id, back.text, back.doc_id, back.metadata) == (value, value, value, {"s": value})
    # an update by the same id replaces the row
    core_store.upsert(
        [Record(id=value, text=value + "2", vector=_vector(1), metadata={"s": value})],
        progress=False,
    )
    assert [r.text for r in core_store.get([value])] == [value + "2"]
    assert [r.id for r in core_store.query(eq("s", value))] == [value]
    core_store.delete(ids=[value])
    assert core_store.get([value]) == []


def test_langchain_hostile_documents_round_trip(uri: str, collection_name: str) -> None:
    store = LangChainStore(
        DeterministicFakeEmbedding(size=8), uri=uri, collection_name=collection_name
    )
    try:
        docs = [
            Document(page_content=text, id=f"d{i}", metadata=dict(HOSTILE_META, i=i))
            for i, text in enumerate(HOSTILE_TEXTS)
        ]
        assert store.add_documents(docs) == [f"d{i}" for i in range(len(docs))]
        ids = [f"d{i}" for i in range(len(docs))]
        back = {d.id: d for d in store.get_by_ids(ids)}
        for doc in docs:
            got = back[doc.id]
            assert got.page_content == doc.page_content
            assert repr(got.metadata) == repr(doc.metadata)
        for hit in store.similarity_search("it's", k=len(docs), filter={"q": "it's"}):
            assert repr(hit.metadata) == repr(docs[int(str(hit.id)[1:])].metadata)
    finally:
        store.close()


def test_llama_index_hostile_nodes_round_trip(uri: str, collection_name: str) -> None:
    store = LlamaStore(uri=uri, collection_name=collection_name, dim=DIM)
    try:
        nodes = [
            TextNode(
                id_=f"n{i}",
                text=text,
                metadata=dict(HOSTILE_META, i=i),
                embedding=_vector(i),
                excluded_embed_metadata_keys=["q"],
                excluded_llm_metadata_keys=["bs"],
                start_char_idx=3,
                end_char_idx=7,
                metadata_seperator="|",
                text_template="{metadata_str}//{content}",
                relationships={
                    NodeRelationship.SOURCE: RelatedNodeInfo(
                        node_id="doc'1", metadata={"x": INT64_MAX}
                    )
                },
            )
            for i, text in enumerate(HOSTILE_TEXTS)
        ]
        assert store.add(nodes) == [n.id_ for n in nodes]
        back = {n.id_: n for n in store.get_nodes(node_ids=[n.id_ for n in nodes])}
        for node in nodes:
            got = back[node.id_]
            assert repr(got.model_dump(exclude={"embedding"})) == repr(
                node.model_dump(exclude={"embedding"})
            )
            assert got.hash == node.hash
        result = store.query(
            VectorStoreQuery(
                query_embedding=_vector(0),
                similarity_top_k=len(nodes),
                filters=MetadataFilters(filters=[MetadataFilter(key="q", value="it's")]),
            )
        )
        assert sorted(n.id_ for n in result.nodes or []) == sorted(n.id_ for n in nodes)
    finally:
        store.close()


# --------------------------------------------------------------------------------------
# Filters and deletes on numbers at the engines' edges (BUGS: see the report).
# --------------------------------------------------------------------------------------

EDGE_ROWS: dict[str, dict[str, object]] = {
    "min": {"n": INT64_MIN, "l": [INT64_MIN]},
    "min1": {"n": INT64_MIN + 1, "l": [INT64_MIN + 1]},
    "max": {"n": INT64_MAX, "l": [INT64_MAX]},
    "zero": {"n": 0, "l": [0]},
}


@pytest.mark.parametrize(
    "node",
    [
        eq("n", INT64_MIN),
        ne("n", INT64_MIN),
        gt("n", INT64_MIN),
        gte("n", INT64_MIN),
        lt("n", INT64_MIN + 1),
        lte("n", INT64_MIN),
        in_("n", [INT64_MIN, INT64_MAX]),
        nin("n", [INT64_MIN]),
        contains("l", INT64_MIN),
    ],
    ids=repr,
)
def test_int64_min_in_a_metadata_filter_selects_its_own_rows(
    core_store: MilvusStore, node: Filter
) -> None:
    """BUG (2.3.5: raw 'cannot parse expression ... value out of range'; Lite 2.5.1:
    -2**63 is read as -2**63 + 1, so the wrong row is selected)."""
    _write(core_store, EDGE_ROWS)
    _selects_exactly(core_store, node, EDGE_ROWS)


def test_delete_by_int64_min_deletes_only_that_row(core_store: MilvusStore) -> None:
    """Found (RELIABILITY 146) on Lite 2.5.1: deletes the row holding -2**63 + 1 and keeps
    -2**63."""
    _write(core_store, EDGE_ROWS)
    _deletes_exactly(core_store, eq("n", INT64_MIN), EDGE_ROWS)


def test_int64_min_on_a_declared_int64_column(uri: str, collection_name: str) -> None:
    """BUG: the same on a declared INT64 field (2.3.5 raw parse error; Lite 2.5.1 wrong rows)."""
    store = _core(uri, collection_name, metadata_fields=[MetadataField(name="i", type="INT64")])
    try:
        rows = {k: {"i": v["n"]} for k, v in EDGE_ROWS.items()}
        _write(store, rows)
        for node in (eq("i", INT64_MIN), gte("i", INT64_MIN), in_("i", [INT64_MIN, 0])):
            _selects_exactly(store, node, rows)
        _deletes_exactly(store, eq("i", INT64_MIN), rows)
    finally:
        store.close()


# Ints beyond 2**53 next to the float they round to, and ints next to equal floats.
NEAR_ROWS: dict[str, dict[str, object]] = {
    "f53": {"n": float(2**53), "l": [float(2**53)]},
    "i53p1": {"n": 2**53 + 1, "l": [2**53 + 1]},
    "f16": {"n": 1e16, "l": [1e16]},
    "i16p1": {"n": 10**16 + 1, "l": [10**16 + 1]},
    "onef": {"n": 1.0, "l": [1.0]},
    "one": {"n": 1, "l": [1]},
    "negzero": {"n": -0.0, "l": [-0.0]},
    "two": {"n": 2, "l": [2]},
}


@pytest.mark.parametrize(
    "node",
    [
        eq("n", 2**53 + 1),
        eq("n", float(2**53)),
        ne("n", 2**53 + 1),
        gte("n", 2**53 + 1),
        lt("n", 2**53 + 1),
        in_("n", [2**53 + 1]),
        nin("n", [2**53 + 1]),
        eq("n", 10**16 + 1),
        eq("n", 1e16),
        and_(gte("n", 1e16), lte("n", 1e16)),
        contains("l", 2**53 + 1),
        contains("l", float(2**53)),
        contains("l", 1e16),
    ],
    ids=repr,
)
def test_ints_beyond_2_53_are_not_taken_for_nearby_floats(
    core_store: MilvusStore, node: Filter
) -> None:
    """Found (RELIABILITY 146) on 2.3.5 and Lite 2.5.1: the engine compares an int beyond 2**53 with
    a float in double precision, so eq(n, 2**53 + 1) selects 9007199254740992.0 (Python: not
    equal)."""
    _write(core_store, NEAR_ROWS)
    _selects_exactly(core_store, node, NEAR_ROWS)


@pytest.mark.parametrize(
    "node",
    [
        contains("l", 1),
        contains("l", 0),
        contains_any("l", [1]),
        contains_all("l", [1]),
        contains("l", 1.0),
        contains("l", float(2**53)),
        not_(contains("l", 1)),  # guard: refused typed where the engine cannot negate
    ],
    ids=repr,
)
def test_contains_an_int_finds_an_equal_float_in_a_list(
    core_store: MilvusStore, node: Filter
) -> None:
    """Found (RELIABILITY 146) on 2.3.5 and Lite 2.5.1: json_contains(l, 1) misses [1.0] (and 0
    misses [-0.0]), though eq(n, 1) matches 1.0 and Python says 1 == 1.0."""
    _write(core_store, NEAR_ROWS)
    _selects_exactly(core_store, node, NEAR_ROWS)


def test_delete_by_contains_removes_lists_holding_an_equal_float(
    core_store: MilvusStore,
) -> None:
    """Found (RELIABILITY 146) on 2.3.5 and Lite 2.5.1: deleting 'lists holding 1' leaves [1.0] (and
    0 leaves [-0.0]); the engines' json_contains(l, 1.0) finds both [1] and [1.0]."""
    _write(core_store, NEAR_ROWS)
    _deletes_exactly(core_store, or_(contains("l", 1), contains("l", 0)), NEAR_ROWS)


def test_delete_by_not_contains_keeps_lists_holding_an_equal_float(
    core_store: MilvusStore,
) -> None:
    """Guard (held: Lite 3 exact; 2.3.5 and Lite 2.5.1 refuse the negation typed)."""
    _write(core_store, NEAR_ROWS)
    _deletes_exactly(core_store, not_(contains("l", 1)), NEAR_ROWS)


def test_delete_by_an_int_beyond_2_53_keeps_the_nearby_float(core_store: MilvusStore) -> None:
    """Found (RELIABILITY 146) on 2.3.5 and Lite 2.5.1: deletes the row holding 9007199254740992.0
    too."""
    _write(core_store, NEAR_ROWS)
    _deletes_exactly(core_store, eq("n", 2**53 + 1), NEAR_ROWS)


# --------------------------------------------------------------------------------------
# The same through the adapters' own filter languages.
# --------------------------------------------------------------------------------------


def test_langchain_filters_and_deletes_on_edge_numbers(uri: str, collection_name: str) -> None:
    """Found (RELIABILITY 146) on 2.3.5 (raw error for -2**63) and Lite 2.5.1 (no or wrong
    documents)."""
    store = LangChainStore(
        DeterministicFakeEmbedding(size=8), uri=uri, collection_name=collection_name
    )
    try:
        rows = {**EDGE_ROWS, **NEAR_ROWS}
        store.add_texts(list(rows), metadatas=[dict(m) for m in rows.values()], ids=list(rows))
        cases = [
            ({"n": INT64_MIN}, ["min"]),
            ({"n": {"$in": [INT64_MIN]}}, ["min"]),
            ({"n": 2**53 + 1}, ["i53p1"]),
            ({"l": {"$contains": 1}}, ["one", "onef"]),
            ({"l": {"$contains": 0}}, ["negzero", "zero"]),
        ]
        for where, want in cases:
            try:
                hits = store.similarity_search("x", k=len(rows), filter=where)
            except TYPED_REFUSALS:
                continue
            assert sorted(str(d.id) for d in hits) == want, where
        try:
            store.delete(filter={"n": INT64_MIN})
        except TYPED_REFUSALS:
            assert len(store.get_by_ids(list(rows))) == len(rows)
        else:
            left = sorted(str(d.id) for d in store.get_by_ids(list(rows)))
            assert left == sorted(set(rows) - {"min"})
    finally:
        store.close()


def test_llama_index_filters_and_deletes_on_edge_numbers(uri: str, collection_name: str) -> None:
    """Found (RELIABILITY 146) on 2.3.5 (raw error for -2**63) and Lite 2.5.1 (no or wrong
    nodes)."""
    store = LlamaStore(uri=uri, collection_name=collection_name, dim=DIM)
    try:
        rows = {**EDGE_ROWS, **NEAR_ROWS}
        nodes = [
            TextNode(id_=rid, text=rid, metadata=dict(meta), embedding=_vector(i))
            for i, (rid, meta) in enumerate(rows.items())
        ]
        store.add(nodes)

        def filters(key: str, value: Any, op: FilterOperator) -> MetadataFilters:
            return MetadataFilters(filters=[MetadataFilter(key=key, value=value, operator=op)])

        cases = [
            (filters("n", INT64_MIN, FilterOperator.EQ), ["min"]),
            (filters("n", 2**53 + 1, FilterOperator.EQ), ["i53p1"]),
            (filters("l", 1, FilterOperator.CONTAINS), ["one", "onef"]),
        ]
        for where, want in cases:
            try:
                got = store.get_nodes(filters=where)
            except TYPED_REFUSALS:
                continue
            assert sorted(n.id_ for n in got) == want, where
        try:
            store.delete_nodes(filters=filters("n", INT64_MIN, FilterOperator.EQ))
        except TYPED_REFUSALS:
            assert len(store.get_nodes(node_ids=list(rows))) == len(rows)
        else:
            left = sorted(n.id_ for n in store.get_nodes(node_ids=list(rows)))
            assert left == sorted(set(rows) - {"min"})
    finally:
        store.close()


# --------------------------------------------------------------------------------------
# Controls that held on every engine (kept as guards).
# --------------------------------------------------------------------------------------

STRING_ROWS: dict[str, dict[str, object]] = {
    f"s{i}": {"s": value, "l": [value, "z"]}
    for i, value in enumerate(
        [
            "it's",
            'say "hi"',
            "C:\\x\\",
            "a\\",
            "50%_x",
            "👍🏽🇫🇷",
            "e\u0301",
            "é",
            "\ufeffx",
            "a\tb",
            "a\u2028b",
            "",
            "a\x00b",
            "a\x00c",
            "\\n",
            "n",
        ]
    )
}
STRING_ROWS["num"] = {"s": 1}
STRING_ROWS["none"] = {"s": None}


def test_string_filters_and_deletes_select_what_python_selects(core_store: MilvusStore) -> None:
    _write(core_store, STRING_ROWS)
    for meta in list(STRING_ROWS.values()):
        value = meta["s"]
        if not isinstance(value, str):
            continue
        for node in (eq("s", value), ne("s", value), in_("s", [value]), contains("l", value)):
            _selects_exactly(core_store, node, STRING_ROWS)
    _deletes_exactly(core_store, ne("s", "it's"), STRING_ROWS)


def test_an_int64_tenant_of_minus_2_63_is_readable_and_clearable(
    uri: str, collection_name: str
) -> None:
    """Found (RELIABILITY 146) on 2.3.5: a row written for tenant -2**63 (accepted: within int64)
    can never be read, counted or cleared by its tenant: raw 'cannot parse expression ... value
    out of range' from the scope ``(tenant >= -9223372036854775808 and ...)``."""
    store = _core(
        uri,
        collection_name,
        metadata_fields=[MetadataField(name="tenant", type="INT64")],
        partition_key="tenant",
    )
    try:
        records = [
            Record(id="a", text="a", vector=_vector(0), metadata={"tenant": INT64_MIN}),
            Record(id="b", text="b", vector=_vector(1), metadata={"tenant": INT64_MIN + 1}),
        ]
        try:
            store.upsert(records, progress=False)
        except (UnsupportedByServerError, *TYPED_REFUSALS):  # Lite 2.5.1: no partition key
            return
        assert [r.id for r in store.query(tenant=INT64_MIN)] == ["a"]
        assert store.count(tenant=INT64_MIN) == 1
        store.clear(tenant=INT64_MIN)
        assert [r.id for r in store.get(["a", "b"])] == ["b"]
    finally:
        store.close()
