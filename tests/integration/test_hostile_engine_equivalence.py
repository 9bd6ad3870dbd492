"""Same data, same calls: Milvus Lite 2.5.1 must answer as Milvus Lite 3.2.2 does.

Each test builds one collection per engine (Lite 3.2.2 in ``tmp_path``, Lite 2.5.1 over
TCP) from the same records, makes the same calls on both, and compares the results with
each other and with an oracle computed here (exact numpy top-k on FLAT, the reference
filter evaluator ``matches``, ``group_hits`` over the full ranking). Where an engine cannot
do something the package must raise a typed error naming the feature.
"""

from __future__ import annotations

import itertools
import math
import random
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milvus_plugins.core import (
    RRF,
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    Decay,
    DenseField,
    FilterError,
    FlatIndex,
    Grouping,
    Hit,
    InvalidInputError,
    MetadataField,
    MilvusPluginsError,
    MilvusStore,
    Record,
    UnsupportedByServerError,
    Weighted,
    group_hits,
    matches,
    phrase_match,
    text_match,
)

pytestmark = pytest.mark.lite25

DIM = 4
SETTINGS = settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def _store(uri: str, spec: CollectionSpec) -> MilvusStore:
    return MilvusStore(spec, connection=ConnectionConfig(uri=uri))


class Pair:
    """One collection per engine, same spec."""

    def __init__(self, tmp_path: Path, lite25_uri: str, **spec: Any) -> None:
        name = _name(str(spec.pop("prefix", "eq")))
        self.lite3 = _store(str(tmp_path / "l3.db"), CollectionSpec(name=name, **spec))
        self.lite25 = _store(lite25_uri, CollectionSpec(name=name, **spec))

    def both(self) -> tuple[MilvusStore, MilvusStore]:
        return self.lite3, self.lite25

    def upsert(self, records: Sequence[Record]) -> None:
        for s in self.both():
            s.upsert(records)
            s.flush()

    def close(self) -> None:
        for s in self.both():
            try:
                s.drop()
            finally:
                s.close()


@pytest.fixture
def lite25_uri(lite25_server: Any) -> str:
    return str(lite25_server.uri)


def ids(hits: Sequence[Hit]) -> list[str]:
    return [h.id for h in hits]


# ---------------------------------------------------------------- data

WORDS = ["alpha", "beta", "gamma", "delta", "omega", "sigma"]


def _unit(rng: random.Random) -> list[float]:
    v = [rng.gauss(0, 1) for _ in range(DIM)]
    n = math.sqrt(sum(x * x for x in v))
    return [x / n for x in v]


def _records(seed: int = 5, docs: int = 8, chunks: int = 3) -> list[Record]:
    rng = random.Random(seed)
    out = []
    for d in range(docs):
        centre = _unit(rng)
        for c in range(chunks):
            noise = _unit(rng)
            v = [a + 0.4 * b for a, b in zip(centre, noise, strict=True)]
            words = " ".join(rng.choice(WORDS) for _ in range(3 + c))
            out.append(
                Record(
                    id=f"d{d}c{c}",
                    # a distinct length per row: no BM25 ties
                    text=f"doc{d} {words}" + " pad" * (chunks * d + c),
                    vector=v,
                    doc_id=f"doc{d}",
                    metadata={"source": f"s{d % 3}", "topic": f"t{d % 4}", "ts": d * 100 + c},
                )
            )
    return out


RECORDS = _records()


def _exact_cosine(query: Sequence[float], records: Sequence[Record]) -> list[Hit]:
    m = np.array([r.vector for r in records], dtype=np.float64)
    q = np.array(query, dtype=np.float64)
    sims = (m @ q) / (np.linalg.norm(m, axis=1) * np.linalg.norm(q))
    order = sorted(range(len(records)), key=lambda i: (-sims[i], records[i].id))
    return [Hit(record=records[i], score=float(sims[i]), distance=float(sims[i])) for i in order]


def _group_oracle(ranked: Sequence[Hit], k: int, size: int, by: str | None) -> list[str]:
    def key(r: Record) -> object:
        return r.doc_id if by is None else r.metadata.get(by)

    return [h.id for g in group_hits(list(ranked), key, k, size) for h in g]


# ---------------------------------------------------------------- grouping


@pytest.fixture
def dense_pair(tmp_path: Path, lite25_uri: str) -> Iterator[Pair]:
    pair = Pair(
        tmp_path,
        lite25_uri,
        prefix="grp",
        dim=DIM,
        index=FlatIndex(),
        sparse="bm25",
        metadata_fields=[
            MetadataField(name="source", type="VARCHAR", max_length=8),
            MetadataField(name="ts", type="INT64"),
        ],
    )
    pair.upsert(RECORDS)
    yield pair
    pair.close()


