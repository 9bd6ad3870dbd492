"""The exception tree of milvus-plugins and the one place pymilvus errors are translated.

::

    MilvusPluginsError
     ├─ ConfigError (also ValueError)         bad arguments, raised before any I/O
     ├─ InvalidInputError (also ValueError)   a bad record or query, raised before writing
     │   ├─ UnexpectedArgumentError (also TypeError)  a keyword argument no method takes
     │   ├─ TenantRequiredError                a call without a tenant (strict tenant mode)
     │   └─ TenantMismatchError                a record whose partition key names another tenant
     ├─ FilterError (also ValueError)         a filter that cannot be compiled
     │   └─ RawFilterRefusedError              a raw expression where tenancy forbids one
     ├─ SchemaMismatchError                   existing collection != spec; says the fix
     │   ├─ ForeignLayoutError                adding rows to another tool's collection
     │   └─ EmbeddingMismatchError            opened with another embedding model
     ├─ CollectionNotFoundError
     ├─ UnsupportedByServerError              names the feature and the minimum version
     ├─ WriteError                            a batch write failed part-way: lists ids
     ├─ ExportFileError (also ValueError)     a malformed/partial export file: names the line
     ├─ ImportFailedError                     an import stopped part-way: rows written
     ├─ ReindexRefusedError                   reindex did not switch the alias
     │   └─ RecallTooLowError                 ... because the new index's recall is low
     └─ MilvusOperationError                  wraps pymilvus; .code, .retriable
         ├─ MilvusConnectionError             server unreachable / timed out
         └─ AuthenticationError               wrong or missing token
"""

from __future__ import annotations

import re
import reprlib
import socket
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import NoReturn

__all__ = [
    "AuthenticationError",
    "CollectionNotFoundError",
    "ConfigError",
    "EmbeddingMismatchError",
    "ExportFileError",
    "FilterError",
    "ForeignLayoutError",
    "ImportFailedError",
    "InvalidInputError",
    "MilvusConnectionError",
    "MilvusOperationError",
    "MilvusPluginsError",
    "RawFilterRefusedError",
    "RecallTooLowError",
    "ReindexRefusedError",
    "SchemaMismatchError",
    "TenantMismatchError",
    "TenantRequiredError",
    "UnexpectedArgumentError",
    "UnsupportedByServerError",
    "WriteError",
    "redact",
    "shown",
    "translate_errors",
]


class MilvusPluginsError(Exception):
    """Base class of every error raised by milvus-plugins."""


class ConfigError(MilvusPluginsError, ValueError):
    """An argument or configuration value is invalid; raised before any I/O."""


class InvalidInputError(MilvusPluginsError, ValueError):
    """A record, vector or query is invalid; raised before anything is written."""


class UnexpectedArgumentError(InvalidInputError, TypeError):
    """A keyword argument the method does not take (a ``TypeError`` too, as Python's own)."""


class TenantRequiredError(InvalidInputError):
    """A call without a tenant on a store in strict tenant mode (raised before any I/O)."""


class TenantMismatchError(InvalidInputError):
    """A record's partition-key value names another tenant than the call's (nothing written)."""


class FilterError(MilvusPluginsError, ValueError):
    """A filter cannot be compiled into a Milvus expression with the same meaning."""


class RawFilterRefusedError(FilterError):
    """A raw expression string where tenancy forbids one (strict mode, or one that could
    escape its parentheses and widen a tenant-scoped call)."""


class SchemaMismatchError(MilvusPluginsError):
    """An existing collection does not match the requested spec."""


class ForeignLayoutError(SchemaMismatchError):
    """Rows cannot be added to a collection read through another tool's layout.

    The message names ``migrate``, which copies the collection into this package's
    layout (ids, vectors and metadata kept), where every operation works.
    """


