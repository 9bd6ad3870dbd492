"""Shared pieces of the model-based test and the API type fuzz.

A deterministic embedding (text -> 8 floats by hashing; never the zero vector, never
outside float32), the budget knobs read from the environment (``make fuzz`` raises
them), and a step tally that ``MP_FUZZ_REPORT`` turns into a JSON-lines file.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from typing import Any

from langchain_core.embeddings import Embeddings

DIM = 8


def env_int(name: str, default: int) -> int:
    """An integer budget from the environment (``make fuzz`` sets large ones)."""
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def fuzz_seed() -> int | None:
    """``MP_FUZZ_SEED`` as an int, or ``None`` (then runs are derandomised)."""
    raw = os.environ.get("MP_FUZZ_SEED", "").strip()
    return int(raw) if raw else None


def hash_vector(text: str) -> list[float]:
    """A deterministic vector for ``text`` (lone surrogates hash too): all entries in [0.05, 1]."""
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
    return [0.05 + digest[i] / 255.0 * 0.95 for i in range(DIM)]


class HashEmbeddings(Embeddings):
    """A real LangChain ``Embeddings``: deterministic, counts its calls (embedding is I/O)."""

    def __init__(self) -> None:
        self.document_calls = 0
        self.query_calls = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.document_calls += 1
        return [hash_vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        self.query_calls += 1
        return hash_vector(text)


class Tally:
    """Steps and examples run per test, written as one JSON line per test on request."""

    def __init__(self) -> None:
        self.examples = 0
        self.steps = 0
        self.rules: Counter[str] = Counter()

    def report(self, test: str, **extra: Any) -> str:
        """Return the summary line, appending it to ``$MP_FUZZ_REPORT`` when that is set."""
        line = json.dumps(
            {
                "test": test,
                "examples": self.examples,
                "steps": self.steps,
                "rules": dict(sorted(self.rules.items())),
                **extra,
            },
            sort_keys=True,
        )
        path = os.environ.get("MP_FUZZ_REPORT", "").strip()
        if path:
            with open(path, "a", encoding="utf-8") as out:
                out.write(line + "\n")
        return line
