"""LangChain composite retrievers over MilvusVectorStore vs the reference InMemoryVectorStore.

Every flow runs the same operations on our store (Milvus Lite) and on LangChain's
``InMemoryVectorStore`` with the same deterministic embedding, and compares what a user
sees: the documents (text, metadata, ids) in order, deletes, re-adds and errors.
Queries are never the text of a stored document (a query equal to a document makes MMR's
objective an exact tie), so every order compared is defined by cosine similarity.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from langchain_classic.retrievers import (
    ContextualCompressionRetriever,
    EnsembleRetriever,
    MultiQueryRetriever,
    MultiVectorRetriever,
    ParentDocumentRetriever,
)
from langchain_classic.storage import InMemoryStore
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.documents import BaseDocumentCompressor, Document
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.language_models.fake import FakeListLLM
from langchain_core.runnables import RunnableConfig
from langchain_core.vectorstores import InMemoryVectorStore
from langchain_core.vectorstores.utils import _cosine_similarity as cosine_similarity
from langchain_text_splitters import RecursiveCharacterTextSplitter

from milvus_plugins.langchain import MilvusVectorStore

EMB = DeterministicFakeEmbedding(size=16)
QUERIES = ["w1x3 w1x4 question", "about w3x20", "hello there", "w0x29 w4x1 w2x2"]


def _parents() -> list[Document]:
    return [
        Document(
            page_content=" ".join(f"w{i}x{j}" for j in range(30)),
            metadata={"source": f"s{i}", "page": i, "tags": [f"t{i}", "all"]},
        )
        for i in range(6)
    ]


def _view(docs: list[Document]) -> list[tuple[Any, str, dict[str, Any]]]:
    return [(d.id, d.page_content, d.metadata) for d in docs]


def _view_no_id(docs: list[Document]) -> list[tuple[str, dict[str, Any]]]:
    return [(d.page_content, d.metadata) for d in docs]


@pytest.fixture
def pair(lite_uri: str) -> tuple[MilvusVectorStore, InMemoryVectorStore]:
    return MilvusVectorStore(EMB, uri=lite_uri, collection_name="composite"), InMemoryVectorStore(
        EMB
    )


def _pdr(vs: Any, **kw: Any) -> ParentDocumentRetriever:
    return ParentDocumentRetriever(
        vectorstore=vs,
        docstore=InMemoryStore(),
        child_splitter=RecursiveCharacterTextSplitter(chunk_size=40, chunk_overlap=0),
        **kw,
    )


def _ref_child_ids(ref: InMemoryVectorStore, key: str, value: str) -> list[str]:
    return [i for i, rec in ref.store.items() if rec["metadata"].get(key) == value]


# -- ParentDocumentRetriever ---------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 3, 50])
def test_pdr_with_ids_matches_reference(pair: Any, k: int) -> None:
    ours, ref = pair
    ro, rr = _pdr(ours, search_kwargs={"k": k}), _pdr(ref, search_kwargs={"k": k})
    ids = [f"p{i}" for i in range(6)]
    ro.add_documents(_parents(), ids=ids)
    rr.add_documents(_parents(), ids=ids)
    for q in QUERIES:
        assert _view(ro.invoke(q)) == _view(rr.invoke(q))
    # the children are identical apart from their generated ids
    got = ours.similarity_search(QUERIES[0], k=100)
    exp = ref.similarity_search(QUERIES[0], k=100)
    assert _view_no_id(got) == _view_no_id(exp)
    assert len({d.id for d in got}) == len(got)


def test_pdr_without_ids_parent_splitter_and_readd(pair: Any) -> None:
    ours, ref = pair
    kw: dict[str, Any] = {
        "parent_splitter": RecursiveCharacterTextSplitter(chunk_size=90, chunk_overlap=0),
        "search_kwargs": {"k": 6},
    }
    ro, rr = _pdr(ours, **kw), _pdr(ref, **kw)
    for _ in range(2):  # re-adding without ids duplicates parents and children in both
        ro.add_documents(_parents())
        rr.add_documents(_parents())
        assert len(list(ro.docstore.yield_keys())) == len(list(rr.docstore.yield_keys()))
        for q in QUERIES:
            assert _view_no_id(ro.invoke(q)) == _view_no_id(rr.invoke(q))
    assert len(ours.similarity_search("x", k=500)) == len(ref.store)


def test_pdr_readd_same_ids_with_changed_content(pair: Any) -> None:
    ours, ref = pair
    ro, rr = _pdr(ours, search_kwargs={"k": 8}), _pdr(ref, search_kwargs={"k": 8})
    ids = [f"p{i}" for i in range(6)]
    for r in (ro, rr):
        r.add_documents(_parents(), ids=ids)
    changed = [
        Document(page_content=d.page_content.upper() + " changed", metadata={"v": 2})
        for d in _parents()[:3]
    ]
    for r in (ro, rr):
        r.add_documents(changed, ids=ids[:3])
    for q in [*QUERIES, "W1X3 W1X4 changed"]:
        assert _view(ro.invoke(q)) == _view(rr.invoke(q))


def test_pdr_search_kwargs_filter_matches_callable_filter(pair: Any) -> None:
    ours, ref = pair
    ro = _pdr(ours, search_kwargs={"k": 4, "filter": {"source": {"$in": ["s1", "s4"]}}})
    rr = _pdr(ref, search_kwargs={"k": 4, "filter": lambda d: d.metadata["source"] in ("s1", "s4")})
    ids = [f"p{i}" for i in range(6)]
    ro.add_documents(_parents(), ids=ids)
    rr.add_documents(_parents(), ids=ids)
    for q in QUERIES:
        got = ro.invoke(q)
        assert _view(got) == _view(rr.invoke(q))
        assert {d.metadata["source"] for d in got} <= {"s1", "s4"}
    # filtering on the id_key the retriever stamped on every child
    ro2 = _pdr(ours, search_kwargs={"k": 5, "filter": {"doc_id": "p2"}})
    ro2.docstore = ro.docstore
    only_p2: list[Document] = ro.docstore.mget(["p2"])  # type: ignore[assignment]
    assert _view(ro2.invoke(QUERIES[0])) == _view(only_p2)


@pytest.mark.parametrize("lam", [0.0, 0.3, 0.7, 1.0])
def test_pdr_mmr_matches_reference(pair: Any, lam: float) -> None:
    ours, ref = pair
    sk = {"k": 5, "fetch_k": 12, "lambda_mult": lam}
    ro = _pdr(ours, search_type="mmr", search_kwargs=sk)
    rr = _pdr(ref, search_type="mmr", search_kwargs=sk)
    ids = [f"p{i}" for i in range(6)]
    ro.add_documents(_parents(), ids=ids)
    rr.add_documents(_parents(), ids=ids)
    for q in QUERIES:
        assert _view(ro.invoke(q)) == _view(rr.invoke(q))


def test_pdr_score_threshold_keeps_children_above_cosine(pair: Any) -> None:
    # InMemoryVectorStore has no relevance function: expected = children with cosine >= t
    ours, ref = pair
    sk = {"k": 40, "score_threshold": 0.25}
    ro = _pdr(ours, search_type="similarity_score_threshold", search_kwargs=sk)
    rr = _pdr(ref)
    ids = [f"p{i}" for i in range(6)]
    ro.add_documents(_parents(), ids=ids)
    rr.add_documents(_parents(), ids=ids)
    for q in QUERIES:
        kept = [d for d, s in ref.similarity_search_with_score(q, k=40) if s >= 0.25]
        order: list[str] = []
        for d in kept:
            if d.metadata["doc_id"] not in order:
                order.append(d.metadata["doc_id"])
        assert _view(ro.invoke(q)) == _view(rr.docstore.mget(order))  # type: ignore[arg-type]


async def test_pdr_async_add_and_ainvoke(pair: Any) -> None:
    ours, ref = pair
    ro, rr = _pdr(ours, search_kwargs={"k": 5}), _pdr(ref, search_kwargs={"k": 5})
    ids = [f"p{i}" for i in range(6)]
    await ro.aadd_documents(_parents(), ids=ids)
    await rr.aadd_documents(_parents(), ids=ids)
    for q in QUERIES:
        assert _view(await ro.ainvoke(q)) == _view(await rr.ainvoke(q))
    got = await asyncio.gather(*(ro.ainvoke(q) for q in QUERIES))
    assert [_view(g) for g in got] == [_view(rr.invoke(q)) for q in QUERIES]


def test_pdr_child_metadata_fields(pair: Any) -> None:
    ours, ref = pair
    ro = _pdr(ours, child_metadata_fields=["source"], search_kwargs={"k": 5})
    rr = _pdr(ref, child_metadata_fields=["source"], search_kwargs={"k": 5})
    ids = [f"p{i}" for i in range(6)]
    ro.add_documents(_parents(), ids=ids)
    rr.add_documents(_parents(), ids=ids)
    for q in QUERIES:
        assert _view(ro.invoke(q)) == _view(rr.invoke(q))
    children = ours.similarity_search(QUERIES[1], k=3)
    assert _view_no_id(children) == _view_no_id(ref.similarity_search(QUERIES[1], k=3))
    assert all(set(c.metadata) == {"source", "doc_id"} for c in children)


def test_pdr_delete_parent_and_its_children(pair: Any) -> None:
    ours, ref = pair
    ro, rr = _pdr(ours, search_kwargs={"k": 50}), _pdr(ref, search_kwargs={"k": 50})
    ids = [f"p{i}" for i in range(6)]
    ro.add_documents(_parents(), ids=ids)
    rr.add_documents(_parents(), ids=ids)
    # p1: docstore and children deleted; p3: only the docstore entry (children dangle)
    ro.docstore.mdelete(["p1", "p3"])
    rr.docstore.mdelete(["p1", "p3"])
    ours.delete(filter={"doc_id": "p1"})
    ref.delete(_ref_child_ids(ref, "doc_id", "p1"))
    for q in QUERIES:
        got = ro.invoke(q)
        assert _view(got) == _view(rr.invoke(q))
        assert {d.metadata["source"] for d in got} == {"s0", "s2", "s4", "s5"}
    assert ours.similarity_search("x", k=500, filter={"doc_id": "p1"}) == []
    left = ours.similarity_search("x", k=500)
    assert sorted(_view_no_id(left), key=repr) == sorted(
        ((r["text"], r["metadata"]) for r in ref.store.values()), key=repr
    )
    # re-adding the deleted parent brings it back, exactly once
    ro.add_documents(_parents()[1:2], ids=["p1"])
    rr.add_documents(_parents()[1:2], ids=["p1"])
    for q in QUERIES:
        assert _view(ro.invoke(q)) == _view(rr.invoke(q))


def test_pdr_metadata_kinds_change_between_writes(pair: Any) -> None:
    # the first write infers typed columns; later parents use other kinds for those keys
    ours, ref = pair
    ro, rr = _pdr(ours, search_kwargs={"k": 50}), _pdr(ref, search_kwargs={"k": 50})
    first = [Document(page_content="alpha beta gamma delta", metadata={"page": 1, "flag": True})]
    later = [
        Document(page_content="epsilon zeta eta", metadata={"page": "two", "flag": "yes"}),
        Document(page_content="theta iota kappa", metadata={"page": 3.5, "flag": None}),
        Document(page_content="lambda mu nu xi", metadata={"page": [1, 2], "new": {"a": 1}}),
    ]
    for r in (ro, rr):
        r.add_documents(first, ids=["a"])
        r.add_documents(later, ids=["b", "c", "d"])
    got = ro.invoke("greek letters question")
    assert _view(got) == _view(rr.invoke("greek letters question"))
    assert len(got) == 4
    children = ours.similarity_search("greek letters question", k=50)
    expected = ref.similarity_search("greek letters question", k=50)
    assert _view_no_id(children) == _view_no_id(expected)


# -- MultiVectorRetriever -------------------------------------------------------------------


def _mvr(vs: Any, **kw: Any) -> MultiVectorRetriever:
    return MultiVectorRetriever(vectorstore=vs, docstore=InMemoryStore(), **kw)


@pytest.mark.parametrize("id_key", ["doc_id", "parent_id", "Parent Key"])
def test_mvr_summaries_and_questions(pair: Any, id_key: str) -> None:
    ours, ref = pair
    parents = _parents()
    pids = [f"parent-{i}" for i in range(len(parents))]
    vectors: list[Document] = []
    for i, pid in enumerate(pids):
        vectors.append(Document(page_content=f"summary of part {i} words", metadata={id_key: pid}))
        for j in range(2):
            vectors.append(
                Document(
                    page_content=f"question {j} about {i}?", metadata={id_key: pid, "kind": "q"}
                )
            )
    vectors.append(Document(page_content="orphan summary with no parent", metadata={"x": 1}))
    ro = _mvr(ours, id_key=id_key, search_kwargs={"k": 7})
    rr = _mvr(ref, id_key=id_key, search_kwargs={"k": 7})
    for r, vs in ((ro, ours), (rr, ref)):
        vs.add_documents(vectors, ids=[f"v{n}" for n in range(len(vectors))])
        r.docstore.mset(list(zip(pids, parents, strict=True)))
    for q in [*QUERIES, "question about parts", "orphan summary question"]:
        assert _view(ro.invoke(q)) == _view(rr.invoke(q))
    # deleting one parent's vectors by id and its docstore entry
    gone = [f"v{n}" for n, v in enumerate(vectors) if v.metadata.get(id_key) == "parent-2"]
    for r, vs in ((ro, ours), (rr, ref)):
        vs.delete(gone)
        r.docstore.mdelete(["parent-2"])
    for q in QUERIES:
        got = ro.invoke(q)
        assert _view(got) == _view(rr.invoke(q))
        assert all(d.metadata["source"] != "s2" for d in got)


async def test_mvr_mmr_async(pair: Any) -> None:
    ours, ref = pair
    parents = _parents()
    vectors = [
        Document(page_content=f"note {j} on {i}", metadata={"doc_id": f"P{i}"}, id=f"n{i}-{j}")
        for i in range(len(parents))
        for j in range(3)
    ]
    sk = {"k": 6, "fetch_k": 15, "lambda_mult": 0.4}
    ro = _mvr(ours, search_type="mmr", search_kwargs=sk)
    rr = _mvr(ref, search_type="mmr", search_kwargs=sk)
    for r, vs in ((ro, ours), (rr, ref)):
        await vs.aadd_documents(vectors)
        await r.docstore.amset([(f"P{i}", p) for i, p in enumerate(parents)])
    for q in QUERIES:
        assert _view(await ro.ainvoke(q)) == _view(await rr.ainvoke(q))


# -- EnsembleRetriever, ContextualCompressionRetriever, MultiQueryRetriever ----------------


def _corpus() -> list[Document]:
    return [
        Document(
            page_content=f"doc {i} topic {i % 4} " + " ".join(f"tok{i * 3 + j}" for j in range(3)),
            metadata={"n": i, "group": f"g{i % 3}"},
            id=f"c{i}",
        )
        for i in range(24)
    ]


@pytest.mark.parametrize("id_key", [None, "n"])
def test_ensemble_with_second_vector_retriever(pair: Any, id_key: str | None) -> None:
    ours, ref = pair
    ours.add_documents(_corpus())
    ref.add_documents(_corpus())
    second = InMemoryVectorStore(DeterministicFakeEmbedding(size=24))
    second.add_documents(_corpus()[6:])
    other = second.as_retriever(search_kwargs={"k": 5})
    eo = EnsembleRetriever(
        retrievers=[ours.as_retriever(search_kwargs={"k": 5}), other],
        weights=[0.6, 0.4],
        id_key=id_key,
    )
    er = EnsembleRetriever(
        retrievers=[ref.as_retriever(search_kwargs={"k": 5}), other],
        weights=[0.6, 0.4],
        id_key=id_key,
    )
    for q in [*QUERIES, "topic 2 tok7"]:
        assert _view(eo.invoke(q)) == _view(er.invoke(q))
    got = eo.batch(QUERIES, config={"max_concurrency": 3})
    assert [_view(g) for g in got] == [_view(er.invoke(q)) for q in QUERIES]


async def test_ensemble_async_mmr_and_filter(pair: Any) -> None:
    ours, ref = pair
    ours.add_documents(_corpus())
    ref.add_documents(_corpus())
    eo = EnsembleRetriever(
        retrievers=[
            ours.as_retriever(search_type="mmr", search_kwargs={"k": 4, "fetch_k": 10}),
            ours.as_retriever(search_kwargs={"k": 4, "filter": {"group": "g1"}}),
        ]
    )
    er = EnsembleRetriever(
        retrievers=[
            ref.as_retriever(search_type="mmr", search_kwargs={"k": 4, "fetch_k": 10}),
            ref.as_retriever(
                search_kwargs={"k": 4, "filter": lambda d: d.metadata["group"] == "g1"}
            ),
        ]
    )
    for q in QUERIES:
        assert _view(await eo.ainvoke(q)) == _view(await er.ainvoke(q))


class _EmbeddingsFilter(BaseDocumentCompressor):
    """EmbeddingsFilter's logic (it needs langchain-community, not installed here)."""

    threshold: float
    k: int | None = None

    def compress_documents(
        self, documents: Sequence[Document], query: str, callbacks: Any = None
    ) -> Sequence[Document]:
        if not documents:
            return []
        sims = cosine_similarity(
            [EMB.embed_query(query)], EMB.embed_documents([d.page_content for d in documents])
        )[0]
        idxs = list(np.argsort(sims)[::-1][: self.k]) if self.k is not None else range(len(sims))
        return [
            Document(
                page_content=documents[i].page_content,
                metadata={**documents[i].metadata, "sim": round(float(sims[i]), 6)},
                id=documents[i].id,
            )
            for i in idxs
            if sims[i] > self.threshold
        ]


