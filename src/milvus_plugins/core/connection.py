"""Where Milvus is: :class:`ConnectionConfig` (a Milvus Lite file, a server, a cluster or
Zilliz Cloud are all just a ``uri``), with the token, database and timeout, validated before
any I/O and never showing credentials.

:func:`check_uri`, :func:`check_timeout` and :func:`check_client_kwargs` are the rules
themselves, for callers that take these values elsewhere (a command line, an adapter's
``client_kwargs=``).
"""

from __future__ import annotations

import contextlib
import math
import numbers
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from milvus_plugins.core.errors import ConfigError, shown
from milvus_plugins.core.indexes import INT32_MAX
from milvus_plugins.core.names import check_name

__all__ = [
    "DEFAULT_URI",
    "MAX_TIMEOUT",
    "ConnectionConfig",
    "check_client_kwargs",
    "check_grpc_options",
    "check_timeout",
    "check_uri",
    "strip_userinfo",
]

DEFAULT_URI = "./milvus.db"

MAX_TIMEOUT = 1_000_000.0
"""The longest ``timeout`` accepted, in seconds (about 11.5 days): gRPC deadlines far
beyond it (``1e10`` s and more) fail as if the server were unreachable."""

URI_FORMS = "use a Milvus Lite file ending in .db, or http(s)://host:port"
"""The fix every refused URI names."""

_SERVER_SCHEMES = ("http", "https", "tcp")  # pymilvus' schemes besides "unix:"
_CONNECTION_KEYS = ("uri", "token", "db_name")  # set on ConnectionConfig, not client_kwargs


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


def _is_lite_uri(uri: str) -> bool:
    return uri.endswith(".db") and "://" not in uri


def check_uri(uri: object, *, where: str = "") -> str:
    """Return ``uri`` if pymilvus can connect with it; refuse it naming the fix otherwise.

    Accepted: a path ending in ``.db`` (Milvus Lite; relative, absolute or starting with
    ``~``), ``http://host:port``, ``https://host[:port]`` (Zilliz Cloud needs no port),
    ``tcp://host:port`` and ``unix:/path/to/socket``. ``http://host`` without a port is
    pymilvus' default port 19530. Refused: any other scheme (``file://``, ``ftp://``,
    ``grpc://``), a server URI without a host, a port that is not a number or is outside
    1-65535 (pymilvus would quietly use port 19530 for ``:0``), and anything else not
    ending in ``.db``. No I/O: whether a Lite path's directory exists is checked when the
    database is opened.

    Args:
        uri: the value to check.
        where: appended to the name in messages (``" (from $MILVUS_URI)"``).

    Raises:
        ConfigError: naming the uri (without credentials), what is wrong and the fix.
    """
    if not isinstance(uri, str) or not uri.strip():
        raise ConfigError(
            f"uri{where} must be a non-empty string such as './milvus.db' "
            f"({shown(uri) if not isinstance(uri, str) else 'blank'} given); {URI_FORMS}."
        )
    name = f"uri={shown(strip_userinfo(uri))}{where}"
    if uri.startswith("unix:"):
        if not uri[len("unix:") :].strip("/"):
            raise ConfigError(f"{name} names no socket path; use unix:/path/to/milvus.sock.")
        return uri
    if "://" not in uri:
        if not _is_lite_uri(uri):
            raise ConfigError(f"{name} is not a Milvus URI; {URI_FORMS}.")
        return uri
    try:
        parts = urlsplit(uri)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        raise ConfigError(f"{name} is not a Milvus URI (it does not parse); {URI_FORMS}.") from None
    if parts.scheme not in _SERVER_SCHEMES:
        hint = " (for Milvus Lite pass the path itself)" if parts.scheme == "file" else ""
        raise ConfigError(f"{name} is not a Milvus URI{hint}; {URI_FORMS}.")
    _check_port(name, parts.netloc)
    if not parts.hostname:
        raise ConfigError(f"{name} names no host; {URI_FORMS}.")
    return uri


