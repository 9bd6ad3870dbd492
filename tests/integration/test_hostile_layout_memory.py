"""This session's answers to rows 138-140, attacked (helper, 2026-12-07; RELIABILITY 141).

Each test failed on the code the attack read:

* a store reading a langchain-milvus collection that langchain-milvus made again
  (``drop_old=True``, a new metadata key) was refused as "replaced": the layouts were
  compared field by field, not by the tool that made them;
* a store reusing a closed Milvus Lite database re-resolved the layout it had adopted,
  lost its JSON column, and was refused (before: read on without that key);
* ``migrate`` of a langchain-milvus collection, then the alias moved to the copy (the way
  ``reindex`` names off another tool's layout), broke an adopting reader of the alias;
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
def test_migrate_then_point_alias_keeps_adopting_readers_working(server_uri: str) -> None:
    """The path reindex()'s ForeignLayoutError names: migrate the langchain-milvus
    collection into this package's layout and point the alias at the copy. A reader of
    the alias opened with open_mode="adopt" now fails with SchemaMismatchError "was
    replaced" (the code before read the copy)."""
    from langchain_milvus import Milvus

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
    assert [r.id for r in reader.get(["f1"])] == ["f1"]


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
