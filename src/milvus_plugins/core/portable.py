"""Export a collection to a file and import it back: JSON Lines, or Parquet with pyarrow.

Both directions stream: export reads the collection page by page through
``query_iterator`` and writes each page out; import reads the file batch by batch and
upserts each batch. Memory holds one batch, whatever the collection's size.

The file format (a header line that says how to create the collection and which
embedding filled it, one JSON row per record, an end line) is described in
:mod:`milvus_plugins.core.export_format`; the JSON Lines and Parquet readers and writers
are :mod:`milvus_plugins.core.export_files`. Collections with the server-side BM25
function export no sparse vectors: Milvus recomputes them from the text on import.

An export writes a new file of its own beside ``FILE`` (``FILE.<random>.partial``) and
renames it to ``FILE`` when complete, so an interrupted export never leaves a file that
looks whole, and two exports to one file each leave a whole one (the last to finish).
An import reads the file twice: a first pass checks every line (against an existing
collection's own limits), that every id appears once in the whole file (a 16-byte digest
per id is kept for that) and that the file is complete, before anything is written, so a
malformed, truncated or duplicated file raises :class:`ExportFileError` naming the line
and leaves the collection untouched; the second pass writes. Named dense fields
(``vector_fields``), text match and sparse-only collections are carried by the header
and rows. A Milvus failure part-way raises :class:`ImportFailedError` with the rows
written; rows are upserts by id, so running the same import again completes it.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
import warnings
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from pymilvus import DataType

from milvus_plugins.core.capabilities import Capabilities
from milvus_plugins.core.config import CollectionSpec
from milvus_plugins.core.connection import ConnectionConfig
from milvus_plugins.core.errors import (
    CollectionNotFoundError,
    ConfigError,
    ExportFileError,
    ImportFailedError,
    InvalidInputError,
    MilvusOperationError,
    MilvusPluginsError,
    PartitionMismatchError,
    SchemaMismatchError,
    SharedIdError,
    WriteError,
    shown,
)
from milvus_plugins.core.export_files import (
    Page,
    Row,
    read_export,
    read_export_rows,
    write_jsonl,
    write_parquet,
)
from milvus_plugins.core.export_format import (
    EXPORT_VERSION,
    ExportFormat,
    ExportHeader,
    UnexportableRowError,
    creation_settings_from_dict,
    spec_from_dict,
    spec_to_dict,
)
from milvus_plugins.core.fields import DenseField, FieldNames
from milvus_plugins.core.indexes import IndexConfig, described_index_config
from milvus_plugins.core.names import check_name
from milvus_plugins.core.ops.calls import Call, ClientMethod, Op, ReadAll, one_call
from milvus_plugins.core.ops.deletes import reads_partitions_apart
from milvus_plugins.core.properties import described_properties
from milvus_plugins.core.record_checks import validate_records
from milvus_plugins.core.records import Record
from milvus_plugins.core.requests import output_fields
from milvus_plugins.core.results import parse_rows
from milvus_plugins.core.scope import (
    DEFAULT_PARTITION,
    check_partition_names,
    refuse_missing_partitions,
)
from milvus_plugins.core.stats import partition_key_of, vector_fields
from milvus_plugins.core.store import MilvusStore
from milvus_plugins.core.types import SparseMode

__all__ = [
    "EXPORT_VERSION",
    "ExportFormat",
    "ExportHeader",
    "ExportReport",
    "ImportReport",
    "StoredSparseVectors",
    "applicable_settings",
    "export_collection",
    "import_collection",
    "iter_records",
    "named_partitions",
    "pages_by_partition",
    "read_export",
    "read_export_rows",
    "spec_from_dict",
    "spec_to_dict",
    "stored_spec",
]


@dataclass(frozen=True)
class ExportReport:
    """What :func:`export_collection` wrote: rows, file, format."""

    collection: str
    path: str
    format: ExportFormat
    rows: int


@dataclass(frozen=True)
class ImportReport:
    """What :func:`import_collection` wrote: rows, into which collection, from which file."""

    collection: str
    path: str
    format: ExportFormat
    rows: int


class StoredSparseVectors:
    """The sparse "encoder" of a copy: every row brings its sparse vector along.

    A ``sparse="client"`` store needs an encoder; when rows are copied (import,
    reindex) their sparse vectors are already computed, and a row without one is an
    error rather than something to encode.
    """

    def encode_documents(self, texts: Sequence[str]) -> list[dict[int, float]]:
        """Refuse: a copied row must carry its sparse vector."""
        raise InvalidInputError(
            f"{len(texts)} rows of a client-sparse collection carry no sparse vector; "
            "every exported row must have one."
        )

    def encode_queries(self, texts: Sequence[str]) -> list[dict[int, float]]:
        """Refuse: this store is for copying, not for keyword search."""
        raise ConfigError(
            "this store copies rows; open the collection with its own sparse_encoder to search."
        )


def described(store: MilvusStore, name: str) -> dict[str, Any]:
    """``describe_collection(name)`` through ``store``'s retry policy and error translation
    (a transient fault is retried; a missing collection raises
    :class:`CollectionNotFoundError`, any other failure a typed error)."""
    description: dict[str, Any] = store._run(
        one_call(Call(ClientMethod.DESCRIBE_COLLECTION, (name,)))
    )
    return description


def _field_index(collection: str, field: str) -> Op[Mapping[str, Any]]:
    """The description of ``field``'s index (empty: it has none)."""
    indexes = yield Call(ClientMethod.LIST_INDEXES, (collection,), {"field_name": field})
    if not indexes:
        return {}
    return (yield Call(ClientMethod.DESCRIBE_INDEX, (collection, indexes[0]))) or {}


