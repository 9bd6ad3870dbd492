"""The asynchronous store: the same methods as :class:`MilvusStore`, awaited.

An :class:`AsyncMilvusStore` shares its sync twin's session (spec, capabilities,
collection state), options and request builders; it owns an ``AsyncMilvusClient``
created lazily on first use, inside the running event loop.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from pymilvus import AsyncMilvusClient

from milvus_plugins.core.arguments import id_list
from milvus_plugins.core.capabilities import Capabilities
from milvus_plugins.core.errors import CollectionNotFoundError, ConfigError
from milvus_plugins.core.filters import Filter, and_, id_in
from milvus_plugins.core.mmr import select_mmr
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
from milvus_plugins.core.results import Hit, order_like, parse_fused, parse_hits, parse_rows
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
    check_offset,
    client_fuse,
    deletion_filter,
    plan_retrieval,
    sparse_metric,
)
from milvus_plugins.core.types import RetrievalMode

__all__ = ["AsyncMilvusStore"]

T = TypeVar("T")


class AsyncMilvusStore:
    """Async access to one collection; see :class:`MilvusStore` for each method.

    Args:
        store: the sync store whose session and options this one shares.
    """

    def __init__(self, store: MilvusStore) -> None:
        self.sync = store
        self.session = store.session
        self._client: Any = None

    @property
    def spec(self) -> Any:
        """The effective collection spec."""
        return self.session.spec

    async def _call(self, fn: Callable[[], Awaitable[T]], *, retry: bool = True) -> T:
        policy = self.sync.retry if retry else RetryPolicy(attempts=1)
        return await acall_with_retry(fn, policy)

    @property
    def client(self) -> Any:
        """The ``AsyncMilvusClient`` (created on first access, inside the event loop)."""
        if self._client is None:
            self._client = AsyncMilvusClient(**self.session.client_kwargs(self.sync._client_kwargs))
        return self._client

    async def capabilities(self) -> Capabilities:
        """What the connected Milvus supports."""
        if self.session.capabilities is None:
            # The first call connects; connecting is not retried (it already waits up to
            # the timeout), as in MilvusStore.
            version = await self._call(lambda: self.client.get_server_version(), retry=False)
            self.session.set_version(str(version))
        return self.session.caps

    async def close(self) -> None:
        """Close the async client."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()

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
            description = await self._call(lambda: self.client.describe_collection(name))
            index = await self._describe_dense_index(name)
            session.adopt(description, index)
            await self._call(lambda: self.client.load_collection(name))
            return True
        if session.spec.dim is None and dim is None:
            return False
        if caps.is_lite:
            # AsyncMilvusClient.create_collection waits for the index build through
            # AllocTimestamp, which Milvus Lite does not implement: create it with the
            # sync client (in a worker thread, under the session lock) instead.
            return await asyncio.to_thread(self.sync.ensure_collection, dim, records)
        spec = session.spec_to_create(dim, records)
        assert spec is not None  # the dimension is known (checked above)
        await self._call(
            lambda: self.client.create_collection(
                name,
                schema=build_schema(spec, caps),
                index_params=build_index_params(spec, caps),
                consistency_level=spec.consistency.value,
            ),
            retry=False,
        )
        await self._call(lambda: self.client.load_collection(name))
        session.exists = True
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
            raise CollectionNotFoundError(f"collection {self.spec.name!r} does not exist yet.")

    async def drop(self) -> None:
        """Async twin of :meth:`MilvusStore.drop`."""
        name = self.spec.name
        if await self._call(lambda: self.client.has_collection(name)):
            await self._call(lambda: self.client.drop_collection(name))
        self.session.exists = False

    async def upsert(
        self, records: Sequence[Record], *, mode: str = "upsert", progress: bool | None = None
    ) -> list[str]:
        """Async twin of :meth:`MilvusStore.upsert`."""
        if mode not in ("upsert", "insert"):
            raise ConfigError(f"mode={mode!r} must be 'upsert' or 'insert'.")
        if self.session.connection.is_lite:
            # Writes to a Milvus Lite database must take turns (see store.write_lock); a
            # thread lock cannot be held across awaits, so the sync store writes in a
            # worker thread (Lite runs in this process anyway).
            return await asyncio.to_thread(self.sync.upsert, records, mode=mode, progress=progress)
        records, dim = self.sync.prepare_records(records)
        if not records:
            return []
        await self.ensure_collection(dim, records)
        run = BatchRun(self.sync, records, progress)
        method = getattr(self.client, mode)
        timeout = self.session.connection.timeout  # a deadline per call, as in MilvusStore
        with run:
            for batch in run.batches():
                await self._call(functools.partial(method, self.spec.name, batch, timeout=timeout))
        if run.flush:
            await self._call(lambda: self.client.flush(self.spec.name, timeout=timeout))
        return run.ids

    async def delete(self, ids: Sequence[str] | None = None, filter: FilterLike = None) -> int:
        """Async twin of :meth:`MilvusStore.delete`."""
        where = deletion_filter(ids, filter)
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
