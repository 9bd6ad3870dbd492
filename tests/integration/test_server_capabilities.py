"""Capability detection tells the truth, and missing features fail loudly and early.

The first part probes every flag of :class:`~milvus_plugins.core.Capabilities` with raw
pymilvus calls on every engine and checks that the flag the store reports (from the
version, or from the store's own probes where the engine reports none: Milvus Lite 2.5)
says what the engine really does. The second part runs on the Milvus 2.3.5 server only:
asking for what it lacks (sparse vectors, the BM25 function, hybrid search, infix
``like``, ``is_empty`` on JSON keys, missing values in declared fields) raises a typed
error naming the feature, before anything is created, while the dense-only path works.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from langchain_core.embeddings import Embeddings
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import (
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
)
from pymilvus import AnnSearchRequest, DataType, Function, FunctionType, MilvusClient, RRFRanker
from tests.support.milvus_server import MilvusServer

from milvus_plugins.core import (
    Capabilities,
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    FilterError,
    InvalidInputError,
    MilvusStore,
    Record,
    UnsupportedByServerError,
    detect_capabilities,
    eq,
    is_empty,
    like,
    text_contains,
)
from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

DIM = 4


def _vec(i: int) -> list[float]:
    return [1.0, float(i), 0.5, float(i % 2)]


# -- the flags against the engines -----------------------------------------------------------

PROBE_ROWS: list[dict[str, Any]] = [
    {"id": "num", "metadata": {"k": 1}},
    {"id": "str", "metadata": {"k": "abc"}},
    {"id": "list", "metadata": {"k": [1, "x"]}},
    {"id": "empty", "metadata": {"k": []}},
    {"id": "ctl", "metadata": {"\x1f": 1}},
    {"id": "nest", "metadata": {"a": {"b": 1}}},
    {"id": "brk", "metadata": {"a][b": 1}},
    {"id": "none", "metadata": {}},
    {"id": "nl", "metadata": {"line": "a\nb"}},
    {"id": "n", "metadata": {"line": "anb"}},
]


@dataclass
class Probe:
    """A raw probe collection; ``nullable_field`` says whether a nullable field was accepted."""

    client: MilvusClient
    name: str
    uri: str
    nullable_field: bool


def _probe_collection(client: MilvusClient, name: str, *, nullable: bool) -> None:
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=64)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("metadata", DataType.JSON)
    schema.add_field("n", DataType.INT64, nullable=nullable)  # 2.3 ignores the flag
    index = client.prepare_index_params()
    index.add_index("vector", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")


@pytest.fixture
def probe(backend_uri: str, collection_name: str) -> Iterator[Probe]:
    """A raw collection with a JSON field, an INT64 field (nullable where accepted), rows."""
    client = MilvusClient(uri=backend_uri)
    nullable_field = _works(lambda: _probe_collection(client, collection_name, nullable=True))
    if not nullable_field:  # Milvus Lite 2.5 refuses nullable fields
        _probe_collection(client, collection_name, nullable=False)
    rows = [{**row, "vector": _vec(i), "n": i} for i, row in enumerate(PROBE_ROWS)]
    client.insert(collection_name, rows)
    try:
        yield Probe(client, collection_name, backend_uri, nullable_field)
    finally:
        for name in client.list_collections():
            if name.startswith(collection_name):
                client.drop_collection(name)
        client.close()


def _selects(client: MilvusClient, name: str, expr: str) -> set[str] | None:
    """The ids ``expr`` selects, or ``None`` when the engine rejects it."""
    try:
        rows = client.query(name, filter=expr, output_fields=["id"], limit=100)
    except Exception:
        return None
    return {row["id"] for row in rows}


def _works(action: Callable[[], Any]) -> bool:
    try:
        action()
    except Exception:
        return False
    return True


def _sparse_round_trip(client: MilvusClient, name: str, *, bm25: bool) -> None:
    """Create a sparse collection, write a row and find it (2.3.5 accepts the schema)."""
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=64)
    schema.add_field("text", DataType.VARCHAR, max_length=256, enable_analyzer=bm25)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    if bm25:
        schema.add_function(
            Function(
                name="bm25",
                function_type=FunctionType.BM25,
                input_field_names=["text"],
                output_field_names=["sparse"],
            )
        )
    index = client.prepare_index_params()
    metric = "BM25" if bm25 else "IP"
    index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type=metric)
    client.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")
    row: dict[str, Any] = {"id": "a", "text": "hello sparse world"}
    if not bm25:
        row["sparse"] = {3: 0.5, 7: 0.25}
    client.insert(name, [row])
    query = "hello" if bm25 else {3: 1.0}
    params = {"metric_type": metric, "params": {"drop_ratio_search": 0}}
    hits = client.search(name, [query], anns_field="sparse", limit=1, search_params=params)
    assert [h["id"] for h in hits[0]] == ["a"]


def _array_index_round_trip(client: MilvusClient, name: str) -> None:
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=16)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field(
        "a", DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=4, max_length=8
    )
    index = client.prepare_index_params()
    index.add_index("vector", index_type="FLAT", metric_type="L2")
    index.add_index("a", index_type="INVERTED")
    client.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")
    client.insert(name, [{"id": "x", "vector": _vec(1), "a": ["t"]}])
    assert [r["id"] for r in client.query(name, filter='array_contains(a, "t")')] == ["x"]


def test_every_capability_flag_tells_the_truth(probe: Probe) -> None:
    client, name = probe.client, probe.name
    store = MilvusStore(
        CollectionSpec(name=f"{name}_caps", dim=DIM), connection=ConnectionConfig(uri=probe.uri)
    )
    caps = store.capabilities  # from the version, else from the store's own probes
    store.close()
    version = caps.version
    assert caps.is_lite == version.lower().startswith("milvus_lite")
    everyone = {row["id"] for row in PROBE_ROWS}

    observed = {
        "json_exists": _selects(client, name, '(exists metadata["k"])')
        == {
            "num",
            "str",
            "list",
            "empty",
        },
        "json_in": _selects(client, name, 'metadata["k"] in [1, "abc"]') == {"num", "str"},
        # `_` is one character: Milvus Lite 2.5 also matches "abc" with "abc_".
        "like_infix": _selects(client, name, 'metadata["k"] like "%b%"') == {"str"}
        and _selects(client, name, 'metadata["k"] like "a_c"') == {"str"}
        and _selects(client, name, 'metadata["k"] like "abc_"') == set(),
        "bool_literals": _selects(client, name, "true") is not None,
        "empty_lists": _selects(client, name, 'json_contains_all(metadata["k"], [])')
        == {"list", "empty"},
        "json_escaped_keys": _selects(client, name, 'metadata["\\u001f"] == 1') == {"ctl"},
        "json_key_brackets": _selects(client, name, 'metadata["a][b"] == 1') == {"brk"},
        # Milvus Lite 2.5.1 reads the escape as the letter: it selects "anb".
        "line_escapes": _selects(client, name, 'metadata["line"] == "a\\nb"') == {"nl"},
        "not_expr": _selects(client, name, 'not (id == "num")') == everyone - {"num"},
        "like_match_all": _selects(client, name, 'metadata["k"] like "%"') == {"str"},
        "partitions": _works(lambda: client.list_partitions(name)),
        "compaction": _works(lambda: client.compact(name)),
        "nullable": probe.nullable_field
        and _works(lambda: client.insert(name, [{"id": "null", "vector": _vec(9), "metadata": {}}]))
        and client.query(name, filter='id == "null"', output_fields=["n"])[0]["n"] is None,
    }
    reqs = [
        AnnSearchRequest(data=[_vec(1)], anns_field="vector", param={}, limit=2) for _ in range(2)
    ]
    observed["hybrid_search"] = _works(
        lambda: client.hybrid_search(name, reqs, RRFRanker(), limit=2)
    )
    observed["sparse"] = _works(lambda: _sparse_round_trip(client, f"{name}_sp", bm25=False))
    observed["bm25_function"] = _works(lambda: _sparse_round_trip(client, f"{name}_bm", bm25=True))
    observed["array_index"] = _works(lambda: _array_index_round_trip(client, f"{name}_ai"))
    for extra in (f"{name}_sp", f"{name}_bm", f"{name}_ai"):
        if client.has_collection(extra):
            client.drop_collection(extra)

    claimed = {flag: getattr(caps, flag) for flag in observed}
    assert claimed == observed, version


def test_dialect_carries_the_expression_flags() -> None:
    caps = detect_capabilities("v2.3.5-lite")
    dialect = caps.dialect
    assert not caps.is_lite
    for flag in ("json_in", "like_infix", "bool_literals", "empty_lists", "json_key_brackets"):
        assert getattr(caps, flag) is False and getattr(dialect, flag) is False, flag
    assert caps.json_escaped_keys and dialect.json_escaped_keys
    lite = detect_capabilities("milvus_lite-3.2.2")
    assert lite.is_lite and lite.sparse and lite.hybrid_search and lite.bm25_function
    assert lite.dialect.empty_lists and not lite.dialect.json_escaped_keys


# -- the 2.3.5 server: missing features fail early and loudly --------------------------------


class Vocab(Embeddings):
    """A tiny deterministic embedding (4 dimensions)."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.embed_query(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return [float(text.count(c)) for c in "aeio"] or [0.1] * DIM


