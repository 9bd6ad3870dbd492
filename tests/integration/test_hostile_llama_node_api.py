"""Hostile review of the LlamaIndex store's non-query methods, against real Milvus Lite.

Every call is made on ``MilvusVectorStore`` and on LlamaIndex's reference
``SimpleVectorStore`` (which keeps ids, ref doc ids and a JSON dump of each node), and
the results are compared; what the reference cannot do (``get_nodes``) is held to the
``BasePydanticVectorStore`` contract and to LlamaIndex's own node dump. A refused call
must raise a ``MilvusPluginsError`` naming the argument and change no row (checked with
a plain ``pymilvus.MilvusClient``).
"""

from __future__ import annotations

import asyncio
import datetime
import decimal
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from llama_index.core.schema import (
    BaseNode,
    Document,
    ImageNode,
    IndexNode,
    MetadataMode,
    NodeRelationship,
    RelatedNodeInfo,
    TextNode,
)
from llama_index.core.vector_stores import SimpleVectorStore
from llama_index.core.vector_stores.types import (
    BasePydanticVectorStore,
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
)
from llama_index.core.vector_stores.utils import metadata_dict_to_node, node_to_metadata_dict
from pymilvus import MilvusClient
from tests.support.faces import DIM, embed

from milvus_plugins.core import MilvusPluginsError
from milvus_plugins.llama_index import MilvusVectorStore

COLLECTION = "nodes"


@pytest.fixture
def store(lite_uri: str) -> Iterator[MilvusVectorStore]:
    s = MilvusVectorStore(uri=lite_uri, collection_name=COLLECTION, dim=DIM)
    try:
        yield s
    finally:
        s.close()


def node(node_id: str, text: str | None = None, **kwargs: Any) -> TextNode:
    body = text or f"cat {node_id}"
    return TextNode(id_=node_id, text=body, embedding=embed(body), **kwargs)


def raw_ids(uri: str) -> list[str]:
    """Ids stored in the collection, read by a plain pymilvus client."""
    client = MilvusClient(uri)
    try:
        if not client.has_collection(COLLECTION):
            return []
        pk = next(
            f["name"]
            for f in client.describe_collection(COLLECTION)["fields"]
            if f.get("is_primary")
        )
        rows = client.query(COLLECTION, filter=f'{pk} != ""', output_fields=[pk])
        return sorted(r[pk] for r in rows)
    finally:
        client.close()


def reference_ids(ref: SimpleVectorStore) -> list[str]:
    return sorted(ref.data.embedding_dict)


def both_add(store: MilvusVectorStore, ref: SimpleVectorStore, nodes: list[BaseNode]) -> None:
    assert store.add(nodes) == ref.add(nodes) == [n.node_id for n in nodes]


def dump(n: BaseNode) -> dict[str, Any]:
    return n.model_dump(mode="json", exclude={"embedding"})


# Keys the reference store adds to each node's metadata (its own bookkeeping).
_REFERENCE_KEYS = {"_node_type", "document_id", "doc_id", "ref_doc_id"}


def reference_metadata(ref: SimpleVectorStore, node_id: str) -> dict[str, Any]:
    kept = ref.data.metadata_dict[node_id]
    return {k: v for k, v in kept.items() if k not in _REFERENCE_KEYS}


def expected_dump(original: BaseNode) -> dict[str, Any]:
    """The node as LlamaIndex's own JSON form keeps it (its docstore / node_to_metadata_dict
    path: ``metadata_dict_to_node`` of its dump, text put back, no embedding)."""
    kept = metadata_dict_to_node(node_to_metadata_dict(original, remove_text=True))
    kept.set_content(original.get_content(metadata_mode=MetadataMode.NONE))
    return dump(kept)


# -- add / get_nodes round trips -----------------------------------------------------------


def _relationships() -> dict[NodeRelationship, Any]:
    return {
        NodeRelationship.SOURCE: RelatedNodeInfo(node_id="doc-1", metadata={"title": "T"}),
        NodeRelationship.PREVIOUS: RelatedNodeInfo(node_id="p0", hash="h0"),
        NodeRelationship.NEXT: RelatedNodeInfo(node_id="p2", node_type="1"),
        NodeRelationship.PARENT: RelatedNodeInfo(node_id="parent"),
        NodeRelationship.CHILD: [RelatedNodeInfo(node_id="c1"), RelatedNodeInfo(node_id="c2")],
    }


