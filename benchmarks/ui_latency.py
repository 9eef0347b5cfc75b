"""How long a click in the Dagster UI takes to land rows in the warehouse, on the local instance.

    .venv/bin/python -m benchmarks.ui_latency [--runs 7] [--instance-yaml dagster.yaml]

Starts the product with `scripts/dev` in a fresh checkout (its local instance, with the given
instance yaml, and its own warehouse; the demo source), stops the schedule and the sensors through GraphQL so
that nothing else launches runs, then sends the GraphQL the UI sends:

- one day: `launchRun` of the implicit asset job `__ASSET_JOB` with the asset selection, the
  selection's checks and the partition's tags (the partitions dialog's "Launch 1 run"), for
  `market_daily` alone and for `*market_daily` (with its sources); click to row is the time from
  the mutation to the day's row in the warehouse's `market_daily` table, polled every 50 ms;
- 28 days: `launchPartitionBackfill` with `assetSelection` and `partitionNames` (the dialog's
  "Launch backfill"), for both selections; launch to rows, launch to the backfill's COMPLETED
  status, and the runs the backfill made;
- the CLI: `dagster asset materialize --partition D` of both selections, wall time.

With `--backfill-loop-seconds N` the backfill daemon passes every N seconds instead of Dagster's
fixed 30: the benchmark's own processes patch Dagster's constant at import (a `sitecustomize` on
their PYTHONPATH), to show what that loop alone costs a backfill. The product never does this.

Prints a table and writes JSON to benchmarks/results/. Not a test: the figures depend on the machine.
"""

import argparse
import datetime as dt
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import dagster as dg

from sugars_dagster.defs.partitions import last_complete_day
from sugars_dagster.market.calendar.trading import snapshot_calendar
from sugars_dagster_tests.support.checkout import fresh_checkout, user_environment
from sugars_dagster_tests.support.cli import DAGSTER
from sugars_dagster_tests.support.definitions import market_day_partitions
from sugars_dagster_tests.support.processes import ROOT, free_port, process, wait_for

RESULTS = ROOT / "benchmarks" / "results"
ASSET_JOB = "__ASSET_JOB"
JOB = "market_daily_job"
POLL_SECONDS = 0.05
BACKFILL_LOOP_SECONDS = 30  # the backfill daemon's loop in Dagster 1.13.27 (not a setting)
SOURCES = [
    "mainland_trading_calendar",
    "zce_sugar_bars",
    "usd_cny_central_parity",
    "baltic_dry_index",
    "ice_raw_sugar_bars",
]
SELECTIONS = {"market_daily": ["market_daily"], "*market_daily": [*SOURCES, "market_daily"]}

