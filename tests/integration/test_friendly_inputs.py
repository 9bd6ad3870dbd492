"""Friendly inputs: numpy values (a pandas row's ``to_dict()``), dates, very long values.

numpy scalars and arrays in metadata are written and read back as the Python values they
hold, through both adapters, and work as filter values; dates are refused before any
embedding, with the ``.isoformat()`` fix; an error echoing a 70,000-character id stays
short. Checked on Milvus Lite.
"""

from __future__ import annotations

import datetime
from typing import Any

import numpy as np
import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import MetadataFilter, MetadataFilters

from milvus_plugins.core import (
    CollectionSpec,
    ConnectionConfig,
    FilterError,
    InvalidInputError,
    MilvusStore,
    Record,
    eq,
    gte,
    in_,
)
from milvus_plugins.core.errors import shown
from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore


def numpy_row(i: int) -> dict[str, Any]:
    """What ``DataFrame.iloc[i].to_dict()`` gives for a frame of mixed columns."""
    return {
        "n": np.int64(i),
        "small": np.int32(-i),
        "score": np.float64(i + 0.5),
        "ratio": np.float32(0.25),
        "flag": np.bool_(i % 2 == 0),
        "label": np.str_(f"row{i}"),
        "vec": np.array([i, i + 1]),
        "nested": {"inner": [np.int64(7), {"deep": np.float32(1.5)}]},
    }


def python_row(i: int) -> dict[str, Any]:
    return {
        "n": i,
        "small": -i,
        "score": i + 0.5,
        "ratio": 0.25,
        "flag": i % 2 == 0,
        "label": f"row{i}",
        "vec": [i, i + 1],
        "nested": {"inner": [7, {"deep": 1.5}]},
    }


def assert_same_types(got: Any, want: Any) -> None:
    assert got == want
    assert type(got) is type(want), (got, want)
    if isinstance(want, dict):
        for key in want:
            assert_same_types(got[key], want[key])
    elif isinstance(want, list):
        for a, b in zip(got, want, strict=True):
            assert_same_types(a, b)


class Counting(DeterministicFakeEmbedding):
    calls: int = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += 1
        return super().embed_documents(texts)


def test_langchain_numpy_metadata_round_trips_as_python_values(lite_uri: str) -> None:
    store = LangChainStore(
        DeterministicFakeEmbedding(size=8),
        uri=lite_uri,
        metadata_fields={"n": "INT64", "score": "DOUBLE", "flag": "BOOL"},
    )
    rows = [numpy_row(i) for i in range(4)]
    store.add_texts(
        [f"text {i}" for i in range(4)], metadatas=rows, ids=[f"d{i}" for i in range(4)]
    )
    for doc in store.get_by_ids(["d0", "d1", "d2", "d3"]):
        assert_same_types(doc.metadata, python_row(int(doc.id[1:])))  # type: ignore[index]
    assert rows[0]["n"].__class__ is np.int64  # the caller's dicts are left alone
    # numpy values as filter values, on typed columns and in the JSON metadata.
    assert [d.id for d in store.similarity_search("x", k=9, filter={"n": np.int64(2)})] == ["d2"]
    found = store.similarity_search("x", k=9, filter={"label": {"$in": np.array(["row1", "row3"])}})
    assert sorted(d.id or "" for d in found) == ["d1", "d3"]
    found = store.similarity_search("x", k=9, filter={"small": {"$lte": np.int32(-2)}})
    assert sorted(d.id or "" for d in found) == ["d2", "d3"]
    assert len(store.similarity_search("x", k=9, filter={"flag": np.bool_(True)})) == 2


def test_llama_index_numpy_metadata_round_trips_and_filters(lite_uri: str) -> None:
    store = LlamaStore(uri=lite_uri, collection_name="np_nodes")
    nodes = [
        TextNode(id_=f"n{i}", text=f"node {i}", metadata=numpy_row(i), embedding=[1.0, float(i)])
        for i in range(3)
    ]
    store.add(nodes)
    for node in store.get_nodes(["n0", "n1", "n2"]):
        assert_same_types(node.metadata, python_row(int(node.node_id[1:])))
    # LlamaIndex's MetadataFilter turns np.int64(1) into 1.0; it still matches the int 1.
    where = MetadataFilters(filters=[MetadataFilter(key="n", value=np.int64(1))])
    assert [n.node_id for n in store.get_nodes(filters=where)] == ["n1"]


