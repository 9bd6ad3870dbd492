"""Relationship metadata gets the checks node metadata gets (Milvus Lite, real store).

LlamaIndex keeps metadata on each relationship (``RelatedNodeInfo.metadata``; node
parsers copy the document's there). It is stored as JSON with the node: a value JSON
would change must be refused before anything is written, not read back changed.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

from milvus_plugins.core import InvalidInputError
from milvus_plugins.llama_index import MilvusVectorStore

EMBEDDING = [0.1, 0.2, 0.3, 0.4]


def node(node_id: str, related: dict[str, Any], **metadata: Any) -> TextNode:
    return TextNode(
        id_=node_id,
        text=f"text of {node_id}",
        embedding=EMBEDDING,
        metadata=metadata,
        relationships={
            NodeRelationship.SOURCE: RelatedNodeInfo(node_id="doc", metadata=related),
            NodeRelationship.CHILD: [RelatedNodeInfo(node_id="c1", metadata={"n": 1})],
        },
    )


@pytest.fixture
def store(lite_uri: str) -> MilvusVectorStore:
    return MilvusVectorStore(uri=lite_uri, collection_name="related", dim=4)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (datetime.date(2024, 1, 2), "is a date"),
        (float("nan"), "not JSON-serialisable"),
        (float("inf"), "not JSON-serialisable"),
        ({1, 2}, "not JSON-serialisable"),
        (Decimal("1.10"), "not JSON-serialisable"),
        (b"ab", "not JSON-serialisable"),
        (2**70, "int64 range"),
    ],
    ids=["date", "nan", "inf", "set", "decimal", "bytes", "bigint"],
)
def test_relationship_metadata_json_would_change_is_refused_before_any_write(
    store: MilvusVectorStore, value: Any, message: str
) -> None:
    good = node("good", {"title": "doc"})
    with pytest.raises(InvalidInputError, match=message):
        store.add([good, node("bad", {"v": value})])
    assert store.get_nodes(node_ids=["good", "bad"]) == []


def test_relationship_metadata_of_plain_json_round_trips(store: MilvusVectorStore) -> None:
    related = {"title": "doc", "year": 2024, "score": 0.5, "tags": ["a", "b"], "none": None}
    store.add([node("n", related, title="doc")])
    (got,) = store.get_nodes(node_ids=["n"])
    assert got.relationships[NodeRelationship.SOURCE].metadata == related
    assert got.relationships[NodeRelationship.CHILD][0].metadata == {"n": 1}
    assert got.metadata == {"title": "doc"}


def test_relationship_metadata_equal_to_the_nodes_is_still_checked(
    store: MilvusVectorStore,
) -> None:
    # Decimal("1.5") == 1.5: equal metadata of another type would be dumped as "1.5".
    with pytest.raises(InvalidInputError, match=r"relationship SOURCE.*Decimal"):
        store.add([node("n", {"price": Decimal("1.5")}, price=1.5)])
    # numpy arrays compare element-wise: no ambiguous truth value escapes.
    vector = np.array([1, 2])
    store.add([node("a", {"v": vector}, v=vector)])
    (got,) = store.get_nodes(node_ids=["a"])
    assert got.metadata == {"v": [1, 2]}
    assert got.relationships[NodeRelationship.SOURCE].metadata == {"v": [1, 2]}


def test_numpy_values_in_relationship_metadata_are_stored_as_python_values(
    store: MilvusVectorStore,
) -> None:
    # A Document whose metadata holds numpy values (a pandas row), split into nodes: the
    # node parser copies that metadata into each node and its SOURCE relationship.
    from llama_index.core import Document
    from llama_index.core.node_parser import SentenceSplitter

    document = Document(text="alpha beta gamma. " * 40, metadata={"year": np.int64(2024)})
    nodes = SentenceSplitter(chunk_size=64, chunk_overlap=0).get_nodes_from_documents([document])
    for each in nodes:
        each.embedding = EMBEDDING
    assert len(nodes) > 1
    store.add(nodes)
    got = store.get_nodes(node_ids=[n.node_id for n in nodes])
    assert len(got) == len(nodes)
    for each in got:
        assert each.metadata == {"year": 2024}
        assert each.relationships[NodeRelationship.SOURCE].metadata == {"year": 2024}
        assert type(each.metadata["year"]) is int
