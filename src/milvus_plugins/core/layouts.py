"""Foreign collection layouts: detect them from a schema, read them as records (pure).

A collection created by another tool keeps its own field names and puts metadata in
its own places. A :class:`FieldMapping` says where each part of a :class:`Record`
lives: the id, text and vector fields, an optional sparse field, and the metadata in
any mix of a JSON field, the dynamic field and typed scalar columns (each column is
the metadata key of the same name). :func:`detect_layout` recognises the layouts of
the official integrations from a ``describe_collection`` answer:

* **langchain-milvus 0.4.x**: primary key ``pk`` (VARCHAR, or INT64 with ``auto_id``),
  ``text``, ``vector``; metadata as typed columns, and/or the dynamic field
  (``enable_dynamic_field=True``), or one JSON field (``metadata_field=``); its BM25
  built-in function adds a sparse field.
* **llama-index-vector-stores-milvus 1.x**: ``id``, ``embedding``, ``doc_id``, ``text``,
  metadata in the dynamic field and in the ``_node_content`` JSON it keeps per node;
  with ``enable_sparse`` a BM25 (or client) sparse field.

Any other schema is opened with an explicit :class:`FieldMapping`
(``CollectionSpec(layout=...)``), checked by :func:`resolve_layout`.

Adopted collections are **read-only** for writes of new rows (search, filters, hybrid,
get, query, count and delete work): rows written in this package's conventions would
not read back the same in the other tool, so adding rows raises
:class:`~milvus_plugins.core.errors.ForeignLayoutError`, whose message names
:func:`~milvus_plugins.core.migration.migrate`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from pymilvus import DataType

from milvus_plugins.core.analyzers import described_analyzer, has_match
from milvus_plugins.core.config import CollectionSpec
from milvus_plugins.core.errors import ConfigError, SchemaMismatchError, shown
from milvus_plugins.core.fields import FieldNames, MetadataField
from milvus_plugins.core.indexes import IndexConfig, described_index_config
from milvus_plugins.core.names import check_name
from milvus_plugins.core.types import MetricType, ParsableEnum, ScalarType, SparseMode

__all__ = [
    "DYNAMIC_FIELD",
    "FieldMapping",
    "LayoutKind",
    "as_field_mapping",
    "bm25_outputs",
    "detect_layout",
    "foreign_output_fields",
    "foreign_record_fields",
    "resolve_layout",
    "spec_for_layout",
    "with_tool_keys",
]

DYNAMIC_FIELD = "$meta"
"""Milvus' name for the dynamic field (its keys are filtered as ``$meta["key"]``)."""

_SCALARS = {
    DataType.INT64: ScalarType.INT64,
    DataType.INT32: ScalarType.INT64,
    DataType.INT16: ScalarType.INT64,
    DataType.INT8: ScalarType.INT64,
    DataType.DOUBLE: ScalarType.DOUBLE,
    DataType.FLOAT: ScalarType.DOUBLE,
    DataType.BOOL: ScalarType.BOOL,
    DataType.VARCHAR: ScalarType.VARCHAR,
    DataType.ARRAY: ScalarType.ARRAY,
}
_LLAMA_PRIVATE = ("_node_content", "_node_type", "doc_id", "document_id", "ref_doc_id")
_LLAMA_NODE_CONTENT = "_node_content"


class LayoutKind(ParsableEnum):
    """Which tool's layout a collection has (``mapped``: described by the caller)."""

    LANGCHAIN = "langchain"
    LLAMA_INDEX = "llama_index"
    MAPPED = "mapped"


