"""Tenant isolation, property-tested: no call with tenant A returns or deletes a row of B.

Hypothesis draws two or three tenants (hostile strings: quotes, backslashes,
``" or true or "``, unicode), documents spread over them (written through the core and
both adapters, each stamping its tenant), a filter on a hostile metadata value (including
one that names another tenant in an ``or``), a query word, and a way to delete. Then, for
tenant A, through the core (sync and async), LangChain (sync and async) and LlamaIndex
(sync and async):

* every read returns exactly A's rows that match the filter (oracle: plain Python);
* every search (dense; keyword and hybrid, both fusions, where the engine has them; MMR)
  returns only A's rows that match the filter;
* a delete with tenant A, even by the ids of every row, leaves every other tenant's rows
  untouched and removes exactly A's matching rows.

Derandomised and small for ``make test`` (``TENANT_ISOLATION_EXAMPLES``, default 20 on
Milvus Lite 3.2.2; ``TENANT_ISOLATION_SERVER_EXAMPLES``, default 3 on the 2.3.5 server,
which has no keyword search). Milvus Lite 2.5.1 has no partitions: a partition-key store
must raise ``UnsupportedByServerError`` there before writing anything.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.documents import Document
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
)
from tests.support.faces import VOCAB, VocabEmbeddings, embed

from milvus_plugins.core import (
    AsyncMilvusStore,
    CollectionSpec,
    ConnectionConfig,
    Filter,
    MilvusStore,
    Record,
    UnsupportedByServerError,
    eq,
    in_,
    ne,
    or_,
)
from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

LITE_EXAMPLES = int(os.environ.get("TENANT_ISOLATION_EXAMPLES", "20"))
SERVER_EXAMPLES = int(os.environ.get("TENANT_ISOLATION_SERVER_EXAMPLES", "3"))
HOSTILE = [
    'a" or true or "',
    "b\\",
    '\\" or tenant != \\"',
    "') or ('1' == '1",
    "x) or (true",
    "é\u200b💥",
    '"',
    "\\",
    "%_",
    "tenant",
]
values = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=6),
)


@dataclass(frozen=True)
class Where:
    """A neutral filter: one of eq / ne / in on ``k``, or ``k == v or tenant == other``."""

    kind: str
    value: str
    others: tuple[str, ...] = ()

    def holds(self, metadata: dict[str, Any]) -> bool:
        k = metadata.get("k")
        match self.kind:
            case "eq":
                return k == self.value
            case "ne":
                return k != self.value
            case "in":
                return k in (self.value, *self.others)
            case _:
                return k == self.value or metadata.get("tenant") in self.others

    def core(self) -> Filter:
        match self.kind:
            case "eq":
                return eq("k", self.value)
            case "ne":
                return ne("k", self.value)
            case "in":
                return in_("k", [self.value, *self.others])
            case _:
                return or_(eq("k", self.value), *(eq("tenant", o) for o in self.others))

    def langchain(self) -> dict[str, Any]:
        match self.kind:
            case "eq":
                return {"k": self.value}
            case "ne":
                return {"k": {"$ne": self.value}}
            case "in":
                return {"k": {"$in": [self.value, *self.others]}}
            case _:
                return {"$or": [{"k": self.value}, *({"tenant": o} for o in self.others)]}

    def llama(self) -> MetadataFilters:
        match self.kind:
            case "eq":
                return MetadataFilters(filters=[MetadataFilter(key="k", value=self.value)])
            case "ne":
                op = FilterOperator.NE
                return MetadataFilters(
                    filters=[MetadataFilter(key="k", value=self.value, operator=op)]
                )
            case "in":
                listed = [self.value, *self.others]
                op = FilterOperator.IN
                return MetadataFilters(filters=[MetadataFilter(key="k", value=listed, operator=op)])
            case _:
                parts = [MetadataFilter(key="k", value=self.value)]
                parts += [MetadataFilter(key="tenant", value=o) for o in self.others]
                return MetadataFilters(filters=parts, condition=FilterCondition.OR)


@dataclass(frozen=True)
class Case:
    tenants: tuple[str, ...]
    docs: tuple[tuple[int, str, str], ...]  # (tenant index, text, metadata value of "k")
    where: Where | None
    word: str
    target: int  # the tenant A of the calls
    delete_via: str

    @property
    def tenant(self) -> str:
        return self.tenants[self.target]

    def owner(self, i: int) -> str:
        return self.tenants[self.docs[i][0]]

    def metadata(self, i: int) -> dict[str, Any]:
        return {"k": self.docs[i][2], "tenant": self.owner(i)}

    def matching(self) -> set[str]:
        """A's rows the filter matches: what every read must return exactly."""
        return {
            f"d{i}"
            for i in range(len(self.docs))
            if self.owner(i) == self.tenant
            and (self.where is None or self.where.holds(self.metadata(i)))
        }


