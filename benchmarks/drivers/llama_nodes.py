"""LlamaIndex nodes embedded a batch at a time (both LlamaIndex drivers' on-the-fly ingest).

Imports only ``llama_index.core``, which our venv and the official integration's venv
both have. It does what ``VectorStoreIndex`` does when it indexes nodes: the nodes
(without embeddings) exist up front, and each batch of ``insert_batch_size`` (2,048 by
default) is embedded into copies of its nodes and handed to the vector store's ``add``;
the copies are dropped after.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from llama_index.core.schema import TextNode

from benchmarks.drivers.contract import embed_texts

__all__ = ["INSERT_BATCH_SIZE", "embedded_batches"]

INSERT_BATCH_SIZE = 2048


def embedded_batches(data: Any, positions: list[int], dim: int) -> Iterator[list[TextNode]]:
    """Yield the documents as embedded node batches (see the module docstring)."""
    nodes = [
        TextNode(id_=data.ids[p], text=data.texts[p], metadata=dict(data.metadata[p]))
        for p in positions
    ]
    for start in range(0, len(nodes), INSERT_BATCH_SIZE):
        batch = nodes[start : start + INSERT_BATCH_SIZE]
        vectors = embed_texts([n.text for n in batch], dim)
        yield [n.model_copy(update={"embedding": v}) for n, v in zip(batch, vectors, strict=True)]
