"""Configuration objects: validated before any I/O, loud about unknown values, no secrets shown."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from milvus_plugins.core import (
    DEFAULT_URI,
    RRF,
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    ConsistencyLevel,
    FieldNames,
    HnswIndex,
    HybridOptions,
    MetadataField,
    MetricType,
    MilvusStore,
    RetrievalMode,
    RetryPolicy,
    ScalarType,
    SparseInvertedIndex,
    SparseMode,
    TextAnalyzer,
    WriteOptions,
)
from milvus_plugins.core.connection import check_client_kwargs
from milvus_plugins.core.errors import redact, translate
from milvus_plugins.core.lite import LiteLease
from milvus_plugins.core.session import LITE_GRPC_OPTIONS, Session

SECRET = "root:Sup3rS3cretPassw0rd"


# -- ConnectionConfig --------------------------------------------------------------------


def test_connection_defaults_to_a_local_lite_file() -> None:
    config = ConnectionConfig()
    assert DEFAULT_URI == "./milvus.db"
    assert config.uri == os.path.abspath(DEFAULT_URI)  # resolved at construction
    assert config.is_lite
    assert config.token == ""
    assert config.timeout == 30.0


@pytest.mark.parametrize(
    ("uri", "lite"),
    [
        ("./x.db", True),
        ("/tmp/a/b.db", True),
        ("http://localhost:19530", False),
        ("https://in01.zillizcloud.com", False),
        ("http://host/x.db", False),
    ],
)
def test_is_lite_only_for_local_db_paths(uri: str, lite: bool) -> None:
    assert ConnectionConfig(uri=uri).is_lite is lite


def test_from_env_reads_milvus_uri_and_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MILVUS_URI", "http://milvus.example:19530")
    monkeypatch.setenv("MILVUS_TOKEN", SECRET)
    config = ConnectionConfig.from_env(db_name="analytics", timeout=5.0)
    assert config.uri == "http://milvus.example:19530"
    assert config.token == SECRET
    assert config.db_name == "analytics"
    assert config.timeout == 5.0


def test_explicit_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MILVUS_URI", "http://milvus.example:19530")
    monkeypatch.setenv("MILVUS_TOKEN", SECRET)
    config = ConnectionConfig.from_env(uri="./mine.db", token="")
    assert config.uri == os.path.abspath("./mine.db")
    assert config.token == ""


def test_from_env_without_variables_uses_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MILVUS_URI", raising=False)
    monkeypatch.delenv("MILVUS_TOKEN", raising=False)
    assert ConnectionConfig.from_env() == ConnectionConfig()


def test_token_never_appears_in_repr_or_str() -> None:
    config = ConnectionConfig(uri="http://h:19530", token=SECRET)
    for text in (repr(config), str(config), repr([config]), f"{config}"):
        assert SECRET not in text
        assert "Sup3rS3cret" not in text
        assert "'***'" in text
    assert "token=''" in repr(ConnectionConfig())


def test_token_is_redacted_from_translated_error_messages() -> None:
    # Redaction uses the connection's own secrets at the translation point (no global
    # registry: see tests/unit/test_errors_classify.py).
    config = ConnectionConfig(uri="http://h:19530", token=SECRET)
    raw = RuntimeError(f"auth failed for token {SECRET} (password Sup3rS3cretPassw0rd)")
    error = translate(raw, secrets=config.secrets)
    assert "Sup3rS3cret" not in str(error)
    assert "***" in str(error)
    assert "Sup3rS3cret" not in redact(f"x {SECRET} y", config.secrets)


def test_store_repr_hides_the_token() -> None:
    store = MilvusStore(
        CollectionSpec(name="c", dim=2),
        connection=ConnectionConfig(uri="http://127.0.0.1:1", token=SECRET),
    )
    assert "Sup3rS3cret" not in repr(store)
    assert "Sup3rS3cret" not in repr(store.session)


@pytest.mark.parametrize("kwargs", [{"uri": ""}, {"uri": "   "}, {"timeout": 0}, {"timeout": -1.0}])
def test_invalid_connection_settings_raise_config_error(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        ConnectionConfig(**kwargs)


def test_connection_config_is_frozen_and_keyword_only() -> None:
    config = ConnectionConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.uri = "x.db"  # type: ignore[misc]
    with pytest.raises(TypeError):
        ConnectionConfig("x.db")  # type: ignore[call-arg]


# -- enums -------------------------------------------------------------------------------


def test_enums_accept_milvus_spelling_in_any_case() -> None:
    assert MetricType.parse("cosine", field="metric") is MetricType.COSINE
    assert ConsistencyLevel.parse("strong", field="c") is ConsistencyLevel.STRONG
    assert SparseMode.parse("BM25", field="s") is SparseMode.BM25
    assert RetrievalMode.parse("Hybrid", field="m") is RetrievalMode.HYBRID
    assert ScalarType.parse("varchar", field="t") is ScalarType.VARCHAR
    assert str(MetricType.L2) == "L2"


@pytest.mark.parametrize("value", ["cosin", "euclidean", "", 3, None])
def test_unknown_metric_is_rejected_naming_the_choices(value: Any) -> None:
    with pytest.raises(ConfigError, match=r"metric=.* is not a known MetricType; use one of"):
        MetricType.parse(value, field="metric")


# -- FieldNames and MetadataField --------------------------------------------------------


def test_field_names_can_be_renamed() -> None:
    names = FieldNames(id="pk", text="content", vector="embedding")
    assert names.all() == ("pk", "content", "embedding", "sparse", "metadata", "doc_id", "extra")


@pytest.mark.parametrize(
    "kwargs", [{"id": "1abc"}, {"text": "has space"}, {"vector": ""}, {"metadata": "a-b"}]
)
def test_invalid_field_name_is_rejected(kwargs: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="not a valid Milvus name"):
        FieldNames(**kwargs)


def test_field_names_must_be_distinct() -> None:
    with pytest.raises(ConfigError, match="distinct"):
        FieldNames(text="id")


def test_metadata_field_parses_types() -> None:
    field = MetadataField(name="tags", type="array", element_type="varchar", max_length=32)
    assert field.scalar_type is ScalarType.ARRAY
    assert field.element_scalar_type is ScalarType.VARCHAR


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "x", "type": "ARRAY"}, "give element_type"),
        ({"name": "x", "type": "ARRAY", "element_type": "ARRAY"}, "arrays of arrays"),
        ({"name": "x", "type": "INT64", "element_type": "INT64"}, "only for ARRAY"),
        ({"name": "x", "type": "FLOAT16"}, "not a known ScalarType"),
        ({"name": "x", "type": "VARCHAR", "max_length": 0}, "max_length"),
        ({"name": "x", "type": "VARCHAR", "max_length": 65536}, "max_length"),
        ({"name": "x", "type": "ARRAY", "element_type": "INT64", "max_capacity": 0}, "capacity"),
        ({"name": "bad name", "type": "INT64"}, "not a valid Milvus name"),
    ],
)
def test_invalid_metadata_field_raises_config_error(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        MetadataField(**kwargs)


# -- CollectionSpec ----------------------------------------------------------------------


def test_spec_defaults() -> None:
    spec = CollectionSpec(name="docs")
    assert spec.dim is None
    assert spec.metric_type is MetricType.COSINE
    assert spec.sparse_mode is SparseMode.NONE
    assert spec.sparse_index is None
    assert spec.consistency is ConsistencyLevel.STRONG
    assert not spec.has_sparse
    assert spec.analyzer_params == {"type": "standard"}


def test_spec_sparse_modes_pick_their_sparse_index_metric() -> None:
    bm25 = CollectionSpec(name="a", dim=4, sparse="bm25")
    client = CollectionSpec(name="b", dim=4, sparse="client")
    assert bm25.sparse_index == SparseInvertedIndex(metric="BM25")
    assert client.sparse_index == SparseInvertedIndex(metric="IP")


def test_spec_metadata_fields_accept_a_mapping() -> None:
    spec = CollectionSpec(
        name="c",
        dim=4,
        metadata_fields={"year": "INT64", "tags": {"type": "ARRAY", "element_type": "VARCHAR"}},
        partition_key="year",
    )
    assert [f.name for f in spec.declared_fields] == ["year", "tags"]
    declared = spec.declared("tags")
    assert declared is not None and declared.element_scalar_type is ScalarType.VARCHAR
    assert spec.declared("absent") is None


def test_with_dim_and_with_index_return_validated_copies() -> None:
    spec = CollectionSpec(name="c")
    assert spec.with_dim(8).dim == 8
    assert spec.with_index(HnswIndex(metric="IP")).metric_type is MetricType.IP
    with pytest.raises(ConfigError):
        spec.with_dim(0)


INVALID_SPECS: list[tuple[dict[str, Any], str]] = [
    ({"name": "has-dash"}, "not a valid Milvus name"),
    ({"name": "1st"}, "not a valid Milvus name"),
    ({"name": ""}, "not a valid Milvus name"),
    ({"name": "c", "dim": 0}, "dim=0"),
    ({"name": "c", "dim": 32769}, "dim=32769"),
    ({"name": "c", "dim": True}, "dim=True"),
    ({"name": "c", "dim": 4.0}, "dim=4.0"),
    ({"name": "c", "metric": "cosin"}, "not a known MetricType"),
    ({"name": "c", "metric": "BM25"}, "for the sparse field"),
    ({"name": "c", "index": 42}, "must be an IndexConfig"),
    ({"name": "c", "index": {"index_type": "HNSW", "m": 8}}, "unknown parameter"),
    ({"name": "c", "index": "NOPE"}, "IndexType"),
    ({"name": "c", "sparse": "splade"}, "not a known SparseMode"),
    (
        {"name": "c", "sparse": "bm25", "sparse_index": SparseInvertedIndex(metric="IP")},
        "metric BM25",
    ),
    (
        {"name": "c", "metadata_fields": [MetadataField(name="a", type="INT64")] * 2},
        "duplicate",
    ),
    ({"name": "c", "metadata_fields": {"text": "VARCHAR"}}, "clash with reserved"),
    ({"name": "c", "metadata_fields": {"doc_id": "VARCHAR"}}, "clash with reserved"),
    ({"name": "c", "partition_key": "metadata"}, "one of this package's own fields"),
    ({"name": "c", "partition_key": "a-b"}, "not a valid Milvus name"),
    ({"name": "c", "partition_key": 3}, "must be a string"),
    ({"name": "c", "metadata_fields": {"p": "DOUBLE"}, "partition_key": "p"}, "INT64 or VARCHAR"),
    ({"name": "c", "text_max_length": 0}, "text_max_length"),
    ({"name": "c", "text_max_length": 70000}, "text_max_length"),
    ({"name": "c", "id_max_length": 0}, "id_max_length"),
    ({"name": "c", "consistency_level": "Immediate"}, "ConsistencyLevel"),
    (
        {"name": "c", "dim": 10, "index": {"index_type": "IVF_FLAT", "nlist": 4, "nprobe": 8}},
        "nprobe=8 exceeds",
    ),
]


@pytest.mark.parametrize(("kwargs", "message"), INVALID_SPECS, ids=[m for _, m in INVALID_SPECS])
def test_invalid_collection_spec_raises_config_error(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        CollectionSpec(**kwargs)


# -- option objects and the store constructor -------------------------------------------


@pytest.mark.parametrize(
    ("factory", "kwargs"),
    [
        (RetryPolicy, {"attempts": 0}),
        (RetryPolicy, {"initial_backoff": -1}),
        (RetryPolicy, {"multiplier": 0.5}),
        (WriteOptions, {"batch_rows": 0}),
        (WriteOptions, {"batch_bytes": 100}),
        (WriteOptions, {"batch_bytes": 61 * 1024 * 1024}),
        (HybridOptions, {"fusion": "both"}),
        (HybridOptions, {"fetch_k": 0}),
        (RRF, {"k": 0}),
    ],
)
def test_invalid_options_raise_config_error(factory: Any, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        factory(**kwargs)


def test_retry_delay_grows_and_is_capped() -> None:
    policy = RetryPolicy(initial_backoff=1.0, multiplier=2.0, max_backoff=3.0, jitter=0.0)
    assert [policy.delay(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 3.0, 3.0]


def test_store_constructor_does_no_io() -> None:
    # Nothing listens on port 1: any connection attempt would fail or hang.
    store = MilvusStore(
        CollectionSpec(name="c", dim=2), connection=ConnectionConfig(uri="http://127.0.0.1:1")
    )
    assert store._client is None
    assert store.session.capabilities is None


def test_store_rejects_client_sparse_without_encoder() -> None:
    with pytest.raises(ConfigError, match="sparse_encoder"):
        MilvusStore(CollectionSpec(name="c", dim=2, sparse="client"))


def test_store_rejects_unknown_open_mode_and_non_spec() -> None:
    with pytest.raises(ConfigError, match="open_mode"):
        MilvusStore(CollectionSpec(name="c"), open_mode="merge")
    with pytest.raises(ConfigError, match="CollectionSpec"):
        MilvusStore({"name": "c"})  # type: ignore[arg-type]


# -- the BM25 analyzer ---------------------------------------------------------------------


def test_text_analyzer_renders_milvus_custom_analyzer_params() -> None:
    from milvus_plugins.core.config import ENGLISH_STOP_WORDS

    assert TextAnalyzer().params() == {"tokenizer": "standard", "filter": ["lowercase"]}
    english = TextAnalyzer(stop_words="english", stemmer="english").params()
    assert english["filter"] == [
        "lowercase",
        {"type": "stemmer", "language": "english"},
        {"type": "stop", "stop_words": list(ENGLISH_STOP_WORDS)},
    ]
    spec = CollectionSpec(name="c", sparse="bm25", analyzer=TextAnalyzer(stop_words=["a", "b"]))
    assert spec.stop_words == ("a", "b")
    assert spec.analyzer_params["filter"][-1] == {"type": "stop", "stop_words": ["a", "b"]}


def test_standard_type_with_stop_words_becomes_the_custom_form() -> None:
    spec = CollectionSpec(
        name="c", sparse="bm25", analyzer={"type": "standard", "stop_words": ["the"]}
    )
    assert spec.analyzer_params == TextAnalyzer(stop_words=["the"]).params()
    assert spec.stop_words == ("the",)
    raw = {"tokenizer": "standard", "filter": [{"type": "stop", "stop_words": ["x"]}]}
    assert CollectionSpec(name="c", sparse="bm25", analyzer=raw).analyzer_params == raw


@pytest.mark.parametrize(
    ("analyzer", "message"),
    [
        ("standard", "TextAnalyzer or a dict"),
        ({"filter": ["lowercase"]}, "needs 'type'"),
        ({"type": "standard", "stopwords": ["a"]}, "unknown"),
        ({"type": "standard", "filter": "lowercase"}, "must be a list"),
        ({"type": "standard", "stop_words": "the"}, "list of strings"),
        ({"type": "standard", "stop_words": [1]}, "list of strings"),
        ({"type": "standard", "filter": [object()]}, "JSON"),
    ],
)
def test_bad_analyzer_params_raise_config_error(analyzer: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        CollectionSpec(name="c", sparse="bm25", analyzer=analyzer)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tokenizer": ""}, "tokenizer"),
        ({"stop_words": "klingon"}, "stop_words"),
        ({"stop_words": ["ok", ""]}, "non-empty strings"),
        ({"stemmer": "klingon"}, "stemmer"),
    ],
)
def test_bad_text_analyzer_raises_config_error(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TextAnalyzer(**kwargs)


def test_an_analyzer_needs_server_side_bm25() -> None:
    with pytest.raises(ConfigError, match="sparse='bm25'"):
        CollectionSpec(name="c", analyzer=TextAnalyzer())
    with pytest.raises(ConfigError, match="sparse='bm25'"):
        CollectionSpec(name="c", sparse="client", analyzer={"type": "standard"})


def test_adapters_reject_a_bad_analyzer_before_any_io(tmp_path: Any) -> None:
    from langchain_core.embeddings import FakeEmbeddings

    from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
    from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

    uri = str(tmp_path / "never.db")
    with pytest.raises(ConfigError, match="unknown"):
        LangChainStore(
            FakeEmbeddings(size=4), uri=uri, retrieval_mode="hybrid", bm25_analyzer={"x": 1}
        )
    with pytest.raises(ConfigError, match="sparse='bm25'"):
        LangChainStore(FakeEmbeddings(size=4), uri=uri, bm25_analyzer=TextAnalyzer())
    with pytest.raises(ConfigError, match="unknown"):
        LlamaStore(uri=uri, enable_sparse=True, bm25_analyzer={"type": "standard", "x": 1})
    assert not (tmp_path / "never.db").exists()


def test_grpc_options_of_the_user_are_merged_over_the_lite_clients_own(tmp_path: Path) -> None:
    """A gRPC option set in ``client_kwargs`` keeps the Lite client's no-ping option."""
    session = Session(
        spec=CollectionSpec(name="c", dim=4),
        connection=ConnectionConfig(uri=str(tmp_path / "x.db")),
    )
    lease = LiteLease(str(tmp_path / "x.db"), "http://127.0.0.1:1", 1)
    size = {"grpc.max_receive_message_length": 2**20}
    merged = session.client_kwargs({"grpc_options": size}, lease)["grpc_options"]
    assert merged == {**LITE_GRPC_OPTIONS, **size}
    # The user's own keepalive setting wins; without a lease nothing is added.
    mine = {"grpc.keepalive_time_ms": 60_000}
    assert session.client_kwargs({"grpc_options": mine}, lease)["grpc_options"] == mine
    assert session.client_kwargs({"grpc_options": size})["grpc_options"] == size
    assert "grpc_options" not in session.client_kwargs()
    # (name, value) pairs, which pymilvus takes as it takes a dict, are merged alike once
    # checked: passed on as given, they replaced the no-ping option.
    pairs = check_client_kwargs({"grpc_options": [("grpc.max_receive_message_length", 2**20)]})
    assert pairs == {"grpc_options": size}
    assert session.client_kwargs(pairs, lease)["grpc_options"] == {**LITE_GRPC_OPTIONS, **size}
    assert dict(LITE_GRPC_OPTIONS) == {"grpc.keepalive_time_ms": 2**31 - 1}  # not mutated