def _check_port(name: str, netloc: str) -> None:
    hostport = netloc.rpartition("@")[2]
    if hostport.startswith("["):  # [IPv6]:port
        raw = hostport.partition("]")[2]
        raw = raw[1:] if raw.startswith(":") else ""
    else:
        raw = hostport.partition(":")[2] if ":" in hostport else ""
    if not raw:
        return  # no port: pymilvus' default (19530, or 443 for https)
    if not raw.isascii() or not raw.isdigit():
        raise ConfigError(f"{name} has a port that is not a number ({raw!r}); {URI_FORMS}.")
    if not 1 <= int(raw) <= 65535:
        raise ConfigError(f"{name}: port {int(raw)} is out of range 1-65535; {URI_FORMS}.")


def check_timeout(timeout: object, *, field: str = "timeout") -> float | None:
    """Return ``timeout`` if it is ``None`` or a finite number of seconds in (0, 1e6].

    Raises:
        ConfigError: a bool, a string, NaN, infinity, zero, a negative number or more
            than :data:`MAX_TIMEOUT` seconds; the message names ``field``.
    """
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise ConfigError(
            f"{field}={shown(timeout)} must be a number of seconds or None "
            f"({type(timeout).__name__} given), e.g. {field}=30."
        )
    if not math.isfinite(timeout) or not 0 < timeout <= MAX_TIMEOUT:
        raise ConfigError(
            f"{field}={shown(timeout)} must be a finite positive number of seconds, at most "
            f"{MAX_TIMEOUT:,.0f} (or None), e.g. {field}=30."
        )
    return timeout


def check_client_kwargs(client_kwargs: object) -> dict[str, Any]:
    """Return the extra ``MilvusClient`` keyword arguments as a dict, checked.

    Args:
        client_kwargs: ``None`` or a mapping of keyword names to values.

    Raises:
        ConfigError: not a mapping, a key that is not a string, a ``uri``, ``token`` or
            ``db_name`` (they belong to :class:`ConnectionConfig`, which the store
            connects with), a ``timeout`` that :func:`check_timeout` refuses, or
            ``grpc_options`` that :func:`check_grpc_options` refuses.
    """
    if client_kwargs is None:
        return {}
    if not isinstance(client_kwargs, Mapping):
        raise ConfigError(
            f"client_kwargs must be a dict of MilvusClient keyword arguments or None "
            f"({type(client_kwargs).__name__} given)."
        )
    kwargs = dict(client_kwargs)
    bad = [k for k in kwargs if not isinstance(k, str)]
    if bad:
        raise ConfigError(f"client_kwargs keys must be strings; got {shown(bad)}.")
    owned = sorted(set(kwargs) & set(_CONNECTION_KEYS))
    if owned:
        raise ConfigError(
            f"client_kwargs must not set {owned}: pass them as the store's own arguments "
            "(or on its ConnectionConfig), which the store connects with."
        )
    if "timeout" in kwargs:
        check_timeout(kwargs["timeout"], field="client_kwargs['timeout']")
    if "grpc_options" in kwargs:
        kwargs["grpc_options"] = check_grpc_options(kwargs["grpc_options"])
    return kwargs


