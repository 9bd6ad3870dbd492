"""Values come back exactly as written, or are refused before anything is written or embedded.

Issue 11 ("Trust"), items 7-10, on real engines (Milvus Lite, and the 2.3.5 server through
``backend_uri`` where the engine matters):

* 7: lone surrogates, ints beyond int64, non-string nested keys, metadata nested deeper
  than 64 levels, out-of-range ints in INT64 columns and ints in DOUBLE columns are typed
  errors before the first batch; every accepted value reads back equal (and of the same
  type).
* 8: vectors beyond float32 and zero vectors under COSINE are typed errors naming the
  record, for writes and for queries.
* 9: LangChain validates texts, ids and metadata before it embeds: a refused batch costs
  no embedding call.
* 10: a failed flush (a real filesystem fault in Milvus Lite's data directory) is a
  :class:`WriteError` listing every id of the call, and re-running the write completes it.
"""

from __future__ import annotations

import asyncio
import math
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from milvus_plugins.core import (
    AsyncMilvusStore,
    CollectionSpec,
    ConnectionConfig,
    InvalidInputError,
    MilvusStore,
    Record,
    WriteError,
    WriteOptions,
    eq,
)
from milvus_plugins.core.fingerprint import PROBE_TEXT
from milvus_plugins.core.records import MAX_METADATA_DEPTH
from milvus_plugins.langchain import MilvusVectorStore

DIM = 4


def vec(i: int = 0) -> list[float]:
    return [1.0 + i, 0.5, 0.25, 0.125]


def open_store(uri: str, collection: str, **spec: Any) -> MilvusStore:
    # One row per request: a value refused mid-write would leave the earlier rows stored.
    return MilvusStore(
        CollectionSpec(name=collection, dim=DIM, **spec),
        connection=ConnectionConfig(uri=uri),
        write=WriteOptions(batch_rows=1),
    )


@pytest.fixture
def store(backend_uri: str, collection_name: str) -> Iterator[MilvusStore]:
    s = open_store(backend_uri, collection_name)
    yield s
    s.drop()
    s.close()


def good_rows(n: int = 3) -> list[Record]:
    return [Record(id=f"g{i}", text=f"good {i}", vector=vec(i)) for i in range(n)]


def assert_refused_before_io(store: MilvusStore, bad: Record, *words: str) -> None:
    """The bad record comes last: nothing before it may be written either."""
    with pytest.raises(InvalidInputError) as info:
        store.upsert([*good_rows(), bad])
    message = str(info.value)
    for word in words:
        assert word in message, message
    assert not store.exists() or store.count() == 0


def deep(levels: int, leaf: Any = 1) -> Any:
    """A value of ``levels`` nested dicts."""
    value = leaf
    for _ in range(levels):
        value = {"a": value}
    return value


# -- 7: lone surrogates ----------------------------------------------------------------


def listed_name(tmp_path: Path) -> str:
    """A real file name as ``os.listdir`` returns it: the undecodable byte as a surrogate."""
    folder = tmp_path / "files"
    folder.mkdir()
    with open(os.path.join(os.fsencode(folder), b"caf\xff.txt"), "wb") as handle:
        handle.write(b"x")
    (name,) = os.listdir(folder)
    assert name == "caf\udcff.txt"
    return name


@pytest.mark.parametrize("where", ["metadata", "nested metadata", "metadata key", "text", "id"])
def test_lone_surrogate_is_refused_before_any_batch_is_written(
    store: MilvusStore, tmp_path: Path, where: str
) -> None:
    name = listed_name(tmp_path)
    bad = {
        "metadata": Record(id="bad", text="t", vector=vec(), metadata={"source": name}),
        "nested metadata": Record(
            id="bad", text="t", vector=vec(), metadata={"files": [{"name": name}]}
        ),
        "metadata key": Record(id="bad", text="t", vector=vec(), metadata={name: 1}),
        "text": Record(id="bad", text=f"see {name}", vector=vec()),
        "id": Record(id=name, text="t", vector=vec()),
    }[where]
    field = where.split()[-1].replace("key", "metadata")
    assert_refused_before_io(store, bad, field, "lone surrogate", "errors='replace'")


