"""Client-side sparse vectors: the :class:`SparseEncoder` protocol and a numpy BM25 encoder.

The server-side BM25 function (Milvus >= 2.5, Milvus Lite) is the default. For engines
without it, or for learned sparse models (SPLADE, BGE-M3), a collection can store
sparse vectors computed here (``sparse="client"``). :class:`BM25Encoder` implements
Okapi BM25 with the document side (term frequency, length normalisation, IDF) folded
into document vectors and queries as binary term vectors, so a sparse inner product
equals the BM25 score.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from milvus_plugins.core.errors import ConfigError

__all__ = ["BM25Encoder", "SparseEncoder", "tokenize"]

_TOKEN = re.compile(r"\w+", re.UNICODE)


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens (``\\w+``), the same rule at fit, encode and query time."""
    return _TOKEN.findall(text.lower())


def _term_id(term: str) -> int:
    # A stable 31-bit id: no vocabulary needs to be stored with the vectors.
    return zlib.crc32(term.encode("utf-8")) & 0x7FFFFFFF


@runtime_checkable
class SparseEncoder(Protocol):
    """Anything that turns texts into sparse vectors ``{dimension: weight}``."""

    def encode_documents(self, texts: Sequence[str]) -> list[dict[int, float]]:
        """Return one sparse vector per document."""
        ...

    def encode_queries(self, texts: Sequence[str]) -> list[dict[int, float]]:
        """Return one sparse vector per query."""
        ...


class BM25Encoder:
    """Okapi BM25 as sparse vectors (numpy-free, pure Python maths).

    Args:
        k1: term-frequency saturation (default 1.2).
        b: length normalisation (default 0.75).

    Call :meth:`fit` on the corpus (or a representative sample) first; :meth:`save` and
    :meth:`load` keep the statistics so queries are encoded consistently later.
    """

    def __init__(self, *, k1: float = 1.2, b: float = 0.75) -> None:
        if k1 < 0 or not 0 <= b <= 1:
            raise ConfigError(f"BM25 needs k1 >= 0 and 0 <= b <= 1 (got k1={k1}, b={b}).")
        self.k1 = k1
        self.b = b
        self.doc_count = 0
        self.avg_doc_len = 0.0
        self.doc_freq: dict[int, int] = {}

    @property
    def fitted(self) -> bool:
        """Whether corpus statistics are present."""
        return self.doc_count > 0

    def fit(self, texts: Iterable[str]) -> BM25Encoder:
        """Collect document frequencies and the average length from ``texts``."""
        doc_freq: Counter[int] = Counter()
        total = 0
        count = 0
        for text in texts:
            tokens = tokenize(text)
            total += len(tokens)
            count += 1
            doc_freq.update({_term_id(t) for t in tokens})
        if count == 0:
            raise ConfigError("BM25Encoder.fit needs at least one text.")
        self.doc_count = count
        self.avg_doc_len = total / count
        self.doc_freq = dict(doc_freq)
        return self

    def _idf(self, term: int) -> float:
        df = self.doc_freq.get(term, 0)
        return math.log(1.0 + (self.doc_count - df + 0.5) / (df + 0.5))

    def _require_fit(self) -> None:
        if not self.fitted:
            raise ConfigError("BM25Encoder is not fitted; call fit(corpus) or load(path) first.")

    def encode_documents(self, texts: Sequence[str]) -> list[dict[int, float]]:
        """Return BM25 document vectors (tf saturation x length norm x idf)."""
        self._require_fit()
        out = []
        for text in texts:
            tokens = tokenize(text)
            length_norm = 1.0 - self.b + self.b * len(tokens) / (self.avg_doc_len or 1.0)
            vector = {}
            for term, tf in Counter(_term_id(t) for t in tokens).items():
                weight = tf * (self.k1 + 1) / (tf + self.k1 * length_norm) * self._idf(term)
                if weight > 0:
                    vector[term] = weight
            out.append(vector)
        return out

    def encode_queries(self, texts: Sequence[str]) -> list[dict[int, float]]:
        """Return query vectors (each distinct term once, weight 1)."""
        self._require_fit()
        return [{_term_id(t): 1.0 for t in set(tokenize(text))} for text in texts]

    def save(self, path: str | Path) -> None:
        """Write the fitted statistics as JSON."""
        self._require_fit()
        data = {
            "k1": self.k1,
            "b": self.b,
            "doc_count": self.doc_count,
            "avg_doc_len": self.avg_doc_len,
            "doc_freq": {str(k): v for k, v in self.doc_freq.items()},
        }
        Path(path).write_text(json.dumps(data), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> BM25Encoder:
        """Read statistics written by :meth:`save`."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        encoder = cls(k1=float(data["k1"]), b=float(data["b"]))
        encoder.doc_count = int(data["doc_count"])
        encoder.avg_doc_len = float(data["avg_doc_len"])
        encoder.doc_freq = {int(k): int(v) for k, v in data["doc_freq"].items()}
        return encoder
