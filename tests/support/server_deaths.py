"""When a session Milvus 2.3.5 server dies in the middle of a run: say why, start it again.

Each ``make test`` worker runs its tests against one Milvus 2.3.5 server of its own. On a
CI machine (2026-12-06) three such servers stopped in the middle of the run: every later
test of those workers failed to connect (43 failures and 152 errors), and the run said
nothing about why, because the server's log lived in a temporary directory that went with
the machine. One way a server stops by itself is known and was reproduced here: its
components hold etcd leases of ``common.session.ttl`` seconds; a server that gets no
CPU for longer than that (SIGSTOPped for 80 s with a 60 s TTL) finds its leases gone
when it runs again and stops itself (log: "requested lease not found", then
"Get signal to exit" and a panic on the cancelled context).

:func:`describe_death` writes what is known of the death (exit status, when, memory and
disk left, the end of the server's log) and :func:`revive` starts the server again on
the same data directory and ports. ``tests/conftest.py`` does both after each test that
may use the server (and before the next one, for a death no such test saw); a test that
failed while it died is run once more (pytest-rerunfailures: an ``R`` in the progress
line, ``rerun`` in the summary). A test that kills the server itself fails again on its
rerun, so a crash the code under test causes is still a failure. ``make test`` prints
each death's file.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from tests.support.milvus_server import MilvusServer, wait_for_loaded

INCIDENT_DIR_ENV = "MILVUS_PLUGINS_INCIDENT_DIR"
# The session servers' ``common.session.ttl`` (default 180 s; the revival test sets less:
# a SIGKILLed server's successor can make no collection until the TTL has passed).
SESSION_TTL_ENV = "MILVUS_PLUGINS_SESSION_TTL"
# Deaths a process revives from; after that a dead server stays dead and its tests fail.
MAX_REVIVALS = 3
LOG_LINES = 40
_PROBE = "milvus_plugins_revival_probe"

_revivals: list[str] = []  # what each revival of this process was for


def _meminfo() -> str:
    try:
        lines = Path("/proc/meminfo").read_text(encoding="ascii").splitlines()
    except OSError:
        return "unknown"
    wanted = {"MemTotal", "MemAvailable"}
    return ", ".join(
        line.split(None, 1)[0] + " " + line.split(None, 1)[1].strip()
        for line in lines
        if line.split(":", 1)[0] in wanted
    )


def _exit_status(server: MilvusServer) -> str:
    code = server.exit_code()
    if code is None:
        return "not running (exit status unknown)"
    if code < 0:
        return f"killed by signal {-code}"
    return f"exited with status {code}"


def describe_death(server: MilvusServer, when: str) -> str:
    """A report of a session server found dead ``when`` (e.g. "during tests/x.py::t")."""
    try:
        load = " ".join(Path("/proc/loadavg").read_text(encoding="ascii").split()[:3])
    except OSError:
        load = "unknown"
    try:
        free = shutil.disk_usage(server.base_dir).free // 2**20
        disk = f"{free} MiB free"
    except OSError:
        disk = "unknown"
    return "\n".join(
        [
            f"session Milvus 2.3.5 server {server.uri} found dead {when}",
            f"  process: {_exit_status(server)}; found at {time.strftime('%H:%M:%S')}",
            f"  memory: {_meminfo()}; load average: {load}; disk at {server.base_dir}: {disk}",
            f"  session TTL: {server.session_ttl_seconds} s (a stall longer than this stops it)",
            f"--- the end of {server.log_path} ---",
            server.log_tail(LOG_LINES),
        ]
    )


def revive(server: MilvusServer, when: str, role: str) -> bool:
    """Write why ``server`` died to the incident directory and start it again.

    Returns False, reviving nothing, when this process has revived :data:`MAX_REVIVALS`
    times already or the server is running. A server that fails to start again raises
    :class:`~tests.support.milvus_server.ServerStartError` (its log tail included).
    """
    if server.is_running or len(_revivals) >= MAX_REVIVALS:
        return False
    report = describe_death(server, when)
    directory = Path(os.environ.get(INCIDENT_DIR_ENV, ".test-incidents"))
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"server-died-{role}-{os.getpid()}-{len(_revivals) + 1}.txt"
    path.write_text(report + "\n", encoding="utf-8")
    _revivals.append(when)
    started = time.monotonic()
    # A crashed server's sessions stay in etcd until their TTL ends; its successor waits
    # for them, so the start may take that long on top of an ordinary start.
    server.start(timeout=server.session_ttl_seconds + 120)
    _wait_for_ddl(server)
    reloaded = _wait_for_reloads(server)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(
            f"--- started again in {time.monotonic() - started:.1f} s"
            f" ({reloaded} loaded collections back) ---\n"
        )
    return True


def _wait_for_ddl(server: MilvusServer) -> None:
    """Wait until the server can create and drop a collection. After a SIGKILL the dead
    process' sessions stay in etcd until their TTL ends, and until then every DDL fails
    ("InvalidateCollectionMetaCache failed ... node not match": the root coordinator
    still tells the dead proxy), though the server reports healthy."""
    deadline = time.monotonic() + server.session_ttl_seconds + 60
    client = server.client(dedicated=True)
    try:
        while True:
            try:
                client.create_collection(_PROBE, dimension=2, timeout=10)
                client.drop_collection(_PROBE, timeout=10)
                return
            except Exception:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(1)
    finally:
        client.close()


def _wait_for_reloads(server: MilvusServer) -> int:
    """Wait until the server has loaded again what was loaded when it died (it reports
    healthy first); a module's fixture may hold such a collection. How many there were."""
    from pymilvus import MilvusClient

    count = 0
    admin = server.client(dedicated=True)
    try:
        databases = admin.list_databases()
    finally:
        admin.close()
    for db in databases:
        client = MilvusClient(uri=server.uri, token=server.token, db_name=db, dedicated=True)
        try:
            for name in client.list_collections():
                state = client.get_load_state(name)["state"]
                if getattr(state, "name", None) in ("Loading", "Loaded"):
                    wait_for_loaded(client, name)
                    count += 1
        finally:
            client.close()
    return count


def revivals() -> list[str]:
    """What each revival of this process was for (for tests)."""
    return list(_revivals)