def test_lone_surrogate_in_a_typed_column_is_refused(
    backend_uri: str, collection_name: str
) -> None:
    store = open_store(backend_uri, collection_name, metadata_fields={"source": "VARCHAR"})
    bad = Record(id="bad", text="t", vector=vec(), metadata={"source": "caf\udcff"})
    with pytest.raises(InvalidInputError, match="metadata\\['source'\\] contains a lone"):
        store.upsert([Record(id="g", text="t", vector=vec(), metadata={"source": "ok"}), bad])
    assert not store.exists() or store.count() == 0
    store.drop()


# -- 7: integers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "metadata",
    [
        {"n": 2**63},
        {"n": -(2**63) - 1},
        {"n": 2**64 - 1},
        {"n": 2**64},
        {"n": 10**30},
        {"nested": {"n": [1, 2**70]}},
    ],
    ids=["2**63", "-2**63-1", "2**64-1", "2**64", "10**30", "nested"],
)
def test_ints_beyond_int64_are_refused(store: MilvusStore, metadata: dict[str, Any]) -> None:
    bad = Record(id="bad", text="t", vector=vec(), metadata=metadata)
    assert_refused_before_io(store, bad, "outside the int64 range", "store it as a string")


def test_int64_bounds_and_big_exact_ints_round_trip(store: MilvusStore) -> None:
    metadata = {
        "max": 2**63 - 1,
        "min": -(2**63),
        "odd53": 2**53 + 1,  # not representable as a float: must stay an int
        "list": [2**62, -(2**62)],
        "nested": {"deep": {"n": 2**63 - 1}},
    }
    store.upsert([Record(id="r", text="t", vector=vec(), metadata=metadata)])
    (back,) = store.get(["r"])
    assert back.metadata == metadata
    assert all(type(v) is int for v in (back.metadata["max"], back.metadata["odd53"]))
    assert {h.id for h in [*store.query(eq("max", 2**63 - 1))]} == {"r"}


def test_typed_int64_column_refuses_overflow_before_io(
    backend_uri: str, collection_name: str
) -> None:
    store = open_store(backend_uri, collection_name, metadata_fields={"year": "INT64"})
    bad = Record(id="bad", text="t", vector=vec(), metadata={"year": 2**63})
    good = [Record(id=f"g{i}", text="t", vector=vec(i), metadata={"year": i}) for i in range(2)]
    with pytest.raises(InvalidInputError, match=r"metadata\['year'\]=9223372036854775808"):
        store.upsert([*good, bad])
    assert not store.exists() or store.count() == 0
    store.upsert([*good, Record(id="max", text="t", vector=vec(), metadata={"year": 2**63 - 1})])
    assert store.get(["max"])[0].metadata == {"year": 2**63 - 1}
    store.drop()


# -- 7: DOUBLE columns take floats only ------------------------------------------------------


def test_declared_double_column_refuses_ints_and_keeps_floats_exact(
    backend_uri: str, collection_name: str
) -> None:
    store = open_store(backend_uri, collection_name, metadata_fields={"price": "DOUBLE"})
    good = [Record(id="f", text="t", vector=vec(), metadata={"price": 3.0})]
    bad = Record(id="bad", text="t", vector=vec(), metadata={"price": 3})
    with pytest.raises(InvalidInputError) as info:
        store.upsert([*good, bad])
    assert "must be a float" in str(info.value) and "write 3.0" in str(info.value)
    assert not store.exists() or store.count() == 0
    store.upsert([*good, Record(id="g", text="t", vector=vec(1), metadata={"price": 0.1})])
    back = {r.id: r.metadata["price"] for r in store.get(["f", "g"])}
    assert back == {"f": 3.0, "g": 0.1} and all(type(v) is float for v in back.values())
    store.drop()


def test_accelerated_number_column_takes_ints_and_floats_and_reads_them_back_as_written(
    lite_uri: str,
) -> None:
    store = open_store(lite_uri, "inferred")
    store.upsert([Record(id="a", text="t", vector=vec(), metadata={"score": 0.5})])
    assert [f.name for f in store.spec.accelerated_fields] == ["score"]
    later = [{"score": 2}, {"score": 2**60}, {"score": "high"}]
    store.upsert(
        [Record(id=f"b{i}", text="t", vector=vec(i + 1), metadata=m) for i, m in enumerate(later)]
    )
    got = [r.metadata for r in store.get(["a", "b0", "b1", "b2"])]
    assert got == [{"score": 0.5}, *later]
    assert [type(m["score"]) for m in got] == [float, int, int, str]
    assert {r.id for r in store.query(eq("score", 2))} == {"b0"}
    assert {r.id for r in store.query(eq("score", 2**60))} == {"b1"}


