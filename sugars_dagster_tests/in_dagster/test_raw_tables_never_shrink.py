"""A raw table only grows or is revised: a day the source stops listing stays, and says so."""

import datetime as dt
import json
from collections.abc import Callable

import dagster as dg
import polars as pl
import pytest

from sugars_dagster.defs.assets.raw_series import _no_rows_dropped
from sugars_dagster.market.series import Series, SeriesFrame
from sugars_dagster.warehouse.resource import Warehouse
from sugars_dagster.warehouse.window_write import MergeCounts
from sugars_dagster_tests.support.definitions import product_asset
from sugars_dagster_tests.support.recorded_world import RecordedWorld, fast_akshare
from sugars_dagster_tests.support.runs import failure_text, run_graph

D = dt.date
WORLD = RecordedWorld(D(2025, 10, 1), D(2025, 12, 5))
RANGE = ("2025-11-03", "2025-12-04")
BDI_PROVIDER = "sina:spot_goods:BDI"
ALL_TIME = (D(2000, 1, 1), D(2100, 1, 1))


def bdi_with_thousands_separators(world: RecordedWorld, days: set[dt.date]) -> bytes:
    """Sina's BDI answer with the price of `days` written "1,749": akshare's to_numeric turns
    those into NaN and its dropna removes the rows."""
    body = json.loads(world.bdi_body().decode("gbk"))
    for row in body["result"]["data"]["data"]:
        if D.fromisoformat(row["opendate"]) in days:
            row["price"] = f"{int(row['price']):,}"
    return json.dumps(body, ensure_ascii=False).encode("gbk")


def without_days(days: set[dt.date]) -> Callable[[list[dict]], list[dict]]:
    return lambda rows: [row for row in rows if row["trade_date"] not in days]


def land(
    warehouse: Warehouse, instance: dg.DagsterInstance, world: RecordedWorld = WORLD, **bodies: bytes
) -> dg.ExecuteInProcessResult:
    with world.serving(**bodies):
        return run_graph(fast_akshare(), warehouse, instance, partition_range=RANGE)


def rebuild_market_daily(warehouse: Warehouse, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    """market_daily alone, from what the raw tables hold (no source is asked)."""
    return run_graph(fast_akshare(), warehouse, instance, partition_range=RANGE, assets=[product_asset("market_daily")])


def raw_bdi(warehouse: Warehouse) -> dict[dt.date, float]:
    return dict(warehouse.read_series(Series.BDI, [BDI_PROVIDER], *ALL_TIME).select("trade_date", "bdi").rows())


def market_bdi(warehouse: Warehouse) -> dict[dt.date, tuple[float, dt.date]]:
    frame = warehouse.read_market_daily(*ALL_TIME)
    return {row["record_date"]: (row["bdi_index"], row["bdi_date"]) for row in frame.to_dicts()}


def bdi_metadata(result: dg.ExecuteInProcessResult) -> dict:
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey("baltic_dry_index")]
    return {key: value.value for key, value in event.materialization.metadata.items()}


