"""Re-index (or re-embed) a collection behind an alias, with no downtime, and roll back.

Readers open the store by an alias (``collection_name="docs"``, an alias of
``docs_v1``). :func:`reindex` then:

1. resolves the alias to its collection (the source);
2. creates a shadow collection with the source's layout and the new index settings
   (and the new embedding's dimension and fingerprint, when re-embedding);
3. streams the source's rows into it with ``query_iterator`` (one page in memory),
   re-embedding their text in batches when a new embedding is given, and flushes;
4. checks it: the same row count as the source, and recall@k of its index on sampled
   queries at least ``min_recall``, against exact search (a brute-force pass over the
   shadow's own vectors, streamed; ``reference="exact"``) or against the source's
   answers (``reference="source"``, only without re-embedding);
5. only then points the alias at the shadow (``alter_alias``: one atomic step).

Until step 5, readers keep using the source; after it, the next call goes to the
shadow, which is complete and loaded: no reader sees an empty or partial collection. A
failed check raises :class:`RecallTooLowError` (or :class:`ReindexRefusedError`) and
leaves the alias and the source untouched. The source is kept until dropped explicitly;
:func:`point_alias` with the report's ``previous`` collection is the rollback.

Writes made to the source while it is copied are not in the shadow. The switch is
refused when the source changed during the copy: its rows are read a second time, after
the recall check, and compared with what was copied (row count and a digest of every
row's id, text, metadata, framework data and vectors), so an update, or an add and a
delete that leave the count as it was, refuse it too. A write landing between that
second read and the switch itself is not seen: pause writers for a guarantee.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from milvus_plugins.core.config import CollectionSpec
from milvus_plugins.core.connection import ConnectionConfig
from milvus_plugins.core.errors import (
    CollectionNotFoundError,
    ConfigError,
    EmbeddingMismatchError,
    ForeignLayoutError,
    InvalidInputError,
    MilvusPluginsError,
    RecallTooLowError,
    ReindexRefusedError,
    SchemaMismatchError,
    shown,
)
from milvus_plugins.core.fingerprint import EmbeddingProbe, stored_fingerprint
from milvus_plugins.core.indexes import IndexConfig, checked_search_params, index_from_dict
from milvus_plugins.core.inference import creation_tag
from milvus_plugins.core.names import check_name
from milvus_plugins.core.ops.aliases import point_alias_op, resolve_alias_op
from milvus_plugins.core.ops.calls import Call, ClientMethod, one_call
from milvus_plugins.core.portable import (
    StoredSparseVectors,
    described,
    iter_records,
    named_partitions,
    pages_by_partition,
    stored_spec,
)
from milvus_plugins.core.records import Record
from milvus_plugins.core.session import database_key
from milvus_plugins.core.store import MilvusStore
from milvus_plugins.core.types import MetricType, SparseMode

__all__ = ["ReindexReport", "point_alias", "reindex", "resolve_alias"]

Embed = Callable[[list[str]], Sequence[Sequence[float]]]


@dataclass(frozen=True)
class ReindexReport:
    """What :func:`reindex` did.

    Attributes:
        alias: the alias switched.
        previous: the collection it pointed to before (pass it to :func:`point_alias`
            to roll back; drop it when no longer needed).
        current: the new collection it points to now.
        rows: rows copied.
        recall: the measured recall@k of the new collection.
        k: the k of the recall.
        queries: the number of sampled queries.
    """

    alias: str
    previous: str
    current: str
    rows: int
    recall: float
    k: int
    queries: int


def _admin(connection: ConnectionConfig, name: str) -> MilvusStore:
    return MilvusStore(CollectionSpec(name=name), connection=connection, open_mode="adopt")


def resolve_alias(connection: ConnectionConfig, alias: str) -> str | None:
    """The collection ``alias`` points to, or ``None``.

    Raises:
        UnsupportedByServerError: the engine has no aliases (Milvus Lite 2.5).
    """
    with _admin(connection, alias) as store:
        return store._run(resolve_alias_op(store.session, alias))


def point_alias(connection: ConnectionConfig, alias: str, collection: str) -> str | None:
    """Point ``alias`` at ``collection``: create it, or switch it atomically (rollback).

    Returns:
        The collection the alias pointed to before, or ``None`` when it was created.

    Raises:
        ConfigError: a bad name, or ``alias`` is a collection's name.
        CollectionNotFoundError: ``collection`` does not exist.
        UnsupportedByServerError: the engine has no aliases (Milvus Lite 2.5).
    """
    with _admin(connection, collection) as store:
        return store._run(point_alias_op(store.session, alias, collection))


def _shadow_name(alias: str, existing: Sequence[str]) -> str:
    stem = re.sub(r"_v\d+$", "", alias)
    taken = {*existing, alias}
    number = 2
    while f"{stem}_v{number}" in taken:
        number += 1
    return f"{stem}_v{number}"


def _taken(store: MilvusStore, name: str) -> bool:
    """Whether ``name`` is a collection's or an alias' (``has_collection`` answers both)."""
    return bool(store._run(one_call(Call(ClientMethod.HAS_COLLECTION, (name,)))))


_SHADOW_TRIES = 100


def _free_shadow_name(store: MilvusStore, alias: str) -> str:
    """The first ``<alias stem>_v<N>`` that names no collection and no alias (an alias
    ``docs_v2`` gets ``docs_v3``, not itself; another alias named ``docs_v3`` is skipped)."""
    taken = list(store.list_collections())
    for _ in range(_SHADOW_TRIES):
        name = _shadow_name(alias, taken)
        if not _taken(store, name):
            return name
        taken.append(name)
    raise ConfigError(
        f"no free name <stem>_v<N> for the new collection of alias {shown(alias)} after "
        f"{_SHADOW_TRIES} tries; pass target=."
    )


def _normalised(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0.0, 1.0, norms)


def _scores(metric: MetricType, queries: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Higher is closer, for every (query, vector) pair."""
    if metric is MetricType.COSINE:
        scores: np.ndarray = _normalised(queries) @ _normalised(vectors).T
    elif metric is MetricType.IP:
        scores = queries @ vectors.T
    else:
        cross: np.ndarray = queries @ vectors.T
        scores = -((queries**2).sum(1)[:, None] - 2 * cross + (vectors**2).sum(1)[None])
    return scores


