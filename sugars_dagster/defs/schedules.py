"""The nightly load of the market day that just ended."""

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg

from sugars_dagster.defs.jobs import market_daily_job
from sugars_dagster.defs.partitions import MARKET_TIMEZONE

SCHEDULE_NAME = "market_daily_schedule"


def market_day_of_tick(tick: dt.datetime) -> dt.date:
    """The market day a tick loads: the Shanghai day that ended before it (02:00 on 12-05 loads
    12-04), whatever the host's TZ."""
    return tick.astimezone(ZoneInfo(MARKET_TIMEZONE)).date() - dt.timedelta(days=1)


def build_market_daily_schedule(nightly_load_time: dt.time) -> dg.ScheduleDefinition:
    """The nightly load at `nightly_load_time` Asia/Shanghai (SUGARS_SCHEDULE_TIME). Any time after
    midnight works, since the partition for a day exists once that day is over."""
    return dg.schedule(
        name=SCHEDULE_NAME,
        job=market_daily_job,
        cron_schedule=f"{nightly_load_time.minute} {nightly_load_time.hour} * * *",
        execution_timezone=MARKET_TIMEZONE,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"{nightly_load_time:%H:%M} Asia/Shanghai: load the market day that just ended.",
    )(_evaluate)


def _evaluate(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    day = market_day_of_tick(context.scheduled_execution_time).isoformat()
    # Moving the schedule's time can make Dagster evaluate a new tick for a day an earlier
    # tick already launched (its scheduler counts ticks from its last pass, up to an hour ago).
    # One scheduled run per market day; days that failed are the catch-up sensor's.
    tick = context.scheduled_execution_time.astimezone(dt.UTC).isoformat()
    earlier = [
        run
        for run in context.instance.get_runs(
            filters=dg.RunsFilter(tags={"dagster/schedule_name": SCHEDULE_NAME, "dagster/partition": day})
        )
        # A retried evaluation of this very tick must still hand its run to the scheduler.
        if run.tags.get("dagster/scheduled_execution_time") != tick
    ]
    if earlier:
        return dg.SkipReason(f"{day} was already launched by this schedule (run {earlier[0].run_id})")
    return dg.RunRequest(partition_key=day)
