"""Collections with named partitions, for the partition tests (export, reindex, ids).

``row(i)`` is record ``r<i>`` with a seeded random vector; ``build`` makes a collection
whose partitions hold the rows a layout names, and skips on an engine without
partitions (Milvus Lite 2.5.1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pytest

from milvus_plugins.core import CollectionSpec, ConnectionConfig, FlatIndex, MilvusStore, Record

DIM = 8
DEFAULT = "_default"


def row(i: int, dim: int = DIM) -> Record:
    """Record ``r<i>``: text ``row <i>``, metadata ``{"i": i}``, a vector seeded by ``i``."""
    vector = np.random.default_rng(i).standard_normal(dim).tolist()
    return Record(id=f"r{i}", text=f"row {i}", vector=vector, metadata={"i": i})


def flat_spec(name: str) -> CollectionSpec:
    """An exact (FLAT, L2) collection of :data:`DIM` dimensions."""
    return CollectionSpec(name=name, dim=DIM, index=FlatIndex(metric="L2"))


def build(
    connection: ConnectionConfig | str,
    layout: Mapping[str, Sequence[int]],
    spec: CollectionSpec,
) -> MilvusStore:
    """Create ``spec``'s collection with ``layout`` (partition name -> the numbers of the
    rows in it; an empty sequence makes an empty partition), flushed; the open store.

    Skips the test on an engine without named partitions.
    """
    if isinstance(connection, str):
        connection = ConnectionConfig(uri=connection)
    store = MilvusStore(spec, connection=connection)
    if not store.capabilities.partitions:
        store.close()
        pytest.skip("no named partitions on this engine (Milvus Lite 2.5.1)")
    store.ensure_collection(spec.dim)
    for partition in layout:
        if partition != DEFAULT:
            store.create_partition(partition)
    for partition, numbers in layout.items():
        if len(numbers):
            target = None if partition == DEFAULT else partition
            store.upsert([row(i, spec.dim or DIM) for i in numbers], partition_name=target)
    store.flush()
    return store
