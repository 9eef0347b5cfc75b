"""The interface every market source implements."""

import datetime as dt

import dagster as dg

from sugars_dagster.market.series import Series, SeriesFrame


class MarketSource(dg.ConfigurableResource):
    """Fetches one series for a date range; implementations validate before they return."""

    @property
    def label(self) -> str:
        """Short name recorded with every row this source produced."""
        raise NotImplementedError

    @property
    def synthetic(self) -> bool:
        return False

    def providers(self, series: Series) -> list[str]:
        """Who may serve `series`, most preferred first, as stored in the raw tables' `provider`."""
        raise NotImplementedError

    def fetch(
        self, series: Series, first: dt.date, last: dt.date, log: dg.DagsterLogManager | None = None
    ) -> SeriesFrame:
        """Rows of `series` dated within [first, last]."""
        raise NotImplementedError

    @property
    def calendar_provider(self) -> str:
        """Who serves the trading calendar, as stored in `raw_trading_calendar.provider`."""
        raise NotImplementedError

    @property
    def calendar_source(self) -> str:
        """The calendar call, named in errors."""
        raise NotImplementedError

    def fetch_trading_days(self, today: dt.date, log: dg.DagsterLogManager | None = None) -> list[dt.date]:
        """The mainland trading days the source lists, as received (whole years, the coming one
        once announced); `trading_calendar.check_trading_days` judges them."""
        raise NotImplementedError
