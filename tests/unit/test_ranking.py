"""Score maths: relevance in [0, 1] per metric, RRF and weighted fusion, ranker objects."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pymilvus import RRFRanker, WeightedRanker

from milvus_plugins.core import RRF, ConfigError, MetricType, Weighted, relevance
from milvus_plugins.core.config import ENGLISH_STOP_WORDS
from milvus_plugins.core.ranking import (
    KEYWORD_HALF,
    fuse,
    fused_relevance,
    hybrid_relevance,
    keyword_relevance,
    keyword_scale,
    query_terms,
    to_score,
)
from milvus_plugins.core.requests import pymilvus_ranker

# -- relevance ---------------------------------------------------------------------------

# Dense relevance is max(0, cosine) since issue 13 (was (1 + cos) / 2, which put unrelated
# text, cosine ~0, at 0.5): the COSINE 0.0, COSINE 0.5, IP 0.5 rows changed deliberately.
RELEVANCE: list[tuple[MetricType, float, float]] = [
    (MetricType.COSINE, 1.0, 1.0),
    (MetricType.COSINE, 0.0, 0.0),
    (MetricType.COSINE, 0.5, 0.5),
    (MetricType.COSINE, -1.0, 0.0),
    (MetricType.COSINE, 1.0000001, 1.0),
    (MetricType.IP, 0.5, 0.5),
    (MetricType.IP, 3.0, 1.0),
    (MetricType.IP, -3.0, 0.0),
    (MetricType.L2, 0.0, 1.0),
    (MetricType.L2, 1.0, 0.5),
    (MetricType.L2, 3.0, 0.25),
    (MetricType.L2, -1e-7, 1.0),
    (MetricType.BM25, 0.0, 0.0),
    (MetricType.BM25, 1.0, 0.5),
    (MetricType.BM25, -1.0, 0.5),
    (MetricType.BM25, 3.0, 0.75),
]


@pytest.mark.parametrize(("metric", "distance", "expected"), RELEVANCE)
def test_relevance_follows_the_documented_formula(
    metric: MetricType, distance: float, expected: float
) -> None:
    assert relevance(distance, metric) == pytest.approx(expected)


finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False)


@given(distance=finite, metric=st.sampled_from(list(MetricType)))
def test_relevance_is_always_within_unit_interval(distance: float, metric: MetricType) -> None:
    assert 0.0 <= relevance(distance, metric) <= 1.0


@given(a=finite, b=finite, metric=st.sampled_from([MetricType.COSINE, MetricType.IP]))
def test_similarity_relevance_is_monotonic_increasing(
    a: float, b: float, metric: MetricType
) -> None:
    low, high = sorted((a, b))
    assert relevance(low, metric) <= relevance(high, metric)


@given(a=st.floats(min_value=0, max_value=1e9), b=st.floats(min_value=0, max_value=1e9))
def test_l2_relevance_decreases_with_distance(a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert relevance(low, MetricType.L2) >= relevance(high, MetricType.L2)


@given(a=st.floats(min_value=0, max_value=1e9), b=st.floats(min_value=0, max_value=1e9))
def test_bm25_relevance_grows_with_score_whatever_its_sign(a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert relevance(low, MetricType.BM25) <= relevance(high, MetricType.BM25)
    # Milvus Lite reports BM25 negated: the same magnitude gives the same relevance.
    assert relevance(-high, MetricType.BM25) == relevance(high, MetricType.BM25)


def test_unrelated_dense_similarity_is_not_half_relevant() -> None:
    # MiniLM puts unrelated English text at cosine ~0.1 (SciFact median over all pairs).
    assert relevance(0.1, MetricType.COSINE) < 0.2
    assert relevance(0.1, MetricType.IP) < 0.2
    assert relevance(-0.3, MetricType.COSINE) == 0.0


# -- keyword relevance -------------------------------------------------------------------


def test_query_terms_counts_tokens_with_repeats_minus_stop_words() -> None:
    assert query_terms("Where is the cat? The CAT!") == 6
    assert query_terms("Where is the cat? The CAT!", ENGLISH_STOP_WORDS) == 3  # where, cat, cat
    assert query_terms({3: 1.0, 9: 0.0, 12: 2.5}) == 2


def test_keyword_scale_grows_with_terms_and_corpus_size() -> None:
    assert keyword_scale(5, 1000) == pytest.approx(KEYWORD_HALF * 5 * math.log(1001))
    assert keyword_scale(0, 0) == pytest.approx(KEYWORD_HALF * math.log(2))  # floors of 1
    assert keyword_scale(10, 1000) > keyword_scale(5, 1000)
    assert keyword_scale(5, 100_000) > keyword_scale(5, 1000)


@pytest.mark.parametrize(
    ("score", "scale", "expected"),
    [(0.0, 4.0, 0.0), (4.0, 4.0, 0.5), (-4.0, 4.0, 0.5), (12.0, 4.0, 0.75), (math.inf, 1.0, 1.0)],
)
def test_keyword_relevance_is_half_at_the_scale(
    score: float, scale: float, expected: float
) -> None:
    assert keyword_relevance(score, scale) == pytest.approx(expected)


def test_a_stop_word_match_scores_low_against_a_long_query() -> None:
    # A BM25 score from two low-IDF words (~0.3 each, the k1 + 1 factor included) for a
    # 12-token query over 5,000 rows, against a document matching four rare terms well.
    scale = keyword_scale(12, 5000)
    assert keyword_relevance(1.5, scale) < 0.1
    assert keyword_relevance(4 * 8.0 * 1.6, scale) > 0.5


# -- hybrid relevance --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dense", "sparse", "ranker", "expected"),
    [
        (0.8, 0.6, RRF(), 0.7),
        (0.8, None, RRF(), 0.4),
        (None, 0.9, RRF(60), 0.45),
        (None, None, RRF(), 0.0),
        (0.8, 0.6, Weighted(0.75, 0.25), 0.75),
        (0.8, None, Weighted(0.2, 0.2), 0.4),
        (1.0, 1.0, Weighted(1.0, 1.0), 1.0),
    ],
)
def test_hybrid_relevance_is_the_ranker_weighted_mean_of_the_legs(
    dense: float | None, sparse: float | None, ranker: RRF | Weighted, expected: float
) -> None:
    assert hybrid_relevance(dense, sparse, ranker) == pytest.approx(expected)


@given(
    dense=st.none() | st.floats(0, 1),
    sparse=st.none() | st.floats(0, 1),
    weights=st.tuples(st.floats(0.01, 1), st.floats(0, 1)),
)
def test_hybrid_relevance_never_exceeds_the_better_leg(
    dense: float | None, sparse: float | None, weights: tuple[float, float]
) -> None:
    for ranker in (RRF(), Weighted(*weights)):
        value = hybrid_relevance(dense, sparse, ranker)
        assert 0.0 <= value <= max(dense or 0.0, sparse or 0.0) + 1e-12


def test_to_score_is_larger_is_better() -> None:
    assert to_score(0.5, MetricType.L2) > to_score(2.0, MetricType.L2)
    assert to_score(-3.0, MetricType.BM25) == 3.0
    assert to_score(0.9, MetricType.COSINE) == 0.9


# -- rankers -----------------------------------------------------------------------------


@pytest.mark.parametrize("k", [0, -1, 16384, True, 1.5])
def test_rrf_k_out_of_range_is_rejected(k: object) -> None:
    with pytest.raises(ConfigError, match="RRF k"):
        RRF(k)  # type: ignore[arg-type]


def test_weighted_accepts_varargs_or_one_sequence() -> None:
    assert Weighted(0.7, 0.3).weights == (0.7, 0.3)
    assert Weighted([0.7, 0.3]).weights == (0.7, 0.3)  # type: ignore[arg-type]
    assert Weighted().weights == (0.5, 0.5)
    assert Weighted(1, 0, normalize=False).normalize is False


@pytest.mark.parametrize("weights", [(1.5, 0.5), (-0.1, 0.5), (0.0, 0.0), (math.nan, 0.5)])
def test_weighted_rejects_weights_outside_unit_interval_or_all_zero(
    weights: tuple[float, ...],
) -> None:
    with pytest.raises(ConfigError, match="weights"):
        Weighted(*weights)


def test_pymilvus_rankers_are_built_from_core_rankers() -> None:
    rrf = pymilvus_ranker(RRF(30))
    weighted = pymilvus_ranker(Weighted(0.8, 0.2))
    assert isinstance(rrf, RRFRanker)
    assert rrf.dict()["params"]["k"] == 30
    assert isinstance(weighted, WeightedRanker)
    assert weighted.dict()["params"]["weights"] == [0.8, 0.2]
    assert weighted.dict()["params"]["norm_score"] is True
    with pytest.raises(ConfigError):
        pymilvus_ranker("rrf")  # type: ignore[arg-type]


# -- fusion ------------------------------------------------------------------------------

DENSE = [("a", 0.9), ("b", 0.8), ("c", 0.1)]
SPARSE = [("c", -5.0), ("d", -1.0)]
METRICS = [MetricType.COSINE, MetricType.BM25]


def test_rrf_fusion_sums_reciprocal_ranks() -> None:
    fused = dict(fuse([DENSE, SPARSE], METRICS, RRF(60), limit=10))
    assert fused["a"] == pytest.approx(1 / 61)
    assert fused["b"] == pytest.approx(1 / 62)
    assert fused["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert fused["d"] == pytest.approx(1 / 62)


def test_rrf_fusion_orders_by_score_then_ascending_id_like_milvus() -> None:
    order = [i for i, _ in fuse([DENSE, SPARSE], METRICS, RRF(60), limit=10)]
    assert order == ["c", "a", "b", "d"]
    tied = fuse([[("z", 0.9), ("y", 0.8)], [("b", -2.0), ("a", -1.0)]], METRICS, RRF(), limit=3)
    assert [i for i, _ in tied] == ["b", "z", "a"]


def test_fusion_respects_the_limit() -> None:
    assert len(fuse([DENSE, SPARSE], METRICS, RRF(), limit=2)) == 2


def test_weighted_fusion_normalises_each_leg_like_milvus() -> None:
    fused = dict(fuse([DENSE, SPARSE], METRICS, Weighted(0.6, 0.4), limit=10))
    assert fused["a"] == pytest.approx(0.6 * (1 + 0.9) / 2)
    assert fused["c"] == pytest.approx(0.6 * (1 + 0.1) / 2 + 0.4 * 2 * math.atan(5.0) / math.pi)
    assert fused["d"] == pytest.approx(0.4 * 2 * math.atan(1.0) / math.pi)


def test_weighted_fusion_normalises_ip_and_l2_legs() -> None:
    ip = dict(fuse([[("x", 2.0)]], [MetricType.IP], Weighted(1.0), limit=1))
    l2 = dict(fuse([[("x", 2.0)]], [MetricType.L2], Weighted(1.0), limit=1))
    assert ip["x"] == pytest.approx(0.5 + math.atan(2.0) / math.pi)
    assert l2["x"] == pytest.approx(1 - 2 * math.atan(2.0) / math.pi)


def test_weighted_fusion_without_normalisation_uses_raw_scores() -> None:
    fused = dict(fuse([DENSE, SPARSE], METRICS, Weighted(0.5, 0.5, normalize=False), limit=10))
    assert fused["c"] == pytest.approx(0.5 * 0.1 + 0.5 * 5.0)


def test_weighted_fusion_needs_one_weight_per_leg() -> None:
    with pytest.raises(ConfigError, match="one weight per leg"):
        fuse([DENSE, SPARSE], METRICS, Weighted(1.0), limit=3)


def test_minmax_fusion_scales_each_leg_per_query() -> None:
    # Dense 0.9 / 0.8 / 0.1 -> 1, 0.875, 0; BM25 5 / 1 (Lite reports them negated) -> 1, 0.
    fused = dict(fuse([DENSE, SPARSE], METRICS, Weighted(0.6, 0.4, normalize="minmax"), 10))
    assert fused["a"] == pytest.approx(0.6 * 1.0)
    assert fused["b"] == pytest.approx(0.6 * 0.875)
    assert fused["c"] == pytest.approx(0.6 * 0.0 + 0.4 * 1.0)
    assert fused["d"] == pytest.approx(0.0)


def test_minmax_fusion_does_not_saturate_on_large_bm25_scores() -> None:
    # "y" is the weakest candidate of both legs. Milvus' atan mapping puts every BM25
    # score above ~10 near 1 (10 -> 0.94, 11 -> 0.94), so "y" still wins with the fixed
    # normalisation; min-max scales the weakest candidate of a leg to 0, so it ranks last.
    dense = [("x", 0.9), ("y", 0.1)]
    sparse = [("z", -11.0), ("y", -10.0)]
    fixed = [i for i, _ in fuse([dense, sparse], METRICS, Weighted(0.5, 0.5), limit=3)]
    minmax = Weighted(0.5, 0.5, normalize="minmax")
    scaled = [i for i, _ in fuse([dense, sparse], METRICS, minmax, limit=3)]
    assert fixed[0] == "y"
    assert scaled == ["x", "z", "y"]


def test_minmax_gives_a_one_candidate_leg_full_weight() -> None:
    fused = dict(
        fuse([[("a", 0.3)], [("a", -2.0)]], METRICS, Weighted(0.5, 0.5, normalize="minmax"), 5)
    )
    assert fused["a"] == pytest.approx(1.0)


def test_minmax_is_client_only_and_other_normalize_values_are_refused() -> None:
    with pytest.raises(ConfigError, match="min-max"):
        pymilvus_ranker(Weighted(0.5, 0.5, normalize="minmax"))
    with pytest.raises(ConfigError, match="normalize"):
        Weighted(0.5, 0.5, normalize="zscore")
    with pytest.raises(ConfigError, match="weights"):
        Weighted(0.5, "minmax")  # type: ignore[arg-type]
    assert not Weighted(normalize="minmax").server_side
    assert Weighted().server_side


def test_extreme_weights_follow_one_leg() -> None:
    dense_first = [i for i, _ in fuse([DENSE, SPARSE], METRICS, Weighted(1.0, 0.0), limit=10)]
    sparse_first = [i for i, _ in fuse([DENSE, SPARSE], METRICS, Weighted(0.0, 1.0), limit=2)]
    assert dense_first[:3] == ["a", "b", "c"]
    assert sparse_first == ["c", "d"]


def test_fused_relevance_maps_the_best_possible_rrf_score_to_one() -> None:
    best = 2 / 61
    assert fused_relevance(best, RRF(60), legs=2) == pytest.approx(1.0)
    assert fused_relevance(1 / 61, RRF(60), legs=2) == pytest.approx(0.5)


@given(
    score=st.floats(min_value=0, max_value=10),
    weights=st.tuples(st.floats(0.01, 1), st.floats(0, 1)),
    k=st.integers(1, 16383),
)
def test_fused_relevance_is_within_unit_interval(
    score: float, weights: tuple[float, float], k: int
) -> None:
    assert 0.0 <= fused_relevance(score, RRF(k), legs=2) <= 1.0
    assert 0.0 <= fused_relevance(score, Weighted(*weights), legs=2) <= 1.0


@given(
    dense=st.lists(st.floats(-1, 1), max_size=8),
    sparse=st.lists(st.floats(-30, 0), max_size=8),
    w=st.floats(0.01, 1),
)
def test_fused_weighted_relevance_of_real_legs_is_within_unit_interval(
    dense: list[float], sparse: list[float], w: float
) -> None:
    legs = [
        [(f"d{i}", d) for i, d in enumerate(sorted(dense, reverse=True))],
        [(f"d{i}", s) for i, s in enumerate(sorted(sparse))],
    ]
    ranker = Weighted(w, 1 - w)
    for _, score in fuse(legs, METRICS, ranker, limit=20):
        # No clipping needed: each normalised leg score is in [0, 1].
        assert 0.0 <= score / sum(ranker.weights) <= 1.0 + 1e-12
        assert 0.0 <= fused_relevance(score, ranker, legs=2) <= 1.0
