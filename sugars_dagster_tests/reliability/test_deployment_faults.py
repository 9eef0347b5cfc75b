"""The fault scenarios in the deployment: each ends with every trading day present once and
nothing half-written. They run the real processes (code server, webserver, daemon) from the
shipped configuration against the real PostgreSQL: the daemon down or killed, a run worker
killed mid-write, launches from everywhere at once, the warehouse going away, a host and a
storage database outside Shanghai and UTC, the schedule moved, toggled and reloaded, backfills.

The faults in the data are in test_data_faults.py; run them all with `scripts/test -m reliability`.
"""

import datetime as dt
import json
import os
import signal
import subprocess
import time
from zoneinfo import ZoneInfo

import dagster as dg
import polars as pl
import pytest
import sqlalchemy as sa
from dagster._core.execution.backfill import BulkActionStatus
from dagster._core.scheduler.instigation import ScheduleInstigatorData, TickStatus

from sugars_dagster.market.calendar import trading as trading_calendar
from sugars_dagster.market.catchup_plan import catchup_window
from sugars_dagster.sources.demo_source import DemoSource
from sugars_dagster.warehouse.resource import Warehouse
from sugars_dagster.warehouse.tables import market_daily
from sugars_dagster_tests.support.definitions import DEFAULTS, product_definitions
from sugars_dagster_tests.support.pg import postgres_server_url
from sugars_dagster_tests.support.processes import BIN, ROOT, wait_for, wait_for_count
from sugars_dagster_tests.support.runs import materializations, overlaps, run_graph, step_intervals
from sugars_dagster_tests.support.tcp_proxy import TcpProxy
from sugars_dagster_tests.support.topology import Topology, production_topology

defs = product_definitions()

pytestmark = pytest.mark.reliability

D = dt.date
SHANGHAI = ZoneInfo("Asia/Shanghai")
VALUES = ["record_date", "sugar_close", "sugar_open", "usd_cny_rate", "bdi_index", "import_cost_estimate"]


WORKSPACE = ["-w", str(ROOT / "workspace.yaml")]
MATERIALIZE = ["asset", "materialize", "-m", "sugars_dagster.definitions", "--select", "*market_daily"]


def last_tick(now: dt.datetime) -> dt.datetime:
    """The newest 02:00 Asia/Shanghai tick at or before `now`."""
    local = now.astimezone(SHANGHAI)
    tick = dt.datetime.combine(local.date(), DEFAULTS.nightly_load_time, tzinfo=SHANGHAI)
    return tick if tick <= local else tick - dt.timedelta(days=1)


def schedule_state(instance: dg.DagsterInstance):
    [state] = [s for s in instance.all_instigator_state() if s.instigator_name == "market_daily_schedule"]
    return state


def partition_materializations(topology: Topology, first: dt.date, last: dt.date) -> dict[dt.date, list[str]]:
    """market_daily's materializations per day in Dagster's event log: the runs that loaded it."""
    keys = [day.isoformat() for day in _days(first, last)]
    with topology.instance() as instance:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey("market_daily"), asset_partitions=keys), limit=10_000
        ).records
    loads: dict[dt.date, list[str]] = {}
    for record in records:
        loads.setdefault(dt.date.fromisoformat(record.partition_key), []).append(record.run_id)
    return loads


def first_scheduler_pass(topology: Topology) -> None:
    """Run the daemon until its scheduler has stored the schedule's state, with the catch-up
    sensor off for now (it would load everything at once); then stop it."""
    assert topology.run("sensor", "stop", "market_daily_catchup_sensor", *WORKSPACE).returncode == 0
    topology.start_daemon()
    with topology.instance() as instance:
        wait_for(
            lambda: schedule_state(instance).instigator_data.last_iteration_timestamp, 60, "the scheduler's first pass"
        )
    topology.stop("daemon")


def clean_run_values(tmp_path, first: dt.date, last: dt.date) -> list[tuple]:
    """market_daily's values for [first, last] from one run into an empty warehouse."""
    reference = Warehouse(url=f"sqlite:///{tmp_path / 'reference.sqlite'}")
    with dg.DagsterInstance.ephemeral() as scratch:
        assert run_graph(DemoSource(), reference, scratch, partition_range=(str(first), str(last))).success
    return reference.read_market_daily(first, last).select(VALUES).rows()


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=offset) for offset in range((last - first).days + 1)]


