"""Hostile review: an index's build parameters (nlist, M, efConstruction) through every
route a user sets an index, on real Milvus.

Milvus Lite 3.2.2 reads build parameters only from one nested ``params`` entry; the store
now sends both spellings there. The proof used throughout: ``IVF_FLAT`` with ``nlist=1``
searched with ``nprobe=1`` is exact (one list holds every row), while the same search on
the default nlist 128 is approximate. Lite builds indexes in the background, so every
check first waits until ``describe_index`` reports no pending rows (before that, searches
are brute force and exact, which would hide a lost parameter). The oracle is numpy's
exact cosine neighbours.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import VectorStoreQuery
from pymilvus import MilvusClient
from tests.support.cli_runner import run_cli

from milvus_plugins.core import (
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    HnswIndex,
    IndexConfig,
    IvfFlatIndex,
    IvfSq8Index,
    MilvusStore,
    Record,
    SchemaMismatchError,
    SparseInvertedIndex,
    UnsupportedByServerError,
    index_from_dict,
    point_alias,
    recommend_index,
    reindex,
)
from milvus_plugins.core.autotune import autotune
from milvus_plugins.core.fields import DenseField
from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

DIM = 16
ROWS = 1500
QUERIES = 20
RNG = np.random.default_rng(7)
VECTORS = RNG.standard_normal((ROWS, DIM)).astype(np.float32)
QUERY_VECTORS = RNG.standard_normal((QUERIES, DIM)).astype(np.float32)
IDS = [f"v{i}" for i in range(ROWS)]
TEXTS = {f"v{i}": f"row {i} about {'apples' if i % 3 == 0 else 'pears'}" for i in range(ROWS)}
TEXT_TO_VECTOR: dict[str, list[float]] = {TEXTS[f"v{i}"]: VECTORS[i].tolist() for i in range(ROWS)}
QUERY_TEXTS: dict[str, list[float]] = {f"q{i}": QUERY_VECTORS[i].tolist() for i in range(QUERIES)}


def _unit(matrix: np.ndarray) -> np.ndarray:
    unit: np.ndarray = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    return unit


EXACT_TOP10 = [
    {IDS[i] for i in np.argsort(-(_unit(VECTORS) @ q))[:10]} for q in _unit(QUERY_VECTORS)
]


def recall_of(found: list[list[str]]) -> float:
    """Recall@10 of one id list per query against numpy's exact cosine neighbours."""
    return sum(len(set(ids) & truth) for ids, truth in zip(found, EXACT_TOP10, strict=True)) / (
        10 * QUERIES
    )


def records() -> list[Record]:
    return [Record(id=IDS[i], text=TEXTS[IDS[i]], vector=VECTORS[i].tolist()) for i in range(ROWS)]


def wait_indexed(client: MilvusClient, name: str, field: str = "vector") -> dict[str, Any]:
    """``describe_index`` once no row is pending (Lite builds in the background)."""
    deadline = time.monotonic() + 60
    described: dict[str, Any] = client.describe_index(name, field)
    while time.monotonic() < deadline and described.get("pending_index_rows", 0) != 0:
        time.sleep(0.1)
        described = client.describe_index(name, field)
    return described


def build_params(described: dict[str, Any]) -> dict[str, Any]:
    """The build parameters Milvus reports (nested on Lite 3, flat strings on servers)."""
    nested = described.get("params")
    if isinstance(nested, str):
        nested = json.loads(nested)
    if isinstance(nested, dict):
        return {k: int(v) if str(v).isdigit() else v for k, v in nested.items()}
    keys = ("nlist", "M", "efConstruction", "m", "nbits", "drop_ratio_build")
    return {k: int(v) if str(v).isdigit() else v for k, v in described.items() if k in keys}


def open_store(uri: str, name: str, **spec: Any) -> MilvusStore:
    spec.setdefault("dim", DIM)
    return MilvusStore(CollectionSpec(name=name, **spec), connection=ConnectionConfig(uri=uri))


def filled(uri: str, name: str, **spec: Any) -> MilvusStore:
    store = open_store(uri, name, **spec)
    store.upsert(records(), progress=False)
    wait_indexed(store.client, name)
    return store


