"""A run that must be refused is refused before it fetches or writes anything: a source of the
other kind (synthetic or real) than the warehouse holds, an incompatible table, bad run config."""

import datetime as dt
from typing import ClassVar

import dagster as dg
import polars as pl
import pytest
import sqlalchemy as sa

from sugars_dagster.market.series import Series, SeriesFrame
from sugars_dagster.sources.demo_source import DemoSource
from sugars_dagster.warehouse.resource import Warehouse
from sugars_dagster.warehouse.tables import market_daily, warehouse_kind
from sugars_dagster_tests.support.recorded_world import RecordedWorld, fast_akshare
from sugars_dagster_tests.support.runs import failure_text, run_graph

D = dt.date
T0 = dt.datetime(2025, 12, 5, 1, 0, tzinfo=dt.UTC)
DAY = "2025-12-04"


class RealLabelledDemo(DemoSource):
    """Stands for a real source offline: the demo's numbers, labelled and flagged as real."""

    @property
    def label(self) -> str:
        return "akshare"

    @property
    def synthetic(self) -> bool:
        return False


class RecordingDemo(DemoSource):
    """The demo source, noting every call that would reach a source."""

    calls: ClassVar[list[str]] = []

    def fetch(self, series, first, last, log=None) -> SeriesFrame:
        RecordingDemo.calls.append(series.value)
        return super().fetch(series, first, last, log)

    def fetch_trading_days(self, today, log=None) -> list[dt.date]:
        RecordingDemo.calls.append("calendar")
        return super().fetch_trading_days(today, log)


def row_counts(warehouse: Warehouse) -> dict[str, int]:
    """Rows of every table in the database, whoever created it."""
    engine = warehouse.engine()
    with engine.connect() as conn:
        return {
            name: conn.execute(sa.select(sa.func.count()).select_from(sa.table(name))).scalar_one()
            for name in sa.inspect(engine).get_table_names()
        }


def real_warehouse(warehouse: Warehouse, instance: dg.DagsterInstance) -> None:
    world = RecordedWorld(D(2025, 11, 3), D(2025, 12, 5))
    with world.serving():
        result = run_graph(fast_akshare(), warehouse, instance, partition=DAY)
    assert result.success, failure_text(result)


def refused_without_writing(source: DemoSource, warehouse: Warehouse, instance: dg.DagsterInstance, **options) -> str:
    before = row_counts(warehouse)
    result = run_graph(source, warehouse, instance, partition=DAY, **options)
    assert not result.success
    assert row_counts(warehouse) == before
    return failure_text(result)


def test_a_demo_run_into_a_real_warehouse_is_refused_before_writing(sqlite_warehouse: Warehouse, instance) -> None:
    real_warehouse(sqlite_warehouse, instance)
    message = refused_without_writing(DemoSource(), sqlite_warehouse, instance)
    assert "this warehouse holds real market data (akshare)" in message
    assert "demo-synthetic source writes synthetic numbers" in message
    assert "point SUGARS_WAREHOUSE_URL at another database, e.g. the default sqlite:///data/warehouse.sqlite" in message


def test_a_real_run_into_a_demo_warehouse_is_refused_before_writing(sqlite_warehouse: Warehouse, instance) -> None:
    assert run_graph(DemoSource(), sqlite_warehouse, instance, partition=DAY).success
    message = refused_without_writing(RealLabelledDemo(), sqlite_warehouse, instance)
    assert "this warehouse holds synthetic demo numbers (demo-synthetic)" in message
    assert "the akshare source writes real market data" in message
    assert "point SUGARS_WAREHOUSE_URL at the real warehouse or at a new database" in message


def test_the_first_run_claims_the_warehouse_for_its_kind(sqlite_warehouse: Warehouse, instance) -> None:
    assert run_graph(DemoSource(), sqlite_warehouse, instance, partition=DAY).success
    with sqlite_warehouse.engine().connect() as conn:
        [claim] = conn.execute(sa.select(warehouse_kind.c.kind, warehouse_kind.c.source)).all()
    assert tuple(claim) == ("synthetic", "demo-synthetic")
    assert run_graph(DemoSource(), sqlite_warehouse, instance, partition=DAY).success


def _landed(provider: str) -> SeriesFrame:
    frame = pl.DataFrame({"trade_date": [D(2025, 12, 1)], "bdi": [2400.0]}, schema_overrides={"trade_date": pl.Date})
    return SeriesFrame(Series.BDI, provider, frame, synthetic=provider == "demo-synthetic")


