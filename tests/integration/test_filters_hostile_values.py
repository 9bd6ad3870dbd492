"""Filters a hostile pass found answering other rows than they say (2026-12-03, third pass).

Each filter is checked on every engine against :func:`milvus_plugins.core.matches`, the
definition of the semantics: the engine returns exactly those rows, or the filter is
refused with :class:`FilterError` before anything is read or deleted.
"""

from __future__ import annotations

from typing import Any

import pytest

from milvus_plugins.core import (
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    FilterError,
    InvalidInputError,
    MetadataField,
    MilvusStore,
    Record,
    UnsupportedByServerError,
    and_,
    contains,
    contains_all,
    contains_any,
    eq,
    exists,
    gt,
    id_in,
    in_,
    like,
    matches,
    ne,
    not_,
    or_,
    text_contains,
    text_match,
)
from milvus_plugins.core.filters import Filter, Like, Raw
from milvus_plugins.core.ops.checked_filters import ID_LIST_LIMIT, restricted_filters

DIM = 4
PATHS = {
    "win": "C:\\temp\\a.txt",
    "pct": "C:%done",
    "one": "a\\b",
    "two": "a\\\\b",
    "under": "a_b",
    "bs_under": "a\\_b",
    "docs": "C:\\docs\\x",
    "plain": "abc",
}


def _store(uri: str, name: str) -> MilvusStore:
    spec = CollectionSpec(
        name=name, dim=DIM, metadata_fields=[MetadataField(name="path", type="VARCHAR")]
    )
    store = MilvusStore(spec, connection=ConnectionConfig(uri=uri))
    store.upsert(
        [
            Record(
                id=key,
                text=key,
                vector=[1.0, float(i + 1), 0.5, 0.25],
                metadata={"path": value, "j": value},
                doc_id=value,
            )
            for i, (key, value) in enumerate(PATHS.items())
        ]
    )
    return store


def _expected(node: Filter) -> list[str]:
    if isinstance(node, Like) and node.target == "doc_id":
        node = like("path", node.pattern)  # the doc_id column holds the same values
    return sorted(k for k, v in PATHS.items() if matches(node, {"path": v, "j": v}))


PATTERNS = ["C:\\%", "%\\docs%", "%\\%", "a\\%", "a\\_b", "%\\_%", "a\\\\%", "%s\\x", "C:%"]


def node_pattern(node: Filter) -> str:
    return str(node.child.pattern if hasattr(node, "child") else getattr(node, "pattern", ""))


def _cases() -> list[Any]:
    out: list[Any] = []
    for pattern in PATTERNS:
        out += [like("path", pattern), like("j", pattern), Like("doc_id", pattern, "doc_id")]
        out.append(not_(like("path", pattern)))
    out += [text_contains("path", "\\docs"), text_contains("j", "s\\x")]
    return out


def test_like_patterns_with_backslashes_match_as_written_or_are_refused(
    uri: str, collection_name: str
) -> None:
    store = _store(uri, collection_name)
    answered = 0
    for node in _cases():
        try:
            got = sorted(r.id for r in store.query(node))
        except FilterError as exc:
            assert "backslash" in str(exc) or "needs 'not'" in str(exc) or "prefix" in str(exc)
            assert "\\" in node_pattern(node) or "needs 'not'" in str(exc), exc
            continue
        answered += 1
        assert got == _expected(node), node
    assert answered > 0  # every engine answers some (patterns without a backslash at least)
    store.close()


def test_a_delete_with_a_backslash_pattern_deletes_its_rows_or_nothing(
    uri: str, collection_name: str
) -> None:
    store = _store(uri, collection_name)
    node = like("path", "C:\\%%")  # every path starting with C:\ (the helper's case)
    try:
        store.delete(filter=node)
    except FilterError:
        assert sorted(r.id for r in store.query()) == sorted(PATHS)
    else:
        left = sorted(r.id for r in store.query())
        assert left == sorted(k for k in PATHS if k not in _expected(node))
    store.close()


NUMBERS = {
    "negzero": (-0.0, -(2**63) + 1),
    "zero": (0.0, 0),
    "half": (1.5, 2**63 - 1),
    "big": (float(2**53), 5),
}


