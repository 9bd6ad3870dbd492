"""Writes that change their own records in place never change what the caller holds.

The LangChain adapter hands the caller's metadata dicts on as they are, and both
adapters wrap the records they build in ``OwnedRecords``, which the core write changes in
place (vectors, converted metadata, plain containers). These tests attack that as a
careless or hostile user would: shared dicts, Mapping subclasses, numpy values, ``None``
values, declared columns, tenants, key order, failures part-way, framework flows, and
the same inputs written twice or into two stores. Each asserts that (a) the caller's
objects are left exactly as given, (b) what is read back equals what was written, and
(c) a second write behaves like the first.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
import pytest
from langchain_core.documents import Document as LCDocument
from langchain_core.indexing import InMemoryRecordManager, aindex, index
from llama_index.core import Document as LIDocument
from llama_index.core import StorageContext, VectorStoreIndex
from llama_index.core.ingestion import DocstoreStrategy, IngestionPipeline
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.storage.docstore import SimpleDocumentStore
from tests.support.faces import VocabEmbedding, VocabEmbeddings, embed

from milvus_plugins.core import (
    CollectionSpec,
    ConnectionConfig,
    InvalidInputError,
    MilvusPluginsError,
    MilvusStore,
    Record,
    TenantMismatchError,
)
from milvus_plugins.langchain import MilvusVectorStore as LCStore
from milvus_plugins.llama_index import MilvusVectorStore as LIStore
from milvus_plugins.llama_index import nodes as nodes_module

# ------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------


def snap(value: Any) -> Any:
    """A comparable picture of ``value``: types, key order and contents at every depth."""
    if isinstance(value, np.ndarray):
        return ("ndarray", str(value.dtype), value.tolist())
    if isinstance(value, np.generic):
        return (type(value).__name__, value.item())
    if isinstance(value, Mapping):
        return (type(value).__name__, [(k, snap(v)) for k, v in value.items()])
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [snap(v) for v in value])
    return (type(value).__name__, value)


def ids_of(value: Any) -> list[int]:
    """The ids of every container inside ``value`` (nested dicts and lists keep theirs)."""
    out = [id(value)]
    if isinstance(value, Mapping):
        for item in value.values():
            out.extend(ids_of(item))
    elif isinstance(value, (list, tuple)):
        for item in value:
            out.extend(ids_of(item))
    return out


def shared_state_intact() -> None:
    for name, state in nodes_module._SHARED_STATE.items():
        assert state == {"llama_index": {"class_name": name, "node": {}}}, name
        assert list(state) == ["llama_index"]
        assert list(state["llama_index"]) == ["class_name", "node"]


class Proxy(Mapping[str, Any]):
    """A read-only Mapping that is not a dict."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


class Tagged(dict):  # type: ignore[type-arg]
    """A dict subclass a caller might use."""


def lc_store(uri: str, name: str, *, tenant: bool, model: Any = "vocab", **kw: Any) -> LCStore:
    fields: dict[str, str] = {"year": "INT64"}
    if tenant:
        fields["tenant"] = "VARCHAR"
    return LCStore(
        VocabEmbeddings() if model == "vocab" else model,
        uri=uri,
        collection_name=name,
        metadata_fields=fields,
        partition_key="tenant" if tenant else None,
        sparse="bm25" if model is None else None,
        **kw,
    )


def hostile_metadatas() -> list[Any]:
    shared = {"src": "shared", "tags": ["x", "y"], "year": 2001}
    return [
        shared,
        shared,  # the same dict object for two texts
        {"b": 1, "year": 2002, "a": None, "n": np.int64(7), "f": np.float32(0.5)},
        {"arr": np.array([1, 2, 3]), "deep": {"l": [np.int64(1), {"z": None}]}},
        MappingProxyType({"mp": 1, "year": 2003}),
        Proxy({"px": "p", "tags": ["q"]}),
        OrderedDict([("z", 1), ("a", 2), ("year", 2004)]),
        Tagged(sub="s", year=2005),
        None,
        {"year": None, "k": "v"},
    ]


