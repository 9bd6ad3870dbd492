"""Hostile, careless-user cleanup and delete flows under scopes (Milvus Lite 3.2.2).

Every flow that deletes rows on the user's behalf (LangChain's indexing API and
``delete`` / ``delete()``; LlamaIndex's ``IngestionPipeline`` docstore strategies,
``VectorStoreIndex.delete_ref_doc`` / ``refresh_ref_docs``, the store's ``delete``,
``delete_nodes`` and ``clear``) runs next to other scopes sharing the collection: another
tenant (partition key), another named partition, another record-manager namespace, another
framework's rows, another collection in the same database. The oracle reads every row
back with raw pymilvus, partition by partition, before and after each step: a step must
remove exactly what the framework's own reference store (``InMemoryVectorStore``,
``SimpleVectorStore``) removes in the same flow, never a row of another scope; where the
package cannot do it, a typed ``milvus_plugins`` error with nothing changed.

Tests marked DEFECT (a comment line above them) fail on the code as reviewed.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from langchain_core.documents import Document as LCDocument
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.indexing import InMemoryRecordManager, aindex, index
from langchain_core.vectorstores import InMemoryVectorStore
from llama_index.core import Document, StorageContext, VectorStoreIndex
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.ingestion import DocstoreStrategy, IngestionPipeline
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.storage.docstore import SimpleDocumentStore
from llama_index.core.vector_stores import SimpleVectorStore
from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
)
from pymilvus import DataType, MilvusClient

from milvus_plugins.core import (
    ConfigError,
    InvalidInputError,
    PartitionMismatchError,
    RawFilterRefusedError,
    SharedIdError,
    TenantMismatchError,
    TenantRequiredError,
    UnsupportedByServerError,
)
from milvus_plugins.core.exceptions import MilvusPluginsError
from milvus_plugins.langchain import MilvusVectorStore as LCMilvus
from milvus_plugins.llama_index import MilvusVectorStore as LIMilvus

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

DIM = 8
COLL = "shared"
OTHER = "bystander"  # another collection in the same database, same ids
# Hostile tenants. Both hash into one partition-key partition on Milvus Lite 3.2.2, so
# isolation cannot come from partition pruning: only from the escaped key filter.
A, B = 'a" or true or "', "b\\"
# Two plain tenants that hash into two different partition-key partitions on Lite.
T1, T2 = "t1", "t2"
SOURCES = ['dir/"quoted" \\ file.md', "é☃ ünïcode.md", "plain.md", "50%_off\tx.md"]
REF = 'ref/"q" \\ é%_.md'  # a LlamaIndex ref_doc_id both tenants / partitions use

_VECTORS = {
    DataType.FLOAT_VECTOR,
    DataType.SPARSE_FLOAT_VECTOR,
    DataType.BINARY_VECTOR,
    DataType.FLOAT16_VECTOR,
    DataType.BFLOAT16_VECTOR,
}


# =====================================================================================
# The oracle: every row of a collection, read with raw pymilvus partition by partition
# =====================================================================================


class Row(NamedTuple):
    partition: str
    id: str
    text: str
    doc_id: str
    tenant: Any
    metadata: str  # JSON, keys sorted


def _rows(uri: str, name: str = COLL) -> frozenset[Row]:
    client = MilvusClient(uri=uri)
    try:
        if not client.has_collection(name):
            return frozenset()
        if "Loaded" not in str(client.get_load_state(name).get("state")):
            client.load_collection(name)  # the last store closed: a new Lite server
        described = client.describe_collection(name)["fields"]
        fields = [f["name"] for f in described if f["type"] not in _VECTORS]
        out = set()
        for partition in client.list_partitions(name):
            for row in client.query(
                name,
                filter='id != ""',
                output_fields=fields,
                partition_names=[partition],
                limit=16384,
            ):
                metadata = row.get("metadata")
                if isinstance(metadata, str):
                    metadata = json.loads(metadata)
                out.add(
                    Row(
                        partition,
                        row["id"],
                        row.get("text", ""),
                        row.get("doc_id", ""),
                        row.get("tenant"),
                        json.dumps(metadata, sort_keys=True),
                    )
                )
        return frozenset(out)
    finally:
        client.close()


def _of(rows: frozenset[Row], tenant: Any) -> frozenset[Row]:
    return frozenset(r for r in rows if r.tenant == tenant)


def _in(rows: frozenset[Row], partition: str) -> frozenset[Row]:
    return frozenset(r for r in rows if r.partition == partition)


def _content(rows: frozenset[Row]) -> list[tuple[str, str, str]]:
    """(id, text, metadata) of the rows, sorted: what a LangChain reference store holds."""
    return sorted((r.id, r.text, r.metadata) for r in rows)


def _ref_content(ref: InMemoryVectorStore) -> list[tuple[str, str, str]]:
    return sorted(
        (k, v["text"], json.dumps(v["metadata"], sort_keys=True)) for k, v in ref.store.items()
    )


# =====================================================================================
# Stores, embeddings, runners
# =====================================================================================


def _lc_embedding() -> DeterministicFakeEmbedding:
    return DeterministicFakeEmbedding(size=DIM)


def _lc_tenanted(uri: str, tenant: Any = None, **kwargs: Any) -> LCMilvus:
    return LCMilvus(
        _lc_embedding(),
        uri=uri,
        collection_name=COLL,
        metadata_fields={"tenant": "VARCHAR"},
        partition_key="tenant",
        tenant=tenant,
        **kwargs,
    )


def _lc_partitioned(uri: str, *partitions: str) -> LCMilvus:
    store = LCMilvus(_lc_embedding(), uri=uri, collection_name=COLL, dim=DIM)
    store.store.ensure_collection(dim=DIM)
    for name in partitions:
        store.store.create_partition(name)
    return store


def _bystander(uri: str) -> frozenset[Row]:
    """Another collection in the same database holding the ids the tests delete."""
    store = LCMilvus(_lc_embedding(), uri=uri, collection_name=OTHER)
    ids = ["a0", "b0", "k", "K", "x", "n0", f"{A}:x", REF, "lc0"]
    store.add_texts([f"bystander {i}" for i in ids], [{"source": s} for s in ids], ids=ids)
    return _rows(uri, OTHER)


class HashEmbedding(BaseEmbedding):
    """A deterministic 8-d embedding for LlamaIndex (crc32 of each word)."""

    def _vector(self, text: str) -> list[float]:
        vector = [0.01] * DIM
        for word in text.lower().split():
            vector[zlib.crc32(word.encode()) % DIM] += 1.0
        return vector

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._vector(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._vector(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._vector(text)


def _li_tenanted(uri: str, tenant: Any = None, **kwargs: Any) -> LIMilvus:
    return LIMilvus(
        uri=uri,
        collection_name=COLL,
        metadata_fields={"tenant": "VARCHAR"},
        partition_key="tenant",
        tenant=tenant,
        **kwargs,
    )


def _node(node_id: str, ref: str | None, text: str, **metadata: Any) -> TextNode:
    node = TextNode(
        id_=node_id, text=text, embedding=HashEmbedding()._vector(text), metadata=metadata
    )
    if ref is not None:
        node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=ref)
    return node


def _manager(namespace: str) -> InMemoryRecordManager:
    manager = InMemoryRecordManager(namespace=namespace)
    manager.create_schema()
    return manager


Runner = Callable[..., Awaitable[Any]]


async def _run_index(docs: Sequence[LCDocument], manager: Any, vs: Any, **kw: Any) -> Any:
    return index(docs, manager, vs, **kw)


async def _run_aindex(docs: Sequence[LCDocument], manager: Any, vs: Any, **kw: Any) -> Any:
    return await aindex(docs, manager, vs, **kw)


RUNNERS = pytest.mark.parametrize("runner", [_run_index, _run_aindex], ids=["index", "aindex"])
MODES = pytest.mark.parametrize("mode", ["sync", "async"])


async def _call(mode: str, obj: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    """``obj.name(...)`` or its async twin (``a<name>``; LlamaIndex ``add``: ``async_add``)."""
    if mode == "sync":
        return getattr(obj, name)(*args, **kwargs)
    twin = {"add": "async_add"}.get(name, f"a{name}")
    return await getattr(obj, twin)(*args, **kwargs)


def _tenant_key(tenant: str) -> Callable[[LCDocument], str]:
    """The README's key encoder for a tenant (content hash, prefixed by the tenant)."""

    def key(doc: LCDocument) -> str:
        payload = doc.page_content + json.dumps(doc.metadata, sort_keys=True)
        return f"{tenant}:" + hashlib.sha256(payload.encode()).hexdigest()

    return key


