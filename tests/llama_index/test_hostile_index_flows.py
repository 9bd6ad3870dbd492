"""Index-level LlamaIndex flows on ``MilvusVectorStore`` against the reference store.

Every scenario runs the same operations twice, once on LlamaIndex's default in-memory
store (``SimpleVectorStore``) and once on ours (Milvus Lite), and asserts the user-visible
results match: the nodes (id, ref doc, text, metadata), their order, and the row counts
after deletes and refreshes.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from llama_index.core import (
    Document,
    StorageContext,
    VectorStoreIndex,
    load_index_from_storage,
)
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.ingestion import DocstoreStrategy, IngestionPipeline
from llama_index.core.llms import MockLLM
from llama_index.core.node_parser import (
    HierarchicalNodeParser,
    SentenceSplitter,
    get_leaf_nodes,
)
from llama_index.core.retrievers import (
    AutoMergingRetriever,
    QueryFusionRetriever,
    VectorIndexRetriever,
)
from llama_index.core.schema import (
    MetadataMode,
    NodeRelationship,
    NodeWithScore,
    RelatedNodeInfo,
    TextNode,
)
from llama_index.core.storage.docstore import SimpleDocumentStore
from llama_index.core.vector_stores import SimpleVectorStore
from llama_index.core.vector_stores.types import (
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
)

from milvus_plugins.llama_index import MilvusVectorStore

DIM = 16
KINDS = ("ref", "ours")


class HashEmbedding(BaseEmbedding):
    """Each word adds a crc-weighted vector over 16 axes: no network, few score ties."""

    def _vector(self, text: str) -> list[float]:
        vector = np.full(DIM, 1e-3)
        for word in text.lower().replace(".", " ").replace(",", " ").split():
            seed = zlib.crc32(word.encode())
            rng = np.random.default_rng(seed)
            vector += rng.standard_normal(DIM)
        return (vector / np.linalg.norm(vector)).tolist()  # type: ignore[no-any-return]

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._vector(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._vector(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._vector(text)


EMBED = HashEmbedding()

TOPICS = {
    "zebra": "Zebras are striped horses grazing on the African savanna near rivers.",
    "rocket": "Rockets burn liquid fuel to lift satellites into a high orbit.",
    "bread": "Sourdough bread rises slowly because wild yeast ferments the flour.",
    "violin": "A violin has four strings tuned in fifths and a carved spruce top.",
    "glacier": "Glaciers carve deep valleys as compacted ice creeps downhill.",
}
QUERIES = [
    "striped horses savanna",
    "fuel orbit satellites",
    "yeast flour bread",
    "strings violin spruce",
    "ice valleys glaciers",
    "horses and rockets",
]


def documents() -> list[Document]:
    return [
        Document(
            id_=key,
            text=text,
            metadata={"topic": key, "rank": i, "even": i % 2 == 0, "par": "eo"[i % 2]},
        )
        for i, (key, text) in enumerate(TOPICS.items())
    ]


def make_store(kind: str, uri: str, name: str = "flows") -> Any:
    if kind == "ref":
        return SimpleVectorStore()
    return MilvusVectorStore(uri=uri, collection_name=name, dim=DIM)


def splitter(chunk_size: int = 1024) -> SentenceSplitter:
    """A splitter with deterministic node ids ``<doc id>#<chunk>``, the same in both runs."""
    return SentenceSplitter(
        chunk_size=chunk_size, chunk_overlap=0, id_func=lambda i, doc: f"{doc.id_}#{i}"
    )


def build(
    kind: str, uri: str, *, override: bool = False, docs: list[Document] | None = None
) -> tuple[VectorStoreIndex, Any]:
    store = make_store(kind, uri)
    index = VectorStoreIndex.from_documents(
        documents() if docs is None else docs,
        storage_context=StorageContext.from_defaults(vector_store=store),
        embed_model=EMBED,
        store_nodes_override=override,
        transformations=[splitter()],
    )
    return index, store