def check_grpc_options(options: object) -> dict[str, Any]:
    """Return ``client_kwargs['grpc_options']`` as a dict of gRPC channel options, checked.

    pymilvus takes what ``dict.update`` takes (a mapping, or ``(name, value)`` pairs) and
    lays it over its own channel options; the store does the same over its own (see
    ``session.LITE_GRPC_OPTIONS``), so both forms are accepted and made a dict here.
    Anything else failed only at the first call, as a Milvus call error.

    Each value is checked as gRPC reads it: an integer option must fit gRPC's C ``int``
    (-2**31 to 2**31 - 1); an integral float (``1e8``) or a numpy integer is made a
    Python ``int`` (gRPC took any other number for a C pointer, silently: ``1.5`` became
    the address 1); a string must be UTF-8 (no lone surrogates); bytes pass as they are.
    A non-number object with ``__int__`` (a gRPC pointer option) is passed on as given.

    Raises:
        ConfigError: ``None``, a string, anything else that is not a mapping or a
            sequence of pairs, an option name that is not a UTF-8 string, or a value
            gRPC cannot take (``None``, a container, a non-integral or out-of-range
            number, a string with a lone surrogate).
    """
    field = "client_kwargs['grpc_options']"
    example = 'e.g. {"grpc.max_receive_message_length": 2**27}'
    pairs: list[Any]
    if isinstance(options, Mapping):
        pairs = list(options.items())
    elif isinstance(options, (list, tuple)):
        pairs = list(options)
    else:
        raise ConfigError(
            f"{field} must be a dict of gRPC channel options (name: value), {example}, or a "
            f"list of (name, value) pairs; {type(options).__name__} given. Leave it out for "
            "the defaults."
        )
    checked: dict[str, Any] = {}
    for pair in pairs:
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise ConfigError(f"{field} pairs must be (name, value); got {shown(pair)}, {example}.")
        name, value = pair
        if not isinstance(name, str) or not is_utf8(name):
            raise ConfigError(
                f"{field} option names must be strings such as 'grpc.keepalive_time_ms'; "
                f"got {shown(name)}."
            )
        checked[name] = _grpc_value(f"{field}[{shown(name)}]", value)
    return checked


_GRPC_INT_MIN, _GRPC_INT_MAX = -INT32_MAX - 1, INT32_MAX  # gRPC's C int


def is_utf8(text: str) -> bool:
    """Whether ``text`` encodes as UTF-8 (it holds no lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _grpc_value(field: str, value: object) -> object:
    """One gRPC channel option value, as gRPC will read it (see :func:`check_grpc_options`)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        if not is_utf8(value):
            raise ConfigError(f"{field} must be UTF-8 text; got a string with a lone surrogate.")
        return value
    number: int | None = None
    if isinstance(value, numbers.Integral):
        number = int(value)
    elif isinstance(value, numbers.Real):
        real = float(value)
        if not math.isfinite(real) or not real.is_integer():
            raise ConfigError(
                f"{field} must be an integer (gRPC reads numbers as C ints); got {shown(value)}."
            )
        number = int(real)
    elif isinstance(value, numbers.Number) or not hasattr(type(value), "__int__"):
        raise ConfigError(
            f"{field} must be an integer, a string or bytes (a gRPC channel option value); "
            f"got {type(value).__name__}. Leave the option out for gRPC's default."
        )
    else:
        return value  # a gRPC pointer option (an object standing for a C address)
    if not _GRPC_INT_MIN <= number <= _GRPC_INT_MAX:
        raise ConfigError(
            f"{field} must be between {_GRPC_INT_MIN} and {_GRPC_INT_MAX} (gRPC's C int); "
            f"got {shown(value)}."
        )
    return number


