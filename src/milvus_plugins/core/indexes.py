"""Typed vector-index configurations with validated build and search parameters.

Each config is a frozen dataclass: it checks its own parameters in ``__post_init__``
(before any I/O), checks the vector dimension in :meth:`IndexConfig.validate_for`,
and turns per-call search knobs (``ef``, ``nprobe`` ...) into the ``params`` of one
search request, rejecting unknown knobs instead of passing them through.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from milvus_plugins.core.errors import ConfigError, shown
from milvus_plugins.core.types import IndexType, MetricType

__all__ = [
    "HNSW_EF_LARGE",
    "HNSW_EF_ROWS",
    "HNSW_EF_SMALL",
    "AutoIndex",
    "DiskAnnIndex",
    "FlatIndex",
    "GpuCagraIndex",
    "GpuIvfFlatIndex",
    "HnswIndex",
    "IndexConfig",
    "IvfFlatIndex",
    "IvfPqIndex",
    "IvfSq8Index",
    "ScannIndex",
    "SparseInvertedIndex",
    "check_search_knob",
    "checked_search_params",
    "described_index_config",
    "described_params",
    "flat_search_knobs",
    "index_from_dict",
    "recommend_index",
    "reported_build_params",
    "size_aware_ef",
    "without_search_metric",
]

_DENSE_METRICS = (MetricType.L2, MetricType.IP, MetricType.COSINE)


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(
            f"{name}={shown(value)} is out of range; use an integer in [{low}, {high}]."
        )


INT32_MAX = 2**31 - 1
MAX_EF = 32768
"""The largest HNSW ``ef``: Milvus' documented search range ends there, and Milvus Lite
allocates per unit of ``ef`` in the calling process (``ef`` 10**8 took ~0.9 GB, 2**31
exhausted a 24 GB machine)."""

_INT_KNOBS: dict[str, tuple[int, int]] = {
    "ef": (1, MAX_EF),
    "nprobe": (1, 65536),  # Milvus: [1, nlist], nlist at most 65536
    "reorder_k": (1, INT32_MAX),
    "search_list": (1, INT32_MAX),
    "itopk_size": (1, INT32_MAX),
    "search_width": (1, INT32_MAX),
}
_FRACTION_KNOBS = ("drop_ratio_search",)  # in [0, 1)


def check_search_knob(key: str, value: object) -> int | float:
    """Return the per-call search knob ``key=value`` if Milvus accepts it (no I/O).

    Integer knobs (``ef``, ``nprobe``, ``reorder_k``, ``search_list``, ``itopk_size``,
    ``search_width``) take an int (not a bool, not a float such as ``1.5`` or NaN) in
    their range: ``nprobe`` in [1, 65536], the others in [1, 2147483647] (a C int:
    larger values fail inside the engine). ``drop_ratio_search`` takes a number in
    [0, 1).

    Raises:
        ConfigError: naming the knob, the value and the accepted range.
    """
    if key in _INT_KNOBS:
        low, high = _INT_KNOBS[key]
        if (
            isinstance(value, bool)
            or not isinstance(value, numbers.Integral)
            or not low <= int(value) <= high
        ):
            raise ConfigError(
                f"search parameter {key}={shown(value)} must be a non-negative number of the "
                f"right kind: {key} takes an integer in [{low}, {high}]."
            )
        return int(value)
    if key in _FRACTION_KNOBS:
        if (
            isinstance(value, bool)
            or not isinstance(value, numbers.Real)
            or not 0.0 <= float(value) < 1.0
        ):
            raise ConfigError(
                f"search parameter {key}={shown(value)} must be a non-negative number of the "
                f"right kind: {key} takes a number in [0, 1)."
            )
        return float(value)
    raise ConfigError(f"search parameter {shown(key)} is unknown.")  # pragma: no cover


@dataclass(frozen=True, kw_only=True)
class IndexConfig:
    """Base of every index config.

    Attributes:
        metric: the distance metric (a string is accepted). Left out, it is the index
            type's default (:meth:`default_metric`: ``COSINE``, ``BM25`` for sparse
            indexes), and :attr:`metric_given` is ``False``: a collection spec (or dense
            field) given this index then applies its own ``metric`` to it.
    """

    index_type: ClassVar[IndexType]
    search_knobs: ClassVar[tuple[str, ...]] = ()
    metric: MetricType | str = None  # type: ignore[assignment]  # None: default_metric()

    def __post_init__(self) -> None:
        given = self.metric is not None
        # Not a dataclass field: equality and repr do not depend on how the metric came.
        object.__setattr__(self, "_metric_given", given)
        metric = MetricType.parse(self.metric if given else self.default_metric(), field="metric")
        object.__setattr__(self, "metric", metric)
        if metric not in self.allowed_metrics():
            allowed = ", ".join(m.value for m in self.allowed_metrics())
            raise ConfigError(
                f"metric={shown(metric.value)} cannot be used with {self.index_type.value}; "
                f"use one of {allowed}."
            )

    @property
    def metric_type(self) -> MetricType:
        """The metric as an enum member."""
        return MetricType.parse(self.metric, field="metric")

    @property
    def metric_given(self) -> bool:
        """Whether ``metric`` was given (``False``: the index type's default).

        ``dataclasses.replace`` passes the current metric on, so a replaced config
        counts as given.
        """
        return bool(self.__dict__.get("_metric_given", True))

    @classmethod
    def default_metric(cls) -> MetricType:
        """The metric of a config that names none."""
        return MetricType.COSINE

    @classmethod
    def allowed_metrics(cls) -> tuple[MetricType, ...]:
        """Metrics this index type accepts."""
        return _DENSE_METRICS

    def validate_for(self, dim: int) -> None:
        """Raise :class:`ConfigError` if this index cannot be built on ``dim``-d vectors."""

    def build_params(self) -> dict[str, Any]:
        """Return the ``params`` of the index-creation request."""
        return {}

    @property
    def size_aware(self) -> bool:
        """Whether the default search knobs depend on the collection's row count."""
        return False

    def default_search_params(self, k: int, rows: int | None = None) -> dict[str, Any]:
        """Return the search-time ``params`` used when a call gives none.

        ``rows`` is the collection's row count where known (see :attr:`size_aware`).
        """
        return {}

    def search_params(
        self, k: int, overrides: Mapping[str, Any] | None = None, rows: int | None = None
    ) -> dict[str, Any]:
        """Merge per-call knobs into the defaults, rejecting knobs this index lacks.

        Args:
            k: the number of results asked for (some knobs must be at least ``k``).
            overrides: per-call knobs such as ``{"ef": 128}``.
            rows: the collection's row count, where known (size-aware defaults).

        Raises:
            ConfigError: a knob is unknown for this index type or out of range.
        """
        params = self.default_search_params(k, rows)
        for key, value in (overrides or {}).items():
            if key not in self.search_knobs:
                known = ", ".join(self.search_knobs) or "none"
                raise ConfigError(
                    f"search parameter {shown(key)} is not valid for {self.index_type.value}; "
                    f"valid: {known}."
                )
            params[key] = check_search_knob(key, value)
        return params


@dataclass(frozen=True, kw_only=True)
class FlatIndex(IndexConfig):
    """Exact brute-force search: perfect recall, cost linear in the row count."""

    index_type: ClassVar[IndexType] = IndexType.FLAT


@dataclass(frozen=True, kw_only=True)
class AutoIndex(IndexConfig):
    """Let the server choose (Milvus and Zilliz Cloud pick a tuned graph index)."""

    index_type: ClassVar[IndexType] = IndexType.AUTOINDEX


@dataclass(frozen=True, kw_only=True)
class _IvfBase(IndexConfig):
    """Inverted-file indexes: ``nlist`` clusters built, ``nprobe`` searched."""

    search_knobs: ClassVar[tuple[str, ...]] = ("nprobe",)
    nlist: int = 128
    nprobe: int = None  # type: ignore[assignment]  # None: min(16, nlist)

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_range("nlist", self.nlist, 1, 65536)
        if self.nprobe is None:
            object.__setattr__(self, "nprobe", min(16, self.nlist))
        _check_range("nprobe", self.nprobe, 1, 65536)
        if self.nprobe > self.nlist:
            raise ConfigError(
                f"nprobe={self.nprobe} exceeds nlist={self.nlist}; use nprobe <= nlist."
            )

    def build_params(self) -> dict[str, Any]:
        return {"nlist": self.nlist}

    def default_search_params(self, k: int, rows: int | None = None) -> dict[str, Any]:
        return {"nprobe": self.nprobe}

    def search_params(
        self, k: int, overrides: Mapping[str, Any] | None = None, rows: int | None = None
    ) -> dict[str, Any]:
        params = super().search_params(k, overrides, rows)
        if params["nprobe"] > self.nlist:
            raise ConfigError(
                f"search parameter nprobe={params['nprobe']} exceeds nlist={self.nlist} (the "
                f"index's clusters); use nprobe in [1, {self.nlist}]."
            )
        return params


@dataclass(frozen=True, kw_only=True)
class IvfFlatIndex(_IvfBase):
    """IVF with full vectors in each list."""

    index_type: ClassVar[IndexType] = IndexType.IVF_FLAT


@dataclass(frozen=True, kw_only=True)
class IvfSq8Index(_IvfBase):
    """IVF with 8-bit scalar quantisation (about a quarter of the memory)."""

    index_type: ClassVar[IndexType] = IndexType.IVF_SQ8


@dataclass(frozen=True, kw_only=True)
class GpuIvfFlatIndex(_IvfBase):
    """IVF_FLAT built and searched on a GPU (needs a GPU build of Milvus)."""

    index_type: ClassVar[IndexType] = IndexType.GPU_IVF_FLAT


@dataclass(frozen=True, kw_only=True)
class IvfPqIndex(_IvfBase):
    """IVF with product quantisation: ``m`` sub-vectors of ``nbits`` each.

    ``m`` must divide the dimension.
    """

    index_type: ClassVar[IndexType] = IndexType.IVF_PQ
    m: int = 8
    nbits: int = 8

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_range("m", self.m, 1, 65536)
        _check_range("nbits", self.nbits, 1, 16)

    def validate_for(self, dim: int) -> None:
        if dim % self.m:
            divisors = [d for d in range(1, min(dim, 64) + 1) if dim % d == 0]
            raise ConfigError(
                f"IVF_PQ m={self.m} does not divide dim={dim}; use one of {divisors[-6:]}."
            )

    def build_params(self) -> dict[str, Any]:
        return {"nlist": self.nlist, "m": self.m, "nbits": self.nbits}


@dataclass(frozen=True, kw_only=True)
class ScannIndex(_IvfBase):
    """ScaNN: IVF with anisotropic quantisation and re-ranking (``reorder_k``)."""

    index_type: ClassVar[IndexType] = IndexType.SCANN
    search_knobs: ClassVar[tuple[str, ...]] = ("nprobe", "reorder_k")
    reorder_k: int = 100

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_range("reorder_k", self.reorder_k, 1, 16384)

    def validate_for(self, dim: int) -> None:
        if dim % 2:
            raise ConfigError(f"SCANN needs an even dimension; dim={dim}. Use IVF_FLAT or HNSW.")

    def default_search_params(self, k: int, rows: int | None = None) -> dict[str, Any]:
        return {"nprobe": self.nprobe, "reorder_k": max(self.reorder_k, k)}


HNSW_EF_SMALL = 128
"""The size-aware ``ef`` up to :data:`HNSW_EF_ROWS` rows (and when the count is unknown)."""
HNSW_EF_LARGE = 256
"""The size-aware ``ef`` above :data:`HNSW_EF_ROWS` rows."""
HNSW_EF_ROWS = 50_000
"""The row count above which the size-aware ``ef`` rises to :data:`HNSW_EF_LARGE`."""


def size_aware_ef(rows: int | None) -> int:
    """The ``ef`` a size-aware :class:`HnswIndex` searches ``rows`` rows with."""
    return HNSW_EF_LARGE if rows is not None and rows > HNSW_EF_ROWS else HNSW_EF_SMALL


@dataclass(frozen=True, kw_only=True)
class HnswIndex(IndexConfig):
    """HNSW graph: ``M`` links per node, ``ef_construction`` at build, ``ef`` at search.

    ``ef=None`` (the default) is size-aware: 128 up to 50,000 rows, 256 above, from the
    collection's row count (counted at most once a minute). Measured on Milvus Lite 3.2.2
    (recall@10 against exact search): 128 is the smallest ``ef`` keeping recall at or
    above 0.99 on SciFact's MiniLM vectors (0.995 at 64, 0.999 at 128) and on 20,000
    clustered 384-d vectors (0.985 at 64, 0.990-0.993 at 128); at 100,000 clustered
    vectors 128 gave 0.994-0.995 on two builds and 256 gave 0.996 on both (the margin
    the larger ``ef`` buys), and the search latency there did not change measurably
    between 64 and 384 (Lite's per-row pass dominates it). An explicit ``ef`` is used
    at every size.
    """

    index_type: ClassVar[IndexType] = IndexType.HNSW
    search_knobs: ClassVar[tuple[str, ...]] = ("ef",)
    M: int = 16
    ef_construction: int = 200
    ef: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_range("M", self.M, 2, 2048)
        _check_range("ef_construction", self.ef_construction, 1, INT32_MAX)
        if self.ef is not None:
            _check_range("ef", self.ef, 1, MAX_EF)

    @property
    def size_aware(self) -> bool:
        return self.ef is None

    def build_params(self) -> dict[str, Any]:
        return {"M": self.M, "efConstruction": self.ef_construction}

    def default_search_params(self, k: int, rows: int | None = None) -> dict[str, Any]:
        ef = self.ef if self.ef is not None else size_aware_ef(rows)
        # ef below k would return fewer than k hits.
        return {"ef": max(ef, k)}

    def search_params(
        self, k: int, overrides: Mapping[str, Any] | None = None, rows: int | None = None
    ) -> dict[str, Any]:
        params = super().search_params(k, overrides, rows)
        params["ef"] = max(params["ef"], k)
        return params


@dataclass(frozen=True, kw_only=True)
class DiskAnnIndex(IndexConfig):
    """DiskANN (Vamana graph on disk); ``search_list`` candidates at search."""

    index_type: ClassVar[IndexType] = IndexType.DISKANN
    search_knobs: ClassVar[tuple[str, ...]] = ("search_list",)
    search_list: int = 100

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_range("search_list", self.search_list, 1, 65535)

    def default_search_params(self, k: int, rows: int | None = None) -> dict[str, Any]:
        return {"search_list": max(self.search_list, k)}


@dataclass(frozen=True, kw_only=True)
class GpuCagraIndex(IndexConfig):
    """CAGRA graph on a GPU (needs a GPU build of Milvus)."""

    index_type: ClassVar[IndexType] = IndexType.GPU_CAGRA
    search_knobs: ClassVar[tuple[str, ...]] = ("itopk_size", "search_width")
    intermediate_graph_degree: int = 128
    graph_degree: int = 64
    itopk_size: int = 128
    search_width: int = 4

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_range("intermediate_graph_degree", self.intermediate_graph_degree, 1, 1024)
        _check_range("graph_degree", self.graph_degree, 1, 1024)
        if self.graph_degree > self.intermediate_graph_degree:
            raise ConfigError(
                "graph_degree must not exceed intermediate_graph_degree "
                f"({self.graph_degree} > {self.intermediate_graph_degree})."
            )

    def build_params(self) -> dict[str, Any]:
        return {
            "intermediate_graph_degree": self.intermediate_graph_degree,
            "graph_degree": self.graph_degree,
        }

    def default_search_params(self, k: int, rows: int | None = None) -> dict[str, Any]:
        return {"itopk_size": max(self.itopk_size, k), "search_width": self.search_width}


@dataclass(frozen=True, kw_only=True)
class SparseInvertedIndex(IndexConfig):
    """Inverted index over sparse vectors (BM25 function output or client vectors)."""

    index_type: ClassVar[IndexType] = IndexType.SPARSE_INVERTED_INDEX
    search_knobs: ClassVar[tuple[str, ...]] = ("drop_ratio_search",)
    drop_ratio_build: float = 0.0

    @classmethod
    def default_metric(cls) -> MetricType:
        return MetricType.BM25

    @classmethod
    def allowed_metrics(cls) -> tuple[MetricType, ...]:
        return (MetricType.BM25, MetricType.IP)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 <= self.drop_ratio_build < 1.0:
            raise ConfigError(f"drop_ratio_build={self.drop_ratio_build} must be in [0, 1).")

    def build_params(self) -> dict[str, Any]:
        return {"drop_ratio_build": self.drop_ratio_build}

    def default_search_params(self, k: int, rows: int | None = None) -> dict[str, Any]:
        # Milvus Lite accepts only drop_ratio_search=0 for sparse search.
        return {"drop_ratio_search": 0.0}


_BY_TYPE: dict[IndexType, type[IndexConfig]] = {
    cls.index_type: cls
    for cls in (
        FlatIndex,
        AutoIndex,
        IvfFlatIndex,
        IvfSq8Index,
        IvfPqIndex,
        ScannIndex,
        HnswIndex,
        DiskAnnIndex,
        GpuIvfFlatIndex,
        GpuCagraIndex,
        SparseInvertedIndex,
    )
}


def described_params(description: Mapping[str, Any]) -> dict[str, Any]:
    """An index description's entries, flat: servers report each build parameter as an
    entry of its own, Milvus Lite 3 nests them under ``params`` (a dict, or its JSON text).
    """
    flat = {key: value for key, value in description.items() if key != "params"}
    nested: Any = description.get("params")
    if isinstance(nested, str):
        try:
            nested = json.loads(nested)
        except ValueError:
            nested = None
    if isinstance(nested, Mapping):
        for key, value in nested.items():
            flat.setdefault(str(key), value)
    return flat


def described_index_config(
    description: Mapping[str, Any] | None, metric: MetricType | str
) -> IndexConfig | None:
    """The index config a described index was built with: its type and ``metric``, and
    the build parameters the engine reports (as numbers: servers report text).

    An engine that reports none built the type's defaults, which are the configs'
    defaults (Milvus Lite 3 for an index made without the nested entry it reads). A
    parameter that does not fit the config is left at its default. ``None``: no index
    type, or one this package does not know.
    """
    kind = str((description or {}).get("index_type") or "")
    if not kind:
        return None
    try:
        cls = _BY_TYPE[IndexType.parse(kind, field="index_type")]
        config = cls(metric=metric)
    except ConfigError:
        return None
    built = {
        "ef_construction" if key == "efConstruction" else key: number
        for key, number in reported_build_params(description or {}, config).items()
        if number != config.build_params()[key]
    }
    if not built:
        return config
    try:  # made afresh: knobs that follow a build parameter (IVF's nprobe) follow it
        return cls(metric=metric, **built)
    except (ConfigError, TypeError):
        return config


def reported_build_params(
    description: Mapping[str, Any], config: IndexConfig
) -> dict[str, int | float]:
    """The build parameters of ``config``'s type that an index description reports, as
    numbers (servers report text), keyed as in :meth:`IndexConfig.build_params`; one that
    is not reported, or is no number of its kind, is left out."""
    reported = described_params(description)
    numbers: dict[str, int | float] = {}
    for key, like in config.build_params().items():
        number = _reported_number(reported.get(key), like)
        if number is not None:
            numbers[key] = number
    return numbers


def _reported_number(value: Any, like: Any) -> int | float | None:
    """``value`` (a number or its text) as the type of ``like``, or ``None``."""
    if value is None or isinstance(value, bool):
        return None
    try:
        if isinstance(like, int):
            number = float(value)
            return int(number) if number.is_integer() else None
        return float(value)
    except (TypeError, ValueError):
        return None


SEARCH_METRIC = "metric_type"
"""The key of a search-parameter dict (pymilvus' form) naming the metric searched by."""


def index_from_dict(config: Mapping[str, Any] | str) -> IndexConfig:
    """Build a typed config from ``"HNSW"`` or ``{"index_type": "HNSW", "M": 32, ...}``.

    Raises:
        ConfigError: unknown index type or parameter.
    """
    if isinstance(config, str):
        config = {"index_type": config}
    data = dict(config)
    if "index_type" not in data:
        raise ConfigError(
            f"an index given as a dict needs its index_type (e.g. {{'index_type': 'HNSW', "
            f"'M': 16}}); got {shown(dict(config))}."
        )
    kind = IndexType.parse(data.pop("index_type"), field="index_type")
    params = data.pop("params", None) or {}
    if not isinstance(params, Mapping):
        raise ConfigError(
            f"the index's params={shown(params)} must be a dict of its parameters "
            "(e.g. {'M': 16, 'efConstruction': 200})."
        )
    for key, value in params.items():
        _merge_spelling(data, key, key, value, config)
    for official, ours in (("efConstruction", "ef_construction"), ("metric_type", "metric")):
        if official in data:
            _merge_spelling(data, official, ours, data.pop(official), config)
    cls = _BY_TYPE[kind]
    known = {f for f in cls.__dataclass_fields__ if f not in ("index_type", "search_knobs")}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            f"unknown parameter(s) {unknown} for index {kind.value}; valid: {sorted(known)}."
        )
    return cls(**data)


