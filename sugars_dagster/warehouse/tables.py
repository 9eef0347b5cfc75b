"""Warehouse tables, derived from their declarations in `market.tables`: `market_daily` (the
API's contract), `sugar_import_margin`, one raw table per source series and the landed trading
calendar; plus the bookkeeping tables `raw_revisions` and `warehouse_kind`."""

import sqlalchemy as sa

from sugars_dagster.market.series import Series
from sugars_dagster.market.tables import (
    MARKET_DAILY,
    RAW_SERIES,
    RAW_TRADING_CALENDAR,
    SUGAR_IMPORT_MARGIN,
    Column,
    Kind,
    Role,
    TableContract,
)

metadata = sa.MetaData()

_DECIMAL = (sa.Numeric, sa.Float)  # separate classes since SQLAlchemy 2.1
_NUMBER = (*_DECIMAL, sa.Integer)

_SQL_TYPES: dict[Kind, sa.types.TypeEngine] = {
    Kind.DATE: sa.Date(),
    Kind.FLOAT: sa.Float(),
    Kind.INTEGER: sa.BigInteger(),
    Kind.BOOLEAN: sa.Boolean(),
    Kind.TIMESTAMP: sa.DateTime(timezone=True),
}


def _sql_column(column: Column) -> sa.Column:
    kind = sa.String(column.length) if column.kind is Kind.STRING else _SQL_TYPES[column.kind]
    return sa.Column(
        column.name,
        kind,
        primary_key=column.role is Role.KEY,
        nullable=column.nullable and column.role is not Role.KEY,
        comment=column.meaning,
    )


def sql_table(contract: TableContract) -> sa.Table:
    return sa.Table(contract.name, metadata, *(_sql_column(column) for column in contract.columns))


def _accepted_types(column: Column) -> tuple[type[sa.types.TypeEngine], ...]:
    if column.kind is Kind.DATE:
        return (sa.Date,)
    if column.kind is Kind.TIMESTAMP:
        return (sa.DateTime,)
    return _NUMBER if column.integer_allowed else _DECIMAL


# The columns the existing API and dashboard read, with the column types an existing table may
# use for them. Never rename or retype these.
MARKET_DAILY_CONTRACT: dict[str, tuple[type[sa.types.TypeEngine], ...]] = {
    column.name: _accepted_types(column) for column in MARKET_DAILY.contract_columns
}

# The writer's stamps: they record a change, they do not make one.
_STAMPS = ("updated_at", "run_id")


def compared_columns(contract: TableContract) -> dict[str, int | None]:
    """The columns whose values decide whether a rewritten row changed, with the decimals they
    are compared at (None: compared as they are)."""
    return {
        column.name: column.decimals
        for column in contract.columns
        if column.role is not Role.KEY and column.name not in _STAMPS
    }


market_daily = sql_table(MARKET_DAILY)
sugar_import_margin = sql_table(SUGAR_IMPORT_MARGIN)
RAW_TABLES: dict[Series, sa.Table] = {series: sql_table(contract) for series, contract in RAW_SERIES.items()}
# The mainland trading calendar as landed from its source: one row per trading day, whole years.
raw_trading_calendar = sql_table(RAW_TRADING_CALENDAR)


# What a raw value was before a later answer from its source changed it: the raw tables keep
# only the newest value, so this is the record that an old number was once different.
raw_revisions = sa.Table(
    "raw_revisions",
    metadata,
    sa.Column("revision_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("series", sa.String(64), nullable=False, comment="the raw table's series, e.g. baltic_dry_index"),
    sa.Column("provider", sa.String(80), nullable=False, comment="source and call that served both values"),
    sa.Column("trade_date", sa.Date, nullable=False),
    sa.Column("column_name", sa.String(64), nullable=False, comment="the value column that changed"),
    sa.Column("old_value", sa.Float, comment="the stored value before the revision (null: it had none)"),
    sa.Column("new_value", sa.Float, comment="the value the source answered with"),
    sa.Column("revised_at", sa.DateTime(timezone=True), nullable=False, comment="when the value changed (UTC)"),
    sa.Column("run_id", sa.String(64), nullable=False, comment="Dagster run that wrote the new value"),
    sa.Index("ix_raw_revisions_series_day", "series", "trade_date"),
)


# What kind of source filled the warehouse, claimed by the first run that writes: synthetic demo
# numbers and real market data must never share one database. One row.
warehouse_kind = sa.Table(
    "warehouse_kind",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False, comment="always 1: the table has one row"),
    sa.Column("kind", sa.String(16), nullable=False, comment="real or synthetic"),
    sa.Column("source", sa.String(80), nullable=False, comment="source label of the first writer"),
    sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False, comment="when the kind was claimed (UTC)"),
    sa.CheckConstraint("id = 1", name="warehouse_kind_one_row"),
)
