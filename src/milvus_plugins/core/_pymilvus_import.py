"""Import pymilvus safely when ``MILVUS_URI`` names a Milvus Lite file.

pymilvus parses ``MILVUS_URI`` at import time for its legacy ORM connection and raises
``Illegal uri`` for a path such as ``./milvus.db``, which is exactly what this package
documents for Milvus Lite. The variable is hidden from that one import and restored.
"""

from __future__ import annotations

import os
import sys

if "pymilvus" not in sys.modules:
    _uri = os.environ.get("MILVUS_URI")
    _hide = _uri is not None and "://" not in _uri
    if _hide:
        del os.environ["MILVUS_URI"]
    try:
        import pymilvus  # noqa: F401
    finally:
        if _hide and _uri is not None:
            os.environ["MILVUS_URI"] = _uri
