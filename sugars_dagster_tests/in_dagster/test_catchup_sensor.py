"""The catch-up sensor through build_sensor_context on a real instance and warehouse."""

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster._core.definitions.run_request import InstigatorType
from dagster._core.remote_origin import RegisteredCodeLocationOrigin, RemoteInstigatorOrigin, RemoteRepositoryOrigin
from dagster._core.scheduler.instigation import (
    InstigatorState,
    InstigatorStatus,
    ScheduleInstigatorData,
    TickData,
    TickStatus,
)
from dagster._utils.error import SerializableErrorInfo

from sugars_dagster.defs.catchup_policy import CatchupPolicy
from sugars_dagster.defs.market_calendar import MarketCalendar
from sugars_dagster.defs.resources import catchup_policy_from_env
from sugars_dagster.defs.sensors.catchup import day_left_to_schedule
from sugars_dagster.errors import ConfigError
from sugars_dagster.market.calendar import trading as trading_calendar
from sugars_dagster.sources.demo_source import DemoSource
from sugars_dagster.warehouse.export import Retention
from sugars_dagster.warehouse.resource import Warehouse
from sugars_dagster.warehouse.tables import market_daily
from sugars_dagster_tests.support.definitions import DEFAULTS, market_day_partitions, product_definitions
from sugars_dagster_tests.support.runs import failure_text, run_graph

defs = product_definitions()

pytestmark = pytest.mark.clock  # depends on 'now': runs at several clocks in CI

D = dt.date
SHANGHAI = ZoneInfo("Asia/Shanghai")
SENSOR = defs.resolve_sensor_def("market_daily_catchup_sensor")


class Tick:
    """Evaluates the sensor at chosen moments, carrying its cursor from tick to tick."""

    def __init__(
        self, instance: dg.DagsterInstance, warehouse: Warehouse, move_clock, retention_days: int = 0, **policy
    ):
        self.instance, self.warehouse, self.move_clock = instance, warehouse, move_clock
        self.policy = CatchupPolicy(**({"lookback_days": 30} | policy))
        self.retention = Retention(days=retention_days)
        self.cursor: str | None = None

    def at(self, local: dt.datetime):
        self.move_clock(local)
        context = dg.build_sensor_context(
            instance=self.instance,
            cursor=self.cursor,
            resources={
                "catchup": self.policy,
                "warehouse": self.warehouse,
                "source": DemoSource(),
                "retention": self.retention,
                "calendar": MarketCalendar(),
            },
        )
        result = SENSOR.evaluate_tick(context)
        self.cursor = result.cursor
        return result


def ranges(result) -> list[tuple[str, str]]:
    return [
        (request.tags["dagster/asset_partition_range_start"], request.tags["dagster/asset_partition_range_end"])
        for request in result.run_requests or []
    ]


def load(instance, warehouse: Warehouse, first: str, last: str) -> None:
    result = run_graph(DemoSource(), warehouse, instance, partition_range=(first, last))
    assert result.success, failure_text(result)


def delete_rows(warehouse: Warehouse, *days: dt.date) -> None:
    with warehouse.engine().begin() as conn:
        conn.execute(sa.delete(market_daily).where(market_daily.c.record_date.in_(days)))


def sessions(first: dt.date, last: dt.date) -> int:
    return len(trading_calendar.snapshot_calendar().sessions_between(first, last))


AFTER_GRACE = dt.datetime(2025, 12, 5, 4, 0)  # Friday 04:00 in Shanghai, two hours after the schedule


def test_nothing_missing_says_what_it_saw(instance, sqlite_warehouse, move_clock) -> None:
    load(instance, sqlite_warehouse, "2025-11-05", "2025-12-04")
    result = Tick(instance, sqlite_warehouse, move_clock).at(AFTER_GRACE)
    assert result.run_requests == []
    count = sessions(D(2025, 11, 5), D(2025, 12, 4))
    assert result.skip_message == f"all {count} trading days since 2025-11-05 are loaded"


def test_a_three_day_outage_is_one_run(instance, sqlite_warehouse, move_clock) -> None:
    load(instance, sqlite_warehouse, "2025-11-05", "2025-12-01")
    result = Tick(instance, sqlite_warehouse, move_clock).at(AFTER_GRACE)
    assert ranges(result) == [("2025-12-02", "2025-12-04")]
    [request] = result.run_requests
    assert request.tags["sugars/trigger"] == "catchup"
    assert request.run_key == "catchup 2025-12-02...2025-12-04 attempt 1"


