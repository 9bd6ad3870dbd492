"""Index configs: parameter validation before any I/O, search knobs, and recommend_index."""

from __future__ import annotations

from typing import Any

import pytest

from milvus_plugins.core import (
    AutoIndex,
    CollectionSpec,
    ConfigError,
    DiskAnnIndex,
    FlatIndex,
    GpuCagraIndex,
    GpuIvfFlatIndex,
    HnswIndex,
    IndexConfig,
    IndexType,
    IvfFlatIndex,
    IvfPqIndex,
    IvfSq8Index,
    MetricType,
    ScannIndex,
    SparseInvertedIndex,
    index_from_dict,
    recommend_index,
)

# -- build parameters --------------------------------------------------------------------

BUILD: list[tuple[IndexConfig, IndexType, dict[str, Any]]] = [
    (FlatIndex(), IndexType.FLAT, {}),
    (AutoIndex(), IndexType.AUTOINDEX, {}),
    (IvfFlatIndex(nlist=64), IndexType.IVF_FLAT, {"nlist": 64}),
    (IvfSq8Index(nlist=32, nprobe=8), IndexType.IVF_SQ8, {"nlist": 32}),
    (IvfPqIndex(nlist=16, m=4, nbits=8), IndexType.IVF_PQ, {"nlist": 16, "m": 4, "nbits": 8}),
    (ScannIndex(nlist=8, nprobe=4), IndexType.SCANN, {"nlist": 8}),
    (HnswIndex(M=32, ef_construction=100), IndexType.HNSW, {"M": 32, "efConstruction": 100}),
    (DiskAnnIndex(), IndexType.DISKANN, {}),
    (GpuIvfFlatIndex(nlist=4, nprobe=2), IndexType.GPU_IVF_FLAT, {"nlist": 4}),
    (
        GpuCagraIndex(intermediate_graph_degree=64, graph_degree=32),
        IndexType.GPU_CAGRA,
        {"intermediate_graph_degree": 64, "graph_degree": 32},
    ),
    (SparseInvertedIndex(), IndexType.SPARSE_INVERTED_INDEX, {"drop_ratio_build": 0.0}),
]


@pytest.mark.parametrize(("config", "kind", "params"), BUILD, ids=[k.value for _, k, _ in BUILD])
def test_index_config_builds_milvus_params(
    config: IndexConfig, kind: IndexType, params: dict[str, Any]
) -> None:
    assert config.index_type is kind
    assert config.build_params() == params


def test_metric_string_is_parsed_case_insensitively() -> None:
    assert HnswIndex(metric="l2").metric_type is MetricType.L2
    assert FlatIndex(metric="ip").metric is MetricType.IP
    assert SparseInvertedIndex(metric="IP").metric_type is MetricType.IP


# -- validation before I/O ---------------------------------------------------------------

INVALID: list[tuple[type[IndexConfig], dict[str, Any], str]] = [
    (HnswIndex, {"M": 1}, "M=1"),
    (HnswIndex, {"M": 2049}, "M=2049"),
    (HnswIndex, {"M": 16.0}, "M=16.0"),
    (HnswIndex, {"M": True}, "M=True"),
    (HnswIndex, {"ef_construction": 0}, "ef_construction"),
    (HnswIndex, {"ef": 0}, "ef=0"),
    (IvfFlatIndex, {"nlist": 0}, "nlist"),
    (IvfFlatIndex, {"nlist": 65537}, "nlist"),
    (IvfFlatIndex, {"nlist": 8, "nprobe": 9}, "nprobe=9 exceeds nlist=8"),
    (IvfPqIndex, {"m": 0}, "m=0"),
    (IvfPqIndex, {"nbits": 17}, "nbits"),
    (ScannIndex, {"reorder_k": 0}, "reorder_k"),
    (DiskAnnIndex, {"search_list": 0}, "search_list"),
    (GpuCagraIndex, {"intermediate_graph_degree": 32, "graph_degree": 64}, "graph_degree"),
    (SparseInvertedIndex, {"drop_ratio_build": 1.0}, "drop_ratio_build"),
    (SparseInvertedIndex, {"metric": "COSINE"}, "SPARSE_INVERTED_INDEX"),
    (HnswIndex, {"metric": "BM25"}, "HNSW"),
    (FlatIndex, {"metric": "hamming"}, "not a known MetricType"),
    (FlatIndex, {"metric": "cosine similarity"}, "use one of"),
]


