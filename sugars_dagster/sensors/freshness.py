"""`market_daily_freshness_sensor`: alarm when yesterday's data is still missing at 09:00.

On a trading day, from 09:00 Asia/Shanghai, the newest `market_daily` row must be the previous
trading day. If it is not, one alert goes out that day.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg

from sugars_dagster import clock, trading_calendar
from sugars_dagster.alerts import Alerter
from sugars_dagster.partitions import MARKET_TIMEZONE
from sugars_dagster.warehouse.resource import Warehouse

FRESHNESS_DEADLINE = dt.time(9, 0)
SHANGHAI = ZoneInfo(MARKET_TIMEZONE)


def _trades(day: dt.date) -> bool:
    if trading_calendar.is_covered(day):
        return trading_calendar.is_session(day)
    return day.weekday() < 5  # past the calendar's coverage no holiday is known


def expected_newest_day(now: dt.datetime) -> dt.date | None:
    """The trading day that must be loaded by now, or None when nothing is due (not a trading
    day, or before the deadline)."""
    local = now.astimezone(SHANGHAI)
    if not _trades(local.date()) or local.time() < FRESHNESS_DEADLINE:
        return None
    day = local.date() - dt.timedelta(days=1)
    while not _trades(day):
        day -= dt.timedelta(days=1)
    return day


@dg.sensor(
    name="market_daily_freshness_sensor",
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Alerts once a day when, after 09:00 Asia/Shanghai on a trading day, market_daily "
    "lacks the previous trading day.",
)
def market_daily_freshness_sensor(
    context: dg.SensorEvaluationContext, warehouse: Warehouse, alerter: Alerter
) -> dg.SensorResult:
    now = clock.now()
    due = expected_newest_day(now)
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
    stale = f"market_daily is stale: newest loaded trading day is {newest or 'none'}, expected {due} by {FRESHNESS_DEADLINE:%H:%M} Asia/Shanghai"
    if context.cursor == today:
        return dg.SensorResult(skip_reason=f"{stale}; alerted already today", cursor=context.cursor)
    if not alerter.enabled:
        context.log.warning(f"{stale}; alerts are off (SUGARS_ALERT_URLS is empty)")
        return dg.SensorResult(skip_reason=f"{stale}; alerts are off", cursor=today)
    alerter.send("sugars_dagster: market_daily is stale", f"{stale}.\nRuns: {alerter.ui_base_url.rstrip('/')}/runs")
    return dg.SensorResult(skip_reason=f"{stale}; alert sent", cursor=today)