@pytest.mark.parametrize(("threshold", "k"), [(0.2, None), (-1.0, 3), (0.05, 5)])
def test_contextual_compression_embeddings_filter(
    pair: Any, threshold: float, k: int | None
) -> None:
    ours, ref = pair
    ours.add_documents(_corpus())
    ref.add_documents(_corpus())
    comp = _EmbeddingsFilter(threshold=threshold, k=k)
    co = ContextualCompressionRetriever(
        base_compressor=comp, base_retriever=ours.as_retriever(search_kwargs={"k": 10})
    )
    cr = ContextualCompressionRetriever(
        base_compressor=comp, base_retriever=ref.as_retriever(search_kwargs={"k": 10})
    )
    for q in QUERIES:
        assert _view(co.invoke(q)) == _view(cr.invoke(q))
    assert [_view(d) for d in co.batch(QUERIES)] == [_view(cr.invoke(q)) for q in QUERIES]


def test_multi_query_retriever_with_fake_llm(pair: Any) -> None:
    ours, ref = pair
    ours.add_documents(_corpus())
    ref.add_documents(_corpus())
    answer = "topic 1 tok4 variant\nwhat about tok30\n\nsomething on group two"

    def mqr(vs: Any) -> MultiQueryRetriever:
        return MultiQueryRetriever.from_llm(
            retriever=vs.as_retriever(search_kwargs={"k": 3}),
            llm=FakeListLLM(responses=[answer] * 4),
            include_original=True,
        )

    mo, mr = mqr(ours), mqr(ref)
    for q in QUERIES[:2]:
        assert _view(mo.invoke(q)) == _view(mr.invoke(q))


