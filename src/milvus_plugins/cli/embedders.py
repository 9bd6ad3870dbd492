"""The model chosen with ``--embedding``: the bundled MiniLM or a user's factory."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from milvus_plugins.cli.inputs import EXIT_USAGE, CliError
from milvus_plugins.core import InvalidInputError, MilvusStore
from milvus_plugins.core.errors import shown

__all__ = ["Embedder", "check_dim", "load_embedder"]


Vectors = Any  # a list of float lists, or a 2-d numpy array


@dataclass(frozen=True)
class Embedder:
    """The model chosen with ``--embedding``: texts -> vectors."""

    name: str
    embed: Callable[[list[str]], list[list[float]]]
    """One vector (a list of floats) per text, checked: see :func:`load_embedder`."""


def _reason(exc: BaseException) -> str:
    """``Type: message`` on one line (a long message is cut), for an error line."""
    text = " ".join(str(exc).split())
    if len(text) > 300:
        text = text[:299] + "…"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _texts(count: int) -> str:
    return f"{count} text" if count == 1 else f"{count} texts"


def _vectors(count: int) -> str:
    return f"{count} vector" if count == 1 else f"{count} vectors"


def _checked(
    choice: str, embed: Callable[[list[str]], Vectors]
) -> Callable[[list[str]], list[list[float]]]:
    """``embed``, refusing in one line (exit code 2) a call that raises, or output that is
    not one list of numbers per text.

    Raises:
        InvalidInputError: naming ``--embedding``; a library error, so that the library
            (``reindex``) passes it on as it is.
    """

    def checked(texts: list[str]) -> list[list[float]]:
        try:
            vectors = embed(texts)
        except Exception as exc:
            raise InvalidInputError(
                f"--embedding {shown(choice)} failed on {_texts(len(texts))}: {_reason(exc)}; "
                "fix the model (or its factory), or pass another --embedding."
            ) from exc
        try:
            floats = [[float(x) for x in vector] for vector in vectors]
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(
                f"--embedding {shown(choice)} returned {type(vectors).__name__} for "
                f"{_texts(len(texts))}, not one list of numbers per text ({_reason(exc)}); "
                "its embed(texts) must return one vector per text."
            ) from exc
        if len(floats) != len(texts):
            raise InvalidInputError(
                f"--embedding {shown(choice)} returned {_vectors(len(floats))} for "
                f"{_texts(len(texts))}; its embed(texts) must return one vector per text."
            )
        return floats

    return checked


def _failed_to_load(choice: str, exc: Exception) -> CliError:
    return CliError(
        f"--embedding {shown(choice)} failed to load: {_reason(exc)}; fix the factory, or "
        "pass another --embedding.",
        EXIT_USAGE,
    )


def load_embedder(choice: str) -> Embedder:
    """Load ``minilm`` or a ``package.module:factory`` embedding.

    The embedder's ``embed`` refuses (:class:`InvalidInputError`, naming ``--embedding``)
    a call that raises, and output that is not one list of numbers per text.

    Raises:
        CliError: exit code 2, when the factory cannot be imported, called or used.
    """
    if choice == "minilm":
        from milvus_plugins.embeddings import MiniLMEmbedder

        try:
            minilm = MiniLMEmbedder()
        except Exception as exc:
            raise _failed_to_load(choice, exc) from exc
        return Embedder(choice, _checked(choice, minilm.embed))
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
    except Exception as exc:  # the module itself failed (a SyntaxError, an error at import)
        raise _failed_to_load(choice, exc) from exc
    try:
        model = factory() if callable(factory) else factory
    except Exception as exc:
        raise _failed_to_load(choice, exc) from exc
    if hasattr(model, "embed_documents"):
        return Embedder(choice, _checked(choice, model.embed_documents))
    if hasattr(model, "embed"):
        return Embedder(choice, _checked(choice, model.embed))
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
