"""What the stores expose, defined once: each public operation built as an ``Op``.

:class:`StoreOperations` turns a public call's arguments into one operation
(:mod:`milvus_plugins.core.ops`: pure code, no I/O). :func:`sync_method` and
:func:`async_method` make that builder a method of :class:`~milvus_plugins.core.store.
MilvusStore` (run on the sync runner) and of :class:`~milvus_plugins.core.async_store.
AsyncMilvusStore` (awaited on the async runner): one signature, one docstring and one
request for both, so the two stores can only differ by ``await``.
"""

from milvus_plugins.core.facade.binding import async_method, sync_method
from milvus_plugins.core.facade.collection import CollectionOperations
from milvus_plugins.core.facade.data import StoreOperations

__all__ = ["CollectionOperations", "StoreOperations", "async_method", "sync_method"]
