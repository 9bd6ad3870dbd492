"""Partitions, tenants and num_partitions on every engine, through the core store.

Each scenario runs on Milvus Lite 3.2.2, the Milvus 2.3.5 server and Milvus Lite 2.5.1;
an engine without partitions (Lite 2.5.1) must raise ``UnsupportedByServerError`` naming
the feature, before anything is written.
"""

from __future__ import annotations

import asyncio

import pytest

from milvus_plugins.core import (
    AsyncMilvusStore,
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    MilvusStore,
    PartitionMismatchError,
    RawFilterRefusedError,
    Record,
    SchemaMismatchError,
    TenantMismatchError,
    TenantRequiredError,
    UnsupportedByServerError,
    eq,
)

A, B = 'a" or true or "', "b\\"


def _tenant_spec(name: str, **kwargs: object) -> CollectionSpec:
    return CollectionSpec(
        name=name,
        dim=2,
        metadata_fields={"tenant": "VARCHAR"},
        partition_key="tenant",
        **kwargs,  # type: ignore[arg-type]
    )


def _rows(prefix: str, n: int) -> list[Record]:
    return [
        Record(id=f"{prefix}{i}", text=f"doc {i}", vector=[1.0, float(i)], metadata={"k": i % 2})
        for i in range(n)
    ]


def _store(uri: str, spec: CollectionSpec, **kwargs: object) -> MilvusStore:
    return MilvusStore(spec, connection=ConnectionConfig(uri=uri), **kwargs)  # type: ignore[arg-type]


def test_tenant_scopes_every_read_search_and_delete(uri: str, collection_name: str) -> None:
    store = _store(uri, _tenant_spec(collection_name))
    if not store.capabilities.partitions:
        with pytest.raises(UnsupportedByServerError, match="partition key"):
            store.upsert(_rows("a", 2), tenant=A)
        assert collection_name not in store.list_collections()
        return
    store.upsert(_rows("a", 3), tenant=A)
    store.upsert(_rows("b", 3), tenant=B)
    assert store.count(tenant=A) == 3 and store.count() == 6
    assert {r.id for r in store.query(tenant=A)} == {"a0", "a1", "a2"}
    assert {r.metadata["tenant"] for r in store.query(tenant=B)} == {B}
    assert [r.id for r in store.get(["a0", "b0"], tenant=B)] == ["b0"]
    assert {h.id for h in store.search([1.0, 0.0], k=10, tenant=A)} == {"a0", "a1", "a2"}
    hits = store.search([1.0, 0.0], k=10, tenant=A, filter=eq("k", 1))
    assert {h.id for h in hits} == {"a1"}
    assert {h.id for h in store.mmr_search([1.0, 0.0], k=2, fetch_k=10, tenant=B)} <= {
        "b0",
        "b1",
        "b2",
    }
    assert {h.id for h in store.filtered_hits(k=10, tenant=B)} == {"b0", "b1", "b2"}
    # A delete by ids of the other tenant's rows deletes nothing.
    store.delete(["b0", "b1"], tenant=A)
    assert store.count(tenant=B) == 3
    store.delete(filter=eq("k", 0), tenant=A)
    assert {r.id for r in store.query()} == {"a1", "b0", "b1", "b2"}
    store.clear(tenant=B)
    assert {r.id for r in store.query()} == {"a1"}


def test_store_tenant_is_the_default_and_a_call_may_name_another(
    uri: str, collection_name: str
) -> None:
    spec = _tenant_spec(collection_name)
    admin = _store(uri, spec)
    mine = _store(uri, spec, tenant=A)
    if not admin.capabilities.partitions:
        with pytest.raises(UnsupportedByServerError, match="partition key"):
            mine.query()
        return
    mine.upsert(_rows("a", 2))
    mine.upsert(_rows("b", 2), tenant=B)
    assert {r.metadata["tenant"] for r in admin.query()} == {A, B}
    assert {r.id for r in mine.query()} == {"a0", "a1"}
    assert {r.id for r in mine.query(tenant=B)} == {"b0", "b1"}
    mine.clear()
    assert {r.id for r in admin.query()} == {"b0", "b1"}