# -- as_retriever through the Runnable interface ------------------------------------------


class _Counter(BaseCallbackHandler):
    def __init__(self) -> None:
        self.starts: list[str] = []
        self.ends: list[int] = []
        self.tags: list[list[str]] = []
        self.errors = 0

    def on_retriever_start(self, serialized: Any, query: str, **kw: Any) -> None:
        self.starts.append(query)
        self.tags.append(list(kw.get("tags") or []))

    def on_retriever_end(self, documents: Any, **kw: Any) -> None:
        self.ends.append(len(documents))

    def on_retriever_error(self, error: BaseException, **kw: Any) -> None:
        self.errors += 1


_SEARCHES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("similarity", {"k": 4}, {"k": 4}),
    ("similarity", {"k": 30}, {"k": 30}),
    (
        "mmr",
        {"k": 5, "fetch_k": 12, "lambda_mult": 0.6},
        {"k": 5, "fetch_k": 12, "lambda_mult": 0.6},
    ),
    (
        "similarity",
        {"k": 5, "filter": {"group": {"$ne": "g0"}, "n": {"$gte": 4}}},
        {"k": 5, "filter": lambda d: d.metadata["group"] != "g0" and d.metadata["n"] >= 4},
    ),
]


@pytest.mark.parametrize("case", range(len(_SEARCHES)))
def test_as_retriever_batch_matches_reference(pair: Any, case: int) -> None:
    ours, ref = pair
    ours.add_documents(_corpus())
    ref.add_documents(_corpus())
    st, sk_ours, sk_ref = _SEARCHES[case]
    ro = ours.as_retriever(search_type=st, search_kwargs=sk_ours)
    rr = ref.as_retriever(search_type=st, search_kwargs=sk_ref)
    queries = [f"{q} {n}" for n in range(4) for q in QUERIES]
    expected = [_view(rr.invoke(q)) for q in queries]
    counter = _Counter()
    cfg: RunnableConfig = {"tags": ["t1"], "callbacks": [counter], "max_concurrency": 6}
    got = ro.batch(queries, config=cfg)
    assert [_view(g) for g in got] == expected
    assert sorted(counter.starts) == sorted(queries)
    assert sorted(counter.ends) == sorted(len(e) for e in expected)
    assert all("t1" in t for t in counter.tags)


