"""`mainland_trading_calendar`: the trading days of the mainland exchanges, as their source lists them.

ZCE closes with the mainland exchanges. The source lists whole years, the coming one once its
holidays are announced, so the calendar never runs out while the source answers. It has a
fallback, so a failed fetch warns instead of failing the night's load: what was landed before
stays, and the shipped snapshot covers the years nothing was landed for.
"""

from collections.abc import Iterator
from zoneinfo import ZoneInfo

import dagster as dg

from sugars_dagster import clock
from sugars_dagster.defs.assets.preflight import before_writing, claim_warehouse
from sugars_dagster.defs.assets.step_policy import WAREHOUSE_POOL, no_retry_for_lasting_errors
from sugars_dagster.defs.catalog import OWNERS, table_metadata
from sugars_dagster.defs.market_calendar import MarketCalendar
from sugars_dagster.defs.partitions import MARKET_TIMEZONE, check_requested_range
from sugars_dagster.errors import SourceDataError, SourceError
from sugars_dagster.market.calendar.trading import check_trading_days, lost_past_sessions
from sugars_dagster.market.tables import RAW_TRADING_CALENDAR
from sugars_dagster.sources.base import MarketSource
from sugars_dagster.warehouse.resource import Warehouse
from sugars_dagster.warehouse.tables import raw_trading_calendar

ASSET = "mainland_trading_calendar"

CALENDAR_CHECK = dg.AssetCheckSpec(
    "calendar_source_reached",
    asset=ASSET,
    description="The calendar source answered with a calendar that met its contract (a warning when the "
    "stored calendar or the shipped snapshot had to stand in).",
)


@dg.asset(
    name=ASSET,
    group_name="sources",
    kinds={"python", "sql"},
    pool=WAREHOUSE_POOL,
    # Needed so a --partition-range over the whole graph stays one run.
    backfill_policy=dg.BackfillPolicy.single_run(),
    check_specs=[CALENDAR_CHECK],
    owners=OWNERS,
    metadata=table_metadata(RAW_TRADING_CALENDAR),
)
def mainland_trading_calendar(
    context: dg.AssetExecutionContext, source: MarketSource, warehouse: Warehouse, calendar: MarketCalendar
) -> Iterator[dg.MaterializeResult]:
    """Mainland trading days (Sina's calendar through akshare, whole years); a row is a day ZCE trades."""
    with no_retry_for_lasting_errors():
        check_requested_range(context.run.tags)
        before_writing(context, source, warehouse)
        now = clock.now()
        today = now.astimezone(ZoneInfo(MARKET_TIMEZONE)).date()
        provider = source.calendar_provider
        stored = warehouse.read_trading_days(provider)
        try:
            received = check_trading_days(
                source.fetch_trading_days(today, log=context.log), source.calendar_source, today
            )
            lost = lost_past_sessions(stored, received, today)
            if lost:
                raise SourceDataError(
                    source.calendar_source,
                    f"no longer lists {len(lost)} past trading day(s) it listed before "
                    f"({', '.join(map(str, lost[:5]))}{' ...' if len(lost) > 5 else ''}); a truncated answer",
                    field="trade_date",
                    offending=[str(day) for day in lost],
                )
        except SourceError as error:
            context.log.warning(f"{error}; the calendar stays as it was")
            yield _fallback(error, calendar.load(warehouse, source).described)
            return
        claim_warehouse(source, warehouse)
        counts = warehouse.land_trading_days(provider, received, context.run.run_id, now)
    yield dg.MaterializeResult(
        metadata={
            "provider": provider,
            "table": raw_trading_calendar.name,
            "dagster/row_count": len(received),
            "first_date": str(received[0]),
            "last_date": str(received[-1]),
            "known_through": str(calendar.load(warehouse, source).known_through),
            **counts,
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=CALENDAR_CHECK.name,
                passed=True,
                description=f"{len(received)} trading days through {received[-1]} from {source.calendar_source}",
            )
        ],
    )


def _fallback(error: SourceError, described: str) -> dg.MaterializeResult:
    return dg.MaterializeResult(
        metadata={"fallback": f"source not used: {error}", "calendar_in_use": described},
        check_results=[
            dg.AssetCheckResult(
                check_name=CALENDAR_CHECK.name,
                passed=False,
                severity=dg.AssetCheckSeverity.WARN,
                description=f"{error}; in use: {described}",
            )
        ],
    )
