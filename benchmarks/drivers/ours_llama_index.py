"""Our LlamaIndex adapter, ``milvus_plugins.llama_index.MilvusVectorStore``, on Lite."""

from __future__ import annotations

from typing import Any

from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import (
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
)

from benchmarks.dataset import Dataset
from benchmarks.drivers.contract import versions as _versions
from benchmarks.drivers.core import declared_fields
from benchmarks.drivers.llama_nodes import embedded_batches
from milvus_plugins.core import RRF
from milvus_plugins.llama_index import MilvusVectorStore
from milvus_plugins.llama_index.nodes import nodes_to_records


def versions() -> dict[str, str]:
    """Versions of the libraries this driver uses."""
    return _versions("milvus-plugins", "llama-index-core", "pymilvus", "milvus-lite")


class Driver:
    """``add`` and ``query`` in default, sparse and hybrid modes.

    RRF with any ``k`` goes through a view of the same store
    (``MilvusVectorStore.from_store(store, ranker=RRF(k))``); weighted fusion through the
    query's ``alpha`` (``Weighted(alpha, 1 - alpha)``), LlamaIndex's own knob.
    """

    def __init__(self, config: dict[str, Any], data: Dataset) -> None:
        self.data = data
        self.on_the_fly = bool(config.get("on_the_fly", False))
        self.nodes_ready = bool(config.get("nodes_ready", False))
        self.ready: dict[int, TextNode] = {}
        self.dim = int(config["dim"])
        self.vs = MilvusVectorStore(
            uri=config["uri"],
            collection_name=config["collection"],
            dim=config["dim"],
            overwrite=True,
            metadata_fields=declared_fields(config.get("declared", [])),
            enable_sparse=bool(config.get("bm25", True)),
        )
        self.views: dict[int, MilvusVectorStore] = {}
        # Connect and create the collection now, as the other drivers do, so the timed
        # ingest excludes starting Milvus Lite. With ``infer``, it gets the typed columns
        # the first ``add`` of these nodes would infer (see ``first_write_sample``).
        sample: list[Any] = []
        if config.get("infer"):
            sample = nodes_to_records(
                [
                    TextNode(id_=data.ids[p], text=data.texts[p], metadata=dict(data.metadata[p]))
                    for p in range(min(len(data), 1000))
                ]
            )
        self.vs.store.ensure_collection(config["dim"], sample)

    def prepare(self, positions: list[int]) -> None:
        """With ``nodes_ready``: build the nodes (without embeddings) before the clock.

        A LlamaIndex user's nodes exist before any store sees them (a node parser made
        them), and ``VectorStoreIndex`` attaches each embedding to a copy of its node
        (``model_copy``) before ``add``; ``ingest`` then does just that. Without
        ``nodes_ready`` the timed ``ingest`` also builds the nodes (pydantic checks every
        float of every embedding), a cost of LlamaIndex itself that any store pays.
        """
        if self.nodes_ready:
            self.ready = {
                p: TextNode(
                    id_=self.data.ids[p],
                    text=self.data.texts[p],
                    metadata=dict(self.data.metadata[p]),
                )
                for p in positions
            }

    def ingest(self, positions: list[int]) -> None:
        if self.on_the_fly:
            for batch in embedded_batches(self.data, positions, self.dim):
                self.vs.add(batch)
            return
        if self.ready:
            self.vs.add(
                [
                    self.ready.pop(p).model_copy(
                        update={"embedding": self.data.vectors[p].tolist()}
                    )
                    for p in positions
                ]
            )
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
        self.vs.add(nodes)

    def _query(
        self, store: MilvusVectorStore, q: int, k: int, mode: VectorStoreQueryMode, **extra: Any
    ) -> list[str]:
        query = VectorStoreQuery(
            query_embedding=self.data.query_vectors[q].tolist(),
            query_str=self.data.query_texts[q],
            similarity_top_k=k,
            mode=mode,
            **extra,
        )
        return [str(i) for i in store.query(query).ids or []]

    def dense(self, q: int, k: int, filter: dict[str, Any] | None = None) -> list[str]:
        extra = {}
        if filter:
            condition = MetadataFilter(key=filter["key"], value=filter["value"])
            extra["filters"] = MetadataFilters(filters=[condition])
        return self._query(self.vs, q, k, VectorStoreQueryMode.DEFAULT, **extra)

    def sparse(self, q: int, k: int) -> list[str]:
        return self._query(self.vs, q, k, VectorStoreQueryMode.SPARSE)

    def hybrid(self, q: int, k: int, ranker: dict[str, Any], fetch_k: int) -> list[str]:
        if ranker["type"] == "rrf":
            rrf_k = int(ranker["k"])
            if rrf_k not in self.views:
                self.views[rrf_k] = MilvusVectorStore.from_store(self.vs.store, ranker=RRF(rrf_k))
            store, extra = self.views[rrf_k], {}
        else:
            store, extra = self.vs, {"alpha": float(ranker["weights"][0])}
        return self._query(store, q, k, VectorStoreQueryMode.HYBRID, sparse_top_k=fetch_k, **extra)

    def drop(self) -> None:
        self.vs.store.drop()
        self.vs.store.close()
