"""What each table holds, column by column, declared once.

The SQLAlchemy tables (`warehouse.tables`), the frames the builders return (`polars_schema`), the
column lists the writers compare, and the column schemas the Dagster UI shows are all derived
from these declarations: adding a column is one line here.
"""

from dataclasses import dataclass
from enum import StrEnum

import polars as pl

from sugars_dagster.market.series import SERIES_COLUMNS, Series


class Kind(StrEnum):
    DATE = "date"
    FLOAT = "float"
    INTEGER = "integer"
    STRING = "string"
    BOOLEAN = "boolean"
    TIMESTAMP = "timestamp"


class Role(StrEnum):
    KEY = "key"
    # A value the builder computes (the API's measures, the margin's figures).
    VALUE = "value"
    # Where a value came from: providers, the dates of as-of inputs, the source label.
    PROVENANCE = "provenance"
    # Set by the writer: when the values last changed and the run that wrote them.
    STAMP = "stamp"


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    meaning: str
    role: Role = Role.VALUE
    # Values are stored rounded to this many decimals, so a rerun compares equal to what it wrote.
    decimals: int | None = None
    nullable: bool = True
    # Part of the contract the existing API and dashboard read: never renamed or retyped.
    contract: bool = False
    # A contract number an existing table may hold in an integer column (not so for FX rates).
    integer_allowed: bool = True
    length: int = 80


@dataclass(frozen=True)
class TableContract:
    name: str
    # What one row means, for the catalog.
    row: str
    columns: tuple[Column, ...]

    def column(self, name: str) -> Column:
        return next(column for column in self.columns if column.name == name)

    def names(self, *roles: Role) -> list[str]:
        return [column.name for column in self.columns if not roles or column.role in roles]

    @property
    def key(self) -> list[str]:
        return self.names(Role.KEY)

    @property
    def contract_columns(self) -> list[Column]:
        return [column for column in self.columns if column.contract]

    def decimals(self, *roles: Role) -> dict[str, int]:
        return {
            column.name: column.decimals
            for column in self.columns
            if column.decimals is not None and (not roles or column.role in roles)
        }

    def built_columns(self) -> list[str]:
        """The columns a builder returns, in table order: all but the writer's stamps."""
        return [column.name for column in self.columns if column.role is not Role.STAMP]

    def polars_schema(self) -> dict[str, pl.DataType]:
        return {name: _POLARS[self.column(name).kind] for name in self.built_columns()}


_POLARS: dict[Kind, pl.DataType] = {
    Kind.DATE: pl.Date(),
    Kind.FLOAT: pl.Float64(),
    Kind.INTEGER: pl.Int64(),
    Kind.STRING: pl.String(),
    Kind.BOOLEAN: pl.Boolean(),
    Kind.TIMESTAMP: pl.Datetime(time_zone="UTC"),
}

_RECORD_DATE = Column(
    "record_date", Kind.DATE, "ZCE trading day (Asia/Shanghai)", Role.KEY, nullable=False, contract=True
)
_UPDATED_AT = Column(
    "updated_at", Kind.TIMESTAMP, "when the values last changed (UTC)", Role.STAMP, nullable=False, contract=True
)

# Where each input of a row came from: the provider that served it and the date of the value used
# (as-of inputs may be a few days older than the row). Carried from market_daily to the margin.
INPUT_PROVENANCE: tuple[Column, ...] = (
    Column("sugar_provider", Kind.STRING, "provider of the ZCE bar", Role.PROVENANCE),
    Column("usd_cny_provider", Kind.STRING, "provider of the USD/CNY fixing", Role.PROVENANCE),
    Column("usd_cny_date", Kind.DATE, "date of the USD/CNY fixing used", Role.PROVENANCE),
    Column("bdi_provider", Kind.STRING, "provider of the BDI", Role.PROVENANCE),
    Column("bdi_date", Kind.DATE, "date of the BDI value used", Role.PROVENANCE),
    Column("ice_provider", Kind.STRING, "provider of the ICE No.11 close", Role.PROVENANCE),
    Column("ice_date", Kind.DATE, "date of the ICE No.11 close used", Role.PROVENANCE),
)


def _contract_number(name: str, meaning: str, decimals: int, integer_allowed: bool = True) -> Column:
    return Column(
        name, Kind.FLOAT, meaning, decimals=decimals, nullable=False, contract=True, integer_allowed=integer_allowed
    )


