"""Two store objects on one collection with accelerator columns: every filter stays exact.

A multi-worker RAG app opens the same collection through several store objects (two
``MilvusStore`` s, a sync and an async one, a LangChain and a LlamaIndex store). One of
them creates the collection, so the keys of *its* first write get typed accelerator
columns; the others then write values of other kinds under those keys (a string under a
number key, an int beyond 2**53, a bool, a list, a 70,000-character string ...). Every
filter through every store object, stale or not, must select exactly the rows the
reference evaluator :func:`milvus_plugins.core.matches` accepts on the metadata written,
deletes by filter must delete exactly those rows, no write may be refused because another
store inferred a type, and values must read back exactly as written.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import (
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
)
from pymilvus import MilvusClient

from milvus_plugins.core import (
    AsyncMilvusStore,
    CollectionSpec,
    ConnectionConfig,
    FilterError,
    InvalidInputError,
    MilvusStore,
    OpenMode,
    Record,
    matches,
)
from milvus_plugins.core.errors import MilvusPluginsError
from milvus_plugins.core.filters import (
    Filter,
    and_,
    eq,
    exists,
    gt,
    gte,
    in_,
    lt,
    ne,
    nin,
    not_,
    or_,
)
from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

LONG = "y" * 70_000  # beyond a VARCHAR column (65,535 bytes)
BIG = 2**60 + 1  # fits int64, not a double
# What another store writes under keys the first store typed (year: DOUBLE, name: VARCHAR,
# flag: BOOL): every kind that does not fit, and None.
HOSTILE_VALUES: list[Any] = ["unknown", BIG, 1.5, None, True, [1], LONG, "", 0, False, 2020.0]

YEAR_FILTERS: list[Filter] = [
    eq("year", "unknown"),
    eq("year", 2020),
    eq("year", 2020.0),
    eq("year", BIG),
    eq("year", True),
    eq("year", 1),
    gt("year", 2000),
    gte("year", 1.5),
    lt("year", 2**60 + 2),
    gt("year", "a"),
    in_("year", [2020, "unknown", 1.5]),
    in_("year", [BIG, True]),
    nin("year", [2020, "unknown"]),
    not_(eq("year", 2020)),
    ne("year", "unknown"),
    exists("year"),
    not_(exists("year")),
    and_(exists("year"), not_(eq("year", 2020))),
    or_(eq("year", "unknown"), gt("year", 2021)),
    not_(gt("year", 2000)),
    eq("name", LONG),
    eq("name", "x"),
    ne("name", "x"),
    gt("name", "w"),
    in_("name", ["x", "", LONG]),
    not_(exists("name")),
    eq("flag", True),
    eq("flag", 1),
    ne("flag", False),
    not_(eq("flag", True)),
]


def vec(i: int) -> list[float]:
    return [1.0, float(i % 7), 0.5, float(i % 3) + 0.1]


def first_rows(prefix: str = "a", n: int = 6) -> list[Record]:
    """The creating write: year a number, name a string, flag a bool (all typed)."""
    return [
        Record(
            id=f"{prefix}{i}",
            text=f"row {i}",
            vector=vec(i),
            metadata={"year": 2020 + i % 3, "name": "x" if i % 2 else "w", "flag": i % 2 == 0},
        )
        for i in range(n)
    ]


def hostile_rows(prefix: str = "b", long: str = LONG) -> list[Record]:
    return [
        Record(
            id=f"{prefix}{i}",
            text=f"hostile {i}",
            vector=vec(i + 1),
            metadata={"year": v, "name": v, "flag": v},
        )
        for i, v in enumerate(long if v is LONG else v for v in HOSTILE_VALUES)
    ]


def oracle(data: Mapping[str, Mapping[str, Any]], node: Filter) -> set[str]:
    return {rid for rid, meta in data.items() if matches(node, meta)}


def ids(store: MilvusStore, node: Filter) -> set[str]:
    return {r.id for r in store.query(node)}


def mismatches(
    store: MilvusStore, data: Mapping[str, Mapping[str, Any]], nodes: Sequence[Filter]
) -> list[str]:
    """Filters whose query or count differs from the oracle (short descriptions)."""
    bad = []
    for node in nodes:
        want = oracle(data, node)
        got = ids(store, node)
        counted = store.count(node)
        if got != want or counted != len(want):
            extra = sorted(got - want)
            missing = sorted(want - got)
            bad.append(f"{str(node)[:70]}: +{extra} -{missing} count={counted}/{len(want)}")
    return bad


def stored(store: MilvusStore) -> dict[str, dict[str, Any]]:
    return {r.id: dict(r.metadata) for r in store.query(None)}


def expected(*batches: Sequence[Record]) -> dict[str, dict[str, Any]]:
    return {r.id: dict(r.metadata) for batch in batches for r in batch}


def accelerated(store: MilvusStore) -> dict[str, str]:
    return {f.name: f.scalar_type.value for f in store.spec.accelerated_fields}


@pytest.fixture
def lite(lite_uri: str) -> ConnectionConfig:
    return ConnectionConfig(uri=lite_uri)


@pytest.fixture
def opened() -> Iterator[Callable[..., MilvusStore]]:
    """Build stores; close them all afterwards."""
    made: list[MilvusStore] = []

    def make(name: str, connection: ConnectionConfig, **kwargs: Any) -> MilvusStore:
        spec_kwargs = kwargs.pop("spec_kwargs", {})
        store = MilvusStore(
            CollectionSpec(name=name, **spec_kwargs), connection=connection, **kwargs
        )
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


# -- a stale store reads what another store wrote -------------------------------------


@pytest.mark.parametrize("b_opened", ["before", "after"])
def test_stale_store_filters_exactly_after_another_store_writes_other_kinds(
    lite: ConnectionConfig, opened: Callable[..., MilvusStore], b_opened: str
) -> None:
    name = "c_stale"
    a = opened(name, lite)
    b = opened(name, lite) if b_opened == "before" else None
    if b is not None:
        assert b.count() == 0  # B's session sees the collection absent
    a.upsert(first_rows())
    assert accelerated(a) == {"year": "DOUBLE", "name": "VARCHAR", "flag": "BOOL"}
    assert a.count(eq("year", 2020)) == 2  # A warms its view: no key overflowed yet
    assert not a.spec.overflowed_keys
    b = b if b is not None else opened(name, lite)
    b.upsert(hostile_rows())  # (b) nothing refused because A typed the keys
    data = expected(first_rows(), hostile_rows())
    assert stored(a) == data  # read back exactly, through the stale store
    assert stored(b) == data
    assert mismatches(a, data, YEAR_FILTERS) == []
    assert mismatches(b, data, YEAR_FILTERS) == []
    # The marks live with the collection: a third store knows them at once.
    c = opened(name, lite)
    assert c.count() == len(data)
    assert {"year", "name", "flag"} <= c.spec.overflowed_keys
    assert mismatches(c, data, YEAR_FILTERS) == []


def test_searches_through_the_stale_store_see_the_other_stores_kinds(
    lite: ConnectionConfig, opened: Callable[..., MilvusStore]
) -> None:
    a = opened("c_search", lite)
    a.upsert(first_rows())
    assert len(a.search(vec(0), k=20, filter=gt("year", 2000))) == len(first_rows())
    b = opened("c_search", lite)
    b.upsert(hostile_rows())
    data = expected(first_rows(), hostile_rows())
    for node in [gt("year", 2000), eq("year", "unknown"), not_(eq("year", 2020)), eq("name", LONG)]:
        want = oracle(data, node)
        assert {h.id for h in a.search(vec(0), k=50, filter=node)} == want, str(node)[:60]
        mmr = a.mmr_search(vec(0), k=50, fetch_k=50, filter=node)
        assert {h.id for h in mmr} == want, str(node)[:60]


def test_one_overflowing_kind_at_a_time_each_stays_exact_through_the_stale_store(
    lite: ConnectionConfig, opened: Callable[..., MilvusStore]
) -> None:
    """Each kind of overflow in its own collection: the first filter after it must see it."""
    checks = [
        eq("year", 2020),
        gt("year", 2000),
        not_(eq("year", 2020)),
        exists("year"),
        not_(exists("year")),
    ]
    for n, value in enumerate(["unknown", BIG, True, [1], LONG, {"k": 1}]):
        name = f"c_one{n}"
        a = opened(name, lite)
        a.upsert(first_rows(n=4))
        assert a.count(gt("year", 2000)) == 4  # uses the column, caches "no overflow"
        b = opened(name, lite)
        extra = [Record(id="z", text="z", vector=vec(9), metadata={"year": value})]
        b.upsert(extra)
        data = expected(first_rows(n=4), extra)
        assert stored(a)["z"] == {"year": value}
        assert mismatches(a, data, checks) == [], value if value != LONG else "LONG"


def test_int_beyond_int64_from_the_second_store_is_refused_typed_and_writes_nothing(
    lite: ConnectionConfig, opened: Callable[..., MilvusStore]
) -> None:
    a = opened("c_int", lite)
    a.upsert(first_rows())
    b = opened("c_int", lite)
    rows = [
        Record(id="ok", text="t", vector=vec(1), metadata={"year": "fine"}),
        Record(id="huge", text="t", vector=vec(2), metadata={"year": 2**70}),
    ]
    with pytest.raises(InvalidInputError, match="store it as a string"):
        b.upsert(rows)
    assert a.count() == len(first_rows())
    assert b.get(["ok", "huge"]) == []
    # The refused batch must not have marked anything a later filter depends on wrongly.
    data = expected(first_rows())
    assert mismatches(a, data, YEAR_FILTERS[:12]) == []


# -- deletes by filter through the stale store ----------------------------------------

DELETE_FILTERS: list[Filter] = [
    eq("year", "unknown"),
    gt("year", 2000),
    in_("year", [2020, 1.5, "unknown"]),
    not_(eq("year", 2020)),
    eq("year", 0),
    eq("year", False),
    not_(exists("year")),
    and_(exists("year"), not_(gt("year", 2021))),
    ne("name", "x"),
    eq("flag", False),
    nin("flag", [True]),
]


@pytest.mark.parametrize("node", DELETE_FILTERS, ids=lambda n: str(n)[:60])
def test_delete_by_filter_through_the_stale_store_deletes_exactly_the_matching_rows(
    lite: ConnectionConfig, opened: Callable[..., MilvusStore], node: Filter
) -> None:
    name = "c_del"
    a = opened(name, lite)
    a.upsert(first_rows())
    assert a.count(eq("year", 2021)) == 2  # A's view: typed, nothing overflowed
    b = opened(name, lite)
    b.upsert(hostile_rows())
    data = expected(first_rows(), hostile_rows())
    want = oracle(data, node)
    assert want, "the filter must select something for the test to mean anything"
    deleted = a.delete(filter=node)
    left = set(stored(b))
    assert left == set(data) - want, (sorted(left - (set(data) - want)), sorted(want & left))
    assert deleted == len(want)


def test_bools_and_numbers_under_an_overflowed_number_key_stay_apart(
    lite: ConnectionConfig, opened: Callable[..., MilvusStore]
) -> None:
    a = opened("c_bool", lite)
    a.upsert(first_rows(n=3))
    assert a.count(eq("year", 1)) == 0
    b = opened("c_bool", lite)
    rows = [
        Record(id=f"m{i}", text="t", vector=vec(i), metadata={"year": v, "flag": w})
        for i, (v, w) in enumerate([(True, 1), (1, True), (1.0, 0), (False, False), (0, 1.0)])
    ]
    b.upsert(rows)
    data = expected(first_rows(n=3), rows)
    nodes = [
        eq("year", 1),
        eq("year", True),
        ne("year", 1),
        in_("year", [1]),
        in_("year", [False]),
        gt("year", 0),
        not_(gt("year", 0)),
        eq("flag", 1),
        eq("flag", True),
        not_(eq("flag", True)),
    ]
    assert mismatches(a, data, nodes) == []
    assert a.delete(filter=eq("year", True)) == 1
    assert set(stored(b)) == set(data) - {"m0"}


# -- concurrent first writes with conflicting kinds -----------------------------------


def _first_write(prefix: str, value: Any) -> list[Record]:
    return [
        Record(
            id=f"{prefix}{i}",
            text=f"{prefix} {i}",
            vector=vec(i),
            metadata={"year": value if i % 3 else None, prefix: i, "shared": f"{prefix}{i}"},
        )
        for i in range(6)
    ]


def _write(
    barrier: threading.Barrier,
    errors: list[BaseException],
    store: MilvusStore,
    rows: list[Record],
) -> None:
    barrier.wait()
    try:
        store.upsert(rows)
    except BaseException as exc:
        errors.append(exc)


CONFLICT_FILTERS: list[Filter] = [
    eq("year", 2020),
    eq("year", "2020"),
    gt("year", 2000),
    gt("year", "1"),
    in_("year", [2020, "2020"]),
    not_(eq("year", 2020)),
    ne("year", "2020"),
    exists("year"),
    not_(exists("year")),
    eq("a", 1),
    gt("b", 2),
    exists("b"),
    eq("shared", "a1"),
    gt("shared", "b"),
]


def test_concurrent_first_writes_of_conflicting_kinds_from_two_threads(
    lite: ConnectionConfig, opened: Callable[..., MilvusStore]
) -> None:
    for trial in range(3):
        name = f"c_race{trial}"
        a = opened(name, lite)
        b = opened(name, lite)
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        rows_a, rows_b = _first_write("a", 2020), _first_write("b", "2020")
        threads = [
            threading.Thread(target=_write, args=(barrier, errors, a, rows_a)),
            threading.Thread(target=_write, args=(barrier, errors, b, rows_b)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == []
        data = expected(rows_a, rows_b)
        assert stored(a) == data
        assert accelerated(a) == accelerated(b)  # both follow the collection
        assert mismatches(a, data, CONFLICT_FILTERS) == []
        assert mismatches(b, data, CONFLICT_FILTERS) == []


def test_concurrent_first_writes_of_conflicting_kinds_from_two_async_stores(
    lite: ConnectionConfig, opened: Callable[..., MilvusStore]
) -> None:
    name = "c_async"
    sync_a, sync_b = opened(name, lite), opened(name, lite)
    rows_a, rows_b = _first_write("a", True), _first_write("b", 7.5)

    async def run() -> None:
        a, b = AsyncMilvusStore(sync_a), AsyncMilvusStore(sync_b)
        await asyncio.gather(a.upsert(rows_a), b.upsert(rows_b))
        nodes = [eq("year", True), eq("year", 7.5), gt("year", 1), not_(eq("year", True))]
        data = expected(rows_a, rows_b)
        for store in (a, b):
            for node in nodes:
                got = {r.id for r in await store.query(node)}
                assert got == oracle(data, node), (str(node), sorted(got ^ oracle(data, node)))
                assert await store.count(node) == len(oracle(data, node))

    asyncio.run(run())
    assert stored(sync_a) == expected(rows_a, rows_b)


# -- drop_old by one store while another holds its session ----------------------------


def test_drop_old_by_another_store_then_writes_and_filters_through_the_old_object(
    lite: ConnectionConfig, opened: Callable[..., MilvusStore]
) -> None:
    name = "c_drop"
    a = opened(name, lite)
    a.upsert(first_rows())
    assert accelerated(a)["year"] == "DOUBLE"
    assert a.count(gt("year", 2000)) == 6
    b = opened(name, lite, drop_old=True)
    new_rows = [
        Record(id=f"n{i}", text="t", vector=vec(i), metadata={"year": str(2020 + i), "k": i})
        for i in range(4)
    ]
    b.upsert(new_rows)
    assert accelerated(b)["year"] == "VARCHAR"
    data = expected(new_rows)
    nodes = [
        eq("year", 2020),
        eq("year", "2020"),
        gt("year", "2021"),
        gt("year", 2000),
        not_(eq("year", "2020")),
        exists("year"),
        eq("k", 1),
        not_(exists("flag")),
    ]
    assert mismatches(a, data, nodes) == []  # the old object reads the new collection
    late = [Record(id="old", text="t", vector=vec(1), metadata={"year": 1999, "flag": True})]
    a.upsert(late)  # a number under the new VARCHAR column: accepted, kept exactly
    data = expected(new_rows, late)
    assert stored(b) == data
    assert mismatches(a, data, [*nodes, eq("year", 1999), lt("year", 2000)]) == []
    assert mismatches(b, data, [*nodes, eq("year", 1999), lt("year", 2000)]) == []
    assert a.delete(filter=eq("year", 1999)) == 1
    assert set(stored(b)) == set(expected(new_rows))


def test_drop_old_recreating_without_inference_leaves_no_column_the_old_object_trusts(
    lite: ConnectionConfig, opened: Callable[..., MilvusStore]
) -> None:
    name = "c_drop2"
    a = opened(name, lite)
    a.upsert(first_rows())
    assert a.count(eq("name", "x")) == 3
    b = opened(name, lite, drop_old=True, spec_kwargs={"infer_metadata_fields": False})
    rows = [
        Record(id=f"n{i}", text="t", vector=vec(i), metadata={"name": v})
        for i, v in enumerate(["x", 3, None, LONG])
    ]
    b.upsert(rows)
    assert accelerated(b) == {}
    data = expected(rows)
    nodes = [eq("name", "x"), ne("name", "x"), gt("name", 2), exists("name"), eq("name", LONG)]
    assert mismatches(a, data, nodes) == []
    assert a.delete(filter=eq("name", "x")) == 1
    assert set(stored(b)) == {"n1", "n2", "n3"}


# -- a second store that would not infer, or adopts ------------------------------------


@pytest.mark.parametrize("how", ["no-inference", "adopt"])
def test_a_second_store_that_does_not_infer_still_fills_the_existing_columns(
    lite: ConnectionConfig, opened: Callable[..., MilvusStore], how: str
) -> None:
    name = "c_noinf"
    a = opened(name, lite)
    a.upsert(first_rows())
    assert a.count(eq("year", 2021)) == 2
    if how == "adopt":
        b = opened(name, lite, open_mode=OpenMode.ADOPT)
    else:
        b = opened(name, lite, spec_kwargs={"infer_metadata_fields": False})
    rows = [
        Record(id=f"n{i}", text="t", vector=vec(i), metadata={"year": 2021, "name": "x"})
        for i in range(3)
    ]
    b.upsert(rows)
    data = expected(first_rows(), rows)
    nodes = [eq("year", 2021), gt("year", 2020), eq("name", "x"), exists("flag")]
    assert mismatches(a, data, nodes) == []
    assert mismatches(b, data, nodes) == []


def test_declaring_an_accelerated_key_in_a_second_store_is_a_typed_error_naming_the_fix(
    lite: ConnectionConfig, opened: Callable[..., MilvusStore]
) -> None:
    from milvus_plugins.core import MetadataField

    a = opened("c_decl", lite)
    a.upsert(first_rows())
    b = opened(
        "c_decl",
        lite,
        spec_kwargs={"metadata_fields": [MetadataField(name="year", type="DOUBLE")]},
    )
    with pytest.raises(MilvusPluginsError) as info:
        b.upsert([Record(id="z", text="t", vector=vec(1), metadata={"year": 1.0})])
    assert "declare" in str(info.value)
    assert a.count() == len(first_rows())


# -- hostile key names ----------------------------------------------------------------

HOSTILE_KEYS = [
    "../x",
    'a"b',
    "x'y",
    "back\\slash",
    "id",
    "text",
    "vector",
    "metadata",
    "doc_id",
    "Year",
    "year",
    "YEAR",
    "ünï",
    "年",
    "k" * 255,
    "k" * 300,
    "RowID",
    "Timestamp",
    "true",
    "like",
    "_x",
    "a b",
    "a.b",
    "a][b",
]


def _hostile_key_rows(prefix: str, flip: bool) -> list[Record]:
    def value(i: int, j: int) -> Any:
        return i if (j % 2 == 0) != flip else f"s{i}"

    return [
        Record(
            id=f"{prefix}{i}",
            text="t",
            vector=vec(i),
            metadata={k: value(i, j) for j, k in enumerate(HOSTILE_KEYS)},
        )
        for i in range(3)
    ]


def test_hostile_key_names_written_with_other_kinds_by_a_second_store_filter_exactly(
    lite: ConnectionConfig, opened: Callable[..., MilvusStore]
) -> None:
    a = opened("c_keys", lite)
    first = _hostile_key_rows("h", flip=False)
    a.upsert(first)
    columns = accelerated(a)
    for reserved in ("id", "text", "vector", "metadata", "RowID", "Timestamp", "true", "like"):
        assert reserved not in columns
    assert columns.get("year") == "DOUBLE" and columns.get("Year") == "VARCHAR"
    b = opened("c_keys", lite)
    second = _hostile_key_rows("g", flip=True)
    b.upsert(second)
    data = expected(first, second)
    assert stored(a) == data
    nodes: list[Filter] = []
    for key in HOSTILE_KEYS:
        nodes += [eq(key, 1), eq(key, "s1"), gt(key, 0), not_(eq(key, 1)), exists(key)]
        nodes += [in_(key, [1, "s2"]), not_(exists(key))]
    assert mismatches(a, data, nodes) == []
    assert a.delete(filter=eq("../x", "s1")) == 1
    assert a.delete(filter=eq('a"b', 2)) == 1


@pytest.mark.parametrize("key", ["$x", "$and", ""])
def test_reserved_keys_are_refused_typed_by_the_second_store_with_the_fix(
    lite: ConnectionConfig, opened: Callable[..., MilvusStore], key: str
) -> None:
    a = opened("c_res", lite)
    a.upsert(first_rows())
    b = opened("c_res", lite)
    with pytest.raises(InvalidInputError, match="rename the key"):
        b.upsert([Record(id="z", text="t", vector=vec(1), metadata={key: 1, "year": "x"})])
    assert a.get(["z"]) == []
    assert a.count(eq("year", "x")) == 0


# -- VARCHAR boundaries written by another store ---------------------------------------


def test_strings_at_the_varchar_byte_boundary_from_another_store_filter_exactly(
    lite: ConnectionConfig, opened: Callable[..., MilvusStore]
) -> None:
    a = opened("c_len", lite)
    a.upsert(first_rows(n=2))
    assert a.count(eq("name", "x")) == 1
    b = opened("c_len", lite)
    values = {
        "cjk_fits": "年" * 21_845,  # 65,535 bytes
        "cjk_over": "年" * 21_846,  # 65,538 bytes
        "emoji_fits": "😀" * 16_383,  # 65,532 bytes
        "emoji_over": "😀" * 16_384,  # 65,536 bytes
        "nul": "a\x00b",
        "ascii_max": "z" * 65_535,
    }
    rows = [
        Record(id=k, text="t", vector=vec(i), metadata={"name": v})
        for i, (k, v) in enumerate(values.items())
    ]
    b.upsert(rows)
    data = expected(first_rows(n=2), rows)
    assert stored(a) == data
    nodes = [eq("name", v) for v in values.values()]
    nodes += [gt("name", "x"), eq("name", "a"), ne("name", "x"), in_("name", ["a", "w"])]
    assert mismatches(a, data, nodes) == []


# -- LangChain and LlamaIndex on the same collection -----------------------------------


class Words(Embeddings):
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.embed_query(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return [1.0, float(len(text) % 5), 0.5, 0.1]


def test_langchain_creates_llama_index_writes_other_kinds_both_filter_exactly(
    lite_uri: str,
) -> None:
    lc = LangChainStore(Words(), uri=lite_uri, collection_name="c_mix")
    li = LlamaStore(uri=lite_uri, collection_name="c_mix", dim=4)
    try:
        docs = [
            Document(id=f"l{i}", page_content=f"doc {i}", metadata={"year": 2020 + i})
            for i in range(4)
        ]
        lc.add_documents(docs)
        assert lc.similarity_search("q", k=10, filter={"year": {"$gt": 2021}})
        nodes = [
            TextNode(id_=f"n{i}", text=f"node {i}", metadata={"year": v}, embedding=vec(i))
            for i, v in enumerate(["unknown", BIG, 1.5, True, [1], LONG, "2020"])
        ]
        li.add(nodes)
        data = stored(lc.store)
        assert data["n1"] == {"year": BIG} and data["n5"] == {"year": LONG}
        cases: list[tuple[dict[str, Any], Filter]] = [
            ({"year": "unknown"}, eq("year", "unknown")),
            ({"year": {"$gt": 2000}}, gt("year", 2000)),
            ({"year": {"$in": [2020, "unknown", 1.5]}}, in_("year", [2020, "unknown", 1.5])),
            ({"year": {"$ne": 2020}}, ne("year", 2020)),
            ({"$not": {"year": 2020}}, not_(eq("year", 2020))),
            ({"year": {"$exists": False}}, not_(exists("year"))),
        ]
        for flt, node in cases:
            got = {d.id for d in lc.similarity_search("q", k=50, filter=flt)}
            assert got == oracle(data, node), (flt, sorted(got ^ oracle(data, node)))
        li_cases = [
            (MetadataFilter(key="year", value=2000, operator=FilterOperator.GT), gt("year", 2000)),
            (MetadataFilter(key="year", value="unknown"), eq("year", "unknown")),
            (MetadataFilter(key="year", value=LONG), eq("year", LONG)),
        ]
        for mf, node in li_cases:
            query = VectorStoreQuery(
                query_embedding=vec(0), similarity_top_k=50, filters=MetadataFilters(filters=[mf])
            )
            got = set(li.query(query).ids or [])
            assert got == oracle(data, node), (str(node)[:60], sorted(got ^ oracle(data, node)))
        # LangChain deletes by filter rows LlamaIndex wrote: exactly those.
        lc.store.delete(filter=eq("year", "unknown"))
        assert set(stored(lc.store)) == set(data) - {"n0"}
    finally:
        lc.store.drop()
        lc.store.close()


# -- the same attacks on the shared Milvus 2.3.5 server --------------------------------


@pytest.fixture
def server_name(server_uri: str) -> Iterator[str]:
    name = f"hx_{uuid.uuid4().hex[:12]}"
    yield name
    client = MilvusClient(uri=server_uri)
    try:
        for existing in client.list_collections():
            if existing.startswith(name):
                client.drop_collection(existing)
    finally:
        client.close()


@pytest.mark.server
def test_two_stores_on_the_server_values_of_every_kind_filter_and_delete_exactly(
    server_uri: str, server_name: str, opened: Callable[..., MilvusStore]
) -> None:
    connection = ConnectionConfig(uri=server_uri)
    a = opened(server_name, connection)
    a.upsert(first_rows())
    assert a.count(eq("year", 2020)) == 2
    b = opened(server_name, connection)
    # Milvus 2.3.5 holds at most 65,536 bytes of JSON per row: refused typed, unwritten.
    with pytest.raises(InvalidInputError, match="keep large values out of metadata"):
        b.upsert(hostile_rows())
    assert a.count() == len(first_rows())
    medium = "y" * 20_000
    b.upsert(hostile_rows(long=medium))
    data = expected(first_rows(), hostile_rows(long=medium))
    assert stored(a) == data
    nodes = [eq("name", medium), gt("name", "x"), *YEAR_FILTERS]
    assert mismatches(a, data, nodes) == []
    node = not_(eq("year", 2020))
    want = oracle(data, node)
    assert a.delete(filter=node) == len(want)
    assert set(stored(b)) == set(data) - want


@pytest.mark.server
def test_hostile_keys_and_concurrent_first_writes_on_the_server(
    server_uri: str, server_name: str, opened: Callable[..., MilvusStore]
) -> None:
    connection = ConnectionConfig(uri=server_uri)
    a = opened(server_name, connection)
    b = opened(server_name, connection)
    rows_a, rows_b = _first_write("a", 2020), _first_write("b", "2020")
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)
    threads = [
        threading.Thread(target=_write, args=(barrier, errors, a, rows_a)),
        threading.Thread(target=_write, args=(barrier, errors, b, rows_b)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    data = expected(rows_a, rows_b)
    assert mismatches(a, data, CONFLICT_FILTERS) == []
    assert mismatches(b, data, CONFLICT_FILTERS) == []
    keyed = opened(server_name + "_k", connection)
    first = _hostile_key_rows("h", flip=False)
    keyed.upsert(first)
    other = opened(server_name + "_k", connection)
    second = _hostile_key_rows("g", flip=True)
    other.upsert(second)
    data = expected(first, second)
    assert stored(keyed) == data
    nodes: list[Filter] = []
    for key in HOSTILE_KEYS:
        if key != "a][b":
            nodes += [eq(key, 1), eq(key, "s1"), not_(eq(key, 1)), exists(key)]
    assert mismatches(keyed, data, nodes) == []
    # Milvus 2.3 splits JSON paths at "][": such a key is kept but cannot be filtered.
    with pytest.raises(FilterError, match="rename the metadata key"):
        keyed.query(eq("a][b", 1))
