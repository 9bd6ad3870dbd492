"""Write requests packed a column at a time: the request pymilvus' row path sends, built in bulk.

``MilvusClient.insert`` / ``upsert`` pack their rows value by value: for every row and
field, a type lookup, a normaliser and a protobuf append, about 1 s of the client's CPU per
20,000 rows of our layout (BENCHMARKS.md, ninth pass). The rows a store writes are already
checked (types, lengths, dimensions, JSON texts serialised by us), so this module builds the
same ``InsertRequest`` / ``UpsertRequest`` one column at a time (one ``extend`` per column for
strings, numbers, JSON texts and float vectors) and sends it the way pymilvus' row methods do:
the same retry and schema-mismatch decorators, status check, session timestamp and result.

A column of a type it does not pack in bulk (sparse, binary, array ...), or a value of an
unexpected type, is packed by pymilvus' own per-value function; a layout it does not handle
at all (a dynamic field, struct arrays, an auto-id key given on insert, rows whose keys are
not the schema's input fields, a non-UTF-8 ``Config.EncodeProtocol``) goes to pymilvus'
own row packer. Every request is therefore pymilvus' own or equal to it, which
``tests/unit/test_packing_property.py`` checks over generated schemas and rows.

This reaches into pymilvus' client internals (the connection handler, its schema cache, its
gRPC stubs, the decorators of its row methods). :func:`writer` checks they are there and
returns the public ``client.insert`` / ``client.upsert`` otherwise, so a pymilvus release that
moves them costs speed, not correctness; it also returns them where a caller replaced them.
"""

from __future__ import annotations

import inspect
import itertools
import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import orjson

from milvus_plugins.core.rows import CheckedText

__all__ = ["pack_insert", "pack_upsert", "writer"]

_LOG = logging.getLogger(__name__)
_INTERNALS: Any = None  # the pymilvus internals, once imported (False: not available)


def _internals() -> Any:
    """pymilvus' internals this module uses, or ``False`` where one is missing."""
    global _INTERNALS
    if _INTERNALS is None:
        try:
            from types import SimpleNamespace

            from pymilvus import DataType, __version__
            from pymilvus.client import entity_helper, ts_utils
            from pymilvus.client.abstract import MutationResult
            from pymilvus.client.call_context import _api_level_md
            from pymilvus.client.prepare import Prepare
            from pymilvus.client.utils import check_status
            from pymilvus.decorators import retry_on_rpc_failure, retry_on_schema_mismatch
            from pymilvus.grpc_gen import milvus_pb2, schema_pb2
            from pymilvus.settings import Config

            needed = (
                entity_helper.pack_field_value_to_field_data,
                entity_helper.flush_vector_bytes,
                ts_utils.update_collection_ts,
                Prepare.row_insert_param,
                Prepare.row_upsert_param,
                Prepare._is_input_field,
            )
            _INTERNALS = SimpleNamespace(
                version=__version__,
                DataType=DataType,
                entity_helper=entity_helper,
                ts_utils=ts_utils,
                api_level_md=_api_level_md,
                Prepare=Prepare,
                MutationResult=MutationResult,
                check_status=check_status,
                retry_on_rpc_failure=retry_on_rpc_failure,
                retry_on_schema_mismatch=retry_on_schema_mismatch,
                milvus_pb2=milvus_pb2,
                schema_pb2=schema_pb2,
                Config=Config,
                needed=needed,
                # Column types packed in bulk (as ints, the FieldData type's values).
                string_types=frozenset({int(DataType.VARCHAR)}),
                number_types=frozenset(
                    int(t)
                    for t in (
                        DataType.INT64,
                        DataType.INT32,
                        DataType.INT16,
                        DataType.INT8,
                        DataType.DOUBLE,
                        DataType.FLOAT,
                        DataType.BOOL,
                    )
                ),
            )
        except (ImportError, AttributeError):
            _INTERNALS = False
    return _INTERNALS