def _lc_docs(*pairs: tuple[str, str]) -> list[LCDocument]:
    return [
        LCDocument(page_content=text, metadata={"source": source, "i": i})
        for i, (source, text) in enumerate(pairs)
    ]


# V1 -> V2: one chunk kept, one edited, one source gone; V3 (empty): "full" deletes all.
LC_V1 = _lc_docs(
    (SOURCES[0], "alpha one"),
    (SOURCES[0], "alpha two"),
    (SOURCES[1], "beta one"),
    (SOURCES[2], "gamma one"),
)
LC_V2 = _lc_docs(
    (SOURCES[0], "alpha one"),
    (SOURCES[0], "alpha two, edited"),
    (SOURCES[3], "delta one"),
)
LC_V3: list[LCDocument] = []


# =====================================================================================
# LangChain: the indexing API under tenants, partitions and namespaces
# =====================================================================================


@pytest.mark.parametrize("cleanup", [None, "incremental", "full", "scoped_full"])
@pytest.mark.parametrize(
    ("runner", "batch_size", "cleanup_batch_size"),
    [(_run_index, 1, 1), (_run_aindex, 10_000, 1000)],
    ids=["index-batch1", "aindex-batch10000"],
)
async def test_index_cleanup_in_one_tenant_matches_in_memory_and_spares_the_other(
    lite_uri: str, runner: Runner, batch_size: int, cleanup_batch_size: int, cleanup: Any
) -> None:
    bystander = _bystander(lite_uri)
    ours_a, ours_b = _lc_tenanted(lite_uri, A), _lc_tenanted(lite_uri, B)
    ref = InMemoryVectorStore(_lc_embedding())
    kw: dict[str, Any] = {
        "cleanup": cleanup,
        "source_id_key": "source",
        "batch_size": batch_size,
        "cleanup_batch_size": cleanup_batch_size,
    }
    # The same documents in tenant B, under B's own namespace and ids.
    await runner(LC_V1, _manager("b"), ours_b, key_encoder=_tenant_key(B), **kw)
    b_rows = _of(_rows(lite_uri), B)
    assert len(b_rows) == len(LC_V1)
    ours_manager, ref_manager = _manager("a"), _manager("a")
    for step, docs in enumerate((LC_V1, LC_V1, LC_V2, LC_V2, LC_V3)):
        got = await runner(docs, ours_manager, ours_a, key_encoder=_tenant_key(A), **kw)
        expected = await runner(docs, ref_manager, ref, key_encoder=_tenant_key(A), **kw)
        assert got == expected, f"step {step}"
        rows = _rows(lite_uri)
        assert _content(_of(rows, A)) == _ref_content(ref), f"step {step}"
        assert _of(rows, B) == b_rows, f"step {step}: tenant B's rows changed"
        assert rows == _of(rows, A) | b_rows, f"step {step}: a row of no tenant appeared"
        assert sorted(ours_manager.list_keys()) == sorted(ref_manager.list_keys())
    assert _rows(lite_uri, OTHER) == bystander


@RUNNERS
async def test_same_document_in_two_tenants_with_content_ids_is_refused_unchanged(
    lite_uri: str, runner: Runner
) -> None:
    # LangChain's ids hash the content: tenant B's copy of A's document gets A's id.
    ours_a, ours_b = _lc_tenanted(lite_uri, A), _lc_tenanted(lite_uri, B)
    kw: dict[str, Any] = {"cleanup": "full", "source_id_key": "source", "key_encoder": "sha256"}
    await runner(LC_V1, _manager("a"), ours_a, **kw)
    before = _rows(lite_uri)
    manager_b = _manager("b")
    with pytest.raises(TenantMismatchError, match="key_encoder"):
        await runner(LC_V1, manager_b, ours_b, **kw)
    assert _rows(lite_uri) == before
    assert manager_b.list_keys() == []
    # The fix the error names: a key encoder that includes the tenant.
    result = await runner(LC_V1, manager_b, ours_b, **{**kw, "key_encoder": _tenant_key(B)})
    assert result["num_added"] == len(LC_V1)
    assert _of(_rows(lite_uri), A) == _of(before, A)


