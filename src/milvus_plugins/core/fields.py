"""The fields of a collection layout: the canonical :class:`FieldNames`, declared typed
:class:`MetadataField` columns and named :class:`DenseField` vectors, each validated on
construction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from milvus_plugins.core.errors import ConfigError, shown
from milvus_plugins.core.indexes import IndexConfig, index_from_dict
from milvus_plugins.core.names import check_name
from milvus_plugins.core.types import MetricType, ScalarType

__all__ = [
    "DenseField",
    "FieldNames",
    "MetadataField",
    "check_vector_settings",
    "coerce_metadata_fields",
    "coerce_vector_fields",
]


@dataclass(frozen=True, kw_only=True)
class FieldNames:
    """Names of the canonical fields (change them to fit an existing naming scheme)."""

    id: str = "id"
    text: str = "text"
    vector: str = "vector"
    sparse: str = "sparse"
    metadata: str = "metadata"
    doc_id: str = "doc_id"
    extra: str = "extra"

    def __post_init__(self) -> None:
        values = [getattr(self, f.name) for f in fields(self)]
        for f in fields(self):
            check_name(f"field_names.{f.name}", getattr(self, f.name))
        if len(set(values)) != len(values):
            raise ConfigError(f"field names must be distinct; got {values}.")

    def all(self) -> tuple[str, ...]:
        """Every canonical field name."""
        return tuple(getattr(self, f.name) for f in fields(self))


@dataclass(frozen=True, kw_only=True)
class MetadataField:
    """A declared metadata key stored as a typed column (fast filters, scalar index).

    Attributes:
        name: the metadata key, which is also the column name.
        type: INT64, DOUBLE, BOOL, VARCHAR or ARRAY.
        element_type: for ARRAY, the element type (INT64, DOUBLE, BOOL or VARCHAR).
        max_length: for VARCHAR (and VARCHAR arrays), the maximum length in bytes.
        max_capacity: for ARRAY, the maximum number of elements.
        index: build a scalar index on the column where the server supports it.
    """

    name: str
    type: ScalarType | str
    element_type: ScalarType | str | None = None
    max_length: int = 1024
    max_capacity: int = 64
    index: bool = True

    def __post_init__(self) -> None:
        check_name("metadata_fields.name", self.name)
        kind = ScalarType.parse(self.type, field=f"metadata_fields[{shown(self.name)}].type")
        object.__setattr__(self, "type", kind)
        if kind is ScalarType.ARRAY:
            if self.element_type is None:
                raise ConfigError(
                    f"metadata field {shown(self.name)} is an ARRAY; give element_type "
                    "(INT64, DOUBLE, BOOL or VARCHAR)."
                )
            element = ScalarType.parse(
                self.element_type, field=f"metadata_fields[{shown(self.name)}].element_type"
            )
            if element is ScalarType.ARRAY:
                raise ConfigError(
                    f"metadata field {shown(self.name)}: arrays of arrays are not allowed."
                )
            object.__setattr__(self, "element_type", element)
        elif self.element_type is not None:
            raise ConfigError(
                f"element_type is only for ARRAY fields ({shown(self.name)} is {kind})."
            )
        if not 1 <= self.max_length <= 65535:
            raise ConfigError(f"max_length={self.max_length} must be in [1, 65535].")
        if not 1 <= self.max_capacity <= 4096:
            raise ConfigError(f"max_capacity={self.max_capacity} must be in [1, 4096].")

    @property
    def scalar_type(self) -> ScalarType:
        """The column type as an enum member."""
        kind = self.type  # made an enum member by __post_init__ (read once per value written)
        return kind if isinstance(kind, ScalarType) else ScalarType.parse(kind, field="type")

    @property
    def element_scalar_type(self) -> ScalarType | None:
        """The ARRAY element type as an enum member, or ``None``."""
        element = self.element_type
        if element is None or isinstance(element, ScalarType):
            return element
        return ScalarType.parse(element, field="element_type")


def coerce_metadata_fields(
    value: Sequence[MetadataField] | Mapping[str, Any] | None,
) -> tuple[MetadataField, ...]:
    if value is None:
        return ()
    if isinstance(value, Mapping):
        out = []
        for name, spec in value.items():
            if isinstance(spec, MetadataField):
                out.append(spec)
            elif isinstance(spec, Mapping):
                out.append(_field_from_mapping(name, spec))
            else:
                out.append(MetadataField(name=name, type=spec))
        return tuple(out)
    return tuple(value)


def _field_from_mapping(name: Any, spec: Mapping[str, Any]) -> MetadataField:
    """``metadata_fields={name: {"type": ..., ...}}``'s entry as a :class:`MetadataField`.

    Raises:
        ConfigError: a key ``MetadataField`` does not take, or no ``type``.
    """
    known = [f.name for f in fields(MetadataField) if f.name != "name"]
    unknown = [key for key in spec if key not in known]
    if unknown or "type" not in spec:
        problem = f"unknown key {shown(unknown[0])}" if unknown else "no 'type'"
        raise ConfigError(
            f"metadata_fields[{shown(name)}]={shown(dict(spec))} has {problem}; an entry "
            f"takes {', '.join(known)} (type required), e.g. "
            "{'type': 'VARCHAR', 'max_length': 64}."
        )
    return MetadataField(name=name, **spec)


def check_vector_settings(
    where: str, dim: Any, index: Any, metric: Any
) -> tuple[IndexConfig | None, MetricType]:
    """Validate a dense vector's dimension, index and metric; return the index and metric.

    ``where`` prefixes the settings' names in messages (``""`` for the canonical field,
    ``"vector_fields['title']."`` for a named one). A str or dict index becomes an
    :class:`IndexConfig`. An index that names no metric (``"FLAT"``, ``HnswIndex()``,
    ``{"index_type": "HNSW", "M": 8}``) is built with ``metric``; an index that names
    one sets the metric when ``metric`` is the default ``COSINE`` (an explicit
    ``COSINE`` cannot be told from the default).

    Raises:
        ConfigError: a dimension outside [1, 32768], an index of another type, the BM25
            metric (it is for the sparse field), an index whose own metric differs from
            a ``metric`` of ``IP`` or ``L2``, or an index that does not fit ``dim``.
    """
    if dim is not None and (
        isinstance(dim, bool) or not isinstance(dim, int) or not 1 <= dim <= 32768
    ):
        raise ConfigError(f"{where}dim={shown(dim)} must be an integer in [1, 32768].")
    if isinstance(index, (str, Mapping)):
        index = index_from_dict(index)
    elif index is not None and not isinstance(index, IndexConfig):
        raise ConfigError(
            f"{where}index={shown(index)} must be an IndexConfig, a dict or a type name."
        )
    parsed = MetricType.parse(metric, field=f"{where}metric")
    if parsed is MetricType.BM25:
        raise ConfigError(f"{where}metric='BM25' is for the sparse field; use COSINE, IP or L2.")
    if index is not None and not index.metric_given:
        index = replace(index, metric=parsed)  # the index takes the caller's metric
    elif index is not None:
        own = index.metric_type
        if parsed is not MetricType.COSINE and own is not parsed:
            raise ConfigError(
                f"{where}metric={parsed.value!r} conflicts with the metric of "
                f"{where}index ({index.index_type.value} with metric={own.value!r}); give the "
                f"metric once: drop metric=, or build the index with metric={parsed.value!r} "
                "(or with no metric: it then takes metric=)."
            )
        parsed = own
    if parsed is MetricType.BM25:
        raise ConfigError(f"{where}metric='BM25' is for the sparse field; use COSINE, IP or L2.")
    if index is not None and dim is not None:
        index.validate_for(dim)
    return index, parsed


@dataclass(frozen=True, kw_only=True)
class DenseField:
    """A named dense vector field: one embedding model's vectors.

    A collection's dense fields are its canonical ``vector`` field (``CollectionSpec.dim``,
    ``metric``, ``index``) plus the named fields of ``CollectionSpec.vector_fields``,
    e.g. a ``title`` embedding beside the body's, or a second model's vectors. Each is
    written from ``Record.vectors[name]``, searched by name, and fused with the others
    in an N-leg hybrid search.

    Attributes:
        name: the field name (a Milvus name, distinct from the canonical fields).
        dim: the dimension, or ``None`` until the first write gives it.
        metric: COSINE (default), IP or L2; an ``index`` naming no metric is built with
            it, one naming its own metric sets it (see :func:`check_vector_settings`).
        index: the index config (``None``: HNSW with a size-aware ef on Milvus Lite 3,
            FLAT on Lite 2.5, AUTOINDEX on servers).

    Raises:
        ConfigError: a bad name, dimension, metric or index.
    """

    name: str
    dim: int | None = None
    metric: MetricType | str = MetricType.COSINE
    index: IndexConfig | Mapping[str, Any] | str | None = None

    def __post_init__(self) -> None:
        check_name("vector_fields.name", self.name)
        where = f"vector_fields[{shown(self.name)}]."
        index, metric = check_vector_settings(where, self.dim, self.index, self.metric)
        object.__setattr__(self, "index", index)
        object.__setattr__(self, "metric", metric)

    @property
    def metric_type(self) -> MetricType:
        """The field's metric."""
        return MetricType.parse(self.metric, field="metric")

    @property
    def index_config(self) -> IndexConfig | None:
        """The field's index config, if one was given."""
        return self.index if isinstance(self.index, IndexConfig) else None


def coerce_vector_fields(value: Any) -> tuple[DenseField, ...]:
    if value is None:
        return ()
    if isinstance(value, Mapping):
        out = []
        for name, item in value.items():
            if isinstance(item, DenseField):
                out.append(item if item.name == name else replace(item, name=name))
            elif isinstance(item, Mapping):
                out.append(DenseField(name=name, **item))
            elif item is None or isinstance(item, int):
                out.append(DenseField(name=name, dim=item))
            else:
                raise ConfigError(
                    f"vector_fields[{shown(name)}]={shown(item)} must be a DenseField, a dict "
                    "of its settings, or a dimension."
                )
        return tuple(out)
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise ConfigError(
            f"vector_fields={shown(value)} must be a list of DenseField or a mapping "
            "name -> DenseField / dict / dimension."
        )
    for item in value:
        if not isinstance(item, DenseField):
            raise ConfigError(f"vector_fields item {shown(item)} must be a DenseField.")
    return tuple(value)