def test_a_record_naming_another_tenant_is_refused_and_nothing_is_written(
    lite_uri: str, collection_name: str
) -> None:
    store = _store(lite_uri, _tenant_spec(collection_name))
    rows = [*_rows("a", 2), Record(id="x", text="t", vector=[1.0, 0.0], metadata={"tenant": B})]
    with pytest.raises(TenantMismatchError, match="another tenant"):
        store.upsert(rows, tenant=A)
    with pytest.raises(TenantMismatchError):
        store.validate_before_embedding(rows, tenant=A)
    assert not store.exists()


def test_strict_mode_refuses_before_any_io(lite_uri: str, collection_name: str) -> None:
    spec = _tenant_spec(collection_name)
    seed = _store(lite_uri, spec)
    seed.upsert(_rows("a", 2), tenant=A)
    strict = _store(lite_uri, spec, tenant_mode="strict")
    for call in (
        lambda: strict.query(),
        lambda: strict.count(),
        lambda: strict.get(["a0"]),
        lambda: strict.search([1.0, 0.0]),
        lambda: strict.delete(["a0"]),
        lambda: strict.clear(),
        lambda: strict.upsert(_rows("z", 1)),
    ):
        with pytest.raises(TenantRequiredError, match="strict tenant mode"):
            call()
    with pytest.raises(RawFilterRefusedError, match="strict"):
        strict.delete(filter='id == "a0"', tenant=A)
    with pytest.raises(RawFilterRefusedError, match="strict"):
        strict.query('id != ""', tenant=A)
    with pytest.raises(TenantRequiredError, match="drop"):
        strict.drop()
    with pytest.raises(TenantRequiredError, match="drop"):
        _store(lite_uri, spec, tenant=A).drop()
    assert seed.count() == 2
    assert [r.id for r in strict.query(tenant=A, limit=5)] == ["a0", "a1"]


def test_raw_filter_escaping_its_parentheses_is_refused_next_to_a_tenant(
    lite_uri: str, collection_name: str
) -> None:
    store = _store(lite_uri, _tenant_spec(collection_name))
    store.upsert(_rows("a", 2), tenant=A)
    store.upsert(_rows("b", 2), tenant=B)
    with pytest.raises(RawFilterRefusedError, match="unbalanced"):
        store.delete(filter='id == "a0") or (id != ""', tenant=A)
    assert store.count() == 4
    # A confined raw string stays inside the tenant's scope.
    assert {r.id for r in store.query('id != "" or true', tenant=A)} == {"a0", "a1"}


def test_async_store_takes_the_same_scope(lite_uri: str, collection_name: str) -> None:
    store = _store(lite_uri, _tenant_spec(collection_name))

    async def scenario() -> tuple[set[str], int, set[str]]:
        astore = AsyncMilvusStore(store)
        try:
            await astore.upsert(_rows("a", 2), tenant=A)
            await astore.upsert(_rows("b", 2), tenant=B)
            hits = await astore.search([1.0, 0.0], k=10, tenant=B)
            deleted = await astore.clear(tenant=A)
            rest = {r.id for r in await astore.query()}
            return {h.id for h in hits}, deleted, rest
        finally:
            await astore.close()

    hits, deleted, rest = asyncio.run(scenario())
    assert hits == {"b0", "b1"}
    assert deleted == 2
    assert rest == {"b0", "b1"}