# DEFECT (fixed): tenant deletes not flushed on Lite: id reused by another tenant -> SharedIdError
@RUNNERS
async def test_an_id_freed_by_one_tenant_and_reused_by_another_can_still_be_cleaned_up(
    lite_uri: str, runner: Runner
) -> None:
    # A public document: tenant t1 indexes it, then drops it (its row is deleted, so its
    # content-hash id is free); tenant t2 then indexes the same document, which the store
    # rightly accepts. Both tenants must still be able to clean up their own rows.
    # (t1 and t2 land in two different partition-key partitions on Milvus Lite 3.2.2.)
    t1, t2 = _lc_tenanted(lite_uri, T1), _lc_tenanted(lite_uri, T2)
    docs = _lc_docs(("pub.md", "public zero"), ("pub.md", "public one"), ("own.md", "own"))
    kw: dict[str, Any] = {"cleanup": "full", "source_id_key": "source", "key_encoder": "sha256"}
    m1, m2 = _manager("t1"), _manager("t2")
    await runner(docs, m1, t1, **kw)
    assert (await runner(docs[1:], m1, t1, **kw))["num_deleted"] == 1
    assert (await runner(docs[:1], m2, t2, **kw))["num_added"] == 1
    (freed,) = m2.list_keys()
    assert sorted(r.tenant for r in _rows(lite_uri) if r.id != freed) == [T1, T1]
    # t2's cleanup of its only document, then t1's "delete all".
    assert (await runner([], m2, t2, **kw))["num_deleted"] == 1
    await _call("sync" if runner is _run_index else "async", t1, "delete")
    assert _rows(lite_uri) == frozenset()  # (the deleted t1 row must not be back either)


# DEFECT (fixed): unscoped upsert moving an id to another tenant leaves a 2nd row (old tenant's)
@MODES
async def test_unscoped_write_moving_a_document_to_another_tenant_keeps_one_row(
    lite_uri: str, mode: str
) -> None:
    # An admin store (no tenant) re-files a document with stable ids under another
    # tenant. Acceptable: a typed refusal with nothing changed, or the row moved. Never
    # a second row with that id left behind in the old tenant's partition.
    admin, t1 = _lc_tenanted(lite_uri), _lc_tenanted(lite_uri, T1)
    first = [
        LCDocument(id="guide#0", page_content="guide v1", metadata={"tenant": T1}),
        LCDocument(id="guide#1", page_content="guide part two", metadata={"tenant": T1}),
    ]
    await _call(mode, admin, "add_documents", first)
    before = _rows(lite_uri)
    moved = LCDocument(id="guide#0", page_content="guide v2", metadata={"tenant": T2})
    try:
        await _call(mode, admin, "add_documents", [moved])
    except TenantMismatchError:
        assert _rows(lite_uri) == before
        expected = [("guide#0", "guide v1", T1), ("guide#1", "guide part two", T1)]
    else:
        expected = [("guide#0", "guide v2", T2), ("guide#1", "guide part two", T1)]
    assert sorted((r.id, r.text, r.tenant) for r in _rows(lite_uri)) == expected
    await _call(mode, t1, "delete")  # t1's "delete all"
    assert not _of(_rows(lite_uri), T1)


@MODES
async def test_tenant_delete_get_and_delete_all_never_reach_the_other_tenant(
    lite_uri: str, mode: str
) -> None:
    bystander = _bystander(lite_uri)
    a, b = _lc_tenanted(lite_uri, A), _lc_tenanted(lite_uri, B)
    # Lookalike ids (case, LIKE wildcards, quote, backslash): never equal across tenants.
    a_ids, b_ids = ["k", "k%", 'k"', "a0"], ["K", "k_", "k\\", "b0"]
    await _call(mode, a, "add_texts", [f"a {i}" for i in a_ids], ids=a_ids)
    await _call(mode, b, "add_texts", [f"b {i}" for i in b_ids], ids=b_ids)
    b_rows = _of(_rows(lite_uri), B)
    assert await _call(mode, a, "get_by_ids", b_ids) == []
    await _call(mode, a, "delete", [*b_ids, "k"])
    assert sorted(r.id for r in _of(_rows(lite_uri), A)) == sorted(a_ids[1:])
    await _call(mode, a, "delete", [])
    await _call(mode, a, "delete", filter={"tenant": B})  # a filter cannot widen the scope
    assert _of(_rows(lite_uri), B) == b_rows
    assert len(_of(_rows(lite_uri), A)) == 3
    await _call(mode, a, "delete")  # LangChain's "delete all": the tenant's all
    rows = _rows(lite_uri)
    assert rows == b_rows
    # A call's tenant replaces the store's (README): this one deletes B's "K" only.
    await _call(mode, a, "delete", ["K", "k"], tenant=B)
    assert sorted(r.id for r in _rows(lite_uri)) == ["b0", "k\\", "k_"]
    assert [d.id for d in await _call(mode, b, "get_by_ids", ["K", "k_"])] == ["k_"]
    assert _rows(lite_uri, OTHER) == bystander


@MODES
async def test_tenant_on_some_calls_only_deletes_exactly_the_named_tenants_rows(
    lite_uri: str, mode: str
) -> None:
    admin = _lc_tenanted(lite_uri)
    await _call(
        mode,
        admin,
        "add_texts",
        ["a one", "a two"],
        [{"k": 1}, {"k": 2}],
        ids=["a1", "a2"],
        tenant=A,
    )
    await _call(
        mode,
        admin,
        "add_texts",
        ["b one", "b two"],
        [{"k": 1}, {"k": 2}],
        ids=["b1", "b2"],
        tenant=B,
    )
    await _call(mode, admin, "delete", ["a1", "b1"], tenant=A)
    assert sorted(r.id for r in _rows(lite_uri)) == ["a2", "b1", "b2"]
    await _call(mode, admin, "delete", filter={"k": 1}, tenant=A)  # A has no k == 1 left
    await _call(mode, admin, "delete", filter={"k": 2}, tenant=B)
    assert sorted(r.id for r in _rows(lite_uri)) == ["a2", "b1"]
    # Strict mode: a call without a tenant is refused before any delete.
    strict = _lc_tenanted(lite_uri, tenant_mode="strict")
    before = _rows(lite_uri)
    for args, kwargs in (((["a2", "b1"],), {}), ((), {}), ((), {"filter": {"k": 1}})):
        with pytest.raises(TenantRequiredError, match="tenant="):
            await _call(mode, strict, "delete", *args, **kwargs)
    assert _rows(lite_uri) == before
    # A raw expression next to a tenant: confined, or refused when it could escape.
    with pytest.raises(RawFilterRefusedError):
        await _call(mode, admin, "delete", filter='id == "b1") or (id != ""', tenant=A)
    assert _rows(lite_uri) == before
    await _call(mode, admin, "delete", filter='id != "" or true', tenant=B)
    assert sorted((r.id, r.tenant) for r in _rows(lite_uri)) == [("a2", A)]


