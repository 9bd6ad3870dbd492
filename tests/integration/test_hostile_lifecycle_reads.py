"""Hostile reads around the stricter lifecycle: reads never create, the first write does.

Each test compares what the package answers with what Milvus Lite holds (a plain
``pymilvus.MilvusClient`` on the same file) and with the documented behaviour.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from langchain_core.documents import Document
from langchain_core.indexing import InMemoryRecordManager, index
from llama_index.core import VectorStoreIndex
from llama_index.core.schema import TextNode
from pymilvus import MilvusClient
from tests.support.faces import DIM, VocabEmbedding, VocabEmbeddings, embed

from milvus_plugins.core import (
    AsyncMilvusStore,
    CollectionNotFoundError,
    CollectionSpec,
    ConnectionConfig,
    FilterError,
    MetadataField,
    MilvusOperationError,
    MilvusPluginsError,
    MilvusStore,
    Record,
    eq,
    export_collection,
    iter_records,
)
from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

NAME = "hostile_reads"


def store(uri: str, *, name: str = NAME, **kwargs: object) -> MilvusStore:
    return MilvusStore(
        CollectionSpec(name=name, dim=kwargs.pop("dim", DIM)),  # type: ignore[arg-type]
        connection=ConnectionConfig(uri=uri),
        **kwargs,  # type: ignore[arg-type]
    )


def rec(i: int, text: str = "cat dog", **meta: object) -> Record:
    return Record(id=f"r{i}", text=text, vector=embed(text), metadata={"n": i, **meta})


def milvus_has(uri: str, name: str = NAME) -> bool:
    client = MilvusClient(uri)
    try:
        return bool(client.has_collection(name))
    finally:
        client.close()


def milvus_ids(uri: str, name: str = NAME) -> set[str]:
    client = MilvusClient(uri)
    try:
        rows = client.query(name, filter="", output_fields=["id"], limit=100)
        return {str(r["id"]) for r in rows}
    finally:
        client.close()


def read_everything(s: MilvusStore) -> None:
    """Every read a user might call first: each finds nothing."""
    assert s.search(embed("cat"), k=3) == []
    assert s.get(["r0", "r1"]) == []
    assert s.query() == []
    assert s.query(eq("n", 1)) == []
    assert s.count() == 0
    assert s.filtered_hits(k=3, filter=eq("n", 1)) == []
    assert s.mmr_search(embed("cat"), k=2) == []
    assert s.search_many([embed("cat"), embed("dog")], k=2) == [[], []]


# -- core, sync ---------------------------------------------------------------------------


def test_every_read_of_a_never_written_store_creates_nothing(lite_uri: str) -> None:
    s = store(lite_uri)
    read_everything(s)
    assert s.exists() is False
    assert s.delete(["r0"]) == 0
    assert s.delete(filter=eq("n", 1)) == 0
    assert s.clear() == 0
    s.flush()
    s.drop_partition("p1")
    with pytest.raises(CollectionNotFoundError):
        s.stats()
    with pytest.raises(CollectionNotFoundError):
        s.list_partitions()
    assert milvus_has(lite_uri) is False
    # ... and the first write after all of that creates it, and reads see its rows.
    s.upsert([rec(0), rec(1)])
    assert milvus_has(lite_uri) is True
    assert sorted(r.id for r in s.get(["r0", "r1"])) == ["r0", "r1"]
    assert s.count() == 2
    assert {h.id for h in s.search(embed("cat"), k=5)} == {"r0", "r1"}


def test_a_bad_filter_on_a_missing_collection_is_still_refused(lite_uri: str) -> None:
    spec = CollectionSpec(
        name=NAME, dim=DIM, metadata_fields=[MetadataField(name="i", type="INT64")]
    )
    s = MilvusStore(spec, connection=ConnectionConfig(uri=lite_uri))
    with pytest.raises(FilterError):
        s.delete(filter=eq("i", 2**63))  # outside int64: refused before any I/O
    with pytest.raises(FilterError):
        s.delete([], filter=eq("i", 2**63))
    # A raw string with an unbalanced quote is refused when read (session 38); a balanced
    # one cannot be checked client-side: nothing to delete, nothing created.
    with pytest.raises(FilterError, match="unbalanced"):
        s.delete(filter='n == 1 or"')
    assert s.delete(filter="n == 1 or") == 0
    assert milvus_has(lite_uri) is False


def test_a_read_of_a_store_without_dim_creates_nothing_and_a_write_infers_it(
    lite_uri: str,
) -> None:
    s = MilvusStore(CollectionSpec(name=NAME), connection=ConnectionConfig(uri=lite_uri))
    assert s.search(embed("cat")) == []
    assert s.count() == 0
    assert milvus_has(lite_uri) is False
    s.upsert([rec(0)])
    assert s.spec.dim == DIM
    assert s.count() == 1


def test_two_stores_on_one_file_read_then_write_create_once(lite_uri: str) -> None:
    a, b = store(lite_uri), store(lite_uri)
    assert a.count() == 0 and b.count() == 0
    a.upsert([rec(0)])
    # b read "nothing" before; it must now see a's row, not a stale "absent".
    assert [r.id for r in b.get(["r0"])] == ["r0"]
    assert b.count() == 1
    b.upsert([rec(1)])
    assert a.count() == 2
    assert milvus_ids(lite_uri) == {"r0", "r1"}


def test_threads_read_while_one_writes_create_exactly_once(lite_uri: str) -> None:
    s = store(lite_uri)
    errors: list[BaseException] = []
    created = threading.Event()

    def reader() -> None:
        try:
            for _ in range(15):
                hits = s.search(embed("cat"), k=5)
                if created.is_set():
                    assert {h.id for h in hits} >= {"r0"}
        except BaseException as exc:
            errors.append(exc)

    def writer() -> None:
        try:
            s.upsert([rec(0), rec(1)])
            created.set()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    threads.append(threading.Thread(target=writer))
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert s.count() == 2
    assert milvus_ids(lite_uri) == {"r0", "r1"}


def test_drop_old_reads_before_first_write_find_nothing_and_touch_nothing(
    lite_uri: str,
) -> None:
    store(lite_uri).upsert([rec(0, "old fish"), rec(1, "old fish")])
    s = store(lite_uri, drop_old=True)
    assert "reads" in (MilvusStore.__doc__ or "") and "drop_old" in (MilvusStore.__doc__ or "")
    read_everything(s)
    assert s.exists() is False
    assert s.delete(["r0"]) == 0
    assert s.clear() == 0
    assert milvus_ids(lite_uri) == {"r0", "r1"}  # untouched
    s.upsert([rec(7, "new cat")])
    assert milvus_ids(lite_uri) == {"r7"}
    assert [r.id for r in s.query()] == ["r7"]
    assert {h.id for h in s.search(embed("fish"), k=5)} == {"r7"}
    assert s.exists() is True


def test_drop_old_a_second_store_reads_old_rows_until_the_first_write(lite_uri: str) -> None:
    store(lite_uri).upsert([rec(0, "old")])
    fresh = store(lite_uri, drop_old=True)
    other = store(lite_uri)
    assert other.count() == 1
    fresh.upsert([rec(5)])
    # The other store must never see old rows after the drop, nor fail.
    assert [r.id for r in other.query()] == ["r5"]
    assert other.get(["r0"]) == []


def test_drop_old_ensure_collection_drops_and_reads_then_find_nothing(lite_uri: str) -> None:
    store(lite_uri).upsert([rec(0)])
    s = store(lite_uri, drop_old=True)
    assert s.ensure_collection() is True
    assert milvus_has(lite_uri) is True
    assert milvus_ids(lite_uri) == set()
    assert s.count() == 0


def test_drop_then_read_then_write_then_read(lite_uri: str) -> None:
    s = store(lite_uri)
    s.upsert([rec(0)])
    s.drop()
    assert milvus_has(lite_uri) is False
    assert s.count() == 0
    assert s.search(embed("cat")) == []
    assert s.exists() is False
    assert milvus_has(lite_uri) is False
    s.upsert([rec(1)])
    assert [r.id for r in s.query()] == ["r1"]


def test_dropped_behind_the_stores_back_then_read_then_write(lite_uri: str) -> None:
    s = store(lite_uri)
    s.upsert([rec(0)])
    assert s.count() == 1
    client = MilvusClient(lite_uri)
    client.drop_collection(NAME)
    client.close()
    assert s.get(["r0"]) == []
    assert s.query() == []
    assert milvus_has(lite_uri) is False
    s.upsert([rec(1)])
    assert [r.id for r in s.query()] == ["r1"]


def test_recreated_elsewhere_with_another_dim_is_not_read_as_ours(lite_uri: str) -> None:
    s = store(lite_uri)
    s.upsert([rec(0)])
    other = store(lite_uri, dim=4, drop_old=True)
    other.upsert([Record(id="x", text="x", vector=[1.0, 0.0, 0.0, 0.0])])
    # s was opened at dim=DIM: it must refuse (typed) or find nothing, never crash oddly.
    try:
        hits = s.search(embed("cat"), k=3)
    except Exception as exc:
        assert type(exc).__module__.startswith("milvus_plugins"), repr(exc)
    else:
        assert hits == []
    assert milvus_ids(lite_uri) == {"x"}


def test_exists_then_write(lite_uri: str) -> None:
    s = store(lite_uri)
    assert s.exists() is False
    s.upsert([rec(0)])
    assert s.exists() is True
    assert s.count() == 1


def test_iter_records_and_export_of_a_missing_collection(lite_uri: str, tmp_path: Path) -> None:
    s = store(lite_uri)
    with pytest.raises(CollectionNotFoundError):
        list(iter_records(s))
    with pytest.raises(CollectionNotFoundError):
        export_collection(s, tmp_path / "out.jsonl")
    assert not (tmp_path / "out.jsonl").exists()
    assert milvus_has(lite_uri) is False


def test_drop_old_iter_records_before_first_write_finds_no_old_rows(lite_uri: str) -> None:
    store(lite_uri).upsert([rec(0)])
    s = store(lite_uri, drop_old=True)
    with pytest.raises(CollectionNotFoundError):
        list(iter_records(s))
    assert milvus_ids(lite_uri) == {"r0"}


def test_tenant_store_reads_before_writes(lite_uri: str) -> None:
    spec = CollectionSpec(
        name=NAME,
        dim=DIM,
        metadata_fields=[MetadataField(name="tenant", type="VARCHAR", max_length=64)],
        partition_key="tenant",
    )
    conn = ConnectionConfig(uri=lite_uri)
    a = MilvusStore(spec, connection=conn, tenant="a")
    assert a.search(embed("cat")) == []
    assert a.count() == 0
    assert a.clear() == 0
    assert a.delete(filter=eq("n", 1)) == 0
    assert milvus_has(lite_uri) is False
    a.upsert([rec(0, tenant="a")])
    b = MilvusStore(spec, connection=conn, tenant="b")
    assert b.count() == 0
    assert a.count() == 1


def test_sparse_only_store_reads_before_writes(lite_uri: str) -> None:
    spec = CollectionSpec(name=NAME, dense=False, sparse="bm25")
    s = MilvusStore(spec, connection=ConnectionConfig(uri=lite_uri))
    assert s.sparse_search("cat", k=3) == []
    assert s.filtered_hits(k=3) == []
    assert s.count() == 0
    assert milvus_has(lite_uri) is False
    s.upsert([Record(id="s0", text="cat dog")])
    assert [h.id for h in s.sparse_search("cat", k=3)] == ["s0"]


# -- core, async --------------------------------------------------------------------------


def test_async_concurrent_reads_and_first_write(lite_uri: str) -> None:
    async def main() -> tuple[list[object], int]:
        s = AsyncMilvusStore(store(lite_uri))
        try:
            results = await asyncio.gather(
                s.search(embed("cat"), k=3),
                s.count(),
                s.upsert([rec(0), rec(1)]),
                s.get(["r0"]),
                return_exceptions=True,
            )
            return list(results), await s.count()
        finally:
            await s.close()

    results, count = asyncio.run(main())
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert count == 2
    assert milvus_ids(lite_uri) == {"r0", "r1"}


def test_async_drop_old_reads_then_write(lite_uri: str) -> None:
    store(lite_uri).upsert([rec(0, "old")])

    async def main() -> tuple[int, int, bool]:
        s = AsyncMilvusStore(store(lite_uri, drop_old=True))
        try:
            before = await s.count()
            existed = await s.exists()
            await s.upsert([rec(9)])
            return before, await s.count(), existed
        finally:
            await s.close()

    before, after, existed = asyncio.run(main())
    assert (before, after, existed) == (0, 1, False)
    assert milvus_ids(lite_uri) == {"r9"}


# -- LangChain ----------------------------------------------------------------------------


def test_langchain_search_on_a_never_written_store(lite_uri: str) -> None:
    lc = LangChainStore(VocabEmbeddings(), uri=lite_uri, collection_name=NAME)
    assert lc.similarity_search("cat", k=2) == []
    assert lc.similarity_search_with_score("cat", k=2) == []
    assert lc.max_marginal_relevance_search("cat", k=2) == []
    assert lc.get_by_ids(["a"]) == []
    assert milvus_has(lite_uri) is False
    lc.add_texts(["cat dog"], ids=["a"])
    assert [d.id for d in lc.similarity_search("cat", k=2)] == ["a"]


def test_langchain_from_existing_collection_of_a_missing_one(lite_uri: str) -> None:
    with pytest.raises(CollectionNotFoundError):
        LangChainStore.from_existing_collection(
            VocabEmbeddings(), collection_name=NAME, uri=lite_uri
        )
    assert milvus_has(lite_uri) is False


def test_langchain_indexing_full_cleanup_with_no_docs_on_a_fresh_store(lite_uri: str) -> None:
    lc = LangChainStore(VocabEmbeddings(), uri=lite_uri, collection_name=NAME)
    manager = InMemoryRecordManager("ns")
    manager.create_schema()
    result = index([], manager, lc, cleanup="full")
    assert result["num_added"] == 0 and result["num_deleted"] == 0
    assert milvus_has(lite_uri) is False
    docs = [Document(page_content="cat dog", metadata={"source": "a"})]
    result = index(docs, manager, lc, cleanup="full", source_id_key="source")
    assert result["num_added"] == 1
    result = index([], manager, lc, cleanup="full")
    assert result["num_deleted"] == 1
    assert milvus_ids(lite_uri) == set()


def test_langchain_drop_old_search_then_add(lite_uri: str) -> None:
    old = LangChainStore(VocabEmbeddings(), uri=lite_uri, collection_name=NAME)
    old.add_texts(["fish fish"], ids=["old"])
    lc = LangChainStore(VocabEmbeddings(), uri=lite_uri, collection_name=NAME, drop_old=True)
    assert lc.similarity_search("fish", k=3) == []
    assert lc.get_by_ids(["old"]) == []
    lc.add_texts(["cat"], ids=["new"])
    assert [d.id for d in lc.similarity_search("fish", k=3)] == ["new"]
    assert milvus_ids(lite_uri) == {"new"}


# -- LlamaIndex ---------------------------------------------------------------------------


def test_llama_retrieve_on_a_missing_collection(lite_uri: str) -> None:
    vs = LlamaStore(uri=lite_uri, collection_name=NAME, dim=DIM)
    idx = VectorStoreIndex.from_vector_store(vs, embed_model=VocabEmbedding())
    assert idx.as_retriever(similarity_top_k=2).retrieve("cat") == []
    assert vs.get_nodes(node_ids=["a"]) == []
    vs.delete_nodes(node_ids=["a"])
    vs.delete("doc")
    vs.clear()
    assert milvus_has(lite_uri) is False


def test_llama_overwrite_reads_then_add_then_reads(lite_uri: str) -> None:
    first = LlamaStore(uri=lite_uri, collection_name=NAME, dim=DIM)
    first.add([TextNode(id_="old", text="fish", embedding=embed("fish"))])
    vs = LlamaStore(uri=lite_uri, collection_name=NAME, dim=DIM, overwrite=True)
    assert vs.get_nodes(node_ids=["old"]) == []
    assert milvus_ids(lite_uri) == {"old"}
    vs.add([TextNode(id_="new", text="cat", embedding=embed("cat"))])
    assert [n.node_id for n in vs.get_nodes(node_ids=["old", "new"])] == ["new"]
    assert milvus_ids(lite_uri) == {"new"}


# -- more hostile orders ------------------------------------------------------------------


def test_drop_old_a_refused_first_write_drops_nothing(lite_uri: str) -> None:
    store(lite_uri).upsert([rec(0)])
    s = store(lite_uri, drop_old=True)
    with pytest.raises(MilvusPluginsError):
        s.upsert([Record(id="bad", text="x", vector=[1.0, 2.0])])  # wrong dim
    assert milvus_ids(lite_uri) == {"r0"}


def test_an_empty_write_on_a_fresh_store_creates_no_junk(lite_uri: str) -> None:
    s = store(lite_uri)
    assert s.upsert([]) == []
    assert milvus_has(lite_uri) is False


def test_drop_old_an_empty_write_keeps_the_old_rows(lite_uri: str) -> None:
    store(lite_uri).upsert([rec(0)])
    s = store(lite_uri, drop_old=True)
    s.upsert([])
    assert milvus_ids(lite_uri) == {"r0"}


def test_drop_old_admin_calls_before_the_first_write(lite_uri: str) -> None:
    store(lite_uri).upsert([rec(0)])
    s = store(lite_uri, drop_old=True)
    with pytest.raises(CollectionNotFoundError):
        s.stats()
    with pytest.raises(CollectionNotFoundError):
        s.list_partitions()
    s.flush()
    s.drop_partition("p1")
    assert milvus_ids(lite_uri) == {"r0"}
    s.create_partition("p1")  # creates: the old collection goes
    assert milvus_ids(lite_uri) == set()
    assert "p1" in s.list_partitions()


def test_hybrid_search_before_the_first_write(lite_uri: str) -> None:
    spec = CollectionSpec(name=NAME, dim=DIM, sparse="bm25")
    s = MilvusStore(spec, connection=ConnectionConfig(uri=lite_uri))
    assert s.hybrid_search(embed("cat"), "cat", k=3) == []
    assert s.sparse_search("cat", k=3) == []
    assert milvus_has(lite_uri) is False
    s.upsert([rec(0)])
    assert [h.id for h in s.hybrid_search(embed("cat"), "cat", k=3)] == ["r0"]


def test_a_missing_database_is_refused_at_the_first_read(lite_uri: str) -> None:
    s = MilvusStore(
        CollectionSpec(name=NAME, dim=DIM),
        connection=ConnectionConfig(uri=lite_uri, db_name="no_such_db"),
    )
    with pytest.raises(MilvusOperationError, match="create_database"):
        s.count()
    with pytest.raises(MilvusOperationError, match="create_database"):
        s.exists()


def test_langchain_deletes_on_a_missing_collection(lite_uri: str) -> None:
    lc = LangChainStore(VocabEmbeddings(), uri=lite_uri, collection_name=NAME)
    lc.delete(ids=["a"])
    assert asyncio.run(lc.asimilarity_search("cat", k=2)) == []
    asyncio.run(lc.adelete(ids=["a"]))
    assert milvus_has(lite_uri) is False


def test_llama_overwrite_retrieve_before_the_first_add(lite_uri: str) -> None:
    LlamaStore(uri=lite_uri, collection_name=NAME, dim=DIM).add(
        [TextNode(id_="old", text="cat", embedding=embed("cat"))]
    )
    vs = LlamaStore(uri=lite_uri, collection_name=NAME, dim=DIM, overwrite=True)
    idx = VectorStoreIndex.from_vector_store(vs, embed_model=VocabEmbedding())
    assert idx.as_retriever(similarity_top_k=2).retrieve("cat") == []
    assert milvus_ids(lite_uri) == {"old"}


def test_two_stores_first_writes_race_in_threads(lite_uri: str) -> None:
    a, b = store(lite_uri), store(lite_uri)
    assert a.count() == 0 and b.count() == 0
    errors: list[BaseException] = []

    def write(s: MilvusStore, i: int) -> None:
        try:
            s.upsert([rec(i)])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(s, i)) for i, s in enumerate((a, b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert milvus_ids(lite_uri) == {"r0", "r1"}
    assert a.count() == 2 and b.count() == 2


def test_async_drop_old_reads_racing_the_first_write_never_see_old_rows(lite_uri: str) -> None:
    store(lite_uri).upsert([rec(0, "old")])

    async def main() -> list[object]:
        s = AsyncMilvusStore(store(lite_uri, drop_old=True))
        try:
            got = await asyncio.gather(
                s.get(["r0"]), s.upsert([rec(1)]), s.get(["r0"]), s.count(), return_exceptions=True
            )
            return [*got, await s.get(["r0", "r1"])]
        finally:
            await s.close()

    got = asyncio.run(main())
    assert not [r for r in got if isinstance(r, BaseException)], got
    assert got[0] == [] and got[2] == []
    assert [r.id for r in got[4]] == ["r1"]  # type: ignore[union-attr]
    assert milvus_ids(lite_uri) == {"r1"}