@dataclass(frozen=True, kw_only=True)
class FieldMapping:
    """Where each part of a record lives in a collection of another layout.

    Attributes:
        id: the primary-key field (VARCHAR or INT64; ids are read as strings).
        text: the VARCHAR field holding the text.
        vector: the dense FLOAT_VECTOR field searched.
        sparse: a SPARSE_FLOAT_VECTOR field (BM25 function output or client vectors),
            or ``None``.
        metadata_json: a JSON field holding the metadata dict, or ``None``.
        dynamic: whether metadata keys live in the dynamic field (not with
            ``metadata_json``: a filter on a key must address one place).
        columns: fields that are metadata keys of the same name: scalar fields, and
            JSON fields other than ``metadata_json`` (a key whose values are dicts: read
            back as they are; a dict filter cannot name such a key); ``None`` takes every
            scalar and JSON field not named above.
        doc_id: a VARCHAR field with the source document id, or ``None``.
        private_keys: dynamic-field keys that belong to the other tool, not to the
            metadata (LlamaIndex's ``_node_content`` ...).
        node_content: a dynamic key holding the other tool's JSON copy of the node,
            whose ``metadata`` is the metadata exactly as written (LlamaIndex), or
            ``None``.
        kind: which tool's layout this is (set by detection; ``"llama_index"`` given by
            hand, e.g. for a collection made with another ``embedding_field``, brings
            that tool's ``private_keys`` and ``node_content``).

    Raises:
        ConfigError: a name Milvus would not accept, or one field used twice.
    """

    id: str
    text: str
    vector: str
    sparse: str | None = None
    metadata_json: str | None = None
    dynamic: bool = False
    columns: Sequence[str] | None = None
    doc_id: str | None = None
    private_keys: Sequence[str] = ()
    node_content: str | None = None
    kind: LayoutKind | str = LayoutKind.MAPPED
    # Filled from the described collection by resolve_layout():
    id_type: ScalarType = ScalarType.VARCHAR
    auto_id: bool = False
    bm25: bool = False
    schema_fields: tuple[str, ...] = ()
    float32_columns: tuple[str, ...] = ()
    json_columns: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        named = [self.id, self.text, self.vector]
        named += [n for n in (self.sparse, self.metadata_json, self.doc_id) if n is not None]
        for role, name in zip(("id", "text", "vector"), named, strict=False):
            check_name(f"field_mapping.{role}", name)
        for name in named[3:]:
            check_name("field_mapping", name)
        if len(set(named)) != len(named):
            raise ConfigError(f"field_mapping names must be distinct; got {named}.")
        if self.columns is not None:
            if isinstance(self.columns, str):
                raise ConfigError("field_mapping.columns must be a list of field names.")
            object.__setattr__(self, "columns", tuple(self.columns))
            for name in self.columns:
                check_name("field_mapping.columns", name)
            clash = sorted(set(self.columns) & set(named))
            if clash:
                raise ConfigError(f"field_mapping.columns {clash} are already mapped fields.")
        if self.metadata_json is not None and self.dynamic:
            # A filter on a key would have to say which of the two places it means.
            raise ConfigError(
                "field_mapping: give metadata_json or dynamic=True, not both (typed columns "
                "combine with either)."
            )
        if isinstance(self.private_keys, str):
            raise ConfigError("field_mapping.private_keys must be a list of keys.")
        object.__setattr__(self, "private_keys", tuple(self.private_keys))
        object.__setattr__(self, "kind", LayoutKind.parse(self.kind, field="field_mapping.kind"))
        if self.kind is LayoutKind.LLAMA_INDEX and not self.dynamic:
            raise ConfigError(
                "field_mapping: kind='llama_index' reads the nodes llama-index keeps in the "
                "dynamic field; set dynamic=True (and doc_id='doc_id', its document-id field)."
            )
        if self.kind is LayoutKind.LLAMA_INDEX and not self.private_keys:
            # kind="llama_index" names the tool: its private keys and node copy come along.
            object.__setattr__(self, "private_keys", _LLAMA_PRIVATE)
            if self.node_content is None:
                object.__setattr__(self, "node_content", _LLAMA_NODE_CONTENT)

    @property
    def layout_kind(self) -> LayoutKind:
        """The layout kind as an enum member."""
        return LayoutKind.parse(self.kind, field="kind")

    @property
    def label(self) -> str:
        """How messages name the layout."""
        return {
            LayoutKind.LANGCHAIN: "langchain-milvus",
            LayoutKind.LLAMA_INDEX: "llama-index-vector-stores-milvus",
            LayoutKind.MAPPED: "mapped",
        }[self.layout_kind]

    def metadata_columns(self) -> tuple[str, ...]:
        """The scalar columns that are metadata keys (after resolution)."""
        return tuple(self.columns or ())

    def read_columns(self) -> tuple[str, ...]:
        """Every column read back as a metadata key: the scalar ones, then the JSON ones."""
        return (*self.metadata_columns(), *self.json_columns)


