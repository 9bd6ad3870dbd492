"""The write's shallow record copies (``scope._copy_record``) carry every field of
``Record``: they are made attribute by attribute, so a field added to ``Record`` must be
added there too (this test fails until it is)."""

from __future__ import annotations

from dataclasses import fields

from milvus_plugins.core import Record
from milvus_plugins.core.scope import _copy_record


def test_copy_carries_every_field_and_shares_the_values() -> None:
    original = Record(
        id="i",
        text="t",
        vector=[1.0, 2.0],
        metadata={"a": 1},
        sparse={1: 0.5},
        doc_id="d",
        extra={"e": 1},
        vectors={"title": [0.5]},
    )
    copy = _copy_record(original)
    assert copy is not original
    assert copy == original
    for field in fields(Record):
        assert getattr(copy, field.name) is getattr(original, field.name)
    copy.metadata = {"b": 2}
    assert original.metadata == {"a": 1}
