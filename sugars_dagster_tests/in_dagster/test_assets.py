"""The asset graph in one in-process run, into SQLite and into PostgreSQL."""

import datetime as dt

import dagster as dg
import pytest
import sqlalchemy as sa

from sugars_dagster.defs.config import ImportCostConfig
from sugars_dagster.defs.market_calendar import MarketCalendar
from sugars_dagster.market.calendar import trading as trading_calendar
from sugars_dagster.market.import_cost import out_of_quota_landed_cost_cny_t
from sugars_dagster.market.series import Series
from sugars_dagster.sources.demo_source import DemoSource
from sugars_dagster.warehouse.resource import Warehouse
from sugars_dagster.warehouse.tables import RAW_TABLES
from sugars_dagster_tests.support.definitions import product_asset
from sugars_dagster_tests.support.recorded_world import RecordedWorld, fast_akshare
from sugars_dagster_tests.support.runs import failure_text, market_daily_metadata, run_graph

D = dt.date
ALL_TIME = (D(2000, 1, 1), D(2100, 1, 1))


def executed(result: dg.ExecuteInProcessResult, step: str) -> bool:
    return any(event.step_key == step and event.event_type_value == "STEP_SUCCESS" for event in result.all_events)


def failed_checks(result: dg.ExecuteInProcessResult, asset: str) -> list:
    return [
        event.event_specific_data
        for event in result.all_events
        if event.event_type_value == "ASSET_CHECK_EVALUATION"
        and event.event_specific_data.asset_key == dg.AssetKey(asset)
        and not event.event_specific_data.passed
    ]


def market_rows(warehouse: Warehouse) -> list[dict]:
    return warehouse.read_market_daily(*ALL_TIME).to_dicts()


def count(warehouse: Warehouse, table: sa.Table) -> int:
    with warehouse.engine().connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_one_day_loads_one_row_and_a_rerun_changes_nothing(warehouse: Warehouse, instance) -> None:
    first = run_graph(DemoSource(), warehouse, instance, partition="2025-12-04")
    assert first.success, failure_text(first)
    rows = market_rows(warehouse)
    assert [row["record_date"] for row in rows] == [D(2025, 12, 4)]
    assert rows[0]["source"] == "demo-synthetic"
    assert rows[0]["run_id"] == first.run_id
    [metadata] = market_daily_metadata(first)
    assert metadata["rows_inserted"] == 1 and metadata["trading_days"] == 1
    assert metadata["source"] == "demo-synthetic (synthetic values, not market data)"
    assert "| 2025-12-04 |" in metadata["preview"]

    second = run_graph(DemoSource(), warehouse, instance, partition="2025-12-04")
    assert second.success, failure_text(second)
    assert market_rows(warehouse) == rows
    [metadata] = market_daily_metadata(second)
    assert (metadata["rows_inserted"], metadata["rows_updated"], metadata["rows_unchanged"]) == (0, 0, 1)


@pytest.mark.parametrize("partition", ["2025-12-06", "2025-10-03"], ids=["saturday", "national-day"])
def test_a_closed_day_succeeds_with_no_row(warehouse: Warehouse, instance, partition: str) -> None:
    result = run_graph(DemoSource(), warehouse, instance, partition=partition)
    assert result.success, failure_text(result)
    assert market_rows(warehouse) == []
    [metadata] = market_daily_metadata(result)
    assert metadata["trading_days"] == 0
    assert metadata["note"] == f"no ZCE trading day in {partition} .. {partition}; nothing to load"


def test_a_range_loads_one_row_per_session_in_one_run(warehouse: Warehouse, instance) -> None:
    result = run_graph(DemoSource(), warehouse, instance, partition_range=("2025-09-01", "2025-10-31"))
    assert result.success, failure_text(result)
    rows = market_rows(warehouse)
    assert [row["record_date"] for row in rows] == trading_calendar.snapshot_calendar().sessions_between(
        D(2025, 9, 1), D(2025, 10, 31)
    )
    assert {row["run_id"] for row in rows} == {result.run_id}
    # Dagster records every day of the range as materialized, closed days included.
    assert len(market_daily_metadata(result)) == 61


