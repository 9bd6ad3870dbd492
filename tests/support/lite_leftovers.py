"""Stop the Milvus Lite 3 servers a finished test left running in this process.

Milvus Lite 3 serves each database from gRPC threads inside the process that opened it,
until someone releases it. A store stops the server it started when it is closed, but a
raw ``MilvusClient`` never does, and a store that finds a server already running (one a
raw client started) leaves it alone. Tests open raw clients on their Lite files all the
time (to look behind a store's back, to tidy up), so one worker process of ``make test``
ended with servers for most of the hundreds of databases its tests had made: measured
after 145 Lite tests in one process, 99 servers and 217 threads still running. Each idle
server wakes its threads now and then, so a worker late in the run shared its CPU and GIL
with over a thousand of them; in one CI run a new database's server could not answer its
first call within the 30 s connect timeout.

A test's own temporary directory (``tmp_path``) dies with it, so every server of a
database inside it is stopped after the test's teardown. Databases of module or session
fixtures live elsewhere and are left alone.
"""

from __future__ import annotations

import os
from pathlib import Path

from milvus_plugins.core import lite


def running_lite_databases() -> list[str]:
    """The paths of the databases Milvus Lite 3 serves in this process."""
    from milvus_lite.server_manager import server_manager_instance

    return list(getattr(server_manager_instance, "_servers", {}))


def stop_lite_servers_under(directory: Path) -> list[str]:
    """Stop every Milvus Lite 3 server of this process whose database lies inside
    ``directory``; the paths stopped.

    The stop is the package's own (calls in flight finish, then the database closes and
    the worker pool is shut down), and pymilvus forgets the schemas it cached for the
    server's port, which a later server may be given.
    """
    root = os.path.join(os.path.abspath(directory), "")
    stopped: list[str] = []
    for path in running_lite_databases():
        if not path.startswith(root):
            continue
        entry = lite._served(path)  # (server, database, port)
        port = entry[2] if len(entry) > 2 else None
        lite._stop(path)
        if port is not None:
            lite.forget_cached_schemas(f"http://127.0.0.1:{port}")
        stopped.append(path)
    return stopped