# -- 7: keys, nesting, non-finite floats ---------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [{1: "a", "1": "b"}, [{None: 1}], {"ok": {2.5: "x"}}, {True: 1}],
    ids=["int-collides", "None-in-list", "float-deep", "bool"],
)
def test_non_string_nested_keys_are_refused(store: MilvusStore, value: Any) -> None:
    bad = Record(id="bad", text="t", vector=vec(), metadata={"x": value})
    assert_refused_before_io(store, bad, "metadata['x']", "JSON keys are strings", "str()")


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, [1.0, math.nan], {"a": math.inf}])
def test_non_finite_floats_in_metadata_are_refused(store: MilvusStore, value: Any) -> None:
    bad = Record(id="bad", text="t", vector=vec(), metadata={"x": value})
    assert_refused_before_io(store, bad, "metadata", "no NaN or inf")


def test_nesting_up_to_the_cap_round_trips_and_stays_filterable(store: MilvusStore) -> None:
    # The metadata dict is level 1: its value may add MAX_METADATA_DEPTH - 1 levels.
    metadata = {"x": deep(MAX_METADATA_DEPTH - 1), "k": "v"}
    store.upsert([*good_rows(), Record(id="deep", text="t", vector=vec(), metadata=metadata)])
    assert store.get(["deep"])[0].metadata == metadata
    assert [h.id for h in store.search(vec(), k=5, filter=eq("k", "v"))] == ["deep"]
    assert store.delete(filter=eq("k", "v")) >= 1
    assert store.count() == 3


@pytest.mark.parametrize("levels", [MAX_METADATA_DEPTH, 980, 5000])
def test_nesting_beyond_the_cap_is_refused_with_a_clear_error(
    store: MilvusStore, levels: int
) -> None:
    bad = Record(id="bad", text="t", vector=vec(), metadata={"x": deep(levels)})
    assert_refused_before_io(store, bad, f"deeper than {MAX_METADATA_DEPTH} levels", "flatten")
    # Nothing was stored, so filtered reads on the collection still work.
    store.upsert(good_rows())
    assert store.count(eq("k", "v")) == 0


def test_self_containing_metadata_is_refused(store: MilvusStore) -> None:
    loop: dict[str, Any] = {}
    loop["self"] = loop
    bad = Record(id="bad", text="t", vector=vec(), metadata={"x": loop})
    assert_refused_before_io(store, bad, "contains itself")


# -- 8: vectors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "vector",
    [
        [1e39, 0.5, 0.25, 0.125],
        [1.0, -1e39, 0.25, 0.125],
        np.array([1e39, 0.5, 0.25, 0.125]),
    ],
    ids=["list", "list-negative", "numpy-float64"],
)
def test_vector_beyond_float32_is_refused_naming_the_record(
    store: MilvusStore, vector: Any
) -> None:
    bad = Record(id="huge", text="t", vector=vector)
    assert_refused_before_io(
        store, bad, "record 3 (id='huge')", "float32 range", "fix the embedding"
    )


@pytest.mark.parametrize(
    "vector", [[0.0] * DIM, np.zeros(DIM, dtype=np.float32)], ids=["list", "numpy"]
)
def test_zero_vector_is_refused_under_cosine(store: MilvusStore, vector: Any) -> None:
    bad = Record(id="zero", text="t", vector=vector)
    assert_refused_before_io(store, bad, "record 3 (id='zero')", "all zeros", "COSINE")


def test_zero_vector_is_accepted_under_l2(backend_uri: str, collection_name: str) -> None:
    store = open_store(backend_uri, collection_name, metric="L2")
    store.upsert([*good_rows(), Record(id="zero", text="t", vector=[0.0] * DIM)])
    assert store.get(["zero"], include_vectors=True)[0].vector == [0.0] * DIM
    assert store.search([0.0] * DIM, k=1)[0].id == "zero"
    store.drop()


