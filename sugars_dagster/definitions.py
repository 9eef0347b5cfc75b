"""The code location: assets, the job, the schedule, the sensors and their resources."""

import dagster as dg

from sugars_dagster.defs.assets.export import market_daily_export, warehouse_retention
from sugars_dagster.defs.assets.import_margin import sugar_import_margin
from sugars_dagster.defs.assets.market_daily import market_daily
from sugars_dagster.defs.assets.raw_series import raw_series_assets
from sugars_dagster.defs.assets.trading_calendar import mainland_trading_calendar
from sugars_dagster.defs.jobs import market_daily_job
from sugars_dagster.defs.resources import (
    alerter_from_env,
    calendar_from_env,
    catchup_policy_from_env,
    export_target_from_env,
    retention_from_env,
    source_from_env,
    warehouse_from_env,
)
from sugars_dagster.defs.schedules import market_daily_schedule
from sugars_dagster.defs.sensors.catchup import market_daily_catchup_sensor
from sugars_dagster.defs.sensors.failure_alerts import market_daily_failure_alert_sensor
from sugars_dagster.defs.sensors.freshness import market_daily_freshness_sensor

defs = dg.Definitions(
    # Each asset links to the file that defines it (the UI's "code references").
    assets=dg.with_source_code_references(
        [
            mainland_trading_calendar,
            *raw_series_assets,
            market_daily,
            sugar_import_margin,
            market_daily_export,
            warehouse_retention,
        ]
    ),
    jobs=[market_daily_job],
    schedules=[market_daily_schedule],
    sensors=[market_daily_catchup_sensor, market_daily_failure_alert_sensor, market_daily_freshness_sensor],
    resources={
        "source": source_from_env(),
        "warehouse": warehouse_from_env(),
        "catchup": catchup_policy_from_env(),
        "alerter": alerter_from_env(),
        "export": export_target_from_env(),
        "retention": retention_from_env(),
        "calendar": calendar_from_env(),
    },
    # One process for the whole run: a range run's steps share nothing worth a process each,
    # and a process per step costs seconds.
    executor=dg.in_process_executor,
)