@pytest.mark.postgres
@pytest.mark.cli
def test_1_daemon_down_across_three_nightly_ticks_loads_the_missed_days_exactly_once(tmp_path) -> None:
    """Daemon down across three 02:00 ticks, then restarted → the three days loaded exactly once."""
    with production_topology(
        tmp_path,
        postgres_server_url(),
        start_daemon=False,
        SUGARS_CATCHUP_INTERVAL_SECONDS="5",
        SUGARS_CATCHUP_LOOKBACK_DAYS="21",
    ) as topology:
        first_scheduler_pass(topology)

        # The three trading days before the newest tick went unloaded: the daemon stopped an
        # hour before the first of their ticks and stayed down until now.
        newest_tick = last_tick(dt.datetime.now(dt.UTC))
        newest_day = newest_tick.date() - dt.timedelta(days=1)
        first = newest_day - dt.timedelta(days=21)
        missed = trading_calendar.snapshot_calendar().sessions_between(first, newest_day)[-3:]
        outage_began = dt.datetime.combine(
            missed[0] + dt.timedelta(days=1), DEFAULTS.nightly_load_time, tzinfo=SHANGHAI
        ) - dt.timedelta(hours=1)
        before = topology.run(*MATERIALIZE, "--partition-range", f"{first}...{missed[0] - dt.timedelta(days=1)}")
        assert before.returncode == 0, before.stderr[-3000:]
        with topology.instance() as instance:
            state = schedule_state(instance)
            instance.update_instigator_state(
                state.with_data(
                    ScheduleInstigatorData(
                        state.instigator_data.cron_schedule, outage_began.timestamp() - 86_400, outage_began.timestamp()
                    )
                )
            )
        assert topology.run("sensor", "start", "market_daily_catchup_sensor", *WORKSPACE).returncode == 0

        topology.start_daemon()  # back after the outage: the scheduler and the sensor at once
        expected = trading_calendar.snapshot_calendar().sessions_between(first, newest_day)
        wait_for(
            lambda: sorted(topology.warehouse.market_daily_dates(first, newest_day)) == expected,
            300,
            "the missed days to load",
        )
        with topology.instance() as instance:
            wait_for(lambda: all(run.is_finished for run in instance.get_runs()), 120, "every run to finish")
            time.sleep(15)  # three more sensor ticks: nothing else is requested
            runs = instance.get_runs()
            ticks = instance.get_ticks(
                schedule_state(instance).instigator_origin_id, schedule_state(instance).selector_id
            )

        loads = partition_materializations(topology, first, newest_day)
        assert all(len(loads[day]) == 1 for day in missed), {day: loads.get(day) for day in missed}
        assert all(run.status == dg.DagsterRunStatus.SUCCESS for run in runs)
        # Dagster's scheduler ran only the newest missed tick; the sensor loaded the rest.
        assert [dt.datetime.fromtimestamp(tick.timestamp, SHANGHAI) for tick in ticks] == [newest_tick]
        [scheduled] = [run for run in runs if run.tags.get("dagster/schedule_name") == "market_daily_schedule"]
        assert scheduled.tags["dagster/partition"] == newest_day.isoformat()
        catchup = [run for run in runs if run.tags.get("sugars/trigger") == "catchup"]
        assert catchup and all(
            run.tags["dagster/asset_partition_range_end"] < newest_day.isoformat() for run in catchup
        )
        rows = topology.warehouse.read_market_daily(missed[0], missed[-1])
        assert rows["record_date"].to_list() == missed and rows["record_date"].n_unique() == 3