@SETTINGS
@given(
    seed=st.integers(0, 10_000),
    k=st.integers(1, 6),
    size=st.integers(1, 3),
    strict=st.booleans(),
    by=st.sampled_from([None, "source", "topic"]),
)
def test_dense_grouping_equals_the_exact_oracle_on_both_engines(
    dense_pair: Pair, seed: int, k: int, size: int, strict: bool, by: str | None
) -> None:
    query = _unit(random.Random(seed))
    want = _group_oracle(_exact_cosine(query, RECORDS), k, size, by)
    g = Grouping(by=by, size=size, strict=strict)
    got3 = ids(dense_pair.lite3.search(query, k=k, grouping=g))
    got25 = ids(dense_pair.lite25.search(query, k=k, grouping=g))
    if strict:
        assert got3 == want
    else:  # a non-strict group may hold fewer rows, never other rows or other order
        assert [i for i in want if i in got3] == got3
    assert got25 == got3


@pytest.mark.parametrize("by", [None, "source"])
@pytest.mark.parametrize("size,strict", [(1, False), (2, True), (3, False)])
def test_sparse_grouping_is_the_same_on_both_engines(
    dense_pair: Pair, by: str | None, size: int, strict: bool
) -> None:
    g = Grouping(by=by, size=size, strict=strict)
    q = "alpha gamma omega"
    # The engines' BM25 formulas differ (Lite 3.2.2: ~-2.72, Lite 2.5.1: ~2.61 for the
    # same row), so near-equal rows may swap: each engine is checked against the grouping
    # of its own full ranking, and both must find the same rows.
    full3 = dense_pair.lite3.sparse_search(q, k=len(RECORDS))
    full25 = dense_pair.lite25.sparse_search(q, k=len(RECORDS))
    assert sorted(ids(full3)) == sorted(ids(full25))
    assert [h.score for h in full3] == pytest.approx([h.score for h in full25], abs=0.03)
    for s, full in ((dense_pair.lite3, full3), (dense_pair.lite25, full25)):
        got = ids(s.sparse_search(q, k=3, grouping=g))
        want = _group_oracle(full, 3, size, by)
        if strict:
            assert got == want
        else:
            assert [i for i in want if i in got] == got


@pytest.mark.parametrize(
    "ranker", [RRF(), Weighted(0.6, 0.4), Weighted(0.5, 0.5, normalize="minmax")]
)
@pytest.mark.parametrize("by,size", [(None, 1), ("source", 2)])
def test_hybrid_grouping_is_the_same_on_both_engines(
    dense_pair: Pair, ranker: Any, by: str | None, size: int
) -> None:
    query = _unit(random.Random(11))
    text = "beta delta"
    n = len(RECORDS)
    results = []
    for s in dense_pair.both():
        fused = s.hybrid_search(query, text, k=n, fetch_k=n, ranker=ranker)
        grouped = s.hybrid_search(
            query,
            text,
            k=3,
            fetch_k=n,
            ranker=ranker,
            grouping=Grouping(by=by, size=size, strict=True),
        )
        assert ids(grouped) == _group_oracle(fused, 3, size, by)
        results.append((ids(fused), ids(grouped), [h.score for h in grouped]))
    # Same rows fused; the BM25 leg's scores differ per engine (see above), so the fused
    # order may differ only within what those scores decide.
    assert sorted(results[0][0]) == sorted(results[1][0])
    assert len(results[0][1]) == len(results[1][1])


# ---------------------------------------------------------------- range search

# Exact in float32: cosines / inner products / squared L2 distances of these rows with
# the query [1, 0, 0, 0] are dyadic numbers.
BOUNDARY_ROWS = {
    "same": [1.0, 0.0, 0.0, 0.0],  # cos 1, ip 1, l2 0
    "half": [0.5, 0.5, 0.5, 0.5],  # cos 0.5, ip 0.5, l2 1
    "quarter": [0.25, 0.75, 0.5, math.sqrt(1 - 0.25**2 - 0.75**2 - 0.25)],  # ip 0.25
    "ortho": [0.0, 1.0, 0.0, 0.0],  # cos 0, ip 0, l2 2
    "neg": [-0.5, 0.5, 0.5, 0.5],  # cos -0.5, ip -0.5, l2 3
    "opposite": [-1.0, 0.0, 0.0, 0.0],  # cos -1, l2 4
}
QUERY0 = [1.0, 0.0, 0.0, 0.0]


def _relevance(metric: str, v: Sequence[float]) -> float:
    q = np.array(QUERY0)
    a = np.array(v)
    if metric == "L2":
        return float(1.0 / (1.0 + np.sum((a - q) ** 2)))
    sim = float(a @ q) if metric == "IP" else float(a @ q / np.linalg.norm(a))
    return max(0.0, sim)


