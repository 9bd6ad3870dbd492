"""Hostile pass over the instance token and the signature every write and delete compares
(RELIABILITY row 145): false alarms on collections a store legitimately keeps using,
collections made again that still pass as the old one, and what the check costs.

Engines: Milvus Lite 3 (a file), the 2.3.5 server, Milvus Lite 2.5.1 (drops properties).
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_milvus import Milvus
from pymilvus import MilvusClient
from tests.support.faces import VocabEmbeddings

from milvus_plugins.core import (
    AsyncMilvusStore,
    CollectionSpec,
    ConnectionConfig,
    DenseField,
    MilvusStore,
    Record,
    SchemaMismatchError,
    UnsupportedByServerError,
    point_alias,
    reindex,
)
from milvus_plugins.core.inference import INSTANCE_PROPERTY

WATCHED = (
    "describe_collection",
    "describe_index",
    "list_indexes",
    "alter_collection_properties",
    "load_collection",
)


def _store(uri: str, name: str, *, drop_old: bool = False, **spec: Any) -> MilvusStore:
    spec.setdefault("dim", 2)
    return MilvusStore(
        CollectionSpec(name=name, **spec), connection=ConnectionConfig(uri=uri), drop_old=drop_old
    )


def _count(store: MilvusStore, names: tuple[str, ...] = WATCHED) -> list[str]:
    calls: list[str] = []
    for name in names:
        real: Callable[..., Any] = getattr(store.client, name)

        def counted(*args: Any, _name: str = name, _real: Any = real, **kwargs: Any) -> Any:
            calls.append(_name)
            return _real(*args, **kwargs)

        setattr(store.client, name, counted)
    return calls


def _raw_ids(uri: str, name: str) -> set[str]:
    raw = MilvusClient(uri)
    try:
        raw.load_collection(name)
        rows = raw.query(name, filter='id != ""', output_fields=["id"], consistency_level="Strong")
        return {str(r["id"]) for r in rows}
    finally:
        raw.close()


# -- misses: a collection made again that still passes as the old one ---------------------


def test_named_dense_field_made_again_with_another_metric_is_not_written_into(
    backend_uri: str, collection_name: str
) -> None:
    """A store with a named dense field (`title`, L2); another store makes the collection
    again (`drop_old=True`) with the same fields, the canonical field's metric unchanged,
    `title` ranked by IP. On Milvus Lite 2.5.1 (no collection id, no properties) the write
    check compares the canonical field's index only: the old store wrote into the new
    collection and its `delete(ids=)` removed the other store's row. Expected, as on
    Milvus Lite 3 and as a first open does: SchemaMismatchError, nothing written/deleted."""

    def store(metric: str, *, drop_old: bool = False) -> MilvusStore:
        return _store(
            backend_uri,
            collection_name,
            drop_old=drop_old,
            vector_fields=[DenseField(name="title", dim=2, metric=metric)],
        )

    old = store("L2")
    try:
        old.upsert([Record(id="a", text="a", vector=[1.0, 0.0], vectors={"title": [1.0, 0.0]})])
    except UnsupportedByServerError:
        old.close()
        pytest.skip("this engine holds one vector field per collection")
    new = store("IP", drop_old=True)
    new.upsert([Record(id="b", text="b", vector=[1.0, 0.0], vectors={"title": [0.0, 1.0]})])
    try:
        with pytest.raises(SchemaMismatchError):
            old.upsert([Record(id="c", text="c", vector=[1.0, 0.0], vectors={"title": [1.0, 0.0]})])
        with pytest.raises(SchemaMismatchError):
            old.delete(ids=["b"])
        assert _raw_ids(backend_uri, collection_name) == {"b"}
    finally:
        old.close()
        new.close()


# -- noise and cost --------------------------------------------------------------------------


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.mark.lite25
def test_lite25_opening_an_existing_collection_logs_no_rpc_error(
    lite25_server: Any, collection_name: str
) -> None:
    """Opening an existing collection of this package's layout on Milvus Lite 2.5.1 tries
    to give it an instance token (`alter_collection_properties`, unimplemented there:
    UNIMPLEMENTED); pymilvus then logs an ERROR with a gRPC traceback (its own stderr
    handler) for every store that opens an existing collection. The package quiets
    expected RPC failures elsewhere (`quiet_rpc_errors`); a normal open must not log one."""
    uri = lite25_server.uri
    first = _store(uri, collection_name)
    first.upsert([Record(id="a", text="a", vector=[1.0, 0.0])])
    second = _store(uri, collection_name)
    seen = _Records()
    logger = logging.getLogger("pymilvus")
    logger.addHandler(seen)
    try:
        second.upsert([Record(id="b", text="b", vector=[0.0, 1.0])])
        assert len(second.get(["a", "b"])) == 2
        errors = [r.getMessage() for r in seen.records if r.levelno >= logging.ERROR]
        assert errors == []
    finally:
        logger.removeHandler(seen)
        first.close()
        second.close()


@pytest.mark.lite25
def test_lite25_write_and_delete_cost_one_describe_index_more(
    lite25_server: Any, collection_name: str
) -> None:
    """Measured cost: on Milvus Lite 2.5.1 a write or delete describes the collection and
    the dense index (one call more than on Milvus Lite 3), and never re-opens."""
    store = _store(lite25_server.uri, collection_name)
    try:
        store.upsert([Record(id="a", text="a", vector=[1.0, 0.0])])
        calls = _count(store)
        store.upsert([Record(id="b", text="b", vector=[1.0, 1.0])])
        assert calls == ["describe_collection", "describe_index"]
        calls.clear()
        store.delete(ids=["b"])
        assert calls == ["describe_collection", "describe_index"]
    finally:
        store.close()


def test_lite3_foreign_collection_delete_costs_one_describe_index_more(
    lite_uri: str, collection_name: str
) -> None:
    """Another tool's collection on Milvus Lite 3 carries no token: each delete describes
    the dense index too (one call more), and never re-opens."""
    lc = Milvus(
        VocabEmbeddings(),
        collection_name=collection_name,
        connection_args={"uri": lite_uri},
        auto_id=False,
    )
    lc.add_documents(
        [Document(page_content=f"t{i}", metadata={"k": i}) for i in range(3)],
        ids=["a", "b", "c"],
    )
    store = MilvusStore(
        CollectionSpec(name=collection_name), connection=ConnectionConfig(uri=lite_uri)
    )
    try:
        assert len(store.get(["a"])) == 1
        calls = _count(store)
        assert store.delete(ids=["a"]) == 1
        assert store.delete(ids=["b"]) == 1
        assert calls == ["describe_collection", "describe_index"] * 2
        assert INSTANCE_PROPERTY not in (
            store.client.describe_collection(collection_name).get("properties") or {}
        )
    finally:
        store.close()
        lc.client.close()


# -- false alarms: changes a store legitimately lives with ---------------------------------


def test_overflow_marks_and_user_properties_do_not_reopen(lite_uri: str) -> None:
    """Another store's overflow mark (`milvus_plugins.overflow.*`) and a user's
    `alter_collection_properties` (mmap) leave the signature alone: the first store's
    writes and deletes make one `describe_collection` each, no re-open."""
    a = _store(lite_uri, "c")
    a.upsert([Record(id="a", text="a", vector=[1.0, 0.0], metadata={"year": 1})])
    b = _store(lite_uri, "c")
    b.upsert([Record(id="b", text="b", vector=[1.0, 1.0], metadata={"year": "xyz"})])
    try:
        calls = _count(a)
        a.upsert([Record(id="c", text="c", vector=[0.0, 1.0], metadata={"year": 2})])
        assert calls == ["describe_collection"]
        a.client.alter_collection_properties("c", properties={"mmap.enabled": True})
        calls.clear()
        a.upsert([Record(id="d", text="d", vector=[0.0, 1.0])])
        assert a.delete(ids=["d"]) == 1
        assert calls == ["describe_collection", "describe_collection"]
        assert _raw_ids(lite_uri, "c") == {"a", "b", "c"}
    finally:
        a.close()
        b.close()


@pytest.mark.server
def test_losing_creator_on_the_server_opens_the_winners_collection(
    server_uri: str, collection_name: str
) -> None:
    """Two stores create one collection at once on the 2.3.5 server: their create calls
    now differ (each its own token). The loser (made to miss the winner's collection in
    its `has_collection`) opens the winner's; both keep writing without re-opening."""
    a = _store(server_uri, collection_name)
    b = _store(server_uri, collection_name)
    real = b.client.has_collection
    seen = {"n": 0}

    def late(*args: Any, **kwargs: Any) -> Any:
        seen["n"] += 1
        return False if seen["n"] <= 2 else real(*args, **kwargs)

    try:
        a.upsert([Record(id="a", text="a", vector=[1.0, 0.0])])
        b.client.has_collection = late
        b.upsert([Record(id="b", text="b", vector=[1.0, 1.0])])
        a_calls = _count(a)
        b_calls = _count(b)
        a.upsert([Record(id="c", text="c", vector=[1.0, 1.0])])
        b.upsert([Record(id="d", text="d", vector=[1.0, 1.0])])
        assert a_calls == b_calls == ["describe_collection"]
        assert {r.id for r in a.get(["a", "b", "c", "d"])} == {"a", "b", "c", "d"}
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("engine", ["lite", pytest.param("server", marks=pytest.mark.server)])
def test_store_behind_an_alias_writes_on_after_reindex_and_rollback(
    engine: str, request: pytest.FixtureRequest, collection_name: str
) -> None:
    """`reindex` makes a collection with a creation tag and a new token and moves the
    alias; a store on the alias re-opens it and keeps writing; a rollback moves it back."""
    uri = request.getfixturevalue("lite_uri" if engine == "lite" else "server_uri")
    conn = ConnectionConfig(uri=uri)
    rng = random.Random(0)
    writer = _store(uri, collection_name + "_v1", dim=4)
    writer.upsert(
        [
            Record(id=str(i), text=f"t{i}", vector=[rng.random() for _ in range(4)])
            for i in range(30)
        ]
    )
    point_alias(conn, collection_name, collection_name + "_v1")
    store = _store(uri, collection_name, dim=4)
    try:
        store.upsert([Record(id="a", text="a", vector=[1.0, 0.0, 0.0, 0.0])])
        report = reindex(conn, collection_name, index={"index_type": "FLAT"}, sample_queries=5)
        assert report.current == collection_name + "_v2"
        store.upsert([Record(id="z", text="z", vector=[0.0, 1.0, 0.0, 0.0])])
        assert "z" in _raw_ids(uri, collection_name + "_v2")
        point_alias(conn, collection_name, collection_name + "_v1")
        store.upsert([Record(id="y", text="y", vector=[0.0, 1.0, 0.0, 0.0])])
        assert store.delete(ids=["y"]) == 1
        assert "y" not in _raw_ids(uri, collection_name + "_v1")
    finally:
        store.close()
        writer.close()


