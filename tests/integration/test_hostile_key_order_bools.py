"""Hostile, careless-user review of two changes (Milvus Lite, real Milvus, no mocks).

Change 1: metadata keys come back in the order they were written, although null-valued
keys are stored outside the metadata JSON (``extra["metadata_null_keys"]``) and declared
``metadata_fields`` in their own columns (``extra["metadata_key_order"]`` then keeps the
written order); both reserved keys are refused in a user's ``extra``.

Change 2: in the LlamaIndex adapter, ``EQ`` / ``NE`` / ``IN`` / ``NIN`` with ``0`` / ``1``
(``0.0`` / ``1.0``) also match ``False`` / ``True``, as LlamaIndex's own evaluator
(``build_metadata_filter_fn``, used by ``SimpleVectorStore``) does; on a declared BOOL
field they mean the bool, on a declared INT64 / DOUBLE field the number.

The oracle for change 2 is ``build_metadata_filter_fn`` (applied recursively for nested
``MetadataFilters``, which it does not take itself) and ``SimpleVectorStore``.

Tests marked ``# DEFECT (fixed):`` failed on the code as reviewed (402306b); their
comments say what happened and what should.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest
from langchain_core.documents import Document as LCDocument
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.vectorstores import InMemoryVectorStore
from llama_index.core import StorageContext, VectorStoreIndex
from llama_index.core.embeddings import MockEmbedding
from llama_index.core.schema import (
    MetadataMode,
    NodeRelationship,
    RelatedNodeInfo,
    TextNode,
)
from llama_index.core.vector_stores import SimpleVectorStore
from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
)
from llama_index.core.vector_stores.utils import build_metadata_filter_fn

from milvus_plugins.core import (
    CollectionSpec,
    ConnectionConfig,
    Grouping,
    MilvusStore,
    Record,
    eq,
    export_collection,
    import_collection,
    iter_records,
)
from milvus_plugins.core.exceptions import InvalidInputError, MilvusPluginsError
from milvus_plugins.core.records import KEY_ORDER, NULL_KEYS
from milvus_plugins.core.rows import json_sizes, records_to_rows
from milvus_plugins.langchain import MilvusVectorStore as LCMilvus
from milvus_plugins.llama_index import MilvusVectorStore as LIMilvus

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

Op = FilterOperator
Cond = FilterCondition


def _uri(tmp_path: Path) -> str:
    return str(tmp_path / "m.db")


def _vec(i: int) -> list[float]:
    return [1.0, 0.05 * (i + 1), 0.01 * (i % 7), 0.002 * i]


# =====================================================================================
# Change 1: key order, core
# =====================================================================================

DECLARED = {"year": "INT64", "score": "DOUBLE", "flag": "BOOL", "tag": "VARCHAR"}


def _order_metadatas() -> list[dict[str, Any]]:
    """Declared keys absent / None / present at the front, middle and end; JSON nulls
    before and after; unicode keys; keys named like the reserved extra keys; hundreds of
    keys in reverse order with every third null."""
    many: dict[str, Any] = {f"k{i:03d}": (None if i % 3 == 0 else i) for i in range(320, 0, -1)}
    many["year"] = 1999  # a declared column in the middle of hundreds of JSON keys
    many.update({f"j{i:03d}": i for i in range(40)})
    return [
        {"year": 2020, "title": "a", "z": None, "flag": True},
        {"z": None, "title": "b"},  # no declared key at all, null last: no order needed
        {"zeta": 1, "alpha": 2, "year": None, "score": 1.5},
        {"score": 2.5, "flag": False, "year": 1, "b": None, "a": None, "tag": "t"},
        {"tag": None, "flag": None, "score": None, "year": None},  # all declared, all null
        {
            "ü": 1,
            "日本語": {"nested": {"z": 1, "a": 2}},
            'a"b\\c': 3,
            "emoji 🙂": None,
            "metadata_key_order": ["x", "y"],
            "metadata_null_keys": None,
            "llama_index": "not private",
        },
        many,
        {"b": None, "a": None},  # only nulls
        {},
    ]


def _core_records(metadatas: list[dict[str, Any]]) -> list[Record]:
    return [
        Record(
            id=f"r{i}",
            text=f"text {i}",
            vector=_vec(i),
            metadata=dict(m),
            doc_id=f"doc{i % 3}",
            extra={"mine": {"metadata_key_order": "nested is fine"}, "z": 1, "a": 2},
        )
        for i, m in enumerate(metadatas)
    ]


def _check_order(records: list[Record], metadatas: list[dict[str, Any]], where: str) -> None:
    assert records, where
    for record in records:
        written = metadatas[int(record.id[1:])]
        assert record.metadata == written, (where, record.id)
        assert list(record.metadata) == list(written), (where, record.id)
        # The user's extra comes back as written, never with the reserved keys.
        assert record.extra == {"mine": {"metadata_key_order": "nested is fine"}, "z": 1, "a": 2}
        assert list(record.extra) == ["mine", "z", "a"], (where, record.id)


def test_core_key_order_survives_every_read_path(tmp_path: Path) -> None:
    metadatas = _order_metadatas()
    conn = ConnectionConfig(uri=_uri(tmp_path))
    store = MilvusStore(CollectionSpec(name="c", dim=4, metadata_fields=DECLARED), connection=conn)
    records = _core_records(metadatas)
    store.upsert(records)
    ids = [r.id for r in records]
    _check_order(store.get(ids), metadatas, "get")
    _check_order(store.query(), metadatas, "query")
    _check_order(store.query(limit=3, offset=2), metadatas, "page")
    _check_order(store.query(filter=eq("year", 1999)), metadatas, "filtered query")
    _check_order([h.record for h in store.search(_vec(0), k=20)], metadatas, "search")
    for grouping in (Grouping(), Grouping(by="year", size=2), Grouping(by="title", place="client")):
        hits = store.search(_vec(0), k=20, grouping=grouping)
        _check_order([h.record for h in hits], metadatas, f"search {grouping}")
    pages = list(iter_records(store, batch_rows=2))
    _check_order([r for page in pages for r in page], metadatas, "iter_records")
    # A fresh store that adopts the collection reads the same.
    adopted = MilvusStore(CollectionSpec(name="c"), connection=conn, open_mode="adopt")
    _check_order(adopted.get(ids), metadatas, "adopted get")


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_export_import_keeps_key_order(tmp_path: Path, fmt: str) -> None:
    metadatas = _order_metadatas()
    conn = ConnectionConfig(uri=_uri(tmp_path))
    store = MilvusStore(CollectionSpec(name="c", dim=4, metadata_fields=DECLARED), connection=conn)
    store.upsert(_core_records(metadatas))
    path = tmp_path / f"export.{fmt}"
    export_collection(store, path)
    # The file holds the metadata as written, and no reserved key in any extra.
    if fmt == "jsonl":
        lines = path.read_text(encoding="utf-8").splitlines()
        rows = [json.loads(line) for line in lines[1:] if line.strip()]
        rows = [row for row in rows if "metadata" in row]  # (no header / trailer)
        assert len(rows) == len(metadatas)
        for row in rows:
            assert list(row["metadata"]) == list(metadatas[int(row["id"][1:])]), row["id"]
            assert KEY_ORDER not in row["extra"] and NULL_KEYS not in row["extra"], row["id"]
    import_collection(path, "copy", connection=conn)
    copy = MilvusStore(CollectionSpec(name="copy"), connection=conn, open_mode="adopt")
    _check_order(copy.query(), metadatas, f"imported {fmt}")
    # Re-export of the copy is the same file content (nothing accumulates in extra).
    again = tmp_path / f"again.{fmt}"
    export_collection(copy, again)
    import_collection(again, "copy2", connection=conn)
    copy2 = MilvusStore(CollectionSpec(name="copy2"), connection=conn, open_mode="adopt")
    _check_order(copy2.query(), metadatas, f"re-imported {fmt}")


def test_upsert_same_id_with_another_order_reads_the_latest(tmp_path: Path) -> None:
    conn = ConnectionConfig(uri=_uri(tmp_path))
    store = MilvusStore(CollectionSpec(name="c", dim=4, metadata_fields=DECLARED), connection=conn)
    versions = [
        {"year": 1, "a": 1, "b": None},  # needs the stored order
        {"a": 1, "b": None, "year": 1},  # the order a read rebuilds: none stored
        {"b": None, "year": None, "a": 2},
        {"a": 3},  # declared key gone, no nulls
        {"flag": False, "year": 0, "z": None, "a": 0},
        OrderedDict([("q", 1), ("year", 5), ("p", None)]),
    ]
    for version in versions:
        store.upsert([Record(id="same", text="t", vector=_vec(1), metadata=version)])
        (got,) = store.get(["same"])
        assert got.metadata == dict(version)
        assert list(got.metadata) == list(version)
        assert got.extra == {}
        (hit,) = store.search(_vec(1), k=1)
        assert list(hit.record.metadata) == list(version)
    assert store.count() == 1


def test_reserved_extra_keys_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    conn = ConnectionConfig(uri=_uri(tmp_path))
    store = MilvusStore(CollectionSpec(name="c", dim=4, metadata_fields=DECLARED), connection=conn)
    store.upsert([Record(id="seed", text="t", vector=_vec(0), metadata={"year": 1, "a": None})])
    for reserved in (KEY_ORDER, NULL_KEYS):
        for value in (["year", "a"], [], None, "x"):
            batch = [
                Record(id="good1", text="t", vector=_vec(1), metadata={"a": 1}),
                Record(
                    id="bad",
                    text="t",
                    vector=_vec(2),
                    metadata={"a": None, "year": 2},
                    extra={"ok": 1, reserved: value},
                ),
                Record(id="good2", text="t", vector=_vec(3), metadata={"b": 1}),
            ]
            with pytest.raises(InvalidInputError, match=reserved):
                store.upsert(batch)
            assert store.count() == 1
            assert [r.id for r in store.query()] == ["seed"]
    (seed,) = store.get(["seed"])
    assert list(seed.metadata) == ["year", "a"]


def test_metadata_far_beyond_64k_writes_whole_batch_and_sizes_are_exact(tmp_path: Path) -> None:
    # Milvus Lite 3 has no JSON size limit; the stored key lists double the key names
    # into extra. The whole batch must be written and read back exactly (never a failure
    # mid-batch). json_sizes, which servers use to refuse before writing, must never
    # under-report what the write sends where that is over the limit.
    spec = CollectionSpec(name="c", dim=4, metadata_fields=DECLARED)
    conn = ConnectionConfig(uri=_uri(tmp_path))
    store = MilvusStore(spec, connection=conn)
    long_key = "k" * 60
    near: dict[str, Any] = {"year": 1}
    near.update({f"{i:05d}{long_key}": None for i in range(900)})  # ~60 KB of null keys
    near["tail"] = "x"
    big: dict[str, Any] = {f"{i:05d}{long_key}": (None if i % 2 else i) for i in range(4000)}
    big["score"] = 0.5
    batch = [
        Record(id="a", text="t", vector=_vec(0), metadata={"x": 1}),
        Record(id="near", text="t", vector=_vec(1), metadata=near),
        Record(id="big", text="t", vector=_vec(2), metadata=big, extra={"p": "q" * 1000}),
        Record(id="c", text="t", vector=_vec(3), metadata={"y": None, "year": 3}),
    ]
    store.upsert(batch)
    assert store.count() == 4
    got = {r.id: r for r in store.get(["a", "near", "big", "c"])}
    for record in batch:
        assert list(got[record.id].metadata) == list(record.metadata)
        assert got[record.id].metadata == record.metadata
    limit = 65536
    rows = records_to_rows(batch, spec, store_missing_as_null=True)
    for record, row in zip(batch, rows, strict=True):
        sizes = json_sizes(record, spec, limit)
        actual = (len(row["metadata"].encode()), len(row["extra"].encode()))
        for size, real in zip(sizes, actual, strict=True):
            if real > limit:
                assert size > limit, record.id
            if size <= limit:
                assert real <= limit, record.id


def test_reader_with_metadata_fields_in_another_order_keeps_written_order(tmp_path: Path) -> None:
    # DEFECT (fixed): a store opened (open_mode "check", accepted) with the same metadata_fields
    # in another order reads the declared keys back in ITS declaration order.
    # Written {"c": 3, "a": 1, "b": 2} with metadata_fields {"a", "b"}: the writer's read
    # would rebuild c, a, b (JSON keys, then columns in the writer's declared order), so
    # _split_metadata (core/rows.py) stores no key order; a reader declaring {"b", "a"}
    # rebuilds c, b, a in record_from_row. The written order must come back whatever
    # order a reader declares the same fields in (e.g. store the key order whenever two
    # or more declared columns are present, or rebuild columns in the collection
    # schema's order on both sides).
    conn = ConnectionConfig(uri=_uri(tmp_path))
    writer = MilvusStore(
        CollectionSpec(name="c", dim=4, metadata_fields={"a": "INT64", "b": "INT64"}),
        connection=conn,
    )
    written = [{"c": 3, "a": 1, "b": 2}, {"c": 3, "a": None, "b": None, "d": None}]
    writer.upsert(
        [
            Record(id=f"r{i}", text="t", vector=_vec(i), metadata=dict(m))
            for i, m in enumerate(written)
        ]
    )
    reader = MilvusStore(
        CollectionSpec(name="c", metadata_fields={"b": "INT64", "a": "INT64"}), connection=conn
    )
    got = {r.id: r for r in reader.get(["r0", "r1"])}
    for i, m in enumerate(written):
        assert got[f"r{i}"].metadata == m
        assert list(got[f"r{i}"].metadata) == list(m)


# =====================================================================================
# Change 1: LangChain
# =====================================================================================


def test_langchain_documents_keep_order_like_in_memory_store(tmp_path: Path) -> None:
    embedding = DeterministicFakeEmbedding(size=8)
    ours = LCMilvus(
        embedding,
        uri=_uri(tmp_path),
        collection_name="lc",
        metadata_fields={"year": "INT64", "source": "VARCHAR"},
    )
    ref = InMemoryVectorStore(embedding)
    metas = [
        {"title": "T", "author": None, "year": 2020, "page": 3, "source": "s1"},
        {"source": None, "year": None, "z": None, "a": 1},
        {"year": 7, "source": "s1", "ü": {"b": 1, "a": [None, 2]}, "n": None},
        {f"key{i}": (None if i % 4 == 0 else str(i)) for i in range(200, 0, -1)} | {"source": "s2"},
    ]
    docs = [
        LCDocument(id=f"d{i}", page_content=f"document number {i}", metadata=dict(m))
        for i, m in enumerate(metas)
    ]
    for store in (ours, ref):
        store.add_documents([LCDocument(**d.model_dump()) for d in docs])
    for doc in ours.get_by_ids([d.id for d in docs]):
        (expected,) = ref.get_by_ids([doc.id])
        assert doc.metadata == expected.metadata
        assert list(doc.metadata) == list(expected.metadata)
    for query in ("document number 2", "document number 3"):
        for doc in ours.similarity_search(query, k=4):
            assert list(doc.metadata) == list(metas[int(doc.id[1:])])
        for doc, _ in ours.similarity_search_with_score(query, k=4, group_by="source"):
            assert list(doc.metadata) == list(metas[int(doc.id[1:])])


def test_langchain_reopened_with_reordered_metadata_fields_keeps_order(tmp_path: Path) -> None:
    # DEFECT (fixed): same cause as the core test above (core/rows.py _split_metadata /
    # record_from_row): a second LangChain store on the collection that declares the same
    # metadata_fields in another dict order returns Document.metadata ['c', 'b', 'a']
    # for a Document written as ['c', 'a', 'b'].
    embedding = DeterministicFakeEmbedding(size=4)
    uri = _uri(tmp_path)
    first = LCMilvus(
        embedding, uri=uri, collection_name="lc", metadata_fields={"a": "INT64", "b": "INT64"}
    )
    first.add_documents([LCDocument(id="x", page_content="p", metadata={"c": 3, "a": 1, "b": 2})])
    second = LCMilvus(
        embedding, uri=uri, collection_name="lc", metadata_fields={"b": "INT64", "a": "INT64"}
    )
    (doc,) = second.get_by_ids(["x"])
    assert list(doc.metadata) == ["c", "a", "b"]
    (hit,) = second.similarity_search("p", k=1)
    assert list(hit.metadata) == ["c", "a", "b"]


# =====================================================================================
# Change 1: LlamaIndex
# =====================================================================================


def _li_nodes() -> list[TextNode]:
    return [
        TextNode(
            id_="a",
            text="alpha report",
            embedding=_vec(0),
            metadata={"tag": "x", "b": None, "year": 2020, "a": 1},
            relationships={
                NodeRelationship.SOURCE: RelatedNodeInfo(
                    node_id="doc1", metadata={"z": 1, "a": None, "metadata_key_order": [1]}
                ),
                NodeRelationship.NEXT: RelatedNodeInfo(node_id="b"),
            },
            excluded_llm_metadata_keys=["a"],
        ),
        TextNode(
            id_="b",
            text="beta report",
            embedding=_vec(1),
            metadata={"zz": None, "year": None, "m": "q", "tag": None},
            relationships={NodeRelationship.PREVIOUS: RelatedNodeInfo(node_id="a")},
        ),
        TextNode(
            id_="c",
            text="gamma report",
            embedding=_vec(2),
            metadata={f"f{i}": (None if i % 5 == 0 else i) for i in range(150, 0, -1)}
            | {"year": 1, "é": None, "tag": "x"},
        ),
        TextNode(id_="d", text="delta report", embedding=_vec(3), metadata={}),
    ]


def _same_node(got: Any, node: TextNode, where: str) -> None:
    assert list(got.metadata) == list(node.metadata), where
    assert got.metadata == node.metadata, where
    assert got.hash == node.hash, where
    assert got.get_content(metadata_mode=MetadataMode.LLM) == node.get_content(
        metadata_mode=MetadataMode.LLM
    ), where
    assert got.relationships == node.relationships, where


def test_llama_nodes_keep_order_hash_and_llm_content(tmp_path: Path) -> None:
    nodes = _li_nodes()
    store = LIMilvus(
        uri=_uri(tmp_path),
        collection_name="li",
        metadata_fields={"year": "INT64", "tag": "VARCHAR"},
        dim=4,
    )
    store.add(nodes)
    by_id = {n.node_id: n for n in nodes}
    for got in store.get_nodes([n.node_id for n in nodes]):
        _same_node(got, by_id[got.node_id], "get_nodes")
    result = store.query(VectorStoreQuery(query_embedding=_vec(0), similarity_top_k=10))
    assert sorted(result.ids) == sorted(by_id)
    for got in result.nodes:
        _same_node(got, by_id[got.node_id], "query")
    grouped = store.query(
        VectorStoreQuery(query_embedding=_vec(0), similarity_top_k=10), group_by="tag"
    )
    assert grouped.nodes
    for got in grouped.nodes:
        _same_node(got, by_id[got.node_id], "query group_by")

    async def read() -> Any:
        return await store.aquery(VectorStoreQuery(query_embedding=_vec(2), similarity_top_k=10))

    for got in asyncio.run(read()).nodes:
        _same_node(got, by_id[got.node_id], "aquery")
    # Re-adding the same ids in another key order: the latest order comes back.
    reordered = [
        TextNode(
            id_=n.node_id,
            text=n.text,
            embedding=n.embedding,
            metadata=dict(reversed(list(n.metadata.items()))),
            relationships=n.relationships,
        )
        for n in nodes
    ]
    store.add(reordered)
    for got in store.get_nodes([n.node_id for n in reordered]):
        _same_node(got, {n.node_id: n for n in reordered}[got.node_id], "re-added")


def test_llama_metadata_keys_named_like_fields_keep_order(tmp_path: Path) -> None:
    # DEFECT (fixed): a node whose metadata holds keys named like the collection's fields ("id",
    # "doc_id", "text" ...: common in loaders' metadata) comes back with those keys moved
    # to the END, sorted: {"id", "title", "doc_id", "a", "z"} reads back as
    # ['title', 'a', 'z', 'doc_id', 'id'], so node.hash and the LLM text differ from the
    # ingested node's (and from SimpleVectorStore's). Cause: llama_index/nodes.py
    # _node_record() moves them into extra["llama_index"]["reserved_metadata"] (sorted)
    # and record_to_node() appends them after record.metadata; the key order kept by the
    # core covers only record.metadata. Fix: store the full written key order with the
    # reserved keys (e.g. a list of the node's metadata keys in extra, or an ordered list
    # of pairs) and rebuild the dict in that order in record_to_node.
    node = TextNode(
        id_="x",
        text="hello",
        embedding=_vec(0),
        metadata={"id": "abc", "title": "T", "doc_id": "d", "a": 1, "z": None, "text": "t"},
    )
    store = LIMilvus(uri=_uri(tmp_path), collection_name="li", dim=4)
    store.add([node])
    (got,) = store.get_nodes(["x"])
    _same_node(got, node, "get_nodes")


# =====================================================================================
# Change 2: LlamaIndex 0/1 equality filters and bools
# =====================================================================================

FLAG_VALUES: list[Any] = [
    True, False, 1, 0, 1.0, 0.0, 2, -1, 0.5, "1", "true", None, "MISSING", [1], [True], {"a": 1},
]  # fmt: skip


def _flag_nodes(values: list[Any] = FLAG_VALUES) -> list[TextNode]:
    nodes = []
    for i, value in enumerate(values):
        metadata: dict[str, Any] = {"i": i, "other": i % 2 == 0}
        if value != "MISSING":
            metadata["flag"] = value
        nodes.append(
            TextNode(id_=f"n{i:02d}", text=f"node {i}", embedding=_vec(i), metadata=metadata)
        )
    return nodes


def _ref(filters: MetadataFilters | MetadataFilter, metadata: dict[str, Any]) -> bool:
    """LlamaIndex's own evaluator, recursively (it refuses nested filters itself)."""
    if isinstance(filters, MetadataFilter):
        single = MetadataFilters(filters=[filters])
        return build_metadata_filter_fn(lambda _: metadata, single)("node")
    results = [_ref(f, metadata) for f in filters.filters]
    condition = filters.condition or Cond.AND
    if condition == Cond.AND:
        return all(results)
    if condition == Cond.OR:
        return any(results)
    return not any(results)


