"""Hostile ``close()`` races: close while other threads/tasks read, write and delete.

``close()`` closes the client connection and the store reconnects if used again; on
Milvus Lite the last store of a database to close stops its in-process server. A call
that meets a client closed by another thread must reconnect and finish, or at worst
raise a typed ``milvus_plugins.core`` error: never a raw pymilvus/gRPC/asyncio
exception, never a wrong answer (an empty result for a collection with rows), never a
row written twice or a row deleted that was not asked for, and nothing may hang.

Every race is repeated (closes in a loop, several rounds) and each test checks that
closes really landed while work was in flight.
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import VectorStoreQuery

from milvus_plugins.core import (
    AsyncMilvusStore,
    CollectionNotFoundError,
    CollectionSpec,
    ConnectionConfig,
    MilvusPluginsError,
    MilvusStore,
    Record,
    RetryPolicy,
    WriteError,
    WriteOptions,
    and_,
    gte,
    lite,
    lt,
)
from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

DIM = 8
ROWS = 200
JOIN = 60.0  # seconds: a thread still alive after this is a hang, i.e. a failure
EVERY_ROW = gte("n", 0)


def _vector(i: int) -> list[float]:
    rng = random.Random(i)
    return [rng.random() + 0.01 for _ in range(DIM)]


def _records(n: int, prefix: str = "r", start: int = 0) -> list[Record]:
    return [
        Record(id=f"{prefix}{i}", text=f"text {i}", vector=_vector(i), metadata={"n": i})
        for i in range(start, start + n)
    ]


def _store(uri: str, name: str, batch: int = 100) -> MilvusStore:
    return MilvusStore(
        CollectionSpec(name=name, dim=DIM),
        connection=ConnectionConfig(uri=uri),
        write=WriteOptions(batch_rows=batch),
    )


def _start(*targets: Callable[[], None]) -> list[threading.Thread]:
    threads = [threading.Thread(target=t, name=getattr(t, "__name__", "t")) for t in targets]
    for thread in threads:
        thread.start()
    return threads


def _join(threads: list[threading.Thread]) -> None:
    deadline = time.monotonic() + JOIN
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    hung = [t.name for t in threads if t.is_alive()]
    assert not hung, f"threads still running after {JOIN} s (hang): {hung}"


def _wait_for(done: Callable[[], bool], at_least: float) -> None:
    """Sleep ``at_least`` seconds, then on until ``done()`` (at most ``JOIN`` s more): a
    race runs long enough to mean something however slow the machine is right now."""
    time.sleep(at_least)
    deadline = time.monotonic() + JOIN
    while not done() and time.monotonic() < deadline:
        time.sleep(0.05)


def _open_in_subprocess(path: str) -> subprocess.CompletedProcess[str]:
    """Open the Lite database from another process (fails while this one holds it)."""
    code = (
        "from pymilvus import MilvusClient\n"
        f"c = MilvusClient({path!r})\n"
        "print(sorted(c.list_collections()))\n"
        "c.close()\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=90, check=False
    )


class Closer:
    """Counts the closes, so that a call can tell whether one landed while it ran."""

    def __init__(self, close: Callable[[], None]) -> None:
        self._close = close
        self.closes = 0

    def close(self) -> None:
        self._close()
        self.closes += 1

    def spanned(self, call: Callable[[], Any]) -> tuple[Any, bool]:
        before = self.closes
        result = call()
        return result, self.closes != before

    async def aspanned(self, call: Callable[[], Awaitable[Any]]) -> tuple[Any, bool]:
        before = self.closes
        result = await call()
        return result, self.closes != before


class Tally:
    """What the racing calls saw: right answers, wrong answers, typed and raw errors."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()
        self.wrong: list[str] = []
        self.raw: list[str] = []
        self.typed: list[str] = []
        self.spanned = 0
        self.lock = threading.Lock()

    def error(self, kind: str, exc: BaseException) -> None:
        with self.lock:
            if isinstance(exc, MilvusPluginsError):
                self.seen[f"{kind}:{type(exc).__name__}"] += 1
                self.typed.append(f"{kind}: {type(exc).__name__}: {exc}")
            else:
                self.seen[f"{kind}:RAW {type(exc).__name__}"] += 1
                self.raw.append(f"{kind}: {type(exc).__module__}.{type(exc).__name__}: {exc!r}")

    def answer(self, kind: str, ok: bool, spanned: bool) -> None:
        with self.lock:
            self.seen[f"{kind}:{'ok' if ok else 'WRONG'}"] += 1
            self.spanned += spanned
            if not ok:
                self.wrong.append(kind)

    def record(self, kind: str, run: Callable[[], tuple[bool, bool]]) -> None:
        try:
            ok, spanned = run()
        except BaseException as exc:  # a raw error is what is being tested
            self.error(kind, exc)
        else:
            self.answer(kind, ok, spanned)

    async def arecord(self, kind: str, run: Callable[[], Awaitable[tuple[bool, bool]]]) -> None:
        try:
            ok, spanned = await run()
        except BaseException as exc:  # CancelledError too: no one cancels these tasks
            self.error(kind, exc)
        else:
            self.answer(kind, ok, spanned)

    def check(self, *, min_spanned: int = 1) -> None:
        assert not self.raw, f"raw (untranslated) errors: {self.raw[:5]} of {dict(self.seen)}"
        assert not self.wrong, f"wrong answers: {Counter(self.wrong)} of {dict(self.seen)}"
        unclear = [m for m in self.typed if "NoneType" in m or "object has no attribute" in m]
        assert not unclear, f"typed but unclear errors: {unclear[:3]}"
        assert self.spanned >= min_spanned, (
            f"no call overlapped a close: {dict(self.seen)} {self.typed[:2]}"
        )


