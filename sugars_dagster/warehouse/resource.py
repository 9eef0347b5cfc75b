"""The warehouse resource: one class, a SQLite file on a laptop or PostgreSQL in production."""

import datetime as dt
import functools
from collections.abc import Iterator, Sequence
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
from sugars_dagster.warehouse.schema_check import add_columns, check_existing_table
from sugars_dagster.warehouse.tables import (
    MARGIN_DECIMALS,
    MARKET_DAILY_CONTRACT,
    MARKET_DAILY_DECIMALS,
    MARKET_DAILY_EXTRAS,
    RAW_TABLES,
    market_daily,
    metadata,
    raw_trading_calendar,
    sugar_import_margin,
)
from sugars_dagster.warehouse.window_write import WriteCounts, replace_window

_ANY_TYPE = (sa.types.TypeEngine,)
_POLARS_TYPES: dict[type, Any] = {
    sa.Date: pl.Date,
    sa.Float: pl.Float64,
    sa.String: pl.String,
    sa.Boolean: pl.Boolean,
    sa.DateTime: pl.Datetime(time_zone="UTC"),
}


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


# Seconds a PostgreSQL connection attempt may take (psycopg 3 and psycopg2 both read it). Without
# it, a host that accepts the TCP connection but never answers (a dead server behind a proxy, a
# black-holed route) holds a step for minutes; with it, the step fails in seconds and its retry
# policy takes over.
_CONNECT_TIMEOUT_SECONDS = 10


def _postgres_engine(url: str) -> sa.Engine:
    parsed = sa.make_url(url)
    # A connect_timeout written in the URL is the operator's choice; keep it.
    connect_args = {} if "connect_timeout" in parsed.query else {"connect_timeout": _CONNECT_TIMEOUT_SECONDS}
    engine = sa.create_engine(url, pool_pre_ping=True, connect_args=connect_args)
    where = _server_address(parsed)

    # The driver's own message ("connection timeout expired") says neither which server nor which
    # database. The error keeps its type, so it stays a retriable database error for the step.
    @sa.event.listens_for(engine, "handle_error")
    def _name_the_server(context: sa.engine.ExceptionContext) -> None:
        connecting = context.connection is None and not context.is_pre_ping
        if connecting and isinstance(context.sqlalchemy_exception, sa.exc.OperationalError):
            context.sqlalchemy_exception.add_detail(f"cannot connect to the warehouse at {where}")

    return engine


def _server_address(url: sa.URL) -> str:
    """host:port and database, never the password (the URL may carry one)."""
    return f"{url.host or 'localhost'}:{url.port or 5432}, database '{url.database}'"


@functools.cache
def _engine(url: str) -> sa.Engine:
    backend = sa.make_url(url).get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url)
    if backend == "postgresql":
        return _postgres_engine(url)
    return sa.create_engine(url, pool_pre_ping=True)


