"""Which market days ZCE trades.

ZCE closes with the mainland exchanges, so exchange_calendars' XSHG sessions are the trading
days. They ship as a snapshot (`data/xshg_calendar.json`, written by `python -m
sugars_dagster.trading_calendar`) so that runs and sensor ticks need neither exchange_calendars nor
pandas; a test keeps the snapshot equal to the installed exchange_calendars. The holiday data ends
on `coverage_end()`; past that, a weekday's status is decided by the sugar bars themselves (see
`day_status`).
"""

import datetime as dt
import functools
import json
from enum import StrEnum
from pathlib import Path

CALENDAR_NAME = "XSHG"
SNAPSHOT = Path(__file__).with_name("data") / "xshg_calendar.json"


class DayStatus(StrEnum):
    TRADING = "trading"
    CLOSED = "closed"
    # Past the calendar's coverage: no bar on this weekday although later bars exist.
    CLOSED_BY_SOURCE = "closed_by_source"
    # Past the calendar's coverage: a weekday with no bar and nothing later yet.
    UNKNOWN = "unknown"


@functools.cache
def _snapshot() -> dict:
    return json.loads(SNAPSHOT.read_text())


@functools.cache
def _closed_weekdays() -> frozenset[dt.date]:
    return frozenset(dt.date.fromisoformat(day) for day in _snapshot()["closed_weekdays"])


@functools.cache
def coverage_start() -> dt.date:
    return dt.date.fromisoformat(_snapshot()["first_session"])


@functools.cache
def coverage_end() -> dt.date:
    """The last day the calendar has holiday data for."""
    return dt.date.fromisoformat(_snapshot()["coverage_end"])


def is_covered(day: dt.date) -> bool:
    return coverage_start() <= day <= coverage_end()


def is_session(day: dt.date) -> bool:
    """True on a trading day the calendar knows of; False on a closed day or past its coverage."""
    return is_covered(day) and day.weekday() < 5 and day not in _closed_weekdays()


def sessions_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """Trading days in [first, last] as far as the calendar covers them."""
    first, last = max(first, coverage_start()), min(last, coverage_end())
    days = (first + dt.timedelta(days=offset) for offset in range((last - first).days + 1))
    return [day for day in days if is_session(day)]


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


def snapshot_from_exchange_calendars() -> dict:
    """The XSHG calendar of the installed exchange_calendars, as the snapshot stores it."""
    import exchange_calendars as xcals

    calendar_class = type(xcals.get_calendar(CALENDAR_NAME))
    calendar = xcals.get_calendar(CALENDAR_NAME, start=calendar_class.bound_min(), end=calendar_class.bound_max())
    sessions = {session.date() for session in calendar.sessions}
    if any(day.weekday() >= 5 for day in sessions):
        raise ValueError("XSHG lists a weekend session; the snapshot format cannot hold it")
    first, end = calendar.first_session.date(), calendar_class.bound_max().date()
    weekdays = (first + dt.timedelta(days=offset) for offset in range((end - first).days + 1))
    return {
        "source": f"exchange_calendars {xcals.__version__} {CALENDAR_NAME}",
        "first_session": first.isoformat(),
        "coverage_end": end.isoformat(),
        "closed_weekdays": [day.isoformat() for day in weekdays if day.weekday() < 5 and day not in sessions],
    }


if __name__ == "__main__":
    SNAPSHOT.write_text(json.dumps(snapshot_from_exchange_calendars(), indent=1) + "\n")
    print(f"wrote {SNAPSHOT}")
