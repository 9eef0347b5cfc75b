"""The code location as Dagster loads it, built from explicit settings rather than the environment.

`product_definitions()` is what `sugars_dagster.definitions.defs` builds with nothing set; pass a
`DefinitionSettings` (or an environment for the resources) to see another setting take effect.
"""

import functools
from collections.abc import Mapping

import dagster as dg

from sugars_dagster.defs.build import build_definitions
from sugars_dagster.defs.partitions import build_market_day_partitions
from sugars_dagster.defs.resources import resources_from_env
from sugars_dagster.settings import DefinitionSettings

# The product's defaults: what an unset environment gives.
DEFAULTS = DefinitionSettings()


def product_definitions(
    settings: DefinitionSettings = DEFAULTS, environ: Mapping[str, str] | None = None
) -> dg.Definitions:
    """The code location for `settings`, its resources built from `environ` (none set by default)."""
    return _built(settings, tuple(sorted((environ or {}).items())))


@functools.cache
def _built(settings: DefinitionSettings, environ: tuple[tuple[str, str], ...]) -> dg.Definitions:
    # Built once per settings and environment: the definitions are immutable, and building them
    # for each test would cost the suite seconds.
    return build_definitions(settings, resources_from_env(dict(environ)))


def market_day_partitions(settings: DefinitionSettings = DEFAULTS) -> dg.DailyPartitionsDefinition:
    return build_market_day_partitions(settings.partitions_start)


def product_asset(name: str, settings: DefinitionSettings = DEFAULTS) -> dg.AssetsDefinition:
    """One asset of the code location (`market_daily`, `sugar_import_margin`, ...), without the
    code location's resources, so that a run can bind its own."""
    [asset] = [asset for asset in product_graph(settings) if asset.key == dg.AssetKey(name)]
    return asset


def product_graph(settings: DefinitionSettings = DEFAULTS) -> list[dg.AssetsDefinition]:
    """The whole graph, sources to backups, as `market_daily_job` runs it."""
    return list(product_definitions(settings).assets or [])
