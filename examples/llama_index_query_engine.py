"""LlamaIndex over Milvus: VectorStoreIndex, retrievers, a query engine, filters, deletes.

Indexes the SciFact abstracts of ``examples/data`` (split into nodes, embedded offline
with all-MiniLM-L6-v2) into a Milvus collection with a BM25 keyword field, then shows:

1. a dense retriever;
2. hybrid retrieval (dense + BM25; ``alpha`` weighs the two legs);
3. metadata filters (``MetadataFilters``) on typed columns;
4. a query engine (a real LLM when ``OPENAI_API_KEY`` is set and
   ``llama-index-llms-openai`` is installed, otherwise an offline stand-in that quotes
   the best-matching sentence of the retrieved context);
5. deleting every node of one source document by its ``ref_doc_id``.

Run it::

    python examples/llama_index_query_engine.py          # ./milvus_demo.db (or $MILVUS_URI)
    python examples/llama_index_query_engine.py --uri /tmp/li.db --limit 60 --offline
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llama_index.core import Document, VectorStoreIndex
from llama_index.core.base.llms.types import (
    CompletionResponse,
    CompletionResponseGen,
    LLMMetadata,
)
from llama_index.core.llms import LLM, CustomLLM
from llama_index.core.llms.callbacks import llm_completion_callback
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.schema import NodeWithScore
from llama_index.core.vector_stores import FilterOperator, MetadataFilter, MetadataFilters

from milvus_plugins.embeddings import MiniLMEmbedder
from milvus_plugins.llama_index import MilvusVectorStore, MiniLMEmbedding, Weighted

DATA = Path(__file__).resolve().parent / "data"
CORPUS = DATA / "scifact_sample.jsonl"
COLLECTION = "scifact_llama_index"
# SciFact ids of the abstracts that answer the example questions: a --limit slice keeps
# them (retrieval never sees these ids).
ANSWERS = ("13734012", "45638119", "4883040")
METADATA_ONLY = ["topic", "n_words", "reports_p_value"]


class QuotingLLM(CustomLLM):
    """A deterministic offline LLM: it answers with the context sentence that shares the
    most words with the query (LlamaIndex's prompts end with ``Query: ...``).
    """

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name="quoting-fake", num_output=256)

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        match = re.search(r"Query: (.*?)\n", prompt)
        question = _words(match.group(1) if match else "")
        context = prompt[: match.start()] if match else prompt
        sentences = re.split(r"(?<=[.!?])\s+|\n+", context)
        best = max(sentences, key=lambda s: len(_words(s) & question), default="")
        if not _words(best) & question:
            return CompletionResponse(text="The context does not answer this query.")
        return CompletionResponse(text=f'The context says: "{best.strip()}"')

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        response = self.complete(prompt, formatted=formatted)
        yield CompletionResponse(text=response.text, delta=response.text)


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 3}


def make_llm(offline: bool) -> LLM:
    """OpenAI when a key and the package are there, else the offline stand-in."""
    if not offline and os.environ.get("OPENAI_API_KEY"):
        try:
            openai = importlib.import_module("llama_index.llms.openai")
        except ImportError:
            print("OPENAI_API_KEY is set but llama-index-llms-openai is missing: offline LLM.")
        else:
            llm: LLM = openai.OpenAI(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"))
            return llm
    return QuotingLLM()


def load_documents(limit: int | None) -> list[Document]:
    """The abstracts as LlamaIndex Documents, ``id_`` = the SciFact id (the ref_doc_id)."""
    rows = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    if limit is not None:
        rows = sorted(rows, key=lambda row: row["id"] not in ANSWERS)[:limit]
    return [
        Document(
            id_=row["id"],
            text=f"{row['title']}\n\n{row['text']}",
            metadata={key: row[key] for key in ("title", *METADATA_ONLY)},
            # The title is in the text already; the rest is for filters, not for the models.
            excluded_embed_metadata_keys=["title", *METADATA_ONLY],
            excluded_llm_metadata_keys=["title", *METADATA_ONLY],
        )
        for row in rows
    ]


def build_index(uri: str, documents: list[Document]) -> tuple[VectorStoreIndex, MilvusVectorStore]:
    """Open the collection, (re)building it unless it holds every node already."""
    vector_store = MilvusVectorStore(
        uri=uri,
        collection_name=COLLECTION,
        dim=384,
        enable_sparse=True,  # server-side BM25 on the node text: keyword and hybrid modes
        ranker=Weighted(0.5, 0.5),  # a query's alpha overrides these weights
        metadata_fields={"topic": "VARCHAR", "n_words": "INT64", "reports_p_value": "BOOL"},
    )
    # MiniLM reads the first 128 tokens of a node, the dense leg's view; BM25 sees it all.
    # Any LlamaIndex embed model fits here (e.g. OpenAIEmbedding()): one line.
    embed_model = MiniLMEmbedding(embedder=MiniLMEmbedder(max_seq_length=128))
    # Deterministic node ids (SciFact id + chunk number): re-running never duplicates.
    splitter = SentenceSplitter(
        chunk_size=512, chunk_overlap=64, id_func=lambda i, doc: f"{doc.id_}-{i}"
    )
    nodes = splitter.get_nodes_from_documents(documents)
    present = vector_store.get_nodes(node_ids=[n.node_id for n in nodes])
    print(f"{len(documents)} abstracts -> {len(nodes)} nodes; {len(present)} already stored.")
    index = VectorStoreIndex.from_vector_store(
        vector_store, embed_model=embed_model, show_progress=True
    )
    if len(present) < len(nodes):
        # Rebuilt, not topped up: Milvus Lite 3.2 underrates rows added to a collection
        # created in an earlier session in BM25 search (see quickstart.py).
        vector_store.clear()
        index.insert_nodes(nodes)
    return index, vector_store


def show(title: str, hits: Sequence[NodeWithScore]) -> None:
    """Print a result list: score, ref_doc_id, topic and title."""
    print(f"\n{title}")
    for hit in hits:
        meta = hit.node.metadata
        print(
            f"  {hit.score or 0.0:.3f}  [{hit.node.ref_doc_id}] {meta['topic']:<20} {meta['title']}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the walk-through; return the exit code."""
    parser = argparse.ArgumentParser(description="LlamaIndex query engine over Milvus.")
    parser.add_argument(
        "--uri",
        "--db",
        default=os.environ.get("MILVUS_URI") or "./milvus_demo.db",
        help="Milvus Lite file or server URI (default: $MILVUS_URI or ./milvus_demo.db)",
    )
    parser.add_argument("--limit", type=int, default=None, help="index only N abstracts")
    parser.add_argument("--offline", action="store_true", help="never call a real LLM")
    args = parser.parse_args(argv)

    index, vector_store = build_index(args.uri, load_documents(args.limit))
    print(f"collection {COLLECTION!r}: {vector_store.store.count()} nodes")

    # 1. Dense retrieval.
    question = "Do people in the UK carry abnormal prion protein?"
    show(f"dense: {question!r}", index.as_retriever(similarity_top_k=3).retrieve(question))

    # 2. Hybrid: alpha=1 is dense only, 0 keyword only; "PrP" is a keyword's job.
    hybrid = index.as_retriever(vector_store_query_mode="hybrid", similarity_top_k=3, alpha=0.3)
    question = "1/2000 in UK have abnormal PrP positivity."
    show(f"hybrid, alpha=0.3: {question!r}", hybrid.retrieve(question))

    # 3. Metadata filters on typed columns: cancer abstracts of at most 300 words.
    filters = MetadataFilters(
        filters=[
            MetadataFilter(key="topic", value="cancer"),
            MetadataFilter(key="n_words", value=300, operator=FilterOperator.LTE),
        ]
    )
    question = "Is ALDH1 expression linked to breast cancer prognosis?"
    filtered = index.as_retriever(similarity_top_k=3, filters=filters)
    show(f"filtered (topic == cancer, n_words <= 300): {question!r}", filtered.retrieve(question))

    # 4. A query engine: hybrid retrieval, then answer synthesis by the LLM.
    engine = index.as_query_engine(
        llm=make_llm(args.offline), similarity_top_k=2, vector_store_query_mode="hybrid"
    )
    question = "Does antiretroviral therapy prevent tuberculosis in adults with HIV?"
    response = engine.query(question)
    show(f"query engine: {question!r}", response.source_nodes)
    print(f"answer: {str(response).strip()}")

    # 5. Delete by ref_doc_id: every node of a source document goes, however it was split.
    # A withdrawn preprint is added (the SciFact abstracts stay untouched), then removed.
    text = (
        "Antiretroviral therapy prevents tuberculosis in adults with HIV: a preprint, "
        "withdrawn by its authors."
    )
    withdrawn = Document(
        id_="withdrawn-preprint-1",
        text=text,
        # Every declared field gets a value: servers before 2.5 (and Milvus Lite 2.5)
        # have no nullable fields, so a missing one is refused there.
        metadata={
            "title": "(withdrawn preprint)",
            "topic": "other",
            "n_words": len(text.split()),
            "reports_p_value": False,
        },
    )
    index.insert(withdrawn)
    retriever = index.as_retriever(similarity_top_k=3)
    found = [hit.node.ref_doc_id for hit in retriever.retrieve(question)]
    count = vector_store.store.count()
    print(f"\nafter index.insert(withdrawn): {count} nodes; top 3: {found}")
    index.delete_ref_doc(withdrawn.doc_id)
    found = [hit.node.ref_doc_id for hit in retriever.retrieve(question)]
    count = vector_store.store.count()
    print(f"after delete_ref_doc({withdrawn.doc_id!r}): {count} nodes; top 3: {found}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
