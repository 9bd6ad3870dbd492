"""Shared fixtures: Milvus Lite in a temp dir, one real Milvus 2.3.5 server per session, and
one Milvus Lite 2.5.1 (C++ engine) TCP server per session.

``backend_uri`` is parametrised over the three engines, so a scenario written once runs
with the same assertions on Milvus Lite 3, on the 2.3.5 server and on Milvus Lite 2.5.1.
Server tests are marked ``server``, Milvus Lite 2.5.1 tests ``lite25``; they skip only
where the binary cannot run (not Linux x86_64, or its venv cannot be built).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from pymilvus import MilvusClient
from pymilvus.settings import Config as PymilvusConfig
from tests.support.file_durations import load as load_durations
from tests.support.file_durations import order_key
from tests.support.hang_watchdog import arm as arm_hang_watchdog
from tests.support.lite25_server import Lite25Server, with_fresh_client
from tests.support.lite_leftovers import stop_lite_servers_under
from tests.support.milvus_server import MilvusServer, ServerUnavailable, server_available
from tests.support.server_deaths import SESSION_TTL_ENV, revive

# Hypothesis' own clock: its input-generation health check and its per-example deadline
# (200 ms) judge the machine, not the code, and failed tests on a loaded 2-core run.
settings.register_profile("suite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suite")

# pymilvus polls a collection's load progress every 0.2 s (its own setting): a load the
# server finishes just after a poll waited up to 0.2 s more. The suite makes hundreds of
# loads on the test server; 0.05 s polls cost a cheap RPC each.
PymilvusConfig.WaitTimeDurationWhenLoad = 0.05


def pytest_configure(config: pytest.Config) -> None:
    """Arm this process' hang watchdog (``make test`` sets its limit; see hang_watchdog)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    controller = not worker and bool(getattr(config.option, "numprocesses", None))
    arm_hang_watchdog(worker or ("controller" if controller else "session"))


@pytest.fixture
def lite_uri(tmp_path: Path) -> str:
    """A Milvus Lite database path inside the test's temp dir."""
    return str(tmp_path / "milvus.db")


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MilvusServer]:
    """One real Milvus 2.3.5 standalone server for the whole session (127.0.0.1 only)."""
    ok, reason = server_available()
    if not ok:
        pytest.skip(f"the Milvus 2.3.5 server cannot run here: {reason}")
    # A long session TTL: with the default 10 s the server stopped itself (SIGINT from its
    # own session watchdog) when its embedded etcd stalled for ~6 s on a loaded 2-core
    # machine during two clean-clone runs; with 60 s, three servers stopped in one CI run
    # (cause not recorded). A server that gets no CPU for longer than its TTL stops itself
    # (seen with SIGSTOP: 80 s stops one of 60 s); one that dies anyway is started again
    # and the test it took down runs once more (tests/support/server_deaths.py).
    ttl = int(os.environ.get(SESSION_TTL_ENV, "180"))
    server = MilvusServer(tmp_path_factory.mktemp("milvus-server"), session_ttl_seconds=ttl)
    server.start()
    _session_servers.append(server)
    try:
        yield server
    finally:
        _session_servers.remove(server)
        _close_clients(server.uri)
        server.stop()


