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
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from milvus_plugins.core.errors import UnsupportedByServerError
from milvus_plugins.core.filters import Dialect

__all__ = ["Capabilities", "detect_capabilities"]

FEATURE_MINIMUM = {
    "sparse vectors": "2.4.0",
    "hybrid search": "2.4.0",
    "BM25 full-text function": "2.5.0",
    "nullable fields": "2.5.0",
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
        json_in: ``metadata["k"] in [...]``.
        like_infix: ``like`` patterns with a leading ``%`` (2.3 has prefix match only).
        delete_returns_count: delete reports a count rather than the deleted keys.
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

    @property
    def dialect(self) -> Dialect:
        """The filter-expression dialect of this engine."""
        return Dialect(
            json_in=self.json_in,
            json_exists=self.json_exists,
            nullable=self.nullable,
            missing_is_null=self.json_exists,
            like_infix=self.like_infix,
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
        )
    major_minor = _parse(version)[:2]
    return Capabilities(
        version=version,
        is_lite=False,
        sparse=major_minor >= (2, 4),
        hybrid_search=major_minor >= (2, 4),
        bm25_function=major_minor >= (2, 5),
        nullable=major_minor >= (2, 5),
        json_exists=major_minor >= (2, 3),
        json_in=True,
        like_infix=major_minor >= (2, 4),
    )