def _every_kind() -> list[BaseNode]:
    child = TextNode(id_="inner", text="inner dog", metadata={"k": 1})
    return [
        node("plain"),
        node(
            "rich",
            "cat dog fish",
            metadata={"author": "a", "year": 2020, "nested": {"x": [1, 2.5, None]}},
            excluded_embed_metadata_keys=["author"],
            excluded_llm_metadata_keys=["year"],
            metadata_template="{key}=>{value}",
            metadata_separator=" | ",
            text_template="META: {metadata_str}\nBODY: {content}",
            start_char_idx=3,
            end_char_idx=15,
            mimetype="text/markdown",
            relationships=_relationships(),
        ),
        ImageNode(
            id_="image",
            text="a picture of a bird",
            image="aGVsbG8=",
            image_mimetype="image/png",
            image_url="https://example.invalid/b.png",
            embedding=embed("bird"),
        ),
        IndexNode(
            id_="index-obj", text="fish index", obj=child, index_id="inner", embedding=embed("fish")
        ),
        IndexNode(id_="index-id", text="train index", index_id="sub-index", embedding=embed("t")),
        IndexNode(
            id_="index-json",
            text="plane",
            index_id="j",
            obj={"a": [1, "b"]},
            embedding=embed("plane"),
        ),
        Document(id_="document", text="milvus vector", embedding=embed("milvus vector")),
    ]


def test_every_node_kind_round_trips_like_the_reference_store(
    store: MilvusVectorStore, lite_uri: str
) -> None:
    nodes = _every_kind()
    ref = SimpleVectorStore()
    both_add(store, ref, nodes)
    ids = [n.node_id for n in nodes]
    got = store.get_nodes(node_ids=ids)
    assert [n.node_id for n in got] == ids
    for original, back in zip(nodes, got, strict=True):
        assert type(back) is type(original)
        assert dump(back) == dump(original), original.node_id
        # LlamaIndex's JSON form turns that obj into a node and a Document into a TextNode.
        if original.node_id not in {"index-json", "document"}:
            assert dump(back) == expected_dump(original), original.node_id
        assert back.metadata == reference_metadata(ref, original.node_id)
        assert back.embedding == pytest.approx(ref.get(original.node_id), abs=1e-6)
        assert back.get_content(MetadataMode.LLM) == original.get_content(MetadataMode.LLM)
        assert back.get_content(MetadataMode.EMBED) == original.get_content(MetadataMode.EMBED)
        assert back.ref_doc_id == original.ref_doc_id
        assert back.hash == original.hash
    assert raw_ids(lite_uri) == sorted(ids)


def test_index_node_obj_node_comes_back_as_that_node(store: MilvusVectorStore) -> None:
    child = TextNode(id_="inner", text="inner dog", metadata={"k": 1})
    store.add(
        [IndexNode(id_="i", text="fish", obj=child, index_id="inner", embedding=embed("fish"))]
    )
    (back,) = store.get_nodes(["i"])
    assert isinstance(back, IndexNode)
    assert isinstance(back.obj, TextNode)
    assert back.obj.model_dump() == child.model_dump()


def test_async_add_and_aget_nodes_round_trip_like_sync(lite_uri: str) -> None:
    async def run() -> list[dict[str, Any]]:
        s = MilvusVectorStore(uri=lite_uri, collection_name=COLLECTION, dim=DIM)
        try:
            nodes = _every_kind()
            assert await s.async_add(nodes) == [n.node_id for n in nodes]
            got = await s.aget_nodes(node_ids=[n.node_id for n in nodes])
            return [dump(n) for n in got]
        finally:
            await s.aclose() if hasattr(s, "aclose") else s.close()

    assert asyncio.run(run()) == [dump(n) for n in _every_kind()]


