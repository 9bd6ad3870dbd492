"""Congruence: every public operation answers alike through all six APIs, on every engine.

One scenario (write, read by ids, dense search with and without a filter, MMR, keyword
and hybrid search, the error of a bad ``k`` and of a delete whose filter matches
everything, delete by ids and filter together, delete by filter, clear, write again)
runs through the core store (sync and async) and the LangChain and LlamaIndex adapters
(sync and async), each on a collection of its own, on Milvus Lite and on the Milvus
2.3.5 server. Every step's outcome (its normalised result, or the type of the error it
raised) must be the same for all six faces; on each backend that is ``operations x 6
APIs`` comparisons.

What each comparison would catch if the sync and async paths drifted apart again:

* ``add`` / ``get`` / ``after_*`` reads: a write or delete path that differs (e.g. ids and
  a filter joined differently in one copy, an id order kept by one copy only);
* ``search*`` / ``mmr``: a request builder, fusion choice or score formula used by one
  copy only (scores are compared to 4 decimals);
* ``err_*``: one copy validating differently or raising another error type;
* ``after_clear`` / ``add_again``: cached collection state not reset in one copy;
* the second event loop: an async store tied to the first loop it ran on.

:func:`test_core_stores_offer_the_same_operations_with_the_same_signatures` holds the
two core stores to one API: an operation added to one of them only (as ``stats`` and
the partition operations once were), or a parameter added, renamed or given another
default in one of them, fails it before any scenario runs.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

import pytest
from tests.support.faces import FACES, AsyncFace, Face, Row

from milvus_plugins.core import AsyncMilvusStore, MilvusStore

# Every search step below ranks these rows without a tie (distinct dense scores, BM25
# scores and RRF sums, and a clear MMR pick): each face writes its own collection, and
# Milvus answers tied rows in any order, so a tie could order them differently per face.
CORPUS: list[Row] = [
    ("cat", "the cat ate a fish and the cat slept", {"kind": "animal", "year": 2001}),
    (
        "dog",
        "a dog chased the cat, the cat hissed at the dog",
        {"kind": "animal", "year": 2005, "tags": ["fur"]},
    ),
    ("car", "a fast car on the road", {"kind": "vehicle", "year": 2010}),
    (
        "train",
        "the train left the station as a plane and a bird flew over",
        {"kind": "vehicle", "note": 'it\'s "q" \\ x'},
    ),
    ("milvus", "milvus stores vector data", {"kind": "tech", "nested": {"a": [1, 2]}}),
    ("python", "python code for vector search, written in python", {"kind": "tech", "year": 2021}),
]
ALL = [i for i, _, _ in CORPUS]


# Sync-only helpers: pure, no collection access (the async store uses the same ones).
SYNC_ONLY = frozenset(
    {
        "cached_row_count",
        "expression",
        "op_context",
        "prepare_records",
        "query_kwargs",
        "remember_row_count",
        "scope",
        "scoped_context",
        "sparse_query",
        "translate",
        "use_client_fusion",
        "validate_before_embedding",
    }
)


def _operations(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in vars(cls).items()
        if not name.startswith("_") and inspect.isfunction(member)
    }


def test_core_stores_offer_the_same_operations_with_the_same_signatures() -> None:
    sync, aio = _operations(MilvusStore), _operations(AsyncMilvusStore)
    # ``capabilities`` is a property of the sync store and a coroutine of the async one
    # (a property cannot be awaited); ``release_ended_loops`` has no sync meaning.
    assert set(sync) - SYNC_ONLY == set(aio) - {"capabilities", "release_ended_loops"}
    for name in set(sync) & set(aio):
        assert inspect.iscoroutinefunction(getattr(AsyncMilvusStore, name)), name
        assert str(sync[name]) == str(aio[name]), name


def outcome(fn: Callable[[], Any]) -> tuple[str, Any]:
    """The normalised result of a call, or the name of the error type it raised."""
    try:
        value = fn()
    except Exception as exc:
        return ("error", type(exc).__name__)
    return ("ok", normalise(value))


def normalise(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, (list, tuple)):
        return [normalise(v) for v in value]
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in sorted(value.items())}
    return value


def scenario(face: Face) -> dict[str, tuple[str, Any]]:
    """Run the scenario through one face; return each step's outcome by name."""
    steps: dict[str, Callable[[], Any]] = {
        "add": lambda: face.add(CORPUS),
        "get": lambda: face.get(["train", "missing", "cat"]),
        "search": lambda: face.search("cat dog", 3),
        "search_filtered": lambda: face.search("cat car", 4, [("kind", "vehicle")]),
        "search_k_larger_than_rows": lambda: face.search("vector", 50),
        "mmr": lambda: face.mmr("cat", 2, 6),
        "sparse": lambda: face.search("vector search", 3, mode="sparse"),
        "hybrid": lambda: face.search("cat vector", 3, mode="hybrid"),
        "err_k_zero": lambda: face.search("cat", 0),
        "err_delete_match_all": lambda: face.delete(None, []),
        "after_err_delete_match_all": lambda: face.get(ALL),
        "delete_ids_and_filter": lambda: face.delete(["cat", "car"], [("kind", "animal")]),
        "after_delete_both": lambda: face.get(ALL),
        "delete_filter": lambda: face.delete(None, [("kind", "vehicle")]),
        "after_delete_filter": lambda: face.get(ALL),
        "delete_empty_ids": lambda: face.delete([], None),
        "after_delete_empty_ids": lambda: face.get(ALL),
        "clear": face.clear,
        "after_clear": lambda: face.get(ALL),
        "search_after_clear": lambda: face.search("cat", 3),
        "add_again": lambda: face.add(CORPUS[:2]),
        "after_add_again": lambda: face.get(ALL),
    }
    return {name: outcome(step) for name, step in steps.items()}


