"""Which market days ZCE trades.

ZCE closes with the mainland exchanges, so exchange_calendars' XSHG sessions are the trading
days. Its holiday data ends on `coverage_end()`; past that, a weekday's status is decided by the
sugar bars themselves (see `day_status`).
"""

import datetime as dt
import functools
from enum import StrEnum

import exchange_calendars as xcals

CALENDAR_NAME = "XSHG"


class DayStatus(StrEnum):
    TRADING = "trading"
    CLOSED = "closed"
    # Past the calendar's coverage: no bar on this weekday although later bars exist.
    CLOSED_BY_SOURCE = "closed_by_source"
    # Past the calendar's coverage: a weekday with no bar and nothing later yet.
    UNKNOWN = "unknown"


@functools.cache
def _calendar() -> xcals.ExchangeCalendar:
    calendar_class = type(xcals.get_calendar(CALENDAR_NAME))
    return xcals.get_calendar(
        CALENDAR_NAME, start=calendar_class.bound_min(), end=calendar_class.bound_max()
    )


@functools.cache
def _sessions() -> frozenset[dt.date]:
    return frozenset(session.date() for session in _calendar().sessions)


def coverage_start() -> dt.date:
    return _calendar().first_session.date()


def coverage_end() -> dt.date:
    """The last day the calendar has holiday data for."""
    return type(_calendar()).bound_max().date()


def is_covered(day: dt.date) -> bool:
    return coverage_start() <= day <= coverage_end()


def is_session(day: dt.date) -> bool:
    """True on a trading day the calendar knows of; False on a closed day or past its coverage."""
    return day in _sessions()


def sessions_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """Trading days in [first, last] as far as the calendar covers them."""
    return sorted(day for day in _sessions() if first <= day <= last)


def day_status(day: dt.date, bar_dates: frozenset[dt.date] | set[dt.date]) -> DayStatus:
    """Whether ZCE traded on `day`; `bar_dates` are the days the sugar source has bars for."""
    if day.weekday() >= 5:
        return DayStatus.CLOSED
    if is_covered(day):
        return DayStatus.TRADING if is_session(day) else DayStatus.CLOSED
    if day in bar_dates:
        return DayStatus.TRADING
    if any(bar_day > day for bar_day in bar_dates):
        return DayStatus.CLOSED_BY_SOURCE
    return DayStatus.UNKNOWN
