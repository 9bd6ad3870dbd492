"""MilvusStore against real Milvus Lite: connection, schema, indexes, writes, reads, management.

Every test talks to an embedded Milvus Lite database in a temp dir; nothing is mocked.
Where a test counts client calls it wraps the real ``MilvusClient`` method and forwards
every call to it.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pymilvus import MilvusException

from milvus_plugins.core import (
    AutoIndex,
    CollectionNotFoundError,
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    FilterError,
    FlatIndex,
    HnswIndex,
    IndexConfig,
    InvalidInputError,
    IvfFlatIndex,
    IvfSq8Index,
    MetadataField,
    MilvusConnectionError,
    MilvusStore,
    Record,
    RetryPolicy,
    SchemaMismatchError,
    UnsupportedByServerError,
    WriteError,
    WriteOptions,
    and_,
    content_id,
    eq,
    gt,
    in_,
    indexes,
    ne,
    recommend_index,
)
from milvus_plugins.core import session as session_module
from milvus_plugins.core.batching import estimate_row_bytes, plan_batches
from milvus_plugins.core.filters import Raw
from milvus_plugins.core.rows import records_to_rows

SECRET = "root:Sup3rS3cretPassw0rd"
DIM = 8


def vec(seed: int, dim: int = DIM) -> list[float]:
    rng = random.Random(seed)
    return [rng.uniform(-1, 1) for _ in range(dim)]


def unit(v: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in v))
    return [x / norm for x in v]


def records(n: int, *, start: int = 0, dim: int = DIM, prefix: str = "r") -> list[Record]:
    return [
        Record(
            id=f"{prefix}{i}",
            text=f"document number {i}",
            vector=vec(i, dim),
            metadata={"n": i, "parity": "even" if i % 2 == 0 else "odd", "tags": [f"t{i % 3}"]},
            doc_id=f"doc{i // 10}",
        )
        for i in range(start, start + n)
    ]


def open_store(uri: str, name: str = "docs", **spec: Any) -> MilvusStore:
    options = {k: spec.pop(k) for k in ("write", "retry", "drop_old", "open_mode") if k in spec}
    return MilvusStore(
        CollectionSpec(name=name, **spec), connection=ConnectionConfig(uri=uri), **options
    )


class CallCounter:
    """Wrap one method of the real client, counting calls and forwarding each."""

    def __init__(self, store: MilvusStore, method: str) -> None:
        self.calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
        self._real: Callable[..., Any] = getattr(store.client, method)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((args, kwargs))
            return self._real(*args, **kwargs)

        setattr(store.client, method, wrapper)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MilvusStore]:
    """A read-only collection of 60 records with declared typed fields."""
    uri = str(tmp_path_factory.mktemp("shared") / "milvus.db")
    store = open_store(
        uri,
        dim=DIM,
        metadata_fields=[
            MetadataField(name="year", type="INT64"),
            MetadataField(name="genre", type="VARCHAR", max_length=32),
        ],
    )
    rows = records(60)
    for r in rows:
        r.metadata["year"] = 2000 + int(r.metadata["n"]) % 5
        r.metadata["genre"] = "scifi" if int(r.metadata["n"]) < 20 else "drama"
    store.upsert(rows)
    yield store
    store.close()


# -- connection --------------------------------------------------------------------------


def test_milvus_uri_and_token_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, lite_uri: str
) -> None:
    monkeypatch.setenv("MILVUS_URI", lite_uri)
    monkeypatch.setenv("MILVUS_TOKEN", SECRET)
    store = MilvusStore(CollectionSpec(name="from_env", dim=DIM))
    assert store.session.connection.uri == lite_uri
    assert store.session.connection.token == SECRET
    store.upsert(records(3))
    assert Path(lite_uri).exists()
    assert store.count() == 3
    assert "Sup3rS3cret" not in repr(store)
    store.close()


def test_unreachable_server_raises_connection_error_without_the_token() -> None:
    store = MilvusStore(
        CollectionSpec(name="c", dim=DIM),
        connection=ConnectionConfig(uri="http://127.0.0.1:1", token=SECRET, timeout=2.0),
        retry=RetryPolicy(attempts=1),
    )
    with pytest.raises(MilvusConnectionError) as info:
        store.count()
    assert info.value.retriable
    error: BaseException | None = info.value
    seen: set[int] = set()
    while error is not None and id(error) not in seen:  # pymilvus chains `raise e from e`
        seen.add(id(error))
        assert "Sup3rS3cret" not in str(error)
        assert "Sup3rS3cret" not in repr(error)
        error = error.__cause__ or error.__context__
    assert len(seen) >= 2


# -- collection spec ---------------------------------------------------------------------


def test_collection_has_the_canonical_fields_and_declared_columns(lite_uri: str) -> None:
    store = open_store(
        lite_uri,
        dim=DIM,
        sparse="bm25",
        metadata_fields={
            "year": "INT64",
            "price": "DOUBLE",
            "ok": "BOOL",
            "genre": {"type": "VARCHAR", "max_length": 16},
            "tags": {"type": "ARRAY", "element_type": "VARCHAR"},
        },
    )
    assert store.ensure_collection()
    stats = store.stats()
    assert stats.fields == {
        "id": "VARCHAR",
        "text": "VARCHAR",
        "vector": "FLOAT_VECTOR",
        "sparse": "SPARSE_FLOAT_VECTOR",
        "metadata": "JSON",
        "doc_id": "VARCHAR",
        "extra": "JSON",
        "year": "INT64",
        "price": "DOUBLE",
        "ok": "BOOL",
        "genre": "VARCHAR",
        "tags": "ARRAY",
    }
    assert stats.dim == DIM and stats.sparse == "bm25"
    # The default dense index on Milvus Lite 3 is HNSW (exact search: index="FLAT").
    assert {i["field"]: i["index_type"] for i in stats.indexes} == {
        "vector": "HNSW",
        "sparse": "SPARSE_INVERTED_INDEX",
    }
    store.upsert(
        [
            Record(
                id="a",
                text="t",
                vector=vec(1),
                metadata={"year": 1999, "ok": True, "tags": ["x", "y"], "free": {"k": [1]}},
            )
        ]
    )
    (back,) = store.get(["a"])
    assert back.metadata == {"year": 1999, "ok": True, "tags": ["x", "y"], "free": {"k": [1]}}
    assert [r.id for r in store.query(and_(eq("year", 1999), eq("ok", True)))] == ["a"]
    store.close()


def test_dimension_is_taken_from_the_first_write(lite_uri: str) -> None:
    store = open_store(lite_uri)
    assert not store.exists()
    assert store.count() == 0 and store.query() == [] and store.search(vec(0), k=3) == []
    with pytest.raises(CollectionNotFoundError, match="does not exist; the first write creates it"):
        store.stats()
    store.upsert(records(2, dim=5))
    assert store.spec.dim == 5
    assert store.stats().dim == 5
    store.close()


def test_metadata_keys_named_like_canonical_fields_round_trip(lite_uri: str) -> None:
    store = open_store(lite_uri, dim=DIM)
    metadata = {"id": "user id", "text": "user text", "vector": [1, 2], "doc_id": "x"}
    store.upsert([Record(id="real", text="real text", vector=vec(1), metadata=metadata)])
    (back,) = store.get(["real"])
    assert (back.id, back.text, back.metadata) == ("real", "real text", metadata)
    assert [r.id for r in store.query(eq("id", "user id"))] == ["real"]
    store.close()


# -- indexes -----------------------------------------------------------------------------

LITE_INDEXES: list[tuple[IndexConfig, dict[str, Any]]] = [
    (FlatIndex(), {}),
    (AutoIndex(), {}),
    (HnswIndex(M=8, ef_construction=32, ef=16), {"ef": 64}),
    (IvfFlatIndex(nlist=4), {"nprobe": 4}),
    (IvfSq8Index(nlist=4, nprobe=2), {"nprobe": 4}),
]


@pytest.mark.parametrize(
    ("index", "knobs"), LITE_INDEXES, ids=[i.index_type.value for i, _ in LITE_INDEXES]
)
def test_index_is_built_and_searched_with_its_knobs(
    lite_uri: str, index: IndexConfig, knobs: dict[str, Any]
) -> None:
    store = open_store(lite_uri, dim=DIM, index=index)
    store.upsert(records(40))
    stats = store.stats()
    dense = next(i for i in stats.indexes if i["field"] == "vector")
    assert dense["index_type"] == index.index_type.value
    assert dense["metric_type"] == "COSINE"
    counter = CallCounter(store, "search")
    hits = store.search(vec(7), k=3, search_params=knobs or None)
    assert hits[0].id == "r7"
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)
    sent = counter.calls[0][1]["search_params"]["params"]
    for knob, value in knobs.items():
        assert sent[knob] == value
    store.close()


_IVF_VECTORS = np.random.default_rng(5).standard_normal((1500, 16)).astype(np.float32)


def _ivf_store(uri: str, name: str, index: IvfFlatIndex) -> MilvusStore:
    store = open_store(uri, name, dim=16, index=index)
    rows = [Record(id=f"v{i}", text="", vector=v.tolist()) for i, v in enumerate(_IVF_VECTORS)]
    store.upsert(rows)
    return store


def _ivf_recall(store: MilvusStore) -> float:
    """Recall@10 against exact cosine neighbours, searched with the store's knobs."""
    unit = _IVF_VECTORS / np.linalg.norm(_IVF_VECTORS, axis=1, keepdims=True)
    found = 0
    for q in range(20):
        exact = {f"v{i}" for i in np.argsort(-(unit @ unit[q]))[:10]}
        hits = store.search(_IVF_VECTORS[q].tolist(), k=10)
        found += len(exact & {h.id for h in hits})
    return found / 200


