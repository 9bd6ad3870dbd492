"""The collection health report (:class:`CollectionStats`), parsed from describe calls."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from milvus_plugins.core.capabilities import Capabilities
from milvus_plugins.core.config import CollectionSpec
from milvus_plugins.core.indexes import described_params
from milvus_plugins.core.properties import described_properties

__all__ = [
    "CollectionStats",
    "parse_stats",
    "partition_count",
    "partition_key_of",
    "type_name",
    "vector_fields",
]


@dataclass(frozen=True)
class CollectionStats:
    """What a collection holds and how it is served.

    Attributes:
        name: collection name.
        row_count: rows visible to a strong-consistency count.
        fields: field name -> type name.
        indexes: one dict per index (field, index type, metric, params, state).
        load_state: ``Loaded``, ``Loading``, ``NotLoad`` ...
        partitions: partition names.
        server_version: the version string Milvus reported.
        dim: dense vector dimension.
        sparse: sparse mode (``none``, ``bm25``, ``client``).
        properties: the collection properties the engine reports (``ttl_seconds``,
            ``mmap``, ``num_shards``) plus ``replicas`` when the store loads with a
            replica count.
        text_match: whether the text field is indexed for text match.
        partition_key: the partition-key field, or ``None``.
        num_partitions: the partitions the collection reports (with a partition key:
            how many its values are hashed into, as Milvus describes it).
    """

    name: str
    row_count: int
    fields: dict[str, str] = field(default_factory=dict)
    indexes: list[dict[str, Any]] = field(default_factory=list)
    load_state: str = ""
    partitions: list[str] = field(default_factory=list)
    server_version: str = ""
    dim: int | None = None
    sparse: str = "none"
    properties: dict[str, Any] = field(default_factory=dict)
    text_match: bool = False
    partition_key: str | None = None
    num_partitions: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict of the report."""
        return dict(self.__dict__)


def type_name(value: Any) -> str:
    """A described type's name (``FLOAT_VECTOR``, ``Loaded`` ...): an enum member's name,
    anything else as text."""
    return str(getattr(value, "name", value))


def parse_stats(
    spec: CollectionSpec,
    caps: Capabilities,
    description: Mapping[str, Any],
    indexes: Sequence[Mapping[str, Any]],
    load_state: Any,
    partitions: Sequence[str],
    row_count: int,
) -> CollectionStats:
    """Build the report from the raw describe/list answers."""
    fields = {f["name"]: type_name(f.get("type")) for f in description.get("fields", [])}
    state = load_state.get("state") if isinstance(load_state, Mapping) else load_state
    index_rows = [
        {
            "field": idx.get("field_name"),
            "index_type": idx.get("index_type"),
            "metric_type": idx.get("metric_type"),
            # Flat on every engine (Milvus Lite 3 nests the build parameters).
            "params": {
                k: v
                for k, v in described_params(idx).items()
                if k not in ("field_name", "index_type", "metric_type", "index_name")
            },
        }
        for idx in indexes
    ]
    return CollectionStats(
        name=spec.name,
        row_count=row_count,
        fields=fields,
        indexes=index_rows,
        load_state=type_name(state),
        partitions=list(partitions),
        server_version=caps.version,
        dim=spec.dim,
        sparse=spec.sparse_mode.value,
        properties=_properties(spec, caps, description),
        text_match=spec.text_match,
        partition_key=spec.partition_key,
        num_partitions=partition_count(description),
    )


def _properties(
    spec: CollectionSpec, caps: Capabilities, description: Mapping[str, Any]
) -> dict[str, Any]:
    found = described_properties(description, caps)
    replicas = spec.collection_properties.replicas
    if replicas is not None and caps.replicas:
        found["replicas"] = replicas
    return found


def partition_count(description: Mapping[str, Any]) -> int | None:
    """The partitions a ``describe_collection`` answer reports (``None``: not reported)."""
    value = description.get("num_partitions")
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def partition_key_of(description: Mapping[str, Any]) -> str | None:
    """The partition-key field a ``describe_collection`` answer names, or ``None``."""
    for described in description.get("fields") or ():
        if described.get("is_partition_key"):
            return str(described.get("name"))
    return None


def vector_fields(description: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The vector fields (dense, sparse, binary ...) a ``describe_collection`` answer
    lists, as described."""
    return [
        field
        for field in description.get("fields") or ()
        if type_name(field.get("type")).endswith("VECTOR")
    ]
