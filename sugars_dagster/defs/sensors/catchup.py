"""`market_daily_catchup_sensor`: find trading days that are missing and load them.

A day is missing when Dagster has no successful materialization of it, or when it has one but the
warehouse has no row (rows deleted, a database restored from an old backup). The sensor replaces
the old service's start-up catch-up: after an outage Dagster's schedule runs only its latest
missed tick, and the sensor loads the rest, leaving that one day to the schedule.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg

from sugars_dagster import clock

# The scheduler's stored state has no public API; read only, against the pinned release.
from sugars_dagster.dagster_private import InstigatorStatus, InstigatorType, ScheduleInstigatorData, TickStatus
from sugars_dagster.defs.catchup_policy import CatchupPolicy
from sugars_dagster.defs.jobs import market_daily_job
from sugars_dagster.defs.market_calendar import MarketCalendar
from sugars_dagster.defs.partitions import (
    MARKET_TIMEZONE,
    RANGE_END_TAG,
    RANGE_START_TAG,
    run_days,
)
from sugars_dagster.defs.schedules import SCHEDULE_NAME
from sugars_dagster.defs.sensors.never_raise import tick_or_skip
from sugars_dagster.market.calendar.days import days_between
from sugars_dagster.market.calendar.trading import DayStatus, TradingCalendar
from sugars_dagster.market.catchup_plan import CatchupPlan, CatchupState, catchup_window, plan_catchup
from sugars_dagster.market.series import Series
from sugars_dagster.sources.base import MarketSource
from sugars_dagster.warehouse.export import Retention
from sugars_dagster.warehouse.resource import Warehouse

MARKET_DAILY = dg.AssetKey("market_daily")
TRIGGER_TAG = "sugars/trigger"
REASON_TAG = "sugars/catchup_reason"
IN_FLIGHT_STATUSES = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]
SHANGHAI = ZoneInfo(MARKET_TIMEZONE)

# A run still "started" after this long is dead: one killed outright (kill -9 of a CLI run)
# keeps that status forever, and must not hold its days out of the catch-up. Runs the daemon
# launched are failed by their code server or by run monitoring long before this.
DEAD_AFTER = dt.timedelta(hours=2)


def days_in_flight(instance: dg.DagsterInstance, first: dt.date, last: dt.date, now: dt.datetime) -> set[dt.date]:
    """Days in [first, last] that a queued or running run is already loading into market_daily."""
    flying: set[dt.date] = set()
    for record in instance.get_run_records(filters=dg.RunsFilter(statuses=IN_FLIGHT_STATUSES)):
        run = record.dagster_run
        began = record.start_time or record.create_timestamp.timestamp()
        if now.timestamp() - began > DEAD_AFTER.total_seconds():
            continue
        if run.asset_selection is not None and MARKET_DAILY not in run.asset_selection:
            continue
        if run.asset_selection is None and run.job_name != market_daily_job.name:
            continue
        # Unreadable tags (a hand-made run) hold no day rather than stopping the sensor.
        flying |= {day for day in run_days(run.tags) if first <= day <= last}
    return flying


def day_left_to_schedule(instance: dg.DagsterInstance, now: dt.datetime, schedule_time: dt.time) -> dt.date | None:
    """The day whose nightly tick is due but not yet handled by the running schedule, if any.

    When the daemon comes back after an outage, its scheduler and its sensors start at the same
    moment, and the scheduler launches the latest missed tick. Without this hand-off the sensor
    could request the same day before that run exists, and the day would load twice.
    """
    if instance.schedule_storage is None:
        return None  # an in-memory instance: no scheduler can run against it
    local = now.astimezone(SHANGHAI)
    tick = dt.datetime.combine(local.date(), schedule_time, tzinfo=SHANGHAI)
    if tick > local:
        tick -= dt.timedelta(days=1)
    for state in instance.all_instigator_state(instigator_type=InstigatorType.SCHEDULE):
        if state.instigator_name != SCHEDULE_NAME or state.status == InstigatorStatus.STOPPED:
            continue
        day = tick.date() - dt.timedelta(days=1)
        latest = instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=1)
        if latest and latest[0].timestamp >= tick.timestamp():
            if latest[0].status == TickStatus.STARTED:
                return day  # launching its run right now
            continue  # handled: its run exists, or the tick failed or skipped and the day is ours
        # The scheduler launches only ticks after it started watching and after its last pass.
        data = state.instigator_data
        if isinstance(data, ScheduleInstigatorData):
            seen_until = max(data.start_timestamp or 0.0, data.last_iteration_timestamp or 0.0)
            if seen_until < tick.timestamp():
                return day
    return None


def _situation(plan: CatchupPlan, expected: list[dt.date], first: dt.date) -> str:
    """What the sensor saw, in one line: the trading days loaded or missing, and the closed days
    it still has to materialize as no-ops."""
    if not plan.missing:
        return f"all {len(expected)} trading days since {first} are loaded"
    return f"{len(plan.missing)} of {len(expected)} trading days since {first} are missing"


def _skip_message(plan: CatchupPlan, expected: list[dt.date], first: dt.date) -> str:
    parts = [_situation(plan, expected, first)]
    if plan.in_flight:
        parts.append(
            f"{len(plan.in_flight)} already queued, running or due from the schedule "
            f"({plan.in_flight[0]} .. {plan.in_flight[-1]})"
        )
    if plan.closed:
        parts.append(
            f"{len(plan.closed)} closed day(s) not yet materialized as no-ops "
            f"({plan.closed[0]} .. {plan.closed[-1]}), already in flight or waiting to retry"
        )
    for day, backoff in sorted(plan.waiting.items()):
        parts.append(
            f"{day} failed {backoff.attempts} time(s), next try after "
            f"{backoff.next_try.astimezone(SHANGHAI):%Y-%m-%d %H:%M} Asia/Shanghai"
        )
    return "; ".join(parts)


def _request_reason(plan: CatchupPlan, expected: list[dt.date], first: dt.date, start: dt.date, end: dt.date) -> str:
    """Why a run was requested, for its `sugars/catchup_reason` tag and the tick's log."""
    trading = sum(1 for day in plan.missing if start <= day <= end)
    closed = sum(1 for day in plan.closed if start <= day <= end)
    loads = [f"{trading} missing trading day(s)"] if trading else []
    loads += [f"{closed} closed day(s) as no-ops"] if closed else []
    return f"{_situation(plan, expected, first)}; loads {' and '.join(loads)} ({start} .. {end})"


