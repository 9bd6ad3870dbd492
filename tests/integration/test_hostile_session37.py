"""A hostile user's findings of 2026-12-07 (RELIABILITY row 126), each fixed here.

* Filters nested far beyond any real one (a dict, a core tree, LlamaIndex
  ``MetadataFilters``, the CLI's ``--filter``) failed with Python's ``RecursionError``;
  they are refused with :class:`FilterError` (the CLI: exit code 2) before any I/O, and
  a filter at the limit still runs, with its meaning, on every engine.
* A keyword or hybrid query text holding a lone surrogate was embedded, then failed in
  pymilvus' encoder with a message naming neither field nor fix.
* ``reindex`` crashed with ``ValueError`` after copying every row when ``embed`` returned
  a 2-D numpy array; ``on_progress=5`` failed after copying; an alias named ``docs_v2``
  made the default target its own name, which could not be used.
* The error for a field named like a filter word named a function that does not exist.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import (
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
)
from pymilvus import DataType, MilvusClient

from milvus_plugins.cli import main as cli_main
from milvus_plugins.core import (
    MAX_FILTER_DEPTH,
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    FilterError,
    InvalidInputError,
    MilvusOperationError,
    MilvusStore,
    Record,
    eq,
    filter_from_dict,
    matches,
    not_,
    point_alias,
    reindex,
    resolve_alias,
)
from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

DIM = 8


def _vec(i: int) -> list[float]:
    rng = np.random.default_rng(i)
    return [float(x) for x in rng.standard_normal(DIM)]


def _nested_dict(levels: int) -> dict[str, Any]:
    """``a == 1`` wrapped in ``levels`` ``$and`` levels (each with ``a == 1`` beside it)."""
    spec: dict[str, Any] = {"a": 1}
    for _ in range(levels):
        spec = {"$and": [spec, {"a": 1}]}
    return spec


def _store(uri: str, name: str = "deep", sparse: str = "none") -> MilvusStore:
    spec = CollectionSpec(name=name, dim=DIM, sparse=sparse)
    store = MilvusStore(spec, connection=ConnectionConfig(uri=uri))
    store.upsert(
        [
            Record(id=f"r{i}", text=f"word{i} common", vector=_vec(i), metadata={"a": i % 2})
            for i in range(6)
        ]
    )
    return store


# -- nesting ---------------------------------------------------------------------------


def test_a_core_tree_deeper_than_the_limit_is_refused_when_built() -> None:
    tree = eq("a", 1)
    for _ in range(MAX_FILTER_DEPTH - 1):
        tree = not_(tree)  # at the limit: fine
    with pytest.raises(FilterError, match="levels deep"):
        not_(tree)
    with pytest.raises(FilterError, match="levels deep"):
        _ = tree & eq("b", 2)


def test_a_filter_dict_nested_a_thousand_levels_is_a_filter_error() -> None:
    with pytest.raises(FilterError, match="flatten"):
        filter_from_dict(_nested_dict(1000))
    with pytest.raises(FilterError, match="flatten"):
        filter_from_dict(_nested_dict(MAX_FILTER_DEPTH))


def test_a_deep_filter_keeps_its_meaning_or_is_refused_on_every_engine(
    backend_uri: str, collection_name: str
) -> None:
    """20 levels run everywhere. The C++ engines (the 2.3.5 server, Milvus Lite 2.5.1)
    turn a filter into a protobuf plan with a nesting limit (about 45 levels here; a chain
    of 60 or-ed conditions is as deep): beyond it they refuse the whole call, which is a
    FilterError naming the fix, and a delete then deletes nothing."""
    store = _store(backend_uri, collection_name)
    try:
        rows = {r.id: r for r in store.query(None)}
        for levels in (20, MAX_FILTER_DEPTH - 2):
            tree = filter_from_dict(_nested_dict(levels))
            expected = sorted(i for i, r in rows.items() if matches(tree, r.metadata))
            assert expected == ["r1", "r3", "r5"]
            try:
                found = sorted(r.id for r in store.query(tree))
            except FilterError as exc:
                assert levels > 20, exc
                assert "flatten" in str(exc)
                with pytest.raises(FilterError):
                    store.search(_vec(0), k=6, filter=tree)
                with pytest.raises(FilterError):
                    store.delete(filter=tree)
                assert sorted(r.id for r in store.query(None)) == sorted(rows)
                continue
            assert found == expected
            try:
                assert sorted(h.id for h in store.search(_vec(0), k=6, filter=tree)) == expected
            except FilterError as exc:  # the 2.3.5 server's search plan is deeper
                assert levels > 20, exc
        tree = filter_from_dict(_nested_dict(20))
        store.delete(filter=tree)
        assert sorted(r.id for r in store.query(None)) == ["r0", "r2", "r4"]
    finally:
        store.drop()
        store.close()


def test_deep_filters_through_the_adapters_change_nothing(tmp_path: Path) -> None:
    uri = str(tmp_path / "deep.db")
    lang = LangChainStore(DeterministicFakeEmbedding(size=DIM), uri=uri, collection_name="lc")
    lang.add_texts(["x", "y"], metadatas=[{"a": 1}, {"a": 2}], ids=["x", "y"])
    deep = _nested_dict(1000)
    with pytest.raises(FilterError):
        lang.similarity_search("x", filter=deep)
    with pytest.raises(FilterError):
        lang.delete(filter=deep)
    assert sorted(d.id or "" for d in lang.get_by_ids(["x", "y"])) == ["x", "y"]

    llama = LlamaStore(uri=uri, collection_name="li", dim=DIM)
    llama.add([TextNode(id_="n1", text="t", embedding=_vec(1), metadata={"a": 1})])
    filters = MetadataFilters(filters=[MetadataFilter(key="a", value=1)])
    for _ in range(MAX_FILTER_DEPTH + 5):
        filters = MetadataFilters(filters=[filters, MetadataFilter(key="a", value=1)])
    query = VectorStoreQuery(query_embedding=_vec(1), similarity_top_k=2, filters=filters)
    with pytest.raises(FilterError, match="nest"):
        llama.query(query)
    with pytest.raises(FilterError, match="nest"):
        llama.delete_nodes(filters=filters)
    assert [n.id_ for n in llama.get_nodes(node_ids=["n1"])] == ["n1"]
    lang.close()
    llama.close()


def test_the_cli_refuses_a_deep_filter_with_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = str(tmp_path / "cli.db")
    _store(uri, "notes").close()
    text = '{"$and": [' * 1000 + '{"a": 1}' + "]}" * 1000
    assert len(text) > sys.getrecursionlimit()
    out = io.StringIO()
    code = cli_main(["search", "hi", "--collection", "notes", "--uri", uri, "--filter", text], out)
    printed = out.getvalue() + capsys.readouterr().err
    assert code == 2, printed
    assert "--filter" in printed and "Traceback" not in printed
    # A filter the decoder reads but nests too deep for a filter: the same exit code.
    out = io.StringIO()
    code = cli_main(
        [
            "search",
            "hi",
            "--collection",
            "notes",
            "--uri",
            uri,
            "--filter",
            json.dumps(_nested_dict(200)),
        ],
        out,
    )
    printed = out.getvalue() + capsys.readouterr().err
    assert code == 2, printed
    assert "flatten" in printed


# -- lone surrogates in keyword query texts ---------------------------------------------


class _CountingEmbedding(DeterministicFakeEmbedding):
    calls: int = 0

    def embed_query(self, text: str) -> list[float]:
        type(self).calls += 1
        return super().embed_query(text)


def test_a_keyword_query_with_a_lone_surrogate_is_refused_before_embedding(
    tmp_path: Path,
) -> None:
    uri = str(tmp_path / "surrogate.db")
    store = _store(uri, "s", sparse="bm25")
    for call in (
        lambda: store.sparse_search("word1 \udc80"),
        lambda: store.hybrid_search(_vec(1), "word1 \udc80"),
        lambda: store.retrieve(mode="sparse", text="\udc80"),
    ):
        with pytest.raises(InvalidInputError, match=r"query: .*lone surrogate"):
            call()
    store.close()
    model = _CountingEmbedding(size=DIM)
    lang = LangChainStore(model, uri=uri, collection_name="s", retrieval_mode="hybrid")
    _CountingEmbedding.calls = 0
    with pytest.raises(InvalidInputError, match="lone surrogate"):
        lang.similarity_search("word1 \udc80")
    assert _CountingEmbedding.calls == 0
    lang.close()


# -- reindex -----------------------------------------------------------------------------


@pytest.fixture
def aliased(tmp_path: Path) -> tuple[ConnectionConfig, str]:
    connection = ConnectionConfig(uri=str(tmp_path / "reindex.db"))
    store = MilvusStore(CollectionSpec(name="docs", dim=DIM), connection=connection)
    store.upsert([Record(id=f"r{i}", text=f"row {i}", vector=_vec(i)) for i in range(30)])
    store.close()
    point_alias(connection, "live", "docs")
    return connection, "live"


def _names(connection: ConnectionConfig) -> list[str]:
    client = MilvusClient(uri=connection.uri)
    try:
        return sorted(client.list_collections())
    finally:
        client.close()


def test_reindex_takes_an_embed_function_returning_a_numpy_array(
    aliased: tuple[ConnectionConfig, str],
) -> None:
    connection, alias = aliased

    def embed(texts: list[str]) -> np.ndarray:
        return np.stack([np.asarray(_vec(len(t)), dtype=np.float32) for t in texts])

    report = reindex(connection, alias, embed=embed, min_recall=0.5)  # type: ignore[arg-type]
    assert report.rows == 30 and report.current == "live_v2"
    assert resolve_alias(connection, alias) == "live_v2"


def test_reindex_refuses_a_progress_callback_that_cannot_be_called_before_copying(
    aliased: tuple[ConnectionConfig, str],
) -> None:
    connection, alias = aliased
    before = _names(connection)
    with pytest.raises(ConfigError, match="on_progress"):
        reindex(connection, alias, on_progress=5)  # type: ignore[arg-type]
    assert _names(connection) == before
    assert resolve_alias(connection, alias) == "docs"


def test_reindex_of_an_alias_named_like_a_version_picks_a_free_name(
    aliased: tuple[ConnectionConfig, str],
) -> None:
    connection, _ = aliased
    point_alias(connection, "docs_v2", "docs")
    point_alias(connection, "docs_v3", "docs")  # another alias on the next name
    report = reindex(connection, "docs_v2", min_recall=0.5)
    assert report.current == "docs_v4"
    assert resolve_alias(connection, "docs_v2") == "docs_v4"
    assert resolve_alias(connection, "docs_v3") == "docs"


# -- the advice for a field named like a filter word -----------------------------------


def test_a_field_named_like_a_filter_word_names_a_fix_that_exists(tmp_path: Path) -> None:
    uri = str(tmp_path / "word.db")
    client = MilvusClient(uri=uri)
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("pk", DataType.VARCHAR, max_length=64, is_primary=True)
    schema.add_field("text", DataType.VARCHAR, max_length=64)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=4)
    schema.add_field("true", DataType.INT64)
    index = client.prepare_index_params()
    index.add_index("vector", metric_type="COSINE", index_type="FLAT")
    client.create_collection("src", schema=schema, index_params=index)
    client.insert("src", [{"pk": "p1", "text": "t", "vector": [1, 0, 0, 1], "true": 1}])
    client.flush("src")
    client.close()
    store = MilvusStore(CollectionSpec(name="src"), connection=ConnectionConfig(uri=uri))
    with pytest.raises(FilterError, match=r"milvus_plugins\.core\.migrate") as refused:
        store.query(eq("true", 1))
    import milvus_plugins.core as core

    assert callable(core.migrate), str(refused.value)
    store.close()


# -- the attack on these fixes (helper, same day) ---------------------------------------


def test_a_chain_of_conditions_built_with_operators_stays_shallow(tmp_path: Path) -> None:
    """``functools.reduce(operator.or_, ...)`` of 100 conditions ran before the nesting
    limit; ``|`` and ``&`` now flatten, so it still does, with the same rows."""
    import functools
    import operator

    store = _store(str(tmp_path / "chain.db"), "chain")
    try:
        rows = {r.id: r for r in store.query(None)}
        wide = functools.reduce(operator.or_, [eq("a", i) for i in range(1, 101)])
        narrow = functools.reduce(operator.and_, [not_(eq("a", i)) for i in range(1, 101)])
        for tree in (wide, narrow, eq("a", 0) | (eq("a", 1) | eq("a", 5))):
            expected = sorted(i for i, r in rows.items() if matches(tree, r.metadata))
            assert sorted(r.id for r in store.query(tree)) == expected
        assert sorted(r.id for r in store.query(wide)) == ["r1", "r3", "r5"]
    finally:
        store.close()


def test_the_too_deep_words_inside_a_string_literal_do_not_make_a_filter_error(
    tmp_path: Path,
) -> None:
    """An escaped quote used to cut a literal short, so a value's words were read as
    Milvus' own: an unknown field became "the filter nests too deeply"."""
    store = _store(str(tmp_path / "words.db"), "words")
    try:
        for raw in (
            'nosuchfield == "x\\" maximum recursion depth exceeded \\"y"',
            "nosuchfield == 'x\\' unsupported expr proto node \\'y'",
        ):
            with pytest.raises(MilvusOperationError) as raised:
                store.query(raw)
            assert not isinstance(raised.value, FilterError), raised.value
        assert store.count() == 6
    finally:
        store.close()
