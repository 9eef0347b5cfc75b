"""Sources for tests that need the demo series with something wrong."""

import datetime as dt

import polars as pl

from sugars_dagster.market.series import Series, SeriesFrame
from sugars_dagster.sources.demo_source import DemoSource


class DemoWithoutSugarBar(DemoSource):
    """The demo source, except that the sugar series has no bar on `missing_day` (YYYY-MM-DD)."""

    missing_day: str

    def fetch(self, series: Series, first: dt.date, last: dt.date, log=None) -> SeriesFrame:  # noqa: ANN001
        fetched = super().fetch(series, first, last, log)
        if series is not Series.ZCE_SUGAR:
            return fetched
        frame = fetched.frame.filter(pl.col("trade_date") != dt.date.fromisoformat(self.missing_day))
        return SeriesFrame(series, fetched.provider, frame, fetched.synthetic)