def _named_field(store: MilvusStore, field: Mapping[str, Any]) -> DenseField:
    """A described FLOAT_VECTOR field as a :class:`DenseField` (dim, metric, index type).

    Raises:
        MilvusOperationError: the index could not be described after the store's retries
            (a copy must not guess the field's metric).
    """
    name = str(field.get("name"))
    dim = int((field.get("params") or {}).get("dim", 0)) or None
    try:
        described_index = store._run(_field_index(store.spec.name, name))
    except MilvusOperationError as exc:
        if exc.retriable:  # a fault that outlasted the retries: the metric is unknown
            raise
        described_index = {}  # the engine describes no index here: COSINE, default index
    metric = str(described_index.get("metric_type") or "COSINE").upper()
    index: IndexConfig | None = None
    with contextlib.suppress(ConfigError):
        index = described_index_config(described_index, metric)
    return DenseField(name=name, dim=dim, metric=metric, index=index)


def stored_spec(store: MilvusStore) -> CollectionSpec:
    """The spec of ``store``'s collection, with every named dense field it holds.

    A store opened without ``vector_fields`` (adopted, as the command line and
    :func:`~milvus_plugins.core.reindex.reindex` open collections) does not read its
    named dense fields; a copy made through that spec would drop them. This one names
    them (dimension, metric and index type from the collection), so a copy carries them.

    Raises:
        CollectionNotFoundError: the collection does not exist.
        ConfigError: the collection has a vector field of a type this package does not
            write (binary, float16, ...): copying it would drop it.
    """
    if not store.exists():
        raise CollectionNotFoundError(f"collection {shown(store.spec.name)} does not exist.")
    description = described(store, store.spec.name)
    spec = _with_stored_settings(store, store.spec, description)
    layout = spec.layout
    if layout is not None:
        unread = [
            str(f.get("name")) for f in _vectors_beside(description, {layout.vector, layout.sparse})
        ]
        if unread:
            raise ConfigError(
                f"collection {shown(spec.name)} ({layout.label} layout) has vector fields "
                f"{unread} that its layout does not read; a copy would lose them. Copy it "
                "with Milvus' own tools (backup, bulk insert), or with the tool that made it."
            )
        return spec
    names = spec.fields
    known = {names.vector, names.sparse, *(f.name for f in spec.extra_vector_fields)}
    found: list[DenseField] = []
    for field in _vectors_beside(description, known):
        name, kind = field.get("name"), field.get("type")
        if kind != DataType.FLOAT_VECTOR:
            raise ConfigError(
                f"collection {shown(spec.name)} has a {getattr(kind, 'name', kind)} field "
                f"{shown(name)}, which this package does not copy; a copy would lose it. "
                "Copy that collection with Milvus' own tools (backup, bulk insert)."
            )
        found.append(_named_field(store, field))
    if not found:
        return spec
    return replace(spec, vector_fields=(*spec.extra_vector_fields, *found))


def applicable_settings(
    spec: CollectionSpec, caps: Capabilities, carried: CollectionSpec | None = None
) -> CollectionSpec:
    """``spec`` without the creation settings copied from a source (``carried``: the
    source's spec; ``None``: all of ``spec``'s came from one) that this engine cannot
    apply: a partition count, shards or mmap (how rows are served, not which) go
    quietly; a TTL goes with a :class:`UserWarning` (Milvus Lite keeps rows forever, so
    the copy keeps rows the source would expire).
    """
    props = spec.collection_properties
    source = carried.collection_properties if carried is not None else props
    drop: dict[str, Any] = {}
    for key, applies in (
        ("num_shards", caps.shards),
        ("mmap", caps.collection_mmap),
        ("ttl_seconds", caps.collection_ttl),
    ):
        value = getattr(props, key)
        if value is not None and not applies and value == getattr(source, key):
            drop[key] = None
    changes: dict[str, Any] = {}
    if drop:
        changes["properties"] = replace(props, **drop)
        if "ttl_seconds" in drop:
            warnings.warn(
                f"collection {spec.name!r} is created without the source's TTL "
                f"({props.ttl_seconds} s): this Milvus ({caps.version}) does not apply one, "
                "so its rows do not expire.",
                UserWarning,
                stacklevel=3,
            )
    partitions = spec.num_partitions
    source_partitions = carried.num_partitions if carried is not None else partitions
    if partitions is not None and not caps.num_partitions and partitions == source_partitions:
        changes["num_partitions"] = None
    return replace(spec, **changes) if changes else spec


