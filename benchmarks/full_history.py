"""Full history (SR's listing day to yesterday) in one run, through the CLI, with the demo source.

    .venv/bin/python -m benchmarks.full_history [--runs 3] [--backends sqlite,postgres] [--dagster-defaults]

Each backend is a fresh Dagster instance plus a fresh warehouse of the same kind (SQLite files, or
two new databases on SUGARS_TEST_POSTGRES_URL's server). Wall time and the peak RSS of the
`dagster` process are measured per run; the table shows medians. After each run the warehouse must
hold one row per trading day, all from that one run, or the benchmark fails.
"""

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from sugars_dagster.defs.partitions import last_complete_day
from sugars_dagster.market.calendar import trading as trading_calendar
from sugars_dagster.settings import SR_LISTING_DATE
from sugars_dagster.warehouse.resource import Warehouse
from sugars_dagster_tests.support.cli import (
    DAGSTER,
    FAST_EVENT_SETTINGS,
    CliInstance,
    materialize_args,
    postgres_instance_yaml,
)
from sugars_dagster_tests.support.pg import DEFAULT_POSTGRES_URL, POSTGRES_URL_ENV, create_database, drop_database
from sugars_dagster_tests.support.processes import ROOT

LOCAL_INSTANCE = ROOT / "dagster.yaml"


@dataclass
class Measurement:
    seconds: float
    peak_rss_mb: float


def run_measured(cli: CliInstance, args: list[str]) -> Measurement:
    started = time.perf_counter()
    process = subprocess.Popen(
        [DAGSTER, *args], env=cli.env, cwd=cli.home, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    stderr = process.stderr.read() if process.stderr else ""
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"dagster failed:\n{stderr[-4000:]}")
    return Measurement(elapsed, usage.ru_maxrss / 1024)


def check_loaded(warehouse_url: str, first: dt.date, last: dt.date) -> int:
    with Warehouse(url=warehouse_url).engine().connect() as conn:
        rows, runs = conn.execute(sa.text("SELECT COUNT(*), COUNT(DISTINCT run_id) FROM market_daily")).one()
    sessions = len(
        trading_calendar.snapshot_calendar().sessions_between(
            first, min(last, trading_calendar.snapshot_calendar().known_through)
        )
    )
    if rows < sessions or runs != 1:
        raise SystemExit(f"expected >= {sessions} rows from one run, found {rows} rows from {runs} runs")
    return rows


def one_run(
    backend: str,
    root: Path,
    first: dt.date,
    last: dt.date,
    event_settings: dict[str, str],
    after: Callable[[Path, str], None] | None = None,
) -> tuple[Measurement, int]:
    """Load [first, last] in one CLI run into a fresh instance and warehouse; `after(home,
    warehouse_url)` may look at them before they are thrown away."""
    partition_range = ["--partition-range", f"{first}...{last}"]
    if backend == "sqlite":
        # The laptop's instance as shipped; with the Dagster defaults, Dagster's own SQLite storage.
        yaml = LOCAL_INSTANCE.read_text() if event_settings else "telemetry:\n  enabled: false\n"
        cli = CliInstance.create(root, instance_yaml=yaml, **event_settings)
        warehouse = f"sqlite:///{root / 'data' / 'warehouse.sqlite'}"
        measurement = run_measured(cli, materialize_args(*partition_range))
        rows = check_loaded(warehouse, first, last)
        if after:
            after(cli.home, warehouse)
        return measurement, rows
    server = os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL)
    storage, warehouse = create_database(server, "sugars_bench"), create_database(server, "sugars_bench")
    try:
        cli = CliInstance.create(
            root, instance_yaml=postgres_instance_yaml(storage), SUGARS_WAREHOUSE_URL=warehouse, **event_settings
        )
        measurement = run_measured(cli, materialize_args(*partition_range))
        rows = check_loaded(warehouse, first, last)
        if after:
            after(cli.home, warehouse)
        Warehouse(url=warehouse).engine().dispose()
        return measurement, rows
    finally:
        drop_database(server, storage)
        drop_database(server, warehouse)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="runs per configuration; the table shows medians")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument(
        "--dagster-defaults", action="store_true", help="also measure without the two event-log settings"
    )
    options = parser.parse_args()

    first, last = dt.date.fromisoformat(SR_LISTING_DATE), last_complete_day()
    configurations = [("recommended event settings", FAST_EVENT_SETTINGS)]
    if options.dagster_defaults:
        configurations.append(("Dagster defaults", {}))
    print(
        f"full history {first} .. {last}: {(last - first).days + 1} daily partitions, demo source, CLI, "
        f"{options.runs} run(s) each",
        file=sys.stderr,
    )
    lines = [
        "| storage and warehouse | event settings | wall time (median) | peak RSS (median) | rows |",
        "|---|---|---|---|---|",
    ]
    for backend in options.backends.split(","):
        for label, settings in configurations:
            results = []
            for attempt in range(options.runs):
                with tempfile.TemporaryDirectory(prefix="sugars_bench_") as root:
                    measurement, rows = one_run(backend, Path(root), first, last, settings)
                print(
                    f"  {backend}, {label}, run {attempt + 1}: {measurement.seconds:.1f} s, "
                    f"{measurement.peak_rss_mb:.0f} MB",
                    file=sys.stderr,
                )
                results.append(measurement)
            name = "SQLite" if backend == "sqlite" else "PostgreSQL"
            lines.append(
                f"| {name} | {label} | {statistics.median(m.seconds for m in results):.1f} s | "
                f"{statistics.median(m.peak_rss_mb for m in results):.0f} MB | {rows} |"
            )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
