"""langchain-milvus collections whose metadata has dict-valued keys (RELIABILITY 131).

langchain-milvus' default layout makes every key of the first document's metadata a
column, a JSON one where the value is a dict. Such a column beside others was taken for
``metadata_field=`` (the whole metadata in one JSON field): reads flattened it, a filter
on the key addressed a path inside it, ``delete(filter={"info": {"$exists": False}})``
deleted every row, and ``migrate`` copied the flattened metadata and verified it. Two or
more such columns were left out of every read. The collections here are made by the real
langchain-milvus (in a subprocess), on Milvus Lite and the 2.3.5 server.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.embeddings import Embeddings
from pymilvus import MilvusClient
from tests.support.official_layouts import DIM, hashed_vector
from tests.support.official_layouts import _run as run_script

from milvus_plugins.core import (
    CollectionSpec,
    ConnectionConfig,
    ForeignLayoutError,
    MilvusStore,
    Record,
    export_collection,
    import_collection,
    migrate,
    migration_target_spec,
)
from milvus_plugins.core.errors import FilterError
from milvus_plugins.core.filters import eq, exists
from milvus_plugins.langchain import MilvusVectorStore

_MAKE = r"""
import json, sys
sys.path.insert(0, {support!r})
from official_layouts import hashed_vector
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_milvus import Milvus

class Hashed(Embeddings):
    def embed_documents(self, texts): return [hashed_vector(t) for t in texts]
    def embed_query(self, text): return hashed_vector(text)

uri = sys.argv[1]
for name, docs, kwargs in json.loads(sys.argv[2]):  # one process for them all
    store = Milvus(Hashed(), connection_args={{"uri": uri}}, collection_name=name,
                   index_params={{"index_type": "FLAT", "metric_type": "L2", "params": {{}}}},
                   **kwargs)
    store.add_documents([Document(d["text"], metadata=d["metadata"]) for d in docs],
                        ids=[d["id"] for d in docs])
    store.client.close()
