"""State shared by the sync and async stores of one collection, and the pure open logic.

Opening a collection is a short protocol: read the server version, then either create
the collection from the spec, or check (or adopt) an existing one. The decisions are
pure functions here; :mod:`store` and :mod:`async_store` only run the calls.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from milvus_plugins.core.capabilities import Capabilities, detect_capabilities
from milvus_plugins.core.config import CollectionSpec
from milvus_plugins.core.connection import ConnectionConfig
from milvus_plugins.core.error_translation import reports_not_loaded
from milvus_plugins.core.errors import (
    CollectionNotFoundError,
    ConfigError,
    SchemaMismatchError,
    shown,
)
from milvus_plugins.core.existing_schema import (
    check_existing,
    check_partition_key,
    resolve_partition_key,
    spec_from_existing,
)
from milvus_plugins.core.fingerprint import PROPERTY_KEY as FINGERPRINT_PROPERTY
from milvus_plugins.core.fingerprint import EmbeddingFingerprint, EmbeddingProbe
from milvus_plugins.core.inference import (
    ACCELERATED_PROPERTY,
    CREATION_TAG_PROPERTY,
    INSTANCE_PROPERTY,
    infer_metadata_fields,
    inferred_partition_key,
)
from milvus_plugins.core.layouts import (
    FieldMapping,
    detect_layout,
    resolve_layout,
    spec_for_layout,
    with_tool_keys,
)
from milvus_plugins.core.lite import LiteLease
from milvus_plugins.core.records import Record
from milvus_plugins.core.stats import partition_count, type_name, vector_fields
from milvus_plugins.core.types import ParsableEnum

__all__ = [
    "LITE_GRPC_OPTIONS",
    "READ_CHECK_TTL",
    "READ_INDEX_CHECK_TTL",
    "ROW_COUNT_TTL",
    "OpenMode",
    "Session",
    "collection_signature",
    "identifiable",
    "note_replaced",
]

LITE_GRPC_OPTIONS: Mapping[str, Any] = {"grpc.keepalive_time_ms": 2**31 - 1}
"""gRPC channel options of a client of an in-process Milvus Lite server: no keepalive pings.

