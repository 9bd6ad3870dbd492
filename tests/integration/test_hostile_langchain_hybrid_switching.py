"""A user with langchain-milvus 0.4 collections built with its hybrid features (BM25 builtin
function, two dense fields, BM25 plus a partition key) switches to this package's LangChain
store by changing the import and keeping their kwargs (following each refusal's hint), then
compares hybrid / keyword / dense searches, filters, deletes, reads and writes with what the
REAL official store answered on the same collections (run in a subprocess that finishes
before ours opens the Lite file).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from pymilvus import MilvusClient
from tests.support.official_layouts import HOSTILE, copy_database, hashed_vector

from milvus_plugins.core import (
    RRF,
    ConfigError,
    FieldMapping,
    ForeignLayoutError,
    SchemaMismatchError,
    UnexpectedArgumentError,
    Weighted,
)
from milvus_plugins.langchain import MilvusVectorStore

SUPPORT = str(Path(__file__).resolve().parents[1] / "support")
DENSE = {"index_type": "FLAT", "metric_type": "L2", "params": {}}
BM25_INDEX = {"index_type": "SPARSE_INVERTED_INDEX", "metric_type": "BM25"}
Q = "milvus hybrid search"

# The official subprocess: builds each configuration twice (the second copy takes the
# official deletes), records the official answers. Texts are chosen so that no two BM25
# scores, L2 distances, RRF sums or weighted sums tie.
_SCRIPT = r"""
import json, sys, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, sys.argv[2])
from official_layouts import hashed_vector
from langchain_core.embeddings import Embeddings
from langchain_milvus import BM25BuiltInFunction, Milvus

HOSTILE = 'it" or text != "'
WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
         "juliet"]
TEXTS = [
    "milvus hybrid search with alpha",
    "bravo search search milvus vectors in the lake",
    "charlie notes about lite files",
    "delta milvus milvus milvus engine for hybrid retrieval of long texts today",
    "echo search search",
    "foxtrot hybrid hybrid ranking and fusion of many legs in one call here",
    "golf milvus",
    "hotel unrelated words entirely nothing to see",
    "india search milvus hybrid hybrid search",
    "juliet lite search engines compared over several pages of prose text",
]
DOCS = [{"id": f"d{i}", "text": t,
         "metadata": {"source": HOSTILE if i == 3 else f"s{i % 3}", "n": i}}
        for i, t in enumerate(TEXTS)]

class Hashed(Embeddings):
    def embed_documents(self, texts): return [hashed_vector(t) for t in texts]
    def embed_query(self, text): return hashed_vector(text)

class Salted(Embeddings):
    def embed_documents(self, texts): return [hashed_vector("salt:" + t) for t in texts]
    def embed_query(self, text): return hashed_vector("salt:" + text)