def expected_stored(meta: Any, tenant: str | None) -> dict[str, Any]:
    """What a read gives back for ``meta``: numpy as Python values, the tenant stamped."""

    def plain(value: Any) -> Any:
        if isinstance(value, np.ndarray):
            return value.tolist()
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, Mapping):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    out = plain(dict(meta or {}))
    if tenant is not None:
        out = {**out, "tenant": tenant}
    return out


TEXTS = [f"cat dog text {i}" for i in range(10)]


# ------------------------------------------------------------------------------------
# LangChain: add_texts / add_documents leave every caller object as given
# ------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["vocab", None], ids=["streamed", "sparse-only"])
@pytest.mark.parametrize("tenant", [None, "t1"])
@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_lc_add_texts_leaves_hostile_metadatas_as_given_and_stores_them(
    lite_uri: str, model: Any, tenant: str | None, use_async: bool
) -> None:
    store = lc_store(lite_uri, "lc1", tenant=tenant is not None, model=model)
    metas = hostile_metadatas()
    before = snap(metas)
    containers = [ids_of(m) for m in metas]
    ids = [f"i{i}" for i in range(len(TEXTS))]
    kwargs: dict[str, Any] = {"batch_size": 3}
    if tenant:
        kwargs["tenant"] = tenant
    for _ in range(2):  # the same inputs twice in a row
        if use_async:
            got = asyncio.run(store.aadd_texts(TEXTS, metas, ids=ids, **kwargs))
        else:
            got = store.add_texts(TEXTS, metas, ids=ids, **kwargs)
        assert got == ids
        assert snap(metas) == before
        assert [ids_of(m) for m in metas] == containers
        assert metas[0] is metas[1]
    docs = {d.id: d for d in store.get_by_ids(ids)}
    for i, meta in zip(ids, metas, strict=True):
        want = expected_stored(meta, tenant)
        assert docs[i].metadata == want, i
        assert list(docs[i].metadata) == list(want), i  # key order too
        assert docs[i].page_content == TEXTS[int(i[1:])]
    assert store.store.count() == len(TEXTS)


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_lc_add_documents_leaves_documents_unchanged(lite_uri: str, use_async: bool) -> None:
    store = lc_store(lite_uri, "lc2", tenant=True)
    shared = {"year": 1999, "tags": ["a"], "none": None}
    docs = [
        LCDocument(page_content="cat one", metadata=shared),
        LCDocument(page_content="dog two", metadata=shared, id="given"),
        LCDocument(page_content="fish three", metadata={"n": np.int64(5), "tenant": "t9"}),
        LCDocument(page_content="car four", metadata={"z": 1, "tenant": "t9", "a": 2}),
    ]
    before = [snap(d.model_dump()) for d in docs]
    meta_ids = [id(d.metadata) for d in docs]
    if use_async:
        ids = asyncio.run(store.aadd_documents(docs, tenant="t9"))
    else:
        ids = store.add_documents(docs, tenant="t9")
    assert [snap(d.model_dump()) for d in docs] == before
    assert [id(d.metadata) for d in docs] == meta_ids
    assert docs[0].id is None and docs[1].id == "given"
    assert ids[1] == "given"
    got = {d.id: d for d in store.get_by_ids(ids)}
    assert got[ids[0]].metadata == {**shared, "tenant": "t9"}
    assert list(got[ids[0]].metadata) == ["year", "tags", "none", "tenant"]
    assert got[ids[2]].metadata == {"n": 5, "tenant": "t9"}
    assert list(got[ids[3]].metadata) == ["z", "tenant", "a"]
    assert type(got[ids[2]].metadata["n"]) is int


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_lc_refused_records_change_nothing_and_write_nothing(
    lite_uri: str, use_async: bool
) -> None:
    store = lc_store(lite_uri, "lc3", tenant=True)
    shared = {"tags": ["x"], "year": 5}
    bad_cases = [
        # a record naming another tenant (refused by the stamp)
        ([shared, shared, {"tenant": "other"}], TenantMismatchError),
        # a date in the last record (refused by the checks)
        ([shared, shared, {"when": datetime.date(2020, 1, 1)}], InvalidInputError),
        # a declared INT64 given a string
        ([shared, {"year": "five"}, shared], InvalidInputError),
    ]
    for metas, error in bad_cases:
        before = snap(metas)
        texts = ["cat a", "cat b", "cat c"]
        with pytest.raises(error):
            if use_async:
                asyncio.run(store.aadd_texts(texts, metas, ids=["a", "b", "c"], tenant="t1"))
            else:
                store.add_texts(texts, metas, ids=["a", "b", "c"], tenant="t1")
        assert snap(metas) == before
        assert shared == {"tags": ["x"], "year": 5}
    assert not store.store.exists() or store.store.count() == 0
    # The same shared dict then writes as a fresh one would.
    store.add_texts(["cat a", "cat b"], [shared, shared], ids=["a", "b"], tenant="t1")
    got = {d.id: d.metadata for d in store.get_by_ids(["a", "b"])}
    assert got == {"a": {**shared, "tenant": "t1"}, "b": {**shared, "tenant": "t1"}}
    assert shared == {"tags": ["x"], "year": 5}


