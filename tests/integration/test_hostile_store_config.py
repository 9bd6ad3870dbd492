"""Every documented constructor setting of the three stores, checked against the collection
Milvus Lite actually holds (read back with a plain ``MilvusClient``) or refused with a typed
``milvus_plugins`` error naming the setting before anything is created or written.

Covers what ``test_config_hostile_lite.py`` (Lite paths, search knobs) and
``test_api_type_fuzz.py`` (wrong argument *types*) do not: wrong *values*, hostile
collection names, the same settings through the three constructors, reopening with
conflicting settings, ``drop_old`` / ``overwrite`` scope and engine-ignored properties.
"""

from __future__ import annotations

import itertools
import math
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.documents import Document
from llama_index.core.schema import TextNode
from pymilvus import DataType, MilvusClient
from tests.support.faces import DIM, VocabEmbeddings, embed

from milvus_plugins.core import (
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    FlatIndex,
    HnswIndex,
    IvfFlatIndex,
    IvfPqIndex,
    MilvusPluginsError,
    MilvusStore,
    Record,
    SchemaMismatchError,
    TextAnalyzer,
    UnsupportedByServerError,
)
from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

TEXTS = ["cat dog", "car train", "milvus vector", "python bird"]


# -- helpers ------------------------------------------------------------------------------


@pytest.fixture
def raw(lite_uri: str) -> Iterator[MilvusClient]:
    """A plain pymilvus client on the test's Lite database, started before any store."""
    client = MilvusClient(lite_uri)
    try:
        yield client
    finally:
        client.close()


def _records(n: int = 4, meta: dict[str, Any] | None = None) -> list[Record]:
    return [
        Record(id=f"r{i}", text=TEXTS[i % 4], vector=embed(TEXTS[i % 4]), metadata=meta or {})
        for i in range(n)
    ]


def _core(uri: str, name: str = "c", **spec: Any) -> MilvusStore:
    drop_old = spec.pop("drop_old", False)
    open_mode = spec.pop("open_mode", "check")
    return MilvusStore(
        CollectionSpec(name=name, **spec),
        connection=ConnectionConfig(uri=uri),
        drop_old=drop_old,
        open_mode=open_mode,
    )


def _fields(client: MilvusClient, name: str) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in client.describe_collection(name)["fields"]}


def _shape(client: MilvusClient, name: str) -> dict[str, Any]:
    """What a schema comparison needs: each field's type, params and flags, the index."""
    fields = {
        n: (
            f["type"],
            f.get("element_type"),
            dict(f.get("params") or {}),
            bool(f.get("is_partition_key")),
            bool(f.get("is_primary")),
        )
        for n, f in _fields(client, name).items()
    }
    index = client.describe_index(name, "vector")
    return {
        "fields": fields,
        "index_type": index.get("index_type"),
        "metric": index.get("metric_type"),
    }


def _snapshot(client: MilvusClient) -> dict[str, Any]:
    """Every collection's schema, properties and row count: what 'nothing changed' means."""
    out: dict[str, Any] = {}
    for name in sorted(client.list_collections()):
        described = client.describe_collection(name)
        client.load_collection(name)
        rows = client.query(name, filter="", output_fields=["count(*)"])
        out[name] = (
            [(f["name"], f["type"], dict(f.get("params") or {})) for f in described["fields"]],
            dict(described.get("properties") or {}),
            rows[0]["count(*)"],
        )
    return out


def _refused_before_io(
    tmp_path: Path, make: Callable[[], Any], error: type[Exception], *needles: str
) -> str:
    """``make()`` raises ``error`` naming ``needles``, with no database created."""
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(error) as info:
        store = make()
        store.close()
    message = str(info.value)
    for needle in needles:
        assert needle in message, message
    assert sorted(os.listdir(tmp_path)) == before
    return message


# -- hostile collection names: refused by every constructor before any I/O ------------------

