"""The `calendar` resource: the trading calendar as the pipeline sees it at this moment.

It is read at every use (a run, a sensor tick), so a newly landed year or an edit of the
operator's closed-days file counts at once, without reloading the code location. What was built
is kept while neither the landed calendar nor the file has changed: a run asks several times,
and the catch-up sensor every two minutes.
"""

from pathlib import Path

import dagster as dg
from pydantic import Field

from sugars_dagster.market.calendar.trading import TradingCalendar, calendar_from, read_closed_days_file
from sugars_dagster.sources.base import MarketSource
from sugars_dagster.warehouse.resource import Warehouse


class MarketCalendar(dg.ConfigurableResource):
    """The landed mainland calendar, the shipped snapshot past it, and the operator's closed days."""

    closed_days_file: str = Field(
        default="",
        description="file of extra closed days, one YYYY-MM-DD per line (SUGARS_CLOSED_DAYS_FILE); empty: none",
    )

    def load(self, warehouse: Warehouse, source: MarketSource) -> TradingCalendar:
        provider = source.calendar_provider
        # The versions are part of the key: a new landing or an edited file builds afresh.
        key = (
            warehouse.url,
            provider,
            warehouse.trading_days_version(provider),
            self.closed_days_file,
            _file_version(self.closed_days_file),
        )
        if key not in _BUILT:
            closed = read_closed_days_file(self.closed_days_file) if self.closed_days_file else frozenset()
            if len(_BUILT) >= _KEPT:
                _BUILT.pop(next(iter(_BUILT)))
            _BUILT[key] = calendar_from(
                warehouse.read_trading_days(provider),
                landed_from=source.calendar_source,
                operator_closed=closed,
                closed_days_file=self.closed_days_file,
            )
        return _BUILT[key]


# Calendars built lately, oldest first; a few warehouses and sources at most share a process.
_BUILT: dict[tuple, TradingCalendar] = {}
_KEPT = 16


def _file_version(path: str) -> tuple[float, int] | None:
    """When the file last changed and its size; None without a file (read errors surface when it
    is read)."""
    if not path:
        return None
    try:
        stat = Path(path).stat()
    except OSError:
        return None
    return stat.st_mtime, stat.st_size
