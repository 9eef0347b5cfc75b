"""The nightly load of the market day that just ended."""

import datetime as dt

import dagster as dg

from sugars_dagster.jobs import market_daily_job

NIGHTLY_LOAD_TIME = dt.time(2, 0)

# The partitions' timezone (Asia/Shanghai) is the schedule's: the tick at 02:00 on 12-05 requests
# partition 2025-12-04, whatever the host's TZ.
market_daily_schedule = dg.build_schedule_from_partitioned_job(
    market_daily_job,
    name="market_daily_schedule",
    hour_of_day=NIGHTLY_LOAD_TIME.hour,
    minute_of_hour=NIGHTLY_LOAD_TIME.minute,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="02:00 Asia/Shanghai: load the market day that just ended.",
)
