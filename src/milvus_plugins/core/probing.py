"""Capabilities of a Milvus that does not say its version, found by probing it.

Milvus Lite 2.5 (the C++ engine, served over TCP) answers ``get_server_version`` with
gRPC ``UNIMPLEMENTED``, so :func:`~milvus_plugins.core.capabilities.detect_capabilities`
has nothing to read. :func:`probe_capabilities` asks the engine itself instead:

* RPCs that may be missing (``compact``, ``list_partitions``) are called on a
  collection that does not exist or on the scratch collection below: an engine that
  has the RPC answers "not found" (or the list), one that lacks it answers
  ``UNIMPLEMENTED``;
* schema features (sparse vectors, the BM25 function, nullable fields, several vector
  fields) are tried by creating a collection with the feature and dropping it at once
  (no index, nothing loaded). ``hybrid_search`` is taken to come with several vector
  fields (both arrived in Milvus 2.4; pymilvus describes the collection before it sends
  the RPC, so the RPC cannot be asked about on its own);
* search features that an engine without them accepts and ignores (grouping search,
  ``group_size``, a decay ``ranker``) are judged by their results on a scratch
  collection built so that only a working feature changes them;
* expression features (``not``, ``exists``, bare ``true``, ``[]``, mixed ``in`` lists,
  ``like`` wildcards, JSON key spellings) are tried as queries on one scratch
  collection holding one row, created and dropped within the probe;
* ``TEXT_MATCH`` and ``PHRASE_MATCH`` are tried on a scratch collection whose text
  field has ``enable_match`` (an engine may accept the field flag and still reject the
  function, as Milvus 2.3.5 and Milvus Lite 2.5.1 do: only a query that selects the
  right row counts).

Every scratch collection has a unique ``_milvus_plugins_probe_*`` name and is dropped
in a ``finally`` block. A feature whose probe fails for any reason other than an
unreachable server or rejected credentials counts as absent (the conservative answer:
a missing feature raises a typed error, a wrongly assumed one would return wrong rows).
The result is cached per uri and database for the life of the process, as a server's
build does not change under a running client.
"""

from __future__ import annotations

import contextvars
import functools
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from pymilvus import DataType, Function, FunctionType, MilvusClient

from milvus_plugins.core.capabilities import JSON_MAX_BYTES, UNKNOWN_VERSION, Capabilities
from milvus_plugins.core.connection import ConnectionConfig
from milvus_plugins.core.error_translation import translate
from milvus_plugins.core.errors import (
    AuthenticationError,
    MilvusConnectionError,
)
from milvus_plugins.core.filters.literals import escape_string

__all__ = [
    "probe_capabilities",
    "probe_properties",
    "probe_text_match",
    "probe_write_limits",
    "quiet_rpc_errors",
    "reports_unimplemented",
]

_PROBED: dict[tuple[str, str], Capabilities] = {}
_PROBE_LOCK = threading.Lock()
_CONTROL_KEY = "a\x1fb"  # spelled "a\u001fb" by the JSON encoder
_BRACKET_KEY = "x][y"
_LINE_VALUE = "a\nb"  # Milvus Lite 2.5.1 reads the literal "a\\nb" as "anb"


_QUIET: contextvars.ContextVar[bool] = contextvars.ContextVar("quiet_rpc_errors", default=False)


class _QuietFilter(logging.Filter):
    """Drops pymilvus' RPC error records while :func:`quiet_rpc_errors` is on (in this
    thread or task only); every other record passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not _QUIET.get()


# pymilvus logs every failed RPC, with its traceback, at ERROR level on this logger.
logging.getLogger("pymilvus.decorators").addFilter(_QuietFilter())


@contextmanager
def quiet_rpc_errors(quiet: bool = True) -> Iterator[None]:
    """Keep pymilvus from logging the RPC failures of the calls made inside (with
    ``quiet``): a probe's or a version query's failure is an answer (the engine lacks
    the feature), not an error for the user's log. The failures are raised as usual."""
    if not quiet:
        yield
        return
    token = _QUIET.set(True)
    try:
        yield
    finally:
        _QUIET.reset(token)


def reports_unimplemented(exc: BaseException) -> bool:
    """Whether ``exc`` (or an error it was raised from) is gRPC ``UNIMPLEMENTED``."""
    link: BaseException | None = exc
    seen: set[int] = set()
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        code = getattr(link, "code", None)
        if callable(code):
            try:
                if getattr(code(), "name", None) == "UNIMPLEMENTED":
                    return True
            except Exception:  # an unrelated ``code()`` taking arguments
                pass
        if "unimplemented" in str(link).lower():
            return True
        link = link.__cause__ or link.__context__
    return False


