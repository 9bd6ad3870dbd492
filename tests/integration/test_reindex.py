"""Re-index with no downtime through an alias, on every engine that has aliases.

A reader thread searching through the alias during the switch never gets an error or an
empty result; a refused switch leaves the alias and the source untouched; rolling back is
pointing the alias at the previous collection; Milvus Lite 2.5.1 (no aliases) gets a
typed error naming the feature.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import pytest
from pymilvus import MilvusClient
from tests.support.aliases import pointed_alias

from milvus_plugins.core import (
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    EmbeddingMismatchError,
    EmbeddingProbe,
    FlatIndex,
    HnswIndex,
    MilvusStore,
    RecallTooLowError,
    Record,
    ReindexRefusedError,
    UnsupportedByServerError,
    point_alias,
    reindex,
    resolve_alias,
)

DIM = 16
ROWS = 400


def _vectors(n: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)


def _fill(uri: str, name: str, rows: int = ROWS) -> MilvusStore:
    spec = CollectionSpec(name=name, dim=DIM, index=FlatIndex(metric="L2"))
    store = MilvusStore(spec, connection=ConnectionConfig(uri=uri))
    vectors = _vectors(rows)
    store.upsert(
        [
            Record(id=f"r{i}", text=f"row {i} words{i % 7}", vector=v, metadata={"i": i})
            for i, v in enumerate(vectors)
        ]
    )
    store.flush()
    return store


@pytest.fixture
def aliased(uri: str, collection_name: str) -> Iterator[tuple[ConnectionConfig, str, str]]:
    """``(connection, alias, source)``: a filled collection and an alias pointing at it."""
    source, alias = f"{collection_name}_v1", f"{collection_name}_live"
    _fill(uri, source).close()
    with pointed_alias(uri, alias, source) as connection:  # Lite 2.5: see the last test
        yield connection, alias, source


def test_reader_through_alias_never_sees_error_or_empty_during_switch(
    aliased: tuple[ConnectionConfig, str, str],
) -> None:
    connection, alias, source = aliased
    reader = MilvusStore(CollectionSpec(name=alias), connection=connection, open_mode="adopt")
    queries = _vectors(20, seed=7).tolist()
    failures: list[str] = []
    searches = {"before": 0, "after": 0}
    switched = threading.Event()
    stop = threading.Event()

    def read() -> None:
        i = 0
        while not stop.is_set():
            phase = "after" if switched.is_set() else "before"
            try:
                hits = reader.search(queries[i % len(queries)], k=10)
                if len(hits) != 10:
                    failures.append(f"search {i}: {len(hits)} hits")
                if reader.count() != ROWS:
                    failures.append(f"search {i}: count {reader.count()}")
            except Exception as exc:  # the point of the test: none may happen
                failures.append(f"search {i}: {type(exc).__name__}: {exc}")
            searches[phase] += 1
            if phase == "after" and searches["after"] >= 5:
                stop.set()
            i += 1

    thread = threading.Thread(target=read)
    thread.start()
    try:
        report = reindex(
            connection, alias, index=HnswIndex(M=16, ef_construction=100, metric="L2"), k=10
        )
    finally:
        switched.set()
        thread.join(timeout=120)
        stop.set()
    assert not failures, failures[:5]
    assert searches["before"] > 0 and searches["after"] >= 5
    assert report.previous == source and report.current == f"{alias}_v2"
    assert report.rows == ROWS and report.recall >= 0.9
    assert resolve_alias(connection, alias) == report.current
    # The reader now reads the HNSW collection, through the same store.
    description = reader.client.describe_collection(alias)
    assert description["collection_name"] == report.current
    # The old collection is kept: rolling back is switching the alias back.
    assert point_alias(connection, alias, source) == report.current
    assert resolve_alias(connection, alias) == source
    assert reader.client.describe_collection(alias)["collection_name"] == source
    assert len(reader.search(queries[0], k=10)) == 10
    reader.close()


def test_writes_and_reads_through_an_alias(aliased: tuple[ConnectionConfig, str, str]) -> None:
    connection, alias, source = aliased
    store = MilvusStore(CollectionSpec(name=alias, dim=DIM, metric="L2"), connection=connection)
    store.upsert([Record(id="new", text="through the alias", vector=[1.0] * DIM)])
    assert [r.id for r in store.get(["new", "r3"])] == ["new", "r3"]
    direct = MilvusStore(CollectionSpec(name=source), connection=connection, open_mode="adopt")
    assert direct.count() == ROWS + 1
    assert store.delete(ids=["new"]) >= 1
    assert direct.count() == ROWS
    store.close()
    direct.close()


def test_low_recall_refuses_the_switch(aliased: tuple[ConnectionConfig, str, str]) -> None:
    """A new index whose answers differ from the source's (IP instead of L2: another
    ranking) is refused by the check against the source; alias and source untouched.

    (An index that is merely approximate cannot fail a check at test scale here: Milvus
    Lite 3.2.2 and the 2.3.5 server both answered IVF_FLAT nprobe=1 and HNSW ef=10 with
    recall 1.0 at 400 and 3,000 rows: small segments are searched exactly.)
    """
    connection, alias, source = aliased
    with pytest.raises(RecallTooLowError) as caught:
        reindex(
            connection, alias, index=FlatIndex(metric="IP"), reference="source", min_recall=0.95
        )
    assert caught.value.recall < 0.95
    assert resolve_alias(connection, alias) == source  # untouched
    reader = MilvusStore(CollectionSpec(name=alias), connection=connection, open_mode="adopt")
    assert reader.count() == ROWS
    reader.client.drop_collection(caught.value.shadow)
    reader.close()


def test_rows_written_during_the_copy_refuse_the_switch(
    aliased: tuple[ConnectionConfig, str, str],
) -> None:
    connection, alias, source = aliased
    writer = MilvusStore(CollectionSpec(name=alias, dim=DIM, metric="L2"), connection=connection)

    def write_meanwhile(rows: int) -> None:
        if rows <= 1000:
            writer.upsert([Record(id=f"late{rows}", text="late", vector=[0.5] * DIM)])

    with pytest.raises(ReindexRefusedError, match=r"rows were written meanwhile|changed while"):
        reindex(connection, alias, on_progress=write_meanwhile)
    assert resolve_alias(connection, alias) == source
    writer.close()


@pytest.mark.parametrize("change", ["update", "add and delete", "vector only"])
def test_changes_that_keep_the_count_refuse_the_switch(
    aliased: tuple[ConnectionConfig, str, str], change: str
) -> None:
    connection, alias, source = aliased
    writer = MilvusStore(CollectionSpec(name=alias, dim=DIM, metric="L2"), connection=connection)
    before = writer.get(["r0"], include_vectors=True)[0]
    done: list[int] = []

    def write_meanwhile(rows: int) -> None:
        if done:
            return
        done.append(rows)
        if change == "update":
            writer.upsert([Record(id="r0", text="new text", vector=[0.5] * DIM)])
        elif change == "add and delete":
            writer.upsert([Record(id="late", text="late", vector=[0.5] * DIM)])
            writer.delete(ids=["r1"])
        else:  # the same text and metadata, another vector
            writer.upsert([replace(before, vector=[0.25] * DIM)])

    with pytest.raises(ReindexRefusedError, match="changed while they were copied"):
        reindex(connection, alias, on_progress=write_meanwhile, batch_rows=100)
    assert done
    assert resolve_alias(connection, alias) == source
    writer.close()


def test_an_index_naming_no_metric_keeps_the_source_metric(
    aliased: tuple[ConnectionConfig, str, str],
) -> None:
    connection, alias, _ = aliased  # the source ranks by L2
    reindex(connection, alias, index={"index_type": "FLAT"})
    reader = MilvusStore(CollectionSpec(name=alias), connection=connection, open_mode="adopt")
    hits = reader.search(_vectors(1, seed=7)[0], k=3)
    assert reader.spec.metric_type.value == "L2"
    assert [h.distance for h in hits] == sorted(h.distance for h in hits)  # L2: ascending
    reader.close()


def _embedder(seed: int) -> tuple[EmbeddingProbe, object]:
    """A deterministic embedding of texts (hashing words into 12 dimensions)."""
    rng = np.random.default_rng(seed)
    table = rng.standard_normal((64, 12))

    def embed(texts: list[str]) -> list[list[float]]:
        out = []
        for text in texts:
            v = np.full(12, 0.01)
            for word in text.split():
                v += table[sum(map(ord, word)) % 64]
            out.append(v.tolist())
        return out

    return EmbeddingProbe(embed=lambda t: embed([t])[0], model=f"words-{seed}"), embed


def test_reembedding_records_the_new_model(aliased: tuple[ConnectionConfig, str, str]) -> None:
    connection, alias, _ = aliased
    probe, embed = _embedder(1)
    other_probe, _ = _embedder(2)
    report = reindex(connection, alias, embed=embed, embedding_model="words-1", min_recall=0.9)  # type: ignore[arg-type]
    assert report.rows == ROWS
    same = MilvusStore(
        CollectionSpec(name=alias), connection=connection, embedding=probe, open_mode="adopt"
    )
    assert same.spec.name == alias and same.count() == ROWS
    assert same.spec.dim == 12
    other = MilvusStore(
        CollectionSpec(name=alias), connection=connection, embedding=other_probe, open_mode="adopt"
    )
    with pytest.raises(EmbeddingMismatchError, match="words-1"):
        other.count()
    same.close()
    other.close()


def test_bad_reindex_arguments_change_nothing(aliased: tuple[ConnectionConfig, str, str]) -> None:
    connection, alias, source = aliased
    with pytest.raises(ConfigError, match="no alias"):
        reindex(connection, alias + "_nope")
    with pytest.raises(ConfigError, match="is a collection, not an alias"):
        point_alias(connection, source, source)
    with pytest.raises(ConfigError, match="exists already"):
        reindex(connection, alias, target=source)
    with pytest.raises(ConfigError, match="min_recall"):
        reindex(connection, alias, min_recall=1.5)
    with pytest.raises(ConfigError):
        reindex(connection, "bad name; drop")
    assert resolve_alias(connection, alias) == source


@pytest.mark.lite25
def test_engine_without_aliases_gets_a_typed_error(
    lite25_server: object, collection_name: str
) -> None:
    uri = lite25_server.uri  # type: ignore[attr-defined]
    _fill(uri, collection_name, rows=10).close()
    connection = ConnectionConfig(uri=uri)
    with pytest.raises(UnsupportedByServerError, match="collection aliases") as caught:
        point_alias(connection, collection_name + "_live", collection_name)
    assert "Milvus Lite 2.5 has no aliases" in str(caught.value)
    with pytest.raises(UnsupportedByServerError, match="collection aliases"):
        reindex(connection, collection_name + "_live")
    client = MilvusClient(uri=uri)
    client.drop_collection(collection_name)
    client.close()