def _merge_spelling(
    data: dict[str, Any],
    given: str,
    key: str,
    value: Any,
    config: Mapping[str, Any],
    what: str = "the index",
) -> None:
    """Put ``value`` (given as ``given``) under ``key``, refusing a second, different value.

    Raises:
        ConfigError: ``key`` already holds another value (one parameter given twice, e.g.
            flat and inside ``params``, or as ``efConstruction`` and ``ef_construction``).
    """
    if key in data and not _same_value(data[key], value):
        raise ConfigError(
            f"{what} {shown(dict(config))} gives {key} twice ({shown(data[key])} and "
            f"{given}={shown(value)}); give it once."
        )
    data[key] = value


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.upper() == b.upper()  # metric names: "cosine" is "COSINE"
    return type(a) is type(b) and a == b


@dataclass(frozen=True)
class _Sizing:
    raw_bytes: int
    hnsw_bytes: int
    sq8_bytes: int
    pq_bytes: int


def _sizing(n_vectors: int, dim: int, hnsw_m: int) -> _Sizing:
    raw = n_vectors * dim * 4
    # HNSW keeps the raw vectors plus about 2*M neighbour ids (4 bytes) per node.
    hnsw = raw + n_vectors * hnsw_m * 2 * 4
    sq8 = n_vectors * dim
    pq = n_vectors * max(1, dim // 8)
    return _Sizing(raw, hnsw, sq8, pq)


def recommend_index(
    n_vectors: int,
    dim: int,
    *,
    memory_budget_bytes: int | None = None,
    metric: MetricType | str = MetricType.COSINE,
) -> IndexConfig:
    """Recommend an index for a collection of ``n_vectors`` ``dim``-d vectors.

    The rules, in order:

    1. The HNSW graph fits the memory budget (or no budget is given): ``HNSW``. Up to
       100,000 vectors it is the store's own default on Milvus Lite 3 (``M`` 16,
       ``ef_construction`` 200, size-aware ``ef``: recall@10 0.99 or more on the
       measured sets, while exact search costs grow with the row count); above that,
       ``M`` is 32 for vectors of more than 512 dims.
    2. Up to 100,000 vectors whose raw floats fit the budget: ``FLAT`` (exact).
    3. 8-bit vectors fit: ``IVF_SQ8`` with ``nlist`` about ``4 * sqrt(n)``.
    4. Otherwise ``IVF_PQ`` with ``m`` dividing ``dim`` into sub-vectors of about 8
       dims (a memory budget smaller still raises).

    Milvus Lite 2.5 builds no HNSW: pass ``FlatIndex()`` there. For exact search at
    any size, pass ``FlatIndex()`` too.

    Args:
        n_vectors: expected number of vectors.
        dim: vector dimension.
        memory_budget_bytes: memory the index may use, or ``None`` for no limit.
        metric: the metric to configure.

    Raises:
        ConfigError: non-positive sizes or a budget too small for any index.
    """
    if n_vectors <= 0 or dim <= 0:
        raise ConfigError(f"n_vectors and dim must be positive (got {n_vectors}, {dim}).")
    hnsw_m = 32 if dim > 512 and n_vectors > 100_000 else 16
    size = _sizing(n_vectors, dim, hnsw_m)
    nlist = int(min(65536, max(16, 4 * math.isqrt(n_vectors))))
    if memory_budget_bytes is None or size.hnsw_bytes <= memory_budget_bytes:
        return HnswIndex(metric=metric, M=hnsw_m, ef_construction=200)
    if n_vectors <= 100_000 and size.raw_bytes <= memory_budget_bytes:
        return FlatIndex(metric=metric)
    if size.sq8_bytes <= memory_budget_bytes:
        return IvfSq8Index(metric=metric, nlist=nlist, nprobe=min(nlist, 32))
    m = next((d for d in (dim // 8, dim // 4, dim // 16, dim // 2, 1) if d and dim % d == 0), 1)
    pq = n_vectors * m
    if pq > memory_budget_bytes:
        raise ConfigError(
            f"memory_budget_bytes={memory_budget_bytes} is too small for {n_vectors} vectors "
            f"of dim {dim} (IVF_PQ needs about {pq} bytes); raise the budget or shard the data."
        )
    return IvfPqIndex(metric=metric, nlist=nlist, nprobe=min(nlist, 32), m=m, nbits=8)


def flat_search_knobs(params: Any, field: str = "search_params") -> dict[str, Any]:
    """Search knobs given flat (``{"ef": 64}``) or as pymilvus and langchain-milvus write
    them (``{"metric_type": "COSINE", "params": {"ef": 64}}``), as one flat dict.

    A ``metric_type`` stays in it, parsed, to be checked against the searched index's
    metric (:func:`without_search_metric`).

    Raises:
        ConfigError: not a dict, ``params`` not a dict, a knob given twice with two
            values, or an unknown metric.
    """
    if not isinstance(params, Mapping):
        raise ConfigError(
            f"{field}={shown(params)} must be a dict of search knobs, e.g. {{'ef': 64}}."
        )
    flat = {key: value for key, value in params.items() if key != "params"}
    nested = params.get("params")
    if nested is not None:
        if not isinstance(nested, Mapping):
            raise ConfigError(
                f"{field}['params']={shown(nested)} must be a dict of search knobs, e.g. "
                "{'ef': 64}."
            )
        for key, value in nested.items():
            _merge_spelling(flat, key, key, value, params, field)
    if SEARCH_METRIC in flat:
        flat[SEARCH_METRIC] = MetricType.parse(flat[SEARCH_METRIC], field=f"{field} metric_type")
    return flat


def without_search_metric(
    knobs: Mapping[str, Any], metric: MetricType, field: str = "search_params"
) -> dict[str, Any]:
    """``knobs`` without their ``metric_type``, which must be the index's own metric.

    Raises:
        ConfigError: ``metric_type`` names another metric than the one the index ranks by.
    """
    rest = dict(knobs)
    given = rest.pop(SEARCH_METRIC, None)
    if given is not None and MetricType.parse(given, field=f"{field} metric_type") is not metric:
        raise ConfigError(
            f"{field} metric_type={shown(str(getattr(given, 'value', given)))} conflicts with "
            f"the index, which ranks by {metric.value}; pass the knobs alone "
            f"({shown(rest or {'ef': 64})}: the index's metric is used), or choose the "
            "store's metric when it is created (metric=...)."
        )
    return rest


def checked_search_params(
    params: Any, index: IndexConfig | None, field: str = "search_params"
) -> dict[str, Any] | None:
    """A store's default search knobs, checked when the store is built (no I/O).

    With a known ``index``, each knob must be one of its knobs, in range; without one
    (the collection's own index is learnt when it is opened), a knob of some dense
    index type, in range. A ``metric_type`` (pymilvus' form) must be the index's; without
    a known index it is checked when the collection's index is known (at the search).

    Raises:
        ConfigError: not a mapping, an unknown knob, or a value out of range.
    """
    if params is None:
        return None
    params = flat_search_knobs(params, field)
    if index is not None:
        rest = without_search_metric(params, index.metric_type, field)
        index.search_params(1, rest)
        return rest
    knobs = sorted(
        {k for cls in _BY_TYPE.values() if cls is not SparseInvertedIndex for k in cls.search_knobs}
    )
    for key, value in params.items():
        if key == SEARCH_METRIC:
            continue  # checked against the collection's index when it is searched
        if key not in knobs:
            raise ConfigError(
                f"{field} holds {shown(key)}, which no dense index takes; known: "
                f"{', '.join(knobs)}."
            )
        check_search_knob(key, value)
    return dict(params)