def _answers(fn: Callable[[], Any]) -> bool:
    """Run one probe call: True if it succeeds, False if the engine refuses it.

    An unreachable server or rejected credentials are not answers about a feature:
    those errors are raised.
    """
    try:
        fn()
    except Exception as exc:
        error = translate(exc)
        if isinstance(error, (MilvusConnectionError, AuthenticationError)):
            raise error from exc
        return False
    return True


def _has_rpc(fn: Callable[[], Any]) -> bool:
    """True unless the call answers ``UNIMPLEMENTED`` (a "not found" answer counts)."""
    try:
        fn()
    except Exception as exc:
        if reports_unimplemented(exc):
            return False
        error = translate(exc)
        if isinstance(error, (MilvusConnectionError, AuthenticationError)):
            raise error from exc
    return True


def _scratch_name() -> str:
    return f"_milvus_plugins_probe_{uuid.uuid4().hex[:12]}"


@contextmanager
def _scratch(client: Any, create: Callable[[str], Any]) -> Iterator[str | None]:
    """Create a scratch collection; yield its name (``None`` if refused); always drop it."""
    name = _scratch_name()
    created = _answers(lambda: create(name))
    try:
        yield name if created else None
    finally:
        if created or _answers(lambda: client.has_collection(name)):
            _answers(lambda: client.drop_collection(name))


def _base_schema() -> Any:
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=16)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=2)
    return schema


def _schema_accepted(client: Any, extend: Callable[[Any], None]) -> bool:
    """Whether a collection with ``extend``'s additions can be created (then dropped)."""

    def create(name: str) -> None:
        schema = _base_schema()
        extend(schema)
        client.create_collection(name, schema=schema)

    with _scratch(client, create) as name:
        return name is not None


def _add_nullable(schema: Any) -> None:
    schema.add_field("n", DataType.INT64, nullable=True)


def _add_sparse(schema: Any) -> None:
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)


def _add_second_vector(schema: Any) -> None:
    schema.add_field("vector2", DataType.FLOAT_VECTOR, dim=2)


def _add_bm25(schema: Any) -> None:
    schema.add_field("text", DataType.VARCHAR, max_length=64, enable_analyzer=True)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(
        Function(
            name="probe_bm25",
            function_type=FunctionType.BM25,
            input_field_names=["text"],
            output_field_names=["sparse"],
        )
    )


def _expression_collection(client: Any, name: str, *, inverted: bool) -> None:
    schema = _base_schema()
    schema.add_field("metadata", DataType.JSON)
    schema.add_field("n", DataType.INT64)
    index = MilvusClient.prepare_index_params()
    index.add_index(field_name="vector", index_type="FLAT", metric_type="L2")
    if inverted:
        index.add_index(field_name="n", index_type="INVERTED")
    client.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")
    row = {
        "id": "r",
        "vector": [1.0, 0.0],
        "n": 1,
        "metadata": {
            "k": 1,
            "s": "x",
            "l": [1],
            "t": _LINE_VALUE,
            _CONTROL_KEY: 1,
            _BRACKET_KEY: 1,
        },
    }
    client.insert(name, [row])


def _takes_array_index(client: Any) -> bool:
    """Whether a collection with an ``INVERTED`` index on an ARRAY field can be created
    (its own scratch collection: an engine without ARRAY fields answers no)."""

    def create(name: str) -> None:
        schema = _base_schema()
        schema.add_field(
            "a", DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=4, max_length=8
        )
        index = MilvusClient.prepare_index_params()
        index.add_index(field_name="vector", index_type="FLAT", metric_type="L2")
        index.add_index(field_name="a", index_type="INVERTED")
        client.create_collection(name, schema=schema, index_params=index)

    with _scratch(client, create) as name:
        return name is not None


def _matches_row(client: Any, name: str, expression: str) -> bool:
    """Whether ``expression`` runs and selects exactly the scratch row."""
    result: list[Any] = []

    def run() -> None:
        result.extend(client.query(name, filter=expression, output_fields=["id"], limit=10))

    return _answers(run) and [r.get("id") for r in result] == ["r"]


