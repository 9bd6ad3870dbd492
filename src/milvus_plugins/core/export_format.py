"""The export file format: what a header and a row hold, as JSON (no file I/O here).

The JSON Lines form (``.jsonl``), one JSON object per line, UTF-8::

    {"milvus_plugins_export": 1, "collection": ..., "spec": {...}, "embedding": {...}}
    {"id": ..., "text": ..., "vector": [...], "metadata": {...}, "doc_id": ..., "extra": {...}}
    ...                                      ("sparse": {"index": weight} on client-sparse)
    {"end": {"rows": N}}

The header says how to create the collection (dimension, metric, index, sparse mode,
analyzer, declared fields, field names, limits, consistency) and which embedding filled
it; the end line makes a truncated file detectable. Vectors are written as the shortest
decimal that reads back to the same float32, so a round trip is bit-exact; metadata is
JSON as the store reads it back (nested values, any Unicode, int64 integers exactly).

Parquet (``.parquet``) holds the same columns and the header in the schema metadata
(key :data:`HEADER_KEY`); :mod:`milvus_plugins.core.export_files` reads and writes both.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from milvus_plugins.core.config import CollectionSpec
from milvus_plugins.core.errors import ConfigError, ExportFileError
from milvus_plugins.core.fields import FieldNames, MetadataField
from milvus_plugins.core.fingerprint import EmbeddingFingerprint
from milvus_plugins.core.indexes import IndexConfig, index_from_dict
from milvus_plugins.core.records import Record
from milvus_plugins.core.types import ParsableEnum, ScalarType, SparseMode

__all__ = [
    "EXPORT_VERSION",
    "HEADER_KEY",
    "ExportFormat",
    "ExportHeader",
    "parse_header",
    "record_of",
    "row_json",
    "sparse_json",
    "spec_from_dict",
    "spec_to_dict",
]

EXPORT_VERSION = 1
HEADER_KEY = "milvus_plugins_export"
_ROW_KEYS = frozenset({"id", "text", "vector", "sparse", "metadata", "doc_id", "extra"})


class ExportFormat(ParsableEnum):
    """The file format of an export (chosen from the file name when not given)."""

    JSONL = "jsonl"
    PARQUET = "parquet"

    @classmethod
    def for_path(
        cls, path: str | os.PathLike[str], given: ExportFormat | str | None
    ) -> ExportFormat:
        """The format ``given``, else ``parquet`` for a ``.parquet`` file, else ``jsonl``."""
        if given is not None:
            return cls.parse(given, field="format")
        return cls.PARQUET if str(path).lower().endswith(".parquet") else cls.JSONL


def _index_to_dict(index: IndexConfig) -> dict[str, Any]:
    data = {f.name: getattr(index, f.name) for f in fields(index)}
    data["metric"] = index.metric_type.value
    return {"index_type": index.index_type.value, **data}


def _value_or_none(kind: ScalarType | None) -> str | None:
    return kind.value if kind is not None else None


def spec_to_dict(spec: CollectionSpec) -> dict[str, Any]:
    """The spec as JSON values (everything but the name), for an export header."""
    index = spec.index_config
    return {
        "dim": spec.dim,
        "metric": spec.metric_type.value,
        "index": _index_to_dict(index) if index is not None else None,
        "sparse": spec.sparse_mode.value,
        "analyzer": spec.analyzer if spec.sparse_mode is SparseMode.BM25 else None,
        "metadata_fields": [
            {
                "name": d.name,
                "type": d.scalar_type.value,
                "element_type": _value_or_none(d.element_scalar_type),
                "max_length": d.max_length,
                "max_capacity": d.max_capacity,
                "index": d.index,
            }
            for d in spec.declared_fields
        ],
        "partition_key": spec.partition_key,
        "fields": asdict(spec.fields),
        "text_max_length": spec.text_max_length,
        "id_max_length": spec.id_max_length,
        "consistency_level": spec.consistency.value,
    }


def spec_from_dict(name: str, data: Mapping[str, Any]) -> CollectionSpec:
    """Rebuild a spec named ``name`` from :func:`spec_to_dict` output.

    Raises:
        ConfigError: a value the spec refuses (the spec's own checks), or not a mapping.
    """
    if not isinstance(data, Mapping):
        raise ConfigError("the export header's spec must be a JSON object.")
    try:
        return CollectionSpec(
            name=name,
            dim=data.get("dim"),
            metric=data.get("metric", "COSINE"),
            index=index_from_dict(data["index"]) if data.get("index") else None,
            sparse=data.get("sparse", "none"),
            analyzer=data.get("analyzer"),
            metadata_fields=tuple(MetadataField(**d) for d in data.get("metadata_fields") or ()),
            partition_key=data.get("partition_key"),
            fields=FieldNames(**(data.get("fields") or {})),
            text_max_length=int(data.get("text_max_length", 65535)),
            id_max_length=int(data.get("id_max_length", 512)),
            consistency_level=data.get("consistency_level", "Strong"),
        )
    except TypeError as exc:  # an unknown key in a nested object
        raise ConfigError(f"the export header's spec is not valid: {exc}.") from None


@dataclass(frozen=True)
class ExportHeader:
    """What an export file says about its collection.

    Attributes:
        collection: the exported collection's name.
        spec: its settings as :func:`spec_to_dict` wrote them.
        embedding: the embedding fingerprint recorded in it, if any.
    """

    collection: str
    spec: Mapping[str, Any]
    embedding: EmbeddingFingerprint | None

    def as_dict(self) -> dict[str, Any]:
        """The header line's JSON object."""
        return {
            HEADER_KEY: EXPORT_VERSION,
            "collection": self.collection,
            "spec": dict(self.spec),
            "embedding": self.embedding.as_dict() if self.embedding else None,
        }


# -- rows <-> JSON ---------------------------------------------------------------------


def _float32_text(vector: Any) -> str:
    # str(np.float32) is the shortest decimal that parses back to the same float32: a
    # round trip is bit-exact, at about half the length of the float64 repr.
    return "[" + ",".join(str(x) for x in np.asarray(vector, dtype=np.float32)) + "]"


def sparse_json(sparse: Mapping[int, float]) -> dict[str, float]:
    """A sparse vector as a JSON object: string indexes, float32-exact weights."""
    return {str(int(k)): float(np.float32(v)) for k, v in sparse.items()}


def row_json(record: Record, with_sparse: bool) -> str:
    row: dict[str, Any] = {"id": record.id, "text": record.text}
    if with_sparse and record.sparse is not None:
        row["sparse"] = sparse_json(record.sparse)
    row["metadata"] = record.metadata
    row["doc_id"] = record.doc_id
    row["extra"] = record.extra
    body = json.dumps(row, ensure_ascii=False, separators=(",", ":"))
    return body[:-1] + ',"vector":' + _float32_text(record.vector) + "}"


def record_of(row: Any, where: Callable[[str], ExportFileError]) -> Record:
    """Build a record from a parsed row object (shape checks only; values are checked
    by the store's own validation)."""
    if not isinstance(row, dict):
        raise where("a row must be a JSON object")
    unknown = sorted(set(row) - _ROW_KEYS)
    if unknown:
        raise where(f"unknown keys {unknown} (a row has {sorted(_ROW_KEYS)})")
    for key, kind in (("id", str), ("text", str), ("doc_id", str)):
        if key in row and not isinstance(row[key], kind):
            raise where(f"{key!r} must be a string, got {type(row[key]).__name__}")
    if "id" not in row or "vector" not in row:
        raise where("a row needs 'id' and 'vector'")
    for key in ("metadata", "extra"):
        if not isinstance(row.get(key, {}), dict):
            raise where(f"{key!r} must be a JSON object")
    sparse = row.get("sparse")
    parsed_sparse: dict[int, float] | None = None
    if sparse is not None:
        if not isinstance(sparse, dict):
            raise where("'sparse' must be an object {index: weight}")
        try:
            parsed_sparse = {int(k): float(v) for k, v in sparse.items()}
        except (TypeError, ValueError):
            raise where("'sparse' keys must be integers and its values numbers") from None
    vector = row["vector"]
    if not isinstance(vector, list):
        raise where("'vector' must be a list of numbers")
    return Record(
        id=row["id"],
        text=row.get("text", ""),
        vector=vector,
        metadata=row.get("metadata", {}),
        sparse=parsed_sparse,
        doc_id=row.get("doc_id", ""),
        extra=row.get("extra", {}),
    )


def parse_header(data: Any, fault: Callable[[str], ExportFileError]) -> ExportHeader:
    if not isinstance(data, dict) or data.get(HEADER_KEY) is None:
        raise fault(f"not a milvus-plugins export (the header must carry {HEADER_KEY!r})")
    if data[HEADER_KEY] != EXPORT_VERSION:
        raise fault(
            f"export format version {data[HEADER_KEY]!r} is not supported (this package "
            f"reads version {EXPORT_VERSION}); upgrade milvus-plugins"
        )
    spec = data.get("spec")
    if not isinstance(spec, dict):
        raise fault("the header's 'spec' must be a JSON object")
    embedding = data.get("embedding")
    try:
        fingerprint = EmbeddingFingerprint.from_dict(embedding) if embedding else None
    except ConfigError as exc:
        raise fault(f"the header's embedding fingerprint is not valid: {exc}") from None
    return ExportHeader(str(data.get("collection", "")), spec, fingerprint)