def _bulk(p: Any, field_data: Any, kind: int, present: list[Any]) -> bool:
    """Append the non-null values of a column in one call where its type and values allow
    (``False``: not done). Raises what protobuf raises for a value it cannot hold."""
    dt = p.DataType
    if kind in p.string_types and all(type(v) is str or type(v) is CheckedText for v in present):
        # The row path "checks" a single string by iterating it: a str's characters
        # (length 1) or a CheckedText's nothing never fail, so they go in as they are. (A
        # str subclass may iterate otherwise: pymilvus packs those.)
        field_data.scalars.string_data.data.extend(present)
        return True
    if kind == int(dt.JSON) and all(type(v) is str for v in present):
        for text in present:  # as pymilvus: a JSON text must parse (it raises otherwise)
            orjson.loads(text)
        field_data.scalars.json_data.data.extend([v.encode("utf-8") for v in present])
        return True
    if kind in p.number_types and all(type(v) in (int, float, bool) for v in present):
        p.entity_helper._get_protobuf_payload(field_data, dt(kind)).data.extend(present)
        return True
    if kind == int(dt.FLOAT_VECTOR) and present:
        if all(type(v) is list for v in present):
            flat: Any = itertools.chain.from_iterable(present)
        elif all(
            type(v) is np.ndarray and v.ndim == 1 and v.dtype in (np.float32, np.float64)
            for v in present
        ):
            flat = np.concatenate(present).tolist()  # as each row's tolist(), in one call
        else:
            return False
        field_data.vectors.float_vector.data.extend(flat)
        field_data.vectors.dim = len(present[-1])
        return True
    return False


def _pack_column(p: Any, info: dict[str, Any], values: list[Any]) -> Any:
    """One column's ``FieldData``, as the row path builds it appending values one by one."""
    kind = int(info["type"])
    nullable = bool(info.get("nullable", False) or info.get("default_value"))
    present = [v for v in values if v is not None] if nullable else values
    # A null float vector sets the dimension from the schema in the row path: per value.
    if kind != int(p.DataType.FLOAT_VECTOR) or len(present) == len(values):
        field_data = p.schema_pb2.FieldData(field_name=info["name"], type=info["type"])
        try:
            done = _bulk(p, field_data, kind, present)
        except (TypeError, ValueError):  # a value refused: pymilvus' own packing names it
            done = False
        if done:
            if nullable:
                field_data.valid_data.extend([v is not None for v in values])
            return field_data
    field_data = p.schema_pb2.FieldData(field_name=info["name"], type=info["type"])
    cache: dict[int, list[bytes]] = {}
    for value in values:  # pymilvus' own per-value packing, as its row path calls it
        if nullable:
            field_data.valid_data.append(value is not None)
        p.entity_helper.pack_field_value_to_field_data(value, field_data, info, cache)
    p.entity_helper.flush_vector_bytes(field_data, cache)
    return field_data


def _packable(p: Any, schema: dict[str, Any]) -> bool:
    return (
        not schema.get("enable_dynamic_field", False)
        and not schema.get("struct_array_fields")
        and str(p.Config.EncodeProtocol).lower() == "utf-8"
    )


def _columns(
    p: Any, request: Any, rows: Sequence[dict[str, Any]], fields: list[dict[str, Any]]
) -> Any:
    names = [f["name"] for f in fields]
    expected = set(names)
    if not all(type(row) is dict and row.keys() == expected for row in rows):
        return None
    for info in fields:
        name = info["name"]
        request.fields_data.append(_pack_column(p, info, [row[name] for row in rows]))
    return request


def _pack(
    upsert: bool,
    collection_name: str,
    rows: Sequence[dict[str, Any]],
    partition_name: str | None,
    schema: dict[str, Any],
    schema_timestamp: int,
    namespace: str | None = None,
) -> Any:
    p = _internals()
    if not p or not rows or not _packable(p, schema):
        return None
    fields = schema.get("fields") or []
    if not upsert and any(f.get("is_primary", False) and f.get("auto_id", False) for f in fields):
        return None  # pymilvus' insert then decides per row whether the key is given
    inputs = [f for f in fields if p.Prepare._is_input_field(f, upsert)]
    common = {
        "collection_name": collection_name,
        "partition_name": partition_name if isinstance(partition_name, str) else "",
        "num_rows": len(rows),
        "schema_timestamp": schema_timestamp,
    }
    request = (
        p.milvus_pb2.UpsertRequest(**common, partial_update=False)
        if upsert
        else p.milvus_pb2.InsertRequest(**common, namespace=namespace)
    )
    try:
        return _columns(p, request, rows, inputs)
    except Exception:
        # A value refused: declined, so that pymilvus' own row path refuses the rows with
        # its own error, found in its own order (row by row; this packs column by column,
        # and met another bad value first: 2**63 in a bool column raised OverflowError
        # where pymilvus names a bad sparse vector of the same row with a ParamError).
        return None


