"""Run Milvus Lite 2.5.1 (the C++ build of Milvus' segment engine) as a TCP server for tests.

Milvus Lite 2.5.1 is a second, independent engine behind the same gRPC API: real Milvus
code (segcore, knowhere) rather than Milvus Lite 3's Python engine. Its package shares the
module name ``milvus_lite`` with 3.x, so it lives in its own venv, ``.venv-lite25/`` at the
repository root (``$MILVUS_PLUGINS_LITE25_VENV`` overrides the place). ``make test``
creates it before pytest runs; :func:`ensure_lite25_venv` creates it too when it is missing
(under a file lock; a ``.installed`` stamp written last marks a complete venv), so a bare
``pytest`` works as well.

The binary is started directly, the way its own launcher does it::

    LD_LIBRARY_PATH=<site>/milvus_lite/lib <site>/milvus_lite/lib/milvus <db> 127.0.0.1:<port> ERROR

on a free loopback port, in its own process group, with its database in a temporary
directory. :meth:`Lite25Server.start` polls until a ``MilvusClient`` can list collections;
:meth:`Lite25Server.stop` sends SIGTERM, then SIGKILL, and the ``atexit`` hook and
``PR_SET_PDEATHSIG`` of :mod:`tests.support.milvus_server` make sure no server outlives the
Python process that started it.
"""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from pymilvus import MilvusClient
from tests.support.milvus_server import (
    ServerStartError,
    ServerUnavailable,
    _file_lock,
    _has_exited,
    _kill,
    _pdeathsig_prefix,
    _pick_ports,
    _register,
    _release_ports,
    _terminate,
    _unregister,
)

__all__ = [
    "LITE25_REQUIREMENTS",
    "Lite25Server",
    "ensure_lite25_venv",
    "lite25_available",
    "lite25_venv_dir",
    "says_too_many_pings",
    "with_fresh_client",
]

#: What the venv holds (setuptools < 81: milvus-lite 2.5.1 imports pkg_resources).
LITE25_REQUIREMENTS = ("milvus-lite==2.5.1", "setuptools<81")

_VENV_ENV = "MILVUS_PLUGINS_LITE25_VENV"
_REPO_ROOT = Path(__file__).resolve().parents[2]
_STAMP = ".installed"
_LOOPBACK = "127.0.0.1"
_ENV_PASSTHROUGH = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TZ", "TMPDIR")
_VENV_LOCK = threading.Lock()


def says_too_many_pings(exc: BaseException | None) -> bool:
    """Whether ``exc``, or an exception it was raised from, is the GOAWAY "too many pings"
    with which Lite 2.5.1 closes a connection whose keepalive pings came while it was idle
    (pymilvus' reconnect then raises "Fail connecting ... server unavailable" from it)."""
    for _ in range(10):
        if exc is None:
            return False
        if "too many pings" in str(exc).lower():
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def with_fresh_client(uri: str, use: Callable[[MilvusClient], None], attempts: int = 3) -> None:
    """Run ``use`` with a new client on ``uri``; once more (after 1 s) when it, or making
    the client, meets Lite 2.5.1's GOAWAY "too many pings". For clean-ups."""
    for attempt in range(attempts):
        client: MilvusClient | None = None
        try:
            client = MilvusClient(uri=uri)
            use(client)
            return
        except Exception as exc:
            if attempt == attempts - 1 or not says_too_many_pings(exc):
                raise
            time.sleep(1.0)
        finally:
            if client is not None:
                client.close()


def lite25_venv_dir() -> Path:
    """Where the Milvus Lite 2.5.1 venv lives."""
    configured = os.environ.get(_VENV_ENV)
    return Path(configured).expanduser() if configured else _REPO_ROOT / ".venv-lite25"


def lite25_available() -> tuple[bool, str]:
    """Whether the Milvus Lite 2.5.1 binary can run on this machine, and why not."""
    system = platform.system()
    machine = platform.machine().lower()
    if system != "Linux":
        return False, f"the Milvus Lite 2.5.1 binary used here runs on Linux only ({system})"
    if machine not in ("x86_64", "amd64"):
        return False, f"the Milvus Lite 2.5.1 wheel is used on x86_64 only (this is {machine})"
    return True, f"Linux {machine}"


def _binary(venv: Path) -> Path | None:
    """The ``milvus`` binary inside ``venv``, if installed."""
    for lib in sorted(venv.glob("lib/python*/site-packages/milvus_lite/lib")):
        binary = lib / "milvus"
        if binary.is_file():
            return binary
    return None


def _pip_tail(log: Path) -> str:
    lines = [
        line
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines()
        if line.strip() and not line.startswith("WARNING: Location")
    ]
    return " | ".join(lines[-5:])


