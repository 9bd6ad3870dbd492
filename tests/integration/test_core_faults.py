"""Fault injection on a real Milvus Lite client: retries, partial writes, and resumed ingests.

A fault is injected by wrapping one method of the store's real ``MilvusClient``: the
wrapper raises a genuine ``pymilvus.MilvusException`` on chosen calls and forwards every
other call to Milvus Lite, so what is written is what Milvus really holds.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
from pymilvus.exceptions import MilvusException

from milvus_plugins.core import (
    AuthenticationError,
    CollectionNotFoundError,
    CollectionSpec,
    ConnectionConfig,
    MilvusConnectionError,
    MilvusOperationError,
    MilvusStore,
    Record,
    RetryPolicy,
    WriteError,
    WriteOptions,
    eq,
)
from milvus_plugins.core.errors import translate

DIM = 4
N = 45
BATCH = 10
FAST_RETRY = RetryPolicy(attempts=3, initial_backoff=0.01, max_backoff=0.02)


def unavailable() -> Exception:
    error: Exception = MilvusException(
        code=2, message="service unavailable: querynode is restarting"
    )
    return error


def rate_limited() -> Exception:
    error: Exception = MilvusException(
        code=8, message="request is rejected by grpc RateLimiter middleware"
    )
    return error


def bad_input() -> Exception:
    error: Exception = MilvusException(
        code=1100, message="invalid parameter: the length of field text"
    )
    return error


def corpus(n: int = N) -> list[Record]:
    rng = random.Random(n)
    return [
        Record(id=f"doc-{i:03d}", text=f"text {i}", vector=[rng.random() for _ in range(DIM)])
        for i in range(n)
    ]


class FaultyMethod:
    """Replace ``store.client.<method>`` by a wrapper that fails chosen calls.

    ``fail(call_number, batch_number)`` decides per call; batches are numbered by the
    distinct first id they carry, so retries of one batch share its number.
    """

    def __init__(
        self,
        store: MilvusStore,
        method: str,
        fail: Callable[[int, int], Exception | None],
    ) -> None:
        self.real: Callable[..., Any] = getattr(store.client, method)
        self.calls = 0
        self.batches: list[str] = []
        self.calls_per_batch: dict[int, int] = {}
        self._fail = fail
        self._store = store
        self._method = method
        setattr(store.client, method, self)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        batch = 0
        if len(args) > 1 and isinstance(args[1], list) and args[1]:
            first = args[1][0]["id"]
            if first not in self.batches:
                self.batches.append(first)
            batch = self.batches.index(first) + 1
            self.calls_per_batch[batch] = self.calls_per_batch.get(batch, 0) + 1
        error = self._fail(self.calls, batch)
        if error is not None:
            raise error
        return self.real(*args, **kwargs)

    def restore(self) -> None:
        setattr(self._store.client, self._method, self.real)


def open_store(uri: str, **kwargs: Any) -> MilvusStore:
    store = MilvusStore(
        CollectionSpec(name="faults", dim=DIM),
        connection=ConnectionConfig(uri=uri),
        write=WriteOptions(batch_rows=BATCH),
        retry=FAST_RETRY,
        **kwargs,
    )
    store.ensure_collection()
    return store


@pytest.mark.parametrize("fault", [unavailable, rate_limited], ids=["unavailable", "rate-limit"])
def test_ingest_interrupted_by_a_transient_fault_resumes_to_exactly_n_rows(
    lite_uri: str, fault: Callable[[], Exception]
) -> None:
    store = open_store(lite_uri)
    records = corpus()
    all_ids = [r.id for r in records]
    upsert = FaultyMethod(store, "upsert", lambda _call, batch: fault() if batch == 3 else None)

    with pytest.raises(WriteError) as info:
        store.upsert(records)

    error = info.value
    assert upsert.calls_per_batch == {1: 1, 2: 1, 3: FAST_RETRY.attempts}  # batch 4 never sent
    assert error.written_ids == all_ids[: 2 * BATCH]
    assert error.failed_ids == all_ids[2 * BATCH :]
    assert error.written_ids + error.failed_ids == all_ids
    assert not set(error.written_ids) & set(error.failed_ids)
    assert isinstance(error.__cause__, MilvusOperationError) and error.__cause__.retriable
    assert "20 rows written, 25 not written" in str(error)
    in_milvus = [r.id for r in store.query()]
    assert sorted(in_milvus) == error.written_ids
    assert store.get(error.failed_ids) == []

    upsert.restore()
    assert store.upsert(records) == all_ids
    assert store.count() == N
    stored = [r.id for r in store.query()]
    assert sorted(stored) == all_ids  # each id exactly once
    store.close()


def test_a_fault_that_happens_once_is_retried_transparently(lite_uri: str) -> None:
    store = open_store(lite_uri)
    failed: list[int] = []

    def once(_call: int, batch: int) -> Exception | None:
        if batch == 2 and not failed:
            failed.append(batch)
            return unavailable()
        return None

    upsert = FaultyMethod(store, "upsert", once)
    ids = store.upsert(corpus())
    assert ids == [r.id for r in corpus()]
    assert upsert.calls_per_batch == {1: 1, 2: 2, 3: 1, 4: 1, 5: 1}
    assert store.count() == N
    store.close()


def test_a_non_transient_error_is_not_retried(lite_uri: str) -> None:
    store = open_store(lite_uri)
    upsert = FaultyMethod(store, "upsert", lambda _call, batch: bad_input() if batch == 1 else None)
    with pytest.raises(WriteError) as info:
        store.upsert(corpus())
    assert upsert.calls == 1
    cause = info.value.__cause__
    assert isinstance(cause, MilvusOperationError)
    assert not cause.retriable
    assert cause.code == 1100
    assert info.value.written_ids == []
    assert len(info.value.failed_ids) == N
    assert store.count() == 0
    store.close()


def test_reads_retry_transient_faults_and_not_others(lite_uri: str) -> None:
    store = open_store(lite_uri)
    store.upsert(corpus())

    flaky = FaultyMethod(store, "query", lambda call, _batch: unavailable() if call == 1 else None)
    assert store.count() == N
    assert flaky.calls == 2
    flaky.restore()

    down = FaultyMethod(store, "search", lambda _call, _batch: unavailable())
    with pytest.raises(MilvusConnectionError) as info:
        store.search([0.5] * DIM, k=3)
    assert down.calls == FAST_RETRY.attempts
    assert info.value.retriable
    assert isinstance(info.value.__cause__, MilvusException)
    down.restore()

    rejected = FaultyMethod(store, "query", lambda _call, _batch: bad_input())
    with pytest.raises(MilvusOperationError) as bad:
        store.query(eq("x", 1))
    assert rejected.calls == 1
    assert not bad.value.retriable
    rejected.restore()
    store.close()


def test_retry_disabled_with_one_attempt(lite_uri: str) -> None:
    store = open_store(lite_uri)
    store.retry = RetryPolicy(attempts=1)
    upsert = FaultyMethod(store, "upsert", lambda _call, _batch: unavailable())
    with pytest.raises(WriteError):
        store.upsert(corpus(5))
    assert upsert.calls == 1
    store.close()


def test_real_lite_errors_are_translated_and_not_retried(lite_uri: str) -> None:
    store = open_store(lite_uri)
    store.upsert(corpus(3))
    calls = FaultyMethod(store, "query", lambda _call, _batch: None)
    with pytest.raises(MilvusOperationError) as info:
        store.count('metadata["x"] <<< 3')  # a raw expression Milvus Lite cannot parse
    assert not info.value.retriable
    assert calls.calls == 1
    store.close()


# -- classification of errors ------------------------------------------------------------

CLASSIFIED: list[tuple[BaseException, type[Exception], bool]] = [
    (unavailable(), MilvusConnectionError, True),
    (rate_limited(), MilvusOperationError, True),
    (MilvusException(code=1, message="Deadline Exceeded"), MilvusOperationError, True),
    (MilvusException(code=1, message="connection reset by peer"), MilvusConnectionError, True),
    (
        MilvusException(code=4, message="too many concurrent requests, queue is full"),
        MilvusOperationError,
        True,
    ),
    (bad_input(), MilvusOperationError, False),
    (MilvusException(code=1, message="field vector: dim mismatch"), MilvusOperationError, False),
    (MilvusException(code=1800, message="auth check failure"), AuthenticationError, False),
    (MilvusException(code=100, message="collection not found[x]"), CollectionNotFoundError, False),
    (ValueError("something else"), MilvusOperationError, False),
    (TimeoutError("timed out"), MilvusOperationError, True),
]


@pytest.mark.parametrize(
    ("raw", "kind", "retriable"), CLASSIFIED, ids=[str(r)[:40] for r, _, _ in CLASSIFIED]
)
def test_errors_are_classified_as_transient_only_when_a_retry_can_help(
    raw: BaseException, kind: type[Exception], retriable: bool
) -> None:
    error = translate(raw)
    assert type(error) is kind
    assert getattr(error, "retriable", False) is retriable
