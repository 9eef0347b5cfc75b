"""Jobs: the whole graph, sources through `market_daily`."""

import dagster as dg

from sugars_dagster.assets.market_daily import market_daily

# Unattended runs (schedule, catch-up sensor) retry a failed step after about 30 s, 1 min and
# 2 min: a timeout, Sina's rate limit or a warehouse restart usually passes by then. Errors a
# retry cannot fix fail at once (see assets/step_policy.py); days that stay missing are the
# catch-up sensor's, which retries them over hours.
STEP_RETRY_POLICY = dg.RetryPolicy(
    max_retries=3, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)

market_daily_job = dg.define_asset_job(
    "market_daily_job",
    selection=dg.AssetSelection.assets(market_daily).upstream(),
    description="Fetch every source series and rebuild market_daily for the given day(s).",
    op_retry_policy=STEP_RETRY_POLICY,
)
