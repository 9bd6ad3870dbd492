"""LangChain ``Document`` <-> core :class:`Record`: writes checked and completed (no I/O)."""

from __future__ import annotations

from collections.abc import ItemsView, Iterable, KeysView, Mapping, Sequence, Set
from dataclasses import dataclass
from typing import Any

from langchain_core.documents import Document

from milvus_plugins.core import (
    Hit,
    InvalidInputError,
    MilvusStore,
    Record,
    as_list,
    new_id,
    shown,
)
from milvus_plugins.core.records import OwnedRecords

__all__ = ["Batch", "documents_batch", "embedded", "scored", "to_document"]


_PARTNERS = {"texts": "metadatas and ids", "metadatas": "texts", "ids": "texts"}
"""What a set-valued argument of ``add_texts`` would be paired with (for its message)."""


def to_document(record: Record) -> Document:
    return Document(id=record.id, page_content=record.text, metadata=dict(record.metadata))


def scored(hits: Iterable[Hit]) -> list[tuple[Document, float]]:
    return [(to_document(h.record), h.score) for h in hits]


def _ordered(value: Any, field: str, of: str) -> list[Any]:
    """``value`` as a list (see :func:`as_list`), refusing an unordered collection.

    Texts, metadatas and ids are paired by position: a ``set`` (or ``frozenset``)
    iterates in an arbitrary order, so its items would be paired with the wrong
    texts. A dict's ``keys()`` / ``items()`` keep insertion order and are accepted;
    a dict itself is refused by :func:`as_list`.

    Raises:
        InvalidInputError: ``value`` is a set, a single string, a mapping or not
            iterable.
    """
    if isinstance(value, Set) and not isinstance(value, (KeysView, ItemsView)):
        raise InvalidInputError(
            f"{field} is a {type(value).__name__}, which has no order, so its {of} cannot "
            f"be paired by position with the {_PARTNERS.get(field, 'other arguments')}; pass "
            f"a list: {field}=[...] (e.g. "
            f"sorted({field}), with the other arguments in the same order)."
        )
    return as_list(value, field, of=of)


@dataclass(frozen=True)
class Batch:
    """Texts, metadata and ids of one write, checked and completed (no I/O)."""

    texts: list[str]
    metadatas: list[dict[str, Any]]
    ids: list[str]

    @classmethod
    def of(
        cls,
        texts: Iterable[str],
        metadatas: Sequence[Mapping[str, Any] | None] | None,
        ids: Sequence[str | None] | None,
    ) -> Batch:
        texts = _ordered(texts, "texts", of="texts")
        if metadatas is not None:
            metadatas = _ordered(metadatas, "metadatas", of="metadata dicts")
        if ids is not None:
            ids = _ordered(ids, "ids", of="ids")
        # Empty lists mean "none given", as in LangChain's own add_texts.
        metadatas, ids = metadatas or None, ids or None
        if metadatas is not None and len(metadatas) != len(texts):
            raise InvalidInputError(
                f"got {len(metadatas)} metadatas for {len(texts)} texts; give one per text."
            )
        if ids is not None and len(ids) != len(texts):
            raise InvalidInputError(
                f"got {len(ids)} ids for {len(texts)} texts; give one per text."
            )
        for position, metadata in enumerate(metadatas or ()):
            if metadata is not None and not isinstance(metadata, Mapping):
                raise InvalidInputError(
                    f"metadatas[{position}]={shown(metadata)} must be a dict (or None), not "
                    f"{type(metadata).__name__}."
                )
        chosen_ids = ids if ids is not None else [None] * len(texts)
        return cls(
            texts=texts,
            # Copies taken now, before any check: the model runs (and, async, other
            # tasks) before the rows are built, and a caller's dict changed meanwhile
            # must not reach the write unchecked.
            metadatas=[dict(m or {}) for m in metadatas] if metadatas else [{} for _ in texts],
            ids=[new_id() if i is None or i == "" else i for i in chosen_ids],
        )

    def records(self, store: MilvusStore, tenant: str | int | None = None) -> list[Record]:
        """The records, without vectors, validated by the core: nothing is embedded yet.

        With a tenant (``tenant`` or the store's) they are checked as the write will
        stamp them: a record naming another tenant is refused here, before embedding.
        """
        records = self.unchecked_records()
        store.validate_before_embedding(records, tenant=tenant)
        return records

    def unchecked_records(self) -> list[Record]:
        """The records, without vectors, for a write that checks them itself (the
        write's own: it is not made to copy them first)."""
        return OwnedRecords(
            Record(id=i, text=t, metadata=m)
            for i, t, m in zip(self.ids, self.texts, self.metadatas, strict=True)
        )


def embedded(
    records: list[Record],
    vectors: Sequence[Sequence[float]] | None,
    named: Mapping[str, Sequence[Sequence[float]]] | None = None,
) -> list[Record]:
    """Attach each record's vectors: the canonical field's and the named fields'.

    ``vectors`` is ``None`` for a sparse-only store (no dense model).
    """
    for name, field_vectors in [("", vectors), *(named or {}).items()]:
        if field_vectors is None:
            continue
        model = f"the embedding model of field {name!r}" if name else "the embedding model"
        if not isinstance(field_vectors, Sequence) and not hasattr(field_vectors, "__len__"):
            # A generator or other one-pass iterable: its length is unknown (nothing written).
            raise InvalidInputError(
                f"{model} returned {type(field_vectors).__name__} for {len(records)} texts; "
                "return a list of vectors, one per text (nothing was written)."
            )
        if len(field_vectors) != len(records):
            raise InvalidInputError(
                f"{model} returned {len(field_vectors)} vectors for {len(records)} texts."
            )
    for position, record in enumerate(records):
        if vectors is not None:
            record.vector = vectors[position]
        record.vectors = {name: v[position] for name, v in (named or {}).items()}
    return records


def documents_batch(documents: Sequence[Document], ids: Sequence[str | None] | None) -> Batch:
    documents = _ordered(documents, "documents", of="Documents")
    for position, document in enumerate(documents):
        if not isinstance(document, Document):
            raise InvalidInputError(
                f"documents[{position}] is a {type(document).__name__}, not a LangChain "
                "Document; use add_texts() for plain strings."
            )
    # ids= wins over Document.id, as LangChain specifies; an empty ids= gives none (as
    # InMemoryVectorStore reads it), so each Document keeps its own id.
    chosen = ids if ids is not None and (len(ids) or not documents) else [d.id for d in documents]
    return Batch.of([d.page_content for d in documents], [d.metadata for d in documents], chosen)
