"""`market_daily`: one row per ZCE trading day, the table the API and dashboard read."""

import datetime as dt
from collections.abc import Iterator

import dagster as dg
import polars as pl

from sugars_dagster import clock
from sugars_dagster.defs.assets.preflight import before_writing, claim_warehouse
from sugars_dagster.defs.assets.raw_series import RAW_SERIES_KEYS
from sugars_dagster.defs.assets.step_policy import WAREHOUSE_POOL, no_retry_for_lasting_errors
from sugars_dagster.defs.assets.trading_calendar import ASSET as TRADING_CALENDAR
from sugars_dagster.defs.catalog import OWNERS, row_description, table_metadata
from sugars_dagster.defs.checks import as_check_result
from sugars_dagster.defs.config import ImportCostConfig, MarketDailyConfig
from sugars_dagster.defs.market_calendar import MarketCalendar
from sugars_dagster.defs.partitions import requested_days
from sugars_dagster.errors import MissingDataError, QualityError
from sugars_dagster.market import quality
from sugars_dagster.market.build import MARKET_DAILY_DECIMALS, MarketInputs, Staleness, build_market_daily
from sugars_dagster.market.calendar.publication import PublicationDays
from sugars_dagster.market.calendar.trading import TradingCalendar
from sugars_dagster.market.calendar.window import WindowDays, classify_window
from sugars_dagster.market.series import Series
from sugars_dagster.market.tables import MARKET_DAILY
from sugars_dagster.sources.base import MarketSource
from sugars_dagster.warehouse.resource import Warehouse
from sugars_dagster.warehouse.tables import MARKET_DAILY_CONTRACT

PREVIEW_ROWS = 5
ASSET = "market_daily"

CHECK_SPECS = [
    dg.AssetCheckSpec("required_fields", asset=ASSET, blocking=True, description="No empty contract field."),
    dg.AssetCheckSpec(
        "plausible_ranges",
        asset=ASSET,
        blocking=True,
        description="SR 1,500-12,000 CNY/t, USD/CNY 5.5-9, BDI 200-15,000, ICE 5-60 c/lb.",
    ),
    dg.AssetCheckSpec("day_over_day_moves", asset=ASSET, description="No move beyond the configured limit (warning)."),
    dg.AssetCheckSpec(
        "input_staleness", asset=ASSET, description="No as-of input older than its warning limit (warning)."
    ),
    dg.AssetCheckSpec("row_count", asset=ASSET, blocking=True, description="One row per trading day of the window."),
    dg.AssetCheckSpec("unique_days", asset=ASSET, blocking=True, description="No day stored twice."),
]