@pytest.fixture(params=["COSINE", "IP", "L2"])
def range_pair(request: pytest.FixtureRequest, tmp_path: Path, lite25_uri: str) -> Iterator[Pair]:
    pair = Pair(
        tmp_path, lite25_uri, prefix="rng", dim=DIM, metric=request.param, index=FlatIndex()
    )
    pair.upsert([Record(id=k, text=k, vector=v) for k, v in BOUNDARY_ROWS.items()])
    yield pair
    pair.close()


@pytest.mark.parametrize("threshold", [0.0, 0.25, 0.5, 1.0])
def test_boundary_thresholds_keep_exactly_the_rows_at_least_that_relevant(
    range_pair: Pair, threshold: float
) -> None:
    metric = range_pair.lite3.spec.metric_type.value
    want = sorted(k for k, v in BOUNDARY_ROWS.items() if _relevance(metric, v) >= threshold)
    got3 = sorted(ids(range_pair.lite3.search(QUERY0, k=10, score_threshold=threshold)))
    got25 = sorted(ids(range_pair.lite25.search(QUERY0, k=10, score_threshold=threshold)))
    assert (got3, got25) == (want, want), metric


def test_a_threshold_equal_to_a_hits_own_score_keeps_it(range_pair: Pair) -> None:
    for s in range_pair.both():
        for h in s.search(QUERY0, k=10):
            kept = ids(s.search(QUERY0, k=10, score_threshold=h.score))
            assert h.id in kept, (s.spec.metric_type, h.id, h.score)


@pytest.mark.parametrize("threshold", [-0.1, -1.0, 1.0000001, float("nan")])
def test_out_of_range_thresholds_are_refused_alike(range_pair: Pair, threshold: float) -> None:
    for s in range_pair.both():
        with pytest.raises((ConfigError, InvalidInputError)):
            s.search(QUERY0, k=5, score_threshold=threshold)


@SETTINGS
@given(threshold=st.floats(0.0, 1.0), seed=st.integers(0, 1000))
def test_random_thresholds_agree_with_numpy_on_both_engines(
    tmp_path: Path, lite25_uri: str, threshold: float, seed: int
) -> None:
    rng = random.Random(seed)
    rows = {f"r{i}": _unit(rng) for i in range(12)}
    pair = Pair(tmp_path, lite25_uri, prefix="rnd", dim=DIM, metric="COSINE", index=FlatIndex())
    try:
        pair.upsert([Record(id=k, text=k, vector=v) for k, v in rows.items()])
        exact = {k: max(0.0, float(np.dot(v, QUERY0))) for k, v in rows.items()}
        # skip thresholds within float32 rounding of a row's relevance
        if any(abs(r - threshold) < 1e-5 for r in exact.values()):
            return
        want = sorted(k for k, r in exact.items() if r >= threshold)
        for s in pair.both():
            assert sorted(ids(s.search(QUERY0, k=20, score_threshold=threshold))) == want
    finally:
        pair.close()


# ---------------------------------------------------------------- text / phrase match

TM_TEXTS = {
    "err": "Error code E1234 in module Billing",
    "fox": "the quick brown fox",
    "quote": 'a "quoted" word and back\\slash',
    "uni": "café naïve 東京 straße",
    "hostile": "') or true or ('",
    "long": "word " * 400,
}
HOSTILE_TERMS = [
    "",
    " ",
    '"',
    "\\",
    '\\"',
    "') or true or ('",
    'x") or TEXT_MATCH(text, "fox',
    "café",
    "東京",
    "straße",
    "\u0000",
    "word " * 5000,
    "e1234",
]


def _tm_records() -> list[Record]:
    return [
        Record(id=k, text=t, vector=[1.0, float(i), 0.0, 0.0], metadata={"n": i})
        for i, (k, t) in enumerate(TM_TEXTS.items())
    ]


def test_text_match_on_lite3_follows_the_evaluator_and_lite25_refuses_typed(
    tmp_path: Path, lite25_uri: str
) -> None:
    name = _name("tm")
    spec = CollectionSpec(name=name, dim=DIM, text_match=True)
    lite3 = _store(str(tmp_path / "l3.db"), spec)
    try:
        lite3.upsert(_tm_records())
        for term in HOSTILE_TERMS:
            try:
                node = text_match(term)
            except FilterError:
                assert not term.strip() or "\x00" in term, repr(term)
                continue
            want = {r.id for r in _tm_records() if matches(node, r.metadata, text=r.text)}
            got = {r.id for r in lite3.query(node)}
            assert got == want, repr(term[:40])
        with pytest.raises(UnsupportedByServerError, match=r"(?i)phrase"):
            lite3.query(phrase_match("quick brown"))
    finally:
        lite3.drop()
        lite3.close()
    lite25 = _store(lite25_uri, spec)
    try:
        with pytest.raises(UnsupportedByServerError, match=r"(?i)text.?match"):
            lite25.upsert(_tm_records())
    finally:
        lite25.close()


