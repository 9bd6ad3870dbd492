"""The asynchronous store: the same methods as :class:`MilvusStore`, awaited.

An :class:`AsyncMilvusStore` is made from a sync store and shares its session (spec,
capabilities, collection state) and options; it runs the same operations
(:mod:`milvus_plugins.core.ops`) on an :class:`AsyncRunner`, which owns one
``AsyncMilvusClient`` per event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from milvus_plugins.core.arguments import as_list, checked_arguments
from milvus_plugins.core.capabilities import Capabilities
from milvus_plugins.core.config import CollectionSpec
from milvus_plugins.core.decay import Decay
from milvus_plugins.core.filters import Filter, filter_arg
from milvus_plugins.core.grouping import Grouping
from milvus_plugins.core.ops import admin, lifecycle, reads, search, writes
from milvus_plugins.core.ops.calls import Op, or_empty
from milvus_plugins.core.ops.context import OpContext
from milvus_plugins.core.ops.fusion import Fusion
from milvus_plugins.core.ops.search import SearchKind, SearchRequest, plan_retrieval
from milvus_plugins.core.ops.writes import WriteMode
from milvus_plugins.core.ranking import Ranker
from milvus_plugins.core.records import Record
from milvus_plugins.core.requests import SparseQuery
from milvus_plugins.core.results import Hit
from milvus_plugins.core.runners.aio import AsyncRunner
from milvus_plugins.core.scope import refuse_unscoped_admin
from milvus_plugins.core.stats import CollectionStats
from milvus_plugins.core.types import RetrievalMode

if TYPE_CHECKING:  # the sync store is the constructor's argument, never used here
    from milvus_plugins.core.store import MilvusStore

__all__ = ["AsyncMilvusStore"]

T = TypeVar("T")
FilterLike = Filter | str | None
Tenant = str | int


@checked_arguments
class AsyncMilvusStore:
    """Async access to one collection; see :class:`MilvusStore` for each method.

    Args:
        store: the sync store whose session and options this one shares.
    """

    def __init__(self, store: MilvusStore) -> None:
        self.sync = store
        self.session = store.session
        self._context: Callable[[], OpContext] = store.op_context
        self.scoped_context: Callable[..., OpContext] = store.scoped_context
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
        return self.runner.client

    def release_ended_loops(self) -> None:
        """Drop the clients of event loops that are no longer running (no I/O).

        A sync ``close()`` of an adapter calls this after ``asyncio.run`` has returned,
        so that the Milvus Lite server of the database can stop.
        """
        self.runner.release_ended_loops()

    async def capabilities(self) -> Capabilities:
        """What the connected Milvus supports."""
        return await self._run(lifecycle.capabilities_op(self.session))

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

    async def ensure_collection(
        self, dim: int | None = None, records: Sequence[Record] = ()
    ) -> bool:
        """Async twin of :meth:`MilvusStore.ensure_collection`."""
        return await self._run(lifecycle.ensure_op(self._context(), dim, records))

    async def exists(self) -> bool:
        """Async twin of :meth:`MilvusStore.exists`."""
        return await self._run(lifecycle.exists_op(self._context()))

    async def drop(self) -> None:
        """Async twin of :meth:`MilvusStore.drop`."""
        refuse_unscoped_admin(self.sync.tenancy, "drop()")
        await self._run(lifecycle.drop_op(self._context()))

    async def list_collections(self) -> list[str]:
        """Async twin of :meth:`MilvusStore.list_collections`."""
        return await self._run(admin.list_collections_op())

    async def flush(self) -> None:
        """Async twin of :meth:`MilvusStore.flush`."""
        await self._run(admin.flush_op(self._context()))

    async def compact(self) -> int:
        """Async twin of :meth:`MilvusStore.compact`."""
        return await self._run(admin.compact_op(self._context()))

    async def load(self) -> None:
        """Async twin of :meth:`MilvusStore.load`."""
        await self._run(admin.load_op(self._context()))

    async def release(self) -> None:
        """Async twin of :meth:`MilvusStore.release`."""
        await self._run(admin.release_op(self._context()))

    async def create_partition(self, name: str) -> None:
        """Async twin of :meth:`MilvusStore.create_partition`."""
        await self._run(admin.create_partition_op(self._context(), name))

    async def list_partitions(self) -> list[str]:
        """Async twin of :meth:`MilvusStore.list_partitions`."""
        return await self._run(admin.list_partitions_op(self._context()))

    async def drop_partition(self, name: str) -> None:
        """Async twin of :meth:`MilvusStore.drop_partition`."""
        await self._run(admin.drop_partition_op(self._context(), name))

    async def stats(self) -> CollectionStats:
        """Async twin of :meth:`MilvusStore.stats`."""
        return await self._run(admin.stats_op(self._context()))

    async def upsert(
        self,
        records: Sequence[Record],
        *,
        mode: WriteMode | str = WriteMode.AUTO,
        progress: bool | None = None,
        batch_rows: int | None = None,
        partition_name: str | None = None,
        tenant: Tenant | None = None,
        embed: Callable[[list[str]], Any] | None = None,
    ) -> list[str]:
        """Async twin of :meth:`MilvusStore.upsert` (``embed`` may be async)."""
        ctx = self.scoped_context(tenant, partition_name=partition_name)
        op = writes.upsert_op(ctx, records, mode, progress, batch_rows, embed)
        return await self._run(op)

    async def delete(
        self,
        ids: Sequence[str] | None = None,
        filter: FilterLike = None,
        *,
        partition_names: Sequence[str] | None = None,
        tenant: Tenant | None = None,
    ) -> int:
        """Async twin of :meth:`MilvusStore.delete`."""
        ctx = self.scoped_context(tenant, partition_names)
        return await self._run(writes.delete_op(ctx, ids, filter))

    async def clear(
        self, *, partition_names: Sequence[str] | None = None, tenant: Tenant | None = None
    ) -> int:
        """Async twin of :meth:`MilvusStore.clear`."""
        return await self._run(writes.clear_op(self.scoped_context(tenant, partition_names)))

    async def get(
        self,
        ids: Sequence[str],
        *,
        include_vectors: bool = False,
        partition_names: Sequence[str] | None = None,
        tenant: Tenant | None = None,
    ) -> list[Record]:
        """Async twin of :meth:`MilvusStore.get`."""
        op = reads.get_op(self.scoped_context(tenant, partition_names), ids, include_vectors)
        return await self._run(or_empty(op, list))

    async def query(
        self,
        filter: FilterLike = None,
        *,
        limit: int | None = None,
        offset: int = 0,
        include_vectors: bool = False,
        partition_names: Sequence[str] | None = None,
        tenant: Tenant | None = None,
    ) -> list[Record]:
        """Async twin of :meth:`MilvusStore.query`."""
        ctx = self.scoped_context(tenant, partition_names)
        op = reads.query_op(ctx, filter_arg(filter), limit, offset, include_vectors)
        return await self._run(or_empty(op, list))

    async def count(
        self,
        filter: FilterLike = None,
        *,
        partition_names: Sequence[str] | None = None,
        tenant: Tenant | None = None,
    ) -> int:
        """Async twin of :meth:`MilvusStore.count`."""
        ctx = self.scoped_context(tenant, partition_names)
        return await self._run(or_empty(reads.count_op(ctx, filter_arg(filter)), int))

    async def search(
        self,
        vector: Sequence[float],
        *,
        k: int = 4,
        filter: FilterLike = None,
        search_params: Mapping[str, Any] | None = None,
        include_vectors: bool = False,
        grouping: Grouping | None = None,
        score_threshold: float | None = None,
        decay: Decay | None = None,
        field: str | None = None,
        partition_names: Sequence[str] | None = None,
        tenant: Tenant | None = None,
    ) -> list[Hit]:
        """Async twin of :meth:`MilvusStore.search`."""
        if grouping is not None or score_threshold is not None or decay is not None:
            return await self.run_search(
                SearchRequest(
                    kind=SearchKind.DENSE,
                    vector=vector,
                    k=k,
                    where=filter_arg(filter),
                    search_params=search_params,
                    include_vectors=include_vectors,
                    grouping=grouping,
                    score_threshold=score_threshold,
                    decay=decay,
                    field=field,
                ),
                partition_names=partition_names,
                tenant=tenant,
            )
        hits = await self.search_many(
            [vector],
            k=k,
            filter=filter,
            search_params=search_params,
            include_vectors=include_vectors,
            field=field,
            partition_names=partition_names,
            tenant=tenant,
        )
        return hits[0]

    async def search_many(
        self,
        vectors: Sequence[Sequence[float]],
        *,
        k: int = 4,
        filter: FilterLike = None,
        search_params: Mapping[str, Any] | None = None,
        include_vectors: bool = False,
        field: str | None = None,
        partition_names: Sequence[str] | None = None,
        tenant: Tenant | None = None,
    ) -> list[list[Hit]]:
        """Async twin of :meth:`MilvusStore.search_many`."""
        vectors = as_list(vectors, "vectors", of="query vectors")
        ctx = self.scoped_context(tenant, partition_names)
        op = search.dense_search_op(
            ctx, vectors, k, filter_arg(filter), search_params, include_vectors, field
        )
        return await self._run(or_empty(op, lambda: [[] for _ in vectors]))

    async def sparse_search(
        self,
        query: SparseQuery,
        *,
        k: int = 4,
        filter: FilterLike = None,
        include_vectors: bool = False,
        grouping: Grouping | None = None,
        score_threshold: float | None = None,
        decay: Decay | None = None,
        partition_names: Sequence[str] | None = None,
        tenant: Tenant | None = None,
    ) -> list[Hit]:
        """Async twin of :meth:`MilvusStore.sparse_search`."""
        request = SearchRequest(
            kind=SearchKind.SPARSE,
            query=query,
            k=k,
            where=filter_arg(filter),
            include_vectors=include_vectors,
            grouping=grouping,
            score_threshold=score_threshold,
            decay=decay,
        )
        return await self.run_search(request, partition_names=partition_names, tenant=tenant)

    async def hybrid_search(
        self,
        vector: Sequence[float] | Mapping[str, Sequence[float]],
        query: SparseQuery | None = None,
        *,
        k: int = 4,
        filter: FilterLike = None,
        ranker: Ranker | None = None,
        fetch_k: int | None = None,
        fusion: Fusion | str | None = None,
        search_params: Mapping[str, Any] | None = None,
        include_vectors: bool = False,
        grouping: Grouping | None = None,
        score_threshold: float | None = None,
        decay: Decay | None = None,
        partition_names: Sequence[str] | None = None,
        tenant: Tenant | None = None,
    ) -> list[Hit]:
        """Async twin of :meth:`MilvusStore.hybrid_search`."""
        single, named = search.split_hybrid_vector(vector)
        request = SearchRequest(
            kind=SearchKind.HYBRID,
            vector=single,
            vectors=named,
            query=query if named is not None or query is not None else "",
            k=k,
            where=filter_arg(filter),
            ranker=ranker,
            fetch_k=fetch_k,
            fusion=fusion,
            search_params=search_params,
            include_vectors=include_vectors,
            grouping=grouping,
            score_threshold=score_threshold,
            decay=decay,
        )
        return await self.run_search(request, partition_names=partition_names, tenant=tenant)

    async def filtered_hits(
        self,
        *,
        k: int = 4,
        filter: FilterLike = None,
        include_vectors: bool = False,
        partition_names: Sequence[str] | None = None,
        tenant: Tenant | None = None,
    ) -> list[Hit]:
        """Async twin of :meth:`MilvusStore.filtered_hits`."""
        request = SearchRequest(
            kind=SearchKind.FILTERED, k=k, where=filter_arg(filter), include_vectors=include_vectors
        )
        return await self.run_search(request, partition_names=partition_names, tenant=tenant)

    async def mmr_search(
        self,
        vector: Sequence[float],
        *,
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        filter: FilterLike = None,
        search_params: Mapping[str, Any] | None = None,
        field: str | None = None,
        partition_names: Sequence[str] | None = None,
        tenant: Tenant | None = None,
    ) -> list[Hit]:
        """Async twin of :meth:`MilvusStore.mmr_search`."""
        request = SearchRequest(
            kind=SearchKind.MMR,
            vector=vector,
            k=k,
            fetch_k=fetch_k,
            lambda_mult=lambda_mult,
            where=filter_arg(filter),
            search_params=search_params,
            field=field,
        )
        return await self.run_search(request, partition_names=partition_names, tenant=tenant)

    async def retrieve(
        self,
        *,
        mode: RetrievalMode | str = RetrievalMode.DENSE,
        vector: Sequence[float] | None = None,
        text: str | None = None,
        k: int = 4,
        filter: FilterLike = None,
        ranker: Ranker | None = None,
        fetch_k: int | None = None,
        search_params: Mapping[str, Any] | None = None,
        include_vectors: bool = False,
        grouping: Grouping | None = None,
        score_threshold: float | None = None,
        decay: Decay | None = None,
        vectors: Mapping[str, Sequence[float]] | None = None,
        field: str | None = None,
        partition_names: Sequence[str] | None = None,
        tenant: Tenant | None = None,
    ) -> list[Hit]:
        """Async twin of :meth:`MilvusStore.retrieve`."""
        request = plan_retrieval(
            mode,
            vector,
            text,
            k=k,
            where=filter_arg(filter),
            ranker=ranker,
            fetch_k=fetch_k,
            search_params=search_params,
            include_vectors=include_vectors,
            grouping=grouping,
            score_threshold=score_threshold,
            decay=decay,
            vectors=vectors,
            field=field,
        )
        return await self.run_search(request, partition_names=partition_names, tenant=tenant)

    async def run_search(
        self,
        request: SearchRequest,
        *,
        partition_names: Sequence[str] | None = None,
        tenant: Tenant | None = None,
    ) -> list[Hit]:
        """Async twin of :meth:`MilvusStore.run_search`."""
        ctx = self.scoped_context(tenant, partition_names)
        return await self._run(or_empty(search.search_op(ctx, request), list))