def test_real_source_values_arrive_unchanged_and_the_cost_follows_the_formula(warehouse: Warehouse, instance) -> None:
    world = RecordedWorld(D(2025, 11, 3), D(2025, 12, 5))
    with world.serving():
        result = run_graph(fast_akshare(), warehouse, instance, partition="2025-12-04")
    assert result.success, failure_text(result)
    [row] = market_rows(warehouse)
    sr = {r["trade_date"]: r for r in world.rows(Series.ZCE_SUGAR)}[D(2025, 12, 4)]
    fx = dict(world.fx_rows())[D(2025, 12, 4)] / 100
    ice = {r["trade_date"]: r for r in world.rows(Series.ICE_NO11)}[D(2025, 12, 4)]["close"]
    bdi = {r["trade_date"]: r for r in world.rows(Series.BDI)}[D(2025, 12, 4)]["bdi"]
    assert (row["sugar_close"], row["sugar_open"]) == (sr["close"], sr["open"])
    assert row["usd_cny_rate"] == pytest.approx(fx)
    assert row["bdi_index"] == bdi
    expected_cost = out_of_quota_landed_cost_cny_t(D(2025, 12, 4), ice, row["usd_cny_rate"], ImportCostConfig())
    assert row["import_cost_estimate"] == round(expected_cost, 2)
    assert row["source"] == "akshare"


def test_a_range_run_fetches_each_source_once(sqlite_warehouse: Warehouse, instance) -> None:
    world = RecordedWorld(D(2025, 10, 1), D(2025, 12, 5))
    with world.serving() as mock:
        result = run_graph(fast_akshare(), sqlite_warehouse, instance, partition_range=("2025-11-01", "2025-12-04"))
        requested = [call.request.url for call in mock.calls]
    assert result.success, failure_text(result)
    services = ["getDailyKLine", "getGlobalFuturesDailyKLine", "get_goods_index", "17833.html", "RMBQuery.do"]
    assert {service: sum(service in url for url in requested) for service in services} == dict.fromkeys(services, 1)
    assert len(market_rows(sqlite_warehouse)) == len(
        trading_calendar.snapshot_calendar().sessions_between(D(2025, 11, 1), D(2025, 12, 4))
    )


def test_cost_inputs_come_from_run_config(warehouse: Warehouse, instance) -> None:
    config = {"freight_usd_t": 55.0, "port_charges_cny_t": 180.0, "origin_premium_usc_lb": 0.4}
    result = run_graph(DemoSource(), warehouse, instance, partition="2025-12-04", market_daily_config=config)
    assert result.success, failure_text(result)
    [metadata] = market_daily_metadata(result)
    assert metadata["import_cost_inputs"] == config
    [row] = market_rows(warehouse)
    ice = DemoSource().fetch(Series.ICE_NO11, D(2025, 12, 4), D(2025, 12, 4)).frame["close"][0]
    expected = out_of_quota_landed_cost_cny_t(D(2025, 12, 4), ice, row["usd_cny_rate"], ImportCostConfig(**config))
    assert row["import_cost_estimate"] == round(expected, 2)


def test_a_trading_day_without_a_bar_fails_and_writes_no_row(warehouse: Warehouse, instance) -> None:
    world = RecordedWorld(
        D(2025, 11, 3),
        D(2025, 12, 5),
        edits={Series.ZCE_SUGAR: lambda rows: [r for r in rows if r["trade_date"] != D(2025, 12, 4)]},
    )
    with world.serving():
        result = run_graph(fast_akshare(), warehouse, instance, partition_range=("2025-12-03", "2025-12-04"))
    assert not result.success
    assert "no bar for trading day 2025-12-04 yet" in failure_text(result)
    assert market_rows(warehouse) == []


def test_when_sina_fails_eastmoney_serves_and_the_rows_say_so(warehouse: Warehouse, instance) -> None:
    world = RecordedWorld(D(2025, 11, 3), D(2025, 12, 5))
    with world.serving(sr="<html><body>456</body></html>"):
        result = run_graph(fast_akshare(), warehouse, instance, partition="2025-12-04")
    assert result.success, failure_text(result)
    [row] = market_rows(warehouse)
    assert row["sugar_provider"] == "eastmoney:futures_hist_em:白糖主连"
    assert row["ice_provider"] == "sina:futures_foreign_hist:RS"
    assert row["usd_cny_provider"] == "safe:currency_boc_safe:USD"
    assert row["sugar_close"] == {r["trade_date"]: r for r in world.rows(Series.ZCE_SUGAR)}[D(2025, 12, 4)]["close"]
    [warning] = failed_checks(result, "zce_sugar_bars")
    assert warning.check_name == "served_by_primary" and warning.severity == dg.AssetCheckSeverity.WARN
    [metadata] = market_daily_metadata(result)
    assert metadata["providers"]["sugar_provider"] == {"eastmoney:futures_hist_em:白糖主连": 1}


