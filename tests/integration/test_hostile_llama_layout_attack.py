"""Attack on the widened llama-index layout detection (any dense name, typed scalar columns,
tool keys for an exact hand-written mapping).

Collections are made by the REAL llama-index-vector-stores-milvus (own venv) and the REAL
langchain-milvus (dev venv), each in a subprocess that finishes before our stores open the
Lite file, plus one made by hand with pymilvus; answers are compared with the official
store's own answers and with the rows a raw ``MilvusClient`` reads.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.embeddings import Embeddings
from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
)
from pymilvus import DataType, MilvusClient
from tests.support.official_layouts import HOSTILE, copy_database, hashed_vector, llama_python

from milvus_plugins.cli import main as cli_main
from milvus_plugins.core import (
    CollectionSpec,
    ConnectionConfig,
    FieldMapping,
    FilterError,
    MilvusStore,
    SchemaMismatchError,
    migrate,
    migration_target_spec,
)
from milvus_plugins.langchain import MilvusVectorStore as LangchainStore
from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

ROOT = Path(__file__).resolve().parents[2]
SUPPORT = str(ROOT / "tests" / "support")
ENV = {**os.environ, "PYTHONPATH": ""}  # the other venv must not see this checkout

# Built identically on both sides (the scripts exec this source).
DATA_SRC = r"""
WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india"]
NODES = [
    {
        "id": f"n{i}",
        "text": f"{w} node {i}",
        "doc": f"doc{i % 3}",
        "meta": {
            "source": HOSTILE if i == 3 else f"s{i % 4}",
            "n": i,
            "score": i + 0.25,
            "flag": i % 2 == 0,
            "in": f"w{i % 3}",
            "tag": f"t{i % 2}",
        },
    }
    for i, w in enumerate(WORDS)
]
SCALARS = ["source", "n", "score", "flag", "in"]
SCALAR_TYPES = ["VARCHAR", "INT64", "DOUBLE", "BOOL", "VARCHAR"]
_F, _OP = MetadataFilter, FilterOperator
def _fs(*items, cond="and"):
    return MetadataFilters(filters=list(items), condition=FilterCondition(cond))
FILTERS = {
    "eq": _fs(_F(key="source", value="s0")),
    "eq_hostile": _fs(_F(key="source", value=HOSTILE)),
    "ne": _fs(_F(key="source", value="s1", operator=_OP.NE)),
    "gt_int": _fs(_F(key="n", value=5, operator=_OP.GT)),
    "lt_int": _fs(_F(key="n", value=2, operator=_OP.LT)),
    "gte_float": _fs(_F(key="score", value=4.25, operator=_OP.GTE)),
    "lte_float": _fs(_F(key="score", value=2.25, operator=_OP.LTE)),
    "in_int": _fs(_F(key="n", value=[1, 4, 7], operator=_OP.IN)),
    "nin_str": _fs(_F(key="source", value=["s0", "s1"], operator=_OP.NIN)),
    "in_hostile": _fs(_F(key="source", value=[HOSTILE, "s2"], operator=_OP.IN)),
    "word_eq": _fs(_F(key="in", value="w1")),
    "word_ne": _fs(_F(key="in", value="w1", operator=_OP.NE)),
    "word_in": _fs(_F(key="in", value=["w0", "w2"], operator=_OP.IN)),
    "text_match": _fs(_F(key="source", value="s", operator=_OP.TEXT_MATCH)),
    "or_mixed": _fs(_F(key="tag", value="t1"), _F(key="n", value=2, operator=_OP.LT), cond="or"),
    "and_mixed": _fs(_F(key="tag", value="t0"), _F(key="n", value=4, operator=_OP.GTE)),
}
"""
_NS: dict[str, Any] = {
    "HOSTILE": HOSTILE,
    "MetadataFilter": MetadataFilter,
    "MetadataFilters": MetadataFilters,
    "FilterOperator": FilterOperator,
    "FilterCondition": FilterCondition,
}
exec(DATA_SRC, _NS)
NODES: list[dict[str, Any]] = _NS["NODES"]
FILTERS: dict[str, MetadataFilters] = _NS["FILTERS"]
BY_ID = {n["id"]: n for n in NODES}
_F, _OP, _fs = MetadataFilter, FilterOperator, _NS["_fs"]

# What each filter selects, from the data itself.
_META = {n["id"]: n["meta"] for n in NODES}


def _where(pred: Any) -> list[str]:
    return sorted(i for i, m in _META.items() if pred(m))


TRUTH: dict[str, list[str]] = {
    "eq": _where(lambda m: m["source"] == "s0"),
    "eq_hostile": ["n3"],
    "ne": _where(lambda m: m["source"] != "s1"),
    "gt_int": _where(lambda m: m["n"] > 5),
    "lt_int": _where(lambda m: m["n"] < 2),
    "gte_float": _where(lambda m: m["score"] >= 4.25),
    "lte_float": _where(lambda m: m["score"] <= 2.25),
    "in_int": ["n1", "n4", "n7"],
    "nin_str": _where(lambda m: m["source"] not in ("s0", "s1")),
    "in_hostile": _where(lambda m: m["source"] in (HOSTILE, "s2")),
    "word_eq": _where(lambda m: m["in"] == "w1"),
    "word_ne": _where(lambda m: m["in"] != "w1"),
    "word_in": _where(lambda m: m["in"] in ("w0", "w2")),
    "text_match": _where(lambda m: m["source"].startswith("s")),
    "or_mixed": _where(lambda m: m["tag"] == "t1" or m["n"] < 2),
    "and_mixed": _where(lambda m: m["tag"] == "t0" and m["n"] >= 4),
}

_LLAMA_SCRIPT = r"""
import json, sys
sys.path.insert(0, sys.argv[2])
from official_layouts import HOSTILE, hashed_vector
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores.types import (
    FilterCondition, FilterOperator, MetadataFilter, MetadataFilters, VectorStoreQuery)