# What the UI's "Materialize" of one partition sends (it tags its own launches).
def run_worker_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The run worker's process id, as the code server recorded it in the run's event log."""
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        if entry.message.startswith("Started process for run"):
            return entry.dagster_event.event_specific_data.metadata["pid"].value
    return None


def waiting_on_a_lock(warehouse: Warehouse) -> bool:
    """Whether some other session of the warehouse database is blocked on a lock."""
    with warehouse.engine().connect() as conn:
        return bool(
            conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
        )


class BlockedWrite:
    """A test session holding an uncommitted market_daily row for one day: a run writing a range
    that ends on that day stops on its key, with the range's earlier days already in its
    transaction, until the test releases it."""

    def __init__(self, topology: Topology, day: dt.date):
        warehouse = topology.warehouse
        warehouse.prepare()
        self._connection = warehouse.engine().connect()
        self._transaction = self._connection.begin()
        self._connection.execute(sa.insert(market_daily).values(_placeholder_row(day)))
        # Released at the latest when the deployment stops, before its databases are dropped.
        topology.stack.callback(self.release)

    def release(self) -> None:
        if self._transaction.is_active:
            self._transaction.rollback()
        if not self._connection.closed:
            self._connection.close()


def _placeholder_row(day: dt.date) -> dict:
    return {
        "record_date": day,
        "sugar_close": 1,
        "sugar_open": 1,
        "usd_cny_rate": 1,
        "bdi_index": 1,
        "import_cost_estimate": 1,
        "updated_at": dt.datetime(2025, 1, 1),
        "source": "test",
        "run_id": "blocker",
    }


def launch_range(topology: Topology, first: dt.date, last: dt.date) -> str:
    """Queue market_daily_job for [first, last] through the CLI, as the catch-up sensor would; the run id."""
    tags = {"dagster/asset_partition_range_start": str(first), "dagster/asset_partition_range_end": str(last)}
    launched = topology.run("job", "launch", *WORKSPACE, "-j", "market_daily_job", "--tags", json.dumps(tags))
    assert launched.returncode == 0, launched.stderr[-3000:]
    with topology.instance() as instance:
        [run] = [
            run for run in instance.get_runs() if run.tags.get("dagster/asset_partition_range_start") == str(first)
        ]
    return run.run_id


@pytest.mark.postgres
@pytest.mark.cli
def test_2_kill_9_of_the_run_worker_during_the_write_leaves_no_partial_day(tmp_path) -> None:
    """`kill -9` of the run process during the warehouse write → no partial day visible; the day
    is reported missing and the rerun gives identical rows."""
    first, last = D(2025, 12, 1), D(2025, 12, 5)
    with production_topology(tmp_path, postgres_server_url(), SUGARS_CATCHUP_LOOKBACK_DAYS="1") as topology:
        warehouse = topology.warehouse
        blocked = BlockedWrite(topology, last)
        run_id = launch_range(topology, first, last)
        with topology.instance() as instance:

            def range_runs() -> list[dg.DagsterRun]:
                return [
                    other
                    for other in instance.get_runs()
                    if other.tags.get("dagster/asset_partition_range_start") == str(first)
                ]

            run = instance.get_run_by_id(run_id)
            wait_for(lambda: waiting_on_a_lock(warehouse), 240, "the run's write to reach the blocked day")
            pid = run_worker_pid(instance, run.run_id)
            os.kill(int(pid), signal.SIGKILL)
            wait_for(
                lambda: instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE,
                240,
                "Dagster to fail the killed run",
            )
            # Nothing of the killed run's write is visible, from a session other than the blocker.
            assert warehouse.market_daily_dates(first, last) == set()
            assert [record.run_id for record in materializations(instance, str(first))] == []
            status = instance.get_status_by_partition(
                dg.AssetKey("market_daily"),
                [str(day) for day in _days(first, last)],
                defs.resolve_job_def("market_daily_job").partitions_def,
            )
            assert dg.AssetPartitionStatus.MATERIALIZED not in status.values()
            blocked.release()

            # Dagster's run retry (the run died; no step failed) loads the days again.
            wait_for(
                lambda: (
                    warehouse.market_daily_dates(first, last)
                    == set(trading_calendar.snapshot_calendar().sessions_between(first, last))
                ),
                300,
                "the rerun",
            )
            [rerun] = [other for other in range_runs() if other.run_id != run.run_id]
            assert rerun.tags["dagster/parent_run_id"] == run.run_id
            wait_for(
                lambda: instance.get_run_by_id(rerun.run_id).status == dg.DagsterRunStatus.SUCCESS,
                120,
                "the rerun to finish",
            )
            loads = partition_materializations(topology, first, last)
        got = warehouse.read_market_daily(first, last).select(VALUES)

    assert all(run.run_id not in runs for runs in loads.values())
    assert all(len(runs) == 1 for runs in loads.values()), loads
    assert got.rows() == clean_run_values(tmp_path, first, last)


@pytest.mark.postgres
@pytest.mark.cli
def test_6_the_warehouse_going_away_mid_write_fails_the_step_cleanly_and_the_retry_succeeds(tmp_path) -> None:
    """The warehouse database stopped during a run and started again → the run fails cleanly or
    retries; nothing half-written; the next run succeeds."""
    # The product reaches the warehouse through a proxy; cutting it is, for the product, the
    # database going away (Dagster's own storage, on the same server, stays up).
    proxy = TcpProxy(sa.make_url(postgres_server_url()).port or 5432)
    proxy.start()
    first, last = D(2025, 12, 1), D(2025, 12, 5)
    with production_topology(
        tmp_path, postgres_server_url(), warehouse_port=proxy.port, SUGARS_CATCHUP_LOOKBACK_DAYS="1"
    ) as topology:
        warehouse = topology.warehouse
        blocked = BlockedWrite(topology, last)
        run_id = launch_range(topology, first, last)
        with topology.instance() as instance:
            run = instance.get_run_by_id(run_id)
            wait_for(lambda: waiting_on_a_lock(warehouse), 240, "the run's write to reach the blocked day")
            proxy.cut()

            def retry_planned() -> bool:
                return bool(instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_UP_FOR_RETRY))

            wait_for(retry_planned, 60, "the market_daily step to fail and wait for its retry")
            # The server drops the abandoned transaction once the blocker lets it finish its statement.
            blocked.release()
            wait_for(lambda: not waiting_on_a_lock(warehouse), 30, "the abandoned write to end")
            # Nothing of the range was written (the catch-up sensor may load yesterday meanwhile).
            assert warehouse.market_daily_dates(first, last) == set()
            proxy.restore()

            wait_for(lambda: instance.get_run_by_id(run.run_id).is_finished, 300, "the run to finish after the retry")
            finished = instance.get_run_by_id(run.run_id)
            [retry] = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_UP_FOR_RETRY)
            loads = partition_materializations(topology, first, last)
        got = warehouse.read_market_daily(first, last).select(VALUES)
    proxy.cut()

    assert finished.status == dg.DagsterRunStatus.SUCCESS
    assert retry.step_key == "market_daily" and "OperationalError" in str(retry.dagster_event.event_specific_data.error)
    assert all(runs == [run.run_id] for runs in loads.values()), loads
    assert sorted(got["record_date"].to_list()) == trading_calendar.snapshot_calendar().sessions_between(first, last)
    assert got.rows() == clean_run_values(tmp_path, first, last)


CLOCKS = """
query {
  scheduleOrError(scheduleSelector: {repositoryLocationName: "sugars_dagster", repositoryName: "__repository__",
    scheduleName: "market_daily_schedule"}) { ... on Schedule { futureTicks(limit: 2) { results { timestamp } } } }
  assetNodeOrError(assetKey: {path: ["market_daily"]}) { ... on AssetNode { partitionKeys } }
}
"""


@pytest.mark.postgres
@pytest.mark.cli
def test_9_a_host_and_a_storage_database_outside_shanghai_and_utc_keep_partitions_and_ticks_right(tmp_path) -> None:
    """Host TZ not Shanghai, and Dagster's storage database TZ not UTC → partitions and tick times still right."""
    with production_topology(
        tmp_path,
        postgres_server_url(),
        # Both behind UTC: stored times read back as UTC would make runs look hours old.
        storage_timezone="America/Los_Angeles",
        TZ="America/Los_Angeles",  # yesterday in Shanghai is often "today" here
        SUGARS_CATCHUP_INTERVAL_SECONDS="5",
        SUGARS_CATCHUP_LOOKBACK_DAYS="7",
    ) as topology:
        answer = topology.graphql(CLOCKS)["data"]
        now = dt.datetime.now(dt.UTC)
        ticks = [
            dt.datetime.fromtimestamp(tick["timestamp"], SHANGHAI)
            for tick in answer["scheduleOrError"]["futureTicks"]["results"]
        ]
        keys = answer["assetNodeOrError"]["partitionKeys"]

        # The catch-up sensor, whose "dead run" test compares stored run times with now, loads
        # the look-back window once.
        window = catchup_window(
            now,
            lookback_days=7,
            grace=dt.timedelta(minutes=60),
            schedule_time=DEFAULTS.nightly_load_time,
            timezone=SHANGHAI,
            history_start=D(2006, 1, 6),
        )
        expected = trading_calendar.snapshot_calendar().sessions_between(*window)
        wait_for(
            lambda: sorted(topology.warehouse.market_daily_dates(*window)) == expected,
            240,
            "the sensor to load the window",
        )
        with topology.instance() as instance:
            wait_for(lambda: all(run.is_finished for run in instance.get_runs()), 120, "the runs to finish")
            time.sleep(10)  # two more sensor ticks
            records = instance.get_run_records()
        loads = partition_materializations(topology, *window)

    shanghai_now = now.astimezone(SHANGHAI)
    assert all(tick.time() == dt.time(2, 0) and tick.utcoffset() == dt.timedelta(hours=8) for tick in ticks)
    assert now < ticks[0].astimezone(dt.UTC) <= now + dt.timedelta(days=1)
    assert ticks[1] - ticks[0] == dt.timedelta(days=1)
    assert keys[0] == "2006-01-06" and keys[-1] == str(shanghai_now.date() - dt.timedelta(days=1))
    # Stored run times are true instants, not shifted by either zone.
    assert records and all(abs(record.create_timestamp.timestamp() - now.timestamp()) < 600 for record in records)
    assert all(record.start_time and abs(record.start_time - now.timestamp()) < 600 for record in records)
    assert all(len(loads[day]) == 1 for day in expected), loads
    assert [record.dagster_run.tags.get("sugars/trigger") for record in records] == ["catchup"]


