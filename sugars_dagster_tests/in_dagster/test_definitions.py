import datetime as dt
import subprocess
import sys
import textwrap
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from sugars_dagster.defs.partitions import last_complete_day
from sugars_dagster.defs.resources import source_from_env, warehouse_from_env
from sugars_dagster.errors import ConfigError
from sugars_dagster.settings import partitions_start_date
from sugars_dagster.sources.akshare_source import AkshareSource
from sugars_dagster.sources.demo_source import DemoSource
from sugars_dagster_tests.support.definitions import market_day_partitions, product_definitions

defs = product_definitions()

pytestmark = pytest.mark.clock  # depends on 'now': runs at several clocks in CI

SHANGHAI = ZoneInfo("Asia/Shanghai")
RAW_KEYS = {
    dg.AssetKey(name) for name in ("zce_sugar_bars", "usd_cny_central_parity", "baltic_dry_index", "ice_raw_sugar_bars")
}


CALENDAR_KEY = dg.AssetKey("mainland_trading_calendar")


def test_market_daily_is_fed_by_one_asset_per_source_series_and_the_calendar() -> None:
    graph = defs.resolve_asset_graph()
    assert graph.get(dg.AssetKey("market_daily")).parent_keys == RAW_KEYS | {CALENDAR_KEY}
    assert graph.get(CALENDAR_KEY).partitions_def is None  # the source lists whole years per call
    assert graph.get(dg.AssetKey("market_daily")).partitions_def == market_day_partitions()
    for key in RAW_KEYS:
        assert graph.get(key).partitions_def is None  # sources return their whole history per call


def test_the_job_covers_the_whole_graph() -> None:
    job = defs.resolve_job_def("market_daily_job")
    downstream = {"market_daily", "sugar_import_margin", "market_daily_export", "warehouse_retention"}
    assert job.asset_layer.executable_asset_keys == RAW_KEYS | {CALENDAR_KEY} | {
        dg.AssetKey(name) for name in downstream
    }
    assert job.partitions_def == market_day_partitions()


def test_lineage_runs_from_the_sources_to_the_backups() -> None:
    graph = defs.resolve_asset_graph()
    assert graph.get(dg.AssetKey("sugar_import_margin")).parent_keys == {dg.AssetKey("market_daily")}
    assert graph.get(dg.AssetKey("market_daily_export")).parent_keys == {dg.AssetKey("sugar_import_margin")}
    assert graph.get(dg.AssetKey("warehouse_retention")).parent_keys == {dg.AssetKey("market_daily_export")}


def test_every_check_sits_on_its_asset() -> None:
    checks = {(key.asset_key.to_user_string(), key.name) for key in defs.resolve_asset_graph().asset_check_keys}
    expected = {
        ("market_daily", name)
        for name in (
            "required_fields",
            "plausible_ranges",
            "day_over_day_moves",
            "input_staleness",
            "row_count",
            "unique_days",
        )
    } | {
        (key.to_user_string(), name)
        for key in RAW_KEYS
        for name in ("source_contract", "served_by_primary", "no_rows_dropped", "publication_gaps")
    }
    expected |= {("mainland_trading_calendar", "calendar_source_reached")}
    assert checks == expected


def test_partitions_are_market_days_in_shanghai_up_to_the_last_complete_day() -> None:
    assert market_day_partitions().timezone == "Asia/Shanghai"
    assert market_day_partitions().get_first_partition_key() == "2006-01-06"
    now = dt.datetime(2025, 12, 5, 0, 30, tzinfo=SHANGHAI)  # still the evening of 12-04 in UTC
    with dg.partition_loading_context(effective_dt=now):
        assert market_day_partitions().get_last_partition_key() == "2025-12-04"
    assert last_complete_day(now) == dt.date(2025, 12, 4)
    just_before = dt.datetime(2025, 12, 4, 23, 59, tzinfo=SHANGHAI)
    with dg.partition_loading_context(effective_dt=just_before):
        assert market_day_partitions().get_last_partition_key() == "2025-12-03"
    assert last_complete_day(just_before) == dt.date(2025, 12, 3)


def test_schedule_runs_by_default_at_two_in_shanghai() -> None:
    schedule = defs.resolve_schedule_def("market_daily_schedule")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "Asia/Shanghai"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert schedule.job_name == "market_daily_job"


def test_the_0200_tick_requests_the_day_that_just_ended(stored_instance) -> None:
    instance = stored_instance
    schedule = defs.resolve_schedule_def("market_daily_schedule")
    tick = dt.datetime(2025, 12, 5, 2, 0, tzinfo=SHANGHAI)
    with dg.build_schedule_context(
        instance=instance, scheduled_execution_time=tick, repository_def=defs.get_repository_def()
    ) as context:
        result = schedule.evaluate_tick(context)
    assert [request.partition_key for request in result.run_requests] == ["2025-12-04"]