def _sync_reads(store: MilvusStore, closer: Closer) -> dict[str, Callable[[], tuple[bool, bool]]]:
    probe = _vector(0)
    first_ten = sorted(f"r{i}" for i in range(10))

    def search() -> tuple[bool, bool]:
        hits, spanned = closer.spanned(lambda: store.search(probe, k=5))
        return len(hits) == 5 and hits[0].record.id == "r0", spanned

    def count() -> tuple[bool, bool]:
        n, spanned = closer.spanned(store.count)
        return n == ROWS, spanned

    def get() -> tuple[bool, bool]:
        got, spanned = closer.spanned(lambda: store.get(["r1", "r7", "r199"]))
        return [r.id for r in got] == ["r1", "r7", "r199"], spanned

    def query() -> tuple[bool, bool]:
        got, spanned = closer.spanned(lambda: store.query(lt("n", 10)))
        return sorted(r.id for r in got) == first_ten, spanned

    def delete_nothing() -> tuple[bool, bool]:
        n, spanned = closer.spanned(lambda: store.delete(["absent"]))
        return n == 0, spanned

    return {
        "search": search,
        "count": count,
        "get": get,
        "query": query,
        "delete-nothing": delete_nothing,
    }


def _read_round(
    calls: dict[str, Callable[[], tuple[bool, bool]]], closer: Closer, tally: Tally, closes: int
) -> None:
    stop = threading.Event()

    def looper(kind: str, call: Callable[[], tuple[bool, bool]]) -> Callable[[], None]:
        def loop() -> None:
            while not stop.is_set():
                tally.record(kind, call)

        loop.__name__ = kind
        return loop

    threads = _start(*(looper(kind, call) for kind, call in calls.items()))
    try:
        for _ in range(closes):
            time.sleep(0.02)
            closer.close()
    finally:
        stop.set()
        _join(threads)


def _sync_read_race(
    uri: str, name: str, rounds: int, closes: int, attempts: int | None = None
) -> Tally:
    store = _store(uri, name)
    if attempts is not None:
        store.retry = RetryPolicy(attempts=attempts)
    try:
        store.upsert(_records(ROWS), progress=False)
        closer = Closer(store.close)
        tally = Tally()
        for _ in range(rounds):
            _read_round(_sync_reads(store, closer), closer, tally, closes)
    finally:
        store.close()
    return tally


def test_sync_reads_and_empty_deletes_while_another_thread_closes(tmp_path: Path) -> None:
    tally = _sync_read_race(str(tmp_path / "reads.db"), "t_reads", rounds=3, closes=15)
    tally.check(min_spanned=5)


