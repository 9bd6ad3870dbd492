"""Dropping through an alias: Milvus' drop_collection given an alias drops the collection
behind it (and the alias); the store's drop() and drop_old refuse instead, on every
engine that has aliases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pymilvus import MilvusClient

from milvus_plugins.core import (
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
