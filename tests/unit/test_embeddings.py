"""Real-model tests of the offline all-MiniLM-L6-v2 embedder and its framework adapters.

No mocks: these tests run the int8 ONNX model. The reference vectors in
``tests/data/minilm_reference.npz`` are fp32 sentence-transformers embeddings of the
first 20 BEIR SciFact test queries and of 5 SciFact abstracts longer than 256 tokens
(texts in ``tests/data/minilm_reference.json``), copied from the shared SciFact dataset.
"""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from milvus_plugins.embeddings import (
    EMBEDDING_DIM,
    MAX_SEQ_LENGTH,
    MODEL_NAME,
    EmbeddingModelUnavailable,
    MiniLMEmbedder,
)

pytestmark = pytest.mark.skipif(
    not MiniLMEmbedder.is_available(),
    reason='embedding model not installed: pip install "milvus-plugins[embeddings]"',
)

DATA = Path(__file__).resolve().parents[1] / "data"

SENTENCES = [
    "Aspirin reduces the risk of heart attack.",
    "Milvus is a vector database for similarity search.",
    "   Leading and trailing whitespace is stripped.   ",
    "",
    "A much longer sentence " + "about many different scientific things " * 40,
]


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    e = MiniLMEmbedder(intra_op_num_threads=2)
    e.load()
    return e


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    with open(DATA / "minilm_reference.json", encoding="utf-8") as f:
        texts = json.load(f)
    with np.load(DATA / "minilm_reference.npz") as npz:
        arrays = {k: npz[k] for k in npz.files}
    assert [q["id"] for q in texts["queries"]] == arrays["query_ids"].tolist()
    assert [d["id"] for d in texts["documents"]] == arrays["doc_ids"].tolist()
    return {
        "queries": [q["text"] for q in texts["queries"]],
        "query_embeddings": arrays["query_embeddings"],
        "documents": [d["text"] for d in texts["documents"]],
        "doc_embeddings": arrays["doc_embeddings"],
    }


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return np.asarray((a * b).sum(axis=-1))


# -- construction ------------------------------------------------------------------


def test_constructor_is_lazy_and_properties_need_no_model() -> None:
    e = MiniLMEmbedder(batch_size=4, intra_op_num_threads=1)
    assert not e.is_loaded
    assert e.dim == EMBEDDING_DIM == 384
    assert e.model_name == MODEL_NAME == "all-MiniLM-L6-v2"
    assert e.max_seq_length == MAX_SEQ_LENGTH == 256
    assert (e.batch_size, e.intra_op_num_threads) == (4, 1)
    assert not e.is_loaded
    e.embed([])  # nothing to embed: still nothing loaded
    assert not e.is_loaded
    e.embed(["x"])
    assert e.is_loaded


@pytest.mark.parametrize(
    "kwargs",
    [
        {"batch_size": 0},
        {"intra_op_num_threads": 0},
        {"max_seq_length": 1},
        {"max_seq_length": 513},
    ],
)
def test_invalid_settings(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        MiniLMEmbedder(**kwargs)


def test_missing_model_file_raises_typed_error(tmp_path: Path) -> None:
    e = MiniLMEmbedder(model_path=tmp_path / "missing.onnx")  # constructor does not check
    with pytest.raises(EmbeddingModelUnavailable, match="milvus-plugins\\[embeddings\\]") as info:
        e.embed(["x"])
    assert isinstance(info.value, RuntimeError)
    assert not e.is_loaded


def test_broken_model_file_raises_typed_error(tmp_path: Path) -> None:
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"not an onnx file")
    with pytest.raises(EmbeddingModelUnavailable, match="cannot load"):
        MiniLMEmbedder(model_path=bad).load()


# -- output ------------------------------------------------------------------------


def test_shape_dtype_and_unit_norm(embedder: MiniLMEmbedder) -> None:
    v = embedder.embed(SENTENCES)
    assert v.shape == (len(SENTENCES), 384)
    assert v.dtype == np.float32
    assert np.all(np.isfinite(v))
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    one = embedder.embed_one(SENTENCES[0])
    assert one.shape == (384,) and one.dtype == np.float32


