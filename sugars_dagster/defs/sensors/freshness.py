"""`market_daily_freshness_sensor`: alarm when yesterday's data is still missing at 09:00.

On a trading day, from 09:00 Asia/Shanghai, the newest `market_daily` row must be the previous
trading day. If it is not, one alert goes out that day, unless a failure alert already reported
that day's failure (one problem, one alert). Trading days come from the one trading calendar;
past everything it knows, every weekday not in the operator's closed-days file counts, and the
alert says so and names the file.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg

from sugars_dagster import clock
from sugars_dagster.defs.alerts import Alerter
from sugars_dagster.defs.market_calendar import MarketCalendar
from sugars_dagster.defs.partitions import MARKET_TIMEZONE
from sugars_dagster.defs.sensors.alert_ledger import alerted_days
from sugars_dagster.defs.sensors.never_raise import tick_or_skip
from sugars_dagster.market.calendar.trading import DayStatus, TradingCalendar
from sugars_dagster.sources.base import MarketSource
from sugars_dagster.warehouse.resource import Warehouse

FRESHNESS_DEADLINE = dt.time(9, 0)
SHANGHAI = ZoneInfo(MARKET_TIMEZONE)
# No trading day is further back than this (the longest mainland closure is about ten days).
_LONGEST_CLOSURE = 40


def _trades(calendar: TradingCalendar, day: dt.date) -> bool:
    # Past the calendar a weekday counts until it is listed as closed: the alarm errs on the
    # side of speaking.
    return calendar.day_status(day) in (DayStatus.TRADING, DayStatus.UNKNOWN)


def expected_newest_day(now: dt.datetime, calendar: TradingCalendar) -> dt.date | None:
    """The trading day that must be loaded by now, or None when nothing is due (not a trading
    day, or before the deadline)."""
    local = now.astimezone(SHANGHAI)
    if not _trades(calendar, local.date()) or local.time() < FRESHNESS_DEADLINE:
        return None
    for back in range(1, _LONGEST_CLOSURE + 1):
        day = local.date() - dt.timedelta(days=back)
        if _trades(calendar, day):
            return day
    return None


def _stale_message(newest: dt.date | None, due: dt.date, calendar: TradingCalendar) -> str:
    message = (
        f"market_daily is stale: newest loaded trading day is {newest or 'none'}, "
        f"expected {due} by {FRESHNESS_DEADLINE:%H:%M} Asia/Shanghai"
    )
    if not calendar.is_known(due):
        message += f" ({calendar.unknown_day_advice(due)})"
    return message


@dg.sensor(
    name="market_daily_freshness_sensor",
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Alerts once a day when, after 09:00 Asia/Shanghai on a trading day, market_daily "
    "lacks the previous trading day (unless a failure alert already reported that day).",
)
def market_daily_freshness_sensor(
    context: dg.SensorEvaluationContext,
    warehouse: Warehouse,
    alerter: Alerter,
    source: MarketSource,
    calendar: MarketCalendar,
) -> dg.SensorResult:
    now = clock.now()
    return tick_or_skip(
        context, now, "freshness", lambda: _evaluate(context, now, warehouse, alerter, calendar.load(warehouse, source))
    )


def _evaluate(
    context: dg.SensorEvaluationContext,
    now: dt.datetime,
    warehouse: Warehouse,
    alerter: Alerter,
    calendar: TradingCalendar,
) -> dg.SensorResult:
    due = expected_newest_day(now, calendar)
    if due is None:
        return dg.SensorResult(
            skip_reason=f"nothing due at {now.astimezone(SHANGHAI):%Y-%m-%d %H:%M} Asia/Shanghai "
            f"(checked on trading days from {FRESHNESS_DEADLINE:%H:%M})",
            cursor=context.cursor,
        )
    newest = warehouse.newest_market_day()
    if newest is not None and newest >= due:
        return dg.SensorResult(skip_reason=f"fresh: newest loaded trading day is {newest}", cursor=context.cursor)
    today = now.astimezone(SHANGHAI).date().isoformat()
    stale = _stale_message(newest, due, calendar)
    if context.cursor == today:
        return dg.SensorResult(skip_reason=f"{stale}; alerted already today", cursor=context.cursor)
    reported = alerted_days(context.instance, [due], now)
    if due in reported:
        return dg.SensorResult(
            skip_reason=f"{stale}; its failure was alerted already (run {reported[due]})", cursor=context.cursor
        )
    if not alerter.enabled:
        context.log.warning(f"{stale}; alerts are off (SUGARS_ALERT_URLS is empty)")
        return dg.SensorResult(skip_reason=f"{stale}; alerts are off", cursor=today)
    alerter.send("sugars_dagster: market_daily is stale", f"{stale}.\nRuns: {alerter.ui_base_url.rstrip('/')}/runs")
    return dg.SensorResult(skip_reason=f"{stale}; alert sent", cursor=today)
