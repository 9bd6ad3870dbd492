"""Our shared core, ``milvus_plugins.core.MilvusStore``, with its defaults on Lite."""

from __future__ import annotations

from typing import Any

from benchmarks.dataset import Dataset
from benchmarks.drivers.contract import embed_texts
from benchmarks.drivers.contract import versions as _versions
from milvus_plugins.core import (
    RRF,
    CollectionSpec,
    ConnectionConfig,
    MetadataField,
    MilvusStore,
    Record,
    Weighted,
    eq,
)


def versions() -> dict[str, str]:
    """Versions of the libraries this driver uses."""
    return _versions("milvus-plugins", "pymilvus", "milvus-lite")


def ranker_of(spec: dict[str, Any]) -> RRF | Weighted:
    """The core ranker for a ``{"type": "rrf"|"weighted", ...}`` spec."""
    if spec["type"] == "rrf":
        return RRF(int(spec["k"]))
    return Weighted(*spec["weights"])


def declared_fields(declared: list[dict[str, Any]]) -> list[MetadataField]:
    """The core's typed metadata fields for the harness' declared list."""
    return [
        MetadataField(
            name=d["name"],
            type=d["type"],
            element_type=d.get("element_type"),
            max_length=d.get("max_length", 1024),
        )
        for d in declared
    ]


def first_write_sample(config: dict[str, Any], data: Dataset, size: int = 1000) -> list[Record]:
    """The records the first write would infer accelerator columns from, or none.

    Drivers create the collection before the timed ingest (so it excludes starting
    Milvus Lite); with ``config["infer"]`` they pass these records (the first ``size``
    documents, without vectors) so the collection gets the typed columns the store's
    own first write would have inferred (``ensure_collection`` reads, never writes, them).
    """
    if not config.get("infer"):
        return []
    return [
        Record(id=data.ids[p], text=data.texts[p], metadata=dict(data.metadata[p]))
        for p in range(min(len(data), size))
    ]


class Driver:
    """``MilvusStore.upsert`` / ``search`` / ``sparse_search`` / ``hybrid_search``."""

    def __init__(self, config: dict[str, Any], data: Dataset) -> None:
        self.data = data
        self.on_the_fly = bool(config.get("on_the_fly", False))
        self.dim = int(config["dim"])
        self.mode = str(config.get("mode", "auto"))  # "insert": plain inserts, as raw does
        # False: hybrid calls say they read only the order (an RRF one then fuses on the
        # server in one call), as LangChain's similarity_search does.
        self.relevance = bool(config.get("relevance", True))
        spec = CollectionSpec(
            name=config["collection"],
            dim=config["dim"],
            sparse="bm25" if config.get("bm25", True) else "none",
            metadata_fields=declared_fields(config.get("declared", [])),
        )
        self.store = MilvusStore(
            spec, connection=ConnectionConfig(uri=config["uri"]), drop_old=True
        )
        self.store.ensure_collection(None, first_write_sample(config, data))

    def ingest(self, positions: list[int]) -> None:
        if self.on_the_fly:  # streamed: the store embeds and writes a batch at a time
            records = [
                Record(
                    id=self.data.ids[p],
                    text=self.data.texts[p],
                    metadata=dict(self.data.metadata[p]),
                )
                for p in positions
            ]
            self.store.upsert(records, progress=False, embed=self._embed, mode=self.mode)
            return
        records = [
            Record(
                id=self.data.ids[p],
                text=self.data.texts[p],
                vector=self.data.vectors[p],
                metadata=dict(self.data.metadata[p]),
            )
            for p in positions
        ]
        self.store.upsert(records, progress=False, mode=self.mode)

    def _embed(self, texts: list[str]) -> list[list[float]]:
        return embed_texts(texts, self.dim)

    def dense(self, q: int, k: int, filter: dict[str, Any] | None = None) -> list[str]:
        condition = eq(filter["key"], filter["value"]) if filter else None
        hits = self.store.search(self.data.query_vectors[q], k=k, filter=condition)
        return [h.id for h in hits]

    def sparse(self, q: int, k: int) -> list[str]:
        return [h.id for h in self.store.sparse_search(self.data.query_texts[q], k=k)]

    def _hybrid(
        self, q: int, k: int, ranker: dict[str, Any], fetch_k: int, fusion: str | None
    ) -> list[str]:
        hits = self.store.hybrid_search(
            self.data.query_vectors[q],
            self.data.query_texts[q],
            k=k,
            ranker=ranker_of(ranker),
            fetch_k=fetch_k,
            fusion=fusion,
            relevance=self.relevance,
        )
        return [h.id for h in hits]

    def hybrid(self, q: int, k: int, ranker: dict[str, Any], fetch_k: int) -> list[str]:
        return self._hybrid(q, k, ranker, fetch_k, None)

    def hybrid_server(self, q: int, k: int, ranker: dict[str, Any], fetch_k: int) -> list[str]:
        """Hybrid through the server's ``hybrid_search``."""
        return self._hybrid(q, k, ranker, fetch_k, "server")

    def hybrid_client(self, q: int, k: int, ranker: dict[str, Any], fetch_k: int) -> list[str]:
        """Hybrid as two searches fused on the client."""
        return self._hybrid(q, k, ranker, fetch_k, "client")

    def drop(self) -> None:
        self.store.drop()
        self.store.close()
