"""Collections made by langchain-milvus 0.4 and llama-index-vector-stores-milvus 1.x (the
real packages) are opened with just a uri and a collection name, read without
re-ingesting, and migrated into this package's layout; on Milvus Lite and the 2.3.5
server (which has no sparse vectors: the BM25 variants are made on Lite only).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pymilvus import DataType, MilvusClient
from tests.support.official_layouts import (
    DIM,
    DOCS,
    HOSTILE,
    hashed_vector,
    make_langchain_collections,
    make_llama_collections,
)

from milvus_plugins.cli import main as cli_main
from milvus_plugins.core import (
    AsyncMilvusStore,
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    FieldMapping,
    ForeignLayoutError,
    LayoutKind,
    MilvusStore,
    Record,
    SchemaMismatchError,
    UnsupportedByServerError,
    doc_id_in,
    eq,
    gt,
    id_in,
    migrate,
    migration_target_spec,
    not_,
)
from milvus_plugins.core.types import SparseMode

BY_TEXT = {d["text"]: d for d in DOCS}


@dataclass
class Foreign:
    """The collections the official packages made on one engine."""

    uri: str
    prefix: str
    sparse: bool

    def store(self, suffix: str, open_mode: str = "check", **spec: Any) -> MilvusStore:
        return MilvusStore(
            CollectionSpec(name=self.prefix + suffix, **spec),
            connection=ConnectionConfig(uri=self.uri),
            open_mode=open_mode,
        )


@pytest.fixture(scope="module", params=["lite", pytest.param("server", marks=pytest.mark.server)])
def foreign(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Foreign]:
    if request.param == "lite":
        uri = str(tmp_path_factory.mktemp("foreign") / "foreign.db")
    else:
        uri = request.getfixturevalue("milvus_server").uri
    with MilvusStore(CollectionSpec(name="probe"), connection=ConnectionConfig(uri=uri)) as probe:
        sparse = probe.capabilities.sparse  # Milvus 2.3: no sparse vectors, no BM25
    prefix = f"f{uuid.uuid4().hex[:8]}_"
    make_langchain_collections(uri, prefix + "lc_", sparse=sparse)
    make_llama_collections(uri, prefix + "li_", sparse=sparse)
    yield Foreign(uri, prefix, sparse)
    client = MilvusClient(uri=uri)
    try:
        for name in client.list_collections():
            if name.startswith(prefix):
                client.drop_collection(name)
    finally:
        client.close()


LANGCHAIN = ["lc_default", "lc_dynamic", "lc_json", "lc_auto"]
LLAMA = ["li_plain"]


def _by_text(store: MilvusStore) -> dict[str, Record]:
    return {r.text: r for r in store.query()}


@pytest.mark.parametrize("suffix", LANGCHAIN + LLAMA)
def test_detected_layout_reads_metadata_as_the_other_tool_wrote_it(
    foreign: Foreign, suffix: str
) -> None:
    with foreign.store(suffix) as store:
        rows = _by_text(store)
        layout = store.spec.layout
        assert layout is not None
        kind = LayoutKind.LLAMA_INDEX if suffix.startswith("li_") else LayoutKind.LANGCHAIN
        assert layout.layout_kind is kind
        assert store.spec.dim == DIM
        assert set(rows) == set(BY_TEXT)
        for text, record in rows.items():
            assert record.metadata == BY_TEXT[text]["metadata"]
        if suffix.startswith("li_"):
            assert {r.doc_id for r in rows.values()} == {"doc0", "doc1", "doc2"}
            assert rows["alpha document number 0"].id == "d0"
        elif suffix == "lc_auto":
            assert all(r.id.isdigit() for r in rows.values())  # INT64 keys read as strings
        else:
            assert rows["bravo document number 1"].id == "d1"


@pytest.mark.parametrize("suffix", LANGCHAIN + LLAMA)
def test_search_filters_get_on_adopted_layouts(foreign: Foreign, suffix: str) -> None:
    with foreign.store(suffix) as store:
        rows = _by_text(store)
        target = rows["echo document number 4"]
        hits = store.search(hashed_vector(target.text), k=3)
        assert hits[0].id == target.id
        assert hits[0].record.metadata == BY_TEXT[target.text]["metadata"]
        # The hostile value is escaped: it matches its own row only.
        hostile = store.query(eq("source", HOSTILE))
        assert [r.text for r in hostile] == ["delta document number 3"]
        assert {r.text for r in store.query(gt("n", 6))} == {
            "hotel document number 7",
            "india document number 8",
        }
        filtered = store.search(hashed_vector(target.text), k=9, filter=eq("source", "s0"))
        assert {h.record.metadata["source"] for h in filtered} == {"s0"}
        got = store.get([rows["golf document number 6"].id, target.id])
        assert [r.text for r in got] == ["golf document number 6", target.text]


def test_llama_doc_id_filter_and_delete_by_document(foreign: Foreign) -> None:
    with foreign.store("li_plain") as store:
        assert {r.id for r in store.query(doc_id_in(["doc1"]))} == {"d1", "d4", "d7"}


@pytest.mark.parametrize("suffix", ["lc_default", "lc_auto", "li_plain"])
def test_adding_rows_is_refused_naming_migrate(foreign: Foreign, suffix: str) -> None:
    with foreign.store(suffix) as store:
        before = store.count()
        record = Record(id="new", text="new text", vector=hashed_vector("new text"))
        with pytest.raises(ForeignLayoutError, match="migrate"):
            store.upsert([record])
        assert store.count() == before


def test_integer_ids_name_rows_only_as_they_read_back(foreign: Foreign) -> None:
    """``"abc"``, ``"01"``, ``"-0"``, ``"+1"`` name no row of an INT64-key collection: reads
    find nothing and deletes delete nothing (``int("01")`` once deleted row 1)."""
    with foreign.store("lc_auto") as store:
        some = store.query(limit=1)[0]
        before = store.count()
        odd = ["abc", "0" + some.id, "+" + some.id, "-0", "9" * 5000]
        assert store.get(odd) == []
        assert store.count(id_in(odd)) == 0
        assert store.delete(ids=odd) == 0
        assert store.count() == before
        assert store.count(not_(id_in(odd))) == before
        assert [r.id for r in store.get([some.id])] == [some.id]


def test_bm25_layouts_serve_keyword_and_hybrid_search(foreign: Foreign) -> None:
    if not foreign.sparse:
        pytest.skip("this engine has no sparse vectors (probed): no BM25 layouts made")
    for suffix in ("lc_bm25", "li_sparse"):
        with foreign.store(suffix) as store:
            assert store.count() == len(DOCS)  # opens it
            assert store.spec.sparse_mode is SparseMode.BM25
            keyword = store.sparse_search("foxtrot", k=3)
            assert keyword[0].record.text == "foxtrot document number 5"
            fused = store.hybrid_search(hashed_vector("golf document number 6"), "golf", k=2)
            assert fused[0].record.text == "golf document number 6"
            assert fused[0].record.metadata == BY_TEXT[fused[0].record.text]["metadata"]


def test_sparse_request_on_a_layout_without_sparse_field_is_a_mismatch(
    foreign: Foreign,
) -> None:
    # Where the engine has sparse vectors, the collection lacks the field; elsewhere the
    # engine lacks the feature: a typed error either way, before any read.
    expected = (
        pytest.raises(SchemaMismatchError, match="no sparse field")
        if foreign.sparse
        else pytest.raises(UnsupportedByServerError, match="sparse vectors")
    )
    with foreign.store("lc_default", sparse="bm25") as store, expected:
        store.count()


def test_explicit_field_mapping_reads_any_schema(foreign: Foreign) -> None:
    name = foreign.prefix + "custom"
    client = MilvusClient(uri=foreign.uri)
    try:
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=True)
        schema.add_field("key", DataType.INT64, is_primary=True)
        schema.add_field("body", DataType.VARCHAR, max_length=512)
        schema.add_field("emb", DataType.FLOAT_VECTOR, dim=DIM)
        schema.add_field("attrs", DataType.JSON)
        schema.add_field("year", DataType.INT64)
        index = MilvusClient.prepare_index_params()
        index.add_index(field_name="emb", index_type="FLAT", metric_type="L2")
        client.create_collection(name, schema=schema, index_params=index)
        client.insert(
            name,
            [
                {
                    "key": i,
                    "body": d["text"],
                    "emb": hashed_vector(d["text"]),
                    "attrs": {"source": d["metadata"]["source"]},
                    "year": 2000 + i,
                    "lang": "en" if i % 2 else "fr",
                }
                for i, d in enumerate(DOCS)
            ],
        )
    finally:
        client.close()
    mapping = FieldMapping(
        id="key", text="body", vector="emb", metadata_json="attrs", columns=["year"]
    )
    with foreign.store("custom", layout=mapping) as store:
        rows = _by_text(store)
        assert rows["charlie document number 2"].metadata == {
            "source": "s2",
            "year": 2002,
        }
        assert [r.id for r in store.query(eq("source", HOSTILE))] == ["3"]
        assert {r.id for r in store.query(gt("year", 2006))} == {"7", "8"}
        assert store.search(hashed_vector("india document number 8"), k=1)[0].id == "8"
        assert store.delete(ids=["8"]) >= 1
        assert store.count() == len(DOCS) - 1
    dynamic = FieldMapping(id="key", text="body", vector="emb", dynamic=True, columns=[])
    with foreign.store("custom", layout=dynamic) as store:
        assert {r.id for r in store.query(eq("lang", "en"))} == {"1", "3", "5", "7"}
        assert store.get(["2"])[0].metadata == {"lang": "fr"}
    with pytest.raises(ConfigError, match="not both"):
        FieldMapping(id="key", text="body", vector="emb", dynamic=True, metadata_json="attrs")
    bad = FieldMapping(id="key", text="nope", vector="emb")
    with (
        foreign.store("custom", layout=bad) as store,
        pytest.raises(SchemaMismatchError, match=r"field_mapping\.text"),
    ):
        store.count()


@pytest.mark.parametrize("suffix", ["lc_auto", "lc_dynamic", "li_plain"])
def test_migrate_keeps_ids_vectors_metadata_and_rerun_is_exact(
    foreign: Foreign, suffix: str
) -> None:
    with foreign.store(suffix) as source:
        source_rows = {r.id: r for r in source.query(include_vectors=True)}
        spec = migration_target_spec(source.spec, foreign.prefix + suffix + "_native")
        with MilvusStore(spec, connection=ConnectionConfig(uri=foreign.uri)) as target:
            report = migrate(source, target, batch_rows=4, sample=len(DOCS), queries=3, k=5)
            assert report.copied == len(DOCS)
            assert report.ok, report.verification
            check = report.verification
            assert check is not None and check.sampled == len(DOCS)
            assert check.topk_agreement == 1.0
            copied = {r.id: r for r in target.query(include_vectors=True)}
            assert copied.keys() == source_rows.keys()
            for key, row in source_rows.items():
                assert copied[key].metadata == row.metadata
                assert copied[key].text == row.text
                assert copied[key].doc_id == row.doc_id
                assert copied[key].vector == pytest.approx(row.vector)
            # A run cut short, then run again: exactly the source's rows.
            target.delete(ids=list(copied)[:4])
            again = migrate(source, target, batch_rows=4)
            assert again.ok and target.count() == len(DOCS)
            assert target.spec.layout is None
            written = {"source": "s9", "n": 99, "x": 9.5}  # the typed columns too (2.3: no nulls)
            target.upsert([Record(id="x", text="new", vector=hashed_vector("x"), metadata=written)])
            assert target.get(["x"])[0].metadata == written


def test_cli_migrate(foreign: Foreign, capsys: pytest.CaptureFixture[str]) -> None:
    target = foreign.prefix + "cli_native"
    code = cli_main(
        ["--uri", foreign.uri, "migrate", foreign.prefix + "li_plain", target, "--no-progress"]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"copied {len(DOCS)} rows" in out and "-> ok" in out
    with foreign.store("cli_native", open_mode="adopt") as store:
        assert store.count() == len(DOCS)
        assert store.spec.layout is None


def test_adapters_open_foreign_collections_by_name(foreign: Foreign, tmp_path: Path) -> None:
    from langchain_core.embeddings import Embeddings
    from llama_index.core.vector_stores.types import (
        MetadataFilter,
        MetadataFilters,
        VectorStoreQuery,
    )

    from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
    from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

    class Hashed(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return [hashed_vector(t) for t in texts]

        def embed_query(self, text: str) -> list[float]:
            return hashed_vector(text)

    lc = LangChainStore(Hashed(), uri=foreign.uri, collection_name=foreign.prefix + "lc_json")
    try:
        docs = lc.similarity_search("foxtrot document number 5", k=2, filter={"n": {"$gte": 5}})
        assert docs[0].page_content == "foxtrot document number 5"
        assert docs[0].metadata == BY_TEXT[docs[0].page_content]["metadata"]
        with pytest.raises(ForeignLayoutError, match="migrate"):
            lc.add_texts(["more"])
    finally:
        lc.close()
    li = LlamaStore(uri=foreign.uri, collection_name=foreign.prefix + "li_plain")
    try:
        filters = MetadataFilters(filters=[MetadataFilter(key="source", value=HOSTILE)])
        result = li.query(
            VectorStoreQuery(
                query_embedding=hashed_vector("alpha document number 0"),
                similarity_top_k=3,
                filters=filters,
            )
        )
        assert result.nodes is not None
        assert [n.get_content() for n in result.nodes] == ["delta document number 3"]
        assert result.nodes[0].metadata == BY_TEXT["delta document number 3"]["metadata"]
        assert result.nodes[0].ref_doc_id == "doc0"
    finally:
        li.close()


def test_a_first_write_to_a_foreign_collection_is_refused_before_embedding(
    foreign: Foreign,
) -> None:
    from langchain_core.embeddings import Embeddings

    from milvus_plugins.langchain import MilvusVectorStore as LangChainStore

    class Counting(Embeddings):
        def __init__(self) -> None:
            self.texts = 0

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            self.texts += len(texts)
            return [hashed_vector(t) for t in texts]

        def embed_query(self, text: str) -> list[float]:
            return hashed_vector(text)

    model = Counting()
    # add_texts is this store's first call: nothing has opened the collection yet.
    lc = LangChainStore(model, uri=foreign.uri, collection_name=foreign.prefix + "lc_json")
    try:
        before = lc.store.count()
        with pytest.raises(ForeignLayoutError, match="migrate"):
            lc.add_texts(["more", "and more"])
        assert model.texts == 0  # refused before the model was asked for anything
        assert lc.store.count() == before
    finally:
        lc.close()
    # Two models (named dense fields) embed a whole batch at once: refused before either
    # (Milvus 2.3 has no multiple vector fields: refused for that, also unembedded).
    first, second = Counting(), Counting()
    named = LangChainStore(
        {"vector": first, "title_vector": second},
        uri=foreign.uri,
        collection_name=foreign.prefix + "lc_json",
    )
    try:
        with pytest.raises((SchemaMismatchError, UnsupportedByServerError)):
            named.add_texts(["more"])
        assert first.texts == second.texts == 0
    finally:
        named.close()


def test_delete_on_adopted_layout(foreign: Foreign) -> None:
    # Last in the module: it removes rows from the shared collections.
    with foreign.store("lc_auto") as store:
        some = store.query(eq("n", 2))[0]
        store.delete(ids=[some.id])
        assert store.query(eq("n", 2)) == []
        assert store.count() == len(DOCS) - 1
    with foreign.store("li_plain") as store:
        store.delete(filter=doc_id_in(["doc2"]))
        assert store.count() == len(DOCS) - 3


async def test_async_store_reads_adopted_layout_and_refuses_rows(foreign: Foreign) -> None:
    sync = foreign.store("lc_dynamic")
    async with AsyncMilvusStore(sync) as store:
        hits = await store.search(hashed_vector("golf document number 6"), k=1)
        assert hits[0].record.metadata == BY_TEXT["golf document number 6"]["metadata"]
        assert [r.text for r in await store.query(eq("source", HOSTILE))] == [
            "delta document number 3"
        ]
        record = Record(id="new", text="new text", vector=hashed_vector("new text"))
        with pytest.raises(ForeignLayoutError, match="migrate"):
            await store.upsert([record])
    sync.close()
