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
=============================  =======

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

__all__ = ["UNKNOWN_VERSION", "Capabilities", "detect_capabilities"]

#: The version of a deployment that does not report one (its features are probed).
UNKNOWN_VERSION = "unknown version (GetVersion unimplemented; features probed)"

FEATURE_MINIMUM = {
    "sparse vectors": "2.4.0",
    "hybrid search": "2.4.0",
    "BM25 full-text function": "2.5.0",
    "nullable fields": "2.5.0",
    # Every Milvus server since 2.0 and Milvus Lite 3 have these; Milvus Lite 2.5 lacks them.
    "partitions": "2.0.0",
    "partition key": "2.2.0",
    "compaction": "2.0.0",
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
        like_match_all: ``like "%"`` matches every string (Milvus Lite 2.5: nothing).
        inverted_index: scalar fields take an ``INVERTED`` index (Milvus >= 2.4);
            without it 2.3's ``STL_SORT``/``Trie`` are used.
        hnsw: the ``HNSW`` dense index can be built (every server; Milvus Lite from
            3.0, whose engine builds it with faiss; Milvus Lite 2.5 cannot).
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
    like_match_all: bool = True
    hnsw: bool = True

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
        )

    def require(self, feature: str, available: bool) -> None:
        """Raise :class:`UnsupportedByServerError` when ``available`` is false."""
        if not available:
            raise UnsupportedByServerError(
                feature, FEATURE_MINIMUM.get(feature, "a newer release"), self.version
            )


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
            hnsw=_parse(version)[0] >= 3,
        )
    major_minor = _parse(version)[:2]
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
    )
