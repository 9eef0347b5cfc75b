"""Gaps are seen, not bridged in silence: each series knows the days it publishes on, a response
that skips some is named by a warning check, and a market_daily row that had to reach back past a
skipped day says so in its provenance."""

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg
import exchange_calendars as xcals
import pytest

from sugars_dagster.defs.config import ImportCostConfig
from sugars_dagster.market.build import build_market_daily, reached_back
from sugars_dagster.market.calendar.publication import (
    PublicationDays,
    easter_sunday,
    london_bank_holidays,
    new_york_holidays,
)
from sugars_dagster.market.calendar.trading import snapshot_calendar
from sugars_dagster.market.series import Series
from sugars_dagster.warehouse.resource import Warehouse
from sugars_dagster_tests.support.recorded_world import RecordedWorld, fast_akshare
from sugars_dagster_tests.support.runs import failure_text, market_daily_metadata, run_graph
from sugars_dagster_tests.unit.test_market_daily_build import INPUTS, STALENESS

D = dt.date
SHANGHAI = ZoneInfo("Asia/Shanghai")
PUBLICATION = PublicationDays(snapshot_calendar())


# --- the calendars ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "easter"),
    [
        (2000, D(2000, 4, 23)),
        (2019, D(2019, 4, 21)),
        (2024, D(2024, 3, 31)),
        (2025, D(2025, 4, 20)),
        (2038, D(2038, 4, 25)),
    ],
)
def test_easter(year: int, easter: dt.date) -> None:
    assert easter_sunday(year) == easter


@pytest.mark.parametrize(("name", "holidays"), [("XLON", london_bank_holidays), ("XNYS", new_york_holidays)])
def test_the_rules_give_the_exchange_calendars_sessions_day_for_day(name: str, holidays) -> None:
    """London business days and New York sessions from 2000 to 2030 equal exchange_calendars'
    XLON and XNYS, one-off closures included; the rules go on where those lists stop."""
    sessions = {session.date() for session in xcals.get_calendar(name, start="2000-01-03", end="2030-12-31").sessions}
    day, differences = D(2000, 1, 3), []
    while day <= D(2030, 12, 31):
        if day.weekday() < 5 and (day not in holidays(day.year)) != (day in sessions):
            differences.append(day)
        day += dt.timedelta(days=1)
    assert differences == []


def test_the_rules_do_not_run_out() -> None:
    # Boxing Day 2100 is a Sunday: its holiday moves to Monday the 27th, Christmas (Saturday) to the 28th.
    assert {D(2100, 12, 27), D(2100, 12, 28)} <= london_bank_holidays(2100)
    assert D(2100, 11, 25) in new_york_holidays(2100)  # fourth Thursday of November 2100


def test_each_series_publishes_on_its_own_days() -> None:
    good_friday, thanksgiving, golden_week = D(2025, 4, 18), D(2025, 11, 27), D(2025, 10, 2)
    assert PUBLICATION.is_publication_day(Series.BDI, golden_week)
    assert not PUBLICATION.is_publication_day(Series.BDI, good_friday)
    assert PUBLICATION.is_publication_day(Series.BDI, thanksgiving)
    assert not PUBLICATION.is_publication_day(Series.ICE_NO11, thanksgiving)
    assert PUBLICATION.is_publication_day(Series.ICE_NO11, golden_week)
    assert not PUBLICATION.is_publication_day(Series.USD_CNY, golden_week)
    assert PUBLICATION.is_publication_day(Series.USD_CNY, good_friday)
    # Past the mainland calendar a day cannot be told: neither expected nor excused.
    beyond = snapshot_calendar().known_through + dt.timedelta(days=5)
    assert PUBLICATION.is_publication_day(Series.USD_CNY, beyond) is None


def test_missing_counts_only_publication_days_inside_the_span() -> None:
    received = [D(2025, 12, 1), D(2025, 12, 2), D(2025, 12, 5), D(2025, 12, 8)]  # lacks Wed 12-03, Thu 12-04
    assert PUBLICATION.missing(Series.BDI, received) == [D(2025, 12, 3), D(2025, 12, 4)]
    # Good Friday and Easter Monday are not London business days: not a gap.
    assert PUBLICATION.missing(Series.BDI, [D(2025, 4, 17), D(2025, 4, 22)]) == []
    assert PUBLICATION.missing(Series.ICE_NO11, [D(2025, 4, 17), D(2025, 4, 22)]) == [D(2025, 4, 21)]


def test_the_expected_value_is_the_newest_final_one() -> None:
    """At the 02:00 schedule in the northern winter New York's session of the same date is not
    over, so the previous close is the usual one; after 02:30 the same date's is."""
    thursday = D(2025, 12, 4)
    nightly = dt.datetime(2025, 12, 5, 2, 0, tzinfo=SHANGHAI)
    later = dt.datetime(2025, 12, 5, 9, 0, tzinfo=SHANGHAI)
    assert PUBLICATION.newest_expected(Series.ICE_NO11, thursday, nightly) == D(2025, 12, 3)
    assert PUBLICATION.newest_expected(Series.ICE_NO11, thursday, later) == thursday
    assert PUBLICATION.newest_expected(Series.BDI, thursday, nightly) == thursday
    # The Monday after Good Friday and Easter Monday: London's newest day is the Thursday before.
    assert PUBLICATION.newest_expected(Series.BDI, D(2025, 4, 21), later) == D(2025, 4, 17)
    beyond = snapshot_calendar().known_through + dt.timedelta(days=5)
    assert PUBLICATION.newest_expected(Series.USD_CNY, beyond, later.replace(year=beyond.year + 1)) is None


