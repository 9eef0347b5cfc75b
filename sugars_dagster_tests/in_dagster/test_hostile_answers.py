"""No source answer can destroy, shift or fake stored data.

Each case lands a clean recorded world, then runs the whole graph again against one hostile answer
served through akshare's own parsing (HTTP faked), and compares every warehouse table before and
after: nothing already stored changes, whatever the answer left out, repeated, shifted or invented.
"""

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa

from sugars_dagster.market.series import Series
from sugars_dagster.warehouse.resource import Warehouse
from sugars_dagster.warehouse.tables import metadata
from sugars_dagster_tests.in_dagster.test_raw_tables_never_shrink import bdi_with_thousands_separators
from sugars_dagster_tests.support import payloads
from sugars_dagster_tests.support.recorded_world import RecordedWorld, fast_akshare
from sugars_dagster_tests.support.runs import failure_text, run_graph

D = dt.date
WORLD = RecordedWorld(D(2025, 10, 1), D(2025, 12, 5))
RANGE = ("2025-11-03", "2025-12-04")
# Saturday morning after the world's last day: every bar in it is final.
NOW = dt.datetime(2025, 12, 6, 10, 0)
# The other provider of SR and ICE answering with an error, so that Sina's answer is the one judged.
EASTMONEY_DOWN = json.dumps({"rc": 102, "data": None})
SINA_ONLY = {"eastmoney_sr": EASTMONEY_DOWN, "eastmoney_ice": EASTMONEY_DOWN}


def edited(series: Series, edit: Callable[[list[dict]], list[dict]]) -> RecordedWorld:
    return RecordedWorld(WORLD.first, WORLD.last, edits={series: edit})


def sr_stamped(stamp: Callable[[dt.date], str]) -> str:
    rows = WORLD.rows(Series.ZCE_SUGAR)
    return payloads.sr_jsonp([{**row, "date": stamp(row["trade_date"]), "hold": row["open_interest"]} for row in rows])


def with_row_dated(day: dt.date) -> Callable[[list[dict]], list[dict]]:
    return lambda rows: [*rows, {**rows[-1], "trade_date": day}]


def repeated_and_swapped(rows: list[dict]) -> list[dict]:
    # 11-04 twice, and 11-06 before 11-05.
    by_day = {row["trade_date"]: row for row in rows}
    head = [row for row in rows if row["trade_date"] < D(2025, 11, 4)]
    tail = [row for row in rows if row["trade_date"] > D(2025, 11, 6)]
    return [
        *head,
        by_day[D(2025, 11, 4)],
        by_day[D(2025, 11, 4)],
        by_day[D(2025, 11, 6)],
        by_day[D(2025, 11, 5)],
        *tail,
    ]


SINA_SR_ENVELOPE = payloads.SINA_GUARD + "var _V21052021_4_12=({rows});"

