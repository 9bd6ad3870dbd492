"""Empty text is stored as given; client sparse vectors are checked before any write.

LangChain's ``InMemoryVectorStore`` and LlamaIndex's ``SimpleVectorStore`` (and both
official Milvus integrations) keep a document whose text is empty, and LlamaIndex's
``update_ref_doc`` deletes a document's nodes before inserting the new ones: a store that
refused the empty text there lost the document. A client sparse vector without terms
(an empty text, "!!!") is stored as ``NO_TERMS`` (Milvus refuses a sparse row without a
non-zero weight) and read back as ``{}``; one Milvus would refuse (a negative or
non-finite weight, an index outside uint32) is refused before anything is written.
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
    export_collection,
    import_collection,
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
def test_client_sparse_text_without_terms_is_stored_without_terms(
    client_sparse: Any, text: str
) -> None:
    client_sparse.upsert(
        [
            Record(id="ok", text="fine", vector=[1.0, 1.0]),
            Record(id="x", text=text, vector=[1.0, 1.0]),
        ]
    )
    (got,) = client_sparse.get(["x"], include_vectors=True)
    assert got.text == text and got.sparse == {}  # stored as NO_TERMS, read back as {}
    (query,) = client_sparse.sparse_encoder.encode_queries(["hello"])
    assert [h.id for h in client_sparse.sparse_search(query, k=5)] == ["seed"]


@pytest.mark.parametrize(
    ("sparse", "words"),
    [
        ({1: -0.5}, "non-negative"),
        ({1: math.nan}, "non-negative"),
        ({1: math.inf}, "non-negative"),
        ({1: 1e39}, "float32"),
        ({1: 10**400}, "float32"),
        ({2**32 - 1: 0.5}, "outside"),
        ({2**32 - 2: 0.5}, "reserved"),
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
        Record(id="edge", text="t", vector=[1.0, 1.0], sparse={2**32 - 3: 1.0, 0: 0.0}),
        Record(id="none", text="t", vector=[1.0, 1.0], sparse={}),
        Record(id="tiny", text="t", vector=[1.0, 1.0], sparse={1: 1e-50}),
    ]
    client_sparse.upsert(rows)
    got = {r.id: r.sparse for r in client_sparse.get([r.id for r in rows], include_vectors=True)}
    assert got["np"] == {7: 0.25} and got["edge"] == {2**32 - 3: 1.0}
    assert got["none"] == {} and got["tiny"] == {}


@pytest.mark.parametrize(
    "query",
    [{}, {1: 0.0}, {1: -1.0}, {1: math.nan}, {"x": 1.0}, {1: "x"}, {1: 10**400}],
)
def test_bad_client_sparse_queries_are_typed(client_sparse: Any, query: Any) -> None:
    with pytest.raises(InvalidInputError, match="sparse query"):
        client_sparse.sparse_search(query, k=3)
    with pytest.raises(InvalidInputError, match="sparse query"):
        client_sparse.hybrid_search([1.0, 0.0], query, k=3)


def test_a_row_without_terms_survives_export_and_import(
    client_sparse: Any, lite_uri: str, tmp_path: Any
) -> None:
    client_sparse.upsert([Record(id="blank", text="", vector=[1.0, 1.0])])
    path = tmp_path / "cs.jsonl"
    export_collection(client_sparse, path)
    uri = lite_uri  # the client_sparse store's database
    import_collection(path, "copy", connection=ConnectionConfig(uri=uri))
    copy = _store(uri, "copy", sparse="client", sparse_encoder=BM25Encoder().fit(["x"]))
    try:
        got = {r.id: (r.text, r.sparse) for r in copy.get(["seed", "blank"], include_vectors=True)}
        assert got["blank"] == ("", {}) and got["seed"][1]
    finally:
        copy.close()
