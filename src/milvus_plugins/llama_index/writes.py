"""The LlamaIndex store's writes: add, delete and clear, sync and async (a mixin).

Each pair of twins resolves its call once (scope, records, filter) and differs only in
the awaited store call and embedding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from llama_index.core.schema import BaseNode, MetadataMode
from llama_index.core.vector_stores.types import MetadataFilters

from milvus_plugins.core import (
    Filter,
    InvalidInputError,
    Record,
    and_,
    check_kwargs,
    checked_methods_of,
    doc_id_in,
    id_in,
    id_list,
    shown,
)
from milvus_plugins.llama_index.access import SCOPE_KWARGS, SCOPE_TYPES, StoreAccess
from milvus_plugins.llama_index.official_names import CALL_HINTS
from milvus_plugins.llama_index.queries import node_filter

__all__ = ["NodeWrites"]


def _ref_doc_filter(ref_doc_id: Any) -> Filter:
    # `""` is the doc_id of nodes *without* a source document (and of every LangChain
    # row in a shared collection), and None would be looked up as the text "None".
    if not isinstance(ref_doc_id, str) or not ref_doc_id:
        raise InvalidInputError(
            f"ref_doc_id={shown(ref_doc_id)} must be a non-empty string (the id of the source "
            "document whose nodes to delete); use delete_nodes() for nodes by id or filter."
        )
    return doc_id_in([ref_doc_id])


def _scope_of(args: Mapping[str, Any]) -> dict[str, Any]:
    """The scope (tenant, partition) of a write's ``upsert`` arguments."""
    return {"tenant": args.get("tenant"), "partition_name": args.get("partition_name")}


def _embed_texts(nodes: Sequence[BaseNode]) -> list[str]:
    # What LlamaIndex itself embeds for a node (its text with the embed-mode metadata).
    return [n.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes]


def _with_named(records: list[Record], named: Mapping[str, Sequence[Any]]) -> list[Record]:
    """The records, each with its vectors of the named dense fields.

    Raises:
        InvalidInputError: a field's model returned another number of vectors than
            there are nodes (nothing is written).
    """
    if not named:
        return records
    for name, vectors in named.items():
        count = len(vectors) if isinstance(vectors, Sequence) else None
        if count != len(records):
            got = f"{count} vectors" if count is not None else type(vectors).__name__
            raise InvalidInputError(
                f"the embedding model of vector field {name!r} returned {got} for "
                f"{len(records)} nodes; it must return one vector per node (nothing was "
                "written)."
            )
    for position, record in enumerate(records):
        record.vectors = {name: vectors[position] for name, vectors in named.items()}
    return records