# --- market_daily's provenance ----------------------------------------------------------------


def test_a_row_that_reached_back_says_which_input_and_how_far() -> None:
    """INPUTS' BDI has 12-01 and 12-08 only, so Thursday 12-04 takes Monday's value."""
    at = dt.datetime(2025, 12, 9, 9, 0, tzinfo=SHANGHAI)
    frame = build_market_daily(
        [D(2025, 12, 4), D(2025, 12, 8)],
        INPUTS,
        STALENESS,
        cost=ImportCostConfig(),
        expected=lambda series, day: PUBLICATION.newest_expected(series, day, at),
    )
    notes = dict(zip(frame["record_date"].to_list(), frame["reached_back"].to_list(), strict=True))
    # 12-04: BDI from 12-01 instead of 12-04; FX and ICE are the day's own.
    assert notes[D(2025, 12, 4)] == "bdi: used 2025-12-01, expected 2025-12-04"
    # 12-08: FX and ICE from Friday 12-05, but Monday's own were due (SAFE 09:15, ICE overnight).
    assert (
        notes[D(2025, 12, 8)]
        == "usd_cny: used 2025-12-05, expected 2025-12-08; ice: used 2025-12-05, expected 2025-12-08"
    )


def test_without_a_judge_nothing_is_claimed() -> None:
    frame = build_market_daily([D(2025, 12, 4)], INPUTS, STALENESS, ImportCostConfig())
    assert reached_back(frame, None) == [None]
    assert frame["reached_back"].to_list() == [None]


# --- through akshare's parsing, end to end ---------------------------------------------------

WORLD_SPAN = (D(2025, 10, 1), D(2025, 12, 5))
RANGE = ("2025-11-03", "2025-12-04")
DROPPED = [D(2025, 11, 18), D(2025, 11, 19), D(2025, 11, 20)]  # Tuesday to Thursday


def check(result: dg.ExecuteInProcessResult, asset: str, name: str) -> dg.AssetCheckEvaluation:
    [evaluation] = [
        event.event_specific_data
        for event in result.all_events
        if event.event_type_value == "ASSET_CHECK_EVALUATION"
        and event.event_specific_data.asset_key == dg.AssetKey(asset)
        and event.event_specific_data.check_name == name
    ]
    return evaluation


def market_metadata(result: dg.ExecuteInProcessResult) -> dict:
    """The range run's metadata, which each of its days carries."""
    first, *rest = market_daily_metadata(result)
    assert all(other == first for other in rest)
    return first


def test_a_bdi_answer_with_a_hole_is_named_and_the_bridged_rows_say_so(
    sqlite_warehouse: Warehouse, instance, move_clock
) -> None:
    move_clock(dt.datetime(2025, 12, 6, 10, 0))
    holed = RecordedWorld(
        *WORLD_SPAN, edits={Series.BDI: lambda rows: [r for r in rows if r["trade_date"] not in DROPPED]}
    )
    with holed.serving():
        result = run_graph(fast_akshare(), sqlite_warehouse, instance, partition_range=RANGE)
    assert result.success, failure_text(result)

    gaps = check(result, "baltic_dry_index", "publication_gaps")
    assert not gaps.passed and gaps.severity == dg.AssetCheckSeverity.WARN
    assert gaps.description == (
        "3 of the London business days inside 2025-10-01 .. 2025-12-05 missing: 2025-11-20, 2025-11-19, 2025-11-18"
    )
    assert gaps.metadata["missing_days"].value == 3
    for complete in ("zce_sugar_bars", "usd_cny_central_parity", "ice_raw_sugar_bars"):
        assert check(result, complete, "publication_gaps").passed

    rows = {
        row["record_date"]: row for row in sqlite_warehouse.read_market_daily(*map(D.fromisoformat, RANGE)).to_dicts()
    }
    for day in DROPPED:
        assert rows[day]["bdi_date"] == D(2025, 11, 17)
        assert rows[day]["reached_back"] == f"bdi: used 2025-11-17, expected {day}"
    assert [day for day, row in rows.items() if row["reached_back"]] == DROPPED
    assert market_metadata(result)["rows_reached_back"] == 3


def test_a_complete_world_bridges_nothing(sqlite_warehouse: Warehouse, instance, move_clock) -> None:
    move_clock(dt.datetime(2025, 12, 6, 10, 0))
    with RecordedWorld(*WORLD_SPAN).serving():
        result = run_graph(fast_akshare(), sqlite_warehouse, instance, partition_range=RANGE)
    assert result.success, failure_text(result)
    for asset in ("zce_sugar_bars", "usd_cny_central_parity", "baltic_dry_index", "ice_raw_sugar_bars"):
        evaluation = check(result, asset, "publication_gaps")
        assert evaluation.passed, evaluation.description
    assert market_metadata(result)["rows_reached_back"] == 0
    stored = sqlite_warehouse.read_market_daily(*map(D.fromisoformat, RANGE))
    assert stored.height > 20 and stored["reached_back"].null_count() == stored.height
