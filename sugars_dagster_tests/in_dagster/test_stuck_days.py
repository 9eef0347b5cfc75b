"""Years of unattended ticks: a day that never loads, extreme settings, any cursor and any clock
must neither stop the catch-up of other days nor raise, and one problem sends one alert."""

import datetime as dt
import json
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
import sqlalchemy as sa
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sugars_dagster.defs.alerts import Alerter
from sugars_dagster.defs.catchup_policy import CatchupPolicy
from sugars_dagster.defs.market_calendar import MarketCalendar
from sugars_dagster.defs.resources import catchup_policy_from_env
from sugars_dagster.errors import ConfigError
from sugars_dagster.market.series import Series
from sugars_dagster.sources.demo_source import DemoSource
from sugars_dagster.warehouse.export import Retention
from sugars_dagster.warehouse.resource import Warehouse
from sugars_dagster.warehouse.tables import RAW_TABLES
from sugars_dagster_tests.support.alert_inbox import alert_inbox
from sugars_dagster_tests.support.definitions import product_definitions
from sugars_dagster_tests.support.fake_sources import DemoWithoutSugarBar
from sugars_dagster_tests.support.runs import GRAPH, failure_text, memory_export, run_graph

defs = product_definitions()

pytestmark = pytest.mark.clock  # depends on 'now': runs at several clocks in CI

D = dt.date
SHANGHAI = ZoneInfo("Asia/Shanghai")
CATCHUP = defs.resolve_sensor_def("market_daily_catchup_sensor")
FRESHNESS = defs.resolve_sensor_def("market_daily_freshness_sensor")
FAILURE_ALERTS = defs.resolve_sensor_def("market_daily_failure_alert_sensor")
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def catchup_tick(instance, warehouse: Warehouse, cursor: str | None, policy: CatchupPolicy, source=None):
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={
            "catchup": policy,
            "warehouse": warehouse,
            "source": source or DemoSource(),
            "retention": Retention(),
            "calendar": MarketCalendar(),
        },
    )
    return CATCHUP.evaluate_tick(context)


def requested_ranges(result) -> list[tuple[str, str]]:
    return [(request.tags[RANGE_START], request.tags[RANGE_END]) for request in result.run_requests or []]


def launch(request: dg.RunRequest, source, warehouse: Warehouse, instance) -> dg.ExecuteInProcessResult:
    """Run what the sensor asked for, with its tags, as the daemon would."""
    return dg.materialize(
        GRAPH,
        tags=dict(request.tags),
        resources={
            "source": source,
            "warehouse": warehouse,
            "export": memory_export(),
            "retention": Retention(),
            "calendar": MarketCalendar(),
        },
        instance=instance,
        raise_on_error=False,
    )