LAUNCH_RUN = """
mutation($day: String!) { launchRun(executionParams: {
  selector: {repositoryLocationName: "sugars_dagster", repositoryName: "__repository__", jobName: "market_daily_job"},
  executionMetadata: {tags: [{key: "dagster/partition", value: $day}, {key: "dagster/from_ui", value: "true"}]}}) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }
"""


@pytest.mark.postgres
@pytest.mark.cli
def test_3_the_same_day_from_schedule_sensor_ui_and_cli_at_once_is_serialized(tmp_path) -> None:
    """The same day from the schedule, the sensor, the UI and the CLI at once → serialized; the table equals one run."""
    today = dt.datetime.now(SHANGHAI).date()
    with production_topology(
        tmp_path,
        postgres_server_url(),
        start_daemon=False,
        SUGARS_CATCHUP_INTERVAL_SECONDS="5",
        SUGARS_CATCHUP_LOOKBACK_DAYS="400",
    ) as topology:
        assert topology.run("sensor", "stop", "market_daily_catchup_sensor", *WORKSPACE).returncode == 0
        # Everything in the sensor's window is loaded except one trading day.
        newest = last_tick(dt.datetime.now(dt.UTC)).date() - dt.timedelta(days=2)
        day = trading_calendar.snapshot_calendar().sessions_between(
            today - dt.timedelta(days=60), today - dt.timedelta(days=30)
        )[-1]
        for first, last in (
            (today - dt.timedelta(days=400), day - dt.timedelta(days=1)),
            (day + dt.timedelta(days=1), newest),
        ):
            loaded = topology.run(*MATERIALIZE, "--partition-range", f"{first}...{last}")
            assert loaded.returncode == 0, loaded.stderr[-3000:]
        topology.start_daemon()

        # The sensor sees the hole and queues it; at that moment the UI, the CLI and the
        # schedule's own request for that night (its tick evaluated by the definition) come too.
        assert topology.run("sensor", "start", "market_daily_catchup_sensor", *WORKSPACE).returncode == 0
        with topology.instance() as instance:
            wait_for(
                lambda: instance.get_runs(filters=dg.RunsFilter(tags={"sugars/trigger": "catchup"})),
                60,
                "the sensor's run",
            )
        tick = dt.datetime.combine(day + dt.timedelta(days=1), DEFAULTS.nightly_load_time, tzinfo=SHANGHAI)
        with (
            topology.instance() as instance,
            dg.build_schedule_context(
                instance=instance, scheduled_execution_time=tick, repository_def=defs.get_repository_def()
            ) as context,
        ):
            [request] = defs.resolve_schedule_def("market_daily_schedule").evaluate_tick(context).run_requests
        assert request.partition_key == day.isoformat()
        schedule_tags = {
            "dagster/partition": request.partition_key,
            "dagster/schedule_name": "market_daily_schedule",
            **request.tags,
        }
        launches = [
            subprocess.Popen(
                [str(BIN / "dagster"), *MATERIALIZE, "--partition", day.isoformat()],
                env=topology.env,
                cwd=topology.root,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            ),
            subprocess.Popen(
                [
                    str(BIN / "dagster"),
                    "job",
                    "launch",
                    *WORKSPACE,
                    "-j",
                    "market_daily_job",
                    "--tags",
                    json.dumps(schedule_tags),
                ],
                env=topology.env,
                cwd=topology.root,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            ),
        ]
        ui = topology.graphql(LAUNCH_RUN, {"day": day.isoformat()})["data"]["launchRun"]
        assert ui["__typename"] == "LaunchRunSuccess", ui
        outputs = [launch.communicate(timeout=300)[0] for launch in launches]
        assert [launch.returncode for launch in launches] == [0, 0], outputs

        with topology.instance() as instance:

            def day_runs() -> list[dg.DagsterRun]:
                return [
                    run
                    for run in instance.get_runs()
                    if day.isoformat()
                    in (run.tags.get("dagster/partition"), run.tags.get("dagster/asset_partition_range_start"))
                ]

            wait_for(
                lambda: len(day_runs()) == 4 and all(run.is_finished for run in day_runs()),
                300,
                "the four runs to finish",
            )
            runs = day_runs()
            intervals = step_intervals(instance, runs)
        loads = partition_materializations(topology, day, day)
        got = topology.warehouse.read_market_daily(day - dt.timedelta(days=3), day + dt.timedelta(days=3))

    assert [run.status for run in runs] == [dg.DagsterRunStatus.SUCCESS] * 4
    origins = {
        run.tags.get("sugars/trigger")
        or run.tags.get("dagster/schedule_name")
        or run.tags.get("dagster/from_ui")
        or "cli"
        for run in runs
    }
    assert origins == {"catchup", "market_daily_schedule", "true", "cli"}
    # The warehouse pool let one step write at a time, across the four runs.
    assert overlaps(intervals) == []
    assert len(loads[day]) == 4
    # The table equals one run of that day into an empty warehouse.
    assert got.filter(pl.col("record_date") == day).select(VALUES).rows() == clean_run_values(tmp_path, day, day)
    assert got["record_date"].n_unique() == got.height


