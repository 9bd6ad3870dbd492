"""Accelerator columns (the default) on real Milvus: typed copies from the first write.

The same documents and filters go to a store with the default (accelerator columns) and
to one with ``infer_metadata_fields=False`` that keeps every key in the JSON metadata only:
every filter must select the same documents and every document must read back with
exactly the metadata written. Later writes: a new key goes to the JSON column, a value of
another kind is accepted (its key's filters then read the JSON), and another store opened
on the collection knows the columns and the overflowed keys. On an engine without
nullable fields nothing is inferred.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from pymilvus import MilvusClient

from milvus_plugins.core import eq
from milvus_plugins.langchain import MilvusVectorStore

VOCAB = ["cat", "dog", "fish", "car", "train", "plane"]


class Words(Embeddings):
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.embed_query(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        words = re.findall(r"\w+", text.lower())
        return [float(words.count(w)) for w in VOCAB] + [0.1]


DOCS = [
    Document(
        id=f"d{i}",
        page_content=f"{VOCAB[i % 6]} {VOCAB[(i * 5) % 6]} story {i}",
        metadata={
            "source": f"src{i % 3}",
            "page": i,
            "score": i / 4,
            "draft": i % 2 == 0,
            **({"author": "ann" if i % 4 else None} if i % 3 else {}),
            "tags": ["a", "b"][: i % 3],
            "mixed": i if i % 2 else str(i),
        },
    )
    for i in range(12)
]

FILTERS: list[dict[str, Any]] = [
    {"source": "src1"},
    {"source": {"$ne": "src1"}},
    {"page": {"$gte": 3, "$lt": 9}},
    {"score": {"$gt": 1.0}},
    {"draft": True},
    {"author": "ann"},
    {"author": {"$exists": True}},
    {"author": {"$exists": False}},
    {"author": {"$ne": "ann"}},
    {"source": {"$in": ["src0", "src2"]}, "page": {"$nin": [0, 2]}},
    {"$or": [{"source": "src2"}, {"draft": False}]},
    {"$not": {"source": "src0"}},
    {"tags": {"$contains": "b"}},
    {"mixed": 3},
]


def ids_for(store: MilvusVectorStore, flt: dict[str, Any]) -> set[str]:
    return {d.id for d in store.similarity_search("cat", k=50, filter=flt) if d.id}


@pytest.fixture
def pair(
    backend_uri: str, collection_name: str
) -> Iterator[tuple[MilvusVectorStore, MilvusVectorStore]]:
    inferring = MilvusVectorStore(Words(), uri=backend_uri, collection_name=collection_name)
    plain = MilvusVectorStore(
        Words(),
        uri=backend_uri,
        collection_name=collection_name + "_j",
        infer_metadata_fields=False,
    )
    yield inferring, plain
    for store in (inferring, plain):
        store.store.drop()
        store.store.close()


def columns(store: MilvusVectorStore) -> dict[str, str]:
    core = store.store
    description = core.client.describe_collection(core.spec.name)
    names = set(core.spec.fields.all())
    return {f["name"]: str(f["type"]) for f in description["fields"] if f["name"] not in names}


def test_inferred_columns_answer_every_filter_like_the_json_layout(
    pair: tuple[MilvusVectorStore, MilvusVectorStore],
) -> None:
    inferring, plain = pair
    inferring.add_documents(DOCS)
    plain.add_documents(DOCS)
    inferred = columns(inferring)
    if inferring.store.capabilities.nullable:
        assert set(inferred) == {"source", "page", "score", "draft", "author"}
    else:
        assert inferred == {}  # Milvus 2.3: no nullable fields, so nothing is inferred
    assert columns(plain) == {}
    for flt in FILTERS:
        try:
            expected = ids_for(plain, flt)
        except Exception as exc:  # a filter this backend cannot run must fail alike
            with pytest.raises(type(exc)):
                ids_for(inferring, flt)
            continue
        assert ids_for(inferring, flt) == expected, flt
    got = {d.id: d.metadata for d in inferring.get_by_ids([d.id for d in DOCS if d.id])}
    assert got == {d.id: d.metadata for d in DOCS}


def test_later_writes_new_keys_other_kinds_and_reopening(lite_uri: str) -> None:
    store = MilvusVectorStore(Words(), uri=lite_uri, collection_name="later")
    store.add_documents(DOCS[:4])
    assert "page" in columns(store)
    assert store.store.expression(eq("page", 2)) == "(page == 2.0)"  # the column
    store.add_documents([Document(id="n1", page_content="dog", metadata={"fresh": "yes"})])
    assert "fresh" not in columns(store)
    assert ids_for(store, {"fresh": "yes"}) == {"n1"}
    # A float under a key whose first write held ints fits the number column.
    store.add_documents([Document(id="f1", page_content="car", metadata={"page": 1.5})])
    assert ids_for(store, {"page": {"$gt": 1}}) == {"d2", "d3", "f1"}

    # Another store on the collection writes a value of another kind: accepted, and
    # both stores' filters on the key read the JSON from then on.
    reopened = MilvusVectorStore(Words(), uri=lite_uri, collection_name="later")
    reopened.add_documents([Document(id="bad", page_content="car", metadata={"page": "iv"})])
    assert reopened.get_by_ids(["bad"])[0].metadata == {"page": "iv"}
    for view in (store, reopened):
        assert ids_for(view, {"page": "iv"}) == {"bad"}
        assert ids_for(view, {"page": 2}) == {"d2"}
        assert 'metadata["page"]' in view.store.expression(eq("page", 2))
    assert 'metadata["source"]' not in store.store.expression(eq("source", "src1"))
    third = MilvusVectorStore(Words(), uri=lite_uri, collection_name="later")
    assert ids_for(third, {"page": {"$lte": 1}}) == {"d0", "d1"}
    MilvusClient(uri=lite_uri).close()


async def test_async_first_write_infers_too(lite_uri: str) -> None:
    store = MilvusVectorStore(Words(), uri=lite_uri, collection_name="async_infer")
    await store.aadd_documents(DOCS)
    assert "source" in columns(store)
    found = await store.asimilarity_search("cat", k=50, filter={"source": "src2"})
    assert {d.id for d in found} == {d.id for d in DOCS if d.metadata["source"] == "src2"}


async def test_async_writes_mark_overflow_and_async_filters_honour_it(lite_uri: str) -> None:
    store = MilvusVectorStore(Words(), uri=lite_uri, collection_name="async_overflow")
    await store.aadd_documents(DOCS[:3])
    assert "page" in columns(store)
    odd = Document(id="odd", page_content="cat", metadata={"page": "two"})
    await store.aadd_documents([odd])
    assert "page" in store.store.spec.overflowed_keys
    found = await store.asimilarity_search("cat", k=50, filter={"page": "two"})
    assert {d.id for d in found} == {"odd"}
    found = await store.asimilarity_search("cat", k=50, filter={"page": {"$gte": 1}})
    assert {d.id for d in found} == {"d1", "d2"}