def test_numbers_on_typed_columns_match_as_written_or_are_refused(
    uri: str, collection_name: str
) -> None:
    spec = CollectionSpec(
        name=collection_name,
        dim=DIM,
        metadata_fields=[
            MetadataField(name="f", type="DOUBLE"),
            MetadataField(name="i", type="INT64"),
        ],
    )
    store = MilvusStore(spec, connection=ConnectionConfig(uri=uri))
    store.upsert(
        [
            Record(id=k, text=k, vector=[1.0, 0.5, 0.25, float(n)], metadata={"f": f, "i": i})
            for n, (k, (f, i)) in enumerate(NUMBERS.items())
        ]
    )
    answered = [
        in_("f", [0]),
        in_("f", [0.0, 1.5]),
        in_("f", [3, 1.5]),
        eq("f", 0),
        eq("i", 2**63 - 1),
        in_("i", [-(2**63) + 1, 5]),
        gt("f", 2**53 - 1),
    ]
    for node in answered:
        got = sorted(r.id for r in store.query(node))
        want = sorted(k for k, (f, i) in NUMBERS.items() if matches(node, {"f": f, "i": i}))
        assert got == want, node
    refused = [eq("i", 2**63), gt("i", -(2**64)), gt("f", 2**53 + 1), in_("f", [2**53 + 1, 3])]
    for node in refused:
        with pytest.raises(FilterError, match=r"int64 range|no exact double"):
            store.query(node)
        with pytest.raises(FilterError, match=r"int64 range|no exact double"):
            store.delete(filter=node)
    assert len(store.query()) == len(NUMBERS)
    store.close()


KINDS: dict[str, dict[str, Any]] = {
    "flag_true": {"n": True, "t": [True]},
    "flag_false": {"n": False, "t": [False]},
    "one": {"n": 1, "t": [1]},
    "one_float": {"n": 1.0, "t": [1.5]},
    "zero": {"n": 0, "t": [0]},
    "text": {"n": "1", "t": ["1"]},
    "none": {},
}


def _kinds_records(text: str = "{}") -> list[Record]:
    """One record per KINDS row, its text ``text`` with the row's name."""
    return [
        Record(id=k, text=text.format(k), vector=[1.0, 0.5, 0.25, float(i)], metadata=m)
        for i, (k, m) in enumerate(KINDS.items())
    ]


@pytest.mark.parametrize(
    "node",
    [
        eq("n", True),
        eq("n", 1),
        gt("n", 0),
        in_("n", [0]),
        in_("n", [False, 2]),
        not_(eq("n", True)),
        contains("t", 1),
        contains_any("t", [True]),
        and_(eq("n", False), exists("t")),
        # Under a negation the engine's expression selects too few rows (not contains
        # true loses [1]): the rows of a wider filter are checked.
        not_(contains("t", 1)),
        not_(contains("t", True)),
        not_(contains_all("t", [1, True])),
        or_(eq("n", True), not_(gt("n", 0))),
    ],
    ids=str,
)
def test_a_delete_never_takes_bools_for_numbers_or_numbers_for_bools(
    uri: str, collection_name: str, node: Filter
) -> None:
    """Milvus Lite 3 compares JSON true equal to 1 (as Python does): a delete checks the
    rows its expression selects against the filter semantics before deleting them."""
    store = MilvusStore(
        CollectionSpec(name=collection_name, dim=DIM), connection=ConnectionConfig(uri=uri)
    )
    store.upsert(_kinds_records())
    try:
        deleted = store.delete(filter=node)
    except FilterError:
        # Milvus 2.3 and Lite 2.5 lack `not` or `exists` on JSON keys. (Lite 2.5.1's
        # engine fails json_contains_any/all on a list holding a bool: the compiler
        # writes those as ors/ands of json_contains, so contains_any runs there.)
        assert not uri.endswith(".db")  # Milvus Lite 3 runs every one of these
        assert len(store.query()) == len(KINDS)
    else:
        want = sorted(k for k, m in KINDS.items() if matches(node, m))
        left = sorted(r.id for r in store.query())
        assert left == sorted(set(KINDS) - set(want))
        assert deleted == len(want)
    store.close()