# DEFECT (fixed): a tenant with a lone surrogate leaks a bare UnicodeEncodeError from delete/clear
@MODES
async def test_a_tenant_utf8_cannot_encode_is_refused_typed_with_nothing_deleted(
    lite_uri: str, mode: str
) -> None:
    # A tenant taken from a file name (os.fsdecode of non-UTF-8 bytes: a lone surrogate).
    # Ids and filter values holding one are refused with typed errors (README); a tenant
    # holding one must be too, naming the field, before anything is deleted.
    bad = "tenant-\udcff"
    lc, li = _lc_tenanted(lite_uri), _li_tenanted(lite_uri)
    await _call(mode, lc, "add_texts", ["a row"], ids=["x"], tenant=A)
    await _call(mode, li, "add", [_node("n", REF, "a node")], tenant=B)
    before = _rows(lite_uri)
    calls: list[tuple[Any, str, tuple[Any, ...], dict[str, Any]]] = [
        (lc, "delete", (["x"],), {"tenant": bad}),
        (lc, "delete", (), {"tenant": bad}),
        (li, "delete", (REF,), {"tenant": bad}),
        (li, "delete_nodes", (), {"node_ids": ["n"], "tenant": bad}),
    ]
    for store, name, args, kwargs in calls:
        with pytest.raises(MilvusPluginsError, match="tenant"):
            await _call(mode, store, name, *args, **kwargs)
        assert _rows(lite_uri) == before, name
    with pytest.raises(MilvusPluginsError, match="tenant"):
        _li_tenanted(lite_uri, bad)


# DEFECT (fixed): a row with metadata tenant '' was accepted; no tenant scope could delete it
@MODES
async def test_rows_written_for_a_tenant_can_be_deleted_by_that_tenants_scope(
    lite_uri: str, mode: str
) -> None:
    # An admin store files loader output by its metadata; one loader left the tenant
    # blank. Acceptable: the write refused (typed, nothing written), or the rows reachable
    # by that tenant's scoped delete. Not: rows no tenant-scoped call (and so no strict
    # store) can ever delete.
    admin = _lc_tenanted(lite_uri)
    docs = [
        LCDocument(id="d1", page_content="filed", metadata={"tenant": T1}),
        LCDocument(id="d2", page_content="unfiled", metadata={"tenant": ""}),
    ]
    try:
        await _call(mode, admin, "add_documents", docs)
    except InvalidInputError:
        assert _rows(lite_uri) == frozenset()
        return
    assert sorted((r.id, r.tenant) for r in _rows(lite_uri)) == [("d1", T1), ("d2", "")]
    await _call(mode, admin, "delete", ["d2"], tenant="")
    assert sorted((r.id, r.tenant) for r in _rows(lite_uri)) == [("d1", T1)]


@RUNNERS
async def test_index_on_a_strict_store_with_tenant_only_in_upsert_kwargs_deletes_nothing(
    lite_uri: str, runner: Runner
) -> None:
    # index() passes upsert_kwargs to add_documents but nothing to delete(): on a strict
    # store without its own tenant the cleanup is refused (typed), and deletes nothing.
    strict = _lc_tenanted(lite_uri, tenant_mode="strict")
    other = _lc_tenanted(lite_uri, B)
    await _run_index(LC_V1, _manager("b"), other, cleanup="full", source_id_key="source")
    manager = _manager("a")
    kw: dict[str, Any] = {
        "cleanup": "incremental",
        "source_id_key": "source",
        "key_encoder": _tenant_key(A),
        "upsert_kwargs": {"tenant": A},
    }
    await runner(LC_V1, manager, strict, **kw)
    before = _rows(lite_uri)
    with pytest.raises(TenantRequiredError):
        await runner(LC_V2, manager, strict, **kw)
    after = _rows(lite_uri)
    assert before <= after  # written before the cleanup, nothing deleted
    assert _of(after, B) == _of(before, B)
    # The fix: a store bound to the tenant; the re-run converges to the reference.
    bound = _lc_tenanted(lite_uri, A)
    await runner(LC_V2, manager, bound, **{**kw, "upsert_kwargs": None})
    ref, ref_manager = InMemoryVectorStore(_lc_embedding()), _manager("a")
    kw_ref = {**kw, "upsert_kwargs": None}
    await runner(LC_V1, ref_manager, ref, **kw_ref)
    await runner(LC_V2, ref_manager, ref, **kw_ref)
    assert _content(_of(_rows(lite_uri), A)) == _ref_content(ref)
    assert _of(_rows(lite_uri), B) == _of(before, B)


@pytest.mark.parametrize("cleanup", ["incremental", "scoped_full"])
@pytest.mark.parametrize("batch_size", [1, 10_000])
async def test_source_id_missing_mid_run_leaves_what_in_memory_store_leaves(
    lite_uri: str, cleanup: str, batch_size: int
) -> None:
    ours, other = _lc_tenanted(lite_uri, A), _lc_tenanted(lite_uri, B)
    await _run_index(LC_V1, _manager("b"), other, cleanup="full", source_id_key="source")
    b_rows = _of(_rows(lite_uri), B)
    ref = InMemoryVectorStore(_lc_embedding())
    om, rm = _manager("a"), _manager("a")
    kw: dict[str, Any] = {
        "cleanup": cleanup,
        "source_id_key": lambda d: d.metadata.get("source"),
        "batch_size": batch_size,
        "key_encoder": _tenant_key(A),
    }
    await _run_index(LC_V1, om, ours, **kw)
    await _run_index(LC_V1, rm, ref, **kw)
    broken = [*LC_V2[:2], LCDocument(page_content="no source here"), *LC_V2[2:]]
    errors = []
    for vs, manager in ((ours, om), (ref, rm)):
        with pytest.raises(ValueError, match="Source IDs are required") as info:
            await _run_index(broken, manager, vs, **kw)
        errors.append(type(info.value))
    assert errors[0] is errors[1]
    assert _content(_of(_rows(lite_uri), A)) == _ref_content(ref)
    assert _of(_rows(lite_uri), B) == b_rows
    assert sorted(om.list_keys()) == sorted(rm.list_keys())


@RUNNERS
async def test_two_namespaces_on_one_store_end_like_in_memory_store(
    lite_uri: str, runner: Runner
) -> None:
    # Two record managers index overlapping documents (same content: same id) into one
    # plain store; each full cleanup deletes its namespace's keys, the shared one too,
    # exactly as with LangChain's InMemoryVectorStore.
    ours = LCMilvus(_lc_embedding(), uri=lite_uri, collection_name=COLL)
    ref = InMemoryVectorStore(_lc_embedding())
    managers = {kind: (_manager("n1"), _manager("n2")) for kind in ("ours", "ref")}
    kw: dict[str, Any] = {"cleanup": "full", "source_id_key": "source", "key_encoder": "sha256"}
    flow = [(0, LC_V1), (1, LC_V1[2:] + LC_V2), (0, LC_V2), (1, LC_V3), (0, LC_V3)]
    for step, (which, docs) in enumerate(flow):
        got = await runner(docs, managers["ours"][which], ours, **kw)
        expected = await runner(docs, managers["ref"][which], ref, **kw)
        assert got == expected, f"step {step}"
        assert _content(_rows(lite_uri)) == _ref_content(ref), f"step {step}"