def build_catchup_sensor(
    partitions: dg.DailyPartitionsDefinition, schedule_time: dt.time, interval_seconds: int
) -> dg.SensorDefinition:
    """The catch-up sensor over these partitions, leaving the day of the `schedule_time` tick to
    the schedule, evaluated every `interval_seconds` (SUGARS_CATCHUP_INTERVAL_SECONDS)."""

    def market_daily_catchup_sensor(
        context: dg.SensorEvaluationContext,
        catchup: CatchupPolicy,
        warehouse: Warehouse,
        source: MarketSource,
        retention: Retention,
        calendar: MarketCalendar,
    ) -> dg.SensorResult:
        now = clock.now()
        return tick_or_skip(
            context,
            now,
            "catch-up",
            lambda: _evaluate(context, now, catchup, warehouse, source, retention, calendar, partitions, schedule_time),
        )

    return dg.sensor(
        name="market_daily_catchup_sensor",
        job=market_daily_job,
        minimum_interval_seconds=interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Loads trading days missing from market_daily (in Dagster or in the warehouse), "
        "one run per gap, retrying failing days one run each at growing intervals.",
    )(market_daily_catchup_sensor)


def _expected_days(
    first: dt.date, last: dt.date, warehouse: Warehouse, source: MarketSource, calendar: TradingCalendar
) -> list[dt.date]:
    """Trading days in [first, last]; past the calendar's coverage the sugar bars decide which
    weekdays traded, and a weekday nothing decides yet counts (its run explains why it fails)."""
    bar_dates: set[dt.date] = set()
    if last > calendar.known_through:
        since = max(first, calendar.known_through)
        bar_dates = set(
            warehouse.read_series(Series.ZCE_SUGAR, source.providers(Series.ZCE_SUGAR), since, dt.date.max)[
                "trade_date"
            ]
        )
    return [
        day
        for day in days_between(first, last)
        if calendar.day_status(day, bar_dates) in (DayStatus.TRADING, DayStatus.UNKNOWN)
    ]


