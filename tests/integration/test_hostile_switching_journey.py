"""A user with collections made by the REAL langchain-milvus 0.4 switches to this package by
editing their code minimally (same ``collection_name``, ``connection_args``,
``embedding_function``), then searches, filters, writes, migrates and deletes, comparing
every read with what the official store returns on the same collection (run in a
subprocess that finishes before ours opens the Lite file).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from pymilvus import MilvusClient
from tests.support.official_layouts import DOCS, HOSTILE, copy_database, hashed_vector

from milvus_plugins.cli import main as cli_main
from milvus_plugins.core import (
    ConnectionConfig,
    FieldMapping,
    ForeignLayoutError,
    MilvusStore,
    SchemaMismatchError,
    UnexpectedArgumentError,
    migrate,
    migration_target_spec,
)
from milvus_plugins.langchain import MilvusVectorStore

ROOT = Path(__file__).resolve().parents[2]
SUPPORT = str(Path(__file__).resolve().parents[1] / "support")
DENSE = {"index_type": "FLAT", "metric_type": "L2", "params": {}}
QUERY = DOCS[4]["text"]
BY_TEXT = {d["text"]: d for d in DOCS}

# Each variant: the user's official constructor arguments, the primary key's name, the
# official expression for source == "s0" and for n > 5.
VARIANTS: dict[str, dict[str, Any]] = {
    "plain": {"kwargs": {}, "pk": "pk", "expr": ['source == "s0"', "n > 5"]},
    "custom": {
        "kwargs": {
            "primary_field": "key",
            "text_field": "content",
            "vector_field": "emb",
            "enable_dynamic_field": True,
        },
        "pk": "key",
        "expr": ['source == "s0"', "n > 5"],
    },
    "tenant": {
        "kwargs": {"auto_id": True, "partition_key_field": "tenant"},
        "pk": "pk",
        "expr": ['source == "s0"', "n > 5"],
    },
    "meta": {
        "kwargs": {"metadata_field": "meta"},
        "pk": "pk",
        "expr": ['meta["source"] == "s0"', 'meta["n"] > 5'],
    },
}
DICT_FILTERS: list[dict[str, Any]] = [{"source": "s0"}, {"n": {"$gt": 5}}]

_SCRIPT = r"""
import json, sys
sys.path.insert(0, {support!r})
from official_layouts import DOCS, hashed_vector
from langchain_core.embeddings import Embeddings
from langchain_milvus import Milvus

class Hashed(Embeddings):
    def embed_documents(self, texts): return [hashed_vector(t) for t in texts]
    def embed_query(self, text): return hashed_vector(text)

uri, variants = sys.argv[1], json.loads(sys.argv[2])
dense = {{"index_type": "FLAT", "metric_type": "L2", "params": {{}}}}
out = {{}}
for name, spec in variants.items():
    kwargs = dict(spec["kwargs"])
    metas = [dict(d["metadata"], tenant="t%d" % (i % 2)) if name == "tenant" else
             d["metadata"] for i, d in enumerate(DOCS)]
    store = Milvus.from_texts(
        [d["text"] for d in DOCS], Hashed(), metadatas=metas,
        ids=None if kwargs.get("auto_id") else [d["id"] for d in DOCS],
        collection_name=name, connection_args={{"uri": uri}}, drop_old=True,
        index_params=dense, **kwargs,
    )
    def dump(docs):
        return [[d.page_content, d.metadata] for d in docs]
    q = hashed_vector({query!r})
    res = {{"search": dump(store.similarity_search_by_vector(q, k=5))}}
    res["filtered"] = [dump(store.similarity_search_by_vector(q, k=9, expr=e))
                       for e in spec["expr"]]
    rows = store.client.query(name, filter="", limit=100, output_fields=["*"])
    res["rows"] = len(rows)
    out[name] = res
    store.client.close()