uri = sys.argv[1]
Q = "milvus hybrid search"
dense = {"index_type": "FLAT", "metric_type": "L2", "params": {}}
bm25 = {"index_type": "SPARSE_INVERTED_INDEX", "metric_type": "BM25"}
configs = {
    "bm25": dict(embedding_function=Hashed(), builtin_function=BM25BuiltInFunction(),
                 vector_field=["vector", "sparse"], index_params=[dense, bm25]),
    "two": dict(embedding_function=[Hashed(), Salted()], vector_field=["v1", "v2"],
                index_params=[dense, dense]),
    "tenant": dict(embedding_function=Hashed(), builtin_function=BM25BuiltInFunction(),
                   vector_field=["vector", "sparse"], index_params=[dense, bm25],
                   partition_key_field="tenant"),
}
P = [{}, {}]
W = {"weights": [0.7, 0.3]}
def dump(docs): return [[d.page_content, d.metadata] for d in docs]
def dumps(pairs): return [[d.page_content, d.metadata, s] for d, s in pairs]
out = {}
for name, kw in configs.items():
    res = {}
    for suffix in ("", "_del"):
        metas = [dict(d["metadata"], tenant=f"t{i % 2}") if name == "tenant" else d["metadata"]
                 for i, d in enumerate(DOCS)]
        emb = kw["embedding_function"]
        rest = {k: v for k, v in kw.items() if k != "embedding_function"}
        store = Milvus.from_texts(
            [d["text"] for d in DOCS], emb, metadatas=metas, ids=[d["id"] for d in DOCS],
            collection_name=name + suffix, connection_args={"uri": uri}, drop_old=True, **rest)
        if suffix == "_del":
            store.delete(ids=["d1"])
            store.delete(expr='n in [4, 7]')
            rows = store.client.query(name + suffix, filter="", limit=100, output_fields=["pk"])
            res["survivors"] = sorted(r["pk"] for r in rows)
            store.client.close()
            continue
        res["rrf"] = dump(store.similarity_search(Q, k=6, fetch_k=20, param=P, ranker_type="rrf",
                                                  ranker_params={"k": 60}))
        res["weighted"] = dump(store.similarity_search(
            Q, k=6, fetch_k=20, param=P, ranker_type="weighted", ranker_params=W))
        res["rrf_scores"] = dumps(store.similarity_search_with_score(
            Q, k=6, fetch_k=20, param=P, ranker_type="rrf", ranker_params={"k": 60}))
        res["w_scores"] = dumps(store.similarity_search_with_score(
            Q, k=6, fetch_k=20, param=P, ranker_type="weighted", ranker_params=W))
        exprs = ['source == "s1"', "n > 4"] + (['tenant == "t0"'] if name == "tenant" else [])
        res["expr"] = [dump(store.similarity_search(Q, k=10, fetch_k=20, param=P,
                                                    ranker_type="rrf",
                                                    ranker_params={"k": 60}, expr=e))
                       for e in exprs]
        fields = store.vector_fields
        legs = {}
        for f in fields:
            data = Q if f == "sparse" else (hashed_vector("salt:" + Q) if f == "v2"
                                            else hashed_vector(Q))
            hits = store.client.search(name, data=[data], anns_field=f, limit=10,
                                       output_fields=["pk"])[0]
            legs[f] = [[h["pk"], h["distance"]] for h in hits]
        res["legs"] = legs
        try:
            res["get_by_ids"] = dump(store.get_by_ids(["d2", "d0"]))
        except Exception as exc:
            res["get_by_ids"] = repr(exc)
        res["rows"] = len(store.client.query(name, filter="", limit=100, output_fields=["pk"]))
        store.client.close()
    out[name] = res
