"""An offline source of synthetic market series, for laptops, demos and tests.

Nothing here is market data. Every value is a smooth deterministic function of its date (a few
slow waves plus hashed day-to-day noise), so the value for a date never depends on the range
asked for, and repeated runs give identical rows. Rows carry provider `demo-synthetic`.

Its trading calendar is the shipped snapshot where that reaches, and past it a made-up one
(New Year, a Spring Festival week, Labour Day, National Day week), or the closed days of a file.
It lists the coming year from December on, as Sina does once the holidays are announced, and
the sugar bars and the fixing follow it.
"""

import datetime as dt
import functools
import math
from typing import TYPE_CHECKING

import dagster as dg
import polars as pl
from pydantic import Field

from sugars_dagster.market.calendar import trading as trading_calendar
from sugars_dagster.market.calendar.days import days_between
from sugars_dagster.market.series import DEMO_LABEL, SERIES_COLUMNS, Series, SeriesFrame
from sugars_dagster.sources.base import MarketSource
from sugars_dagster.sources.validation import FrameContract, validate_frame

# numpy is imported where the series are made, not with the module: a run that does not fetch
# (market_daily alone, from the UI) starts without it.
if TYPE_CHECKING:
    import numpy as np

_SALT = {Series.ZCE_SUGAR: 11, Series.USD_CNY: 23, Series.BDI: 37, Series.ICE_NO11: 41}


def _noise(ordinals: "np.ndarray", salt: int) -> "np.ndarray":
    """Uniform [-1, 1) noise from a splitmix64 hash of (day, salt): no state, no seed order."""
    import numpy as np

    with np.errstate(over="ignore"):
        z = ordinals.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(salt)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53) * 2.0 - 1.0


def _wave(ordinals: "np.ndarray", period_days: float, phase: float) -> "np.ndarray":
    import numpy as np

    return np.sin(2 * math.pi * ordinals / period_days + phase)


def made_up_holidays(year: int) -> frozenset[dt.date]:
    """Synthetic mainland holidays for a year past the snapshot (weekdays only): 1 January, the
    week of 12 February as Spring Festival, 1-5 May, 1-7 October. Not the real calendar."""
    spring = dt.date(year, 2, 12) - dt.timedelta(days=dt.date(year, 2, 12).weekday())
    days = {dt.date(year, 1, 1)} | {spring + dt.timedelta(days=offset) for offset in range(5)}
    days |= {dt.date(year, 5, day) for day in range(1, 6)} | {dt.date(year, 10, day) for day in range(1, 8)}
    return frozenset(day for day in days if day.weekday() < 5)


@functools.cache
def _holidays_file_days(path: str) -> frozenset[dt.date]:
    return trading_calendar.read_closed_days_file(path)


def demo_is_session(day: dt.date, holidays_file: str = "") -> bool:
    """The demo's trading days: the snapshot's where it reaches, weekdays without the made-up
    holidays (or the file's closed days) past it."""
    snapshot = trading_calendar.snapshot_calendar()
    if snapshot.is_known(day):
        return snapshot.is_session(day)
    if day.weekday() >= 5:
        return False
    closed = _holidays_file_days(holidays_file) if holidays_file else made_up_holidays(day.year)
    return day not in closed


def demo_calendar_horizon(today: dt.date) -> dt.date:
    """The last day the demo's calendar lists: this year's end, next year's from December."""
    return dt.date(today.year + (1 if today.month == 12 else 0), 12, 31)


def _publication_days(series: Series, first: dt.date, last: dt.date, holidays_file: str = "") -> list[dt.date]:
    """SR and the SAFE fixing follow the demo's trading calendar; BDI and ICE skip weekends and
    Christmas."""
    days = days_between(first, last)
    weekdays = [day for day in days if day.weekday() < 5]
    if series in (Series.ZCE_SUGAR, Series.USD_CNY):
        return [day for day in weekdays if demo_is_session(day, holidays_file)]
    holidays = {(12, 25), (1, 1)} | ({(12, 26)} if series is Series.BDI else set())
    return [day for day in weekdays if (day.month, day.day) not in holidays]


