"""Paged reads over ids holding quotes and backslashes, on every engine.

pymilvus' query iterator starts each page with ``id > "<last id>"``, the id pasted in
unescaped: an id like ``b" and id > "y`` made that filter skip rows (an export said it
was complete with a third of them) and one like ``z\\1`` broke it. Every paged read of
the store (export, iter_records, a full get, delete's id reads) goes through the same
pager, which now escapes the cursor.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from milvus_plugins.core import (
    CollectionSpec,
    ConnectionConfig,
    InvalidInputError,
    MilvusStore,
    Record,
    export_collection,
    iter_records,
)

DIM = 4
HOSTILE = [
    "a",
    'b" and id > "y',
    "c",
    'd" or id != "',
    "e\\",
    'f\\"',
    "g",
    "h'",
    "z\\1",
]


def _store(uri: str, name: str) -> MilvusStore:
    return MilvusStore(CollectionSpec(name=name, dim=DIM), connection=ConnectionConfig(uri=uri))


def _records(ids: list[str]) -> list[Record]:
    rng = np.random.default_rng(7)
    return [
        Record(id=i, text=f"text {n}", vector=rng.random(DIM).tolist(), metadata={"n": n})
        for n, i in enumerate(ids)
    ]


def test_every_page_of_hostile_ids_is_read(uri: str, collection_name: str, tmp_path: Path) -> None:
    store = _store(uri, collection_name)
    try:
        hostile = HOSTILE
        if not store.capabilities.apostrophe_ids:  # Milvus Lite 2.5.1 fails their upsert
            with pytest.raises(InvalidInputError, match="apostrophe"):
                store.upsert(_records(HOSTILE), progress=False)
            assert not store.exists()  # refused before the collection was created
            hostile = [i for i in HOSTILE if "'" not in i]
        store.upsert(_records(hostile), progress=False)
        for batch in (1, 2, 3):
            pages = list(iter_records(store, batch_rows=batch, include_vectors=False))
            assert sorted(r.id for page in pages for r in page) == sorted(hostile)
            assert all(len(page) <= batch for page in pages)
        path = tmp_path / "out.jsonl"
        report = export_collection(store, path, batch_rows=2)
        lines = path.read_text(encoding="utf-8").splitlines()
        assert report.rows == len(hostile)
        assert sorted(json.loads(line)["id"] for line in lines[1:-1]) == sorted(hostile)
    finally:
        store.close()


def test_full_read_past_one_page_keeps_every_row(lite_uri: str, collection_name: str) -> None:
    """A query of every row past Milvus' 16,384-row window pages through the iterator
    (1,000 rows a page): the hostile id sits last on the first page."""
    ids = [f"k{i:05d}" for i in range(16_500)]
    ids[999] = 'k00999" and id > "k09000'  # sorts where k00999 did: last of page one
    store = _store(lite_uri, collection_name)
    try:
        store.upsert(_records(ids), progress=False)
        got = store.query()
        assert sorted(r.id for r in got) == sorted(ids)
    finally:
        store.close()