def test_a_delete_in_named_partitions_checks_its_rows_too(tmp_path: Any) -> None:
    store = MilvusStore(
        CollectionSpec(name="c", dim=DIM), connection=ConnectionConfig(uri=str(tmp_path / "p.db"))
    )
    store.create_partition("p1")
    store.upsert(_kinds_records(), partition_name="p1")
    assert store.delete(filter=eq("n", True), partition_names=["p1"]) == 1
    assert sorted(r.id for r in store.query()) == sorted(set(KINDS) - {"flag_true"})
    store.close()


@pytest.mark.parametrize(
    "node",
    [
        eq("n", True),
        eq("n", 1),
        gt("n", 0),
        in_("n", [0]),
        contains("t", 1),
        not_(contains("t", True)),
        not_(and_(eq("n", 1), exists("t"))),
    ],
    ids=str,
)
def test_queries_and_counts_never_take_bools_for_numbers(
    uri: str, collection_name: str, node: Filter
) -> None:
    store = MilvusStore(
        CollectionSpec(name=collection_name, dim=DIM), connection=ConnectionConfig(uri=uri)
    )
    store.upsert(_kinds_records())
    want = sorted(k for k, m in KINDS.items() if matches(node, m))
    try:
        whole = [r.id for r in store.query(node)]
    except FilterError:  # a negation Milvus 2.3 / Lite 2.5 cannot run
        assert not uri.endswith(".db")
        return
    assert sorted(whole) == want
    assert store.count(node) == len(want)
    pages = [r.id for r in store.query(node, limit=1)] + [
        r.id for r in store.query(node, limit=5, offset=1)
    ]
    assert pages == whole
    store.close()


@pytest.mark.parametrize(
    "node", [eq("n", True), eq("n", 1), gt("n", 0), not_(contains("t", 1))], ids=str
)
def test_searches_never_take_bools_for_numbers(
    uri: str, collection_name: str, node: Filter
) -> None:
    records = _kinds_records(text="{} word")
    spec = CollectionSpec(name=collection_name, dim=DIM, sparse="bm25")
    store = MilvusStore(spec, connection=ConnectionConfig(uri=uri))
    try:
        store.upsert(records)
    except UnsupportedByServerError:  # no sparse vectors on Milvus 2.3
        store = MilvusStore(
            CollectionSpec(name=collection_name, dim=DIM), connection=ConnectionConfig(uri=uri)
        )
        store.upsert(records)
    want = sorted(k for k, m in KINDS.items() if matches(node, m))
    query = [1.0, 0.5, 0.25, 1.0]
    try:
        dense = store.search(query, k=10, filter=node)
    except FilterError:  # a negation Milvus 2.3 / Lite 2.5 cannot run
        assert not uri.endswith(".db")
        return
    assert sorted(h.id for h in dense) == want
    assert sorted(h.id for h in store.mmr_search(query, k=10, filter=node)) == want
    try:
        keyword = store.sparse_search("word", k=10, filter=node)
        fused = store.hybrid_search(query, "word", k=10, filter=node)
    except (UnsupportedByServerError, ConfigError):  # no BM25 before Milvus 2.5
        assert not uri.endswith(".db")
    else:
        assert sorted(h.id for h in keyword) == want
        assert sorted(h.id for h in fused) == want
    store.close()


def _lite_store(tmp_path: Any, **spec: Any) -> MilvusStore:
    return MilvusStore(
        CollectionSpec(name="c", dim=DIM, **spec),
        connection=ConnectionConfig(uri=str(tmp_path / "lite.db")),
    )


def test_filters_whose_rows_cannot_be_checked_are_refused_on_lite3(tmp_path: Any) -> None:
    """A raw part, or a text match on an analyzer the evaluator cannot reproduce, next to
    a JSON bool/number leaf: the rows could not be checked, so nothing is read or deleted."""
    store = _lite_store(
        tmp_path,
        text_match=True,
        analyzer={"tokenizer": "whitespace"},
        metadata_fields=[MetadataField(name="ai", type="ARRAY", element_type="INT64")],
    )
    store.upsert(
        [
            Record(id="t", text="word", vector=[1.0, 0.5, 0.25, 0.0], metadata={"n": True}),
            Record(id="one", text="word", vector=[1.0, 0.5, 0.25, 1.0], metadata={"n": 1}),
        ]
    )
    # A text match on an analyzer Milvus Lite 3 does not use is refused before any of
    # this (UnsupportedByServerError, RELIABILITY 153): either refusal leaves the rows.
    refused = (FilterError, UnsupportedByServerError)
    for node in (
        and_(Raw('id != ""'), eq("n", True)),
        and_(text_match("word"), eq("n", True)),
        contains("ai", True),  # a declared ARRAY of INT64: a bool is of another kind
    ):
        with pytest.raises(refused):
            store.query(node)
        with pytest.raises(refused):
            store.count(node)
        with pytest.raises(refused):
            store.search([1.0, 0.5, 0.25, 0.0], k=2, filter=node)
        with pytest.raises(refused):
            store.delete(filter=node)
    assert store.count() == 2
    store.close()


