"""The official ``llama-index-vector-stores-milvus`` 1.2.x, run from its own venv.

It pins pymilvus < 3 (pip resolves 2.6.x, which drives the same Milvus Lite 3.2.2 engine
in-process). Settings: its defaults, ``enable_sparse=True`` with its BM25 built-in
function, the declared scalar fields it can create (``scalar_field_names``; it cannot
create an ARRAY field, it passes no element type, so ``labels`` stays in its dynamic
field with the undeclared keys), and ``similarity_metric="COSINE"``.
"""

from __future__ import annotations

from typing import Any

from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import (
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
)
from llama_index.vector_stores.milvus import MilvusVectorStore
from llama_index.vector_stores.milvus.utils import BM25BuiltInFunction
from pymilvus import DataType

from benchmarks.dataset import Dataset
from benchmarks.drivers.contract import versions as _versions
from benchmarks.drivers.llama_nodes import embedded_batches

_SCALAR = {"INT64": DataType.INT64, "VARCHAR": DataType.VARCHAR, "DOUBLE": DataType.DOUBLE}


def versions() -> dict[str, str]:
    """Versions of the libraries this driver uses."""
    return _versions(
        "llama-index-vector-stores-milvus", "llama-index-core", "pymilvus", "milvus-lite"
    )


class Driver:
    """``MilvusVectorStore.add`` and ``query`` in default, sparse and hybrid modes."""

    def __init__(self, config: dict[str, Any], data: Dataset) -> None:
        self.data = data
        self.flush = bool(config.get("flush", False))
        self.on_the_fly = bool(config.get("on_the_fly", False))
        self.dim = int(config["dim"])
        scalars = [d for d in config.get("declared", []) if d["type"] in _SCALAR]
        self.declared = {d["name"] for d in scalars}
        bm25 = bool(config.get("bm25", True))
        self.store = MilvusVectorStore(
            uri=config["uri"],
            collection_name=config["collection"],
            dim=config["dim"],
            overwrite=True,
            similarity_metric="COSINE",
            enable_sparse=bm25,
            sparse_embedding_function=BM25BuiltInFunction() if bm25 else None,
            scalar_field_names=[d["name"] for d in scalars] or None,
            scalar_field_types=[_SCALAR[d["type"]] for d in scalars] or None,
            use_async_client=False,
        )

    def ingest(self, positions: list[int]) -> None:
        if self.on_the_fly:
            self._ingest_on_the_fly(positions)
            return
        nodes = [
            TextNode(
                id_=self.data.ids[p],
                text=self.data.texts[p],
                embedding=self.data.vectors[p].tolist(),
                metadata=dict(self.data.metadata[p]),
            )
            for p in positions
        ]
        # force_flush is its own documented option, off by default.
        self.store.add(nodes, force_flush=self.flush)

    def _ingest_on_the_fly(self, positions: list[int]) -> None:
        for batch in embedded_batches(self.data, positions, self.dim):
            self.store.add(batch, force_flush=self.flush)

    def _query(self, q: int, k: int, mode: VectorStoreQueryMode, **extra: Any) -> list[str]:
        query = VectorStoreQuery(
            query_embedding=self.data.query_vectors[q].tolist(),
            query_str=self.data.query_texts[q],
            similarity_top_k=k,
            mode=mode,
            **extra,
        )
        result = self.store.query(query)
        return [str(i) for i in result.ids or []]

    def dense(self, q: int, k: int, filter: dict[str, Any] | None = None) -> list[str]:
        extra = {}
        if filter:
            condition = MetadataFilter(key=filter["key"], value=filter["value"])
            extra["filters"] = MetadataFilters(filters=[condition])
        return self._query(q, k, VectorStoreQueryMode.DEFAULT, **extra)

    def sparse(self, q: int, k: int) -> list[str]:
        return self._query(q, k, VectorStoreQueryMode.SPARSE)

    def hybrid(self, q: int, k: int, ranker: dict[str, Any], fetch_k: int) -> list[str]:
        # The ranker is a store setting; each leg fetches only k (no fetch_k knob).
        if ranker["type"] == "rrf":
            self.store.hybrid_ranker = "RRFRanker"
            self.store.hybrid_ranker_params = {"k": ranker["k"]}
        else:
            self.store.hybrid_ranker = "WeightedRanker"
            self.store.hybrid_ranker_params = {"weights": list(ranker["weights"])}
        return self._query(q, k, VectorStoreQueryMode.HYBRID)

    def drop(self) -> None:
        self.store.client.drop_collection(self.store.collection_name)
