"""Where Milvus is: :class:`ConnectionConfig` (a Milvus Lite file, a server, a cluster or
Zilliz Cloud are all just a ``uri``), with the token, database and timeout, validated before
any I/O and never showing credentials.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from milvus_plugins.core.errors import ConfigError, shown
from milvus_plugins.core.names import check_name

__all__ = ["DEFAULT_URI", "ConnectionConfig", "strip_userinfo"]

DEFAULT_URI = "./milvus.db"


def strip_userinfo(uri: str) -> str:
    """Return ``uri`` without the ``user:password@`` part of its authority, if any."""
    if "://" not in uri:
        return uri
    try:
        parts = urlsplit(uri)
    except ValueError:  # not a parsable URL: show nothing after the scheme
        return uri.split("://", 1)[0] + "://***"
    if "@" not in parts.netloc:
        return uri
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=host))


@dataclass(frozen=True, kw_only=True)
class ConnectionConfig:
    """How to reach Milvus.

    Attributes:
        uri: a path ending in ``.db`` (embedded Milvus Lite, the default ``./milvus.db``),
            ``http://host:19530`` for a server or cluster, or a Zilliz Cloud endpoint. A
            relative Lite path is made absolute here, against the working directory at
            construction (a later ``os.chdir`` does not move the database).
        token: ``"user:password"`` or an API key; never shown in a repr or message.
        db_name: the Milvus database (``""`` is the server's default); a Milvus name.
        timeout: seconds for each call (and for connecting).
    """

    uri: str = DEFAULT_URI
    token: str = field(default="", repr=False)
    db_name: str = ""
    timeout: float | None = 30.0

    def __post_init__(self) -> None:
        if not isinstance(self.uri, str) or not self.uri.strip():
            raise ConfigError("uri must be a non-empty string such as './milvus.db'.")
        if self.timeout is not None and self.timeout <= 0:
            raise ConfigError(f"timeout={shown(self.timeout)} must be positive seconds or None.")
        if self.db_name != "":
            check_name("db_name", self.db_name)
        if self.is_lite:
            # Resolve now: pymilvus would resolve it at the first connection, after any
            # chdir in between, and open (or create) a database somewhere else.
            object.__setattr__(self, "uri", os.path.abspath(self.uri))

    @classmethod
    def from_env(
        cls, *, uri: str | None = None, token: str | None = None, **kwargs: Any
    ) -> ConnectionConfig:
        """Build a config, filling ``uri``/``token`` from ``MILVUS_URI``/``MILVUS_TOKEN``.

        Explicit arguments win over the environment, which wins over the defaults.
        """
        env_uri = os.environ.get("MILVUS_URI") or DEFAULT_URI
        env_token = os.environ.get("MILVUS_TOKEN", "")
        return cls(
            uri=uri if uri is not None else env_uri,
            token=token if token is not None else env_token,
            **kwargs,
        )

    @property
    def is_lite(self) -> bool:
        """Whether the uri names an embedded Milvus Lite database file."""
        return self.uri.endswith(".db") and "://" not in self.uri

    @property
    def safe_uri(self) -> str:
        """The uri without credentials (``http://user:pass@host`` -> ``http://host``).

        This is what reprs, serialisations and messages show.
        """
        return strip_userinfo(self.uri)

    @property
    def secrets(self) -> tuple[str, ...]:
        """What must never be shown: the token, its password part and uri credentials.

        Error translation masks these in the messages of this connection's errors
        (:func:`~milvus_plugins.core.errors.redact`); nothing is kept globally.
        """
        found = [self.token]
        if ":" in self.token:
            found.append(self.token.split(":", 1)[1])
        if "://" in self.uri:
            with contextlib.suppress(ValueError):
                parts = urlsplit(self.uri)
                userinfo = parts.netloc.rpartition("@")[0]
                if userinfo:
                    found.append(userinfo)
                    found.append(unquote(userinfo))
                if parts.password:
                    found.append(parts.password)
                    found.append(unquote(parts.password))
        return tuple(dict.fromkeys(s for s in found if s))

    def __repr__(self) -> str:
        token = "'***'" if self.token else "''"
        return (
            f"ConnectionConfig(uri={self.safe_uri!r}, token={token}, db_name={self.db_name!r}, "
            f"timeout={self.timeout!r})"
        )
