"""Text and phrase match on every engine: the compiled filter against the reference evaluator.

Milvus Lite 3.2.2 has ``TEXT_MATCH`` (not ``PHRASE_MATCH``); Milvus 2.3.5 and Milvus
Lite 2.5.1 have neither: there a text-match store or filter raises
:class:`UnsupportedByServerError` naming the feature and its minimum version, found
from the version or by probing, and nothing is created.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymilvus import DataType, MilvusClient

from milvus_plugins.core import (
    AsyncMilvusStore,
    CollectionSpec,
    ConnectionConfig,
    FilterError,
    InvalidInputError,
    MilvusStore,
    Record,
    SchemaMismatchError,
    TextAnalyzer,
    UnsupportedByServerError,
    and_,
    eq,
    filter_from_dict,
    id_in,
    matches,
    not_,
    or_,
    phrase_match,
    text_match,
)
from milvus_plugins.core.filters import Filter
from milvus_plugins.core.probing import probe_text_match

DIM = 2
TEXTS = {
    "err": "Error code E1234 in module Billing",
    "fox": "the quick brown fox",
    "fox2": "brown quick fox jumps",
    "quote": 'a "quoted" word and back\\slash',
    "hostile": "') or true or ('",
    "ml": "Machine-Learning rocks",
    "cat": "concatenate strings",
    "under": "snake_case_name here",
}
# Terms built to break a naively concatenated expression: each must match by its words.
HOSTILE_QUERIES = [
    "') or true or ('",
    '" or id != "',
    '"quoted"',
    "back\\slash",
    "\\",
    '\\"',
    "e1234\n) or (true",
    'x") or TEXT_MATCH(text, "fox',
]
QUERIES = [
    "quick",
    "QUICK fox",
    "e1234",
    "machine learning",
    "cat",
    "snake_case_name",
    "nothing matches this",
    *HOSTILE_QUERIES,
]


def _records() -> list[Record]:
    return [
        Record(id=k, text=t, vector=[1.0, float(i)], metadata={"n": i})
        for i, (k, t) in enumerate(TEXTS.items())
    ]


def _store(uri: str, name: str, **spec: object) -> MilvusStore:
    return MilvusStore(
        CollectionSpec(name=name, dim=DIM, **spec),  # type: ignore[arg-type]
        connection=ConnectionConfig(uri=uri),
    )


def _expected(node: Filter, analyzer: dict[str, object] | None = None) -> set[str]:
    return {r.id for r in _records() if matches(node, r.metadata, text=r.text, analyzer=analyzer)}


def _has_text_match(uri: str) -> bool:
    client = MilvusClient(uri=uri)
    try:
        return probe_text_match(client)["text_match"]
    finally:
        client.close()


def test_probe_agrees_with_the_version_table_on_every_engine(uri: str) -> None:
    """The probe finds TEXT_MATCH exactly where the version table (or probing) says so."""
    store = _store(uri, "probe_only")
    try:
        caps = store.capabilities
        client = MilvusClient(uri=uri)
        try:
            probed = probe_text_match(client)
        finally:
            client.close()
        assert probed == {"text_match": caps.text_match, "phrase_match": caps.phrase_match}
        assert probed["phrase_match"] is False  # no engine here has PHRASE_MATCH
    finally:
        store.close()


def test_text_match_selects_the_rows_the_evaluator_selects(uri: str, collection_name: str) -> None:
    store = _store(uri, collection_name, text_match=True)
    try:
        if not store.capabilities.text_match:
            with pytest.raises(UnsupportedByServerError) as info:
                store.upsert(_records())
            assert info.value.feature == "text match"
            assert info.value.minimum_version == "2.5.0"
            assert collection_name not in store.list_collections()  # nothing created
            return
        store.upsert(_records())
        for q in QUERIES:
            for node in (text_match(q), not_(text_match(q))):
                got = {r.id for r in store.query(node)}
                assert got == _expected(node), (q, node)
        combined = or_(and_(text_match("fox"), eq("n", 2)), text_match("billing"))
        assert {r.id for r in store.query(combined)} == _expected(combined) == {"fox2", "err"}
        dict_node = filter_from_dict({"text": {"$text_match": "') or true or ('"}})
        assert {r.id for r in store.query(dict_node)} == {"hostile"}
        hits = store.search([1.0, 0.0], k=10, filter=text_match("brown"))
        assert {h.id for h in hits} == {"fox", "fox2"}
    finally:
        store.close()


def test_hostile_terms_never_widen_the_match(uri: str, collection_name: str) -> None:
    """A term that would close the literal in a concatenated expression matches only words."""
    store = _store(uri, collection_name, text_match=True)
    try:
        if not store.capabilities.text_match:
            # Refused before any expression is sent, whatever the term holds.
            plain = _store(uri, collection_name + "_plain")
            plain.upsert(_records())
            for q in HOSTILE_QUERIES:
                with pytest.raises(UnsupportedByServerError):
                    plain.query(text_match(q))
            assert plain.count() == len(TEXTS)
            plain.close()
            return
        store.upsert(_records())
        assert {r.id for r in store.query(text_match("') or true or ('"))} == {"hostile"}
        assert {r.id for r in store.query(text_match('" or id != "'))} == {"hostile"}
        assert {r.id for r in store.query(text_match("\\"))} == set()
        # Its words are x, or, text_match, text and fox: nothing more than those words.
        injected = text_match('x") or TEXT_MATCH(text, "fox')
        assert {r.id for r in store.query(injected)} == _expected(injected)
        assert _expected(injected) == {"hostile", "fox", "fox2"}
        assert store.count(text_match('"quoted"')) == 1
    finally:
        store.close()


def test_phrase_match_raises_where_the_engine_lacks_it(uri: str, collection_name: str) -> None:
    # Where text match is missing too, a plain collection shows the phrase refusal.
    probe = _store(uri, collection_name + "_probe")
    matchable = probe.capabilities.text_match
    probe.close()
    store = _store(uri, collection_name, text_match=matchable)
    try:
        store.upsert(_records())
        with pytest.raises(UnsupportedByServerError) as info:
            store.query(phrase_match("quick brown"))
        assert info.value.feature.startswith("phrase match")
        assert info.value.minimum_version == "2.5.17"
    finally:
        store.close()


def test_text_match_on_a_collection_without_it_is_a_filter_error(lite_uri: str) -> None:
    store = _store(lite_uri, "plain")
    try:
        store.upsert(_records())
        with pytest.raises(FilterError, match="text_match=True"):
            store.query(text_match("fox"))
    finally:
        store.close()


def test_reopening_checks_and_adopts_text_match(lite_uri: str) -> None:
    with _store(lite_uri, "plain") as plain:
        plain.upsert(_records())
    with _store(lite_uri, "plain", text_match=True) as wanting, pytest.raises(SchemaMismatchError):
        wanting.count()
    analyzer = TextAnalyzer(stop_words=["the"])
    with _store(lite_uri, "matchable", text_match=True, analyzer=analyzer) as created:
        created.upsert(_records())
    with _store(lite_uri, "matchable") as adopted:
        assert {r.id for r in adopted.query(text_match("fox"))} == {"fox", "fox2"}
        assert adopted.spec.text_match
        assert adopted.spec.analyzer_params == analyzer.params()
    other = TextAnalyzer(stop_words=["a"])
    with (
        _store(lite_uri, "matchable", text_match=True, analyzer=other) as mismatched,
        pytest.raises(SchemaMismatchError, match="analyzer"),
    ):
        mismatched.count()


async def test_async_store_text_match(uri: str, collection_name: str) -> None:
    sync = _store(uri, collection_name, text_match=True)
    store = AsyncMilvusStore(sync)
    try:
        caps = await store.capabilities()
        if not caps.text_match:
            with pytest.raises(UnsupportedByServerError):
                await store.upsert(_records())
            return
        await store.upsert(_records())
        got = {r.id for r in await store.query(text_match("quick"))}
        assert got == _expected(text_match("quick")) == {"fox", "fox2"}
    finally:
        await store.close()
        sync.close()


# -- property: the compiled TEXT_MATCH selects exactly the rows the evaluator accepts ----

_WORDS = ["fox", "Fox", "e1234", "snake_case", "caf\u00e9", "or", "true", "x1"]
_SEPARATORS = [" ", "-", '"', "'", "\\", ") or (", ", ", "\n"]
_text = st.builds(
    lambda words, seps: "".join(w + s for w, s in zip(words, seps, strict=False)),
    st.lists(st.sampled_from(_WORDS), min_size=1, max_size=4),
    st.lists(st.sampled_from(_SEPARATORS), min_size=4, max_size=4),
)


@pytest.fixture(scope="module")
def property_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MilvusStore]:
    """Milvus Lite 3.2.2, the one engine here with TEXT_MATCH."""
    uri = str(tmp_path_factory.mktemp("tm") / "milvus.db")
    store = _store(uri, "prop", text_match=True)
    yield store
    store.close()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(texts=st.lists(_text, min_size=1, max_size=6), query=_text)
def test_text_match_agrees_with_the_evaluator(
    property_store: MilvusStore, texts: list[str], query: str
) -> None:
    property_store.clear()
    records = [Record(id=f"r{i}", text=t, vector=[1.0, float(i)]) for i, t in enumerate(texts)]
    property_store.upsert(records)
    for node in (text_match(query), not_(text_match(query))):
        expected = {r.id for r in records if matches(node, {}, text=r.text)}
        assert {r.id for r in property_store.query(node)} == expected, (node, texts)


def test_stop_words_of_the_analyzer_never_match(uri: str, collection_name: str) -> None:
    """Milvus Lite's TEXT_MATCH ignores the analyzer; the compiler drops stop words itself."""
    analyzer = TextAnalyzer(stop_words=["the", "in"])
    store = _store(uri, collection_name, text_match=True, analyzer=analyzer)
    try:
        if not store.capabilities.text_match:
            with pytest.raises(UnsupportedByServerError):
                store.upsert(_records())
            return
        store.upsert(_records())
        params = analyzer.params()
        for q in ("the", "The IN", "the fox", "in billing"):
            for node in (text_match(q), not_(text_match(q))):
                got = {r.id for r in store.query(node)}
                assert got == _expected(node, params), (q, node)
        assert store.count(text_match("the")) == 0
    finally:
        store.close()


