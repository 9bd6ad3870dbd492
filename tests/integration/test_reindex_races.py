"""Two re-index runs on one alias at the same time, on every engine that has aliases.

Each run creates its new collection before writing to it and checks that this very run
created it (a per-run tag in its properties): two runs that pick the same default name
end up with two collections, never one shared; a given ``target`` another run created
first is refused untouched. A run whose alias was switched by another while it copied
refuses to switch it again (writes made through the alias since went elsewhere). A
failure of the caller's own callback names the collection left behind.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

import numpy as np
import pytest
from pymilvus import MilvusClient
from tests.support.aliases import pointed_alias

from milvus_plugins.core import (
    CollectionSpec,
    ConfigError,
    ConnectionConfig,
    FlatIndex,
    InvalidInputError,
    MilvusStore,
    Record,
    ReindexRefusedError,
    reindex,
    resolve_alias,
)
from milvus_plugins.core.reindex import ReindexReport

DIM = 8
ROWS = 60


def _rows() -> list[Record]:
    vectors = np.random.default_rng(3).standard_normal((ROWS, DIM)).astype(np.float32)
    return [
        Record(id=f"r{i}", text=f"row {i}", vector=v, metadata={"i": i})
        for i, v in enumerate(vectors)
    ]


@pytest.fixture
def aliased(uri: str, collection_name: str) -> Iterator[tuple[ConnectionConfig, str, str]]:
    """``(connection, alias, source)``: a filled collection and an alias pointing at it."""
    connection = ConnectionConfig(uri=uri)
    source, alias = f"{collection_name}_v1", f"{collection_name}_live"
    spec = CollectionSpec(name=source, dim=DIM, index=FlatIndex(metric="L2"))
    with MilvusStore(spec, connection=connection) as store:
        store.upsert(_rows())
        store.flush()
    with pointed_alias(uri, alias, source):  # Milvus Lite 2.5: test_reindex covers it
        yield connection, alias, source


def _embed_meeting(barrier: threading.Barrier) -> object:
    """An embedding whose first call in each run waits for the other run's first call:
    both runs have chosen their new collection's name by then, neither has created it."""
    local = threading.local()

    def embed(texts: list[str]) -> list[list[float]]:
        if not getattr(local, "met", False):
            local.met = True
            barrier.wait(timeout=60)
        return [[float(len(t)), 1.0, *([0.5] * (DIM - 2))] for t in texts]

    return embed


def _both(
    connection: ConnectionConfig,
    alias: str,
    other: ConnectionConfig | None = None,
    *,
    meet_after_copy: bool = False,
    **kwargs: object,
) -> list[ReindexReport | BaseException]:
    """Two runs at once (the second through ``other``, default the same connection);
    ``meet_after_copy``: both wait for the other after their last page (only where both
    get that far)."""
    barrier = threading.Barrier(2)
    # Met again after the last page: both runs then check their alias and switch at
    # about the same time.
    copied = threading.Barrier(2)
    outcomes: list[ReindexReport | BaseException] = []
    lock = threading.Lock()

    def run(through: ConnectionConfig) -> None:
        try:
            result: ReindexReport | BaseException = reindex(
                through,
                alias,
                embed=_embed_meeting(barrier),  # type: ignore[arg-type]
                on_progress=(lambda rows: copied.wait(timeout=60)) if meet_after_copy else None,
                min_recall=0.0,
                sample_queries=5,
                **kwargs,  # type: ignore[arg-type]
            )
        except BaseException as exc:  # reported to the test
            result = exc
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run, args=(c,)) for c in (connection, other or connection)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    assert len(outcomes) == 2, "a run did not finish"
    return outcomes


def _ids(connection: ConnectionConfig, name: str) -> list[str]:
    client = MilvusClient(uri=connection.uri)
    try:
        client.load_collection(name)
        rows = client.query(name, filter='id != ""', output_fields=["id"], limit=10_000)
        return sorted(str(r["id"]) for r in rows)
    finally:
        client.close()


def _collections(connection: ConnectionConfig, prefix: str) -> Sequence[str]:
    client = MilvusClient(uri=connection.uri)
    try:
        return sorted(n for n in client.list_collections() if n.startswith(prefix))
    finally:
        client.close()


