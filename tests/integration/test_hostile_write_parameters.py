"""Hostile, careless values for every write-side parameter the frameworks document (Milvus Lite).

Each LangChain and LlamaIndex write parameter (adds, re-adds, deletes, clears, class
constructors, index-level inserts and deletes) is checked against the framework's
reference store (LangChain's ``InMemoryVectorStore``, LlamaIndex's ``SimpleVectorStore``)
or against the framework's documented meaning. Where the package cannot do what is asked,
the acceptable answer is a typed ``milvus_plugins`` error naming the parameter with
nothing written or deleted: never a silently ignored parameter, a row nobody asked for,
or a bare TypeError / KeyError / AttributeError from inside the library.
``test_hostile_query_parameters.py`` does the read side the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.documents import Document as LCDocument
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.indexing import InMemoryRecordManager, index
from langchain_core.vectorstores import InMemoryVectorStore, VectorStore
from llama_index.core import StorageContext, VectorStoreIndex
from llama_index.core.schema import (
    BaseNode,
    IndexNode,
    NodeRelationship,
    RelatedNodeInfo,
    TextNode,
)
from llama_index.core.schema import Document as LIDocument
from llama_index.core.vector_stores import SimpleVectorStore
from llama_index.core.vector_stores.types import MetadataFilter, MetadataFilters
from tests.llama_index.conftest import KeywordEmbedding

from milvus_plugins.core.exceptions import InvalidInputError, MilvusPluginsError
from milvus_plugins.langchain import MilvusVectorStore as LCMilvus
from milvus_plugins.llama_index import MilvusVectorStore as LIMilvus

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

DIM = 8
PROBE = ["a", "b", "c", "d", "1", "2", "x", "y"]


def _emb() -> DeterministicFakeEmbedding:
    return DeterministicFakeEmbedding(size=DIM)


def _lc(tmp_path: Path, name: str = "w") -> LCMilvus:
    return LCMilvus(_emb(), uri=str(tmp_path / "lc.db"), collection_name=name)


def _lc_rows(vs: VectorStore, ids: list[str] | None = None) -> list[tuple[Any, str, Any]]:
    found = vs.get_by_ids(ids if ids is not None else PROBE)
    return sorted((d.id, d.page_content, d.metadata) for d in found)


def _typed_error_naming(exc: pytest.ExceptionInfo[BaseException], *names: str) -> None:
    assert isinstance(exc.value, MilvusPluginsError), repr(exc.value)
    assert any(n in str(exc.value) for n in names), str(exc.value)


def _seeded_pair(tmp_path: Path) -> tuple[LCMilvus, InMemoryVectorStore]:
    ours, ref = _lc(tmp_path), InMemoryVectorStore(_emb())
    for vs in (ours, ref):
        vs.add_texts(["seed a", "seed b"], [{"s": 1}, {"s": 2}], ids=["a", "b"])
    return ours, ref


# ------------------------------------------------------- LangChain: add_texts texts ----


def _gen(texts: list[str]) -> Iterator[str]:
    yield from texts


def test_lc_add_texts_generator_is_written_whole(tmp_path: Path) -> None:
    # InMemoryVectorStore consumes a generator twice (and fails); the documented
    # Iterable[str] must be read once, every text kept, in order.
    ours = _lc(tmp_path)
    assert ours.add_texts(_gen(["x", "y"]), [{"n": 1}, {"n": 2}], ids=["x", "y"]) == ["x", "y"]
    assert _lc_rows(ours) == [("x", "x", {"n": 1}), ("y", "y", {"n": 2})]


def test_lc_add_texts_bare_str_is_refused_with_nothing_written(tmp_path: Path) -> None:
    ours, _ = _seeded_pair(tmp_path)
    before = _lc_rows(ours)
    with pytest.raises(Exception) as exc:
        ours.add_texts("xy", ids=["x", "y"])
    _typed_error_naming(exc, "texts")
    assert _lc_rows(ours) == before


def test_lc_add_texts_empty_list_writes_nothing_like_reference(tmp_path: Path) -> None:
    ours, ref = _seeded_pair(tmp_path)
    assert ours.add_texts([]) == ref.add_texts([]) == []
    assert ours.add_texts([], metadatas=[], ids=[]) == []
    assert _lc_rows(ours) == _lc_rows(ref)


@pytest.mark.parametrize("text", [None, 1, b"bytes", ["x"]])
def test_lc_add_texts_non_str_text_is_typed_and_writes_nothing(tmp_path: Path, text: Any) -> None:
    ours, ref = _seeded_pair(tmp_path)
    with pytest.raises(Exception) as exc:
        ours.add_texts(["ok", text], ids=["x", "y"])
    _typed_error_naming(exc, "text")
    assert _lc_rows(ours) == _lc_rows(ref)


# --------------------------------------------------- LangChain: add_texts metadatas ----


@pytest.mark.parametrize("metadatas", [[{"k": 1}], [{"k": 1}, {"k": 2}, {"k": 3}]])
def test_lc_add_texts_metadatas_of_wrong_length_are_refused_like_reference(
    tmp_path: Path, metadatas: list[dict[str, Any]]
) -> None:
    ours, ref = _seeded_pair(tmp_path)
    with pytest.raises(ValueError):
        ref.add_texts(["x", "y"], metadatas, ids=["x", "y"])
    with pytest.raises(Exception) as exc:
        ours.add_texts(["x", "y"], metadatas, ids=["x", "y"])
    _typed_error_naming(exc, "metadatas")
    assert _lc_rows(ours) == _lc_rows(ref)


def test_lc_add_texts_none_metadata_entry_reads_back_as_empty_dict(tmp_path: Path) -> None:
    ours = _lc(tmp_path)
    metadatas: list[Any] = [None, {"k": 2}]
    assert ours.add_texts(["x", "y"], metadatas, ids=["x", "y"]) == ["x", "y"]
    assert _lc_rows(ours) == [("x", "x", {}), ("y", "y", {"k": 2})]


@pytest.mark.parametrize("metadatas", [{"x": {"k": 1}}, "k", [1, {"k": 2}], [["k", 1], {}]])
def test_lc_add_texts_metadatas_of_wrong_kind_are_typed_and_write_nothing(
    tmp_path: Path, metadatas: Any
) -> None:
    ours, ref = _seeded_pair(tmp_path)
    with pytest.raises(Exception) as exc:
        ours.add_texts(["x", "y"], metadatas, ids=["x", "y"])
    _typed_error_naming(exc, "metadatas")
    assert _lc_rows(ours) == _lc_rows(ref)


def test_lc_add_texts_does_not_change_the_callers_metadata(tmp_path: Path) -> None:
    ours = _lc(tmp_path)
    metadatas = [{"k": [1, 2], "n": {"a": 1}}]
    ours.add_texts(["x"], metadatas, ids=["x"])
    assert metadatas == [{"k": [1, 2], "n": {"a": 1}}]
    assert _lc_rows(ours) == [("x", "x", {"k": [1, 2], "n": {"a": 1}})]


# --------------------------------------------------------- LangChain: add_texts ids ----


@pytest.mark.parametrize("missing", [None, ""])
def test_lc_add_texts_missing_id_entries_are_generated_like_reference(
    tmp_path: Path, missing: str | None
) -> None:
    ours, ref = _lc(tmp_path), InMemoryVectorStore(_emb())
    got = ours.add_texts(["x", "y"], ids=[missing, "y"])  # type: ignore[list-item]
    expected = ref.add_texts(["x", "y"], ids=[missing, "y"])  # type: ignore[list-item]
    assert len(got) == len(expected) == 2
    assert got[1] == expected[1] == "y"
    assert isinstance(got[0], str) and got[0] not in ("", "y")
    assert [(d.id, d.page_content) for d in ours.get_by_ids(got)] == [(got[0], "x"), ("y", "y")]


@pytest.mark.parametrize("ids", [["x"], ["x", "y", "z"]])
def test_lc_add_texts_ids_of_wrong_length_are_refused_like_reference(
    tmp_path: Path, ids: list[str]
) -> None:
    # (InMemoryVectorStore refuses more ids than texts, and zips fewer away silently.)
    ours, ref = _seeded_pair(tmp_path)
    with pytest.raises(Exception) as exc:
        ours.add_texts(["x", "y"], ids=ids)
    _typed_error_naming(exc, "ids")
    assert _lc_rows(ours) == _lc_rows(ref)


def test_lc_add_texts_duplicate_ids_in_one_call_are_refused_with_nothing_written(
    tmp_path: Path,
) -> None:
    # InMemoryVectorStore keeps the last; a typed refusal with nothing written is the
    # acceptable alternative (never two rows with one id, never the first silently).
    ours, _ = _seeded_pair(tmp_path)
    before = _lc_rows(ours)
    with pytest.raises(Exception) as exc:
        ours.add_texts(["x", "y", "z"], ids=["c", "d", "c"])
    _typed_error_naming(exc, "id")
    assert _lc_rows(ours) == before


@pytest.mark.parametrize("ids", [[1, 2], [1.5, "y"], [b"x", "y"], [("x",), "y"]])
def test_lc_add_texts_non_str_ids_are_typed_and_write_nothing(tmp_path: Path, ids: Any) -> None:
    ours, _ = _seeded_pair(tmp_path)
    before = _lc_rows(ours)
    with pytest.raises(Exception) as exc:
        ours.add_texts(["x", "y"], ids=ids)
    _typed_error_naming(exc, "id")
    assert _lc_rows(ours) == before
    assert ours.get_by_ids(["1", "2", "x", "y"]) == []


@pytest.mark.parametrize("ids", [{"x": 1, "y": 2}, {"x", "y"}, "xy"])
def test_lc_add_texts_ids_not_a_list_are_typed_and_write_nothing(tmp_path: Path, ids: Any) -> None:
    ours, _ = _seeded_pair(tmp_path)
    before = _lc_rows(ours)
    with pytest.raises(Exception) as exc:
        ours.add_texts(["x", "y"], ids=ids)
    _typed_error_naming(exc, "ids")
    assert _lc_rows(ours) == before


def test_lc_add_texts_ids_as_tuple_are_kept_like_reference(tmp_path: Path) -> None:
    ours, ref = _lc(tmp_path), InMemoryVectorStore(_emb())
    for vs in (ours, ref):
        metadatas: Any = ({"k": 1}, {"k": 2})
        ids: Any = ("x", "y")
        assert vs.add_texts(("x", "y"), metadatas, ids=ids) == ["x", "y"]
    assert _lc_rows(ours) == _lc_rows(ref)


def test_lc_add_texts_unknown_keyword_is_typed_and_writes_nothing(tmp_path: Path) -> None:
    ours, _ = _seeded_pair(tmp_path)
    before = _lc_rows(ours)
    with pytest.raises(Exception) as exc:
        ours.add_texts(["x"], ids=["x"], metadata=[{"k": 1}])
    _typed_error_naming(exc, "metadata")
    assert _lc_rows(ours) == before


@pytest.mark.parametrize("batch_size", [0, -1, "2", 2.5, True])
def test_lc_add_texts_careless_batch_size_is_typed_and_writes_nothing(
    tmp_path: Path, batch_size: Any
) -> None:
    ours, _ = _seeded_pair(tmp_path)
    before = _lc_rows(ours)
    with pytest.raises(Exception) as exc:
        ours.add_texts(["x", "y"], ids=["x", "y"], batch_size=batch_size)
    _typed_error_naming(exc, "batch_size")
    assert _lc_rows(ours) == before


def test_lc_add_texts_batch_size_one_writes_every_row(tmp_path: Path) -> None:
    ours, ref = _lc(tmp_path), InMemoryVectorStore(_emb())
    texts, ids = ["x", "y", "a"], ["x", "y", "a"]
    assert ours.add_texts(texts, ids=ids, batch_size=1) == ref.add_texts(texts, ids=ids)
    assert _lc_rows(ours) == _lc_rows(ref)


# ----------------------------------------------------- LangChain: re-add same ids ----


def test_lc_re_add_same_ids_replaces_like_reference(tmp_path: Path) -> None:
    ours, ref = _seeded_pair(tmp_path)
    for vs in (ours, ref):
        assert vs.add_texts(["new a", "c"], [{"v": 2}, {}], ids=["a", "c"]) == ["a", "c"]
        assert vs.add_documents([LCDocument("newer b", id="b", metadata={"v": 3})]) == ["b"]
    assert _lc_rows(ours) == _lc_rows(ref)
    # Replaced, never duplicated: a search over everything returns each id once.
    hits = ours.similarity_search("anything", k=10)
    assert sorted(d.id or "" for d in hits) == ["a", "b", "c"]


def test_lc_re_add_drops_old_metadata_keys_like_reference(tmp_path: Path) -> None:
    ours, ref = _lc(tmp_path), InMemoryVectorStore(_emb())
    for vs in (ours, ref):
        vs.add_texts(["x"], [{"old": 1, "keep": "a"}], ids=["x"])
        vs.add_texts(["x2"], [{"keep": "b"}], ids=["x"])
    assert _lc_rows(ours) == _lc_rows(ref) == [("x", "x2", {"keep": "b"})]
    assert ours.similarity_search("x", k=5, filter={"old": 1}) == []


# ---------------------------------------------------- LangChain: add_documents ids ----


def test_lc_add_documents_ids_kwarg_wins_over_document_id_like_reference(tmp_path: Path) -> None:
    ours, ref = _lc(tmp_path), InMemoryVectorStore(_emb())
    docs = [LCDocument("x", id="a"), LCDocument("y", id="b")]
    for vs in (ours, ref):
        assert vs.add_documents(docs, ids=["b", "c"]) == ["b", "c"]
    assert _lc_rows(ours) == _lc_rows(ref) == [("b", "x", {}), ("c", "y", {})]
    assert [d.id for d in docs] == ["a", "b"]  # the caller's documents are not changed


def test_lc_add_documents_keeps_document_ids_like_reference(tmp_path: Path) -> None:
    ours, ref = _lc(tmp_path), InMemoryVectorStore(_emb())
    docs = [LCDocument("x", id="x", metadata={"k": 1}), LCDocument("y", id="y")]
    for vs in (ours, ref):
        assert vs.add_documents(docs) == ["x", "y"]
    assert _lc_rows(ours) == _lc_rows(ref)


@pytest.mark.parametrize("missing", [None, ""])
def test_lc_add_documents_without_id_get_fresh_ids_like_reference(
    tmp_path: Path, missing: str | None
) -> None:
    ours, ref = _lc(tmp_path), InMemoryVectorStore(_emb())
    docs = [LCDocument("x", id=missing), LCDocument("y", id="y")]
    got, expected = ours.add_documents(docs), ref.add_documents(docs)
    assert len(got) == len(expected) == 2 and got[1] == expected[1] == "y"
    assert got[0] not in ("", None, "y")
    assert [d.page_content for d in ours.get_by_ids(got)] == ["x", "y"]
    # Two adds of an id-less document are two rows, as in the reference.
    again = ours.add_documents([LCDocument("x", id=missing)])
    assert again[0] != got[0]


def test_lc_add_documents_ids_of_wrong_length_are_typed_and_write_nothing(tmp_path: Path) -> None:
    ours, _ = _seeded_pair(tmp_path)
    before = _lc_rows(ours)
    with pytest.raises(Exception) as exc:
        ours.add_documents([LCDocument("x", id="x"), LCDocument("y", id="y")], ids=["c"])
    _typed_error_naming(exc, "ids")
    assert _lc_rows(ours) == before


@pytest.mark.parametrize("item", ["plain text", {"page_content": "x"}, None])
def test_lc_add_documents_non_documents_are_typed_and_write_nothing(
    tmp_path: Path, item: Any
) -> None:
    ours, _ = _seeded_pair(tmp_path)
    before = _lc_rows(ours)
    with pytest.raises(Exception) as exc:
        ours.add_documents([LCDocument("x", id="x"), item])
    _typed_error_naming(exc, "documents", "Document")
    assert _lc_rows(ours) == before


# DEFECT (fixed): add_documents([Document(id="x")], ids=[]) writes a random id, not "x"; the
# reference (and LangChain's own fallback) keeps Document.id when ids= is empty.
def test_lc_add_documents_empty_ids_list_keeps_document_ids_like_reference(
    tmp_path: Path,
) -> None:
    ours, ref = _lc(tmp_path), InMemoryVectorStore(_emb())
    docs = [LCDocument("x", id="x", metadata={"k": 1})]
    assert ref.add_documents(docs, ids=[]) == ["x"]
    assert ours.add_documents(docs, ids=[]) == ["x"]
    assert _lc_rows(ours) == _lc_rows(ref)


# DEFECT (fixed): the async twin drops Document.id the same way (a random id instead of "x").
async def test_lc_aadd_documents_empty_ids_list_keeps_document_ids_like_reference(
    tmp_path: Path,
) -> None:
    ours, ref = _lc(tmp_path), InMemoryVectorStore(_emb())
    docs = [LCDocument("x", id="x", metadata={"k": 1})]
    assert await ref.aadd_documents(docs, ids=[]) == ["x"]
    assert await ours.aadd_documents(docs, ids=[]) == ["x"]
    assert _lc_rows(ours) == _lc_rows(ref)


def test_lc_add_documents_ids_with_none_entry_generate_only_that_id(tmp_path: Path) -> None:
    ours, ref = _lc(tmp_path), InMemoryVectorStore(_emb())
    docs = [LCDocument("x", id="x"), LCDocument("y", id="y")]
    got = ours.add_documents(docs, ids=[None, "b"])
    expected = ref.add_documents(docs, ids=[None, "b"])  # type: ignore[list-item]
    assert got[1] == expected[1] == "b" and got[0] not in ("x", "y", "b", "")
    assert ours.get_by_ids(["x", "y"]) == []
    assert [d.page_content for d in ours.get_by_ids(got)] == ["x", "y"]


@pytest.mark.parametrize(
    "metadata",
    [
        {1: "a"},
        {None: 1},
        {"": 1},
        {"k": float("nan")},
        {"k": float("inf")},
        {"k": {1, 2}},
        {"k": b"x"},
        {"k": 2**70},
        {"k": object()},
    ],
    ids=["int-key", "none-key", "empty-key", "nan", "inf", "set", "bytes", "big-int", "obj"],
)
def test_lc_unstorable_metadata_is_typed_and_writes_nothing(
    tmp_path: Path, metadata: dict[Any, Any]
) -> None:
    # InMemoryVectorStore keeps any Python object; a JSON store must refuse, by name.
    ours, _ = _seeded_pair(tmp_path)
    before = _lc_rows(ours)
    with pytest.raises(Exception) as exc:
        ours.add_texts(["x", "y"], [{"ok": 1}, metadata], ids=["x", "y"])
    _typed_error_naming(exc, "metadata")
    assert _lc_rows(ours) == before


@pytest.mark.parametrize(
    "metadata",
    [{"k": None}, {"k": -0.0}, {"k": True}, {"k": [None, {"a": [1]}]}, {"k": 2**53 + 1}],
)
def test_lc_storable_metadata_round_trips_like_reference(
    tmp_path: Path, metadata: dict[str, Any]
) -> None:
    ours, ref = _lc(tmp_path), InMemoryVectorStore(_emb())
    for vs in (ours, ref):
        vs.add_texts(["x"], [metadata], ids=["x"])
    assert _lc_rows(ours) == _lc_rows(ref)
    (row,) = ours.get_by_ids(["x"])
    assert type(row.metadata["k"]) is type(metadata["k"])


@pytest.mark.parametrize("ids", [("a",), {"a"}, ["a"]])
def test_lc_delete_ids_as_any_collection_like_reference(tmp_path: Path, ids: Any) -> None:
    ours, ref = _seeded_pair(tmp_path)
    assert ours.delete(ids=ids) is True
    ref.delete(ids=ids)
    assert _lc_rows(ours) == _lc_rows(ref) == [("b", "seed b", {"s": 2})]


def test_lc_delete_ids_generator_is_typed_or_deletes_them(tmp_path: Path) -> None:
    ours, _ = _seeded_pair(tmp_path)
    before = _lc_rows(ours)
    try:
        ours.delete(ids=(i for i in ["a"]))  # type: ignore[arg-type]
    except MilvusPluginsError as exc:
        assert "ids" in str(exc)
        assert _lc_rows(ours) == before
    else:
        assert _lc_rows(ours) == [("b", "seed b", {"s": 2})]


# ------------------------------------------------------------ LangChain: async adds ----


async def test_lc_async_adds_equal_sync_adds(tmp_path: Path) -> None:
    sync_vs, async_vs = _lc(tmp_path, "s"), _lc(tmp_path, "a")
    docs = [LCDocument("x", id="x", metadata={"k": 1}), LCDocument("y", metadata={"k": 2})]
    metadatas: list[Any] = [{"n": 1}, None]
    sync_ids = sync_vs.add_texts(["a", "b"], metadatas, ids=["a", ""])
    async_ids = await async_vs.aadd_texts(["a", "b"], metadatas, ids=["a", ""])
    sync_ids += sync_vs.add_documents(docs, ids=["x", "c"])
    async_ids += await async_vs.aadd_documents(docs, ids=["x", "c"])
    assert sync_ids[0] == async_ids[0] == "a" and sync_ids[2:] == async_ids[2:] == ["x", "c"]

    def norm(vs: LCMilvus, ids: list[str]) -> list[tuple[str, Any]]:
        return sorted((d.page_content, d.metadata) for d in vs.get_by_ids(ids))

    assert norm(sync_vs, sync_ids) == norm(async_vs, async_ids)


async def test_lc_async_add_refusals_equal_sync_refusals(tmp_path: Path) -> None:
    ours, _ = _seeded_pair(tmp_path)
    before = _lc_rows(ours)
    bad: list[tuple[Any, Any, Any]] = [
        ("xy", None, ["x", "y"]),
        (["x", "y"], [{"k": 1}], None),
        (["x", "y"], None, ["x", "x"]),
        (["x", "y"], None, [1, 2]),
    ]
    for texts, metadatas, ids in bad:
        with pytest.raises(MilvusPluginsError) as sync_exc:
            ours.add_texts(texts, metadatas, ids=ids)
        with pytest.raises(MilvusPluginsError) as async_exc:
            await ours.aadd_texts(texts, metadatas, ids=ids)
        assert type(sync_exc.value) is type(async_exc.value)
    assert _lc_rows(ours) == before


# ------------------------------------------------------------- LangChain: delete ----


def test_lc_delete_none_deletes_all_as_langchain_documents(tmp_path: Path) -> None:
    # VectorStore.delete: "ids: List of ids to delete. If None, delete all." (the
    # reference InMemoryVectorStore deletes nothing; the README follows the contract.)
    ours, _ = _seeded_pair(tmp_path)
    assert ours.delete(ids=None) is True
    assert _lc_rows(ours) == []
    assert ours.add_texts(["x"], ids=["x"]) == ["x"]  # the store is still writable
    assert _lc_rows(ours) == [("x", "x", {})]


def test_lc_delete_empty_list_deletes_nothing_like_reference(tmp_path: Path) -> None:
    ours, ref = _seeded_pair(tmp_path)
    assert ours.delete(ids=[]) is True
    ref.delete(ids=[])
    assert _lc_rows(ours) == _lc_rows(ref) == [("a", "seed a", {"s": 1}), ("b", "seed b", {"s": 2})]


def test_lc_delete_unknown_and_known_ids_like_reference(tmp_path: Path) -> None:
    ours, ref = _seeded_pair(tmp_path)
    assert ours.delete(ids=["a", "zz", "a"]) is True
    ref.delete(ids=["a", "zz", "a"])
    assert _lc_rows(ours) == _lc_rows(ref)


@pytest.mark.parametrize("ids", ["a", [""], [None], [1], {"a": 1}])
def test_lc_delete_careless_ids_are_typed_and_delete_nothing(tmp_path: Path, ids: Any) -> None:
    ours, _ = _seeded_pair(tmp_path)
    before = _lc_rows(ours)
    with pytest.raises(Exception) as exc:
        ours.delete(ids=ids)
    _typed_error_naming(exc, "ids", "id")
    assert _lc_rows(ours) == before


def test_lc_delete_unknown_keyword_is_typed_and_deletes_nothing(tmp_path: Path) -> None:
    ours, _ = _seeded_pair(tmp_path)
    before = _lc_rows(ours)
    with pytest.raises(Exception) as exc:
        ours.delete(ids=None, where={"s": 1})
    _typed_error_naming(exc, "where")
    assert _lc_rows(ours) == before


async def test_lc_adelete_equals_delete(tmp_path: Path) -> None:
    ours, ref = _seeded_pair(tmp_path)
    assert await ours.adelete(ids=[]) is True
    assert await ours.adelete(ids=["a", "zz"]) is True
    await ref.adelete(ids=["a", "zz"])
    assert _lc_rows(ours) == _lc_rows(ref)
    with pytest.raises(MilvusPluginsError):
        await ours.adelete(ids="b")
    assert _lc_rows(ours) == [("b", "seed b", {"s": 2})]
    assert await ours.adelete() is True
    assert _lc_rows(ours) == []


# ---------------------------------------------------- LangChain: class constructors ----


def test_lc_from_texts_with_ids_and_metadatas_matches_reference(tmp_path: Path) -> None:
    ours = LCMilvus.from_texts(
        ["x", "y"],
        _emb(),
        metadatas=[{"k": 1}, None],  # type: ignore[list-item]
        ids=["x", "y"],
        uri=str(tmp_path / "lc.db"),
        collection_name="ft",
    )
    ref = InMemoryVectorStore.from_texts(
        ["x", "y"], _emb(), metadatas=[{"k": 1}, {}], ids=["x", "y"]
    )
    assert _lc_rows(ours) == _lc_rows(ref)


def test_lc_from_documents_keeps_document_ids_and_ids_kwarg_wins(tmp_path: Path) -> None:
    docs = [LCDocument("x", id="a", metadata={"k": 1}), LCDocument("y", id="b")]
    ours = LCMilvus.from_documents(docs, _emb(), uri=str(tmp_path / "lc.db"), collection_name="fd1")
    ref = InMemoryVectorStore.from_documents(docs, _emb())
    assert _lc_rows(ours) == _lc_rows(ref)
    ours2 = LCMilvus.from_documents(
        docs, _emb(), ids=["c", "d"], uri=str(tmp_path / "lc.db"), collection_name="fd2"
    )
    ref2 = InMemoryVectorStore.from_documents(docs, _emb(), ids=["c", "d"])
    assert _lc_rows(ours2) == _lc_rows(ref2) == [("c", "x", {"k": 1}), ("d", "y", {})]


def test_lc_from_texts_with_bad_ids_is_typed_and_creates_no_rows(tmp_path: Path) -> None:
    uri = str(tmp_path / "lc.db")
    with pytest.raises(Exception) as exc:
        LCMilvus.from_texts(["x", "y"], _emb(), ids=["x"], uri=uri, collection_name="bad")
    _typed_error_naming(exc, "ids")
    assert _lc_rows(LCMilvus(_emb(), uri=uri, collection_name="bad")) == []


async def test_lc_afrom_texts_equals_from_texts(tmp_path: Path) -> None:
    uri = str(tmp_path / "lc.db")
    args: dict[str, Any] = {"metadatas": [{"k": 1}, {"k": 2}], "ids": ["x", "y"], "uri": uri}
    sync_vs = LCMilvus.from_texts(["x", "y"], _emb(), collection_name="s", **args)
    async_vs = await LCMilvus.afrom_texts(["x", "y"], _emb(), collection_name="a", **args)
    assert _lc_rows(sync_vs) == _lc_rows(async_vs) == [("x", "x", {"k": 1}), ("y", "y", {"k": 2})]


# ------------------------------------------------- LangChain: indexing API contract ----


def test_lc_indexing_api_return_values_and_counts_match_reference(tmp_path: Path) -> None:
    # index() needs delete() to return True (False means "failed") and add_documents to
    # return one id per document; the counts must equal the reference store's.
    docs = [
        LCDocument("one", metadata={"source": "s1"}),
        LCDocument("two", metadata={"source": "s2"}),
    ]
    results: dict[str, list[Any]] = {}
    for kind, vs in (("ref", InMemoryVectorStore(_emb())), ("ours", _lc(tmp_path, "idx"))):
        rm = InMemoryRecordManager(namespace=kind)
        rm.create_schema()
        steps: list[Any] = [index(docs, rm, vs, cleanup="full", source_id_key="source")]
        steps.append(index(docs, rm, vs, cleanup="full", source_id_key="source"))
        changed = [LCDocument("one v2", metadata={"source": "s1"})]
        steps.append(index(changed, rm, vs, cleanup="full", source_id_key="source"))
        keys = rm.list_keys()
        steps.append(sorted((d.page_content, d.metadata["source"]) for d in vs.get_by_ids(keys)))
        results[kind] = steps
    assert results["ours"] == results["ref"]
    ours = _lc(tmp_path, "idx")
    assert ours.delete(ids=["nope"]) is True
    assert isinstance(ours.add_documents([LCDocument("z", id="z")]), list)


# ------------------------------------------------------------ LlamaIndex: helpers ----


def _node(
    node_id: str,
    ref: str | None = "doc",
    embedding: list[float] | None = None,
    cls: type[TextNode] | type[LIDocument] = TextNode,
    **extra: Any,
) -> TextNode | LIDocument:
    vec = embedding if embedding is not None else [1.0, float(len(node_id)), 0.5, 0.25]
    node = cls(id_=node_id, text=f"text {node_id}", embedding=vec, metadata={"k": node_id}, **extra)
    if ref is not None:
        node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=ref)
    return node


def _li(tmp_path: Path, name: str = "n") -> LIMilvus:
    return LIMilvus(uri=str(tmp_path / "li.db"), collection_name=name, dim=4)


def _state(vs: Any) -> dict[str, Any]:
    """node id -> ref_doc_id ("None" for none, as SimpleVectorStore records it)."""
    if isinstance(vs, SimpleVectorStore):
        return dict(vs.data.text_id_to_ref_doc_id)
    return {n.node_id: str(n.ref_doc_id) for n in vs.get_nodes()}


def _li_pair(tmp_path: Path) -> tuple[LIMilvus, SimpleVectorStore]:
    ours, ref = _li(tmp_path), SimpleVectorStore()
    for vs in (ours, ref):
        vs.add([_node("a"), _node("b", ref="other"), _node("c", ref="other")])
    return ours, ref


# --------------------------------------------------------------- LlamaIndex: add ----


def test_li_add_node_kinds_match_reference(tmp_path: Path) -> None:
    ours, ref = _li(tmp_path), SimpleVectorStore()
    nodes: list[BaseNode] = [
        _node("t"),
        _node("d", cls=LIDocument),
        _node("i", cls=IndexNode, index_id="target"),
        _node("n", ref=None),
    ]
    for vs in (ours, ref):
        assert vs.add(nodes) == ["t", "d", "i", "n"]
    assert _state(ours) == _state(ref)
    got = {n.node_id: n for n in ours.get_nodes(node_ids=["t", "d", "i", "n"])}
    assert isinstance(got["i"], IndexNode) and got["i"].index_id == "target"
    assert {k: (v.get_content(), v.metadata) for k, v in got.items()} == {
        n.node_id: (n.get_content(), n.metadata) for n in nodes
    }


def test_li_add_node_with_empty_ref_doc_id_is_refused(tmp_path: Path) -> None:
    # "" is not a document id to delete by (delete("") is refused), so such a node could
    # never be deleted by its document: an ingestion pipeline's re-run failed half-way
    # (RELIABILITY 156). Refused with nothing written.
    ours = _li(tmp_path)
    with pytest.raises(InvalidInputError, match="empty id"):
        ours.add([_node("d", ref="doc"), _node("e", ref="")])
    assert ours.get_nodes(node_ids=["d", "e"]) == []


def test_li_add_node_without_embedding_is_typed_and_writes_nothing(tmp_path: Path) -> None:
    # SimpleVectorStore raises a bare ValueError after writing the nodes before it.
    ours, _ = _li_pair(tmp_path)
    before = _state(ours)
    with pytest.raises(Exception) as exc:
        ours.add([_node("x"), TextNode(id_="y", text="no vector")])
    _typed_error_naming(exc, "vector", "embedding")
    assert _state(ours) == before


@pytest.mark.parametrize("embedding", [[1.0, 2.0], [1.0] * 5, [float("nan")] * 4])
def test_li_add_node_with_wrong_embedding_is_typed_and_writes_nothing(
    tmp_path: Path, embedding: list[float]
) -> None:
    ours, _ = _li_pair(tmp_path)
    before = _state(ours)
    with pytest.raises(Exception) as exc:
        ours.add([_node("x"), _node("y", embedding=embedding)])
    _typed_error_naming(exc, "vector", "dimension", "embedding")
    assert _state(ours) == before


def test_li_add_duplicate_node_ids_in_one_call_are_typed_and_write_nothing(
    tmp_path: Path,
) -> None:
    ours, _ = _li_pair(tmp_path)
    before = _state(ours)
    with pytest.raises(Exception) as exc:
        ours.add([_node("x"), _node("y"), _node("x", ref="other")])
    _typed_error_naming(exc, "id")
    assert _state(ours) == before


def test_li_add_unknown_kwarg_is_typed_and_writes_nothing(tmp_path: Path) -> None:
    ours, _ = _li_pair(tmp_path)
    before = _state(ours)
    with pytest.raises(Exception) as exc:
        ours.add([_node("x")], partition="p")
    _typed_error_naming(exc, "partition")
    assert _state(ours) == before


@pytest.mark.parametrize("nodes", ["x", None, [None], ["text"]])
def test_li_add_careless_nodes_argument_is_typed(tmp_path: Path, nodes: Any) -> None:
    ours, _ = _li_pair(tmp_path)
    before = _state(ours)
    with pytest.raises(Exception) as exc:
        ours.add(nodes)
    _typed_error_naming(exc, "node")
    assert _state(ours) == before


def test_li_add_empty_list_writes_nothing_like_reference(tmp_path: Path) -> None:
    ours, ref = _li_pair(tmp_path)
    assert ours.add([]) == ref.add([]) == []
    assert _state(ours) == _state(ref)


def test_li_re_add_same_node_ids_replaces_like_reference(tmp_path: Path) -> None:
    ours, ref = _li_pair(tmp_path)
    for vs in (ours, ref):
        vs.add([_node("a", ref="moved"), _node("d", ref="doc")])
    assert _state(ours) == _state(ref)
    (a,) = ours.get_nodes(node_ids=["a"])
    assert a.ref_doc_id == "moved"
    ours.delete("doc")
    ref.delete("doc")
    assert _state(ours) == _state(ref)


@pytest.mark.parametrize(
    "bad",
    [
        {"id_": ""},
        {"embedding": [0.0, 0.0, 0.0, 0.0]},
        {"metadata": {"k": {1, 2}}},
        {"metadata": {"k": float("nan")}},
    ],
    ids=["empty-id", "zero-vector", "set-metadata", "nan-metadata"],
)
def test_li_add_unstorable_node_is_typed_and_writes_nothing(
    tmp_path: Path, bad: dict[str, Any]
) -> None:
    ours, _ = _li_pair(tmp_path)
    before = _state(ours)
    fields: dict[str, Any] = {"id_": "y", "text": "t", "embedding": [1.0, 0.0, 0.0, 0.0], **bad}
    with pytest.raises(Exception) as exc:
        ours.add([_node("x"), TextNode(**fields)])
    _typed_error_naming(exc, "text", "id", "vector", "metadata")
    assert _state(ours) == before


def test_li_add_generator_of_nodes_is_typed_or_written_whole(tmp_path: Path) -> None:
    ours, _ = _li_pair(tmp_path)
    before = _state(ours)
    try:
        got = ours.add(n for n in [_node("x"), _node("y")])  # type: ignore[arg-type]
    except MilvusPluginsError as exc:
        assert "nodes" in str(exc)
        assert _state(ours) == before
    else:
        assert got == ["x", "y"] and _state(ours) == {**before, "x": "doc", "y": "doc"}


def test_li_add_embedding_kinds_and_private_fields_round_trip(tmp_path: Path) -> None:
    ours = _li(tmp_path)
    node = _node("x", embedding=[1, 2, 3, 4])  # ints, as LlamaIndex accepts them
    node.excluded_embed_metadata_keys = ["k"]
    node.excluded_llm_metadata_keys = ["k"]
    node.relationships[NodeRelationship.NEXT] = RelatedNodeInfo(node_id="y")
    assert ours.add((node,)) == ["x"]
    (got,) = ours.get_nodes(node_ids=["x"])
    assert got.excluded_embed_metadata_keys == ["k"]
    assert got.excluded_llm_metadata_keys == ["k"]
    assert got.ref_doc_id == "doc" and got.next_node is not None
    assert got.next_node.node_id == "y"
    assert got.get_content() == node.get_content() and got.metadata == node.metadata


def test_li_index_node_obj_round_trips_or_is_refused_with_nothing_written(
    tmp_path: Path,
) -> None:
    ours = _li(tmp_path)
    inner = TextNode(id_="inner", text="inner text")
    ours.add([_node("i", cls=IndexNode, index_id="z", obj=inner)])
    ours.add([_node("j", cls=IndexNode, index_id="z", obj={"a": [1, "b"]})])
    got = {n.node_id: n for n in ours.get_nodes(node_ids=["i", "j"])}
    assert isinstance(got["i"], IndexNode) and isinstance(got["i"].obj, TextNode)
    assert got["i"].obj.get_content() == "inner text"
    assert isinstance(got["j"], IndexNode) and got["j"].obj == {"a": [1, "b"]}
    with pytest.raises(Exception) as exc:
        ours.add([_node("k"), _node("m", cls=IndexNode, index_id="z", obj=object())])
    _typed_error_naming(exc, "obj")
    assert sorted(_state(ours)) == ["i", "j"]


def test_writes_on_a_never_created_collection_are_no_ops(tmp_path: Path) -> None:
    lc = _lc(tmp_path, "fresh_lc")
    assert lc.delete() is True and lc.delete(ids=["a"]) is True
    assert lc.get_by_ids(["a"]) == []
    li = _li(tmp_path, "fresh_li")
    li.clear()
    li.delete("x")
    li.delete_nodes(node_ids=["x"])
    assert li.get_nodes(node_ids=["x"]) == []
    assert li.add([_node("x")]) == ["x"]
    assert _state(li) == {"x": "doc"}


async def test_li_async_add_equals_add(tmp_path: Path) -> None:
    sync_vs, async_vs = _li(tmp_path, "s"), _li(tmp_path, "a")
    nodes = [_node("a"), _node("b", ref=None), _node("c", cls=LIDocument)]
    assert sync_vs.add(nodes) == await async_vs.async_add(nodes)
    assert _state(sync_vs) == _state(async_vs)
    for bad in ([_node("x"), _node("x")], [_node("x", embedding=[1.0])]):
        with pytest.raises(MilvusPluginsError) as sync_exc:
            sync_vs.add(bad)
        with pytest.raises(MilvusPluginsError) as async_exc:
            await async_vs.async_add(bad)
        assert type(sync_exc.value) is type(async_exc.value)
    assert _state(sync_vs) == _state(async_vs) == {"a": "doc", "b": "None", "c": "doc"}


# ------------------------------------------------------------ LlamaIndex: delete ----


@pytest.mark.parametrize("ref_doc_id", ["other", "doc", "missing", "DOC", "oth%"])
def test_li_delete_ref_doc_matches_reference(tmp_path: Path, ref_doc_id: str) -> None:
    ours, ref = _li_pair(tmp_path)
    ours.delete(ref_doc_id)
    ref.delete(ref_doc_id)
    assert _state(ours) == _state(ref)


@pytest.mark.parametrize("ref_doc_id", ["", None, 1, ["doc"]])
def test_li_delete_careless_ref_doc_id_is_typed_and_deletes_nothing(
    tmp_path: Path, ref_doc_id: Any
) -> None:
    ours, _ = _li_pair(tmp_path)
    before = _state(ours)
    with pytest.raises(Exception) as exc:
        ours.delete(ref_doc_id)
    _typed_error_naming(exc, "ref_doc_id")
    assert _state(ours) == before


def _k_is(value: str) -> MetadataFilters:
    return MetadataFilters(filters=[MetadataFilter(key="k", value=value)])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"node_ids": ["a"]},
        {"node_ids": ["a", "zz", "a"]},
        {"node_ids": []},
        {"filters": _k_is("b")},
        {"node_ids": ["b"], "filters": _k_is("a")},
        {"node_ids": ["b", "c"], "filters": _k_is("b")},
        {"node_ids": [], "filters": _k_is("a")},
        {"node_ids": None, "filters": _k_is("c")},
    ],
    ids=["ids", "dup-unknown", "empty", "filters", "disjoint", "both", "empty-filter", "none"],
)
def test_li_delete_nodes_matches_reference(tmp_path: Path, kwargs: dict[str, Any]) -> None:
    ours, ref = _li_pair(tmp_path)
    ours.delete_nodes(**kwargs)
    ref.delete_nodes(**kwargs)
    assert _state(ours) == _state(ref)


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"node_ids": None}, {"filters": MetadataFilters(filters=[])}, {"node_ids": "a"}],
    ids=["nothing", "none", "empty-filters", "str"],
)
def test_li_delete_nodes_without_a_selection_is_typed_and_deletes_nothing(
    tmp_path: Path, kwargs: dict[str, Any]
) -> None:
    # SimpleVectorStore deletes every node here (or, for a str, each character's node);
    # the README refuses a delete with no selection: clear() is the one call for that.
    ours, _ = _li_pair(tmp_path)
    before = _state(ours)
    with pytest.raises(Exception) as exc:
        ours.delete_nodes(**kwargs)
    _typed_error_naming(exc, "node_ids", "filters", "clear")
    assert _state(ours) == before


@pytest.mark.parametrize("node_ids", [[1], [""], [None], ["a", 2]])
def test_li_delete_nodes_careless_ids_are_typed_and_delete_nothing(
    tmp_path: Path, node_ids: Any
) -> None:
    ours, _ = _li_pair(tmp_path)
    before = _state(ours)
    with pytest.raises(Exception) as exc:
        ours.delete_nodes(node_ids=node_ids)
    _typed_error_naming(exc, "node_ids")
    assert _state(ours) == before


@pytest.mark.parametrize("node_ids", [("a",), {"a"}])
def test_li_delete_nodes_ids_as_any_collection_like_reference(
    tmp_path: Path, node_ids: Any
) -> None:
    ours, ref = _li_pair(tmp_path)
    ours.delete_nodes(node_ids=node_ids)
    ref.delete_nodes(node_ids=node_ids)
    assert _state(ours) == _state(ref)


@pytest.mark.parametrize("method", ["delete", "delete_nodes"])
def test_li_delete_unknown_kwarg_is_typed_and_deletes_nothing(tmp_path: Path, method: str) -> None:
    ours, _ = _li_pair(tmp_path)
    before = _state(ours)
    with pytest.raises(Exception) as exc:
        if method == "delete":
            ours.delete("doc", partition_names=["p"])
        else:
            ours.delete_nodes(node_ids=["a"], partition_names=["p"])
    _typed_error_naming(exc, "partition_names")
    assert _state(ours) == before


async def test_li_adelete_nodes_and_adelete_equal_sync(tmp_path: Path) -> None:
    ours, ref = _li_pair(tmp_path)
    await ours.adelete_nodes(node_ids=["b"], filters=_k_is("a"))
    await ours.adelete_nodes(node_ids=[])
    assert _state(ours) == _state(ref)
    with pytest.raises(MilvusPluginsError):
        await ours.adelete_nodes()
    with pytest.raises(MilvusPluginsError):
        await ours.adelete("")
    await ours.adelete_nodes(node_ids=["c"])
    ref.delete_nodes(node_ids=["c"])
    await ours.adelete("doc")
    ref.delete("doc")
    assert _state(ours) == _state(ref) == {"b": "other"}


def test_li_clear_then_add_like_reference(tmp_path: Path) -> None:
    ours, ref = _li_pair(tmp_path)
    for vs in (ours, ref):
        vs.clear()
    assert _state(ours) == _state(ref) == {}
    for vs in (ours, ref):
        vs.add([_node("z")])
    assert _state(ours) == _state(ref) == {"z": "doc"}


async def test_li_aclear_then_async_add_like_reference(tmp_path: Path) -> None:
    ours, ref = _li_pair(tmp_path)
    await ours.aclear()
    await ref.aclear()
    assert _state(ours) == _state(ref) == {}
    await ours.aclear()  # twice: still nothing, no error
    await ours.async_add([_node("z")])
    await ref.async_add([_node("z")])
    assert _state(ours) == _state(ref)


# ---------------------------------------------------- LlamaIndex: VectorStoreIndex ----


def _docs(version: str = "v1") -> list[LIDocument]:
    return [
        LIDocument(id_="d1", text=f"apples are red {version}", metadata={"n": 1}),
        LIDocument(id_="d2", text="bananas are yellow", metadata={"n": 2}),
    ]


def _index_outcome(vs: Any, override: bool) -> list[Any]:
    """One flow: build, insert, delete_ref_doc(from docstore), refresh_ref_docs.

    Without ``store_nodes_override`` LlamaIndex keeps no nodes in the docstore for a store
    that stores text (it does for SimpleVectorStore), so the docstore's ref-doc info is
    compared only with the override.
    """
    ctx = StorageContext.from_defaults(vector_store=vs)
    text_nodes = [
        TextNode(id_="n1", text="cherries are dark", metadata={"n": 3}),
        TextNode(id_="n2", text="dates grow on palms", metadata={"n": 4}),
    ]
    for node in text_nodes:
        node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id="src")
    idx = VectorStoreIndex(
        text_nodes,
        storage_context=ctx,
        embed_model=KeywordEmbedding(),
        store_nodes_override=override,
    )
    steps: list[Any] = []

    def snapshot() -> None:
        found = idx.as_retriever(similarity_top_k=50).retrieve("are")
        steps.append(sorted((n.node.ref_doc_id, n.node.get_content()) for n in found))
        if override:
            steps.append(sorted(ctx.docstore.get_all_ref_doc_info() or {}))

    snapshot()
    for doc in _docs():
        idx.insert(doc)
    snapshot()
    idx.delete_ref_doc("d2", delete_from_docstore=True)
    snapshot()
    steps.append(idx.refresh_ref_docs(_docs("v2")))
    snapshot()
    idx.delete_ref_doc("src", delete_from_docstore=True)
    idx.delete_ref_doc("never-added", delete_from_docstore=True)
    snapshot()
    return steps


# LlamaIndex's own rule: delete_ref_doc(delete_from_docstore=True) keeps the document's hash
# in the docstore for a store that keeps the text (every such store, this one included),
# unless the index has store_nodes_override=True; a later refresh_ref_docs then skips the
# document. README says so and names the override, which these flows use.
@pytest.mark.parametrize("override", [True])
def test_li_vector_store_index_write_flow_matches_reference(tmp_path: Path, override: bool) -> None:
    ref = _index_outcome(SimpleVectorStore(), override)
    ours_vs = LIMilvus(uri=str(tmp_path / "li.db"), collection_name="idx")
    ours = _index_outcome(ours_vs, override)
    for step, (got, expected) in enumerate(zip(ours, ref, strict=True)):
        assert got == expected, f"step {step}"


def test_li_index_insert_nodes_without_embedding_are_embedded(tmp_path: Path) -> None:
    # Through the index, nodes without embeddings are embedded by the index's model.
    # (An IndexNode is left out: for a store that keeps text, LlamaIndex's retriever
    # passes node_ids= of its index struct, which then holds only the IndexNodes.)
    outcomes: list[Any] = []
    for vs in (SimpleVectorStore(), LIMilvus(uri=str(tmp_path / "li.db"), collection_name="e")):
        ctx = StorageContext.from_defaults(vector_store=vs)
        idx = VectorStoreIndex([], storage_context=ctx, embed_model=KeywordEmbedding())
        idx.insert_nodes([TextNode(id_="x", text="figs are sweet"), _plain_doc("y", "grapes")])
        found = idx.as_retriever(similarity_top_k=5).retrieve("figs")
        outcomes.append(sorted((n.node.node_id, n.node.get_content()) for n in found))
    assert outcomes[0] == outcomes[1] == [("x", "figs are sweet"), ("y", "grapes")]


def _plain_doc(doc_id: str, text: str) -> LIDocument:
    return LIDocument(id_=doc_id, text=text)


def _refresh_after_delete(vs: Any) -> tuple[list[bool], list[str]]:
    ctx = StorageContext.from_defaults(vector_store=vs)
    idx = VectorStoreIndex.from_documents(
        [_plain_doc("d", "bananas are yellow")],
        storage_context=ctx,
        embed_model=KeywordEmbedding(),
        store_nodes_override=True,  # README: so that the deleted document can come back
    )
    idx.delete_ref_doc("d", delete_from_docstore=True)
    refreshed = idx.refresh_ref_docs([_plain_doc("d", "bananas are yellow")])
    found = idx.as_retriever(similarity_top_k=5).retrieve("bananas")
    return refreshed, [n.node.get_content() for n in found]


def test_li_refresh_ref_docs_re_adds_a_deleted_document_like_reference(tmp_path: Path) -> None:
    expected = _refresh_after_delete(SimpleVectorStore())
    assert expected == ([True], ["bananas are yellow"])
    assert _refresh_after_delete(LIMilvus(uri=str(tmp_path / "li.db"), collection_name="r")) == (
        expected
    )
