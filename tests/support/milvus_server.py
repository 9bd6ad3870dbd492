"""Run a real Milvus standalone server (from the PyPI ``milvus`` package) for tests, no Docker.

The ``milvus`` package (2.3.5) ships the Linux x86_64 server binary and its shared libraries
lzma-compressed, plus a config template. This module does what that package's own launcher does,
but in a way that suits a test suite:

* the binaries are unpacked once into a shared cache directory
  (``$MILVUS_PLUGINS_SERVER_CACHE`` or ``~/.cache/milvus-plugins-server/<version>/<hash>``),
  atomically (unpack into a temporary directory, then rename), under a file lock;
* the config template is rendered by us: every port is chosen here (nothing fixed, so several
  servers can run at once), every advertised address is 127.0.0.1, the embedded etcd gets its
  own yaml (``ETCD_CONFIG_PATH``) with client/peer URLs on 127.0.0.1, and all state lives under
  ``base_dir``;
* the server runs in its own process group, is polled on ``/healthz`` and then through a real
  ``pymilvus.MilvusClient``; ``stop()`` sends SIGTERM then SIGKILL to the group, ``kill()``
  simulates a crash, and an ``atexit`` hook (plus ``PR_SET_PDEATHSIG`` through ``setpriv`` when
  it is available) makes sure no server outlives the Python process that started it.

Note: Milvus components still *listen* on all interfaces whatever the config says; only the
addresses they advertise (and etcd) are restricted to 127.0.0.1.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import functools
import hashlib
import importlib.metadata
import importlib.util
import lzma
import os
import platform
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import IO, Any

__all__ = [
    "DEFAULT_TOKEN",
    "PORT_NAMES",
    "MilvusServer",
    "ServerStartError",
    "ServerUnavailable",
    "ensure_server_binaries",
    "render_config_template",
    "server_available",
    "set_yaml_values",
    "wait_for_loaded",
]

#: Token of the default superuser when ``auth=True`` (Milvus 2.3 default password).
DEFAULT_TOKEN = "root:Milvus"

#: Every port a server instance needs; all are chosen free at start.
PORT_NAMES: tuple[str, ...] = (
    "proxy",
    "proxy_internal",
    "proxy_http",
    "metrics",
    "root_coord",
    "query_coord",
    "query_node",
    "index_coord",
    "index_node",
    "data_coord",
    "data_node",
    "etcd_client",
    "etcd_peer",
    "natsmq",
)

#: Ports the 2.3.5 standalone server actually listens on (index_coord and natsmq are only
#: written into the config; indexcoord runs inside datacoord, the message queue is rocksmq).
_LISTENED_PORTS = frozenset(PORT_NAMES) - {"index_coord", "natsmq"}

_CACHE_ENV = "MILVUS_PLUGINS_SERVER_CACHE"
_LOOPBACK = "127.0.0.1"
_LOG_NAME = "milvus.log"
# Environment variables passed through to the server. Milvus maps *any* environment variable
# whose name matches a config key (``LOG_LEVEL``, ``ETCD_ENDPOINTS``, ``PROXY_PORT``...) onto
# its config, so the server gets a minimal, explicit environment instead of ours.
_ENV_PASSTHROUGH = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TZ", "TMPDIR")
_HEALTH_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ServerUnavailable(RuntimeError):
    """The server binary cannot run here (platform, missing package or files)."""


class ServerStartError(RuntimeError):
    """The server process exited or did not become ready in time."""


class _PortClash(ServerStartError):
    """Another process listens on a port chosen for the server."""


# --------------------------------------------------------------------------------------------
# Locating and unpacking the binaries
# --------------------------------------------------------------------------------------------


def _package_dir() -> Path:
    """Directory of the installed ``milvus`` package (without importing it: its import has
    side effects, it builds two launcher objects)."""
    try:
        spec = importlib.util.find_spec("milvus")
    except (ImportError, ValueError) as exc:
        raise ServerUnavailable(f"cannot locate the 'milvus' package: {exc}") from exc
    if spec is None or not spec.submodule_search_locations:
        raise ServerUnavailable(
            "the 'milvus' package (pip install 'milvus==2.3.5') is not installed"
        )
    pkg = Path(next(iter(spec.submodule_search_locations)))
    binary = pkg / "data" / "bin" / "milvus.lzma"
    template = pkg / "data" / "config.yaml.template"
    for needed in (binary, template):
        if not needed.is_file():
            raise ServerUnavailable(f"the 'milvus' package at {pkg} lacks {needed.name}")
    return pkg


def _package_version() -> str:
    try:
        return importlib.metadata.version("milvus")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def server_available() -> tuple[bool, str]:
    """Whether the Milvus server binary can run on this machine, and why not if it cannot."""
    system = platform.system()
    machine = platform.machine().lower()
    if system != "Linux":
        return False, f"the Milvus server binary runs on Linux only (this is {system})"
    if machine not in ("x86_64", "amd64"):
        return False, f"the Milvus server binary is built for x86_64 only (this is {machine})"
    try:
        pkg = _package_dir()
    except ServerUnavailable as exc:
        return False, str(exc)
    return True, f"milvus {_package_version()} at {pkg}"


def _cache_root() -> Path:
    configured = os.environ.get(_CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "milvus-plugins-server"


_FINGERPRINTS: dict[tuple[tuple[str, int, int], ...], str] = {}
_UNPACK_LOCK = threading.Lock()


def _fingerprint(sources: list[Path]) -> str:
    """Content hash of the compressed files (memoised on name, size and mtime)."""
    stats = tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in sources)
    cached = _FINGERPRINTS.get(stats)
    if cached is not None:
        return cached
    digest = hashlib.sha256()
    for path in sources:
        digest.update(path.name.encode() + b"\0")
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    value = digest.hexdigest()
    _FINGERPRINTS[stats] = value
    return value


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    import fcntl  # Linux-only module; imported late so this file imports anywhere.

    with path.open("a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _unpack_one(source: Path, target: Path) -> None:
    with lzma.open(source, "rb") as src, target.open("wb") as dst:
        shutil.copyfileobj(src, dst, 4 << 20)
    target.chmod(0o755)


def ensure_server_binaries(cache_dir: Path | None = None) -> Path:
    """Unpack the server binary and libraries once; return the directory holding ``bin/``.

    The result is keyed by package version and by a hash of the compressed files, so it is
    shared across runs and re-made only when the package changes. Safe against concurrent
    callers (threads and processes): a file lock serialises unpacking and the finished tree
    appears atomically through a rename.
    """
    ok, reason = server_available()
    if not ok:
        raise ServerUnavailable(reason)
    lzma_dir = _package_dir() / "data" / "bin"
    sources = sorted(lzma_dir.glob("*.lzma"))
    key = _fingerprint(sources)[:16]
    root = (cache_dir if cache_dir is not None else _cache_root()) / _package_version()
    target = root / key
    marker = target / ".complete"
    if marker.is_file():
        return target
    root.mkdir(parents=True, exist_ok=True)
    with _UNPACK_LOCK, _file_lock(root / ".unpack.lock"):
        if marker.is_file():
            return target
        # Leftovers of an unpack that was killed half-way (nobody else holds the lock).
        for stale in root.glob(f".{key}-*"):
            shutil.rmtree(stale, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=root))
        try:
            bin_dir = tmp / "bin"
            bin_dir.mkdir()
            workers = max(1, min(4, os.cpu_count() or 1))
            with ThreadPoolExecutor(max_workers=workers) as pool:
                jobs = [
                    pool.submit(_unpack_one, src, bin_dir / src.name[: -len(".lzma")])
                    for src in sources
                ]
                for job in jobs:
                    job.result()
            (tmp / ".complete").write_text(f"{_package_version()} {key}\n", encoding="utf-8")
            if target.exists():  # incomplete tree without marker: replace it
                shutil.rmtree(target)
            tmp.chmod(0o755)
            os.rename(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return target


# --------------------------------------------------------------------------------------------
# Config rendering
# --------------------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(
    r"\{\{\s*(?P<name>\w+)\s*(?:\(\s*\w+\s*\))?\s*(?::\s*(?P<default>[^}]*?))?\s*\}\}"
)
_YAML_KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_]+):(?P<rest>.*)$")


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def render_config_template(template: str, values: Mapping[str, object]) -> str:
    """Fill the ``{{ name(type): default }}`` placeholders of the package's config template.

    A placeholder without a value in ``values`` takes its default; one with neither is an error.
    """

    def replace(match: re.Match[str]) -> str:
        name = match["name"]
        if name in values:
            return _scalar(values[name])
        if match["default"] is not None:
            return match["default"]
        raise KeyError(f"config template placeholder {name!r} needs a value")

    return _PLACEHOLDER.sub(replace, template)


def _split_comment(rest: str) -> str:
    """The `` # comment`` part of a yaml value (empty if none)."""
    for index, char in enumerate(rest):
        if char == "#" and (index == 0 or rest[index - 1] in " \t"):
            return " " + rest[index:].lstrip()
    return ""


