"""Hostile and careless use of the official integrations' argument names (drop-in attack).

Each case drives the LangChain or LlamaIndex store (or the core store) on Milvus Lite with
fake embeddings, and checks with a plain ``pymilvus.MilvusClient`` what Milvus holds.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import pickle
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.indexing import InMemoryRecordManager, index
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import VectorStoreQuery
from pymilvus import MilvusClient
from tests.support.faces import DIM, VocabEmbeddings, embed

from milvus_plugins.core import (
    AsyncMilvusStore,
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    MilvusPluginsError,
    MilvusStore,
    UnexpectedArgumentError,
)
from milvus_plugins.langchain import MilvusVectorStore as LCStore
from milvus_plugins.llama_index import MilvusVectorStore as LIStore

SECRET = "S3cr3tPw-xyz"


def _ids(uri: str, collection: str) -> list[str]:
    client = MilvusClient(uri)
    try:
        if not client.has_collection(collection):
            return []
        rows = client.query(collection, filter="", output_fields=["id"], limit=1000)
        return sorted(r["id"] for r in rows)
    finally:
        client.close()


def _lc(uri: str, **kwargs: Any) -> LCStore:
    return LCStore(VocabEmbeddings(), uri=uri, collection_name="lc", **kwargs)


def _li(uri: str, **kwargs: Any) -> LIStore:
    return LIStore(uri=uri, dim=DIM, collection_name="li", **kwargs)


def _node(node_id: str, text: str = "cat dog") -> TextNode:
    return TextNode(text=text, id_=node_id, embedding=embed(text))


def _doc(text: str, doc_id: str | None = None) -> Document:
    return Document(page_content=text, id=doc_id)


# -- secrets in connection_args ------------------------------------------------------


def test_password_never_in_repr_or_logs(lite_uri: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    store = LCStore(
        embedding_function=VocabEmbeddings(),
        connection_args={"uri": lite_uri, "user": "root", "password": SECRET},
        collection_name="lc",
    )
    store.add_texts(["cat"], ids=["a"])
    assert _ids(lite_uri, "lc") == ["a"]
    shown = repr(store) + str(store) + repr(store.store) + caplog.text
    assert SECRET not in shown


@pytest.mark.parametrize(
    "args",
    [
        {"uri": f"http://root:{SECRET}@bad host:x"},
        {"uri": "LITE", "password": SECRET},
        {"uri": "LITE", "token": SECRET, "password": SECRET},
        {"uri": "LITE", "user": "root", "password": SECRET, "token": "t"},
        {"uri": "LITE", "user": SECRET, "password": 5},
        {"uri": "LITE", "token": 12345, "secure": SECRET},
        {"uri": "LITE", "token": SECRET, "host": "localhost"},
    ],
)
def test_refused_connection_args_never_show_secrets(lite_uri: str, args: dict[str, Any]) -> None:
    args = {k: (lite_uri if v == "LITE" else v) for k, v in args.items()}
    with pytest.raises(ConfigError) as info:
        LCStore(VocabEmbeddings(), connection_args=args, collection_name="lc")
    assert SECRET not in str(info.value)
    assert "'S3cr3tPw" not in repr(info.value)


def test_server_uri_password_not_in_llama_description(tmp_path: Any) -> None:
    store = LIStore(uri=f"http://root:{SECRET}@127.0.0.1:9", token=f"u:{SECRET}", dim=DIM)
    text = repr(store) + str(store.to_dict()) + store.to_json()
    assert SECRET not in text


def test_llama_to_dict_round_trip_drops_token(lite_uri: str) -> None:
    store = _li(lite_uri, token=f"root:{SECRET}")
    assert SECRET not in str(store.to_dict())
    again = LIStore.from_dict(store.to_dict())
    assert again.uri == store.uri and SECRET not in repr(again.store)


@pytest.mark.parametrize(
    "args",
    [{1: "x"}, [("uri", "x.db")], {"uri": 5}, {"db_name": "../../etc"}, {"db_name": "x;drop"}],
)
def test_hostile_connection_args_typed(lite_uri: str, args: Any) -> None:
    if isinstance(args, dict) and "db_name" in args:
        args = {"uri": lite_uri, **args}
    with pytest.raises(ConfigError):
        LCStore(VocabEmbeddings(), connection_args=args, collection_name="lc")


def test_connection_args_with_uri_refused(lite_uri: str) -> None:
    with pytest.raises(ConfigError):
        LCStore(VocabEmbeddings(), uri=lite_uri, connection_args={"uri": lite_uri})


def test_connection_args_none_values_mean_absent(lite_uri: str) -> None:
    store = LCStore(
        VocabEmbeddings(),
        connection_args={"uri": lite_uri, "token": None, "user": None, "password": None},
        collection_name="lc",
    )
    store.add_texts(["cat"], ids=["a"])
    assert _ids(lite_uri, "lc") == ["a"]


# -- embedding / embedding_function ---------------------------------------------------


def test_embedding_and_embedding_function_both_refused(lite_uri: str) -> None:
    with pytest.raises(ConfigError):
        LCStore(VocabEmbeddings(), embedding_function=VocabEmbeddings(), uri=lite_uri)
    with pytest.raises(ConfigError):
        LCStore(embedding=None, embedding_function=VocabEmbeddings(), uri=lite_uri)
    with pytest.raises(ConfigError):
        LCStore(uri=lite_uri)  # neither
    with pytest.raises(ConfigError):
        LCStore.from_texts(
            ["cat"], VocabEmbeddings(), embedding_function=VocabEmbeddings(), uri=lite_uri
        )
    assert MilvusClient(lite_uri).list_collections() == []


def test_embedding_function_none_is_sparse_only_like_embedding_none(lite_uri: str) -> None:
    a = LCStore(embedding_function=None, uri=lite_uri, collection_name="a")
    b = LCStore(embedding=None, uri=lite_uri, collection_name="b")
    assert a.store.spec.dense == b.store.spec.dense
    assert a.store.spec.sparse == b.store.spec.sparse


@pytest.mark.parametrize("kw", [{"auto_id": True}, {"text_field": "t"}, {"drop_oldd": True}])
def test_from_texts_official_kwargs_refused_before_writing(lite_uri: str, kw: Any) -> None:
    with pytest.raises(UnexpectedArgumentError):
        LCStore.from_texts(["cat"], VocabEmbeddings(), uri=lite_uri, **kw)
    with pytest.raises(UnexpectedArgumentError):
        asyncio.run(LCStore.afrom_texts(["cat"], VocabEmbeddings(), uri=lite_uri, **kw))
    assert MilvusClient(lite_uri).list_collections() == []


# -- upsert / aupsert -----------------------------------------------------------------


def test_upsert_replaces_exactly(lite_uri: str) -> None:
    store = _lc(lite_uri)
    assert store.upsert(["a", "b"], [_doc("cat"), _doc("dog")]) == ["a", "b"]
    assert store.upsert(["a"], [_doc("fish")]) == ["a"]
    assert asyncio.run(store.aupsert(["c"], [_doc("car")])) == ["c"]
    assert _ids(lite_uri, "lc") == ["a", "b", "c"]
    assert [d.page_content for d in store.get_by_ids(["a"])] == ["fish"]


@pytest.mark.parametrize(
    "ids, docs",
    [
        ("a", [Document(page_content="cat")]),
        (["a", "b"], [Document(page_content="cat")]),
        (["a"], [Document(page_content="cat"), Document(page_content="dog")]),
        (["a", "a"], [Document(page_content="cat"), Document(page_content="dog")]),
        ([1], [Document(page_content="cat")]),
        (["a"], "cat"),
        (["a"], [("cat", {})]),
    ],
)
def test_upsert_bad_inputs_typed_and_nothing_written(lite_uri: str, ids: Any, docs: Any) -> None:
    store = _lc(lite_uri)
    store.add_texts(["bird"], ids=["keep"])
    with pytest.raises(MilvusPluginsError):
        store.upsert(ids, docs)
    with pytest.raises(MilvusPluginsError):
        asyncio.run(store.aupsert(ids, docs))
    assert _ids(lite_uri, "lc") == ["keep"]


# DEFECT (fixed): upsert([doc, doc]) (items first) returned [] and wrote nothing
def test_upsert_documents_given_as_ids_refused(lite_uri: str) -> None:
    store = _lc(lite_uri)
    with pytest.raises(MilvusPluginsError):
        store.upsert([_doc("cat"), _doc("dog")])  # type: ignore[list-item]


# DEFECT (fixed): upsert(ids=["a", "b"]) with documents=None returned [] silently
def test_upsert_ids_without_documents_refused(lite_uri: str) -> None:
    store = _lc(lite_uri)
    with pytest.raises(MilvusPluginsError):
        store.upsert(ids=["a", "b"])


def test_upsert_official_call_kwargs(lite_uri: str) -> None:
    store = _lc(lite_uri)
    assert store.upsert(["a"], [_doc("cat")], batch_size=1) == ["a"]
    with pytest.raises(UnexpectedArgumentError, match="timeout"):
        store.upsert(["b"], [_doc("dog")], timeout=3)
    assert _ids(lite_uri, "lc") == ["a"]


def test_upsert_empty_ids_generates(lite_uri: str) -> None:
    store = _lc(lite_uri)
    (written,) = store.upsert([], [_doc("cat")])
    assert _ids(lite_uri, "lc") == [written]


# -- index_params / index_config ----------------------------------------------------


def _index(uri: str, collection: str) -> dict[str, Any]:
    client = MilvusClient(uri)
    try:
        return dict(client.describe_index(collection, "vector"))
    finally:
        client.close()


def test_index_params_metric_type_and_nested_params(lite_uri: str) -> None:
    ip = {"index_type": "hnsw", "metric_type": "L2", "params": {"M": 8, "efConstruction": 64}}
    store = _lc(lite_uri, index_params=ip)
    store.add_texts(["cat"], ids=["a"])
    built = _index(lite_uri, "lc")
    assert (built["index_type"], built["metric_type"]) == ("HNSW", "L2")
    cfg = store.store.spec.index_config
    assert (cfg.M, cfg.ef_construction) == (8, 64)
    assert ip == {
        "index_type": "hnsw",
        "metric_type": "L2",
        "params": {"M": 8, "efConstruction": 64},
    }


@pytest.mark.parametrize(
    "ip, extra",
    [
        ({"index_type": "HNSW", "metric_type": "L2"}, {"metric": "IP"}),
        ({"index_type": "HNSW", "field_name": "other"}, {}),
        ({"index_type": "HNSW", "index_name": "other"}, {}),
        ({"index_type": "HNSW", "bogus": 1}, {}),
        ({"index_type": "NOPE"}, {}),
        ({"index_type": "HNSW"}, {"index": "FLAT"}),
        ({"index_type": "HNSW"}, {"index_params": {"index_type": "FLAT"}}),
    ],
)
def test_index_params_hostile_refused(lite_uri: str, ip: Any, extra: dict[str, Any]) -> None:
    if "index_params" in extra:
        with pytest.raises(TypeError):
            _lc(lite_uri, index_params=ip, **extra)
    else:
        with pytest.raises(ConfigError):
            _lc(lite_uri, index_params=ip, **extra)
    assert MilvusClient(lite_uri).list_collections() == []


# DEFECT (fixed): index_params={"index_type": "HNSW", "params": [1]} raised a bare TypeError
# ("cannot convert dictionary update sequence ..."), not a ConfigError naming params
def test_index_params_nested_params_list_is_config_error(lite_uri: str) -> None:
    with pytest.raises(ConfigError):
        _lc(lite_uri, index_params={"index_type": "HNSW", "params": [1]})


def test_index_config_llama(lite_uri: str) -> None:
    store = _li(lite_uri, index_config={"index_type": "hnsw", "M": 8, "efConstruction": 64})
    store.add([_node("n1")])
    assert _index(lite_uri, "li")["index_type"] == "HNSW"
    cfg = store.store.spec.index_config
    assert (cfg.M, cfg.ef_construction) == (8, 64)


@pytest.mark.parametrize(
    "cfg, extra",
    [
        ({"index_type": "HNSW", "metric_type": "L2"}, {"similarity_metric": "IP"}),
        ({"index_type": "HNSW", "field_name": "x"}, {}),
        ({"M": 16}, {}),  # FLAT by default, as in the official store
        ([("index_type", "HNSW")], {}),
        ({"index_type": "HNSW"}, {"index": "FLAT"}),
    ],
)
def test_index_config_hostile_refused(lite_uri: str, cfg: Any, extra: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        _li(lite_uri, index_config=cfg, **extra)
    assert MilvusClient(lite_uri).list_collections() == []


# -- hybrid_ranker / batch_size / upsert_mode ----------------------------------------


@pytest.mark.parametrize(
    "name, params",
    [
        ("WeightedRanker", {"weights": [2.0, 0.5]}),
        ("WeightedRanker", {"weights": [-0.1, 0.5]}),
        ("WeightedRanker", {"weights": [0.5, 0.5, 0.5]}),
        ("WeightedRanker", {"weights": "ab"}),
        ("WeightedRanker", {"k": 5}),
        ("RRFRanker", {"k": 0}),
        ("RRFRanker", {"k": True}),
        ("RRFRanker", {"k": 60.0}),
        ("rrfranker", None),
        (None, {"weights": [0.5, 0.5]}),
        ("RRFRanker", [("k", 5)]),
    ],
)
def test_hybrid_ranker_hostile_refused(lite_uri: str, name: Any, params: Any) -> None:
    with pytest.raises(ConfigError):
        _li(lite_uri, enable_sparse=True, hybrid_ranker=name, hybrid_ranker_params=params)
    assert MilvusClient(lite_uri).list_collections() == []


def test_hybrid_ranker_with_ranker_refused(lite_uri: str) -> None:
    from milvus_plugins.core import RRF

    with pytest.raises(ConfigError):
        _li(lite_uri, enable_sparse=True, ranker=RRF(5), hybrid_ranker="RRFRanker")


def test_rrf_hybrid_ranker_refuses_alpha(lite_uri: str) -> None:
    store = _li(lite_uri, enable_sparse=True, hybrid_ranker_params={"k": 5})
    store.add([_node("a", "cat dog"), _node("b", "fish")])
    query = VectorStoreQuery(
        query_embedding=embed("cat"), query_str="cat", similarity_top_k=2, mode="hybrid"
    )
    assert store.query(query).ids
    query.alpha = 0.3
    with pytest.raises(MilvusPluginsError):
        store.query(query)


@pytest.mark.parametrize("size", [0, -1, True, "5", 2.0])
def test_batch_size_hostile(lite_uri: str, size: Any) -> None:
    with pytest.raises(ConfigError):
        _li(lite_uri, batch_size=size)


def test_batch_size_taken(lite_uri: str) -> None:
    store = _li(lite_uri, batch_size=2)
    assert store.store.write_options.batch_rows == 2
    store.add([_node(f"n{i}") for i in range(5)])
    assert _ids(lite_uri, "li") == [f"n{i}" for i in range(5)]


@pytest.mark.parametrize("mode", [False, "yes", 1])
def test_upsert_mode_hostile(lite_uri: str, mode: Any) -> None:
    with pytest.raises(ConfigError):
        _li(lite_uri, upsert_mode=mode)


# -- add(milvus_partition_name=, force_flush=) --------------------------------------


@pytest.mark.parametrize(
    "kw",
    [
        {"force_flush": "yes"},
        {"force_flush": 1},
        {"force_flush": None},
        {"milvus_partition_name": "nope"},
        {"milvus_partition_name": "x' or 1==1"},
        {"milvus_partition_name": ""},
        {"milvus_partition_name": ["_default"]},
        {"milvus_partition_name": "_default", "partition_name": "_default"},
        {"force_flushh": True},
        {"timeout": 3},
    ],
)
def test_add_hostile_kwargs_nothing_written(lite_uri: str, kw: dict[str, Any]) -> None:
    store = _li(lite_uri)
    store.add([_node("keep")])
    with pytest.raises(MilvusPluginsError):
        store.add([_node("new")], **kw)
    with pytest.raises(MilvusPluginsError):
        asyncio.run(store.async_add([_node("new")], **kw))
    assert _ids(lite_uri, "li") == ["keep"]


def test_add_official_kwargs_taken(lite_uri: str) -> None:
    store = _li(lite_uri)
    assert store.add([_node("a")], milvus_partition_name="_default", force_flush=True) == ["a"]
    assert asyncio.run(store.async_add([_node("b")], force_flush=False)) == ["b"]
    assert _ids(lite_uri, "li") == ["a", "b"]


# -- misspelt keywords everywhere ---------------------------------------------------


def _lc_calls(store: LCStore) -> list[tuple[str, Any]]:
    return [
        ("add_texts", lambda: store.add_texts(["cat"], ids=["x"], partiton_name="p")),
        ("add_documents", lambda: store.add_documents([_doc("cat", "x")], idss=["x"])),
        ("upsert", lambda: store.upsert(["x"], [_doc("cat")], partiton_name="p")),
        ("aupsert", lambda: asyncio.run(store.aupsert(["x"], [_doc("cat")], tenantt="t"))),
        ("aadd_texts", lambda: asyncio.run(store.aadd_texts(["cat"], ids=["x"], progres=True))),
        ("delete", lambda: store.delete(["keep"], partiton_name="p")),
        ("adelete", lambda: asyncio.run(store.adelete(["keep"], expr="id != ''"))),
        ("similarity_search", lambda: store.similarity_search("cat", kk=1)),
        ("asimilarity_search", lambda: asyncio.run(store.asimilarity_search("cat", fliter={}))),
        ("with_score", lambda: store.similarity_search_with_score("cat", param={})),
        ("by_vector", lambda: store.similarity_search_by_vector(embed("cat"), exprr="x")),
        ("mmr", lambda: store.max_marginal_relevance_search("cat", fetchk=3)),
        ("get_by_ids", lambda: store.get_by_ids(["keep"], partiton_name="p")),
        ("retriever", lambda: store.as_retriever(search_kwargs={"kk": 1}).invoke("cat")),
        ("close", lambda: store.close(timeout=1)),
    ]


def test_misspelt_keywords_langchain_typed_and_nothing_changes(lite_uri: str) -> None:
    store = _lc(lite_uri)
    store.add_texts(["bird"], ids=["keep"])
    for name, call in _lc_calls(store)[:-1]:
        with pytest.raises(UnexpectedArgumentError):
            call()
        assert _ids(lite_uri, "lc") == ["keep"], name
    assert store.similarity_search("bird", k=1)[0].id == "keep"


# DEFECT (fixed): store.close(timeout=1) / aclose(...) raised Python's plain TypeError
# (StoreLifetime was not checked), not the UnexpectedArgumentError of other public methods
def test_misspelt_keyword_on_close_typed(lite_uri: str) -> None:
    with pytest.raises(UnexpectedArgumentError):
        _lc(lite_uri).close(timeout=1)  # type: ignore[call-arg]


def test_misspelt_keywords_llama_typed_and_nothing_changes(lite_uri: str) -> None:
    store = _li(lite_uri)
    store.add([_node("keep")])
    query = VectorStoreQuery(query_embedding=embed("cat"), similarity_top_k=1)
    calls = [
        lambda: store.add([_node("x")], partiton_name="p"),
        lambda: asyncio.run(store.async_add([_node("x")], tenantt="t")),
        lambda: store.delete("keep", milvus_partition_name="_default"),
        lambda: store.delete_nodes(["keep"], node_idss=["keep"]),
        lambda: store.clear(force=True),
        lambda: store.query(query, string_expr="id != ''"),
        lambda: asyncio.run(store.aquery(query, milvus_search_config={})),
        lambda: store.get_nodes(node_idss=["keep"]),
    ]
    for position, call in enumerate(calls):
        with pytest.raises(UnexpectedArgumentError):
            call()
        assert _ids(lite_uri, "li") == ["keep"], position


def test_misspelt_keywords_core_typed(lite_uri: str) -> None:
    spec = CollectionSpec(name="core", dim=DIM)
    with pytest.raises(UnexpectedArgumentError):
        MilvusStore(spec, connection=ConnectionConfig(uri=lite_uri), drop_oldd=True)
    store = MilvusStore(spec, connection=ConnectionConfig(uri=lite_uri))
    for name in ("upsert", "search", "delete", "query", "count", "get", "flush", "close"):
        with pytest.raises(UnexpectedArgumentError, match=name):
            getattr(store, name)(zz_typo=1)
    astore = AsyncMilvusStore(store)
    for name in ("upsert", "search", "delete", "count", "get"):
        with pytest.raises(UnexpectedArgumentError):
            asyncio.run(getattr(astore, name)(zz_typo=1))
    assert isinstance(UnexpectedArgumentError("x"), TypeError)
    assert _ids(lite_uri, "core") == []


def test_positional_mistakes_are_plain_type_errors(lite_uri: str) -> None:
    store = _lc(lite_uri)
    with pytest.raises(TypeError):
        store.add_texts()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        LCStore(VocabEmbeddings(), lite_uri)  # type: ignore[misc]
    with pytest.raises(TypeError):
        store.upsert(["a"], [_doc("cat")], 5)  # type: ignore[call-arg]
    assert _ids(lite_uri, "lc") == []


# -- __getattr__, pickle, copy, retriever, indexing API ------------------------------


def test_getattr_hint_does_not_hide_or_recurse(lite_uri: str) -> None:
    store = _lc(lite_uri)
    assert not hasattr(store, "get_pks")
    assert getattr(store, "search_by_metadata", 7) == 7
    assert getattr(store, "nope", None) is None
    with pytest.raises(AttributeError, match="similarity_search"):
        store.get_pks  # noqa: B018
    assert hasattr(store, "upsert") and hasattr(store, "embeddings")
    shallow = copy.copy(store)
    assert shallow.store is store.store
    for attempt in (lambda: pickle.dumps(store), lambda: copy.deepcopy(store)):
        try:
            attempt()
        except RecursionError:  # pragma: no cover - the failure we look for
            pytest.fail("__getattr__ recursed")
        except (TypeError, AttributeError, pickle.PicklingError):
            pass
    blank = LCStore.__new__(LCStore)
    assert not hasattr(blank, "_store")  # no recursion on a half-built object
    assert getattr(blank, "get_pks", "d") == "d"


def test_retriever_and_indexing_api(lite_uri: str) -> None:
    store = _lc(lite_uri)
    manager = InMemoryRecordManager(namespace="ns")
    manager.create_schema()
    docs = [_doc("cat dog", "d1"), _doc("fish", "d2")]
    result = index(docs, manager, store, cleanup="full", key_encoder="sha256")
    assert result["num_added"] == 2
    again = index(docs[:1], manager, store, cleanup="full", key_encoder="sha256")
    assert again["num_deleted"] == 1
    assert len(_ids(lite_uri, "lc")) == 1
    hits = store.as_retriever(search_kwargs={"k": 1}).invoke("cat")
    assert hits[0].page_content == "cat dog"


def test_upsert_not_on_langchain_base_class() -> None:
    from langchain_core.vectorstores import VectorStore

    assert not hasattr(VectorStore, "upsert")
    assert "upsert" in vars(
        __import__("milvus_plugins.langchain.writes").langchain.writes.DocumentWrites
    )