_CHILD = """
import json, os, sys
sys.path.insert(0, {root!r})
from tests.integration.test_hostile_close_races import _sync_read_race
tally = _sync_read_race({path!r}, {name!r}, rounds=2, closes=15, attempts={attempts!r})
print(json.dumps({{"typed": tally.typed, "raw": tally.raw, "spanned": tally.spanned}}), flush=True)
if {hard_exit!r}:
    os._exit(0)
"""


def _race_in_child(
    path: str, name: str, *, attempts: int | None = None, hard_exit: bool = True
) -> tuple[dict[str, Any], bool]:
    """Run the sync read race in another process (a hang at its exit cannot hang pytest):
    what its calls saw, and whether the process exited by itself within 25 s of reporting.

    The race itself may take long on a loaded machine (imports, the Lite start), so only
    the time from its report to the process' exit is held to 25 s: that is the hang the
    exit test looks for. A race that reports nothing within ``JOIN * 4`` s is a hang too.
    """
    root = str(Path(__file__).resolve().parents[2])
    code = _CHILD.format(root=root, path=path, name=name, attempts=attempts, hard_exit=hard_exit)
    child = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=root,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(child.stdout or ()), daemon=True)
    errors: list[str] = []
    drain = threading.Thread(target=lambda: errors.extend(child.stderr or ()), daemon=True)
    reader.start()
    drain.start()
    deadline = time.monotonic() + JOIN * 4
    while not lines and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        child.wait(timeout=25)
        exited = True
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
        exited = False
    reader.join(5)
    drain.join(5)
    if not lines:
        assert exited, f"the race reported nothing within {JOIN * 4:.0f} s (hang)"
        tail = "".join(errors)[-800:]
        raise AssertionError(f"the race exited ({child.returncode}) without a report: {tail}")
    if exited:
        assert child.returncode == 0, "".join(errors)[-800:]
    return json.loads(lines[0]), exited


# DEFECT (fixed): a short collection name ("c") cut "on closed channel" apart: reads not retried
def test_sync_reads_while_closing_a_collection_with_a_short_name(tmp_path: Path) -> None:
    seen, _ = _race_in_child(str(tmp_path / "short.db"), "c")
    assert seen["spanned"] >= 5 and not seen["raw"], seen
    # Once not retried: gRPC's "Cannot invoke RPC on closed channel!" read with the name
    # "c" cut out of its words (and, on any name, its other wording "Cannot invoke RPC:
    # Channel closed!", for a call caught while the channel closes).
    assert not seen["typed"], f"reads failed although the store reconnects: {seen['typed'][:3]}"


# DEFECT (fixed): lite._stop shut the gRPC pool during the stop grace: the process hung at exit
def test_process_exits_after_reads_raced_close_without_retries(tmp_path: Path) -> None:
    """Retries off (a caller's choice): calls fail fast and keep coming while the Lite
    server stops; every error is typed, and the process must still exit afterwards."""
    seen, exited = _race_in_child(str(tmp_path / "exit.db"), "t_exit", attempts=1, hard_exit=False)
    assert seen, "the race did not run"
    assert not seen["raw"], seen["raw"][:3]
    assert exited, "the process did not exit within 25 s of its last close() (hang at exit)"


def test_sync_reads_while_closing_on_every_engine(uri: str, collection_name: str) -> None:
    tally = _sync_read_race(uri, collection_name, rounds=2, closes=10)
    tally.check(min_spanned=2)


def _async_reads(
    store: AsyncMilvusStore, closer: Closer
) -> dict[str, Callable[[], Awaitable[tuple[bool, bool]]]]:
    probe = _vector(0)

    async def search() -> tuple[bool, bool]:
        hits, spanned = await closer.aspanned(lambda: store.search(probe, k=5))
        return len(hits) == 5 and hits[0].record.id == "r0", spanned

    async def count() -> tuple[bool, bool]:
        n, spanned = await closer.aspanned(store.count)
        return n == ROWS, spanned

    async def get() -> tuple[bool, bool]:
        got, spanned = await closer.aspanned(lambda: store.get(["r1", "r7", "r199"]))
        return [r.id for r in got] == ["r1", "r7", "r199"], spanned

    async def query() -> tuple[bool, bool]:
        got, spanned = await closer.aspanned(lambda: store.query(lt("n", 10)))
        return len(got) == 10, spanned

    return {"search": search, "count": count, "get": get, "query": query}