def test_lite_builds_the_index_parameters_it_was_given(lite_uri: str) -> None:
    """Milvus Lite 3 ignored M / efConstruction / nlist as pymilvus sends them (one entry
    each) and built its defaults (nlist 128): IvfFlatIndex(nlist=1) searched with nprobe 1
    was then approximate. Sent as it reads them too, one list holds every row: exact."""
    one_list = _ivf_store(lite_uri, "one_list", IvfFlatIndex(nlist=1, nprobe=1))
    control = _ivf_store(lite_uri, "many_lists", IvfFlatIndex(nlist=64, nprobe=1))
    # Lite builds indexes in the background and searches rows whole until they are in
    # use: the control (built second) turns approximate once they are.
    deadline = time.monotonic() + 60
    while _ivf_recall(control) >= 0.9:
        assert time.monotonic() < deadline, "Milvus Lite never used the control's index"
        time.sleep(0.5)
    assert _ivf_recall(one_list) == 1.0
    assert one_list.client.describe_index("one_list", "vector")["params"] == {"nlist": 1}
    one_list.close()
    control.close()


def test_search_params_in_pymilvus_nested_form_reach_the_search(lite_uri: str) -> None:
    """``{"metric_type": ..., "params": {...}}`` (pymilvus, langchain-milvus) is read as
    the flat knobs; a metric other than the index's is refused before the search."""
    store = _ivf_store(lite_uri, "nested", IvfFlatIndex(nlist=8, nprobe=1))
    counter = CallCounter(store, "search")
    nested = {"metric_type": "COSINE", "params": {"nprobe": 8}}
    hits = store.search(_IVF_VECTORS[3].tolist(), k=5, search_params=nested)
    assert hits[0].id == "v3"
    assert counter.calls[0][1]["search_params"] == {
        "metric_type": "COSINE",
        "params": {"nprobe": 8},
    }
    with pytest.raises(ConfigError, match="conflicts"):
        store.search(_IVF_VECTORS[3].tolist(), k=5, search_params={"metric_type": "L2"})
    assert len(counter.calls) == 1
    store.close()


