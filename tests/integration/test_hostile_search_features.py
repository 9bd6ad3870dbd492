"""Hostile, careless use of the search features (README "Tenants, partitions and search
features"): grouping, range search / relevance thresholds, decay rankers and exact-term
filters, through the core store (sync and async), the LangChain adapter and the
LlamaIndex adapter (sync and async), with tenants, filters and hybrid/sparse modes.

Every call must either do exactly what it says (checked against an oracle computed here:
the ungrouped ranking of the same store, the unthresholded scores, the documented decay
formulas, a plain tokenizer over ASCII texts) or raise a typed ``milvus_plugins`` error
with nothing changed. Milvus Lite 3.2.2 only, in a temp database file.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import re
import zlib
from collections.abc import Callable, Coroutine, Hashable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
)

from milvus_plugins.core import (
    AsyncMilvusStore,
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    Decay,
    FilterError,
    FlatIndex,
    Grouping,
    Hit,
    InvalidInputError,
    MilvusPluginsError,
    MilvusStore,
    RawFilterRefusedError,
    Record,
    TenantRequiredError,
    UnexpectedArgumentError,
    UnsupportedByServerError,
    and_,
    eq,
    filter_from_dict,
    not_,
    phrase_match,
    text_match,
)
from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

T = TypeVar("T")

A = 'a" or true or "'  # tenant names that break a naively concatenated expression
B = "b\\"
DIM = 4
Q0 = [1.0, 0.0, 0.0, 0.0]
WORDS = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "zeta"]
# Words only some rows hold, for the hostile text-match terms below.
SPECIAL = {1: "true", 2: "quoted", 3: "slash", 4: "50", 5: "a_b", 6: "or"}
_MISSING = object()
MIXED: list[Any] = [1, "1", 1.0, True, None, _MISSING, [1], {"a": 1}]
TSK: list[Callable[[int], Any]] = [
    lambda ts: ts,
    lambda ts: ts + 0.5,
    lambda ts: "n/a",
    lambda ts: None,
    lambda ts: _MISSING,
]
N_A = 30
N_B = 10


# -- oracles -------------------------------------------------------------------------


def words(text: str) -> set[str]:
    """The terms of a plain ASCII text: lower-cased runs of letters, digits and ``_``."""
    return set(re.findall(r"[a-z0-9_]+", text.lower()))


def term_match(query: str, text: str) -> bool:
    return bool(words(query) & words(text))


def group_value(value: Any) -> Hashable:
    """A metadata value as one group: lists/dicts by JSON, bools apart from numbers."""
    if isinstance(value, (list, dict)):
        return ("json", json.dumps(value, sort_keys=True))
    if isinstance(value, bool):
        return ("bool", value)
    return value  # type: ignore[no-any-return]


def key_of(by: str | None) -> Callable[[Hit], Hashable]:
    if by is None or by == "doc_id":
        return lambda h: h.record.doc_id
    if by == "id":
        return lambda h: h.id
    return lambda h: group_value(h.record.metadata.get(by))


def oracle_groups(
    ranked: Sequence[Hit], key: Callable[[Hit], Hashable], k: int, size: int
) -> list[tuple[Hashable, list[str]]]:
    """The ``k`` best groups of a complete ranking, up to ``size`` ids each."""
    groups: dict[Hashable, list[str]] = {}
    for hit in ranked:
        value = key(hit)
        if value not in groups:
            if len(groups) == k:
                continue
            groups[value] = []
        if len(groups[value]) < size:
            groups[value].append(hit.id)
    return list(groups.items())


def split_groups(
    hits: Sequence[Hit], key: Callable[[Hit], Hashable]
) -> list[tuple[Hashable, list[str]]]:
    """A grouped result as (value, ids) runs; a value seen twice is a broken grouping."""
    out: list[tuple[Hashable, list[str]]] = []
    for hit in hits:
        value = key(hit)
        if out and out[-1][0] == value:
            out[-1][1].append(hit.id)
        else:
            assert value not in [v for v, _ in out], f"group {value!r} split: {ids(hits)}"
            out.append((value, [hit.id]))
    return out


def decay_factor(
    function: str, value: Any, origin: float, scale: float, offset: float, decay: float
) -> float:
    """The README's decay formulas (Milvus' decay reranker)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0.0
    d = max(0.0, abs(float(value) - origin) - offset)
    if function == "gauss":
        return float(decay ** ((d / scale) ** 2))
    if function == "exp":
        return float(decay ** (d / scale))
    return max(0.0, 1.0 - (1.0 - decay) * d / scale)


def ids(hits: Sequence[Hit]) -> list[str]:
    return [h.id for h in hits]


def _unit(rng: random.Random, dim: int, low: float = 0.05, high: float = 1.2) -> list[float]:
    """A unit vector at an angle in [low, high] from the first axis (cosine with e1 > 0.36)."""
    angle = rng.uniform(low, high)
    rest = [rng.gauss(0, 1) for _ in range(dim - 1)]
    n = math.sqrt(sum(x * x for x in rest))
    return [math.cos(angle), *(math.sin(angle) * x / n for x in rest)]


# -- the core world: one tenant-keyed collection, BM25, text match ----------------------


def _world_records() -> tuple[list[Record], list[Record]]:
    rng = random.Random(2024)
    a_rows = []
    for i in range(N_A):
        text = " ".join(rng.choice(WORDS) for _ in range(3))
        if i in SPECIAL:
            text += f" {SPECIAL[i]}"
        text += " pad" * i  # every text its own length: no two rows tie on BM25
        ts = rng.randrange(0, 1000)
        meta: dict[str, Any] = {"src": f"s{i % 4}", "cat": f"c{i % 3}", "ts": ts}
        tsk = TSK[i % 5](ts)
        if tsk is not _MISSING:
            meta["tsk"] = tsk
        if MIXED[i % 8] is not _MISSING:
            meta["mixed"] = MIXED[i % 8]
        a_rows.append(
            Record(
                id=f"a{i}",
                text=text,
                vector=_unit(rng, DIM),
                doc_id=f"doc{i // 3}",
                metadata=meta,
            )
        )
    b_rows = []
    for i in range(N_B):
        # Tenant B's rows beat every row of A on every feature: if one leaks, it shows.
        vector = [1.0, 1e-4 * (i + 1), 0.0, 0.0]
        text = " ".join([*WORDS, *SPECIAL.values(), "pad"]) + " bonus" * i
        b_rows.append(
            Record(
                id=f"b{i}",
                text=text,
                vector=vector,
                doc_id=f"doc{i}",
                metadata={"src": f"s{i % 4}", "cat": f"c{i % 3}", "ts": 1000, "tsk": 1000},
            )
        )
    return a_rows, b_rows


A_ROWS, B_ROWS = _world_records()
A_TEXT = {r.id: r.text or "" for r in A_ROWS}
A_IDS = set(A_TEXT)


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """One event loop for every async call of the module (async clients are per loop)."""
    lp = asyncio.new_event_loop()
    yield lp
    lp.close()


def arun(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T]) -> T:
    return loop.run_until_complete(coro)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("hostile_search") / "milvus.db")


def _world_spec() -> CollectionSpec:
    return CollectionSpec(
        name="world",
        dim=DIM,
        index=FlatIndex(),
        metadata_fields={"tenant": "VARCHAR", "cat": "VARCHAR", "ts": "INT64"},
        partition_key="tenant",
        sparse="bm25",
        text_match=True,
    )


@pytest.fixture(scope="module")
def world(db: str, loop: asyncio.AbstractEventLoop) -> Iterator[tuple[MilvusStore, Any]]:
    store = MilvusStore(_world_spec(), connection=ConnectionConfig(uri=db))
    store.upsert(A_ROWS, tenant=A)
    store.upsert(B_ROWS, tenant=B)
    astore = AsyncMilvusStore(store)
    yield store, astore
    arun(loop, astore.close())
    store.close()