@pytest.mark.parametrize("case", range(len(_SEARCHES)))
async def test_as_retriever_abatch_matches_reference(pair: Any, case: int) -> None:
    ours, ref = pair
    await ours.aadd_documents(_corpus())
    ref.add_documents(_corpus())
    st, sk_ours, sk_ref = _SEARCHES[case]
    ro = ours.as_retriever(search_type=st, search_kwargs=sk_ours)
    rr = ref.as_retriever(search_type=st, search_kwargs=sk_ref)
    queries = [f"{q} {n}" for n in range(4) for q in QUERIES]
    expected = [_view(rr.invoke(q)) for q in queries]
    got = await ro.abatch(queries, config={"max_concurrency": 5, "tags": ["x"]})
    assert [_view(g) for g in got] == expected
    got2 = await asyncio.gather(*(ro.ainvoke(q) for q in queries))
    assert [_view(g) for g in got2] == expected


def test_with_config_with_retry_and_invoke_config(pair: Any) -> None:
    ours, ref = pair
    ours.add_documents(_corpus())
    ref.add_documents(_corpus())
    counter = _Counter()
    ro = (
        ours.as_retriever(search_kwargs={"k": 3})
        .with_config(tags=["outer"], callbacks=[counter], run_name="ours")
        .with_retry(stop_after_attempt=2)
    )
    rr = ref.as_retriever(search_kwargs={"k": 3})
    for q in QUERIES:
        assert _view(ro.invoke(q, config={"tags": ["inner"]})) == _view(rr.invoke(q))
    assert counter.starts == QUERIES
    assert counter.ends == [3] * len(QUERIES)
    assert all({"outer", "inner"} <= set(t) for t in counter.tags)
    got = ro.batch(QUERIES, return_exceptions=True)
    assert [_view(g) for g in got] == [_view(rr.invoke(q)) for q in QUERIES]


