"""Export and retention: the warehouse's rows as Parquet, then old rows removed (if configured)."""

from collections import Counter
from zoneinfo import ZoneInfo

import dagster as dg

from sugars_dagster import clock
from sugars_dagster.defs.assets.step_policy import WAREHOUSE_POOL
from sugars_dagster.defs.catalog import OWNERS
from sugars_dagster.defs.partitions import MARKET_TIMEZONE, requested_days
from sugars_dagster.warehouse.export import ExportTarget, Retention
from sugars_dagster.warehouse.resource import Warehouse


def build_market_daily_export_asset(partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """`market_daily_export` over the market-day partitions."""
    return dg.asset(
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        deps=["sugar_import_margin"],
        group_name="export",
        owners=OWNERS,
        kinds={"parquet"},
    )(market_daily_export)


def market_daily_export(
    context: dg.AssetExecutionContext, warehouse: Warehouse, export: ExportTarget
) -> dg.MaterializeResult:
    """market_daily and sugar_import_margin rows as Parquet, one file per table and day."""
    days = requested_days(context)
    first, last = days[0], days[-1]
    actions: dict[str, Counter] = {}
    for dataset, frame in (
        ("market_daily", warehouse.read_market_daily(first, last)),
        ("sugar_import_margin", warehouse.read_import_margin(first, last)),
    ):
        by_day = {key[0]: rows for key, rows in frame.partition_by("record_date", as_dict=True).items()}
        actions[dataset] = Counter(export.sync_day(dataset, day, by_day.get(day)).value for day in days)
    return dg.MaterializeResult(
        metadata={
            "target": export.display(),
            "window": f"{first} .. {last}",
            "layout": "<target>/<table>/<year>/<YYYY-MM-DD>.parquet",
            **{f"{dataset}_files": dg.MetadataValue.json(dict(counts)) for dataset, counts in actions.items()},
        }
    )


@dg.asset(deps=["market_daily_export"], group_name="export", owners=OWNERS, kinds={"sql"}, pool=WAREHOUSE_POOL)
def warehouse_retention(
    context: dg.AssetExecutionContext, warehouse: Warehouse, retention: Retention
) -> dg.MaterializeResult:
    """Keeps the last SUGARS_RETENTION_DAYS market days in the warehouse (off by default); never touches the export."""
    cutoff = retention.cutoff(clock.now().astimezone(ZoneInfo(MARKET_TIMEZONE)).date())
    if cutoff is None:
        return dg.MaterializeResult(metadata={"retention": "off (SUGARS_RETENTION_DAYS=0): nothing deleted"})
    deleted = warehouse.delete_before(cutoff)
    context.log.info(f"kept market days from {cutoff}; deleted {deleted}")
    return dg.MaterializeResult(
        metadata={
            "retention": f"last {retention.days} days",
            "kept_from": str(cutoff),
            **{f"deleted_{name}": n for name, n in deleted.items()},
        }
    )
