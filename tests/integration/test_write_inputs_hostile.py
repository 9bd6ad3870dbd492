"""Writes given careless or hostile vectors, texts and records (Milvus Lite, real client).

Each write either stores exactly what it was given (vectors up to float32 rounding) or
raises ``InvalidInputError`` before anything is written. Found by attacking the write
path as a user would; the tests of those findings fail on the code before their fixes
(the neighbouring cases that already worked are kept as guards).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from milvus_plugins.core import (
    CollectionSpec,
    ConnectionConfig,
    DenseField,
    InvalidInputError,
    MetadataField,
    MilvusStore,
    Record,
    WriteOptions,
)

DIM = 8


def open_store(uri: str, **spec: Any) -> MilvusStore:
    write = spec.pop("write", None)
    options = {"write": write} if write is not None else {}
    spec.setdefault("dim", DIM)
    return MilvusStore(
        CollectionSpec(name="docs", **spec), connection=ConnectionConfig(uri=uri), **options
    )


def own_vector(i: int) -> np.ndarray:
    v = np.zeros(DIM, np.float32)
    v[i % DIM] = 1.0
    v[0] += 0.01 * i + 0.1
    return v


def stored_count(store: MilvusStore) -> int:
    return store.count() if store.exists() else 0


def test_a_model_that_reuses_its_output_buffer_gets_each_record_its_own_vector(
    lite_uri: str,
) -> None:
    # The streamed write embeds the next chunk while the current one is written; the
    # model here returns views of one buffer it overwrites for every chunk (as models
    # with preallocated outputs do). Every record must keep the vector of its own text.
    buffer = np.zeros((100, DIM), np.float32)

    def embed(texts: list[str]) -> list[np.ndarray]:
        for j, text in enumerate(texts):
            buffer[j] = own_vector(int(text.split()[-1]))
        return list(buffer[: len(texts)])

    store = open_store(lite_uri)
    recs = [Record(id=f"r{i}", text=f"text {i}") for i in range(450)]
    store.upsert(recs, embed=embed, batch_rows=50)
    got = {r.id: r.vector for r in store.get([r.id for r in recs], include_vectors=True)}
    wrong = [k for k, v in got.items() if v != own_vector(int(k[1:])).tolist()]
    assert len(got) == 450 and wrong == []
    store.close()


def test_numpy_float32_rows_are_written_as_checked_not_as_the_caller_changes_them_later(
    lite_uri: str,
) -> None:
    store = open_store(lite_uri, write=WriteOptions(batch_rows=2))
    arrays = [own_vector(i) for i in range(5)]
    recs = [Record(id=f"r{i}", text=f"text {i}", vector=a) for i, a in enumerate(arrays)]
    store.upsert(recs)
    arrays[0][:] = np.nan  # the caller reuses its arrays after the write
    got = {r.id: r.vector for r in store.get([r.id for r in recs], include_vectors=True)}
    assert got == {f"r{i}": own_vector(i).tolist() for i in range(5)}
    store.close()


class Fruit(str, enum.Enum):
    APPLE = "red apples from the orchard"


class Shouting(str):
    def __str__(self) -> str:
        return self.upper()


@pytest.mark.parametrize("mode", ["insert", "upsert"])
def test_str_subclass_texts_are_stored_as_their_characters_not_their_str(
    lite_uri: str, mode: str
) -> None:
    store = open_store(lite_uri, sparse="bm25")
    recs = [
        Record(id="enum", text=Fruit.APPLE, vector=own_vector(1).tolist()),
        Record(id="loud", text=Shouting("quiet words"), vector=own_vector(2).tolist()),
    ]
    store.upsert(recs, mode=mode)
    got = {r.id: r.text for r in store.get(["enum", "loud"])}
    assert got == {"enum": "red apples from the orchard", "loud": "quiet words"}
    assert [h.record.id for h in store.sparse_search("orchard", k=2)] == ["enum"]
    assert [h.record.id for h in store.sparse_search("quiet", k=2)] == ["loud"]
    store.close()


class Tensorish:
    """A 0-d array-like number (a torch scalar tensor behaves so): numpy reads it,
    protobuf does not take it."""

    def __init__(self, value: float) -> None:
        self.value = value

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.array(self.value, dtype=dtype)

    def __float__(self) -> float:
        return self.value


@pytest.mark.parametrize(
    "element",
    [np.array(0.5), np.float32(0.5), np.float64(0.5), Tensorish(0.5)],
    ids=["0-d array", "np.float32", "np.float64", "array-like"],
)
@pytest.mark.parametrize("where", [0, DIM // 2], ids=["first", "middle"])
def test_list_vectors_holding_numpy_numbers_are_written_whole(
    lite_uri: str, element: Any, where: int
) -> None:
    """In the middle too: a list used to be judged by its ends, and protobuf refused a
    0-d array inside it while packing the third batch, after two were written."""
    store = open_store(lite_uri, write=WriteOptions(batch_rows=2))
    recs = [Record(id=f"r{i}", text=f"text {i}", vector=own_vector(i).tolist()) for i in range(6)]
    expected = own_vector(4).tolist()
    expected[where] = 0.5
    recs[4].vector = [*expected[:where], element, *expected[where + 1 :]]  # third batch
    store.upsert(recs)
    got = {r.id: r.vector for r in store.get([r.id for r in recs], include_vectors=True)}
    assert got["r4"] == expected
    assert len(got) == 6
    store.close()


class Fickle(int):
    """An int whose float() answers 0.5 once, then NaN (a lazily evaluated element)."""

    def __init__(self, value: int) -> None:
        self.calls = 0

    def __float__(self) -> float:
        self.calls += 1
        return 0.5 if self.calls == 1 else float("nan")


def test_a_list_vector_is_stored_with_the_values_its_check_read(lite_uri: str) -> None:
    """A list ending in a value that is not an exact float or int is written as its
    checked float32 copy, not converted a second time by protobuf (NaN under COSINE)."""
    store = open_store(lite_uri)
    expected = own_vector(1).tolist()
    expected[-1] = 0.5
    store.upsert([Record(id="a", text="a", vector=[*expected[:-1], Fickle(0)])])
    (got,) = store.get(["a"], include_vectors=True)
    assert got.vector == expected
    store.close()


@pytest.mark.parametrize(
    ("vector", "message"),
    [
        ([1e-50] * DIM, "no direction in float32"),  # rounds to 0.0 when stored
        ([1e-24] * DIM, "no direction in float32"),  # stored, but its float32 norm is 0
        (np.full(DIM, 1e-46), "no direction in float32"),
        (np.array([1 + 2j] + [1.0] * (DIM - 1)), "complex"),
        ([np.complex128(1 + 1j)] + [1.0] * (DIM - 1), "complex"),
        (["0.5"] * DIM, "strings"),
        (np.array(["0.5"] * DIM), "strings"),
        ([10**400] + [1.0] * (DIM - 1), "not a sequence of numbers"),
        ([1e20] + [0.0] * (DIM - 1), "no direction in float32"),  # its norm overflows
        (np.full(DIM, 3e19, np.float32), "no direction in float32"),
    ],
    ids=[
        "underflow",
        "norm-underflow",
        "np-underflow",
        "complex",
        "np.complex",
        "str",
        "np.str",
        "huge-int",
        "norm-overflow",
        "np-norm-overflow",
    ],
)
def test_vectors_that_cannot_be_stored_as_given_are_refused_before_any_write(
    lite_uri: str, vector: Any, message: str
) -> None:
    store = open_store(lite_uri, write=WriteOptions(batch_rows=2))
    recs = [Record(id=f"r{i}", text=f"text {i}", vector=own_vector(i).tolist()) for i in range(6)]
    recs[5].vector = vector
    with pytest.raises(InvalidInputError, match=message):
        store.upsert(recs)
    assert stored_count(store) == 0
    # The same vector as a query is refused the same way, not sent.
    store.upsert(recs[:1])
    with pytest.raises(InvalidInputError, match=message):
        store.search(vector, k=1)
    store.close()


def test_tiny_but_representable_vectors_are_accepted(lite_uri: str) -> None:
    store = open_store(lite_uri)
    store.upsert([Record(id="small", text="small", vector=[1e-15] * DIM)])
    (got,) = store.get(["small"], include_vectors=True)
    assert got.vector == np.full(DIM, 1e-15, np.float32).tolist()
    store.close()


@pytest.mark.parametrize("scalar", [0.5, np.float32(1.0), np.array(2.0)])
def test_a_scalar_vector_without_a_declared_dim_is_refused(lite_uri: str, scalar: Any) -> None:
    store = open_store(lite_uri, dim=None)
    with pytest.raises(InvalidInputError, match="flat, non-empty list"):
        store.upsert([Record(id="a", text="a", vector=scalar)])
    with pytest.raises(InvalidInputError, match="flat, non-empty list"):
        store.upsert([Record(id="a", text="a")], embed=lambda texts: [scalar for _ in texts])
    assert stored_count(store) == 0
    store.close()


def test_a_doc_id_longer_than_the_id_column_is_refused_before_any_write(lite_uri: str) -> None:
    store = open_store(lite_uri, id_max_length=16, write=WriteOptions(batch_rows=2))
    recs = [Record(id=f"r{i}", text=f"text {i}", vector=own_vector(i).tolist()) for i in range(6)]
    recs[5].doc_id = "d" * 17
    with pytest.raises(InvalidInputError, match="doc_id is 17 bytes"):
        store.upsert(recs)
    assert stored_count(store) == 0
    recs[5].doc_id = "é" * 8  # 16 bytes: fits
    store.upsert(recs)
    assert store.get(["r5"])[0].doc_id == "é" * 8
    store.close()


def test_a_write_leaves_the_callers_records_as_they_were(lite_uri: str) -> None:
    store = open_store(lite_uri, vector_fields=[DenseField(name="title", dim=4, metric="L2")])
    v64 = np.linspace(0.1, 0.8, DIM)
    ints = [1, 2, 3, 4, 5, 6, 7, 8]
    metadata = {"n": np.int64(3)}
    named = {"title": np.array([0.5, 0.25, 0.125, 1.0])}
    recs = [
        Record(id="a", text="a", vector=v64, vectors=dict(named)),
        Record(id="b", text="b", vector=ints, metadata=metadata, vectors=dict(named)),
    ]
    kept = [dict(r.__dict__) for r in recs]
    named_before = [dict(r.vectors) for r in recs]
    store.upsert(recs)
    for record, before, vectors in zip(recs, kept, named_before, strict=True):
        assert all(getattr(record, k) is v for k, v in before.items())
        assert all(record.vectors[k] is v for k, v in vectors.items())
    assert type(metadata["n"]) is np.int64
    assert store.get(["b"])[0].metadata == {"n": 3}
    store.close()


@pytest.mark.parametrize("field", ["text", "id"])
def test_a_reopened_collection_checks_writes_against_its_own_length_limits(
    lite_uri: str, field: str
) -> None:
    first = open_store(lite_uri, text_max_length=16, id_max_length=16)
    first.upsert([Record(id="seed", text="short", vector=own_vector(0).tolist())])
    first.close()
    store = open_store(lite_uri, write=WriteOptions(batch_rows=2))  # the defaults: 65535, 512
    recs = [Record(id=f"r{i}", text=f"text {i}", vector=own_vector(i).tolist()) for i in range(6)]
    setattr(recs[4], field, "x" * 17)
    with pytest.raises(InvalidInputError, match=r"is 17 bytes, longer than"):
        store.upsert(recs)
    assert (store.spec.text_max_length, store.spec.id_max_length) == (16, 16)
    assert store.count() == 1
    store.close()


def test_a_reopened_collection_refuses_a_streamed_write_over_its_limits_before_embedding(
    lite_uri: str,
) -> None:
    first = open_store(lite_uri, text_max_length=16)
    first.upsert([Record(id="seed", text="short", vector=own_vector(0).tolist())])
    first.close()
    store = open_store(lite_uri)
    embedded: list[str] = []

    def embed(texts: list[str]) -> list[list[float]]:
        embedded.extend(texts)
        return [own_vector(1).tolist() for _ in texts]

    recs = [Record(id="a", text="fine"), Record(id="b", text="a text over sixteen bytes")]
    with pytest.raises(InvalidInputError, match="text is 25 bytes"):
        store.upsert(recs, embed=embed)
    assert embedded == [] and store.count() == 1
    store.close()


class FakeAscii(str):
    def isascii(self) -> bool:
        return True


class HideItems(dict):  # type: ignore[type-arg]
    def items(self) -> Any:
        return [("ok", 1)]


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (Record(id="b", text=FakeAscii("ééééé")), "text is 10 bytes"),
        (Record(id="c", text=FakeAscii("ab\udcff")), "lone surrogate"),
        (Record(id=FakeAscii("idé" * 3), text="t"), "id is longer than 8 bytes"),
        (Record(id="d", text="t", metadata=HideItems(x=float("nan"))), r"NaN|JSON-serialisable"),
        (Record(id="e", text="t", metadata=HideItems(n=2**70)), "int64 range"),
    ],
    ids=["isascii-length", "isascii-surrogate", "id-isascii", "items-nan", "items-int"],
)
def test_subclasses_whose_methods_lie_are_checked_on_what_they_hold(
    lite_uri: str, record: Record, message: str
) -> None:
    store = open_store(lite_uri, text_max_length=8, id_max_length=8)
    record.vector = own_vector(1).tolist()
    with pytest.raises(InvalidInputError, match=message):
        store.upsert([record])
    assert stored_count(store) == 0
    store.close()


def test_a_model_that_refills_its_output_lists_gets_each_record_its_own_vector(
    lite_uri: str,
) -> None:
    lists = [[0.0] * DIM for _ in range(50)]

    def embed(texts: list[str]) -> list[list[float]]:
        for j, text in enumerate(texts):
            lists[j][:] = own_vector(int(text.split()[-1])).tolist()
        return lists[: len(texts)]

    store = open_store(lite_uri)
    recs = [Record(id=f"r{i}", text=f"text {i}") for i in range(200)]
    store.upsert(recs, embed=embed, batch_rows=50)
    got = {r.id: r.vector for r in store.get([r.id for r in recs], include_vectors=True)}
    assert got == {f"r{i}": own_vector(i).tolist() for i in range(200)}
    store.close()


@dataclass(kw_only=True, slots=True)
class SlotRecord(Record):
    source: str = "web"


def test_record_subclasses_with_slots_are_written(lite_uri: str) -> None:
    store = open_store(lite_uri)
    recs = [
        SlotRecord(id=f"r{i}", text=f"text {i}", vector=own_vector(i).tolist()) for i in range(3)
    ]
    assert store.upsert(recs) == ["r0", "r1", "r2"]
    store.upsert([SlotRecord(id="e", text="text 7")], embed=lambda t: [own_vector(7).tolist()])
    assert store.count() == 4
    store.close()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"extra": [1]}, "extra must be a dict"),
        ({"extra": "abc"}, "extra must be a dict"),
        ({"extra": {"metadata_null_keys": ["ghost"]}}, "is reserved"),
        ({"doc_id": 123}, "doc_id=123 must be a string"),
        ({"doc_id": b"doc"}, "must be a string"),
        (
            {"metadata": {type("Key", (str,), {"startswith": lambda self, *a: False})("$gt"): 1}},
            "reserved",
        ),
    ],
    ids=["extra-list", "extra-str", "extra-reserved", "doc_id-int", "doc_id-bytes", "key-$"],
)
def test_records_with_fields_of_the_wrong_kind_are_refused_before_any_write(
    lite_uri: str, change: dict[str, Any], message: str
) -> None:
    store = open_store(lite_uri, write=WriteOptions(batch_rows=2))
    recs = [Record(id=f"r{i}", text=f"text {i}", vector=own_vector(i).tolist()) for i in range(6)]
    for attr, value in change.items():
        setattr(recs[4], attr, value)
    with pytest.raises(InvalidInputError, match=message):
        store.upsert(recs)
    assert stored_count(store) == 0
    store.close()


def test_a_tenant_write_with_no_metadata_dict_is_refused_as_input(lite_uri: str) -> None:
    store = open_store(
        lite_uri,
        metadata_fields=[MetadataField(name="tenant", type="VARCHAR", max_length=64)],
        partition_key="tenant",
    )
    with pytest.raises(InvalidInputError, match="metadata must be a dict"):
        store.upsert(
            [Record(id="a", text="a", vector=own_vector(1).tolist(), metadata=None)],  # type: ignore[arg-type]
            tenant="acme",
        )
    store.close()


@pytest.mark.parametrize("owned", [False, True])
def test_only_an_adapters_owned_records_are_changed_by_a_write(lite_uri: str, owned: bool) -> None:
    """A write puts its checked vectors and converted values into copies of a caller's
    records; an adapter's ``OwnedRecords`` are the write's own and are not copied
    (issue 16). Either way what is stored is the same."""
    from milvus_plugins.core.records import OwnedRecords

    def fresh() -> list[Record]:
        return [
            Record(id=f"o{i}", text=f"text {i}", metadata={"n": np.int64(i), "tag": "x"})
            for i in range(30)
        ]

    given = OwnedRecords(fresh()) if owned else fresh()
    kept = list(given)
    store = open_store(lite_uri)
    store.upsert(
        given, embed=lambda texts: [own_vector(int(t.split()[-1])) for t in texts], batch_rows=7
    )
    for record in kept:
        if owned:  # the write's own: numpy values converted in place of the caller's
            assert type(record.metadata["n"]) is int
        else:  # the caller's records, exactly as given
            assert record.vector is None and type(record.metadata["n"]) is np.int64
    got = store.get([r.id for r in kept], include_vectors=True)
    assert [r.metadata for r in got] == [{"n": i, "tag": "x"} for i in range(30)]
    assert [r.vector for r in got] == [own_vector(i).tolist() for i in range(30)]
    store.close()