async def _async_read_round(
    calls: dict[str, Callable[[], Awaitable[tuple[bool, bool]]]],
    close: Callable[[], Awaitable[None]],
    closer: Closer,
    tally: Tally,
    closes: int,
) -> None:
    stop = asyncio.Event()

    async def loop(kind: str) -> None:
        while not stop.is_set():
            await tally.arecord(kind, calls[kind])
            await asyncio.sleep(0)

    tasks = [asyncio.ensure_future(loop(kind)) for kind in calls]
    try:
        for _ in range(closes):
            await asyncio.sleep(0.03)
            await close()
            closer.closes += 1
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), JOIN)


# DEFECT (fixed): async close() made other tasks' in-flight calls raise raw CancelledError
def test_async_reads_while_another_task_closes(tmp_path: Path) -> None:
    sync = _store(str(tmp_path / "areads.db"), "t_areads")
    sync.upsert(_records(ROWS), progress=False)
    tally = Tally()

    async def scenario() -> None:
        store = AsyncMilvusStore(sync)
        closer = Closer(lambda: None)
        try:
            for _ in range(3):
                await _async_read_round(_async_reads(store, closer), store.close, closer, tally, 10)
        finally:
            await store.close()

    try:
        asyncio.run(scenario())
    finally:
        sync.close()
    # Also refused: a call caught as the client closes failing with "'NoneType' object
    # has no attribute 'Query'" (seen before the fix in 3 of 4 runs).
    tally.check(min_spanned=3)


def _long_write_round(path: str, name: str, mode: str, total: int) -> None:
    store = _store(path, name, batch=50)
    if mode == "upsert":
        store.ensure_collection(DIM)
    outcome: dict[str, Any] = {}
    records = _records(total)

    def writer() -> None:
        try:
            outcome["ids"] = store.upsert(records, mode=mode, progress=False)
        except BaseException as exc:  # reported below
            outcome["error"] = exc

    threads = _start(writer)
    mid_write = 0
    while threads[0].is_alive() and mid_write < 50:
        time.sleep(0.01)
        store.close()
        mid_write += threads[0].is_alive()
    _join(threads)
    store.close()
    assert "error" not in outcome, repr(outcome.get("error"))
    assert outcome["ids"] == [r.id for r in records]
    assert mid_write >= 10, f"only {mid_write} closes landed during the write"
    fresh = _store(path, name)
    try:
        assert fresh.count() == total
        assert [r.id for r in fresh.get([r.id for r in records])] == [r.id for r in records]
        assert len(fresh.query(EVERY_ROW)) == total  # no duplicate rows
    finally:
        fresh.close()


@pytest.mark.parametrize("mode", ["auto", "upsert"])
def test_many_closes_during_one_long_write_lose_and_duplicate_nothing(
    tmp_path: Path, mode: str
) -> None:
    """Up to 50 closes while one big write runs ("auto" sends plain inserts into the
    collection the write creates); every id returned once, every row present once."""
    for round_ in range(2):
        _long_write_round(str(tmp_path / "write.db"), f"t_write{round_}", mode, 4000)


def test_closes_during_an_async_write_lose_and_duplicate_nothing_on_every_engine(
    uri: str, collection_name: str
) -> None:
    total = 1500

    async def scenario() -> tuple[list[str], int]:
        sync = _store(uri, collection_name, batch=50)
        store = AsyncMilvusStore(sync)
        try:
            await store.ensure_collection(DIM)
            write = asyncio.ensure_future(store.upsert(_records(total), progress=False))
            mid_write = 0
            while not write.done() and mid_write < 20:
                await asyncio.sleep(0.01)
                await store.close()
                mid_write += not write.done()
            ids = await asyncio.wait_for(write, JOIN)
        finally:
            await store.close()
            sync.close()
        return ids, mid_write

    ids, mid_write = asyncio.run(scenario())
    assert ids == [f"r{i}" for i in range(total)]
    assert mid_write >= 3, f"only {mid_write} closes landed during the write"
    fresh = _store(uri, collection_name)
    try:
        assert fresh.count() == total
        assert len(fresh.get(ids)) == total
    finally:
        fresh.close()


