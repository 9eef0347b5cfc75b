"""The daemon, a code server and the shipped configuration, with nobody launching anything."""

import datetime as dt
import os
import subprocess
import time
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
import sqlalchemy as sa

from sugars_dagster.market.calendar import trading as trading_calendar
from sugars_dagster.market.catchup_plan import catchup_window
from sugars_dagster.settings import SR_LISTING_DATE
from sugars_dagster.warehouse.resource import Warehouse
from sugars_dagster.warehouse.tables import market_daily
from sugars_dagster_tests.support.alert_inbox import alert_inbox
from sugars_dagster_tests.support.cli import DAGSTER, FAST_EVENT_SETTINGS, instance_at, materialize_args
from sugars_dagster_tests.support.definitions import DEFAULTS
from sugars_dagster_tests.support.environment import product_environment
from sugars_dagster_tests.support.processes import BIN, ROOT, free_port, process, wait_for
from sugars_dagster_tests.support.runs import overlaps, step_intervals

pytestmark = pytest.mark.cli

LOOKBACK_DAYS = 10


def product_env(tmp_path, **extra: str) -> dict[str, str]:
    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
    # An instance in use already has its storage and its pool; creating them from several
    # processes at once races inside Dagster (its SQLite migrations, the pool's first limit).
    subprocess.run(
        [DAGSTER, "instance", "concurrency", "set", "market_warehouse", "1"],
        env={**os.environ, "DAGSTER_HOME": str(home)},
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    return product_environment(
        FAST_EVENT_SETTINGS,
        {"DAGSTER_HOME": str(home), "SUGARS_SOURCE": "demo", "SUGARS_DATA_DIR": str(tmp_path / "data")},
        extra,
    )


def expected_days() -> list[dt.date]:
    first, last = catchup_window(
        dt.datetime.now(dt.UTC),
        lookback_days=LOOKBACK_DAYS,
        grace=dt.timedelta(minutes=60),
        schedule_time=DEFAULTS.nightly_load_time,
        timezone=ZoneInfo("Asia/Shanghai"),
        history_start=dt.date.fromisoformat(SR_LISTING_DATE),
    )
    return trading_calendar.snapshot_calendar().sessions_between(first, last)


def catchup_runs(home) -> list[dg.DagsterRun]:
    with instance_at(home) as instance:
        return list(instance.get_runs(filters=dg.RunsFilter(tags={"sugars/trigger": "catchup"})))


def latest_skip_message(home, sensor_name: str) -> str | None:
    with instance_at(home) as instance:
        for state in instance.all_instigator_state():
            if state.instigator_name == sensor_name:
                ticks = instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=1)
                return ticks[0].skip_reason if ticks else None
    return None


def test_the_daemon_finds_deleted_days_and_loads_them_once(tmp_path) -> None:
    port = free_port()
    env = product_env(
        tmp_path,
        SUGARS_CATCHUP_INTERVAL_SECONDS="5",
        SUGARS_CATCHUP_LOOKBACK_DAYS=str(LOOKBACK_DAYS),
        SUGARS_CODE_SERVER_HOST="127.0.0.1",
        SUGARS_CODE_SERVER_PORT=str(port),
    )
    home = tmp_path / "dagster_home"
    warehouse = Warehouse(url=f"sqlite:///{tmp_path / 'data' / 'warehouse.sqlite'}")
    expected = expected_days()
    assert len(expected) >= 5

    def loaded_days() -> set[dt.date]:
        return warehouse.market_daily_dates(expected[0], expected[-1])

    code_server = [
        str(BIN / "dagster"),
        "code-server",
        "start",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        "-m",
        "sugars_dagster.definitions",
    ]
    daemon = [str(BIN / "dagster-daemon"), "run", "-w", str(ROOT / "workspace.yaml")]
    with process(code_server, env, tmp_path / "code_server.log"), process(daemon, env, tmp_path / "daemon.log"):

        def sensor_says_all_loaded() -> bool:
            message = latest_skip_message(home, "market_daily_catchup_sensor") or ""
            return message.startswith(f"all {len(expected)} trading days since")

        # An empty warehouse: the sensor fills the whole window by itself, in one run.
        wait_for(lambda: loaded_days() == set(expected), 240, "the sensor to fill the look-back window")
        wait_for(sensor_says_all_loaded, 60, "the sensor to report every day loaded")
        assert len(catchup_runs(home)) == 1

        deleted = expected[-4:-1]  # three consecutive trading days
        with warehouse.engine().begin() as conn:
            conn.execute(sa.delete(market_daily).where(market_daily.c.record_date.in_(deleted)))
        wait_for(lambda: loaded_days() == set(expected), 120, "the sensor to load the deleted days again")
        wait_for(sensor_says_all_loaded, 60, "the sensor to report every day loaded again")

    runs = catchup_runs(home)
    assert len(runs) == 2
    refill = next(run for run in runs if run.tags["dagster/asset_partition_range_start"] == deleted[0].isoformat())
    assert refill.tags["dagster/asset_partition_range_end"] == deleted[-1].isoformat()
    assert all(run.status == dg.DagsterRunStatus.SUCCESS for run in runs)
    with warehouse.engine().connect() as conn:
        writers = conn.execute(
            sa.select(market_daily.c.record_date, market_daily.c.run_id).where(market_daily.c.record_date.in_(deleted))
        ).all()
    assert {run_id for _, run_id in writers} == {refill.run_id}