def _expected(filters: MetadataFilters, nodes: list[TextNode]) -> list[str]:
    return sorted(n.node_id for n in nodes if _ref(filters, n.metadata))


def F(key: str, value: Any, op: FilterOperator = Op.EQ) -> MetadataFilter:
    return MetadataFilter(key=key, value=value, operator=op)


def _flag_filters() -> list[MetadataFilters]:
    out = []
    for op in (Op.EQ, Op.NE):
        for value in (0, 1, 0.0, 1.0, 2):
            out.append(MetadataFilters(filters=[F("flag", value, op)]))
    for op in (Op.IN, Op.NIN):
        for value in ([0], [1], [0, 1], [0, 1, 2], [1.0, 0.5], [2, -1], ["1", "true"], [0.0]):
            out.append(MetadataFilters(filters=[F("flag", value, op)]))
    out += [
        MetadataFilters(filters=[F("flag", 1), F("other", 1)], condition=Cond.NOT),
        MetadataFilters(filters=[F("flag", 0), F("other", 0)], condition=Cond.OR),
        MetadataFilters(
            filters=[
                MetadataFilters(filters=[F("flag", 0), F("other", 0, Op.NE)], condition=Cond.OR),
                F("flag", [1, 2], Op.NIN),
            ],
            condition=Cond.NOT,
        ),
        MetadataFilters(
            filters=[
                MetadataFilters(filters=[F("flag", 1, Op.NE), F("other", 1)]),
                MetadataFilters(filters=[F("flag", [0, 2], Op.IN)], condition=Cond.NOT),
            ],
            condition=Cond.OR,
        ),
        MetadataFilters(
            filters=[
                MetadataFilters(
                    filters=[MetadataFilters(filters=[F("flag", 1)], condition=Cond.NOT)],
                    condition=Cond.NOT,
                ),
                F("other", 1, Op.NE),
            ]
        ),
    ]
    return out


