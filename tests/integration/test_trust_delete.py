"""Deletes and reads delete and read exactly what was asked (issue 11, "Trust").

Regressions, each on Milvus Lite and (where delete semantics matter) the 2.3.5 server:

* ids and a filter together mean "both", whatever the filter's form: a raw expression
  containing ``or`` used to be pasted after a bare ``and`` and widened the delete;
* a ``str`` where a list of ids (texts, nodes ...) is expected used to be iterated
  character by character (``delete(ids="123")`` deleted "1", "2" and "3");
* LlamaIndex ``delete("")`` deleted every node without a source document, and
  ``delete(None)`` the document named "None";
* a filter that matches every row however it is nested (``MetadataFilters`` in
  ``MetadataFilters``, ``{}``, ``""``, ``not_(or_())``) used to empty the collection:
  only ``clear()`` (LangChain: ``delete()`` with no arguments) does that now;
* ``query(offset=...)`` without ``limit`` ignored the offset.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores.types import (
    FilterCondition,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
)

from milvus_plugins.core import (
    AsyncMilvusStore,
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    FilterError,
    InvalidInputError,
    MilvusStore,
    Record,
    and_,
    eq,
    in_,
    not_,
    or_,
)
from milvus_plugins.core.filters import Raw
from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

DIM = 4
# ids that a string iterated character by character would hit: "123" -> "1", "2", "3".
KINDS = {"1": "a", "2": "b", "3": "a", "12": "b", "123": "a"}
ALL_IDS = set(KINDS)
# A raw expression that holds for every row: pasted after a bare `and`, it widened the
# id restriction to every "b" row.
RAW_EVERY_KIND = 'metadata["kind"] == "a" or metadata["kind"] == "b"'


def vec(i: int) -> list[float]:
    return [1.0, float(i + 1), 0.5, 0.25]


def records() -> list[Record]:
    return [
        Record(id=i, text=f"row {i}", vector=vec(n), metadata={"kind": kind, "n": n})
        for n, (i, kind) in enumerate(KINDS.items())
    ]


def core_store(uri: str, name: str) -> MilvusStore:
    store = MilvusStore(CollectionSpec(name=name, dim=DIM), connection=ConnectionConfig(uri=uri))
    store.upsert(records())
    return store


def ids(rows: Any) -> set[str]:
    return {getattr(r, "id", None) or r.node_id for r in rows}


def remaining(store: MilvusStore) -> set[str]:
    return ids(store.query())


class FixedEmbeddings(Embeddings):
    """A vector per text from its length: deterministic, no model."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [vec(len(t)) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return vec(len(text))


def langchain_store(uri: str, name: str) -> LangChainStore:
    store = LangChainStore(FixedEmbeddings(), uri=uri, collection_name=name, dim=DIM)
    store.add_documents(
        [Document(id=i, page_content=f"row {i}", metadata={"kind": k}) for i, k in KINDS.items()]
    )
    return store


def llama_nodes() -> list[TextNode]:
    """The KINDS rows as nodes: "1" and "2" without a source document, the others with."""
    nodes = []
    for n, (i, kind) in enumerate(KINDS.items()):
        node = TextNode(id_=i, text=f"row {i}", metadata={"kind": kind}, embedding=vec(n))
        if i in ("3", "12"):
            node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id="None")
        elif i == "123":
            node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id="doc")
        nodes.append(node)
    return nodes


def llama_store(uri: str, name: str) -> LlamaStore:
    store = LlamaStore(uri=uri, collection_name=name, dim=DIM)
    store.add(llama_nodes())
    return store


def llama_ids(store: LlamaStore) -> set[str]:
    return {n.node_id for n in store.get_nodes()}


# -- 1. ids AND filter, in every filter form ------------------------------------------------------


def test_core_ids_and_raw_or_filter_deletes_only_those_ids(
    backend_uri: str, collection_name: str
) -> None:
    store = core_store(backend_uri, collection_name)
    store.delete(ids=["1"], filter=RAW_EVERY_KIND)
    assert remaining(store) == ALL_IDS - {"1"}
    store.delete(ids=["2", "3"], filter=Raw(RAW_EVERY_KIND))
    assert remaining(store) == ALL_IDS - {"1", "2", "3"}
    # ids and a filter that excludes them: nothing goes.
    store.delete(ids=["12"], filter='metadata["kind"] == "a" or id == "x"')
    assert remaining(store) == {"12", "123"}
    store.close()


async def test_async_core_ids_and_raw_or_filter_deletes_only_those_ids(
    backend_uri: str, collection_name: str
) -> None:
    sync = core_store(backend_uri, collection_name)
    store = AsyncMilvusStore(sync)
    await store.delete(ids=["1"], filter=RAW_EVERY_KIND)
    assert ids(await store.query()) == ALL_IDS - {"1"}
    await store.close()
    sync.close()


