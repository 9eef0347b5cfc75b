"""Warehouse tables: `market_daily` (the API's contract), `sugar_import_margin`, one raw table
per source series, and `raw_revisions` (the values those raw tables once held)."""

import sqlalchemy as sa

from sugars_dagster.series import SERIES_COLUMNS, Series

metadata = sa.MetaData()

_DECIMAL = (sa.Numeric, sa.Float)  # separate classes since SQLAlchemy 2.1
_NUMBER = (*_DECIMAL, sa.Integer)

# The columns the existing API and dashboard read, with the column types an existing table may
# use for them. Never rename or retype these.
MARKET_DAILY_CONTRACT: dict[str, tuple[type[sa.types.TypeEngine], ...]] = {
    "record_date": (sa.Date,),
    "sugar_close": _NUMBER,
    "sugar_open": _NUMBER,
    "usd_cny_rate": _DECIMAL,  # an integer column would truncate 7.1076 to 7
    "bdi_index": _NUMBER,
    "import_cost_estimate": _NUMBER,
    "updated_at": (sa.DateTime,),
}

# Decimals stored per value column, so a rerun compares equal to the row it wrote.
MARKET_DAILY_DECIMALS: dict[str, int] = {
    "sugar_close": 2,
    "sugar_open": 2,
    "usd_cny_rate": 4,
    "bdi_index": 2,
    "import_cost_estimate": 2,
}


def _provenance_columns() -> list[sa.Column]:
    """Where each input of a row came from: the provider that served it and the date of the
    value used (as-of inputs may be a few days older than the row)."""
    return [
        sa.Column("sugar_provider", sa.String(80), comment="provider of the ZCE bar"),
        sa.Column("usd_cny_provider", sa.String(80), comment="provider of the USD/CNY fixing"),
        sa.Column("usd_cny_date", sa.Date, comment="date of the USD/CNY fixing used"),
        sa.Column("bdi_provider", sa.String(80), comment="provider of the BDI"),
        sa.Column("bdi_date", sa.Date, comment="date of the BDI value used"),
        sa.Column("ice_provider", sa.String(80), comment="provider of the ICE No.11 close"),
        sa.Column("ice_date", sa.Date, comment="date of the ICE No.11 close used"),
    ]


market_daily = sa.Table(
    "market_daily",
    metadata,
    sa.Column("record_date", sa.Date, primary_key=True, comment="ZCE trading day (Asia/Shanghai)"),
    sa.Column("sugar_close", sa.Float, nullable=False, comment="ZCE SR0 close, CNY/t"),
    sa.Column("sugar_open", sa.Float, nullable=False, comment="ZCE SR0 open, CNY/t"),
    sa.Column("usd_cny_rate", sa.Float, nullable=False, comment="SAFE central parity, CNY per USD"),
    sa.Column("bdi_index", sa.Float, nullable=False, comment="Baltic Dry Index, points"),
    sa.Column(
        "import_cost_estimate",
        sa.Float,
        nullable=False,
        comment="Landed cost of raw sugar out of quota, CNY/t",
    ),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, comment="when the values last changed (UTC)"),
    # Beyond the contract: nullable, so that they can be added to an existing table.
    sa.Column("ice_usc_lb", sa.Float, comment="ICE No.11 close used for the cost, US cents/lb"),
    sa.Column("source", sa.String(64), comment="akshare, or demo-synthetic for the demo source"),
    *_provenance_columns(),
    sa.Column(
        "reached_back",
        sa.String(200),
        comment="as-of inputs older than their series' newest publication day, e.g. 'bdi: used 2025-12-02, expected 2025-12-03'",
    ),
    sa.Column("run_id", sa.String(64), comment="Dagster run that wrote the values"),
)

# The columns beyond the contract that decide whether a rewritten row changed, and how.
MARKET_DAILY_EXTRAS: dict[str, int | None] = {
    "ice_usc_lb": 4,
    "source": None,
    **{column.name: None for column in _provenance_columns()},
    "reached_back": None,
}

MARGIN_DECIMALS: dict[str, int] = {
    "sugar_close": 2,
    "ice_usc_lb": 4,
    "usd_cny_rate": 4,
    "landed_cost_in_quota": 2,
    "landed_cost_out_of_quota": 2,
    "margin_in_quota": 2,
    "margin_out_of_quota": 2,
}

sugar_import_margin = sa.Table(
    "sugar_import_margin",
    metadata,
    sa.Column("record_date", sa.Date, primary_key=True, comment="ZCE trading day (Asia/Shanghai)"),
    sa.Column("sugar_close", sa.Float, nullable=False, comment="ZCE SR0 close, CNY/t"),
    sa.Column("ice_usc_lb", sa.Float, nullable=False, comment="ICE No.11 close, US cents/lb"),
    sa.Column("usd_cny_rate", sa.Float, nullable=False, comment="USD/CNY central parity"),
    sa.Column("tariff_out_of_quota", sa.Float, nullable=False, comment="out-of-quota tariff on the day"),
    sa.Column("vat_rate", sa.Float, nullable=False, comment="VAT on sugar on the day"),
    sa.Column("landed_cost_in_quota", sa.Float, nullable=False, comment="CNY/t, 15 % tariff"),
    sa.Column("landed_cost_out_of_quota", sa.Float, nullable=False, comment="CNY/t, out-of-quota tariff"),
    sa.Column("margin_in_quota", sa.Float, nullable=False, comment="ZCE close minus in-quota cost (and refining)"),
    sa.Column("margin_out_of_quota", sa.Float, nullable=False, comment="ZCE close minus out-of-quota cost (and refining)"),
    sa.Column("out_of_quota_window_open", sa.Boolean, nullable=False, comment="out-of-quota margin above zero"),
    sa.Column("origin_premium_usc_lb", sa.Float, nullable=False),
    sa.Column("freight_usd_t", sa.Float, nullable=False),
    sa.Column("port_charges_cny_t", sa.Float, nullable=False),
    sa.Column("refining_cost_cny_t", sa.Float, nullable=False),
    *_provenance_columns(),
    sa.Column("market_daily_run_id", sa.String(64), comment="Dagster run that wrote the market_daily inputs"),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, comment="when the values last changed (UTC)"),
    sa.Column("run_id", sa.String(64), nullable=False, comment="Dagster run that wrote the values"),
)


def _raw_table(series: Series) -> sa.Table:
    value_columns = [
        sa.Column(
            column.name,
            sa.BigInteger if column.integer else sa.Float,
            nullable=not column.required,
            comment=column.description,
        )
        for column in SERIES_COLUMNS[series]
    ]
    return sa.Table(
        f"raw_{series.value}",
        metadata,
        sa.Column("provider", sa.String(80), primary_key=True, comment="source and call that served the row"),
        sa.Column("trade_date", sa.Date, primary_key=True),
        *value_columns,
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False, comment="when the values last changed (UTC)"),
        sa.Column("run_id", sa.String(64), nullable=False, comment="Dagster run that wrote the values"),
    )


RAW_TABLES: dict[Series, sa.Table] = {series: _raw_table(series) for series in Series}


# The mainland trading calendar as landed from its source: one row per trading day, whole years.
raw_trading_calendar = sa.Table(
    "raw_trading_calendar",
    metadata,
    sa.Column("provider", sa.String(80), primary_key=True, comment="source and call that served the row"),
    sa.Column("trade_date", sa.Date, primary_key=True, comment="a mainland trading day"),
    sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False, comment="when the row was landed (UTC)"),
    sa.Column("run_id", sa.String(64), nullable=False, comment="Dagster run that landed the row"),
)


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
