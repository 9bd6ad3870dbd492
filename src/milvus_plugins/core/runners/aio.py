"""The async runner: drives an operation's steps on one ``AsyncMilvusClient`` per event loop.

A gRPC aio channel belongs to the loop it was made in, so a client from an earlier
``asyncio.run`` cannot be reused: each loop gets its own client, created on first use.

What pymilvus' async client cannot do runs on a blocking runner in a worker thread, in
one place (:meth:`AsyncRunner._in_thread`): on Milvus Lite every write (writes to one
Lite database must take turns under a thread lock, which cannot be held across awaits,
and ``AsyncMilvusClient.create_collection`` needs an RPC Lite lacks), probing an engine
that reports no version, and paging with ``query_iterator`` (sync-only).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import threading
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from pymilvus import AsyncMilvusClient

from milvus_plugins.core import lite
from milvus_plugins.core.error_translation import refused_by_goaway
from milvus_plugins.core.errors import (
    AuthenticationError,
    ConfigError,
    MilvusConnectionError,
    MilvusPluginsError,
)
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
from milvus_plugins.core.probing import quiet_rpc_errors
from milvus_plugins.core.retry import (
    GOAWAY_CONNECT_PAUSE,
    GOAWAY_CONNECT_TRIES,
    acall_with_retry,
)
from milvus_plugins.core.runners import abandoned
from milvus_plugins.core.runners.settings import (
    RELOADS,
    RunSettings,
    call_collection,
    reload_kwargs,
)
from milvus_plugins.core.runners.sync import takes_write_turns

__all__ = ["AsyncRunner", "BlockingRunner"]

T = TypeVar("T")


_CONNECT_TRIES = 5
"""Connecting calls made again when ``close()`` in another task cut them."""


class _ClosedMeanwhile(MilvusConnectionError):
    """A call cut by ``close()`` in another task (retriable: it reconnects)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retriable=True)


_CLOSED_MEANWHILE = (
    "the store's connection was closed (close() in another task) while a call ran; it is "
    "sent again on a new connection."
)


def _cancel_requests() -> int:
    """How many cancellations of the running task are pending (``0`` where Python cannot
    tell: before 3.11)."""
    task = asyncio.current_task()
    cancelling = getattr(task, "cancelling", None)
    return int(cancelling()) if callable(cancelling) else 0


def _cancelling() -> bool:
    """Whether the running task is being cancelled (``False`` where Python cannot tell)."""
    return _cancel_requests() > 0


async def _embed_off_loop(step: Embed | EmbedAhead) -> Any:
    """An async model runs on the loop (awaiting its I/O); a sync one in a worker thread,
    so that it never holds up the loop (and runs while the loop awaits the write of the
    previous batch)."""
    if inspect.iscoroutinefunction(step.embed):
        return await step.embed(step.texts)
    try:
        vectors = await asyncio.to_thread(step.embed, step.texts)
    except RuntimeError as exc:
        message = str(exc)
        if "no running event loop" not in message and "no current event loop" not in message:
            raise
        # Not run again on the loop: it may have done its work (a paid call) already.
        raise ConfigError(
            "the embedding function is a plain function that needs the running event "
            f"loop ({message}); the async store runs plain functions in a worker thread "
            "so that they never hold up the loop. Pass an async function (async def) or "
            "a plain one that does not use the loop. Nothing of this batch was written."
        ) from exc
    return await vectors if inspect.isawaitable(vectors) else vectors


class BlockingRunner(Protocol):
    """The runner that executes steps in a worker thread (a :class:`SyncRunner`)."""

    def execute(self, step: Any) -> Any:
        """Execute one step, blocking."""