def test_retriever_errors_are_typed_and_reported(pair: Any) -> None:
    ours, ref = pair
    ours.add_documents(_corpus())
    ref.add_documents(_corpus())
    # an unknown search_type is refused by LangChain in both
    for vs in (ours, ref):
        with pytest.raises(ValueError):
            vs.as_retriever(search_type="nearest")
    # a malformed filter: ours raises a typed ValueError, reported to callbacks
    counter = _Counter()
    ro = ours.as_retriever(search_kwargs={"k": 3, "filter": {"n": {"$between": [1, 2]}}})
    with pytest.raises(ValueError):
        ro.invoke("q", config={"callbacks": [counter]})
    assert counter.errors == 1
    res = ro.batch(["a", "b"], return_exceptions=True)
    assert all(isinstance(r, ValueError) for r in res)
    # with_retry does not turn a refused call into a success, and still raises the type
    with pytest.raises(ValueError):
        ro.with_retry(stop_after_attempt=2, retry_if_exception_type=(ValueError,)).invoke("q")


def test_invoke_kwargs_override_search_kwargs(pair: Any) -> None:
    ours, ref = pair
    ours.add_documents(_corpus())
    ref.add_documents(_corpus())
    ro, rr = ours.as_retriever(search_kwargs={"k": 4}), ref.as_retriever(search_kwargs={"k": 4})
    assert ro.tags == ["MilvusVectorStore", "DeterministicFakeEmbedding"]
    for q in QUERIES:
        assert _view(ro.invoke(q, k=2)) == _view(rr.invoke(q, k=2))
        got = ro.invoke(q, filter={"n": {"$gt": 15}})
        assert _view(got) == _view(rr.invoke(q, filter=lambda d: d.metadata["n"] > 15))
    cfgs: list[RunnableConfig] = [{"tags": [f"q{i}"]} for i in range(len(QUERIES))]
    got_b = ro.batch(QUERIES, config=cfgs)
    assert [_view(g) for g in got_b] == [_view(rr.invoke(q)) for q in QUERIES]


