"""Split rows into write batches bounded by row count and by estimated request bytes.

gRPC rejects messages above 64 MiB by default; a batch stays well under a byte budget
(16 MiB by default) whatever the text and metadata sizes, and under a row budget.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from milvus_plugins.core.errors import ConfigError, shown

__all__ = ["WriteOptions", "estimate_row_bytes", "plan_batches", "with_batch_rows"]


@dataclass(frozen=True, kw_only=True)
class WriteOptions:
    """How writes are batched and reported.

    Attributes:
        batch_rows: maximum rows per request.
        batch_bytes: maximum estimated bytes per request.
        progress: show a progress bar (``None``: only on a TTY and for large writes).
        progress_min_rows: writes smaller than this never show a bar.
        flush: flush after each write call (``None``: on Milvus Lite only, where
            unflushed rows are searched on a slow path).
        overlap: in a write that embeds as it goes (``upsert(..., embed=)``), embed
            the next batch while the current one is written, in a worker thread (an
            async model: a task). At most one batch is embedded ahead, so memory
            stays bounded by two batches, and the model never runs twice at once.
            ``None``: on. Measured (10,000 texts, batches of 1,000): 0.77x the time
            of embedding and writing in turn on Milvus Lite and 0.84x on a 2.3.5
            server with a model that waits (a remote API); 0.93x on Lite and 1.04x
            (within the spread) on a server sharing the two cores with a CPU model.
    """

    batch_rows: int = 1000
    batch_bytes: int = 16 * 1024 * 1024
    progress: bool | None = None
    progress_min_rows: int = 2000
    flush: bool | None = None
    overlap: bool | None = None

    def __post_init__(self) -> None:
        for name in ("batch_rows", "batch_bytes", "progress_min_rows"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"{name}={shown(value)} must be an int.")
        for name in ("progress", "flush", "overlap"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, bool):
                raise ConfigError(
                    f"{name}={shown(value)} must be True, False or None (the default)."
                )
        if self.batch_rows < 1:
            raise ConfigError(f"batch_rows={self.batch_rows} must be at least 1.")
        if self.progress_min_rows < 0:
            raise ConfigError(
                f"progress_min_rows={self.progress_min_rows} must be 0 or more (rows)."
            )
        if not 1024 <= self.batch_bytes <= 60 * 1024 * 1024:
            raise ConfigError(
                f"batch_bytes={self.batch_bytes} must be in [1 KiB, 60 MiB] (gRPC limit 64 MiB)."
            )


def with_batch_rows(
    options: WriteOptions, batch_rows: int | None, *, field: str = "batch_rows"
) -> WriteOptions:
    """Return ``options`` with a per-call row budget (``None`` keeps the instance's).

    ``field`` is the caller's name for the value, used in the error message.

    Raises:
        ConfigError: ``batch_rows`` is not a positive int.
    """
    if batch_rows is None:
        return options
    if isinstance(batch_rows, bool) or not isinstance(batch_rows, int) or batch_rows < 1:
        raise ConfigError(f"{field}={shown(batch_rows)} must be a positive int (rows per request).")
    return replace(options, batch_rows=batch_rows)


def merged_write_options(
    options: WriteOptions | None, batch_size: int | None, progress: bool | None = None
) -> WriteOptions | None:
    """``options`` with an adapter's ``batch_size`` and ``progress`` arguments folded in
    (both are also fields of :class:`WriteOptions`); ``None`` arguments keep its values.

    Raises:
        ConfigError: ``batch_size`` or ``progress`` contradicts a value ``options`` sets,
            or ``batch_size`` is not a positive int.
    """
    if options is not None and not isinstance(options, WriteOptions):
        return options  # refused where the settings are checked, naming the field
    if batch_size is None and progress is None:
        return options
    given = options or WriteOptions()
    if options is not None:
        for name, field, value, own, default in (
            ("batch_size", "batch_rows", batch_size, given.batch_rows, WriteOptions().batch_rows),
            ("progress", "progress", progress, given.progress, None),
        ):
            if value is not None and own not in (default, value):
                raise ConfigError(
                    f"{name}={shown(value)} contradicts write_options' {field}={shown(own)}; "
                    "give one of the two."
                )
    merged = with_batch_rows(given, batch_size, field="batch_size")
    return merged if progress is None else replace(merged, progress=progress)


def estimate_row_bytes(row: Mapping[str, Any]) -> int:
    """Estimate the wire size of one row (vectors 4 bytes a float, strings as UTF-8)."""
    size = 16
    for value in row.values():
        kind = type(value)  # exact-type tests first: the usual row's values, cheaply
        if kind is list and value and type(value[0]) is float:
            size += 4 * len(value) + 8  # a dense vector
        elif kind is int or kind is float or kind is bool or value is None:
            size += 8
        elif kind is np.ndarray:
            size += 4 * value.size + 8  # a checked dense vector (float32 row)
        elif isinstance(value, str):
            size += (len(value) if value.isascii() else len(value.encode("utf-8"))) + 8
        elif isinstance(value, (list, tuple)):
            size += _list_bytes(value)
        elif isinstance(value, Mapping):
            size += len(json.dumps(value, default=str)) + 8
        else:
            size += 8
    return size


def _list_bytes(value: list[Any] | tuple[Any, ...]) -> int:
    """A list's size: a vector, an ARRAY of scalars (no serialiser call), else its JSON."""
    if not value:
        return 8
    if isinstance(value[0], float):
        return 4 * len(value) + 8
    size = 8
    for item in value:
        kind = type(item)
        if kind is str:
            size += (len(item) if item.isascii() else len(item.encode("utf-8"))) + 3
        elif kind is int or kind is float or kind is bool:
            size += 21  # at most as long as an int64 in JSON
        else:
            return len(json.dumps(value, default=str))
    return size


def plan_batches(
    rows: Sequence[Mapping[str, Any]], options: WriteOptions
) -> Iterator[tuple[int, int]]:
    """Yield ``(start, stop)`` slices of ``rows`` that respect both budgets.

    A single row larger than the byte budget goes alone in its batch.
    """
    start = 0
    size = 0
    for index, row in enumerate(rows):
        row_bytes = estimate_row_bytes(row)
        full = index - start >= options.batch_rows or (
            size + row_bytes > options.batch_bytes and index > start
        )
        if full:
            yield start, index
            start, size = index, 0
        size += row_bytes
    if start < len(rows):
        yield start, len(rows)
