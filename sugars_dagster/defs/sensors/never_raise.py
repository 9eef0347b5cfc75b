"""A sensor tick must never fail: one that cannot look (the warehouse down, a bad closed-days
file) says why in its skip reason, keeps its cursor and looks again at the next tick."""

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

import dagster as dg

from sugars_dagster.defs.partitions import MARKET_TIMEZONE


def tick_or_skip(
    context: dg.SensorEvaluationContext,
    now: dt.datetime,
    what: str,
    evaluate: Callable[[], dg.SensorResult],
) -> dg.SensorResult:
    """`evaluate()`, or a skipped tick naming the error when it raises; `what` names the sensor's
    job in the messages ("catch-up", "freshness")."""
    try:
        return evaluate()
    except Exception as error:
        cause = f"{type(error).__name__}: {error}"
        context.log.warning(f"{what} could not check: {cause}")
        return dg.SensorResult(
            skip_reason=f"{what} could not check at {now.astimezone(ZoneInfo(MARKET_TIMEZONE)):%Y-%m-%d %H:%M} "
            f"Asia/Shanghai ({cause}); trying again next tick",
            cursor=context.cursor,
        )