RELOAD = """mutation { reloadRepositoryLocation(repositoryLocationName: "sugars_dagster") { __typename } }"""


@pytest.mark.postgres
@pytest.mark.cli
def test_10_moving_toggling_and_reloading_the_schedule_brings_no_surprise_runs_and_no_gaps(tmp_path) -> None:
    """Schedule time changed, schedule toggled off and on, code location reloaded during a run → no surprise reruns, no gaps."""
    with production_topology(
        tmp_path,
        postgres_server_url(),
        start_daemon=False,
        SUGARS_CATCHUP_INTERVAL_SECONDS="5",
        SUGARS_CATCHUP_LOOKBACK_DAYS="7",
    ) as topology:
        first_scheduler_pass(topology)

        # The schedule time moves to 20 minutes ago; the night's run was already launched by the
        # old time's tick, and the scheduler last passed 50 minutes ago (it checkpoints hourly).
        now = dt.datetime.now(dt.UTC)
        moved = (now.astimezone(SHANGHAI) - dt.timedelta(minutes=20)).replace(second=0, microsecond=0)
        day = moved.date() - dt.timedelta(days=1)
        night = dt.datetime.combine(moved.date(), dt.time(0, 0), tzinfo=SHANGHAI)
        tags = {
            "dagster/schedule_name": "market_daily_schedule",
            "dagster/partition": str(day),
            "dagster/scheduled_execution_time": night.astimezone(dt.UTC).isoformat(),
        }
        assert (
            topology.run("job", "launch", *WORKSPACE, "-j", "market_daily_job", "--tags", json.dumps(tags)).returncode
            == 0
        )
        with topology.instance() as instance:
            state = schedule_state(instance)
            instance.update_instigator_state(
                state.with_data(
                    ScheduleInstigatorData(
                        state.instigator_data.cron_schedule, now.timestamp() - 86_400, now.timestamp() - 3_000
                    )
                )
            )
        topology.stop("code_server")
        topology.env["SUGARS_SCHEDULE_TIME"] = f"{moved:%H:%M}"
        topology.start_code_server()
        topology.start_daemon()
        with topology.instance() as instance:

            def schedule_ticks():
                return instance.get_ticks(
                    schedule_state(instance).instigator_origin_id, schedule_state(instance).selector_id
                )

            [moved_tick] = wait_for(schedule_ticks, 120, "the scheduler to evaluate the moved time")
            assert dt.datetime.fromtimestamp(moved_tick.timestamp, SHANGHAI) == moved
            assert moved_tick.status == TickStatus.SKIPPED
            assert moved_tick.skip_reason.startswith(f"{day} was already launched by this schedule")

            # Off and on again: Dagster does not go back for the ticks in between.
            assert topology.run("schedule", "stop", "market_daily_schedule", *WORKSPACE).returncode == 0
            assert topology.run("schedule", "start", "market_daily_schedule", *WORKSPACE).returncode == 0

            # A reload of the code location while a run is in the middle of its write.
            first, last = D(2025, 12, 1), D(2025, 12, 5)
            blocked = BlockedWrite(topology, last)
            launch_range(topology, first, last)
            wait_for(lambda: waiting_on_a_lock(topology.warehouse), 240, "the run's write to be under way")
            assert (
                topology.graphql(RELOAD)["data"]["reloadRepositoryLocation"]["__typename"] == "WorkspaceLocationEntry"
            )
            time.sleep(5)
            blocked.release()

            # The catch-up sensor back on: it finds nothing the schedule or the runs left behind.
            assert topology.run("sensor", "start", "market_daily_catchup_sensor", *WORKSPACE).returncode == 0
            window = catchup_window(
                dt.datetime.now(dt.UTC),
                lookback_days=7,
                grace=dt.timedelta(minutes=60),
                schedule_time=moved.time(),
                timezone=SHANGHAI,
                history_start=D(2006, 1, 6),
            )
            expected = trading_calendar.snapshot_calendar().sessions_between(window[0], max(window[1], day))
            wait_for(
                lambda: sorted(topology.warehouse.market_daily_dates(window[0], max(window[1], day))) == expected,
                240,
                "the window to load",
            )
            wait_for(lambda: all(run.is_finished for run in instance.get_runs()), 120, "every run to finish")
            time.sleep(10)  # two more sensor ticks and scheduler passes
            runs = instance.get_runs()
            ticks = schedule_ticks()
        loads = partition_materializations(topology, window[0], max(window[1], day))
        ranged = sorted(topology.warehouse.market_daily_dates(first, last))

    assert all(run.status == dg.DagsterRunStatus.SUCCESS for run in runs)
    assert [tick.status for tick in ticks] == [TickStatus.SKIPPED]  # no tick ran again after the toggle or reload
    assert [run.tags["dagster/partition"] for run in runs if "dagster/schedule_name" in run.tags] == [str(day)]
    assert ranged == trading_calendar.snapshot_calendar().sessions_between(first, last)
    assert all(len(loads.get(each, [])) == 1 for each in expected), loads  # no gaps, no reruns
    if day in expected:
        assert loads[day] == [next(run.run_id for run in runs if "dagster/schedule_name" in run.tags)]


