"""An offline source of synthetic market series, for laptops, demos and tests.

Nothing here is market data. Every value is a smooth deterministic function of its date (a few
slow waves plus hashed day-to-day noise), so the value for a date never depends on the range
asked for, and repeated runs give identical rows. Rows carry provider `demo-synthetic`.
"""

import datetime as dt
import math

import dagster as dg
import numpy as np
import polars as pl

from sugars_dagster import trading_calendar
from sugars_dagster.series import SERIES_COLUMNS, Series
from sugars_dagster.sources.base import MarketSource, SeriesFrame
from sugars_dagster.sources.validation import FrameContract, validate_frame

DEMO_LABEL = "demo-synthetic"

_SALT = {Series.ZCE_SUGAR: 11, Series.USD_CNY: 23, Series.BDI: 37, Series.ICE_NO11: 41}


def _noise(ordinals: np.ndarray, salt: int) -> np.ndarray:
    """Uniform [-1, 1) noise from a splitmix64 hash of (day, salt): no state, no seed order."""
    with np.errstate(over="ignore"):
        z = ordinals.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(salt)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53) * 2.0 - 1.0


def _wave(ordinals: np.ndarray, period_days: float, phase: float) -> np.ndarray:
    return np.sin(2 * math.pi * ordinals / period_days + phase)


def _publication_days(series: Series, first: dt.date, last: dt.date) -> list[dt.date]:
    """SR and the SAFE fixing follow the ZCE calendar; BDI and ICE skip weekends and Christmas."""
    days = [first + dt.timedelta(days=offset) for offset in range((last - first).days + 1)]
    weekdays = [day for day in days if day.weekday() < 5]
    if series in (Series.ZCE_SUGAR, Series.USD_CNY):
        # Past the calendar's coverage the demo trades every weekday.
        return [
            day
            for day in weekdays
            if trading_calendar.is_session(day) or not trading_calendar.is_covered(day)
        ]
    holidays = {(12, 25), (1, 1)} | ({(12, 26)} if series is Series.BDI else set())
    return [day for day in weekdays if (day.month, day.day) not in holidays]


def synthetic_frame(series: Series, first: dt.date, last: dt.date) -> pl.DataFrame:
    """The synthetic series in its canonical columns, for the publication days in [first, last]."""
    days = _publication_days(series, first, last)
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
        columns = {
            "bdi": np.round(2250 + 1200 * _wave(t, 700, 0.7) + 350 * _wave(t, 90, 0.0) + 25 * _noise(t, salt))
        }
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


class DemoSource(MarketSource):
    """Deterministic synthetic series on the real trading calendar. Not market data."""

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
        frame = synthetic_frame(series, first, last)
        # The same contract checks as for real data, so the demo cannot drift into nonsense.
        contract = FrameContract(
            series=series,
            source=f"{DEMO_LABEL} {series.value}",
            date_column="trade_date",
            columns={column.name: column.name for column in SERIES_COLUMNS[series]},
        )
        return SeriesFrame(series, DEMO_LABEL, validate_frame(frame, contract, first, last), synthetic=True)
