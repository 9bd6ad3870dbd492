"""A plain insert that failed transiently is followed by an upsert: checked again first.

On Milvus Lite 3 the first write into a collection it just created is a plain insert
(RELIABILITY row 139); each batch re-checks, in its write turn, that no other tenant's
row (or another partition's) took one of its ids since the write's first check. An
insert that failed with a transient error is followed by an upsert of the same rows
(the insert may have landed; the upsert replaces it). That upsert was sent without the
re-check, in a later write turn: a row another tenant wrote in between was taken over
by this tenant's upsert (moved into its partition, content replaced), the very thing
the re-check exists to refuse.
"""

from __future__ import annotations

from typing import Any

import pytest
from pymilvus import MilvusClient
from pymilvus.exceptions import MilvusException

from milvus_plugins.core import (
    CollectionSpec,
    ConnectionConfig,
    MilvusStore,
    Record,
    RetryPolicy,
    TenantMismatchError,
    WriteError,
    WriteOptions,
)

FAST_RETRY = RetryPolicy(attempts=3, initial_backoff=0.01, max_backoff=0.02)


def _spec(name: str) -> CollectionSpec:
    return CollectionSpec(
        name=name, dim=2, metadata_fields={"tenant": "VARCHAR"}, partition_key="tenant"
    )


def _records(ids: list[str], tag: str) -> list[Record]:
    return [Record(id=i, text=f"{tag} {i}", vector=[1.0, float(n)]) for n, i in enumerate(ids)]


def test_the_upsert_after_a_failed_insert_rechecks_the_tenants(
    lite_uri: str, collection_name: str
) -> None:
    spec = _spec(collection_name)
    writer = MilvusStore(
        spec,
        connection=ConnectionConfig(uri=lite_uri),
        write=WriteOptions(batch_rows=10),
        retry=FAST_RETRY,
    )
    other = MilvusStore(spec, connection=ConnectionConfig(uri=lite_uri))
    if not writer.capabilities.insert_replaces:
        pytest.skip("the first write is a plain insert on Milvus Lite 3 only")
    ids = [f"id{i:02d}" for i in range(30)]
    real_insert = writer.client.insert
    failed: list[int] = []

    def insert(*args: Any, **kwargs: Any) -> Any:
        batch = args[1] if len(args) > 1 else kwargs.get("data")
        ours = bool(args) and args[0] == collection_name and bool(batch)
        if ours and batch[0]["id"] == "id10" and not failed:
            failed.append(1)
            # Tenant B takes one of this batch's ids meanwhile (same thread: on Milvus
            # Lite the write turn is re-entrant), then the insert fails before it was
            # applied.
            other.upsert(_records(["id15"], "tenant b"), tenant="b")
            raise MilvusException(code=2, message="service unavailable: node restarting")
        return real_insert(*args, **kwargs)

    writer.client.insert = insert  # type: ignore[method-assign]
    try:
        with pytest.raises(WriteError) as info:
            writer.upsert(_records(ids, "tenant a"), tenant="a")
    finally:
        writer.client.insert = real_insert  # type: ignore[method-assign]
    assert failed
    error = info.value
    assert isinstance(error.__cause__, TenantMismatchError), repr(error.__cause__)
    assert error.written_ids == ids[:10]
    assert error.failed_ids == ids[10:]
    client = MilvusClient(uri=lite_uri)
    try:
        rows = client.query(
            collection_name,
            filter='id == "id15"',
            output_fields=["id", "text", "tenant"],
            consistency_level="Strong",
        )
    finally:
        client.close()
    # Tenant B's row is as B wrote it (it was moved to tenant A and replaced).
    assert [(r["text"], r["tenant"]) for r in rows] == [("tenant b id15", "b")]
    assert {r.id for r in writer.query(tenant="a")} == set(ids[:10])
    writer.close()
    other.close()
