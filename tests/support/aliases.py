"""An alias pointed at a collection for one test, on every engine that has aliases."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from pymilvus import MilvusClient

from milvus_plugins.core import ConnectionConfig, UnsupportedByServerError, point_alias

__all__ = ["pointed_alias"]


@contextmanager
def pointed_alias(uri: str, alias: str, collection: str) -> Iterator[ConnectionConfig]:
    """Point ``alias`` at ``collection`` (skipping the test on an engine without aliases,
    Milvus Lite 2.5) and drop the alias afterwards: a server refuses to drop a collection
    an alias points to, so the alias goes before the ``uri`` fixture's tidying."""
    connection = ConnectionConfig(uri=uri)
    try:
        point_alias(connection, alias, collection)
    except UnsupportedByServerError as exc:
        pytest.skip(str(exc))
    try:
        yield connection
    finally:
        client = MilvusClient(uri=uri)
        try:
            client.drop_alias(alias)
        finally:
            client.close()
