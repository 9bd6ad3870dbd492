"""Another writer in a collection this write just created (RELIABILITY row 139).

A write into a collection it created was sent as plain inserts: its ids are unique within
the call. But once the collection exists, another client (or another call of the same
store) may write one of those ids before the insert lands. Milvus Lite 3 replaces a
stored id on insert; the 2.3.5 server and Milvus Lite 2.5.1 keep both rows: two rows
with one id, both writes told they succeeded (found while answering a helper's tenant
race, 2026-12-07). The plain insert is now kept for Milvus Lite 3 only.
"""

from __future__ import annotations

from typing import Any

from pymilvus import MilvusClient

from milvus_plugins.core import (
    CollectionSpec,
    ConnectionConfig,
    MilvusStore,
    Record,
    WriteOptions,
)

DIM = 4


def _records(ids: list[str], tag: str) -> list[Record]:
    return [
        Record(id=i, text=f"{tag} {i}", vector=[1.0, float(n % 5), 0.5, float(n % 3)])
        for n, i in enumerate(ids)
    ]


def _store(uri: str, name: str) -> MilvusStore:
    return MilvusStore(
        CollectionSpec(name=name, dim=DIM, sparse="none"),
        connection=ConnectionConfig(uri=uri),
        write=WriteOptions(batch_rows=20),
    )


def test_a_write_between_creation_and_the_first_batch_leaves_one_row_per_id(
    uri: str, collection_name: str
) -> None:
    creator, other = _store(uri, collection_name), _store(uri, collection_name)
    ids = [f"id{i}" for i in range(60)]
    sent: list[str] = []
    real: dict[str, Any] = {}

    def before_the_first_batch(method: str) -> Any:
        def send(*args: Any, **kwargs: Any) -> Any:
            if not sent and args and args[0] == collection_name:  # not a capability probe's
                sent.append(method)
                # Another store writes three of these ids into the new collection first
                # (same thread: on Milvus Lite the write turn is re-entrant).
                other.upsert(_records(ids[5:8], "other"))
            return real[method](*args, **kwargs)

        return send

    for method in ("insert", "upsert"):
        real[method] = getattr(creator.client, method)
        setattr(creator.client, method, before_the_first_batch(method))
    try:
        assert creator.upsert(_records(ids, "creator")) == ids
    finally:
        for method, fn in real.items():
            setattr(creator.client, method, fn)
    assert sent  # the other write happened before the creator's first batch
    client = MilvusClient(uri=uri)
    try:
        counted = client.query(
            collection_name, filter="", output_fields=["count(*)"], consistency_level="Strong"
        )
        assert counted[0]["count(*)"] == len(ids)  # was 63 on the server and Lite 2.5.1
        rows = client.query(
            collection_name,
            filter='id in ["id5", "id6", "id7"]',
            output_fields=["id", "text"],
            consistency_level="Strong",
        )
        assert sorted((r["id"], r["text"]) for r in rows) == [
            (f"id{i}", f"creator id{i}") for i in (5, 6, 7)
        ]
    finally:
        client.close()
    assert creator.count() == len(ids)
    creator.close()
    other.close()