@st.composite
def cases(draw: st.DrawFn) -> Case:
    tenants = tuple(draw(st.lists(values, min_size=2, max_size=3, unique=True)))
    k_values = draw(st.lists(values, min_size=1, max_size=3, unique=True))
    n = draw(st.integers(3, 8))
    docs = tuple(
        (
            draw(st.integers(0, len(tenants) - 1)),
            " ".join(draw(st.lists(st.sampled_from(VOCAB[:4]), min_size=1, max_size=3))),
            draw(st.sampled_from(k_values)),
        )
        for _ in range(n)
    )
    target = draw(st.integers(0, len(tenants) - 1))
    kind = draw(st.sampled_from(["none", "eq", "ne", "in", "or_other"]))
    where = None
    if kind != "none":
        value = draw(st.sampled_from(k_values))
        if kind == "or_other":
            others = tuple(t for t in tenants if t != tenants[target])
        else:
            others = tuple(draw(st.lists(st.sampled_from(k_values), max_size=2)))
        where = Where(kind, value, others)
    return Case(
        tenants=tenants,
        docs=docs,
        where=where,
        word=draw(st.sampled_from(VOCAB[:4])),
        target=target,
        delete_via=draw(
            st.sampled_from(["core", "core_async", "langchain", "langchain_async", "llama"])
        ),
    )


def _spec(name: str, sparse: bool) -> CollectionSpec:
    return CollectionSpec(
        name=name,
        dim=len(embed("")),
        sparse="bm25" if sparse else "none",
        metadata_fields={"tenant": "VARCHAR"},
        partition_key="tenant",
    )


