"""Sparse and hybrid search on real Milvus Lite: BM25 (server function and client encoder),
RRF and weighted fusion, and client-side fusion against server-side ``hybrid_search``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from milvus_plugins.core import (
    RRF,
    BM25Encoder,
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    Hit,
    HybridOptions,
    InvalidInputError,
    MilvusStore,
    Record,
    Weighted,
    eq,
)
from milvus_plugins.core.ranking import hybrid_relevance, keyword_scale

QUERY_TEXT = "zebra"
Q = [1.0, 0.0, 0.0, 0.0]


def at_cosine(c: float, angle: float) -> list[float]:
    """A unit vector whose cosine with ``Q`` is ``c``."""
    s = math.sqrt(1 - c * c)
    return [c, s * math.cos(angle), s * math.sin(angle), 0.0]


# Dense order (cosine with Q): A1 > ... > A6 > B3 > B2 > B1.
# BM25 order for "zebra": B1 > B2 > B3; the A documents do not contain the word.
DESIGNED = [
    *[
        Record(id=f"A{i}", text=text, vector=at_cosine(1.0 - 0.05 * i, float(i)))
        for i, text in enumerate(
            [
                "apple banana cherry",
                "date elder fig",
                "grape honeydew kiwi",
                "lemon mango nectarine",
                "orange papaya quince",
                "raspberry strawberry",
            ],
            start=1,
        )
    ],
    Record(id="B1", text="zebra zebra zebra", vector=at_cosine(-0.40, 7.0)),
    Record(id="B2", text="zebra zebra giraffe lion", vector=at_cosine(-0.35, 8.0)),
    Record(id="B3", text="zebra giraffe lion tiger bear wolf", vector=at_cosine(-0.30, 9.0)),
]
A = [f"A{i}" for i in range(1, 7)]
DENSE_ORDER = [*A, "B3", "B2", "B1"]
BM25_ORDER = ["B1", "B2", "B3"]
ALL = len(DESIGNED)


def ids(hits: Sequence[Hit]) -> list[str]:
    return [h.id for h in hits]


@pytest.fixture(scope="module")
def designed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MilvusStore]:
    uri = str(tmp_path_factory.mktemp("designed") / "milvus.db")
    store = MilvusStore(
        CollectionSpec(name="designed", dim=4, sparse="bm25"), connection=ConnectionConfig(uri=uri)
    )
    store.upsert(DESIGNED)
    yield store
    store.close()


def test_legs_have_the_designed_orders(designed: MilvusStore) -> None:
    assert ids(designed.search(Q, k=ALL)) == DENSE_ORDER
    assert ids(designed.sparse_search(QUERY_TEXT, k=ALL)) == BM25_ORDER


@pytest.mark.parametrize("fusion", ["server", "client"])
def test_a_numpy_query_vector_is_taken_like_a_list(designed: MilvusStore, fusion: str) -> None:
    import numpy as np

    as_list = designed.hybrid_search(Q, QUERY_TEXT, k=ALL, fetch_k=ALL, fusion=fusion)
    as_array = designed.hybrid_search(np.array(Q), QUERY_TEXT, k=ALL, fetch_k=ALL, fusion=fusion)
    assert ids(as_array) == ids(as_list)
    mmr = designed.mmr_search(np.array(Q), k=3)
    assert ids(mmr) == ids(designed.mmr_search(Q, k=3))


@pytest.mark.parametrize("fusion", ["server", "client"])
def test_weighted_towards_dense_follows_the_dense_order(designed: MilvusStore, fusion: str) -> None:
    hits = designed.hybrid_search(
        Q, QUERY_TEXT, k=ALL, ranker=Weighted(0.9, 0.1), fetch_k=ALL, fusion=fusion
    )
    assert ids(hits) == DENSE_ORDER


@pytest.mark.parametrize("fusion", ["server", "client"])
def test_weighted_towards_bm25_follows_the_bm25_order(designed: MilvusStore, fusion: str) -> None:
    hits = designed.hybrid_search(
        Q, QUERY_TEXT, k=ALL, ranker=Weighted(0.1, 0.9), fetch_k=ALL, fusion=fusion
    )
    assert ids(hits) == [*BM25_ORDER, *A]


@pytest.mark.parametrize("fusion", ["server", "client"])
def test_rrf_interleaves_the_two_legs_rank_by_rank(designed: MilvusStore, fusion: str) -> None:
    # Six candidates per leg: the dense leg holds only A documents, the sparse leg only B.
    hits = designed.hybrid_search(Q, QUERY_TEXT, k=6, ranker=RRF(60), fetch_k=6, fusion=fusion)
    assert ids(hits) == ["A1", "B1", "A2", "B2", "A3", "B3"]  # equal scores: ascending id
    for i, rank in zip((0, 2, 4), (1, 2, 3), strict=True):
        assert hits[i].distance == pytest.approx(1 / (60 + rank), abs=1e-6)
        assert hits[i + 1].distance == pytest.approx(hits[i].distance, abs=1e-6)


@pytest.mark.parametrize("fusion", ["server", "client"])
def test_rrf_puts_documents_found_by_both_legs_first(designed: MilvusStore, fusion: str) -> None:
    hits = designed.hybrid_search(Q, QUERY_TEXT, k=ALL, ranker=RRF(60), fetch_k=ALL, fusion=fusion)
    assert ids(hits) == [*BM25_ORDER, *A]
    assert hits[0].distance == pytest.approx(1 / 69 + 1 / 61, abs=1e-6)


def test_hybrid_filter_applies_to_both_legs(tmp_path: Path) -> None:
    store = MilvusStore(
        CollectionSpec(name="filtered", dim=4, sparse="bm25"),
        connection=ConnectionConfig(uri=str(tmp_path / "m.db")),
    )
    rows = [
        Record(id=r.id, text=r.text, vector=r.vector, metadata={"keep": r.id in ("A5", "B2")})
        for r in DESIGNED
    ]
    store.upsert(rows)
    for fusion in ("server", "client"):
        hits = store.hybrid_search(Q, QUERY_TEXT, k=6, filter=eq("keep", True), fusion=fusion)
        assert ids(hits) == ["B2", "A5"]
    store.close()


# -- relevance scores --------------------------------------------------------------------


def _unit_interval_and_sorted(hits: Sequence[Hit]) -> None:
    scores = [h.score for h in hits]
    assert scores, "expected hits"
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores == sorted(scores, reverse=True)


def test_bm25_relevance_is_in_unit_interval_and_follows_the_scaled_score(
    designed: MilvusStore,
) -> None:
    # Since issue 13 the BM25 score is scaled per query (2 terms, 9 rows), not s / (1 + s).
    hits = designed.sparse_search("zebra giraffe", k=ALL)
    _unit_interval_and_sorted(hits)
    scale = keyword_scale(2, ALL)
    for h in hits:
        assert h.score == pytest.approx(abs(h.distance) / (abs(h.distance) + scale))


@pytest.mark.parametrize("ranker", [RRF(), RRF(1), Weighted(0.5, 0.5), Weighted(1.0, 1.0)])
def test_server_fused_relevance_is_in_unit_interval_and_sorted(
    designed: MilvusStore, ranker: RRF | Weighted
) -> None:
    hits = designed.hybrid_search(Q, "zebra lion", k=ALL, ranker=ranker, fusion="server")
    _unit_interval_and_sorted(hits)


@pytest.mark.parametrize("ranker", [RRF(), RRF(1), Weighted(0.5, 0.5), Weighted(0.9, 0.1)])
@pytest.mark.parametrize("fusion", ["auto", "client"])
def test_client_fused_relevance_is_the_weighted_mean_of_the_legs(
    designed: MilvusStore, ranker: RRF | Weighted, fusion: str
) -> None:
    # Since issue 13 a client-fused hit's relevance comes from both legs' relevances (the
    # order stays the ranker's, so it need not decrease); before, it was the fused score.
    hits = designed.hybrid_search(Q, "zebra lion", k=ALL, ranker=ranker, fusion=fusion)
    dense = {h.id: h.score for h in designed.search(Q, k=ALL)}
    sparse = {h.id: h.score for h in designed.sparse_search("zebra lion", k=ALL)}
    assert hits and all(0.0 <= h.score <= 1.0 for h in hits)
    for h in hits:
        expected = hybrid_relevance(dense.get(h.id), sparse.get(h.id), ranker)
        assert h.score == pytest.approx(expected, abs=1e-6)


# -- client fusion == server fusion on random data ---------------------------------------

VOCAB = [f"w{i}" for i in range(40)]
RANDOM_DOCS = 300
RANDOM_DIM = 16


def _random_corpus(seed: int) -> list[Record]:
    rng = random.Random(seed)
    # Every document has a length of its own: two documents tie on BM25 only with equal
    # lengths (and term counts), and tied rows come back in any order, so server and
    # client fusion (two searches each) could rank them apart or cut a tie at fetch_k.
    lengths = rng.sample(range(3, 3 + RANDOM_DOCS), RANDOM_DOCS)
    return [
        Record(
            id=f"d{i}",
            text=" ".join(rng.choices(VOCAB, k=lengths[i])),
            vector=[rng.gauss(0, 1) for _ in range(RANDOM_DIM)],
            metadata={"bucket": i % 4},
        )
        for i in range(RANDOM_DOCS)
    ]


@pytest.fixture(scope="module")
def random_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MilvusStore]:
    uri = str(tmp_path_factory.mktemp("random") / "milvus.db")
    store = MilvusStore(
        CollectionSpec(name="random", dim=RANDOM_DIM, sparse="bm25"),
        connection=ConnectionConfig(uri=uri),
    )
    store.upsert(_random_corpus(7))
    yield store
    store.close()


def assert_same_fusion(server: Sequence[Hit], client: Sequence[Hit], tol: float = 1e-6) -> None:
    """The same ids in the same order, with fused scores within ``tol``.

    The relevances differ by design (issue 13): a client-fused hit's comes from the legs'
    relevances, a server-fused hit carries only the fused score.
    """
    assert ids(server) == ids(client)
    for s, c in zip(server, client, strict=True):
        assert s.distance == pytest.approx(c.distance, abs=tol)


RANKERS = [RRF(60), RRF(5), Weighted(0.7, 0.3), Weighted(0.2, 0.8), Weighted(0.5, 0.5)]


@pytest.mark.parametrize("ranker", RANKERS, ids=[repr(r) for r in RANKERS])
def test_client_fusion_equals_server_fusion(
    random_store: MilvusStore, ranker: RRF | Weighted
) -> None:
    rng = random.Random(11)
    for _ in range(4):
        vector = [rng.gauss(0, 1) for _ in range(RANDOM_DIM)]
        text = " ".join(rng.sample(VOCAB, 3))
        for k, fetch_k in ((60, 30), (10, 25)):
            server = random_store.hybrid_search(
                vector, text, k=k, ranker=ranker, fetch_k=fetch_k, fusion="server"
            )
            client = random_store.hybrid_search(
                vector, text, k=k, ranker=ranker, fetch_k=fetch_k, fusion="client"
            )
            assert len(server) == min(k, len({h.id for h in server} | {h.id for h in client}))
            assert_same_fusion(server, client)


def test_client_fusion_equals_server_fusion_with_a_filter(random_store: MilvusStore) -> None:
    rng = random.Random(5)
    vector = [rng.gauss(0, 1) for _ in range(RANDOM_DIM)]
    kwargs: dict[str, Any] = {"k": 15, "fetch_k": 20, "filter": eq("bucket", 2)}
    server = random_store.hybrid_search(vector, "w1 w2 w3", fusion="server", **kwargs)
    client = random_store.hybrid_search(vector, "w1 w2 w3", fusion="client", **kwargs)
    assert all(h.record.metadata["bucket"] == 2 for h in [*server, *client])
    assert_same_fusion(server, client)


def test_auto_fusion_fuses_on_the_client_for_leg_relevances(random_store: MilvusStore) -> None:
    # Changed in issue 13 (auto meant server fusion where hybrid_search exists): relevance
    # needs the legs' scores, which hybrid_search does not return.
    assert random_store.capabilities.hybrid_search
    assert random_store.use_client_fusion()
    assert random_store.use_client_fusion("auto")
    assert random_store.use_client_fusion("client")
    assert not random_store.use_client_fusion("server")


def test_minmax_weighted_fuses_the_two_legs_on_the_client(random_store: MilvusStore) -> None:
    rng = random.Random(3)
    ranker = Weighted(0.3, 0.7, normalize="minmax")
    assert random_store.use_client_fusion("auto", ranker)
    for _ in range(3):
        vector = [rng.gauss(0, 1) for _ in range(RANDOM_DIM)]
        text = " ".join(rng.sample(VOCAB, 3))
        hits = random_store.hybrid_search(vector, text, k=10, ranker=ranker, fetch_k=25)
        dense = random_store.search(vector, k=25)
        sparse = random_store.sparse_search(text, k=25)

        def scaled(leg: Sequence[Hit]) -> dict[str, float]:
            scores = {h.id: abs(h.distance) for h in leg}
            low, high = min(scores.values()), max(scores.values())
            return {i: (v - low) / (high - low) for i, v in scores.items()}

        d, sp = scaled(dense), scaled(sparse)
        expected = {i: 0.3 * d.get(i, 0.0) + 0.7 * sp.get(i, 0.0) for i in {*d, *sp}}
        best = sorted(expected.items(), key=lambda pair: (-pair[1], pair[0]))[:10]
        assert ids(hits) == [i for i, _ in best]
        for hit, (_, score) in zip(hits, best, strict=True):
            assert hit.distance == pytest.approx(score, abs=1e-6)
            assert 0.0 <= hit.score <= 1.0


def test_minmax_weighted_cannot_be_forced_onto_the_server(random_store: MilvusStore) -> None:
    ranker = Weighted(0.5, 0.5, normalize="minmax")
    with pytest.raises(ConfigError, match="min-max"):
        random_store.hybrid_search([0.0] * RANDOM_DIM, "w1", ranker=ranker, fusion="server")
    with pytest.raises(ConfigError, match="min-max"):
        HybridOptions(ranker=ranker, fusion="server")


# -- retrieval modes and invalid hybrid calls ---------------------------------------------


def test_retrieve_runs_each_mode(designed: MilvusStore) -> None:
    assert ids(designed.retrieve(mode="dense", vector=Q, k=2)) == ["A1", "A2"]
    assert ids(designed.retrieve(mode="sparse", text=QUERY_TEXT, k=2)) == ["B1", "B2"]
    hybrid = designed.retrieve(
        mode="hybrid", vector=Q, text=QUERY_TEXT, k=ALL, ranker=Weighted(0.1, 0.9)
    )
    assert ids(hybrid)[:3] == BM25_ORDER
    with pytest.raises(InvalidInputError, match="non-empty query text"):
        designed.retrieve(mode="hybrid", vector=Q, k=2)
    with pytest.raises(ConfigError, match="RetrievalMode"):
        designed.retrieve(mode="keyword", text="x")


@pytest.mark.parametrize("fusion", ["server", "client"])
def test_weighted_needs_one_weight_per_leg(designed: MilvusStore, fusion: str) -> None:
    with pytest.raises(ConfigError, match="one weight per leg"):
        designed.hybrid_search(Q, QUERY_TEXT, ranker=Weighted(1.0), fusion=fusion)


def test_invalid_sparse_queries_are_rejected(designed: MilvusStore, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="empty"):
        designed.sparse_search("   ")
    with pytest.raises(InvalidInputError, match="query text, not a vector"):
        designed.sparse_search({1: 1.0})
    with pytest.raises(InvalidInputError):
        designed.hybrid_search(Q, QUERY_TEXT, k=0)
    with pytest.raises(InvalidInputError, match="fetch_k"):
        designed.hybrid_search(Q, QUERY_TEXT, fetch_k=-1)
    dense_only = MilvusStore(
        CollectionSpec(name="dense", dim=4), connection=ConnectionConfig(uri=str(tmp_path / "d.db"))
    )
    dense_only.upsert(DESIGNED)
    with pytest.raises(ConfigError, match="no sparse field"):
        dense_only.hybrid_search(Q, QUERY_TEXT, fusion="server")
    dense_only.close()


# -- client-side BM25 (sparse="client") --------------------------------------------------

CLIENT_CORPUS = [
    "the quick brown fox jumps over the lazy dog",
    "a quick brown dog outpaces a quick fox",
    "lorem ipsum dolor sit amet",
    "foxes are quick and clever animals",
    "dogs and cats living together",
    "the fox the fox the fox",
]


def _dot(a: dict[int, float], b: dict[int, float]) -> float:
    return sum(v * b.get(key, 0.0) for key, v in a.items())


def test_client_bm25_encoder_fit_save_load_and_search(tmp_path: Path) -> None:
    uri = str(tmp_path / "m.db")
    encoder = BM25Encoder().fit(CLIENT_CORPUS)
    encoder.save(tmp_path / "bm25.json")
    spec = CollectionSpec(name="client_bm25", dim=4, sparse="client")
    store = MilvusStore(spec, connection=ConnectionConfig(uri=uri), sparse_encoder=encoder)
    rng = random.Random(3)
    store.upsert(
        [
            Record(id=f"c{i}", text=t, vector=[rng.random() for _ in range(4)])
            for i, t in enumerate(CLIENT_CORPUS)
        ]
    )
    (stored,) = store.get(["c5"], include_vectors=True)
    assert stored.sparse is not None
    assert stored.sparse == pytest.approx(encoder.encode_documents([CLIENT_CORPUS[5]])[0])

    docs = encoder.encode_documents(CLIENT_CORPUS)
    (query,) = encoder.encode_queries(["quick fox"])
    expected = sorted(
        ((f"c{i}", _dot(query, d)) for i, d in enumerate(docs) if _dot(query, d) > 0),
        key=lambda pair: -pair[1],
    )
    hits = store.sparse_search("quick fox", k=6)
    assert ids(hits) == [i for i, _ in expected]
    for hit, (_, score) in zip(hits, expected, strict=True):
        assert hit.distance == pytest.approx(score, rel=1e-5)
        assert 0.0 <= hit.score <= 1.0
    store.close()

    loaded = BM25Encoder.load(tmp_path / "bm25.json")
    reopened = MilvusStore(spec, connection=ConnectionConfig(uri=uri), sparse_encoder=loaded)
    assert ids(reopened.sparse_search("quick fox", k=6)) == ids(hits)
    assert ids(reopened.sparse_search(query, k=6)) == ids(hits)
    vector = [0.5, 0.5, 0.5, 0.5]
    server = reopened.hybrid_search(vector, "quick fox", k=6, fetch_k=6, fusion="server")
    client = reopened.hybrid_search(vector, "quick fox", k=6, fetch_k=6, fusion="client")
    assert_same_fusion(server, client)
    reopened.close()


def test_client_bm25_store_rejects_a_text_query_without_an_encoder(tmp_path: Path) -> None:
    encoder = BM25Encoder().fit(CLIENT_CORPUS)
    spec = CollectionSpec(name="client_bm25", dim=4, sparse="client")
    store = MilvusStore(
        spec, connection=ConnectionConfig(uri=str(tmp_path / "m.db")), sparse_encoder=encoder
    )
    store.upsert([Record(id="x", text="quick fox", vector=[1.0, 0, 0, 0])])
    store.sparse_encoder = None
    with pytest.raises(ConfigError, match="sparse_encoder"):
        store.sparse_search("quick")
    store.close()