def test_pre_token_collection_opened_by_two_threads_at_once(lite_uri: str) -> None:
    """A collection of this package's layout without a token (made before tokens), opened
    by two stores at the same moment: each may give it a token; both write and delete
    without error and every row lands."""
    first = _store(lite_uri, "c")
    first.upsert([Record(id="a", text="a", vector=[1.0, 0.0])])
    if not hasattr(first.client, "drop_collection_properties"):
        first.close()
        pytest.skip("this pymilvus cannot drop collection properties")
    first.client.drop_collection_properties("c", property_keys=[INSTANCE_PROPERTY])
    first.close()
    stores = [_store(lite_uri, "c") for _ in range(2)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run(i: int, store: MilvusStore) -> None:
        try:
            barrier.wait()
            for j in range(3):
                store.upsert([Record(id=f"{i}-{j}", text="x", vector=[1.0, float(j)])])
            assert store.delete(ids=[f"{i}-0"]) == 1
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, s)) for i, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert errors == []
        assert _raw_ids(lite_uri, "c") == {"a", "0-1", "0-2", "1-1", "1-2"}
    finally:
        for s in stores:
            s.close()


def test_async_store_notices_a_collection_made_again_with_another_metric(
    backend_uri: str, collection_name: str
) -> None:
    """The async store's write and delete refuse a collection made again with another
    metric on every engine, nothing written or deleted."""

    async def scenario() -> None:
        a = AsyncMilvusStore(_store(backend_uri, collection_name))
        await a.upsert([Record(id="a", text="a", vector=[1.0, 0.0])])
        await a.upsert([Record(id="b", text="b", vector=[1.0, 0.0])])
        b = _store(backend_uri, collection_name, metric="L2", drop_old=True)
        b.upsert([Record(id="x", text="x", vector=[0.0, 1.0])])
        try:
            with pytest.raises(SchemaMismatchError):
                await a.upsert([Record(id="c", text="c", vector=[1.0, 0.0])])
            with pytest.raises(SchemaMismatchError):
                await a.delete(ids=["x"])
            assert _raw_ids(backend_uri, collection_name) == {"x"}
        finally:
            await a.close()
            b.close()

    asyncio.run(scenario())