out["_docs"] = DOCS
print("RESULT " + json.dumps(out, default=str))
"""


class Hashed(Embeddings):
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [hashed_vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return hashed_vector(text)


class Salted(Embeddings):
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [hashed_vector("salt:" + t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return hashed_vector("salt:" + text)


def _official_kwargs(name: str) -> dict[str, Any]:
    """The user's official constructor arguments (the builtin function is a stand-in object:
    ours refuses the keyword before looking at its value)."""
    bm25 = {
        "embedding_function": Hashed(),
        "builtin_function": object(),
        "vector_field": ["vector", "sparse"],
        "index_params": [DENSE, BM25_INDEX],
    }
    if name == "bm25":
        return bm25
    if name == "tenant":
        return {**bm25, "partition_key_field": "tenant"}
    return {
        "embedding_function": [Hashed(), Salted()],
        "vector_field": ["v1", "v2"],
        "index_params": [DENSE, DENSE],
    }


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, Any]]]:
    uri = str(tmp_path_factory.mktemp("hybrid") / "official.db")
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, uri, SUPPORT],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    lines = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stderr[-3000:]
    yield uri, json.loads(lines[-1][len("RESULT ") :])


def _official(docs: list[list[Any]]) -> list[tuple[str, str, dict[str, Any]]]:
    out = []
    for item in docs:
        meta = dict(item[1])
        out.append((str(meta.pop("pk")), item[0], meta))
    return out


def _ours(docs: list[Document]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(str(d.id), d.page_content, dict(d.metadata)) for d in docs]


def _follow_hints(uri: str, name: str) -> MilvusVectorStore:
    """The unchanged official call, then each refusal's hint followed literally."""
    kwargs = _official_kwargs(name)
    for _ in range(4):
        try:
            return MilvusVectorStore(collection_name=name, connection_args={"uri": uri}, **kwargs)
        except UnexpectedArgumentError as exc:
            message = str(exc)
            refused = [k for k in list(kwargs) if f"{k}:" in message]
            assert refused, message
            for key in refused:
                hint = message.split(f"{key}:", 1)[1]
                value = kwargs.pop(key)
                if key == "builtin_function":
                    assert "sparse='bm25'" in hint, message
                    kwargs["sparse"] = "bm25"
                elif key == "vector_field":
                    assert "field_mapping=FieldMapping(" in hint, message
                    if "sparse" in value:
                        kwargs["field_mapping"] = FieldMapping(
                            id="pk", text="text", vector="vector", sparse="sparse"
                        )
                    else:  # several dense fields: embedding={'name': model, ...}
                        assert "embedding={'name': model" in hint, message
                        kwargs["field_mapping"] = FieldMapping(id="pk", text="text", vector="v1")
                        kwargs["embedding_function"] = {"v1": Hashed(), "v2": Salted()}
                else:
                    raise AssertionError(message) from exc
        except ConfigError as exc:
            # index_params=[dense, sparse] (the official multi-field form) is refused naming
            # the dense dict (see the test below): keep that one.
            if not isinstance(kwargs.get("index_params"), list):
                raise
            assert "index_params" in str(exc)
            kwargs["index_params"] = kwargs["index_params"][0]
            if isinstance(kwargs.get("embedding_function"), list):
                kwargs["embedding_function"] = {"v1": Hashed(), "v2": Salted()}
    raise AssertionError(f"the hints did not lead to a store: {kwargs}")


def _first_call(uri: str, name: str) -> MilvusVectorStore:
    store = _follow_hints(uri, name)
    try:
        store.similarity_search(Q, k=1)
    except Exception:
        store.store.close()
        raise
    return store


HYBRID = ["bm25", "two", "tenant"]
RANKERS = {"rrf": RRF(60), "weighted": Weighted(0.7, 0.3)}


def _legs(name: str) -> list[str]:
    return ["v1", "v2"] if name == "two" else ["vector", "sparse"]


@pytest.mark.parametrize("name", ["bm25", "tenant"])
def test_bm25_layouts_open_with_uri_and_collection_name_only(
    made: tuple[str, dict[str, Any]], name: str
) -> None:
    uri, official = made
    store = MilvusVectorStore(
        embedding_function=Hashed(),
        collection_name=name,
        connection_args={"uri": uri},
        index_params=DENSE,
    )
    try:
        assert store.store.count() == official[name]["rows"]
        got = _ours(store.similarity_search(Q, k=6, retrieval_mode="hybrid", fetch_k=20))
        assert got == _official(official[name]["rrf"])
    finally:
        store.store.close()


@pytest.mark.parametrize("ranker", list(RANKERS))
@pytest.mark.parametrize("name", ["bm25", "tenant"])
def test_hybrid_search_matches_the_official_ranker(
    made: tuple[str, dict[str, Any]], name: str, ranker: str
) -> None:
    uri, official = made
    store = _first_call(uri, name)
    try:
        kw = {"retrieval_mode": "hybrid", "ranker": RANKERS[ranker], "fetch_k": 20}
        want = _official(official[name][ranker])
        assert _ours(store.similarity_search(Q, k=6, **kw)) == want
        scored = store.similarity_search_with_score(Q, k=6, **kw)
        # Ours returns relevance in [0, 1] (documented), the official the fused score:
        # the documents and their order must agree.
        key = "rrf_scores" if ranker == "rrf" else "w_scores"
        assert _ours([d for d, _ in scored]) == _official(official[name][key])
        assert all(0.0 <= s <= 1.0 for _, s in scored)
    finally:
        store.store.close()


