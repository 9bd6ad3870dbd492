"""Public-API type fuzz: every public method, every parameter, values of the wrong type.

For the core stores (:class:`MilvusStore`, :class:`AsyncMilvusStore`) and both adapters'
``MilvusVectorStore`` (sync and async methods), each parameter of each public method is
replaced in turn by values its annotation does not allow (a ``str`` where a list
belongs, bytes, an int for a str, ``None`` for a required value, a dict for a list,
``nan``, ``object()``, a generator, ragged nested lists, a path-traversing name), the
other arguments keeping valid values. Each call must raise a typed input error
(:class:`ConfigError`, :class:`InvalidInputError`, :class:`FilterError`), or
``TypeError`` for an argument the signature does not take, and leave the collection's
rows unchanged (read back after every call). The constructors get the same treatment
and must refuse before any I/O.

Row ids ``a``, ``b``, ``c`` make a string read character by character visible: a
``delete(ids="abc")`` that iterates the string deletes them.

``MP_FUZZ_TYPE_ROUNDS`` (default 1) repeats the sweep with freshly drawn wrong values of
each kind (``make fuzz`` raises it). Round ``r`` draws them from ``Random(r)``, or, with
``MP_FUZZ_SEED`` set (``make fuzz`` sets a fresh one), from that seed and ``r``: each
``make fuzz`` then tries other values, and the same seed repeats them.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from langchain_core.documents import Document
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import VectorStoreQuery
from pydantic import BaseModel
from pymilvus import MilvusClient
from tests.support.fuzz import DIM, HashEmbeddings, env_int, fuzz_seed, hash_vector

from milvus_plugins.core import CollectionSpec, ConnectionConfig, MilvusStore, Record
from milvus_plugins.core.async_store import AsyncMilvusStore
from milvus_plugins.core.errors import ConfigError, FilterError, InvalidInputError
from milvus_plugins.core.ops.search import SearchKind, SearchRequest
from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

ROUNDS = env_int("MP_FUZZ_TYPE_ROUNDS", 1)


def round_rng(round_: int) -> random.Random:
    """The wrong values' source of round ``round_`` (see the module docstring)."""
    seed = fuzz_seed()
    return random.Random(round_ if seed is None else f"{seed}:{round_}")


INPUT_ERRORS = (ConfigError, InvalidInputError, FilterError)
ROWS = {
    "r0": ("row zero", {"a": 1}),
    "a": ("row a", {"a": 2}),
    "b": ("row b", {"b": "x"}),
    "c": ("row c", {}),
}
ESCAPE_DIR = "mp_fuzz_escape"

# Methods not fuzzed, with the reason (they are listed so the sweep stays honest).
SKIPPED: dict[str, str] = {
    "as_retriever": "LangChain-provided: builds a retriever object, no collection access",
    "search": "LangChain's dispatcher to the similarity_search* methods (fuzzed directly)",
    "asearch": "LangChain's dispatcher to the asimilarity_search* methods (fuzzed directly)",
    "similarity_search_with_relevance_scores": (
        "LangChain-provided wrapper of similarity_search_with_score (fuzzed directly)"
    ),
    "asimilarity_search_with_relevance_scores": (
        "LangChain-provided wrapper of asimilarity_search_with_score (fuzzed directly)"
    ),
    "from_texts": "constructor (needs a uri; the constructor fuzz covers its arguments)",
    "afrom_texts": "constructor (needs a uri; the constructor fuzz covers its arguments)",
    "from_documents": "LangChain-provided constructor wrapper of from_texts",
    "afrom_documents": "LangChain-provided constructor wrapper of afrom_texts",
    "from_existing_collection": "constructor (covered by the constructor fuzz)",
    "from_store": "constructor from a core store (wraps, no collection access)",
    "class_name": "LlamaIndex-provided component name",
    "to_dict": "LlamaIndex serialisation, no collection access",
    "to_json": "LlamaIndex serialisation, no collection access",
    "from_dict": "LlamaIndex deserialisation constructor",
    "from_json": "LlamaIndex deserialisation constructor",
    "from_persist_path": "LlamaIndex-provided, reads a JSON file",
    "custom_model_dump": "LlamaIndex's pydantic serialisation hook, no collection access",
    "persist": "LlamaIndex-provided, writes no collection data (no-op for remote stores)",
    "query_kwargs": "pure request builder (its inputs are fuzzed through query)",
    "prepare_records": "pure validation step of upsert (fuzzed through upsert)",
    "sparse_query": "pure helper of sparse_search (fuzzed through sparse_search)",
    "use_client_fusion": "pure decision helper of hybrid_search (fuzzed through it)",
}
PYDANTIC_METHODS = frozenset(name for name in dir(BaseModel) if not name.startswith("_"))