def _ids(nodes: list[Any]) -> list[str]:
    return sorted(n.node_id for n in nodes)


def _check_reads(store: LIMilvus, nodes: list[TextNode], label: str) -> None:
    wrong = []
    for filters in _flag_filters():
        expected = _expected(filters, nodes)
        got = _ids(store.get_nodes(filters=filters))
        query = VectorStoreQuery(query_embedding=_vec(0), similarity_top_k=50, filters=filters)
        searched = sorted(store.query(query).ids)
        filter_only = sorted(
            store.query(VectorStoreQuery(similarity_top_k=50, filters=filters)).ids
        )
        if not got == searched == filter_only == expected:
            wrong.append((filters, got, searched, filter_only, expected))
    assert not wrong, (label, wrong)


def test_01_filters_on_json_key_match_llama_reference(tmp_path: Path) -> None:
    nodes = _flag_nodes()
    store = LIMilvus(uri=_uri(tmp_path), collection_name="j", dim=4, infer_metadata_fields=False)
    store.add(nodes)
    _check_reads(store, nodes, "json key")

    async def reads() -> list[tuple[list[str], list[str]]]:
        out = []
        for filters in _flag_filters()[::3]:
            query = VectorStoreQuery(query_embedding=_vec(0), similarity_top_k=50, filters=filters)
            result = await store.aquery(query)
            out.append((sorted(result.ids), _expected(filters, nodes)))
        return out

    for got, expected in asyncio.run(reads()):
        assert got == expected