def unchanged(store: MilvusStore) -> None:
    """Nothing was written or deleted: both tenants still hold exactly their rows."""
    assert store.count(tenant=A) == N_A
    assert store.count(tenant=B) == N_B
    assert store.count() == N_A + N_B


def only_a(hits: Sequence[Hit]) -> None:
    leaked = [h.id for h in hits if h.id not in A_IDS]
    assert not leaked, f"tenant B rows leaked into tenant A's results: {leaked}"


# -- grouping ---------------------------------------------------------------------------

GROUP_BYS: list[str | None] = [None, "id", "src", "cat", "ts", "mixed", "tsk", "nope"]
GROUP_SHAPES = [(1, 1, False), (3, 2, True), (7, 3, False), (50, 2, True), (2, 3, True)]
FILTERS = [None, eq("cat", "c1"), text_match("alpha beta")]


def _check_grouped(
    got: Sequence[Hit], ranked: Sequence[Hit], by: str | None, k: int, size: int, strict: bool
) -> None:
    key = key_of(by)
    want = oracle_groups(ranked, key, k, size)
    have = split_groups(got, key)
    if strict:
        assert have == want, (by, k, size)
        return
    # Not strict: the same groups in the same order, each a best-first prefix of the
    # oracle's group (a group may come back with fewer rows; README/Grouping).
    assert [v for v, _ in have] == [v for v, _ in want], (by, k, size)
    for (_, mine), (_, full) in zip(have, want, strict=True):
        assert mine and mine == full[: len(mine)], (by, k, size, mine, full)


def test_dense_grouping_equals_grouping_of_the_full_ranking(
    world: tuple[MilvusStore, Any],
) -> None:
    store, _ = world
    rng = random.Random(9)
    queries = [Q0, _unit(rng, DIM, 0.0, math.pi)]
    for query in queries:
        for where in FILTERS:
            ranked = store.search(query, k=100, filter=where, tenant=A)
            only_a(ranked)
            expected_ids = {
                r.id
                for r in A_ROWS
                if where is None
                or (where == FILTERS[1] and r.metadata["cat"] == "c1")
                or (where == FILTERS[2] and term_match("alpha beta", r.text or ""))
            }
            assert set(ids(ranked)) == expected_ids  # the oracle ranking is complete
            for by in GROUP_BYS:
                for k, size, strict in GROUP_SHAPES:
                    grouping = Grouping(by=by, size=size, strict=strict)
                    got = store.search(query, k=k, filter=where, grouping=grouping, tenant=A)
                    only_a(got)
                    _check_grouped(got, ranked, by, k, size, strict)
        # The largest group size and k: every row of the tenant, document by document.
        biggest = store.search(query, k=16384, grouping=Grouping(size=1024, strict=True), tenant=A)
        full = store.search(query, k=100, tenant=A)
        _check_grouped(biggest, full, None, 16384, 1024, True)
        assert len(biggest) == N_A
    with pytest.raises(InvalidInputError):
        store.search(Q0, k=16385, grouping=Grouping(), tenant=A)
    unchanged(store)


def test_sparse_and_hybrid_grouping_equal_grouping_of_the_full_ranking(
    world: tuple[MilvusStore, Any],
) -> None:
    store, _ = world
    text = "alpha gamma true"
    full = 100
    sparse = store.sparse_search(text, k=full, tenant=A)
    hybrid = store.hybrid_search(Q0, text, k=full, fetch_k=full, tenant=A)
    only_a(sparse + hybrid)
    assert set(ids(sparse)) == {r.id for r in A_ROWS if term_match(text, r.text or "")}
    for by in [None, "src", "mixed"]:
        for k, size, strict in [(3, 1, False), (4, 2, True), (50, 3, True)]:
            grouping = Grouping(by=by, size=size, strict=strict)
            got = store.sparse_search(text, k=k, grouping=grouping, tenant=A)
            _check_grouped(got, sparse, by, k, size, strict)
            got = store.hybrid_search(Q0, text, k=k, fetch_k=full, grouping=grouping, tenant=A)
            _check_grouped(got, hybrid, by, k, size, strict)
    unchanged(store)


def test_async_grouping_answers_as_sync(
    world: tuple[MilvusStore, Any], loop: asyncio.AbstractEventLoop
) -> None:
    store, astore = world
    for by, k, size, strict in [(None, 3, 2, True), ("mixed", 5, 1, False), ("ts", 4, 2, False)]:
        grouping = Grouping(by=by, size=size, strict=strict)
        sync = store.search(Q0, k=k, grouping=grouping, tenant=A, filter=eq("cat", "c2"))
        asyn = arun(
            loop, astore.search(Q0, k=k, grouping=grouping, tenant=A, filter=eq("cat", "c2"))
        )
        assert ids(asyn) == ids(sync)
        assert [h.score for h in asyn] == pytest.approx([h.score for h in sync])
        s_sparse = store.sparse_search("beta", k=k, grouping=grouping, tenant=A)
        a_sparse = arun(loop, astore.sparse_search("beta", k=k, grouping=grouping, tenant=A))
        assert ids(a_sparse) == ids(s_sparse)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"size": 0},
        {"size": -1},
        {"size": True},
        {"size": 2.0},
        {"size": "2"},
        {"size": 1025},
        {"size": 10**30},
        {"strict": "yes"},
        {"strict": 1},
        {"strict": None},
        {"by": ""},
        {"by": "   "},
        {"by": 3},
        {"by": ["src"]},
        {"place": "edge"},
        {"place": None},
    ],
)
def test_hostile_grouping_values_are_config_errors(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        Grouping(**kwargs)


def test_grouping_by_fields_that_hold_no_group_value_is_refused(
    world: tuple[MilvusStore, Any], loop: asyncio.AbstractEventLoop
) -> None:
    store, astore = world
    for field in ["text", "vector", "metadata", "sparse"]:
        grouping = Grouping(by=field)
        with pytest.raises(ConfigError, match="group_by"):
            store.search(Q0, k=3, grouping=grouping, tenant=A)
        with pytest.raises(ConfigError, match="group_by"):
            arun(loop, astore.search(Q0, k=3, grouping=grouping, tenant=A))
        with pytest.raises(ConfigError, match="group_by"):
            store.hybrid_search(Q0, "alpha", k=3, grouping=grouping, tenant=A)
    # Lite 3.2.2's own grouping drops groups: forcing it is refused, not silently wrong.
    with pytest.raises(UnsupportedByServerError):
        store.search(Q0, k=3, grouping=Grouping(place="server"), tenant=A)
    with pytest.raises(InvalidInputError):
        store.search(Q0, k=3, grouping="src", tenant=A)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="group_by"):
        store.search(Q0, k=3, grouping=Grouping(), decay=Decay(field="ts", origin=0, scale=9))
    with pytest.raises(InvalidInputError):
        store.search(Q0, k=0, grouping=Grouping(), tenant=A)
    unchanged(store)


def test_grouping_with_threshold_tenant_and_filter(world: tuple[MilvusStore, Any]) -> None:
    store, _ = world
    where = and_(eq("cat", "c0"), not_(text_match("zeta")))
    for by, size, strict in [(None, 2, True), ("src", 3, False), ("mixed", 1, False)]:
        grouping = Grouping(by=by, size=size, strict=strict)
        plain = store.search(Q0, k=4, filter=where, grouping=grouping, tenant=A)
        only_a(plain)
        for t in [0.0, 0.5, 0.8, 0.95, 1.0]:
            got = store.search(
                Q0, k=4, filter=where, grouping=grouping, score_threshold=t, tenant=A
            )
            assert ids(got) == [h.id for h in plain if h.score >= t], (by, t)
        sparse_plain = store.sparse_search("alpha beta", k=4, grouping=grouping, tenant=A)
        sparse_cut = store.sparse_search(
            "alpha beta", k=4, grouping=grouping, score_threshold=0.4, tenant=A
        )
        assert ids(sparse_cut) == [h.id for h in sparse_plain if h.score >= 0.4]
    unchanged(store)


# -- range search / thresholds -------------------------------------------------------

