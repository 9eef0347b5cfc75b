"""Build `market_daily` rows: sugar bars joined as-of with FX, BDI and ICE, plus the import cost.

Pure functions over polars frames; the asset reads the inputs and writes the result.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from sugars_dagster.errors import MissingDataError
from sugars_dagster.market.import_cost import CostSettings, out_of_quota_landed_cost_cny_t
from sugars_dagster.market.series import Series
from sugars_dagster.market.tables import MARKET_DAILY

# The columns `build_market_daily` returns, in table order, and the decimals its values keep.
MARKET_DAILY_COLUMNS = MARKET_DAILY.built_columns()
# The API's measures and their decimals.
MARKET_DAILY_DECIMALS = {
    column.name: column.decimals for column in MARKET_DAILY.contract_columns if column.decimals is not None
}


@dataclass(frozen=True)
class MarketInputs:
    """Canonical series frames (see `series.SERIES_COLUMNS`), each sorted by `trade_date`."""

    sugar: pl.DataFrame
    usd_cny: pl.DataFrame
    bdi: pl.DataFrame
    ice: pl.DataFrame


@dataclass(frozen=True)
class Staleness:
    """How old, in days, the latest value on or before a trading day may be."""

    usd_cny_days: int
    bdi_days: int
    ice_days: int


def _join_as_of(
    days: pl.DataFrame, series: pl.DataFrame, value: str, output: str, prefix: str, label: str, max_days: int
) -> pl.DataFrame:
    """Add `output`, `{prefix}_date` and `{prefix}_provider`: the latest value on or before each
    day, no older than `max_days`."""
    right = series.select(
        pl.col("trade_date").alias(f"{prefix}_date"),
        pl.col(value).alias(output),
        pl.col("provider").alias(f"{prefix}_provider"),
    ).sort(f"{prefix}_date")
    joined = days.join_asof(right, left_on="record_date", right_on=f"{prefix}_date", strategy="backward")
    too_old = pl.col(f"{prefix}_date").is_null() | (
        pl.col("record_date") - pl.col(f"{prefix}_date") > pl.duration(days=max_days)
    )
    stale = joined.filter(too_old)
    if stale.height:
        details = ", ".join(
            f"{row['record_date']} (latest before it: {row[f'{prefix}_date'] or 'none'})"
            for row in stale.head(3).iter_rows(named=True)
        )
        more = f" and {stale.height - 3} more" if stale.height > 3 else ""
        raise MissingDataError(
            f"no {label} value within {max_days} days on or before {details}{more}; refusing to invent one"
        )
    return joined


# The date an as-of join should find for a series on a day (its newest publication day that is
# final), or None where that cannot be told.
ExpectedAsOf = Callable[[Series, dt.date], dt.date | None]

# The as-of inputs: series, the prefix of their provenance columns.
AS_OF_INPUTS = ((Series.USD_CNY, "usd_cny"), (Series.BDI, "bdi"), (Series.ICE_NO11, "ice"))


def reached_back(frame: pl.DataFrame, expected: ExpectedAsOf | None) -> list[str | None]:
    """Per row, the inputs whose value is older than the newest one their publication days
    promise (a hole in the series was bridged), e.g. "bdi: used 2025-12-02, expected 2025-12-03";
    None where every input is the usual one or `expected` is not given."""
    if expected is None:
        return [None] * frame.height
    notes: list[str | None] = []
    for row in frame.iter_rows(named=True):
        day = row["record_date"]
        gaps = []
        for series, prefix in AS_OF_INPUTS:
            usual = expected(series, day)
            if usual is not None and row[f"{prefix}_date"] < usual:
                gaps.append(f"{prefix}: used {row[f'{prefix}_date']}, expected {usual}")
        notes.append("; ".join(gaps) or None)
    return notes


def build_market_daily(
    trading_days: list[dt.date],
    inputs: MarketInputs,
    staleness: Staleness,
    cost: CostSettings,
    expected: ExpectedAsOf | None = None,
) -> pl.DataFrame:
    """One row per trading day: the contract columns, the ICE price used, where each input came
    from (provider and date), and, given `expected`, which inputs had to reach back past a day
    their series should have published."""
    days = pl.DataFrame({"record_date": sorted(trading_days)}, schema={"record_date": pl.Date})
    bars = inputs.sugar.select(
        pl.col("trade_date").alias("record_date"),
        pl.col("close").alias("sugar_close"),
        pl.col("open").alias("sugar_open"),
        pl.col("provider").alias("sugar_provider"),
    )
    frame = days.join(bars, on="record_date", how="left")
    missing = frame.filter(pl.col("sugar_close").is_null() | pl.col("sugar_open").is_null())
    if missing.height:
        raise MissingDataError(
            "; ".join(f"no bar for trading day {day} yet" for day in missing["record_date"].to_list())
        )
    frame = _join_as_of(
        frame, inputs.usd_cny, "usd_cny", "usd_cny_rate", "usd_cny", "USD/CNY fixing", staleness.usd_cny_days
    )
    frame = _join_as_of(frame, inputs.bdi, "bdi", "bdi_index", "bdi", "Baltic Dry Index", staleness.bdi_days)
    frame = _join_as_of(frame, inputs.ice, "close", "ice_usc_lb", "ice", "ICE No.11 close", staleness.ice_days)
    costs = [
        out_of_quota_landed_cost_cny_t(day, ice, usd_cny, cost)
        for day, ice, usd_cny in zip(
            frame["record_date"].to_list(),
            frame["ice_usc_lb"].to_list(),
            frame["usd_cny_rate"].to_list(),
            strict=True,
        )
    ]
    frame = frame.with_columns(
        pl.Series("import_cost_estimate", costs, dtype=pl.Float64),
        pl.Series("reached_back", reached_back(frame, expected), dtype=pl.String),
    )
    return frame.with_columns(pl.col(name).round(decimals) for name, decimals in MARKET_DAILY_DECIMALS.items()).select(
        MARKET_DAILY_COLUMNS
    )
