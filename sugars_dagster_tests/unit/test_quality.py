"""Each data-quality check, passing and failing on crafted frames."""

import datetime as dt

import dagster as dg
import polars as pl

from sugars_dagster.defs.checks import as_check_result
from sugars_dagster.defs.config import QualityLimits
from sugars_dagster.market import quality
from sugars_dagster.market.quality import MARKET_DAILY_RANGES

D = dt.date


def frame(**overrides: list) -> pl.DataFrame:
    """Three plausible market_daily rows, with some columns replaced."""
    days = [D(2025, 12, 2), D(2025, 12, 3), D(2025, 12, 4)]
    columns = {
        "record_date": days,
        "sugar_close": [5400.0, 5420.0, 5410.0],
        "sugar_open": [5390.0, 5401.0, 5425.0],
        "usd_cny_rate": [7.07, 7.08, 7.075],
        "bdi_index": [2400.0, 2450.0, 2430.0],
        "import_cost_estimate": [6100.0, 6120.0, 6110.0],
        "ice_usc_lb": [15.1, 15.3, 15.2],
        "usd_cny_date": days,
        "bdi_date": days,
        "ice_date": [D(2025, 12, 1), D(2025, 12, 2), D(2025, 12, 3)],
    }
    columns.update(overrides)
    return pl.DataFrame(columns, schema_overrides={name: pl.Float64 for name in MARKET_DAILY_RANGES})


REQUIRED = ["sugar_close", "sugar_open", "usd_cny_rate", "bdi_index", "import_cost_estimate"]
NO_PREVIOUS = frame().head(0)


def test_good_rows_pass_every_check() -> None:
    good = frame()
    outcomes = [
        quality.required_fields(good, REQUIRED),
        quality.plausible_ranges(good, MARKET_DAILY_RANGES),
        quality.day_over_day_moves(good, NO_PREVIOUS, QualityLimits().moves()),
        quality.input_staleness(good, QualityLimits().staleness()),
        quality.row_count(3, list(good["record_date"]), set(good["record_date"])),
        quality.unique_days([]),
    ]
    assert [outcome.passed for outcome in outcomes] == [True] * 6
    assert all(outcome.offending.height == 0 for outcome in outcomes)


def test_an_empty_required_field_fails_and_names_the_row() -> None:
    outcome = quality.required_fields(frame(bdi_index=[2400.0, None, 2430.0]), REQUIRED)
    assert not outcome.passed and outcome.blocking
    assert outcome.offending["record_date"].to_list() == [D(2025, 12, 3)]
    assert outcome.summary == "1 row(s) with empty required fields"


def test_values_outside_their_range_fail_one_row_each() -> None:
    outcome = quality.plausible_ranges(
        frame(usd_cny_rate=[7.07, 708.0, 7.075], ice_usc_lb=[15.1, 15.3, 0.152]), MARKET_DAILY_RANGES
    )
    assert not outcome.passed and outcome.blocking
    assert outcome.offending.select("record_date", "field", "value").rows() == [
        (D(2025, 12, 3), "usd_cny_rate", 708.0),
        (D(2025, 12, 4), "ice_usc_lb", 0.152),
    ]


def test_a_jump_beyond_its_limit_is_a_warning_including_the_window_edge() -> None:
    previous = (
        frame().head(1).with_columns(pl.lit(D(2025, 12, 1)).alias("record_date"), pl.lit(4800.0).alias("sugar_close"))
    )
    outcome = quality.day_over_day_moves(frame(), previous, QualityLimits(max_move_sugar_pct=9.0).moves())
    assert not outcome.passed and not outcome.blocking
    assert outcome.offending.select("record_date", "field", "previous", "value", "move_pct").rows() == [
        (D(2025, 12, 2), "sugar_close", 4800.0, 5400.0, 12.5)
    ]
    loose = quality.day_over_day_moves(frame(), previous, QualityLimits(max_move_sugar_pct=13.0).moves())
    assert loose.passed


def test_an_old_input_is_a_warning() -> None:
    stale = frame(ice_date=[D(2025, 12, 1), D(2025, 11, 27), D(2025, 12, 3)])
    outcome = quality.input_staleness(stale, QualityLimits(stale_warn_ice_days=4).staleness())
    assert not outcome.passed and not outcome.blocking
    assert outcome.offending.rows() == [(D(2025, 12, 3), "ice", D(2025, 11, 27), 6)]


def test_a_window_with_a_row_missing_or_extra_fails_its_count() -> None:
    trading = [D(2025, 12, 2), D(2025, 12, 3), D(2025, 12, 4)]
    short = quality.row_count(2, trading, {D(2025, 12, 2), D(2025, 12, 4)})
    assert not short.passed and short.blocking
    assert short.offending.rows() == [(D(2025, 12, 3), "missing")]
    extra = quality.row_count(4, trading, {*trading, D(2025, 12, 6)})
    assert extra.offending.rows() == [(D(2025, 12, 6), "not a trading day")]


def test_a_day_stored_twice_fails() -> None:
    outcome = quality.unique_days([(D(2025, 12, 3), 2)])
    assert not outcome.passed and outcome.blocking
    assert outcome.offending.rows() == [(D(2025, 12, 3), 2)]


def test_outcomes_become_check_results_with_the_rows_in_metadata() -> None:
    result = as_check_result(
        quality.plausible_ranges(frame(bdi_index=[2400.0, 99.0, 2430.0]), MARKET_DAILY_RANGES), "market_daily"
    )
    assert result.check_name == "plausible_ranges" and not result.passed
    assert result.severity == dg.AssetCheckSeverity.ERROR
    assert result.metadata["offending_rows"].value == 1
    assert "| 2025-12-03 | bdi_index | 99.0 | 200 .. 15000 |" in result.metadata["rows"].value
    warning = as_check_result(quality.input_staleness(frame(), {"ice": 0}), "market_daily")
    assert warning.severity == dg.AssetCheckSeverity.WARN