def test_get_nodes_with_filters_and_ids_and_neither(store: MilvusVectorStore) -> None:
    store.add([node("a", metadata={"k": 1}), node("b", metadata={"k": 2}), node("c")])
    one = MetadataFilters(filters=[MetadataFilter(key="k", value=1)])
    assert [n.node_id for n in store.get_nodes(filters=one)] == ["a"]
    assert store.get_nodes(node_ids=["b", "c"], filters=one) == []
    assert sorted(n.node_id for n in store.get_nodes()) == ["a", "b", "c"]
    assert store.get_nodes(node_ids=[]) == []


# -- careless node_ids ---------------------------------------------------------------------


def test_node_ids_tuple_keeps_the_given_order(store: MilvusVectorStore) -> None:
    store.add([node("a"), node("b"), node("c")])
    assert [n.node_id for n in store.get_nodes(node_ids=("c", "a"))] == ["c", "a"]


def test_unknown_node_ids_are_skipped(store: MilvusVectorStore) -> None:
    store.add([node("a"), node("b")])
    assert [n.node_id for n in store.get_nodes(node_ids=["zz", "b", "yy"])] == ["b"]


def test_duplicate_node_ids_read_each_node_once(store: MilvusVectorStore) -> None:
    store.add([node("a"), node("b")])
    assert [n.node_id for n in store.get_nodes(node_ids=["b", "a", "b"])] == ["b", "a"]


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param("ab", id="str"),
        pytest.param(["a", None], id="none-inside"),
        pytest.param(["a", ""], id="empty-id"),
        pytest.param(["a", 1], id="int-inside"),
        pytest.param((x for x in ["a"]), id="generator"),
    ],
)
def test_careless_node_ids_are_refused_and_change_nothing(
    store: MilvusVectorStore, lite_uri: str, bad: Any
) -> None:
    store.add([node("a"), node("b")])
    for call in (store.get_nodes, store.delete_nodes):
        with pytest.raises(MilvusPluginsError, match="node_ids"):
            call(node_ids=bad)
    with pytest.raises(MilvusPluginsError, match="node_ids"):
        asyncio.run(store.adelete_nodes(node_ids=bad))
    assert raw_ids(lite_uri) == ["a", "b"]


# -- filters: nested, NOT, missing keys (against the reference's filter semantics) ---------

_ROWS = [
    ("a", {"k": 1, "j": "x"}),
    ("b", {"k": 2, "j": "y"}),
    ("c", {"k": 3}),
    ("d", {"j": "x"}),
    ("e", {}),
]


def _filter_cases() -> list[Any]:
    f = MetadataFilter
    cases: list[Any] = []
    for op, value in [
        (FilterOperator.EQ, 1),
        (FilterOperator.NE, 1),
        (FilterOperator.GT, 1),
        (FilterOperator.LTE, 2),
        (FilterOperator.IN, [1, 3]),
        (FilterOperator.NIN, [1, 3]),
        (FilterOperator.IS_EMPTY, None),
    ]:
        cases.append(
            pytest.param(
                MetadataFilters(filters=[f(key="k", value=value, operator=op)]), id=op.name
            )
        )
    two = [f(key="k", value=1), f(key="j", value="x")]
    for cond in FilterCondition:
        if cond.name in {"AND", "OR", "NOT"}:
            cases.append(pytest.param(MetadataFilters(filters=two, condition=cond), id=cond.name))
    return cases


@pytest.mark.parametrize("filters", _filter_cases())
def test_delete_nodes_by_filter_matches_reference(
    store: MilvusVectorStore, lite_uri: str, filters: MetadataFilters
) -> None:
    ref = SimpleVectorStore()
    both_add(store, ref, [node(i, metadata=m) for i, m in _ROWS])
    ref.delete_nodes(filters=filters)
    store.delete_nodes(filters=filters)
    assert raw_ids(lite_uri) == reference_ids(ref)


@pytest.mark.parametrize("filters", _filter_cases())
def test_get_nodes_by_filter_matches_reference_delete(
    store: MilvusVectorStore, filters: MetadataFilters
) -> None:
    ref = SimpleVectorStore()
    both_add(store, ref, [node(i, metadata=m) for i, m in _ROWS])
    ref.delete_nodes(filters=filters)
    matched = sorted(set(i for i, _ in _ROWS) - set(reference_ids(ref)))
    assert sorted(n.node_id for n in store.get_nodes(filters=filters)) == matched


