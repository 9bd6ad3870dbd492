"""Decay ranking on a numeric field ("newer documents first, all else equal"), pure part.

A :class:`Decay` multiplies each candidate's relevance by a factor in [0, 1] that falls
with the distance of a numeric field (a timestamp, a price, a version) from an
``origin``, with the formulas of Milvus' decay reranker (``Function`` with
``reranker="decay"``; Elasticsearch's function-score decays). With
``d = max(0, |x - origin| - offset)``:

=========  ==========================================================
function   factor
=========  ==========================================================
gauss      ``exp(ln(decay) * d**2 / scale**2)`` = ``decay ** ((d / scale) ** 2)``
exp        ``exp(ln(decay) * d / scale)``       = ``decay ** (d / scale)``
linear     ``max(0, 1 - (1 - decay) * d / scale)``
=========  ==========================================================

so the factor is 1 within ``offset`` of the origin and exactly ``decay`` at
``offset + scale`` (a half-life when ``decay=0.5``). The final score is
``relevance * factor``; Milvus multiplies its raw similarity, which is the same for
COSINE (relevance ``max(0, similarity)``; rows of relevance 0 tie either way) but not
for IP, whose similarity exceeds 1 for vectors longer than 1 while relevance stops at 1:
an IP collection, like an L2 one, is reranked here (``place="server"`` is refused).

Milvus reranks a window of candidates, not the whole collection: Milvus Lite 3.2.2
takes the ``10 * limit`` most similar rows (:data:`DECAY_WINDOW`), and so does the
client here by default (``window``), so both give the same results. A row without a
numeric value in the field gets factor 0 (it ranks after every row that has one); a
field that can hold no number (the text, a vector, a declared VARCHAR field) is refused
with :class:`ConfigError` (:func:`decay_column`).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from milvus_plugins.core.config import CollectionSpec
from milvus_plugins.core.errors import ConfigError, shown
from milvus_plugins.core.grouping import Place, unkeyed_field
from milvus_plugins.core.records import Record
from milvus_plugins.core.results import Hit
from milvus_plugins.core.types import ParsableEnum, ScalarType

__all__ = ["DECAY_WINDOW", "Decay", "DecayFunction", "apply_decay", "as_decay", "decay_column"]

DECAY_WINDOW = 10
"""Candidates reranked per result asked for (Milvus Lite 3.2.2's window: ``10 * limit``)."""


class DecayFunction(ParsableEnum):
    """The shape of the decay: Gaussian, exponential or linear."""

    GAUSS = "gauss"
    EXP = "exp"
    LINEAR = "linear"


def _finite(value: Any) -> float | None:
    """``value`` as a finite float, or ``None`` (not a number, a bool, NaN, infinite, or
    an int too large for a float)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int beyond 1.8e308
        return None
    return number if math.isfinite(number) else None


def _number(name: str, value: Any) -> float:
    number = _finite(value)
    if number is None:
        raise ConfigError(f"decay {name}={shown(value)} must be a finite number.")
    return number


@dataclass(frozen=True, kw_only=True)
class Decay:
    """Rerank by a numeric field's distance from an origin (see the module docstring).

    Attributes:
        field: a declared INT64/DOUBLE metadata field (Milvus can rerank on it) or a
            metadata key (reranked here).
        origin: the ideal value (e.g. now, as a Unix timestamp).
        scale: how far from ``origin + offset`` the factor falls to ``decay`` (> 0).
        function: ``"gauss"`` (default), ``"exp"`` or ``"linear"``.
        offset: distance from the origin with no decay (>= 0).
        decay: the factor at ``offset + scale``, in (0, 1) (default 0.5: a half-life).
        window: candidates reranked (default ``10 * k``, as Milvus Lite reranks).
        place: ``"auto"`` (Milvus' decay reranker where the engine has one and the
            field and metric allow it), ``"server"`` or ``"client"``.

    Raises:
        ConfigError: a bad value, named.
    """

    field: str
    origin: float
    scale: float
    function: DecayFunction | str = DecayFunction.GAUSS
    offset: float = 0.0
    decay: float = 0.5
    window: int | None = None
    place: Place | str = Place.AUTO

    def __post_init__(self) -> None:
        if not isinstance(self.field, str) or not self.field.strip():
            raise ConfigError(f"decay field={shown(self.field)} must be a field or metadata key.")
        set_ = object.__setattr__
        set_(self, "origin", _number("origin", self.origin))
        set_(self, "scale", _number("scale", self.scale))
        set_(self, "offset", _number("offset", self.offset))
        set_(self, "decay", _number("decay", self.decay))
        if self.scale <= 0:
            raise ConfigError(f"decay scale={self.scale} must be > 0.")
        if self.scale * self.scale < sys.float_info.min:
            # The gauss formulas (Milvus' and ours) divide by scale squared, which would
            # round to zero or lose its precision.
            raise ConfigError(
                f"decay scale={self.scale} is too small (its square underflows a float); "
                "give the scale in a coarser unit (e.g. seconds rather than nanoseconds)."
            )
        if self.offset < 0:
            raise ConfigError(f"decay offset={self.offset} must be >= 0.")
        if not 0.0 < self.decay < 1.0:
            raise ConfigError(f"decay decay={self.decay} must be in (0, 1) (0.5: a half-life).")
        window = self.window
        if window is not None and (
            isinstance(window, bool) or not isinstance(window, int) or not 0 < window <= 16384
        ):
            raise ConfigError(f"decay window={shown(window)} must be an integer in [1, 16384].")
        set_(self, "function", DecayFunction.parse(self.function, field="decay function"))
        set_(self, "place", Place.parse(self.place, field="place"))

    def factor(self, value: Any) -> float:
        """The decay factor of a field value (0 for a missing or non-numeric value)."""
        number = _finite(value)
        if number is None:
            return 0.0
        # Far apart values give d = inf (and the factor 0), never an overflow error.
        ratio = max(0.0, abs(number - self.origin) - self.offset) / self.scale
        match self.function:
            case DecayFunction.GAUSS:
                return math.exp(math.log(self.decay) * ratio * ratio)
            case DecayFunction.EXP:
                return math.exp(math.log(self.decay) * ratio)
            case _:
                return max(0.0, 1.0 - (1.0 - self.decay) * ratio)

    def candidates(self, k: int) -> int:
        """How many candidates to rerank for ``k`` results."""
        return min(16384, max(k, self.window or DECAY_WINDOW * k))

    def server_params(self) -> dict[str, Any]:
        """The ``params`` of Milvus' decay reranker ``Function``."""
        return {
            "reranker": "decay",
            "function": str(self.function),
            "origin": self.origin,
            "scale": self.scale,
            "offset": self.offset,
            "decay": self.decay,
        }


def decay_column(spec: CollectionSpec, decay: Decay) -> str | None:
    """The numeric column Milvus can rerank on, or ``None`` (a metadata key: client only).

    Raises:
        ConfigError: ``decay.field`` names a field of ``spec`` that holds no number: a
            canonical field (id, text, a vector, ``doc_id``, the metadata or ``extra``
            JSON) or a declared field of another type than INT64 or DOUBLE (every hit
            would get factor 0).
    """
    name = decay.field
    names = spec.fields
    what = unkeyed_field(spec, name)
    if what is None and name in (names.id, names.doc_id):
        what = f"the {'id' if name == names.id else 'source-document id'} field (a string)"
    declared = spec.declared(name)
    numeric = (ScalarType.INT64, ScalarType.DOUBLE)
    if what is None and declared is not None and declared.type not in numeric:
        what = f"a declared {declared.scalar_type.value} field"
    if what is not None:
        raise ConfigError(
            f"decay field={shown(name)} names {what} of collection {shown(spec.name)}, "
            "which holds no number (every hit would get factor 0); rerank by a numeric "
            "field: a declared INT64 or DOUBLE field, or a metadata key holding numbers "
            "(named by itself: field='year')."
        )
    return name if declared is not None else None


def _value(record: Record, field: str) -> Any:
    return record.metadata.get(field)


def apply_decay(
    hits: Sequence[Hit],
    decay: Decay,
    k: int,
    value: Callable[[Record, str], Any] = _value,
) -> list[Hit]:
    """Rerank ``hits``: score times the decay factor, best first (stable), the first ``k``.

    The distance keeps the engine's raw value; the score becomes ``relevance * factor``.
    """
    scored = [replace(h, score=h.score * decay.factor(value(h.record, decay.field))) for h in hits]
    scored.sort(key=lambda h: -h.score)
    return scored[:k]


def as_decay(value: Any) -> Decay | None:
    """A :class:`Decay` from an adapter's ``decay=`` argument: a Decay, a dict of its
    fields, or ``None``.

    Raises:
        ConfigError: another value, or a dict with unknown or bad fields.
    """
    if value is None or isinstance(value, Decay):
        return value
    if isinstance(value, Mapping):
        known = {f.name for f in fields(Decay)}
        unknown = sorted(str(key) for key in value if key not in known)
        if unknown:
            raise ConfigError(f"decay got unknown field(s) {unknown}; accepted: {sorted(known)}.")
        missing = sorted({"field", "origin", "scale"} - set(value))
        if missing:
            raise ConfigError(f"decay needs {missing} (e.g. field='ts', origin=now, scale=86400).")
        return Decay(**value)
    raise ConfigError(f"decay={shown(value)} must be a Decay(...) or a dict of its fields.")