def view(hits: list[NodeWithScore], *, with_ids: bool = True) -> list[tuple[Any, ...]]:
    """What a user sees of a hit list."""
    out = []
    for hit in hits:
        node = hit.node
        row: tuple[Any, ...] = (node.ref_doc_id, node.get_content(), node.metadata)
        out.append((node.node_id, *row) if with_ids else row)
    return out


def answers(index: VectorStoreIndex, top_k: int = 3, **kwargs: Any) -> list[Any]:
    retriever = index.as_retriever(similarity_top_k=top_k, **kwargs)
    return [view(retriever.retrieve(q)) for q in QUERIES]


def count(kind: str, store: Any) -> int:
    if kind == "ref":
        return len(store.data.embedding_dict)
    return int(store.store.count())


def both(fn: Callable[[str, str], Any], tmp_path: Path) -> tuple[Any, Any]:
    """Run ``fn(kind, uri)`` for the reference store and ours."""
    results = []
    for kind in KINDS:
        uri = str(tmp_path / f"{kind}.db")
        results.append(fn(kind, uri))
    return results[0], results[1]


# -- from_documents, retrieval ------------------------------------------------------------


@pytest.mark.parametrize("override", [False, True])
def test_from_documents_answers_like_the_reference(tmp_path: Path, override: bool) -> None:
    def run(kind: str, uri: str) -> Any:
        index, store = build(kind, uri, override=override)
        return answers(index), answers(index, top_k=10), count(kind, store)

    ref, ours = both(run, tmp_path)
    assert ours == ref
    assert ref[2] == len(TOPICS)


FILTER_CASES = {
    "eq_str": MetadataFilters(filters=[MetadataFilter(key="topic", value="bread")]),
    "gte_int": MetadataFilters(
        filters=[MetadataFilter(key="rank", value=2, operator=FilterOperator.GTE)]
    ),
    "in": MetadataFilters(
        filters=[MetadataFilter(key="topic", value=["zebra", "violin"], operator=FilterOperator.IN)]
    ),
    "nin": MetadataFilters(
        filters=[MetadataFilter(key="topic", value=["zebra"], operator=FilterOperator.NIN)]
    ),
    "bool": MetadataFilters(filters=[MetadataFilter(key="par", value="e")]),
    "or": MetadataFilters(
        filters=[
            MetadataFilter(key="rank", value=0),
            MetadataFilter(key="rank", value=4),
        ],
        condition="or",
    ),
    "ne": MetadataFilters(
        filters=[MetadataFilter(key="rank", value=1, operator=FilterOperator.NE)]
    ),
    "no_match": MetadataFilters(filters=[MetadataFilter(key="topic", value="nothing")]),
}


@pytest.mark.parametrize("case", sorted(FILTER_CASES))
def test_filtered_retriever_matches_reference(tmp_path: Path, case: str) -> None:
    filters = FILTER_CASES[case]

    def run(kind: str, uri: str) -> Any:
        index, _ = build(kind, uri)
        return answers(index, top_k=4, filters=filters)

    ref, ours = both(run, tmp_path)
    assert ours == ref


def test_aretrieve_matches_retrieve(tmp_path: Path) -> None:
    def run(kind: str, uri: str) -> Any:
        index, _ = build(kind, uri)
        retriever = index.as_retriever(similarity_top_k=3)

        async def go() -> list[Any]:
            return [view(await retriever.aretrieve(q)) for q in QUERIES]

        return asyncio.run(go())

    ref, ours = both(run, tmp_path)
    assert ours == ref