pymilvus pings every 10 s, even on an idle connection. Milvus Lite 3 builds its server
with gRPC's defaults, which count such pings as abuse and close the connection with a
GOAWAY "too_many_pings" after a few (logged by gRPC as an error on every idle minute; the
next call reconnects). A connection inside one process has nothing for a ping to find
(a stopped server refuses the next call at once), so the ping interval is set beyond
reach (gRPC's largest value, about 25 days)."""

ROW_COUNT_TTL = 60.0
"""Seconds a cached row count (the keyword relevance's ``ln(1 + rows)``) stays in use."""

READ_CHECK_TTL = 1.0
"""Seconds a read trusts that the collection is still the one the store opened.

Every write and delete first checks that the collection (or the collection its alias
names) is still the one the store opened; reads check at most once per this many
seconds, so that a search costs no extra round trip, and on its next call after this
process dropped the collection or moved the alias (:func:`note_replaced`).
"""

READ_INDEX_CHECK_TTL = 30.0
"""Seconds a read trusts the dense index (type and metric) it opened the collection with.

A collection replaced or an alias moved shows in the schema check of every
:data:`READ_CHECK_TTL`; only an index rebuilt in place (released, dropped and created
with another metric by another client) waits for this one. The index check is a
``describe_index``, which Milvus Lite 3.2.2 answers by counting the indexed rows: about
20 ms at 20,000 rows, as long as a search, paid by the read that makes it. Meanwhile a
Milvus server refuses a search in the old metric, and the read after that failure
checks the index at once; on Milvus Lite (one process per database) the other client is
in this process, and its reads score by the old metric for up to this long.
"""

_REPLACED: dict[tuple[str, str, str], int] = {}
"""Per (database, name): how often this process dropped that collection or moved that
alias; a store of the name re-checks its collection on its next read."""
_REPLACED_GUARD = threading.Lock()


def database_key(connection: ConnectionConfig) -> tuple[str, str]:
    """What names the database ``connection`` reaches, within this process: a Milvus Lite
    file by its absolute path, a server by its URI, and the database (``""`` is Milvus'
    ``"default"``, so both spellings give one key)."""
    where = os.path.abspath(connection.uri) if connection.is_lite else connection.uri
    return where, connection.db_name or "default"


def _watch_key(connection: ConnectionConfig, name: str) -> tuple[str, str, str]:
    return (*database_key(connection), name)


def note_replaced(connection: ConnectionConfig, name: str) -> None:
    """Note that this process dropped collection ``name`` or moved alias ``name``: the
    stores of that name check their collection again on their next read."""
    key = _watch_key(connection, name)
    with _REPLACED_GUARD:
        _REPLACED[key] = _REPLACED.get(key, 0) + 1


_SIGNED_KEYS = (
    "collection_name",
    "collection_id",
    "auto_id",
    "enable_dynamic_field",
    "description",
)
# Set once, when the collection is created (the overflow marks a store adds later are
# left out): a collection made again under the name differs in the instance token
# (this package's), the embedding fingerprint or the creation tag.
_SIGNED_PROPERTIES = (
    INSTANCE_PROPERTY,
    FINGERPRINT_PROPERTY,
    CREATION_TAG_PROPERTY,
    ACCELERATED_PROPERTY,
)


def collection_signature(
    description: Mapping[str, Any], dense_index: Mapping[str, Any] | None = None
) -> tuple[str, str | None]:
    """What identifies an opened collection: its schema (and the collection an alias
    resolves to, and on servers its id), the properties set at its creation (this
    package's instance token and embedding fingerprint: Milvus Lite reports no
    collection id), and its dense index's type and metric.

    The other properties are left out: the store's own bookkeeping (overflowed
    accelerator keys) changes them.
    """
    schema = {key: description.get(key) for key in _SIGNED_KEYS}
    schema["fields"] = description.get("fields", [])
    schema["functions"] = description.get("functions", [])
    properties = description.get("properties") or {}
    if isinstance(properties, Mapping):
        schema["properties"] = {k: properties[k] for k in _SIGNED_PROPERTIES if k in properties}
    index = None
    if dense_index is not None:
        kind = dense_index.get("index_type")
        metric = dense_index.get("metric_type")
        index = json.dumps([kind, metric], default=str)
    return json.dumps(schema, sort_keys=True, default=str), index


def identifiable(description: Mapping[str, Any]) -> bool:
    """Whether a collection made again under the same name, with the same schema, would
    describe differently: the engine reports a collection id (servers), or this package
    created it (its instance token; Milvus Lite 3). Milvus Lite 2.5.1 reports neither
    (it drops properties): there a write compares the dense index too."""
    properties = description.get("properties") or {}
    token = isinstance(properties, Mapping) and INSTANCE_PROPERTY in properties
    return bool(description.get("collection_id")) or token


def _unwritten_vectors(spec: CollectionSpec, description: Mapping[str, Any]) -> tuple[str, ...]:
    """The collection's dense vector fields ``spec`` writes nothing into (a store opened
    without all its named fields): Milvus refuses a write that leaves one out."""
    if spec.layout is not None:
        return ()  # another tool's layout: writes are refused anyway
    known = {spec.fields.vector, *(f.name for f in spec.extra_vector_fields)}
    return tuple(
        str(f.get("name"))
        for f in vector_fields(description)
        if "SPARSE" not in type_name(f.get("type")) and f.get("name") not in known
    )


class OpenMode(ParsableEnum):
    """What to do when the collection already exists.

    ``CHECK`` validates it against the spec (dimension, metric, fields, BM25 function)
    and raises :class:`SchemaMismatchError` on a difference; ``ADOPT`` reads dimension,
    metric, index, sparse mode and declared fields back from it.
    """

    CHECK = "check"
    ADOPT = "adopt"


def _tool(layout: FieldMapping | None) -> str | None:
    """Which tool's layout: its label, or ``None`` for this package's own."""
    return None if layout is None else layout.label


@dataclass
class Session:
    """Connection, capabilities and the effective spec of one collection.

    Attributes:
        spec: the effective spec (``dim`` filled once known).
        connection: where Milvus is.
        drop_old: drop an existing collection the first time it is opened.
        open_mode: check or adopt an existing collection.
        capabilities: set once the server version is known.
        exists: whether the collection is known to exist.
        embedding: the embedding the store's vectors come from (a probe computing its
            fingerprint, or a known fingerprint): recorded when the collection is
            created, checked when an existing one is opened.
        allow_embedding_change: open a collection recording another embedding anyway.
    """

    spec: CollectionSpec
    connection: ConnectionConfig
    drop_old: bool = False
    open_mode: OpenMode = OpenMode.CHECK
    capabilities: Capabilities | None = None
    exists: bool = False
    #: Whether this session created the collection it holds (not opened one that was
    #: there): a framework's "clear" may then drop it, since a write makes it the same.
    created_here: bool = field(default=False, repr=False)
    embedding: EmbeddingProbe | EmbeddingFingerprint | None = None
    allow_embedding_change: bool = False
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    lite_generation: int | None = field(default=None, repr=False)
    row_count: tuple[float, int] | None = field(default=None, repr=False)
    signature: tuple[str, str | None] | None = field(default=None, repr=False)
    dense_field: str | None = field(default=None, repr=False)
    dense_index_name: str | None = field(default=None, repr=False)
    checked_at: float = field(default=0.0, repr=False)
    index_checked_at: float = field(default=0.0, repr=False)
    opened_from: CollectionSpec | None = field(default=None, repr=False)
    # The layout of the first collection this session opened or created (``(None,)``:
    # this package's own), kept across replacements: see :meth:`adopt`.
    first_layout: tuple[FieldMapping | None] | None = field(default=None, repr=False)
    replaced_seen: int = field(default=0, repr=False)
    partitions: int | None = field(default=None, repr=False)
    unwritten_vectors: tuple[str, ...] = field(default=(), repr=False)
    _watched: tuple[str, str, str] | None = field(default=None, repr=False)

    def _replacements(self) -> int:
        if self._watched is None or self._watched[2] != self.spec.name:
            self._watched = _watch_key(self.connection, self.spec.name)
        return _REPLACED.get(self._watched, 0)

    def remember_opened(
        self,
        before: CollectionSpec,
        description: Mapping[str, Any],
        dense_index: Mapping[str, Any] | None,
        dense_field: str,
    ) -> None:
        """Note the collection just opened or created (what :meth:`still_open` compares
        with) and the spec it was opened from (what a re-open starts from)."""
        if self.opened_from is None:
            # The spec as the store was given it, kept through every re-open (after
            # close(), after a drop): a restart starts from it, never from one holding
            # what was learned from a collection since gone (a dimension, a key's type).
            self.opened_from = before
        if self.first_layout is None:
            self.first_layout = (self.spec.layout,)
        self.replaced_seen = self._replacements()
        self.unwritten_vectors = _unwritten_vectors(self.spec, description)
        self.signature = collection_signature(description, dense_index)
        self.partitions = partition_count(description)
        self.dense_field = dense_field
        name = dense_index.get("index_name") if dense_index is not None else None
        self.dense_index_name = name if isinstance(name, str) and name else None
        self.checked_at = self.index_checked_at = time.monotonic()

    def read_check_due(self) -> bool:
        """Whether a read should check the collection again (see :data:`READ_CHECK_TTL`)."""
        return (
            self.signature is None
            or time.monotonic() - self.checked_at > READ_CHECK_TTL
            or self._replacements() != self.replaced_seen
        )

    def index_check_due(self) -> bool:
        """Whether a read's check should describe the dense index again (see
        :data:`READ_INDEX_CHECK_TTL`)."""
        return (
            self.signature is None
            or time.monotonic() - self.index_checked_at > READ_INDEX_CHECK_TTL
            or self._replacements() != self.replaced_seen
        )

    def still_open(
        self, description: Mapping[str, Any], dense_index: Mapping[str, Any] | None, *, full: bool
    ) -> bool:
        """Whether a fresh description is of the collection the store opened.

        ``full`` compares the dense index (type, metric) too; without it, the schema
        only (what a write or delete depends on).
        """
        if self.signature is None:
            return False
        schema, index = collection_signature(description, dense_index)
        same = schema == self.signature[0] and (not full or index == self.signature[1])
        if same:
            self.partitions = partition_count(description)
            self.checked_at = time.monotonic()
            if full:
                self.index_checked_at = self.checked_at
            self.replaced_seen = self._replacements()
        return same

    def forget_opened(self, signature: tuple[str, str | None] | None) -> None:
        """The collection was replaced (by another client, or an alias moved): open it
        again from the spec it was first opened from, keeping the dimension learned
        since. Does nothing when another call has re-opened it meanwhile."""
        with self.lock:
            if self.signature != signature or not self.exists:
                return
            self._restart()

    def lost(self, *, keep_dim: bool = True) -> None:
        """The collection is gone (dropped by this store or by another client): the next
        write creates it again from the spec it was opened from, so what was read from
        the dropped one (an undeclared partition key's type, columns adopted from it)
        does not outlive it. ``keep_dim``: keep the dimension learned from it (a drop by
        another client); this store's own drop forgets it, so a spec without ``dim``
        takes the next write's, as a new store would (a new embedding model)."""
        with self.lock:
            self._restart(keep_dim=keep_dim)

    def _restart(self, *, keep_dim: bool = True) -> None:
        if not keep_dim:  # this store's own drop: as a new store from here on
            self.first_layout = None
        spec = self.opened_from or self.spec
        if keep_dim and spec.dense and spec.dim is None and self.spec.dim is not None:
            spec = spec.with_dim(self.spec.dim)
        self.spec = spec
        self.exists = False
        self.created_here = False
        self.signature = None
        self.row_count = None

    def cached_row_count(self) -> int | None:
        """The row count cached for keyword relevance, or ``None`` when stale.

        Counting on every keyword search would add a round trip; ``ln(1 + rows)`` moves
        little, so the count is reused for :data:`ROW_COUNT_TTL` seconds.
        """
        cached = self.row_count
        if cached is None or time.monotonic() - cached[0] > ROW_COUNT_TTL:
            return None
        return cached[1]

    def remember_row_count(self, rows: int) -> int:
        """Cache ``rows`` for :meth:`cached_row_count` and return it."""
        self.row_count = (time.monotonic(), rows)
        return rows

    def failed(self, error: BaseException) -> None:
        """Note a failed call: a collection dropped behind our back (another client) is
        forgotten, so that exists() says False and the next write recreates it; one
        released behind our back ("not loaded") is reopened by the next call (a read that
        found it released loads it and is sent once more by the runner); after any other
        failure the next read checks that the collection is still the one opened.
        """
        if isinstance(error, CollectionNotFoundError):
            self.lost()
        elif reports_not_loaded(error):
            self.exists = False
        else:  # perhaps a collection replaced behind our back: the next read checks
            self.checked_at = self.index_checked_at = 0.0

    def connected(self, lease: LiteLease | None) -> None:
        """Note a new connection; one to a restarted Lite server must reopen the collection.

        Closing the last store of a Milvus Lite database stops its server; a store used
        again starts it afresh, where the collection is no longer loaded.
        """
        if lease is not None and lease.generation != self.lite_generation:
            self.lite_generation = lease.generation
            if self.spec.layout is not None and self.opened_from is not None:
                # Another tool's layout is detected again, from the spec as given: the
                # resolved one re-resolved lost its JSON columns.
                with self.lock:
                    self._restart()
            else:
                self.exists = False

    def client_kwargs(
        self, extra: Mapping[str, Any] | None = None, lease: LiteLease | None = None
    ) -> dict[str, Any]:
        """Keyword arguments for ``MilvusClient``/``AsyncMilvusClient``.

        The client connects on a connection of its own (``dedicated``), never on
        pymilvus' connection shared by every client of the process for the same
        address: a shared one opened earlier (by another client, with another timeout)
        on a host that has since hung was probed and recovered first, under pymilvus'
        process-wide lock, and a store made with ``timeout=1`` took 10-120 s to fail; on
        Milvus Lite, closing the client also closes its channel rather than leaving it
        to a server that is about to stop. With the ``lease`` of a Milvus Lite server,
        the client connects to that server's address and sends no keepalive pings
        (``LITE_GRPC_OPTIONS``). ``extra`` (the user's
        ``client_kwargs``, checked by ``check_client_kwargs``, which makes their
        ``grpc_options`` a dict) overrides any of these; the user's ``grpc_options`` are
        merged over ``LITE_GRPC_OPTIONS`` option by option (as pymilvus merges them over
        its own defaults), so setting one gRPC option does not bring the pings back.
        """
        uri = lease.uri if lease is not None else self.connection.uri
        kwargs: dict[str, Any] = {
            "uri": uri,
            "timeout": self.connection.timeout,
            "dedicated": True,
        }
        if lease is not None:
            kwargs["grpc_options"] = dict(LITE_GRPC_OPTIONS)
        if self.connection.token:
            kwargs["token"] = self.connection.token
        if self.connection.db_name:
            kwargs["db_name"] = self.connection.db_name
        user = dict(extra or {})
        theirs = user.get("grpc_options")
        if lease is not None and isinstance(theirs, Mapping):
            user["grpc_options"] = {**LITE_GRPC_OPTIONS, **theirs}
        kwargs.update(user)
        return kwargs

    def set_version(self, version: str) -> Capabilities:
        """Record the server version and return the capabilities."""
        self.capabilities = detect_capabilities(version)
        return self.capabilities

    @property
    def caps(self) -> Capabilities:
        """The capabilities (the store connects before using them)."""
        if self.capabilities is None:
            raise ConfigError("internal: capabilities read before connecting")
        return self.capabilities

    def adopt(
        self, description: Mapping[str, Any], dense_index: Mapping[str, Any] | None
    ) -> CollectionSpec:
        """Validate or adopt an existing collection's description; store the result.

        A collection of another layout (an explicit ``spec.layout``, or a
        langchain-milvus / llama-index layout detected here) is read through it.
        """
        asked = self.spec
        check_partition_key(asked, description)
        layout = self.layout_of(description)
        self._refuse_another_layout(layout)
        # Milvus Lite 3 reports no build parameters for an index it built with its
        # defaults (whatever pymilvus' flat entries asked for).
        defaults = self.capabilities is not None and self.capabilities.nested_index_params
        if layout is not None:
            opened = spec_for_layout(asked, layout, description, dense_index)
        elif self.open_mode is OpenMode.ADOPT:
            opened = spec_from_existing(
                asked, description, dense_index, unreported_are_defaults=defaults
            )
        else:
            opened = check_existing(
                asked, description, dense_index, unreported_are_defaults=defaults
            )
        self.spec = resolve_partition_key(asked, opened, description)
        self.exists = True
        # Opened again (after close(), or a read's check): still the one it created only
        # when its schema is the one remembered.
        self.created_here = self.created_here and self.still_open(
            description, dense_index, full=False
        )
        return self.spec

    def _refuse_another_layout(self, layout: FieldMapping | None) -> None:
        """Refuse a collection whose layout is not the one this session first opened.

        A store that created (or opened) a collection in this package's layout and
        finds another tool's collection under that name (dropped and made again by
        another client, or an alias moved) would otherwise read it through that tool's
        layout, and its ``delete`` and ``clear`` would remove that tool's rows; so would
        a store of one tool's collection finding another tool's, or finding one in this
        package's layout (another application's, as likely as a ``migrate`` copy behind
        a moved alias: a new store reads that). A collection of the same tool made
        again (new columns included) is opened. The store's own ``drop()`` forgets the
        layout: it then opens what it finds, as a new store would.

        Raises:
            SchemaMismatchError: the layouts differ (nothing written or deleted).
        """
        if self.first_layout is None:
            return
        first = self.first_layout[0]
        if _tool(first) == _tool(layout):
            return  # this package's again, or the same tool's collection made again

        def named(mapping: FieldMapping | None) -> str:
            return "this package's" if mapping is None else f"{mapping.label}'s"

        raise SchemaMismatchError(
            f"collection {shown(self.spec.name)} was replaced since this store opened it: "
            f"it was in {named(self.first_layout[0])} layout and is now in "
            f"{named(layout)} (another client dropped and re-created it, or moved the "
            "alias). Nothing was written or deleted. Open it with a new store to read "
            "the new collection, or restore the collection this store worked on."
        )

    def layout_of(self, description: Mapping[str, Any]) -> FieldMapping | None:
        """The resolved foreign layout of a described collection, or ``None`` (native).

        Raises:
            SchemaMismatchError: an explicit ``spec.layout`` does not fit the collection.
        """
        if self.spec.layout is not None:
            return resolve_layout(with_tool_keys(self.spec.layout, description), description)
        names = self.spec.fields
        present = {f.get("name"): f for f in description.get("fields", [])}
        own = {names.id, names.text, names.vector, names.metadata} <= present.keys()
        if own and present[names.id].get("is_primary"):
            # This package's layout: checked against the spec as before. (Another tool's
            # collection may hold metadata columns of those names, but not its key.)
            return None
        detected = detect_layout(description)
        return None if detected is None else resolve_layout(detected, description)

    def spec_to_create(
        self, dim: int | None, records: Sequence[Record] = ()
    ) -> CollectionSpec | None:
        """Return the spec to create with; ``None`` while a dimension is unknown.

        A sparse-only spec (``dense=False``) is created by its first write (``records``);
        the named dense fields' dimensions are taken from the first record's vectors.

        Fills ``dim``, and unless ``infer_metadata_fields=False`` (on an engine with
        nullable fields) adds the accelerator columns inferred from ``records``, the
        first write (see :mod:`milvus_plugins.core.inference`).
        """
        if self.spec.layout is not None:
            raise CollectionNotFoundError(
                f"collection {shown(self.spec.name)} does not exist, and field_mapping (another "
                "tool's layout) describes an existing collection: this package never creates "
                "one in that layout (it could not add rows to it). Create it with the tool "
                "whose layout it is, or leave field_mapping out to create a collection in "
                "this package's layout."
            )
        if not self.spec.dense:
            if not records:
                return None  # a sparse-only collection is created by its first write
        elif self.spec.dim is None and dim is None:
            return None
        if self.spec.dense and self.spec.dim is None and dim is not None:
            self.spec = self.spec.with_dim(dim)
        if any(f.dim is None for f in self.spec.extra_vector_fields):
            first = records[0].vectors if records else {}
            self.spec = self.spec.with_vector_dims({n: len(v) for n, v in first.items()})
            if any(f.dim is None for f in self.spec.extra_vector_fields):
                return None
        if self.spec.partition_key_pending:
            column = inferred_partition_key(self.spec, records)
            if column is None:
                key = self.spec.partition_key
                raise ConfigError(
                    f"collection {shown(self.spec.name)} does not exist, and partition_key="
                    f"{shown(key)} has no declared type to create it with (nothing was "
                    f"created): declare it, e.g. metadata_fields={{{key!r}: 'VARCHAR'}} (or "
                    f"'INT64'), or let the first write create it (its metadata[{key!r}] "
                    "values give the type)."
                )
            self.spec = replace(self.spec, metadata_fields=(*self.spec.declared_fields, column))
        if self.spec.infer_metadata_fields is not False and records and self.caps.nullable:
            inferred = infer_metadata_fields(records, self.spec)
            self.spec = replace(self.spec, accelerated_fields=inferred)
        return self.spec

    def note_overflowed(self, keys: frozenset[str] | set[str]) -> None:
        """Remember accelerated keys that hold values their column cannot (never forgets)."""
        with self.lock:
            if not keys <= self.spec.overflowed_keys:
                merged = self.spec.overflowed_keys | keys
                self.spec = replace(self.spec, overflowed_keys=frozenset(merged))