from llama_index.vector_stores.milvus import MilvusVectorStore
from pymilvus import DataType
exec(sys.argv[3])
uri = sys.argv[1]
flat = dict(index_config={"index_type": "FLAT", "metric_type": "L2"}, similarity_metric="L2")
variants = {
    "sc": dict(scalar_field_names=SCALARS,
               scalar_field_types=[getattr(DataType, t) for t in SCALAR_TYPES],
               embedding_field="vec"),
    "dyn": {},
}
out = {}
for name, kwargs in variants.items():
    store = MilvusVectorStore(uri=uri, collection_name=name, dim=8, overwrite=True,
                              **flat, **kwargs)
    nodes = []
    for d in NODES:
        node = TextNode(id_=d["id"], text=d["text"], metadata=dict(d["meta"]),
                        embedding=hashed_vector(d["text"]))
        node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=d["doc"])
        nodes.append(node)
    store.add(nodes)
    res = {}
    q = hashed_vector("echo node 4")
    for key, flt in FILTERS.items():
        try:
            got = store.query(VectorStoreQuery(query_embedding=q, similarity_top_k=20,
                                               filters=flt)).ids
            res[key] = sorted(got)
        except Exception as exc:
            res[key] = "ERR " + type(exc).__name__
    out[name] = res
    store.client.close()
print("RESULT " + json.dumps(out))
"""

_LANGCHAIN_SCRIPT = r"""
import json, sys
sys.path.insert(0, sys.argv[2])
from official_layouts import hashed_vector
from langchain_core.embeddings import Embeddings
from langchain_milvus import Milvus

class Hashed(Embeddings):
    def embed_documents(self, texts): return [hashed_vector(t) for t in texts]
    def embed_query(self, text): return hashed_vector(text)

