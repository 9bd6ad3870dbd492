"""Maximal marginal relevance: pick results that are relevant and diverse."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from milvus_plugins.core.errors import InvalidInputError, shown
from milvus_plugins.core.results import Hit

__all__ = ["check_lambda", "check_mmr_options", "maximal_marginal_relevance", "select_mmr"]


def check_mmr_options(fetch_k: int | None, lambda_mult: float) -> int:
    """Return ``fetch_k`` if it and ``lambda_mult`` are valid MMR settings.

    Checked before any I/O, and also where MMR does not run (a blank query's
    filter-only answer), so a bad setting is never accepted silently.

    Raises:
        InvalidInputError: ``fetch_k`` is not a positive integer up to 16384, or
            ``lambda_mult`` is not a number in [0, 1].
    """
    from milvus_plugins.core.requests import check_k

    if fetch_k is None:
        raise InvalidInputError("fetch_k=None must be a positive integer (MMR candidates).")
    checked = check_k(fetch_k, "fetch_k")
    check_lambda(lambda_mult)
    return checked


def check_lambda(value: object, name: str = "lambda_mult") -> float:
    """Return MMR's relevance/diversity balance ``value`` as a float in [0, 1].

    Raises:
        InvalidInputError: ``value`` (named ``name``) is not a number in [0, 1].
    """
    # numbers.Real: numpy's float32 too (it is not a float subclass); bool is not a balance.
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= float(value) <= 1:
        raise InvalidInputError(
            f"{name}={shown(value)} must be a number in [0, 1] (1: relevance only, "
            "0: diversity only)."
        )
    return float(value)


def _normalise(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    normalised: np.ndarray = matrix / norms
    return normalised


def maximal_marginal_relevance(
    query: Sequence[float],
    candidates: Sequence[Sequence[float]],
    *,
    k: int,
    lambda_mult: float = 0.5,
) -> list[int]:
    """Return indices of up to ``k`` candidates chosen by MMR (cosine similarity).

    Each step takes the candidate maximising
    ``lambda_mult * sim(query, c) - (1 - lambda_mult) * max sim(c, chosen)``.
    ``lambda_mult=1`` is plain relevance order, ``0`` maximal diversity.
    """
    if not 0.0 <= lambda_mult <= 1.0:
        raise InvalidInputError(f"lambda_mult={lambda_mult} must be in [0, 1].")
    if k <= 0 or len(candidates) == 0:
        return []
    matrix = _normalise(np.asarray(candidates, dtype=np.float64))
    q = _normalise(np.asarray(query, dtype=np.float64).reshape(1, -1))[0]
    to_query = matrix @ q
    chosen = [int(np.argmax(to_query))]
    while len(chosen) < min(k, len(candidates)):
        redundancy = (matrix @ matrix[chosen].T).max(axis=1)
        objective = lambda_mult * to_query - (1.0 - lambda_mult) * redundancy
        objective[chosen] = -np.inf
        chosen.append(int(np.argmax(objective)))
    return chosen


def select_mmr(
    query: Sequence[float], hits: Sequence[Hit], *, k: int, lambda_mult: float
) -> list[Hit]:
    """Re-rank ``hits`` (fetched with their vectors) by MMR and keep ``k``."""
    usable = [h for h in hits if h.record.vector is not None]
    if not usable:
        return []
    chosen = maximal_marginal_relevance(
        query,
        [list(h.record.vector) for h in usable],  # type: ignore[arg-type]
        k=k,
        lambda_mult=lambda_mult,
    )
    return [usable[i] for i in chosen]