print("ok")
"""


def _docs(metadata: Any) -> list[dict[str, Any]]:
    return [
        {"id": f"d{i}", "text": f"document number {i}", "metadata": metadata(i)} for i in range(4)
    ]


ONE_DICT_BESIDE_COLUMNS = _docs(lambda i: {"source": f"s{i}", "info": {"page": i, "tag": "x"}})
TWO_DICTS = _docs(lambda i: {"source": f"s{i}", "a": {"p": i}, "b": {"q": [i, "z"]}})
ONLY_DICTS = _docs(lambda i: {"a": {"p": i}, "b": {"q": i}})
WHOLE_JSON = _docs(lambda i: {"source": f"s{i}", "n": i})
# Metadata keys named like this package's own fields: the schema then has id, text,
# vector and metadata fields, but its primary key is still langchain-milvus' pk.
OWN_NAMES = _docs(
    lambda i: {"id": f"X{i}", "doc_id": f"D{i}", "metadata": {"a": i}, "extra": {"b": i}}
)


ToMake = tuple[str, list[dict[str, Any]], dict[str, Any]]
"""A collection to make: its name, documents and langchain-milvus ``Milvus`` arguments
(the same name twice adds the second documents to the first collection)."""


def make_collections(uri: str, collections: list[ToMake]) -> None:
    """Make ``collections`` with the real langchain-milvus, in one subprocess."""
    script = _MAKE.format(support=str(Path(__file__).parents[1] / "support"))
    run_script(sys.executable, script, [uri, json.dumps(collections)])


class Made:
    """One database holding the collections langchain-milvus made for these tests."""

    def __init__(self, uri: str, prefix: str) -> None:
        self.uri = uri
        self.prefix = prefix

    def name(self, suffix: str) -> str:
        return self.prefix + suffix

    def store(self, suffix: str) -> MilvusStore:
        return MilvusStore(
            CollectionSpec(name=self.name(suffix)), connection=ConnectionConfig(uri=self.uri)
        )

    def metadata(self, suffix: str) -> dict[str, Any]:
        with self.store(suffix) as store:
            return {r.id: r.metadata for r in store.get([f"d{i}" for i in range(4)])}


@pytest.fixture(scope="module", params=["lite", pytest.param("server", marks=pytest.mark.server)])
def made(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Made]:
    prefix = f"jc_{uuid.uuid4().hex[:8]}_"
    if request.param == "server":
        uri = request.getfixturevalue("milvus_server").uri
    else:
        uri = str(tmp_path_factory.mktemp("jsoncols") / "lc.db")
    make_collections(
        uri,
        [
            (prefix + "one", ONE_DICT_BESIDE_COLUMNS, {}),
            (prefix + "two", TWO_DICTS, {}),
            (prefix + "only", ONLY_DICTS, {}),
            (prefix + "whole", WHOLE_JSON, {"metadata_field": "meta"}),
            (prefix + "own", OWN_NAMES, {}),
        ],
    )
    yield Made(uri, prefix)
    if request.param == "server":
        client = MilvusClient(uri=uri)
        for name in client.list_collections():
            if name.startswith(prefix):
                client.drop_collection(name)
        client.close()


@pytest.mark.parametrize(
    ("suffix", "docs"),
    [
        ("one", ONE_DICT_BESIDE_COLUMNS),
        ("two", TWO_DICTS),
        ("only", ONLY_DICTS),
        ("own", OWN_NAMES),
    ],
)
def test_dict_valued_keys_read_back_as_langchain_milvus_wrote_them(
    made: Made, suffix: str, docs: list[dict[str, Any]]
) -> None:
    assert made.metadata(suffix) == {d["id"]: d["metadata"] for d in docs}


def test_metadata_field_collections_still_read_their_json_field_as_the_metadata(
    made: Made,
) -> None:
    assert made.metadata("whole") == {d["id"]: d["metadata"] for d in WHOLE_JSON}
    with made.store("whole") as store:
        assert [h.id for h in store.query(filter=eq("n", 2))] == ["d2"]


@pytest.mark.parametrize("suffix", ["one", "two"])
def test_a_filter_on_a_dict_valued_key_is_refused_and_deletes_nothing(
    made: Made, suffix: str
) -> None:
    key = "info" if suffix == "one" else "a"
    vectors = MilvusVectorStore(_Hashed(), uri=made.uri, collection_name=made.name(suffix))
    try:
        for spec in ({"$exists": False}, {"$exists": True}, {"$eq": 1}):
            with pytest.raises(FilterError, match="JSON field of its own"):
                vectors.delete(filter={key: spec})
            with pytest.raises(FilterError, match="JSON field of its own"):
                vectors.similarity_search("document", k=4, filter={key: spec})
        # The other columns filter as before.
        assert [d.id for d in vectors.similarity_search("x", k=4, filter={"source": "s1"})] == [
            "d1"
        ]
    finally:
        vectors.close()
    assert len(made.metadata(suffix)) == 4  # nothing deleted


def test_migrate_copies_dict_valued_keys_as_keys(made: Made) -> None:
    target = made.name("copy_" + uuid.uuid4().hex[:6])
    connection = ConnectionConfig(uri=made.uri)
    with made.store("one") as source:
        source.exists()  # the spec of the collection read
        spec = migration_target_spec(source.spec, target)
        with MilvusStore(spec, connection=connection) as store:
            report = migrate(source, store)
            assert report.ok, report.verification
            rows = {r.id: r.metadata for r in store.get([f"d{i}" for i in range(4)])}
            assert rows == {d["id"]: d["metadata"] for d in ONE_DICT_BESIDE_COLUMNS}
            # In this package's layout the key is a metadata key like any other.
            assert len(store.query(filter=exists("info"))) == 4
            store.drop()


def test_reindex_of_an_alias_on_a_foreign_collection_names_migrate(made: Made) -> None:
    from milvus_plugins.core import point_alias, reindex

    connection = ConnectionConfig(uri=made.uri)
    alias = made.name("live")
    point_alias(connection, alias, made.name("one"))
    client = MilvusClient(uri=made.uri) if made.uri.startswith("http") else None
    try:
        before = _collections(made)
        with pytest.raises(ForeignLayoutError, match="migrate"):
            reindex(connection, alias)
        assert _collections(made) == before
    finally:
        if client is not None:
            client.drop_alias(alias)
            client.close()


def _collections(made: Made) -> list[str]:
    with made.store("one") as store:
        return sorted(n for n in store.client.list_collections() if n.startswith(made.prefix))


class _Hashed(Embeddings):
    """A LangChain embedding of :func:`hashed_vector` (deterministic, no model)."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [hashed_vector(t, DIM) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return hashed_vector(text, DIM)


def test_metadata_columns_named_like_this_packages_fields_stay_another_tools(
    made: Made,
) -> None:
    """A collection is this package's only where ``id`` is its primary key."""
    vectors = MilvusVectorStore(_Hashed(), uri=made.uri, collection_name=made.name("own"))
    try:
        assert [d.id for d in vectors.get_by_ids(["d0", "d1"])] == ["d0", "d1"]
        with pytest.raises(ForeignLayoutError):
            vectors.add_texts(["new"], ids=["n"])
    finally:
        vectors.close()
    assert len(made.metadata("own")) == 4


def test_an_export_of_another_tools_collection_imports_in_this_packages_layout(
    made: Made, tmp_path: Path
) -> None:
    connection = ConnectionConfig(uri=made.uri)
    path = tmp_path / "lc.jsonl"
    with made.store("one") as source:
        assert export_collection(source, path).rows == 4
    target = made.name("imported_" + uuid.uuid4().hex[:6])
    import_collection(path, target, connection=connection)
    with MilvusStore(CollectionSpec(name=target), connection=connection, open_mode="adopt") as s:
        assert s.spec.layout is None  # writable: this package's own
        rows = {r.id: r.metadata for r in s.get([f"d{i}" for i in range(4)])}
        assert rows == {d["id"]: d["metadata"] for d in ONE_DICT_BESIDE_COLUMNS}
        added = {"source": "s9"}  # the declared column (the 2.3.5 server has no nulls)
        s.upsert([Record(id="new", text="added", vector=hashed_vector("a", DIM), metadata=added)])
        assert s.count() == 5
        s.drop()
