"""Milvus Lite 3 reached over TCP (``http://``) is still Lite: writes take turns.

Lite's engine races on its manifest when two flushes overlap ("current_seq is
monotonic"); the store serialises its writes to one Lite database. Which engine it talks
to is detected from the server version, not guessed from the URI's shape, so a Lite
database served by ``milvus-lite server`` gets the same turns as a ``.db`` path.
"""

from __future__ import annotations

import random
import threading
from pathlib import Path

from tests.support.lite_tcp import lite_served

from milvus_plugins.core import CollectionSpec, ConnectionConfig, MilvusStore, Record


def _vector(key: str) -> list[float]:
    rng = random.Random(key)
    return [rng.uniform(-1.0, 1.0) for _ in range(8)]


def test_concurrent_writes_to_a_served_lite_database(tmp_path: Path) -> None:
    with lite_served(tmp_path / "data") as uri:
        store = MilvusStore(
            CollectionSpec(name="served", dim=8), connection=ConnectionConfig(uri=uri, timeout=60)
        )
        store.upsert([Record(id="seed", text="seed", vector=_vector("seed"))])
        assert store.capabilities.is_lite
        errors: list[BaseException] = []

        def writer(worker: int) -> None:
            for batch in range(25):
                ids = [f"w{worker}-{batch}-{row}" for row in range(10)]
                try:
                    store.upsert([Record(id=i, text=i, vector=_vector(i)) for i in ids])
                except BaseException as exc:  # collected: the assertion names them
                    errors.append(exc)

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert store.count() == 1 + 8 * 25 * 10
        store.close()
