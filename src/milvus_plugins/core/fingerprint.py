"""Which embedding model filled a collection: a fingerprint recorded at creation.

A collection filled by one model and searched with another model of the same dimension
returns garbage without any error. So a store given its embedding records, when it
creates the collection, an :class:`EmbeddingFingerprint`: the model name where the
framework exposes one, the dimension, and the embedding of a fixed probe text
(:data:`PROBE_TEXT`), L2-normalised and rounded (a digest of all of it, and its first
:data:`PROBE_COMPONENTS` components kept to tell numeric noise from another model).
Opening the collection with another embedding raises
:class:`~milvus_plugins.core.errors.EmbeddingMismatchError` unless the caller passes
``allow_embedding_change=True``; collections without a fingerprint open as before.

Where it is stored (probed, 2026-12): in the collection property
:data:`PROPERTY_KEY` (Milvus Lite 3.2.2 and the 2.3.5 server keep properties; Milvus
Lite 3.2.2 drops the description), and after :data:`DESCRIPTION_MARK` in the
description (Milvus Lite 2.5.1 accepts properties and drops them silently, but keeps
the description). Reading tries the property first.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from milvus_plugins.core.errors import ConfigError, EmbeddingMismatchError, shown

__all__ = [
    "DESCRIPTION_MARK",
    "PROBE_COMPONENTS",
    "PROBE_TEXT",
    "PROPERTY_KEY",
    "EmbeddingFingerprint",
    "EmbeddingProbe",
    "check_fingerprint",
    "creation_settings",
    "stored_fingerprint",
]

PROBE_TEXT = "milvus-plugins embedding fingerprint: the quick brown fox jumps over the lazy dog"
"""The text every fingerprint embeds."""

PROPERTY_KEY = "milvus_plugins.embedding"
"""The collection property holding the fingerprint (JSON)."""

DESCRIPTION_MARK = "[milvus-plugins embedding] "
"""What precedes the fingerprint JSON in the collection description (the fallback)."""

PROBE_COMPONENTS = 16
"""Components of the normalised probe vector kept in the fingerprint."""

_DECIMALS = 3
_NOISE = 0.02  # max |difference| of a kept component still read as the same model


@dataclass(frozen=True, kw_only=True)
class EmbeddingFingerprint:
    """What identifies an embedding model's output.

    Attributes:
        dim: the dimension.
        digest: sha256 (16 hex digits) of the normalised probe vector rounded to 3
            decimals.
        probe: its first :data:`PROBE_COMPONENTS` components (rounded).
        model: the model's name where the framework exposes one (informative only).
    """

    dim: int
    digest: str
    probe: tuple[float, ...] = ()
    model: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.dim, bool) or not isinstance(self.dim, int) or self.dim < 1:
            raise ConfigError(f"fingerprint dim={shown(self.dim)} must be a positive integer.")
        if not isinstance(self.digest, str) or not self.digest:
            raise ConfigError("fingerprint digest must be a non-empty string.")
        try:
            object.__setattr__(self, "probe", tuple(float(x) for x in self.probe))
        except (TypeError, ValueError):
            raise ConfigError("fingerprint probe must be a list of numbers.") from None
        if self.model is not None and not isinstance(self.model, str):
            raise ConfigError("fingerprint model must be a string or None.")

    @classmethod
    def of_vector(cls, vector: Sequence[float], model: str | None = None) -> EmbeddingFingerprint:
        """The fingerprint of ``vector``, the embedding of :data:`PROBE_TEXT`.

        Raises:
            ConfigError: not a non-zero, finite, flat vector.
        """
        array = np.asarray(vector, dtype=np.float64)
        norm = float(np.linalg.norm(array)) if array.ndim == 1 else 0.0
        if array.ndim != 1 or not array.size or not np.isfinite(norm) or norm == 0.0:
            raise ConfigError(
                "the embedding of the fingerprint probe text is not a finite non-zero vector; "
                "fix the embedding, or pass allow_embedding_change=True to skip the check."
            )
        rounded = np.round(array / norm, _DECIMALS) + 0.0  # + 0.0: -0.0 hashes like 0.0
        digest = hashlib.sha256(rounded.astype("<f8").tobytes()).hexdigest()[:16]
        return cls(
            dim=int(array.size),
            digest=digest,
            probe=tuple(float(x) for x in rounded[:PROBE_COMPONENTS]),
            model=model,
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON values."""
        return {
            "model": self.model,
            "dim": self.dim,
            "digest": self.digest,
            "probe": list(self.probe),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EmbeddingFingerprint:
        """Parse :meth:`as_dict` output.

        Raises:
            ConfigError: missing or malformed values.
        """
        if not isinstance(data, Mapping):
            raise ConfigError("a fingerprint must be a JSON object.")
        try:
            return cls(
                dim=data["dim"],
                digest=data["digest"],
                probe=tuple(data.get("probe") or ()),
                model=data.get("model"),
            )
        except KeyError as exc:
            raise ConfigError(f"a fingerprint needs {exc.args[0]!r}.") from None

    def same_model(self, other: EmbeddingFingerprint) -> bool:
        """Whether ``other`` comes from the same model (equal up to numeric noise)."""
        if self.dim != other.dim:
            return False
        if self.digest == other.digest:
            return True
        # Another BLAS, thread count or ONNX build can move a value across a rounding
        # boundary: the kept components tell such noise from a different model.
        if not self.probe or len(self.probe) != len(other.probe):
            return False
        diff = np.abs(np.asarray(self.probe) - np.asarray(other.probe))
        return bool(diff.max() <= _NOISE)

    def describe(self) -> str:
        """A short human description: model, dimension, digest."""
        return f"{self.model or 'an unnamed model'} ({self.dim}-d, fingerprint {self.digest})"


@dataclass
class EmbeddingProbe:
    """Computes (once) the fingerprint of an embedding model, sync or async.

    Adapters build it from their framework's model; the store computes it when it
    first opens or creates its collection (one embedding call of :data:`PROBE_TEXT`).

    Attributes:
        embed: embeds one text (sync).
        aembed: embeds one text (async); default: ``embed``.
        model: the model's name, where known.
    """

    embed: Callable[[str], Sequence[float]]
    aembed: Callable[[str], Awaitable[Sequence[float]]] | None = None
    model: str | None = None
    _value: EmbeddingFingerprint | None = field(default=None, repr=False)

    @property
    def known(self) -> EmbeddingFingerprint | None:
        """The fingerprint if already computed (no I/O)."""
        return self._value

    def fingerprint(self) -> EmbeddingFingerprint:
        """Compute (once) and return the fingerprint."""
        if self._value is None:
            self._value = EmbeddingFingerprint.of_vector(self.embed(PROBE_TEXT), self.model)
        return self._value

    async def afingerprint(self) -> EmbeddingFingerprint:
        """Async twin of :meth:`fingerprint`."""
        if self._value is None:
            if self.aembed is None:  # a sync model, in a worker thread: not on the loop
                return await asyncio.to_thread(self.fingerprint)
            vector = await self.aembed(PROBE_TEXT)
            self._value = EmbeddingFingerprint.of_vector(vector, self.model)
        return self._value


def model_name(model: Any) -> str | None:
    """The model name a framework object exposes (``model_name``, ``model``), else its class."""
    for attribute in ("model_name", "model"):
        value = getattr(model, attribute, None)
        # LlamaIndex's BaseEmbedding says "unknown" when a subclass sets no name.
        if isinstance(value, str) and value and value != "unknown":
            return value
    return type(model).__qualname__


def stored_fingerprint(description: Mapping[str, Any]) -> EmbeddingFingerprint | None:
    """The fingerprint a described collection records, or ``None`` (an older collection).

    A property or description that does not parse counts as none: it was not written by
    this package.
    """
    candidates: list[str] = []
    properties = description.get("properties") or {}
    if isinstance(properties, Mapping) and isinstance(properties.get(PROPERTY_KEY), str):
        candidates.append(properties[PROPERTY_KEY])
    text = description.get("description")
    if isinstance(text, str) and DESCRIPTION_MARK in text:
        candidates.append(text.rsplit(DESCRIPTION_MARK, 1)[1])
    for raw in candidates:
        try:
            return EmbeddingFingerprint.from_dict(json.loads(raw))
        except (ValueError, ConfigError):
            continue
    return None


def creation_settings(
    description: str, fingerprint: EmbeddingFingerprint | None
) -> tuple[str, dict[str, str]]:
    """The description and properties to create a collection with, recording ``fingerprint``."""
    if fingerprint is None:
        return description, {}
    text = json.dumps(fingerprint.as_dict(), separators=(",", ":"))
    joined = f"{description} {DESCRIPTION_MARK}{text}" if description else DESCRIPTION_MARK + text
    return joined, {PROPERTY_KEY: text}


def check_fingerprint(
    collection: str,
    description: Mapping[str, Any],
    given: EmbeddingFingerprint | None,
    *,
    allow_change: bool,
) -> None:
    """Raise when the collection records another embedding than ``given``.

    Raises:
        EmbeddingMismatchError: both fingerprints are known and differ (and
            ``allow_change`` is false).
    """
    stored = stored_fingerprint(description)
    if stored is None or given is None or allow_change or stored.same_model(given):
        return
    raise EmbeddingMismatchError(
        f"collection {shown(collection)} was filled with {stored.describe()}, but the "
        f"embedding given is {given.describe()}: searches would compare vectors of two "
        "different models. Use the model the collection was filled with, re-index it with "
        "the new one (milvus-plugins reindex), or pass allow_embedding_change=True if the "
        "model is the same.",
        stored=stored.as_dict(),
        given=given.as_dict(),
    )
