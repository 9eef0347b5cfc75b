"""A warehouse server that never answers fails the step quickly, naming where it was looked for."""

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from sugars_dagster.defs.assets.step_policy import no_retry_for_lasting_errors
from sugars_dagster.warehouse.resource import Warehouse

FAIL_WITHIN_SECONDS = 15.0


@pytest.fixture
def blackhole_port() -> Iterator[int]:
    """A port that accepts TCP connections (the kernel completes the handshake) and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    try:
        yield server.getsockname()[1]
    finally:
        server.close()


def prepare_within(warehouse: Warehouse, seconds: float) -> tuple[BaseException | None, float]:
    """The error `prepare()` raised and how long it took; the test fails instead of hanging when
    no error comes within `seconds`."""
    outcome: dict[str, BaseException] = {}
    started = time.monotonic()

    def prepare() -> None:
        try:
            warehouse.prepare()
        except BaseException as error:  # handed to the test's thread below
            outcome["error"] = error

    worker = threading.Thread(target=prepare, daemon=True)
    worker.start()
    worker.join(seconds)
    elapsed = time.monotonic() - started
    if worker.is_alive():
        pytest.fail(f"Warehouse.prepare() against a silent server was still waiting after {elapsed:.0f} s")
    return outcome.get("error"), elapsed


@pytest.mark.parametrize("scheme", ["postgresql", "postgresql+psycopg", "postgresql+psycopg2"])
def test_a_silent_postgres_host_fails_fast_naming_host_port_and_database(blackhole_port: int, scheme: str) -> None:
    url = f"{scheme}://sugars:s3cret-pw@127.0.0.1:{blackhole_port}/market_warehouse"
    warehouse = Warehouse(url=url)
    try:
        error, elapsed = prepare_within(warehouse, FAIL_WITHIN_SECONDS + 5)
    finally:
        warehouse.engine().dispose()
    assert error is not None
    assert elapsed < FAIL_WITHIN_SECONDS
    message = str(error)
    assert f"127.0.0.1:{blackhole_port}" in message
    assert "market_warehouse" in message
    assert "s3cret-pw" not in message
    # Still a database error, which the step retry policy retries (the server may come back).
    assert isinstance(error, sa.exc.OperationalError)
    with pytest.raises(sa.exc.OperationalError), no_retry_for_lasting_errors():
        raise error


def test_a_connect_timeout_in_the_url_is_kept(blackhole_port: int) -> None:
    warehouse = Warehouse(url=f"postgresql://sugars@127.0.0.1:{blackhole_port}/market_warehouse?connect_timeout=2")
    try:
        error, elapsed = prepare_within(warehouse, FAIL_WITHIN_SECONDS + 5)
    finally:
        warehouse.engine().dispose()
    assert isinstance(error, sa.exc.OperationalError)
    assert elapsed < 6


def test_a_sqlite_warehouse_is_unaffected(tmp_path) -> None:
    warehouse = Warehouse(url=f"sqlite:///{tmp_path / 'warehouse.sqlite'}")
    assert "record_date" in warehouse.prepare()
    assert warehouse.newest_market_day() is None


def test_a_sqlite_file_that_cannot_be_opened_keeps_sqlites_own_error(tmp_path) -> None:
    (tmp_path / "a-directory.sqlite").mkdir()
    with pytest.raises(sa.exc.OperationalError, match="unable to open database file"):
        Warehouse(url=f"sqlite:///{tmp_path / 'a-directory.sqlite'}").prepare()
