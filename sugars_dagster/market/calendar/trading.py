"""Which market days ZCE trades: the one calendar every part of the pipeline asks.

ZCE closes with the mainland exchanges, so the mainland trading calendar decides. It is built
from three layers:

1. the landed calendar: Sina's mainland calendar (akshare's `tool_trade_date_hist_sina`), fetched
   by the `mainland_trading_calendar` asset into the warehouse. Sina lists whole years, the
   coming one once the holidays are announced;
2. the shipped snapshot (`data/xshg_calendar.json`, written by `python -m
   sugars_dagster.market.calendar.trading` from exchange_calendars' XSHG), for the years the landed
   calendar does not cover, and for a warehouse that has never reached the source;
3. the operator's closed-days file (`SUGARS_CLOSED_DAYS_FILE`): days the exchanges are closed
   that neither of the others knows yet (a holiday announced before Sina lists its year, an
   unscheduled closure). A day listed there is closed, whatever the others say.

Past everything it knows, a weekday's status is decided by the sugar bars (see `day_status`).
Pure: no Dagster, no SQL.
"""

import datetime as dt
import functools
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from sugars_dagster.errors import ConfigError, SourceDataError
from sugars_dagster.market.calendar.days import days_between

CALENDAR_NAME = "XSHG"
SNAPSHOT = Path(__file__).parents[2] / "data" / "xshg_calendar.json"
CLOSED_DAYS_FILE_ENV = "SUGARS_CLOSED_DAYS_FILE"

# The landed calendar is checked from here on: older years are not loaded by this pipeline, and
# the 1990s mainland calendar had sessions no longer comparable with today's.
CHECKED_FROM = dt.date(2000, 1, 1)
# Mainland exchanges traded 237-246 days a year since 2000; a listed year outside these bounds
# is a truncated or garbled answer.
PLAUSIBLE_SESSIONS_PER_YEAR = range(225, 257)


class DayStatus(StrEnum):
    TRADING = "trading"
    CLOSED = "closed"
    # Past the calendar's coverage: no bar on this weekday although later bars exist.
    CLOSED_BY_SOURCE = "closed_by_source"
    # Past the calendar's coverage: a weekday with no bar and nothing later yet.
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class TradingCalendar:
    """Trading days known from `known_from` to `known_through`, plus the operator's closed days."""

    known_from: dt.date
    known_through: dt.date
    # Weekdays inside [known_from, known_through] without a session.
    closed_weekdays: frozenset[dt.date]
    operator_closed: frozenset[dt.date] = frozenset()
    closed_days_file: str = ""
    # What it was built from, for messages and metadata.
    described: str = ""

    def is_known(self, day: dt.date) -> bool:
        return self.known_from <= day <= self.known_through

    def is_session(self, day: dt.date) -> bool:
        """True on a trading day the calendar knows of; False on a closed day or past it."""
        return (
            self.is_known(day)
            and day.weekday() < 5
            and day not in self.closed_weekdays
            and day not in self.operator_closed
        )

    def sessions_between(self, first: dt.date, last: dt.date) -> list[dt.date]:
        """Trading days in [first, last] as far as the calendar knows them."""
        first, last = max(first, self.known_from), min(last, self.known_through)
        if last < first:
            return []
        return [day for day in days_between(first, last) if self.is_session(day)]

    def day_status(self, day: dt.date, bar_dates: frozenset[dt.date] | set[dt.date] = frozenset()) -> DayStatus:
        """Whether ZCE traded on `day`; `bar_dates` are the days the sugar source has bars for,
        which decide only past everything the calendar knows."""
        if day.weekday() >= 5 or day in self.operator_closed:
            return DayStatus.CLOSED
        if self.is_known(day):
            return DayStatus.TRADING if day not in self.closed_weekdays else DayStatus.CLOSED
        if day in bar_dates:
            return DayStatus.TRADING
        if any(bar_day > day for bar_day in bar_dates):
            return DayStatus.CLOSED_BY_SOURCE
        return DayStatus.UNKNOWN

    def unknown_day_advice(self, day: dt.date) -> str:
        """What an operator reads when `day` cannot be decided yet."""
        where = (
            f"the closed-days file {self.closed_days_file}"
            if self.closed_days_file
            else f"a closed-days file (set {CLOSED_DAYS_FILE_ENV} to its path)"
        )
        return (
            f"{day} is past the trading calendar (known through {self.known_through}), so a holiday "
            f"cannot be told from a late bar until a later bar exists; if the exchanges were closed "
            f"on {day}, add it to {where}"
        )


# --- the shipped snapshot ---------------------------------------------------------------------


@functools.cache
def snapshot_calendar() -> TradingCalendar:
    """The calendar shipped with the code, for when nothing better has been landed."""
    data = json.loads(SNAPSHOT.read_text())
    return TradingCalendar(
        known_from=dt.date.fromisoformat(data["first_session"]),
        known_through=dt.date.fromisoformat(data["coverage_end"]),
        closed_weekdays=frozenset(dt.date.fromisoformat(day) for day in data["closed_weekdays"]),
        described=f"shipped snapshot ({data['source']}) through {data['coverage_end']}",
    )