def test_nested_filters_are_applied(store: MilvusVectorStore) -> None:
    # The reference raises "Nested MetadataFilters are not supported"; the contract allows them.
    store.add([node(i, metadata=m) for i, m in _ROWS])
    inner = MetadataFilters(
        filters=[MetadataFilter(key="k", value=1), MetadataFilter(key="j", value="x")]
    )
    outer = MetadataFilters(
        filters=[MetadataFilter(key="k", value=3), inner], condition=FilterCondition.OR
    )
    assert sorted(n.node_id for n in store.get_nodes(filters=outer)) == ["a", "c"]
    negated = MetadataFilters(filters=[inner], condition=FilterCondition.NOT)
    assert sorted(n.node_id for n in store.get_nodes(filters=negated)) == ["b", "c", "d", "e"]


def test_delete_nodes_ids_and_filters_is_an_and_like_reference(
    store: MilvusVectorStore, lite_uri: str
) -> None:
    ref = SimpleVectorStore()
    both_add(store, ref, [node(i, metadata=m) for i, m in _ROWS])
    filters = MetadataFilters(filters=[MetadataFilter(key="j", value="x")])
    for s in (store, ref):
        s.delete_nodes(node_ids=["a", "b", "zz"], filters=filters)
    assert raw_ids(lite_uri) == reference_ids(ref) == ["b", "c", "d", "e"]


def test_delete_nodes_with_unknown_and_duplicate_ids_like_reference(
    store: MilvusVectorStore, lite_uri: str
) -> None:
    ref = SimpleVectorStore()
    both_add(store, ref, [node("a"), node("b")])
    for s in (store, ref):
        s.delete_nodes(node_ids=["a", "a", "zz"])
        s.delete_nodes(node_ids=("nope",))
        s.delete_nodes(node_ids=[])
    assert raw_ids(lite_uri) == reference_ids(ref) == ["b"]


def test_delete_nodes_without_arguments_is_refused_not_a_clear(
    store: MilvusVectorStore, lite_uri: str
) -> None:
    # The reference deletes every node here; deleting everything by omission is refused.
    store.add([node("a"), node("b")])
    with pytest.raises(MilvusPluginsError, match="node_ids= or filters="):
        store.delete_nodes()
    with pytest.raises(MilvusPluginsError, match="node_ids= or filters="):
        store.delete_nodes(filters=MetadataFilters(filters=[]))
    assert raw_ids(lite_uri) == ["a", "b"]


# -- delete(ref_doc_id), clear ------------------------------------------------------------


def _with_source(node_id: str, doc: str) -> TextNode:
    return node(node_id, relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=doc)})


def test_delete_and_adelete_by_ref_doc_id_match_reference(
    store: MilvusVectorStore, lite_uri: str
) -> None:
    ref = SimpleVectorStore()
    nodes = [_with_source("a", "d1"), _with_source("b", "d1"), _with_source("c", "d2"), node("x")]
    both_add(store, ref, nodes)
    for s in (store, ref):
        s.delete("d1")
        s.delete("unknown")
    assert raw_ids(lite_uri) == reference_ids(ref) == ["c", "x"]
    asyncio.run(store.adelete("d2"))
    asyncio.run(ref.adelete("d2"))
    assert raw_ids(lite_uri) == reference_ids(ref) == ["x"]


@pytest.mark.parametrize("bad", ["", None, 3, ["d1"]], ids=["empty", "none", "int", "list"])
def test_delete_with_a_careless_ref_doc_id_is_refused(
    store: MilvusVectorStore, lite_uri: str, bad: Any
) -> None:
    store.add([_with_source("a", "d1"), node("x")])
    with pytest.raises(MilvusPluginsError, match="ref_doc_id"):
        store.delete(bad)
    with pytest.raises(MilvusPluginsError, match="ref_doc_id"):
        asyncio.run(store.adelete(bad))
    assert raw_ids(lite_uri) == ["a", "x"]