def exact_top_k(
    store: MilvusStore, queries: np.ndarray, k: int, batch_rows: int
) -> list[list[str]]:
    """The exact top-``k`` ids of each query, by one streamed pass over ``store``'s rows.

    Memory: one page of vectors plus ``k`` candidates per query.
    """
    metric = store.spec.metric_type
    best_scores = np.full((len(queries), 0), -np.inf)
    best_ids = np.empty((len(queries), 0), dtype=object)
    for page in iter_records(store, batch_rows=batch_rows, include_vectors=True):
        vectors = np.asarray([r.vector for r in page], dtype=np.float32).astype(np.float64)
        ids = np.asarray([r.id for r in page], dtype=object)
        scores = np.concatenate([best_scores, _scores(metric, queries, vectors)], axis=1)
        every = np.concatenate([best_ids, np.tile(ids, (len(queries), 1))], axis=1)
        keep = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        best_scores = np.take_along_axis(scores, keep, axis=1)
        best_ids = np.take_along_axis(every, keep, axis=1)
    return [[str(i) for i in row] for row in best_ids]


def _recall(found: Sequence[Sequence[str]], truth: Sequence[Sequence[str]], k: int) -> float:
    if not truth:
        return 1.0
    total = 0.0
    for got, want in zip(found, truth, strict=True):
        wanted = set(want[:k])
        total += len(set(got[:k]) & wanted) / max(1, len(wanted))
    return total / len(truth)


