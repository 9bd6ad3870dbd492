"""Decay ranking on every engine: Milvus' decay reranker where the engine has one (Milvus
Lite 3.2.2), the same formulas on the client elsewhere, and the same results."""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Iterator

import pytest

from milvus_plugins.core import (
    AsyncMilvusStore,
    CollectionSpec,
    ConnectionConfig,
    Decay,
    FlatIndex,
    InvalidInputError,
    MetadataField,
    MilvusStore,
    Record,
    UnsupportedByServerError,
)

DIM = 4
ROWS = 200
QUERY = [1.0, 0.0, 0.0, 0.0]


def _records() -> list[Record]:
    rng = random.Random(7)
    out = []
    for i in range(ROWS):
        angle = rng.uniform(0, 1.2)  # cosines from 1 down to ~0.36: all positive
        v = [math.cos(angle), math.sin(angle) * rng.uniform(-1, 1), rng.uniform(-0.1, 0.1), 0.0]
        ts = rng.randrange(0, 1000)
        out.append(Record(id=f"r{i}", text=f"row {i}", vector=v, metadata={"ts": ts, "age": ts}))
    return out


@pytest.fixture
def store(uri: str, collection_name: str) -> Iterator[MilvusStore]:
    spec = CollectionSpec(
        name=collection_name,
        dim=DIM,
        index=FlatIndex(),
        metadata_fields=[MetadataField(name="ts", type="INT64")],
    )
    s = MilvusStore(spec, connection=ConnectionConfig(uri=uri))
    s.upsert(_records())
    s.flush()
    yield s
    s.close()


DECAYS = [
    {"function": "gauss", "origin": 1000, "scale": 200},
    {"function": "exp", "origin": 1000, "scale": 150, "offset": 50, "decay": 0.3},
    {"function": "linear", "origin": 500, "scale": 900, "decay": 0.2},
]


def test_client_decay_equals_server_decay(store: MilvusStore) -> None:
    for params in DECAYS:
        for k in (3, 8):
            client = store.search(QUERY, k=k, decay=Decay(field="ts", place="client", **params))
            # Independent check: the 10k most similar rows, rescored by hand.
            window = store.search(QUERY, k=10 * k)
            want = sorted(
                window,
                key=lambda h: (
                    -h.score * Decay(field="ts", **params).factor(h.record.metadata["ts"])
                ),
            )[:k]
            assert [h.id for h in client] == [h.id for h in want]
            by_key = store.search(QUERY, k=k, decay=Decay(field="age", **params))
            assert [h.id for h in by_key] == [h.id for h in client]
            auto = store.search(QUERY, k=k, decay=Decay(field="ts", **params))
            assert [h.id for h in auto] == [h.id for h in client], params
            assert [h.score for h in auto] == pytest.approx([h.score for h in client], rel=1e-5)
            if store.capabilities.decay_ranker:
                server = store.search(QUERY, k=k, decay=Decay(field="ts", place="server", **params))
                assert [h.id for h in server] == [h.id for h in client]
            else:
                with pytest.raises(UnsupportedByServerError, match="decay"):
                    store.search(QUERY, k=k, decay=Decay(field="ts", place="server", **params))


def test_recency_decay_moves_newer_rows_up(store: MilvusStore) -> None:
    plain = store.search(QUERY, k=5)
    recent = store.search(QUERY, k=5, decay=Decay(field="ts", origin=1000, scale=100))
    mean = lambda hits: sum(h.record.metadata["ts"] for h in hits) / len(hits)  # noqa: E731
    assert mean(recent) > mean(plain)
    assert all(0.0 <= h.score <= 1.0 for h in recent)