@pytest.fixture
def server(milvus_server: MilvusServer, collection_name: str) -> Iterator[MilvusClient]:
    """A client of the session server; collections named ``<collection_name>*`` are dropped."""
    client = milvus_server.client()
    try:
        yield client
    finally:
        for name in client.list_collections():
            if name.startswith(collection_name):
                client.drop_collection(name)
        client.close()


def _server_caps(client: MilvusClient) -> Capabilities:
    caps = detect_capabilities(str(client.get_server_version()))
    if caps.sparse:
        pytest.skip(f"this server ({caps.version}) has sparse vectors")
    return caps


@pytest.mark.server
def test_sparse_stores_fail_before_creating_anything(
    server: MilvusClient, server_uri: str, collection_name: str
) -> None:
    _server_caps(server)
    core = MilvusStore(
        CollectionSpec(name=collection_name, dim=DIM, sparse="bm25"),
        connection=ConnectionConfig(uri=server_uri),
    )
    with pytest.raises(UnsupportedByServerError) as info:
        core.upsert([Record(id="a", text="hello", vector=_vec(1))])
    # BM25 is named first (it needs 2.5: a 2.4 server would still refuse it), with the
    # ways to do without it on this server.
    assert info.value.feature == "BM25 full-text function"
    assert info.value.minimum_version == "2.5.0"
    assert "sparse='none'" in str(info.value) and "BM25Encoder" in str(info.value)

    chain = LangChainStore(
        Vocab(), uri=server_uri, collection_name=f"{collection_name}_lc", retrieval_mode="hybrid"
    )
    with pytest.raises(UnsupportedByServerError, match=r"BM25 full-text function.*2\.5"):
        chain.add_texts(["hello"], ids=["a"])
    index = LlamaStore(uri=server_uri, collection_name=f"{collection_name}_li", enable_sparse=True)
    node = TextNode(id_="a", text="hello", embedding=_vec(1))
    with pytest.raises(UnsupportedByServerError, match=r"BM25 full-text function.*2\.5"):
        index.add([node])
    assert not [n for n in server.list_collections() if n.startswith(collection_name)]
    core.close()
    chain.close()


