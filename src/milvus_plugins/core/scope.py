"""What one call may touch: named partitions and a tenant (pure, no I/O).

Two ways to confine a call to part of a collection:

* ``partition_names``: the call reads (or deletes) only in these partitions, and a write
  goes into one named partition (``partition_name``). Names go through
  :func:`~milvus_plugins.core.names.check_name` first (Milvus Lite turns them into
  paths). A collection with a partition key routes rows itself: Milvus refuses named
  partitions there, and so does :func:`resolve_scope`, before any call.
* a **tenant**, on a collection whose spec declares a ``partition_key``: every read,
  count, search (each leg of a hybrid search, whether the server or the client fuses)
  and delete gets ``and_(eq(partition_key, tenant), <filter>)``, a tree compiled with
  the tenant escaped like any value, so no filter value can widen it; every write
  stamps the tenant into the partition-key field and refuses a record that names
  another tenant (:class:`~milvus_plugins.core.errors.TenantMismatchError`). Milvus'
  partition-key routing then also narrows the segments searched, but isolation never
  depends on it (``hybrid_search`` does not enforce it on every server).

:class:`Tenancy` holds a store's defaults: its tenant (a per-call ``tenant=`` replaces
it; ``None`` keeps it, so a bound store cannot be widened by omission) and its
:class:`TenantMode`. In ``strict`` mode a call without a tenant raises
:class:`~milvus_plugins.core.errors.TenantRequiredError` and a raw expression string
raises :class:`~milvus_plugins.core.errors.RawFilterRefusedError`; in the default
``optional`` mode a raw string is allowed next to a tenant only when its parentheses
balance (outside string literals), so it cannot close the parenthesis it is compiled in.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from milvus_plugins.core.arguments import as_list
from milvus_plugins.core.config import CollectionSpec
from milvus_plugins.core.errors import (
    ConfigError,
    InvalidInputError,
    RawFilterRefusedError,
    TenantMismatchError,
    TenantRequiredError,
    shown,
)
from milvus_plugins.core.fields import MetadataField
from milvus_plugins.core.filters import Filter, Raw, and_, eq, leaves
from milvus_plugins.core.filters.tree import raw_is_confined
from milvus_plugins.core.names import check_name
from milvus_plugins.core.records import OwnedRecords, Record
from milvus_plugins.core.types import ParsableEnum, ScalarType

__all__ = [
    "DEFAULT_PARTITION",
    "Scope",
    "Tenancy",
    "TenantMode",
    "check_partition_names",
    "given_records",
    "raw_is_confined",
    "refuse_missing_partitions",
    "refuse_unscoped_admin",
    "resolve_scope",
]

Tenant = str | int

DEFAULT_PARTITION = "_default"
"""The partition Milvus writes a row into when the call names none."""


class TenantMode(ParsableEnum):
    """Whether calls on a partition-key collection must name a tenant.

    ``OPTIONAL`` (default): a call without a tenant sees every tenant. ``STRICT``: a
    call without a tenant, and any raw expression string, is refused before any I/O.
    """

    OPTIONAL = "optional"
    STRICT = "strict"


def check_partition_names(value: Any, field: str = "partition_names") -> tuple[str, ...] | None:
    """Return ``value`` as a tuple of checked partition names (``None``: every partition).

    Raises:
        InvalidInputError: a single string instead of a list.
        ConfigError: an empty list, or a name Milvus would refuse (or Milvus Lite would
            turn into a path outside the database).
    """
    if value is None:
        return None
    names = as_list(value, field, of="partition names")
    if not names:
        raise ConfigError(
            f"{field}=[] names no partition; pass None to use every partition of the collection."
        )
    return tuple(check_name(f"{field}[{i}]", n) for i, n in enumerate(names))


def refuse_missing_partitions(
    collection: str, names: Sequence[str], present: Sequence[str]
) -> None:
    """Refuse a call scoped to partitions of which some are not in ``present``.

    Raises:
        InvalidInputError: names the missing partitions and those the collection has
            (nothing was read or deleted).
    """
    missing = list(dict.fromkeys(n for n in names if n not in present))
    if missing:
        raise InvalidInputError(
            f"partition_names={shown(list(names))}: collection {shown(collection)} has no "
            f"partition {', '.join(shown(n) for n in missing)} (it has "
            f"{', '.join(shown(n) for n in present)}). Nothing was read or deleted. Name "
            "existing partitions (list_partitions()), or create_partition() first."
        )


def _check_tenant(spec: CollectionSpec, tenant: Any, field: str) -> Tenant:
    key = spec.partition_key
    declared = spec.declared(key) if key is not None else None
    if key is not None and declared is None:
        # Not declared: the type is read from the collection when it is opened (or taken
        # from the creating write). Until then a tenant of either kind; one of the wrong
        # kind is refused there (a filter on it, a row stamped with it).
        if isinstance(tenant, bool) or not isinstance(tenant, (str, int)):
            raise ConfigError(
                f"{field}={shown(tenant)} must be a non-empty string or an int (a value of "
                f"partition key {shown(key)})."
            )
        declared = MetadataField(
            name=key,
            type=ScalarType.VARCHAR if isinstance(tenant, str) else ScalarType.INT64,
            max_length=65535,
        )
    if key is None or declared is None:
        raise ConfigError(
            f"{field}={shown(tenant)} needs a collection with a partition key: declare the tenant "
            "field in metadata_fields and name it in partition_key= (e.g. metadata_fields="
            "{'tenant': 'VARCHAR'}, partition_key='tenant'); for an existing collection that "
            "has one (e.g. langchain-milvus' partition_key_field=), name it in partition_key= "
            "(its type is read from the collection)."
        )
    if declared.scalar_type is ScalarType.INT64:
        if isinstance(tenant, bool) or not isinstance(tenant, int):
            raise ConfigError(
                f"{field}={shown(tenant)} must be an int: partition key {shown(key)} is INT64."
            )
        if not -(2**63) <= tenant < 2**63:
            raise ConfigError(
                f"{field}={shown(tenant)} is outside the int64 range of partition key "
                f"{shown(key)} ([-2**63, 2**63 - 1])."
            )
        return int(tenant)
    if not isinstance(tenant, str) or not tenant:
        raise ConfigError(
            f"{field}={shown(tenant)} must be a non-empty string: partition key {shown(key)} "
            "is VARCHAR."
        )
    try:
        encoded = tenant.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError(
            f"{field}={shown(tenant)} holds a character UTF-8 cannot encode (a lone "
            "surrogate, e.g. from a file name that was not UTF-8); Milvus stores UTF-8: "
            "give the tenant as valid text."
        ) from None
    if len(encoded) > declared.max_length:
        raise ConfigError(
            f"{field}={shown(tenant)} is longer than partition key {shown(key)}'s max_length "
            f"({declared.max_length} bytes)."
        )
    return tenant


@dataclass(frozen=True, kw_only=True)
class Tenancy:
    """A store's tenant defaults.

    Attributes:
        tenant: the tenant every call is scoped to unless it names another (``None``:
            none; then, in ``optional`` mode, calls see every tenant).
        mode: ``"optional"`` or ``"strict"`` (see :class:`TenantMode`).
    """

    tenant: Tenant | None = None
    mode: TenantMode | str = TenantMode.OPTIONAL

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", TenantMode.parse(self.mode, field="tenant_mode"))
        if self.tenant is not None and (
            isinstance(self.tenant, bool) or not isinstance(self.tenant, (str, int))
        ):
            raise ConfigError(f"tenant={shown(self.tenant)} must be a string or an int.")

    @property
    def strict(self) -> bool:
        """Whether calls without a tenant are refused."""
        return self.mode is TenantMode.STRICT

    def check(self, spec: CollectionSpec) -> None:
        """Check the defaults against the collection (no I/O).

        Raises:
            ConfigError: a tenant, or strict mode, on a collection without a partition
                key; a tenant of the wrong type.
        """
        if self.tenant is not None:
            _check_tenant(spec, self.tenant, "tenant")
        elif self.strict and spec.partition_key is None:
            raise ConfigError(
                "tenant_mode='strict' needs a collection with a partition key (partition_key=)."
            )


@dataclass(frozen=True, kw_only=True)
class Scope:
    """What one call may touch (resolved by :func:`resolve_scope`).

    Attributes:
        partition_names: the partitions to read or delete in (``None``: all).
        partition_name: the partition a write goes into (``None``: the default one, or
            the partition key's routing).
        tenant: the tenant the call is scoped to (``None``: none).
        key: the partition-key field the tenant is compared with.
        strict: refuse raw expression strings.
    """

    partition_names: tuple[str, ...] | None = None
    partition_name: str | None = None
    tenant: Tenant | None = None
    key: str | None = None
    strict: bool = False

    @property
    def is_open(self) -> bool:
        """Whether the call may touch every row (no tenant, no partitions)."""
        return self.tenant is None and self.partition_names is None

    def where(self, where: Filter | None) -> Filter | None:
        """``where`` restricted to the tenant (a tree; the tenant value is escaped).

        Raises:
            RawFilterRefusedError: a raw expression in strict mode (one whose
                parentheses do not balance is refused when its ``Raw`` node is built).
        """
        if where is not None and self.strict:
            _refuse_raw(where)
        if self.tenant is None or self.key is None:
            return where
        own = eq(self.key, self.tenant)
        return own if where is None else and_(own, where)

    def check_filter(self, where: Filter | str | None) -> None:
        """Refuse, before embedding or any I/O, a filter :meth:`where` would refuse.

        Raises:
            RawFilterRefusedError: see :meth:`where`.
        """
        tree = Raw(where) if isinstance(where, str) else where
        if tree is not None:
            self.where(tree)

    def read_kwargs(self) -> dict[str, Any]:
        """The keyword arguments a query/search/hybrid_search call gets."""
        return (
            {} if self.partition_names is None else {"partition_names": list(self.partition_names)}
        )

    def write_kwargs(self) -> dict[str, Any]:
        """The keyword arguments an insert/upsert call gets."""
        return {} if self.partition_name is None else {"partition_name": self.partition_name}

    def stamp(self, records: Sequence[Record]) -> list[Record]:
        """Copies of ``records`` with the tenant in the partition-key field.

        Raises:
            TenantMismatchError: a record whose partition-key value names another
                tenant (nothing is written).
        """
        if self.tenant is None or self.key is None:
            return _copies(records)
        out = []
        for record in records:
            if not isinstance(record, Record) or not isinstance(record.metadata, Mapping):
                return _copies(records)  # the write's own validation names the bad item
            current = record.metadata.get(self.key)
            if current is not None and (
                isinstance(current, bool)
                or isinstance(current, str) != isinstance(self.tenant, str)
            ):
                # True == 1: a bool must not pass for an INT64 tenant (and be rewritten);
                # "1" != 1 is refused here with a fix that exists.
                raise TenantMismatchError(
                    f"record {shown(record.id)}: metadata[{shown(self.key)}]={shown(current)} "
                    f"is a {type(current).__name__}, and this collection's tenants are "
                    f"{type(self.tenant).__name__}s (this call's tenant={shown(self.tenant)}); "
                    f"leave {shown(self.key)} out: the call's tenant is written into it."
                )
            if current is not None and current != self.tenant:
                raise TenantMismatchError(
                    f"record {shown(record.id)}: metadata[{shown(self.key)}]={shown(current)} "
                    f"names another tenant than this call's tenant={shown(self.tenant)}; "
                    f"write it with tenant={shown(current)} or leave {shown(self.key)} out."
                )
            out.append(replace(record, metadata={**record.metadata, self.key: self.tenant}))
        return out


def given_records(records: Any) -> list[Record]:
    """A write's ``records`` argument as a list: an adapter's :class:`OwnedRecords` as it
    is (:meth:`Scope.stamp` does not copy those), anything else through :func:`as_list`.

    Raises:
        InvalidInputError: ``records`` is a single string, a mapping or not iterable.
    """
    if type(records) is OwnedRecords:
        return records
    return as_list(records, "records", of="Record objects")


def _copies(records: Sequence[Record]) -> list[Record]:
    """Shallow copies of the records (anything else as it is, for the write's checks to
    name): the write puts its checked vectors and converted metadata into these, never
    into the caller's records. An adapter's :class:`OwnedRecords` are the write's own:
    returned as they are."""
    if type(records) is OwnedRecords:
        return records
    return [_copy_record(r) if isinstance(r, Record) else r for r in records]


def _copy_record(record: Record) -> Record:
    """A shallow copy of ``record`` (its fields' values shared). A plain ``Record`` is
    copied without ``copy.copy``'s protocol lookups: a write copies every record it is
    given."""
    if type(record) is not Record:  # a subclass may keep its fields in slots
        return copy.copy(record)
    # Attribute by attribute: reading ``__dict__`` would make CPython allocate a dict
    # for the caller's record and one for the copy (two more objects per record for
    # the garbage collector to walk during the write).
    copied: Record = object.__new__(Record)
    copied.id = record.id
    copied.text = record.text
    copied.vector = record.vector
    copied.metadata = record.metadata
    copied.sparse = record.sparse
    copied.doc_id = record.doc_id
    copied.extra = record.extra
    copied.vectors = record.vectors  # (every field: tests/unit/test_record_copies.py)
    return copied


def _refuse_raw(where: Filter) -> None:
    """Refuse any non-blank raw expression in ``where`` (strict tenant mode)."""
    for node in leaves(where):
        if isinstance(node, Raw) and node.expression.strip():
            raise RawFilterRefusedError(
                f"raw filter expression {shown(node.expression)} refused: tenant_mode='strict' "
                "takes filter dicts, MetadataFilters or core filter trees only (their values "
                "are escaped); build the filter with eq(), and_() ..."
            )


def resolve_scope(
    spec: CollectionSpec,
    tenancy: Tenancy,
    *,
    tenant: Any = None,
    partition_names: Any = None,
    partition_name: Any = None,
) -> Scope:
    """Resolve one call's scope from its arguments and the store's defaults (no I/O).

    Args:
        spec: the collection.
        tenancy: the store's tenant defaults.
        tenant: the call's tenant (``None``: the store's).
        partition_names: the partitions to read or delete in (``None``: all).
        partition_name: the partition a write goes into.

    Raises:
        ConfigError: a partition name Milvus would refuse; named partitions on a
            collection with a partition key; a tenant on one without it, or of the
            wrong type.
        TenantRequiredError: strict mode and no tenant.
    """
    names = check_partition_names(partition_names)
    target = None if partition_name is None else check_name("partition_name", partition_name)
    if spec.partition_key is not None and (names is not None or target is not None):
        raise ConfigError(
            f"partition names cannot be given for collection {shown(spec.name)}: its partition "
            f"key {shown(spec.partition_key)} routes rows to partitions (Milvus refuses both); "
            "scope the call with tenant= instead."
        )
    chosen = tenancy.tenant if tenant is None else tenant
    if chosen is not None:
        chosen = _check_tenant(spec, chosen, "tenant")
    elif tenancy.strict:
        raise TenantRequiredError(
            f"collection {shown(spec.name)} is in strict tenant mode: pass tenant= (a value of "
            f"partition key {shown(spec.partition_key)}) to every call, or give the store one."
        )
    if target is not None and names is not None:
        raise InvalidInputError("give partition_name= (a write) or partition_names=, not both.")
    return Scope(
        partition_names=names,
        partition_name=target,
        tenant=chosen,
        key=spec.partition_key,
        strict=tenancy.strict,
    )


def refuse_unscoped_admin(tenancy: Tenancy, what: str) -> None:
    """Refuse an operation on every tenant's rows (``drop()``) from a store bound to tenants.

    Raises:
        TenantRequiredError: ``tenancy`` has a tenant or is strict.
    """
    if tenancy.tenant is not None or tenancy.strict:
        mode = TenantMode.parse(tenancy.mode, field="tenant_mode").value
        raise TenantRequiredError(
            f"{what} would remove every tenant's rows, and this store is scoped to tenants "
            f"(tenant={shown(tenancy.tenant)}, tenant_mode={shown(mode)}); use clear() for "
            "the tenant's rows, or a store without tenant settings."
        )
