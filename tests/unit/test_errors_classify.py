"""Error classification on codes, not on words that echo user text; per-connection secrets.

The exceptions are the real pymilvus / gRPC classes, built with the codes and messages
Milvus Lite 3.2.2 and the Milvus 2.3.5 server were seen to send (see the comments).
"""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any

import grpc
import pytest
from grpc.aio import AioRpcError, Metadata
from pymilvus.exceptions import MilvusException

from milvus_plugins.core import (
    AuthenticationError,
    CollectionNotFoundError,
    CollectionSpec,
    ConnectionConfig,
    MilvusConnectionError,
    MilvusOperationError,
    MilvusStore,
    RetryPolicy,
)
from milvus_plugins.core.error_translation import refused_by_goaway
from milvus_plugins.core.errors import MilvusPluginsError, redact, translate
from milvus_plugins.core.retry import call_with_retry
from milvus_plugins.llama_index import MilvusVectorStore as LlamaStore


def rpc_error(code: grpc.StatusCode, details: str) -> Exception:
    error: Exception = AioRpcError(code, Metadata(), Metadata(), details=details)
    return error


def milvus(code: Any, message: str, **kwargs: Any) -> Exception:
    error: Exception = MilvusException(code=code, message=message, **kwargs)
    return error


# (raw error, collection the call was about, expected class, expected retriable)
CASES: list[tuple[str, Exception, str | None, type[Exception], bool]] = [
    # Milvus Lite: a dropped collection, its name echoed in the message.
    (
        "lite not found, name unavailable_docs",
        milvus(100, "collection 'unavailable_docs' does not exist", compatible_code=4),
        "unavailable_docs",
        CollectionNotFoundError,
        False,
    ),
    (
        "lite not found, name timeout_docs",
        milvus(100, "collection 'timeout_docs' does not exist", compatible_code=4),
        "timeout_docs",
        CollectionNotFoundError,
        False,
    ),
    # The 2.3.5 server: the same, by id.
    (
        "server not found",
        milvus(100, "collection not found[collection=470859208424161332]", compatible_code=4),
        "docs",
        CollectionNotFoundError,
        False,
    ),
    # Filter syntax errors echo the expression: Lite (code 6), server (65535).
    (
        "lite filter syntax, field unavailable",
        milvus(6, "unexpected token '<' at column 13\n  unavailable <<< 3\n  ^\nexpected literal"),
        "docs",
        MilvusOperationError,
        False,
    ),
    (
        "server filter syntax, field timeout",
        milvus(
            65535,
            "cannot parse expression: timeout <<< 3, error: line 1:9 extraneous input '<' "
            "expecting {'(', '[', EXISTS, Identifier}",
        ),
        "docs",
        MilvusOperationError,
        False,
    ),
    (
        "server filter syntax, quoted json key",
        milvus(65535, 'cannot parse expression: metadata["service unavailable"] <<< 3'),
        "docs",
        MilvusOperationError,
        False,
    ),
    (
        "generic code, name echoed",
        milvus(1, "insert into timeout_docs failed: dim mismatch"),
        "timeout_docs",
        MilvusOperationError,
        False,
    ),
    (
        "plain exception naming the collection",
        ValueError("unavailable_docs: unexpected row"),
        "unavailable_docs",
        MilvusOperationError,
        False,
    ),
    # Codes that say transient.
    (
        "pymilvus connect failed (code 2)",
        milvus(2, "Fail connecting to server on 127.0.0.1:1, illegal connection params"),
        None,
        MilvusConnectionError,
        True,
    ),
    ("merr rate limit", milvus(8, "rate limit exceeded"), None, MilvusOperationError, True),
    ("legacy RateLimit", milvus(65535, "x", compatible_code=49), None, MilvusOperationError, True),
    ("server says retriable", milvus(65535, "x", retriable=True), None, MilvusOperationError, True),
    (
        "pymilvus retry timeout keeps the gRPC status",
        milvus(grpc.StatusCode.UNAVAILABLE, "[query] Retry timeout: 5s, message=..."),
        None,
        MilvusConnectionError,
        True,
    ),
    (
        "grpc unavailable",
        rpc_error(grpc.StatusCode.UNAVAILABLE, "x"),
        None,
        MilvusConnectionError,
        True,
    ),
    (
        "a restarting proxy answers UNKNOWN: its words say unavailable",
        milvus(
            grpc.StatusCode.UNKNOWN,
            "[upsert_rows] Retry timeout: 5.0s, StatusCode.UNKNOWN, service unavailable: "
            "internal: Milvus Proxy is not ready yet. please wait",
        ),
        None,
        MilvusConnectionError,
        True,
    ),
    (
        "UNKNOWN with a user's name echoed is still permanent",
        milvus(grpc.StatusCode.UNKNOWN, "collection 'service_unavailable' has no field x"),
        None,
        MilvusOperationError,
        False,
    ),
    (
        "grpc deadline",
        rpc_error(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded"),
        None,
        MilvusOperationError,
        True,
    ),
    # Codes that say permanent, whatever the words.
    (
        "grpc invalid argument mentioning a timeout",
        rpc_error(grpc.StatusCode.INVALID_ARGUMENT, "timeout must be positive; unavailable"),
        None,
        MilvusOperationError,
        False,
    ),
    (
        "merr parameter invalid mentioning service unavailable",
        milvus(1100, "invalid parameter: service unavailable is not a field"),
        None,
        MilvusOperationError,
        False,
    ),
    (
        "input error flag",
        milvus(1, "service unavailable", is_input_error=True),
        None,
        MilvusOperationError,
        False,
    ),
    (
        "merr quota exceeded (force deny) is not retried",
        milvus(9, "quota exceeded"),
        None,
        MilvusOperationError,
        False,
    ),
    (
        "grpc unauthenticated",
        rpc_error(grpc.StatusCode.UNAUTHENTICATED, "x"),
        None,
        AuthenticationError,
        False,
    ),
    ("merr not authenticated", milvus(1400, "x"), None, AuthenticationError, False),
    # No code: Milvus' own phrases still count.
    (
        "generic code, service unavailable",
        milvus(1, "service unavailable"),
        None,
        MilvusConnectionError,
        True,
    ),
    # Milvus Lite 3.2.2 loading an HNSW index file its background build is still writing
    # (seen with release() + load() right after compact()): EAGAIN, gone once it is written.
    (
        "Lite index file still being written",
        milvus(
            1,
            "Error in std::unique_ptr<faiss::Index> faiss::read_index_up(IOReader*, int) at "
            "/project/faiss/impl/index_read.cpp:1685: Error: 'ret == (1)' failed: read error "
            "in /tmp/x/milvus.db/collections/docs/partitions/_default/indexes/"
            "data_000002_000010.vector.hnsw.idx: 0 != 1 (Resource temporarily unavailable)",
        ),
        None,
        MilvusOperationError,
        True,
    ),
    # pymilvus wrapping grpc's ValueError when the client was closed (close() from another
    # thread) just before a call used it: the store reconnects on the retry.
    (
        "client closed by another thread",
        milvus(1, "Unexpected error, message=<Cannot invoke RPC on closed channel!>"),
        None,
        MilvusConnectionError,
        True,
    ),
    (
        "client closed by another thread, call in flight",
        milvus(1, "Unexpected error, message=<Cannot invoke RPC: Channel closed!>"),
        None,
        MilvusConnectionError,
        True,
    ),
    # The same words from a collection called "c" (names are cut from Milvus' words as
    # whole names only) and echoed inside a longer message (user text: not a close).
    (
        "closed channel, collection c",
        milvus(1, "Unexpected error, message=<Cannot invoke RPC on closed channel!>"),
        "c",
        MilvusConnectionError,
        True,
    ),
    (
        "closed-channel words inside another error",
        milvus(1, "collection 'Cannot invoke RPC on closed channel!' is invalid"),
        None,
        MilvusOperationError,
        False,
    ),
    ("OS connection refused", ConnectionRefusedError("refused"), None, MilvusConnectionError, True),
    ("OS timeout", TimeoutError("timed out"), None, MilvusOperationError, True),
]


@pytest.mark.parametrize(
    ("raw", "collection", "kind", "retriable"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_errors_are_classified_on_codes_not_on_echoed_names(
    raw: Exception, collection: str | None, kind: type[Exception], retriable: bool
) -> None:
    error = translate(raw, collection=collection)
    assert type(error) is kind, str(error)
    assert getattr(error, "retriable", False) is retriable


def test_a_not_found_error_names_the_collection() -> None:
    raw = milvus(100, "collection not found[collection=4708]")
    error = translate(raw, collection="unavailable_docs")
    assert isinstance(error, CollectionNotFoundError)
    assert "'unavailable_docs'" in str(error)
    assert "unreachable" not in str(error)


def test_a_permanent_error_is_tried_once_and_on_retry_is_never_called() -> None:
    retries: list[int] = []
    calls: list[int] = []
    policy = RetryPolicy(attempts=4, initial_backoff=0, on_retry=lambda n, _e: retries.append(n))

    def syntax_error() -> None:
        calls.append(1)
        raise milvus(65535, "cannot parse expression: timeout <<< 3, error: unavailable")

    with pytest.raises(MilvusOperationError) as info:
        call_with_retry(syntax_error, policy)
    assert not info.value.retriable
    assert (len(calls), retries) == (1, [])


def test_a_transient_error_is_retried_and_reported_to_on_retry() -> None:
    retries: list[tuple[int, type[MilvusPluginsError]]] = []
    policy = RetryPolicy(
        attempts=3, initial_backoff=0, on_retry=lambda n, e: retries.append((n, type(e)))
    )

    def down() -> None:
        raise milvus(2, "Fail connecting to server on 127.0.0.1:1")

    with pytest.raises(MilvusConnectionError):
        call_with_retry(down, policy)
    assert retries == [(1, MilvusConnectionError), (2, MilvusConnectionError)]


# -- secrets -----------------------------------------------------------------------------


def test_building_many_configs_keeps_no_global_secret_state() -> None:
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        configs = [ConnectionConfig(token=f"user{i}:password-{i:06d}") for i in range(2_000)]
        assert len({c.token for c in configs}) == 2_000
        del configs
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    kept = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    # Measured: ~700 bytes kept; keeping each token alone (a leak) keeps ~160 kB.
    assert kept < 50_000, f"{kept} bytes kept after 2,000 configs were dropped"


def test_a_secret_of_one_connection_is_not_masked_in_another_connections_errors() -> None:
    ConnectionConfig(token="root:collection")  # another connection, built earlier
    mine = ConnectionConfig(token="root:Milvus")
    error = translate(milvus(100, "collection not found"), secrets=mine.secrets)
    assert "collection not found" in str(error)


@pytest.mark.parametrize("password", ["ion", "coll", "lection"])
def test_a_short_password_never_masks_part_of_a_word(password: str) -> None:
    config = ConnectionConfig(token=f"root:{password}")
    message = "collection 'docs' not found in the collection list"
    error = translate(milvus(1, message), secrets=config.secrets)
    assert message in str(error)


def test_a_password_is_masked_as_a_whole_token_and_a_long_one_everywhere() -> None:
    short = ConnectionConfig(token="root:coll").secrets
    assert redact("user root:coll rejected", short) == "user *** rejected"
    assert redact("password coll rejected", short) == "password *** rejected"
    assert redact("collection", short) == "collection"
    long = ConnectionConfig(token="root:Sup3rS3cretPassw0rd").secrets
    assert redact("xSup3rS3cretPassw0rdx", long) == "x***x"


def test_uri_credentials_are_cut_from_repr_and_masked_in_messages() -> None:
    config = ConnectionConfig(uri="http://alice:pa55-w0rd@db.example:19530", token="")
    assert config.safe_uri == "http://db.example:19530"
    for text in (repr(config), str(config)):
        assert "pa55-w0rd" not in text and "alice" not in text
    assert "pa55-w0rd" in config.secrets
    error = translate(
        RuntimeError("dial alice:pa55-w0rd@db.example failed"), secrets=config.secrets
    )
    assert "pa55-w0rd" not in str(error)
    store = MilvusStore(CollectionSpec(name="c", dim=2), connection=config)
    assert "pa55-w0rd" not in repr(store)


def test_llama_index_serialisation_holds_no_credentials() -> None:
    store = LlamaStore(
        uri="http://alice:pa55-w0rd@127.0.0.1:1", token="root:T0kenSecret", collection_name="c"
    )
    for text in (store.to_json(), str(store.to_dict()), repr(store), str(store.model_dump())):
        assert "pa55-w0rd" not in text
        assert "T0kenSecret" not in text
    assert store.uri == "http://127.0.0.1:1"
    # The store still connects with the credentials (they are only kept out of view).
    assert store.store.session.connection.uri == "http://alice:pa55-w0rd@127.0.0.1:1"


def _raised_from(outer: Exception, inner: Exception) -> Exception:
    try:
        raise outer from inner
    except Exception as exc:
        return exc


# What pymilvus raised when Milvus Lite 2.5.1 closed the shared connection with a GOAWAY
# while a client connected (seen in CI): a MilvusException raised from gRPC's error.
_FAIL_CONNECTING = "Fail connecting to server on 127.0.0.1:26486, illegal connection params"


@pytest.mark.parametrize(
    "details", ["Too many pings", "GOAWAY received; Error code: 11; Debug Text: too_many_pings"]
)
def test_a_connect_refused_with_goaway_is_told_apart_through_translation(details: str) -> None:
    raw = _raised_from(
        milvus(2, f"{_FAIL_CONNECTING} or server unavailable"),
        rpc_error(grpc.StatusCode.UNAVAILABLE, details),
    )
    translated = _raised_from(translate(raw), raw)
    assert isinstance(translated, MilvusConnectionError)
    assert refused_by_goaway(translated)
    assert refused_by_goaway(raw)


@pytest.mark.parametrize(
    "cause",
    [
        # a server that is down: a connect is not made again (it already waited)
        rpc_error(grpc.StatusCode.UNAVAILABLE, "failed to connect to all addresses"),
        # the words with another status
        rpc_error(grpc.StatusCode.INVALID_ARGUMENT, "Too many pings"),
        # user text echoed in Milvus' message is not gRPC's details
        milvus(1, "collection 'Too many pings' GOAWAY received is invalid"),
        ValueError("Too many pings"),
    ],
)
def test_other_connect_failures_are_not_taken_for_a_goaway(cause: Exception) -> None:
    raw = _raised_from(milvus(2, f"{_FAIL_CONNECTING} or server unavailable"), cause)
    assert not refused_by_goaway(_raised_from(translate(raw), raw))


def test_a_call_through_a_client_closed_meanwhile_is_a_retriable_connection_error() -> None:
    """pymilvus' "should create connection first" (its connection removed by close() in
    another thread) is told by its type: the store reconnects on the retry."""
    from pymilvus.exceptions import ConnectionNotExistException

    for raw in (
        ConnectionNotExistException(message="should create connection first."),
        milvus(1, "should create connection first"),  # MilvusClient._get_connection's
    ):
        closed = translate(raw)
        assert isinstance(closed, MilvusConnectionError), raw
        assert closed.retriable
    # The same words in a plain MilvusException (echoed user text, say) are not it.
    echoed = translate(milvus(1100, "collection 'should create connection first.' is invalid"))
    assert not isinstance(echoed, MilvusConnectionError)


# -- a call that ran out of its deadline (session 38) ----------------------------------------


def test_pymilvus_retry_timeout_reads_as_the_calls_deadline() -> None:
    """The async client reports a deadline as pymilvus' "[method] Retry timeout: Xs" with
    no gRPC status: it was a permanent "Milvus call failed" (a helper, session 38)."""
    from pymilvus.exceptions import MilvusException

    error = translate(MilvusException(message="[has_collection] Retry timeout: 0.001s"))
    assert isinstance(error, MilvusOperationError) and error.retriable
    assert "deadline" in str(error) and "ConnectionConfig.timeout" in str(error)
    # Only pymilvus' whole message counts: a user's text quoting it does not.
    quoted = translate(MilvusException(message='[x] Retry timeout: 1s with "a value"'))
    assert "deadline" not in str(quoted)