HOSTILE_NAMES = [
    "../x",
    "",
    "a" * 256,
    "ünïcode",
    "a-b",
    "1abc",
    " c",
    "c ",
    "a\x00b",
    "a/b",
    "c;drop",
    "名前",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
@pytest.mark.parametrize("face", ["core", "langchain", "llama_index"])
def test_hostile_collection_names_are_refused_before_any_io(
    tmp_path: Path, name: str, face: str
) -> None:
    uri = str(tmp_path / "milvus.db")
    makers: dict[str, Callable[[], Any]] = {
        "core": lambda: _core(uri, name=name, dim=DIM),
        "langchain": lambda: LangChainStore(VocabEmbeddings(), uri=uri, collection_name=name),
        "llama_index": lambda: LlamaStore(uri=uri, collection_name=name),
    }
    message = _refused_before_io(tmp_path, makers[face], ConfigError, "collection_name")
    assert "Milvus names start with an ASCII letter" in message
    assert not (tmp_path / "milvus.db").exists()


def test_a_255_character_name_is_the_longest_and_is_held_exactly(
    lite_uri: str, raw: MilvusClient
) -> None:
    name = "_" + "a1" * 127
    assert len(name) == 255
    with _core(lite_uri, name=name, dim=DIM) as store:
        store.upsert(_records(2))
    assert raw.list_collections() == [name]
    assert raw.get_collection_stats(name)["row_count"] == 2


# -- the spec really is the collection --------------------------------------------------


def test_core_spec_is_the_held_schema_and_index(lite_uri: str, raw: MilvusClient) -> None:
    spec: dict[str, Any] = {
        "dim": DIM,
        "metric": "L2",
        "index": HnswIndex(M=8, ef_construction=64),
        "metadata_fields": {
            "year": "INT64",
            "score": "DOUBLE",
            "flag": "BOOL",
            "genre": {"type": "VARCHAR", "max_length": 77},
            "tags": {"type": "ARRAY", "element_type": "INT64", "max_capacity": 9},
            "tenant": "VARCHAR",
        },
        "partition_key": "tenant",
        "text_max_length": 1000,
        "id_max_length": 100,
        "infer_metadata_fields": False,
    }
    with _core(lite_uri, **spec) as store:
        store.upsert(_records(2, {"tenant": "t1", "year": 2020}))
    fields = _fields(raw, "c")
    assert list(fields) == [
        "id", "text", "vector", "metadata", "doc_id", "extra",
        "year", "score", "flag", "genre", "tags", "tenant",
    ]  # fmt: skip
    assert fields["id"]["is_primary"] and fields["id"]["type"] == DataType.VARCHAR
    assert fields["id"]["params"]["max_length"] == 100
    assert fields["text"]["params"]["max_length"] == 1000
    assert fields["vector"]["type"] == DataType.FLOAT_VECTOR
    assert fields["vector"]["params"]["dim"] == DIM
    assert fields["metadata"]["type"] == DataType.JSON
    assert fields["extra"]["type"] == DataType.JSON
    assert fields["year"]["type"] == DataType.INT64
    assert fields["score"]["type"] == DataType.DOUBLE
    assert fields["flag"]["type"] == DataType.BOOL
    assert fields["genre"]["type"] == DataType.VARCHAR
    assert fields["genre"]["params"]["max_length"] == 77
    assert fields["tags"]["type"] == DataType.ARRAY
    assert fields["tags"]["element_type"] == DataType.INT64
    assert fields["tags"]["params"]["max_capacity"] == 9
    assert fields["tenant"].get("is_partition_key") is True
    assert [n for n, f in fields.items() if f.get("is_partition_key")] == ["tenant"]
    index = raw.describe_index("c", "vector")
    assert (index["index_type"], index["metric_type"]) == ("HNSW", "L2")
    assert raw.list_indexes("c") == ["vector"]


@pytest.mark.parametrize("metric", ["COSINE", "IP", "L2"])
def test_the_metric_asked_for_is_the_one_scores_are_computed_with(
    lite_uri: str, raw: MilvusClient, metric: str
) -> None:
    query = embed("cat cat dog milvus")
    with _core(lite_uri, dim=DIM, metric=metric, index="FLAT") as store:
        store.upsert(_records(4))
        hits = store.search(query, k=4)
    assert raw.describe_index("c", "vector")["metric_type"] == metric
    assert raw.describe_index("c", "vector")["index_type"] == "FLAT"
    by_id = {r.id: r.vector for r in _records(4)}
    for hit in hits:
        v = by_id[hit.id]
        assert v is not None
        dot = sum(a * b for a, b in zip(query, v, strict=True))
        expected = {
            "IP": dot,
            "L2": sum((a - b) ** 2 for a, b in zip(query, v, strict=True)),
            "COSINE": dot / math.sqrt(sum(a * a for a in query) * sum(b * b for b in v)),
        }[metric]
        assert hit.distance == pytest.approx(expected, rel=1e-4, abs=1e-4)
        assert 0.0 <= hit.score <= 1.0


def test_default_inference_adds_nullable_accelerators_and_false_adds_none(
    lite_uri: str, raw: MilvusClient
) -> None:
    meta = {"year": 2020, "genre": "drama", "flag": True, "ratio": 0.5}
    with _core(lite_uri, name="inferred", dim=DIM) as store:
        store.upsert(_records(2, meta))
    with _core(lite_uri, name="plain", dim=DIM, infer_metadata_fields=False) as store:
        store.upsert(_records(2, meta))
    inferred = _fields(raw, "inferred")
    assert {n: inferred[n]["type"] for n in meta} == {
        "year": DataType.DOUBLE,  # one kind "number" (README): JSON numbers, as DOUBLE
        "genre": DataType.VARCHAR,
        "flag": DataType.BOOL,
        "ratio": DataType.DOUBLE,
    }
    assert all(inferred[n].get("nullable") for n in meta)
    assert set(_fields(raw, "plain")) == {"id", "text", "vector", "metadata", "doc_id", "extra"}


# -- hypothesis: random valid declarations round-trip to the same typed columns ------------

_SCALARS = {
    "INT64": DataType.INT64,
    "DOUBLE": DataType.DOUBLE,
    "BOOL": DataType.BOOL,
    "VARCHAR": DataType.VARCHAR,
}
_field_spec = st.one_of(
    st.sampled_from(["INT64", "DOUBLE", "BOOL", "VARCHAR", "int64", "Varchar"]),
    st.builds(
        lambda n: {"type": "VARCHAR", "max_length": n}, st.integers(min_value=1, max_value=65535)
    ),
    st.builds(
        lambda e, cap: {"type": "ARRAY", "element_type": e, "max_capacity": cap},
        st.sampled_from(list(_SCALARS)),
        st.integers(min_value=1, max_value=4096),
    ),
)
_declarations = st.dictionaries(
    st.from_regex(r"[a-z_][a-z0-9_]{0,12}", fullmatch=True).filter(
        lambda n: (
            n not in {"id", "text", "vector", "sparse", "metadata", "doc_id", "extra"}
            and n.lower() not in {"true", "false", "and", "or", "not", "in", "like", "is", "null"}
        )
    ),
    _field_spec,
    min_size=1,
    max_size=4,
)
_counter = itertools.count()


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(declared=_declarations)
def test_random_declarations_round_trip_to_typed_columns(
    lite_uri: str, declared: dict[str, Any]
) -> None:
    name = f"h{next(_counter)}"
    with _core(lite_uri, name=name, dim=DIM, metadata_fields=declared) as store:
        store.upsert(_records(1))
    client = MilvusClient(lite_uri)
    try:
        fields = _fields(client, name)
        for key, spec in declared.items():
            column = fields[key]
            if isinstance(spec, str):
                assert column["type"] == _SCALARS[spec.upper()]
            elif spec["type"] == "VARCHAR":
                assert column["type"] == DataType.VARCHAR
                assert column["params"]["max_length"] == spec["max_length"]
            else:
                assert column["type"] == DataType.ARRAY
                assert column["element_type"] == _SCALARS[spec["element_type"]]
                assert column["params"]["max_capacity"] == spec["max_capacity"]
        # Reopening with the very same declaration is not a mismatch.
        with _core(lite_uri, name=name, dim=DIM, metadata_fields=declared) as again:
            assert again.count() == 1
    finally:
        client.close()


# -- the three constructors map one configuration to one collection ----------------------


@pytest.mark.parametrize("metric", ["COSINE", "IP", "L2"])
def test_core_langchain_and_llama_index_build_the_same_collection(
    lite_uri: str, raw: MilvusClient, metric: str
) -> None:
    declared: dict[str, Any] = {
        "year": "INT64",
        "tags": {"type": "ARRAY", "element_type": "VARCHAR", "max_length": 40},
        "tenant": "VARCHAR",
    }
    common: dict[str, Any] = {
        "metadata_fields": declared,
        "partition_key": "tenant",
        "index": HnswIndex(M=8),
        "infer_metadata_fields": False,
        "collection_properties": {"mmap": True},
    }
    meta = {"year": 1, "tenant": "u"}
    core_kw = {k: v for k, v in common.items() if k != "collection_properties"}
    with _core(lite_uri, name="core", metric=metric, properties={"mmap": True}, **core_kw) as store:
        store.upsert([Record(id="a", text="cat", vector=embed("cat"), metadata=meta)])
    with LangChainStore(
        VocabEmbeddings(), uri=lite_uri, collection_name="lc", metric=metric, **common
    ) as lc:
        lc.add_documents([Document("cat", id="a", metadata=meta)])
    with LlamaStore(uri=lite_uri, collection_name="li", similarity_metric=metric, **common) as li:
        li.add([TextNode(id_="a", text="cat", embedding=embed("cat"), metadata=meta)])
    core_shape = _shape(raw, "core")
    assert core_shape["metric"] == metric and core_shape["index_type"] == "HNSW"
    assert _shape(raw, "lc") == core_shape
    assert _shape(raw, "li") == core_shape
    for name in ("core", "lc", "li"):
        assert raw.describe_collection(name)["properties"].get("mmap.enabled") == "True"


def test_adapter_defaults_equal_the_core_defaults(lite_uri: str, raw: MilvusClient) -> None:
    with _core(lite_uri, name="core") as store:
        store.upsert([Record(id="a", text="cat", vector=embed("cat"))])
    with LangChainStore(VocabEmbeddings(), uri=lite_uri, collection_name="lc") as lc:
        lc.add_documents([Document("cat", id="a")])
    with LlamaStore(uri=lite_uri, collection_name="li") as li:
        li.add([TextNode(id_="a", text="cat", embedding=embed("cat"))])
    core_shape = _shape(raw, "core")
    assert (core_shape["index_type"], core_shape["metric"]) == ("HNSW", "COSINE")
    assert _shape(raw, "lc") == core_shape == _shape(raw, "li")


# -- wrong values: typed errors naming the setting, before anything exists ---------------


def _bad_values(uri: str) -> list[tuple[str, Callable[[], Any], str]]:
    emb = VocabEmbeddings()
    return [
        ("core pk reserved", lambda: _core(uri, partition_key="id"), "partition_key"),
        (
            "core pk DOUBLE",
            lambda: _core(uri, metadata_fields={"t": "DOUBLE"}, partition_key="t"),
            "partition_key",
        ),
        (
            "core num_partitions 0",
            lambda: _core(
                uri, metadata_fields={"t": "VARCHAR"}, partition_key="t", num_partitions=0
            ),
            "num_partitions",
        ),
        (
            "core num_partitions without key",
            lambda: _core(uri, num_partitions=4),
            "num_partitions",
        ),
        ("core text_max_length 0", lambda: _core(uri, text_max_length=0), "text_max_length"),
        ("core id_max_length 70000", lambda: _core(uri, id_max_length=70000), "id_max_length"),
        ("core consistency", lambda: _core(uri, consistency_level="Sometimes"), "consistency"),
        ("core metric", lambda: _core(uri, metric="HAMMING"), "metric"),
        ("core open_mode", lambda: _core(uri, open_mode="force"), "open_mode"),
        (
            "core ttl negative",
            lambda: _core(uri, properties={"ttl_seconds": -1}),
            "ttl_seconds",
        ),
        ("core shards 0", lambda: _core(uri, properties={"num_shards": 0}), "num_shards"),
        ("core unknown property", lambda: _core(uri, properties={"ttl": 5}), "ttl"),
        (
            "core duplicate declared",
            lambda: _core(uri, metadata_fields=_dup()),
            "duplicate",
        ),
        (
            "core declared reserved",
            lambda: _core(uri, metadata_fields={"text": "VARCHAR"}),
            "reserved",
        ),
        (
            "core declared bad type",
            lambda: _core(uri, metadata_fields={"a": "FLOAT16"}),
            "metadata_fields",
        ),
        (
            "core declared bad name",
            lambda: _core(uri, metadata_fields={"a b": "INT64"}),
            "metadata_fields.name",
        ),
        (
            "core index metric clash",
            lambda: _core(uri, metric="IP", index=HnswIndex(metric="L2")),
            "metric",
        ),
        (
            "core analyzer without bm25",
            lambda: _core(uri, analyzer={"type": "standard"}),
            "analyzer",
        ),
        ("core tenant without key", lambda: _tenant_store(uri), "partition_key"),
        (
            "lc pk not a name",
            lambda: LangChainStore(emb, uri=uri, partition_key="a b"),
            "partition_key",
        ),
        ("lc fetch_k 0", lambda: LangChainStore(emb, uri=uri, fetch_k=0), "fetch_k"),
        (
            "lc consistency",
            lambda: LangChainStore(emb, uri=uri, consistency_level="Sometimes"),
            "consistency_level",
        ),
        (
            "lc metric clash",
            lambda: LangChainStore(
                emb, uri=uri, metric="IP", index={"index_type": "HNSW", "metric_type": "L2"}
            ),
            "metric",
        ),
        (
            "lc retrieval_mode",
            lambda: LangChainStore(emb, uri=uri, retrieval_mode="x"),
            "retrieval_mode",
        ),
        ("lc tenant_mode", lambda: LangChainStore(emb, uri=uri, tenant_mode="lax"), "tenant_mode"),
        (
            "lc uri and connection",
            lambda: LangChainStore(
                emb, uri=uri, connection=ConnectionConfig(uri=uri), collection_name="x"
            ),
            "connection",
        ),
        ("li pk not a name", lambda: LlamaStore(uri=uri, partition_key=""), "partition_key"),
        (
            "li consistency",
            lambda: LlamaStore(uri=uri, consistency_level="Sometimes"),
            "consistency_level",
        ),
        ("li timeout", lambda: LlamaStore(uri=uri, timeout=-1.0), "timeout"),
        (
            "li similarity clash",
            lambda: LlamaStore(uri=uri, similarity_metric="L2", index=HnswIndex(metric="IP")),
            "metric",
        ),
        (
            "li partitions with key",
            lambda: LlamaStore(
                uri=uri,
                metadata_fields={"t": "VARCHAR"},
                partition_key="t",
                milvus_partition_names=["p"],
            ),
            "partition",
        ),
        ("li open_mode", lambda: LlamaStore(uri=uri, open_mode="force"), "open_mode"),
    ]


def _dup() -> list[Any]:
    from milvus_plugins.core import MetadataField

    return [MetadataField(name="a", type="INT64"), MetadataField(name="a", type="VARCHAR")]


def _tenant_store(uri: str) -> MilvusStore:
    return MilvusStore(CollectionSpec(name="c"), connection=ConnectionConfig(uri=uri), tenant="a")


def test_bad_setting_values_raise_config_error_naming_them_before_any_io(
    tmp_path: Path,
) -> None:
    uri = str(tmp_path / "milvus.db")
    failures = []
    for label, make, needle in _bad_values(uri):
        before = sorted(os.listdir(tmp_path))
        try:
            store = make()
        except ConfigError as exc:
            if needle not in str(exc):
                failures.append(f"{label}: message lacks {needle!r}: {exc}")
        except Exception as exc:
            failures.append(f"{label}: {type(exc).__name__} instead of ConfigError: {exc}")
        else:
            store.close()
            failures.append(f"{label}: accepted")
        if sorted(os.listdir(tmp_path)) != before:
            failures.append(f"{label}: touched the disk")
    assert not failures, "\n".join(failures)


# -- engine-level refusals: typed, and nothing created ------------------------------------


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ({"properties": {"ttl_seconds": 60}}, "ttl_seconds"),
        ({"index": IvfPqIndex(nlist=8, m=1)}, "IVF_PQ"),
        (
            {"metadata_fields": {"t": "VARCHAR"}, "partition_key": "t", "num_partitions": 8},
            "num_partitions",
        ),
    ],
)
def test_what_lite_cannot_do_is_refused_before_the_collection_exists(
    lite_uri: str, raw: MilvusClient, spec: dict[str, Any], needle: str
) -> None:
    with _core(lite_uri, name="keep", dim=DIM) as store:
        store.upsert(_records(2))
    before = _snapshot(raw)
    with (
        _core(lite_uri, name="new", dim=DIM, **spec) as store,
        pytest.raises(UnsupportedByServerError, match=needle),
    ):
        store.upsert(_records(2, {"t": "tenant"}))
    assert _snapshot(raw) == before
    assert "new" not in raw.list_collections()