@pytest.mark.parametrize(
    "analyzer",
    [
        TextAnalyzer(stop_words=["the"], stemmer="english"),
        TextAnalyzer(lowercase=False),
        TextAnalyzer(tokenizer="jieba"),
        {"type": "english"},
        {
            "tokenizer": "standard",
            "filter": ["lowercase", {"type": "stop", "stop_words": ["_english_"]}],
        },
        {"tokenizer": "standard", "filter": ["lowercase", {"type": "stop"}]},
    ],
    ids=["stemmer", "case-kept", "jieba", "english", "named-list", "default-list"],
)
def test_an_analyzer_whose_terms_the_engine_ignores_is_refused(
    uri: str, collection_name: str, analyzer: object
) -> None:
    """A hostile review found Milvus Lite 3.2.2 matching its own terms (the standard
    tokenizer's, lower-cased) whatever the field's analyzer: `text_match("the")` found
    "the quick brown fox" where the stemming analyzer drops "the", and a delete by it
    deleted that row; "FOX" found "fox" with `lowercase=False`; "北京" found nothing with
    jieba. Where TEXT_MATCH uses the analyzer (servers) the filter runs; on Lite 3 it
    raises before any row is read or deleted."""
    store = _store(uri, collection_name, text_match=True, analyzer=analyzer)
    try:
        if not store.capabilities.text_match:
            with pytest.raises(UnsupportedByServerError):
                store.upsert(_records())
            return
        store.upsert(_records())
        assert not store.capabilities.text_match_analyzer  # only Milvus Lite 3 here
        for node in (text_match("the"), not_(text_match("FOX")), text_match("北京")):
            with pytest.raises(UnsupportedByServerError, match="not this analyzer's"):
                store.query(node)
            with pytest.raises(UnsupportedByServerError, match="not this analyzer's"):
                store.delete(filter=node)
        assert store.count() == len(TEXTS)
    finally:
        store.close()