def test_text_match_filter_on_lite25_plain_store_is_typed(dense_pair: Pair) -> None:
    for term in ["fox", '"', "", "東京"]:
        for s in dense_pair.both():
            with pytest.raises(MilvusPluginsError):
                s.query(text_match(term))
            with pytest.raises(MilvusPluginsError):
                s.search(QUERY0, k=3, filter=phrase_match(term))


# ---------------------------------------------------------------- decay

DECAYS: list[dict[str, Any]] = [
    {"function": "gauss", "origin": 700, "scale": 200},
    {"function": "exp", "origin": 0, "scale": 150, "offset": 50, "decay": 0.3},
    {"function": "linear", "origin": 400, "scale": 500, "decay": 0.2},
]


@pytest.mark.parametrize("params", DECAYS)
def test_decay_ranks_alike_on_both_engines(dense_pair: Pair, params: dict[str, Any]) -> None:
    query = [1.0, 0.2, 0.0, 0.0]
    for k in (2, 5):
        d = Decay(field="ts", **params)
        window = _exact_cosine(query, RECORDS)[: 10 * k]
        want = sorted(window, key=lambda h: -max(0.0, h.score) * d.factor(h.record.metadata["ts"]))[
            :k
        ]
        got3 = dense_pair.lite3.search(query, k=k, decay=d)
        got25 = dense_pair.lite25.search(query, k=k, decay=d)
        assert ids(got3) == ids(got25) == ids(want)
        assert [h.score for h in got3] == pytest.approx([h.score for h in got25], rel=1e-4)


def test_server_decay_on_lite25_is_refused_typed(dense_pair: Pair) -> None:
    d = Decay(field="ts", origin=0, scale=100, place="server")
    if dense_pair.lite25.capabilities.decay_ranker:
        pytest.skip("this Lite 2.5.1 has a decay ranker")
    with pytest.raises(UnsupportedByServerError, match="decay"):
        dense_pair.lite25.search(QUERY0, k=3, decay=d)


# ---------------------------------------------------------------- hybrid with ties


@pytest.fixture
def tie_pair(tmp_path: Path, lite25_uri: str) -> Iterator[Pair]:
    pair = Pair(tmp_path, lite25_uri, prefix="tie", dim=DIM, index=FlatIndex(), sparse="bm25")
    rows = []
    # pairs of rows identical in vector and text: they tie on both legs
    for i, (v, t) in enumerate(
        [
            ([1.0, 0.0, 0.0, 0.0], "red apple"),
            ([0.0, 1.0, 0.0, 0.0], "green apple pie"),
            ([0.5, 0.5, 0.5, 0.5], "red pie"),
            ([0.0, 0.0, 1.0, 0.0], "blue sky"),
        ]
    ):
        rows += [Record(id=f"z{i}", text=t, vector=v), Record(id=f"a{i}", text=t, vector=v)]
    pair.upsert(rows)
    yield pair
    pair.close()


def _pairs(hit_ids: Sequence[str]) -> list[str]:
    """Ids without their a/z prefix: the identical twin rows collapse to one name."""
    return [i[1:] for i in hit_ids]


@pytest.mark.parametrize("ranker", [Weighted(0.5, 0.5), Weighted(0.5, 0.5, normalize="minmax")])
def test_tied_weighted_hybrid_is_ordered_by_id_on_both_engines(
    tie_pair: Pair, ranker: Weighted
) -> None:
    q = [1.0, 0.0, 0.0, 0.0]
    out = []
    for s in tie_pair.both():
        hits = s.hybrid_search(q, "red apple", k=8, fetch_k=8, ranker=ranker)
        out.append((ids(hits), [h.score for h in hits]))
        for a, b in itertools.pairwise(hits):
            if a.distance == b.distance:
                assert a.id < b.id, (ids(hits), [h.distance for h in hits])
    assert out[0][0] == out[1][0]
    # BM25 scores differ a little between the engines (their own formulas)
    assert out[0][1] == pytest.approx(out[1][1], abs=0.01)