def test_lite_ttl_through_both_adapters_is_refused_and_creates_nothing(
    lite_uri: str, raw: MilvusClient
) -> None:
    props = {"ttl_seconds": 3600}
    with (
        LangChainStore(
            VocabEmbeddings(), uri=lite_uri, collection_name="lc", collection_properties=props
        ) as lc,
        pytest.raises(UnsupportedByServerError, match="ttl_seconds"),
    ):
        lc.add_documents([Document("cat", id="a")])
    with (
        LlamaStore(uri=lite_uri, collection_name="li", collection_properties=props) as li,
        pytest.raises(UnsupportedByServerError, match="ttl_seconds"),
    ):
        li.add([TextNode(id_="a", text="cat", embedding=embed("cat"))])
    assert raw.list_collections() == []


def test_lite_ignores_shards_and_replicas_as_documented(lite_uri: str, raw: MilvusClient) -> None:
    with _core(lite_uri, dim=DIM, properties={"num_shards": 2, "replicas": 2}) as store:
        store.upsert(_records(3))
    assert raw.describe_collection("c")["num_shards"] == 1  # one process: ignored
    # Ignored, so not held, so reopening with other numbers is no mismatch either.
    with _core(lite_uri, dim=DIM, properties={"num_shards": 4, "replicas": 3}) as again:
        assert again.count() == 3


