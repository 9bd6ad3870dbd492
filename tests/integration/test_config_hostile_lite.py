"""Hostile Lite paths and search knobs against real Milvus Lite: refused with a
``ConfigError`` naming the fix before Milvus Lite is started (or before the search is sent),
with nothing changed on disk; the valid forms (``~``, an empty directory) work.
"""

from __future__ import annotations

import math
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from milvus_plugins.core import (
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    HnswIndex,
    IvfFlatIndex,
    MilvusStore,
    Record,
    lite,
)

DIM = 4


def _vector(i: int) -> list[float]:
    return [float(i + 1), 1.0, float(i % 3), 0.5]


def _records(n: int = 3) -> list[Record]:
    return [Record(id=f"r{i}", text=f"text {i}", vector=_vector(i)) for i in range(n)]


def _store(uri: str, **spec: Any) -> MilvusStore:
    return MilvusStore(
        CollectionSpec(name="c", dim=DIM, **spec), connection=ConnectionConfig(uri=uri)
    )


def _lite_servers() -> set[str]:
    from milvus_lite.server_manager import server_manager_instance

    return set(getattr(server_manager_instance, "_servers", {}))


def _not_a_database(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"{kind}.db"
    if kind == "text":
        path.write_text("hello, not a database\n", encoding="utf-8")
    elif kind == "sqlite":
        with sqlite3.connect(path) as conn:
            conn.execute("create table t(x)")
    elif kind == "dangling":
        path.symlink_to(tmp_path / "missing" / "target.db")
    elif kind == "fifo":
        os.mkfifo(path)
    return path


@pytest.mark.parametrize(
    ("kind", "needle"),
    [
        ("text", "is a file, not a Milvus Lite database"),
        ("sqlite", "is a file, not a Milvus Lite database"),
        ("dangling", "is a symbolic link to the missing"),
        ("fifo", "is not a directory, not a Milvus Lite database"),
    ],
)
def test_a_path_lite_cannot_open_is_a_config_error_before_lite_starts(
    tmp_path: Path, kind: str, needle: str
) -> None:
    path = _not_a_database(tmp_path, kind)
    before = sorted(os.listdir(tmp_path))
    content = path.read_bytes() if kind in ("text", "sqlite") else None
    store = _store(str(path))
    with pytest.raises(ConfigError) as info:
        store.upsert(_records())
    message = str(info.value)
    assert needle in message
    assert "pass a new path or the database's path" in message
    assert str(path) in message
    assert str(path) not in _lite_servers()  # Milvus Lite was never started on it
    assert lite.lease_count(str(path)) == 0
    assert sorted(os.listdir(tmp_path)) == before
    if content is not None:
        assert path.read_bytes() == content
    store.close()


def test_an_existing_empty_directory_is_opened_as_a_new_database(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.mkdir()
    store = _store(str(path))
    try:
        store.upsert(_records())
        assert store.count() == 3
    finally:
        store.close()


def test_a_symlink_to_a_database_directory_still_works(tmp_path: Path) -> None:
    real = tmp_path / "real.db"
    store = _store(str(real))
    try:
        store.upsert(_records())
    finally:
        store.close()
    link = tmp_path / "link.db"
    link.symlink_to(real)
    again = _store(str(link))
    try:
        assert again.count() == 3
    finally:
        again.close()


def test_tilde_is_expanded_for_a_lite_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    store = _store("~/notes.db")
    try:
        assert store.session.connection.uri == str(home / "notes.db")
        store.upsert(_records())
        assert store.count() == 3
    finally:
        store.close()
    assert (home / "notes.db").is_dir()
    assert not (work / "~").exists()


@pytest.mark.parametrize("ef", [math.nan, math.inf, 10**12, 1.5, 32769, 0, True])
def test_bad_ef_is_refused_before_the_search_and_the_store_still_works(
    lite_uri: str, ef: Any
) -> None:
    store = _store(lite_uri, index=HnswIndex(ef=32))
    try:
        store.upsert(_records())
        with pytest.raises(ConfigError, match=r"ef takes an integer in \[1, 32768\]"):
            store.search(_vector(1), k=2, search_params={"ef": ef})
        assert [h.id for h in store.search(_vector(1), k=1, search_params={"ef": 32768})]
    finally:
        store.close()


@pytest.mark.parametrize("nprobe", [math.nan, math.inf, 2.5, 0, 65537, 9])
def test_bad_nprobe_is_refused_before_the_search(lite_uri: str, nprobe: Any) -> None:
    store = _store(lite_uri, index=IvfFlatIndex(nlist=8, nprobe=2))
    try:
        store.upsert(_records())
        with pytest.raises(ConfigError, match=r"search parameter nprobe="):
            store.search(_vector(1), k=2, search_params={"nprobe": nprobe})
        assert len(store.search(_vector(1), k=2, search_params={"nprobe": 8})) == 2
    finally:
        store.close()
