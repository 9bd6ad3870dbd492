"""Model-based test: random operation sequences through both adapters against a plain model.

A hypothesis ``RuleBasedStateMachine`` drives the LangChain and the LlamaIndex
``MilvusVectorStore`` (sync and async methods, chosen per step) on Milvus Lite and on the
Milvus 2.3.5 server with hostile inputs: quotes, backslashes, unicode, lone surrogates,
integers beyond int64, deep nesting, non-string keys, a ``str`` where a list belongs,
empty strings, ``None``, vectors beyond float32 and zero vectors. After every step every
row is read back and compared, exactly (types included), with :class:`Model`, a dict of
rows. Where the model refuses an input, the store must raise a typed input error
(:class:`ConfigError`, :class:`InvalidInputError` or :class:`FilterError`) and change
nothing; a refused write must not even call the embedding model.

The model's semantics (the intended behaviour, issue 11):

* ids are strings; an upsert by id replaces the row; an add without ids makes new ids
  (LangChain also for ``None``/``""`` entries); ids must be unique within one write.
* delete by ids, by filter, or both (a row must match both); an empty id list deletes
  nothing; a filter that is structurally always true (``{}``, an empty
  ``MetadataFilters`` group, an empty ``and_()``) is refused: only ``clear()`` empties.
* filter semantics are :func:`milvus_plugins.core.matches` (the package's reference
  evaluator); the three filter forms (dict, core tree, ``MetadataFilters``) are
  translated to it here, with each form's own rules for empty groups.
  On an engine that cannot spell a line break in a string literal (Milvus Lite 2.5) a
  filter value holding one is refused (the library raises ``FilterError``).
* a value is stored only if it reads back exactly: strings without lone surrogates,
  ints within int64, finite floats, str keys at every level, nesting of at most 64;
  anything else is refused before any write. The declared INT64 column ``n`` takes an
  int within int64 (or, where columns are nullable, ``None``/nothing).
* a collection dropped by another client: ``exists()`` is false, reads return nothing,
  the next write recreates it.
* ``query(offset=o)`` without a limit returns all matching rows but the first ``o``.

Budget: ``MP_FUZZ_EXAMPLES`` examples of up to ``MP_FUZZ_STEPS`` steps per backend and
adapter (defaults: 3 x 10, derandomised, to keep ``make test`` bounded: the six runs
took minutes each on a busy two-core box; many short examples vary the rules hypothesis
enables more than a few long ones; ``make fuzz`` runs 100 x 50); ``MP_FUZZ_SEED`` picks a
seed; ``MP_FUZZ_REPORT`` names a file that receives one JSON line of step counts per test.
"""

from __future__ import annotations

import asyncio
import copy
import math
import os
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, Phase, note, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    get_state_machine_test,
    invariant,
    precondition,
    rule,
)
from langchain_core.documents import Document
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
)
from pydantic import ValidationError
from tests.support.fuzz import DIM, HashEmbeddings, Tally, env_int, fuzz_seed, hash_vector

from milvus_plugins.core import CollectionSpec, ConnectionConfig, MilvusStore
from milvus_plugins.core import filters as core
from milvus_plugins.core.errors import ConfigError, FilterError, InvalidInputError
from milvus_plugins.core.filters import Filter, escape_string, matches
from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

T = TypeVar("T")

EXAMPLES = env_int("MP_FUZZ_EXAMPLES", 3)
STEPS = env_int("MP_FUZZ_STEPS", 10)
SEED = fuzz_seed()
# Exploration knobs: run only some rules (comma list), or draw only valid values.
ONLY_RULES = {r for r in os.environ.get("MP_FUZZ_RULES", "").split(",") if r}
CLEAN = os.environ.get("MP_FUZZ_CLEAN", "") == "1"
NO_SHRINK = os.environ.get("MP_FUZZ_NO_SHRINK", "") == "1"
INPUT_ERRORS = (ConfigError, InvalidInputError, FilterError)
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_DEPTH = 64
ID_MAX_BYTES = 512
DECLARED = {"n": "INT64"}

# -- hostile values -------------------------------------------------------------------

STRS = [
    "x",
    "it's",
    'say "hi"',
    "back\\slash",
    "trailing\\",
    '" or id != "',
    "' or 1==1 or '",
    '") or (metadata["b"] != "',
    "100%",
    "a_b",
    "ünïcødé ✓ 日本語 🚀",
    "new\nline",
    "nul\x00byte",
    "",
    " ",
    "NULL",
    "true",
]
SURROGATES = ["\ud800", "a\udfffb", "\udc00x"]
IDS = ["id0", "id1", "id2", "id3", 'q"1', "back\\2", "ünï🚀", "' or 1==1 or '", "a b"]
HOSTILE_KEYS = [
    "it's",
    'k"q',
    "back\\slash",
    "new\nline",
    "a.b",
    "[0]",
    "ünï 🚀",
    " ",
    "text",
    "id",
]
BAD_KEYS: list[Any] = ["", "$x", "$and", 7, None, "k\ud800"]
DOCS = ["doc1", "doc2", 'd"q']
EDGE_INTS = [INT64_MIN, INT64_MAX, 2**63, -(2**63) - 1, 2**64, -(2**100)]

