"""``reindex`` keeps every row in its partition, and the partitions themselves.

It copied every row into the new collection's ``_default`` partition: after the switch,
reads scoped to a partition found nothing and writes into one failed (found by a
hostile review of the partition id check). Milvus Lite 2.5.1 has neither aliases nor
partitions.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pymilvus import MilvusClient
from tests.support.partitions import build, flat_spec
from tests.support.partitions import row as _record

from milvus_plugins.core import (
    CollectionSpec,
    ConnectionConfig,
    HnswIndex,
    MilvusStore,
    PartitionMismatchError,
    ReindexRefusedError,
    UnsupportedByServerError,
    point_alias,
    reindex,
)


@pytest.fixture
def live(uri: str, collection_name: str) -> Iterator[tuple[ConnectionConfig, str, MilvusStore]]:
    """``(connection, alias, source store)``: rows in ``_default``, ``pa`` and ``pb``, an
    empty partition ``pc``, and an alias on the collection."""
    connection = ConnectionConfig(uri=uri)
    spec = flat_spec(f"{collection_name}_v1")
    layout = {"_default": range(0, 30), "pa": range(30, 70), "pb": range(70, 75), "pc": ()}
    source = build(connection, layout, spec)
    alias = f"{collection_name}_live"
    try:
        point_alias(connection, alias, spec.name)
    except UnsupportedByServerError as exc:
        source.close()
        pytest.skip(str(exc))
    yield connection, alias, source
    source.close()
    client = MilvusClient(uri=uri)
    try:
        client.drop_alias(alias)
    finally:
        client.close()


def _ids(store: MilvusStore, partition: str) -> list[str]:
    return sorted(r.id for r in store.query(partition_names=[partition]))


def test_rows_stay_in_their_partitions(live: tuple[ConnectionConfig, str, MilvusStore]) -> None:
    connection, alias, source = live
    before = {p: _ids(source, p) for p in ("_default", "pa", "pb", "pc")}
    report = reindex(connection, alias, index=HnswIndex(metric="L2"), min_recall=0.5)
    assert report.rows == 75
    new = MilvusStore(CollectionSpec(name=report.current), connection=connection, open_mode="adopt")
    with new:
        assert sorted(new.list_partitions()) == ["_default", "pa", "pb", "pc"]
        assert {p: _ids(new, p) for p in ("_default", "pa", "pb", "pc")} == before
        # Through the alias: partition-scoped reads and writes work as before the switch.
        reader = MilvusStore(CollectionSpec(name=alias), connection=connection, open_mode="adopt")
        with reader:
            assert _ids(reader, "pb") == ["r70", "r71", "r72", "r73", "r74"]
            reader.upsert([_record(80)], partition_name="pc")
            with pytest.raises(PartitionMismatchError):
                reader.upsert([_record(31)], partition_name="pb")  # r31 lives in pa
            assert _ids(reader, "pc") == ["r80"]


def test_an_id_in_two_source_partitions_refuses_the_switch(
    live: tuple[ConnectionConfig, str, MilvusStore], uri: str
) -> None:
    connection, alias, source = live
    # Another client put r31 (in pa) into pb too: the copy cannot keep both.
    fields = ["id", "text", "vector", "metadata", "doc_id", "extra"]
    raw = MilvusClient(uri=uri)
    try:
        row = raw.query(source.spec.name, filter='id == "r31"', output_fields=fields)[0]
        raw.insert(source.spec.name, [row], partition_name="pb")
        raw.flush(source.spec.name)
    finally:
        raw.close()
    with pytest.raises((ReindexRefusedError, ValueError), match="r31"):
        reindex(connection, alias, index=HnswIndex(metric="L2"), min_recall=0.5)
    client = MilvusClient(uri=uri)
    try:
        assert client.describe_alias(alias)["collection_name"] == source.spec.name
    finally:
        client.close()
