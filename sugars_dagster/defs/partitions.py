"""One partition per market day, in the exchange's own time zone."""

import datetime as dt
from collections.abc import Mapping

import dagster as dg

from sugars_dagster import settings
from sugars_dagster.errors import ConfigError
from sugars_dagster.market.calendar.days import days_between

MARKET_TIMEZONE = "Asia/Shanghai"

# The run tags a single-run range carries (set by the CLI's --partition-range, backfills, sensors).
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


# The key is the market day itself: `2025-12-04` covers [12-04 00:00, 12-05 00:00) Asia/Shanghai
# and exists once that day is over, so the newest key is always the last complete day.
market_day_partitions = dg.DailyPartitionsDefinition(
    start_date=settings.partitions_start(),
    timezone=MARKET_TIMEZONE,
    fmt="%Y-%m-%d",
)


def check_requested_range(run_tags: Mapping[str, str]) -> None:
    """Refuse a range that ends before it starts, before any asset of the run writes anything.

    Dagster accepts such a range and hands the assets an empty window.
    """
    start, end = run_tags.get(RANGE_START_TAG), run_tags.get(RANGE_END_TAG)
    if start and end and start > end:  # YYYY-MM-DD keys sort as their dates do
        raise ConfigError(f"partition range {start}...{end} starts after it ends; did you mean {end}...{start}?")


def window_days(time_window: dg.TimeWindow) -> list[dt.date]:
    """The market days inside a partition time window (end exclusive)."""
    return days_between(time_window.start.date(), time_window.end.date() - dt.timedelta(days=1))


def last_complete_day(now: dt.datetime | None = None) -> dt.date:
    """Yesterday in Shanghai: the newest market day whose session is certainly over."""
    from zoneinfo import ZoneInfo

    from sugars_dagster import clock

    current = now or clock.now()
    return current.astimezone(ZoneInfo(MARKET_TIMEZONE)).date() - dt.timedelta(days=1)
