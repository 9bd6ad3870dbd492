"""LlamaIndex findings of a hostile tester, against real Milvus Lite (nothing mocked).

* D1: ``similarity_metric`` applies to an ``index`` that names no metric.
* D2: a named field's model returning too few or too many vectors is refused.
* D4: ``uri`` + ``collection_name`` opens a BM25/hybrid collection with keyword search.
* D6: ``IndexNode.obj`` reads back as written, or is refused.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from llama_index.core.schema import IndexNode, TextNode
from llama_index.core.vector_stores.types import VectorStoreQuery, VectorStoreQueryMode
from pydantic import BaseModel
from tests.integration.test_hostile_d_core import (
    DIM,
    EXPECTED_FIRST,
    EXPECTED_FIRST_L2,
    QUERY,
    VECTORS,
    VECTORS_L2,
    index_metrics,
)
from tests.llama_index.conftest import KeywordEmbedding

from milvus_plugins.core import ConfigError, FlatIndex, InvalidInputError
from milvus_plugins.llama_index import MilvusVectorStore

# -- D1 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "index"),
    [("L2", "FLAT"), ("L2", FlatIndex()), ("IP", {"index_type": "HNSW", "M": 8})],
)
def test_similarity_metric_applies_to_an_index_without_one(
    lite_uri: str, metric: str, index: Any
) -> None:
    store = MilvusVectorStore(
        uri=lite_uri, collection_name="m", dim=DIM, similarity_metric=metric, index=index
    )
    try:
        rows = {**VECTORS, **VECTORS_L2}
        store.add([TextNode(id_=i, text=f"row {i}", embedding=v) for i, v in rows.items()])
        kind = "HNSW" if isinstance(index, dict) else "FLAT"
        assert index_metrics(store.client, "m") == [(kind, metric)]
        ids = store.query(VectorStoreQuery(query_embedding=QUERY, similarity_top_k=4)).ids or []
        assert next(i for i in ids if i in VECTORS) == EXPECTED_FIRST[metric]
        assert next(i for i in ids if i in VECTORS_L2) == EXPECTED_FIRST_L2[metric]
    finally:
        store.close()


def test_conflicting_metrics_are_refused_at_construction(lite_uri: str) -> None:
    with pytest.raises(ConfigError, match="conflicts with the metric"):
        MilvusVectorStore(uri=lite_uri, similarity_metric="IP", index=FlatIndex(metric="L2"))


# -- D2 ------------------------------------------------------------------------------------


class MiscountingEmbedding(KeywordEmbedding):
    """Returns ``delta`` vectors too many (or too few, when negative)."""

    delta: int = 0

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        out = [self._vector(t) for t in texts]
        if self.delta < 0:
            return out[: len(out) + self.delta]
        return out + [self._vector("extra")] * self.delta

    async def _aget_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._get_text_embeddings(texts)


@pytest.mark.parametrize("delta", [-1, 1])
@pytest.mark.parametrize("use_async", [False, True])
def test_a_named_field_model_returning_another_count_is_refused(
    lite_uri: str, embed_model: KeywordEmbedding, delta: int, use_async: bool
) -> None:
    store = MilvusVectorStore(
        uri=lite_uri,
        collection_name="named",
        vector_fields={"title": MiscountingEmbedding(delta=delta, dim=16)},
    )
    nodes = [
        TextNode(id_=f"n{i}", text=f"node {i}", embedding=embed_model.get_text_embedding(str(i)))
        for i in range(5)
    ]
    try:
        expected = rf"field 'title' returned {5 + delta} vectors for 5 nodes"
        with pytest.raises(InvalidInputError, match=expected):
            if use_async:
                asyncio.run(store.async_add(nodes))
            else:
                store.add(nodes)
        assert not store.store.exists()  # nothing written (the collection never created)
    finally:
        store.close()


# -- D4 ------------------------------------------------------------------------------------


def _hybrid_collection(uri: str, embed_model: KeywordEmbedding) -> None:
    creator = MilvusVectorStore(uri=uri, collection_name="docs", enable_sparse=True)
    texts = {"a": "alpha beta gamma", "b": "delta epsilon", "c": "alpha zeta"}
    creator.add(
        [
            TextNode(id_=i, text=t, embedding=embed_model.get_text_embedding(t))
            for i, t in texts.items()
        ]
    )
    creator.close()


@pytest.mark.parametrize("use_async", [False, True])
@pytest.mark.parametrize("enable_sparse", [None, False])
def test_opening_a_hybrid_collection_by_name_allows_keyword_search(
    lite_uri: str, embed_model: KeywordEmbedding, use_async: bool, enable_sparse: bool | None
) -> None:
    _hybrid_collection(lite_uri, embed_model)
    opener = MilvusVectorStore(uri=lite_uri, collection_name="docs", enable_sparse=enable_sparse)
    try:
        sparse = VectorStoreQuery(
            query_str="alpha", similarity_top_k=2, mode=VectorStoreQueryMode.SPARSE
        )
        hybrid = VectorStoreQuery(
            query_str="alpha",
            query_embedding=embed_model.get_query_embedding("alpha"),
            similarity_top_k=2,
            mode=VectorStoreQueryMode.HYBRID,
        )

        def run(query: VectorStoreQuery) -> list[str]:
            result = asyncio.run(opener.aquery(query)) if use_async else opener.query(query)
            return sorted(result.ids or [])

        assert run(sparse) == ["a", "c"]
        assert run(hybrid) == ["a", "c"]
        assert opener.enable_sparse
        # Writes keep filling the keyword field (server-side BM25).
        opener.add(
            [TextNode(id_="d", text="alpha omega", embedding=embed_model.get_text_embedding("d"))]
        )
        assert "d" in run(VectorStoreQuery(query_str="omega", mode=VectorStoreQueryMode.SPARSE))
    finally:
        opener.close()


def test_a_dense_collection_still_refuses_keyword_search(
    lite_uri: str, embed_model: KeywordEmbedding
) -> None:
    creator = MilvusVectorStore(uri=lite_uri, collection_name="dense")
    creator.add([TextNode(id_="a", text="alpha", embedding=embed_model.get_text_embedding("a"))])
    creator.close()
    opener = MilvusVectorStore(uri=lite_uri, collection_name="dense")
    try:
        query = VectorStoreQuery(query_str="alpha", mode=VectorStoreQueryMode.SPARSE)
        with pytest.raises(ConfigError, match="has no sparse field"):
            opener.query(query)
    finally:
        opener.close()


# -- D6 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "obj",
    ["plain", 5, 2.5, True, {"a": 1, "b": [1, "x"]}, [1, 2], TextNode(id_="inner", text="in")],
    ids=["str", "int", "float", "bool", "dict", "list", "node"],
)
def test_index_node_obj_reads_back_as_written(
    lite_uri: str, embed_model: KeywordEmbedding, obj: Any
) -> None:
    store = MilvusVectorStore(uri=lite_uri, collection_name="ix")
    try:
        node = IndexNode(
            id_="x",
            text="t",
            index_id="idx",
            obj=obj,
            embedding=embed_model.get_text_embedding("t"),
        )
        store.add([node])
        back = store.get_nodes(node_ids=["x"])[0]
        assert isinstance(back, IndexNode)
        assert type(back.obj) is type(obj)
        if isinstance(obj, TextNode):
            assert back.obj.node_id == "inner" and back.obj.text == "in"
        else:
            assert back.obj == obj
        queried = store.query(
            VectorStoreQuery(query_embedding=embed_model.get_query_embedding("t"))
        ).nodes
        assert queried is not None and isinstance(queried[0], IndexNode)
        assert type(queried[0].obj) is type(obj)
    finally:
        store.close()


class Other(BaseModel):
    """A pydantic model that is no LlamaIndex node."""

    value: int = 1


@pytest.mark.parametrize(
    "obj", [(1, 2), {1: "a"}, Other(), float("nan")], ids=["tuple", "int-keys", "model", "nan"]
)
def test_index_node_obj_that_would_change_is_refused(
    lite_uri: str, embed_model: KeywordEmbedding, obj: Any
) -> None:
    store = MilvusVectorStore(uri=lite_uri, collection_name="ix")
    try:
        node = IndexNode(
            id_="x",
            text="t",
            index_id="idx",
            obj=obj,
            embedding=embed_model.get_text_embedding("t"),
        )
        with pytest.raises(InvalidInputError, match="IndexNode 'x': obj="):
            store.add([node])
        assert not store.store.exists()
    finally:
        store.close()