def _with_stored_settings(
    store: MilvusStore, spec: CollectionSpec, description: Mapping[str, Any]
) -> CollectionSpec:
    """``spec`` with the settings the collection was created with: its TTL, mmap and
    shard count (where the engine applies them) and, with a partition key, its
    partition count. A copy (reindex, migrate, export and import) is then created with
    the same ones: a TTL left behind would keep rows the source expires. (Its default
    consistency level is not taken: the spec's level is also the one this package
    reads at, and a copy is read back at once, e.g. reindex's row count.)"""
    caps = store.capabilities
    changes: dict[str, Any] = {}
    found = described_properties(description, caps)
    carried = {
        "ttl_seconds": found.get("ttl_seconds") if caps.collection_ttl else None,
        "mmap": found.get("mmap") if caps.collection_mmap else None,
        "num_shards": found.get("num_shards"),
    }
    carried = {k: v for k, v in carried.items() if v is not None}
    if carried:
        with contextlib.suppress(ConfigError):  # a value this package would not set
            changes["properties"] = replace(spec.collection_properties, **carried)
    partitions = description.get("num_partitions")
    if spec.partition_key is not None and caps.num_partitions and isinstance(partitions, int):
        changes["num_partitions"] = partitions
    if not changes:
        return spec
    try:
        return replace(spec, **changes)
    except ConfigError:  # a partition count out of this package's range: left out
        changes.pop("num_partitions", None)
        return replace(spec, **changes)


def _vectors_beside(
    description: Mapping[str, Any], known: Collection[str | None]
) -> list[Mapping[str, Any]]:
    """The vector fields of a described collection (of any vector type) that ``known``
    does not name."""
    return [field for field in vector_fields(description) if field.get("name") not in known]


def _check_batch_rows(batch_rows: object) -> None:
    if isinstance(batch_rows, bool) or not isinstance(batch_rows, int):
        raise ConfigError(f"batch_rows={shown(batch_rows)} must be an integer.")
    if not 1 <= batch_rows <= 16384:
        raise ConfigError(f"batch_rows={batch_rows} must be in [1, 16384].")


def iter_records(
    store: MilvusStore,
    *,
    batch_rows: int = 1000,
    include_vectors: bool = True,
    spec: CollectionSpec | None = None,
    partition_names: Sequence[str] | None = None,
) -> Iterator[list[Record]]:
    """Yield every record of ``store``'s collection page by page (``query_iterator``).

    Memory holds one page of ``batch_rows`` records, whatever the collection's size.
    Sync only: pymilvus has no async query iterator.

    Args:
        store: an open store on the collection.
        batch_rows: rows per page.
        include_vectors: read the vectors too.
        spec: read the fields of this spec (e.g. :func:`stored_spec`'s, with every
            named dense field) instead of the store's.
        partition_names: only the rows of these partitions (default: every row).

    Raises:
        ConfigError: ``batch_rows`` is not an integer in [1, 16384], or a bad
            partition name.
        InvalidInputError: a partition the collection does not have.
        CollectionNotFoundError: the collection does not exist.
    """
    _check_batch_rows(batch_rows)
    names = check_partition_names(partition_names)
    if not store.exists():
        raise CollectionNotFoundError(f"collection {shown(store.spec.name)} does not exist.")
    read = spec or store.spec
    kwargs = store.query_kwargs(None, None, 0, include_vectors)
    kwargs["output_fields"] = output_fields(read, include_vectors=include_vectors)
    if names is not None:
        refuse_missing_partitions(store.spec.name, names, store.list_partitions())
        kwargs["partition_names"] = list(names)
    for page in store.runner.iter_pages(ReadAll(store.spec.name, kwargs, batch_rows)):
        yield parse_rows(page, read)


def named_partitions(store: MilvusStore, spec: CollectionSpec) -> list[str]:
    """The collection's partitions besides ``_default`` (none with a partition key,
    whose partitions Milvus makes and routes rows into itself, or on an engine without
    partitions)."""
    if spec.partition_key is not None or not store.capabilities.partitions:
        return []
    return [name for name in store.list_partitions() if name != DEFAULT_PARTITION]