def pack_insert(
    collection_name: str,
    rows: Sequence[dict[str, Any]],
    partition_name: str | None,
    schema: dict[str, Any],
    schema_timestamp: int = 0,
    namespace: str | None = None,
) -> Any:
    """The ``InsertRequest`` pymilvus' ``Prepare.row_insert_param`` builds for these
    arguments, or ``None`` where the layout or rows are not ones this packs."""
    return _pack(False, collection_name, rows, partition_name, schema, schema_timestamp, namespace)


def pack_upsert(
    collection_name: str,
    rows: Sequence[dict[str, Any]],
    partition_name: str | None,
    schema: dict[str, Any],
    schema_timestamp: int = 0,
) -> Any:
    """The ``UpsertRequest`` pymilvus' ``Prepare.row_upsert_param`` builds for these
    arguments (a full upsert, not a partial update), or ``None`` as :func:`pack_insert`."""
    return _pack(True, collection_name, rows, partition_name, schema, schema_timestamp)


_CHECKED: dict[tuple[str, bool, str, int], bool] = {}  # (server, upsert, collection, stamp)
_SAMPLE = 64  # rows compared with pymilvus' own packing on a collection's first write


def _pymilvus_request(
    p: Any, upsert: bool, name: str, rows: Any, partition: Any, schema: Any, stamp: int
) -> Any:
    build = p.Prepare.row_upsert_param if upsert else p.Prepare.row_insert_param
    return build(
        name,
        rows,
        partition,
        schema.get("fields"),
        schema.get("struct_array_fields", []),
        enable_dynamic=schema.get("enable_dynamic_field", False),
        schema_timestamp=stamp,
    )


def _request(
    p: Any, upsert: bool, server: str, name: str, rows: Any, partition: Any, found: Any
) -> Any:
    """The request for ``rows``: packed by column once this process has seen the packed
    request for the collection's first rows equal pymilvus' own (a pymilvus release that
    packs differently turns packing off for that collection instead of sending something
    else), pymilvus' own otherwise."""
    schema, stamp = found
    key = (server, upsert, name, int(stamp or 0))
    if _CHECKED.get(key) is None:
        sample = rows[:_SAMPLE]
        packed = _pack(upsert, name, sample, partition, schema, stamp)
        if packed is not None:  # declined rows decide nothing
            theirs = _pymilvus_request(p, upsert, name, sample, partition, schema, stamp)
            _CHECKED[key] = packed == theirs
            if not _CHECKED[key]:
                _LOG.warning(
                    "milvus-plugins: pymilvus %s packs %r's rows differently; writes to it "
                    "use pymilvus' own packing (slower, same rows).",
                    getattr(p, "version", "?"),
                    name,
                )
    if _CHECKED.get(key):
        request = _pack(upsert, name, rows, partition, schema, stamp)
        if request is not None:
            return request
    return _pymilvus_request(p, upsert, name, rows, partition, schema, stamp)


def _finish(p: Any, upsert: bool, handler: Any, name: str, response: Any, context: Any) -> Any:
    """What pymilvus' row methods do with the answer: check its status, record the
    session timestamp, and answer as ``client.insert`` / ``upsert`` do."""
    p.check_status(response.status)
    db = context.get_db_name() if context else ""
    p.ts_utils.update_collection_ts(name, response.timestamp, handler.server_address, db)
    result = p.MutationResult(response)
    count = result.upsert_count if upsert else result.insert_count
    return {"upsert_count" if upsert else "insert_count": count, "ids": result.primary_keys}


_SENDERS: dict[tuple[bool, bool], Callable[..., Any]] = {}


