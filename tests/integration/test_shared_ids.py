"""One primary key held by two rows (another tool wrote it into two partitions).

Milvus does not keep primary keys unique across partitions, and it deletes by primary
key. A filtered or scoped delete that selects one of two rows sharing a key would remove
the other as well; a read of the whole collection shows only one of them, so a migration
would lose the other. Both are refused with :class:`SharedIdError`, nothing changed.
A delete by ids alone removes every row holding them, as asked. A delete reports the
rows it selected, not the keys the engine was sent. Run on Milvus Lite 3.2.2 and the
2.3.5 server (Milvus Lite 2.5.1 has no partitions).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pymilvus import MilvusClient
from tests.support.partitions import DEFAULT, build, flat_spec

from milvus_plugins.core import (
    CollectionSpec,
    ConnectionConfig,
    MilvusStore,
    SharedIdError,
    eq,
    migrate,
)

NAME = "shared_ids"


def _rows(uri: str) -> dict[tuple[str, str], Any]:
    """Every row, partition by partition: (partition, id) -> metadata."""
    client = MilvusClient(uri=uri)
    try:
        out = {}
        for partition in client.list_partitions(NAME):
            rows = client.query(
                NAME,
                filter='id != ""',
                output_fields=["id", "metadata"],
                partition_names=[partition],
                limit=1000,
            )
            for row in rows:
                metadata = row["metadata"]
                out[(partition, row["id"])] = (
                    json.loads(metadata) if isinstance(metadata, str) else metadata
                )
        return out
    finally:
        client.close()


def _write_twice(uri: str) -> None:
    """Another client copies row r1 of ``_default`` into ``pa`` with ``i = 100``."""
    client = MilvusClient(uri=uri)
    try:
        described = client.describe_collection(NAME)
        outputs = {
            name for f in described.get("functions") or [] for name in f["output_field_names"]
        }
        fields = [f["name"] for f in described["fields"] if f["name"] not in outputs]
        (row,) = client.query(NAME, filter='id == "r1"', output_fields=fields)
        row = {k: row[k] for k in fields}
        row["metadata"] = {"i": 100}
        if "i" in row:  # an accelerator column of the key
            row["i"] = 100
        client.insert(NAME, [row], partition_name="pa")
        client.flush(NAME)
    finally:
        client.close()


@pytest.fixture
def store(backend_uri: str) -> Any:
    client = MilvusClient(uri=backend_uri)
    for name in (NAME, "copy_of_shared"):  # the server outlives a test
        client.drop_collection(name)
    client.close()
    opened = build(backend_uri, {DEFAULT: [1, 2, 3], "pa": [4]}, flat_spec(NAME))
    _write_twice(backend_uri)
    yield opened
    opened.close()


def test_a_filtered_or_scoped_delete_of_a_key_two_partitions_hold_is_refused(
    store: MilvusStore, backend_uri: str
) -> None:
    before = _rows(backend_uri)
    assert before[("pa", "r1")] == {"i": 100} and before[(DEFAULT, "r1")] == {"i": 1}
    with pytest.raises(SharedIdError, match="r1"):
        store.delete(filter=eq("i", 100))  # selects pa's r1 only; _default's would go too
    assert _rows(backend_uri) == before
    with pytest.raises(SharedIdError, match="r1"):
        store.delete(ids=["r1", "r2"], filter=eq("i", 1))  # _default's r1: pa's would go
    assert _rows(backend_uri) == before
    # A delete that selects no row sharing its key runs, and reports its rows.
    assert store.delete(filter=eq("i", 2)) == 1
    assert _rows(backend_uri) == {k: v for k, v in before.items() if k != (DEFAULT, "r2")}


def test_a_delete_by_ids_alone_removes_every_row_holding_them(
    store: MilvusStore, backend_uri: str
) -> None:
    before = _rows(backend_uri)
    store.delete(ids=["r1"])
    assert _rows(backend_uri) == {k: v for k, v in before.items() if k[1] != "r1"}


def test_a_delete_reports_the_rows_it_selected(store: MilvusStore, backend_uri: str) -> None:
    assert store.delete(ids=["nope"]) == 0
    assert store.delete(ids=["r3", "nope"]) == 1
    assert store.delete(filter=eq("i", 12345)) == 0
    assert (DEFAULT, "r3") not in _rows(backend_uri)


def test_a_migration_of_a_key_two_partitions_hold_is_refused(
    store: MilvusStore, backend_uri: str
) -> None:
    connection = ConnectionConfig(uri=backend_uri)
    with MilvusStore(CollectionSpec(name="copy_of_shared"), connection=connection) as target:
        with pytest.raises(SharedIdError, match="r1"):
            migrate(store, target)
        assert "copy_of_shared" not in store.list_collections() or target.count() == 0
