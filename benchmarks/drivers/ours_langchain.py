"""Our LangChain adapter, ``milvus_plugins.langchain.MilvusVectorStore``, on Lite."""

from __future__ import annotations

from typing import Any

from benchmarks.dataset import Dataset
from benchmarks.drivers.contract import versions as _versions
from benchmarks.drivers.core import declared_fields, first_write_sample, ranker_of
from benchmarks.drivers.lookup_embeddings import embeddings_for
from milvus_plugins.langchain import MilvusVectorStore


def versions() -> dict[str, str]:
    """Versions of the libraries this driver uses."""
    return _versions("milvus-plugins", "langchain-core", "pymilvus", "milvus-lite")


class Driver:
    """``add_texts`` and ``similarity_search`` in the three retrieval modes."""

    def __init__(self, config: dict[str, Any], data: Dataset) -> None:
        self.data = data
        self.store = MilvusVectorStore(
            embeddings_for(config, data),
            uri=config["uri"],
            collection_name=config["collection"],
            drop_old=True,
            dim=config["dim"],
            metadata_fields=declared_fields(config.get("declared", [])),
            sparse="bm25" if config.get("bm25", True) else "none",
            infer_metadata_fields=bool(config.get("infer", False)),
        )
        # Connect and create the collection now, as the other drivers do, so the timed
        # ingest excludes starting Milvus Lite and creating the collection (about 1 s on
        # Lite). With ``infer``, the columns are inferred from the documents' metadata, as
        # a first add_texts of them would (``first_write_sample``).
        self.store.store.ensure_collection(config["dim"], first_write_sample(config, data))

    def ingest(self, positions: list[int]) -> None:
        self.store.add_texts(
            [self.data.texts[p] for p in positions],
            metadatas=[dict(self.data.metadata[p]) for p in positions],
            ids=[self.data.ids[p] for p in positions],
        )

    def dense(self, q: int, k: int, filter: dict[str, Any] | None = None) -> list[str]:
        where = {filter["key"]: filter["value"]} if filter else None
        docs = self.store.similarity_search(self.data.query_texts[q], k=k, filter=where)
        return [str(d.id) for d in docs]

    def sparse(self, q: int, k: int) -> list[str]:
        docs = self.store.similarity_search(self.data.query_texts[q], k=k, retrieval_mode="sparse")
        return [str(d.id) for d in docs]

    def hybrid(self, q: int, k: int, ranker: dict[str, Any], fetch_k: int) -> list[str]:
        docs = self.store.similarity_search(
            self.data.query_texts[q],
            k=k,
            retrieval_mode="hybrid",
            ranker=ranker_of(ranker),
            fetch_k=fetch_k,
        )
        return [str(d.id) for d in docs]

    def drop(self) -> None:
        self.store.store.drop()
        self.store.close()
