"""Hostile-user attack on commit d6a0d5b: a client sparse vector without terms is stored as
NO_TERMS (one negligible weight at index 2**32 - 2) and read back as ``{}``.

Such a row must be found by dense search and never by keyword search; in hybrid search it
may only come from the dense leg. The expectations are computed here from the dense and
keyword legs. Tests marked ``# DEFECT:`` assert the correct behaviour and are expected to
fail on the code as reviewed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from langchain_core.embeddings import Embeddings
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import VectorStoreQuery, VectorStoreQueryMode
from tests.support.cli_runner import run_cli

from milvus_plugins.core import (
    RRF,
    AsyncMilvusStore,
    BM25Encoder,
    CollectionSpec,
    ConnectionConfig,
    Decay,
    Grouping,
    InvalidInputError,
    MilvusStore,
    Record,
    Weighted,
    export_collection,
    import_collection,
    migrate,
    point_alias,
    reindex,
)
from milvus_plugins.core.exceptions import UnsupportedByServerError
from milvus_plugins.core.ranking import fuse, hybrid_relevance
from milvus_plugins.core.types import MetricType
from milvus_plugins.langchain import MilvusVectorStore as LCMilvus
from milvus_plugins.llama_index import MilvusVectorStore as LIMilvus

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

LAST = 2**32 - 2
CORPUS = ["hello world", "foo bar", "hello foo", "baz"]
# id: (text, dense vector, group). "e", "q", "s" have no terms.
ROWS: dict[str, tuple[str, list[float], str]] = {
    "e": ("", [1.0, 0.0], "a"),
    "q": ("?!", [0.96, 0.28], "a"),
    "s": ("  ", [0.28, 0.96], "b"),
    "h": ("hello world", [0.0, 1.0], "b"),
    "f": ("foo bar", [0.6, 0.8], "a"),
    "g": ("hello foo", [0.8, 0.6], "b"),
}
EMPTY = {"e", "q", "s"}
QUERY_VEC = [1.0, 0.0]
RANKERS = [RRF(), RRF(k=1), Weighted(0.5, 0.5), Weighted(0.9, 0.1), Weighted(0.2, 0.8)]


def _encoder() -> BM25Encoder:
    return BM25Encoder().fit(CORPUS)


def _records() -> list[Record]:
    return [
        Record(id=key, text=text, vector=list(vec), metadata={"grp": grp, "ts": i})
        for i, (key, (text, vec, grp)) in enumerate(ROWS.items())
    ]


def _store(uri: str, name: str, encoder: Any = None, **spec: Any) -> MilvusStore:
    return MilvusStore(
        CollectionSpec(name=name, dim=2, **spec),
        connection=ConnectionConfig(uri=uri),
        sparse_encoder=encoder,
    )


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MilvusStore]:
    uri = str(tmp_path_factory.mktemp("nt") / "m.db")
    store = _store(uri, "mixed", _encoder(), sparse="client")
    store.upsert(_records())
    yield store
    store.close()


def _query(store: MilvusStore, text: str) -> dict[int, float]:
    assert store.sparse_encoder is not None
    (query,) = store.sparse_encoder.encode_queries([text])
    return query


def _expected(
    store: MilvusStore, vec: Sequence[float], query: dict[int, float], ranker: Any, k: int
) -> tuple[list[str], dict[str, float], dict[str, float], dict[str, float]]:
    """(fused ids, fused scores, dense relevances, keyword relevances) from the two legs."""
    dense = store.search(vec, k=20)
    sparse = store.sparse_search(query, k=20)
    assert not {h.id for h in sparse} & EMPTY, "keyword hit for a row without terms"
    legs = [[(h.id, h.distance) for h in dense], [(h.id, h.distance) for h in sparse]]
    fused = fuse(legs, [store.spec.metric, MetricType.IP], ranker, k)
    return (
        [i for i, _ in fused],
        dict(fused),
        {h.id: h.score for h in dense},
        {h.id: h.score for h in sparse},
    )


# =====================================================================================
# Core reads, dense and keyword search
# =====================================================================================


def test_no_terms_rows_read_back_empty_and_found_only_densely(mixed: MilvusStore) -> None:
    got = {r.id: r for r in mixed.get(list(ROWS), include_vectors=True)}
    assert {i: r.text for i, r in got.items()} == {i: t for i, (t, _, _) in ROWS.items()}
    assert all(got[i].sparse == {} for i in EMPTY)
    assert all(got[i].sparse for i in set(ROWS) - EMPTY)
    assert {h.id for h in mixed.search(QUERY_VEC, k=10)} == set(ROWS)
    assert mixed.search(QUERY_VEC, k=1)[0].id == "e"
    for text in ("hello", "foo", "baz", "hello foo world"):
        hits = mixed.sparse_search(_query(mixed, text), k=10)
        assert not {h.id for h in hits} & EMPTY
        assert all(h.score > 0 for h in hits)


@pytest.mark.parametrize("threshold", [0.0, 1e-12])
def test_keyword_score_threshold_never_admits_no_terms_rows(
    mixed: MilvusStore, threshold: float
) -> None:
    hits = mixed.sparse_search(_query(mixed, "hello"), k=10, score_threshold=threshold)
    assert {h.id for h in hits} == {"h", "g"}


# =====================================================================================
# Core hybrid search: client and server fusion, RRF and Weighted
# =====================================================================================


@pytest.mark.parametrize("ranker", RANKERS, ids=repr)
@pytest.mark.parametrize("text", ["hello", "foo", "baz"])
def test_core_client_hybrid_equals_fusion_without_no_terms_keyword_hits(
    mixed: MilvusStore, ranker: Any, text: str
) -> None:
    query = _query(mixed, text)
    ids, scores, dense, sparse = _expected(mixed, QUERY_VEC, query, ranker, 10)
    hits = mixed.hybrid_search(QUERY_VEC, query, k=10, ranker=ranker, fusion="client")
    assert [h.id for h in hits] == ids
    for h in hits:
        assert h.distance == pytest.approx(scores[h.id], rel=1e-6, abs=1e-9)
        want = hybrid_relevance(dense.get(h.id), sparse.get(h.id), ranker)
        assert h.score == pytest.approx(want, rel=1e-6, abs=1e-9), h.id
        if h.id in EMPTY:
            assert h.score == pytest.approx(hybrid_relevance(dense[h.id], None, ranker))


@pytest.mark.parametrize("ranker", RANKERS, ids=repr)
def test_core_server_hybrid_equals_fusion_without_no_terms_keyword_hits(
    mixed: MilvusStore, ranker: Any
) -> None:
    query = _query(mixed, "hello")
    ids, scores, _, _ = _expected(mixed, QUERY_VEC, query, ranker, 10)
    hits = mixed.hybrid_search(QUERY_VEC, query, k=10, ranker=ranker, fusion="server")
    assert [h.id for h in hits] == ids
    for h in hits:
        assert h.distance == pytest.approx(scores[h.id], rel=1e-4, abs=1e-6), h.id
    # a no-terms row's fused score is its dense contribution only
    by_id = {h.id: h for h in hits}
    dense_rank = [h.id for h in mixed.search(QUERY_VEC, k=20)]
    for i in EMPTY:
        if isinstance(ranker, RRF):
            assert by_id[i].distance == pytest.approx(1 / (ranker.k + 1 + dense_rank.index(i)))


def test_core_hybrid_score_threshold_and_k_over_no_terms_rows(mixed: MilvusStore) -> None:
    query = _query(mixed, "hello")
    full = mixed.hybrid_search(QUERY_VEC, query, k=10, ranker=RRF(), fusion="client")
    for threshold in (0.0, 0.3, 0.45, 0.5, 0.51):
        hits = mixed.hybrid_search(
            QUERY_VEC, query, k=10, ranker=RRF(), fusion="client", score_threshold=threshold
        )
        assert [h.id for h in hits] == [h.id for h in full if h.score >= threshold]
    top = mixed.hybrid_search(QUERY_VEC, query, k=2, ranker=RRF(), fusion="client")
    assert [h.id for h in top] == [h.id for h in full[:2]]


def test_core_hybrid_grouping_over_no_terms_rows(mixed: MilvusStore) -> None:
    query = _query(mixed, "hello")
    full = mixed.hybrid_search(QUERY_VEC, query, k=10, ranker=RRF(), fusion="client")
    first: dict[str, str] = {}
    for h in full:
        first.setdefault(ROWS[h.id][2], h.id)
    try:
        grouped = mixed.hybrid_search(
            QUERY_VEC, query, k=2, ranker=RRF(), fusion="client", grouping=Grouping(by="grp")
        )
    except UnsupportedByServerError:
        pytest.skip("no grouping here")
    assert sorted(h.id for h in grouped) == sorted(first.values())
    dense_grouped = mixed.search(QUERY_VEC, k=2, grouping=Grouping(by="grp"))
    assert [h.id for h in dense_grouped] == ["e", "g"]


def test_core_hybrid_decay_over_no_terms_rows(mixed: MilvusStore) -> None:
    query = _query(mixed, "hello")
    decay = Decay(field="ts", origin=0, scale=100, place="client")
    plain = {
        h.id: h.score
        for h in mixed.hybrid_search(QUERY_VEC, query, k=10, ranker=RRF(), fusion="client")
    }
    hits = mixed.hybrid_search(QUERY_VEC, query, k=10, ranker=RRF(), fusion="client", decay=decay)
    assert {h.id for h in hits} == set(ROWS)
    for h in hits:
        assert h.score <= plain[h.id] + 1e-9
    # the row without terms and at the origin keeps its dense-only relevance
    assert {h.id: h.score for h in hits}["e"] == pytest.approx(plain["e"], rel=1e-3)


def test_core_mmr_over_no_terms_rows(mixed: MilvusStore) -> None:
    hits = mixed.mmr_search(QUERY_VEC, k=6, fetch_k=6)
    assert {h.id for h in hits} == set(ROWS)
    assert hits[0].id == "e"


# =====================================================================================
# Index 2**32 - 2 used by the user: explicit sparse vectors, query dicts, an encoder
# =====================================================================================


# DEFECT (fixed): index 2**32 - 2 was open to users, so NO_TERMS collided with their data:
# a real weight 1e-25 there read back as {}, a query or a custom encoder's term there
# keyword-hit the rows without terms. The index is now reserved: refused in vectors and
# queries before any I/O, nothing written.
@pytest.mark.parametrize("given", [{LAST: 0.7, 5: 1.0}, {LAST: 0.7}, {LAST: 1e-25}])
def test_user_weight_at_the_reserved_index_is_refused(tmp_path: Path, given: Any) -> None:
    store = _store(str(tmp_path / "u.db"), "u", _encoder(), sparse="client")
    try:
        store.upsert([Record(id="seed", text="alpha", vector=[1.0, 0.0])])
        with pytest.raises(InvalidInputError, match="reserved"):
            store.upsert([Record(id="u", text="x", vector=[1.0, 0.0], sparse=dict(given))])
        assert store.count() == 1
    finally:
        store.close()


def test_query_at_the_reserved_index_is_refused(mixed: MilvusStore) -> None:
    with pytest.raises(InvalidInputError, match="reserved"):
        mixed.sparse_search({LAST: 1.0}, k=10)
    for fusion in ("client", "server"):
        with pytest.raises(InvalidInputError, match="reserved"):
            mixed.hybrid_search(QUERY_VEC, {LAST: 1.0}, k=10, ranker=RRF(), fusion=fusion)


class LastIndexEncoder:
    """A custom SparseEncoder that gives the word ``last`` index 2**32 - 2."""

    def _one(self, text: str) -> dict[int, float]:
        out: dict[int, float] = {}
        for word in text.lower().split():
            index = LAST if word == "last" else sum(map(ord, word)) % 1000
            out[index] = out.get(index, 0.0) + 1.0
        return out

    def encode_documents(self, texts: Sequence[str]) -> list[dict[int, float]]:
        return [self._one(t) for t in texts]

    def encode_queries(self, texts: Sequence[str]) -> list[dict[int, float]]:
        return [self._one(t) for t in texts]


def test_custom_encoder_using_the_reserved_index_is_refused(tmp_path: Path) -> None:
    store = _store(str(tmp_path / "l.db"), "l", LastIndexEncoder(), sparse="client")
    try:
        store.upsert(
            [
                Record(id="word", text="word", vector=[0.6, 0.8]),
                Record(id="none", text="", vector=[0.8, 0.6]),
            ]
        )
        with pytest.raises(InvalidInputError, match="reserved"):
            store.upsert([Record(id="last", text="last word", vector=[1.0, 0.0])])
        got = {r.id: r.sparse for r in store.get(["word", "none", "last"], include_vectors=True)}
        assert got == {"word": {sum(map(ord, "word")) % 1000: 1.0}, "none": {}}
        (query,) = LastIndexEncoder().encode_queries(["last"])
        with pytest.raises(InvalidInputError, match="reserved"):
            store.sparse_search(query, k=10)
    finally:
        store.close()


def test_records_given_by_the_user_are_not_changed(tmp_path: Path) -> None:
    store = _store(str(tmp_path / "r.db"), "r", _encoder(), sparse="client")
    try:
        empty = Record(id="x", text="", vector=[1.0, 0.0], sparse={})
        zeros = Record(id="z", text="t", vector=[1.0, 0.0], sparse={3: 0.0, 4: 1.0})
        store.upsert([empty, zeros])
        assert empty.sparse == {} and zeros.sparse == {3: 0.0, 4: 1.0}
        good = Record(id="g", text="g", vector=[1.0, 0.0], sparse={5: 0.5, 6: 0.0})
        bad = Record(id="b", text="b", vector=[1.0, 0.0], sparse={1: -1.0})
        with pytest.raises(InvalidInputError):
            store.upsert([good, bad])
        assert good.sparse == {5: 0.5, 6: 0.0}
        assert {r.id for r in store.query()} == {"x", "z"}
    finally:
        store.close()


@pytest.mark.parametrize(
    "query", [{}, {LAST: 0.0}, {LAST: 1e-46}, {3: 0.0, 4: 0.0}], ids=["empty", "z", "tiny", "zz"]
)
def test_query_without_nonzero_weight_refused_everywhere(mixed: MilvusStore, query: Any) -> None:
    with pytest.raises(InvalidInputError):
        mixed.sparse_search(query, k=3)
    for fusion in ("client", "server"):
        with pytest.raises(InvalidInputError):
            mixed.hybrid_search(QUERY_VEC, query, k=3, fusion=fusion)


# =====================================================================================
# Export / import (core and CLI), migrate, reindex
# =====================================================================================


def _check_copy(store: MilvusStore) -> None:
    got = {r.id: r for r in store.get(list(ROWS), include_vectors=True)}
    assert {i: r.text for i, r in got.items()} == {i: t for i, (t, _, _) in ROWS.items()}
    assert all(got[i].sparse == {} for i in EMPTY)
    hits = store.sparse_search(_query(store, "hello"), k=10)
    assert {h.id for h in hits} == {"h", "g"}
    assert store.search(QUERY_VEC, k=1)[0].id == "e"


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_export_import_no_terms_rows(tmp_path: Path, fmt: str) -> None:
    uri = str(tmp_path / "x.db")
    source = _store(uri, "src", _encoder(), sparse="client")
    try:
        source.upsert(
            [*_records(), Record(id="u", text="u", vector=[0.5, 0.5], sparse={LAST - 1: 0.7})]
        )
        path = tmp_path / f"d.{fmt}"
        export_collection(source, path, batch_rows=2)
    finally:
        source.close()
    if fmt == "jsonl":
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        sparse = {r["id"]: r["sparse"] for r in rows if isinstance(r, dict) and "sparse" in r}
        assert all(sparse[i] == {} for i in EMPTY)
        assert sparse["u"] == pytest.approx({str(LAST - 1): 0.7})
    import_collection(path, "dst", connection=ConnectionConfig(uri=uri), batch_rows=2)
    target = _store(uri, "dst", _encoder(), sparse="client")
    try:
        _check_copy(target)
        (u,) = target.get(["u"], include_vectors=True)
        assert u.sparse == pytest.approx({LAST - 1: 0.7})
    finally:
        target.close()


def test_cli_export_import_no_terms_rows(tmp_path: Path) -> None:
    uri = str(tmp_path / "c.db")
    source = _store(uri, "src", _encoder(), sparse="client")
    try:
        source.upsert(_records())
    finally:
        source.close()
    out = run_cli("--uri", uri, "export", "src", "d.jsonl", cwd=tmp_path)
    assert out.code == 0, out.err
    out = run_cli("--uri", uri, "import", "d.jsonl", "dst", cwd=tmp_path)
    assert out.code == 0, out.err
    target = _store(uri, "dst", _encoder(), sparse="client")
    try:
        _check_copy(target)
    finally:
        target.close()


def test_migrate_client_sparse_to_bm25_and_back(tmp_path: Path) -> None:
    uri = str(tmp_path / "m.db")
    source = _store(uri, "src", _encoder(), sparse="client")
    bm25 = _store(uri, "bm", sparse="bm25")
    back = _store(uri, "back", _encoder(), sparse="client")
    try:
        source.upsert(_records())
        migrate(source, bm25, batch_rows=2, sample=6, queries=2, k=3)
        texts = {r.id: r.text for r in bm25.query()}
        assert texts == {i: t for i, (t, _, _) in ROWS.items()}
        assert {h.id for h in bm25.sparse_search("hello", k=10)} == {"h", "g"}
        migrate(bm25, back, batch_rows=2, sample=6, queries=2, k=3)
        _check_copy(back)
        _check_copy(source)  # untouched
    finally:
        for store in (source, bm25, back):
            store.close()


def test_reindex_client_sparse_keeps_no_terms_rows(tmp_path: Path) -> None:
    uri = str(tmp_path / "r.db")
    connection = ConnectionConfig(uri=uri)
    source = _store(uri, "docs_v1", _encoder(), sparse="client")
    try:
        source.upsert(_records())
        source.flush()
    finally:
        source.close()
    try:
        point_alias(connection, "docs", "docs_v1")
    except UnsupportedByServerError as exc:
        pytest.skip(str(exc))
    report = reindex(connection, "docs", min_recall=0.0, k=3)
    reader = _store(uri, report.current, _encoder(), sparse="client")
    try:
        _check_copy(reader)
    finally:
        reader.close()


# =====================================================================================
# LangChain and LlamaIndex hybrid
# =====================================================================================


class TableEmbeddings(Embeddings):
    """Embeds each known text to its row vector; a query text to QUERY_VEC."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        table = {t: v for t, v, _ in ROWS.values()}
        return [list(table.get(t, [0.5, 0.5])) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return list(QUERY_VEC)


@pytest.mark.parametrize("ranker", [RRF(), Weighted(0.7, 0.3)], ids=repr)
def test_langchain_hybrid_relevance_and_threshold(lite_uri: str, ranker: Any) -> None:
    lc = LCMilvus(
        TableEmbeddings(),
        uri=lite_uri,
        collection_name="lc",
        retrieval_mode="hybrid",
        sparse=_encoder(),
        ranker=ranker,
    )
    lc.add_texts([t for t, _, _ in ROWS.values()], ids=list(ROWS))
    store = lc.store
    ids, _, dense, sparse = _expected(store, QUERY_VEC, _query(store, "hello"), ranker, 6)
    got = lc.similarity_search_with_relevance_scores("hello", k=6)
    assert [d.id for d, _ in got] == ids
    for doc, score in got:
        want = hybrid_relevance(dense.get(doc.id), sparse.get(doc.id), ranker)
        assert score == pytest.approx(want, rel=1e-6, abs=1e-9), doc.id
    for threshold in (0.2, 0.4, 0.5):
        kept = lc.similarity_search_with_relevance_scores("hello", k=6, score_threshold=threshold)
        assert [d.id for d, _ in kept] == [d.id for d, s in got if s >= threshold]
    keyword = lc.similarity_search("hello", k=6, retrieval_mode="sparse")
    assert {d.id for d in keyword} == {"h", "g"}


@pytest.mark.parametrize("alpha", [0.0, 0.3, 0.7, 1.0])
def test_llama_hybrid_alpha_over_no_terms_rows(lite_uri: str, alpha: float) -> None:
    li = LIMilvus(uri=lite_uri, collection_name="li", dim=2, enable_sparse=True, sparse=_encoder())
    nodes = [TextNode(id_=i, text=t, embedding=list(v)) for i, (t, v, _) in ROWS.items()]
    li.add(nodes)
    store = li.store
    ranker = Weighted(alpha, 1.0 - alpha)
    ids, _, dense, sparse = _expected(store, QUERY_VEC, _query(store, "hello"), ranker, 6)
    res = li.query(
        VectorStoreQuery(
            query_embedding=list(QUERY_VEC),
            query_str="hello",
            similarity_top_k=6,
            mode=VectorStoreQueryMode.HYBRID,
            alpha=alpha,
        )
    )
    assert res.ids == ids
    for node_id, sim in zip(res.ids or [], res.similarities or [], strict=True):
        want = hybrid_relevance(dense.get(node_id), sparse.get(node_id), ranker)
        assert sim == pytest.approx(want, rel=1e-6, abs=1e-9), node_id
    text = li.query(
        VectorStoreQuery(
            query_str="hello", similarity_top_k=6, mode=VectorStoreQueryMode.TEXT_SEARCH
        )
    )
    assert set(text.ids or []) == {"h", "g"}


# =====================================================================================
# Async
# =====================================================================================


def test_async_writes_and_hybrid_with_no_terms_rows(lite_uri: str) -> None:
    sync = _store(lite_uri, "as", _encoder(), sparse="client")

    async def run() -> None:
        store = AsyncMilvusStore(sync)
        try:
            await store.upsert(_records()[:3], mode="insert")
            await store.upsert(_records()[3:])
            got = await store.get(list(ROWS), include_vectors=True)
            assert {r.id: r.sparse for r in got if r.id in EMPTY} == {key: {} for key in EMPTY}
            query = _query(sync, "hello")
            for ranker in (RRF(), Weighted(0.6, 0.4)):
                ids, scores, _, _ = _expected(sync, QUERY_VEC, query, ranker, 6)
                for fusion in ("client", "server"):
                    hits = await store.hybrid_search(
                        QUERY_VEC, query, k=6, ranker=ranker, fusion=fusion
                    )
                    assert [h.id for h in hits] == ids, (ranker, fusion)
                    for h in hits:
                        assert h.distance == pytest.approx(scores[h.id], rel=1e-4, abs=1e-6)
            with pytest.raises(InvalidInputError):
                await store.hybrid_search(QUERY_VEC, {}, k=3)
        finally:
            await store.close()

    asyncio.run(run())