class FailingSecondBatch(VocabEmbeddings):
    """Raises on its second call (the second batch of a streamed write)."""

    def __init__(self) -> None:
        self.calls = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError("model down")
        return super().embed_documents(texts)

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_documents(texts)


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_lc_model_failing_on_second_batch_changes_no_caller_dict(
    lite_uri: str, use_async: bool
) -> None:
    model = FailingSecondBatch()
    store = lc_store(lite_uri, "lc4", tenant=True, model=model)
    shared = {"year": 7, "tags": ["t"], "n": np.int64(1)}
    metas = [shared] * 6 + [{"z": None, "a": 1}] * 2
    before = snap(metas)
    texts = [f"cat {i}" for i in range(8)]
    ids = [f"f{i}" for i in range(8)]
    with pytest.raises((MilvusPluginsError, RuntimeError)):
        if use_async:
            asyncio.run(store.aadd_texts(texts, metas, ids=ids, batch_size=3, tenant="t1"))
        else:
            store.add_texts(texts, metas, ids=ids, batch_size=3, tenant="t1")
    assert snap(metas) == before
    # Retried with the model working: every row as a first write would store it.
    store.add_texts(texts, metas, ids=ids, batch_size=3, tenant="t1")
    assert snap(metas) == before
    got = {d.id: d.metadata for d in store.get_by_ids(ids)}
    assert got == {i: expected_stored(m, "t1") for i, m in zip(ids, metas, strict=True)}
    assert store.store.count() == 8


def test_lc_collection_dropped_mid_write_changes_no_caller_dict(lite_uri: str) -> None:
    other = MilvusStore(CollectionSpec(name="lc5"), connection=ConnectionConfig(uri=lite_uri))

    class Dropping(VocabEmbeddings):
        calls = 0

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            Dropping.calls += 1
            if Dropping.calls == 2:
                other.drop()
            return super().embed_documents(texts)

    store = lc_store(lite_uri, "lc5", tenant=False, model=Dropping())
    shared = {"year": 3, "tags": ["a", "b"], "x": None}
    metas = [shared] * 9
    before = snap(metas)
    texts = [f"dog {i}" for i in range(9)]
    with contextlib.suppress(MilvusPluginsError):  # refused or recreated: either way
        store.add_texts(texts, metas, ids=[f"d{i}" for i in range(9)], batch_size=3)
    assert snap(metas) == before
    assert Dropping.calls >= 2


