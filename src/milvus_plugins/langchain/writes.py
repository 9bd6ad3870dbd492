"""The LangChain store's writes: add texts and documents, and delete, sync and async (a mixin).

Each pair of twins resolves its call once (batch, records, scope, filter) and differs
only in the awaited store call and embedding.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NoReturn

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from milvus_plugins.core import (
    InvalidInputError,
    Record,
    check_kwargs,
    checked_methods_of,
    with_batch_rows,
)
from milvus_plugins.langchain.access import StoreAccess
from milvus_plugins.langchain.documents import Batch, documents_batch, embedded
from milvus_plugins.langchain.filters import FilterArg, deletion_filter
from milvus_plugins.langchain.official_names import CALL_HINTS
from milvus_plugins.langchain.search_calls import KWARG_TYPES, SCOPE_KWARGS, WRITE_KWARGS

__all__ = ["DocumentWrites"]


def _embedded(records: list[Record], by_field: Mapping[str, list[list[float]]]) -> list[Record]:
    """The records with their vectors, by dense field name (the canonical field first)."""
    fields = list(by_field.items())
    vectors = fields[0][1] if fields else None
    return embedded(records, vectors, dict(fields[1:]))


class _Omitted(enum.Enum):
    """The default of ``delete``'s ``filter``, told apart from a ``None`` passed."""

    FILTER = "no filter passed"


# Typed Any: the signature shows (and the argument check names) the filter types only.
_NO_FILTER: Any = _Omitted.FILTER
# Scope arguments that, passed as None, name no scope (``delete(tenant=None)``).
_SCOPES = ("tenant", "partition_names")


def _deletion(
    method: str,
    ids: Sequence[str] | None,
    filter: FilterArg,
    kwargs: Mapping[str, Any],
) -> dict[str, Any] | None:
    """The core ``delete`` arguments (``None``: neither ids nor filter, delete all).

    Raises:
        InvalidInputError: ``filter=None``, ``tenant=None`` or ``partition_names=None``
            passed without ids and filter (each names nothing; a value built from empty
            input must not become "delete every row").
    """
    check_kwargs(method, kwargs, SCOPE_KWARGS, KWARG_TYPES, CALL_HINTS)
    if filter is _NO_FILTER:
        if ids is None:
            for name in _SCOPES:
                if name in kwargs and kwargs[name] is None:
                    _refuse_none(method, name)
            return None  # delete() / delete(None): LangChain's "delete all"
        filter = None
    elif filter is None and ids is None:
        _refuse_none(method, "filter")
    return {"ids": ids, "filter": deletion_filter(filter), **kwargs}


def _refuse_none(method: str, name: str) -> NoReturn:
    raise InvalidInputError(
        f"{method}({name}=None) without ids or a filter names no rows: a {name} of None "
        "(e.g. one built from empty input) is not 'delete every row'. Nothing was deleted. "
        f"Pass ids or a filter{'' if name == 'filter' else f' (within a {name})'}; to "
        "delete every document on purpose, call "
        f"{method}() with no arguments (or clear())."
    )


def _upserted(
    ids: list[str] | None, documents: list[Document] | None
) -> tuple[list[Document], list[str] | None]:
    """The ``add_documents`` arguments of an official-style ``upsert(ids, documents)``.

    Raises:
        InvalidInputError: documents in the ``ids`` slot, or ids without documents.
    """
    if ids is not None and any(isinstance(i, Document) for i in ids):
        raise InvalidInputError(
            "upsert(ids, documents) takes the ids first: pass upsert(documents=[...]) or "
            "upsert(ids=[...], documents=[...]) (or add_documents(documents)). Nothing was "
            "written."
        )
    if not documents:
        if ids:
            raise InvalidInputError(
                f"upsert() was given {len(ids)} ids and no documents; pass documents=[...] "
                "with one document per id. Nothing was written."
            )
        return [], None
    return documents, ids