def _frame(rows: list[Any], schema: dict[str, Any]) -> pl.DataFrame:
    # Not strict: an older table may hand back integers or decimals for float columns.
    return pl.DataFrame([tuple(row) for row in rows], schema=schema, orient="row", strict=False)


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
        for table in [*RAW_TABLES.values(), raw_trading_calendar, sugar_import_margin]:
            check_existing_table(
                inspector,
                table,
                {column.name: _ANY_TYPE for column in table.columns if not column.nullable},
                primary_key=[column.name for column in table.primary_key],
            )
        columns = check_existing_table(inspector, market_daily, MARKET_DAILY_CONTRACT, ["record_date"])
        missing = [column for column in market_daily.columns if column.name not in columns]
        if missing:
            # An older table (the previous service's) lacks the provenance columns: add them,
            # nullable, which the API's queries do not notice.
            with self._writing() as conn:
                add_columns(conn, market_daily, missing)
            columns = check_existing_table(sa.inspect(engine), market_daily, MARKET_DAILY_CONTRACT, ["record_date"])
        return columns

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

    def land_trading_days(self, provider: str, days: Sequence[dt.date], run_id: str, now: dt.datetime) -> dict[str, int]:
        """Replace the provider's landed calendar with `days` (checked by the caller), in one
        transaction; returns the days added and removed."""
        self.prepare()
        table = raw_trading_calendar
        with self._writing() as conn:
            stored = set(conn.execute(sa.select(table.c.trade_date).where(table.c.provider == provider)).scalars())
            received = set(days)
            added, removed = sorted(received - stored), sorted(stored - received)
            if removed:
                conn.execute(sa.delete(table).where(table.c.provider == provider, table.c.trade_date.in_(removed)))
            if added:
                conn.execute(
                    sa.insert(table),
                    [{"provider": provider, "trade_date": day, "loaded_at": now, "run_id": run_id} for day in added],
                )
        return {"days_added": len(added), "days_removed": len(removed), "days_unchanged": len(received & stored)}

    def read_trading_days(self, provider: str) -> list[dt.date]:
        """The provider's landed trading days, oldest first (empty before its first landing)."""
        self.prepare()
        table = raw_trading_calendar
        query = sa.select(table.c.trade_date).where(table.c.provider == provider).order_by(table.c.trade_date)
        with self.engine().connect() as conn:
            return list(conn.execute(query).scalars())

    def read_series(
        self, series: Series, providers: Sequence[str], first: dt.date, last: dt.date
    ) -> pl.DataFrame:
        """`trade_date`, the value columns and `provider`: per day, the row of the first provider
        in `providers` that has one (a fallback's rows fill only the days the preferred lacks)."""
        self.prepare()
        table = RAW_TABLES[series]
        names = ["trade_date", *(column.name for column in SERIES_COLUMNS[series]), "provider"]
        query = sa.select(*(table.c[name] for name in names)).where(
            table.c.provider.in_(list(providers)), table.c.trade_date.between(first, last)
        )
        with self.engine().connect() as conn:
            rows = conn.execute(query).all()
        schema: dict[str, Any] = {"trade_date": pl.Date}
        schema |= {c.name: pl.Int64 if c.integer else pl.Float64 for c in SERIES_COLUMNS[series]}
        schema["provider"] = pl.String
        rank = {provider: position for position, provider in enumerate(providers)}
        return (
            _frame(rows, schema)
            .with_columns(pl.col("provider").replace_strict(rank, return_dtype=pl.Int32).alias("_rank"))
            .sort("trade_date", "_rank")
            .unique("trade_date", keep="first", maintain_order=True)
            .drop("_rank")
        )

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
        in_window = market_daily.c.record_date.between(first, last)
        # A timestamp column without time zone gets UTC wall time, whatever the server's zone.
        keeps_zone = getattr(columns["updated_at"], "timezone", False)
        updated_at = now if keeps_zone else now.astimezone(dt.UTC).replace(tzinfo=None)
        with self._writing() as conn:
            if synthetic:
                self._refuse_to_overwrite_real_rows(conn, in_window, source_label)
            return replace_window(
                conn,
                market_daily,
                in_window,
                "record_date",
                frame.with_columns(pl.lit(source_label).alias("source")),
                compared=MARKET_DAILY_DECIMALS | MARKET_DAILY_EXTRAS,
                stamp={"updated_at": updated_at, "run_id": run_id},
            )

    def write_import_margin(
        self, frame: pl.DataFrame, first: dt.date, last: dt.date, *, run_id: str, now: dt.datetime
    ) -> WriteCounts:
        """Make `sugar_import_margin` rows for [first, last] equal `frame`, all or nothing."""
        self.prepare()
        compared = {
            column.name: MARGIN_DECIMALS.get(column.name)
            for column in sugar_import_margin.columns
            if column.name not in ("record_date", "updated_at", "run_id")
        }
        with self._writing() as conn:
            return replace_window(
                conn,
                sugar_import_margin,
                sugar_import_margin.c.record_date.between(first, last),
                "record_date",
                frame,
                compared=compared,
                stamp={"updated_at": now, "run_id": run_id},
            )

    @staticmethod
    def _refuse_to_overwrite_real_rows(
        conn: sa.Connection, in_window: sa.ColumnElement[bool], synthetic_label: str
    ) -> None:
        """Synthetic demo rows must never replace real ones (or rows of unknown origin)."""
        real = (
            sa.select(sa.func.count())
            .select_from(market_daily)
            .where(in_window, sa.or_(market_daily.c.source.is_(None), market_daily.c.source != synthetic_label))
        )
        count = conn.execute(real).scalar_one()
        if count:
            raise WriteRefusedError(
                f"refusing to write synthetic {synthetic_label} rows: market_daily already holds "
                f"{count} row(s) from a real or unknown source in this window; point "
                "SUGARS_WAREHOUSE_URL at another database for the demo"
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
        """Every column of `market_daily` for [first, last], oldest first."""
        return self._read_table(market_daily, first, last)

    def read_import_margin(self, first: dt.date, last: dt.date) -> pl.DataFrame:
        return self._read_table(sugar_import_margin, first, last)

    def _read_table(self, table: sa.Table, first: dt.date, last: dt.date) -> pl.DataFrame:
        self.prepare()
        query = sa.select(table).where(table.c.record_date.between(first, last)).order_by(table.c.record_date)
        with self.engine().connect() as conn:
            rows = conn.execute(query).all()
        return _frame(rows, {column.name: _POLARS_TYPES[type(column.type)] for column in table.columns})

    def duplicate_days(self, table_name: str, first: dt.date, last: dt.date) -> list[tuple[dt.date, int]]:
        """Days in [first, last] that appear more than once in a table keyed by `record_date`."""
        table = metadata.tables[table_name]
        query = (
            sa.select(table.c.record_date, sa.func.count())
            .where(table.c.record_date.between(first, last))
            .group_by(table.c.record_date)
            .having(sa.func.count() > 1)
        )
        with self.engine().connect() as conn:
            return [(row[0], row[1]) for row in conn.execute(query)]

    def delete_before(self, cutoff: dt.date) -> dict[str, int]:
        """Delete `market_daily` and `sugar_import_margin` rows dated before `cutoff`."""
        self.prepare()
        deleted = {}
        with self._writing() as conn:
            for table in (market_daily, sugar_import_margin):
                deleted[table.name] = conn.execute(sa.delete(table).where(table.c.record_date < cutoff)).rowcount
        return deleted