@pytest.mark.parametrize(
    "options",
    [None, "grpc.keepalive_time_ms", b"x", 5, {1: 2}, [("grpc.a",)], [["grpc.a", 1, 2]], ["ab"]],
    ids=["none", "str", "bytes", "int", "int-key", "short-pair", "long-pair", "str-pair"],
)
def test_grpc_options_pymilvus_cannot_take_are_refused_naming_the_field(
    tmp_path: Path, options: object
) -> None:
    """Refused when the store is made, naming the field: they failed only at the first
    call, as a Milvus call error that did not say which setting was wrong."""
    with pytest.raises(ConfigError, match=r"client_kwargs\['grpc_options'\]"):
        check_client_kwargs({"grpc_options": options})
    with pytest.raises(ConfigError, match=r"client_kwargs\['grpc_options'\]"):
        MilvusStore(
            CollectionSpec(name="c", dim=4),
            connection=ConnectionConfig(uri=str(tmp_path / "x.db")),
            client_kwargs={"grpc_options": options},
        )
    assert not (tmp_path / "x.db").exists()  # nothing opened


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (None, "an integer, a string or bytes"),
        ([1], "an integer, a string or bytes"),
        ({"a": 1}, "an integer, a string or bytes"),
        (1.5, "must be an integer"),
        (float("nan"), "must be an integer"),
        (float("inf"), "must be an integer"),
        (2**31, "between -2147483648 and 2147483647"),
        (-(2**31) - 1, "between -2147483648 and 2147483647"),
        (1e30, "between -2147483648 and 2147483647"),
        (np.int64(2**40), "between -2147483648 and 2147483647"),
        ("\ud800", "UTF-8"),
    ],
    ids=lambda v: type(v).__name__ if not isinstance(v, (int, float)) else repr(v),
)
def test_grpc_option_values_grpc_cannot_read_are_refused_naming_the_option(
    tmp_path: Path, value: object, words: str
) -> None:
    """Values were passed to gRPC unchecked: ``None``, containers and numbers past a C
    int failed at the first call as a bare Milvus call error ("Expected int, bytes, or
    behavior"), and a float such as 1.5 was taken as a C pointer, silently."""
    options = {"grpc.keepalive_time_ms": value}
    with pytest.raises(ConfigError, match=r"\['grpc.keepalive_time_ms'\]") as caught:
        check_client_kwargs({"grpc_options": options})
    assert words in str(caught.value)
    with pytest.raises(ConfigError, match=re.escape(words)):
        MilvusStore(
            CollectionSpec(name="c", dim=4),
            connection=ConnectionConfig(uri=str(tmp_path / "x.db")),
            client_kwargs={"grpc_options": options},
        )
    assert not (tmp_path / "x.db").exists()  # nothing opened


def test_grpc_option_values_are_passed_as_grpc_reads_them() -> None:
    """Integers in range (numpy's too), integral floats as ints, text and bytes."""
    given = {
        "grpc.a": 2**31 - 1,
        "grpc.b": -(2**31),
        "grpc.c": np.int32(7),
        "grpc.d": 1e8,
        "grpc.e": True,
        "grpc.f": "text",
        "grpc.g": b"raw",
    }
    checked = check_client_kwargs({"grpc_options": given})["grpc_options"]
    assert checked == {
        "grpc.a": 2**31 - 1,
        "grpc.b": -(2**31),
        "grpc.c": 7,
        "grpc.d": 100_000_000,
        "grpc.e": 1,
        "grpc.f": "text",
        "grpc.g": b"raw",
    }
    assert all(type(v) in (int, str, bytes) for v in checked.values())
    with pytest.raises(ConfigError, match="option names must be strings"):
        check_client_kwargs({"grpc_options": {"grpc.\ud800": 1}})
