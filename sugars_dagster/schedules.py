"""The nightly load of the market day that just ended."""

import dagster as dg

from sugars_dagster.jobs import market_daily_job

# The partitions' timezone (Asia/Shanghai) is the schedule's: the tick at 02:00 on 12-05 requests
# partition 2025-12-04, whatever the host's TZ.
market_daily_schedule = dg.build_schedule_from_partitioned_job(
    market_daily_job,
    name="market_daily_schedule",
    hour_of_day=2,
    minute_of_hour=0,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="02:00 Asia/Shanghai: load the market day that just ended.",
)
