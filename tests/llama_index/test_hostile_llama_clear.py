"""LlamaIndex flows attacked (a helper's review, 2026-12-07); each failed before its fix.

* ``clear()`` dropped a collection the official llama-index-vector-stores-milvus had
  made, and the same store's next ``add`` (an ingestion pipeline's run) made this
  package's layout under its name: the official application then failed on every call;
* ``clear()`` on a store opened with only ``uri`` and ``collection_name`` dropped a
  hybrid, text-match, partition-key collection, and the next ``add`` made it again
  without those (and with a VARCHAR where an INT64 field was): the store that made it
  was refused from then on;
* a ``Document(id_="")`` was written, but its nodes could never be deleted by their
  document (``delete("")`` is refused), and an ``UPSERTS_AND_DELETE`` pipeline's next
  run failed half-way, after deleting the other documents' old nodes.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest
from llama_index.core.schema import Document, NodeRelationship, RelatedNodeInfo, TextNode
from pymilvus import MilvusClient
from tests.support.official_layouts import DIM, hashed_vector, make_llama_collections

from milvus_plugins.core import ForeignLayoutError, InvalidInputError
from milvus_plugins.llama_index import MilvusVectorStore


def _vector(text: str, dim: int = DIM) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [(digest[i] + 1) / 256.0 for i in range(dim)]


def _node(node_id: str, source: str | None = "doc", dim: int = DIM, **meta: object) -> TextNode:
    node = TextNode(
        id_=node_id, text=f"text of {node_id}", metadata=meta, embedding=_vector(node_id, dim)
    )
    if source is not None:
        node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=source)
    return node


def _fields(uri: str, name: str) -> dict[str, object]:
    client = MilvusClient(uri=uri)
    try:
        return {f["name"]: f["type"] for f in client.describe_collection(name)["fields"]}
    finally:
        client.close()


def test_clear_of_the_official_stores_collection_keeps_it_and_its_layout(tmp_path: Path) -> None:
    uri = str(tmp_path / "li.db")
    make_llama_collections(uri, "li_", sparse=False)
    before = _fields(uri, "li_plain")
    store = MilvusVectorStore(uri=uri, collection_name="li_plain")
    try:
        assert store.get_nodes()
        store.clear()
        asyncio.run(store.aclear())
        assert store.get_nodes() == []
        with pytest.raises(ForeignLayoutError):
            store.add([TextNode(id_="new", text="x", embedding=hashed_vector("x"))])
    finally:
        store.close()
    assert _fields(uri, "li_plain") == before


def test_clear_of_a_collection_it_found_keeps_its_schema(tmp_path: Path) -> None:
    uri = str(tmp_path / "m.db")
    maker = MilvusVectorStore(
        uri=uri,
        collection_name="c",
        enable_sparse=True,
        text_match=True,
        metadata_fields={"year": "INT64", "tenant": "VARCHAR"},
        partition_key="tenant",
    )
    maker.add([_node("a", year=2020, tenant="t1")])
    before = _fields(uri, "c")
    reader = MilvusVectorStore(uri=uri, collection_name="c")
    try:
        reader.clear()
        assert _fields(uri, "c") == before
        with pytest.raises(InvalidInputError, match="year"):
            reader.add([_node("b", year="x", tenant="t1")])  # still the INT64 field
        reader.add([_node("b", year=2021, tenant="t1")])
    finally:
        reader.close()
    assert [n.node_id for n in maker.get_nodes()] == ["b"]  # the maker still works on it
    maker.close()


def test_clear_of_a_collection_it_made_drops_it(tmp_path: Path) -> None:
    uri = str(tmp_path / "m.db")
    store = MilvusVectorStore(uri=uri, collection_name="c")
    try:
        store.add([_node("a")])
        store.clear()
        assert not store.client.has_collection("c")
        store.add([_node("b", dim=16)])  # the next model's dimension
        assert [n.node_id for n in store.get_nodes()] == ["b"]
    finally:
        store.close()


def test_a_source_document_with_an_empty_id_is_refused(tmp_path: Path) -> None:
    store = MilvusVectorStore(uri=str(tmp_path / "m.db"), collection_name="c")
    try:
        with pytest.raises(InvalidInputError, match="empty id"):
            store.add([_node("a", source="ok"), _node("b", source="")])
        assert not store.client.has_collection("c") or store.get_nodes() == []
        document = Document(id_="", text="untitled")
        assert document.doc_id == ""
        store.add([_node("c", source=None)])  # no source at all is fine
        assert [n.node_id for n in store.get_nodes()] == ["c"]
    finally:
        store.close()


def test_clear_never_drops_a_collection_made_again_by_someone_else(tmp_path: Path) -> None:
    """A review of the fix above: the store that had created `c` dropped it at `clear()`
    although another store had made it again since (with a BM25 field and an INT64
    field): its schema went. The collection there must still be the one it created."""
    uri = str(tmp_path / "m.db")
    first = MilvusVectorStore(uri=uri, collection_name="c")
    first.add([_node("a")])
    second = MilvusVectorStore(
        uri=uri,
        collection_name="c",
        overwrite=True,
        enable_sparse=True,
        metadata_fields={"year": "INT64"},
    )
    second.add([_node("b", year=2020)])
    made = _fields(uri, "c")
    try:
        first.clear()
        assert _fields(uri, "c") == made
        assert second.get_nodes() == []
        second.add([_node("c", year=2021)])
        assert [n.node_id for n in second.get_nodes()] == ["c"]
    finally:
        first.close()
        second.close()


def test_clear_after_close_still_drops_what_the_store_made(tmp_path: Path) -> None:
    """Re-opened after `close()` (a read first), the store took its own collection for a
    found one: `clear()` kept it, and the next model's dimension was refused."""
    store = MilvusVectorStore(uri=str(tmp_path / "m.db"), collection_name="c")
    try:
        store.add([_node("a")])
        store.close()
        assert [n.node_id for n in store.get_nodes()] == ["a"]
        store.clear()
        store.add([_node("b", dim=16)])
        assert [n.node_id for n in store.get_nodes()] == ["b"]
    finally:
        store.close()