@pytest.mark.server
def test_a_sparse_spec_never_drops_the_existing_collection(
    server: MilvusClient, server_uri: str, collection_name: str
) -> None:
    _server_caps(server)
    dense = MilvusStore(
        CollectionSpec(name=collection_name, dim=DIM), connection=ConnectionConfig(uri=server_uri)
    )
    dense.upsert([Record(id="a", text="kept", vector=_vec(1))])
    sparse = MilvusStore(
        CollectionSpec(name=collection_name, dim=DIM, sparse="bm25"),
        connection=ConnectionConfig(uri=server_uri),
        drop_old=True,
    )
    with pytest.raises(UnsupportedByServerError):
        sparse.ensure_collection()
    assert [r.text for r in dense.get(["a"])] == ["kept"]
    dense.close()
    sparse.close()


@pytest.mark.server
def test_dense_only_works_and_hybrid_calls_fail_typed(
    server: MilvusClient, server_uri: str, collection_name: str
) -> None:
    _server_caps(server)
    store = MilvusStore(
        CollectionSpec(name=collection_name, metadata_fields={"year": "INT64"}),
        connection=ConnectionConfig(uri=server_uri),
    )
    records = [
        Record(id=str(i), text=f"t{i}", vector=_vec(i), metadata={"year": i}) for i in range(4)
    ]
    store.upsert(records)
    assert store.search(_vec(2), k=1)[0].id == "2"
    assert store.count(eq("year", 3)) == 1
    assert store.mmr_search(_vec(2), k=2, fetch_k=4)[0].id == "2"
    keyword_calls: list[Callable[[], object]] = [
        lambda: store.hybrid_search(_vec(1), "t1", k=1),
        lambda: store.hybrid_search(_vec(1), "t1", k=1, fusion="server"),
        lambda: store.sparse_search("t1", k=1),
    ]
    # The collection's own limit is named first, as on every engine (and before any
    # call): it has no sparse field. A BM25 collection is refused by the server's version.
    for call in keyword_calls:
        with pytest.raises(ConfigError, match="no sparse field"):
            call()
    bm25 = MilvusStore(
        CollectionSpec(name=f"{collection_name}_bm25", sparse="bm25"),
        connection=ConnectionConfig(uri=server_uri),
    )
    with pytest.raises(UnsupportedByServerError, match=r"2\.[45]"):
        bm25.upsert(records)
    bm25.close()
    store.close()