# -- wrong values -------------------------------------------------------------------------


def _generator() -> Iterator[Any]:
    yield from (1, 2)


@dataclass(frozen=True)
class Wrong:
    """A substitute value: its kind (matched against the annotation) and a factory."""

    kind: str
    make: Callable[[], Any]

    def __repr__(self) -> str:
        value = self.make()
        return "<generator>" if inspect.isgenerator(value) else repr(value)


def wrong_values(rng: random.Random) -> list[Wrong]:
    word = rng.choice(["abc", "a", "ab", "cab"])
    number = rng.choice([7, -1, 2**70])
    return [
        Wrong("str", lambda: word),
        Wrong("bytes", lambda: word.encode()),
        Wrong("int", lambda: number),
        Wrong("none", lambda: None),
        Wrong("dict", lambda: {"a": 1}),
        Wrong("nan", lambda: math.nan),
        Wrong("object", object),
        Wrong("generator", _generator),
        Wrong("nested", lambda: [[1, [2]], "x"]),
    ]


PATH_NAME = Wrong("path", lambda: f"../{ESCAPE_DIR}")
_KINDS_BY_TOKEN = {
    "str": {"str"},
    "FilterLike": {"str", "none"},
    "FilterArg": {"str", "dict", "none"},
    "SparseQuery": {"str", "dict"},
    "int": {"int"},
    "float": {"int"},
    "Mapping": {"dict"},
    "dict": {"dict"},
    "Sequence": {"list"},
    "list": {"list"},
    "Iterable": {"list", "generator"},
    "None": {"none"},
}


def allowed_kinds(parameter: inspect.Parameter) -> set[str] | None:
    """The kinds of value the annotation admits (``None``: anything, not fuzzed)."""
    annotation = parameter.annotation
    if annotation is inspect.Parameter.empty or str(annotation) in ("Any", "typing.Any"):
        return None
    outer = str(annotation)
    while "[" in outer:  # Sequence[str] admits a sequence, not a str: drop the brackets
        outer = re.sub(r"\[[^\[\]]*\]", "", outer)
    tokens = set(re.findall(r"[A-Za-z_]+", outer))
    kinds: set[str] = set()
    for token in tokens:
        kinds |= _KINDS_BY_TOKEN.get(token, set())
    if parameter.default is None:
        kinds.add("none")
    return kinds


# -- the fixture collection -------------------------------------------------------------


def _record(row_id: str) -> Record:
    text, metadata = ROWS[row_id]
    return Record(id=row_id, text=text, vector=hash_vector(text), metadata=dict(metadata))


def snapshot(uri: str, name: str) -> dict[str, tuple[str, dict[str, Any], str]]:
    """Every row as (text, metadata, doc_id), read with a fresh core store."""
    with MilvusStore(
        CollectionSpec(name=name), connection=ConnectionConfig(uri=uri), open_mode="adopt"
    ) as reader:
        return {r.id: (r.text, r.metadata, r.doc_id) for r in reader.query()}


def restore(uri: str, name: str) -> None:
    """Put the fixture rows back exactly (after a call that changed them)."""
    with MilvusStore(
        CollectionSpec(name=name), connection=ConnectionConfig(uri=uri), open_mode="adopt"
    ) as writer:
        extra = [i for i in snapshot(uri, name) if i not in ROWS]
        if extra:
            writer.delete(ids=extra)
        writer.upsert([_record(i) for i in ROWS])


@dataclass
class Target:
    """One object under test and the valid value of each parameter name."""

    label: str
    obj: Any
    valid: dict[str, Any]
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)

    def baseline(self, method: str, parameter: inspect.Parameter) -> Any:
        per_method = self.overrides.get(method, {})
        if parameter.name in per_method:
            return per_method[parameter.name]()
        if parameter.name in self.valid:
            return self.valid[parameter.name]()
        if parameter.default is not inspect.Parameter.empty:
            return parameter.default
        raise KeyError(f"{self.label}.{method}: no valid value for {parameter.name!r}")