def test_many_checked_rows_are_named_in_parts_or_refused_for_one_search(tmp_path: Any) -> None:
    """Milvus Lite 3 exceeded a 30 s deadline on a search filtered on 8,500 ids: a checked
    filter names at most ID_LIST_LIMIT ids (the kept or the dropped ones)."""
    store = _lite_store(tmp_path)
    many = ID_LIST_LIMIT + 300
    metadata = [{"n": True}] * many + [{"n": 1}] * 10 + [{"n": 1.0}] * many
    store.upsert(
        [
            Record(id=f"r{i}", text="t", vector=[1.0, 0.5, float(i % 7), 1.0], metadata=m)
            for i, m in enumerate(metadata)
        ]
    )
    query = [1.0, 0.5, 1.0, 1.0]
    # eq("n", 1) keeps 2,310 of 4,610 rows: too many kept and too many dropped to name.
    with pytest.raises(FilterError, match="too many to name in one search"):
        store.search(query, k=3, filter=eq("n", 1))
    assert store.count(eq("n", 1)) == many + 10
    # eq("n", True) keeps 2,300 and drops 2,310: its delete runs in parts.
    assert store.delete(filter=eq("n", True)) == many
    assert store.count() == many + 10
    # Now eq("n", 1) keeps every row its expression selects: the search names no id.
    hits = store.search(query, k=3, filter=eq("n", 1))
    assert len(hits) == 3
    store.close()


def test_restricted_filters_name_the_shorter_list() -> None:
    wider = eq("n", 1)
    kept = [f"k{i}" for i in range(ID_LIST_LIMIT + 1)]
    assert restricted_filters(["a"], ["a", "b"], wider) == [and_(id_in(["a"]), wider)]
    assert restricted_filters([], ["b"], wider) == []
    (only,) = restricted_filters(kept, [*kept, "x"], wider)
    assert only == and_(wider, not_(id_in(["x"])))
    assert restricted_filters(kept, kept, wider) == [wider]
    parts = restricted_filters(kept, [*kept, *(f"d{i}" for i in range(ID_LIST_LIMIT + 1))], wider)
    assert len(parts) == 2


# Values whose escapes differ by engine: Milvus Lite 2.5.1 reads "\n" in a literal as "n".
LINES = {"nl": "a\nb", "n": "anb", "tab": "a\tb", "t": "atb", "cr": "a\rb", "r": "arb"}


def _lines_store(uri: str, name: str) -> MilvusStore:
    spec = CollectionSpec(
        name=name, dim=DIM, metadata_fields=[MetadataField(name="col", type="VARCHAR")]
    )
    store = MilvusStore(spec, connection=ConnectionConfig(uri=uri))
    store.upsert(
        [
            Record(id=k, text=v, vector=[1.0, float(i + 1), 0.5, 0.25], metadata={"col": v, "j": v})
            for i, (k, v) in enumerate(LINES.items())
        ]
    )
    return store


def test_control_characters_in_values_match_as_written_or_are_refused(
    uri: str, collection_name: str
) -> None:
    store = _lines_store(uri, collection_name)
    escapes = store.capabilities.line_escapes
    for key in ("col", "j"):
        for value in LINES.values():
            for node in (eq(key, value), in_(key, [value, "zz"]), like(key, value[:2] + "%")):
                expected = sorted(k for k, v in LINES.items() if matches(node, {key: v}))
                try:
                    got = sorted(r.id for r in store.query(node))
                except FilterError as exc:
                    # Refused only where the engine cannot spell a line break.
                    assert not escapes and ("\n" in value or "\r" in value), (node, exc)
                    assert "line break" in str(exc)
                    continue
                assert got == expected, (node, got)
    before = sorted(r.id for r in store.query())
    try:
        deleted = store.delete(filter=eq("col", "a\nb"))
    except FilterError:
        assert not escapes
        assert sorted(r.id for r in store.query()) == before  # nothing deleted
    else:
        assert deleted == 1
        assert sorted(r.id for r in store.query()) == sorted(set(before) - {"nl"})
    store.close()


