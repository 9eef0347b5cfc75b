"""Throwaway PostgreSQL databases for tests and benchmarks."""

import uuid

import sqlalchemy as sa


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
