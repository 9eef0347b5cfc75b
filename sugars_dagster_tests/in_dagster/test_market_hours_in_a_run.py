"""Only final values are landed: a bar whose session is still trading waits for the next run."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from sugars_dagster.market.series import Series
from sugars_dagster.warehouse.resource import Warehouse
from sugars_dagster_tests.support.recorded_world import RecordedWorld, fast_akshare
from sugars_dagster_tests.support.runs import failure_text, run_graph

pytestmark = pytest.mark.clock  # depends on 'now': runs at several clocks in CI

SHANGHAI = ZoneInfo("Asia/Shanghai")
D = dt.date


def at(local: dt.datetime) -> dt.datetime:
    return local.replace(tzinfo=SHANGHAI)


def test_partial_bars_are_not_landed_and_the_row_says_which_ice_close_it_used(
    sqlite_warehouse: Warehouse, instance, move_clock
) -> None:
    # The services already list Friday 12-05's bars (SR from the Thursday-night session, ICE live).
    world = RecordedWorld(D(2025, 11, 3), D(2025, 12, 5))
    move_clock(at(dt.datetime(2025, 12, 5, 2, 0)))
    with world.serving():
        result = run_graph(fast_akshare(), sqlite_warehouse, instance, partition="2025-12-04")
    assert result.success, failure_text(result)
    newest = {
        series: sqlite_warehouse.read_series(series, fast_akshare().providers(series), D(2025, 1, 1), D(2026, 1, 1))[
            "trade_date"
        ].max()
        for series in Series
    }
    assert newest == {
        Series.ZCE_SUGAR: D(2025, 12, 4),
        Series.USD_CNY: D(2025, 12, 4),
        Series.BDI: D(2025, 12, 4),
        Series.ICE_NO11: D(2025, 12, 3),
    }
    [row] = sqlite_warehouse.read_market_daily(D(2025, 12, 4), D(2025, 12, 4)).to_dicts()
    assert row["ice_date"] == D(2025, 12, 3)
