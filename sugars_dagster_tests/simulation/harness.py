"""Drives the real schedule and sensors of the code location (built with the product's default
settings, as `sugars_dagster.definitions.defs` builds it), and the runs they request, on a moving
clock, in process.

What the daemon does is modelled step by step; each step is one frozen moment:

1. the catch-up sensor ticks (when due), then the scheduler passes (it evaluates the schedule's
   latest due tick, if any), then the freshness sensor ticks (when due). Every run they request
   is created QUEUED at once, as the run queue holds it, where the sensors' "in flight" logic
   sees it;
2. the queued runs execute, oldest first, and the failure alert sensor sees each failed run.

After a daemon outage the first step evaluates everything, catch-up first: the daemon starts its
scheduler and sensors together, and the catch-up sensor seeing the day the scheduler is about to
launch is the race the product must handle.

Runs execute without the job's step retry policy: real retry delays cannot pass on a frozen clock,
and step retries are covered by test_step_retries.py.
"""

import datetime as dt
import json
import math
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import time_machine
from dagster._core.definitions.job_base import InMemoryJob
from dagster._core.definitions.run_request import InstigatorType
from dagster._core.events import DagsterEvent
from dagster._core.execution.api import execute_run
from dagster._core.remote_origin import (
    RegisteredCodeLocationOrigin,
    RemoteInstigatorOrigin,
    RemoteJobOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.scheduler.instigation import (
    InstigatorState,
    InstigatorStatus,
    ScheduleInstigatorData,
    TickData,
    TickStatus,
)
from dagster_shared.error import SerializableErrorInfo

from sugars_dagster.defs.catchup_policy import CatchupPolicy
from sugars_dagster.warehouse.export import Retention
from sugars_dagster_tests.simulation.faults import (
    FOREVER,
    WORLD,
    FailedRun,
    Fault,
    FaultySource,
    FaultyWarehouse,
    Kind,
    RecordingAlerter,
    SentAlert,
    copy_warehouse,
    restore_warehouse,
)
from sugars_dagster_tests.support.definitions import DEFAULTS, product_definitions
from sugars_dagster_tests.support.runs import memory_export

defs = product_definitions()

SHANGHAI = ZoneInfo("Asia/Shanghai")
SCHEDULE = defs.resolve_schedule_def("market_daily_schedule")
CATCHUP = defs.resolve_sensor_def("market_daily_catchup_sensor")
FRESHNESS = defs.resolve_sensor_def("market_daily_freshness_sensor")
FAILURE_ALERTS = defs.resolve_sensor_def("market_daily_failure_alert_sensor")
JOB_NAME = "market_daily_job"

REPOSITORY_ORIGIN = RemoteRepositoryOrigin(RegisteredCodeLocationOrigin("sugars_dagster"), "__repository__")
SCHEDULE_ORIGIN = RemoteInstigatorOrigin(REPOSITORY_ORIGIN, SCHEDULE.name)
# Runs the daemon launches carry their job's origin; Dagster refuses to queue a run without one.
JOB_ORIGIN = RemoteJobOrigin(REPOSITORY_ORIGIN, JOB_NAME)

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]

# The daemon ticks the catch-up sensor every 2 minutes and the freshness sensor every 5. The model
# ticks them where their answer can change: the catch-up sensor once the schedule's grace period
# is over, when a retry it scheduled falls due, and every 30 minutes while it still requests runs;
# the freshness sensor at its deadline; both a daemon interval after any fault starts or ends, and
# when the daemon comes back. Between those moments their inputs (the clock's market day, the
# warehouse, the runs) do not change.
CATCHUP_TIMES = [dt.time(3, 5)]
CATCHUP_WHILE_BUSY = dt.timedelta(minutes=30)
CATCHUP_INTERVAL = dt.timedelta(minutes=2)
FRESHNESS_TIMES = [dt.time(9, 0)]
FRESHNESS_INTERVAL = dt.timedelta(minutes=5)