def test_mmr_mode_retrieves_like_reference(tmp_path: Path) -> None:
    def run(kind: str, uri: str) -> Any:
        index, _ = build(kind, uri)
        retriever = index.as_retriever(
            similarity_top_k=3, vector_store_query_mode="mmr", vector_store_kwargs={}
        )
        return [view(retriever.retrieve(q)) for q in QUERIES]

    ref, ours = both(run, tmp_path)
    # MMR picks the top hit first in both; the full pick depends on the MMR variant.
    assert [r[0] for r in ours] == [r[0] for r in ref]
    assert [len(r) for r in ours] == [len(r) for r in ref]


# -- insert, delete, update, refresh ------------------------------------------------------


@pytest.mark.parametrize("override", [False, True])
def test_write_flows_match_reference(tmp_path: Path, override: bool) -> None:
    def run(kind: str, uri: str) -> Any:
        index, store = build(kind, uri, override=override)
        steps: list[Any] = []
        index.insert(Document(id_="kettle", text="A kettle boils water for tea.", metadata={}))
        steps.append((answers(index), count(kind, store)))
        index.delete_ref_doc("zebra", delete_from_docstore=True)
        steps.append((answers(index), count(kind, store)))
        index.update_ref_doc(
            Document(
                id_="rocket",
                text="Rockets now run on methane and land back on barges.",
                metadata={"topic": "rocket", "rank": 99, "even": False},
            )
        )
        steps.append((answers(index), count(kind, store)))
        refreshed = index.refresh_ref_docs(
            [
                Document(
                    id_="bread",
                    text=TOPICS["bread"],
                    metadata={"topic": "bread", "rank": 2, "even": True, "par": "e"},
                ),
                Document(
                    id_="violin",
                    text="A cello is a bigger violin with thicker strings.",
                    metadata={"topic": "violin", "rank": 3, "even": False, "v": 2},
                ),
                Document(id_="piano", text="Piano hammers strike the strings.", metadata={}),
            ]
        )
        steps.append((refreshed, answers(index), count(kind, store)))
        if override:
            info = {k: (sorted(v.metadata.items())) for k, v in index.ref_doc_info.items()}
            steps.append((sorted(info.items()), len(index.docstore.docs)))
        return steps

    ref, ours = both(run, tmp_path)
    for i, (r, o) in enumerate(zip(ref, ours, strict=True)):
        assert o == r, f"step {i}"
    assert ref[3][0] == [False, True, True]


def test_ref_doc_info_with_override_lists_node_ids(tmp_path: Path) -> None:
    def run(kind: str, uri: str) -> Any:
        docs = [
            Document(id_="long", text=" ".join(f"w{i} sentence." for i in range(400))),
            Document(id_="short", text="short text here."),
        ]
        index, store = build(kind, uri, override=True, docs=docs)
        info = index.ref_doc_info
        sizes = {k: len(v.node_ids) for k, v in info.items()}
        index.delete_ref_doc("long", delete_from_docstore=True)
        return sizes, sorted(index.ref_doc_info), count(kind, store)

    ref, ours = both(run, tmp_path)
    assert ours == ref
    assert ref[0]["long"] > 1


def test_insert_nodes_with_chosen_ids_and_id_restricted_retrievers(tmp_path: Path) -> None:
    def nodes() -> list[TextNode]:
        out = []
        for i, (key, text) in enumerate(TOPICS.items()):
            node = TextNode(id_=f"n-{key}", text=text, metadata={"topic": key, "rank": i})
            node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=f"doc-{i % 2}")
            out.append(node)
        return out

    def run(kind: str, uri: str) -> Any:
        store = make_store(kind, uri)
        index = VectorStoreIndex(
            [],
            storage_context=StorageContext.from_defaults(vector_store=store),
            embed_model=EMBED,
        )
        index.insert_nodes(nodes())
        out: list[Any] = []
        for kwargs in (
            {},
            {"node_ids": ["n-bread", "n-zebra"]},
            {"doc_ids": ["doc-1"]},
            {"doc_ids": ["doc-0"], "node_ids": ["n-zebra", "n-rocket", "n-bread"]},
        ):
            retriever = VectorIndexRetriever(index, similarity_top_k=5, **kwargs)
            out.append([view(retriever.retrieve(q), with_ids=True) for q in QUERIES])
        index.delete_nodes(["n-violin"], delete_from_docstore=True)
        out.append((answers(index, top_k=5), count(kind, store)))
        index.delete_ref_doc("doc-0", delete_from_docstore=True)
        out.append((answers(index, top_k=5), count(kind, store)))
        return out

    ref, ours = both(run, tmp_path)
    # SimpleVectorStore ignores doc_ids; LlamaIndex documents them as "documents to constrain
    # search": expected is the reference's ranking restricted to those documents.
    for step, doc_ids in ((2, {"doc-1"}), (3, {"doc-0"})):
        ref[step] = [[h for h in hits if h[1] in doc_ids] for hits in ref[step]]
    for i, (r, o) in enumerate(zip(ref, ours, strict=True)):
        assert o == r, f"step {i}"