THRESHOLDS = [0.0, -0.0, 1e-12, 0.2, 0.45, 0.7, 0.9, 0.999, 1.0]


def test_threshold_keeps_exactly_the_unthresholded_hits_above_it(
    world: tuple[MilvusStore, Any], loop: asyncio.AbstractEventLoop
) -> None:
    store, astore = world
    where = not_(eq("cat", "c2"))
    rng = random.Random(4)
    for query in [Q0, _unit(rng, DIM, 0.0, math.pi)]:
        calls: list[tuple[str, Callable[..., Any], Callable[..., Any]]] = [
            (
                "dense",
                lambda t, q=query: store.search(q, k=20, filter=where, score_threshold=t, tenant=A),
                lambda t, q=query: astore.search(
                    q, k=20, filter=where, score_threshold=t, tenant=A
                ),
            ),
            (
                "sparse",
                lambda t: store.sparse_search(
                    "alpha delta", k=20, filter=where, score_threshold=t, tenant=A
                ),
                lambda t: astore.sparse_search(
                    "alpha delta", k=20, filter=where, score_threshold=t, tenant=A
                ),
            ),
            (
                "hybrid",
                lambda t, q=query: store.hybrid_search(
                    q, "alpha delta", k=20, filter=where, score_threshold=t, tenant=A
                ),
                lambda t, q=query: astore.hybrid_search(
                    q, "alpha delta", k=20, filter=where, score_threshold=t, tenant=A
                ),
            ),
        ]
        for mode, sync, asyn in calls:
            plain = sync(None)
            only_a(plain)
            assert plain, mode
            for t in THRESHOLDS:
                expected = [h.id for h in plain if h.score >= t]
                assert ids(sync(t)) == expected, (mode, t)
                assert ids(arun(loop, asyn(t))) == expected, (mode, t)
    unchanged(store)


@pytest.mark.parametrize(
    "bad",
    [float("nan"), float("inf"), float("-inf"), 1.0000001, -0.1, 2, True, False, "0.5", [0.5]],
)
def test_hostile_thresholds_are_typed_errors_sync_and_async(
    world: tuple[MilvusStore, Any], loop: asyncio.AbstractEventLoop, bad: Any
) -> None:
    store, astore = world
    with pytest.raises(MilvusPluginsError) as sync_error:
        store.search(Q0, k=3, score_threshold=bad, tenant=A)
    with pytest.raises(MilvusPluginsError) as async_error:
        arun(loop, astore.search(Q0, k=3, score_threshold=bad, tenant=A))
    assert type(async_error.value) is type(sync_error.value)
    assert "score_threshold" in str(sync_error.value)
    with pytest.raises(MilvusPluginsError):
        store.hybrid_search(Q0, "alpha", k=3, score_threshold=bad, tenant=A)
    with pytest.raises(MilvusPluginsError):
        store.sparse_search("alpha", k=3, score_threshold=bad, tenant=A)
    unchanged(store)


@pytest.fixture(scope="module")
def metric_stores(db: str) -> Iterator[dict[str, MilvusStore]]:
    """One small FLAT collection per dense metric (IP: vectors of length 0.5 to 3)."""
    rng = random.Random(31)
    stores = {}
    for metric in ("COSINE", "L2", "IP"):
        store = MilvusStore(
            CollectionSpec(
                name=f"metric_{metric.lower()}",
                dim=DIM,
                metric=metric,
                index=FlatIndex(),
                metadata_fields={"ts": "INT64"},
            ),
            connection=ConnectionConfig(uri=db),
        )
        records = []
        for i in range(24):
            v = [rng.uniform(-1, 1) for _ in range(DIM)]
            n = math.sqrt(sum(x * x for x in v))
            length = 1.0 if metric != "IP" else rng.uniform(0.5, 3.0)
            records.append(
                Record(
                    id=f"m{i}",
                    text=f"row {i}",
                    vector=[length * x / n for x in v],
                    metadata={"ts": i * 10},
                )
            )
        store.upsert(records)
        stores[metric] = store
    yield stores
    for store in stores.values():
        store.close()


BANDS = {
    "COSINE": [(-0.5, 0.5), (0.0, 1.0), (-1.0, 0.2), (0.3, 0.31)],
    "IP": [(-1.0, 1.0), (0.5, 3.0), (-10.0, 0.0)],
    "L2": [(3.0, 0.5), (1.0, 0.0), (8.0, 2.0)],  # (radius, range_filter): outer, inner
}


def test_explicit_radius_and_range_filter_select_the_band(
    metric_stores: dict[str, MilvusStore], loop: asyncio.AbstractEventLoop
) -> None:
    query = [0.3, -0.2, 0.9, 0.1]
    for metric, store in metric_stores.items():
        ranked = store.search(query, k=100)
        assert len(ranked) == 24
        for radius, inner in BANDS[metric]:
            if metric == "L2":
                want = [h.id for h in ranked if inner <= h.distance < radius]
            else:
                want = [h.id for h in ranked if radius < h.distance <= inner]
            params = {"radius": radius, "range_filter": inner}
            assert ids(store.search(query, k=100, search_params=params)) == want, (metric, params)
            outer_only = [
                h.id
                for h in ranked
                if (h.distance < radius if metric == "L2" else h.distance > radius)
            ]
            got = store.search(query, k=100, search_params={"radius": radius})
            assert ids(got) == outer_only, (metric, radius)
            astore = AsyncMilvusStore(store)
            try:
                assert ids(arun(loop, astore.search(query, k=100, search_params=params))) == want
            finally:
                arun(loop, astore.close())
        for t in [0.0, 1e-9, 0.1, 0.25, 0.5, 0.75, 0.99, 1.0]:
            want = [h.id for h in ranked if h.score >= t]
            assert ids(store.search(query, k=100, score_threshold=t)) == want, (metric, t)


@pytest.mark.parametrize(
    ("metric", "params"),
    [
        ("COSINE", {"radius": 0.6, "range_filter": 0.2}),  # inverted
        ("COSINE", {"radius": 0.5, "range_filter": 0.5}),  # empty band
        ("COSINE", {"radius": 1.5}),  # beyond any cosine
        ("COSINE", {"range_filter": 0.5}),  # no outer edge
        ("COSINE", {"radius": "0.5"}),
        ("COSINE", {"radius": True}),
        ("COSINE", {"radius": float("nan")}),
        ("COSINE", {"radius": 0.1, "range_filter": float("inf")}),
        ("COSINE", {"radius": None}),
        ("L2", {"radius": 0.5, "range_filter": 3.0}),  # the COSINE direction on L2
        ("L2", {"radius": -1.0}),
        ("L2", {"radius": 0.0}),
        ("IP", {"radius": 2.0, "range_filter": 1.0}),
    ],
)
def test_bad_range_knobs_are_config_errors_before_any_search(
    metric_stores: dict[str, MilvusStore], metric: str, params: dict[str, Any]
) -> None:
    store = metric_stores[metric]
    with pytest.raises(ConfigError):
        store.search(Q0, k=5, search_params=params)
    with pytest.raises(ConfigError):
        store.search(Q0, k=5, search_params=params, grouping=Grouping(by="id"))
    with pytest.raises(ConfigError):
        store.search(Q0, k=5, search_params=params, score_threshold=0.1)
    assert store.count() == 24


# DEFECT (fixed): L2 score_threshold=1e-40 (valid) raises ConfigError 'radius=inf', not every row
def test_l2_tiny_threshold_keeps_every_row(metric_stores: dict[str, MilvusStore]) -> None:
    store = metric_stores["L2"]
    query = [0.3, -0.2, 0.9, 0.1]
    every = ids(store.search(query, k=100))
    # Every L2 relevance 1 / (1 + d) of a float32 distance is above 1e-40.
    assert ids(store.search(query, k=100, score_threshold=1e-40)) == every


# -- decay -----------------------------------------------------------------------------