def _sender(p: Any, upsert: bool, is_async: bool) -> Callable[..., Any]:
    """``handler``-first functions that send one packed request as pymilvus' row methods do,
    under the same decorators (built once)."""
    key = (upsert, is_async)
    if key in _SENDERS:
        return _SENDERS[key]
    rpc = "Upsert" if upsert else "Insert"

    def request(handler: Any, name: str, rows: Any, partition: Any, found: Any) -> Any:
        return _request(p, upsert, handler.server_address, name, rows, partition, found)

    async def send_async(
        handler: Any,
        collection_name: str,
        rows: Any,
        partition_name: Any = None,
        timeout: Any = None,
        context: Any = None,
        **kwargs: Any,
    ) -> Any:
        found = await handler._get_schema(collection_name, timeout=timeout, context=context)
        packed = request(handler, collection_name, rows, partition_name, found)
        stub = getattr(handler._async_stub, rpc)
        response = await stub(packed, timeout=timeout, metadata=p.api_level_md(context))
        return _finish(p, upsert, handler, collection_name, response, context)

    def send(
        handler: Any,
        collection_name: str,
        rows: Any,
        partition_name: Any = None,
        timeout: Any = None,
        context: Any = None,
        **kwargs: Any,
    ) -> Any:
        found = handler._get_schema(collection_name, timeout=timeout, context=context)
        packed = request(handler, collection_name, rows, partition_name, found)
        response = getattr(handler._stub, rpc)(
            packed, timeout=timeout, metadata=p.api_level_md(context)
        )
        return _finish(p, upsert, handler, collection_name, response, context)

    chosen: Callable[..., Any] = send_async if is_async else send
    decorated: Callable[..., Any] = p.retry_on_rpc_failure()(p.retry_on_schema_mismatch()(chosen))
    _SENDERS[key] = decorated
    return decorated


def _own_methods() -> dict[tuple[bool, str], Any]:
    """pymilvus' own ``insert`` / ``upsert`` functions, as they are when this module is
    imported (before a tracing tool or a test patches the classes)."""
    try:
        from pymilvus import AsyncMilvusClient, MilvusClient
    except ImportError:  # pragma: no cover - pymilvus is a dependency
        return {}
    return {
        (is_async, name): getattr(cls, name, None)
        for is_async, cls in ((False, MilvusClient), (True, AsyncMilvusClient))
        for name in ("insert", "upsert")
    }


_OWN_METHODS = _own_methods()


def _pymilvus_method(client: Any, name: str, is_async: bool) -> bool:
    """Whether ``client.<name>`` is pymilvus' own method: a replacement on the instance or
    the class (a tracing wrapper, a test's fault injector, a subclass' override) is what
    the caller wants called, so it is."""
    if name in getattr(client, "__dict__", {}):
        return False
    own = _OWN_METHODS.get((is_async, name))
    return own is not None and getattr(type(client), name, None) is own


def _rows(data: Any) -> bool:
    """A non-empty list (of row dicts): what packing takes; the rest is pymilvus' to handle."""
    return isinstance(data, list) and bool(data)


def _handler_knows(handler: Any, stub: str) -> bool:
    """Whether ``handler`` has what a packed write uses (its schema cache and stub)."""
    return handler is not None and hasattr(handler, stub) and hasattr(handler, "_get_schema")


def writer(client: Any, upsert: bool) -> Callable[..., Any]:
    """``client.insert`` / ``client.upsert`` (same arguments: the collection name, a list of
    row dicts, ``timeout=``, ``partition_name=``), sending column-packed requests.

    The public method itself where pymilvus' internals are not the ones this module knows,
    or where the method was replaced on the client or its class (a tracing wrapper, a
    test's fault injector, a subclass' override): those are called, never gone around.
    """
    name = "upsert" if upsert else "insert"
    public: Callable[..., Any] = getattr(client, name)
    p = _internals()
    is_async = inspect.iscoroutinefunction(public)
    if (
        not p
        or not _pymilvus_method(client, name, is_async)
        or not all(hasattr(client, a) for a in ("_get_connection", "_generate_call_context"))
    ):
        return public
    send = _sender(p, upsert, is_async)

    if is_async:

        async def write_async(
            collection_name: str,
            data: list[dict[str, Any]],
            timeout: float | None = None,
            partition_name: str | None = "",
            **kwargs: Any,
        ) -> Any:
            handler = None if kwargs or not _rows(data) else await client._get_connection()
            if not _handler_knows(handler, "_async_stub"):
                return await public(
                    collection_name, data, timeout=timeout, partition_name=partition_name, **kwargs
                )
            return await send(
                handler,
                collection_name,
                data,
                partition_name=partition_name,
                timeout=timeout,
                context=client._generate_call_context(),
            )

        return write_async

    def write(
        collection_name: str,
        data: list[dict[str, Any]],
        timeout: float | None = None,
        partition_name: str | None = "",
        **kwargs: Any,
    ) -> Any:
        handler = None if kwargs or not _rows(data) else client._get_connection()
        if not _handler_knows(handler, "_stub"):
            return public(
                collection_name, data, timeout=timeout, partition_name=partition_name, **kwargs
            )
        return send(
            handler,
            collection_name,
            data,
            partition_name=partition_name,
            timeout=timeout,
            context=client._generate_call_context(),
        )

    return write