@pytest.mark.parametrize("k", [1, 60])
def test_tied_rrf_hybrid_differs_only_within_twin_rows(tie_pair: Pair, k: int) -> None:
    # Twin rows tie on both legs; each engine orders a leg's ties its own way (Lite 3.2.2
    # z0 before a0, Lite 2.5.1 a0 before z0), and RRF is rank-based: the twins get
    # different sums, in engine order. Everything else must agree.
    q = [1.0, 0.0, 0.0, 0.0]
    out = []
    for s in tie_pair.both():
        hits = s.hybrid_search(q, "red apple", k=8, fetch_k=8, ranker=RRF(k=k))
        out.append(hits)
        for a, b in itertools.pairwise(hits):
            if a.distance == b.distance:
                assert a.id < b.id
        twins: dict[str, float] = {}
        for h in hits:  # twins share one relevance
            assert twins.setdefault(h.id[1:], h.score) == pytest.approx(h.score)
    assert _pairs(ids(out[0])) == _pairs(ids(out[1]))
    assert [h.score for h in out[0]] == pytest.approx([h.score for h in out[1]], abs=0.01)


def test_tied_rrf_documents_only_equals_relevance_order(tie_pair: Pair) -> None:
    q = [0.0, 1.0, 0.0, 0.0]
    got = []
    for s in tie_pair.both():
        full = ids(s.hybrid_search(q, "apple pie", k=6, fetch_k=8, ranker=RRF()))
        docs = ids(s.hybrid_search(q, "apple pie", k=6, fetch_k=8, ranker=RRF(), relevance=False))
        assert docs == full
        got.append(full)
    assert sorted(got[0]) == sorted(got[1])


# ---------------------------------------------------------------- tenants on hybrid legs


def test_tenants_on_hybrid_legs_confine_on_lite3_and_are_typed_on_lite25(
    tmp_path: Path, lite25_uri: str
) -> None:
    spec_kw: dict[str, Any] = {
        "dim": DIM,
        "index": FlatIndex(),
        "sparse": "bm25",
        "metadata_fields": {"tenant": "VARCHAR"},
        "partition_key": "tenant",
    }
    name = _name("ten")
    rows_a = [
        Record(id=f"a{i}", text=f"shared word {i}", vector=_unit(random.Random(i)))
        for i in range(4)
    ]
    rows_b = [
        Record(id=f"b{i}", text=f"shared word {i}", vector=_unit(random.Random(i)))
        for i in range(4)
    ]
    lite3 = _store(str(tmp_path / "l3.db"), CollectionSpec(name=name, **spec_kw))
    try:
        lite3.upsert(rows_a, tenant="A")
        lite3.upsert(rows_b, tenant="B")
        for ranker in (RRF(), Weighted(0.5, 0.5)):
            for rel in (True, False):
                hits = lite3.hybrid_search(
                    QUERY0, "shared word", k=8, ranker=ranker, tenant="A", relevance=rel
                )
                assert sorted(ids(hits)) == [f"a{i}" for i in range(4)]
    finally:
        lite3.drop()
        lite3.close()
    lite25 = _store(lite25_uri, CollectionSpec(name=name, **spec_kw))
    try:
        with pytest.raises(UnsupportedByServerError, match=r"(?i)partition"):
            lite25.upsert(rows_a, tenant="A")
            lite25.hybrid_search(QUERY0, "shared word", k=8, tenant="A")
    finally:
        lite25.close()


# ---------------------------------------------------------------- dense top-k oracle


@SETTINGS
@given(seed=st.integers(0, 10_000), k=st.integers(1, 24))
def test_dense_top_k_equals_numpy_on_both_engines(dense_pair: Pair, seed: int, k: int) -> None:
    query = _unit(random.Random(seed))
    want = _exact_cosine(query, RECORDS)[:k]
    for s in dense_pair.both():
        got = s.search(query, k=k)
        assert ids(got) == ids(want)
        assert [h.score for h in got] == pytest.approx([max(0.0, h.score) for h in want], abs=1e-5)


# ---------------------------------------------------------------- combinations


def test_threshold_with_grouping_and_filter_alike(dense_pair: Pair) -> None:
    query = _unit(random.Random(3))
    ranked = _exact_cosine(query, RECORDS)
    for t in (0.0, 0.3, 0.6):
        kept = [h for h in ranked if max(0.0, h.score) >= t]
        want = _group_oracle(kept, 4, 2, "source")
        g = Grouping(by="source", size=2, strict=True)
        for s in dense_pair.both():
            got = ids(s.search(query, k=4, grouping=g, score_threshold=t))
            assert got == want, t


@pytest.mark.parametrize("mode", ["sparse", "hybrid"])
def test_client_thresholds_keep_a_hit_at_its_own_score(dense_pair: Pair, mode: str) -> None:
    query = _unit(random.Random(8))
    for s in dense_pair.both():
        if mode == "sparse":
            hits = s.sparse_search("alpha beta", k=6)
        else:
            hits = s.hybrid_search(query, "alpha beta", k=6)
        for h in hits:
            if mode == "sparse":
                kept = s.sparse_search("alpha beta", k=6, score_threshold=h.score)
            else:
                kept = s.hybrid_search(query, "alpha beta", k=6, score_threshold=h.score)
            assert h.id in ids(kept)
            assert all(x.score >= h.score for x in kept)