@RUNNERS
async def test_two_tenant_stores_sharing_one_namespace_delete_only_their_own(
    lite_uri: str, runner: Runner
) -> None:
    # A careless user shares one record manager between two tenants' stores. B's full
    # cleanup then asks B's store to delete A's ids: nothing of A's may go (as two
    # separate InMemoryVectorStores: each deletes only what it holds).
    ours = {A: _lc_tenanted(lite_uri, A), B: _lc_tenanted(lite_uri, B)}
    refs = {A: InMemoryVectorStore(_lc_embedding()), B: InMemoryVectorStore(_lc_embedding())}
    ours_manager, ref_manager = _manager("shared"), _manager("shared")
    kw: dict[str, Any] = {"cleanup": "full", "source_id_key": "source"}
    for tenant, docs in ((A, LC_V1), (B, LC_V2), (A, LC_V3)):
        key = _tenant_key(tenant)
        got = await runner(docs, ours_manager, ours[tenant], key_encoder=key, **kw)
        expected = await runner(docs, ref_manager, refs[tenant], key_encoder=key, **kw)
        assert got == expected
        rows = _rows(lite_uri)
        for t in (A, B):
            assert _content(_of(rows, t)) == _ref_content(refs[t])


@RUNNERS
async def test_index_into_named_partitions_cleans_only_its_partition(
    lite_uri: str, runner: Runner
) -> None:
    store = _lc_partitioned(lite_uri, "p1", "p2")
    store.add_texts(["default row"], ids=["d0"])
    refs = {p: InMemoryVectorStore(_lc_embedding()) for p in ("p1", "p2")}
    managers = {p: (_manager(p), _manager(p)) for p in ("p1", "p2")}

    def kw(p: str, key: Any = "sha256") -> dict[str, Any]:
        return {
            "cleanup": "full",
            "source_id_key": "source",
            "key_encoder": key,
            "upsert_kwargs": {"partition_name": p},
        }

    def ref_kw(p: str, key: Any) -> dict[str, Any]:
        return {**kw(p, key), "upsert_kwargs": None}

    await runner(LC_V1, managers["p1"][0], store, **kw("p1"))
    await runner(LC_V1, managers["p1"][1], refs["p1"], **ref_kw("p1", "sha256"))
    before = _rows(lite_uri)
    # The same documents into p2 with content ids: they are p1's ids.
    with pytest.raises(PartitionMismatchError, match="partition_name"):
        await runner(LC_V1, managers["p2"][0], store, **kw("p2"))
    assert _rows(lite_uri) == before
    assert managers["p2"][0].list_keys() == []

    def p2_key(doc: LCDocument) -> str:
        return "p2:" + hashlib.sha256(doc.page_content.encode()).hexdigest()

    for docs in (LC_V1, LC_V2):
        await runner(docs, managers["p2"][0], store, **kw("p2", p2_key))
        await runner(docs, managers["p2"][1], refs["p2"], **ref_kw("p2", p2_key))
    for docs in (LC_V2, LC_V3):
        await runner(docs, managers["p1"][0], store, **kw("p1"))
        await runner(docs, managers["p1"][1], refs["p1"], **ref_kw("p1", "sha256"))
        rows = _rows(lite_uri)
        for p in ("p1", "p2"):
            assert _content(_in(rows, p)) == _ref_content(refs[p])
        assert [r.id for r in _in(rows, "_default")] == ["d0"]


@MODES
async def test_delete_with_partition_names_stays_in_those_partitions(
    lite_uri: str, mode: str
) -> None:
    store = _lc_partitioned(lite_uri, "p1", "p2")
    await _call(mode, store, "add_texts", ["d"], ids=["d0"])
    await _call(
        mode,
        store,
        "add_texts",
        ["one", "two"],
        [{"k": 1}, {"k": 2}],
        ids=["x1", "x2"],
        partition_name="p1",
    )
    await _call(
        mode,
        store,
        "add_texts",
        ["one", "two"],
        [{"k": 1}, {"k": 2}],
        ids=["y1", "y2"],
        partition_name="p2",
    )
    await _call(mode, store, "delete", ["x1", "y1", "d0"], partition_names=["p1"])
    assert sorted((r.partition, r.id) for r in _rows(lite_uri)) == [
        ("_default", "d0"),
        ("p1", "x2"),
        ("p2", "y1"),
        ("p2", "y2"),
    ]
    await _call(mode, store, "delete", filter={"k": 2}, partition_names=["p2"])
    await _call(mode, store, "delete", partition_names=["p1"])  # "delete all" of p1
    assert sorted((r.partition, r.id) for r in _rows(lite_uri)) == [
        ("_default", "d0"),
        ("p2", "y1"),
    ]
    with pytest.raises(ConfigError, match="partition_names"):
        await _call(mode, store, "delete", partition_names=[])
    assert len(_rows(lite_uri)) == 2


@MODES
async def test_a_key_another_tool_wrote_twice_is_refused_typed_and_unchanged(
    lite_uri: str, mode: str
) -> None:
    # Another client copies a row of p1 into p2 (other metadata): a scoped or filtered
    # delete selecting one copy must not take the other; refused, nothing changed.
    lc = _lc_partitioned(lite_uri, "p1", "p2")
    p1 = LIMilvus(uri=lite_uri, collection_name=COLL, milvus_partition_names=["p1"])
    p1.add([_node("n0", REF, "shared node", k=1), _node("n1", REF, "own node", k=1)])
    client = MilvusClient(uri=lite_uri)
    try:
        (row,) = client.query(COLL, filter='id == "n0"', output_fields=["*"])
        row["metadata"] = {**row["metadata"], "k": 2}
        if "k" in row:
            row["k"] = 2.0
        client.insert(COLL, [row], partition_name="p2")
    finally:
        client.close()
    before = _rows(lite_uri)
    assert sorted((r.partition, r.id) for r in before) == [("p1", "n0"), ("p1", "n1"), ("p2", "n0")]
    p2 = LIMilvus(uri=lite_uri, collection_name=COLL, milvus_partition_names=["p2"])
    refused = (SharedIdError, UnsupportedByServerError)
    calls: list[tuple[Any, str, tuple[Any, ...], dict[str, Any]]] = [
        (p1, "delete", (REF,), {}),
        (p1, "clear", (), {}),
        (p2, "delete_nodes", (), {"node_ids": ["n0"]}),
        (lc, "delete", (["n0"],), {"partition_names": ["p1"]}),
        (lc, "delete", (["n0"],), {"filter": {"k": 1}}),
    ]
    for store, name, args, kwargs in calls:
        with pytest.raises(refused):
            await _call(mode, store, name, *args, **kwargs)
        assert _rows(lite_uri) == before, name
    # Ids alone remove every row holding them (README), in both partitions.
    await _call(mode, lc, "delete", ["n0"])
    assert sorted((r.partition, r.id) for r in _rows(lite_uri)) == [("p1", "n1")]


