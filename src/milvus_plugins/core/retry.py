"""Retries with exponential backoff, for transient faults only.

A call is retried when its translated error is a :class:`MilvusOperationError` with
``retriable=True`` (unavailable, deadline exceeded, rate limited, connection reset:
classified on gRPC status and Milvus error codes, see :mod:`.errors`). Input errors,
schema errors and everything else are raised at once. Connecting is never retried by
the stores: connecting already waits up to the timeout.
"""

from __future__ import annotations

import asyncio
import math
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
    shown,
)

__all__ = [
    "GOAWAY_CONNECT_PAUSE",
    "GOAWAY_CONNECT_TRIES",
    "MAX_BACKOFF",
    "RetryPolicy",
    "acall_with_retry",
    "call_with_retry",
]

T = TypeVar("T")


MAX_BACKOFF = 86_400.0
"""The longest single wait a :class:`RetryPolicy` accepts, in seconds (a day)."""

GOAWAY_CONNECT_TRIES = 3
"""Tries of a connect the server refused with a GOAWAY (see
:func:`~milvus_plugins.core.error_translation.refused_by_goaway`). A connect is otherwise
never retried: it already waits up to the timeout for a server that is down."""

GOAWAY_CONNECT_PAUSE = 0.5
"""Seconds before a connect refused with a GOAWAY is made again (times the try's number)."""


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How often and how long to retry a transient failure.

    Every field is checked at construction (:class:`ConfigError` naming it), so a bad
    value never surfaces in the middle of a call, when a transient fault is retried.

    Attributes:
        attempts: total tries, including the first (1 disables retries); an int >= 1.
        initial_backoff: seconds before the first retry; finite, >= 0.
        max_backoff: cap on one wait; finite, in [0, 86400] (a day).
        multiplier: growth of the wait per retry; finite, >= 1.
        jitter: random fraction of the wait added to it (spreads concurrent retries);
            in [0, 1]. A wait is thus at most ``2 * max_backoff``.
        on_retry: called as ``on_retry(retry_number, error)`` before each retry (1-based),
            e.g. to log or count retries; its exceptions propagate. A callable or
            ``None``.
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
        if isinstance(self.attempts, bool) or not isinstance(self.attempts, int):
            raise ConfigError(
                f"attempts={shown(self.attempts)} must be an int >= 1 (total tries; 1 disables "
                "retries)."
            )
        if self.attempts < 1:
            raise ConfigError(
                f"attempts={self.attempts} must be at least 1 (total tries; 1 disables retries)."
            )
        _check_seconds("initial_backoff", self.initial_backoff, None)
        _check_seconds("max_backoff", self.max_backoff, MAX_BACKOFF)
        multiplier = _number("multiplier", self.multiplier, "a finite number >= 1, e.g. 2")
        if not multiplier >= 1:
            raise ConfigError(
                f"multiplier={shown(self.multiplier)} must be a finite number >= 1, e.g. 2 "
                "(the growth of the wait per retry)."
            )
        jitter = _number("jitter", self.jitter, "a fraction in [0, 1], e.g. 0.1")
        if not 0 <= jitter <= 1:
            raise ConfigError(
                f"jitter={shown(self.jitter)} must be a fraction in [0, 1], e.g. 0.1 (the random "
                "part added to each wait)."
            )
        if self.on_retry is not None and not callable(self.on_retry):
            raise ConfigError(
                f"on_retry={shown(self.on_retry)} must be a callable "
                "on_retry(retry_number, error), or None."
            )

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1-based).

        At most ``max_backoff * (1 + jitter)``; grown step by step and capped, so a
        large multiplier or retry number never overflows.
        """
        base = float(self.initial_backoff)
        for _ in range(max(0, retry - 1)):
            if base >= self.max_backoff:
                break
            base *= self.multiplier  # finite * finite: at worst inf, capped below
        base = min(float(self.max_backoff), base)
        return base * (1.0 + random.uniform(0.0, self.jitter))


def _number(name: str, value: object, rule: str) -> float:
    """``value`` as a finite float, or a :class:`ConfigError` naming ``name`` and ``rule``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name}={shown(value)} must be {rule} ({type(value).__name__} given).")
    try:
        number = float(value)
    except OverflowError:  # an int beyond any float
        number = math.inf
    if not math.isfinite(number):
        raise ConfigError(f"{name}={shown(value)} must be {rule}, not NaN or infinite.")
    return number


def _check_seconds(name: str, value: object, most: float | None) -> None:
    rule = "a finite number of seconds >= 0" + (f", at most {most:,.0f}" if most else "")
    seconds = _number(name, value, rule)
    if seconds < 0 or (most is not None and seconds > most):
        raise ConfigError(f"{name}={shown(value)} must be {rule}.")


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