class EmbeddingMismatchError(SchemaMismatchError):
    """The collection was filled by another embedding model than the one given.

    Attributes:
        stored: the fingerprint recorded in the collection (a dict).
        given: the fingerprint of the embedding given (a dict).
    """

    def __init__(self, message: str, *, stored: object, given: object) -> None:
        self.stored = stored
        self.given = given
        super().__init__(message)


class ExportFileError(MilvusPluginsError, ValueError):
    """An export file is malformed or incomplete; raised before anything is written.

    Attributes:
        path: the file.
        line: the 1-based line (JSON Lines) or row (Parquet) at fault, or ``None`` when
            the fault is the file as a whole.
    """

    def __init__(self, message: str, *, path: str, line: int | None) -> None:
        self.path = path
        self.line = line
        where = f"{path}, line {line}" if line is not None else path
        super().__init__(f"{where}: {message}")


class ImportFailedError(MilvusPluginsError):
    """An import stopped part-way (a Milvus failure); what was written stays.

    Rows are upserted by id, so running the same import again completes it without
    duplicates.

    Attributes:
        rows_written: rows acknowledged by Milvus before the failure.
        rows_total: rows in the file.
        line: the line (or row) of the first row not certainly written.
    """

    def __init__(self, message: str, *, rows_written: int, rows_total: int, line: int) -> None:
        self.rows_written = rows_written
        self.rows_total = rows_total
        self.line = line
        super().__init__(
            f"{message} ({rows_written} of {rows_total} rows written, up to line {line}; "
            "re-running the same import completes it without duplicates)"
        )


class ReindexRefusedError(MilvusPluginsError):
    """A reindex refused to switch its alias; the alias and the source are untouched.

    Attributes:
        shadow: the name of the new collection (kept for inspection; drop it when done).
    """

    def __init__(self, message: str, *, shadow: str) -> None:
        self.shadow = shadow
        super().__init__(message)


class RecallTooLowError(ReindexRefusedError):
    """A reindex measured a recall below its threshold; the alias was not switched.

    Attributes:
        recall: the measured recall@k of the new collection.
        threshold: the minimum asked for.
    """

    def __init__(self, message: str, *, recall: float, threshold: float, shadow: str) -> None:
        self.recall = recall
        self.threshold = threshold
        super().__init__(message, shadow=shadow)


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


# -- classification ----------------------------------------------------------------------
#
# An error is classified by its codes first: the gRPC status of a ``grpc.RpcError`` (or a
# ``MilvusException`` that pymilvus built from one), then the Milvus error code
# (``MilvusException.code``: the ``merr`` codes of Milvus >= 2.3, which Milvus Lite uses
# too), then the legacy ``ErrorCode`` (``compatible_code``) and the server's own
# ``retriable`` flag. Words are read only when no code says anything (pymilvus' generic
# code 1, Milvus' "undefined" 65535, a plain Python exception), and then only multi-word
# phrases in the part of the message Milvus or gRPC wrote: quoted text and the names the
# store passed (collection) are cut out first, and a Milvus identifier can hold no space,
# so a collection called ``unavailable_docs`` or a field called ``timeout`` never reads
# as "Milvus is unavailable".