@dataclass
class Sweep:
    """Findings of one target's sweep."""

    failures: list[str] = field(default_factory=list)
    calls: int = 0
    skipped: dict[str, str] = field(default_factory=dict)


def public_methods(obj: Any) -> list[tuple[str, inspect.Signature]]:
    methods = []
    cls = type(obj)
    for name in sorted(dir(cls)):
        if name.startswith("_") or name in PYDANTIC_METHODS:
            continue
        attr = inspect.getattr_static(cls, name)
        if isinstance(attr, property) or not callable(getattr(obj, name, None)):
            continue
        if isinstance(attr, classmethod | staticmethod) and name not in SKIPPED:
            continue  # constructors and pure helpers: not collection operations
        methods.append((name, inspect.signature(getattr(obj, name))))
    return methods


class RawRows:
    """Every row's stored scalar fields (no vectors), read with one raw pymilvus client.

    Checked after each wrong call (about 900 per sweep): one query, where a fresh core
    store per look took ~8 calls (two thirds of the sweep's time).
    """

    def __init__(self, uri: str, name: str) -> None:
        self.client = MilvusClient(uri=uri)
        self.name = name
        fields = self.client.describe_collection(name)["fields"]
        self.scalar = [f["name"] for f in fields if "VECTOR" not in f["type"].name]
        self.key = next(f["name"] for f in fields if f.get("is_primary"))

    def __call__(self) -> dict[str, dict[str, Any]]:
        if "NotLoad" in str(self.client.get_load_state(self.name).get("state")):
            self.client.load_collection(self.name)  # a reopened Lite database, or a release
        rows = self.client.query(self.name, filter="", limit=16384, output_fields=self.scalar)
        return {str(r[self.key]): dict(r) for r in rows}

    def close(self) -> None:
        self.client.close()


def sweep(target: Target, uri: str, collection: str, rng: random.Random) -> Sweep:
    result = Sweep()
    rows_now = RawRows(uri, collection)
    expected = rows_now()
    loop = asyncio.new_event_loop()
    try:
        for name, signature in public_methods(target.obj):
            if name in SKIPPED:
                result.skipped[name] = SKIPPED[name]
                continue
            params = [
                p
                for p in signature.parameters.values()
                if p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
            ]
            if not params:
                result.skipped[name] = "no parameters to substitute"
                continue
            for parameter in params:
                kinds = allowed_kinds(parameter)
                if kinds is None:
                    continue
                values = [w for w in wrong_values(rng) if w.kind not in kinds]
                if "name" in parameter.name:
                    values.append(PATH_NAME)
                for wrong in values:
                    result.calls += 1
                    _one_call(target, name, params, parameter, wrong, loop, result)
                    now = rows_now()
                    if now != expected:
                        result.failures.append(
                            f"{target.label}.{name}({parameter.name}={wrong!r}) changed the rows: "
                            f"before {sorted(expected)}, after {sorted(now)}"
                        )
                        restore(uri, collection)
            if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values()):
                result.calls += 1
                _unexpected_keyword(target, name, params, loop, result)
    finally:
        closer = getattr(target.obj, "aclose", None)
        if closer is not None and target.label.startswith("langchain"):
            loop.run_until_complete(closer())
        loop.close()
        rows_now.close()
    return result


def _call(
    target: Target,
    method: str,
    args: dict[str, Any],
    params: list[inspect.Parameter],
    loop: asyncio.AbstractEventLoop,
) -> Any:
    positional = [args[p.name] for p in params if p.kind is inspect.Parameter.POSITIONAL_ONLY]
    keywords = {
        k: v for k, v in args.items() if k not in {p.name for p in params[: len(positional)]}
    }
    fn = getattr(target.obj, method)
    value = fn(*positional, **keywords)
    if inspect.isawaitable(value):
        value = loop.run_until_complete(value)
    return value


