"""The batching SQLite event log records exactly what Dagster's own SQLite event log records, and
hands a pool's slot to one step at a time when processes race for it."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import dagster as dg
import pytest
import sqlalchemy as sa

from sugars_dagster.dagster_private import BatchingSqliteEventLogStorage, ConcurrencySlotStatus, SqliteEventLogStorage
from sugars_dagster.sources.demo_source import DemoSource
from sugars_dagster.warehouse.resource import Warehouse
from sugars_dagster_tests.support.cli import instance_at
from sugars_dagster_tests.support.definitions import market_day_partitions
from sugars_dagster_tests.support.processes import ROOT
from sugars_dagster_tests.support.runs import failure_text, run_graph

MARKET_DAILY = dg.AssetKey("market_daily")
SAMPLE = ["2025-10-31", "2025-11-01", "2025-11-14", "2025-11-28", "2025-11-30"]


def records_after_a_range_run(tmp_path, instance_yaml: str) -> dict:
    home = tmp_path / "home"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text(instance_yaml)
    warehouse = Warehouse(url=f"sqlite:///{tmp_path / 'warehouse.sqlite'}")
    with instance_at(home) as instance:
        result = run_graph(DemoSource(), warehouse, instance, partition_range=("2025-10-31", "2025-11-30"))
        assert result.success, failure_text(result)
        per_day = {
            key: instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=MARKET_DAILY, asset_partitions=[key]), limit=10
            ).records
            for key in SAMPLE
        }
        return {
            "storage": type(instance.event_log_storage).__name__,
            "materialized": sorted(instance.get_materialized_partitions(MARKET_DAILY)),
            "status": instance.get_status_by_partition(MARKET_DAILY, SAMPLE, market_day_partitions()),
            "latest_partition": instance.get_latest_materialization_event(MARKET_DAILY).dagster_event.partition,
            "per_day": {
                key: [(r.partition_key, r.run_id == result.run_id) for r in records] for key, records in per_day.items()
            },
            # Values carry run-specific ids (code and data versions); the keys must match.
            "tag_keys": {key: sorted(records[0].asset_materialization.tags) for key, records in per_day.items()},
        }


def test_it_records_what_the_stock_sqlite_event_log_records(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "1000")  # as scripts/dev sets it
    stock = records_after_a_range_run(tmp_path / "stock", "telemetry:\n  enabled: false\n")
    batching = records_after_a_range_run(tmp_path / "batching", (ROOT / "dagster.yaml").read_text())
    assert (stock.pop("storage"), batching.pop("storage")) == ("SqliteEventLogStorage", "BatchingSqliteEventLogStorage")
    assert len(batching["materialized"]) == 31
    assert batching == stock


def test_without_a_base_dir_it_needs_dagster_home(monkeypatch) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    with pytest.raises(Exception, match="needs base_dir or DAGSTER_HOME"):
        BatchingSqliteEventLogStorage.from_config_value(None, {})


@contextmanager
def selects_before_updates(contenders: int) -> Iterator[None]:
    """The unlucky interleaving, every time: each contender has picked its free slot before any
    of them takes one (a barrier in front of each UPDATE of the slots table)."""
    ready = threading.Barrier(contenders, timeout=10)

    def before(conn, cursor, statement: str, *args) -> None:  # noqa: ANN001 - SQLAlchemy's event signature
        if statement.lstrip().upper().startswith("UPDATE CONCURRENCY_SLOTS"):
            # A contender that found no free slot never comes here; the others then go on.
            with suppress(threading.BrokenBarrierError):
                ready.wait()

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", before)
    try:
        yield
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", before)


def claims_won_in_a_race(storage: type[SqliteEventLogStorage], base_dir: str, contenders: int = 2) -> int:
    """How many of `contenders` take the one slot of a pool when all pick the free slot before
    any takes it. Each has its own storage object on the same files, as separate processes do
    (one storage object serialises its own threads)."""
    storages = [storage(base_dir=base_dir) for _ in range(contenders)]
    storages[0].set_concurrency_slots("market_warehouse", 1)
    won: list[bool] = []

    def claim(contender: int) -> None:
        status = storages[contender]._claim_concurrency_slot("market_warehouse", f"run-{contender}", "step")
        won.append(status == ConcurrencySlotStatus.CLAIMED)

    with selects_before_updates(contenders):
        threads = [threading.Thread(target=claim, args=(contender,)) for contender in range(contenders)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return sum(won)


def test_one_step_takes_a_pool_of_one_even_when_two_pick_the_same_free_slot(tmp_path) -> None:
    # Dagster's own SQLite claim: both take it, and two steps of the pool run at once.
    assert claims_won_in_a_race(SqliteEventLogStorage, str(tmp_path / "stock")) == 2
    assert claims_won_in_a_race(BatchingSqliteEventLogStorage, str(tmp_path / "batching")) == 1