# =====================================================================================
# LlamaIndex: IngestionPipeline, VectorStoreIndex and the store's deletes under scopes
# =====================================================================================


def _li_docs(version: dict[str, str]) -> list[Document]:
    return [Document(id_=k, text=t, metadata={"src": k}) for k, t in version.items()]


LI_V1 = {REF: "alpha one", "plain": "beta one", "gone": "gamma one"}
LI_V2 = {REF: "alpha one edited", "plain": "beta one"}
LI_V3: dict[str, str] = {}


def _splitter(prefix: str) -> SentenceSplitter:
    return SentenceSplitter(id_func=lambda i, doc: f"{prefix}:{doc.id_}#{i}")


def _pipeline(vs: Any, docstore: Any, strategy: DocstoreStrategy, prefix: str) -> Any:
    return IngestionPipeline(
        transformations=[_splitter(prefix), HashEmbedding()],
        docstore=docstore,
        vector_store=vs,
        docstore_strategy=strategy,
    )


def _simple_state(vs: SimpleVectorStore) -> list[tuple[str, str]]:
    return sorted((ref, node_id) for node_id, ref in vs.data.text_id_to_ref_doc_id.items())


def _state(rows: frozenset[Row]) -> list[tuple[str, str]]:
    return sorted((r.doc_id, r.id) for r in rows)


@pytest.mark.parametrize("strategy", list(DocstoreStrategy), ids=lambda s: s.value)
@pytest.mark.parametrize("use_async", [False, True], ids=["run", "arun"])
async def test_ingestion_pipeline_in_one_tenant_matches_simple_store_and_spares_the_other(
    lite_uri: str, strategy: DocstoreStrategy, use_async: bool
) -> None:
    bystander = _bystander(lite_uri)
    ours_a, ours_b = _li_tenanted(lite_uri, A), _li_tenanted(lite_uri, B)
    _pipeline(ours_b, SimpleDocumentStore(), strategy, B).run(documents=_li_docs(LI_V1))
    b_rows = _of(_rows(lite_uri), B)
    assert {r.doc_id for r in b_rows} == set(LI_V1)
    ref = SimpleVectorStore()
    stores = {"ours": (ours_a, SimpleDocumentStore()), "ref": (ref, SimpleDocumentStore())}
    for step, version in enumerate((LI_V1, LI_V1, LI_V2, LI_V3)):
        counts = {}
        for kind, (vs, docstore) in stores.items():
            pipeline = _pipeline(vs, docstore, strategy, A)
            docs = _li_docs(version)
            nodes = (
                await pipeline.arun(documents=docs) if use_async else pipeline.run(documents=docs)
            )
            counts[kind] = (len(nodes), sorted(docstore.docs))
        assert counts["ours"] == counts["ref"], f"step {step}"
        rows = _rows(lite_uri)
        assert _state(_of(rows, A)) == _simple_state(ref), f"step {step}"
        assert _of(rows, B) == b_rows, f"step {step}: tenant B's nodes changed"
    assert _rows(lite_uri, OTHER) == bystander


def _index_over(vs: Any, prefix: str, docs: list[Document]) -> VectorStoreIndex:
    return VectorStoreIndex.from_documents(
        docs,
        storage_context=StorageContext.from_defaults(vector_store=vs),
        embed_model=HashEmbedding(),
        transformations=[_splitter(prefix)],
        store_nodes_override=True,
    )


@MODES
async def test_index_delete_ref_doc_and_refresh_in_one_tenant_spare_the_other(
    lite_uri: str, mode: str
) -> None:
    ours_b = _index_over(_li_tenanted(lite_uri, B), B, _li_docs(LI_V1))
    b_rows = _of(_rows(lite_uri), B)
    ref_vs = SimpleVectorStore()
    indexes = {
        "ours": _index_over(_li_tenanted(lite_uri, A), A, _li_docs(LI_V1)),
        "ref": _index_over(ref_vs, A, _li_docs(LI_V1)),
    }
    changed = _li_docs({REF: "alpha one edited", "plain": "beta one", "new": "delta one"})
    outcomes: dict[str, list[Any]] = {}
    for kind, idx in indexes.items():
        steps: list[Any] = []
        await _call(mode, idx, "delete_ref_doc", REF, delete_from_docstore=True)
        await _call(mode, idx, "delete_ref_doc", "never-indexed", delete_from_docstore=True)
        steps.append(await _call(mode, idx, "refresh_ref_docs", changed))
        await _call(mode, idx, "delete_ref_doc", "gone", delete_from_docstore=True)
        await _call(mode, idx, "insert", Document(id_="gone", text="gamma again"))
        outcomes[kind] = steps
        if kind == "ours":
            assert _of(_rows(lite_uri), B) == b_rows
    assert outcomes["ours"] == outcomes["ref"]
    assert _state(_of(_rows(lite_uri), A)) == _simple_state(ref_vs)
    assert _of(_rows(lite_uri), B) == b_rows
    assert ours_b.vector_store.get_nodes()  # B's index still reads its nodes


