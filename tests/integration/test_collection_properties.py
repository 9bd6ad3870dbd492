"""Collection properties at creation (TTL, mmap, shards, replicas) on every engine.

What each engine keeps was measured (see :mod:`milvus_plugins.core.properties`): the
2.3.5 server keeps TTL and applies shards and replicas but has no mmap property (2.4+);
Milvus Lite 3.2.2 keeps mmap, never expires rows (TTL refused) and has one shard;
Milvus Lite 2.5.1 drops every property (TTL and mmap refused, found by probing).
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from pymilvus import MilvusClient

from milvus_plugins.cli import main as cli_main
from milvus_plugins.core import (
    AsyncMilvusStore,
    CollectionProperties,
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    MilvusStore,
    Record,
    SchemaMismatchError,
    UnsupportedByServerError,
)
from milvus_plugins.core.probing import probe_properties

DIM = 2
RECORDS = [Record(id=f"r{i}", text=f"row {i}", vector=[1.0, float(i)]) for i in range(3)]


def _store(uri: str, name: str, **props: Any) -> MilvusStore:
    return MilvusStore(
        CollectionSpec(name=name, dim=DIM, properties=props),
        connection=ConnectionConfig(uri=uri),
    )


@pytest.mark.parametrize(
    "props",
    [
        {"ttl_seconds": 0},
        {"ttl_seconds": -5},
        {"ttl_seconds": 1.5},
        {"num_shards": 17},
        {"num_shards": True},
        {"replicas": 0},
        {"mmap": "yes"},
        {"ttl": 60},
    ],
)
def test_bad_properties_raise_config_error_before_io(props: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="properties"):
        CollectionSpec(name="c", properties=props)


def test_properties_are_typed_and_accept_a_dict() -> None:
    spec = CollectionSpec(name="c", properties={"ttl_seconds": 60, "num_shards": 2})
    assert spec.collection_properties == CollectionProperties(ttl_seconds=60, num_shards=2)


def test_probe_agrees_with_the_version_table(uri: str) -> None:
    with _store(uri, "probe_only") as store:
        caps = store.capabilities
    client = MilvusClient(uri=uri)
    try:
        probed = probe_properties(client)
    finally:
        client.close()
    if caps.is_lite:
        # Lite 3.2.2 keeps the TTL property but has no expiry: the version table refuses it.
        assert probed == {
            "collection_ttl": True,
            "collection_mmap": True,
            "shards": False,
            "replicas": False,
            "keeps_properties": True,
        }
        assert not caps.collection_ttl
    else:
        assert probed["shards"] == caps.shards
        assert probed["collection_ttl"] == caps.collection_ttl
    assert probed["keeps_properties"] == caps.keeps_properties


def test_ttl_is_kept_where_applied_and_refused_elsewhere(uri: str, collection_name: str) -> None:
    with _store(uri, collection_name, ttl_seconds=3600) as store:
        if not store.capabilities.collection_ttl:
            with pytest.raises(UnsupportedByServerError) as info:
                store.upsert(RECORDS)
            assert info.value.feature.startswith("collection TTL")
            assert info.value.minimum_version == "2.2.0"
            assert collection_name not in store.list_collections()  # nothing created
            return
        store.upsert(RECORDS)
        assert store.stats().properties["ttl_seconds"] == 3600
    with (
        _store(uri, collection_name, ttl_seconds=60) as other,
        pytest.raises(SchemaMismatchError, match="ttl_seconds=3600"),
    ):
        other.count()
    with _store(uri, collection_name) as unset:  # not asked for: not compared
        assert unset.count() == len(RECORDS)


def test_mmap_is_kept_where_the_engine_has_it(uri: str, collection_name: str) -> None:
    with _store(uri, collection_name, mmap=True) as store:
        if not store.capabilities.collection_mmap:
            with pytest.raises(UnsupportedByServerError) as info:
                store.upsert(RECORDS)
            assert info.value.minimum_version == "2.4.0"
            assert collection_name not in store.list_collections()
            return
        store.upsert(RECORDS)
        assert store.stats().properties["mmap"] is True
    with (
        _store(uri, collection_name, mmap=False) as other,
        pytest.raises(SchemaMismatchError, match="mmap"),
    ):
        other.count()


def test_shards_and_replicas_are_applied_by_servers_and_ignored_by_lite(
    uri: str, collection_name: str
) -> None:
    with _store(uri, collection_name, num_shards=2, replicas=1) as store:
        store.upsert(RECORDS)
        caps = store.capabilities
        props = store.stats().properties
        assert store.count() == len(RECORDS)
        if caps.shards:
            assert props["num_shards"] == 2
            assert props["replicas"] == 1
        else:
            assert "num_shards" not in props
            assert "replicas" not in props
    with _store(uri, collection_name, num_shards=3) as other:
        if caps.shards:
            with pytest.raises(SchemaMismatchError, match="num_shards=2"):
                other.count()
        else:
            assert other.count() == len(RECORDS)  # one shard whatever was asked


async def test_async_store_creates_with_properties(uri: str, collection_name: str) -> None:
    sync = _store(uri, collection_name, num_shards=2)
    store = AsyncMilvusStore(sync)
    try:
        await store.upsert(RECORDS)
        stats = await store.stats()
        assert stats.row_count == len(RECORDS)
        if (await store.capabilities()).shards:
            assert stats.properties["num_shards"] == 2
    finally:
        await store.close()
        sync.close()


def test_cli_stats_shows_the_properties(lite_uri: str) -> None:
    with _store(lite_uri, "kb", mmap=True) as store:
        store.upsert(RECORDS)
    out = io.StringIO()
    assert cli_main(["stats", "kb", "--uri", lite_uri], out=out) == 0
    assert "properties: mmap=True" in out.getvalue()
    assert "text match: False" in out.getvalue()


def test_more_replicas_than_query_nodes_is_refused_before_creating(
    uri: str, collection_name: str
) -> None:
    with _store(uri, collection_name, replicas=2) as store:
        if not store.capabilities.replicas:
            store.upsert(RECORDS)  # Milvus Lite: one process, replicas ignored
            assert store.count() == len(RECORDS)
            return
        # The standalone 2.3.5 server has one query node.
        with pytest.raises(ConfigError, match="replicas=2"):
            store.upsert(RECORDS)
        assert collection_name not in store.list_collections()