uri = sys.argv[1]
metas = json.loads(sys.argv[3])
texts = [m.pop("_text") for m in metas]
ids = [m.pop("_id") for m in metas]
store = Milvus.from_texts(
    texts, Hashed(), metadatas=metas, ids=ids, collection_name="lc", connection_args={"uri": uri},
    drop_old=True, primary_field="id", enable_dynamic_field=True, partition_key_field="doc_id",
    index_params={"index_type": "FLAT", "metric_type": "L2", "params": {}},
)
docs = store.similarity_search_by_vector(hashed_vector(texts[0]), k=len(texts))
out = {d.metadata.get("id", "?"): d.metadata for d in docs}
store.client.close()
print("RESULT " + json.dumps(out))
"""

# A langchain-milvus user's documents: keys that happen to be llama-index's private keys.
LC_DOCS: list[dict[str, Any]] = [
    {
        "_id": f"c{i}",
        "_text": f"langchain text {i}",
        "doc_id": f"D{i % 2}",
        "document_id": f"report-{i}",
        "ref_doc_id": f"r{i % 3}",
        "_node_type": "user-kind",
        "source": f"s{i}",
    }
    for i in range(6)
]
LC_META = {
    d["_id"]: {k: v for k, v in d.items() if not k.startswith("_") or k == "_node_type"}
    for d in LC_DOCS
}

# A collection made by hand in the llama shape, holding a user's own keys.
RAW_ROWS: list[dict[str, Any]] = [
    {
        "id": f"r{i}",
        "text": f"raw text {i}",
        "vector": hashed_vector(f"raw text {i}"),
        "doc_id": f"R{i % 2}",
        "category": f"cat{i % 3}",
        "document_id": f"form-{i}",
        "ref_doc_id": f"ref{i}",
        "_node_type": "mine",
        "_node_content": f"user content {i}",
    }
    for i in range(6)
]
RAW_META = {
    r["id"]: {k: v for k, v in r.items() if k not in ("id", "text", "vector", "doc_id")}
    for r in RAW_ROWS
}


class Hashed(Embeddings):
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [hashed_vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return hashed_vector(text)


def _run(python: str, script: str, *args: str) -> Any:
    done = subprocess.run(
        [python, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=ENV,
        check=False,
    )
    lines = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT ") :])


def _make_raw(uri: str) -> None:
    client = MilvusClient(uri=uri)
    try:
        schema = client.create_schema(enable_dynamic_field=True)
        schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=64)
        schema.add_field("text", DataType.VARCHAR, max_length=1000)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=8)
        schema.add_field("doc_id", DataType.VARCHAR, max_length=64)
        schema.add_field("category", DataType.VARCHAR, max_length=64)
        index = client.prepare_index_params()
        index.add_index("vector", index_type="FLAT", metric_type="L2")
        client.create_collection("raw", schema=schema, index_params=index)
        client.insert("raw", RAW_ROWS)
    finally:
        client.close()


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, Any]]]:
    """The Lite file, and the answers the official packages gave on it."""
    try:
        python = llama_python()
    except RuntimeError as exc:
        pytest.skip(str(exc))
    uri = str(tmp_path_factory.mktemp("llama_attack") / "attack.db")
    official = _run(python, _LLAMA_SCRIPT, uri, SUPPORT, DATA_SRC)
    official["lc"] = _run(sys.executable, _LANGCHAIN_SCRIPT, uri, SUPPORT, json.dumps(LC_DOCS))
    _make_raw(uri)
    yield uri, official


def _raw_ids(uri: str, name: str) -> list[str]:
    client = MilvusClient(uri=uri)
    try:
        if not client.has_collection(name):
            return []
        client.load_collection(name)
        return sorted(r["id"] for r in client.query(name, filter="", output_fields=["id"]))
    finally:
        client.close()


def _llama(uri: str, name: str, **kw: Any) -> LlamaStore:
    return LlamaStore(uri=uri, collection_name=name, dim=8, similarity_metric="L2", **kw)


def _core(uri: str, name: str, open_mode: str = "check", **spec: Any) -> MilvusStore:
    return MilvusStore(
        CollectionSpec(name=name, **spec), connection=ConnectionConfig(uri=uri), open_mode=open_mode
    )


def _search_ids(store: LlamaStore, flt: MetadataFilters | None) -> list[str]:
    query = VectorStoreQuery(
        query_embedding=hashed_vector("echo node 4"), similarity_top_k=20, filters=flt
    )
    return sorted(store.query(query).ids)


# ---------------------------------------------------------------- the official collections


def test_official_answers_match_the_data(made: tuple[str, dict[str, Any]]) -> None:
    _, official = made
    for name in ("sc", "dyn"):
        for key, ids in official[name].items():
            if key.startswith("word_"):
                assert str(ids).startswith("ERR")  # `in == "w1"` does not parse there
                continue
            assert ids == TRUTH[key], (name, key)


def test_scalar_collection_nodes_read_back_exactly(made: tuple[str, dict[str, Any]]) -> None:
    uri, _ = made
    store = _llama(uri, "sc")
    try:
        nodes = store.get_nodes(node_ids=list(BY_ID))
        assert sorted(n.node_id for n in nodes) == sorted(BY_ID)
        for node in nodes:
            want = BY_ID[node.node_id]
            assert node.metadata == want["meta"]
            assert [type(node.metadata[k]) for k in want["meta"]] == [
                type(v) for v in want["meta"].values()
            ]
            assert (node.get_content(), node.ref_doc_id) == (want["text"], want["doc"])
    finally:
        store.store.close()


@pytest.mark.parametrize("key", [k for k in FILTERS if not k.startswith("word_")])
def test_filter_on_typed_columns_selects_the_true_rows(
    made: tuple[str, dict[str, Any]], key: str
) -> None:
    uri, official = made
    sc, dyn = _llama(uri, "sc"), _llama(uri, "dyn")
    try:
        got_sc, got_dyn = _search_ids(sc, FILTERS[key]), _search_ids(dyn, FILTERS[key])
        assert got_sc == TRUTH[key] == got_dyn
        assert got_sc == official["sc"][key]
        assert sorted(n.node_id for n in sc.get_nodes(filters=FILTERS[key])) == TRUTH[key]
    finally:
        sc.store.close()
        dyn.store.close()


@pytest.mark.parametrize("key", ["word_eq", "word_ne", "word_in"])
def test_filter_on_an_expression_word_key(made: tuple[str, dict[str, Any]], key: str) -> None:
    uri, _ = made
    sc, dyn = _llama(uri, "sc"), _llama(uri, "dyn")
    try:
        # a dynamic key named "in" is addressed as $meta["in"]
        assert _search_ids(dyn, FILTERS[key]) == TRUTH[key]
        # a column named "in" cannot be named by a filter: refused, typed
        with pytest.raises(FilterError, match="expression"):
            _search_ids(sc, FILTERS[key])
    finally:
        sc.store.close()
        dyn.store.close()


# ------------------------------------------------------- deletes on the typed columns


@pytest.mark.parametrize("key", ["ne", "eq_hostile", "lte_float", "nin_str", "or_mixed"])
def test_delete_nodes_by_filter_removes_exactly_the_named_rows(
    made: tuple[str, dict[str, Any]], key: str, tmp_path: Path
) -> None:
    uri = copy_database(made[0], tmp_path)
    store = _llama(uri, "sc")
    try:
        store.delete_nodes(filters=FILTERS[key])
    finally:
        store.store.close()
    assert _raw_ids(uri, "sc") == sorted(set(BY_ID) - set(TRUTH[key]))


def test_delete_ref_doc_and_clear_on_the_scalar_collection(
    made: tuple[str, dict[str, Any]], tmp_path: Path
) -> None:
    uri = copy_database(made[0], tmp_path)
    store = _llama(uri, "sc")
    try:
        for bad in ['doc1" or doc_id != "', "doc1 ", "%"]:
            store.delete(bad)
        store.delete("doc1")
        store.delete_nodes(node_ids=["n0"], filters=FILTERS["lt_int"])  # n0 only
    finally:
        store.store.close()
    left = sorted(i for i, n in BY_ID.items() if n["doc"] != "doc1" and i != "n0")
    assert _raw_ids(uri, "sc") == left
    store = _llama(uri, "sc")
    try:
        store.clear()
    finally:
        store.store.close()
    assert _raw_ids(uri, "sc") == []
    assert _raw_ids(uri, "dyn") == sorted(BY_ID)  # the other collection untouched


def test_async_query_and_delete_on_typed_columns(
    made: tuple[str, dict[str, Any]], tmp_path: Path
) -> None:
    uri = copy_database(made[0], tmp_path)

    async def run() -> list[str]:
        store = _llama(uri, "sc")
        try:
            query = VectorStoreQuery(
                query_embedding=hashed_vector("x"), similarity_top_k=20, filters=FILTERS["ne"]
            )
            got = sorted((await store.aquery(query)).ids)
            await store.adelete_nodes(filters=FILTERS["gt_int"])
            return got
        finally:
            store.store.close()

    assert asyncio.run(run()) == TRUTH["ne"]
    assert _raw_ids(uri, "sc") == sorted(set(BY_ID) - set(TRUTH["gt_int"]))


# ------------------------------------------------------------------------------ migrate


def test_migrate_keeps_typed_column_metadata_exactly(
    made: tuple[str, dict[str, Any]], tmp_path: Path
) -> None:
    uri = copy_database(made[0], tmp_path)
    with _core(uri, "sc") as source:
        spec = migration_target_spec(source, "sc_native")
        with MilvusStore(spec, connection=ConnectionConfig(uri=uri)) as target:
            report = migrate(source, target, batch_rows=4)
            assert report.ok and report.copied == len(NODES), report.verification
            rows = {r.id: r for r in target.query()}
    assert sorted(rows) == sorted(BY_ID)
    for key, row in rows.items():
        assert row.metadata == BY_ID[key]["meta"]
        assert [type(row.metadata[k]) for k in BY_ID[key]["meta"]] == [
            type(v) for v in BY_ID[key]["meta"].values()
        ]
        assert (row.text, row.doc_id) == (BY_ID[key]["text"], BY_ID[key]["doc"])
    store = _llama(uri, "sc_native")
    try:  # filters on the migrated keys select the same rows
        assert _search_ids(store, FILTERS["ne"]) == TRUTH["ne"]
        assert _search_ids(store, FILTERS["in_hostile"]) == TRUTH["in_hostile"]
    finally:
        store.store.close()


def test_cli_migrate_of_the_scalar_collection(
    made: tuple[str, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = copy_database(made[0], tmp_path)
    code = cli_main(["--uri", uri, "migrate", "sc", "sc_cli", "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0 and "-> ok" in out, out
    with _core(uri, "sc_cli", open_mode="adopt") as store:
        got = {r.id: r.metadata for r in store.query()}
    assert got == {k: n["meta"] for k, n in BY_ID.items()}


# ------------------------------------------------- misdetection: langchain-milvus's layout


# DEFECT (fixed): a langchain-milvus collection (primary_field='id') was read as llama-index's.
# It is not recognised now (langchain-milvus' own layout has `pk`): refused naming field_mapping,
# and read through the mapping it names, the metadata is langchain's.
LC_MAPPING = FieldMapping(id="id", text="text", vector="vector", dynamic=True)


def test_langchain_partition_key_collection_metadata_as_langchain_reads_it(
    made: tuple[str, dict[str, Any]],
) -> None:
    uri, official = made
    store = LangchainStore(Hashed(), uri=uri, collection_name="lc")
    try:
        with pytest.raises(SchemaMismatchError, match="field_mapping"):
            store.get_by_ids(list(LC_META))
    finally:
        store.store.close()
    store = LangchainStore(Hashed(), uri=uri, collection_name="lc", field_mapping=LC_MAPPING)
    try:
        docs = store.get_by_ids(list(LC_META))
        assert sorted(d.id for d in docs) == sorted(LC_META)
        for doc in docs:
            assert doc.page_content == f"langchain text {doc.id[1:]}"
            want = {k: v for k, v in official["lc"][doc.id].items() if k != "id"}
            assert {k: doc.metadata.get(k) for k in want} == want
    finally:
        store.store.close()


# DEFECT (fixed): the core store read that collection as llama-index's, losing the user's keys.
def test_langchain_collection_read_by_the_core_store(made: tuple[str, dict[str, Any]]) -> None:
    uri, _ = made
    with _core(uri, "lc") as store, pytest.raises(SchemaMismatchError, match="field_mapping"):
        store.query()
    with _core(uri, "lc", layout=LC_MAPPING) as store:
        rows = {r.id: r for r in store.query()}
    assert sorted(rows) == sorted(LC_META)
    for key, row in rows.items():
        assert dict(row.metadata) == LC_META[key]


def test_langchain_collection_filter_and_delete_on_user_keys(
    made: tuple[str, dict[str, Any]], tmp_path: Path
) -> None:
    uri = copy_database(made[0], tmp_path)
    store = LangchainStore(Hashed(), uri=uri, collection_name="lc", field_mapping=LC_MAPPING)
    try:
        hits = store.similarity_search("langchain text 1", k=10, filter={"ref_doc_id": "r1"})
        assert sorted(d.id for d in hits) == ["c1", "c4"]
        store.delete(filter={"document_id": "report-2"})
    finally:
        store.store.close()
    assert _raw_ids(uri, "lc") == sorted(set(LC_META) - {"c2"})


# DEFECT (fixed): on that collection delete_nodes(ref_doc_id NE 'r0') deleted all 6 rows.
def test_llama_store_on_the_langchain_collection_deletes_only_what_it_names(
    made: tuple[str, dict[str, Any]], tmp_path: Path
) -> None:
    uri = copy_database(made[0], tmp_path)
    flt = _fs(_F(key="ref_doc_id", value="r0", operator=_OP.NE))
    store = _llama(uri, "lc")
    try:
        with pytest.raises(SchemaMismatchError, match="field_mapping"):
            store.delete_nodes(filters=flt)
    finally:
        store.store.close()
    assert _raw_ids(uri, "lc") == sorted(LC_META)
    # Through a mapping: for LlamaIndex, ref_doc_id names the document-id field, which this
    # mapping has none of: refused (typed), nothing deleted. Its user key of that name stays
    # reachable through LangChain (test above) and dynamic keys of other names here.
    store = _llama(uri, "lc", field_mapping=LC_MAPPING)
    try:
        with pytest.raises(FilterError, match="document-id"):
            store.delete_nodes(filters=flt)
        store.delete_nodes(filters=_fs(_F(key="document_id", value="report-2", operator=_OP.NE)))
    finally:
        store.store.close()
    assert _raw_ids(uri, "lc") == ["c2"]


# --------------------------------------------- misdetection: a hand-made llama-like schema

RAW_MAPPING = FieldMapping(id="id", text="text", vector="vector", doc_id="doc_id", dynamic=True)


# DEFECT (fixed): a hand-made llama-shaped collection was read as llama-index's (keys hidden).
def test_hand_made_collection_keeps_the_users_keys(made: tuple[str, dict[str, Any]]) -> None:
    uri, _ = made
    with _core(uri, "raw") as store, pytest.raises(SchemaMismatchError, match="field_mapping"):
        store.query()
    with _core(uri, "raw", layout=RAW_MAPPING) as store:
        rows = {r.id: r for r in store.query()}
    assert sorted(rows) == sorted(RAW_META)
    for key, row in rows.items():
        assert row.text == f"raw text {key[1:]}"
        assert row.metadata == RAW_META[key]


# DEFECT (fixed): on it delete_nodes(ref_doc_id NE 'ref2') deleted every row.
def test_hand_made_collection_filters_and_deletes_on_the_users_keys(
    made: tuple[str, dict[str, Any]], tmp_path: Path
) -> None:
    uri = copy_database(made[0], tmp_path)
    store = _llama(uri, "raw", field_mapping=RAW_MAPPING)
    try:
        got = _search_ids(store, _fs(_F(key="document_id", value="form-1")))
        assert got == ["r1"]
        # The mapping names doc_id as the document-id field: LlamaIndex's ref_doc_id is it.
        store.delete_nodes(filters=_fs(_F(key="ref_doc_id", value="R0", operator=_OP.NE)))
    finally:
        store.store.close()
    assert _raw_ids(uri, "raw") == ["r0", "r2", "r4"]


# -------------------------------------------------------- hand-written FieldMapping paths

EXACT = FieldMapping(id="id", text="text", vector="embedding", doc_id="doc_id", dynamic=True)
NEAR = {
    "no_doc_id": FieldMapping(id="id", text="text", vector="embedding", dynamic=True),
    "columns": FieldMapping(
        id="id", text="text", vector="vec", doc_id="doc_id", dynamic=True, columns=["source"]
    ),
}
_PRIVATE = {"_node_content", "_node_type", "document_id", "ref_doc_id"}


def test_exact_mapping_hides_only_the_tools_keys(made: tuple[str, dict[str, Any]]) -> None:
    uri, _ = made
    with _core(uri, "dyn", layout=EXACT) as store:
        rows = {r.id: r for r in store.query()}
    assert {k: r.metadata for k, r in rows.items()} == {k: n["meta"] for k, n in BY_ID.items()}


@pytest.mark.parametrize("name", list(NEAR))
def test_near_miss_mapping_hides_no_user_metadata(
    made: tuple[str, dict[str, Any]], name: str
) -> None:
    uri, _ = made
    collection = "sc" if name == "columns" else "dyn"
    with _core(uri, collection, layout=NEAR[name]) as store:
        rows = {r.id: r for r in store.query()}
    for key, row in rows.items():
        for k, v in BY_ID[key]["meta"].items():
            assert row.metadata.get(k) == v, (key, k, row.metadata)


# DEFECT (fixed): an exact FieldMapping on a hand-made collection took llama's private keys.
def test_exact_mapping_on_a_hand_made_collection_keeps_the_users_keys(
    made: tuple[str, dict[str, Any]],
) -> None:
    uri, _ = made
    mapping = FieldMapping(id="id", text="text", vector="vector", doc_id="doc_id", dynamic=True)
    with _core(uri, "raw", layout=mapping) as store:
        rows = {r.id: r for r in store.query()}
    assert {k: r.metadata for k, r in rows.items()} == RAW_META
