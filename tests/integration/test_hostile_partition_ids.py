"""Hostile use of the cross-partition id check (``_refuse_other_partitions``).

The guarantee attacked: a write scoped to one partition never leaves an id in two
partitions and never changes or removes a row of another partition; when it refuses,
nothing at all was written (or embedded) and the error names the fix. Each test asserts
the correct behaviour: a failing test is a defect (or a documented limitation).
Milvus Lite 2.5.1 has no partitions: its runs skip.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.indexing import InMemoryRecordManager, index
from llama_index.core.embeddings import MockEmbedding
from llama_index.core.schema import TextNode
from pymilvus import MilvusClient
from tests.support.faces import LengthEmbeddings

from milvus_plugins.core import (
    AsyncMilvusStore,
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    InvalidInputError,
    MilvusPluginsError,
    MilvusStore,
    PartitionMismatchError,
    Record,
    UnsupportedByServerError,
    point_alias,
)
from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

pytestmark = pytest.mark.filterwarnings("ignore")


# -- helpers ---------------------------------------------------------------------------


def _record(rid: str, text: str = "t") -> Record:
    return Record(id=rid, text=text, vector=[1.0, float(len(text))])


def _store(uri: str, name: str, open_mode: str = "check", **spec: Any) -> MilvusStore:
    return MilvusStore(
        CollectionSpec(name=name, dim=2, sparse="none", **spec),
        connection=ConnectionConfig(uri=uri),
        open_mode=open_mode,
    )


def _parted(uri: str, name: str, **spec: Any) -> MilvusStore:
    store = _store(uri, name, **spec)
    if not store.capabilities.partitions:
        store.close()
        pytest.skip("no named partitions on this engine (Milvus Lite 2.5.1)")
    store.ensure_collection(2)
    store.create_partition("pa")
    store.create_partition("pb")
    return store


def _state(store: MilvusStore) -> dict[str, list[tuple[str, str]]]:
    """Every partition's rows ``(id, text)``, duplicates kept."""
    return {
        p: sorted((r.id, r.text) for r in store.query(partition_names=[p]))
        for p in sorted(store.list_partitions())
    }


def _holders(store: MilvusStore, rid: str) -> list[str]:
    """The partitions holding a row with id ``rid`` (one entry per row)."""
    out = []
    for p, rows in _state(store).items():
        out += [p for r, _ in rows if r == rid]
    return out


def _raw_count(uri: str, name: str) -> int:
    client = MilvusClient(uri=uri)
    try:
        rows = client.query(name, filter="", output_fields=["count(*)"], consistency_level="Strong")
        return int(rows[0]["count(*)"])
    finally:
        client.close()


@pytest.fixture
def parted(uri: str, collection_name: str) -> Iterator[MilvusStore]:
    with _parted(uri, collection_name) as store:
        yield store


# -- hostile ids -------------------------------------------------------------------------

HOSTILE_IDS = [
    'dq"uote',
    "sq'uote",
    "back\\slash",
    "mix\\\"\\'",
    "ends\\",
    "\\",
    "ünïcødé-€-😀-漢字",
    "é" * 256,  # 512 bytes: the default id_max_length
    "a" * 512,
    "tab\there",
    " spaced ",
    "x', 'y",
    'x", "y',
    "a] or id in [",
    "%_*like?",
    "${x}",
]


def test_hostile_ids_are_found_in_other_partitions(parted: MilvusStore) -> None:
    store = parted
    store.upsert([_record(i, "in b") for i in HOSTILE_IDS], partition_name="pb")
    before = _state(store)
    for rid in HOSTILE_IDS:
        with pytest.raises(PartitionMismatchError) as caught:
            store.upsert([_record("fresh", "f"), _record(rid, "to a")], partition_name="pa")
        assert "partition_name='pb'" in str(caught.value), rid
    with pytest.raises(PartitionMismatchError):
        store.upsert([_record(i, "to default") for i in HOSTILE_IDS])  # into _default
    assert _state(store) == before
    # The holder rewrites them all in place: still one row per id.
    store.upsert([_record(i, "b again") for i in HOSTILE_IDS], partition_name="pb")
    after = _state(store)
    assert after["pa"] == [] and after["_default"] == []
    assert after["pb"] == sorted((i, "b again") for i in HOSTILE_IDS)


