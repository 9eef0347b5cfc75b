import ipaddress
import os
import socket
from collections.abc import Iterator

import dagster as dg
import pytest
import sqlalchemy as sa

from sugars_dagster.warehouse.resource import Warehouse
from sugars_dagster_tests.pg import create_database, drop_database

POSTGRES_URL_ENV = "SUGARS_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


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


def postgres_server_url() -> str:
    """The maintenance URL of the test server, or skip (fail in CI) when none answers."""
    url = os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL)
    engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as error:
        reason = f"no PostgreSQL at {sa.make_url(url).render_as_string(hide_password=True)} ({error.orig})"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the PostgreSQL tests")
        pytest.skip(f"{reason}; set {POSTGRES_URL_ENV} to run the PostgreSQL tests")
    finally:
        engine.dispose()
    return url


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
