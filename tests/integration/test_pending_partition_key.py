"""A partition key named without a declared type (``partition_key="tenant"`` alone, as
langchain-milvus' ``partition_key_field=`` is used).

Its type is read from an existing collection, or taken from the values of the write that
creates the collection (``str``: VARCHAR, ``int``: INT64). Values that cannot settle the
type (both kinds, a float, a bool, a missing key) are refused before anything is created
or written; a store-level ``tenant=`` needs the type first, so it is refused naming the
declaration.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pymilvus import MilvusClient
from tests.support.faces import LengthEmbeddings

from milvus_plugins.core import (
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    FilterError,
    InvalidInputError,
    MilvusStore,
    Record,
    SchemaMismatchError,
    UnsupportedByServerError,
    eq,
)
from milvus_plugins.core.types import ScalarType
from milvus_plugins.langchain import MilvusVectorStore


def _store(uri: str, name: str, **spec: Any) -> MilvusStore:
    spec.setdefault("partition_key", "tenant")
    return MilvusStore(
        CollectionSpec(name=name, dim=2, **spec), connection=ConnectionConfig(uri=uri)
    )


def _rows(tenants: list[Any], prefix: str = "r") -> list[Record]:
    return [
        Record(id=f"{prefix}{i}", text=f"doc {i}", vector=[1.0, float(i)], metadata={"tenant": t})
        for i, t in enumerate(tenants)
    ]


def _described(uri: str, name: str) -> dict[str, Any]:
    client = MilvusClient(uri=uri)
    try:
        return {f["name"]: f for f in client.describe_collection(name)["fields"]}
    finally:
        client.close()


@pytest.mark.parametrize(("tenants", "kind"), [(["a", "b"], "VARCHAR"), ([7, 8], "INT64")])
def test_the_creating_write_gives_the_type(
    uri: str, collection_name: str, tenants: list[Any], kind: str
) -> None:
    store = _store(uri, collection_name)
    try:
        if not store.capabilities.partitions:
            with pytest.raises(UnsupportedByServerError, match="partition key"):
                store.upsert(_rows(tenants))
            assert not store.exists()
            return
        store.upsert(_rows(tenants))
        declared = store.spec.declared("tenant")
        assert declared is not None and declared.scalar_type is ScalarType(kind)
        field = _described(uri, collection_name)["tenant"]
        assert field["type"].name == kind
        if store.capabilities.version.startswith("2.3"):
            assert field.get("is_partition_key") is True  # Lite 3.2.2 does not report it
        # Now typed: tenant= scopes calls, filters use the column.
        assert [r.id for r in store.query(tenant=tenants[1])] == ["r1"]
        assert [r.id for r in store.query(filter=eq("tenant", tenants[0]))] == ["r0"]
        # Another store naming the key alone reads the type from the collection.
        again = _store(uri, collection_name)
        try:
            assert again.count(tenant=tenants[0]) == 1
            with pytest.raises(InvalidInputError):
                again.upsert(_rows([["a list"]], prefix="x"))
            assert again.count() == 2
        finally:
            again.close()
    finally:
        store.close()


@pytest.mark.parametrize(
    ("tenants", "words"),
    [
        (["a", 1], "one type"),
        ([1, "a"], "one type"),
        ([True], "bool"),
        ([1.5], "float"),
        ([{"t": 1}], "dict"),
        (["a", None], "missing"),
        ([2**63], "int64"),
        (["a", ""], "names no tenant"),
    ],
)
def test_values_that_cannot_settle_the_type_create_nothing(
    lite_uri: str, tenants: list[Any], words: str
) -> None:
    store = _store(lite_uri, "fresh")
    try:
        with pytest.raises(InvalidInputError, match=words):
            store.upsert(_rows(tenants))
        assert not store.exists()
        assert store.spec.partition_key_pending
    finally:
        store.close()


def test_an_explicit_create_needs_the_type(lite_uri: str) -> None:
    store = _store(lite_uri, "fresh")
    try:
        with pytest.raises(ConfigError, match=r"metadata_fields=\{'tenant': 'VARCHAR'\}"):
            store.ensure_collection(dim=2)
        assert not store.exists()
        store.upsert(_rows(["a"]))  # the first write can still give it
        assert store.count(tenant="a") == 1
    finally:
        store.close()


def test_a_store_tenant_of_either_kind_until_the_type_is_known(lite_uri: str) -> None:
    def scoped(tenant: Any) -> MilvusStore:
        return MilvusStore(
            CollectionSpec(name="c", dim=2, partition_key="tenant"),
            connection=ConnectionConfig(uri=lite_uri),
            tenant=tenant,
        )

    with pytest.raises(ConfigError, match="a string or an int"):
        scoped(1.5)
    with pytest.raises(ConfigError, match="non-empty string"):
        scoped("")
    store = scoped("a")  # stamps its rows: the creating write makes the key VARCHAR
    try:
        store.upsert(_rows([None, None]))
        assert store.count() == 2
    finally:
        store.close()
    wrong = scoped(5)  # the collection says VARCHAR: refused at the first call
    try:
        with pytest.raises((ConfigError, FilterError), match="VARCHAR"):
            wrong.query()
        with pytest.raises((ConfigError, InvalidInputError), match="tenant"):
            wrong.upsert(_rows([None], prefix="w"))
    finally:
        wrong.close()
    unscoped = _store(lite_uri, "c")
    try:
        assert unscoped.count() == 2 and unscoped.count(tenant="a") == 2
    finally:
        unscoped.close()


@pytest.mark.parametrize("key", ["id", "vector", "a b", "../x", ""])
def test_a_key_that_cannot_be_a_column_is_refused_at_once(key: str) -> None:
    with pytest.raises(ConfigError, match="partition_key"):
        CollectionSpec(name="c", dim=2, partition_key=key)


def test_an_existing_collection_without_the_column_is_refused(lite_uri: str) -> None:
    plain = _store(lite_uri, "plain", partition_key=None)
    plain.upsert(_rows(["a", "b"]))  # "tenant" lives in the metadata JSON only
    plain.close()
    store = _store(lite_uri, "plain")
    try:
        with pytest.raises(SchemaMismatchError, match="partition_key='tenant'"):
            store.count()
    finally:
        store.close()
    with (
        _store(lite_uri, "plain") as again,
        pytest.raises(SchemaMismatchError, match="partition_key='tenant'"),
    ):
        again.upsert(_rows(["c"], prefix="new"))
    reopened = _store(lite_uri, "plain", partition_key=None)
    try:
        assert reopened.count() == 2  # nothing written
    finally:
        reopened.close()


@pytest.mark.server
def test_another_partition_key_on_the_server_is_refused(
    server_uri: str, collection_name: str
) -> None:
    made = _store(server_uri, collection_name, metadata_fields={"org": "VARCHAR"})
    made.upsert([Record(id="r", text="t", vector=[1.0, 0.0], metadata={"tenant": "a", "org": "o"})])
    made.close()
    # "org" is a typed column, but not the collection's partition key.
    store = _store(
        server_uri,
        collection_name,
        partition_key="org",
        metadata_fields={"org": "VARCHAR"},
    )
    try:
        with pytest.raises(SchemaMismatchError, match="partition key is 'tenant'"):
            store.count()
    finally:
        store.close()
    # A store that names no partition key takes the one the server reports: a row
    # without its value is refused up front, and tenant= scopes calls.
    unnamed = _store(
        server_uri, collection_name, partition_key=None, metadata_fields={"org": "VARCHAR"}
    )
    try:
        assert unnamed.spec.partition_key is None
        assert unnamed.count() == 1  # opens the collection
        assert unnamed.spec.partition_key == "tenant"
        assert unnamed.count(tenant="a") == 1 and unnamed.count(tenant="b") == 0
        with pytest.raises(InvalidInputError, match="partition key"):
            unnamed.upsert([Record(id="s", text="t", vector=[1.0, 0.0], metadata={"org": "o"})])
        assert unnamed.count() == 1
    finally:
        unnamed.close()
    client = MilvusClient(uri=server_uri)
    try:
        client.drop_collection(collection_name)
    finally:
        client.close()


def test_langchain_partition_key_field_on_a_new_collection(tmp_path: Path) -> None:
    model = LengthEmbeddings()
    store = MilvusVectorStore(
        embedding_function=model,
        collection_name="docs",
        connection_args={"uri": str(tmp_path / "m.db")},
        partition_key_field="namespace",
    )
    try:
        with pytest.raises(InvalidInputError, match="one type"):
            store.add_texts(["a", "b"], metadatas=[{"namespace": "x"}, {"namespace": 2}])
        assert model.texts == 0 and not store.store.exists()
        store.add_texts(["a", "bb"], metadatas=[{"namespace": "x"}, {"namespace": "y"}])
        hits = store.similarity_search("a", k=5, filter={"namespace": "y"})
        assert [h.page_content for h in hits] == ["bb"]
        assert [h.page_content for h in store.similarity_search("a", k=5, tenant="x")] == ["a"]
    finally:
        store.store.close()
