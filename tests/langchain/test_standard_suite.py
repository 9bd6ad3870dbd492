"""LangChain's standard vector-store suite (sync and async) against Milvus Lite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from langchain_core.vectorstores import VectorStore
from langchain_tests.integration_tests.vectorstores import VectorStoreIntegrationTests

from milvus_plugins.langchain import MilvusVectorStore


class TestMilvusVectorStoreStandard(VectorStoreIntegrationTests):
    """Every standard test, sync and async, on a fresh Milvus Lite database."""

    @property
    def has_sync(self) -> bool:
        return True

    @property
    def has_async(self) -> bool:
        return True

    @property
    def has_get_by_ids(self) -> bool:
        return True

    @pytest.fixture
    def vectorstore(self, lite_uri: str) -> Iterator[VectorStore]:
        store = MilvusVectorStore(self.get_embeddings(), uri=lite_uri, collection_name="standard")
        try:
            yield store
        finally:
            store.close()


class TestMilvusVectorStoreStandardHybrid(VectorStoreIntegrationTests):
    """The same suite on a hybrid (dense + BM25) store: modes must not change the contract."""

    @pytest.fixture
    def vectorstore(self, lite_uri: str) -> Iterator[VectorStore]:
        store = MilvusVectorStore(
            self.get_embeddings(),
            uri=lite_uri,
            collection_name="standard_hybrid",
            retrieval_mode="hybrid",
        )
        try:
            yield store
        finally:
            store.close()
