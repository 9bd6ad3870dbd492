"""BM25Encoder: Okapi BM25 as sparse vectors; a query-document inner product is the BM25 score."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import pytest

from milvus_plugins.core import BM25Encoder, ConfigError, SparseEncoder
from milvus_plugins.core.sparse import tokenize

CORPUS = [
    "the quick brown fox jumps over the lazy dog",
    "a quick brown dog",
    "foxes and dogs are animals",
    "Lorem ipsum dolor sit amet",
    "the fox the fox the fox",
]


def _bm25(query: str, doc: str, corpus: list[str], k1: float = 1.2, b: float = 0.75) -> float:
    """Textbook Okapi BM25 with the +1 smoothed IDF (as Lucene and Milvus use)."""
    docs = [tokenize(d) for d in corpus]
    avg = sum(map(len, docs)) / len(docs)
    terms = tokenize(doc)
    tf = Counter(terms)
    score = 0.0
    for term in set(tokenize(query)):
        df = sum(term in d for d in docs)
        idf = math.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
        f = tf[term]
        score += idf * f * (k1 + 1) / (f + k1 * (1 - b + b * len(terms) / avg))
    return score


def _dot(a: dict[int, float], b: dict[int, float]) -> float:
    return sum(v * b.get(k, 0.0) for k, v in a.items())


@pytest.fixture
def encoder() -> BM25Encoder:
    return BM25Encoder().fit(CORPUS)


def test_encoder_satisfies_the_sparse_encoder_protocol(encoder: BM25Encoder) -> None:
    assert isinstance(encoder, SparseEncoder)


def test_fit_records_corpus_statistics(encoder: BM25Encoder) -> None:
    assert encoder.fitted
    assert encoder.doc_count == len(CORPUS)
    assert encoder.avg_doc_len == pytest.approx(sum(len(tokenize(t)) for t in CORPUS) / 5)


@pytest.mark.parametrize("query", ["quick fox", "the dog", "lorem", "fox fox", "unknown words"])
def test_query_document_inner_product_equals_bm25_score(encoder: BM25Encoder, query: str) -> None:
    docs = encoder.encode_documents(CORPUS)
    (q,) = encoder.encode_queries([query])
    for text, vector in zip(CORPUS, docs, strict=True):
        assert _dot(q, vector) == pytest.approx(_bm25(query, text, CORPUS))


def test_ranking_prefers_documents_with_more_and_rarer_matches(encoder: BM25Encoder) -> None:
    docs = encoder.encode_documents(CORPUS)
    (q,) = encoder.encode_queries(["fox"])
    scores = [_dot(q, d) for d in docs]
    assert scores.index(max(scores)) == 4  # "the fox the fox the fox"
    assert scores[1] == 0.0


def test_queries_are_binary_term_vectors(encoder: BM25Encoder) -> None:
    (q,) = encoder.encode_queries(["Fox fox FOX dog"])
    assert sorted(q.values()) == [1.0, 1.0]


def test_tokenizer_lowercases_and_keeps_unicode_words() -> None:
    assert tokenize("Ünïcødé, naïve café! x_y 42") == ["ünïcødé", "naïve", "café", "x_y", "42"]


def test_term_ids_are_stable_31_bit_integers(encoder: BM25Encoder) -> None:
    (q,) = encoder.encode_queries(["quick"])
    (term,) = q
    assert 0 <= term < 2**31
    assert BM25Encoder().fit(["quick"]).encode_queries(["quick"]) == [q]


def test_save_and_load_round_trip_gives_identical_vectors(
    encoder: BM25Encoder, tmp_path: Path
) -> None:
    path = tmp_path / "bm25.json"
    encoder.save(path)
    loaded = BM25Encoder.load(path)
    assert (loaded.k1, loaded.b, loaded.doc_count) == (encoder.k1, encoder.b, encoder.doc_count)
    assert loaded.encode_documents(CORPUS) == encoder.encode_documents(CORPUS)
    assert loaded.encode_queries(["quick fox"]) == encoder.encode_queries(["quick fox"])
    assert json.loads(path.read_text())["doc_count"] == len(CORPUS)


def test_custom_parameters_survive_save_and_load(tmp_path: Path) -> None:
    encoder = BM25Encoder(k1=2.0, b=0.3).fit(CORPUS)
    encoder.save(tmp_path / "e.json")
    loaded = BM25Encoder.load(tmp_path / "e.json")
    (q,) = loaded.encode_queries(["quick dog"])
    doc = loaded.encode_documents([CORPUS[1]])[0]
    assert _dot(q, doc) == pytest.approx(_bm25("quick dog", CORPUS[1], CORPUS, k1=2.0, b=0.3))


def test_unfitted_encoder_refuses_to_encode_or_save(tmp_path: Path) -> None:
    encoder = BM25Encoder()
    for call in (
        lambda: encoder.encode_documents(["x"]),
        lambda: encoder.encode_queries(["x"]),
        lambda: encoder.save(tmp_path / "x.json"),
    ):
        with pytest.raises(ConfigError, match="not fitted"):
            call()


def test_fit_needs_at_least_one_text() -> None:
    with pytest.raises(ConfigError, match="at least one"):
        BM25Encoder().fit([])


@pytest.mark.parametrize(("k1", "b"), [(-0.1, 0.75), (1.2, -0.1), (1.2, 1.5)])
def test_invalid_bm25_parameters_are_rejected(k1: float, b: float) -> None:
    with pytest.raises(ConfigError, match="k1"):
        BM25Encoder(k1=k1, b=b)


def test_text_without_tokens_encodes_to_an_empty_vector(encoder: BM25Encoder) -> None:
    assert encoder.encode_documents(["!!! ..."]) == [{}]
    assert encoder.encode_queries(["   "]) == [{}]
