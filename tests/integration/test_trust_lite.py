"""Milvus Lite lifecycle and name safety (issue 11, items 5, 6, 14, 15, 17b, 17c).

* Names reach Milvus only after the name check: a ``../`` partition name, which Milvus Lite
  would turn into a path outside the database, is refused and the directory it points at
  is untouched (everything happens inside ``tmp_path``).
* The first concurrent use of a fresh database works: the Lite server of a path is
  started once, under a lock, for sync and async clients alike.
* ``close()`` releases the server when the last store of a path closes: threads return to
  their baseline and another process can open the database.
* A database held by another process gives a message that says so and what to do.
* One async store works across several event loops (two ``asyncio.run`` calls).
* A relative Lite path is fixed when the config is made, not at first use.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import VectorStoreQuery

from milvus_plugins.core import (
    AsyncMilvusStore,
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    MetadataField,
    MilvusConnectionError,
    MilvusStore,
    Record,
)
from milvus_plugins.core.lite import lease_count
from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

DIM = 8
ROOT = Path(__file__).resolve().parents[2]


def vec(i: int) -> list[float]:
    return [1.0, float(i), *([0.5] * (DIM - 2))]


def records(prefix: str, n: int) -> list[Record]:
    return [Record(id=f"{prefix}{i}", text=f"{prefix} {i}", vector=vec(i)) for i in range(n)]


def lite_store(uri: str, name: str = "docs") -> MilvusStore:
    return MilvusStore(CollectionSpec(name=name, dim=DIM), connection=ConnectionConfig(uri=uri))


def other_process_lists(uri: str) -> subprocess.CompletedProcess[str]:
    """Open the database in a fresh Python process (as the CLI or a second notebook would)."""
    code = (
        "import sys; from pymilvus import MilvusClient; "
        "print(MilvusClient(sys.argv[1]).list_collections())"
    )
    return subprocess.run(
        [sys.executable, "-c", code, uri], capture_output=True, text=True, timeout=120
    )


def thread_count_settles(limit: int, seconds: float = 10.0) -> int:
    deadline = time.monotonic() + seconds
    while threading.active_count() > limit and time.monotonic() < deadline:
        time.sleep(0.05)
    return threading.active_count()


# -- item 5: names ----------------------------------------------------------------------


def test_dotdot_partition_name_is_refused_and_the_directory_it_names_survives(
    tmp_path: Path,
) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("precious")
    (tmp_path / "db").mkdir()
    store = lite_store(str(tmp_path / "db" / "milvus.db"))
    store.upsert(records("r", 3))
    store.create_partition("probe")
    [probe] = list((tmp_path / "db").rglob("probe"))
    hostile = os.path.relpath(victim, probe.parent)
    # Milvus Lite would resolve the name to exactly the victim directory (no further).
    assert Path(os.path.normpath(probe.parent / hostile)) == victim
    assert hostile.startswith("..")

    with pytest.raises(ConfigError, match=r"partition name=.*not a valid Milvus name"):
        store.drop_partition(hostile)
    with pytest.raises(ConfigError, match="partition name="):
        store.create_partition(hostile + "_new")
    assert (victim / "keep.txt").read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["db", "victim"]
    assert sorted(store.list_partitions()) == ["_default", "probe"]
    assert store.count() == 3
    store.close()


def test_a_bad_partition_name_is_refused_before_any_io(tmp_path: Path) -> None:
    uri = str(tmp_path / "never.db")
    store = lite_store(uri)
    with pytest.raises(ConfigError, match="partition name="):
        store.create_partition("a/b")
    assert not os.path.exists(uri)  # no server was started, nothing created
    assert lease_count(uri) == 0


# -- item 6: first concurrent use of a fresh database ------------------------------------


async def test_langchain_gather_of_add_and_search_on_a_fresh_database(tmp_path: Path) -> None:
    store = LangChainStore(
        DeterministicFakeEmbedding(size=DIM), uri=str(tmp_path / "fresh.db"), collection_name="c"
    )
    ids, hits = await asyncio.gather(
        store.aadd_texts(["alpha", "beta"], ids=["a", "b"]),
        store.asimilarity_search("alpha", k=2),
    )
    assert ids == ["a", "b"]
    assert len(hits) <= 2  # the search may run before or after the write
    assert store.store.count() == 2
    assert [d.id for d in await store.asimilarity_search("alpha", k=1)] == ["a"]
    await store.aclose()


async def test_llama_gather_of_add_and_query_on_a_fresh_database(tmp_path: Path) -> None:
    store = LlamaStore(uri=str(tmp_path / "fresh.db"), collection_name="c", dim=DIM)
    nodes = [TextNode(id_=f"n{i}", text=f"node {i}", embedding=vec(i)) for i in range(3)]
    added, _ = await asyncio.gather(
        store.async_add(nodes),
        store.aquery(VectorStoreQuery(query_embedding=vec(1), similarity_top_k=3)),
    )
    assert added == ["n0", "n1", "n2"]
    result = await store.aquery(VectorStoreQuery(query_embedding=vec(1), similarity_top_k=1))
    assert result.ids == ["n1"]
    await store.aclose()


def test_separate_stores_on_one_database_written_from_threads(
    backend_uri: str, collection_name: str
) -> None:
    uri = backend_uri
    workers = 6
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        # Each thread its own store object and session: all race to create the collection.
        with lite_store(uri, collection_name) as store:
            barrier.wait()
            try:
                store.upsert(records(f"w{worker}-", 5))
            except BaseException as exc:  # collected: the assertion below shows them
                errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with lite_store(uri, collection_name) as store:
        assert store.count() == workers * 5
        store.drop()
    assert lease_count(uri) == 0


# -- item 14: close() releases the server ------------------------------------------------


def test_closing_the_last_store_lets_another_process_open_the_database(tmp_path: Path) -> None:
    uri = str(tmp_path / "handoff.db")
    first, second = lite_store(uri), lite_store(uri)
    first.upsert(records("r", 4))
    assert second.count() == 4
    first.close()
    # The second store still holds the server: closing one store must not stop it.
    assert second.count() == 4
    second.close()
    child = other_process_lists(uri)
    assert child.returncode == 0, child.stderr[-2000:]
    assert "docs" in child.stdout
    assert lease_count(uri) == 0


def test_a_store_used_again_after_close_reopens_its_database(tmp_path: Path) -> None:
    uri = str(tmp_path / "again.db")
    store = lite_store(uri)
    store.upsert(records("r", 3))
    store.close()  # the last store: the server stops
    assert lease_count(uri) == 0
    # A restarted server has the collection released: the store must load it again.
    assert store.count() == 3
    assert [h.id for h in store.search(vec(2), k=1)] == ["r2"]
    store.close()


def test_the_first_call_after_close_may_be_a_search(tmp_path: Path) -> None:
    """A restarted server has the collection released: a search must not find it so."""
    uri = str(tmp_path / "first.db")
    store = lite_store(uri)
    store.upsert(records("r", 3))
    store.close()
    assert [h.id for h in store.search(vec(2), k=1)] == ["r2"]
    store.close()

    async def use() -> None:
        astore = AsyncMilvusStore(lite_store(uri))
        assert await astore.count() == 3
        await astore.close()
        astore.sync.close()
        assert lease_count(uri) == 0
        assert [h.id for h in await astore.search(vec(1), k=1)] == ["r1"]
        await astore.close()
        astore.sync.close()

    asyncio.run(use())
    lang = LangChainStore(DeterministicFakeEmbedding(size=DIM), uri=uri, collection_name="lc")
    lang.add_texts(["hello"], ids=["h"])
    lang.close()
    assert [d.id for d in lang.similarity_search("hello", k=1)] == ["h"]
    lang.close()


def test_async_and_adapter_stores_release_the_database_when_closed(tmp_path: Path) -> None:
    uri = str(tmp_path / "adapters.db")
    embedding = DeterministicFakeEmbedding(size=DIM)
    core = lite_store(uri, "core")
    lang = LangChainStore(embedding, uri=uri, collection_name="lang")
    llama = LlamaStore(uri=uri, collection_name="llama", dim=DIM)

    async def use() -> None:
        astore = AsyncMilvusStore(core)
        async with astore:  # closes the async client and its sync twin
            await astore.upsert(records("a", 2))
            assert await astore.count() == 2
        await lang.aadd_texts(["x"], ids=["x"])
        node = TextNode(id_="n", text="n", embedding=vec(0))
        await llama.async_add([node])

    asyncio.run(use())
    assert lease_count(uri) > 0
    with lang, llama:  # sync close after the loop has ended
        assert lang.store.count() == 1
        assert llama.store.count() == 1
    assert lease_count(uri) == 0
    child = other_process_lists(uri)
    assert child.returncode == 0, child.stderr[-2000:]
    assert all(f"'{name}'" in child.stdout for name in ("core", "lang", "llama"))


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_threads_and_descriptors_return_to_baseline_after_closing(tmp_path: Path) -> None:
    def use(uri: str) -> None:
        store = lite_store(uri)
        astore = AsyncMilvusStore(store)

        async def run() -> None:
            await astore.upsert(records("r", 2))
            assert len(await astore.search(vec(0), k=1)) == 1
            await astore.close()

        asyncio.run(run())
        assert threading.active_count() > baseline  # the server is running
        store.close()

    # Warm up once: gRPC starts a process-wide poller thread of its own on first use.
    with lite_store(str(tmp_path / "warm.db")) as store:
        store.upsert(records("r", 1))
    baseline, fds = thread_count_settles(0, seconds=1.0), open_fds()
    for n in range(4):  # a fresh path each time: each one used to leave ~4 threads
        use(str(tmp_path / f"db{n}.db"))
    assert thread_count_settles(baseline) <= baseline, [t.name for t in threading.enumerate()]
    assert open_fds() <= fds + 2  # used to grow by ~4 per database path


# -- item 15: a database held by another process -----------------------------------------

HOLDER = textwrap.dedent(
    """
    import sys
    from pymilvus import MilvusClient

    client = MilvusClient(sys.argv[1])
    print("ready", flush=True)
    sys.stdin.readline()
    """
)


def test_a_database_held_by_another_process_says_so_and_what_to_do(tmp_path: Path) -> None:
    uri = str(tmp_path / "held.db")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, uri],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        store = lite_store(uri)
        with pytest.raises(MilvusConnectionError) as caught:
            store.count()
        message = str(caught.value)
        assert f"in use by another process (pid {holder.pid})" in message
        assert "only one process" in message
        assert "close" in message and "use another path" in message
        assert lease_count(uri) == 0
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=60)
    # Once the other process has let go, the same store opens the database.
    assert store.list_collections() == []
    store.close()


# -- item 17b: one async store, several event loops --------------------------------------


def test_one_async_store_works_across_event_loops(backend_uri: str, collection_name: str) -> None:
    store = MilvusStore(
        CollectionSpec(name=collection_name, dim=DIM),
        connection=ConnectionConfig(uri=backend_uri),
        drop_old=True,
    )
    astore = AsyncMilvusStore(store)

    async def round_trip(i: int) -> tuple[int, list[str], list[str]]:
        await astore.upsert([Record(id=f"r{i}", text="t", vector=vec(i))])
        count, hits, got = await asyncio.gather(
            astore.count(), astore.search(vec(i), k=1), astore.get([f"r{i}"])
        )
        return count, [h.id for h in hits], [r.id for r in got]

    try:
        for i in range(3):  # each asyncio.run is a new event loop
            assert asyncio.run(round_trip(i)) == (i + 1, [f"r{i}"], [f"r{i}"])
    finally:
        astore.release_ended_loops()
        store.drop()
        store.close()


# -- item 17c: relative Lite paths -------------------------------------------------------


def test_a_relative_lite_path_is_fixed_at_construction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "here").mkdir()
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    config = ConnectionConfig(uri="./rel.db")
    monkeypatch.chdir(tmp_path / "elsewhere")
    with MilvusStore(CollectionSpec(name="c", dim=DIM), connection=config) as store:
        store.upsert(records("r", 2))
    assert (tmp_path / "here" / "rel.db").is_dir()
    assert not (tmp_path / "elsewhere" / "rel.db").exists()
    assert config.uri == str(tmp_path / "here" / "rel.db")


def test_closing_our_store_leaves_the_applications_own_lite_client_working(
    tmp_path: Path,
) -> None:
    """A Lite server the application started first (a bare pymilvus client) is not stopped."""
    from pymilvus import MilvusClient

    uri = str(tmp_path / "shared.db")
    raw = MilvusClient(uri=uri)
    raw.create_collection("raw_rows", dimension=4)
    raw.insert("raw_rows", [{"id": 1, "vector": [0.1, 0.2, 0.3, 0.4]}])
    store = LangChainStore(DeterministicFakeEmbedding(size=8), uri=uri, collection_name="ours")
    store.add_texts(["one"], ids=["a"])
    store.close()
    assert lease_count(uri) == 0
    assert raw.query("raw_rows", filter="id == 1", output_fields=["id"])[0]["id"] == 1
    raw.close()


def _cached_endpoints(collection: str) -> set[str]:
    from pymilvus.client.cache import GlobalCache

    with GlobalCache.schema._lock:
        return {key[0] for key in GlobalCache.schema._cache if key[2] == collection}


def test_a_stopped_lite_server_leaves_no_cached_schema_for_its_port(tmp_path: Path) -> None:
    # pymilvus caches schemas per host:port for the whole process. A Lite server started
    # later on the same free port would have its same-named collection packed with this
    # one's schema (seen in CI: a write refused for columns it did not have).
    name = "cache_probe_docs"
    before = _cached_endpoints(name)
    store = MilvusStore(
        CollectionSpec(name=name, dim=4, metadata_fields=[MetadataField(name="n", type="INT64")]),
        connection=ConnectionConfig(uri=str(tmp_path / "a.db")),
    )
    store.upsert([Record(id="a", text="a", vector=[1.0, 0.0, 0.0, 0.0], metadata={"n": 1})])
    cached = _cached_endpoints(name) - before
    assert cached, "pymilvus cached the collection's schema while the server ran"
    store.close()
    assert not (_cached_endpoints(name) & cached)


def test_starting_a_lite_server_forgets_schemas_cached_for_its_port() -> None:
    from pymilvus.client.cache import GlobalCache

    from milvus_plugins.core.lite import forget_cached_schemas

    GlobalCache.schema.set("127.0.0.1:1", "default", "stale_docs", {"fields": []})
    GlobalCache.schema.set("127.0.0.1:2", "default", "stale_docs", {"fields": []})
    forget_cached_schemas("http://127.0.0.1:1")
    assert GlobalCache.schema.get("127.0.0.1:1", "default", "stale_docs") is None
    assert GlobalCache.schema.get("127.0.0.1:2", "default", "stale_docs") is not None
    GlobalCache.schema.invalidate("127.0.0.1:2", "default", "stale_docs")
