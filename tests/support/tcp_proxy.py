"""A tiny loopback TCP proxy for fault-injection tests.

The client connects to the proxy's port; the proxy forwards bytes to the real server. A test
switches the proxy between three modes at any time, from any thread:

* ``FORWARD``: bytes flow both ways (the normal state);
* ``REFUSE``: every open connection is reset (RST, as when a peer or a middlebox dies) and
  every new connection is reset as soon as it is accepted, so the client sees
  "connection reset" / "socket closed" until the mode changes back;
* ``BLACKHOLE``: connections stay open but no byte is forwarded in either direction (a
  network partition: the client only notices through its own deadlines and keepalives).

``drop()`` resets the open connections once and keeps forwarding (a blip). ``outage(s)``
refuses for ``s`` seconds in a background timer and then forwards again.

Everything binds to 127.0.0.1 only and uses two threads per connection (gRPC clients open
one or two connections, so this stays small). Every blocking wait is bounded, so ``stop()``
always returns.

:class:`CallTrigger` is the other half of a fault test: it wraps one method of a real
client object (forwarding every call) and starts an action (drop the connections, kill the
server ...) in a thread when the n-th call begins, so the fault lands mid-request.
"""

from __future__ import annotations

import contextlib
import enum
import select
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any

__all__ = ["CallTrigger", "ProxyMode", "TcpProxy"]

_LOOPBACK = "127.0.0.1"
_POLL = 0.05  # seconds: how often blocked pumps re-check the mode and the stop flag
_CHUNK = 1 << 16
_SEND_TIMEOUT = 10.0  # seconds: a peer that stops reading this long is treated as gone


class ProxyMode(str, enum.Enum):
    """What the proxy does with connections."""

    FORWARD = "forward"
    REFUSE = "refuse"
    BLACKHOLE = "blackhole"


def _reset(sock: socket.socket) -> None:
    """Close ``sock`` with an RST instead of a FIN (SO_LINGER with a zero timeout)."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


class _Pair:
    """One proxied connection: the client's socket and ours to the server."""

    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.client = client
        self.upstream = upstream
        self.closed = threading.Event()

    def reset(self) -> None:
        if not self.closed.is_set():
            self.closed.set()
            _reset(self.client)
            _reset(self.upstream)