# ------------------------------------------------------------------------------------
# LangChain indexing API
# ------------------------------------------------------------------------------------


@pytest.mark.parametrize("use_async", [False, True], ids=["index", "aindex"])
def test_lc_indexing_api_leaves_documents_as_given(lite_uri: str, use_async: bool) -> None:
    store = lc_store(lite_uri, "lc6", tenant=False)
    shared = {"source": "a.md", "year": 2020, "tags": ["x"], "none": None}
    docs = [LCDocument(page_content=f"cat {i}", metadata=shared) for i in range(5)]
    docs += [LCDocument(page_content="dog", metadata={"source": "b.md", "z": 1, "year": 1})]
    before = [snap(d.model_dump()) for d in docs]
    manager = InMemoryRecordManager(namespace="lc6")
    manager.create_schema()

    def run() -> dict[str, int]:
        if use_async:
            return asyncio.run(
                aindex(docs, manager, store, cleanup="incremental", source_id_key="source")
            )
        return index(docs, manager, store, cleanup="incremental", source_id_key="source")

    first = run()
    assert first["num_added"] == 6
    assert [snap(d.model_dump()) for d in docs] == before
    second = run()
    assert second["num_skipped"] == 6 and second["num_added"] == 0
    assert [snap(d.model_dump()) for d in docs] == before
    rows = store.store.query(limit=50)
    assert sorted((r.text, tuple(r.metadata)) for r in rows) == sorted(
        (d.page_content, tuple(d.metadata)) for d in docs
    )
    for row in rows:
        want = next(d.metadata for d in docs if d.page_content == row.text)
        assert row.metadata == want


# ------------------------------------------------------------------------------------
# core: records in a plain list are copied
# ------------------------------------------------------------------------------------


class Text(str):
    """A str subclass (a caller's enum-like text)."""


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_core_upsert_of_plain_list_leaves_records_as_given(lite_uri: str, use_async: bool) -> None:
    from milvus_plugins.core import AsyncMilvusStore

    spec = CollectionSpec(
        name="core1",
        dim=11,
        metadata_fields={"year": "INT64", "tenant": "VARCHAR"},
        partition_key="tenant",
    )
    store = MilvusStore(spec, connection=ConnectionConfig(uri=lite_uri))
    shared = {"year": 1, "arr": np.array([1.5, 2.5]), "none": None}
    records = [
        Record(id="r0", text=Text("cat"), vector=np.asarray(embed("cat")), metadata=shared),
        Record(id="r1", text="dog", vector=embed("dog"), metadata=shared),
        Record(id="r2", text="fish", vector=embed("fish"), metadata=Tagged(year=2, k="v")),
        Record(id="r3", text="car", vector=embed("car"), metadata={"z": 1, "tenant": "t1"}),
    ]
    before = [snap(vars(r)) for r in records]
    vector_ids = [id(r.vector) for r in records]
    for _ in range(2):
        if use_async:
            astore = AsyncMilvusStore(store)
            asyncio.run(astore.upsert(records, tenant="t1"))
        else:
            store.upsert(records, tenant="t1")
        assert [snap(vars(r)) for r in records] == before
        assert [id(r.vector) for r in records] == vector_ids
        assert type(records[0].text) is Text and type(records[2].metadata) is Tagged
    got = {r.id: r for r in store.get(["r0", "r1", "r2", "r3"], include_vectors=True)}
    assert got["r0"].metadata == {"year": 1, "arr": [1.5, 2.5], "none": None, "tenant": "t1"}
    assert list(got["r0"].metadata) == ["year", "arr", "none", "tenant"]
    assert got["r2"].metadata == {"year": 2, "k": "v", "tenant": "t1"}
    assert list(got["r3"].metadata) == ["z", "tenant"]
    for r in records:
        want = np.asarray(r.vector, dtype=np.float32).tolist()
        assert got[r.id].vector == want


