"""One asset per source series, landing what the source returns in the series' raw table.

The sources return their whole history in one call, so these assets are not partitioned: each
run fetches once and adds what is new or revised to the warehouse, from where `market_daily` can
rebuild any day without fetching again. A stored day the source no longer lists is kept, and said
so by the `no_rows_dropped` check; a day the series should have published on but the response
skips is named by the `publication_gaps` check. Only values that are final are landed: a bar whose
session is still trading is left for the next run.
"""

import datetime as dt
from collections.abc import Iterator

import dagster as dg
import polars as pl

from sugars_dagster import clock
from sugars_dagster.defs.assets.preflight import before_writing, claim_warehouse
from sugars_dagster.defs.assets.step_policy import WAREHOUSE_POOL, no_retry_for_lasting_errors
from sugars_dagster.defs.catalog import OWNERS, table_metadata
from sugars_dagster.defs.market_calendar import MarketCalendar
from sugars_dagster.defs.partitions import check_requested_range
from sugars_dagster.errors import SourceDataError, SourceError, SugarsError
from sugars_dagster.market.calendar.finality import SESSION_ENDS, newest_final_day
from sugars_dagster.market.calendar.publication import PublicationDays
from sugars_dagster.market.calendar.trading import TradingCalendar
from sugars_dagster.market.quality import SHOWN_ROWS, markdown_table
from sugars_dagster.market.series import Series
from sugars_dagster.market.tables import RAW_SERIES
from sugars_dagster.sources.base import MarketSource
from sugars_dagster.warehouse.resource import Warehouse
from sugars_dagster.warehouse.tables import RAW_TABLES
from sugars_dagster.warehouse.window_write import MergeCounts

# Fetch this far before the first partition so the first day has FX, BDI and ICE to join as-of.
AS_OF_LOOKBACK_DAYS = 60


def history_start(partitions: dg.TimeWindowPartitionsDefinition) -> dt.date:
    return partitions.start.date() - dt.timedelta(days=AS_OF_LOOKBACK_DAYS)


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
        dg.AssetCheckSpec(
            "no_rows_dropped",
            asset=series.value,
            blocking=True,
            description=(
                "The source still lists every stored day from its first date on (the stored rows are "
                "kept either way); a day missing inside the span blocks market_daily until someone "
                "has looked, since the source no longer vouches for the value its as-of join uses."
            ),
        ),
        dg.AssetCheckSpec(
            "publication_gaps",
            asset=series.value,
            description=(
                f"Between its first and last date the response lists every day the series publishes on "
                f"({PUBLISHES_ON[series]}); a warning naming the days it skips, which market_daily "
                "would otherwise bridge with the value before."
            ),
        ),
    ]


PUBLISHES_ON = {
    Series.ZCE_SUGAR: "mainland trading days",
    Series.USD_CNY: "mainland trading days",
    Series.BDI: "London business days",
    Series.ICE_NO11: "New York exchange sessions",
}


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


# Absent days named in a check's description; the metadata counts all of them.
_NAMED_DAYS = 10


def _no_rows_dropped(series: Series, last: dt.date, counts: MergeCounts) -> dg.AssetCheckResult:
    """Fails naming the stored days the response lacks. A day before the response's newest is
    inside the span market_daily joins as-of, so it blocks (ERROR); a stored day after it only
    warns (the source may not have published it again yet)."""
    inside = [day for day in counts.absent if day < last]
    named = ", ".join(str(day) for day in counts.absent[:_NAMED_DAYS])
    more = f" and {counts.kept_absent - _NAMED_DAYS} more" if counts.kept_absent > _NAMED_DAYS else ""
    return dg.AssetCheckResult(
        asset_key=series.value,
        check_name="no_rows_dropped",
        passed=not counts.absent,
        severity=dg.AssetCheckSeverity.ERROR if inside else dg.AssetCheckSeverity.WARN,
        description=(
            f"{counts.kept_absent} stored day(s) missing from the response, kept: {named}{more}"
            if counts.absent
            else "every stored day from the response's first date on is in the response"
        ),
        metadata={
            "absent_days": counts.kept_absent,
            "absent_inside_span": len(inside),
            "first_absent_days": dg.MetadataValue.json([str(day) for day in counts.absent[:_NAMED_DAYS]]),
        },
    )


def _publication_gaps(series: Series, received: list[dt.date], mainland: TradingCalendar | None) -> dg.AssetCheckResult:
    """Warns naming the publication days inside the response's span that it lacks (the newest
    first, as those are the ones market_daily is about to bridge). Without the mainland calendar
    (it could not be read) the mainland series are not judged, and the check says so."""
    if mainland is None and series in (Series.ZCE_SUGAR, Series.USD_CNY):
        return dg.AssetCheckResult(
            asset_key=series.value,
            check_name="publication_gaps",
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            description="not judged: the trading calendar could not be read (see the step's log)",
        )
    # London and New York days are rules: an empty stand-in calendar is never asked about them.
    publication = PublicationDays(mainland or TradingCalendar(dt.date.max, dt.date.min, frozenset()))
    missing = publication.missing(series, received)
    newest = missing[::-1][:_NAMED_DAYS]
    more = f" and {len(missing) - _NAMED_DAYS} older" if len(missing) > _NAMED_DAYS else ""
    span = f"{min(received)} .. {max(received)}" if received else "an empty response"
    return dg.AssetCheckResult(
        asset_key=series.value,
        check_name="publication_gaps",
        passed=not missing,
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            f"{len(missing)} of the {PUBLISHES_ON[series]} inside {span} missing: " + ", ".join(map(str, newest)) + more
            if missing
            else f"none of the {PUBLISHES_ON[series]} inside {span} missing"
        ),
        metadata={
            "missing_days": len(missing),
            "newest_missing_days": dg.MetadataValue.json([str(day) for day in newest]),
            "publishes_on": PUBLISHES_ON[series],
        },
    )


