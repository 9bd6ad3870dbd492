"""The exception tree of milvus-plugins and the one place to import errors from.

::

    MilvusPluginsError
     ├─ ConfigError (also ValueError)         bad arguments, raised before any I/O
     │   └─ AliasedCollectionError             a drop of an alias or of what one points at
     ├─ InvalidInputError (also ValueError)   a bad record or query, raised before writing
     │   ├─ UnexpectedArgumentError (also TypeError)  a keyword argument no method takes
     │   ├─ TenantRequiredError                a call without a tenant (strict tenant mode)
     │   ├─ TenantMismatchError                a record whose partition key names another tenant
     │   ├─ PartitionMismatchError             an id another partition of the collection holds
     │   └─ SharedIdError                      one id in two partitions: delete/migrate refused
     ├─ FilterError (also ValueError)         a filter that cannot be compiled
     │   └─ RawFilterRefusedError              a raw expression where tenancy forbids one
     ├─ SchemaMismatchError                   existing collection != spec; says the fix
     │   ├─ ForeignLayoutError                adding rows to another tool's collection
     │   └─ EmbeddingMismatchError            opened with another embedding model
     ├─ CollectionNotFoundError
     ├─ UnsupportedByServerError              names the feature and the minimum version
     ├─ WriteError                            a batch write failed part-way: lists ids
     ├─ ExportFileError (also ValueError)     a malformed/partial export file: names the line
     ├─ ImportFailedError                     an import stopped part-way: rows written
     ├─ ReindexRefusedError                   reindex did not switch the alias
     │   └─ RecallTooLowError                 ... because the new index's recall is low
     └─ MilvusOperationError                  wraps pymilvus; .code, .retriable
         ├─ MilvusConnectionError             server unreachable / timed out
         ├─ AuthenticationError               wrong or missing token
         └─ DatabaseNotFoundError             db_name names no database of the server

The classes live in :mod:`milvus_plugins.core.exceptions`, the message helpers
(:func:`shown`, :func:`redact`) in :mod:`milvus_plugins.core.messages` and the
translation of pymilvus errors (:func:`translate`) in
:mod:`milvus_plugins.core.error_translation`; this module is where the package and its
users import all of them from.
"""

from __future__ import annotations

from milvus_plugins.core import exceptions
from milvus_plugins.core.error_translation import raise_translated, translate, translate_errors
from milvus_plugins.core.exceptions import *  # noqa: F403  (the classes, as listed in its __all__)
from milvus_plugins.core.messages import SHOWN_LIMIT, redact, shown

__all__ = ["SHOWN_LIMIT", "raise_translated", "redact", "shown", "translate", "translate_errors"]
__all__ += exceptions.__all__
