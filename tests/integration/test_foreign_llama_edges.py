"""Collections made by llama-index-vector-stores-milvus, read at their edges (RELIABILITY 136).

A helper's attack on exports and migrations of such collections found: nodes without a
source document read back with ``ref_doc_id == "None"`` (the placeholder the official
store writes into its ``doc_id`` field; its node copy says there is none), and migrated as
such; a metadata key named like one of the collection's fields (``text``, ``id``) was
filtered where the official store never wrote it, so ``{"text": {"$ne": ...}}`` deleted
every row. The collections are made by the real package in its own venv.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from llama_index.core.schema import NodeRelationship
from llama_index.core.vector_stores.types import VectorStoreQuery
from tests.support.official_layouts import DIM, _run, hashed_vector, llama_python

from milvus_plugins.core import CollectionSpec, ConnectionConfig, MilvusStore
from milvus_plugins.core.errors import FilterError
from milvus_plugins.core.filters import eq, not_
from milvus_plugins.llama_index import MilvusVectorStore

_SCRIPT = r"""
import sys
sys.path.insert(0, {support!r})
from official_layouts import hashed_vector
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.vector_stores.milvus import MilvusVectorStore

uri, name = sys.argv[1], sys.argv[2]
store = MilvusVectorStore(
    uri=uri, collection_name=name, dim={dim}, overwrite=True,
    index_config={{"index_type": "FLAT", "metric_type": "L2"}}, similarity_metric="L2",
)
nodes = []
for node_id, source, metadata in [
    ("a", "docA", {{"text": "meta text", "n": 1}}),
    ("b", None, {{"text": "other", "n": 2}}),
    ("c", "None", {{"n": 3}}),  # a source document really called "None"
]:
    node = TextNode(id_=node_id, text="body " + node_id, metadata=metadata,
                    embedding=hashed_vector("body " + node_id))
    if source is not None:
        node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(
            node_id=source, metadata={{"page": 7}}
        )
    if node_id == "a":  # what the official reader gives back from its node copy
        node.relationships[NodeRelationship.PREVIOUS] = RelatedNodeInfo(node_id="c")
        node.excluded_llm_metadata_keys = ["n"]
        node.excluded_embed_metadata_keys = ["text"]
    nodes.append(node)
store.add(nodes)
store.client.close()
print("ok")
"""


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    uri = str(tmp_path_factory.mktemp("llama_edges") / "li.db")
    name = f"li_{uuid.uuid4().hex[:8]}"
    script = _SCRIPT.format(support=str(Path(__file__).parents[1] / "support"), dim=DIM)
    _run(llama_python(), script, [uri, name])
    yield uri, name


def test_a_node_without_a_source_document_reads_back_without_one(made: tuple[str, str]) -> None:
    uri, name = made
    store = MilvusVectorStore(uri=uri, collection_name=name)
    try:
        found = {n.node_id: n.ref_doc_id for n in store.get_nodes(node_ids=["a", "b", "c"])}
    finally:
        store.close()
    assert found == {"a": "docA", "b": None, "c": "None"}
    core = MilvusStore(CollectionSpec(name=name), connection=ConnectionConfig(uri=uri))
    with core:
        assert {r.id: r.doc_id for r in core.get(["a", "b", "c"])} == {
            "a": "docA",
            "b": "",
            "c": "None",
        }


def test_a_metadata_key_named_like_a_field_is_refused_in_filters(made: tuple[str, str]) -> None:
    """The official store wrote the node text into its ``text`` field: a metadata key
    ``text`` is kept only in its node copy, which filters cannot reach."""
    uri, name = made
    core = MilvusStore(CollectionSpec(name=name), connection=ConnectionConfig(uri=uri))
    with core:
        assert core.get(["a"])[0].metadata["text"] == "meta text"
        for tree in (not_(eq("text", "meta text")), eq("text", "meta text"), eq("id", "x")):
            with pytest.raises(FilterError, match="has a field of that name"):
                core.delete(filter=tree)
            with pytest.raises(FilterError, match="has a field of that name"):
                core.query(tree)
        assert core.count() == 3  # nothing deleted
        assert [r.id for r in core.query(eq("n", 2))] == ["b"]


def test_relationships_and_excluded_keys_read_back_as_the_official_store_gives_them(
    made: tuple[str, str],
) -> None:
    """A review found nodes read without their PREVIOUS relationship, a relationship's
    metadata and the excluded embed / LLM keys, which the official store keeps in its
    node copy and gives back (the LLM then saw keys the node excludes)."""
    uri, name = made
    store = MilvusVectorStore(uri=uri, collection_name=name)
    try:
        node = store.get_nodes(node_ids=["a"])[0]
        queried = store.query(
            VectorStoreQuery(query_embedding=hashed_vector("body a"), similarity_top_k=1)
        ).nodes
    finally:
        store.close()
    for got in (node, *(queried or [])):
        assert got.node_id == "a"
        assert got.relationships[NodeRelationship.PREVIOUS].node_id == "c"
        assert got.relationships[NodeRelationship.SOURCE].node_id == "docA"
        assert got.relationships[NodeRelationship.SOURCE].metadata == {"page": 7}
        assert got.excluded_llm_metadata_keys == ["n"]
        assert got.excluded_embed_metadata_keys == ["text"]
        assert got.metadata == {"text": "meta text", "n": 1}