# Milvus merr codes (pkg/util/merr/errors.go, Milvus 2.3 .. 2.6).
_MERR_CONNECTION = frozenset({2})  # service unavailable (also pymilvus' CONNECT_FAILED)
_MERR_RETRIABLE = frozenset(
    {
        4,  # request limit exceeded / too many concurrent requests
        8,  # rate limit exceeded
        103,  # collection not fully loaded
        106,  # collection on recovering
        110,  # collection schema version not ready
        305,  # resource group service unavailable
        505,  # channel tsafe stalled
        507,  # channel misrouted
        1002,  # unexpected EOF
        1003,  # too many requests (object storage)
        1807,  # request rejected by the HTTP limiter
        2200,  # inconsistent requery result
    }
)
_MERR_NOT_FOUND = frozenset({100})
_MERR_AUTH = frozenset({1400, 1401, 1800})
# Codes that carry no meaning: pymilvus' default UNEXPECTED_ERROR (1, which Milvus
# Lite also uses for any failure; merr's "service not ready" 1 is then told by its
# words) and merr's "unexpected error" (65535).
_GENERIC_CODES = frozenset({0, 1, 65535})
# Legacy common_pb2.ErrorCode values (``compatible_code``).
_LEGACY_NOT_FOUND = frozenset({4, 28})  # CollectionNotExists, CollectionNameNotFound
_LEGACY_RETRIABLE = frozenset({45, 46, 49, 55})  # NotShardLeader, NoReplica, RateLimit, TT
_LEGACY_CONNECTION = frozenset({56, 57})  # NotReadyServe, NotReadyCoordActivating
_LEGACY_AUTH = frozenset({3})  # PermissionDenied

_GRPC_CONNECTION = frozenset({"UNAVAILABLE"})
_GRPC_RETRIABLE = frozenset({"DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED", "ABORTED"})
_GRPC_AUTH = frozenset({"UNAUTHENTICATED", "PERMISSION_DENIED"})