def test_two_launches_of_the_same_day_at_once_are_serialized(tmp_path) -> None:
    env = product_env(tmp_path)
    launches = [
        subprocess.Popen(
            [DAGSTER, *materialize_args("--partition", "2025-12-04")],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [launch.communicate(timeout=300)[0] for launch in launches]
    assert [launch.returncode for launch in launches] == [0, 0], outputs[0][-2000:] + outputs[1][-2000:]

    warehouse = Warehouse(url=f"sqlite:///{tmp_path / 'data' / 'warehouse.sqlite'}")
    rows = warehouse.read_market_daily(dt.date(2025, 1, 1), dt.date(2025, 12, 31)).to_dicts()
    assert [row["record_date"] for row in rows] == [dt.date(2025, 12, 4)]
    with instance_at(env["DAGSTER_HOME"]) as instance:
        runs = instance.get_runs()
        assert [run.status for run in runs] == [dg.DagsterRunStatus.SUCCESS] * 2
        assert rows[0]["run_id"] in {run.run_id for run in runs}
        # Dagster's pool gave the warehouse to one step at a time: no two steps of the two runs
        # were running at once.
        assert instance.event_log_storage.get_concurrency_info("market_warehouse").slot_count == 1
        intervals = step_intervals(instance, runs)
    assert len(intervals) == 12  # six steps (the calendar and four sources, then market_daily) per run
    assert overlaps(intervals) == []


def test_a_forced_source_failure_produces_one_alert(tmp_path) -> None:
    port = free_port()
    with alert_inbox() as inbox:
        env = product_env(
            tmp_path,
            SUGARS_ALERT_URLS=inbox.url,
            SUGARS_UI_BASE_URL="http://127.0.0.1:3000",
            SUGARS_CODE_SERVER_HOST="127.0.0.1",
            SUGARS_CODE_SERVER_PORT=str(port),
        )
        home = tmp_path / "dagster_home"
        code_server = [
            str(BIN / "dagster"),
            "code-server",
            "start",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-m",
            "sugars_dagster.definitions",
        ]
        daemon = [str(BIN / "dagster-daemon"), "run", "-w", str(ROOT / "workspace.yaml")]
        with process(code_server, env, tmp_path / "code_server.log"), process(daemon, env, tmp_path / "daemon.log"):
            wait_for(
                lambda: latest_skip_message(home, "market_daily_failure_alert_sensor") is not None,
                120,
                "the failure sensor's first tick",
            )
            # The real source, with every request sent to a closed port on this machine.
            failing = env | {
                "SUGARS_SOURCE": "akshare",
                # Real data never goes into the demo warehouse the daemon fills meanwhile.
                "SUGARS_DATA_DIR": str(tmp_path / "real-data"),
                "SUGARS_SOURCE_ATTEMPTS": "1",
                "HTTPS_PROXY": "http://127.0.0.1:9",
                "HTTP_PROXY": "http://127.0.0.1:9",
            }
            launch = subprocess.run(
                [DAGSTER, *materialize_args("--partition", "2025-12-04")],
                env=failing,
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert launch.returncode != 0

            def failure_alerts() -> list[dict]:
                # The freshness alarm may speak too: the warehouse is empty on a trading morning.
                return [message for message in inbox.messages if " failed for " in message["title"]]

            wait_for(failure_alerts, 120, "the alert")
            time.sleep(15)  # a few more sensor intervals: still exactly one message

    [message] = failure_alerts()
    assert message["title"] == "sugars_dagster: __ASSET_JOB failed for 2025-12-04"
    body = message["message"]
    assert "Partition(s): 2025-12-04" in body
    assert (
        "zce_sugar_bars - SourceFetchError: every provider of zce_sugar_bars: Sina futures_zh_daily_sina(symbol='SR0'): gave up after 1 attempt(s)"
        in body
    )
    assert "Eastmoney futures_hist_em(symbol='白糖主连'): gave up after 1 attempt(s)" in body
    assert "http://127.0.0.1:3000/runs/" in body
