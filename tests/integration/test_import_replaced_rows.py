"""An import into a live collection that holds other rows under the file's ids
(RELIABILITY 133).

A stale export imported into the live collection replaced the newer rows, silently (a
helper's hostile pass over the CLI); ``migrate`` already refused that. Now both refuse
unless asked (``overwrite=True`` / ``--overwrite``), with nothing written; a re-run of an
import cut short (rows equal to the file's) still passes. On every engine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tests.support.cli_runner import assert_one_line_error, run_cli

from milvus_plugins.core import (
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    MilvusStore,
    Record,
    export_collection,
    import_collection,
)

DIM = 4


def _records(text: str, n: int = 5) -> list[Record]:
    return [
        Record(
            id=f"r{i}",
            text=f"{text} {i}",
            vector=[float(i + 1), 0.5, 0.25, 1.0],
            metadata={"n": i},
        )
        for i in range(n)
    ]


def _texts(store: MilvusStore) -> dict[str, str]:
    return {r.id: r.text for r in store.query(None)}


@pytest.fixture
def stale(uri: str, collection_name: str, tmp_path: Path) -> tuple[MilvusStore, Path]:
    """A live collection whose rows changed since ``stale.jsonl`` was exported."""
    connection = ConnectionConfig(uri=uri)
    store = MilvusStore(CollectionSpec(name=collection_name, dim=DIM), connection=connection)
    store.upsert(_records("old"))
    path = tmp_path / "stale.jsonl"
    export_collection(store, path)
    store.upsert(_records("new", 3))  # r0..r2 changed; r3, r4 as exported
    store.upsert([Record(id="extra", text="only live", vector=[1.0, 1.0, 1.0, 1.0])])
    return store, path


def test_a_stale_export_is_refused_and_nothing_is_written(
    stale: tuple[MilvusStore, Path], collection_name: str, uri: str
) -> None:
    store, path = stale
    before = _texts(store)
    with pytest.raises(ConfigError, match=r"already holds other rows .*'r0'.*overwrite=True"):
        import_collection(path, collection_name, connection=ConnectionConfig(uri=uri))
    assert _texts(store) == before


def test_overwrite_replaces_on_purpose_and_keeps_other_rows(
    stale: tuple[MilvusStore, Path], collection_name: str, uri: str
) -> None:
    store, path = stale
    report = import_collection(
        path, collection_name, connection=ConnectionConfig(uri=uri), overwrite=True
    )
    assert report.rows == 5
    assert _texts(store) == {**{f"r{i}": f"old {i}" for i in range(5)}, "extra": "only live"}


def test_an_import_cut_short_runs_again(uri: str, collection_name: str, tmp_path: Path) -> None:
    """Rows equal to the file's (an earlier run's) are not "other rows"."""
    connection = ConnectionConfig(uri=uri)
    with MilvusStore(CollectionSpec(name=collection_name, dim=DIM), connection=connection) as s:
        s.upsert(_records("same"))
        path = tmp_path / "all.jsonl"
        export_collection(s, path)
        s.delete(ids=["r3", "r4"])  # as if the import had stopped after three rows
        report = import_collection(path, collection_name, connection=connection)
        assert report.rows == 5
        assert _texts(s) == {f"r{i}": f"same {i}" for i in range(5)}


def test_cli_import_refuses_then_overwrites(
    stale: tuple[MilvusStore, Path], collection_name: str, uri: str, tmp_path: Path
) -> None:
    store, path = stale
    before = _texts(store)
    args = ("--uri", uri, "import", str(path), collection_name, "--no-progress")
    refused = run_cli(*args, cwd=tmp_path)
    assert_one_line_error(refused, 2, "recreate it (--drop), or pass --overwrite to replace")
    assert "overwrite=True" not in refused.err
    assert _texts(store) == before
    done = run_cli(*args, "--overwrite", cwd=tmp_path)
    assert done.code == 0, done.err
    assert _texts(store)["r0"] == "old 0"


_CHANGES = {
    # Python's == takes 1, 1.0 and True for one value; the stored JSON does not.
    "int_to_float": ({"metadata": {"n": 1}}, {"metadata": {"n": 1.0}}),
    "bool_to_int": ({"metadata": {"n": True}}, {"metadata": {"n": 1}}),
    "extra": ({"extra": {"rel": "old"}}, {"extra": {"rel": "new"}}),
    "doc_id": ({"doc_id": "a"}, {"doc_id": "b"}),
    # One float32 step in one component: both sides are float32 as stored.
    "vector_ulp": (
        {"vector": [1.0, 0.5, 0.25, 1.0]},
        {"vector": [float(np.nextafter(np.float32(1.0), np.float32(2.0))), 0.5, 0.25, 1.0]},
    ),
}


def test_a_row_that_differs_in_one_field_only_is_not_replaced(
    uri: str, collection_name: str, tmp_path: Path
) -> None:
    """Each change in turn, on one collection (one row ``m``)."""
    connection = ConnectionConfig(uri=uri)
    base: dict[str, Any] = {"id": "m", "text": "t", "vector": [1.0, 0.5, 0.25, 1.0]}
    with MilvusStore(CollectionSpec(name=collection_name, dim=DIM), connection=connection) as s:
        for change, (exported, live) in sorted(_CHANGES.items()):
            s.upsert([Record(**{**base, **exported})])
            path = tmp_path / f"{change}.jsonl"
            export_collection(s, path)
            s.upsert([Record(**{**base, **live})])
            before = s.get(["m"], include_vectors=True)[0]
            with pytest.raises(ConfigError, match="already holds other rows"):
                import_collection(path, collection_name, connection=connection)
            after = s.get(["m"], include_vectors=True)[0]
            kept = (after.metadata, after.extra, after.doc_id)
            assert kept == (before.metadata, before.extra, before.doc_id), change
            assert np.array_equal(np.float32(after.vector), np.float32(before.vector)), change
            # The same file into the same row again passes (nothing differs).
            s.upsert([Record(**{**base, **exported})])
            assert import_collection(path, collection_name, connection=connection).rows == 1


class _FixedSparse:
    """A client sparse encoder for a store that only writes given sparse vectors."""

    def encode_documents(self, texts: list[str]) -> list[dict[int, float]]:
        return [{1: 1.0} for _ in texts]

    def encode_queries(self, texts: list[str]) -> list[dict[int, float]]:
        return [{1: 1.0} for _ in texts]


def test_a_row_that_differs_in_its_sparse_vector_only_is_not_replaced(
    uri: str, collection_name: str, tmp_path: Path
) -> None:
    connection = ConnectionConfig(uri=uri)
    spec = CollectionSpec(name=collection_name, dense=False, sparse="client")
    with MilvusStore(spec, connection=connection, sparse_encoder=_FixedSparse()) as s:
        if not s.capabilities.sparse:
            pytest.skip(f"{s.capabilities.version} has no sparse vectors (probed)")
        s.upsert([Record(id="r0", text="t", sparse={1: 1.0})])
        path = tmp_path / "sparse.jsonl"
        export_collection(s, path)
        s.upsert([Record(id="r0", text="t", sparse={5: 2.0})])
        with pytest.raises(ConfigError, match="already holds other rows"):
            import_collection(path, collection_name, connection=connection)
        assert s.get(["r0"], include_vectors=True)[0].sparse == {5: 2.0}
