"""Grouping search ("one best chunk per document") on every engine.

Each engine groups on the server where its probed capabilities allow it and on the
client otherwise; both must give the grouping of the exact ranking (an oracle computed
here with numpy over every row), and the same results where both exist.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Iterator, Sequence

import pytest

from milvus_plugins.core import (
    AsyncMilvusStore,
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    FlatIndex,
    Grouping,
    Hit,
    InvalidInputError,
    MetadataField,
    MilvusStore,
    Record,
    UnsupportedByServerError,
    eq,
    group_hits,
)

DIM = 4
DOCS = 12
CHUNKS = 3
WORDS = ["alpha", "beta", "gamma", "delta", "omega"]
# Padding that gives every text a length of its own, so no two rows tie on BM25 (tied
# rows come back in any order: two hybrid searches could fuse them differently).
PAD = " pad"


def _unit(rng: random.Random) -> list[float]:
    v = [rng.gauss(0, 1) for _ in range(DIM)]
    n = math.sqrt(sum(x * x for x in v))
    return [x / n for x in v]


def _records() -> list[Record]:
    rng = random.Random(15)
    out = []
    for d in range(DOCS):
        centre = _unit(rng)
        for c in range(CHUNKS):
            noise = _unit(rng)
            v = [a + 0.3 * b for a, b in zip(centre, noise, strict=True)]
            words = " ".join(rng.choice(WORDS) for _ in range(4 + c))
            out.append(
                Record(
                    id=f"d{d}c{c}",
                    text=f"doc {d} chunk {c} {words}" + PAD * (CHUNKS * d),
                    vector=v,
                    doc_id=f"doc{d}",
                    metadata={"topic": f"t{d % 4}", "source": f"s{d % 5}", "n": d},
                )
            )
    # A long document whose 40 chunks are all nearer the query than anything else:
    # the client fallback must fetch past them to find other documents.
    for c in range(40):
        v = [1.0, 0.001 * c, 0.0, 0.0]
        out.append(
            Record(
                id=f"big{c}",
                text="big alpha" + PAD * (CHUNKS * DOCS + 6 + c),  # longer than any chunk
                vector=v,
                doc_id="big",
                metadata={"topic": "tbig", "source": "big", "n": 99},
            )
        )
    return out


RECORDS = _records()
QUERY = [1.0, 0.0, 0.0, 0.0]


def ids(hits: Sequence[Hit]) -> list[str]:
    return [h.id for h in hits]


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def exact_ranking(query: Sequence[float]) -> list[Hit]:
    scored = [(cosine(query, r.vector or []), r) for r in RECORDS]
    scored.sort(key=lambda pair: -pair[0])
    return [Hit(record=r, score=s, distance=s) for s, r in scored]


def oracle(query: Sequence[float], k: int, size: int, key: str = "doc_id") -> list[str]:
    def value(r: Record) -> object:
        return r.doc_id if key == "doc_id" else r.metadata.get(key)

    groups = group_hits(exact_ranking(query), value, k, size)
    return [h.id for g in groups for h in g]


@pytest.fixture
def store(uri: str, collection_name: str) -> Iterator[MilvusStore]:
    spec = CollectionSpec(
        name=collection_name,
        dim=DIM,
        index=FlatIndex(),
        metadata_fields=[MetadataField(name="source", type="VARCHAR", max_length=8)],
    )
    s = MilvusStore(spec, connection=ConnectionConfig(uri=uri))
    s.upsert(RECORDS)
    s.flush()
    yield s
    s.close()


def test_grouped_search_returns_the_best_chunk_of_each_document(store: MilvusStore) -> None:
    hits = store.search(QUERY, k=5, grouping=Grouping())
    assert ids(hits) == oracle(QUERY, 5, 1)
    assert ids(hits)[0] == "big0"
    assert len({h.record.doc_id for h in hits}) == 5
    plain = store.search(QUERY, k=5)
    assert {h.record.doc_id for h in plain} == {"big"}


def test_client_grouping_equals_server_grouping(store: MilvusStore) -> None:
    caps = store.capabilities
    rng = random.Random(3)
    queries = [QUERY, *[_unit(rng) for _ in range(4)]]
    sizes = [1, 2] if caps.group_size else [1]
    for q in queries:
        for size in sizes:
            client = store.search(q, k=4, grouping=Grouping(size=size, strict=True, place="client"))
            assert ids(client) == oracle(q, 4, size)
            if caps.grouping:
                server = store.search(
                    q, k=4, grouping=Grouping(size=size, strict=True, place="server")
                )
                assert ids(server) == ids(client)
            auto = store.search(q, k=4, grouping=Grouping(size=size, strict=True))
            assert ids(auto) == ids(client)


def test_forcing_server_grouping_where_the_engine_cannot_raises(store: MilvusStore) -> None:
    caps = store.capabilities
    if caps.grouping:
        assert store.search(QUERY, k=2, grouping=Grouping(place="server"))
    else:
        with pytest.raises(UnsupportedByServerError, match="grouping search"):
            store.search(QUERY, k=2, grouping=Grouping(place="server"))
    if caps.grouping and not caps.group_size:
        with pytest.raises(UnsupportedByServerError, match="group_size"):
            store.search(QUERY, k=2, grouping=Grouping(size=2, place="server"))


def test_group_size_fills_groups_in_rank_order(store: MilvusStore) -> None:
    hits = store.search(QUERY, k=3, grouping=Grouping(size=2, strict=True))
    assert ids(hits) == oracle(QUERY, 3, 2)
    docs = [h.record.doc_id for h in hits]
    assert docs == [docs[0], docs[0], docs[2], docs[2], docs[4], docs[4]]


def test_grouping_on_a_declared_column_and_on_a_metadata_key(store: MilvusStore) -> None:
    by_column = store.search(QUERY, k=3, grouping=Grouping(by="source"))
    assert len({h.record.metadata["source"] for h in by_column}) == 3
    assert ids(by_column) == oracle(QUERY, 3, 1, key="source")
    by_key = store.search(QUERY, k=3, grouping=Grouping(by="topic"))
    assert ids(by_key) == oracle(QUERY, 3, 1, key="topic")
    with pytest.raises(UnsupportedByServerError):
        store.search(QUERY, k=3, grouping=Grouping(by="topic", place="server"))


def test_grouping_with_a_filter_and_more_groups_than_documents(store: MilvusStore) -> None:
    hits = store.search(QUERY, k=50, filter=eq("topic", "t1"), grouping=Grouping())
    assert sorted(h.record.doc_id for h in hits) == ["doc1", "doc5", "doc9"]


def test_grouped_sparse_and_hybrid_search(
    store: MilvusStore, uri: str, collection_name: str
) -> None:
    caps = store.capabilities
    if not (caps.sparse and caps.bm25_function):
        with pytest.raises(UnsupportedByServerError):
            MilvusStore(
                CollectionSpec(name=f"{collection_name}_bm25", dim=DIM, sparse="bm25"),
                connection=ConnectionConfig(uri=uri),
            ).upsert(RECORDS[:1])
        return
    bm25 = MilvusStore(
        CollectionSpec(name=f"{collection_name}_bm25", dim=DIM, sparse="bm25", index=FlatIndex()),
        connection=ConnectionConfig(uri=uri),
    )
    try:
        bm25.upsert(RECORDS)
        bm25.flush()
        ranked = bm25.sparse_search("alpha gamma", k=len(RECORDS))
        expected = group_hits(ranked, lambda r: r.doc_id, 4, 1)
        for place in ("auto", "client"):
            grouped = bm25.sparse_search("alpha gamma", k=4, grouping=Grouping(place=place))
            assert [h.record.doc_id for h in grouped] == [g[0].record.doc_id for g in expected]
        fused = bm25.hybrid_search(QUERY, "alpha gamma", k=len(RECORDS), fetch_k=len(RECORDS))
        want = [h.id for g in group_hits(fused, lambda r: r.doc_id, 4, 1) for h in g]
        # The fused list depends on the legs' depth: with every row in both legs, the
        # grouped hybrid search is the grouping of the full fused ranking.
        got = bm25.hybrid_search(
            QUERY, "alpha gamma", k=4, fetch_k=len(RECORDS), grouping=Grouping()
        )
        assert ids(got) == want
        got = bm25.hybrid_search(QUERY, "alpha gamma", k=4, grouping=Grouping())
        assert len({h.record.doc_id for h in got}) == 4
    finally:
        bm25.drop()
        bm25.close()


def test_async_grouped_search_matches_sync(store: MilvusStore) -> None:
    async def run() -> list[str]:
        astore = AsyncMilvusStore(store)
        try:
            return ids(await astore.search(QUERY, k=4, grouping=Grouping(size=2, strict=True)))
        finally:
            await astore.close()

    assert asyncio.run(run()) == ids(
        store.search(QUERY, k=4, grouping=Grouping(size=2, strict=True))
    )


def test_lite3_server_grouping_misses_groups(lite_uri: str) -> None:
    """Why Milvus Lite 3.2.2 groups on the client: its own grouping drops groups.

    The 40 chunks of "big" fill its grouping window; the other documents are lost. If a
    Milvus Lite release fixes this, this test fails: then trust its grouping again
    (``detect_capabilities``).
    """
    from pymilvus import MilvusClient

    store = MilvusStore(
        CollectionSpec(name="lite3_grouping", dim=DIM, index=FlatIndex()),
        connection=ConnectionConfig(uri=lite_uri),
    )
    try:
        store.upsert(RECORDS)
        assert not store.capabilities.grouping
        client = MilvusClient(lite_uri)
        raw = client.search(
            "lite3_grouping",
            data=[QUERY],
            limit=4,
            group_by_field="doc_id",
            search_params={"metric_type": "COSINE"},
            output_fields=["doc_id"],
        )[0]
        assert len({h["entity"]["doc_id"] for h in raw}) < 4
        assert len({h.record.doc_id for h in store.search(QUERY, k=4, grouping=Grouping())}) == 4
    finally:
        store.close()


def test_bad_grouping_is_refused_before_any_io() -> None:
    with pytest.raises(ConfigError, match="group_size"):
        Grouping(size=0)
    with pytest.raises(ConfigError, match="group_by"):
        Grouping(by="")
    with pytest.raises(ConfigError, match="strict_group_size"):
        Grouping(strict="yes")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="place"):
        Grouping(place="edge")


def test_grouping_is_refused_for_mmr(store: MilvusStore) -> None:
    from milvus_plugins.core import SearchKind, SearchRequest

    request = SearchRequest(kind=SearchKind.MMR, vector=QUERY, k=2, fetch_k=10, grouping=Grouping())
    with pytest.raises(InvalidInputError, match="group_by"):
        store.run_search(request)


def test_probed_grouping_capability_matches_the_engine(store: MilvusStore, uri: str) -> None:
    """The capability flags agree with what the engine's own grouping returns."""
    from pymilvus import MilvusClient

    client = MilvusClient(uri)
    try:

        def raw(**kwargs: object) -> list[str]:
            hits = client.search(
                store.spec.name,
                data=[QUERY],
                limit=4,
                group_by_field="doc_id",
                search_params={"metric_type": "COSINE"},
                output_fields=["id"],
                consistency_level="Strong",
                **kwargs,
            )[0]
            return [str(h["id"]) for h in hits]

        caps = store.capabilities
        assert caps.grouping == (raw() == oracle(QUERY, 4, 1))
        sized = raw(group_size=2, strict_group_size=True) == oracle(QUERY, 4, 2)
        assert caps.group_size == (caps.grouping and sized)
    finally:
        client.close()
