"""Translating pymilvus, gRPC and network exceptions into this package's errors.

:func:`translate` classifies an exception (connection, transient, permanent,
authentication, collection not found), masks the connection's secrets in its message and
returns the matching :mod:`milvus_plugins.core.errors` class; the runners call it once
per failed call.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import NoReturn

from milvus_plugins.core.exceptions import (
    AuthenticationError,
    CollectionNotFoundError,
    DatabaseNotFoundError,
    FilterError,
    MilvusConnectionError,
    MilvusOperationError,
    MilvusPluginsError,
)
from milvus_plugins.core.messages import redact, shown

__all__ = [
    "raise_translated",
    "refused_by_goaway",
    "reports_index_changed",
    "reports_index_missing",
    "reports_not_loaded",
    "translate",
    "translate_errors",
]


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
# An expression the engine could not turn into its plan for nesting too deep: the C++
# engines' protobuf plan ("unsupported expr proto node"; a chain of 60 or-ed conditions
# is deep too), Milvus Lite 3's recursive parser.
_TOO_DEEP_PHRASES = ("unsupported expr proto node", "maximum recursion depth exceeded")
# The 2.3.5 server: "database:x not found"; Milvus Lite: "database 'x' does not exist".
_MISSING_DATABASE = re.compile(r"database[:\s]*'?(\w+)'?\s+(?:not found|does not exist)")
# A quoted literal, its backslash escapes included: a value holding \" (as a compiled
# filter writes it) is cut whole, so no word of it is read as Milvus' own.
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|`[^`]*`", re.DOTALL)


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


def reports_not_loaded(exc: BaseException) -> bool:
    """Whether ``exc`` (or an error it was raised from) is Milvus' "collection not
    loaded" (merr 101): released by another client, or by a restarted Milvus Lite."""
    return any(_int_attr(link, "code") == 101 for link in (exc, *_causes(exc)))


def reports_index_missing(exc: BaseException) -> bool:
    """Whether ``exc`` (or an error it was raised from) is Milvus' "index not found"
    (merr 700): a server loads no collection with a vector field left without an index.

    The 2.3.5 server says so with the undefined code 65535 ("there is no vector index on
    collection") when the collection has a scalar index but no vector index yet."""
    return any(
        _int_attr(link, "code") == 700 or _says(link, "there is no vector index on collection")
        for link in (exc, *_causes(exc))
    )


def reports_index_changed(exc: BaseException) -> bool:
    """Whether ``exc`` (or an error it was raised from) is the 2.3.5 server's refusal to
    load a collection that is already loaded with fewer indexes than it has now ("can't
    change the index for loaded collection"): another client loaded it while its
    creator was still adding indexes (it is loaded, without the later ones)."""
    return any(
        _says(link, "can't change the index for loaded collection") for link in (exc, *_causes(exc))
    )


def _says(exc: BaseException, phrase: str) -> bool:
    """Whether the message of ``exc`` holds ``phrase`` (lower case). Only for errors of
    calls that echo no user text (load_collection: a collection name holds no space)."""
    return phrase in " ".join(str(getattr(exc, "message", "") or exc).lower().split())


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
        # As a whole name only: a short one ("c") must not cut letters out of words.
        pattern = rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])"
        text = re.sub(pattern, " ", text, flags=re.IGNORECASE)
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


# gRPC's words for a call on a closed channel: before it is sent, and while it was sent.
_CLOSED_CHANNEL = ("Cannot invoke RPC on closed channel!", "Cannot invoke RPC: Channel closed!")
# pymilvus' whole message for a call through a MilvusClient whose close() ran meanwhile.
_CLOSED_CLIENT = ("should create connection first", "should create connection first.")
_CLOSED_CHANNEL_TEXTS = frozenset(
    (
        *_CLOSED_CHANNEL,
        *(f"Unexpected error, message=<{text}>" for text in _CLOSED_CHANNEL),
        *_CLOSED_CLIENT,
    )
)


def _closed_client(exc: BaseException) -> bool:
    """Whether ``exc`` is gRPC (or pymilvus) refusing a call on a client closed meanwhile
    (``close()`` from another thread): the store reconnects on the retry. Matched on the whole
    message (pymilvus wraps gRPC's ``ValueError`` in a ``MilvusException``), so no
    collection name or other user text can make an error look like it."""
    for link in (exc, *_causes(exc)):
        text = str(getattr(link, "message", "") or link)
        if text in _CLOSED_CHANNEL_TEXTS or _is_no_connection(link):
            return True
    return False