def test_01_filters_through_retriever_match_simple_vector_store(tmp_path: Path) -> None:
    nodes = _flag_nodes()
    embed = MockEmbedding(embed_dim=4)
    ours = LIMilvus(uri=_uri(tmp_path), collection_name="r", dim=4)
    indexes = {}
    for name, vs in (("ours", ours), ("ref", SimpleVectorStore())):
        indexes[name] = VectorStoreIndex(
            [n.model_copy() for n in nodes],
            storage_context=StorageContext.from_defaults(vector_store=vs),
            embed_model=embed,
        )
    flat = [f for f in _flag_filters() if all(isinstance(x, MetadataFilter) for x in f.filters)]
    for filters in flat:
        got = {}
        for name, index in indexes.items():
            retriever = index.as_retriever(similarity_top_k=50, filters=filters)
            got[name] = sorted(h.node.node_id for h in retriever.retrieve("node"))
        assert got["ours"] == got["ref"] == _expected(filters, nodes), filters


DELETE_FILTERS = [
    MetadataFilters(filters=[F("flag", 1)]),
    MetadataFilters(filters=[F("flag", 0.0)]),
    MetadataFilters(filters=[F("flag", 1, Op.NE)]),
    MetadataFilters(filters=[F("flag", [0, 1, 2], Op.IN)]),
    MetadataFilters(filters=[F("flag", [0, 1], Op.NIN)]),
    MetadataFilters(filters=[F("flag", [2], Op.NIN)]),
    MetadataFilters(filters=[F("flag", 0), F("other", 1)], condition=Cond.NOT),
    MetadataFilters(
        filters=[
            MetadataFilters(filters=[F("flag", 1, Op.NE), F("other", 0)], condition=Cond.OR),
            F("flag", [0, 2], Op.NIN),
        ],
        condition=Cond.AND,
    ),
]