def test_clear_and_aclear_like_reference(store: MilvusVectorStore, lite_uri: str) -> None:
    ref = SimpleVectorStore()
    both_add(store, ref, [node("a"), node("b")])
    store.clear()
    ref.clear()
    assert raw_ids(lite_uri) == reference_ids(ref) == []
    assert store.get_nodes() == []
    both_add(store, ref, [node("c")])
    assert raw_ids(lite_uri) == reference_ids(ref) == ["c"]
    asyncio.run(store.aclear())
    asyncio.run(ref.aclear())
    assert raw_ids(lite_uri) == reference_ids(ref) == []
    store.clear()  # twice: nothing to clear, no error


# -- add: duplicate ids, embeddings -------------------------------------------------------


def test_duplicate_ids_in_one_add_are_refused_before_writing(
    store: MilvusVectorStore, lite_uri: str
) -> None:
    # The reference keeps the last one; refusing (typed, nothing written) is allowed.
    store.add([node("keep")])
    nodes = [node("a", metadata={"v": 1}), node("b"), node("a", metadata={"v": 2})]
    with pytest.raises(MilvusPluginsError, match="'a'"):
        store.add(nodes)
    with pytest.raises(MilvusPluginsError, match="'a'"):
        asyncio.run(store.async_add(nodes))
    assert raw_ids(lite_uri) == ["keep"]


@pytest.mark.parametrize(
    "embedding",
    [[1.0, 2.0], [float("nan")] * DIM, [], [float("inf")] + [0.0] * (DIM - 1), None],
    ids=["wrong-length", "nan", "empty", "inf", "none"],
)
def test_a_bad_embedding_is_refused_naming_the_node(
    store: MilvusVectorStore, lite_uri: str, embedding: Any
) -> None:
    store.add([node("keep")])
    bad = TextNode(id_="bad-node", text="cat", embedding=embedding)
    with pytest.raises(MilvusPluginsError, match="bad-node"):
        store.add([node("first"), bad])
    with pytest.raises(MilvusPluginsError, match="bad-node"):
        asyncio.run(store.async_add([node("first"), bad]))
    assert raw_ids(lite_uri) == ["keep"]


def test_a_numpy_embedding_round_trips_like_reference(store: MilvusVectorStore) -> None:
    ref = SimpleVectorStore()
    vector = np.asarray(embed("cat dog"), dtype=np.float32)
    n = TextNode(id_="np", text="cat dog", embedding=vector)  # type: ignore[arg-type]
    both_add(store, ref, [n])
    (back,) = store.get_nodes(["np"])
    assert back.embedding == pytest.approx(list(ref.get("np")), abs=1e-6)
    assert isinstance(back.embedding, list)


# -- metadata values ----------------------------------------------------------------------


def _deep(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    cur = value
    for _ in range(levels):
        cur["a"] = {}
        cur = cur["a"]
    return value


# DEFECT (fixed): bytes, set, Decimal, NaN and object values were refused naming the node but
# not the key


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(datetime.datetime(2020, 1, 1), id="datetime"),
        pytest.param(datetime.date(2020, 1, 1), id="date"),
        pytest.param(b"bytes", id="bytes"),
        pytest.param({1, 2}, id="set"),
        pytest.param(decimal.Decimal("1.5"), id="decimal"),
        pytest.param(float("nan"), id="nan"),
        pytest.param({1: "int key"}, id="int-key"),
        pytest.param(object(), id="obj"),
        pytest.param(_deep(100), id="deep"),
    ],
)
def test_non_json_metadata_is_refused_naming_node_and_key_before_writing(
    store: MilvusVectorStore, lite_uri: str, value: Any
) -> None:
    store.add([node("keep")])
    nodes = [node("first"), node("bad-node", metadata={"the_key": value})]
    for call in (store.add, lambda ns: asyncio.run(store.async_add(ns))):
        with pytest.raises(MilvusPluginsError, match=r"(?s)bad-node.*the_key"):
            call(nodes)
    assert raw_ids(lite_uri) == ["keep"]