def pages_by_partition(
    store: MilvusStore, spec: CollectionSpec, batch_rows: int, partitions: Sequence[str]
) -> Iterator[Page]:
    """The collection's pages, each with the partition its rows are in (``None``: the
    default one): every row at once without named ``partitions``, else one partition
    after the other, ``_default`` first."""
    if not partitions:
        for page in iter_records(store, batch_rows=batch_rows, include_vectors=True, spec=spec):
            yield None, page
        return
    for name in [DEFAULT_PARTITION, *partitions]:
        pages = iter_records(
            store, batch_rows=batch_rows, include_vectors=True, spec=spec, partition_names=[name]
        )
        for page in pages:
            yield (None if name == DEFAULT_PARTITION else name), page


# -- export ----------------------------------------------------------------------------


def _reporting(pages: Iterator[Page], on_progress: Callable[[int], None] | None) -> Iterator[Page]:
    """Pass ``pages`` on, calling ``on_progress`` with the running row count after each."""
    rows = 0
    for page in pages:
        yield page
        rows += len(page[1])
        if on_progress is not None:
            on_progress(rows)


def refuse_keys_held_twice(source: MilvusStore, verb: str) -> None:
    """Refuse a source that holds one primary key in two partitions (another tool wrote
    it twice, e.g. for two tenants): a read of the whole collection shows one of those
    rows, so a copy would lose the other while its verification passed. Each partition's
    ids are read apart (a 16-byte digest per id is kept); ``verb`` names the operation.

    Raises:
        SharedIdError: an id held in two partitions (nothing is written: no export
            file, no copied row).
    """
    if not reads_partitions_apart(source.capabilities, source.spec):
        return  # one partition, or none a server reads by name (a partition key)
    partitions = source.list_partitions()
    if len(partitions) < 2:
        return
    id_field = source.spec.fields.id
    base = {"output_fields": [id_field], "consistency_level": source.spec.consistency.value}
    seen: dict[bytes, str] = {}
    for partition in partitions:
        step = ReadAll(source.spec.name, {**base, "partition_names": [partition]}, 16384)
        for page in source.runner.iter_pages(step):
            for row in page:
                key = str(row[id_field])
                first = seen.setdefault(id_key(key), partition)
                if first != partition:
                    raise SharedIdError(
                        f"collection {shown(source.spec.name)} holds id {shown(key)} in "
                        f"partitions {shown(first)} and {shown(partition)} (another tool "
                        f"wrote it twice); {verb} keeps one row per id and would lose one. "
                        "Nothing was written. Remove or re-key the duplicate first."
                    )


def _header_of(store: MilvusStore, spec: CollectionSpec, partitions: Sequence[str]) -> ExportHeader:
    from milvus_plugins.core.fingerprint import stored_fingerprint

    description = described(store, store.spec.name)
    return ExportHeader(
        collection=str(description.get("collection_name", store.spec.name)),
        spec=spec_to_dict(_native(spec)),
        embedding=stored_fingerprint(description),
        partitions=tuple(partitions),
    )


def _native(spec: CollectionSpec) -> CollectionSpec:
    """``spec`` in this package's layout: what an import of the rows read through another
    tool's layout creates (its field names would have the collection taken for that
    tool's again, read-only, with the rows' metadata in the wrong places).

    Raises:
        ConfigError: a metadata column is named like one of this package's fields.
    """
    layout = spec.layout
    if layout is None:
        return spec
    try:
        return replace(spec, fields=FieldNames(), layout=None)
    except ConfigError as exc:
        raise ConfigError(
            f"collection {shown(spec.name)} ({layout.label} layout) cannot be exported in "
            f"this package's layout: {exc}"
        ) from None


def _export_target(path: str | os.PathLike[str], kind: ExportFormat) -> Path:
    """The file an export writes, checked before anything is read or written.

    Raises:
        ConfigError: an empty path, a directory (or a name ending in a separator), a
            missing or unwritable directory.
    """
    text = os.fspath(path)
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"the export file {shown(text)} is empty; name a file to write.")
    target = Path(text)
    suffix = ".parquet" if kind is ExportFormat.PARQUET else ".jsonl"
    if text.endswith(("/", os.sep)) or target.is_dir():
        raise ConfigError(
            f"the export file {shown(text)} names a directory; name a file in it "
            f"(e.g. {shown(str(target / ('export' + suffix)))})."
        )
    parent = target.parent
    if not parent.is_dir():
        raise ConfigError(
            f"the directory of the export file {shown(text)} ({shown(str(parent))}) does not "
            "exist; create it first, or name a file in an existing directory."
        )
    if not os.access(parent, os.W_OK):
        raise ConfigError(
            f"the directory {shown(str(parent))} is not writable; name a file elsewhere."
        )
    return target


