"""Hostile tenants through both adapters: no call scoped to tenant A touches a row of B.

Every read, write and delete entry point of the LangChain and LlamaIndex stores (sync and
async, retrievers, ``from_texts``, ``VectorStoreIndex`` with ``vector_store_kwargs``) is
called on a partition-key collection holding three tenants (quotes, backslashes,
unicode), with careless or hostile tenant values, metadata and filters naming another
tenant, strict mode without a tenant, a store tenant overridden per call and ids held by
another tenant. After each call every tenant's rows are read back with a plain
``pymilvus.MilvusClient`` and compared with what must be there: the call does exactly what
it says within its tenant, or raises a typed ``milvus_plugins`` error with nothing changed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from langchain_core.documents import Document
from llama_index.core import StorageContext, VectorStoreIndex
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores.types import (
    FilterCondition,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
)
from pymilvus import MilvusClient
from tests.support.faces import VocabEmbedding, VocabEmbeddings, embed

from milvus_plugins.core import (
    ConfigError,
    MilvusPluginsError,
    TenantMismatchError,
    TenantRequiredError,
)
from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

A, B, C = 'a" or true or "', "b\\", "é\u200b💥"
NAME = "hostile_tenants"
State = dict[str, tuple[str, str]]  # id -> (tenant, text)
SEED: State = {
    "a1": (A, "cat dog"),
    "a2": (A, "cat fish"),
    "b1": (B, "cat car"),
    "b2": (B, "cat"),
    "c1": (C, "cat bird"),
}
ALL_IDS = sorted(SEED)
HOSTILE_TENANTS: list[Any] = [
    "",
    5,
    [A, B],
    'tenant != ""',
    '" or tenant != "',
    "b\\\\",
    "b",
    "\\",
    "a",
    "'",
    "B",
    True,
    1.5,
    b"b\\",
    "\ud800",
    "x" * 2000,
]


def state(uri: str, name: str = NAME) -> State:
    client = MilvusClient(uri=uri)
    try:
        rows = client.query(
            name,
            filter='id != ""',
            output_fields=["id", "tenant", "text"],
            consistency_level="Strong",
        )
        return {r["id"]: (r["tenant"], r["text"]) for r in rows}
    finally:
        client.close()


def without(base: State, tenant: str) -> State:
    return {k: v for k, v in base.items() if v[0] != tenant}


def lc(uri: str, name: str = NAME, **kwargs: Any) -> LangChainStore:
    return LangChainStore(
        VocabEmbeddings(),
        uri=uri,
        collection_name=name,
        metadata_fields={"tenant": "VARCHAR"},
        partition_key="tenant",
        sparse="bm25" if not uri.startswith("http") else None,
        **kwargs,
    )


def li(uri: str, name: str = NAME, **kwargs: Any) -> LlamaStore:
    return LlamaStore(
        uri=uri,
        collection_name=name,
        metadata_fields={"tenant": "VARCHAR"},
        partition_key="tenant",
        enable_sparse=not uri.startswith("http"),
        dim=11,
        **kwargs,
    )


def seed(uri: str, name: str = NAME) -> None:
    store = li(uri, name)  # every node has source document "shared", in every tenant
    for rid, (tenant, text) in SEED.items():
        node = TextNode(id_=rid, text=text, embedding=embed(text), metadata={"ref": "shared"})
        node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id="shared")
        store.add([node], tenant=tenant)
    assert state(uri, name) == SEED


@pytest.fixture
def world(lite_uri: str) -> str:
    seed(lite_uri)
    return lite_uri


def run(coro: Awaitable[Any]) -> Any:
    async def go() -> Any:
        return await coro

    return asyncio.run(go())


def expect(uri: str, call: Callable[[], Any], after: State, name: str = NAME) -> Any:
    """The call either leaves exactly ``after`` or raises a typed error, nothing changed."""
    before = state(uri, name)
    try:
        result = call()
    except MilvusPluginsError as exc:
        assert state(uri, name) == before, f"refused ({exc!r}) but rows changed"
        return exc
    assert state(uri, name) == after
    return result


def ids_of(result: Any) -> set[str]:
    if isinstance(result, MilvusPluginsError):
        return set()
    out: set[str] = set()
    for item in result:
        doc = item[0] if isinstance(item, tuple) else item
        out.add(str(doc.id))
    return out


# ---------------------------------------------------------------- LangChain reads

FILTERS: list[Any] = [
    None,
    {"tenant": B},
    {"tenant": {"$in": [B, C]}},
    {"tenant": {"$ne": A}},
    {"$or": [{"tenant": B}, {"ref": "shared"}]},
]


def lc_reads(store: LangChainStore, **kw: Any) -> dict[str, Callable[[], Any]]:
    vec = embed("cat")
    return {
        "ss": lambda: store.similarity_search("cat", k=10, **kw),
        "ss_sparse": lambda: store.similarity_search("cat", k=10, retrieval_mode="sparse", **kw),
        "ss_hybrid": lambda: store.similarity_search("cat", k=10, retrieval_mode="hybrid", **kw),
        "sss": lambda: store.similarity_search_with_score("cat", k=10, **kw),
        "ssr": lambda: store.similarity_search_with_relevance_scores("cat", k=10, **kw),
        "ssv": lambda: store.similarity_search_by_vector(vec, k=10, **kw),
        "sssv": lambda: store.similarity_search_with_score_by_vector(vec, k=10, **kw),
        "mmr": lambda: store.max_marginal_relevance_search("cat", k=10, fetch_k=10, **kw),
        "mmrv": lambda: store.max_marginal_relevance_search_by_vector(vec, k=10, fetch_k=10, **kw),
        "retriever": lambda: store.as_retriever(search_kwargs={"k": 10, **kw}).invoke("cat"),
        "mmr_retriever": lambda: store.as_retriever(
            search_type="mmr", search_kwargs={"k": 10, "fetch_k": 10, **kw}
        ).invoke("cat"),
        "thr_retriever": lambda: store.as_retriever(
            search_type="similarity_score_threshold",
            search_kwargs={"k": 10, "score_threshold": 0.0, **kw},
        ).invoke("cat"),
        "ass": lambda: run(store.asimilarity_search("cat", k=10, **kw)),
        "ass_hybrid": lambda: run(
            store.asimilarity_search("cat", k=10, retrieval_mode="hybrid", **kw)
        ),
        "asss": lambda: run(store.asimilarity_search_with_score("cat", k=10, **kw)),
        "assr": lambda: run(store.asimilarity_search_with_relevance_scores("cat", k=10, **kw)),
        "assv": lambda: run(store.asimilarity_search_by_vector(vec, k=10, **kw)),
        "asssv": lambda: run(store.asimilarity_search_with_score_by_vector(vec, k=10, **kw)),
        "ammr": lambda: run(store.amax_marginal_relevance_search("cat", k=10, fetch_k=10, **kw)),
        "ammrv": lambda: run(
            store.amax_marginal_relevance_search_by_vector(vec, k=10, fetch_k=10, **kw)
        ),
        "aretriever": lambda: run(store.as_retriever(search_kwargs={"k": 10, **kw}).ainvoke("cat")),
    }


READ_NAMES = sorted(lc_reads(LangChainStore.__new__(LangChainStore)))


@pytest.mark.parametrize("read", READ_NAMES)
def test_langchain_reads_never_leave_the_tenant(world: str, read: str) -> None:
    store = lc(world)
    for flt in FILTERS:
        kw: dict[str, Any] = {"tenant": A} if flt is None else {"tenant": A, "filter": flt}
        got = ids_of(expect(world, lc_reads(store, **kw)[read], SEED))
        assert got <= {"a1", "a2"}, (read, flt, got)
        if flt is None:
            assert got == {"a1", "a2"}, read
    scoped = lc(world, tenant=A)  # the store's tenant, overridden per call by B
    assert ids_of(lc_reads(scoped)[read]()) == {"a1", "a2"}
    assert ids_of(lc_reads(scoped, tenant=B)[read]()) == {"b1", "b2"}


@pytest.mark.parametrize("hostile", HOSTILE_TENANTS, ids=repr)
def test_langchain_hostile_tenant_values_read_only_their_exact_tenant(
    world: str, hostile: Any
) -> None:
    store = lc(world)
    exact = {k for k, v in SEED.items() if v[0] == hostile}
    for read in ("ss", "ss_hybrid", "mmr", "retriever", "ass"):
        got = ids_of(expect(world, lc_reads(store, tenant=hostile)[read], SEED))
        assert got <= exact, (read, got)
    got_ids = expect(world, lambda: store.get_by_ids(ALL_IDS), SEED)
    assert {d.id for d in got_ids} == set(ALL_IDS)  # no tenant: the admin's view
    scoped = expect(world, lambda: lc(world, tenant=hostile).get_by_ids(ALL_IDS), SEED)
    assert ids_of(scoped) <= exact


def test_langchain_get_by_ids_of_another_tenant(world: str) -> None:
    store = lc(world, tenant=A)
    assert {d.id for d in store.get_by_ids(ALL_IDS)} == {"a1", "a2"}
    assert {d.id for d in run(store.aget_by_ids(ALL_IDS))} == {"a1", "a2"}
    assert store.get_by_ids(["b1", "c1"]) == []
    assert state(world) == SEED


# ---------------------------------------------------------------- LangChain writes


def lc_writes(store: LangChainStore, uri: str) -> dict[str, Callable[..., Any]]:
    return {
        "add_texts": lambda ids, metas, **kw: store.add_texts(
            ["cat new"] * len(ids), metadatas=metas, ids=ids, **kw
        ),
        "aadd_texts": lambda ids, metas, **kw: run(
            store.aadd_texts(["cat new"] * len(ids), metadatas=metas, ids=ids, **kw)
        ),
        "add_documents": lambda ids, metas, **kw: store.add_documents(
            [
                Document(id=i, page_content="cat new", metadata=m)
                for i, m in zip(ids, metas, strict=True)
            ],
            **kw,
        ),
        "aadd_documents": lambda ids, metas, **kw: run(
            store.aadd_documents(
                [
                    Document(id=i, page_content="cat new", metadata=m)
                    for i, m in zip(ids, metas, strict=True)
                ],
                **kw,
            )
        ),
        "from_texts": lambda ids, metas, **kw: LangChainStore.from_texts(
            ["cat new"] * len(ids),
            VocabEmbeddings(),
            metadatas=metas,
            ids=ids,
            uri=uri,
            collection_name=NAME,
            metadata_fields={"tenant": "VARCHAR"},
            partition_key="tenant",
            sparse="bm25",
            **kw,
        ),
    }


WRITE_NAMES = ["add_texts", "aadd_texts", "add_documents", "aadd_documents", "from_texts"]


@pytest.mark.parametrize("write", WRITE_NAMES)
def test_langchain_writes_stay_in_the_tenant(world: str, write: str) -> None:
    store = lc(world)
    w = lc_writes(store, world)[write]
    # a fresh id under A: stamped A, nothing else changes
    expect(world, lambda: w(["a9"], [{}], tenant=A), {**SEED, "a9": (A, "cat new")})
    # metadata naming another tenant, ids held by another tenant: refused, nothing changed
    for ids, metas in (
        (["a8"], [{"tenant": B}]),
        (["b1"], [{}]),
        (["a7", "c1"], [{}, {}]),
        (["a6"], [{"tenant": A + " "}]),
    ):
        with pytest.raises(TenantMismatchError):
            w(ids, metas, tenant=A)
        assert state(world) == {**SEED, "a9": (A, "cat new")}
    # no tenant= but the record names another tenant than the stored row
    with pytest.raises(TenantMismatchError):
        w(["b2"], [{"tenant": A}])
    assert state(world) == {**SEED, "a9": (A, "cat new")}


@pytest.mark.parametrize("hostile", HOSTILE_TENANTS, ids=repr)
def test_langchain_hostile_tenant_values_on_writes(world: str, hostile: Any) -> None:
    store = lc(world)
    result = expect(
        world,
        lambda: store.add_texts(["cat x"], ids=["h1"], tenant=hostile),
        {**SEED, "h1": (str(hostile), "cat x")},
    )
    if hostile == "" or isinstance(hostile, list):
        assert isinstance(result, MilvusPluginsError)


def test_langchain_strict_mode_refuses_every_call_without_a_tenant(world: str) -> None:
    store = lc(world, tenant_mode="strict")
    calls: dict[str, Callable[[], Any]] = {
        **lc_reads(store),
        "get_by_ids": lambda: store.get_by_ids(ALL_IDS),
        "aget_by_ids": lambda: run(store.aget_by_ids(ALL_IDS)),
        "add_texts": lambda: store.add_texts(["cat"], ids=["s1"]),
        "add_texts_meta": lambda: store.add_texts(["cat"], ids=["s1"], metadatas=[{"tenant": A}]),
        "add_documents": lambda: store.add_documents([Document(id="s1", page_content="cat")]),
        "aadd_texts": lambda: run(store.aadd_texts(["cat"], ids=["s1"])),
        "delete_ids": lambda: store.delete(["a1", "b1"]),
        "delete_all": lambda: store.delete(),
        "delete_filter": lambda: store.delete(filter={"tenant": B}),
        "adelete": lambda: run(store.adelete()),
        "tenant_none": lambda: store.similarity_search("cat", tenant=None),
    }
    for label, call in calls.items():
        with pytest.raises(TenantRequiredError):
            call()
        assert state(world) == SEED, label


RAW_ESCAPES = [
    'id != "") or (id != ""',
    "true) or (true",
    'text == "x") or ("y" == "y"',
    "text == '\"' ) or ( true or text == '\"'",
    'text == "\\"" ) or ( true or text == "\\""',
    "text == '\\'' ) or ( true or text == '\\''",
    'text like "%" ) or ( true or text == ""',
    'tenant == "b\\\\"',
    'id == "x" or tenant != ""',
    "true or true",
]


@pytest.mark.parametrize("raw", RAW_ESCAPES)
def test_langchain_raw_filters_cannot_escape_the_tenant(world: str, raw: str) -> None:
    store = lc(world)
    for read in ("ss", "ss_hybrid", "mmr", "ass", "retriever"):
        got = ids_of(expect(world, lc_reads(store, tenant=A, filter=raw)[read], SEED))
        assert got <= {"a1", "a2"}, (read, got)
    with contextlib.suppress(MilvusPluginsError):  # a refusal must change nothing
        store.delete(["b1", "c1", "a1"], tenant=A, filter=raw)
    rest = state(world)
    assert {k: v for k, v in rest.items() if v[0] != A} == without(SEED, A)
    assert set(rest) >= {"a2"}  # only a1 was named
    with contextlib.suppress(MilvusPluginsError):
        run(store.adelete(tenant=B, filter=raw))  # B's matches may go, nothing else
    assert {k: v for k, v in state(world).items() if v[0] != B} == without(rest, B)


def test_langchain_store_tenant_overridden_on_writes_and_deletes(world: str) -> None:
    store = lc(world, tenant=A)
    expect(
        world,
        lambda: store.add_texts(["cat x"], ids=["b9"], tenant=B),
        {**SEED, "b9": (B, "cat x")},
    )
    now = state(world)
    with pytest.raises(TenantMismatchError):
        store.add_texts(["cat"], ids=["a9"], metadatas=[{"tenant": B}])
    with pytest.raises(TenantMismatchError):
        store.add_texts(["cat"], ids=["a9"], metadatas=[{"tenant": A}], tenant=B)
    with pytest.raises(TenantMismatchError):
        run(store.aadd_documents([Document(id="c1", page_content="cat")]))
    assert state(world) == now
    expect(world, lambda: store.delete(["a1", "a2"], tenant=B), now)
    expect(world, lambda: store.delete(["b9", "a1"]), {k: v for k, v in now.items() if k != "a1"})
    expect(
        world,
        lambda: store.delete(["b9"], tenant=B),
        {k: v for k, v in now.items() if k not in ("a1", "b9")},
    )


def test_tenants_differing_by_a_nul_or_by_normalisation_stay_apart(world: str) -> None:
    nul, nfc, nfd = "b\\\x00", "\u00e9", "e\u0301"
    store = lc(world)
    store.add_texts(["cat"], ids=["z1"], tenant=nul)
    store.add_texts(["cat"], ids=["n1"], tenant=nfc)
    now = state(world)
    assert now == {**SEED, "z1": (nul, "cat"), "n1": (nfc, "cat")}
    with pytest.raises(TenantMismatchError):
        store.add_texts(["dog"], ids=["n1"], tenant=nfd)
    for tenant, want in ((B, {"b1", "b2"}), (nul, {"z1"}), (nfc, {"n1"}), (nfd, set())):
        assert ids_of(store.similarity_search("cat", k=10, tenant=tenant)) == want
        assert ids_of(lc(world, tenant=tenant).get_by_ids([*ALL_IDS, "z1", "n1"])) == want
        hits = li(world).query(q(VectorStoreQueryMode.TEXT_SEARCH), tenant=tenant).ids
        assert set(hits or []) == want
    expect(world, lambda: store.delete(tenant=nfd), now)
    expect(
        world, lambda: li(world, tenant=nul).clear(), {k: v for k, v in now.items() if k != "z1"}
    )


# ---------------------------------------------------------------- LangChain deletes


def test_langchain_deletes_only_the_tenants_rows(world: str) -> None:
    store = lc(world)
    after = {k: v for k, v in SEED.items() if k != "a1"}
    expect(world, lambda: store.delete(["a1", "b1", "c1"], tenant=A), after)
    expect(world, lambda: store.delete(filter={"tenant": B}, tenant=A), after)
    expect(world, lambda: store.delete(filter={"tenant": {"$ne": A}}, tenant=A), after)
    expect(world, lambda: store.delete(filter={"tenant": {"$ne": B}}, tenant=A), without(after, A))
    expect(world, lambda: run(store.adelete(["b1", "b2"], tenant=C)), without(after, A))
    expect(world, lambda: run(store.adelete(tenant=C)), without(without(after, A), C))
    scoped = lc(world, tenant=A)  # store A, per call B: B's rows go
    expect(world, lambda: scoped.delete(tenant=B), {})


@pytest.mark.parametrize("hostile", HOSTILE_TENANTS, ids=repr)
def test_langchain_hostile_tenant_deletes(world: str, hostile: Any) -> None:
    store = lc(world)
    keep = {k: v for k, v in SEED.items() if v[0] != hostile}
    expect(world, lambda: store.delete(ALL_IDS, tenant=hostile), keep)
    expect(world, lambda: store.delete(tenant=hostile), keep)
    expect(world, lambda: run(store.adelete(filter={"ref": "shared"}, tenant=hostile)), keep)


# ---------------------------------------------------------------- LlamaIndex


def q(mode: VectorStoreQueryMode, filters: MetadataFilters | None = None) -> VectorStoreQuery:
    return VectorStoreQuery(
        query_embedding=embed("cat"),
        query_str="cat",
        similarity_top_k=10,
        mode=mode,
        filters=filters,
        mmr_threshold=0.5 if mode == VectorStoreQueryMode.MMR else None,
    )


MODES = [
    VectorStoreQueryMode.DEFAULT,
    VectorStoreQueryMode.MMR,
    VectorStoreQueryMode.SPARSE,
    VectorStoreQueryMode.TEXT_SEARCH,
    VectorStoreQueryMode.HYBRID,
]
OTHER = [
    None,
    MetadataFilters(filters=[MetadataFilter(key="tenant", value=B)]),
    MetadataFilters(
        filters=[
            MetadataFilter(key="tenant", value=B),
            MetadataFilter(key="tenant", value=A),
        ],
        condition=FilterCondition.OR,
    ),
    MetadataFilters(filters=[MetadataFilter(key="tenant", value=A, operator="!=")]),
]


@pytest.mark.parametrize("mode", MODES, ids=str)
def test_llama_queries_never_leave_the_tenant(world: str, mode: VectorStoreQueryMode) -> None:
    store = li(world)
    scoped = li(world, tenant=A)
    for filters in OTHER:
        for call in (
            lambda f=filters: store.query(q(mode, f), tenant=A),
            lambda f=filters: scoped.query(q(mode, f)),
            lambda f=filters: run(store.aquery(q(mode, f), tenant=A)),
        ):
            result = expect(world, call, SEED)
            got = set() if isinstance(result, MilvusPluginsError) else set(result.ids or [])
            assert got <= {"a1", "a2"}, (mode, filters, got)
            if filters is None:
                assert got == {"a1", "a2"}
    assert set(scoped.query(q(mode), tenant=B).ids or []) == {"b1", "b2"}


def test_llama_get_nodes_under_a_tenant(world: str) -> None:
    scoped = li(world, tenant=A)
    assert {n.node_id for n in scoped.get_nodes(node_ids=ALL_IDS)} == {"a1", "a2"}
    assert {n.node_id for n in run(scoped.aget_nodes(node_ids=ALL_IDS))} == {"a1", "a2"}
    for filters in OTHER[1:]:
        got = {n.node_id for n in scoped.get_nodes(filters=filters)}
        assert got <= {"a1", "a2"}
    assert state(world) == SEED


@pytest.mark.parametrize("hostile", HOSTILE_TENANTS, ids=repr)
def test_llama_hostile_tenant_values(world: str, hostile: Any) -> None:
    exact = {k for k, v in SEED.items() if v[0] == hostile}
    keep = {k: v for k, v in SEED.items() if v[0] != hostile}
    store = li(world)
    for mode in (VectorStoreQueryMode.DEFAULT, VectorStoreQueryMode.HYBRID):
        result = expect(world, lambda m=mode: store.query(q(m), tenant=hostile), SEED)
        got = set() if isinstance(result, MilvusPluginsError) else set(result.ids or [])
        assert got <= exact
    try:
        scoped = li(world, tenant=hostile)
    except MilvusPluginsError:
        return
    got_nodes = expect(world, lambda: scoped.get_nodes(node_ids=ALL_IDS), SEED)
    assert ids_of_nodes(got_nodes) <= exact
    expect(world, lambda: scoped.delete_nodes(node_ids=ALL_IDS), keep)
    expect(world, lambda: scoped.delete("shared"), keep)
    expect(world, scoped.clear, keep)


def ids_of_nodes(result: Any) -> set[str]:
    if isinstance(result, MilvusPluginsError):
        return set()
    return {n.node_id for n in result}


def test_llama_writes_stay_in_the_tenant(world: str) -> None:
    store = li(world)

    def node(i: str, **meta: Any) -> TextNode:
        return TextNode(id_=i, text="cat new", embedding=embed("cat new"), metadata=meta)

    expect(world, lambda: store.add([node("a9")], tenant=A), {**SEED, "a9": (A, "cat new")})
    now = state(world)
    for nodes in ([node("a8", tenant=B)], [node("b1")], [node("a7"), node("c1")]):
        with pytest.raises(TenantMismatchError):
            store.add(nodes, tenant=A)
        with pytest.raises(TenantMismatchError):
            run(store.async_add(nodes, tenant=A))
        assert state(world) == now
    with pytest.raises(TenantMismatchError):
        li(world, tenant=A).add([node("b2")])
    with pytest.raises(TenantMismatchError):
        store.add([node("c1", tenant=A)])  # no tenant=, the record names A, the row is C's
    assert state(world) == now
    for hostile in ("", [A], 5):
        expect(
            world,
            lambda h=hostile: store.add([node("h1")], tenant=h),
            {**now, "h1": (str(hostile), "cat new")},
        )


def test_llama_deletes_and_clear_only_the_tenants_rows(world: str) -> None:
    store = li(world)
    scoped = li(world, tenant=A)
    expect(world, lambda: scoped.delete_nodes(node_ids=["b1", "c1"]), SEED)
    only_b = MetadataFilters(filters=[MetadataFilter(key="tenant", value=B)])
    expect(world, lambda: scoped.delete_nodes(filters=only_b), SEED)
    expect(world, lambda: run(scoped.adelete_nodes(filters=only_b)), SEED)
    no_c = without(SEED, C)
    expect(world, lambda: store.delete_nodes(filters=OTHER[3], tenant=C), no_c)
    expect(world, lambda: store.delete("shared", tenant=B), without(no_c, B))
    lc(world).add_texts(["cat car"], ids=["b1"], metadatas=[{"ref": "shared"}], tenant=B)
    now = state(world)
    expect(world, lambda: run(store.adelete("shared", tenant=C)), now)
    expect(world, lambda: scoped.delete_nodes(node_ids=["b1"], tenant=B), without(now, B))
    lc(world).add_texts(["cat car"], ids=["b1"], tenant=B)
    now = state(world)
    expect(world, scoped.clear, without(now, A))
    expect(world, lambda: run(li(world, tenant=B).aclear()), {})


def test_llama_strict_mode_refuses_every_call_without_a_tenant(world: str) -> None:
    store = li(world, tenant_mode="strict")
    node = TextNode(id_="s1", text="cat", embedding=embed("cat"))
    calls: dict[str, Callable[[], Any]] = {
        "query": lambda: store.query(q(VectorStoreQueryMode.DEFAULT)),
        "query_hybrid": lambda: store.query(q(VectorStoreQueryMode.HYBRID)),
        "aquery": lambda: run(store.aquery(q(VectorStoreQueryMode.MMR))),
        "get_nodes": lambda: store.get_nodes(node_ids=ALL_IDS),
        "aget_nodes": lambda: run(store.aget_nodes()),
        "add": lambda: store.add([node]),
        "async_add": lambda: run(store.async_add([node])),
        "delete": lambda: store.delete("shared"),
        "adelete": lambda: run(store.adelete("shared")),
        "delete_nodes": lambda: store.delete_nodes(node_ids=ALL_IDS),
        "delete_nodes_f": lambda: store.delete_nodes(filters=OTHER[1]),
        "adelete_nodes": lambda: run(store.adelete_nodes(node_ids=ALL_IDS)),
        "clear": store.clear,
        "aclear": lambda: run(store.aclear()),
        "tenant_none": lambda: store.query(q(VectorStoreQueryMode.DEFAULT), tenant=None),
    }
    for label, call in calls.items():
        with pytest.raises(TenantRequiredError):
            call()
        assert state(world) == SEED, label


def test_llama_index_retrievers_with_vector_store_kwargs(world: str) -> None:
    store = li(world)
    index = VectorStoreIndex.from_vector_store(store, embed_model=VocabEmbedding())
    for mode in ("default", "mmr", "hybrid", "text_search", "sparse"):
        for kwargs in ({"tenant": A}, {"tenant": A, "filters": OTHER[1]}):
            filters = kwargs.pop("filters", None)
            retriever = index.as_retriever(
                similarity_top_k=10,
                vector_store_query_mode=mode,
                filters=filters,
                vector_store_kwargs=kwargs,
            )
            got = {n.node.node_id for n in retriever.retrieve("cat")}
            agot = {n.node.node_id for n in run(retriever.aretrieve("cat"))}
            assert got <= {"a1", "a2"} and agot <= {"a1", "a2"}, (mode, got, agot)
            if filters is None:
                assert got == agot == {"a1", "a2"}, mode
    # inserting through the index under a store tenant stamps that tenant
    scoped = li(world, tenant=C)
    ctx = StorageContext.from_defaults(vector_store=scoped)
    VectorStoreIndex(
        [TextNode(id_="c9", text="cat plane")], storage_context=ctx, embed_model=VocabEmbedding()
    )
    assert state(world) == {**SEED, "c9": (C, "cat plane")}


def test_llama_index_delete_ref_doc_and_insert_under_a_tenant(world: str) -> None:
    index = VectorStoreIndex.from_vector_store(li(world), embed_model=VocabEmbedding())
    expect(world, lambda: index.delete_ref_doc("shared", tenant=C), without(SEED, C))
    mine = VectorStoreIndex.from_vector_store(li(world, tenant=A), embed_model=VocabEmbedding())
    with pytest.raises(TenantMismatchError):
        mine.insert_nodes([TextNode(id_="b1", text="cat")])
    assert state(world) == without(SEED, C)
    expect(world, lambda: mine.delete_ref_doc("shared"), without(without(SEED, C), A))


# DEFECT (fixed): LlamaIndex to_dict() kept milvus_partition_names but dropped tenant and
# tenant_mode, so a store rebuilt from it was unscoped; expected both scopes kept.
def test_llama_to_dict_keeps_the_tenant_scope(world: str) -> None:
    described = li(world, tenant=A, tenant_mode="strict").to_dict()
    assert described.get("tenant") == A
    assert described.get("tenant_mode") == "strict"
    # Rebuilt from it, the store is scoped as before; without the partition key's
    # settings the tenant is refused (typed), never dropped.
    with pytest.raises(ConfigError, match="partition"):
        LlamaStore.from_dict(described)
    declared = {"metadata_fields": {"tenant": "VARCHAR"}, "partition_key": "tenant"}
    rebuilt = LlamaStore.from_dict(described, **declared)
    assert rebuilt.to_dict() == described
    assert rebuilt.store.tenancy.tenant == A and rebuilt.store.tenancy.strict


# ---------------------------------------------------------------- server (2.3.5)


@pytest.fixture
def server_world(server_uri: str) -> Iterator[str]:
    client = MilvusClient(uri=server_uri)
    if client.has_collection(NAME):
        client.drop_collection(NAME)
    seed(server_uri)
    yield server_uri
    client.drop_collection(NAME)
    client.close()


@pytest.mark.server
def test_server_both_adapters_stay_in_the_tenant(server_world: str) -> None:
    uri = server_world
    store = lc(uri)
    for read in ("ss", "mmr", "retriever", "ass", "ammr"):
        for flt in FILTERS:
            kw: dict[str, Any] = {"tenant": A} if flt is None else {"tenant": A, "filter": flt}
            assert ids_of(expect(uri, lc_reads(store, **kw)[read], SEED)) <= {"a1", "a2"}
    for hostile in ("", '" or tenant != "', "b", 5):
        assert ids_of(expect(uri, lc_reads(store, tenant=hostile)["ss"], SEED)) <= set()
    with pytest.raises(TenantMismatchError):
        store.add_texts(["cat"], ids=["b1"], tenant=A)
    with pytest.raises(TenantMismatchError):
        store.add_texts(["cat"], ids=["a9"], metadatas=[{"tenant": B}], tenant=A)
    assert state(uri) == SEED
    llama = li(uri, tenant=A)
    for mode in (VectorStoreQueryMode.DEFAULT, VectorStoreQueryMode.MMR):
        for filters in OTHER:
            assert set(llama.query(q(mode, filters)).ids or []) <= {"a1", "a2"}
    expect(uri, lambda: llama.delete_nodes(filters=OTHER[1]), SEED)
    expect(uri, lambda: store.delete(ALL_IDS, tenant=B), without(SEED, B))
    expect(uri, llama.clear, without(without(SEED, B), A))
