"""Every use of Dagster's private API, in one place, each tied to the pinned release by a test
(`test_dagster_private.py`) that fails when that release changes it.

1. A SQLite event log for the laptop instance that writes a range run's per-day events together.

A range run of `market_daily` records one materialization per day: about 7,600 for the whole
history. Dagster's SQLite event log stores each event on its own, opening two connections and
committing twice per event, which makes a full-history run on a laptop take over a minute of
pure bookkeeping. PostgreSQL storage writes such events in batches (DAGSTER_EVENT_BATCH_SIZE);
this class gives SQLite the same batch write, one transaction per shard. Everything else is
Dagster's own SqliteEventLogStorage. It builds on that class's internals, so it is tied to the
pinned dagster release (a test compares its records with the stock storage's). It also takes a
pool's slot only while the slot is still free, which Dagster's SQLite storage does not ensure
(`_claim_concurrency_slot`).

2. The scheduler's stored state, which the catch-up sensor reads (read only) to leave the nightly
tick's day to the schedule. Dagster has no public API for it.
"""

import os
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from dagster import DagsterEventType, EventLogEntry, Field, StringSource
from dagster._core.definitions.run_request import InstigatorType
from dagster._core.scheduler.instigation import InstigatorStatus, ScheduleInstigatorData, TickStatus
from dagster._core.storage.event_log.schema import ConcurrencySlotsTable
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._serdes import ConfigurableClassData
from dagster._utils.concurrency import ConcurrencySlotStatus

from sugars_dagster.errors import ConfigError
from sugars_dagster.settings import dagster_home

__all__ = [
    "BatchingSqliteEventLogStorage",
    "InstigatorStatus",
    "InstigatorType",
    "ScheduleInstigatorData",
    "TickStatus",
]


class BatchingSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log, with batched writes of asset materializations."""

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> "BatchingSqliteEventLogStorage":
        base_dir = config_value.get("base_dir")
        if not base_dir:
            home = dagster_home()
            if not home:
                raise ConfigError("BatchingSqliteEventLogStorage needs base_dir or DAGSTER_HOME")
            # Where Dagster's default SQLite storage keeps its event logs.
            base_dir = os.path.join(home, "history", "runs")
        return cls(base_dir=base_dir, inst_data=inst_data)

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        kinds = {event.get_dagster_event().event_type for event in events}
        if not events or kinds != {DagsterEventType.ASSET_MATERIALIZATION} or len({e.run_id for e in events}) > 1:
            super().store_event_batch(events)
            return
        with self.run_connection(events[0].run_id) as conn:
            conn.execute(self.prepare_insert_event_batch(events))
        # Mirrored into the index shard, one insert per event so each id pairs with its event,
        # all in one transaction. As in Dagster's PostgreSQL storage, the asset's record is
        # updated from the batch's last event.
        with self.index_transaction() as conn:
            event_ids = [conn.execute(self.prepare_insert_event(event)).inserted_primary_key[0] for event in events]
            self._store_asset_event_tags(conn, events, event_ids)
            self._store_asset_event(conn, events[-1], event_ids[-1])

    def _claim_concurrency_slot(self, concurrency_key: str, run_id: str, step_key: str) -> ConcurrencySlotStatus:
        """Take a free slot of the pool for the step, or report it blocked.

        Dagster's version selects a free slot, then takes it whatever happened in between:
        PostgreSQL's FOR UPDATE SKIP LOCKED keeps two processes from selecting the same slot, but
        SQLite ignores it, so two runs' steps could both take the one slot of `market_warehouse`
        and write at once. Here the take is one UPDATE that also requires the slot to be free,
        which SQLite's write lock serialises: the step that loses stays blocked and claims again
        at Dagster's next poll, as any blocked step does."""
        slots = ConcurrencySlotsTable.c
        free = sa.and_(slots.concurrency_key == concurrency_key, slots.step_key.is_(None), slots.deleted.is_(False))
        with self.index_connection() as conn:
            slot = conn.execute(sa.select(slots.id).where(free).limit(1)).fetchone()
            if slot is None:
                return ConcurrencySlotStatus.BLOCKED
            taken = conn.execute(
                ConcurrencySlotsTable.update()
                .values(run_id=run_id, step_key=step_key)
                .where(sa.and_(slots.id == slot[0], slots.step_key.is_(None)))
            ).rowcount
        return ConcurrencySlotStatus.CLAIMED if taken else ConcurrencySlotStatus.BLOCKED
