"""Collections made with raw pymilvus, in layouts this package did not create (another
tool's), for the adoption tests: the primary key ``key`` (VARCHAR), the text ``body``,
a FLAT/L2 ``emb`` vector field, then the fields a test adds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pymilvus import DataType, MilvusClient

Field = tuple[str, DataType, Mapping[str, Any]]
"""A field to add: name, type, keyword arguments (``dim``, ``max_length`` ...)."""


def raw_collection(
    uri: str,
    name: str,
    rows: Sequence[Mapping[str, Any]],
    *,
    dim: int,
    fields: Sequence[Field] = (),
    dynamic: bool = False,
) -> None:
    """Create ``name`` with ``key``, ``body``, ``emb`` and ``fields``, insert ``rows`` and
    flush. Every vector field gets a FLAT index with the L2 metric."""
    client = MilvusClient(uri=uri)
    try:
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=dynamic)
        schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=64)
        schema.add_field("body", DataType.VARCHAR, max_length=256)
        schema.add_field("emb", DataType.FLOAT_VECTOR, dim=dim)
        index = client.prepare_index_params()
        index.add_index("emb", index_type="FLAT", metric_type="L2")
        for field, kind, kwargs in fields:
            schema.add_field(field, kind, **kwargs)
            if kind == DataType.FLOAT_VECTOR:
                index.add_index(field, index_type="FLAT", metric_type="L2")
        client.create_collection(name, schema=schema, index_params=index)
        client.insert(name, list(rows))
        client.flush(name)
    finally:
        client.close()
