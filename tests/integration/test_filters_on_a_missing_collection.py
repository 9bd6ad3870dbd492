"""A filter a read refuses on rows is refused on a collection that does not exist yet too.

Found by the model-based test with a fresh seed (811944658, 30 x 40 steps): a search
whose filter compares a declared INT64 column with a string, or (Milvus Lite 2.5.1) holds
a line break that engine cannot spell, returned ``[]`` while the collection was missing,
and raised ``FilterError`` as soon as it held one row. Every read checks its filter now
before it answers "no collection, no rows"; deletes already did.

Also from that run: LlamaIndex metadata under a key named like a column (``id``,
``text``...) is kept apart, with the framework data, whose nesting limit is twice the
metadata's: a node nesting 100 levels under ``id`` was stored, under any other key
refused. It is held to the metadata's limit now.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import (
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
)

from milvus_plugins.core import (
    AsyncMilvusStore,
    CollectionSpec,
    ConnectionConfig,
    Decay,
    FilterError,
    Grouping,
    InvalidInputError,
    MetadataField,
    MilvusStore,
)
from milvus_plugins.core import filters as core
from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

DIM = 4
Q = [1.0, 0.5, 0.25, 0.0]
BAD = core.eq("n", "x")  # a string for the declared INT64 column


def _bm25(request: pytest.FixtureRequest) -> bool:
    """Milvus 2.3.5 has no BM25 function (the Lite engines have)."""
    return bool(request.node.callspec.params.get("backend_uri") != "server")


def _store(uri: str, name: str, bm25: bool) -> MilvusStore:
    spec = CollectionSpec(
        name=name,
        dim=DIM,
        sparse="bm25" if bm25 else "none",
        metadata_fields=[MetadataField(name="n", type="INT64")],
    )
    return MilvusStore(spec, connection=ConnectionConfig(uri=uri))


KEYWORD_READS = {"sparse_search", "hybrid_search"}


READS: dict[str, Any] = {
    "search": lambda s: s.search(Q, k=2, filter=BAD),
    "search_many": lambda s: s.search_many([Q, Q], k=2, filter=BAD),
    "query": lambda s: s.query(filter=BAD),
    "query_page": lambda s: s.query(filter=BAD, limit=5),
    "count": lambda s: s.count(filter=BAD),
    "sparse_search": lambda s: s.sparse_search("hello", k=2, filter=BAD),
    "hybrid_search": lambda s: s.hybrid_search(Q, "hello", k=2, filter=BAD),
    "mmr_search": lambda s: s.mmr_search(Q, k=2, filter=BAD),
    "range_search": lambda s: s.search(Q, k=2, filter=BAD, score_threshold=0.5),
    "grouped_search": lambda s: s.search(Q, k=2, filter=BAD, grouping=Grouping()),
    "decay_search": lambda s: s.search(
        Q, k=2, filter=BAD, decay=Decay(field="n", origin=0, scale=10)
    ),
    "delete": lambda s: s.delete(filter=BAD),
}


@pytest.mark.parametrize("read", sorted(READS))
def test_each_read_refuses_the_filter_on_a_missing_collection(
    request: pytest.FixtureRequest, uri: str, collection_name: str, read: str
) -> None:
    if read in KEYWORD_READS and not _bm25(request):
        pytest.skip("Milvus 2.3.5 has no BM25 function")
    with _store(uri, collection_name, _bm25(request)) as store:
        assert not store.exists()
        with pytest.raises(FilterError, match="does not fit the declared type INT64"):
            READS[read](store)
        assert not store.exists()  # nothing was created


def test_async_reads_refuse_it_too(
    request: pytest.FixtureRequest, uri: str, collection_name: str
) -> None:
    async def use() -> None:
        async with AsyncMilvusStore(_store(uri, collection_name, _bm25(request))) as astore:
            with pytest.raises(FilterError, match="INT64"):
                await astore.search(Q, k=2, filter=BAD)
            with pytest.raises(FilterError, match="INT64"):
                await astore.query(filter=BAD)
            with pytest.raises(FilterError, match="INT64"):
                await astore.count(filter=BAD)

    asyncio.run(use())


def test_a_valid_filter_on_a_missing_collection_still_finds_nothing(
    request: pytest.FixtureRequest, uri: str, collection_name: str
) -> None:
    with _store(uri, collection_name, _bm25(request)) as store:
        good = core.eq("n", 1)
        assert store.search(Q, k=2, filter=good) == []
        assert store.query(filter=good) == []
        assert store.count(filter=good) == 0
        if _bm25(request):
            assert store.hybrid_search(Q, "hello", k=2, filter=good) == []
        assert not store.exists()


def test_both_adapters_refuse_it_on_a_missing_collection(uri: str, collection_name: str) -> None:
    lang = LangChainStore(
        DeterministicFakeEmbedding(size=DIM),
        uri=uri,
        collection_name=f"{collection_name}_lc",
        metadata_fields={"n": "INT64"},
    )
    with lang, pytest.raises(FilterError, match="INT64"):
        lang.similarity_search("q", k=2, filter={"n": "x"})
    llama = LlamaStore(
        uri=uri, collection_name=f"{collection_name}_li", dim=DIM, metadata_fields={"n": "INT64"}
    )
    filters = MetadataFilters(filters=[MetadataFilter(key="n", value="x")])
    query = VectorStoreQuery(query_embedding=Q, similarity_top_k=2, filters=filters)
    with llama, pytest.raises(FilterError, match="INT64"):
        llama.query(query)


@pytest.mark.lite25
def test_a_line_break_lite25_cannot_spell_is_refused_on_a_missing_collection(
    lite25_server: Any, collection_name: str
) -> None:
    llama = LlamaStore(uri=lite25_server.uri, collection_name=collection_name, dim=DIM)
    filters = MetadataFilters(
        filters=[MetadataFilter(key="a", value=["new\nline"], operator=FilterOperator.IN)]
    )
    query = VectorStoreQuery(query_embedding=Q, similarity_top_k=1, filters=filters)
    with llama, pytest.raises(FilterError):
        llama.query(query)


def _deep(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels - 1):
        value = {"k": value}
    return value


@pytest.mark.parametrize("key", ["id", "text", "metadata", "other"])
def test_llama_metadata_under_a_column_name_has_the_metadata_nesting_limit(
    tmp_path: Path, key: str
) -> None:
    store = LlamaStore(uri=str(tmp_path / "deep.db"), collection_name="deep", dim=DIM)
    with store:
        too_deep = TextNode(id_="deep", text="t", embedding=Q, metadata={key: _deep(100)})
        with pytest.raises(InvalidInputError, match="nests deeper than 64"):
            store.add([too_deep])
        with pytest.raises(InvalidInputError, match="nests deeper than 64"):
            asyncio.run(store.async_add([too_deep]))
        assert store.store.count() == 0
        fits = TextNode(id_="fits", text="t", embedding=Q, metadata={key: _deep(60)})
        assert store.add([fits]) == ["fits"]
        assert store.get_nodes(node_ids=["fits"])[0].metadata == {key: _deep(60)}