def test_near_twins_of_hostile_ids_are_not_taken(parted: MilvusStore) -> None:
    """An id differing from a stored one only by escaping is another id: not refused."""
    store = parted
    stored = [i for i in HOSTILE_IDS if len(i.encode()) < 500]
    store.upsert([_record(i, "in b") for i in stored], partition_name="pb")
    twins = set()
    for i in stored:
        twins |= {i + "\\", "\\" + i, i.replace('"', '\\"'), i.replace("'", "\\'")}
        twins |= {i.replace("\\", "\\\\"), i.upper(), i.strip()}
    twins -= set(stored)
    store.upsert([_record(i, "twin in a") for i in sorted(twins)], partition_name="pa")
    state = _state(store)
    assert state["pb"] == sorted((i, "in b") for i in stored)
    assert state["pa"] == sorted((i, "twin in a") for i in twins)


def test_line_breaks_and_nul_in_ids(parted: MilvusStore) -> None:
    store = parted
    for rid in ("new\nline", "cr\rret", "n\\nnot-a-break", "nul\x00id"):
        try:
            store.upsert([_record(rid, "in b")], partition_name="pb")
        except InvalidInputError:
            continue  # this engine cannot name it: refused up front, nothing written
        with pytest.raises(PartitionMismatchError):
            store.upsert([_record(rid, "to a")], partition_name="pa")
        assert _holders(store, rid) == ["pb"]


def test_duplicate_ids_in_one_batch(parted: MilvusStore) -> None:
    store = parted
    store.upsert([_record("x", "in b")], partition_name="pb")
    before = _state(store)
    with pytest.raises((InvalidInputError, PartitionMismatchError)):
        store.upsert([_record("x", "1"), _record("x", "2")], partition_name="pa")
    with pytest.raises(InvalidInputError):
        store.upsert([_record("n", "1"), _record("n", "2")], partition_name="pa")
    assert _state(store) == before


def test_large_batches_taken_id_at_the_end_and_in_default(parted: MilvusStore) -> None:
    # 2,100 ids: three lookups; the taken id is the very last one, held by _default.
    store = parted
    store.upsert([_record("id2099", "in default")])
    batch = [_record(f"id{i}", "new") for i in range(2100)]
    with pytest.raises(PartitionMismatchError, match="'_default'"):
        store.upsert(batch, partition_name="pa", batch_rows=500)
    calls: list[int] = []

    def embed(texts: list[str]) -> list[list[float]]:
        calls.append(len(texts))
        return [[1.0, 2.0] for _ in texts]

    unembedded = [Record(id=f"id{i}", text="new") for i in range(2100)]
    with pytest.raises(PartitionMismatchError):
        store.upsert(unembedded, partition_name="pa", embed=embed, batch_rows=500)
    assert calls == []
    assert store.count() == 1


def test_very_long_ids_in_a_large_batch(uri: str, collection_name: str) -> None:
    """Ids of up to 65,535 bytes: 200 of them make one lookup's filter ~12 MB."""
    size, count = 60_000, 200
    with _parted(uri, collection_name, id_max_length=65535) as store:
        ids = [f"{n:05d}" + "L" * (size - 5) for n in range(count)]
        store.upsert([_record(ids[-1], "in b")], partition_name="pb")
        with pytest.raises(PartitionMismatchError):
            store.upsert([_record(i, "to a") for i in ids], partition_name="pa")
        assert store.count() == 1
        # Without a taken id the same write goes through (and the check does not break it).
        store.upsert([_record(i, "to a") for i in ids[:-1]], partition_name="pa")
        assert store.count() == count


@pytest.mark.parametrize("mode", ["insert", "upsert", "auto"])
def test_every_write_mode_is_checked(parted: MilvusStore, mode: str) -> None:
    store = parted
    store.upsert([_record("x", "in b")], partition_name="pb")
    with pytest.raises(PartitionMismatchError):
        store.upsert([_record("x", "to a")], partition_name="pa", mode=mode)
    with pytest.raises(PartitionMismatchError):
        store.upsert([_record("x", "to default")], partition_name="_default", mode=mode)
    assert _holders(store, "x") == ["pb"]
    assert [r.text for r in store.get(["x"])] == ["in b"]