class World:
    """One collection and the six faces over it."""

    def __init__(self, uri: str, name: str, sparse: bool) -> None:
        self.uri, self.name, self.sparse = uri, name, sparse
        self.core = MilvusStore(_spec(name, sparse), connection=ConnectionConfig(uri=uri))
        self.langchain = LangChainStore(
            VocabEmbeddings(),
            uri=uri,
            collection_name=name,
            sparse="bm25" if sparse else None,
            metadata_fields={"tenant": "VARCHAR"},
            partition_key="tenant",
        )
        self.llama = LlamaStore.from_store(self.core)

    def write(self, case: Case) -> None:
        """Each tenant's documents through another API, each stamping its tenant."""
        for t_index, tenant in enumerate(case.tenants):
            mine = [i for i, d in enumerate(case.docs) if d[0] == t_index]
            if not mine:
                continue
            via = t_index % 3
            if via == 0:
                records = [
                    Record(
                        id=f"d{i}",
                        text=case.docs[i][1],
                        vector=embed(case.docs[i][1]),
                        metadata={"k": case.docs[i][2]},
                    )
                    for i in mine
                ]
                self.core.upsert(records, tenant=tenant)
            elif via == 1:
                docs = [
                    Document(
                        id=f"d{i}", page_content=case.docs[i][1], metadata={"k": case.docs[i][2]}
                    )
                    for i in mine
                ]
                self.langchain.add_documents(docs, tenant=tenant)
            else:
                nodes = [
                    TextNode(
                        id_=f"d{i}",
                        text=case.docs[i][1],
                        embedding=embed(case.docs[i][1]),
                        metadata={"k": case.docs[i][2]},
                    )
                    for i in mine
                ]
                self.llama.add(nodes, tenant=tenant)

    def rows_by_tenant(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for r in self.core.query():
            out.setdefault(r.metadata["tenant"], set()).add(r.id)
        return out

    def close(self) -> None:
        self.llama.close()
        self.langchain.close()
        self.core.drop()
        self.core.close()


def _check_reads_and_searches(world: World, case: Case) -> None:
    a, where, word = case.tenant, case.where, case.word
    expected = case.matching()
    core_f = None if where is None else where.core()
    lc_f = None if where is None else where.langchain()
    li_f = None if where is None else where.llama()
    all_ids = [f"d{i}" for i in range(len(case.docs))]
    n = len(all_ids)
    vector = embed(word)
    core = world.core
    caps = core.capabilities

    # Reads: exactly A's matching rows.
    assert {r.id for r in core.query(core_f, tenant=a)} == expected
    assert core.count(core_f, tenant=a) == len(expected)
    mine = {f"d{i}" for i in range(n) if case.owner(i) == a}
    assert {r.id for r in core.get(all_ids, tenant=a)} == mine
    assert {h.id for h in core.filtered_hits(k=n, filter=core_f, tenant=a)} == expected
    scoped_llama = LlamaStore.from_store(
        MilvusStore(
            _spec(world.name, world.sparse), connection=ConnectionConfig(uri=world.uri), tenant=a
        )
    )
    try:
        assert {node.node_id for node in scoped_llama.get_nodes(filters=li_f)} == expected
    finally:
        scoped_llama.close()

    # Searches: only A's matching rows, in every mode the engine has.
    modes = ["dense"] + (["sparse", "hybrid"] if world.sparse else [])
    found: list[set[str]] = []
    found.append({h.id for h in core.search(vector, k=n, filter=core_f, tenant=a)})
    found.append({h.id for h in core.mmr_search(vector, k=2, fetch_k=n, filter=core_f, tenant=a)})
    for mode in modes:
        hits = core.retrieve(mode=mode, vector=vector, text=word, k=n, filter=core_f, tenant=a)
        found.append({h.id for h in hits})
        docs = world.langchain.similarity_search(
            word, k=n, filter=lc_f, retrieval_mode=mode, tenant=a
        )
        found.append({d.id for d in docs if d.id})
    if world.sparse and caps.hybrid_search:
        for fusion in ("server", "client"):
            hits = core.hybrid_search(vector, word, k=n, filter=core_f, fusion=fusion, tenant=a)
            found.append({h.id for h in hits})
    retriever = world.langchain.as_retriever(search_kwargs={"k": n, "filter": lc_f, "tenant": a})
    found.append({d.id for d in retriever.invoke(word) if d.id})
    llama_modes = [VectorStoreQueryMode.DEFAULT, VectorStoreQueryMode.MMR]
    if world.sparse:
        llama_modes += [VectorStoreQueryMode.TEXT_SEARCH, VectorStoreQueryMode.HYBRID]
    for llama_mode in llama_modes:
        query = VectorStoreQuery(
            query_embedding=vector,
            query_str=word,
            similarity_top_k=n,
            mode=llama_mode,
            filters=li_f,
            sparse_top_k=n,
        )
        found.append(set(world.llama.query(query, tenant=a).ids or []))

    async def async_faces() -> list[set[str]]:
        astore = AsyncMilvusStore(core)
        try:
            out = [{r.id for r in await astore.query(core_f, tenant=a)}]
            for mode in modes:
                hits = await astore.retrieve(
                    mode=mode, vector=vector, text=word, k=n, filter=core_f, tenant=a
                )
                out.append({h.id for h in hits})
                docs = await world.langchain.asimilarity_search(
                    word, k=n, filter=lc_f, retrieval_mode=mode, tenant=a
                )
                out.append({d.id for d in docs if d.id})
            query = VectorStoreQuery(
                query_embedding=vector, query_str=word, similarity_top_k=n, filters=li_f
            )
            out.append(set((await world.llama.aquery(query, tenant=a)).ids or []))
            return out
        finally:
            await astore.close()
            await world.langchain.aclose()

    found.extend(asyncio.run(async_faces()))
    for ids in found:
        assert ids <= expected, (ids - expected, case)


def _delete(world: World, case: Case) -> set[str]:
    """Delete with tenant A by the filter (or, without one, by every id); answer what A loses."""
    a, where = case.tenant, case.where
    all_ids = [f"d{i}" for i in range(len(case.docs))]
    ids = None if where is not None else all_ids
    core_f = None if where is None else where.core()
    match case.delete_via:
        case "core":
            world.core.delete(ids, filter=core_f, tenant=a)
        case "core_async":

            async def run() -> None:
                astore = AsyncMilvusStore(world.core)
                try:
                    await astore.delete(ids, filter=core_f, tenant=a)
                finally:
                    await astore.close()

            asyncio.run(run())
        case "langchain":
            world.langchain.delete(
                ids, filter=None if where is None else where.langchain(), tenant=a
            )
        case "langchain_async":

            async def run_lc() -> None:
                try:
                    await world.langchain.adelete(
                        ids, filter=None if where is None else where.langchain(), tenant=a
                    )
                finally:
                    await world.langchain.aclose()

            asyncio.run(run_lc())
        case _:
            world.llama.delete_nodes(
                node_ids=ids, filters=None if where is None else where.llama(), tenant=a
            )
    return case.matching()


def _run_case(uri: str, name: str, sparse: bool, case: Case) -> None:
    world = World(uri, name, sparse)
    try:
        world.write(case)
        before = world.rows_by_tenant()
        assert before == {
            t: {f"d{i}" for i in range(len(case.docs)) if case.owner(i) == t}
            for t in case.tenants
            if any(case.owner(i) == t for i in range(len(case.docs)))
        }
        _check_reads_and_searches(world, case)
        lost = _delete(world, case)
        after = world.rows_by_tenant()
        for tenant, ids in before.items():
            if tenant == case.tenant:
                assert after.get(tenant, set()) == ids - lost
            else:
                assert after.get(tenant) == ids, f"tenant {tenant!r} lost rows"
    finally:
        world.close()


def test_no_call_with_tenant_a_touches_a_row_of_tenant_b(uri: str, collection_name: str) -> None:
    probe = MilvusStore(_spec(collection_name, False), connection=ConnectionConfig(uri=uri))
    caps = probe.capabilities
    if not caps.partitions:
        with pytest.raises(UnsupportedByServerError, match="partition key"):
            probe.upsert([Record(id="x", text="t", vector=embed("t"))], tenant="A")
        assert collection_name not in probe.list_collections()
        probe.close()
        return
    probe.close()
    sparse = caps.bm25_function
    counter = iter(range(10_000))

    @settings(
        max_examples=LITE_EXAMPLES if caps.is_lite else SERVER_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(case=cases())
    def check(case: Case) -> None:
        _run_case(uri, f"{collection_name}_{next(counter)}", sparse, case)

    check()