def test_index_validation_happens_before_any_io(lite_uri: str) -> None:
    with pytest.raises(ConfigError, match="does not divide dim=10"):
        open_store(lite_uri, dim=10, index={"index_type": "IVF_PQ", "m": 4})
    with pytest.raises(ConfigError, match="M=4096"):
        open_store(lite_uri, dim=10, index={"index_type": "HNSW", "M": 4096})
    with pytest.raises(ConfigError, match="unknown parameter"):
        open_store(lite_uri, dim=10, index={"index_type": "HNSW", "ef_search": 10})
    with pytest.raises(ConfigError, match="MetricType"):
        open_store(lite_uri, dim=10, metric="dot")
    assert not Path(lite_uri).exists()


def test_unknown_search_knob_is_rejected_before_the_search_call(shared: MilvusStore) -> None:
    counter = CallCounter(shared, "search")
    with pytest.raises(ConfigError, match="'nprobe' is not valid for HNSW"):
        shared.search(vec(1), k=3, search_params={"nprobe": 8})
    with pytest.raises(ConfigError, match="not valid"):
        shared.search(vec(1), k=3, search_params={"reorder_k": 8})
    assert counter.calls == []


def test_default_index_on_lite_is_hnsw_with_ef_128_and_flat_stays_one_argument_away(
    lite_uri: str,
) -> None:
    store = open_store(lite_uri, dim=DIM)
    store.upsert(records(40))
    stats = store.stats()
    assert [i["index_type"] for i in stats.indexes if i["field"] == "vector"] == ["HNSW"]
    searches = CallCounter(store, "search")
    hits = store.search(vec(7), k=10)
    assert hits[0].id == "r7"
    assert searches.calls[0][1]["search_params"]["params"] == {"ef": 128}
    # A small collection is searched exactly: the same top 10 as brute force.
    exact = open_store(lite_uri, name="exact", dim=DIM, index="FLAT")
    exact.upsert(records(40))
    assert exact.stats().indexes[0]["index_type"] == "FLAT"
    for seed in range(5):
        assert [h.id for h in store.search(vec(100 + seed), k=10)] == [
            h.id for h in exact.search(vec(100 + seed), k=10)
        ]
    # Reopening the collection finds its index and searches with the same default ef.
    store.close()
    reopened = open_store(lite_uri)
    searches = CallCounter(reopened, "search")
    assert reopened.search(vec(7), k=3)[0].id == "r7"
    assert searches.calls[0][1]["search_params"]["params"] == {"ef": 128}
    reopened.close()
    exact.close()


def test_a_collection_made_with_flat_is_still_searched_as_flat_by_default(
    lite_uri: str,
) -> None:
    # Collections created under the earlier default (FLAT on Milvus Lite) keep it.
    old = open_store(lite_uri, dim=DIM, index="FLAT")
    old.upsert(records(10))
    old.close()
    store = open_store(lite_uri, dim=DIM)
    searches = CallCounter(store, "search")
    assert store.search(vec(4), k=3)[0].id == "r4"
    assert searches.calls[0][1]["search_params"]["params"] == {}
    assert store.spec.index_config == FlatIndex()
    store.close()


def test_hnsw_ef_below_k_is_raised_to_k(lite_uri: str) -> None:
    store = open_store(lite_uri, dim=DIM, index=HnswIndex(ef=4))
    store.upsert(records(30))
    counter = CallCounter(store, "search")
    hits = store.search(vec(3), k=10)
    assert len(hits) == 10
    assert counter.calls[0][1]["search_params"]["params"]["ef"] == 10
    store.close()