# DEFECT (fixed): on Milvus Lite the num_partitions refusal says "it needs Milvus >= 2.2.0 or Milvus
# Lite": the suggested fix is the engine in use; expected: name a Milvus server.
def test_lite_num_partitions_refusal_names_a_usable_fix(lite_uri: str) -> None:
    with (
        _core(
            lite_uri, dim=DIM, metadata_fields={"t": "VARCHAR"}, partition_key="t", num_partitions=8
        ) as store,
        pytest.raises(UnsupportedByServerError) as info,
    ):
        store.upsert(_records(1, {"t": "a"}))
    assert not re.search(r"needs .*Milvus Lite", str(info.value)), str(info.value)


# -- reopening with conflicting settings: typed, and nothing changes -----------------------

_BASE: dict[str, Any] = {
    "dim": DIM,
    "metric": "L2",
    "metadata_fields": {"year": "INT64", "tenant": "VARCHAR"},
    "partition_key": "tenant",
    "properties": {"mmap": True},
}


def _with(**changes: Any) -> dict[str, Any]:
    spec = dict(_BASE)
    spec.update(changes)
    return spec


CONFLICTS: list[tuple[str, dict[str, Any], type[Exception]]] = [
    ("metric", _with(metric="IP"), SchemaMismatchError),
    ("dim", _with(dim=DIM + 1), SchemaMismatchError),
    (
        "declared type",
        _with(metadata_fields={"year": "DOUBLE", "tenant": "VARCHAR"}),
        SchemaMismatchError,
    ),
    (
        "extra declared field",
        _with(metadata_fields={"year": "INT64", "tenant": "VARCHAR", "g": "VARCHAR"}),
        SchemaMismatchError,
    ),
    (
        "other partition key",
        _with(
            metadata_fields={"year": "INT64", "tenant": "VARCHAR", "org": "VARCHAR"},
            partition_key="org",
        ),
        SchemaMismatchError,
    ),
    ("bm25 field", _with(sparse="bm25"), SchemaMismatchError),
    ("text match", _with(text_match=True), SchemaMismatchError),
    ("mmap", _with(properties={"mmap": False}), SchemaMismatchError),
    ("sparse only", {"dense": False, "sparse": "bm25"}, SchemaMismatchError),
]


