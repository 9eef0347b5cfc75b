"""The code location built from its settings: the partitions, assets, job, schedule and sensors
that the definition-shaping settings fix, with the resources they run with."""

from collections.abc import Mapping

import dagster as dg

from sugars_dagster.defs.assets.export import build_market_daily_export_asset, warehouse_retention
from sugars_dagster.defs.assets.import_margin import build_sugar_import_margin_asset
from sugars_dagster.defs.assets.market_daily import build_market_daily_asset
from sugars_dagster.defs.assets.raw_series import build_raw_series_assets
from sugars_dagster.defs.assets.trading_calendar import mainland_trading_calendar
from sugars_dagster.defs.jobs import market_daily_job
from sugars_dagster.defs.partitions import build_market_day_partitions
from sugars_dagster.defs.schedules import build_market_daily_schedule
from sugars_dagster.defs.sensors.catchup import build_catchup_sensor
from sugars_dagster.defs.sensors.failure_alerts import market_daily_failure_alert_sensor
from sugars_dagster.defs.sensors.freshness import market_daily_freshness_sensor
from sugars_dagster.settings import DefinitionSettings


def build_assets(partitions: dg.TimeWindowPartitionsDefinition) -> list[dg.AssetsDefinition]:
    """The whole graph, from the sources to the backups, over these market-day partitions."""
    return [
        mainland_trading_calendar,
        *build_raw_series_assets(partitions),
        build_market_daily_asset(partitions),
        build_sugar_import_margin_asset(partitions),
        build_market_daily_export_asset(partitions),
        warehouse_retention,
    ]


def build_definitions(settings: DefinitionSettings, resources: Mapping[str, object]) -> dg.Definitions:
    """The code location for these settings, its assets and sensors bound to `resources`."""
    partitions = build_market_day_partitions(settings.partitions_start)
    return dg.Definitions(
        # Each asset links to the file that defines it (the UI's "code references").
        assets=dg.with_source_code_references(build_assets(partitions)),
        jobs=[market_daily_job],
        schedules=[build_market_daily_schedule(settings.nightly_load_time)],
        sensors=[
            build_catchup_sensor(partitions, settings.nightly_load_time, settings.catchup_interval_seconds),
            market_daily_failure_alert_sensor,
            market_daily_freshness_sensor,
        ],
        resources=resources,
        # One process for the whole run: a range run's steps share nothing worth a process each,
        # and a process per step costs seconds.
        executor=dg.in_process_executor,
    )
