"""A collection of this package's layout made before instance tokens gets one when a store
opens it (Milvus Lite 3, which reports no collection id; RELIABILITY row 145).

Without a token, every write and delete would also describe the dense index to tell the
collection from one made again under its name (Milvus Lite 3.2.2 counts the rows to
answer that); with it, one ``describe_collection`` is enough, as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from milvus_plugins.core import (
    CollectionSpec,
    ConnectionConfig,
    MilvusStore,
    Record,
    SchemaMismatchError,
)
from milvus_plugins.core.inference import INSTANCE_PROPERTY


def _store(uri: str, *, drop_old: bool = False, **spec: Any) -> MilvusStore:
    return MilvusStore(
        CollectionSpec(name="c", dim=2, **spec),
        connection=ConnectionConfig(uri=uri),
        drop_old=drop_old,
    )


def _count_calls(store: MilvusStore, names: tuple[str, ...]) -> list[str]:
    calls: list[str] = []
    for name in names:
        real: Callable[..., Any] = getattr(store.client, name)

        def counted(*args: Any, _name: str = name, _real: Any = real, **kwargs: Any) -> Any:
            calls.append(_name)
            return _real(*args, **kwargs)

        setattr(store.client, name, counted)
    return calls


def test_an_old_collection_gets_a_token_when_opened(lite_uri: str) -> None:
    old = _store(lite_uri)
    old.upsert([Record(id="a", text="a", vector=[1.0, 0.0])])
    if not hasattr(old.client, "drop_collection_properties"):
        pytest.skip("this pymilvus cannot drop collection properties")
    old.client.drop_collection_properties("c", property_keys=[INSTANCE_PROPERTY])
    assert INSTANCE_PROPERTY not in old.client.describe_collection("c")["properties"]
    old.close()

    store = _store(lite_uri)
    store.upsert([Record(id="b", text="b", vector=[1.0, 1.0])])  # opens it
    assert INSTANCE_PROPERTY in store.client.describe_collection("c")["properties"]
    calls = _count_calls(store, ("describe_collection", "describe_index"))
    store.upsert([Record(id="c", text="c", vector=[0.0, 1.0])])
    store.delete(["c"])
    assert calls == ["describe_collection", "describe_collection"]  # no index described
    assert sorted(r.id for r in store.query()) == ["a", "b"]

    # ... and a collection made again under the name is still told apart.
    other = _store(lite_uri, metric="L2", drop_old=True)
    other.upsert([Record(id="x", text="x", vector=[1.0, 0.0])])
    other.close()
    with pytest.raises(SchemaMismatchError):
        store.upsert([Record(id="d", text="d", vector=[1.0, 0.0])])
    store.close()
    check = _store(lite_uri, metric="L2")
    assert [r.id for r in check.query()] == ["x"]
    check.close()
