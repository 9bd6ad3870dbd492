"""Hostile checks of shared-id delete refusals, adopt layout checks, owner checks on
writes without a tenant and named-vector checks (Milvus Lite 3.2.2, tmp_path databases).

Tests marked DEFECT (a comment line above them) fail on the code as reviewed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pymilvus import MilvusClient

from milvus_plugins.core import (
    CollectionSpec,
    ConnectionConfig,
    FlatIndex,
    InvalidInputError,
    MilvusStore,
    Record,
    SchemaMismatchError,
    SharedIdError,
    TenantMismatchError,
    UnsupportedByServerError,
    eq,
)
from milvus_plugins.core.fields import DenseField

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

DIM = 4
NAME = "hs21"


def _vec(i: int, dim: int = DIM) -> list[float]:
    return np.random.default_rng(i).standard_normal(dim).tolist()


def _rec(i: int, **meta: Any) -> Record:
    return Record(id=f"r{i}", text=f"row {i}", vector=_vec(i), metadata={"i": i, **meta})


def _uri(tmp_path: Path) -> str:
    return str(tmp_path / "hs21.db")


def _store(uri: str, spec: CollectionSpec | None = None, **kwargs: Any) -> MilvusStore:
    spec = spec or CollectionSpec(name=NAME, dim=DIM, index=FlatIndex(metric="L2"))
    return MilvusStore(spec, connection=ConnectionConfig(uri=uri), **kwargs)


def _rows(uri: str, name: str = NAME) -> dict[tuple[str, str], Any]:
    client = MilvusClient(uri=uri)
    try:
        out = {}
        for partition in client.list_partitions(name):
            for row in client.query(
                name,
                filter='id != ""',
                output_fields=["id", "metadata"],
                partition_names=[partition],
                limit=16000,
            ):
                meta = row["metadata"]
                out[(partition, row["id"])] = json.loads(meta) if isinstance(meta, str) else meta
        return out
    finally:
        client.close()


def _copy_into(uri: str, rid: str, partition: str, meta: dict[str, Any]) -> None:
    """Another tool writes row ``rid`` a second time, into ``partition``."""
    client = MilvusClient(uri=uri)
    try:
        described = client.describe_collection(NAME)
        outputs = {n for f in described.get("functions") or [] for n in f["output_field_names"]}
        fields = [f["name"] for f in described["fields"] if f["name"] not in outputs]
        (row,) = client.query(NAME, filter=f'id == "{rid}"', output_fields=fields)
        row = {k: row[k] for k in fields}
        row["metadata"] = meta
        for key, value in meta.items():
            if key in row:
                row[key] = value
        client.insert(NAME, [row], partition_name=partition)
        client.flush(NAME)
    finally:
        client.close()


def _two_partitions(uri: str, odd: str = "pa") -> MilvusStore:
    store = _store(uri)
    store.ensure_collection(DIM)
    store.create_partition(odd)
    store.upsert([_rec(1), _rec(2), _rec(3)])
    store.upsert([_rec(4), _rec(5)], partition_name=odd)
    store.flush()
    return store


# -- 1. shared-id delete refusals -----------------------------------------------------------


def test_filtered_delete_after_moving_an_id_between_partitions_is_not_refused(
    tmp_path: Path,
) -> None:
    uri = _uri(tmp_path)
    store = _two_partitions(uri)
    # Move r1 from _default to pa with the package's own API: delete it, write it again.
    assert store.delete(ids=["r1"]) == 1
    store.upsert([_rec(1, moved=True)], partition_name="pa")
    assert set(_rows(uri)) == {
        ("_default", "r2"),
        ("_default", "r3"),
        *(("pa", f"r{i}") for i in (1, 4, 5)),
    }
    assert store.delete(filter=eq("moved", True)) == 1
    assert ("pa", "r1") not in _rows(uri)
    store.close()


def test_scoped_delete_and_clear_with_odd_partition_names_and_unique_ids(
    tmp_path: Path,
) -> None:
    uri = _uri(tmp_path)
    store = _two_partitions(uri, odd="p_1_odd")
    store.create_partition("Q_2")
    store.upsert([_rec(6), _rec(7)], partition_name="Q_2")
    store.flush()
    before = _rows(uri)
    assert store.delete(filter=eq("i", 4), partition_names=["p_1_odd"]) == 1
    assert store.clear(partition_names=["Q_2"]) == 2
    after = _rows(uri)
    assert after == {
        k: v
        for k, v in before.items()
        if k not in {("p_1_odd", "r4"), ("Q_2", "r6"), ("Q_2", "r7")}
    }
    store.close()


def test_checked_json_bool_filter_delete_across_partitions_deletes_exact_rows(
    tmp_path: Path,
) -> None:
    uri = _uri(tmp_path)
    store = _store(uri)
    store.ensure_collection(DIM)
    store.create_partition("pa")
    store.upsert([_rec(1, flag=True), _rec(2, flag=1), _rec(3, flag=False)])
    store.upsert([_rec(4, flag=True), _rec(5, flag=1)], partition_name="pa")
    store.flush()
    before = _rows(uri)
    # flag == True must not take rows whose flag is the number 1 (Lite says true == 1).
    assert store.delete(filter=eq("flag", True)) == 2
    assert _rows(uri) == {k: v for k, v in before.items() if k[1] not in {"r1", "r4"}}
    assert store.delete(filter=eq("flag", 1), partition_names=["pa"]) == 1
    assert set(_rows(uri)) == {("_default", "r2"), ("_default", "r3")}
    store.close()


def test_checked_filter_with_ids_reports_rows_selected_not_keys_sent(tmp_path: Path) -> None:
    uri = _uri(tmp_path)
    store = _store(uri)
    store.ensure_collection(DIM)
    store.create_partition("pa")
    store.upsert([_rec(1, flag=True), _rec(2, flag=1)])
    store.upsert([_rec(4, flag=True)], partition_name="pa")
    store.flush()
    got = store.delete(ids=["r1", "r2", "nope", "r1"], filter=eq("flag", True))
    assert got == 1
    assert set(_rows(uri)) == {("_default", "r2"), ("pa", "r4")}
    store.close()


def test_raw_string_filter_delete_with_partitions(tmp_path: Path) -> None:
    uri = _uri(tmp_path)
    store = _two_partitions(uri)
    assert store.delete(filter='metadata["i"] == 1 or metadata["i"] == 4') == 2
    assert set(_rows(uri)) == {("_default", "r2"), ("_default", "r3"), ("pa", "r5")}
    store.close()


def test_shared_id_refused_for_raw_string_filter(tmp_path: Path) -> None:
    uri = _uri(tmp_path)
    store = _two_partitions(uri)
    _copy_into(uri, "r1", "pa", {"i": 100})
    before = _rows(uri)
    with pytest.raises(SharedIdError, match="r1"):
        store.delete(filter='metadata["i"] == 100')
    # Lite deletes by key everywhere: a typed refusal (either kind), nothing deleted.
    with pytest.raises((SharedIdError, UnsupportedByServerError)):
        store.clear(partition_names=["pa"])
    assert _rows(uri) == before
    store.close()


def test_shared_id_refused_for_checked_bool_filter(tmp_path: Path) -> None:
    uri = _uri(tmp_path)
    store = _two_partitions(uri)
    _copy_into(uri, "r2", "pa", {"i": 2, "flag": True})
    before = _rows(uri)
    with pytest.raises(SharedIdError, match="r2"):
        store.delete(filter=eq("flag", True))
    assert _rows(uri) == before
    store.close()


# DEFECT (fixed): delete by ids alone of an id two partitions hold reports 1 row, not 2
def test_delete_by_ids_alone_counts_every_row_holding_the_id(tmp_path: Path) -> None:
    uri = _uri(tmp_path)
    store = _two_partitions(uri)
    _copy_into(uri, "r1", "pa", {"i": 100})
    assert len([k for k in _rows(uri) if k[1] == "r1"]) == 2
    got = store.delete(ids=["r1"])
    assert not [k for k in _rows(uri) if k[1] == "r1"]
    assert got == 2  # the number of rows selected: both rows holding r1
    store.close()


# DEFECT (fixed): a filter selecting both rows of a shared id reports 1 deleted row, not 2
def test_filter_selecting_both_rows_of_a_shared_id_counts_both(tmp_path: Path) -> None:
    uri = _uri(tmp_path)
    store = _two_partitions(uri)
    _copy_into(uri, "r1", "pa", {"i": 1})
    got = store.delete(filter=eq("i", 1))
    assert not [k for k in _rows(uri) if k[1] == "r1"]
    assert got == 2
    store.close()


def test_many_selected_ids_over_the_id_list_limit_is_not_refused(tmp_path: Path) -> None:
    uri = _uri(tmp_path)
    store = _store(uri)
    store.ensure_collection(DIM)
    store.create_partition("pa")
    rows = [
        Record(id=f"x{i}", text="t", vector=[1.0, 0.0, 0.0, float(i % 7)], metadata={"g": 1})
        for i in range(2300)
    ]
    store.upsert(rows[:2100])
    store.upsert(rows[2100:], partition_name="pa")
    store.flush()
    assert store.delete(filter=eq("g", 1)) == 2300
    assert store.count() == 0
    store.close()


def test_tenant_delete_of_an_id_another_tenant_also_holds_is_refused(tmp_path: Path) -> None:
    uri = _uri(tmp_path)
    spec = CollectionSpec(
        name=NAME,
        dim=DIM,
        index=FlatIndex(metric="L2"),
        metadata_fields={"tenant": "VARCHAR"},
        partition_key="tenant",
    )
    store = _store(uri, spec)
    store.upsert([_rec(1), _rec(2)], tenant="t1")
    store.upsert([_rec(3)], tenant="t2")
    store.flush()
    # Another tool writes r1 for tenant t2 too (a second row, in t2's partition).
    client = MilvusClient(uri=uri)
    (row,) = client.query(NAME, filter='id == "r1"', output_fields=["*"])
    row = {
        k: v
        for k, v in row.items()
        if k in {f["name"] for f in client.describe_collection(NAME)["fields"]}
    }
    row["tenant"] = "t2"
    row["metadata"] = {"i": 1, "tenant": "t2"}
    client.insert(NAME, [row])
    client.flush(NAME)
    client.close()
    before = _rows(uri)
    if len([k for k in before if k[1] == "r1"]) == 2:  # t1 and t2 hash apart on Lite
        with pytest.raises(SharedIdError, match="r1"):
            store.delete(ids=["r1"], tenant="t1")
        assert _rows(uri) == before
        # t2's clear selects its copy of r1: t1's row would go too.
        with pytest.raises(SharedIdError, match="r1"):
            store.clear(tenant="t2")
        assert _rows(uri) == before
    # A tenant's delete of an id nobody else holds runs.
    assert store.delete(ids=["r2"], tenant="t1") == 1
    store.close()


def test_tenant_delete_then_reuse_by_other_tenant_then_delete(tmp_path: Path) -> None:
    uri = _uri(tmp_path)
    spec = CollectionSpec(
        name=NAME,
        dim=DIM,
        index=FlatIndex(metric="L2"),
        metadata_fields={"tenant": "VARCHAR"},
        partition_key="tenant",
    )
    store = _store(uri, spec)
    store.upsert([_rec(1), _rec(2)], tenant="t1")
    assert store.delete(ids=["r1"], tenant="t1") == 1
    store.upsert([_rec(1)], tenant="t2")
    assert store.delete(filter=eq("i", 1), tenant="t2") == 1
    assert store.count() == 1
    assert store.clear(tenant="t1") == 1
    assert store.count() == 0
    store.close()


# -- 2. adopt mode on this package's own collections ------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"dense": False, "sparse": "bm25"},
        {"dim": DIM, "vector_fields": [DenseField(name="title", dim=3)]},
        {"dim": DIM, "text_match": True},
        {"dim": DIM, "metadata_fields": {"org": "VARCHAR"}, "partition_key": "org"},
        {"dim": DIM, "metadata_fields": {"n": "INT64", "s": "VARCHAR"}},
        {"dim": DIM, "sparse": "bm25", "metadata_fields": {"n": "INT64"}},
    ],
    ids=["sparse_only", "named_vec", "text_match", "pkey", "declared", "bm25_declared"],
)
def test_adopt_reopens_every_own_configuration_and_writes(
    tmp_path: Path, kwargs: dict[str, Any]
) -> None:
    uri = _uri(tmp_path)
    spec = CollectionSpec(name=NAME, **kwargs)
    meta = {"n": 1, "s": "x", "org": "o1"}
    vectors = {"title": [0.1, 0.2, 0.3]} if "vector_fields" in kwargs else {}
    vector = None if kwargs.get("dense") is False else _vec(1)
    with _store(uri, spec) as first:
        first.upsert(
            [Record(id="a", text="hello world", vector=vector, metadata=meta, vectors=vectors)]
        )
    adopt_spec = CollectionSpec(
        name=NAME,
        **({"vector_fields": [DenseField(name="title")]} if "vector_fields" in kwargs else {}),
    )
    with _store(uri, adopt_spec, open_mode="adopt") as again:
        assert again.count() == 1
        again.upsert(
            [Record(id="b", text="bye world", vector=vector, metadata=meta, vectors=vectors)]
        )
        assert again.count() == 2


def test_adopt_refuses_int64_id_collection_typed(tmp_path: Path) -> None:
    uri = _uri(tmp_path)
    client = MilvusClient(uri=uri)
    client.create_collection(NAME, dimension=DIM, id_type="int", primary_field_name="id")
    client.close()
    store = _store(uri, CollectionSpec(name=NAME), open_mode="adopt")
    with pytest.raises(SchemaMismatchError):
        store.count()
    store.close()


# -- 3. owner checks on writes without a tenant -----------------------------------------


def _int_key_store(uri: str) -> MilvusStore:
    spec = CollectionSpec(
        name=NAME,
        dim=DIM,
        index=FlatIndex(metric="L2"),
        metadata_fields={"org": "INT64"},
        partition_key="org",
    )
    return _store(uri, spec)


def test_int64_partition_key_reupsert_same_owner_is_accepted(tmp_path: Path) -> None:
    uri = _uri(tmp_path)
    with _int_key_store(uri) as store:
        records = [_rec(1, org=7), _rec(2, org=8)]
        store.upsert(records)
        store.upsert(records)  # unchanged, same owner, no tenant=
        store.upsert([_rec(1, org=7, extra="changed")])
        assert store.count() == 2
        with pytest.raises(TenantMismatchError):
            store.upsert([_rec(1, org=8)])
        assert {r.metadata["org"] for r in store.get(["r1"])} == {7}


def test_int64_partition_key_with_tenant_call_same_owner(tmp_path: Path) -> None:
    uri = _uri(tmp_path)
    with _int_key_store(uri) as store:
        store.upsert([_rec(1)], tenant=7)
        store.upsert([_rec(1, org=7)])  # no tenant=, the record names its owner
        store.upsert([_rec(1)], tenant=7)
        assert store.count() == 1


def test_varchar_key_empty_string_is_refused_typed(tmp_path: Path) -> None:
    uri = _uri(tmp_path)
    spec = CollectionSpec(
        name=NAME, dim=DIM, metadata_fields={"org": "VARCHAR"}, partition_key="org"
    )
    with _store(uri, spec) as store:
        with pytest.raises(InvalidInputError):
            store.upsert([_rec(1, org="")])
        store.upsert([_rec(1, org="o")])
        with pytest.raises((InvalidInputError, TenantMismatchError)):
            store.upsert([_rec(1, org="")])
        assert [r.metadata["org"] for r in store.get(["r1"])] == ["o"]


def test_langchain_add_documents_without_tenant_twice_is_accepted(tmp_path: Path) -> None:
    from langchain_core.documents import Document
    from langchain_core.embeddings import DeterministicFakeEmbedding

    from milvus_plugins.langchain import MilvusVectorStore as LCMilvus

    uri = _uri(tmp_path)
    store = LCMilvus(
        DeterministicFakeEmbedding(size=DIM),
        uri=uri,
        collection_name=NAME,
        metadata_fields={"org": "VARCHAR"},
        partition_key="org",
    )
    docs = [Document(page_content=f"d{i}", metadata={"org": f"o{i % 2}"}) for i in range(4)]
    ids = [f"d{i}" for i in range(4)]
    store.add_documents(docs, ids=ids)
    store.add_documents(docs, ids=ids)
    assert store.store.count() == 4
    moved = Document(page_content="d0", metadata={"org": "o1"})
    with pytest.raises(TenantMismatchError):
        store.add_documents([moved], ids=["d0"])


def test_llamaindex_add_without_tenant_twice_is_accepted(tmp_path: Path) -> None:
    from llama_index.core.schema import TextNode

    from milvus_plugins.llama_index import MilvusVectorStore as LIMilvus

    uri = _uri(tmp_path)
    store = LIMilvus(
        uri=uri,
        collection_name=NAME,
        dim=DIM,
        metadata_fields={"org": "INT64"},
        partition_key="org",
    )
    nodes = [
        TextNode(id_=f"n{i}", text=f"t{i}", embedding=_vec(i), metadata={"org": i % 2})
        for i in range(3)
    ]
    store.add(nodes)
    store.add(nodes)
    assert store.store.count() == 3


# -- 4. named vector fields ---------------------------------------------------------------


def test_store_knowing_all_named_fields_writes_and_reopens(tmp_path: Path) -> None:
    uri = _uri(tmp_path)
    spec = CollectionSpec(
        name=NAME,
        dim=DIM,
        vector_fields=[DenseField(name="title", dim=3, index=FlatIndex(metric="IP"))],
    )
    rec = Record(id="a", text="x", vector=_vec(1), vectors={"title": [0.1, 0.2, 0.3]})
    with _store(uri, spec) as store:
        store.upsert([rec])
    with _store(uri, spec) as store:  # same spec: the stored metric is the index's own
        store.upsert([Record(id="b", text="y", vector=_vec(2), vectors={"title": [1, 0, 0]})])
        assert store.count() == 2


def test_store_missing_named_field_refused_and_metric_mismatch_refused(tmp_path: Path) -> None:
    uri = _uri(tmp_path)
    spec = CollectionSpec(name=NAME, dim=DIM, vector_fields=[DenseField(name="title", dim=3)])
    with _store(uri, spec) as store:
        store.upsert([Record(id="a", text="x", vector=_vec(1), vectors={"title": [1, 0, 0]})])
    with _store(uri, CollectionSpec(name=NAME), open_mode="adopt") as store:
        with pytest.raises(SchemaMismatchError, match="title"):
            store.upsert([Record(id="b", text="y", vector=_vec(2))])
        assert store.count() == 1
    wrong = CollectionSpec(
        name=NAME, dim=DIM, vector_fields=[DenseField(name="title", dim=3, metric="L2")]
    )
    with pytest.raises(SchemaMismatchError, match="title"), _store(uri, wrong) as store:
        store.count()


def test_sparse_only_bm25_store_writes_after_reopen(tmp_path: Path) -> None:
    uri = _uri(tmp_path)
    spec = CollectionSpec(name=NAME, dense=False, sparse="bm25")
    with _store(uri, spec) as store:
        store.upsert([Record(id="a", text="alpha beta")])
    with _store(uri, spec) as store:
        store.upsert([Record(id="b", text="gamma")])
        assert store.count() == 2
