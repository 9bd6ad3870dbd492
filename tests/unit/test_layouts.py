"""Foreign layouts, pure: detection from described schemas (as Milvus Lite describes the
collections the official packages made), filters compiled onto foreign places (escaped),
rows read back as the other tool wrote them, and writes refused naming ``migrate``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pymilvus import DataType

from milvus_plugins.core import (
    CollectionSpec,
    ConfigError,
    FieldMapping,
    FilterError,
    ForeignLayoutError,
    LayoutKind,
    SchemaMismatchError,
    as_field_mapping,
    compile_filter,
    doc_id_in,
    eq,
    id_in,
    not_,
)
from milvus_plugins.core.layouts import bm25_outputs, detect_layout, resolve_layout, spec_for_layout
from milvus_plugins.core.ops.writes import refuse_foreign
from milvus_plugins.core.requests import output_fields
from milvus_plugins.core.rows import record_from_row
from milvus_plugins.core.types import SparseMode


def _field(name: str, kind: Any, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": kind, "params": extra.pop("params", {}), **extra}


def _langchain(
    pk: Any = DataType.VARCHAR, *, dynamic: bool = False, json_field: bool = False
) -> dict[str, Any]:
    fields = [
        _field("text", DataType.VARCHAR),
        _field("pk", pk, is_primary=True, auto_id=pk == DataType.INT64),
        _field("vector", DataType.FLOAT_VECTOR, params={"dim": 8}),
    ]
    if json_field:
        fields.append(_field("meta", DataType.JSON))
    elif not dynamic:
        fields += [_field("source", DataType.VARCHAR), _field("n", DataType.INT64)]
    return {"collection_name": "lc", "fields": fields, "enable_dynamic_field": dynamic}


LLAMA = {
    "collection_name": "li",
    "fields": [
        _field("id", DataType.VARCHAR, is_primary=True),
        _field("doc_id", DataType.VARCHAR),
        _field("text", DataType.VARCHAR),
        _field("embedding", DataType.FLOAT_VECTOR, params={"dim": 8}),
        _field("sparse_embedding", DataType.SPARSE_FLOAT_VECTOR),
    ],
    "functions": [{"type": 1, "output_field_names": "['sparse_embedding']"}],
    "enable_dynamic_field": True,
}


def _spec(description: dict[str, Any], layout: FieldMapping | None = None) -> CollectionSpec:
    found = layout or detect_layout(description)
    assert found is not None
    resolved = resolve_layout(found, description)
    index = {"metric_type": "L2", "index_type": "FLAT"}
    return spec_for_layout(CollectionSpec(name="c"), resolved, description, index)


def test_langchain_default_columns_become_typed_metadata() -> None:
    spec = _spec(_langchain())
    assert spec.layout is not None and spec.layout.layout_kind is LayoutKind.LANGCHAIN
    assert [d.name for d in spec.declared_fields] == ["source", "n"]
    assert spec.dim == 8 and spec.metric_type.value == "L2"
    assert spec.index_config is not None and spec.index_config.index_type.value == "FLAT"
    assert compile_filter(eq("source", 'x" or pk != "'), spec) == '(source == "x\\" or pk != \\"")'
    with pytest.raises(FilterError, match="columns"):
        compile_filter(eq("missing", 1), spec)


def test_langchain_dynamic_and_json_metadata_paths_are_escaped() -> None:
    dynamic = _spec(_langchain(dynamic=True))
    assert compile_filter(eq('a"]', 1), dynamic) == '($meta["a\\"]"] == 1)'
    json_spec = _spec(_langchain(json_field=True))
    assert compile_filter(eq("k", "v"), json_spec) == '(meta["k"] == "v")'
    assert "$meta" in output_fields(dynamic)
    assert "meta" in output_fields(json_spec)


def test_auto_id_keys_are_integers_in_filters() -> None:
    spec = _spec(_langchain(DataType.INT64))
    assert spec.layout is not None and spec.layout.auto_id
    assert compile_filter(id_in(["12", "-3"]), spec) == "(pk in [12, -3])"
    # An id no key reads back as names no row (int("012") would name row 12).
    never = compile_filter(id_in(["12; drop", "012", "+12", "-0"]), spec)
    assert "12" not in never and "drop" not in never
    assert compile_filter(id_in(["12; drop", "12"]), spec) == "(pk in [12])"
    # An empty-or constant on Milvus 2.3 (no bool literals) uses an integer bound, the
    # maximum: 2.3.5 cannot parse the minimum as a literal.
    expr = compile_filter(not_(id_in([])), spec, _no_bools())
    assert "9223372036854775807" in expr and "-9223372036854775808" not in expr


def _no_bools() -> Any:
    from milvus_plugins.core.filters.dialect import Dialect

    return Dialect(bool_literals=False)


def test_llama_layout_reads_node_metadata_and_hides_private_keys() -> None:
    spec = _spec(LLAMA)
    assert spec.sparse_mode is SparseMode.BM25 and spec.fields.sparse == "sparse_embedding"
    assert compile_filter(doc_id_in(["d1"]), spec) == '(doc_id in ["d1"])'
    node = {"metadata": {"nested": {"a": [1, 2]}, "n": 1}, "class_name": "TextNode"}
    row = {
        "id": "n1",
        "text": "hello",
        "doc_id": "d1",
        "_node_content": json.dumps(node),
        "_node_type": "TextNode",
        "ref_doc_id": "d1",
        "document_id": "d1",
        "n": 1,
        "nested": {"a": [1, 2]},
    }
    record = record_from_row(row, spec)
    assert record.metadata == {"nested": {"a": [1, 2]}, "n": 1}
    assert record.doc_id == "d1" and record.id == "n1"
    assert record.extra["foreign"]["_node_type"] == "TextNode"


def test_langchain_without_doc_id_field_refuses_doc_id_filters() -> None:
    with pytest.raises(FilterError, match="no document-id field"):
        compile_filter(doc_id_in(["x"]), _spec(_langchain()))


def test_native_layout_is_not_detected_as_foreign() -> None:
    native = {
        "fields": [
            _field(n, DataType.VARCHAR, is_primary=n == "id") for n in ("id", "text", "doc_id")
        ]
        + [
            _field("vector", DataType.FLOAT_VECTOR, params={"dim": 8}),
            _field("metadata", DataType.JSON),
            _field("extra", DataType.JSON),
        ]
    }
    assert detect_layout({"fields": native["fields"][:2]}) is None
    # llama-index's signature needs `embedding`: our own layout never matches it
    assert detect_layout(native) is None


def test_mapping_errors_name_the_field_and_the_fix() -> None:
    with pytest.raises(SchemaMismatchError, match=r"field_mapping\.vector"):
        resolve_layout(FieldMapping(id="pk", text="text", vector="emb"), _langchain())
    with pytest.raises(SchemaMismatchError, match=r"field_mapping\.id"):
        resolve_layout(FieldMapping(id="text", text="pk", vector="vector"), _langchain())
    with pytest.raises(ConfigError, match="distinct"):
        FieldMapping(id="a", text="a", vector="v")
    with pytest.raises(ConfigError, match="must be"):
        as_field_mapping("pk")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="unexpected keyword"):
        as_field_mapping({"id": "a", "text": "b", "vector": "c", "typo": 1})
    with pytest.raises(SchemaMismatchError, match="dim=4"):
        spec_for_layout(
            CollectionSpec(name="c", dim=4),
            resolve_layout(FieldMapping(id="pk", text="text", vector="vector"), _langchain()),
            _langchain(),
            None,
        )


def test_writes_to_a_foreign_layout_are_refused_naming_migrate() -> None:
    with pytest.raises(ForeignLayoutError, match="migrate"):
        refuse_foreign(_spec(_langchain()))
    refuse_foreign(CollectionSpec(name="native"))  # no error


def test_bm25_outputs_from_functions_or_from_flagged_sparse_fields() -> None:
    sparse = {"name": "sparse", "type": DataType.SPARSE_FLOAT_VECTOR, "is_function_output": True}
    dense = {"name": "emb", "type": DataType.FLOAT_VECTOR, "is_function_output": True}
    plain = {"name": "client", "type": DataType.SPARSE_FLOAT_VECTOR}
    listed = {"output_field_names": ["sparse"]}
    # Milvus Lite 2.5.1 describes no functions: a flagged sparse field is a BM25 output
    # (a flagged dense field is another kind of function's, and a plain one client data).
    assert bm25_outputs({"functions": [], "fields": [sparse, dense, plain]}) == {"sparse"}
    # Where functions are described, they alone say which fields they fill.
    assert bm25_outputs({"functions": [listed], "fields": [sparse, plain]}) == {"sparse"}
    assert bm25_outputs({"functions": [{"output_field_names": ["x"]}], "fields": [sparse]}) == {"x"}
    assert bm25_outputs({"fields": [plain]}) == set()