def test_explicit_default_partition(parted: MilvusStore) -> None:
    store = parted
    store.upsert([_record("d", "in default")])
    store.upsert([_record("d", "default again")], partition_name="_default")
    with pytest.raises(PartitionMismatchError, match="partition_name='_default'"):
        store.upsert([_record("d", "to b")], partition_name="pb")
    assert _holders(store, "d") == ["_default"]


def test_partition_that_does_not_exist(parted: MilvusStore, uri: str, collection_name: str) -> None:
    store = parted
    store.upsert([_record("x", "in b")], partition_name="pb")
    with pytest.raises(MilvusPluginsError):
        store.upsert([_record("x", "to nope")], partition_name="nope")
    with pytest.raises(MilvusPluginsError) as caught:
        store.upsert([_record("new", "to nope")], partition_name="nope")
    message = str(caught.value)
    assert _raw_count(uri, collection_name) == 1
    # The error should say what is wrong (no partition 'nope'), not promise that
    # re-running the same upsert completes it.
    assert "partition" in message.lower() and "nope" in message, message
    assert "re-running the same upsert completes" not in message, message
    assert _holders(store, "x") == ["pb"]


# -- partitions made elsewhere -----------------------------------------------------------


def test_partitions_created_by_another_client_between_writes(
    uri: str, collection_name: str
) -> None:
    with _store(uri, collection_name) as store:
        if not store.capabilities.partitions:
            pytest.skip("no named partitions on this engine (Milvus Lite 2.5.1)")
        store.upsert([_record("x", "in default")])
        store.upsert([_record("x", "default again")])  # session now knows: one partition
        raw = MilvusClient(uri=uri)
        try:
            raw.create_partition(collection_name, "pb")
            # Another client's raw insert of a copy of x's row under id "y", into pb.
            row = raw.query(
                collection_name, filter='id == "x"', output_fields=["*"], consistency_level="Strong"
            )[0]
            row["id"] = "y"
            raw.insert(collection_name, [row], partition_name="pb")
        finally:
            raw.close()
        with pytest.raises(PartitionMismatchError, match="'pb'"):
            store.upsert([_record("y", "to default")])
        with pytest.raises(PartitionMismatchError, match="'_default'"):
            store.upsert([_record("x", "to b")], partition_name="pb")
        assert _holders(store, "x") == ["_default"]
        assert _holders(store, "y") == ["pb"]
        assert _raw_count(uri, collection_name) == 2


def _raw_collection(uri: str, name: str) -> MilvusClient:
    """A collection in this package's layout made by raw pymilvus (its default
    consistency, Bounded), with partitions pa and pb."""
    from pymilvus import DataType

    raw = MilvusClient(uri=uri)
    schema = raw.create_schema(auto_id=False)
    schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=512)
    schema.add_field("text", DataType.VARCHAR, max_length=65535)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=2)
    schema.add_field("metadata", DataType.JSON)
    schema.add_field("doc_id", DataType.VARCHAR, max_length=512)
    schema.add_field("extra", DataType.JSON)
    params = raw.prepare_index_params()
    params.add_index("vector", index_type="FLAT", metric_type="COSINE")
    raw.create_collection(name, schema=schema, index_params=params)
    raw.create_partition(name, "pa")
    raw.create_partition(name, "pb")
    return raw


def _raw_row(rid: str, text: str) -> dict[str, Any]:
    return {
        "id": rid,
        "text": text,
        "vector": [1.0, 2.0],
        "metadata": {},
        "doc_id": "",
        "extra": {},
    }


@pytest.mark.parametrize("open_mode", ["adopt", "check"])
def test_collection_made_by_raw_pymilvus_with_partitions(
    uri: str, collection_name: str, open_mode: str
) -> None:
    try:
        raw = _raw_collection(uri, collection_name)
    except Exception as exc:  # Milvus Lite 2.5.1: no partitions
        pytest.skip(f"raw partitions unavailable: {exc}")
    try:
        with _store(uri, collection_name, open_mode=open_mode) as store:
            if not store.capabilities.partitions:
                pytest.skip("no named partitions on this engine (Milvus Lite 2.5.1)")
            store.upsert([_record("seed", "s")], partition_name="pa")  # opened
            for n in range(5):  # another client writes into pb, this store then into pa
                rid = f"r{n}"
                raw.insert(collection_name, [_raw_row(rid, "raw in b")], partition_name="pb")
                with pytest.raises(PartitionMismatchError, match="'pb'"):
                    store.upsert([_record(rid, "to a")], partition_name="pa")
                assert _holders(store, rid) == ["pb"]
    finally:
        raw.close()


