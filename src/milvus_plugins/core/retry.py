"""Retries with exponential backoff, for transient faults only.

A call is retried when its translated error is a :class:`MilvusOperationError` with
``retriable=True`` (unavailable, deadline exceeded, rate limited, connection reset:
classified on gRPC status and Milvus error codes, see :mod:`.errors`). Input errors,
schema errors and everything else are raised at once. Connecting is never retried by
the stores: connecting already waits up to the timeout.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from milvus_plugins.core.error_translation import translate
from milvus_plugins.core.errors import (
    ConfigError,
    MilvusOperationError,
    MilvusPluginsError,
)

__all__ = ["RetryPolicy", "acall_with_retry", "call_with_retry"]

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How often and how long to retry a transient failure.

    Attributes:
        attempts: total tries, including the first (1 disables retries).
        initial_backoff: seconds before the first retry.
        max_backoff: cap on one wait.
        multiplier: growth of the wait per retry.
        jitter: random fraction added to each wait (spreads concurrent retries).
        on_retry: called as ``on_retry(retry_number, error)`` before each retry (1-based),
            e.g. to log or count retries; its exceptions propagate.
    """

    attempts: int = 4
    initial_backoff: float = 0.5
    max_backoff: float = 8.0
    multiplier: float = 2.0
    jitter: float = 0.1
    on_retry: Callable[[int, MilvusPluginsError], object] | None = field(
        default=None, compare=False
    )

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ConfigError(f"attempts={self.attempts} must be at least 1.")
        if self.initial_backoff < 0 or self.max_backoff < 0 or self.multiplier < 1:
            raise ConfigError("backoffs must be >= 0 and multiplier >= 1.")

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1-based)."""
        base = min(self.max_backoff, self.initial_backoff * self.multiplier ** (retry - 1))
        return base * (1.0 + random.uniform(0.0, self.jitter))


def _retriable(error: MilvusPluginsError) -> bool:
    return isinstance(error, MilvusOperationError) and error.retriable


Translator = Callable[[BaseException], MilvusPluginsError]


def _failed(
    exc: Exception, attempt: int, policy: RetryPolicy, translator: Translator
) -> MilvusPluginsError | None:
    """The error to raise now, or ``None`` to retry (after telling ``on_retry``)."""
    error = translator(exc)
    if attempt == policy.attempts or not _retriable(error):
        return error
    if policy.on_retry is not None:
        policy.on_retry(attempt, error)
    return None


def call_with_retry(
    fn: Callable[[], T], policy: RetryPolicy, translator: Translator = translate
) -> T:
    """Run ``fn``, retrying transient failures; raise the translated error otherwise.

    Args:
        fn: the call.
        policy: how often and how long to retry.
        translator: turns an exception into the package's error (a store passes one
            that knows its connection's secrets and its collection).
    """
    for attempt in range(1, policy.attempts + 1):
        try:
            return fn()
        except Exception as exc:
            error = _failed(exc, attempt, policy, translator)
            if error is exc:
                raise
            if error is not None:
                raise error from exc
            time.sleep(policy.delay(attempt))
    raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover


async def acall_with_retry(
    fn: Callable[[], Awaitable[T]], policy: RetryPolicy, translator: Translator = translate
) -> T:
    """Async twin of :func:`call_with_retry`."""
    for attempt in range(1, policy.attempts + 1):
        try:
            return await fn()
        except Exception as exc:
            error = _failed(exc, attempt, policy, translator)
            if error is exc:
                raise
            if error is not None:
                raise error from exc
            await asyncio.sleep(policy.delay(attempt))
    raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover
