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
from sugars_dagster.market.series import DEMO_LABEL, SERIES_COLUMNS, Series, SeriesFrame
from sugars_dagster.market.tables import MARKET_DAILY, SUGAR_IMPORT_MARGIN
from sugars_dagster.warehouse.schema_check import add_columns, check_existing_table
from sugars_dagster.warehouse.tables import (
    MARKET_DAILY_CONTRACT,
    RAW_TABLES,
    compared_columns,
    market_daily,
    metadata,
    raw_revisions,
    raw_trading_calendar,
    sugar_import_margin,
    warehouse_kind,
)
from sugars_dagster.warehouse.window_write import MergeCounts, WriteCounts, merge_rows, replace_window

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


_REAL, _SYNTHETIC = "real", "synthetic"

# Where a row names its origin, for a warehouse filled before its kind was recorded.
_ORIGIN_COLUMNS = [
    (market_daily.name, "source"),
    *((table.name, "provider") for table in [*RAW_TABLES.values(), raw_trading_calendar]),
]


def _kind_name(synthetic: bool) -> str:
    return _SYNTHETIC if synthetic else _REAL


def _held_kind(conn: sa.Connection) -> tuple[str, str] | None:
    """(kind, source label) of what the warehouse holds: its recorded claim, else what its rows
    say, else None (nothing written yet)."""
    inspector = sa.inspect(conn)
    if inspector.has_table(warehouse_kind.name):
        claimed = conn.execute(sa.select(warehouse_kind.c.kind, warehouse_kind.c.source)).first()
        if claimed:
            return claimed[0], claimed[1]
    return _kind_from_rows(conn, inspector)


def _kind_from_rows(conn: sa.Connection, inspector: sa.Inspector) -> tuple[str, str] | None:
    """Real as soon as one row came from anything but the demo, or from nobody knows where (an
    older service's rows): those are the rows a synthetic run must not sit beside."""
    demo_rows = False
    for table_name, column_name in _ORIGIN_COLUMNS:
        if not inspector.has_table(table_name):
            continue
        if column_name not in {column["name"] for column in inspector.get_columns(table_name)}:
            if conn.execute(sa.select(sa.literal(1)).select_from(sa.table(table_name)).limit(1)).first():
                return _REAL, "unknown source"
            continue
        origin = sa.table(table_name, sa.column(column_name)).c[column_name]
        is_demo = sa.or_(origin == DEMO_LABEL, origin.like(f"{DEMO_LABEL}:%"))
        other = conn.execute(sa.select(origin).where(sa.or_(origin.is_(None), sa.not_(is_demo))).limit(1)).first()
        if other:
            return _REAL, other[0] or "unknown source"
        demo_rows = demo_rows or conn.execute(sa.select(origin).limit(1)).first() is not None
    return (_SYNTHETIC, DEMO_LABEL) if demo_rows else None


