"""Each use of Dagster's private API (all of them in sugars_dagster/dagster_private.py), pinned to
the shape the code relies on: a Dagster release that renames or reshapes one fails here, by name,
before it fails in a run. The behaviour itself is tested by test_dagster_storage.py (the batching
event log) and the catch-up sensor's hand-off tests (the scheduler's state)."""

import ast
import inspect

import dagster as dg
import pytest

from sugars_dagster import dagster_private
from sugars_dagster.dagster_private import (
    BatchingSqliteEventLogStorage,
    InstigatorStatus,
    InstigatorType,
    ScheduleInstigatorData,
    TickStatus,
)

# (method of Dagster's SqliteEventLogStorage, the parameters the batching storage passes)
STORAGE_METHODS = [
    ("run_connection", ["run_id"]),
    ("index_transaction", []),
    ("prepare_insert_event_batch", ["events"]),
    ("prepare_insert_event", ["event"]),
    ("_store_asset_event_tags", ["conn", "events", "event_ids"]),
    ("_store_asset_event", ["conn", "event", "event_id"]),
    ("store_event_batch", ["events"]),
    ("__init__", ["base_dir", "inst_data"]),
    # replaced, not called: Dagster's claim_concurrency_slot calls it with these
    ("_claim_concurrency_slot", ["concurrency_key", "run_id", "step_key"]),
]


def test_the_pinned_release_is_the_one_these_shapes_were_read_from() -> None:
    assert dg.__version__ == "1.13.27"


@pytest.mark.parametrize(("method", "parameters"), STORAGE_METHODS, ids=[name for name, _ in STORAGE_METHODS])
def test_the_sqlite_event_log_still_has_what_the_batching_storage_calls(method: str, parameters: list[str]) -> None:
    base = BatchingSqliteEventLogStorage.__mro__[1]
    assert base.__name__ == "SqliteEventLogStorage"
    signature = inspect.signature(getattr(base, method))
    assert [name for name in signature.parameters if name != "self"] == parameters


def test_the_concurrency_slots_table_still_has_the_columns_the_claim_uses() -> None:
    from sugars_dagster.dagster_private import ConcurrencySlotsTable, ConcurrencySlotStatus

    assert {"id", "concurrency_key", "run_id", "step_key", "deleted"} <= set(ConcurrencySlotsTable.c.keys())
    assert {status.name for status in ConcurrencySlotStatus} >= {"CLAIMED", "BLOCKED"}
    caller = inspect.getsource(BatchingSqliteEventLogStorage.__mro__[1].claim_concurrency_slot)
    assert "self._claim_concurrency_slot(" in caller


def test_the_schedulers_state_still_reads_as_the_catchup_sensor_reads_it() -> None:
    assert InstigatorType.SCHEDULE.value == "SCHEDULE"
    assert InstigatorStatus.STOPPED.value == "STOPPED"
    assert TickStatus.STARTED.value == "STARTED"
    data = ScheduleInstigatorData(cron_schedule="0 2 * * *", start_timestamp=1.0, last_iteration_timestamp=2.0)
    assert (data.start_timestamp, data.last_iteration_timestamp) == (1.0, 2.0)
    assert "instigator_type" in inspect.signature(dg.DagsterInstance.all_instigator_state).parameters
    assert {"limit"} <= set(inspect.signature(dg.DagsterInstance.get_ticks).parameters)


def test_nothing_else_is_taken_from_dagsters_private_modules() -> None:
    # Every name imported from a private module of Dagster (`dagster._...`), read from the source,
    # so that objects without a module of their own (a SQLAlchemy table) are counted too.
    tree = ast.parse(inspect.getsource(dagster_private))
    private = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dagster._")
        for alias in node.names
    }
    assert private == {
        "SqliteEventLogStorage",
        "ConcurrencySlotsTable",
        "ConcurrencySlotStatus",
        "ConfigurableClassData",
        "InstigatorType",
        "InstigatorStatus",
        "ScheduleInstigatorData",
        "TickStatus",
    }