def ensure_lite25_venv() -> Path:
    """Return the ``milvus`` binary of the Milvus Lite 2.5.1 venv, creating the venv once.

    Raises:
        ServerUnavailable: not Linux x86_64, or the venv cannot be built (pip failed).
    """
    ok, reason = lite25_available()
    if not ok:
        raise ServerUnavailable(reason)
    venv = lite25_venv_dir()
    binary = _binary(venv)
    if binary is not None and (venv / _STAMP).is_file():
        return binary
    venv.parent.mkdir(parents=True, exist_ok=True)
    lock_path = venv.parent / f"{venv.name}.lock"
    with _VENV_LOCK, _file_lock(lock_path):
        binary = _binary(venv)
        if binary is not None and (venv / _STAMP).is_file():
            return binary
        log = venv.parent / f"{venv.name}.log"
        try:
            with log.open("wb") as out:
                # Built in place (venvs are not relocatable); the stamp written last
                # marks a complete one, so a half-built venv is rebuilt next time.
                if venv.exists():
                    shutil.rmtree(venv)
                subprocess.run(
                    [sys.executable, "-m", "venv", str(venv)],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    check=True,
                    timeout=300,
                )
                subprocess.run(
                    [
                        str(venv / "bin" / "python"),
                        "-m",
                        "pip",
                        "install",
                        "-q",
                        *LITE25_REQUIREMENTS,
                    ],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    check=True,
                    timeout=900,
                )
        except (OSError, subprocess.SubprocessError) as exc:
            raise ServerUnavailable(
                f"could not build the Milvus Lite 2.5.1 venv at {venv}: {exc}: {_pip_tail(log)}"
            ) from exc
        binary = _binary(venv)
        if binary is None:
            raise ServerUnavailable(f"milvus-lite 2.5.1 at {venv} ships no milvus binary")
        (venv / _STAMP).write_text(" ".join(LITE25_REQUIREMENTS) + "\n", encoding="utf-8")
        return binary


class Lite25Server:
    """One Milvus Lite 2.5.1 server process serving a database under ``base_dir``.

    Attributes:
        base_dir: holds the database file and the server log.
        port: the loopback port it listens on (chosen at start).
    """

    def __init__(self, base_dir: Path) -> None:
        self.base_dir = Path(base_dir)
        self.port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_fh: IO[bytes] | None = None

    def __repr__(self) -> str:
        return f"Lite25Server(base_dir={str(self.base_dir)!r}, port={self.port})"

    @property
    def uri(self) -> str:
        """``http://127.0.0.1:<port>``."""
        if self.port is None:
            raise RuntimeError(f"{self!r} has not been started")
        return f"http://{_LOOPBACK}:{self.port}"

    @property
    def log_path(self) -> Path:
        """The server's stdout and stderr."""
        return self.base_dir / "milvus-lite-2.5.log"

    @property
    def is_running(self) -> bool:
        """Whether the process is alive."""
        return self._proc is not None and not _has_exited(self._proc)

    def start(self, timeout: float = 60) -> None:
        """Start the server and wait until a client can list collections.

        Raises:
            ServerUnavailable: the binary cannot run here or its venv cannot be built.
            ServerStartError: the process exited or did not answer in time (log tail).
        """
        if self.is_running:
            raise RuntimeError(f"{self!r} is already running")
        binary = ensure_lite25_venv()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + timeout
        for attempt in range(3):
            ports = _pick_ports(("lite25",))
            self.port = ports["lite25"]
            self._spawn(binary)
            try:
                self._wait_ready(deadline)
                return
            except ServerStartError as exc:
                tail = self.log_tail()
                self._abort()
                _release_ports(ports)
                clash = "address already in use" in tail.lower()
                if clash and attempt < 2 and time.monotonic() < deadline:
                    continue  # someone took the port meanwhile: pick another
                raise ServerStartError(f"{exc}\n--- tail of {self.log_path} ---\n{tail}") from None
            except BaseException:
                self._abort()
                _release_ports(ports)
                raise

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM the server's process group, SIGKILL it after ``grace`` seconds."""
        proc = self._proc
        if proc is None:
            return
        try:
            _terminate(proc, grace)
        finally:
            self._forget()

    def log_tail(self, lines: int = 40) -> str:
        """The last lines the server wrote."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def client(self, **kwargs: Any) -> Any:
        """A new ``pymilvus.MilvusClient`` for this server (caller closes it)."""
        from pymilvus import MilvusClient

        return MilvusClient(uri=self.uri, **kwargs)

    # -- internals -----------------------------------------------------------------------

    def _spawn(self, binary: Path) -> None:
        lib = binary.parent
        env = {k: os.environ[k] for k in _ENV_PASSTHROUGH if k in os.environ}
        env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
        env["LD_LIBRARY_PATH"] = str(lib)
        command = [str(binary), str(self.base_dir / "lite25.db"), f"{_LOOPBACK}:{self.port}"]
        command.append("ERROR")
        if threading.current_thread() is threading.main_thread():
            command = [*_pdeathsig_prefix(), *command]  # as in MilvusServer._spawn
        self._log_fh = self.log_path.open("ab")
        try:
            proc = subprocess.Popen(
                command,
                cwd=self.base_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=self._log_fh,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        except BaseException:
            self._close_log()
            raise
        self._proc = proc
        _register(proc, f"lite25-{proc.pid}")

    def _wait_ready(self, deadline: float) -> None:
        from pymilvus import MilvusClient

        proc = self._proc
        if proc is None:
            raise ServerStartError("Milvus Lite 2.5.1 was not started")
        last: BaseException | None = None
        while True:
            if _has_exited(proc):
                raise ServerStartError("Milvus Lite 2.5.1 exited during startup")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ServerStartError(f"no client could list collections in time: {last!r}")
            try:
                client = MilvusClient(uri=self.uri, timeout=min(5, remaining))
                try:
                    client.list_collections(timeout=min(5, remaining))
                finally:
                    client.close()
                return
            except Exception as exc:  # not listening yet
                last = exc
                time.sleep(0.1)

    def _abort(self) -> None:
        if self._proc is not None:
            _kill(self._proc)
        self._forget()

    def _forget(self) -> None:
        if self._proc is not None:
            _unregister(self._proc)
        self._proc = None
        self._close_log()

    def _close_log(self) -> None:
        if self._log_fh is not None:
            with contextlib.suppress(OSError):
                self._log_fh.close()
        self._log_fh = None
