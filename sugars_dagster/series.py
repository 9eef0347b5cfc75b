"""The four market series the pipeline lands, and the columns each one carries once validated."""

from dataclasses import dataclass
from enum import StrEnum


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