DECAYS = [
    {"function": "gauss", "origin": 1000, "scale": 250},
    {"function": "exp", "origin": 900, "scale": 150, "offset": 40, "decay": 0.3},
    {"function": "linear", "origin": 500, "scale": 2000, "decay": 0.2},
    {"function": "gauss", "origin": -3000, "scale": 5000, "offset": 10, "decay": 0.9},
]


def _decay_oracle(window: Sequence[Hit], field: str, params: dict[str, Any], k: int) -> list[Hit]:
    fn = params.get("function", "gauss")
    args = (params["origin"], params["scale"], params.get("offset", 0.0), params.get("decay", 0.5))
    rescored = [
        (h.score * decay_factor(fn, h.record.metadata.get(field), *args), h) for h in window
    ]
    rescored.sort(key=lambda pair: -pair[0])
    return [Hit(record=h.record, score=s, distance=h.distance) for s, h in rescored[:k]]


def test_dense_decay_follows_the_documented_formulas(
    world: tuple[MilvusStore, Any], loop: asyncio.AbstractEventLoop
) -> None:
    store, astore = world
    for where in [None, eq("cat", "c1"), text_match("alpha gamma")]:
        for params in DECAYS:
            for k in (1, 2, 5):
                window = store.search(Q0, k=10 * k, filter=where, tenant=A)  # Lite's window
                only_a(window)
                for field in ("ts", "tsk"):  # a column (Milvus' reranker), a key (here)
                    want = _decay_oracle(window, field, params, k)
                    if field == "tsk" and want and want[-1].score == 0:
                        continue  # fewer numeric rows than k: zero-score ties
                    decay = Decay(field=field, **params)
                    got = store.search(Q0, k=k, filter=where, decay=decay, tenant=A)
                    assert ids(got) == ids(want), (field, params, k)
                    assert [h.score for h in got] == pytest.approx(
                        [h.score for h in want], rel=1e-5, abs=1e-9
                    )
                    again = arun(loop, astore.search(Q0, k=k, filter=where, decay=decay, tenant=A))
                    assert ids(again) == ids(got)
    unchanged(store)


def test_decay_on_a_key_with_strings_and_nulls_ranks_them_last(
    world: tuple[MilvusStore, Any],
) -> None:
    store, _ = world
    got = store.search(Q0, k=N_A, decay=Decay(field="tsk", origin=500, scale=400), tenant=A)
    only_a(got)
    assert set(ids(got)) == A_IDS
    numeric = [
        isinstance(h.record.metadata.get("tsk"), (int, float))
        and not isinstance(h.record.metadata.get("tsk"), bool)
        for h in got
    ]
    first_other = numeric.index(False)
    assert all(numeric[:first_other]) and not any(numeric[first_other:])
    assert all(h.score == 0 for h in got[first_other:])
    assert all(0 < h.score <= 1 for h in got[:first_other])
    # A key holding only strings: every factor 0, every score 0.
    flat = store.search(Q0, k=5, decay=Decay(field="src", origin=1, scale=1), tenant=A)
    assert [h.score for h in flat] == [0.0] * 5


def test_sparse_and_hybrid_decay_rerank_their_own_window(world: tuple[MilvusStore, Any]) -> None:
    store, _ = world
    text = "beta delta omega"
    for params in DECAYS[:3]:
        for k in (2, 4):
            decay = Decay(field="ts", **params)
            window = store.sparse_search(text, k=10 * k, tenant=A)
            got = store.sparse_search(text, k=k, decay=decay, tenant=A)
            assert ids(got) == ids(_decay_oracle(window, "ts", params, k)), (params, k)
            window = store.hybrid_search(Q0, text, k=10 * k, fetch_k=10 * k, tenant=A)
            got = store.hybrid_search(Q0, text, k=k, decay=decay, tenant=A)
            only_a(got)
            assert ids(got) == ids(_decay_oracle(window, "ts", params, k)), (params, k)
            # Decay then threshold: the threshold reads the decayed relevance.
            cut = store.hybrid_search(Q0, text, k=k, decay=decay, score_threshold=0.3, tenant=A)
            assert ids(cut) == [h.id for h in got if h.score >= 0.3]
    unchanged(store)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"origin": float("nan")},
        {"origin": float("inf")},
        {"origin": "1000"},
        {"origin": True},
        {"origin": None},
        {"scale": 0},
        {"scale": -0.0},
        {"scale": -5},
        {"scale": float("nan")},
        {"scale": False},
        {"offset": -1},
        {"offset": float("-inf")},
        {"decay": 0},
        {"decay": 1},
        {"decay": 1.5},
        {"decay": float("nan")},
        {"function": "cubic"},
        {"function": None},
        {"window": 0},
        {"window": 16385},
        {"window": 2.5},
        {"field": ""},
        {"field": None},
        {"place": "gpu"},
    ],
)
def test_hostile_decay_values_are_config_errors(kwargs: dict[str, Any]) -> None:
    params: dict[str, Any] = {"field": "ts", "origin": 1000, "scale": 100, **kwargs}
    with pytest.raises(ConfigError):
        Decay(**params)


def test_decay_on_fields_that_hold_no_number_is_refused_everywhere(
    world: tuple[MilvusStore, Any], loop: asyncio.AbstractEventLoop
) -> None:
    store, astore = world
    for field in ["text", "vector", "id", "doc_id", "metadata", "cat", "tenant"]:
        decay = Decay(field=field, origin=1, scale=1)
        with pytest.raises(ConfigError, match="decay"):
            store.search(Q0, k=3, decay=decay, tenant=A)
        with pytest.raises(ConfigError, match="decay"):
            arun(loop, astore.search(Q0, k=3, decay=decay, tenant=A))
        with pytest.raises(ConfigError, match="decay"):
            store.sparse_search("alpha", k=3, decay=decay, tenant=A)
    with pytest.raises(UnsupportedByServerError, match="decay"):
        store.search(Q0, k=3, decay=Decay(field="tsk", origin=1, scale=1, place="server"))
    with pytest.raises(InvalidInputError):
        store.search(Q0, k=3, decay={"field": "ts", "origin": 1, "scale": 1})  # type: ignore[arg-type]
    unchanged(store)


# DEFECT (fixed): Decay(origin/scale/offset=10**400) raises a bare OverflowError, not ConfigError
def test_decay_with_an_int_too_large_for_a_float_is_a_config_error() -> None:
    for name in ("origin", "scale", "offset"):
        params: dict[str, Any] = {"field": "ts", "origin": 1000, "scale": 100, name: 10**400}
        with pytest.raises(ConfigError):
            Decay(**params)


# DEFECT (fixed): gauss Decay(scale=1e-200) raised a bare ZeroDivisionError / untyped error
def test_gauss_decay_with_a_tiny_scale_works_or_is_refused_with_a_typed_error(
    world: tuple[MilvusStore, Any],
) -> None:
    store, _ = world
    for field, place in [("tsk", "auto"), ("ts", "client"), ("ts", "auto")]:
        try:  # refused when the Decay is made (ConfigError), or searched
            decay = Decay(field=field, origin=500, scale=1e-200, place=place)
            hits = store.search(Q0, k=3, decay=decay, tenant=A)
        except (ConfigError, InvalidInputError):
            continue
        # Every factor is 0 except at the origin itself: all scores 0, no error.
        assert all(h.score == 0 for h in hits)
    unchanged(store)


# DEFECT (fixed): IP decay on a declared column (Lite reranker) ranked unlike relevance*factor
def test_ip_decay_on_a_column_equals_decay_on_a_key(
    metric_stores: dict[str, MilvusStore],
) -> None:
    store = metric_stores["IP"]
    extra = [
        Record(id="far", text="x", vector=[3.0, 0.0, 0.0, 0.0], metadata={"ts": 0}),
        Record(id="near", text="y", vector=[1.0, 0.01, 0.0, 0.0], metadata={"ts": 100}),
    ]
    store.upsert(extra)
    try:
        query = [1.0, 0.0, 0.0, 0.0]
        params: dict[str, Any] = {"origin": 100, "scale": 100, "function": "exp"}
        here = store.search(query, k=30, decay=Decay(field="ts", place="client", **params))
        # relevance * factor: "near" (1.0 * 1.0) beats "far" (min(1, 3.0) * 0.5).
        assert ids(here).index("near") < ids(here).index("far")
        auto = store.search(query, k=30, decay=Decay(field="ts", **params))
        assert ids(auto) == ids(here)
        assert [h.score for h in auto] == pytest.approx([h.score for h in here], rel=1e-5)
    finally:
        store.delete(["far", "near"])
        assert store.count() == 24


