"""Hostile checks of named dense fields, sparse-only stores and client sparse encoders.

Milvus Lite 3 only (a database file under tmp_path), tiny hand-made vectors, a
plain-Python oracle for every distance.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from milvus_plugins.core import (
    RRF,
    AsyncMilvusStore,
    BM25Encoder,
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    DenseField,
    InvalidInputError,
    MilvusStore,
    Record,
    SchemaMismatchError,
    eq,
)
from milvus_plugins.core.exceptions import MilvusPluginsError
from milvus_plugins.langchain import MilvusVectorStore

# -- data and oracle ------------------------------------------------------------------------

BODY = {
    "a": [1.0, 0.0, 0.0, 0.0],
    "b": [0.8, 0.6, 0.0, 0.0],
    "c": [0.0, 1.0, 0.0, 0.0],
    "d": [0.0, 0.0, 1.0, 0.0],
    "e": [0.0, 0.0, 0.6, 0.8],
    "f": [0.5, 0.5, 0.5, 0.5],
}
TITLE = {
    "a": [0.0, 0.0, 3.0],
    "b": [0.0, 2.0, 0.5],
    "c": [1.0, 1.0, 1.0],
    "d": [4.0, 0.0, 0.0],
    "e": [0.2, 0.1, 0.0],
    "f": [2.0, 2.0, 2.5],
}
TOPIC = {"a": "x", "b": "y", "c": "x", "d": "y", "e": "x", "f": "y"}


def cos(u: list[float], v: list[float]) -> float:
    dot = sum(x * y for x, y in zip(u, v, strict=True))
    return dot / (math.sqrt(sum(x * x for x in u)) * math.sqrt(sum(y * y for y in v)))


def l2(u: list[float], v: list[float]) -> float:
    return sum((x - y) ** 2 for x, y in zip(u, v, strict=True))


def ip(u: list[float], v: list[float]) -> float:
    return sum(x * y for x, y in zip(u, v, strict=True))


def ranked(table: dict[str, list[float]], q: list[float], metric: str) -> list[str]:
    if metric == "L2":
        return sorted(table, key=lambda k: l2(table[k], q))
    fn = cos if metric == "COSINE" else ip
    return sorted(table, key=lambda k: -fn(table[k], q))


def ids(hits: list) -> list[str]:  # type: ignore[type-arg]
    return [h.id for h in hits]


def recs(keys: str = "abcdef") -> list[Record]:
    return [
        Record(
            id=k,
            text=f"doc {k}",
            vector=BODY[k],
            vectors={"title": TITLE[k]},
            metadata={"topic": TOPIC[k]},
        )
        for k in keys
    ]


def spec(name: str = "mv", title_metric: str = "L2", **kw: object) -> CollectionSpec:
    return CollectionSpec(
        name=name,
        vector_fields=[DenseField(name="title", metric=title_metric)],
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
def conn(tmp_path: Path) -> ConnectionConfig:
    return ConnectionConfig(uri=str(tmp_path / "hostile.db"))


@pytest.fixture
def core(conn: ConnectionConfig) -> Iterator[MilvusStore]:
    store = MilvusStore(spec(), connection=conn)
    store.upsert(recs())
    yield store
    store.close()


# -- fake LangChain models ------------------------------------------------------------------

LC_TEXTS = ["alpha", "beta", "gamma", "delta"]
LC_BODY = {
    "alpha": [1.0, 0.0, 0.0, 0.0],
    "beta": [0.0, 1.0, 0.0, 0.0],
    "gamma": [0.0, 0.0, 1.0, 0.0],
    "delta": [0.6, 0.8, 0.0, 0.0],
}
LC_TITLE = {
    "alpha": [0.0, 0.0, 1.0],
    "beta": [0.0, 1.0, 0.0],
    "gamma": [1.0, 0.0, 0.0],
    "delta": [0.0, 0.6, 0.8],
}


class Table(Embeddings):
    """Looks texts up in a table (anything else: a fixed vector); can misbehave."""

    def __init__(self, table: dict[str, list[float]], dim: int, mode: str = "ok") -> None:
        self.table, self.dim, self.mode = table, dim, mode
        self.doc_calls = 0

    def _one(self, text: str) -> list[float]:
        return list(self.table.get(text, [0.3] * self.dim))

    def embed_documents(self, texts: list[str]):  # type: ignore[no-untyped-def]
        self.doc_calls += 1
        out = [self._one(t) for t in texts]
        if self.mode == "generator" and len(texts) > 1:
            return (v for v in out)
        if self.mode == "numpy":
            return np.array(out, dtype=np.float32)
        if self.mode == "short" and len(texts) > 1:
            return out[:-1]
        if self.mode == "nan" and len(texts) > 1:
            out[1][0] = float("nan")
        if self.mode == "overflow" and len(texts) > 1:
            out[1][0] = 1e39
        if self.mode == "dim" and len(texts) > 1:
            out[1] = out[1] + [0.1]
        return out

    def embed_query(self, text: str) -> list[float]:
        return self._one(text)


def lc(
    conn: ConnectionConfig, body: Table | None = None, title: Table | None = None, **kw: object
) -> MilvusVectorStore:
    models = {"body": body or Table(LC_BODY, 4), "title": title or Table(LC_TITLE, 3)}
    models_arg: object = models
    return MilvusVectorStore(models_arg, uri=conn.uri, collection_name="lc", **kw)  # type: ignore


# == core: named-field reopen checks (most damaging first) ===================================


# DEFECT (fixed): reopening with another metric on a named field is accepted; scores turn wrong
def test_core_reopen_with_another_named_metric_is_a_schema_mismatch(
    core: MilvusStore, conn: ConnectionConfig
) -> None:
    other = MilvusStore(spec(title_metric="IP"), connection=conn)
    try:
        with pytest.raises(SchemaMismatchError, match="title"):
            hits = other.search(TITLE["a"], k=3, field="title")
            # If it is not refused, it must at least rank and score as the stored L2 does.
            assert ids(hits) == ranked(TITLE, TITLE["a"], "L2")[:3]
            assert hits[0].score == pytest.approx(1.0)
    finally:
        other.close()


# DEFECT (fixed): reopening without a named field is not a mismatch; write fails as WriteError
def test_core_reopen_missing_a_named_field_is_refused_typed(
    core: MilvusStore, conn: ConnectionConfig
) -> None:
    plain = MilvusStore(CollectionSpec(name="mv"), connection=conn)
    try:
        with pytest.raises((SchemaMismatchError, ConfigError), match="title"):
            plain.upsert([Record(id="z", text="doc z", vector=BODY["a"])])
    finally:
        plain.close()
    assert core.count() == 6


def test_core_reopen_with_an_extra_named_field_is_a_schema_mismatch(
    core: MilvusStore, conn: ConnectionConfig
) -> None:
    extra = CollectionSpec(
        name="mv",
        vector_fields=[DenseField(name="title", metric="L2"), DenseField(name="sub", metric="IP")],
    )
    other = MilvusStore(extra, connection=conn)
    try:
        with pytest.raises(SchemaMismatchError, match="sub"):
            other.count()
    finally:
        other.close()


def test_core_reopen_with_fields_in_another_order_reads_by_name(conn: ConnectionConfig) -> None:
    two = [DenseField(name="title", metric="L2"), DenseField(name="sub", metric="IP")]
    first = MilvusStore(CollectionSpec(name="o", vector_fields=two), connection=conn)
    sub = {k: [float(i), 1.0] for i, k in enumerate("abcdef")}
    first.upsert(
        [
            Record(id=k, text=k, vector=BODY[k], vectors={"title": TITLE[k], "sub": sub[k]})
            for k in "abcdef"
        ]
    )
    first.close()
    again = MilvusStore(CollectionSpec(name="o", vector_fields=two[::-1]), connection=conn)
    try:
        for r in again.get(list("abcdef"), include_vectors=True):
            assert r.vector == pytest.approx(BODY[r.id])
            assert r.vectors["title"] == pytest.approx(TITLE[r.id])
            assert r.vectors["sub"] == pytest.approx(sub[r.id])
        assert ids(again.search([1.0, 0.0], k=6, field="sub")) == ranked(sub, [1.0, 0.0], "IP")
        with pytest.raises(InvalidInputError, match="dimension"):
            again.search(TITLE["a"], field="sub")
    finally:
        again.close()


# == core: readback, field-targeted search, MMR, threshold, hybrid ===========================


def test_core_each_field_reads_back_exactly_in_its_own_field(core: MilvusStore) -> None:
    got = {r.id: r for r in core.get(list("abcdef"), include_vectors=True)}
    assert set(got) == set("abcdef")
    for k, r in got.items():
        assert r.vector == pytest.approx(BODY[k], abs=1e-6)
        assert r.vectors == {"title": pytest.approx(TITLE[k], abs=1e-6)}
    hits = core.search(TITLE["c"], k=6, field="title", include_vectors=True)
    for h in hits:
        assert h.record.vector == pytest.approx(BODY[h.id], abs=1e-6)
        assert h.record.vectors["title"] == pytest.approx(TITLE[h.id], abs=1e-6)


@pytest.mark.parametrize("key", list("abcdef"))
def test_core_field_search_ranks_that_field_only(core: MilvusStore, key: str) -> None:
    q_title = TITLE[key]
    title_hits = core.search(q_title, k=6, field="title")
    assert ids(title_hits) == ranked(TITLE, q_title, "L2")
    for h in title_hits:
        assert h.score == pytest.approx(1.0 / (1.0 + l2(TITLE[h.id], q_title)), rel=1e-4)
    body_hits = core.search(BODY[key], k=6)
    assert ids(body_hits)[0] == key
    for h in body_hits:
        assert h.score == pytest.approx(max(0.0, cos(BODY[h.id], BODY[key])), abs=1e-5)


# DEFECT (fixed): MMR on a named field returns hits whose .vector holds that field's vector
def test_core_mmr_on_named_field_keeps_each_vector_in_its_field(core: MilvusStore) -> None:
    hits = core.mmr_search(TITLE["c"], k=3, fetch_k=6, field="title")
    assert len(hits) == 3 and hits[0].id == ranked(TITLE, TITLE["c"], "L2")[0]
    for h in hits:
        assert h.record.vector is None or h.record.vector == pytest.approx(BODY[h.id])
        if h.record.vectors:
            assert h.record.vectors["title"] == pytest.approx(TITLE[h.id])


def test_core_threshold_and_filter_on_named_field(core: MilvusStore) -> None:
    q = TITLE["b"]
    want = [k for k in ranked(TITLE, q, "L2") if 1.0 / (1.0 + l2(TITLE[k], q)) >= 0.2]
    got = core.search(q, k=6, field="title", score_threshold=0.2)
    assert ids(got) == want
    filtered = core.search(q, k=6, field="title", filter=eq("topic", "x"))
    assert ids(filtered) == [k for k in ranked(TITLE, q, "L2") if TOPIC[k] == "x"]


def test_core_hybrid_rrf_matches_python_oracle(core: MilvusStore) -> None:
    qb, qt = [0.9, 0.1, 0.3, 0.0], [0.5, 1.5, 2.0]
    rb, rt = ranked(BODY, qb, "COSINE"), ranked(TITLE, qt, "L2")
    rrf = {k: 1 / (61 + rb.index(k)) + 1 / (61 + rt.index(k)) for k in BODY}
    want = sorted(rrf, key=lambda k: (-rrf[k], k))
    for fusion in ("client", "server"):
        got = core.hybrid_search({"vector": qb, "title": qt}, k=6, ranker=RRF(), fusion=fusion)
        assert ids(got) == want, fusion
        assert all(0.0 <= h.score <= 1.0 for h in got)
    # Swapping the two query vectors between legs is a dimension error, not a search.
    with pytest.raises(InvalidInputError, match="dimension"):
        core.hybrid_search({"vector": qt, "title": qb}, k=3)


def test_core_upsert_and_delete_keep_every_field_consistent(core: MilvusStore) -> None:
    core.upsert([Record(id="a", text="doc a", vector=BODY["d"], vectors={"title": TITLE["d"]})])
    got = core.get(["a"], include_vectors=True)[0]
    assert got.vector == pytest.approx(BODY["d"]) and got.vectors["title"] == pytest.approx(
        TITLE["d"]
    )
    assert set(ids(core.search(TITLE["d"], k=2, field="title"))) == {"a", "d"}
    assert core.delete(["d"]) == 1
    assert "d" not in ids(core.search(TITLE["d"], k=6, field="title"))
    assert "d" not in ids(core.search(BODY["d"], k=6))
    assert core.count() == 5


def test_core_bad_named_vectors_are_refused_with_nothing_written(core: MilvusStore) -> None:
    bad = [
        {"title": [1.0, float("nan"), 0.0]},
        {"title": [1e39, 0.0, 0.0]},
        {"title": [1.0, 0.0]},
        {"title": [1.0, 0.0, 0.0, 0.0]},
        {"title": (x for x in [1.0, 0.0, 0.0])},
        {"tilte": [1.0, 0.0, 0.0]},
        {},
    ]
    for vectors in bad:
        rows = [
            Record(id="n1", text="n1", vector=BODY["a"], vectors={"title": TITLE["a"]}),
            Record(id="n2", text="n2", vector=BODY["b"], vectors=vectors),  # type: ignore[arg-type]
        ]
        with pytest.raises(InvalidInputError):
            core.upsert(rows)
    assert core.count() == 6 and core.get(["n1", "n2"]) == []


def test_core_numpy_named_vectors_are_stored_exactly(conn: ConnectionConfig) -> None:
    store = MilvusStore(spec("np"), connection=conn)
    try:
        store.upsert(
            [
                Record(
                    id=k,
                    text=k,
                    vector=np.array(BODY[k], dtype=np.float64),
                    vectors={"title": np.array(TITLE[k], dtype=np.float32)},
                )
                for k in "abc"
            ]
        )
        for r in store.get(list("abc"), include_vectors=True):
            assert r.vector == pytest.approx(BODY[r.id]) and isinstance(r.vector[0], float)
            assert r.vectors["title"] == pytest.approx(TITLE[r.id])
    finally:
        store.close()


# == sparse-only and client BM25 ============================================================


def test_core_sparse_only_client_encoder_ranks_and_refuses_dense(conn: ConnectionConfig) -> None:
    texts = {"p": "red apple pie", "q": "green apple", "r": "blue sky", "s": "apple apple tart"}
    encoder = BM25Encoder().fit(texts.values())
    store = MilvusStore(
        CollectionSpec(name="sp", dense=False, sparse="client"),
        connection=conn,
        sparse_encoder=encoder,
    )
    try:
        for call in (
            lambda: store.search([1.0, 0.0], k=2),
            lambda: store.mmr_search([1.0, 0.0], k=2),
            lambda: store.hybrid_search([1.0, 0.0], store.sparse_query("apple"), k=2),
            lambda: store.hybrid_search({"vector": [1.0], "x": [1.0]}, k=2),
        ):
            with pytest.raises(ConfigError, match="sparse-only"):
                call()
        assert not store.exists()
        store.upsert([Record(id=k, text=t) for k, t in texts.items()])
        hits = store.sparse_search(store.sparse_query("apple"), k=4)
        assert set(ids(hits)) == {"p", "q", "s"}
        assert "r" not in ids(hits) and all(0.0 < h.score <= 1.0 for h in hits)
        assert ids(store.sparse_search(store.sparse_query("sky"), k=4)) == ["r"]
        assert store.delete(["r"]) == 1
        assert store.sparse_search(store.sparse_query("sky"), k=4) == []
    finally:
        store.close()


def test_langchain_sparse_only_refuses_dense_calls(conn: ConnectionConfig) -> None:
    store = MilvusVectorStore(None, uri=conn.uri, collection_name="lsp")
    try:
        for call in (
            lambda: store.similarity_search("alpha", retrieval_mode="dense"),
            lambda: store.similarity_search("alpha", retrieval_mode="hybrid"),
            lambda: store.max_marginal_relevance_search("alpha"),
            lambda: store.similarity_search_by_vector([1.0, 0.0]),
            lambda: store.similarity_search("alpha", vector_field="body"),
        ):
            with pytest.raises(ConfigError):
                call()
        assert not store.store.exists()
    finally:
        store.close()


# == LangChain named fields: hostile models ==================================================


# DEFECT (fixed): a named-field model returning a generator leaks a bare TypeError
@pytest.mark.parametrize("field", ["body", "title"])
def test_langchain_generator_from_one_model_is_refused_typed(
    conn: ConnectionConfig, field: str
) -> None:
    models = {"body": Table(LC_BODY, 4), "title": Table(LC_TITLE, 3)}
    models[field].mode = "generator"
    store = lc(conn, models["body"], models["title"])
    try:
        with pytest.raises(InvalidInputError):
            store.add_texts(LC_TEXTS, ids=LC_TEXTS)
        assert not store.store.exists()
    finally:
        store.close()


@pytest.mark.parametrize("mode", ["short", "nan", "overflow", "dim"])
@pytest.mark.parametrize("field", ["body", "title"])
def test_langchain_bad_model_output_is_refused_with_nothing_written(
    conn: ConnectionConfig, mode: str, field: str
) -> None:
    good = lc(conn)
    good.add_texts(LC_TEXTS[:2], ids=LC_TEXTS[:2])
    good.close()
    models = {"body": Table(LC_BODY, 4), "title": Table(LC_TITLE, 3)}
    models[field].mode = mode
    store = lc(conn, models["body"], models["title"])
    try:
        with pytest.raises(InvalidInputError):
            store.add_texts(LC_TEXTS, ids=LC_TEXTS)
        assert store.store.count() == 2
        assert store.get_by_ids(["gamma", "delta"]) == []
        rows = {r.id: r for r in store.store.get(LC_TEXTS[:2], include_vectors=True)}
        for k, r in rows.items():
            assert r.vector == pytest.approx(LC_BODY[k]) and r.vectors["title"] == pytest.approx(
                LC_TITLE[k]
            )
    finally:
        store.close()


def test_langchain_numpy_models_store_each_field_exactly(conn: ConnectionConfig) -> None:
    store = lc(conn, Table(LC_BODY, 4, "numpy"), Table(LC_TITLE, 3, "numpy"))
    try:
        assert store.add_texts(LC_TEXTS, ids=LC_TEXTS) == LC_TEXTS
        for r in store.store.get(LC_TEXTS, include_vectors=True):
            assert r.vector == pytest.approx(LC_BODY[r.text])
            assert r.vectors == {"title": pytest.approx(LC_TITLE[r.text])}
    finally:
        store.close()


def test_langchain_vector_field_search_threshold_filter_and_mmr(conn: ConnectionConfig) -> None:
    store = lc(conn)
    try:
        store.add_documents(
            [Document(id=t, page_content=t, metadata={"n": i}) for i, t in enumerate(LC_TEXTS)]
        )
        for q in LC_TEXTS:
            by_title = store.similarity_search_with_relevance_scores(q, k=4, vector_field="title")
            assert [d.id for d, _ in by_title] == ranked(LC_TITLE, LC_TITLE[q], "COSINE")
            for d, s in by_title:
                assert s == pytest.approx(max(0.0, cos(LC_TITLE[d.id], LC_TITLE[q])), abs=1e-5)
            by_body = store.similarity_search(q, k=4)
            assert [d.id for d in by_body] == ranked(LC_BODY, LC_BODY[q], "COSINE")
        thr = store.similarity_search_with_relevance_scores(
            "delta", k=4, vector_field="title", score_threshold=0.5
        )
        want = [k for k in LC_TEXTS if cos(LC_TITLE[k], LC_TITLE["delta"]) >= 0.5]
        assert {d.id for d, _ in thr} == set(want)
        filt = store.similarity_search("alpha", k=4, vector_field="title", filter={"n": {"$gt": 1}})
        assert [d.id for d in filt] == ["gamma", "delta"] or [d.id for d in filt] == [
            k for k in ranked(LC_TITLE, LC_TITLE["alpha"], "COSINE") if k in ("gamma", "delta")
        ]
        mmr = store.max_marginal_relevance_search("alpha", k=2, fetch_k=4, vector_field="title")
        assert mmr[0].id == "alpha"
        with pytest.raises(InvalidInputError, match="dimension"):
            store.similarity_search_by_vector(LC_BODY["alpha"], vector_field="title")
    finally:
        store.close()


def test_langchain_reopen_with_fields_swapped_is_refused(conn: ConnectionConfig) -> None:
    store = lc(conn)
    store.add_texts(LC_TEXTS, ids=LC_TEXTS)
    store.close()
    with pytest.raises((SchemaMismatchError, ConfigError)):
        swapped = MilvusVectorStore(
            {"title": Table(LC_TITLE, 3), "body": Table(LC_BODY, 4)},  # type: ignore[arg-type]
            uri=conn.uri,
            collection_name="lc",
        )
        swapped.add_texts(["zeta"], ids=["zeta"])
    again = lc(conn)
    try:
        assert again.store.count() == 4 and again.get_by_ids(["zeta"]) == []
    finally:
        again.close()


# DEFECT (fixed): LangChain reopen with a named field missing fails at write as WriteError
def test_langchain_reopen_missing_a_field_is_refused_as_mismatch(conn: ConnectionConfig) -> None:
    store = lc(conn)
    store.add_texts(LC_TEXTS, ids=LC_TEXTS)
    store.close()
    only_body = MilvusVectorStore(Table(LC_BODY, 4), uri=conn.uri, collection_name="lc")
    try:
        with pytest.raises((SchemaMismatchError, ConfigError)):
            only_body.add_texts(["zeta"], ids=["zeta"])
    finally:
        only_body.close()
    both = lc(conn)  # (the one-model store cannot open it at all: a typed refusal)
    try:
        assert both.store.count() == 4
    finally:
        both.close()


async def test_langchain_async_twins_match_sync(conn: ConnectionConfig) -> None:
    store = lc(conn)
    try:
        await store.aadd_texts(LC_TEXTS, ids=LC_TEXTS)
        for q in LC_TEXTS:
            a = await store.asimilarity_search(q, k=4, vector_field="title")
            s = store.similarity_search(q, k=4, vector_field="title")
            assert [d.id for d in a] == [d.id for d in s]
            assert [d.id for d in a] == ranked(LC_TITLE, LC_TITLE[q], "COSINE")
        bad = lc(conn, title=Table(LC_TITLE, 3, "short"))
        with pytest.raises(InvalidInputError):
            await bad.aadd_texts(["x1", "x2"], ids=["x1", "x2"])
        assert store.store.count() == 4
    finally:
        store.close()


# DEFECT (fixed): async add with a generator-returning named model leaks a bare TypeError
async def test_langchain_async_generator_model_is_refused_typed(conn: ConnectionConfig) -> None:
    store = lc(conn, title=Table(LC_TITLE, 3, "generator"))
    try:
        with pytest.raises(InvalidInputError):
            await store.aadd_texts(LC_TEXTS, ids=LC_TEXTS)
        assert not store.store.exists()
    finally:
        store.close()


async def test_core_async_named_field_and_mmr_twins(core: MilvusStore) -> None:
    astore = AsyncMilvusStore(core)
    q = TITLE["f"]
    got = await astore.search(q, k=6, field="title")
    assert ids(got) == ids(core.search(q, k=6, field="title")) == ranked(TITLE, q, "L2")
    am = await astore.mmr_search(q, k=3, fetch_k=6, field="title")
    assert ids(am) == ids(core.mmr_search(q, k=3, fetch_k=6, field="title"))


def test_errors_are_package_errors() -> None:
    assert issubclass(SchemaMismatchError, MilvusPluginsError)


# == LlamaIndex named field ==================================================================


def test_llama_named_field_model_short_count_writes_nothing(conn: ConnectionConfig) -> None:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.schema import TextNode

    from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

    class Short(BaseEmbedding):
        short: bool = False

        def _get_query_embedding(self, query: str) -> list[float]:
            return LC_TITLE.get(query, [0.3, 0.3, 0.3])

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._get_query_embedding(text)

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            out = [self._get_query_embedding(t) for t in texts]
            return out[:-1] if self.short else out

    model = Short()
    store = LlamaStore(uri=conn.uri, collection_name="li", vector_fields={"title": model})
    try:
        nodes = [TextNode(id_=t, text=t, embedding=LC_BODY[t]) for t in LC_TEXTS]
        model.short = True
        with pytest.raises(InvalidInputError, match="title"):
            store.add(nodes)
        assert not store.store.exists()
        model.short = False
        assert store.add(nodes) == LC_TEXTS
        for r in store.store.get(LC_TEXTS, include_vectors=True):
            assert r.vector == pytest.approx(LC_BODY[r.id])
            assert r.vectors["title"] == pytest.approx(LC_TITLE[r.id])
    finally:
        store.close()
