"""Dropping through an alias: Milvus' drop_collection given an alias drops the collection
behind it (and the alias); the store's drop() and drop_old refuse instead, on every
engine that has aliases."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from pymilvus import MilvusClient

from milvus_plugins.core import (
    AsyncMilvusStore,
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    MilvusStore,
    Record,
    UnsupportedByServerError,
    export_collection,
    import_collection,
    point_alias,
    resolve_alias,
)
from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

DIM = 4


@pytest.fixture
def aliased(uri: str, collection_name: str) -> Iterator[tuple[ConnectionConfig, str, str]]:
    """``(connection, alias, collection)``: 3 rows and an alias pointing at them."""
    connection = ConnectionConfig(uri=uri)
    source, alias = f"{collection_name}_v1", f"{collection_name}_live"
    with MilvusStore(CollectionSpec(name=source, dim=DIM), connection=connection) as store:
        store.upsert(
            [Record(id=f"r{i}", text=f"row {i}", vector=[1.0, i, 0.5, 2.0]) for i in range(3)]
        )
    try:
        point_alias(connection, alias, source)
    except UnsupportedByServerError as exc:
        pytest.skip(str(exc))  # Milvus Lite 2.5: no aliases, nothing to drop through
    yield connection, alias, source
    client = MilvusClient(uri=uri)
    try:
        if alias in client.list_aliases(collection_name=source).get("aliases", []):
            client.drop_alias(alias)
    finally:
        client.close()


def _untouched(connection: ConnectionConfig, alias: str, source: str) -> None:
    assert resolve_alias(connection, alias) == source
    with MilvusStore(CollectionSpec(name=source, dim=DIM), connection=connection) as store:
        assert store.count() == 3


def test_drop_through_an_alias_is_refused(aliased: tuple[ConnectionConfig, str, str]) -> None:
    connection, alias, source = aliased
    with MilvusStore(CollectionSpec(name=alias, dim=DIM), connection=connection) as store:
        assert store.count() == 3  # reads through the alias work
        with pytest.raises(ConfigError, match="is an alias of the collection"):
            store.drop()
    _untouched(connection, alias, source)


def test_drop_old_through_an_alias_is_refused(aliased: tuple[ConnectionConfig, str, str]) -> None:
    connection, alias, source = aliased
    store = MilvusStore(CollectionSpec(name=alias, dim=DIM), connection=connection, drop_old=True)
    with store, pytest.raises(ConfigError, match="is an alias of the collection"):
        store.upsert([Record(id="x", text="x", vector=[1.0, 0.0, 0.0, 0.0])])
    _untouched(connection, alias, source)


def test_import_with_drop_old_into_an_alias_is_refused(
    aliased: tuple[ConnectionConfig, str, str], tmp_path: Path
) -> None:
    connection, alias, source = aliased
    path = tmp_path / "copy.jsonl"
    with MilvusStore(CollectionSpec(name=source, dim=DIM), connection=connection) as store:
        export_collection(store, path)
    with pytest.raises(ConfigError, match="is an alias of the collection"):
        import_collection(path, alias, connection=connection, drop_old=True)
    _untouched(connection, alias, source)


# The collection an alias points at: Milvus drops the alias along with it (Milvus Lite 3
# and the 2.3.5 server), and a reader of the alias then found an empty collection (count
# 0, no hits) instead of an error. A hostile review found all three calls dropping it.


def test_drop_of_the_collection_behind_an_alias_is_refused(
    aliased: tuple[ConnectionConfig, str, str],
) -> None:
    connection, alias, source = aliased
    reader = MilvusStore(CollectionSpec(name=alias, dim=DIM), connection=connection)
    with reader:
        assert reader.count() == 3
        owner = MilvusStore(CollectionSpec(name=source, dim=DIM), connection=connection)
        with owner, pytest.raises(ConfigError, match=r"is what alias .* points at"):
            owner.drop()
        assert reader.count() == 3
    _untouched(connection, alias, source)


def test_drop_old_of_the_collection_behind_an_alias_is_refused(
    aliased: tuple[ConnectionConfig, str, str],
) -> None:
    connection, alias, source = aliased
    store = MilvusStore(CollectionSpec(name=source, dim=DIM), connection=connection, drop_old=True)
    with store, pytest.raises(ConfigError, match=r"is what alias .* points at"):
        store.upsert([Record(id="x", text="x", vector=[1.0, 0.0, 0.0, 0.0])])
    _untouched(connection, alias, source)


def test_import_with_drop_old_into_the_collection_behind_an_alias_is_refused(
    aliased: tuple[ConnectionConfig, str, str], tmp_path: Path
) -> None:
    connection, alias, source = aliased
    path = tmp_path / "copy.jsonl"
    with MilvusStore(CollectionSpec(name=source, dim=DIM), connection=connection) as store:
        export_collection(store, path)
    with pytest.raises(ConfigError, match=r"is what alias .* points at"):
        import_collection(path, source, connection=connection, drop_old=True)
    _untouched(connection, alias, source)


def test_the_collection_drops_once_its_alias_points_elsewhere(
    aliased: tuple[ConnectionConfig, str, str],
) -> None:
    connection, alias, source = aliased
    with MilvusStore(CollectionSpec(name=f"{source}b", dim=DIM), connection=connection) as other:
        other.upsert([Record(id="y", text="y", vector=[0.0, 1.0, 0.0, 0.0])])
        point_alias(connection, alias, other.spec.name)
    with MilvusStore(CollectionSpec(name=source, dim=DIM), connection=connection) as store:
        store.drop()
        assert not store.exists()
    assert resolve_alias(connection, alias) == f"{source}b"
    client = MilvusClient(uri=connection.uri)
    try:
        client.drop_alias(alias)  # the fixture's tidy-up lists the dropped one's aliases
        client.drop_collection(f"{source}b")
    finally:
        client.close()
    with MilvusStore(CollectionSpec(name=source, dim=DIM), connection=connection) as store:
        store.upsert([Record(id="r", text="r", vector=[1.0, 0.0, 0.0, 0.0])])


def test_an_async_drop_of_the_collection_behind_an_alias_is_refused(
    aliased: tuple[ConnectionConfig, str, str],
) -> None:
    """The async client lists aliases as a bare list (the sync one as a dict): the first
    version of the check failed there with an untyped AttributeError."""
    connection, alias, source = aliased

    async def attempt() -> None:
        store = MilvusStore(CollectionSpec(name=source, dim=DIM), connection=connection)
        astore = AsyncMilvusStore(store)
        try:
            with pytest.raises(ConfigError, match=r"is what alias .* points at"):
                await astore.drop()
        finally:
            await astore.close()
            store.close()

    asyncio.run(attempt())
    _untouched(connection, alias, source)


def test_llama_index_clear_behind_an_alias_deletes_the_nodes_and_keeps_the_collection(
    aliased: tuple[ConnectionConfig, str, str],
) -> None:
    """LlamaIndex's `clear()` means "delete every node": on a collection an alias names
    (through the alias, or by its own name) it deletes them instead of dropping it."""
    connection, alias, source = aliased
    for name in (alias, source):
        with MilvusStore(CollectionSpec(name=source, dim=DIM), connection=connection) as store:
            store.upsert(
                [Record(id=f"r{i}", text=f"row {i}", vector=[1.0, i, 0.5, 2.0]) for i in range(3)]
            )
        llama = LlamaStore(uri=connection.uri, collection_name=name)
        try:
            llama.clear()
            asyncio.run(llama.aclear())
        finally:
            llama.close()
        assert resolve_alias(connection, alias) == source
        with MilvusStore(CollectionSpec(name=source, dim=DIM), connection=connection) as store:
            assert store.exists() and store.count() == 0