def test_delete_unknown_ref_doc_behaves_like_reference(tmp_path: Path) -> None:
    def run(kind: str, uri: str) -> Any:
        index, store = build(kind, uri)
        try:
            index.delete_ref_doc("no-such-doc", delete_from_docstore=True)
            raised = None
        except Exception as exc:
            raised = type(exc).__name__
        return raised, count(kind, store), answers(index)

    ref, ours = both(run, tmp_path)
    assert ours == ref


# -- persist and reload -------------------------------------------------------------------


@pytest.mark.parametrize("override", [False, True])
def test_persist_and_reload_keeps_answering_and_writing(tmp_path: Path, override: bool) -> None:
    def run(kind: str, uri: str) -> Any:
        index, _ = build(kind, uri, override=override)
        index.insert(Document(id_="kettle", text="A kettle boils water for tea.", metadata={}))
        before = answers(index)
        persist_dir = tmp_path / f"persist-{kind}"
        index.storage_context.persist(persist_dir=str(persist_dir))
        if kind == "ref":
            ctx = StorageContext.from_defaults(persist_dir=str(persist_dir))
            store = ctx.vector_store
        else:
            store = MilvusVectorStore(uri=uri, collection_name="flows")
            ctx = StorageContext.from_defaults(vector_store=store, persist_dir=str(persist_dir))
        loaded = load_index_from_storage(
            ctx, embed_model=EMBED, store_nodes_override=override, transformations=[splitter()]
        )
        assert isinstance(loaded, VectorStoreIndex)
        after = answers(loaded)
        loaded.insert(Document(id_="ocean", text="Oceans hold salt water and whales."))
        loaded.delete_ref_doc("bread", delete_from_docstore=True)
        loaded.update_ref_doc(Document(id_="glacier", text="Glaciers melt in summer heat."))
        return before, after, answers(loaded), count(kind, store)

    ref, ours = both(run, tmp_path)
    assert ours[1] == ours[0]
    assert ours == ref


# -- fusion and auto-merging --------------------------------------------------------------


@pytest.mark.parametrize("use_async", [False, True])
def test_query_fusion_over_two_retrievers(tmp_path: Path, use_async: bool) -> None:
    def run(kind: str, uri: str) -> Any:
        index, _ = build(kind, uri)
        even = MetadataFilters(filters=[MetadataFilter(key="par", value="e")])
        fusion = QueryFusionRetriever(
            [
                index.as_retriever(similarity_top_k=3),
                index.as_retriever(similarity_top_k=3, filters=even),
            ],
            similarity_top_k=4,
            num_queries=1,
            mode="reciprocal_rerank",
            use_async=use_async,
            llm=MockLLM(),
        )
        return [view(fusion.retrieve(q)) for q in QUERIES]

    ref, ours = both(run, tmp_path)
    assert ours == ref