def _queries(sample: list[list[float]], count: int, seed: int) -> np.ndarray:
    """Query vectors between pairs of sampled stored vectors (none is a stored vector)."""
    rng = random.Random(seed)
    array = np.asarray(sample, dtype=np.float64)
    if len(array) < 2:
        return array
    pairs = [rng.sample(range(len(array)), 2) for _ in range(count)]
    return np.asarray([(array[i] + array[j]) / 2.0 for i, j in pairs])


def _check_args(min_recall: float, k: int, sample_queries: int, batch_rows: int) -> None:
    if isinstance(min_recall, bool) or not isinstance(min_recall, (int, float)):
        raise ConfigError(f"min_recall={shown(min_recall)} must be a number in [0, 1].")
    if not 0.0 <= float(min_recall) <= 1.0:
        raise ConfigError(f"min_recall={shown(min_recall)} must be in [0, 1].")
    for name, value, high in (("k", k, 1024), ("sample_queries", sample_queries, 10000)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
            raise ConfigError(f"{name}={shown(value)} must be an integer in [1, {high}].")
    if (
        isinstance(batch_rows, bool)
        or not isinstance(batch_rows, int)
        or not 1 <= batch_rows <= 16384
    ):
        raise ConfigError(f"batch_rows={shown(batch_rows)} must be an integer in [1, 16384].")


def reindex(
    connection: ConnectionConfig,
    alias: str,
    *,
    index: IndexConfig | dict[str, Any] | str | None = None,
    embed: Embed | None = None,
    embedding_model: str | None = None,
    target: str | None = None,
    min_recall: float = 0.9,
    k: int = 10,
    sample_queries: int = 50,
    reference: str = "exact",
    search_params: dict[str, Any] | None = None,
    batch_rows: int = 1000,
    seed: int = 0,
    on_progress: Callable[[int], None] | None = None,
) -> ReindexReport:
    """Build a re-indexed (or re-embedded) copy of the alias' collection, check it, switch.

    Args:
        connection: where Milvus is.
        alias: the alias readers use (it must exist: see :func:`point_alias`).
        index: the new dense index (default: the source's).
        embed: a new embedding (texts -> vectors) to re-embed every row's text with.
        embedding_model: the new embedding's name, recorded in its fingerprint.
        target: the new collection's name (default: ``<alias>_v<N>``, the first free).
        min_recall: the recall@k below which the alias is not switched.
        k: the k of recall@k.
        sample_queries: how many sampled queries measure the recall.
        reference: ``"exact"`` (brute force over the new collection) or ``"source"``
            (the source collection's answers; not with ``embed``).
        search_params: search knobs of the new index for the check (``ef``, ``nprobe``).
        batch_rows: rows per page read, re-embedded and written.
        seed: the sampling seed.
        on_progress: called with the running count of rows copied.

    Returns:
        What was switched, and the recall measured.

    Raises:
        ConfigError: a bad argument, no such alias, ``target`` exists, or the source is
            sparse-only (before any write).
        RecallTooLowError: the new collection's recall is below ``min_recall`` (the
            alias is unchanged; the new collection is kept for inspection).
        ReindexRefusedError: the source changed while it was copied (rows written,
            updated or deleted meanwhile: see the module docstring).
        InvalidInputError: ``embed`` returned no vector per text, or vectors a write
            refuses (strings, NaN, another dimension): the alias is not switched.
        ConfigError: the source has a vector field of a type a copy cannot carry.
        ForeignLayoutError: the alias points at another tool's collection (copy it
            with :func:`~milvus_plugins.core.migration.migrate` first).
        UnsupportedByServerError: the engine has no aliases (Milvus Lite 2.5).
    """
    check_name("alias", alias)
    _check_args(min_recall, k, sample_queries, batch_rows)
    if on_progress is not None and not callable(on_progress):
        raise ConfigError(
            f"on_progress={shown(on_progress)} must be a function taking the count of rows "
            "copied (or None)."
        )
    if reference not in ("exact", "source"):
        raise ConfigError(f"reference={shown(reference)} must be 'exact' or 'source'.")
    if reference == "source" and embed is not None:
        raise ConfigError(
            "reference='source' compares with the source's answers, which a new embedding "
            "changes: use reference='exact' when re-embedding."
        )
    new_index = index_from_dict(index) if isinstance(index, (str, dict)) else index
    # Checked now: the shadow collection is built before its recall check searches.
    search_params = checked_search_params(search_params, new_index)
    if target is not None:
        check_name("target", target)
    previous = resolve_alias(connection, alias)
    if previous is None:
        raise ConfigError(
            f"there is no alias {shown(alias)}; point one at the collection first "
            f"(point_alias / 'milvus-plugins alias {alias} COLLECTION') and have readers "
            "open the alias."
        )
    source = _admin(connection, previous)
    try:
        if not source.exists():
            raise CollectionNotFoundError(f"collection {shown(previous)} does not exist.")
        layout = source.spec.layout
        if layout is not None:
            # The new collection would have to be made in the other tool's layout, which
            # this package only reads.
            raise ForeignLayoutError(
                f"alias {shown(alias)} points at {shown(previous)}, a collection in the "
                f"{layout.label} layout, which reindex does not copy (it builds the new "
                "collection in the source's layout, and this package only reads that one); "
                "copy it into this package's layout with migrate() (CLI: milvus-plugins "
                f"migrate {previous} NEW), point the alias at the copy, then reindex. "
                "Nothing was created or switched."
            )
        if not source.spec.dense:
            # Reindex builds a new dense index (or embedding) and checks its recall by
            # dense search: a sparse-only collection has neither.
            raise ConfigError(
                f"alias {shown(alias)} points at {shown(previous)}, a sparse-only "
                "collection (keyword search, no dense vectors): reindex builds a new dense "
                "index or embedding and checks its recall, which such a collection has "
                "not. To copy it, export it and import the file into a new collection, "
                "then point the alias there. Nothing was created or switched."
            )
        if target is None:
            name = _free_shadow_name(source, alias)  # one that is not taken
        elif _taken(source, target):
            raise _target_exists(target)
        else:
            name = target
        fingerprint = stored_fingerprint(described(source, previous))
        # This run's mark on the collection it creates: another run (or client) that
        # takes the same name at the same time is told apart, and nothing is written
        # into a collection this run did not create.
        tag = f"reindex:{uuid.uuid4().hex}"
        for _ in range(_SHADOW_TRIES):
            try:
                return _build_and_switch(
                    connection,
                    alias,
                    source,
                    name,
                    tag,
                    new_index,
                    embed,
                    embedding_model,
                    fingerprint,
                    min_recall,
                    k,
                    sample_queries,
                    reference,
                    search_params,
                    batch_rows,
                    seed,
                    on_progress,
                )
            except _NameTaken:
                if target is not None:
                    raise _target_exists(target) from None
                name = _free_shadow_name(source, alias)  # it is taken now: the next one
        raise ConfigError(
            f"every new collection name this run chose for alias {shown(alias)} was taken "
            f"by another client first ({_SHADOW_TRIES} tries); pass target=."
        )
    finally:
        source.close()


_SWITCH_LOCKS: dict[tuple[str, ...], threading.Lock] = {}
_SWITCH_LOCKS_GUARD = threading.Lock()


def _switch_lock(connection: ConnectionConfig, alias: str) -> threading.Lock:
    """The lock under which runs of this process check an alias and switch it: two of
    them never both pass the check. Runs in other processes can still meet between one's
    check and its switch (Milvus has no compare-and-swap of an alias)."""
    key = (*database_key(connection), alias)
    with _SWITCH_LOCKS_GUARD:
        return _SWITCH_LOCKS.setdefault(key, threading.Lock())


def _check_ours(shadow: MilvusStore, alias: str, name: str, tag: str) -> None:
    """Refuse to go on when the new collection is no longer the one this run created
    (dropped meanwhile, and perhaps made again by another client): nothing more is
    written to it, and it is not named as this run's to drop."""
    if not _tagged(shadow, name, tag):
        raise ReindexRefusedError(
            f"the new collection {shown(name)} was dropped while this run copied into it "
            "(and perhaps made again by another client, whose it now is); nothing more was "
            f"written to it, and the alias {shown(alias)} was not switched. Run again.",
            shadow="",
        )


class _NameTaken(Exception):
    """Another client created the new collection's name first (nothing written to it)."""


def _target_exists(target: str) -> ConfigError:
    return ConfigError(
        f"target collection {shown(target)} exists already (nothing was written to it); "
        "drop it or pass another target."
    )


def _claim(shadow: MilvusStore, name: str, tag: str, page: Sequence[Record]) -> None:
    """Create the new collection before anything is written to it, and make sure this run
    created it: a collection of that name made by another client meanwhile (another
    reindex run that chose the same name) raises :class:`_NameTaken`, untouched."""
    if _taken(shadow, name):
        raise _NameTaken(name)
    try:
        created = shadow.ensure_collection(_page_dim(page), page)
    except (SchemaMismatchError, EmbeddingMismatchError):
        # Opened after losing the race to create it, and it differs from this run's.
        if not _tagged(shadow, name, tag):
            raise _NameTaken(name) from None
        raise
    if created and not _tagged(shadow, name, tag):
        raise _NameTaken(name)


def _tagged(shadow: MilvusStore, name: str, tag: str) -> bool:
    """Whether collection ``name`` exists and carries this run's ``tag``."""
    try:
        return creation_tag(described(shadow, name)) == tag
    except CollectionNotFoundError:
        return False


def _build_and_switch(
    connection: ConnectionConfig,
    alias: str,
    source: MilvusStore,
    name: str,
    tag: str,
    new_index: IndexConfig | None,
    embed: Embed | None,
    embedding_model: str | None,
    fingerprint: Any,
    min_recall: float,
    k: int,
    sample_queries: int,
    reference: str,
    search_params: dict[str, Any] | None,
    batch_rows: int,
    seed: int,
    on_progress: Callable[[int], None] | None,
) -> ReindexReport:
    # The source's spec with its named dense fields (an adopted store does not read them).
    full = stored_spec(source)
    spec: CollectionSpec = replace(full, name=name, description="", creation_tag=tag)
    if new_index is not None:
        if not new_index.metric_given:  # an index naming no metric keeps the source's
            new_index = replace(new_index, metric=full.metric_type)
        spec = replace(spec, index=new_index, metric=new_index.metric_type)
    embedding: Any = fingerprint
    if embed is not None:
        spec = replace(spec, dim=None)
        embedding = EmbeddingProbe(
            embed=lambda text: _embedded(embed, [text], "the probe text")[0],
            model=embedding_model,
        )
    shadow = MilvusStore(
        spec,
        connection=connection,
        embedding=embedding,
        sparse_encoder=StoredSparseVectors() if spec.sparse_mode is SparseMode.CLIENT else None,
    )
    claimed = False  # whether the new collection was created (by this run)
    try:
        rng = random.Random(seed)
        sample: list[list[float]] = []
        rows = 0
        copied = 0
        partitions = named_partitions(source, full)
        created: set[str] = set()  # in the new collection
        for partition, page in pages_by_partition(source, full, batch_rows, partitions):
            source_page = page
            if embed is not None:
                where = f"rows {rows + 1} to {rows + len(page)}"
                vectors = _embedded(embed, [r.text for r in page], where)
                # As given: the upsert checks them as any write's (strings refused).
                page = [replace(r, vector=v) for r, v in zip(page, vectors, strict=True)]
            try:
                if not claimed:
                    _claim(shadow, name, tag, page)
                    claimed = True
                else:  # still this run's: not dropped and made again by someone else
                    _check_ours(shadow, alias, name, tag)
                if partition is not None and partition not in created:
                    shadow.create_partition(partition)
                    created.add(partition)
                shadow.upsert(page, batch_rows=batch_rows, progress=False, partition_name=partition)
            except InvalidInputError as exc:
                raise InvalidInputError(
                    f"copying rows {rows + 1} to {rows + len(page)} into {shown(name)}: {exc} "
                    f"The alias {shown(alias)} was not switched; drop {shown(name)} (if it was "
                    "created) and run again."
                ) from None
            copied += _digest(source_page, partition)
            for record in page:  # reservoir sample: bounded memory, uniform over rows
                rows += 1
                # Not `record.vector or ()`: an embed function's numpy row has no truth value.
                vector = [float(x) for x in (() if record.vector is None else record.vector)]
                if len(sample) < sample_queries + 1:
                    sample.append(vector)
                elif (slot := rng.randrange(rows)) <= sample_queries:
                    sample[slot] = vector
            if on_progress is not None:
                on_progress(rows)
        if rows == 0:  # nothing read, so nothing created
            raise ReindexRefusedError(
                f"collection {shown(source.spec.name)} is empty: nothing to re-index.",
                shadow="",
            )
        for partition in partitions:  # empty ones too: writes into them must keep working
            if partition not in created:
                shadow.create_partition(partition)
        shadow.flush()
        source_rows, shadow_rows = source.count(), shadow.count()
        if source_rows != shadow_rows or shadow_rows != rows:
            twice = (
                "; or another client wrote one id twice there: its count counts both rows, a "
                "read shows one, and no run can match it until one of them is deleted"
                if source_rows > rows
                else ""
            )
            raise ReindexRefusedError(
                f"the new collection {shown(name)} holds {shadow_rows} rows but "
                f"{shown(source.spec.name)} holds {source_rows} ({rows} read; rows were "
                f"written meanwhile?{twice}); the alias {shown(alias)} was not switched. "
                f"Pause writers and run again (drop {shown(name)} first).",
                shadow=name,
            )
        queries = _queries(sample, sample_queries, seed)
        depth = min(k, rows)
        found = shadow.search_many(queries.tolist(), k=depth, search_params=search_params)
        found_ids = [[h.id for h in hits] for hits in found]
        if reference == "source":
            truth_hits = source.search_many(queries.tolist(), k=depth)
            truth = [[h.id for h in hits] for hits in truth_hits]
        else:
            truth = exact_top_k(shadow, queries, depth, batch_rows)
        recall = _recall(found_ids, truth, depth)
        if recall < min_recall:
            raise RecallTooLowError(
                f"the new collection {shown(name)} has recall@{depth} = {recall:.3f} against "
                f"{'exact search' if reference == 'exact' else shown(source.spec.name)} on "
                f"{len(queries)} sampled queries, below min_recall={min_recall}; the alias "
                f"{shown(alias)} still points at {shown(source.spec.name)}. Tune the index "
                f"(or search_params), or lower min_recall; drop {shown(name)} when done.",
                recall=recall,
                threshold=min_recall,
                shadow=name,
            )
        # Last: what changed in the source while it was copied (and checked) refuses.
        # Read by partition as copied: a row moved to another partition counts as changed.
        now, now_rows = 0, 0
        for partition, page in pages_by_partition(source, full, batch_rows, partitions):
            now += _digest(page, partition)
            now_rows += len(page)
        same_partitions = sorted(named_partitions(source, full)) == sorted(partitions)
        if not same_partitions or now_rows != rows or now % _DIGEST_MOD != copied % _DIGEST_MOD:
            raise ReindexRefusedError(
                f"rows of {shown(source.spec.name)} changed while they were copied into "
                f"{shown(name)} (updated, added, deleted or moved between partitions, or "
                f"partitions added: {now_rows} rows now, {rows} copied); the alias "
                f"{shown(alias)} was not switched. Pause writers and run again (drop "
                f"{shown(name)} first).",
                shadow=name,
            )
        with _switch_lock(connection, alias):
            _check_ours(shadow, alias, name, tag)
            # Another run (or client) may have switched the alias since this one read it:
            # writes made through it since then went to a collection this copy never saw.
            now_previous = resolve_alias(connection, alias)
            if now_previous != source.spec.name:
                raise ReindexRefusedError(
                    f"the alias {shown(alias)} was switched to {shown(now_previous)} while "
                    f"this run copied {shown(source.spec.name)} (another reindex or "
                    f"point_alias?): rows written through it since are not in {shown(name)}, "
                    f"so it was not switched again. Run again from its new collection (drop "
                    f"{shown(name)} first).",
                    shadow=name,
                )
            previous = shadow._run(point_alias_op(shadow.session, alias, name))
        return ReindexReport(
            alias=alias,
            previous=previous or source.spec.name,
            current=name,
            rows=rows,
            recall=recall,
            k=depth,
            queries=len(queries),
        )
    except BaseException as exc:
        # A failure of the caller's own functions (embed, on_progress), an interrupt, or
        # Milvus' own: named unless the error names the new collection already.
        add_note = getattr(exc, "add_note", None)  # Python >= 3.11
        if (
            claimed
            and add_note is not None
            and not isinstance(exc, ReindexRefusedError)
            and shown(name) not in str(exc)
        ):
            add_note(
                f"reindex: the alias {alias!r} was not switched; the new collection "
                f"{name!r} this run created is left behind: drop it."
            )
        raise
    finally:
        shadow.close()


_DIGEST_MOD = 1 << 128


def _page_dim(page: Sequence[Record]) -> int | None:
    vector = page[0].vector if page else None
    return len(vector) if vector is not None else None


def _digest(records: Sequence[Record], partition: str | None = None) -> int:
    """An order-free digest of ``records`` read from ``partition`` (the sum of each
    row's sha256, 128 bits): two reads of an unchanged collection give the same sum, in
    any page order; a row moved to another partition changes it."""
    total = 0
    for record in records:
        fields: list[Any] = [record.id, record.text, record.metadata, record.doc_id]
        if partition is not None:
            fields.append(partition)
        fields += [record.extra, record.sparse]
        text = json.dumps(fields, sort_keys=True, default=str, ensure_ascii=False)
        h = hashlib.sha256(text.encode("utf-8", "surrogatepass"))
        for vector in (record.vector, *(record.vectors[k] for k in sorted(record.vectors))):
            if vector is not None:
                h.update(np.asarray(vector, dtype=np.float32).tobytes())
        total += int.from_bytes(h.digest()[:16], "big")
    return total % _DIGEST_MOD


def _embedded(embed: Embed, texts: list[str], where: str) -> list[Sequence[float]]:
    """``embed(texts)``, checked to be one vector per text (each checked by the write).

    Raises:
        InvalidInputError: not a list of ``len(texts)`` vectors.
    """
    try:
        vectors = embed(texts)
    except MilvusPluginsError:
        raise
    except Exception as exc:
        raise InvalidInputError(
            f"the embed function failed on {where}: {type(exc).__name__}: {exc}"
        ) from exc
    if isinstance(vectors, (str, bytes, Mapping)) or not isinstance(
        vectors, (Sequence, np.ndarray)
    ):
        raise InvalidInputError(
            f"the embed function returned {type(vectors).__name__} for {where}; it must "
            "return one vector (a list of numbers) per text."
        )
    if len(vectors) != len(texts):
        raise InvalidInputError(
            f"the embed function returned {len(vectors)} vectors for the {len(texts)} texts "
            f"of {where}; it must return one vector per text."
        )
    return list(vectors)


def replace_vector(record: Record, vector: Sequence[float]) -> Record:
    """A copy of ``record`` with ``vector`` (re-embedded)."""
    return replace(record, vector=[float(x) for x in vector])
