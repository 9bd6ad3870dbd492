"""Runners: execute the steps of a sans-I/O operation (:mod:`milvus_plugins.core.ops`).

:class:`~.sync.SyncRunner` drives an operation on a ``MilvusClient``,
:class:`~.aio.AsyncRunner` on one ``AsyncMilvusClient`` per event loop. Each writes
retry, deadline and error translation once; neither holds operation logic.
"""