def test_grouping_by_a_key_some_rows_lack_alike(tmp_path: Path, lite25_uri: str) -> None:
    rows = [
        Record(
            id=r.id,
            text=r.text,
            vector=r.vector,
            doc_id=r.doc_id,
            metadata={} if i % 3 == 0 else {"topic": r.metadata["topic"]},
        )
        for i, r in enumerate(RECORDS)
    ]
    pair = Pair(tmp_path, lite25_uri, prefix="miss", dim=DIM, index=FlatIndex())
    try:
        pair.upsert(rows)
        query = _unit(random.Random(21))
        got = [ids(s.search(query, k=4, grouping=Grouping(by="topic"))) for s in pair.both()]
        assert got[0] == got[1]
        assert got[0] == _group_oracle(_exact_cosine(query, rows), 4, 1, "topic")
    finally:
        pair.close()


@SETTINGS
@given(
    metric=st.sampled_from(["COSINE", "IP", "L2"]),
    seed=st.integers(0, 10_000),
    scale=st.sampled_from([1.0, 3.0, 0.1]),
)
def test_a_random_hits_own_score_as_threshold_on_both_engines(
    tmp_path: Path, lite25_uri: str, metric: str, seed: int, scale: float
) -> None:
    rng = random.Random(seed)
    query = _unit(rng)
    rows = [_unit(rng) for _ in range(10)]
    rows.append([scale * x for x in query])  # the query itself, scaled: cosine 1
    if metric == "IP":
        rows = [[x / math.sqrt(sum(y * y for y in v)) for x in v] for v in rows]
    pair = Pair(tmp_path, lite25_uri, prefix="own", dim=DIM, metric=metric, index=FlatIndex())
    try:
        pair.upsert([Record(id=f"r{i:02d}", text="x", vector=v) for i, v in enumerate(rows)])
        per_engine = []
        for s in pair.both():
            ranked = s.search(query, k=20)
            for h in ranked:
                kept = ids(s.search(query, k=20, score_threshold=h.score))
                assert kept == [x.id for x in ranked if x.score >= h.score], (metric, h)
            per_engine.append(ranked)
        a, b = per_engine
        assert ids(a) == ids(b) or sorted(ids(a)) == sorted(ids(b))
        assert [h.score for h in a] == pytest.approx([h.score for h in b], abs=1e-5)
    finally:
        pair.close()


@pytest.mark.parametrize("mode", ["dense", "sparse", "hybrid"])
def test_decay_with_threshold_alike_and_with_grouping_refused_alike(
    dense_pair: Pair, mode: str
) -> None:
    query = _unit(random.Random(4))
    d = Decay(field="ts", origin=0, scale=400)

    def run(s: MilvusStore, **kw: Any) -> list[Hit]:
        if mode == "dense":
            return s.search(query, k=4, decay=d, **kw)
        if mode == "sparse":
            return s.sparse_search("alpha beta", k=4, decay=d, **kw)
        return s.hybrid_search(query, "alpha beta", k=4, decay=d, **kw)

    out = []
    for s in dense_pair.both():
        with pytest.raises(InvalidInputError, match="group_by"):
            run(s, grouping=Grouping())
        plain = run(s)
        kept = run(s, score_threshold=0.05)
        # the threshold cuts the decayed relevance of the reranked top k
        assert ids(kept) == [h.id for h in plain if h.score >= 0.05]
        out.append((plain, kept))
    if mode == "dense":  # no BM25 leg: the engines must agree exactly
        for a, b in zip(out[0], out[1], strict=True):
            assert ids(a) == ids(b)
            assert [h.score for h in a] == pytest.approx([h.score for h in b], rel=1e-4)


# DEFECT (fixed): Lite 2.5.1 named "grouping search with group_size" (>= 2.5.0) for
# group_size 1; expected the feature asked for (hybrid / metadata key), no false version.
@pytest.mark.parametrize("mode", ["hybrid", "metadata_key"])
def test_forced_server_grouping_refusal_names_the_feature_asked_for(
    dense_pair: Pair, mode: str
) -> None:
    query = _unit(random.Random(2))
    features = []
    for s in dense_pair.both():
        with pytest.raises(UnsupportedByServerError) as info:
            if mode == "hybrid":
                s.hybrid_search(query, "alpha beta", k=3, grouping=Grouping(place="server"))
            else:
                s.search(query, k=3, grouping=Grouping(by="topic", place="server"))
        features.append(info.value.feature)
    assert all("group_size" not in f for f in features), features


# ---------------------------------------------------------------- sparse-only, multi-vector


