"""What every writing asset checks before it fetches or writes anything.

Dagster validates run config against the config schema before a run starts, but the schema it
derives from a pydantic `dg.Config` (1.13) carries types and defaults, not `ge`/`le` bounds: those
are only checked when the asset that declares the config builds it, after the source assets have
fetched and landed. So each writing asset validates the run's whole config first.
"""

from collections.abc import Mapping
from typing import Any

import dagster as dg
import pydantic

from sugars_dagster import clock
from sugars_dagster.defs.config import ImportMarginConfig, MarketDailyConfig
from sugars_dagster.errors import ConfigError
from sugars_dagster.sources.base import MarketSource
from sugars_dagster.warehouse.resource import Warehouse

# The config classes of the assets that take run config, by op name.
RUN_CONFIG_CLASSES: dict[str, type[dg.Config]] = {
    "market_daily": MarketDailyConfig,
    "sugar_import_margin": ImportMarginConfig,
}


def check_run_config(run_config: Mapping[str, Any]) -> None:
    """Raise ConfigError naming every value of the run's config outside its bounds."""
    ops = run_config.get("ops") or {}
    problems: list[str] = []
    for op_name, config_class in RUN_CONFIG_CLASSES.items():
        given = (ops.get(op_name) or {}).get("config")
        if given is None:
            continue
        try:
            config_class.model_validate(given)
        except pydantic.ValidationError as error:
            problems += [
                f"{op_name}.{'.'.join(map(str, issue['loc']))} = {issue['input']!r}: {issue['msg']}"
                for issue in error.errors()
            ]
    if problems:
        raise ConfigError("run config refused before anything was fetched or written: " + "; ".join(problems))


def before_writing(context: dg.AssetExecutionContext, source: MarketSource, warehouse: Warehouse) -> None:
    """Refuse the run before the asset fetches or writes: bad run config, or a source of the
    other kind (synthetic or real) than the warehouse holds."""
    check_run_config(context.run.run_config)
    warehouse.check_kind(source.label, source.synthetic)


def claim_warehouse(source: MarketSource, warehouse: Warehouse) -> None:
    """Record the warehouse's kind right before the first write (a run that fails before writing
    claims nothing), refusing, as before fetching, a source of the other kind."""
    warehouse.claim_kind(source.label, source.synthetic, clock.now())
