"""Keep the overflowed accelerator keys in step with the collection (pure).

Writers mark a key overflowed in the collection's properties before writing a value its
column cannot hold; readers re-read the marks before compiling a filter that would use a
column not yet known to have overflowed, so a mark set by any writer (another store,
another process) is honoured by every filter compiled after it (see
:mod:`milvus_plugins.core.inference`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from milvus_plugins.core.filters import Filter
from milvus_plugins.core.inference import (
    overflow_properties,
    overflowed_keys,
    overflowing_keys,
    referenced_keys,
)
from milvus_plugins.core.ops.calls import Call, ClientMethod, Op
from milvus_plugins.core.ops.context import OpContext
from milvus_plugins.core.records import Record

__all__ = ["mark_overflow_op", "refresh_overflow_op"]


def refresh_overflow_op(ctx: OpContext, where: Filter | str | None) -> Op[None]:
    """Re-read the overflow marks when ``where`` would filter on an accelerator column.

    One ``describe_collection`` (about 2 ms on Milvus Lite); nothing for filters on
    declared fields, JSON keys or keys already known to have overflowed.
    """
    spec = ctx.spec
    if not spec.accelerated_fields or where is None or isinstance(where, str):
        return
    if not any(spec.accelerated(key) is not None for key in referenced_keys(where)):
        return
    description: Any = yield Call(
        ClientMethod.DESCRIBE_COLLECTION, (spec.name,), {"timeout": ctx.timeout}
    )
    ctx.session.note_overflowed(overflowed_keys(description))


def mark_overflow_op(ctx: OpContext, records: Sequence[Record]) -> Op[None]:
    """Mark the accelerated keys ``records`` overflow, before any of them is written.

    Marked first, so a reader that sees one of these rows also sees the mark (a failed
    write leaves a mark behind: those filters stay exact, at JSON speed).
    """
    spec = ctx.spec
    new = overflowing_keys(records, spec) - spec.overflowed_keys
    if not new:
        return
    yield Call(
        ClientMethod.ALTER_COLLECTION_PROPERTIES,
        (spec.name,),
        {"properties": overflow_properties(new), "timeout": ctx.timeout},
    )
    ctx.session.note_overflowed(new)
