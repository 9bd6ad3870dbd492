"""Collections this package did not create, used the way a careless (or hostile) user does.

Every collection is made with raw pymilvus (or by the real langchain-milvus and
llama-index-vector-stores-milvus) in an odd but realistic schema: INT64 keys at the int64
boundary, small VARCHAR keys holding quotes and backslashes, nullable and default-valued
columns, ARRAY and JSON fields, two vector fields, IP / L2 / COSINE over FLAT / HNSW /
IVF_FLAT, a partition key, named partitions, a BM25 function, and columns named like this
package's own fields. Each is then opened through the core store (sync and async), the
LangChain adapter and the LlamaIndex adapter.

The oracle is plain Python: every row of the collection (per partition) is read back with
raw pymilvus before and after each call and compared exactly. A call must do what it says
or raise a typed ``milvus_plugins`` error with nothing changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pymilvus import DataType, Function, FunctionType, MilvusClient
from tests.support.official_layouts import (
    DOCS,
    HOSTILE,
    hashed_vector,
    make_langchain_collections,
    make_llama_collections,
)

from milvus_plugins.core import (
    AsyncMilvusStore,
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    FieldMapping,
    Filter,
    FilterError,
    ForeignLayoutError,
    InvalidInputError,
    MilvusPluginsError,
    MilvusStore,
    Record,
    SchemaMismatchError,
    SharedIdError,
    UnsupportedByServerError,
    and_,
    contains,
    doc_id_in,
    eq,
    exists,
    export_collection,
    gt,
    id_in,
    in_,
    migrate,
    migration_target_spec,
    ne,
    nin,
    not_,
    or_,
)

DIM = 4
BIG = 2**63 - 1
SMALL = -(2**63)

Rows = dict[tuple[str, str], str]
"""A snapshot: (partition, primary key) -> the row as canonical JSON."""


# -- the oracle ----------------------------------------------------------------------------


def snapshot(client: MilvusClient, name: str, *, per_partition: bool = True) -> Rows:
    """Every row of ``name`` (every field, vectors and dynamic keys included), read with
    raw pymilvus, one partition at a time (a Milvus query over the whole collection shows
    one row per key, so a key held by two partitions would hide one of them)."""
    partitions = client.list_partitions(name) if per_partition else [None]
    out: Rows = {}
    for partition in partitions:
        rows = client.query(
            name,
            filter="",
            output_fields=["*"],
            partition_names=None if partition is None else [partition],
            limit=16384,
        )
        pk = _primary(client, name)
        for row in rows:
            key = (partition or "*", repr(row[pk]))
            assert key not in out
            out[key] = json.dumps(dict(row), sort_keys=True, default=repr)
    return out


_PRIMARY: dict[str, str] = {}


def _primary(client: MilvusClient, name: str) -> str:
    if name not in _PRIMARY:
        fields = client.describe_collection(name)["fields"]
        _PRIMARY[name] = next(f["name"] for f in fields if f.get("is_primary"))
    return _PRIMARY[name]


def without(rows: Rows, keys: Sequence[Any], partition: str | None = None) -> Rows:
    """``rows`` minus the rows with these primary keys (in ``partition``, or in any)."""
    gone = {repr(k) for k in keys}
    return {
        (p, k): v
        for (p, k), v in rows.items()
        if not (k in gone and (partition is None or p == partition))
    }


# -- running sync and async alike ----------------------------------------------------------


class Twin:
    """A core store called synchronously, or through its async twin on one event loop."""

    def __init__(self, store: MilvusStore, mode: str) -> None:
        self.store = store
        self.mode = mode
        self.loop: asyncio.AbstractEventLoop | None = None
        self.astore: AsyncMilvusStore | None = None
        if mode == "async":
            self.loop = asyncio.new_event_loop()
            self.astore = self.loop.run_until_complete(self._make())

    async def _make(self) -> AsyncMilvusStore:
        return AsyncMilvusStore(self.store)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if self.mode == "sync":
            return getattr(self.store, name)  # type: ignore[no-any-return]
        method = getattr(self.astore, name)
        loop = self.loop
        assert loop is not None

        def call(*args: Any, **kwargs: Any) -> Any:
            return loop.run_until_complete(method(*args, **kwargs))

        return call

    def close(self) -> None:
        if self.loop is not None and self.astore is not None:
            self.loop.run_until_complete(self.astore.close())
            self.loop.close()
        self.store.close()


MODES = ["sync", "async"]


# -- the database and the collections ------------------------------------------------------


@dataclass
class Lite:
    uri: str
    client: MilvusClient

    def name(self, base: str) -> str:
        return f"{base}_{uuid.uuid4().hex[:8]}"

    @property
    def connection(self) -> ConnectionConfig:
        return ConnectionConfig(uri=self.uri)

    def store(
        self,
        name: str,
        layout: FieldMapping | None = None,
        open_mode: str = "check",
        **spec: Any,
    ) -> MilvusStore:
        return MilvusStore(
            CollectionSpec(name=name, layout=layout, **spec),
            connection=self.connection,
            open_mode=open_mode,
        )

    def rows(self, name: str) -> Rows:
        return snapshot(self.client, name)


@pytest.fixture(scope="module")
def lite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lite]:
    uri = str(tmp_path_factory.mktemp("hostile_foreign") / "foreign.db")
    client = MilvusClient(uri=uri)  # kept open: the oracle, and the Lite server stays up
    try:
        yield Lite(uri, client)
    finally:
        client.close()


def _index(field: str, index_type: str, metric: str, **params: Any) -> Any:
    index = MilvusClient.prepare_index_params()
    index.add_index(field, index_type=index_type, metric_type=metric, params=params)
    return index


# INT64 keys at the int64 boundary, negative keys, a key beyond 2**53.
INT_KEYS = [BIG, BIG - 1, SMALL, SMALL + 1, -1, 0, 1, 10, 2**53 + 1]


def _int_rows() -> list[dict[str, Any]]:
    rows = []
    for i, key in enumerate(INT_KEYS):
        row: dict[str, Any] = {
            "pk": key,
            "body": f"t{i}",
            "emb": [1.0, i / 10, 0.5, 0.25],
            "tags": ["a", f"x{i}"],
            "attrs": {"n": i, "q": HOSTILE if i == 4 else f"q{i}"},
            "color": None if i % 3 == 0 else ("red" if i % 2 else "blue"),
        }
        if i % 2:
            row["rank"] = i  # even rows take the default, 7
        if i % 4 == 0:
            row["dyn"] = f"d{i}"  # a dynamic key: not part of this mapping's metadata
        rows.append(row)
    return rows


INT_MAPPING = FieldMapping(id="pk", text="body", vector="emb", metadata_json="attrs")


def make_int_collection(lite: Lite) -> str:
    """INT64 keys (no auto_id), HNSW/IP, an ARRAY, a JSON metadata field, a nullable and a
    default-valued column, and the dynamic field on."""
    name = lite.name("edge_int")
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=True)
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("body", DataType.VARCHAR, max_length=64)
    schema.add_field("emb", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field(
        "tags", DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=4, max_length=16
    )
    schema.add_field("attrs", DataType.JSON)
    schema.add_field("color", DataType.VARCHAR, max_length=16, nullable=True)
    schema.add_field("rank", DataType.INT64, default_value=7)
    index = _index("emb", "HNSW", "IP", M=8, efConstruction=64)
    lite.client.create_collection(name, schema=schema, index_params=index)
    lite.client.insert(name, _int_rows())
    lite.client.flush(name)
    return name


def _int_row_as_read(row: Mapping[str, Any]) -> dict[str, Any]:
    """What a mapped row's metadata is in plain Python: the JSON field, then the columns
    that are not null (defaults applied)."""
    meta = dict(row["attrs"])
    meta["tags"] = row["tags"]
    if row["color"] is not None:
        meta["color"] = row["color"]
    meta["rank"] = row.get("rank", 7)
    return meta


# VARCHAR keys holding what escapes must handle, in a key field of max_length 16.
HOSTILE_IDS = ["1", "01", 'a"b', "a\\b", "a'b", '" or true or "', "é", "😀", "\\", "%_", "x"]


def make_named_like_ours(lite: Lite) -> str:
    """A small VARCHAR key, the text in ``content``, IVF_FLAT/L2 on ``emb`` and a second
    (COSINE) vector field, and scalar columns named ``text``, ``metadata``, ``doc_id``,
    ``id`` plus a nullable JSON ``extra``, like this package's own fields; dynamic on."""
    name = lite.name("like_ours")
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=True)
    schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=16)
    schema.add_field("content", DataType.VARCHAR, max_length=64)
    schema.add_field("emb", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("emb2", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("text", DataType.VARCHAR, max_length=16)
    schema.add_field("metadata", DataType.VARCHAR, max_length=16)
    schema.add_field("doc_id", DataType.INT64)
    schema.add_field("id", DataType.INT64)
    schema.add_field("extra", DataType.JSON, nullable=True)
    index = _index("emb", "IVF_FLAT", "L2", nlist=4)
    index.add_index("emb2", index_type="FLAT", metric_type="COSINE")
    lite.client.create_collection(name, schema=schema, index_params=index)
    rows = [
        {
            "key": key,
            "content": f"c{i}",
            "emb": [1.0, float(i), 0.5, 0.25],
            "emb2": [0.5, 1.0, float(i), 1.0],
            "text": f"tx{i}",
            "metadata": f"m{i}",
            "doc_id": i,
            "id": 10 * i,
            "extra": {"e": i} if i % 2 else None,
            "lang": "en" if i % 2 else "fr",
        }
        for i, key in enumerate(HOSTILE_IDS)
    ]
    lite.client.insert(name, rows)
    lite.client.flush(name)
    return name


LIKE_OURS = FieldMapping(id="key", text="content", vector="emb", dynamic=True)


# -- INT64 keys at the boundary ------------------------------------------------------------

ODD_SPELLINGS = [
    "01",
    "+1",
    "-0",
    " 1",
    "1 ",
    "1.0",
    "0x1",
    "1_0",
    "١",  # an Arabic-Indic digit one: str.isdigit() says yes
    str(BIG + 1),
    str(SMALL - 1),
    "9" * 40,
    "abc",
    '1" or true or "',
]
WRONG_TYPES: list[Any] = [[1], [None], [""], [True], [2**70], [b"1"], [1.0], "1"]


@pytest.mark.parametrize("mode", MODES)
def test_int64_boundary_keys_are_read_by_their_decimal_spelling_only(lite: Lite, mode: str) -> None:
    name = make_int_collection(lite)
    before = lite.rows(name)
    store = Twin(lite.store(name, INT_MAPPING), mode)
    try:
        by_key = {str(r["pk"]): r for r in _int_rows()}
        assert sorted(r.id for r in store.query()) == sorted(by_key)
        for key, row in by_key.items():
            got = store.get([key])
            assert [r.id for r in got] == [key]
            assert got[0].text == row["body"]
            assert got[0].metadata == _int_row_as_read(row)
        ordered = [str(k) for k in reversed(INT_KEYS)]
        assert [r.id for r in store.get(ordered)] == ordered
        assert store.get(ODD_SPELLINGS) == []
        assert store.count(id_in(ODD_SPELLINGS)) == 0
        assert store.count(not_(id_in(ODD_SPELLINGS))) == len(INT_KEYS)
        for wrong in WRONG_TYPES:
            with pytest.raises(InvalidInputError):
                store.get(wrong)
            with pytest.raises(InvalidInputError):
                store.delete(ids=wrong)
        assert lite.rows(name) == before
    finally:
        store.close()


@pytest.mark.parametrize("mode", MODES)
def test_int64_deletes_remove_exactly_the_named_boundary_rows(lite: Lite, mode: str) -> None:
    name = make_int_collection(lite)
    before = lite.rows(name)
    store = Twin(lite.store(name, INT_MAPPING), mode)
    try:
        store.delete(ids=ODD_SPELLINGS)
        assert lite.rows(name) == before
        # An id and a filter: the row must match both (row 1 is i=6: color null).
        assert _int_rows()[6]["pk"] == 1
        store.delete(ids=["1"], filter=eq("color", "blue"))
        assert lite.rows(name) == before
        # A key that exists and a spelling of its neighbour: only the key goes.
        store.delete(ids=[str(BIG), str(SMALL), "-9223372036854775807 "])
        assert lite.rows(name) == without(before, [BIG, SMALL])
        store.delete(ids=[str(2**53 + 1), str(2**53)])
        assert lite.rows(name) == without(before, [BIG, SMALL, 2**53 + 1])
    finally:
        store.close()


def test_filters_on_nullable_default_array_and_json_columns_select_what_python_selects(
    lite: Lite,
) -> None:
    name = make_int_collection(lite)
    rows = _int_rows()
    cases: list[tuple[Filter, Callable[[dict[str, Any]], bool]]] = [
        (eq("color", "red"), lambda r: r["color"] == "red"),
        (ne("color", "red"), lambda r: r["color"] != "red"),  # a null differs
        (nin("color", ["red", "blue"]), lambda r: r["color"] is None),
        (in_("color", ["blue", 'red" or true or "']), lambda r: r["color"] == "blue"),
        (exists("color"), lambda r: r["color"] is not None),
        (not_(exists("color")), lambda r: r["color"] is None),
        (eq("rank", 7), lambda r: r.get("rank", 7) == 7),
        (gt("rank", 4), lambda r: r.get("rank", 7) > 4),
        (contains("tags", "x3"), lambda r: "x3" in r["tags"]),
        (eq("n", 3), lambda r: r["attrs"]["n"] == 3),
        (gt("n", 5), lambda r: r["attrs"]["n"] > 5),
        (eq("q", HOSTILE), lambda r: r["attrs"]["q"] == HOSTILE),
        (ne("q", HOSTILE), lambda r: r["attrs"]["q"] != HOSTILE),
        (eq("dyn", "d0"), lambda r: False),  # dynamic keys are not this mapping's metadata
        (
            or_(eq("color", "blue"), and_(gt("n", 6), ne("color", "red"))),
            lambda r: r["color"] == "blue" or (r["attrs"]["n"] > 6 and r["color"] != "red"),
        ),
    ]
    with lite.store(name, INT_MAPPING) as store:
        for where, predicate in cases:
            want = sorted(str(r["pk"]) for r in rows if predicate(r))
            assert sorted(r.id for r in store.query(where)) == want, where
            assert store.count(where) == len(want), where
        before = lite.rows(name)
        store.delete(filter=ne("color", "red"))
        gone = [r["pk"] for r in rows if r["color"] != "red"]
        assert lite.rows(name) == without(before, gone)


def test_migrating_and_exporting_int64_boundary_rows_keeps_every_value(
    lite: Lite, tmp_path: Path
) -> None:
    name = make_int_collection(lite)
    before = lite.rows(name)
    with lite.store(name, INT_MAPPING) as source:
        source_rows = {r.id: r for r in source.query(include_vectors=True)}
        spec = migration_target_spec(source.spec, name + "_native")
        with MilvusStore(spec, connection=lite.connection) as target:
            report = migrate(source, target, batch_rows=4, sample=len(INT_KEYS))
            assert report.ok, report.verification
            copied = {r.id: r for r in target.query(include_vectors=True)}
            assert copied.keys() == {str(k) for k in INT_KEYS}
            for key, row in source_rows.items():
                assert copied[key].metadata == row.metadata
                assert copied[key].text == row.text
                assert copied[key].vector == row.vector
        path = tmp_path / "edge.jsonl"
        assert export_collection(source, path).rows == len(INT_KEYS)
        parsed = [json.loads(line) for line in path.read_text().splitlines()[1:]]
        lines = [line for line in parsed if "vector" in line]  # rows, not the end line
        assert {line["id"] for line in lines} == {str(k) for k in INT_KEYS}
        assert {line["id"]: line["metadata"] for line in lines} == {
            k: r.metadata for k, r in source_rows.items()
        }
    assert lite.rows(name) == before


# -- VARCHAR keys and columns named like this package's fields ----------------------------


@pytest.mark.parametrize("mode", MODES)
def test_hostile_varchar_keys_get_and_delete_exactly_their_own_row(lite: Lite, mode: str) -> None:
    name = make_named_like_ours(lite)
    before = lite.rows(name)
    store = Twin(lite.store(name, LIKE_OURS), mode)
    try:
        for key in HOSTILE_IDS:
            assert [r.id for r in store.get([key])] == [key]
            assert store.count(id_in([key])) == 1
        longer = ["x" * 17, "1" * 100, "x\x00", "X", "1 "]
        assert store.get(longer) == []
        store.delete(ids=longer)
        assert lite.rows(name) == before
        current = before
        for key in ['" or true or "', "\\", "a\\b", "1", "%_"]:
            store.delete(ids=[key])
            current = without(current, [key])
            assert lite.rows(name) == current, key
        assert sorted(r.id for r in store.query()) == sorted(
            set(HOSTILE_IDS) - {'" or true or "', "\\", "a\\b", "1", "%_"}
        )
    finally:
        store.close()


def test_columns_named_like_this_packages_fields_are_plain_metadata(lite: Lite) -> None:
    from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
    from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

    name = make_named_like_ours(lite)
    before = lite.rows(name)
    with lite.store(name, LIKE_OURS) as store:
        got = store.get(['a"b'])[0]
        assert got.text == "c2"
        assert got.metadata == {
            "text": "tx2",
            "metadata": "m2",
            "doc_id": 2,
            "id": 20,
            "lang": "fr",
        }
        assert [r.id for r in store.query(eq("text", "tx3"))] == ["a\\b"]
        assert [r.id for r in store.query(eq("metadata", "m4"))] == ["a'b"]
        assert [r.id for r in store.query(eq("doc_id", 5))] == ['" or true or "']
        assert [r.id for r in store.query(eq("id", 60))] == ["é"]
        assert [r.id for r in store.query(id_in(["x"]))] == ["x"]
        assert store.count(eq("lang", "en")) == 5
        with pytest.raises(FilterError, match="document-id"):
            store.query(doc_id_in(["3"]))
        with pytest.raises(ConfigError, match="emb2"):
            store.search([0.5, 1.0, 2.0, 1.0], k=2, field="emb2")
        hits = store.search([1.0, 2.0, 0.5, 0.25], k=3)
        assert hits[0].id == 'a"b' and hits[0].score == pytest.approx(1.0)
    llama = LlamaStore(uri=lite.uri, collection_name=name, field_mapping=LIKE_OURS)
    try:
        with pytest.raises(FilterError, match="document-id"):
            llama.delete("3")
        nodes = llama.get_nodes(node_ids=['" or true or "', "😀"])
        assert [n.node_id for n in nodes] == ['" or true or "', "😀"]
        assert nodes[0].metadata["doc_id"] == 5
    finally:
        llama.close()
    model = Counting().model
    lc = LangChainStore(model, uri=lite.uri, collection_name=name, field_mapping=LIKE_OURS)
    try:
        docs = lc.get_by_ids(["\\", "a\\b", "é"])
        assert [d.id for d in docs] == ["\\", "a\\b", "é"]
        assert [d.page_content for d in docs] == ["c8", "c3", "c6"]
    finally:
        lc.close()
    assert lite.rows(name) == before


VALUES = [
    'a"b',
    "a\\b",
    "a'b",
    '" or true or "',
    "') or true or ('",
    "é",
    "😀",
    "\\",
    '\\"',
    "x\ny",
    "tab\there",
    "%",
    "_",
    "",
    " ",
    "ab\\\\",
    "$meta",
    'a]["b',
]


def test_hostile_values_select_the_rows_python_selects_in_columns_json_and_dynamic_keys(
    lite: Lite,
) -> None:
    name = lite.name("values")
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=True)
    schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=24)
    schema.add_field("body", DataType.VARCHAR, max_length=64)
    schema.add_field("emb", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("col", DataType.VARCHAR, max_length=24, nullable=True)
    schema.add_field("attrs", DataType.JSON, nullable=True)
    lite.client.create_collection(name, schema=schema, index_params=_index("emb", "FLAT", "L2"))
    rows = [
        {
            "key": f"k{i}",
            "body": f"b{i}",
            "emb": [1.0, float(i), 0.5, 0.25],
            "col": v,
            "attrs": {"j": v},
            "dyn": v,
        }
        for i, v in enumerate(VALUES)
    ]
    rows.append({"key": "nulls", "body": "n", "emb": [0.0, 0.0, 1.0, 1.0], "col": None})
    lite.client.insert(name, rows)
    lite.client.flush(name)
    before = lite.rows(name)
    layouts = {
        "col": FieldMapping(id="key", text="body", vector="emb", columns=["col"]),
        "j": FieldMapping(id="key", text="body", vector="emb", metadata_json="attrs", columns=[]),
        "dyn": FieldMapping(id="key", text="body", vector="emb", dynamic=True, columns=[]),
    }
    every = {r["key"] for r in rows}
    for key, layout in layouts.items():
        with lite.store(name, layout) as store:
            for value in VALUES:
                held = {r["key"] for r in rows if r["key"] != "nulls" and r["col"] == value}
                assert {r.id for r in store.query(eq(key, value))} == held, (key, value)
                assert {r.id for r in store.query(ne(key, value))} == every - held, (key, value)
                assert {r.id for r in store.query(in_(key, [value, "zz"]))} == held, (key, value)
                assert {r.id for r in store.query(nin(key, [value]))} == every - held, (key, value)
            store.delete(filter=eq(key, '" or true or "x'))
            store.delete(filter=in_(key, ["') or true or ('x", "\\\\"]))
            assert lite.rows(name) == before


# -- partitions ----------------------------------------------------------------------------


def make_partitioned(lite: Lite) -> tuple[str, dict[str, list[int]]]:
    """INT64 keys in named partitions ``pa`` and ``pb`` and in ``_default``."""
    name = lite.name("parts")
    schema = MilvusClient.create_schema(auto_id=False)
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("body", DataType.VARCHAR, max_length=32)
    schema.add_field("emb", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("tag", DataType.VARCHAR, max_length=8)
    lite.client.create_collection(name, schema=schema, index_params=_index("emb", "FLAT", "L2"))
    placed = {"pa": [1, 2, BIG], "pb": [3, -4, SMALL], "_default": [5]}
    for partition, keys in placed.items():
        if partition != "_default":
            lite.client.create_partition(name, partition)
        rows = [
            {
                "pk": k,
                "body": f"{partition}{i}",
                "emb": [1.0, float(i), float(partition == "pb"), 0.0],
                "tag": partition[-1],
            }
            for i, k in enumerate(keys)
        ]
        lite.client.insert(name, rows, partition_name=partition)
    lite.client.flush(name)
    return name, placed


@pytest.mark.parametrize("mode", MODES)
def test_partition_scoped_calls_never_touch_another_partition(lite: Lite, mode: str) -> None:
    name, placed = make_partitioned(lite)
    before = lite.rows(name)
    store = Twin(lite.store(name, FieldMapping(id="pk", text="body", vector="emb")), mode)
    try:
        assert store.get(["3", str(SMALL)], partition_names=["pa"]) == []
        assert [r.id for r in store.get([str(SMALL)], partition_names=["pb"])] == [str(SMALL)]
        for partition, keys in placed.items():
            assert store.count(partition_names=[partition]) == len(keys)
            hits = store.search([1.0, 1.0, 1.0, 0.0], k=5, partition_names=[partition])
            assert {h.id for h in hits} == {str(k) for k in keys}
        assert store.count(eq("tag", "a"), partition_names=["pb"]) == 0
        store.delete(ids=["3", str(SMALL), "5"], partition_names=["pa"])
        store.delete(filter=eq("tag", "b"), partition_names=["pa", "_default"])
        # A partition the collection lacks is refused, not read as an empty one.
        with pytest.raises(InvalidInputError, match="no partition 'nope'"):
            store.delete(ids=["1"], partition_names=["nope"])
        with pytest.raises(InvalidInputError, match="no partition 'nope'"):
            store.clear(partition_names=["pa", "nope"])
        assert lite.rows(name) == before
        store.delete(ids=[str(SMALL), "1"], partition_names=["pb"])
        assert lite.rows(name) == without(before, [SMALL])
        store.clear(partition_names=["pa"])
        assert lite.rows(name) == without(before, [SMALL, *placed["pa"]])
        with pytest.raises(ConfigError):
            store.count(partition_names=["a-b"])
    finally:
        store.close()


def _key_in_two_partitions(lite: Lite) -> str:
    """Key 7 written by another client into ``_default`` and then into ``pa``: Milvus keeps
    both rows (a query over the collection shows one; each partition shows its own)."""
    name = lite.name("twice")
    schema = MilvusClient.create_schema(auto_id=False)
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("body", DataType.VARCHAR, max_length=32)
    schema.add_field("emb", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("tag", DataType.VARCHAR, max_length=8)
    lite.client.create_collection(name, schema=schema, index_params=_index("emb", "FLAT", "L2"))
    lite.client.create_partition(name, "pa")
    row = {"pk": 7, "body": "in default", "emb": [0.0, 1.0, 0.0, 1.0], "tag": "d"}
    lite.client.insert(name, [row, {**row, "pk": 5, "body": "other"}])
    lite.client.flush(name)
    moved = [{**row, "body": "in pa", "tag": "a"}, {**row, "pk": 1, "body": "a1", "tag": "a"}]
    lite.client.insert(name, moved, partition_name="pa")
    lite.client.flush(name)
    return name


def test_a_partition_scoped_delete_of_a_key_two_partitions_hold_is_refused(lite: Lite) -> None:
    name = _key_in_two_partitions(lite)
    before = lite.rows(name)
    assert ("_default", "7") in before and ("pa", "7") in before
    with lite.store(name, FieldMapping(id="pk", text="body", vector="emb")) as store:
        assert [r.text for r in store.get(["7"], partition_names=["_default"])] == ["in default"]
        for call in (
            lambda: store.delete(ids=["7"], partition_names=["pa"]),
            lambda: store.delete(filter=eq("tag", "a"), partition_names=["pa"]),
            lambda: store.clear(partition_names=["pa"]),
        ):
            with pytest.raises(UnsupportedByServerError, match="other partitions"):
                call()
            assert lite.rows(name) == before


# DEFECT (fixed): unscoped filtered delete also removed a non-matching row holding the same key
def test_a_filtered_delete_removes_only_rows_that_match_when_a_key_is_in_two_partitions(
    lite: Lite,
) -> None:
    name = _key_in_two_partitions(lite)
    before = lite.rows(name)
    with lite.store(name, FieldMapping(id="pk", text="body", vector="emb")) as store:
        try:
            store.delete(filter=eq("tag", "a"))  # rows 7 and 1 in pa; not 7 in _default
        except MilvusPluginsError:
            assert lite.rows(name) == before  # refused: nothing may have changed
            return
    after = lite.rows(name)
    assert ("_default", "7") in after, "the _default row (tag 'd') was deleted by tag == 'a'"
    assert after == without(before, [7, 1], partition="pa")


# -- a partition key, a BM25 function, auto_id, nullable and default columns ---------------

PASSAGES = [
    "apple pie",
    "banana bread",
    "cherry tart",
    'quote " here',
    "back \\ slash",
    "unicode ünï",
    "grape jam",
    "lemon cake",
]


def make_bm25_tenants(lite: Lite) -> str:
    """auto_id INT64 keys, the text in ``passage`` feeding a BM25 function into ``sp``,
    COSINE ``dense``, a VARCHAR partition key, a nullable DOUBLE, a BOOL with a default,
    and a dynamic key."""
    name = lite.name("bm25")
    schema = MilvusClient.create_schema(auto_id=True, enable_dynamic_field=True)
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("passage", DataType.VARCHAR, max_length=128, enable_analyzer=True)
    schema.add_field("dense", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("sp", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field("tenant", DataType.VARCHAR, max_length=8, is_partition_key=True)
    schema.add_field("score", DataType.DOUBLE, nullable=True)
    schema.add_field("flag", DataType.BOOL, default_value=False)
    schema.add_function(
        Function(
            name="bm25",
            function_type=FunctionType.BM25,
            input_field_names=["passage"],
            output_field_names=["sp"],
        )
    )
    index = _index("dense", "FLAT", "COSINE")
    index.add_index("sp", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    lite.client.create_collection(name, schema=schema, index_params=index)
    rows = []
    for i, text in enumerate(PASSAGES):
        row: dict[str, Any] = {
            "passage": text,
            "dense": [1.0, float(i), 0.5, 0.25],
            "tenant": "AB"[i % 2],
            "score": None if i == 2 else i * 1.5,
            "lang": "en" if i < 4 else "de",
        }
        if i in (1, 3):
            row["flag"] = True
        rows.append(row)
    lite.client.insert(name, rows)
    lite.client.flush(name)
    return name


BM25_MAPPING = FieldMapping(id="pk", text="passage", vector="dense", sparse="sp", dynamic=True)


class Counting:
    """A LangChain embedding that counts the texts it was asked to embed."""

    def __init__(self) -> None:
        from langchain_core.embeddings import Embeddings

        outer = self

        class Model(Embeddings):
            def embed_documents(self, texts: list[str]) -> list[list[float]]:
                outer.texts += len(texts)
                return [[1.0, float(len(t)), 0.5, 0.25] for t in texts]

            def embed_query(self, text: str) -> list[float]:
                return [1.0, 3.0, 0.5, 0.25]

        self.texts = 0
        self.model = Model()


@pytest.mark.parametrize("mode", MODES)
def test_bm25_partition_key_collection_serves_tenants_keyword_and_hybrid(
    lite: Lite, mode: str
) -> None:
    name = make_bm25_tenants(lite)
    before = snapshot(lite.client, name, per_partition=False)
    tenants = CollectionSpec(
        name=name,
        layout=BM25_MAPPING,
        metadata_fields={"tenant": "VARCHAR"},
        partition_key="tenant",
    )
    store = Twin(MilvusStore(tenants, connection=lite.connection), mode)
    try:
        texts = {r.id: r.text for r in store.query()}
        ids = {text: key for key, text in texts.items()}
        assert sorted(texts.values()) == sorted(PASSAGES)
        assert store.stats().partition_key == "tenant"
        a_rows = {ids[t] for i, t in enumerate(PASSAGES) if i % 2 == 0}
        assert {r.id for r in store.query(tenant="A")} == a_rows
        assert {h.id for h in store.search([1.0, 3.0, 0.5, 0.25], k=8, tenant="A")} == a_rows
        keyword = store.sparse_search("banana", k=3)
        assert [h.record.text for h in keyword] == ["banana bread"]
        assert store.sparse_search("banana", k=3, tenant="A") == []
        assert store.sparse_search('" or true or "', k=3) == []
        fused = store.hybrid_search([1.0, 6.0, 0.5, 0.25], "grape", k=2)
        assert fused[0].record.text == "grape jam"
        assert {r.text for r in store.query(eq("flag", True))} == {"banana bread", 'quote " here'}
        assert {r.text for r in store.query(ne("score", 3.0))} == set(PASSAGES)  # null too
        with pytest.raises(FilterError):
            store.query(eq("flag", 1))  # a BOOL column is compared with a bool
        with pytest.raises(ConfigError):
            store.count(partition_names=["_default"])  # the key routes rows itself
        # Another tenant's rows are out of every call's reach.
        store.delete(ids=sorted(a_rows), tenant="B")
        store.delete(filter=eq("tenant", "A"), tenant="B")
        store.clear(tenant="C")
        assert store.get([sorted(a_rows)[0]], tenant="B") == []
        with pytest.raises(ConfigError):
            store.count(tenant='A" or true or "')
        with pytest.raises(ForeignLayoutError, match="migrate"):
            store.upsert([Record(id="new", text="x", vector=[1.0, 1.0, 1.0, 1.0])])
        assert snapshot(lite.client, name, per_partition=False) == before
    finally:
        store.close()


def test_adapters_refuse_writes_and_delete_nothing_unasked_on_the_bm25_collection(
    lite: Lite,
) -> None:
    from llama_index.core.schema import TextNode
    from llama_index.core.vector_stores.types import (
        FilterOperator,
        MetadataFilter,
        MetadataFilters,
        VectorStoreQuery,
    )

    from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
    from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

    name = make_bm25_tenants(lite)
    before = snapshot(lite.client, name, per_partition=False)
    counting = Counting()
    lc = LangChainStore(
        counting.model, uri=lite.uri, collection_name=name, field_mapping=BM25_MAPPING
    )
    try:
        with pytest.raises(InvalidInputError):
            lc.get_by_ids([1])  # type: ignore[list-item]
        with pytest.raises(InvalidInputError):
            lc.delete([1])  # type: ignore[list-item]
        with pytest.raises(InvalidInputError):
            lc.delete("1")
        with pytest.raises(InvalidInputError):
            lc.delete(filter={})
        lc.delete(filter={"nokey": "v"})
        lc.delete(filter={"lang": '" or true or "'})
        lc.delete(ids=["1", "2"], filter={"lang": "fr"})
        lc.delete(ids=["01", "-0", "1.0", "1e0", "+2"])
        with pytest.raises(ForeignLayoutError, match="migrate"):
            lc.add_texts(["more"])
        with pytest.raises(ForeignLayoutError, match="migrate"):
            asyncio.run(lc.aadd_texts(["more"]))
        assert counting.texts == 0
    finally:
        lc.close()
    llama = LlamaStore(uri=lite.uri, collection_name=name, field_mapping=BM25_MAPPING)
    try:
        query = VectorStoreQuery(query_embedding=[1.0, 3.0, 0.5, 0.25], similarity_top_k=8)
        first = [n.node_id for n in llama.query(query).nodes or []]
        assert len(first) == 8
        assert [n.node_id for n in llama.query(query).nodes or []] == first
        hostile = MetadataFilters(filters=[MetadataFilter(key="lang", value='" or true or "')])
        query.filters = hostile
        assert llama.query(query).nodes == []
        llama.delete_nodes(node_ids=["01", "abc", str(BIG + 1)])
        llama.delete_nodes(filters=hostile)
        llama.delete_nodes(
            node_ids=["999"],
            filters=MetadataFilters(
                filters=[MetadataFilter(key="nokey", value="v", operator=FilterOperator.NE)]
            ),
        )
        with pytest.raises(InvalidInputError):
            llama.delete_nodes(filters=MetadataFilters(filters=[]))
        with pytest.raises(FilterError, match="document-id"):
            llama.delete("doc")
        with pytest.raises(ForeignLayoutError, match="migrate"):
            llama.add([TextNode(text="z", embedding=[1.0, 2.0, 3.0, 4.0])])
        with pytest.raises(ForeignLayoutError, match="migrate"):
            asyncio.run(llama.async_add([TextNode(text="z", embedding=[1.0, 2.0, 3.0, 4.0])]))
    finally:
        llama.close()
    assert snapshot(lite.client, name, per_partition=False) == before


@pytest.mark.parametrize(
    "where",
    [
        nin("lang", []),
        not_(in_("tenant", [])),
        not_(id_in([])),
        not_(or_()),
        and_(),
        or_(and_()),
        "",
        "   ",
    ],
    ids=repr,
)
def test_deletes_whose_filter_matches_every_row_by_structure_are_refused(
    lite: Lite, where: Filter | str
) -> None:
    name = make_named_like_ours(lite)
    before = lite.rows(name)
    with lite.store(name, LIKE_OURS) as store, pytest.raises(InvalidInputError, match="clear"):
        store.delete(filter=where)
    assert lite.rows(name) == before


# -- metrics and indexes -------------------------------------------------------------------

QUERY = [1.0, 0.2, 0.3, 0.5]
SPREAD = [[math.cos(i / 3), math.sin(i / 3), 0.1 * i, 0.5] for i in range(10)]


def _similarity(vector: Sequence[float], metric: str) -> float:
    dot = sum(a * b for a, b in zip(vector, QUERY, strict=True))
    if metric == "IP":
        return dot
    if metric == "COSINE":
        norms = math.sqrt(sum(a * a for a in vector)) * math.sqrt(sum(b * b for b in QUERY))
        return dot / norms
    return -sum((a - b) ** 2 for a, b in zip(vector, QUERY, strict=True))


@pytest.mark.parametrize("metric", ["IP", "COSINE", "L2"])
def test_each_metric_and_index_of_a_foreign_collection_ranks_like_python(
    lite: Lite, metric: str
) -> None:
    expected = sorted(range(len(SPREAD)), key=lambda i: -_similarity(SPREAD[i], metric))
    kinds: list[tuple[str, dict[str, Any]]] = [
        ("FLAT", {}),
        ("HNSW", {"M": 8, "efConstruction": 32}),
        ("IVF_FLAT", {"nlist": 2}),
    ]
    for kind, params in kinds:
        name = lite.name(f"m_{metric}_{kind}")
        schema = MilvusClient.create_schema(auto_id=False)
        schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=8)
        schema.add_field("body", DataType.VARCHAR, max_length=8)
        schema.add_field("emb", DataType.FLOAT_VECTOR, dim=DIM)
        index = _index("emb", kind, metric, **params)
        lite.client.create_collection(name, schema=schema, index_params=index)
        rows = [{"key": f"k{i}", "body": "b", "emb": v} for i, v in enumerate(SPREAD)]
        lite.client.insert(name, rows)
        lite.client.flush(name)
        layout = FieldMapping(id="key", text="body", vector="emb")
        with lite.store(name, layout) as store:
            hits = store.search(QUERY, k=6)
            assert store.spec.metric.value == metric  # read from the collection's index
            assert [h.id for h in hits] == [f"k{i}" for i in expected[:6]], kind
            assert all(0.0 <= h.score <= 1.0 for h in hits)
            for hit in hits:  # the raw value Milvus returned is kept
                i = int(hit.id[1:])
                raw = _similarity(SPREAD[i], metric)
                assert hit.distance == pytest.approx(-raw if metric == "L2" else raw, abs=1e-4)
            threshold = hits[3].score - 1e-6
            kept = store.search(QUERY, k=10, score_threshold=threshold)
            assert [h.id for h in kept] == [h.id for h in hits if h.score >= threshold]


# -- open_mode="adopt" on collections that are not this package's ------------------------


def _raw(
    lite: Lite, base: str, fields: Sequence[tuple[str, Any, dict[str, Any]]], **kw: Any
) -> str:
    name = lite.name(base)
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=bool(kw.get("dynamic")))
    for field, kind, params in fields:
        schema.add_field(field, kind, **params)
    vector = next(f for f, k, _ in fields if k == DataType.FLOAT_VECTOR)
    lite.client.create_collection(name, schema=schema, index_params=_index(vector, "FLAT", "L2"))
    lite.client.insert(name, kw["rows"])
    lite.client.flush(name)
    return name


def _unrecognised(lite: Lite) -> str:
    rows = [{"key": f"k{i}", "body": f"b{i}", "emb": [1.0, float(i), 0.5, 0.25]} for i in range(3)]
    return _raw(
        lite,
        "unknown",
        [
            ("key", DataType.VARCHAR, {"is_primary": True, "max_length": 8}),
            ("body", DataType.VARCHAR, {"max_length": 16}),
            ("emb", DataType.FLOAT_VECTOR, {"dim": DIM}),
        ],
        rows=rows,
    )


def _ours_by_name(lite: Lite, key: Any, *, dynamic: bool) -> str:
    """``id``, ``text``, ``vector``, ``metadata`` as another tool named them (this
    package's names), without ``doc_id`` and ``extra``."""
    rows = [
        {
            "id": i if key == DataType.INT64 else str(i),
            "text": f"t{i}",
            "vector": [1.0, float(i), 0.5, 0.25],
            "metadata": {"n": i},
        }
        for i in range(1, 6)
    ]
    params: dict[str, Any] = {"is_primary": True}
    if key == DataType.VARCHAR:
        params["max_length"] = 8
    return _raw(
        lite,
        "ours_by_name",
        [
            ("id", key, params),
            ("text", DataType.VARCHAR, {"max_length": 64}),
            ("vector", DataType.FLOAT_VECTOR, {"dim": DIM}),
            ("metadata", DataType.JSON, {}),
        ],
        rows=rows,
        dynamic=dynamic,
    )


def test_check_mode_refuses_every_call_on_collections_that_are_not_its_layout(
    lite: Lite,
) -> None:
    for name in (
        _unrecognised(lite),
        _ours_by_name(lite, DataType.INT64, dynamic=False),
        _ours_by_name(lite, DataType.VARCHAR, dynamic=True),
    ):
        before = lite.rows(name)
        record = Record(id="9", text="new", vector=[1.0, 1.0, 1.0, 1.0])
        with lite.store(name) as store:
            for call in (
                store.count,
                store.query,
                lambda: store.get(["1"]),
                lambda: store.search([1.0, 2.0, 0.5, 0.25], k=2),
                lambda: store.upsert([record]),  # noqa: B023 (called at once)
                lambda: store.delete(ids=["1"]),
            ):
                with pytest.raises(SchemaMismatchError):
                    call()
        assert lite.rows(name) == before


# DEFECT (fixed): adopt of an unknown schema: query() leaked KeyError 'id', no field_mapping
@pytest.mark.parametrize("mode", MODES)
def test_adopting_an_unrecognised_schema_raises_typed_errors_naming_field_mapping(
    lite: Lite, mode: str
) -> None:
    name = _unrecognised(lite)
    before = lite.rows(name)
    store = Twin(lite.store(name, open_mode="adopt"), mode)
    try:
        for call in (
            store.query,
            lambda: store.get(["k1"]),
            lambda: store.search([1.0, 1.0, 0.5, 0.25], k=2),
            lambda: store.delete(ids=["k1"]),
        ):
            with pytest.raises(MilvusPluginsError, match="field_mapping"):
                call()
    finally:
        store.close()
    assert lite.rows(name) == before


# DEFECT (fixed): adopt of INT64 "id" keys: get(["1"]) returned [] though query() read "1"
def test_adopting_int64_keys_named_id_gets_the_ids_that_query_reads(lite: Lite) -> None:
    name = _ours_by_name(lite, DataType.INT64, dynamic=False)
    before = lite.rows(name)
    with lite.store(name, open_mode="adopt") as store:
        try:
            listed = sorted(r.id for r in store.query())
        except SchemaMismatchError as refused:  # not this package's layout: field_mapping
            assert "field_mapping" in str(refused)
            assert lite.rows(name) == before
            return
        assert listed == ["1", "2", "3", "4", "5"]
        try:
            got = [r.id for r in store.get(["1", "2"])]
        except MilvusPluginsError:
            got = None  # a typed refusal would do
        assert got in (["1", "2"], None), f"get returned {got} for ids query() lists"
    assert lite.rows(name) == before


# DEFECT (fixed): adopt upsert without doc_id/extra stored extra as '{}'; reads: ValueError
def test_adopting_a_collection_without_doc_id_and_extra_writes_rows_that_read_back(
    lite: Lite,
) -> None:
    name = _ours_by_name(lite, DataType.VARCHAR, dynamic=True)
    before = lite.rows(name)
    with lite.store(name, open_mode="adopt") as store:
        record = Record(id="9", text="new", vector=[1.0, 1.0, 1.0, 1.0], metadata={"n": 9})
        try:
            store.upsert([record])
        except MilvusPluginsError:
            assert lite.rows(name) == before  # refused: nothing may be written
            return
        got = store.get(["9"])
        assert [(r.id, r.text, r.metadata) for r in got] == [("9", "new", {"n": 9})]
        assert sorted(r.id for r in store.query()) == ["1", "2", "3", "4", "5", "9"]


# DEFECT (fixed): on Lite, delete(ids=["nope"]) reported 1 row deleted though none was removed
def test_delete_reports_the_rows_it_removed(lite: Lite) -> None:
    name = make_named_like_ours(lite)
    before = lite.rows(name)
    with lite.store(name, LIKE_OURS) as store:
        assert store.delete(ids=["nope"]) == 0
        assert store.delete(ids=["x", "x"]) == 1
    assert lite.rows(name) == without(before, ["x"])


# -- collections made by the real langchain-milvus and llama-index-vector-stores-milvus --


@dataclass
class Official:
    uri: str
    client: MilvusClient


@pytest.fixture(scope="module")
def official(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Official]:
    uri = str(tmp_path_factory.mktemp("official") / "official.db")
    make_langchain_collections(uri, "lc_", sparse=False)  # before this process opens it
    make_llama_collections(uri, "li_", sparse=False)
    client = MilvusClient(uri=uri)
    for name in client.list_collections():
        client.load_collection(name)  # made in another process: released here
    try:
        yield Official(uri, client)
    finally:
        client.close()


def _hashed() -> Any:
    from langchain_core.embeddings import Embeddings

    class Hashed(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return [hashed_vector(t) for t in texts]

        def embed_query(self, text: str) -> list[float]:
            return hashed_vector(text)

    return Hashed()


# DEFECT (fixed): LangChain adapter on a llama-index collection: 2nd search raised KeyError
@pytest.mark.parametrize("mode", MODES)
def test_langchain_adapter_searches_a_llama_index_collection_more_than_once(
    official: Official, mode: str
) -> None:
    from milvus_plugins.langchain import MilvusVectorStore as LangChainStore

    lc = LangChainStore(_hashed(), uri=official.uri, collection_name="li_plain")
    query = "echo document number 4"

    async def twice_async() -> list[list[str]]:
        out = []
        for _ in range(2):
            docs = await lc.asimilarity_search(query, k=1, filter={"n": 4})
            out.append([d.page_content for d in docs])
        await lc.aclose()
        return out

    try:
        if mode == "sync":
            found = [[d.page_content for d in lc.similarity_search(query, k=1)] for _ in range(2)]
        else:
            found = asyncio.run(twice_async())
        assert found == [[query], [query]]
    finally:
        lc.close()


def test_llama_adapter_on_langchain_collections_reads_exactly_and_deletes_nothing_unasked(
    official: Official,
) -> None:
    from llama_index.core.vector_stores.types import (
        MetadataFilter,
        MetadataFilters,
        VectorStoreQuery,
    )

    from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

    for collection in ("lc_auto", "lc_default"):
        before = snapshot(official.client, collection)
        llama = LlamaStore(uri=official.uri, collection_name=collection)
        try:
            hostile = MetadataFilters(filters=[MetadataFilter(key="source", value=HOSTILE)])
            for _ in range(2):
                result = llama.query(
                    VectorStoreQuery(
                        query_embedding=hashed_vector("alpha document number 0"),
                        similarity_top_k=9,
                        filters=hostile,
                    )
                )
                assert [n.get_content() for n in result.nodes or []] == ["delta document number 3"]
            nodes = llama.get_nodes()
            assert len(nodes) == len(DOCS)
            some = nodes[0].node_id
            assert [n.node_id for n in llama.get_nodes(node_ids=[some])] == [some]
            odd = ["0" + some, "+" + some, some + " ", "abc", str(BIG + 1)]
            if collection == "lc_default":
                odd = [some.upper(), some + "\x00", '" or true or "']
            assert llama.get_nodes(node_ids=odd) == []
            llama.delete_nodes(node_ids=odd)
            llama.delete_nodes(filters=hostile, node_ids=["abc"])
            with pytest.raises(InvalidInputError):
                llama.delete_nodes(node_ids=[int(some)] if some.isdigit() else [None])  # type: ignore[list-item]
        finally:
            llama.close()
        assert snapshot(official.client, collection) == before


# DEFECT (fixed): filter with an int beyond int64 on a dynamic key: MilvusOperationError
def test_int_beyond_int64_in_a_filter_on_a_dynamic_key_is_answered_or_a_filter_error(
    official: Official,
) -> None:
    before = snapshot(official.client, "li_plain")
    spec = CollectionSpec(name="li_plain")
    with MilvusStore(spec, connection=ConnectionConfig(uri=official.uri)) as store:
        assert store.count(gt("n", 7)) == 1  # "n" is a dynamic key of this layout
        for where, want in ((gt("n", 2**63), 0), (ne("n", -(2**63) - 1), len(DOCS))):
            try:
                got = store.count(where)
            except FilterError:
                continue
            assert got == want
        with contextlib.suppress(FilterError):
            store.delete(filter=gt("n", 2**63))
    assert snapshot(official.client, "li_plain") == before


# DEFECT (fixed): migrate dropped one of two rows another client put under one key in 2 partitions
def test_migrating_a_key_held_by_two_partitions_copies_both_rows_or_refuses(
    lite: Lite, tmp_path: Path
) -> None:
    name = _key_in_two_partitions(lite)
    before = lite.rows(name)
    layout = FieldMapping(id="pk", text="body", vector="emb")
    with lite.store(name, layout) as source:
        with pytest.raises(MilvusPluginsError):  # export refuses it (nothing written)
            export_collection(source, tmp_path / "twice.jsonl")
        assert not (tmp_path / "twice.jsonl").exists()
        source.count()
        spec = migration_target_spec(source.spec, name + "_native")
        with MilvusStore(spec, connection=lite.connection) as target:
            try:
                report = migrate(source, target)
            except MilvusPluginsError:
                assert name + "_native" not in lite.client.list_collections() or (
                    target.count() == 0
                )
            else:
                copied = lite.rows(name + "_native")  # every partition's rows
                texts = sorted(json.loads(row)["text"] for row in copied.values())
                assert report.ok
                assert texts == ["a1", "in default", "in pa", "other"], (
                    f"migrate reported ok but copied {texts} of 4 rows"
                )
    assert lite.rows(name) == before


def test_adapters_keep_partition_scope_and_langchain_delete_all_keeps_the_collection(
    lite: Lite,
) -> None:
    from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
    from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

    name, placed = make_partitioned(lite)
    layout = FieldMapping(id="pk", text="body", vector="emb")
    before = lite.rows(name)
    described = lite.client.describe_collection(name)
    llama = LlamaStore(
        uri=lite.uri, collection_name=name, field_mapping=layout, milvus_partition_names=["pa"]
    )
    try:
        llama.delete_nodes(node_ids=["3", str(SMALL), "5"])  # none is in pa
        assert [n.node_id for n in llama.get_nodes(node_ids=["3", "1"])] == ["1"]
        assert lite.rows(name) == before
        llama.delete_nodes(node_ids=[str(BIG), "3"])
        assert lite.rows(name) == without(before, [BIG])
    finally:
        llama.close()
    current = lite.rows(name)
    lc = LangChainStore(Counting().model, uri=lite.uri, collection_name=name, field_mapping=layout)
    try:
        lc.delete(ids=["1", "2", "5"], partition_names=["pb"])
        assert lite.rows(name) == current
        lc.delete(partition_names=["pb"])  # "delete all" of one partition
        assert lite.rows(name) == without(current, placed["pb"])
        lc.delete()  # LangChain's "delete all": every row, the collection stays
        assert lite.rows(name) == {}
    finally:
        lc.close()
    assert lite.client.describe_collection(name)["fields"] == described["fields"]
    assert sorted(lite.client.list_partitions(name)) == ["_default", "pa", "pb"]


# DEFECT (fixed): tenant B's delete of a key also removed tenant A's row holding the same key
def test_a_tenant_delete_never_removes_another_tenants_row_with_the_same_key(lite: Lite) -> None:
    name = lite.name("tenant_dup")
    schema = MilvusClient.create_schema(auto_id=False)
    schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=16)
    schema.add_field("body", DataType.VARCHAR, max_length=32)
    schema.add_field("emb", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("tenant", DataType.VARCHAR, max_length=8, is_partition_key=True)
    lite.client.create_collection(name, schema=schema, index_params=_index("emb", "FLAT", "L2"))
    row = {"key": "k1", "body": "of A", "emb": [1.0, 0.0, 0.0, 0.0], "tenant": "A"}
    lite.client.insert(name, [row, {**row, "key": "k2", "body": "a2"}])
    lite.client.flush(name)
    lite.client.insert(name, [{**row, "body": "of B", "tenant": "B"}])  # the same key, for B
    lite.client.flush(name)
    before = lite.rows(name)
    bodies = sorted(json.loads(v)["body"] for v in before.values())
    assert bodies == ["a2", "of A", "of B"]  # Milvus keeps both rows of k1
    spec = CollectionSpec(
        name=name,
        layout=FieldMapping(id="key", text="body", vector="emb"),
        metadata_fields={"tenant": "VARCHAR"},
        partition_key="tenant",
    )
    with MilvusStore(spec, connection=lite.connection) as store:
        # A's k1 is hidden behind B's in a read of the collection: the delete either does
        # nothing or is refused (SharedIdError names the duplicate key), nothing changed.
        with contextlib.suppress(SharedIdError):
            store.delete(ids=["k1"], tenant="A")
        assert lite.rows(name) == before
        for call in (lambda: store.delete(ids=["k1"], tenant="A"), lambda: store.clear(tenant="A")):
            with pytest.raises(SharedIdError, match="k1"):
                call()
            assert lite.rows(name) == before
        try:
            store.delete(ids=["k1"], tenant="B")
        except MilvusPluginsError:
            assert lite.rows(name) == before  # refused: nothing may have changed
            return
    after = sorted(json.loads(v)["body"] for v in lite.rows(name).values())
    assert after == ["a2", "of A"], f"tenant B's delete of k1 left {after}"