def shanghai(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def next_wall_time(now: dt.datetime, times: list[dt.time]) -> dt.datetime:
    """The first of the daily wall times (Asia/Shanghai) strictly after `now`."""
    local = now.astimezone(SHANGHAI)
    candidates = [
        dt.datetime.combine(local.date() + dt.timedelta(days=offset), at, SHANGHAI) for offset in (0, 1) for at in times
    ]
    return min(moment for moment in candidates if moment > local)


def latest_schedule_tick(now: dt.datetime) -> dt.datetime:
    local = now.astimezone(SHANGHAI)
    tick = dt.datetime.combine(local.date(), DEFAULTS.nightly_load_time, SHANGHAI)
    return tick if tick <= local else tick - dt.timedelta(days=1)


def run_days(tags: dict[str, str]) -> frozenset[dt.date]:
    """The market days a run loads, from its partition or range tags."""
    single = tags.get("dagster/partition")
    start, end = tags.get(RANGE_START_TAG, single), tags.get(RANGE_END_TAG, single)
    if not (start and end):
        return frozenset()
    first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    return frozenset(first + dt.timedelta(days=offset) for offset in range((last - first).days + 1))


def earliest_retry(cursor: str | None) -> dt.datetime | None:
    """The earliest pending retry in the catch-up sensor's cursor, read only to time its next tick.
    None when nothing is pending or the cursor cannot be read (the tick cadence then covers it)."""
    try:
        backoff = json.loads(cursor or "{}").get("backoff") or {}
        times = [dt.datetime.fromisoformat(entry["next_try"]) for entry in backoff.values()]
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    return min(times, default=None)


def ceil_to_interval(moment: dt.datetime, interval: dt.timedelta) -> dt.datetime:
    seconds = interval.total_seconds()
    return dt.datetime.fromtimestamp(math.ceil(moment.timestamp() / seconds) * seconds, dt.UTC)


def error_text(instance: dg.DagsterInstance, run_id: str) -> str:
    """Every failed step's error with its causes, then the run's own failure message."""
    parts = []
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE):
        error = record.dagster_event.step_failure_data.error
        while error is not None:
            parts.append(error.message.strip())
            error = error.cause
    parts += [
        record.dagster_event.message or ""
        for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    ]
    return "\n".join(parts)


@dataclass(frozen=True)
class TickError:
    at: dt.datetime
    instigator: str
    error: str


@dataclass(frozen=True)
class DoubleLoad:
    at: dt.datetime
    run_id: str
    trigger: str
    days: list[dt.date]


@dataclass
class Figures:
    simulated_days: int = 0
    runs_launched: Counter = field(default_factory=Counter)  # by trigger
    runs_succeeded: int = 0
    runs_failed: int = 0
    ticks: Counter = field(default_factory=Counter)  # evaluations by instigator
    tick_seconds: Counter = field(default_factory=Counter)
    run_seconds: float = 0.0
    wall_seconds: float = 0.0


@dataclass(frozen=True)
class QueuedRun:
    run_id: str
    trigger: str
    days: frozenset[dt.date]