small_ints = st.integers(-3, 3)
strs = st.sampled_from(STRS)
# Empty and blank texts are stored as given (as the frameworks' reference stores keep them).
texts_ok = st.sampled_from(STRS) | st.text(max_size=8)
bad_texts = texts_ok if CLEAN else st.sampled_from(SURROGATES)


def _nest(depth: int, as_list: bool) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value] if as_list else {"k": value}
    return value


json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.sampled_from(EDGE_INTS),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-1e6, 1e6),
    strs,
    st.text(max_size=6),
    st.sampled_from(SURROGATES),
)
dict_keys = st.text(max_size=4) | st.sampled_from([*HOSTILE_KEYS, 1, "k\udc00", ""])
json_values = st.recursive(
    json_leaves,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(dict_keys, inner, max_size=3)
        | st.builds(_nest, st.sampled_from([20, 100]), st.booleans())
    ),
    max_leaves=8,
)


def _is_text(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def value_ok(value: Any, depth: int = 1) -> bool:
    """Whether a metadata value reads back exactly (the model's write rule)."""
    if depth > MAX_DEPTH:
        return False
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        return INT64_MIN <= value <= INT64_MAX
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str):
        return _is_text(value)
    if isinstance(value, list):
        return all(value_ok(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(_is_text(k) and value_ok(v, depth + 1) for k, v in value.items())
    return False


def metadata_ok(metadata: Any, nullable: bool) -> bool:
    """The model's rule for one metadata dict (``n`` is the declared INT64 column)."""
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        return False
    for key, value in metadata.items():
        if not _is_text(key) or not key or key.startswith("$"):
            return False
        if not value_ok(value, 2):
            return False
    n = metadata.get("n")
    if n is None:
        return nullable
    return isinstance(n, int) and not isinstance(n, bool) and INT64_MIN <= n <= INT64_MAX


def id_ok(value: Any) -> bool:
    """A valid explicit id (LangChain's ``None``/``""`` mean "generate one")."""
    return _is_text(value) and bool(value) and len(value.encode("utf-8")) <= ID_MAX_BYTES


def text_ok(value: Any) -> bool:
    return _is_text(value)


@st.composite
def metadatas(draw: st.DrawFn, *, hostile: bool = True) -> dict[Any, Any]:
    """Metadata with the filterable keys a, b, f, m, n, and sometimes hostile entries."""
    out: dict[Any, Any] = {}
    if draw(st.booleans()):
        out["a"] = draw(small_ints | st.none())
    if draw(st.booleans()):
        out["b"] = draw(strs | st.none())
    if draw(st.booleans()):
        out["f"] = draw(st.booleans())
    if draw(st.booleans()):
        out["m"] = draw(small_ints | strs)
    if draw(st.integers(0, 9)) > 0:
        out["n"] = draw(
            st.integers(-3, 3)
            | (st.integers(-3, 3) if CLEAN else st.sampled_from([*EDGE_INTS, "5", 5.0, True, None]))
            | st.integers(-3, 3)
        )
    if hostile and not CLEAN:
        for _ in range(draw(st.integers(0, 2))):
            bad = draw(st.integers(0, 9)) == 0
            key = draw(st.sampled_from(BAD_KEYS) if bad else st.sampled_from(HOSTILE_KEYS))
            out[key] = draw(json_values)
    return out


# -- filters: one tree, three forms ---------------------------------------------------

Tree = tuple[Any, ...]  # ("eq"|"ne"|"gt"|"lt", key, value) | ("in", key, [..]) | ("and"|"or", [..])


class Refused(Exception):
    """The model refuses this filter in this form."""


def _leaves(with_bool: bool) -> st.SearchStrategy[Tree]:
    scalar = small_ints | strs
    keys = st.sampled_from(["a", "b", "m", "n"])
    leaf = st.one_of(
        st.tuples(st.sampled_from(["eq", "ne"]), keys, scalar),
        st.tuples(st.sampled_from(["gt", "lt"]), keys, scalar),
        st.tuples(
            st.just("in"), keys, st.lists(small_ints, max_size=3) | st.lists(strs, max_size=3)
        ),
    )
    if with_bool:
        leaf = leaf | st.tuples(st.sampled_from(["eq", "ne"]), st.just("f"), st.booleans())
    return leaf


def trees(with_bool: bool) -> st.SearchStrategy[Tree]:
    return st.recursive(
        _leaves(with_bool),
        lambda kids: st.tuples(st.sampled_from(["and", "or"]), st.lists(kids, max_size=3)),
        max_leaves=4,
    )


def always_true(tree: Tree, form: str) -> bool:
    """Structurally true for every row in ``form``: ``{}`` (a top-level empty dict), an
    empty ``MetadataFilters`` group (any condition), an empty core ``and_()``, or groups
    made of those."""

    def walk(node: Tree, top: bool) -> bool:
        if node[0] in ("and", "or") and not node[1]:
            return node[0] == "and" or form == "llama" or (form == "dict" and top)
        if node[0] == "and":
            return all(walk(c, False) for c in node[1])
        if node[0] == "or":
            return any(walk(c, False) for c in node[1])
        return False

    return walk(tree, True)


def _oracle_leaf(tree: Tree, line_escapes: bool) -> Filter:
    op, key, value = tree
    values = value if op == "in" else [value]
    if key == "n" and any(not isinstance(v, int) or isinstance(v, bool) for v in values):
        raise Refused(f"{value!r} on the INT64 column n")
    if not line_escapes and any(isinstance(v, str) and ("\n" in v or "\r" in v) for v in values):
        # Milvus Lite 2.5 reads "\n" in a literal as "n": FilterError says so.
        raise Refused(f"{value!r}: a line break this engine cannot write in a filter")
    builders: dict[str, Callable[[str, Any], Filter]] = {
        "eq": core.eq,
        "ne": core.ne,
        "gt": core.gt,
        "lt": core.lt,
        "in": core.in_,
    }
    return builders[op](key, value)


def oracle(tree: Tree | None, form: str, line_escapes: bool = True) -> Filter | None:
    """The core filter whose ``matches`` is the meaning of ``tree`` in ``form``.

    Forms: ``core`` (empty AND true, empty OR false), ``dict`` (only a top-level ``{}``
    may be empty, and means no constraint; ``{"$and": []}`` and nested ``{}`` are
    malformed), ``llama`` (an empty ``MetadataFilters`` group is no constraint, whatever
    its condition). ``line_escapes``: the engine reads ``\\n`` in a literal as a line
    break (all but Milvus Lite 2.5).
    """
    if tree is None:
        return None

    def walk(node: Tree, top: bool) -> Filter:
        if node[0] in ("and", "or"):
            kids = node[1]
            if not kids:
                if form == "dict" and not top:
                    raise Refused("an empty group inside a filter dict")
                if form == "llama" or node[0] == "and" or (form == "dict" and top):
                    return core.and_()
                return core.or_()
            parts = [walk(k, False) for k in kids]
            return core.and_(*parts) if node[0] == "and" else core.or_(*parts)
        return _oracle_leaf(node, line_escapes)

    return walk(tree, True)


def to_dict(tree: Tree) -> dict[str, Any]:
    op = tree[0]
    if op in ("and", "or"):
        if not tree[1]:
            return {}
        return {f"${op}": [to_dict(k) for k in tree[1]]}
    _, key, value = tree
    return {key: {f"${op}": value}}


def to_core(tree: Tree) -> Filter:
    if tree[0] in ("and", "or"):
        parts = [to_core(k) for k in tree[1]]
        return core.and_(*parts) if tree[0] == "and" else core.or_(*parts)
    builders: dict[str, Callable[[str, Any], Filter]] = {
        "eq": core.eq,
        "ne": core.ne,
        "gt": core.gt,
        "lt": core.lt,
        "in": core.in_,
    }
    return builders[tree[0]](tree[1], tree[2])


_LLAMA_OPS = {
    "eq": FilterOperator.EQ,
    "ne": FilterOperator.NE,
    "gt": FilterOperator.GT,
    "lt": FilterOperator.LT,
    "in": FilterOperator.IN,
}


def to_llama(tree: Tree) -> MetadataFilters:
    def walk(node: Tree) -> MetadataFilter | MetadataFilters:
        if node[0] in ("and", "or"):
            condition = FilterCondition.AND if node[0] == "and" else FilterCondition.OR
            return MetadataFilters(filters=[walk(k) for k in node[1]], condition=condition)
        return MetadataFilter(key=node[1], value=node[2], operator=_LLAMA_OPS[node[0]])

    top = walk(tree)
    return top if isinstance(top, MetadataFilters) else MetadataFilters(filters=[top])


# -- the model ------------------------------------------------------------------------


@dataclass
class Row:
    text: str
    metadata: dict[str, Any]
    doc_id: str = ""


@dataclass
class Model:
    rows: dict[str, Row] = field(default_factory=dict)

    def matching(self, flt: Filter | None) -> set[str]:
        return {i for i, r in self.rows.items() if matches(flt, r.metadata)}


def same(a: Any, b: Any) -> bool:
    """Exact equality: types included (``1 != 1.0 != True`` here)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and a == 0.0:
        return math.copysign(1, a) == math.copysign(1, b)
    return bool(a == b)


def check_rows(got: dict[str, Row], model: Model, where: str) -> None:
    assert got.keys() == model.rows.keys(), (
        f"{where}: ids differ; extra {sorted(got.keys() - model.rows.keys())!r}, "
        f"missing {sorted(model.rows.keys() - got.keys())!r}"
    )
    for i, row in model.rows.items():
        assert got[i].text == row.text, (where, i, got[i].text, row.text)
        assert same(got[i].metadata, row.metadata), (where, i, got[i].metadata, row.metadata)
        assert got[i].doc_id == row.doc_id, (where, i, got[i].doc_id, row.doc_id)


def expect_refusal(fn: Callable[[], Any], what: str) -> None:
    """The call must raise a typed input error (and the caller checks nothing changed)."""
    try:
        result = fn()
    except INPUT_ERRORS as exc:
        note(f"refused as expected: {type(exc).__name__}: {exc}")
        return
    except Exception as exc:  # any other error is a finding too: name it
        raise AssertionError(
            f"{what}: expected a typed input error, got {type(exc).__name__}: {exc}"
        ) from exc
    raise AssertionError(f"{what}: expected a typed input error, but it returned {result!r}")


# -- the machine ----------------------------------------------------------------------


def enabled(name: str, adapter: str | None = None) -> Callable[[Any], bool]:
    """A precondition: the rule is selected (``MP_FUZZ_RULES``) and fits the adapter."""
    return lambda self: (not ONLY_RULES or name in ONLY_RULES) and adapter in (None, self.adapter)


class StoreMachine(RuleBasedStateMachine):
    """Shared rules; subclasses bind ``adapter``, ``uri`` and the tally."""

    adapter = "langchain"
    uri = ""
    tally = Tally()

    def __init__(self) -> None:
        super().__init__()
        self.model = Model()
        self.name = f"sm_{uuid.uuid4().hex[:12]}"
        self.loop = asyncio.new_event_loop()
        self.embeddings = HashEmbeddings()
        self.vs: Any = self._open()
        self.nullable = bool(self.vs.store.capabilities.nullable)
        self.line_escapes = bool(self.vs.store.capabilities.line_escapes)
        # Milvus Lite 2.5.1 fails the upsert of an id holding an apostrophe: refused
        # up front there (RELIABILITY 143), so the model expects the refusal.
        self.apostrophe_ids = bool(self.vs.store.capabilities.apostrophe_ids)
        self.tally.examples += 1

    # -- plumbing

    def _open(self) -> Any:
        if self.adapter == "langchain":
            return LangChainStore(
                self.embeddings,
                uri=self.uri,
                collection_name=self.name,
                dim=DIM,
                index="FLAT",
                metadata_fields=DECLARED,
            )
        return LlamaStore(
            uri=self.uri,
            collection_name=self.name,
            dim=DIM,
            index="FLAT",
            metadata_fields=DECLARED,
        )

    def _close(self) -> None:
        self.loop.run_until_complete(self.vs.aclose())

    def run(self, use_async: bool, sync: Callable[[], T], coro: Callable[[], Awaitable[T]]) -> T:
        if use_async:
            return self.loop.run_until_complete(coro())  # type: ignore[arg-type]
        return sync()

    def step(self, name: str) -> None:
        self.tally.steps += 1
        self.tally.rules[name] += 1

    def teardown(self) -> None:
        try:
            self._close()
            with MilvusStore(
                CollectionSpec(name=self.name), connection=ConnectionConfig(uri=self.uri)
            ) as cleaner:
                cleaner.drop()
        finally:
            self.loop.close()

    def read_all(self) -> dict[str, Row]:
        if self.adapter == "langchain":
            return {r.id: Row(r.text, r.metadata, r.doc_id) for r in self.vs.store.query()}
        return {
            n.node_id: Row(n.get_content(), dict(n.metadata), n.ref_doc_id or "")
            for n in self.vs.get_nodes()
        }

    @invariant()
    def rows_match_the_model(self) -> None:
        check_rows(self.read_all(), self.model, "read back after the step")

    def _ids(self, data: st.DataObject, max_size: int = 4) -> list[str]:
        return data.draw(st.lists(st.sampled_from(self._pool()), max_size=max_size, unique=True))

    def _pool(self) -> list[str]:
        # Fixed ids first, then generated ones in the order they were made: sorting would
        # order the random uuids differently in every run, and hypothesis needs the same
        # draws to mean the same ids when it replays an example.
        return [*IDS, *(i for i in self.model.rows if i not in IDS)]

    # -- writes

    @precondition(enabled("add"))
    @rule(data=st.data())
    def add(self, data: st.DataObject) -> None:
        self.step("add")
        if self.adapter == "langchain":
            self._add_langchain(data)
        else:
            self._add_llama(data)

    def _add_langchain(self, data: st.DataObject) -> None:
        n = data.draw(st.integers(1, 3), label="n")
        texts: Any = data.draw(
            st.lists(texts_ok | bad_texts, min_size=n, max_size=n), label="texts"
        )
        metas: Any = data.draw(
            st.lists(metadatas(), min_size=n, max_size=n) | st.none(), label="metadatas"
        )
        ids: Any = data.draw(
            st.none()
            | st.lists(
                st.sampled_from(IDS)
                | st.sampled_from([None, ""] if CLEAN else [None, "", *SURROGATES, "x" * 600]),
                min_size=n,
                max_size=n,
            ),
            label="ids",
        )
        # A str where a list belongs: as long as the list, so a per-character reading fits.
        shapes = ["list", "docs"] if CLEAN else ["list"] * 6 + ["str_texts", "str_ids", "docs"]
        shape = data.draw(st.sampled_from(shapes))
        if shape == "str_texts":
            texts = "abc"[:n]
        elif shape == "str_ids":
            ids = "xyz"[:n]
        use_async = data.draw(st.booleans(), label="async")
        note(f"add_texts shape={shape} texts={texts!r} metadatas={metas!r} ids={ids!r}")

        refuse = shape in ("str_texts", "str_ids")
        if not refuse:
            refuse = not all(text_ok(t) for t in texts)
            # No metadatas is no metadata: the declared n is then missing too.
            every = metas if metas is not None else [None] * n
            refuse |= not all(metadata_ok(m, self.nullable) for m in every)
            explicit = [i for i in (ids or []) if i is not None and i != ""]
            refuse |= not all(id_ok(i) for i in explicit) or len(set(explicit)) < len(explicit)
            refuse |= not self.apostrophe_ids and any("'" in i for i in explicit if id_ok(i))
        before = self.embeddings.document_calls
        docs: list[Document] = []
        if shape == "docs":
            try:
                docs = [
                    Document(page_content=t, metadata=m or {})
                    for t, m in zip(texts, metas or [None] * n, strict=True)
                ]
            except ValidationError:
                return  # Document() itself refuses it (a non-str page_content ...)

        def sync() -> list[str]:
            if shape == "docs":
                return self.vs.add_documents(docs, ids=ids)  # type: ignore[no-any-return]
            return self.vs.add_texts(texts, metas, ids=ids)  # type: ignore[no-any-return]

        async def coro() -> list[str]:
            if shape == "docs":
                return await self.vs.aadd_documents(docs, ids=ids)  # type: ignore[no-any-return]
            return await self.vs.aadd_texts(texts, metas, ids=ids)  # type: ignore[no-any-return]

        if refuse:
            expect_refusal(lambda: self.run(use_async, sync, coro), "add_texts")
            assert self.embeddings.document_calls == before, (
                "a refused write called the embedding model (validation must come first)"
            )
            return
        got = self.run(use_async, sync, coro)
        assert len(got) == n, got
        for position, new_id in enumerate(got):
            wanted = ids[position] if ids else None
            if wanted:
                assert new_id == wanted, (new_id, wanted)
            else:
                assert new_id not in self.model.rows, f"generated id {new_id!r} reused"
            meta = (metas[position] if metas else None) or {}
            self.model.rows[new_id] = Row(texts[position], copy.deepcopy(meta))

    def _add_llama(self, data: st.DataObject) -> None:
        n = data.draw(st.integers(1, 3), label="n")
        specs = []
        for _ in range(n):
            text = data.draw(texts_ok | bad_texts)
            meta = data.draw(metadatas())
            node_id = data.draw(
                st.none()
                | st.sampled_from(IDS)
                | st.sampled_from([None] if CLEAN else ["", *SURROGATES, "x" * 600])
            )
            doc = data.draw(st.none() | st.sampled_from(DOCS))
            vector = data.draw(
                st.sampled_from(
                    ["ok"] if CLEAN else ["ok"] * 8 + ["zero", "huge", "nan", "short", "none"]
                )
            )
            specs.append((text, meta, node_id, doc, vector))
        use_async = data.draw(st.booleans(), label="async")
        single = (
            not CLEAN and data.draw(st.integers(0, 9)) == 0
        )  # a node where a list of nodes belongs
        note(f"add nodes={specs!r} single={single}")
        nodes = []
        for text, meta, node_id, doc, kind in specs:
            vectors: dict[str, list[float] | None] = {
                "ok": hash_vector(text),
                "zero": [0.0] * DIM,
                "huge": [1e39] + [1.0] * (DIM - 1),
                "nan": [math.nan] * DIM,
                "short": [1.0] * (DIM - 1),
                "none": None,
            }
            try:
                node = TextNode(text=text, metadata=meta, embedding=vectors[kind])
            except ValidationError:
                return  # the framework refuses it (e.g. a non-str metadata key)
            if node_id is not None:
                node.id_ = node_id
            if doc is not None:
                node.relationships = {NodeRelationship.SOURCE: RelatedNodeInfo(node_id=doc)}
            nodes.append(node)
        chosen = [n.node_id for n in nodes]
        refuse = single and n == 1
        refuse |= not all(text_ok(t) for t, *_ in specs)
        refuse |= not all(metadata_ok(m, self.nullable) for _, m, *_ in specs)
        refuse |= not all(id_ok(i) for i in chosen) or len(set(chosen)) < len(chosen)
        refuse |= not self.apostrophe_ids and any("'" in i for i in chosen)
        refuse |= any(kind != "ok" for *_, kind in specs)
        arg: Any = nodes[0] if single and n == 1 else nodes
        sync = lambda: self.vs.add(arg)  # noqa: E731
        coro = lambda: self.vs.async_add(arg)  # noqa: E731
        if refuse:
            expect_refusal(lambda: self.run(use_async, sync, coro), "add nodes")
            return
        got = self.run(use_async, sync, coro)
        assert got == chosen, (got, chosen)
        for (text, meta, _, doc, _), node_id in zip(specs, chosen, strict=True):
            self.model.rows[node_id] = Row(text, copy.deepcopy(meta), doc or "")

    # -- reads

    @precondition(enabled("get"))
    @rule(data=st.data())
    def get(self, data: st.DataObject) -> None:
        self.step("get")
        ids: Any = self._ids(data)
        as_str = not CLEAN and data.draw(st.integers(0, 7)) == 0
        if as_str:
            ids = "id1"
        use_async = data.draw(st.booleans())
        if self.adapter == "langchain":
            sync = lambda: self.vs.get_by_ids(ids)  # noqa: E731
            coro = lambda: self.vs.aget_by_ids(ids)  # noqa: E731
        else:
            sync = lambda: self.vs.get_nodes(node_ids=ids)  # noqa: E731
            coro = lambda: self.vs.aget_nodes(node_ids=ids)  # noqa: E731
        if as_str:
            expect_refusal(lambda: self.run(use_async, sync, coro), "get with a str of ids")
            return
        got = self.run(use_async, sync, coro)
        got_ids = [d.id if self.adapter == "langchain" else d.node_id for d in got]
        assert got_ids == [i for i in ids if i in self.model.rows], (got_ids, ids)

    def _filter_arg(self, data: st.DataObject, tree: Tree) -> tuple[Any, str]:
        if self.adapter == "llama":
            return to_llama(tree), "llama"
        if data.draw(st.booleans(), label="dict form"):
            return to_dict(tree), "dict"
        return to_core(tree), "core"

    @precondition(enabled("search"))
    @rule(data=st.data())
    def search(self, data: st.DataObject) -> None:
        self.step("search")
        tree = data.draw(st.none() | trees(self.adapter == "langchain"), label="filter")
        k = data.draw(st.integers(1, 12), label="k")
        query = data.draw(texts_ok, label="query")
        use_async = data.draw(st.booleans())
        arg, form = self._filter_arg(data, tree) if tree is not None else (None, "none")
        try:
            flt = oracle(tree, form, self.line_escapes)
        except Refused:
            expect_refusal(lambda: self._search(arg, k, query, use_async), "search")
            return
        expected = self.model.matching(flt)
        hits = self._search(arg, k, query, use_async)
        ids = [i for i, _, _ in hits]
        assert len(ids) == len(set(ids)), ids
        assert set(ids) <= expected, (
            f"search returned rows outside the filter: {set(ids) - expected}"
        )
        if k >= len(expected):
            assert set(ids) == expected, f"k={k} >= {len(expected)} matching rows, got {ids}"
        else:
            assert len(ids) == k, (ids, k)
        scores = [s for _, s, _ in hits]
        assert scores == sorted(scores, reverse=True), scores
        for i, _, row in hits:
            assert row.text == self.model.rows[i].text
            assert same(row.metadata, self.model.rows[i].metadata), (i, row.metadata)

    def _search(
        self, arg: Any, k: int, query: str, use_async: bool
    ) -> list[tuple[str, float, Row]]:
        if self.adapter == "langchain":
            pairs = self.run(
                use_async,
                lambda: self.vs.similarity_search_with_score(query, k, filter=arg),
                lambda: self.vs.asimilarity_search_with_score(query, k, filter=arg),
            )
            return [(d.id, s, Row(d.page_content, d.metadata)) for d, s in pairs]
        request = VectorStoreQuery(
            query_embedding=hash_vector(query), similarity_top_k=k, filters=arg
        )
        result = self.run(
            use_async, lambda: self.vs.query(request), lambda: self.vs.aquery(request)
        )
        return [
            (n.node_id, s, Row(n.get_content(), dict(n.metadata)))
            for n, s in zip(result.nodes, result.similarities, strict=True)
        ]

    @precondition(enabled("query_with_offset"))
    @rule(data=st.data())
    def query_with_offset(self, data: st.DataObject) -> None:
        self.step("query_with_offset")
        offset = data.draw(st.integers(0, 6))
        use_async = data.draw(st.booleans())
        if use_async and self.adapter == "llama":
            got = self.loop.run_until_complete(self.vs.async_store.query(offset=offset))
        else:
            got = self.vs.store.query(offset=offset)
        ids = {r.id for r in got}
        assert ids <= self.model.rows.keys()
        assert len(got) == max(0, len(self.model.rows) - offset), (len(got), offset)

    # -- deletes

    @precondition(enabled("delete_by_ids"))
    @rule(data=st.data())
    def delete_by_ids(self, data: st.DataObject) -> None:
        self.step("delete_by_ids")
        ids: Any = self._ids(data)
        as_str = not CLEAN and data.draw(st.integers(0, 6)) == 0
        if as_str:
            ids = data.draw(st.sampled_from(["id1", "id12", "ab"]))
        use_async = data.draw(st.booleans())
        note(f"delete ids={ids!r}")
        if self.adapter == "langchain":
            sync = lambda: self.vs.delete(ids=ids)  # noqa: E731
            coro = lambda: self.vs.adelete(ids=ids)  # noqa: E731
        else:
            sync = lambda: self.vs.delete_nodes(node_ids=ids)  # noqa: E731
            coro = lambda: self.vs.adelete_nodes(node_ids=ids)  # noqa: E731
        if as_str:
            expect_refusal(lambda: self.run(use_async, sync, coro), "delete with a str of ids")
            return
        self.run(use_async, sync, coro)
        for i in ids:
            self.model.rows.pop(i, None)

    @precondition(enabled("delete_by_filter"))
    @rule(data=st.data())
    def delete_by_filter(self, data: st.DataObject) -> None:
        self.step("delete_by_filter")
        tree = data.draw(trees(self.adapter == "langchain"), label="filter")
        with_ids = data.draw(st.booleans(), label="with ids")
        ids = self._ids(data) if with_ids else None
        arg, form = self._filter_arg(data, tree)
        if ids is not None and not ids and always_true(tree, form):
            ids = ["id0"]  # an empty id list with an always-true filter is left undefined
        use_async = data.draw(st.booleans())
        note(f"delete ids={ids!r} filter={arg!r}")
        if self.adapter == "langchain":
            sync = lambda: self.vs.delete(ids=ids, filter=arg)  # noqa: E731
            coro = lambda: self.vs.adelete(ids=ids, filter=arg)  # noqa: E731
        else:
            sync = lambda: self.vs.delete_nodes(node_ids=ids, filters=arg)  # noqa: E731
            coro = lambda: self.vs.adelete_nodes(node_ids=ids, filters=arg)  # noqa: E731
        try:
            flt = oracle(tree, form, self.line_escapes)
        except Refused:
            expect_refusal(lambda: self.run(use_async, sync, coro), "delete with a bad filter")
            return
        if ids is None and always_true(tree, form):
            expect_refusal(
                lambda: self.run(use_async, sync, coro), "delete with an always-true filter"
            )
            return
        doomed = self.model.matching(flt)
        if ids is not None:
            doomed &= set(ids)
        self.run(use_async, sync, coro)
        for i in doomed:
            del self.model.rows[i]
        left = set(self.read_all())
        assert left == set(self.model.rows), (
            f"delete by filter: wrongly deleted {set(self.model.rows) - left}"
        )

    @precondition(enabled("delete_by_ids_and_raw_or", "langchain"))
    @rule(data=st.data())
    def delete_by_ids_and_raw_or(self, data: st.DataObject) -> None:
        """A raw expression with ``or`` next to ids: a row must still match both."""
        self.step("delete_by_ids_and_raw_or")
        ids = self._ids(data, max_size=2)
        x, y = data.draw(st.lists(st.sampled_from(self._pool()), min_size=2, max_size=2))
        raw = f"id == {escape_string(x)} or id == {escape_string(y)}"
        use_async = data.draw(st.booleans())
        note(f"delete ids={ids!r} filter={raw!r}")
        self.run(
            use_async,
            lambda: self.vs.delete(ids=ids, filter=raw),
            lambda: self.vs.adelete(ids=ids, filter=raw),
        )
        for i in set(ids) & {x, y}:
            self.model.rows.pop(i, None)
        left = set(self.read_all())
        assert left == set(self.model.rows), (
            f"ids + raw filter: wrongly deleted {set(self.model.rows) - left}"
        )

    @precondition(enabled("delete_by_ref_doc", "llama"))
    @rule(data=st.data())
    def delete_by_ref_doc(self, data: st.DataObject) -> None:
        self.step("delete_by_ref_doc")
        bad_refs: list[Any] = [] if CLEAN else ["", None, ["doc1"]]
        ref: Any = data.draw(st.sampled_from([*DOCS, "doc9", *bad_refs]))
        use_async = data.draw(st.booleans())
        sync = lambda: self.vs.delete(ref)  # noqa: E731
        coro = lambda: self.vs.adelete(ref)  # noqa: E731
        if not isinstance(ref, str) or not ref:
            expect_refusal(lambda: self.run(use_async, sync, coro), f"delete({ref!r})")
            return
        self.run(use_async, sync, coro)
        for i in [i for i, r in self.model.rows.items() if r.doc_id == ref]:
            del self.model.rows[i]
        left = set(self.read_all())
        assert left == set(self.model.rows), (
            f"delete({ref!r}): wrongly deleted {set(self.model.rows) - left}"
        )

    @precondition(enabled("clear"))
    @rule(data=st.data())
    def clear(self, data: st.DataObject) -> None:
        self.step("clear")
        use_async = data.draw(st.booleans())
        if self.adapter == "llama" or hasattr(self.vs, "clear"):
            self.run(use_async, self.vs.clear, self.vs.aclear)
        else:
            # The LangChain adapter has no clear() today; the core's drop() is its empty.
            self.vs.store.drop()
        self.model.rows.clear()

    # -- lifecycle

    @precondition(enabled("reopen"))
    @rule()
    def reopen(self) -> None:
        """Close the store and construct a new one on the same uri and collection."""
        self.step("reopen")
        self._close()
        self.vs = self._open()

    @precondition(enabled("dropped_by_another_client"))
    @rule()
    def dropped_by_another_client(self) -> None:
        self.step("dropped_by_another_client")
        with MilvusStore(
            CollectionSpec(name=self.name), connection=ConnectionConfig(uri=self.uri)
        ) as other:
            other.drop()
        self.model.rows.clear()
        assert self.vs.store.exists() is False, "exists() after another client dropped it"


# -- the tests ------------------------------------------------------------------------

TALLIES: dict[str, Tally] = {}


def _settings() -> settings:
    return settings(
        max_examples=EXAMPLES,
        stateful_step_count=STEPS,
        deadline=None,
        database=None,
        derandomize=SEED is None,
        phases=[p for p in Phase if not (NO_SHRINK and p is Phase.shrink)],
        print_blob=True,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.function_scoped_fixture,
        ],
    )


def run_machine(adapter: str, uri: str, test_id: str) -> Tally:
    tally = Tally()
    machine = type(
        f"{adapter.title()}Machine",
        (StoreMachine,),
        {"adapter": adapter, "uri": uri, "tally": tally},
    )
    test = get_state_machine_test(machine, settings=_settings())
    if SEED is not None:
        test = seed(SEED)(test)
    try:
        test()
    finally:
        print(tally.report(test_id, adapter=adapter, seed=SEED))
    return tally


@pytest.fixture
def machine_uri(backend_uri: str) -> Iterator[str]:
    """A Lite file per test (fresh collection per example) or the session server."""
    yield backend_uri


# The suite-wide 600 s timeout fits the default budget; `make fuzz` budgets get ~2 s a step
# (a 2.3.5 server waits for loads after each drop by another client).
@pytest.mark.timeout(max(600, 2 * EXAMPLES * STEPS))
@pytest.mark.parametrize("adapter", ["langchain", "llama"])
def test_random_operations_agree_with_the_model(
    adapter: str, machine_uri: str, request: pytest.FixtureRequest
) -> None:
    tally = run_machine(adapter, machine_uri, request.node.nodeid)
    # The machine must not pass vacuously.
    assert tally.steps >= EXAMPLES, tally.steps
