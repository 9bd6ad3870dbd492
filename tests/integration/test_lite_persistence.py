"""Milvus Lite durability: close and reopen, and a process SIGKILLed in the middle of an ingest.

The kill test runs the ingest in a child Python process (through the LangChain adapter, as
an application would). The child prints a line each time Milvus Lite acknowledges a batch;
the parent SIGKILLs it after ``KILL_AFTER`` acknowledgements, while the next batch is being
written. The database must then open, hold no duplicate and no foreign id, and re-running
the same ingest must complete it to exactly N rows. Two shapes of ingest are killed: one
large ``add_texts`` call (batches written, flushed only at the end: the rows live in Milvus
Lite's write-ahead log when the kill lands) and many small calls (each flushed: the kill
lands in or between flushes).

Each scenario prints a ``RELIABILITY`` line with its figures (run with ``-s``).
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding

from milvus_plugins.core import CollectionSpec, ConnectionConfig, MilvusStore, Record
from milvus_plugins.langchain import MilvusVectorStore as LangChainStore

DIM = 8
N = 5_000
BATCH = 100  # 50 batches
KILL_AFTER = 20  # acknowledged batches before the SIGKILL
ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import sys
    from langchain_core.embeddings import DeterministicFakeEmbedding
    from milvus_plugins.langchain import MilvusVectorStore

    uri, name, shape = sys.argv[1], sys.argv[2], sys.argv[5]
    n, batch = int(sys.argv[3]), int(sys.argv[4])
    store = MilvusVectorStore(
        DeterministicFakeEmbedding(size=8), uri=uri, collection_name=name, batch_size=batch
    )
    client = store.store.client

    def acknowledging(forward):
        def acknowledged(*args, **kwargs):
            result = forward(*args, **kwargs)
            print("ack", len(args[1]), flush=True)
            return result

        return acknowledged

    # The first call writes into the collection it creates with plain inserts; the
    # re-run after the kill finds the collection and upserts: no id twice either way.
    client.insert = acknowledging(client.insert)
    client.upsert = acknowledging(client.upsert)
    texts = [f"persisted note {i}" for i in range(n)]
    ids = [f"p-{i:05d}" for i in range(n)]
    metadatas = [{"n": i} for i in range(n)]
    print("ready", flush=True)
    if shape == "one_call":
        store.add_texts(texts, metadatas, ids=ids)
    else:
        for start in range(0, n, batch):
            stop = start + batch
            store.add_texts(texts[start:stop], metadatas[start:stop], ids=ids[start:stop])
    print("done", flush=True)
    """
)


def report(scenario: str, **figures: object) -> None:
    """Print the observed figures of a scenario (quoted in RELIABILITY.md)."""
    values = " ".join(f"{key}={value}" for key, value in figures.items())
    print(f"\nRELIABILITY {scenario}: {values}")


def corpus() -> tuple[list[str], list[dict[str, int]], list[str]]:
    texts = [f"persisted note {i}" for i in range(N)]
    return texts, [{"n": i} for i in range(N)], [f"p-{i:05d}" for i in range(N)]


def test_close_and_reopen_keeps_every_row(lite_uri: str) -> None:
    spec = CollectionSpec(name="kept", dim=DIM, metadata_fields={"n": "INT64"})
    records = [
        Record(
            id=f"k{i}",
            text=f"kept {i}",
            vector=[float(i % 5) + 1.0] * (DIM - 1) + [i / 7],
            metadata={"n": i},
        )
        for i in range(2_000)
    ]
    first = MilvusStore(spec, connection=ConnectionConfig(uri=lite_uri))
    first.upsert(records)
    first.close()

    for cycle in range(2):  # reopen twice: a reopened database must reopen again
        again = MilvusStore(spec, connection=ConnectionConfig(uri=lite_uri))
        assert again.count() == 2_000 + cycle
        assert again.count("n >= 1000") == 1_000
        got = again.get(["k0", "k1999", "missing"])
        assert [r.id for r in got] == ["k0", "k1999"]
        assert got[1].metadata == {"n": 1999} and got[1].text == "kept 1999"
        assert again.search(records[42].vector or [], k=1)[0].id == "k42"
        again.upsert([Record(id=f"extra{cycle}", text="added after reopen", vector=[1.0] * DIM)])
        again.close()

    adapter = LangChainStore.from_existing_collection(
        DeterministicFakeEmbedding(size=DIM), collection_name="kept", uri=lite_uri
    )
    assert adapter.store.count() == 2_002
    assert adapter.get_by_ids(["extra1"])[0].page_content == "added after reopen"
    adapter.close()


def _read_line(proc: subprocess.Popen[str], deadline: float) -> str:
    assert proc.stdout is not None
    # poll(), not select(): select() fails on a descriptor above 1023, which a long-lived
    # test worker can reach.
    poller = select.poll()
    poller.register(proc.stdout, select.POLLIN | select.POLLHUP)
    while time.monotonic() < deadline:
        if poller.poll(500):
            line = proc.stdout.readline()
            if not line:
                raise AssertionError(f"the ingest process exited early (code {proc.poll()})")
            return line.strip()
    raise AssertionError("the ingest process printed nothing in time")


@pytest.mark.parametrize("shape", ["one_call", "many_calls"])
def test_process_killed_mid_ingest_leaves_a_database_that_reopens_and_completes(
    tmp_path: Path, shape: str
) -> None:
    uri = str(tmp_path / "killed.db")
    script = tmp_path / "ingest.py"
    script.write_text(CHILD)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("MILVUS_URI", None)
    proc = subprocess.Popen(
        [sys.executable, str(script), uri, "notes", str(N), str(BATCH), shape],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    acknowledged = 0
    try:
        deadline = time.monotonic() + 120
        assert _read_line(proc, deadline) == "ready"
        while acknowledged < KILL_AFTER * BATCH:
            line = _read_line(proc, deadline)
            assert line.startswith("ack "), line
            acknowledged += int(line.split()[1])
        proc.send_signal(signal.SIGKILL)  # the next batch is on its way
        killed_at = time.monotonic()
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()

    texts, metadatas, ids = corpus()
    reopened_at = time.monotonic()
    store = LangChainStore(
        DeterministicFakeEmbedding(size=DIM), uri=uri, collection_name="notes", batch_size=BATCH
    )
    core = store.store
    survived = [r.id for r in core.query()]
    opened_s = time.monotonic() - reopened_at
    assert len(survived) == len(set(survived)) == core.count()
    assert set(survived) <= set(ids)
    # A process crash (not a machine crash): what Milvus Lite acknowledged is in its WAL.
    assert set(ids[:acknowledged]) <= set(survived)

    assert store.add_texts(texts, metadatas, ids=ids) == ids
    after = [r.id for r in core.query()]
    assert core.count() == N
    assert len(after) == N and set(after) == set(ids)
    doc = store.get_by_ids(["p-04321"])[0]
    assert doc.page_content == texts[4321] and doc.metadata == {"n": 4321}
    store.close()
    report(
        f"lite_process_kill_{shape}",
        n=N,
        batches=N // BATCH,
        acknowledged_rows=acknowledged,
        rows_after_reopen=len(survived),
        acknowledged_rows_missing=len(set(ids[:acknowledged]) - set(survived)),
        reopen_and_read_s=round(opened_s, 1),
        kill_to_reopened_s=round(reopened_at - killed_at, 1),
        rows_after_rerun=len(after),
    )