print("RESULT " + json.dumps(out, default=str))
"""


class Hashed(Embeddings):
    """The user's embedding model (deterministic, no download)."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [hashed_vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return hashed_vector(text)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, Any]]]:
    """The Lite file the official store wrote, and what the official store read from it."""
    uri = str(tmp_path_factory.mktemp("journey") / "official.db")
    script = _SCRIPT.format(support=SUPPORT, query=QUERY)
    done = subprocess.run(
        [sys.executable, "-c", script, uri, json.dumps(VARIANTS)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    lines = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stderr[-3000:]
    yield uri, json.loads(lines[-1][len("RESULT ") :])


def _official(name: str, docs: list[list[Any]]) -> list[tuple[str, str, dict[str, Any]]]:
    """(id, text, metadata) of the official results; the key is in the metadata there."""
    pk = VARIANTS[name]["pk"]
    out = []
    for text, meta in docs:
        meta = dict(meta)
        ident = str(meta.pop(pk)) if pk in meta else BY_TEXT[text]["id"]
        out.append((ident, text, meta))
    return out


def _ours(docs: list[Document]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(str(d.id), d.page_content, dict(d.metadata)) for d in docs]


def _open(uri: str, name: str, **extra: Any) -> MilvusVectorStore:
    """The user's official call, with only the class changed (and ``extra``)."""
    return MilvusVectorStore(
        embedding_function=Hashed(),
        collection_name=name,
        connection_args={"uri": uri},
        index_params=DENSE,
        **extra,
    )


LAYOUT_ARGS = ("primary_field", "text_field", "vector_field", "metadata_field")
MAPPINGS = {
    "custom": FieldMapping(id="key", text="content", vector="emb", dynamic=True),
    "meta": FieldMapping(id="pk", text="text", vector="vector", metadata_json="meta"),
}


def _first_call(uri: str, name: str) -> MilvusVectorStore:
    """Step 1: the unchanged official arguments, then each hint followed literally."""
    kwargs = dict(VARIANTS[name]["kwargs"])
    for _ in range(4):
        try:
            store = _open(uri, name, **kwargs)
        except UnexpectedArgumentError as exc:  # refused before anything is read
            message = str(exc)
            refused = [k for k in list(kwargs) if f"{k}:" in message]
            assert refused, message
            for key in refused:
                kwargs.pop(key)
                hint = message.split(f"{key}:", 1)[1]
                if key in LAYOUT_ARGS:
                    assert "field_mapping=FieldMapping(" in hint, message
                    kwargs["field_mapping"] = MAPPINGS[name]
                else:
                    assert "leave it out" in hint, message
            continue
        try:
            store.similarity_search_by_vector(hashed_vector(QUERY), k=1)
        except Exception:
            store.store.close()
            raise
        return store
    raise AssertionError(f"the hints did not lead to a working store: {kwargs}")


@pytest.mark.parametrize("name", ["plain", "meta"])
def test_detected_layouts_open_with_uri_and_collection_name_only(
    made: tuple[str, dict[str, Any]], name: str
) -> None:
    uri, _ = made
    store = _open(uri, name)
    try:
        assert len(store.similarity_search_by_vector(hashed_vector(QUERY), k=9)) == 9
    finally:
        store.store.close()


def test_the_plain_layout_opens_with_the_unchanged_official_call(
    made: tuple[str, dict[str, Any]],
) -> None:
    uri, official = made
    store = _open(uri, "plain")  # nothing refused: only the class name changed
    try:
        assert store.store.count() == official["plain"]["rows"]
    finally:
        store.store.close()


# DEFECT (fixed): a custom-named langchain collection opened without the layout arguments raised
# a SchemaMismatchError advising drop_old=True (deletes the user's data), never field_mapping.
def test_unmapped_foreign_layout_error_names_field_mapping_not_drop_old(
    made: tuple[str, dict[str, Any]],
) -> None:
    uri, _ = made
    store = _open(uri, "custom")
    try:
        with pytest.raises(SchemaMismatchError) as caught:
            store.similarity_search_by_vector(hashed_vector(QUERY), k=1)
    finally:
        store.store.close()
    message = str(caught.value)
    assert "field_mapping" in message
    # drop_old may only be named as what not to do
    assert "drop_old" not in message.replace("drop_old=True would delete its rows", "")


# DEFECT (fixed): partition_key_field= on the official partition-key collection needed its type.
def test_accepted_partition_key_field_opens_the_existing_collection(
    made: tuple[str, dict[str, Any]],
) -> None:
    uri, official = made
    store = _open(uri, "tenant", partition_key_field="tenant")
    try:
        assert store.store.count() == official["tenant"]["rows"]
        assert store.store.spec.partition_key == "tenant"
        declared = store.store.spec.declared("tenant")
        assert declared is not None and declared.scalar_type.value == "VARCHAR"
    finally:
        store.store.close()


def test_partition_key_field_opens_with_its_declaration_too(
    made: tuple[str, dict[str, Any]],
) -> None:
    uri, official = made
    store = _open(
        uri, "tenant", partition_key_field="tenant", metadata_fields={"tenant": "VARCHAR"}
    )
    try:
        assert store.store.count() == official["tenant"]["rows"]
    finally:
        store.store.close()


def test_partition_key_field_naming_another_field_is_refused(
    made: tuple[str, dict[str, Any]],
) -> None:
    uri, _ = made
    # Milvus Lite 3.2.2 does not report which field is the partition key: the refusal
    # names the fields the collection has instead.
    wrong = _open(uri, "tenant", partition_key_field="topic")
    with pytest.raises(SchemaMismatchError) as caught:
        try:
            wrong.store.count()
        finally:
            wrong.store.close()
    assert "partition_key='topic'" in str(caught.value)
    assert "'tenant'" in str(caught.value)


@pytest.mark.parametrize("name", list(VARIANTS))
def test_searches_match_the_official_store(made: tuple[str, dict[str, Any]], name: str) -> None:
    uri, official = made
    store = _first_call(uri, name)
    try:
        got = _ours(store.similarity_search_by_vector(hashed_vector(QUERY), k=5))
        assert got == _official(name, official[name]["search"])
    finally:
        store.store.close()


@pytest.mark.parametrize("name", list(VARIANTS))
def test_dict_filters_select_the_official_rows(made: tuple[str, dict[str, Any]], name: str) -> None:
    uri, official = made
    store = _first_call(uri, name)
    try:
        for flt, docs in zip(DICT_FILTERS, official[name]["filtered"], strict=True):
            got = _ours(store.similarity_search_by_vector(hashed_vector(QUERY), k=9, filter=flt))
            assert got == _official(name, docs), flt
        # The hostile value is escaped: its own row only.
        hostile = store.similarity_search_by_vector(
            hashed_vector(QUERY), k=9, filter={"source": HOSTILE}
        )
        assert [d.page_content for d in hostile] == [DOCS[3]["text"]]
    finally:
        store.store.close()


@pytest.mark.parametrize("name", list(VARIANTS))
def test_get_by_ids_matches_the_search_results(made: tuple[str, dict[str, Any]], name: str) -> None:
    uri, official = made
    store = _first_call(uri, name)
    try:
        want = _official(name, official[name]["search"])
        ids = [w[0] for w in reversed(want)] + ["missing", want[0][0] + " "]
        assert _ours(store.get_by_ids(ids)) == list(reversed(want))
    finally:
        store.store.close()


@pytest.mark.parametrize("name", list(VARIANTS))
def test_adding_to_the_foreign_collection_is_refused_naming_migrate(
    made: tuple[str, dict[str, Any]], name: str
) -> None:
    uri, official = made
    store = _first_call(uri, name)
    try:
        new = Document(page_content="zulu new", metadata={"source": "s9", "n": 99}, id="z1")
        with pytest.raises(ForeignLayoutError, match="migrate"):
            store.add_documents([new])
        with pytest.raises(ForeignLayoutError, match="migrate"):
            store.upsert(["z2"], [new])  # the official name and argument order
        with pytest.raises(ForeignLayoutError, match="migrate"):
            store.add_texts(["zulu"], [{"n": 1}])
        assert store.get_by_ids(["z1", "z2"]) == []
        assert store.store.count() == official[name]["rows"]
    finally:
        store.store.close()


def _rows(store: MilvusStore) -> dict[str, tuple[str, dict[str, Any], list[float]]]:
    return {
        r.id: (r.text, dict(r.metadata), [round(float(x), 6) for x in r.vector or []])
        for r in store.query(include_vectors=True)
    }


@pytest.mark.parametrize("name", list(VARIANTS))
def test_core_migrate_copies_faithfully_and_is_idempotent(
    made: tuple[str, dict[str, Any]], name: str, tmp_path: Path
) -> None:
    uri, official = made
    # Work on a copy of the file: migrations must not disturb the other tests.
    copy = Path(copy_database(uri, tmp_path))
    src = _first_call(str(copy), name)
    target_name = f"{name}_v2"
    try:
        source = src.store
        target = MilvusStore(
            migration_target_spec(source, target_name), connection=ConnectionConfig(uri=str(copy))
        )
        with target:
            report = migrate(source, target)
            assert report.ok and report.copied == official[name]["rows"]
            before = _rows(source)
            assert _rows(target) == before
            again = migrate(source, target)
            assert again.ok and target.count() == len(before)
            assert _rows(target) == before
    finally:
        src.store.close()
    ours = _open(str(copy), target_name)
    try:
        got = _ours(ours.similarity_search_by_vector(hashed_vector(QUERY), k=5))
        assert got == _official(name, official[name]["search"])
        written = {"source": "s9", "n": 99}
        if name == "tenant":  # the copy keeps the partition key: every row names its tenant
            assert ours.store.spec.partition_key == "tenant"
            written["tenant"] = "t1"
        new = Document(page_content="zulu new", metadata=written, id="z1")
        ours.upsert(["z1"], [new])
        assert _ours(ours.get_by_ids(["z1"])) == [("z1", "zulu new", new.metadata)]
        assert ours.store.count() == official[name]["rows"] + 1
    finally:
        ours.store.close()


def test_cli_migrate_of_the_detected_layout(
    made: tuple[str, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uri, official = made
    copy = Path(copy_database(uri, tmp_path))
    args = ["--uri", str(copy), "migrate", "plain", "plain_v2", "--no-progress"]
    assert cli_main(args) == 0
    assert cli_main(args) == 0  # idempotent re-run
    capsys.readouterr()
    ours = _open(str(copy), "plain_v2")
    try:
        got = _ours(ours.similarity_search_by_vector(hashed_vector(QUERY), k=5))
        assert got == _official("plain", official["plain"]["search"])
        assert ours.store.count() == official["plain"]["rows"]
    finally:
        ours.store.close()


@pytest.mark.parametrize("name", list(VARIANTS))
def test_hostile_deletes_remove_only_what_was_asked(
    made: tuple[str, dict[str, Any]], name: str, tmp_path: Path
) -> None:
    uri, official = made
    copy = Path(copy_database(uri, tmp_path))
    store = _first_call(str(copy), name)
    try:
        rows = {
            d.page_content: str(d.id)
            for d in store.similarity_search_by_vector(hashed_vector(QUERY), k=9)
        }
        total = official[name]["rows"]
        d1 = rows[DOCS[1]["text"]]
        odd = [d1 + " ", " " + d1, d1.upper(), f'{d1}" or {VARIANTS[name]["pk"]} != "', "0" + d1]
        odd = [o for o in odd if o != d1] + ['x" or 1==1 or "', "*", "%"]
        store.delete(ids=odd)
        assert store.store.count() == total
        store.delete(filter={"source": HOSTILE})
        assert store.store.count() == total - 1
        assert store.get_by_ids([rows[DOCS[3]["text"]]]) == []
        store.delete(ids=[d1])
        assert store.store.count() == total - 2
        assert store.get_by_ids([d1]) == []
        left = {
            d.page_content for d in store.similarity_search_by_vector(hashed_vector(QUERY), k=9)
        }
        assert left == set(BY_TEXT) - {DOCS[1]["text"], DOCS[3]["text"]}
    finally:
        store.store.close()


def test_official_file_is_untouched_by_the_journey(made: tuple[str, dict[str, Any]]) -> None:
    uri, official = made
    client = MilvusClient(uri=uri)
    try:
        for name in VARIANTS:
            assert (
                client.query(name, filter="", limit=100, output_fields=["count(*)"])[0]["count(*)"]
                == official[name]["rows"]
            )
    finally:
        client.close()


def _l2_order(query: str) -> list[str]:
    """The exact L2 order of DOCS' ids for ``query`` (what the official FLAT search returns)."""
    q = hashed_vector(query)
    dist = {
        d["id"]: sum((a - b) ** 2 for a, b in zip(hashed_vector(d["text"]), q, strict=True))
        for d in DOCS
    }
    return sorted(dist, key=lambda i: dist[i])


def test_llama_index_journey(tmp_path: Path) -> None:
    from llama_index.core.schema import TextNode
    from llama_index.core.vector_stores.types import (
        MetadataFilter,
        MetadataFilters,
        VectorStoreQuery,
    )
    from tests.support.official_layouts import make_llama_collections

    from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

    if not (ROOT / "benchmarks" / ".venvs" / "llama_index").is_dir():
        pytest.skip("the llama-index venv is not built (benchmarks/.venvs/llama_index)")
    uri = str(tmp_path / "llama.db")
    make_llama_collections(uri, "li_", sparse=False)
    # The user's official call, unchanged but for the class.
    store = LlamaStore(
        uri=uri,
        collection_name="li_plain",
        dim=8,
        overwrite=False,
        index_config={"index_type": "FLAT", "metric_type": "L2"},
        similarity_metric="L2",
    )
    try:
        result = store.query(
            VectorStoreQuery(query_embedding=hashed_vector(QUERY), similarity_top_k=5)
        )
        assert result.ids == _l2_order(QUERY)[:5]
        by_id = {d["id"]: d for d in DOCS}
        for node in result.nodes:
            assert node.get_content() == by_id[node.node_id]["text"]
            assert node.metadata == by_id[node.node_id]["metadata"]
            assert node.ref_doc_id == by_id[node.node_id]["doc"]
        hostile = store.query(
            VectorStoreQuery(
                query_embedding=hashed_vector(QUERY),
                similarity_top_k=9,
                filters=MetadataFilters(filters=[MetadataFilter(key="source", value=HOSTILE)]),
            )
        )
        assert hostile.ids == ["d3"]
        node = TextNode(id_="z1", text="zulu", embedding=hashed_vector("zulu"))
        with pytest.raises(ForeignLayoutError, match="migrate"):
            store.add([node])
        assert store.get_nodes(node_ids=["z1"]) == []
        # Hostile document ids delete nothing; a real one deletes its three nodes only.
        for ref in ['doc1" or doc_id != "', "doc1 ", "DOC1", "doc"]:
            store.delete(ref)
        assert len(store.get_nodes(node_ids=[d["id"] for d in DOCS])) == len(DOCS)
        store.delete("doc1")
        left = [n.node_id for n in store.get_nodes(node_ids=[d["id"] for d in DOCS])]
        assert sorted(left) == sorted(d["id"] for d in DOCS if d["doc"] != "doc1")
    finally:
        store.store.close()