def _expression_flags(client: Any) -> dict[str, bool]:
    flags: dict[str, bool] = {"inverted_index": True}
    for inverted in (True, False):
        create = functools.partial(_expression_collection, client, inverted=inverted)
        with _scratch(client, create) as name:
            if name is None:
                flags["inverted_index"] = False
                continue
            m = 'metadata["k"]'
            probes = {
                "not_expr": f"not ({m} == 2)",
                "json_exists": f"(exists {m})",
                "bool_literals": "true",
                "empty_lists": 'json_contains_all(metadata["l"], [])',
                "json_in": f'{m} in [1, "x"]',
                "like_match_all": 'metadata["s"] like "%"',
                "json_escaped_keys": f"metadata[{json.dumps(_CONTROL_KEY)}] == 1",
                "json_key_brackets": f'metadata["{_BRACKET_KEY}"] == 1',
                "line_escapes": f'metadata["t"] == {escape_string(_LINE_VALUE)}',
            }
            for flag, expression in probes.items():
                flags[flag] = _matches_row(client, name, expression)
            flags["like_infix"] = all(
                _matches_row(client, name, f'metadata["s"] like {p}')
                for p in ('"_"', '"%x%"', '"%x"')
            )
            flags["partitions"] = _has_rpc(lambda: client.list_partitions(name))
            flags["array_index"] = inverted and _takes_array_index(client)
            return flags
    # No scratch collection at all (e.g. no privilege to create one): assume nothing.
    return dict.fromkeys(
        (
            "not_expr",
            "json_exists",
            "bool_literals",
            "empty_lists",
            "json_in",
            "like_match_all",
            "like_infix",
            "json_escaped_keys",
            "json_key_brackets",
            "line_escapes",
            "partitions",
            "inverted_index",
            "array_index",
        ),
        False,
    )


def _ranking_collection(client: Any, name: str) -> None:
    schema = _base_schema()
    schema.add_field("g", DataType.VARCHAR, max_length=8)
    schema.add_field("n", DataType.INT64)
    index = MilvusClient.prepare_index_params()
    index.add_index(field_name="vector", index_type="FLAT", metric_type="COSINE")
    client.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")
    # Forty rows of group "x" nearer the query than the one row of group "y": an engine
    # that groups only a window of the nearest rows misses "y".
    rows = [{"id": f"x{i}", "g": "x", "n": i, "vector": [1.0, 0.001 * i]} for i in range(40)]
    rows.append({"id": "y", "g": "y", "n": 100, "vector": [1.0, 0.5]})
    client.insert(name, rows)


def _search_ids(client: Any, name: str, **kwargs: Any) -> list[str] | None:
    """The ids a probe search returns, or ``None`` when the engine refuses it."""
    result: list[Any] = []

    def run() -> None:
        result.extend(client.search(name, data=[[1.0, 0.0]], output_fields=["id"], **kwargs)[0])

    return [str(h.get("id")) for h in result] if _answers(run) else None


def _ranking_flags(client: Any) -> dict[str, bool]:
    """Grouping search, ``group_size`` and decay rerankers, judged by their results.

    The decay probe reranks every row: only a working reranker puts row "y" (the
    farthest vector, but ``n`` at the decay's origin) first.

    Engines that lack them accept the parameters and ignore them (Milvus 2.3.5 ignores
    ``group_by_field``; Milvus Lite 2.5.1 ignores ``group_size`` and a decay ``ranker``),
    so only a changed result shows the feature is there.
    """
    flags = {"grouping": False, "group_size": False, "decay_ranker": False}
    with _scratch(client, functools.partial(_ranking_collection, client)) as name:
        if name is None:
            return flags
        grouped = _search_ids(client, name, limit=2, group_by_field="g")
        flags["grouping"] = grouped == ["x0", "y"]
        sized = _search_ids(client, name, limit=2, group_by_field="g", group_size=2)
        flags["group_size"] = flags["grouping"] and sized == ["x0", "x1", "y"]
        decay = Function(
            name="probe_decay",
            input_field_names=["n"],
            function_type=FunctionType.RERANK,
            params={"reranker": "decay", "function": "exp", "origin": 100, "scale": 1},
        )
        flags["decay_ranker"] = (_search_ids(client, name, limit=41, ranker=decay) or [""])[
            0
        ] == "y"
    return flags


