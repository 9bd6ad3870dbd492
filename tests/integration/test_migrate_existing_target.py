"""``migrate`` into a target that already holds rows.

Before: a migration into an existing collection upserted every source row, so a target
holding *other* rows under the source's ids (an unrelated live collection named by
mistake) had them replaced for good; only the verification afterwards said FAILED.
Now such a target is refused before anything is copied (``ConfigError`` naming the ids
and the fix; CLI exit 2), unless ``overwrite=True`` / ``--overwrite``. A target holding
the source's own rows (a migration interrupted and run again) and rows under ids the
source lacks still pass.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from milvus_plugins.core import (
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    DenseField,
    InvalidInputError,
    MilvusStore,
    Record,
    iter_records,
    migrate,
    migration_target_spec,
)

DIM = 4


def _vec(i: int) -> list[float]:
    return [1.0, float(i % 7), 0.5, float(i % 3)]


def _store(uri: str, name: str) -> MilvusStore:
    return MilvusStore(CollectionSpec(name=name, dim=DIM), connection=ConnectionConfig(uri=uri))


def _rows(store: MilvusStore) -> dict[str, tuple[str, dict[str, object]]]:
    return {r.id: (r.text, r.metadata) for r in store.query()}


@pytest.fixture
def source(uri: str, collection_name: str) -> Iterator[MilvusStore]:
    """Twelve rows ``d0``-``d11``."""
    with _store(uri, f"{collection_name}_src") as store:
        store.upsert(
            [
                Record(id=f"d{i}", text=f"source {i}", vector=_vec(i), metadata={"i": i})
                for i in range(12)
            ]
        )
        yield store


def _live(uri: str, collection_name: str) -> MilvusStore:
    live = _store(uri, f"{collection_name}_live")
    live.upsert(
        [
            Record(id=f"d{i}", text=f"live {i}", vector=_vec(i + 1), metadata={"owner": "prod"})
            for i in range(3)
        ]
    )
    return live


def test_a_target_holding_other_rows_under_the_source_ids_is_refused(
    source: MilvusStore, uri: str, collection_name: str
) -> None:
    with _live(uri, collection_name) as live:
        before = _rows(live)
        with pytest.raises(ConfigError, match=r"'d0'.*overwrite=True"):
            migrate(source, live, batch_rows=5)
        assert _rows(live) == before


def test_overwrite_replaces_them_on_purpose(
    source: MilvusStore, uri: str, collection_name: str
) -> None:
    with _live(uri, collection_name) as live:
        report = migrate(source, live, batch_rows=5, overwrite=True)
        assert report.ok
        assert _rows(live) == _rows(source)


def test_an_interrupted_migration_is_resumed_by_running_it_again(
    source: MilvusStore, uri: str, collection_name: str
) -> None:
    class Stop(Exception):
        pass

    def stop_after_first_page(copied: int, total: int) -> None:
        raise Stop

    with _store(uri, f"{collection_name}_dst") as target:
        with pytest.raises(Stop):
            migrate(source, target, batch_rows=5, progress=stop_after_first_page)
        assert 0 < target.count() < 12
        report = migrate(source, target, batch_rows=5)
        assert report.ok
        assert _rows(target) == _rows(source)
        assert migrate(source, target, batch_rows=5).ok  # and once more: nothing differs


def test_rows_under_ids_the_source_lacks_are_left_and_reported(
    source: MilvusStore, uri: str, collection_name: str
) -> None:
    with _store(uri, f"{collection_name}_dst") as target:
        target.upsert([Record(id="other", text="kept", vector=_vec(3))])
        report = migrate(source, target, batch_rows=5)
        assert report.verification is not None
        assert (report.verification.source_rows, report.verification.target_rows) == (12, 13)
        assert not report.ok
        assert _rows(target)["other"] == ("kept", {})


def test_overwrite_must_be_a_bool(source: MilvusStore, uri: str, collection_name: str) -> None:
    with _store(uri, f"{collection_name}_dst") as target:
        with pytest.raises(ConfigError, match="overwrite"):
            migrate(source, target, overwrite="yes")  # type: ignore[arg-type]
        assert not target.exists()


def test_the_cli_refuses_and_overwrites_on_request(
    source: MilvusStore, uri: str, collection_name: str
) -> None:
    if not uri.endswith(".db"):
        pytest.skip("the CLI case runs on a Milvus Lite file (the other engines: core cases)")
    with _live(uri, collection_name) as live:
        before = _rows(live)
    source.close()  # Milvus Lite: one process holds the file at a time
    command = [
        sys.executable,
        "-m",
        "milvus_plugins",
        "--uri",
        uri,
        "migrate",
        f"{collection_name}_src",
        f"{collection_name}_live",
        "--no-progress",
    ]
    refused = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2, refused.stderr
    assert "--overwrite" in refused.stderr
    with _store(uri, f"{collection_name}_live") as live:
        assert _rows(live) == before
    done = subprocess.run([*command, "--overwrite"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "-> ok" in done.stdout
    with _store(uri, f"{collection_name}_live") as live:
        assert sorted(_rows(live)) == sorted(f"d{i}" for i in range(12))


# -- found by a hostile review of the check --------------------------------------------


def test_a_changed_named_vector_is_refused_and_an_unchanged_one_resumes(
    uri: str, collection_name: str
) -> None:
    spec = CollectionSpec(
        name=f"{collection_name}_nsrc", dim=DIM, vector_fields=[DenseField(name="title", dim=3)]
    )
    rows = [
        Record(id=f"r{i}", text=f"t{i}", vector=_vec(i), vectors={"title": [1.0, float(i), 2.0]})
        for i in range(6)
    ]
    with MilvusStore(spec, connection=ConnectionConfig(uri=uri)) as source:
        if not source.capabilities.multi_vector:
            pytest.skip("one vector field per collection on this engine (Milvus < 2.4)")
        source.upsert(rows)
        target_spec = migration_target_spec(source, f"{collection_name}_ndst")
        with MilvusStore(target_spec, connection=ConnectionConfig(uri=uri)) as target:
            assert migrate(source, target, batch_rows=4).ok
            assert migrate(source, target, batch_rows=4).ok  # resumed: nothing differs
            changed = Record(id="r1", text="t1", vector=_vec(1), vectors={"title": [9.0] * 3})
            target.upsert([changed])
            with pytest.raises(ConfigError, match="'r1'"):
                migrate(source, target, batch_rows=4)
            assert list(target.get(["r1"], include_vectors=True)[0].vectors["title"]) == [9.0] * 3


def test_a_sparse_only_migration_resumes(uri: str, collection_name: str) -> None:
    def store(name: str) -> MilvusStore:
        spec = CollectionSpec(name=name, sparse="bm25", dense=False)
        return MilvusStore(spec, connection=ConnectionConfig(uri=uri))

    with store(f"{collection_name}_ssrc") as source, store(f"{collection_name}_sdst") as target:
        if not source.capabilities.bm25_function:
            pytest.skip("no server-side BM25 on this engine")
        source.upsert([Record(id=f"s{i}", text=f"word{i} common") for i in range(5)])
        assert migrate(source, target).ok
        assert migrate(source, target).ok


def test_a_target_of_another_dimension_is_refused_as_holding_other_rows(
    source: MilvusStore, uri: str, collection_name: str
) -> None:
    spec = CollectionSpec(name=f"{collection_name}_wide", dim=8)
    with MilvusStore(spec, connection=ConnectionConfig(uri=uri)) as wide:
        wide.upsert([Record(id="d0", text="wide", vector=[1.0] * 8)])
        with pytest.raises(ConfigError, match="'d0'"):
            migrate(source, wide)
        assert wide.count() == 1


def test_iter_records_refuses_a_missing_partition(source: MilvusStore) -> None:
    if not source.capabilities.partitions:
        pytest.skip("no named partitions on this engine (Milvus Lite 2.5.1)")
    with pytest.raises(InvalidInputError, match="no partition 'archiv'"):
        next(iter_records(source, partition_names=["archiv"]))
    assert sum(len(page) for page in iter_records(source, partition_names=["_default"])) == 12
