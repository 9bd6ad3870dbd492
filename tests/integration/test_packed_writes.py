"""The store's writes are packed by column, and equal what pymilvus' row path would send.

``core/packing.py`` replaces pymilvus' per-value row packing for the store's own layout.
Here, on each engine, the rows a store actually writes (declared INT64 / DOUBLE / ARRAY /
VARCHAR fields, accelerator columns, JSON metadata and ``extra``, list and numpy vectors,
BM25) are packed against the collection's described schema: the packer must not decline
them (else the speed is silently lost) and its request must equal pymilvus' own. The rows
then read back as written through the packed path.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pymilvus.client.prepare import Prepare

from milvus_plugins.core import (
    CollectionSpec,
    ConnectionConfig,
    MetadataField,
    MilvusStore,
    Record,
    packing,
)
from milvus_plugins.core.rows import records_to_rows


def _records() -> list[Record]:
    records = []
    for i in range(6):
        vector: Any = [0.25, float(i + 1), -1.5] if i % 2 else np.array([1, 2, i], np.float32)
        metadata: dict[str, Any] = {
            "n": 2**53 + i,
            "score": 0.5 * i,
            "tags": ["a", "é🙂"][: i % 3],
            "kind": f"k{i % 2}",
            "free": {"nested": [i, None, "x"]},
            "gone": None,
        }
        records.append(
            Record(
                id=f"id-{i}-🙂",
                text=f"text {i} «quoted»",
                vector=vector,
                metadata=metadata,
                doc_id=f"doc{i % 2}",
            )
        )
    return records


def test_the_store_layout_is_packed_as_pymilvus_would(uri: str, collection_name: str) -> None:
    spec = CollectionSpec(
        name=collection_name,
        dim=3,
        metadata_fields=[
            MetadataField(name="n", type="INT64"),
            MetadataField(name="score", type="DOUBLE"),
            MetadataField(name="tags", type="ARRAY", element_type="VARCHAR", max_length=64),
        ],
    )
    store = MilvusStore(spec, connection=ConnectionConfig(uri=uri))
    records = _records()
    store.upsert(records)
    store.upsert(records[:2])  # the second write is an upsert into an existing collection

    got = {r.id: r for r in store.get([r.id for r in records], include_vectors=True)}
    for record in records:
        back = got[record.id]
        assert back.text == record.text and back.doc_id == record.doc_id
        assert back.metadata == record.metadata
        assert np.allclose(np.asarray(back.vector), np.asarray(record.vector, dtype=np.float32))

    handler = store.runner.client._get_connection()
    schema, stamp = handler._get_schema(collection_name)
    caps = store.capabilities
    rows = records_to_rows(records, store.spec, store_missing_as_null=caps.nullable)
    fields, structs = schema["fields"], schema.get("struct_array_fields", [])
    ours = packing.pack_upsert(collection_name, rows, "", schema, stamp)
    assert ours is not None, "the store's own layout must be packed, not declined"
    assert ours == Prepare.row_upsert_param(
        collection_name, rows, "", fields, structs, schema_timestamp=stamp
    )
    ours = packing.pack_insert(collection_name, rows, "", schema, stamp)
    assert ours is not None
    assert ours == Prepare.row_insert_param(
        collection_name, rows, "", fields, structs, schema_timestamp=stamp
    )
    store.close()
