"""Milvus Lite: a store left idle keeps its connection (no keepalive pings to refuse).

pymilvus pings its server every 10 s, even on an idle connection; Milvus Lite 3's server
(gRPC defaults) takes those pings as abuse and closes the connection with a GOAWAY
"too_many_pings" after a few, which gRPC logs as an error each idle minute (a notebook
left open for a while shows it). Clients of an in-process Lite server send no pings
(``session.LITE_GRPC_OPTIONS``). The test idles past the point where the GOAWAY came
and reads what gRPC wrote to the process' stderr. One store sets a gRPC option of its
own (``client_kwargs={"grpc_options": ...}``): it is merged with the store's, not put in
their place.
"""

from __future__ import annotations

import asyncio
import os

import pytest

from milvus_plugins.core import (
    AsyncMilvusStore,
    CollectionSpec,
    ConnectionConfig,
    MilvusStore,
    Record,
)

IDLE = 45.0  # seconds: the GOAWAY came after 30-40 s of idling (3 pings, 10 s apart)


def test_sync_and_async_stores_idle_without_being_sent_away(
    lite_uri: str, capfd: pytest.CaptureFixture[str]
) -> None:
    spec = CollectionSpec(name="idle", dim=4)
    sync_store = MilvusStore(spec, connection=ConnectionConfig(uri=lite_uri))
    async_store = AsyncMilvusStore(MilvusStore(spec, connection=ConnectionConfig(uri=lite_uri)))
    own_options = MilvusStore(
        spec,
        connection=ConnectionConfig(uri=lite_uri),
        client_kwargs={"grpc_options": {"grpc.max_receive_message_length": 64 * 2**20}},
    )
    sync_store.upsert([Record(id="a", text="idle", vector=[1.0, 2.0, 3.0, 4.0])], progress=False)

    async def idle_and_come_back() -> tuple[int, int, int]:
        # Every connection open and used once.
        assert await async_store.count() == 1
        assert own_options.count() == 1
        capfd.readouterr()
        await asyncio.sleep(IDLE)
        return sync_store.count(), await async_store.count(), own_options.count()

    try:
        assert asyncio.run(idle_and_come_back()) == (1, 1, 1)
        logged = capfd.readouterr().err
        port = _lite_port(lite_uri)
    finally:
        asyncio.run(async_store.close())
        own_options.close()
        sync_store.close()
    # Only this database's server: other clients of the test process may idle meanwhile.
    sent_away = [line for line in logged.splitlines() if f"127.0.0.1:{port}:" in line]
    assert not [line for line in sent_away if "GOAWAY" in line.upper()], sent_away


def _lite_port(path: str) -> int:
    from milvus_lite.server_manager import server_manager_instance

    return int(server_manager_instance._servers[os.path.abspath(path)][2])