def test_holes_in_the_middle_are_one_run_each_newest_first(instance, sqlite_warehouse, move_clock) -> None:
    load(instance, sqlite_warehouse, "2025-11-05", "2025-11-11")
    load(instance, sqlite_warehouse, "2025-11-14", "2025-11-20")  # hole: Wed 11-12 .. Thu 11-13
    load(instance, sqlite_warehouse, "2025-11-24", "2025-12-04")  # hole: Fri 11-21 (then a weekend)
    result = Tick(instance, sqlite_warehouse, move_clock).at(AFTER_GRACE)
    # The weekend after the missing Friday is not materialized either: it joins Friday's run.
    assert ranges(result) == [("2025-11-21", "2025-11-23"), ("2025-11-12", "2025-11-13")]


def test_an_outage_over_a_weekend_is_one_run_and_then_the_partitions_view_agrees(
    instance, sqlite_warehouse, move_clock
) -> None:
    load(instance, sqlite_warehouse, "2025-11-05", "2025-11-27")  # nothing since Friday 11-28
    tick = Tick(instance, sqlite_warehouse, move_clock)
    result = tick.at(AFTER_GRACE)
    assert ranges(result) == [("2025-11-28", "2025-12-04")]
    total = sessions(D(2025, 11, 5), D(2025, 12, 4))
    [request] = result.run_requests
    # The tick list shows only "1 run requested": the run says why.
    assert request.tags["sugars/catchup_reason"] == (
        f"5 of {total} trading days since 2025-11-05 are missing; "
        "loads 5 missing trading day(s) and 2 closed day(s) as no-ops (2025-11-28 .. 2025-12-04)"
    )
    load(instance, sqlite_warehouse, "2025-11-28", "2025-12-04")  # the run the sensor asked for
    result = tick.at(AFTER_GRACE + dt.timedelta(minutes=5))
    assert result.run_requests == []
    assert result.skip_message == f"all {total} trading days since 2025-11-05 are loaded"
    window = [(D(2025, 11, 5) + dt.timedelta(days=n)).isoformat() for n in range(30)]
    statuses = instance.get_status_by_partition(dg.AssetKey("market_daily"), window, market_day_partitions())
    assert {key for key in window if statuses[key] != dg.AssetPartitionStatus.MATERIALIZED} == set()


def test_a_closed_day_in_flight_is_named_in_the_skip_reason(instance, sqlite_warehouse, move_clock) -> None:
    load(instance, sqlite_warehouse, "2025-11-05", "2025-11-28")
    load(instance, sqlite_warehouse, "2025-12-01", "2025-12-04")
    instance.add_run(
        dg.DagsterRun(
            job_name="market_daily_job",
            status=dg.DagsterRunStatus.STARTED,
            tags={
                "dagster/asset_partition_range_start": "2025-11-29",
                "dagster/asset_partition_range_end": "2025-11-30",
            },
        )
    )
    result = Tick(instance, sqlite_warehouse, move_clock).at(AFTER_GRACE)
    assert result.run_requests == []
    assert result.skip_message.endswith(
        "are loaded; 2 closed day(s) not yet materialized as no-ops (2025-11-29 .. 2025-11-30), "
        "already in flight or waiting to retry"
    )


def test_rows_deleted_behind_dagsters_back_are_missing(instance, sqlite_warehouse, move_clock) -> None:
    load(instance, sqlite_warehouse, "2025-11-05", "2025-12-04")
    delete_rows(sqlite_warehouse, D(2025, 11, 26), D(2025, 11, 27), D(2025, 11, 28))
    result = Tick(instance, sqlite_warehouse, move_clock).at(AFTER_GRACE)
    assert ranges(result) == [("2025-11-26", "2025-11-28")]


def test_a_day_in_flight_is_not_requested_again(instance, sqlite_warehouse, move_clock) -> None:
    load(instance, sqlite_warehouse, "2025-11-05", "2025-12-03")
    instance.add_run(
        dg.DagsterRun(
            job_name="market_daily_job", status=dg.DagsterRunStatus.STARTED, tags={"dagster/partition": "2025-12-04"}
        )
    )
    result = Tick(instance, sqlite_warehouse, move_clock).at(AFTER_GRACE)
    assert result.run_requests == []
    assert "1 of" in result.skip_message
    assert "1 already queued, running or due from the schedule (2025-12-04 .. 2025-12-04)" in result.skip_message