def test_langchain_ids_and_filter_mean_both_in_every_form(
    backend_uri: str, collection_name: str
) -> None:
    store = langchain_store(backend_uri, collection_name)
    store.delete(["1"], filter=RAW_EVERY_KIND)
    assert remaining(store.store) == ALL_IDS - {"1"}
    store.delete(["2", "3"], filter={"$or": [{"kind": "a"}, {"kind": "zzz"}]})
    assert remaining(store.store) == ALL_IDS - {"1", "3"}  # "2" is kind b
    store.delete(["2", "12"], filter=or_(eq("kind", "b"), eq("kind", "a")))
    assert remaining(store.store) == {"123"}
    store.close()


async def test_langchain_async_ids_and_raw_or_filter_deletes_only_those_ids(
    backend_uri: str, collection_name: str
) -> None:
    store = langchain_store(backend_uri, collection_name)
    assert await store.adelete(["1"], filter=RAW_EVERY_KIND) is True
    assert ids(await store.aget_by_ids(sorted(ALL_IDS))) == ALL_IDS - {"1"}
    await store.aclose()


def test_llama_index_node_ids_and_or_filters_mean_both(
    backend_uri: str, collection_name: str
) -> None:
    store = llama_store(backend_uri, collection_name)
    either = MetadataFilters(
        filters=[MetadataFilter(key="kind", value="a"), MetadataFilter(key="kind", value="b")],
        condition=FilterCondition.OR,
    )
    store.delete_nodes(node_ids=["1"], filters=either)
    assert llama_ids(store) == ALL_IDS - {"1"}


# -- 2. a str where a list is expected ------------------------------------------------------------


def test_core_str_ids_are_refused_not_split_into_characters(
    backend_uri: str, collection_name: str
) -> None:
    store = core_store(backend_uri, collection_name)
    with pytest.raises(InvalidInputError, match=r"ids='123' is a single str"):
        store.delete(ids="123")
    with pytest.raises(InvalidInputError, match="single str"):
        store.get("12")
    with pytest.raises(InvalidInputError, match="single bytes"):
        store.get(b"12")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match=r"ids\[1\]=None"):
        store.delete(ids=["1", None])  # type: ignore[list-item]
    with pytest.raises(InvalidInputError, match=r"ids\[0\] is the empty string"):
        store.delete(ids=[""], filter=eq("kind", "a"))
    with pytest.raises(InvalidInputError, match=r"str\(\)"):
        store.get([1])  # type: ignore[list-item]
    with pytest.raises(InvalidInputError, match="records="):
        store.upsert("abc")  # type: ignore[arg-type]
    assert remaining(store) == ALL_IDS
    assert ids(store.get(["123", "nope", "1"])) == {"123", "1"}  # valid input unchanged
    store.close()


async def test_async_core_str_ids_are_refused(lite_uri: str, collection_name: str) -> None:
    sync = core_store(lite_uri, collection_name)
    store = AsyncMilvusStore(sync)
    with pytest.raises(InvalidInputError, match="single str"):
        await store.delete(ids="123")
    with pytest.raises(InvalidInputError, match="single str"):
        await store.get("12")
    assert ids(await store.query()) == ALL_IDS
    await store.close()
    sync.close()


def test_langchain_str_arguments_are_refused(lite_uri: str, collection_name: str) -> None:
    store = langchain_store(lite_uri, collection_name)
    with pytest.raises(InvalidInputError, match="ids='123'"):
        store.delete(ids="123")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="ids='12'"):
        store.get_by_ids("12")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="texts='abc'"):
        store.add_texts("abc")
    with pytest.raises(InvalidInputError, match="ids='x'"):
        store.add_texts(["x"], ids="x")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="metadatas must be a list"):
        store.add_texts(["x"], metadatas={"kind": "a"})  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="documents='abc'"):
        store.add_documents("abc")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match=r"documents\[0\] is a str"):
        store.add_documents(["abc"])  # type: ignore[list-item]
    assert remaining(store.store) == ALL_IDS
    store.close()


async def test_langchain_async_str_arguments_are_refused(
    lite_uri: str, collection_name: str
) -> None:
    store = langchain_store(lite_uri, collection_name)
    with pytest.raises(InvalidInputError, match="ids='123'"):
        await store.adelete(ids="123")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="ids='12'"):
        await store.aget_by_ids("12")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="texts='abc'"):
        await store.aadd_texts("abc")
    assert remaining(store.store) == ALL_IDS
    await store.aclose()


