"""Creating and dropping partitions: idempotent where the outcome is the one asked for,
a typed error naming the fix where it cannot be.

Before: ``create_partition("pa")`` of an existing partition and ``drop_partition("nope")``
of a missing one failed with ``MilvusOperationError("Milvus call failed: pa")`` (the
engine's whole message was the name); two clients creating one partition at once made
one of them fail; ``drop_partition("_default")`` and ``create_partition`` on a
partition-key collection reached Milvus and came back as bare engine errors.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from milvus_plugins.core import (
    AsyncMilvusStore,
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    MetadataField,
    MilvusStore,
    Record,
)

DIM = 4


def _store(uri: str, name: str, **spec: object) -> MilvusStore:
    return MilvusStore(
        CollectionSpec(name=name, dim=DIM, **spec),  # type: ignore[arg-type]
        connection=ConnectionConfig(uri=uri),
    )


@pytest.fixture
def store(uri: str, collection_name: str) -> Iterator[MilvusStore]:
    with _store(uri, collection_name) as opened:
        if not opened.capabilities.partitions:
            pytest.skip("no named partitions on this engine (Milvus Lite 2.5.1)")
        opened.ensure_collection(DIM)
        yield opened


def test_creating_an_existing_partition_leaves_it_and_its_rows(store: MilvusStore) -> None:
    store.create_partition("pa")
    store.upsert([Record(id="a", text="a", vector=[1.0, 0, 0, 0])], partition_name="pa")
    store.create_partition("pa")
    assert sorted(store.list_partitions()) == ["_default", "pa"]
    assert [r.id for r in store.query(partition_names=["pa"])] == ["a"]


def test_stores_racing_to_create_one_partition_all_succeed(
    store: MilvusStore, uri: str, collection_name: str
) -> None:
    workers = 4
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def work() -> None:
        with _store(uri, collection_name) as mine:
            mine.ensure_collection(DIM)
            barrier.wait()
            try:
                mine.create_partition("shared")
            except BaseException as exc:  # shown by the assertion below
                errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(store.list_partitions()) == ["_default", "shared"]


def test_dropping_a_missing_partition_changes_nothing(store: MilvusStore) -> None:
    store.create_partition("pa")
    store.upsert([Record(id="a", text="a", vector=[1.0, 0, 0, 0])], partition_name="pa")
    store.drop_partition("nope")
    assert sorted(store.list_partitions()) == ["_default", "pa"]
    assert store.count() == 1
    store.drop_partition("pa")
    store.drop_partition("pa")  # twice: the second finds nothing to drop
    assert store.list_partitions() == ["_default"]


def test_the_default_partition_is_never_dropped(store: MilvusStore) -> None:
    store.upsert([Record(id="a", text="a", vector=[1.0, 0, 0, 0])])
    with pytest.raises(ConfigError, match="_default partition cannot be dropped"):
        store.drop_partition("_default")
    assert store.count() == 1
    assert store.list_partitions() == ["_default"]


def test_a_partition_key_collection_refuses_hand_made_partitions(
    uri: str, collection_name: str
) -> None:
    declared = [MetadataField(name="tenant", type="VARCHAR", max_length=16)]
    with _store(uri, collection_name, metadata_fields=declared, partition_key="tenant") as keyed:
        if not keyed.capabilities.partitions:
            pytest.skip("no partitions, nor a partition key, on Milvus Lite 2.5.1")
        keyed.ensure_collection(DIM)
        before = sorted(keyed.list_partitions())
        with pytest.raises(ConfigError, match=r"partition key 'tenant'.*tenant="):
            keyed.create_partition("pa")
        assert sorted(keyed.list_partitions()) == before
    # A store opened without the key (adopting the collection) is refused alike.
    with (
        MilvusStore(
            CollectionSpec(name=collection_name),
            connection=ConnectionConfig(uri=uri),
            open_mode="adopt",
        ) as adopted,
        pytest.raises(ConfigError, match="partition key"),
    ):
        adopted.create_partition("pa")


async def test_the_async_store_does_the_same(uri: str, collection_name: str) -> None:
    async with AsyncMilvusStore(_store(uri, collection_name)) as store:
        if not store.sync.capabilities.partitions:
            pytest.skip("no named partitions on this engine (Milvus Lite 2.5.1)")
        await store.ensure_collection(DIM)
        await store.create_partition("pa")
        await store.create_partition("pa")
        await store.drop_partition("nope")
        assert sorted(await store.list_partitions()) == ["_default", "pa"]
        with pytest.raises(ConfigError):
            await store.drop_partition("_default")
