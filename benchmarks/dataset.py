"""The data every system ingests and queries: synthetic (speed) or SciFact (quality).

A :class:`Dataset` is written once by the parent process (``save``) and loaded by each
worker (``load``): vectors as ``.npy``, texts, ids and metadata as JSON. Only the standard
library and numpy are used, so workers in other venvs can load it.

The synthetic workload: ``n`` documents of about 40 words drawn from a Zipf-distributed
vocabulary (so BM25 sees realistic term statistics), 384-d unit vectors drawn around 64
cluster centres (so neighbours are meaningful, unlike uniform noise), and metadata with
an int (``category``), a string (``tag``), a list (``labels``) and an undeclared string
(``source``). Queries are noisy copies of random documents' vectors, with 4 words of
that document as the keyword text.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "DECLARED_FIELDS",
    "Dataset",
    "load_scifact",
    "subset",
    "synthetic",
]

# Declared (typed-column) metadata fields of the speed workload, as every driver sees them.
DECLARED_FIELDS: list[dict[str, Any]] = [
    {"name": "category", "type": "INT64"},
    {"name": "tag", "type": "VARCHAR", "max_length": 64},
    {"name": "labels", "type": "ARRAY", "element_type": "VARCHAR", "max_length": 64},
]


def workload_config(uri: str | Path, collection: str, dim: int, **extra: Any) -> dict[str, Any]:
    """The driver settings of the synthetic speed workload: the database and collection,
    the dimension, :data:`DECLARED_FIELDS` and BM25, plus ``extra`` (a system's own
    settings, which win)."""
    return {
        "uri": str(uri),
        "collection": collection,
        "dim": dim,
        "declared": DECLARED_FIELDS,
        "bm25": True,
        **extra,
    }


_SYLLABLES = [
    "ka", "lo", "mi", "ne", "po", "ru", "sa", "te", "vi", "zo",
    "bra", "cle", "dri", "fro", "gle", "pla", "stu", "tri", "qua", "shi",
]  # fmt: skip


@dataclass
class Dataset:
    """Documents and queries, aligned by position.

    Attributes:
        ids: document ids (strings).
        texts: document texts.
        vectors: (n, dim) float32 unit vectors.
        metadata: one dict per document (empty dicts for SciFact).
        query_texts: query texts (unique; each maps to its query vector).
        query_vectors: (q, dim) float32 unit vectors.
        qrels: query position -> {doc id: graded relevance} (SciFact only).
    """

    ids: list[str]
    texts: list[str]
    vectors: np.ndarray
    metadata: list[dict[str, Any]]
    query_texts: list[str]
    query_vectors: np.ndarray
    qrels: dict[int, dict[str, int]] = field(default_factory=dict)

    @property
    def dim(self) -> int:
        """The vector dimension."""
        return int(self.vectors.shape[1])

    def __len__(self) -> int:
        return len(self.ids)

    def lookup(self) -> dict[str, np.ndarray]:
        """Text -> vector for documents and queries (a zero-cost, identical "embedding")."""
        table = {t: self.vectors[i] for i, t in enumerate(self.texts)}
        table.update({t: self.query_vectors[i] for i, t in enumerate(self.query_texts)})
        return table

    def save(self, directory: Path) -> Path:
        """Write the dataset into ``directory`` and return it."""
        directory.mkdir(parents=True, exist_ok=True)
        np.save(directory / "vectors.npy", self.vectors.astype(np.float32))
        np.save(directory / "query_vectors.npy", self.query_vectors.astype(np.float32))
        payload = {
            "ids": self.ids,
            "texts": self.texts,
            "metadata": self.metadata,
            "query_texts": self.query_texts,
            "qrels": {str(k): v for k, v in self.qrels.items()},
        }
        (directory / "data.json").write_text(json.dumps(payload), encoding="utf-8")
        return directory

    @classmethod
    def load(cls, directory: Path) -> Dataset:
        """Read a dataset written by :meth:`save`."""
        payload = json.loads((directory / "data.json").read_text(encoding="utf-8"))
        return cls(
            ids=payload["ids"],
            texts=payload["texts"],
            # Memory-mapped: a worker that never reads them (the ingest-memory run embeds
            # on the fly) does not count them in its RSS.
            vectors=np.load(directory / "vectors.npy", mmap_mode="r"),
            metadata=payload["metadata"],
            query_texts=payload["query_texts"],
            query_vectors=np.load(directory / "query_vectors.npy"),
            qrels={int(k): v for k, v in payload["qrels"].items()},
        )


def _unit(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    unit: np.ndarray = (rows / np.maximum(norms, 1e-12)).astype(np.float32)
    return unit


def _vocabulary(size: int, rng: np.random.Generator) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        parts = rng.choice(len(_SYLLABLES), size=int(rng.integers(2, 4)))
        words.add("".join(_SYLLABLES[p] for p in parts))
    return sorted(words)


def synthetic(
    n: int, *, dim: int = 384, queries: int = 200, words: int = 40, seed: int = 7
) -> Dataset:
    """Build the seeded synthetic speed workload (see the module docstring)."""
    rng = np.random.default_rng(seed)
    vocab = _vocabulary(3000, rng)
    ranks = np.arange(1, len(vocab) + 1, dtype=np.float64)
    zipf = (1.0 / ranks) / np.sum(1.0 / ranks)
    centres = _unit(rng.standard_normal((64, dim)))
    assign = rng.integers(0, len(centres), size=n)
    vectors = _unit(centres[assign] + 0.6 * rng.standard_normal((n, dim)) / np.sqrt(dim) * 4)
    tokens = rng.choice(len(vocab), size=(n, words), p=zipf)
    texts = [f"doc{i} " + " ".join(vocab[t] for t in row) for i, row in enumerate(tokens)]
    metadata = [
        {
            "category": int(i % 10),
            "tag": f"tag{int(rng.integers(0, 20)):02d}",
            "labels": [f"l{int(x)}" for x in rng.choice(10, size=int(rng.integers(1, 4)))],
            "source": f"src{int(rng.integers(0, 5))}",
        }
        for i in range(n)
    ]
    targets = rng.integers(0, n, size=queries)
    query_vectors = _unit(vectors[targets] + 0.5 * rng.standard_normal((queries, dim)) / 20)
    query_texts = []
    for qi, t in enumerate(targets):
        picked = rng.choice(tokens[t], size=4, replace=False)
        query_texts.append(f"q{qi} " + " ".join(vocab[w] for w in picked))
    return Dataset(
        ids=[f"d{i}" for i in range(n)],
        texts=texts,
        vectors=vectors,
        metadata=metadata,
        query_texts=query_texts,
        query_vectors=query_vectors,
    )


def load_scifact(directory: Path) -> Dataset:
    """Load the BEIR SciFact copy in ``directory`` (see its README) as a :class:`Dataset`."""
    with gzip.open(directory / "corpus.jsonl.gz", "rt", encoding="utf-8") as handle:
        corpus = [json.loads(line) for line in handle]
    doc_ids = (directory / "doc_ids.txt").read_text(encoding="utf-8").split()
    if [d["_id"] for d in corpus] != doc_ids:
        raise ValueError("corpus.jsonl.gz and doc_ids.txt disagree on the document order")
    queries = [
        json.loads(line)
        for line in (directory / "queries.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    query_ids = (directory / "query_ids.txt").read_text(encoding="utf-8").split()
    if [q["_id"] for q in queries] != query_ids:
        raise ValueError("queries.jsonl and query_ids.txt disagree on the query order")
    position = {q: i for i, q in enumerate(query_ids)}
    qrels: dict[int, dict[str, int]] = {}
    lines = (directory / "qrels-test.tsv").read_text(encoding="utf-8").splitlines()
    for line in lines[1:]:
        qid, did, score = line.split("\t")
        qrels.setdefault(position[qid], {})[did] = int(score)
    return Dataset(
        ids=doc_ids,
        texts=[f"{d['title']} {d['text']}" for d in corpus],
        vectors=np.load(directory / "doc_embeddings.npy"),
        metadata=[{} for _ in corpus],
        query_texts=[q["text"] for q in queries],
        query_vectors=np.load(directory / "query_embeddings.npy"),
        qrels=qrels,
    )


def subset(data: Dataset, *, docs: int, queries: int, seed: int = 0) -> Dataset:
    """A smaller SciFact: the first ``queries`` queries, their relevant documents, and
    random other documents up to ``docs`` (for smoke tests)."""
    rng = np.random.default_rng(seed)
    keep_q = list(range(min(queries, len(data.query_texts))))
    wanted = {d for q in keep_q for d in data.qrels.get(q, {})}
    position = {d: i for i, d in enumerate(data.ids)}
    chosen = {position[d] for d in wanted if d in position}
    others = [i for i in rng.permutation(len(data.ids)) if i not in chosen]
    chosen.update(others[: max(0, docs - len(chosen))])
    rows = sorted(chosen)
    return Dataset(
        ids=[data.ids[i] for i in rows],
        texts=[data.texts[i] for i in rows],
        vectors=data.vectors[rows],
        metadata=[data.metadata[i] for i in rows],
        query_texts=[data.query_texts[q] for q in keep_q],
        query_vectors=data.query_vectors[keep_q],
        qrels={q: data.qrels[q] for q in keep_q if q in data.qrels},
    )