def _refuse_other_kind(held: tuple[str, str] | None, source_label: str, synthetic: bool) -> None:
    if held is None or held[0] == _kind_name(synthetic):
        return
    holder = held[1]
    if synthetic:
        raise WriteRefusedError(
            f"this warehouse holds real market data ({holder}); the {source_label} source writes "
            "synthetic numbers, so nothing was fetched or written: point SUGARS_WAREHOUSE_URL at "
            "another database, e.g. the default sqlite:///data/warehouse.sqlite"
        )
    raise WriteRefusedError(
        f"this warehouse holds synthetic demo numbers ({holder}); the {source_label} source writes "
        "real market data, so nothing was fetched or written: point SUGARS_WAREHOUSE_URL at the "
        "real warehouse or at a new database, not at the demo's"
    )


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

    def check_kind(self, source_label: str, synthetic: bool) -> None:
        """Refuse a source whose kind (synthetic or real) differs from what the warehouse holds.
        Reads only: call it before fetching; `claim_kind` records the kind at the first write, so
        a run that fails before writing anything claims nothing. Existing tables are checked
        against their contract here too, so an incompatible one stops the run before a fetch."""
        self._check_existing_tables(sa.inspect(self.engine()))
        with self.engine().connect() as conn:
            _refuse_other_kind(_held_kind(conn), source_label, synthetic)

    def claim_kind(self, source_label: str, synthetic: bool, now: dt.datetime) -> None:
        """Refuse a source whose kind (synthetic or real) differs from what the warehouse holds;
        an unclaimed warehouse is claimed for it. Call right before writing.

        The first check only reads, so a refused run leaves the database untouched (no table
        created); the claim is then made under the writer lock, deciding again, so that two
        first runs of different kinds cannot both pass.
        """
        with self.engine().connect() as conn:
            _refuse_other_kind(_held_kind(conn), source_label, synthetic)
        self.prepare()
        with self._writing() as conn:
            held = _held_kind(conn)
            _refuse_other_kind(held, source_label, synthetic)
            if not conn.execute(sa.select(sa.func.count()).select_from(warehouse_kind)).scalar_one():
                kind, label = held or (_kind_name(synthetic), source_label)
                conn.execute(sa.insert(warehouse_kind).values(id=1, kind=kind, source=label, claimed_at=now))

    def _create_and_check(self) -> dict[str, sa.types.TypeEngine]:
        engine = self.engine()
        # Existing tables are checked before any missing one is created, so that a warehouse
        # refused for an incompatible table is left exactly as it was found.
        columns = self._check_existing_tables(sa.inspect(engine))
        if not all(sa.inspect(engine).has_table(table.name) for table in metadata.sorted_tables):
            # Under the writer lock, so that two first runs do not both create the tables.
            with self._writing() as conn:
                metadata.create_all(conn, checkfirst=True)
            columns = self._check_existing_tables(sa.inspect(engine))
        if columns is None:
            # Another writer created the tables between the first look and ours.
            columns = self._check_existing_tables(sa.inspect(engine))
        assert columns is not None  # market_daily exists once the tables are created
        missing = [column for column in market_daily.columns if column.name not in columns]
        if missing:
            # An older table (the previous service's) lacks the provenance columns: add them,
            # nullable, which the API's queries do not notice.
            with self._writing() as conn:
                add_columns(conn, market_daily, missing)
            columns = check_existing_table(sa.inspect(engine), market_daily, MARKET_DAILY_CONTRACT, ["record_date"])
        return columns

    @staticmethod
    def _check_existing_tables(inspector: sa.Inspector) -> dict[str, sa.types.TypeEngine] | None:
        """Raise if an existing table breaks its contract; the columns of `market_daily`, or None
        when it does not exist yet."""
        for table in [*RAW_TABLES.values(), raw_trading_calendar, sugar_import_margin, warehouse_kind]:
            if inspector.has_table(table.name):
                check_existing_table(
                    inspector,
                    table,
                    {column.name: _ANY_TYPE for column in table.columns if not column.nullable},
                    primary_key=[column.name for column in table.primary_key],
                )
        if not inspector.has_table(market_daily.name):
            return None
        return check_existing_table(inspector, market_daily, MARKET_DAILY_CONTRACT, ["record_date"])

    def land_series(self, fetched: SeriesFrame, run_id: str, now: dt.datetime) -> MergeCounts:
        """Add the fetched rows of one provider's series to its raw table, rewriting changed ones.

        Never deletes: a source that stops listing a day (a value it failed to parse, a gap) must
        not erase what it said before. Stored days from the response's first date on that it
        lacks are kept and returned as `absent`; days before it are not asked about (the
        response merely starts later). Each changed value is recorded in `raw_revisions`.
        """
        self.prepare()
        table = RAW_TABLES[fetched.series]
        frame = fetched.frame.with_columns(pl.lit(fetched.provider).alias("provider"))
        first = frame["trade_date"].min()
        with self._writing() as conn:
            counts = merge_rows(
                conn,
                table,
                scope=sa.and_(table.c.provider == fetched.provider, table.c.trade_date >= first),
                key="trade_date",
                frame=frame,
                compared={column.name: column.decimals for column in SERIES_COLUMNS[fetched.series]},
                stamp={"loaded_at": now, "run_id": run_id},
            )
            if counts.revisions:
                conn.execute(
                    sa.insert(raw_revisions),
                    [
                        {
                            "series": fetched.series.value,
                            "provider": fetched.provider,
                            "trade_date": revision.key,
                            "column_name": revision.column,
                            "old_value": revision.old,
                            "new_value": revision.new,
                            "revised_at": now,
                            "run_id": run_id,
                        }
                        for revision in counts.revisions
                    ],
                )
        return counts

    def read_revisions(self, series: Series) -> pl.DataFrame:
        """The recorded revisions of a series' raw values, oldest first."""
        self.prepare()
        query = (
            sa.select(raw_revisions).where(raw_revisions.c.series == series.value).order_by(raw_revisions.c.revision_id)
        )
        with self.engine().connect() as conn:
            rows = conn.execute(query).all()
        return _frame(
            rows, {column.name: _POLARS_TYPES.get(type(column.type), pl.Int64) for column in raw_revisions.columns}
        )

    def land_trading_days(
        self, provider: str, days: Sequence[dt.date], run_id: str, now: dt.datetime
    ) -> dict[str, int]:
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

    def trading_days_version(self, provider: str) -> tuple[int, dt.datetime | None]:
        """(days, newest landing) of the provider's landed calendar: changes whenever a landing
        adds or removes a day, so a reader can keep what it built until then."""
        self.prepare()
        table = raw_trading_calendar
        query = sa.select(sa.func.count(), sa.func.max(table.c.loaded_at)).where(table.c.provider == provider)
        with self.engine().connect() as conn:
            count, newest = conn.execute(query).one()
        return int(count), newest

    def read_series(self, series: Series, providers: Sequence[str], first: dt.date, last: dt.date) -> pl.DataFrame:
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
                compared=compared_columns(MARKET_DAILY),
                stamp={"updated_at": updated_at, "run_id": run_id},
            )

    def write_import_margin(
        self, frame: pl.DataFrame, first: dt.date, last: dt.date, *, run_id: str, now: dt.datetime
    ) -> WriteCounts:
        """Make `sugar_import_margin` rows for [first, last] equal `frame`, all or nothing."""
        self.prepare()
        with self._writing() as conn:
            return replace_window(
                conn,
                sugar_import_margin,
                sugar_import_margin.c.record_date.between(first, last),
                "record_date",
                frame,
                compared=compared_columns(SUGAR_IMPORT_MARGIN),
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
