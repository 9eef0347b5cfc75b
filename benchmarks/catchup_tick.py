"""Cost of one catch-up sensor tick against 20 years of partitions with 30 holes.

    .venv/bin/python -m benchmarks.catchup_tick [--runs 7] [--backend postgres|sqlite]

Loads the full history (SR's listing day to yesterday) with the demo source through the CLI into
a fresh instance and warehouse, deletes 30 trading days from the warehouse (10 inside the default
30-day look-back, 20 spread over the older years), then times `evaluate_tick` of the real sensor
with the default look-back and with the whole history (look-back 0). Prints medians.
"""

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import sqlalchemy as sa

from benchmarks.full_history import one_run
from sugars_dagster.defs.catchup_policy import CatchupPolicy
from sugars_dagster.defs.market_calendar import MarketCalendar
from sugars_dagster.defs.partitions import MARKET_TIMEZONE, last_complete_day
from sugars_dagster.market.calendar import trading as trading_calendar
from sugars_dagster.market.catchup_plan import catchup_window
from sugars_dagster.settings import SR_LISTING_DATE
from sugars_dagster.sources.demo_source import DemoSource
from sugars_dagster.warehouse.export import Retention
from sugars_dagster.warehouse.resource import Warehouse
from sugars_dagster.warehouse.tables import market_daily
from sugars_dagster_tests.support.cli import FAST_EVENT_SETTINGS, instance_at
from sugars_dagster_tests.support.definitions import DEFAULTS, product_definitions

LOOKBACKS = (30, 0)  # the default, and the whole history


def tick_figures(runs: int = 7, backend: str = "postgres") -> dict:
    """Median tick time (ms) per look-back, with what each tick saw."""
    first, last = dt.date.fromisoformat(SR_LISTING_DATE), last_complete_day()
    sessions = trading_calendar.snapshot_calendar().sessions_between(
        first, min(last, trading_calendar.snapshot_calendar().known_through)
    )
    recent = [day for day in sessions if day > last - dt.timedelta(days=29)]
    chooser = random.Random(20251204)
    holes = chooser.sample(recent[:-1], 10) + chooser.sample([day for day in sessions if day not in recent], 20)
    sensor = product_definitions().resolve_sensor_def("market_daily_catchup_sensor")
    figures: dict = {"trading_days": len(sessions)}

    def measure(home: Path, warehouse_url: str) -> None:
        with Warehouse(url=warehouse_url).engine().begin() as conn:
            conn.execute(sa.delete(market_daily).where(market_daily.c.record_date.in_(holes)))
        with instance_at(home) as instance:
            for lookback in LOOKBACKS:
                timings, result = [], None
                for _ in range(runs):
                    context = dg.build_sensor_context(
                        instance=instance,
                        resources={
                            "catchup": CatchupPolicy(lookback_days=lookback, max_runs_per_tick=100),
                            "warehouse": Warehouse(url=warehouse_url),
                            "source": DemoSource(),
                            "retention": Retention(),
                            "calendar": MarketCalendar(),
                        },
                    )
                    started = time.perf_counter()
                    result = sensor.evaluate_tick(context)
                    timings.append(time.perf_counter() - started)
                requested = result.run_requests or []
                window_first, window_last = catchup_window(
                    dt.datetime.now(dt.UTC),
                    lookback_days=lookback,
                    grace=dt.timedelta(minutes=60),
                    schedule_time=DEFAULTS.nightly_load_time,
                    timezone=ZoneInfo(MARKET_TIMEZONE),
                    history_start=first,
                )
                figures[lookback] = {
                    "ms": statistics.median(timings) * 1000,
                    "checked": len(trading_calendar.snapshot_calendar().sessions_between(window_first, window_last)),
                    "holes_found": sum(
                        1
                        for day in holes
                        for request in requested
                        if request.tags["dagster/asset_partition_range_start"]
                        <= day.isoformat()
                        <= request.tags["dagster/asset_partition_range_end"]
                    ),
                    "runs": len(requested),
                }

    with tempfile.TemporaryDirectory(prefix="sugars_tick_") as root:
        print(f"loading {first} .. {last} ({(last - first).days + 1} partitions) ...", file=sys.stderr)
        one_run(backend, Path(root), first, last, FAST_EVENT_SETTINGS, after=measure)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--backend", default="postgres", choices=["postgres", "sqlite"])
    options = parser.parse_args()
    figures = tick_figures(options.runs, options.backend)
    print(
        f"catch-up sensor tick, {options.backend}, {figures['trading_days']} trading days loaded, 30 holes, {options.runs} ticks each"
    )
    print("| look-back | days checked | holes found | runs requested | tick time (median) |")
    print("|---|---|---|---|---|")
    for lookback in LOOKBACKS:
        row = figures[lookback]
        print(
            f"| {lookback or 'whole history'} | {row['checked']} trading days | {row['holes_found']} | {row['runs']} | {row['ms']:.0f} ms |"
        )


if __name__ == "__main__":
    main()