# -- exact terms -----------------------------------------------------------------------

HOSTILE_TERMS = [
    "') or true or ('",
    '" or id != "',
    '"quoted"',
    "back\\slash",
    "\\",
    '\\"',
    "%",
    "50%",
    "_",
    "a_b",
    "or",
    "ALPHA",
    "alpha\nor (true)",
    "x') or TEXT_MATCH(text, 'zeta",
    "alpha " * 20000,
    "q" * 70000,
]


def test_hostile_text_match_terms_select_only_their_words(
    world: tuple[MilvusStore, Any], loop: asyncio.AbstractEventLoop
) -> None:
    store, astore = world
    for term in HOSTILE_TERMS:
        want = {i for i, text in A_TEXT.items() if term_match(term, text)}
        for node, expected in ((text_match(term), want), (not_(text_match(term)), A_IDS - want)):
            got = {r.id for r in store.query(node, tenant=A)}
            assert got == expected, (term[:40], node)
            got = {r.id for r in arun(loop, astore.query(node, tenant=A))}
            assert got == expected
        as_dict = {"text": {"$text_match": term}}
        assert {r.id for r in store.query(filter_from_dict(as_dict), tenant=A)} == want
        hits = store.search(Q0, k=50, filter=text_match(term), tenant=A)
        assert {h.id for h in hits} == want
    # Unicode words match no ASCII word; the ASCII word beside them still matches.
    assert {r.id for r in store.query(text_match("caf\u00e9 \u00fcber"), tenant=A)} == set()
    both = {r.id for r in store.query(text_match("\u00fcber zeta"), tenant=A)}
    assert both == {i for i, t in A_TEXT.items() if "zeta" in words(t)}
    unchanged(store)


@pytest.mark.parametrize("bad", ["", "   ", "\t\n", None, ["alpha"], 5, b"alpha", {"q": 1}])
def test_malformed_text_match_terms_are_filter_errors(
    world: tuple[MilvusStore, Any], loop: asyncio.AbstractEventLoop, bad: Any
) -> None:
    store, astore = world
    with pytest.raises(FilterError):
        text_match(bad)
    with pytest.raises(FilterError):
        phrase_match(bad)
    with pytest.raises(FilterError):
        filter_from_dict({"text": {"$text_match": bad}})
    with pytest.raises(FilterError):
        filter_from_dict({"text": {"$phrase_match": bad}})
    with pytest.raises(FilterError):  # a dict is no core filter: refused, typed
        store.search(Q0, k=3, filter={"text": {"$text_match": bad}}, tenant=A)  # type: ignore[arg-type]
    with pytest.raises(FilterError):
        arun(loop, astore.query({"text": {"$text_match": bad}}, tenant=A))  # type: ignore[arg-type]
    unchanged(store)


def test_phrase_match_and_text_match_on_a_metadata_key_are_refused(
    world: tuple[MilvusStore, Any], loop: asyncio.AbstractEventLoop
) -> None:
    store, astore = world
    with pytest.raises(UnsupportedByServerError, match=r"2\.5\.17"):
        store.search(Q0, k=3, filter=phrase_match("alpha beta"), tenant=A)
    with pytest.raises(UnsupportedByServerError, match=r"2\.5\.17"):
        arun(
            loop,
            astore.query(filter_from_dict({"text": {"$phrase_match": "alpha beta"}}), tenant=A),
        )
    with pytest.raises(FilterError, match="text"):
        filter_from_dict({"src": {"$text_match": "s1"}})
    with pytest.raises(FilterError):
        filter_from_dict({"text": {"$phrase_match": {"phrase": "alpha", "slop": -1}}})
    unchanged(store)


def test_text_match_combined_with_hybrid_sparse_grouping_and_threshold(
    world: tuple[MilvusStore, Any],
) -> None:
    store, _ = world
    for term in ["') or true or ('", "alpha", "50% a_b"]:
        allowed = {i for i, t in A_TEXT.items() if term_match(term, t)}
        node = text_match(term)
        hybrid = store.hybrid_search(Q0, "gamma delta", k=30, filter=node, tenant=A)
        assert {h.id for h in hybrid} <= allowed
        sparse = store.sparse_search("gamma delta pad", k=30, filter=node, tenant=A)
        assert {h.id for h in sparse} == {
            i for i in allowed if term_match("gamma delta pad", A_TEXT[i])
        }
        dense = store.search(Q0, k=30, filter=node, tenant=A)
        assert {h.id for h in dense} == allowed
        grouped = store.search(Q0, k=3, filter=node, grouping=Grouping(by="src"), tenant=A)
        _check_grouped(grouped, dense, "src", 3, 1, False)
        cut = store.hybrid_search(
            Q0, "gamma delta", k=30, filter=node, score_threshold=0.3, tenant=A
        )
        assert ids(cut) == [h.id for h in hybrid if h.score >= 0.3]
    unchanged(store)


# -- adapters ----------------------------------------------------------------------------

ADIM = 6
AE1 = [1.0] + [0.0] * (ADIM - 1)


def avec(text: str) -> list[float]:
    """Hand-made, tie-free vectors: ``query ...`` is the first axis, a ``winner`` text
    almost that axis, every other text a fixed vector at a cosine > 0.36 from it."""
    if text.startswith("query"):
        return list(AE1)
    rng = random.Random(zlib.crc32(text.encode()))
    if "winner" in text:
        return [1.0, *(1e-3 * rng.random() for _ in range(ADIM - 1))]
    return _unit(rng, ADIM)


