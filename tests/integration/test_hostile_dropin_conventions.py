"""A user switching from the official integrations copies their documented calls.

``langchain_milvus.Milvus`` (0.4) and ``llama_index.vector_stores.milvus.MilvusVectorStore``
take constructor and method arguments that ours names differently. Each documented
convention must either work with the same meaning, or be refused with a typed error
naming the argument given and what to use instead, before anything is created or
written. Never ignored, never a different meaning: an ``expr`` that a delete ignored would
delete everything. Real Milvus Lite; what was created is checked with a plain
``pymilvus.MilvusClient``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.documents import Document
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores.types import (
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
)
from pymilvus import MilvusClient
from tests.support.faces import DIM, VocabEmbeddings, embed

from milvus_plugins.core import RRF, ConnectionConfig, HnswIndex, MilvusPluginsError, Weighted
from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

COLL = "dropin"
ROWS = [("a", "cat dog", 2020), ("b", "car train", 2024), ("c", "fish bird", 2024)]


# -- helpers --------------------------------------------------------------------------------


def _client_do(uri: str, fn: Callable[[MilvusClient], Any]) -> Any:
    client = MilvusClient(uri)
    try:
        return fn(client)
    finally:
        client.close()


def _exists(uri: str, name: str = COLL) -> bool:
    """Whether ``name`` exists (a Lite file never created holds nothing)."""
    if not os.path.exists(uri):
        return False
    return bool(_client_do(uri, lambda c: c.has_collection(name)))


def _ids(uri: str, name: str = COLL) -> set[str]:
    rows = _client_do(uri, lambda c: c.query(name, filter="", limit=100, output_fields=["id"]))
    return {r["id"] for r in rows}


def _dense_index(uri: str, name: str = COLL) -> dict[str, Any]:
    def read(c: MilvusClient) -> dict[str, Any]:
        infos = [c.describe_index(name, i) for i in c.list_indexes(name)]
        return next(i for i in infos if i["index_type"] != "SPARSE_INVERTED_INDEX")

    return _client_do(uri, read)  # type: ignore[no-any-return]


def _assert_refused(exc: BaseException, given: str, instead: tuple[str, ...]) -> None:
    """A typed refusal naming the argument given and at least one equivalent of ours."""
    assert isinstance(exc, (MilvusPluginsError, TypeError)), type(exc)
    message = str(exc)
    assert given in message, message
    assert any(word in message for word in instead), (instead, message)


def _lc_store(uri: str, **kwargs: Any) -> LangChainStore:
    return LangChainStore(VocabEmbeddings(), uri=uri, collection_name=COLL, **kwargs)


def _lc_seeded(uri: str) -> LangChainStore:
    store = _lc_store(uri)
    store.add_texts(
        [t for _, t, _ in ROWS], [{"year": y} for _, _, y in ROWS], ids=[i for i, _, _ in ROWS]
    )
    return store


def _nodes() -> list[TextNode]:
    out = []
    for node_id, text, year in ROWS:
        node = TextNode(id_=node_id, text=text, metadata={"year": year}, embedding=embed(text))
        node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=f"doc-{node_id}")
        out.append(node)
    return out


def _llama_seeded(uri: str) -> LlamaStore:
    store = LlamaStore(uri=uri, collection_name=COLL)
    store.add(_nodes())
    return store


# -- LangChain constructor: official arguments ------------------------------------------------

# (official kwargs, the argument named in the error, our equivalents: one must be named).
# DEFECT (fixed): each official argument here (all but num_partitions, search_params and
# collection_properties) was a bare TypeError "unexpected keyword argument" naming no equivalent.
LC_REFUSALS = [
    pytest.param({"auto_id": True}, "auto_id", ("ids",), id="auto_id"),
    pytest.param({"primary_field": "pk"}, "primary_field", ("field_mapping",), id="primary_field"),
    pytest.param({"text_field": "page_content"}, "text_field", ("field_mapping",), id="text_field"),
    pytest.param(
        {"vector_field": "embedding"},
        "vector_field",
        ("field_mapping", "embedding={"),
        id="vector_field",
    ),
    pytest.param(
        {"metadata_field": "meta"}, "metadata_field", ("field_mapping",), id="metadata_field"
    ),
    pytest.param(
        {"partition_names": ["p1"]},
        "partition_names",
        ("per call", "search_kwargs", "partition_name="),
        id="partition_names",
    ),
    pytest.param(
        {"enable_dynamic_field": True},
        "enable_dynamic_field",
        ("metadata",),
        id="enable_dynamic_field",
    ),
    pytest.param(
        {"builtin_function": object()}, "builtin_function", ("sparse=",), id="builtin_function"
    ),
    pytest.param(
        {"metadata_schema": {"year": {"dtype": "INT64"}}},
        "metadata_schema",
        ("metadata_fields",),
        id="metadata_schema",
    ),
    pytest.param({"timeout": 10}, "timeout", ("ConnectionConfig", "connection="), id="timeout"),
    pytest.param(
        {"replica_number": 2},
        "replica_number",
        ("collection_properties", "replicas"),
        id="replica_number",
    ),
    pytest.param({"num_shards": 2}, "num_shards", ("collection_properties",), id="num_shards"),
    pytest.param(
        {"num_partitions": 16}, "num_partitions", ("partition_key=",), id="num_partitions"
    ),
    pytest.param(
        {"collection_properties": {"collection.ttl.seconds": 60}},
        "collection.ttl.seconds",
        ("ttl_seconds",),
        id="collection_properties-ttl",
    ),
    pytest.param(
        {"collection_properties": {"mmap.enabled": True}},
        "mmap.enabled",
        ("'mmap'",),
        id="collection_properties-mmap",
    ),
]


@pytest.mark.parametrize(("kwargs", "given", "instead"), LC_REFUSALS)
def test_langchain_official_constructor_argument_refused_before_creating(
    lite_uri: str, kwargs: dict[str, Any], given: str, instead: tuple[str, ...]
) -> None:
    kwargs = {k: ({"uri": lite_uri} if v == {"uri": "{uri}"} else v) for k, v in kwargs.items()}
    uri = {} if "connection_args" in kwargs else {"uri": lite_uri}
    with pytest.raises((MilvusPluginsError, TypeError)) as caught:
        store = LangChainStore(VocabEmbeddings(), collection_name=COLL, **uri, **kwargs)
        store.add_texts(["cat dog"], ids=["a"])
    assert not _exists(lite_uri)
    _assert_refused(caught.value, given, instead)


def test_langchain_official_search_params_shape_is_read_and_its_metric_checked(
    lite_uri: str,
) -> None:
    # langchain-milvus writes search_params as {"metric_type": ..., "params": {...}}: the
    # knobs are taken; a metric_type the collection's index does not rank by is refused
    # when the index is known (at the first search), naming metric_type and the knobs.
    same = _lc_store(lite_uri, search_params={"metric_type": "COSINE", "params": {"ef": 10}})
    same.add_texts(["cat dog", "car train"], ids=["a", "b"])
    assert [d.id for d in same.similarity_search("cat", k=1)] == ["a"]
    other = _lc_store(lite_uri, search_params={"metric_type": "L2", "params": {"ef": 10}})
    with pytest.raises(MilvusPluginsError) as caught:
        other.similarity_search("cat", k=1)
    _assert_refused(caught.value, "metric_type", ("ef",))


# DEFECT (fixed): embedding_function= (the official first argument) gave "missing 'embedding'"
def test_langchain_embedding_function_keyword_means_embedding(lite_uri: str) -> None:
    store = LangChainStore(embedding_function=VocabEmbeddings(), uri=lite_uri, collection_name=COLL)
    store.add_texts(["cat dog", "car train"], ids=["a", "b"])
    assert [d.id for d in store.similarity_search("cat", k=1)] == ["a"]


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"embedding": VocabEmbeddings()}, id="both-models"),
        pytest.param({"embedding": None}, id="both-models-one-none"),
    ],
)
def test_langchain_embedding_and_embedding_function_together_are_refused(
    lite_uri: str, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(MilvusPluginsError) as caught:
        LangChainStore(
            embedding_function=VocabEmbeddings(), uri=lite_uri, collection_name=COLL, **kwargs
        )
    assert not _exists(lite_uri)
    _assert_refused(caught.value, "embedding_function", ("embedding=",))


def test_langchain_without_any_model_is_a_config_error_naming_both(lite_uri: str) -> None:
    with pytest.raises(MilvusPluginsError) as caught:
        LangChainStore(uri=lite_uri, collection_name=COLL)  # type: ignore[call-arg]
    assert not _exists(lite_uri)
    _assert_refused(caught.value, "embedding_function", ("embedding=None",))


def test_langchain_connection_args_mean_uri_token_and_db_name(lite_uri: str) -> None:
    store = LangChainStore(
        VocabEmbeddings(), connection_args={"uri": lite_uri, "token": ""}, collection_name=COLL
    )
    store.add_texts(["cat dog"], ids=["a"])
    assert _ids(lite_uri) == {"a"}
    assert store.store.session.connection.uri == lite_uri


@pytest.mark.parametrize(
    ("args", "named"),
    [
        pytest.param({"host": "localhost", "port": 19530}, "uri='http://host:port'", id="host"),
        pytest.param({"uri": "{uri}", "secure": True}, "client_kwargs", id="client-key"),
        pytest.param({"uri": "{uri}", "user": "root"}, "password", id="user-alone"),
        pytest.param(
            {"uri": "{uri}", "user": "u", "password": "p", "token": "t"}, "token", id="user+token"
        ),
        pytest.param(["{uri}"], "connection_args", id="not-a-dict"),
    ],
)
def test_langchain_connection_args_other_keys_are_refused_naming_the_fix(
    lite_uri: str, args: Any, named: str
) -> None:
    if isinstance(args, dict):
        args = {k: (lite_uri if v == "{uri}" else v) for k, v in args.items()}
    with pytest.raises(MilvusPluginsError) as caught:
        LangChainStore(VocabEmbeddings(), connection_args=args, collection_name=COLL)
    assert not _exists(lite_uri)
    assert named in str(caught.value)
    assert "'p'" not in str(caught.value)  # a password is never echoed


@pytest.mark.parametrize(
    "other",
    [{"uri": "x.db"}, {"token": "t"}, {"connection": ConnectionConfig(uri="x.db")}],
    ids=["uri", "token", "conn"],
)
def test_langchain_connection_args_with_uri_token_or_connection_is_refused(
    lite_uri: str, other: dict[str, Any]
) -> None:
    with pytest.raises(MilvusPluginsError) as caught:
        LangChainStore(
            VocabEmbeddings(), connection_args={"uri": lite_uri}, collection_name=COLL, **other
        )
    assert not _exists(lite_uri)
    assert "connection_args" in str(caught.value)


def test_langchain_index_params_builds_that_index(lite_uri: str) -> None:
    index = {"index_type": "HNSW", "metric_type": "L2", "params": {"M": 8, "efConstruction": 64}}
    store = _lc_store(lite_uri, index_params=index)
    store.add_texts(["cat dog"], ids=["a"])
    info = _dense_index(lite_uri)
    assert (info["index_type"], info["metric_type"]) == ("HNSW", "L2")
    # Milvus Lite 3.2.2 describes no index parameters: the store's own index is read.
    built = store.store.spec.index_config
    assert isinstance(built, HnswIndex) and (built.M, built.ef_construction) == (8, 64)


def test_langchain_index_params_with_index_is_refused(lite_uri: str) -> None:
    with pytest.raises(MilvusPluginsError) as caught:
        _lc_store(lite_uri, index_params={"index_type": "FLAT"}, index="HNSW")
    assert not _exists(lite_uri)
    _assert_refused(caught.value, "index_params", ("index=",))


def test_langchain_partition_key_field_means_partition_key(lite_uri: str) -> None:
    store = _lc_store(lite_uri, partition_key_field="tenant", metadata_fields={"tenant": "VARCHAR"})
    store.add_texts(["cat dog", "car train"], [{"tenant": "t1"}, {"tenant": "t2"}], ids=["a", "b"])
    schema = _client_do(lite_uri, lambda c: c.describe_collection(COLL))
    keys = [f["name"] for f in schema["fields"] if f.get("is_partition_key")]
    assert keys == ["tenant"]
    hits = store.similarity_search("cat", k=5, tenant="t2")
    assert [d.id for d in hits] == ["b"]


def test_langchain_official_index_params_value_under_index_means_the_same(lite_uri: str) -> None:
    """The official index_params dict, given as ``index=``, builds that very index."""
    index = {"index_type": "HNSW", "metric_type": "L2", "params": {"M": 8, "efConstruction": 64}}
    _lc_store(lite_uri, index=index).add_texts(["cat dog"], ids=["a"])
    info = _dense_index(lite_uri)
    assert (info["index_type"], info["metric_type"]) == ("HNSW", "L2")


@pytest.mark.parametrize("level", ["Session", "Bounded", "Eventually", "Strong"])
def test_langchain_consistency_level_means_the_same(lite_uri: str, level: str) -> None:
    store = _lc_store(lite_uri, consistency_level=level)
    store.add_texts(["cat dog"], ids=["a"])
    # Milvus Lite reports every collection as Strong: the store's own setting is checked.
    assert store.store.spec.consistency.value == level


def test_langchain_drop_old_means_the_same(lite_uri: str) -> None:
    _lc_seeded(lite_uri)
    _lc_store(lite_uri, drop_old=True).add_texts(["plane"], ids=["new"])
    assert _ids(lite_uri) == {"new"}


def test_langchain_add_texts_ids_are_the_primary_keys(lite_uri: str) -> None:
    _lc_seeded(lite_uri)
    assert _ids(lite_uri) == {"a", "b", "c"}


# -- LangChain methods ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda s: s.similarity_search("cat", k=3, expr="year == 2020"), id="ss"),
        pytest.param(
            lambda s: s.similarity_search_with_score("cat", k=3, expr="year == 2020"),
            id="ss_with_score",
        ),
        pytest.param(
            lambda s: s.similarity_search_with_relevance_scores("cat", k=3, expr="year == 2020"),
            id="ss_relevance",
        ),
        pytest.param(
            lambda s: s.max_marginal_relevance_search("cat", k=2, expr="year == 2020"), id="mmr"
        ),
        pytest.param(
            lambda s: s.as_retriever(search_kwargs={"expr": "year == 2020"}).invoke("cat"),
            id="retriever",
        ),
    ],
)
def test_langchain_search_expr_is_refused_naming_filter(
    lite_uri: str, call: Callable[[LangChainStore], Any]
) -> None:
    store = _lc_seeded(lite_uri)
    with pytest.raises(MilvusPluginsError) as caught:
        call(store)  # an ignored expr would return unfiltered results
    _assert_refused(caught.value, "expr", ("filter=",))


@pytest.mark.parametrize(
    ("kwargs", "instead"),
    [
        pytest.param(
            {"param": {"metric_type": "COSINE", "params": {"ef": 10}}}, ("search_params",)
        ),
        pytest.param({"timeout": 5.0}, ("accepted",)),
    ],
    ids=["param", "timeout"],
)
def test_langchain_search_official_kwargs_refused(
    lite_uri: str, kwargs: dict[str, Any], instead: tuple[str, ...]
) -> None:
    store = _lc_seeded(lite_uri)
    with pytest.raises(MilvusPluginsError) as caught:
        store.similarity_search("cat", k=2, **kwargs)
    _assert_refused(caught.value, next(iter(kwargs)), instead)


@pytest.mark.parametrize(
    "kwargs",
    [{"expr": "year == 2020"}, {"ids": ["a"], "expr": "year == 2020"}, {"expr": "id != ''"}],
    ids=["expr", "ids+expr", "expr-all"],
)
def test_langchain_delete_expr_is_refused_and_deletes_nothing(
    lite_uri: str, kwargs: dict[str, Any]
) -> None:
    store = _lc_seeded(lite_uri)
    with pytest.raises(MilvusPluginsError) as caught:
        store.delete(**kwargs)
    assert _ids(lite_uri) == {"a", "b", "c"}
    _assert_refused(caught.value, "expr", ("filter=",))


def test_langchain_delete_positional_expr_deletes_nothing(lite_uri: str) -> None:
    """Official ``delete(None, "expr")``: a second positional must not mean 'delete all'."""
    store = _lc_seeded(lite_uri)
    with pytest.raises(TypeError):
        store.delete(None, "year == 2020")  # type: ignore[misc]
    assert _ids(lite_uri) == {"a", "b", "c"}


def test_langchain_delete_empty_ids_deletes_nothing(lite_uri: str) -> None:
    """Official ``delete(ids=[])`` refuses (assert); ours must not widen it to everything."""
    store = _lc_seeded(lite_uri)
    with contextlib.suppress(MilvusPluginsError):
        store.delete(ids=[])
    assert _ids(lite_uri) == {"a", "b", "c"}


def test_langchain_delete_filter_is_the_equivalent_of_expr(lite_uri: str) -> None:
    store = _lc_seeded(lite_uri)
    store.delete(filter="year == 2020")
    assert _ids(lite_uri) == {"b", "c"}


def test_langchain_add_texts_timeout_refused_before_writing(lite_uri: str) -> None:
    store = _lc_seeded(lite_uri)
    with pytest.raises(MilvusPluginsError) as caught:
        store.add_texts(["plane"], ids=["z"], timeout=5.0)
    assert _ids(lite_uri) == {"a", "b", "c"}
    _assert_refused(caught.value, "timeout", ("accepted",))


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param(
            {"connection_args": {"uri": "{uri}"}, "collection_name": COLL},
            # DEFECT (fixed): from_texts(connection_args=...) was a bare TypeError
            id="connection_args",
        ),
        pytest.param(
            {"index_params": {"index_type": "FLAT", "metric_type": "L2"}, "collection_name": COLL},
            # DEFECT (fixed): from_texts(index_params=...) was a bare TypeError
            id="index_params",
        ),
    ],
)
def test_langchain_from_texts_official_kwargs(lite_uri: str, kwargs: dict[str, Any]) -> None:
    kwargs = {k: ({"uri": lite_uri} if v == {"uri": "{uri}"} else v) for k, v in kwargs.items()}
    if "connection_args" not in kwargs:
        kwargs["uri"] = lite_uri
    store = LangChainStore.from_texts(["cat dog"], VocabEmbeddings(), ids=["a"], **kwargs)
    assert _ids(lite_uri) == {"a"}
    if "index_params" in kwargs:
        info = _dense_index(lite_uri)
        assert (info["index_type"], info["metric_type"]) == ("FLAT", "L2")
    assert [d.id for d in store.similarity_search("cat", k=1)] == ["a"]


# DEFECT (fixed): upsert(ids=, documents=) was an AttributeError (add_documents upserts)
def test_langchain_upsert_replaces_by_id_or_refuses(lite_uri: str) -> None:
    store = _lc_seeded(lite_uri)
    try:
        document = Document("plane", metadata={"year": 2030})
        store.upsert(ids=["a"], documents=[document])
    except (MilvusPluginsError, TypeError) as exc:
        assert _ids(lite_uri) == {"a", "b", "c"}
        _assert_refused(exc, "upsert", ("add_documents",))
        return
    assert _ids(lite_uri) == {"a", "b", "c"}
    assert store.get_by_ids(["a"])[0].page_content == "plane"


@pytest.mark.parametrize(
    ("method", "call"),
    [
        pytest.param(
            "get_pks",
            lambda s: s.get_pks("year == 2020"),
            # DEFECT (fixed): get_pks(expr) was an AttributeError naming no equivalent
            id="get_pks",
        ),
        pytest.param(
            "search_by_metadata",
            lambda s: s.search_by_metadata("year == 2020", limit=10),
            # DEFECT (fixed): search_by_metadata(expr) was an AttributeError naming no equivalent
            id="search_by_metadata",
        ),
    ],
)
def test_langchain_expr_read_methods_same_meaning_or_refused(
    lite_uri: str, method: str, call: Callable[[Any], Any]
) -> None:
    store = _lc_seeded(lite_uri)
    try:
        result = call(store)
    except (MilvusPluginsError, TypeError, AttributeError) as exc:
        assert method in str(exc) and "filter=" in str(exc), str(exc)
        return
    got = {r if isinstance(r, str) else r.id for r in result}
    assert got == {"a"}  # only the matching row, never every row


def test_langchain_hinted_equivalent_of_search_by_metadata_filters(lite_uri: str) -> None:
    """What the hint names (a blank query with ``filter=``) returns only matching rows."""
    store = _lc_seeded(lite_uri)
    assert {d.id for d in store.similarity_search("", k=10, filter="year == 2020")} == {"a"}


def test_langchain_missing_attribute_stays_a_plain_attribute_error(lite_uri: str) -> None:
    store = _lc_store(lite_uri)
    assert not hasattr(store, "get_pks")
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        store.nonexistent  # type: ignore[attr-defined]  # noqa: B018


# -- LlamaIndex constructor: official arguments ---------------------------------------------

# DEFECT (fixed): as above, every official argument here (all but collection_properties and
# similarity_metric) was a bare TypeError naming no equivalent.
LLAMA_REFUSALS = [
    pytest.param(
        {"search_config": {"ef": 64}}, "search_config", ("index=HnswIndex(ef=",), id="search_config"
    ),
    pytest.param(
        {"enable_sparse": True, "sparse_embedding_function": object()},
        "sparse_embedding_function",
        ("sparse=",),
        id="sparse_embedding_function",
    ),
    pytest.param(
        {"enable_sparse": True, "hybrid_ranker_params": {"weights": [0.7, 0.3]}},
        "hybrid_ranker_params",
        ("ranker=", "Weighted"),
        id="hybrid_ranker_params",
    ),
    pytest.param({"text_key": "content"}, "text_key", ("field_mapping",), id="text_key"),
    pytest.param(
        {"embedding_field": "vec"}, "embedding_field", ("field_mapping",), id="embedding_field"
    ),
    pytest.param({"doc_id_field": "docid"}, "doc_id_field", ("field_mapping",), id="doc_id_field"),
    pytest.param(
        {"enable_sparse": True, "sparse_embedding_field": "sp"},
        "sparse_embedding_field",
        ("field_mapping",),
        id="sparse_embedding_field",
    ),
    pytest.param(
        {"output_fields": ["year"]}, "output_fields", ("VectorStoreQuery",), id="output_fields"
    ),
    pytest.param(
        {"enable_dynamic_field": True},
        "enable_dynamic_field",
        ("metadata",),
        id="enable_dynamic_field",
    ),
    pytest.param(
        {"index_management": "no_validation"},
        "index_management",
        ("open_mode",),
        id="index_management",
    ),
    pytest.param(
        {"scalar_field_names": ["year"], "scalar_field_types": ["INT64"]},
        "scalar_field_names",
        ("metadata_fields",),
        id="scalar_field_names",
    ),
    pytest.param(
        {"enable_sparse": True, "sparse_index_config": {"index_type": "SPARSE_INVERTED_INDEX"}},
        "sparse_index_config",
        ("sparse=",),
        id="sparse_index_config",
    ),
    pytest.param(
        {"server_pem_path": "/nonexistent/server.pem"},
        "server_pem_path",
        ("client_kwargs",),
        id="client-kwargs",
    ),
    pytest.param(
        {"collection_properties": {"collection.ttl.seconds": 60}},
        "collection.ttl.seconds",
        ("ttl_seconds",),
        id="collection_properties-ttl",
    ),
    pytest.param(
        {"collection_properties": {"mmap.enabled": True}},
        "mmap.enabled",
        ("'mmap'",),
        id="collection_properties-mmap",
    ),
    pytest.param({"similarity_metric": "euclidean"}, "euclidean", ("L2",), id="metric-euclidean"),
]


@pytest.mark.parametrize(("kwargs", "given", "instead"), LLAMA_REFUSALS)
def test_llama_official_constructor_argument_refused_before_creating(
    lite_uri: str, kwargs: dict[str, Any], given: str, instead: tuple[str, ...]
) -> None:
    with pytest.raises((MilvusPluginsError, TypeError)) as caught:
        LlamaStore(uri=lite_uri, collection_name=COLL, dim=DIM, **kwargs).add(_nodes())
    assert not _exists(lite_uri)
    _assert_refused(caught.value, given, instead)


# DEFECT (fixed): upsert_mode=True was a bare TypeError, though ours always upserts by node id
def test_llama_upsert_mode_means_the_same(lite_uri: str) -> None:
    kwargs: dict[str, Any] = {"upsert_mode": True}
    store = LlamaStore(uri=lite_uri, collection_name=COLL, **kwargs)
    store.add(_nodes())
    store.add(_nodes())
    assert _ids(lite_uri) == {"a", "b", "c"}


def test_llama_upsert_mode_false_is_refused_before_creating(lite_uri: str) -> None:
    with pytest.raises(MilvusPluginsError) as caught:
        LlamaStore(uri=lite_uri, collection_name=COLL, upsert_mode=False)
    assert not _exists(lite_uri)
    _assert_refused(caught.value, "upsert_mode=False", ("leave it out",))


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"index_type": "HNSW", "M": 8, "efConstruction": 64}, ("HNSW", 8, 64)),
        ({"index_type": "IVF_FLAT", "nlist": 32}, ("IVF_FLAT", None, None)),
        ({}, ("FLAT", None, None)),  # no index_type: FLAT, as the official store builds
    ],
    ids=["hnsw", "ivf", "no-type"],
)
def test_llama_index_config_builds_that_index(
    lite_uri: str, config: dict[str, Any], expected: tuple[Any, ...]
) -> None:
    store = LlamaStore(uri=lite_uri, collection_name=COLL, dim=DIM, index_config=config)
    store.add(_nodes())
    assert _dense_index(lite_uri)["index_type"] == expected[0]
    if expected[1] is not None:  # Lite 3.2.2 describes no parameters: the store's own index
        built = store.store.spec.index_config
        assert isinstance(built, HnswIndex) and (built.M, built.ef_construction) == expected[1:]


def test_llama_index_config_with_index_is_refused(lite_uri: str) -> None:
    with pytest.raises(MilvusPluginsError) as caught:
        LlamaStore(uri=lite_uri, collection_name=COLL, index="HNSW", index_config={})
    assert not _exists(lite_uri)
    _assert_refused(caught.value, "index_config", ("index=",))


def _hybrid_ranked(uri: str, **kwargs: Any) -> list[tuple[str, float]]:
    store = LlamaStore(uri=uri, collection_name=COLL, dim=DIM, enable_sparse=True, **kwargs)
    store.add(_nodes())
    query = VectorStoreQuery(
        query_embedding=embed("cat bird"),
        query_str="cat bird",
        similarity_top_k=3,
        mode=VectorStoreQueryMode.HYBRID,
    )
    result = store.query(query)
    store.close()
    return list(zip(result.ids or [], result.similarities or [], strict=True))


@pytest.mark.parametrize(
    ("official", "ours"),
    [
        ({"hybrid_ranker": "WeightedRanker"}, Weighted(1.0, 1.0)),
        (
            {"hybrid_ranker": "WeightedRanker", "hybrid_ranker_params": {"weights": [0.7, 0.3]}},
            Weighted(0.7, 0.3),
        ),
        ({"hybrid_ranker": "RRFRanker", "hybrid_ranker_params": {"k": 20}}, RRF(20)),
        ({"hybrid_ranker_params": {"k": 20}}, RRF(20)),
    ],
    ids=["weighted-default", "weighted", "rrf", "rrf-by-default"],
)
def test_llama_hybrid_ranker_ranks_as_our_ranker(
    tmp_path: Any, official: dict[str, Any], ours: Any
) -> None:
    got = _hybrid_ranked(str(tmp_path / "official.db"), **official)
    want = _hybrid_ranked(str(tmp_path / "ours.db"), ranker=ours)
    assert got == want and len(got) == 3


@pytest.mark.parametrize(
    "official",
    [
        {"hybrid_ranker": "MaxRanker"},
        {"hybrid_ranker": "RRFRanker", "hybrid_ranker_params": {"weights": [0.5, 0.5]}},
        {"hybrid_ranker": "WeightedRanker", "hybrid_ranker_params": {"k": 60}},
        {"hybrid_ranker": "RRFRanker", "ranker": RRF(60)},
    ],
    ids=["unknown", "rrf-weights", "weighted-k", "with-ranker"],
)
def test_llama_hybrid_ranker_other_values_are_refused(
    lite_uri: str, official: dict[str, Any]
) -> None:
    with pytest.raises(MilvusPluginsError) as caught:
        LlamaStore(uri=lite_uri, collection_name=COLL, enable_sparse=True, **official)
    assert not _exists(lite_uri)
    assert "ranker" in str(caught.value)


def test_llama_batch_size_sets_rows_per_request(lite_uri: str) -> None:
    store = LlamaStore(uri=lite_uri, collection_name=COLL, batch_size=2)
    assert store.store.write_options.batch_rows == 2
    store.add(_nodes())
    assert _ids(lite_uri) == {"a", "b", "c"}


@pytest.mark.parametrize("bad", [0, -1, True, "2"])
def test_llama_bad_batch_size_is_refused(lite_uri: str, bad: Any) -> None:
    with pytest.raises(MilvusPluginsError) as caught:
        LlamaStore(uri=lite_uri, collection_name=COLL, batch_size=bad)
    assert not _exists(lite_uri)
    assert "batch_size" in str(caught.value)


def test_llama_add_official_partition_name_and_force_flush(lite_uri: str) -> None:
    store = LlamaStore(uri=lite_uri, collection_name=COLL, dim=DIM)
    store.add(_nodes()[:1])
    store.store.create_partition("p1")
    store.add(_nodes()[1:], milvus_partition_name="p1", force_flush=True)
    rows = _client_do(
        lite_uri, lambda c: c.query(COLL, filter="", partition_names=["p1"], output_fields=["id"])
    )
    assert {r["id"] for r in rows} == {"b", "c"}
    with pytest.raises(MilvusPluginsError) as caught:
        store.add(_nodes(), milvus_partition_name="p1", partition_name="_default")
    assert "milvus_partition_name" in str(caught.value)


async def test_llama_async_add_official_partition_name_and_force_flush(lite_uri: str) -> None:
    store = LlamaStore(uri=lite_uri, collection_name=COLL, dim=DIM)
    await store.async_add(_nodes()[:1])
    store.store.create_partition("p1")
    await store.async_add(_nodes()[1:], milvus_partition_name="p1", force_flush=True)
    rows = _client_do(
        lite_uri, lambda c: c.query(COLL, filter="", partition_names=["p1"], output_fields=["id"])
    )
    assert {r["id"] for r in rows} == {"b", "c"}
    await store.aclose()


def test_llama_delete_official_partition_name_names_the_fix(lite_uri: str) -> None:
    store = _llama_seeded(lite_uri)
    with pytest.raises(MilvusPluginsError) as caught:
        store.delete("doc-a", milvus_partition_name="_default")
    assert _ids(lite_uri) == {"a", "b", "c"}
    assert "milvus_partition_names=[" in str(caught.value)


@pytest.mark.parametrize("metric", ["L2", "IP", "COSINE", "cosine"])
def test_llama_similarity_metric_means_the_same(lite_uri: str, metric: str) -> None:
    LlamaStore(uri=lite_uri, collection_name=COLL, dim=DIM, similarity_metric=metric).add(_nodes())
    assert _dense_index(lite_uri)["metric_type"] == metric.upper()


def test_llama_consistency_overwrite_dim_enable_sparse_mean_the_same(lite_uri: str) -> None:
    _llama_seeded(lite_uri)
    store = LlamaStore(
        uri=lite_uri,
        collection_name=COLL,
        dim=DIM,
        overwrite=True,
        consistency_level="Session",
        enable_sparse=True,
    )
    store.add(_nodes()[:1])
    assert _ids(lite_uri) == {"a"}  # overwrite dropped the old rows
    assert store.store.spec.consistency.value == "Session"
    schema = _client_do(lite_uri, lambda c: c.describe_collection(COLL))
    dense = next(f for f in schema["fields"] if f["name"] == "vector")
    assert dense["params"]["dim"] == DIM
    assert [f["type"].name for f in schema["functions"]] == ["BM25"]


# -- LlamaIndex query / delete keyword arguments --------------------------------------------

FILTER_KWARGS = [
    pytest.param({"string_expr": "year == 2020"}, id="string_expr"),
    pytest.param({"expr": "year == 2020"}, id="expr"),
    pytest.param({"milvus_scalar_filters": {"year": 2020}}, id="milvus_scalar_filters"),
]


@pytest.mark.parametrize("kwargs", FILTER_KWARGS)
def test_llama_query_filter_kwargs_never_ignored(lite_uri: str, kwargs: dict[str, Any]) -> None:
    store = _llama_seeded(lite_uri)
    query = VectorStoreQuery(query_embedding=embed("cat"), similarity_top_k=3)
    try:
        result = store.query(query, **kwargs)
    except MilvusPluginsError as exc:
        assert next(iter(kwargs)) in str(exc)
        return
    assert result.ids == ["a"]  # accepted: it must filter


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param(
            {"string_expr": "year == 2020"},
            # DEFECT (fixed): was refused naming no equivalent (VectorStoreQuery filters=)
        ),
        pytest.param(
            {"expr": "year == 2020"},
            # DEFECT (fixed): the hint named filter=, which LlamaIndex query() does not take
        ),
        pytest.param(
            {"milvus_scalar_filters": {"year": 2020}},
            # DEFECT (fixed): was refused naming no equivalent (MetadataFilters)
        ),
    ],
    ids=["string_expr", "expr", "milvus_scalar_filters"],
)
def test_llama_query_filter_kwargs_name_metadata_filters(
    lite_uri: str, kwargs: dict[str, Any]
) -> None:
    store = _llama_seeded(lite_uri)
    query = VectorStoreQuery(query_embedding=embed("cat"), similarity_top_k=3)
    with pytest.raises(MilvusPluginsError) as caught:
        store.query(query, **kwargs)
    _assert_refused(caught.value, next(iter(kwargs)), ("MetadataFilters", "filters="))


# DEFECT (fixed): milvus_search_config was refused without naming an equivalent
def test_llama_query_milvus_search_config(lite_uri: str) -> None:
    store = _llama_seeded(lite_uri)
    query = VectorStoreQuery(query_embedding=embed("cat"), similarity_top_k=1)
    try:
        result = store.query(query, milvus_search_config={"ef": 32})
    except MilvusPluginsError as exc:
        _assert_refused(exc, "milvus_search_config", ("index=HnswIndex(ef=",))
        return
    assert result.ids == ["a"]


def test_llama_query_mmr_kwargs_mean_the_same(lite_uri: str) -> None:
    store = _llama_seeded(lite_uri)
    query = VectorStoreQuery(
        query_embedding=embed("cat"), similarity_top_k=2, mode=VectorStoreQueryMode.MMR
    )
    result = store.query(query, mmr_threshold=0.5, mmr_prefetch_k=3)
    assert result.ids is not None and result.ids[0] == "a" and len(result.ids) == 2


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda s: s.delete_nodes(["a"], partition_name="_default"), id="delete_nodes"),
        pytest.param(lambda s: s.delete("doc-a", partition_name="_default"), id="delete"),
        pytest.param(lambda s: s.delete_nodes(), id="delete_nodes-nothing"),
        pytest.param(
            lambda s: s.delete_nodes(filters=MetadataFilters(filters=[])), id="delete_nodes-empty"
        ),
    ],
)
def test_llama_delete_official_kwargs_refused_and_delete_nothing(
    lite_uri: str, call: Callable[[LlamaStore], Any]
) -> None:
    store = _llama_seeded(lite_uri)
    with pytest.raises(MilvusPluginsError) as caught:
        call(store)
    assert _ids(lite_uri) == {"a", "b", "c"}
    message = str(caught.value)
    assert "milvus_partition_names" in message or "clear()" in message, message


def test_llama_delete_conventions_mean_the_same(lite_uri: str) -> None:
    store = _llama_seeded(lite_uri)
    store.delete("doc-a")
    assert _ids(lite_uri) == {"b", "c"}
    store.delete_nodes(node_ids=["b"])
    assert _ids(lite_uri) == {"c"}
    store.add(_nodes())
    store.delete_nodes(filters=MetadataFilters(filters=[MetadataFilter(key="year", value=2024)]))
    assert _ids(lite_uri) == {"a"}
