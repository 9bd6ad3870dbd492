"""The exception tree of milvus-plugins and the one place pymilvus errors are translated.

::

    MilvusPluginsError
     ├─ ConfigError (also ValueError)         bad arguments, raised before any I/O
     ├─ InvalidInputError (also ValueError)   a bad record or query, raised before writing
     ├─ FilterError (also ValueError)         a filter that cannot be compiled
     ├─ SchemaMismatchError                   existing collection != spec; says the fix
     ├─ CollectionNotFoundError
     ├─ UnsupportedByServerError              names the feature and the minimum version
     ├─ WriteError                            a batch write failed part-way: lists ids
     └─ MilvusOperationError                  wraps pymilvus; .code, .retriable
         ├─ MilvusConnectionError             server unreachable / timed out
         └─ AuthenticationError               wrong or missing token
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import NoReturn

__all__ = [
    "AuthenticationError",
    "CollectionNotFoundError",
    "ConfigError",
    "FilterError",
    "InvalidInputError",
    "MilvusConnectionError",
    "MilvusOperationError",
    "MilvusPluginsError",
    "SchemaMismatchError",
    "UnsupportedByServerError",
    "WriteError",
    "redact",
    "translate_errors",
]


class MilvusPluginsError(Exception):
    """Base class of every error raised by milvus-plugins."""


class ConfigError(MilvusPluginsError, ValueError):
    """An argument or configuration value is invalid; raised before any I/O."""


class InvalidInputError(MilvusPluginsError, ValueError):
    """A record, vector or query is invalid; raised before anything is written."""


class FilterError(MilvusPluginsError, ValueError):
    """A filter cannot be compiled into a Milvus expression with the same meaning."""


class SchemaMismatchError(MilvusPluginsError):
    """An existing collection does not match the requested spec."""


class CollectionNotFoundError(MilvusPluginsError):
    """The named collection does not exist."""


class UnsupportedByServerError(MilvusPluginsError):
    """The connected Milvus lacks a feature.

    Attributes:
        feature: what was asked for.
        minimum_version: the first Milvus version that has it.
        server_version: the version of the connected server.
    """

    def __init__(
        self, feature: str, minimum_version: str, server_version: str, *, needs: str | None = None
    ) -> None:
        self.feature = feature
        self.minimum_version = minimum_version
        self.server_version = server_version
        needed = needs or f"Milvus >= {minimum_version} or Milvus Lite"
        super().__init__(
            f"{feature} is not supported by this Milvus ({server_version}); it needs {needed}."
        )


class WriteError(MilvusPluginsError):
    """A batched write failed part-way. Nothing is lost silently.

    Attributes:
        written_ids: ids acknowledged by Milvus before the failure.
        failed_ids: ids that were not (or not certainly) written; re-run the same
            upsert to complete the ingest.
    """

    def __init__(
        self, message: str, *, written_ids: Sequence[str], failed_ids: Sequence[str]
    ) -> None:
        self.written_ids = list(written_ids)
        self.failed_ids = list(failed_ids)
        super().__init__(
            f"{message} ({len(self.written_ids)} rows written, {len(self.failed_ids)} not "
            "written; re-running the same upsert completes the ingest without duplicates)"
        )


class MilvusOperationError(MilvusPluginsError):
    """A Milvus call failed.

    Attributes:
        code: the Milvus or gRPC error code, when known.
        retriable: whether retrying the same call may succeed (unavailable, timeout,
            rate limit).
    """

    def __init__(self, message: str, *, code: int | None = None, retriable: bool = False) -> None:
        self.code = code
        self.retriable = retriable
        super().__init__(message)


class MilvusConnectionError(MilvusOperationError):
    """Milvus could not be reached within the timeout."""


class AuthenticationError(MilvusOperationError):
    """Milvus rejected the credentials (the token itself is never shown)."""


_TRANSIENT_MARKERS = (
    "unavailable",
    "deadline exceeded",
    "deadline_exceeded",
    "timed out",
    "timeout",
    "rate limit",
    "ratelimit",
    "connection refused",
    "connection reset",
    "failed to connect",
    "socket closed",
    "broken pipe",
    "too many requests",
    "server is not ready",
    "not ready",
    "fail connecting",
    "goaway",
    "stream removed",
)
_AUTH_MARKERS = (
    "unauthenticated",
    "auth check failure",
    "authentication",
    "incorrect password",
    "username or password",
    "permission denied",
)
# Milvus status codes: 8 rate limited, 51 forced deny / disk quota, 2 unexpected (often
# transient server state), 1100/1101 ... vary across versions, so messages are checked too.
_RETRIABLE_CODES = {8, 9, 53}

_SECRET_PATTERNS: list[re.Pattern[str]] = []


def register_secret(secret: str) -> None:
    """Remember ``secret`` so :func:`redact` removes it from every error message."""
    if secret and len(secret) >= 3:
        pattern = re.compile(re.escape(secret))
        if pattern not in _SECRET_PATTERNS:
            _SECRET_PATTERNS.append(pattern)
        # A "user:password" token also appears split in some messages.
        if ":" in secret:
            for part in secret.split(":", 1)[1:]:
                if len(part) >= 3:
                    _SECRET_PATTERNS.append(re.compile(re.escape(part)))


def redact(text: str) -> str:
    """Return ``text`` with every registered secret replaced by ``***``."""
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub("***", text)
    return text


def _causes(exc: BaseException, limit: int = 16) -> Iterator[BaseException]:
    """Yield the exceptions ``exc`` was raised from (cause, else context), cycle-safe."""
    seen = {id(exc)}
    link: BaseException | None = exc
    for _ in range(limit):
        assert link is not None  # the loop returns as soon as a link is missing
        if link.__cause__ is not None:
            link = link.__cause__
        else:
            link = None if link.__suppress_context__ else link.__context__
        if link is None or id(link) in seen:
            return
        seen.add(id(link))
        yield link


def _grpc_status_name(exc: BaseException) -> str | None:
    code = getattr(exc, "code", None)
    if not callable(code):  # pymilvus' MilvusException has an int ``code``; gRPC a method
        return None
    try:
        return getattr(code(), "name", None)
    except Exception:  # an unrelated ``code()`` with arguments or side effects
        return None


def _rejected_credentials(exc: BaseException) -> str | None:
    """The server's words when a wrapped gRPC error says the credentials were rejected.

    pymilvus reports a rejected token while connecting as "Fail connecting to server ...
    or server unavailable" and keeps the gRPC ``UNAUTHENTICATED`` error only as the
    cause; an unreachable server has ``UNAVAILABLE`` there instead, so only the explicit
    status (or its message) counts.
    """
    for link in _causes(exc):
        text = str(getattr(link, "message", "") or link)
        details = getattr(link, "details", None)
        if callable(details):
            with suppress(Exception):
                text = str(details() or text)
        lowered = text.lower()
        if _grpc_status_name(link) == "UNAUTHENTICATED" or (
            "unauthenticated" in lowered or "auth check failure" in lowered
        ):
            return redact(text.strip())
    return None


def _classify(exc: BaseException) -> MilvusOperationError:
    message = redact(str(getattr(exc, "message", "") or exc))
    code_attr = getattr(exc, "code", None)
    code = code_attr if isinstance(code_attr, int) else None
    lowered = f"{type(exc).__name__} {message}".lower()
    if any(marker in lowered for marker in _AUTH_MARKERS):
        return AuthenticationError(
            f"Milvus rejected the credentials: check the token ({message})", code=code
        )
    rejected = _rejected_credentials(exc)
    if rejected is not None:
        return AuthenticationError(
            f"Milvus rejected the credentials: check the token ({rejected})", code=code
        )
    transient = code in _RETRIABLE_CODES or any(m in lowered for m in _TRANSIENT_MARKERS)
    if transient and ("connect" in lowered or "unavailable" in lowered):
        return MilvusConnectionError(f"Milvus is unreachable: {message}", code=code, retriable=True)
    return MilvusOperationError(f"Milvus call failed: {message}", code=code, retriable=transient)


def translate(exc: BaseException) -> MilvusPluginsError:
    """Return the milvus-plugins error for a pymilvus/gRPC exception."""
    if isinstance(exc, MilvusPluginsError):
        return exc
    message = str(getattr(exc, "message", "") or exc).lower()
    if "collection not found" in message or "can't find collection" in message:
        return CollectionNotFoundError(redact(str(exc)))
    return _classify(exc)


def raise_translated(exc: BaseException) -> NoReturn:
    """Raise the translated form of ``exc`` with ``exc`` kept as ``__cause__``."""
    raise translate(exc) from exc


@contextmanager
def translate_errors() -> Iterator[None]:
    """Translate any pymilvus or gRPC exception raised inside the block."""
    try:
        yield
    except MilvusPluginsError:
        raise
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except Exception as exc:
        raise_translated(exc)
