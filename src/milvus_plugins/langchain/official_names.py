"""langchain-milvus' (0.4) names for what this store calls otherwise, and the fix to name.

Code copied from the official integration passes them. Four constructor arguments are
taken with the same meaning (``embedding_function``, ``connection_args``,
``index_params``, ``partition_key_field``: parameters of the store). The others here are
refused, before anything is created, embedded or written, with these hints; a keyword
that is neither is refused with the accepted name it most resembles.
"""

from __future__ import annotations

__all__ = ["CALL_HINTS", "METHOD_HINTS", "SETTING_HINTS"]

_LAYOUT = (
    "this store names its own fields (id, text, vector, metadata); to read a collection "
    "of another layout, pass field_mapping=FieldMapping(...)"
)

SETTING_HINTS: dict[str, str] = {
    "auto_id": "ids are generated for texts given none (and kept when given): leave it out",
    "primary_field": _LAYOUT,
    "text_field": _LAYOUT,
    "metadata_field": _LAYOUT,
    "vector_field": _LAYOUT + "; several dense fields: embedding={'name': model, ...}",
    "vector_schema": "dense fields follow the models: embedding={'name': model}, dim=, metric=",
    "enable_dynamic_field": (
        "every metadata key is kept without it (undeclared keys in a JSON column): leave it "
        "out, or declare typed keys with metadata_fields=[MetadataField(...)]"
    ),
    "metadata_schema": "declare typed keys with metadata_fields=[MetadataField(name, type)]",
    "builtin_function": (
        "server-side BM25 is sparse='bm25' (with retrieval_mode='sparse' or 'hybrid')"
    ),
    "partition_names": (
        "partitions are chosen per call: similarity_search(..., partition_names=[...]), "
        "add_texts(..., partition_name=...)"
    ),
    "timeout": "pass connection=ConnectionConfig(uri=..., timeout=...)",
    "replica_number": "pass collection_properties=CollectionProperties(replicas=...)",
    "num_shards": "pass collection_properties=CollectionProperties(num_shards=...)",
    "collection_description": (
        "the core sets one: MilvusStore(CollectionSpec(name, dim, description=...))"
    ),
}
"""Constructor arguments of ``langchain_milvus.Milvus`` this store does not take."""

CALL_HINTS: dict[str, str] = {
    "expr": "a raw Milvus expression goes in filter=",
    "param": "search knobs go in search_params=",
    "timeout": "the call timeout is the connection's: ConnectionConfig(timeout=...)",
}
"""Keyword arguments of the official store's methods that ours do not take."""

METHOD_HINTS: dict[str, str] = {
    "get_pks": (
        "this store has no get_pks(expr): similarity_search('', k=..., filter=expr) returns "
        "the matching documents (their .id), and store.store.query(filter=expr) the records"
    ),
    "search_by_metadata": (
        "this store has no search_by_metadata(expr, limit): a blank query is filter-only, "
        "similarity_search('', k=limit, filter=expr)"
    ),
}
"""Methods of the official store that this one does not have."""
