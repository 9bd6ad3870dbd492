"""A checked delete (Milvus Lite 3 compares JSON ``true`` equal to ``1``, so a delete by a
bool or number on an undeclared key reads the rows of a wider filter, checks them and
deletes the kept ids) against writes of the same process landing meanwhile.

Judged by the serial model: in either order of the delete and the write, a row the
write stored with a value the filter does not select survives, and a row written under
another id is never touched. Before the fix the read and the delete were separate turns
(a rewritten row was deleted for its old value: 300 of 300 lost, every run of a helper's
script), and above 2,000 kept ids the delete was sent as the wider filter alone (rows
written meanwhile under new ids went too: 1-7 per run). Milvus Lite only: the engines
that need the check (``Dialect.json_bools_are_numbers``).
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from milvus_plugins.core import (
    AsyncMilvusStore,
    CollectionSpec,
    ConnectionConfig,
    MilvusStore,
    Record,
)
from milvus_plugins.core.filters import eq

DIM = 8
ROWS = 300


def _vector(key: str) -> list[float]:
    rng = random.Random(key)
    return [rng.uniform(-1, 1) for _ in range(DIM)]


def _store(lite_uri: str) -> MilvusStore:
    store = MilvusStore(
        CollectionSpec(name="c", dim=DIM), connection=ConnectionConfig(uri=lite_uri)
    )
    # The first write creates the collection without key n: n stays an undeclared JSON key.
    store.upsert([Record(id="seed", text="seed", vector=_vector("seed"), metadata={"k": "x"})])
    return store


def _rows(prefix: str, count: int, value: object, text: str) -> list[Record]:
    return [
        Record(
            id=f"{prefix}{i}",
            text=f"{text}{i}",
            vector=_vector(f"{text}{i}"),
            metadata={"n": value},
        )
        for i in range(count)
    ]


def test_a_row_rewritten_during_a_checked_delete_survives_async(lite_uri: str) -> None:
    store = _store(lite_uri)
    astore = AsyncMilvusStore(store)
    rewritten = _rows("r", ROWS, 1, "new")  # n == True must not select these

    async def race(delay: float) -> int:
        await astore.upsert(_rows("r", ROWS, True, "old"))

        async def write() -> None:
            await asyncio.sleep(delay)
            await astore.upsert(rewritten)

        deleted, _ = await asyncio.gather(astore.delete(filter=eq("n", True)), write())
        return deleted

    for delay in (0.005, 0.01, 0.02, 0.04):  # the write lands during the delete's read
        deleted = asyncio.run(race(delay))
        got = {r.id: r for r in store.get([r.id for r in rewritten])}
        assert len(got) == ROWS, (delay, deleted, ROWS - len(got))
        assert all(r.metadata == {"n": 1} and r.text.startswith("new") for r in got.values())
        assert deleted in (0, ROWS)  # before the write (all), or after it (none)
    store.close()


def test_a_row_rewritten_during_a_checked_delete_survives_threads(lite_uri: str) -> None:
    store = _store(lite_uri)
    rewritten = _rows("r", ROWS, 1, "new")
    for delay in (0.005, 0.01, 0.02, 0.04):
        store.upsert(_rows("r", ROWS, True, "old"))

        def write(pause: float = delay) -> None:
            time.sleep(pause)
            store.upsert(rewritten)

        with ThreadPoolExecutor(2) as pool:
            deleting = pool.submit(store.delete, filter=eq("n", True))
            writing = pool.submit(write)
            deleted = deleting.result()
            writing.result()
        got = store.get([r.id for r in rewritten])
        assert len(got) == ROWS, (delay, deleted, ROWS - len(got))
        assert all(r.metadata == {"n": 1} for r in got)
    store.close()


def test_rows_written_under_new_ids_during_a_large_checked_delete_survive(lite_uri: str) -> None:
    """Above 2,000 kept ids (the id-list limit of one expression) the delete names the ids
    in parts; it used to send the wider filter, which took rows written meanwhile."""
    store = _store(lite_uri)
    old = _rows("old", 2100, True, "old")
    store.upsert(old)
    stop = threading.Event()
    written: list[str] = []

    def write() -> None:
        j = 0
        while not stop.is_set():
            record = Record(
                id=f"new{j}", text=f"new{j}", vector=_vector(f"new{j}"), metadata={"n": 1}
            )
            store.upsert([record])
            written.append(record.id)
            j += 1
            time.sleep(0.005)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        time.sleep(0.02)
        deleted = store.delete(filter=eq("n", True))
    finally:
        stop.set()
        writer.join()
    assert deleted == len(old)
    assert store.get([r.id for r in old]) == []
    survivors = {r.id for r in store.get(written)}
    assert survivors == set(written), sorted(set(written) - survivors)
    assert written  # the writer did write while the delete ran
    store.close()


def test_a_checked_delete_of_thousands_of_rows_in_a_partition_completes(lite_uri: str) -> None:
    """Milvus Lite 3.2.2 deletes in a partition by id (it ignores ``partition_name``):
    the ids were named in one expression with the wider filter, which Lite tests row by
    row against the whole list (6,000 ids: past a 5 s deadline on every try). Now in
    parts of 2,000, by id alone within the write turn (this process holds the file)."""
    store = MilvusStore(
        CollectionSpec(name="c", dim=DIM), connection=ConnectionConfig(uri=lite_uri, timeout=5)
    )
    store.create_partition("p1")
    store.upsert([Record(id="seed", text="seed", vector=_vector("seed"), metadata={"k": "x"})])
    store.upsert(_rows("r", 6000, True, "old"), partition_name="p1")
    store.upsert(_rows("s", 50, 1, "kept"), partition_name="p1")  # n == 1: not selected
    assert store.delete(filter=eq("n", True), partition_names=["p1"]) == 6000
    assert store.count(partition_names=["p1"]) == 50
    store.close()
