"""Hostile and bad input: one table, every route (core, LangChain, LlamaIndex), one contract.

Each row of :data:`CASES` is a bad input with the typed core error it must raise
(:class:`ConfigError`, :class:`InvalidInputError` or :class:`FilterError`, all
``ValueError``) and words its message must contain: the field it is about and the fix. A
route is ``None`` where the framework cannot express the input (the reason is in
:data:`NOT_EXPRESSIBLE`). For every route the test also checks that nothing reached
Milvus: no write request was sent, the guarded collection still holds its 5 rows, and the
collection a bad first write targets was not created. Queries are checked to send no
search or query request.

Rules defined here (see RELIABILITY.md): reserved metadata keys are ``""`` and keys starting
with ``$``; a value for a declared typed field must have its type, in records and in
filters; a filter may target only the ``metadata`` (default), ``id``, ``doc_id`` and
``text`` columns; LlamaIndex filter keys naming the collection's own fields raise.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from langchain_core.embeddings import Embeddings
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import (
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
)

from milvus_plugins.core import (
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    FilterError,
    InvalidInputError,
    MilvusPluginsError,
    MilvusStore,
    Record,
    eq,
)
from milvus_plugins.core.filters import Compare
from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

DIM = 8
GUARDED = "guarded"  # holds 5 rows; queries run here
FRESH = "fresh"  # never created: every bad first write targets it
TEXT_LIMIT = 100  # text_max_length of the core and LangChain collections
DECLARED = {"year": "INT64"}


class ScriptedEmbeddings(Embeddings):
    """Deterministic vectors, with a few texts that embed badly on purpose."""

    def _one(self, text: str) -> list[float]:
        if text == "nan!":
            return [math.nan] * DIM
        if text == "inf!":
            return [1.0] * (DIM - 1) + [math.inf]
        if text == "wide!":
            return [0.5] * (DIM + 1)
        return [float(len(text) % 7) + 1.0] + [0.1 * (i + 1) for i in range(DIM - 1)]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._one(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._one(text)


def vec(dim: int = DIM, fill: float = 0.5) -> list[float]:
    return [fill] * dim


@dataclass
class Env:
    """The stores of every route: ``*_fresh`` write to FRESH, the others query GUARDED."""

    uri: str
    core: MilvusStore
    core_fresh: MilvusStore
    lc: LangChainStore
    lc_fresh: LangChainStore
    li: LlamaStore
    li_fresh: LlamaStore
    calls: dict[str, int]

    def core_stores(self) -> list[MilvusStore]:
        return [self.core, self.core_fresh, self.lc.store, self.lc_fresh.store]

    def all_stores(self) -> list[MilvusStore]:
        return [*self.core_stores(), self.li.store, self.li_fresh.store]

    def count_calls(self) -> None:
        """Wrap the real client methods that send data or queries (each call forwarded)."""
        for store in self.all_stores():
            client = store.client
            for method in ("upsert", "insert", "delete", "search", "query"):
                forward = getattr(client, method)

                def counted(*args: Any, _f: Any = forward, _m: str = method, **kw: Any) -> Any:
                    self.calls[_m] = self.calls.get(_m, 0) + 1
                    return _f(*args, **kw)

                setattr(client, method, counted)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    uri = str(tmp_path_factory.mktemp("bad") / "milvus.db")

    def core(name: str) -> MilvusStore:
        spec = CollectionSpec(
            name=name, dim=DIM, text_max_length=TEXT_LIMIT, metadata_fields=DECLARED
        )
        return MilvusStore(spec, connection=ConnectionConfig(uri=uri))

    def lc(name: str) -> LangChainStore:
        return LangChainStore(
            ScriptedEmbeddings(),
            uri=uri,
            collection_name=name,
            dim=DIM,
            text_max_length=TEXT_LIMIT,
            metadata_fields=DECLARED,
        )

    def li(name: str) -> LlamaStore:
        return LlamaStore(uri=uri, collection_name=name, dim=DIM, metadata_fields=DECLARED)

    built = Env(uri, core(GUARDED), core(FRESH), lc(GUARDED), lc(FRESH), li(GUARDED), li(FRESH), {})
    built.core.upsert(
        [
            Record(id=f"g{i}", text=f"good {i}", vector=vec(fill=i + 1.0), metadata={"year": i})
            for i in range(5)
        ]
    )
    built.count_calls()
    yield built
    for store in built.all_stores():
        store.close()


Route = Callable[[Env], Any] | None


@dataclass(frozen=True)
class BadInput:
    """One bad input, the error it gets, and how each route expresses it."""

    name: str
    error: type[MilvusPluginsError]
    words: tuple[str, ...]  # the field and the fix, as the message must say them
    core: Route
    langchain: Route
    llama_index: Route


def _node(**overrides: Any) -> TextNode:
    fields: dict[str, Any] = {"id_": "n1", "text": "a node", "embedding": vec()}
    fields.update(overrides)
    return TextNode(**fields)


def _record(**overrides: Any) -> Record:
    fields: dict[str, Any] = {"id": "r1", "text": "a record", "vector": vec()}
    fields.update(overrides)
    return Record(**fields)


def _li_query(env: Env, **overrides: Any) -> Any:
    fields: dict[str, Any] = {"query_embedding": vec(), "similarity_top_k": 2}
    fields.update(overrides)
    return env.li.query(VectorStoreQuery(**fields))


def _li_filter(key: str, value: Any) -> MetadataFilters:
    return MetadataFilters(filters=[MetadataFilter(key=key, value=value)])


WRITES: list[BadInput] = [
    BadInput(
        "wrong dimension",
        InvalidInputError,
        ("dimension 9", "expects 8", "same embedding model"),
        lambda e: e.core_fresh.upsert([_record(vector=vec(DIM + 1))]),
        lambda e: e.lc_fresh.add_texts(["wide!"]),
        lambda e: e.li_fresh.add([_node(embedding=vec(DIM + 1))]),
    ),
    BadInput(
        "NaN in a vector",
        InvalidInputError,
        ("vector", "NaN or inf", "fix the embedding"),
        lambda e: e.core_fresh.upsert([_record(), _record(id="r2", vector=vec(fill=math.nan))]),
        lambda e: e.lc_fresh.add_texts(["fine", "nan!"]),
        lambda e: e.li_fresh.add([_node(embedding=vec(fill=math.nan))]),
    ),
    BadInput(
        "inf in a vector",
        InvalidInputError,
        ("vector", "NaN or inf", "fix the embedding"),
        lambda e: e.core_fresh.upsert([_record(vector=[1.0] * (DIM - 1) + [math.inf])]),
        lambda e: e.lc_fresh.add_texts(["inf!"]),
        lambda e: e.li_fresh.add([_node(embedding=[1.0] * (DIM - 1) + [-math.inf])]),
    ),
    BadInput(
        "missing vector",
        InvalidInputError,
        ("vector is missing", "embed the text first"),
        lambda e: e.core_fresh.upsert([_record(vector=None)]),
        None,
        lambda e: e.li_fresh.add([_node(embedding=None)]),
    ),
    BadInput(
        "text longer than the field",
        InvalidInputError,
        ("text_max_length", "split it into smaller chunks"),
        lambda e: e.core_fresh.upsert([_record(text="x" * (TEXT_LIMIT + 1))]),
        lambda e: e.lc_fresh.add_texts(["é" * (TEXT_LIMIT // 2 + 1)]),  # 102 UTF-8 bytes
        lambda e: e.li_fresh.add([_node(text="x" * 65_536)]),  # the default 65,535 limit
    ),
    BadInput(
        "metadata not JSON-serialisable",
        InvalidInputError,
        ("metadata", "not JSON-serialisable", "use str, int, float, bool"),
        lambda e: e.core_fresh.upsert([_record(metadata={"tags": {"a", "b"}})]),
        lambda e: e.lc_fresh.add_texts(["t"], [{"tags": {"a", "b"}}]),
        lambda e: e.li_fresh.add([_node(metadata={"tags": {"a", "b"}})]),
    ),
    BadInput(
        "metadata date",
        InvalidInputError,
        ("metadata['when']", "is a date", ".isoformat()"),
        lambda e: e.core_fresh.upsert([_record(metadata={"when": datetime.date(2024, 1, 1)})]),
        lambda e: e.lc_fresh.add_texts(["t"], [{"when": datetime.datetime(2024, 1, 1)}]),
        lambda e: e.li_fresh.add([_node(metadata={"when": datetime.date(2024, 1, 1)})]),
    ),
    BadInput(
        "metadata NaN",
        InvalidInputError,
        ("metadata", "not JSON-serialisable", "no NaN"),
        lambda e: e.core_fresh.upsert([_record(metadata={"score": math.nan})]),
        lambda e: e.lc_fresh.add_texts(["t"], [{"score": math.inf}]),
        lambda e: e.li_fresh.add([_node(metadata={"score": math.nan})]),
    ),
    BadInput(
        "reserved metadata key ''",
        InvalidInputError,
        ("metadata key ''", "reserved", "rename the key"),
        lambda e: e.core_fresh.upsert([_record(metadata={"": 1})]),
        lambda e: e.lc_fresh.add_texts(["t"], [{"": 1}]),
        lambda e: e.li_fresh.add([_node(metadata={"": 1})]),
    ),
    BadInput(
        "reserved metadata key '$...'",
        InvalidInputError,
        ("metadata key '$gt'", "reserved", "start with '$'", "rename the key"),
        lambda e: e.core_fresh.upsert([_record(metadata={"$gt": 1})]),
        lambda e: e.lc_fresh.add_texts(["t"], [{"$gt": 1}]),
        lambda e: e.li_fresh.add([_node(metadata={"$gt": 1})]),
    ),
    BadInput(
        "declared field of the wrong type",
        InvalidInputError,
        ("metadata['year']", "must be an integer", "declared INT64"),
        lambda e: e.core_fresh.upsert([_record(metadata={"year": "1999"})]),
        lambda e: e.lc_fresh.add_texts(["t"], [{"year": 1999.5}]),
        lambda e: e.li_fresh.add([_node(metadata={"year": True})]),
    ),
    BadInput(
        "duplicate ids in one batch",
        InvalidInputError,
        ("share id 'dup'", "unique within one write"),
        lambda e: e.core_fresh.upsert([_record(id="dup"), _record(id="dup")]),
        lambda e: e.lc_fresh.add_texts(["a", "b"], ids=["dup", "dup"]),
        lambda e: e.li_fresh.add([_node(id_="dup"), _node(id_="dup", text="other")]),
    ),
    BadInput(
        "id of the wrong type",
        InvalidInputError,
        ("id=7", "non-empty string", "str()"),
        lambda e: e.core_fresh.upsert([_record(id=7)]),
        lambda e: e.lc_fresh.add_texts(["t"], ids=[7]),
        None,
    ),
    BadInput(
        "metadata key not a string",
        InvalidInputError,
        ("metadata key 1", "must be a string"),
        lambda e: e.core_fresh.upsert([_record(metadata={1: "x"})]),
        lambda e: e.lc_fresh.add_texts(["t"], [{1: "x"}]),
        None,
    ),
    BadInput(
        "fewer ids than texts",
        InvalidInputError,
        ("1 ids for 2 texts", "one per text"),
        None,
        lambda e: e.lc_fresh.add_texts(["a", "b"], ids=["only-one"]),
        None,
    ),
]

CONFIG: list[BadInput] = [
    BadInput(
        "unknown index parameter",
        ConfigError,
        ("efConstruct", "HNSW", "valid:"),
        lambda e: CollectionSpec(name=FRESH, index={"index_type": "HNSW", "efConstruct": 64}),
        lambda e: LangChainStore(
            ScriptedEmbeddings(),
            uri=e.uri,
            collection_name=FRESH,
            index={"index_type": "HNSW", "efConstruct": 64},
        ),
        lambda e: LlamaStore(
            uri=e.uri, collection_name=FRESH, index={"index_type": "HNSW", "efConstruct": 64}
        ),
    ),
    BadInput(
        "index parameter out of range",
        ConfigError,
        ("M=0", "out of range", "integer in"),
        lambda e: CollectionSpec(name=FRESH, index={"index_type": "HNSW", "M": 0}),
        lambda e: LangChainStore(
            ScriptedEmbeddings(),
            uri=e.uri,
            collection_name=FRESH,
            index={"index_type": "HNSW", "M": 0},
        ),
        lambda e: LlamaStore(
            uri=e.uri, collection_name=FRESH, index={"index_type": "HNSW", "M": 0}
        ),
    ),
    BadInput(
        "unknown index type",
        ConfigError,
        ("index_type='HNSWX'", "use one of", "'HNSW'"),
        lambda e: CollectionSpec(name=FRESH, index="HNSWX"),
        lambda e: LangChainStore(
            ScriptedEmbeddings(), uri=e.uri, collection_name=FRESH, index="HNSWX"
        ),
        lambda e: LlamaStore(uri=e.uri, collection_name=FRESH, index="HNSWX"),
    ),
    BadInput(
        "unknown metric",
        ConfigError,
        ("metric='cosin'", "use one of", "'COSINE'"),
        lambda e: CollectionSpec(name=FRESH, metric="cosin"),
        lambda e: LangChainStore(
            ScriptedEmbeddings(), uri=e.uri, collection_name=FRESH, metric="cosin"
        ),
        lambda e: LlamaStore(uri=e.uri, collection_name=FRESH, similarity_metric="cosin"),
    ),
    BadInput(
        "unknown metric inside the index",
        ConfigError,
        ("metric='HAMMING'", "use one of"),
        lambda e: CollectionSpec(
            name=FRESH, index={"index_type": "FLAT", "metric_type": "HAMMING"}
        ),
        lambda e: LangChainStore(
            ScriptedEmbeddings(),
            uri=e.uri,
            collection_name=FRESH,
            index={"index_type": "FLAT", "metric": "HAMMING"},
        ),
        lambda e: LlamaStore(
            uri=e.uri, collection_name=FRESH, index={"index_type": "FLAT", "metric_type": "HAMMING"}
        ),
    ),
    BadInput(
        "declared field named like a canonical field",
        ConfigError,
        ("['text']", "reserved field names", "rename the metadata key"),
        lambda e: CollectionSpec(name=FRESH, metadata_fields={"text": "VARCHAR"}),
        lambda e: LangChainStore(
            ScriptedEmbeddings(),
            uri=e.uri,
            collection_name=FRESH,
            metadata_fields={"text": "VARCHAR"},
        ),
        lambda e: LlamaStore(uri=e.uri, collection_name=FRESH, metadata_fields={"text": "INT64"}),
    ),
]

QUERIES: list[BadInput] = [
    BadInput(
        "k = 0",
        InvalidInputError,
        ("k=0", "positive integer"),
        lambda e: e.core.search(vec(), k=0),
        lambda e: e.lc.similarity_search("q", k=0),
        lambda e: _li_query(e, similarity_top_k=0),
    ),
    BadInput(
        "k < 0",
        InvalidInputError,
        ("k=-1", "positive integer"),
        lambda e: e.core.search(vec(), k=-1),
        lambda e: e.lc.similarity_search_by_vector(vec(), k=-1),
        lambda e: _li_query(e, similarity_top_k=-1),
    ),
    BadInput(
        "query vector of the wrong dimension",
        InvalidInputError,
        ("dimension 3", "expects 8"),
        lambda e: e.core.search(vec(3), k=2),
        lambda e: e.lc.similarity_search_by_vector(vec(3), k=2),
        lambda e: _li_query(e, query_embedding=vec(3)),
    ),
    BadInput(
        "filter target that is not a filterable column",
        FilterError,
        ("target='vector'", "not a filterable column", "'metadata'"),
        lambda e: e.core.search(vec(), filter=Compare("v", "==", "x", target="vector")),  # type: ignore[arg-type]
        lambda e: e.lc.similarity_search("q", filter=Compare("v", "==", "x", target="vector")),  # type: ignore[arg-type]
        None,
    ),
    BadInput(
        "LlamaIndex filter on the collection's own field",
        FilterError,
        ("'text'", "names a field of the collection", "node_ids="),
        None,
        None,
        lambda e: _li_query(e, filters=_li_filter("text", "good 1")),
    ),
    BadInput(
        "filter value that does not fit the declared type",
        FilterError,
        ("'year'", "'1999'", "declared type INT64", "compare it with an int"),
        lambda e: e.core.query(eq("year", "1999")),
        lambda e: e.lc.similarity_search("q", filter={"year": "1999"}),
        lambda e: _li_query(e, filters=_li_filter("year", "1999")),
    ),
    BadInput(
        "filter on the id column with a number",
        FilterError,
        ("'id'", "declared type VARCHAR", "compare it with a string"),
        lambda e: e.core.count(Compare("id", "==", 7, target="id")),
        None,
        None,
    ),
    BadInput(
        "filter key that is an operator",
        FilterError,
        ("'$year'", "operator"),
        lambda e: e.core.query(eq("$year", 1)),
        lambda e: e.lc.similarity_search("q", filter={"$year": 1}),
        lambda e: _li_query(e, filters=_li_filter("$year", 1)),
    ),
    BadInput(
        "empty filter key",
        FilterError,
        ("filter key ''", "non-empty string"),
        lambda e: e.core.count(Compare("", "==", 1)),
        lambda e: e.lc.similarity_search("q", filter={"": 1}),
        lambda e: _li_query(e, filters=_li_filter("", 1)),
    ),
    BadInput(
        "unknown filter operator",
        FilterError,
        ("'$regex'", "supported:"),
        None,
        lambda e: e.lc.similarity_search("q", filter={"genre": {"$regex": "^a"}}),
        None,
    ),
    BadInput(
        "filter value that is not a scalar",
        FilterError,
        ("'genre'", "not filterable", "string, number or bool"),
        lambda e: e.core.query(eq("genre", {"a": 1})),  # type: ignore[arg-type]
        lambda e: e.lc.similarity_search("q", filter={"genre": {"$eq": {"a": 1}}}),
        None,
    ),
]

NOT_EXPRESSIBLE = {
    ("missing vector", "langchain"): "LangChain embeds every text itself",
    ("id of the wrong type", "llama_index"): "TextNode(id_=7) fails LlamaIndex's own validation",
    ("metadata key not a string", "llama_index"): "TextNode metadata keys must be str",
    ("fewer ids than texts", "core"): "records carry their ids: no lists to mismatch",
    ("fewer ids than texts", "llama_index"): "nodes carry their ids",
    ("filter target that is not a filterable column", "llama_index"): "its filters have no target",
    ("LlamaIndex filter on the collection's own field", "core"): "core keys are metadata keys",
    ("LlamaIndex filter on the collection's own field", "langchain"): "dict keys are metadata keys",
    ("filter on the id column with a number", "langchain"): "dict filters address metadata only",
    ("filter on the id column with a number", "llama_index"): "node_ids= takes strings",
    ("unknown filter operator", "core"): "core filters are built by functions, not operators",
    ("unknown filter operator", "llama_index"): "FilterOperator is an enum",
    ("filter value that is not a scalar", "llama_index"): "MetadataFilter validates values",
}
"""Routes a case is not run through, and why."""


def _params(cases: list[BadInput]) -> list[Any]:
    out = []
    for case in cases:
        for route in ("core", "langchain", "llama_index"):
            call = getattr(case, route)
            if call is not None:
                out.append(pytest.param(case, call, id=f"{case.name} | {route}"))
    return out


def _assert_error(error: BaseException, case: BadInput) -> None:
    # Quoted in RELIABILITY.md (run with -s to see every message).
    print(f"\nRELIABILITY bad_input {case.name}: {type(error).__name__}: {error}")
    assert type(error) is case.error, f"{type(error).__name__}: {error}"
    assert isinstance(error, ValueError)
    message = str(error)
    for word in case.words:
        assert word.lower() in message.lower(), f"{word!r} not in {message!r}"


def _nothing_written(env: Env) -> None:
    assert FRESH not in env.core.list_collections()
    assert env.core.count() == 5


@pytest.mark.parametrize(("case", "call"), _params(WRITES))
def test_bad_write_is_rejected_before_anything_is_written(
    env: Env, case: BadInput, call: Callable[[Env], Any]
) -> None:
    env.calls.clear()
    with pytest.raises(MilvusPluginsError) as info:
        call(env)
    _assert_error(info.value, case)
    assert env.calls == {}  # no request of any kind was sent
    _nothing_written(env)


@pytest.mark.parametrize(("case", "call"), _params(CONFIG))
def test_bad_configuration_is_rejected_before_any_io(
    env: Env, case: BadInput, call: Callable[[Env], Any]
) -> None:
    env.calls.clear()
    with pytest.raises(MilvusPluginsError) as info:
        call(env)
    _assert_error(info.value, case)
    assert env.calls == {}
    _nothing_written(env)


@pytest.mark.parametrize(("case", "call"), _params(QUERIES))
def test_bad_query_is_rejected_before_any_request(
    env: Env, case: BadInput, call: Callable[[Env], Any]
) -> None:
    env.calls.clear()
    with pytest.raises(MilvusPluginsError) as info:
        call(env)
    _assert_error(info.value, case)
    assert env.calls == {}  # no request of any kind was sent
    _nothing_written(env)


def test_every_route_is_run_or_explained() -> None:
    skipped = {
        (case.name, route)
        for case in [*WRITES, *CONFIG, *QUERIES]
        for route in ("core", "langchain", "llama_index")
        if getattr(case, route) is None
    }
    assert skipped == set(NOT_EXPRESSIBLE)


def test_metadata_named_like_canonical_fields_still_round_trips(tmp_path: Path) -> None:
    """Keys like "id" and "text" live in the metadata JSON: not reserved (LangChain's
    standard tests write metadata={"id": 1})."""
    store = LangChainStore(
        ScriptedEmbeddings(), uri=str(tmp_path / "own.db"), collection_name="own", dim=DIM
    )
    store.add_texts(["t"], [{"id": 1, "text": "meta", "vector": [1]}], ids=["x"])
    assert store.get_by_ids(["x"])[0].metadata == {"id": 1, "text": "meta", "vector": [1]}
    store.close()
