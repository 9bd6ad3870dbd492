"""A LlamaIndex ``VectorStoreInfo`` generated from the collection, for auto-retrieval.

``VectorIndexAutoRetriever`` asks an LLM to write metadata filters from a description of
the store; :func:`describe_vector_store` builds that description from the collection's
typed columns and a sample of its JSON metadata (the shared part is
:func:`milvus_plugins.core.describe.describe_fields`), listing the values of
low-cardinality string keys so the LLM writes values that exist.
"""

from __future__ import annotations

from llama_index.core.vector_stores.types import MetadataInfo, VectorStoreInfo

from milvus_plugins.core import (
    describe_fields,
)
from milvus_plugins.llama_index.vector_store import MilvusVectorStore

__all__ = ["describe_vector_store"]

# LlamaIndex's prompts and examples spell types as Python does.
_TYPE_NAMES = {"string": "str", "integer": "int", "float": "float", "boolean": "bool"}


def _python_type(kind: str) -> str:
    if kind.startswith("list[") and kind.endswith("]"):
        return f"list[{_python_type(kind[5:-1])}]"
    return _TYPE_NAMES.get(kind, kind)


def describe_vector_store(
    store: MilvusVectorStore,
    content_info: str,
    *,
    sample_size: int = 1000,
    max_distinct: int = 10,
) -> VectorStoreInfo:
    """Describe the store's content and metadata keys for ``VectorIndexAutoRetriever``.

    Args:
        store: the vector store.
        content_info: what the documents are (e.g. ``"abstracts of biomedical papers"``).
        sample_size: rows to sample for keys of the JSON metadata (1 to 16,384).
        max_distinct: the most distinct values listed for a string key.

    Returns:
        The ``VectorStoreInfo``: one ``MetadataInfo`` per key (``str``, ``int``,
        ``float``, ``bool``, ``list[str]`` ...).

    Raises:
        ConfigError: a bad ``sample_size`` or ``max_distinct``.
    """
    fields = describe_fields(store.store, sample_size=sample_size, max_distinct=max_distinct)
    return VectorStoreInfo(
        content_info=content_info,
        metadata_info=[
            MetadataInfo(name=f.name, type=_python_type(f.type), description=f.describe())
            for f in fields
        ],
    )
