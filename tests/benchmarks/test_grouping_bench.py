"""The grouping benchmark's pure parts: passage chunking and document-level metrics."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.grouping import chunk_abstract, doc_metrics  # noqa: E402


def test_abstract_becomes_three_runs_of_sentences_title_first() -> None:
    text = "One a. Two b! Three c? Four d. Five e. Six f."
    assert chunk_abstract("Title", text) == [
        "Title One a. Two b!",
        "Three c? Four d.",
        "Five e. Six f.",
    ]
    assert chunk_abstract("T", "Only one.") == ["T Only one."]
    assert chunk_abstract("T", "") == ["T"]


def test_repeated_document_keeps_its_slot_but_gains_nothing() -> None:
    m = doc_metrics(["a", "a", "b"], {"a": 1, "b": 1, "c": 1})
    dcg = 1 / math.log2(2) + 1 / math.log2(4)  # "a" at 1, the repeat at 2 gains 0, "b" at 3
    idcg = 1 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4)
    assert m["ndcg"] == pytest.approx(dcg / idcg)
    assert m["distinct"] == 2.0
    assert m["recall"] == pytest.approx(2 / 3)
    grouped = doc_metrics(["a", "b", "x"], {"a": 1, "b": 1, "c": 1})
    assert grouped["ndcg"] > m["ndcg"]