def test_partition_names_scope_reads_searches_deletes_and_writes(
    uri: str, collection_name: str
) -> None:
    store = _store(uri, CollectionSpec(name=collection_name, dim=2))
    store.ensure_collection(dim=2)
    if not store.capabilities.partitions:
        with pytest.raises(UnsupportedByServerError, match="partitions"):
            store.upsert(_rows("a", 1), partition_name="p1")
        with pytest.raises(UnsupportedByServerError, match="partitions"):
            store.query(partition_names=["p1"])
        with pytest.raises(UnsupportedByServerError, match="partitions"):
            store.delete(["a0"], partition_names=["p1"])
        assert store.count() == 0
        return
    store.create_partition("p1")
    store.create_partition("p2")
    store.upsert(_rows("a", 3), partition_name="p1")
    store.upsert(_rows("b", 3), partition_name="p2")
    assert store.count(partition_names=["p1"]) == 3
    assert {r.id for r in store.query(partition_names=["p2"])} == {"b0", "b1", "b2"}
    assert [r.id for r in store.get(["a0", "b0"], partition_names=["p1"])] == ["a0"]
    hits = store.search([1.0, 0.0], k=10, partition_names=["p2"], filter=eq("k", 1))
    assert {h.id for h in hits} == {"b1"}
    assert len(store.search([1.0, 0.0], k=10, partition_names=["p1", "p2"])) == 6
    store.delete(filter=eq("k", 0), partition_names=["p2"])
    assert {r.id for r in store.query()} == {"a0", "a1", "a2", "b1"}
    store.clear(partition_names=["p1"])
    assert {r.id for r in store.query()} == {"b1"}


def test_partition_names_are_checked_before_any_call(lite_uri: str, collection_name: str) -> None:
    store = _store(lite_uri, CollectionSpec(name=collection_name, dim=2))
    with pytest.raises(ConfigError, match="partition_names"):
        store.query(partition_names=["../../outside"])
    with pytest.raises(ConfigError, match="partition_name"):
        store.upsert(_rows("a", 1), partition_name="../x")
    tenanted = _store(lite_uri, _tenant_spec(collection_name + "_t"))
    with pytest.raises(ConfigError, match="routes rows"):
        tenanted.search([1.0, 0.0], partition_names=["p1"])
    assert not store.exists() and not tenanted.exists()


def test_lite_partition_delete_refuses_ids_held_by_other_partitions(
    lite_uri: str, collection_name: str
) -> None:
    # Milvus Lite 3.2.2 ignores partition_name on delete; the store deletes by the ids it
    # reads in the partitions, and refuses when another partition holds one of them.
    store = _store(lite_uri, CollectionSpec(name=collection_name, dim=2))
    store.ensure_collection(dim=2)
    assert not store.capabilities.partition_delete
    store.create_partition("p1")
    store.create_partition("p2")
    store.upsert(_rows("a", 2), partition_name="p1")
    with pytest.raises(PartitionMismatchError):  # the store never puts one id in two
        store.upsert(_rows("a", 1), partition_name="p2")
    # Another client does: "a0" is now in both partitions.
    fields = ["id", "text", "vector", "metadata", "doc_id", "extra"]
    row = store.client.query(collection_name, filter='id == "a0"', output_fields=fields)[0]
    store.client.insert(collection_name, [row], partition_name="p2")
    with pytest.raises(UnsupportedByServerError, match="other partitions"):
        store.delete(["a0"], partition_names=["p2"])
    assert store.count(partition_names=["p1"]) == 2
    assert store.delete(["a1"], partition_names=["p1"]) == 1
    assert [r.id for r in store.query(partition_names=["p1"])] == ["a0"]
    assert [r.id for r in store.query(partition_names=["p2"])] == ["a0"]


def test_num_partitions_is_created_checked_and_shown(uri: str, collection_name: str) -> None:
    spec = _tenant_spec(collection_name, num_partitions=8)
    store = _store(uri, spec)
    caps = store.capabilities
    if not caps.num_partitions:
        feature = "partition key" if not caps.partitions else "num_partitions"
        with pytest.raises(UnsupportedByServerError, match=feature):
            store.upsert(_rows("a", 1), tenant=A)
        assert collection_name not in store.list_collections()
        return
    store.upsert(_rows("a", 1), tenant=A)
    stats = store.stats()
    assert stats.partition_key == "tenant"
    assert stats.num_partitions == 8
    other = _store(uri, _tenant_spec(collection_name, num_partitions=4))
    with pytest.raises(SchemaMismatchError, match="num_partitions=4"):
        other.count()
