"""One partition per market day, in the exchange's own time zone."""

import datetime as dt
from collections.abc import Mapping

import dagster as dg

from sugars_dagster.errors import ConfigError
from sugars_dagster.market.calendar.days import days_between

MARKET_TIMEZONE = "Asia/Shanghai"

# The run tags a single-run range carries (set by the CLI's --partition-range, backfills, sensors).
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def build_market_day_partitions(start: str) -> dg.DailyPartitionsDefinition:
    """One partition per market day from `start` (YYYY-MM-DD, SUGARS_PARTITIONS_START).

    The key is the market day itself: `2025-12-04` covers [12-04 00:00, 12-05 00:00) Asia/Shanghai
    and exists once that day is over, so the newest key is always the last complete day.
    """
    return dg.DailyPartitionsDefinition(start_date=start, timezone=MARKET_TIMEZONE, fmt="%Y-%m-%d")


# A range longer than this is not expanded day by day (full-history loads).
_MAX_RUN_DAYS = 10_000


def tagged_span(tags: Mapping[str, str]) -> tuple[str | None, str | None] | None:
    """The first and last partition keys a run's tags name (its one partition, or its range; an
    end missing from hand-made tags is None); None when the run names no partition."""
    if "dagster/partition" in tags:
        return tags["dagster/partition"], tags["dagster/partition"]
    if RANGE_START_TAG in tags:
        return tags[RANGE_START_TAG], tags.get(RANGE_END_TAG)
    return None


def describe_span(tags: Mapping[str, str], joiner: str = " .. ", unknown: str = "?") -> str | None:
    """The run's partition (`2025-12-04`) or range (`2025-12-01 .. 2025-12-05`), for people."""
    span = tagged_span(tags)
    if span is None:
        return None
    first, last = span
    if "dagster/partition" in tags:
        return first
    return f"{first}{joiner}{last if last is not None else unknown}"


def run_days(tags: Mapping[str, str]) -> list[dt.date]:
    """The market days a run loads, from its partition or range tags ([] for none, unreadable or
    longer than a full history)."""
    first, last = tagged_span(tags) or (None, None)
    try:
        first_day, last_day = dt.date.fromisoformat(first or ""), dt.date.fromisoformat(last or "")
    except ValueError:
        return []
    if not 0 < (last_day - first_day).days + 1 <= _MAX_RUN_DAYS:
        return []
    return days_between(first_day, last_day)


def requested_days(context: dg.AssetExecutionContext) -> list[dt.date]:
    """The market days a partitioned asset's run covers, after refusing a backwards range."""
    check_requested_range(context.run.tags)
    return window_days(context.partition_time_window)


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