class TcpProxy:
    """Forward ``127.0.0.1:<port>`` to ``target_host:target_port``, with faults on command.

    Args:
        target_port: the server's port.
        target_host: the server's host (loopback by default).
        connect_timeout: seconds to wait for the server when a client connects.

    Attributes:
        accepted: connections accepted so far.
        resets: connections reset by :meth:`drop`, :meth:`refuse` or while refusing.
    """

    def __init__(
        self, target_port: int, target_host: str = _LOOPBACK, *, connect_timeout: float = 5.0
    ) -> None:
        self.target = (target_host, target_port)
        self.connect_timeout = connect_timeout
        self.accepted = 0
        self.resets = 0
        self._mode = ProxyMode.FORWARD
        self._flowing = threading.Event()
        self._flowing.set()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._pairs: set[_Pair] = set()
        self._threads: list[threading.Thread] = []
        self._listener: socket.socket | None = None
        self._timer: threading.Timer | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> TcpProxy:
        """Bind a free loopback port and start accepting."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((_LOOPBACK, 0))
        listener.listen(64)
        listener.settimeout(_POLL)
        self._listener = listener
        self._spawn(self._accept_loop, "tcp-proxy-accept")
        return self

    def stop(self) -> None:
        """Reset every connection, close the listener and join the threads (bounded)."""
        self._stopping.set()
        self._flowing.set()
        if self._timer is not None:
            self._timer.cancel()
        self._reset_all(count=False)
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.close()
        deadline = time.monotonic() + 5.0
        for thread in list(self._threads):
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port clients connect to."""
        if self._listener is None:
            raise RuntimeError("the proxy has not been started")
        return int(self._listener.getsockname()[1])

    @property
    def uri(self) -> str:
        """``http://127.0.0.1:<port>``, for a Milvus client."""
        return f"http://{_LOOPBACK}:{self.port}"

    @property
    def mode(self) -> ProxyMode:
        """The current mode."""
        return self._mode

    @property
    def open_connections(self) -> int:
        """Connections currently proxied."""
        with self._lock:
            return sum(1 for p in self._pairs if not p.closed.is_set())

    # -- faults --------------------------------------------------------------------------

    def set_mode(self, mode: ProxyMode | str) -> None:
        """Switch mode; entering ``REFUSE`` resets every open connection at once."""
        mode = ProxyMode(mode)
        self._mode = mode
        if mode is ProxyMode.BLACKHOLE:
            self._flowing.clear()
        else:
            self._flowing.set()
        if mode is ProxyMode.REFUSE:
            self._reset_all()

    def drop(self) -> int:
        """Reset every open connection once (a blip); return how many were reset."""
        return self._reset_all()

    def outage(self, seconds: float, mode: ProxyMode | str = ProxyMode.REFUSE) -> None:
        """Enter ``mode`` now and go back to ``FORWARD`` after ``seconds`` (in a timer)."""
        if self._timer is not None:
            self._timer.cancel()
        self.set_mode(mode)
        self._timer = threading.Timer(seconds, self.set_mode, args=(ProxyMode.FORWARD,))
        self._timer.daemon = True
        self._timer.start()

    @contextlib.contextmanager
    def fault(self, mode: ProxyMode | str) -> Iterator[None]:
        """Hold ``mode`` for the duration of the block, then forward again."""
        self.set_mode(mode)
        try:
            yield
        finally:
            self.set_mode(ProxyMode.FORWARD)

    # -- internals -----------------------------------------------------------------------

    def _spawn(self, target: object, name: str, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)  # type: ignore[arg-type]
        self._threads.append(thread)
        thread.start()

    def _reset_all(self, *, count: bool = True) -> int:
        with self._lock:
            pairs = [p for p in self._pairs if not p.closed.is_set()]
            self._pairs.clear()
        for pair in pairs:
            pair.reset()
        if count:
            self.resets += len(pairs)
        return len(pairs)

    def _accept_loop(self) -> None:
        assert self._listener is not None  # set by start() before this thread runs
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            if self._mode is ProxyMode.REFUSE:
                self.resets += 1
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=self.connect_timeout)
            except OSError:
                _reset(client)  # the server itself is down: pass the failure on
                continue
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.settimeout(_SEND_TIMEOUT)
            pair = _Pair(client, upstream)
            with self._lock:
                self._pairs.add(pair)
            self._spawn(self._pump, "tcp-proxy-up", pair, client, upstream)
            self._spawn(self._pump, "tcp-proxy-down", pair, upstream, client)

    def _pump(self, pair: _Pair, source: socket.socket, sink: socket.socket) -> None:
        while not pair.closed.is_set() and not self._stopping.is_set():
            if not self._flowing.wait(_POLL):
                continue  # blackhole: hold the bytes where they are
            try:
                # Wait for bytes in short slices, so a reset or a mode change is seen soon
                # (poll, not select: select fails on a descriptor above 1023).
                poller = select.poll()
                poller.register(source, select.POLLIN | select.POLLHUP | select.POLLERR)
                if not poller.poll(_POLL * 1000):
                    continue
                data = source.recv(_CHUNK)
            except (OSError, ValueError):  # ValueError: the socket was closed meanwhile
                break
            if not data:
                break
            try:
                sink.sendall(data)
            except OSError:
                break
        pair.reset()
        with self._lock:
            self._pairs.discard(pair)


def write_rpcs(client: Any) -> Any:
    """The gRPC stub a pymilvus client's writes go through (its ``Insert`` / ``Upsert``).

    A trigger set there sees every write RPC, whether it came from pymilvus' public
    ``client.upsert`` or from the store's column-packed requests (``core/packing.py``),
    which do not call it. A trigger on ``client.upsert`` itself would make the store use
    that method (it calls a replaced method, never around it), and so test the other path.
    """
    return client._get_connection()._stub


class CallTrigger:
    """Wrap ``owner.<method>``; run ``action`` in a thread when call number ``at`` starts.

    Every call is forwarded to the original method unchanged. ``fired_at`` is the
    ``time.monotonic()`` of the trigger, ``calls`` the number of calls so far.
    """

    def __init__(self, owner: Any, method: str, at: int, action: Callable[[], object]) -> None:
        self.calls = 0
        self.fired_at: float | None = None
        self._at = at
        self._action = action
        self._forward: Callable[..., Any] = getattr(owner, method)
        setattr(owner, method, self)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls == self._at:
            self.fired_at = time.monotonic()
            threading.Thread(target=self._action, name="call-trigger", daemon=True).start()
        return self._forward(*args, **kwargs)
