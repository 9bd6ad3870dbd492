"""Two gaps of the async store a differential (sync against async) review found,
2026-12-07; both failed before their fix (Python 3.11).

* A cancellation that reached a quick client call as it finished was lost inside
  pymilvus (its retries run calls through ``asyncio.wait_for``, which on Python <= 3.11
  drops such a cancel): a cancelled delete ran to the end and returned its count, and
  ``asyncio.wait_for`` around it returned the result after its deadline.
* A sync embedding function given to ``AsyncMilvusStore.upsert`` ran its first batch on
  the event loop's thread (the docstring says a thread): it stalled the loop, and a
  sync model that drives asyncio itself (``asyncio.run``) failed there.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
import threading
from pathlib import Path

import pytest

from milvus_plugins.core import (
    AsyncMilvusStore,
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    MilvusStore,
    Record,
    gt,
)

DIM = 6


def _vector(text: object) -> list[float]:
    digest = hashlib.sha256(str(text).encode()).digest()
    return [(digest[i] + 1) / 256.0 for i in range(DIM)]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="Task.cancelling() is Python 3.11+")
def test_a_cancelled_call_ends_cancelled_whenever_the_cancel_lands(tmp_path: Path) -> None:
    store = MilvusStore(
        CollectionSpec(name="c", dim=DIM), connection=ConnectionConfig(uri=str(tmp_path / "m.db"))
    )
    astore = AsyncMilvusStore(store)

    async def attempts() -> list[tuple[int, object]]:
        lost = []
        for attempt in range(60):
            await astore.upsert(
                [
                    Record(id=f"r{i}", text="t", vector=_vector(i), metadata={"n": i})
                    for i in range(8)
                ]
            )
            task = asyncio.ensure_future(astore.delete(filter=gt("n", 3)))
            for _ in range(attempt % 12):  # the cancel lands at another step each time
                await asyncio.sleep(0)
            if attempt % 5 == 4:
                await asyncio.sleep(0.0005 * (attempt % 7))
            requested = task.cancel()
            try:
                result = await task
            except asyncio.CancelledError:
                continue
            if requested:  # told it was cancelled, and yet it answered
                lost.append((attempt, result))
        await astore.close()
        return lost

    try:
        assert asyncio.run(attempts()) == []
    finally:
        store.close()


def test_a_sync_model_runs_off_the_event_loop(tmp_path: Path) -> None:
    store = MilvusStore(
        CollectionSpec(name="c", dim=DIM), connection=ConnectionConfig(uri=str(tmp_path / "m.db"))
    )
    astore = AsyncMilvusStore(store)
    threads: list[bool] = []

    async def remote(texts: list[str]) -> list[list[float]]:
        return [_vector(t) for t in texts]

    def model(texts: list[str]) -> list[list[float]]:
        threads.append(threading.current_thread() is threading.main_thread())
        return asyncio.run(remote(texts))  # a sync client wrapping an async one

    async def write() -> list[str]:
        try:
            return await astore.upsert([Record(id="a", text="t")], embed=model)
        finally:
            await astore.close()

    try:
        assert store.upsert([Record(id="s", text="t")], embed=model) == ["s"]
        assert asyncio.run(write()) == ["a"]
        assert threads == [True, False]  # the sync store's call, then a worker thread
        assert store.count() == 2
    finally:
        store.close()


def test_a_plain_function_that_needs_the_loop_is_a_typed_error(tmp_path: Path) -> None:
    """A review of the fix above: a plain function that schedules its work on the running
    loop (`loop.run_in_executor`, `ensure_future`) failed in the worker thread with
    asyncio's untyped "no running event loop" (before the fix: on later batches only).
    It is not run a second time on the loop (it may have done its work: a second review
    saw a model that called asyncio after 0.3 s of work run twice): a ConfigError says
    what to pass, with nothing of that batch written. A plain function returning a
    coroutine, and an async one, work."""
    store = MilvusStore(
        CollectionSpec(name="c", dim=DIM), connection=ConnectionConfig(uri=str(tmp_path / "m.db"))
    )
    astore = AsyncMilvusStore(store)
    calls: list[str] = []

    def encode(texts: list[str]) -> list[list[float]]:
        calls.append(threading.current_thread().name)
        return [_vector(t) for t in texts]

    async def aencode(texts: list[str]) -> list[list[float]]:
        return encode(texts)

    def needs_loop(texts: list[str]) -> object:
        calls.append("needs_loop")
        return asyncio.get_running_loop().run_in_executor(None, encode, texts)

    async def write() -> None:
        try:
            with pytest.raises(ConfigError, match="needs the running event loop"):
                await astore.upsert([Record(id="x", text="x")], embed=needs_loop)
            assert calls == ["needs_loop"]  # called once, not again on the loop
            for name, model in {
                "coroutine": lambda texts: aencode(texts),
                "async": aencode,
            }.items():
                records = [Record(id=f"{name}{i}", text=f"{name} {i}") for i in range(5)]
                assert await astore.upsert(records, embed=model, batch_rows=2) == [
                    r.id for r in records
                ]
        finally:
            await astore.close()

    try:
        asyncio.run(write())
        assert store.count() == 10
    finally:
        store.close()