@checked_methods_of("MilvusVectorStore")
class DocumentWrites(StoreAccess):
    """``add_texts``, ``add_documents``, ``upsert`` and ``delete``, with their async twins."""

    def _batch(
        self,
        method: str,
        texts: Iterable[str],
        metadatas: list[dict[str, Any]] | None,
        ids: list[str] | None,
        kwargs: Mapping[str, Any],
    ) -> tuple[Batch, int]:
        """The checked batch of a write and its rows per request (no I/O)."""
        check_kwargs(method, kwargs, WRITE_KWARGS, KWARG_TYPES, CALL_HINTS)
        options = with_batch_rows(
            self._store.write_options, kwargs.get("batch_size"), field="batch_size"
        )
        return Batch.of(texts, metadatas, ids), options.batch_rows

    def _write(
        self, batch: Batch, batch_rows: int, kwargs: Mapping[str, Any]
    ) -> tuple[list[Record], Embeddings | None, dict[str, Any]]:
        """The records of a write, the model that streams them, and the ``upsert`` arguments.

        Resolved once the server's capabilities are known (they decide what is refused).
        """
        scope = self._store.scope(
            tenant=kwargs.get("tenant"), partition_name=kwargs.get("partition_name")
        )
        args = {
            "progress": kwargs.get("progress"),
            "batch_rows": batch_rows,
            "tenant": scope.tenant,
            "partition_name": scope.partition_name,
        }
        if self._embedding is not None and len(self._models) == 1:
            # One model: embedded and written a batch at a time (streamed); the core
            # checks every record (tenant stamp included) before the first embedding.
            return batch.unchecked_records(), self._embedding, args
        # Named dense fields (each its own model) or none (sparse-only): embedded whole,
        # after every record is checked (refused here, before anything is embedded).
        return batch.records(self._store, kwargs.get("tenant")), None, args

    def add_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        """Embed and upsert texts (an existing id is replaced, never duplicated).

        Every text, id and metadata dict is checked before the first text is embedded;
        then the texts are embedded and written a batch at a time (the next batch is
        embedded while the current one is written), so memory stays bounded by two
        batches and the progress bar moves while the model runs.

        Args:
            texts: the texts.
            metadatas: one JSON-serialisable metadata dict per text.
            ids: one id per text; ``None`` entries (or no list) get a generated id.
            **kwargs: ``progress`` (bool) to force the progress bar on or off;
                ``batch_size`` (int), the most rows per write request for this call
                (LangChain's indexing API passes it); ``tenant`` (stamped into the
                partition key; default: the store's); ``partition_name`` (the
                partition to write into).

        Returns:
            The ids, in input order.

        Raises:
            InvalidInputError: mismatched lengths, texts or ids given as a set (no order
                to pair them by), or a bad record (nothing embedded or written).
            WriteError: a batch failed after retries, or the model failed after some
                batches were written (lists written and unwritten ids).
        """
        return self._add("add_texts", texts, metadatas, ids, kwargs)

    def _add(
        self,
        method: str,
        texts: Iterable[str],
        metadatas: list[dict[str, Any]] | None,
        ids: list[str] | None,
        kwargs: Mapping[str, Any],
    ) -> list[str]:
        """:meth:`add_texts`, its refusals naming ``method`` (the one the caller called)."""
        batch, batch_rows = self._batch(method, texts, metadatas, ids, kwargs)
        if not batch.texts:
            return []
        _ = self._store.capabilities  # what the server can store decides what is refused
        if len(self._models) > 1:
            # Several models embed the whole batch at once: an existing collection is
            # opened first, so one this write would refuse is refused before they run.
            self._store.exists()
        records, streamed, args = self._write(batch, batch_rows, kwargs)
        if streamed is not None:
            return self._store.upsert(records, embed=streamed.embed_documents, **args)
        scope = {"tenant": args["tenant"], "partition_name": args["partition_name"]}
        self._store.check_write(records, **scope)
        by_field = {n: m.embed_documents(batch.texts) for n, m in self._models.items()}
        return self._store.upsert(_embedded(records, by_field), **args)

    async def aadd_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        """Async twin of :meth:`add_texts`."""
        return await self._aadd("aadd_texts", texts, metadatas, ids, kwargs)

    async def _aadd(
        self,
        method: str,
        texts: Iterable[str],
        metadatas: list[dict[str, Any]] | None,
        ids: list[str] | None,
        kwargs: Mapping[str, Any],
    ) -> list[str]:
        """:meth:`aadd_texts`, its refusals naming ``method``."""
        batch, batch_rows = self._batch(method, texts, metadatas, ids, kwargs)
        if not batch.texts:
            return []
        await self._astore().capabilities()  # as in add_texts
        if len(self._models) > 1:
            await self._astore().exists()  # as in add_texts
        records, streamed, args = self._write(batch, batch_rows, kwargs)
        if streamed is not None:
            return await self._astore().upsert(records, embed=streamed.aembed_documents, **args)
        scope = {"tenant": args["tenant"], "partition_name": args["partition_name"]}
        await self._astore().check_write(records, **scope)
        by_field = {n: await m.aembed_documents(batch.texts) for n, m in self._models.items()}
        return await self._astore().upsert(_embedded(records, by_field), **args)

    def add_documents(self, documents: list[Document], **kwargs: Any) -> list[str]:
        """Embed and upsert documents, keeping ``Document.id`` (generated when absent).

        Args:
            documents: the documents (not modified).
            **kwargs: ``ids`` (wins over ``Document.id``), ``progress`` and
                ``batch_size`` (as for :meth:`add_texts`).

        Returns:
            The ids, in input order.
        """
        return self._add_documents("add_documents", documents, kwargs)

    def _add_documents(
        self, method: str, documents: list[Document], kwargs: dict[str, Any]
    ) -> list[str]:
        batch = documents_batch(documents, kwargs.pop("ids", None))
        return self._add(method, batch.texts, batch.metadatas, batch.ids, kwargs)

    async def aadd_documents(self, documents: list[Document], **kwargs: Any) -> list[str]:
        """Async twin of :meth:`add_documents`."""
        return await self._aadd_documents("aadd_documents", documents, kwargs)

    async def _aadd_documents(
        self, method: str, documents: list[Document], kwargs: dict[str, Any]
    ) -> list[str]:
        batch = documents_batch(documents, kwargs.pop("ids", None))
        return await self._aadd(method, batch.texts, batch.metadatas, batch.ids, kwargs)

    def upsert(
        self,
        ids: list[str] | None = None,
        documents: list[Document] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        """langchain-milvus' ``upsert(ids, documents)``: :meth:`add_documents` with ``ids``.

        Every write of this store replaces the rows of the ids it writes, so this is
        :meth:`add_documents` under the official integration's name and argument order.

        Args:
            ids: one id per document (``None``: each ``Document.id``, generated when
                absent).
            documents: the documents (``None`` or empty, with no ``ids``: nothing to do).
            **kwargs: as for :meth:`add_documents`.

        Returns:
            The ids written, in input order.

        Raises:
            InvalidInputError: ``ids`` without ``documents``, or documents given as
                ``ids`` (the argument order of ``add_documents``): nothing is written.
        """
        documents, ids = _upserted(ids, documents)
        return self._add_documents("upsert", documents, {**kwargs, "ids": ids})

    async def aupsert(
        self,
        ids: list[str] | None = None,
        documents: list[Document] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        """Async twin of :meth:`upsert`."""
        documents, ids = _upserted(ids, documents)
        return await self._aadd_documents("aupsert", documents, {**kwargs, "ids": ids})

    def delete(
        self,
        ids: Sequence[str] | None = None,
        *,
        filter: FilterArg = _NO_FILTER,
        **kwargs: Any,
    ) -> bool:
        """Delete by ids, by filter, or both (a row must then match both).

        With neither, every document is deleted, as LangChain's contract says
        (``ids=None`` means "delete all"); the collection itself stays. On a store with
        a tenant (or with ``tenant=``) "every document" is the tenant's, and with
        ``partition_names=`` the partitions'. A ``filter``
        that matches every row by itself (``{}``, ``""``, an empty ``and_()``) is
        refused, and so is ``filter=None`` (or ``tenant=None``, ``partition_names=None``)
        passed without ids and filter (a value built from empty input): call ``delete()``
        with no arguments to delete everything on purpose.

        Args:
            ids: the ids to delete (unknown ids are ignored); a list, never one string.
            filter: a filter dict, a core filter or a raw expression (raw expressions
                are the caller's responsibility: one that always holds deletes all).
            **kwargs: ``tenant`` (delete only this tenant's rows; default: the
                store's) and ``partition_names`` (only in these partitions).

        Returns:
            ``True`` once the deletion was applied (errors raise).

        Raises:
            InvalidInputError: ``ids`` is a single string or holds a non-string or
                ``""``, ``filter`` matches every row, or ``filter=None`` without ids.
            FilterError: a malformed filter.
        """
        args = _deletion("delete", ids, filter, kwargs)
        if args is None:
            self._store.clear(**kwargs)
        else:
            self._store.delete(**args)
        return True

    async def adelete(
        self,
        ids: Sequence[str] | None = None,
        *,
        filter: FilterArg = _NO_FILTER,
        **kwargs: Any,
    ) -> bool:
        """Async twin of :meth:`delete`."""
        args = _deletion("adelete", ids, filter, kwargs)
        if args is None:
            await self._astore().clear(**kwargs)
        else:
            await self._astore().delete(**args)
        return True