@pytest.mark.parametrize(("label", "spec", "error"), CONFLICTS, ids=[c[0] for c in CONFLICTS])
def test_reopening_with_conflicting_settings_is_typed_and_changes_nothing(
    lite_uri: str, raw: MilvusClient, label: str, spec: dict[str, Any], error: type[Exception]
) -> None:
    with _core(lite_uri, **_BASE) as store:
        store.upsert(_records(3, {"tenant": "t1", "year": 1}))
    before = _snapshot(raw)
    index_before = raw.describe_index("c", "vector")
    fitting = _records(4, {"tenant": "t1", "org": "o"})
    for record in fitting:
        if spec.get("dense") is False:
            record.vector = None
        elif spec.get("dim", DIM) != DIM and record.vector is not None:
            record.vector = [*record.vector, 0.5]
    with _core(lite_uri, **spec) as store:
        with pytest.raises(error) as info:
            store.count()
        with pytest.raises(error):
            store.upsert(fitting)
    assert isinstance(info.value, MilvusPluginsError)
    assert "drop_old=True" in str(info.value) or "collection_name" in str(info.value)
    assert _snapshot(raw) == before
    assert raw.describe_index("c", "vector")["metric_type"] == index_before["metric_type"]


@pytest.mark.parametrize("face", ["langchain", "llama_index"])
def test_adapters_reopening_with_another_metric_are_refused_alike(
    lite_uri: str, raw: MilvusClient, face: str
) -> None:
    with _core(lite_uri, dim=DIM, metric="L2") as store:
        store.upsert(_records(3))
    before = _snapshot(raw)
    with pytest.raises(SchemaMismatchError, match="metric"):
        if face == "langchain":
            with LangChainStore(
                VocabEmbeddings(), uri=lite_uri, collection_name="c", metric="IP"
            ) as lc:
                lc.add_documents([Document("cat", id="new")])
        else:
            with LlamaStore(uri=lite_uri, collection_name="c", similarity_metric="IP") as li:
                li.add([TextNode(id_="new", text="cat", embedding=embed("cat"))])
    assert _snapshot(raw) == before


def test_open_mode_adopt_reads_the_held_metric_back(lite_uri: str, raw: MilvusClient) -> None:
    with _core(lite_uri, dim=DIM, metric="L2", index="FLAT") as store:
        store.upsert(_records(4))
    query = embed("cat dog")
    with _core(lite_uri, open_mode="adopt") as adopted:  # spec says COSINE; the collection L2
        hits = adopted.search(query, k=1)
    assert hits[0].id == "r0"
    assert hits[0].distance == pytest.approx(0.0, abs=1e-5)  # L2: identical vector -> 0
    assert raw.describe_index("c", "vector")["metric_type"] == "L2"


