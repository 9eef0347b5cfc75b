"""Each use of Dagster's private API (all of them in sugars_dagster/dagster_private.py), pinned to
the shape the code relies on: a Dagster release that renames or reshapes one fails here, by name,
before it fails in a run. The behaviour itself is tested by test_dagster_storage.py (the batching
event log) and the catch-up sensor's hand-off tests (the scheduler's state)."""

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
]


def test_the_pinned_release_is_the_one_these_shapes_were_read_from() -> None:
    assert dg.__version__ == "1.13.27"


@pytest.mark.parametrize(("method", "parameters"), STORAGE_METHODS, ids=[name for name, _ in STORAGE_METHODS])
def test_the_sqlite_event_log_still_has_what_the_batching_storage_calls(method: str, parameters: list[str]) -> None:
    base = BatchingSqliteEventLogStorage.__mro__[1]
    assert base.__name__ == "SqliteEventLogStorage"
    signature = inspect.signature(getattr(base, method))
    assert [name for name in signature.parameters if name != "self"] == parameters


def test_the_schedulers_state_still_reads_as_the_catchup_sensor_reads_it() -> None:
    assert InstigatorType.SCHEDULE.value == "SCHEDULE"
    assert InstigatorStatus.STOPPED.value == "STOPPED"
    assert TickStatus.STARTED.value == "STARTED"
    data = ScheduleInstigatorData(cron_schedule="0 2 * * *", start_timestamp=1.0, last_iteration_timestamp=2.0)
    assert (data.start_timestamp, data.last_iteration_timestamp) == (1.0, 2.0)
    assert "instigator_type" in inspect.signature(dg.DagsterInstance.all_instigator_state).parameters
    assert {"limit"} <= set(inspect.signature(dg.DagsterInstance.get_ticks).parameters)


def test_nothing_else_is_taken_from_dagsters_private_modules() -> None:
    # Defined in Dagster's modules and not exported by `dagster` itself.
    private = {
        name
        for name, value in vars(dagster_private).items()
        if getattr(value, "__module__", "").startswith("dagster") and not hasattr(dg, name)
    }
    assert private == {
        "SqliteEventLogStorage",
        "ConfigurableClassData",
        "InstigatorType",
        "InstigatorStatus",
        "ScheduleInstigatorData",
        "TickStatus",
    }
