"""What an operation reads: the collection's session and the store's options (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from milvus_plugins.core.batching import WriteOptions
from milvus_plugins.core.capabilities import Capabilities
from milvus_plugins.core.config import CollectionSpec
from milvus_plugins.core.errors import ConfigError
from milvus_plugins.core.ops.fusion import HybridOptions
from milvus_plugins.core.requests import SparseQuery
from milvus_plugins.core.scope import Scope
from milvus_plugins.core.session import Session
from milvus_plugins.core.sparse import SparseEncoder
from milvus_plugins.core.types import SparseMode

__all__ = ["OpContext"]


@dataclass(frozen=True)
class OpContext:
    """The state and options one operation runs with.

    Attributes:
        session: spec, connection, capabilities and collection state (shared by the
            sync and async stores of a collection; operations update it).
        write: batching, progress and flush defaults.
        hybrid: hybrid-search defaults.
        sparse_encoder: the encoder of a ``sparse="client"`` collection.
        scope: the partitions and tenant this call is confined to
            (:mod:`milvus_plugins.core.scope`; default: the whole collection).
    """

    session: Session
    write: WriteOptions
    hybrid: HybridOptions
    sparse_encoder: SparseEncoder | None
    scope: Scope = field(default_factory=Scope)

    @property
    def spec(self) -> CollectionSpec:
        """The effective collection spec."""
        return self.session.spec

    @property
    def timeout(self) -> float | None:
        """The deadline every data call carries (an unresponsive server must not hang it)."""
        return self.session.connection.timeout

    def sparse_query(self, query: SparseQuery) -> SparseQuery:
        """Encode a text query for a client-sparse collection; other queries pass as is.

        Raises:
            ConfigError: a client-sparse collection without an encoder.
        """
        if isinstance(query, str) and self.spec.sparse_mode is SparseMode.CLIENT:
            if self.sparse_encoder is None:
                raise ConfigError("a client-sparse collection needs sparse_encoder= to search.")
            return self.sparse_encoder.encode_queries([query])[0]
        return query

    def read_kwargs(self, caps: Capabilities) -> dict[str, Any]:
        """The scope's keyword arguments for a query or search call.

        Raises:
            UnsupportedByServerError: named partitions on an engine without them.
        """
        if self.scope.partition_names is not None:
            caps.require("partitions", caps.partitions)
        return self.scope.read_kwargs()

    def write_kwargs(self, caps: Capabilities) -> dict[str, Any]:
        """The scope's keyword arguments for an insert or upsert call.

        Raises:
            UnsupportedByServerError: a named partition on an engine without them.
        """
        if self.scope.partition_name is not None:
            caps.require("partitions", caps.partitions)
        return self.scope.write_kwargs()