def test_llama_index_str_arguments_are_refused(lite_uri: str, collection_name: str) -> None:
    store = llama_store(lite_uri, collection_name)
    with pytest.raises(InvalidInputError, match="node_ids='123'"):
        store.delete_nodes(node_ids="123")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="node_ids='12'"):
        store.get_nodes(node_ids="12")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match=r"node_ids\[0\] is the empty string"):
        store.get_nodes(node_ids=[""])
    with pytest.raises(InvalidInputError, match="nodes='abc'"):
        store.add("abc")  # type: ignore[arg-type]
    query = VectorStoreQuery(query_embedding=vec(0), similarity_top_k=5, node_ids="12")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="node_ids='12'"):
        store.query(query)
    assert llama_ids(store) == ALL_IDS
    assert {n.node_id for n in store.get_nodes(node_ids=["12", "nope"])} == {"12"}


async def test_llama_index_async_str_arguments_are_refused(
    lite_uri: str, collection_name: str
) -> None:
    store = llama_store(lite_uri, collection_name)
    with pytest.raises(InvalidInputError, match="node_ids='123'"):
        await store.adelete_nodes(node_ids="123")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="node_ids='abc'"):
        await store.aget_nodes(node_ids="abc")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="nodes='abc'"):
        await store.async_add("abc")  # type: ignore[arg-type]
    assert llama_ids(store) == ALL_IDS


# -- 3. LlamaIndex delete(ref_doc_id) needs a real document id -------------------------------------


@pytest.mark.parametrize("bad", ["", None, 7])
def test_llama_index_delete_without_a_document_id_is_refused(
    backend_uri: str, collection_name: str, bad: Any
) -> None:
    store = llama_store(backend_uri, collection_name)
    # "" is the doc_id of "1" and "2" (no source document); None was looked up as "None".
    with pytest.raises(InvalidInputError, match=r"ref_doc_id(=.*)? must be a (non-empty )?string"):
        store.delete(bad)
    assert llama_ids(store) == ALL_IDS
    store.delete("None")  # a real document id still works
    assert llama_ids(store) == ALL_IDS - {"3", "12"}


@pytest.mark.parametrize("bad", ["", None])
async def test_llama_index_adelete_without_a_document_id_is_refused(
    lite_uri: str, collection_name: str, bad: Any
) -> None:
    store = llama_store(lite_uri, collection_name)
    with pytest.raises(InvalidInputError, match="ref_doc_id"):
        await store.adelete(bad)
    assert llama_ids(store) == ALL_IDS


def test_llama_index_delete_empty_string_spares_langchain_rows(
    lite_uri: str, collection_name: str
) -> None:
    langchain = langchain_store(lite_uri, collection_name)  # its rows have no doc_id
    llama = LlamaStore(uri=lite_uri, collection_name=collection_name)
    with pytest.raises(InvalidInputError):
        llama.delete("")
    assert remaining(langchain.store) == ALL_IDS
    langchain.close()


# -- 4. a filter that matches every row never deletes ---------------------------------------------

MATCH_ALL_CORE = [
    pytest.param(and_(), id="and_()"),
    pytest.param(and_(and_(), and_(and_())), id="nested and_"),
    pytest.param(or_(eq("kind", "zzz"), and_()), id="or with a match-all child"),
    pytest.param(not_(or_()), id="not_(or_())"),
    pytest.param(not_(in_("kind", [])), id="nin []"),
    pytest.param("", id="empty string"),
    pytest.param("  \n", id="blank string"),
    pytest.param(Raw(""), id="Raw('')"),
    pytest.param(and_(Raw(" "), not_(or_())), id="and of blank raw"),
]


@pytest.mark.parametrize("where", MATCH_ALL_CORE)
def test_core_delete_with_a_match_all_filter_is_refused(
    backend_uri: str, collection_name: str, where: Any
) -> None:
    store = core_store(backend_uri, collection_name)
    with pytest.raises(InvalidInputError, match=r"matches every row.*clear\(\)"):
        store.delete(filter=where)
    assert remaining(store) == ALL_IDS
    # With ids, the same filter no longer matches every row: only those ids go. (An
    # engine without `not` cannot run a negation on a JSON key: refused, nothing goes.)
    try:
        store.delete(ids=["1", "2"], filter=where)
    except FilterError:
        assert not store.capabilities.dialect.not_expr
        assert remaining(store) == ALL_IDS
    else:
        assert remaining(store) == ALL_IDS - {"1", "2"}
    assert store.clear() >= 0  # the one way to delete every row; the collection stays
    assert remaining(store) == set()
    assert store.exists()
    store.close()


async def test_async_core_delete_with_a_match_all_filter_is_refused(
    backend_uri: str, collection_name: str
) -> None:
    sync = core_store(backend_uri, collection_name)
    store = AsyncMilvusStore(sync)
    for where in (and_(and_()), "", not_(or_())):
        with pytest.raises(InvalidInputError, match="matches every row"):
            await store.delete(filter=where)
    assert await store.count() == len(ALL_IDS)
    await store.clear()
    assert await store.count() == 0
    await store.close()
    sync.close()


