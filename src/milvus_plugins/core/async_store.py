"""The asynchronous store: the same methods as :class:`MilvusStore`, awaited.

An :class:`AsyncMilvusStore` shares its sync twin's session (spec, capabilities,
collection state), options and request builders; it owns one ``AsyncMilvusClient`` per
event loop, created lazily on first use inside that loop (a gRPC aio channel belongs to
the loop it was made in, so a client from an earlier ``asyncio.run`` cannot be reused).
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from pymilvus import AsyncMilvusClient

from milvus_plugins.core import lite
from milvus_plugins.core.arguments import checked_arguments, id_list
from milvus_plugins.core.batching import with_batch_rows
from milvus_plugins.core.capabilities import Capabilities
from milvus_plugins.core.errors import (
    AuthenticationError,
    CollectionNotFoundError,
    ConfigError,
    MilvusConnectionError,
    MilvusOperationError,
    MilvusPluginsError,
    shown,
)
from milvus_plugins.core.filters import Filter, and_, id_in
from milvus_plugins.core.lite import LiteLease
from milvus_plugins.core.mmr import select_mmr
from milvus_plugins.core.probing import probe_capabilities, reports_unimplemented
from milvus_plugins.core.ranking import Ranker, keyword_scale, query_terms
from milvus_plugins.core.records import Record
from milvus_plugins.core.requests import (
    Call,
    SparseQuery,
    build_dense_search,
    build_hybrid_search,
    build_sparse_search,
    check_k,
    output_fields,
    require_sparse_field,
)
from milvus_plugins.core.results import (
    Hit,
    filter_only_hits,
    order_like,
    parse_fused,
    parse_hits,
    parse_rows,
)
from milvus_plugins.core.retry import RetryPolicy, acall_with_retry
from milvus_plugins.core.schema import (
    build_index_params,
    build_schema,
    check_supported,
    dense_index,
)
from milvus_plugins.core.store import (
    BatchRun,
    FilterLike,
    MilvusStore,
    _delete_count,
    _fetch_k,
    _no_count,
    _no_rows,
    check_fusion,
    check_offset,
    client_fuse,
    created_elsewhere,
    deletion_filter,
    empty_when_dropped,
    plan_retrieval,
    sparse_metric,
)
from milvus_plugins.core.types import RetrievalMode

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
        self._clients: dict[asyncio.AbstractEventLoop, tuple[Any, LiteLease | None]] = {}
        self._clients_lock = threading.Lock()
        # Event loops whose client has made its first (connecting) call.
        self._connected: set[asyncio.AbstractEventLoop] = set()

    @property
    def spec(self) -> Any:
        """The effective collection spec."""
        return self.session.spec

    async def _call(self, fn: Callable[[], Awaitable[T]], *, retry: bool = True) -> T:
        if retry:
            # Connect first, outside the retry loop, as MilvusStore does: connecting
            # already waits up to the timeout; retrying it multiplies the wait.
            await self._connect()
        policy = self.sync.retry if retry else RetryPolicy(attempts=1)
        try:
            return await acall_with_retry(fn, policy, self.sync.translate)
        except CollectionNotFoundError:
            self.session.exists = False  # dropped by another client: see MilvusStore._call
            raise

    @property
    def client(self) -> Any:
        """The ``AsyncMilvusClient`` of the running event loop (created on first access).

        On Milvus Lite, starting the database's server (once per process) may block the
        loop for a moment; the client holds a lease on it until :meth:`close`.
        """
        loop = asyncio.get_running_loop()
        with self._clients_lock:
            entry = self._clients.get(loop)
            if entry is None:
                self._forget_loops(lambda other: other.is_closed())
                entry = self._clients[loop] = self._open_client()
                self.session.connected(entry[1])
        return entry[0]

    def _open_client(self) -> tuple[Any, LiteLease | None]:
        connection = self.session.connection
        lease = lite.acquire(connection.uri) if connection.is_lite else None
        try:
            kwargs = self.session.client_kwargs(self.sync._client_kwargs, lease)
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
            if lease is not None:
                lease.release()

    def release_ended_loops(self) -> None:
        """Drop the clients of event loops that are no longer running (no I/O).

        A sync ``close()`` of an adapter calls this after ``asyncio.run`` has returned,
        so that the Milvus Lite server of the database can stop.
        """
        with self._clients_lock:
            self._forget_loops(lambda loop: not loop.is_running())

    async def _connect(self) -> None:
        """Make the first call of this client (which connects) once, without retries."""
        loop = asyncio.get_running_loop()
        if loop in self._connected:
            return
        try:
            version = await self._call(lambda: self.client.get_server_version(), retry=False)
        except (MilvusConnectionError, AuthenticationError):
            raise
        except MilvusPluginsError:
            version = None  # it answered (a server without the RPC): it is reachable
        if version is not None and self.session.capabilities is None:
            self.session.set_version(str(version))
        self._connected.add(loop)

    async def capabilities(self) -> Capabilities:
        """What the connected Milvus supports."""
        if self.session.capabilities is None:
            await self._connect()
        if self.session.capabilities is None:
            try:
                version = await self._call(lambda: self.client.get_server_version())
            except MilvusOperationError as exc:
                if not reports_unimplemented(exc):
                    raise
                # Probing (once per server and process) drives the sync client.
                self.session.capabilities = await asyncio.to_thread(
                    probe_capabilities, self.sync.client, self.session.connection
                )
            else:
                self.session.set_version(str(version))
        return self.session.caps

    async def close(self) -> None:
        """Close the async clients (the store reconnects if used again).

        The client of the running loop is closed; those of other loops are dropped. On
        Milvus Lite the last client or store of a database to close stops its server.
        """
        loop = asyncio.get_running_loop()
        with self._clients_lock:
            entries, self._clients = self._clients, {}
            self._connected.clear()
        mine = entries.pop(loop, None)
        try:
            if mine is not None:
                await mine[0].close()
        finally:
            for _, lease in [*entries.values(), *([mine] if mine else [])]:
                if lease is not None:
                    lease.release()

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
        session = self.session
        if session.exists:
            return True
        caps = await self.capabilities()
        name = session.spec.name
        check_supported(session.spec, caps)  # before dropping or checking anything
        if session.drop_old:
            session.drop_old = False
            if await self._call(lambda: self.client.has_collection(name)):
                await self._call(lambda: self.client.drop_collection(name))
        if await self._call(lambda: self.client.has_collection(name)):
            return await self._open_existing(name)
        if session.spec.dim is None and dim is None:
            return False
        if caps.is_lite:
            # AsyncMilvusClient.create_collection waits for the index build through
            # AllocTimestamp, which Milvus Lite does not implement: create it with the
            # sync client (in a worker thread, under the session lock) instead.
            return await asyncio.to_thread(self.sync.ensure_collection, dim, records)
        spec = session.spec_to_create(dim, records)
        assert spec is not None  # the dimension is known (checked above)
        try:
            await self._call(
                lambda: self.client.create_collection(
                    name,
                    schema=build_schema(spec, caps),
                    index_params=build_index_params(spec, caps),
                    consistency_level=spec.consistency.value,
                ),
                retry=False,
            )
        except MilvusPluginsError as exc:
            if not created_elsewhere(exc):
                raise
            return await self._open_existing(name)
        await self._call(lambda: self.client.load_collection(name))
        session.exists = True
        return True

    async def _open_existing(self, name: str) -> bool:
        description = await self._call(lambda: self.client.describe_collection(name))
        index = await self._describe_dense_index(name)
        self.session.adopt(description, index)
        await self._call(lambda: self.client.load_collection(name))
        return True

    async def _describe_dense_index(self, name: str) -> Mapping[str, Any] | None:
        field = self.spec.fields.vector
        indexes = await self._call(lambda: self.client.list_indexes(name, field_name=field))
        if not indexes:
            return None
        result: Mapping[str, Any] = await self._call(
            lambda: self.client.describe_index(name, indexes[0])
        )
        return result

    async def _require(self) -> None:
        if not await self.ensure_collection():
            raise CollectionNotFoundError(f"collection {shown(self.spec.name)} does not exist yet.")

    async def exists(self) -> bool:
        """Async twin of :meth:`MilvusStore.exists`."""
        name = self.spec.name
        if not await self._call(lambda: self.client.has_collection(name)):
            self.session.exists = False
            return False
        return await self.ensure_collection()

    async def drop(self) -> None:
        """Async twin of :meth:`MilvusStore.drop`."""
        name = self.spec.name
        try:
            if await self._call(lambda: self.client.has_collection(name)):
                await self._call(lambda: self.client.drop_collection(name))
        except CollectionNotFoundError:
            pass  # dropped meanwhile: done
        self.session.exists = False

    async def upsert(
        self,
        records: Sequence[Record],
        *,
        mode: str = "upsert",
        progress: bool | None = None,
        batch_rows: int | None = None,
    ) -> list[str]:
        """Async twin of :meth:`MilvusStore.upsert`."""
        if mode not in ("upsert", "insert"):
            raise ConfigError(f"mode={shown(mode)} must be 'upsert' or 'insert'.")
        options = with_batch_rows(self.sync.write_options, batch_rows)
        if self.session.connection.is_lite:
            # Writes to a Milvus Lite database must take turns (see store.write_lock); a
            # thread lock cannot be held across awaits, so the sync store writes in a
            # worker thread (Lite runs in this process anyway).
            return await asyncio.to_thread(
                self.sync.upsert, records, mode=mode, progress=progress, batch_rows=batch_rows
            )
        records, dim = self.sync.prepare_records(records)
        if not records:
            return []
        await self.ensure_collection(dim, records)
        run = BatchRun(self.sync, records, progress, options)
        method = getattr(self.client, mode)
        timeout = self.session.connection.timeout  # a deadline per call, as in MilvusStore
        with run:
            for batch in run.batches():
                await self._call(functools.partial(method, self.spec.name, batch, timeout=timeout))
            if run.flush:
                run.start_flush()
                await self._call(lambda: self.client.flush(self.spec.name, timeout=timeout))
        return run.ids

    async def delete(self, ids: Sequence[str] | None = None, filter: FilterLike = None) -> int:
        """Async twin of :meth:`MilvusStore.delete`."""
        where = deletion_filter(ids, filter)
        if where is None and filter is not None:
            await self.capabilities()  # then the shared session knows the dialect
            self.sync.expression(filter)  # refused as by MilvusStore.delete
        if where is None:
            return 0
        if self.session.connection.is_lite:
            # As in upsert; the checked tree is passed on (``ids`` may be a used-up iterator).
            return await asyncio.to_thread(self.sync.delete, None, where)
        if not await self.ensure_collection():
            return 0
        return await self._delete_where(where)

    async def clear(self) -> int:
        """Async twin of :meth:`MilvusStore.clear`."""
        if self.session.connection.is_lite:
            return await asyncio.to_thread(self.sync.clear)  # as in upsert
        if not await self.ensure_collection():
            return 0
        return await self._delete_where(and_())

    async def _delete_where(self, where: Filter) -> int:
        expr = self.sync.expression(where)
        timeout = self.session.connection.timeout
        result = await self._call(
            lambda: self.client.delete(self.spec.name, filter=expr, timeout=timeout)
        )
        return _delete_count(result)

    @empty_when_dropped(_no_rows)
    async def get(self, ids: Sequence[str], *, include_vectors: bool = False) -> list[Record]:
        """Async twin of :meth:`MilvusStore.get`."""
        ids = id_list(ids)
        if not ids or not await self.ensure_collection():
            return []
        rows = await self._call(
            lambda: self.client.query(
                self.spec.name,
                filter=self.sync.expression(id_in(ids)),
                output_fields=output_fields(self.spec, include_vectors=include_vectors),
                consistency_level=self.spec.consistency.value,
                timeout=self.session.connection.timeout,
            )
        )
        return order_like(parse_rows(rows, self.spec), ids)

    @empty_when_dropped(_no_rows)
    async def query(
        self,
        filter: FilterLike = None,
        *,
        limit: int | None = None,
        offset: int = 0,
        include_vectors: bool = False,
    ) -> list[Record]:
        """Async twin of :meth:`MilvusStore.query`."""
        check_offset(offset, limit)
        if not await self.ensure_collection():
            return []
        kwargs = self.sync.query_kwargs(filter, limit, offset, include_vectors)
        if "limit" not in kwargs:
            # Unbounded reads page through the sync iterator (no async iterator exists).
            return self.sync.query(filter, offset=offset, include_vectors=include_vectors)
        rows = await self._call(lambda: self.client.query(self.spec.name, **kwargs))
        return parse_rows(rows, self.spec)

    @empty_when_dropped(_no_count)
    async def count(self, filter: FilterLike = None) -> int:
        """Async twin of :meth:`MilvusStore.count`."""
        if not await self.ensure_collection():
            return 0
        rows = await self._call(
            lambda: self.client.query(
                self.spec.name,
                filter=self.sync.expression(filter),
                output_fields=["count(*)"],
                consistency_level=self.spec.consistency.value,
                timeout=self.session.connection.timeout,
            )
        )
        return int(rows[0]["count(*)"]) if rows else 0

    async def _run(self, call: Call, method: str) -> Any:
        return await self._call(lambda: getattr(self.client, method)(**call.kwargs))

    @empty_when_dropped(_no_rows)
    async def search(
        self,
        vector: Sequence[float],
        *,
        k: int = 4,
        filter: FilterLike = None,
        search_params: Mapping[str, Any] | None = None,
        include_vectors: bool = False,
    ) -> list[Hit]:
        """Async twin of :meth:`MilvusStore.search`."""
        check_k(k)
        if not await self.ensure_collection():
            return []
        caps = await self.capabilities()
        call = build_dense_search(
            self.spec,
            caps,
            [vector],
            k=k,
            expr=self.sync.expression(filter),
            search_params=search_params,
            include_vectors=include_vectors,
            timeout=self.session.connection.timeout,
        )
        metric = dense_index(self.spec, caps).metric_type
        return parse_hits(await self._run(call, "search"), self.spec, metric)[0]

    @empty_when_dropped(_no_rows)
    async def sparse_search(
        self,
        query: SparseQuery,
        *,
        k: int = 4,
        filter: FilterLike = None,
        include_vectors: bool = False,
    ) -> list[Hit]:
        """Async twin of :meth:`MilvusStore.sparse_search`."""
        check_k(k)
        if not await self.ensure_collection():
            return []
        call = build_sparse_search(
            self.spec,
            await self.capabilities(),
            self.sync.sparse_query(query),
            k=k,
            expr=self.sync.expression(filter),
            include_vectors=include_vectors,
            timeout=self.session.connection.timeout,
        )
        raw = await self._run(call, "search")
        rows = self.sync.cached_row_count()
        if rows is None:
            rows = self.sync.remember_row_count(await self.count())
        scale = keyword_scale(query_terms(query, self.spec.stop_words), rows)
        return parse_hits(raw, self.spec, sparse_metric(self.spec), scale)[0]

    @empty_when_dropped(_no_rows)
    async def hybrid_search(
        self,
        vector: Sequence[float],
        query: SparseQuery,
        *,
        k: int = 4,
        filter: FilterLike = None,
        ranker: Ranker | None = None,
        fetch_k: int | None = None,
        fusion: str | None = None,
        search_params: Mapping[str, Any] | None = None,
        include_vectors: bool = False,
    ) -> list[Hit]:
        """Async twin of :meth:`MilvusStore.hybrid_search`."""
        check_fusion(fusion)
        check_k(k)
        ranker = ranker or self.sync.hybrid.ranker
        legs_k = _fetch_k(k, fetch_k, self.sync.hybrid.fetch_k)
        if not await self.ensure_collection():
            return []
        caps = await self.capabilities()
        require_sparse_field(self.spec)
        caps.require("sparse vectors", caps.sparse)
        query = self.sync.sparse_query(query)
        if self.sync.use_client_fusion(fusion, ranker):
            dense = await self.search(
                vector,
                k=legs_k,
                filter=filter,
                search_params=search_params,
                include_vectors=include_vectors,
            )
            sparse = await self.sparse_search(
                query, k=legs_k, filter=filter, include_vectors=include_vectors
            )
            return client_fuse(self.sync, dense, sparse, ranker, k)
        call = build_hybrid_search(
            self.spec,
            caps,
            vector,
            query,
            k=k,
            fetch_k=legs_k,
            expr=self.sync.expression(filter),
            ranker=ranker,
            search_params=search_params,
            include_vectors=include_vectors,
            timeout=self.session.connection.timeout,
        )
        return parse_fused(await self._run(call, "hybrid_search"), self.spec, ranker, 2)

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
    ) -> list[Hit]:
        """Async twin of :meth:`MilvusStore.retrieve`."""
        method, args, kwargs = plan_retrieval(
            mode,
            vector,
            text,
            k=k,
            filter=filter,
            ranker=ranker,
            fetch_k=fetch_k,
            search_params=search_params,
            include_vectors=include_vectors,
        )
        return await getattr(self, method)(*args, **kwargs)  # type: ignore[no-any-return]

    async def filtered_hits(
        self, *, k: int = 4, filter: FilterLike = None, include_vectors: bool = False
    ) -> list[Hit]:
        """Async twin of :meth:`MilvusStore.filtered_hits`."""
        check_k(k)
        rows = await self.query(filter, limit=k, include_vectors=include_vectors)
        return filter_only_hits(rows)

    async def mmr_search(
        self,
        vector: Sequence[float],
        *,
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        filter: FilterLike = None,
        search_params: Mapping[str, Any] | None = None,
    ) -> list[Hit]:
        """Async twin of :meth:`MilvusStore.mmr_search`."""
        check_k(k)
        hits = await self.search(
            vector,
            k=max(fetch_k, k),
            filter=filter,
            search_params=search_params,
            include_vectors=True,
        )
        return select_mmr(vector, hits, k=k, lambda_mult=lambda_mult)
