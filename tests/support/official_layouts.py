"""Collections created by the REAL official integrations, for the adoption tests.

* langchain-milvus 0.4.x (pymilvus 3, installed in the dev venv) runs in a subprocess of
  this interpreter;
* llama-index-vector-stores-milvus 1.x pins pymilvus < 3, so it runs in its own venv,
  built once by :func:`benchmarks.venvs.ensure_venv` (cached under the gitignored
  ``benchmarks/.venvs/``).

Both run as separate processes that finish (closing their Milvus Lite server) before the
test opens the file: a Lite database cannot be open in two processes at once.

Every document's vector is :func:`hashed_vector` of its text, so a test can search with
the vector of any text, and the data (:data:`DOCS`) is known to the test.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DIM = 8
HOSTILE = 'it" or text != "'
"""A metadata value that would widen a filter if it were not escaped."""

DOCS: list[dict[str, Any]] = [
    {
        "id": f"d{i}",
        "text": f"{word} document number {i}",
        "metadata": {"source": HOSTILE if i == 3 else f"s{i % 4}", "n": i, "x": i + 0.5},
        "doc": f"doc{i % 3}",
    }
    for i, word in enumerate(
        ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india"]
    )
]


def copy_database(uri: str, tmp_path: Path) -> str:
    """A copy of a Milvus Lite database the official store wrote (a file, or on Lite 3 a
    directory), for a test that changes it."""
    copy = tmp_path / "copy.db"
    if Path(uri).is_dir():
        shutil.copytree(uri, copy)
    else:
        shutil.copyfile(uri, copy)
    return str(copy)


def hashed_vector(text: str, dim: int = DIM) -> list[float]:
    """A deterministic, non-zero vector for ``text`` (no model needed)."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return [(digest[i] + 1) / 256.0 for i in range(dim)]


_LANGCHAIN_SCRIPT = r"""
import json, sys
sys.path.insert(0, {support!r})
from official_layouts import DOCS, hashed_vector
from langchain_core.embeddings import Embeddings
from langchain_milvus import BM25BuiltInFunction, Milvus

class Hashed(Embeddings):
    def embed_documents(self, texts): return [hashed_vector(t) for t in texts]
    def embed_query(self, text): return hashed_vector(text)

uri, prefix, sparse = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
texts = [d["text"] for d in DOCS]
metas = [d["metadata"] for d in DOCS]
ids = [d["id"] for d in DOCS]
dense = {{"index_type": "FLAT", "metric_type": "L2", "params": {{}}}}
variants = {{
    "default": {{}},
    "dynamic": {{"enable_dynamic_field": True}},
    "json": {{"metadata_field": "meta"}},
    "auto": {{"auto_id": True}},
}}
if sparse:
    variants["bm25"] = {{
        "builtin_function": BM25BuiltInFunction(),
        "vector_field": ["vector", "sparse"],
        # Milvus Lite builds BM25 only as SPARSE_INVERTED_INDEX (langchain's AUTOINDEX fails)
        "index_params": [dense, {{"index_type": "SPARSE_INVERTED_INDEX", "metric_type": "BM25"}}],
    }}
for name, kwargs in variants.items():
    kwargs = dict(kwargs)
    kwargs.setdefault("index_params", dense)
    store = Milvus.from_texts(
        texts, Hashed(), metadatas=metas, ids=None if kwargs.get("auto_id") else ids,
        collection_name=prefix + name, connection_args={{"uri": uri}}, drop_old=True, **kwargs,
    )
    store.client.close()
print("ok")
"""

_LLAMA_SCRIPT = r"""
import sys
sys.path.insert(0, {support!r})
from official_layouts import DOCS, hashed_vector
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.vector_stores.milvus import MilvusVectorStore

uri, prefix, sparse = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
variants = {{"plain": {{}}}}
if sparse:
    from llama_index.vector_stores.milvus.utils import BM25BuiltInFunction
    variants["sparse"] = dict(
        enable_sparse=True,
        sparse_embedding_function=BM25BuiltInFunction(),
        sparse_index_config={{"index_type": "SPARSE_INVERTED_INDEX", "metric_type": "BM25"}},
    )
for name, kwargs in variants.items():
    store = MilvusVectorStore(
        uri=uri, collection_name=prefix + name, dim={dim}, overwrite=True,
        index_config={{"index_type": "FLAT", "metric_type": "L2"}}, similarity_metric="L2",
        **kwargs,
    )
    nodes = []
    for d in DOCS:
        node = TextNode(id_=d["id"], text=d["text"], metadata=dict(d["metadata"]),
                        embedding=hashed_vector(d["text"]))
        node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=d["doc"])
        nodes.append(node)
    store.add(nodes)
    store.client.close()
print("ok")
"""


def _run(python: str, script: str, args: list[str]) -> None:
    env = {**os.environ, "PYTHONPATH": ""}  # the other venv must not see this checkout
    done = subprocess.run(
        [python, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )
    if done.returncode != 0 or "ok" not in done.stdout:
        raise RuntimeError(f"creating the collections failed:\n{done.stderr[-3000:]}")


def make_langchain_collections(uri: str, prefix: str, *, sparse: bool) -> None:
    """Create ``<prefix>default|dynamic|json|auto`` (and ``bm25``) with langchain-milvus."""
    script = _LANGCHAIN_SCRIPT.format(support=str(Path(__file__).parent))
    _run(sys.executable, script, [uri, prefix, "1" if sparse else "0"])


def llama_python() -> str:
    """The interpreter of the llama-index venv (built once, then reused)."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.venvs import ensure_venv

    venv = ensure_venv("llama_index")
    if venv.python is None:
        raise RuntimeError(f"the llama-index venv could not be built: {venv.error}")
    return str(venv.python)


def make_llama_collections(uri: str, prefix: str, *, sparse: bool) -> None:
    """Create ``<prefix>plain`` (and ``<prefix>sparse``) with llama-index-vector-stores-milvus."""
    script = _LLAMA_SCRIPT.format(support=str(Path(__file__).parent), dim=DIM)
    _run(llama_python(), script, [uri, prefix, "1" if sparse else "0"])


def expected(doc: dict[str, Any]) -> str:
    """A document's metadata as canonical JSON (for comparisons)."""
    return json.dumps(doc["metadata"], sort_keys=True)
