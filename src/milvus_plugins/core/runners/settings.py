"""What both runners of one store share: session, retry policy, client options (no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from milvus_plugins.core.errors import MilvusPluginsError, translate
from milvus_plugins.core.retry import RetryPolicy
from milvus_plugins.core.session import Session

__all__ = ["NO_RETRY", "RunSettings"]

NO_RETRY = RetryPolicy(attempts=1)


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
