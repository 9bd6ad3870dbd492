"""Records (one row of the canonical layout) and their ids.

A :class:`Record` is what adapters hand to the store and what reads hand back.
:mod:`.record_checks` checks records before anything is written (dimension, NaN/inf,
values beyond float32, zero vectors under COSINE, client sparse vectors, text length,
JSON-serialisable metadata, reserved metadata keys, duplicate ids, id types; single
values in :mod:`.values`) and :mod:`.rows` converts them to and from Milvus rows, moving
declared metadata keys into their typed columns and back.

Values come back exactly as written, or are refused before anything is sent:

* strings (ids, texts, metadata) must be encodable as UTF-8: a lone surrogate (such as
  ``"\\udcff"`` in a file name from ``os.listdir``) is refused;
* metadata dict keys must be strings at every depth (JSON would turn ``1`` into ``"1"``
  and let ``1`` and ``"1"`` collide), nesting is at most :data:`MAX_METADATA_DEPTH`
  levels (deeper JSON breaks Milvus Lite's filter evaluation on the whole collection),
  integers must fit in int64 (larger ones come back as floats), and floats must be
  finite;
* numpy scalars and arrays (what a pandas row's ``to_dict()`` holds) are taken as the
  Python values they hold (``np.int64(3)`` is written, and read back, as ``3``; an array
  as a list); dates, times and datetimes are refused: store ``.isoformat()`` strings;
* a declared ``DOUBLE`` column takes floats only: Milvus would return the
  int ``3`` as ``3.0``; an ``INT64`` column takes ints within int64.

Metadata keys whose value is ``None`` are not written into the metadata JSON (a declared
key's column holds a null): their names go into the ``extra`` column (under
:data:`NULL_KEYS`) and reads put them back, so metadata still comes back exactly as
written. Filters treat ``None`` like a missing key, and Milvus 2.3's ``exists`` is true
for a JSON ``null`` (Milvus Lite's is not): leaving nulls out is what makes ``exists``
and negations agree on every engine. Declared keys are columns, so they too leave the
JSON; where the order a read would rebuild differs from the written one, the key order
is kept in ``extra`` (under :data:`KEY_ORDER`) and reads restore it (LlamaIndex shows
metadata to the model in that order and hashes nodes with it).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from milvus_plugins.core.values import MAX_METADATA_DEPTH

__all__ = [
    "KEY_ORDER",
    "MAX_METADATA_DEPTH",
    "NULL_KEYS",
    "OwnedRecords",
    "Record",
    "SparseVector",
    "content_id",
    "new_id",
]

SparseVector = Mapping[int, float]

NULL_KEYS = "metadata_null_keys"
"""The key in a row's ``extra`` JSON listing metadata keys stored as ``None``."""

KEY_ORDER = "metadata_key_order"
"""The key in a row's ``extra`` JSON listing the metadata keys in their written order,
where a read would otherwise rebuild them in another (null and declared keys last)."""


@dataclass(kw_only=True)
class Record:
    """One stored item.

    Attributes:
        id: primary key (a string).
        text: the text (what BM25 indexes and what adapters return as content).
        vector: dense embedding, or ``None`` when read without vectors.
        metadata: user metadata, returned exactly as written (JSON values).
        sparse: a client-side sparse vector (``{dim_index: weight}``) when the collection
            uses a client encoder.
        doc_id: the source document of a chunk (LlamaIndex ``ref_doc_id``), or ``""``.
        extra: framework-private JSON (e.g. LlamaIndex relationships); not user metadata.
        vectors: the vectors of the collection's named dense fields
            (``CollectionSpec.vector_fields``), by field name; ``vector`` holds the
            canonical field's.
    """

    id: str
    text: str
    vector: Sequence[float] | np.ndarray | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    sparse: SparseVector | None = None
    doc_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    vectors: dict[str, Sequence[float] | np.ndarray] = field(default_factory=dict)


class OwnedRecords(list[Record]):
    """Records an adapter built for one write and hands over to it.

    A write stores its checked vectors and converted values in its records. It copies
    each record a caller gives first, so the caller's are never changed; records in an
    ``OwnedRecords`` list are the write's to change, and are not copied. (A copy is one
    more object per record alive for the whole write, which the garbage collector walks:
    issue 16.) Only for records nobody else holds: an adapter's fresh records, never a
    caller's.
    """

    __slots__ = ()


def new_id() -> str:
    """Return a fresh random id (uuid4, 32 hex characters)."""
    return uuid.uuid4().hex


def content_id(text: str, metadata: Mapping[str, Any] | None = None) -> str:
    """Return a deterministic id from the text and metadata (sha256, 32 hex characters).

    Re-ingesting the same content gives the same id, so an upsert never duplicates it.
    """
    payload = json.dumps([text, metadata or {}], sort_keys=True, ensure_ascii=False, default=str)
    # "surrogatepass": a lone surrogate (an undecodable file name) still gets an id here;
    # validation then refuses the record with a clear message instead of a bare error.
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()[:32]
