"""An existing collection against a spec: :func:`check_existing` compares a described
collection with a spec and raises :class:`~milvus_plugins.core.errors.SchemaMismatchError`
saying how to fix it; :func:`spec_from_existing` reads the spec back from a collection (for
opening a collection whose dimension and metric the caller does not know).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, NoReturn

from pymilvus import DataType

from milvus_plugins.core.analyzers import described_analyzer, has_match
from milvus_plugins.core.config import CollectionSpec
from milvus_plugins.core.errors import (
    SchemaMismatchError,
    shown,
)
from milvus_plugins.core.fields import MetadataField
from milvus_plugins.core.indexes import (
    IndexConfig,
    described_index_config,
    reported_build_params,
)
from milvus_plugins.core.inference import accelerated_names, overflowed_keys
from milvus_plugins.core.layouts import bm25_outputs
from milvus_plugins.core.schema import DATATYPE_TO_SCALAR, SCALAR_TO_DATATYPE
from milvus_plugins.core.stats import partition_key_of
from milvus_plugins.core.types import IndexType, MetricType, ScalarType, SparseMode

__all__ = [
    "check_existing",
    "check_partition_key",
    "described_analyzer",
    "has_match",
    "resolve_partition_key",
    "spec_from_existing",
]


def _fields_by_name(description: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {f["name"]: f for f in description.get("fields", [])}


def _fix(spec: CollectionSpec) -> str:
    return (
        f"open collection {shown(spec.name)} with matching settings, use another collection_name, "
        "or pass drop_old=True to delete it and recreate it"
    )


def _check_field(
    fields: Mapping[str, Mapping[str, Any]], name: str, expected: Any, spec: CollectionSpec
) -> Mapping[str, Any]:
    field = fields.get(name)
    if field is None:
        # Most often another tool's collection: its rows are the user's, so reading it
        # comes first (drop_old would delete them).
        raise SchemaMismatchError(
            f"collection {shown(spec.name)} has no field {shown(name)} (fields: {sorted(fields)}): "
            "it is not in this store's layout. Read it through field_mapping=FieldMapping(id=..., "
            "text=..., vector=...) naming its fields, copy it into this layout with migrate, "
            "or use another collection_name (drop_old=True would delete its rows)."
        )
    if field.get("type") != expected:
        raise SchemaMismatchError(
            f"collection {shown(spec.name)} field {shown(name)} is "
            f"{_type_name(field.get('type'))}, expected {_type_name(expected)}; {_fix(spec)}."
        )
    return field


def _type_name(kind: Any) -> str:
    """A Milvus field type as its name (``VARCHAR``, not ``<DataType.VARCHAR: 21>``)."""
    name = getattr(kind, "name", None)
    return name if isinstance(name, str) else shown(kind)


def check_existing(
    spec: CollectionSpec,
    description: Mapping[str, Any],
    dense_index_description: Mapping[str, Any] | None,
    *,
    unreported_are_defaults: bool = False,
) -> CollectionSpec:
    """Check a described collection against ``spec``; return the spec with ``dim`` filled.

    ``unreported_are_defaults``: the engine built an index whose build parameters it does
    not report with its defaults (Milvus Lite 3; see :func:`_checked_index_type`).

    A sparse field (and text match) the collection has but ``spec`` did not ask for is
    adopted: a store opened with the default settings searches it.

    Raises:
        SchemaMismatchError: dimension, metric, a field, its type, the dense index's
            type or an explicit build parameter, or the BM25 function differs. The
            message names the difference and the fix.
    """
    names = spec.fields
    fields = _fields_by_name(description)
    _check_field(fields, names.id, DataType.VARCHAR, spec)
    _check_field(fields, names.text, DataType.VARCHAR, spec)
    _check_field(fields, names.metadata, DataType.JSON, spec)
    _check_field(fields, names.doc_id, DataType.VARCHAR, spec)
    _check_field(fields, names.extra, DataType.JSON, spec)
    spec = _check_vector_fields(spec, fields)
    if not spec.dense:
        return _check_rest(spec, description, fields)
    vector = _check_field(fields, names.vector, DataType.FLOAT_VECTOR, spec)
    dim = int(vector.get("params", {}).get("dim", 0))
    if spec.dim is not None and spec.dim != dim:
        raise SchemaMismatchError(
            f"collection {shown(spec.name)} stores dim={dim} vectors but dim={spec.dim} was asked "
            f"for (a different embedding model?); {_fix(spec)}."
        )
    if dense_index_description:
        metric = str(dense_index_description.get("metric_type", "")).upper()
        if metric and metric != spec.metric_type.value:
            raise SchemaMismatchError(
                f"collection {shown(spec.name)} uses metric {metric} but "
                f"{spec.metric_type.value} was "
                f"asked for; pass metric={shown(metric)}, or {_fix(spec)}."
            )
    spec = _checked_index_type(spec, description, dense_index_description, unreported_are_defaults)
    spec = replace(_check_rest(spec, description, fields), dim=dim)
    index = spec.index_config or _described_index(dense_index_description, spec.metric_type)
    return replace(spec, index=index)


def _checked_index_type(
    spec: CollectionSpec,
    description: Mapping[str, Any],
    described: Mapping[str, Any] | None,
    unreported_are_defaults: bool = False,
) -> CollectionSpec:
    """``spec``, unless its explicit ``index=`` is of another type than the collection's
    dense index: searching HNSW while the caller asked for FLAT (exact) would be silently
    approximate, with the wrong index's knobs. (``AUTOINDEX`` on either side is the
    server's choice: not compared.)

    Of the same type, a build parameter the explicit index sets away from its type's
    default (``IvfFlatIndex(nlist=1)``, ``HnswIndex(M=32)``) must be the one the index
    was built with, where the engine says (``unreported_are_defaults``: an unreported
    one was built with the default, as Milvus Lite 3 did whatever pymilvus asked for):
    ``nprobe=1`` of 128 lists instead of 1 silently returned fewer than ``k`` hits.

    Through an alias the collection's own index is used instead: a re-index moves the
    alias to a copy with another index, and the stores reading through it (and those
    started later with the same settings) keep working without a restart.
    """
    asked = spec.index_config
    built = str((described or {}).get("index_type") or "").upper()
    auto = IndexType.AUTOINDEX.value
    if asked is None or built in ("", auto) or asked.index_type is IndexType.AUTOINDEX:
        return spec
    same_type = built == asked.index_type.value
    differs = (
        _differing_build_param(asked, described or {}, unreported_are_defaults)
        if same_type
        else None
    )
    if same_type and differs is None:
        return spec
    if description.get("collection_name") not in (None, spec.name):
        return replace(spec, index=None)  # an alias: the index of what it names now
    if differs is not None:
        key, had, wanted, reported = differs
        unreported = "" if reported else " (the engine reports none: its default)"
        raise SchemaMismatchError(
            f"collection {shown(spec.name)}'s dense {built} index was built with "
            f"{key}={shown(had)}{unreported}, but {key}={shown(wanted)} was asked for; "
            "open it without "
            "index= (its own index is used), rebuild it without downtime with "
            f"reindex(index=...) (CLI: milvus-plugins reindex), or {_fix(spec)}."
        )
    raise SchemaMismatchError(
        f"collection {shown(spec.name)}'s dense index is {built}, but "
        f"index={asked.index_type.value} was asked for; open it without index= (its own "
        "index is used), change its index without downtime with reindex() (CLI: "
        f"milvus-plugins reindex), or {_fix(spec)}."
    )


def _differing_build_param(
    asked: IndexConfig, described: Mapping[str, Any], unreported_are_defaults: bool
) -> tuple[str, Any, Any, bool] | None:
    """The first build parameter ``asked`` sets away from its default that the described
    index was not built with: ``(name, built value, asked value, whether reported)``."""
    reported = reported_build_params(described, asked)
    defaults = type(asked)(metric=asked.metric).build_params()
    for key, wanted in asked.build_params().items():
        if wanted == defaults[key]:
            continue  # not set away from the default: not compared
        if key in reported:
            if reported[key] != wanted:
                return key, reported[key], wanted, True
        elif unreported_are_defaults:
            return key, defaults[key], wanted, False
    return None


def _check_vector_fields(
    spec: CollectionSpec, fields: Mapping[str, Mapping[str, Any]]
) -> CollectionSpec:
    """Check the named dense fields (and a sparse-only spec); fill unknown dimensions."""
    if not spec.dense and spec.fields.vector in fields:
        raise SchemaMismatchError(
            f"collection {shown(spec.name)} has a dense field {shown(spec.fields.vector)} but "
            f"was opened as sparse-only (dense=False); open it with its dense embedding, or "
            f"{_fix(spec)}."
        )
    dims = {}
    for dense in spec.extra_vector_fields:
        found = _check_field(fields, dense.name, DataType.FLOAT_VECTOR, spec)
        dim = int(found.get("params", {}).get("dim", 0))
        if dense.dim is not None and dense.dim != dim:
            raise SchemaMismatchError(
                f"collection {shown(spec.name)} field {shown(dense.name)} stores dim={dim} "
                f"vectors but dim={dense.dim} was asked for; {_fix(spec)}."
            )
        dims[dense.name] = dim
    return spec.with_vector_dims(dims)


def _check_rest(
    spec: CollectionSpec,
    description: Mapping[str, Any],
    fields: Mapping[str, Mapping[str, Any]],
) -> CollectionSpec:
    names = spec.fields
    has_bm25 = names.sparse in bm25_outputs(description)
    sparse_field = fields.get(names.sparse)
    if (
        spec.sparse_mode is SparseMode.NONE
        and sparse_field is not None
        and sparse_field.get("type") == DataType.SPARSE_FLOAT_VECTOR
    ):
        # A store that asked for no sparse field opens a collection that has one: adopt
        # it (server BM25 or client vectors), as its text match is adopted below, so
        # keyword and hybrid search work on it and writes fill it as its creator did.
        spec = _with_sparse(spec, has_bm25, fields.get(names.text, {}))
    if spec.has_sparse:
        _check_field(fields, names.sparse, DataType.SPARSE_FLOAT_VECTOR, spec)
    if spec.sparse_mode is SparseMode.BM25 and not has_bm25:
        raise SchemaMismatchError(
            f"collection {shown(spec.name)} has no BM25 function on {shown(names.text)}; "
            f"it was created without sparse='bm25'; {_fix(spec)}."
        )
    text_field = fields.get(names.text, {})
    matchable = has_match(text_field)
    if spec.text_match and not matchable:
        raise SchemaMismatchError(
            f"collection {shown(spec.name)} was created without text match on "
            f"{shown(names.text)} (text_match=True was asked for; a field cannot gain it "
            f"later); open it with text_match=False, or {_fix(spec)}."
        )
    if (spec.sparse_mode is SparseMode.BM25 and has_bm25) or spec.text_match:
        _check_analyzer(spec, text_field)
    if spec.sparse_mode is SparseMode.CLIENT and has_bm25:
        raise SchemaMismatchError(
            f"collection {shown(spec.name)} computes sparse vectors with the BM25 function; "
            "open it with sparse='bm25'."
        )
    accelerated = _accelerated_columns(description, fields)
    for decl in spec.declared_fields:
        _check_field(fields, decl.name, SCALAR_TO_DATATYPE[decl.scalar_type], spec)
        if any(c.name == decl.name for c in accelerated):
            raise SchemaMismatchError(
                f"collection {shown(spec.name)} keeps {shown(decl.name)} in its metadata "
                f"JSON with an accelerator column; do not declare it (filters on it use the "
                f"column already), or {_fix(spec)}."
            )
    _check_num_partitions(spec, description)
    # Typed columns the caller did not declare (declared by whoever created the collection,
    # or inferred as strict columns by an older release) are adopted: a key with such a
    # column must be written to and filtered on it, or its values would be split between
    # two places. Accelerator columns (listed in the collection's properties) are not
    # declared fields: the JSON holds every value.
    extra = _undeclared_columns(spec, fields, {c.name for c in accelerated})
    if extra:
        spec = replace(spec, metadata_fields=(*spec.declared_fields, *extra))
    if matchable and not spec.text_match:
        # A collection created with text match keeps it: adopt it (and its analyzer) so
        # that text_match filters compile for a store that did not ask for it.
        analyzer = spec.analyzer if spec.analyzer is not None else described_analyzer(text_field)
        spec = replace(spec, text_match=True, analyzer=analyzer)
    spec = replace(
        spec,
        accelerated_fields=accelerated,
        overflowed_keys=overflowed_keys(description),
    )
    return _with_described_lengths(spec, fields)


def _with_sparse(
    spec: CollectionSpec, has_bm25: bool, text_field: Mapping[str, Any]
) -> CollectionSpec:
    """``spec`` with the sparse field of the collection it opens (BM25 with the text
    field's analyzer, or client sparse vectors)."""
    if not has_bm25:
        return replace(spec, sparse=SparseMode.CLIENT, sparse_index=None)
    analyzer = spec.analyzer if spec.analyzer is not None else described_analyzer(text_field)
    return replace(spec, sparse=SparseMode.BM25, sparse_index=None, analyzer=analyzer)


def _with_described_lengths(
    spec: CollectionSpec, fields: Mapping[str, Mapping[str, Any]]
) -> CollectionSpec:
    """``spec`` with the id and text limits the collection was created with (the checks
    of a write must use the server's, or a longer value fails there, after earlier
    batches were written)."""
    names = spec.fields
    return replace(
        spec,
        id_max_length=_max_length(fields.get(names.id), spec.id_max_length),
        text_max_length=_max_length(fields.get(names.text), spec.text_max_length),
    )


def _max_length(field: Mapping[str, Any] | None, default: int) -> int:
    try:
        value = int(((field or {}).get("params") or {}).get("max_length", 0))
    except (TypeError, ValueError):
        return default
    return value if 1 <= value <= 65535 else default


def _check_num_partitions(spec: CollectionSpec, description: Mapping[str, Any]) -> None:
    if spec.num_partitions is None:
        return
    existing = description.get("num_partitions")
    if existing is not None and int(existing) != spec.num_partitions:
        raise SchemaMismatchError(
            f"collection {shown(spec.name)} hashes its partition key into {existing} partitions "
            f"but num_partitions={spec.num_partitions} was asked for (fixed at creation); "
            f"leave num_partitions out, or {_fix(spec)}."
        )


def _described_index(
    description: Mapping[str, Any] | None, metric: MetricType
) -> IndexConfig | None:
    """The index a collection was built with, when no index was asked for.

    Searches must use that index's knobs: a collection made with an earlier default
    (FLAT on Milvus Lite before HNSW) keeps being searched as FLAT.
    """
    return described_index_config(description, metric)


def _check_analyzer(spec: CollectionSpec, text_field: Mapping[str, Any]) -> None:
    existing = described_analyzer(text_field)
    if existing is None or existing == spec.analyzer_params:
        return
    raise SchemaMismatchError(
        f"collection {spec.name!r} tokenises {spec.fields.text!r} with analyzer "
        f"{existing} but {spec.analyzer_params} was asked for (its BM25/match index was built with "
        f"the former); pass that analyzer, open it with open_mode='adopt', or {_fix(spec)}."
    )


def _column(name: str, field: Mapping[str, Any]) -> MetadataField | None:
    scalar = DATATYPE_TO_SCALAR.get(field.get("type"))
    if scalar is None:
        return None
    params = field.get("params", {})
    element = DATATYPE_TO_SCALAR.get(field.get("element_type"))
    return MetadataField(
        name=name,
        type=scalar,
        element_type=element if scalar is ScalarType.ARRAY else None,
        max_length=int(params.get("max_length", 1024)),
        max_capacity=int(params.get("max_capacity", 64)),
    )


def _accelerated_columns(
    description: Mapping[str, Any], fields: Mapping[str, Mapping[str, Any]]
) -> tuple[MetadataField, ...]:
    """The accelerator columns a described collection lists in its properties."""
    out = []
    for name in accelerated_names(description):
        column = _column(name, fields[name]) if name in fields else None
        if column is not None and column.scalar_type is not ScalarType.ARRAY:
            out.append(column)
    return tuple(out)


def _undeclared_columns(
    spec: CollectionSpec, fields: Mapping[str, Mapping[str, Any]], accelerated: set[str]
) -> list[MetadataField]:
    """The described collection's typed scalar columns that ``spec`` does not declare."""
    known = set(spec.fields.all()) | {d.name for d in spec.declared_fields} | accelerated
    out = []
    for name, field in fields.items():
        column = _column(name, field) if name not in known else None
        if column is not None:
            out.append(column)
    return out


def _check_adopted_layout(spec: CollectionSpec, fields: Mapping[str, Mapping[str, Any]]) -> None:
    """Refuse to adopt a collection that lacks this package's own fields (or holds them
    with other types, e.g. an INT64 ``id``): read and written as this package's layout,
    its ids would not match and a write would add fields it does not have.

    Raises:
        SchemaMismatchError: naming the field and ``field_mapping``.
    """
    names = spec.fields
    wanted = {
        names.id: DataType.VARCHAR,
        names.text: DataType.VARCHAR,
        names.metadata: DataType.JSON,
        names.doc_id: DataType.VARCHAR,
        names.extra: DataType.JSON,
    }
    for name, kind in wanted.items():
        field = fields.get(name)
        found = None if field is None else field.get("type")
        if found == kind:
            continue
        what = (
            f"no field {shown(name)}" if field is None else f"{shown(name)} as {_type_name(found)}"
        )
        raise SchemaMismatchError(
            f"collection {shown(spec.name)} has {what} ({_type_name(kind)} {shown(name)} in "
            "this package's layout), so it was not made by this package: open_mode='adopt' reads "
            "only this package's layout. Read another tool's collection through its layout: "
            "field_mapping=FieldMapping(id=..., text=..., vector=...) in the adapters "
            f"(CollectionSpec(layout=...) in the core); fields: {sorted(fields)}."
        )


def check_partition_key(asked: CollectionSpec, description: Mapping[str, Any]) -> None:
    """Refuse, before an existing collection is adopted, a partition key it cannot have.

    A collection's partition key is fixed at creation: one named that the collection
    does not have is refused, never silently dropped or replaced.

    Raises:
        SchemaMismatchError: the collection's partition key is another field (servers
            report it; Milvus Lite 3.2.2 does not); or, for a key whose type was not
            declared, the collection has no INT64 / VARCHAR column of that name.
    """
    key = asked.partition_key
    if key is None:
        return
    fields = _fields_by_name(description)
    actual = partition_key_of(description)
    if actual is not None and actual != key:
        raise SchemaMismatchError(
            f"collection {shown(asked.name)}'s partition key is {shown(actual)}, but "
            f"partition_key={shown(key)} was asked for (a partition key is fixed at "
            f"creation); pass partition_key={shown(actual)}, or leave it out (the store "
            "reads it from the collection), or use another collection_name."
        )
    if asked.partition_key_pending:
        present = _column(key, fields[key]) if key in fields else None
        if present is None:
            _refuse_key(asked, description, f"is not one of its fields {sorted(fields)}")
        elif key in accelerated_names(description):
            _refuse_key(asked, description, "is an accelerator column there (nullable)")
        elif present.scalar_type not in (ScalarType.INT64, ScalarType.VARCHAR):
            _refuse_key(asked, description, f"is a {present.scalar_type.value} column there")


def _refuse_key(asked: CollectionSpec, description: Mapping[str, Any], what: str) -> NoReturn:
    key = shown(asked.partition_key)
    raise SchemaMismatchError(
        f"partition_key={key} cannot open collection {shown(asked.name)}: {key} {what}, "
        "and a partition key is a non-nullable INT64 or VARCHAR field fixed at creation. "
        "Name the field the collection was created with, or leave partition_key out "
        f"(filter on the key instead); to partition by {key}, create a new collection "
        "with it (another collection_name; migrate() copies the rows)."
    )


def resolve_partition_key(
    asked: CollectionSpec, opened: CollectionSpec, description: Mapping[str, Any]
) -> CollectionSpec:
    """``opened`` (the spec an existing collection was opened with, after
    :func:`check_partition_key`) keeping the partition key ``asked`` named, its type read
    from the collection when it was not declared; with none asked, the partition key the
    collection reports (servers do; Milvus Lite 3.2.2 does not).

    Raises:
        SchemaMismatchError: the key is not one of the columns the collection is read
            through (a mapping that leaves it out).
    """
    key = asked.partition_key
    if key is None:
        actual = partition_key_of(description)
        if actual is None or opened.partition_key is not None or opened.declared(actual) is None:
            return opened
        # The collection routes rows by a key the store was not told about: every write
        # needs its value (refused up front when missing), and tenant= can scope calls.
        return replace(opened, partition_key=actual)
    column = opened.declared(key)
    if column is None or column.scalar_type not in (ScalarType.INT64, ScalarType.VARCHAR):
        _refuse_key(asked, description, "is not a typed column it is read through")
    if opened.partition_key == key:
        return opened
    return replace(opened, partition_key=key)


def spec_from_existing(
    spec: CollectionSpec,
    description: Mapping[str, Any],
    dense_index_description: Mapping[str, Any] | None,
    *,
    unreported_are_defaults: bool = False,
) -> CollectionSpec:
    """Adopt dim, metric, index, sparse mode and declared fields from an existing collection.

    Fields the caller declared explicitly in ``spec`` are kept; the rest are read back.
    An explicit ``index=`` is checked as :func:`check_existing` does.
    """
    names = spec.fields
    fields = _fields_by_name(description)
    _check_adopted_layout(spec, fields)
    spec = _checked_index_type(spec, description, dense_index_description, unreported_are_defaults)
    has_bm25 = names.sparse in bm25_outputs(description)
    sparse = spec.sparse_mode
    if names.sparse in fields and sparse is SparseMode.NONE:
        sparse = SparseMode.BM25 if has_bm25 else SparseMode.CLIENT
    index: IndexConfig | None = spec.index_config
    metric = spec.metric_type
    if dense_index_description:
        metric = MetricType.parse(
            str(dense_index_description.get("metric_type") or metric.value), field="metric"
        )
        if index is None:
            index = described_index_config(dense_index_description, metric)
    accelerated = _accelerated_columns(description, fields)
    acc_names = {c.name for c in accelerated}
    declared = [
        *(d for d in spec.declared_fields if d.name not in acc_names),
        *_undeclared_columns(spec, fields, acc_names),
    ]
    partition_key = spec.partition_key or next(
        (n for n, f in fields.items() if f.get("is_partition_key")), None
    )
    analyzer = spec.analyzer
    text_match = spec.text_match or has_match(fields.get(names.text, {}))
    analyzed = sparse is SparseMode.BM25 or text_match
    if analyzed and analyzer is None:
        analyzer = described_analyzer(fields.get(names.text, {}))
    extra_dims = {
        f.name: int(fields.get(f.name, {}).get("params", {}).get("dim", 0))
        for f in spec.extra_vector_fields
        if f.name in fields
    }
    spec = spec.with_vector_dims({n: d for n, d in extra_dims.items() if d})
    spec = _with_described_lengths(spec, fields)
    if names.vector not in fields and sparse is not SparseMode.NONE:
        # A sparse-only collection: adopt it as one (no dense field to check or write).
        return replace(
            spec,
            dense=False,
            dim=None,
            index=None,
            text_match=text_match,
            analyzer=analyzer if analyzed else None,
            sparse=sparse,
            sparse_index=None if sparse is not spec.sparse_mode else spec.sparse_index,
            metadata_fields=tuple(declared),
            partition_key=partition_key,
        )
    vector = fields.get(names.vector, {})
    dim = int(vector.get("params", {}).get("dim", 0)) or spec.dim
    if index is not None and index.metric_type is not metric:
        index = replace(index, metric=metric)
    return replace(
        spec,
        dim=dim,
        text_match=text_match,
        analyzer=analyzer if analyzed else None,
        metric=metric,
        index=index,
        sparse=sparse,
        sparse_index=None if sparse is not spec.sparse_mode else spec.sparse_index,
        metadata_fields=tuple(declared),
        partition_key=partition_key,
        accelerated_fields=accelerated,
        overflowed_keys=overflowed_keys(description),
    )
