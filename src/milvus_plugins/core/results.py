"""Pure result parsers: pymilvus hits -> :class:`Hit` objects with relevance scores."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from milvus_plugins.core.config import CollectionSpec
from milvus_plugins.core.ranking import Ranker, fused_relevance, keyword_relevance, relevance
from milvus_plugins.core.records import Record
from milvus_plugins.core.rows import record_from_row
from milvus_plugins.core.types import MetricType

__all__ = ["Hit", "filter_only_hits", "parse_hits", "parse_rows"]


@dataclass
class Hit:
    """One search result.

    Attributes:
        record: the stored record (vector included only when asked for).
        score: relevance in [0, 1], higher is better (formulas in ``core.ranking``).
        distance: the raw value Milvus returned (a distance, similarity or fused score);
            ``nan`` for a filter-only hit (see :func:`filter_only_hits`), which no
            search ranked.
    """

    record: Record
    score: float
    distance: float

    @property
    def id(self) -> str:
        """The record id."""
        return self.record.id


def _entity(hit: Mapping[str, Any], spec: CollectionSpec) -> dict[str, Any]:
    entity = dict(hit.get("entity") or {})
    pk = spec.fields.id
    entity[pk] = hit.get(pk, hit.get("id", entity.get(pk)))
    return entity


def parse_hits(
    raw: Any, spec: CollectionSpec, metric: MetricType, keyword_scale: float | None = None
) -> list[list[Hit]]:
    """Parse a ``search`` result (one list per query) scored by a single metric.

    Args:
        raw: the ``search`` answer.
        spec: the collection spec.
        metric: the searched field's metric.
        keyword_scale: for a keyword (sparse) search, the query's scale
            (:func:`~milvus_plugins.core.ranking.keyword_scale`); the relevance is then
            :func:`~milvus_plugins.core.ranking.keyword_relevance`.
    """
    out = []
    for hits in raw:
        parsed = []
        for hit in hits:
            distance = float(hit["distance"])
            record = record_from_row(_entity(hit, spec), spec)
            score = (
                relevance(distance, metric)
                if keyword_scale is None
                else keyword_relevance(distance, keyword_scale)
            )
            parsed.append(Hit(record=record, score=score, distance=distance))
        out.append(parsed)
    return out


def parse_fused(raw: Any, spec: CollectionSpec, ranker: Ranker, legs: int) -> list[Hit]:
    """Parse a server-fused ``hybrid_search`` result for one query.

    Milvus returns only the fused score, so the relevance is
    :func:`~milvus_plugins.core.ranking.fused_relevance` (see its caveat).
    """
    hits = raw[0] if raw else []
    out = []
    for hit in hits:
        distance = float(hit["distance"])
        out.append(
            Hit(
                record=record_from_row(_entity(hit, spec), spec),
                score=fused_relevance(distance, ranker, legs),
                distance=distance,
            )
        )
    return out


FILTER_ONLY_SCORE = 1.0
"""The score of every hit of a filter-only retrieval: each row satisfies the whole query."""


def filter_only_hits(records: Iterable[Record]) -> list[Hit]:
    """Wrap the rows of a filter-only retrieval (no vector, no text) as hits.

    Nothing ranks such rows (they come back in the engine's order), so every hit gets
    the same score, :data:`FILTER_ONLY_SCORE` (1.0: the row matches everything the query
    asked, its filter), and ``distance=nan``: no distance was computed. A score
    threshold in [0, 1] therefore keeps them all.
    """
    return [Hit(record=r, score=FILTER_ONLY_SCORE, distance=math.nan) for r in records]


def parse_rows(rows: Iterable[Mapping[str, Any]], spec: CollectionSpec) -> list[Record]:
    """Parse ``get``/``query`` rows into records."""
    return [record_from_row(row, spec) for row in rows]


def order_like(records: Sequence[Record], ids: Sequence[str]) -> list[Record]:
    """Return ``records`` in the order of ``ids`` (missing ids are skipped)."""
    by_id = {r.id: r for r in records}
    return [by_id[i] for i in ids if i in by_id]
