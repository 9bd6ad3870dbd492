"""End to end: VectorStoreIndex over MilvusVectorStore, retrievers, a query engine, reopening."""

from __future__ import annotations

from pathlib import Path

import pytest
from llama_index.core import Document, StorageContext, VectorStoreIndex
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.llms import MockLLM
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores.types import (
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
)

from milvus_plugins.llama_index import MilvusVectorStore

DOCUMENTS = [
    Document(
        id_="zebras",
        text="Zebras are striped horses that graze on the African savanna.",
        metadata={"topic": "animals", "year": 2001},
    ),
    Document(
        id_="rockets",
        text="Rockets burn fuel to lift satellites into orbit around the Earth.",
        metadata={"topic": "space", "year": 2015},
    ),
    Document(
        id_="bread",
        text="Sourdough bread rises slowly because wild yeast ferments the flour.",
        metadata={"topic": "food", "year": 2020},
    ),
]


def build_index(
    uri: str, embed_model: BaseEmbedding, **store_kwargs: object
) -> tuple[VectorStoreIndex, MilvusVectorStore]:
    store = MilvusVectorStore(uri=uri, collection_name="e2e", **store_kwargs)  # type: ignore[arg-type]
    index = VectorStoreIndex.from_documents(
        DOCUMENTS,
        storage_context=StorageContext.from_defaults(vector_store=store),
        embed_model=embed_model,
    )
    return index, store


def test_retriever_finds_the_right_node(lite_uri: str, embed_model: BaseEmbedding) -> None:
    index, _ = build_index(lite_uri, embed_model)
    hits = index.as_retriever(similarity_top_k=2).retrieve("Which horses are striped?")
    assert hits[0].node.ref_doc_id == "zebras"
    assert hits[0].node.metadata == {"topic": "animals", "year": 2001}
    assert hits[0].score is not None and 0.0 <= hits[0].score <= 1.0
    assert hits[0].score > (hits[1].score or 0.0)


def test_query_engine_answers_from_the_right_node(
    lite_uri: str, embed_model: BaseEmbedding
) -> None:
    index, _ = build_index(lite_uri, embed_model)
    engine = index.as_query_engine(llm=MockLLM(), similarity_top_k=1)
    response = engine.query("How does sourdough bread rise?")
    assert [n.node.ref_doc_id for n in response.source_nodes] == ["bread"]
    assert str(response)


async def test_async_retrieval_and_query_engine(lite_uri: str, embed_model: BaseEmbedding) -> None:
    store = MilvusVectorStore(uri=lite_uri, collection_name="e2e_async")
    index = VectorStoreIndex.from_documents(
        DOCUMENTS,
        storage_context=StorageContext.from_defaults(vector_store=store),
        embed_model=embed_model,
        use_async=True,
    )
    hits = await index.as_retriever(similarity_top_k=1).aretrieve("satellites in orbit")
    assert hits[0].node.ref_doc_id == "rockets"
    engine = index.as_query_engine(llm=MockLLM(), similarity_top_k=1)
    response = await engine.aquery("satellites in orbit")
    assert response.source_nodes[0].node.ref_doc_id == "rockets"


def test_reopening_the_file_retrieves_without_reingesting(
    tmp_path: Path, embed_model: BaseEmbedding
) -> None:
    uri = str(tmp_path / "persist.db")
    _, first = build_index(uri, embed_model)
    first.store.close()

    reopened = MilvusVectorStore(uri=uri, collection_name="e2e")
    index = VectorStoreIndex.from_vector_store(reopened, embed_model=embed_model)
    hits = index.as_retriever(similarity_top_k=1).retrieve("striped horses on the savanna")
    assert hits[0].node.ref_doc_id == "zebras"
    assert reopened.store.count() == len(DOCUMENTS)
    response = index.as_query_engine(llm=MockLLM(), similarity_top_k=1).query("wild yeast")
    assert response.source_nodes[0].node.ref_doc_id == "bread"


def test_hybrid_and_keyword_retrievers(lite_uri: str, embed_model: BaseEmbedding) -> None:
    index, _ = build_index(lite_uri, embed_model, enable_sparse=True)
    keyword = index.as_retriever(vector_store_query_mode="text_search", similarity_top_k=1)
    assert keyword.retrieve("sourdough")[0].node.ref_doc_id == "bread"
    hybrid = index.as_retriever(
        vector_store_query_mode="hybrid", similarity_top_k=2, alpha=0.5, sparse_top_k=3
    )
    assert hybrid.retrieve("satellites orbit")[0].node.ref_doc_id == "rockets"
    mmr = index.as_retriever(
        vector_store_query_mode="mmr",
        similarity_top_k=2,
        vector_store_kwargs={"mmr_threshold": 0.5},
    )
    assert mmr.retrieve("striped zebras")[0].node.ref_doc_id == "zebras"


def test_retriever_with_metadata_filters(lite_uri: str, embed_model: BaseEmbedding) -> None:
    index, _ = build_index(lite_uri, embed_model)
    where = MetadataFilters(
        filters=[MetadataFilter(key="year", value=2010, operator=FilterOperator.GT)]
    )
    hits = index.as_retriever(similarity_top_k=3, filters=where).retrieve("striped horses")
    assert {h.node.ref_doc_id for h in hits} == {"rockets", "bread"}


def test_index_insert_and_delete_ref_doc(lite_uri: str, embed_model: BaseEmbedding) -> None:
    index, store = build_index(lite_uri, embed_model)
    index.insert(Document(id_="tea", text="Green tea is steeped in hot water.", metadata={}))
    assert index.as_retriever(similarity_top_k=1).retrieve("green tea")[0].node.ref_doc_id == "tea"
    index.delete_ref_doc("zebras")
    remaining = {n.ref_doc_id for n in store.get_nodes()}
    assert remaining == {"rockets", "bread", "tea"}


@pytest.mark.parametrize("mode", ["default", "mmr"])
def test_empty_index_retrieves_nothing(
    lite_uri: str, embed_model: BaseEmbedding, mode: str
) -> None:
    store = MilvusVectorStore(uri=lite_uri, collection_name="empty")
    index = VectorStoreIndex.from_vector_store(store, embed_model=embed_model)
    assert index.as_retriever(vector_store_query_mode=mode).retrieve("anything") == []


def test_langchain_reader_sees_the_same_metadata(lite_uri: str) -> None:
    pytest.importorskip("langchain_core")
    from langchain_core.documents import Document as LangChainDocument
    from langchain_core.embeddings import DeterministicFakeEmbedding

    from milvus_plugins.langchain import MilvusVectorStore as LangChainStore

    llama_store = MilvusVectorStore(uri=lite_uri, collection_name="shared")
    node = TextNode(
        id_="from-llama",
        text="written by LlamaIndex",
        embedding=[1.0, 0.0, 0.0, 0.0],
        metadata={"author": "Ada", "tags": ["x"]},
        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id="doc-1")},
    )
    llama_store.add([node])
    langchain_store = LangChainStore(
        DeterministicFakeEmbedding(size=4), uri=lite_uri, collection_name="shared"
    )
    (document,) = langchain_store.get_by_ids(["from-llama"])
    assert document.page_content == "written by LlamaIndex"
    assert document.metadata == {"author": "Ada", "tags": ["x"]}

    langchain_store.add_documents(
        [LangChainDocument(page_content="written by LangChain", metadata={"k": 1})],
        ids=["from-langchain"],
    )
    (back,) = llama_store.get_nodes(node_ids=["from-langchain"])
    assert isinstance(back, TextNode)
    assert (back.text, back.metadata) == ("written by LangChain", {"k": 1})
