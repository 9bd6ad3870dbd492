"""The LlamaIndex store's access to the core: its stores, scope and query plans (no I/O).

:class:`StoreAccess` is the base of the vector store and of its method mixins
(:mod:`.writes`, :mod:`.reads`): the core stores it drives, the scope of one call, the
plan of one query and the records of some nodes, each decided once for the sync and
async methods.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.schema import BaseNode
from llama_index.core.vector_stores.types import (
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
)

from milvus_plugins.core import (
    AsyncMilvusStore,
    CollectionSpec,
    ConfigError,
    MilvusStore,
    Ranker,
    Record,
    SearchRequest,
    StoreLifetime,
    StorePair,
    check_kwargs,
    shown,
)
from milvus_plugins.core.policy import either
from milvus_plugins.llama_index.nodes import records_for_write
from milvus_plugins.llama_index.official_names import CALL_HINTS
from milvus_plugins.llama_index.queries import QUERY_KWARGS, named_fields, plan_query

__all__ = ["SCOPE_KWARGS", "SCOPE_TYPES", "WRITE_KWARGS", "WRITE_TYPES", "StoreAccess"]

# The keyword arguments that confine one call (``vector_store_kwargs``, ``add_kwargs``,
# ``delete_kwargs``): a tenant, and the partitions to read or delete in.
SCOPE_KWARGS = frozenset({"tenant", "milvus_partition_names"})
# The query modes that search the keyword (sparse) field.
_KEYWORD_MODES = frozenset(
    {VectorStoreQueryMode.SPARSE, VectorStoreQueryMode.TEXT_SEARCH, VectorStoreQueryMode.HYBRID}
)
SCOPE_TYPES: dict[str, Any] = {
    "tenant": str | int | None,
    "milvus_partition_names": Sequence[str] | None,
    "partition_name": str | None,
    "progress": bool | None,
}
# The keyword arguments of add: the scope, the progress bar, and the official store's
# ``milvus_partition_name`` (for ``partition_name``) and ``force_flush``.
WRITE_KWARGS = frozenset(
    {"progress", "tenant", "partition_name", "milvus_partition_name", "force_flush"}
)
WRITE_TYPES: dict[str, Any] = {
    **SCOPE_TYPES,
    "milvus_partition_name": str | None,
    "force_flush": bool,
}


class StoreAccess(StoreLifetime):
    """The core stores of a LlamaIndex vector store, and what one call asks of them.

    The vector store sets the attributes (pydantic private attributes and fields);
    ``close``/``aclose`` and the context managers come with :class:`StoreLifetime`.
    """

    if TYPE_CHECKING:
        _stores: StorePair
        _ranker: Ranker | None
        _models: dict[str, BaseEmbedding]
        milvus_partition_names: list[str] | None
        enable_sparse: bool

    @property
    def client(self) -> Any:
        """The ``pymilvus.MilvusClient`` (connects on first access)."""
        return self._store.client

    @property
    def store(self) -> MilvusStore:
        """The shared-core store this adapter translates onto."""
        return self._store

    @property
    def spec(self) -> CollectionSpec:
        """The effective collection spec (``dim`` filled in once known)."""
        return self._store.spec

    @property
    def dim(self) -> int | None:
        """The embedding dimension, once given or inferred."""
        return self._store.spec.dim

    @property
    def _store(self) -> MilvusStore:
        return self._stores.store

    @property
    def async_store(self) -> AsyncMilvusStore:
        """The async core store (created on first use; one client per event loop)."""
        return self._stores.astore

    def _store_pair(self) -> StorePair:
        return self._stores

    @property
    def aclient(self) -> Any:
        """The ``pymilvus.AsyncMilvusClient`` of the running event loop."""
        return self.async_store.client

    def _scope(self, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """The core scope arguments of one call (its own, else the store's); no I/O.

        Raises:
            ConfigError: bad partition names, or a tenant the collection cannot take.
            TenantRequiredError: strict tenant mode and no tenant.
        """
        names = kwargs.get("milvus_partition_names")
        if names is None:  # absent or None: the store's own (as tenant=None is)
            names = self.milvus_partition_names
        scope = self._store.scope(tenant=kwargs.get("tenant"), partition_names=names)
        return {"tenant": scope.tenant, "partition_names": scope.partition_names}

    def _opens_first(self, query: VectorStoreQuery) -> bool:
        """Whether a keyword or hybrid query must open the collection before it is planned.

        A store created without ``enable_sparse`` (``uri`` + ``collection_name``) learns
        whether the collection it opens has a keyword field only when it opens it; the
        query is planned against what the collection has, not against the default.
        """
        try:
            keyword = VectorStoreQueryMode(query.mode) in _KEYWORD_MODES
        except ValueError:
            return False  # refused by the plan
        if self._filters_open_first(query.filters):
            return True
        session = self._store.session
        return keyword and not self.spec.has_sparse and not session.exists and not session.drop_old

    def _filters_open_first(self, filters: MetadataFilters | None) -> bool:
        """Whether ``filters`` must wait for the collection to be opened: the declared
        fields of an existing collection, which decide what a ``0`` / ``1`` compared
        for equality means (:func:`~.filters.to_core_filter`), are learnt on opening."""
        session = self._store.session
        return bool(filters is not None and filters.filters) and not (
            session.exists or session.drop_old
        )

    def _note_opened(self) -> None:
        """Show a keyword field adopted from the opened collection in ``enable_sparse``."""
        if self.spec.has_sparse and not self.enable_sparse:
            self.enable_sparse = True

    def _plan(
        self,
        query: VectorStoreQuery,
        kwargs: Mapping[str, Any],
        named: Mapping[str, Sequence[float]] | None = None,
    ) -> tuple[SearchRequest, dict[str, Any]]:
        # Unknown keywords first: a typo must not be reported as a missing tenant.
        check_kwargs("query", kwargs, QUERY_KWARGS | SCOPE_KWARGS, SCOPE_TYPES, CALL_HINTS)
        own = {k: v for k, v in kwargs.items() if k not in SCOPE_KWARGS}
        scope = self._scope(kwargs)
        plan = plan_query(
            query,
            own,
            has_sparse=self.spec.has_sparse,
            ranker=self._ranker,
            spec=self.spec,
            named_vectors=named,
        )
        return plan, scope

    def _write_scope(self, kwargs: Mapping[str, Any], method: str) -> dict[str, Any]:
        check_kwargs(method, kwargs, WRITE_KWARGS, WRITE_TYPES, CALL_HINTS)
        target = either(
            "partition_name",
            kwargs.get("partition_name"),
            "milvus_partition_name",
            kwargs.get("milvus_partition_name"),
        )
        if target is None and self.milvus_partition_names:
            if len(self.milvus_partition_names) > 1:
                raise ConfigError(
                    f"{method}(): this store reads {len(self.milvus_partition_names)} partitions "
                    f"{self.milvus_partition_names}; say which one to write into with "
                    "add_kwargs partition_name=..."
                )
            target = self.milvus_partition_names[0]
        scope = self._store.scope(tenant=kwargs.get("tenant"), partition_name=target)
        return {"tenant": scope.tenant, "partition_name": scope.partition_name}

    def _query_models(
        self, query: VectorStoreQuery, kwargs: Mapping[str, Any]
    ) -> tuple[dict[str, BaseEmbedding], tuple[SearchRequest, dict[str, Any]]]:
        """The named fields' models that must embed this query's text (none usually),
        and the query's plan without their vectors: a bad query is refused before any
        embedding, and the plan is the query's own when no model has to embed it."""
        plan = self._plan(query, kwargs)
        models = {name: self._model(name) for name in named_fields(query, kwargs, self.spec)}
        return models, plan

    def _model(self, name: str) -> BaseEmbedding:
        model = self._models.get(name)
        if model is None:
            raise ConfigError(
                f"vector field {shown(name)} has no embedding model in this store; pass "
                f"vector_fields={{{name!r}: <its BaseEmbedding>}}."
            )
        return model

    def _records(self, nodes: Sequence[BaseNode], *, snapshot: bool) -> list[Record]:
        records = records_for_write(nodes, snapshot=snapshot)
        if not self.spec.dense:
            for record in records:
                record.vector = None  # a sparse-only store keeps no dense embedding
        return records

    @property
    def _scoped_store(self) -> bool:
        """Whether the store is confined to a tenant or to partitions (``clear`` keeps it)."""
        tenancy = self._store.tenancy
        return bool(tenancy.tenant is not None or tenancy.strict or self.milvus_partition_names)
