"""The four market series the pipeline lands, and the columns each one carries once validated."""

from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo

import polars as pl


class Series(StrEnum):
    ZCE_SUGAR = "zce_sugar_bars"
    USD_CNY = "usd_cny_central_parity"
    BDI = "baltic_dry_index"
    ICE_NO11 = "ice_raw_sugar_bars"


@dataclass(frozen=True)
class ValueColumn:
    name: str
    description: str
    # Values are stored rounded to this many decimals, so a rerun compares equal to what it wrote.
    decimals: int
    required: bool = True
    integer: bool = False


SERIES_COLUMNS: dict[Series, tuple[ValueColumn, ...]] = {
    Series.ZCE_SUGAR: (
        ValueColumn("open", "ZCE white sugar SR0 open, CNY/t", 2),
        ValueColumn("high", "ZCE white sugar SR0 high, CNY/t", 2),
        ValueColumn("low", "ZCE white sugar SR0 low, CNY/t", 2),
        ValueColumn("close", "ZCE white sugar SR0 close, CNY/t", 2),
        ValueColumn("settle", "settlement price, CNY/t (null where the source has none)", 2, required=False),
        ValueColumn("volume", "traded lots", 0, required=False, integer=True),
        ValueColumn("open_interest", "open interest, lots", 0, required=False, integer=True),
    ),
    Series.USD_CNY: (ValueColumn("usd_cny", "central parity, CNY per 1 USD", 4),),
    Series.BDI: (ValueColumn("bdi", "Baltic Dry Index, points", 2),),
    Series.ICE_NO11: (
        ValueColumn("open", "ICE raw sugar No.11 open, US cents/lb", 4),
        ValueColumn("high", "ICE raw sugar No.11 high, US cents/lb", 4),
        ValueColumn("low", "ICE raw sugar No.11 low, US cents/lb", 4),
        ValueColumn("close", "ICE raw sugar No.11 close, US cents/lb", 4),
    ),
}


def value_column_names(series: Series) -> list[str]:
    return [column.name for column in SERIES_COLUMNS[series]]


# Plausible levels since SR listed in 2006; a value outside is a unit change or a broken feed.
PLAUSIBLE_RANGES: dict[Series, tuple[float, float]] = {
    Series.ZCE_SUGAR: (1_500.0, 12_000.0),  # CNY/t
    Series.USD_CNY: (5.5, 9.0),  # CNY per USD
    Series.BDI: (200.0, 15_000.0),  # index points
    Series.ICE_NO11: (5.0, 60.0),  # US cents/lb
}

# Where each series' trading day is counted: a bar stamped 2025-12-02T16:00Z is Shanghai's
# 2025-12-03 for ZCE, but New York's 2025-12-02 for ICE.
MARKET_ZONES: dict[Series, ZoneInfo] = {
    Series.ZCE_SUGAR: ZoneInfo("Asia/Shanghai"),
    Series.USD_CNY: ZoneInfo("Asia/Shanghai"),  # the central parity is published at 09:15 Beijing time
    Series.BDI: ZoneInfo("Europe/London"),  # the Baltic Exchange publishes the index at 13:00 London time
    Series.ICE_NO11: ZoneInfo("America/New_York"),
}

# The label of the demo source's synthetic rows; the warehouse recognises synthetic rows by it.
DEMO_LABEL = "demo-synthetic"


@dataclass(frozen=True)
class SeriesFrame:
    """A validated frame (`trade_date` plus the series' value columns) and who provided it."""

    series: Series
    provider: str
    frame: pl.DataFrame
    synthetic: bool
    # Why the providers asked before this one were passed over, in order.
    failed_providers: tuple[str, ...] = ()
