"""A FLOAT (float32) column of another tool's collection, compared as the column holds
its values, on every engine.

The other tool wrote 0.1 as float32 (0.10000000149...); Milvus compares the column with
a literal as a double, so ``eq("score", 0.1)`` matched nothing and a delete of
``ne("score", 0.1)`` deleted the row holding 0.1 (helper finding). Literals on such a
column are rounded to float32 first.
"""

from __future__ import annotations

from pymilvus import DataType
from tests.support.raw_collections import raw_collection

from milvus_plugins.core import (
    CollectionSpec,
    ConnectionConfig,
    FieldMapping,
    MilvusStore,
    eq,
    gt,
    in_,
    lt,
    ne,
)

DIM = 4
SCORES = {"a": 0.1, "b": 0.7, "c": 1e-3, "d": 3.4e38}


def _foreign(uri: str, name: str) -> None:
    rows = [
        {"key": k, "body": f"text {k}", "emb": [1.0, i, 0.5, 0.25], "score": v}
        for i, (k, v) in enumerate(SCORES.items())
    ]
    raw_collection(uri, name, rows, dim=DIM, fields=[("score", DataType.FLOAT, {})])


def test_float32_column_compares_as_stored(uri: str, collection_name: str) -> None:
    _foreign(uri, collection_name)
    layout = FieldMapping(id="key", text="body", vector="emb")
    spec = CollectionSpec(name=collection_name, layout=layout)
    with MilvusStore(spec, connection=ConnectionConfig(uri=uri)) as store:

        def ids(where: object) -> list[str]:
            return sorted(r.id for r in store.query(where))  # type: ignore[arg-type]

        assert ids(eq("score", 0.1)) == ["a"]
        assert ids(in_("score", [0.1, 1e-3])) == ["a", "c"]
        assert ids(gt("score", 0.1)) == ["b", "d"]
        assert ids(lt("score", 0.7)) == ["a", "c"]
        assert ids(gt("score", 1e300)) == []
        assert ids(lt("score", 1e300)) == ["a", "b", "c", "d"]
        assert store.delete(filter=ne("score", 0.1)) == 3
        assert ids(None) == ["a"]
