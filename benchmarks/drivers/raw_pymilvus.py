"""The floor: ``pymilvus.MilvusClient`` called directly, the way a careful user would.

Same layout as our core (typed declared columns, a JSON ``metadata`` column, a BM25
function on ``text``), COSINE, rows inserted in batches of 1,000 and flushed (on Lite
unflushed rows are searched on a slow path). The dense index is the usual hand-written
HNSW (``M`` 16, ``efConstruction`` 200, ``ef`` 64) unless ``config["index"]`` says
``"FLAT"``. ``ingest`` computes each batch's vectors just before inserting it when
``config["on_the_fly"]`` is set (as a model would: the driver never holds them all).
"""

from __future__ import annotations

from typing import Any

from pymilvus import (
    AnnSearchRequest,
    DataType,
    Function,
    FunctionType,
    MilvusClient,
    RRFRanker,
    WeightedRanker,
)

from benchmarks.dataset import Dataset
from benchmarks.drivers.contract import expression, on_the_fly_vectors
from benchmarks.drivers.contract import versions as _versions

_TYPES = {
    "INT64": DataType.INT64,
    "DOUBLE": DataType.DOUBLE,
    "BOOL": DataType.BOOL,
    "VARCHAR": DataType.VARCHAR,
    "ARRAY": DataType.ARRAY,
}
BATCH = 1000


def versions() -> dict[str, str]:
    """Versions of the libraries this driver uses."""
    return _versions("pymilvus", "milvus-lite")


class Driver:
    """Raw ``MilvusClient`` calls."""

    def __init__(self, config: dict[str, Any], data: Dataset) -> None:
        self.data = data
        self.name = config["collection"]
        self.declared: list[dict[str, Any]] = config.get("declared", [])
        self.bm25 = bool(config.get("bm25", True))
        self.index = str(config.get("index", "HNSW"))
        self.search_params: dict[str, Any] = {"ef": 64} if self.index == "HNSW" else {}
        self.on_the_fly = bool(config.get("on_the_fly", False))
        self.dim = int(config["dim"])
        self.client = MilvusClient(uri=config["uri"])
        if self.client.has_collection(self.name):
            self.client.drop_collection(self.name)
        self.client.create_collection(
            self.name, schema=self._schema(config["dim"]), index_params=self._indexes()
        )
        self.output = ["text", "metadata", *[d["name"] for d in self.declared]]

    def _schema(self, dim: int) -> Any:
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=512)
        text_kwargs: dict[str, Any] = {"max_length": 65535}
        if self.bm25:
            text_kwargs.update(enable_analyzer=True, analyzer_params={"type": "standard"})
        schema.add_field("text", DataType.VARCHAR, **text_kwargs)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        schema.add_field("metadata", DataType.JSON)
        for d in self.declared:
            kwargs: dict[str, Any] = {"nullable": True}
            if d["type"] in ("VARCHAR", "ARRAY"):
                kwargs["max_length"] = d.get("max_length", 1024)
            if d["type"] == "ARRAY":
                kwargs.update(element_type=_TYPES[d["element_type"]], max_capacity=64)
            schema.add_field(d["name"], _TYPES[d["type"]], **kwargs)
        if self.bm25:
            schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
            schema.add_function(
                Function(
                    name="bm25",
                    function_type=FunctionType.BM25,
                    input_field_names=["text"],
                    output_field_names=["sparse"],
                )
            )
        return schema

    def _indexes(self) -> Any:
        params = MilvusClient.prepare_index_params()
        build = {"M": 16, "efConstruction": 200} if self.index == "HNSW" else {}
        params.add_index(
            field_name="vector", index_type=self.index, metric_type="COSINE", params=build
        )
        if self.bm25:
            params.add_index(
                field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25"
            )
        return params

    def _rows(self, positions: list[int]) -> list[dict[str, Any]]:
        names = {d["name"] for d in self.declared}
        vectors = (
            on_the_fly_vectors(self.data, positions, self.dim)
            if self.on_the_fly
            else [self.data.vectors[p].tolist() for p in positions]
        )
        rows = []
        for p, vector in zip(positions, vectors, strict=True):
            meta = self.data.metadata[p]
            row: dict[str, Any] = {
                "id": self.data.ids[p],
                "text": self.data.texts[p],
                "vector": vector,
                "metadata": {k: v for k, v in meta.items() if k not in names},
            }
            row.update({n: meta.get(n) for n in names})
            rows.append(row)
        return rows

    def ingest(self, positions: list[int]) -> None:
        if self.on_the_fly:  # one batch of rows (and vectors) in memory at a time
            for start in range(0, len(positions), BATCH):
                rows = self._rows(positions[start : start + BATCH])
                self.client.insert(self.name, rows)
                del rows
        else:
            rows = self._rows(positions)
            for start in range(0, len(rows), BATCH):
                self.client.insert(self.name, rows[start : start + BATCH])
        self.client.flush(self.name)

    def dense(self, q: int, k: int, filter: dict[str, Any] | None = None) -> list[str]:
        hits = self.client.search(
            self.name,
            data=[self.data.query_vectors[q].tolist()],
            anns_field="vector",
            limit=k,
            filter=expression(filter, self.declared, "metadata") if filter else "",
            search_params={"metric_type": "COSINE", "params": self.search_params},
            output_fields=self.output,
        )
        return [h["id"] for h in hits[0]]

    def _sparse_request(self, q: int, limit: int) -> AnnSearchRequest:
        return AnnSearchRequest(
            data=[self.data.query_texts[q]],
            anns_field="sparse",
            param={"metric_type": "BM25", "params": {"drop_ratio_search": 0.0}},
            limit=limit,
        )

    def sparse(self, q: int, k: int) -> list[str]:
        hits = self.client.search(
            self.name,
            data=[self.data.query_texts[q]],
            anns_field="sparse",
            limit=k,
            search_params={"metric_type": "BM25", "params": {"drop_ratio_search": 0.0}},
            output_fields=self.output,
        )
        return [h["id"] for h in hits[0]]

    def hybrid(self, q: int, k: int, ranker: dict[str, Any], fetch_k: int) -> list[str]:
        dense = AnnSearchRequest(
            data=[self.data.query_vectors[q].tolist()],
            anns_field="vector",
            param={"metric_type": "COSINE", "params": self.search_params},
            limit=fetch_k,
        )
        if ranker["type"] == "rrf":
            fusion: Any = RRFRanker(ranker["k"])
        else:
            fusion = WeightedRanker(*ranker["weights"], norm_score=True)
        hits = self.client.hybrid_search(
            self.name,
            reqs=[dense, self._sparse_request(q, fetch_k)],
            ranker=fusion,
            limit=k,
            output_fields=self.output,
        )
        return [h["id"] for h in hits[0]]

    def drop(self) -> None:
        # The client stays open: closing it and reconnecting to the same Lite file in
        # the same process failed once ("Fail connecting to server"); the process ends
        # soon anyway.
        self.client.drop_collection(self.name)
