"""A read or delete scoped to a partition the collection does not have is refused.

Before: Milvus Lite read a misspelt partition name as an empty partition, so
``search``/``count``/``query``/``get`` found nothing, ``delete(ids, partition_names=...)``
and ``clear(partition_names=...)`` deleted nothing and reported success, and
``clear(partition_names=["p1", "typo"])`` cleared ``p1`` saying nothing of the typo (a
write into the same name was already refused). Now every such call raises
``InvalidInputError`` naming the missing partition and the ones there, before it reads or
deletes anything, on every engine with partitions, sync and async, through both adapters.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding
from llama_index.core.vector_stores.types import VectorStoreQuery

from milvus_plugins.core import (
    AsyncMilvusStore,
    CollectionSpec,
    ConnectionConfig,
    InvalidInputError,
    MilvusStore,
    Record,
)
from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

DIM = 4
PARTITIONS = ("_default", "archive")


def _vec(i: int) -> list[float]:
    return [1.0, float(i), 0.5, 0.25]


def _spec(name: str) -> CollectionSpec:
    return CollectionSpec(name=name, dim=DIM)


@pytest.fixture
def store(uri: str, collection_name: str) -> Iterator[MilvusStore]:
    """Rows ``d0``-``d2`` in ``_default`` and ``a0``-``a1`` in ``archive``."""
    with MilvusStore(_spec(collection_name), connection=ConnectionConfig(uri=uri)) as opened:
        if not opened.capabilities.partitions:
            pytest.skip("no named partitions on this engine (Milvus Lite 2.5.1)")
        opened.upsert([Record(id=f"d{i}", text=f"d{i}", vector=_vec(i)) for i in range(3)])
        opened.create_partition("archive")
        rows = [Record(id=f"a{i}", text=f"a{i}", vector=_vec(i)) for i in range(2)]
        opened.upsert(rows, partition_name="archive")
        yield opened


def _rows(store: MilvusStore) -> dict[str, list[str]]:
    return {p: sorted(r.id for r in store.query(partition_names=[p])) for p in PARTITIONS}


SCOPED: dict[str, Callable[[MilvusStore, list[str]], Any]] = {
    "search": lambda s, p: s.search(_vec(0), k=3, partition_names=p),
    "count": lambda s, p: s.count(partition_names=p),
    "query": lambda s, p: s.query(partition_names=p),
    "get": lambda s, p: s.get(["a0", "d0"], partition_names=p),
    "delete_ids": lambda s, p: s.delete(ids=["a0", "d0"], partition_names=p),
    "delete_filter": lambda s, p: s.delete(filter="id != ''", partition_names=p),
    "clear": lambda s, p: s.clear(partition_names=p),
}


@pytest.mark.parametrize("call", sorted(SCOPED))
@pytest.mark.parametrize("names", [["archiv"], ["archive", "archiv"], ["_default", "nope"]])
def test_a_missing_partition_is_refused_and_nothing_changes(
    store: MilvusStore, call: str, names: list[str]
) -> None:
    before = _rows(store)
    missing = names[-1]
    with pytest.raises(InvalidInputError, match=rf"no partition '{missing}'.*'archive'"):
        SCOPED[call](store, names)
    assert _rows(store) == before


def test_existing_partitions_still_read_and_delete(store: MilvusStore) -> None:
    assert store.count(partition_names=["archive"]) == 2
    assert {h.id for h in store.search(_vec(0), k=5, partition_names=["archive"])} == {"a0", "a1"}
    assert store.delete(ids=["a0", "d0"], partition_names=["archive"]) == 1
    assert store.clear(partition_names=["archive", "_default"]) == 4
    assert store.count() == 0


def test_a_partition_dropped_by_another_client_is_refused_on_the_next_call(
    store: MilvusStore, uri: str, collection_name: str
) -> None:
    assert store.count(partition_names=["archive"]) == 2
    with MilvusStore(_spec(collection_name), connection=ConnectionConfig(uri=uri)) as other:
        other.drop_partition("archive")
    with pytest.raises(InvalidInputError, match="no partition 'archive'"):
        store.count(partition_names=["archive"])
    with pytest.raises(InvalidInputError, match="no partition 'archive'"):
        store.clear(partition_names=["archive"])
    assert store.count() == 3


def test_the_async_store_refuses_alike(store: MilvusStore, uri: str, collection_name: str) -> None:
    async def run() -> None:
        sync = MilvusStore(_spec(collection_name), connection=ConnectionConfig(uri=uri))
        async with AsyncMilvusStore(sync) as astore:
            for call in (
                astore.count(partition_names=["archiv"]),
                astore.search(_vec(0), k=3, partition_names=["archiv"]),
                astore.delete(ids=["a0"], partition_names=["archiv"]),
                astore.clear(partition_names=["archive", "archiv"]),
            ):
                with pytest.raises(InvalidInputError, match="no partition 'archiv'"):
                    await call

    before = _rows(store)
    asyncio.run(run())
    assert _rows(store) == before


def test_the_adapters_refuse_alike(store: MilvusStore, uri: str, collection_name: str) -> None:
    before = _rows(store)
    lc = LangChainStore(
        DeterministicFakeEmbedding(size=DIM), uri=uri, collection_name=collection_name
    )
    try:
        with pytest.raises(InvalidInputError, match="no partition 'archiv'"):
            lc.similarity_search("q", k=2, partition_names=["archiv"])
        with pytest.raises(InvalidInputError, match="no partition 'archiv'"):
            lc.delete(ids=["a0"], partition_names=["archiv"])
    finally:
        lc.close()
    li = LlamaStore(
        uri=uri, collection_name=collection_name, dim=DIM, milvus_partition_names=["archiv"]
    )
    try:
        with pytest.raises(InvalidInputError, match="no partition 'archiv'"):
            li.query(VectorStoreQuery(query_embedding=_vec(0), similarity_top_k=2))
        with pytest.raises(InvalidInputError, match="no partition 'archiv'"):
            li.clear()
    finally:
        li.close()
    assert _rows(store) == before