def scheduled_run(instance, day: str, tick: dt.datetime) -> None:
    """A run the scheduler created for `day` at `tick`, as its tags record it."""
    instance.create_run_for_job(
        job_def=defs.resolve_job_def("market_daily_job"),
        tags={
            "dagster/schedule_name": "market_daily_schedule",
            "dagster/partition": day,
            "dagster/scheduled_execution_time": tick.astimezone(dt.UTC).isoformat(),
        },
    )


def evaluate(instance, tick: dt.datetime):
    with dg.build_schedule_context(
        instance=instance, scheduled_execution_time=tick, repository_def=defs.get_repository_def()
    ) as context:
        return defs.resolve_schedule_def("market_daily_schedule").evaluate_tick(context)


def test_a_moved_schedule_time_does_not_load_the_same_day_twice(stored_instance) -> None:
    instance = stored_instance
    # 02:00 loaded 12-04; the time is then moved to 10:30 and Dagster evaluates 10:30 the same morning.
    scheduled_run(instance, "2025-12-04", dt.datetime(2025, 12, 5, 2, 0, tzinfo=SHANGHAI))
    moved = evaluate(instance, dt.datetime(2025, 12, 5, 10, 30, tzinfo=SHANGHAI))
    assert moved.run_requests == [] and moved.skip_message.startswith(
        "2025-12-04 was already launched by this schedule"
    )
    # The next night is a new day.
    assert [
        r.partition_key for r in evaluate(instance, dt.datetime(2025, 12, 6, 10, 30, tzinfo=SHANGHAI)).run_requests
    ] == ["2025-12-05"]


def test_a_retried_evaluation_of_the_same_tick_still_requests_its_day(stored_instance) -> None:
    instance = stored_instance
    # The scheduler created the run, then died before submitting it: the retry must hand it on.
    tick = dt.datetime(2025, 12, 5, 2, 0, tzinfo=SHANGHAI)
    scheduled_run(instance, "2025-12-04", tick)
    assert [request.partition_key for request in evaluate(instance, tick).run_requests] == ["2025-12-04"]


def test_the_tick_is_the_same_on_a_host_in_another_time_zone(tmp_path) -> None:
    # A fresh interpreter with TZ set before anything reads the local zone.
    script = textwrap.dedent(
        """
        import datetime as dt, time, warnings
        warnings.simplefilter("ignore")
        assert time.tzname[0] in ("PST", "PDT"), time.tzname
        import dagster as dg
        from sugars_dagster.definitions import defs
        defs = defs()  # as Dagster loads the code location
        schedule = defs.resolve_schedule_def("market_daily_schedule")
        tick = dt.datetime(2025, 12, 4, 18, 0, tzinfo=dt.UTC)  # 02:00 on 12-05 in Shanghai
        with dg.DagsterInstance.local_temp() as instance:
            with dg.build_schedule_context(instance=instance, scheduled_execution_time=tick, repository_def=defs.get_repository_def()) as context:
                result = schedule.evaluate_tick(context)
        print(",".join(request.partition_key for request in result.run_requests))
        """
    )
    completed = subprocess.run(
        [sys.executable, "-c", script],
        env={"TZ": "America/Los_Angeles", "PATH": "/usr/bin:/bin", "SUGARS_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "2025-12-04"


def test_source_is_chosen_by_environment_and_real_by_default() -> None:
    assert isinstance(source_from_env({}), AkshareSource)
    assert isinstance(source_from_env({"SUGARS_SOURCE": "demo"}), DemoSource)
    assert isinstance(source_from_env({"SUGARS_SOURCE": " AKSHARE "}), AkshareSource)
    with pytest.raises(ConfigError, match=r"SUGARS_SOURCE='fake' is not a source; choose one of \['akshare', 'demo'\]"):
        source_from_env({"SUGARS_SOURCE": "fake"})


def test_warehouse_defaults_to_a_sqlite_file_in_the_data_folder(tmp_path) -> None:
    warehouse = warehouse_from_env({"SUGARS_DATA_DIR": str(tmp_path)})
    assert warehouse.url == f"sqlite:///{tmp_path / 'warehouse.sqlite'}"


@pytest.mark.parametrize("value", ["2006-13-01", "06-01-2006", "2006-1-6", "'; DROP TABLE market_daily; --"])
def test_a_bad_partitions_start_is_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="SUGARS_PARTITIONS_START"):
        partitions_start_date(value)


def test_partitions_start_defaults_to_srs_listing_day() -> None:
    assert partitions_start_date(None) == partitions_start_date("") == "2006-01-06"
    assert partitions_start_date("2016-01-04") == "2016-01-04"


@pytest.mark.parametrize("value", ["2", "25:00", "02:00:30", "two"])
def test_a_bad_schedule_time_is_refused(value: str) -> None:
    from sugars_dagster.settings import schedule_time

    with pytest.raises(ConfigError, match="SUGARS_SCHEDULE_TIME"):
        schedule_time(value)


def test_schedule_time_defaults_to_two_and_can_move() -> None:
    from sugars_dagster.settings import schedule_time

    assert schedule_time(None) == dt.time(2, 0)
    assert schedule_time("03:30") == dt.time(3, 30)
