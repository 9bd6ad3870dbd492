"""LlamaIndex nodes <-> core records.

A node is stored as one :class:`~milvus_plugins.core.Record`:

* ``id`` is the node id, ``text`` its content (``MetadataMode.NONE``), ``vector`` its
  embedding and ``metadata`` its user metadata, unchanged, so a LangChain reader of the
  same collection sees exactly the metadata a LlamaIndex user wrote;
* ``doc_id`` is the node's ``ref_doc_id`` (the source document), which
  ``delete(ref_doc_id)`` and ``doc_ids=`` filters use;
* ``extra`` holds everything else LlamaIndex needs to rebuild the node: its class, its
  relationships, character offsets, excluded metadata keys and templates.

Metadata keys that collide with the collection's own field names (``id``, ``text``,
``doc_id`` ...) cannot live in the metadata JSON; they are kept in ``extra`` instead, so
the node still round-trips, but they are not filterable and a LangChain reader does
not see them.

Records written by another framework (no LlamaIndex data in ``extra``) are read back
as plain :class:`TextNode` objects whose ``SOURCE`` relationship is the record's
``doc_id``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
from llama_index.core.schema import (
    BaseNode,
    Document,
    ImageNode,
    IndexNode,
    MetadataMode,
    Node,
    NodeRelationship,
    RelatedNodeInfo,
    TextNode,
)
from llama_index.core.storage.docstore.utils import json_to_doc
from pydantic import BaseModel
from pydantic_core import PydanticSerializationError

from milvus_plugins.core import (
    FieldNames,
    InvalidInputError,
    Record,
    as_list,
    shown,
)
from milvus_plugins.core.records import OwnedRecords
from milvus_plugins.core.values import (
    MAX_METADATA_DEPTH,
    check_serialisable,
    plain_json,
    walk_json,
)

__all__ = ["EXTRA_KEY", "node_to_record", "nodes_to_records", "record_to_node"]

EXTRA_KEY = "llama_index"
"""The key under which LlamaIndex-private node data lives in ``Record.extra``."""

_NODE_CLASSES: dict[str, type[BaseNode]] = {
    cls.class_name(): cls for cls in (TextNode, Node, Document, IndexNode, ImageNode)
}
# Stored elsewhere in the record (or never stored: the embedding is the vector field).
_RECORD_FIELDS = frozenset({"id_", "embedding", "metadata", "text", "class_name"})
_RESERVED_METADATA = frozenset(FieldNames().all())
_EXCLUDED = set(_RECORD_FIELDS)  # model_dump's argument (never changed)


def node_to_record(node: BaseNode) -> Record:
    """Convert a node (with its embedding) to a record.

    Raises:
        InvalidInputError: the node is not a LlamaIndex node.
    """
    return _node_record(node, own=True)


def _node_record(node: BaseNode, *, own: bool, snapshot: bool = True) -> Record:
    """:func:`node_to_record`; with ``own=False`` the record may share its ``extra``
    with other records (the state of a node at its defaults), for a write that only
    reads it (:func:`records_for_write`), and with ``snapshot=False`` too its metadata
    dict with the node."""
    if not isinstance(node, BaseNode):
        raise InvalidInputError(
            f"expected LlamaIndex nodes (TextNode, Document ...), got {type(node).__name__}."
        )
    # Leave out what the record stores elsewhere (dumping a 1,000-float embedding as JSON
    # costs more than the rest of the write) and fields at their defaults, which
    # ``model_validate`` restores on read.
    # (Per node: no set or dict built that a usual node does not need.)
    if isinstance(node, IndexNode) and node.obj is not None:
        _check_index_obj(node)
    if node.relationships:
        if node.ref_doc_id == "":
            # Its rows could never be deleted by their document (delete("") is refused:
            # it would name every node without a source); an ingestion pipeline's
            # re-run then failed half-way. Refused with the node's other checks.
            raise InvalidInputError(
                f"node {shown(node.node_id)} names a source document with the empty id "
                "''; give the Document an id (Document(id_=...), or let LlamaIndex make "
                "one), or no source. Nothing was written."
            )
        related = _checked_relationships(node)
        if related is not None:  # numpy values converted: dump a copy holding them
            node = node.model_copy(update={"relationships": related})
    plain = _all_defaults(node)
    private = {} if plain else _dumped(node)
    resource = private.get("text_resource")
    if isinstance(resource, dict):
        # The text lives in the record's text field; keep the rest of the resource only.
        private["text_resource"] = {**resource, "text": None}
    metadata = node.metadata
    reserved = not _RESERVED_METADATA.isdisjoint(metadata)
    if own or reserved or snapshot:
        metadata = dict(metadata)
    if plain and not reserved and not own:
        # One state per node class, shared: each write holds every record until it is
        # written, and two dicts fewer per record spare the garbage collector passes
        # over all of them (issue 16).
        state = _shared_state(node.class_name())
    else:
        extra: dict[str, Any] = {"class_name": node.class_name(), "node": private}
        if reserved:
            order = list(metadata)  # read back in this order (the LLM text, node.hash)
            names = sorted(_RESERVED_METADATA.intersection(metadata))
            moved = {key: metadata.pop(key) for key in names}
            # Metadata still, though kept with the framework data: its nesting limit,
            # not the one framework data gets.
            walk_json(moved, MAX_METADATA_DEPTH, f"node {shown(node.node_id)}", "metadata")
            extra["reserved_metadata"] = moved
            extra["metadata_order"] = order
        state = {EXTRA_KEY: extra}
    return Record(
        id=node.node_id,
        text=node.get_content(metadata_mode=MetadataMode.NONE),
        vector=node.embedding,
        metadata=metadata,
        doc_id=node.ref_doc_id or "",
        extra=state,
    )


def _check_index_obj(node: IndexNode) -> None:
    """Refuse an ``IndexNode.obj`` that would not read back as written.

    LlamaIndex serialises ``obj`` as a node's ``doc_to_json`` dict (read back with
    ``json_to_doc``, as LlamaIndex's own ``IndexNode.from_dict`` does) or as the JSON
    text of a plain value (read back with ``json.loads``: the value itself). Another
    pydantic model is dumped without its class, and a tuple, a dict with non-string keys
    or NaN changes in JSON: those are refused.

    Raises:
        InvalidInputError: naming the node and what to store instead.
    """
    obj = node.obj
    if isinstance(obj, BaseNode):
        return
    where = f"IndexNode {shown(node.node_id)}: obj={shown(obj)}"
    if isinstance(obj, BaseModel):
        raise InvalidInputError(
            f"{where} is a {type(obj).__name__}, which would be stored without its class "
            "and read back as a dict; store a LlamaIndex node or a JSON value (str, "
            "number, bool, list, dict with string keys) in obj."
        )
    try:
        same = json.loads(json.dumps(obj, allow_nan=False)) == obj
    except (TypeError, ValueError, RecursionError):
        same = False
    if not same:
        raise InvalidInputError(
            f"{where} would not read back as written (JSON has no tuples, sets, non-string "
            "keys, NaN or objects); store a LlamaIndex node or a JSON value (str, number, "
            "bool, list, dict with string keys) in obj."
        )


def _restored_obj(stored: Any) -> Any:
    """An ``IndexNode.obj`` as it was written, from its stored form (see
    :func:`_check_index_obj`); a form this package did not write is returned as is."""
    if isinstance(stored, str):
        try:
            return json.loads(stored)
        except ValueError:
            return stored
    if isinstance(stored, dict) and "__data__" in stored and "__type__" in stored:
        try:
            return json_to_doc(stored)
        except (KeyError, TypeError, ValueError):
            return stored
    return stored


_SHARED_STATE: dict[str, dict[str, Any]] = {}


def _shared_state(class_name: str) -> dict[str, Any]:
    state = _SHARED_STATE.get(class_name)
    if state is None:
        state = {EXTRA_KEY: {"class_name": class_name, "node": {}}}
        _SHARED_STATE[class_name] = state
    return state


def _dumped(node: BaseNode) -> dict[str, Any]:
    """The node's fields that the record does not store elsewhere and that differ from
    their defaults, as JSON values."""
    try:
        private = node.model_dump(mode="json", exclude=_EXCLUDED, exclude_defaults=True)
    except PydanticSerializationError as exc:
        raise InvalidInputError(
            f"node {shown(node.node_id)}: cannot be stored as JSON ({exc}); node and "
            "relationship metadata take str, int, float, bool, None, lists and dicts of "
            "those (convert numpy values with .item())."
        ) from exc
    if not _RECORD_FIELDS.isdisjoint(private):  # LlamaIndex adds class_name to a dump
        private = {k: v for k, v in private.items() if k not in _RECORD_FIELDS}
    return private


_DEFAULTS: dict[type[BaseNode], tuple[tuple[str, type, Any], ...] | None] = {}
"""Per node class: (name, type, default) of each field :func:`_dumped` would look at,
or ``None`` when a field has no default to compare with (the dump decides)."""


def _defaults_of(cls: type[BaseNode]) -> tuple[tuple[str, type, Any], ...] | None:
    if cls in _DEFAULTS:
        return _DEFAULTS[cls]
    found: list[tuple[str, type, Any]] | None = []
    for name, info in cls.model_fields.items():
        if name in _RECORD_FIELDS:
            continue
        if info.default_factory is not None:
            try:
                default = info.default_factory()  # type: ignore[call-arg]
            except TypeError:  # a factory of the validated data: the dump decides
                found = None
                break
        elif info.is_required():
            found = None
            break
        else:
            default = info.default
        found.append((name, type(default), default))  # type: ignore[union-attr]
    if cls.model_computed_fields or cls.model_config.get("extra") == "allow":
        found = None  # dumped whatever their values: the dump decides
    _DEFAULTS[cls] = result = None if found is None else tuple(found)
    return result


def _all_defaults(node: BaseNode) -> bool:
    """Whether every field :func:`_dumped` looks at holds its default (a node parser's
    usual ``TextNode``): its dump is then ``{}``, known without pydantic's serialiser
    (~20 µs a node). Values are compared by exact type and ``==``, as the dump's
    ``exclude_defaults`` compares them; anything else is dumped.
    """
    cls = type(node)
    if cls not in _NODE_CLASSES.values():
        return False  # a subclass may dump more than its fields
    defaults = _defaults_of(cls)
    if defaults is None or node.__pydantic_extra__:
        return False
    state = node.__dict__
    for name, kind, default in defaults:
        value = state.get(name, _MISSING)
        if type(value) is not kind or value != default:
            return False
    return True


_MISSING = object()


def _checked_relationships(node: BaseNode) -> dict[Any, Any] | None:
    """Give relationship metadata the checks the node's own metadata gets.

    ``model_dump(mode="json")`` would turn values JSON cannot hold into something else
    (a date into its ISO string, NaN into null, a set into a list, a ``Decimal`` into a
    string) and they would read back changed: they are refused instead. numpy values
    are converted to the Python values they hold, as in node metadata.

    Returns:
        The relationships with converted metadata, or ``None`` when nothing changed.

    Raises:
        InvalidInputError: naming the node, the relationship and the value.
    """
    metadatas = [
        info.metadata
        for related in node.relationships.values()
        for info in (related if isinstance(related, list) else [related])
        if getattr(info, "metadata", None)
    ]
    if not metadatas:
        return None
    try:  # the usual case, plain JSON already: one serialisation and the int/key walk
        json.dumps(metadatas, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        pass
    else:
        where = f"node {shown(node.node_id)} relationship metadata"
        for each in metadatas:
            walk_json(each, MAX_METADATA_DEPTH, where, "metadata")
        return None
    changed = False
    out: dict[Any, Any] = {}
    for kind, related in node.relationships.items():
        infos = related if isinstance(related, list) else [related]
        checked_infos = []
        for info in infos:
            related_metadata = getattr(info, "metadata", None)
            if related_metadata:
                kind_name = getattr(kind, "name", str(kind))
                where = f"node {shown(node.node_id)} relationship {kind_name}"
                given = dict(related_metadata)
                checked = plain_json(given, where, "metadata")
                walk_json(checked, MAX_METADATA_DEPTH, where, "metadata")
                check_serialisable(checked, where, "metadata")
                if checked is not given:
                    info = info.model_copy(update={"metadata": checked})
                    changed = True
            checked_infos.append(info)
        out[kind] = checked_infos if isinstance(related, list) else checked_infos[0]
    return out if changed else None


def nodes_to_records(nodes: Sequence[BaseNode]) -> list[Record]:
    """Convert nodes to records, in order.

    Raises:
        InvalidInputError: ``nodes`` is not a list, or holds something else than nodes.
    """
    return [node_to_record(node) for node in as_list(nodes, "nodes", of="nodes")]


def records_for_write(nodes: Sequence[BaseNode], *, snapshot: bool = True) -> list[Record]:
    """:func:`nodes_to_records` for a write, which reads the records and drops them.

    Equal records, but a record may share its ``extra`` with other records, and with
    ``snapshot=False`` its metadata dict with its node: the store's write copies what it
    changes and never changes these. ``snapshot`` (a copy of each node's metadata, top
    level, taken now) is for a write during which code of the caller's may run (an
    async add: other tasks run at each await; named fields' models), which could
    change a node's metadata after the checks. Not for records handed to a caller (use
    :func:`nodes_to_records`).

    Raises:
        InvalidInputError: ``nodes`` is not a list, or holds something else than nodes.
    """
    return OwnedRecords(
        _node_record(node, own=False, snapshot=snapshot)
        for node in as_list(nodes, "nodes", of="nodes")
    )


def stored_embedding(vector: Any) -> list[float]:
    """Return a stored float32 vector as the shortest decimals that round to it.

    Milvus keeps float32: ``0.1`` comes back as ``0.10000000149011612``. Printing each
    float32 with its shortest round-trip representation gives ``0.1`` again, so an
    embedding written as short decimals reads back equal, and any other embedding reads
    back as close as float32 storage allows.
    """
    as_text = np.asarray(vector, dtype=np.float32).astype(str)
    return as_text.astype(np.float64).tolist()  # type: ignore[no-any-return]


def record_to_node(record: Record, *, include_embedding: bool = False) -> BaseNode:
    """Rebuild the node a record was written from.

    Args:
        record: a record read from the store.
        include_embedding: set ``node.embedding`` from the record's vector (when read).

    Returns:
        A node of the LlamaIndex class it was written as (``TextNode``, ``Node``,
        ``Document``, ``IndexNode`` or ``ImageNode``; ``TextNode`` for records written
        by another framework), equal in id, text, metadata, relationships and
        ``ref_doc_id`` (an ``IndexNode``'s ``obj`` too: a node or a JSON value). A
        subclass of one of these (your own node class) comes back as that LlamaIndex
        class, without the fields the subclass adds: classes are never imported by a
        name read from the database.
    """
    embedding = None
    if include_embedding and record.vector is not None:
        embedding = stored_embedding(record.vector)
    private = record.extra.get(EXTRA_KEY)
    if not isinstance(private, dict):
        return _foreign_node(record, embedding)
    metadata = {**record.metadata, **(private.get("reserved_metadata") or {})}
    order = private.get("metadata_order")
    if isinstance(order, list):  # keys named like fields were kept apart: as written
        ordered = {key: metadata[key] for key in order if isinstance(key, str) and key in metadata}
        ordered.update(metadata)
        metadata = ordered
    cls = _NODE_CLASSES.get(str(private.get("class_name")), TextNode)
    state = dict(private.get("node") or {})
    state.update(id_=record.id, metadata=metadata, embedding=embedding)
    if cls is IndexNode and state.get("obj") is not None:
        state["obj"] = _restored_obj(state["obj"])
    node = cls.model_validate(state)
    node.set_content(record.text)
    return node


#: What a node written by llama-index-vector-stores-milvus keeps in its ``_node_content``
#: JSON beyond id, text and metadata, and gives back when read there (nothing that names
#: a class: none is imported by a name read from the database).
_NODE_CONTENT_FIELDS = (
    "relationships",
    "excluded_embed_metadata_keys",
    "excluded_llm_metadata_keys",
    "metadata_template",
    "metadata_separator",
    "text_template",
)


def _foreign_node(record: Record, embedding: list[float] | None) -> TextNode:
    fields = {
        "id_": record.id,
        "text": record.text,
        "metadata": dict(record.metadata),
        "embedding": embedding,
    }
    stored = _node_content(record)
    if stored:
        try:  # the official store's own node, as it reads it back
            node = TextNode.model_validate({**stored, **fields})
        except (ValueError, TypeError):  # pydantic's ValidationError is a ValueError
            node = None
        if node is not None:
            if record.doc_id and NodeRelationship.SOURCE not in node.relationships:
                node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=record.doc_id)
            return node
    relationships = {}
    if record.doc_id:
        relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=record.doc_id)
    return TextNode(**fields, relationships=relationships)


def _node_content(record: Record) -> dict[str, Any]:
    """The node fields of :data:`_NODE_CONTENT_FIELDS` that a llama-index-vector-stores-milvus
    row keeps in its ``_node_content`` JSON (``{}``: none, or not readable)."""
    private = record.extra.get("foreign")
    content = private.get("_node_content") if isinstance(private, dict) else None
    if not isinstance(content, str):
        return {}
    try:
        parsed = json.loads(content)
    except ValueError:
        return {}
    if not isinstance(parsed, dict):
        return {}
    return {key: parsed[key] for key in _NODE_CONTENT_FIELDS if parsed.get(key) is not None}
