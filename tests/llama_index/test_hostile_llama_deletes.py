"""A hostile LlamaIndex user's deletes and adds, against ``SimpleVectorStore`` (Milvus Lite).

Found by a helper's pass (2026-12-07, RELIABILITY row 138); each test failed on the code
before its fix:

* the key ``document_id``, one of the three names LlamaIndex's ``node_to_metadata_dict``
  writes the source document under, was read as a metadata key nobody wrote: a
  ``delete_nodes`` filter on it deleted nothing, silently;
* ``milvus_partition_names=None`` in a call's kwargs dropped the store's own partitions,
  so a store confined to one partition deleted in every partition;
* ``ref_doc_id == ""`` (a variable left unset) deleted every node without a source
  document, and every LangChain row of a shared collection, where ``delete("")`` is
  refused;
* two tenants adding one node id at the same moment were both told it was written, and
  one tenant's node was taken over;
* after ``clear()``, an add with another model's dimension was refused, naming a
  collection that no longer existed.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import pytest
from langchain_core.documents import Document as LangChainDocument
from langchain_core.embeddings import Embeddings
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores import SimpleVectorStore
from llama_index.core.vector_stores.types import (
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
)

from milvus_plugins.core import FilterError, InvalidInputError, TenantMismatchError, WriteError
from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
from milvus_plugins.llama_index import MilvusVectorStore

DIM = 8


def vec(text: str, dim: int = DIM) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [b / 255.0 - 0.49 for b in digest[:dim]]


def node(
    node_id: str, ref: str | None = None, text: str | None = None, dim: int = DIM, **meta: Any
) -> TextNode:
    made = TextNode(id_=node_id, text=text or f"text of {node_id}", metadata=meta)
    if ref is not None:
        made.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=ref)
    made.embedding = vec(made.text, dim)
    return made


def ids(store: MilvusVectorStore | SimpleVectorStore) -> list[str]:
    if isinstance(store, SimpleVectorStore):
        return sorted(store.data.embedding_dict)
    return sorted(n.node_id for n in store.get_nodes())


class HashEmbeddings(Embeddings):
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [vec(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return vec(text)


def _both(uri: str) -> tuple[MilvusVectorStore, SimpleVectorStore]:
    ours, ref = MilvusVectorStore(uri=uri, collection_name="c"), SimpleVectorStore()
    made = [node("a1", ref="a"), node("a2", ref="a"), node("b1", ref="b")]
    ours.add([n.model_copy(deep=True) for n in made])
    ref.add([n.model_copy(deep=True) for n in made])
    return ours, ref


@pytest.mark.parametrize("key", ["document_id", "doc_id", "ref_doc_id"])
def test_every_name_of_the_source_document_deletes_its_nodes(tmp_path: Path, key: str) -> None:
    ours, ref = _both(str(tmp_path / "m.db"))
    by_document = MetadataFilters(filters=[MetadataFilter(key=key, value="a")])
    ref.delete_nodes(filters=by_document)
    ours.delete_nodes(filters=by_document)
    assert ids(ours) == ids(ref) == ["b1"]
    ours.client.close()


def test_a_query_on_document_id_finds_the_documents_nodes(tmp_path: Path) -> None:
    ours, ref = _both(str(tmp_path / "m.db"))
    query = VectorStoreQuery(
        query_embedding=vec("q"),
        similarity_top_k=5,
        filters=MetadataFilters(
            filters=[MetadataFilter(key="document_id", value=["a"], operator=FilterOperator.IN)]
        ),
    )
    assert sorted(ours.query(query).ids or []) == sorted(ref.query(query).ids or [])
    assert sorted(ours.query(query).ids or []) == ["a1", "a2"]


def _partitioned(uri: str) -> tuple[MilvusVectorStore, MilvusVectorStore]:
    admin = MilvusVectorStore(uri=uri, collection_name="c")
    admin.add([node("seed")])
    admin.client.create_partition("c", "p1")
    admin.client.create_partition("c", "p2")
    admin.delete_nodes(node_ids=["seed"])
    p1 = MilvusVectorStore(uri=uri, collection_name="c", milvus_partition_names=["p1"])
    p2 = MilvusVectorStore(uri=uri, collection_name="c", milvus_partition_names=["p2"])
    p1.add([node("x1", ref="d")])
    p2.add([node("x2", ref="d")])
    return admin, p1


@pytest.mark.parametrize("call", ["delete", "delete_nodes", "adelete", "query"])
def test_partition_names_none_means_the_stores_own(tmp_path: Path, call: str) -> None:
    # As tenant=None does: None is "not given", never "every partition".
    admin, p1 = _partitioned(str(tmp_path / "m.db"))
    kwargs: dict[str, Any] = {"milvus_partition_names": None}
    if call == "delete":
        p1.delete("d", **kwargs)
    elif call == "delete_nodes":
        p1.delete_nodes(node_ids=["x1", "x2"], **kwargs)
    elif call == "adelete":
        asyncio.run(p1.adelete("d", **kwargs))
    else:
        found = p1.query(VectorStoreQuery(query_embedding=vec("q"), similarity_top_k=5), **kwargs)
        assert found.ids == ["x1"]
        return
    assert ids(admin) == ["x2"]


@pytest.mark.parametrize(
    ("operator", "value"),
    [
        (FilterOperator.EQ, ""),
        (FilterOperator.NE, ""),
        (FilterOperator.IN, ["", "mine"]),
        (FilterOperator.NIN, [""]),
        (FilterOperator.LTE, ""),
        (FilterOperator.GT, ""),
        (FilterOperator.TEXT_MATCH, ""),  # `doc_id like "%%"`: every row
    ],
)
@pytest.mark.parametrize("key", ["ref_doc_id", "doc_id", "document_id"])
def test_an_empty_document_id_in_a_filter_is_refused_and_nothing_changes(
    tmp_path: Path, key: str, operator: FilterOperator, value: Any
) -> None:
    uri = str(tmp_path / "m.db")
    ours = MilvusVectorStore(uri=uri, collection_name="shared")
    ours.add([node("li1", ref="mine"), node("orphan")])
    langchain = LangChainStore(
        embedding_function=HashEmbeddings(), connection_args={"uri": uri}, collection_name="shared"
    )
    langchain.add_documents([LangChainDocument(page_content="langchain doc", id="lc1")])
    careless = MetadataFilters(filters=[MetadataFilter(key=key, value=value, operator=operator)])
    with pytest.raises(FilterError, match=r"empty document id.*IS_EMPTY"):
        ours.delete_nodes(filters=careless)
    with pytest.raises(FilterError, match="empty document id"):
        ours.query(VectorStoreQuery(query_embedding=vec("q"), filters=careless))
    assert ids(ours) == ["lc1", "li1", "orphan"]
    # Nodes without a source document are asked for by name.
    no_source = MetadataFilters(
        filters=[MetadataFilter(key=key, value=None, operator=FilterOperator.IS_EMPTY)]
    )
    assert sorted(n.node_id for n in ours.get_nodes(filters=no_source)) == ["lc1", "orphan"]


def test_two_tenants_adding_one_id_at_once_are_told_as_if_in_turn(tmp_path: Path) -> None:
    # Serially the second add raises TenantMismatchError; concurrently both were told
    # the node was written and one tenant's node was taken over (6 of 10 runs). Each
    # batch's id check now runs in the write's own turn on the database.
    taken_over = []
    for trial in range(8):
        store = MilvusVectorStore(
            uri=str(tmp_path / f"m{trial}.db"),
            collection_name="c",
            partition_key="org",
            metadata_fields={"org": "VARCHAR"},
        )
        store.add([node("seed", org="t0")])

        async def both(store: MilvusVectorStore = store) -> list[Any]:
            return await asyncio.gather(
                store.async_add([node("X", text="t1 text")], tenant="t1"),
                store.async_add([node("X", text="t2 text")], tenant="t2"),
                return_exceptions=True,
            )

        outcomes = asyncio.run(both())
        written = [o for o in outcomes if not isinstance(o, BaseException)]
        refused = [o for o in outcomes if isinstance(o, BaseException)]
        if len(written) != 1:
            taken_over.append((trial, outcomes))
            continue
        assert isinstance(refused[0], (TenantMismatchError, WriteError)), refused
        winner = "t1" if outcomes[0] == ["X"] else "t2"
        rows = store.client.query(
            "c", filter='id == "X"', output_fields=["org", "text"], consistency_level="Strong"
        )
        assert [(r["org"], r["text"]) for r in rows] == [(winner, f"{winner} text")]
        store.client.close()
    assert taken_over == []


def test_an_add_after_clear_takes_the_new_models_dimension(tmp_path: Path) -> None:
    store = MilvusVectorStore(uri=str(tmp_path / "m.db"), collection_name="c")
    store.add([node("a")])
    store.clear()
    assert not store.client.has_collection("c")
    store.add([node("b", dim=16)])
    assert ids(store) == ["b"]
    with pytest.raises(InvalidInputError, match="dimension"):
        store.add([node("c", dim=8)])  # the new collection's dimension holds