def test_deletes_in_flight_during_close_delete_exactly_what_was_asked(tmp_path: Path) -> None:
    """Deletes by ids and by filter while the store is closed again and again: a delete that
    answers deleted exactly its rows and counted them right; one that fails says so with
    a typed error (its rows may or may not be gone); no other row is ever deleted."""
    path = str(tmp_path / "deletes.db")
    total = 2000
    store = _store(path, "t_deletes", batch=500)
    store.upsert(_records(total), progress=False)
    closer = Closer(store.close)
    tally = Tally()
    deleted: set[int] = set()
    maybe: set[int] = set()
    asked = [list(range(c, c + 25)) for c in range(0, 1000, 25)]
    asked += [list(range(low, low + 50)) for low in range(1000, 1500, 50)]

    def delete(rows: list[int]) -> tuple[bool, bool]:
        maybe.update(rows)
        if rows[0] < 1000:
            n, spanned = closer.spanned(lambda: store.delete([f"r{i}" for i in rows]))
        else:
            where = and_(gte("n", rows[0]), lt("n", rows[-1] + 1))
            n, spanned = closer.spanned(lambda: store.delete(filter=where))
        deleted.update(rows)
        maybe.difference_update(rows)
        return n == len(rows), spanned

    def deleter() -> None:
        for rows in asked:
            tally.record("delete", lambda rows=rows: delete(rows))

    threads = _start(deleter)
    finished = -1
    while threads[0].is_alive():
        time.sleep(0.05)
        # At most one close per finished delete: a delete cut by a close retries after
        # its backoff and then runs uncut, however slow the machine (a close every 0.1 s
        # cut one delete's every try on a slow CI runner).
        if sum(tally.seen.values()) != finished:
            finished = sum(tally.seen.values())
            closer.close()
    _join(threads)
    store.close()
    tally.check(min_spanned=1)
    assert closer.closes >= 10, f"only {closer.closes} closes while deleting"
    assert len(deleted) >= 1000, f"most deletes failed: {dict(tally.seen)} {tally.typed[:3]}"
    fresh = _store(path, "t_deletes")
    try:
        left = {int(r.id[1:]) for r in fresh.query(EVERY_ROW)}
        assert fresh.count() == len(left)
    finally:
        fresh.close()
    assert not left & deleted, "a delete that answered left rows behind"
    kept = set(range(total)) - deleted - maybe
    assert kept <= left, f"rows no one asked to delete are gone: {sorted(kept - left)[:10]}"


def _shared_round(path: str, name: str) -> None:
    a = _store(path, name, batch=50)
    b = _store(path, name, batch=50)
    a.upsert(_records(100, prefix="a"), progress=False)
    tally = Tally()
    stop = threading.Event()
    written: list[str] = []

    def b_works() -> None:
        start = 0
        while not stop.is_set():
            batch = _records(50, prefix="b", start=start)
            start += 50

            def write(batch: list[Record] = batch) -> tuple[bool, bool]:
                ok = b.upsert(batch, progress=False) == [r.id for r in batch]
                written.extend(r.id for r in batch)
                return ok, False

            tally.record("b-upsert", write)
            tally.record("b-search", lambda: (len(b.search(_vector(0), k=3)) == 3, False))

    def a_closes() -> None:
        while not stop.is_set():
            tally.record("a-count", lambda: (a.count() >= 100, False))
            a.close()

    threads = _start(b_works, a_closes)
    # At least 0.6 s, and on a loaded machine until both sides did a few rounds.
    _wait_for(lambda: tally.seen["a-count:ok"] >= 3 and tally.seen["b-upsert:ok"] >= 2, 0.6)
    stop.set()
    _join(threads)
    tally.check(min_spanned=0)  # A's closes are its own: B must see only right answers
    assert not tally.typed, tally.typed[:3]
    assert tally.seen["a-count:ok"] >= 3 and tally.seen["b-upsert:ok"] >= 2, tally.seen
    assert b.count() == 100 + len(written)
    a.close()
    assert lite.lease_count(path) == 1  # B's
    b.close()
    assert lite.lease_count(path) == 0


def test_two_stores_on_one_lite_database_last_close_frees_it(tmp_path: Path) -> None:
    """A counts and closes again and again while B writes and searches on the same
    database; then both close: the server stops and another process opens the database."""
    path = str(tmp_path / "shared.db")
    for round_ in range(3):
        _shared_round(path, f"t_shared{round_}")
    done = _open_in_subprocess(path)
    assert done.returncode == 0, done.stderr[-800:]
    assert done.stdout.strip() == str([f"t_shared{i}" for i in range(3)])