def test_ids_with_line_breaks_are_refused_where_no_filter_could_name_them(
    uri: str, collection_name: str
) -> None:
    store = _lines_store(uri, collection_name)
    rows = [
        Record(id=v, text="x", vector=[1.0, 2.0, 3.0, float(i)], metadata={"col": "x"})
        for i, v in enumerate(LINES.values())
    ]
    if not store.capabilities.line_escapes:
        with pytest.raises(InvalidInputError, match="line break"):
            store.upsert(rows)
        assert sorted(r.id for r in store.query()) == sorted(LINES)  # nothing written
        doc = Record(id="d", text="x", vector=[1.0, 2.0, 3.0, 4.0], doc_id="doc\r1")
        doc.metadata["col"] = "x"
        with pytest.raises(InvalidInputError, match="doc_id holds a line break"):
            store.upsert([doc])
        store.upsert([r for r in rows if "\n" not in r.id and "\r" not in r.id])
        assert sorted(r.id for r in store.get(["a\tb", "atb"])) == ["a\tb", "atb"]
        store.close()
        return
    store.upsert(rows)
    assert [r.id for r in store.get(["a\nb"])] == ["a\nb"]
    assert store.delete(ids=["a\nb", "a\rb"]) == 2
    left = {r.id for r in store.query()}
    assert {"anb", "arb", "a\tb", "atb"} <= left and not {"a\nb", "a\rb"} & left
    store.close()


def test_keys_named_like_expression_words_filter_exactly(uri: str, collection_name: str) -> None:
    """A first write's key `true` got a column `true`; Milvus Lite 3 read `true == true`."""
    store = MilvusStore(
        CollectionSpec(name=collection_name, dim=DIM), connection=ConnectionConfig(uri=uri)
    )
    rows = {"yes": {"true": True, "like": 5}, "no": {"true": False, "like": 1}, "none": {}}
    store.upsert(
        [
            Record(id=k, text=k, vector=[1.0, float(i + 1), 0.5, 0.25], metadata=m)
            for i, (k, m) in enumerate(rows.items())
        ]
    )
    assert not {f.name for f in store.spec.accelerated_fields} & {"true", "like"}
    for node in (eq("true", True), eq("true", False), gt("like", 3), in_("like", [1, 2])):
        expected = sorted(k for k, m in rows.items() if matches(node, m))
        assert sorted(r.id for r in store.query(node)) == expected, node
    assert store.delete(filter=eq("true", True)) == 1
    assert sorted(r.id for r in store.query()) == ["no", "none"]
    store.close()
    declared = CollectionSpec(
        name=f"{collection_name}_d",
        dim=DIM,
        metadata_fields=[MetadataField(name="false", type="BOOL")],
    )
    other = MilvusStore(declared, connection=ConnectionConfig(uri=uri))
    with pytest.raises(FilterError, match="named like a word"):
        other.delete(filter=eq("false", False))
    other.close()