@pytest.mark.postgres
@pytest.mark.cli
def test_11_a_90_day_cli_backfill_with_the_daemon_killed_midway_loads_each_day_once(tmp_path) -> None:
    """A 90-day backfill with the daemon killed midway → each day once, the backfill completes after restart
    (`dagster job backfill`: Dagster's default of one queued run per day)."""
    first, last = D(2025, 7, 1), D(2025, 9, 28)
    with production_topology(tmp_path, postgres_server_url(), SUGARS_CATCHUP_LOOKBACK_DAYS="1") as topology:
        # Dagster's job backfill: one queued run per day, which the daemon's run queue drains.
        backfill = topology.run(
            "job",
            "backfill",
            *WORKSPACE,
            "-j",
            "market_daily_job",
            "--from",
            str(first),
            "--to",
            str(last),
            "--noprompt",
        )
        assert backfill.returncode == 0, backfill.stderr[-3000:]
        with topology.instance() as instance:

            def backfill_runs() -> list[dg.DagsterRun]:
                return [run for run in instance.get_runs() if "dagster/backfill" in run.tags]

            def succeeded() -> int:
                return sum(run.status == dg.DagsterRunStatus.SUCCESS for run in backfill_runs())

            assert len(backfill_runs()) == 90
            wait_for_count(succeeded, 20, 300, "a fifth of the backfill")
            os.killpg(topology.daemon_pid(), signal.SIGKILL)
            topology.stop("daemon")
            # The runs already launched finish in the code server; the queue stays where it was.
            wait_for(
                lambda: (
                    not [
                        run
                        for run in backfill_runs()
                        if run.status in (dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED)
                    ]
                ),
                120,
                "the launched runs to end",
            )
            time.sleep(5)
            stalled = succeeded()
            assert stalled < 90 and succeeded() == stalled
            assert sum(run.status == dg.DagsterRunStatus.QUEUED for run in backfill_runs()) == 90 - stalled

            topology.start_daemon()
            # However busy the machine, the restarted daemon must keep draining the queue.
            wait_for_count(succeeded, 90, 300, "the rest of the backfill after the restart")
            statuses = {run.status for run in backfill_runs()}
        loads = partition_materializations(topology, first, last)
        loaded = sorted(topology.warehouse.market_daily_dates(first, last))

    assert statuses == {dg.DagsterRunStatus.SUCCESS}
    assert sorted(loads) == _days(first, last) and all(len(runs) == 1 for runs in loads.values())
    assert loaded == trading_calendar.snapshot_calendar().sessions_between(first, last)


