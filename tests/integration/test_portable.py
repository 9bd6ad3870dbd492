"""Export / import of a collection (JSON Lines and Parquet), on every engine.

Round trips are exact: ids, text, metadata (nested, Unicode, int64 extremes), float32
vectors bit for bit, client sparse vectors. Malformed and truncated files are refused
with the line named before anything is written; an import that fails part-way says how
many rows it wrote, and a re-run completes it.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from milvus_plugins.core import (
    BM25Encoder,
    CollectionSpec,
    ConnectionConfig,
    ExportFileError,
    ImportFailedError,
    IvfFlatIndex,
    MetadataField,
    MilvusStore,
    Record,
    SchemaMismatchError,
    export_collection,
    import_collection,
    iter_records,
)
from milvus_plugins.core.capabilities import Capabilities

DIM = 8
CORPUS = ["cat sat on the mat", "dog chased the cat", "fish swim", "milvus vector search"]


def _vector(i: int) -> list[float]:
    rng = np.random.default_rng(i)
    # float32 values with awkward decimals (not short in float64 repr).
    return [float(x) for x in rng.standard_normal(DIM).astype(np.float32) / 3.0]


def _records(n: int, *, sparse: BM25Encoder | None = None) -> list[Record]:
    out = []
    for i in range(n):
        text = f"{CORPUS[i % len(CORPUS)]} #{i} — ünïcödé 漢字 🙂"
        out.append(
            Record(
                id=f"id-{i}-é",
                text=text,
                vector=_vector(i),
                metadata={
                    "i": i,
                    "big": 2**63 - 1 if i % 2 else -(2**63),
                    "nested": {"a": [1, {"b": "ç"}], "deep": {"x": {"y": i / 7}}},
                    "tag": "Ω" * (i % 3),
                    "flag": i % 2 == 0,
                    "none": None,
                },
                doc_id=f"doc-{i % 3}",
                extra={"rel": {"p": f"n{i}"}},
                sparse=sparse.encode_documents([text])[0] if sparse else None,
            )
        )
    return out


def _bits(vector: object) -> bytes:
    return struct.pack(f"<{DIM}f", *np.asarray(vector, dtype=np.float32))


def _by_id(store: MilvusStore) -> dict[str, Record]:
    return {r.id: r for r in store.query(include_vectors=True)}


def _assert_same(a: MilvusStore, b: MilvusStore) -> None:
    left, right = _by_id(a), _by_id(b)
    assert left.keys() == right.keys()
    for key, record in left.items():
        other = right[key]
        assert (record.text, record.metadata, record.doc_id) == (
            other.text,
            other.metadata,
            other.doc_id,
        )
        assert _bits(record.vector) == _bits(other.vector)
        if record.sparse is not None or other.sparse is not None:
            assert record.sparse is not None and other.sparse is not None
            assert {int(k): np.float32(v) for k, v in record.sparse.items()} == {
                int(k): np.float32(v) for k, v in other.sparse.items()
            }


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_round_trip_is_exact(uri: str, collection_name: str, tmp_path: Path, fmt: str) -> None:
    connection = ConnectionConfig(uri=uri)
    spec = CollectionSpec(
        name=collection_name,
        dim=DIM,
        index=IvfFlatIndex(nlist=16, metric="IP"),
        metadata_fields=[MetadataField(name="i", type="INT64")],
    )
    source = MilvusStore(spec, connection=connection)
    source.upsert(_records(25))
    # Streaming: the collection is read in pages of at most batch_rows records.
    pages = [len(page) for page in iter_records(source, batch_rows=7)]
    assert max(pages) <= 7 and sum(pages) == 25
    path = tmp_path / f"out.{fmt}"
    report = export_collection(source, path, batch_rows=7)  # pages smaller than the data
    assert report.rows == 25 and path.exists()
    assert not list(path.parent.glob("*.partial"))  # the export's own file went too
    imported = import_collection(path, collection_name + "_b", connection=connection, batch_rows=6)
    assert imported.rows == 25
    copy = MilvusStore(
        CollectionSpec(name=collection_name + "_b"), connection=connection, open_mode="adopt"
    )
    copy.ensure_collection()
    assert copy.spec.metric_type.value == "IP"
    assert copy.spec.index_config is not None
    assert copy.spec.index_config.index_type.value == "IVF_FLAT"
    assert [d.name for d in copy.spec.declared_fields] == ["i"]
    _assert_same(source, copy)
    # A re-run is idempotent: upserts by id, still 25 rows.
    import_collection(path, collection_name + "_b", connection=connection)
    assert copy.count() == 25
    source.close()
    copy.close()


def test_client_sparse_vectors_round_trip(uri: str, collection_name: str, tmp_path: Path) -> None:
    connection = ConnectionConfig(uri=uri)
    store = MilvusStore(CollectionSpec(name="x", dim=DIM), connection=connection)
    caps: Capabilities = store.capabilities
    store.close()
    if not caps.sparse:
        pytest.skip(f"{caps.version} has no sparse vectors (probed)")
    encoder = BM25Encoder().fit(CORPUS)
    spec = CollectionSpec(name=collection_name, dim=DIM, sparse="client")
    source = MilvusStore(spec, connection=connection, sparse_encoder=encoder)
    source.upsert(_records(9, sparse=encoder))
    path = tmp_path / "sparse.jsonl"
    export_collection(source, path)
    assert '"sparse":{' in path.read_text(encoding="utf-8")
    import_collection(path, collection_name + "_b", connection=connection)
    copy = MilvusStore(
        CollectionSpec(name=collection_name + "_b", dim=DIM, sparse="client"),
        connection=connection,
        sparse_encoder=encoder,
    )
    _assert_same(source, copy)
    source.close()
    copy.close()


def _export(uri: str, name: str, path: Path, rows: int = 5) -> MilvusStore:
    store = MilvusStore(CollectionSpec(name=name, dim=DIM), connection=ConnectionConfig(uri=uri))
    store.upsert(_records(rows))
    export_collection(store, path)
    return store


@pytest.mark.parametrize(
    ("damage", "line", "words"),
    [
        (lambda ls: [*ls[:3], "{not json\n", *ls[4:]], 4, "not valid JSON"),
        (lambda ls: ls[:-1], None, "without its end line"),
        (lambda ls: [*ls[:-2], ls[-2].rstrip("\n")], 6, "cut short"),
        (lambda ls: ls[:2] + ls[3:], 6, "rows are missing"),
        (lambda ls: [*ls[:2], ls[2].replace('"vector":[', '"vector":[1,'), *ls[3:]], 3, "dim"),
        (lambda ls: [*ls[:2], json.dumps({"id": 1, "vector": []}) + "\n", *ls[3:]], 3, "'id'"),
        (lambda ls: ['{"hello": 1}\n', *ls[1:]], 1, "not a milvus-plugins export"),
    ],
)
def test_malformed_file_names_the_line_and_writes_nothing(
    lite_uri: str,
    collection_name: str,
    tmp_path: Path,
    damage: object,
    line: int | None,
    words: str,
) -> None:
    path = tmp_path / "out.jsonl"
    _export(lite_uri, collection_name, path).close()
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(damage(lines)), encoding="utf-8")  # type: ignore[operator]
    connection = ConnectionConfig(uri=lite_uri)
    with pytest.raises(ExportFileError) as caught:
        import_collection(path, collection_name + "_b", connection=connection)
    assert caught.value.line == line
    assert words in str(caught.value)
    assert isinstance(caught.value, ValueError)
    probe = MilvusStore(CollectionSpec(name=collection_name + "_b"), connection=connection)
    assert not probe.exists()  # nothing created, nothing written
    probe.close()


def test_truncated_parquet_is_refused(lite_uri: str, collection_name: str, tmp_path: Path) -> None:
    path = tmp_path / "out.parquet"
    _export(lite_uri, collection_name, path).close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ExportFileError, match="not a complete Parquet file"):
        import_collection(path, collection_name + "_b", connection=ConnectionConfig(uri=lite_uri))


def test_import_into_mismatching_collection_is_refused(
    lite_uri: str, collection_name: str, tmp_path: Path
) -> None:
    path = tmp_path / "out.jsonl"
    _export(lite_uri, collection_name, path).close()
    connection = ConnectionConfig(uri=lite_uri)
    other = MilvusStore(
        CollectionSpec(name=collection_name + "_b", dim=DIM + 1), connection=connection
    )
    other.ensure_collection()
    with pytest.raises(SchemaMismatchError):
        import_collection(path, collection_name + "_b", connection=connection)
    assert other.count() == 0
    other.close()


def test_import_failing_midway_reports_rows_and_rerun_completes(
    lite_uri: str, collection_name: str, tmp_path: Path
) -> None:
    """The collection is dropped by another client after the first batch: the import
    reports the rows written; running it again completes it."""
    path = tmp_path / "out.jsonl"
    _export(lite_uri, collection_name, path, rows=12).close()
    connection = ConnectionConfig(uri=lite_uri)
    dropper = MilvusStore(CollectionSpec(name=collection_name + "_b"), connection=connection)

    def sabotage(rows: int) -> None:
        if rows == 5:
            dropper.client.drop_collection(collection_name + "_b")

    with pytest.raises(ImportFailedError) as caught:
        import_collection(
            path, collection_name + "_b", connection=connection, batch_rows=5, on_progress=sabotage
        )
    assert caught.value.rows_written == 5 and caught.value.rows_total == 12
    assert caught.value.line == 7  # the header is line 1: the second batch starts at line 7
    report = import_collection(path, collection_name + "_b", connection=connection)
    assert report.rows == 12
    assert dropper.count() == 12
    dropper.close()
