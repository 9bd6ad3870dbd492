"""The sync runner: drives an operation's steps on one ``pymilvus.MilvusClient``."""

from __future__ import annotations

import contextlib
import contextvars
import inspect
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from pymilvus import MilvusClient

from milvus_plugins.core import lite
from milvus_plugins.core.capabilities import Capabilities
from milvus_plugins.core.config import ConnectionConfig
from milvus_plugins.core.error_translation import refused_by_goaway
from milvus_plugins.core.errors import MilvusConnectionError, MilvusPluginsError
from milvus_plugins.core.filters.literals import escape_string
from milvus_plugins.core.lite import LiteLease
from milvus_plugins.core.ops.calls import (
    Call,
    ClientMethod,
    Collect,
    Done,
    Embed,
    EmbedAhead,
    Fingerprint,
    Guard,
    Guarded,
    Op,
    Outcome,
    Pause,
    Probe,
    ReadAll,
    bound_method,
    sent_kwargs,
)
from milvus_plugins.core.probing import probe_capabilities, quiet_rpc_errors
from milvus_plugins.core.retry import (
    GOAWAY_CONNECT_PAUSE,
    GOAWAY_CONNECT_TRIES,
    call_with_retry,
)
from milvus_plugins.core.runners import abandoned
from milvus_plugins.core.runners.settings import (
    RELOADS,
    RunSettings,
    call_collection,
    reload_kwargs,
)
from milvus_plugins.core.session import Session

__all__ = ["SyncRunner", "takes_write_turns", "write_lock"]

T = TypeVar("T")

_LITE_WRITE_LOCKS: dict[str, threading.RLock] = {}
_LITE_WRITE_LOCKS_GUARD = threading.Lock()


def write_lock(
    connection: ConnectionConfig, caps: Capabilities | None = None
) -> AbstractContextManager[object]:
    """The lock that makes writes to one Milvus Lite database take turns in this process.

    Milvus Lite 3.2 runs its engine without a writer lock: two flushes at once race on
    its manifest ("current_seq is monotonic"), which failed concurrent upserts. That
    holds for a Lite database reached through a ``.db`` path and for one served over
    TCP (``milvus-lite server``): the engine detected (``caps``) decides, not the URI's
    shape; a Lite file's lock is keyed by its absolute path, a served one's by its URI.
    Servers order writes themselves, so for them this is a no-op.
    """
    lite_engine = caps.is_lite if caps is not None else connection.is_lite
    if not (lite_engine or connection.is_lite):
        return contextlib.nullcontext()
    key = os.path.abspath(connection.uri) if connection.is_lite else connection.uri
    with _LITE_WRITE_LOCKS_GUARD:
        return _LITE_WRITE_LOCKS.setdefault(key, threading.RLock())


def takes_write_turns(session: Session) -> bool:
    """Whether writes through ``session`` take turns (:func:`write_lock` is a lock)."""
    caps = session.capabilities
    return session.connection.is_lite or (caps is not None and caps.is_lite)


def _embed_now(embed: Callable[[list[str]], Any], texts: list[str]) -> Any:
    vectors = embed(texts)
    if inspect.isawaitable(vectors):
        close = getattr(vectors, "close", None)
        if close is not None:
            close()  # never awaited: close the coroutine instead of leaking it
        raise TypeError("the sync store needs a sync embedding function")
    return vectors


_EMBED_POOL: ThreadPoolExecutor | None = None
_EMBED_POOL_GUARD = threading.Lock()


def _embed_pool() -> ThreadPoolExecutor:
    """The process' worker threads for :class:`EmbedAhead` (made on first use).

    Idle workers are reused: a streamed write does not start a thread per batch (a new
    thread waits for the interpreter lock before ``start()`` returns). Each operation
    has at most one embedding running, so the pool's size bounds only how many streamed
    writes of this process overlap at once; more queue for a worker.
    """
    global _EMBED_POOL
    with _EMBED_POOL_GUARD:
        if _EMBED_POOL is None:
            _EMBED_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="milvus-embed")
        return _EMBED_POOL


def _forget_embed_pool() -> None:
    # A forked child has none of the parent's threads: it makes its own pool.
    global _EMBED_POOL
    _EMBED_POOL = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_embed_pool)