def test_core_delete_with_a_match_none_filter_deletes_nothing(
    lite_uri: str, collection_name: str
) -> None:
    store = core_store(lite_uri, collection_name)
    assert store.delete(filter=or_()) == 0
    assert store.delete(ids=[], filter=and_()) == 0
    with pytest.raises(ConfigError, match=r"clear\(\)"):
        store.delete()
    assert remaining(store) == ALL_IDS
    store.close()


@pytest.mark.parametrize(
    "where", [{}, "", "   ", and_()], ids=["{}", "empty string", "blank string", "and_()"]
)
def test_langchain_delete_with_a_match_all_filter_is_refused(
    backend_uri: str, collection_name: str, where: Any
) -> None:
    store = langchain_store(backend_uri, collection_name)
    with pytest.raises(InvalidInputError, match="matches every row"):
        store.delete(filter=where)
    with pytest.raises(FilterError):
        store.delete(filter={"$and": []})
    assert remaining(store.store) == ALL_IDS
    assert store.delete() is True  # LangChain's contract: no ids, no filter = delete all
    assert remaining(store.store) == set()
    store.close()


async def test_langchain_adelete_with_a_match_all_filter_is_refused(
    lite_uri: str, collection_name: str
) -> None:
    store = langchain_store(lite_uri, collection_name)
    for where in ({}, "", and_()):
        with pytest.raises(InvalidInputError, match="matches every row"):
            await store.adelete(filter=where)
    assert remaining(store.store) == ALL_IDS
    assert await store.adelete() is True
    assert remaining(store.store) == set()
    await store.aclose()


NESTED_EMPTY = [
    pytest.param(MetadataFilters(filters=[MetadataFilters(filters=[])]), id="nested empty"),
    pytest.param(
        MetadataFilters(
            filters=[MetadataFilters(filters=[]), MetadataFilters(filters=[])],
            condition=FilterCondition.OR,
        ),
        id="or of empties",
    ),
    pytest.param(
        MetadataFilters(
            filters=[MetadataFilter(key="kind", value="zzz"), MetadataFilters(filters=[])],
            condition=FilterCondition.OR,
        ),
        id="or with an empty child",
    ),
]


@pytest.mark.parametrize("filters", NESTED_EMPTY)
def test_llama_index_delete_nodes_with_nested_empty_filters_is_refused(
    backend_uri: str, collection_name: str, filters: MetadataFilters
) -> None:
    store = llama_store(backend_uri, collection_name)
    with pytest.raises(InvalidInputError, match=r"clear\(\)"):
        store.delete_nodes(filters=filters)
    with pytest.raises(InvalidInputError, match=r"clear\(\)"):
        store.delete_nodes(filters=MetadataFilters(filters=[]))  # the flat form, as before
    assert llama_ids(store) == ALL_IDS
    store.delete_nodes(node_ids=["1"], filters=filters)  # ids restrict it: only "1" goes
    assert llama_ids(store) == ALL_IDS - {"1"}


async def test_llama_index_adelete_nodes_with_nested_empty_filters_is_refused(
    lite_uri: str, collection_name: str
) -> None:
    store = llama_store(lite_uri, collection_name)
    with pytest.raises(InvalidInputError, match=r"clear\(\)"):
        await store.adelete_nodes(filters=MetadataFilters(filters=[MetadataFilters(filters=[])]))
    assert llama_ids(store) == ALL_IDS


# -- 17a. query(offset=) without limit ------------------------------------------------------


def test_query_offset_without_limit_skips_rows(backend_uri: str, collection_name: str) -> None:
    store = core_store(backend_uri, collection_name)
    rest = store.query(offset=2)
    assert len(rest) == len(ALL_IDS) - 2
    assert ids(rest) == ids(store.query(limit=len(ALL_IDS) - 2, offset=2))
    assert ids(rest) | ids(store.query(limit=2)) == ALL_IDS
    assert ids(store.query(eq("kind", "a"), offset=1)) < {"1", "3", "123"}
    assert len(store.query(eq("kind", "a"), offset=1)) == 2
    assert store.query(offset=len(ALL_IDS)) == []
    with pytest.raises(InvalidInputError, match="offset=-1"):
        store.query(offset=-1)
    with pytest.raises(InvalidInputError, match="offset=True"):
        store.query(offset=True)
    with pytest.raises(InvalidInputError, match="exceeds"):
        store.query(limit=10, offset=16380)
    store.close()


async def test_async_query_offset_without_limit_skips_rows(
    backend_uri: str, collection_name: str
) -> None:
    sync = core_store(backend_uri, collection_name)
    store = AsyncMilvusStore(sync)
    rest = await store.query(offset=3)
    assert len(rest) == len(ALL_IDS) - 3
    with pytest.raises(InvalidInputError, match="offset"):
        await store.query(offset=-2)
    await store.close()
    sync.close()
