"""This session's answers to rows 138-140, attacked (helper, 2026-12-07; RELIABILITY 141).

Each test failed on the code the attack read:

* a store reading a langchain-milvus collection that langchain-milvus made again
  (``drop_old=True``, a new metadata key) was refused as "replaced": the layouts were
  compared field by field, not by the tool that made them;
* a store reusing a closed Milvus Lite database re-resolved the layout it had adopted,
  lost its JSON column, and was refused (before: read on without that key);
* ``migrate`` of a langchain-milvus collection, then the alias moved to the copy: a
  reader of the alias from before is now told to open a new store (a second attack
  showed why following it was a hole: a reader of another tool's collection then
  cleared another application's collection made under the name);
* the ``WriteError`` of a later batch that met an id another tenant took meanwhile said
  re-running completes the ingest, where a re-run meets the same id;
* a first write with an undeclared partition key skipped the engine-limit check made
  before the collection is created.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from milvus_plugins.core import (
    CollectionSpec,
    ConnectionConfig,
    MilvusStore,
    Record,
    TenantMismatchError,
    WriteError,
)


def vec(text: str, dim: int = 8) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [(digest[i] + 1) / 256.0 for i in range(dim)]


class Hashed(Embeddings):
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [vec(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return vec(text)


def _name() -> str:
    return "c" + uuid.uuid4().hex[:10]


# -- 1. the layout check compares the whole resolved mapping, not the layout ---------


@pytest.mark.server
def test_same_tool_recreating_its_collection_is_not_another_layout(server_uri: str) -> None:
    """langchain-milvus re-creates its collection (drop_old=True, a new metadata key):
    still langchain-milvus' layout. The store refused every call with
    "it was in langchain-milvus's layout and is now in langchain-milvus's"."""
    from langchain_milvus import Milvus

    uri, name = server_uri, _name()
    Milvus(Hashed(), connection_args={"uri": uri}, collection_name=name).add_documents(
        [Document("theirs", metadata={"source": "s"})], ids=["f1"]
    )
    store = MilvusStore(CollectionSpec(name=name), connection=ConnectionConfig(uri=uri))
    assert [r.id for r in store.get(["f1"])] == ["f1"]
    Milvus(
        Hashed(), connection_args={"uri": uri}, collection_name=name, drop_old=True
    ).add_documents([Document("new", metadata={"source": "s", "page": 3})], ids=["f2"])
    store.session.checked_at = 0.0  # the next read re-checks (READ_CHECK_TTL elapsed)
    assert [r.id for r in store.get(["f2"])] == ["f2"]
    assert store.count() == 1


_MAKE_LANGCHAIN = """
import sys, hashlib
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_milvus import Milvus
def vec(t):
    d = hashlib.sha256(t.encode()).digest(); return [(d[i] + 1) / 256.0 for i in range(8)]
class H(Embeddings):
    def embed_documents(self, texts): return [vec(t) for t in texts]
    def embed_query(self, text): return vec(text)
Milvus(H(), connection_args={"uri": sys.argv[1]}, collection_name=sys.argv[2]).add_documents(
    [Document("theirs", metadata={"source": "s", "info": {"a": 1}})], ids=["f1"])
"""


def test_reused_store_reopens_an_unchanged_langchain_collection(tmp_path: Path) -> None:
    """Milvus Lite 3: a store reading a langchain-milvus collection with a dict-valued
    metadata key (a JSON column) is closed and used again (its Lite server restarts):
    nothing changed, yet the re-open resolves the adopted mapping again, loses the JSON
    column from it, and raises SchemaMismatchError "langchain-milvus's ... now in
    langchain-milvus's" (the code before read on without metadata['info'])."""
    uri, name = str(tmp_path / "m.db"), _name()
    subprocess.run([sys.executable, "-c", _MAKE_LANGCHAIN, uri, name], check=True)
    store = MilvusStore(CollectionSpec(name=name), connection=ConnectionConfig(uri=uri))
    expected = {"source": "s", "info": {"a": 1}}
    assert store.get(["f1"])[0].metadata == expected
    store.close()
    try:
        assert store.get(["f1"])[0].metadata == expected
    finally:
        store.close()


