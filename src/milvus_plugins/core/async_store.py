"""The asynchronous store: the same methods as :class:`MilvusStore`, awaited.

An :class:`AsyncMilvusStore` is made from a sync store and shares its session (spec,
capabilities, collection state) and options. Each method is the sync store's
operation, built by the same :class:`~milvus_plugins.core.facade.StoreOperations`
method, awaited on an :class:`AsyncRunner` (which owns one ``AsyncMilvusClient`` per
event loop).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from milvus_plugins.core.arguments import checked_arguments
from milvus_plugins.core.capabilities import Capabilities
from milvus_plugins.core.config import CollectionSpec
from milvus_plugins.core.facade import StoreOperations, async_method
from milvus_plugins.core.ops.calls import Op
from milvus_plugins.core.runners.aio import AsyncRunner

if TYPE_CHECKING:  # the sync store is the constructor's argument, never used here
    from milvus_plugins.core.store import MilvusStore

__all__ = ["AsyncMilvusStore"]

T = TypeVar("T")


@checked_arguments
class AsyncMilvusStore:
    """Async access to one collection; see :class:`MilvusStore` for each method.

    Args:
        store: the sync store whose session and options this one shares.
    """

    def __init__(self, store: MilvusStore) -> None:
        self.sync = store
        self.session = store.session
        self.ops = store.ops
        self.runner = AsyncRunner(store.settings, store.runner)

    async def _run(self, op: Op[T]) -> T:
        return await self.runner.run(op)

    @property
    def spec(self) -> CollectionSpec:
        """The effective collection spec."""
        return self.session.spec

    @property
    def client(self) -> Any:
        """The ``AsyncMilvusClient`` of the running event loop (created on first access).

        On Milvus Lite, starting the database's server (once per process) may block the
        loop for a moment; the client holds a lease on it until :meth:`close`.
        """
        return self.runner.hand_out()

    def release_ended_loops(self) -> None:
        """Drop the clients of event loops that are no longer running (no I/O).

        A sync ``close()`` of an adapter calls this after ``asyncio.run`` has returned,
        so that the Milvus Lite server of the database can stop.
        """
        self.runner.release_ended_loops()

    async def capabilities(self) -> Capabilities:
        """What the connected Milvus supports."""
        return await self._run(self.ops.capabilities())

    async def close(self) -> None:
        """Close the async clients (the store reconnects if used again).

        The client of the running loop is closed; those of other loops are dropped. On
        Milvus Lite the last client or store of a database to close stops its server.
        """
        await self.runner.close()

    async def __aenter__(self) -> AsyncMilvusStore:
        """Return the store; leaving the block closes it (and its sync twin)."""
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Close the async clients and the sync store."""
        try:
            await self.close()
        finally:
            self.sync.close()

    # -- every operation, defined once in StoreOperations (docs there) --------------

    ensure_collection = async_method(StoreOperations.ensure_collection)
    exists = async_method(StoreOperations.exists)
    drop = async_method(StoreOperations.drop)
    list_collections = async_method(StoreOperations.list_collections)
    flush = async_method(StoreOperations.flush)
    compact = async_method(StoreOperations.compact)
    load = async_method(StoreOperations.load)
    release = async_method(StoreOperations.release)
    create_partition = async_method(StoreOperations.create_partition)
    list_partitions = async_method(StoreOperations.list_partitions)
    drop_partition = async_method(StoreOperations.drop_partition)
    stats = async_method(StoreOperations.stats)

    upsert = async_method(StoreOperations.upsert)
    check_write = async_method(StoreOperations.check_write)
    delete = async_method(StoreOperations.delete)
    clear = async_method(StoreOperations.clear)
    reset = async_method(StoreOperations.reset)
    get = async_method(StoreOperations.get)
    query = async_method(StoreOperations.query)
    count = async_method(StoreOperations.count)

    search = async_method(StoreOperations.search)
    search_many = async_method(StoreOperations.search_many)
    sparse_search = async_method(StoreOperations.sparse_search)
    hybrid_search = async_method(StoreOperations.hybrid_search)
    filtered_hits = async_method(StoreOperations.filtered_hits)
    mmr_search = async_method(StoreOperations.mmr_search)
    retrieve = async_method(StoreOperations.retrieve)
    run_search = async_method(StoreOperations.run_search)
