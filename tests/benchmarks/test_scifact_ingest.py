"""A tiny run of the SciFact end-to-end ingest benchmark, so it never rots.

200 documents and 10 queries, one repetition, without the official integrations
(``--official none``): their venvs take minutes to build, and another test may be
building one of them at the same time in another worker. Checks structure and values
that must hold at any size (our stores answer exactly what exact search answers), never
wall-clock times.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

pytest.importorskip("psutil")
pytest.importorskip("langchain_core")
pytest.importorskip("llama_index.core")

from benchmarks.scifact_ingest import load_corpus, main  # noqa: E402

OURS = {"core", "ours_lc", "ours_li"}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("scifact_ingest")
    argv = ["--docs", "200", "--queries", "10", "--reps", "1", "--official", "none"]
    return main([*argv, "--out", str(out)]), out


def test_corpus_texts_are_title_and_abstract_with_the_title_as_metadata() -> None:
    data = load_corpus(docs=30, queries=3)
    assert len(data) == 30
    assert len(data.query_texts) == 3
    for text, metadata in zip(data.texts, data.metadata, strict=True):
        assert set(metadata) == {"title"}
        assert text.startswith(metadata["title"] + " ")


def test_files_are_written(results: tuple[dict[str, Any], Path]) -> None:
    data, out = results
    assert json.loads((out / "scifact_ingest.json").read_text())["docs"] == data["docs"]
    markdown = (out / "scifact_ingest.md").read_text()
    assert "### SciFact end-to-end ingest (" in markdown
    for row in data["systems"].values():
        assert f"| {row['label']} |" in markdown
    assert not (out / "tmp").exists()


def test_every_system_ingested_and_answered(results: tuple[dict[str, Any], Path]) -> None:
    data = results[0]
    assert data["docs"] >= 200
    assert data["queries"] == 10
    keys = set(data["systems"])
    assert keys == {"raw", *OURS}
    for key, row in data["systems"].items():
        assert row["errors"] == [], key
        (one,) = row["runs"]
        assert one["seconds"] > 0
        assert one["peak_kb"] >= one["base_kb"] > 0
        assert row["docs_s"] > 0
        assert set(row["quality"]) == {"ndcg@10", "recall@10", "exact_recall@10", "p50_ms"}
    raw = data["systems"]["raw"]
    assert raw["speed_ratio"] == pytest.approx(1.0)
    assert raw["peak_ratio"] == pytest.approx(1.0)


def test_our_stores_answer_what_exact_search_answers(results: tuple[dict[str, Any], Path]) -> None:
    data = results[0]
    reference = data["reference"]
    assert reference["exact_recall@10"] == pytest.approx(1.0)
    assert 0 < reference["ndcg@10"] <= 1
    for key in OURS:
        quality = data["systems"][key]["quality"]
        assert quality["ndcg@10"] == pytest.approx(reference["ndcg@10"]), key
        assert quality["recall@10"] == pytest.approx(reference["recall@10"]), key
