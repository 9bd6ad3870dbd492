"""The LangChain store's access to the core: its stores, models and search calls (no I/O).

:class:`StoreAccess` is the base of the vector store and of its method mixins
(:mod:`.writes`, :mod:`.retrieval`): the core stores it drives, the model of each
dense field, and the resolution of a search method's keyword arguments, each decided
once for the sync and async methods.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from langchain_core.embeddings import Embeddings

from milvus_plugins.core import (
    AsyncMilvusStore,
    ConfigError,
    MilvusStore,
    RetrievalMode,
    SearchKind,
    StoreLifetime,
    StorePair,
    as_decay,
    check_fusion_options,
    check_kwargs,
    check_ranker,
    check_threshold,
    grouping_from_kwargs,
    hybrid_legs,
    shown,
)
from milvus_plugins.core.decay import decay_column
from milvus_plugins.core.grouping import group_key
from milvus_plugins.langchain.filters import to_core_filter
from milvus_plugins.langchain.official_names import CALL_HINTS
from milvus_plugins.langchain.search_calls import (
    KWARG_TYPES,
    SearchCall,
    check_kind,
    check_mode,
)

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
        name = self._store.spec.dense_field(field).name
        model = self._models.get(name)
        if model is None and len(self._models) == 1:
            # One model: it embeds for the collection's dense field, whatever the layout
            # of the collection it opened (another tool's) calls that field.
            model = next(iter(self._models.values()))
        if model is None:
            raise ConfigError(
                f"no embedding model for the dense field {shown(name)}; the store has models "
                f"for {shown(sorted(self._models))}: pass embedding={{{name!r}: model, ...}}."
            )
        return model

    def _opens_first(self, kwargs: Mapping[str, Any]) -> bool:
        """Whether a keyword or hybrid search must open the collection before it is resolved.

        A store made with the default (dense) retrieval mode and no ``sparse=`` learns
        whether the collection it opens has a keyword field only when it opens it: a
        per-call ``retrieval_mode="sparse"`` or ``"hybrid"`` is checked against what the
        collection has, not against the default.
        """
        mode = self._mode
        if kwargs.get("retrieval_mode") is not None:
            try:
                mode = RetrievalMode.parse(kwargs["retrieval_mode"], field="retrieval_mode")
            except ConfigError:
                return False  # refused by _search_call
        session = self._store.session
        return (
            mode is not RetrievalMode.DENSE
            and not self._store.spec.has_sparse
            and not session.exists
            and not session.drop_old
        )

    def _search_call(
        self,
        k: int,
        kwargs: Mapping[str, Any],
        allowed: frozenset[str],
        method: str,
        kind: SearchKind | None = None,
    ) -> SearchCall:
        """Resolve a search method's keyword arguments (no I/O).

        Args:
            k: how many results.
            kwargs: the method's keyword arguments.
            allowed: the names it accepts.
            method: its name, for messages.
            kind: fixed for the vector and MMR methods (``None``: the retrieval mode's).

        Raises:
            ConfigError: a mode, kind or setting the collection cannot serve.
            InvalidInputError: an unknown keyword argument or a value of a wrong type.
        """
        check_kwargs(method, kwargs, allowed, KWARG_TYPES, CALL_HINTS)
        spec = self._store.spec
        mode = self._mode
        if kwargs.get("retrieval_mode") is not None:
            mode = RetrievalMode.parse(kwargs["retrieval_mode"], field="retrieval_mode")
            check_mode(mode, spec)
        if kind is not None:
            check_kind(kind, spec, f"{method}()")
        else:
            check_fusion_options(mode, kwargs.get("ranker"), kwargs.get("fetch_k"))
        field = kwargs.get("vector_field")
        if field is not None:
            spec.dense_field(field)  # an unknown name is refused with the known ones
            if kind is None and mode is not RetrievalMode.DENSE:
                raise ConfigError(
                    f"vector_field={shown(field)} picks the dense field of a dense search; "
                    f"retrieval_mode={mode.value!r} does not search one field (hybrid fuses "
                    "every dense field): drop vector_field or use retrieval_mode='dense'."
                )
        threshold = check_threshold(kwargs.get("score_threshold"))
        params = kwargs.get("search_params")
        grouping = grouping_from_kwargs(kwargs)
        if grouping is not None and grouping.by is None:
            # LangChain documents carry no source-document id (the doc_id field stays "").
            raise ConfigError(
                "group_by needs a metadata key or field in LangChain (documents have no "
                "source-document id); e.g. group_by='source'."
            )
        if grouping is not None:
            # A metadata key, as a filter's keys are: group_by='doc_id' groups by
            # metadata["doc_id"], which {"doc_id": ...} filters on.
            grouping = replace(grouping, by_metadata_key=True)
        decay = as_decay(kwargs.get("decay"))
        # Checked now, before the query is embedded: a field that holds no group value
        # or no number; strict mode, names, tenant type.
        if grouping is not None:
            group_key(spec, grouping)
        if decay is not None:
            decay_column(spec, decay)
        scope = self._store.scope(
            tenant=kwargs.get("tenant"), partition_names=kwargs.get("partition_names")
        )
        where = to_core_filter(kwargs.get("filter"))
        scope.check_filter(where)
        return SearchCall(
            spec=spec,
            mode=mode,
            k=k,
            filter=where,
            search_params=dict(params) if params is not None else self._search_params,
            score_threshold=threshold,
            ranker=check_ranker(kwargs.get("ranker"), hybrid_legs(spec)),
            fetch_k=kwargs.get("fetch_k"),
            grouping=grouping,
            decay=decay,
            vector_field=field,
            tenant=scope.tenant,
            partition_names=scope.partition_names,
        )