def test_two_stores_one_creates_partitions(uri: str, collection_name: str) -> None:
    with _store(uri, collection_name) as a, _store(uri, collection_name) as b:
        if not a.capabilities.partitions:
            pytest.skip("no named partitions on this engine (Milvus Lite 2.5.1)")
        a.upsert([_record("x", "a's")])
        b.create_partition("pb")
        b.upsert([_record("z", "b's")], partition_name="pb")
        with pytest.raises(PartitionMismatchError):
            a.upsert([_record("z", "a overwrites")])
        with pytest.raises(PartitionMismatchError):
            b.upsert([_record("x", "b takes")], partition_name="pb")
        assert _state(a) == {"_default": [("x", "a's")], "pb": [("z", "b's")]}


def test_alias_with_partitions(uri: str, collection_name: str) -> None:
    source, alias = f"{collection_name}_v1", f"{collection_name}_live"
    with _parted(uri, source) as store:
        store.upsert([_record("x", "in b")], partition_name="pb")
        try:
            point_alias(ConnectionConfig(uri=uri), alias, source)
        except UnsupportedByServerError as exc:
            pytest.skip(str(exc))
        try:
            with _store(uri, alias) as through:
                with pytest.raises(PartitionMismatchError, match="'pb'"):
                    through.upsert([_record("x", "to a")], partition_name="pa")
                with pytest.raises(PartitionMismatchError):
                    through.upsert([_record("x", "to default")])
                through.upsert([_record("x", "b again")], partition_name="pb")
            assert _state(store) == {"_default": [], "pa": [], "pb": [("x", "b again")]}
        finally:
            raw = MilvusClient(uri=uri)
            try:
                raw.drop_alias(alias)
            finally:
                raw.close()


def test_alias_moved_to_another_partitioned_collection(uri: str, collection_name: str) -> None:
    one, two, alias = f"{collection_name}_v1", f"{collection_name}_v2", f"{collection_name}_al"
    connection = ConnectionConfig(uri=uri)
    with _parted(uri, one) as first, _parted(uri, two) as second:
        first.upsert([_record("x", "one's, in b")], partition_name="pb")
        second.upsert([_record("x", "two's, in a")], partition_name="pa")
        try:
            point_alias(connection, alias, one)
        except UnsupportedByServerError as exc:
            pytest.skip(str(exc))
        try:
            with _store(uri, alias) as through:
                through.upsert([_record("x", "one's, b again")], partition_name="pb")
                point_alias(connection, alias, two)  # a re-index switch, in effect
                with pytest.raises(PartitionMismatchError, match="'pa'"):
                    through.upsert([_record("x", "to b of two")], partition_name="pb")
            assert _holders(second, "x") == ["pa"]
            assert _holders(first, "x") == ["pb"]
        finally:
            raw = MilvusClient(uri=uri)
            try:
                raw.drop_alias(alias)
            finally:
                raw.close()


def test_released_partition(uri: str, collection_name: str) -> None:
    """Another client released partition pb (cold data). A taken id must still not be
    doubled; a fresh id into pa should be written, or refused with an error naming pb
    and how to fix it (load it), not a bare engine error. Before the change it was
    written."""
    with _parted(uri, collection_name) as store:
        if store.capabilities.is_lite:
            pytest.skip("Milvus Lite has no partition-level release")
        store.upsert([_record("x", "in b")], partition_name="pb")
        raw = MilvusClient(uri=uri)
        try:
            raw.release_partitions(collection_name, ["pb"])
            with pytest.raises(MilvusPluginsError):
                store.upsert([_record("x", "to a")], partition_name="pa")
            try:
                store.upsert([_record("fresh", "to a")], partition_name="pa")
                failure = ""
            except MilvusPluginsError as exc:
                failure = str(exc)
            raw.load_collection(collection_name)
        finally:
            raw.close()
        assert _holders(store, "x") == ["pb"]
        if failure:
            assert "'pb'" in failure and "load" in failure.lower(), failure