def snapshot_from_exchange_calendars() -> dict:
    """The XSHG calendar of the installed exchange_calendars, as the snapshot stores it."""
    import exchange_calendars as xcals

    calendar_class = type(xcals.get_calendar(CALENDAR_NAME))
    calendar = xcals.get_calendar(CALENDAR_NAME, start=calendar_class.bound_min(), end=calendar_class.bound_max())
    sessions = {session.date() for session in calendar.sessions}
    if any(day.weekday() >= 5 for day in sessions):
        raise ValueError("XSHG lists a weekend session; the snapshot format cannot hold it")
    first, end = calendar.first_session.date(), calendar_class.bound_max().date()
    return {
        "source": f"exchange_calendars {xcals.__version__} {CALENDAR_NAME}",
        "first_session": first.isoformat(),
        "coverage_end": end.isoformat(),
        "closed_weekdays": [
            day.isoformat() for day in days_between(first, end) if day.weekday() < 5 and day not in sessions
        ],
    }


# --- the landed calendar ----------------------------------------------------------------------


def check_trading_days(days: Sequence[dt.date], source: str, today: dt.date) -> list[dt.date]:
    """The days from `CHECKED_FROM` on, once they pass the calendar's contract: strictly
    increasing (so unique), weekdays only, whole years of a plausible length, nothing listed
    beyond next year. Raises SourceDataError naming the source and the offending days."""

    def refuse(message: str, offending: Sequence[object]) -> SourceDataError:
        shown = [str(item) for item in offending]
        return SourceDataError(
            source,
            f"{message}: {', '.join(shown[:10])}{' ...' if len(shown) > 10 else ''}",
            field="trade_date",
            offending=shown,
        )

    kept = [day for day in days if day >= CHECKED_FROM]
    if not kept:
        raise SourceDataError(source, f"returned no trading days from {CHECKED_FROM} on", field="trade_date")
    out_of_order = [
        f"{later} after {earlier}" for earlier, later in zip(kept, kept[1:], strict=False) if later <= earlier
    ]
    if out_of_order:
        raise refuse("dates are not strictly increasing (out of order or repeated)", out_of_order)
    weekends = [day for day in kept if day.weekday() >= 5]
    if weekends:
        raise refuse("lists weekend days as trading days", weekends)
    horizon = dt.date(today.year + 1, 12, 31)
    beyond = [day for day in kept if day > horizon]
    if beyond:
        raise refuse(f"lists trading days after {horizon}, beyond any announced year", beyond)
    per_year = Counter(day.year for day in kept)
    first_year = kept[0].year if kept[0] > dt.date(kept[0].year, 1, 10) else None  # a partial first year
    implausible = [
        f"{year}: {count} days"
        for year, count in sorted(per_year.items())
        if year != first_year and count not in PLAUSIBLE_SESSIONS_PER_YEAR
    ]
    if implausible:
        raise refuse(
            f"implausible number of trading days per year (expected {PLAUSIBLE_SESSIONS_PER_YEAR.start}-"
            f"{PLAUSIBLE_SESSIONS_PER_YEAR.stop - 1})",
            implausible,
        )
    return kept


def lost_past_sessions(stored: Iterable[dt.date], received: Iterable[dt.date], today: dt.date) -> list[dt.date]:
    """Stored trading days before `today` that a new answer no longer lists. Past sessions do
    not change, so such an answer is truncated and must not replace what is stored."""
    received_set = set(received)
    return sorted(day for day in stored if day < today and day >= CHECKED_FROM and day not in received_set)


def calendar_from(
    landed: Sequence[dt.date],
    *,
    landed_from: str = "",
    operator_closed: frozenset[dt.date] = frozenset(),
    closed_days_file: str = "",
) -> TradingCalendar:
    """The calendar from landed trading days (whole years), the snapshot where they do not
    reach, and the operator's closed days on top."""
    snapshot = snapshot_calendar()
    parts = []
    if landed:
        first, through = min(landed), dt.date(max(landed).year, 12, 31)
        sessions = set(landed)
        closed = {day for day in snapshot.closed_weekdays if not first <= day <= through}
        closed |= {day for day in days_between(first, through) if day.weekday() < 5 and day not in sessions}
        known_from, known_through = min(first, snapshot.known_from), max(through, snapshot.known_through)
        parts.append(f"{landed_from or 'landed calendar'} {first} .. {through}")
        if snapshot.known_through > through or snapshot.known_from < first:
            parts.append(snapshot.described)
    else:
        closed, known_from, known_through = set(snapshot.closed_weekdays), snapshot.known_from, snapshot.known_through
        parts.append(snapshot.described)
    if closed_days_file:
        parts.append(f"{len(operator_closed)} closed day(s) from {closed_days_file}")
    return TradingCalendar(
        known_from=known_from,
        known_through=known_through,
        closed_weekdays=frozenset(closed),
        operator_closed=operator_closed,
        closed_days_file=closed_days_file,
        described="; ".join(parts),
    )


# --- the operator's closed-days file ----------------------------------------------------------


def read_closed_days_file(path: str) -> frozenset[dt.date]:
    """Dates from the operator's file: one `YYYY-MM-DD` per line; `#` starts a comment."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{CLOSED_DAYS_FILE_ENV}={path!r} cannot be read: {error.strerror or error}") from None
    days = set()
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        try:
            day = dt.date.fromisoformat(entry)
        except ValueError:
            day = None
        if day is None or day.isoformat() != entry:
            raise ConfigError(
                f"{CLOSED_DAYS_FILE_ENV} file {path}, line {number}: {entry!r} is not a date written YYYY-MM-DD"
            )
        days.add(day)
    return frozenset(days)


if __name__ == "__main__":
    SNAPSHOT.write_text(json.dumps(snapshot_from_exchange_calendars(), indent=1) + "\n")
    print(f"wrote {SNAPSHOT}")
