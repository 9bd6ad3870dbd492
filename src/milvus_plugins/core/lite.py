"""The Milvus Lite servers of this process: started once per database, released by the last user.

pymilvus starts Milvus Lite itself when a client is given a ``.db`` path, through
``milvus_lite.server_manager.server_manager_instance``. That start is not atomic: two
clients created at once on a fresh path (a sync client in a worker thread and an async
client on the event loop) both try to open the database, and the loser fails with
"Open local milvus failed". Nothing ever stops the server either, so the database stays
locked against other processes until this one exits.

Here every start goes through one lock per absolute path and is counted: each client
holds a :class:`LiteLease`, created by :func:`acquire`, and points at the server's
local gRPC address instead of the ``.db`` path. When the last lease on a path is
released the server is stopped, which frees its threads, its sockets and the lock on
the database. A server that was already running when the first lease was taken (started
by a bare ``MilvusClient("x.db")`` of the application) is shared but never stopped here:
its client still needs it. (A bare client created *after* our first lease shares our
server and loses it when our last lease is released.)
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import stat
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from milvus_plugins.core.errors import ConfigError, MilvusConnectionError, shown
from milvus_plugins.core.messages import shown_path

__all__ = ["LiteLease", "acquire", "check_database_path", "lease_count", "serialize_catalog"]


@dataclass
class _Server:
    uri: str
    leases: int = 0
    generation: int = 0
    owned: bool = True  # started by acquire(), so stopped by the last release
    lock: threading.Lock = field(default_factory=threading.Lock)


_SERVERS: dict[str, _Server] = {}
_GUARD = threading.Lock()
_STARTS = itertools.count(1)


class LiteLease:
    """One holder's claim on the Milvus Lite server of a database path.

    Attributes:
        path: the absolute path of the database.
        uri: the server's local gRPC address (``http://127.0.0.1:<port>``), for clients.
        generation: which start of the server this is (a restarted server has a new
            one, and its collections must be loaded again).
    """

    def __init__(self, path: str, uri: str, generation: int) -> None:
        self.path = path
        self.uri = uri
        self.generation = generation
        self._released = False
        self._lock = threading.Lock()

    def release(self) -> None:
        """Give the claim back; the last one on the path stops the server. Idempotent."""
        with self._lock:
            if self._released:
                return
            self._released = True
        _release(self.path)

    def release_unless_last(self) -> bool:
        """Give the claim back only if another claim on the path is held (the server
        then keeps running: this never stops it); whether it was given back. Released
        already counts as given back."""
        with self._lock:
            if self._released:
                return True
            if not _release(self.path, stop=False):
                return False
            self._released = True
            return True

    def __repr__(self) -> str:
        state = "released" if self._released else "held"
        return f"LiteLease(path={self.path!r}, uri={self.uri!r}, {state})"


def _entry(path: str) -> _Server:
    with _GUARD:
        entry = _SERVERS.get(path)
        if entry is None:
            entry = _SERVERS[path] = _Server(uri="")
        return entry


def acquire(path: str) -> LiteLease:
    """Start (or reuse) the Milvus Lite server of the database at ``path``.

    Blocks while another thread starts the same database (tens of milliseconds).

    Args:
        path: the ``.db`` path (``~`` expanded and made absolute here).

    Returns:
        A lease whose ``uri`` a ``MilvusClient``/``AsyncMilvusClient`` connects to.

    Raises:
        ConfigError: the directory that should hold the database does not exist, or
            the path is something Milvus Lite cannot open as a database (a regular
            file, a dangling symbolic link, a device; checked before starting it).
        MilvusConnectionError: the database could not be opened; when another process
            holds it, the message says so and what to do.
    """
    path = os.path.abspath(os.path.expanduser(path))
    check_database_path(path)
    while True:
        entry = _entry(path)
        with entry.lock:
            with _GUARD:
                if _SERVERS.get(path) is not entry:
                    continue  # released and removed while we waited: start afresh
            if entry.leases == 0:
                entry.owned = not _running(path)
                entry.uri = _start(path)
                entry.generation = next(_STARTS)
                forget_cached_schemas(entry.uri)  # its port may be a stopped server's
            entry.leases += 1
            return LiteLease(path, entry.uri, entry.generation)


def check_database_path(path: str) -> None:
    """Refuse a path Milvus Lite cannot open as a database, before starting it (no writes).

    Milvus Lite 3 keeps a database in a directory (``LOCK``, ``collections/`` ...), which
    it creates when missing; any existing directory is opened (an empty one becomes a
    new database). Anything else at the path makes it fail with a traceback in its log,
    which would surface as "could not open the database".

    Raises:
        ConfigError: the parent directory does not exist, or the path is a regular
            file, a symbolic link to nothing, or another non-directory.
    """
    parent = os.path.dirname(path)
    if not os.path.isdir(parent):
        raise ConfigError(
            f"uri={shown_path(path)}: the directory {shown_path(parent)} does not exist; create "
            "it first "
            "(Milvus Lite creates the database, not the directories above it)."
        )
    # One stat of what is there (another thread may be creating the database meanwhile).
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if not os.path.islink(path):
            return  # nothing there yet: Milvus Lite creates it
        what = f"a symbolic link to the missing {shown_path(os.readlink(path))}"
    except OSError:
        return  # unreadable here: Milvus Lite says why
    else:
        if stat.S_ISDIR(mode):
            return
        what = "a file" if stat.S_ISREG(mode) else "not a directory"
    raise ConfigError(
        f"uri={shown_path(path)} is {what}, not a Milvus Lite database (Milvus Lite 3 keeps a "
        "database in a directory of that name); pass a new path or the database's path."
    )


def _release(path: str, *, stop: bool = True) -> bool:
    """Give one claim on ``path`` back; whether it was. The last claim stops the server,
    unless ``stop`` is false: then the last claim is not given back."""
    with _GUARD:
        entry = _SERVERS.get(path)
    if entry is None:
        return True  # nothing held: nothing to give back
    with entry.lock:
        if entry.leases == 1 and not stop:
            return False
        entry.leases -= 1
        if entry.leases > 0:
            return True
        try:
            if entry.owned:
                _stop(path)
                forget_cached_schemas(entry.uri)
        finally:
            # Only once the server has stopped: until then a thread starting the same
            # database finds this entry and waits on its lock. Removed first, it made a
            # new entry and started a second server while this one still held the
            # database's file lock (seen: close() while another thread wrote).
            with _GUARD:
                _SERVERS.pop(path, None)
        return True


def _running(path: str) -> bool:
    """Whether pymilvus already runs a Lite server for ``path`` (started outside here)."""
    from milvus_lite.server_manager import server_manager_instance

    return path in getattr(server_manager_instance, "_servers", {})


def _served(path: str) -> tuple[Any, ...]:
    """Milvus Lite's ``(server, database, port)`` for ``path``; ``()`` when it runs none
    (or keeps its servers some other way)."""
    from milvus_lite.server_manager import server_manager_instance

    entry = getattr(server_manager_instance, "_servers", {}).get(path)
    return entry if isinstance(entry, tuple) else ()


def forget_cached_schemas(uri: str) -> None:
    """Drop what pymilvus caches for the server at ``uri`` (collection schemas, write
    timestamps).

    pymilvus keeps them for the whole process, keyed by ``host:port`` and collection
    name. A Lite server listens on a free local port, so a server started after another
    stopped can get its port: pymilvus would then pack rows for a collection of the new
    database with the schema of a same-named collection of the old one (seen: a write
    refused for columns the new collection does not have). Best effort: without that
    cache (another pymilvus layout) there is nothing to drop.
    """
    try:
        from pymilvus.client.cache import GlobalCache
    except ImportError:  # pragma: no cover - pymilvus without the cache
        return
    endpoint = urlsplit(uri).netloc or uri
    for name in ("schema", "collection_ts"):
        region = getattr(GlobalCache, name, None)
        lock, cache = getattr(region, "_lock", None), getattr(region, "_cache", None)
        if lock is None or cache is None:
            continue
        with lock:
            for key in [k for k in cache if isinstance(k, tuple) and k and k[0] == endpoint]:
                cache.pop(key, None)


_STOP_GRACE = 2.0
"""Seconds a stopping Lite server gives its calls in flight to finish (Lite's own grace)."""

_STOP_WAIT = 10.0
"""Seconds a stopping Lite server is waited for before its worker pool is left alone."""


def _stop(path: str) -> None:
    from milvus_lite.server_manager import server_manager_instance

    # grpc does not shut down the worker pool a server was given: its idle threads
    # last until the pool is garbage-collected, which anything still referring to the
    # server (a logged exception's traceback, say) postpones forever. Shut it down.
    entry = _served(path)
    server = entry[0] if entry else None
    # Stopped, with its calls in flight finished, before Milvus Lite closes the
    # database: its own release_server begins a graceful stop without waiting for it and
    # closes the database at once, under calls still running, and a write answered then
    # was lost (rows acknowledged to a writer in another thread, gone on reopening).
    stopped = False
    if server is not None:
        with contextlib.suppress(Exception):
            stopped = bool(server.stop(_STOP_GRACE).wait(_STOP_WAIT))
    server_manager_instance.release_server(path)  # its stop is done: closes the database
    # The pool only once the server has stopped: calls still arriving during the grace
    # period are handed to it, and a shut pool made gRPC's serving thread die on them,
    # leaving threads that kept the process from exiting.
    pool = getattr(getattr(server, "_state", None), "thread_pool", None)
    if stopped and isinstance(pool, ThreadPoolExecutor):
        pool.shutdown(wait=False)


def lease_count(path: str) -> int:
    """How many leases are held on the database at ``path`` in this process."""
    with _GUARD:
        entry = _SERVERS.get(os.path.abspath(os.path.expanduser(path)))
    return entry.leases if entry is not None else 0


def _start(path: str) -> str:
    try:
        from milvus_lite.server_manager import server_manager_instance
    except ImportError as exc:  # pragma: no cover - milvus-lite is a dependency
        raise ConfigError(
            f"uri={shown(path)} names a Milvus Lite database, which needs the milvus-lite "
            "package: pip install milvus-lite."
        ) from exc
    uri = server_manager_instance.start_and_get_uri(path)
    if uri is not None:
        entry = _served(path)
        if len(entry) > 1:
            serialize_catalog(entry[1])
        return str(uri)
    holder = _lock_holder(path)
    if holder is None:
        raise MilvusConnectionError(
            f"Milvus Lite could not open the database {shown(path)} (its log says why); check "
            "that the path is a Milvus Lite database directory you can write to."
        )
    who = "this process (a client not made by milvus-plugins)"
    if holder != os.getpid():
        who = f"another process (pid {holder})" if holder > 0 else "another process"
    raise MilvusConnectionError(
        f"the Milvus Lite database {shown(path)} is in use by {who}: Milvus Lite lets only one "
        "process open a database at a time. Close it there (stop that program, notebook "
        "kernel or CLI command, or close() its stores), or use another path."
    )


_CATALOG_METHODS = (
    "create_database",
    "drop_database",
    "create_collection",
    "get_collection",
    "drop_collection",
    "rename_collection",
    "truncate_collection",
    "alter_collection_properties",
    "create_snapshot",
    "drop_snapshot",
    "restore_snapshot",
    "alter_database_properties",
    "drop_database_properties",
    "create_alias",
    "alter_alias",
    "drop_alias",
    "close",
)
"""The methods of Milvus Lite's database object that open, replace or close collections,
or change the catalog they are found in."""


def serialize_catalog(db: object) -> None:
    """Make the catalog methods of a Milvus Lite database object take one lock. Idempotent.

    Milvus Lite 3 opens a collection on its first use after the database is opened
    (``MilvusLite.get_collection``: a check of its cache, then a new ``Collection`` that
    replays the write-ahead log, then the cache entry) with no lock, while its gRPC
    server runs up to ten calls at once. Two calls reaching a collection first at the
    same moment (a write and a read right after a start, or any two requests of an
    application that has just opened its database) each built a ``Collection``: both
    replayed the log into a write-ahead file of the same number, the cache kept one,
    and rows written through the other were acknowledged and then lost (its memory was
    never flushed; the kept one deleted the shared log file on closing). Seen in 1 of
    about 40 runs of close() racing writes; reproduced without any close() too (two
    stores' first writes after a start, the opening slowed down to widen the window).

    Only the catalog is serialized (opening, creating, dropping, renaming collections and
    closing the database); reads and writes run on the opened collections as before. A
    collection already open is found without the lock (every call of Milvus Lite's server
    looks its collection up), so opening a large collection does not hold up calls on
    the others. Best effort: an object without these methods is left alone.
    """
    if getattr(db, "_milvus_plugins_catalog_lock", None) is not None:
        return
    lock = threading.RLock()
    try:
        db._milvus_plugins_catalog_lock = lock  # type: ignore[attr-defined]
    except AttributeError:  # pragma: no cover - a slotted object: nothing to wrap
        return
    for name in _CATALOG_METHODS:
        method = getattr(db, name, None)
        if callable(method):
            setattr(db, name, _under(lock, method))
    opener = getattr(db, "get_collection", None)
    if callable(opener):
        db.get_collection = _opened_first(db, opener)  # type: ignore[attr-defined]


def _under(lock: threading.RLock, method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return method(*args, **kwargs)

    return locked


def _opened_first(db: Any, locked_opener: Callable[..., Any]) -> Callable[..., Any]:
    """``get_collection`` that returns an already open collection without the lock.

    Reads Milvus Lite 3's cache of open collections (``_collections``, keyed by database
    and resolved collection name): a hit is what ``get_collection`` itself returns for
    an open collection. Anything else (a miss, an alias that does not resolve, another
    Milvus Lite layout) takes the locked path, which opens, checks and raises as before.
    """

    @functools.wraps(locked_opener)
    def get_collection(*args: Any, **kwargs: Any) -> Any:
        name = kwargs.get("name", args[0] if args else None)
        database = kwargs.get("database_name", args[1] if len(args) > 1 else _DEFAULT_DATABASE)
        cache = getattr(db, "_collections", None)
        if isinstance(cache, dict) and isinstance(name, str) and isinstance(database, str):
            try:
                key = (
                    db._normalize_database_name(database),
                    db.resolve_collection_name(name, database_name=database),
                )
                found = cache.get(key)
            except Exception:
                found = None
            if found is not None:
                return found
        return locked_opener(*args, **kwargs)

    return get_collection


_DEFAULT_DATABASE = "default"
"""Milvus Lite's default database name (``get_collection``'s default argument)."""


def _lock_holder(path: str) -> int | None:
    """The pid holding the database's ``LOCK`` file (``-1``: held, pid unknown), or ``None``."""
    lock_file = os.path.join(path, "LOCK")
    try:
        inode = os.stat(lock_file).st_ino
    except OSError:
        return None
    try:
        with open("/proc/locks", encoding="ascii") as table:
            for line in table:
                # "1: FLOCK  ADVISORY  WRITE 4242 08:01:1234567 0 EOF"
                parts = line.split()
                if len(parts) > 5 and parts[1] == "FLOCK" and parts[5].endswith(f":{inode}"):
                    return int(parts[4])
    except (OSError, ValueError):
        pass
    return -1 if _flock_is_held(lock_file) else None


def _flock_is_held(lock_file: str) -> bool:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no probe, report as held
        return True
    fd = os.open(lock_file, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)
