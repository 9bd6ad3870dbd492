"""What both runners of one store share: session, retry policy, client options (no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from milvus_plugins.core.error_translation import reports_not_loaded
from milvus_plugins.core.errors import MilvusPluginsError, translate
from milvus_plugins.core.ops.calls import Call, ClientMethod
from milvus_plugins.core.properties import load_kwargs
from milvus_plugins.core.retry import RetryPolicy
from milvus_plugins.core.session import Session

__all__ = ["NO_RETRY", "RunSettings", "call_collection", "reload_kwargs"]

NO_RETRY = RetryPolicy(attempts=1)

_READS = frozenset({ClientMethod.SEARCH, ClientMethod.HYBRID_SEARCH, ClientMethod.QUERY})


def call_collection(call: Call) -> str | None:
    """The collection a call is about (first argument, or ``collection_name=``)."""
    name = call.kwargs.get("collection_name", call.args[0] if call.args else None)
    return name if isinstance(name, str) else None


RELOADS = 3
"""Loads of a collection a read found released, each followed by the read once more: a
second release can land between the load and the read (another client releasing in a
loop, or ``close()`` in another thread restarting Milvus Lite again)."""


def reload_kwargs(session: Session, call: Call, error: BaseException) -> dict[str, Any] | None:
    """The ``load_collection`` arguments that make a failed read worth another try:
    the read found the store's collection released (by another client, or a restarted
    Milvus Lite). ``None`` for any other failure."""
    if call.method not in _READS or not reports_not_loaded(error):
        return None
    if call_collection(call) != session.spec.name or session.capabilities is None:
        return None
    # With the store's deadline: pymilvus otherwise waits for the load without end (seen:
    # a load sent while close() restarted Milvus Lite hung a search for a minute).
    kwargs = load_kwargs(session.spec.collection_properties, session.capabilities)
    return {**kwargs, "timeout": session.connection.timeout}


@dataclass
class RunSettings:
    """The session and options a store's runners read at each call.

    Attributes:
        session: the collection's shared state.
        retry: the retry policy for transient faults (a store may replace it).
        client_kwargs: extra keyword arguments for the pymilvus client.
    """

    session: Session
    retry: RetryPolicy
    client_kwargs: Mapping[str, Any] = field(default_factory=dict)

    def translate(self, exc: BaseException) -> MilvusPluginsError:
        """Translate ``exc`` for this store: its secrets masked, its collection named."""
        return translate(
            exc, secrets=self.session.connection.secrets, collection=self.session.spec.name
        )

    def policy(self, retry: bool) -> RetryPolicy:
        """The policy of one call: the store's, or a single attempt."""
        return self.retry if retry else NO_RETRY