def test_an_implausible_stored_value_is_stopped_by_a_blocking_check(warehouse: Warehouse, instance) -> None:
    assert run_graph(DemoSource(), warehouse, instance, partition="2025-12-03").success
    # A raw value that never passed a source's contract (typed in by hand, or an older version).
    with warehouse.engine().begin() as conn:
        table = RAW_TABLES[Series.USD_CNY]
        conn.execute(
            sa.update(table)
            .where(table.c.provider == "demo-synthetic", table.c.trade_date == D(2025, 12, 4))
            .values(usd_cny=710.4)
        )
    result = run_graph(
        DemoSource(),
        warehouse,
        instance,
        partition="2025-12-04",
        assets=[product_asset("market_daily"), product_asset("sugar_import_margin")],
    )
    assert not result.success
    # FX fed in per 100 USD: the rate and the cost built from it are both out of range.
    assert "check plausible_ranges failed: 2 value(s) outside their plausible range; nothing written" in failure_text(
        result
    )
    failed = {check.check_name: check for check in failed_checks(result, "market_daily")}
    assert failed["day_over_day_moves"].severity == dg.AssetCheckSeverity.WARN  # a 100-fold jump, also flagged
    check = failed["plausible_ranges"]
    assert check.severity == dg.AssetCheckSeverity.ERROR
    assert check.metadata["offending_rows"].value == 2
    assert "| 2025-12-04 | usd_cny_rate | 710.4 | 5.5 .. 9 |" in check.metadata["rows"].value
    assert "| 2025-12-04 | import_cost_estimate |" in check.metadata["rows"].value
    assert [row["record_date"] for row in market_rows(warehouse)] == [D(2025, 12, 3)]
    assert not executed(result, "sugar_import_margin")


def test_market_daily_alone_rebuilds_from_the_raw_tables_without_fetching(
    sqlite_warehouse: Warehouse, instance
) -> None:
    def alone() -> dg.ExecuteInProcessResult:
        return dg.materialize(
            [product_asset("market_daily")],
            partition_key="2025-12-04",
            resources={"source": DemoSource(), "warehouse": sqlite_warehouse, "calendar": MarketCalendar()},
            instance=instance,
            raise_on_error=False,
        )

    empty = alone()
    assert not empty.success
    assert "the warehouse has no zce_sugar_bars rows from demo-synthetic on or after 2025-12-04" in failure_text(empty)
    assert "--select '*market_daily'" in failure_text(empty)

    assert run_graph(DemoSource(), sqlite_warehouse, instance, partition="2025-12-03").success
    rebuilt = alone()
    assert rebuilt.success, failure_text(rebuilt)
    assert [row["record_date"] for row in market_rows(sqlite_warehouse)] == [D(2025, 12, 3), D(2025, 12, 4)]


def test_every_row_traces_to_its_run_and_to_who_served_each_input(warehouse: Warehouse, instance) -> None:
    result = run_graph(DemoSource(), warehouse, instance, partition="2025-12-04")
    assert result.success, failure_text(result)
    [row] = market_rows(warehouse)
    assert row["run_id"] == result.run_id
    assert {row[name] for name in ("sugar_provider", "usd_cny_provider", "bdi_provider", "ice_provider")} == {
        "demo-synthetic"
    }
    assert (row["usd_cny_date"], row["bdi_date"], row["ice_date"]) == (D(2025, 12, 4),) * 3
    assert row["ice_usc_lb"] is not None
    [margin] = warehouse.read_import_margin(*ALL_TIME).to_dicts()
    assert (margin["run_id"], margin["market_daily_run_id"]) == (result.run_id, result.run_id)
    assert margin["ice_provider"] == "demo-synthetic" and margin["ice_date"] == D(2025, 12, 4)
    assert margin["landed_cost_out_of_quota"] == pytest.approx(row["import_cost_estimate"], abs=0.01)
