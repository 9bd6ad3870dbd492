"""LangChain search keyword arguments resolved into core call arguments (no I/O).

The vector store checks a search method's keyword arguments against the names and
types here and turns them into a :class:`SearchCall` (``StoreAccess._search_call`` in
:mod:`.access`); the call gives the core store's arguments (``retrieve``, ``search``,
``mmr_search``, ``filtered_hits``) and the dense fields the query text is embedded
for. A sync method and its async twin run the same call and differ only in the
awaited store call and embedding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from milvus_plugins.core import (
    GROUPING_KWARGS,
    CollectionSpec,
    Decay,
    Filter,
    Grouping,
    Hit,
    Ranker,
    RetrievalMode,
    SearchKind,
    require_fields_for,
)
from milvus_plugins.core.values import utf8_len

__all__ = [
    "KWARG_TYPES",
    "MMR_KWARGS",
    "SCOPE_KWARGS",
    "SEARCH_KWARGS",
    "VECTOR_KWARGS",
    "WRITE_KWARGS",
    "SearchCall",
    "blank",
    "check_kind",
    "check_mode",
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


def check_kind(kind: SearchKind, spec: CollectionSpec, setting: str) -> None:
    """Refuse a search kind the collection's fields cannot serve, naming the fix.

    Raises:
        ConfigError: the kind needs a dense or sparse field the collection lacks.
    """
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
    check_kind(SearchKind(mode.value), spec, f"retrieval_mode={mode.value!r}")
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
        """The dense fields ``query`` is embedded for by ``retrieve`` (none: not embedded).

        Raises:
            InvalidInputError: a query text the keyword leg would send that UTF-8 cannot
                encode (a lone surrogate): refused before anything is embedded.
        """
        if self.mode is not RetrievalMode.DENSE and not blank(query):
            utf8_len(query, "query", "the keyword query text")
        if self._named_legs(query):
            return [f.name for f in self.spec.dense_fields]
        if self.mode is RetrievalMode.SPARSE or blank(query):
            return []
        return [self.spec.dense_field(self.vector_field).name]

    def retrieve_args(
        self, query: str, vectors: Mapping[str, list[float]], *, scores: bool = True
    ) -> dict[str, Any]:
        """The core ``retrieve`` arguments, given the query's vectors by field name;
        ``scores=False`` when the caller returns documents only (a hybrid search may then
        fuse on the server in one call: same documents, same order)."""
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
            "relevance": scores,
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