@pytest.mark.parametrize("name", ["bm25", "tenant"])
def test_keyword_and_dense_only_match_the_official_legs(
    made: tuple[str, dict[str, Any]], name: str
) -> None:
    uri, official = made
    store = _first_call(uri, name)
    try:
        legs = official[name]["legs"]
        sparse = [d.id for d in store.similarity_search(Q, k=10, retrieval_mode="sparse")]
        assert sparse == [i for i, _ in legs["sparse"]]
        dense = [d.id for d in store.similarity_search(Q, k=10, retrieval_mode="dense")]
        assert dense == [i for i, _ in legs["vector"]]
    finally:
        store.store.close()


def test_two_dense_fields_rrf_and_each_field_match_the_official(
    made: tuple[str, dict[str, Any]],
) -> None:
    uri, official = made
    store = _first_call(uri, "two")
    try:
        got = store.similarity_search(Q, k=6, retrieval_mode="hybrid", ranker=RRF(60), fetch_k=20)
        assert _ours(got) == _official(official["two"]["rrf"])
        for field in ("v1", "v2"):
            ids = [d.id for d in store.similarity_search(Q, k=10, vector_field=field)]
            assert ids == [i for i, _ in official["two"]["legs"][field]], field
    finally:
        store.store.close()


# DEFECT (fixed): read through field_mapping, a second dense field's L2 index was taken as COSINE.
def test_two_dense_fields_weighted_uses_the_collections_metric(
    made: tuple[str, dict[str, Any]],
) -> None:
    uri, official = made
    store = _first_call(uri, "two")
    try:
        kw = {"retrieval_mode": "hybrid", "ranker": Weighted(0.7, 0.3), "fetch_k": 20}
        try:
            got = store.similarity_search(Q, k=6, **kw)
        except SchemaMismatchError:
            return  # a typed refusal naming the metric would be correct too
        assert _ours(got) == _official(official["two"]["weighted"])
        # v2 is an L2 field: its relevance is 1 / (1 + distance) (the store's docstring).
        top = store.similarity_search_with_score(Q, k=1, vector_field="v2")[0][1]
        distance = official["two"]["legs"]["v2"][0][1]
        assert top == pytest.approx(1 / (1 + distance), rel=1e-4)
    finally:
        store.store.close()


# DEFECT (fixed): the official list form index_params=[dense, bm25] was refused naming no fix.
def test_index_params_list_refusal_names_what_to_pass(made: tuple[str, dict[str, Any]]) -> None:
    uri, _ = made
    with pytest.raises((ConfigError, UnexpectedArgumentError)) as caught:
        MilvusVectorStore(
            embedding_function=Hashed(),
            collection_name="bm25",
            connection_args={"uri": uri},
            index_params=[DENSE, BM25_INDEX],
        )
    message = str(caught.value)
    assert "dense" in message.lower() and ("sparse" in message or "BM25" in message), message


@pytest.mark.parametrize("name", HYBRID)
def test_filters_select_the_official_rows(made: tuple[str, dict[str, Any]], name: str) -> None:
    uri, official = made
    store = _first_call(uri, name)
    try:
        flts: list[dict[str, Any]] = [{"source": "s1"}, {"n": {"$gt": 4}}]
        if name == "tenant":
            flts.append({"tenant": "t0"})
        kw = {"retrieval_mode": "hybrid", "ranker": RRF(60), "fetch_k": 20}
        for flt, want in zip(flts, official[name]["expr"], strict=True):
            got = _ours(store.similarity_search(Q, k=10, filter=flt, **kw))
            assert got == _official(want), flt
        if name == "tenant":
            got = _ours(store.similarity_search(Q, k=10, tenant="t0", **kw))
            assert got == _official(official[name]["expr"][2])
        # The hostile value is escaped in every leg: its own row only.
        for mode in ("hybrid", "dense") if name == "two" else ("hybrid", "sparse", "dense"):
            extra = {"ranker": RRF(60)} if mode == "hybrid" else {}
            hits = store.similarity_search(
                Q, k=10, filter={"source": HOSTILE}, retrieval_mode=mode, **extra
            )
            assert [d.id for d in hits] == ["d3"], mode
    finally:
        store.store.close()