def test_auto_merging_retriever_with_hierarchical_leaves(tmp_path: Path) -> None:
    text = " ".join(
        f"Paragraph {i} talks about {word} and {word} things in detail."
        for i, word in enumerate(
            ["zebras", "rockets", "bread", "violins", "glaciers", "kettles"] * 6
        )
    )
    doc = Document(id_="big", text=text)
    parser = HierarchicalNodeParser.from_defaults(chunk_sizes=[256, 64, 32], chunk_overlap=0)
    all_nodes = parser.get_nodes_from_documents([doc])
    leaves = get_leaf_nodes(all_nodes)

    def run(kind: str, uri: str) -> Any:
        docstore = SimpleDocumentStore()
        docstore.add_documents(all_nodes)
        store = make_store(kind, uri)
        ctx = StorageContext.from_defaults(vector_store=store, docstore=docstore)
        index = VectorStoreIndex(leaves, storage_context=ctx, embed_model=EMBED)
        base = index.as_retriever(similarity_top_k=8)
        merging = AutoMergingRetriever(base, ctx, simple_ratio_thresh=0.3)
        return [
            view(merging.retrieve(q), with_ids=True) for q in ("zebras things", "bread detail")
        ], count(kind, store)

    ref, ours = both(run, tmp_path)
    assert ours == ref
    assert ref[1] == len(leaves)


# -- ingestion pipeline -------------------------------------------------------------------


LONG_EDIT = " ".join(f"Bees visit flower number {i} and carry pollen home." for i in range(30))


def _pipeline_docs(version: int) -> list[Document]:
    """v1 -> v2: "stay" unchanged, "edit" shrinks from several chunks to one, "gone" is
    dropped, "added" is new; "twin" has the text of "stay" under another id."""
    owls = "Owls hunt mice at night in the barn."
    docs = [
        Document(id_="stay", text=owls, metadata={"v": 1}),
        Document(id_="twin", text=owls, metadata={"v": 1}),
        Document(
            id_="edit",
            text=LONG_EDIT if version == 1 else "Bees make wax and honey in hives.",
            metadata={"v": version},
        ),
    ]
    if version == 1:
        docs.append(Document(id_="gone", text="Moles dig tunnels underground.", metadata={}))
    else:
        docs.append(Document(id_="added", text="Foxes sneak through the snow.", metadata={}))
    return docs


def stored_ids(kind: str, store: Any) -> list[tuple[str, str | None]]:
    """(node id, ref doc id) of every node the store holds."""
    if kind == "ref":
        return sorted(store.data.text_id_to_ref_doc_id.items())
    return sorted((n.node_id, n.ref_doc_id) for n in store.get_nodes())


def _ingest(kind: str, uri: str, strategy: DocstoreStrategy, use_async: bool) -> Any:
    store = make_store(kind, uri)
    docstore = SimpleDocumentStore()

    def pipeline() -> IngestionPipeline:
        return IngestionPipeline(
            transformations=[splitter(64), EMBED],
            vector_store=store,
            docstore=docstore,
            docstore_strategy=strategy,
        )

    out: list[Any] = []
    for version in (1, 2):
        pipe = pipeline()
        docs = _pipeline_docs(version)
        nodes = asyncio.run(pipe.arun(documents=docs)) if use_async else pipe.run(documents=docs)
        out.append(sorted((n.node_id, n.ref_doc_id, n.get_content()) for n in nodes))
        out.append((stored_ids(kind, store), count(kind, store)))
        if kind == "ours" and strategy != DocstoreStrategy.DUPLICATES_ONLY:
            # upserts replace a changed document's nodes: none of its old version is left
            stored = store.get_nodes()
            rows = sorted((n.node_id, n.ref_doc_id, n.metadata.get("v")) for n in stored)
            docs_v = {d.id_: d.metadata.get("v") for d in docs}
            assert all(v == docs_v[r] for _, r, v in rows if r in docs_v), rows
    return out