def _match_collection(client: Any, name: str) -> None:
    schema = _base_schema()
    schema.add_field(
        "text",
        DataType.VARCHAR,
        max_length=64,
        enable_analyzer=True,
        enable_match=True,
        analyzer_params={"type": "standard"},
    )
    index = MilvusClient.prepare_index_params()
    index.add_index(field_name="vector", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")
    client.insert(name, [{"id": "r", "vector": [1.0, 0.0], "text": "Quick brown fox"}])


def probe_text_match(client: Any) -> dict[str, bool]:
    """Whether ``TEXT_MATCH`` and ``PHRASE_MATCH`` select the right row on this engine.

    Returns:
        ``{"text_match": ..., "phrase_match": ...}``.
    """
    with _scratch(client, functools.partial(_match_collection, client)) as name:
        if name is None:
            return {"text_match": False, "phrase_match": False}
        # Both must select the row and a non-matching query must not (an engine that
        # ignored the function would select everything).
        text = _matches_row(client, name, 'TEXT_MATCH(text, "QUICK dog")') and not (
            _matches_row(client, name, 'TEXT_MATCH(text, "dog")')
        )
        phrase = _matches_row(client, name, 'PHRASE_MATCH(text, "brown fox", 0)') and not (
            _matches_row(client, name, 'PHRASE_MATCH(text, "fox brown", 0)')
        )
        return {"text_match": text, "phrase_match": phrase}


def probe_properties(client: Any) -> dict[str, bool]:
    """Whether collection properties and shards survive creation on this engine.

    Milvus Lite 2.5.1 accepts ``properties=`` and ``num_shards=`` and drops both: only
    what ``describe_collection`` reports back counts. Replicas come with shards (an
    engine that keeps several shards is a server that can load replicas).
    """
    found: dict[str, Any] = {}

    def create(name: str) -> None:
        client.create_collection(
            name,
            schema=_base_schema(),
            num_shards=2,
            properties={"collection.ttl.seconds": 3600, "mmap.enabled": False},
        )
        found.update(client.describe_collection(name))

    with _scratch(client, create) as name:
        if name is None:
            return dict.fromkeys(
                ("collection_ttl", "collection_mmap", "shards", "replicas", "keeps_properties"),
                False,
            )
    props = found.get("properties") or {}
    shards = found.get("num_shards") == 2
    return {
        "collection_ttl": "collection.ttl.seconds" in props,
        "collection_mmap": "mmap.enabled" in props,
        "shards": shards,
        "replicas": shards,
        "keeps_properties": bool(props),
    }


def _write_collection(client: Any, name: str) -> None:
    schema = _base_schema()
    schema.add_field("m", DataType.JSON)
    client.create_collection(name, schema=schema)


def probe_write_limits(client: Any) -> dict[str, Any]:
    """What a write may hold on this engine, judged by writing it into a scratch collection.

    Returns:
        ``{"json_max_bytes": ..., "nul_ids": ..., "apostrophe_ids": ...}``: ``None``
        when a JSON text over :data:`JSON_MAX_BYTES` is taken (Milvus Lite 2.5.1 takes
        one), else that limit; whether an upsert may carry a primary key holding NUL, or
        an apostrophe (Milvus Lite 2.5.1 inserts either but fails its upsert with
        "internal error").
    """
    with _scratch(client, functools.partial(_write_collection, client)) as name:
        if name is None:
            return {"json_max_bytes": JSON_MAX_BYTES, "nul_ids": False, "apostrophe_ids": False}
        big = {"id": "big", "vector": [1.0, 0.0], "m": {"k": "x" * (JSON_MAX_BYTES + 8)}}
        nul = {"id": "a\x00b", "vector": [1.0, 0.0], "m": {}}
        quoted = {"id": "a'b", "vector": [1.0, 0.0], "m": {}}
        big_taken = _answers(lambda: client.insert(name, [big]))
        nul_taken = _answers(lambda: client.upsert(name, [nul]))
        quoted_taken = _answers(lambda: client.upsert(name, [quoted]))
        return {
            "json_max_bytes": None if big_taken else JSON_MAX_BYTES,
            "nul_ids": nul_taken,
            "apostrophe_ids": quoted_taken,
        }


def _probe(client: Any) -> Capabilities:
    missing = _scratch_name()  # never created: only whether the RPC exists is asked
    sparse = _schema_accepted(client, _add_sparse)
    several_vectors = _schema_accepted(client, _add_second_vector)
    flags = _expression_flags(client)
    return Capabilities(
        version=UNKNOWN_VERSION,
        is_lite=False,
        sparse=sparse,
        hybrid_search=several_vectors,
        multi_vector=several_vectors,
        bm25_function=sparse and _schema_accepted(client, _add_bm25),
        nullable=_schema_accepted(client, _add_nullable),
        compaction=_has_rpc(lambda: client.compact(missing)),
        aliases=_has_rpc(lambda: client.describe_alias(missing)),
        # Not probed one by one: an engine without partitions has neither.
        partition_delete=flags["partitions"],
        partition_count=flags["partitions"],
        num_partitions=flags["partitions"],
        **flags,
        **_ranking_flags(client),
        **probe_text_match(client),
        **probe_properties(client),
        **probe_write_limits(client),
    )


def probe_capabilities(client: Any, connection: ConnectionConfig) -> Capabilities:
    """Find what a Milvus that reports no version can do, once per uri and database.

    Args:
        client: a connected ``pymilvus.MilvusClient``.
        connection: the connection it was made from (the cache key).

    Raises:
        MilvusConnectionError: the server became unreachable while probing.
        AuthenticationError: the server rejected the credentials.
    """
    key = (connection.uri, connection.db_name)
    with _PROBE_LOCK:
        cached = _PROBED.get(key)
        if cached is None:
            with quiet_rpc_errors():
                cached = _PROBED[key] = _probe(client)
        return cached