def test_inputs_not_mutated_and_results_independent(pair: Any) -> None:
    ours, ref = pair
    docs = _corpus()
    for d in docs:
        d.metadata["nested"] = {"a": [d.metadata["n"]]}
    snapshot = [d.model_copy(deep=True) for d in docs]
    ours.add_documents(docs)
    assert docs == snapshot
    ro = _pdr(ours, search_kwargs={"k": 3})
    parents = _parents()
    before = [p.model_copy(deep=True) for p in parents]
    ro.add_documents(parents, ids=[f"p{i}" for i in range(6)])
    assert parents == before
    first = ours.similarity_search(QUERIES[0], k=2, filter={"n": {"$gte": 0}})
    first[0].metadata["nested"]["a"].append(99)
    first[0].metadata["n"] = -1
    again = ours.similarity_search(QUERIES[0], k=2, filter={"n": {"$gte": 0}})
    ref.add_documents(snapshot)
    exp = ref.similarity_search(QUERIES[0], k=2)
    assert _view(again) == _view(exp)


async def test_pdr_async_delete_by_filter(pair: Any) -> None:
    ours, ref = pair
    ro, rr = _pdr(ours, search_kwargs={"k": 40}), _pdr(ref, search_kwargs={"k": 40})
    ids = [f"p{i}" for i in range(6)]
    await ro.aadd_documents(_parents(), ids=ids)
    await rr.aadd_documents(_parents(), ids=ids)
    for pid in ("p0", "p5"):
        await ro.docstore.amdelete([pid])
        await rr.docstore.amdelete([pid])
        assert await ours.adelete(filter={"doc_id": pid})
        await ref.adelete(_ref_child_ids(ref, "doc_id", pid))
    for q in QUERIES:
        got = await ro.ainvoke(q)
        assert _view(got) == _view(await rr.ainvoke(q))
        assert {d.metadata["source"] for d in got} == {"s1", "s2", "s3", "s4"}


