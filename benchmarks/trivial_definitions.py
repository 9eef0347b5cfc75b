"""Dagster's own floor, materialized through the same CLI and instance as the product:

- `trivial`: one asset that does nothing;
- `*shaped_daily`: no-op assets and checks in the shape of `*market_daily` (four unpartitioned
  sources with two checks each, one daily-partitioned asset with six checks), so that what
  Dagster costs for this graph's shape can be told from what the product's own work costs.
"""

import dagster as dg

from sugars_dagster.defs.partitions import build_market_day_partitions
from sugars_dagster.settings import DefinitionSettings


@dg.asset
def trivial() -> dg.MaterializeResult:
    return dg.MaterializeResult()


def _noop_source(name: str) -> dg.AssetsDefinition:
    checks = [dg.AssetCheckSpec(check, asset=name) for check in ("first_check", "second_check")]

    @dg.asset(name=name, check_specs=checks, backfill_policy=dg.BackfillPolicy.single_run())
    def _source() -> dg.MaterializeResult:
        return dg.MaterializeResult(
            check_results=[dg.AssetCheckResult(check_name=spec.name, passed=True) for spec in checks]
        )

    return _source


SOURCES = [_noop_source(f"shaped_source_{number}") for number in range(4)]
DAILY_CHECKS = [dg.AssetCheckSpec(f"check_{number}", asset="shaped_daily") for number in range(6)]


@dg.asset(
    # The product's partitions with its default first day.
    partitions_def=build_market_day_partitions(DefinitionSettings().partitions_start),
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=SOURCES,
    check_specs=DAILY_CHECKS,
)
def shaped_daily() -> dg.MaterializeResult:
    return dg.MaterializeResult(
        check_results=[dg.AssetCheckResult(check_name=spec.name, passed=True) for spec in DAILY_CHECKS]
    )


defs = dg.Definitions(assets=[trivial, *SOURCES, shaped_daily], executor=dg.in_process_executor)