def _raw_drop(uri: str, name: str) -> None:
    client = MilvusClient(uri=uri)
    try:
        client.drop_collection(name)
    finally:
        client.close()


def test_clear_after_another_clients_drop_takes_the_next_models_dimension(tmp_path: Path) -> None:
    """A review of `reset()`: once another client had dropped the collection, the store's
    re-creation (or a clear() with no write between) remembered the old dimension as if
    the user had given it: the next model's was refused after clear()."""
    uri = str(tmp_path / "m.db")
    store = MilvusVectorStore(uri=uri, collection_name="c")
    try:
        store.add([_node("a", dim=4)])
        _raw_drop(uri, "c")
        assert store.get_nodes() == []
        store.add([_node("b", dim=4)])  # made again by this store
        store.clear()
        store.add([_node("c", dim=8)])
        _raw_drop(uri, "c")
        store.clear()  # nothing there: a fresh start
        store.add([_node("d", dim=16)])
        assert [n.node_id for n in store.get_nodes()] == ["d"]
    finally:
        store.close()


def test_a_found_collection_closed_and_reused_is_forgotten_at_its_drop(tmp_path: Path) -> None:
    """A store that opened an existing collection, was closed and used again, took what it
    had read from it (dimension, the partition key's type) for its own settings: after its
    own drop() the next model's dimension and another key type were refused."""
    from milvus_plugins.core import CollectionSpec, ConnectionConfig, MilvusStore, Record

    connection = ConnectionConfig(uri=str(tmp_path / "m.db"))
    maker = MilvusStore(CollectionSpec(name="c", partition_key="tenant"), connection=connection)
    maker.upsert([Record(id="1", text="t", vector=[1.0, 0.0, 0.0, 0.0])], tenant="t1")
    maker.close()
    store = MilvusStore(CollectionSpec(name="c", partition_key="tenant"), connection=connection)
    try:
        assert store.count() == 1
        store.close()
        assert store.count() == 1  # opened again after close()
        store.drop()
        store.upsert([Record(id="2", text="t", vector=[1.0] * 8)], tenant=5)
        assert store.count() == 1 and store.spec.dim == 8
    finally:
        store.close()