@pytest.mark.server
def test_migrate_then_point_alias_asks_the_reader_for_a_new_store(server_uri: str) -> None:
    """The path reindex()'s ForeignLayoutError names: migrate the langchain-milvus
    collection into this package's layout and point the alias at the copy. A reader of
    the alias from before is told the collection was replaced (its store cannot tell the
    copy from another application's collection, whose rows its deletes would remove); a
    new store reads the copy."""
    from langchain_milvus import Milvus

    from milvus_plugins.core import SchemaMismatchError
    from milvus_plugins.core.migration import migrate, migration_target_spec
    from milvus_plugins.core.reindex import point_alias

    uri, name = server_uri, _name()
    alias, conn = "a" + name, ConnectionConfig(uri=uri)
    Milvus(Hashed(), connection_args={"uri": uri}, collection_name=name).add_documents(
        [Document("theirs", metadata={"source": "s"})], ids=["f1"]
    )
    point_alias(conn, alias, name)
    reader = MilvusStore(CollectionSpec(name=alias), connection=conn, open_mode="adopt")
    assert [r.id for r in reader.get(["f1"])] == ["f1"]
    source = MilvusStore(CollectionSpec(name=name), connection=conn)
    target = MilvusStore(migration_target_spec(source, name + "_v2"), connection=conn)
    assert migrate(source, target).ok
    point_alias(conn, alias, name + "_v2")
    reader.session.checked_at = 0.0  # the next read re-checks (READ_CHECK_TTL elapsed)
    with pytest.raises(SchemaMismatchError, match="replaced since this store opened it"):
        reader.get(["f1"])
    with pytest.raises(SchemaMismatchError):
        reader.clear()
    assert target.count() == 1
    fresh = MilvusStore(CollectionSpec(name=alias), connection=conn, open_mode="adopt")
    assert [r.id for r in fresh.get(["f1"])] == ["f1"]
    for store in (reader, source, target, fresh):
        store.close()


@pytest.mark.parametrize("backend", ["lite", pytest.param("server", marks=pytest.mark.server)])
def test_a_reader_of_another_tools_collection_never_clears_its_replacement(
    request: pytest.FixtureRequest, tmp_path: Path, backend: str
) -> None:
    """A store opened on a langchain-milvus collection; another application drops it and
    makes its own collection (this package's layout) under the name. The old store's
    ``clear()`` emptied the new collection (5 rows) and its LangChain ``delete`` removed
    rows by id (found by a second attack, 2026-12-07)."""
    from langchain_milvus import Milvus

    from milvus_plugins.core import SchemaMismatchError
    from milvus_plugins.langchain import MilvusVectorStore as LangChainStore

    uri = str(tmp_path / "m.db") if backend == "lite" else request.getfixturevalue("server_uri")
    name = _name()
    Milvus(Hashed(), connection_args={"uri": uri}, collection_name=name).add_documents(
        [Document("theirs", metadata={"source": "s"})], ids=["f1"]
    )
    core = MilvusStore(CollectionSpec(name=name), connection=ConnectionConfig(uri=uri))
    adapter = LangChainStore(Hashed(), uri=uri, collection_name=name)
    assert [r.id for r in core.get(["f1"])] == ["f1"]
    assert [d.id for d in adapter.get_by_ids(["f1"])] == ["f1"]
    other = MilvusStore(CollectionSpec(name=name, dim=8), connection=ConnectionConfig(uri=uri))
    other.drop()
    other.upsert([Record(id=f"b{i}", text=f"t{i}", vector=vec(f"t{i}")) for i in range(5)])
    core.session.checked_at = 0.0
    with pytest.raises(SchemaMismatchError, match="replaced"):
        core.clear()
    with pytest.raises(SchemaMismatchError, match="replaced"):
        adapter.delete(["b1", "b2"])
    assert other.count() == 5
    for store in (core, other):
        store.close()
    adapter.close()


def test_after_its_own_drop_a_store_opens_what_it_finds(tmp_path: Path) -> None:
    """``drop()`` makes the store a new one (its dimension forgotten too): another
    tool's collection made under the name afterwards is read, as a new store reads it
    (it was refused, blaming "another client")."""
    from langchain_milvus import Milvus

    uri, name = str(tmp_path / "m.db"), _name()
    store = MilvusStore(CollectionSpec(name=name, dim=8), connection=ConnectionConfig(uri=uri))
    store.upsert([Record(id="x", text="x", vector=vec("x"))])
    store.drop()
    Milvus(Hashed(), connection_args={"uri": uri}, collection_name=name).add_documents(
        [Document("theirs", metadata={"source": "s"})], ids=["f1"]
    )
    assert [r.id for r in store.get(["f1"])] == ["f1"]
    store.close()