class HandEmbeddings(Embeddings):
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [avec(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return avec(text)


class HandEmbedding(BaseEmbedding):
    def _get_query_embedding(self, query: str) -> list[float]:
        return avec(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return avec(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return avec(text)


def _adapter_rows() -> list[tuple[str, str, str, dict[str, Any]]]:
    """(tenant, id, text, metadata) rows; tenant B's are "winner" texts with every word."""
    rng = random.Random(77)
    rows = []
    for i in range(24):
        text = " ".join(rng.choice(WORDS) for _ in range(3)) + (
            f" {SPECIAL[i]}" if i in SPECIAL else ""
        )
        text += " pad" * i
        meta = {"src": f"s{i % 4}", "ts": rng.randrange(0, 1000), "doc_id": f"p{i % 3}"}
        rows.append((A, f"a{i}", text, meta))
    for i in range(6):
        text = "winner " + " ".join([*WORDS, *SPECIAL.values()]) + " bonus" * i
        rows.append((B, f"b{i}", text, {"src": f"s{i % 4}", "ts": 1000, "doc_id": f"p{i % 3}"}))
    return rows


ADAPTER_ROWS = _adapter_rows()
ADAPTER_A = {i for t, i, _, _ in ADAPTER_ROWS if t == A}
ADAPTER_TEXT = {i: text for _, i, text, _ in ADAPTER_ROWS}


@pytest.fixture(scope="module")
def lc(db: str, loop: asyncio.AbstractEventLoop) -> Iterator[LangChainStore]:
    store = LangChainStore(
        HandEmbeddings(),
        uri=db,
        collection_name="lc_world",
        metadata_fields={"tenant": "VARCHAR", "ts": "INT64"},
        partition_key="tenant",
        sparse="bm25",
        text_match=True,
    )
    for tenant in (A, B):
        rows = [r for r in ADAPTER_ROWS if r[0] == tenant]
        store.add_documents(
            [Document(id=i, page_content=text, metadata=dict(meta)) for _, i, text, meta in rows],
            tenant=tenant,
        )
    yield store
    arun(loop, store.aclose())
    store.close()


def _li_node(tenant: str, node_id: str, text: str, meta: dict[str, Any]) -> TextNode:
    metadata = {k: v for k, v in meta.items() if k != "doc_id"}
    return TextNode(
        id_=node_id,
        text=text,
        embedding=avec(text),
        metadata=metadata,
        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=f"doc{meta['doc_id']}")},
    )


@pytest.fixture(scope="module")
def li(db: str, loop: asyncio.AbstractEventLoop) -> Iterator[LlamaStore]:
    store = LlamaStore(
        uri=db,
        collection_name="li_world",
        dim=ADIM,
        metadata_fields={"tenant": "VARCHAR", "ts": "INT64"},
        partition_key="tenant",
        enable_sparse=True,
        text_match=True,
    )
    for tenant in (A, B):
        store.add([_li_node(*r) for r in ADAPTER_ROWS if r[0] == tenant], tenant=tenant)
    yield store
    arun(loop, store.aclose())
    store.close()


def lc_ids(pairs: Sequence[Any]) -> list[str]:
    return [str(p[0].id if isinstance(p, tuple) else p.id) for p in pairs]


def lc_counts(store: LangChainStore) -> None:
    assert store.store.count(tenant=A) == 24 and store.store.count(tenant=B) == 6


def test_langchain_features_equal_the_core_and_never_leak_a_tenant(
    lc: LangChainStore, loop: asyncio.AbstractEventLoop
) -> None:
    core = lc.store
    qv = avec("query")
    cases: list[dict[str, Any]] = [
        {"group_by": "src"},
        {"group_by": "src", "group_size": 2, "strict_group_size": True},
        {"group_by": "id", "filter": {"text": {"$text_match": "alpha"}}},
        {"score_threshold": 0.6},
        {"score_threshold": 0.0, "filter": {"src": "s1"}},
        {"decay": {"field": "ts", "origin": 1000, "scale": 300}},
        {"decay": Decay(field="ts", origin=0, scale=200, function="exp")},
        {"filter": {"text": {"$text_match": "') or true or ('"}}},
        {"group_by": "src", "score_threshold": 0.5, "filter": {"text": {"$text_match": "beta"}}},
        {"search_params": {"radius": 0.5, "range_filter": 0.9}},
    ]
    for kwargs in cases:
        got = lc.similarity_search_with_score("query", k=5, tenant=A, **kwargs)
        assert set(lc_ids(got)) <= ADAPTER_A, kwargs
        agot = arun(loop, lc.asimilarity_search_with_score("query", k=5, tenant=A, **kwargs))
        assert lc_ids(agot) == lc_ids(got), kwargs
        core_kwargs: dict[str, Any] = {"tenant": A}
        if "group_by" in kwargs:
            # LangChain's group_by is a metadata key, as its filters' keys are ("id" is
            # metadata["id"], not the document id).
            core_kwargs["grouping"] = Grouping(
                by=kwargs["group_by"],
                size=kwargs.get("group_size", 1),
                strict=kwargs.get("strict_group_size", False),
                by_metadata_key=True,
            )
        if "decay" in kwargs:
            d = kwargs["decay"]
            core_kwargs["decay"] = d if isinstance(d, Decay) else Decay(**d)
        for name in ("score_threshold", "search_params"):
            if name in kwargs:
                core_kwargs[name] = kwargs[name]
        if "filter" in kwargs:
            core_kwargs["filter"] = filter_from_dict(kwargs["filter"])
        want = core.search(qv, k=5, **core_kwargs)
        assert lc_ids(got) == ids(want), kwargs
        assert [s for _, s in got] == pytest.approx([h.score for h in want])
        by_vector = lc.similarity_search_by_vector(qv, k=5, tenant=A, **kwargs)
        assert lc_ids(by_vector) == ids(want), kwargs
    for mode in ("sparse", "hybrid"):
        for kwargs in [
            {"group_by": "src"},
            {"score_threshold": 0.4},
            {"decay": {"field": "ts", "origin": 1000, "scale": 300}},
            {"filter": {"text": {"$text_match": "zeta or"}}},
        ]:
            got = lc.similarity_search_with_score(
                "query alpha gamma", k=4, retrieval_mode=mode, tenant=A, **kwargs
            )
            assert got and set(lc_ids(got)) <= ADAPTER_A, (mode, kwargs)
            agot = arun(
                loop,
                lc.asimilarity_search_with_score(
                    "query alpha gamma", k=4, retrieval_mode=mode, tenant=A, **kwargs
                ),
            )
            assert lc_ids(agot) == lc_ids(got), (mode, kwargs)
    retriever = lc.as_retriever(
        search_type="similarity_score_threshold",
        search_kwargs={"k": 6, "score_threshold": 0.5, "group_by": "src", "tenant": A},
    )
    docs = retriever.invoke("query")
    want = core.search(qv, k=6, grouping=Grouping(by="src"), score_threshold=0.5, tenant=A)
    assert [d.id for d in docs] == ids(want)
    mmr = lc.max_marginal_relevance_search(
        "query", k=3, fetch_k=8, tenant=A, filter={"text": {"$text_match": "alpha"}}
    )
    assert {d.id for d in mmr} <= {i for i in ADAPTER_A if "alpha" in words(ADAPTER_TEXT[i])}
    lc_counts(lc)


def test_langchain_threshold_equals_filtering_the_unthresholded_scores(
    lc: LangChainStore, loop: asyncio.AbstractEventLoop
) -> None:
    for mode in ("dense", "sparse", "hybrid"):
        plain = lc.similarity_search_with_score(
            "query beta delta", k=12, retrieval_mode=mode, tenant=A
        )
        assert plain
        for t in [0.0, -0.0, 0.3, 0.55, 0.8, 1.0]:
            want = [d.id for d, s in plain if s >= t]
            got = lc.similarity_search_with_relevance_scores(
                "query beta delta", k=12, retrieval_mode=mode, tenant=A, score_threshold=t
            )
            assert lc_ids(got) == want, (mode, t)
            agot = arun(
                loop,
                lc.asimilarity_search_with_relevance_scores(
                    "query beta delta", k=12, retrieval_mode=mode, tenant=A, score_threshold=t
                ),
            )
            assert lc_ids(agot) == want, (mode, t)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"group_by": "src", "group_size": 0}, ConfigError),
        ({"group_by": "src", "group_size": -1}, ConfigError),
        ({"group_by": "src", "group_size": True}, ConfigError),
        ({"group_by": "src", "group_size": 2.0}, ConfigError),
        ({"group_by": "src", "group_size": "2"}, ConfigError),
        ({"group_by": "src", "group_size": 10**9}, ConfigError),
        ({"group_by": "src", "strict_group_size": "yes"}, ConfigError),
        ({"strict_group_size": True}, ConfigError),  # no source-document id in LangChain
        ({"group_size": 2}, ConfigError),
        ({"group_by": True}, ConfigError),
        ({"group_by": 7}, ConfigError),
        ({"group_by": ""}, ConfigError),
        ({"group_by": False, "group_size": 2}, ConfigError),
        ({"group_by": "text"}, ConfigError),
        ({"group_by": "vector"}, ConfigError),
        ({"group_by": "metadata"}, ConfigError),
        ({"group_by": "src", "decay": {"field": "ts", "origin": 1, "scale": 1}}, InvalidInputError),
        ({"score_threshold": float("nan")}, ConfigError),
        ({"score_threshold": float("inf")}, ConfigError),
        ({"score_threshold": 1.5}, ConfigError),
        ({"score_threshold": True}, ConfigError),
        ({"score_threshold": "0.5"}, ConfigError),
        ({"search_params": {"radius": 0.9, "range_filter": 0.1}}, ConfigError),
        ({"search_params": {"radius": 5}}, ConfigError),
        ({"search_params": {"range_filter": 0.5}}, ConfigError),
        ({"decay": {"field": "ts", "origin": float("nan"), "scale": 1}}, ConfigError),
        ({"decay": {"field": "ts", "origin": "2020", "scale": 1}}, ConfigError),
        ({"decay": {"field": "ts", "origin": 1, "scale": 0}}, ConfigError),
        ({"decay": {"field": "ts", "origin": 1}}, ConfigError),
        ({"decay": {"field": "ts", "origin": 1, "scale": 1, "half_life": 3}}, ConfigError),
        ({"decay": {"field": "text", "origin": 1, "scale": 1}}, ConfigError),
        ({"decay": {"field": "tenant", "origin": 1, "scale": 1}}, ConfigError),
        ({"decay": "recent"}, ConfigError),
        ({"decay": True}, ConfigError),
        ({"filter": {"text": {"$text_match": ""}}}, FilterError),
        ({"filter": {"text": {"$text_match": None}}}, FilterError),
        ({"filter": {"text": {"$text_match": ["alpha"]}}}, FilterError),
        ({"filter": {"src": {"$text_match": "s1"}}}, FilterError),
        ({"filter": {"text": {"$phrase_match": "alpha beta"}}}, UnsupportedByServerError),
        ({"group_bye": "src"}, UnexpectedArgumentError),
    ],
)
def test_langchain_hostile_feature_kwargs_raise_the_same_typed_error_sync_and_async(
    lc: LangChainStore, loop: asyncio.AbstractEventLoop, kwargs: dict[str, Any], error: type
) -> None:
    with pytest.raises(error):
        lc.similarity_search("query", k=3, tenant=A, **kwargs)
    with pytest.raises(error):
        arun(loop, lc.asimilarity_search("query", k=3, tenant=A, **kwargs))
    with pytest.raises(error):
        lc.similarity_search_with_score("query", k=3, retrieval_mode="hybrid", tenant=A, **kwargs)
    lc_counts(lc)