# DEFECT (fixed): reopening an HNSW collection with an explicit other index (IvfFlatIndex, or "FLAT"
# for exact search) opens and searches silently; expected SchemaMismatchError.
@pytest.mark.parametrize("index", [FlatIndex(), IvfFlatIndex(nlist=8, nprobe=4)])
def test_reopening_with_another_explicit_index_type_is_refused(
    lite_uri: str, raw: MilvusClient, index: Any
) -> None:
    with _core(lite_uri, dim=DIM, index=HnswIndex()) as store:
        store.upsert(_records(3))
    with _core(lite_uri, dim=DIM, index=index) as store, pytest.raises(SchemaMismatchError):
        store.search(embed("cat"), k=1)
    assert raw.describe_index("c", "vector")["index_type"] == "HNSW"


# -- foreign collections with the same name ---------------------------------------------


@pytest.mark.parametrize("face", ["core", "langchain", "llama_index"])
def test_a_name_held_by_another_tools_collection_is_not_written(
    lite_uri: str, raw: MilvusClient, face: str
) -> None:
    raw.create_collection("shared", dimension=DIM)
    raw.insert("shared", [{"id": 7, "vector": embed("cat")}])
    before = _snapshot(raw)
    with pytest.raises(SchemaMismatchError, match="shared"):
        if face == "core":
            with _core(lite_uri, name="shared", dim=DIM) as store:
                store.upsert(_records(2))
        elif face == "langchain":
            with LangChainStore(VocabEmbeddings(), uri=lite_uri, collection_name="shared") as lc:
                lc.add_documents([Document("cat", id="a")])
        else:
            with LlamaStore(uri=lite_uri, collection_name="shared") as li:
                li.add([TextNode(id_="a", text="cat", embedding=embed("cat"))])
    assert _snapshot(raw) == before


# -- drop_old / overwrite: drops that collection, and only it ------------------------------


@pytest.mark.parametrize("face", ["core", "langchain", "llama_index"])
def test_drop_old_drops_only_its_collection_and_recreates_it_as_asked(
    lite_uri: str, raw: MilvusClient, face: str
) -> None:
    with _core(lite_uri, name="target", dim=DIM, metric="L2") as store:
        store.upsert(_records(4))
    with _core(lite_uri, name="neighbour", dim=DIM) as store:
        store.upsert(_records(2))
    raw.create_collection("foreign", dimension=DIM)
    raw.insert("foreign", [{"id": 1, "vector": embed("cat")}])
    snap = _snapshot(raw)
    others = {k: v for k, v in snap.items() if k != "target"}
    if face == "core":
        with _core(lite_uri, name="target", dim=DIM, metric="IP", drop_old=True) as store:
            store.upsert([Record(id="n", text="cat", vector=embed("cat"))])
    elif face == "langchain":
        with LangChainStore(
            VocabEmbeddings(), uri=lite_uri, collection_name="target", metric="IP", drop_old=True
        ) as lc:
            lc.add_documents([Document("cat", id="n")])
    else:
        with LlamaStore(
            uri=lite_uri, collection_name="target", similarity_metric="IP", overwrite=True
        ) as li:
            li.add([TextNode(id_="n", text="cat", embedding=embed("cat"))])
    after = _snapshot(raw)
    assert {k: v for k, v in after.items() if k != "target"} == others
    assert after["target"][2] == 1
    assert raw.describe_index("target", "vector")["metric_type"] == "IP"


def test_drop_old_on_another_tools_collection_replaces_it_as_documented(
    lite_uri: str, raw: MilvusClient
) -> None:
    raw.create_collection("foreign", dimension=DIM)
    with _core(lite_uri, name="foreign", dim=DIM, drop_old=True) as store:
        store.upsert(_records(2))
    assert _fields(raw, "foreign")["id"]["type"] == DataType.VARCHAR
    assert raw.get_collection_stats("foreign")["row_count"] == 2


@pytest.mark.parametrize("face", ["core", "langchain", "llama_index"])
def test_drop_old_through_an_alias_is_refused_and_drops_nothing(
    lite_uri: str, raw: MilvusClient, face: str
) -> None:
    with _core(lite_uri, name="real", dim=DIM) as store:
        store.upsert(_records(3))
    raw.create_alias("real", "alias_x")
    before = _snapshot(raw)
    # A read before the first write finds nothing (the old rows are to be dropped) and
    # changes nothing; the write that would drop them is refused.
    with pytest.raises(ConfigError, match="alias"):
        if face == "core":
            with _core(lite_uri, name="alias_x", dim=DIM, drop_old=True) as store:
                assert store.count() == 0
                assert _snapshot(raw) == before
                store.upsert(_records(1))
        elif face == "langchain":
            with LangChainStore(
                VocabEmbeddings(), uri=lite_uri, collection_name="alias_x", drop_old=True
            ) as lc:
                assert lc.similarity_search("cat", k=1) == []
                assert _snapshot(raw) == before
                lc.add_texts(["cat"], ids=["n"])
        else:
            with LlamaStore(uri=lite_uri, collection_name="alias_x", overwrite=True) as li:
                assert li.get_nodes(node_ids=["r0"]) == []
                assert _snapshot(raw) == before
                li.add([TextNode(id_="n", text="cat", embedding=embed("cat"))])
    assert _snapshot(raw) == before
    assert raw.describe_alias("alias_x")["collection_name"] == "real"


