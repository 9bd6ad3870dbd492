"""A hostile LangChain user's deletes (helper, 2026-12-07), on Milvus Lite 3 and the server.

(a) A raw filter string that closes the parentheses it is compiled in
(``x > 100) or (1 == 1``) escaped the ``and`` joining it to ``ids`` and deleted every row:
every raw expression whose parentheses or quotes do not balance is now refused when it
is read, wherever it is used, before anything is read or deleted. (b) ``delete(filter=None)``
(a filter built from empty input) emptied the collection: only ``delete()`` with no
filter argument means LangChain's "delete all"; an explicit ``None`` without ids is refused.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Callable, Iterator

import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import DeterministicFakeEmbedding
from tests.support.milvus_server import MilvusServer
from tests.support.tcp_proxy import ProxyMode, TcpProxy

from milvus_plugins.core import (
    CollectionSpec,
    ConnectionConfig,
    FilterError,
    InvalidInputError,
    MilvusConnectionError,
    MilvusOperationError,
    MilvusStore,
    RawFilterRefusedError,
    Record,
    RetryPolicy,
)
from milvus_plugins.core.filters import Raw
from milvus_plugins.langchain import MilvusVectorStore

ESCAPES = [
    'metadata["x"] > 100) or (1 == 1',
    "x > 1) or (true",
    '(metadata["x"] > 100',
    'metadata["x"] == "a',
    'metadata["x"] > 100)) or ((1 == 1',
]


@pytest.fixture
def store(uri: str, collection_name: str) -> Iterator[MilvusVectorStore]:
    s = MilvusVectorStore(
        embedding=DeterministicFakeEmbedding(size=8),
        connection_args={"uri": uri},
        collection_name=collection_name,
    )
    s.add_documents(
        [Document(page_content=f"doc {i}", metadata={"x": i}) for i in (1, 2, 3)],
        ids=["1", "2", "3"],
    )
    yield s


def _ids(store: MilvusVectorStore) -> list[str]:
    return sorted(str(d.id) for d in store.get_by_ids(["1", "2", "3"]))


@pytest.mark.parametrize("expression", ESCAPES)
def test_a_raw_filter_escaping_its_parentheses_deletes_nothing(
    store: MilvusVectorStore, expression: str
) -> None:
    with pytest.raises(RawFilterRefusedError, match="unbalanced"):
        store.delete(ids=["1"], filter=expression)
    with pytest.raises(RawFilterRefusedError):
        store.delete(filter=expression)
    with pytest.raises(RawFilterRefusedError):
        store.similarity_search("doc", k=3, filter=expression)
    assert _ids(store) == ["1", "2", "3"]


def test_balanced_raw_filters_still_work_and_stay_joined_to_ids(
    store: MilvusVectorStore,
) -> None:
    # Parentheses inside a string literal do not count; the or stays inside the and.
    store.delete(ids=["1"], filter='metadata["x"] > 100 or (text == "(")')
    assert _ids(store) == ["1", "2", "3"]
    store.delete(ids=["1", "2"], filter='(metadata["x"] == 2) or (metadata["x"] == 9)')
    assert _ids(store) == ["1", "3"]


def test_delete_with_filter_none_and_no_ids_is_refused(store: MilvusVectorStore) -> None:
    with pytest.raises(InvalidInputError, match="filter=None"):
        store.delete(filter=None)
    with pytest.raises(InvalidInputError, match="filter=None"):
        store.delete(ids=None, filter=None)
    assert _ids(store) == ["1", "2", "3"]
    store.delete(ids=["2"], filter=None)  # ids alone: a None filter adds no condition
    assert _ids(store) == ["1", "3"]
    store.delete()  # LangChain's "delete all", on purpose
    assert _ids(store) == []


@pytest.mark.parametrize("scope", ["tenant", "partition_names"])
def test_delete_with_only_a_none_scope_is_refused(store: MilvusVectorStore, scope: str) -> None:
    """``delete(tenant=user_tenant)`` with ``user_tenant = None`` deleted every tenant's
    rows (a helper's attack on the filter=None fix)."""
    with pytest.raises(InvalidInputError, match=f"{scope}=None"):
        store.delete(**{scope: None})
    with pytest.raises(InvalidInputError, match=f"{scope}=None"):
        store.delete(ids=None, **{scope: None})
    assert _ids(store) == ["1", "2", "3"]
    store.delete(ids=["3"], **{scope: None})  # with ids: the store's default scope
    assert _ids(store) == ["1", "2"]


def test_a_wrong_filter_type_names_the_filter_types_only(store: MilvusVectorStore) -> None:
    with pytest.raises(FilterError) as caught:
        store.delete(filter=[])  # type: ignore[arg-type]
    assert "Omitted" not in str(caught.value) and "filter" in str(caught.value)


def test_connecting_past_the_deadline_names_the_timeout() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    spec = CollectionSpec(name="c", dim=2)
    connection = ConnectionConfig(uri=f"http://127.0.0.1:{port}", timeout=1)
    with pytest.raises(MilvusConnectionError, match=re.escape("ConnectionConfig.timeout = 1 s")):
        MilvusStore(spec, connection=connection, retry=RetryPolicy(attempts=1)).count()


async def test_adelete_with_filter_none_and_no_ids_is_refused(
    store: MilvusVectorStore,
) -> None:
    with pytest.raises(InvalidInputError, match="filter=None"):
        await store.adelete(filter=None)
    with pytest.raises(RawFilterRefusedError):
        await store.adelete(ids=["1"], filter="x > 1) or (true")
    assert _ids(store) == ["1", "2", "3"]
    await store.adelete(None)
    assert _ids(store) == []


def test_core_raw_nodes_are_checked_when_built(uri: str, collection_name: str) -> None:
    for expression in ESCAPES:
        with pytest.raises(RawFilterRefusedError):
            Raw(expression)
    with pytest.raises(FilterError):
        Raw(5)  # type: ignore[arg-type]
    spec = CollectionSpec(name=collection_name, dim=2)
    with MilvusStore(spec, connection=ConnectionConfig(uri=uri)) as core:
        core.upsert(
            [Record(id=str(i), text="t", vector=[1.0, float(i)], metadata={"x": i}) for i in (1, 2)]
        )
        for expression in ESCAPES:
            with pytest.raises(RawFilterRefusedError):
                core.delete(ids=["1"], filter=expression)
            with pytest.raises(RawFilterRefusedError):
                core.search([1.0, 1.0], k=2, filter=expression)
        assert core.count() == 2


# -- metadata calls carry the connection's deadline (found while checking the above) --------


@pytest.mark.server
def test_metadata_calls_to_a_server_that_stops_answering_fail_instead_of_hanging(
    milvus_server: MilvusServer, collection_name: str
) -> None:
    """``list_partitions()`` and ``exists()`` (``has_collection``, ``describe_collection``,
    ``list_partitions`` underneath) were sent without a deadline: through a network
    partition they hung until gRPC's own keepalive gave up (over 40 s with a 3 s
    timeout), whatever ``ConnectionConfig.timeout`` said."""
    with TcpProxy(milvus_server.port) as proxy:
        connection = ConnectionConfig(uri=proxy.uri, timeout=2)
        spec = CollectionSpec(name=collection_name, dim=2)
        store = MilvusStore(
            spec, connection=connection, retry=RetryPolicy(attempts=2, initial_backoff=0.1)
        )
        try:
            store.upsert([Record(id="a", text="t", vector=[1.0, 0.0])])
            proxy.set_mode(ProxyMode.BLACKHOLE)
            calls = (("list_partitions", store.list_partitions), ("exists", store.exists))
            for name, call in calls:
                outcome: list[BaseException | str] = []

                def run(call: Callable[[], object] = call, outcome: list = outcome) -> None:
                    try:
                        call()
                        outcome.append("answered")
                    except BaseException as exc:  # reported below
                        outcome.append(exc)

                worker = threading.Thread(target=run, daemon=True)
                worker.start()
                worker.join(120)  # a hang check, not a speed one: the deadline is 2 s
                assert not worker.is_alive(), f"{name}() hung through the partition"
                assert len(outcome) == 1 and isinstance(outcome[0], MilvusOperationError), (
                    name,
                    outcome,
                )
                assert "deadline" in str(outcome[0])
        finally:
            proxy.set_mode(ProxyMode.FORWARD)
            store.close()