MARKET_DAILY = TableContract(
    name="market_daily",
    row="one ZCE trading day: its SR close and open, the USD/CNY fixing, BDI and ICE No.11 close "
    "in force that day, and the landed cost of out-of-quota raw sugar",
    columns=(
        _RECORD_DATE,
        _contract_number("sugar_close", "ZCE SR0 close, CNY/t", 2),
        _contract_number("sugar_open", "ZCE SR0 open, CNY/t", 2),
        # An integer column would truncate 7.1076 to 7.
        _contract_number("usd_cny_rate", "SAFE central parity, CNY per USD", 4, integer_allowed=False),
        _contract_number("bdi_index", "Baltic Dry Index, points", 2),
        _contract_number("import_cost_estimate", "Landed cost of raw sugar out of quota, CNY/t", 2),
        _UPDATED_AT,
        # Beyond the contract: nullable, so that they can be added to an existing table.
        Column("ice_usc_lb", Kind.FLOAT, "ICE No.11 close used for the cost, US cents/lb", decimals=4),
        Column("source", Kind.STRING, "akshare, or demo-synthetic for the demo source", Role.STAMP, length=64),
        *INPUT_PROVENANCE,
        Column(
            "reached_back",
            Kind.STRING,
            "as-of inputs older than their series' newest publication day, e.g. "
            "'bdi: used 2025-12-02, expected 2025-12-03'",
            Role.PROVENANCE,
            length=200,
        ),
        Column("run_id", Kind.STRING, "Dagster run that wrote the values", Role.STAMP, length=64),
    ),
)


def _margin_number(name: str, meaning: str, decimals: int | None = None) -> Column:
    return Column(name, Kind.FLOAT, meaning, decimals=decimals, nullable=False)


SUGAR_IMPORT_MARGIN = TableContract(
    name="sugar_import_margin",
    row="one ZCE trading day: the ZCE close against the landed cost of raw sugar in and out of "
    "quota, from the inputs market_daily recorded, and the cost inputs used",
    columns=(
        _RECORD_DATE,
        _margin_number("sugar_close", "ZCE SR0 close, CNY/t", 2),
        _margin_number("ice_usc_lb", "ICE No.11 close, US cents/lb", 4),
        _margin_number("usd_cny_rate", "USD/CNY central parity", 4),
        _margin_number("tariff_out_of_quota", "out-of-quota tariff on the day"),
        _margin_number("vat_rate", "VAT on sugar on the day"),
        _margin_number("landed_cost_in_quota", "CNY/t, 15 % tariff", 2),
        _margin_number("landed_cost_out_of_quota", "CNY/t, out-of-quota tariff", 2),
        _margin_number("margin_in_quota", "ZCE close minus in-quota cost (and refining)", 2),
        _margin_number("margin_out_of_quota", "ZCE close minus out-of-quota cost (and refining)", 2),
        Column("out_of_quota_window_open", Kind.BOOLEAN, "out-of-quota margin above zero", nullable=False),
        _margin_number("origin_premium_usc_lb", "origin premium over ICE used, US cents/lb"),
        _margin_number("freight_usd_t", "ocean freight used, USD/t"),
        _margin_number("port_charges_cny_t", "port and landed charges used, CNY/t"),
        _margin_number("refining_cost_cny_t", "refining cost added to both landed costs, CNY/t"),
        *INPUT_PROVENANCE,
        Column(
            "market_daily_run_id",
            Kind.STRING,
            "Dagster run that wrote the market_daily inputs",
            Role.PROVENANCE,
            length=64,
        ),
        _UPDATED_AT,
        Column("run_id", Kind.STRING, "Dagster run that wrote the values", Role.STAMP, nullable=False, length=64),
    ),
)


def raw_series_contract(series: Series) -> TableContract:
    """One series as landed: one row per provider and date, the newest value kept (what it was
    before a revision is in raw_revisions)."""
    values = tuple(
        Column(
            column.name,
            Kind.INTEGER if column.integer else Kind.FLOAT,
            column.description,
            decimals=None if column.integer else column.decimals,
            nullable=not column.required,
        )
        for column in SERIES_COLUMNS[series]
    )
    return TableContract(
        name=f"raw_{series.value}",
        row=f"one {series.value} value for one date, as the named provider answered it",
        columns=(
            Column("provider", Kind.STRING, "source and call that served the row", Role.KEY, nullable=False),
            Column("trade_date", Kind.DATE, "the market's day of the value", Role.KEY, nullable=False),
            *values,
            Column("loaded_at", Kind.TIMESTAMP, "when the values last changed (UTC)", Role.STAMP, nullable=False),
            Column("run_id", Kind.STRING, "Dagster run that wrote the values", Role.STAMP, nullable=False, length=64),
        ),
    )


RAW_SERIES: dict[Series, TableContract] = {series: raw_series_contract(series) for series in Series}

RAW_TRADING_CALENDAR = TableContract(
    name="raw_trading_calendar",
    row="one mainland trading day, as the named provider listed it; whole years",
    columns=(
        Column("provider", Kind.STRING, "source and call that served the row", Role.KEY, nullable=False),
        Column("trade_date", Kind.DATE, "a mainland trading day", Role.KEY, nullable=False),
        Column("loaded_at", Kind.TIMESTAMP, "when the row was landed (UTC)", Role.STAMP, nullable=False),
        Column("run_id", Kind.STRING, "Dagster run that landed the row", Role.STAMP, nullable=False, length=64),
    ),
)
