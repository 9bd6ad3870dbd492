"""A write's records may share the node's metadata dict and one state per node class
(``records_for_write``): no write may change either, whatever the store does with the
records (tenant stamping, declared and accelerator columns, reserved keys, numpy values)."""

from __future__ import annotations

import asyncio
import copy

import numpy as np
from llama_index.core.schema import TextNode
from tests.support.faces import embed

from milvus_plugins.llama_index import MilvusVectorStore
from milvus_plugins.llama_index import nodes as nodes_module


def _nodes() -> list[TextNode]:
    return [
        TextNode(id_="p1", text="cat", embedding=embed("cat"), metadata={"year": 2020, "src": "a"}),
        TextNode(
            id_="p2", text="dog", embedding=embed("dog"), metadata={"src": "b", "tags": ["x"]}
        ),
        TextNode(id_="p3", text="eel", embedding=embed("eel"), metadata={"text": "kept aside"}),
        TextNode(id_="p4", text="fox", embedding=embed("fox"), metadata={"n": np.int64(3)}),
    ]


def test_add_changes_no_node_and_no_shared_state(lite_uri: str) -> None:
    for tenant in ("t1", None):
        store = MilvusVectorStore(
            uri=lite_uri,
            collection_name=f"shares_{tenant or 'plain'}",
            metadata_fields={"year": "INT64", **({"tenant": "VARCHAR"} if tenant else {})},
            partition_key="tenant" if tenant else None,
            enable_sparse=True,
        )
        nodes = _nodes()
        before = [copy.deepcopy(n.metadata) for n in nodes]
        kwargs = {"tenant": tenant} if tenant else {}
        # Each node alone too: a batch holding a numpy value is converted as a whole.
        for batch in (nodes, *([n] for n in nodes)):
            store.add(batch, **kwargs)
            asyncio.run(store.async_add(batch, **kwargs))
        assert [n.metadata for n in nodes] == before
        assert nodes_module._SHARED_STATE["TextNode"] == {
            "llama_index": {"class_name": "TextNode", "node": {}}
        }
        for name, state in nodes_module._SHARED_STATE.items():  # other tests' classes too
            assert state == {"llama_index": {"class_name": name, "node": {}}}
        got = {n.node_id: n for n in store.get_nodes(node_ids=["p1", "p2", "p3", "p4"])}
        assert got["p1"].metadata == {
            "year": 2020,
            "src": "a",
            **({"tenant": tenant} if tenant else {}),
        }
        assert got["p3"].metadata["text"] == "kept aside"
        assert got["p4"].metadata["n"] == 3