def test_empty_input(embedder: MiniLMEmbedder) -> None:
    v = embedder.embed([])
    assert v.shape == (0, 384) and v.dtype == np.float32


def test_rejects_a_bare_string_and_non_strings(embedder: MiniLMEmbedder) -> None:
    with pytest.raises(TypeError):
        embedder.embed("a string is not a list of strings")
    with pytest.raises(TypeError):
        embedder.embed(["ok", 3])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        embedder.embed_one(None)  # type: ignore[arg-type]


def test_deterministic_and_independent_of_batching(embedder: MiniLMEmbedder) -> None:
    a = embedder.embed(SENTENCES)
    b = embedder.embed(SENTENCES)
    np.testing.assert_array_equal(a, b)
    # Other batch sizes, other neighbours and other positions (so other padding) give
    # the same vectors up to float rounding.
    single = np.stack([embedder.embed_one(s) for s in SENTENCES])
    np.testing.assert_allclose(single, a, atol=1e-5)
    reordered = MiniLMEmbedder(batch_size=2, intra_op_num_threads=1).embed(SENTENCES[::-1])
    np.testing.assert_allclose(reordered[::-1], a, atol=1e-5)


def test_whitespace_is_stripped(embedder: MiniLMEmbedder) -> None:
    v = embedder.embed(["  Aspirin reduces fever.\n", "Aspirin reduces fever."])
    np.testing.assert_allclose(v[0], v[1], atol=1e-6)


def test_many_texts_keep_their_order(embedder: MiniLMEmbedder) -> None:
    # More texts than one tokenisation chunk (batch_size * 16), of varied lengths.
    texts = [f"sentence number {i} " + "word " * (i % 37) for i in range(150)]
    small = MiniLMEmbedder(batch_size=4, intra_op_num_threads=2)
    v = small.embed(texts)
    for i in (0, 1, 63, 64, 65, 149):
        np.testing.assert_allclose(v[i], embedder.embed_one(texts[i]), atol=1e-5)


# -- agreement with sentence-transformers fp32 --------------------------------------


def test_queries_match_fp32_sentence_transformers(
    embedder: MiniLMEmbedder, reference: dict[str, Any]
) -> None:
    v = embedder.embed(reference["queries"])
    cos = cosine(v, reference["query_embeddings"])
    assert cos.shape == (20,)
    assert cos.min() >= 0.98, cos
    assert cos.mean() >= 0.995, cos  # measured: min 0.9993, mean 0.9996


def test_long_documents_are_truncated_at_256_tokens_like_sentence_transformers(
    embedder: MiniLMEmbedder, reference: dict[str, Any]
) -> None:
    # The 5 documents have 378-463 tokens. The reference embedded their first 256.
    v = embedder.embed(reference["documents"])
    cos = cosine(v, reference["doc_embeddings"])
    assert cos.min() >= 0.98, cos  # measured: min 0.9992
    # A different truncation length visibly changes the vectors (cosine ~0.82-0.96).
    other = MiniLMEmbedder(max_seq_length=128).embed(reference["documents"])
    assert cosine(other, reference["doc_embeddings"]).min() < 0.97


# -- semantics -----------------------------------------------------------------------


def test_related_texts_score_higher_than_unrelated(embedder: MiniLMEmbedder) -> None:
    a, b, c, d = embedder.embed(
        [
            "A man is playing a guitar.",
            "Someone is performing music on a string instrument.",
            "The central bank raised interest rates again.",
            "Monetary policy was tightened by increasing borrowing costs.",
        ]
    )
    assert float(a @ b) > float(a @ c) + 0.2
    assert float(c @ d) > float(b @ d) + 0.2


def test_query_retrieves_its_relevant_abstract(
    embedder: MiniLMEmbedder, reference: dict[str, Any]
) -> None:
    claim = "Aspirin inhibits the production of prostaglandins."
    docs = [
        "Aspirin irreversibly inactivates cyclooxygenase, the enzyme that makes prostaglandins.",
        *reference["documents"],
    ]
    scores = embedder.embed(docs) @ embedder.embed_one(claim)
    assert int(np.argmax(scores)) == 0