def set_yaml_values(text: str, values: Mapping[str, object]) -> str:
    """Set dotted keys (``proxy.http.port``) in block-style yaml text, keeping comments.

    Existing keys get the new scalar value; missing keys are inserted under their deepest
    existing ancestor (or at the end of the document). Indentation is assumed to be 2 spaces,
    as in the Milvus config template.
    """
    out: list[str] = []
    stack: list[tuple[int, str]] = []
    positions: dict[str, int] = {}
    pending = {key: _scalar(value) for key, value in values.items()}
    for line in text.splitlines():
        match = _YAML_KEY.match(line)
        if match is None or line.lstrip().startswith("#"):
            out.append(line)
            continue
        indent = len(match["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, match["key"]))
        dotted = ".".join(key for _, key in stack)
        if dotted in pending:
            line = f"{match['indent']}{match['key']}: {pending.pop(dotted)}"
            line += _split_comment(match["rest"])
        positions[dotted] = len(out)
        out.append(line)

    for dotted, value in pending.items():
        parts = dotted.split(".")
        depth = 0
        anchor = -1
        base_indent = 0
        for depth in range(len(parts) - 1, -1, -1):
            prefix = ".".join(parts[:depth])
            if depth == 0:
                anchor = len(out) - 1
                base_indent = 0
                break
            if prefix in positions:
                anchor = positions[prefix]
                parent = out[anchor]
                base_indent = len(parent) - len(parent.lstrip(" ")) + 2
                break
        new_lines: list[str] = []
        for offset, part in enumerate(parts[depth:]):
            pad = " " * (base_indent + 2 * offset)
            last = depth + offset == len(parts) - 1
            new_lines.append(f"{pad}{part}: {value}" if last else f"{pad}{part}:")
        insert_at = anchor + 1
        out[insert_at:insert_at] = new_lines
        for key, pos in positions.items():
            if pos >= insert_at:
                positions[key] = pos + len(new_lines)
        for offset in range(len(new_lines)):
            positions[".".join(parts[: depth + offset + 1])] = insert_at + offset
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------
# Ports and processes
# --------------------------------------------------------------------------------------------


def _ephemeral_low() -> int:
    try:
        text = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text(encoding="ascii")
        return int(text.split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _port_is_free(port: int) -> bool:
    """True if nothing listens on ``port`` on any interface (IPv4 and, if present, IPv6)."""
    families: list[tuple[socket.AddressFamily, str]] = [(socket.AF_INET, "0.0.0.0")]
    if socket.has_ipv6:
        families.append((socket.AF_INET6, "::"))
    for family, host in families:
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError:
            continue  # family not supported on this host
        with sock:
            # Go listeners use SO_REUSEADDR, so TIME_WAIT leftovers do not block them.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError as exc:
                if exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
                    continue  # e.g. IPv6 disabled
                return False
    return True


# Ports handed to servers of this process (running or not yet bound), so that two servers
# started at the same time from one process never draw the same port. Across processes the
# draw is random and a start that loses a port race is retried with new ports.
_RESERVED: set[int] = set()
_RESERVED_LOCK = threading.Lock()


def _pick_ports(names: tuple[str, ...], avoid: set[int] | None = None) -> dict[str, int]:
    """Distinct free ports, drawn at random *below* the ephemeral range so that the outgoing
    connections the server makes while it boots cannot take them first."""
    rng = random.SystemRandom()
    low = 20000
    high = _ephemeral_low() - 1
    if high - low < 2000:
        low, high = 10000, 65000
    chosen: dict[str, int] = {}
    with _RESERVED_LOCK:
        taken = set(avoid or ()) | _RESERVED
        for name in names:
            for _ in range(2000):
                port = rng.randint(low, high)
                if port not in taken and _port_is_free(port):
                    break
            else:  # pragma: no cover - the machine would have to be full of listeners
                raise ServerStartError("could not find free ports for the Milvus server")
            taken.add(port)
            chosen[name] = port
        _RESERVED.update(chosen.values())
    return chosen


def _release_ports(ports: Mapping[str, int]) -> None:
    with _RESERVED_LOCK:
        _RESERVED.difference_update(ports.values())


_LIVE: dict[int, tuple[subprocess.Popen[bytes], str]] = {}
_LIVE_LOCK = threading.Lock()


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _has_exited(proc: subprocess.Popen[bytes]) -> bool:
    """Whether the process has exited, *without reaping it*: an unreaped leader keeps its pid,
    so its process-group id cannot be reused while stragglers are being killed."""
    if proc.returncode is not None:
        return True
    try:
        info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:  # already reaped elsewhere
        return True
    return info is not None


def _wait_exited(proc: subprocess.Popen[bytes], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not _has_exited(proc):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def _terminate(proc: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM the process group, SIGKILL it after ``grace`` seconds, reap the leader."""
    if not _has_exited(proc):
        _signal_group(proc.pid, signal.SIGTERM)
        if not _wait_exited(proc, grace):
            _signal_group(proc.pid, signal.SIGKILL)
            _wait_exited(proc, 30)
    _signal_group(proc.pid, signal.SIGKILL)  # anything left in the group
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=30)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    _signal_group(proc.pid, signal.SIGKILL)
    _wait_exited(proc, 30)
    _signal_group(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=30)


def _register(proc: subprocess.Popen[bytes], alias: str) -> None:
    with _LIVE_LOCK:
        _LIVE[proc.pid] = (proc, alias)


def _unregister(proc: subprocess.Popen[bytes]) -> None:
    with _LIVE_LOCK:
        _LIVE.pop(proc.pid, None)


@atexit.register
def _cleanup_at_exit() -> None:
    """Stop every server this process started and did not stop (SIGTERM, then SIGKILL)."""
    with _LIVE_LOCK:
        entries = list(_LIVE.values())
        _LIVE.clear()
    for proc, _ in entries:
        if not _has_exited(proc):
            _signal_group(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    for proc, _ in entries:
        _wait_exited(proc, max(0.0, deadline - time.monotonic()))
    for proc, alias in entries:
        _kill(proc)
        _remove_runtime_files(proc.pid, alias)


_STALE_PID_FILE = re.compile(r"standalone-mp[0-9a-f]{12}\.pid")
_SERVER_ID_FILE = re.compile(r"server_id_(\d+)")


def _sweep_runtime_files() -> None:
    """Remove runtime files of servers that died without cleaning up (SIGKILLed owners):
    ``server_id_<pid>`` of dead pids and unlocked pid files of our aliases."""
    import fcntl

    for run_dir in (Path("/run/milvus"), Path("/tmp/milvus")):
        try:
            entries = list(run_dir.iterdir())
        except OSError:
            continue
        for entry in entries:
            with contextlib.suppress(OSError):
                server_id = _SERVER_ID_FILE.fullmatch(entry.name)
                if server_id is not None:
                    try:
                        os.kill(int(server_id[1]), 0)
                    except ProcessLookupError:
                        entry.unlink()
                elif _STALE_PID_FILE.fullmatch(entry.name):
                    with entry.open("rb") as fh:
                        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises if held
                        entry.unlink()


def _remove_runtime_files(pid: int, alias: str) -> None:
    """What the server leaves in its runtime directories: its pid file (flock'ed, released at
    exit) and ``server_id_<pid>``."""
    for run_dir in ("/run/milvus", "/tmp/milvus"):
        for name in (f"standalone-{alias}.pid", f"server_id_{pid}"):
            with contextlib.suppress(OSError):
                Path(run_dir, name).unlink()


def _socket_inodes(pid: int) -> set[int]:
    inodes: set[int] = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    with contextlib.suppress(OSError):
        for fd in fd_dir.iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(int(target[8:-1]))
    return inodes


def _tcp_listeners() -> dict[int, set[int]]:
    """Listening TCP sockets of this network namespace: port -> socket inodes."""
    listeners: dict[int, set[int]] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text(encoding="ascii").splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == "0A":  # TCP_LISTEN
                port = int(fields[1].rsplit(":", 1)[1], 16)
                listeners.setdefault(port, set()).add(int(fields[9]))
    return listeners


def _port_ownership(pid: int, ports: Mapping[str, int]) -> tuple[set[str], dict[str, int]]:
    """Which of ``ports`` the process ``pid`` listens on, and which ones (also) have a
    listener of another process: a port clash Milvus does not always report, where clients
    could end up talking to somebody else's server."""
    listeners = _tcp_listeners()  # first: a socket listed there is then in the fd table
    ours = _socket_inodes(pid)
    bound: set[str] = set()
    foreign: dict[str, int] = {}
    for name, port in ports.items():
        inodes = listeners.get(port, set())
        if inodes & ours:
            bound.add(name)
        if inodes - ours:
            foreign[name] = port
    return bound, foreign


@functools.cache
def _pdeathsig_prefix() -> tuple[str, ...]:
    """``setpriv --pdeathsig KILL --`` if this host's setpriv supports it, else nothing."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return ()
    prefix = (setpriv, "--pdeathsig", "KILL", "--")
    try:
        subprocess.run([*prefix, "true"], check=True, capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ()
    return prefix


def _healthy(metrics_port: int) -> bool:
    url = f"http://{_LOOPBACK}:{metrics_port}/healthz"
    try:
        with _HEALTH_OPENER.open(url, timeout=2) as resp:
            body = bytes(resp.read()).decode("utf-8", "replace")
            return resp.status == 200 and "OK" in body
    except (urllib.error.URLError, OSError, ValueError):
        return False


def wait_for_loaded(client: Any, collection_name: str, timeout: float = 60) -> None:
    """Block until ``collection_name`` is loaded (after a restart the server reports healthy
    before it has reloaded its collections)."""
    deadline = time.monotonic() + timeout
    state: object = None
    while time.monotonic() < deadline:
        try:
            state = client.get_load_state(collection_name)["state"]
        except Exception as exc:  # server still recovering
            state = exc
        if getattr(state, "name", None) == "Loaded":  # pymilvus LoadState.Loaded
            return
        time.sleep(0.2)
    raise TimeoutError(f"{collection_name!r} not loaded after {timeout:.0f}s (last: {state!r})")


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


TIME_TICK_MS = 50
"""The proxy time tick of the test servers (2.3.5's default is 200 ms). A strong read waits
for the next tick, so a short tick makes server tests faster, but an idle server works on
every tick: 14% of a core at 20 ms, 3.4% at 200 ms, with one server per test worker.
Measured in full ``make test`` runs on 2 cores (4 workers): 20 ms, main part 26:21 and the
Milvus Lite 2.5.1 part 9:30 alongside; 50 ms, 23:48 and 7:39."""


class MilvusServer:
    """A Milvus standalone server with all its state under ``base_dir``.

    ``base_dir`` layout: ``configs/`` (milvus.yaml, etcd.yaml, glog.conf), ``data/`` (etcd,
    rocksmq, segment storage), ``logs/`` and ``milvus.log`` (the server's stdout and stderr,
    appended across restarts). Ports are chosen at the first start and kept across restarts
    (each one re-picked only if something else took it meanwhile): a restarted Milvus
    recognises its old sessions by their addresses, which makes recovery faster.

    Timings on a 2-core box: a fresh start takes ~2 s (plus ~5 s once per machine to unpack
    the binaries). After ``kill()`` or ``stop()``, ``start()`` takes ~6-9 s, and loaded
    collections come back ~4-8 s after that (the dead process's sessions must expire first,
    ``session_ttl_seconds``): call :func:`wait_for_loaded` before reading.
    """

    def __init__(
        self,
        base_dir: Path,
        *,
        auth: bool = False,
        log_level: str = "info",
        graceful_stop_seconds: int = 3,
        time_tick_ms: int | None = None,
        session_ttl_seconds: int = 10,
        cache_dir: Path | None = None,
    ) -> None:
        self.base_dir = Path(base_dir).resolve()
        self.auth = auth
        self.log_level = log_level
        self.graceful_stop_seconds = graceful_stop_seconds
        if time_tick_ms is None:  # MP_TEST_TIME_TICK_MS, else 50 (see TIME_TICK_MS)
            time_tick_ms = int(os.environ.get("MP_TEST_TIME_TICK_MS", TIME_TICK_MS))
        self.time_tick_ms = time_tick_ms
        self.session_ttl_seconds = session_ttl_seconds
        self._cache_dir = cache_dir
        self._ports: dict[str, int] = {}
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_fh: IO[bytes] | None = None
        self._log_offset = 0
        alias_digest = hashlib.sha1(str(self.base_dir).encode(), usedforsecurity=False)
        self._alias = "mp" + alias_digest.hexdigest()[:12]

    # -- properties ----------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The proxy (gRPC) port clients connect to."""
        if not self._ports:
            raise RuntimeError("the server has not been started yet")
        return self._ports["proxy"]

    @property
    def uri(self) -> str:
        return f"http://{_LOOPBACK}:{self.port}"

    @property
    def token(self) -> str:
        """``"root:Milvus"`` with ``auth=True``, otherwise ``""``."""
        return DEFAULT_TOKEN if self.auth else ""

    @property
    def ports(self) -> dict[str, int]:
        return dict(self._ports)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def is_running(self) -> bool:
        return self._proc is not None and not _has_exited(self._proc)

    def exit_code(self) -> int | None:
        """The exit status of a server process that ended on its own (negative: the signal
        that killed it), without reaping it; None while it runs or when none was started."""
        proc = self._proc
        if proc is None:
            return None
        if proc.returncode is not None:
            return proc.returncode
        try:
            info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return None
        if info is None:
            return None
        if info.si_code == os.CLD_EXITED:
            return info.si_status
        return -info.si_status

    @property
    def log_path(self) -> Path:
        return self.base_dir / _LOG_NAME

    @property
    def config_path(self) -> Path:
        return self.base_dir / "configs" / "milvus.yaml"

    # -- context manager -----------------------------------------------------------------

    def __enter__(self) -> MilvusServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"pid={self.pid}" if self.is_running else "stopped"
        where = self.uri if self._ports else "no ports yet"
        return f"MilvusServer({str(self.base_dir)!r}, {where}, {state})"

    # -- lifecycle -----------------------------------------------------------------------

    def start(self, timeout: float = 120) -> None:
        """Start the server and wait until ``/healthz`` is OK and a client can list
        collections. Raises :class:`ServerStartError` (with the log tail) otherwise."""
        if self.is_running:
            raise RuntimeError(f"{self!r} is already running")
        self._reap()
        _sweep_runtime_files()
        deadline = time.monotonic() + timeout
        home = ensure_server_binaries(self._cache_dir)
        data_dir = self.base_dir / "data"
        fresh = not data_dir.exists()
        attempts = 0
        while True:
            attempts += 1
            self._choose_ports()
            self._write_configs()
            self._spawn(home / "bin")
            try:
                self._wait_ready(deadline)
                return
            except ServerStartError as exc:
                tail = self.log_tail()
                code = self._abort()
                port_clash = isinstance(exc, _PortClash) or "address already in use" in tail.lower()
                if port_clash and attempts < 3 and time.monotonic() < deadline:
                    # Somebody took one of the ports meanwhile: pick new ones (and drop the
                    # state of a first start, whose stale sessions would slow the next one).
                    _release_ports(self._ports)
                    self._ports = {}
                    if fresh:
                        shutil.rmtree(data_dir, ignore_errors=True)
                    continue
                reason = f"{exc} (exit code {code})" if code is not None else str(exc)
                raise ServerStartError(
                    f"{reason}\n--- tail of {self.log_path} ---\n{tail}"
                ) from None
            except BaseException:  # KeyboardInterrupt, a failing client import...
                self._abort()
                raise

    def stop(self, grace: float | None = None) -> None:
        """Graceful stop: SIGTERM to the process group, SIGKILL after ``grace`` seconds
        (default: the configured graceful-stop timeout plus 2 s). Milvus 2.3 sometimes hangs
        in its shutdown (e.g. when stopped while its coordinators are still registering), hence
        the SIGKILL fallback; acknowledged writes are durable either way."""
        proc = self._proc
        if proc is None:
            return
        wait = grace if grace is not None else self.graceful_stop_seconds + 2.0
        try:
            _terminate(proc, wait)
        finally:
            self._forget()

    def kill(self) -> None:
        """SIGKILL the server (a crash); its data directory stays for a restart."""
        proc = self._proc
        if proc is None:
            return
        try:
            _kill(proc)
        finally:
            self._forget()

    def restart(self, timeout: float = 120) -> None:
        """Graceful stop (if running), then start on the same data and ports."""
        self.stop()
        self.start(timeout)

    def log_tail(self, lines: int = 60) -> str:
        """The last ``lines`` lines the server wrote since its latest start, without the
        goroutine dump a Go crash ends with; the first ERROR lines are put in front."""
        try:
            with self.log_path.open("rb") as fh:
                fh.seek(self._log_offset)
                text = fh.read().decode("utf-8", "replace")
        except OSError:
            return ""
        crash = re.search(r"^(panic: |fatal error: )", text, re.MULTILINE)
        if crash is not None:
            dump = text.find("\ngoroutine ", crash.start())
            if dump != -1:
                text = text[:dump]
        all_lines = text.splitlines()
        tail = all_lines[-lines:]
        errors = [
            line[:600]
            for line in all_lines[: len(all_lines) - len(tail)]
            if "[ERROR]" in line or "[FATAL]" in line or '"level":"fatal"' in line
        ][:5]
        if errors:
            tail = ["(first errors)", *errors, "(last lines)", *tail]
        return "\n".join(tail)

    def client(self, **kwargs: Any) -> Any:
        """A new ``pymilvus.MilvusClient`` for this server (caller closes it)."""
        from pymilvus import MilvusClient

        kwargs.setdefault("token", self.token)
        return MilvusClient(uri=self.uri, **kwargs)

    # -- internals -----------------------------------------------------------------------

    def _choose_ports(self) -> None:
        if self._ports and all(_port_is_free(p) for p in self._ports.values()):
            return
        if self._ports:  # keep what is still free, replace the rest
            keep = {name: p for name, p in self._ports.items() if _port_is_free(p)}
            _release_ports({n: p for n, p in self._ports.items() if n not in keep})
            missing = tuple(name for name in PORT_NAMES if name not in keep)
            self._ports = {**keep, **_pick_ports(missing, avoid=set(keep.values()))}
        else:
            self._ports = _pick_ports(PORT_NAMES)

    def _write_configs(self) -> None:
        base = self.base_dir
        configs, data, logs = base / "configs", base / "data", base / "logs"
        for directory in (configs, data, logs):
            directory.mkdir(parents=True, exist_ok=True)
        ports = self._ports
        pkg_data = _package_dir() / "data"

        etcd_yaml = configs / "etcd.yaml"
        client_url = f"http://{_LOOPBACK}:{ports['etcd_client']}"
        peer_url = f"http://{_LOOPBACK}:{ports['etcd_peer']}"
        etcd_yaml.write_text(
            "\n".join(
                [
                    "name: milvus-embedded-etcd",
                    f"data-dir: {data / 'etcd'}",
                    f"listen-client-urls: {client_url}",
                    f"advertise-client-urls: {client_url}",
                    f"listen-peer-urls: {peer_url}",
                    f"initial-advertise-peer-urls: {peer_url}",
                    f"initial-cluster: milvus-embedded-etcd={peer_url}",
                    f"initial-cluster-token: {self._alias}",
                    "initial-cluster-state: new",
                    # A single member elects itself after one election timeout (1 s by
                    # default) at every start: keep that short.
                    "heartbeat-interval: 50",
                    "election-timeout: 300",
                    "",
                ]
            ),
            encoding="utf-8",
        )

        template = (pkg_data / "config.yaml.template").read_text(encoding="utf-8")
        text = render_config_template(
            template,
            {
                "etcd_port": ports["etcd_client"],
                "etcd_log_level": "warn",
                "etcd_log_path": logs / "etcd.log",
                "etcd_data_dir": data / "etcd",
                "local_storage_dir": data / "storage",
                "rocksmq_data_dir": data / "rocksmq",
                "system_log_path": "",  # log to stdout only (captured in milvus.log)
                "proxy_port": ports["proxy"],
                "proxy_internal_port": ports["proxy_internal"],
                "root_coord_port": ports["root_coord"],
                "query_coord_port": ports["query_coord"],
                "query_node_port": ports["query_node"],
                "index_coord_port": ports["index_coord"],
                "index_node_port": ports["index_node"],
                "data_coord_port": ports["data_coord"],
                "data_node_port": ports["data_node"],
                "authorization_enabled": self.auth,
                "tls_mode": 0,
            },
        )
        overrides: dict[str, object] = {
            "etcd.endpoints": f"{_LOOPBACK}:{ports['etcd_client']}",
            "etcd.use.embed": True,
            "etcd.config.path": etcd_yaml,
            "common.storageType": "local",
            "mq.type": "rocksmq",
            "natsmq.server.port": ports["natsmq"],
            "natsmq.server.storeDir": data / "natsmq",
            "natsmq.server.monitor.logFile": logs / "natsmq.log",
            "proxy.http.port": ports["proxy_http"],
            "proxy.timeTickInterval": self.time_tick_ms,
            "indexCoord.bindIndexNodeMode.address": f"{_LOOPBACK}:{ports['index_coord']}",
            "common.gracefulStopTimeout": self.graceful_stop_seconds,
            # A stopping query node waits this long for its segments to move to another
            # query node; a standalone server has none.
            "queryNode.gracefulStopTimeout": 0,
            "indexNode.gracefulStopTimeout": self.graceful_stop_seconds,
            "log.level": self.log_level,
            # After a crash the dead process's sessions stay in etcd until their lease expires
            # (the restarted etcd renews it first); coordinators wait for that. 30 s default.
            "common.session.ttl": self.session_ttl_seconds,
            # Internal gRPC retries (components dialling peers that are not up yet) back off
            # up to 10 s by default; shorter steps make a fresh start ~0.7 s faster.
            "grpc.client.initialBackOff": 0.05,
            "grpc.client.maxBackoff": 1,
            "grpc.client.maxMaxAttempts": 20,
            # The query coordinator's checkers and distribution pulls tick every 0.5-1 s
            # by default; a load waits for several ticks, a release for one. At 200 ms an
            # empty collection loads in ~1.5 s instead of ~2.5 s and releases in 0.4 s
            # instead of 1 s (each server test creates and loads its own collections).
            # A flush waits until the sealed segments' row allocations have expired (2 s by
            # default): 2.5 s per flush (pymilvus asks every 0.5 s), 1.0 s at 500 ms.
            # Safe on a server whose value never goes down across restarts (Milvus' own
            # warning): each test server keeps this one for its life.
            "dataCoord.segment.assignmentExpiration": 500,
            "queryCoord.checkInterval": 200,
            "queryCoord.distPullInterval": 200,
            "queryCoord.checkChannelInterval": 200,
            "queryCoord.checkSegmentInterval": 200,
            "queryCoord.leaderViewUpdateInterval": 0.2,
            # Not queryCoord.UpdateNextTargetInterval (30 s by default): at 0.5 s a new
            # collection loaded in ~1.9 s instead of ~2.9 s, but the coordinator then
            # refreshes every loaded collection twice a second, and a test server holding
            # 40 of them burned 30% of a core instead of 14%. Tried again with the suite
            # dropping what each test leaves: no faster overall (main part 21:22 vs 21:08),
            # reloads of collections re-indexed behind a store's back took 2-3x longer.
        }
        for component in (
            "rootCoord",
            "proxy",
            "queryCoord",
            "queryNode",
            "indexNode",
            "dataCoord",
            "dataNode",
        ):
            overrides[f"{component}.ip"] = _LOOPBACK
        self.config_path.write_text(set_yaml_values(text, overrides), encoding="utf-8")
        shutil.copyfile(pkg_data / "glog.conf", configs / "glog.conf")

    def _environment(self, bin_dir: Path) -> dict[str, str]:
        env = {k: os.environ[k] for k in _ENV_PASSTHROUGH if k in os.environ}
        env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
        env.update(
            {
                "MILVUSCONF": str(self.base_dir / "configs"),
                "ETCD_CONFIG_PATH": str(self.base_dir / "configs" / "etcd.yaml"),
                "METRICS_PORT": str(self._ports["metrics"]),
                "DEPLOY_MODE": "STANDALONE",
                "LD_LIBRARY_PATH": str(bin_dir),
            }
        )
        return env

    def _spawn(self, bin_dir: Path) -> None:
        # The alias names the server's flock'ed pid file: one per base_dir, so two servers
        # never share it (and one base_dir cannot be served twice).
        command = [str(bin_dir / "milvus"), "run", "standalone", "-alias", self._alias]
        if threading.current_thread() is threading.main_thread():
            # The kernel kills the server if the thread that started it dies (even by
            # SIGKILL, where atexit cannot run). Only from the main thread: a worker thread
            # ending would take the server with it.
            command = [*_pdeathsig_prefix(), *command]
        self._log_fh = self.log_path.open("ab")
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        self._log_fh.write(f"\n===== milvus-plugins: start {stamp} ports={self._ports}\n".encode())
        self._log_fh.flush()
        self._log_offset = self._log_fh.tell()
        try:
            proc = subprocess.Popen(
                command,
                cwd=self.base_dir,
                env=self._environment(bin_dir),
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
        _register(proc, self._alias)

    def _wait_ready(self, deadline: float) -> None:
        proc = self._proc
        assert proc is not None
        exited = "milvus exited during startup"
        # Wait for /healthz *and* for every port to be listened on by this process and by no
        # other one: Milvus logs a port it could not bind and carries on (without health, or
        # worse, next to somebody else's listener that clients would then reach).
        expected = {n: p for n, p in self._ports.items() if n in _LISTENED_PORTS}
        healthy = False
        suspects: dict[str, int] = {}
        while True:
            if _has_exited(proc):
                raise ServerStartError(exited)
            bound, foreign = _port_ownership(proc.pid, expected)
            clash = {n: p for n, p in foreign.items() if suspects.get(n) == p}
            if clash:
                raise _PortClash(f"another process listens on ports {clash}")
            suspects = foreign  # seen twice in a row before it counts
            healthy = healthy or _healthy(self._ports["metrics"])
            if healthy and len(bound) == len(expected) and not foreign:
                break
            if time.monotonic() >= deadline:
                if not healthy:
                    raise ServerStartError("milvus did not report healthy in time")
                missing = sorted(set(expected) - bound)
                raise ServerStartError(f"milvus does not listen on its {missing} ports")
            time.sleep(0.1)

        from pymilvus import MilvusClient

        last: BaseException | None = None
        while True:
            if _has_exited(proc):
                raise ServerStartError(exited)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ServerStartError(f"no client could list collections in time: {last!r}")
            try:
                client = MilvusClient(uri=self.uri, token=self.token, timeout=min(10, remaining))
                try:
                    client.list_collections(timeout=min(10, remaining))
                finally:
                    client.close()
                return
            except Exception as exc:  # not ready yet
                last = exc
                time.sleep(0.2)

    def _abort(self) -> int | None:
        """Kill a server that failed to start; its exit code if it had exited by itself."""
        code: int | None = None
        if self._proc is not None:
            proc = self._proc
            exited_alone = _has_exited(proc)
            _kill(proc)
            code = proc.returncode if exited_alone else None
        self._forget()
        return code

    def _reap(self) -> None:
        """Forget a process that died on its own (reaped, unregistered)."""
        if self._proc is not None and _has_exited(self._proc):
            _kill(self._proc)
            self._forget()

    def _forget(self) -> None:
        if self._proc is not None:
            _unregister(self._proc)
            _remove_runtime_files(self._proc.pid, self._alias)
        self._proc = None
        self._close_log()

    def _close_log(self) -> None:
        if self._log_fh is not None:
            with contextlib.suppress(OSError):
                self._log_fh.close()
        self._log_fh = None