def test_core_filter_builders_take_numpy_values(lite_uri: str) -> None:
    with MilvusStore(
        CollectionSpec(name="np_core", dim=2), connection=ConnectionConfig(uri=lite_uri)
    ) as store:
        store.upsert(
            [
                Record(id=f"r{i}", text="t", vector=[1.0, float(i)], metadata={"n": i})
                for i in range(5)
            ]
        )
        assert [r.id for r in store.query(eq("n", np.int64(3)))] == ["r3"]
        assert sorted(r.id for r in store.query(gte("n", np.float32(3.0)))) == ["r3", "r4"]
        assert sorted(r.id for r in store.query(in_("n", np.arange(2)))) == ["r0", "r1"]


@pytest.mark.parametrize(
    "value",
    [
        datetime.datetime(2024, 1, 31, 12, 0),
        datetime.date(2024, 1, 31),
        datetime.time(12, 30),
        np.datetime64("2024-01-31"),
    ],
    ids=["datetime", "date", "time", "datetime64"],
)
def test_dates_are_refused_with_the_isoformat_fix_before_embedding(
    lite_uri: str, value: Any
) -> None:
    embedding = Counting(size=8)
    store = LangChainStore(embedding, uri=lite_uri)
    store.add_texts(["kept"], ids=["k"])
    calls = embedding.calls
    with pytest.raises(InvalidInputError, match=r"\.isoformat\(\)") as info:
        store.add_texts(["a", "b"], metadatas=[{"ok": 1}, {"meta": {"when": [value]}}])
    assert "record 1" in str(info.value) and "['meta']['when'][0]" in str(info.value)
    assert embedding.calls == calls  # refused before embedding
    assert store.store.count() == 1
    with pytest.raises(FilterError, match=r"\.isoformat\(\)"):
        store.similarity_search("a", filter={"when": {"$gte": value}})


def test_a_70000_character_id_is_not_echoed_whole(lite_uri: str) -> None:
    long_id = "x" * 70_000
    store = LangChainStore(DeterministicFakeEmbedding(size=8), uri=lite_uri)
    with pytest.raises(InvalidInputError) as info:
        store.add_texts(["a"], ids=[long_id])
    message = str(info.value)
    assert len(message) < 300 and "70,000 characters" in message
    with pytest.raises(InvalidInputError) as info:
        store.add_texts(["a", "b"], ids=["dup" * 30_000, "dup" * 30_000])
    assert len(str(info.value)) < 300
    with pytest.raises(FilterError) as filter_info:
        store.similarity_search("a", filter={"k": {"$exists": "y" * 70_000}})
    assert len(str(filter_info.value)) < 300


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("abc", "'abc'"),
        (3, "3"),
        (None, "None"),
        (np.int64(3), "np.int64(3)"),
    ],
)
def test_shown_keeps_short_values_exact(value: Any, expected: str) -> None:
    assert shown(value) == expected


@pytest.mark.parametrize(
    "value",
    ["x" * 70_000, list(range(100_000)), {"k": "v" * 10_000}, b"y" * 5000, 10**5000],
    ids=["str", "list", "dict", "bytes", "int"],
)
def test_shown_cuts_long_values(value: Any) -> None:
    text = shown(value)
    assert len(text) <= 130


def test_core_searches_take_a_numpy_query_vector(lite_uri: str) -> None:
    """A numpy query vector works in every search kind (its truth value is ambiguous)."""
    with MilvusStore(
        CollectionSpec(name="np_query", dim=2, sparse="bm25"),
        connection=ConnectionConfig(uri=lite_uri),
    ) as store:
        store.upsert(
            [
                Record(id=f"r{i}", text=f"word{i} shared", vector=[1.0, float(i)], metadata={})
                for i in range(4)
            ]
        )
        query = np.array([1.0, 3.0], dtype=np.float32)
        assert store.search(query, k=1)[0].id == "r3"
        assert store.hybrid_search(query, "word3", k=1)[0].id == "r3"
        assert store.mmr_search(query, k=1, fetch_k=4)[0].id == "r3"
