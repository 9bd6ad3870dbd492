"""A retriever inside a small LCEL RAG chain (fake chat model), sync and async."""

from __future__ import annotations

import re

import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompt_values import PromptValue
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable, RunnableLambda, RunnablePassthrough

from milvus_plugins.langchain import MilvusVectorStore

FACTS = [
    Document(
        id="f1",
        page_content="Milvus stores vectors for similarity search.",
        metadata={"topic": "db"},
    ),
    Document(id="f2", page_content="Cats sleep for most of the day.", metadata={"topic": "pets"}),
    Document(
        id="f3", page_content="Trains run on rails between stations.", metadata={"topic": "travel"}
    ),
    Document(
        id="f4", page_content="Milvus Lite runs inside a Python process.", metadata={"topic": "db"}
    ),
]
VOCAB = ["milvus", "vectors", "search", "cats", "sleep", "trains", "rails", "lite", "python"]


class KeywordEmbeddings(Embeddings):
    """Counts vocabulary words, so retrieval is meaningful without a model."""

    def _embed(self, text: str) -> list[float]:
        words = re.findall(r"\w+", text.lower())
        return [float(words.count(w)) for w in VOCAB] + [0.1]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._embed(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._embed(text)


PROMPT = ChatPromptTemplate.from_messages(
    [
        ("system", "Answer from the context only.\n\nContext:\n{context}"),
        ("human", "{question}"),
    ]
)


def _format(docs: list[Document]) -> str:
    return "\n".join(f"[{d.id}] {d.page_content}" for d in docs)


def _chain(retriever: Runnable[str, list[Document]], seen: list[str]) -> Runnable[str, str]:
    def capture(prompt: PromptValue) -> PromptValue:
        seen.append(prompt.to_string())
        return prompt

    model = FakeListChatModel(responses=["Milvus is a vector database."])
    return (
        {"context": retriever | _format, "question": RunnablePassthrough()}
        | PROMPT
        | RunnableLambda(capture)
        | model
        | StrOutputParser()
    )


@pytest.fixture(params=["dense", "hybrid"])
def vectorstore(request: pytest.FixtureRequest, lite_uri: str) -> MilvusVectorStore:
    store = MilvusVectorStore(KeywordEmbeddings(), uri=lite_uri, retrieval_mode=request.param)
    store.add_documents(FACTS)
    return store


def test_retrieved_context_reaches_the_model(vectorstore: MilvusVectorStore) -> None:
    seen: list[str] = []
    retriever = vectorstore.as_retriever(search_kwargs={"k": 2, "filter": {"topic": "db"}})
    answer = _chain(retriever, seen).invoke("What does Milvus store? vectors search")
    assert answer == "Milvus is a vector database."
    [prompt] = seen
    assert "[f1] Milvus stores vectors for similarity search." in prompt
    assert "[f4]" in prompt
    assert "[f2]" not in prompt and "[f3]" not in prompt
    assert "What does Milvus store?" in prompt


def test_mmr_retriever_in_a_chain(vectorstore: MilvusVectorStore) -> None:
    seen: list[str] = []
    retriever = vectorstore.as_retriever(search_type="mmr", search_kwargs={"k": 1, "fetch_k": 4})
    _chain(retriever, seen).invoke("cats sleep")
    assert "[f2] Cats sleep" in seen[0] and "[f1]" not in seen[0]


async def test_chain_runs_async_and_in_batch(vectorstore: MilvusVectorStore) -> None:
    seen: list[str] = []
    retriever = vectorstore.as_retriever(
        search_type="similarity_score_threshold",
        search_kwargs={"k": 4, "score_threshold": 0.6},
    )
    chain = _chain(retriever, seen)
    assert await chain.ainvoke("trains rails") == "Milvus is a vector database."
    assert "[f3] Trains run on rails" in seen[0]
    assert "[f2]" not in seen[0]
    seen.clear()
    chain.batch(["cats sleep", "milvus lite python"])
    assert any("[f2]" in p for p in seen) and any("[f4]" in p for p in seen)