# ------------------------------------------------------------------------------------
# LlamaIndex: nodes, their metadata, relationships, hash and embedding stay as given
# ------------------------------------------------------------------------------------


def li_nodes() -> list[TextNode]:
    shared = {"src": "s", "tags": ["x"], "year": 2000}
    rel = RelatedNodeInfo(node_id="doc1", metadata={"page": np.int64(3), "k": [1, 2]})
    nodes = [
        TextNode(id_="n0", text="cat one", embedding=embed("cat one"), metadata=shared),
        TextNode(id_="n1", text="dog two", embedding=embed("dog two"), metadata=shared),
        TextNode(
            id_="n2",
            text="fish three",
            embedding=embed("fish three"),
            metadata={"b": 1, "year": 2001, "a": None, "n": np.int64(4)},
        ),
        TextNode(
            id_="n3",
            text="car four",
            embedding=embed("car four"),
            metadata={"text": "reserved", "z": [np.float64(0.5)], "id": 9},
            relationships={NodeRelationship.SOURCE: rel},
        ),
        TextNode(
            id_="n4",
            text="train five",
            embedding=embed("train five"),
            metadata={"year": None, "tenant": "t1", "q": {"deep": [None]}},
            excluded_llm_metadata_keys=["q"],
        ),
    ]
    # One shared metadata dict (as a node parser may leave them) besides n0/n1's.
    nodes[1].metadata = nodes[0].metadata
    return nodes


def node_picture(node: TextNode) -> Any:
    return (snap(node.model_dump()), node.hash, ids_of(node.metadata), id(node.embedding))


def li_store(uri: str, name: str, *, keyed: bool, **kw: Any) -> LIStore:
    fields: dict[str, str] = {"year": "INT64"}
    if keyed:
        fields["tenant"] = "VARCHAR"
    return LIStore(
        uri=uri,
        collection_name=name,
        metadata_fields=fields,
        partition_key="tenant" if keyed else None,
        **kw,
    )


def li_expected(node: TextNode, tenant: str | None) -> dict[str, Any]:
    return expected_stored(node.metadata, tenant)


@pytest.mark.parametrize("tenant", [None, "t1"])
@pytest.mark.parametrize("use_async", [False, True], ids=["add", "async_add"])
def test_li_add_leaves_nodes_as_given_and_stores_them(
    lite_uri: str, tenant: str | None, use_async: bool
) -> None:
    store = li_store(lite_uri, "li1", keyed=tenant is not None, enable_sparse=True)
    nodes = li_nodes()
    if tenant is None:
        nodes[4].metadata = {"year": None, "q": {"deep": [None]}}
    before = [node_picture(n) for n in nodes]
    kwargs = {"tenant": tenant} if tenant else {}
    for _ in range(2):
        if use_async:
            asyncio.run(store.async_add(nodes, **kwargs))
        else:
            store.add(nodes, **kwargs)
        assert [node_picture(n) for n in nodes] == before
        shared_state_intact()
    got = {n.node_id: n for n in store.get_nodes(node_ids=[n.node_id for n in nodes])}
    for node in nodes:
        back = got[node.node_id]
        want = li_expected(node, tenant)
        assert back.metadata == want, node.node_id
        assert list(back.metadata) == list(want), node.node_id
        assert back.get_content() == node.get_content()
        assert back.excluded_llm_metadata_keys == node.excluded_llm_metadata_keys
    rel = got["n3"].relationships[NodeRelationship.SOURCE]
    assert rel.node_id == "doc1" and rel.metadata == {"page": 3, "k": [1, 2]}
    res = store.store.get([n.node_id for n in nodes], include_vectors=True)
    vectors = {r.id: r.vector for r in res}
    for node in nodes:
        assert vectors[node.node_id] == np.asarray(node.embedding, np.float32).tolist()
    assert store.store.count() == len(nodes)


