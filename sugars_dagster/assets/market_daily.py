"""`market_daily`: one row per ZCE trading day, the table the API and dashboard read."""

import datetime as dt

import dagster as dg
import polars as pl
from pydantic import Field

from sugars_dagster.assets.raw_series import raw_series_assets
from sugars_dagster.assets.step_policy import WAREHOUSE_POOL, no_retry_for_lasting_errors
from sugars_dagster.errors import MissingDataError
from sugars_dagster.import_cost import ImportCostConfig
from sugars_dagster.market_daily_build import MarketInputs, Staleness, build_market_daily
from sugars_dagster.market_days import classify_window
from sugars_dagster.partitions import check_requested_range, market_day_partitions, window_days
from sugars_dagster.series import Series
from sugars_dagster.sources.base import MarketSource
from sugars_dagster.warehouse.resource import Warehouse
from sugars_dagster.warehouse.tables import MARKET_DAILY_DECIMALS

PREVIEW_ROWS = 5


class MarketDailyConfig(ImportCostConfig):
    """Import-cost inputs, and how stale an as-of input may be before the run refuses the day."""

    usd_cny_max_staleness_days: int = Field(
        default=7, ge=0, le=60, description="Oldest USD/CNY fixing accepted for a trading day, in days."
    )
    bdi_max_staleness_days: int = Field(
        default=14,
        ge=0,
        le=60,
        description="Oldest BDI accepted, in days (the index was weekly in its early years).",
    )
    ice_max_staleness_days: int = Field(
        default=7, ge=0, le=60, description="Oldest ICE No.11 close accepted, in days."
    )

    def staleness(self) -> Staleness:
        return Staleness(
            usd_cny_days=self.usd_cny_max_staleness_days,
            bdi_days=self.bdi_max_staleness_days,
            ice_days=self.ice_max_staleness_days,
        )


def _preview(frame: pl.DataFrame) -> str:
    columns = ["record_date", *MARKET_DAILY_DECIMALS]
    rows = frame.select(columns).tail(PREVIEW_ROWS).iter_rows()
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


@dg.asset(
    partitions_def=market_day_partitions,
    # Any range of days loads in one run that reads each raw table once.
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=raw_series_assets,
    group_name="market",
    kinds={"polars", "sql"},
    pool=WAREHOUSE_POOL,
)
def market_daily(
    context: dg.AssetExecutionContext,
    config: MarketDailyConfig,
    source: MarketSource,
    warehouse: Warehouse,
) -> dg.MaterializeResult:
    """ZCE white sugar close and open with USD/CNY, BDI and the import-cost estimate, per trading day."""
    with no_retry_for_lasting_errors():
        return _load_window(context, config, source, warehouse)


def _load_window(
    context: dg.AssetExecutionContext, config: MarketDailyConfig, source: MarketSource, warehouse: Warehouse
) -> dg.MaterializeResult:
    check_requested_range(context.run.tags)
    days = window_days(context.partition_time_window)
    first, last = days[0], days[-1]
    staleness = config.staleness()
    oldest_needed = first - dt.timedelta(
        days=max(staleness.usd_cny_days, staleness.bdi_days, staleness.ice_days)
    )

    def read(series: Series, since: dt.date, until: dt.date = dt.date.max) -> pl.DataFrame:
        return warehouse.read_series(series, source.provider(series), since, until)

    # Bars after the window too: past the calendar's coverage they tell a holiday from a late bar.
    sugar = read(Series.ZCE_SUGAR, first)
    window = classify_window(days, set(sugar["trade_date"].to_list()))
    if window.trading and sugar.height == 0:
        raise MissingDataError(
            f"the warehouse has no {Series.ZCE_SUGAR.value} rows from {source.provider(Series.ZCE_SUGAR)} "
            f"on or after {first}; materialize the source assets too (--select '*market_daily')"
        )
    for day in window.closed_by_source:
        context.log.warning(
            f"{day}: past the trading calendar's coverage; no bar although later bars exist, "
            "so it is treated as a holiday"
        )
    if window.bars_on_closed_days:
        context.log.warning(
            f"the sugar source has bars on days the calendar calls closed, not loaded: "
            f"{[str(day) for day in window.bars_on_closed_days]}"
        )

    inputs = MarketInputs(
        sugar=sugar.filter(pl.col("trade_date") <= last),
        usd_cny=read(Series.USD_CNY, oldest_needed, last),
        bdi=read(Series.BDI, oldest_needed, last),
        ice=read(Series.ICE_NO11, oldest_needed, last),
    )
    frame = build_market_daily(window.trading, inputs, staleness, config)
    counts = warehouse.write_market_daily(
        frame.select("record_date", *MARKET_DAILY_DECIMALS),
        first,
        last,
        source_label=source.label,
        synthetic=source.synthetic,
        run_id=context.run.run_id,
        now=dt.datetime.now(dt.UTC),
    )

    metadata: dict[str, object] = {
        "window": f"{first} .. {last}",
        "market_days": len(days),
        "trading_days": len(window.trading),
        "closed_days": len(window.closed) + len(window.closed_by_source),
        "source": source.label + (" (synthetic values, not market data)" if source.synthetic else ""),
        "dagster/row_count": frame.height,
        "import_cost_inputs": dg.MetadataValue.json(
            {name: getattr(config, name) for name in ImportCostConfig.model_fields}
        ),
        **counts.as_metadata(),
    }
    if frame.height:
        metadata["preview"] = dg.MetadataValue.md(_preview(frame))
    else:
        metadata["note"] = f"no ZCE trading day in {first} .. {last}; nothing to load"
    return dg.MaterializeResult(metadata=metadata)
