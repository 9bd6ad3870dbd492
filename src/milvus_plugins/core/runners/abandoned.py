"""Connections and Milvus Lite leases of stores that were dropped without ``close()``.

A notebook cell run again builds a new store and drops the old one unclosed. Each store
has a connection of its own (``dedicated``), which pymilvus keeps until it is closed, and
on Milvus Lite a lease that keeps the database's server running (and the file locked
against other processes): measured, 180-340 KB and one lease more per cell run, for good.

When a runner is garbage-collected with its client still open, :func:`watch` and
:func:`watch_loops` put what it held on a list; :func:`close_pending` closes those
clients and gives back those leases, except the one lease that would stop a server:
that one is kept (:func:`parked`, at most one per database), so the server runs on as it
would under the dropped store, and as raw pymilvus leaves it (stopping a database's
server at some later connect of another store made every connect wait on it, and pulled
the server from under a raw client of the same file). A cell run again on the same
database finds its new store holding a lease, so the old one is given back: the count
stays at one per open store. That happens at the next connect of any store of
the process, once the new client and its lease are that store's (so a server both use
keeps running, and an interrupt leaves nothing unowned), not in the collector itself:
it may run while this thread holds a lock that closing needs. An async client is not
closed (its channel needs its event loop, which may have ended): only its lease is given
back, as for a loop that ends while its store lives. A client handed to user code
(``store.client``) is left open, with its lease: the user may hold it still. A forked
child starts with an empty list (its parent's connections are not its own).
"""

from __future__ import annotations

import contextlib
import os
import weakref
from collections.abc import Mapping
from typing import Any

from milvus_plugins.core.lite import LiteLease

__all__ = ["HandedOut", "close_pending", "parked", "pending", "watch", "watch_loops"]

# What dropped runners held: (client or None, lease or None). Appended to by the
# collector and popped by close_pending, both atomic under the GIL: no lock, which the
# collector could find held by the thread it interrupted.
_PENDING: list[tuple[Any, LiteLease | None]] = []


# Per database path: the one lease of a dropped runner kept because giving it back
# would have stopped that database's server.
_PARKED: dict[str, LiteLease] = {}


def _forget_parent() -> None:
    _PENDING.clear()
    _PARKED.clear()


# A child process does not own its parent's connections or Lite servers.
os.register_at_fork(after_in_child=_forget_parent)


class HandedOut:
    """Whether a runner's client was given to user code (``store.client``): the user may
    still hold it when the runner is collected, so it is then left open, with its lease."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = False


def _dropped(client: Any, lease: LiteLease | None, handed: HandedOut) -> None:
    if not handed.value:
        _PENDING.append((client, lease))


def _dropped_loops(clients: Mapping[Any, tuple[Any, LiteLease | None]], handed: HandedOut) -> None:
    if not handed.value:
        _PENDING.extend((None, lease) for _, lease in list(clients.values()))


def watch(
    owner: object, client: Any, lease: LiteLease | None, handed: HandedOut
) -> weakref.finalize[Any, Any]:
    """Close ``client`` and give back ``lease`` once ``owner`` is collected, unless the
    returned finalizer is detached first (the owner closed them itself) or the client was
    handed out."""
    finalizer = weakref.finalize(owner, _dropped, client, lease, handed)
    finalizer.atexit = False  # at exit the process' connections end anyway
    return finalizer


def watch_loops(
    owner: object, clients: Mapping[Any, tuple[Any, LiteLease | None]], handed: HandedOut
) -> weakref.finalize[Any, Any]:
    """Give back the leases left in ``clients`` (a mapping ``owner`` keeps, changed in
    place: event loop -> (async client, lease)) once ``owner`` is collected, unless one
    of its clients was handed out."""
    finalizer = weakref.finalize(owner, _dropped_loops, clients, handed)
    finalizer.atexit = False
    return finalizer


def close_pending() -> int:
    """Close the clients and give back the leases of dropped runners (but the last lease
    of a database, which is kept: :func:`parked`); how many entries."""
    done = 0
    while True:
        try:
            client, lease = _PENDING.pop()
        except IndexError:
            return done
        done += 1
        # A failure here (a dead connection, a server that will not stop) belongs to a
        # store nobody holds; it must not fail the call of the store that connects.
        try:
            if client is not None:
                with contextlib.suppress(Exception):
                    client.close()
        finally:  # an interrupt while closing still gives the lease back (or keeps it)
            if lease is not None:
                _give_back(lease)


def _give_back(lease: LiteLease) -> None:
    """Release ``lease`` unless that would stop its server; then keep it in ``_PARKED``."""
    if not lease.release_unless_last():
        kept = _PARKED.setdefault(lease.path, lease)
        if kept is not lease:  # cannot be the last while another is kept: never stops
            lease.release()


def parked() -> dict[str, LiteLease]:
    """The leases kept for dropped runners, by database path (a copy)."""
    return dict(_PARKED)


def pending() -> int:
    """How many dropped runners' clients or leases wait for :func:`close_pending`."""
    return len(_PENDING)
