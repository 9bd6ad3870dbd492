"""Collection properties set at creation: TTL, mmap, shards and replicas (pure).

:class:`CollectionProperties` is validated before any I/O. :func:`create_kwargs` and
:func:`load_kwargs` say what ``create_collection`` and ``load_collection`` receive;
:func:`check_properties` compares a described collection with the asked-for values and
raises :class:`SchemaMismatchError` the way the schema check does;
:func:`described_properties` reads them back for ``stats``.

What each engine does with them (measured on Milvus Lite 3.2.2, Milvus Lite 2.5.1 and
Milvus 2.3.5; :func:`check_properties_supported` refuses the rest before any I/O):

================  ===============  ======================  ==========================
property          Milvus 2.3.5     Milvus Lite 3.2.2       Milvus Lite 2.5.1
================  ===============  ======================  ==========================
``ttl_seconds``   stored, applied  stored, never applied:  dropped silently: refused
                                   refused                 (UnsupportedByServerError)
``mmap``          refused (2.4+)   stored, no effect       dropped silently: refused
                                   (in-memory engine)
``num_shards``    applied          ignored (one shard)     ignored (one shard)
``replicas``      applied (needs   ignored                 ignored
                  that many query
                  nodes)
================  ===============  ======================  ==========================

Shards, replicas and mmap only change how a collection is served, never which rows a
call returns, so an engine with one process ignoring them loses nothing; a TTL changes
which rows exist, so it is refused where it would not be applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from milvus_plugins.core.errors import (
    ConfigError,
    SchemaMismatchError,
    UnsupportedByServerError,
    shown,
)

if TYPE_CHECKING:  # config imports this module; capabilities imports the filters (-> config)
    from milvus_plugins.core.capabilities import Capabilities

__all__ = [
    "MAX_SHARDS",
    "MMAP_KEY",
    "TTL_KEY",
    "CollectionProperties",
    "check_properties",
    "check_properties_supported",
    "coerce_properties",
    "create_kwargs",
    "described_properties",
    "load_kwargs",
]

TTL_KEY = "collection.ttl.seconds"
MMAP_KEY = "mmap.enabled"
MAX_SHARDS = 16  # Milvus' default rootCoord.maxShardNum (the server refuses more)
TTL_MINIMUM = "2.2.0"
MMAP_MINIMUM = "2.4.0"


def _positive_int(name: str, value: Any, *, upper: int | None = None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name}={shown(value)} must be a positive integer or None.")
    if upper is not None and value > upper:
        raise ConfigError(f"{name}={value} must be at most {upper}.")


@dataclass(frozen=True, kw_only=True)
class CollectionProperties:
    """How a collection is kept and served, set when it is created.

    ``None`` leaves a property to the engine's default (and out of the open check).

    Attributes:
        ttl_seconds: rows expire this many seconds after they were written (Milvus
            ``collection.ttl.seconds``; the server drops them at compaction).
        mmap: memory-map the collection's data instead of loading it into memory
            (Milvus ``mmap.enabled``; Milvus >= 2.4).
        num_shards: shards (write channels) of the collection, 1 to 16.
        replicas: in-memory replicas the collection is loaded with (each needs a
            query node of its own).

    Raises:
        ConfigError: a value that is not a positive integer (or a bool for ``mmap``).
    """

    ttl_seconds: int | None = None
    mmap: bool | None = None
    num_shards: int | None = None
    replicas: int | None = None

    def __post_init__(self) -> None:
        _positive_int("properties.ttl_seconds", self.ttl_seconds)
        _positive_int("properties.num_shards", self.num_shards, upper=MAX_SHARDS)
        _positive_int("properties.replicas", self.replicas)
        if self.mmap is not None and not isinstance(self.mmap, bool):
            raise ConfigError(f"properties.mmap={shown(self.mmap)} must be True, False or None.")

    def as_dict(self) -> dict[str, Any]:
        """The properties that are set, by field name."""
        return {
            f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None
        }


def coerce_properties(
    value: CollectionProperties | Mapping[str, Any] | None,
) -> CollectionProperties:
    """Accept a :class:`CollectionProperties`, a mapping of its fields, or ``None``.

    Raises:
        ConfigError: an unknown key or an invalid value.
    """
    if value is None:
        return CollectionProperties()
    if isinstance(value, CollectionProperties):
        return value
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"properties={shown(value)} must be a CollectionProperties or a dict such as "
            "{'ttl_seconds': 86400}."
        )
    known = {f.name for f in fields(CollectionProperties)}
    unknown = sorted(str(k) for k in set(value) - known)
    if unknown:
        raise ConfigError(f"properties {unknown} are unknown; use {sorted(known)}.")
    return CollectionProperties(**dict(value))


def check_properties_supported(props: CollectionProperties, caps: Capabilities) -> None:
    """Refuse, before any I/O, a property the engine would drop or not apply.

    Raises:
        UnsupportedByServerError: a TTL where rows would never expire (Milvus Lite) or
            properties would be dropped (Milvus Lite 2.5); mmap before Milvus 2.4.
    """
    if props.ttl_seconds is not None and not caps.collection_ttl:
        raise UnsupportedByServerError(
            "collection TTL (properties.ttl_seconds)",
            TTL_MINIMUM,
            caps.version,
            needs=f"a Milvus server >= {TTL_MINIMUM} (Milvus Lite keeps the rows forever)",
        )
    if props.mmap is not None and not caps.collection_mmap:
        raise UnsupportedByServerError(
            "collection mmap (properties.mmap)", MMAP_MINIMUM, caps.version
        )


def create_kwargs(props: CollectionProperties, caps: Capabilities) -> dict[str, Any]:
    """The ``create_collection`` keyword arguments for ``props`` on this engine."""
    out: dict[str, Any] = {}
    properties: dict[str, Any] = {}
    if props.ttl_seconds is not None:
        properties[TTL_KEY] = props.ttl_seconds
    if props.mmap is not None:
        properties[MMAP_KEY] = props.mmap
    if properties:
        out["properties"] = properties
    if props.num_shards is not None and caps.shards:
        out["num_shards"] = props.num_shards
    return out


def load_kwargs(props: CollectionProperties, caps: Capabilities) -> dict[str, Any]:
    """The ``load_collection`` keyword arguments (the replica count where it applies)."""
    if props.replicas is not None and caps.replicas:
        return {"replica_number": props.replicas}
    return {}


def _text(value: Any) -> str:
    return str(value).strip().lower()


def described_properties(description: Mapping[str, Any], caps: Capabilities) -> dict[str, Any]:
    """TTL, mmap and shard count as a described collection reports them (for stats)."""
    raw = description.get("properties") or {}
    out: dict[str, Any] = {}
    if TTL_KEY in raw:
        try:
            out["ttl_seconds"] = int(raw[TTL_KEY])
        except (TypeError, ValueError):
            out["ttl_seconds"] = raw[TTL_KEY]
    if MMAP_KEY in raw:
        out["mmap"] = _text(raw[MMAP_KEY]) == "true"
    shards = description.get("num_shards")
    if caps.shards and isinstance(shards, int) and shards > 0:
        out["num_shards"] = shards
    return out


def check_properties(
    name: str, props: CollectionProperties, description: Mapping[str, Any], caps: Capabilities
) -> None:
    """Compare the asked-for properties with a described collection.

    Only properties that were asked for and that the engine reports are compared;
    replicas are a load setting, applied on every open, not a stored one.

    Raises:
        SchemaMismatchError: a TTL, mmap or shard count differs; the message names it
            and the fix.
    """
    found = described_properties(description, caps)
    wanted = {
        "ttl_seconds": props.ttl_seconds,
        "mmap": props.mmap,
        "num_shards": props.num_shards if caps.shards else None,
    }
    for key, value in wanted.items():
        if value is None:
            continue
        existing = found.get(key, "unset" if key != "num_shards" else None)
        if existing is None or existing == value:
            continue
        raise SchemaMismatchError(
            f"collection {shown(name)} has {key}={shown(existing)} but properties.{key}="
            f"{shown(value)} was asked for; open it with properties.{key}={shown(existing)} "
            "(or leave it unset), use another collection_name, or pass drop_old=True to "
            "delete it and recreate it."
        )
