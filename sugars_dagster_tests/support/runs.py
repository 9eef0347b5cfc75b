"""Helpers to run the asset graph in process and read what happened."""

import uuid

import dagster as dg

from sugars_dagster.defs.market_calendar import MarketCalendar
from sugars_dagster.sources.base import MarketSource
from sugars_dagster.warehouse.export import ExportTarget, Retention
from sugars_dagster.warehouse.resource import Warehouse
from sugars_dagster_tests.support.definitions import product_graph

# The whole graph, sources to backups, as market_daily_job runs it.
GRAPH = product_graph()


def memory_export() -> ExportTarget:
    """A throwaway in-memory fsspec target."""
    return ExportTarget(url=f"memory://sugars-tests/{uuid.uuid4().hex}")


def run_graph(
    source: MarketSource,
    warehouse: Warehouse,
    instance: dg.DagsterInstance,
    *,
    partition: str | None = None,
    partition_range: tuple[str, str] | None = None,
    market_daily_config: dict | None = None,
    export: ExportTarget | None = None,
    retention: Retention | None = None,
    assets: list | None = None,
    calendar: MarketCalendar | None = None,
) -> dg.ExecuteInProcessResult:
    """Materialize the graph for one partition or a range, in one run."""
    tags = {}
    if partition_range:
        tags = {
            "dagster/asset_partition_range_start": partition_range[0],
            "dagster/asset_partition_range_end": partition_range[1],
        }
    run_config = {"ops": {"market_daily": {"config": market_daily_config}}} if market_daily_config else None
    return dg.materialize(
        assets or GRAPH,
        partition_key=partition,
        tags=tags,
        resources={
            "source": source,
            "warehouse": warehouse,
            "export": export or memory_export(),
            "retention": retention or Retention(days=0),
            "calendar": calendar or MarketCalendar(),
        },
        instance=instance,
        run_config=run_config,
        raise_on_error=False,
    )


def failure_text(result: dg.ExecuteInProcessResult) -> str:
    """Every failed step's error, with its causes, as one string."""
    parts: list[str] = []
    for event in result.get_step_failure_events():
        error = event.step_failure_data.error
        while error is not None:
            parts.append(error.message)
            error = error.cause
    return "\n".join(parts)


def market_daily_metadata(result: dg.ExecuteInProcessResult) -> list[dict]:
    """Metadata of each `market_daily` partition materialized by the run."""
    return [
        {key: value.value for key, value in event.materialization.metadata.items()}
        for event in result.get_asset_materialization_events()
        if event.asset_key == dg.AssetKey("market_daily")
    ]


def step_intervals(instance: dg.DagsterInstance, runs: list[dg.DagsterRun]) -> list[tuple[float, float, str, str]]:
    """(start, end, run id, step) of every step that succeeded, from Dagster's event log, in order."""
    intervals = []
    for run in runs:
        started = {}
        for entry in instance.all_logs(
            run.run_id, of_type={dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS}
        ):
            if entry.dagster_event.event_type == dg.DagsterEventType.STEP_START:
                started[entry.step_key] = entry.timestamp
            else:
                intervals.append((started[entry.step_key], entry.timestamp, run.run_id, entry.step_key))
    return sorted(intervals)


def overlaps(intervals: list[tuple[float, float, str, str]]) -> list[tuple]:
    """Neighbouring intervals that ran at the same time."""
    return [(a, b) for a, b in zip(intervals, intervals[1:], strict=False) if b[0] < a[1]]


def materializations(instance: dg.DagsterInstance, day: str) -> list:
    """Dagster's records of market_daily materializations of one day."""
    return instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("market_daily"), asset_partitions=[day]), limit=1000
    ).records
