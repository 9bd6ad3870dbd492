"""Client RRF fusion orders by the exact rational sums (equal ones by id), and a server
result's order is accepted only where its float32 scores settle that exact order.

The reference is plain arithmetic on :class:`fractions.Fraction`; the float32 server
scores are modelled two ways: the exact sum rounded once (Milvus Lite 3.x) and summed
term by term in float32 (Milvus Lite 2.5.1).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from milvus_plugins.core import RRF, Record
from milvus_plugins.core.ops.fusion import settled_server_order
from milvus_plugins.core.ranking import fuse
from milvus_plugins.core.results import Hit
from milvus_plugins.core.types import MetricType

METRICS = [MetricType.COSINE, MetricType.BM25]


@st.composite
def two_legs(draw: st.DrawFn) -> tuple[list[list[str]], int, int]:
    """Two ranked legs over a small id pool (overlapping), ``fetch_k`` and the RRF k."""
    fetch_k = draw(st.integers(min_value=1, max_value=90))
    pool = [f"d{i:03d}" for i in range(draw(st.integers(min_value=1, max_value=120)))]
    legs = [draw(st.lists(st.sampled_from(pool), unique=True, max_size=fetch_k)) for _ in range(2)]
    return legs, fetch_k, draw(st.sampled_from([1, 2, 10, 60, 61, 1000, 16383]))


def exact_order(legs: list[list[str]], rrf_k: int) -> list[str]:
    total: dict[str, Fraction] = {}
    for leg in legs:
        for rank, item in enumerate(leg, start=1):
            total[item] = total.get(item, Fraction(0)) + Fraction(1, rrf_k + rank)
    return sorted(total, key=lambda item: (-total[item], item))


def _as_leg(ids: list[str]) -> list[tuple[str, float]]:
    return [(item, 1.0 - 0.001 * i) for i, item in enumerate(ids)]


@settings(max_examples=400, deadline=None)
@given(case=two_legs())
def test_client_rrf_order_is_the_exact_order(case: tuple[list[list[str]], int, int]) -> None:
    legs, _, rrf_k = case
    fused = fuse([_as_leg(leg) for leg in legs], METRICS, RRF(rrf_k), 10_000)
    assert [item for item, _ in fused] == exact_order(legs, rrf_k)


@settings(max_examples=300, deadline=None)
@given(case=two_legs(), limit=st.integers(min_value=1, max_value=50))
def test_a_cut_client_rrf_order_is_the_exact_orders_head(
    case: tuple[list[list[str]], int, int], limit: int
) -> None:
    # Only tie runs starting within the limit are settled exactly: one straddling the
    # cut must still let the exact winners in.
    legs, _, rrf_k = case
    fused = fuse([_as_leg(leg) for leg in legs], METRICS, RRF(rrf_k), limit)
    assert [item for item, _ in fused] == exact_order(legs, rrf_k)[:limit]


def test_equal_sums_that_rounding_splits_are_ordered_by_id() -> None:
    # 1/66 + 1/99 == 1/72 + 1/88 == 5/198; in float64 the first is one unit larger.
    dense = [f"x{i:02d}" for i in range(1, 41)]
    sparse = list(dense)
    six, twelve = dense[5], dense[11]
    sparse.remove(six)
    sparse.remove(twelve)
    sparse.insert(27, twelve)  # rank 28
    sparse.insert(38, six)  # rank 39
    fused = fuse([_as_leg(dense), _as_leg(sparse)], METRICS, RRF(60), 40)
    order = [item for item, _ in fused]
    assert order == exact_order([dense, sparse], 60)
    scores = dict(fused)
    assert scores[six] != scores[twelve]  # rounding split the equal sums ...
    assert order.index(six) + 1 == order.index(twelve)  # ... and the order is by id


def _server_hits(legs: list[list[str]], rrf_k: int, limit: int, float32_sums: bool) -> list[Hit]:
    total: dict[str, float] = {}
    for leg in legs:
        for rank, item in enumerate(leg, start=1):
            term = 1.0 / (rrf_k + rank)
            if float32_sums:
                total[item] = float(np.float32(total.get(item, 0.0)) + np.float32(term))
            else:
                total[item] = total.get(item, 0.0) + term
    scores = {item: float(np.float32(value)) for item, value in total.items()}
    # The engine's own order among equal scores: reverse id, the opposite of ours.
    top = sorted(scores, key=lambda item: (-scores[item], [-ord(c) for c in item]))[:limit]
    return [Hit(record=Record(id=item, text=""), score=0.0, distance=scores[item]) for item in top]


@settings(max_examples=1000, deadline=None)
@given(case=two_legs(), k=st.integers(min_value=1, max_value=40), f32=st.booleans())
def test_a_settled_server_order_is_the_exact_order(
    case: tuple[list[list[str]], int, int], k: int, f32: bool
) -> None:
    legs, fetch_k, rrf_k = case
    limit = k + 2
    hits = _server_hits(legs, rrf_k, limit, f32)
    settled = settled_server_order(hits, k, RRF(rrf_k), fetch_k, limit, 2)
    if settled is not None:
        assert [h.id for h in settled] == exact_order(legs, rrf_k)[:k]


def test_single_leg_ties_are_settled_and_ordered_by_id() -> None:
    # Each leg finds its own documents: rank r in one leg ties rank r in the other.
    dense = ["d1", "d3", "d5", "d7"]
    sparse = ["d0", "d2", "d4", "d6"]
    hits = _server_hits([dense, sparse], 60, 6, float32_sums=True)
    settled = settled_server_order(hits, 4, RRF(60), 40, 6, 2)
    assert settled is not None
    assert [h.id for h in settled] == ["d0", "d1", "d2", "d3"]


def test_seeded_server_results_settle_to_the_exact_order() -> None:
    """3,000 seeded cases (two of the first 3,000 once came back in float32 order, not
    by id, for equal sums that float32 addition split)."""
    import random

    settled = 0
    for seed in range(3000):
        rng = random.Random(seed)
        fetch_k = rng.randint(1, 90)
        pool = [f"d{i:03d}" for i in range(rng.randint(1, 120))]
        legs = [rng.sample(pool, min(len(pool), rng.randint(0, fetch_k))) for _ in range(2)]
        rrf_k = rng.choice([1, 2, 10, 60, 61, 1000, 16383])
        k = rng.randint(1, 40)
        hits = _server_hits(legs, rrf_k, k + 2, rng.random() < 0.5)
        got = settled_server_order(hits, k, RRF(rrf_k), fetch_k, k + 2, 2)
        if got is not None:
            settled += 1
            assert [h.id for h in got] == exact_order(legs, rrf_k)[:k], seed
    assert settled > 2500  # the server's answer is usable almost always


def test_a_rounding_split_tie_at_the_cut_lets_the_smaller_id_in() -> None:
    # Two legs holding only the two items whose equal sums rounding splits (5/198 each):
    # with room for one, the exact tie goes to the smaller id, not to the float winner.
    dense = [f"f{i:02d}" for i in range(1, 40)]
    sparse = [f"s{i:02d}" for i in range(1, 40)]
    dense[5], sparse[38] = "b", "b"  # ranks 6 and 39: 1/66 + 1/99, one unit larger
    dense[11], sparse[27] = "a", "a"  # ranks 12 and 28: 1/72 + 1/88
    fused = fuse([_as_leg(dense), _as_leg(sparse)], METRICS, RRF(60), 1)
    assert [item for item, _ in fused] == ["a"] == exact_order([dense, sparse], 60)[:1]
