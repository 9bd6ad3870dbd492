"""The node state a record keeps in ``extra``: the shortcut for nodes at their defaults
must give what pydantic's dump gives (property test; no Milvus needed)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from llama_index.core.schema import (
    Document,
    ImageNode,
    Node,
    NodeRelationship,
    RelatedNodeInfo,
    TextNode,
)

from milvus_plugins.llama_index import nodes as nodes_module
from milvus_plugins.llama_index.nodes import (
    _all_defaults,
    _dumped,
    node_to_record,
    nodes_to_records,
    records_for_write,
)


class _Str(str):
    pass


class _Int(int):
    pass


class _MyNode(TextNode):
    note: str = ""


# For each field: values equal to its default (some of another type), and values not.
_VARIANTS: dict[str, list[Any]] = {
    "excluded_embed_metadata_keys": [[], ["a"], ()],
    "excluded_llm_metadata_keys": [[], ["b"]],
    "relationships": [{}, {NodeRelationship.SOURCE: RelatedNodeInfo(node_id="d")}],
    "metadata_template": ["{key}: {value}", _Str("{key}: {value}"), "{key}={value}"],
    "metadata_separator": ["\n", _Str("\n"), " | "],
    "mimetype": ["text/plain", "text/markdown"],
    "start_char_idx": [None, 0, _Int(3), 7],
    "end_char_idx": [None, 0, 12],
    "text_template": ["{metadata_str}\n\n{content}", "{content}"],
    "image_path": [None, "x.png"],
}


@st.composite
def nodes(draw: st.DrawFn) -> Any:
    cls = draw(st.sampled_from([TextNode, Node, Document, ImageNode, _MyNode]))
    fields: dict[str, Any] = {}
    for name, values in _VARIANTS.items():
        if name in cls.model_fields and draw(st.booleans()):
            fields[name] = draw(st.sampled_from(values))
    if "text" in cls.model_fields or cls is Document:
        fields["text"] = draw(st.text(min_size=1, max_size=5))
    metadata: dict[str, Any] = {"k": draw(st.integers(0, 3))}
    if draw(st.booleans()):  # a key named like a column: kept in extra instead
        metadata[draw(st.sampled_from(["id", "text", "doc_id", "extra"]))] = "x"
    node = cls(metadata=metadata, embedding=[0.5, 0.25], **fields)
    for name in draw(st.lists(st.sampled_from(sorted(_VARIANTS)), max_size=2)):
        if name in cls.model_fields:
            # Assigned after validation (pydantic does not check assignments here).
            setattr(node, name, draw(st.sampled_from(_VARIANTS[name])))
    return node


@settings(max_examples=400, deadline=None)
@given(nodes())
def test_shortcut_agrees_with_the_dump(node: Any) -> None:
    if _all_defaults(node):
        assert _dumped(node) == {}
    shortcut = node_to_record(node)
    saved = nodes_module._all_defaults
    nodes_module._all_defaults = lambda node: False  # every node dumped
    try:
        dumped = node_to_record(node)
    finally:
        nodes_module._all_defaults = saved
    assert shortcut == dumped


def test_shortcut_taken_for_plain_nodes_and_not_otherwise() -> None:
    assert _all_defaults(TextNode(text="t", metadata={"a": 1}, embedding=[1.0]))
    assert _all_defaults(Node())
    assert not _all_defaults(TextNode(text="t", start_char_idx=0))
    node = TextNode(text="t")
    node.__dict__["metadata_separator"] = _Str("\n")  # equal, of another type
    assert not _all_defaults(node)
    assert not _all_defaults(_MyNode(text="t"))  # a subclass: the dump decides
    assert not _all_defaults(Document(text="t"))  # its text lives in text_resource


@settings(max_examples=200, deadline=None)
@given(st.lists(nodes(), min_size=1, max_size=4))
def test_records_for_a_write_equal_the_public_ones(batch: list[Any]) -> None:
    # The write's records may share containers; they must hold the same values.
    assert records_for_write(batch) == nodes_to_records(batch)
    shared = records_for_write(batch, snapshot=False)
    assert shared == nodes_to_records(batch)
    for record, node in zip(shared, batch, strict=True):  # reserved keys are moved: copies
        assert (record.metadata is node.metadata) == (record.metadata == node.metadata)


def test_public_records_share_nothing_with_nodes_or_each_other() -> None:
    nodes_ = [TextNode(text="a", metadata={"k": 1}), TextNode(text="b", metadata={"k": 2})]
    first, second = nodes_to_records(nodes_)
    first.metadata["k"] = 9
    first.extra["llama_index"]["node"]["x"] = 1
    assert nodes_[0].metadata == {"k": 1}
    assert second.extra == {"llama_index": {"class_name": "TextNode", "node": {}}}
    assert records_for_write(nodes_)[0].extra == second.extra