@pytest.mark.parametrize("level", ["Eventually", "Bounded"])
def test_weak_consistency_does_not_hide_a_fresh_row(
    uri: str, collection_name: str, level: str
) -> None:
    # (Milvus Lite ignores the level: passes there.)
    """The store's read consistency must not weaken the check: a row just written to pb
    (by this very store) has to be seen before x is written to pa."""
    with _parted(uri, collection_name, consistency_level=level) as store:
        leaked = []
        for n in range(5):
            rid = f"e{n}"
            store.upsert([_record(rid, "in b")], partition_name="pb")
            try:
                store.upsert([_record(rid, "to a")], partition_name="pa")
                leaked.append(rid)
            except PartitionMismatchError:
                pass
        doubled = [rid for rid in leaked if len(_holders(store, rid)) > 1]
        assert (leaked, doubled) == ([], [])


# -- delete, then rewrite ----------------------------------------------------------------


def test_delete_then_rewrite_into_another_partition(parted: MilvusStore) -> None:
    store = parted
    store.upsert([_record("x", "in b"), _record("keep", "in b")], partition_name="pb")
    # A delete scoped to pa leaves pb's x alone.
    store.delete(ids=["x"], partition_names=["pa"])
    assert _holders(store, "x") == ["pb"]
    store.delete(ids=["x"], partition_names=["pb"])
    store.upsert([_record("x", "now in a")], partition_name="pa")
    assert _state(store) == {"_default": [], "pa": [("x", "now in a")], "pb": [("keep", "in b")]}
    # And back, via a filter delete.
    store.delete(filter='id == "x"', partition_names=["pa"])
    store.upsert([_record("x", "back in b")], partition_name="pb")
    assert _holders(store, "x") == ["pb"]
    assert store.count() == 2


def test_lite_delete_then_rewrite_elsewhere_never_resurrects(parted: MilvusStore) -> None:
    """The same, one id and no scoped delete first: on Milvus Lite 3.2.2 a row that was
    flushed (the store flushes every Lite write), then deleted, comes back in its old
    partition when its id is upserted into another one."""
    store = parted
    store.upsert([_record("x", "in b")], partition_name="pb")
    store.delete(ids=["x"])  # unscoped: x is gone everywhere
    assert _holders(store, "x") == []
    store.upsert([_record("x", "now in a")], partition_name="pa")
    assert _state(store) == {"_default": [], "pa": [("x", "now in a")], "pb": []}


# -- adapters ---------------------------------------------------------------------------


def test_llama_two_partition_names(parted: MilvusStore, uri: str, collection_name: str) -> None:
    store = parted
    store.upsert([_record("x", "in b")], partition_name="pb")
    li = LlamaStore(uri=uri, collection_name=collection_name, milvus_partition_names=["pa", "pb"])
    node = TextNode(id_="x", text="bird", embedding=[0.5, 0.5])
    with pytest.raises(ConfigError):
        li.add([node])  # which one?
    with pytest.raises(PartitionMismatchError):
        li.add([node], partition_name="pa")
    li.add([TextNode(id_="x", text="bird", embedding=[0.5, 0.5])], partition_name="pb")
    # A partition outside milvus_partition_names: still checked.
    with pytest.raises(PartitionMismatchError):
        li.add([node], partition_name="_default")
    assert _holders(store, "x") == ["pb"]


def test_llama_clear_of_a_partition_then_writes_elsewhere(
    parted: MilvusStore, uri: str, collection_name: str
) -> None:
    store = parted
    la = LlamaStore(uri=uri, collection_name=collection_name, milvus_partition_names=["pa"])
    lb = LlamaStore(uri=uri, collection_name=collection_name, milvus_partition_names=["pb"])
    la.add([TextNode(id_=i, text=f"a {i}", embedding=[0.5, 0.5]) for i in ("x", "y")])
    lb.add([TextNode(id_="z", text="b z", embedding=[0.5, 0.5])])
    with pytest.raises(PartitionMismatchError):
        lb.add([TextNode(id_="x", text="b x", embedding=[0.5, 0.5])])
    la.clear()
    assert store.count() == 1  # pb's z kept
    lb.add([TextNode(id_="x", text="b x", embedding=[0.5, 0.5])])
    assert _state(store) == {"_default": [], "pa": [], "pb": [("x", "b x"), ("z", "b z")]}
    assert store.exists()