def test_default_hnsw_ef_grows_with_the_row_count_read_at_most_once_a_minute(
    lite_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The threshold is 50,000 rows; 30 here keeps the collection small.
    monkeypatch.setattr(indexes, "HNSW_EF_ROWS", 30)
    store = open_store(lite_uri, dim=DIM, sparse="bm25")
    store.upsert(records(20))
    searches = CallCounter(store, "search")
    queries = CallCounter(store, "query")
    assert store.search(vec(1), k=10)[0].id == "r1"
    assert store.search(vec(2), k=10)[0].id == "r2"
    assert [c[1]["search_params"]["params"] for c in searches.calls] == [{"ef": 128}] * 2
    counts = [c for c in queries.calls if c[1].get("output_fields") == ["count(*)"]]
    assert len(counts) == 1  # the second search reused the count
    store.upsert(records(20, start=20))  # 40 rows now, above the threshold
    assert store.search(vec(3), k=10)[0].id == "r3"
    assert searches.calls[-1][1]["search_params"]["params"] == {"ef": 128}  # still cached
    monkeypatch.setattr(session_module, "ROW_COUNT_TTL", 0.0)  # the minute is over
    assert store.search(vec(33), k=10)[0].id == "r33"
    assert searches.calls[-1][1]["search_params"]["params"] == {"ef": 256}
    # An explicit ef is used as given, and no count is made for it.
    before = len(queries.calls)
    store.search(vec(4), k=10, search_params={"ef": 40})
    assert searches.calls[-1][1]["search_params"]["params"] == {"ef": 40}
    assert len(queries.calls) == before
    # A server-fused hybrid search gets the same size-aware ef in its dense leg.
    hybrids = CallCounter(store, "hybrid_search")
    hits = store.hybrid_search(vec(5), "document number 5", k=3, fusion="server")
    assert hits[0].id == "r5"
    dense_leg = hybrids.calls[0][1]["reqs"][0]
    assert dense_leg.param["params"] == {"ef": 256}
    store.close()


def test_a_reopened_hnsw_collection_keeps_the_size_aware_ef(lite_uri: str) -> None:
    store = open_store(lite_uri, dim=DIM, index=HnswIndex(M=8))
    store.upsert(records(5))
    store.close()
    reopened = open_store(lite_uri)
    searches = CallCounter(reopened, "search")
    reopened.search(vec(1), k=3)
    assert searches.calls[0][1]["search_params"]["params"] == {"ef": 128}
    reopened.close()


def test_recommended_index_works_on_lite(lite_uri: str) -> None:
    index = recommend_index(1000, DIM, metric="L2")
    store = open_store(lite_uri, dim=DIM, index=index)
    store.upsert(records(20))
    (best,) = store.search(vec(4), k=1)
    assert best.id == "r4" and best.score == pytest.approx(1.0)
    store.close()


# -- writes ------------------------------------------------------------------------------


def test_upsert_is_split_into_batches_by_rows(lite_uri: str) -> None:
    store = open_store(lite_uri, dim=DIM, write=WriteOptions(batch_rows=7))
    counter = CallCounter(store, "upsert")
    ids = store.upsert(records(50), mode="upsert")
    assert ids == [f"r{i}" for i in range(50)]
    assert [len(args[1]) for args, _ in counter.calls] == [7] * 7 + [1]
    assert store.count() == 50
    store.close()


def test_upsert_is_split_into_batches_by_bytes(lite_uri: str) -> None:
    options = WriteOptions(batch_rows=1000, batch_bytes=4096)
    store = open_store(lite_uri, dim=DIM, write=options)
    rows = records(30)
    for r in rows:
        r.text = f"{r.text} " + "long text ü " * 60
    expected = list(
        plan_batches(records_to_rows(rows, store.spec, store_missing_as_null=True), options)
    )
    counter = CallCounter(store, "upsert")
    store.upsert(rows, mode="upsert")
    sent = [args[1] for args, _ in counter.calls]
    assert len(sent) == len(expected) > 3
    for batch in sent:
        assert sum(estimate_row_bytes(row) for row in batch) <= options.batch_bytes
    assert [row["id"] for batch in sent for row in batch] == [r.id for r in rows]
    assert store.count() == 30
    store.close()


@pytest.mark.parametrize("mode", ["insert", "upsert"])
def test_texts_reach_milvus_byte_for_byte_on_both_write_paths(lite_uri: str, mode: str) -> None:
    # A write hands pymilvus each text as rows.CheckedText, a str that skips pymilvus'
    # per-character check: Milvus must still store and index exactly the text.
    limit = 200
    texts = {
        "ascii": "plain words " * 16,
        "accents": "é" * (limit // 2),  # two bytes each: exactly at the byte limit
        "emoji": "🦜 parrot " * 16 + "🦜🦜",  # 200 bytes, four-byte characters
        "mixed": "tab\tnew\nline ünïcode 中文 parrot",
        "one": "x",
    }
    assert len(texts["emoji"].encode()) == limit == len(texts["accents"].encode())
    store = open_store(lite_uri, dim=DIM, text_max_length=limit, sparse="bm25")
    recs = [Record(id=k, text=t, vector=vec(i)) for i, (k, t) in enumerate(texts.items())]
    rows = records_to_rows(recs, store.spec, store_missing_as_null=True)
    assert [str(row["text"]) for row in rows] == list(texts.values())
    assert store.upsert(recs, mode=mode) == list(texts)
    got = {r.id: r.text for r in store.get(list(texts))}
    assert got == texts
    assert all(type(text) is str for text in got.values())
    hits = store.sparse_search("parrot", k=5)
    assert {h.record.id for h in hits} == {"emoji", "mixed"}
    store.close()


@pytest.mark.parametrize("mode", ["insert", "upsert"])
def test_numpy_vectors_are_written_as_float32_rows_on_both_write_paths(
    lite_uri: str, mode: str
) -> None:
    # numpy vectors stay numpy after the checks (float32 rows, converted by pymilvus as
    # it packs each one); every input form must read back as its float32 values.
    rng = np.random.default_rng(7)
    base = rng.standard_normal((4, DIM))
    given: dict[str, Any] = {
        "f64": base[0],  # float64 array: rounded to float32 once
        "f32": base[1].astype(np.float32),
        "strided": np.ascontiguousarray(np.repeat(base[2], 2)).astype(np.float32)[::2],
        "list": base[3].tolist(),
    }
    store = open_store(lite_uri, dim=DIM, write=WriteOptions(batch_rows=3))
    recs = [Record(id=k, text=f"text {k}", vector=v) for k, v in given.items()]
    rows = records_to_rows(recs, store.spec, store_missing_as_null=True)
    # The byte budget still counts a float32 row's 4 bytes a dimension.
    assert all(estimate_row_bytes(row) >= 4 * DIM for row in rows)
    assert store.upsert(recs, mode=mode) == list(given)
    # The caller's records keep what they were given (the write checks copies).
    assert all(r.vector is given[r.id] for r in recs)
    got = {r.id: r.vector for r in store.get(list(given), include_vectors=True)}
    for key, vector in given.items():
        expected = np.asarray(vector, dtype=np.float32).tolist()
        assert got[key] == expected, key
    hits = store.search(given["f64"], k=1)
    assert hits[0].record.id == "f64"
    store.close()


def test_first_write_into_a_collection_it_creates_is_sent_as_inserts(lite_uri: str) -> None:
    store = open_store(lite_uri, dim=DIM, write=WriteOptions(batch_rows=7))
    inserts, upserts = CallCounter(store, "insert"), CallCounter(store, "upsert")
    assert store.upsert(records(20)) == [f"r{i}" for i in range(20)]
    assert [len(args[1]) for args, _ in inserts.calls] == [7, 7, 6]
    assert upserts.calls == []
    # The collection exists now: the next write goes by id and replaces, never duplicates.
    assert store.upsert(records(20)) == [f"r{i}" for i in range(20)]
    assert len(inserts.calls) == 3 and len(upserts.calls) == 3
    assert store.count() == 20
    store.close()


def test_a_failed_first_insert_is_repeated_as_an_upsert_without_duplicates(
    lite_uri: str,
) -> None:
    # The insert is applied, then its answer is lost (a transient error): the batch must
    # be re-sent as an upsert, or the retry would store every row of it twice.
    store = open_store(lite_uri, dim=DIM, write=WriteOptions(batch_rows=5))
    client = store.client
    real_insert = client.insert
    lost: list[int] = []

    def insert_then_lose_answer(*args: Any, **kwargs: Any) -> Any:
        answer = real_insert(*args, **kwargs)
        if not lost:
            lost.append(1)
            raise MilvusException(code=2, message="service unavailable: answer lost")
        return answer

    client.insert = insert_then_lose_answer
    upserts = CallCounter(store, "upsert")
    assert store.upsert(records(12)) == [f"r{i}" for i in range(12)]
    assert [len(args[1]) for args, _ in upserts.calls] == [5]  # the first batch only
    assert store.count() == 12
    assert sorted(r.id for r in store.query()) == sorted(f"r{i}" for i in range(12))
    store.close()


def test_mode_upsert_never_inserts_even_into_a_new_collection(lite_uri: str) -> None:
    store = open_store(lite_uri, dim=DIM)
    inserts = CallCounter(store, "insert")
    store.upsert(records(4), mode="upsert")
    assert inserts.calls == []
    store.close()


@pytest.mark.parametrize("overlap", [False, True], ids=["sequential", "overlapped"])
def test_streamed_upsert_embeds_one_batch_at_a_time_after_validating_all(
    lite_uri: str, overlap: bool
) -> None:
    store = open_store(lite_uri, write=WriteOptions(batch_rows=4, overlap=overlap))
    calls: list[list[str]] = []
    writes = CallCounter(store, "insert")

    def embed(texts: list[str]) -> list[list[float]]:
        sent = sum(len(args[1]) for args, _ in writes.calls)  # rows of the inserts begun
        if overlap:
            # At most one batch ahead: batch j starts once batch j - 2 is written (the
            # insert of batch j - 1 may have begun), so two batches at most hold vectors.
            assert 4 * (len(calls) - 1) <= sent <= 4 * len(calls)
        else:
            assert sent == 4 * len(calls)  # each batch after the previous one was written
        calls.append(texts)
        return [vec(len(t)) for t in texts]

    bad = [Record(id=f"s{i}", text=f"t{i}") for i in range(10)]
    bad[9].metadata = {"x": math.nan}
    with pytest.raises(InvalidInputError):
        store.upsert(bad, embed=embed)
    assert calls == []  # refused before anything was embedded

    good = [Record(id=f"s{i}", text="x" * (i + 1)) for i in range(10)]
    assert store.upsert(good, embed=embed) == [f"s{i}" for i in range(10)]
    assert [len(c) for c in calls] == [4, 4, 2]
    assert all(r.vector is None for r in good)  # released once written
    assert store.spec.dim == DIM and store.count() == 10
    (best,) = store.search(vec(3), k=1)
    assert best.id == "s2"
    store.close()


def test_streamed_upsert_embeds_the_next_batch_while_writing_this_one(lite_uri: str) -> None:
    store = open_store(lite_uri, dim=DIM, write=WriteOptions(batch_rows=3))  # overlap: default
    started = [threading.Event() for _ in range(4)]
    bars: list[int] = []
    real_insert = store.client.insert
    inserts: list[int] = []

    def insert(*args: Any, **kwargs: Any) -> Any:
        batch = len(inserts)
        inserts.append(batch)
        if batch + 1 < len(started):
            # Without overlap the next batch is embedded only after this insert returns,
            # and this wait would time out.
            assert started[batch + 1].wait(timeout=60), "the next batch was not embedding"
        return real_insert(*args, **kwargs)

    def embed(texts: list[str]) -> list[list[float]]:
        from tqdm import tqdm

        started[sum(e.is_set() for e in started)].set()
        bars.extend(bar.n for bar in list(tqdm._instances) if bar.desc == "upsert")
        return [vec(i) for i in range(len(texts))]

    store.client.insert = insert
    assert len(store.upsert(records(12), embed=embed, progress=True)) == 12
    assert inserts == [0, 1, 2, 3]
    # The bar counts each written batch while the next is embedded: batch j is embedded
    # once batch j - 2 is written (no bar yet while the first is embedded).
    assert bars[:1] == [0] and bars[-1] >= 6
    assert store.count() == 12
    store.close()


@pytest.mark.parametrize("overlap", [False, True], ids=["sequential", "overlapped"])
def test_streamed_upsert_reports_exactly_what_was_written_when_the_model_fails(
    lite_uri: str, overlap: bool
) -> None:
    options = WriteOptions(batch_rows=3, overlap=overlap)
    store = open_store(lite_uri, dim=DIM, write=options)
    batches: list[int] = []

    def embed(texts: list[str]) -> list[list[float]]:
        batches.append(len(texts))
        if len(batches) == 3:
            raise RuntimeError("model server went away")
        return [vec(i) for i in range(len(texts))]

    with pytest.raises(WriteError) as info:
        store.upsert(records(8), embed=embed)
    assert info.value.written_ids == [f"r{i}" for i in range(6)]
    assert info.value.failed_ids == ["r6", "r7"]
    assert isinstance(info.value.__cause__, RuntimeError)
    assert batches == [3, 3, 2]  # nothing embedded after the failure
    assert sorted(r.id for r in store.query()) == info.value.written_ids

    def first_fails(texts: list[str]) -> list[list[float]]:
        raise RuntimeError("no model")

    other = open_store(lite_uri, name="other", dim=DIM, write=options)
    with pytest.raises(RuntimeError, match="no model"):  # nothing written: as it is
        other.upsert(records(4), embed=first_fails)
    store.close()
    other.close()


def test_streamed_upsert_with_a_model_of_another_dimension_is_refused_unwritten(
    lite_uri: str,
) -> None:
    # The collection exists; this store's first call is a streamed write whose model
    # gives 16-d vectors for an 8-d collection.
    with open_store(lite_uri, dim=DIM) as first:
        first.upsert(records(3))
    store = open_store(lite_uri, write=WriteOptions(batch_rows=2))
    batches: list[int] = []

    def embed(texts: list[str]) -> list[list[float]]:
        batches.append(len(texts))
        return [vec(i, dim=2 * DIM) for i in range(len(texts))]

    fresh = [Record(id=f"n{i}", text=f"new text {i}") for i in range(5)]
    with pytest.raises(InvalidInputError, match=f"dimension {2 * DIM} but the collection"):
        store.upsert(fresh, embed=embed)
    assert batches == [2]  # the first chunk only: its vectors told the dimension
    assert sorted(r.id for r in store.query()) == ["r0", "r1", "r2"]
    store.close()


def test_streamed_upsert_write_failure_waits_for_the_model_embedding_ahead(
    lite_uri: str,
) -> None:
    store = open_store(lite_uri, dim=DIM, write=WriteOptions(batch_rows=3, overlap=True))
    real_insert = store.client.insert
    inserts: list[int] = []
    failing = threading.Event()
    finished: list[int] = []

    def insert(*args: Any, **kwargs: Any) -> Any:
        inserts.append(len(args[1]))
        if len(inserts) == 2:
            failing.set()
            raise MilvusException(code=1100, message="invalid parameter: rejected")
        return real_insert(*args, **kwargs)

    def embed(texts: list[str]) -> list[list[float]]:
        calls = len(finished)
        if calls == 2:  # the third batch, embedded while the second one fails
            assert failing.wait(timeout=60)
            time.sleep(0.2)  # still running when the write fails
        finished.append(calls)
        return [vec(i) for i in range(len(texts))]

    store.client.insert = insert
    with pytest.raises(WriteError) as info:
        store.upsert(records(9), embed=embed)
    # The model had finished before the error was raised: nothing outlives the call.
    assert finished == [0, 1, 2]
    assert info.value.written_ids == ["r0", "r1", "r2"]
    assert info.value.failed_ids == [f"r{i}" for i in range(3, 9)]
    store.client.insert = real_insert
    assert sorted(r.id for r in store.query()) == info.value.written_ids
    store.close()


def test_upsert_twice_keeps_one_row_per_id_and_updates_content(lite_uri: str) -> None:
    store = open_store(lite_uri, dim=DIM)
    store.upsert(records(20))
    store.upsert(records(20))
    assert store.count() == 20
    changed = records(5)
    for r in changed:
        r.text = "rewritten"
        r.metadata = {"v": 2}
    store.upsert(changed)
    assert store.count() == 20
    assert {r.text for r in store.get([f"r{i}" for i in range(5)])} == {"rewritten"}
    assert store.count(eq("v", 2)) == 5
    assert len({r.id for r in store.query()}) == 20
    store.close()


def test_content_hash_ids_make_reingest_idempotent(lite_uri: str) -> None:
    store = open_store(lite_uri, dim=DIM)
    corpus = [(f"chunk {i}", {"source": f"file{i % 3}.txt"}) for i in range(12)]

    def ingest() -> list[str]:
        return store.upsert(
            [
                Record(id=content_id(text, meta), text=text, vector=vec(n), metadata=meta)
                for n, (text, meta) in enumerate(corpus)
            ]
        )

    first = ingest()
    second = ingest()
    assert first == second
    assert store.count() == 12
    corpus[0] = ("chunk 0 edited", corpus[0][1])
    third = ingest()
    assert third[0] != first[0] and third[1:] == first[1:]
    assert store.count() == 13
    store.close()


def test_empty_upsert_writes_nothing(lite_uri: str) -> None:
    store = open_store(lite_uri, dim=DIM)
    assert store.upsert([]) == []
    assert not store.exists()
    with pytest.raises(ConfigError, match="mode"):
        store.upsert(records(1), mode="merge")


# -- reads -------------------------------------------------------------------------------


def test_get_returns_records_in_the_order_asked_skipping_missing(shared: MilvusStore) -> None:
    got = shared.get(["r5", "nope", "r1", "r30"])
    assert [r.id for r in got] == ["r5", "r1", "r30"]
    assert got[0].text == "document number 5"
    assert got[0].metadata == {
        "n": 5,
        "parity": "odd",
        "tags": ["t2"],
        "year": 2000,
        "genre": "scifi",
    }
    assert got[0].doc_id == "doc0"
    assert got[0].vector is None
    assert shared.get([]) == []


def test_get_with_vectors_returns_the_stored_vector(shared: MilvusStore) -> None:
    (record,) = shared.get(["r3"], include_vectors=True)
    assert record.vector == pytest.approx(vec(3), abs=1e-6)


def test_query_filters_on_json_and_typed_fields(shared: MilvusStore) -> None:
    assert {r.id for r in shared.query(eq("genre", "scifi"))} == {f"r{i}" for i in range(20)}
    assert {r.id for r in shared.query(and_(eq("year", 2003), gt("n", 40)))} == {
        "r43",
        "r48",
        "r53",
        "r58",
    }
    assert len(shared.query(ne("parity", "even"))) == 30
    assert len(shared.query(in_("tags", ["t1"]))) == 0  # a list is not equal to a scalar
    assert shared.count() == 60
    assert shared.count(eq("parity", "odd")) == 30


def test_query_limit_and_offset_page_through_results(shared: MilvusStore) -> None:
    pages = [shared.query(eq("genre", "scifi"), limit=8, offset=o) for o in (0, 8, 16)]
    assert [len(p) for p in pages] == [8, 8, 4]
    assert len({r.id for p in pages for r in p}) == 20
    with pytest.raises(InvalidInputError, match="limit=0"):
        shared.query(limit=0)


def test_raw_expression_filters_are_passed_through(shared: MilvusStore) -> None:
    assert shared.count('metadata["n"] < 10') == 10
    assert shared.count(Raw("year == 2001")) == 12


def test_dense_search_returns_nearest_first_with_filter(shared: MilvusStore) -> None:
    hits = shared.search(vec(12), k=5)
    assert hits[0].id == "r12"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    filtered = shared.search(vec(12), k=5, filter=eq("genre", "drama"))
    assert len(filtered) == 5
    assert all(int(h.record.metadata["n"]) >= 20 for h in filtered)
    many = shared.search_many([vec(1), vec(2)], k=2)
    assert [m[0].id for m in many] == ["r1", "r2"]
    assert shared.search_many([], k=2) == []  # no query, no result (Milvus failed on it)
    with pytest.raises(InvalidInputError):
        shared.search_many([], k=0)  # the other arguments are still checked


def test_retrieve_dense_and_mmr_search(shared: MilvusStore) -> None:
    assert shared.retrieve(mode="dense", vector=vec(9), k=1)[0].id == "r9"
    with pytest.raises(InvalidInputError, match="needs a query vector"):
        shared.retrieve(mode="dense", text="x")
    diverse = shared.mmr_search(vec(9), k=4, fetch_k=20, lambda_mult=0.3)
    assert len(diverse) == 4 and diverse[0].id == "r9"
    assert len({h.id for h in diverse}) == 4


@pytest.mark.parametrize("metric", ["COSINE", "IP", "L2"])
def test_dense_relevance_is_in_unit_interval_and_one_for_the_exact_match(
    lite_uri: str, metric: str
) -> None:
    store = open_store(lite_uri, dim=DIM, metric=metric)
    rows = records(30)
    for r in rows:
        r.vector = unit(list(r.vector))  # type: ignore[arg-type]
    store.upsert(rows)
    hits = store.search(rows[4].vector, k=30)  # type: ignore[arg-type]
    assert hits[0].id == "r4"
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)
    scores = [h.score for h in hits]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores == sorted(scores, reverse=True)
    assert scores[-1] < 0.9
    store.close()


def test_delete_by_ids_filter_or_both(lite_uri: str) -> None:
    store = open_store(lite_uri, dim=DIM)
    store.upsert(records(20))
    assert store.delete(ids=["r0", "r1"]) == 2
    assert store.count() == 18
    store.delete(filter=eq("parity", "odd"))
    assert store.count() == 9
    assert {r.id for r in store.query()} == {f"r{i}" for i in range(2, 20, 2)}
    store.delete(ids=["r2", "r4", "r6"], filter=gt("n", 3))
    assert {r.id for r in store.query()} == {f"r{i}" for i in (2, 8, 10, 12, 14, 16, 18)}
    assert store.delete(ids=[]) == 0
    with pytest.raises(ConfigError, match="delete needs"):
        store.delete()
    store.close()


# -- persistence and schema checks --------------------------------------------------------


def test_reopened_collection_keeps_its_data_and_is_checked(lite_uri: str) -> None:
    spec: dict[str, Any] = {"dim": DIM, "metric": "IP", "metadata_fields": {"year": "INT64"}}
    first = open_store(lite_uri, **spec)
    rows = records(25)
    for r in rows:
        r.metadata["year"] = 2020
    first.upsert(rows)
    first.close()

    again = open_store(lite_uri, **spec)
    assert again.count() == 25
    assert again.get(["r7"])[0].metadata["year"] == 2020
    assert again.search(vec(7), k=1)[0].id == "r7"
    assert again.spec.dim == DIM
    again.close()

    adopted = open_store(lite_uri, open_mode="adopt")
    assert adopted.count() == 25
    assert adopted.spec.dim == DIM
    assert adopted.spec.metric_type.value == "IP"
    assert [f.name for f in adopted.spec.declared_fields] == ["year"]
    assert adopted.count(eq("year", 2020)) == 25
    adopted.close()


def test_dimension_mismatch_raises_schema_mismatch_saying_the_fix(lite_uri: str) -> None:
    open_store(lite_uri, dim=DIM).upsert(records(3))
    other = open_store(lite_uri, dim=16)
    with pytest.raises(SchemaMismatchError) as info:
        other.count()
    message = str(info.value)
    assert "dim=8" in message and "dim=16" in message
    assert "drop_old=True" in message and "collection_name" in message


def test_metric_mismatch_raises_schema_mismatch_naming_the_metric(lite_uri: str) -> None:
    open_store(lite_uri, dim=DIM, metric="L2").upsert(records(3))
    with pytest.raises(SchemaMismatchError, match=r"uses metric L2 but COSINE.*pass metric='L2'"):
        open_store(lite_uri, dim=DIM).count()


def test_sparse_mode_mismatch_raises_schema_mismatch(lite_uri: str) -> None:
    open_store(lite_uri, dim=DIM).upsert(records(3))
    with pytest.raises(SchemaMismatchError, match="no field 'sparse'"):
        open_store(lite_uri, dim=DIM, sparse="bm25").count()


def test_drop_old_recreates_the_collection_with_the_new_spec(lite_uri: str) -> None:
    open_store(lite_uri, dim=DIM).upsert(records(3))
    fresh = open_store(lite_uri, dim=16, drop_old=True)
    assert fresh.count() == 0
    fresh.upsert(records(2, dim=16))
    assert fresh.count() == 2
    assert open_store(lite_uri, dim=16).count() == 2


# -- management --------------------------------------------------------------------------


def test_stats_report_rows_indexes_load_state_and_version(shared: MilvusStore) -> None:
    stats = shared.stats()
    assert stats.name == "docs"
    assert stats.row_count == 60
    assert stats.load_state == "Loaded"
    assert stats.partitions == ["_default"]
    assert "lite" in stats.server_version
    assert stats.fields["year"] == "INT64"
    assert stats.as_dict()["row_count"] == 60


def test_flush_compact_and_load_release(lite_uri: str) -> None:
    store = open_store(lite_uri, dim=DIM, write=WriteOptions(flush=False))
    store.upsert(records(10))
    store.delete(ids=["r0"])
    store.flush()
    assert isinstance(store.compact(), int)
    store.release()
    store.load()
    assert store.count() == 9
    store.close()


def test_partitions_can_be_created_listed_and_dropped(lite_uri: str) -> None:
    store = open_store(lite_uri, dim=DIM)
    store.upsert(records(4))
    store.create_partition("archive")
    assert sorted(store.list_partitions()) == ["_default", "archive"]
    store.drop_partition("archive")
    assert store.list_partitions() == ["_default"]
    assert store.count() == 4
    store.close()


def test_list_and_drop_collections(lite_uri: str) -> None:
    a = open_store(lite_uri, name="alpha", dim=DIM)
    b = open_store(lite_uri, name="beta", dim=DIM)
    a.upsert(records(2))
    b.upsert(records(2))
    assert sorted(a.list_collections()) == ["alpha", "beta"]
    a.drop()
    assert b.list_collections() == ["beta"]
    assert not a.exists()
    a.upsert(records(1))
    assert a.count() == 1
    a.close()
    b.close()


# -- bad input: rejected before anything is written --------------------------------------


def _bad(**overrides: Any) -> Record:
    fields: dict[str, Any] = {"id": "bad", "text": "bad record", "vector": vec(99)}
    fields.update(overrides)
    return Record(**fields)


BAD_INPUT: list[tuple[str, list[Record]]] = [
    ("wrong dimension", [_bad(vector=vec(1, dim=DIM + 1))]),
    ("NaN vector", [_bad(vector=[math.nan] * DIM)]),
    ("inf vector", [_bad(vector=[1.0] * (DIM - 1) + [math.inf])]),
    ("text too long", [_bad(text="x" * 101)]),
    ("metadata set", [_bad(metadata={"s": {1, 2}})]),
    ("metadata object", [_bad(metadata={"o": object()})]),
    ("metadata NaN", [_bad(metadata={"x": math.nan})]),
    ("metadata non-string key", [_bad(metadata={1: "x"})]),
    ("duplicate ids", [_bad(id="dup"), _bad(id="dup")]),
    ("int id", [_bad(id=7)]),
    ("empty id", [_bad(id="")]),
    ("missing vector", [_bad(vector=None)]),
    ("wrong typed field", [_bad(metadata={"year": "1999"})]),
]


@pytest.fixture
def guarded(lite_uri: str) -> Iterator[tuple[MilvusStore, CallCounter]]:
    store = open_store(lite_uri, dim=DIM, text_max_length=100, metadata_fields={"year": "INT64"})
    store.upsert(records(5))
    yield store, CallCounter(store, "upsert")
    store.close()


@pytest.mark.parametrize(("case", "bad"), BAD_INPUT, ids=[c for c, _ in BAD_INPUT])
def test_bad_record_is_rejected_before_anything_is_written(
    guarded: tuple[MilvusStore, CallCounter], case: str, bad: list[Record]
) -> None:
    store, counter = guarded
    good = Record(id="good", text="fine", vector=vec(50))
    with pytest.raises(InvalidInputError):
        store.upsert([good, *bad])
    assert counter.calls == []
    assert store.count() == 5
    assert store.get(["good"]) == []


BAD_QUERIES: list[tuple[str, Callable[[MilvusStore], Any], type[Exception]]] = [
    ("k zero", lambda s: s.search(vec(1), k=0), InvalidInputError),
    ("k negative", lambda s: s.search(vec(1), k=-3), InvalidInputError),
    ("k bool", lambda s: s.search(vec(1), k=True), InvalidInputError),
    ("k too large", lambda s: s.search(vec(1), k=20000), InvalidInputError),
    ("query wrong dim", lambda s: s.search(vec(1, dim=3), k=2), InvalidInputError),
    ("query NaN", lambda s: s.search([math.nan] * DIM, k=2), InvalidInputError),
    ("filter list value", lambda s: s.query(eq("n", [1, 2])), FilterError),  # type: ignore[arg-type]
    ("filter dict value", lambda s: s.count(eq("n", {"a": 1})), FilterError),  # type: ignore[arg-type]
    ("filter None value", lambda s: s.search(vec(1), filter=eq("n", None)), FilterError),  # type: ignore[arg-type]
    ("filter as dict", lambda s: s.query({"n": 1}), FilterError),  # type: ignore[arg-type]
    ("filter type vs column", lambda s: s.query(eq("year", "2001")), FilterError),
    ("unknown search knob", lambda s: s.search(vec(1), search_params={"nprobe": 1}), ConfigError),
    ("sparse on dense-only", lambda s: s.sparse_search("text"), ConfigError),
]


@pytest.mark.parametrize(("case", "call", "error"), BAD_QUERIES, ids=[c for c, _, _ in BAD_QUERIES])
def test_bad_query_is_rejected_before_any_request(
    guarded: tuple[MilvusStore, CallCounter],
    case: str,
    call: Callable[[MilvusStore], Any],
    error: type[Exception],
) -> None:
    store, _ = guarded
    searches = CallCounter(store, "search")
    queries = CallCounter(store, "query")
    with pytest.raises(error):
        call(store)
    assert searches.calls == [] and queries.calls == []
    assert store.count() == 5


@pytest.mark.parametrize("index", ["IVF_PQ", "SCANN", "DISKANN"])
def test_index_types_milvus_lite_cannot_build_are_refused_before_creating(
    lite_uri: str, index: str
) -> None:
    store = open_store(lite_uri, dim=8, index={"index_type": index})
    with pytest.raises(UnsupportedByServerError, match=f"{index} index.*Milvus server"):
        store.ensure_collection()
    assert store.list_collections() == []
    store.close()