def test_li_same_nodes_in_two_stores_store_like_fresh_nodes(lite_uri: str) -> None:
    a = li_store(lite_uri, "li2a", keyed=True)
    b = li_store(lite_uri, "li2b", keyed=False)
    c = li_store(lite_uri, "li2c", keyed=False)
    reused = li_nodes()
    reused[4].metadata = {"year": None, "tenant": "t2", "q": {"deep": [None]}}
    before = [node_picture(n) for n in reused]
    a.add(reused, tenant="t2")
    b.add(reused)
    asyncio.run(a.async_add(reused, tenant="t2"))
    assert [node_picture(n) for n in reused] == before
    shared_state_intact()
    fresh = li_nodes()
    fresh[4].metadata = {"year": None, "tenant": "t2", "q": {"deep": [None]}}
    c.add(fresh)
    ids = [n.node_id for n in reused]

    def stored(store: LIStore) -> list[Any]:
        got = sorted(store.store.get(ids, include_vectors=True), key=lambda r: r.id)
        return [(r.id, r.text, snap(r.metadata), r.doc_id, snap(r.extra), r.vector) for r in got]

    assert stored(b) == stored(c)
    # The tenant store holds the same, with the tenant stamped into metadata.
    got_a = {n.node_id: n.metadata for n in a.get_nodes(node_ids=ids)}
    assert got_a == {n.node_id: li_expected(n, "t2") for n in reused}


def test_li_refused_nodes_change_nothing_and_write_nothing(lite_uri: str) -> None:
    store = li_store(lite_uri, "li3", keyed=True)
    for mutate, error in [
        (lambda ns: ns[4].metadata.update(tenant="other"), TenantMismatchError),
        (lambda ns: ns[2].metadata.update(when=datetime.date(2020, 1, 1)), InvalidInputError),
        (lambda ns: ns[1].metadata.update(year="x"), InvalidInputError),  # n0 shares it
    ]:
        nodes = li_nodes()
        mutate(nodes)
        before = [node_picture(n) for n in nodes]
        with pytest.raises(error):
            store.add(nodes, tenant="t1")
        with pytest.raises(error):
            asyncio.run(store.async_add(nodes, tenant="t1"))
        assert [node_picture(n) for n in nodes] == before
        shared_state_intact()
    assert not store.store.exists() or store.store.count() == 0


def test_li_write_failing_mid_way_changes_no_node(lite_uri: str) -> None:
    # A collection created with dim 11, then nodes of which a later batch has the wrong
    # dimension: refused before anything is written, nodes untouched.
    store = li_store(lite_uri, "li4", keyed=False)
    nodes = [
        TextNode(id_=f"m{i}", text=f"cat {i}", embedding=embed("cat"), metadata={"i": i})
        for i in range(6)
    ]
    nodes[5].embedding = [1.0, 2.0]
    before = [node_picture(n) for n in nodes]
    with pytest.raises(InvalidInputError):
        store.add(nodes)
    assert [node_picture(n) for n in nodes] == before
    shared_state_intact()
    nodes[5].embedding = embed("dog")
    store.add(nodes)
    assert store.store.count() == 6


# ------------------------------------------------------------------------------------
# LlamaIndex framework flows
# ------------------------------------------------------------------------------------


