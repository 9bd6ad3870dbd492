"""Hostile values for the connection, retry and search-knob settings: each is refused with a
``ConfigError`` naming the field at construction (no I/O), and every valid form still works.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding

from milvus_plugins.core import (
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    DiskAnnIndex,
    GpuCagraIndex,
    HnswIndex,
    IndexConfig,
    IvfFlatIndex,
    MilvusStore,
    RetryPolicy,
    ScannIndex,
    SparseInvertedIndex,
    StoreSettings,
    WriteOptions,
)
from milvus_plugins.core.connection import MAX_TIMEOUT, check_uri
from milvus_plugins.core.retry import MAX_BACKOFF
from milvus_plugins.langchain import MilvusVectorStore

FIX = "use a Milvus Lite file ending in .db, or http(s)://host:port"

# -- RetryPolicy (finding 5, 6) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"jitter": -5}, "jitter"),
        ({"jitter": math.nan}, "jitter"),
        ({"jitter": math.inf}, "jitter"),
        ({"jitter": 1.5}, "jitter"),
        ({"jitter": "0.1"}, "jitter"),
        ({"on_retry": 5}, "on_retry"),
        ({"on_retry": "print"}, "on_retry"),
        ({"initial_backoff": 1e308, "multiplier": 1e308, "max_backoff": math.inf}, "max_backoff"),
        ({"max_backoff": 1e300}, "max_backoff"),
        ({"max_backoff": -1}, "max_backoff"),
        ({"max_backoff": math.nan}, "max_backoff"),
        ({"multiplier": math.nan}, "multiplier"),
        ({"multiplier": math.inf}, "multiplier"),
        ({"multiplier": 0.5}, "multiplier"),
        ({"multiplier": True}, "multiplier"),
        ({"initial_backoff": math.nan}, "initial_backoff"),
        ({"initial_backoff": math.inf}, "initial_backoff"),
        ({"initial_backoff": 10**400}, "initial_backoff"),
        ({"initial_backoff": -0.1}, "initial_backoff"),
        ({"initial_backoff": None}, "initial_backoff"),
        ({"attempts": "3"}, "attempts"),
        ({"attempts": 2.5}, "attempts"),
        ({"attempts": 3.0}, "attempts"),
        ({"attempts": True}, "attempts"),
        ({"attempts": 0}, "attempts"),
        ({"attempts": None}, "attempts"),
    ],
)
def test_retry_policy_refuses_bad_values_at_construction(
    kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(ConfigError, match=rf"^{field}=") as info:
        RetryPolicy(**kwargs)
    assert not isinstance(info.value, TypeError)


def test_retry_policy_accepts_the_documented_ranges() -> None:
    RetryPolicy(attempts=1, initial_backoff=0, max_backoff=0, multiplier=1, jitter=0)
    RetryPolicy(attempts=10, initial_backoff=2, max_backoff=MAX_BACKOFF, multiplier=10, jitter=1)
    RetryPolicy(on_retry=lambda n, e: None)
    RetryPolicy(initial_backoff=100.0, max_backoff=1.0)  # the cap wins


def test_retry_delay_cannot_overflow_and_stays_capped() -> None:
    policy = RetryPolicy(
        attempts=10**6, initial_backoff=1e300, multiplier=1e300, max_backoff=60.0, jitter=1.0
    )
    for retry in (1, 2, 3, 50, 10**6):
        assert 60.0 <= policy.delay(retry) <= 120.0
    growing = RetryPolicy(initial_backoff=1e-300, multiplier=1e300, max_backoff=5.0, jitter=0.0)
    assert [growing.delay(n) for n in (1, 2, 3, 4)] == [1e-300, 1.0, 5.0, 5.0]


# -- ConnectionConfig: types and timeout (findings 6, 7) -----------------------------------


@pytest.mark.parametrize(
    "timeout", ["5", math.nan, math.inf, -math.inf, 1e10, 1e12, MAX_TIMEOUT + 1, True, 0, -1, [5]]
)
def test_connection_timeout_must_be_finite_positive_and_bounded(timeout: Any) -> None:
    with pytest.raises(ConfigError, match=r"^timeout=") as info:
        ConnectionConfig(uri="./x.db", timeout=timeout)
    assert not isinstance(info.value, TypeError)


@pytest.mark.parametrize("timeout", [None, 0.001, 5, 30.0, MAX_TIMEOUT])
def test_connection_timeout_accepts_the_documented_range(timeout: Any) -> None:
    assert ConnectionConfig(uri="./x.db", timeout=timeout).timeout == timeout


@pytest.mark.parametrize("token", [5, None, b"root:pw", ["root:pw"]])
def test_connection_token_must_be_a_string_and_is_never_shown(token: Any) -> None:
    with pytest.raises(ConfigError, match="token must be a string") as info:
        ConnectionConfig(uri="http://h:19530", token=token)
    assert "root:pw" not in str(info.value)


@pytest.mark.parametrize(
    ("client_kwargs", "needle"),
    [
        ({"timeout": -1}, "client_kwargs['timeout']"),
        ({"timeout": math.nan}, "client_kwargs['timeout']"),
        ({"timeout": math.inf}, "client_kwargs['timeout']"),
        ({"timeout": "5"}, "client_kwargs['timeout']"),
        ({"uri": "http://elsewhere:19530"}, "client_kwargs must not set ['uri']"),
        ({"token": "x"}, "client_kwargs must not set ['token']"),
        ({1: 2}, "client_kwargs keys must be strings"),
        ([("timeout", 5)], "client_kwargs must be a"),
    ],
)
def test_client_kwargs_of_adapters_are_checked_at_construction(
    tmp_path: Path, client_kwargs: Any, needle: str
) -> None:
    connection = ConnectionConfig(uri=str(tmp_path / "x.db"))
    with pytest.raises(ConfigError) as info:
        StoreSettings(collection_name="c", connection=connection, client_kwargs=client_kwargs)
    assert needle in str(info.value)
    with pytest.raises(ConfigError) as info:
        MilvusVectorStore(
            DeterministicFakeEmbedding(size=4),
            uri=str(tmp_path / "x.db"),
            collection_name="c",
            client_kwargs=client_kwargs,
        )
    assert needle in str(info.value)
    assert os.listdir(tmp_path) == []  # nothing created


def test_store_settings_refuse_options_of_the_wrong_type(tmp_path: Path) -> None:
    connection = ConnectionConfig(uri=str(tmp_path / "x.db"))
    with pytest.raises(ConfigError, match="retry must be a RetryPolicy or None"):
        StoreSettings(collection_name="c", connection=connection, retry={"attempts": 3})  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="write must be a WriteOptions or None"):
        StoreSettings(collection_name="c", connection=connection, write={"batch_rows": 3})  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="connection must be a ConnectionConfig"):
        StoreSettings(collection_name="c", connection="x.db")  # type: ignore[arg-type]
    ok = StoreSettings(collection_name="c", connection=connection, client_kwargs={"timeout": 5})
    assert ok.build().settings.client_kwargs == {"timeout": 5}


# -- ConnectionConfig: URIs (findings 9, 15) -----------------------------------------------


@pytest.mark.parametrize(
    ("uri", "needle"),
    [
        ("x.txt", "is not a Milvus URI"),
        ("some/dir", "is not a Milvus URI"),
        ("x.db?x=1", "is not a Milvus URI"),
        ("x.db/", "is not a Milvus URI"),
        ("localhost:19530", "is not a Milvus URI"),
        ("ftp://x", "is not a Milvus URI"),
        ("grpc://localhost:19530", "is not a Milvus URI"),
        ("htp://localhost:19530", "is not a Milvus URI"),
        ("file:///tmp/x.db", "for Milvus Lite pass the path itself"),
        ("http://", "names no host"),
        ("http://:19530", "names no host"),
        ("https://", "names no host"),
        ("tcp://", "names no host"),
        ("http://localhost:port", "port that is not a number"),
        ("http://localhost:abc", "port that is not a number"),
        ("http://localhost:-1", "port that is not a number"),
        ("http://127.0.0.1:0", "port 0 is out of range 1-65535"),
        ("http://127.0.0.1:99999", "port 99999 is out of range 1-65535"),
        ("http://[::1]:70000", "port 70000 is out of range 1-65535"),
        ("http://[::1", "does not parse"),
        ("unix:", "names no socket path"),
    ],
)
def test_malformed_uri_is_refused_at_construction(uri: str, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        ConnectionConfig(uri=uri)
    message = str(info.value)
    # shown as given, except one that does not parse: its credentials could not be cut
    assert message.startswith(f"uri={uri!r}" if "[::1]" in uri or "[" not in uri else "uri=")
    assert needle in message
    if "socket" not in needle:
        assert FIX in message


@pytest.mark.parametrize(
    "uri",
    [
        "./x.db",
        "x.db",
        "../up.db",
        "/tmp/a/b.db",
        "http://localhost:19530",
        "HTTP://localhost:19530",
        "http://localhost",
        "https://in01.zillizcloud.com",
        "https://in01.zillizcloud.com:443",
        "http://host/x.db",
        "http://alice:pa55@db.example:19530",
        "http://[::1]:19530",
        "http://127.0.0.1:65535",
        "tcp://127.0.0.1:19530",
        "unix:/tmp/milvus.sock",
    ],
)
def test_every_valid_uri_form_is_kept(uri: str) -> None:
    config = ConnectionConfig(uri=uri)
    assert config.is_lite is (uri.endswith(".db") and "://" not in uri)


def test_uri_credentials_never_appear_in_uri_errors() -> None:
    with pytest.raises(ConfigError) as info:
        ConnectionConfig(uri="http://alice:Pa55w0rdXyz@db.example:abc")
    assert "Pa55w0rdXyz" not in str(info.value)
    assert "db.example" in str(info.value)


def test_malformed_milvus_uri_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MILVUS_URI", "localhost:19530")
    with pytest.raises(ConfigError, match=r"\(from \$MILVUS_URI\) is not a Milvus URI"):
        ConnectionConfig.from_env()
    assert ConnectionConfig.from_env(uri="http://h:1").uri == "http://h:1"  # explicit wins


def test_check_uri_returns_valid_uris_unchanged() -> None:
    assert check_uri("~/x.db") == "~/x.db"
    with pytest.raises(ConfigError, match="must be a non-empty string"):
        check_uri(5)


def test_tilde_in_a_lite_path_is_the_home_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert ConnectionConfig(uri="~/notes.db").uri == str(tmp_path / "notes.db")
    with pytest.raises(ConfigError, match="is not a Milvus URI"):
        ConnectionConfig(uri="~")


# -- search knobs (finding 8) --------------------------------------------------------------

BAD_KNOBS: list[tuple[IndexConfig, str, Any]] = [
    (HnswIndex(), "ef", math.nan),
    (HnswIndex(), "ef", math.inf),
    (HnswIndex(), "ef", -math.inf),
    (HnswIndex(), "ef", 10**12),
    (HnswIndex(), "ef", 32769),
    (HnswIndex(), "ef", 1.5),
    (HnswIndex(), "ef", 128.0),
    (HnswIndex(), "ef", 0),
    (IvfFlatIndex(), "nprobe", math.nan),
    (IvfFlatIndex(), "nprobe", math.inf),
    (IvfFlatIndex(), "nprobe", 2.5),
    (IvfFlatIndex(), "nprobe", 0),
    (IvfFlatIndex(nlist=65536), "nprobe", 65537),
    (ScannIndex(), "reorder_k", math.nan),
    (ScannIndex(), "reorder_k", 10**12),
    (ScannIndex(), "nprobe", 1.5),
    (DiskAnnIndex(), "search_list", math.inf),
    (DiskAnnIndex(), "search_list", 0.5),
    (GpuCagraIndex(), "itopk_size", math.nan),
    (GpuCagraIndex(), "search_width", 10**12),
    (SparseInvertedIndex(), "drop_ratio_search", math.nan),
    (SparseInvertedIndex(), "drop_ratio_search", math.inf),
    (SparseInvertedIndex(), "drop_ratio_search", 1.0),
    (SparseInvertedIndex(), "drop_ratio_search", -0.1),
]


@pytest.mark.parametrize(
    ("index", "key", "value"),
    BAD_KNOBS,
    ids=[f"{i.index_type.value}-{k}={v}" for i, k, v in BAD_KNOBS],
)
def test_search_knob_out_of_range_or_not_integral_is_a_config_error(
    index: IndexConfig, key: str, value: Any
) -> None:
    with pytest.raises(ConfigError, match=rf"search parameter {key}=") as info:
        index.search_params(10, {key: value})
    assert isinstance(info.value, ConfigError)


def test_search_knob_ranges_are_named_in_the_message() -> None:
    with pytest.raises(ConfigError, match=r"ef takes an integer in \[1, 32768\]"):
        HnswIndex().search_params(10, {"ef": math.nan})
    with pytest.raises(ConfigError, match=r"nprobe=32 exceeds nlist=16"):
        IvfFlatIndex(nlist=16).search_params(10, {"nprobe": 32})


def test_valid_search_knobs_still_pass() -> None:
    assert HnswIndex().search_params(10, {"ef": 32768}) == {"ef": 32768}
    assert HnswIndex().search_params(10, {"ef": 1}) == {"ef": 10}  # raised to k
    assert IvfFlatIndex(nlist=16).search_params(5, {"nprobe": 16}) == {"nprobe": 16}
    assert SparseInvertedIndex().search_params(5, {"drop_ratio_search": 0}) == {
        "drop_ratio_search": 0.0
    }
    assert ScannIndex().search_params(5, {"reorder_k": 500}) == {"nprobe": 16, "reorder_k": 500}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("batch_rows", "10"),
        ("batch_rows", 2.5),
        ("batch_rows", True),
        ("batch_bytes", 1e6),
        ("progress_min_rows", "x"),
        ("progress_min_rows", -1),
        ("progress", "no"),
        ("flush", "no"),
        ("overlap", 3),
    ],
)
def test_write_options_refuse_values_of_the_wrong_type(field: str, value: Any) -> None:
    with pytest.raises(ConfigError, match=field):
        WriteOptions(**{field: value})


def test_write_options_keep_the_documented_values() -> None:
    options = WriteOptions(batch_rows=10, progress=False, flush=None, overlap=True)
    assert (options.batch_rows, options.progress, options.overlap) == (10, False, True)


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"client_kwargs": {"timeout": -1}}, "timeout"),
        ({"client_kwargs": {"uri": "http://elsewhere:19530"}}, "uri"),
        ({"client_kwargs": "timeout=5"}, "client_kwargs"),
        ({"write": {"batch_rows": 10}}, "write"),
        ({"retry": 3}, "retry"),
        ({"connection": "x.db"}, "connection"),
    ],
)
def test_core_store_checks_its_options_at_construction(
    tmp_path: Path, kwargs: dict[str, Any], needle: str
) -> None:
    kwargs.setdefault("connection", ConnectionConfig(uri=str(tmp_path / "m.db")))
    with pytest.raises(ConfigError, match=needle):
        MilvusStore(CollectionSpec(name="c", dim=4), **kwargs)


# -- CollectionSpec texts kept with the collection (session 38) ------------------------------


@pytest.mark.parametrize("field", ["description", "creation_tag"])
@pytest.mark.parametrize("value", [None, 5, b"bytes", "lone \ud800 surrogate"])
def test_collection_texts_must_be_utf8_strings(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=field):
        CollectionSpec(name="c", **{field: value})  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["", "plain", "quotes \" ' and\nnew lines", "日本語 🙂"])
def test_collection_texts_that_are_utf8_are_kept(value: str) -> None:
    spec = CollectionSpec(name="c", description=value, creation_tag=value)
    assert (spec.description, spec.creation_tag) == (value, value)