def alert_on_failure(instance, result: dg.ExecuteInProcessResult, alerter: Alerter) -> None:
    [failure] = instance.all_logs(result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    context = dg.build_run_status_sensor_context(
        sensor_name=FAILURE_ALERTS.name,
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(result.run_id),
        dagster_event=failure.dagster_event,
        resources={"alerter": alerter},
    ).for_run_failure()
    FAILURE_ALERTS(context)


def loaded_days(warehouse: Warehouse, first: dt.date, last: dt.date) -> set[dt.date]:
    return warehouse.market_daily_dates(first, last)


# --- a day that cannot load holds back no other ---------------------------------------------


def test_in_an_outage_the_loadable_days_arrive_within_one_retry_and_the_stuck_one_alerts_once(
    instance, sqlite_warehouse, move_clock
) -> None:
    """An outage over Mon 12-01 .. Fri 12-05 where 12-03 never gets a bar."""
    move_clock(dt.datetime(2025, 12, 1, 1, 0))  # the outage starts: the weekend loaded, nothing of December
    assert run_graph(DemoSource(), sqlite_warehouse, instance, partition_range=("2025-11-03", "2025-11-30")).success
    source = DemoWithoutSugarBar(missing_day="2025-12-03")
    policy = CatchupPolicy(retry_minutes=15)
    start = dt.datetime(2025, 12, 6, 4, 0)
    cursor = None
    with alert_inbox() as inbox:
        alerter = Alerter(urls=inbox.url)

        def tick_and_run(minutes: int) -> list[tuple[str, str]]:
            nonlocal cursor
            move_clock(start + dt.timedelta(minutes=minutes))
            result = catchup_tick(instance, sqlite_warehouse, cursor, policy, source)
            cursor = result.cursor
            for request in result.run_requests or []:
                run = launch(request, source, sqlite_warehouse, instance)
                if not run.success:
                    assert "no bar for trading day 2025-12-03 yet" in failure_text(run)
                    alert_on_failure(instance, run, alerter)
            return requested_ranges(result)

        assert tick_and_run(0) == [("2025-12-01", "2025-12-05")]  # one run for the gap: it fails
        assert len(inbox.messages) == 1
        assert tick_and_run(14) == []
        # One retry interval after the failure, each day of the gap is its own run.
        assert tick_and_run(15) == [(f"2025-12-0{day}", f"2025-12-0{day}") for day in (5, 4, 3, 2, 1)]
        assert loaded_days(sqlite_warehouse, D(2025, 12, 1), D(2025, 12, 5)) == {D(2025, 12, d) for d in (1, 2, 4, 5)}
        # 12-03 goes on being retried, at growing intervals, and alerts no more.
        assert tick_and_run(44) == []
        assert tick_and_run(45) == [("2025-12-03", "2025-12-03")]
        assert tick_and_run(105) == [("2025-12-03", "2025-12-03")]
        assert len(inbox.messages) == 1
        assert "failed for 2025-12-01 .. 2025-12-05" in inbox.messages[0]["title"]

    # Dagster's partition status agrees with the warehouse.
    statuses = instance.get_status_by_partition(
        dg.AssetKey("market_daily"),
        [f"2025-12-0{day}" for day in range(1, 6)],
        defs.resolve_job_def("market_daily_job").partitions_def,
    )
    # With DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS (scripts/*), Dagster shows the days of
    # a failed range run as missing rather than failed; either way not materialized.
    assert statuses.pop("2025-12-03") in (dg.AssetPartitionStatus.FAILED, None)
    assert statuses == {
        "2025-12-01": dg.AssetPartitionStatus.MATERIALIZED,
        "2025-12-02": dg.AssetPartitionStatus.MATERIALIZED,
        "2025-12-04": dg.AssetPartitionStatus.MATERIALIZED,
        "2025-12-05": dg.AssetPartitionStatus.MATERIALIZED,
    }


def test_a_failure_alerted_once_is_not_repeated_by_the_freshness_alarm_and_a_new_one_alerts_again(
    instance, sqlite_warehouse, move_clock
) -> None:
    move_clock(dt.datetime(2025, 12, 4, 10, 0))  # before 12-04's bar is final: none is landed
    assert run_graph(DemoSource(), sqlite_warehouse, instance, partition_range=("2025-11-24", "2025-12-03")).success
    broken = DemoWithoutSugarBar(missing_day="2025-12-04")
    freshness_resources = {"warehouse": sqlite_warehouse, "source": DemoSource(), "calendar": MarketCalendar()}
    with alert_inbox() as inbox:
        alerter = Alerter(urls=inbox.url)
        move_clock(dt.datetime(2025, 12, 5, 2, 0))
        night = run_graph(broken, sqlite_warehouse, instance, partition="2025-12-04")
        assert not night.success
        alert_on_failure(instance, night, alerter)
        assert len(inbox.messages) == 1

        move_clock(dt.datetime(2025, 12, 5, 9, 5))
        stale = FRESHNESS.evaluate_tick(
            dg.build_sensor_context(instance=instance, resources={**freshness_resources, "alerter": alerter})
        )
        assert "expected 2025-12-04" in stale.skip_message and "its failure was alerted already" in stale.skip_message
        assert len(inbox.messages) == 1

        # The day loads, then fails again later: a new problem, a new alert.
        move_clock(dt.datetime(2025, 12, 5, 10, 0))
        assert run_graph(DemoSource(), sqlite_warehouse, instance, partition="2025-12-04").success
        move_clock(dt.datetime(2025, 12, 5, 11, 0))
        with sqlite_warehouse.engine().begin() as conn:  # the bar is gone again
            table = RAW_TABLES[Series.ZCE_SUGAR]
            conn.execute(sa.delete(table).where(table.c.trade_date == D(2025, 12, 4)))
        again = run_graph(broken, sqlite_warehouse, instance, partition="2025-12-04")
        assert not again.success
        alert_on_failure(instance, again, alerter)
        assert len(inbox.messages) == 2


# --- a stuck day for weeks --------------------------------------------------------------------


def test_a_day_that_never_loads_is_retried_for_weeks_without_breaking_the_sensor(
    instance, sqlite_warehouse, move_clock
) -> None:
    # Every request fails (nothing loads 12-04); the sensor is asked at each retry time for
    # 60 tries, well past the 37th, where the delay used to overflow and every tick raised.
    assert run_graph(DemoSource(), sqlite_warehouse, instance, partition_range=("2025-10-06", "2025-12-03")).success
    policy = CatchupPolicy(lookback_days=60)
    moment = dt.datetime(2025, 12, 5, 4, 0, tzinfo=SHANGHAI)
    cursor = None
    keys: list[str] = []
    ticks = 0
    while len(keys) < 60 and ticks < 400:
        move_clock(moment)
        result = catchup_tick(instance, sqlite_warehouse, cursor, policy)
        ticks += 1
        cursor = result.cursor
        # Newer days go missing as the weeks pass (nothing loads); only the stuck day is followed.
        keys += [
            request.run_key for request in result.run_requests if request.run_key.startswith("catchup 2025-12-04...")
        ]
        next_try = dt.datetime.fromisoformat(json.loads(cursor)["backoff"]["2025-12-04"]["next_try"])
        moment = max(next_try, moment + dt.timedelta(minutes=2))  # the next tick after it is due
    assert keys[0] == "catchup 2025-12-04...2025-12-04 attempt 1"
    assert keys[-1] == "catchup 2025-12-04...2025-12-04 attempt 60"
    assert len(keys) == 60
    # Past the ceiling, once a day.
    assert next_try - moment < dt.timedelta(hours=24, minutes=1)


# --- settings -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SUGARS_CATCHUP_LOOKBACK_DAYS", "1000000", "SUGARS_CATCHUP_LOOKBACK_DAYS=1000000 is above 7305"),
        ("SUGARS_CATCHUP_RETRY_MINUTES", "1e12", "SUGARS_CATCHUP_RETRY_MINUTES='1e12' is not a whole number"),
        ("SUGARS_CATCHUP_RETRY_MINUTES", "1000000000000", "SUGARS_CATCHUP_RETRY_MINUTES=1000000000000 is above 1440"),
        ("SUGARS_CATCHUP_RETRY_CEILING_HOURS", "100000", "SUGARS_CATCHUP_RETRY_CEILING_HOURS=100000 is above 168"),
        ("SUGARS_CATCHUP_MAX_RUNS", "1000", "SUGARS_CATCHUP_MAX_RUNS=1000 is above 100"),
        ("SUGARS_CATCHUP_GRACE_MINUTES", "99999", "SUGARS_CATCHUP_GRACE_MINUTES=99999 is above 1200"),
    ],
)
def test_settings_that_would_break_ticks_are_refused_at_load_by_name(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        catchup_policy_from_env({name: value})


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SUGARS_RETENTION_DAYS", "10000000", "SUGARS_RETENTION_DAYS=10000000 is above 36500"),
        ("SUGARS_SOURCE_ATTEMPTS", "1000", "SUGARS_SOURCE_ATTEMPTS=1000 is above 10"),
        ("SUGARS_SOURCE_TIMEOUT_SECONDS", "86400", "SUGARS_SOURCE_TIMEOUT_SECONDS=86400 is above 600"),
    ],
)
def test_every_numeric_setting_has_an_upper_bound(name: str, value: str, message: str) -> None:
    from sugars_dagster.defs import resources

    with pytest.raises(ConfigError, match=message):
        if name == "SUGARS_RETENTION_DAYS":
            resources.retention_from_env({name: value})
        else:
            resources.source_from_env({"SUGARS_SOURCE": "akshare", name: value})


