"""The official ``langchain-milvus`` 0.4.x, run from its own venv (it pins pymilvus >= 3).

Its defaults plus the settings it needs to work on Milvus Lite 3.2.2 at all:

* a list metadata value crashes collection creation unless ``metadata_schema`` types it
  (``infer_dtype_bydata`` cannot type lists), so ``labels`` is declared there;
* its sparse defaults (``AUTOINDEX``, ``drop_ratio_build=0.2``) are rejected by Lite, so
  the BM25 field gets ``SPARSE_INVERTED_INDEX`` and ``drop_ratio_search=0`` explicitly.

Every metadata key of the first document becomes a typed column (its default schema),
so both filters of the benchmark hit typed columns: its best case. A store with two
vector fields only does hybrid search, so dense and BM25 searches go through second
and third ``Milvus`` objects opened on the same collection with one vector field each.
"""

from __future__ import annotations

import warnings
from typing import Any

from langchain_milvus import BM25BuiltInFunction, Milvus
from pymilvus import DataType

from benchmarks.dataset import Dataset
from benchmarks.drivers.contract import literal
from benchmarks.drivers.contract import versions as _versions
from benchmarks.drivers.lookup_embeddings import embeddings_for

warnings.filterwarnings("ignore", category=DeprecationWarning)
_DENSE_INDEX = {"index_type": "AUTOINDEX", "metric_type": "L2", "params": {}}
_DENSE_SEARCH = {"metric_type": "L2", "params": {}}
_BM25_INDEX = {"index_type": "SPARSE_INVERTED_INDEX", "metric_type": "BM25", "params": {}}
_BM25_SEARCH = {"metric_type": "BM25", "params": {"drop_ratio_search": 0.0}}


def versions() -> dict[str, str]:
    """Versions of the libraries this driver uses."""
    return _versions("langchain-milvus", "langchain-core", "pymilvus", "milvus-lite")


def _schema(declared: list[dict[str, Any]]) -> dict[str, Any]:
    schema = {}
    for d in declared:
        if d["type"] == "ARRAY":
            kwargs = {"element_type": DataType.VARCHAR, "max_capacity": 64, "max_length": 64}
            schema[d["name"]] = {"dtype": DataType.ARRAY, "kwargs": kwargs}
    return schema


class Driver:
    """``Milvus.add_texts`` and ``similarity_search``."""

    def __init__(self, config: dict[str, Any], data: Dataset) -> None:
        self.data = data
        self.flush = bool(config.get("flush", False))
        self.embeddings = embeddings_for(config, data)
        self.bm25 = bool(config.get("bm25", True))
        self.common = {
            "connection_args": {"uri": config["uri"]},
            "collection_name": config["collection"],
            "auto_id": False,
        }
        if self.bm25:
            self.store = Milvus(
                self.embeddings,
                builtin_function=BM25BuiltInFunction(),
                vector_field=["vector", "sparse"],
                index_params=[_DENSE_INDEX, _BM25_INDEX],
                search_params=[_DENSE_SEARCH, _BM25_SEARCH],
                metadata_schema=_schema(config.get("declared", [])),
                drop_old=True,
                **self.common,
            )
        else:
            self.store = Milvus(
                self.embeddings,
                vector_field="vector",
                metadata_schema=_schema(config.get("declared", [])),
                drop_old=True,
                **self.common,
            )
        self._dense: Milvus | None = None if self.bm25 else self.store
        self._sparse: Milvus | None = None

    def ingest(self, positions: list[int]) -> None:
        self.store.add_texts(
            [self.data.texts[p] for p in positions],
            metadatas=[dict(self.data.metadata[p]) for p in positions],
            ids=[self.data.ids[p] for p in positions],
        )
        if self.flush:  # not its default: see the module docstring
            self.store.client.flush(self.common["collection_name"])

    @staticmethod
    def _ids(docs: list[Any]) -> list[str]:
        return [str(d.metadata["pk"]) for d in docs]

    def dense(self, q: int, k: int, filter: dict[str, Any] | None = None) -> list[str]:
        if self._dense is None:
            self._dense = Milvus(self.embeddings, vector_field="vector", **self.common)
        expr = f"{filter['key']} == {literal(filter['value'])}" if filter else None
        return self._ids(self._dense.similarity_search(self.data.query_texts[q], k=k, expr=expr))

    def sparse(self, q: int, k: int) -> list[str]:
        if self._sparse is None:
            self._sparse = Milvus(
                None,
                builtin_function=BM25BuiltInFunction(),
                vector_field="sparse",
                search_params=_BM25_SEARCH,
                **self.common,
            )
        return self._ids(self._sparse.similarity_search(self.data.query_texts[q], k=k))

    def hybrid(self, q: int, k: int, ranker: dict[str, Any], fetch_k: int) -> list[str]:
        if ranker["type"] == "rrf":
            kind, params = "rrf", {"k": ranker["k"]}
        else:
            kind, params = "weighted", {"weights": list(ranker["weights"])}
        docs = self.store.similarity_search(
            self.data.query_texts[q], k=k, fetch_k=fetch_k, ranker_type=kind, ranker_params=params
        )
        return self._ids(docs)

    def drop(self) -> None:
        self.store.client.drop_collection(self.common["collection_name"])