def _one_call(
    target: Target,
    method: str,
    params: list[inspect.Parameter],
    parameter: inspect.Parameter,
    wrong: Wrong,
    loop: asyncio.AbstractEventLoop,
    result: Sweep,
) -> None:
    args = {p.name: target.baseline(method, p) for p in params}
    args[parameter.name] = wrong.make()
    label = f"{target.label}.{method}({parameter.name}={wrong!r})"
    try:
        returned = _call(target, method, args, params, loop)
    except INPUT_ERRORS:
        return
    except Exception as exc:
        result.failures.append(f"{label} raised {type(exc).__name__}: {str(exc)[:160]}")
        return
    result.failures.append(f"{label} was accepted (returned {_short(returned)})")


def _unexpected_keyword(
    target: Target,
    method: str,
    params: list[inspect.Parameter],
    loop: asyncio.AbstractEventLoop,
    result: Sweep,
) -> None:
    args = {p.name: target.baseline(method, p) for p in params}
    args["bogus_keyword"] = 1
    try:
        _call(target, method, args, params, loop)
    except (TypeError, *INPUT_ERRORS):
        return
    except Exception as exc:
        result.failures.append(
            f"{target.label}.{method}(bogus_keyword=1) raised {type(exc).__name__}: {exc}"
        )
        return
    result.failures.append(f"{target.label}.{method}(bogus_keyword=1) was accepted")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 120 else text[:117] + "..."


# -- targets -------------------------------------------------------------------------------

COLLECTION = "type_fuzz"


@pytest.fixture
def filled(lite_uri: str) -> Iterator[str]:
    """A Lite collection (dense + BM25) holding the fixture rows."""
    store = LangChainStore(
        HashEmbeddings(),
        uri=lite_uri,
        collection_name=COLLECTION,
        dim=DIM,
        index="FLAT",
        sparse="bm25",
    )
    store.add_texts([ROWS[i][0] for i in ROWS], [dict(ROWS[i][1]) for i in ROWS], ids=list(ROWS))
    store.close()
    yield lite_uri


def _core_valid() -> dict[str, Any]:
    return {
        "records": lambda: [_record("r0")],
        "ids": lambda: ["zz_missing"],
        "vector": lambda: hash_vector("row"),
        "vectors": lambda: [hash_vector("row")],
        "query": lambda: "row",
        "text": lambda: "row",
        "name": lambda: "p_fuzz",
        "k": lambda: 2,
        "filter": lambda: None,
        "request": lambda: SearchRequest(kind=SearchKind.DENSE, vector=hash_vector("row"), k=2),
        "exc": lambda: RuntimeError("fuzz"),
        "rows": lambda: 5,
    }


def _core_store(uri: str) -> MilvusStore:
    return MilvusStore(
        CollectionSpec(name=COLLECTION), connection=ConnectionConfig(uri=uri), open_mode="adopt"
    )


def _langchain_valid() -> dict[str, Any]:
    return {
        "texts": lambda: ["row zero"],
        "metadatas": lambda: [{"a": 1}],
        "ids": lambda: ["r0"],
        "documents": lambda: [Document(id="r0", page_content="row zero", metadata={"a": 1})],
        "query": lambda: "row",
        "embedding": lambda: hash_vector("row"),
        "k": lambda: 2,
        "fetch_k": lambda: 4,
        "lambda_mult": lambda: 0.5,
    }


def _llama_valid() -> dict[str, Any]:
    def node() -> TextNode:
        return TextNode(id_="r0", text="row zero", metadata={"a": 1}, embedding=hash_vector("x"))

    return {
        "nodes": lambda: [node()],
        "node_ids": lambda: ["zz_missing"],
        "ref_doc_id": lambda: "zz_missing_doc",
        "query": lambda: VectorStoreQuery(query_embedding=hash_vector("row"), similarity_top_k=2),
    }


def _report(sweep_result: Sweep) -> None:
    print(f"{sweep_result.calls} calls; skipped: {sweep_result.skipped}")
    for failure in sweep_result.failures:
        print("FINDING", failure)
    print(f"{len(sweep_result.failures)} findings")


def _escaped(uri: str) -> list[Path]:
    root = Path(uri).parent
    return [p for p in root.rglob(ESCAPE_DIR) if p.exists()]