@dataclass(frozen=True, kw_only=True)
class ConnectionConfig:
    """How to reach Milvus.

    Attributes:
        uri: a path ending in ``.db`` (embedded Milvus Lite, the default ``./milvus.db``),
            ``http://host:19530`` for a server or cluster, or a Zilliz Cloud endpoint
            (``https://...``); see :func:`check_uri` for every accepted form. A Lite path
            starting with ``~`` is expanded to the home directory (as
            ``os.path.expanduser``), and a relative one is made absolute here, against
            the working directory at construction (a later ``os.chdir`` does not move
            the database).
        token: ``"user:password"`` or an API key (a string); never shown in a repr or
            message.
        db_name: the Milvus database (``""`` is the server's default); a Milvus name.
        timeout: seconds for each call (and for connecting): every read, write (and the
            flush that ends a write), delete and metadata call (describe, list, has,
            create/drop of partitions and aliases) is sent with this deadline; loads,
            index builds, compactions and ``flush()`` itself wait for the server's work
            instead. A finite number in (0, 1,000,000], or ``None`` (no deadline).

    Raises:
        ConfigError: a malformed uri, a token that is not a string, an invalid database
            name or timeout (no I/O).
    """

    uri: str = DEFAULT_URI
    token: str = field(default="", repr=False)
    db_name: str = ""
    timeout: float | None = 30.0

    def __post_init__(self) -> None:
        check_uri(self.uri)
        if not isinstance(self.token, str):
            raise ConfigError(
                f"token must be a string ('user:password' or an API key; "
                f"{type(self.token).__name__} given)."
            )
        check_timeout(self.timeout)
        if self.db_name != "":
            check_name("db_name", self.db_name)
        if self.is_lite:
            # Resolve now: pymilvus would resolve it at the first connection, after any
            # chdir in between, and open (or create) a database somewhere else; and it
            # would not expand "~" (it would create a directory named "~").
            object.__setattr__(self, "uri", os.path.abspath(os.path.expanduser(self.uri)))

    @classmethod
    def from_env(
        cls, *, uri: str | None = None, token: str | None = None, **kwargs: Any
    ) -> ConnectionConfig:
        """Build a config, filling ``uri``/``token`` from ``MILVUS_URI``/``MILVUS_TOKEN``.

        Explicit arguments win over the environment, which wins over the defaults.

        Raises:
            ConfigError: as the constructor; a malformed ``MILVUS_URI`` is named as such.
        """
        env_uri = os.environ.get("MILVUS_URI") or DEFAULT_URI
        env_token = os.environ.get("MILVUS_TOKEN", "")
        if uri is None and os.environ.get("MILVUS_URI"):
            check_uri(env_uri, where=" (from $MILVUS_URI)")
        return cls(
            uri=uri if uri is not None else env_uri,
            token=token if token is not None else env_token,
            **kwargs,
        )

    @classmethod
    def from_connection_args(
        cls, args: object, *, field: str = "connection_args"
    ) -> ConnectionConfig:
        """Build a config from a pymilvus-style connection dict (langchain-milvus'
        ``connection_args``): ``uri``, ``token``, ``db_name``, ``timeout``, and ``user``
        with ``password`` (the token ``"user:password"``); a missing ``uri`` or
        ``token`` comes from the environment, as in :meth:`from_env`.

        Raises:
            ConfigError: not a mapping, a key of another kind (``host``/``port``/
                ``address`` name the ``uri`` to give instead; others ``client_kwargs``),
                ``user`` without ``password`` or both with ``token``, or what the
                constructor refuses. Values are never shown (they may be secrets).
        """
        if not isinstance(args, Mapping) or not all(isinstance(k, str) for k in args):
            raise ConfigError(
                f"{field} must be a dict such as {{'uri': 'http://localhost:19530', "
                f"'token': ...}} ({type(args).__name__} given)."
            )
        given = dict(args)
        unknown = sorted(set(given) - {"uri", "token", "db_name", "timeout", "user", "password"})
        if unknown:
            where = {"host", "port", "address"} & set(unknown)
            fix = (
                "give the server as uri='http://host:port'"
                if where
                else "other MilvusClient options go in client_kwargs={...}"
            )
            raise ConfigError(f"{field} keys {unknown} are not connection settings here: {fix}.")
        user, password = given.pop("user", None), given.pop("password", None)
        if (user is None) != (password is None) or (user is not None and "token" in given):
            raise ConfigError(
                f"{field}: give 'user' with 'password' (the token 'user:password'), or "
                "'token' alone."
            )
        if user is not None:
            if not isinstance(user, str) or not isinstance(password, str):
                raise ConfigError(f"{field}: 'user' and 'password' must be strings.")
            given["token"] = f"{user}:{password}"
        return cls.from_env(**given)

    @property
    def is_lite(self) -> bool:
        """Whether the uri names an embedded Milvus Lite database (a path ending in .db)."""
        return _is_lite_uri(self.uri)

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