def build_market_daily_asset(partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """`market_daily` over the market-day partitions."""
    return dg.asset(
        partitions_def=partitions,
        # Any range of days loads in one run that reads each raw table once.
        backfill_policy=dg.BackfillPolicy.single_run(),
        deps=[TRADING_CALENDAR, *RAW_SERIES_KEYS],
        group_name="market",
        kinds={"polars", "sql"},
        pool=WAREHOUSE_POOL,
        check_specs=CHECK_SPECS,
        owners=OWNERS,
        metadata=table_metadata(MARKET_DAILY),
        description=row_description(
            "ZCE white sugar close and open with USD/CNY, BDI and the import-cost estimate, per trading day: "
            "the table the API and dashboard read.",
            MARKET_DAILY,
        ),
    )(market_daily)


def market_daily(
    context: dg.AssetExecutionContext,
    config: MarketDailyConfig,
    source: MarketSource,
    warehouse: Warehouse,
    calendar: MarketCalendar,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """ZCE white sugar close and open with USD/CNY, BDI and the import-cost estimate, per trading day."""
    with no_retry_for_lasting_errors():
        yield from _load_window(context, config, source, warehouse, calendar)


def _load_window(
    context: dg.AssetExecutionContext,
    config: MarketDailyConfig,
    source: MarketSource,
    warehouse: Warehouse,
    calendar: MarketCalendar,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    days = requested_days(context)
    before_writing(context, source, warehouse)
    first, last = days[0], days[-1]
    mainland = calendar.load(warehouse, source)
    window, inputs = _read_inputs(context, days, config.staleness(), source, warehouse, mainland)
    publication, built_at = PublicationDays(mainland), clock.now()
    frame = build_market_daily(
        window.trading,
        inputs,
        config.staleness(),
        config,
        expected=lambda series, day: publication.newest_expected(series, day, built_at),
    )

    # Checked before anything is written: a blocking failure leaves the table as it was.
    checks = _checks_before_writing(frame, warehouse, first, config)
    blocked = [check for check in checks if check.blocking and not check.passed]
    if blocked:
        for check in checks:
            yield as_check_result(check, ASSET)
        raise QualityError(
            "; ".join(f"check {check.name} failed: {check.summary}" for check in blocked)
            + f"; nothing written for {first} .. {last}"
        )

    claim_warehouse(source, warehouse)
    counts = warehouse.write_market_daily(
        frame,
        first,
        last,
        source_label=source.label,
        synthetic=source.synthetic,
        run_id=context.run.run_id,
        now=built_at,
    )
    stored = warehouse.read_market_daily(first, last)
    checks += [
        quality.row_count(stored.height, window.trading, set(stored["record_date"].to_list())),
        quality.unique_days(warehouse.duplicate_days(ASSET, first, last)),
    ]
    metadata = _metadata(days, window, frame, source, config) | counts.as_metadata()
    yield dg.MaterializeResult(metadata=metadata, check_results=[as_check_result(check, ASSET) for check in checks])


def _read_inputs(
    context: dg.AssetExecutionContext,
    days: list[dt.date],
    staleness: Staleness,
    source: MarketSource,
    warehouse: Warehouse,
    mainland: TradingCalendar,
) -> tuple[WindowDays, MarketInputs]:
    """Which days of the window trade, and the series the build joins, from the raw tables."""
    first, last = days[0], days[-1]
    oldest_needed = first - dt.timedelta(days=max(staleness.usd_cny_days, staleness.bdi_days, staleness.ice_days))

    def read(series: Series, since: dt.date, until: dt.date = dt.date.max) -> pl.DataFrame:
        return warehouse.read_series(series, source.providers(series), since, until)

    # Bars after the window too: past the calendar's coverage they tell a holiday from a late bar.
    sugar = read(Series.ZCE_SUGAR, first)
    window = classify_window(days, set(sugar["trade_date"].to_list()), mainland)
    if window.trading and sugar.height == 0:
        raise MissingDataError(
            f"the warehouse has no {Series.ZCE_SUGAR.value} rows from {', '.join(source.providers(Series.ZCE_SUGAR))} "
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
    return window, inputs


def _checks_before_writing(
    frame: pl.DataFrame, warehouse: Warehouse, first: dt.date, config: MarketDailyConfig
) -> list[quality.CheckOutcome]:
    """The checks on the new rows; the day before the window anchors the day-over-day moves."""
    before_window = warehouse.read_market_daily(first - dt.timedelta(days=31), first - dt.timedelta(days=1)).tail(1)
    return [
        quality.required_fields(frame, [name for name in MARKET_DAILY_CONTRACT if name != "updated_at"]),
        quality.plausible_ranges(frame, quality.MARKET_DAILY_RANGES),
        quality.day_over_day_moves(frame, before_window, config.checks.moves()),
        quality.input_staleness(frame, config.checks.staleness()),
    ]


def _metadata(
    days: list[dt.date], window: WindowDays, frame: pl.DataFrame, source: MarketSource, config: MarketDailyConfig
) -> dict[str, object]:
    first, last = days[0], days[-1]
    metadata: dict[str, object] = {
        "window": f"{first} .. {last}",
        "market_days": len(days),
        "trading_days": len(window.trading),
        "closed_days": len(window.closed) + len(window.closed_by_source),
        "source": source.label + (" (synthetic values, not market data)" if source.synthetic else ""),
        "providers": dg.MetadataValue.json(_providers_used(frame)),
        "dagster/row_count": frame.height,
        # Rows whose FX, BDI or ICE value is older than their series' newest publication day.
        "rows_reached_back": int(frame["reached_back"].is_not_null().sum()),
        "import_cost_inputs": dg.MetadataValue.json(
            {name: getattr(config, name) for name in ImportCostConfig.model_fields}
        ),
    }
    bridged = frame.filter(pl.col("reached_back").is_not_null())
    if bridged.height:
        metadata["reached_back"] = dg.MetadataValue.md(
            quality.markdown_table(bridged.select("record_date", "reached_back").tail(quality.SHOWN_ROWS))
        )
    if frame.height:
        metadata["preview"] = dg.MetadataValue.md(
            quality.markdown_table(frame.select("record_date", *MARKET_DAILY_DECIMALS).tail(PREVIEW_ROWS))
        )
    else:
        metadata["note"] = f"no ZCE trading day in {first} .. {last}; nothing to load"
    return metadata


def _providers_used(frame: pl.DataFrame) -> dict[str, dict[str, int]]:
    """Per input, how many rows each provider served (a fallback shows up here)."""
    return {
        column: {str(provider): count for provider, count in frame[column].value_counts().iter_rows()}
        for column in ("sugar_provider", "usd_cny_provider", "bdi_provider", "ice_provider")
    }