def run_all(uri: str, prefix: str, *, sparse: bool) -> dict[str, dict[str, tuple[str, Any]]]:
    results: dict[str, dict[str, tuple[str, Any]]] = {}
    for n, face_type in enumerate(FACES):
        face = face_type(uri, f"{prefix}_{n}", sparse=sparse)
        try:
            results[face.name] = scenario(face)
        finally:
            face.close()
    return results


def assert_congruent(results: dict[str, dict[str, tuple[str, Any]]]) -> None:
    reference_name, reference = next(iter(results.items()))
    for name, got in results.items():
        for step, expected in reference.items():
            assert got[step] == expected, (
                f"step {step!r}: {name} answered {got[step]!r}, {reference_name} {expected!r}"
            )


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "bm25"])
def test_every_api_answers_alike(uri: str, collection_name: str, sparse: bool) -> None:
    results = run_all(uri, collection_name, sparse=sparse)
    assert_congruent(results)
    core = results["core"]
    # The scenario did something: writes and reads succeeded wherever the engine can.
    if core["add"][0] == "ok":
        assert core["add"] == ("ok", ALL)
        assert [r[0] for r in core["get"][1]] == ["train", "cat"]
        assert {r[0] for r in core["after_delete_both"][1]} == set(ALL) - {"cat"}
        assert {r[0] for r in core["after_delete_filter"][1]} == {"dog", "milvus", "python"}
        assert core["after_clear"] == ("ok", [])
        assert [r[0] for r in core["after_add_again"][1]] == ["cat", "dog"]
        assert core["err_k_zero"][0] == "error"
        assert core["err_delete_match_all"][0] == "error"
        assert len(core["after_err_delete_match_all"][1]) == len(ALL)
    else:  # a BM25 collection on a server without sparse vectors
        assert sparse and core["add"] == ("error", "UnsupportedByServerError")


def test_async_faces_work_in_a_second_event_loop(uri: str, collection_name: str) -> None:
    """An async store keeps working when the application moves to a new event loop."""
    for n, face_type in enumerate(FACES):
        face = face_type(uri, f"{collection_name}_{n}")
        if not isinstance(face, AsyncFace):
            face.close()
            continue
        try:
            face.add(CORPUS[:3])
            face.loop.close()
            face.loop = asyncio.new_event_loop()
            assert [r[0] for r in face.get(["car", "cat"])] == ["car", "cat"], face.name
            assert face.search("cat", 1)[0][0] == "cat", face.name
        finally:
            face.close()
