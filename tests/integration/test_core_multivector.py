"""Stores that are not one dense + one sparse field, on every engine.

* Sparse-only collections (``CollectionSpec(dense=False)``): BM25 or client sparse vectors
  and no dense field; add, get, delete, keyword search and filter-only retrieval work,
  dense, hybrid and MMR searches are refused with the fix, before any I/O.
* Named dense fields (``vector_fields``): each written from ``Record.vectors``, searched
  by name, fused in an N-leg hybrid search (N dense legs, plus sparse), on the client or
  by the server's ``hybrid_search``; Milvus 2.3 refuses several vector fields with
  :class:`UnsupportedByServerError` naming 2.4.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

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
    UnsupportedByServerError,
    Weighted,
    eq,
)
from milvus_plugins.core.ops.fusion import client_fuse_legs
from milvus_plugins.core.ranking import fuse, legs_relevance
from milvus_plugins.core.types import MetricType

TEXTS = {
    "a": "the cat sat on the mat",
    "b": "dogs bark at the mailman",
    "c": "a cat and a dog play together",
    "d": "quantum physics of black holes",
    "e": "black cat crossing the road",
}
TOPIC = {"a": "pets", "b": "pets", "c": "pets", "d": "science", "e": "pets"}


def _angle(deg: float, dim: int) -> list[float]:
    v = [math.cos(math.radians(deg)), math.sin(math.radians(deg))]
    return v + [0.0] * (dim - 2)


# Body vectors (dim 2) and title vectors (dim 3) order the documents differently:
# body: a, b, c, d, e by angle from 0 degrees; title: e, d, c, b, a.
BODY = {k: _angle(15.0 * i, 2) for i, k in enumerate("abcde")}
TITLE = {k: _angle(15.0 * (4 - i), 3) for i, k in enumerate("abcde")}
# Hybrid query legs that rank every document apart in each leg, and give no two of them
# the same RRF sum: body (20 degrees) b, c, a, d, e; title (55 degrees) a, b, c, d, e.
# (BODY["b"] ties a with c, TITLE["d"] c with e: Milvus orders tied rows either way, so
# two searches could fuse a and e in different orders.)
LEGS = {"vector": _angle(20.0, 2), "title": _angle(55.0, 3)}


def records(*, dense: bool = True, named: bool = True) -> list[Record]:
    return [
        Record(
            id=k,
            text=TEXTS[k],
            metadata={"topic": TOPIC[k]},
            vector=BODY[k] if dense else None,
            vectors={"title": TITLE[k]} if named else {},
        )
        for k in TEXTS
    ]


def ids(hits: list) -> list[str]:  # type: ignore[type-arg]
    return [h.id for h in hits]


@pytest.fixture
def conn(uri: str) -> ConnectionConfig:
    return ConnectionConfig(uri=uri)


def _store(conn: ConnectionConfig, spec: CollectionSpec, **kwargs: object) -> Iterator[MilvusStore]:
    store = MilvusStore(spec, connection=conn, **kwargs)  # type: ignore[arg-type]
    try:
        yield store
    finally:
        store.close()


# -- sparse-only ---------------------------------------------------------------------------


@pytest.fixture
def sparse_only(conn: ConnectionConfig, collection_name: str) -> Iterator[MilvusStore]:
    yield from _store(conn, CollectionSpec(name=collection_name, dense=False, sparse="bm25"))


def test_sparse_only_store_adds_gets_searches_deletes(sparse_only: MilvusStore) -> None:
    caps = sparse_only.capabilities
    if not caps.sparse:
        with pytest.raises(UnsupportedByServerError, match=r"sparse vectors.*2\.4"):
            sparse_only.upsert(records(dense=False, named=False))
        assert not sparse_only.exists()
        return
    assert sparse_only.upsert(records(dense=False, named=False)) == list(TEXTS)
    assert sorted(r.id for r in sparse_only.get(["a", "d", "zz"])) == ["a", "d"]
    assert sparse_only.get(["a"])[0].vector is None
    hits = sparse_only.sparse_search("cat", k=5)
    assert set(ids(hits)) == {"a", "c", "e"}
    assert all(0.0 < h.score <= 1.0 for h in hits)
    assert ids(sparse_only.sparse_search("cat", k=5, filter=eq("topic", "pets"))) == ids(hits)
    assert ids(
        sparse_only.retrieve(mode="sparse", text="black", k=5, filter=eq("topic", "science"))
    ) == ["d"]
    filtered = sparse_only.retrieve(mode="sparse", text="", k=10, filter=eq("topic", "science"))
    assert ids(filtered) == ["d"] and filtered[0].score == 1.0
    assert sparse_only.delete(["a"]) == 1
    assert sparse_only.count() == 4
    assert "a" not in ids(sparse_only.sparse_search("cat", k=5))


def test_sparse_only_refuses_dense_hybrid_and_mmr_before_io(
    conn: ConnectionConfig, collection_name: str
) -> None:
    store = MilvusStore(
        CollectionSpec(name=collection_name, dense=False, sparse="bm25"), connection=conn
    )
    try:
        for call in (
            lambda: store.search([1.0, 0.0], k=2),
            lambda: store.hybrid_search([1.0, 0.0], "cat", k=2),
            lambda: store.mmr_search([1.0, 0.0], k=2),
            lambda: store.retrieve(mode="dense", vector=[1.0, 0.0], k=2),
        ):
            with pytest.raises(
                ConfigError, match=r"sparse-only \(dense=False\).*keyword \(sparse\) search"
            ):
                call()
        with pytest.raises(InvalidInputError, match="sparse-only"):
            store.upsert([Record(id="x", text="cat", vector=[1.0, 0.0])])
        assert not store.exists()  # nothing was created
    finally:
        store.close()


def test_sparse_only_with_a_client_encoder(conn: ConnectionConfig, collection_name: str) -> None:
    encoder = BM25Encoder().fit(TEXTS.values())
    spec = CollectionSpec(name=collection_name, dense=False, sparse="client")
    store = MilvusStore(spec, connection=conn, sparse_encoder=encoder)
    try:
        if not store.capabilities.sparse:
            with pytest.raises(UnsupportedByServerError, match="sparse vectors"):
                store.upsert(records(dense=False, named=False))
            return
        store.upsert(records(dense=False, named=False))
        hits = store.sparse_search(store.sparse_query("black"), k=3)
        assert set(ids(hits)) == {"d", "e"}
        assert all(0.0 < h.score <= 1.0 for h in hits)
    finally:
        store.close()


def test_sparse_only_spec_needs_a_sparse_field_and_no_dense_settings() -> None:
    with pytest.raises(ConfigError, match="needs a sparse field"):
        CollectionSpec(name="c", dense=False)
    with pytest.raises(ConfigError, match="drop dim="):
        CollectionSpec(name="c", dense=False, sparse="bm25", dim=4)


def test_sparse_only_reopen_of_a_dense_collection_is_a_mismatch(
    conn: ConnectionConfig, collection_name: str
) -> None:
    dense = MilvusStore(CollectionSpec(name=collection_name), connection=conn)
    dense.upsert(records(named=False))
    dense.close()
    store = MilvusStore(
        CollectionSpec(name=collection_name, dense=False, sparse="bm25"), connection=conn
    )
    try:
        if not store.capabilities.sparse:
            return  # the spec itself is refused there (test above)
        with pytest.raises(SchemaMismatchError, match="sparse-only"):
            store.count()
    finally:
        store.close()


# -- named dense fields and N-leg hybrid ---------------------------------------------------


def multi_spec(name: str, *, sparse: str = "none") -> CollectionSpec:
    return CollectionSpec(
        name=name, sparse=sparse, vector_fields=[DenseField(name="title", metric="L2")]
    )


@pytest.fixture
def multi(conn: ConnectionConfig, collection_name: str) -> Iterator[MilvusStore]:
    yield from _store(conn, multi_spec(collection_name))


@pytest.fixture
def multi_bm25(conn: ConnectionConfig, collection_name: str) -> Iterator[MilvusStore]:
    yield from _store(conn, multi_spec(collection_name + "_b", sparse="bm25"))


def _filled(store: MilvusStore) -> bool:
    """Write the records; ``False`` (after checking the typed error) where unsupported."""
    if not store.capabilities.multi_vector:
        with pytest.raises(UnsupportedByServerError, match=r"multiple vector fields.*2\.4"):
            store.upsert(records())
        assert not store.exists()
        return False
    store.upsert(records())
    return True


def test_named_field_search_targets_that_field(multi: MilvusStore) -> None:
    if not _filled(multi):
        return
    assert ids(multi.search(BODY["a"], k=2)) == ["a", "b"]
    title_hits = multi.search(TITLE["a"], k=5, field="title")
    assert ids(title_hits) == ["a", "b", "c", "d", "e"]
    assert title_hits[0].score == pytest.approx(1.0)  # L2 distance 0
    assert all(0.0 <= h.score <= 1.0 for h in title_hits)
    got = multi.get(["c"], include_vectors=True)[0]
    assert got.vectors["title"] == pytest.approx(TITLE["c"])
    assert got.vector == pytest.approx(BODY["c"])
    with pytest.raises(ConfigError, match="'nope' is not a dense field"):
        multi.search(BODY["a"], field="nope")


def test_named_vectors_are_checked_before_writing(multi: MilvusStore) -> None:
    bad = records()
    bad[2].vectors = {}
    with pytest.raises(InvalidInputError, match="field 'title' is missing"):
        multi.upsert(bad)
    bad = records()
    bad[1].vectors = {"title": TITLE["b"], "other": [1.0]}
    with pytest.raises(InvalidInputError, match="does not have"):
        multi.upsert(bad)
    assert not multi.exists()


@pytest.mark.parametrize(
    "ranker", [RRF(), Weighted(0.3, 0.7), Weighted(0.9, 0.1)], ids=["rrf", "w37", "w91"]
)
def test_two_dense_legs_fuse_alike_on_client_and_server(
    multi: MilvusStore, ranker: RRF | Weighted
) -> None:
    if not _filled(multi):
        return
    legs = dict(LEGS)
    client = multi.hybrid_search(legs, k=5, ranker=ranker, fusion="client")
    server = multi.hybrid_search(legs, k=5, ranker=ranker, fusion="server")
    assert ids(client) == ids(server)
    if isinstance(ranker, RRF):
        assert ids(client) == ["b", "a", "c", "d", "e"]
    for c, s in zip(client, server, strict=True):
        assert c.distance == pytest.approx(s.distance, abs=1e-5)
        assert 0.0 <= c.score <= 1.0 and 0.0 <= s.score <= 1.0
    # The client relevance is the weighted mean of each leg's relevance.
    body = {h.id: h.score for h in multi.search(legs["vector"], k=5)}
    title = {h.id: h.score for h in multi.search(legs["title"], k=5, field="title")}
    for hit in client:
        assert hit.score == pytest.approx(legs_relevance([body[hit.id], title[hit.id]], ranker))


def test_three_leg_hybrid_with_bm25(multi_bm25: MilvusStore) -> None:
    caps = multi_bm25.capabilities
    if not (caps.multi_vector and caps.bm25_function):
        with pytest.raises(UnsupportedByServerError, match=r"2\.4"):
            multi_bm25.upsert(records())
        return
    multi_bm25.upsert(records())
    legs = {"vector": BODY["a"], "title": TITLE["a"]}
    ranker = Weighted(0.2, 0.2, 0.6)
    client = multi_bm25.hybrid_search(legs, "black", k=5, ranker=ranker)
    server = multi_bm25.hybrid_search(legs, "black", k=5, ranker=ranker, fusion="server")
    assert ids(client) == ids(server)
    assert all(0.0 <= h.score <= 1.0 for h in [*client, *server])
    filtered = multi_bm25.hybrid_search(legs, "black", k=5, filter=eq("topic", "science"))
    assert ids(filtered) == ["d"]
    with pytest.raises(ConfigError, match=r"2 weights for 3 search legs.*vector, title, sparse"):
        multi_bm25.hybrid_search(legs, "black", ranker=Weighted(0.5, 0.5))
    planned = multi_bm25.retrieve(mode="hybrid", vectors=legs, text="black", k=5, ranker=ranker)
    assert ids(planned) == ids(client)


def test_hybrid_legs_are_checked_before_io(conn: ConnectionConfig, collection_name: str) -> None:
    store = MilvusStore(multi_spec(collection_name), connection=conn)
    try:
        with pytest.raises(ConfigError, match="at least two legs"):
            store.hybrid_search({"title": TITLE["a"]}, k=2)
        with pytest.raises(ConfigError, match="3 weights for 2 search legs"):
            store.hybrid_search(
                {"vector": BODY["a"], "title": TITLE["a"]}, ranker=Weighted(0.1, 0.2, 0.7)
            )
        with pytest.raises(ConfigError, match="no sparse field"):
            store.hybrid_search({"vector": BODY["a"], "title": TITLE["a"]}, "cat")
        with pytest.raises(ConfigError, match="not a dense field"):
            store.hybrid_search({"vector": BODY["a"], "tilte": TITLE["a"]})
        assert not store.exists()
    finally:
        store.close()


def test_reopen_checks_named_field_dimensions(conn: ConnectionConfig, collection_name: str) -> None:
    first = MilvusStore(multi_spec(collection_name), connection=conn)
    try:
        if not _filled(first):
            return
    finally:
        first.close()
    again = MilvusStore(multi_spec(collection_name), connection=conn)
    assert again.count() == 5
    assert again.spec.extra_vector_fields[0].dim == 3
    again.close()
    wrong = CollectionSpec(
        name=collection_name, vector_fields=[DenseField(name="title", dim=7, metric="L2")]
    )
    store = MilvusStore(wrong, connection=conn)
    with pytest.raises(SchemaMismatchError, match="'title' stores dim=3"):
        store.count()
    store.close()


async def test_async_twins_serve_named_fields_and_sparse_only(
    conn: ConnectionConfig, collection_name: str
) -> None:
    store = MilvusStore(multi_spec(collection_name), connection=conn)
    astore = AsyncMilvusStore(store)
    try:
        if not store.capabilities.multi_vector:
            with pytest.raises(UnsupportedByServerError, match="multiple vector fields"):
                await astore.upsert(records())
            return
        await astore.upsert(records())
        assert ids(await astore.search(TITLE["e"], k=1, field="title")) == ["e"]
        legs = dict(LEGS)
        twin = ids(await astore.hybrid_search(legs, k=5))
        assert twin == ids(store.hybrid_search(legs, k=5)) == ["b", "a", "c", "d", "e"]
        planned = await astore.retrieve(mode="dense", vector=TITLE["a"], field="title", k=1)
        assert ids(planned) == ["a"]
    finally:
        await astore.close()
    sparse = MilvusStore(
        CollectionSpec(name=collection_name + "_s", dense=False, sparse="bm25"), connection=conn
    )
    asparse = AsyncMilvusStore(sparse)
    try:
        await asparse.upsert(records(dense=False, named=False))
        assert set(ids(await asparse.sparse_search("cat", k=5))) == {"a", "c", "e"}
        with pytest.raises(ConfigError, match="sparse-only"):
            await asparse.search([1.0, 0.0])
    finally:
        await asparse.close()


# -- pure: N-leg fusion agrees with the two-leg functions ---------------------------------


def test_legs_relevance_of_two_legs_is_hybrid_relevance() -> None:
    from milvus_plugins.core.ranking import hybrid_relevance

    for ranker in (RRF(), Weighted(0.2, 0.8)):
        for d, s in [(0.9, None), (None, 0.4), (0.3, 0.7), (None, None)]:
            assert legs_relevance([d, s], ranker) == hybrid_relevance(d, s, ranker)


def test_client_fuse_legs_orders_as_fuse() -> None:
    from milvus_plugins.core.results import Hit

    def hit(i: str, distance: float, score: float) -> Hit:
        return Hit(record=Record(id=i, text=i), score=score, distance=distance)

    legs = [
        ([hit("a", 0.9, 0.9), hit("b", 0.5, 0.5)], MetricType.COSINE),
        ([hit("b", 0.1, 0.9), hit("c", 2.0, 0.33)], MetricType.L2),
        ([hit("c", 3.0, 0.6)], MetricType.BM25),
    ]
    ranker = Weighted(0.2, 0.3, 0.5)
    fused = client_fuse_legs(legs, ranker, 3)
    expected = fuse(
        [[(h.id, h.distance) for h in leg] for leg, _ in legs], [m for _, m in legs], ranker, 3
    )
    assert [(h.id, h.distance) for h in fused] == expected
    by_id = {h.id: h.score for h in fused}
    assert by_id["b"] == pytest.approx((0.2 * 0.5 + 0.3 * 0.9) / 1.0)
