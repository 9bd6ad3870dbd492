"""LangChain's indexing API (``index`` / ``aindex`` with a record manager) on Milvus Lite.

``index()`` always calls ``add_documents(docs, ids=..., batch_size=...)``; the store must
take that keyword, honour it as the write batch size, and end every cleanup mode with
exactly one row per live document: no duplicates after a re-run, none left behind after
a document changes or disappears.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.indexing import InMemoryRecordManager, aindex, index
from langchain_core.vectorstores import InMemoryVectorStore

from milvus_plugins.core.errors import ConfigError
from milvus_plugins.langchain import MilvusVectorStore

Cleanup = str | None


def _docs(source: str, *texts: str) -> list[Document]:
    return [Document(page_content=t, metadata={"source": source}) for t in texts]


V1 = _docs("a.md", "alpha one", "alpha two", "alpha three") + _docs("b.md", "beta one", "beta two")


@pytest.fixture
def vs(lite_uri: str) -> MilvusVectorStore:
    return MilvusVectorStore(
        DeterministicFakeEmbedding(size=8), uri=lite_uri, collection_name="indexed"
    )


def _manager() -> InMemoryRecordManager:
    manager = InMemoryRecordManager(namespace="milvus/indexed")
    manager.create_schema()
    return manager


def _contents(vs: MilvusVectorStore) -> list[str]:
    """Every stored text, sorted (duplicates kept, so a duplicate shows)."""
    rows = vs.store.query(limit=100)
    return sorted(r.text for r in rows)


Runner = Callable[..., Awaitable[dict[str, int]]]


async def _sync_index(docs: Sequence[Document], manager: Any, vs: Any, **kw: Any) -> Any:
    return index(docs, manager, vs, **kw)


async def _async_index(docs: Sequence[Document], manager: Any, vs: Any, **kw: Any) -> Any:
    return await aindex(docs, manager, vs, **kw)


@pytest.fixture(params=["index", "aindex"])
def run(request: pytest.FixtureRequest) -> Iterator[Runner]:
    yield _sync_index if request.param == "index" else _async_index


def _counts(result: dict[str, int]) -> tuple[int, int, int, int]:
    keys = ("num_added", "num_updated", "num_skipped", "num_deleted")
    added, updated, skipped, deleted = (result[k] for k in keys)
    return added, updated, skipped, deleted


@pytest.mark.parametrize("cleanup", [None, "incremental", "full", "scoped_full"])
async def test_rerun_writes_nothing_and_duplicates_nothing(
    vs: MilvusVectorStore, run: Runner, cleanup: Cleanup
) -> None:
    manager = _manager()
    kw: dict[str, Any] = {"cleanup": cleanup, "source_id_key": "source"}
    first = await run(V1, manager, vs, **kw)
    assert _counts(first) == (5, 0, 0, 0)
    assert vs.store.count() == 5
    again = await run(V1, manager, vs, **kw)
    assert _counts(again) == (0, 0, 5, 0)
    assert _contents(vs) == sorted(d.page_content for d in V1)


@pytest.mark.parametrize("cleanup", [None, "incremental", "full", "scoped_full"])
async def test_small_batches_end_like_langchains_in_memory_store(
    vs: MilvusVectorStore, run: Runner, cleanup: Cleanup
) -> None:
    # batch_size=2 splits a.md over two add_documents calls. LangChain's incremental
    # cleanup then re-adds and deletes some of a.md on a re-run (its own behaviour, also
    # with its InMemoryVectorStore): the same counts and the same final rows here.
    reference = InMemoryVectorStore(DeterministicFakeEmbedding(size=8))
    ours_manager, ref_manager = _manager(), _manager()
    kw: dict[str, Any] = {"cleanup": cleanup, "source_id_key": "source", "batch_size": 2}
    v2 = _docs("a.md", "alpha one", "alpha two, edited")
    for docs in (V1, V1, v2, v2):
        ours = await run(docs, ours_manager, vs, **kw)
        expected = index(docs, ref_manager, reference, **kw)
        assert ours == expected
        assert _contents(vs) == sorted(d["text"] for d in reference.store.values())
    assert vs.store.count() == len(reference.store)


@pytest.mark.parametrize("cleanup", ["incremental", "full", "scoped_full"])
async def test_changed_and_removed_documents_leave_no_stale_rows(
    vs: MilvusVectorStore, run: Runner, cleanup: Cleanup
) -> None:
    manager = _manager()
    kw: dict[str, Any] = {"cleanup": cleanup, "source_id_key": "source"}
    await run(V1, manager, vs, **kw)
    # a.md: one chunk edited, one removed; b.md is left out of this run entirely.
    v2 = _docs("a.md", "alpha one", "alpha two, edited")
    result = await run(v2, manager, vs, **kw)
    if cleanup == "full":
        # Everything not in this run goes, b.md included.
        assert _counts(result) == (1, 0, 1, 4)
        expected = ["alpha one", "alpha two, edited"]
    else:
        # Incremental and scoped_full clean only the sources seen in this run.
        assert _counts(result) == (1, 0, 1, 2)
        expected = ["alpha one", "alpha two, edited", "beta one", "beta two"]
    assert _contents(vs) == expected
    assert vs.store.count() == len(expected)


async def test_without_cleanup_changed_documents_add_rows_and_keep_old_ones(
    vs: MilvusVectorStore, run: Runner
) -> None:
    # cleanup=None is LangChain's "never delete": the old version stays (by design).
    manager = _manager()
    await run(V1, manager, vs, cleanup=None)
    result = await run(_docs("a.md", "alpha one, edited"), manager, vs, cleanup=None)
    assert _counts(result) == (1, 0, 0, 0)
    assert vs.store.count() == 6
    assert _contents(vs).count("alpha one, edited") == 1


async def test_force_update_rewrites_in_place(vs: MilvusVectorStore, run: Runner) -> None:
    manager = _manager()
    await run(V1, manager, vs, cleanup="full")
    result = await run(V1, manager, vs, cleanup="full", force_update=True)
    assert _counts(result) == (0, 5, 0, 0)
    assert _contents(vs) == sorted(d.page_content for d in V1)


def test_batch_size_sets_the_rows_per_write_request(
    vs: MilvusVectorStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    vs.add_texts(["warm up"], ids=["w"])  # creates the collection and the client
    client = vs.store.client
    sizes: list[int] = []
    real_upsert = client.upsert

    def counting_upsert(name: str, rows: list[Any], **kw: Any) -> Any:
        sizes.append(len(rows))
        return real_upsert(name, rows, **kw)

    monkeypatch.setattr(client, "upsert", counting_upsert)
    index(V1, _manager(), vs, cleanup=None, batch_size=5)  # one add_documents call of 5
    vs.add_documents(_docs("c.md", "c1", "c2", "c3", "c4", "c5"), batch_size=2)
    vs.add_texts(["t1", "t2", "t3"])  # the store's default (1000): one request
    assert sizes == [5, 2, 2, 1, 3]
    assert vs.store.count() == 1 + 5 + 5 + 3


@pytest.mark.parametrize("bad", [0, -1, 2.5, "10", True])
def test_bad_batch_size_is_refused_before_embedding(vs: MilvusVectorStore, bad: Any) -> None:
    class Counting(DeterministicFakeEmbedding):
        calls: int = 0

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            self.calls += 1
            return super().embed_documents(texts)

    embedding = Counting(size=8)
    store = MilvusVectorStore(embedding, uri=vs.store.session.connection.uri, collection_name="x")
    with pytest.raises(ConfigError, match="batch_size"):
        store.add_texts(["a"], batch_size=bad)
    assert embedding.calls == 0
    assert not store.store.exists()


def test_other_unknown_keywords_are_still_refused(vs: MilvusVectorStore) -> None:
    with pytest.raises(TypeError, match="vector_field"):
        vs.add_documents(_docs("a.md", "x"), vector_field="embedding")