@pytest.fixture(scope="session")
def lite25_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lite25Server]:
    """One Milvus Lite 2.5.1 TCP server (127.0.0.1, its own venv) for the whole session."""
    server = Lite25Server(tmp_path_factory.mktemp("milvus-lite25"))
    try:
        server.start()
    except ServerUnavailable as exc:
        pytest.skip(f"Milvus Lite 2.5.1 cannot run here: {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def server_uri(milvus_server: MilvusServer) -> str:
    """The running session server's URI."""
    return milvus_server.uri


@pytest.fixture
def collection_name() -> str:
    """A collection name unique to the test (server collections outlive a test)."""
    return f"t_{uuid.uuid4().hex[:12]}"


@pytest.fixture(
    params=[
        "lite",
        pytest.param("server", marks=pytest.mark.server),
        pytest.param("lite25", marks=pytest.mark.lite25),
    ]
)
def backend_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URI of each engine in turn: a fresh Lite file, the 2.3.5 server, Lite 2.5.1."""
    if request.param == "lite":
        return str(tmp_path / "milvus.db")
    if request.param == "lite25":
        lite25: Lite25Server = request.getfixturevalue("lite25_server")
        return lite25.uri
    server: MilvusServer = request.getfixturevalue("milvus_server")
    return server.uri


@pytest.fixture
def uri(backend_uri: str, collection_name: str) -> Iterator[str]:
    """The backend's uri; every collection named ``<collection_name>*`` is dropped afterwards
    (on a server: a Lite file goes with the test's temporary directory, and its server is
    stopped after the test, see ``pytest_runtest_teardown``)."""
    yield backend_uri
    if "://" not in backend_uri:
        return

    def tidy(client: MilvusClient) -> None:
        for name in client.list_collections():
            if name.startswith(collection_name):
                client.drop_collection(name)

    with_fresh_client(backend_uri, tidy)  # Lite 2.5.1's GOAWAY (see below): once more


# This process' session 2.3.5 servers, which ``pytest_runtest_teardown`` keeps tidy: many
# tests make collections there without the ``uri`` fixture and leave them, and each
# loaded collection costs the server CPU while it sits idle (measured on one server:
# 4.5% of a core with none, 29.7% with 40 small loaded ones, 6.5% after dropping them).
# With a server per worker on a 2-core machine, that idle work slowed the whole run.
_session_servers: list[MilvusServer] = []
# What the server held when the running test's call began (by server URI).
_held_before_call: dict[str, set[tuple[str, str]]] = {}


def _held(uri: str) -> set[tuple[str, str]]:
    """Every (database, collection) on the server at ``uri``."""
    held: set[tuple[str, str]] = set()
    for db in _client(uri, "default").list_databases():
        held.update((db, name) for name in _client(uri, db).list_collections())
    return held


# The tidying clients, one per (server URI, database) (pymilvus 3's ``use_database`` asks
# 2.3.5 for an RPC it lacks, DescribeDatabase), each on its own connection.
_tidy_clients: dict[tuple[str, str], MilvusClient] = {}


def _client(uri: str, db: str) -> MilvusClient:
    client = _tidy_clients.get((uri, db))
    if client is None:
        client = _tidy_clients[uri, db] = MilvusClient(uri=uri, db_name=db, dedicated=True)
    return client


def _close_clients(uri: str, db: str | None = None) -> None:
    """Close the tidying clients of ``uri`` (of its database ``db`` only, when given)."""
    for key in [key for key in _tidy_clients if key[0] == uri and db in (None, key[1])]:
        _tidy_clients.pop(key).close()


def _drop(uri: str, names: set[tuple[str, str]]) -> None:
    for db, name in sorted(names):
        _client(uri, db).drop_collection(name)


def _uses_session_server(item: pytest.Item) -> bool:
    """Whether the test asked for the session server, by name or through ``backend_uri``."""
    request = getattr(item, "_request", None)  # its fixtures, those asked for by name too
    names = request.fixturenames if request is not None else getattr(item, "fixturenames", ())
    return bool(_session_servers) and "milvus_server" in names


def _revive_dead_servers(when: str) -> bool:
    """Start this process' dead session servers again (the death reported to
    ``$MILVUS_PLUGINS_INCIDENT_DIR``); whether one was."""
    revived = False
    for server in _session_servers:
        if not server.is_running:
            old = server.uri
            _close_clients(old)
            _held_before_call.pop(old, None)
            role = os.environ.get("PYTEST_XDIST_WORKER", "session")
            revived = revive(server, when, role) or revived
    return revived


def _rerun_if_a_server_died(nodeid: str) -> Callable[[BaseException | None], bool]:
    """The rerun condition of ``nodeid``: pytest-rerunfailures asks it after each attempt
    (reruns only a failed one), so a death is found, and the server started again, right
    after the test it happened in."""

    def condition(error: BaseException | None = None) -> bool:
        return _revive_dead_servers(f"while {nodeid} ran")

    return condition


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Start a session server that died between tests again before the next test."""
    if _session_servers:
        _revive_dead_servers(f"before {item.nodeid} (it died between tests)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Note what the session server held before a test that uses it runs."""
    if _uses_session_server(item):
        for server in _session_servers:
            if server.is_running:
                _held_before_call[server.uri] = _held(server.uri)
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Drop what a test made on the session server once the test is done, and stop the
    Milvus Lite 3 servers of the databases in its temporary directory
    (``tests/support/lite_leftovers.py``).

    After each test: the collections its call made (those its fixtures made may belong to
    a module fixture that later tests share). After a file's last test: every collection,
    and every database but the default one (workers take whole files, one at a time).
    """
    own_dir = getattr(item, "funcargs", {}).get("tmp_path")
    yield
    if isinstance(own_dir, Path):
        stop_lite_servers_under(own_dir)
    last_of_file = nextitem is None or nextitem.path != item.path
    if not _session_servers or not (last_of_file or _held_before_call):
        return
    for server in _session_servers:
        uri = server.uri
        if not server.is_running:  # the rerun condition or the next setup starts it
            _held_before_call.pop(uri, None)
            continue
        before = _held_before_call.pop(uri, None)
        if not last_of_file:
            if before is not None:
                _drop(uri, _held(uri) - before)
            continue
        _drop(uri, _held(uri))
        client = _client(uri, "default")
        for db in client.list_databases():
            if db != "default":
                _close_clients(uri, db)
                client.drop_database(db)


SERVER_CASES_ENV = "MP_SERVER_CASES"
"""``make test`` sets it to 1: a test function swept over five or more values on the 2.3.5
server runs only its first value there, every value on Milvus Lite 3 and Lite 2.5.1 (the
other engine whose numbers are not exact). Unset (plain ``pytest``, ``make test-full``):
every case. Functions with fewer cases there (kinds of scenario, not values) run whole."""

_SWEEP = 5
"""Server cases from which a test function counts as a value sweep."""


def _server_case(item: pytest.Item) -> bool:
    """Whether ``item`` is a case of a test on the session 2.3.5 server."""
    callspec = getattr(item, "callspec", None)
    return callspec is not None and "server" in str(callspec.id).split("-")


def thin_server_cases(items: list[pytest.Item], keep: int) -> list[pytest.Item]:
    """The items to leave out: of each test function with ``_SWEEP`` or more cases on the
    2.3.5 server, those after its first ``keep`` (in collection order, which is the
    parameters' order, so the same ones every run)."""
    groups: dict[tuple[str, str], list[pytest.Item]] = {}
    for item in items:
        if _server_case(item):
            key = (str(item.path), getattr(item, "originalname", item.name))
            groups.setdefault(key, []).append(item)
    return [item for cases in groups.values() if len(cases) >= _SWEEP for item in cases[keep:]]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the Milvus Lite 2.5.1 tests one after another, at the end of the session.

    Its gRPC server answers the client's keepalive pings on an idle connection with
    GOAWAY "too many pings" after about 30 s, and pymilvus shares one connection per
    address between clients: interleaved with the other engines' tests, the shared
    connection sat idle long enough for the next call on it to fail. Back to back, it
    stays busy.

    Within each group, files run longest first (``tests/file_durations.json``, see
    ``tests/support/file_durations.py``), so that ``make test``'s workers, which take
    whole files as they run low (``--dist loadfile --no-loadscope-reorder``), end on
    short files. The order of the tests within a file is kept.

    Every test that may use the session 2.3.5 server is run once more if it failed while
    that server died (``_rerun_if_a_server_died``; pytest-rerunfailures' ``flaky``).

    With ``MP_SERVER_CASES`` set (``make test``), value matrices are thinned on the 2.3.5
    server (``thin_server_cases``).
    """
    keep = os.environ.get(SERVER_CASES_ENV, "")
    if keep.isdigit():
        dropped = set(thin_server_cases(items, int(keep)))
        if dropped:
            config.hook.pytest_deselected(items=[i for i in items if i in dropped])
            items[:] = [i for i in items if i not in dropped]
    for item in items:
        if item.get_closest_marker("server") is not None or "milvus_server" in getattr(
            item, "fixturenames", ()
        ):
            item.add_marker(
                pytest.mark.flaky(reruns=1, condition=_rerun_if_a_server_died(item.nodeid))
            )
    longest_first = order_key(load_durations())
    items.sort(
        key=lambda item: (
            item.get_closest_marker("lite25") is not None,
            longest_first(item.nodeid.split("::", 1)[0]),
        )
    )
