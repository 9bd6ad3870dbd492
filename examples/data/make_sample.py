"""Regenerate the SciFact sample used by the examples (deterministic).

Usage::

    python examples/data/make_sample.py /path/to/datasets/scifact [output_dir]

The input directory is the BEIR SciFact test split described in its README
(``corpus.jsonl.gz``, ``queries.jsonl``, ``qrels-test.tsv``). ``output_dir``
defaults to the directory of this script. Two files are written:

* ``scifact_sample.jsonl`` -- 300 abstracts: every document cited (relevant) for
  the first 100 test queries, then documents at evenly spaced positions of the
  corpus until there are 300, written in corpus order. Fields: ``id``, ``title``,
  ``text`` (verbatim), and the derived ``n_words``, ``reports_p_value`` and
  ``topic`` (see ``README.md`` in this directory for the exact rules).
* ``scifact_sample_queries.jsonl`` -- those 100 queries (claims): ``id``, ``text``
  and ``relevant_ids`` (all of them are in the sample).

Only the standard library is used; the same input always gives byte-identical output.
"""

from __future__ import annotations

import gzip
import json
import re
import sys
from pathlib import Path

N_DOCS = 300
N_QUERIES = 100

# p-values such as "p = 0.016", "P<.05", "p ≤ 0.001".
P_VALUE = re.compile(r"\bp\s*[<=>≤≥]\s*0?\.\d", re.IGNORECASE)

# Coarse keyword topics. The topic of a document is the one whose patterns match
# most often in its lower-cased title + text (ties: the earlier topic in this list);
# "other" when nothing matches. A heuristic for filter demos, not an expert label.
TOPICS: list[tuple[str, str]] = [
    ("cancer", r"cancer|tumou?r|carcinoma|lymphoma|leukaemia|leukemia|melanoma|metasta|oncogen"),
    ("neuro", r"neuron|neural|brain|cortex|cortical|synap|alzheimer|parkinson|dementia|cognit"),
    (
        "immunology_infection",
        r"immun|\bt cells?\b|antibod|antigen|cytokine|inflammat|infect|virus|viral|bacteri|"
        r"\bhiv\b|malaria|tubercul|vaccin",
    ),
    (
        "cardio_metabolic",
        r"cardi|heart|vascular|coronary|blood pressure|hypertens|stroke|diabet|insulin|"
        r"obes|lipid|cholesterol|glucose",
    ),
    (
        "genetics_cell",
        r"\bgenes?\b|genom|\bdna\b|\brna\b|chromatin|transcription|mutation|methylat|"
        r"stem cells?|mitochondri|autophag|apoptos",
    ),
]
_TOPIC_RE = [(name, re.compile(pattern)) for name, pattern in TOPICS]


def topic_of(title: str, text: str) -> str:
    """Keyword topic of a document (see :data:`TOPICS`)."""
    haystack = f"{title} {text}".lower()
    best, best_hits = "other", 0
    for name, pattern in _TOPIC_RE:
        hits = len(pattern.findall(haystack))
        if hits > best_hits:
            best, best_hits = name, hits
    return best


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    src = Path(argv[1])
    out_dir = Path(argv[2]) if len(argv) == 3 else Path(__file__).resolve().parent

    with gzip.open(src / "corpus.jsonl.gz", "rt", encoding="utf-8") as f:
        corpus = [json.loads(line) for line in f]
    with open(src / "queries.jsonl", encoding="utf-8") as f:
        queries = [json.loads(line) for line in f][:N_QUERIES]
    relevant: dict[str, list[str]] = {}
    with open(src / "qrels-test.tsv", encoding="utf-8") as f:
        next(f)  # header
        for line in f:
            qid, did, score = line.rstrip("\n").split("\t")
            if int(score) > 0:
                relevant.setdefault(qid, []).append(did)

    position = {doc["_id"]: i for i, doc in enumerate(corpus)}
    chosen: set[int] = set()
    for q in queries:
        chosen.update(position[d] for d in relevant.get(q["_id"], []))
    n_cited = len(chosen)
    # Fill with evenly spaced corpus positions, skipping ones already taken.
    need = N_DOCS - len(chosen)
    step = len(corpus) / need
    k = 0
    while len(chosen) < N_DOCS:
        i = int(k * step) % len(corpus)
        while i in chosen:
            i = (i + 1) % len(corpus)
        chosen.add(i)
        k += 1

    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "scifact_sample.jsonl", "w", encoding="utf-8", newline="\n") as f:
        for i in sorted(chosen):
            doc = corpus[i]
            record = {
                "id": doc["_id"],
                "title": doc["title"],
                "text": doc["text"],
                "n_words": len(doc["text"].split()),
                "reports_p_value": bool(P_VALUE.search(doc["text"])),
                "topic": topic_of(doc["title"], doc["text"]),
            }
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    with open(out_dir / "scifact_sample_queries.jsonl", "w", encoding="utf-8", newline="\n") as f:
        for q in queries:
            record = {"id": q["_id"], "text": q["text"], "relevant_ids": relevant.get(q["_id"], [])}
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(
        f"wrote {len(chosen)} documents ({n_cited} cited by the first {len(queries)} queries) "
        f"and {len(queries)} queries to {out_dir}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