def _check_deletes(store: LIMilvus, nodes: list[TextNode], label: str, use_async: bool) -> None:
    everything = _ids(nodes)
    for filters in DELETE_FILTERS:
        store.add([n.model_copy() for n in nodes])
        assert _ids(store.get_nodes()) == everything
        if use_async:
            asyncio.run(store.adelete_nodes(filters=filters))
        else:
            store.delete_nodes(filters=filters)
        deleted = set(_expected(filters, nodes))
        left = _ids(store.get_nodes())
        assert left == sorted(set(everything) - deleted), (label, filters)
    # node_ids and filters together delete the intersection; an empty id list nothing.
    filters = MetadataFilters(filters=[F("flag", [1, 0], Op.IN)])
    some = everything[::2]
    store.add([n.model_copy() for n in nodes])
    store.delete_nodes(node_ids=[], filters=filters)
    assert _ids(store.get_nodes()) == everything, label
    if use_async:
        asyncio.run(store.adelete_nodes(node_ids=some, filters=filters))
    else:
        store.delete_nodes(node_ids=some, filters=filters)
    deleted = set(some) & set(_expected(filters, nodes))
    assert _ids(store.get_nodes()) == sorted(set(everything) - deleted), label


@pytest.mark.parametrize("use_async", [False, True], ids=["delete_nodes", "adelete_nodes"])
def test_delete_nodes_with_01_deletes_exactly_what_the_reference_selects(
    tmp_path: Path, use_async: bool
) -> None:
    nodes = _flag_nodes()
    store = LIMilvus(uri=_uri(tmp_path), collection_name="d", dim=4, infer_metadata_fields=False)
    _check_deletes(store, nodes, "json key", use_async)


