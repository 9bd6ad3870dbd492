"""LlamaIndex adapter: ``MilvusVectorStore`` on the shared Milvus core.

Example:
    >>> from milvus_plugins.llama_index import MilvusVectorStore
    >>> store = MilvusVectorStore(uri="./milvus.db", collection_name="docs", enable_sparse=True)
"""

from milvus_plugins.core import (
    RRF,
    Weighted,
)
from milvus_plugins.llama_index.embeddings import MiniLMEmbedding
from milvus_plugins.llama_index.filters import to_core_filter
from milvus_plugins.llama_index.metadata_info import describe_vector_store
from milvus_plugins.llama_index.nodes import node_to_record, record_to_node
from milvus_plugins.llama_index.vector_store import MilvusVectorStore

__all__ = [
    "RRF",
    "MilvusVectorStore",
    "MiniLMEmbedding",
    "Weighted",
    "describe_vector_store",
    "node_to_record",
    "record_to_node",
    "to_core_filter",
]