def _is_no_connection(exc: BaseException) -> bool:
    """pymilvus' ``ConnectionNotExistException`` (its ORM connection removed meanwhile),
    told by its type."""
    kind = type(exc)
    return kind.__name__ == "ConnectionNotExistException" and kind.__module__.startswith("pymilvus")


# gRPC's details when the server closed the connection with an HTTP/2 GOAWAY (lower case).
_GOAWAY_DETAILS = ("too many pings", "goaway received")


def refused_by_goaway(exc: BaseException) -> bool:
    """Whether a failed connect was the server closing the connection with an HTTP/2
    GOAWAY: Milvus Lite 2.5.1 answers the keepalive pings of an idle connection (which
    pymilvus shares between the clients of one address) with "Too many pings", and a
    client connecting then fails "Fail connecting to server ... server unavailable". A
    new connection succeeds. Read from the gRPC error's status and details (raised from
    it), which no user text reaches."""
    for link in (exc, *_causes(exc)):
        code, details = getattr(link, "code", None), getattr(link, "details", None)
        if not (callable(code) and callable(details)):
            continue
        try:
            status, text = getattr(code(), "name", None), str(details()).lower()
        except Exception:  # not a gRPC error after all
            continue
        if status == "UNAVAILABLE" and any(words in text for words in _GOAWAY_DETAILS):
            return True
    return False


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
    kind = _CONNECTION if _closed_client(exc) else _kind_from_codes(exc)
    if rejected is not None and kind is not _NOT_FOUND:
        kind, message = _AUTH, rejected
    if kind is None:
        kind = _kind_from_words(_milvus_words(message, (collection or "",)))
    if kind is _NOT_FOUND:
        name = f"collection {shown(collection)}" if collection else "the collection"
        return CollectionNotFoundError(
            f"{name} does not exist in Milvus (dropped meanwhile, by another client or by a "
            f"clear()/drop() of this store?): {message}"
        )
    missing_db = _MISSING_DATABASE.search(message) if kind is _PERMANENT else None
    if missing_db is not None:
        return missing_database_error(missing_db.group(1), f"Milvus call failed: {message}.")
    if kind is _AUTH:
        return AuthenticationError(
            f"Milvus rejected the credentials: check the token ({message})", code=code
        )
    if kind is _CONNECTION:
        return MilvusConnectionError(f"Milvus is unreachable: {message}", code=code, retriable=True)
    if not kind.retriable and _has(_milvus_words(message, (collection or "",)), _TOO_DEEP_PHRASES):
        return FilterError(
            "the filter nests too deeply for this Milvus engine, which refused it (nothing was "
            "read, written or deleted): flatten it, e.g. in_(key, [...]) instead of many or-ed "
            f"equalities, and fewer levels of and / or / not around each other. Milvus said: "
            f"{message}"
        )
    if _deadline_passed(exc):
        return MilvusOperationError(
            "Milvus did not answer within the call's deadline (ConnectionConfig.timeout, "
            "30 s by default): check that the server is up and reachable, or raise timeout "
            f"for calls that are slow on purpose. {message}",
            code=code,
            retriable=True,
        )
    return MilvusOperationError(
        f"Milvus call failed: {message}", code=code, retriable=kind.retriable
    )


# pymilvus' whole message when its retry wrapper ran out of the call's timeout (sync and
# async; the async client raises it with no gRPC status): matched whole, so no user text
# can make an error look like it.
_RETRY_TIMEOUT = re.compile(r"\[\w+\] Retry timeout: [0-9.e+-]+s")


def _deadline_passed(exc: BaseException) -> bool:
    """Whether ``exc`` (or an error it was raised from) is a call that ran out of its
    deadline: gRPC's ``DEADLINE_EXCEEDED``, pymilvus' "Retry timeout", a ``TimeoutError``."""
    for link in (exc, *_causes(exc)):
        if _grpc_status_name(link) == "DEADLINE_EXCEEDED" or isinstance(link, TimeoutError):
            return True
        if _RETRY_TIMEOUT.fullmatch(str(getattr(link, "message", "") or link).strip()):
            return True
    return False


def missing_database_error(name: str, said: str = "") -> DatabaseNotFoundError:
    """The error for a ``db_name`` that names no database of the server."""
    return DatabaseNotFoundError(
        f"{said + ' ' if said else ''}The database {shown(name)} does not exist: check "
        "db_name (names are case-sensitive), or create it first with pymilvus' "
        "MilvusClient(uri).create_database(name).",
        retriable=False,
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
