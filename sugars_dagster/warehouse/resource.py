"""The warehouse resource: one class, a SQLite file on a laptop or PostgreSQL in production."""

import datetime as dt
import functools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
import sqlalchemy as sa
from pydantic import PrivateAttr

from sugars_dagster.errors import WriteRefusedError
from sugars_dagster.series import SERIES_COLUMNS, Series
from sugars_dagster.sources.base import SeriesFrame
from sugars_dagster.warehouse.schema_check import check_existing_table
from sugars_dagster.warehouse.tables import (
    MARKET_DAILY_CONTRACT,
    MARKET_DAILY_DECIMALS,
    MARKET_DAILY_PROVENANCE,
    RAW_TABLES,
    market_daily,
    metadata,
)
from sugars_dagster.warehouse.window_write import WriteCounts, replace_window

_ANY_TYPE = (sa.types.TypeEngine,)


# Names the warehouse's writer lock among PostgreSQL advisory locks ("SGDR"); any constant works.
_WRITER_LOCK_KEY = 0x53474452


def _sqlite_engine(url: str) -> sa.Engine:
    database = sa.make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    # Wait for a concurrent writer instead of failing with "database is locked".
    engine = sa.create_engine(url, connect_args={"timeout": 30})

    # pysqlite begins transactions lazily, so two writers can both read, then deadlock upgrading
    # their locks. Taking the write lock at BEGIN makes concurrent transactions queue instead.
    @sa.event.listens_for(engine, "connect")
    def _driver_autocommit(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @sa.event.listens_for(engine, "begin")
    def _begin_immediate(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


@functools.cache
def _engine(url: str) -> sa.Engine:
    if sa.make_url(url).get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    return sa.create_engine(url, pool_pre_ping=True)


def _frame(rows: list[Any], schema: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame([tuple(row) for row in rows], schema=schema, orient="row")


class Warehouse(dg.ConfigurableResource):
    """The market warehouse: SQLite file locally, PostgreSQL in production."""

    url: str
    _market_daily_columns: dict[str, sa.types.TypeEngine] | None = PrivateAttr(default=None)

    def engine(self) -> sa.Engine:
        return _engine(self.url)

    def prepare(self) -> dict[str, sa.types.TypeEngine]:
        """Create missing tables, check existing ones; returns the columns `market_daily` has.

        Every reading and writing method calls it; the work is done once per resource instance.
        """
        if self._market_daily_columns is None:
            self._market_daily_columns = self._create_and_check()
        return self._market_daily_columns

    @contextmanager
    def _writing(self) -> Iterator[sa.Connection]:
        """One transaction holding the warehouse's writer lock, so that concurrent runs (schedule,
        sensor, UI, CLI) write one after another and each sees what the previous one wrote."""
        with self.engine().begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_WRITER_LOCK_KEY)))
            # SQLite: BEGIN IMMEDIATE (see _sqlite_engine) already holds the database's write lock.
            yield conn

    def _create_and_check(self) -> dict[str, sa.types.TypeEngine]:
        engine = self.engine()
        if not all(sa.inspect(engine).has_table(table.name) for table in metadata.sorted_tables):
            # Under the writer lock, so that two first runs do not both create the tables.
            with self._writing() as conn:
                metadata.create_all(conn, checkfirst=True)
        inspector = sa.inspect(engine)
        for table in RAW_TABLES.values():
            check_existing_table(
                inspector,
                table,
                {column.name: _ANY_TYPE for column in table.columns},
                primary_key=["provider", "trade_date"],
            )
        return check_existing_table(inspector, market_daily, MARKET_DAILY_CONTRACT, ["record_date"])

    def land_series(self, fetched: SeriesFrame, run_id: str, now: dt.datetime) -> WriteCounts:
        """Mirror the fetched span of one provider's series into its raw table."""
        self.prepare()
        table = RAW_TABLES[fetched.series]
        frame = fetched.frame.with_columns(pl.lit(fetched.provider).alias("provider"))
        first, last = frame["trade_date"].min(), frame["trade_date"].max()
        with self._writing() as conn:
            return replace_window(
                conn,
                table,
                scope=sa.and_(
                    table.c.provider == fetched.provider, table.c.trade_date.between(first, last)
                ),
                key="trade_date",
                frame=frame,
                compared={column.name: column.decimals for column in SERIES_COLUMNS[fetched.series]},
                stamp={"loaded_at": now, "run_id": run_id},
            )

    def read_series(self, series: Series, provider: str, first: dt.date, last: dt.date) -> pl.DataFrame:
        self.prepare()
        table = RAW_TABLES[series]
        names = ["trade_date", *(column.name for column in SERIES_COLUMNS[series])]
        query = (
            sa.select(*(table.c[name] for name in names))
            .where(table.c.provider == provider, table.c.trade_date.between(first, last))
            .order_by(table.c.trade_date)
        )
        with self.engine().connect() as conn:
            rows = conn.execute(query).all()
        schema: dict[str, Any] = {"trade_date": pl.Date}
        schema |= {c.name: pl.Int64 if c.integer else pl.Float64 for c in SERIES_COLUMNS[series]}
        return _frame(rows, schema)

    def write_market_daily(
        self,
        frame: pl.DataFrame,
        first: dt.date,
        last: dt.date,
        *,
        source_label: str,
        synthetic: bool,
        run_id: str,
        now: dt.datetime,
    ) -> WriteCounts:
        """Make `market_daily` rows for [first, last] equal `frame`, all or nothing."""
        columns = self.prepare()
        provenance = [name for name in MARKET_DAILY_PROVENANCE if name in columns]
        frame = frame.with_columns(pl.lit(source_label).alias("source")) if "source" in provenance else frame
        in_window = market_daily.c.record_date.between(first, last)
        compared: dict[str, int | None] = dict(MARKET_DAILY_DECIMALS)
        if "source" in provenance:
            compared["source"] = None
        # A timestamp column without time zone gets UTC wall time, whatever the server's zone.
        keeps_zone = getattr(columns["updated_at"], "timezone", False)
        stamp: dict[str, Any] = {"updated_at": now if keeps_zone else now.astimezone(dt.UTC).replace(tzinfo=None)}
        if "run_id" in provenance:
            stamp["run_id"] = run_id
        with self._writing() as conn:
            if synthetic:
                self._refuse_to_overwrite_real_rows(conn, in_window, source_label, "source" in provenance)
            return replace_window(
                conn, market_daily, in_window, "record_date", frame, compared=compared, stamp=stamp
            )

    @staticmethod
    def _refuse_to_overwrite_real_rows(
        conn: sa.Connection, in_window: sa.ColumnElement[bool], synthetic_label: str, has_source: bool
    ) -> None:
        """Synthetic demo rows must never replace real ones (or rows of unknown origin)."""
        real = sa.select(sa.func.count()).select_from(market_daily).where(in_window)
        if has_source:
            real = real.where(
                sa.or_(market_daily.c.source.is_(None), market_daily.c.source != synthetic_label)
            )
        count = conn.execute(real).scalar_one()
        if count:
            raise WriteRefusedError(
                f"refusing to write synthetic {synthetic_label} rows: market_daily already holds "
                f"{count} row(s) from a real source in this window; point SUGARS_WAREHOUSE_URL at "
                "another database for the demo"
            )

    def market_daily_dates(self, first: dt.date, last: dt.date) -> set[dt.date]:
        """The days in [first, last] that have a `market_daily` row."""
        self.prepare()
        query = sa.select(market_daily.c.record_date).where(market_daily.c.record_date.between(first, last))
        with self.engine().connect() as conn:
            return set(conn.execute(query).scalars())

    def newest_market_day(self) -> dt.date | None:
        self.prepare()
        with self.engine().connect() as conn:
            return conn.execute(sa.select(sa.func.max(market_daily.c.record_date))).scalar_one()

    def read_market_daily(self, first: dt.date, last: dt.date) -> pl.DataFrame:
        names = ["record_date", *MARKET_DAILY_DECIMALS, "source", "run_id", "updated_at"]
        query = (
            sa.select(*(market_daily.c[name] for name in names))
            .where(market_daily.c.record_date.between(first, last))
            .order_by(market_daily.c.record_date)
        )
        with self.engine().connect() as conn:
            rows = conn.execute(query).all()
        schema: dict[str, Any] = {"record_date": pl.Date}
        schema |= {name: pl.Float64 for name in MARKET_DAILY_DECIMALS}
        schema |= {"source": pl.String, "run_id": pl.String, "updated_at": pl.Datetime(time_zone="UTC")}
        return _frame(rows, schema)
