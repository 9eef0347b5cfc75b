"""The nightly load of the market day that just ended."""

import datetime as dt
import os

import dagster as dg

from sugars_dagster.errors import ConfigError
from sugars_dagster.jobs import market_daily_job

SCHEDULE_TIME_ENV = "SUGARS_SCHEDULE_TIME"


def schedule_time(raw: str | None) -> dt.time:
    """The nightly load's time of day in Asia/Shanghai, `HH:MM` (default 02:00)."""
    value = (raw or "").strip() or "02:00"
    try:
        parsed = dt.time.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{SCHEDULE_TIME_ENV}={value!r} is not a time of day; expected HH:MM, e.g. 02:00") from None
    if parsed.second or parsed.microsecond or len(value) != 5:
        raise ConfigError(f"{SCHEDULE_TIME_ENV}={value!r} must be written HH:MM")
    return parsed


# Read when the code location loads: a changed time takes effect on reload. Any time after
# midnight works, since the partition for a day exists once that day is over.
NIGHTLY_LOAD_TIME = schedule_time(os.getenv(SCHEDULE_TIME_ENV))

# The partitions' timezone (Asia/Shanghai) is the schedule's: the tick at 02:00 on 12-05 requests
# partition 2025-12-04, whatever the host's TZ.
market_daily_schedule = dg.build_schedule_from_partitioned_job(
    market_daily_job,
    name="market_daily_schedule",
    hour_of_day=NIGHTLY_LOAD_TIME.hour,
    minute_of_hour=NIGHTLY_LOAD_TIME.minute,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description=f"{NIGHTLY_LOAD_TIME:%H:%M} Asia/Shanghai: load the market day that just ended.",
)
