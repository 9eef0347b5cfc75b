"""One asset per source series, landing what the source returns in the series' raw table.

The sources return their whole history in one call, so these assets are not partitioned: each
run fetches once and mirrors the span into the warehouse, from where `market_daily` can rebuild
any day without fetching again. Only values that are final are landed: a bar whose session is
still trading is left for the next run.
"""

import datetime as dt
from collections.abc import Iterator

import dagster as dg
import polars as pl

from sugars_dagster import clock
from sugars_dagster.assets.step_policy import WAREHOUSE_POOL, no_retry_for_lasting_errors
from sugars_dagster.errors import SourceDataError, SourceError
from sugars_dagster.market_hours import SESSION_ENDS, newest_final_day
from sugars_dagster.partitions import check_requested_range, market_day_partitions
from sugars_dagster.quality import SHOWN_ROWS, markdown_table
from sugars_dagster.series import Series
from sugars_dagster.sources.base import MarketSource
from sugars_dagster.warehouse.resource import Warehouse
from sugars_dagster.warehouse.tables import RAW_TABLES

# Fetch this far before the first partition so the first day has FX, BDI and ICE to join as-of.
AS_OF_LOOKBACK_DAYS = 60


def history_start() -> dt.date:
    return market_day_partitions.start.date() - dt.timedelta(days=AS_OF_LOOKBACK_DAYS)


def source_checks(series: Series) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            "source_contract",
            asset=series.value,
            blocking=True,
            description="What the source returned met its contract: columns, types, dates, units, ranges.",
        ),
        dg.AssetCheckSpec(
            "served_by_primary",
            asset=series.value,
            description="The preferred provider served the series (a warning when a fallback did).",
        ),
    ]


def _contract_failure(series: Series, failures: list[SourceDataError]) -> dg.AssetCheckResult:
    """The failed check, naming each provider's broken answer and the values that broke it."""
    offending = pl.DataFrame(
        [
            (failure.source, failure.field or "", value)
            for failure in failures
            for value in failure.offending or [failure.detail]
        ],
        schema={"source": pl.String, "field": pl.String, "offending value": pl.String},
        orient="row",
    )
    return dg.AssetCheckResult(
        asset_key=series.value,
        check_name="source_contract",
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR,
        description="; ".join(str(failure) for failure in failures),
        metadata={
            "offending_rows": sum(len(failure.offending) for failure in failures),
            "rows": dg.MetadataValue.md(markdown_table(offending.head(SHOWN_ROWS))),
        },
    )


def land_series(
    context: dg.AssetExecutionContext, series: Series, source: MarketSource, warehouse: Warehouse
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    with no_retry_for_lasting_errors():
        check_requested_range(context.run.tags)
        now = clock.now()
        final_through = newest_final_day(series, now)
        try:
            fetched = source.fetch(series, history_start(), final_through, log=context.log)
        except SourceError as error:
            if error.contract_failures():  # a source answered, with something that breaks its contract
                yield _contract_failure(series, error.contract_failures())
            raise
        counts = warehouse.land_series(fetched, context.run.run_id, now)
    frame = fetched.frame
    newest = frame.tail(1).to_dicts()[0]
    fallback = bool(fetched.failed_providers)
    yield dg.MaterializeResult(
        metadata={
            "provider": fetched.provider,
            "providers_passed_over": dg.MetadataValue.json(list(fetched.failed_providers)),
            "synthetic": dg.MetadataValue.bool(fetched.synthetic),
            "table": RAW_TABLES[series].name,
            "dagster/row_count": frame.height,
            "first_date": str(frame["trade_date"].min()),
            "last_date": str(frame["trade_date"].max()),
            "final_through": f"{final_through} ({SESSION_ENDS[series].description})",
            "newest_row": dg.MetadataValue.json({key: str(value) for key, value in newest.items()}),
            **counts.as_metadata(),
        },
        check_results=[
            dg.AssetCheckResult(
                asset_key=series.value,
                check_name="source_contract",
                passed=True,
                description=f"{frame.height} rows from {fetched.provider} met the contract",
            ),
            dg.AssetCheckResult(
                asset_key=series.value,
                check_name="served_by_primary",
                passed=not fallback,
                severity=dg.AssetCheckSeverity.WARN,
                description=(
                    f"served by fallback {fetched.provider}" if fallback else f"served by {fetched.provider}"
                ),
                metadata={"passed_over": dg.MetadataValue.json(list(fetched.failed_providers))},
            ),
        ],
    )


_COMMON = {
    "group_name": "sources",
    "kinds": {"python", "sql"},
    "pool": WAREHOUSE_POOL,
    # Needed so a --partition-range over the whole graph stays one run.
    "backfill_policy": dg.BackfillPolicy.single_run(),
}


@dg.asset(check_specs=source_checks(Series.ZCE_SUGAR), **_COMMON)
def zce_sugar_bars(
    context: dg.AssetExecutionContext, source: MarketSource, warehouse: Warehouse
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """ZCE white sugar continuous/main contract daily bars, CNY/t (Sina SR0, else Eastmoney)."""
    yield from land_series(context, Series.ZCE_SUGAR, source, warehouse)


@dg.asset(check_specs=source_checks(Series.USD_CNY), **_COMMON)
def usd_cny_central_parity(
    context: dg.AssetExecutionContext, source: MarketSource, warehouse: Warehouse
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """USD/CNY central parity published by SAFE, CNY per USD."""
    yield from land_series(context, Series.USD_CNY, source, warehouse)


@dg.asset(check_specs=source_checks(Series.BDI), **_COMMON)
def baltic_dry_index(
    context: dg.AssetExecutionContext, source: MarketSource, warehouse: Warehouse
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Baltic Dry Index, points."""
    yield from land_series(context, Series.BDI, source, warehouse)


@dg.asset(check_specs=source_checks(Series.ICE_NO11), **_COMMON)
def ice_raw_sugar_bars(
    context: dg.AssetExecutionContext, source: MarketSource, warehouse: Warehouse
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """ICE raw sugar No.11 front-month daily bars, US cents/lb (Sina RS, else Eastmoney SB00Y)."""
    yield from land_series(context, Series.ICE_NO11, source, warehouse)


raw_series_assets = [zce_sugar_bars, usd_cny_central_parity, baltic_dry_index, ice_raw_sugar_bars]