# case: (the world and the bodies it serves, whether the run succeeds, what it says)
CASES: dict[str, tuple[Callable[[], tuple[RecordedWorld, dict[str, Any]]], bool, str]] = {
    "thousands-separators": (
        lambda: (WORLD, {"bdi": bdi_with_thousands_separators(WORLD, {D(2025, 11, 20), D(2025, 11, 21)})}),
        False,
        "2 stored day(s) missing from the response, kept: 2025-11-20, 2025-11-21",
    ),
    "truncated-history": (
        lambda: (edited(Series.BDI, lambda rows: [r for r in rows if r["trade_date"] >= D(2025, 11, 15)]), {}),
        True,
        "every stored day from the response's first date on is in the response",
    ),
    "rows-dropped-in-the-middle": (
        lambda: (
            edited(
                Series.ICE_NO11,
                lambda rows: [r for r in rows if not D(2025, 11, 18) <= r["trade_date"] <= D(2025, 11, 20)],
            ),
            SINA_ONLY,
        ),
        False,
        "3 stored day(s) missing from the response, kept: 2025-11-18, 2025-11-19, 2025-11-20",
    ),
    "empty-list": (
        lambda: (WORLD, {"sr": SINA_SR_ENVELOPE.format(rows="[]"), **SINA_ONLY}),
        False,
        "Sina futures_zh_daily_sina(symbol='SR0'), field 'date': returned no rows",
    ),
    "header-only": (
        lambda: (WORLD, {"fx": []}),
        False,
        "SAFE currency_boc_safe(), field '日期': returned no rows",
    ),
    "fx-per-1-usd": (
        lambda: (WORLD, {"fx": [(day, round(value / 100, 4)) for day, value in WORLD.fx_rows()]}),
        False,
        "SAFE currency_boc_safe(), field '美元': values outside the plausible 5.5-9 after scaling by 0.01 (unit changed?)",
    ),
    "dates-in-the-future": (
        lambda: (edited(Series.ZCE_SUGAR, with_row_dated(D(2025, 12, 20))), SINA_ONLY),
        False,
        "Sina futures_zh_daily_sina(symbol='SR0'), field 'date': dates in the future (after 2025-12-10): 2025-12-20",
    ),
    "out-of-order-and-duplicated": (
        lambda: (edited(Series.ZCE_SUGAR, repeated_and_swapped), SINA_ONLY),
        False,
        "Sina futures_zh_daily_sina(symbol='SR0'), field 'date': duplicate dates 2025-11-04",
    ),
    "zone-aware-dates": (
        # Shanghai midnight written in UTC: 16:00 of the day before. Read in Shanghai, same days.
        lambda: (WORLD, {"sr": sr_stamped(lambda day: f"{day - dt.timedelta(days=1)}T16:00:00Z"), **SINA_ONLY}),
        True,
        "none of the mainland trading days inside 2025-10-09 .. 2025-12-05 missing",
    ),
}


def everything_stored(warehouse: Warehouse) -> dict[str, list[tuple]]:
    """Every row of every warehouse table, in key order."""
    with warehouse.engine().connect() as conn:
        return {table.name: sorted(conn.execute(sa.select(table)).all(), key=repr) for table in metadata.sorted_tables}


def what_it_says(result: dg.ExecuteInProcessResult) -> str:
    checks = [
        event.event_specific_data.description or ""
        for event in result.all_events
        if event.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    return "\n".join([failure_text(result), *checks])


@pytest.mark.parametrize("case", list(CASES))
def test_a_hostile_answer_changes_nothing_stored(sqlite_warehouse: Warehouse, instance, move_clock, case: str) -> None:
    move_clock(NOW)
    with WORLD.serving():
        clean = run_graph(fast_akshare(), sqlite_warehouse, instance, partition_range=RANGE)
    assert clean.success, failure_text(clean)
    before = everything_stored(sqlite_warehouse)
    assert len(before["market_daily"]) == 24

    serve, succeeds, says = CASES[case]
    world, bodies = serve()
    with world.serving(**bodies):
        result = run_graph(fast_akshare(), sqlite_warehouse, instance, partition_range=RANGE)

    assert result.success is succeeds, failure_text(result)
    assert says in what_it_says(result)
    assert everything_stored(sqlite_warehouse) == before


def test_a_bar_dated_tomorrow_is_left_until_final(sqlite_warehouse: Warehouse, instance, move_clock) -> None:
    """Within the margin (Sina shows Monday's bar from Friday's night session) a future bar is not
    refused, and not stored either: nothing changes until its session is over."""
    move_clock(NOW)
    with WORLD.serving():
        assert run_graph(fast_akshare(), sqlite_warehouse, instance, partition_range=RANGE).success
    before = everything_stored(sqlite_warehouse)
    with edited(Series.ZCE_SUGAR, with_row_dated(D(2025, 12, 8))).serving(**SINA_ONLY):
        result = run_graph(fast_akshare(), sqlite_warehouse, instance, partition_range=RANGE)
    assert result.success, failure_text(result)
    assert everything_stored(sqlite_warehouse) == before
