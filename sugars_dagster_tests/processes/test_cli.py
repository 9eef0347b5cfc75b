"""The README's CLI commands, run as a user runs them."""

import datetime as dt

import dagster as dg
import pytest
import sqlalchemy as sa

from sugars_dagster.market.calendar import trading as trading_calendar
from sugars_dagster.warehouse.resource import Warehouse
from sugars_dagster_tests.support.cli import FAST_EVENT_SETTINGS, CliInstance, instance_at, postgres_instance_yaml
from sugars_dagster_tests.support.definitions import market_day_partitions
from sugars_dagster_tests.support.processes import ROOT

pytestmark = pytest.mark.cli


def sqlite_rows(root) -> list[tuple]:
    warehouse = Warehouse(url=f"sqlite:///{root / 'data' / 'warehouse.sqlite'}")
    with warehouse.engine().connect() as conn:
        return conn.execute(sa.text("SELECT record_date, run_id FROM market_daily ORDER BY record_date")).all()


def test_one_day_twice_leaves_one_row_and_closed_days_none(tmp_path) -> None:
    cli = CliInstance.create(tmp_path)
    for _ in range(2):
        completed = cli.materialize("--partition", "2025-12-04")
        assert completed.returncode == 0, completed.stderr[-3000:]
    rows = sqlite_rows(tmp_path)
    assert [row[0] for row in rows] == ["2025-12-04"]

    for closed in ("2025-12-06", "2025-10-03"):  # Saturday, National Day
        completed = cli.materialize("--partition", closed)
        assert completed.returncode == 0, completed.stderr[-3000:]
    assert sqlite_rows(tmp_path) == rows


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_ten_years_load_one_row_per_session_in_one_run(tmp_path, request: pytest.FixtureRequest, backend: str) -> None:
    if backend == "postgres":
        warehouse_url = request.getfixturevalue("postgres_database")
        storage_url = request.getfixturevalue("postgres_database_2")
        cli = CliInstance.create(
            tmp_path,
            instance_yaml=postgres_instance_yaml(storage_url),
            SUGARS_WAREHOUSE_URL=warehouse_url,
            **FAST_EVENT_SETTINGS,
        )
    else:  # the laptop's instance (dagster.yaml) and the default SQLite warehouse
        cli = CliInstance.create(tmp_path, instance_yaml=(ROOT / "dagster.yaml").read_text(), **FAST_EVENT_SETTINGS)
        warehouse_url = f"sqlite:///{tmp_path / 'data' / 'warehouse.sqlite'}"
    completed = cli.materialize("--partition-range", "2016-01-01...2025-12-31")
    assert completed.returncode == 0, completed.stderr[-3000:]

    with Warehouse(url=warehouse_url).engine().connect() as conn:
        dates, runs, first, last = conn.execute(
            sa.text("SELECT COUNT(*), COUNT(DISTINCT run_id), MIN(record_date), MAX(record_date) FROM market_daily")
        ).one()
    sessions = trading_calendar.snapshot_calendar().sessions_between(dt.date(2016, 1, 1), dt.date(2025, 12, 31))
    assert (dates, runs) == (len(sessions), 1)
    assert (str(first), str(last)) == (str(sessions[0]), str(sessions[-1]))

    with instance_at(cli.home) as instance:
        assert instance.get_runs_count() == 1
        statuses = instance.get_status_by_partition(
            dg.AssetKey("market_daily"), ["2016-01-01", "2020-06-15", "2025-12-31"], market_day_partitions()
        )
    assert set(statuses.values()) == {dg.AssetPartitionStatus.MATERIALIZED}
