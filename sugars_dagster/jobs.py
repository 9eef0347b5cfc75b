"""Jobs: the whole graph, sources through `market_daily`."""

import dagster as dg

from sugars_dagster.assets.market_daily import market_daily

market_daily_job = dg.define_asset_job(
    "market_daily_job",
    selection=dg.AssetSelection.assets(market_daily).upstream(),
    description="Fetch every source series and rebuild market_daily for the given day(s).",
)