def _fresh_round(path: str) -> int:
    store = _store(path, "t_fresh")
    outcome: dict[str, Any] = {}
    closed_at: list[float] = []
    barrier = threading.Barrier(2)
    records = _records(300)

    def writer() -> None:
        barrier.wait(JOIN)
        try:
            outcome["ids"] = store.upsert(records, progress=False)
        except BaseException as exc:  # reported below
            outcome["error"] = exc
        outcome["done"] = time.monotonic()

    def closer() -> None:
        barrier.wait(JOIN)
        for _ in range(8):
            store.close()
            closed_at.append(time.monotonic())
            time.sleep(0.004)

    _join(_start(writer, closer))
    store.close()
    assert "error" not in outcome, repr(outcome.get("error"))
    assert outcome["ids"] == [r.id for r in records]
    assert lite.lease_count(path) == 0
    fresh = _store(path, "t_fresh")
    try:
        assert fresh.count() == 300
    finally:
        fresh.close()
    return sum(t < outcome["done"] for t in closed_at)


def test_close_racing_the_first_use_of_a_fresh_database(tmp_path: Path) -> None:
    overlapping = sum(_fresh_round(str(tmp_path / f"fresh{i}.db")) for i in range(6))
    assert overlapping >= 6, "the closes never overlapped the first write"
    done = _open_in_subprocess(str(tmp_path / "fresh5.db"))
    assert done.returncode == 0, done.stderr[-800:]


def test_leaving_with_block_while_another_thread_writes(tmp_path: Path) -> None:
    path = str(tmp_path / "with.db")
    store = _store(path, "t_with", batch=25)
    store.ensure_collection(DIM)
    ids: list[str] = []
    outcome: dict[str, Any] = {}
    stop = threading.Event()

    def writer() -> None:
        start = 0
        try:
            while not stop.is_set() or start < 500:
                ids.extend(store.upsert(_records(25, start=start), progress=False))
                start += 25
        except BaseException as exc:  # reported below
            outcome["error"] = exc

    threads = _start(writer)
    exits = 0
    while threads[0].is_alive() and exits < 30:
        with store:
            assert store.count() >= 0
        exits += 1
        time.sleep(0.01)
    stop.set()
    _join(threads)
    store.close()
    assert "error" not in outcome, repr(outcome.get("error"))
    assert len(ids) == len(set(ids)) >= 500
    assert exits >= 10
    fresh = _store(path, "t_with")
    try:
        assert fresh.count() == len(ids)
    finally:
        fresh.close()


def test_write_into_a_collection_dropped_by_another_store_while_closing(tmp_path: Path) -> None:
    """B drops the collection while A writes batch after batch and is closed again and
    again: each batch lands or fails with CollectionNotFoundError; afterwards every
    batch that landed after the drop is there, none that landed before it."""
    path = str(tmp_path / "dropped.db")
    a = _store(path, "t_dropped", batch=50)
    b = _store(path, "t_dropped")
    a.ensure_collection(DIM)
    log: list[tuple[float, float, list[str] | BaseException]] = []
    stop = threading.Event()

    def writer() -> None:
        start = 0
        while not stop.is_set():
            batch = _records(50, start=start)
            start += 50
            began = time.monotonic()
            result: list[str] | BaseException
            try:
                result = a.upsert(batch, progress=False)
            except BaseException as exc:  # checked below
                result = exc
            log.append((began, time.monotonic(), result))

    threads = _start(writer)
    _wait_for(lambda: any(isinstance(r, list) for _, _, r in log), 0.2)  # a batch landed
    dropped_from = time.monotonic()
    b.drop()
    dropped_to = time.monotonic()
    for _ in range(15):
        time.sleep(0.02)
        a.close()
    # ... and one that began after the drop has ended.
    _wait_for(lambda: any(s > dropped_to and isinstance(r, list) for s, _, r in log), 0.0)
    stop.set()
    _join(threads)
    a.close()
    errors = [r for _, _, r in log if isinstance(r, BaseException)]
    # The batch that meets the drop: a CollectionNotFoundError, or a WriteError saying so.
    lost = (CollectionNotFoundError, WriteError)
    assert all(isinstance(e, lost) and "does not exist" in str(e) for e in errors), [
        (type(e).__mro__, str(e)) for e in errors
    ]
    after = {i for s, _, r in log if s > dropped_to and isinstance(r, list) for i in r}
    before = {i for _, e, r in log if e < dropped_from and isinstance(r, list) for i in r}
    assert after and before, "the drop did not fall between writes"
    present = {r.id for r in b.query(EVERY_ROW)}
    b.close()
    assert after <= present
    assert not before & present, "rows written before the drop came back"


