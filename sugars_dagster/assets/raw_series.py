"""One asset per source series, landing what the source returns in the series' raw table.

The sources return their whole history in one call, so these assets are not partitioned: each
run fetches once and mirrors the span into the warehouse, from where `market_daily` can rebuild
any day without fetching again.
"""

import datetime as dt

import dagster as dg

from sugars_dagster.assets.step_policy import WAREHOUSE_POOL, no_retry_for_lasting_errors
from sugars_dagster.partitions import check_requested_range, last_complete_day, market_day_partitions
from sugars_dagster.series import Series
from sugars_dagster.sources.base import MarketSource
from sugars_dagster.warehouse.resource import Warehouse
from sugars_dagster.warehouse.tables import RAW_TABLES

# Fetch this far before the first partition so the first day has FX, BDI and ICE to join as-of.
AS_OF_LOOKBACK_DAYS = 60


def history_span() -> tuple[dt.date, dt.date]:
    first_day = market_day_partitions.start.date() - dt.timedelta(days=AS_OF_LOOKBACK_DAYS)
    return first_day, last_complete_day()


def land_series(
    context: dg.AssetExecutionContext, series: Series, source: MarketSource, warehouse: Warehouse
) -> dg.MaterializeResult:
    with no_retry_for_lasting_errors():
        check_requested_range(context.run.tags)
        first, last = history_span()
        fetched = source.fetch(series, first, last, log=context.log)
        counts = warehouse.land_series(fetched, context.run.run_id, dt.datetime.now(dt.UTC))
    frame = fetched.frame
    newest = frame.tail(1).to_dicts()[0]
    return dg.MaterializeResult(
        metadata={
            "provider": fetched.provider,
            "synthetic": dg.MetadataValue.bool(fetched.synthetic),
            "table": RAW_TABLES[series].name,
            "dagster/row_count": frame.height,
            "first_date": str(frame["trade_date"].min()),
            "last_date": str(frame["trade_date"].max()),
            "newest_row": dg.MetadataValue.json({key: str(value) for key, value in newest.items()}),
            **counts.as_metadata(),
        }
    )


_COMMON = {
    "group_name": "sources",
    "kinds": {"python", "sql"},
    "pool": WAREHOUSE_POOL,
    # Needed so a --partition-range over the whole graph stays one run.
    "backfill_policy": dg.BackfillPolicy.single_run(),
}


@dg.asset(**_COMMON)
def zce_sugar_bars(
    context: dg.AssetExecutionContext, source: MarketSource, warehouse: Warehouse
) -> dg.MaterializeResult:
    """ZCE white sugar continuous contract (SR0) daily bars, CNY/t."""
    return land_series(context, Series.ZCE_SUGAR, source, warehouse)


@dg.asset(**_COMMON)
def usd_cny_central_parity(
    context: dg.AssetExecutionContext, source: MarketSource, warehouse: Warehouse
) -> dg.MaterializeResult:
    """USD/CNY central parity published by SAFE, CNY per USD."""
    return land_series(context, Series.USD_CNY, source, warehouse)


@dg.asset(**_COMMON)
def baltic_dry_index(
    context: dg.AssetExecutionContext, source: MarketSource, warehouse: Warehouse
) -> dg.MaterializeResult:
    """Baltic Dry Index, points."""
    return land_series(context, Series.BDI, source, warehouse)


@dg.asset(**_COMMON)
def ice_raw_sugar_bars(
    context: dg.AssetExecutionContext, source: MarketSource, warehouse: Warehouse
) -> dg.MaterializeResult:
    """ICE raw sugar No.11 front-month daily bars, US cents/lb."""
    return land_series(context, Series.ICE_NO11, source, warehouse)


raw_series_assets = [zce_sugar_bars, usd_cny_central_parity, baltic_dry_index, ice_raw_sugar_bars]