def test_a_running_range_covers_all_its_days(instance, sqlite_warehouse, move_clock) -> None:
    load(instance, sqlite_warehouse, "2025-11-05", "2025-11-30")
    instance.add_run(
        dg.DagsterRun(
            job_name="__ASSET_JOB",
            status=dg.DagsterRunStatus.STARTING,
            asset_selection={dg.AssetKey("market_daily")},
            tags={
                "dagster/asset_partition_range_start": "2025-12-01",
                "dagster/asset_partition_range_end": "2025-12-03",
            },
        )
    )
    result = Tick(instance, sqlite_warehouse, move_clock).at(AFTER_GRACE)
    assert ranges(result) == [("2025-12-04", "2025-12-04")]


def test_a_day_that_keeps_failing_is_retried_at_growing_intervals(instance, sqlite_warehouse, move_clock) -> None:
    load(instance, sqlite_warehouse, "2025-11-05", "2025-12-03")
    tick = Tick(instance, sqlite_warehouse, move_clock, retry_minutes=15)
    start = AFTER_GRACE
    # Nothing ever loads 12-04 (the runs the sensor asks for fail): it is asked for again after
    # 15, then 30, then 60 minutes, never in between, each time under a new run key.
    timeline = [
        (0, ["catchup 2025-12-04...2025-12-04 attempt 1"]),
        (5, []),
        (14, []),
        (16, ["catchup 2025-12-04...2025-12-04 attempt 2"]),
        (40, []),
        (45, []),
        (46, ["catchup 2025-12-04...2025-12-04 attempt 3"]),
        (100, []),
        (105, []),
        (106, ["catchup 2025-12-04...2025-12-04 attempt 4"]),
    ]
    for minutes, expected_keys in timeline:
        result = tick.at(start + dt.timedelta(minutes=minutes))
        assert [request.run_key for request in result.run_requests] == expected_keys, minutes
        if not expected_keys:
            assert "2025-12-04 failed" in result.skip_message and "next try after" in result.skip_message
    # Once the day is loaded the sensor forgets its failures.
    load(instance, sqlite_warehouse, "2025-12-04", "2025-12-04")
    result = tick.at(start + dt.timedelta(minutes=107))
    assert result.run_requests == [] and result.skip_message.startswith("all ")
    assert tick.cursor == '{"backoff": {}}'


def test_weekends_and_holidays_are_never_missing(instance, sqlite_warehouse, move_clock) -> None:
    # Around National Day 2025: from Sunday 09-28 (a make-up working day, exchanges closed)
    # to Thursday 10-09, only 09-29, 09-30 and 10-09 traded.
    load(instance, sqlite_warehouse, "2025-09-29", "2025-09-30")
    load(instance, sqlite_warehouse, "2025-10-09", "2025-10-09")
    tick = Tick(instance, sqlite_warehouse, move_clock, lookback_days=12)
    # No trading day is missing, but the closed days are not materialized yet: Dagster's
    # partitions view would show them missing. They are requested as no-op runs, one per stretch.
    result = tick.at(dt.datetime(2025, 10, 10, 4, 0))
    assert ranges(result) == [("2025-10-01", "2025-10-08"), ("2025-09-28", "2025-09-28")]
    assert all(
        request.tags["sugars/catchup_reason"].startswith("all 3 trading days since 2025-09-28 are loaded; loads ")
        for request in result.run_requests
    )
    load(instance, sqlite_warehouse, "2025-09-28", "2025-09-28")
    load(instance, sqlite_warehouse, "2025-10-01", "2025-10-08")
    result = tick.at(dt.datetime(2025, 10, 10, 4, 5))
    assert result.run_requests == []
    assert result.skip_message == "all 3 trading days since 2025-09-28 are loaded"


def test_yesterday_counts_only_after_the_grace_period(instance, sqlite_warehouse, move_clock) -> None:
    load(instance, sqlite_warehouse, "2025-11-05", "2025-12-03")
    tick = Tick(instance, sqlite_warehouse, move_clock, grace_minutes=60)
    for local, expected in [
        (dt.datetime(2025, 12, 5, 1, 59), []),  # the schedule has not even run
        (dt.datetime(2025, 12, 5, 2, 30), []),  # it may still be running
        (dt.datetime(2025, 12, 5, 2, 59), []),
        (dt.datetime(2025, 12, 5, 3, 1), [("2025-12-04", "2025-12-04")]),
    ]:
        assert ranges(tick.at(local)) == expected, local


def test_a_long_gap_is_one_run_even_over_the_whole_history(instance, sqlite_warehouse, move_clock) -> None:
    load(instance, sqlite_warehouse, "2025-11-05", "2025-12-04")
    result = Tick(instance, sqlite_warehouse, move_clock, lookback_days=0).at(AFTER_GRACE)
    assert ranges(result) == [("2006-01-06", "2025-11-04")]


