"""The model chosen with ``--embedding``: the bundled MiniLM or a user's factory."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from milvus_plugins.cli.inputs import EXIT_USAGE, CliError
from milvus_plugins.core import MilvusStore
from milvus_plugins.core.errors import shown

__all__ = ["Embedder", "check_dim", "load_embedder"]


Vectors = Any  # a list of float lists, or a 2-d numpy array


@dataclass(frozen=True)
class Embedder:
    """The model chosen with ``--embedding``: texts -> vectors."""

    name: str
    embed: Callable[[list[str]], Vectors]


def _floats(vectors: Any) -> list[list[float]]:
    return [[float(x) for x in vector] for vector in vectors]


def load_embedder(choice: str) -> Embedder:
    """Load ``minilm`` or a ``package.module:factory`` embedding.

    Raises:
        CliError: exit code 2, when the factory cannot be imported, called or used.
    """
    if choice == "minilm":
        from milvus_plugins.embeddings import MiniLMEmbedder

        model = MiniLMEmbedder()
        return Embedder(choice, model.embed)
    module_name, _, attribute = choice.partition(":")
    if not module_name or not attribute:
        raise CliError(
            f"--embedding {shown(choice)} must be 'minilm' or 'package.module:factory'.", EXIT_USAGE
        )
    # As for other CLIs that load user code: modules in the working directory count.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise CliError(f"--embedding {shown(choice)}: cannot load it ({exc}).", EXIT_USAGE) from exc
    model = factory() if callable(factory) else factory
    if hasattr(model, "embed_documents"):
        return Embedder(choice, lambda texts: _floats(model.embed_documents(texts)))
    if hasattr(model, "embed"):
        return Embedder(choice, lambda texts: _floats(model.embed(texts)))
    raise CliError(
        f"--embedding {shown(choice)} returned {type(model).__name__}, which has neither "
        "embed_documents(texts) nor embed(texts).",
        EXIT_USAGE,
    )


def check_dim(store: MilvusStore, embedder: Embedder, got: int) -> None:
    """Refuse (exit code 2) vectors of another dimension than the collection holds."""
    expected = store.spec.dim
    if expected is not None and expected != got:
        raise CliError(
            f"collection {shown(store.spec.name)} holds {expected}-d vectors but --embedding "
            f"{embedder.name} makes {got}-d ones; search with the model the collection was "
            "filled with (--embedding package.module:factory), or use --mode sparse.",
            EXIT_USAGE,
        )
