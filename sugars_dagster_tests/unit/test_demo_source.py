import datetime as dt

import polars as pl
import pytest

from sugars_dagster.defs.config import QualityLimits
from sugars_dagster.market.calendar import trading as trading_calendar
from sugars_dagster.market.series import Series
from sugars_dagster.sources.demo_source import DEMO_LABEL, DemoSource

BANDS = {
    Series.ZCE_SUGAR: ("close", 4_000, 7_500),
    Series.USD_CNY: ("usd_cny", 6.3, 7.3),
    Series.BDI: ("bdi", 500, 4_000),
    Series.ICE_NO11: ("close", 12, 28),
}


@pytest.mark.parametrize("series", list(Series))
def test_a_dates_value_does_not_depend_on_the_range_asked_for(series: Series) -> None:
    source = DemoSource()
    year = source.fetch(series, dt.date(2025, 1, 1), dt.date(2025, 12, 31)).frame
    june = source.fetch(series, dt.date(2025, 6, 1), dt.date(2025, 6, 30)).frame
    assert year.filter(year["trade_date"].is_in(june["trade_date"].implode())).equals(june)
    assert source.fetch(series, dt.date(2025, 1, 1), dt.date(2025, 12, 31)).frame.equals(year)


@pytest.mark.parametrize("series", list(Series))
def test_levels_stay_realistic_over_the_whole_history(series: Series) -> None:
    column, low, high = BANDS[series]
    frame = DemoSource().fetch(series, dt.date(2006, 1, 6), dt.date(2027, 12, 31)).frame
    assert low <= frame[column].min() and frame[column].max() <= high
    assert frame[column].n_unique() > 1_000  # it moves; it is not a constant


def test_sugar_trades_on_the_exchange_calendar() -> None:
    frame = DemoSource().fetch(Series.ZCE_SUGAR, dt.date(2025, 1, 1), dt.date(2025, 12, 31)).frame
    assert frame["trade_date"].to_list() == trading_calendar.snapshot_calendar().sessions_between(
        dt.date(2025, 1, 1), dt.date(2025, 12, 31)
    )


def test_bars_are_consistent() -> None:
    frame = DemoSource().fetch(Series.ZCE_SUGAR, dt.date(2024, 1, 1), dt.date(2025, 12, 31)).frame
    assert (frame["low"] <= frame["open"]).all() and (frame["open"] <= frame["high"]).all()
    assert (frame["low"] <= frame["close"]).all() and (frame["close"] <= frame["high"]).all()


def test_it_is_labelled_synthetic() -> None:
    source = DemoSource()
    fetched = source.fetch(Series.BDI, dt.date(2025, 1, 1), dt.date(2025, 1, 31))
    assert fetched.synthetic and source.synthetic
    assert fetched.provider == DEMO_LABEL == source.label == "demo-synthetic"


@pytest.mark.parametrize(
    ("series", "column", "limit"),
    [
        (Series.ZCE_SUGAR, "close", QualityLimits().max_move_sugar_pct),
        (Series.USD_CNY, "usd_cny", QualityLimits().max_move_usd_cny_pct),
        (Series.BDI, "bdi", QualityLimits().max_move_bdi_pct),
        (Series.ICE_NO11, "close", QualityLimits().max_move_ice_pct),
    ],
)
def test_it_moves_like_a_market_within_the_warning_limits(series: Series, column: str, limit: float) -> None:
    frame = DemoSource().fetch(series, dt.date(2006, 1, 6), dt.date(2027, 12, 31)).frame
    largest = frame.select(((pl.col(column) / pl.col(column).shift(1) - 1).abs() * 100).max()).item()
    assert 0 < largest < limit
