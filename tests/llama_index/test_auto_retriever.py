"""VectorIndexAutoRetriever end to end on Milvus Lite: filter-only and normal questions.

The LLM is scripted (it answers with a fixed ``VectorStoreQuerySpec`` JSON), the
``vector_store_info`` is what :func:`describe_vector_store` builds from the collection,
and the index, retriever, prompt and output parser are LlamaIndex's own.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
from llama_index.core import VectorStoreIndex
from llama_index.core.indices.vector_store.retrievers.auto_retriever import (
    VectorIndexAutoRetriever,
)
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import VectorStoreQuery, VectorStoreQueryMode
from tests.llama_index.conftest import KeywordEmbedding
from tests.support.scripted_llm import ScriptedLLM

from milvus_plugins.core import SearchKind
from milvus_plugins.llama_index import MilvusVectorStore, describe_vector_store
from milvus_plugins.llama_index.vector_store import plan_query

DIM = 256
PAPERS = [
    ("p1", "tumour suppressor genes in breast cancer", "oncology", 2021),
    ("p2", "checkpoint inhibitors and immune response", "immunology", 2021),
    ("p3", "vaccine adjuvants in the elderly", "immunology", 2021),
    ("p4", "radiotherapy dosing for lung cancer", "oncology", 2019),
    ("p5", "gut microbiome and immune tolerance", "immunology", 2020),
    ("p6", "liquid biopsy for early cancer detection", "oncology", 2021),
]


def _spec(query: str, filters: Sequence[tuple[str, str, Any]], top_k: int | None = None) -> str:
    body = {
        "query": query,
        "filters": [{"key": k, "operator": op, "value": v} for k, op, v in filters],
        "top_k": top_k,
    }
    return f"```json\n{json.dumps(body)}\n```"


@pytest.fixture
def index(lite_uri: str, embed_model: KeywordEmbedding) -> VectorStoreIndex:
    store = MilvusVectorStore(uri=lite_uri, collection_name="papers", dim=DIM)
    nodes = [
        TextNode(
            id_=node_id,
            text=text,
            metadata={"field": field, "year": year},
            embedding=embed_model.get_text_embedding(text),
        )
        for node_id, text, field, year in PAPERS
    ]
    store.add(nodes)
    return VectorStoreIndex.from_vector_store(store, embed_model=embed_model)


def _retriever(index: VectorStoreIndex, llm: ScriptedLLM, **kwargs: Any) -> Any:
    store = index.vector_store
    assert isinstance(store, MilvusVectorStore)
    info = describe_vector_store(store, "abstracts of biomedical papers")
    return VectorIndexAutoRetriever(
        index,
        vector_store_info=info,
        llm=llm,
        similarity_top_k=2,
        empty_query_top_k=10,
        **kwargs,
    )


def test_filter_only_question_returns_exactly_the_filtered_nodes(index: VectorStoreIndex) -> None:
    llm = ScriptedLLM(answers=[_spec("", [("year", "==", 2021)])])
    retriever = _retriever(index, llm, default_empty_query_vector=[0.0] * DIM)
    found = retriever.retrieve("papers from 2021")
    # Every matching node (4 > similarity_top_k=2: empty_query_top_k applies), none other;
    # the old code ranked the zero vector, which COSINE refuses.
    assert sorted(n.node.node_id for n in found) == ["p1", "p2", "p3", "p6"]
    assert all(n.score == 1.0 for n in found)
    assert "'immunology', 'oncology'" in llm.prompts[0]  # describe_vector_store's values


async def test_filter_only_question_async(index: VectorStoreIndex) -> None:
    spec = _spec("", [("field", "==", "oncology"), ("year", "<", 2021)])
    llm = ScriptedLLM(answers=[spec])
    retriever = _retriever(index, llm, default_empty_query_vector=[0.0] * DIM)
    found = await retriever.aretrieve("oncology papers before 2021")
    assert [n.node.node_id for n in found] == ["p4"]


def test_normal_question_ranks_within_the_filter(index: VectorStoreIndex) -> None:
    llm = ScriptedLLM(answers=[_spec("immune response", [("year", ">=", 2021)])])
    retriever = _retriever(index, llm, default_empty_query_vector=[0.0] * DIM)
    found = retriever.retrieve("recent work on the immune response")
    assert found[0].node.node_id == "p2"
    assert len(found) == 2 and all(n.node.metadata["year"] >= 2021 for n in found)
    assert all(n.score is not None and n.score < 1.0 for n in found)  # a real ranking


def test_plan_is_filter_only_only_without_text_and_without_a_nonzero_vector() -> None:
    def kind(**fields: Any) -> SearchKind:
        return plan_query(VectorStoreQuery(**fields), {}, has_sparse=True, ranker=None).kind

    assert kind(query_str="", query_embedding=[0.0, 0.0]) is SearchKind.FILTERED
    assert kind(query_str=None, query_embedding=None) is SearchKind.FILTERED
    assert kind(query_str=" ", mode=VectorStoreQueryMode.HYBRID) is SearchKind.FILTERED
    assert kind(query_str=" ", mode=VectorStoreQueryMode.TEXT_SEARCH) is SearchKind.FILTERED
    assert kind(query_str="", query_embedding=[0.0, 1.0]) is SearchKind.DENSE
    assert kind(query_str="q", query_embedding=[0.0, 0.0]) is SearchKind.DENSE
    plan = plan_query(
        VectorStoreQuery(similarity_top_k=3, hybrid_top_k=7, mode=VectorStoreQueryMode.HYBRID),
        {},
        has_sparse=True,
        ranker=None,
    )
    assert plan.k == 7