def li_docs() -> list[LIDocument]:
    shared = {"src": "shared", "year": 2010, "tags": ["a", "b"], "none": None}
    return [
        LIDocument(id_="d0", text="cat one. cat two.", metadata=shared),
        LIDocument(id_="d1", text="dog one. dog two.", metadata=shared),
        LIDocument(id_="d2", text="fish one.", metadata={"z": 1, "a": 2, "year": 2011}),
    ]


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_li_vector_store_index_leaves_documents_as_given(lite_uri: str, use_async: bool) -> None:
    store = li_store(lite_uri, "li5", keyed=False)
    docs = li_docs()
    before = [(snap(d.model_dump()), d.hash) for d in docs]
    ctx = StorageContext.from_defaults(vector_store=store)
    idx = VectorStoreIndex.from_documents(
        docs, storage_context=ctx, embed_model=VocabEmbedding(), use_async=use_async
    )
    assert [(snap(d.model_dump()), d.hash) for d in docs] == before
    shared_state_intact()
    for doc in docs:
        idx.insert(doc)  # the same documents again
    assert [(snap(d.model_dump()), d.hash) for d in docs] == before
    found = store.get_nodes()
    assert {n.ref_doc_id for n in found} == {"d0", "d1", "d2"}
    for node in found:
        want = next(d.metadata for d in docs if d.doc_id == node.ref_doc_id)
        assert node.metadata == want and list(node.metadata) == list(want)
    # insert() gives each chunk a new node id (as LlamaIndex does): two alike per doc.
    assert sorted(n.ref_doc_id for n in found) == ["d0", "d0", "d1", "d1", "d2", "d2"]
    for ref in ("d0", "d1", "d2"):
        pair = [n for n in found if n.ref_doc_id == ref]
        assert pair[0].get_content() == pair[1].get_content()
        assert list(pair[0].metadata.items()) == list(pair[1].metadata.items())
        assert pair[0].relationships == pair[1].relationships


@pytest.mark.parametrize("use_async", [False, True], ids=["run", "arun"])
def test_li_ingestion_pipeline_twice_leaves_documents_and_nodes_as_given(
    lite_uri: str, use_async: bool
) -> None:
    store = li_store(lite_uri, "li6", keyed=True, tenant="t1")
    docstore = SimpleDocumentStore()
    docs = li_docs()
    before = [(snap(d.model_dump()), d.hash) for d in docs]
    outputs = []
    for _ in range(2):
        pipeline = IngestionPipeline(
            transformations=[SentenceSplitter(chunk_size=256), VocabEmbedding()],
            docstore=docstore,
            vector_store=store,
            docstore_strategy=DocstoreStrategy.UPSERTS,
        )
        nodes = (
            asyncio.run(pipeline.arun(documents=docs))
            if use_async
            else pipeline.run(documents=docs)
        )
        outputs.append([node_picture(n) for n in nodes])
        assert [(snap(d.model_dump()), d.hash) for d in docs] == before
        assert all(n.metadata.get("tenant") is None for n in nodes)
        shared_state_intact()
    assert len(outputs[0]) == 3 and outputs[1] == []  # unchanged docs are skipped
    found = store.get_nodes()
    assert len(found) == 3
    for node in found:
        want = {**next(d.metadata for d in docs if d.doc_id == node.ref_doc_id), "tenant": "t1"}
        assert node.metadata == want and list(node.metadata) == list(want)


# ------------------------------------------------------------------------------------
# A caller's dict changed while its write runs: stored unchecked
# ------------------------------------------------------------------------------------


# DEFECT (fixed): LC metadata changed during add_texts was stored unchecked (date -> str)
@pytest.mark.parametrize("use_async", [False, True], ids=["model-callback", "concurrent-task"])
def test_lc_dict_changed_during_the_write_is_not_stored_unchecked(
    lite_uri: str, use_async: bool
) -> None:
    metas = [{"k": i} for i in range(4)]
    at_call = copy.deepcopy(metas)

    def spoil() -> None:
        metas[3]["when"] = datetime.date(2020, 1, 2)  # refused if given at the call
        metas[2]["nan"] = float("nan")  # refused if given at the call

    class Spoiling(VocabEmbeddings):
        calls = 0

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            Spoiling.calls += 1
            if Spoiling.calls == 1 and not use_async:
                spoil()
            return super().embed_documents(texts)

    store = lc_store(lite_uri, "lc7", tenant=False, model=Spoiling())
    texts = [f"cat {i}" for i in range(4)]
    ids = ["a", "b", "c", "d"]
    if use_async:

        async def scenario() -> None:
            async def caller_reuses_its_dicts() -> None:
                await asyncio.sleep(0)
                spoil()

            await asyncio.gather(
                store.aadd_texts(texts, metas, ids=ids, batch_size=2), caller_reuses_its_dicts()
            )

        asyncio.run(scenario())
    else:
        store.add_texts(texts, metas, ids=ids, batch_size=2)
    got = {d.id: d.metadata for d in store.get_by_ids(ids)}
    # What the call was given (a copy taken at the call), never values no check saw.
    assert got == dict(zip(ids, at_call, strict=True))