def _new_partial(target: Path) -> Path:
    """A new file beside ``target`` for this export alone to write into
    (``NAME.<random>.partial``, or ``.<random>.partial`` where that name would be too
    long): created exclusively, so never a file, link or directory
    someone else put there, nor another export's; its permissions come from the umask,
    as any new file's.

    Raises:
        ExportFileError: the file could not be made (nothing was written).
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    stem = target.name
    while True:
        partial = target.with_name(f"{stem}.{secrets.token_hex(6)}.partial")
        try:
            os.close(os.open(partial, flags, 0o666))
        except FileExistsError:
            continue
        except OSError as exc:
            if exc.errno == errno.ENAMETOOLONG and stem:
                stem = ""  # a name near the limit: ".<random>.partial" beside it
                continue
            raise ExportFileError(
                f"cannot write the export ({exc.strerror or exc}); nothing was written",
                path=str(target),
                line=None,
            ) from None
        return partial


def _changed_during_export(collection: str, target: Path, what: str) -> ExportFileError:
    return ExportFileError(
        f"collection {shown(collection)} changed during the export ({what}); the file "
        "would not show it as it was at any moment, so nothing was written. Export it "
        "again when no other client moves rows between partitions or adds or drops "
        "partitions",
        path=str(target),
        line=None,
    )


def _each_id_once(pages: Iterator[Page], collection: str, target: Path) -> Iterator[Page]:
    """Pass ``pages`` on, refusing an id read twice (a 16-byte digest per id is kept).

    Partitions are read one after the other: a row another client moves from one
    partition to the next while they are read is read in both, and a file holding it
    twice cannot be imported.
    """
    seen: set[bytes] = set()
    for partition, page in pages:
        for record in page:
            key = id_key(record.id)
            if key in seen:
                raise _changed_during_export(
                    collection, target, f"id {shown(record.id)} was read in two partitions"
                )
            seen.add(key)
        yield partition, page


def export_collection(
    store: MilvusStore,
    path: str | os.PathLike[str],
    *,
    format: ExportFormat | str | None = None,
    batch_rows: int = 1000,
    on_progress: Callable[[int], None] | None = None,
) -> ExportReport:
    """Write every row of the store's collection, with its vectors, to ``path``.

    A collection with named partitions (no partition key) is written partition by
    partition: the header lists them (empty ones too) and each row names its own, so an
    import puts every row back into its partition.

    Args:
        store: an open store on the collection (its name may be an alias).
        path: the file to write (the user's choice; replaced when complete).
        format: ``"jsonl"`` or ``"parquet"`` (default: from the file name).
        batch_rows: rows per page read (and held in memory at once).
        on_progress: called with the running row count after each page.

    Returns:
        The rows written.

    Raises:
        CollectionNotFoundError: no such collection.
        ConfigError: Parquet asked for without pyarrow; ``path`` is empty, a directory,
            or in a missing or unwritable directory; the collection has a vector field
            of a type an export cannot carry (nothing written).
        ExportFileError: writing the file failed (disk full, ...), or another client
            moved a row between partitions or added or dropped a partition while they
            were read; nothing is left behind.
        SharedIdError: the collection holds one id in two partitions (another tool wrote
            it for two tenants, say): nothing is written.
    """
    kind = ExportFormat.for_path(path, format)
    target = _export_target(path, kind)
    spec = stored_spec(store)
    partitions = named_partitions(store, spec)
    if not partitions:  # named partitions are checked as their rows are written
        refuse_keys_held_twice(store, "an export")
    header = _header_of(store, spec, partitions)
    with_sparse = spec.sparse_mode is SparseMode.CLIENT
    pages = pages_by_partition(store, spec, batch_rows, partitions)
    if partitions:
        pages = _each_id_once(pages, store.spec.name, target)
    pages = _reporting(pages, on_progress)
    partial = _new_partial(target)
    try:
        if kind is ExportFormat.PARQUET:
            rows = write_parquet(partial, header, pages, with_sparse)
        else:
            rows = write_jsonl(partial, header, pages, with_sparse)
        if partitions and sorted(named_partitions(store, spec)) != sorted(partitions):
            raise _changed_during_export(store.spec.name, target, "its partitions changed")
        os.replace(partial, target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise ExportFileError(
            f"cannot write the export ({exc.strerror or exc}); nothing was written",
            path=str(target),
            line=None,
        ) from None
    except UnexportableRowError as exc:
        partial.unlink(missing_ok=True)
        raise ExportFileError(
            f"{exc} (another tool's number column can store one); JSON, an import and "
            "this package's metadata cannot carry it: change or delete that value and "
            "export again; nothing was written",
            path=str(target),
            line=None,
        ) from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return ExportReport(collection=header.collection, path=str(target), format=kind, rows=rows)


# -- import ----------------------------------------------------------------------------


def _runs(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    """``rows`` in file order, in runs of at most ``size`` consecutive rows of one
    partition each."""
    run: list[Row] = []
    for row in rows:
        if run and (row[2] != run[0][2] or len(run) >= size):
            yield run
            run = []
        run.append(row)
    if run:
        yield run


def id_key(record_id: str) -> bytes:
    """A 16-byte digest of an id: it keeps the duplicate checks of a large file or
    collection (export, import, migrate) small."""
    return hashlib.blake2b(record_id.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _vector_differs(a: Any, b: Any) -> str | None:
    """How two stored dense vectors differ (``None``: alike, both absent included).

    Both sides are float32 as Milvus stores them, so they are compared exactly as such.
    """
    if a is None and b is None:
        return None
    if a is None or b is None:
        return "missing"
    x, y = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    if x.shape != y.shape:
        return "dimension"
    return None if np.array_equal(x, y) else "values"


def _sparse_differs(a: Mapping[int, float] | None, b: Mapping[int, float] | None) -> bool:
    """Whether two sparse vectors differ (float32 values, as stored; absent = empty)."""
    x, y = dict(a or {}), dict(b or {})
    if x.keys() != y.keys():
        return True
    return any(np.float32(x[k]) != np.float32(y[k]) for k in x)


def same_json(a: Any, b: Any) -> bool:
    """Whether two JSON values are the same value of the same types: ``1``, ``1.0`` and
    ``True`` differ (Python's ``==`` takes them for one), key order does not matter."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def record_differences(a: Record, b: Record) -> list[str]:
    """The fields in which copy ``b`` differs from original ``a``: id, text, doc id,
    metadata and ``extra`` (values of other JSON types differ), the dense vector (a
    sparse-only collection has none on either side), each named dense vector of ``a``,
    and client sparse vectors (as stored: float32)."""
    out = [name for name in ("id", "text", "doc_id") if getattr(a, name) != getattr(b, name)]
    out += [
        name for name in ("metadata", "extra") if not same_json(getattr(a, name), getattr(b, name))
    ]
    differs = _vector_differs(a.vector, b.vector)
    if differs is not None:
        out.append("vector missing" if differs == "missing" else "vector")
    held = b.vectors or {}
    for name, vector in (a.vectors or {}).items():
        differs = _vector_differs(vector, held.get(name))
        if differs is not None:
            out.append(f"vector {name!r}" + (" missing" if differs == "missing" else ""))
    if _sparse_differs(a.sparse, b.sparse):
        out.append("sparse vector")
    return out


def _check_file(
    path: str | os.PathLike[str],
    kind: ExportFormat,
    spec: CollectionSpec,
    batch_rows: int,
    existing: MilvusStore | None,
    replaced: list[str] | None = None,
) -> int:
    """First pass: every row valid for ``spec``, every id once, and the file complete;
    answers the rows. ``spec`` is the collection's own when it exists (its limits), and
    ``existing`` its store: the rows are then also checked as its writes would check
    them (an id another partition holds, ...), so that no write fails part-way. Given a
    ``replaced`` list, the ids (up to three) under which ``existing`` holds a row other
    than the file's are added to it."""
    header, rows = read_export_rows(path, format=kind, batch_rows=batch_rows)
    if replaced is not None and (existing is None or existing.count() == 0):
        replaced = None  # nothing stored to replace: no reads
    # The target's partitions: those the header lists and the target lacks are created
    # by the import, so their rows are checked against every stored row instead.
    present: set[str] | None = None
    if existing is not None and header.partitions and existing.capabilities.partitions:
        present = set(existing.list_partitions())
    total = 0
    numbered: list[Row] = []
    lines_of: dict[bytes, int] = {}
    client_sparse = spec.sparse_mode is SparseMode.CLIENT

    def check() -> None:
        try:
            validate_records([r for _, r, _ in numbered], spec, spec.dim)
        except MilvusPluginsError as exc:
            line, why = numbered[0][0], exc
            # Name the row: checked alone, the first bad one fails.
            for number, record, _ in numbered:
                try:
                    validate_records([record], spec, spec.dim)
                except MilvusPluginsError as alone:
                    line, why = number, alone
                    break
            raise ExportFileError(
                f"the row is not valid: {why}", path=str(path), line=line
            ) from None
        if existing is None:
            return
        if replaced is not None and len(replaced) < 3:
            held = {
                r.id: r for r in existing.get([r.id for _, r, _ in numbered], include_vectors=True)
            }
            replaced.extend(
                r.id for _, r, _ in numbered if r.id in held and record_differences(r, held[r.id])
            )
        for group in _runs(numbered, len(numbered)):
            refused = _refused_row(existing, group, group[0][2], present)
            if refused is not None:
                line, why = refused
                raise ExportFileError(
                    f"the row cannot be written into {shown(existing.spec.name)}: {why}",
                    path=str(path),
                    line=line,
                ) from None

    for number, record, partition in rows:
        if record.sparse is not None and not client_sparse:
            raise ExportFileError(
                f"the row carries a 'sparse' vector but collection {shown(spec.name)} stores "
                f"none (sparse={spec.sparse_mode.value!r}); remove it, or import into a "
                "client-sparse collection",
                path=str(path),
                line=number,
            )
        key = id_key(record.id)
        if key in lines_of:
            raise ExportFileError(
                f"id {shown(record.id)} is on line {lines_of[key]} and again on line {number}; "
                "an id must appear once (the second row would replace the first): keep one",
                path=str(path),
                line=number,
            )
        lines_of[key] = number
        numbered.append((number, record, partition))
        if len(numbered) >= batch_rows:
            check()
            total += len(numbered)
            numbered = []
    if numbered:
        check()
        total += len(numbered)
    return total


def _refused_row(
    store: MilvusStore, rows: list[Row], partition: str | None, present: set[str] | None
) -> tuple[int, MilvusPluginsError] | None:
    """The line of the first of ``rows`` (one partition's) that a write into
    ``partition`` of ``store``'s existing collection would refuse, and why; ``None``
    when it takes them all.

    Rows of a partition that ``present`` (the target's partitions) lacks go into a
    partition the import creates: an id stored anywhere is then in another partition.
    Otherwise the write's own checks (:meth:`MilvusStore.check_write`) decide, and a
    refusal is narrowed down to its row by halves (a dozen checks for 1,000 rows).
    """
    if partition is not None and present is not None and partition not in present:
        held = {r.id for r in store.get([record.id for _, record, _ in rows])}
        for line, record, _ in rows:
            if record.id in held:
                return line, PartitionMismatchError(
                    f"record {shown(record.id)}: this id is already stored in another "
                    f"partition of collection {shown(store.spec.name)}, and ids are unique "
                    f"across its partitions: it cannot go into partition {shown(partition)}. "
                    "Nothing was written. Delete it there first, or import into another "
                    "collection."
                )
        return None
    try:
        store.check_write([record for _, record, _ in rows], partition_name=partition)
    except InvalidInputError as exc:
        if len(rows) == 1:
            return rows[0][0], exc
        half = len(rows) // 2
        return (
            _refused_row(store, rows[:half], partition, present)
            or _refused_row(store, rows[half:], partition, present)
            or (rows[0][0], exc)
        )
    return None


def _check_partitions(
    store: MilvusStore, header: ExportHeader, existing: CollectionSpec | None, path: str
) -> None:
    """Refuse, before anything is written, a file with named partitions that the
    target cannot hold.

    Raises:
        ExportFileError: the header's spec has a partition key too.
        UnsupportedByServerError: the engine has no partitions (Milvus Lite 2.5).
        SchemaMismatchError: the existing collection has a partition key, or the header's
            partition key is not the existing collection's (the file's rows are one
            tenant's or another's by that key).
    """
    wanted = header.spec.get("partition_key")
    if existing is not None and wanted is not None:
        # From the collection itself, as below.
        held = partition_key_of(described(store, existing.name))
        if held != wanted:
            has = "no partition key" if held is None else f"the partition key {shown(held)}"
            raise SchemaMismatchError(
                f"the export's rows are routed by the partition key {shown(wanted)} but "
                f"collection {shown(existing.name)} has {has}; import into another "
                "collection (or pass drop_old=True to replace it). Nothing was written."
            )
    if not header.partitions:
        return
    if wanted is not None:
        raise ExportFileError(
            "the header lists partitions and a partition key: a collection has one or the "
            "other; export it again",
            path=path,
            line=1,
        )
    store.capabilities.require("partitions", store.capabilities.partitions)
    if existing is None:
        return
    # From the collection itself: a store opened from the header's spec (no partition
    # key) does not take the key over from the collection it opens.
    key = partition_key_of(described(store, existing.name))
    if key is not None:
        named = ", ".join(map(shown, header.partitions))
        raise SchemaMismatchError(
            f"the export's rows are in named partitions ({named}) but collection "
            f"{shown(existing.name)} routes rows by its partition key {shown(key)}; "
            "import into another collection (or pass drop_old=True to replace it). "
            "Nothing was written."
        )


def _existing_spec(store: MilvusStore) -> CollectionSpec | None:
    """The spec of the store's collection as it exists (its limits), or ``None``.

    Raises:
        SchemaMismatchError: it differs from the header's spec (nothing written).
    """
    if not store.exists():
        return None
    return store.spec


def import_collection(
    path: str | os.PathLike[str],
    collection: str,
    *,
    connection: ConnectionConfig | None = None,
    format: ExportFormat | str | None = None,
    batch_rows: int = 1000,
    drop_old: bool = False,
    on_progress: Callable[[int], None] | None = None,
    overwrite: bool = False,
) -> ImportReport:
    """Create (or open) ``collection`` from an export file's header and upsert its rows.

    Args:
        path: the export file.
        collection: the collection to fill (created from the header's spec when
            absent; an existing one must match it).
        connection: where Milvus is (default: ``MILVUS_URI`` or ``./milvus.db``).
        format: ``"jsonl"`` or ``"parquet"`` (default: from the file name).
        batch_rows: rows per upsert (and held in memory at once).
        drop_old: drop an existing collection of that name first.
        on_progress: called with the running row count after each batch.
        overwrite: replace rows an existing collection holds under ids of the file with
            other content (default: refuse, as :func:`~milvus_plugins.core.migrate`
            does; rows equal to the file's, as after an import cut short, pass).

    Returns:
        The rows written.

    Raises:
        ConfigError: ``collection`` is not a valid collection name, or ``batch_rows``
            not an integer in [1, 16384] (nothing read); an existing collection holds
            other rows under ids of the file (without ``overwrite=True``; nothing
            written).
        ExportFileError: a malformed, truncated or invalid file, an id on two lines, or a
            row an existing collection's limits refuse (nothing written).
        SchemaMismatchError: an existing collection differs from the header's spec.
        ImportFailedError: Milvus failed part-way (re-run the import to complete it).
    """
    check_name("collection", collection)
    _check_batch_rows(batch_rows)  # before the collection is created
    if not isinstance(overwrite, bool):
        raise ConfigError(f"overwrite={shown(overwrite)} must be True or False.")
    kind = ExportFormat.for_path(path, format)
    header, _ = read_export(path, format=kind, batch_rows=batch_rows)
    try:
        spec = spec_from_dict(collection, header.spec)
        settings = creation_settings_from_dict(header.spec)
    except ConfigError as exc:
        raise ExportFileError(
            f"the header's spec is not valid: {exc}", path=str(path), line=1
        ) from None
    store = MilvusStore(
        spec,
        connection=connection or ConnectionConfig.from_env(),
        drop_old=drop_old,
        embedding=header.embedding,
        sparse_encoder=StoredSparseVectors() if spec.sparse_mode is SparseMode.CLIENT else None,
    )
    written = 0
    line = 1
    try:
        # An existing collection is checked against the header's spec (a mismatch raises
        # here), and the rows against its own limits and writes, before anything is
        # written.
        existing = None if drop_old else _existing_spec(store)
        if existing is None and settings:
            # A new collection gets the exported one's TTL, shards and partition count
            # (an existing one keeps its own): a TTL left behind would keep rows forever.
            # Those this engine cannot apply are left out (a TTL with a warning).
            store.session.spec = applicable_settings(
                replace(store.spec, **settings), store.capabilities
            )
        _check_partitions(store, header, existing, str(path))
        replaced: list[str] | None = None if overwrite else []
        total = _check_file(
            path,
            kind,
            existing or spec,
            batch_rows,
            store if existing is not None else None,
            replaced,
        )
        if replaced:
            raise ConfigError(
                f"collection {shown(collection)} already holds other rows under ids of "
                f"{shown(str(path))} ({', '.join(shown(i) for i in replaced[:3])}); an import "
                "writes by id and would replace them. Nothing was written. Import into a new "
                "collection, recreate it (drop_old=True; CLI: --drop), or pass "
                "overwrite=True (CLI: --overwrite) to replace them on purpose."
            )
        store.ensure_collection(spec.dim)
        if header.partitions:  # empty ones too: as exported
            present = set(store.list_partitions())
            for name in header.partitions:
                if name not in present:
                    store.create_partition(name)
        _, rows = read_export_rows(path, format=kind, batch_rows=batch_rows)
        try:
            for run in _runs(rows, batch_rows):
                line, partition = run[0][0], run[0][2]
                batch = [record for _, record, _ in run]
                store.upsert(batch, batch_rows=batch_rows, progress=False, partition_name=partition)
                written += len(batch)
                if on_progress is not None:
                    on_progress(written)
            store.flush()
        except WriteError as exc:
            raise ImportFailedError(
                f"importing {shown(str(path))} into {shown(collection)} failed: {exc}",
                rows_written=written + len(exc.written_ids),
                rows_total=total,
                line=line,
            ) from exc
        except (
            MilvusOperationError,
            CollectionNotFoundError,
            ExportFileError,
            InvalidInputError,
        ) as exc:
            # ExportFileError here: the file changed between the two passes;
            # InvalidInputError: the collection changed (another client) since the check.
            raise ImportFailedError(
                f"importing {shown(str(path))} into {shown(collection)} failed: {exc}",
                rows_written=written,
                rows_total=total,
                line=line,
            ) from exc
    finally:
        store.close()
    return ImportReport(collection=collection, path=str(path), format=kind, rows=written)
