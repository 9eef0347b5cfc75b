"""The test PostgreSQL server, and throwaway databases on it, for tests and benchmarks."""

import os
import uuid

import pytest
import sqlalchemy as sa

POSTGRES_URL_ENV = "SUGARS_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


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


def _run_ddl(server_url: str, statement: str) -> None:
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(statement))
    finally:
        engine.dispose()


def create_database(server_url: str, prefix: str = "sugars_test") -> str:
    """Create an empty database on the server; returns its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"  # generated here, never user input
    _run_ddl(server_url, f'CREATE DATABASE "{name}"')
    return sa.make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, database_url: str) -> None:
    name = sa.make_url(database_url).database
    _run_ddl(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
