"""A Milvus 2.3.5 server with authorization on: the right token works, a wrong one is an
:class:`AuthenticationError` everywhere, and the token never leaks.

The module starts its own server (``auth=True``; the default superuser is
``root:Milvus``). A wrong token must surface as the core's :class:`AuthenticationError`
through the core store (sync and async) and both adapters, although pymilvus reports it
as "Fail connecting to server" with the gRPC ``UNAUTHENTICATED`` error only in
``__cause__``; an unreachable server must stay a :class:`MilvusConnectionError`. The
wrong token is distinctive so that any leak into reprs, messages, tracebacks or log
records is caught.
"""

from __future__ import annotations

import logging
import socket
import traceback
from collections.abc import Callable, Iterator

import pytest
from langchain_core.embeddings import Embeddings
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import VectorStoreQuery
from tests.support.milvus_server import DEFAULT_TOKEN, MilvusServer, server_available

from milvus_plugins.core import (
    AsyncMilvusStore,
    AuthenticationError,
    CollectionSpec,
    ConnectionConfig,
    MilvusConnectionError,
    MilvusStore,
    Record,
    RetryPolicy,
)
from milvus_plugins.langchain import MilvusVectorStore as LangChainStore
from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore

_AVAILABLE, _REASON = server_available()
pytestmark = [pytest.mark.server, pytest.mark.skipif(not _AVAILABLE, reason=_REASON)]

WRONG_TOKEN = "root:S3cretW0rd!"
SECRET_PARTS = (WRONG_TOKEN, "S3cretW0rd!")
DIM = 4


class Vocab(Embeddings):
    """A tiny deterministic embedding."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.embed_query(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return [float(text.count(c)) + 0.1 for c in "aeio"]


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MilvusServer]:
    server = MilvusServer(  # never restarted: a long session TTL (see conftest.milvus_server)
        tmp_path_factory.mktemp("milvus-auth"), auth=True, session_ttl_seconds=60
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _core(uri: str, token: str, name: str = "auth_docs") -> MilvusStore:
    return MilvusStore(
        CollectionSpec(name=name, dim=DIM),
        connection=ConnectionConfig(uri=uri, token=token, timeout=10),
        retry=RetryPolicy(attempts=1),
    )


def _assert_no_secret(text: str) -> None:
    for part in SECRET_PARTS:
        assert part not in text, text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_right_token_works_through_the_core_and_both_adapters(
    auth_server: MilvusServer, collection_name: str
) -> None:
    assert auth_server.token == DEFAULT_TOKEN == "root:Milvus"
    core = _core(auth_server.uri, auth_server.token, collection_name)
    core.upsert([Record(id="a", text="an idea", vector=Vocab().embed_query("an idea"))])
    assert core.get(["a"])[0].text == "an idea"

    chain = LangChainStore(
        Vocab(), uri=auth_server.uri, token=auth_server.token, collection_name=collection_name
    )
    chain.add_texts(["a boat"], ids=["b"])
    assert chain.similarity_search("a boat", k=1)[0].id == "b"

    index = LlamaStore(
        uri=auth_server.uri, token=auth_server.token, collection_name=collection_name
    )
    index.add([TextNode(id_="c", text="oi", embedding=Vocab().embed_query("oi"))])
    query = VectorStoreQuery(query_embedding=Vocab().embed_query("oi"), similarity_top_k=1)
    assert index.query(query).ids == ["c"]
    assert {n.node_id for n in index.get_nodes()} == {"a", "b", "c"}

    core.drop()
    core.close()
    chain.close()


def _wrong_calls(uri: str) -> list[tuple[str, Callable[[], object]]]:
    """Each way in with the wrong token, labelled (the last one checks the reprs)."""
    chain = LangChainStore(Vocab(), uri=uri, token=WRONG_TOKEN, collection_name="auth_docs")
    index = LlamaStore(uri=uri, token=WRONG_TOKEN, collection_name="auth_docs")
    core = _core(uri, WRONG_TOKEN)
    return [
        ("core", core.list_collections),
        ("core upsert", lambda: core.upsert([Record(id="x", text="t", vector=[1.0] * DIM)])),
        ("langchain", lambda: chain.add_texts(["x"], ids=["x"])),
        ("langchain search", lambda: chain.similarity_search("x", k=1)),
        ("llama_index", lambda: index.get_nodes(node_ids=["x"])),
        ("repr", lambda: _assert_no_secret(repr(core) + repr(chain) + repr(index))),
    ]


def test_a_wrong_token_is_an_authentication_error_everywhere(auth_server: MilvusServer) -> None:
    for label, call in _wrong_calls(auth_server.uri):
        if label == "repr":
            call()
            continue
        with pytest.raises(AuthenticationError) as info:
            call()
        assert "credentials" in str(info.value), label
        assert not info.value.retriable, label


async def test_a_wrong_token_is_an_authentication_error_on_the_async_paths(
    auth_server: MilvusServer,
) -> None:
    store = AsyncMilvusStore(_core(auth_server.uri, WRONG_TOKEN))
    with pytest.raises(AuthenticationError):
        await store.count()
    chain = LangChainStore(
        Vocab(), uri=auth_server.uri, token=WRONG_TOKEN, collection_name="auth_docs"
    )
    with pytest.raises(AuthenticationError):
        await chain.asimilarity_search("x", k=1)
    index = LlamaStore(uri=auth_server.uri, token=WRONG_TOKEN, collection_name="auth_docs")
    with pytest.raises(AuthenticationError):
        await index.aget_nodes(node_ids=["x"])


def test_a_missing_token_is_an_authentication_error(auth_server: MilvusServer) -> None:
    with pytest.raises(AuthenticationError):
        _core(auth_server.uri, "").list_collections()


def test_an_unreachable_server_stays_a_connection_error(auth_server: MilvusServer) -> None:
    store = MilvusStore(
        CollectionSpec(name="nowhere", dim=DIM),
        connection=ConnectionConfig(
            uri=f"http://127.0.0.1:{_free_port()}", token=WRONG_TOKEN, timeout=2
        ),
        retry=RetryPolicy(attempts=1),
    )
    with pytest.raises(MilvusConnectionError) as info:
        store.list_collections()
    assert not isinstance(info.value, AuthenticationError)
    assert info.value.retriable
    _assert_no_secret(str(info.value))


def test_the_token_never_appears_in_messages_tracebacks_or_logs(
    auth_server: MilvusServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[BaseException] = []
    for label, call in _wrong_calls(auth_server.uri):
        try:
            call()
        except AuthenticationError as exc:
            seen.append(exc)
        else:
            assert label == "repr"
    assert len(seen) == 5
    for error in seen:
        _assert_no_secret(str(error))
        _assert_no_secret(repr(error))
        _assert_no_secret("".join(traceback.format_exception(error)))
    for record in caplog.records:
        _assert_no_secret(record.getMessage())
        _assert_no_secret(repr(record.args))
    _assert_no_secret(caplog.text)
