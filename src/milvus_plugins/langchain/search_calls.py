"""LangChain search keyword arguments resolved into core call arguments (no I/O).

:func:`resolve_search` checks a search method's keyword arguments and turns them into
a :class:`SearchCall`; the call gives the core store's arguments (``retrieve``,
``search``, ``mmr_search``, ``filtered_hits``) and the dense fields the query text is
embedded for. The sync and async methods both run it and differ only in the awaited
store call and embedding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from milvus_plugins.core import (
    GROUPING_KWARGS,
    CollectionSpec,
    ConfigError,
    Decay,
    Filter,
    Grouping,
    Hit,
    MilvusStore,
    Ranker,
    RetrievalMode,
    SearchKind,
    as_decay,
    check_kwargs,
    check_ranker,
    check_threshold,
    grouping_from_kwargs,
    hybrid_legs,
    require_fields_for,
    shown,
)
from milvus_plugins.langchain.filters import to_core_filter

__all__ = [
    "KWARG_TYPES",
    "MMR_KWARGS",
    "SCOPE_KWARGS",
    "SEARCH_KWARGS",
    "VECTOR_KWARGS",
    "WRITE_KWARGS",
    "SearchCall",
    "blank",
    "check_mode",
    "resolve_search",
]

# Every read, search and delete can be confined to a tenant or to named partitions.
SCOPE_KWARGS = frozenset({"tenant", "partition_names"})
SEARCH_KWARGS = frozenset(
    {
        "filter",
        "search_params",
        "score_threshold",
        "retrieval_mode",
        "ranker",
        "fetch_k",
        "vector_field",
        "decay",
    }
    | GROUPING_KWARGS
    | SCOPE_KWARGS
)
VECTOR_KWARGS = frozenset(
    {"filter", "search_params", "score_threshold", "decay", "vector_field"}
    | GROUPING_KWARGS
    | SCOPE_KWARGS
)
MMR_KWARGS = frozenset({"filter", "search_params", "vector_field"} | SCOPE_KWARGS)
# What LangChain's own callers pass to add_texts / add_documents: the indexing API
# (``langchain_core.indexing.index`` / ``aindex``) always passes ``batch_size``.
WRITE_KWARGS = frozenset({"progress", "batch_size", "tenant", "partition_name"})
# The types of the keyword arguments LangChain's signatures leave untyped (``**kwargs``);
# filter, ranker, retrieval_mode, score_threshold and batch_size have their own checks.
KWARG_TYPES: dict[str, Any] = {
    "search_params": Mapping[str, Any] | None,
    "fetch_k": int | None,
    "progress": bool | None,
    "vector_field": str | None,
    "tenant": str | int | None,
    "partition_names": Sequence[str] | None,
    "partition_name": str | None,
}


def blank(query: Any) -> bool:
    """A query text with nothing to search for: the search is filter-only."""
    return isinstance(query, str) and not query.strip()


def _check_kind(kind: SearchKind, spec: CollectionSpec, setting: str) -> None:
    require_fields_for(
        kind,
        spec,
        setting=setting,
        sparse_fix="create the store with sparse='bm25' (or a SparseEncoder), or use "
        "retrieval_mode='dense'",
        dense_fix="pass embedding= (a dense model) when creating the store, or use "
        "retrieval_mode='sparse'",
    )


def check_mode(mode: RetrievalMode, spec: CollectionSpec) -> RetrievalMode:
    """``mode``, if the collection's fields can serve it.

    Raises:
        ConfigError: the mode needs a dense or sparse field the collection lacks.
    """
    _check_kind(SearchKind(mode.value), spec, f"retrieval_mode={mode.value!r}")
    return mode


@dataclass(frozen=True)
class SearchCall:
    """One search call, resolved from LangChain keyword arguments (no I/O)."""

    spec: CollectionSpec
    mode: RetrievalMode
    k: int
    filter: Filter | str | None
    search_params: Mapping[str, Any] | None
    score_threshold: float | None
    ranker: Ranker | None
    fetch_k: int | None
    grouping: Grouping | None = None
    decay: Decay | None = None
    vector_field: str | None = None
    tenant: str | int | None = None
    partition_names: Sequence[str] | None = None

    @property
    def scope(self) -> dict[str, Any]:
        """The scope keyword arguments of the core call (``None``: the store's)."""
        return {"tenant": self.tenant, "partition_names": self.partition_names}

    def keep(self, hits: list[Hit]) -> list[Hit]:
        """Drop hits below the score threshold, if one was given."""
        if self.score_threshold is None:
            return hits
        return [h for h in hits if h.score >= self.score_threshold]

    def _named_legs(self, query: str) -> bool:
        """Whether a hybrid search fuses one leg per dense field (embedding the query each)."""
        fields = self.spec.dense_fields
        return self.mode is RetrievalMode.HYBRID and len(fields) >= 2 and not blank(query)

    def query_fields(self, query: str) -> list[str]:
        """The dense fields ``query`` is embedded for by ``retrieve`` (none: not embedded)."""
        if self._named_legs(query):
            return [f.name for f in self.spec.dense_fields]
        if self.mode is RetrievalMode.SPARSE or blank(query):
            return []
        return [self.spec.dense_field(self.vector_field).name]

    def retrieve_args(self, query: str, vectors: Mapping[str, list[float]]) -> dict[str, Any]:
        """The core ``retrieve`` arguments, given the query's vectors by field name."""
        text: str | None = query
        named: Mapping[str, list[float]] | None = None
        vector = next(iter(vectors.values()), None)
        if self._named_legs(query):
            named, vector = vectors, None
            if not self.spec.has_sparse:
                text = None  # N dense legs and no keyword leg
        return {
            "mode": self.mode,
            "vector": vector,
            "text": text,
            "k": self.k,
            "filter": self.filter,
            "ranker": self.ranker,
            "fetch_k": self.fetch_k,
            "search_params": self.search_params,
            "grouping": self.grouping,
            "score_threshold": self.score_threshold,
            "decay": self.decay,
            "vectors": named,
            "field": self.vector_field,
            **self.scope,
        }

    def search_args(self, vector: list[float]) -> dict[str, Any]:
        """The core ``search`` arguments (a dense search from a query vector)."""
        return {
            "vector": vector,
            "k": self.k,
            "filter": self.filter,
            "search_params": self.search_params,
            "grouping": self.grouping,
            "score_threshold": self.score_threshold,
            "decay": self.decay,
            "field": self.vector_field,
            **self.scope,
        }

    def mmr_args(self, vector: list[float], fetch_k: int, lambda_mult: float) -> dict[str, Any]:
        """The core ``mmr_search`` arguments."""
        return {
            "vector": vector,
            "k": self.k,
            "fetch_k": fetch_k,
            "lambda_mult": lambda_mult,
            "filter": self.filter,
            "search_params": self.search_params,
            "field": self.vector_field,
            **self.scope,
        }

    def filtered_args(self) -> dict[str, Any]:
        """The core ``filtered_hits`` arguments (a filter-only search)."""
        return {"k": self.k, "filter": self.filter, **self.scope}


def resolve_search(
    store: MilvusStore,
    *,
    mode: RetrievalMode,
    search_params: Mapping[str, Any] | None,
    k: int,
    kwargs: Mapping[str, Any],
    allowed: frozenset[str],
    method: str,
    kind: SearchKind | None = None,
) -> SearchCall:
    """Resolve a search method's keyword arguments (no I/O).

    Args:
        store: the core store (its spec and tenancy).
        mode: the store's default retrieval mode.
        search_params: the store's default search parameters.
        k: how many results.
        kwargs: the method's keyword arguments.
        allowed: the names it accepts.
        method: its name, for messages.
        kind: fixed for the vector and MMR methods (``None``: the retrieval mode's).

    Raises:
        ConfigError: a mode, kind or setting the collection cannot serve.
        InvalidInputError: an unknown keyword argument or a value of a wrong type.
    """
    check_kwargs(method, kwargs, allowed, KWARG_TYPES)
    spec = store.spec
    if kwargs.get("retrieval_mode") is not None:
        mode = RetrievalMode.parse(kwargs["retrieval_mode"], field="retrieval_mode")
        check_mode(mode, spec)
    if kind is not None:
        _check_kind(kind, spec, f"{method}()")
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
    # Checked now, before the query is embedded (strict mode, names, tenant type).
    scope = store.scope(tenant=kwargs.get("tenant"), partition_names=kwargs.get("partition_names"))
    where = to_core_filter(kwargs.get("filter"))
    scope.check_filter(where)
    return SearchCall(
        spec=spec,
        mode=mode,
        k=k,
        filter=where,
        search_params=dict(params) if params is not None else search_params,
        score_threshold=threshold,
        ranker=check_ranker(kwargs.get("ranker"), hybrid_legs(spec)),
        fetch_k=kwargs.get("fetch_k"),
        grouping=grouping,
        decay=as_decay(kwargs.get("decay")),
        vector_field=field,
        tenant=scope.tenant,
        partition_names=scope.partition_names,
    )