# DEFECT (fixed): node.metadata changed during async_add was stored unchecked (date -> str)
def test_li_node_metadata_changed_during_async_add_is_not_stored_unchecked(
    lite_uri: str,
) -> None:
    store = li_store(lite_uri, "li7", keyed=False)
    store.add([TextNode(id_="x", text="cat", embedding=embed("cat"))])  # the collection
    node = TextNode(id_="z", text="dog", embedding=embed("dog"), metadata={"page": 1})

    async def scenario() -> None:
        async def caller_edits_the_node() -> None:
            await asyncio.sleep(0)
            node.metadata["when"] = datetime.date(2021, 1, 1)

        await asyncio.gather(store.async_add([node]), caller_edits_the_node())

    asyncio.run(scenario())
    (back,) = store.get_nodes(node_ids=["z"])
    assert back.metadata == {"page": 1}  # as given at the call (a date is refused)


@pytest.mark.parametrize("use_async", [False, True])
def test_a_nested_value_changed_during_the_write_is_refused_not_stored_converted(
    lite_uri: str, use_async: bool
) -> None:
    """The top level of each metadata dict is copied at the call; a container nested in
    it is read when its batch is written. A date put there meanwhile (by the model
    here) is refused with a typed error naming what happened, never stored as text."""
    from milvus_plugins.core import WriteError

    metas = [{"k": i, "inner": {"n": i}} for i in range(4)]

    class Spoiling(VocabEmbeddings):
        calls = 0

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            Spoiling.calls += 1
            if Spoiling.calls == 1:
                metas[3]["inner"]["when"] = datetime.date(2020, 1, 2)
            return super().embed_documents(texts)

        async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
            return self.embed_documents(texts)

    store = lc_store(lite_uri, "lc8", tenant=False, model=Spoiling())
    texts = [f"cat {i}" for i in range(4)]
    ids = ["a", "b", "c", "d"]
    with pytest.raises(WriteError, match="changed while the write ran") as info:
        if use_async:
            asyncio.run(store.aadd_texts(texts, metas, ids=ids, batch_size=2))
        else:
            store.add_texts(texts, metas, ids=ids, batch_size=2)
    assert "d" in info.value.failed_ids
    got = {d.id: d.metadata for d in store.get_by_ids(ids)}
    assert "d" not in got
    assert all(
        m == {"k": int(i), "inner": {"n": int(i)}} for i, m in ((m["k"], m) for m in got.values())
    )


def test_li_node_metadata_changed_by_a_named_fields_model_is_not_stored_unchecked(
    lite_uri: str,
) -> None:
    """A sync add with a named field's model runs code of the caller's between the checks
    and the rows: the metadata written is the node's at the call."""
    nodes = [
        TextNode(id_=f"n{i}", text=f"cat {i}", embedding=embed(f"cat {i}"), metadata={"p": i})
        for i in range(3)
    ]

    class Spoiling(VocabEmbedding):
        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            nodes[1].metadata["when"] = datetime.date(2021, 1, 1)
            nodes[2].metadata["p"] = "changed"
            return super()._get_text_embeddings(texts)

    store = LIStore(uri=lite_uri, collection_name="li9", vector_fields={"topic": Spoiling()})
    store.add(nodes)
    back = {n.node_id: n.metadata for n in store.get_nodes(node_ids=["n0", "n1", "n2"])}
    assert back == {"n0": {"p": 0}, "n1": {"p": 1}, "n2": {"p": 2}}