@pytest.mark.parametrize("first_kind", ["bools", "numbers"])
def test_accelerated_column_then_other_kinds_stays_like_the_reference(
    tmp_path: Path, first_kind: str
) -> None:
    # The first write holds only bools (or only numbers), with nulls / missing keys, for
    # "flag": an accelerator column (BOOL / DOUBLE) is inferred. A second store opens
    # the collection then; later writes put the other kinds under the same key. Both
    # stores must answer (and delete, sync and async) like the reference.
    nodes = _flag_nodes()

    def first_write(node: TextNode) -> bool:
        value = node.metadata.get("flag")
        if value is None:
            return True
        if first_kind == "bools":
            return isinstance(value, bool)
        return type(value) in (int, float)

    first = [n for n in nodes if first_write(n)]
    rest = [n for n in nodes if not first_write(n)]
    uri = _uri(tmp_path)
    store = LIMilvus(uri=uri, collection_name="acc", dim=4)
    store.add(first)
    assert "flag" in {f.name for f in store.spec.accelerated_fields}
    _check_reads(store, first, "first kind only")
    other = LIMilvus(uri=uri, collection_name="acc")
    assert other.get_nodes([first[0].node_id])  # opened before the other kinds arrive
    store.add(rest)
    _check_reads(store, nodes, "writer after other kinds")
    _check_reads(other, nodes, "other store after other kinds")
    _check_deletes(other, nodes, "other store deletes", use_async=first_kind == "numbers")