def test_async_core_store_streamed_with_a_coroutine_model(parted: MilvusStore) -> None:
    store = parted
    store.upsert([_record("x", "in b")], partition_name="pb")
    calls: list[int] = []

    async def embed(texts: list[str]) -> list[list[float]]:
        calls.append(len(texts))
        return [[1.0, 2.0] for _ in texts]

    async def scenario() -> None:
        astore = AsyncMilvusStore(store)
        records = [Record(id=f"n{i}", text="new") for i in range(30)] + [Record(id="x", text="a")]
        with pytest.raises(PartitionMismatchError):
            await astore.upsert(records, partition_name="pa", embed=embed, batch_rows=10)
        with pytest.raises(PartitionMismatchError):
            await astore.upsert([_record("x", "to a")], partition_name="pa", mode="insert")
        await astore.upsert([_record("n0", "fresh")], partition_name="pa")

    asyncio.run(scenario())
    assert calls == []
    assert _state(store) == {"_default": [], "pa": [("n0", "fresh")], "pb": [("x", "in b")]}


def test_llama_async_add(parted: MilvusStore, uri: str, collection_name: str) -> None:
    store = parted
    store.upsert([_record("x", "in b")], partition_name="pb")
    li = LlamaStore(uri=uri, collection_name=collection_name, milvus_partition_names=["pa"])

    async def scenario() -> None:
        with pytest.raises(PartitionMismatchError):
            await li.async_add([TextNode(id_="x", text="bird", embedding=[0.5, 0.5])])

    asyncio.run(scenario())
    assert _holders(store, "x") == ["pb"]


def test_langchain_async_and_documents(parted: MilvusStore, uri: str, collection_name: str) -> None:
    store = parted
    store.upsert([_record("x", "in b")], partition_name="pb")
    model = LengthEmbeddings()
    lc = LangChainStore(model, uri=uri, collection_name=collection_name, dim=2)
    with pytest.raises(PartitionMismatchError):
        lc.add_documents([Document(page_content="dog", id="x")], partition_name="pa")

    async def scenario() -> None:
        with pytest.raises(PartitionMismatchError):
            await lc.aadd_texts(["dog"], ids=["x"], partition_name="pa")
        with pytest.raises(PartitionMismatchError):
            await lc.aadd_documents([Document(page_content="dog", id="x")])

    asyncio.run(scenario())
    assert model.texts == 0
    assert _holders(store, "x") == ["pb"]


def test_langchain_several_models_refused_before_embedding(uri: str, collection_name: str) -> None:
    one, two = LengthEmbeddings(), LengthEmbeddings()
    lc = LangChainStore(
        {"vector": one, "title": two}, uri=uri, collection_name=collection_name, dim=2
    )
    caps = lc._store.capabilities
    if not caps.partitions or not caps.multi_vector:
        pytest.skip("no named partitions or no second vector field on this engine")
    lc.add_texts(["seed"], ids=["seed"])
    raw = MilvusClient(uri=uri)
    try:
        raw.create_partition(collection_name, "pa")
        raw.create_partition(collection_name, "pb")
    finally:
        raw.close()
    lc.add_texts(["cat"], ids=["x"], partition_name="pb")
    one.texts = two.texts = 0
    with pytest.raises(PartitionMismatchError):
        lc.add_texts(["dog"], ids=["x"], partition_name="pa")
    assert (one.texts, two.texts) == (0, 0)  # "before anything is embedded"


class CountingLlamaEmbedding(MockEmbedding):
    calls: int = 0

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        self.calls += len(texts)
        return super()._get_text_embeddings(texts)

    def _get_text_embedding(self, text: str) -> list[float]:
        self.calls += 1
        return super()._get_text_embedding(text)