def test_sparse_only_store_groups_and_thresholds_alike(tmp_path: Path, lite25_uri: str) -> None:
    pair = Pair(tmp_path, lite25_uri, prefix="sp", dense=False, sparse="bm25")
    try:
        rows = [
            Record(id=r.id, text=r.text, doc_id=r.doc_id, metadata=dict(r.metadata))
            for r in RECORDS
        ]
        pair.upsert(rows)
        got = []
        for s in pair.both():
            full = s.sparse_search("gamma delta", k=len(rows))
            grouped = s.sparse_search("gamma delta", k=3, grouping=Grouping(size=2, strict=True))
            assert ids(grouped) == _group_oracle(full, 3, 2, None)
            t = full[2].score
            assert ids(s.sparse_search("gamma delta", k=30, score_threshold=t)) == ids(full[:3])
            with pytest.raises(ConfigError):
                s.search(QUERY0, k=2)
            got.append(sorted(ids(full)))
        assert got[0] == got[1]
    finally:
        pair.close()


@SETTINGS
@given(seed=st.integers(0, 10_000), ranker=st.sampled_from([RRF(), Weighted(0.3, 0.7)]))
def test_two_dense_legs_fuse_alike_on_both_engines(
    tmp_path: Path, lite25_uri: str, seed: int, ranker: Any
) -> None:
    rng = random.Random(seed)
    rows = [
        Record(id=f"m{i}", text=f"m {i}", vector=_unit(rng), vectors={"title": _unit(rng)})
        for i in range(10)
    ]
    pair = Pair(
        tmp_path,
        lite25_uri,
        prefix="mv",
        dim=DIM,
        index=FlatIndex(),
        vector_fields=[DenseField(name="title", dim=DIM, metric="L2", index=FlatIndex())],
    )
    try:
        pair.upsert(rows)
        legs = {"vector": _unit(rng), "title": _unit(rng)}
        out = []
        for s in pair.both():
            title = s.search(legs["title"], k=10, field="title")
            m = np.array([r.vectors["title"] for r in rows])
            d2 = np.sum((m - np.array(legs["title"])) ** 2, axis=1)
            assert ids(title) == [rows[i].id for i in np.argsort(d2, kind="stable")]
            hits = s.hybrid_search(legs, k=5, ranker=ranker)
            out.append((ids(hits), [h.score for h in hits]))
        assert out[0][0] == out[1][0]
        assert out[0][1] == pytest.approx(out[1][1], abs=1e-5)
    finally:
        pair.close()


HOSTILE_GROUPS = ["", '"', "\\", "東京", "a'b", "x" * 8, " "]


def test_grouping_on_a_declared_column_with_hostile_values_alike(
    tmp_path: Path, lite25_uri: str
) -> None:
    rows = [
        Record(
            id=r.id,
            text=r.text,
            vector=r.vector,
            doc_id=r.doc_id,
            metadata={"source": HOSTILE_GROUPS[i % len(HOSTILE_GROUPS)]},
        )
        for i, r in enumerate(RECORDS)
    ]
    pair = Pair(
        tmp_path,
        lite25_uri,
        prefix="hg",
        dim=DIM,
        index=FlatIndex(),
        metadata_fields=[MetadataField(name="source", type="VARCHAR", max_length=32)],
    )
    try:
        pair.upsert(rows)
        for seed in range(3):
            query = _unit(random.Random(seed))
            ranked = _exact_cosine(query, rows)
            for size in (1, 2):
                want = _group_oracle(ranked, 5, size, "source")
                g = Grouping(by="source", size=size, strict=True)
                got = [ids(s.search(query, k=5, grouping=g)) for s in pair.both()]
                assert got == [want, want], (seed, size)
            top = [ids(s.search(query, k=3, score_threshold=0.0)) for s in pair.both()]
            assert top == [ids(ranked[:3])] * 2
    finally:
        pair.close()


def test_grouping_on_a_declared_column_some_rows_lack_alike(
    tmp_path: Path, lite25_uri: str
) -> None:
    rows = [
        Record(
            id=r.id,
            text=r.text,
            vector=r.vector,
            doc_id=r.doc_id,
            metadata={} if i % 4 == 0 else {"source": r.metadata["source"]},
        )
        for i, r in enumerate(RECORDS)
    ]
    pair = Pair(
        tmp_path,
        lite25_uri,
        prefix="hn",
        dim=DIM,
        index=FlatIndex(),
        metadata_fields=[MetadataField(name="source", type="VARCHAR", max_length=32)],
    )
    try:
        outcomes: list[object] = []
        for s in pair.both():
            try:
                s.upsert(rows)
                s.flush()
            except MilvusPluginsError as exc:  # no nullable fields: refused, typed
                outcomes.append(type(exc))
                continue
            query = _unit(random.Random(1))
            want = _group_oracle(_exact_cosine(query, rows), 5, 1, "source")
            got = ids(s.search(query, k=5, grouping=Grouping(by="source")))
            outcomes.append(got == want or got)
        assert outcomes[0] is True
        assert outcomes[1] in (True, InvalidInputError), outcomes
    finally:
        pair.close()