def test_langchain_close_races_add_texts_and_search(tmp_path: Path) -> None:
    store = LangChainStore(
        DeterministicFakeEmbedding(size=DIM), uri=str(tmp_path / "lc.db"), collection_name="t_lc"
    )
    store.add_texts([f"seed {i}" for i in range(20)], ids=[f"s{i}" for i in range(20)])
    closer = Closer(store.close)
    tally = Tally()
    added: list[str] = []
    batches = iter(range(0, 10**6, 20))

    def add_texts() -> tuple[bool, bool]:
        first = next(batches)
        ids = [f"x{i}" for i in range(first, first + 20)]
        got, spanned = closer.spanned(lambda: store.add_texts(ids, ids=ids))
        added.extend(got)
        return got == ids, spanned

    def similarity_search() -> tuple[bool, bool]:
        docs, spanned = closer.spanned(lambda: store.similarity_search("seed 3", k=4))
        return len(docs) == 4, spanned

    try:
        for _ in range(2):
            calls = {"add_texts": add_texts, "similarity_search": similarity_search}
            _read_round(calls, closer, tally, 15)
        tally.check(min_spanned=3)
        assert len(added) == len(set(added))
        assert len(store.get_by_ids(added)) == len(added)
    finally:
        store.close()


# DEFECT (fixed): LangChain aclose() made another task's asimilarity_search raise CancelledError
def test_langchain_aclose_races_asimilarity_search(tmp_path: Path) -> None:
    store = LangChainStore(
        DeterministicFakeEmbedding(size=DIM), uri=str(tmp_path / "alc.db"), collection_name="t_alc"
    )
    store.add_texts([f"seed {i}" for i in range(20)], ids=[f"s{i}" for i in range(20)])
    tally = Tally()
    closer = Closer(lambda: None)

    async def asimilarity_search() -> tuple[bool, bool]:
        docs, spanned = await closer.aspanned(lambda: store.asimilarity_search("seed 3", k=4))
        return len(docs) == 4, spanned

    async def scenario() -> None:
        try:
            calls = {"asimilarity_search": asimilarity_search}
            for _ in range(3):
                await _async_read_round(calls, store.aclose, closer, tally, 8)
        finally:
            await store.aclose()

    try:
        asyncio.run(scenario())
    finally:
        store.close()
    tally.check()


def test_llama_index_close_races_add_and_query(tmp_path: Path) -> None:
    store = LlamaStore(uri=str(tmp_path / "li.db"), collection_name="t_li", dim=DIM)
    store.add([TextNode(text=f"seed {i}", id_=f"s{i}", embedding=_vector(i)) for i in range(20)])
    closer = Closer(store.close)
    tally = Tally()
    added: list[str] = []
    batches = iter(range(100, 10**6, 20))
    q = VectorStoreQuery(query_embedding=_vector(3), similarity_top_k=4)

    def add() -> tuple[bool, bool]:
        first = next(batches)
        nodes = [
            TextNode(text=f"t{i}", id_=f"x{i}", embedding=_vector(i))
            for i in range(first, first + 20)
        ]
        got, spanned = closer.spanned(lambda: store.add(nodes))
        added.extend(got)
        return got == [node.id_ for node in nodes], spanned

    def query() -> tuple[bool, bool]:
        result, spanned = closer.spanned(lambda: store.query(q))
        return len(result.ids or []) == 4, spanned

    try:
        for _ in range(2):
            _read_round({"add": add, "query": query}, closer, tally, 15)
        tally.check(min_spanned=3)
        assert len(added) == len(set(added))
        got = store.get_nodes(node_ids=added)
        assert sorted(n.node_id for n in got) == sorted(added)
    finally:
        store.close()