def _forget_the_kind(warehouse: Warehouse) -> None:
    """What a warehouse filled before the kind was recorded looks like."""
    with warehouse.engine().begin() as conn:
        conn.execute(sa.text(f"DROP TABLE {warehouse_kind.name}"))


def test_a_warehouse_without_a_kind_row_takes_its_kind_from_its_rows(
    sqlite_warehouse: Warehouse, tmp_path, instance
) -> None:
    sqlite_warehouse.land_series(_landed("sina:spot_goods:BDI"), "old-run", T0)
    _forget_the_kind(sqlite_warehouse)
    message = refused_without_writing(DemoSource(), sqlite_warehouse, instance)
    assert "this warehouse holds real market data (sina:spot_goods:BDI)" in message
    assert warehouse_kind.name not in sa.inspect(sqlite_warehouse.engine()).get_table_names()

    demo = Warehouse(url=f"sqlite:///{tmp_path / 'demo.sqlite'}")
    demo.land_series(_landed("demo-synthetic"), "old-run", T0)
    _forget_the_kind(demo)
    message = refused_without_writing(RealLabelledDemo(), demo, instance)
    assert "this warehouse holds synthetic demo numbers (demo-synthetic)" in message
    assert run_graph(DemoSource(), demo, instance, partition=DAY).success


def test_market_daily_rows_of_unknown_origin_make_a_real_warehouse(sqlite_warehouse: Warehouse, instance) -> None:
    with sqlite_warehouse.engine().begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE market_daily (record_date DATE PRIMARY KEY, sugar_close FLOAT NOT NULL,"
                " sugar_open FLOAT NOT NULL, usd_cny_rate FLOAT NOT NULL, bdi_index FLOAT NOT NULL,"
                " import_cost_estimate FLOAT NOT NULL, updated_at TIMESTAMP NOT NULL)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO market_daily VALUES ('2025-11-28', 5300, 5290, 7.08, 2300, 6000, '2025-11-29 02:00:00')"
            )
        )
    message = refused_without_writing(DemoSource(), sqlite_warehouse, instance)
    assert "this warehouse holds real market data (unknown source)" in message
    # Refused before the provenance columns were added or any table created.
    assert sa.inspect(sqlite_warehouse.engine()).get_table_names() == [market_daily.name]
    assert "source" not in {
        column["name"] for column in sa.inspect(sqlite_warehouse.engine()).get_columns("market_daily")
    }


def test_an_incompatible_market_daily_is_refused_and_no_table_is_created(sqlite_warehouse: Warehouse, instance) -> None:
    with sqlite_warehouse.engine().begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE market_daily (record_date VARCHAR(10) PRIMARY KEY, sugar_close FLOAT, sugar_open FLOAT,"
                " usd_cny_rate FLOAT, bdi_index FLOAT, import_cost_estimate FLOAT, updated_at TIMESTAMP)"
            )
        )
    RecordingDemo.calls.clear()
    message = refused_without_writing(RecordingDemo(), sqlite_warehouse, instance)
    assert "table 'market_daily' exists but cannot be written safely" in message
    assert "column 'record_date' is VARCHAR(10), expected Date" in message
    assert sa.inspect(sqlite_warehouse.engine()).get_table_names() == [market_daily.name]
    assert RecordingDemo.calls == []


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({"freight_usd_t": -5.0}, "market_daily.freight_usd_t = -5.0"),
        ({"bdi_max_staleness_days": 61}, "market_daily.bdi_max_staleness_days = 61"),
        ({"checks": {"max_move_sugar_pct": -1.0}}, "market_daily.checks.max_move_sugar_pct = -1.0"),
    ],
    ids=["negative-freight", "staleness-above-bound", "nested-check-limit"],
)
def test_out_of_range_run_config_is_refused_before_any_fetch(
    sqlite_warehouse: Warehouse, instance, config: dict, named: str
) -> None:
    RecordingDemo.calls.clear()
    result = run_graph(RecordingDemo(), sqlite_warehouse, instance, partition=DAY, market_daily_config=config)
    assert not result.success
    assert RecordingDemo.calls == []
    assert not any(row_counts(sqlite_warehouse).values())
    assert "run config refused before anything was fetched or written" in failure_text(result)
    assert named in failure_text(result)
