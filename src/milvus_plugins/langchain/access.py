"""The LangChain store's access to the core: its stores, models and search calls (no I/O).

:class:`StoreAccess` is the base of the vector store and of its method mixins
(:mod:`.writes`, :mod:`.retrieval`): the core stores it drives, the model of each
dense field, and the resolution of a search method's keyword arguments, each decided
once for the sync and async methods.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from langchain_core.embeddings import Embeddings

from milvus_plugins.core import (
    AsyncMilvusStore,
    MilvusStore,
    RetrievalMode,
    SearchKind,
    StoreLifetime,
    StorePair,
)
from milvus_plugins.langchain.search_calls import SearchCall, resolve_search

__all__ = ["StoreAccess"]


class StoreAccess(StoreLifetime):
    """The core stores of a LangChain vector store, and what one call asks of them.

    The vector store's constructor sets the attributes; ``close``/``aclose`` and the
    context managers come with :class:`StoreLifetime`.
    """

    if TYPE_CHECKING:
        _store: MilvusStore
        _stores: StorePair
        _mode: RetrievalMode
        _embedding: Embeddings | None
        _models: dict[str, Embeddings]
        _search_params: dict[str, Any] | None

    def _astore(self) -> AsyncMilvusStore:
        return self._stores.astore

    def _store_pair(self) -> StorePair:
        return self._stores

    def _model(self, field: str | None) -> Embeddings:
        """The model that embeds queries for the dense field ``field`` (``None``: the first)."""
        return self._models[self._store.spec.dense_field(field).name]

    def _search_call(
        self,
        k: int,
        kwargs: Mapping[str, Any],
        allowed: frozenset[str],
        method: str,
        kind: SearchKind | None = None,
    ) -> SearchCall:
        """Resolve a call's keyword arguments; ``kind`` is fixed for vector and MMR methods."""
        return resolve_search(
            self._store,
            mode=self._mode,
            search_params=self._search_params,
            k=k,
            kwargs=kwargs,
            allowed=allowed,
            method=method,
            kind=kind,
        )
