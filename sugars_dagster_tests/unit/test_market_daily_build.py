import datetime as dt
import re

import polars as pl
import pytest

from sugars_dagster.defs.config import ImportCostConfig
from sugars_dagster.errors import MissingDataError
from sugars_dagster.market.build import MarketInputs, Staleness, build_market_daily
from sugars_dagster.market.calendar.trading import snapshot_calendar
from sugars_dagster.market.calendar.window import classify_window
from sugars_dagster.market.import_cost import out_of_quota_landed_cost_cny_t

SNAPSHOT = snapshot_calendar()

D = dt.date
STALENESS = Staleness(usd_cny_days=7, bdi_days=14, ice_days=7)


def series(rows: dict[dt.date, float], column: str, provider: str = "p1") -> pl.DataFrame:
    return pl.DataFrame(
        {"trade_date": list(rows), column: list(rows.values()), "provider": [provider] * len(rows)},
        schema={"trade_date": pl.Date, column: pl.Float64, "provider": pl.String},
    )


def sugar(rows: dict[dt.date, tuple[float, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "trade_date": list(rows),
            "open": [o for o, _ in rows.values()],
            "close": [c for _, c in rows.values()],
            "provider": ["sina"] * len(rows),
        },
        schema={"trade_date": pl.Date, "open": pl.Float64, "close": pl.Float64, "provider": pl.String},
    )


# Thu 2025-12-04 and Mon 2025-12-08; FX and ICE last seen on Friday 12-05 before the Monday.
INPUTS = MarketInputs(
    sugar=sugar({D(2025, 12, 4): (5400.0, 5412.0), D(2025, 12, 8): (5420.0, 5433.0)}),
    usd_cny=series({D(2025, 12, 4): 7.0712, D(2025, 12, 5): 7.0655}, "usd_cny"),
    bdi=series({D(2025, 12, 1): 2400.0, D(2025, 12, 8): 2450.0}, "bdi"),
    ice=series({D(2025, 12, 3): 15.10, D(2025, 12, 4): 15.25, D(2025, 12, 5): 15.40}, "close", "eastmoney"),
)


def test_rows_join_the_latest_value_on_or_before_each_day() -> None:
    frame = build_market_daily([D(2025, 12, 4), D(2025, 12, 8)], INPUTS, STALENESS, ImportCostConfig())
    rows = frame.to_dicts()
    assert [row["record_date"] for row in rows] == [D(2025, 12, 4), D(2025, 12, 8)]
    assert [row["sugar_close"] for row in rows] == [5412.0, 5433.0]
    assert [row["sugar_open"] for row in rows] == [5400.0, 5420.0]
    assert [row["usd_cny_rate"] for row in rows] == [7.0712, 7.0655]  # Monday uses Friday's fixing
    assert [row["usd_cny_date"] for row in rows] == [D(2025, 12, 4), D(2025, 12, 5)]
    assert [row["bdi_index"] for row in rows] == [2400.0, 2450.0]  # same-day value when there is one
    assert [row["ice_usc_lb"] for row in rows] == [15.25, 15.40]
    # Where each input came from, for the row's provenance.
    assert [row["sugar_provider"] for row in rows] == ["sina", "sina"]
    assert [row["ice_provider"] for row in rows] == ["eastmoney", "eastmoney"]
    assert [row["bdi_date"] for row in rows] == [D(2025, 12, 1), D(2025, 12, 8)]


def test_import_cost_uses_the_shared_formula_and_is_rounded() -> None:
    config = ImportCostConfig(origin_premium_usc_lb=0.5, freight_usd_t=35.0, port_charges_cny_t=120.0)
    frame = build_market_daily([D(2025, 12, 4)], INPUTS, STALENESS, config)
    expected = out_of_quota_landed_cost_cny_t(D(2025, 12, 4), 15.25, 7.0712, config)
    assert frame["import_cost_estimate"].to_list() == [round(expected, 2)]


def test_an_input_older_than_its_limit_fails_instead_of_being_used() -> None:
    # Friday's fixing is 3 days old on Monday: accepted with a 3-day limit, refused with 2.
    tight_fx = Staleness(usd_cny_days=2, bdi_days=14, ice_days=7)
    with pytest.raises(
        MissingDataError,
        match=re.escape("no USD/CNY fixing value within 2 days on or before 2025-12-08 (latest before it: 2025-12-05)"),
    ):
        build_market_daily([D(2025, 12, 8)], INPUTS, tight_fx, ImportCostConfig())
    loose_fx = Staleness(usd_cny_days=3, bdi_days=14, ice_days=7)
    assert build_market_daily([D(2025, 12, 8)], INPUTS, loose_fx, ImportCostConfig()).height == 1

    tight_bdi = Staleness(usd_cny_days=7, bdi_days=2, ice_days=7)
    with pytest.raises(
        MissingDataError,
        match=re.escape(
            "no Baltic Dry Index value within 2 days on or before 2025-12-04 (latest before it: 2025-12-01)"
        ),
    ):
        build_market_daily([D(2025, 12, 4)], INPUTS, tight_bdi, ImportCostConfig())


def test_an_input_with_nothing_before_the_day_fails() -> None:
    inputs = MarketInputs(INPUTS.sugar, INPUTS.usd_cny, INPUTS.bdi, series({D(2025, 12, 5): 15.4}, "close"))
    with pytest.raises(
        MissingDataError,
        match=r"no ICE No.11 close value within 7 days on or before 2025-12-04 \(latest before it: none\)",
    ):
        build_market_daily([D(2025, 12, 4)], inputs, STALENESS, ImportCostConfig())


def test_a_trading_day_without_its_bar_fails() -> None:
    with pytest.raises(MissingDataError, match="no bar for trading day 2025-12-05 yet"):
        build_market_daily([D(2025, 12, 4), D(2025, 12, 5)], INPUTS, STALENESS, ImportCostConfig())


def test_no_trading_day_gives_an_empty_frame() -> None:
    frame = build_market_daily([], INPUTS, STALENESS, ImportCostConfig())
    assert frame.height == 0
    assert "import_cost_estimate" in frame.columns


@pytest.mark.parametrize(
    ("days", "trading", "closed"),
    [
        ([D(2025, 12, 4)], [D(2025, 12, 4)], []),
        ([D(2025, 12, 6)], [], [D(2025, 12, 6)]),  # Saturday
        ([D(2025, 10, 3)], [], [D(2025, 10, 3)]),  # National Day
        ([D(2025, 9, 30), D(2025, 10, 1), D(2025, 10, 9)], [D(2025, 9, 30), D(2025, 10, 9)], [D(2025, 10, 1)]),
    ],
)
def test_window_days_follow_the_calendar(days: list[dt.date], trading: list[dt.date], closed: list[dt.date]) -> None:
    window = classify_window(days, set(trading), SNAPSHOT)
    assert window.trading == trading
    assert window.closed == closed


def test_past_the_calendar_a_day_without_any_later_bar_cannot_be_decided() -> None:
    with pytest.raises(
        MissingDataError,
        match="no bar for 2027-01-05 yet; 2027-01-05 is past the trading calendar \\(known through 2026-12-31\\).*add it to a closed-days file \\(set SUGARS_CLOSED_DAYS_FILE",
    ):
        classify_window([D(2027, 1, 4), D(2027, 1, 5)], {D(2027, 1, 4)}, SNAPSHOT)
    window = classify_window([D(2027, 1, 4), D(2027, 1, 5)], {D(2027, 1, 4), D(2027, 1, 6)}, SNAPSHOT)
    assert window.trading == [D(2027, 1, 4)]
    assert window.closed_by_source == [D(2027, 1, 5)]


def test_bars_on_closed_days_are_reported_not_loaded() -> None:
    window = classify_window([D(2025, 10, 3)], {D(2025, 10, 3)}, SNAPSHOT)
    assert window.trading == []
    assert window.bars_on_closed_days == [D(2025, 10, 3)]