@pytest.mark.parametrize("name", HYBRID)
def test_get_by_ids_returns_the_official_rows(made: tuple[str, dict[str, Any]], name: str) -> None:
    uri, official = made
    # langchain-milvus 0.4 raises NotImplementedError here (its own gap); LangChain documents
    # get_by_ids as returning the documents found, skipping missing ids.
    assert "NotImplementedError" in official[name]["get_by_ids"]
    rows = {d["id"]: d for d in official["_docs"]}
    store = _first_call(uri, name)
    try:
        got = _ours(store.get_by_ids(["d2", "d0", "missing", "d0 ", 'd1" or pk != "']))
        want = []
        for i, ident in enumerate(["d2", "d0"]):
            meta = dict(rows[ident]["metadata"])
            if name == "tenant":
                meta["tenant"] = "t0"  # d0 and d2 are even rows
            want.append((ident, rows[ident]["text"], meta))
            assert i < 2
        assert sorted(got) == sorted(want)
    finally:
        store.store.close()


def _survivors(uri: str, name: str) -> list[str]:
    client = MilvusClient(uri=uri)
    try:
        client.load_collection(name)  # a fresh Lite process starts with it released
        rows = client.query(name, filter="", limit=100, output_fields=["pk"])
        return sorted(r["pk"] for r in rows)
    finally:
        client.close()


@pytest.mark.parametrize("name", HYBRID)
def test_deletes_leave_the_official_survivors(
    made: tuple[str, dict[str, Any]], name: str, tmp_path: Path
) -> None:
    uri, official = made
    copy = copy_database(uri, tmp_path)
    store = _first_call(copy, name)
    try:
        store.delete(ids=['d1" or pk != "', "d1 ", "D1", "*"])  # hostile ids: nothing
        store.delete(ids=["d1"])  # official: delete(ids=["d1"])
        store.delete(filter={"n": {"$in": [4, 7]}})  # official: delete(expr="n in [4, 7]")
        assert store.get_by_ids(["d1", "d4", "d7"]) == []
    finally:
        store.store.close()
    assert _survivors(copy, name) == official[name]["survivors"]
    store = _first_call(copy, name)
    try:
        store.delete(filter={"source": HOSTILE})
    finally:
        store.store.close()
    assert _survivors(copy, name) == [i for i in official[name]["survivors"] if i != "d3"]


@pytest.mark.parametrize("name", HYBRID)
def test_writes_are_refused_naming_migrate_with_nothing_changed(
    made: tuple[str, dict[str, Any]], name: str, tmp_path: Path
) -> None:
    uri, official = made
    copy = copy_database(uri, tmp_path)
    store = _first_call(copy, name)
    try:
        meta: dict[str, Any] = {"source": "s9", "n": 99}
        if name == "tenant":
            meta["tenant"] = "t0"
        new = Document(page_content="milvus zulu", metadata=meta, id="z1")
        with pytest.raises(ForeignLayoutError, match="migrate"):
            store.add_documents([new])
        with pytest.raises(ForeignLayoutError, match="migrate"):
            store.upsert(["d0"], [new])
        with pytest.raises(ForeignLayoutError, match="migrate"):
            store.add_texts(["milvus zulu"], [meta], ids=["z2"])
    finally:
        store.store.close()
    assert _survivors(copy, name) == sorted(d["id"] for d in official["_docs"])
    store = _first_call(copy, name)
    try:
        assert _ours(store.get_by_ids(["d0"]))[0][1] == official["_docs"][0]["text"]
    finally:
        store.store.close()


def test_official_file_is_untouched(made: tuple[str, dict[str, Any]]) -> None:
    uri, official = made
    for name in HYBRID:
        assert len(_survivors(uri, name)) == official[name]["rows"]
