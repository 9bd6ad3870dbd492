"""The store's writes are packed by column, and equal what pymilvus' row path would send.

``core/packing.py`` replaces pymilvus' per-value row packing for the store's own layout.
Here, on each engine, the rows a store actually writes (declared INT64 / DOUBLE / ARRAY /
VARCHAR fields, accelerator columns, JSON metadata and ``extra``, list and numpy vectors,
BM25) are packed against the collection's described schema: the packer must not decline
them (else the speed is silently lost) and its request must equal pymilvus' own. The rows
then read back as written through the packed path.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pytest
from pymilvus import MilvusClient
from pymilvus.client.prepare import Prepare

from milvus_plugins.core import (
    AsyncMilvusStore,
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
    # A plain insert first (the default's first write on Milvus Lite 3 only: elsewhere an
    # insert of an id another writer stored meanwhile would leave two rows).
    store.upsert(records, mode="insert")
    store.upsert(records[:2])  # an upsert into an existing collection

    # Both writes went through packing: the first-write comparison with pymilvus' own
    # request passed for the insert and for the upsert.
    checked = {
        (upsert, ok)
        for (_, upsert, name, _), ok in packing._CHECKED.items()
        if name == collection_name
    }
    assert checked == {(False, True), (True, True)}

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


def test_a_pymilvus_that_packs_differently_turns_packing_off(
    lite_uri: str, collection_name: str, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    """Stands in for a pymilvus release whose row path builds another request: the first
    write compares, warns, and sends pymilvus' own requests from then on."""
    real = Prepare.row_upsert_param.__func__  # type: ignore[attr-defined]
    built: list[Any] = []

    def other_release(cls: Any, *args: Any, **kwargs: Any) -> Any:
        request = real(cls, *args, **kwargs)
        request.partition_name = "_default"  # a difference the engine does not mind
        built.append(request)
        return request

    monkeypatch.setattr(Prepare, "row_upsert_param", classmethod(other_release))
    store = MilvusStore(
        CollectionSpec(name=collection_name, dim=3), connection=ConnectionConfig(uri=lite_uri)
    )
    store.upsert(_records()[:1])  # creates the collection: inserts
    with caplog.at_level(logging.WARNING, logger="milvus_plugins.core.packing"):
        store.upsert(_records())
    assert "packs" in caplog.text and collection_name in caplog.text
    assert len(built) == 2  # the sample compared, then the whole batch as pymilvus built it
    assert sorted(r.id for r in store.get([r.id for r in _records()])) == sorted(
        r.id for r in _records()
    )
    store.close()


async def test_async_writes_are_packed_too(server_uri: str, collection_name: str) -> None:
    """On a server the async store writes through ``AsyncMilvusClient``: packed as well."""
    store = MilvusStore(
        CollectionSpec(name=collection_name, dim=3), connection=ConnectionConfig(uri=server_uri)
    )
    astore = AsyncMilvusStore(store)
    records = [Record(id=f"a{i}", text=f"t{i}", vector=[1.0, float(i), 0.5]) for i in range(5)]
    assert await astore.upsert(records, mode="insert") == [r.id for r in records]
    assert await astore.upsert(records[:2]) == ["a0", "a1"]
    checked = {
        (upsert, ok)
        for (_, upsert, name, _), ok in packing._CHECKED.items()
        if name == collection_name
    }
    assert checked == {(False, True), (True, True)}
    got = await astore.get([r.id for r in records], include_vectors=True)
    assert sorted(r.id for r in got) == [r.id for r in records]
    assert all(np.allclose(np.asarray(r.vector), [1.0, int(r.id[1:]), 0.5]) for r in got)
    await astore.close()
    store.close()


def test_a_wrapper_on_the_client_class_is_called(
    lite_uri: str, collection_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tracing tool (or ``mock.patch.object``) wrapping ``MilvusClient.insert`` /
    ``upsert`` on the class sees the store's writes: packing does not go around it."""
    seen: list[tuple[str, str, int]] = []
    for method in ("insert", "upsert"):
        real = getattr(MilvusClient, method)

        def traced(
            self: Any, name: str, data: Any, *a: Any, _m: str = method, _real: Any = real, **k: Any
        ) -> Any:
            seen.append((_m, name, len(data)))
            return _real(self, name, data, *a, **k)

        monkeypatch.setattr(MilvusClient, method, traced)
    store = MilvusStore(
        CollectionSpec(name=collection_name, dim=3), connection=ConnectionConfig(uri=lite_uri)
    )
    store.upsert(_records()[:2])  # creates the collection: an insert
    store.upsert(_records())
    assert [s for s in seen if s[1] == collection_name] == [
        ("insert", collection_name, 2),
        ("upsert", collection_name, 6),
    ]
    assert store.count() == 6
    store.close()