# -- limits of the held schema, and dimension from the embedding ---------------------------


def test_text_and_id_limits_are_the_held_ones_and_refused_before_writing(
    lite_uri: str, raw: MilvusClient
) -> None:
    with _core(lite_uri, dim=DIM, text_max_length=10, id_max_length=5) as store:
        store.upsert(_records(1))
        with pytest.raises(MilvusPluginsError, match="text_max_length=10"):
            store.upsert([Record(id="ok", text="x" * 11, vector=embed("cat"))])
        with pytest.raises(MilvusPluginsError, match="5"):
            store.upsert([Record(id="toolong", text="x", vector=embed("cat"))])
    assert raw.get_collection_stats("c")["row_count"] == 1
    # A store asking for larger limits reopens and checks against the held ones.
    with _core(lite_uri, dim=DIM, text_max_length=65535) as again:
        with pytest.raises(MilvusPluginsError, match="text_max_length=10"):
            again.upsert([Record(id="ok", text="x" * 11, vector=embed("cat"))])
        assert again.count() == 1


def test_langchain_dim_contradicting_the_embedding_is_refused_before_creating(
    lite_uri: str, raw: MilvusClient
) -> None:
    with (
        LangChainStore(VocabEmbeddings(), uri=lite_uri, collection_name="lc", dim=DIM + 3) as lc,
        pytest.raises(MilvusPluginsError, match="dimension 11"),
    ):
        lc.add_documents([Document("cat", id="a")])
    assert raw.list_collections() == []


# DEFECT (fixed): LangChain dim=14 with an 11-d embedding: "vector has dimension 11 but the
# collection expects 14; use the same embedding model the collection was created with" - no
# collection exists and the message never named dim=, the setting to fix.
def test_langchain_dim_contradiction_names_the_dim_setting(lite_uri: str) -> None:
    with (
        LangChainStore(VocabEmbeddings(), uri=lite_uri, collection_name="lc", dim=DIM + 3) as lc,
        pytest.raises(MilvusPluginsError) as info,
    ):
        lc.add_documents([Document("cat", id="a")])
    assert "dim=" in str(info.value), str(info.value)


# DEFECT (fixed): LangChain search_params={"ef": 0} (invalid for every index) is accepted by the
# constructor; the collection is created and written, and only the first search raises
# ConfigError. Expected: ConfigError at construction (README: "Settings are checked
# when built ... search knobs (ef, nprobe ...: integers in range)").
def test_langchain_out_of_range_search_params_are_refused_before_writing(
    lite_uri: str, raw: MilvusClient
) -> None:
    try:
        with LangChainStore(
            VocabEmbeddings(), uri=lite_uri, collection_name="lc", search_params={"ef": 0}
        ) as lc:
            lc.add_documents([Document("cat", id="a")])
            lc.similarity_search("cat", k=1)
    except ConfigError as exc:
        assert "ef" in str(exc)
    assert raw.list_collections() == []


def test_bm25_analyzer_and_text_match_map_to_one_text_field_in_every_constructor(
    lite_uri: str, raw: MilvusClient
) -> None:
    analyzer = TextAnalyzer(stop_words="english")
    with _core(lite_uri, name="core", sparse="bm25", analyzer=analyzer, text_match=True) as store:
        store.upsert([Record(id="a", text="the cat", vector=embed("cat"))])
    with LangChainStore(
        VocabEmbeddings(),
        uri=lite_uri,
        collection_name="lc",
        retrieval_mode="hybrid",
        bm25_analyzer=analyzer,
        text_match=True,
    ) as lc:
        lc.add_documents([Document("the cat", id="a")])
    with LlamaStore(
        uri=lite_uri,
        collection_name="li",
        enable_sparse=True,
        bm25_analyzer=analyzer,
        text_match=True,
    ) as li:
        li.add([TextNode(id_="a", text="the cat", embedding=embed("cat"))])
    shapes = {}
    for name in ("core", "lc", "li"):
        described = raw.describe_collection(name)
        fields = _fields(raw, name)
        text = fields["text"]["params"]
        assert text["enable_match"] == "true" and text["enable_analyzer"] == "true"
        assert '"stop_words"' in text["analyzer_params"] and '"the"' in text["analyzer_params"]
        assert fields["sparse"]["type"] == DataType.SPARSE_FLOAT_VECTOR
        [function] = described["functions"]
        assert (function["input_field_names"], function["output_field_names"]) == (
            ["text"],
            ["sparse"],
        )
        sparse_index = raw.describe_index(name, "sparse")
        assert (sparse_index["index_type"], sparse_index["metric_type"]) == (
            "SPARSE_INVERTED_INDEX",
            "BM25",
        )
        shapes[name] = (_shape(raw, name), str(function["type"]), sorted(raw.list_indexes(name)))
    assert shapes["lc"] == shapes["core"] == shapes["li"]


def test_consistency_level_is_accepted_and_reads_see_writes_on_lite(
    lite_uri: str, raw: MilvusClient
) -> None:
    for level in ("Strong", "Session", "Bounded", "Eventually"):
        name = f"c_{level.lower()}"
        with _core(lite_uri, name=name, dim=DIM, consistency_level=level.upper()) as store:
            store.upsert(_records(3))
            assert store.count() == 3
            assert {h.id for h in store.search(embed("cat dog"), k=3)} == {"r0", "r1", "r2"}
    assert sorted(raw.list_collections()) == sorted(
        f"c_{x}" for x in ("strong", "session", "bounded", "eventually")
    )