def test_llama_vector_fields_refused_before_embedding(
    parted: MilvusStore, uri: str, collection_name: str
) -> None:
    model = CountingLlamaEmbedding(embed_dim=2)
    name = f"{collection_name}_vf"
    if not parted.capabilities.multi_vector:
        pytest.skip("no second vector field on this engine")
    li = LlamaStore(uri=uri, collection_name=name, dim=2, vector_fields={"title": model})
    li.add([TextNode(id_="seed", text="seed", embedding=[0.5, 0.5])])
    with _store(uri, name, open_mode="adopt") as core:
        core.create_partition("pa")
        core.create_partition("pb")
    li.add([TextNode(id_="x", text="cat", embedding=[0.5, 0.5])], partition_name="pb")
    model.calls = 0
    with pytest.raises(PartitionMismatchError):
        li.add([TextNode(id_="x", text="dog", embedding=[0.5, 0.5])], partition_name="pa")
    assert model.calls == 0  # "before anything is embedded"


def test_langchain_index_api_into_partitions(
    parted: MilvusStore, uri: str, collection_name: str
) -> None:
    store = parted
    lc = LangChainStore(
        DeterministicFakeEmbedding(size=2), uri=uri, collection_name=collection_name, dim=2
    )
    docs = [Document(page_content=f"doc {i}", metadata={"source": "s"}) for i in range(3)]
    rm_a = InMemoryRecordManager(namespace="a")
    rm_a.create_schema()
    rm_b = InMemoryRecordManager(namespace="b")
    rm_b.create_schema()
    result = index(
        docs, rm_a, lc, cleanup="incremental", source_id_key="source",
        upsert_kwargs={"partition_name": "pa"},
    )  # fmt: skip
    assert result["num_added"] == 3
    before = _state(store)
    # The same documents (the same content-hash ids) indexed into pb are refused.
    with pytest.raises(PartitionMismatchError):
        index(
            docs, rm_b, lc, cleanup="incremental", source_id_key="source",
            upsert_kwargs={"partition_name": "pb"},
        )  # fmt: skip
    assert _state(store) == before
    assert rm_b.list_keys() == []  # nothing recorded as indexed in b
    # Re-indexing into pa with a changed document: only pa changes.
    changed = [*docs[:2], Document(page_content="doc 2 v2", metadata={"source": "s"})]
    index(
        changed, rm_a, lc, cleanup="incremental", source_id_key="source",
        upsert_kwargs={"partition_name": "pa"},
    )  # fmt: skip
    after = _state(store)
    assert after["pb"] == [] and after["_default"] == []
    assert sorted(t for _, t in after["pa"]) == ["doc 0", "doc 1", "doc 2 v2"]


# -- ordinary writes ----------------------------------------------------------------------


def _count_calls(client: Any, names: tuple[str, ...]) -> list[str]:
    seen: list[str] = []
    for method in names:
        original = getattr(client, method)

        def counted(*args: Any, _name: str = method, _call: Any = original, **kw: Any) -> Any:
            seen.append(_name)
            return _call(*args, **kw)

        setattr(client, method, counted)
    return seen


def test_ordinary_writes_make_no_extra_calls(uri: str, collection_name: str) -> None:
    with _store(uri, collection_name) as store:
        seen = _count_calls(store.client, ("list_partitions", "query"))
        store.upsert([_record("a", "1")])  # creates
        store.upsert([_record("a", "2"), _record("b", "3")])  # existing, one partition
        store.upsert([_record("c", "4")], mode="insert")
        store.upsert([Record(id="d", text="5")], embed=lambda t: [[1.0, 2.0] for _ in t])
        assert seen == []
        assert sorted((r.id, r.text) for r in store.query()) == [
            ("a", "2"),
            ("b", "3"),
            ("c", "4"),
            ("d", "5"),
        ]


def test_partition_key_collections_make_no_partition_calls(uri: str, collection_name: str) -> None:
    from milvus_plugins.core import MetadataField

    store = MilvusStore(
        CollectionSpec(
            name=collection_name,
            dim=2,
            sparse="none",
            metadata_fields=[MetadataField(name="tenant", type="VARCHAR", max_length=64)],
            partition_key="tenant",
        ),
        connection=ConnectionConfig(uri=uri),
    )
    if not store.capabilities.partitions:
        store.close()
        pytest.skip("no partition key on this engine (Milvus Lite 2.5.1)")
    with store:
        store.upsert([_record("a", "1")], tenant="t1")
        seen = _count_calls(store.client, ("list_partitions",))
        store.upsert([_record("a", "2")], tenant="t1")
        store.upsert([_record("b", "3")], tenant="t2")
        assert seen == []
        assert store.count() == 2