@pytest.mark.parametrize("spelling", ["same", "default database named"])
def test_two_runs_choosing_the_same_name_never_share_a_collection(
    aliased: tuple[ConnectionConfig, str, str], collection_name: str, spelling: str
) -> None:
    connection, alias, source = aliased
    # db_name "" and "default" are one database: one lock (a helper found two switches).
    other = ConnectionConfig(uri=connection.uri, db_name="default") if spelling != "same" else None
    outcomes = _both(connection, alias, other, meet_after_copy=True)
    reports = [o for o in outcomes if isinstance(o, ReindexReport)]
    errors = [o for o in outcomes if not isinstance(o, ReindexReport)]
    # Both copied the same source: the first to switch wins; the other finds the alias
    # moved and refuses (its own new collection is named in the error).
    assert len(reports) == 1, outcomes
    assert len(errors) == 1 and isinstance(errors[0], ReindexRefusedError), outcomes
    report, refused = reports[0], errors[0]
    assert report.previous == source and report.current != source
    assert refused.shadow not in (source, report.current)
    assert "was switched" in str(refused)
    assert resolve_alias(connection, alias) == report.current
    expected = [r.id for r in sorted(_rows(), key=lambda r: r.id)]
    # Two collections, each filled once with every row (no run wrote into the other's).
    for name in (report.current, refused.shadow):
        assert _ids(connection, name) == expected
    made = set(_collections(connection, collection_name)) - {source}
    assert made == {report.current, refused.shadow}


def test_a_target_another_run_created_first_is_refused_untouched(
    aliased: tuple[ConnectionConfig, str, str], collection_name: str
) -> None:
    connection, alias, source = aliased
    target = f"{collection_name}_same"
    outcomes = _both(connection, alias, target=target)
    reports = [o for o in outcomes if isinstance(o, ReindexReport)]
    errors = [o for o in outcomes if not isinstance(o, ReindexReport)]
    assert len(reports) == 1 and len(errors) == 1, outcomes
    assert isinstance(errors[0], ConfigError) and "exists already" in str(errors[0])
    assert reports[0].current == target and reports[0].previous == source
    assert resolve_alias(connection, alias) == target
    assert _ids(connection, target) == [r.id for r in sorted(_rows(), key=lambda r: r.id)]
    assert set(_collections(connection, collection_name)) == {source, target}


def test_a_failing_progress_callback_names_the_collection_left_behind(
    aliased: tuple[ConnectionConfig, str, str],
) -> None:
    connection, alias, source = aliased

    def progress(rows: int) -> None:
        raise KeyError("the caller's own bug")

    with pytest.raises(KeyError) as caught:
        reindex(connection, alias, on_progress=progress, target=f"{source}_b")
    notes = getattr(caught.value, "__notes__", [])
    if hasattr(caught.value, "add_note"):  # Python >= 3.11
        assert any(f"{source}_b" in n and "not switched" in n for n in notes), notes
    assert resolve_alias(connection, alias) == source


def test_a_new_collection_replaced_by_another_client_mid_copy_is_not_written(
    aliased: tuple[ConnectionConfig, str, str],
) -> None:
    connection, alias, source = aliased
    target = f"{source}_b"
    theirs = Record(id="theirs", text="their row", vector=[0.5] * DIM, metadata={})

    def progress(rows: int) -> None:
        if rows == 20:  # after the first page: dropped, then made again by someone else
            client = MilvusClient(uri=connection.uri)
            try:
                client.drop_collection(target)
            finally:
                client.close()
            spec = CollectionSpec(name=target, dim=DIM, index=FlatIndex(metric="L2"))
            with MilvusStore(spec, connection=connection) as other:
                other.upsert([theirs])
                other.flush()

    with pytest.raises(ReindexRefusedError, match="dropped while this run copied") as caught:
        reindex(connection, alias, target=target, batch_rows=20, on_progress=progress)
    assert caught.value.shadow == ""  # not this run's to drop
    assert _ids(connection, target) == ["theirs"]  # nothing of this run's written into it
    assert resolve_alias(connection, alias) == source


def test_an_embed_failing_after_the_first_page_names_the_collection_left_behind(
    aliased: tuple[ConnectionConfig, str, str],
) -> None:
    connection, alias, source = aliased
    calls = 0

    def embed(texts: list[str]) -> list[list[float]]:
        nonlocal calls
        calls += 1
        if calls > 2:  # the first page and the probe text pass
            raise RuntimeError("the model crashed")
        return [[1.0, *([0.5] * (DIM - 1))] for _ in texts]

    with pytest.raises(InvalidInputError, match="the model crashed") as caught:
        reindex(connection, alias, embed=embed, target=f"{source}_e", batch_rows=20)
    if hasattr(caught.value, "add_note"):  # Python >= 3.11
        notes = getattr(caught.value, "__notes__", [])
        assert any(f"{source}_e" in n for n in notes), notes
    assert resolve_alias(connection, alias) == source


def test_an_empty_source_names_no_new_collection(uri: str, collection_name: str) -> None:
    connection = ConnectionConfig(uri=uri)
    source, alias = f"{collection_name}_v1", f"{collection_name}_live"
    spec = CollectionSpec(name=source, dim=DIM, index=FlatIndex(metric="L2"))
    with MilvusStore(spec, connection=connection) as store:
        store.ensure_collection(DIM)
    with pointed_alias(uri, alias, source):
        with pytest.raises(ReindexRefusedError, match="empty") as caught:
            reindex(connection, alias)
        assert caught.value.shadow == ""
        assert _collections(connection, collection_name) == [source]