# Phrases Milvus, pymilvus or gRPC write (never single words: see above).
_CONNECTION_PHRASES = (
    "service unavailable",
    "service not ready",
    "server is not ready",
    "is not ready yet",
    "connection refused",
    "connection reset",
    "connection closed",
    "failed to connect",
    "fail connecting",
    "socket closed",
    "broken pipe",
    "stream removed",
)
_TRANSIENT_PHRASES = (
    "deadline exceeded",
    "timed out",
    "rate limit",
    "too many requests",
    "too many concurrent requests",
    "request limit exceeded",
    # EAGAIN: Milvus Lite 3 loading an index file its background build is still writing.
    "resource temporarily unavailable",
)
_AUTH_PHRASES = (
    "auth check failure",
    "not authenticated",
    "incorrect password",
    "username or password",
)
_NOT_FOUND_PHRASES = ("collection not found", "can't find collection")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|`[^`]*`")


# -- secrets -----------------------------------------------------------------------------

# A secret this long is masked wherever it appears; a shorter one only as a whole token
# (not glued to letters or digits), so a short password never masks part of a word
# ("collect*** not found"); one shorter than this is not masked on its own at all (it
# reads like an ordinary word, and Milvus never echoes passwords), only as part of a
# longer secret such as the whole "user:password" token.
_SUBSTRING_MIN = 8
_TOKEN_MIN = 4


def _secret_pattern(secret: str) -> re.Pattern[str] | None:
    if len(secret) >= _SUBSTRING_MIN:
        return re.compile(re.escape(secret))
    if len(secret) >= _TOKEN_MIN:
        return re.compile(rf"(?<![A-Za-z0-9]){re.escape(secret)}(?![A-Za-z0-9])")
    return None


SHOWN_LIMIT = 80
"""About how many characters of a value an error message echoes."""

_REPR = reprlib.Repr()  # keyword arguments only from Python 3.12
for _name in ("maxtuple", "maxlist", "maxarray", "maxdict", "maxset", "maxfrozenset", "maxdeque"):
    setattr(_REPR, _name, 6)
_REPR.maxlevel = 3
_REPR.maxstring = _REPR.maxlong = _REPR.maxother = SHOWN_LIMIT


def shown(value: object) -> str:
    """Return ``repr(value)`` cut to about :data:`SHOWN_LIMIT` characters, for a message.

    Every error message of the package that echoes a caller's value goes through this,
    so a 70,000-character id or a million-element list is shown as its start and end
    (with its length), never whole: the message stays readable, and a log line small.
    Short values come back exactly as ``repr`` gives them.
    """
    try:
        text = repr(value) if _short(value) else _REPR.repr(value)
    except Exception:  # a broken __repr__ must not hide the real error
        return f"<{type(value).__name__} object>"
    if len(text) > SHOWN_LIMIT + 20:  # reprlib keeps each part short, not the whole
        text = f"{text[: SHOWN_LIMIT - 12]}...{text[-8:]}"
    if isinstance(value, (str, bytes, bytearray, list, tuple, dict, set, frozenset)) and (
        len(value) > SHOWN_LIMIT
    ):
        unit = "characters" if isinstance(value, str) else "bytes" if _is_bytes(value) else "items"
        text = f"{text} ({len(value):,} {unit})"
    return text


def _short(value: object) -> bool:
    """Whether a plain ``repr`` is certainly short (and exact) for ``value``."""
    if isinstance(value, (str, bytes, bytearray)):
        return len(value) <= SHOWN_LIMIT // 2
    return value is None or (isinstance(value, (bool, int, float)) and not _huge_int(value))


def _huge_int(value: object) -> bool:
    return isinstance(value, int) and not -(10**40) < value < 10**40


def _is_bytes(value: object) -> bool:
    return isinstance(value, (bytes, bytearray))


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Return ``text`` with each of ``secrets`` replaced by ``***``.

    Nothing is remembered between calls: a store passes its own connection's secrets
    (:attr:`ConnectionConfig.secrets`) at the point where it translates an error.
    Secrets of 8 characters or more are masked wherever they occur; shorter ones only
    as whole tokens, and ones under 4 characters not on their own (see above).
    """
    # Longest first, so a "user:password" token is masked whole before its password.
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        pattern = _secret_pattern(secret)
        if pattern is not None:
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
    """The gRPC status name of ``exc``: from ``RpcError.code()`` or a StatusCode ``.code``."""
    code = getattr(exc, "code", None)
    if callable(code):  # grpc.RpcError: a method
        try:
            code = code()
        except Exception:  # an unrelated ``code()`` with arguments or side effects
            return None
    # pymilvus puts the StatusCode itself into MilvusException.code after its own retries.
    name = getattr(code, "name", None)
    if isinstance(name, str) and type(code).__name__ == "StatusCode":
        return name
    return None


def _int_attr(exc: BaseException, name: str) -> int | None:
    value = getattr(exc, name, None)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return int(value)


def _milvus_words(text: str, echoed: Iterable[str]) -> str:
    """The lower-cased part of ``text`` that Milvus/gRPC wrote: quotes and names cut."""
    for name in sorted({e for e in echoed if e}, key=len, reverse=True):
        text = re.sub(re.escape(name), " ", text, flags=re.IGNORECASE)
    return " ".join(_QUOTED.sub(" ", text).lower().split())


def _has(words: str, phrases: Iterable[str]) -> bool:
    return any(phrase in words for phrase in phrases)


def _rejected_credentials(exc: BaseException, secrets: Iterable[str]) -> str | None:
    """The server's words when a wrapped gRPC error says the credentials were rejected.

    pymilvus reports a rejected token while connecting as "Fail connecting to server ...
    or server unavailable" and keeps the gRPC ``UNAUTHENTICATED`` error only as the
    cause; an unreachable server has ``UNAVAILABLE`` there instead, so only the explicit
    status (or Milvus' own "auth check failure") counts.
    """
    for link in _causes(exc):
        text = str(getattr(link, "message", "") or link)
        details = getattr(link, "details", None)
        if callable(details):
            with suppress(Exception):
                text = str(details() or text)
        if _grpc_status_name(link) in _GRPC_AUTH or _has(
            _milvus_words(text, ()), ("auth check failure",)
        ):
            return redact(text.strip(), secrets)
    return None


@dataclass(frozen=True)
class _Kind:
    """What an error is: the class to raise and whether a retry can help."""

    cls: type[MilvusPluginsError]
    retriable: bool = False


_CONNECTION = _Kind(MilvusConnectionError, retriable=True)
_TRANSIENT = _Kind(MilvusOperationError, retriable=True)
_PERMANENT = _Kind(MilvusOperationError)
_AUTH = _Kind(AuthenticationError)
_NOT_FOUND = _Kind(CollectionNotFoundError)


def _kind_from_codes(exc: BaseException) -> _Kind | None:
    """The kind told by ``exc``'s codes, or ``None`` when it carries no meaningful code."""
    status = _grpc_status_name(exc)
    if status == "UNKNOWN":
        # The server raised without choosing a status: a Milvus proxy still starting after
        # a restart answers UNKNOWN "service unavailable: ... not ready yet". Its words say.
        return None
    if status is not None:
        if status in _GRPC_CONNECTION:
            return _CONNECTION
        if status in _GRPC_AUTH:
            return _AUTH
        return _TRANSIENT if status in _GRPC_RETRIABLE else _PERMANENT
    if isinstance(exc, (ConnectionError, socket.gaierror)):
        return _CONNECTION
    if isinstance(exc, TimeoutError):
        return _TRANSIENT
    code = _int_attr(exc, "code")
    legacy = _int_attr(exc, "compatible_code")
    if code in _MERR_NOT_FOUND or legacy in _LEGACY_NOT_FOUND:
        return _NOT_FOUND
    if code in _MERR_AUTH or legacy in _LEGACY_AUTH:
        return _AUTH
    if code in _MERR_CONNECTION or legacy in _LEGACY_CONNECTION:
        return _CONNECTION
    server_retriable = getattr(exc, "retriable", False) is True
    if code in _MERR_RETRIABLE or legacy in _LEGACY_RETRIABLE or server_retriable:
        return _TRANSIENT
    if getattr(exc, "is_input_error", False) is True:
        return _PERMANENT
    if code is None or code in _GENERIC_CODES:
        return None
    return _PERMANENT


def _kind_from_words(words: str) -> _Kind:
    if _has(words, _AUTH_PHRASES):
        return _AUTH
    if _has(words, _NOT_FOUND_PHRASES):
        return _NOT_FOUND
    if _has(words, _CONNECTION_PHRASES):
        return _CONNECTION
    return _TRANSIENT if _has(words, _TRANSIENT_PHRASES) else _PERMANENT


def translate(
    exc: BaseException,
    *,
    secrets: Iterable[str] = (),
    collection: str | None = None,
) -> MilvusPluginsError:
    """Return the milvus-plugins error for a pymilvus/gRPC exception.

    Args:
        exc: the exception raised by pymilvus, gRPC or the network.
        secrets: the connection's secrets, masked in the message
            (:attr:`ConnectionConfig.secrets`).
        collection: the collection the call was about; named in the message, and never
            read as Milvus' words when classifying.
    """
    if isinstance(exc, MilvusPluginsError):
        return exc
    secrets = tuple(secrets)
    message = redact(str(getattr(exc, "message", "") or exc), secrets)
    code = _int_attr(exc, "code")
    rejected = _rejected_credentials(exc, secrets)
    kind = _kind_from_codes(exc)
    if rejected is not None and kind is not _NOT_FOUND:
        kind, message = _AUTH, rejected
    if kind is None:
        kind = _kind_from_words(_milvus_words(message, (collection or "",)))
    if kind is _NOT_FOUND:
        name = f"collection {shown(collection)}" if collection else "the collection"
        return CollectionNotFoundError(
            f"{name} does not exist in Milvus (was it dropped by another client?): {message}"
        )
    if kind is _AUTH:
        return AuthenticationError(
            f"Milvus rejected the credentials: check the token ({message})", code=code
        )
    if kind is _CONNECTION:
        return MilvusConnectionError(f"Milvus is unreachable: {message}", code=code, retriable=True)
    return MilvusOperationError(
        f"Milvus call failed: {message}", code=code, retriable=kind.retriable
    )


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
