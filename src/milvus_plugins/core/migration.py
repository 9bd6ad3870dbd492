"""Copy a collection (of any adopted layout) into this package's layout, and verify it.

:func:`migrate` streams the source's rows page by page with ``query_iterator`` (only
one page is held at a time, so memory stays flat as the collection grows), converts
each row to a :class:`~milvus_plugins.core.records.Record` (ids, vectors and metadata
as the source's tool wrote them) and upserts it into the target. Upserts by id are
idempotent: a migration killed half-way is resumed by running it again, which ends
with exactly the source's rows. It ends with a :class:`Verification`: row counts, a
reservoir sample of rows compared field by field, and the top-k agreement of a few
searches run on both collections.

It is synchronous only (pymilvus' ``query_iterator`` is): a batch job, also run by
``milvus-plugins migrate SRC DST``.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from milvus_plugins.core.config import CollectionSpec
from milvus_plugins.core.errors import (
    ConfigError,
    SchemaMismatchError,
    UnsupportedByServerError,
    shown,
)
from milvus_plugins.core.fields import MetadataField
from milvus_plugins.core.fingerprint import stored_fingerprint
from milvus_plugins.core.ops.aliases import resolve_alias_op
from milvus_plugins.core.portable import (
    applicable_settings,
    described,
    iter_records,
    named_partitions,
    pages_by_partition,
    record_differences,
    refuse_keys_held_twice,
    stored_spec,
)
from milvus_plugins.core.stats import partition_key_of
from milvus_plugins.core.store import MilvusStore
from milvus_plugins.core.types import SparseMode

__all__ = ["MigrationReport", "Verification", "migrate", "migration_target_spec"]

Progress = Callable[[int, int], None]
"""Called after each page with (rows copied so far, source rows)."""


@dataclass
class Verification:
    """How the target compares with the source after a migration.

    Attributes:
        source_rows: rows in the source.
        target_rows: rows in the target.
        sampled: rows compared field by field (id, text, metadata, doc id, vector).
        mismatches: a line per sampled row that differs (empty: all equal).
        topk_agreement: mean overlap of the top-k ids of searches run on both,
            in [0, 1] (1.0: the same ids).
        k: the k of those searches.
    """

    source_rows: int
    target_rows: int
    sampled: int
    mismatches: list[str] = field(default_factory=list)
    topk_agreement: float = math.nan
    k: int = 10

    @property
    def ok(self) -> bool:
        """Counts equal, every sampled row equal, top-k agreement at least 0.9."""
        agreement = self.topk_agreement
        return (
            self.source_rows == self.target_rows
            and not self.mismatches
            and (math.isnan(agreement) or agreement >= 0.9)
        )


@dataclass
class MigrationReport:
    """What :func:`migrate` did.

    Attributes:
        source: the source collection.
        target: the target collection.
        copied: rows read from the source and upserted into the target in this run.
        seconds: wall time of the copy, with its check of an existing target's rows
            (without the verification).
        verification: the verification, or ``None`` when it was skipped.
    """

    source: str
    target: str
    copied: int
    seconds: float
    verification: Verification | None = None

    @property
    def ok(self) -> bool:
        """Whether the verification passed (``True`` when it was skipped)."""
        return self.verification is None or self.verification.ok


def migration_target_spec(source: CollectionSpec | MilvusStore, name: str) -> CollectionSpec:
    """The spec of a collection of this package's layout that holds ``source``'s rows.

    Same dimension, metric and dense index type (so that searches agree), the same
    named dense fields, consistency level (the source store's), TTL, mmap, shard count
    and partition-key partition count (where the target engine applies them:
    :func:`migrate`); server BM25 when the source has a BM25 field (the function
    recomputes it from the text); the typed metadata columns of the source become
    declared fields. A client sparse field is not copied (no encoder is known for it).

    Pass the source *store*: its collection is opened first, so its settings are read
    from it. A store's ``spec`` holds the settings it was given until its first call
    opens the collection (an adopted store: defaults); :func:`migrate` refuses a target
    built from such a spec whose metric differs from the source's.

    Raises:
        CollectionNotFoundError: a source store whose collection does not exist.
    """
    if isinstance(source, MilvusStore):
        source = stored_spec(source)
    sparse = SparseMode.BM25 if source.sparse_mode is SparseMode.BM25 else SparseMode.NONE
    declared = tuple(
        MetadataField(
            name=d.name,
            type=d.scalar_type,
            element_type=d.element_scalar_type,
            max_length=d.max_length,
            max_capacity=d.max_capacity,
        )
        for d in source.declared_fields
    )
    return CollectionSpec(
        name=name,
        dim=source.dim,
        index=source.index_config,
        metric=source.metric_type,
        vector_fields=source.extra_vector_fields,
        sparse=sparse,
        metadata_fields=declared,
        partition_key=source.partition_key,
        consistency_level=source.consistency,
        # What the source was created with beyond its schema (TTL, mmap, shards, the
        # key's partition count): a TTL left behind would keep rows the source expires.
        properties=replace(source.collection_properties, replicas=None),
        num_partitions=source.num_partitions,
    )


def _collection_of(store: MilvusStore) -> str:
    """The collection behind ``store``'s name (an alias resolved), or the name itself."""
    try:
        resolved = store._run(resolve_alias_op(store.session, store.spec.name))
    except (UnsupportedByServerError, ConfigError):  # no aliases here, or no alias name
        return store.spec.name
    # Any other failure (a fault that outlasted the retries) is raised: taking the name
    # for the collection would let a copy of a collection onto its own alias through.
    return resolved or store.spec.name


def _prepare_routing(
    source: MilvusStore, target: MilvusStore, read: CollectionSpec, partitions: Sequence[str]
) -> None:
    """Check, before anything is copied (or created), that the target routes rows as the
    source does, then create the source's named ``partitions`` in it (empty ones too).

    Raises:
        SchemaMismatchError: the source routes rows by a partition key the target lacks
            (or names otherwise), or keeps named partitions where the target routes rows
            by a partition key.
        UnsupportedByServerError: named partitions, and the target's engine has none.
    """
    # The existing collection's own key (a store's spec may name one it lacks).
    if target.exists():
        key = partition_key_of(described(target, target.spec.name))
    else:
        key = target.spec.partition_key
    if read.partition_key is not None and key != read.partition_key:
        has = "no partition key" if key is None else f"the partition key {shown(key)}"
        raise SchemaMismatchError(
            f"the source {shown(source.spec.name)} routes rows by its partition key "
            f"{shown(read.partition_key)} but the target {shown(target.spec.name)} has {has}: "
            "the copy would lose that routing. Build the target's spec with "
            "migration_target_spec(source, name), which carries the key, or migrate into "
            "another collection. Nothing was copied."
        )
    if not partitions:
        return
    target.capabilities.require("partitions", target.capabilities.partitions)
    if key is not None:
        raise SchemaMismatchError(
            f"the source {shown(source.spec.name)} keeps rows in named partitions "
            f"({', '.join(map(shown, partitions))}) but the target {shown(target.spec.name)} "
            f"routes rows by its partition key {shown(key)}; migrate into a target without "
            "one. Nothing was copied."
        )
    target.ensure_collection(read.dim)
    present = set(target.list_partitions())
    for name in partitions:
        if name not in present:
            target.create_partition(name)


def _prepare_target(source: CollectionSpec, target: MilvusStore) -> None:
    """Give a target that does not exist yet the source's dimension and named dense
    fields; refuse one that would lose a named field or rank by another metric.

    Raises:
        ConfigError: the target lacks a named dense field of the source, or (when it is
            still to be created) uses another dense metric than the source's.
    """
    spec = target.spec
    exists = target.exists()
    if exists:
        spec = stored_spec(target)
    names = {f.name for f in spec.extra_vector_fields}
    missing = [f for f in source.extra_vector_fields if f.name not in names]
    if missing and exists:
        raise ConfigError(
            f"the target {shown(spec.name)} has no field for the source's named vectors "
            f"{[f.name for f in missing]}; the copy would drop them. Migrate into a new "
            "collection (built from migration_target_spec(source_store, name))."
        )
    if exists:
        return
    if source.dense and spec.dense and spec.metric_type is not source.metric_type:
        raise ConfigError(
            f"the target {shown(spec.name)} would rank by metric {spec.metric_type.value} but "
            f"the source {shown(source.name)} uses {source.metric_type.value}: searches would "
            "disagree. Build the target's spec with migration_target_spec(source_store, name) "
            "(a store's spec holds defaults until the store is opened)."
        )
    target.session.spec = applicable_settings(
        replace(
            spec,
            dim=spec.dim if spec.dim is not None else source.dim,
            vector_fields=(*spec.extra_vector_fields, *missing),
        ),
        target.capabilities,
        carried=source,
    )


def _carry_fingerprint(source: MilvusStore, target: MilvusStore) -> None:
    """Give the target the source's embedding fingerprint, if it records one.

    The copy holds the source model's vectors: a target it creates records that model
    (as an export and import do), and an existing target recording another model is
    refused when it is opened (``EmbeddingMismatchError``, nothing copied). A target
    store given its own ``embedding=`` keeps it.
    """
    if target.session.embedding is not None:
        return
    fingerprint = stored_fingerprint(described(source, source.spec.name))
    if fingerprint is not None:
        target.session.embedding = fingerprint


def _refuse_replaced_rows(source: MilvusStore, target: MilvusStore, batch_rows: int) -> None:
    """Refuse to copy into a target that holds, under an id of the source, a row other
    than the source's: the copy writes by id and would replace it for good.

    A target holding only this source's rows as they are (a migration interrupted and
    run again) passes, and so do rows under ids the source does not have (they stay; the
    verification then reports the counts apart). Reads the target page by page (at most
    1,000 rows, the ids of one ``get`` of the source's rows) and the source's rows of
    each page's ids (an empty or new target costs one count).

    Raises:
        ConfigError: a row of the target differs from the source's row of that id
            (nothing is copied).
    """
    if target.count() == 0:  # also a target not created yet: reads find nothing
        return
    replaced: list[str] = []
    for page in iter_records(target, batch_rows=min(batch_rows, 1000)):
        originals = {r.id: r for r in source.get([r.id for r in page], include_vectors=True)}
        replaced += [
            r.id for r in page if r.id in originals and record_differences(originals[r.id], r)
        ]
        if len(replaced) >= 3:
            break
    if replaced:
        raise ConfigError(
            f"the target {shown(target.spec.name)} already holds other rows under ids of the "
            f"source {shown(source.spec.name)} ({', '.join(shown(i) for i in replaced[:3])}); "
            "a migration writes by id and would replace them. Nothing was copied. Migrate "
            "into a new (or empty) collection, drop the target first, or pass "
            "overwrite=True (CLI: --overwrite) to replace them on purpose."
        )


def _sample_add(
    reservoir: list[str], seen: int, row_id: str, size: int, rng: random.Random
) -> None:
    if len(reservoir) < size:
        reservoir.append(row_id)
        return
    slot = rng.randrange(seen)
    if slot < size:
        reservoir[slot] = row_id


def migrate(
    source: MilvusStore,
    target: MilvusStore,
    *,
    batch_rows: int = 1000,
    progress: Progress | None = None,
    verify: bool = True,
    sample: int = 50,
    queries: int = 5,
    k: int = 10,
    seed: int = 0,
    overwrite: bool = False,
) -> MigrationReport:
    """Copy every row of ``source`` into ``target`` (upserts by id), then verify.

    An existing target may hold rows already: a migration interrupted half-way is
    resumed by running it again, and rows under ids the source lacks are left as they
    are. One holding a *different* row under an id of the source is refused before
    anything is copied, unless ``overwrite=True``.

    Args:
        source: the store of the collection to copy (any layout it can read).
        target: the store of a collection of this package's layout (created on the
            first write; see :func:`migration_target_spec`).
        batch_rows: rows per page read and per upsert.
        progress: called after each page with (copied, total).
        verify: run the verification at the end.
        sample: rows compared field by field.
        queries: searches (by sampled rows' vectors) compared between the two.
        k: results per search.
        seed: the sampling seed.
        overwrite: replace rows of an existing target that differ from the source's
            rows of the same ids (default: refuse).

    Returns:
        The report; ``report.ok`` says whether the verification passed.

    Raises:
        ConfigError: the target is the source, has a foreign layout, holds other rows
            under ids of the source (without ``overwrite=True``), or a bad setting.
        CollectionNotFoundError: the source does not exist.
        InvalidInputError: a source row this package cannot store (e.g. an id too long);
            the rows before it are copied, a re-run resumes.
        SharedIdError: the source holds one id in two partitions (nothing is copied).
        SchemaMismatchError: the target would not route rows as the source does (it
            lacks the source's partition key, or has one where the source keeps named
            partitions); nothing is copied or created.
        UnsupportedByServerError: the source has named partitions and the target's
            engine has none.
    """
    if isinstance(batch_rows, bool) or not isinstance(batch_rows, int) or batch_rows < 1:
        raise ConfigError(f"batch_rows={shown(batch_rows)} must be a positive integer.")
    if not isinstance(overwrite, bool):
        raise ConfigError(f"overwrite={shown(overwrite)} must be True or False.")
    if target.spec.layout is not None:
        raise ConfigError("the migration target must use this package's layout (no layout=).")
    same_place = source.session.connection.uri == target.session.connection.uri
    if same_place and source.spec.name == target.spec.name:
        raise ConfigError(f"source and target are both {shown(source.spec.name)}.")
    total = source.count()  # opens the source (detecting its layout) first
    if same_place and _collection_of(source) == _collection_of(target):
        raise ConfigError(
            f"source {shown(source.spec.name)} and target {shown(target.spec.name)} are the "
            f"same collection {shown(_collection_of(source))} (one is an alias of it); "
            "name another target."
        )
    read = stored_spec(source)  # with its named dense fields, which a copy must carry
    _carry_fingerprint(source, target)
    refuse_keys_held_twice(source, "migrate")
    _prepare_target(read, target)
    started = time.perf_counter()
    if not overwrite:
        _refuse_replaced_rows(source, target, batch_rows)
    partitions = named_partitions(source, read)
    _prepare_routing(source, target, read, partitions)
    rng = random.Random(seed)
    reservoir: list[str] = []
    copied = 0
    # Partition by partition where the source has named ones (each row into its own).
    pages = pages_by_partition(source, read, min(batch_rows, 16384), partitions)
    written = 0  # rows of the pages written so far
    try:
        for partition, records in pages:
            for record in records:
                copied += 1
                _sample_add(reservoir, copied, record.id, sample, rng)
                if target.spec.sparse_mode is not SparseMode.CLIENT:
                    record.sparse = None
            target.upsert(records, progress=False, batch_rows=batch_rows, partition_name=partition)
            written = copied
            if progress is not None:
                progress(copied, total)
    except BaseException as exc:
        # The error speaks of its own call; the rows of earlier pages are in the target.
        add_note = getattr(exc, "add_note", None)  # Python >= 3.11
        if add_note is not None and written > 0:
            add_note(
                f"migrate had copied {written} of {total} rows into {target.spec.name!r} before "
                "this (rows are written by id: once the cause is fixed, running it again "
                "completes the copy)."
            )
        raise
    seconds = time.perf_counter() - started
    report = MigrationReport(source.spec.name, target.spec.name, copied, seconds)
    if verify:
        target.flush()
        report.verification = verify_migration(source, target, reservoir, queries=queries, k=k)
    return report


def verify_migration(
    source: MilvusStore, target: MilvusStore, ids: list[str], *, queries: int = 5, k: int = 10
) -> Verification:
    """Compare ``target`` with ``source``: counts, the rows ``ids`` and top-k searches."""
    result = Verification(source.count(), target.count(), len(ids), k=k)
    originals = source.get(ids, include_vectors=True)
    copies = {r.id: r for r in target.get(ids, include_vectors=True)}
    for original in originals:
        copy = copies.get(original.id)
        if copy is None:
            result.mismatches.append(f"{original.id}: missing in the target")
            continue
        differs = record_differences(original, copy)
        if differs:
            result.mismatches.append(f"{original.id}: {', '.join(differs)} differ")
    probes = [list(r.vector) for r in originals[:queries] if r.vector is not None]
    if probes:
        agreements = []
        for vector in probes:
            want = {h.id for h in source.search(vector, k=k)}
            got = {h.id for h in target.search(vector, k=k)}
            agreements.append(len(want & got) / max(len(want), 1))
        result.topk_agreement = sum(agreements) / len(agreements)
    return result
