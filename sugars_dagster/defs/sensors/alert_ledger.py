"""Which market days an alert has already gone out for, so that a day that keeps failing is
reported once, not once per retry, and the freshness alarm does not repeat a failure alert.

The record is the failed run itself: the failure sensor tags each run it alerted about. A day
counts as alerted while an alerted failed run covers it and the day has not loaded since; once
it loads, a later failure is a new problem and alerts again.
"""

import datetime as dt

import dagster as dg

from sugars_dagster.defs.partitions import run_days

ALERTED_TAG = "sugars/alerted"
MARKET_DAILY = dg.AssetKey("market_daily")
# Alerted runs older than this are not consulted: a day failing for two months has been seen.
LEDGER_SPAN = dt.timedelta(days=60)


def alerted_days(instance: dg.DagsterInstance, days: list[dt.date], now: dt.datetime) -> dict[dt.date, str]:
    """Among `days`, those an earlier alert covers and that have not loaded since: day -> run id."""
    wanted = set(days)
    covering: dict[dt.date, tuple[str, float]] = {}
    records = instance.get_run_records(
        filters=dg.RunsFilter(
            statuses=[dg.DagsterRunStatus.FAILURE], tags={ALERTED_TAG: "true"}, created_after=now - LEDGER_SPAN
        ),
        limit=1000,
    )
    for record in records:  # newest first: keep the latest alert per day
        failed_at = record.end_time or record.create_timestamp.timestamp()
        for day in wanted.intersection(run_days(record.dagster_run.tags)):
            covering.setdefault(day, (record.dagster_run.run_id, failed_at))
    still_failing = {}
    for day, (run_id, failed_at) in covering.items():
        loaded_since = instance.fetch_materializations(
            dg.AssetRecordsFilter(
                asset_key=MARKET_DAILY, asset_partitions=[day.isoformat()], after_timestamp=failed_at
            ),
            limit=1,
        ).records
        if not loaded_since:
            still_failing[day] = run_id
    return still_failing


def mark_alerted(instance: dg.DagsterInstance, run_id: str) -> None:
    instance.add_run_tags(run_id, {ALERTED_TAG: "true"})
