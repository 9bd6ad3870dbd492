"""The exception classes of milvus-plugins (the tree is drawn in
:mod:`milvus_plugins.core.errors`, the module to import them from).
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "AliasedCollectionError",
    "AuthenticationError",
    "CollectionNotFoundError",
    "ConfigError",
    "DatabaseNotFoundError",
    "EmbeddingMismatchError",
    "ExportFileError",
    "FilterError",
    "ForeignLayoutError",
    "ImportFailedError",
    "InvalidInputError",
    "MilvusConnectionError",
    "MilvusOperationError",
    "MilvusPluginsError",
    "PartitionMismatchError",
    "RawFilterRefusedError",
    "RecallTooLowError",
    "ReindexRefusedError",
    "SchemaMismatchError",
    "SharedIdError",
    "TenantMismatchError",
    "TenantRequiredError",
    "UnexpectedArgumentError",
    "UnsupportedByServerError",
    "WriteError",
]


class MilvusPluginsError(Exception):
    """Base class of every error raised by milvus-plugins."""


class ConfigError(MilvusPluginsError, ValueError):
    """An argument or configuration value is invalid; raised before any I/O."""


class AliasedCollectionError(ConfigError):
    """A drop names an alias, or a collection an alias points at: Milvus would drop the
    collection (and the alias) under every reader of the alias; nothing was dropped."""


class InvalidInputError(MilvusPluginsError, ValueError):
    """A record, vector or query is invalid; raised before anything is written."""


class UnexpectedArgumentError(InvalidInputError, TypeError):
    """A keyword argument the method does not take (a ``TypeError`` too, as Python's own)."""


class TenantRequiredError(InvalidInputError):
    """A call without a tenant on a store in strict tenant mode (raised before any I/O)."""


class TenantMismatchError(InvalidInputError):
    """A record's partition-key value names another tenant than the call's (nothing written)."""


class PartitionMismatchError(InvalidInputError):
    """A write of an id that a row in another partition of the collection already holds
    (ids are unique per collection, not per partition; nothing written)."""


class SharedIdError(InvalidInputError):
    """Another tool wrote one primary key twice (into two partitions, or for two tenants),
    and the call would lose or remove a row nobody asked for: a filtered or scoped delete
    selecting one of them (Milvus deletes by primary key, so both would go), or a
    migration (a copy keeps one row per id). Nothing is changed."""


class FilterError(MilvusPluginsError, ValueError):
    """A filter cannot be compiled into a Milvus expression with the same meaning."""


class RawFilterRefusedError(FilterError):
    """A raw expression string where tenancy forbids one (strict mode, or one that could
    escape its parentheses and widen a tenant-scoped call)."""


class SchemaMismatchError(MilvusPluginsError):
    """An existing collection does not match the requested spec."""


class ForeignLayoutError(SchemaMismatchError):
    """Rows cannot be added to a collection read through another tool's layout.

    The message names ``migrate``, which copies the collection into this package's
    layout (ids, vectors and metadata kept), where every operation works.
    """


class EmbeddingMismatchError(SchemaMismatchError):
    """The collection was filled by another embedding model than the one given.

    Attributes:
        stored: the fingerprint recorded in the collection (a dict).
        given: the fingerprint of the embedding given (a dict).
    """

    def __init__(self, message: str, *, stored: object, given: object) -> None:
        self.stored = stored
        self.given = given
        super().__init__(message)


class ExportFileError(MilvusPluginsError, ValueError):
    """An export file is malformed or incomplete; raised before anything is written.

    Attributes:
        path: the file.
        line: the 1-based line (JSON Lines) or row (Parquet) at fault, or ``None`` when
            the fault is the file as a whole.
    """

    def __init__(self, message: str, *, path: str, line: int | None) -> None:
        self.path = path
        self.line = line
        where = f"{path}, line {line}" if line is not None else path
        super().__init__(f"{where}: {message}")


class ImportFailedError(MilvusPluginsError):
    """An import stopped part-way (a Milvus failure); what was written stays.

    Rows are upserted by id, so running the same import again completes it without
    duplicates.

    Attributes:
        rows_written: rows acknowledged by Milvus before the failure.
        rows_total: rows in the file.
        line: the line (or row) of the first row not certainly written.
    """

    def __init__(self, message: str, *, rows_written: int, rows_total: int, line: int) -> None:
        self.rows_written = rows_written
        self.rows_total = rows_total
        self.line = line
        super().__init__(
            f"{message} ({rows_written} of {rows_total} rows written, up to line {line}; "
            "re-running the same import completes it without duplicates)"
        )


class ReindexRefusedError(MilvusPluginsError):
    """A reindex refused to switch its alias; the alias and the source are untouched.

    Attributes:
        shadow: the name of the new collection this run created and left (kept for
            inspection; drop it when done), or ``""`` when it left none (an empty
            source; a new collection dropped, and perhaps made again by another
            client, while it was copied into).
    """

    def __init__(self, message: str, *, shadow: str) -> None:
        self.shadow = shadow
        super().__init__(message)


class RecallTooLowError(ReindexRefusedError):
    """A reindex measured a recall below its threshold; the alias was not switched.

    Attributes:
        recall: the measured recall@k of the new collection.
        threshold: the minimum asked for.
    """

    def __init__(self, message: str, *, recall: float, threshold: float, shadow: str) -> None:
        self.recall = recall
        self.threshold = threshold
        super().__init__(message, shadow=shadow)


class CollectionNotFoundError(MilvusPluginsError):
    """The named collection does not exist."""


class UnsupportedByServerError(MilvusPluginsError):
    """The connected Milvus lacks a feature.

    Attributes:
        feature: what was asked for.
        minimum_version: the first Milvus version that has it.
        server_version: the version of the connected server.
    """

    def __init__(
        self, feature: str, minimum_version: str, server_version: str, *, needs: str | None = None
    ) -> None:
        self.feature = feature
        self.minimum_version = minimum_version
        self.server_version = server_version
        needed = needs or f"Milvus >= {minimum_version} or Milvus Lite"
        super().__init__(
            f"{feature} is not supported by this Milvus ({server_version}); it needs {needed}."
        )


class WriteError(MilvusPluginsError):
    """A batched write failed part-way. Nothing is lost silently.

    Attributes:
        written_ids: ids acknowledged by Milvus before the failure.
        failed_ids: ids that were not (or not certainly) written; re-run the same
            upsert to complete the ingest.
    """

    def __init__(
        self,
        message: str,
        *,
        written_ids: Sequence[str],
        failed_ids: Sequence[str],
        rerun_completes: bool = True,
    ) -> None:
        self.written_ids = list(written_ids)
        self.failed_ids = list(failed_ids)
        rerun = (
            "; re-running the same upsert completes the ingest without duplicates"
            if rerun_completes
            else ""
        )
        super().__init__(
            f"{message} ({len(self.written_ids)} rows written, {len(self.failed_ids)} not "
            f"written{rerun})"
        )


class MilvusOperationError(MilvusPluginsError):
    """A Milvus call failed.

    Attributes:
        code: the Milvus or gRPC error code, when known.
        retriable: whether retrying the same call may succeed (unavailable, timeout,
            rate limit).
    """

    def __init__(self, message: str, *, code: int | None = None, retriable: bool = False) -> None:
        self.code = code
        self.retriable = retriable
        super().__init__(message)


class MilvusConnectionError(MilvusOperationError):
    """Milvus could not be reached within the timeout."""


class AuthenticationError(MilvusOperationError):
    """Milvus rejected the credentials (the token itself is never shown)."""


class DatabaseNotFoundError(MilvusOperationError):
    """``db_name`` names no database of the server (the message names the fix)."""