def _mainland_calendar(
    context: dg.AssetExecutionContext, calendar: MarketCalendar, warehouse: Warehouse, source: MarketSource
) -> TradingCalendar | None:
    """The calendar the gap check judges mainland series by; a broken one (a bad closed-days file)
    fails market_daily with its own message, and here leaves those series unjudged."""
    try:
        return calendar.load(warehouse, source)
    except SugarsError as error:
        context.log.warning(f"publication gaps of the mainland series not judged: {error}")
        return None


def _revisions_preview(counts: MergeCounts) -> str:
    revisions = pl.DataFrame(
        [(str(r.key), r.column, r.old, r.new) for r in counts.revisions[:SHOWN_ROWS]],
        schema={"day": pl.String, "column": pl.String, "old": pl.Float64, "new": pl.Float64},
        orient="row",
        strict=False,
    )
    return markdown_table(revisions)


def land_series(
    context: dg.AssetExecutionContext,
    series: Series,
    source: MarketSource,
    warehouse: Warehouse,
    calendar: MarketCalendar,
    history_from: dt.date,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    with no_retry_for_lasting_errors():
        check_requested_range(context.run.tags)
        before_writing(context, source, warehouse)
        now = clock.now()
        final_through = newest_final_day(series, now)
        try:
            fetched = source.fetch(series, history_from, final_through, log=context.log)
        except SourceError as error:
            if error.contract_failures():  # a source answered, with something that breaks its contract
                yield _contract_failure(series, error.contract_failures())
            raise
        claim_warehouse(source, warehouse)
        counts = warehouse.land_series(fetched, context.run.run_id, now)
    frame = fetched.frame
    mainland = _mainland_calendar(context, calendar, warehouse, source)
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
            "revisions": dg.MetadataValue.md(_revisions_preview(counts)),
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
                description=(f"served by fallback {fetched.provider}" if fallback else f"served by {fetched.provider}"),
                metadata={"passed_over": dg.MetadataValue.json(list(fetched.failed_providers))},
            ),
            _no_rows_dropped(series, frame["trade_date"].max(), counts),
            _publication_gaps(series, frame["trade_date"].to_list(), mainland),
        ],
    )


_COMMON = {
    "group_name": "sources",
    "owners": OWNERS,
    "kinds": {"python", "sql"},
    "pool": WAREHOUSE_POOL,
    # Needed so a --partition-range over the whole graph stays one run.
    "backfill_policy": dg.BackfillPolicy.single_run(),
}


def build_raw_series_assets(partitions: dg.TimeWindowPartitionsDefinition) -> list[dg.AssetsDefinition]:
    """One asset per source series, each fetching from `AS_OF_LOOKBACK_DAYS` before the first of
    the market-day partitions."""
    history_from = history_start(partitions)

    @dg.asset(
        check_specs=source_checks(Series.ZCE_SUGAR), metadata=table_metadata(RAW_SERIES[Series.ZCE_SUGAR]), **_COMMON
    )
    def zce_sugar_bars(
        context: dg.AssetExecutionContext, source: MarketSource, warehouse: Warehouse, calendar: MarketCalendar
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        """ZCE white sugar continuous/main contract daily bars, CNY/t (Sina SR0, else Eastmoney)."""
        yield from land_series(context, Series.ZCE_SUGAR, source, warehouse, calendar, history_from)

    @dg.asset(check_specs=source_checks(Series.USD_CNY), metadata=table_metadata(RAW_SERIES[Series.USD_CNY]), **_COMMON)
    def usd_cny_central_parity(
        context: dg.AssetExecutionContext, source: MarketSource, warehouse: Warehouse, calendar: MarketCalendar
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        """USD/CNY central parity published by SAFE, CNY per USD."""
        yield from land_series(context, Series.USD_CNY, source, warehouse, calendar, history_from)

    @dg.asset(check_specs=source_checks(Series.BDI), metadata=table_metadata(RAW_SERIES[Series.BDI]), **_COMMON)
    def baltic_dry_index(
        context: dg.AssetExecutionContext, source: MarketSource, warehouse: Warehouse, calendar: MarketCalendar
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        """Baltic Dry Index, points."""
        yield from land_series(context, Series.BDI, source, warehouse, calendar, history_from)

    @dg.asset(
        check_specs=source_checks(Series.ICE_NO11), metadata=table_metadata(RAW_SERIES[Series.ICE_NO11]), **_COMMON
    )
    def ice_raw_sugar_bars(
        context: dg.AssetExecutionContext, source: MarketSource, warehouse: Warehouse, calendar: MarketCalendar
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        """ICE raw sugar No.11 front-month daily bars, US cents/lb (Sina RS, else Eastmoney SB00Y)."""
        yield from land_series(context, Series.ICE_NO11, source, warehouse, calendar, history_from)

    return [zce_sugar_bars, usd_cny_central_parity, baltic_dry_index, ice_raw_sugar_bars]


# The keys of the raw series assets, in the order of `build_raw_series_assets`.
RAW_SERIES_KEYS = [dg.AssetKey(series.value) for series in Series]
