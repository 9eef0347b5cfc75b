"""The catch-up sensor's settings, as a resource (its values come from the environment: see
`resources.catchup_policy_from_env`)."""

import dagster as dg
from pydantic import Field

# Twenty years: the whole history since SR's listing fits, and a window this long still takes
# well under a second to check.
MAX_LOOKBACK_DAYS = 7_305


class CatchupPolicy(dg.ConfigurableResource):
    """How far back the catch-up sensor looks and how it paces retries."""

    lookback_days: int = Field(
        default=30, ge=0, le=MAX_LOOKBACK_DAYS, description="days checked back from yesterday; 0 = all history"
    )
    grace_minutes: int = Field(
        default=60, ge=0, le=1200, description="minutes after the 02:00 schedule before yesterday counts"
    )
    max_runs_per_tick: int = Field(default=5, ge=1, le=100, description="runs (gaps) requested per tick at most")
    retry_minutes: int = Field(
        default=15, ge=1, le=1440, description="first wait before a failed day is tried again; doubles per attempt"
    )
    retry_ceiling_hours: int = Field(
        default=24, ge=1, le=168, description="longest wait between tries of a failing day"
    )