@pytest.mark.parametrize("threshold", [0.0, 0.25])
def test_range_search_with_fewer_slots_than_qualifying_rows_alike(
    range_pair: Pair, threshold: float
) -> None:
    metric = range_pair.lite3.spec.metric_type.value
    rel = {k: _relevance(metric, v) for k, v in BOUNDARY_ROWS.items()}
    ranked = sorted((k for k in rel if rel[k] >= threshold), key=lambda k: -rel[k])
    for k in (1, 2, 3):
        want = ranked[:k]
        got = [ids(s.search(QUERY0, k=k, score_threshold=threshold)) for s in range_pair.both()]
        # rows of equal relevance (e.g. clipped to 0) may come in any order: compare those
        # as sets, the rest in order
        for g in got:
            assert [rel[i] for i in g] == [rel[i] for i in want], (metric, k, g, want)
        if len(set(rel[i] for i in want)) == len(want):
            assert got == [want, want]


@SETTINGS
@given(
    seed=st.integers(0, 10_000),
    text=st.sampled_from(["alpha", "beta gamma", "omega sigma delta", "doc3 pad"]),
    ranker=st.sampled_from([RRF(), RRF(k=1), Weighted(0.7, 0.3)]),
    k=st.integers(1, 8),
)
def test_documents_only_hybrid_equals_the_relevance_order_on_both_engines(
    dense_pair: Pair, seed: int, text: str, ranker: Any, k: int
) -> None:
    query = _unit(random.Random(seed))
    for s in dense_pair.both():
        full = ids(s.hybrid_search(query, text, k=k, fetch_k=24, ranker=ranker))
        docs = ids(s.hybrid_search(query, text, k=k, fetch_k=24, ranker=ranker, relevance=False))
        assert docs == full, ranker


@pytest.mark.parametrize("by", ["id", "ts"])
def test_grouping_by_a_unique_column_is_plain_top_k_alike(dense_pair: Pair, by: str) -> None:
    query = _unit(random.Random(9))
    want = ids(_exact_cosine(query, RECORDS)[:5])
    for s in dense_pair.both():
        for size in (1, 2):
            got = ids(s.search(query, k=5, grouping=Grouping(by=by, size=size, strict=True)))
            assert got == want, (by, size)


HOSTILE_TENANTS = ['x" or tenant != "', "東京", "a\\", "' or 1==1 or '"]


def test_hostile_tenants_confine_every_hybrid_leg_on_lite3(tmp_path: Path) -> None:
    spec = CollectionSpec(
        name=_name("ht"),
        dim=DIM,
        index=FlatIndex(),
        sparse="bm25",
        metadata_fields={"tenant": "VARCHAR"},
        partition_key="tenant",
    )
    store = _store(str(tmp_path / "l3.db"), spec)
    try:
        for n, t in enumerate(HOSTILE_TENANTS):
            store.upsert(
                [
                    Record(id=f"t{n}_{i}", text=f"shared word {i}", vector=_unit(random.Random(i)))
                    for i in range(3)
                ],
                tenant=t,
            )
        for n, t in enumerate(HOSTILE_TENANTS):
            for ranker in (RRF(), Weighted(0.5, 0.5)):
                for rel in (True, False):
                    hits = store.hybrid_search(
                        QUERY0, "shared word", k=20, ranker=ranker, tenant=t, relevance=rel
                    )
                    assert sorted(ids(hits)) == [f"t{n}_{i}" for i in range(3)], (t, rel)
            grouped = store.sparse_search("shared", k=20, tenant=t, grouping=Grouping(by="id"))
            assert sorted(ids(grouped)) == [f"t{n}_{i}" for i in range(3)]
    finally:
        store.drop()
        store.close()


@pytest.mark.parametrize("threshold", [0.0, 0.5, 0.9])
def test_server_rrf_with_a_threshold_alike(dense_pair: Pair, threshold: float) -> None:
    query = _unit(random.Random(12))
    out: list[object] = []
    for s in dense_pair.both():
        try:
            hits = s.hybrid_search(
                query, "alpha", k=6, ranker=RRF(), fusion="server", score_threshold=threshold
            )
        except MilvusPluginsError as exc:
            out.append(type(exc).__name__)
            continue
        assert all(h.score >= threshold for h in hits)
        out.append(ids(hits))
    assert out[0] == out[1] or all(isinstance(o, str) for o in out), out
    assert not isinstance(out[0], str), out