@MODES
async def test_admin_index_deletes_by_ref_doc_only_in_the_named_tenant(
    lite_uri: str, mode: str
) -> None:
    strict = _li_tenanted(lite_uri, tenant_mode="strict")
    idx = VectorStoreIndex(
        nodes=[],
        storage_context=StorageContext.from_defaults(vector_store=strict),
        embed_model=HashEmbedding(),
        transformations=[SentenceSplitter()],  # random node ids: no clash across tenants
    )
    for tenant, text in ((A, "alpha for a"), (B, "alpha for b"), (T1, "alpha for t1")):
        await _call(mode, idx, "insert", Document(id_=REF, text=text), tenant=tenant)
    before = _rows(lite_uri)
    assert sorted(r.tenant for r in before if r.doc_id == REF) == sorted([A, B, T1])
    with pytest.raises(TenantRequiredError):  # forgot the tenant on the delete
        await _call(mode, idx, "delete_ref_doc", REF)
    assert _rows(lite_uri) == before
    await _call(mode, idx, "delete_ref_doc", REF, tenant=B)
    assert _rows(lite_uri) == before - _of(before, B)
    await _call(mode, strict, "delete_nodes", filters=_where("tenant", A), tenant=T1)
    assert _rows(lite_uri) == before - _of(before, B)  # tenant T1 has no A-rows
    with pytest.raises(TenantRequiredError):
        await _call(mode, strict, "clear")
    assert _rows(lite_uri) == before - _of(before, B)
    # refresh_ref_docs passes the tenant down only through its nested update_kwargs.
    scoped = {"delete_kwargs": {"tenant": A}, "insert_kwargs": {"tenant": A}}
    changed = Document(id_=REF, text="alpha for a, edited")
    assert await _call(mode, idx, "refresh_ref_docs", [changed], update_kwargs=scoped) == [True]
    rows = _rows(lite_uri)
    assert sorted((r.text, r.tenant) for r in rows) == [
        ("alpha for a, edited", A),
        ("alpha for t1", T1),
    ]
    assert _of(rows, T1) == _of(before, T1)


def _where(key: str, value: Any, op: FilterOperator = FilterOperator.EQ) -> MetadataFilters:
    return MetadataFilters(filters=[MetadataFilter(key=key, value=value, operator=op)])


def _li_nodes(prefix: str) -> list[TextNode]:
    return [
        _node(f"{prefix}0", REF, "alpha zero", k=1, flag=True, tag='q"\\'),
        _node(f"{prefix}1", REF, "alpha one", k=2, flag=1, tag="é"),
        _node(f"{prefix}2", "other", "beta two", k=1, flag=False),
        _node(f"{prefix}3", None, "orphan three", k=3, flag=0, tag='q"\\'),
    ]


LI_DELETE_FILTERS = [
    ("k_eq_1", _where("k", 1)),
    ("flag_eq_1", _where("flag", 1)),
    ("tag_quotes", _where("tag", 'q"\\')),
    ("tag_missing", _where("tag", None, FilterOperator.IS_EMPTY)),
    ("ref_doc_id", _where("ref_doc_id", REF)),
    (
        "not_in",
        MetadataFilters(
            filters=[MetadataFilter(key="k", value=[2, 3], operator=FilterOperator.IN)],
            condition=FilterCondition.NOT,
        ),
    ),
]


@pytest.mark.parametrize(
    "where", [c[1] for c in LI_DELETE_FILTERS], ids=[c[0] for c in LI_DELETE_FILTERS]
)
@pytest.mark.parametrize("scope", ["tenant", "partition"])
@MODES
async def test_delete_nodes_by_filter_in_a_scope_matches_simple_vector_store(
    lite_uri: str, where: MetadataFilters, scope: str, mode: str
) -> None:
    if scope == "tenant":
        mine, theirs = _li_tenanted(lite_uri, A), _li_tenanted(lite_uri, B)
    else:
        _lc_partitioned(lite_uri, "p1", "p2").close()
        mine = LIMilvus(uri=lite_uri, collection_name=COLL, milvus_partition_names=["p1"])
        theirs = LIMilvus(uri=lite_uri, collection_name=COLL, milvus_partition_names=["p2"])
    mine.add(_li_nodes("m"))
    theirs.add(_li_nodes("t"))  # the same metadata: every filter matches some of theirs
    before = _rows(lite_uri)
    ref = SimpleVectorStore()
    ref.add(_li_nodes("m"))
    ref.delete_nodes(filters=where)
    await _call(mode, mine, "delete_nodes", filters=where)
    rows = _rows(lite_uri)
    got = await _call(mode, mine, "get_nodes")
    assert sorted(n.node_id for n in got) == sorted(ref.data.embedding_dict)
    assert {r for r in rows if r.id.startswith("t")} == {r for r in before if r.id.startswith("t")}


@MODES
async def test_partition_stores_delete_delete_nodes_and_clear_stay_in_their_partition(
    lite_uri: str, mode: str
) -> None:
    bystander = _bystander(lite_uri)
    lc = _lc_partitioned(lite_uri, "p1", "p2")
    # LangChain rows in _default whose metadata names the same ref_doc_id.
    lc.add_texts(["lc row"], [{"ref_doc_id": REF, "doc_id": REF}], ids=["lc0"])
    p1 = LIMilvus(uri=lite_uri, collection_name=COLL, milvus_partition_names=["p1"])
    p2 = LIMilvus(uri=lite_uri, collection_name=COLL, milvus_partition_names=["p2"])
    await _call(mode, p1, "add", _li_nodes("x"))
    await _call(mode, p2, "add", _li_nodes("y"))
    with pytest.raises(PartitionMismatchError):  # p2's ids are p2's
        await _call(mode, p1, "add", [_node("y0", REF, "stolen")])
    initial = _rows(lite_uri)
    untouched = _in(initial, "_default") | _in(initial, "p2")

    def p1_ids() -> list[str]:
        return sorted(r.id for r in _in(_rows(lite_uri), "p1"))

    await _call(mode, p1, "delete", REF)
    assert p1_ids() == ["x2", "x3"]
    await _call(mode, p1, "delete_nodes", node_ids=["y2", "y3", "lc0", "x2"])
    assert p1_ids() == ["x3"]
    await _call(mode, p1, "delete_nodes", node_ids=[])
    with pytest.raises(InvalidInputError):
        await _call(mode, p1, "delete", "")
    assert p1_ids() == ["x3"]
    await _call(mode, p1, "clear")
    rows = _rows(lite_uri)
    assert rows == untouched
    # A store reading both partitions deletes the ref_doc_id in both, never in _default.
    both = LIMilvus(uri=lite_uri, collection_name=COLL, milvus_partition_names=["p1", "p2"])
    await _call(mode, both, "delete", REF)
    assert sorted(r.id for r in _rows(lite_uri)) == ["lc0", "y2", "y3"]
    await _call(mode, both, "clear")
    assert sorted(r.id for r in _rows(lite_uri)) == ["lc0"]
    assert _rows(lite_uri, OTHER) == bystander


