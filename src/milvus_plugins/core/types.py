"""String enums spelled exactly as Milvus spells them.

Every enum accepts its plain string too (``MetricType("COSINE")`` or
``MetricType.parse("cosine")``); an unknown value raises :class:`ConfigError` naming
the accepted spellings instead of silently falling back to a default.
"""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

from milvus_plugins.core.errors import ConfigError, shown

E = TypeVar("E", bound="ParsableEnum")


class ParsableEnum(str, Enum):
    """A ``str`` enum with a case-insensitive, loud :meth:`parse`."""

    @classmethod
    def parse(cls: type[E], value: str | E, *, field: str) -> E:
        """Return the member for ``value`` or raise :class:`ConfigError` naming ``field``."""
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            wanted = value.strip().upper()
            for member in cls:
                if member.value.upper() == wanted or member.name == wanted:
                    return member
        choices = ", ".join(repr(m.value) for m in cls)
        raise ConfigError(
            f"{field}={shown(value)} is not a known {cls.__name__}; use one of {choices}."
        )

    def __str__(self) -> str:
        return str(self.value)


class MetricType(ParsableEnum):
    """Distance metrics for dense and sparse vector fields."""

    L2 = "L2"
    IP = "IP"
    COSINE = "COSINE"
    BM25 = "BM25"


class IndexType(ParsableEnum):
    """Vector index types the core knows how to validate and configure."""

    FLAT = "FLAT"
    IVF_FLAT = "IVF_FLAT"
    IVF_SQ8 = "IVF_SQ8"
    IVF_PQ = "IVF_PQ"
    HNSW = "HNSW"
    AUTOINDEX = "AUTOINDEX"
    SCANN = "SCANN"
    DISKANN = "DISKANN"
    GPU_IVF_FLAT = "GPU_IVF_FLAT"
    GPU_CAGRA = "GPU_CAGRA"
    SPARSE_INVERTED_INDEX = "SPARSE_INVERTED_INDEX"


class ScalarType(ParsableEnum):
    """Types of declared (typed, column-backed) metadata fields."""

    INT64 = "INT64"
    DOUBLE = "DOUBLE"
    BOOL = "BOOL"
    VARCHAR = "VARCHAR"
    ARRAY = "ARRAY"


class ConsistencyLevel(ParsableEnum):
    """Milvus read consistency levels.

    ``Strong`` is the default of this package: a read right after a write sees it on a
    server (the server's own default, ``Bounded``, may return nothing there).
    """

    STRONG = "Strong"
    SESSION = "Session"
    BOUNDED = "Bounded"
    EVENTUALLY = "Eventually"


class SparseMode(ParsableEnum):
    """Where sparse vectors come from.

    ``BM25`` uses the server-side BM25 function on the text field; ``CLIENT`` stores
    vectors computed by a :class:`~milvus_plugins.core.sparse.SparseEncoder`.
    """

    NONE = "none"
    BM25 = "bm25"
    CLIENT = "client"


class RetrievalMode(ParsableEnum):
    """Which legs a search uses: dense vectors, sparse (keyword) vectors, or both fused."""

    DENSE = "dense"
    SPARSE = "sparse"
    HYBRID = "hybrid"