def _fields(description: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {f["name"]: f for f in description.get("fields", [])}


def bm25_outputs(description: Mapping[str, Any]) -> set[str]:
    """The fields a collection's functions fill (its BM25 sparse fields).

    Milvus Lite 2.5.1 describes no functions at all; there a sparse field marked
    ``is_function_output`` is one (in Milvus 2.5 only BM25 outputs sparse vectors).
    """
    out: set[str] = set()
    functions = description.get("functions") or []
    for function in functions:
        names = function.get("output_field_names") or []
        if isinstance(names, str):  # Milvus Lite describes the lists as their repr
            names = [n.strip(" '\"") for n in names.strip("[]").split(",") if n.strip()]
        out.update(names)
    if not functions:
        out.update(
            f["name"]
            for f in description.get("fields", [])
            if f.get("is_function_output") and f.get("type") == DataType.SPARSE_FLOAT_VECTOR
        )
    return out


def _primary(fields: Mapping[str, Mapping[str, Any]]) -> str | None:
    return next((n for n, f in fields.items() if f.get("is_primary")), None)


def _of_type(fields: Mapping[str, Mapping[str, Any]], kind: Any) -> list[str]:
    return [n for n, f in fields.items() if f.get("type") == kind]


def detect_layout(description: Mapping[str, Any]) -> FieldMapping | None:
    """Recognise a langchain-milvus or llama-index layout; ``None`` for anything else."""
    fields = _fields(description)
    pk = _primary(fields)
    dynamic = bool(description.get("enable_dynamic_field"))
    dense = _of_type(fields, DataType.FLOAT_VECTOR)
    sparse = _of_type(fields, DataType.SPARSE_FLOAT_VECTOR)
    varchar = set(_of_type(fields, DataType.VARCHAR))
    llama_shape = (
        pk == "id" and len(dense) == 1 and {"doc_id", "text"} <= varchar and dynamic
    ) and len(sparse) <= 1
    # llama-index-vector-stores-milvus names its dense field "embedding" unless
    # embedding_field= named another; it always creates id, doc_id and text first, in that
    # order (langchain-milvus and hand-made schemas in a similar shape do not: read them
    # through a FieldMapping, or their metadata keys would be taken for llama's own).
    if llama_shape and (dense[0] == "embedding" or list(fields)[:3] == ["id", "doc_id", "text"]):
        # Its scalar_field_names keys are typed columns (filters must address them there:
        # they are not in the dynamic field).
        return FieldMapping(
            id="id",
            text="text",
            vector=dense[0],
            sparse=sparse[0] if sparse else None,
            dynamic=True,
            columns=None,
            doc_id="doc_id",
            private_keys=_LLAMA_PRIVATE,
            node_content=_LLAMA_NODE_CONTENT,
            kind=LayoutKind.LLAMA_INDEX,
        )
    if pk == "pk" and dense == ["vector"] and "text" in varchar and len(sparse) <= 1:
        # metadata_field= gives one JSON field and no other metadata field; its default
        # makes each key of the first document's metadata a column, a JSON one where the
        # value is a dict, so a JSON field beside other columns (or a second JSON field)
        # is a metadata key of its own, not the metadata.
        json_fields = _of_type(fields, DataType.JSON)
        others = set(fields) - {"pk", "text", "vector", *sparse, *json_fields}
        whole = json_fields[0] if len(json_fields) == 1 and not others else None
        return FieldMapping(
            id="pk",
            text="text",
            vector="vector",
            sparse=sparse[0] if sparse else None,
            metadata_json=whole,
            dynamic=dynamic and whole is None,
            kind=LayoutKind.LANGCHAIN,
        )
    return None


def with_tool_keys(mapping: FieldMapping, description: Mapping[str, Any]) -> FieldMapping:
    """``mapping`` knowing the other tool's private keys, where it names the fields of a
    layout :func:`detect_layout` recognises (a mapping written by hand for a
    llama-index collection would otherwise read ``_node_content`` ... as metadata)."""
    detected = detect_layout(description)
    if (
        detected is None
        or mapping.private_keys
        or mapping.node_content is not None
        or not mapping.dynamic
        or (mapping.id, mapping.text, mapping.vector, mapping.doc_id)
        != (detected.id, detected.text, detected.vector, detected.doc_id)
    ):
        return mapping
    return replace(
        mapping,
        private_keys=detected.private_keys,
        node_content=detected.node_content,
        kind=detected.kind,
    )


def _need(
    fields: Mapping[str, Mapping[str, Any]], name: str, kinds: Sequence[Any], role: str, spec: str
) -> Mapping[str, Any]:
    field = fields.get(name)
    if field is None:
        raise SchemaMismatchError(
            f"collection {shown(spec)} has no field {shown(name)} for the {role} "
            f"(fields: {sorted(fields)}); fix field_mapping.{role}."
        )
    if field.get("type") not in kinds:
        raise SchemaMismatchError(
            f"collection {shown(spec)} field {shown(name)} ({role}) is {shown(field.get('type'))}"
            f", expected one of {[str(k) for k in kinds]}; fix field_mapping.{role}."
        )
    return field


def resolve_layout(mapping: FieldMapping, description: Mapping[str, Any]) -> FieldMapping:
    """Check ``mapping`` against a described collection and fill in what it implies.

    Raises:
        SchemaMismatchError: a mapped field is missing or of the wrong type, the id is
            not the primary key, or ``dynamic`` is set on a collection without one.
    """
    name = str(description.get("collection_name", ""))
    fields = _fields(description)
    pk = _need(fields, mapping.id, (DataType.VARCHAR, DataType.INT64), "id", name)
    if not pk.get("is_primary"):
        raise SchemaMismatchError(
            f"collection {shown(name)} field {shown(mapping.id)} is not its primary key "
            f"({shown(_primary(fields))} is); fix field_mapping.id."
        )
    _need(fields, mapping.text, (DataType.VARCHAR,), "text", name)
    _need(fields, mapping.vector, (DataType.FLOAT_VECTOR,), "vector", name)
    if mapping.sparse is not None:
        _need(fields, mapping.sparse, (DataType.SPARSE_FLOAT_VECTOR,), "sparse", name)
    if mapping.metadata_json is not None:
        _need(fields, mapping.metadata_json, (DataType.JSON,), "metadata_json", name)
    if mapping.doc_id is not None:
        _need(fields, mapping.doc_id, (DataType.VARCHAR,), "doc_id", name)
    if mapping.dynamic and not description.get("enable_dynamic_field"):
        raise SchemaMismatchError(
            f"collection {shown(name)} has no dynamic field; set field_mapping.dynamic=False."
        )
    taken = {mapping.id, mapping.text, mapping.vector, mapping.sparse}
    taken |= {mapping.metadata_json, mapping.doc_id}
    if mapping.columns is None:
        named = tuple(n for n, f in fields.items() if n not in taken and _column(f))
    else:
        named = tuple(mapping.columns)
        for column in named:
            if not _column(fields.get(column) or {}):
                raise SchemaMismatchError(
                    f"collection {shown(name)} has no scalar or JSON field {shown(column)}; "
                    "fix field_mapping.columns."
                )
    columns = tuple(c for c in named if _scalar(fields[c]) is not None)
    return replace(
        mapping,
        columns=columns,
        json_columns=tuple(c for c in named if c not in columns),
        id_type=ScalarType.INT64 if pk.get("type") == DataType.INT64 else ScalarType.VARCHAR,
        auto_id=bool(pk.get("auto_id") or description.get("auto_id")),
        bm25=mapping.sparse is not None and mapping.sparse in bm25_outputs(description),
        schema_fields=tuple(fields),
        float32_columns=tuple(c for c in columns if fields[c].get("type") == DataType.FLOAT),
    )


def _scalar(field: Mapping[str, Any]) -> ScalarType | None:
    return _SCALARS.get(field.get("type"))


def _column(field: Mapping[str, Any]) -> bool:
    """Whether a field can hold a metadata key's values (scalar or JSON)."""
    return _scalar(field) is not None or field.get("type") == DataType.JSON


def _column_field(name: str, field: Mapping[str, Any]) -> MetadataField:
    kind = _scalar(field)
    assert kind is not None  # resolve_layout keeps scalar columns only
    params = field.get("params") or {}
    element = _SCALARS.get(field.get("element_type")) if kind is ScalarType.ARRAY else None
    return MetadataField(
        name=name,
        type=kind,
        element_type=element if kind is ScalarType.ARRAY else None,
        max_length=min(int(params.get("max_length", 65535)), 65535),
        max_capacity=min(int(params.get("max_capacity", 4096)), 4096),
        index=False,
    )


def _free_name(base: str, used: set[str]) -> str:
    # FieldNames needs a distinct valid name for parts the foreign layout lacks; these
    # placeholders are never sent to Milvus (reads and filters check the layout first).
    name = base
    while name in used:
        name = "_" + name
    used.add(name)
    return name


def spec_for_layout(
    spec: CollectionSpec,
    layout: FieldMapping,
    description: Mapping[str, Any],
    dense_index: Mapping[str, Any] | None,
) -> CollectionSpec:
    """The effective spec of a collection read through ``layout`` (resolved).

    Dimension, metric and sparse mode come from the collection; the metadata columns
    become declared fields (so filters address them as columns).

    Raises:
        SchemaMismatchError: ``spec`` asks for another dimension, or for a sparse field
            the collection lacks.
    """
    fields = _fields(description)
    dim = int((fields[layout.vector].get("params") or {}).get("dim", 0))
    name = spec.name
    if spec.dim is not None and spec.dim != dim:
        raise SchemaMismatchError(
            f"collection {shown(name)} ({layout.label} layout) stores dim={dim} vectors but "
            f"dim={spec.dim} was asked for (a different embedding model?)."
        )
    if spec.has_sparse and layout.sparse is None:
        fix = (
            "open it without sparse/hybrid settings"
            if spec.dense
            else "give the store the embedding model its vectors came from (a store "
            "without one is sparse-only)"
        )
        raise SchemaMismatchError(
            f"collection {shown(name)} ({layout.label} layout) has no sparse field, so it "
            f"cannot serve sparse or hybrid search; {fix}."
        )
    if layout.sparse is None:
        sparse = SparseMode.NONE
    else:
        sparse = SparseMode.BM25 if layout.bm25 else SparseMode.CLIENT
    used = set(layout.schema_fields)
    names = FieldNames(
        id=layout.id,
        text=layout.text,
        vector=layout.vector,
        sparse=layout.sparse or _free_name("sparse", used),
        metadata=layout.metadata_json or _free_name("metadata", used),
        doc_id=layout.doc_id or _free_name("doc_id", used),
        extra=_free_name("extra", used),
    )
    metric = MetricType.parse(spec.metric, field="metric")
    if dense_index and dense_index.get("metric_type"):
        metric = MetricType.parse(str(dense_index["metric_type"]).upper(), field="metric")
    # Its index decides the search params (FLAT, HNSW's ef ...) and what a migration
    # builds, so that both answer the same searches.
    index: IndexConfig | None = described_index_config(dense_index, metric)
    columns = [_column_field(c, fields[c]) for c in layout.metadata_columns()]
    text_match, analyzer = _text_analysis(fields.get(layout.text) or {}, sparse)
    try:
        spec = replace(spec, text_match=text_match, analyzer=analyzer)
    except ConfigError:  # analyzer params this package cannot hold: no text match here
        spec = replace(spec, text_match=False, analyzer=None)
    return replace(
        spec,
        dim=dim,
        index=index,
        metric=metric,
        sparse=sparse,
        sparse_index=None if sparse is not spec.sparse_mode else spec.sparse_index,
        metadata_fields=tuple(columns),
        # The collection's partition key, where it is one of the metadata columns: tenant
        # scoping then works as on this package's collections.
        partition_key=next(
            (c for c in layout.metadata_columns() if fields[c].get("is_partition_key")), None
        ),
        fields=names,
        infer_metadata_fields=False,
        layout=layout,
    )


def _text_analysis(
    text_field: Mapping[str, Any], sparse: SparseMode
) -> tuple[bool, dict[str, Any] | None]:
    """Whether another tool's text field was created for text match, and the analyzer
    its match (or BM25) index was built with (``None``: the standard one), as described:
    text-match filters then compile for it, and are checked against that analyzer."""
    matchable = has_match(text_field)
    if not (matchable or sparse is SparseMode.BM25):
        return False, None
    return matchable, described_analyzer(text_field) or None


def foreign_output_fields(layout: FieldMapping, *, include_vectors: bool) -> list[str]:
    """The fields a read of a foreign collection asks for."""
    out = [layout.id, layout.text, *layout.read_columns()]
    out += [n for n in (layout.metadata_json, layout.doc_id) if n is not None]
    if layout.dynamic:
        out.append(DYNAMIC_FIELD)
    if include_vectors:
        out.append(layout.vector)
        if layout.sparse is not None and not layout.bm25:
            out.append(layout.sparse)
    return out


def _node(value: Any) -> Mapping[str, Any] | None:
    """The other tool's JSON copy of a node, parsed (``None``: not one)."""
    try:
        node = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        return None
    return node if isinstance(node, Mapping) else None


_SOURCE = "1"
"""LlamaIndex's key of a node's source-document relationship (``NodeRelationship.SOURCE``)."""


def foreign_record_fields(row: Mapping[str, Any], layout: FieldMapping) -> dict[str, Any]:
    """The :class:`Record` fields of a foreign row: metadata as the other tool wrote it.

    Metadata is the JSON field's dict, the typed columns, and the dynamic keys (not
    the other tool's private keys); for LlamaIndex, the ``metadata`` of its node copy
    when the row has one (it keeps the values' types, such as nested dicts, exactly).
    """
    metadata: dict[str, Any] = {}
    if layout.metadata_json is not None:
        metadata.update(row.get(layout.metadata_json) or {})
    for column in layout.read_columns():
        if row.get(column) is not None:
            metadata[column] = row[column]
    private: dict[str, Any] = {}
    if layout.dynamic:
        known = set(layout.schema_fields) | {DYNAMIC_FIELD}
        dynamic = dict(row.get(DYNAMIC_FIELD) or {})
        dynamic.update({k: v for k, v in row.items() if k not in known})
        for key, value in dynamic.items():
            if key in layout.private_keys:
                private[key] = value
            else:
                metadata[key] = value
    doc_id = str(row.get(layout.doc_id) or "") if layout.doc_id else ""
    node = _node(private[layout.node_content]) if layout.node_content in private else None
    if node is not None:
        written = node.get("metadata")
        if isinstance(written, Mapping):
            metadata = dict(written)
        relationships = node.get("relationships")
        if isinstance(relationships, Mapping) and _SOURCE not in relationships:
            # llama-index writes the placeholder "None" into its doc_id field for a node
            # without a source document; its node copy says there is none.
            doc_id = ""
    vector = row.get(layout.vector)
    return {
        "id": str(row[layout.id]),
        "text": str(row.get(layout.text) or ""),
        "vector": list(vector) if vector is not None else None,
        "metadata": metadata,
        "doc_id": doc_id,
        "extra": {"foreign": private} if private else {},
        "sparse": dict(row[layout.sparse])
        if layout.sparse and not layout.bm25 and isinstance(row.get(layout.sparse), Mapping)
        else None,
    }


def as_field_mapping(value: FieldMapping | Mapping[str, Any] | None) -> FieldMapping | None:
    """Return ``value`` as a :class:`FieldMapping` (a dict gives its fields), or ``None``.

    Raises:
        ConfigError: not a FieldMapping, a dict of its fields, or ``None``.
    """
    if value is None or isinstance(value, FieldMapping):
        return value
    if isinstance(value, Mapping):
        try:
            return FieldMapping(**value)
        except TypeError as exc:
            raise ConfigError(
                f"field_mapping={shown(dict(value))}: {exc}; give FieldMapping's fields (id, "
                "text, vector, sparse, metadata_json, dynamic, columns, doc_id)."
            ) from None
    raise ConfigError(
        f"field_mapping={shown(value)} must be a FieldMapping, a dict of its fields, or None."
    )
