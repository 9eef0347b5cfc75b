"""Warehouse tables: the `market_daily` contract the API reads, and one raw table per series."""

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
# Written where present; an older table without them still gets every contract column.
MARKET_DAILY_PROVENANCE = ("source", "run_id")

# Decimals stored per value column, so a rerun compares equal to the row it wrote.
MARKET_DAILY_DECIMALS: dict[str, int] = {
    "sugar_close": 2,
    "sugar_open": 2,
    "usd_cny_rate": 4,
    "bdi_index": 2,
    "import_cost_estimate": 2,
}

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
    sa.Column("source", sa.String(64), comment="source that served the inputs"),
    sa.Column("run_id", sa.String(64), comment="Dagster run that wrote the values"),
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
        sa.Column("provider", sa.String(64), primary_key=True, comment="source and call that served the row"),
        sa.Column("trade_date", sa.Date, primary_key=True),
        *value_columns,
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False, comment="when the values last changed (UTC)"),
        sa.Column("run_id", sa.String(64), nullable=False, comment="Dagster run that wrote the values"),
    )


RAW_TABLES: dict[Series, sa.Table] = {series: _raw_table(series) for series in Series}
