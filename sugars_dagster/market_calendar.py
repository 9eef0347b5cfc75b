"""The `calendar` resource: the trading calendar as the pipeline sees it at this moment.

It is read afresh at every use (a run, a sensor tick), so a newly landed year or an edit of the
operator's closed-days file counts at once, without reloading the code location.
"""

import dagster as dg
from pydantic import Field

from sugars_dagster.sources.base import MarketSource
from sugars_dagster.trading_calendar import TradingCalendar, calendar_from, read_closed_days_file
from sugars_dagster.warehouse.resource import Warehouse


class MarketCalendar(dg.ConfigurableResource):
    """The landed mainland calendar, the shipped snapshot past it, and the operator's closed days."""

    closed_days_file: str = Field(
        default="",
        description="file of extra closed days, one YYYY-MM-DD per line (SUGARS_CLOSED_DAYS_FILE); empty: none",
    )

    def load(self, warehouse: Warehouse, source: MarketSource) -> TradingCalendar:
        closed = read_closed_days_file(self.closed_days_file) if self.closed_days_file else frozenset()
        return calendar_from(
            warehouse.read_trading_days(source.calendar_provider),
            landed_from=source.calendar_source,
            operator_closed=closed,
            closed_days_file=self.closed_days_file,
        )