def test_at_most_the_configured_runs_per_tick(instance, sqlite_warehouse, move_clock) -> None:
    load(instance, sqlite_warehouse, "2025-11-05", "2025-12-04")
    holes = [D(2025, 11, day) for day in (6, 10, 12, 14, 18, 20, 24)]
    delete_rows(sqlite_warehouse, *holes)
    result = Tick(instance, sqlite_warehouse, move_clock, max_runs_per_tick=5).at(AFTER_GRACE)
    assert ranges(result) == [(day.isoformat(), day.isoformat()) for day in sorted(holes, reverse=True)[:5]]


def test_the_requested_run_loads_the_gap(instance, sqlite_warehouse, move_clock) -> None:
    load(instance, sqlite_warehouse, "2025-11-05", "2025-12-01")
    [request] = Tick(instance, sqlite_warehouse, move_clock).at(AFTER_GRACE).run_requests
    result = run_graph(
        DemoSource(),
        sqlite_warehouse,
        instance,
        partition_range=(
            request.tags["dagster/asset_partition_range_start"],
            request.tags["dagster/asset_partition_range_end"],
        ),
    )
    assert result.success, failure_text(result)
    after = Tick(instance, sqlite_warehouse, move_clock).at(AFTER_GRACE + dt.timedelta(minutes=5))
    assert after.skip_message.startswith(f"all {sessions(D(2025, 11, 5), D(2025, 12, 4))} trading days")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SUGARS_CATCHUP_LOOKBACK_DAYS", "-3", "SUGARS_CATCHUP_LOOKBACK_DAYS=-3 is below 0"),
        ("SUGARS_CATCHUP_LOOKBACK_DAYS", "thirty", "SUGARS_CATCHUP_LOOKBACK_DAYS='thirty' is not a whole number"),
        ("SUGARS_CATCHUP_GRACE_MINUTES", "-1", "SUGARS_CATCHUP_GRACE_MINUTES=-1 is below 0"),
        ("SUGARS_CATCHUP_MAX_RUNS", "0", "SUGARS_CATCHUP_MAX_RUNS=0 is below 1"),
    ],
)
def test_bad_settings_are_refused_by_name(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        catchup_policy_from_env({name: value})


def test_default_policy() -> None:
    policy = catchup_policy_from_env({})
    assert (policy.lookback_days, policy.grace_minutes, policy.max_runs_per_tick, policy.retry_minutes) == (
        30,
        60,
        5,
        15,
    )
    assert SENSOR.default_status == dg.DefaultSensorStatus.RUNNING


def test_a_fresh_instance_requests_the_whole_window(instance, sqlite_warehouse, move_clock) -> None:
    result = Tick(instance, sqlite_warehouse, move_clock).at(AFTER_GRACE)
    assert ranges(result) == [("2025-11-05", "2025-12-04")]


def test_days_removed_by_retention_are_not_missing(instance, sqlite_warehouse, move_clock) -> None:
    load(instance, sqlite_warehouse, "2025-11-25", "2025-12-04")
    # Keeping 10 days on 2025-12-05 keeps 11-26 .. 12-05: the older days of the look-back are gone on purpose.
    result = Tick(instance, sqlite_warehouse, move_clock, retention_days=10).at(AFTER_GRACE)
    assert result.run_requests == []
    assert (
        result.skip_message
        == f"all {sessions(D(2025, 11, 26), D(2025, 12, 4))} trading days since 2025-11-26 are loaded"
    )


@pytest.mark.parametrize("hour", [1, 3, 17])
def test_a_run_started_hours_ago_and_never_finished_does_not_hold_its_day(
    instance, sqlite_warehouse, move_clock, hour
) -> None:
    # At every hour of the day: the run is stamped with the moved clock, and the sensor judges
    # its age by the same clock.
    now = dt.datetime(2025, 12, 10, hour, 30)
    move_clock(now)
    later = now + dt.timedelta(hours=3)
    window = trading_calendar.snapshot_calendar().sessions_between(
        later.date() - dt.timedelta(days=30), later.date() - dt.timedelta(days=2)
    )
    *loaded, missing = window
    load(instance, sqlite_warehouse, loaded[0].isoformat(), loaded[-1].isoformat())
    # A CLI run killed outright: "started" forever.
    instance.add_run(
        dg.DagsterRun(
            job_name="market_daily_job",
            status=dg.DagsterRunStatus.STARTED,
            tags={"dagster/partition": missing.isoformat()},
        )
    )
    tick = Tick(instance, sqlite_warehouse, move_clock)

    def requested(result) -> bool:
        return any(start <= missing.isoformat() <= end for start, end in ranges(result))

    assert not requested(tick.at(now + dt.timedelta(minutes=10)))
    assert requested(tick.at(later))


# --- the hand-off to the schedule after an outage ---------------------------------------------

SCHEDULE_ORIGIN = RemoteInstigatorOrigin(
    RemoteRepositoryOrigin(RegisteredCodeLocationOrigin("sugars_dagster"), "__repository__"), "market_daily_schedule"
)


def schedule_state(
    instance, *, watched_until: dt.datetime, status=InstigatorStatus.DECLARED_IN_CODE, tick=None
) -> None:
    """The schedule as the daemon leaves it: last seen at `watched_until`, maybe with one tick."""
    moment = watched_until.replace(tzinfo=SHANGHAI).timestamp()
    state = InstigatorState(
        SCHEDULE_ORIGIN, InstigatorType.SCHEDULE, status, ScheduleInstigatorData("0 2 * * *", moment - 86400, moment)
    )
    instance.add_instigator_state(state)
    if tick:
        at, tick_status = tick
        instance.create_tick(
            TickData(
                instigator_origin_id=SCHEDULE_ORIGIN.get_id(),
                instigator_name="market_daily_schedule",
                instigator_type=InstigatorType.SCHEDULE,
                status=tick_status,
                timestamp=at.replace(tzinfo=SHANGHAI).timestamp(),
                selector_id=state.selector_id,
                run_ids=[],
                error=SerializableErrorInfo("no code server", [], "DagsterUserCodeUnreachableError")
                if tick_status == TickStatus.FAILURE
                else None,
            )
        )


def test_after_an_outage_the_latest_missed_day_is_left_to_the_schedule(
    stored_instance, sqlite_warehouse, move_clock
) -> None:
    instance = stored_instance
    # The daemon went down on Monday 12-01 at 12:00 and is back on Friday 12-05 at 04:00; its
    # scheduler will launch only the 02:00 tick of 12-05 (partition 12-04), the sensor the rest.
    load(instance, sqlite_warehouse, "2025-11-03", "2025-11-30")  # the weekend loaded before the outage
    schedule_state(instance, watched_until=dt.datetime(2025, 12, 1, 12, 0))
    result = Tick(instance, sqlite_warehouse, move_clock).at(AFTER_GRACE)
    assert ranges(result) == [("2025-12-01", "2025-12-03")]


@pytest.mark.parametrize(
    ("status", "tick", "left_to_schedule"),
    [
        (InstigatorStatus.DECLARED_IN_CODE, None, True),  # not evaluated since the outage
        (InstigatorStatus.RUNNING, None, True),
        (InstigatorStatus.STOPPED, None, False),  # nobody else will load it
        (
            InstigatorStatus.DECLARED_IN_CODE,
            (dt.datetime(2025, 12, 5, 2, 0), TickStatus.STARTED),
            True,
        ),  # launching now
        (
            InstigatorStatus.DECLARED_IN_CODE,
            (dt.datetime(2025, 12, 5, 2, 0), TickStatus.SUCCESS),
            False,
        ),  # its run exists
        (InstigatorStatus.DECLARED_IN_CODE, (dt.datetime(2025, 12, 5, 2, 0), TickStatus.FAILURE), False),
        (
            InstigatorStatus.DECLARED_IN_CODE,
            (dt.datetime(2025, 12, 4, 2, 0), TickStatus.SUCCESS),
            True,
        ),  # the day before's
    ],
    ids=["declared", "running", "stopped", "tick-started", "tick-succeeded", "tick-failed", "older-tick"],
)
def test_the_day_is_left_to_the_schedule_only_while_it_will_launch_it(
    stored_instance, status, tick, left_to_schedule: bool
) -> None:
    instance = stored_instance
    schedule_state(instance, watched_until=dt.datetime(2025, 12, 4, 3, 0), status=status, tick=tick)
    now = AFTER_GRACE.replace(tzinfo=SHANGHAI)
    assert day_left_to_schedule(instance, now, DEFAULTS.nightly_load_time) == (
        D(2025, 12, 4) if left_to_schedule else None
    )


def test_a_schedule_that_started_watching_after_the_tick_leaves_nothing(stored_instance) -> None:
    instance = stored_instance
    # A first start at 03:00: the scheduler does not go back to 02:00.
    schedule_state(instance, watched_until=dt.datetime(2025, 12, 5, 3, 0))
    assert day_left_to_schedule(instance, AFTER_GRACE.replace(tzinfo=SHANGHAI), DEFAULTS.nightly_load_time) is None
