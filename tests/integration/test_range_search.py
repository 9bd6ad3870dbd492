"""Range search on every engine: a relevance threshold becomes Milvus' ``radius`` and
returns exactly the hits the client-side threshold keeps; explicit range knobs work."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from langchain_core.documents import Document
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import VectorStoreQuery
from tests.support.faces import VocabEmbeddings, embed

from milvus_plugins.core import (
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    FlatIndex,
    MetricType,
    MilvusStore,
    Record,
    threshold_radius,
)
from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

DIM = 6
THRESHOLDS = (0.05, 0.3, 0.5, 0.8)


def _vectors(n: int, seed: int) -> list[list[float]]:
    rng = random.Random(seed)
    return [[rng.uniform(-1, 1) for _ in range(DIM)] for _ in range(n)]


@pytest.fixture(params=["COSINE", "L2", "IP"])
def store(request: pytest.FixtureRequest, uri: str, collection_name: str) -> Iterator[MilvusStore]:
    metric = request.param
    spec = CollectionSpec(
        name=f"{collection_name}_{metric.lower()}", dim=DIM, metric=metric, index=FlatIndex()
    )
    s = MilvusStore(spec, connection=ConnectionConfig(uri=uri))
    vectors = _vectors(120, 1)
    if metric == "IP":  # unit vectors: IP relevance is the cosine
        vectors = [[x / sum(y * y for y in v) ** 0.5 for x in v] for v in vectors]
    s.upsert([Record(id=f"r{i}", text=f"row {i}", vector=v) for i, v in enumerate(vectors)])
    s.flush()
    yield s
    s.close()


def test_threshold_as_range_search_equals_the_client_threshold(store: MilvusStore) -> None:
    metric = store.spec.metric_type
    for query in _vectors(4, 2):
        ranked = store.search(query, k=60)
        for t in THRESHOLDS:
            expected = [h.id for h in ranked if h.score >= t]
            # The store's threshold (radius + guard) and the bare radius (server only).
            assert [h.id for h in store.search(query, k=60, score_threshold=t)] == expected
            radius = threshold_radius(metric, t)
            raw = store.search(query, k=60, search_params={"radius": radius})
            assert [h.id for h in raw] == expected, (metric, t)


def test_explicit_band_and_bad_knobs(store: MilvusStore) -> None:
    metric = store.spec.metric_type
    query = _vectors(1, 3)[0]
    ranked = store.search(query, k=120)
    if metric is MetricType.L2:
        band = {"radius": 6.0, "range_filter": 2.0}
        inside = [h.id for h in ranked if 2.0 <= h.distance < 6.0]
    else:
        band = {"radius": 0.1, "range_filter": 0.6}
        inside = [h.id for h in ranked if 0.1 < h.distance <= 0.6]
    assert inside
    assert [h.id for h in store.search(query, k=120, search_params=band)] == inside
    swapped = {"radius": band["range_filter"], "range_filter": band["radius"]}
    with pytest.raises(ConfigError, match="below"):
        store.search(query, k=5, search_params=swapped)
    with pytest.raises(ConfigError, match="score_threshold"):
        store.search(query, k=5, score_threshold=2.0)


TEXTS = ["cat cat", "cat dog", "dog fish", "car train", "plane bird", "cat"]


def test_adapters_threshold_on_the_server(lite_uri: str) -> None:
    lc = LangChainStore(VocabEmbeddings(), uri=lite_uri, collection_name="lc_range")
    li = LlamaStore(uri=lite_uri, collection_name="li_range", dim=len(embed("")))
    try:
        lc.add_documents([Document(id=f"t{i}", page_content=t) for i, t in enumerate(TEXTS)])
        everything = lc.similarity_search_with_score("cat", k=6)
        kept = [d.id for d, s in everything if s >= 0.5]
        assert 0 < len(kept) < 6
        got = lc.similarity_search_with_relevance_scores("cat", k=6, score_threshold=0.5)
        assert [d.id for d, _ in got] == kept
        retriever = lc.as_retriever(
            search_type="similarity_score_threshold",
            search_kwargs={"k": 6, "score_threshold": 0.5},
        )
        assert [d.id for d in retriever.invoke("cat")] == kept
        with pytest.raises(ConfigError, match="score_threshold"):
            lc.similarity_search("cat", score_threshold=-1)
        li.add([TextNode(id_=f"t{i}", text=t, embedding=embed(t)) for i, t in enumerate(TEXTS)])
        query = VectorStoreQuery(query_embedding=embed("cat"), similarity_top_k=6)
        assert li.query(query, similarity_cutoff=0.5).ids == kept
        with pytest.raises(ConfigError, match="similarity_cutoff"):
            li.query(query, similarity_cutoff=1.5)
    finally:
        lc.close()
        li.close()
