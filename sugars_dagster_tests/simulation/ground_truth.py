"""What `market_daily` must hold after the simulation: the demo source's values, one row per
trading day."""

import datetime as dt

import polars as pl

from sugars_dagster.market.series import Series
from sugars_dagster.sources.demo_source import demo_is_session, synthetic_frame

COMPARED = ["sugar_close", "sugar_open", "usd_cny_rate", "bdi_index"]
# USD/CNY and BDI publish on days ZCE does not trade and skip some it does; a month back always
# holds a value.
AS_OF_LOOKBACK = dt.timedelta(days=31)


def expected_trading_days(first: dt.date, last: dt.date) -> list[dt.date]:
    """The trading days in [first, last] as the demo source trades them (the shipped calendar where
    it reaches, the demo's made-up holidays past it). The one place that knows whose calendar the
    simulated world follows."""
    days = [first + dt.timedelta(days=offset) for offset in range((last - first).days + 1)]
    return [day for day in days if demo_is_session(day)]


def _as_of(days: pl.DataFrame, series: Series, value: str, output: str) -> pl.DataFrame:
    """The latest published value on or before each day, as the product joins FX and BDI."""
    first, last = days["record_date"].min(), days["record_date"].max()
    published = (
        synthetic_frame(series, first - AS_OF_LOOKBACK, last)
        .select(pl.col("trade_date").alias("published"), pl.col(value).alias(output))
        .sort("published")
    )
    return days.join_asof(published, left_on="record_date", right_on="published", strategy="backward").drop("published")


def expected_market_daily(days: list[dt.date]) -> pl.DataFrame:
    """`record_date` and the compared columns for `days`, from the demo's synthetic series."""
    frame = pl.DataFrame({"record_date": sorted(days)}, schema={"record_date": pl.Date})
    sugar = synthetic_frame(Series.ZCE_SUGAR, min(days), max(days)).select(
        pl.col("trade_date").alias("record_date"),
        pl.col("close").cast(pl.Float64).alias("sugar_close"),
        pl.col("open").cast(pl.Float64).alias("sugar_open"),
    )
    frame = frame.join(sugar, on="record_date", how="left")
    frame = _as_of(frame, Series.USD_CNY, "usd_cny", "usd_cny_rate")
    frame = _as_of(frame, Series.BDI, "bdi", "bdi_index")
    return frame.select("record_date", *COMPARED)


def value_mismatches(stored: pl.DataFrame, expected: pl.DataFrame, tolerance: float = 1e-6) -> list[str]:
    """One line per stored value that differs from the expected one, on the days both hold."""
    both = expected.join(stored.select("record_date", *COMPARED), on="record_date", how="inner", suffix="_stored")
    lines = []
    for row in both.iter_rows(named=True):
        for column in COMPARED:
            want, got = row[column], row[f"{column}_stored"]
            if want is None or got is None or abs(want - got) > tolerance:
                lines.append(f"{row['record_date']} {column}: stored {got}, expected {want}")
    return lines
