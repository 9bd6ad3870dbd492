"""Hybrid-search fusion: the options, the server-or-client choice, client-side fusion (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from milvus_plugins.core.capabilities import Capabilities
from milvus_plugins.core.config import CollectionSpec
from milvus_plugins.core.errors import ConfigError, InvalidInputError
from milvus_plugins.core.ranking import (
    RRF,
    Ranker,
    fuse,
    hybrid_relevance,
    legs_relevance,
    near_runs,
    require_server_fusion,
)
from milvus_plugins.core.requests import QUERY_WINDOW, check_k
from milvus_plugins.core.results import Hit
from milvus_plugins.core.schema import dense_index
from milvus_plugins.core.types import MetricType, ParsableEnum

__all__ = [
    "Fusion",
    "HybridOptions",
    "client_fuse",
    "client_fuse_legs",
    "legs_fetch_k",
    "settled_server_order",
    "sparse_metric",
    "use_client_fusion",
]


class Fusion(ParsableEnum):
    """Where hybrid search fuses its two result lists.

    ``CLIENT``: two searches fused here, each hit's relevance computed from both legs'
    scores; ``SERVER``: one ``hybrid_search`` call (same order, rank-based relevance);
    ``AUTO``: the client, unless the call says it does not read the relevance
    (``relevance=False``), then the server where it can. See :class:`HybridOptions`.
    """

    AUTO = "auto"
    SERVER = "server"
    CLIENT = "client"


@dataclass(frozen=True, kw_only=True)
class HybridOptions:
    """Defaults for hybrid search.

    Attributes:
        ranker: :class:`RRF` (default ``k=60``) or :class:`Weighted`.
        fetch_k: candidates per leg (``None``: ``max(4 * k, 20)``).
        fusion: ``"client"``: two searches fused here, with each hit's relevance
            computed from both legs' scores
            (:func:`~milvus_plugins.core.ranking.hybrid_relevance`); ``"auto"``
            (default): the same, except for a call made with ``relevance=False`` (only
            the order is read), which fuses on the server where the engine and the
            ranker allow it (:func:`use_client_fusion`); ``"server"``: one
            ``hybrid_search`` call, the same results in the same order (ties in the
            engine's order; on Milvus Lite 2.5.1 a ``Weighted`` ranking differs, as
            its fusion normalises BM25 scores as distances), but Milvus returns only
            the fused score, so the relevance is the rank- or weight-based
            :func:`~milvus_plugins.core.ranking.fused_relevance`, not on the common
            scale. On Milvus Lite the two searches of client fusion cost 1.12x-1.15x
            one ``hybrid_search`` at 5,000 rows (BENCHMARKS.md); on a server they are
            two round trips instead of one. A :class:`Fusion` or its string.
    """

    ranker: Ranker = field(default_factory=RRF)
    fetch_k: int | None = None
    fusion: Fusion | str = Fusion.AUTO

    def __post_init__(self) -> None:
        object.__setattr__(self, "fusion", Fusion.parse(self.fusion, field="fusion"))
        if self.fusion is Fusion.SERVER:
            require_server_fusion(self.ranker)
        if self.fetch_k is not None:
            try:
                check_k(self.fetch_k, "fetch_k")
            except InvalidInputError as exc:  # a bad option is a configuration error
                raise ConfigError(str(exc)) from None


def legs_fetch_k(k: int, fetch_k: int | None, default: int | None) -> int:
    """Candidates per leg: the call's ``fetch_k``, else the default, else ``max(4k, 20)``
    (at most Milvus' limit of 16384, so any valid ``k`` runs with the defaults).

    Raises:
        InvalidInputError: ``fetch_k`` given and not a positive integer within the limit.
    """
    if fetch_k is not None:
        chosen = check_k(fetch_k, "fetch_k")
    else:
        chosen = default or min(max(4 * k, 20), QUERY_WINDOW)
    return max(chosen, k)


def use_client_fusion(
    caps: Capabilities,
    options: HybridOptions,
    fusion: Fusion | str | None,
    ranker: Ranker | None,
    *,
    relevance: bool = True,
) -> bool:
    """Whether hybrid search fuses on the client (see :class:`HybridOptions`).

    ``relevance=False`` says the caller reads only the hits' order (LangChain's
    ``similarity_search``, say): ``"auto"`` then fuses an :class:`RRF` ranking on the
    server in one ``hybrid_search`` call where the engine has it, with the same results
    in the same order as client fusion (ties ordered by id; the two legs cost
    1.12x-1.15x the one call on Milvus Lite, BENCHMARKS.md; on a server, one round trip
    instead of two).

    Raises:
        ConfigError: an unknown ``fusion``; or ``fusion="server"`` with a ranker only the
            client implements (``Weighted(..., normalize="minmax")``) or on an engine
            without ``hybrid_search``.
    """
    choice = Fusion.parse(fusion or options.fusion, field="fusion")
    chosen = ranker or options.ranker
    if choice is Fusion.AUTO:
        # The relevance of a hybrid hit needs both legs' scores, which Milvus'
        # hybrid_search does not return: "auto" fuses here unless no one reads it. Only
        # RRF then goes to the server: its fused order is the same on every engine
        # (ties aside, which the caller settles), while a Weighted one is not (Milvus
        # Lite 2.5.1 normalises BM25 scores as distances, reversing that leg).
        return relevance or not caps.hybrid_search or not isinstance(chosen, RRF)
    if choice is Fusion.CLIENT:
        return True
    require_server_fusion(chosen)
    caps.require("hybrid search", caps.hybrid_search)
    return False


TIE_TOLERANCE = 1e-6
"""Relative gap under which two server-fused scores may be one value: Milvus returns
float32 scores and Milvus Lite 2.5.1 sums them in float32 (one or two units of the last
place off the exact sum; 1e-6 is about 16)."""


def settled_server_order(
    hits: Sequence[Hit], k: int, ranker: Ranker, fetch_k: int, limit: int, legs: int
) -> list[Hit] | None:
    """The first ``k`` of a server-fused RRF result, in client fusion's exact order, or
    ``None`` when the server's scores cannot settle it.

    ``hits`` came from one ``hybrid_search`` over ``legs`` legs, asked for ``limit``
    (``k`` plus one per leg) hits of ``fetch_k`` candidates per leg. They are ordered by
    score, equal scores by id, as :func:`~milvus_plugins.core.ranking.fuse` orders
    exact sums. Milvus returns float32 scores (Milvus Lite 2.5.1 even sums in float32),
    so two neighbours among the first ``k + 1`` closer than :data:`TIE_TOLERANCE` are
    one tie only when every RRF sum that could lie that close is one and the same value
    (two legs: each leg's rank ``1..fetch_k`` enumerated, see :func:`_sums_near`); the
    common tie, two documents each found by one leg at the same rank, is of that kind.
    Any other near tie may be two different sums the scores no longer tell apart, or
    one sum they split, and only client fusion knows its order.
    """
    if not isinstance(ranker, RRF) or legs != 2:
        return None
    ordered = sorted(hits, key=lambda h: (-h.distance, h.id))
    for start, end in near_runs([h.distance for h in ordered], TIE_TOLERANCE):
        if start >= k:
            break  # past the cut: the k-th hit and everything after it are apart
        values: set[Fraction] = set()
        for hit in ordered[start : end + 1]:
            values |= _sums_near(hit.distance, ranker.k, fetch_k)
        if len(values) != 1:
            return None
        if end == len(ordered) - 1 and len(ordered) == limit:
            return None  # the tie may run on past the hits returned
        # One exact value: its float32 scores may differ in the last place; by id.
        ordered[start : end + 1] = sorted(ordered[start : end + 1], key=lambda h: h.id)
    return ordered[:k]


def _sums_near(score: float, rrf_k: int, fetch_k: int) -> set[Fraction]:
    """Every exact two-leg RRF score within :data:`TIE_TOLERANCE` of ``score``: one
    leg's term ``1 / (rrf_k + a)``, or two legs' ``1 / (rrf_k + a) + 1 / (rrf_k + b)``,
    ranks ``1..fetch_k``."""
    found: set[Fraction] = set()
    slack = TIE_TOLERANCE * abs(score)
    for a in range(1, fetch_k + 1):
        first = 1.0 / (rrf_k + a)
        if abs(first - score) <= slack:
            found.add(Fraction(1, rrf_k + a))
        rest = score - first
        if rest <= 0.0:
            continue
        guess = round(1.0 / rest - rrf_k)
        for b in (guess - 1, guess, guess + 1):
            if a <= b <= fetch_k and abs(first + 1.0 / (rrf_k + b) - score) <= slack:
                found.add(Fraction(1, rrf_k + a) + Fraction(1, rrf_k + b))
    return found


def sparse_metric(spec: CollectionSpec) -> MetricType:
    """The metric of the collection's sparse field (BM25 function or client vectors)."""
    return spec.sparse_index.metric_type if spec.sparse_index else MetricType.IP


def client_fuse(
    spec: CollectionSpec,
    caps: Capabilities,
    dense: Sequence[Hit],
    sparse: Sequence[Hit],
    ranker: Ranker,
    k: int,
) -> list[Hit]:
    """Fuse a dense and a sparse result list on the client, as ``hybrid_search`` would.

    The order (and ``Hit.distance``, the fused score) is the ranker's, identical to
    server fusion; ``Hit.score`` is :func:`~milvus_plugins.core.ranking.hybrid_relevance`
    of the two legs' relevances.
    """
    dense_metric = dense_index(spec, caps).metric_type
    fused = fuse(
        [[(h.id, h.distance) for h in dense], [(h.id, h.distance) for h in sparse]],
        [dense_metric, sparse_metric(spec)],
        ranker,
        k,
    )
    records = {h.id: h.record for h in [*sparse, *dense]}
    dense_scores = {h.id: h.score for h in dense}
    sparse_scores = {h.id: h.score for h in sparse}
    return [
        Hit(
            record=records[i],
            score=hybrid_relevance(dense_scores.get(i), sparse_scores.get(i), ranker),
            distance=score,
        )
        for i, score in fused
    ]


def client_fuse_legs(
    legs: Sequence[tuple[Sequence[Hit], MetricType]], ranker: Ranker, k: int
) -> list[Hit]:
    """Fuse N result lists on the client, as an N-leg ``hybrid_search`` would.

    Args:
        legs: each leg's hits (best first) and its field's metric, in leg order
            (dense fields, then sparse); a Weighted ranker has one weight per leg.
        ranker: :class:`RRF` or :class:`Weighted`.
        k: results to return.

    The order (and ``Hit.distance``, the fused score) is the ranker's, as server
    fusion's; ``Hit.score`` is :func:`~milvus_plugins.core.ranking.legs_relevance` of
    the legs' relevances (for a dense and a sparse leg, :func:`client_fuse`'s value).
    """
    fused = fuse(
        [[(h.id, h.distance) for h in hits] for hits, _ in legs],
        [metric for _, metric in legs],
        ranker,
        k,
    )
    records = {}
    for hits, _ in reversed(legs):
        records.update({h.id: h.record for h in hits})
    scores = [{h.id: h.score for h in hits} for hits, _ in legs]
    return [
        Hit(
            record=records[i],
            score=legs_relevance([leg.get(i) for leg in scores], ranker),
            distance=score,
        )
        for i, score in fused
    ]
