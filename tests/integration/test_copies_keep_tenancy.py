"""Copies keep tenancy: migrate, export and import (RELIABILITY 137).

A helper carried tenants and partitions through every copy operation: ``migrate`` (with
``migration_target_spec``) dropped the partition key and put the rows of named
partitions into ``_default``, both verified "ok"; an export of a collection whose
partition key holds one id for two tenants (langchain-milvus writes that) kept one of the
rows, silently; an import of a file routed by a partition key into a collection without
that key was accepted, and with ``overwrite=True`` wrote an id a named partition already
held into ``_default`` (one id in two partitions).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from pymilvus import MilvusClient
from tests.integration.test_foreign_json_columns import make_collections

from milvus_plugins.core import (
    CollectionSpec,
    ConnectionConfig,
    MetadataField,
    MilvusStore,
    Record,
    SchemaMismatchError,
    export_collection,
    import_collection,
    migrate,
    migration_target_spec,
)
from milvus_plugins.core.errors import SharedIdError, TenantMismatchError

DIM = 4


def _vec(i: int) -> list[float]:
    return [float(i + 1), 0.5, 0.25, 1.0]


def _tenant_store(uri: str, name: str, tenant: str | None = None) -> MilvusStore:
    spec = CollectionSpec(
        name=name,
        dim=DIM,
        metadata_fields=[MetadataField(name="tenant", type="VARCHAR", max_length=64)],
        partition_key="tenant",
    )
    return MilvusStore(spec, connection=ConnectionConfig(uri=uri), tenant=tenant)


def _skip_without_partitions(store: MilvusStore) -> None:
    if not store.capabilities.partitions:
        pytest.skip(f"{store.capabilities.version} has no partitions (probed)")


def test_migrate_keeps_the_partition_key(uri: str, collection_name: str) -> None:
    with _tenant_store(uri, collection_name) as source:
        _skip_without_partitions(source)
        source.upsert(
            [
                Record(id=f"{t}{i}", text=f"{t} {i}", vector=_vec(i), metadata={"tenant": t})
                for t in ("a", "b")
                for i in range(3)
            ]
        )
        spec = migration_target_spec(source, collection_name + "_copy")
        assert spec.partition_key == "tenant"
        with MilvusStore(spec, connection=ConnectionConfig(uri=uri)) as target:
            assert migrate(source, target).ok
    with _tenant_store(uri, collection_name + "_copy", tenant="b") as b:
        assert sorted(r.id for r in b.query(None)) == ["b0", "b1", "b2"]
        with pytest.raises(Exception, match="tenant"):
            b.upsert([Record(id="x", text="x", vector=_vec(0), metadata={"tenant": "a"})])


def test_migrate_keeps_named_partitions(uri: str, collection_name: str) -> None:
    connection = ConnectionConfig(uri=uri)
    spec = CollectionSpec(name=collection_name, dim=DIM)
    with MilvusStore(spec, connection=connection) as source:
        _skip_without_partitions(source)
        source.ensure_collection(DIM)
        for name in ("pa", "pb", "empty"):
            source.create_partition(name)
        source.upsert([Record(id="d", text="d", vector=_vec(0))])
        for i, name in enumerate(("pa", "pb")):
            source.upsert([Record(id=name, text=name, vector=_vec(i))], partition_name=name)
        target_spec = migration_target_spec(source, collection_name + "_copy")
        with MilvusStore(target_spec, connection=connection) as target:
            assert migrate(source, target).ok
            assert set(target.list_partitions()) >= {"pa", "pb", "empty"}
            for name in ("pa", "pb"):
                assert [r.id for r in target.query(None, partition_names=[name])] == [name]
            assert [r.id for r in target.query(None, partition_names=["_default"])] == ["d"]


def test_a_key_file_into_a_collection_without_that_key_is_refused(
    uri: str, collection_name: str, tmp_path: Path
) -> None:
    connection = ConnectionConfig(uri=uri)
    path = tmp_path / "keyed.jsonl"
    with _tenant_store(uri, collection_name) as keyed:
        _skip_without_partitions(keyed)
        keyed.upsert([Record(id="A:1", text="keyed", vector=_vec(1), metadata={"tenant": "A"})])
        export_collection(keyed, path)
    plain = collection_name + "_plain"
    # The same typed field, but not a partition key (and a row in a named partition).
    declared = [MetadataField(name="tenant", type="VARCHAR", max_length=64)]
    plain_spec = CollectionSpec(name=plain, dim=DIM, metadata_fields=declared)
    with MilvusStore(plain_spec, connection=connection) as target:
        target.ensure_collection(DIM)
        target.create_partition("pa")
        held = Record(id="A:1", text="held", vector=_vec(1), metadata={"tenant": "A"})
        target.upsert([held], partition_name="pa")
        for overwrite in (False, True):
            with pytest.raises(SchemaMismatchError, match="partition key 'tenant'"):
                import_collection(path, plain, connection=connection, overwrite=overwrite)
        assert [(r.id, r.text) for r in target.query(None)] == [("A:1", "held")]
        assert [r.id for r in target.query(None, partition_names=["_default"])] == []


def test_an_export_refuses_one_id_held_for_two_tenants(tmp_path: Path) -> None:
    """langchain-milvus writes one id for two tenants into two partitions of its key; a
    read of the whole collection shows one of them."""
    uri = str(tmp_path / "lc.db")
    name = f"lc_{uuid.uuid4().hex[:6]}"
    kwargs = {"partition_key_field": "tenant", "enable_dynamic_field": True}
    writes = [
        (name, [{"id": "k1", "text": f"{tenant} one", "metadata": {"tenant": tenant}}], kwargs)
        for tenant in ("A", "B")
    ]
    for write in writes:  # two processes: each writes the id once, for its tenant
        make_collections(uri, [write])
    client = MilvusClient(uri=uri)
    try:
        client.load_collection(name)
        held = client.query(name, filter='pk != ""', output_fields=["pk"])
        assert len(held) == 1  # Milvus shows one row per key to a whole read
    finally:
        client.close()
    path = tmp_path / "lc.jsonl"
    source = MilvusStore(CollectionSpec(name=name), connection=ConnectionConfig(uri=uri))
    with source, pytest.raises(SharedIdError, match="an export keeps one row per id"):
        export_collection(source, path)
    assert not path.exists()


def test_a_migration_stopped_part_way_says_what_it_copied(uri: str, collection_name: str) -> None:
    """The error of the batch that failed says "Nothing was written" of itself; a note
    says what the migration had copied before it."""
    with _tenant_store(uri, collection_name) as source:
        _skip_without_partitions(source)
        rows = [
            Record(id=f"B:{i}", text=f"b {i}", vector=_vec(i), metadata={"tenant": "B"})
            for i in range(6)
        ]
        source.upsert(rows)
        with _tenant_store(uri, collection_name + "_t") as target:
            held = Record(id="B:5", text="z", vector=_vec(0), metadata={"tenant": "Z"})
            target.upsert([held])
            with pytest.raises(TenantMismatchError) as caught:
                migrate(source, target, batch_rows=2, overwrite=True)
            notes = " ".join(getattr(caught.value, "__notes__", []))
            copied = target.count() - 1
            assert copied > 0 and f"migrate had copied {copied} of 6 rows" in notes
            assert [r.metadata["tenant"] for r in target.get(["B:5"])] == ["Z"]


def test_migrate_refuses_a_target_that_would_lose_the_routing(
    uri: str, collection_name: str
) -> None:
    """An existing target without the source's partition key (or a new one made without
    it), or one with a key where the source has named partitions: refused before
    anything is copied or created."""
    connection = ConnectionConfig(uri=uri)
    with _tenant_store(uri, collection_name) as keyed:
        _skip_without_partitions(keyed)
        keyed.upsert([Record(id="A0", text="a", vector=_vec(0), metadata={"tenant": "A"})])
        declared = [MetadataField(name="tenant", type="VARCHAR", max_length=64)]
        plain = CollectionSpec(name=collection_name + "_p", dim=DIM, metadata_fields=declared)
        with MilvusStore(plain, connection=connection) as target:
            target.upsert([Record(id="x", text="x", vector=_vec(1), metadata={"tenant": "A"})])
            with pytest.raises(SchemaMismatchError, match="routes rows by its partition key"):
                migrate(keyed, target)
            assert [r.id for r in target.query(None)] == ["x"]
        fresh = CollectionSpec(name=collection_name + "_new", dim=DIM, metadata_fields=declared)
        with MilvusStore(fresh, connection=connection) as target:
            with pytest.raises(SchemaMismatchError, match="migration_target_spec"):
                migrate(keyed, target)
            assert not target.exists()
    named = MilvusStore(CollectionSpec(name=collection_name + "_n", dim=DIM), connection=connection)
    with named:
        named.ensure_collection(DIM)
        named.create_partition("pa")
        named.upsert([Record(id="n", text="n", vector=_vec(0))], partition_name="pa")
        with _tenant_store(uri, collection_name + "_k") as target:
            with pytest.raises(SchemaMismatchError, match="named partitions"):
                migrate(named, target)
            assert not target.exists()
