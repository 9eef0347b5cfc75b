"""Data-quality checks over `market_daily` rows: pure functions returning what failed and where.

The assets turn each outcome into an asset check result, with the offending rows in its metadata.
"""

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from sugars_dagster.market.series import PLAUSIBLE_RANGES, Series

# The rows an alert or the UI shows at most; the count says how many there were.
SHOWN_ROWS = 20

# market_daily value columns and the plausible range each must lie in.
MARKET_DAILY_RANGES: dict[str, tuple[float, float]] = {
    "sugar_close": PLAUSIBLE_RANGES[Series.ZCE_SUGAR],
    "sugar_open": PLAUSIBLE_RANGES[Series.ZCE_SUGAR],
    "usd_cny_rate": PLAUSIBLE_RANGES[Series.USD_CNY],
    "bdi_index": PLAUSIBLE_RANGES[Series.BDI],
    "ice_usc_lb": PLAUSIBLE_RANGES[Series.ICE_NO11],
    # Follows from the inputs' ranges with generous costs; outside it the formula was fed nonsense.
    "import_cost_estimate": (1_000.0, 30_000.0),
}


@dataclass(frozen=True)
class CheckOutcome:
    name: str
    passed: bool
    blocking: bool  # a failure must not reach the table or anything downstream
    summary: str
    offending: pl.DataFrame


def markdown_table(frame: pl.DataFrame) -> str:
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += [
        "| " + " | ".join("" if value is None else str(value) for value in row) + " |" for row in frame.iter_rows()
    ]
    return "\n".join(lines)


def _outcome(name: str, blocking: bool, offending: pl.DataFrame, ok: str, bad: str) -> CheckOutcome:
    passed = offending.height == 0
    return CheckOutcome(name, passed, blocking, ok if passed else f"{offending.height} {bad}", offending)


def required_fields(frame: pl.DataFrame, columns: list[str]) -> CheckOutcome:
    missing = pl.any_horizontal(pl.col(column).is_null() for column in columns)
    offending = frame.filter(missing).select("record_date", *(column for column in columns if column != "record_date"))
    return _outcome(
        "required_fields", True, offending, "every required field is filled", "row(s) with empty required fields"
    )


def plausible_ranges(frame: pl.DataFrame, ranges: Mapping[str, tuple[float, float]]) -> CheckOutcome:
    problems = [
        frame.filter(~pl.col(column).is_between(low, high)).select(
            "record_date",
            pl.lit(column).alias("field"),
            pl.col(column).cast(pl.Float64).alias("value"),
            pl.lit(f"{low:g} .. {high:g}").alias("plausible"),
        )
        for column, (low, high) in ranges.items()
    ]
    offending = pl.concat(problems).sort("record_date")
    return _outcome(
        "plausible_ranges",
        True,
        offending,
        "every value lies in its plausible range",
        "value(s) outside their plausible range",
    )


def day_over_day_moves(frame: pl.DataFrame, previous: pl.DataFrame, limits: Mapping[str, float]) -> CheckOutcome:
    """Moves from one trading day to the next beyond `limits` (percent). `previous` holds the row
    before the window, if any, so that the window's first day is compared too."""
    series = pl.concat([previous.select(frame.columns), frame], how="vertical_relaxed").sort("record_date")
    problems = [
        series.select(
            "record_date",
            pl.lit(column).alias("field"),
            pl.col(column).shift(1).alias("previous"),
            pl.col(column).alias("value"),
            ((pl.col(column) / pl.col(column).shift(1) - 1) * 100).round(2).alias("move_pct"),
        ).filter(pl.col("move_pct").abs() > limit)
        for column, limit in limits.items()
    ]
    offending = (
        pl.concat(problems).filter(pl.col("record_date").is_in(frame["record_date"].implode())).sort("record_date")
    )
    return _outcome("day_over_day_moves", False, offending, "no move beyond its limit", "move(s) beyond their limit")


def input_staleness(frame: pl.DataFrame, warn_days: Mapping[str, int]) -> CheckOutcome:
    """Inputs joined as-of that are older than `warn_days` (prefix -> days) on their row."""
    problems = [
        frame.select(
            "record_date",
            pl.lit(prefix).alias("input"),
            pl.col(f"{prefix}_date").alias("value_date"),
            (pl.col("record_date") - pl.col(f"{prefix}_date")).dt.total_days().alias("age_days"),
        ).filter(pl.col("age_days") > days)
        for prefix, days in warn_days.items()
    ]
    offending = pl.concat(problems).sort("record_date")
    return _outcome(
        "input_staleness",
        False,
        offending,
        "no input older than its warning limit",
        "input(s) older than their warning limit",
    )


def row_count(stored_days: int, trading_days: list[dt.date], stored: set[dt.date]) -> CheckOutcome:
    """The table holds exactly one row per trading day of the window."""
    expected = set(trading_days)
    offending = pl.DataFrame(
        {
            "record_date": sorted(expected ^ stored),
            "problem": ["missing" if day in expected else "not a trading day" for day in sorted(expected ^ stored)],
        },
        schema={"record_date": pl.Date, "problem": pl.String},
    )
    passed = stored_days == len(expected) and not offending.height
    summary = f"{stored_days} row(s) for {len(expected)} trading day(s)"
    return CheckOutcome("row_count", passed, True, summary, offending)


def unique_days(duplicates: list[tuple[dt.date, int]]) -> CheckOutcome:
    offending = pl.DataFrame(
        {"record_date": [day for day, _ in duplicates], "rows": [count for _, count in duplicates]},
        schema={"record_date": pl.Date, "rows": pl.Int64},
    )
    return _outcome("unique_days", True, offending, "no day appears twice", "day(s) stored more than once")