# -- 2. the per-batch tenant re-check ------------------------------------------------


def _tenant_spec(name: str) -> CollectionSpec:
    return CollectionSpec(
        name=name, dim=8, metadata_fields={"tenant": "VARCHAR"}, partition_key="tenant"
    )


@pytest.mark.server
def test_write_error_of_a_batch_recheck_names_a_fix_that_works(server_uri: str) -> None:
    """A later batch's re-check finds an id another tenant took meanwhile: the
    WriteError ends "re-running the same upsert completes the ingest without
    duplicates", but re-running raises TenantMismatchError (the id is B's)."""
    name, conn = _name(), ConnectionConfig(uri=server_uri)
    a = MilvusStore(_tenant_spec(name), connection=conn)
    b = MilvusStore(_tenant_spec(name), connection=conn)
    b.upsert([Record(id="seed", text="x", vector=vec("x"))], tenant="B")
    calls: list[int] = []

    def embed(texts: list[str]) -> list[list[float]]:
        calls.append(len(texts))
        if len(calls) == 2:  # while batch 1 is written: B takes r15
            b.upsert([Record(id="r15", text="B's", vector=vec("B"))], tenant="B")
        return [vec(t) for t in texts]

    records = [Record(id=f"r{i}", text=f"t{i}") for i in range(30)]
    with pytest.raises(WriteError) as caught:
        a.upsert(records, tenant="A", batch_rows=10, embed=embed)
    assert caught.value.written_ids == [f"r{i}" for i in range(10)]
    told = str(caught.value)
    assert isinstance(caught.value.__cause__, TenantMismatchError)
    assert "re-running the same upsert completes" not in told
    assert "That batch was not written" in told and "own ids" in told
    with pytest.raises(TenantMismatchError):  # a re-run meets the same id
        a.upsert(records, tenant="A", batch_rows=10, embed=lambda t: [vec(x) for x in t])
    a.close()
    b.close()


# -- 3. the pre-creation checks skip an undeclared partition key ------------------------


@pytest.mark.server
def test_refused_first_write_with_undeclared_partition_key_creates_nothing(
    server_uri: str,
) -> None:
    """partition_key="tenant" alone (its type taken from the creating write, as the README
    documents): a first write whose metadata is over the 2.3.5 server's 64 KiB JSON limit
    is refused, but only after the collection was created (an empty collection is left,
    its partition key's type fixed by a write that wrote nothing). With the key declared,
    nothing is created."""
    from pymilvus import MilvusClient

    from milvus_plugins.core import InvalidInputError

    name = _name()
    store = MilvusStore(
        CollectionSpec(name=name, dim=8, partition_key="tenant"),
        connection=ConnectionConfig(uri=server_uri),
    )
    big = Record(id="a", text="t", vector=vec("a"), metadata={"blob": "x" * 70000})
    with pytest.raises(InvalidInputError):
        store.upsert([big], tenant="A")
    store.close()
    client = MilvusClient(uri=server_uri)
    try:
        assert not client.has_collection(name)
    finally:
        client.close()


@pytest.mark.server
def test_a_pending_partition_key_is_no_part_of_the_json_limit(server_uri: str) -> None:
    """The key of an undeclared partition key becomes a column, not JSON: metadata
    within the server's 64 KiB limit once the key is out is written through the core
    and the LangChain adapter alike (the adapter's streamed path counted the key)."""
    from pymilvus import MilvusClient

    from milvus_plugins.core.rows import json_text
    from milvus_plugins.langchain import MilvusVectorStore as LangChainStore

    pad = 65536 - len(json_text({"tenant": "acme", "blob": ""}).encode()) + 4
    metadata = {"tenant": "acme", "blob": "x" * pad}  # 65,540 bytes with the key
    names = [_name(), _name()]
    core = MilvusStore(
        CollectionSpec(name=names[0], partition_key="tenant"),
        connection=ConnectionConfig(uri=server_uri),
    )
    assert core.upsert([Record(id="a", text="t", vector=vec("t"), metadata=metadata)]) == ["a"]
    adapter = LangChainStore(
        Hashed(), uri=server_uri, collection_name=names[1], partition_key="tenant"
    )
    assert adapter.add_texts(["t"], metadatas=[metadata], ids=["a"]) == ["a"]
    core.close()
    adapter.close()
    client = MilvusClient(uri=server_uri)
    try:
        for name in names:
            client.drop_collection(name)
    finally:
        client.close()