@MODES
async def test_tenant_stores_delete_delete_nodes_and_clear_stay_in_their_tenant(
    lite_uri: str, mode: str
) -> None:
    a, b = _li_tenanted(lite_uri, A), _li_tenanted(lite_uri, B)
    lc_a = _lc_tenanted(lite_uri, A)
    await _call(mode, a, "add", _li_nodes("a"))
    await _call(mode, b, "add", _li_nodes("b"))
    await _call(mode, lc_a, "add_texts", ["lc row"], [{"ref_doc_id": REF}], ids=["lc0"])
    with pytest.raises(TenantMismatchError):  # B's id, or a node naming B
        await _call(mode, a, "add", [_node("b0", REF, "stolen")])
    with pytest.raises(TenantMismatchError):
        await _call(mode, a, "add", [_node("a9", REF, "stamped", tenant=B)])
    b_rows = _of(_rows(lite_uri), B)

    def a_ids() -> list[str]:
        return sorted(r.id for r in _of(_rows(lite_uri), A))

    await _call(mode, a, "delete", REF)
    assert a_ids() == ["a2", "a3", "lc0"]
    await _call(mode, a, "delete_nodes", node_ids=["b2", "b3", "a2"])
    assert a_ids() == ["a3", "lc0"]
    await _call(mode, a, "delete_nodes", filters=_where("tenant", B))
    assert _of(_rows(lite_uri), B) == b_rows
    await _call(mode, a, "clear")  # the tenant's nodes (and its LangChain rows) only
    assert _rows(lite_uri) == b_rows
    assert await _call(mode, b, "get_nodes", node_ids=["b0", "a3"]) != []


MATCH_ALL_FILTERS = [
    ("nin_empty", _where("k", [], FilterOperator.NIN)),
    (
        "not_in_empty",
        MetadataFilters(
            filters=[MetadataFilter(key="k", value=[], operator=FilterOperator.IN)],
            condition=FilterCondition.NOT,
        ),
    ),
    ("nested_empty", MetadataFilters(filters=[MetadataFilters(filters=[])])),
]


@pytest.mark.parametrize(
    "where", [c[1] for c in MATCH_ALL_FILTERS], ids=[c[0] for c in MATCH_ALL_FILTERS]
)
@MODES
async def test_delete_nodes_with_a_filter_matching_everything_is_refused_unchanged(
    lite_uri: str, where: MetadataFilters, mode: str
) -> None:
    # SimpleVectorStore deletes every node here; this store refuses (README: only
    # clear() empties a scope), typed, with nothing deleted in any tenant.
    a, b = _li_tenanted(lite_uri, A), _li_tenanted(lite_uri, B)
    a.add(_li_nodes("a"))
    b.add(_li_nodes("b"))
    before = _rows(lite_uri)
    with pytest.raises(InvalidInputError, match="clear"):
        await _call(mode, a, "delete_nodes", filters=where)
    assert _rows(lite_uri) == before


@pytest.mark.parametrize("use_async", [False, True], ids=["run", "arun"])
async def test_pipeline_node_id_freed_in_one_partition_and_reused_in_another_is_clean(
    lite_uri: str, use_async: bool
) -> None:
    # The named-partition twin of the flow below: here the store flushes its delete, and
    # the id moves cleanly from p1 to p2.
    _lc_partitioned(lite_uri, "p1", "p2").close()
    p1 = LIMilvus(uri=lite_uri, collection_name=COLL, milvus_partition_names=["p1"])
    p2 = LIMilvus(uri=lite_uri, collection_name=COLL, milvus_partition_names=["p2"])
    d1, d2 = SimpleDocumentStore(), SimpleDocumentStore()

    async def run(vs: Any, docstore: Any, version: dict[str, str]) -> None:
        pipeline = _pipeline(vs, docstore, DocstoreStrategy.UPSERTS_AND_DELETE, "")
        if use_async:
            await pipeline.arun(documents=_li_docs(version))
        else:
            pipeline.run(documents=_li_docs(version))

    await run(p1, d1, {"pub": "public text", "own": "own text"})
    await run(p1, d1, {"own": "own text"})
    await run(p2, d2, {"pub": "public text"})
    await run(p2, d2, {"pub": "public text, edited"})
    assert sorted((r.partition, r.id, r.text) for r in _rows(lite_uri)) == [
        ("p1", ":own#0", "own text"),
        ("p2", ":pub#0", "public text, edited"),
    ]
    await run(p1, d1, {})
    await run(p2, d2, {})
    assert _rows(lite_uri) == frozenset()


# DEFECT (fixed): LlamaIndex twin: unflushed tenant delete, node id reused -> SharedIdError
async def test_pipeline_node_id_freed_by_one_tenant_and_reused_by_another_can_be_updated(
    lite_uri: str,
) -> None:
    # LlamaIndex async twin of the LangChain flow above: node ids derived from the
    # document id (the README's id_func) are freed by t1's UPSERTS_AND_DELETE run, then
    # t2 ingests the same document; t2 must still be able to update it.
    t1, t2 = _li_tenanted(lite_uri, T1), _li_tenanted(lite_uri, T2)
    d1, d2 = SimpleDocumentStore(), SimpleDocumentStore()
    strategy = DocstoreStrategy.UPSERTS_AND_DELETE

    def pipe(vs: Any, docstore: Any) -> IngestionPipeline:
        return IngestionPipeline(
            transformations=[
                SentenceSplitter(id_func=lambda i, doc: f"{doc.id_}#{i}"),
                HashEmbedding(),
            ],
            docstore=docstore,
            vector_store=vs,
            docstore_strategy=strategy,
        )

    await pipe(t1, d1).arun(documents=_li_docs({"pub": "public text", "own": "own text"}))
    await pipe(t1, d1).arun(documents=_li_docs({"own": "own text"}))
    await pipe(t2, d2).arun(documents=_li_docs({"pub": "public text"}))
    await pipe(t2, d2).arun(documents=_li_docs({"pub": "public text, edited"}))
    rows = _rows(lite_uri)
    assert sorted((r.id, r.text, r.tenant) for r in rows) == [
        ("own#0", "own text", T1),
        ("pub#0", "public text, edited", T2),
    ]
    await t1.aclear()
    assert sorted(r.id for r in _rows(lite_uri)) == ["pub#0"]


def test_one_store_per_collection_clear_and_delete_touch_only_their_collection(
    tmp_path: Path,
) -> None:
    uri = str(tmp_path / "m.db")
    bystander = _bystander(uri)
    lc = LCMilvus(_lc_embedding(), uri=uri, collection_name=COLL)
    lc.add_texts(["x"], ids=["x"])  # an id the bystander collection also holds
    li = LIMilvus(uri=uri, collection_name="li_only")
    li.add([_node("x", REF, "node x"), _node(REF, REF, "node ref")])
    lc.delete(["x", "a0", REF])
    lc.delete()
    li.delete(REF)
    li.clear()  # an unscoped LlamaIndex store drops its own collection (documented)
    assert _rows(uri) == frozenset()
    assert _rows(uri, "li_only") == frozenset()
    assert _rows(uri, OTHER) == bystander
