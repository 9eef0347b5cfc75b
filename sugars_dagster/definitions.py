"""The code location: assets, the job, the nightly schedule and their resources."""

import dagster as dg

from sugars_dagster.assets.market_daily import market_daily
from sugars_dagster.assets.raw_series import raw_series_assets
from sugars_dagster.jobs import market_daily_job
from sugars_dagster.resources import source_from_env, warehouse_from_env
from sugars_dagster.schedules import market_daily_schedule

defs = dg.Definitions(
    assets=[*raw_series_assets, market_daily],
    jobs=[market_daily_job],
    schedules=[market_daily_schedule],
    resources={"source": source_from_env(), "warehouse": warehouse_from_env()},
    # One process for the whole run: a range run's steps share nothing worth a process each,
    # and a process per step costs seconds.
    executor=dg.in_process_executor,
)