def test_async_decay_and_refusals(store: MilvusStore) -> None:
    decay = Decay(field="ts", origin=1000, scale=100)

    async def run() -> list[str]:
        astore = AsyncMilvusStore(store)
        try:
            return [h.id for h in await astore.search(QUERY, k=4, decay=decay)]
        finally:
            await astore.close()

    assert asyncio.run(run()) == [h.id for h in store.search(QUERY, k=4, decay=decay)]
    with pytest.raises(UnsupportedByServerError, match="decay"):
        store.search(QUERY, k=4, decay=Decay(field="age", origin=0, scale=1, place="server"))
    from milvus_plugins.core import Grouping

    with pytest.raises(InvalidInputError, match="group_by"):
        store.search(QUERY, k=4, decay=decay, grouping=Grouping())


def test_adapters_take_decay_sync_and_async(lite_uri: str) -> None:
    from langchain_core.documents import Document
    from llama_index.core.schema import TextNode
    from llama_index.core.vector_stores.types import VectorStoreQuery
    from tests.support.faces import VocabEmbeddings, embed

    from milvus_plugins.core import ConfigError
    from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
    from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

    texts = [("a", "cat cat cat", 2001), ("b", "cat cat dog", 2020), ("c", "cat dog dog", 2026)]
    recency = {"field": "year", "origin": 2026, "scale": 5, "function": "exp"}
    lc = LangChainStore(VocabEmbeddings(), uri=lite_uri, collection_name="lc_decay")
    li = LlamaStore(uri=lite_uri, collection_name="li_decay", dim=len(embed("")))
    try:
        lc.add_documents(
            [Document(id=i, page_content=t, metadata={"year": y}) for i, t, y in texts]
        )
        assert [d.id for d in lc.similarity_search("cat", k=3)] == ["a", "b", "c"]
        assert [d.id for d in lc.similarity_search("cat", k=3, decay=recency)] == ["c", "b", "a"]
        retriever = lc.as_retriever(search_kwargs={"k": 1, "decay": Decay(**recency)})
        assert [d.id for d in retriever.invoke("cat")] == ["c"]

        async def lc_async() -> list[str | None]:
            docs = await lc.asimilarity_search("cat", k=3, decay=recency)
            await lc.aclose()
            return [d.id for d in docs]

        assert asyncio.run(lc_async()) == ["c", "b", "a"]
        with pytest.raises(ConfigError, match="decay"):
            lc.similarity_search("cat", decay={"field": "year", "origin": 0})
        nodes = [
            TextNode(id_=i, text=t, embedding=embed(t), metadata={"year": y}) for i, t, y in texts
        ]
        li.add(nodes)
        query = VectorStoreQuery(query_embedding=embed("cat"), similarity_top_k=3)
        assert li.query(query).ids == ["a", "b", "c"]
        assert li.query(query, decay=recency).ids == ["c", "b", "a"]

        async def li_async() -> list[str] | None:
            result = await li.aquery(query, decay=recency)
            await li.aclose()
            return result.ids

        assert asyncio.run(li_async()) == ["c", "b", "a"]
    finally:
        lc.close()
        li.close()


def test_probed_decay_capability_matches_the_engine(store: MilvusStore, uri: str) -> None:
    """The ``decay_ranker`` flag agrees with what the engine's own reranker returns."""
    from pymilvus import Function, FunctionType, MilvusClient

    decay = Decay(field="ts", origin=1000, scale=100)
    expected = [
        h.id
        for h in store.search(
            QUERY, k=5, decay=Decay(field="ts", origin=1000, scale=100, place="client")
        )
    ]
    client = MilvusClient(uri)
    try:
        ranker = Function(
            name="d",
            input_field_names=["ts"],
            function_type=FunctionType.RERANK,
            params=decay.server_params(),
        )
        hits = client.search(
            store.spec.name,
            data=[QUERY],
            limit=5,
            ranker=ranker,
            search_params={"metric_type": "COSINE"},
            output_fields=["id"],
            consistency_level="Strong",
        )[0]
        assert store.capabilities.decay_ranker == ([str(h["id"]) for h in hits] == expected)
    finally:
        client.close()
