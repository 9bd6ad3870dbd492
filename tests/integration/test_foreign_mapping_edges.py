"""Another tool's collection read through a field mapping: its partition key is kept
(tenant scoping works on it, the same on every call), and a mapping naming a collection
that does not exist creates nothing (helper findings: the key was dropped, so a tenant
store answered its first call scoped and refused the next; and ensure_collection() or a
read created a collection in this package's layout, which the mapping could then never
open)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pymilvus import DataType
from tests.support.raw_collections import raw_collection

from milvus_plugins.core import (
    CollectionNotFoundError,
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    FieldMapping,
    Filter,
    FilterError,
    MilvusStore,
    contains,
    contains_all,
    contains_any,
    eq,
    export_collection,
    is_empty,
    migrate,
)

DIM = 4
MAPPING = FieldMapping(id="key", text="body", vector="emb")


def _foreign_with_partition_key(uri: str, name: str) -> None:
    rows = [
        {"key": f"k{i}", "body": f"t{i}", "emb": [1.0, i, 0.5, 0.25], "tenant": "AB"[i % 2]}
        for i in range(6)
    ]
    tenant = ("tenant", DataType.VARCHAR, {"max_length": 32, "is_partition_key": True})
    raw_collection(uri, name, rows, dim=DIM, fields=[tenant])


def test_partition_key_of_a_mapped_collection_scopes_tenants(
    uri: str, collection_name: str
) -> None:
    connection = ConnectionConfig(uri=uri)
    with MilvusStore(CollectionSpec(name="probe", dim=DIM), connection=connection) as probe:
        if not probe.capabilities.partitions:
            pytest.skip("this engine has no partition key filters (Milvus Lite 2.5.1)")
    _foreign_with_partition_key(uri, collection_name)
    spec = CollectionSpec(name=collection_name, layout=MAPPING)
    with MilvusStore(spec, connection=connection) as store:
        assert store.stats().partition_key == "tenant"
        assert store.count() == 6
    # A tenant store names the key (the store checks tenants before it opens the
    # collection); then every call is scoped alike.
    scoped = CollectionSpec(
        name=collection_name,
        layout=MAPPING,
        metadata_fields={"tenant": "VARCHAR"},
        partition_key="tenant",
    )
    with MilvusStore(scoped, connection=connection, tenant="A") as tenant_a:
        assert [tenant_a.count(), tenant_a.count()] == [3, 3]
        assert {r.metadata["tenant"] for r in tenant_a.query()} == {"A"}
        assert tenant_a.delete(filter=eq("tenant", "B")) == 0  # B's rows are out of scope
        assert tenant_a.delete(ids=["k1", "k2"]) == 1  # k1 is B's
    with MilvusStore(spec, connection=connection) as store:
        assert sorted(r.id for r in store.query()) == ["k0", "k1", "k3", "k4", "k5"]


def test_mapping_to_a_missing_collection_creates_nothing(lite_uri: str) -> None:
    connection = ConnectionConfig(uri=lite_uri)
    spec = CollectionSpec(name="absent", dim=DIM, layout=MAPPING)
    with MilvusStore(spec, connection=connection) as store:
        with pytest.raises(CollectionNotFoundError, match="field_mapping"):
            store.ensure_collection()
        assert store.count() == 0
        assert store.query() == []
        assert "absent" not in store.list_collections()


def test_copying_a_collection_with_an_unmapped_vector_field_is_refused(
    lite_uri: str, tmp_path: Path
) -> None:
    """migrate / export of another tool's collection with a second vector field its
    layout does not read: refused before anything is written (it was copied without it
    and reported ok)."""
    row = {"key": "a", "body": "t", "emb": [1.0] * DIM, "title_emb": [0.5] * DIM}
    title = ("title_emb", DataType.FLOAT_VECTOR, {"dim": DIM})
    raw_collection(lite_uri, "two", [row], dim=DIM, fields=[title])
    connection = ConnectionConfig(uri=lite_uri)
    source = MilvusStore(CollectionSpec(name="two", layout=MAPPING), connection=connection)
    target = MilvusStore(CollectionSpec(name="copy"), connection=connection)
    with source, target:
        with pytest.raises(ConfigError, match="title_emb"):
            migrate(source, target)
        with pytest.raises(ConfigError, match="title_emb"):
            export_collection(source, tmp_path / "two.jsonl")
        assert "copy" not in source.list_collections()
        assert not (tmp_path / "two.jsonl").exists()
        assert source.count() == 1


def test_list_tests_on_dynamic_field_keys(uri: str, collection_name: str) -> None:
    """contains / contains_any / contains_all / is_empty on a key in the dynamic field of
    another tool's collection (they failed with Milvus' raw parse error: it takes such a
    key there only bare); a key that cannot be written bare is a FilterError."""
    rows = [
        {"key": "a", "body": "ta", "emb": [1.0] * DIM, "tags": ["x", "y"], "e": []},
        {"key": "b", "body": "tb", "emb": [0.5] * DIM, "tags": ["z"], "e": ["q"]},
        {"key": "c", "body": "tc", "emb": [0.2] * DIM, "odd key": ["x"]},
    ]
    raw_collection(uri, collection_name, rows, dim=DIM, dynamic=True)
    layout = FieldMapping(id="key", text="body", vector="emb", dynamic=True, columns=[])
    spec = CollectionSpec(name=collection_name, layout=layout)
    with MilvusStore(spec, connection=ConnectionConfig(uri=uri)) as store:

        def ids(where: Filter) -> list[str]:
            return sorted(r.id for r in store.query(where))

        assert ids(contains("tags", "x")) == ["a"]
        assert ids(contains_any("tags", ["z", "y"])) == ["a", "b"]
        assert ids(contains_all("tags", ["x", "y"])) == ["a"]
        if store.capabilities.dialect.json_exists and store.capabilities.dialect.empty_lists:
            assert ids(is_empty("e")) == ["a", "c"]  # an empty list, or missing
        with pytest.raises(FilterError, match="bare name"):
            store.query(contains("odd key", "x"))
