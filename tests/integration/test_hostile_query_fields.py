"""Careless query-side values a helper found accepted or answered with bare Python errors
(2026-12-06, RELIABILITY row 120): each is now a typed error before anything is read or
embedded, or (numpy integers) taken as the integer it is. Milvus Lite."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import numpy as np
import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import VectorStoreQuery, VectorStoreQueryMode

from milvus_plugins.core import InvalidInputError
from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

DIM = 8
HYBRID, MMR = VectorStoreQueryMode.HYBRID, VectorStoreQueryMode.MMR
TEXTS = [
    "milvus lite runs inside the python process",
    "a milvus cluster scales reads and writes",
    "bm25 keyword search finds exact terms",
    "dense vectors capture meaning of sentences",
    "hybrid search fuses dense and sparse results",
    "sparse vectors hold term weights",
]


def _vector(text: str) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [((b % 17) - 8) / 8.0 + 0.01 for b in digest[:DIM]]


class _Embeddings(Embeddings):
    """Counts the texts it embeds: a refused call must embed nothing."""

    def __init__(self) -> None:
        self.calls = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += len(texts)
        return [_vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        self.calls += 1
        return _vector(text)


@pytest.fixture
def llama(lite_uri: str) -> LlamaStore:
    store = LlamaStore(uri=lite_uri, collection_name="q", dim=DIM, enable_sparse=True)
    store.add([TextNode(id_=f"n{i}", text=t, embedding=_vector(t)) for i, t in enumerate(TEXTS)])
    return store


@pytest.fixture
def chain(lite_uri: str) -> tuple[LangChainStore, _Embeddings]:
    embeddings = _Embeddings()
    store = LangChainStore(embeddings, uri=lite_uri, collection_name="c", retrieval_mode="hybrid")
    store.add_documents([Document(t, id=f"d{i}") for i, t in enumerate(TEXTS)])
    embeddings.calls = 0
    return store, embeddings


def _query(**fields: Any) -> VectorStoreQuery:
    fields.setdefault("query_embedding", _vector("milvus"))
    fields.setdefault("similarity_top_k", 2)
    return VectorStoreQuery(**fields)


@pytest.mark.parametrize("text", [5, ["milvus"], b"milvus", 1.5])
@pytest.mark.parametrize(
    "mode", [VectorStoreQueryMode.DEFAULT, VectorStoreQueryMode.SPARSE, VectorStoreQueryMode.HYBRID]
)
def test_a_query_str_that_is_not_text_is_refused_naming_it(
    llama: LlamaStore, text: object, mode: VectorStoreQueryMode
) -> None:
    query = _query(query_str=text, mode=mode)
    with pytest.raises(InvalidInputError, match="query_str"):
        llama.query(query)
    with pytest.raises(InvalidInputError, match="query_str"):
        asyncio.run(llama.aquery(query))


@pytest.mark.parametrize("mode", ["bogus", "", 3, None])
def test_an_unknown_query_mode_is_a_typed_error_listing_the_modes(
    llama: LlamaStore, mode: object
) -> None:
    with pytest.raises(InvalidInputError, match="default, mmr, sparse, text_search, hybrid"):
        llama.query(_query(mode=mode))


@pytest.mark.parametrize(
    ("fields", "kwargs", "named"),
    [
        ({"alpha": 5}, {}, "alpha"),
        ({"alpha": -3, "mode": VectorStoreQueryMode.SPARSE, "query_str": "milvus"}, {}, "alpha"),
        ({"alpha": float("nan")}, {}, "alpha"),
        ({"alpha": True}, {}, "alpha"),
        ({"mmr_threshold": 5}, {}, "mmr_threshold"),
        ({"mmr_threshold": float("nan")}, {}, "mmr_threshold"),
        ({}, {"mmr_threshold": "abc"}, "mmr_threshold"),
        (
            {"mode": VectorStoreQueryMode.HYBRID, "query_str": "milvus"},
            {"mmr_prefetch_k": 0},
            "mmr_prefetch_k",
        ),
        ({}, {"mmr_prefetch_factor": -1}, "mmr_prefetch_factor"),
        ({}, {"mmr_prefetch_factor": float("inf")}, "mmr_prefetch_factor"),
        (
            {"mode": VectorStoreQueryMode.MMR},
            {"mmr_prefetch_factor": float("inf")},
            "mmr_prefetch_factor",
        ),
    ],
)
def test_a_bad_value_of_another_modes_option_is_refused_in_every_mode(
    llama: LlamaStore, fields: dict[str, Any], kwargs: dict[str, Any], named: str
) -> None:
    with pytest.raises(InvalidInputError, match=named):
        llama.query(_query(**fields), **kwargs)


def test_a_filter_only_query_checks_the_options_too(llama: LlamaStore) -> None:
    for fields in (
        {"alpha": 5, "mode": VectorStoreQueryMode.HYBRID},
        {"mmr_threshold": 5, "mode": VectorStoreQueryMode.MMR},
    ):
        with pytest.raises(InvalidInputError):
            llama.query(VectorStoreQuery(query_str="", similarity_top_k=2, **fields))


def test_valid_options_of_another_mode_are_ignored_as_llama_index_documents(
    llama: LlamaStore,
) -> None:
    plain = llama.query(_query()).ids
    assert llama.query(_query(alpha=0.3, mmr_threshold=0.7), mmr_prefetch_k=10).ids == plain


@pytest.mark.parametrize("kind", [np.int64, np.int32, np.uint16])
def test_numpy_integer_top_k_values_are_taken_as_integers(llama: LlamaStore, kind: type) -> None:
    assert len(llama.query(_query(similarity_top_k=kind(3))).ids or []) == 3
    hybrid = _query(
        mode=VectorStoreQueryMode.HYBRID,
        query_str="milvus search",
        similarity_top_k=kind(2),
        sparse_top_k=kind(4),
        hybrid_top_k=kind(3),
    )
    assert len(llama.query(hybrid).ids or []) == 3
    with pytest.raises(InvalidInputError, match="similarity_top_k"):
        llama.query(_query(similarity_top_k=kind(0)))


@pytest.mark.parametrize("query", ["", "   "])
@pytest.mark.parametrize(
    ("fetch_k", "lambda_mult", "named"),
    [
        (-5, 0.5, "fetch_k"),
        (0, 0.5, "fetch_k"),
        (99999, 0.5, "fetch_k"),
        (20, 7, "lambda_mult"),
        (20, -3, "lambda_mult"),
        (20, float("nan"), "lambda_mult"),
    ],
)
def test_langchain_mmr_with_a_blank_query_checks_fetch_k_and_lambda(
    chain: tuple[LangChainStore, _Embeddings],
    query: str,
    fetch_k: int,
    lambda_mult: float,
    named: str,
) -> None:
    store, embeddings = chain
    with pytest.raises(InvalidInputError, match=named):
        store.max_marginal_relevance_search(query, k=2, fetch_k=fetch_k, lambda_mult=lambda_mult)
    with pytest.raises(InvalidInputError, match=named):
        asyncio.run(
            store.amax_marginal_relevance_search(
                query, k=2, fetch_k=fetch_k, lambda_mult=lambda_mult
            )
        )
    retriever = store.as_retriever(
        search_type="mmr", search_kwargs={"k": 2, "fetch_k": fetch_k, "lambda_mult": lambda_mult}
    )
    with pytest.raises(InvalidInputError, match=named):
        retriever.invoke(query)
    assert embeddings.calls == 0


def test_langchain_mmr_with_a_blank_query_and_good_settings_is_filter_only(
    chain: tuple[LangChainStore, _Embeddings],
) -> None:
    store, embeddings = chain
    assert len(store.max_marginal_relevance_search("", k=2, fetch_k=3, lambda_mult=0.2)) == 2
    assert embeddings.calls == 0


def test_langchain_mmr_refuses_a_bad_lambda_before_searching(
    chain: tuple[LangChainStore, _Embeddings],
) -> None:
    store, _ = chain
    for bad in (7, -0.1, float("nan"), True):
        with pytest.raises(InvalidInputError, match="lambda_mult"):
            store.max_marginal_relevance_search_by_vector(_vector("x"), k=2, lambda_mult=bad)


def test_numpy_floats_are_numbers_for_the_balance_settings(
    llama: LlamaStore, chain: tuple[LangChainStore, _Embeddings]
) -> None:
    """numpy's float32 is not a ``float`` subclass: the first form of these checks
    refused ``np.float32(0.5)`` as "not in [0, 1]" (a helper's review)."""
    store, _ = chain
    for value in (np.float32(0.5), np.float64(0.5), np.float16(0.5)):
        assert len(store.max_marginal_relevance_search("milvus", k=2, lambda_mult=value)) == 2
        assert len(store.max_marginal_relevance_search("", k=2, lambda_mult=value)) == 2
        assert llama.query(_query(alpha=value)).ids
        hybrid = _query(mode=HYBRID, query_str="milvus", alpha=value)
        assert llama.query(hybrid).ids
        assert llama.query(_query(mode=MMR, mmr_threshold=value)).ids
    with pytest.raises(InvalidInputError, match="lambda_mult"):
        store.max_marginal_relevance_search("milvus", k=2, lambda_mult=np.float32("nan"))
