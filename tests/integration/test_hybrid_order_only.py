"""Hybrid searches whose caller reads only the order (``relevance=False``, LangChain's
``similarity_search``): with fusion ``"auto"`` an RRF ranking is fused by one server
``hybrid_search`` call, and the answer must be what client fusion gives: the same ids in
the same order, ties included (equal fused scores by id), on every engine with hybrid
search. A Weighted ranking, or a call that reads the relevance (a threshold, a decay, a
grouping), stays on the client.

Milvus Lite 2.5.1 breaks ties between equal RRF scores in its own order and normalises
BM25 as a distance in its weighted fusion, so these tests run on every engine.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milvus_plugins.core import (
    RRF,
    CollectionSpec,
    ConnectionConfig,
    Decay,
    DenseField,
    Grouping,
    Hit,
    MilvusStore,
    Record,
    Weighted,
)

WORDS = ["alpha", "beta", "gamma", "delta", "eps"]


def ids(hits: list[Hit]) -> list[str]:
    return [h.id for h in hits]


def _unit(angle: float) -> list[float]:
    return [math.cos(angle), math.sin(angle), 0.0, 0.0]


def tie_heavy_records(seed: int = 7) -> list[Record]:
    """Sixty records, ids in no particular insertion order, whose fused RRF sums tie
    often: most are found by one leg only, so a document ranked r by the dense leg alone
    ties one ranked r by the keyword leg alone. Within each leg every score differs
    (each record its own angle, each text its own length): Milvus orders equal scores
    arbitrarily, and two searches could then fetch different candidates."""
    rng = random.Random(seed)
    names = list(dict.fromkeys(f"d{rng.randrange(10**6):06d}" for _ in range(60)))
    rng.shuffle(names)
    return [
        Record(
            id=name,
            text=" ".join([*(rng.choice(WORDS) for _ in range(3)), *["pad"] * i]),
            vector=_unit(rng.choice([0.0, 0.5, 1.0, 1.5]) + 0.003 * i),
            metadata={"n": i, "group": i % 7},
        )
        for i, name in enumerate(names)
    ]


class CallCounter:
    """Count the calls of one method of the store's real client, forwarding each."""

    def __init__(self, store: MilvusStore, method: str) -> None:
        self.calls = 0
        real: Callable[..., Any] = getattr(store.client, method)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return real(*args, **kwargs)

        setattr(store.client, method, wrapper)


@pytest.fixture
def tied(uri: str, collection_name: str) -> Iterator[MilvusStore]:
    store = MilvusStore(
        CollectionSpec(name=collection_name, dim=4, sparse="bm25"),
        connection=ConnectionConfig(uri=uri),
    )
    if not store.capabilities.hybrid_search or not store.capabilities.bm25_function:
        store.close()
        pytest.skip("the engine has no BM25 hybrid search (Milvus 2.3 has neither)")
    store.upsert(tie_heavy_records())
    yield store
    store.close()


def test_order_only_rrf_is_one_server_call_with_the_client_order(tied: MilvusStore) -> None:
    hybrid = CallCounter(tied, "hybrid_search")
    rng = random.Random(11)
    server_answers = 0
    for _ in range(20):
        vector = _unit(rng.uniform(0.0, 1.5))
        text = rng.choice(WORDS)
        for k, fetch_k in ((3, 10), (5, 20), (10, 40)):
            before = hybrid.calls
            order_only = tied.hybrid_search(
                vector, text, k=k, fetch_k=fetch_k, ranker=RRF(60), relevance=False
            )
            server_answers += hybrid.calls - before
            client = tied.hybrid_search(vector, text, k=k, fetch_k=fetch_k, ranker=RRF(60))
            assert ids(order_only) == ids(client), (vector, text, k, fetch_k)
            # The fused score is the ranker's either way.
            for a, b in zip(order_only, client, strict=True):
                assert a.distance == pytest.approx(b.distance, abs=1e-6)
    # Client fusion itself never calls hybrid_search; the order-only calls did, one each
    # (a tie running past the extra hits falls back to the two searches).
    assert 0 < server_answers <= 60
    assert hybrid.calls == server_answers


def test_order_only_weighted_stays_on_the_client(tied: MilvusStore) -> None:
    hybrid = CallCounter(tied, "hybrid_search")
    vector, text = _unit(0.7), "beta"
    for weights in ((0.5, 0.5), (0.2, 0.8), (0.9, 0.1)):
        ranker = Weighted(*weights)
        order_only = tied.hybrid_search(vector, text, k=8, ranker=ranker, relevance=False)
        assert ids(order_only) == ids(tied.hybrid_search(vector, text, k=8, ranker=ranker))
    assert hybrid.calls == 0


def test_refinements_read_the_relevance_whatever_the_flag(tied: MilvusStore) -> None:
    hybrid = CallCounter(tied, "hybrid_search")
    vector, text = _unit(0.2), "gamma"
    cases: list[dict[str, Any]] = [
        {"score_threshold": 0.3},
        {"decay": Decay(field="n", origin=0, scale=30)},
        {"grouping": Grouping(by="group")},
    ]
    for extra in cases:
        order_only = tied.hybrid_search(vector, text, k=6, relevance=False, **extra)
        client = tied.hybrid_search(vector, text, k=6, **extra)
        assert [(h.id, h.score) for h in order_only] == [(h.id, h.score) for h in client]
    assert hybrid.calls == 0


def test_explicit_fusion_wins_over_the_flag(tied: MilvusStore) -> None:
    hybrid = CallCounter(tied, "hybrid_search")
    vector, text = _unit(1.1), "delta"
    tied.hybrid_search(vector, text, k=5, fusion="client", relevance=False)
    assert hybrid.calls == 0
    tied.hybrid_search(vector, text, k=5, fusion="server")
    assert hybrid.calls == 1


