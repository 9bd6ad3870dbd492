"""What every driver provides, and small helpers they share (stdlib + numpy only).

A driver is built with ``Driver(config, data)``, where ``config`` holds:

* ``uri``: the Milvus Lite ``.db`` file of this system (one file per system);
* ``collection``: the collection name;
* ``dim``: the vector dimension;
* ``declared``: metadata fields to store as typed columns (``name``, ``type`` ...);
* ``bm25``: add a server-side BM25 sparse field (needed for ``sparse``/``hybrid``);
* ``on_the_fly`` (optional): ``ingest`` embeds with :func:`embed_text` as it goes, the
  way the system's users would with a model (the ingest-memory measurement).

Every method takes query *positions* into the :class:`~benchmarks.dataset.Dataset` and
returns document ids, best first. Embedding is a dictionary lookup of the text
(:class:`Lookup`), so it costs the same (about nothing) for every system.
"""

from __future__ import annotations

import json
import zlib
from importlib import metadata as importlib_metadata
from typing import Any, Protocol

import numpy as np

__all__ = [
    "Driver",
    "Lookup",
    "embed_text",
    "embed_texts",
    "expression",
    "literal",
    "on_the_fly_vectors",
    "versions",
]


class Driver(Protocol):
    """The operations the harness times."""

    def ingest(self, positions: list[int]) -> None:
        """Add these documents through the system's public API, searchable afterwards."""

    def dense(self, q: int, k: int, filter: dict[str, Any] | None = None) -> list[str]:
        """Top-``k`` by vector, optionally filtered on ``{"key": ..., "value": ...}``."""
        ...

    def sparse(self, q: int, k: int) -> list[str]:
        """Top-``k`` by BM25 on the query text."""
        ...

    def hybrid(self, q: int, k: int, ranker: dict[str, Any], fetch_k: int) -> list[str]:
        """Dense + BM25 fused with ``{"type": "rrf", "k": 60}`` or weighted weights."""
        ...

    def drop(self) -> None:
        """Drop the collection and release the client."""


class Lookup:
    """Text -> vector from a precomputed table (documents and queries)."""

    def __init__(self, table: dict[str, np.ndarray]) -> None:
        self.table = table

    def one(self, text: str) -> list[float]:
        """The vector of ``text`` as a list of floats.

        A text outside the table (e.g. the embedding-fingerprint probe a store embeds
        once when it creates a collection) gets the deterministic stand-in vector.
        """
        vector = self.table.get(text)
        if vector is None:
            dim = len(next(iter(self.table.values()))) if self.table else 1
            return embed_text(text, dim)
        return vector.tolist()  # type: ignore[no-any-return]

    def many(self, texts: list[str]) -> list[list[float]]:
        """The vectors of ``texts``."""
        return [self.one(t) for t in texts]


def embed_text(text: str, dim: int) -> list[float]:
    """A deterministic stand-in for a model: a unit vector seeded by the text's CRC-32.

    Used by the ingest-memory measurement, where every system embeds as it goes (as a
    model would) and nothing holds a table of precomputed vectors.
    """
    rng = np.random.default_rng(zlib.crc32(text.encode("utf-8")))
    vector = rng.standard_normal(dim)
    return (vector / np.linalg.norm(vector)).tolist()  # type: ignore[no-any-return]


def embed_texts(texts: list[str], dim: int) -> list[list[float]]:
    """:func:`embed_text` of each text."""
    return [embed_text(t, dim) for t in texts]


def on_the_fly_vectors(data: Any, positions: list[int], dim: int) -> list[list[float]]:
    """The on-the-fly vectors of these documents (see :func:`embed_text`)."""
    return embed_texts([data.texts[p] for p in positions], dim)


def literal(value: Any) -> str:
    """A Milvus literal: JSON spelling is Milvus' for ints, floats and double-quoted strings."""
    return json.dumps(value)


def expression(filter: dict[str, Any], declared: list[dict[str, Any]], json_field: str) -> str:
    """``key == value`` on a typed column, or ``json_field["key"] == value`` otherwise."""
    names = {d["name"] for d in declared}
    key = filter["key"]
    target = key if key in names else f"{json_field}[{json.dumps(key)}]"
    return f"{target} == {literal(filter['value'])}"


def versions(*distributions: str) -> dict[str, str]:
    """Installed versions of these distributions (``"missing"`` when absent)."""
    out = {}
    for name in distributions:
        try:
            out[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            out[name] = "missing"
    return out
