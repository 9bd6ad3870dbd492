"""The export file format: what a header and a row hold, as JSON (no file I/O here).

The JSON Lines form (``.jsonl``), one JSON object per line, UTF-8::

    {"milvus_plugins_export": 1, "collection": ..., "spec": {...}, "embedding": {...}}
    {"id": ..., "text": ..., "vector": [...], "metadata": {...}, "doc_id": ..., "extra": {...}}
    ...     ("sparse": {"index": weight} on client-sparse; "vectors": {"name": [...]};
             "partition": "name" for a row of a named partition)
    {"end": {"rows": N}}

The header says how to create the collection (dimension, metric, index, sparse mode,
analyzer, text match, named dense fields, declared fields, field names, limits,
consistency) and which embedding filled it, and, for a collection with named partitions
(no partition key), their names (``"partitions": [...]``, empty ones too); the end line
makes a truncated file detectable; rows of a sparse-only collection (``"dense":
false``) have no ``vector``. Vectors are written as the shortest decimal that reads back
to the same float32, so a round trip is bit-exact; metadata is JSON as the store reads
it back (nested values, any Unicode, int64 integers exactly).

Parquet (``.parquet``) holds the same columns and the header in the schema metadata
(key :data:`HEADER_KEY`); :mod:`milvus_plugins.core.export_files` reads and writes both.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Collection, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from milvus_plugins.core.config import CollectionSpec
from milvus_plugins.core.errors import ConfigError, ExportFileError, MilvusPluginsError, shown
from milvus_plugins.core.fields import DenseField, FieldNames, MetadataField
from milvus_plugins.core.fingerprint import EmbeddingFingerprint
from milvus_plugins.core.indexes import IndexConfig, index_from_dict
from milvus_plugins.core.properties import CollectionProperties
from milvus_plugins.core.records import Record
from milvus_plugins.core.scope import DEFAULT_PARTITION, check_partition_names
from milvus_plugins.core.types import ParsableEnum, ScalarType, SparseMode

__all__ = [
    "EXPORT_VERSION",
    "HEADER_KEY",
    "ExportFormat",
    "ExportHeader",
    "UnexportableRowError",
    "creation_settings_from_dict",
    "creation_settings_to_dict",
    "parse_header",
    "record_of",
    "row_json",
    "row_of",
    "sparse_json",
    "spec_from_dict",
    "spec_to_dict",
    "strict_json",
]

EXPORT_VERSION = 1
HEADER_KEY = "milvus_plugins_export"
_ROW_KEYS = frozenset(
    {"id", "text", "vector", "vectors", "sparse", "metadata", "doc_id", "extra", "partition"}
)


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
        "dense": spec.dense,
        "metric": spec.metric_type.value,
        "index": _index_to_dict(index) if index is not None else None,
        "vector_fields": [
            {
                "name": f.name,
                "dim": f.dim,
                "metric": f.metric_type.value,
                "index": _index_to_dict(f.index_config) if f.index_config is not None else None,
            }
            for f in spec.extra_vector_fields
        ],
        "sparse": spec.sparse_mode.value,
        "text_match": spec.text_match,
        "analyzer": spec.analyzer
        if spec.sparse_mode is SparseMode.BM25 or spec.text_match
        else None,
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
        **creation_settings_to_dict(spec),
    }


_STORED_PROPERTIES = ("ttl_seconds", "mmap", "num_shards")


def creation_settings_to_dict(spec: CollectionSpec) -> dict[str, Any]:
    """The settings a copy of the collection is created with beyond its schema: TTL,
    mmap and shard count (``properties``) and a partition key's partition count, where
    set (replicas are a load setting, not the collection's)."""
    props = spec.collection_properties
    stored = {key: getattr(props, key) for key in _STORED_PROPERTIES}
    out: dict[str, Any] = {}
    if any(value is not None for value in stored.values()):
        out["properties"] = {k: v for k, v in stored.items() if v is not None}
    if spec.num_partitions is not None:
        out["num_partitions"] = spec.num_partitions
    return out


def creation_settings_from_dict(data: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`creation_settings_to_dict`'s values, as ``CollectionSpec`` arguments.

    Raises:
        ConfigError: a value the spec refuses, or a property this package does not set.
    """
    if not isinstance(data, Mapping):
        raise ConfigError("the export header's spec must be a JSON object.")
    out: dict[str, Any] = {}
    props = data.get("properties")
    if props is not None:
        if not isinstance(props, Mapping) or set(props) - set(_STORED_PROPERTIES):
            raise ConfigError(
                f"the export header's properties {shown(props)} must be an object with "
                f"only {', '.join(_STORED_PROPERTIES)}."
            )
        out["properties"] = CollectionProperties(**props)
    if data.get("num_partitions") is not None:
        out["num_partitions"] = _integer(data, "num_partitions", 0)
    return out


def _optional_integer(data: Mapping[str, Any], key: str) -> int | None:
    # JSON numbers come back as int or float (1e400 is inf, 3.9 would truncate), and
    # true is an int to Python: only a plain integer is one.
    value = data.get(key)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise ConfigError(f"{key}={shown(value)} must be an integer.")


def _integer(data: Mapping[str, Any], key: str, default: int) -> int:
    value = _optional_integer(data, key)
    return default if key not in data else _required(key, value)


def _required(key: str, value: int | None) -> int:
    if value is None:
        raise ConfigError(f"{key}=null must be an integer.")
    return value


def _flag(data: Mapping[str, Any], key: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{key}={shown(value)} must be true or false.")
    return value


def _dense_field(data: Any) -> DenseField:
    if not isinstance(data, Mapping):
        raise ConfigError(f"a vector_fields item {shown(data)} must be a JSON object.")
    name = data.get("name")
    if not isinstance(name, str):
        raise ConfigError(f"vector_fields name={shown(name)} must be a string.")
    return DenseField(
        name=name,
        dim=_optional_integer(data, "dim"),
        metric=data.get("metric", "COSINE"),
        index=index_from_dict(data["index"]) if data.get("index") else None,
    )


def spec_from_dict(name: str, data: Mapping[str, Any]) -> CollectionSpec:
    """Rebuild a spec named ``name`` from :func:`spec_to_dict` output.

    Raises:
        ConfigError: a value the spec refuses (the spec's own checks), a number that is
            not an integer (a float, a boolean, a string), or not a mapping.
    """
    if not isinstance(data, Mapping):
        raise ConfigError("the export header's spec must be a JSON object.")
    try:
        return CollectionSpec(
            name=name,
            dim=_optional_integer(data, "dim"),
            dense=_flag(data, "dense", True),
            metric=data.get("metric", "COSINE"),
            index=index_from_dict(data["index"]) if data.get("index") else None,
            vector_fields=tuple(_dense_field(d) for d in data.get("vector_fields") or ()),
            sparse=data.get("sparse", "none"),
            text_match=_flag(data, "text_match", False),
            analyzer=data.get("analyzer"),
            metadata_fields=tuple(MetadataField(**d) for d in data.get("metadata_fields") or ()),
            partition_key=data.get("partition_key"),
            fields=FieldNames(**(data.get("fields") or {})),
            text_max_length=_integer(data, "text_max_length", 65535),
            id_max_length=_integer(data, "id_max_length", 512),
            consistency_level=data.get("consistency_level", "Strong"),
        )
    except ConfigError:
        raise
    except (TypeError, ValueError, AttributeError, OverflowError) as exc:
        # An unknown key in a nested object, a list where an object belongs, ...
        raise ConfigError(f"the export header's spec is not valid: {exc}.") from None


@dataclass(frozen=True)
class ExportHeader:
    """What an export file says about its collection.

    Attributes:
        collection: the exported collection's name.
        spec: its settings as :func:`spec_to_dict` wrote them.
        embedding: the embedding fingerprint recorded in it, if any.
        partitions: its named partitions (``_default`` aside; empty ones too), where
            rows say which one they belong to; ``()`` for a collection without.
    """

    collection: str
    spec: Mapping[str, Any]
    embedding: EmbeddingFingerprint | None
    partitions: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The header line's JSON object."""
        data = {
            HEADER_KEY: EXPORT_VERSION,
            "collection": self.collection,
            "spec": dict(self.spec),
            "embedding": self.embedding.as_dict() if self.embedding else None,
        }
        if self.partitions:
            data["partitions"] = list(self.partitions)
        return data


# -- rows <-> JSON ---------------------------------------------------------------------


def _float32_text(vector: Any) -> str:
    # str(np.float32) is the shortest decimal that parses back to the same float32: a
    # round trip is bit-exact, at about half the length of the float64 repr.
    return "[" + ",".join(str(x) for x in np.asarray(vector, dtype=np.float32)) + "]"


def sparse_json(sparse: Mapping[int, float]) -> dict[str, float]:
    """A sparse vector as a JSON object: string indexes, float32-exact weights."""
    return {str(int(k)): float(np.float32(v)) for k, v in sparse.items()}


def _vectors_text(vectors: Mapping[str, Any]) -> str:
    items = (
        json.dumps(name, ensure_ascii=False) + ":" + _float32_text(v) for name, v in vectors.items()
    )
    return "{" + ",".join(items) + "}"


class UnexportableRowError(ValueError):
    """A row holds a number JSON cannot carry (NaN, an infinity): another tool's typed
    column can store one, an export file (and this package's JSON fields) cannot."""

    def __init__(self, record_id: str) -> None:
        self.record_id = record_id
        super().__init__(f"row {shown(record_id)} holds NaN or an infinity")


def strict_json(value: Any, record_id: str) -> str:
    """``value`` as compact JSON, refusing NaN and infinities (which ``json`` would write
    as the bare words ``NaN`` / ``Infinity``, no JSON reader's numbers).

    Raises:
        UnexportableRowError: naming ``record_id``.
    """
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError:
        raise UnexportableRowError(record_id) from None


def row_json(record: Record, with_sparse: bool, partition: str | None = None) -> str:
    """A record as one JSON line's object (no newline); ``partition``: the named
    partition it belongs to (``None``: the default one, not written)."""
    row: dict[str, Any] = {"id": record.id, "text": record.text}
    if partition is not None:
        row["partition"] = partition
    if with_sparse and record.sparse is not None:
        row["sparse"] = sparse_json(record.sparse)
    row["metadata"] = record.metadata
    row["doc_id"] = record.doc_id
    row["extra"] = record.extra
    body = strict_json(row, record.id)[:-1]
    if record.vectors:
        body += ',"vectors":' + _vectors_text(record.vectors)
    if record.vector is not None:  # none in a sparse-only collection
        body += ',"vector":' + _float32_text(record.vector)
    return body + "}"


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _vector_of(value: Any, key: str, where: Callable[[str], ExportFileError]) -> list[Any]:
    # Booleans are ints to Python (and to numpy): refuse them here, as a string would be.
    if not isinstance(value, list) or not all(_number(x) for x in value):
        raise where(f"{key} must be a list of numbers")
    return value


def record_of(row: Any, where: Callable[[str], ExportFileError]) -> Record:
    """Build a record from a parsed row object (shape checks only; values are checked
    by the store's own validation). A row's partition is read by :func:`row_of`."""
    return row_of(row, where)[0]


def row_of(
    row: Any, where: Callable[[str], ExportFileError], partitions: Collection[str] = ()
) -> tuple[Record, str | None]:
    """The record of a parsed row object and its named partition (``None``: the
    default one), which must be one of the header's ``partitions``."""
    if not isinstance(row, dict):
        raise where("a row must be a JSON object")
    unknown = sorted(set(row) - _ROW_KEYS)
    if unknown:
        raise where(f"unknown keys {unknown} (a row has {sorted(_ROW_KEYS)})")
    for key, kind in (("id", str), ("text", str), ("doc_id", str)):
        if key in row and not isinstance(row[key], kind):
            raise where(f"{key!r} must be a string, got {type(row[key]).__name__}")
    if "id" not in row:
        raise where("a row needs 'id'")
    for key in ("metadata", "extra"):
        if not isinstance(row.get(key, {}), dict):
            raise where(f"{key!r} must be a JSON object")
    sparse = row.get("sparse")
    parsed_sparse: dict[int, float] | None = None
    if sparse is not None:
        if not isinstance(sparse, dict):
            raise where("'sparse' must be an object {index: weight}")
        if not all(_number(v) for v in sparse.values()):
            raise where("'sparse' values must be numbers")
        try:
            parsed_sparse = {int(k): float(v) for k, v in sparse.items()}
        except (TypeError, ValueError, OverflowError):
            raise where("'sparse' keys must be integers and its values numbers") from None
    vector = row.get("vector")
    if vector is not None:
        vector = _vector_of(vector, "'vector'", where)
    vectors = row.get("vectors", {})
    if not isinstance(vectors, dict):
        raise where("'vectors' must be an object {field name: [numbers]}")
    for name, value in vectors.items():
        _vector_of(value, f"'vectors'[{name!r}]", where)
    partition = row.get("partition")
    if partition is not None and (not isinstance(partition, str) or partition not in partitions):
        declared = sorted(partitions)
        raise where(
            f"'partition' is {shown(partition)}, which the header's partitions "
            f"({declared}) do not list; a row names one of them or none (the default "
            "partition)"
        )
    record = Record(
        id=row["id"],
        text=row.get("text", ""),
        vector=vector,
        metadata=row.get("metadata", {}),
        sparse=parsed_sparse,
        doc_id=row.get("doc_id", ""),
        extra=row.get("extra", {}),
        vectors=vectors,
    )
    return record, partition


def _partitions_of(
    data: Mapping[str, Any], fault: Callable[[str], ExportFileError]
) -> tuple[str, ...]:
    names = data.get("partitions", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise fault("the header's 'partitions' must be a list of partition names")
    try:
        checked = check_partition_names(names) if names else ()
    except MilvusPluginsError as exc:
        raise fault(f"the header's 'partitions' are not valid: {exc}") from None
    if DEFAULT_PARTITION in names or len(set(names)) != len(names):
        raise fault(
            "the header's 'partitions' must name each partition once, '_default' not among "
            "them (its rows carry no 'partition')"
        )
    return tuple(checked or ())


def parse_header(data: Any, fault: Callable[[str], ExportFileError]) -> ExportHeader:
    if not isinstance(data, dict) or data.get(HEADER_KEY) is None:
        raise fault(f"not a milvus-plugins export (the header must carry {HEADER_KEY!r})")
    version = data[HEADER_KEY]
    if type(version) is not int or version != EXPORT_VERSION:
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
    partitions = _partitions_of(data, fault)
    return ExportHeader(str(data.get("collection", "")), spec, fingerprint, partitions)
