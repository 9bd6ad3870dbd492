"""Milvus databases (``db_name``) as a hostile or careless user meets them.

The same collection name lives in databases ``a``, ``b`` and the default one of the real
Milvus 2.3.5 server; every operation of a store opened on ``a`` (core sync and async, both
adapters sync and async, export/import, migrate, reindex, aliases) must touch only ``a``,
checked with a plain ``pymilvus.MilvusClient(uri, db_name=...)``. A database that does not
exist must be a typed error that creates nothing anywhere; hostile names are a
``ConfigError`` before any I/O; Milvus Lite with a ``db_name`` must isolate or refuse.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import (
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
)
from pymilvus import MilvusClient
from tests.support.cli_runner import run_cli
from tests.support.faces import DIM, VocabEmbeddings, embed
from tests.support.milvus_server import MilvusServer, server_available

from milvus_plugins.core import (
    AsyncMilvusStore,
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    MetadataField,
    MilvusPluginsError,
    MilvusStore,
    Record,
    RetryPolicy,
    eq,
    export_collection,
    import_collection,
    migrate,
    migration_target_spec,
    point_alias,
    reindex,
    resolve_alias,
)
from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

_AVAILABLE, _REASON = server_available()
pytestmark = [pytest.mark.server, pytest.mark.skipif(not _AVAILABLE, reason=_REASON)]

DB_A = "hdb_a"
DB_B = "hdb_b"
IDS = ["1", "2", "3"]
Snapshot = list[tuple[str, str]] | None


@pytest.fixture(scope="module")
def dbs(milvus_server: MilvusServer) -> str:
    """Create databases ``a`` and ``b`` once; return the server URI."""
    client = MilvusClient(uri=milvus_server.uri)
    try:
        existing = set(client.list_databases())
        for db in (DB_A, DB_B):
            if db not in existing:
                client.create_database(db)
    finally:
        client.close()
    return milvus_server.uri


@pytest.fixture
def coll() -> str:
    return f"hdb_{uuid.uuid4().hex[:10]}"


def _conn(uri: str, db: str = "") -> ConnectionConfig:
    return ConnectionConfig(uri=uri, db_name=db, timeout=20)


def _core(uri: str, db: str, name: str, **kwargs: Any) -> MilvusStore:
    return MilvusStore(
        CollectionSpec(name=name, dim=DIM),
        connection=_conn(uri, db),
        retry=RetryPolicy(attempts=1),
        **kwargs,
    )


def _records(db: str) -> list[Record]:
    words = ["cat", "dog", "fish"]
    return [
        Record(id=i, text=f"{db or 'default'} {w}", vector=embed(w), metadata={"db": db or "d"})
        for i, w in zip(IDS, words, strict=True)
    ]


def _snapshot(uri: str, db: str, name: str) -> Snapshot:
    """What really is in collection ``name`` of database ``db`` (None: no collection)."""
    client = MilvusClient(uri=uri, db_name=db) if db else MilvusClient(uri=uri)
    try:
        if not client.has_collection(name):
            return None
        client.load_collection(name)
        rows = client.query(name, filter='id != ""', output_fields=["id", "text"])
        return sorted((r["id"], r["text"]) for r in rows)
    finally:
        client.close()


def _collections(uri: str, db: str) -> set[str]:
    client = MilvusClient(uri=uri, db_name=db) if db else MilvusClient(uri=uri)
    try:
        return set(client.list_collections())
    finally:
        client.close()


def _seed(uri: str, name: str) -> dict[str, Snapshot]:
    """The same collection name, filled differently, in ``b`` and the default database."""
    for db in (DB_B, ""):
        with _core(uri, db, name) as store:
            store.upsert(_records(db))
    before = {db: _snapshot(uri, db, name) for db in (DB_B, "")}
    words = ["cat", "dog", "fish"]
    assert before[DB_B] == [(i, f"{DB_B} {w}") for i, w in zip(IDS, words, strict=True)]
    assert before[""] == [(i, f"default {w}") for i, w in zip(IDS, words, strict=True)]
    return before


def _untouched(uri: str, name: str, before: dict[str, Snapshot]) -> None:
    for db, rows in before.items():
        assert _snapshot(uri, db, name) == rows, f"database {db or 'default'!r} was changed"


# ---------------------------------------------------------------------------------------
# Isolation through the core store, sync and async
# ---------------------------------------------------------------------------------------


def test_core_sync_store_touches_only_its_database(dbs: str, coll: str) -> None:
    before = _seed(dbs, coll)
    store = _core(dbs, DB_A, coll)
    try:
        store.upsert(_records(DB_A))
        _untouched(dbs, coll, before)
        assert _snapshot(dbs, DB_A, coll) == [
            (i, f"{DB_A} {w}") for i, w in zip(IDS, ["cat", "dog", "fish"], strict=True)
        ]
        hits = store.search(embed("cat"), k=3)
        assert {h.id for h in hits} == set(IDS)
        assert all((h.record.text or "").startswith(DB_A) for h in hits)
        got = store.get(["1", "2"])
        assert sorted(r.text or "" for r in got) == [f"{DB_A} cat", f"{DB_A} dog"]
        assert store.count() == 3
        assert store.stats().row_count == 3
        assert store.exists()
        assert coll in store.list_collections()
        store.delete(ids=["1"])
        _untouched(dbs, coll, before)
        store.delete(filter=eq("db", DB_A))  # matches every row of a
        _untouched(dbs, coll, before)
        assert store.count() == 0
        store.create_partition("p_only_a")
        assert "p_only_a" in store.list_partitions()
        for db in (DB_B, ""):
            client = MilvusClient(uri=dbs, db_name=db) if db else MilvusClient(uri=dbs)
            assert "p_only_a" not in client.list_partitions(coll)
            client.close()
        store.upsert(_records(DB_A), partition_name="p_only_a")
        store.drop_partition("p_only_a")
        _untouched(dbs, coll, before)
        store.drop()
        assert coll not in _collections(dbs, DB_A)
        _untouched(dbs, coll, before)
    finally:
        store.close()
    with _core(dbs, DB_A, coll, drop_old=True) as fresh:
        fresh.upsert(_records(DB_A)[:1])
    with _core(dbs, DB_A, coll, drop_old=True) as fresh:
        fresh.upsert(_records(DB_A)[1:2])
        assert fresh.count() == 1
    _untouched(dbs, coll, before)


def test_core_async_store_touches_only_its_database(dbs: str, coll: str) -> None:
    before = _seed(dbs, coll)

    async def scenario() -> None:
        store = AsyncMilvusStore(_core(dbs, DB_A, coll))
        try:
            await store.upsert(_records(DB_A))
            _untouched(dbs, coll, before)
            hits = await store.search(embed("dog"), k=3)
            assert all((h.record.text or "").startswith(DB_A) for h in hits)
            got = await store.get(["2"])
            assert [r.text for r in got] == [f"{DB_A} dog"]
            assert await store.count() == 3
            assert (await store.stats()).row_count == 3
            await store.delete(ids=["1"])
            await store.delete(filter=eq("db", DB_A))
            assert await store.count() == 0
            _untouched(dbs, coll, before)
            await store.create_partition("p_async")
            assert "p_async" in await store.list_partitions()
            await store.drop_partition("p_async")
            await store.drop()
            _untouched(dbs, coll, before)
        finally:
            await store.close()
        again = AsyncMilvusStore(_core(dbs, DB_A, coll, drop_old=True))
        try:
            await again.upsert(_records(DB_A)[:2])
            assert await again.count() == 2
        finally:
            await again.close()

    asyncio.run(scenario())
    _untouched(dbs, coll, before)
    assert len(_snapshot(dbs, DB_A, coll) or []) == 2


# ---------------------------------------------------------------------------------------
# Aliases, export/import, migrate, reindex
# ---------------------------------------------------------------------------------------


def test_alias_of_the_same_name_resolves_in_its_own_database(dbs: str, coll: str) -> None:
    before = _seed(dbs, coll)
    with _core(dbs, DB_A, coll) as store:
        store.upsert(_records(DB_A))
    alias = f"{coll}_live"
    b_client = MilvusClient(uri=dbs, db_name=DB_B)
    try:
        b_client.create_alias(coll, alias)  # the same alias name in b, onto b's collection
        assert point_alias(_conn(dbs, DB_A), alias, coll) is None
        assert resolve_alias(_conn(dbs, DB_A), alias) == coll
        with _core(dbs, DB_B, alias) as b_alias:  # b's alias still reads b's rows
            assert sorted(r.text or "" for r in b_alias.get(IDS))[0] == f"{DB_B} cat"
        with _core(dbs, DB_A, alias) as via_alias:
            texts = sorted(r.text or "" for r in via_alias.get(IDS))
        assert texts == [f"{DB_A} cat", f"{DB_A} dog", f"{DB_A} fish"]
        default = MilvusClient(uri=dbs)
        try:
            assert alias not in default.list_aliases(coll)["aliases"]
        finally:
            default.close()
    finally:
        b_client.drop_alias(alias)
        b_client.close()
    _untouched(dbs, coll, before)


def test_export_and_import_stay_in_the_database(dbs: str, coll: str, tmp_path: Path) -> None:
    before = _seed(dbs, coll)
    with _core(dbs, DB_A, coll) as store:
        store.upsert(_records(DB_A))
        report = export_collection(store, tmp_path / "a.jsonl")
    assert report.rows == 3
    assert f"{DB_A} cat" in (tmp_path / "a.jsonl").read_text()
    copy = f"{coll}_copy"
    import_collection(tmp_path / "a.jsonl", copy, connection=_conn(dbs, DB_A))
    assert copy in _collections(dbs, DB_A)
    assert copy not in _collections(dbs, "")
    assert copy not in _collections(dbs, DB_B)
    # drop_old onto the shared name: only a's collection is replaced
    import_collection(tmp_path / "a.jsonl", coll, connection=_conn(dbs, DB_A), drop_old=True)
    assert len(_snapshot(dbs, DB_A, coll) or []) == 3
    _untouched(dbs, coll, before)


def test_migrate_stays_in_the_database(dbs: str, coll: str) -> None:
    before = _seed(dbs, coll)
    target_name = f"{coll}_mig"
    with _core(dbs, DB_A, coll) as source:
        source.upsert(_records(DB_A))
        target = MilvusStore(
            migration_target_spec(source, target_name), connection=_conn(dbs, DB_A)
        )
        with target:
            report = migrate(source, target, queries=1, sample=3, k=2)
    assert report.copied == 3
    assert len(_snapshot(dbs, DB_A, target_name) or []) == 3
    assert target_name not in _collections(dbs, "")
    assert target_name not in _collections(dbs, DB_B)
    _untouched(dbs, coll, before)


def test_reindex_builds_and_switches_in_the_database(dbs: str, coll: str) -> None:
    before = _seed(dbs, coll)
    alias = f"{coll}_al"
    with _core(dbs, DB_A, coll) as store:
        store.upsert(_records(DB_A))
    point_alias(_conn(dbs, DB_A), alias, coll)
    report = reindex(
        _conn(dbs, DB_A),
        alias,
        index={"index_type": "FLAT"},
        min_recall=0.0,
        k=2,
        sample_queries=2,
    )
    new = resolve_alias(_conn(dbs, DB_A), alias)
    assert new != coll
    assert new == report.current
    assert new in _collections(dbs, DB_A)
    assert new not in _collections(dbs, "")
    assert new not in _collections(dbs, DB_B)
    assert len(_snapshot(dbs, DB_A, new) or []) == 3
    _untouched(dbs, coll, before)


# ---------------------------------------------------------------------------------------
# The adapters
# ---------------------------------------------------------------------------------------


def _langchain(uri: str, db: str, name: str, **kwargs: Any) -> LangChainStore:
    return LangChainStore(
        VocabEmbeddings(), connection=_conn(uri, db), collection_name=name, **kwargs
    )


def test_langchain_sync_and_async_touch_only_their_database(dbs: str, coll: str) -> None:
    before = _seed(dbs, coll)
    store = _langchain(dbs, DB_A, coll)
    try:
        texts = [f"{DB_A} cat", f"{DB_A} dog", f"{DB_A} fish"]
        store.add_texts(texts, metadatas=[{"db": DB_A}] * 3, ids=IDS)
        _untouched(dbs, coll, before)
        docs = store.similarity_search("cat", k=3)
        assert sorted(d.page_content for d in docs) == sorted(texts)
        assert [d.page_content for d in store.get_by_ids(["2"])] == [f"{DB_A} dog"]
        store.delete(ids=["1"])
        store.delete(filter={"db": DB_A})
        _untouched(dbs, coll, before)
        assert _snapshot(dbs, DB_A, coll) == []

        async def scenario() -> None:
            await store.aadd_texts(texts, metadatas=[{"db": DB_A}] * 3, ids=IDS)
            found = await store.asimilarity_search("dog", k=3)
            assert sorted(d.page_content for d in found) == sorted(texts)
            assert [d.page_content for d in await store.aget_by_ids(["3"])] == [texts[2]]
            await store.adelete(ids=["1", "2"])
            await store.aclose()

        asyncio.run(scenario())
        _untouched(dbs, coll, before)
        assert _snapshot(dbs, DB_A, coll) == [("3", texts[2])]
    finally:
        store.close()
    again = _langchain(dbs, DB_A, coll, drop_old=True)
    try:
        again.add_texts([f"{DB_A} bird"], ids=["9"])
    finally:
        again.close()
    assert _snapshot(dbs, DB_A, coll) == [("9", f"{DB_A} bird")]
    _untouched(dbs, coll, before)


def _nodes() -> list[TextNode]:
    return [
        TextNode(id_=i, text=f"{DB_A} {w}", embedding=embed(w), metadata={"db": DB_A})
        for i, w in zip(IDS, ["cat", "dog", "fish"], strict=True)
    ]


def test_llama_index_sync_and_async_touch_only_their_database(dbs: str, coll: str) -> None:
    before = _seed(dbs, coll)
    store = LlamaStore(uri=dbs, db_name=DB_A, collection_name=coll, dim=DIM)
    try:
        store.add(_nodes())
        _untouched(dbs, coll, before)
        result = store.query(VectorStoreQuery(query_embedding=embed("cat"), similarity_top_k=3))
        assert sorted(n.get_content() for n in result.nodes or []) == [
            f"{DB_A} cat",
            f"{DB_A} dog",
            f"{DB_A} fish",
        ]
        assert [n.get_content() for n in store.get_nodes(["2"])] == [f"{DB_A} dog"]
        store.delete_nodes(["1"])
        store.delete_nodes(filters=MetadataFilters(filters=[MetadataFilter(key="db", value=DB_A)]))
        _untouched(dbs, coll, before)
        assert _snapshot(dbs, DB_A, coll) == []

        async def scenario() -> None:
            await store.async_add(_nodes())
            res = await store.aquery(
                VectorStoreQuery(query_embedding=embed("dog"), similarity_top_k=3)
            )
            assert all(n.get_content().startswith(DB_A) for n in res.nodes or [])
            assert [n.get_content() for n in await store.aget_nodes(["3"])] == [f"{DB_A} fish"]
            await store.adelete_nodes(["1", "2"])
            await store.aclose()

        asyncio.run(scenario())
        _untouched(dbs, coll, before)
        assert _snapshot(dbs, DB_A, coll) == [("3", f"{DB_A} fish")]
        store.clear()
        assert coll not in _collections(dbs, DB_A)
        _untouched(dbs, coll, before)
    finally:
        store.close()
    again = LlamaStore(uri=dbs, db_name=DB_A, collection_name=coll, dim=DIM, overwrite=True)
    try:
        again.add(_nodes()[:1])
    finally:
        again.close()
    assert _snapshot(dbs, DB_A, coll) == [("1", f"{DB_A} cat")]
    _untouched(dbs, coll, before)


# DEFECT (fixed): LlamaIndex to_dict() dropped db_name; from_dict() wrote into the default db
def test_llama_index_to_dict_and_from_dict_keep_db_name(dbs: str, coll: str) -> None:
    store = LlamaStore(uri=dbs, db_name=DB_A, collection_name=coll, dim=DIM)
    try:
        data = store.to_dict()
    finally:
        store.close()
    assert data.get("db_name") == DB_A, data
    copy = LlamaStore.from_dict(data)
    try:
        copy.add(_nodes()[:1])
    finally:
        copy.close()
    assert _snapshot(dbs, DB_A, coll) == [("1", f"{DB_A} cat")]
    assert coll not in _collections(dbs, "")


# ---------------------------------------------------------------------------------------
# Two stores on two databases in one process
# ---------------------------------------------------------------------------------------


def test_two_databases_with_different_schemas_in_one_process(dbs: str, coll: str) -> None:
    spec_a = CollectionSpec(
        name=coll, dim=8, metadata_fields=[MetadataField(name="color", type="VARCHAR")]
    )
    spec_b = CollectionSpec(
        name=coll, dim=4, metadata_fields=[MetadataField(name="size", type="INT64")]
    )
    a = MilvusStore(spec_a, connection=_conn(dbs, DB_A))
    b = MilvusStore(spec_b, connection=_conn(dbs, DB_B))
    try:
        for round_ in range(2):
            a.upsert([Record(id=f"a{round_}", text="a", vector=[0.1] * 8, metadata={"color": "r"})])
            b.upsert([Record(id=f"b{round_}", text="b", vector=[0.2] * 4, metadata={"size": 3})])
            assert {h.id[0] for h in a.search([0.1] * 8, k=5, filter=eq("color", "r"))} == {"a"}
            assert {h.id[0] for h in b.search([0.2] * 4, k=5, filter=eq("size", 3))} == {"b"}
        assert a.count() == 2
        assert b.count() == 2
    finally:
        a.close()
        b.close()

    async def both() -> None:
        aa = AsyncMilvusStore(MilvusStore(spec_a, connection=_conn(dbs, DB_A)))
        ab = AsyncMilvusStore(MilvusStore(spec_b, connection=_conn(dbs, DB_B)))
        try:
            ha, hb = await asyncio.gather(
                aa.search([0.1] * 8, k=5, filter=eq("color", "r")),
                ab.search([0.2] * 4, k=5, filter=eq("size", 3)),
            )
            assert {h.id for h in ha} == {"a0", "a1"}
            assert {h.id for h in hb} == {"b0", "b1"}
        finally:
            await aa.close()
            await ab.close()

    asyncio.run(both())
    for db, dim in ((DB_A, 8), (DB_B, 4)):
        client = MilvusClient(uri=dbs, db_name=db)
        try:
            fields = {f["name"]: f for f in client.describe_collection(coll)["fields"]}
            assert fields["vector"]["params"]["dim"] == dim
        finally:
            client.close()
    assert coll not in _collections(dbs, "")


# ---------------------------------------------------------------------------------------
# A database that does not exist
# ---------------------------------------------------------------------------------------


def _assert_missing_db_error(exc: BaseException, db: str) -> None:
    assert isinstance(exc, MilvusPluginsError), repr(exc)
    message = str(exc)
    assert db in message, message
    assert "create_database" in message or "create" in message.lower(), message


# DEFECT (fixed): a missing database was MilvusOperationError "Milvus call failed: database:X
# not found", with no hint to create it (client.create_database) or check db_name
def test_missing_database_core_is_typed_and_creates_nothing(dbs: str, coll: str) -> None:
    missing = "hdb_no_such_db"
    default_before = _collections(dbs, "")
    with pytest.raises(Exception) as info, _core(dbs, missing, coll) as store:
        store.upsert(_records(missing))
    assert _collections(dbs, "") == default_before
    client = MilvusClient(uri=dbs)
    try:
        assert missing not in client.list_databases()
    finally:
        client.close()
    _assert_missing_db_error(info.value, missing)


# DEFECT (fixed): a missing database was MilvusOperationError "Milvus call failed: database:X
# not found", with no hint to create it (client.create_database) or check db_name
def test_missing_database_async_is_typed_and_creates_nothing(dbs: str, coll: str) -> None:
    missing = "hdb_no_such_db2"

    async def scenario() -> None:
        store = AsyncMilvusStore(_core(dbs, missing, coll))
        try:
            await store.upsert(_records(missing))
        finally:
            await store.close()

    with pytest.raises(Exception) as info:
        asyncio.run(scenario())
    assert coll not in _collections(dbs, "")
    _assert_missing_db_error(info.value, missing)


# DEFECT (fixed): a missing database was MilvusOperationError "Milvus call failed: database:X
# not found", with no hint to create it (client.create_database) or check db_name
def test_missing_database_adapters_are_typed_and_create_nothing(dbs: str, coll: str) -> None:
    missing = "hdb_no_such_db3"
    with pytest.raises(Exception) as lc:
        store = _langchain(dbs, missing, coll)
        try:
            store.add_texts(["cat"], ids=["1"])
        finally:
            store.close()
    assert coll not in _collections(dbs, "")
    assert isinstance(lc.value, MilvusPluginsError), repr(lc.value)
    with pytest.raises(Exception) as li:
        ls = LlamaStore(uri=dbs, db_name=missing, collection_name=coll, dim=DIM)
        try:
            ls.add(_nodes()[:1])
        finally:
            ls.close()
    assert coll not in _collections(dbs, "")
    _assert_missing_db_error(lc.value, missing)
    _assert_missing_db_error(li.value, missing)


# ---------------------------------------------------------------------------------------
# Hostile db_name values
# ---------------------------------------------------------------------------------------

HOSTILE = [
    " ",
    "../x",
    "a b",
    "a-b",
    "x" * 300,
    "1abc",
    "db\x00",
    "datenbank\u00e9",
    "\u6570\u636e\u5e93",
    "\ud800",
    5,
    None,
    b"hdb_a",
    ["hdb_a"],
]


@pytest.mark.parametrize("value", HOSTILE, ids=lambda v: repr(v)[:20])
def test_hostile_db_name_is_a_config_error_before_io(value: Any) -> None:
    # an unreachable port: any I/O would be a connection error, not a ConfigError
    with pytest.raises(ConfigError) as info:
        ConnectionConfig(uri="http://127.0.0.1:1", db_name=value)
    assert "db_name" in str(info.value)


@pytest.mark.parametrize("value", [5, None, b"hdb_a", " ", "a-b", "\ud800"], ids=repr)
def test_hostile_db_name_through_llama_index_is_a_config_error(value: Any) -> None:
    with pytest.raises(ConfigError) as info:
        LlamaStore(uri="http://127.0.0.1:1", db_name=value, collection_name="c", dim=DIM)
    assert "db_name" in str(info.value)


def test_db_name_default_is_exactly_the_default_database(dbs: str, coll: str) -> None:
    with _core(dbs, "default", coll) as store:
        store.upsert(_records("")[:1])
    assert _snapshot(dbs, "", coll) == [("1", "default cat")]
    assert coll not in _collections(dbs, DB_A)


# DEFECT (fixed): a missing database was MilvusOperationError "Milvus call failed: database:X
# not found", with no hint to create it (client.create_database) or check db_name
def test_db_name_is_case_exact(dbs: str, coll: str) -> None:
    # "HDB_A" is another (missing) database, not a: a typed error, nothing written to a
    with pytest.raises(Exception) as info, _core(dbs, DB_A.upper(), coll) as store:
        store.upsert(_records(DB_A)[:1])
    assert coll not in _collections(dbs, DB_A)
    assert coll not in _collections(dbs, "")
    _assert_missing_db_error(info.value, DB_A.upper())


# ---------------------------------------------------------------------------------------
# Milvus Lite with a db_name
# ---------------------------------------------------------------------------------------


def test_lite_with_db_name_isolates_or_refuses(lite_uri: str) -> None:
    name = "lite_db_docs"
    try:
        with _core(lite_uri, "x", name) as store:
            store.upsert(_records("x"))
    except MilvusPluginsError as exc:
        message = str(exc)
        assert "db_name" in message or "database" in message.lower(), message
        assert "x" in message
        wrote = False
    else:
        wrote = True
    with _core(lite_uri, "", name) as default:
        seen = default.count() if default.exists() else 0
    assert seen == 0, f"db_name='x' on Milvus Lite wrote {seen} rows into the default database"
    if wrote:
        with _core(lite_uri, "x", name) as again:
            assert again.count() == 3


# ---------------------------------------------------------------------------------------
# The command line: --db-name
# ---------------------------------------------------------------------------------------


def _cli(*argv: str) -> tuple[int, str, str]:
    """The command line, run in this process as a fresh process would run it."""
    done = run_cli(*argv, cwd=Path.cwd())
    return done.code, done.out, done.err


# DEFECT (fixed): the CLI had no way to choose a database (only the default one was reachable)
def test_cli_db_name_reads_that_database_only(dbs: str, coll: str) -> None:
    with _core(dbs, DB_A, coll) as store:
        store.upsert(_records(DB_A)[:2])
    with _core(dbs, "", coll) as store:
        store.upsert(_records("")[:1])
    code, out, err = _cli("stats", coll, "--json", "--uri", dbs, "--db-name", DB_A)
    assert code == 0, err
    assert json.loads(out)["row_count"] == 2
    code, out, err = _cli("--uri", dbs, "stats", coll, "--json")
    assert code == 0, err
    assert json.loads(out)["row_count"] == 1
    code, out, err = _cli("--uri", dbs, "--db-name", "hdb_cli_missing", "stats", coll)
    assert code == 2 and "create_database" in err and "Traceback" not in err, err
    code, out, err = _cli("--uri", dbs, "--db-name", "../x", "stats", coll)
    assert code == 2 and "argument --db-name" in err, err
    assert _snapshot(dbs, DB_A, coll) is not None and coll not in _collections(dbs, DB_B)