# --- no cursor, setting or clock makes a tick raise ------------------------------------------------

policies = st.builds(
    CatchupPolicy,
    lookback_days=st.integers(min_value=0, max_value=7305),
    grace_minutes=st.integers(min_value=0, max_value=1200),
    max_runs_per_tick=st.integers(min_value=1, max_value=100),
    retry_minutes=st.integers(min_value=1, max_value=1440),
    retry_ceiling_hours=st.integers(min_value=1, max_value=168),
)
cursors = st.one_of(
    st.none(),
    st.text(max_size=60),
    st.dictionaries(
        st.one_of(
            st.dates(min_value=D(2000, 1, 1), max_value=D(2100, 1, 1)).map(dt.date.isoformat), st.text(max_size=10)
        ),
        st.fixed_dictionaries(
            {
                "attempts": st.one_of(st.integers(min_value=-10, max_value=10**12), st.text(max_size=3)),
                "next_try": st.one_of(
                    st.datetimes(min_value=dt.datetime(1, 1, 2), timezones=st.just(dt.UTC)).map(dt.datetime.isoformat),
                    st.text(max_size=10),
                ),
            }
        ),
        max_size=6,
    ).map(lambda entries: json.dumps({"backoff": entries})),
)
clocks = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2060, 12, 31), timezones=st.just(dt.UTC))


def test_no_cursor_setting_or_clock_makes_a_catchup_tick_raise(instance, sqlite_warehouse) -> None:
    assert run_graph(DemoSource(), sqlite_warehouse, instance, partition_range=("2025-11-24", "2025-12-03")).success

    @settings(suppress_health_check=[HealthCheck.too_slow])
    @given(cursor=cursors, policy=policies, now=clocks)
    def tick_never_raises(cursor: str | None, policy: CatchupPolicy, now: dt.datetime) -> None:
        with time_machine.travel(now, tick=False):
            result = catchup_tick(instance, sqlite_warehouse, cursor, policy)
        # What it leaves behind is a cursor the next tick reads without a warning.
        context_cursor = result.cursor
        assert context_cursor is None or json.loads(context_cursor)["backoff"] is not None
        assert result.run_requests or result.skip_message

    tick_never_raises()


def test_a_warehouse_that_does_not_answer_is_a_skipped_tick_not_a_failed_one(instance, tmp_path, move_clock) -> None:
    unreachable = Warehouse(url=f"sqlite:///{tmp_path / 'no-such-dir' / 'x' / '..' / 'warehouse.sqlite'}")
    blocked = tmp_path / "no-such-dir"
    blocked.write_text("a file where the warehouse's folder should be")
    move_clock(dt.datetime(2025, 12, 5, 4, 0))
    result = catchup_tick(instance, unreachable, '{"backoff": {}}', CatchupPolicy())
    assert result.run_requests == []
    assert "could not check at 2025-12-05 04:00 Asia/Shanghai" in result.skip_message
    assert result.cursor == '{"backoff": {}}'  # kept for the next tick