def test_langchain_mmr_refuses_search_features(lc: LangChainStore) -> None:
    for kwargs in [{"group_by": "src"}, {"score_threshold": 0.5}, {"decay": {"field": "ts"}}]:
        with pytest.raises(UnexpectedArgumentError):
            lc.max_marginal_relevance_search("query", k=2, fetch_k=6, tenant=A, **kwargs)
    lc_counts(lc)


# DEFECT (fixed): LangChain group_by='doc_id' grouped by the empty column, not metadata doc_id
def test_langchain_group_by_doc_id_reads_what_the_doc_id_filter_reads(
    lc: LangChainStore,
) -> None:
    p0 = lc.similarity_search("query", k=30, tenant=A, filter={"doc_id": "p0"})
    assert p0 and {d.metadata["doc_id"] for d in p0} == {"p0"}  # the metadata key
    # Expected: one best document per metadata doc_id (p0, p1, p2), or a ConfigError like
    # group_by=True's ("documents have no source-document id").
    try:
        grouped = lc.similarity_search("query", k=3, tenant=A, group_by="doc_id")
    except ConfigError:
        return
    assert sorted(d.metadata["doc_id"] for d in grouped) == ["p0", "p1", "p2"]


def _lq(text: str = "query", **kwargs: Any) -> VectorStoreQuery:
    base: dict[str, Any] = {
        "query_embedding": avec(text),
        "query_str": text,
        "similarity_top_k": 5,
    }
    base.update(kwargs)
    return VectorStoreQuery(**base)


def _tm(value: Any, condition: FilterCondition = FilterCondition.AND) -> MetadataFilters:
    return MetadataFilters(
        filters=[MetadataFilter(key="text", operator=FilterOperator.TEXT_MATCH, value=value)],
        condition=condition,
    )


def li_counts(store: LlamaStore) -> None:
    assert store.store.count(tenant=A) == 24 and store.store.count(tenant=B) == 6


def test_llama_index_features_equal_the_core_and_never_leak_a_tenant(
    li: LlamaStore, loop: asyncio.AbstractEventLoop
) -> None:
    core = li.store
    qv = avec("query")
    cases: list[tuple[dict[str, Any], dict[str, Any], VectorStoreQuery]] = [
        ({"group_by": True}, {"grouping": Grouping()}, _lq()),
        ({"group_size": 2}, {"grouping": Grouping(size=2)}, _lq()),
        ({"strict_group_size": True}, {"grouping": Grouping(strict=True)}, _lq()),
        ({"group_by": "src", "group_size": 3}, {"grouping": Grouping(by="src", size=3)}, _lq()),
        ({"similarity_cutoff": 0.6}, {"score_threshold": 0.6}, _lq()),
        (
            {"similarity_cutoff": 0.5, "group_by": True},
            {"score_threshold": 0.5, "grouping": Grouping()},
            _lq(),
        ),
        (
            {"decay": {"field": "ts", "origin": 1000, "scale": 300}},
            {"decay": Decay(field="ts", origin=1000, scale=300)},
            _lq(),
        ),
        (
            {},
            {"filter": text_match("') or true or (' alpha")},
            _lq(filters=_tm("') or true or (' alpha")),
        ),
        (
            {"group_by": True},
            {"filter": not_(text_match("zeta")), "grouping": Grouping()},
            _lq(filters=_tm("zeta", FilterCondition.NOT)),
        ),
    ]
    for kwargs, core_kwargs, query in cases:
        got = li.query(query, tenant=A, **kwargs)
        assert set(got.ids or []) <= ADAPTER_A, kwargs
        agot = arun(loop, li.aquery(query, tenant=A, **kwargs))
        assert agot.ids == got.ids, kwargs
        want = core.search(qv, k=5, tenant=A, **core_kwargs)
        assert got.ids == ids(want), kwargs
        assert got.similarities == pytest.approx([h.score for h in want])
    for mode in (VectorStoreQueryMode.TEXT_SEARCH, VectorStoreQueryMode.HYBRID):
        for kwargs in [{"group_by": True}, {"similarity_cutoff": 0.4}, {"group_by": "src"}]:
            query = _lq("query alpha gamma", mode=mode, filters=_tm("alpha gamma or"))
            got = li.query(query, tenant=A, **kwargs)
            assert got.ids and set(got.ids) <= ADAPTER_A, (mode, kwargs)
            assert all(term_match("alpha gamma or", ADAPTER_TEXT[i]) for i in got.ids)
            assert arun(loop, li.aquery(query, tenant=A, **kwargs)).ids == got.ids
    mmr = li.query(_lq(mode=VectorStoreQueryMode.MMR, filters=_tm("beta")), tenant=A)
    assert mmr.ids and set(mmr.ids) <= {i for i in ADAPTER_A if "beta" in words(ADAPTER_TEXT[i])}
    li_counts(li)


def test_llama_index_cutoff_equals_filtering_the_uncut_scores(
    li: LlamaStore, loop: asyncio.AbstractEventLoop
) -> None:
    for mode in (
        VectorStoreQueryMode.DEFAULT,
        VectorStoreQueryMode.TEXT_SEARCH,
        VectorStoreQueryMode.HYBRID,
    ):
        query = _lq("query beta delta", mode=mode, similarity_top_k=12)
        plain = li.query(query, tenant=A)
        assert plain.ids
        for t in [0.0, -0.0, 0.3, 0.55, 0.8, 1.0]:
            want = [
                i for i, s in zip(plain.ids or [], plain.similarities or [], strict=True) if s >= t
            ]
            assert li.query(query, tenant=A, similarity_cutoff=t).ids == want, (mode, t)
            assert arun(loop, li.aquery(query, tenant=A, similarity_cutoff=t)).ids == want


