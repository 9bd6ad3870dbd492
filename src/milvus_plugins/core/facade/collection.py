"""The collection's state, the scope of one call, and the lifecycle/admin operations."""

from __future__ import annotations

from collections.abc import Sequence

from milvus_plugins.core.batching import WriteOptions
from milvus_plugins.core.capabilities import Capabilities
from milvus_plugins.core.config import CollectionSpec
from milvus_plugins.core.ops import admin, lifecycle
from milvus_plugins.core.ops.calls import Op
from milvus_plugins.core.ops.context import OpContext
from milvus_plugins.core.ops.fusion import HybridOptions
from milvus_plugins.core.records import Record
from milvus_plugins.core.scope import Scope, Tenancy, refuse_unscoped_admin, resolve_scope
from milvus_plugins.core.session import Session
from milvus_plugins.core.sparse import SparseEncoder
from milvus_plugins.core.stats import CollectionStats

__all__ = ["CollectionOperations", "Tenant"]

Tenant = str | int


class CollectionOperations:
    """One collection's session and options, and its lifecycle and admin operations.

    Shared by a sync store and the async stores made from it. No method does I/O: each
    returns the operation a store runs.

    Args:
        session: spec, connection, capabilities and collection state.
        tenancy: the store's tenant defaults.
        write: batching, progress and flush defaults.
        hybrid: hybrid-search defaults.
        sparse_encoder: the encoder of a ``sparse="client"`` collection.
    """

    def __init__(
        self,
        session: Session,
        tenancy: Tenancy,
        *,
        write: WriteOptions,
        hybrid: HybridOptions,
        sparse_encoder: SparseEncoder | None,
    ) -> None:
        self.session = session
        self.tenancy = tenancy
        self.write_options = write
        self.hybrid = hybrid
        self.sparse_encoder = sparse_encoder

    @property
    def spec(self) -> CollectionSpec:
        """The effective collection spec (``dim`` filled once known)."""
        return self.session.spec

    def op_context(self, scope: Scope | None = None) -> OpContext:
        """The state and options the operations run with (read at each call).

        Without ``scope`` the context is the whole collection (administrative calls).
        """
        return OpContext(
            self.session, self.write_options, self.hybrid, self.sparse_encoder, scope or Scope()
        )

    def scope(
        self,
        *,
        tenant: Tenant | None = None,
        partition_names: Sequence[str] | None = None,
        partition_name: str | None = None,
    ) -> Scope:
        """Resolve one call's scope against the store's tenancy (no I/O).

        Raises:
            ConfigError: a bad partition name; named partitions on a partition-key
                collection; a tenant on a collection without a partition key.
            TenantRequiredError: strict tenant mode and no tenant.
        """
        return resolve_scope(
            self.spec,
            self.tenancy,
            tenant=tenant,
            partition_names=partition_names,
            partition_name=partition_name,
        )

    def scoped_context(
        self,
        tenant: Tenant | None = None,
        partition_names: Sequence[str] | None = None,
        partition_name: str | None = None,
    ) -> OpContext:
        """The operation context of one data call, confined to its :meth:`scope`."""
        return self.op_context(
            self.scope(
                tenant=tenant, partition_names=partition_names, partition_name=partition_name
            )
        )

    # -- the operations ---------------------------------------------------------------

    def capabilities(self) -> Op[Capabilities]:
        """What the connected Milvus supports (connects on first access)."""
        return lifecycle.capabilities_op(self.session)

    def ensure_collection(self, dim: int | None = None, records: Sequence[Record] = ()) -> Op[bool]:
        """Open the collection, creating it when absent and the dimension is known.

        ``records`` is the write that creates it (for ``infer_metadata_fields``).

        Returns:
            Whether the collection exists afterwards.

        Raises:
            ConfigError: ``dim`` is not a valid dimension or contradicts the spec's.
            SchemaMismatchError: an existing collection differs from the spec (or has
                another dimension than ``dim``).
            UnsupportedByServerError: the spec needs a feature the server lacks.
        """
        return lifecycle.ensure_collection_op(self.op_context(), dim, records)

    def exists(self) -> Op[bool]:
        """Whether the collection exists (opening it if it does; never creating it).

        Always asks Milvus: another client may have dropped (or created) it meanwhile.
        """
        return lifecycle.exists_op(self.op_context())

    def drop(self) -> Op[None]:
        """Drop the collection; the store recreates it on the next write.

        Raises:
            TenantRequiredError: the store has a tenant or is in strict tenant mode.
        """
        refuse_unscoped_admin(self.tenancy, "drop()")
        return lifecycle.drop_op(self.op_context())

    def list_collections(self) -> Op[list[str]]:
        """Names of the collections in the connected database."""
        return admin.list_collections_op()

    def flush(self) -> Op[None]:
        """Seal and persist buffered rows (on Milvus Lite it also speeds up search)."""
        return admin.flush_op(self.op_context())

    def compact(self) -> Op[int]:
        """Start a compaction (merging segments, purging deletes); return its job id."""
        return admin.compact_op(self.op_context())

    def load(self) -> Op[None]:
        """Load the collection into memory for search."""
        return admin.load_op(self.op_context())

    def release(self) -> Op[None]:
        """Release the collection from memory."""
        return admin.release_op(self.op_context())

    def create_partition(self, name: str) -> Op[None]:
        """Create a partition; one that exists already is left as it is (so two
        clients may both create it).

        Raises:
            ConfigError: ``name`` is not a valid Milvus name (checked before any call:
                Milvus Lite would turn it into a path), or the collection has a
                partition key (Milvus makes its partitions itself).
        """
        return admin.create_partition_op(self.op_context(), name)

    def list_partitions(self) -> Op[list[str]]:
        """Names of the collection's partitions."""
        return admin.list_partitions_op(self.op_context())

    def drop_partition(self, name: str) -> Op[None]:
        """Release and drop a partition with all its rows; a partition that does not
        exist is left as it is (as :meth:`drop` leaves a missing collection).

        Raises:
            ConfigError: ``name`` is not a valid Milvus name (checked before any call:
                Milvus Lite would delete the directory it names), or ``_default``
                (Milvus keeps it).
        """
        return admin.drop_partition_op(self.op_context(), name)

    def stats(self) -> Op[CollectionStats]:
        """A health report: rows, fields, indexes, load state, partitions, server version.

        Raises:
            CollectionNotFoundError: the collection does not exist (stats never creates it).
        """
        return admin.stats_op(self.op_context())
