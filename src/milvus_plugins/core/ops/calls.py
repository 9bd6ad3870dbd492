"""The steps an operation yields and the runners execute (pure data, no I/O).

* :class:`Call`: one ``MilvusClient`` / ``AsyncMilvusClient`` method call, named by a
  :class:`ClientMethod` (the two clients spell their methods alike).
* :class:`Guarded`: a sub-operation to run while holding a lock: the collection's
  session lock (opening/creating) or the write lock of a Milvus Lite database.
* :class:`Probe`: find the capabilities of an engine that reports no version.
* :class:`ReadAll`: a paged read through ``query_iterator`` (sync-only in pymilvus).
* :class:`Fingerprint`: embed the fingerprint probe text (the store's embedding model).
* :class:`Embed`: embed one batch of texts with the caller's model (a streamed write).
* :class:`EmbedAhead` / :class:`Collect`: start embedding a batch in the background
  (while the operation writes the previous one), then wait for its vectors.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Generic, TypeAlias, TypeVar

from milvus_plugins.core.errors import CollectionNotFoundError
from milvus_plugins.core.fingerprint import EmbeddingProbe
from milvus_plugins.core.packing import writer

__all__ = [
    "QUICK_METHODS",
    "Call",
    "ClientMethod",
    "Collect",
    "Done",
    "Embed",
    "EmbedAhead",
    "Fingerprint",
    "Guard",
    "Guarded",
    "Op",
    "Outcome",
    "Pause",
    "Probe",
    "ReadAll",
    "Step",
    "bound_method",
    "map_op",
    "one_call",
    "or_empty",
    "sent_kwargs",
    "with_kwargs",
]

T = TypeVar("T")
U = TypeVar("U")


class ClientMethod(str, Enum):
    """The pymilvus client methods the operations use (values: pymilvus' names)."""

    ALTER_COLLECTION_PROPERTIES = "alter_collection_properties"
    ALTER_ALIAS = "alter_alias"
    COMPACT = "compact"
    CREATE_ALIAS = "create_alias"
    CREATE_COLLECTION = "create_collection"
    CREATE_INDEX = "create_index"
    CREATE_PARTITION = "create_partition"
    DELETE = "delete"
    DESCRIBE_ALIAS = "describe_alias"
    DESCRIBE_COLLECTION = "describe_collection"
    DESCRIBE_INDEX = "describe_index"
    DESCRIBE_RESOURCE_GROUP = "describe_resource_group"
    DROP_ALIAS = "drop_alias"
    DROP_COLLECTION = "drop_collection"
    DROP_PARTITION = "drop_partition"
    FLUSH = "flush"
    GET_LOAD_STATE = "get_load_state"
    GET_SERVER_VERSION = "get_server_version"
    HAS_COLLECTION = "has_collection"
    HYBRID_SEARCH = "hybrid_search"
    INSERT = "insert"
    LIST_ALIASES = "list_aliases"
    LIST_COLLECTIONS = "list_collections"
    LIST_DATABASES = "list_databases"
    LIST_INDEXES = "list_indexes"
    LIST_PARTITIONS = "list_partitions"
    LOAD_COLLECTION = "load_collection"
    QUERY = "query"
    RELEASE_COLLECTION = "release_collection"
    RELEASE_PARTITIONS = "release_partitions"
    SEARCH = "search"
    UPSERT = "upsert"


QUICK_METHODS = frozenset(
    {
        ClientMethod.ALTER_ALIAS,
        ClientMethod.ALTER_COLLECTION_PROPERTIES,
        ClientMethod.CREATE_ALIAS,
        ClientMethod.CREATE_COLLECTION,
        ClientMethod.CREATE_PARTITION,
        ClientMethod.DESCRIBE_ALIAS,
        ClientMethod.DESCRIBE_COLLECTION,
        ClientMethod.DESCRIBE_INDEX,
        ClientMethod.DESCRIBE_RESOURCE_GROUP,
        ClientMethod.DROP_ALIAS,
        ClientMethod.DROP_COLLECTION,
        ClientMethod.DROP_PARTITION,
        ClientMethod.GET_LOAD_STATE,
        ClientMethod.GET_SERVER_VERSION,
        ClientMethod.HAS_COLLECTION,
        ClientMethod.LIST_ALIASES,
        ClientMethod.LIST_COLLECTIONS,
        ClientMethod.LIST_DATABASES,
        ClientMethod.LIST_INDEXES,
        ClientMethod.LIST_PARTITIONS,
    }
)
"""The metadata calls: one quick round trip each. One that names no deadline is sent
with the connection's ``timeout`` (:func:`sent_kwargs`), so that a server that stops
answering fails it instead of hanging it. Loads, flushes, index builds, compactions and
releases wait for the server's work and keep the deadline their operation gives them."""


@dataclass(frozen=True)
class Call:
    """One client call: ``client.<method>(*args, **kwargs)``.

    Attributes:
        method: the client method.
        args: positional arguments (the collection name first, where it has one).
        kwargs: keyword arguments.
        retry: whether transient failures are retried (not for creating a collection:
            a retried create that had succeeded would report "already exists").
    """

    method: ClientMethod
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    retry: bool = True


class Guard(Enum):
    """The lock a :class:`Guarded` sub-operation holds."""

    SESSION = "session"  # one opener of a collection at a time (per store session)
    WRITE = "write"  # writes to one Milvus Lite database take turns (no-op on servers)


@dataclass(frozen=True)
class Guarded(Generic[T]):
    """Run ``op`` while holding ``guard``; its result is the step's answer."""

    guard: Guard
    op: Op[T]


@dataclass(frozen=True)
class Pause:
    """Wait ``seconds`` before the next step (``time.sleep`` or ``asyncio.sleep``);
    answer: ``None``. For waiting on another client, e.g. one still creating a
    collection's indexes."""

    seconds: float


@dataclass(frozen=True)
class Probe:
    """Find the capabilities of an engine that reports no version (see :mod:`..probing`)."""


@dataclass(frozen=True)
class ReadAll:
    """Read every row of a ``query`` through ``query_iterator``; answer: the rows."""

    collection: str
    kwargs: Mapping[str, Any]
    batch_size: int = 1000


@dataclass(frozen=True)
class Fingerprint:
    """Compute the fingerprint of ``probe``'s embedding model; answer: the fingerprint."""

    probe: EmbeddingProbe


@dataclass(frozen=True)
class Embed:
    """Embed ``texts`` with the caller's model; answer: one vector per text.

    ``embed`` is a plain function for the sync runner and may return an awaitable for
    the async runner (``aembed_documents``); the model's errors reach the operation as
    they are (they are not Milvus errors: no translation, no retry).
    """

    texts: list[str]
    embed: Callable[[list[str]], Any]


@dataclass(frozen=True)
class EmbedAhead:
    """Start embedding ``texts`` in the background; answer: a handle for :class:`Collect`.

    The sync runner calls ``embed`` in a worker thread, the async runner in a task (an
    async model on the loop, a sync one in a worker thread). The operation collects
    every handle it starts, also when it fails, so no model call outlives it; it starts
    one at a time, so the model never runs twice at once.
    """

    texts: list[str]
    embed: Callable[[list[str]], Any]


@dataclass(frozen=True)
class Collect:
    """Wait for an :class:`EmbedAhead` handle; answer: its vectors (or its error raised).

    With ``discard``, the vectors and any error are dropped (the operation is failing
    for another reason and only waits for the model to finish); the answer is ``None``.
    """

    handle: Any
    discard: bool = False


Step: TypeAlias = (
    "Call | Guarded[Any] | Pause | Probe | ReadAll | Fingerprint | Embed | EmbedAhead | Collect"
)
Op: TypeAlias = Generator[Step, Any, T]


@dataclass(frozen=True)
class Done(Generic[T]):
    """An operation has returned ``value``."""

    value: T


@dataclass(frozen=True)
class Outcome:
    """What the last step came to: its answer, or the error to throw into the operation."""

    answer: Any = None
    error: Exception | None = None

    @classmethod
    def of(cls, execute: Callable[[Any], Any], step: Any) -> Outcome:
        """Execute ``step`` (blocking) and capture its answer or error."""
        try:
            return cls(answer=execute(step))
        except Exception as exc:
            return cls(error=exc)

    def resume(self, op: Op[T]) -> Step | Done[T]:
        """Hand this outcome to ``op``: its next step, or :class:`Done` when it returned."""
        try:
            return op.send(self.answer) if self.error is None else op.throw(self.error)
        except StopIteration as done:
            return Done(done.value)


def with_kwargs(call: Call, extra: Mapping[str, Any]) -> Call:
    """``call`` with ``extra`` keyword arguments added (``call`` itself when none)."""
    if not extra:
        return call
    return Call(call.method, call.args, {**call.kwargs, **extra}, call.retry)


def one_call(call: Call) -> Op[Any]:
    """An operation of one call (to run one call under a :class:`Guarded` lock)."""
    return (yield call)


def or_empty(op: Op[T], empty: Callable[[], T]) -> Op[T]:
    """Run ``op``; a collection dropped meanwhile (by another client) reads as ``empty()``.

    The runner has already marked the collection as gone, so the next write recreates it.
    """
    try:
        return (yield from op)
    except CollectionNotFoundError:
        return empty()


def map_op(op: Op[T], fn: Callable[[T], U]) -> Op[U]:
    """Run ``op`` and return ``fn`` of its result."""
    return fn((yield from op))


def sent_kwargs(call: Call, timeout: float | None) -> Mapping[str, Any]:
    """The keyword arguments ``call`` is sent with: those of a :data:`QUICK_METHODS` call
    naming no deadline get ``timeout`` (the connection's), others are sent as given."""
    if timeout is None or call.method not in QUICK_METHODS or "timeout" in call.kwargs:
        return call.kwargs
    return {**call.kwargs, "timeout": timeout}


def bound_method(client: Any, method: ClientMethod) -> Any:
    """Return ``client``'s bound method for ``method`` (sync and async clients alike).

    An explicit table rather than a lookup by name: only these methods can be called.
    """
    match method:
        case ClientMethod.ALTER_COLLECTION_PROPERTIES:
            return client.alter_collection_properties
        case ClientMethod.ALTER_ALIAS:
            return client.alter_alias
        case ClientMethod.COMPACT:
            return client.compact
        case ClientMethod.CREATE_ALIAS:
            return client.create_alias
        case ClientMethod.CREATE_COLLECTION:
            return client.create_collection
        case ClientMethod.CREATE_INDEX:
            return client.create_index
        case ClientMethod.CREATE_PARTITION:
            return client.create_partition
        case ClientMethod.DELETE:
            return client.delete
        case ClientMethod.DESCRIBE_ALIAS:
            return client.describe_alias
        case ClientMethod.DESCRIBE_COLLECTION:
            return client.describe_collection
        case ClientMethod.DESCRIBE_INDEX:
            return client.describe_index
        case ClientMethod.DESCRIBE_RESOURCE_GROUP:
            return client.describe_resource_group
        case ClientMethod.DROP_ALIAS:
            return client.drop_alias
        case ClientMethod.DROP_COLLECTION:
            return client.drop_collection
        case ClientMethod.DROP_PARTITION:
            return client.drop_partition
        case ClientMethod.FLUSH:
            return client.flush
        case ClientMethod.GET_LOAD_STATE:
            return client.get_load_state
        case ClientMethod.GET_SERVER_VERSION:
            return client.get_server_version
        case ClientMethod.HAS_COLLECTION:
            return client.has_collection
        case ClientMethod.HYBRID_SEARCH:
            return client.hybrid_search
        case ClientMethod.INSERT:
            return writer(client, upsert=False)  # client.insert, packed by column
        case ClientMethod.LIST_ALIASES:
            return client.list_aliases
        case ClientMethod.LIST_COLLECTIONS:
            return client.list_collections
        case ClientMethod.LIST_DATABASES:
            return client.list_databases
        case ClientMethod.LIST_INDEXES:
            return client.list_indexes
        case ClientMethod.LIST_PARTITIONS:
            return client.list_partitions
        case ClientMethod.LOAD_COLLECTION:
            return client.load_collection
        case ClientMethod.QUERY:
            return client.query
        case ClientMethod.RELEASE_COLLECTION:
            return client.release_collection
        case ClientMethod.RELEASE_PARTITIONS:
            return client.release_partitions
        case ClientMethod.SEARCH:
            return client.search
        case ClientMethod.UPSERT:
            return writer(client, upsert=True)  # client.upsert, packed by column
