"""`sugar_import_margin`: is the import window open? The ZCE close against landed raw sugar."""

import datetime as dt

import dagster as dg

from sugars_dagster import clock
from sugars_dagster.defs.assets.market_daily import ASSET as MARKET_DAILY_ASSET
from sugars_dagster.defs.assets.preflight import before_writing, claim_warehouse
from sugars_dagster.defs.assets.step_policy import WAREHOUSE_POOL, no_retry_for_lasting_errors
from sugars_dagster.defs.catalog import OWNERS, row_description, table_metadata
from sugars_dagster.defs.config import ImportMarginConfig
from sugars_dagster.defs.market_calendar import MarketCalendar
from sugars_dagster.defs.partitions import requested_days
from sugars_dagster.errors import MissingDataError
from sugars_dagster.market.calendar.window import classify_window
from sugars_dagster.market.margin import build_import_margin
from sugars_dagster.market.quality import markdown_table
from sugars_dagster.market.series import Series
from sugars_dagster.market.tables import SUGAR_IMPORT_MARGIN
from sugars_dagster.sources.base import MarketSource
from sugars_dagster.warehouse.resource import Warehouse

PREVIEW_COLUMNS = [
    "record_date",
    "sugar_close",
    "landed_cost_in_quota",
    "landed_cost_out_of_quota",
    "margin_out_of_quota",
    "out_of_quota_window_open",
]


def build_sugar_import_margin_asset(partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """`sugar_import_margin` over the market-day partitions."""
    return dg.asset(
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        deps=[MARKET_DAILY_ASSET],
        group_name="market",
        kinds={"polars", "sql"},
        pool=WAREHOUSE_POOL,
        owners=OWNERS,
        metadata=table_metadata(SUGAR_IMPORT_MARGIN),
        description=row_description(
            "Landed cost of raw sugar in and out of quota and the ZCE close's margin over each, per trading day.",
            SUGAR_IMPORT_MARGIN,
        ),
    )(sugar_import_margin)


def sugar_import_margin(
    context: dg.AssetExecutionContext,
    config: ImportMarginConfig,
    warehouse: Warehouse,
    source: MarketSource,
    calendar: MarketCalendar,
) -> dg.MaterializeResult:
    """Landed cost of raw sugar in and out of quota and the ZCE close's margin over each, per trading day."""
    with no_retry_for_lasting_errors():
        days = requested_days(context)
        before_writing(context, source, warehouse)
        first, last = days[0], days[-1]
        inputs = warehouse.read_market_daily(first, last)
        loaded = set(inputs["record_date"].to_list())
        # The days market_daily should have, decided as market_daily decides them: by the
        # calendar, and past it by the sugar bars.
        bars = warehouse.read_series(Series.ZCE_SUGAR, source.providers(Series.ZCE_SUGAR), first, dt.date.max)
        window = classify_window(days, set(bars["trade_date"].to_list()), calendar.load(warehouse, source))
        missing = [day for day in window.trading if day not in loaded]
        if missing:
            raise MissingDataError(
                f"market_daily has no row for trading day(s) {', '.join(map(str, missing[:5]))}"
                f"{' ...' if len(missing) > 5 else ''}; materialize market_daily for them first"
            )
        frame = build_import_margin(inputs, config)
        claim_warehouse(source, warehouse)
        counts = warehouse.write_import_margin(frame, first, last, run_id=context.run.run_id, now=clock.now())

    metadata: dict[str, object] = {
        "window": f"{first} .. {last}",
        "dagster/row_count": frame.height,
        "cost_inputs": dg.MetadataValue.json(config.model_dump()),
        "days_out_of_quota_window_open": int(frame["out_of_quota_window_open"].sum()),
        **counts.as_metadata(),
    }
    if frame.height:
        metadata["preview"] = dg.MetadataValue.md(markdown_table(frame.select(PREVIEW_COLUMNS).tail(5)))
    return dg.MaterializeResult(metadata=metadata)
