"""Client-side grouping keys of metadata values (no Milvus needed): bools are not
numbers, and a list is not the string that spells it (a hostile pass found True, 1 and
1.0 in one group). Numbers group by value (1 and 1.0, as filters compare them)."""

from __future__ import annotations

from typing import Any

from milvus_plugins.core import CollectionSpec, Grouping, Record
from milvus_plugins.core.grouping import group_key


def _key(value: Any) -> Any:
    key = group_key(CollectionSpec(name="c", dim=2), Grouping(by="k"))
    return key.value(Record(id="r", text="t", metadata={"k": value}))


def test_bools_lists_and_strings_get_their_own_groups() -> None:
    values = [True, 1, "1", "true", [1], "[1]", {"a": 1}, '{"a": 1}', None, False, 0]
    keys = [_key(v) for v in values]
    assert len(set(keys)) == len(values)


def test_numbers_group_by_value() -> None:
    assert _key(1) == _key(1.0)
    assert _key([1, {"b": 2, "a": 1}]) == _key([1, {"a": 1, "b": 2}])
