"""Empty text is stored as given; client sparse vectors are checked before any write.

LangChain's ``InMemoryVectorStore`` and LlamaIndex's ``SimpleVectorStore`` (and both
official Milvus integrations) keep a document whose text is empty, and LlamaIndex's
``update_ref_doc`` deletes a document's nodes before inserting the new ones: a store that
refused the empty text there lost the document. A client sparse vector Milvus would
refuse (no non-zero weight, a negative or non-finite weight, an index outside uint32)
failed mid-write; it is refused before anything is written.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from milvus_plugins.core import (
    BM25Encoder,
    CollectionSpec,
    ConnectionConfig,
    InvalidInputError,
    MilvusStore,
    Record,
)


def _store(uri: str, name: str, **spec: Any) -> MilvusStore:
    encoder = spec.pop("sparse_encoder", None)
    return MilvusStore(
        CollectionSpec(name=name, dim=2, **spec),
        connection=ConnectionConfig(uri=uri),
        sparse_encoder=encoder,
    )


TEXTS = {"a": "", "b": " \n\t", "c": "hello world"}


def _records() -> list[Record]:
    return [
        Record(id=key, text=text, vector=[1.0, float(i)])
        for i, (key, text) in enumerate(TEXTS.items())
    ]


def test_empty_and_blank_texts_are_stored_as_given(uri: str, collection_name: str) -> None:
    store = _store(uri, collection_name)
    try:
        store.upsert(_records())
        assert {r.id: r.text for r in store.get(list(TEXTS))} == TEXTS
        assert {h.id for h in store.search([1.0, 0.0], k=5)} == set(TEXTS)
    finally:
        store.close()


def test_empty_text_with_the_bm25_function(uri: str, collection_name: str) -> None:
    store = _store(uri, collection_name, sparse="bm25")
    try:
        if not store.capabilities.bm25_function:
            pytest.skip("this engine has no BM25 function (Milvus < 2.5)")
        store.upsert(_records())
        assert {r.id: r.text for r in store.get(list(TEXTS))} == TEXTS
        assert [h.id for h in store.sparse_search("hello", k=5)] == ["c"]
        assert {h.id for h in store.hybrid_search([1.0, 0.0], "hello", k=5)} == set(TEXTS)
    finally:
        store.close()


@pytest.fixture
def client_sparse(lite_uri: str) -> Any:
    store = _store(
        lite_uri, "cs", sparse="client", sparse_encoder=BM25Encoder().fit(["hello world"])
    )
    store.upsert([Record(id="seed", text="hello", vector=[1.0, 0.0])])
    yield store
    store.close()


@pytest.mark.parametrize("text", ["", "  ", "!!!"])
def test_client_sparse_text_without_terms_is_refused(client_sparse: Any, text: str) -> None:
    with pytest.raises(InvalidInputError, match="term"):
        client_sparse.upsert(
            [
                Record(id="ok", text="fine", vector=[1.0, 1.0]),
                Record(id="x", text=text, vector=[1.0, 1.0]),
            ]
        )
    assert client_sparse.count() == 1


@pytest.mark.parametrize(
    ("sparse", "words"),
    [
        ({}, "no non-zero weight"),
        ({1: 0.0}, "no non-zero weight"),
        ({1: 1e-50}, "no non-zero weight"),
        ({1: -0.5}, "non-negative"),
        ({1: math.nan}, "non-negative"),
        ({1: math.inf}, "non-negative"),
        ({1: 1e39}, "float32"),
        ({2**32 - 1: 0.5}, "outside"),
        ({-1: 0.5}, "outside"),
        ({True: 0.5}, "must be an int"),
        ({"1": 0.5}, "must be an int"),
        ({1: "0.5"}, "not a number"),
        ({1: True}, "not a number"),
        ([(1, 0.5)], "must be a dict"),
    ],
)
def test_bad_client_sparse_vectors_are_refused_before_any_write(
    client_sparse: Any, sparse: Any, words: str
) -> None:
    good = Record(id="ok", text="fine", vector=[1.0, 1.0], sparse={3: 0.5})
    bad = Record(id="bad", text="fine", vector=[1.0, 1.0], sparse=sparse)
    with pytest.raises(InvalidInputError, match=words):
        client_sparse.upsert([good, bad])
    assert client_sparse.count() == 1


def test_good_client_sparse_vectors_are_written(client_sparse: Any) -> None:
    rows = [
        Record(id="np", text="t", vector=[1.0, 1.0], sparse={np.int64(7): np.float32(0.25)}),
        Record(id="edge", text="t", vector=[1.0, 1.0], sparse={2**32 - 2: 1.0, 0: 0.0}),
    ]
    client_sparse.upsert(rows)
    assert client_sparse.count() == 3
