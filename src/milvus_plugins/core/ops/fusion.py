"""Hybrid-search fusion: the options, the server-or-client choice, client-side fusion (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from milvus_plugins.core.capabilities import Capabilities
from milvus_plugins.core.config import CollectionSpec
from milvus_plugins.core.errors import ConfigError, InvalidInputError
from milvus_plugins.core.ranking import (
    RRF,
    Ranker,
    fuse,
    fused_relevance,
    require_server_fusion,
    server_can_fuse,
)
from milvus_plugins.core.requests import check_k
from milvus_plugins.core.results import Hit
from milvus_plugins.core.schema import dense_index
from milvus_plugins.core.types import MetricType, ParsableEnum

__all__ = ["Fusion", "HybridOptions", "client_fuse", "legs_fetch_k", "use_client_fusion"]


class Fusion(ParsableEnum):
    """Where hybrid search fuses its two result lists.

    ``SERVER``: ``hybrid_search``; ``CLIENT``: two searches fused here (identical
    results); ``AUTO``: server wherever ``hybrid_search`` exists and the ranker allows it.
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
        fusion: ``"server"`` (``hybrid_search``), ``"client"`` (two searches fused here,
            identical results) or ``"auto"`` (server wherever ``hybrid_search`` exists,
            which measured as fast or faster on Milvus Lite too; client otherwise);
            a :class:`Fusion` or its string.
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
    """Candidates per leg: the call's ``fetch_k``, else the default, else ``max(4k, 20)``."""
    chosen = fetch_k or default or max(4 * k, 20)
    return max(check_k(chosen, "fetch_k"), k)


def use_client_fusion(
    caps: Capabilities, options: HybridOptions, fusion: Fusion | str | None, ranker: Ranker | None
) -> bool:
    """Whether hybrid search fuses on the client (see :class:`HybridOptions`).

    Raises:
        ConfigError: an unknown ``fusion``; or ``fusion="server"`` with a ranker only the
            client implements (``Weighted(..., normalize="minmax")``) or on an engine
            without ``hybrid_search``.
    """
    choice = Fusion.parse(fusion or options.fusion, field="fusion")
    if choice is Fusion.CLIENT:
        return True
    chosen = ranker or options.ranker
    if choice is Fusion.SERVER:
        require_server_fusion(chosen)
        caps.require("hybrid search", caps.hybrid_search)
        return False
    if not server_can_fuse(chosen):
        return True
    # Measured on Milvus Lite 3.2.2 (BENCHMARKS.md): server fusion is as fast or faster
    # than two searches fused here, so the server path wins wherever it exists.
    return not caps.hybrid_search


def client_fuse(
    spec: CollectionSpec,
    caps: Capabilities,
    dense: Sequence[Hit],
    sparse: Sequence[Hit],
    ranker: Ranker,
    k: int,
) -> list[Hit]:
    """Fuse a dense and a sparse result list on the client, as ``hybrid_search`` would."""
    dense_metric = dense_index(spec, caps).metric_type
    sparse_metric = spec.sparse_index.metric_type if spec.sparse_index else MetricType.IP
    fused = fuse(
        [[(h.id, h.distance) for h in dense], [(h.id, h.distance) for h in sparse]],
        [dense_metric, sparse_metric],
        ranker,
        k,
    )
    records = {h.id: h.record for h in [*sparse, *dense]}
    return [
        Hit(record=records[i], score=fused_relevance(score, ranker, 2), distance=score)
        for i, score in fused
    ]