@pytest.mark.parametrize(
    ("query", "words"),
    [([0.0] * DIM, "all zeros"), ([1e39, 0.0, 0.0, 0.0], "float32 range")],
    ids=["zero", "overflow"],
)
def test_query_vector_is_checked_like_a_record(
    store: MilvusStore, query: list[float], words: str
) -> None:
    store.upsert(good_rows())
    searches: list[Callable[[], Any]] = [
        lambda: store.search(query, k=2),
        lambda: store.search_many([vec(), query], k=2),
        lambda: store.mmr_search(query, k=2),
    ]
    for search in searches:
        with pytest.raises(InvalidInputError, match=words):
            search()


def test_langchain_zero_query_vector_is_refused(lite_uri: str) -> None:
    lc = MilvusVectorStore(CountingEmbeddings(), uri=lite_uri, collection_name="q")
    lc.add_texts(["one", "two"])
    for search in (lc.similarity_search_by_vector, lc.max_marginal_relevance_search_by_vector):
        with pytest.raises(InvalidInputError, match="all zeros"):
            search([0.0] * DIM, k=1)


# -- 9: validate before embedding --------------------------------------------------------


class CountingEmbeddings(Embeddings):
    """Deterministic embeddings that count every text they embed (a billed API would)."""

    def __init__(self) -> None:
        self.embedded = 0
        self.calls = 0
        self.probes = 0

    def _one(self, text: str) -> list[float]:
        return [1.0 + len(text) % 5, 0.5, 0.25, float(sum(map(ord, text)) % 7) + 0.1]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if texts == [PROBE_TEXT]:
            # The embedding fingerprint, once when a store creates or opens a collection:
            # counted apart from the documents.
            self.probes += 1
        else:
            self.calls += 1
            self.embedded += len(texts)
        return [self._one(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._one(text)


N_TEXTS = 500
BAD_AT = 377


def bad_batches() -> dict[str, tuple[list[str], list[dict[str, Any]], str]]:
    """Name -> (texts, metadatas, words the error must contain): one bad item at BAD_AT."""
    texts = [f"text {i}" for i in range(N_TEXTS)]

    def with_meta(value: dict[str, Any]) -> list[dict[str, Any]]:
        metas: list[dict[str, Any]] = [{"i": i} for i in range(N_TEXTS)]
        metas[BAD_AT] = value
        return metas

    return {
        "surrogate": (texts, with_meta({"source": "caf\udcff"}), "lone surrogate"),
        "big int": (texts, with_meta({"n": 2**64}), "int64"),
        "non-str key": (texts, with_meta({"m": {1: "a"}}), "JSON keys"),
        "too deep": (texts, with_meta({"m": deep(200)}), "deeper than"),
        "not JSON": (texts, with_meta({"s": {1, 2}}), "JSON-serialisable"),
        "reserved key": (texts, with_meta({"$or": 1}), "reserved"),
    }


def _documents(texts: list[str], metas: list[dict[str, Any]]) -> list[Document]:
    return [Document(page_content=t, metadata=m) for t, m in zip(texts, metas, strict=True)]


ADD_ROUTES: dict[str, Callable[[MilvusVectorStore, list[str], list[dict[str, Any]]], Any]] = {
    "add_texts": lambda s, t, m: s.add_texts(t, m),
    "add_documents": lambda s, t, m: s.add_documents(_documents(t, m)),
    "aadd_texts": lambda s, t, m: asyncio.run(s.aadd_texts(t, m)),
    "aadd_documents": lambda s, t, m: asyncio.run(s.aadd_documents(_documents(t, m))),
}


@pytest.mark.parametrize("route", list(ADD_ROUTES))
@pytest.mark.parametrize("case", list(bad_batches()))
def test_langchain_refuses_a_bad_batch_before_embedding_it(
    lite_uri: str, route: str, case: str
) -> None:
    texts, metas, words = bad_batches()[case]
    embeddings = CountingEmbeddings()
    lc = MilvusVectorStore(embeddings, uri=lite_uri, collection_name="lc")
    with pytest.raises(InvalidInputError, match=words) as info:
        ADD_ROUTES[route](lc, texts, metas)
    assert f"record {BAD_AT}" in str(info.value)
    assert embeddings.embedded == 0 and embeddings.calls == 0
    assert not lc.store.exists()


@pytest.mark.parametrize("use_async", [False, True], ids=["from_texts", "afrom_texts"])
def test_from_texts_refuses_a_bad_batch_before_embedding_it(lite_uri: str, use_async: bool) -> None:
    texts, metas, _ = bad_batches()["big int"]
    embeddings = CountingEmbeddings()
    kwargs = {"uri": lite_uri, "collection_name": "ft"}
    with pytest.raises(InvalidInputError, match="int64"):
        if use_async:
            asyncio.run(MilvusVectorStore.afrom_texts(texts, embeddings, metas, **kwargs))
        else:
            MilvusVectorStore.from_texts(texts, embeddings, metas, **kwargs)
    assert embeddings.embedded == 0


def test_langchain_good_batch_is_embedded_once(lite_uri: str) -> None:
    embeddings = CountingEmbeddings()
    lc = MilvusVectorStore(embeddings, uri=lite_uri, collection_name="lc")
    texts = [f"text {i}" for i in range(N_TEXTS)]
    ids = lc.add_texts(texts, [{"i": i} for i in range(N_TEXTS)])
    assert embeddings.embedded == N_TEXTS and embeddings.calls == 1
    assert embeddings.probes == 1  # the fingerprint, when the collection was created
    assert len(ids) == N_TEXTS and lc.store.count() == N_TEXTS


def test_langchain_bad_embedding_is_still_refused_after_embedding(lite_uri: str) -> None:
    class ZeroEmbeddings(CountingEmbeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            super().embed_documents(texts)
            return [[0.0] * DIM for _ in texts]

    lc = MilvusVectorStore(ZeroEmbeddings(), uri=lite_uri, collection_name="z")
    with pytest.raises(InvalidInputError, match="all zeros"):
        lc.add_texts(["a", "b"])
    assert not lc.store.exists()


# -- 10: a failed flush --------------------------------------------------------------------


def break_data_dir(uri: str, collection: str) -> Path:
    """Put a file where Milvus Lite's flush creates the partition's data directory.

    Inserts only append to the write-ahead log, so they succeed; the flush then fails
    with ``FileExistsError`` inside Milvus Lite, a real filesystem fault.
    """
    data = Path(uri) / "collections" / collection / "partitions" / "_default" / "data"
    assert not data.exists()
    data.parent.mkdir(parents=True, exist_ok=True)
    data.write_bytes(b"")
    return data


def lite_writer(uri: str, name: str) -> MilvusStore:
    return MilvusStore(
        CollectionSpec(name=name, dim=DIM),
        connection=ConnectionConfig(uri=uri),
        write=WriteOptions(batch_rows=2, flush=True),
    )


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_failed_flush_is_a_write_error_listing_every_id(lite_uri: str, use_async: bool) -> None:
    store = lite_writer(lite_uri, "flushy")
    assert store.ensure_collection(DIM)
    blocker = break_data_dir(lite_uri, "flushy")
    records = [Record(id=f"r{i}", text=f"t {i}", vector=vec(i)) for i in range(5)]
    ids = [r.id for r in records]

    async def write_async() -> list[str]:
        return await AsyncMilvusStore(store).upsert(records)

    with pytest.raises(WriteError) as info:
        asyncio.run(write_async()) if use_async else store.upsert(records)
    error = info.value
    assert error.failed_ids == ids and error.written_ids == []
    assert "flushing 'flushy'" in str(error) and "5 not written" in str(error)
    assert store.count() == 0  # Milvus Lite dropped the rows it could not persist
    blocker.unlink()
    assert store.upsert(records) == ids  # re-running the same write completes it
    assert store.count() == 5
    store.close()


def test_langchain_failed_flush_is_a_write_error(lite_uri: str) -> None:
    lc = MilvusVectorStore(CountingEmbeddings(), uri=lite_uri, collection_name="lcf", dim=DIM)
    assert lc.store.ensure_collection(DIM)
    break_data_dir(lite_uri, "lcf")
    with pytest.raises(WriteError) as info:
        lc.add_texts(["a", "b", "c"], ids=["a", "b", "c"])
    assert info.value.failed_ids == ["a", "b", "c"]