def test_declared_bool_int_double_01_mean_the_column_type(tmp_path: Path) -> None:
    values: list[tuple[Any, Any, Any]] = [
        (True, 1, 1.0), (False, 0, 0.0), (None, 2, 2.5), ("MISSING", None, -0.0),
        (True, -1, None), (False, 1, 1.0), (None, 0, 0.5),
    ]  # fmt: skip
    nodes = []
    for i, (flag, n, x) in enumerate(values):
        metadata: dict[str, Any] = {"n": n, "x": x}
        if flag != "MISSING":
            metadata["flag"] = flag
        nodes.append(TextNode(id_=f"n{i:02d}", text=f"t{i}", embedding=_vec(i), metadata=metadata))
    store = LIMilvus(
        uri=_uri(tmp_path),
        collection_name="decl",
        dim=4,
        metadata_fields={"flag": "BOOL", "n": "INT64", "x": "DOUBLE"},
    )
    store.add(nodes)
    cases = []
    for key in ("flag", "n", "x"):
        for op in (Op.EQ, Op.NE):
            for value in (0, 1, 0.0, 1.0) if key != "n" else (0, 1):
                cases.append(MetadataFilters(filters=[F(key, value, op)]))
        for op in (Op.IN, Op.NIN):
            for value in ([0], [1], [0, 1]) if key != "x" else ([0], [1.0], [0, 1]):
                cases.append(MetadataFilters(filters=[F(key, value, op)]))
    cases.append(
        MetadataFilters(
            filters=[
                F("flag", 1),
                MetadataFilters(filters=[F("n", 1), F("x", 0)], condition=Cond.OR),
            ],
            condition=Cond.NOT,
        )
    )
    for filters in cases:
        expected = _expected(filters, nodes)
        assert _ids(store.get_nodes(filters=filters)) == expected, filters
        query = VectorStoreQuery(query_embedding=_vec(0), similarity_top_k=50, filters=filters)
        assert sorted(store.query(query).ids) == expected, filters
    # Deletes on the declared BOOL column, sync and async.
    for filters, use_async in (
        (MetadataFilters(filters=[F("flag", 1)]), False),
        (MetadataFilters(filters=[F("flag", 0, Op.NE)]), True),
        (MetadataFilters(filters=[F("flag", [0], Op.NIN), F("n", 1)], condition=Cond.OR), False),
    ):
        store.add([n.model_copy() for n in nodes])
        if use_async:
            asyncio.run(store.adelete_nodes(filters=filters))
        else:
            store.delete_nodes(filters=filters)
        left = _ids(store.get_nodes())
        assert left == sorted(set(_ids(nodes)) - set(_expected(filters, nodes))), filters


def test_declared_bool_in_list_mixing_0_1_2_matches_reference(tmp_path: Path) -> None:
    # DEFECT (fixed): on a declared BOOL field, IN / NIN with [0, 1, 2] raise FilterError
    # ("2 does not fit the declared type BOOL"), although LlamaIndex's evaluator (and this
    # store on an undeclared key holding the same values) selects every True/False node
    # for IN and only the nodes without a flag for NIN. llama_index/filters.py
    # _equality maps 0/1 to bools for a BOOL column but passes the other numbers on to
    # the core, whose check_value_type refuses them. Fix: on a BOOL column drop the list
    # members that are no 0/1 number (no bool equals them) before building in_/nin (and
    # make EQ/NE with such a number the constant false/"present-or-missing" filter).
    nodes = [
        TextNode(id_=f"n{i}", text="t", embedding=_vec(i), metadata=m)
        for i, m in enumerate([{"flag": True}, {"flag": False}, {"flag": None}, {}])
    ]
    store = LIMilvus(
        uri=_uri(tmp_path), collection_name="b", dim=4, metadata_fields={"flag": "BOOL"}
    )
    store.add(nodes)
    for op in (Op.IN, Op.NIN):
        filters = MetadataFilters(filters=[F("flag", [0, 1, 2], op)])
        assert _ids(store.get_nodes(filters=filters)) == _expected(filters, nodes), op


def test_declared_int64_with_float_0_1_means_the_number(tmp_path: Path) -> None:
    # DEFECT (fixed): the change says 0.0 / 1.0 mean the number on a declared INT64 field, but
    # EQ 1.0 (and IN [0.0, 1.0]) on an INT64 column raise FilterError ("1.0 does not fit
    # the declared type INT64"), while LlamaIndex's evaluator selects the node with 1
    # (1 == 1.0). llama_index/filters.py _equality passes the floats on unchanged for
    # number columns. Fix: on an INT64 column, turn integral floats into ints (0.0 -> 0,
    # 1.0 -> 1) before building the filter.
    nodes = [
        TextNode(id_=f"n{i}", text="t", embedding=_vec(i), metadata={"page": p})
        for i, p in enumerate([0, 1, 2, None])
    ]
    store = LIMilvus(
        uri=_uri(tmp_path), collection_name="i", dim=4, metadata_fields={"page": "INT64"}
    )
    store.add(nodes)
    for filters in (
        MetadataFilters(filters=[F("page", 1.0)]),
        MetadataFilters(filters=[F("page", [0.0, 1.0], Op.IN)]),
    ):
        assert _ids(store.get_nodes(filters=filters)) == _expected(filters, nodes), filters


