"""Jobs: the whole graph, from the sources to the backups."""

import dagster as dg

# Unattended runs (schedule, catch-up sensor) retry a failed step after about 30 s, 1 min and
# 2 min: a timeout, Sina's rate limit or a warehouse restart usually passes by then. Errors a
# retry cannot fix fail at once (see assets/step_policy.py); days that stay missing are the
# catch-up sensor's, which retries them over hours.
STEP_RETRY_POLICY = dg.RetryPolicy(max_retries=3, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)

market_daily_job = dg.define_asset_job(
    "market_daily_job",
    selection=dg.AssetSelection.all(),
    description="Fetch every source series, rebuild market_daily and the import margin for the given "
    "day(s), back them up, then apply retention.",
    op_retry_policy=STEP_RETRY_POLICY,
)
