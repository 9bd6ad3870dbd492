"""What a search is: a typed :class:`SearchRequest` of a :class:`SearchKind`, and
:func:`plan_retrieval`, which turns a retrieval mode and its inputs into one (the stores'
``retrieve`` and the adapters use it). Pure data and checks: no operation here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from milvus_plugins.core.decay import Decay
from milvus_plugins.core.errors import (
    ConfigError,
    InvalidInputError,
    shown,
)
from milvus_plugins.core.filters import Filter
from milvus_plugins.core.grouping import (
    Grouping,
)
from milvus_plugins.core.indexes import flat_search_knobs
from milvus_plugins.core.ops.fusion import (
    Fusion,
)
from milvus_plugins.core.ranking import Ranker
from milvus_plugins.core.requests import (
    SparseQuery,
    check_k,
    is_filter_only,
)
from milvus_plugins.core.types import ParsableEnum, RetrievalMode

__all__ = [
    "SearchKind",
    "SearchRequest",
    "check_fusion_options",
    "need_retrieval_inputs",
    "plan_retrieval",
    "split_hybrid_vector",
]


class SearchKind(ParsableEnum):
    """The kinds of search: the three retrieval modes, MMR (diverse dense results) and
    filter-only retrieval (no vector and no text: up to ``k`` rows the filter matches)."""

    DENSE = "dense"
    SPARSE = "sparse"
    HYBRID = "hybrid"
    MMR = "mmr"
    FILTERED = "filtered"  # nothing to rank by: the rows the filter matches


@dataclass(frozen=True, kw_only=True)
class SearchRequest:
    """One search, typed: which kind and its inputs (fields a kind does not use are ignored).

    Attributes:
        kind: dense, sparse, hybrid or MMR.
        vector: the dense query vector (dense, hybrid, MMR).
        query: the keyword query text or client sparse vector (sparse, hybrid).
        k: results to return.
        where: the filter tree (``None``: no filter).
        ranker: hybrid fusion (``None``: the store's).
        fetch_k: hybrid candidates per leg, or MMR candidates (``None``: the default).
        fusion: hybrid fusion place (``None``: the store's).
        lambda_mult: MMR relevance/diversity balance.
        search_params: dense-leg knobs (``ef``, ``nprobe`` ...).
        include_vectors: return vectors too.
        grouping: group the results (``None``: no grouping); dense, sparse and hybrid.
        decay: rerank by a numeric field (:class:`Decay`); dense, sparse and hybrid.
        score_threshold: keep only hits with relevance >= this (in [0, 1]); a dense
            search asks Milvus for it as a range search (``radius``), the others filter
            here (see :mod:`milvus_plugins.core.range_search`).
        vectors: hybrid over named dense fields: field name -> query vector, one leg
            each in this order, then the sparse leg when ``query`` is given (a
            :class:`Weighted` ranker has one weight per leg, in that order).
        field: the dense field a dense or MMR search targets (``None``: ``vector``).
        relevance: whether the caller reads the hits' relevance (``Hit.score``).
            ``False`` lets a hybrid search with fusion ``"auto"`` fuse on the server in
            one call (same hits, same order; ``Hit.score`` is then rank-based). A
            threshold, a decay or a grouping reads the relevance whatever this says.
    """

    kind: SearchKind
    vector: Sequence[float] | None = None
    query: SparseQuery | None = None
    k: int = 4
    where: Filter | None = None
    ranker: Ranker | None = None
    fetch_k: int | None = None
    fusion: Fusion | str | None = None
    lambda_mult: float = 0.5
    search_params: Mapping[str, Any] | None = None
    include_vectors: bool = False
    vectors: Mapping[str, Sequence[float]] | None = None
    field: str | None = None
    grouping: Grouping | None = None
    score_threshold: float | None = None
    decay: Decay | None = None
    relevance: bool = True

    def __post_init__(self) -> None:
        if self.search_params is not None:
            # pymilvus' form ({"metric_type": ..., "params": {...}}) read as flat knobs.
            object.__setattr__(self, "search_params", flat_search_knobs(self.search_params))

    @property
    def reads_relevance(self) -> bool:
        """Whether the hits' relevance is read: asked for, or used by a refinement."""
        return (
            self.relevance
            or self.score_threshold is not None
            or self.decay is not None
            or self.grouping is not None
        )

    @property
    def dense(self) -> Sequence[float]:
        """The dense query vector, ``[]`` when absent (``vector or []`` fails on numpy)."""
        return [] if self.vector is None else self.vector


def split_hybrid_vector(
    vector: Sequence[float] | Mapping[str, Sequence[float]],
) -> tuple[Sequence[float] | None, dict[str, Sequence[float]] | None]:
    """A hybrid search's ``vector`` argument as (one vector, named vectors): one is ``None``."""
    if isinstance(vector, Mapping):
        named: Mapping[str, Sequence[float]] = vector
        return None, dict(named)
    return vector, None


def need_retrieval_inputs(
    mode: RetrievalMode, vector: Sequence[float] | None, text: str | None
) -> None:
    """Raise :class:`InvalidInputError` when ``mode`` lacks its vector or text."""
    if mode in (RetrievalMode.DENSE, RetrievalMode.HYBRID) and vector is None:
        raise InvalidInputError(f"retrieval mode {shown(mode.value)} needs a query vector.")
    if mode in (RetrievalMode.SPARSE, RetrievalMode.HYBRID) and not (text or "").strip():
        raise InvalidInputError(f"retrieval mode {shown(mode.value)} needs a non-empty query text.")


def check_fusion_options(mode: RetrievalMode, ranker: Any, fetch_k: Any) -> None:
    """Refuse a ``fetch_k`` that is not a valid count, and a ``ranker`` the mode would
    ignore, before anything is embedded.

    ``fetch_k`` (hybrid candidates per leg) is checked in every mode and used by hybrid
    only: LangChain code often passes one ``search_kwargs`` dict to several search types.
    A ``ranker`` fuses the legs of a hybrid search; another mode ranks one list.

    Raises:
        InvalidInputError: ``fetch_k`` is not a positive integer within Milvus' limit.
        ConfigError: a ``ranker`` in a mode other than hybrid.
    """
    if fetch_k is not None:
        check_k(fetch_k, "fetch_k")
    if ranker is not None and mode is not RetrievalMode.HYBRID:
        raise ConfigError(
            f"ranker={shown(ranker)} fuses the legs of a hybrid search, and retrieval_mode="
            f"{mode.value!r} ranks one list; use retrieval_mode='hybrid' or drop ranker."
        )


def plan_retrieval(
    mode: RetrievalMode | str,
    vector: Sequence[float] | None,
    text: str | None,
    *,
    k: int,
    where: Filter | None,
    ranker: Ranker | None = None,
    fetch_k: int | None = None,
    search_params: Mapping[str, Any] | None = None,
    include_vectors: bool = False,
    grouping: Grouping | None = None,
    score_threshold: float | None = None,
    decay: Decay | None = None,
    vectors: Mapping[str, Sequence[float]] | None = None,
    field: str | None = None,
    relevance: bool = True,
) -> SearchRequest:
    """Turn a retrieval mode and its inputs into one :class:`SearchRequest`.

    No vector and no text (``None``, ``""`` or blank), in any mode, plans a filter-only
    retrieval (:attr:`SearchKind.FILTERED`). ``vectors`` (named dense fields -> query
    vectors) makes a hybrid retrieval fuse one leg per field, plus the sparse leg when
    ``text`` is given; ``field`` is the dense field a dense retrieval searches;
    ``relevance=False`` says the caller reads only the order (:class:`SearchRequest`).

    Raises:
        ConfigError: an unknown mode; a ``ranker`` outside hybrid mode.
        InvalidInputError: the mode's inputs are missing; a bad ``fetch_k``.
    """
    chosen = RetrievalMode.parse(mode, field="retrieval_mode")
    check_fusion_options(chosen, ranker, fetch_k)
    base = SearchRequest(
        kind=SearchKind.FILTERED,
        k=k,
        where=where,
        include_vectors=include_vectors,
        relevance=relevance,
    )
    refined = replace(base, grouping=grouping, score_threshold=score_threshold, decay=decay)
    if vectors and chosen is RetrievalMode.HYBRID:
        query = text if text is not None and text.strip() else None
        return replace(
            refined,
            kind=SearchKind.HYBRID,
            vectors=vectors,
            query=query,
            ranker=ranker,
            fetch_k=fetch_k,
            search_params=search_params,
        )
    if is_filter_only(vector, text):
        return refined
    need_retrieval_inputs(chosen, vector, text)
    return replace(
        refined,
        kind=SearchKind(chosen.value),
        vector=vector,
        query=text,
        ranker=ranker,
        fetch_k=fetch_k,
        search_params=search_params,
        field=field,
    )