def _assert_clean(result: Sweep, uri: str) -> None:
    _report(result)
    escaped = _escaped(uri)
    assert not escaped, f"a partition name left the database directory: {escaped}"
    assert not result.failures, "\n".join(result.failures)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_core_store_refuses_wrong_types(filled: str, round_: int) -> None:
    store = _core_store(filled)
    delete_ids = {"delete": {"ids": lambda: ["zz_missing"]}, "get": {"ids": lambda: ["r0"]}}
    target = Target("MilvusStore", store, _core_valid(), delete_ids)
    try:
        result = sweep(target, filled, COLLECTION, round_rng(round_))
    finally:
        store.close()
    _assert_clean(result, filled)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_async_core_store_refuses_wrong_types(filled: str, round_: int) -> None:
    store = _core_store(filled)

    async def make() -> AsyncMilvusStore:
        return AsyncMilvusStore(store)

    # The async store is made inside the loop that runs its calls.
    target = Target("AsyncMilvusStore", None, _core_valid())
    loop = asyncio.new_event_loop()
    try:
        target.obj = loop.run_until_complete(make())
    finally:
        loop.close()
    try:
        result = sweep(target, filled, COLLECTION, round_rng(round_))
    finally:
        store.close()
    _assert_clean(result, filled)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_langchain_store_refuses_wrong_types(filled: str, round_: int) -> None:
    store = LangChainStore(
        HashEmbeddings(), uri=filled, collection_name=COLLECTION, open_mode="adopt"
    )
    overrides = {
        "delete": {"ids": lambda: ["zz_missing"]},
        "adelete": {"ids": lambda: ["zz_missing"]},
    }
    target = Target("langchain.MilvusVectorStore", store, _langchain_valid(), overrides)
    try:
        result = sweep(target, filled, COLLECTION, round_rng(round_))
    finally:
        store.close()
    _assert_clean(result, filled)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_llama_index_store_refuses_wrong_types(filled: str, round_: int) -> None:
    store = LlamaStore(uri=filled, collection_name=COLLECTION, open_mode="adopt")
    target = Target("llama_index.MilvusVectorStore", store, _llama_valid())
    try:
        result = sweep(target, filled, COLLECTION, round_rng(round_))
    finally:
        store.store.close()
    _assert_clean(result, filled)


# -- constructors: refuse before any I/O ------------------------------------------------


def _constructor_sweep(
    label: str, factory: Callable[..., Any], valid: dict[str, Any], rng: random.Random
) -> Sweep:
    result = Sweep()
    signature = inspect.signature(factory)
    params = [
        p
        for p in signature.parameters.values()
        if p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    ]
    for parameter in params:
        kinds = allowed_kinds(parameter)
        if kinds is None:
            continue
        values = [w for w in wrong_values(rng) if w.kind not in kinds]
        if "name" in parameter.name:
            values.append(PATH_NAME)
        for wrong in values:
            result.calls += 1
            args = {p.name: valid[p.name]() for p in params if p.name in valid}
            args[parameter.name] = wrong.make()
            try:
                factory(**args)
            except INPUT_ERRORS:
                continue
            except Exception as exc:
                result.failures.append(
                    f"{label}({parameter.name}={wrong!r}) raised {type(exc).__name__}: "
                    f"{str(exc)[:160]}"
                )
                continue
            result.failures.append(f"{label}({parameter.name}={wrong!r}) was accepted")
    return result


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_constructors_refuse_wrong_types_before_io(lite_uri: str, round_: int) -> None:
    rng = round_rng(round_)
    results = [
        _constructor_sweep(
            "MilvusStore",
            MilvusStore,
            {
                "spec": lambda: CollectionSpec(name="ctor_fuzz", dim=DIM),
                "connection": lambda: ConnectionConfig(uri=lite_uri),
            },
            rng,
        ),
        _constructor_sweep(
            "langchain.MilvusVectorStore",
            LangChainStore,
            {
                "embedding": HashEmbeddings,
                "uri": lambda: lite_uri,
                "collection_name": lambda: "ctor_fuzz",
            },
            rng,
        ),
        _constructor_sweep(
            "llama_index.MilvusVectorStore",
            LlamaStore,
            {"uri": lambda: lite_uri, "collection_name": lambda: "ctor_fuzz"},
            rng,
        ),
    ]
    failures = [f for r in results for f in r.failures]
    print(f"{sum(r.calls for r in results)} constructor calls")
    for failure in failures:
        print("FINDING", failure)
    # No constructor may have touched the database.
    assert not Path(lite_uri).exists(), "a constructor did I/O"
    assert not failures, "\n".join(failures)