def core_recall(store: MilvusStore, **kw: Any) -> float:
    return recall_of([[h.id for h in store.search(q.tolist(), k=10, **kw)] for q in QUERY_VECTORS])


def settled_recall(store: MilvusStore, below: float, **kw: Any) -> float:
    """Recall once it drops below ``below``, or the last one measured (after 20 s).

    Even with no row pending, a loaded 2-core machine searched a just-built Lite index
    brute force for a while (recall 0.96 at nprobe 1 of 128 lists, then 0.2): an
    approximate answer shows only once the index is in use."""
    deadline = time.monotonic() + 20
    recall = core_recall(store, **kw)
    while recall >= below and time.monotonic() < deadline:
        time.sleep(0.2)
        recall = core_recall(store, **kw)
    return recall


class TableEmbeddings(Embeddings):
    """Each stored text to its row's vector, ``q<i>`` to query vector i."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [TEXT_TO_VECTOR.get(t, [1.0] * DIM) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return QUERY_TEXTS.get(text, TEXT_TO_VECTOR.get(text, [1.0] * DIM))


# -- core routes, Milvus Lite 3 ------------------------------------------------------------

ONE_LIST_SPELLINGS: dict[str, Any] = {
    "typed": IvfFlatIndex(nlist=1, nprobe=1),
    "flat_dict": {"index_type": "IVF_FLAT", "nlist": 1},
    "official_nested": {"index_type": "IVF_FLAT", "metric_type": "COSINE", "params": {"nlist": 1}},
    "nested_with_nprobe": {"index_type": "ivf_flat", "params": {"nlist": 1, "nprobe": 1}},
    "efConstruction_style_lowercase_metric": {
        "index_type": "IVF_FLAT",
        "metric_type": "cosine",
        "params": {"nlist": 1},
    },
}


@pytest.mark.parametrize("spelling", list(ONE_LIST_SPELLINGS))
def test_every_core_spelling_of_nlist_1_is_built_and_exact_on_lite(
    lite_uri: str, spelling: str
) -> None:
    store = filled(lite_uri, "one", index=ONE_LIST_SPELLINGS[spelling])
    described = wait_indexed(store.client, "one")
    assert described["index_type"] == "IVF_FLAT"
    assert build_params(described) == {"nlist": 1}
    assert core_recall(store) == 1.0
    assert core_recall(store, search_params={"nprobe": 1}) == 1.0
    store.close()


def test_a_bare_type_name_builds_the_default_nlist_and_nprobe_1_is_approximate(
    lite_uri: str,
) -> None:
    # The control: with 128 lists built, nprobe 1 misses neighbours; the index is in use.
    store = filled(lite_uri, "named", index="IVF_FLAT")
    assert build_params(wait_indexed(store.client, "named")) == {"nlist": 128}
    assert settled_recall(store, 0.9, search_params={"nprobe": 1}) < 0.9
    store.close()


def test_a_named_dense_field_gets_its_own_build_params(lite_uri: str) -> None:
    store = open_store(
        lite_uri,
        "multi",
        index=HnswIndex(M=4, ef_construction=8),
        vector_fields=[
            DenseField(name="title", dim=DIM, index={"index_type": "IVF_FLAT", "nlist": 1})
        ],
    )
    store.upsert(
        [
            Record(id=IDS[i], text="", vector=VECTORS[i].tolist(), vectors={"title": VECTORS[i]})
            for i in range(ROWS)
        ],
        progress=False,
    )
    assert build_params(wait_indexed(store.client, "multi", "vector")) == {
        "M": 4,
        "efConstruction": 8,
    }
    assert build_params(wait_indexed(store.client, "multi", "title")) == {"nlist": 1}
    found = [
        [h.id for h in store.search(q.tolist(), k=10, field="title", search_params={"nprobe": 1})]
        for q in QUERY_VECTORS
    ]
    assert recall_of(found) == 1.0
    store.close()


def test_a_tiny_hnsw_graph_is_measurably_worse_than_the_default_on_lite(lite_uri: str) -> None:
    tiny = filled(lite_uri, "tiny", index=HnswIndex(M=2, ef_construction=4))
    default = filled(lite_uri, "default", index=HnswIndex())
    assert build_params(wait_indexed(tiny.client, "tiny")) == {"M": 2, "efConstruction": 4}
    assert build_params(wait_indexed(default.client, "default")) == {
        "M": 16,
        "efConstruction": 200,
    }
    tiny_recall = settled_recall(tiny, 0.6, search_params={"ef": 10})
    default_recall = core_recall(default, search_params={"ef": 10})
    assert default_recall >= 0.9
    assert tiny_recall < default_recall - 0.3, (tiny_recall, default_recall)
    tiny.close()
    default.close()


# DEFECT (fixed): an index dict giving one parameter twice, with two values, was resolved silently
def test_contradictory_spellings_in_one_index_dict_are_refused() -> None:
    contradictions: list[dict[str, Any]] = [
        {"index_type": "HNSW", "M": 32, "params": {"M": 8}},
        {"index_type": "HNSW", "ef_construction": 32, "efConstruction": 8},
        {"index_type": "IVF_FLAT", "metric": "IP", "metric_type": "L2"},
        {"index_type": "IVF_FLAT", "nlist": 64, "params": {"nlist": 1}},
    ]
    silently_taken: list[IndexConfig] = []
    for config in contradictions:
        with contextlib.suppress(ConfigError):
            silently_taken.append(index_from_dict(config))
    assert silently_taken == []


def test_index_dicts_a_user_copies_from_elsewhere_fail_typed_before_io(lite_uri: str) -> None:
    # params as the JSON string some clients show, values as strings (a server's
    # describe_index), a doubly nested params, an empty dict.
    for bad in (
        {"index_type": "IVF_FLAT", "params": '{"nlist": 1}'},
        {"index_type": "IVF_FLAT", "nlist": "1"},
        {"index_type": "IVF_FLAT", "params": {"params": {"nlist": 1}}},
        {"index_type": "HNSW", "params": {"M": 1}},
        {"index_type": "IVF_FLAT", "nlist": 0},
        {"index_type": "IVF_FLAT", "nlist": 1, "nprobe": 2},
        {},
    ):
        with pytest.raises(ConfigError):
            open_store(lite_uri, "bad", index=bad)
    assert not Path(lite_uri).exists()


# -- LangChain adapter ---------------------------------------------------------------------


def _langchain_recall(store: LangChainStore, **kw: Any) -> float:
    found = []
    for i in range(QUERIES):
        docs = store.similarity_search(f"q{i}", k=10, **kw)
        found.append([d.id or "" for d in docs])
    return recall_of(found)


@pytest.mark.parametrize("route", ["index_params_sync", "index_dict_async", "typed_async_docs"])
def test_langchain_routes_build_nlist_1_exactly(lite_uri: str, route: str) -> None:
    routes: dict[str, dict[str, Any]] = {
        "index_params_sync": {
            "index_params": {
                "index_type": "IVF_FLAT",
                "metric_type": "COSINE",
                "params": {"nlist": 1},
            },
            "search_params": {"nprobe": 1},
        },
        "index_dict_async": {"index": {"index_type": "IVF_FLAT", "nlist": 1}},
        "typed_async_docs": {"index": IvfFlatIndex(nlist=1, nprobe=1)},
    }
    settings = routes[route]
    store = LangChainStore(TableEmbeddings(), uri=lite_uri, collection_name="lc", **settings)
    texts = [TEXTS[i] for i in IDS]
    if route == "index_params_sync":
        store.add_texts(texts, ids=IDS)
    elif route == "index_dict_async":
        asyncio.run(store.aadd_texts(texts, ids=IDS))
    else:
        from langchain_core.documents import Document

        docs = [Document(page_content=t, id=i) for t, i in zip(texts, IDS, strict=True)]
        asyncio.run(store.aadd_documents(docs))
    described = wait_indexed(store.store.client, "lc")
    assert build_params(described) == {"nlist": 1}
    assert _langchain_recall(store) == 1.0
    store.close()


def test_langchain_from_texts_and_afrom_texts_pass_index_params(lite_uri: str) -> None:
    texts = [TEXTS[i] for i in IDS[:300]]
    sync = LangChainStore.from_texts(
        texts,
        TableEmbeddings(),
        ids=IDS[:300],
        connection_args={"uri": lite_uri},
        collection_name="ft",
        index_params={"index_type": "HNSW", "metric_type": "COSINE", "params": {"M": 4}},
    )
    assert build_params(wait_indexed(sync.store.client, "ft")) == {"M": 4, "efConstruction": 200}
    sync.close()

    async def go() -> dict[str, Any]:
        store = await LangChainStore.afrom_texts(
            texts,
            TableEmbeddings(),
            ids=IDS[:300],
            connection_args={"uri": lite_uri},
            collection_name="aft",
            index_params={"index_type": "IVF_FLAT", "params": {"nlist": 1}},
        )
        described = wait_indexed(store.store.client, "aft")
        await store.aclose()
        return described

    assert build_params(asyncio.run(go())) == {"nlist": 1}


# DEFECT (fixed): langchain-milvus' nested search_params form was refused as an unknown knob
def test_langchain_official_nested_search_params_are_taken(lite_uri: str) -> None:
    store = LangChainStore(
        TableEmbeddings(),
        uri=lite_uri,
        collection_name="lc_official",
        index_params={"index_type": "IVF_FLAT", "metric_type": "COSINE", "params": {"nlist": 64}},
        search_params={"metric_type": "COSINE", "params": {"nprobe": 64}},
    )
    store.add_texts([TEXTS[i] for i in IDS], ids=IDS)
    wait_indexed(store.store.client, "lc_official")
    assert _langchain_recall(store) == 1.0  # nprobe 64 of 64 lists: exact
    store.close()


def test_langchain_contradicting_metric_in_index_params_is_refused(lite_uri: str) -> None:
    with pytest.raises(ConfigError, match="conflicts"):
        LangChainStore(
            TableEmbeddings(),
            uri=lite_uri,
            collection_name="lc_metric",
            metric="IP",
            index_params={"index_type": "IVF_FLAT", "metric_type": "L2", "params": {"nlist": 1}},
        )
    with pytest.raises(ConfigError, match="exceeds nlist"):
        LangChainStore(
            TableEmbeddings(),
            uri=lite_uri,
            collection_name="lc_metric",
            index_params={"index_type": "IVF_FLAT", "params": {"nlist": 4}},
            search_params={"nprobe": 8},
        )
    assert not Path(lite_uri).exists()


# -- LlamaIndex adapter --------------------------------------------------------------------


def _nodes() -> list[TextNode]:
    return [
        TextNode(id_=IDS[i], text=TEXTS[IDS[i]], embedding=VECTORS[i].tolist()) for i in range(ROWS)
    ]


def _llama_recall(store: LlamaStore) -> float:
    found = []
    for q in QUERY_VECTORS:
        result = store.query(VectorStoreQuery(query_embedding=q.tolist(), similarity_top_k=10))
        found.append(list(result.ids or []))
    return recall_of(found)


@pytest.mark.parametrize(
    "route", ["index_config_nested", "index_config_flat_hnsw", "index_typed_async"]
)
def test_llama_index_routes_reach_the_engine(lite_uri: str, route: str) -> None:
    routes: dict[str, dict[str, Any]] = {
        "index_config_nested": {"index_config": {"index_type": "IVF_FLAT", "params": {"nlist": 1}}},
        "index_config_flat_hnsw": {
            "index_config": {"index_type": "HNSW", "M": 4, "efConstruction": 16}
        },
        "index_typed_async": {"index": IvfFlatIndex(nlist=1, nprobe=1)},
    }
    settings = routes[route]
    store = LlamaStore(uri=lite_uri, collection_name="li", dim=DIM, **settings)
    if route == "index_typed_async":
        asyncio.run(store.async_add(_nodes()))
    else:
        store.add(_nodes())
    described = wait_indexed(store.store.client, "li")
    if route == "index_config_flat_hnsw":
        assert build_params(described) == {"M": 4, "efConstruction": 16}
    else:
        assert build_params(described) == {"nlist": 1}
        assert _llama_recall(store) == 1.0


def test_llama_official_search_config_is_refused_with_the_fix(lite_uri: str) -> None:
    with pytest.raises(TypeError, match="IvfFlatIndex\\(nprobe=") as caught:
        LlamaStore(uri=lite_uri, collection_name="li", dim=DIM, search_config={"nprobe": 1})  # type: ignore[call-arg]
    assert "search_config" in str(caught.value)
    with pytest.raises(ConfigError, match="unknown parameter"):
        # Without index_type the official default is FLAT, which has no nlist.
        LlamaStore(uri=lite_uri, collection_name="li", dim=DIM, index_config={"nlist": 1})
    assert not Path(lite_uri).exists()


# -- reindex (Python and CLI), recommend_index, autotune ---------------------------------


def test_reindex_to_new_build_params_gives_the_copy_those_params(lite_uri: str) -> None:
    conn = ConnectionConfig(uri=lite_uri)
    filled(lite_uri, "src", index=IvfFlatIndex(nlist=64, nprobe=1)).close()
    point_alias(conn, "live", "src")
    report = reindex(conn, "live", index=IvfFlatIndex(nlist=1, nprobe=1), min_recall=0.99)
    assert report.recall == 1.0
    client = MilvusClient(lite_uri)
    assert build_params(wait_indexed(client, report.current)) == {"nlist": 1}
    reader = open_store(lite_uri, "live")  # through the alias: its own index
    assert core_recall(reader, search_params={"nprobe": 1}) == 1.0
    reader.close()
    report = reindex(conn, "live", index={"index_type": "HNSW", "params": {"M": 3}}, min_recall=0.1)
    assert build_params(wait_indexed(client, report.current)) == {"M": 3, "efConstruction": 200}
    client.close()


# DEFECT (fixed): reindex() without index= gave the copy default build params, not the source's
def test_reindex_without_index_keeps_the_source_build_params(lite_uri: str) -> None:
    conn = ConnectionConfig(uri=lite_uri)
    filled(lite_uri, "src", index=IvfFlatIndex(nlist=1, nprobe=1)).close()
    point_alias(conn, "live", "src")
    report = reindex(conn, "live", min_recall=0.0)
    client = MilvusClient(lite_uri)
    described = wait_indexed(client, report.current)
    client.close()
    assert build_params(described) == {"nlist": 1}


def test_cli_reindex_index_option_reaches_the_copy(tmp_path: Path) -> None:
    uri = str(tmp_path / "cli.db")
    filled(uri, "docs_v1", index=IvfFlatIndex(nlist=64, nprobe=1)).close()
    assert run_cli("--uri", uri, "alias", "docs", "docs_v1", cwd=tmp_path).code == 0
    nested = json.dumps({"index_type": "IVF_FLAT", "metric_type": "COSINE", "params": {"nlist": 1}})
    result = run_cli(
        "--uri",
        uri,
        "reindex",
        "docs",
        "--index",
        nested,
        "--search-params",
        '{"nprobe": 1}',
        "--min-recall",
        "0.99",
        cwd=tmp_path,
    )
    assert result.code == 0, result.err
    assert "recall@10 = 1.000" in result.out
    client = MilvusClient(uri)
    current = client.describe_alias("docs")["collection_name"]
    assert current != "docs_v1"
    assert build_params(wait_indexed(client, current)) == {"nlist": 1}
    client.close()
    bad = run_cli(
        "--uri", uri, "reindex", "docs", "--index", '{"index_type": "HNSW", "M": 1}', cwd=tmp_path
    )
    assert bad.code != 0
    assert "Traceback" not in bad.err and "M=1" in bad.err


def test_recommended_indexes_are_built_with_their_params(lite_uri: str) -> None:
    hnsw = recommend_index(ROWS, DIM)
    store = filled(lite_uri, "rec_hnsw", index=hnsw)
    assert isinstance(hnsw, HnswIndex)
    assert build_params(wait_indexed(store.client, "rec_hnsw")) == {
        "M": hnsw.M,
        "efConstruction": hnsw.ef_construction,
    }
    assert core_recall(store) >= 0.95
    store.close()
    budget = ROWS * DIM * 2  # too small for the graph and the raw floats: IVF_SQ8
    sq8 = recommend_index(ROWS, DIM, memory_budget_bytes=budget)
    assert isinstance(sq8, IvfSq8Index)
    store = filled(lite_uri, "rec_sq8", index=sq8)
    assert build_params(wait_indexed(store.client, "rec_sq8")) == {"nlist": sq8.nlist}
    assert len(store.search(QUERY_VECTORS[0].tolist(), k=10)) == 10
    store.close()


def test_autotune_sees_the_built_nlist(lite_uri: str) -> None:
    # One list built: nprobe 1 (the only rung) reaches recall 1. Were nlist 128 built
    # instead, that rung would measure ~0.3 and the target would not be reached.
    one = filled(lite_uri, "tune_one", index=IvfFlatIndex(nlist=1, nprobe=1))
    result = autotune(one, QUERY_VECTORS, target_recall=0.99)
    assert (result.knob, result.value, result.recall, result.reached) == ("nprobe", 1, 1.0, True)
    one.close()
    many = filled(lite_uri, "tune_many", index=IvfFlatIndex(nlist=32, nprobe=1))
    assert settled_recall(many, 0.9) < 0.9  # the index is in use: nprobe 1 is not enough
    result = autotune(many, QUERY_VECTORS, target_recall=0.95)
    assert result.reached and result.value is not None and 1 < result.value <= 32
    assert core_recall(many, search_params=result.search_params) >= 0.95
    # The tuned value baked into the index the user builds next.
    tuned = filled(lite_uri, "tuned", index=IvfFlatIndex(nlist=32, nprobe=result.value))
    assert core_recall(tuned) >= 0.95
    many.close()
    tuned.close()


# -- a collection built before the fix, sparse collections -------------------------------


def _indexed_the_pre_fix_way(uri: str) -> None:
    """Made by the store with IvfFlatIndex(nlist=1, nprobe=1), then re-indexed as pymilvus
    alone sends it (flat params), as the store did before the fix: on Lite that builds
    nlist 128, and describe_index shows no parameters."""
    filled(uri, "old", index=IvfFlatIndex(nlist=1, nprobe=1)).close()
    raw = MilvusClient(uri)
    raw.release_collection("old")
    raw.drop_index("old", "vector")
    params = raw.prepare_index_params()
    params.add_index(
        field_name="vector", index_type="IVF_FLAT", metric_type="COSINE", params={"nlist": 1}
    )
    raw.create_index("old", params)
    raw.load_collection("old")
    described = wait_indexed(raw, "old")
    raw.close()
    assert described["index_type"] == "IVF_FLAT"
    assert "nlist" not in described and "params" not in described


@pytest.mark.parametrize("index", [None, "IVF_FLAT", {"index_type": "IVF_FLAT"}], ids=repr)
def test_a_collection_indexed_the_pre_fix_way_keeps_working(lite_uri: str, index: Any) -> None:
    _indexed_the_pre_fix_way(lite_uri)
    store = open_store(lite_uri, "old", index=index)
    assert store.count() == ROWS
    assert all(len(store.search(q.tolist(), k=10)) == 10 for q in QUERY_VECTORS)
    assert core_recall(store, search_params={"nprobe": 128}) == 1.0
    store.upsert([Record(id="new", text="fresh", vector=QUERY_VECTORS[1].tolist())])
    assert store.search(QUERY_VECTORS[1].tolist(), k=1)[0].id == "new"
    stats = store.stats()
    assert [i["index_type"] for i in stats.indexes if i["field"] == "vector"] == ["IVF_FLAT"]
    assert store.delete(["new"]) == 1
    assert store.count() == ROWS
    store.close()


# DEFECT (fixed): a pre-fix collection reopened with IvfFlatIndex(nlist=1) silently gave < k hits
def test_a_pre_fix_collection_reopened_with_its_own_index_code_reports_the_mismatch(
    lite_uri: str,
) -> None:
    _indexed_the_pre_fix_way(lite_uri)
    store = open_store(lite_uri, "old", index=IvfFlatIndex(nlist=1, nprobe=1))
    # Built with nlist 128 (Lite ignored the flat nlist=1): refused, naming both and the fix.
    with pytest.raises(SchemaMismatchError, match=r"nlist=128.*nlist=1.*reindex"):
        store.search(QUERY_VECTORS[0].tolist(), k=10)
    store.close()


def test_bm25_collections_build_and_search_with_nested_params(lite_uri: str) -> None:
    store = open_store(
        lite_uri,
        "kw",
        index={"index_type": "IVF_FLAT", "params": {"nlist": 1}},
        sparse="bm25",
        sparse_index=SparseInvertedIndex(drop_ratio_build=0.0),
    )
    store.upsert(records(), progress=False)
    assert build_params(wait_indexed(store.client, "kw")) == {"nlist": 1}
    sparse = wait_indexed(store.client, "kw", store.spec.fields.sparse)
    assert sparse["index_type"] == "SPARSE_INVERTED_INDEX"
    assert sparse["metric_type"] == "BM25"
    hits = store.sparse_search("apples", k=5)
    assert len(hits) == 5 and all("apples" in h.record.text for h in hits)
    assert core_recall(store) == 1.0
    fused = store.hybrid_search(QUERY_VECTORS[0].tolist(), "pears", k=10)
    assert len(fused) == 10
    store.close()
    default_sparse = open_store(lite_uri, "kw_default", sparse="bm25")
    default_sparse.upsert(records()[:200], progress=False)
    wait_indexed(default_sparse.client, "kw_default", default_sparse.spec.fields.sparse)
    assert len(default_sparse.sparse_search("pears", k=3)) == 3
    default_sparse.close()


# DEFECT (fixed): Lite 3 drop_ratio_build>0: raw error at the 1st write, collection left behind
def test_a_sparse_build_param_lite_refuses_is_refused_before_anything_is_made(
    lite_uri: str,
) -> None:
    store = open_store(
        lite_uri, "kw", sparse="bm25", sparse_index=SparseInvertedIndex(drop_ratio_build=0.2)
    )
    try:
        with pytest.raises((ConfigError, UnsupportedByServerError)):
            store.upsert(records()[:10], progress=False)
    finally:
        made = store.client.list_collections()
        store.close()
    assert made == []


# DEFECT (fixed): stats() nested Lite 3's build params (params['params']); servers' are flat
def test_stats_reports_build_params_where_servers_do(lite_uri: str) -> None:
    store = filled(lite_uri, "st", index=IvfFlatIndex(nlist=1, nprobe=1))
    vector = next(i for i in store.stats().indexes if i["field"] == "vector")
    store.close()
    assert str(vector["params"].get("nlist")) == "1"


# -- every engine ------------------------------------------------------------------------


def test_ivf_one_list_is_exact_on_every_engine(uri: str, collection_name: str) -> None:
    store = filled(uri, collection_name, index={"index_type": "IVF_FLAT", "params": {"nlist": 1}})
    described = wait_indexed(store.client, collection_name)
    assert described["index_type"] == "IVF_FLAT"
    assert build_params(described).get("nlist") in (1, None)  # reported where the engine does
    assert core_recall(store, search_params={"nprobe": 1}) == 1.0
    store.close()


def test_reopened_without_index_searches_with_its_own_on_every_engine(
    uri: str, collection_name: str
) -> None:
    # Built with 8 lists; reopened with no index=, the store's default nprobe (16) is more
    # than the lists built: searches must still answer, and nprobe 8 probes them all.
    filled(uri, collection_name, index=IvfFlatIndex(nlist=8, nprobe=8)).close()
    store = open_store(uri, collection_name, dim=None)
    assert len(store.search(QUERY_VECTORS[0].tolist(), k=10)) == 10
    assert core_recall(store, search_params={"nprobe": 8}) == 1.0
    store.upsert([Record(id="late", text="", vector=QUERY_VECTORS[2].tolist())])
    assert store.search(QUERY_VECTORS[2].tolist(), k=1)[0].id == "late"
    store.close()