@checked_methods_of("MilvusVectorStore")
class NodeWrites(StoreAccess):
    """``add``, ``delete``, ``delete_nodes`` and ``clear``, with their async twins."""

    def _write(
        self, nodes: Sequence[BaseNode], kwargs: Mapping[str, Any], method: str
    ) -> tuple[list[Record], list[str], dict[str, Any]]:
        """The records of ``nodes`` (checked), the texts the named fields' models embed,
        and the core ``upsert`` arguments (scope, progress); no I/O."""
        scope = self._write_scope(kwargs, method)
        # A sync add without named fields' models runs no code of the caller's between
        # here and the rows: the nodes' metadata is read as it is. Otherwise (other tasks
        # at each await, the models) each record takes a copy of it now.
        records = self._records(nodes, snapshot=method != "add" or bool(self._models))
        texts = _embed_texts(nodes) if self._models else []
        return records, texts, {"progress": kwargs.get("progress"), **scope}

    def add(self, nodes: Sequence[BaseNode], **add_kwargs: Any) -> list[str]:
        """Upsert nodes with their embeddings (by node id: re-adding never duplicates).

        Args:
            nodes: the nodes; each needs an embedding (empty text is stored as given).
            **add_kwargs: ``progress`` (bool) forces the progress bar on or off;
                ``tenant`` (stamped into the partition key; default: the store's);
                ``partition_name`` (the partition to write into; default: the one
                ``milvus_partition_names`` names; ``milvus_partition_name``, the
                official integration's name, is taken too); ``force_flush=True``
                flushes the collection after the write (Milvus Lite writes are
                flushed anyway).

        Returns:
            The node ids, in input order.

        Raises:
            InvalidInputError: a node without embedding or text, or with a wrong
                dimension or non-JSON metadata; an ``IndexNode.obj`` that would not read
                back as written; a ``vector_fields`` model returning another number of
                vectors than nodes (nothing is written).
            WriteError: a batch failed after retries; lists the ids written.
        """
        records, texts, args = self._write(nodes, add_kwargs, "add")
        if self._models:  # what the write would refuse is refused before the models run
            self._store.check_write(records, **_scope_of(args))
        named = {n: m.get_text_embedding_batch(texts) for n, m in self._models.items()}
        ids = self._store.upsert(_with_named(records, named), **args)
        if add_kwargs.get("force_flush"):
            self._store.flush()
        return ids

    async def async_add(self, nodes: Sequence[BaseNode], **kwargs: Any) -> list[str]:
        """Async twin of :meth:`add`."""
        records, texts, args = self._write(nodes, kwargs, "async_add")
        if self._models:
            await self.async_store.check_write(records, **_scope_of(args))
        named = {n: await m.aget_text_embedding_batch(texts) for n, m in self._models.items()}
        ids = await self.async_store.upsert(_with_named(records, named), **args)
        if kwargs.get("force_flush"):
            await self.async_store.flush()
        return ids

    def _ref_doc_deletion(
        self, ref_doc_id: Any, kwargs: Mapping[str, Any], method: str
    ) -> dict[str, Any]:
        """The core ``delete`` arguments of :meth:`delete` (no I/O)."""
        check_kwargs(method, kwargs, SCOPE_KWARGS, SCOPE_TYPES, CALL_HINTS)
        scope = self._scope(kwargs)
        return {"filter": _ref_doc_filter(ref_doc_id), **scope}

    def delete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        """Delete every node of the source document ``ref_doc_id`` (in the call's scope).

        ``delete_kwargs``: ``tenant`` and ``milvus_partition_names`` (default: the
        store's).

        Raises:
            InvalidInputError: ``ref_doc_id`` is not a non-empty string.
        """
        self._store.delete(**self._ref_doc_deletion(ref_doc_id, delete_kwargs, "delete"))

    async def adelete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        """Async twin of :meth:`delete`."""
        args = self._ref_doc_deletion(ref_doc_id, delete_kwargs, "adelete")
        await self.async_store.delete(**args)

    def _nodes_deletion(
        self,
        node_ids: Sequence[str] | None,
        filters: MetadataFilters | None,
        kwargs: Mapping[str, Any],
    ) -> dict[str, Any] | None:
        """The core ``delete`` arguments of :meth:`delete_nodes` (``None``: nothing to do)."""
        check_kwargs("delete_nodes", kwargs, SCOPE_KWARGS, SCOPE_TYPES, CALL_HINTS)
        if node_ids is not None:
            node_ids = id_list(node_ids, "node_ids")
        if node_ids is None and (filters is None or not filters.filters):
            raise InvalidInputError(
                "delete_nodes needs node_ids= or filters=; use clear() to delete every node."
            )
        where: Filter | None
        if node_ids is not None and not node_ids:
            # Nothing to delete; the core still checks the filters against the schema.
            metadata = node_filter(filters, spec=self._store.spec)
            where = None if metadata is None else and_(id_in([]), metadata)
        else:
            # Nested filters that match everything (MetadataFilters(filters=[MetadataFilters(
            # filters=[])])) are refused by the core delete, like the flat empty form above.
            where = node_filter(filters, node_ids, spec=self._store.spec)
        scope = self._scope(kwargs)
        return None if where is None else {"filter": where, **scope}

    def delete_nodes(
        self,
        node_ids: list[str] | None = None,
        filters: MetadataFilters | None = None,
        **delete_kwargs: Any,
    ) -> None:
        """Delete the nodes with these ids and/or matching these filters (both: AND).

        Raises:
            InvalidInputError: neither ``node_ids`` nor ``filters`` given, or filters
                that match every node however they are nested (use :meth:`clear` to
                delete everything); ``node_ids`` that are a single string or hold a
                non-string or ``""``.
        """
        if self._filters_open_first(filters):
            self._store.exists()  # its declared fields decide what the filters mean
        args = self._nodes_deletion(node_ids, filters, delete_kwargs)
        if args is not None:
            self._store.delete(**args)

    async def adelete_nodes(
        self,
        node_ids: list[str] | None = None,
        filters: MetadataFilters | None = None,
        **delete_kwargs: Any,
    ) -> None:
        """Async twin of :meth:`delete_nodes`."""
        if self._filters_open_first(filters):
            await self.async_store.exists()  # as in delete_nodes
        args = self._nodes_deletion(node_ids, filters, delete_kwargs)
        if args is not None:
            await self.async_store.delete(**args)

    def clear(self) -> None:
        """Delete every node.

        A collection this store created is dropped (the next ``add`` creates it again,
        with the next model's dimension). One it found (made by another store, another
        tool, or an earlier run) keeps its schema and loses its rows: dropped, it would
        come back with this store's settings (without the BM25 field, text match,
        partition key or typed fields it was opened with, or in this package's layout
        under another tool's name). A store with a tenant, in strict tenant mode or
        with ``milvus_partition_names`` deletes only the nodes of its scope, and a
        collection an alias names is never dropped (its readers would lose it).

        Raises:
            TenantRequiredError: strict tenant mode and no tenant.
        """
        if self._scoped_store:
            self._store.clear(**self._scope({}))
        else:
            self._store.reset()

    async def aclear(self) -> None:
        """Async twin of :meth:`clear`."""
        if self._scoped_store:
            await self.async_store.clear(**self._scope({}))
        else:
            await self.async_store.reset()