def no_rows_dropped(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    [evaluation] = [
        event.event_specific_data
        for event in result.all_events
        if event.event_type_value == "ASSET_CHECK_EVALUATION"
        and event.event_specific_data.asset_key == dg.AssetKey("baltic_dry_index")
        and event.event_specific_data.check_name == "no_rows_dropped"
    ]
    return evaluation


def succeeded(result: dg.ExecuteInProcessResult, step: str) -> bool:
    return any(event.step_key == step and event.event_type_value == "STEP_SUCCESS" for event in result.all_events)


MISSING = {
    "thousands-separators": (
        lambda days: {"bdi": bdi_with_thousands_separators(WORLD, days)},
        {D(2025, 11, 20), D(2025, 11, 21)},
    ),
    "three-days-dropped": (
        lambda days: {"world": RecordedWorld(WORLD.first, WORLD.last, edits={Series.BDI: without_days(days)})},
        {D(2025, 11, 18), D(2025, 11, 19), D(2025, 11, 20)},
    ),
}


@pytest.mark.parametrize("case", list(MISSING))
def test_days_missing_from_the_middle_of_a_response_stay_and_block_market_daily(
    sqlite_warehouse: Warehouse, instance, case: str
) -> None:
    answer, missing = MISSING[case]
    first = land(sqlite_warehouse, instance)
    assert first.success, failure_text(first)
    raw_before, market_before = raw_bdi(sqlite_warehouse), market_bdi(sqlite_warehouse)
    assert missing <= raw_before.keys()

    result = land(sqlite_warehouse, instance, **answer(missing))

    assert raw_bdi(sqlite_warehouse) == raw_before
    assert bdi_metadata(result)["rows_kept_absent"] == len(missing)
    evaluation = no_rows_dropped(result)
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert evaluation.description.startswith(f"{len(missing)} stored day(s) missing from the response, kept: ")
    assert all(str(day) in evaluation.description for day in missing)
    # The blocking check stops the as-of join from running on a span with holes.
    assert not succeeded(result, "market_daily")
    assert market_bdi(sqlite_warehouse) == market_before

    rebuilt = rebuild_market_daily(sqlite_warehouse, instance)
    assert rebuilt.success, failure_text(rebuilt)
    assert market_bdi(sqlite_warehouse) == market_before
    assert all(market_before[day] == (raw_before[day], day) for day in missing)


def test_a_history_that_starts_later_drops_nothing(sqlite_warehouse: Warehouse, instance) -> None:
    first = land(sqlite_warehouse, instance)
    assert first.success, failure_text(first)
    raw_before, market_before = raw_bdi(sqlite_warehouse), market_bdi(sqlite_warehouse)

    truncated = RecordedWorld(
        WORLD.first,
        WORLD.last,
        edits={Series.BDI: lambda rows: [r for r in rows if r["trade_date"] >= D(2025, 11, 15)]},
    )
    result = land(sqlite_warehouse, instance, world=truncated)

    assert result.success, failure_text(result)
    assert raw_bdi(sqlite_warehouse) == raw_before
    assert bdi_metadata(result)["rows_kept_absent"] == 0
    assert no_rows_dropped(result).passed
    assert market_bdi(sqlite_warehouse) == market_before
    rebuilt = rebuild_market_daily(sqlite_warehouse, instance)
    assert rebuilt.success, failure_text(rebuilt)
    assert market_bdi(sqlite_warehouse) == market_before


def test_a_changed_past_value_is_a_revision_kept_with_what_it_was(sqlite_warehouse: Warehouse, instance) -> None:
    day = D(2025, 11, 20)
    first = land(sqlite_warehouse, instance)
    assert first.success, failure_text(first)
    old = raw_bdi(sqlite_warehouse)[day]

    def revised(rows: list[dict]) -> list[dict]:
        return [{**row, "bdi": row["bdi"] + 20} if row["trade_date"] == day else row for row in rows]

    result = land(sqlite_warehouse, instance, world=RecordedWorld(WORLD.first, WORLD.last, edits={Series.BDI: revised}))

    assert result.success, failure_text(result)
    assert raw_bdi(sqlite_warehouse)[day] == old + 20
    [revision] = sqlite_warehouse.read_revisions(Series.BDI).to_dicts()
    assert {
        key: revision[key]
        for key in ("series", "provider", "trade_date", "column_name", "old_value", "new_value", "run_id")
    } == {
        "series": "baltic_dry_index",
        "provider": BDI_PROVIDER,
        "trade_date": day,
        "column_name": "bdi",
        "old_value": old,
        "new_value": old + 20,
        "run_id": result.run_id,
    }
    metadata = bdi_metadata(result)
    assert (metadata["rows_revised"], metadata["values_revised"], metadata["rows_kept_absent"]) == (1, 1, 0)
    assert f"| {day} | bdi | {old} | {old + 20} |" in metadata["revisions"]
    assert no_rows_dropped(result).passed
    assert market_bdi(sqlite_warehouse)[day] == (old + 20, day)


def bdi_frame(provider: str, values: dict[int, float | None]) -> SeriesFrame:
    frame = pl.DataFrame(
        {"trade_date": [D(2025, 12, day) for day in values], "bdi": list(values.values())},
        schema={"trade_date": pl.Date, "bdi": pl.Float64},
    )
    return SeriesFrame(Series.BDI, provider, frame, synthetic=False)


def test_the_warehouse_keeps_absent_rows_and_records_revisions(warehouse: Warehouse) -> None:
    t0 = dt.datetime(2025, 12, 5, 9, tzinfo=dt.UTC)
    t1 = t0 + dt.timedelta(days=1)
    warehouse.land_series(bdi_frame(BDI_PROVIDER, {1: 2400.0, 2: 2410.0, 3: 2420.0, 4: 2430.0}), "run-1", t0)
    counts = warehouse.land_series(bdi_frame(BDI_PROVIDER, {2: 2411.0, 4: 2430.0, 5: 2440.0}), "run-2", t1)

    assert (counts.inserted, counts.revised, counts.unchanged, counts.absent) == (1, 1, 1, (D(2025, 12, 3),))
    assert raw_bdi(warehouse) == {
        D(2025, 12, day): value for day, value in {1: 2400.0, 2: 2411.0, 3: 2420.0, 4: 2430.0, 5: 2440.0}.items()
    }
    revisions = warehouse.read_revisions(Series.BDI).select(
        "trade_date", "column_name", "old_value", "new_value", "run_id"
    )
    assert revisions.rows() == [(D(2025, 12, 2), "bdi", 2410.0, 2411.0, "run-2")]
    # Retention is the one thing that deletes, and it leaves the raw tables alone.
    warehouse.delete_before(D(2026, 1, 1))
    assert len(raw_bdi(warehouse)) == 5


def test_the_check_names_the_first_ten_absent_days_and_counts_the_rest() -> None:
    absent = tuple(D(2025, 11, 1) + dt.timedelta(days=offset) for offset in range(12))
    counts = MergeCounts(inserted=0, revised=0, unchanged=5, absent=absent)
    evaluation = _no_rows_dropped(Series.BDI, D(2025, 12, 5), counts)
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert evaluation.description == (
        "12 stored day(s) missing from the response, kept: "
        + ", ".join(str(day) for day in absent[:10])
        + " and 2 more"
    )
    # Only stored days newer than the response's newest: a warning, not a block.
    newest_only = _no_rows_dropped(Series.BDI, D(2025, 10, 31), counts)
    assert not newest_only.passed and newest_only.severity == dg.AssetCheckSeverity.WARN
