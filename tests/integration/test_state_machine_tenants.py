"""Model-based test: tenants (a partition key) and metadata keys whose kind keeps changing.

A hypothesis ``RuleBasedStateMachine`` drives one collection with a VARCHAR partition key
``tenant`` (hostile tenant names: quotes, backslashes, unicode) through the core store
(sync and async), a LangChain ``MilvusVectorStore`` (per-call ``tenant=``, and bound to a
tenant for ``get_by_ids``) and a second core store on another client that opened the
collection before it existed (stale: it never saw the accelerator columns). The first
write gives the undeclared keys ``v`` (int), ``w`` (str) and ``f`` (bool) typed
accelerator columns; later writes put any kind under them (str, float, bool, list,
``None``, nested dicts, ints beyond 2**53, hostile strings) and ints beyond int64, which
must be refused.

The model is a dict of rows per tenant. Its rules:

* ids are unique across the collection: a write by tenant A of an id B's row holds, or of
  a record whose ``tenant`` names another tenant, raises ``TenantMismatchError``; a value
  that cannot read back exactly (an int beyond int64) raises ``InvalidInputError``; ids
  repeated in one write are refused; a refused write changes nothing.
* reads, searches, counts and deletes scoped to tenant A see and touch only A's rows;
  filters mean what :func:`milvus_plugins.core.matches` says on the model's metadata.
* a delete by a filter that is always true by its structure is refused.

After every step each tenant's rows are read back and compared exactly (types included).

Budget: ``MP_TENANT_FUZZ_EXAMPLES`` x ``MP_TENANT_FUZZ_STEPS`` (defaults 5 x 10,
derandomised; ``MP_FUZZ_SEED`` picks a seed; ``MP_FUZZ_NO_SHRINK=1`` skips shrinking).
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
    initialize,
    invariant,
    rule,
)
from tests.support.fuzz import DIM, HashEmbeddings, Tally, env_int, fuzz_seed, hash_vector

from milvus_plugins.core import (
    AsyncMilvusStore,
    CollectionSpec,
    ConnectionConfig,
    MilvusStore,
    Record,
    matches,
)
from milvus_plugins.core import filters as core
from milvus_plugins.core.errors import (
    ConfigError,
    FilterError,
    InvalidInputError,
)
from milvus_plugins.core.exceptions import TenantMismatchError
from milvus_plugins.core.filters import Filter
from milvus_plugins.langchain import MilvusVectorStore as LangChainStore

T = TypeVar("T")

EXAMPLES = env_int("MP_TENANT_FUZZ_EXAMPLES", 5)
STEPS = env_int("MP_TENANT_FUZZ_STEPS", 10)
SEED = fuzz_seed()
NO_SHRINK = os.environ.get("MP_FUZZ_NO_SHRINK", "") == "1"
INPUT_ERRORS = (ConfigError, InvalidInputError, FilterError)
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
BIG = 2**53 + 1  # fits int64, not a double
TENANTS = ["A", 'b"q\\', "ünï 🚀"]
KEYS = ["v", "w", "f"]
IDS = ["id0", "id1", "id2", 'q"1', "back\\2", "ünï🚀"]

# -- values ---------------------------------------------------------------------------

STRS = [
    "x",
    "it's",
    'say "hi"',
    "back\\slash",
    "trailing\\",
    '" or tenant != "',
    "') or ('1' == '1",
    "ünïcødé ✓ 日本語 🚀",
    "new\nline",
    "",
    "NULL",
    "true",
    "1",
]
# Refused: ints beyond int64 (also nested), and floats JSON cannot hold.
HUGE_INTS: list[Any] = [2**63, -(2**63) - 1, 2**64, [1, 2**64], {"a": {"b": -(2**70)}}, math.inf]
SCALARS: list[Any] = [
    0,
    1,
    -3,
    BIG,
    INT64_MAX,
    INT64_MIN,
    1.5,
    -2.25,
    1.0,
    -0.0,
    1e300,
    True,
    False,
    *STRS,
]
OTHERS: list[Any] = [None, [1, "a"], [], {"a": {"b": [1, None, "q\"'"]}}, {"k": 1.5}]
ok_values = st.sampled_from(SCALARS) | st.sampled_from(OTHERS)


def value_ok(value: Any) -> bool:
    """Whether a metadata value reads back exactly (here: no int beyond int64)."""
    if isinstance(value, bool) or value is None or isinstance(value, (str, float)):
        return not isinstance(value, float) or math.isfinite(value)
    if isinstance(value, int):
        return INT64_MIN <= value <= INT64_MAX
    if isinstance(value, list):
        return all(value_ok(v) for v in value)
    if isinstance(value, dict):
        return all(value_ok(v) for v in value.values())
    return False


@st.composite
def metadatas(draw: st.DrawFn, tenant: str, hostile: bool) -> dict[str, Any]:
    """Values of any kind under v, w, f; ``hostile``: sometimes a refused value, or a
    ``tenant`` naming another tenant (or ``""``)."""
    out: dict[str, Any] = {}
    for key in KEYS:
        if draw(st.integers(0, 3)) > 0:
            bad = hostile and draw(st.integers(0, 3)) == 0
            out[key] = draw(st.sampled_from(HUGE_INTS) if bad else ok_values)
    if draw(st.integers(0, 3)) == 0:
        out["tenant"] = draw(st.sampled_from([*TENANTS, ""]) if hostile else st.just(tenant))
    return out


# -- filters --------------------------------------------------------------------------

Tree = tuple[Any, ...]  # (op, key, value) | ("and"|"or", [..])

filter_scalars = st.sampled_from([0, 1, -3, BIG, 1.5, 1.0, True, False, "x", *STRS[1:8], "1"])


def trees() -> st.SearchStrategy[Tree]:
    keys = st.sampled_from(KEYS)
    leaf = st.one_of(
        st.tuples(st.sampled_from(["eq", "ne", "gt", "lt"]), keys, filter_scalars),
        st.tuples(
            st.just("in"),
            keys,
            st.lists(st.sampled_from([0, 1, BIG, 1.5]), min_size=1, max_size=3)
            | st.lists(st.sampled_from(STRS), min_size=1, max_size=3)
            | st.lists(st.booleans(), min_size=1, max_size=2),
        ),
        st.tuples(st.just("exists"), keys, st.booleans()),
        # The partition key itself: a scoped call must not reach another tenant through it.
        st.tuples(st.sampled_from(["eq", "ne"]), st.just("tenant"), st.sampled_from(TENANTS)),
        st.tuples(st.just("in"), st.just("tenant"), st.lists(st.sampled_from(TENANTS), min_size=1)),
    )
    return st.recursive(
        leaf,
        lambda kids: st.tuples(st.sampled_from(["and", "or"]), st.lists(kids, max_size=3)),
        max_leaves=4,
    )


class Refused(Exception):
    """The model refuses this filter in this form."""


def to_core(tree: Tree) -> Filter:
    op = tree[0]
    if op in ("and", "or"):
        parts = [to_core(k) for k in tree[1]]
        return core.and_(*parts) if op == "and" else core.or_(*parts)
    _, key, value = tree
    if op == "exists":
        return core.exists(key) if value else core.not_(core.exists(key))
    builders: dict[str, Callable[[str, Any], Filter]] = {
        "eq": core.eq,
        "ne": core.ne,
        "gt": core.gt,
        "lt": core.lt,
        "in": core.in_,
    }
    return builders[op](key, value)


def to_dict(tree: Tree) -> dict[str, Any]:
    op = tree[0]
    if op in ("and", "or"):
        if not tree[1]:
            return {}
        return {f"${op}": [to_dict(k) for k in tree[1]]}
    _, key, value = tree
    return {key: {f"${op}": value}}


def oracle(tree: Tree, form: str, line_escapes: bool) -> Filter:
    """The core filter whose ``matches`` is ``tree``'s meaning in ``form`` (``core``:
    empty AND true, empty OR false; ``dict``: only a top-level ``{}`` may be empty)."""

    def walk(node: Tree, top: bool) -> Filter:
        if node[0] in ("and", "or"):
            if not node[1] and form == "dict":
                if not top:
                    raise Refused("an empty group inside a filter dict")
                return core.and_()
            parts = [walk(k, False) for k in node[1]]
            return core.and_(*parts) if node[0] == "and" else core.or_(*parts)
        value = node[2]
        listed = value if isinstance(value, list) else [value]
        if not line_escapes and any(isinstance(v, str) and "\n" in v for v in listed):
            raise Refused("a line break this engine cannot write in a filter")
        return to_core(node)

    return walk(tree, True)


def always_true(tree: Tree, form: str) -> bool:
    def walk(node: Tree, top: bool) -> bool:
        if node[0] in ("and", "or") and not node[1]:
            return node[0] == "and" or (form == "dict" and top)
        if node[0] == "and":
            return all(walk(c, False) for c in node[1])
        if node[0] == "or":
            return any(walk(c, False) for c in node[1])
        return False

    return walk(tree, True)


# -- the model ------------------------------------------------------------------------


@dataclass
class Row:
    text: str
    metadata: dict[str, Any]


@dataclass
class Model:
    rows: dict[str, dict[str, Row]] = field(default_factory=lambda: {t: {} for t in TENANTS})

    def owner(self, row_id: str) -> str | None:
        return next((t for t, rows in self.rows.items() if row_id in rows), None)

    def matching(self, tenant: str, flt: Filter) -> set[str]:
        return {i for i, r in self.rows[tenant].items() if matches(flt, r.metadata)}


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


def expect_refusal(fn: Callable[[], Any], what: str, kind: type[Exception] | None = None) -> None:
    """The call must raise a typed input error (the caller checks nothing changed)."""
    try:
        result = fn()
    except INPUT_ERRORS as exc:
        note(f"refused as expected: {type(exc).__name__}: {exc}")
        if kind is not None:
            assert isinstance(exc, kind), f"{what}: expected {kind.__name__}, got {exc!r}"
        return
    except Exception as exc:
        raise AssertionError(
            f"{what}: expected a typed input error, got {type(exc).__name__}: {exc}"
        ) from exc
    raise AssertionError(f"{what}: expected a typed input error, but it returned {result!r}")


def spec(name: str) -> CollectionSpec:
    # FLAT, as the LangChain store asks: an explicit index of another type than the
    # collection's is refused on open (whichever store creates it first).
    return CollectionSpec(
        name=name,
        dim=DIM,
        index="FLAT",
        metadata_fields={"tenant": "VARCHAR"},
        partition_key="tenant",
    )


# -- the machine ----------------------------------------------------------------------


class TenantMachine(RuleBasedStateMachine):
    """Rules on one partition-key collection; subclasses bind ``uri`` and the tally."""

    uri = ""
    tally = Tally()

    def __init__(self) -> None:
        super().__init__()
        self.model = Model()
        self.made = 0
        self.name = f"smt_{uuid.uuid4().hex[:12]}"
        self.loop = asyncio.new_event_loop()
        self.embeddings = HashEmbeddings()
        # Another client, opened before the collection exists: it never learns the
        # accelerator columns from its own write.
        self.other = MilvusStore(spec(self.name), connection=ConnectionConfig(uri=self.uri))
        self._open()
        self.line_escapes = bool(self.core.capabilities.line_escapes)
        self.tally.examples += 1

    def _open(self) -> None:
        self.core = MilvusStore(spec(self.name), connection=ConnectionConfig(uri=self.uri))
        self.acore = AsyncMilvusStore(self.core)
        self.lc = LangChainStore(
            self.embeddings,
            uri=self.uri,
            collection_name=self.name,
            dim=DIM,
            index="FLAT",
            metadata_fields={"tenant": "VARCHAR"},
            partition_key="tenant",
            tenant=TENANTS[1],
        )

    def _close(self) -> None:
        self.loop.run_until_complete(self.acore.close())
        self.core.close()
        self.loop.run_until_complete(self.lc.aclose())

    def teardown(self) -> None:
        try:
            self._close()
            self.other.drop()
            self.other.close()
        finally:
            self.loop.close()

    def run(self, use_async: bool, sync: Callable[[], T], coro: Callable[[], Awaitable[T]]) -> T:
        if use_async:
            return self.loop.run_until_complete(coro())
        return sync()

    def step(self, name: str) -> None:
        self.tally.steps += 1
        self.tally.rules[name] += 1

    def read(self, tenant: str | None) -> dict[str, Row]:
        return {r.id: Row(r.text, r.metadata) for r in self.core.query(tenant=tenant)}

    def check(self, where: str) -> None:
        everyone: dict[str, Row] = {}
        for tenant in TENANTS:
            got = self.read(tenant)
            want = self.model.rows[tenant]
            assert got.keys() == want.keys(), (
                f"{where}: tenant {tenant!r}: extra {sorted(got.keys() - want.keys())!r}, "
                f"missing {sorted(want.keys() - got.keys())!r}"
            )
            for i, row in want.items():
                assert got[i].text == row.text, (where, tenant, i, got[i].text, row.text)
                assert same(got[i].metadata, row.metadata), (
                    where,
                    tenant,
                    i,
                    got[i].metadata,
                    row.metadata,
                )
            everyone.update(want)
        assert set(self.read(None)) == set(everyone), f"{where}: unscoped read differs"

    @invariant()
    def every_tenant_reads_back_as_the_model(self) -> None:
        self.check("after the step")

    def _fresh(self) -> str:
        self.made += 1
        return f"new{self.made}"

    def _pool(self) -> list[str]:
        return [*IDS, *(i for rows in self.model.rows.values() for i in rows if i not in IDS)]

    def _ids(self, data: st.DataObject, max_size: int = 4) -> list[str]:
        return data.draw(st.lists(st.sampled_from(self._pool()), max_size=max_size, unique=True))

    # -- writes

    @initialize(via=st.sampled_from(["core", "other", "langchain"]))
    def first_write(self, via: str) -> None:
        """The creating write (by the main store, the stale one or LangChain): v int, w str,
        f bool, so each key gets an accelerator column."""
        tenant = TENANTS[0]
        metas = [{"v": i, "w": STRS[i], "f": i % 2 == 0} for i in range(3)]
        texts = [f"first {i}" for i in range(3)]
        ids = [f"first{i}" for i in range(3)]
        if via == "langchain":
            self.lc.add_texts(texts, copy.deepcopy(metas), ids=ids, tenant=tenant)
        else:
            records = [
                Record(id=i, text=t, vector=hash_vector(t), metadata=copy.deepcopy(m))
                for i, t, m in zip(ids, texts, metas, strict=True)
            ]
            (self.core if via == "core" else self.other).upsert(records, tenant=tenant)
        for i, t, m in zip(ids, texts, metas, strict=True):
            self.model.rows[tenant][i] = Row(t, {**m, "tenant": tenant})

    @rule(data=st.data())
    def write(self, data: st.DataObject) -> None:
        self.step("write")
        tenant = data.draw(st.sampled_from(TENANTS), label="tenant")
        via = data.draw(
            st.sampled_from(["core", "core_async", "other", "langchain", "unscoped"]), label="via"
        )
        n = data.draw(st.integers(1, 3), label="n")
        hostile = data.draw(st.integers(0, 3), label="hostile") == 0
        known = self._pool() if hostile else [*self.model.rows[tenant]]
        choice = st.builds(self._fresh)
        if known:
            choice = st.sampled_from(known) | choice
        ids = data.draw(st.lists(choice, min_size=n, max_size=n, unique=not hostile), label="ids")
        metas = data.draw(
            st.lists(metadatas(tenant, hostile), min_size=n, max_size=n), label="metadatas"
        )
        if via == "unscoped" and not hostile:
            metas = [{**m, "tenant": tenant} for m in metas]
        texts = [f"text {uuid.uuid4().hex[:6]}" for _ in range(n)]
        scoped: str | None = None if via == "unscoped" else tenant
        owners = [m.get("tenant", scoped) for m in metas]
        note(f"write via={via} tenant={scoped!r} ids={ids!r} metadatas={metas!r}")

        refuse: type[Exception] | None = None
        if (
            not all(value_ok(v) for m in metas for v in m.values())
            or len(set(ids)) < n
            or any(not o for o in owners)  # no tenant, or "" (no scope could reach it)
        ):
            refuse = InvalidInputError  # (TenantMismatchError is one too)
        elif any(o != scoped for o in owners if scoped is not None) or any(
            self.model.owner(i) not in (None, o) for i, o in zip(ids, owners, strict=True)
        ):
            refuse = TenantMismatchError
        records = [
            Record(id=i, text=t, vector=hash_vector(t), metadata=copy.deepcopy(m))
            for i, t, m in zip(ids, texts, metas, strict=True)
        ]

        def call() -> Any:
            if via in ("core", "unscoped"):
                return self.core.upsert(records, tenant=scoped)
            if via == "other":
                return self.other.upsert(records, tenant=scoped)
            if via == "core_async":
                return self.loop.run_until_complete(self.acore.upsert(records, tenant=scoped))
            return self.lc.add_texts(texts, copy.deepcopy(metas), ids=ids, tenant=scoped)

        if refuse is not None:
            self.tally.rules["write refused"] += 1
            expect_refusal(call, f"write via {via}", refuse)
            return
        assert list(call()) == ids
        for i, t, m, o in zip(ids, texts, metas, owners, strict=True):
            assert o is not None
            self.model.rows[o][i] = Row(t, {**copy.deepcopy(m), "tenant": o})

    # -- reads

    @rule(data=st.data())
    def get(self, data: st.DataObject) -> None:
        self.step("get")
        ids = self._ids(data)
        if data.draw(st.booleans(), label="langchain"):
            tenant: str = TENANTS[1]  # the LangChain store's own tenant
            got = [(str(d.id), d.metadata) for d in self.lc.get_by_ids(ids)]
        else:
            tenant = data.draw(st.sampled_from(TENANTS), label="tenant")
            use_async = data.draw(st.booleans(), label="async")
            records = self.run(
                use_async,
                lambda: self.core.get(ids, tenant=tenant),
                lambda: self.acore.get(ids, tenant=tenant),
            )
            got = [(r.id, r.metadata) for r in records]
        mine = self.model.rows[tenant]
        assert [i for i, _ in got] == [i for i in ids if i in mine], (tenant, ids, got)
        for i, metadata in got:
            assert same(metadata, mine[i].metadata), (tenant, i, metadata, mine[i].metadata)

    def _filter(self, data: st.DataObject, langchain: bool) -> tuple[Tree, Any, str]:
        # The core store takes core trees; LangChain takes dicts (and core trees).
        tree = data.draw(trees(), label="filter")
        form = "dict" if langchain and data.draw(st.booleans(), label="dict form") else "core"
        return tree, to_dict(tree) if form == "dict" else to_core(tree), form

    @rule(data=st.data())
    def query(self, data: st.DataObject) -> None:
        self.step("query")
        tenant = data.draw(st.sampled_from(TENANTS), label="tenant")
        langchain = data.draw(st.booleans(), label="langchain")
        tree, arg, form = self._filter(data, langchain)
        use_async = data.draw(st.booleans(), label="async")
        note(f"query tenant={tenant!r} langchain={langchain} filter={arg!r}")

        def call() -> tuple[set[str], int]:
            if langchain:  # a blank query is a filter-only query (unranked, up to k rows)
                docs = self.run(
                    use_async,
                    lambda: self.lc.similarity_search("", 100, filter=arg, tenant=tenant),
                    lambda: self.lc.asimilarity_search("", 100, filter=arg, tenant=tenant),
                )
                listed = [str(d.id) for d in docs]
                assert len(listed) == len(set(listed)), listed
                return set(listed), len(listed)
            if use_async:
                got = self.loop.run_until_complete(self.acore.query(arg, tenant=tenant))
                counted = self.loop.run_until_complete(self.acore.count(arg, tenant=tenant))
            else:
                got = self.core.query(arg, tenant=tenant)
                counted = self.core.count(arg, tenant=tenant)
            ids = [r.id for r in got]
            assert len(ids) == len(set(ids)), ids
            return set(ids), counted

        try:
            flt = oracle(tree, form, self.line_escapes)
        except Refused:
            expect_refusal(call, "query with a refused filter")
            return
        want = self.model.matching(tenant, flt)
        got, counted = call()
        assert got == want, f"query: extra {sorted(got - want)!r}, missing {sorted(want - got)!r}"
        assert counted == len(want), (counted, len(want))

    @rule(data=st.data())
    def search(self, data: st.DataObject) -> None:
        self.step("search")
        tenant = data.draw(st.sampled_from(TENANTS), label="tenant")
        langchain = data.draw(st.booleans(), label="langchain")
        tree, arg, form = self._filter(data, langchain)
        k = data.draw(st.integers(1, 8), label="k")
        query = data.draw(st.sampled_from(["first 1", "text", "ünï"]), label="query")
        use_async = data.draw(st.booleans(), label="async")
        note(f"search tenant={tenant!r} langchain={langchain} k={k} filter={arg!r}")

        def call() -> list[tuple[str, float, dict[str, Any]]]:
            if langchain:
                pairs = self.run(
                    use_async,
                    lambda: self.lc.similarity_search_with_score(
                        query, k, filter=arg, tenant=tenant
                    ),
                    lambda: self.lc.asimilarity_search_with_score(
                        query, k, filter=arg, tenant=tenant
                    ),
                )
                return [(str(d.id), s, d.metadata) for d, s in pairs]
            vector = hash_vector(query)
            hits = self.run(
                use_async,
                lambda: self.core.search(vector, k=k, filter=arg, tenant=tenant),
                lambda: self.acore.search(vector, k=k, filter=arg, tenant=tenant),
            )
            return [(h.id, h.score, h.record.metadata) for h in hits]

        try:
            flt = oracle(tree, form, self.line_escapes)
        except Refused:
            expect_refusal(call, "search with a refused filter")
            return
        want = self.model.matching(tenant, flt)
        hits = call()
        ids = [i for i, _, _ in hits]
        assert len(ids) == len(set(ids)), ids
        assert set(ids) <= want, f"search returned rows outside the scope: {set(ids) - want}"
        assert len(ids) == min(k, len(want)), (ids, k, sorted(want))
        scores = [s for _, s, _ in hits]
        assert scores == sorted(scores, reverse=True), scores
        for i, _, metadata in hits:
            assert same(metadata, self.model.rows[tenant][i].metadata), (i, metadata)

    # -- deletes

    @rule(data=st.data())
    def delete_by_ids(self, data: st.DataObject) -> None:
        self.step("delete_by_ids")
        tenant = data.draw(st.sampled_from(TENANTS), label="tenant")
        ids = self._ids(data)
        via = data.draw(st.sampled_from(["core", "core_async", "langchain"]), label="via")
        note(f"delete via={via} tenant={tenant!r} ids={ids!r}")
        if via == "core":
            self.core.delete(ids, tenant=tenant)
        elif via == "core_async":
            self.loop.run_until_complete(self.acore.delete(ids, tenant=tenant))
        else:
            self.lc.delete(ids=ids, tenant=tenant)
        for i in ids:
            self.model.rows[tenant].pop(i, None)

    @rule(data=st.data())
    def delete_by_filter(self, data: st.DataObject) -> None:
        self.step("delete_by_filter")
        tenant = data.draw(st.sampled_from(TENANTS), label="tenant")
        langchain = data.draw(st.booleans(), label="langchain")
        tree, arg, form = self._filter(data, langchain)
        ids = self._ids(data) if data.draw(st.booleans(), label="with ids") else None
        if ids is not None and not ids and always_true(tree, form):
            ids = ["id0"]  # an empty id list with an always-true filter is left undefined
        use_async = data.draw(st.booleans(), label="async")
        note(f"delete tenant={tenant!r} ids={ids!r} filter={arg!r}")

        def call() -> Any:
            if langchain:
                return self.run(
                    use_async,
                    lambda: self.lc.delete(ids=ids, filter=arg, tenant=tenant),
                    lambda: self.lc.adelete(ids=ids, filter=arg, tenant=tenant),
                )
            return self.run(
                use_async,
                lambda: self.core.delete(ids, filter=arg, tenant=tenant),
                lambda: self.acore.delete(ids, filter=arg, tenant=tenant),
            )

        try:
            flt = oracle(tree, form, self.line_escapes)
        except Refused:
            expect_refusal(call, "delete with a refused filter")
            return
        if ids is None and always_true(tree, form):
            expect_refusal(call, "delete with an always-true filter")
            return
        doomed = self.model.matching(tenant, flt)
        if ids is not None:
            doomed &= set(ids)
        call()
        for i in doomed:
            del self.model.rows[tenant][i]

    # -- lifecycle

    @rule()
    def reopen(self) -> None:
        self.step("reopen")
        self._close()
        self._open()


# -- the tests ------------------------------------------------------------------------


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


def run_machine(uri: str) -> Tally:
    tally = Tally()
    machine = type("BoundTenantMachine", (TenantMachine,), {"uri": uri, "tally": tally})
    test = get_state_machine_test(machine, settings=_settings())
    if SEED is not None:
        test = seed(SEED)(test)
    try:
        test()
    finally:
        print(tally.report("tenants", seed=SEED))
    return tally


@pytest.fixture
def server_machine_uri(milvus_server: Any) -> Iterator[str]:
    yield str(milvus_server.uri)


@pytest.mark.timeout(max(600, 3 * EXAMPLES * STEPS))
def test_tenants_and_changing_kinds_agree_with_the_model_on_lite(lite_uri: str) -> None:
    tally = run_machine(lite_uri)
    assert tally.steps >= EXAMPLES, tally.steps


@pytest.mark.server
@pytest.mark.timeout(max(600, 3 * EXAMPLES * STEPS))
def test_tenants_and_changing_kinds_agree_with_the_model_on_the_server(
    server_machine_uri: str,
) -> None:
    tally = run_machine(server_machine_uri)
    assert tally.steps >= EXAMPLES, tally.steps