def test_a_delete_every_row_meets_is_refused_whatever_its_tree(lite_uri: str) -> None:
    """A hostile review: `delete(filter=not_(text_match("the an")))` with those stop words
    compiled to `true` and deleted every row, past the refusal of filters that match
    every row by their structure (the tree alone does not show it). Constants are now
    folded through and/or, and a delete whose filter compiles to "every row" is refused."""
    analyzer = TextAnalyzer(stop_words=["the", "an", "in"])
    store = _store(lite_uri, "c", text_match=True, analyzer=analyzer)
    try:
        store.upsert(_records())
        for node in (
            not_(text_match("the an")),
            and_(not_(text_match("the"))),
            or_(eq("n", 1), not_(text_match("in"))),
        ):
            assert store.count(node) == len(TEXTS)  # reads keep their meaning
            with pytest.raises(InvalidInputError, match="matches every row"):
                store.delete(filter=node)
        assert store.count() == len(TEXTS)
        # Folded away where it decides nothing: only the rows the rest selects go.
        assert store.delete(filter=and_(eq("n", 1), not_(text_match("the")))) == 1
        assert store.delete(filter=or_(eq("n", 2), text_match("the"))) == 1
        assert store.count() == len(TEXTS) - 2
    finally:
        store.close()


def test_another_tools_text_field_is_matched_with_its_own_analyzer(lite_uri: str) -> None:
    """A collection in langchain-milvus' layout whose text field another client created
    for text match with the english analyzer: adopted as the standard analyzer, the Lite 3
    check passed and `text_match("the")` found (and deleted) "the quick brown fox". The
    field's analyzer is now read from the collection."""
    text = {"enable_analyzer": True, "enable_match": True, "analyzer_params": {"type": "english"}}
    _langchain_layout(lite_uri, text, [{"text": "the quick brown fox", "vector": [1.0, 2.0]}])
    with MilvusStore(CollectionSpec(name="lc"), connection=ConnectionConfig(uri=lite_uri)) as store:
        assert store.count() == 1  # opens it
        assert store.spec.layout is not None and store.spec.text_match
        assert store.spec.analyzer_params == {"type": "english"}
        with pytest.raises(UnsupportedByServerError, match="not this analyzer's"):
            store.delete(filter=text_match("the"))
        assert store.count() == 1