@pytest.mark.parametrize("use_async", [False, True])
@pytest.mark.parametrize("strategy", list(DocstoreStrategy))
def test_ingestion_pipeline_strategies(
    tmp_path: Path, strategy: DocstoreStrategy, use_async: bool
) -> None:
    ref, ours = both(lambda kind, uri: _ingest(kind, uri, strategy, use_async), tmp_path)
    for i, (r, o) in enumerate(zip(ref, ours, strict=True)):
        assert o == r, f"step {i}"


# -- async index flows --------------------------------------------------------------------

LONG = " ".join(f"Sentence number w{i} talks about zebra{i % 7} topics." for i in range(200))


@pytest.mark.parametrize("override", [False, True])
def test_async_write_flows_match_reference(tmp_path: Path, override: bool) -> None:
    def run(kind: str, uri: str) -> Any:
        out: list[Any] = []

        async def go() -> None:
            store = make_store(kind, uri)
            index = VectorStoreIndex(
                [],
                storage_context=StorageContext.from_defaults(vector_store=store),
                embed_model=EMBED,
                store_nodes_override=override,
                transformations=[splitter(128)],
                use_async=True,
            )
            for doc in [*documents(), Document(id_="long", text=LONG)]:
                await index.ainsert(doc)
            out.append((answers(index), count(kind, store)))
            await index.adelete_ref_doc("zebra", delete_from_docstore=True)
            out.append((answers(index), count(kind, store)))
            await index.aupdate_ref_doc(Document(id_="long", text=LONG[:300]))
            out.append((answers(index), count(kind, store)))
            refreshed = await index.arefresh_ref_docs(
                [
                    Document(id_="long", text=LONG[:100]),
                    Document(id_="rocket", text=TOPICS["rocket"], metadata=documents()[1].metadata),
                    Document(id_="new", text="brand new"),
                ]
            )
            out.append((refreshed, answers(index, top_k=20), count(kind, store)))
            await index.adelete_nodes(["bread#0"], delete_from_docstore=True)
            out.append((answers(index, top_k=20), count(kind, store)))
            hits = await index.as_retriever(similarity_top_k=20).aretrieve("zebra3 topics")
            out.append(view(hits))

        asyncio.run(go())
        return out

    ref, ours = both(run, tmp_path)
    for i, (r, o) in enumerate(zip(ref, ours, strict=True)):
        assert o == r, f"step {i}"
    assert ref[3][0] == [True, False, True]


def test_concurrent_async_inserts_retrievals_and_deletes(tmp_path: Path) -> None:
    def run(kind: str, uri: str) -> Any:
        async def go() -> Any:
            store = make_store(kind, uri)
            index = VectorStoreIndex(
                [],
                storage_context=StorageContext.from_defaults(vector_store=store),
                embed_model=EMBED,
                transformations=[splitter()],
            )
            await asyncio.gather(*(index.ainsert(d) for d in documents()))
            await asyncio.gather(
                *(
                    index.ainsert_nodes(
                        [TextNode(id_=f"n{i}", text=f"zebra note {i} w{i}", metadata={"i": i})]
                    )
                    for i in range(10)
                )
            )
            retriever = index.as_retriever(similarity_top_k=4)
            hits = await asyncio.gather(*(retriever.aretrieve(q) for q in QUERIES * 3))
            before = count(kind, store)
            await asyncio.gather(
                *(index.adelete_ref_doc(k, delete_from_docstore=True) for k in ("zebra", "bread"))
            )
            await asyncio.gather(*(index.adelete_nodes([f"n{i}"]) for i in range(5)))
            return [view(h) for h in hits], before, count(kind, store), answers(index, top_k=20)

        return asyncio.run(go())

    ref, ours = both(run, tmp_path)
    assert ours == ref
    assert (ref[1], ref[2]) == (15, 8)


# -- unusual documents --------------------------------------------------------------------

