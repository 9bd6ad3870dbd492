"""describe_vector_store: a VectorStoreInfo for auto-retrieval, built from the collection."""

from __future__ import annotations

from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import VectorStoreInfo
from tests.llama_index.conftest import KeywordEmbedding

from milvus_plugins.llama_index import MilvusVectorStore, describe_vector_store


def test_vector_store_info_lists_typed_and_sampled_keys(
    lite_uri: str, embed_model: KeywordEmbedding
) -> None:
    store = MilvusVectorStore(
        uri=lite_uri, collection_name="papers", metadata_fields={"year": "INT64"}
    )
    rows = [
        ("a", "cancer", 2019, ["p53"], True),
        ("b", "cancer", 2020, ["brca1", "brca2"], False),
        ("c", "immunology", 2021, [], True),
    ]
    nodes = [
        TextNode(
            id_=node_id,
            text=f"{topic} paper {node_id}",
            metadata={"topic": topic, "year": year, "genes": genes, "peer_reviewed": reviewed},
            embedding=embed_model.get_text_embedding(f"{topic} paper {node_id}"),
        )
        for node_id, topic, year, genes, reviewed in rows
    ]
    store.add(nodes)

    info = describe_vector_store(store, "abstracts of biomedical papers", max_distinct=5)
    assert isinstance(info, VectorStoreInfo)
    assert info.content_info == "abstracts of biomedical papers"
    by_name = {m.name: m for m in info.metadata_info}
    assert info.metadata_info[0].name == "year"
    assert {name: m.type for name, m in by_name.items()} == {
        "year": "int",
        "genes": "list[str]",
        "peer_reviewed": "bool",
        "topic": "str",
    }
    assert "one of: 'cancer', 'immunology'" in by_name["topic"].description
    # The info renders into the auto-retriever's prompt as JSON.
    assert "'cancer', 'immunology'" in info.model_dump_json()
