import datetime as dt
import ipaddress
import os
import socket
from collections.abc import Callable, Iterator
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
import time_machine
from hypothesis import settings as hypothesis_settings

from sugars_dagster.warehouse.resource import Warehouse
from sugars_dagster_tests.support.pg import create_database, drop_database, postgres_server_url


def _is_local(address: object) -> bool:
    if not isinstance(address, tuple):  # unix sockets
        return True
    host = str(address[0])
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# Time is an input: `SUGARS_TEST_CLOCK=2027-01-01T01:00 scripts/test -m clock` runs the tests
# marked `clock` (schedules, sensors, freshness, partitions, the calendar) as if the machine's
# clock read that moment (naive: Asia/Shanghai), ticking on from there; each test still sets the
# moments it is about. CI runs them at each clock in scripts/test-clocks.txt.
AMBIENT_CLOCK_ENV = "SUGARS_TEST_CLOCK"

# Property-based tests: a full run by default, a lighter one for each clock of the matrix.
hypothesis_settings.register_profile("default", max_examples=100, deadline=None)
hypothesis_settings.register_profile("clock-matrix", max_examples=15, deadline=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _as_moment(value: str | dt.datetime) -> dt.datetime:
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def ambient_clock(request: pytest.FixtureRequest) -> Iterator[None]:
    raw = os.environ.get(AMBIENT_CLOCK_ENV, "").strip()
    if not raw or request.node.get_closest_marker("clock") is None:
        yield
        return
    with time_machine.travel(_as_moment(raw), tick=True):
        yield


@pytest.fixture
def move_clock() -> Iterator[Callable[[str | dt.datetime], dt.datetime]]:
    """`move_clock(moment)` stops Python's and Dagster's clocks at `moment` (naive: Asia/Shanghai)
    until the next call or the end of the test; returns the moment, aware."""
    travels: list[time_machine.travel] = []

    def move(value: str | dt.datetime) -> dt.datetime:
        moment = _as_moment(value)
        while travels:
            travels.pop().stop()
        travel = time_machine.travel(moment, tick=False)
        travel.start()
        travels.append(travel)
        return moment

    yield move
    while travels:
        travels.pop().stop()


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach beyond this machine: Python-level connections are loopback only."""
    real_connect = socket.socket.connect

    def guarded_connect(self: socket.socket, address: object) -> None:
        if not _is_local(address):
            raise ConnectionRefusedError(f"test tried to reach the network: {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.ephemeral() as ephemeral:
        yield ephemeral


@pytest.fixture
def stored_instance(tmp_path) -> Iterator[dg.DagsterInstance]:
    """An instance on disk, as the daemon's and the code server's are: it has schedule storage
    and can be referenced from a schedule's context (the ephemeral one can do neither)."""
    with dg.DagsterInstance.local_temp(str(tmp_path)) as local:
        yield local


@pytest.fixture
def sqlite_warehouse(tmp_path) -> Warehouse:
    return Warehouse(url=f"sqlite:///{tmp_path / 'warehouse.sqlite'}")


def _fresh_database() -> Iterator[str]:
    server_url = postgres_server_url()
    url = create_database(server_url)
    try:
        yield url
    finally:
        Warehouse(url=url).engine().dispose()
        drop_database(server_url, url)


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """URL of a fresh database, dropped after the test."""
    yield from _fresh_database()


@pytest.fixture
def postgres_database_2() -> Iterator[str]:
    """A second fresh database, for tests that keep Dagster's storage apart from the warehouse."""
    yield from _fresh_database()


@pytest.fixture
def postgres_warehouse(postgres_database: str) -> Warehouse:
    return Warehouse(url=postgres_database)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouse(request: pytest.FixtureRequest) -> Warehouse:
    """The same test against a SQLite file and a real PostgreSQL database."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_warehouse")
    return request.getfixturevalue("postgres_warehouse")


# --- several workers (scripts/test runs the suite with pytest-xdist) ---------------------------

# Modules whose tests share one started product (a module-scoped fixture) and run in their order:
# each goes to a single worker, whole. Every other test is scheduled on its own.
ONE_WORKER_MODULES = {
    "sugars_dagster_tests/processes/test_production.py",
    "sugars_dagster_tests/processes/test_readme_commands.py",
}
# Folders whose tests start real processes and take minutes: collected first, so that on several
# workers the long tests start at once and the short ones fill the gaps, instead of a long test
# starting last and running alone.
LONG_FIRST = ("sugars_dagster_tests/reliability/", "sugars_dagster_tests/processes/")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return next((i for i, folder in enumerate(LONG_FIRST) if path.startswith(folder)), len(LONG_FIRST))

    items.sort(key=rank)  # stable: the order within each folder is kept


# pytest-xdist's own way to keep tests together (`--dist loadgroup`) renames node ids, which
# pytest 9.2 no longer reads, so it groups nothing; this scheduler (xdist's documented hook, with
# its load-scope scheduler's `_split_scope` overridden) keeps the modules above together instead.
@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    from xdist.scheduler import LoadScopeScheduling

    class OneWorkerModules(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if module in ONE_WORKER_MODULES else nodeid

    return OneWorkerModules(config, log)