ODD_DOCUMENTS = {
    "reserved_keys": Document(
        id_="r1",
        text="Zebras striped savanna",
        metadata={
            "id": "X",
            "text": "T",
            "embedding": [1, 2],
            "doc_id": "D",
            "ref_doc_id": "R",
            "document_id": "DD",
            "_node_content": "nc",
            "_node_type": "zz",
            "score": 5,
            "pk": 1,
        },
    ),
    "odd_keys_and_values": Document(
        id_="w1",
        text="Zebras striped savanna",
        metadata={
            "a.b": 1,
            "a b": 2,
            "é": "ü",
            "nested": {"k": [1, {"z": None}]},
            "none": None,
            "f": 1.5,
            "big": 2**62,
            "lst": ["a", "b"],
        },
    ),
    "templates_and_exclusions": Document(
        id_="e1",
        text="Zebras striped savanna",
        metadata={"a": 1, "b": 2},
        excluded_llm_metadata_keys=["a"],
        excluded_embed_metadata_keys=["b"],
        metadata_template="{key}=>{value}",
        text_template="META:{metadata_str}\nBODY:{content}",
    ),
    "quoted_id": Document(id_='it\'s "q" \\ back', text="Zebras striped savanna"),
    "unicode_id": Document(id_="文档/1 ", text="Zebras striped savanna"),
}


@pytest.mark.parametrize("case", sorted(ODD_DOCUMENTS))
def test_odd_documents_round_trip_and_delete(tmp_path: Path, case: str) -> None:
    doc = ODD_DOCUMENTS[case]

    def full(hits: list[NodeWithScore]) -> list[Any]:
        return [
            (
                *view([h])[0],
                h.node.get_content(MetadataMode.LLM),
                h.node.get_content(MetadataMode.EMBED),
                (h.node.start_char_idx, h.node.end_char_idx),
                sorted(str(k) for k in h.node.relationships),
            )
            for h in hits
        ]

    def run(kind: str, uri: str) -> Any:
        docs = [doc, Document(id_="other", text="rockets orbit fuel")]
        index, store = build(kind, uri, docs=docs)
        retriever = index.as_retriever(similarity_top_k=2)
        first = full(retriever.retrieve("zebras striped"))
        index.delete_ref_doc(doc.id_, delete_from_docstore=True)
        return first, count(kind, store), full(retriever.retrieve("zebras striped"))

    ref, ours = both(run, tmp_path)
    assert ours == ref
    assert ref[1] == 1


def test_empty_index_reads_and_deletes_like_reference(tmp_path: Path) -> None:
    def run(kind: str, uri: str) -> Any:
        store = SimpleVectorStore() if kind == "ref" else MilvusVectorStore(uri=uri)
        index = VectorStoreIndex(
            [],
            storage_context=StorageContext.from_defaults(vector_store=store),
            embed_model=EMBED,
            transformations=[splitter()],
        )
        retriever = index.as_retriever(similarity_top_k=3)
        out = [view(retriever.retrieve("zebra")), asyncio.run(retriever.aretrieve("zebra"))]
        index.delete_ref_doc("nope", delete_from_docstore=True)
        out.append(index.refresh_ref_docs(documents()[:2]))
        out.append((answers(index), count(kind, store)))
        return out

    ref, ours = both(run, tmp_path)
    assert ours == ref


# DEFECT (fixed): empty text was refused, so update_ref_doc (delete, then insert) lost the doc.
def test_empty_text_documents_are_kept_as_the_reference_keeps_them(tmp_path: Path) -> None:
    def run(kind: str, uri: str) -> Any:
        index, store = build(kind, uri)
        index.insert(Document(id_="empty", text=""))
        index.update_ref_doc(Document(id_="bread", text="   "))
        return answers(index, top_k=10), count(kind, store)

    ref, ours = both(run, tmp_path)
    assert ours == ref
    # "empty" is stored (one node, text ""); a blank "bread" splits into no node at all
    assert ours[1] == len(TOPICS) and "'empty'" in repr(ours[0])