@pytest.mark.parametrize(
    "kwargs",
    [
        {"group_by": True, "group_size": 0},
        {"group_by": True, "group_size": True},
        {"group_by": True, "group_size": 1.5},
        {"group_by": True, "group_size": 4096},
        {"group_by": True, "strict_group_size": "yes"},
        {"group_by": 1},
        {"group_by": ""},
        {"group_by": False, "strict_group_size": True},
        {"group_by": "text"},
        {"group_by": "vector"},
        {"similarity_cutoff": float("nan")},
        {"similarity_cutoff": -1},
        {"similarity_cutoff": 1.01},
        {"similarity_cutoff": True},
        {"similarity_cutoff": "0.5"},
        {"decay": {"field": "ts", "origin": float("inf"), "scale": 1}},
        {"decay": {"field": "ts", "origin": 1, "scale": -1}},
        {"decay": {"field": "ts", "origin": 1}},
        {"decay": {"field": "text", "origin": 1, "scale": 1}},
        {"decay": {"field": "doc_id", "origin": 1, "scale": 1}},
        {"decay": {"field": "ts", "origin": 1, "scale": 1}, "group_by": True},
        {"decay": [1, 2]},
        {"group_by_field": "src"},
    ],
)
def test_llama_index_hostile_feature_kwargs_are_typed_errors_sync_and_async(
    li: LlamaStore, loop: asyncio.AbstractEventLoop, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(MilvusPluginsError) as sync_error:
        li.query(_lq(), tenant=A, **kwargs)
    with pytest.raises(MilvusPluginsError) as async_error:
        arun(loop, li.aquery(_lq(), tenant=A, **kwargs))
    assert type(async_error.value) is type(sync_error.value)
    li_counts(li)


@pytest.mark.parametrize("value", ["", "  ", ["alpha"], 5])
def test_llama_index_malformed_text_match_values_are_filter_errors(
    li: LlamaStore, loop: asyncio.AbstractEventLoop, value: Any
) -> None:
    with pytest.raises(FilterError):
        li.query(_lq(filters=_tm(value)), tenant=A)
    with pytest.raises(FilterError):
        arun(loop, li.aquery(_lq(filters=_tm(value)), tenant=A))
    li_counts(li)


def test_llama_index_refuses_grouping_and_decay_in_mmr(li: LlamaStore) -> None:
    mmr = _lq(mode=VectorStoreQueryMode.MMR)
    for kwargs in [{"group_by": True}, {"decay": {"field": "ts", "origin": 1, "scale": 1}}]:
        with pytest.raises(InvalidInputError):
            li.query(mmr, tenant=A, **kwargs)
    li_counts(li)


# DEFECT (fixed): LlamaIndex group_by='ref_doc_id' is one group; filters read it as the source doc
def test_llama_index_group_by_ref_doc_id_is_the_source_document(li: LlamaStore) -> None:
    doc = MetadataFilters(
        filters=[MetadataFilter(key="ref_doc_id", operator=FilterOperator.EQ, value="docp1")]
    )
    by_filter = li.query(_lq(filters=doc, similarity_top_k=30), tenant=A)
    assert by_filter.ids and {n.ref_doc_id for n in by_filter.nodes or []} == {"docp1"}
    by_true = li.query(_lq(), tenant=A, group_by=True)
    assert len(by_true.ids or []) == 3
    try:
        by_name = li.query(_lq(), tenant=A, group_by="ref_doc_id")
    except ConfigError:
        return  # refused, naming group_by=True: also fine
    assert by_name.ids == by_true.ids


def test_tenant_a_never_sees_tenant_b_through_any_feature(
    world: tuple[MilvusStore, Any], loop: asyncio.AbstractEventLoop
) -> None:
    """Tenant B's rows are the best match for every feature: none may reach tenant A."""
    store, astore = world
    decay = Decay(field="ts", origin=1000, scale=50)
    calls: list[Callable[[], list[Hit]]] = [
        lambda: store.search(Q0, k=40, tenant=A, grouping=Grouping(size=3, strict=True)),
        lambda: store.search(Q0, k=40, tenant=A, score_threshold=0.0),
        lambda: store.search(Q0, k=40, tenant=A, search_params={"radius": -1.0}),
        lambda: store.search(Q0, k=40, tenant=A, decay=decay),
        lambda: store.search(Q0, k=40, tenant=A, decay=Decay(field="tsk", origin=1000, scale=9)),
        lambda: store.search(Q0, k=40, tenant=A, filter=text_match("bonus winner pad")),
        lambda: store.sparse_search("bonus zeta true", k=40, tenant=A, grouping=Grouping()),
        lambda: store.sparse_search("bonus zeta", k=40, tenant=A, decay=decay),
        lambda: store.hybrid_search(Q0, "bonus", k=40, tenant=A, grouping=Grouping(by="src")),
        lambda: store.hybrid_search(Q0, "bonus pad", k=40, tenant=A, decay=decay),
        lambda: store.hybrid_search(Q0, "bonus", k=40, tenant=A, score_threshold=0.0),
        lambda: store.mmr_search(Q0, k=10, fetch_k=40, tenant=A, filter=text_match("bonus pad")),
        lambda: store.search(Q0, k=40, filter=eq("tenant", B), tenant=A),
    ]
    for call in calls:
        only_a(call())
    async_calls = [
        astore.search(Q0, k=40, tenant=A, grouping=Grouping(by="src", size=5)),
        astore.search(Q0, k=40, tenant=A, decay=decay),
        astore.hybrid_search(Q0, "bonus", k=40, tenant=A, score_threshold=0.0),
        astore.query(text_match("bonus pad"), tenant=A),
    ]
    for coro in async_calls:
        found = arun(loop, coro)
        assert {getattr(x, "id", None) for x in found} <= A_IDS
    assert store.search(Q0, k=5, filter=eq("tenant", B), tenant=A) == []
    # MMR with fewer candidates than k answers fetch_k hits (README), all of tenant A.
    few = store.mmr_search(Q0, k=10, fetch_k=3, tenant=A, filter=text_match("alpha"))
    assert len(few) == 3 and {h.id for h in few} <= {
        i for i, t in A_TEXT.items() if "alpha" in words(t)
    }
    unchanged(store)


def test_store_level_tenant_and_strict_mode_hold_for_every_feature(
    world: tuple[MilvusStore, Any], db: str
) -> None:
    store, _ = world
    mine = MilvusStore(_world_spec(), connection=ConnectionConfig(uri=db), tenant=A)
    strict = MilvusStore(_world_spec(), connection=ConnectionConfig(uri=db), tenant_mode="strict")
    try:
        decay = Decay(field="ts", origin=1000, scale=50)
        only_a(mine.search(Q0, k=40, grouping=Grouping(size=2)))
        only_a(mine.search(Q0, k=40, decay=decay))
        only_a(mine.hybrid_search(Q0, "bonus", k=40, score_threshold=0.0))
        only_a(mine.sparse_search("bonus true", k=40, grouping=Grouping(by="src")))
        assert {r.id for r in mine.query(text_match("bonus pad"))} == {
            i for i, t in A_TEXT.items() if "pad" in words(t)
        }
        assert ids(mine.search(Q0, k=6, decay=decay)) == ids(
            store.search(Q0, k=6, decay=decay, tenant=A)
        )
        refused: list[Callable[[], Any]] = [
            lambda: strict.search(Q0, k=3, grouping=Grouping()),
            lambda: strict.search(Q0, k=3, decay=decay),
            lambda: strict.search(Q0, k=3, score_threshold=0.5),
            lambda: strict.hybrid_search(Q0, "alpha", k=3, filter=text_match("alpha")),
            lambda: strict.sparse_search("alpha", k=3, grouping=Grouping(by="src")),
        ]
        for call in refused:
            with pytest.raises(TenantRequiredError):
                call()
        with pytest.raises(RawFilterRefusedError):
            strict.search(Q0, k=3, filter='tenant != ""', grouping=Grouping(), tenant=A)
        only_a(strict.search(Q0, k=40, tenant=A, grouping=Grouping(by="mixed")))
    finally:
        mine.close()
        strict.close()
    unchanged(store)


def test_module_runs_on_milvus_lite_3(world: tuple[MilvusStore, Any], db: str) -> None:
    """The claims above are those of Milvus Lite 3.2.2 (decay reranker, TEXT_MATCH, no
    complete grouping): if the engine changes, this says so first."""
    store, _ = world
    caps = store.capabilities
    assert Path(db).exists()
    assert caps.text_match and not caps.phrase_match
    assert caps.decay_ranker and not caps.grouping