def test_retrieve_passes_the_flag(tied: MilvusStore) -> None:
    hybrid = CallCounter(tied, "hybrid_search")
    search = CallCounter(tied, "search")
    vector, text = _unit(0.4), "alpha"
    order_only = tied.retrieve(mode="hybrid", vector=vector, text=text, k=4, relevance=False)
    assert hybrid.calls >= 1
    client = tied.retrieve(mode="hybrid", vector=vector, text=text, k=4)
    assert ids(order_only) == ids(client)
    assert search.calls >= 2  # the default fuses two leg searches


# -- N legs ----------------------------------------------------------------------------


@pytest.fixture
def named(uri: str, collection_name: str) -> Iterator[MilvusStore]:
    store = MilvusStore(
        CollectionSpec(
            name=collection_name, dim=4, sparse="bm25", vector_fields=[DenseField(name="title")]
        ),
        connection=ConnectionConfig(uri=uri),
    )
    if not store.capabilities.hybrid_search or not store.capabilities.bm25_function:
        store.close()
        pytest.skip("the engine has no BM25 hybrid search (Milvus 2.3 has neither)")
    rows = tie_heavy_records(seed=3)
    rng = random.Random(5)
    for i, row in enumerate(rows):
        row.vectors = {"title": _unit(rng.choice([0.2, 0.9, 1.3]) + 0.003 * i)}
    store.upsert(rows)
    yield store
    store.close()


def test_n_legs_order_only_matches_the_client(named: MilvusStore) -> None:
    rng = random.Random(13)
    for _ in range(10):
        legs = {"vector": _unit(rng.uniform(0, 1.5)), "title": _unit(rng.uniform(0, 1.5))}
        text = rng.choice(WORDS)
        for k in (3, 7):
            order_only = named.retrieve(
                mode="hybrid", vectors=legs, text=text, k=k, relevance=False
            )
            client = named.retrieve(mode="hybrid", vectors=legs, text=text, k=k)
            assert ids(order_only) == ids(client), (legs, text, k)


def test_n_legs_retrieve_keeps_its_threshold_and_grouping(named: MilvusStore) -> None:
    # retrieve() with named vectors once dropped score_threshold, grouping and decay.
    legs = {"vector": _unit(0.3), "title": _unit(1.0)}
    full = named.retrieve(mode="hybrid", vectors=legs, text="beta", k=20)
    assert len(full) == 20
    cut = sorted(h.score for h in full)[10]
    kept = named.retrieve(mode="hybrid", vectors=legs, text="beta", k=20, score_threshold=cut)
    assert kept and all(h.score >= cut for h in kept)
    assert ids(kept) == [h.id for h in full if h.score >= cut]
    grouping = Grouping(by="group")
    grouped = named.retrieve(mode="hybrid", vectors=legs, text="beta", k=5, grouping=grouping)
    assert len({h.record.metadata["group"] for h in grouped}) == len(grouped) == 5
    assert ids(grouped) == ids(named.hybrid_search(legs, "beta", k=5, grouping=grouping))


# -- property: any query, any cut -----------------------------------------------------


@pytest.fixture(scope="module")
def lite_tied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MilvusStore]:
    uri = str(tmp_path_factory.mktemp("order_only") / "milvus.db")
    store = MilvusStore(
        CollectionSpec(name="tied", dim=4, sparse="bm25"), connection=ConnectionConfig(uri=uri)
    )
    store.upsert(tie_heavy_records(seed=21))
    yield store
    store.close()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    angle=st.floats(min_value=0.0, max_value=1.5),
    words=st.lists(st.sampled_from(WORDS), min_size=1, max_size=3),
    k=st.integers(min_value=1, max_value=25),
    extra=st.integers(min_value=0, max_value=20),
    rrf_k=st.sampled_from([1, 10, 60]),
)
def test_order_only_equals_client_fusion_for_any_query(
    lite_tied: MilvusStore, angle: float, words: list[str], k: int, extra: int, rrf_k: int
) -> None:
    vector, text = _unit(angle), " ".join(words)
    fetch_k = k + extra
    order_only = lite_tied.hybrid_search(
        vector, text, k=k, fetch_k=fetch_k, ranker=RRF(rrf_k), relevance=False
    )
    client = lite_tied.hybrid_search(vector, text, k=k, fetch_k=fetch_k, ranker=RRF(rrf_k))
    assert ids(order_only) == ids(client)


@pytest.mark.parametrize("relevance", [True, False])
def test_a_bad_second_leg_vector_is_refused_before_any_search(
    named: MilvusStore, relevance: bool
) -> None:
    """Client fusion searches its legs one by one: every leg's vector is checked before
    the first search, as the one-call server path checks them."""
    from milvus_plugins.core import InvalidInputError

    searches = CallCounter(named, "search")
    hybrid = CallCounter(named, "hybrid_search")
    legs = {"vector": _unit(0.3), "title": [1.0, 0.0]}  # title has 4 dimensions
    with pytest.raises(InvalidInputError, match="dimension 2"):
        named.retrieve(mode="hybrid", vectors=legs, text="alpha", k=3, relevance=relevance)
    legs = {"vector": _unit(0.3), "title": [float("nan"), 0.0, 0.0, 1.0]}
    with pytest.raises(InvalidInputError, match="NaN"):
        named.hybrid_search(legs, "alpha", k=3, fusion="client")
    assert searches.calls == hybrid.calls == 0