class _Ahead:
    """One :class:`EmbedAhead` running on a worker thread (in a copy of the caller's
    context variables, as ``asyncio.to_thread`` does: tracing callbacks still see them)."""

    def __init__(self, step: EmbedAhead) -> None:
        context = contextvars.copy_context()
        self._future: Future[Any] | None = _embed_pool().submit(
            context.run, _embed_now, step.embed, step.texts
        )

    def result(self) -> Any:
        """Wait for the vectors; raise the model's error."""
        future, self._future = self._future, None  # the operation holds the vectors now
        if future is None:
            raise RuntimeError("an embedding handle is collected once")
        return future.result()


def _with_connect_deadline(exc: MilvusPluginsError, timeout: float | None) -> MilvusPluginsError:
    """``exc`` from connecting, naming the connection's deadline when it says the server is
    unreachable (pymilvus says so as well when a server is up but slower than ``timeout``)."""
    if not isinstance(exc, MilvusConnectionError) or timeout is None:
        return exc
    return MilvusConnectionError(
        f"{exc} (connecting waited at most ConnectionConfig.timeout = {timeout:g} s: if the "
        "server is up but slow to answer, raise timeout)",
        code=exc.code,
        retriable=exc.retriable,
    )


class SyncRunner:
    """Run operations on a lazily connected ``MilvusClient`` (one per store).

    Args:
        settings: the session, retry policy and client options (shared with the
            store's async runner).
    """

    def __init__(self, settings: RunSettings) -> None:
        self.settings = settings
        self._client: Any = None
        self._lease: LiteLease | None = None
        self._watch: Any = None  # closes the client if this runner is dropped unclosed
        self._handed = abandoned.HandedOut()

    @property
    def connected_client(self) -> Any:
        """The client if connected, else ``None`` (no I/O)."""
        return self._client

    @property
    def client(self) -> Any:
        """The ``MilvusClient`` (connects on first access; on Lite, leases its server)."""
        client = self._client  # read once: close() in another thread sets it to None
        if client is None:
            session = self.settings.session
            connected = False
            with session.lock:
                client = self._client
                if client is None:
                    client, self._lease = self._connect()
                    self._client = client
                    self._watch = abandoned.watch(self, client, self._lease, self._handed)
                    session.connected(self._lease)
                    connected = True
            if connected:
                # Only now: the new lease is held (a server both use keeps running) and
                # is this runner's (an interrupt here leaves nothing unowned).
                abandoned.close_pending()
        return client

    def hand_out(self) -> Any:
        """The client, for user code (``store.client``): if this runner is then dropped
        unclosed, the client and its lease are left open (the user may still hold it)."""
        self._handed.value = True
        return self.client

    def _connect(self) -> tuple[Any, LiteLease | None]:
        session = self.settings.session
        lease = lite.acquire(session.connection.uri) if session.connection.is_lite else None
        kwargs = session.client_kwargs(self.settings.client_kwargs, lease)
        try:
            attempt = 1
            while True:
                try:
                    client = self._call(lambda: MilvusClient(**kwargs), retry=False)
                    break
                except MilvusPluginsError as exc:
                    if attempt == GOAWAY_CONNECT_TRIES or not refused_by_goaway(exc):
                        raise _with_connect_deadline(exc, session.connection.timeout) from exc
                time.sleep(GOAWAY_CONNECT_PAUSE * attempt)
                attempt += 1
        except BaseException:
            if lease is not None:
                lease.release()
            raise
        return client, lease

    def close(self) -> None:
        """Close the client (reconnecting if used again); on Lite, release the server."""
        with self.settings.session.lock:
            client, self._client = self._client, None
            lease, self._lease = self._lease, None
            watch, self._watch = self._watch, None
            if watch is not None:
                watch.detach()
            if lease is not None:
                # The last lease's release stops the Lite server: a later call reopens
                # (and loads) the collection before its first read.
                self.settings.session.exists = False
        try:
            if client is not None:
                client.close()
        except Exception as exc:  # closing a dead connection must not mask the cause
            raise self.settings.translate(exc) from exc
        finally:
            if lease is not None:
                lease.release()

    def _call(self, fn: Callable[[], T], *, retry: bool = True) -> T:
        if retry:
            # Connect first, outside the retry loop: connecting already waits up to the
            # timeout, and retrying it would multiply the wait for a server that is down.
            _ = self.client
        try:
            return call_with_retry(fn, self.settings.policy(retry), self.settings.translate)
        except MilvusPluginsError as exc:
            self.settings.session.failed(exc)  # dropped or released behind our back
            raise

    def run(self, op: Op[T]) -> T:
        """Drive ``op`` to its result: execute each step, send back its answer or error."""
        outcome = Outcome()
        while not isinstance(step := outcome.resume(op), Done):
            outcome = Outcome.of(self.execute, step)
        return step.value

    def execute(self, step: Any) -> Any:
        """Execute one step of an operation."""
        match step:
            case Call():
                kwargs = sent_kwargs(step, self.settings.session.connection.timeout)
                send = lambda: bound_method(self.client, step.method)(*step.args, **kwargs)  # noqa: E731
                try:
                    with quiet_rpc_errors(step.method is ClientMethod.GET_SERVER_VERSION):
                        return self._call(send, retry=step.retry)
                except MilvusPluginsError as exc:
                    failure = exc
                # Released behind our back (another client, a Lite restart): load it,
                # then send once more; again if it was released again meanwhile.
                for _ in range(RELOADS):
                    reload = reload_kwargs(self.settings.session, step, failure)
                    if reload is None:
                        raise failure
                    self._load(call_collection(step), reload)
                    try:
                        return self._call(send, retry=step.retry)
                    except MilvusPluginsError as exc:
                        failure = exc
                raise failure
            case Guarded(guard=Guard.SESSION):
                with self.settings.session.lock:
                    return self.run(step.op)
            case Guarded(guard=Guard.WRITE):
                session = self.settings.session
                with write_lock(session.connection, session.capabilities):
                    return self.run(step.op)
            case Pause():
                time.sleep(step.seconds)
                return None
            case Probe():
                return self.probe()
            case ReadAll():
                return self.read_all(step)
            case Fingerprint():
                return step.probe.fingerprint()
            case Embed():
                return _embed_now(step.embed, step.texts)
            case EmbedAhead():
                return _Ahead(step)
            case Collect():
                if not step.discard:
                    return step.handle.result()
                with contextlib.suppress(Exception):
                    step.handle.result()
                return None
        raise TypeError(f"not an operation step: {step!r}")

    def _load(self, name: str | None, kwargs: dict[str, Any]) -> None:
        # self.client is read at each try: a retry after close() reconnects.
        self._call(lambda: self.client.load_collection(name, **kwargs))

    def probe(self) -> Capabilities:
        """Probe the engine's capabilities (Milvus Lite 2.5 reports no version)."""
        return probe_capabilities(self.client, self.settings.session.connection)

    def read_all(self, step: ReadAll) -> list[Any]:
        """Page through every row of a query with ``query_iterator``."""
        rows: list[Any] = []
        for page in self.iter_pages(step):
            rows.extend(page)
        return rows

    def iter_pages(self, step: ReadAll) -> Iterator[list[Any]]:
        """Yield the pages of a query's rows one at a time (``query_iterator``).

        Nothing but the current page is held: what streams a whole collection
        (:func:`~milvus_plugins.core.migration.migrate`) keeps memory flat.
        """
        iterator = self._call(
            lambda: self.client.query_iterator(
                step.collection, batch_size=step.batch_size, **step.kwargs
            )
        )
        caps = self.settings.session.capabilities
        line_escapes = caps.line_escapes if caps is not None else True
        try:
            while page := self._call(iterator.next):
                _escape_cursor(iterator, line_escapes)
                yield list(page)
        finally:
            iterator.close()


def _escape_cursor(iterator: Any, line_escapes: bool) -> None:
    """Make the query iterator's next page start right after its last string key.

    pymilvus 3.0 writes the next page's filter as ``id > "<last key>"`` with the key
    pasted in as it is: a key holding ``"`` or ``\\`` (``b" or id > "y``) changed that
    filter's meaning (an export or a delete then skipped rows without a word) or broke it.
    The cursor is replaced by the key escaped for a string literal (without its
    quotes), which is what that filter then reads; integer keys need nothing.

    Raises:
        FilterError: the key cannot be written in this engine's filters (a line break
            on Milvus Lite 2.5).
    """
    cursor = getattr(iterator, "_next_id", None)
    if isinstance(cursor, str):
        iterator._next_id = escape_string(cursor, line_escapes=line_escapes)[1:-1]