@pytest.mark.server
def test_filters_the_server_cannot_express_raise_typed_errors(
    server: MilvusClient, server_uri: str, collection_name: str
) -> None:
    _server_caps(server)
    store = MilvusStore(
        CollectionSpec(name=collection_name, dim=DIM, metadata_fields={"year": "INT64"}),
        connection=ConnectionConfig(uri=server_uri),
    )
    store.upsert(
        [Record(id="a", text="t", vector=_vec(1), metadata={"year": 1, "k": "abc", "l": []})]
    )
    for node in (like("k", "%bc"), like("k", "a_c"), text_contains("k", "b"), is_empty("l")):
        with pytest.raises(FilterError, match="this Milvus"):
            store.query(node)
    assert [r.id for r in store.query(like("k", "ab%"))] == ["a"]  # prefix patterns work

    with pytest.raises(InvalidInputError, match="nullable"):
        store.upsert([Record(id="b", text="t", vector=_vec(2), metadata={"k": "no year"})])
    assert store.get(["b"]) == []

    index = LlamaStore(uri=server_uri, collection_name=collection_name, open_mode="adopt")
    text_match = MetadataFilters(
        filters=[MetadataFilter(key="k", value="bc", operator=FilterOperator.TEXT_MATCH)]
    )
    query = VectorStoreQuery(query_embedding=_vec(1), similarity_top_k=1, filters=text_match)
    with pytest.raises(FilterError, match="this Milvus"):
        index.query(query)
    empty = MetadataFilters(
        filters=[MetadataFilter(key="l", value=None, operator=FilterOperator.IS_EMPTY)]
    )
    with pytest.raises(FilterError, match="this Milvus"):
        index.get_nodes(filters=empty)
    store.close()