def test_a_delete_of_ids_no_integer_key_spells_is_no_delete_all(lite_uri: str) -> None:
    """A review of the folding above: on a collection with integer keys (langchain-milvus'
    auto_id layout) an id no key spells ("abc", "01") names no row, so `not_(id_in([...]))`
    compiled to `(not false)` and the delete emptied the collection. A constant leaf is
    folded with its negation now, and the delete refused."""
    rows = [{"text": f"t{i}", "vector": [1.0, float(i)], "n": i} for i in range(5)]
    _langchain_layout(lite_uri, {}, rows)
    with MilvusStore(CollectionSpec(name="lc"), connection=ConnectionConfig(uri=lite_uri)) as store:
        for node in (not_(id_in(["abc"])), or_(eq("n", 1), not_(id_in(["01"])))):
            assert store.count(node) == 5
            with pytest.raises(InvalidInputError, match="matches every row"):
                store.delete(filter=node)
        assert store.delete(filter=and_(eq("n", 1), not_(id_in(["abc"])))) == 1
        assert store.count() == 4


def _langchain_layout(uri: str, text: dict[str, object], rows: list[dict[str, object]]) -> None:
    """Collection ``lc`` in langchain-milvus' auto_id layout (INT64 ``pk``, ``text``,
    ``vector``, a dynamic field), its text field made with ``text``, holding ``rows``."""
    client = MilvusClient(uri=uri)
    try:
        schema = client.create_schema(auto_id=True, enable_dynamic_field=True)
        schema.add_field("pk", DataType.INT64, is_primary=True)
        schema.add_field("text", DataType.VARCHAR, max_length=1000, **text)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=2)
        index = client.prepare_index_params()
        index.add_index("vector", index_type="FLAT", metric_type="L2")
        client.create_collection("lc", schema=schema, index_params=index)
        client.insert("lc", rows)
    finally:
        client.close()
