"""Hostile-user attack on commit 528046f: empty/blank text stored as given, client sparse
vectors checked before any write.

Every path an empty or blank text (or an odd sparse vector) can take: core writes in every
mode (streamed ones too), reads, dense/sparse/hybrid searches, text_match filters,
grouping, MMR, export/import, migrate, reindex, client sparse query vectors, and both
adapters compared with their reference stores (LangChain ``InMemoryVectorStore``,
LlamaIndex ``SimpleVectorStore``). Tests marked ``# DEFECT:`` assert the correct
behaviour and are expected to fail on the code as reviewed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.documents import Document as LCDocument
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.indexing import InMemoryRecordManager, index
from langchain_core.vectorstores import InMemoryVectorStore
from llama_index.core import Document, StorageContext, VectorStoreIndex
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores import SimpleVectorStore
from llama_index.core.vector_stores.types import VectorStoreQuery, VectorStoreQueryMode
from pymilvus import MilvusClient
from tests.llama_index.conftest import KeywordEmbedding

from milvus_plugins.core import (
    AsyncMilvusStore,
    BM25Encoder,
    CollectionSpec,
    ConnectionConfig,
    ExportFileError,
    Grouping,
    InvalidInputError,
    MilvusPluginsError,
    MilvusStore,
    Record,
    eq,
    export_collection,
    import_collection,
    migrate,
    phrase_match,
    point_alias,
    reindex,
    text_match,
)
from milvus_plugins.core.exceptions import UnsupportedByServerError
from milvus_plugins.langchain import MilvusVectorStore as LCMilvus
from milvus_plugins.llama_index import MilvusVectorStore as LIMilvus

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

TEXTS = {"e": "", "b": "  \n", "t": "\t", "h": "hello world", "f": "foo bar"}
VECS = {"e": [1.0, 0.0], "b": [0.9, 0.1], "t": [0.8, 0.2], "h": [0.0, 1.0], "f": [0.1, 0.9]}


def _records(doc: bool = False) -> list[Record]:
    return [
        Record(
            id=key,
            text=text,
            vector=VECS[key],
            metadata={"k": key, "blank": not text.strip()},
            doc_id=("blank" if not text.strip() else "full") if doc else "",
        )
        for key, text in TEXTS.items()
    ]


def _store(uri: str, name: str, encoder: Any = None, **spec: Any) -> MilvusStore:
    return MilvusStore(
        CollectionSpec(name=name, dim=2, **spec),
        connection=ConnectionConfig(uri=uri),
        sparse_encoder=encoder,
    )


def _texts(records: list[Record]) -> dict[str, str]:
    return {r.id: r.text for r in records}


# =====================================================================================
# Core, dense: every write mode, reads, deletes
# =====================================================================================


@pytest.mark.parametrize("mode", ["auto", "upsert", "insert"])
def test_core_write_modes_store_blank_texts_exactly(lite_uri: str, mode: str) -> None:
    store = _store(lite_uri, "modes")
    try:
        store.upsert(_records(), mode=mode)
        assert _texts(store.get(list(TEXTS))) == TEXTS
        assert _texts(store.query()) == TEXTS
        assert {h.id for h in store.search([1.0, 0.0], k=10)} == set(TEXTS)
        assert store.search([1.0, 0.0], k=1)[0].id == "e"
        # filter on metadata of blank rows, then exact delete by filter and by id
        assert {r.id for r in store.query(eq("blank", True))} == {"e", "b", "t"}
        store.delete(filter=eq("k", "b"))
        store.delete(ids=["e"])
        assert _texts(store.query()) == {"t": "\t", "h": "hello world", "f": "foo bar"}
        # an upsert that overwrites a full text with an empty one, and back
        store.upsert([Record(id="h", text="", vector=[0.0, 1.0])], mode="upsert")
        assert _texts(store.get(["h"])) == {"h": ""}
    finally:
        store.close()


def test_core_streamed_write_with_blank_texts_in_later_chunk(lite_uri: str) -> None:
    store = _store(lite_uri, "stream")
    seen: list[list[str]] = []

    def embed(texts: list[str]) -> list[list[float]]:
        seen.append(list(texts))
        return [[1.0, float(len(t))] for t in texts]

    try:
        recs = [Record(id=f"r{i}", text="x" * i if i < 4 else " " * (i - 4)) for i in range(7)]
        ids = store.upsert(recs, embed=embed, batch_rows=2)
        assert ids == [f"r{i}" for i in range(7)]
        assert [t for chunk in seen for t in chunk] == [r.text for r in recs]
        got = _texts(store.get(ids))
        assert got == {r.id: r.text for r in recs}
    finally:
        store.close()


def test_async_store_blank_texts_round_trip(lite_uri: str) -> None:
    async def run() -> None:
        store = AsyncMilvusStore(_store(lite_uri, "async_blank"))
        try:
            await store.upsert(_records(), mode="insert")
            assert _texts(await store.get(list(TEXTS))) == TEXTS
            hits = await store.search([1.0, 0.0], k=10)
            assert {h.id for h in hits} == set(TEXTS)
            await store.delete(ids=["e", "b"])
            assert _texts(await store.query()) == {k: TEXTS[k] for k in ("t", "h", "f")}
        finally:
            await store.close()

    asyncio.run(run())


def test_core_mmr_and_grouping_over_blank_texts(lite_uri: str) -> None:
    store = _store(lite_uri, "mmr")
    try:
        store.upsert(_records(doc=True))
        mmr = store.mmr_search([1.0, 0.0], k=5, fetch_k=5)
        assert {h.id for h in mmr} == set(TEXTS)
        assert {h.id: h.record.text for h in mmr} == TEXTS
        groups = store.search([1.0, 0.0], k=2, grouping=Grouping())
        assert [h.id for h in groups] == ["e", "f"]
        by_meta = store.search([1.0, 0.0], k=5, grouping=Grouping(by="blank"))
        assert [h.id for h in by_meta] == ["e", "f"]
    finally:
        store.close()


# =====================================================================================
# Core, server BM25 + text_match on one shared Lite collection
# =====================================================================================


@pytest.fixture(scope="module")
def bm25(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MilvusStore]:
    uri = str(tmp_path_factory.mktemp("bm25") / "m.db")
    store = _store(uri, "bm25", sparse="bm25", text_match=True)
    store.upsert(_records(doc=True))
    yield store
    store.close()


def test_bm25_blank_rows_stored_and_not_keyword_matched(bm25: MilvusStore) -> None:
    assert _texts(bm25.get(list(TEXTS))) == TEXTS
    assert [h.id for h in bm25.sparse_search("hello", k=10)] == ["h"]
    assert {h.id for h in bm25.hybrid_search([1.0, 0.0], "hello", k=10)} == set(TEXTS)
    assert bm25.hybrid_search([1.0, 0.0], "hello", k=1, fusion="server")[0].id in {"e", "h"}


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        (text_match("hello"), {"h"}),
        (text_match("hello foo"), {"h", "f"}),
        (text_match("zzz"), set()),
    ],
)
def test_text_match_never_matches_blank_rows(bm25: MilvusStore, flt: Any, expected: Any) -> None:
    assert {r.id for r in bm25.query(flt)} == expected
    assert {h.id for h in bm25.search([1.0, 0.0], k=10, filter=flt)} == expected
    assert {h.id for h in bm25.sparse_search("hello foo", k=10, filter=flt)} <= expected


def test_phrase_match_on_lite_is_typed(bm25: MilvusStore) -> None:
    with pytest.raises(UnsupportedByServerError):
        bm25.query(phrase_match("hello world"))


@pytest.mark.parametrize("flt", ["", " ", "\n"])
def test_text_match_of_blank_query_is_typed_or_empty(bm25: MilvusStore, flt: str) -> None:
    try:
        rows = bm25.query(text_match(flt))
    except MilvusPluginsError:
        return
    assert rows == []


@pytest.mark.parametrize("query", ["", "  \n"])
def test_bm25_blank_keyword_query_is_typed_or_filter_only(bm25: MilvusStore, query: str) -> None:
    try:
        hits = bm25.sparse_search(query, k=10)
    except InvalidInputError:
        pass
    else:
        assert {h.id for h in hits} <= set(TEXTS)
    hits = bm25.retrieve(mode="sparse", text=query, k=10)  # documented: filter-only
    assert {h.id for h in hits} == set(TEXTS)
    with pytest.raises(InvalidInputError):  # documented: hybrid needs a text with a vector
        bm25.retrieve(mode="hybrid", vector=[1.0, 0.0], text=query, k=10)
    with pytest.raises(InvalidInputError):
        bm25.hybrid_search([1.0, 0.0], query, k=10)


def test_bm25_grouping_and_delete_by_text_match(tmp_path: Path) -> None:
    store = _store(str(tmp_path / "g.db"), "g", sparse="bm25", text_match=True)
    try:
        store.upsert(_records(doc=True))
        grouped = store.sparse_search("hello foo", k=5, grouping=Grouping())
        assert [h.id for h in grouped] == ["h"] or [h.id for h in grouped] == ["f"]
        store.delete(filter=text_match("hello"))
        assert set(_texts(store.query())) == {"e", "b", "t", "f"}
        store.delete(filter=eq("blank", True))
        assert _texts(store.query()) == {"f": "foo bar"}
    finally:
        store.close()


# =====================================================================================
# Core, client sparse vectors: writes and query vectors
# =====================================================================================


@pytest.fixture(scope="module")
def client_sparse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MilvusStore]:
    uri = str(tmp_path_factory.mktemp("cs") / "m.db")
    encoder = BM25Encoder().fit(["hello world", "foo bar", "baz"])
    store = _store(uri, "cs", encoder, sparse="client")
    store.upsert(
        [
            Record(id="h", text="hello world", vector=[0.0, 1.0]),
            Record(id="f", text="foo bar", vector=[1.0, 0.0]),
        ]
    )
    yield store
    store.close()


def _ids(store: MilvusStore) -> set[str]:
    return {r.id for r in store.query()}


def _fresh_client_sparse(tmp_path: Path, name: str = "cs") -> MilvusStore:
    encoder = BM25Encoder().fit(["hello world", "foo bar", "baz"])
    store = _store(str(tmp_path / "f.db"), name, encoder, sparse="client")
    store.upsert([Record(id="h", text="hello world", vector=[0.0, 1.0])])
    return store


def _keyword_ids(store: MilvusStore, text: str) -> set[str]:
    assert store.sparse_encoder is not None
    (query,) = store.sparse_encoder.encode_queries([text])
    return {h.id for h in store.sparse_search(query, k=10)}


# DEFECT (fixed): a client-sparse text without terms was refused (or failed mid-write).
# It is stored with no terms, as the reference stores keep any text: a keyword search does
# not find it, a dense search does, and its sparse vector reads back as {}.
@pytest.mark.parametrize("text", ["", "  \n", "!!!", "---"])
@pytest.mark.parametrize("mode", ["upsert", "insert"])
def test_client_sparse_text_without_terms_is_stored(tmp_path: Path, text: str, mode: str) -> None:
    store = _fresh_client_sparse(tmp_path)
    try:
        store.upsert([Record(id="x", text=text, vector=[1.0, 1.0])], mode=mode)
        (got,) = store.get(["x"], include_vectors=True)
        assert got.text == text and got.sparse == {}
        assert _keyword_ids(store, "hello world") == {"h"}
        assert "x" in {h.id for h in store.search([1.0, 1.0], k=5)}
    finally:
        store.close()


def _embed_ones(texts: list[str]) -> list[list[float]]:
    return [[1.0, 1.0] for _ in texts]


# DEFECT (fixed): a termless text in a later streamed chunk was refused after rows were written.
def test_client_sparse_termless_text_in_later_streamed_chunk(tmp_path: Path) -> None:
    encoder = BM25Encoder().fit(["hello world", "foo bar"])
    store = _store(str(tmp_path / "t.db"), "cs", encoder, sparse="client")
    lc = LCMilvus(
        DeterministicFakeEmbedding(size=2),
        uri=str(tmp_path / "t.db"),
        collection_name="lc",
        retrieval_mode="hybrid",
        sparse=encoder,
    )
    try:
        recs = [Record(id=f"p{i}", text=f"word{i}") for i in range(4)]
        recs += [Record(id="p4", text="?!"), Record(id="p5", text="")]
        assert store.upsert(recs, embed=_embed_ones, batch_rows=2) == [r.id for r in recs]
        assert store.count() == 6
        lc.add_texts(["one", "two", "three", "four", "?!"], ids=list("abcde"), batch_size=2)
        assert [d.page_content for d in lc.get_by_ids(["e"])] == ["?!"]
    finally:
        store.close()


def test_client_sparse_explicit_vector_checks(client_sparse: MilvusStore) -> None:
    good = Record(id="g", text="good", vector=[1.0, 1.0], sparse={5: 0.5})
    for bad in ({1: -1.0}, {1: math.nan}, {2**40: 1.0}, {"1": 1.0}, {1: "x"}, {1: 10**400}):
        with pytest.raises(InvalidInputError):
            client_sparse.upsert([good, Record(id="x", text="t", vector=[1, 1], sparse=bad)])
    assert _ids(client_sparse) == {"h", "f"}


@pytest.mark.parametrize(
    "query",
    [{}, {1: 0.0}, {1: -1.0}, {1: math.nan}, {1: math.inf}, {2**40: 1.0}, {-3: 1.0}],
    ids=["empty", "zero", "negative", "nan", "inf", "huge-index", "negative-index"],
)
def test_client_sparse_bad_query_vector_is_typed(client_sparse: MilvusStore, query: Any) -> None:
    for run in (
        lambda: client_sparse.sparse_search(query, k=3),
        lambda: client_sparse.hybrid_search([1.0, 0.0], query, k=3),
        lambda: client_sparse.hybrid_search([1.0, 0.0], query, k=3, fusion="server"),
    ):
        try:
            hits = run()
        except MilvusPluginsError:
            continue
        assert {h.id for h in hits} <= {"h", "f"}


# DEFECT (fixed): a huge int sparse weight ({1: 10**400}) was a bare OverflowError.
def test_client_sparse_write_with_huge_int_weight_is_typed(client_sparse: MilvusStore) -> None:
    good = Record(id="g", text="good", vector=[1.0, 1.0], sparse={5: 0.5})
    bad = Record(id="x", text="t", vector=[1.0, 1.0], sparse={1: 10**400})
    with pytest.raises(InvalidInputError, match="weight"):
        client_sparse.upsert([good, bad])
    assert _ids(client_sparse) == {"h", "f"}


# DEFECT (fixed): odd client sparse query dicts were bare ValueError/TypeError/OverflowError.
def test_client_sparse_query_with_non_numeric_entries_is_typed(client_sparse: MilvusStore) -> None:
    for query in ({"x": 1.0}, {1: "x"}, {1: 1 + 0j}, {1: [1.0]}, {1: 10**400}):
        with pytest.raises(InvalidInputError):
            client_sparse.sparse_search(query, k=3)
        with pytest.raises(InvalidInputError):
            client_sparse.hybrid_search([1.0, 0.0], query, k=3)


def test_client_sparse_blank_text_query(client_sparse: MilvusStore) -> None:
    for query in ("", "  ", "!!!"):
        try:
            hits = client_sparse.sparse_search(query, k=3)
        except InvalidInputError:
            continue
        assert hits == []
    hits = client_sparse.retrieve(mode="sparse", text="", k=3)  # documented: filter-only
    assert {h.id for h in hits} == {"h", "f"}


# =====================================================================================
# Export / import, migrate, reindex
# =====================================================================================


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_export_import_round_trip_keeps_blank_texts(tmp_path: Path, fmt: str) -> None:
    uri = str(tmp_path / "x.db")
    source = _store(uri, "src", sparse="bm25")
    try:
        source.upsert(_records(doc=True))
        path = tmp_path / f"dump.{fmt}"
        export_collection(source, path, batch_rows=2)
        import_collection(path, "dst", connection=ConnectionConfig(uri=uri), batch_rows=2)
        target = _store(uri, "dst", sparse="bm25")
        try:
            assert _texts(target.query()) == TEXTS
            assert [h.id for h in target.sparse_search("hello", k=10)] == ["h"]
        finally:
            target.close()
    finally:
        source.close()


def test_migrate_keeps_blank_texts(tmp_path: Path) -> None:
    uri = str(tmp_path / "m.db")
    source = _store(uri, "src")
    target = _store(uri, "dst", sparse="bm25")
    try:
        source.upsert(_records(doc=True))
        migrate(source, target, batch_rows=2, sample=5, queries=2, k=3)
        assert _texts(target.query()) == TEXTS
        assert [h.id for h in target.sparse_search("foo", k=10)] == ["f"]
    finally:
        source.close()
        target.close()


def test_migrate_blank_texts_into_client_sparse_target_loses_nothing(tmp_path: Path) -> None:
    uri = str(tmp_path / "m.db")
    source = _store(uri, "src")
    encoder = BM25Encoder().fit(TEXTS.values())
    target = _store(uri, "dst", encoder, sparse="client")
    try:
        source.upsert(_records(doc=True))
        migrate(source, target, batch_rows=2)
        assert _texts(source.query()) == TEXTS  # the source is untouched
        assert _texts(target.query()) == TEXTS
    finally:
        source.close()
        target.close()


@pytest.mark.parametrize("edit", ["negative-sparse", "string-sparse"])
def test_import_of_edited_client_sparse_file_refused_before_write(
    tmp_path: Path, edit: str
) -> None:
    uri = str(tmp_path / "i.db")
    encoder = BM25Encoder().fit(["hello world", "foo"])
    source = _store(uri, "src", encoder, sparse="client")
    try:
        source.upsert([Record(id=f"r{i}", text=f"hello w{i}", vector=[1, i]) for i in range(4)])
        path = tmp_path / "e.jsonl"
        export_collection(source, path)
    finally:
        source.close()
    lines = path.read_text().splitlines()
    row = json.loads(lines[-2])  # the last row (the last line is the trailer)
    row["sparse"] = {"1": -1.0} if edit == "negative-sparse" else {"1": "x"}
    lines[-2] = json.dumps(row)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ExportFileError, match="line 5"):
        import_collection(path, "dst", connection=ConnectionConfig(uri=uri), batch_rows=1)
    client = MilvusClient(uri=uri)
    try:
        assert not client.has_collection("dst") or client.query("dst", limit=10) == []
    finally:
        client.close()


def test_reindex_with_embed_keeps_blank_texts(tmp_path: Path) -> None:
    uri = str(tmp_path / "r.db")
    connection = ConnectionConfig(uri=uri)
    source = _store(uri, "docs_v1", sparse="bm25")
    try:
        source.upsert(_records(doc=True))
        source.flush()
    finally:
        source.close()
    try:
        point_alias(connection, "docs", "docs_v1")
    except UnsupportedByServerError as exc:
        pytest.skip(str(exc))
    seen: list[str] = []

    def embed(texts: list[str]) -> list[list[float]]:
        seen.extend(texts)
        return [[1.0, float(len(t)) + 0.5] for t in texts]

    report = reindex(connection, "docs", embed=embed, embedding_model="m2", min_recall=0.0, k=3)
    assert all(seen.count(t) >= 1 for t in TEXTS.values())  # plus the fingerprint probe
    reader = _store(uri, report.current, sparse="bm25")
    try:
        assert _texts(reader.query()) == TEXTS
        assert [h.id for h in reader.sparse_search("hello", k=10)] == ["h"]
    finally:
        reader.close()


# =====================================================================================
# LangChain adapter vs InMemoryVectorStore
# =====================================================================================

LC_TEXTS = ["", " ", "  \n", "hello world"]


def _lc_contents(store: Any, ids: list[str]) -> dict[str, str]:
    return {d.id: d.page_content for d in store.get_by_ids(ids)}


def test_langchain_add_texts_blank_matches_reference(lite_uri: str) -> None:
    emb = DeterministicFakeEmbedding(size=4)
    ours, ref = LCMilvus(emb, uri=lite_uri, collection_name="lc"), InMemoryVectorStore(emb)
    ids = [f"i{i}" for i in range(len(LC_TEXTS))]
    for store in (ours, ref):
        assert store.add_texts(LC_TEXTS, ids=ids) == ids
    assert (
        _lc_contents(ours, ids) == _lc_contents(ref, ids) == dict(zip(ids, LC_TEXTS, strict=True))
    )
    docs = [LCDocument(id="d0", page_content="", metadata={"m": 1})]
    assert ours.add_documents(docs) == ref.add_documents(docs) == ["d0"]
    assert _lc_contents(ours, ["d0"]) == {"d0": ""}
    # dense search with the embedding of "" finds the empty rows first, as the reference
    assert ours.similarity_search_by_vector(emb.embed_query(""), k=1)[0].page_content == ""
    # a blank query is documented as a filter-only search
    got = ours.similarity_search("", k=10)
    assert {d.id for d in got} == set(ids) | {"d0"}
    ours.delete(["i0", "d0"])
    ref.delete(["i0", "d0"])
    assert _lc_contents(ours, ids) == _lc_contents(ref, ids)


def test_langchain_hybrid_store_blank_texts(lite_uri: str) -> None:
    emb = DeterministicFakeEmbedding(size=4)
    ours = LCMilvus(emb, uri=lite_uri, collection_name="lch", retrieval_mode="hybrid")
    ids = [f"i{i}" for i in range(len(LC_TEXTS))]
    ours.add_texts(LC_TEXTS, ids=ids)
    assert _lc_contents(ours, ids) == dict(zip(ids, LC_TEXTS, strict=True))
    assert [d.id for d in ours.similarity_search("hello", k=10, retrieval_mode="sparse")] == ["i3"]
    assert {d.id for d in ours.similarity_search("hello", k=10)} == set(ids)
    assert {d.id for d in ours.similarity_search(" ", k=10)} == set(ids)


def test_langchain_indexing_api_blank_docs_match_reference(lite_uri: str) -> None:
    emb = DeterministicFakeEmbedding(size=4)
    ours, ref = LCMilvus(emb, uri=lite_uri, collection_name="lci"), InMemoryVectorStore(emb)
    docs = [
        LCDocument(page_content=text, metadata={"source": f"s{i % 2}"})
        for i, text in enumerate(["", " ", "a", ""])
    ]
    managers = {}
    for name in ("o", "r"):
        managers[name] = InMemoryRecordManager(namespace=name)
        managers[name].create_schema()
    kw: dict[str, Any] = {"cleanup": "incremental", "source_id_key": "source"}
    got = index(docs, managers["o"], ours, **kw)
    want = index(docs, managers["r"], ref, **kw)
    assert got == want
    again = [LCDocument(page_content="  \n", metadata={"source": "s0"})]
    assert index(again, managers["o"], ours, **kw) == index(again, managers["r"], ref, **kw)
    ref_texts = sorted(d.page_content for d in ref.store.values() for d in [_lc_doc(d)])
    ours_texts = sorted(r.text for r in ours.store.query())
    assert ours_texts == ref_texts


def _lc_doc(entry: Any) -> Any:
    return LCDocument(page_content=entry["text"])


# =====================================================================================
# LlamaIndex adapter vs SimpleVectorStore
# =====================================================================================


def _nodes(embed: KeywordEmbedding) -> list[TextNode]:
    nodes = [
        TextNode(id_=f"n{i}", text=text, embedding=embed.get_text_embedding(text or "x"))
        for i, text in enumerate(["", "  \n", "hello world"])
    ]
    return nodes


def test_llama_add_empty_nodes_matches_reference(lite_uri: str) -> None:
    embed = KeywordEmbedding(embed_batch_size=16)
    ours = LIMilvus(uri=lite_uri, collection_name="li", dim=256, enable_sparse=True)
    ref = SimpleVectorStore()
    assert ours.add(_nodes(embed)) == ref.add(_nodes(embed))
    got = {n.node_id: n.get_content() for n in ours.get_nodes(node_ids=["n0", "n1", "n2"])}
    assert got == {"n0": "", "n1": "  \n", "n2": "hello world"}
    q = VectorStoreQuery(
        query_embedding=embed.get_query_embedding("x"), similarity_top_k=3, query_str=""
    )
    assert set(ours.query(q).ids or []) == set(ref.query(q).ids or [])
    for mode in (VectorStoreQueryMode.HYBRID, VectorStoreQueryMode.TEXT_SEARCH):
        hq = VectorStoreQuery(
            query_embedding=embed.get_query_embedding("x"),
            similarity_top_k=3,
            query_str="",
            mode=mode,
        )
        try:
            res = ours.query(hq)
        except MilvusPluginsError:
            continue
        assert set(res.ids or []) <= {"n0", "n1", "n2"}
    text_q = VectorStoreQuery(
        similarity_top_k=3, query_str="hello", mode=VectorStoreQueryMode.TEXT_SEARCH
    )
    assert ours.query(text_q).ids == ["n2"]


def test_llama_update_and_delete_ref_doc_with_empty_text(lite_uri: str) -> None:
    embed = KeywordEmbedding(embed_batch_size=16)
    results = {}
    for name, store in (
        ("ours", LIMilvus(uri=lite_uri, collection_name="lu", dim=256)),
        ("ref", SimpleVectorStore()),
    ):
        ctx = StorageContext.from_defaults(vector_store=store)
        idx = VectorStoreIndex.from_documents(
            [Document(id_="d1", text="first"), Document(id_="d2", text="second")],
            storage_context=ctx,
            embed_model=embed,
        )
        idx.update_ref_doc(Document(id_="d1", text=""))
        idx.update_ref_doc(Document(id_="d2", text="  \n"))
        retriever = idx.as_retriever(similarity_top_k=5)
        before = sorted(n.node.get_content() for n in retriever.retrieve("anything"))
        idx.delete_ref_doc("d1", delete_from_docstore=True)
        after = sorted(n.node.get_content() for n in retriever.retrieve("anything"))
        results[name] = (before, after)
    assert results["ours"] == results["ref"]


# DEFECT (fixed): client-sparse update_ref_doc to a blank or termless text lost the document.
def test_llama_client_sparse_update_ref_doc_blank_loses_nothing(lite_uri: str) -> None:
    embed = KeywordEmbedding(embed_batch_size=16)
    encoder = BM25Encoder().fit(["first", "second"])
    store = LIMilvus(
        uri=lite_uri, collection_name="lcs", dim=256, enable_sparse=True, sparse=encoder
    )
    idx = VectorStoreIndex.from_documents(
        [Document(id_="d1", text="first"), Document(id_="d2", text="second")],
        storage_context=StorageContext.from_defaults(vector_store=store),
        embed_model=embed,
    )
    for text in ("", "?!"):
        idx.update_ref_doc(Document(id_="d1", text=text))
        # As SimpleVectorStore keeps it: the new text stored (a text the splitter makes no
        # node of leaves none), the old one gone, nothing refused on the way.
        texts = [r.text for r in store.store.query() if r.doc_id == "d1"]
        assert texts in ([text], []) and "first" not in texts, (text, texts)


# =====================================================================================
# The Milvus 2.3.5 server (no BM25 function): dense and client sparse
# =====================================================================================


@pytest.mark.server
def test_server_blank_texts_dense_core_and_adapters(server_uri: str, collection_name: str) -> None:
    dense = _store(server_uri, collection_name + "_d")
    encoder = BM25Encoder().fit(["hello world", "foo bar"])
    sparse = _store(server_uri, collection_name + "_s", encoder, sparse="client")
    emb = DeterministicFakeEmbedding(size=4)
    lc = LCMilvus(emb, uri=server_uri, collection_name=collection_name + "_lc")
    try:
        dense.upsert(_records(doc=True), mode="insert")
        assert _texts(dense.get(list(TEXTS))) == TEXTS
        assert {h.id for h in dense.search([1.0, 0.0], k=10)} == set(TEXTS)
        assert {h.id for h in dense.mmr_search([1.0, 0.0], k=5, fetch_k=5)} == set(TEXTS)
        assert [h.id for h in dense.search([1.0, 0.0], k=2, grouping=Grouping())] == ["e", "f"]
        dense.delete(ids=["e"])
        dense.delete(filter=eq("k", "b"))
        assert set(_texts(dense.query())) == set(TEXTS) - {"e", "b"}
        # 2.3.5 has no sparse vectors: a typed refusal, blank text or not, nothing created
        for text in ("", "hello"):
            with pytest.raises((InvalidInputError, UnsupportedByServerError)):
                sparse.upsert([Record(id="x", text=text, vector=[1.0, 1.0])])
        with pytest.raises(MilvusPluginsError):
            sparse.sparse_search({1: -1.0}, k=3)
        ids = lc.add_texts(["", " ", "  \n", "hello"], ids=["a", "b", "c", "d"])
        assert _lc_contents(lc, ids) == {"a": "", "b": " ", "c": "  \n", "d": "hello"}
        assert {d.id for d in lc.similarity_search("", k=10)} == set(ids)
        lc.delete(["a"])
        assert set(_lc_contents(lc, ids)) == {"b", "c", "d"}
    finally:
        for store in (dense, sparse, lc.store):
            with contextlib.suppress(MilvusPluginsError):
                store.drop()
        dense.close()
        sparse.close()