class Simulation:
    """One deployment (instance, warehouse, resources) driven from `start` to `end`."""

    def __init__(self, workdir: Path, start: dt.datetime, end: dt.datetime, faults: list[Fault]):
        self.start, self.end, self.faults = start, end, faults
        self.workdir = workdir
        self.warehouse = FaultyWarehouse(url=f"sqlite:///{workdir / 'warehouse.sqlite'}")
        self.resources = {
            **defs.resources,
            "source": FaultySource(),
            "warehouse": self.warehouse,
            "export": memory_export(),
            "retention": Retention(days=0),
            "catchup": CatchupPolicy(),
            "alerter": RecordingAlerter(),
        }
        self.job = self._unretried_job()
        self.repository = defs.get_repository_def()
        self.figures = Figures(simulated_days=(end.date() - start.date()).days)
        self.tick_errors: list[TickError] = []
        self.failed_runs: list[FailedRun] = []
        self.double_loads: list[DoubleLoad] = []
        self.alerts: list[tuple[str, SentAlert]] = []  # (the instigator that sent it, the alert)
        self.queue: list[QueuedRun] = []
        self.catchup_cursor: str | None = None
        self.freshness_cursor: str | None = None
        self.catchup_run_keys: set[str] = set()
        self.dropped_run_keys: list[tuple[dt.datetime, str]] = []
        self.fault_boundaries = sorted(
            {
                moment
                for fault in faults
                if fault.kind is not Kind.DAEMON_DOWN
                for moment in (fault.window.start, fault.window.end)
                if moment != FOREVER
            }
        )
        self.next_catchup = start
        self.next_freshness = self._next_freshness(start)
        self.last_pass: dt.datetime | None = None
        self.instance: dg.DagsterInstance | None = None
        self.schedule_state: InstigatorState | None = None

    def figure_lines(self) -> list[str]:
        figures = self.figures
        runs = sum(figures.runs_launched.values())
        raised = Counter(error.instigator for error in self.tick_errors)
        launched = ", ".join(f"{trigger} {count}" for trigger, count in sorted(figures.runs_launched.items()))
        lines = [
            f"simulated days: {figures.simulated_days}",
            f"runs launched: {runs} ({launched}); succeeded {figures.runs_succeeded}, failed {figures.runs_failed}",
            f"run requests dropped, run key already launched: {len(self.dropped_run_keys)} "
            f"{[f'{moment.astimezone(SHANGHAI):%m-%d %H:%M} {key}' for moment, key in self.dropped_run_keys]}",
            f"run cost: {figures.run_seconds:.1f} s in all, {figures.run_seconds / max(runs, 1):.2f} s a run",
        ]
        for name, count in sorted(figures.ticks.items()):
            seconds = figures.tick_seconds[name]
            lines.append(
                f"ticks evaluated, {name}: {count} ({seconds:.1f} s, {1000 * seconds / max(count, 1):.0f} ms each), "
                f"raised: {raised[name]}"
            )
        return [*lines, f"alerts: {len(self.alerts)}", f"wall time: {figures.wall_seconds:.1f} s"]

    def _unretried_job(self) -> dg.JobDefinition:
        job = dg.define_asset_job(JOB_NAME, selection=dg.AssetSelection.all(), op_retry_policy=None)
        harness_defs = dg.Definitions(
            assets=defs.assets,
            jobs=[job],
            resources=self.resources,
            executor=dg.in_process_executor,
        )
        return harness_defs.resolve_job_def(JOB_NAME)

    # --- the run ---------------------------------------------------------------------------

    def run(self) -> Figures:
        began = time.perf_counter()
        WORLD.install(self.faults)
        try:
            with self._instance() as instance, time_machine.travel(self.start, tick=False) as traveller:
                self.instance = instance
                self.schedule_state = self._declare_schedule()
                for moment in self._moments():
                    traveller.move_to(moment, tick=False)
                    self._step(moment)
        finally:
            WORLD.install([])
        self.figures.wall_seconds = time.perf_counter() - began
        return self.figures

    def _instance(self) -> dg.DagsterInstance:
        # A local instance with schedule storage, as the daemon's. Its event log lives in memory: on
        # disk it costs a run 0.2-0.3 s more, the largest part of its cost here. The sensors get
        # this instance; the schedule opens its own from the instance's ref, as a code server does,
        # and sees an empty event log (today it reads only runs). Compute logs are not kept.
        storage = self.workdir / "dagster"
        storage.mkdir(parents=True, exist_ok=True)
        return dg.DagsterInstance.local_temp(
            str(storage),
            overrides={
                "event_log_storage": {"module": "dagster._core.storage.event_log", "class": "InMemoryEventLogStorage"},
                "compute_logs": {
                    "module": "dagster._core.storage.noop_compute_log_manager",
                    "class": "NoOpComputeLogManager",
                },
                # Runs log every event to the event log as usual; the console gets what went wrong.
                "python_logs": {"python_log_level": "WARNING"},
            },
        )

    def _moments(self) -> Iterator[dt.datetime]:
        moment = self.start
        while moment < self.end:
            yield moment
            moment = self._skip_outage(self._next_moment(moment))

    def _next_moment(self, now: dt.datetime) -> dt.datetime:
        events = [
            moment
            for fault in self.faults
            if fault.kind in (Kind.DAEMON_DOWN, Kind.WAREHOUSE_RESTORED)
            for moment in (fault.window.start, fault.window.end)
            if moment > now
        ]
        next_tick = latest_schedule_tick(now) + dt.timedelta(days=1)
        return min([self.next_catchup, self.next_freshness, next_tick, self.end, *events])

    def _skip_outage(self, moment: dt.datetime) -> dt.datetime:
        for fault in self.faults:
            if fault.kind is Kind.DAEMON_DOWN and moment in fault.window:
                return fault.window.end
        return moment

    def _daemon_down(self, now: dt.datetime) -> bool:
        return any(fault.kind is Kind.DAEMON_DOWN and now in fault.window for fault in self.faults)

    def _restarting(self, now: dt.datetime) -> bool:
        return any(fault.kind is Kind.DAEMON_DOWN and fault.window.end == now for fault in self.faults)

    def _step(self, now: dt.datetime) -> None:
        self._take_or_restore_warehouse_copy(now)
        if self._daemon_down(now):
            return
        restarting = self._restarting(now)
        if restarting or now >= self.next_catchup:
            self._tick_catchup(now)
        self._scheduler_pass(now)
        if restarting or now >= self.next_freshness:
            self._tick_freshness(now)
        while self.queue:
            self._execute(self.queue.pop(0), now)

    def _take_or_restore_warehouse_copy(self, now: dt.datetime) -> None:
        for number, fault in enumerate(self.faults):
            if fault.kind is not Kind.WAREHOUSE_RESTORED:
                continue
            copy = str(self.workdir / f"warehouse-copy-{number}.sqlite")
            if now == fault.window.start:
                copy_warehouse(self.warehouse, copy)
            elif now == fault.window.end:
                restore_warehouse(self.warehouse, copy)

    # --- instigators -----------------------------------------------------------------------

    def _resources_for(self, definition) -> dict:  # noqa: ANN001
        return {key: self.resources[key] for key in definition.required_resource_keys}

    def _evaluate(self, name: str, now: dt.datetime, evaluation):  # noqa: ANN001, ANN202
        """Run one evaluation, timing it; an exception is recorded, as the daemon records a failed
        tick, and None returned."""
        self.figures.ticks[name] += 1
        began, sent_before = time.perf_counter(), len(WORLD.alerts)
        try:
            return evaluation()
        except Exception as error:  # noqa: BLE001
            self.tick_errors.append(TickError(now, name, f"{type(error).__name__}: {error}"))
            return None
        finally:
            self.figures.tick_seconds[name] += time.perf_counter() - began
            self.alerts += [(name, alert) for alert in WORLD.alerts[sent_before:]]

    def _tick_catchup(self, now: dt.datetime) -> None:
        context = dg.build_sensor_context(
            instance=self.instance, cursor=self.catchup_cursor, resources=self._resources_for(CATCHUP)
        )
        result = self._evaluate(CATCHUP.name, now, lambda: CATCHUP.evaluate_tick(context))
        requested = False
        if result is not None:
            self.catchup_cursor = result.cursor
            for request in result.run_requests or []:
                requested = True
                self._launch_for_sensor(request, now)
        self.next_catchup = self._next_catchup(now, busy=requested or result is None)

    def _next_catchup(self, now: dt.datetime, busy: bool) -> dt.datetime:
        candidates = [next_wall_time(now, CATCHUP_TIMES), *self._after_next_fault_boundary(now, CATCHUP_INTERVAL)]
        if busy:
            candidates.append(now + CATCHUP_WHILE_BUSY)
        retry = earliest_retry(self.catchup_cursor)
        if retry is not None:
            candidates.append(max(ceil_to_interval(retry, CATCHUP_INTERVAL), now + CATCHUP_INTERVAL))
        return min(candidates)

    def _next_freshness(self, now: dt.datetime) -> dt.datetime:
        return min([next_wall_time(now, FRESHNESS_TIMES), *self._after_next_fault_boundary(now, FRESHNESS_INTERVAL)])

    def _after_next_fault_boundary(self, now: dt.datetime, interval: dt.timedelta) -> list[dt.datetime]:
        """The daemon's next tick after the next fault starts or ends, if one is still to come."""
        return [moment + interval for moment in self.fault_boundaries if moment + interval > now][:1]

    def _launch_for_sensor(self, request: dg.RunRequest, now: dt.datetime) -> None:
        # Dagster launches a run key once per sensor, ever.
        if request.run_key in self.catchup_run_keys:
            self.dropped_run_keys.append((now, request.run_key))
            return
        if request.run_key is not None:
            self.catchup_run_keys.add(request.run_key)
        tags = {**request.tags, "dagster/sensor_name": CATCHUP.name}
        if request.run_key is not None:
            tags["dagster/run_key"] = request.run_key
        self._launch(tags, request.run_config, trigger=tags.get("sugars/trigger", CATCHUP.name), now=now)

    def _tick_freshness(self, now: dt.datetime) -> None:
        context = dg.build_sensor_context(
            instance=self.instance, cursor=self.freshness_cursor, resources=self._resources_for(FRESHNESS)
        )
        result = self._evaluate(FRESHNESS.name, now, lambda: FRESHNESS.evaluate_tick(context))
        if result is not None:
            self.freshness_cursor = result.cursor
            for request in result.run_requests or []:
                self._launch(dict(request.tags), request.run_config, trigger=FRESHNESS.name, now=now)
        self.next_freshness = self._next_freshness(now)

    def _declare_schedule(self) -> InstigatorState:
        """The schedule's stored state as the daemon keeps it (running by default in code)."""
        state = InstigatorState(
            SCHEDULE_ORIGIN,
            InstigatorType.SCHEDULE,
            InstigatorStatus.DECLARED_IN_CODE,
            ScheduleInstigatorData(SCHEDULE.cron_schedule, self.start.timestamp(), None),
        )
        return self.instance.add_instigator_state(state)

    def _scheduler_pass(self, now: dt.datetime) -> None:
        """The scheduler's loop: the latest tick due since its last pass, and none before it (a
        schedule without a partition set does not catch up). Its stored iteration time is written
        when it evaluates a tick; the daemon's in-between checkpoints change nothing the product
        reads from it."""
        tick = latest_schedule_tick(now)
        due = tick > (self.last_pass or self.start)
        self.last_pass = now
        if not due:
            return
        self._evaluate_schedule_tick(tick, now)
        data = ScheduleInstigatorData(SCHEDULE.cron_schedule, self.start.timestamp(), now.timestamp())
        self.schedule_state = self.instance.update_instigator_state(self.schedule_state.with_data(data))

    def _evaluate_schedule_tick(self, tick_time: dt.datetime, now: dt.datetime) -> None:
        tick = self.instance.create_tick(
            TickData(
                instigator_origin_id=SCHEDULE_ORIGIN.get_id(),
                instigator_name=SCHEDULE.name,
                instigator_type=InstigatorType.SCHEDULE,
                status=TickStatus.STARTED,
                timestamp=tick_time.timestamp(),
                selector_id=self.schedule_state.selector_id,
            )
        )
        # The context opens its own instance from the instance's ref, as the code server does.
        with dg.build_schedule_context(
            instance=self.instance, scheduled_execution_time=tick_time, repository_def=self.repository
        ) as context:
            data = self._evaluate(SCHEDULE.name, now, lambda: SCHEDULE.evaluate_tick(context))
        if data is None:
            error = SerializableErrorInfo(self.tick_errors[-1].error, [], "ScheduleEvaluationError")
            self.instance.update_tick(tick.with_status(TickStatus.FAILURE, error=error))
            return
        if not data.run_requests:
            self.instance.update_tick(tick.with_status(TickStatus.SKIPPED, skip_reason=data.skip_message))
            return
        for request in data.run_requests:
            # The tags the scheduler adds to every run it launches.
            tags = {
                **request.tags,
                "dagster/schedule_name": SCHEDULE.name,
                "dagster/scheduled_execution_time": tick_time.astimezone(dt.UTC).isoformat(),
                "dagster/tick": str(tick.tick_id),
            }
            if request.run_key:
                tags["dagster/run_key"] = request.run_key
            run_id = self._launch(tags, request.run_config, trigger="schedule", now=now)
            tick = tick.with_run_info(run_id, request.run_key)
        self.instance.update_tick(tick.with_status(TickStatus.SUCCESS))

    # --- runs ------------------------------------------------------------------------------

    def _days_in_flight(self) -> set[dt.date]:
        runs = self.instance.get_runs(filters=dg.RunsFilter(statuses=IN_FLIGHT))
        return {day for run in runs for day in run_days(run.tags)}

    def _launch(self, tags: dict[str, str], run_config, trigger: str, now: dt.datetime) -> str:  # noqa: ANN001
        """Create the run and queue it, as the daemon hands a run to the run queue."""
        days = run_days(tags)
        overlap = days & self._days_in_flight()
        run = self.instance.create_run_for_job(
            self.job,
            run_config=run_config or None,
            tags=tags,
            status=dg.DagsterRunStatus.NOT_STARTED,
            remote_job_origin=JOB_ORIGIN,
        )
        if overlap:
            self.double_loads.append(DoubleLoad(now, run.run_id, trigger, sorted(overlap)))
        self._report(dg.DagsterEventType.RUN_ENQUEUED, run.run_id)
        self.queue.append(QueuedRun(run.run_id, trigger, days))
        self.figures.runs_launched[trigger] += 1
        return run.run_id

    def _report(self, event_type: dg.DagsterEventType, run_id: str) -> None:
        self.instance.report_dagster_event(
            DagsterEvent(event_type_value=event_type.value, job_name=JOB_NAME), run_id=run_id
        )

    def _execute(self, queued: QueuedRun, now: dt.datetime) -> None:
        """Dequeue and execute the run in this process, as a run worker would."""
        began = time.perf_counter()
        self._report(dg.DagsterEventType.RUN_DEQUEUED, queued.run_id)
        self._report(dg.DagsterEventType.RUN_STARTING, queued.run_id)
        execute_run(InMemoryJob(self.job), self.instance.get_run_by_id(queued.run_id), self.instance)
        self.figures.run_seconds += time.perf_counter() - began
        run = self.instance.get_run_by_id(queued.run_id)
        if run.status == dg.DagsterRunStatus.SUCCESS:
            self.figures.runs_succeeded += 1
            return
        self.figures.runs_failed += 1
        self.failed_runs.append(
            FailedRun(run.run_id, now, queued.days, queued.trigger, error_text(self.instance, run.run_id))
        )
        self._tick_failure_alerts(run, now)

    def _tick_failure_alerts(self, run: dg.DagsterRun, now: dt.datetime) -> None:
        [failure] = self.instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
        context = dg.build_run_status_sensor_context(
            sensor_name=FAILURE_ALERTS.name,
            dagster_instance=self.instance,
            dagster_run=run,
            dagster_event=failure.dagster_event,
            resources=self._resources_for(FAILURE_ALERTS),
        ).for_run_failure()
        self._evaluate(FAILURE_ALERTS.name, now, lambda: FAILURE_ALERTS(context))