REPOSITORIES = """
{ repositoriesOrError { ... on RepositoryConnection { nodes { name location { name } } } } }
"""
INSTIGATORS = """
query ($selector: RepositorySelector!) {
  sensorsOrError(repositorySelector: $selector) {
    ... on Sensors { results { name sensorState { id status } } }
  }
  schedulesOrError(repositorySelector: $selector) {
    ... on Schedules { results { name scheduleState { id status } } }
  }
}
"""
STOP_SENSOR = """
mutation ($id: String!) { stopSensor(id: $id) { __typename ... on Error { message } } }
"""
STOP_SCHEDULE = """
mutation ($id: String!) { stopRunningSchedule(id: $id) { __typename ... on Error { message } } }
"""
ASSET_CHECKS = """
query ($keys: [AssetKeyInput!]) {
  assetNodes(assetKeys: $keys) {
    assetKey { path }
    assetChecksOrError { ... on AssetChecks { checks { name jobNames } } }
  }
}
"""
# The partitions dialog's query for the partition's tags and run config (CONFIG_PARTITION_SELECTION_QUERY).
PARTITION = """
query ($selector: RepositorySelector!, $partitionSetName: String!, $partitionName: String!) {
  partitionSetOrError(repositorySelector: $selector, partitionSetName: $partitionSetName) {
    __typename
    ... on PartitionSet {
      partition(partitionName: $partitionName) {
        mode
        runConfigOrError { ... on PartitionRunConfig { yaml } }
        tagsOrError { ... on PartitionTags { results { key value } } }
      }
    }
  }
}
"""
LAUNCH_RUN = """
mutation ($executionParams: ExecutionParams!) {
  launchRun(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on Error { message }
  }
}
"""
LAUNCH_BACKFILL = """
mutation ($backfillParams: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $backfillParams) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on Error { message }
  }
}
"""
RUN = """
query ($runId: ID!) {
  runOrError(runId: $runId) {
    ... on Run {
      status creationTime startTime endTime
      eventConnection { events { __typename ... on MessageEvent { timestamp } } }
    }
  }
}
"""
BACKFILL = """
query ($backfillId: String!) {
  partitionBackfillOrError(backfillId: $backfillId) { ... on PartitionBackfill { status endTimestamp } }
}
"""
RUNS_IN_PROGRESS = """
{ runsOrError(filter: {statuses: [QUEUED, NOT_STARTED, STARTING, STARTED]}) { ... on Runs { results { runId } } } }
"""
BACKFILL_RUNS = """
query ($backfillId: String!) {
  runsOrError(filter: {tags: [{key: "dagster/backfill", value: $backfillId}]}) {
    ... on Runs { results { runId status creationTime startTime endTime } }
  }
}
"""
FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}
# A click's time, and the parts it splits into.
PARTS = [
    "click_to_row",
    "partition_query",
    "launch_run_mutation",
    "click_to_enqueued",
    "queue_wait",
    "worker_start",
    "run",
    "run_start_to_row",
]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# Imported by every Python process started with its folder on PYTHONPATH: once Dagster's daemon
# controller is imported, its loop interval (which the backfill loop reads) is replaced.
LOOP_PATCH = """
import importlib.abc
import importlib.util
import os
import sys

SECONDS = float(os.environ["BENCHMARK_BACKFILL_LOOP_SECONDS"])
TARGET = "dagster._daemon.controller"


class PatchLoop(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name != TARGET:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        execute = spec.loader.exec_module

        def exec_module(module):
            execute(module)
            module.DEFAULT_DAEMON_INTERVAL_SECONDS = SECONDS

        spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, PatchLoop())
"""