def test_partition_key_really_routes_and_confines_a_tenant(
    lite_uri: str, raw: MilvusClient
) -> None:
    spec: dict[str, Any] = {
        "dim": DIM,
        "metadata_fields": {"tenant": "VARCHAR"},
        "partition_key": "tenant",
    }
    with _core(lite_uri, **spec) as store:
        store.upsert(_records(2), tenant="a")
        store.upsert([Record(id="b0", text="cat", vector=embed("cat"))], tenant="b")
        assert store.count(tenant="a") == 2
        assert [h.id for h in store.search(embed("cat"), k=5, tenant="b")] == ["b0"]
    assert _fields(raw, "c")["tenant"].get("is_partition_key") is True
    assert raw.describe_collection("c")["num_partitions"] >= 16
    rows = raw.query("c", filter='tenant == "a"', output_fields=["id"])
    assert sorted(r["id"] for r in rows) == ["r0", "r1"]


# DEFECT (fixed): LangChain batch_size=0 raised "batch_rows=0 must be at least 1.": the message
# named an internal field, not batch_size=, the argument the user passed.
def test_langchain_batch_size_zero_is_refused_naming_batch_size(tmp_path: Path) -> None:
    uri = str(tmp_path / "milvus.db")
    _refused_before_io(
        tmp_path,
        lambda: LangChainStore(VocabEmbeddings(), uri=uri, batch_size=0),
        ConfigError,
        "batch_size",
    )


def test_reopening_with_another_bm25_analyzer_is_a_schema_mismatch_everywhere(
    lite_uri: str, raw: MilvusClient
) -> None:
    with _core(lite_uri, sparse="bm25") as store:
        store.upsert([Record(id="a", text="the cat", vector=embed("cat"))])
    before = _snapshot(raw)
    other = TextAnalyzer(stop_words="english")
    with (
        _core(lite_uri, sparse="bm25", analyzer=other) as store,
        pytest.raises(SchemaMismatchError),
    ):
        store.upsert([Record(id="b", text="a dog", vector=embed("dog"))])
    with (
        LangChainStore(
            VocabEmbeddings(), uri=lite_uri, collection_name="c", sparse="bm25", bm25_analyzer=other
        ) as lc,
        pytest.raises(SchemaMismatchError),
    ):
        lc.add_documents([Document("a dog", id="b")])
    with (
        LlamaStore(
            uri=lite_uri, collection_name="c", enable_sparse=True, bm25_analyzer=other
        ) as li,
        pytest.raises(SchemaMismatchError),
    ):
        li.add([TextNode(id_="b", text="a dog", embedding=embed("dog"))])
    assert _snapshot(raw) == before


def test_a_hybrid_store_on_a_dense_collection_is_refused_and_changes_nothing(
    lite_uri: str, raw: MilvusClient
) -> None:
    with _core(lite_uri, dim=DIM) as store:
        store.upsert(_records(2))
    before = _snapshot(raw)
    with (
        LangChainStore(
            VocabEmbeddings(), uri=lite_uri, collection_name="c", retrieval_mode="hybrid"
        ) as lc,
        pytest.raises(SchemaMismatchError, match="sparse"),
    ):
        lc.add_documents([Document("cat", id="n")])
    with (
        LlamaStore(uri=lite_uri, collection_name="c", enable_sparse=True) as li,
        pytest.raises(SchemaMismatchError, match="sparse"),
    ):
        li.add([TextNode(id_="n", text="cat", embedding=embed("cat"))])
    assert _snapshot(raw) == before


# DEFECT (fixed): a mapping-form metadata_fields entry with a misspelt key ({"type": "INT64",
# "max_lenght": 9}) or no "type" raises a bare TypeError from MetadataField.__init__
# in all three constructors; expected ConfigError naming metadata_fields and the key
# (README: settings raise ConfigError naming the field, "not a bare TypeError").
@pytest.mark.parametrize("face", ["core", "langchain", "llama_index"])
@pytest.mark.parametrize("entry", [{"type": "VARCHAR", "max_lenght": 9}, {"max_length": 9}])
def test_a_malformed_declaration_mapping_is_a_config_error(
    tmp_path: Path, face: str, entry: dict[str, Any]
) -> None:
    uri = str(tmp_path / "milvus.db")
    declared = {"genre": entry}
    makers: dict[str, Callable[[], Any]] = {
        "core": lambda: _core(uri, dim=DIM, metadata_fields=declared),
        "langchain": lambda: LangChainStore(
            VocabEmbeddings(), uri=uri, collection_name="c", metadata_fields=declared
        ),
        "llama_index": lambda: LlamaStore(uri=uri, collection_name="c", metadata_fields=declared),
    }
    _refused_before_io(tmp_path, makers[face], ConfigError, "metadata_fields", "genre")


def test_langchain_text_max_length_is_the_held_varchar_limit(
    lite_uri: str, raw: MilvusClient
) -> None:
    with LangChainStore(
        VocabEmbeddings(), uri=lite_uri, collection_name="lc", text_max_length=100
    ) as lc:
        lc.add_documents([Document("cat", id="a")])
        with pytest.raises(MilvusPluginsError, match="text_max_length=100"):
            lc.add_documents([Document("x" * 101, id="b")])
    assert _fields(raw, "lc")["text"]["params"]["max_length"] == 100
    assert raw.get_collection_stats("lc")["row_count"] == 1