def _loaded_and_in_flight(
    instance: dg.DagsterInstance,
    expected: list[dt.date],
    first: dt.date,
    last: dt.date,
    warehouse: Warehouse,
    now: dt.datetime,
    partitions: dg.DailyPartitionsDefinition,
    schedule_time: dt.time,
) -> tuple[set[dt.date], set[dt.date], set[dt.date]]:
    """The expected days that are loaded (materialized and in the warehouse); the days of the
    window a run, the asset's in-progress status or the schedule's due tick is already loading;
    and the closed days of the window Dagster does not show as materialized."""
    window = days_between(first, last)
    # None until the asset's first materialization.
    statuses = instance.get_status_by_partition(MARKET_DAILY, [day.isoformat() for day in window], partitions) or {}
    in_warehouse = warehouse.market_daily_dates(first, last)
    loaded = {
        day
        for day in expected
        if statuses.get(day.isoformat()) == dg.AssetPartitionStatus.MATERIALIZED and day in in_warehouse
    }
    in_flight = days_in_flight(instance, first, last, now) | {
        day for day in window if statuses.get(day.isoformat()) == dg.AssetPartitionStatus.IN_PROGRESS
    }
    if (scheduled := day_left_to_schedule(instance, now, schedule_time)) is not None:
        in_flight.add(scheduled)
    trading = set(expected)
    unfilled_closed = {
        day
        for day in window
        if day not in trading and statuses.get(day.isoformat()) != dg.AssetPartitionStatus.MATERIALIZED
    }
    return loaded, in_flight, unfilled_closed


def _run_request(
    context: dg.SensorEvaluationContext, start: dt.date, end: dt.date, attempt: int, reason: str
) -> dg.RunRequest:
    context.log.info(f"requesting {start} .. {end} (attempt {attempt}): {reason}")
    return dg.RunRequest(
        # The attempt number keeps a retried range from being dropped as a duplicate:
        # Dagster never launches the same run key twice.
        run_key=f"catchup {start}...{end} attempt {attempt}",
        tags={
            RANGE_START_TAG: start.isoformat(),
            RANGE_END_TAG: end.isoformat(),
            TRIGGER_TAG: "catchup",
            # A tick that requests runs shows no message in the tick list; the run carries why.
            REASON_TAG: reason,
        },
    )


def _evaluate(
    context: dg.SensorEvaluationContext,
    now: dt.datetime,
    catchup: CatchupPolicy,
    warehouse: Warehouse,
    source: MarketSource,
    retention: Retention,
    market_calendar: MarketCalendar,
    partitions: dg.DailyPartitionsDefinition,
    schedule_time: dt.time,
) -> dg.SensorResult:
    first, last = catchup_window(
        now,
        lookback_days=catchup.lookback_days,
        grace=dt.timedelta(minutes=catchup.grace_minutes),
        schedule_time=schedule_time,
        timezone=SHANGHAI,
        history_start=partitions.start.date(),
    )
    # Days that retention removes on purpose are not missing.
    kept_from = retention.cutoff(now.astimezone(SHANGHAI).date())
    first = max(first, kept_from) if kept_from else first
    retry_ceiling = dt.timedelta(hours=catchup.retry_ceiling_hours)
    state, cursor_warnings = CatchupState.from_cursor(context.cursor, now, retry_ceiling)
    for warning in cursor_warnings:
        context.log.warning(warning)
    if last < first:
        return dg.SensorResult(
            skip_reason=f"no market day to check yet (window {first} .. {last})", cursor=state.to_cursor()
        )

    expected = _expected_days(first, last, warehouse, source, market_calendar.load(warehouse, source))
    loaded, in_flight, unfilled_closed = _loaded_and_in_flight(
        context.instance, expected, first, last, warehouse, now, partitions, schedule_time
    )
    plan = plan_catchup(
        now=now,
        expected=expected,
        loaded=loaded,
        in_flight=in_flight,
        state=state,
        max_runs=catchup.max_runs_per_tick,
        retry_base=dt.timedelta(minutes=catchup.retry_minutes),
        retry_ceiling=retry_ceiling,
        unfilled_closed=unfilled_closed,
    )
    if not plan.ranges:
        return dg.SensorResult(skip_reason=_skip_message(plan, expected, first), cursor=plan.state.to_cursor())

    requests = [
        _run_request(
            context, start, end, plan.attempts[(start, end)], _request_reason(plan, expected, first, start, end)
        )
        for start, end in plan.ranges
    ]
    if plan.deferred:
        context.log.info(f"{len(plan.deferred)} more missing day(s) wait for the next tick: {plan.deferred}")
    return dg.SensorResult(run_requests=requests, cursor=plan.state.to_cursor())