# What the UI's "Launch backfill" sends for the graph up to market_daily.
LAUNCH_BACKFILL = """
mutation($keys: [String!]) { launchPartitionBackfill(backfillParams: {partitionNames: $keys, fromFailure: false,
  assetSelection: [{path: ["mainland_trading_calendar"]}, {path: ["zce_sugar_bars"]}, {path: ["usd_cny_central_parity"]},
                   {path: ["baltic_dry_index"]}, {path: ["ice_raw_sugar_bars"]}, {path: ["market_daily"]}]}) {
  __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }
"""


@pytest.mark.postgres
@pytest.mark.cli
def test_13_a_90_day_ui_backfill_with_the_daemon_killed_midway_completes_after_restart(tmp_path) -> None:
    """A 90-day backfill with the daemon killed midway → each day once, the backfill completes after restart
    (the UI's asset backfill, which the daemon drives: one run for the range)."""
    first, last = D(2025, 7, 1), D(2025, 9, 28)
    with production_topology(tmp_path, postgres_server_url(), SUGARS_CATCHUP_LOOKBACK_DAYS="1") as topology:
        launched = topology.graphql(LAUNCH_BACKFILL, {"keys": [str(day) for day in _days(first, last)]})["data"][
            "launchPartitionBackfill"
        ]
        assert launched["__typename"] == "LaunchBackfillSuccess", launched
        with topology.instance() as instance:

            def backfill_runs() -> list[dg.DagsterRun]:
                return [
                    run for run in instance.get_runs() if run.tags.get("dagster/backfill") == launched["backfillId"]
                ]

            wait_for(backfill_runs, 120, "the backfill's first run")
            os.killpg(topology.daemon_pid(), signal.SIGKILL)
            topology.stop("daemon")
            time.sleep(10)
            assert instance.get_backfill(launched["backfillId"]).status == BulkActionStatus.REQUESTED  # in progress

            topology.start_daemon()
            wait_for(
                lambda: instance.get_backfill(launched["backfillId"]).status != BulkActionStatus.REQUESTED,
                600,
                "the backfill to finish",
            )
            backfill = instance.get_backfill(launched["backfillId"])
            runs = backfill_runs()
        loads = partition_materializations(topology, first, last)
        loaded = sorted(topology.warehouse.market_daily_dates(first, last))

    assert backfill.status == BulkActionStatus.COMPLETED_SUCCESS
    assert {run.status for run in runs} == {dg.DagsterRunStatus.SUCCESS}
    ranged = [run for run in runs if run.tags.get("dagster/asset_partition_range_start")]
    assert [
        (run.tags["dagster/asset_partition_range_start"], run.tags["dagster/asset_partition_range_end"])
        for run in ranged
    ] == [(str(first), str(last))]
    assert sorted(loads) == _days(first, last) and all(len(day_runs) == 1 for day_runs in loads.values())
    assert loaded == trading_calendar.snapshot_calendar().sessions_between(first, last)