@pytest.mark.parametrize(
    ("value", "plain"),
    [
        (np.int64(3), 3),
        (np.float32(0.5), 0.5),
        (np.bool_(True), True),
        (_deep(30), _deep(30)),
        # JSON has no tuple: one comes back as a list, as LlamaIndex's own node JSON does
        # (and the store's docstring says).
        ((1, 2), [1, 2]),
        (
            {"s": "é\x00\u2028", "n": None, "l": [[], {}]},
            {"s": "é\x00\u2028", "n": None, "l": [[], {}]},
        ),
    ],
    ids=["np-int", "np-float", "np-bool", "deep-30", "tuple-as-list", "odd-json"],
)
def test_storable_metadata_round_trips_exactly(
    store: MilvusVectorStore, value: Any, plain: Any
) -> None:
    store.add([node("n", metadata={"the_key": value})])
    (back,) = store.get_nodes(["n"])
    assert back.metadata == {"the_key": plain}
    assert type(back.metadata["the_key"]) is type(plain)


def test_relationship_metadata_with_non_json_values_is_refused(
    store: MilvusVectorStore, lite_uri: str
) -> None:
    rel = {NodeRelationship.SOURCE: RelatedNodeInfo(node_id="d", metadata={"when": {1, 2}})}
    with pytest.raises(MilvusPluginsError, match="bad-node"):
        store.add([node("first"), node("bad-node", relationships=rel)])
    assert raw_ids(lite_uri) == []


# -- description, client properties, persist ----------------------------------------------


def test_to_dict_from_dict_reopens_the_same_nodes(store: MilvusVectorStore) -> None:
    store.add([node("a"), node("b")])
    data = store.to_dict()
    assert data["class_name"] == "MilvusVectorStore"
    again = MilvusVectorStore.from_dict(data)
    try:
        assert sorted(n.node_id for n in again.get_nodes()) == ["a", "b"]
        assert MilvusVectorStore.from_json(store.to_json()).collection_name == COLLECTION
    finally:
        again.close()


@pytest.mark.parametrize("bad", [None, "text", {"not_a_setting": 1}], ids=["none", "str", "key"])
def test_from_dict_with_a_careless_description_is_refused(bad: Any) -> None:
    with pytest.raises(MilvusPluginsError):
        MilvusVectorStore.from_dict(bad)


def test_client_properties_and_contract(store: MilvusVectorStore, lite_uri: str) -> None:
    assert isinstance(store, BasePydanticVectorStore)
    assert store.stores_text is True
    assert isinstance(store.client, MilvusClient)
    store.add([node("a")])
    assert store.client.has_collection(COLLECTION)

    async def inside() -> Any:
        return store.aclient

    assert asyncio.run(inside()) is not None
    # persist is the base class' no-op: it must not fail or write a file.
    store.persist("unused-path")
    assert raw_ids(lite_uri) == ["a"]


def test_add_of_non_nodes_is_refused_naming_nodes(store: MilvusVectorStore, lite_uri: str) -> None:
    for bad in (node("a"), [node("a"), {"id": "x"}], "text"):
        with pytest.raises(MilvusPluginsError, match="node"):
            store.add(bad)  # type: ignore[arg-type]
    assert raw_ids(lite_uri) == []


def test_unknown_keyword_arguments_on_every_method_are_refused(
    store: MilvusVectorStore, lite_uri: str
) -> None:
    store.add([_with_source("a", "d")])
    calls = [
        lambda: store.add([node("b")], bogus=1),
        lambda: store.delete("d", bogus=1),
        lambda: store.delete_nodes(["a"], bogus=1),
        lambda: asyncio.run(store.adelete_nodes(["a"], bogus=1)),
        lambda: asyncio.run(store.adelete("d", bogus=1)),
    ]
    for call in calls:
        with pytest.raises(MilvusPluginsError, match="bogus"):
            call()
    assert raw_ids(lite_uri) == ["a"]


# DEFECT (fixed): store.aclient outside an event loop raised a bare RuntimeError
def test_aclient_outside_an_event_loop_is_a_typed_error(store: MilvusVectorStore) -> None:
    with pytest.raises(MilvusPluginsError, match=r"aclient|event loop"):
        _ = store.aclient
