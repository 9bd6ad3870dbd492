"""What the connected Milvus can do, derived from its version (never guessed from the uri).

Milvus Lite reports ``milvus_lite-<version>``; servers report ``v2.x.y``. Features and
the first server version that has them:

=============================  =======
feature                        minimum
=============================  =======
sparse vectors                 2.4.0
multiple vector fields         2.4.0
``hybrid_search``              2.4.0
BM25 function (full text)      2.5.0
nullable / default fields      2.5.0
``exists`` on JSON keys        2.3.0
infix ``like`` (``"%x%"``)     2.4.0
grouping search                2.4.0
``group_size`` in grouping     2.5.0 (assumed; 2.4 releases vary)
decay function ranker          2.6.0
``TEXT_MATCH`` filters         2.5.0
``PHRASE_MATCH`` filters       2.5.17
=============================  =======

Range search (``radius``/``range_filter``) works on every engine here (Milvus >= 2.3).

Milvus Lite 3.2.2 has ``TEXT_MATCH`` but not ``PHRASE_MATCH``; Milvus 2.3.5 and Milvus
Lite 2.5.1 have neither (both accept ``enable_match`` on a field and ignore it; 2.5.1's
lack is found by probing).

A deployment that does not answer ``get_server_version`` (gRPC ``UNIMPLEMENTED``: Milvus
Lite 2.5's C++ engine served over TCP) has no version to read: its capabilities come
from probes instead (:mod:`milvus_plugins.core.probing`) and its version is reported as
:data:`UNKNOWN_VERSION`.

Expression-language differences measured on Milvus 2.3.5 (the flags below say which
engine has what; the filter compiler reads them through :attr:`Capabilities.dialect`):
a bare ``true``/``false`` is rejected, the empty list literal ``[]`` does not parse,
``metadata["k"] in [1, 2.5]`` (values of mixed kinds) crashes the query node, and
``like`` matches prefixes only, with ``_`` taken literally. Server-side filter templating
(``filter_params``) is used nowhere: literals are always inlined, escaped, which gives the
same results on every engine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from milvus_plugins.core.errors import UnsupportedByServerError
from milvus_plugins.core.filters.dialect import Dialect

__all__ = [
    "BM25_FEATURE",
    "JSON_MAX_BYTES",
    "UNKNOWN_VERSION",
    "Capabilities",
    "detect_capabilities",
]

#: The version of a deployment that does not report one (its features are probed).
#: The longest JSON text a Milvus server's JSON field takes (2.3.5 refuses 65,537 bytes).
JSON_MAX_BYTES = 65536
UNKNOWN_VERSION = "unknown version (GetVersion unimplemented; features probed)"

BM25_FEATURE = "BM25 full-text function"
"""The feature name a server without the BM25 function is refused with (the CLI names its
``--no-bm25`` for it)."""

FEATURE_MINIMUM = {
    "sparse vectors": "2.4.0",
    "hybrid search": "2.4.0",
    "multiple vector fields": "2.4.0",
    BM25_FEATURE: "2.5.0",
    "nullable fields": "2.5.0",
    # Every Milvus server since 2.0 and Milvus Lite 3 have these; Milvus Lite 2.5 lacks them.
    "partitions": "2.0.0",
    "partition key": "2.2.0",
    "num_partitions": "2.2.0",
    "compaction": "2.0.0",
    "grouping search": "2.4.0",
    "grouping search with group_size": "2.5.0",
    "decay function ranker": "2.6.0",
    "text match": "2.5.0",
    "phrase match": "2.5.17",
    "collection TTL": "2.2.0",
    "collection mmap": "2.4.0",
}


def _parse(version: str) -> tuple[int, int, int]:
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", version)
    if not match:
        return (99, 0, 0)  # an unknown build: assume current features, errors will say more
    return (int(match.group(1)), int(match.group(2)), int(match.group(3) or 0))


@dataclass(frozen=True)
class Capabilities:
    """Feature flags of one Milvus deployment.

    Attributes:
        version: the version string the server reported.
        is_lite: embedded Milvus Lite.
        sparse: SPARSE_FLOAT_VECTOR fields.
        hybrid_search: the ``hybrid_search`` RPC.
        bm25_function: the server-side BM25 function.
        nullable: nullable scalar fields.
        json_exists: ``exists`` on JSON keys.
        json_in: ``metadata["k"] in [...]`` (with values of mixed kinds too).
        like_infix: any ``like`` pattern (2.3 has prefix match only, ``_`` literal).
        bool_literals: a bare ``true``/``false`` is accepted as a predicate.
        empty_lists: the empty list literal ``[]`` parses in expressions.
        json_escaped_keys: JSON path keys are matched in their JSON-escaped spelling
            (a control character in a key must be written ``\\u001f``); servers do
            this, Milvus Lite wants the raw character.
        json_key_brackets: a JSON key may contain ``][`` (servers split paths there;
            Milvus 2.3.5's proxy even crashes on ``metadata["]["]``).
        not_expr: ``not (...)`` is evaluated (Milvus Lite 2.5 parses it but its engine
            rejects the plan node).
        partitions: partitions (create/list/drop; a partition key and filters on it).
        compaction: the ``compact`` RPC.
        partition_delete: ``delete(..., partition_name=p)`` deletes in ``p`` only (Milvus
            Lite 3.2.2 ignores the partition and deletes in every partition; the store
            then deletes by the ids it reads in the partitions).
        partition_count: a ``count(*)`` query honours ``partition_names`` (Milvus Lite
            3.2.2 counts every partition; the store then counts the ids it reads).
        partition_key_equality: an equality on the partition key finds upserted rows
            (Milvus 2.3.5: it prunes to the wrong partition; see :class:`Dialect`).
        num_partitions: ``num_partitions`` at creation sets the number of partition-key
            partitions (Milvus Lite 3.2.2 accepts it and always makes 16).
        like_match_all: ``like "%"`` matches every string (Milvus Lite 2.5: nothing).
        inverted_index: scalar fields take an ``INVERTED`` index (Milvus >= 2.4);
            without it 2.3's ``STL_SORT``/``Trie`` are used.
        array_index: ARRAY fields take an ``INVERTED`` index too (Milvus Lite 2.5.1
            refuses it with "invalid parameter": its ARRAY fields then get none).
        grouping: a complete grouping search (``group_by_field``). Milvus 2.3.5 accepts
            the parameter and ignores it (ungrouped results); Milvus Lite 3.2.2 groups
            only a window of the nearest rows (groups beyond it go missing). Neither
            counts: the core groups on the client there.
        group_size: grouping search honours ``group_size`` and ``strict_group_size``
            (Milvus Lite 2.5.1 groups but ignores them: one row per group).
        decay_ranker: function rerankers (a ``decay`` ``Function`` as a search
            ``ranker``); Milvus Lite 2.5.1 and Milvus 2.3.5 accept and ignore it.
        multi_vector: a collection may hold several vector fields (Milvus >= 2.4),
            e.g. named dense fields beside ``vector``.
        text_match: ``TEXT_MATCH`` filters on a match-enabled text field.
        phrase_match: ``PHRASE_MATCH`` filters (Milvus >= 2.5.17; not Milvus Lite 3.2).
        text_match_analyzer: ``TEXT_MATCH`` splits text with the field's analyzer.
            Milvus Lite 3.2.2 ignores it: its terms are the standard tokenizer's,
            lower-cased, with no stop words dropped (tested: a ``jieba`` field's
            ``"北京"`` matched nothing, a ``lowercase=False`` field's ``"FOX"`` matched
            ``fox``, an ``english`` field's ``"the"`` matched).
        collection_ttl: the ``collection.ttl.seconds`` property is kept and applied
            (servers; Milvus Lite 3.2.2 keeps it but never expires rows, Milvus Lite 2.5
            drops it).
        collection_mmap: the ``mmap.enabled`` property is kept (Milvus >= 2.4, Milvus
            Lite 3; Milvus Lite 2.5 drops it).
        shards: ``num_shards`` at creation is applied (servers; Milvus Lite has one).
        replicas: ``replica_number`` at load is applied (servers; Milvus Lite ignores it).
        hnsw: the ``HNSW`` dense index can be built (every server; Milvus Lite from
            3.0, whose engine builds it with faiss; Milvus Lite 2.5 cannot).
        like_backslash_column / like_backslash_json: ``like`` reads a backslash in a
            pattern as a plain character on a typed column / a JSON path (see
            :class:`Dialect`).
        json_bools_are_numbers: JSON ``true``/``false`` compare equal to ``1``/``0``
            (Milvus Lite 3; see :class:`Dialect`).
        json_numbers_exact: JSON numbers compare with literals exactly, as Python does
            (Milvus Lite 3; see :class:`Dialect`).
        keeps_properties: collection properties survive creation and
            ``alter_collection_properties`` (Milvus Lite 2.5.1 drops them; probed).
        line_escapes: ``\\n`` / ``\\r`` / ``\\t`` in a string literal are read as the
            control characters (Milvus Lite 2.5.1 reads ``\\n`` as ``n``; probed).
        json_max_bytes: the longest JSON text a JSON field takes, in UTF-8 bytes
            (servers: 65,536, measured on 2.3.5; ``None``: no limit found, Milvus Lite).
            Writes check the metadata and ``extra`` JSON against it before anything is
            written.
        apostrophe_ids: an upsert may carry a primary key holding an apostrophe
            (``'``): Milvus Lite 2.5.1 inserts one but fails every upsert of it with
            "internal error" (probed), and every write but the plain inserts of Milvus
            Lite 3 is an upsert. Writes refuse such ids up front without it.
        nul_ids: a primary key may hold NUL (Milvus Lite 2.5.1 refuses it mid-write with
            "internal error"; probed). Writes refuse such ids up front without it.
        like_nul: a ``like`` pattern may hold NUL (``"\\x00"``). Milvus 2.3.5 and Milvus
            Lite 2.5.1 end a prefix pattern at the NUL (``"a\\x00c%"`` finds
            ``"a\\x00b"``); such patterns raise :class:`FilterError` there.
        nested_index_params: the engine reads an index's build parameters (``M``,
            ``efConstruction``, ``nlist``) only from one JSON ``params`` entry of the
            request. pymilvus sends each as its own entry, which Milvus Lite 3.2.2
            ignores: it built HNSW with M 16 / efConstruction 200 and IVF with nlist
            128 whatever was asked (tested). Index creation then sends them both ways.
        sparse_drop_ratio_build: a sparse index may drop small values at build time
            (``drop_ratio_build`` > 0). Milvus Lite 3.2.2 refuses it ("only
            drop_ratio_build=0 is supported"; tested): such an index is refused before
            anything is created there.
        insert_replaces: an ``insert`` of a primary key the collection holds replaces
            that row, as an upsert does (Milvus Lite 3; tested). Servers and Milvus Lite
            2.5.1 keep both rows, so a write there never inserts where another client
            may have written the same id: only Milvus Lite 3 takes the plain insert of
            a write into a collection that write created.
    """

    version: str
    is_lite: bool
    sparse: bool
    hybrid_search: bool
    bm25_function: bool
    nullable: bool
    json_exists: bool
    json_in: bool
    like_infix: bool = True
    bool_literals: bool = True
    empty_lists: bool = True
    json_escaped_keys: bool = False
    json_key_brackets: bool = True
    not_expr: bool = True
    partitions: bool = True
    compaction: bool = True
    inverted_index: bool = True
    array_index: bool = True
    like_match_all: bool = True
    grouping: bool = True
    group_size: bool = True
    decay_ranker: bool = False
    multi_vector: bool = True
    text_match: bool = True
    text_match_analyzer: bool = True
    phrase_match: bool = True
    collection_ttl: bool = True
    collection_mmap: bool = True
    shards: bool = True
    replicas: bool = True
    aliases: bool = True  # Milvus Lite 2.5 answers UNIMPLEMENTED (probed)
    partition_delete: bool = True
    partition_count: bool = True
    partition_key_equality: bool = True
    num_partitions: bool = True
    hnsw: bool = True
    like_backslash_column: bool = False
    like_backslash_json: bool = False
    json_bools_are_numbers: bool = False
    json_numbers_exact: bool = False
    keeps_properties: bool = True
    line_escapes: bool = True
    json_max_bytes: int | None = JSON_MAX_BYTES
    nul_ids: bool = True
    apostrophe_ids: bool = True
    like_nul: bool = False
    nested_index_params: bool = False
    sparse_drop_ratio_build: bool = True
    insert_replaces: bool = False

    @property
    def dialect(self) -> Dialect:
        """The filter-expression dialect of this engine."""
        return Dialect(
            json_in=self.json_in,
            json_exists=self.json_exists,
            nullable=self.nullable,
            missing_is_null=self.json_exists,
            like_infix=self.like_infix,
            bool_literals=self.bool_literals,
            empty_lists=self.empty_lists,
            json_escaped_keys=self.json_escaped_keys,
            json_key_brackets=self.json_key_brackets,
            not_expr=self.not_expr,
            like_match_all=self.like_match_all,
            text_match=self.text_match,
            text_match_analyzer=self.text_match_analyzer,
            phrase_match=self.phrase_match,
            engine=self.version,
            partition_key_equality=self.partition_key_equality,
            like_backslash_column=self.like_backslash_column,
            like_backslash_json=self.like_backslash_json,
            json_bools_are_numbers=self.json_bools_are_numbers,
            json_numbers_exact=self.json_numbers_exact,
            line_escapes=self.line_escapes,
            like_nul=self.like_nul,
        )

    def require(self, feature: str, available: bool, *, needs: str | None = None) -> None:
        """Raise :class:`UnsupportedByServerError` when ``available`` is false (``needs``:
        what the message says it needs, default the feature's minimum version)."""
        if not available:
            minimum = FEATURE_MINIMUM.get(feature, "a newer release")
            if needs is None and self.is_lite:  # "or Milvus Lite" would name this engine
                needs = f"a Milvus server >= {minimum}"
            raise UnsupportedByServerError(feature, minimum, self.version, needs=needs)


def detect_capabilities(version: str) -> Capabilities:
    """Return the capabilities for a ``get_server_version()`` string."""
    # Milvus Lite says "milvus_lite-3.2.2"; the 2.3.5 standalone server says "v2.3.5-lite",
    # so only the prefix identifies Lite.
    is_lite = version.lower().startswith("milvus_lite")
    if is_lite:
        return Capabilities(
            version=version,
            is_lite=True,
            sparse=True,
            hybrid_search=True,
            bm25_function=True,
            nullable=True,
            json_exists=True,
            json_in=False,
            like_infix=True,
            # Lite 3.2.2 accepts group_by_field but groups only a window of the nearest
            # rows: groups beyond it are silently missing (and group_size=2 can return one
            # group for limit=10), so the core groups on the client there
            # (tests/integration/test_grouping.py::test_lite3_server_grouping_misses_groups).
            grouping=False,
            group_size=False,
            decay_ranker=True,
            text_match=True,
            # ... with its own terms, whatever the field's analyzer (tested on 3.2.2).
            text_match_analyzer=False,
            # Milvus Lite 3.2.2's parser knows text_match only (tested).
            phrase_match=False,
            # It keeps the TTL property but never expires a row (tested); it has one
            # shard and no replicas, and keeps mmap.enabled (no effect in memory).
            collection_ttl=False,
            shards=False,
            replicas=False,
            partition_delete=False,
            partition_count=False,
            num_partitions=False,
            # It refuses an INVERTED index on an ARRAY field (tested); the store builds
            # no scalar indexes on Lite anyway.
            array_index=False,
            hnsw=_parse(version)[0] >= 3,
            # Its JSON paths read `\` in a like pattern as a character (tested on 3.2.2;
            # its typed columns do not, see Dialect).
            like_backslash_json=_parse(version)[0] >= 3,
            # Its JSON paths compare as Python does: `k == true` finds 1 too (tested).
            json_bools_are_numbers=_parse(version)[0] >= 3,
            # ... and compare JSON numbers with literals exactly (2**53 + 1 is not
            # 2.0**53; tested on 3.2.2; servers and Milvus Lite 2.5.1 compare as doubles).
            json_numbers_exact=_parse(version)[0] >= 3,
            # It stores JSON of any length and matches NUL in patterns (tested on 3.2.2).
            json_max_bytes=None,
            like_nul=True,
            # Its index builds read M / efConstruction / nlist only from a nested
            # "params" entry (tested on 3.2.2: the flat entries pymilvus sends are ignored).
            nested_index_params=_parse(version)[0] >= 3,
            sparse_drop_ratio_build=_parse(version)[0] < 3,
            # Its insert of a stored id replaces the row (tested on 3.2.2).
            insert_replaces=_parse(version)[0] >= 3,
        )
    parsed = _parse(version)
    major_minor = parsed[:2]
    # The 2.3 expression quirks were measured on 2.3.5; later servers are assumed to
    # have lifted them (no newer server runs here to check).
    modern = major_minor >= (2, 4)
    return Capabilities(
        version=version,
        is_lite=False,
        sparse=modern,
        hybrid_search=modern,
        bm25_function=major_minor >= (2, 5),
        nullable=major_minor >= (2, 5),
        json_exists=major_minor >= (2, 3),
        json_in=modern,
        like_infix=modern,
        bool_literals=modern,
        empty_lists=modern,
        json_escaped_keys=True,
        json_key_brackets=False,
        inverted_index=modern,
        array_index=modern,
        grouping=modern,
        group_size=major_minor >= (2, 5),
        decay_ranker=major_minor >= (2, 6),
        multi_vector=modern,
        text_match=major_minor >= (2, 5),
        phrase_match=parsed >= (2, 5, 17),
        collection_mmap=modern,
        # Measured on 2.3.5 (upserted rows missed by `key == v`); assumed fixed in 2.4.
        partition_key_equality=modern,
    )