@pytest.mark.parametrize(
    ("cls", "kwargs", "message"), INVALID, ids=[f"{c.__name__}-{kw}" for c, kw, _ in INVALID]
)
def test_invalid_index_parameter_raises_config_error(
    cls: type[IndexConfig], kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        cls(**kwargs)


@pytest.mark.parametrize("m", [2, 2048])
def test_hnsw_m_range_bounds_are_inclusive(m: int) -> None:
    assert m == HnswIndex(M=m).M


def test_ivf_pq_m_must_divide_dim() -> None:
    IvfPqIndex(m=8).validate_for(128)
    with pytest.raises(ConfigError, match=r"m=7 does not divide dim=128; use one of"):
        IvfPqIndex(m=7).validate_for(128)


def test_ivf_pq_m_not_dividing_dim_is_rejected_by_the_spec_before_io() -> None:
    with pytest.raises(ConfigError, match="does not divide dim=100"):
        CollectionSpec(name="c", dim=100, index=IvfPqIndex(m=16))
    CollectionSpec(name="c", dim=96, index=IvfPqIndex(m=16))


def test_scann_needs_an_even_dimension() -> None:
    with pytest.raises(ConfigError, match="even dimension"):
        CollectionSpec(name="c", dim=7, index=ScannIndex())


def test_config_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        HnswIndex(M=0)


# -- search knobs ------------------------------------------------------------------------


def test_hnsw_ef_defaults_and_is_raised_to_k() -> None:
    index = HnswIndex(ef=64)
    assert index.search_params(10) == {"ef": 64}
    assert index.search_params(100) == {"ef": 100}
    assert index.search_params(10, {"ef": 200}) == {"ef": 200}
    assert index.search_params(50, {"ef": 20}) == {"ef": 50}


def test_hnsw_default_ef_is_size_aware_and_an_explicit_ef_is_not() -> None:
    index = HnswIndex()
    assert index.ef is None and index.size_aware
    assert index.search_params(10) == {"ef": 128}  # row count unknown
    assert index.search_params(10, rows=0) == {"ef": 128}
    assert index.search_params(10, rows=50_000) == {"ef": 128}
    assert index.search_params(10, rows=50_001) == {"ef": 256}
    assert index.search_params(300, rows=10**7) == {"ef": 300}  # never below k
    assert index.search_params(10, {"ef": 64}, rows=10**7) == {"ef": 64}
    explicit = HnswIndex(ef=128)
    assert not explicit.size_aware
    assert explicit.search_params(10, rows=10**7) == {"ef": 128}
    assert not FlatIndex().size_aware and FlatIndex().search_params(10, rows=10**7) == {}
    assert index_from_dict({"index_type": "HNSW", "ef": None}) == index
    assert recommend_index(200_000, 384).size_aware


def test_ivf_nprobe_knob_overrides_the_default() -> None:
    assert IvfFlatIndex(nprobe=4).search_params(5) == {"nprobe": 4}
    assert IvfFlatIndex(nprobe=4).search_params(5, {"nprobe": 32}) == {"nprobe": 32}


def test_ivf_nprobe_defaults_to_at_most_nlist() -> None:
    assert IvfFlatIndex().nprobe == 16
    assert IvfFlatIndex(nlist=4).nprobe == 4
    assert IvfPqIndex(nlist=8).search_params(3) == {"nprobe": 8}


def test_scann_reorder_k_is_at_least_k() -> None:
    assert ScannIndex(reorder_k=10).search_params(50) == {"nprobe": 16, "reorder_k": 50}


def test_sparse_search_uses_drop_ratio_zero() -> None:
    assert SparseInvertedIndex().search_params(5) == {"drop_ratio_search": 0.0}


UNKNOWN_KNOBS: list[tuple[IndexConfig, dict[str, Any]]] = [
    (HnswIndex(), {"nprobe": 8}),
    (HnswIndex(), {"efSearch": 8}),
    (IvfFlatIndex(), {"ef": 64}),
    (FlatIndex(), {"ef": 64}),
    (AutoIndex(), {"nprobe": 1}),
    (DiskAnnIndex(), {"ef": 1}),
]


@pytest.mark.parametrize(("index", "knobs"), UNKNOWN_KNOBS, ids=[str(k) for _, k in UNKNOWN_KNOBS])
def test_unknown_search_knob_is_rejected_naming_the_valid_ones(
    index: IndexConfig, knobs: dict[str, Any]
) -> None:
    with pytest.raises(ConfigError, match=r"not valid for .*; valid: "):
        index.search_params(4, knobs)


@pytest.mark.parametrize("value", [-1, "64", None, True, [64]])
def test_search_knob_value_must_be_a_non_negative_number(value: Any) -> None:
    with pytest.raises(ConfigError, match="non-negative number"):
        HnswIndex().search_params(4, {"ef": value})


# -- index_from_dict ---------------------------------------------------------------------


def test_index_from_dict_accepts_a_type_name() -> None:
    assert index_from_dict("hnsw") == HnswIndex()
    assert index_from_dict("FLAT") == FlatIndex()


def test_index_from_dict_accepts_milvus_spelling() -> None:
    config = index_from_dict(
        {"index_type": "HNSW", "metric_type": "IP", "params": {"M": 8, "efConstruction": 64}}
    )
    assert config == HnswIndex(metric="IP", M=8, ef_construction=64)


def test_spec_accepts_index_as_dict_or_name() -> None:
    spec = CollectionSpec(
        name="c", dim=8, index={"index_type": "IVF_FLAT", "nlist": 4, "nprobe": 2}
    )
    assert spec.index == IvfFlatIndex(nlist=4, nprobe=2)
    assert CollectionSpec(name="c", dim=8, index="HNSW").index == HnswIndex()


def test_index_metric_wins_over_spec_metric() -> None:
    spec = CollectionSpec(name="c", dim=8, metric="COSINE", index=HnswIndex(metric="L2"))
    assert spec.metric_type is MetricType.L2


@pytest.mark.parametrize(
    "config",
    [
        {"index_type": "HNSW", "M": 8, "efconstruction": 64},
        {"index_type": "IVF_FLAT", "nlists": 4},
        {"index_type": "FLAT", "params": {"nlist": 4}},
    ],
)
def test_index_from_dict_rejects_unknown_parameters(config: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="unknown parameter"):
        index_from_dict(config)


@pytest.mark.parametrize("name", ["HSNW", "", "IVF-FLAT"])
def test_index_from_dict_rejects_unknown_index_types(name: str) -> None:
    with pytest.raises(ConfigError, match="IndexType"):
        index_from_dict(name)


# -- recommend_index ---------------------------------------------------------------------

RECOMMEND: list[tuple[int, int, int | None, type[IndexConfig]]] = [
    (1, 8, None, HnswIndex),
    (100_000, 768, None, HnswIndex),
    (100_001, 768, None, HnswIndex),
    (10_000, 768, 30 * 1024**2, FlatIndex),  # the raw vectors fit, the graph does not
    (200_000, 768, 600 * 1024**2, IvfSq8Index),  # no FLAT above 100,000
    (1_000_000, 384, None, HnswIndex),
    (1_000_000, 384, 2 * 1024**3, HnswIndex),
    (1_000_000, 384, 1024**3, IvfSq8Index),
    (10_000_000, 768, 1024**3, IvfPqIndex),
    (50_000, 768, 40 * 1024**2, IvfSq8Index),
    (50_000, 768, 10 * 1024**2, IvfPqIndex),
]


@pytest.mark.parametrize(("n", "dim", "budget", "expected"), RECOMMEND)
def test_recommend_index_follows_the_documented_rules(
    n: int, dim: int, budget: int | None, expected: type[IndexConfig]
) -> None:
    config = recommend_index(n, dim, memory_budget_bytes=budget, metric="IP")
    assert type(config) is expected
    assert config.metric_type is MetricType.IP
    config.validate_for(dim)


def test_recommend_index_hnsw_uses_more_links_above_512_dims() -> None:
    small = recommend_index(1_000_000, 384)
    large = recommend_index(1_000_000, 1024)
    assert isinstance(small, HnswIndex) and small.M == 16
    assert isinstance(large, HnswIndex) and large.M == 32


@pytest.mark.parametrize(("n", "dim"), [(1, 8), (20_000, 384), (100_000, 1024)])
def test_recommend_index_up_to_100k_is_the_default_index_of_lite_3(n: int, dim: int) -> None:
    # The store's own default there (core/schema.py field_index): HnswIndex().
    assert recommend_index(n, dim) == HnswIndex()


@pytest.mark.parametrize("dim", [768, 100, 97, 12])
def test_recommend_index_ivf_pq_m_divides_dim(dim: int) -> None:
    config = recommend_index(10_000_000, dim, memory_budget_bytes=dim * 10_000_000 // 2)
    assert isinstance(config, IvfPqIndex)
    assert dim % config.m == 0
    assert config.nprobe <= config.nlist


def test_recommend_index_rejects_a_budget_too_small_for_any_index() -> None:
    with pytest.raises(ConfigError, match="too small"):
        recommend_index(10_000_000, 768, memory_budget_bytes=1000)


@pytest.mark.parametrize(("n", "dim"), [(0, 8), (10, 0), (-1, 8)])
def test_recommend_index_rejects_non_positive_sizes(n: int, dim: int) -> None:
    with pytest.raises(ConfigError, match="positive"):
        recommend_index(n, dim)


@pytest.mark.parametrize(
    ("version", "nested"),
    [("milvus_lite-3.2.2", True), ("milvus_lite-2.5.1", False), ("v2.3.5-lite", False)],
)
def test_build_parameters_are_sent_as_the_engine_reads_them(version: str, nested: bool) -> None:
    from milvus_plugins.core.capabilities import detect_capabilities
    from milvus_plugins.core.schema import sent_build_params

    caps = detect_capabilities(version)
    build = HnswIndex(M=32, ef_construction=100).build_params()
    sent = sent_build_params(build, caps)
    assert {k: v for k, v in sent.items() if k != "params"} == build
    assert sent.get("params") == (build if nested else None)
    assert sent_build_params({}, caps) == {}  # nothing to nest: FLAT stays as it was


def test_search_knobs_are_read_in_pymilvus_nested_form_too() -> None:
    from milvus_plugins.core.indexes import flat_search_knobs, without_search_metric

    nested = {"metric_type": "cosine", "params": {"ef": 80}}
    flat = flat_search_knobs(nested)
    assert flat == {"metric_type": MetricType.COSINE, "ef": 80}
    assert without_search_metric(flat, MetricType.COSINE) == {"ef": 80}
    with pytest.raises(ConfigError, match="conflicts"):
        without_search_metric(flat_search_knobs({"metric_type": "L2", "ef": 8}), MetricType.IP)
    with pytest.raises(ConfigError, match="twice"):
        flat_search_knobs({"ef": 8, "params": {"ef": 16}})
    with pytest.raises(ConfigError, match="must be a dict"):
        flat_search_knobs({"params": "ef=8"})
    assert flat_search_knobs({"ef": 8, "params": {"ef": 8}}) == {"ef": 8}
    # A store's default knobs: checked against a known index, metric dropped.
    from milvus_plugins.core.indexes import checked_search_params

    assert checked_search_params(nested, HnswIndex()) == {"ef": 80}
    with pytest.raises(ConfigError, match="conflicts"):
        checked_search_params({"metric_type": "L2", "params": {"ef": 8}}, HnswIndex())


def test_an_index_dict_refuses_one_parameter_given_twice() -> None:
    for config in (
        {"index_type": "HNSW", "M": 32, "params": {"M": 8}},
        {"index_type": "HNSW", "ef_construction": 32, "efConstruction": 8},
        {"index_type": "IVF_FLAT", "metric": "IP", "metric_type": "L2"},
    ):
        with pytest.raises(ConfigError, match="twice"):
            index_from_dict(config)
    same = {"index_type": "HNSW", "M": 8, "params": {"M": 8}, "metric": "ip", "metric_type": "IP"}
    assert index_from_dict(same) == HnswIndex(M=8, metric="IP")


@pytest.mark.parametrize(
    ("described", "expected"),
    [
        ({"index_type": "IVF_FLAT", "params": {"nlist": 8}}, IvfFlatIndex(nlist=8)),  # Lite 3
        ({"index_type": "IVF_FLAT", "nlist": "8"}, IvfFlatIndex(nlist=8)),  # servers: text
        (
            {"index_type": "HNSW", "M": "32", "efConstruction": "64"},
            HnswIndex(M=32, ef_construction=64),
        ),
        ({"index_type": "HNSW", "params": '{"M": 4}'}, HnswIndex(M=4)),  # JSON text
        ({"index_type": "HNSW"}, HnswIndex()),  # none reported: the defaults
        ({"index_type": "IVF_FLAT", "nlist": "0"}, IvfFlatIndex()),  # does not fit: default
        ({"index_type": "NOT_AN_INDEX"}, None),
        ({}, None),
    ],
)
def test_a_described_index_is_read_with_its_build_parameters(
    described: dict[str, Any], expected: IndexConfig | None
) -> None:
    from milvus_plugins.core.indexes import described_index_config

    assert described_index_config(described, "COSINE") == expected
    if expected is not None and isinstance(expected, IvfFlatIndex):
        config = described_index_config(described, "COSINE")
        assert isinstance(config, IvfFlatIndex) and config.nprobe <= config.nlist