def test_nul_in_patterns_and_ids_matches_exactly_or_is_refused(
    uri: str, collection_name: str
) -> None:
    """Milvus 2.3.5 and Lite 2.5.1 end a prefix pattern at NUL; Lite 2.5.1 fails upserts
    of NUL ids mid-write."""
    store = MilvusStore(
        CollectionSpec(name=collection_name, dim=DIM), connection=ConnectionConfig(uri=uri)
    )
    rows = {"r1": "a\x00b", "r2": "a\x00c", "r3": "ab"}
    store.upsert(
        [
            Record(id=k, text="t", vector=[1.0, float(i + 1), 0.5, 0.25], metadata={"path": v})
            for i, (k, v) in enumerate(rows.items())
        ]
    )
    caps = store.capabilities
    node = like("path", "a\x00c%")
    if caps.like_nul:
        assert [r.id for r in store.query(node)] == ["r2"]
        assert store.delete(filter=node) == 1
    else:
        with pytest.raises(FilterError, match="NUL"):
            store.delete(filter=node)
    assert sorted(r.id for r in store.query(eq("path", "a\x00b"))) == ["r1"]  # eq is exact
    nul_ids = [Record(id=i, text="t", vector=[1.0, 2.0, 3.0, 4.0]) for i in ("n\x00a", "n")]
    if caps.nul_ids:
        store.upsert(nul_ids)
        store.upsert(nul_ids)  # an upsert over existing ids too
        assert [r.id for r in store.get(["n\x00a"])] == ["n\x00a"]
    else:
        with pytest.raises(InvalidInputError, match="NUL"):
            store.upsert(nul_ids, batch_rows=1)
        assert store.get(["n"]) == []  # nothing written
    store.close()


def test_json_over_the_engines_limit_is_refused_before_any_batch(
    uri: str, collection_name: str
) -> None:
    """Milvus 2.3.5 refused a 70 KB metadata JSON after earlier batches were written."""
    store = MilvusStore(
        CollectionSpec(name=collection_name, dim=DIM), connection=ConnectionConfig(uri=uri)
    )
    store.upsert([Record(id="seed", text="t", vector=[1.0, 2.0, 3.0, 4.0])])
    big = "é" * 35_000  # 70,000 bytes as UTF-8, 35,000 characters
    records = [
        Record(id="g1", text="t", vector=[1.0, 2.0, 3.0, 5.0]),
        Record(id="meta", text="t", vector=[1.0, 2.0, 3.0, 6.0], metadata={"note": big}),
        Record(id="extra", text="t", vector=[1.0, 2.0, 3.0, 7.0], extra={"rel": big}),
    ]
    limit = store.capabilities.json_max_bytes
    if limit is None:
        store.upsert(records, batch_rows=1)
        (back,) = store.get(["meta"])
        assert back.metadata == {"note": big}
    else:
        for bad in records[1:]:
            with pytest.raises(InvalidInputError, match=f"limit of {limit} bytes"):
                store.upsert([records[0], bad], batch_rows=1)
        assert [r.id for r in store.query()] == ["seed"]  # not even the first batch
        # Just under the limit as written is taken.
        fits = "z" * (limit - len('{"note":""}'))
        store.upsert(
            [Record(id="fits", text="t", vector=[1.0, 2.0, 3.0, 8.0], metadata={"note": fits})]
        )
        assert store.get(["fits"])[0].metadata == {"note": fits}
    store.close()


def test_eq_and_ne_split_a_keys_rows_between_them_whatever_the_kinds(
    uri: str, collection_name: str
) -> None:
    """A value of another kind is not equal (as in Python and a server's `!=`): deleting
    `eq` then `ne` leaves no row (before, `"1"`, `true` and `[1]` stayed)."""
    store = MilvusStore(
        CollectionSpec(name=collection_name, dim=DIM), connection=ConnectionConfig(uri=uri)
    )
    rows: dict[str, dict[str, Any]] = {
        "int": {"n": 1},
        "two": {"n": 2},
        "str": {"n": "1"},
        "list": {"n": [1]},
        "obj": {"n": {"a": 1}},
        "none": {},
    }
    if not store.capabilities.json_bools_are_numbers:
        rows["bool"] = {"n": True}  # Milvus Lite 3 compares true with 1 (checked rows)
    store.upsert(
        [
            Record(id=k, text="t", vector=[1.0, float(i + 1), 0.5, 0.25], metadata=m)
            for i, (k, m) in enumerate(rows.items())
        ]
    )
    for node in (ne("n", 1), not_(eq("n", 1)), not_(in_("n", [1, "x"])), ne("n", "1")):
        expected = sorted(k for k, m in rows.items() if matches(node, m))
        assert sorted(r.id for r in store.query(node)) == expected, node
    assert "str" in [r.id for r in store.query(ne("n", 1))]
    assert store.delete(filter=eq("n", 1)) == 1
    assert store.delete(filter=ne("n", 1)) == len(rows) - 1
    assert store.count() == 0
    store.close()
