"""``checked_arguments``: annotations judged at the public entry points (pure, no I/O)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pytest

from milvus_plugins.core.arguments import check_argument, checked_arguments
from milvus_plugins.core.errors import ConfigError, FilterError, InvalidInputError
from milvus_plugins.core.filters import Filter
from milvus_plugins.core.records import Record


def _gen() -> Iterable[int]:
    yield 1


@checked_arguments
class Target:
    def __init__(self, flag: bool = False, timeout: float | None = None) -> None:
        self.flag = flag

    def flags(self, flag: bool = False) -> bool:
        return flag

    def ints(self, k: int = 4, fetch_k: int | None = None) -> int:
        return k

    def floats(self, lambda_mult: float = 0.5) -> float:
        return lambda_mult

    def texts(self, query: str) -> str:
        return query

    def mappings(self, params: Mapping[str, Any] | None = None) -> Any:
        return params

    def sequences(self, vector: Sequence[float]) -> Any:
        return vector

    def iterables(self, texts: Iterable[str]) -> Any:
        return texts

    def records(self, records: Sequence[Record] = ()) -> Any:
        return records

    def anything(self, value: Any = None, *rest: Any, **extra: Any) -> Any:
        return value

    async def aflags(self, flag: bool = False) -> bool:
        return flag

    def _private(self, flag: bool) -> bool:
        return flag


ACCEPTED = [
    ("flags", {"flag": True}),
    ("ints", {"k": 3, "fetch_k": None}),
    ("ints", {"k": np.int64(3)}),
    ("floats", {"lambda_mult": 1}),
    ("floats", {"lambda_mult": np.float32(0.25)}),
    ("texts", {"query": ""}),
    ("mappings", {"params": {"ef": 64}}),
    ("sequences", {"vector": (0.1, 0.2)}),
    ("sequences", {"vector": np.array([0.1, 0.2])}),
    ("iterables", {"texts": _gen()}),
    ("records", {"records": [Record(id="a", text="t")]}),
    ("anything", {"value": object()}),
]

REFUSED = [
    ("flags", {"flag": "yes"}),
    ("flags", {"flag": 1}),
    ("ints", {"k": "4"}),
    ("ints", {"k": True}),
    ("ints", {"fetch_k": 2.5}),
    ("floats", {"lambda_mult": math.nan}),
    ("floats", {"lambda_mult": "0.5"}),
    ("texts", {"query": b"q"}),
    ("texts", {"query": None}),
    ("mappings", {"params": [("ef", 64)]}),
    ("sequences", {"vector": "abc"}),
    ("sequences", {"vector": _gen()}),
    ("sequences", {"vector": {"a": 1}}),
    ("iterables", {"texts": "abc"}),
    ("records", {"records": [[1, [2]], "x"]}),
]


@pytest.mark.parametrize(("method", "kwargs"), ACCEPTED)
def test_values_that_fit_the_annotation_pass(method: str, kwargs: dict[str, Any]) -> None:
    getattr(Target(), method)(**kwargs)


@pytest.mark.parametrize(("method", "kwargs"), REFUSED)
def test_values_that_do_not_fit_raise_an_input_error_naming_the_parameter(
    method: str, kwargs: dict[str, Any]
) -> None:
    (name,) = kwargs
    with pytest.raises(InvalidInputError, match=rf"Target\.{method}\(\): {name}\b"):
        getattr(Target(), method)(**kwargs)


def test_positional_arguments_are_checked_too() -> None:
    with pytest.raises(InvalidInputError, match="flag must be True or False"):
        Target().flags("no")


def test_the_constructor_raises_a_config_error() -> None:
    with pytest.raises(ConfigError, match="timeout must be a number or None, got NaN"):
        Target(timeout=math.nan)
    with pytest.raises(ConfigError, match="flag must be True or False"):
        Target(flag="true")


def test_an_async_method_refuses_when_awaited() -> None:
    coro = Target().aflags("x")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="flag must be True or False"):
        asyncio.run(coro)


def test_an_unknown_keyword_stays_a_type_error() -> None:
    with pytest.raises(TypeError, match="unexpected keyword"):
        Target().flags(bogus=1)  # type: ignore[call-arg]


def test_a_str_for_a_list_says_it_would_be_split() -> None:
    with pytest.raises(InvalidInputError, match=r"vector='abc' is a single str, not a list"):
        Target().sequences("abc")  # type: ignore[arg-type]


def test_a_wrong_element_is_named_by_its_position() -> None:
    with pytest.raises(InvalidInputError, match=r"records\[1\] is a str, not a Record"):
        Target().records([Record(id="a", text="t"), "x"])  # type: ignore[list-item]


def test_a_filter_of_the_wrong_type_is_a_filter_error() -> None:
    @checked_arguments
    class Store:
        def query(self, filter: Filter | str | None = None) -> Any:
            return filter

    with pytest.raises(FilterError, match="filter="):
        Store().query({"a": 1})  # type: ignore[arg-type]


def test_private_methods_are_not_wrapped() -> None:
    assert Target()._private("x") == "x"  # type: ignore[arg-type]


def test_check_argument_judges_one_value() -> None:
    check_argument("progress", None, bool | None)
    with pytest.raises(ConfigError, match="progress must be True or False or None"):
        check_argument("progress", "on", bool | None, error=ConfigError)


@checked_arguments
class _KeywordCalls:
    def run(self, k: int = 4, name: str | None = None, *, flag: bool = False) -> tuple[Any, ...]:
        return k, name, flag


def test_keyword_only_calls_are_checked_like_positional_ones() -> None:
    """Keyword-only calls skip binding the signature; each value is still judged, and a
    keyword the signature does not take stays Python's TypeError."""
    calls = _KeywordCalls()
    assert calls.run(k=3, name="a", flag=True) == (3, "a", True)
    with pytest.raises(InvalidInputError, match="k"):
        calls.run(k="3")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="flag"):
        calls.run(flag="yes")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="k"):
        calls.run("3")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="name"):
        calls.run(3, name=5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        calls.run(kk=3)  # type: ignore[call-arg]


def test_positional_calls_are_judged_by_place() -> None:
    """Positional arguments are matched to their parameters without binding the
    signature; every refusal Python or the check would make still happens, and an
    integer of another type given by place arrives as an ``int`` in its place."""
    calls = _KeywordCalls()
    assert calls.run(3, "a", flag=True) == (3, "a", True)
    with pytest.raises(InvalidInputError, match=r"name"):
        calls.run(3, 5)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match=r"flag"):
        calls.run(3, "a", flag="yes")  # type: ignore[arg-type]
    got = calls.run(np.int64(7), "a")
    assert got == (7, "a", False) and type(got[0]) is int
    got = calls.run(np.int64(7), name="b")
    assert got == (7, "b", False) and type(got[0]) is int
    with pytest.raises(TypeError, match="multiple values"):
        calls.run(3, k=4)  # type: ignore[misc]
    with pytest.raises(TypeError):
        calls.run(3, "a", True)  # type: ignore[misc]
    with pytest.raises(TypeError, match="unexpected keyword"):
        calls.run(3, kk=1)  # type: ignore[call-arg]