def synthetic_frame(series: Series, first: dt.date, last: dt.date, holidays_file: str = "") -> pl.DataFrame:
    """The synthetic series in its canonical columns, for the publication days in [first, last]."""
    import numpy as np

    days = _publication_days(series, first, last, holidays_file)
    t = np.array([day.toordinal() for day in days], dtype=np.int64)
    salt = _SALT[series]
    if series is Series.ZCE_SUGAR:
        # 5,750 +- 1,670 CNY/t: inside the 4,000-7,500 band SR has traded in.
        close = np.round(5750 + 1100 * _wave(t, 1600, 0.3) + 450 * _wave(t, 230, 1.1) + 120 * _noise(t, salt))
        open_ = np.round(close + 40 * _noise(t, salt + 1))
        high = np.maximum(open_, close) + np.round(30 * (1 + _noise(t, salt + 2)))
        low = np.minimum(open_, close) - np.round(30 * (1 + _noise(t, salt + 3)))
        columns = {
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "settle": np.round((open_ + close) / 2),
            "volume": np.round(300_000 + 200_000 * _noise(t, salt + 4)),
            "open_interest": np.round(600_000 + 300_000 * _noise(t, salt + 5)),
        }
    elif series is Series.USD_CNY:
        # 6.80 +- 0.45
        columns = {
            "usd_cny": np.round(
                6.8 + 0.35 * _wave(t, 2900, 2.0) + 0.08 * _wave(t, 300, 0.0) + 0.02 * _noise(t, salt), 4
            )
        }
    elif series is Series.BDI:
        # 2,250 +- 1,575 points, moving at most ~13 % a day
        columns = {"bdi": np.round(2250 + 1200 * _wave(t, 700, 0.7) + 350 * _wave(t, 90, 0.0) + 25 * _noise(t, salt))}
    else:
        # 20 +- 7.4 US cents/lb
        close = np.round(20 + 5.5 * _wave(t, 1300, 1.9) + 1.5 * _wave(t, 160, 0.0) + 0.4 * _noise(t, salt), 2)
        open_ = np.round(close + 0.15 * _noise(t, salt + 1), 2)
        columns = {
            "open": open_,
            "high": np.maximum(open_, close) + np.round(0.1 * (1 + _noise(t, salt + 2)), 2),
            "low": np.minimum(open_, close) - np.round(0.1 * (1 + _noise(t, salt + 3)), 2),
            "close": close,
        }
    frame = pl.DataFrame({"trade_date": days, **{name: values.tolist() for name, values in columns.items()}})
    integer_columns = [column.name for column in SERIES_COLUMNS[series] if column.integer]
    return frame.with_columns(pl.col(name).cast(pl.Int64) for name in integer_columns)


DEMO_CALENDAR_PROVIDER = f"{DEMO_LABEL}:calendar"


class DemoSource(MarketSource):
    """Deterministic synthetic series on the real trading calendar (made up past it). Not market data."""

    holidays_file: str = Field(
        default="",
        description="closed days (one YYYY-MM-DD per line) for the years past the shipped calendar; "
        "empty: the made-up holidays",
    )

    @property
    def label(self) -> str:
        return DEMO_LABEL

    @property
    def synthetic(self) -> bool:
        return True

    def providers(self, series: Series) -> list[str]:
        return [DEMO_LABEL]

    def fetch(
        self, series: Series, first: dt.date, last: dt.date, log: dg.DagsterLogManager | None = None
    ) -> SeriesFrame:
        frame = synthetic_frame(series, first, last, self.holidays_file)
        # The same contract checks as for real data, so the demo cannot drift into nonsense.
        contract = FrameContract(
            series=series,
            source=f"{DEMO_LABEL} {series.value}",
            date_column="trade_date",
            columns={column.name: column.name for column in SERIES_COLUMNS[series]},
        )
        return SeriesFrame(series, DEMO_LABEL, validate_frame(frame, contract, first, last), synthetic=True)

    @property
    def calendar_provider(self) -> str:
        return DEMO_CALENDAR_PROVIDER

    @property
    def calendar_source(self) -> str:
        return f"{DEMO_LABEL} trading calendar"

    def fetch_trading_days(self, today: dt.date, log: dg.DagsterLogManager | None = None) -> list[dt.date]:
        first, last = trading_calendar.CHECKED_FROM, demo_calendar_horizon(today)
        days = days_between(first, last)
        return [day for day in days if demo_is_session(day, self.holidays_file)]