@pytest.mark.parametrize("open_mode", ["check", "adopt"])
def test_reopened_store_first_01_filter_uses_the_collections_declared_types(
    tmp_path: Path, open_mode: str
) -> None:
    # DEFECT (fixed): a store opened on an existing collection (uri + collection_name, the usual
    # "load my index" flow, or open_mode="adopt") whose declared fields it was not told:
    # its FIRST filtered call with 0/1 raises FilterError ("True does not fit the
    # declared type INT64" / "1 does not fit the declared type BOOL"); the same call
    # works once anything has opened the collection. get_nodes, query, aquery,
    # delete_nodes, adelete_nodes and as_retriever(filters=...) are all hit, for BOOL,
    # INT64 and DOUBLE columns. Cause: llama_index/reads.py _nodes_query,
    # writes.py _nodes_deletion and access.py _plan call node_filter(...,
    # spec=self._store.spec) BEFORE the collection is opened, so declared_types() sees
    # the constructor's spec (no declared fields) and _equality builds the JSON-key form
    # or(eq(k, 1), eq(k, True)); the core then compiles it against the opened spec and
    # check_value_type refuses the bool on INT64 (the number on BOOL). (A regression:
    # eq(page, 1) on INT64 worked before.) Fix: open the collection (self._store.exists())
    # before translating filters when the session has not opened it yet, or make the
    # translation lazy so the core resolves 0/1 against the effective spec.
    uri = _uri(tmp_path)
    creator = LIMilvus(
        uri=uri,
        collection_name="c",
        dim=4,
        metadata_fields={"flag": "BOOL", "page": "INT64", "w": "DOUBLE"},
    )
    nodes = [
        TextNode(
            id_=f"n{i}",
            text="t",
            embedding=_vec(i),
            metadata={"flag": i % 2 == 1, "page": i % 3, "w": float(i % 2)},
        )
        for i in range(6)
    ]
    creator.add(nodes)

    def fresh() -> LIMilvus:
        return LIMilvus(uri=uri, collection_name="c", open_mode=open_mode)

    calls = {
        "get_nodes": lambda s, f: _ids(s.get_nodes(filters=f)),
        "query": lambda s, f: sorted(
            s.query(VectorStoreQuery(query_embedding=_vec(0), similarity_top_k=50, filters=f)).ids
        ),
        "aquery": lambda s, f: sorted(
            asyncio.run(
                s.aquery(VectorStoreQuery(query_embedding=_vec(0), similarity_top_k=50, filters=f))
            ).ids
        ),
        "retriever": lambda s, f: sorted(
            h.node.node_id
            for h in VectorStoreIndex.from_vector_store(s, embed_model=MockEmbedding(embed_dim=4))
            .as_retriever(similarity_top_k=50, filters=f)
            .retrieve("t")
        ),
    }
    failures = []
    for key in ("flag", "page", "w"):
        filters = MetadataFilters(filters=[F(key, 1)])
        creator.add([n.model_copy() for n in nodes])  # back after the last key's deletes
        for name, call in calls.items():
            try:
                got = call(fresh(), filters)
            except MilvusPluginsError as exc:
                got = f"{type(exc).__name__}: {exc}"
            if got != _expected(filters, nodes):
                failures.append((name, key, got))
        for use_async in (False, True):
            creator.add([n.model_copy() for n in nodes])
            store = fresh()
            try:
                if use_async:
                    asyncio.run(store.adelete_nodes(filters=filters))
                else:
                    store.delete_nodes(filters=filters)
            except MilvusPluginsError as exc:
                failures.append(("adelete_nodes" if use_async else "delete_nodes", key, str(exc)))
                continue
            left = _ids(creator.get_nodes())
            if left != sorted(set(_ids(nodes)) - set(_expected(filters, nodes))):
                failures.append(("delete", key, left))
    assert not failures, failures


def test_oracle_sanity_llama_evaluator_and_hash_depend_on_bools_and_order() -> None:
    # Sanity of the oracle: LlamaIndex's evaluator matches True for 1 and 1.0 (the
    # behaviour the change copies), and a node's metadata order shows in its hash.
    assert _ref(MetadataFilters(filters=[F("k", 1)]), {"k": True})
    assert _ref(MetadataFilters(filters=[F("k", 0.0)]), {"k": False})
    assert not _ref(MetadataFilters(filters=[F("k", 1, Op.NE)]), {"k": True})
    assert _ref(MetadataFilters(filters=[F("k", [0, 1], Op.NIN)]), {})
    a = TextNode(id_="x", text="t", metadata={"a": 1, "b": 2})
    b = TextNode(id_="x", text="t", metadata={"b": 2, "a": 1})
    assert a.hash != b.hash
    assert json.dumps(a.metadata) != json.dumps(b.metadata)


@pytest.mark.parametrize("mode", ["default", "mmr", "hybrid", "text_search", "sparse"])
def test_llama_every_query_mode_keeps_order_and_hash(tmp_path: Path, mode: str) -> None:
    nodes = [
        TextNode(
            id_="a",
            text="alpha beta",
            embedding=_vec(0),
            metadata={"year": 1, "a": None, "z": 2, "tag": "x"},
        ),
        TextNode(
            id_="b",
            text="beta gamma",
            embedding=_vec(5),
            metadata={"b": None, "tag": None, "year": 3, "a": 1},
        ),
    ]
    store = LIMilvus(
        uri=_uri(tmp_path),
        collection_name="h",
        dim=4,
        enable_sparse=True,
        metadata_fields={"year": "INT64", "tag": "VARCHAR"},
    )
    store.add(nodes)
    by_id = {n.node_id: n for n in nodes}
    query = VectorStoreQuery(
        query_embedding=_vec(0), query_str="beta", similarity_top_k=5, mode=mode
    )
    result = store.query(query)
    assert sorted(result.ids) == ["a", "b"]
    for got in result.nodes:
        _same_node(got, by_id[got.node_id], mode)
