"""Which days of a window are trading days, decided by the calendar or, past it, by the bars."""

import datetime as dt
from dataclasses import dataclass

from sugars_dagster.errors import MissingDataError
from sugars_dagster.market.calendar.trading import DayStatus, TradingCalendar


@dataclass(frozen=True)
class WindowDays:
    trading: list[dt.date]
    closed: list[dt.date]
    # Past the calendar's coverage: weekdays without a bar while later bars exist.
    closed_by_source: list[dt.date]
    # Bars the source has on days the calendar calls closed (not loaded; worth a look).
    bars_on_closed_days: list[dt.date]


def classify_window(days: list[dt.date], bar_dates: set[dt.date], calendar: TradingCalendar) -> WindowDays:
    """Split `days` by trading status; a weekday past the calendar with no bar yet fails.

    `bar_dates` should reach past the window's end, so that a later bar can mark a day closed.
    """
    statuses = {day: calendar.day_status(day, bar_dates) for day in days}
    unknown = [day for day, status in statuses.items() if status is DayStatus.UNKNOWN]
    if unknown:
        raise MissingDataError(
            f"no bar for {', '.join(map(str, unknown))} yet; " + calendar.unknown_day_advice(unknown[0])
        )
    closed = [day for day, status in statuses.items() if status is DayStatus.CLOSED]
    return WindowDays(
        trading=[day for day, status in statuses.items() if status is DayStatus.TRADING],
        closed=closed,
        closed_by_source=[day for day, status in statuses.items() if status is DayStatus.CLOSED_BY_SOURCE],
        bars_on_closed_days=[day for day in closed if day in bar_dates],
    )