class AsyncRunner:
    """Run operations on one ``AsyncMilvusClient`` per event loop.

    Args:
        settings: the session, retry policy and client options (shared with the
            blocking runner).
        blocking: executes, in a worker thread, the steps the async client cannot.
    """

    def __init__(self, settings: RunSettings, blocking: BlockingRunner) -> None:
        self.settings = settings
        self.blocking = blocking
        # Changed in place only: a runner dropped unclosed gives back the leases left here.
        self._clients: dict[asyncio.AbstractEventLoop, tuple[Any, LiteLease | None]] = {}
        self._handed = abandoned.HandedOut()
        abandoned.watch_loops(self, self._clients, self._handed)
        self._clients_lock = threading.Lock()
        self._session_locks: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}
        # Event loops whose client has made its first (connecting) call.
        self._connected: set[asyncio.AbstractEventLoop] = set()
        self._closes = 0  # close() calls so far: a call that spans one was cut by it

    @property
    def client(self) -> Any:
        """The ``AsyncMilvusClient`` of the running event loop (created on first access).

        Raises:
            ConfigError: no event loop is running (an async client belongs to one).
        """
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise ConfigError(
                "the async client belongs to a running event loop: read it inside a coroutine "
                "(async def ...), or use the sync client outside one."
            ) from None
        with self._clients_lock:
            entry = self._clients.get(loop)
            opened = entry is None
            if entry is None:
                self._forget_loops(lambda other: other.is_closed())
                entry = self._clients[loop] = self._open_client()
                self.settings.session.connected(entry[1])
        if opened:
            abandoned.close_pending()  # as in the sync runner: our lease is held and ours
        return entry[0]

    def hand_out(self) -> Any:
        """The running loop's client, for user code (``AsyncMilvusStore.client``): if this
        runner is then dropped unclosed, its leases are left held."""
        self._handed.value = True
        return self.client

    def _open_client(self) -> tuple[Any, LiteLease | None]:
        connection = self.settings.session.connection
        lease = lite.acquire(connection.uri) if connection.is_lite else None
        try:
            kwargs = self.settings.session.client_kwargs(self.settings.client_kwargs, lease)
            return AsyncMilvusClient(**kwargs), lease
        except BaseException:
            if lease is not None:
                lease.release()
            raise

    def _forget_loops(self, which: Callable[[asyncio.AbstractEventLoop], bool]) -> None:
        # A client of a loop that has ended cannot be closed (its channel needs that
        # loop): drop it and give back its lease. Called with _clients_lock held.
        for loop in [loop for loop in self._clients if which(loop)]:
            _, lease = self._clients.pop(loop)
            self._connected.discard(loop)
            self._session_locks.pop(loop, None)
            if lease is not None:
                lease.release()

    def release_ended_loops(self) -> None:
        """Drop the clients of event loops that are no longer running (no I/O)."""
        with self._clients_lock:
            self._forget_loops(lambda loop: not loop.is_running())

    async def close(self) -> None:
        """Close the running loop's client and drop the others' (releasing Lite leases)."""
        loop = asyncio.get_running_loop()
        with self._clients_lock:
            self._closes += 1
            entries = dict(self._clients)
            self._clients.clear()
            self._connected.clear()
            self._session_locks.clear()
            if any(lease is not None for _, lease in entries.values()):
                # As in the sync runner: the collection is reopened (and loaded) on reuse.
                self.settings.session.exists = False
        mine = entries.pop(loop, None)
        try:
            if mine is not None:
                await mine[0].close()
        except Exception as exc:  # closing a dead connection must not mask the cause
            raise self.settings.translate(exc) from exc
        finally:
            for _, lease in [*entries.values(), *([mine] if mine else [])]:
                if lease is not None:
                    lease.release()

    async def _connect(self) -> None:
        """Make the first call of this loop's client (which connects) once, without retries."""
        loop = asyncio.get_running_loop()
        if loop in self._connected:
            return
        refusals = 0
        for attempt in range(_CONNECT_TRIES):
            try:
                with quiet_rpc_errors():  # an engine without the RPC answers UNIMPLEMENTED
                    version = await self._call(
                        lambda: self.client.get_server_version(), retry=False
                    )
                break
            except _ClosedMeanwhile:  # closed by another task meanwhile: connect again
                if attempt + 1 == _CONNECT_TRIES:
                    raise
            except MilvusConnectionError as exc:
                refusals += 1
                if refusals == GOAWAY_CONNECT_TRIES or not refused_by_goaway(exc):
                    raise
                # The client makes its channel ready again on the next call.
                await asyncio.sleep(GOAWAY_CONNECT_PAUSE * refusals)
            except AuthenticationError:
                raise
            except MilvusPluginsError:
                version = None  # it answered (an engine without the RPC): it is reachable
                break
        session = self.settings.session
        if version is not None and session.capabilities is None:
            session.set_version(str(version))
        self._connected.add(loop)

    async def _call(self, fn: Callable[[], Awaitable[T]], *, retry: bool = True) -> T:
        if retry:
            await self._connect()  # outside the retry loop, as the sync runner does
        try:
            return await acall_with_retry(
                self._across_close(fn), self.settings.policy(retry), self.settings.translate
            )
        except MilvusPluginsError as exc:
            self.settings.session.failed(exc)  # dropped or released behind our back
            raise

    async def run(self, op: Op[T]) -> T:
        """Drive ``op`` to its result: execute each step, send back its answer or error."""
        outcome = Outcome()
        ahead: list[asyncio.Future[Any]] = []
        requests = _cancel_requests()
        try:
            while not isinstance(step := outcome.resume(op), Done):
                try:
                    outcome = Outcome(answer=await self.execute(step))
                except Exception as exc:
                    outcome = Outcome(error=exc)
                if isinstance(step, EmbedAhead) and outcome.error is None:
                    ahead.append(outcome.answer)
                if _cancel_requests() > requests:
                    # A cancellation that reached a step as it finished can be lost inside
                    # it (asyncio.wait_for in pymilvus' retries, Python <= 3.11): the
                    # operation stops here as if it had arrived, its steps so far final.
                    raise asyncio.CancelledError
        finally:
            for task in ahead:  # only when the run is cancelled: an operation collects its own
                if not task.done():
                    task.cancel()
        return step.value

    async def _load(self, name: str | None, kwargs: dict[str, Any]) -> None:
        # self.client is read at each try: a retry after close() reconnects.
        await self._call(lambda: self.client.load_collection(name, **kwargs))

    async def execute(self, step: Any) -> Any:
        """Execute one step of an operation."""
        match step:
            case Call():
                kwargs = sent_kwargs(step, self.settings.session.connection.timeout)
                send = lambda: bound_method(self.client, step.method)(*step.args, **kwargs)  # noqa: E731
                try:
                    with quiet_rpc_errors(step.method is ClientMethod.GET_SERVER_VERSION):
                        return await self._call(send, retry=step.retry)
                except MilvusPluginsError as exc:
                    failure = exc
                # As in the sync runner: load it, send once more, again if released again.
                for _ in range(RELOADS):
                    reload = reload_kwargs(self.settings.session, step, failure)
                    if reload is None:
                        raise failure
                    await self._load(call_collection(step), reload)
                    try:
                        return await self._call(send, retry=step.retry)
                    except MilvusPluginsError as exc:
                        failure = exc
                raise failure
            case Guarded(guard=Guard.SESSION):
                async with self._session_lock():
                    return await self.run(step.op)
            case Guarded(guard=Guard.WRITE) if takes_write_turns(self.settings.session):
                return await self._write_in_thread(step)
            case Guarded():
                return await self.run(step.op)  # servers order writes themselves
            case Pause():
                await asyncio.sleep(step.seconds)
                return None
            case Probe() | ReadAll():
                return await self._in_thread(step)
            case Fingerprint():
                return await step.probe.afingerprint()
            case Embed():
                # Not in the Lite write thread: no write lock is held while the model runs.
                return await _embed_off_loop(step)
            case EmbedAhead():
                return asyncio.ensure_future(_embed_off_loop(step))
            case Collect():
                if not step.discard:
                    return await step.handle
                with contextlib.suppress(Exception):
                    await step.handle
                return None
        raise TypeError(f"not an operation step: {step!r}")

    def _across_close(self, fn: Callable[[], Awaitable[T]]) -> Callable[[], Awaitable[T]]:
        """``fn``, failing as a retriable connection error when ``close()`` cut it.

        ``close()`` in another task closes the channel under calls in flight, which
        gRPC ends with ``CancelledError`` although their tasks were not cancelled. The
        retry then reconnects, as any later use of a closed store does. A task that is
        itself being cancelled stays cancelled (Python >= 3.11 tells; on 3.10 a
        cancellation that meets a ``close()`` mid-call is taken for the close).
        """

        async def call() -> T:
            closes = self._closes
            try:
                return await fn()
            except asyncio.CancelledError:
                if self._closes == closes or _cancelling():
                    raise
                raise _ClosedMeanwhile(_CLOSED_MEANWHILE) from None
            except Exception as exc:
                # Any failure of a call that a close() cut (e.g. the closed client's
                # "'NoneType' object has no attribute ..."): sent again; a real fault
                # fails again on the new connection and is reported then.
                if self._closes == closes or isinstance(exc, MilvusPluginsError):
                    raise
                raise _ClosedMeanwhile(_CLOSED_MEANWHILE) from exc

        return call

    def _session_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        with self._clients_lock:
            return self._session_locks.setdefault(loop, asyncio.Lock())

    async def _in_thread(self, step: Any) -> Any:
        """Execute ``step`` on the blocking runner in a worker thread (see the module doc)."""
        return await asyncio.to_thread(self.blocking.execute, step)

    async def _write_in_thread(self, step: Any) -> Any:
        """:meth:`_in_thread` for a write, which a cancellation does not leave running.

        A thread cannot be stopped: cancelling the task that waits for it would let the
        write land after the caller was told it was cancelled (a cancelled delete could
        still delete). On cancellation this waits for the thread's write to finish, then
        raises :class:`asyncio.CancelledError`: what the caller sees afterwards is final.
        """
        task = asyncio.ensure_future(self._in_thread(step))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            while not task.done():
                with contextlib.suppress(asyncio.CancelledError):  # cancelled again: wait on
                    await asyncio.wait([task])
            if not task.cancelled():
                task.exception()  # retrieved: the caller is told about the cancel
            raise
