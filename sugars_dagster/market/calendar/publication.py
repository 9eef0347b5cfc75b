"""The days each series is published on, so that a hole in a series is seen, not bridged in silence.

- ZCE bars and SAFE's USD/CNY central parity: mainland trading days (the trading calendar).
- The Baltic Dry Index: London business days (England and Wales bank holidays off).
- ICE raw sugar No.11: New York sessions (the US exchange holidays off).

The London and New York calendars are rules (Easter, "first Monday of May", weekend substitutes)
plus the one-off closures listed below, so they never run out; the mainland one is only known as
far as the trading calendar reaches, and days past it are not judged. A one-off closure missing
here shows up as a warning about a gap that is not one; add it to the list.
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from sugars_dagster.market.calendar.days import ONE_DAY, days_between
from sugars_dagster.market.calendar.finality import is_final
from sugars_dagster.market.calendar.trading import TradingCalendar
from sugars_dagster.market.series import Series

# How far back `newest_expected` looks for a publication day (covers the longest closures).
_SEARCH_DAYS = 31

# Bank holidays of England and Wales that no rule gives: state occasions, and the days a moved
# holiday was moved to. The days those holidays were moved from follow.
LONDON_ONE_OFF_CLOSED = frozenset(
    {
        dt.date(1999, 12, 31),  # millennium
        dt.date(2002, 6, 3),  # golden jubilee (spring holiday moved to 06-04)
        dt.date(2002, 6, 4),
        dt.date(2011, 4, 29),  # royal wedding
        dt.date(2012, 6, 4),  # spring holiday moved for the diamond jubilee
        dt.date(2012, 6, 5),  # diamond jubilee
        dt.date(2020, 5, 8),  # early May holiday moved to VE day
        dt.date(2022, 6, 2),  # spring holiday moved for the platinum jubilee
        dt.date(2022, 6, 3),  # platinum jubilee
        dt.date(2022, 9, 19),  # state funeral
        dt.date(2023, 5, 8),  # coronation
    }
)
LONDON_RULE_DAYS_MOVED = frozenset(
    {dt.date(2002, 5, 27), dt.date(2012, 5, 28), dt.date(2020, 5, 4), dt.date(2022, 5, 30)}
)

# New York closures outside the holiday rules (national days of mourning, storms).
NEW_YORK_ONE_OFF_CLOSED = frozenset(
    {
        dt.date(2001, 9, 11),
        dt.date(2001, 9, 12),
        dt.date(2001, 9, 13),
        dt.date(2001, 9, 14),
        dt.date(2004, 6, 11),  # President Reagan
        dt.date(2007, 1, 2),  # President Ford
        dt.date(2012, 10, 29),  # hurricane Sandy
        dt.date(2012, 10, 30),
        dt.date(2018, 12, 5),  # President G. H. W. Bush
        dt.date(2025, 1, 9),  # President Carter
    }
)


def easter_sunday(year: int) -> dt.date:
    """Gregorian Easter (the Meeus/Jones/Butcher algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    weekday_shift = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * weekday_shift) // 451
    month, day = divmod(h + weekday_shift - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The n-th (1-based; -1 for the last) `weekday` (Monday = 0) of a month."""
    if n > 0:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = dt.date(year + month // 12, month % 12 + 1, 1) - ONE_DAY
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


@cache
def london_bank_holidays(year: int) -> frozenset[dt.date]:
    easter = easter_sunday(year)
    new_year = dt.date(year, 1, 1)
    new_year += dt.timedelta(days={5: 2, 6: 1}.get(new_year.weekday(), 0))
    christmas, boxing = dt.date(year, 12, 25), dt.date(year, 12, 26)
    # Weekend Christmas and Boxing Day move to the next weekdays not already a holiday.
    if christmas.weekday() == 4:  # Friday: Boxing Day (Saturday) moves to Monday
        boxing = dt.date(year, 12, 28)
    elif christmas.weekday() == 5:  # Saturday: Monday and Tuesday
        christmas, boxing = dt.date(year, 12, 27), dt.date(year, 12, 28)
    elif christmas.weekday() == 6:  # Sunday: Boxing Day stays Monday, Christmas moves to Tuesday
        christmas = dt.date(year, 12, 27)
    rules = {
        new_year,
        easter - 2 * ONE_DAY,  # Good Friday
        easter + ONE_DAY,  # Easter Monday
        _nth_weekday(year, 5, 0, 1),  # early May
        _nth_weekday(year, 5, 0, -1),  # spring
        _nth_weekday(year, 8, 0, -1),  # summer
        christmas,
        boxing,
    }
    one_offs = {day for day in LONDON_ONE_OFF_CLOSED if day.year == year}
    return frozenset((rules - LONDON_RULE_DAYS_MOVED) | one_offs)


def _us_observed(day: dt.date) -> dt.date:
    return day + dt.timedelta(days={5: -1, 6: 1}.get(day.weekday(), 0))


@cache
def new_york_holidays(year: int) -> frozenset[dt.date]:
    """The days the New York exchanges (ICE US softs among them) close by rule."""
    new_year = dt.date(year, 1, 1)
    holidays = {
        # A Saturday New Year is not observed on the Friday before (that Friday ends a year).
        *([] if new_year.weekday() == 5 else [_us_observed(new_year)]),
        _nth_weekday(year, 1, 0, 3),  # Martin Luther King Jr. Day
        _nth_weekday(year, 2, 0, 3),  # Washington's Birthday
        easter_sunday(year) - 2 * ONE_DAY,  # Good Friday
        _nth_weekday(year, 5, 0, -1),  # Memorial Day
        _us_observed(dt.date(year, 7, 4)),
        _nth_weekday(year, 9, 0, 1),  # Labor Day
        _nth_weekday(year, 11, 3, 4),  # Thanksgiving
        _us_observed(dt.date(year, 12, 25)),
    }
    if year >= 2022:
        holidays.add(_us_observed(dt.date(year, 6, 19)))  # Juneteenth
    return frozenset(holidays | {day for day in NEW_YORK_ONE_OFF_CLOSED if day.year == year})


@dataclass(frozen=True)
class PublicationDays:
    """Which days each series is published on; `mainland` decides ZCE and SAFE."""

    mainland: TradingCalendar

    def is_publication_day(self, series: Series, day: dt.date) -> bool | None:
        """True or False; None where it cannot be told (a mainland day past the calendar)."""
        if day.weekday() >= 5:
            return False
        if series is Series.BDI:
            return day not in london_bank_holidays(day.year)
        if series is Series.ICE_NO11:
            return day not in new_york_holidays(day.year)
        if not self.mainland.is_known(day):
            return None
        return self.mainland.is_session(day)

    def missing(self, series: Series, received: Sequence[dt.date]) -> list[dt.date]:
        """Publication days inside the span `received` covers (first to last date) that it lacks."""
        if not received:
            return []
        present = set(received)
        return [
            day
            for day in days_between(min(present), max(present))
            if day not in present and self.is_publication_day(series, day)
        ]

    def newest_expected(self, series: Series, day: dt.date, now: dt.datetime) -> dt.date | None:
        """The newest publication day on or before `day` whose value is final at `now`: the value
        an as-of join should find for `day`. None when that cannot be told."""
        candidate = day
        for _ in range(_SEARCH_DAYS):
            published = self.is_publication_day(series, candidate)
            if published is None:
                return None
            if published and is_final(series, candidate, now):
                return candidate
            candidate -= ONE_DAY
        return None