@pytest.mark.parametrize("threshold", [0.1, 0.3, 0.6])
async def test_score_threshold_retriever_abatch(pair: Any, threshold: float) -> None:
    ours, ref = pair
    ours.add_documents(_corpus())
    ref.add_documents(_corpus())
    ro = ours.as_retriever(
        search_type="similarity_score_threshold",
        search_kwargs={"k": 24, "score_threshold": threshold},
    )
    got = await ro.abatch(QUERIES, config={"max_concurrency": 2})
    expected = [
        [d for d, s in ref.similarity_search_with_score(q, k=24) if s >= threshold] for q in QUERIES
    ]
    assert [_view(g) for g in got] == [_view(e) for e in expected]


def test_larger_corpus_is_searched_exactly(pair: Any) -> None:
    # the default (HNSW) index must not lose neighbours a flat search finds
    ours, ref = pair
    docs = [Document(f"text {i}", metadata={"g": i % 7}, id=f"i{i}") for i in range(1500)]
    ours.add_documents(docs)
    ref.add_documents(docs)
    for q in (f"query {n}" for n in range(5)):
        assert _view(ours.similarity_search(q, k=100)) == _view(ref.similarity_search(q, k=100))
        got = ours.max_marginal_relevance_search(q, k=8, fetch_k=150)
        assert _view(got) == _view(ref.max_marginal_relevance_search(q, k=8, fetch_k=150))


def test_stricter_inputs_are_refused_typed_and_write_nothing(pair: Any) -> None:
    # where the reference accepts and ours refuses, the refusal is a typed ValueError
    # and nothing is written
    ours, _ = pair
    ours.add_documents([Document("seed", id="seed")])
    bad_writes = [
        [Document("a", id="x"), Document("b", id="x")],  # duplicate ids in one write
        [Document("a", metadata={"g": 2**64}, id="g")],  # beyond int64
    ]
    for docs in bad_writes:
        with pytest.raises(ValueError):
            ours.add_documents(docs)
    assert [d.id for d in ours.similarity_search("anything", k=10)] == ["seed"]
    # an empty Document.id is no id in both: a fresh one is generated
    (new_id,) = ours.add_documents([Document("a", id="")])
    assert new_id and new_id != "" and len(ours.get_by_ids([new_id])) == 1
    for kw in ({"k": 100_000}, {"k": 0}):
        with pytest.raises(ValueError):
            ours.as_retriever(search_kwargs=kw).invoke("q")