class LocalProduct:
    """`scripts/dev` on a free port in a throwaway checkout: its own local instance and warehouse."""

    def __init__(self, root: Path, instance_yaml: Path, backfill_loop_seconds: float | None = None) -> None:
        self.root = root
        self.port = free_port()
        self.checkout = fresh_checkout(root / "sugars_dagster")
        # The local instance's file, which .dagster_home/dagster.yaml links to.
        (self.checkout / "dagster.yaml").write_text(instance_yaml.read_text())
        self.env = user_environment(self.checkout, SUGARS_SOURCE="demo", SUGARS_UI_PORT=str(self.port))
        if backfill_loop_seconds is not None:
            patch = root / "loop_patch"
            patch.mkdir()
            (patch / "sitecustomize.py").write_text(LOOP_PATCH)
            self.env |= {"PYTHONPATH": str(patch), "BENCHMARK_BACKFILL_LOOP_SECONDS": str(backfill_loop_seconds)}
        self.warehouse = self.checkout / "data" / "warehouse.sqlite"
        self.selector: dict[str, str] = {}
        self.checks: dict[tuple[str, ...], list[dict]] = {}

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/graphql",
            data=json.dumps({"query": query, "variables": variables or {}}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            body = json.load(response)
        if body.get("errors"):
            raise RuntimeError(f"GraphQL errors: {body['errors']}")
        return body["data"]

    def ready(self) -> None:
        def up() -> bool:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/server_info", timeout=5) as response:
                return response.status == 200

        wait_for(up, 300, "the webserver's /server_info", every=0.5)
        nodes = wait_for(
            lambda: self.graphql(REPOSITORIES)["repositoriesOrError"]["nodes"], 120, "the code location", every=0.5
        )
        self.selector = {"repositoryName": nodes[0]["name"], "repositoryLocationName": nodes[0]["location"]["name"]}

    def stop_automation(self) -> None:
        """Stop the schedule and every sensor, as the UI's toggles do, then let anything they
        launched finish."""
        data = self.graphql(INSTIGATORS, {"selector": self.selector})
        for sensor in data["sensorsOrError"]["results"]:
            if sensor["sensorState"]["status"] == "RUNNING":
                self.graphql(STOP_SENSOR, {"id": sensor["sensorState"]["id"]})
        for schedule in data["schedulesOrError"]["results"]:
            if schedule["scheduleState"]["status"] == "RUNNING":
                self.graphql(STOP_SCHEDULE, {"id": schedule["scheduleState"]["id"]})
        wait_for(lambda: not self.graphql(RUNS_IN_PROGRESS)["runsOrError"]["results"], 600, "runs in flight", every=1)

    def rows(self, days: list[dt.date]) -> int:
        try:
            with sqlite3.connect(f"file:{self.warehouse}?mode=ro", uri=True, timeout=5) as conn:
                marks = ",".join("?" * len(days))
                query = f"SELECT count(*) FROM market_daily WHERE record_date IN ({marks})"
                return conn.execute(query, [day.isoformat() for day in days]).fetchone()[0]
        except sqlite3.OperationalError:  # not created yet, or locked for a moment
            return 0

    def checks_of(self, assets: list[str]) -> list[dict]:
        keys = [{"path": [name]} for name in assets]
        nodes = self.graphql(ASSET_CHECKS, {"keys": keys})["assetNodes"]
        return [
            {"assetKey": {"path": node["assetKey"]["path"]}, "name": check["name"]}
            for node in nodes
            for check in (node["assetChecksOrError"].get("checks") or [])
            if ASSET_JOB in check["jobNames"]
        ]

    def launch_day(self, assets: list[str], day: dt.date) -> tuple[float, str, dict]:
        """The partitions dialog's "Launch 1 run": the partition's tags, then launchRun."""
        clicked = time.time()
        partition = self.graphql(
            PARTITION,
            {"selector": self.selector, "partitionSetName": f"{ASSET_JOB}_partition_set", "partitionName": str(day)},
        )["partitionSetOrError"]
        asked = time.time()
        tags = [{"key": "dagster/partition", "value": str(day)}]
        run_config = "{}"
        if partition["__typename"] == "PartitionSet" and partition["partition"]:
            tags = partition["partition"]["tagsOrError"].get("results") or tags
            run_config = partition["partition"]["runConfigOrError"].get("yaml") or "{}"
        params = {
            "mode": "default",
            "executionMetadata": {"tags": tags},
            "runConfigData": run_config,
            "selector": {
                **self.selector,
                "pipelineName": ASSET_JOB,
                "assetSelection": [{"path": [name]} for name in assets],
                "assetCheckSelection": self.checks[tuple(assets)],
            },
        }
        result = self.graphql(LAUNCH_RUN, {"executionParams": params})["launchRun"]
        if result["__typename"] != "LaunchRunSuccess":
            raise RuntimeError(f"launchRun failed: {result}")
        timings = {"partition_query": asked - clicked, "launch_run_mutation": time.time() - asked}
        return clicked, result["run"]["runId"], timings

    def run_record(self, run_id: str) -> dict:
        return self.graphql(RUN, {"runId": run_id})["runOrError"]


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll `check` every 50 ms; the time it first held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return time.time()
        time.sleep(POLL_SECONDS)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def event_time(record: dict, typename: str) -> float | None:
    times = [int(e["timestamp"]) / 1000 for e in record["eventConnection"]["events"] if e["__typename"] == typename]
    return min(times) if times else None


def one_day(product: LocalProduct, assets: list[str], day: dt.date) -> dict:
    clicked, run_id, timings = product.launch_day(assets, day)
    landed = wait_until(lambda: product.rows([day]) == 1, 300, f"the row of {day}")
    record = wait_for(lambda: (r := product.run_record(run_id))["status"] in FINISHED and r, 300, "the run's end", 0.2)
    enqueued = event_time(record, "RunEnqueuedEvent")
    starting = event_time(record, "RunStartingEvent")
    started, ended = record["startTime"], record["endTime"]
    return {
        "day": str(day),
        "run_id": run_id,
        "status": record["status"],
        "click_to_row": landed - clicked,
        **timings,
        # The mutation's share: the run created and its planned events written, then queued.
        "click_to_enqueued": enqueued - clicked if enqueued else None,
        # The run coordinator's share: waiting for the daemon's next look at the queue.
        "queue_wait": starting - enqueued if enqueued and starting else None,
        # The run worker's start: a new Python process importing dagster and the code location.
        "worker_start": started - starting if starting and started else None,
        "run": ended - started if started and ended else None,
        "run_start_to_row": landed - started if started else None,
    }


def backfill(product: LocalProduct, assets: list[str], first: dt.date, last: dt.date, job: str | None = None) -> dict:
    """The partitions dialog's "Launch backfill": an asset backfill from the asset graph, or with
    `job` a job backfill, as the dialog sends it from that job's page."""
    keys = market_day_partitions().get_partition_keys_in_range(dg.PartitionKeyRange(str(first), str(last)))
    sessions = snapshot_calendar().sessions_between(first, last)
    params: dict = {
        "tags": [],
        "assetSelection": [{"path": [name]} for name in assets],
        "partitionNames": list(keys),
        "fromFailure": False,
    }
    if job:
        params["selector"] = {"partitionSetName": f"{job}_partition_set", "repositorySelector": product.selector}
    launched = time.time()
    result = product.graphql(LAUNCH_BACKFILL, {"backfillParams": params})["launchPartitionBackfill"]
    if result["__typename"] != "LaunchBackfillSuccess":
        raise RuntimeError(f"launchPartitionBackfill failed: {result}")
    backfill_id = result["backfillId"]
    landed = wait_until(lambda: product.rows(sessions) == len(sessions), 600, f"the rows of {first}…{last}")
    status = {"status": ""}

    def done() -> bool:
        status.update(product.graphql(BACKFILL, {"backfillId": backfill_id})["partitionBackfillOrError"])
        return status["status"].startswith("COMPLETED") or status["status"] in {"FAILED", "CANCELED"}

    completed = wait_until(done, 600, "the backfill's completion")
    runs = product.graphql(BACKFILL_RUNS, {"backfillId": backfill_id})["runsOrError"]["results"]
    runs.sort(key=lambda run: run["creationTime"])
    return {
        "first": str(first),
        "last": str(last),
        "partitions": len(keys),
        "trading_days": len(sessions),
        "backfill_id": backfill_id,
        "status": status["status"],
        "launch_to_rows": landed - launched,
        "launch_to_completed": completed - launched,
        "runs": len(runs),
        "run_created": [run["creationTime"] - launched for run in runs],
        "run_ended": [(run["endTime"] or 0) - launched for run in runs],
        "last_run_end_to_completed": completed - max((run["endTime"] or 0) for run in runs) if runs else None,
    }


def cli_day(product: LocalProduct, selection: str, day: dt.date) -> float:
    args = [DAGSTER, "asset", "materialize", "-m", "sugars_dagster.definitions", "--select", selection]
    started = time.perf_counter()
    subprocess.run(
        [*args, "--partition", str(day)],
        env=product.env,
        cwd=product.checkout,  # where .env points Dagster's CLI at the instance scripts/dev serves
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def summary(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def fmt(stats: dict) -> str:
    return f"{stats['median']:.2f} s ({stats['min']:.2f}–{stats['max']:.2f}, n={stats['n']})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="one-day launches per selection (distinct days)")
    parser.add_argument("--backfills", type=int, default=1, help="28-day backfills per selection")
    parser.add_argument("--instance-yaml", type=Path, default=ROOT / "dagster.yaml")
    parser.add_argument("--label", default="", help="a name for this configuration in the JSON")
    parser.add_argument(
        "--parts", default="one_day,backfill,cli", help="which figures, comma-separated: one_day, backfill, cli"
    )
    parser.add_argument(
        "--backfill-loop-seconds",
        type=float,
        help="patch Dagster's 30 s backfill loop to this, in the benchmark's processes only",
    )
    options = parser.parse_args()
    parts = set(options.parts.split(","))
    if options.backfill_loop_seconds is not None and options.backfill_loop_seconds <= 0:
        parser.error("--backfill-loop-seconds must be positive (0 would keep the daemon busy-looping)")
    loop_seconds = options.backfill_loop_seconds or BACKFILL_LOOP_SECONDS

    # Days before the catch-up sensor's 30-day look-back, so none is in the warehouse already;
    # every launch and every backfill gets days of its own.
    sessions = snapshot_calendar().sessions_between(
        last_complete_day() - dt.timedelta(days=400), last_complete_day() - dt.timedelta(days=60)
    )
    days = iter(reversed(sessions))
    windows = iter(
        (end - dt.timedelta(days=27), end)
        for end in (sessions[0] + dt.timedelta(days=27 + 28 * number) for number in range(20))
    )
    figures: dict = {
        "load_average_at_start": os.getloadavg(),
        "instance_yaml": str(options.instance_yaml),
        "label": options.label,
        "backfill_loop_seconds": loop_seconds,
        "one_day": {},
        "backfill": {},
    }

    with tempfile.TemporaryDirectory(prefix="sugars_ui_latency_") as tmp:
        product = LocalProduct(Path(tmp), options.instance_yaml, options.backfill_loop_seconds)
        with process([str(product.checkout / "scripts" / "dev")], product.env, Path(tmp) / "dev.log"):
            started = time.monotonic()
            product.ready()
            figures["startup_to_graphql"] = time.monotonic() - started
            product.stop_automation()
            product.checks = {tuple(assets): product.checks_of(assets) for assets in SELECTIONS.values()}
            # Warm-up, not counted: the first run lands the sources' history and creates the tables.
            warm = one_day(product, SELECTIONS["*market_daily"], next(days))
            log(f"warm-up run: {warm['click_to_row']:.2f} s")
            for name, assets in SELECTIONS.items() if "one_day" in parts else ():
                samples = []
                for _ in range(options.runs):
                    sample = one_day(product, assets, next(days))
                    samples.append(sample)
                    log(
                        f"one day {name} {sample['day']}: {sample['click_to_row']:.2f} s ("
                        + ", ".join(f"{part} {sample[part] or 0:.2f}" for part in PARTS[1:])
                        + f") {sample['status']}"
                    )
                figures["one_day"][name] = {"samples": samples} | {
                    part: summary([s[part] for s in samples if s[part] is not None]) for part in PARTS
                }
            backfills = [(name, assets, None) for name, assets in SELECTIONS.items()]
            backfills.append(("*market_daily, job backfill of market_daily_job", SELECTIONS["*market_daily"], JOB))
            # A backfill is launched right after the previous one was seen complete, that is just after a
            # pass of the backfill daemon: wait a random part of its 30 s loop first, so that launches
            # land anywhere in it, as a user's do.
            phases = random.Random(20261201)
            for name, assets, job in backfills if "backfill" in parts else ():
                samples = []
                for _ in range(options.backfills):
                    first, last = next(windows)
                    pause = phases.uniform(0, loop_seconds)
                    time.sleep(pause)
                    sample = backfill(product, assets, first, last, job) | {"pause_before_launch": pause}
                    samples.append(sample)
                    log(
                        f"28 days {name} {first}…{last}: rows {sample['launch_to_rows']:.1f} s, "
                        f"{sample['status']} {sample['launch_to_completed']:.1f} s, {sample['runs']} run(s)"
                    )
                figures["backfill"][name] = samples
            if "cli" in parts:
                figures["cli"] = {}
                for name in SELECTIONS:
                    timings = [cli_day(product, name, next(days)) for _ in range(max(3, options.runs // 2))]
                    figures["cli"][name] = summary(timings)
                    log(f"CLI one day {name}: {fmt(figures['cli'][name])}")

    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"ui_latency_{stamp}{'_' + options.label if options.label else ''}.json"
    figures["load_average_at_end"] = os.getloadavg()
    out.write_text(json.dumps(figures, indent=2))

    print(
        f"{options.label or options.instance_yaml.name}; {os.cpu_count()} CPUs; {dt.date.today()}; "
        f"load average {figures['load_average_at_start'][0]:.1f} at start, {figures['load_average_at_end'][0]:.1f} at end; "
        f"backfill loop {figures['backfill_loop_seconds']:g} s"
        + (" (patched)" if options.backfill_loop_seconds else " (Dagster's)")
    )
    print("| figure | median (min–max) |")
    print("|---|---|")
    for name, one in figures["one_day"].items():
        print(f"| one day, UI launchRun, {name}: click → row | {fmt(one['click_to_row'])} |")
        for part in PARTS[1:]:
            print(f"| … {part.replace('_', ' ')} | {fmt(one[part])} |")
    for name, samples in figures["backfill"].items():
        rows = summary([s["launch_to_rows"] for s in samples])
        done = summary([s["launch_to_completed"] for s in samples])
        runs = sorted({s["runs"] for s in samples})
        print(f"| 28 days, UI backfill, {name}: launch → rows | {fmt(rows)} |")
        print(f"| … launch → COMPLETED ({'/'.join(map(str, runs))} run(s)) | {fmt(done)} |")
    for name, stats in figures.get("cli", {}).items():
        print(f"| one day, CLI `asset materialize --select {name}` | {fmt(stats)} |")
    print(f"JSON: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