# -- concurrency ---------------------------------------------------------------------


def test_thread_safe_lazy_loading_and_concurrent_use(embedder: MiniLMEmbedder) -> None:
    expected = embedder.embed(SENTENCES)
    shared = MiniLMEmbedder(batch_size=2, intra_op_num_threads=1)
    barrier = threading.Barrier(4)
    results: list[np.ndarray] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work() -> None:
        try:
            barrier.wait()
            out = shared.embed(SENTENCES)
            with lock:
                results.append(out)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert len(results) == 4
    for out in results:
        np.testing.assert_allclose(out, expected, atol=1e-5)


# -- framework adapters --------------------------------------------------------------


def test_langchain_adapter_returns_the_embedder_vectors(embedder: MiniLMEmbedder) -> None:
    pytest.importorskip("langchain_core")
    from langchain_core.embeddings import Embeddings

    from milvus_plugins.langchain.embeddings import MiniLMEmbeddings

    lc = MiniLMEmbeddings(embedder=embedder)
    assert isinstance(lc, Embeddings)
    assert lc.embedder is embedder and lc.dim == 384
    docs = lc.embed_documents(SENTENCES)
    assert isinstance(docs, list) and all(isinstance(x, float) for x in docs[0])
    np.testing.assert_array_equal(np.asarray(docs, dtype=np.float32), embedder.embed(SENTENCES))
    query = lc.embed_query(SENTENCES[0])
    np.testing.assert_array_equal(
        np.asarray(query, dtype=np.float32), embedder.embed_one(SENTENCES[0])
    )

    adocs = asyncio.run(lc.aembed_documents(SENTENCES))
    aquery = asyncio.run(lc.aembed_query(SENTENCES[0]))
    assert adocs == docs and aquery == query

    fresh = MiniLMEmbeddings(batch_size=4, intra_op_num_threads=1)
    assert not fresh.embedder.is_loaded and fresh.embedder.batch_size == 4
    np.testing.assert_allclose(fresh.embed_documents(SENTENCES[:2]), docs[:2], atol=1e-5)


def test_llama_index_adapter_returns_the_embedder_vectors(embedder: MiniLMEmbedder) -> None:
    pytest.importorskip("llama_index.core")
    from llama_index.core.base.embeddings.base import BaseEmbedding

    from milvus_plugins.llama_index.embeddings import MiniLMEmbedding

    li = MiniLMEmbedding(embedder=embedder)
    assert isinstance(li, BaseEmbedding)
    assert li.model_name == "all-MiniLM-L6-v2" and li.embedder is embedder and li.dim == 384
    expected = embedder.embed(SENTENCES)

    batch = li.get_text_embedding_batch(SENTENCES)
    np.testing.assert_array_equal(np.asarray(batch, dtype=np.float32), expected)
    np.testing.assert_array_equal(
        np.asarray(li.get_text_embedding(SENTENCES[1]), dtype=np.float32), expected[1]
    )
    query = li.get_query_embedding(SENTENCES[0])
    np.testing.assert_array_equal(np.asarray(query, dtype=np.float32), expected[0])

    async def run_async() -> tuple[list[float], list[float], list[list[float]]]:
        return (
            await li.aget_query_embedding(SENTENCES[0]),
            await li.aget_text_embedding(SENTENCES[1]),
            await li.aget_text_embedding_batch(SENTENCES),
        )

    aquery, atext, abatch = asyncio.run(run_async())
    assert aquery == query and atext == batch[1] and abatch == batch

    fresh = MiniLMEmbedding(embed_batch_size=3, intra_op_num_threads=1)
    assert fresh.embed_batch_size == 3 and fresh.embedder.batch_size == 3
    assert not fresh.embedder.is_loaded
    assert fresh.to_dict()["model_name"] == "all-MiniLM-L6-v2"
