"""LangChain adapter: :class:`MilvusVectorStore` on the shared Milvus core.

``MiniLMEmbeddings`` (offline all-MiniLM-L6-v2) is re-exported lazily, so importing this
package never loads the embedding stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from milvus_plugins.core import (
    RRF,
    BM25Encoder,
    RetrievalMode,
    Weighted,
    shown,
)
from milvus_plugins.langchain.filters import dict_to_filter, to_core_filter
from milvus_plugins.langchain.self_query import MilvusTranslator, describe_metadata
from milvus_plugins.langchain.vectorstore import MilvusVectorStore

if TYPE_CHECKING:
    from milvus_plugins.langchain.embeddings import MiniLMEmbeddings

__all__ = [
    "RRF",
    "BM25Encoder",
    "MilvusTranslator",
    "MilvusVectorStore",
    "MiniLMEmbeddings",
    "RetrievalMode",
    "Weighted",
    "describe_metadata",
    "dict_to_filter",
    "to_core_filter",
]


def __getattr__(name: str) -> Any:
    if name == "MiniLMEmbeddings":
        from milvus_plugins.langchain.embeddings import MiniLMEmbeddings

        return MiniLMEmbeddings
    raise AttributeError(f"module {shown(__name__)} has no attribute {shown(name)}")
